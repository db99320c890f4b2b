//! The authorization endpoint's interactive path (`providers/oauth2/views/authorize.py`): without a session, on
//! to the login flow with `next`; with one, `max_age` and `prompt` as upstream, then the provider's authorization
//! flow planned into the session, with the in-memory fulfillment stage that issues the code at its end.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::plan::{Context, Plan, Stage, stages_of};
use super::session::{CookieChange, Session};
use super::{Challenge, FlowAnswer, FlowError, Flows, Run, flow_by_slug};
use crate::authentik::flow_by_pk;
use crate::authentik::oauth2::{Authorization, AuthorizeQuery, Login, ProviderRequest};
use crate::model::AkScopeMapping;
use crate::store::{Field, StoreError};

/// Django's `LOGIN_URL`, `authentik_flows:default-authentication`.
pub const LOGIN_URL: &str = "/flows/-/default/authentication/";
/// The flow a provider without an authorization flow runs.
const DEFAULT_AUTHORIZATION_FLOW: &str = "default-provider-authorization-implicit-consent";

/// What `QueryDict.urlencode(safe="/")` leaves as it is.
const QUERY_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'-').remove(b'~').remove(b'/');

/// Django's `redirect_to_login(next)`: the login URL with `next`.
pub fn login_url(next: &str) -> String {
    format!("{LOGIN_URL}?next={}", utf8_percent_encode(next, QUERY_SAFE))
}

impl Flows<'_> {
    /// `AuthorizationFlowInitView`: an answer for the user agent and the session cookie to set. `full_path` is the
    /// request's path with its query (the login's `next`), `raw_query` its query string (passed on to the flow).
    pub async fn authorize(
        &self,
        request: &ProviderRequest<'_>,
        query: &AuthorizeQuery,
        session_key: Option<&str>,
        full_path: &str,
        raw_query: &str,
    ) -> Result<(Authorization, CookieChange), FlowError> {
        if let Some(answer) = self.oauth2.authorize_at_once(request, query).await? {
            return Ok((answer, CookieChange::Keep));
        }
        let checked = match self.oauth2.check_authorization(query).await? {
            Ok(checked) => checked,
            Err(answer) => return Ok((answer, CookieChange::Keep)),
        };
        let prompts = query.prompts();
        let mut session = Session::load(self.store, session_key, self.now).await?;
        let login = session.row().and_then(|row| row.login_id.zip(row.auth_time));
        let (Some(user), Some((login_id, auth_time))) = (session.user.clone(), login) else {
            if prompts.contains(&"none") {
                return Ok((checked.error("login_required"), CookieChange::Keep));
            }
            return Ok((Authorization::Local(login_url(full_path)), CookieChange::Keep));
        };
        if query.max_age().is_some_and(|max_age| (self.now - auth_time).num_seconds() > max_age) {
            session.state.last_login_uid = Some(login_id);
            session.touch();
            let cookie = session.save(self.store, self.now).await?;
            return Ok((Authorization::Local(login_url(full_path)), cookie));
        }
        if prompts.contains(&"login") && session.state.last_login_uid.is_none_or(|last| last == login_id) {
            session.state.last_login_uid = Some(login_id);
            session.touch();
            let cookie = session.save(self.store, self.now).await?;
            return Ok((Authorization::Local(login_url(full_path)), cookie));
        }
        let flow =
            checked.authorization_flow().and_then(flow_by_pk).or_else(|| flow_by_slug(DEFAULT_AUTHORIZATION_FLOW));
        let Some(flow) = flow else { return Ok((checked.error("access_denied"), CookieChange::Keep)) };
        let application = checked.application();
        let mut bindings = stages_of(flow);
        if prompts.contains(&"consent") && !bindings.iter().any(|s| matches!(s, Stage::Consent { .. })) {
            bindings.push(Stage::Consent { always: true });
        }
        bindings.push(Stage::OAuthFulfillment);
        let permissions = self.scope_descriptions(checked.property_mappings(), checked.scopes()).await?;
        let header = application.as_ref().map(|(_, name)| format!("You're about to sign into {name}."));
        let context = Context {
            pending_user: Some(super::plan::Pending::User { pk: user.pk, username: user.username.clone() }),
            authenticated: true,
            application,
            authorize: Some(query.clone()),
            consent_header: header,
            consent_permissions: permissions,
            ..Context::default()
        };
        session.state.plan = Some(Plan { flow: flow.slug.to_owned(), bindings, context });
        session.touch();
        let cookie = session.save(self.store, self.now).await?;
        let separator = if raw_query.is_empty() { "" } else { "?" };
        Ok((Authorization::Local(format!("/if/flow/{}/{separator}{raw_query}", flow.slug)), cookie))
    }

    /// `UserInfoView.get_scope_descriptions`: the requested scopes that have a described mapping, by scope name.
    pub(super) async fn scope_descriptions(
        &self,
        mappings: &[uuid::Uuid],
        scopes: &[String],
    ) -> Result<Vec<(String, String)>, FlowError> {
        let of_provider = if mappings.is_empty() {
            self.store.all::<AkScopeMapping>().await?.into_iter().filter(|m| m.managed.is_some()).collect()
        } else {
            let mut found = Vec::with_capacity(mappings.len());
            for pk in mappings {
                match self.store.get::<AkScopeMapping>(Field::Pk, *pk).await {
                    Ok(mapping) => found.push(mapping),
                    Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            found
        };
        let mut described: Vec<(String, String)> = of_provider
            .into_iter()
            .filter(|m| scopes.contains(&m.scope_name) && !m.description.is_empty())
            .map(|m| (m.scope_name, m.description))
            .collect();
        described.sort();
        described.dedup_by(|a, b| a.0 == b.0);
        Ok(described)
    }

    /// `OAuthFulfillmentStage.get`: the code for the session's user, as a redirect to the client
    /// (`consent_required` for `prompt=none consent`).
    pub(super) async fn fulfill(&self, run: &mut Run) -> Result<FlowAnswer, FlowError> {
        let query = run.plan.as_mut().and_then(|p| p.context.authorize.take());
        let (Some(query), Some(user)) = (query, run.session.user.clone()) else {
            return Ok(self.stage_invalid(run, None));
        };
        let answer = match self.oauth2.check_authorization(&query).await? {
            Ok(checked) if query.prompts().contains(&"none") && query.prompts().contains(&"consent") => {
                checked.error("consent_required")
            }
            Ok(checked) => {
                let row = run.session.row();
                let login = Login {
                    auth_time: row.and_then(|r| r.auth_time),
                    amr: row.map(|r| r.amr.clone()).unwrap_or_default(),
                    session: row.map(|r| r.key_hash.clone()),
                };
                self.oauth2.issue_code(checked, &user, login).await?
            }
            Err(answer) => answer,
        };
        self.cancel(run);
        match answer {
            Authorization::Redirect(to) => Ok(FlowAnswer::Challenge(Challenge::Redirect { to: to.location() })),
            Authorization::Post(form) => Ok(FlowAnswer::Challenge(Challenge::Autosubmit(form))),
            Authorization::Local(to) => Ok(FlowAnswer::Challenge(Challenge::Redirect { to })),
            Authorization::UnknownClient { .. } | Authorization::BadRedirectUri(_) => Ok(self.stage_invalid(run, None)),
        }
    }
}
