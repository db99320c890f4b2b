//! The user's side of the device authorization grant (`providers/oauth2/views/device_init.py` and
//! `device_finish.py`): `/device` (`DeviceEntryView`) plans the device-code flow, whose code-entry stage
//! (`ak-provider-oauth2-device-code`) or the `code` query parameter (`verification_uri_complete`) leads into the
//! provider's authorization flow (`CodeValidatorView`), consent as configured, which ends with the finish stage
//! (`ak-provider-oauth2-device-code-finish`) that approves the device code for the session's user.
//!
//! Upstream runs the brand's `flow_device_code`, which a fresh install lacks (`/device` is then a 404). tokenstack
//! has no brands: its device-code flow is built in ([`DEVICE_CODE_FLOW`]), requires a login, and `/device` sends
//! a user without a session to log in first, with `next` back to it.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::authorize::login_url;
use super::challenge::{FieldError, ResponseErrors};
use super::plan::{Context, Pending, Plan, Stage, stages_of};
use super::session::{CookieChange, Session};
use super::stages::{CharField, one_error};
use super::{Challenge, FlowAnswer, FlowError, Flows, Run, flow_by_slug, query_value};
use crate::authentik::oauth2::QS_KEY_CODE;
use crate::authentik::{Flow, flow_by_pk};
use crate::model::{AkApplication, AkDeviceToken, AkProvider, AkUser};
use crate::store::{Field, StoreError};

/// The device-code flow `/device` runs (upstream: the brand's `flow_device_code`, a flow of designation
/// `stage_configuration`). Not among the flows the API lists, as a fresh authentik install has none.
pub const DEVICE_CODE_FLOW: Flow = Flow {
    pk: Uuid::from_u128(0x7f1a_0005_0000_4000_8000_0000_0000_00de),
    slug: "default-device-code-flow",
    name: "Device code",
    title: "Enter the code shown on your device",
    designation: "stage_configuration",
    authentication: "require_authenticated",
    denied_action: "message_continue",
};
/// The flow a provider without an authorization flow runs.
const DEFAULT_AUTHORIZATION_FLOW: &str = "default-provider-authorization-implicit-consent";
/// `OAuthDeviceCodeChallengeResponse.validate_code`'s error.
const MSG_INVALID_CODE: &str = "Invalid code";

/// Where a flow's page is, with the query passed on (`redirect_with_qs`).
fn flow_page(slug: &str, query: &str) -> String {
    let separator = if query.is_empty() { "" } else { "?" };
    format!("/if/flow/{slug}/{separator}{query}")
}

impl Flows<'_> {
    /// `DeviceEntryView.dispatch`: where the user agent goes, and the session cookie to set. `full_path` is the
    /// request's path with its query (the login's `next`), `query` its query as `redirect_with_qs` passes it on.
    pub async fn device_entry(
        &self,
        session_key: Option<&str>,
        full_path: &str,
        query: &str,
    ) -> Result<(String, CookieChange), FlowError> {
        let mut session = Session::load(self.store, session_key, self.now).await?;
        let Some(user) = session.user.clone() else { return Ok((login_url(full_path), CookieChange::Keep)) };
        let planned = match query_value(query, QS_KEY_CODE) {
            Some(code) => self.plan_device_authorization(&user, &code).await?,
            None => None,
        };
        let plan = planned.unwrap_or_else(|| Plan {
            flow: DEVICE_CODE_FLOW.slug.to_owned(),
            bindings: stages_of(&DEVICE_CODE_FLOW),
            context: Context::default(),
        });
        let location = flow_page(&plan.flow, query);
        session.state.plan = Some(plan);
        session.touch();
        Ok((location, session.save(self.store, self.now).await?))
    }

    /// `CodeValidatorView.get`: the provider's authorization flow for the unexpired device token with the user code
    /// `code`, ending with the finish stage; `None` for no such token, or one whose provider has no application.
    async fn plan_device_authorization(&self, user: &AkUser, code: &str) -> Result<Option<Plan>, FlowError> {
        let token = match self.store.get::<AkDeviceToken>(Field::UserCode, code).await {
            Ok(token) if !token.is_expired(self.now) => token,
            Ok(_) | Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let provider = match self.store.get::<AkProvider>(Field::Pk, token.provider).await {
            Ok(provider) => provider,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let application = match self.store.get::<AkApplication>(Field::Provider, provider.pk).await {
            Ok(application) => application,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let flow =
            provider.authorization_flow.and_then(flow_by_pk).or_else(|| flow_by_slug(DEFAULT_AUTHORIZATION_FLOW));
        let Some(flow) = flow else { return Ok(None) };
        let mut bindings = stages_of(flow);
        bindings.push(Stage::DeviceCodeFinish);
        let permissions = self.scope_descriptions(&provider.property_mappings, &token.scope).await?;
        let context = Context {
            pending_user: Some(Pending::User { pk: user.pk, username: user.username.clone() }),
            authenticated: true,
            consent_header: Some(format!("You're about to sign into {}.", application.name)),
            application: Some((application.slug, application.name)),
            consent_permissions: permissions,
            device: Some(token.user_code),
            ..Context::default()
        };
        Ok(Some(Plan { flow: flow.slug.to_owned(), bindings, context }))
    }

    /// `OAuthDeviceCodeStage`: the code-entry challenge; an answer with a valid code plans the authorization
    /// flow and redirects to it, any other is `Invalid code`.
    pub(super) async fn device_code_stage(
        &self,
        run: &mut Run,
        answer: Option<&Map<String, Value>>,
    ) -> Result<FlowAnswer, FlowError> {
        let Some(answer) = answer else { return Ok(self.device_code_challenge(run, ResponseErrors::new())) };
        let field = CharField { required: true, allow_blank: false, allow_null: false, trim: true };
        let code = match field.read(answer, "code") {
            Ok(code) => code.unwrap_or_default(),
            Err(error) => return Ok(self.device_code_challenge(run, one_error("code", error))),
        };
        let Some(user) = run.session.user.clone() else { return Ok(self.stage_invalid(run, None)) };
        let Some(plan) = self.plan_device_authorization(&user, &code).await? else {
            let error = FieldError::new(MSG_INVALID_CODE, "invalid");
            return Ok(self.device_code_challenge(run, one_error("code", error)));
        };
        let to = flow_page(&plan.flow, "");
        run.plan = None;
        run.session.state.plan = Some(plan);
        run.session.state.get = None;
        run.session.touch();
        Ok(FlowAnswer::Challenge(Challenge::Redirect { to }))
    }

    fn device_code_challenge(&self, run: &Run, errors: ResponseErrors) -> FlowAnswer {
        FlowAnswer::Challenge(Challenge::DeviceCode { flow: Self::flow_info(run), errors })
    }

    /// `OAuthDeviceCodeFinishStage`: showing it approves the device token for the session's user (and session);
    /// its answer ends the flow.
    pub(super) async fn device_code_finish(
        &self,
        run: &mut Run,
        answer: Option<&Map<String, Value>>,
    ) -> Result<FlowAnswer, FlowError> {
        if answer.is_some() {
            return Ok(self.stage_ok(run));
        }
        let code = run.plan.as_ref().and_then(|p| p.context.device.clone());
        let (Some(code), Some(user)) = (code, run.session.user.as_ref()) else {
            return Ok(self.stage_invalid(run, None));
        };
        let mut token = match self.store.get::<AkDeviceToken>(Field::UserCode, &code).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Ok(self.stage_invalid(run, None)),
            Err(e) => return Err(e.into()),
        };
        token.user = Some(user.pk);
        token.session = run.session.row().map(|row| row.key_hash.clone());
        match self.store.replace(token).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Ok(self.stage_invalid(run, None)),
            Err(e) => return Err(e.into()),
        }
        Ok(FlowAnswer::Challenge(Challenge::DeviceCodeFinish { flow: Self::flow_info(run) }))
    }
}
