//! The admin API under `/_tokenstack/`: state reset, seed load and export, users, providers, OAuth2 tokens,
//! faults. Enabled only with `--admin-token`; requests authenticate with `Authorization: Bearer <admin token>`.

use chrono::TimeDelta;
use dropshot::{HttpResponseCreated, HttpResponseOk, HttpResponseUpdatedNoContent, RequestContext};
use tokenstack_api::{JsonBody, types};

use crate::admin::{self, AdminState};
use crate::model::{AkGroup, AkProvider, AkUser, NbUser, OAuthKind, OAuthToken};
use crate::secrets::{PasswordHash, Secret, generate_key};
use crate::seed::DEFAULT_ACCOUNT;

use super::ServerContext;
use super::error::{TsError, TsResponseError};

/// [`authorize`], once the stand-in key pairs made after start-up are stored: the state the admin API exports,
/// loads and resets holds them.
async fn authorize_ready(rqctx: &RequestContext<ServerContext>) -> Result<&AdminState, TsResponseError> {
    let admin = authorize(rqctx)?;
    rqctx.context().keyring.ready().await;
    Ok(admin)
}

/// The admin state if the admin API is on and the request carries its token: 404 when off, 401 otherwise.
pub fn authorize(rqctx: &RequestContext<ServerContext>) -> Result<&AdminState, TsResponseError> {
    let Some(admin) = &rqctx.context().admin else {
        return Err(TsError::AdminDisabled.into());
    };
    let given = super::observe::authorization(rqctx).and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
    match given {
        Some(given) if admin.accepts(given) => Ok(admin),
        _ => Err(TsError::AdminUnauthorized.into()),
    }
}

/// The whole state as a seed document.
pub async fn export(ctx: &ServerContext) -> Result<types::SeedDocument, TsResponseError> {
    Ok(types::SeedDocument(serde_json::Value::Object(admin::export(&*ctx.store).await?)))
}

pub async fn create_ak_user(
    ctx: &ServerContext,
    body: types::AdminAuthentikUser,
) -> Result<types::AdminAuthentikUser, TsResponseError> {
    let user = AkUser {
        name: body.name.unwrap_or_default(),
        email: body.email.unwrap_or_default(),
        is_active: body.is_active.unwrap_or(true),
        is_superuser: body.is_superuser.unwrap_or(false),
        groups: body
            .groups
            .into_iter()
            .map(|group| AkGroup {
                is_superuser: group.is_superuser.unwrap_or(false),
                ..AkGroup::new(uuid::Uuid::new_v4(), group.name)
            })
            .collect(),
        attributes: body.attributes,
        password: body.password.as_deref().map(PasswordHash::new),
        ..AkUser::new(body.pk, body.username, ctx.now())
    };
    let user = admin::add_ak_user(&*ctx.store, user).await?;
    Ok(types::AdminAuthentikUser {
        attributes: user.attributes,
        email: Some(user.email),
        groups: user
            .groups
            .into_iter()
            .map(|g| types::AdminAuthentikGroup { is_superuser: Some(g.is_superuser), name: g.name })
            .collect(),
        is_active: Some(user.is_active),
        is_superuser: Some(user.is_superuser),
        name: Some(user.name),
        password: None,
        pk: user.pk,
        username: user.username,
    })
}

pub async fn create_provider(
    ctx: &ServerContext,
    body: types::AdminAuthentikProvider,
) -> Result<types::AdminAuthentikProvider, TsResponseError> {
    let provider = AkProvider {
        assigned_application_slug: body.assigned_application_slug,
        assigned_application_name: body.assigned_application_name,
        ..AkProvider::new(body.pk, body.name)
    };
    let provider = admin::add_provider(&*ctx.store, provider).await?;
    Ok(types::AdminAuthentikProvider {
        assigned_application_name: provider.assigned_application_name,
        assigned_application_slug: provider.assigned_application_slug,
        name: provider.name,
        pk: provider.pk,
    })
}

pub async fn create_oauth(
    ctx: &ServerContext,
    kind: OAuthKind,
    body: types::AdminOAuthToken,
) -> Result<types::AdminOAuthToken, TsResponseError> {
    let user = admin::ak_user_named(&*ctx.store, &body.user).await?;
    let token = OAuthToken {
        pk: body.pk,
        kind,
        provider: body.provider,
        user: user.pk,
        token: Secret::new(body.token.unwrap_or_else(generate_key)),
        expires: body.expires,
        scope: body.scope,
        id_token: serde_json::Value::Object(Default::default()),
        revoked: body.revoked.unwrap_or(false),
    };
    let token = admin::add_oauth_token(&*ctx.store, token).await?;
    Ok(types::AdminOAuthToken {
        expires: token.expires,
        pk: token.pk,
        provider: token.provider,
        revoked: Some(token.revoked),
        scope: token.scope,
        token: Some(token.token.expose().to_string()),
        user: user.username,
    })
}

pub async fn create_nb_user(
    ctx: &ServerContext,
    body: types::AdminNetbirdUser,
) -> Result<types::AdminNetbirdUser, TsResponseError> {
    let role = serde_json::to_value(body.role)
        .and_then(serde_json::from_value)
        .map_err(|_| TsError::Invalid("unknown role".to_string()))?;
    let user = NbUser {
        is_service_user: body.service_user.unwrap_or(false),
        blocked: body.blocked.unwrap_or(false),
        ..NbUser::new(body.id, body.account_id.unwrap_or_else(|| DEFAULT_ACCOUNT.to_string()), role)
    };
    let user = admin::add_nb_user(&*ctx.store, user).await?;
    Ok(types::AdminNetbirdUser {
        account_id: Some(user.account_id),
        blocked: Some(user.blocked),
        id: user.id,
        role: body.role,
        service_user: Some(user.is_service_user),
    })
}

/// The fault rules in force, in wire form.
pub fn faults(ctx: &ServerContext) -> types::FaultConfig {
    types::FaultConfig { rules: ctx.faults.rules().into_iter().map(Into::into).collect() }
}

/// Replaces the fault rules; the operationId must exist (or be `*`).
pub fn set_faults(ctx: &ServerContext, config: types::FaultConfig) -> Result<(), TsResponseError> {
    for (index, rule) in config.rules.iter().enumerate() {
        if rule.operation_id != crate::faults::ALL_OPERATIONS
            && !tokenstack_api::OPERATION_IDS.contains(&rule.operation_id.as_str())
            && !tokenstack_api::FREE_FORM_OPERATIONS.contains(&rule.operation_id.as_str())
        {
            let message = format!("rule {index}: operation_id is not an operationId of the spec (or *)");
            return Err(TsError::Invalid(message).into());
        }
    }
    let rules = config.rules.into_iter().map(Into::into).collect();
    ctx.faults.set(rules).map_err(|err| TsResponseError::from(TsError::Invalid(err.to_string())))
}

pub(super) async fn admin_reset(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseUpdatedNoContent, TsResponseError> {
    let admin = authorize_ready(rqctx).await?;
    admin.reset(&*rqctx.context().store).await?;
    Ok(HttpResponseUpdatedNoContent())
}

pub(super) async fn admin_state_export(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::SeedDocument>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseOk(export(rqctx.context()).await?))
}

pub(super) async fn admin_state_load(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::StateDocument>,
) -> Result<HttpResponseUpdatedNoContent, TsResponseError> {
    let admin = authorize_ready(rqctx).await?;
    let warnings = admin.load(&*rqctx.context().store, rqctx.context().now(), body.into_inner().0).await?;
    for warning in warnings {
        slog::warn!(rqctx.log, "{}", warning);
    }
    Ok(HttpResponseUpdatedNoContent())
}

pub(super) async fn admin_authentik_users_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::AdminAuthentikUser>,
) -> Result<HttpResponseCreated<types::AdminAuthentikUser>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseCreated(create_ak_user(rqctx.context(), body.into_inner()).await?))
}

pub(super) async fn admin_authentik_providers_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::AdminAuthentikProvider>,
) -> Result<HttpResponseCreated<types::AdminAuthentikProvider>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseCreated(create_provider(rqctx.context(), body.into_inner()).await?))
}

pub(super) async fn admin_authentik_access_tokens_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::AdminOAuthToken>,
) -> Result<HttpResponseCreated<types::AdminOAuthToken>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseCreated(create_oauth(rqctx.context(), OAuthKind::Access, body.into_inner()).await?))
}

pub(super) async fn admin_authentik_refresh_tokens_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::AdminOAuthToken>,
) -> Result<HttpResponseCreated<types::AdminOAuthToken>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseCreated(create_oauth(rqctx.context(), OAuthKind::Refresh, body.into_inner()).await?))
}

pub(super) async fn admin_netbird_users_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::AdminNetbirdUser>,
) -> Result<HttpResponseCreated<types::AdminNetbirdUser>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseCreated(create_nb_user(rqctx.context(), body.into_inner()).await?))
}

pub(super) async fn admin_clock_retrieve(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::ClockOffset>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseOk(types::ClockOffset { offset_seconds: rqctx.context().clock_offset() }))
}

pub(super) async fn admin_clock_update(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::ClockOffset>,
) -> Result<HttpResponseOk<types::ClockOffset>, TsResponseError> {
    authorize_ready(rqctx).await?;
    let offset = body.into_inner().offset_seconds;
    // chrono's range: about ±292 million years; keep a margin.
    if TimeDelta::try_seconds(offset).is_none() || offset.unsigned_abs() > 100 * 365 * 86_400 {
        return Err(TsError::Invalid("offset_seconds must be within ±100 years".to_string()).into());
    }
    rqctx.context().set_clock_offset(offset);
    Ok(HttpResponseOk(types::ClockOffset { offset_seconds: offset }))
}

pub(super) async fn admin_faults_retrieve(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::FaultConfig>, TsResponseError> {
    authorize_ready(rqctx).await?;
    Ok(HttpResponseOk(faults(rqctx.context())))
}

pub(super) async fn admin_faults_update(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::FaultConfig>,
) -> Result<HttpResponseOk<types::FaultConfig>, TsResponseError> {
    authorize_ready(rqctx).await?;
    set_faults(rqctx.context(), body.into_inner())?;
    Ok(HttpResponseOk(faults(rqctx.context())))
}
