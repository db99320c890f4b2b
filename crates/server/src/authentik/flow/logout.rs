//! RP-initiated logout (`providers/oauth2/views/end_session.py EndSessionView.get`): the provider's invalidation
//! flow planned into the session with the in-memory `SessionEndStage` appended, and that stage
//! (`flows/stage.py`): on to the post-logout redirect URI when one was allowed, else a page with the ways on.

use super::plan::{Context, Plan, Stage, stages_of};
use super::session::{Client, CookieChange, Session};
use super::{Challenge, FlowAnswer, FlowError, Flows, PendingUser, Run, flow_by_slug};
use crate::authentik::flow_by_pk;
use crate::authentik::oauth2::{EndSessionParams, EndSessionRefusal, ProviderRequest};
use crate::model::OAuthKind;
use crate::pagination::PageRequest;
use crate::store::OAuthQuery;

/// The brand's `flow_invalidation`: the invalidation flow of a provider without one, and the session-end page's
/// way to log out of authentik too.
pub const DEFAULT_INVALIDATION_FLOW: &str = "default-invalidation-flow";

/// What the end-session view answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndSession {
    /// No such application, or it has no provider (Django's `Http404`).
    NotFound,
    /// `bad_request_message` with `invalid_request`'s description.
    Refused(EndSessionRefusal),
    /// The invalidation flow's slug: the plan is in the session, the browser goes to its page
    /// (`plan.to_redirect`, with the request's query).
    Flow(&'static str),
}

impl Flows<'_> {
    /// `EndSessionView.get` (and `post`): checks the request, deletes the logged-in user's access tokens of this
    /// provider and session, and plans the invalidation flow with its context (the application, the post-logout
    /// redirect URI). An anonymous request plans it all the same (`handle_no_permission`).
    pub async fn end_session(
        &self,
        request: &ProviderRequest<'_>,
        slug: &str,
        params: &EndSessionParams,
        session_key: Option<&str>,
        client: &Client,
    ) -> Result<(EndSession, CookieChange), FlowError> {
        let checked = match self.oauth2.check_end_session(request, slug, params).await? {
            None => return Ok((EndSession::NotFound, CookieChange::Keep)),
            Some(Err(refusal)) => return Ok((EndSession::Refused(refusal), CookieChange::Keep)),
            Some(Ok(checked)) => checked,
        };
        let flow = checked.provider.invalidation_flow.and_then(flow_by_pk);
        let Some(flow) = flow.or_else(|| flow_by_slug(DEFAULT_INVALIDATION_FLOW)) else {
            return Ok((EndSession::NotFound, CookieChange::Keep));
        };
        let mut session = Session::load(self.store, session_key, self.now).await?;
        session.client = client.clone();
        if let Some(user) = &session.user {
            let sid = session.row().map(|row| row.key_hash.clone());
            self.delete_access_tokens(user.pk, checked.provider.pk, sid.as_deref()).await?;
        }
        let mut bindings = stages_of(flow);
        bindings.push(Stage::SessionEnd);
        let context = Context {
            application: Some(checked.application),
            post_logout_redirect_uri: checked.post_logout_redirect_uri,
            application_launch_url: checked.launch_url,
            ..Context::default()
        };
        session.state.plan = Some(Plan { flow: flow.slug.to_owned(), bindings, context });
        session.touch();
        let cookie = session.save(self.store, self.now).await?;
        Ok((EndSession::Flow(flow.slug), cookie))
    }

    /// `AccessToken.objects.filter(user=…, provider=…, session=…).delete()`: the access tokens issued in this
    /// session (their id token's `sid`), or every one of the user's for the provider without a session.
    async fn delete_access_tokens(&self, user: i64, provider: i64, sid: Option<&str>) -> Result<(), FlowError> {
        let query = OAuthQuery {
            kind: OAuthKind::Access,
            owner: Some(user),
            user: Some(user),
            provider: Some(provider),
            search: None,
            ordering: Vec::new(),
            page: PageRequest::all(),
        };
        let tokens = self.store.list_oauth_tokens(&query).await?.items;
        for token in tokens {
            let token_sid = token.id_token.get("sid").and_then(|s| s.as_str());
            if sid.is_none_or(|sid| token_sid == Some(sid)) {
                match self.store.delete_oauth_token(OAuthKind::Access, token.pk).await {
                    Ok(()) | Err(crate::store::StoreError::NotFound) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// `SessionEndStage`: a redirect to the post-logout redirect URI the request was allowed, else the session-end
    /// challenge. The plan ends here (upstream leaves it in the session, where it makes the next end-session
    /// request answer an empty page; docs/divergences.md).
    pub(super) fn session_end(&self, run: &mut Run) -> FlowAnswer {
        let context = run.plan.as_mut().map(|p| std::mem::take(&mut p.context)).unwrap_or_default();
        self.cancel(run);
        if let Some(to) = context.post_logout_redirect_uri {
            return FlowAnswer::Challenge(Challenge::Redirect { to });
        }
        let username = run.session.user.as_ref().map(|u| u.username.clone()).unwrap_or_default();
        let application_name = context.application.map(|(_, name)| name);
        FlowAnswer::Challenge(Challenge::SessionEnd {
            flow: super::FlowInfo::of(run.flow, application_name.as_deref()),
            user: PendingUser { username },
            application_name,
            application_launch_url: context.application_launch_url,
            invalidation_flow_url: Some(format!("/if/flow/{DEFAULT_INVALIDATION_FLOW}/")),
        })
    }
}
