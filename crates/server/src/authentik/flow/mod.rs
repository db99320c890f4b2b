//! The flow engine (`authentik/flows/`): runs the built-in flows stage by stage for the flow executor API
//! (`/api/v3/flows/executor/<slug>/`) and the flow pages (`/if/flow/<slug>/`) alike, keeping each plan in the
//! request's session ([`session`]). Its answers are domain values ([`FlowAnswer`]): a challenge, "the stage
//! passed, ask again", or no such flow; `http/` writes them as JSON or HTML. The authorization endpoint's
//! interactive path ([`authorize`]) plans a provider's authorization flow here too.
//!
//! Followed from upstream: `flows/views/executor.py` (`FlowExecutorView`: `dispatch`, `stage_ok`,
//! `stage_invalid`, `_flow_done`, `handle_invalid_flow`), `flows/planner.py` (authentication requirements),
//! the stages `identification`, `password`, `user_login`, `user_logout` and `consent`,
//! `providers/oauth2/views/authorize.py` (`AuthorizationFlowInitView`, `OAuthFulfillmentStage`) and
//! `end_session.py` with `SessionEndStage` ([`logout`]).

mod authorize;
pub mod challenge;
pub mod csrf;
mod device;
mod logout;
mod plan;
mod session;
mod stages;
#[cfg(test)]
mod tests;

pub use authorize::login_url;
pub use challenge::{Challenge, FlowInfo, PendingUser, Permission, ResponseErrors, primary_action};
pub use device::DEVICE_CODE_FLOW;
pub use logout::{DEFAULT_INVALIDATION_FLOW, EndSession};
pub use session::{Client, CookieChange, SESSION_COOKIE};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use self::plan::{Plan, stages_of};
use self::session::Session;
use super::flows::FLOWS;
use super::oauth2::{OAuth2, ProviderError};
use super::{AkError, Authentik, Flow, MSG_NOT_PROVIDED};
use crate::model::AkUser;
use crate::store::{Store, StoreError};

/// `NEXT_ARG_NAME`.
pub const NEXT: &str = "next";
/// Where a flow without `next` ends: upstream's `authentik_core:root-redirect`, which sends a user on to the
/// user interface.
pub const DEFAULT_NEXT: &str = "/if/user/";
const MSG_NOT_APPLICABLE: &str = "Flow does not apply to current user.";
const MSG_INVALID_NEXT: &str = "Invalid next URL";

/// What went wrong beneath the engine: the store, or the provider's signing.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FlowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

/// What a request brings to the engine.
#[derive(Debug, Clone, Copy)]
pub struct FlowRequest<'a> {
    /// The `authentik_session` cookie.
    pub session_key: Option<&'a str>,
    /// The query the flow runs with (`?query=` of the executor, the page's own query string): `next` and,
    /// during an authorization, its parameters.
    pub query: &'a str,
    /// Who sends the request (what a login records).
    pub client: &'a Client,
}

/// The engine's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowAnswer {
    /// The current stage's challenge (or the flow's end, as a redirect challenge).
    Challenge(Challenge),
    /// The stage passed and another follows: ask again (upstream's 302 back to the executor).
    Next,
    /// No flow has the slug.
    NotFound,
}

/// The answer with what the response must carry besides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOutcome {
    pub answer: FlowAnswer,
    pub cookie: CookieChange,
    /// A password was refused (counted in the failed-login metric).
    pub failed_login: bool,
}

/// The flow engine over a store at one instant.
#[derive(Clone, Copy)]
pub struct Flows<'a> {
    pub store: &'a dyn Store,
    pub now: DateTime<Utc>,
    pub oauth2: OAuth2<'a>,
}

/// The built-in flow `slug`.
pub fn flow_by_slug(slug: &str) -> Option<&'static Flow> {
    FLOWS.iter().chain([&DEVICE_CODE_FLOW]).find(|flow| flow.slug == slug)
}

/// The value of `name` in a query string (the last one, as Django's `QueryDict.get`).
pub fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).last()
}

/// Whether a redirect target stays on this server: upstream's `is_url_absolute` (no host), and, stricter than
/// upstream, no scheme (`javascript:`) and no backslash or control character a browser would read as a host
/// (`/\evil.example`).
pub fn is_local_url(url: &str) -> bool {
    if url.is_empty() || url.starts_with("//") || url.contains('\\') || url.chars().any(char::is_control) {
        return false;
    }
    let before_path = url.split(['/', '?', '#']).next().unwrap_or_default();
    !before_path.contains(':')
}

/// A request's session and flow, while a request runs.
struct Run {
    flow: &'static Flow,
    session: Session,
    failed_login: bool,
    /// The plan being run (also in the session state, which is saved at the end of the request).
    plan: Option<Plan>,
}

impl Flows<'_> {
    /// The logged-in user of the session `key`.
    pub async fn session_user(&self, key: Option<&str>) -> Result<Option<AkUser>, FlowError> {
        Ok(Session::load(self.store, key, self.now).await?.user)
    }

    /// DRF's `SessionAuthentication` after `TokenAuthentication` (`DEFAULT_AUTHENTICATION_CLASSES`): a request
    /// without an `Authorization` header is its session's user, CSRF-checked for unsafe methods; without one it
    /// is refused as before.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        session_key: Option<&str>,
        csrf: &csrf::CsrfInput<'_>,
    ) -> Result<AkUser, AkError> {
        match Authentik::new(self.store, self.now).authenticate(authorization).await {
            Err(AkError::Forbidden(message)) if message == MSG_NOT_PROVIDED && session_key.is_some() => {
                let Some(user) = Session::load(self.store, session_key, self.now).await?.user else {
                    return Err(AkError::Forbidden(message));
                };
                csrf::check(csrf).map_err(|reason| AkError::Forbidden(format!("CSRF Failed: {reason}")))?;
                Ok(user)
            }
            other => other,
        }
    }

    /// `FlowExecutorView.get`: the current stage's challenge.
    pub async fn get(&self, slug: &str, request: &FlowRequest<'_>) -> Result<FlowOutcome, FlowError> {
        self.run(slug, request, None).await
    }

    /// `FlowExecutorView.post`: the current stage solved with `answer` (the challenge response's fields).
    pub async fn solve(
        &self,
        slug: &str,
        request: &FlowRequest<'_>,
        answer: &Map<String, Value>,
    ) -> Result<FlowOutcome, FlowError> {
        self.run(slug, request, Some(answer)).await
    }

    async fn run(
        &self,
        slug: &str,
        request: &FlowRequest<'_>,
        answer: Option<&Map<String, Value>>,
    ) -> Result<FlowOutcome, FlowError> {
        let Some(flow) = flow_by_slug(slug) else {
            return Ok(FlowOutcome { answer: FlowAnswer::NotFound, cookie: CookieChange::Keep, failed_login: false });
        };
        let mut session = Session::load(self.store, request.session_key, self.now).await?;
        session.client = request.client.clone();
        let mut run = Run { flow, session, failed_login: false, plan: None };
        let answer = self.dispatch(&mut run, request.query, answer).await?;
        let failed_login = run.failed_login;
        let cookie = run.session.save(self.store, self.now).await?;
        Ok(FlowOutcome { answer, cookie, failed_login })
    }

    /// `FlowExecutorView.dispatch`.
    async fn dispatch(
        &self,
        run: &mut Run,
        query: &str,
        answer: Option<&Map<String, Value>>,
    ) -> Result<FlowAnswer, FlowError> {
        let mut plan = run.session.state.plan.clone().filter(|plan| plan.flow == run.flow.slug);
        if plan.is_none() {
            // A plan of another flow is dropped (`Found existing plan for other flow, deleting plan`).
            run.session.state.plan = None;
        }
        run.session.state.get = Some(query.to_owned());
        run.session.touch();
        if plan.is_none() {
            match self.plan_flow(run) {
                Some(planned) => {
                    run.session.state.plan = Some(planned.clone());
                    plan = Some(planned);
                }
                None => return Ok(self.handle_invalid_flow(run, query)),
            }
        }
        let plan = plan.unwrap_or_else(|| Plan {
            flow: run.flow.slug.to_owned(),
            bindings: Vec::new(),
            context: Default::default(),
        });
        let Some(stage) = plan.bindings.first().copied() else {
            run.plan = Some(plan);
            return Ok(self.flow_done(run));
        };
        run.plan = Some(plan);
        self.stage(run, stage, answer).await
    }

    /// `FlowPlanner.plan`: the flow's stages, when the session meets its authentication requirement.
    fn plan_flow(&self, run: &Run) -> Option<Plan> {
        let authenticated = run.session.user.is_some();
        let applies = match run.flow.authentication {
            "require_authenticated" => authenticated,
            "require_unauthenticated" => !authenticated,
            "require_superuser" => run.session.user.as_ref().is_some_and(|u| u.is_effective_superuser()),
            _ => true,
        };
        applies.then(|| Plan {
            flow: run.flow.slug.to_owned(),
            bindings: stages_of(run.flow),
            context: Default::default(),
        })
    }

    /// `handle_invalid_flow`: on to a local `next` (denied action `message_continue`), else access denied.
    fn handle_invalid_flow(&self, run: &mut Run, query: &str) -> FlowAnswer {
        if run.flow.designation == "authentication" && run.session.user.is_some() {
            return self.flow_done(run);
        }
        if let Some(next) = query_value(query, NEXT).filter(|n| is_local_url(n)) {
            return FlowAnswer::Challenge(Challenge::Redirect { to: next });
        }
        self.stage_invalid(run, Some(MSG_NOT_APPLICABLE))
    }

    /// `stage_ok`: the stage is done; the next one is asked for, or the flow ends.
    fn stage_ok(&self, run: &mut Run) -> FlowAnswer {
        let Some(mut plan) = run.plan.take() else { return self.flow_done(run) };
        if !plan.bindings.is_empty() {
            plan.bindings.remove(0);
        }
        let more = !plan.bindings.is_empty();
        run.session.state.plan = Some(plan.clone());
        run.plan = Some(plan);
        run.session.touch();
        if more { FlowAnswer::Next } else { self.flow_done(run) }
    }

    /// `_flow_done`: a redirect to the query's `next` when it is local (the user interface without one).
    fn flow_done(&self, run: &mut Run) -> FlowAnswer {
        let next = run.session.state.get.as_deref().and_then(|q| query_value(q, NEXT));
        self.cancel(run);
        let next = next.unwrap_or_else(|| DEFAULT_NEXT.to_owned());
        if is_local_url(&next) {
            FlowAnswer::Challenge(Challenge::Redirect { to: next })
        } else {
            self.stage_invalid(run, Some(MSG_INVALID_NEXT))
        }
    }

    /// `stage_invalid`: the plan is cancelled and access denied.
    fn stage_invalid(&self, run: &mut Run, message: Option<&str>) -> FlowAnswer {
        let user = self.shown_user(run);
        self.cancel(run);
        let application = run.plan.as_ref().and_then(|p| p.context.application.as_ref()).map(|(_, name)| name.as_str());
        FlowAnswer::Challenge(Challenge::AccessDenied {
            flow: FlowInfo::of(run.flow, application),
            user,
            message: message.map(str::to_owned),
        })
    }

    /// `cancel`: the plan and the query leave the session.
    fn cancel(&self, run: &mut Run) {
        run.session.state.plan = None;
        run.session.state.get = None;
        run.session.touch();
    }

    /// The user a challenge shows: the plan's pending user, else the logged-in one.
    fn shown_user(&self, run: &Run) -> PendingUser {
        let pending = run.plan.as_ref().and_then(|p| p.context.pending_user.as_ref()).map(plan::Pending::username);
        let username = pending.or_else(|| run.session.user.as_ref().map(|u| u.username.as_str()));
        PendingUser { username: username.unwrap_or_default().to_owned() }
    }
}
