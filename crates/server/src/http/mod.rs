//! The HTTP layer: `impl TokenApi for ServerImpl`. Handlers extract, call the domain rules, map the result.

mod admin;
mod convert;
mod error;
pub mod validate;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use dropshot::{ErrorStatusCode, HttpError};
use dropshot::{
    HttpCodedResponse, HttpResponseCreated, HttpResponseDeleted, HttpResponseError, HttpResponseOk,
    HttpResponseUpdatedNoContent, Path, Query, RequestContext, TypedBody,
};
use serde::Serialize;
use tokenstack_api::{TokenApi, params, types};

use crate::authentik::{Authentik, NewToken, OAuthListParams, TokenListParams};
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::model::{CoreToken, OAuthKind, OAuthToken};
use crate::netbird::NetBird;
use crate::store::{Store, StoreError};

pub use self::admin::AdminState;
use self::error::{AkResponseError, NbResponseError, OffSpec, TsResponseError};
use self::validate::ResponseValidator;

/// The server state every handler sees.
pub struct ServerContext {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
    /// Seconds added to the wall clock (admin API `PUT /_tokenstack/clock`).
    clock_offset: Arc<AtomicI64>,
    /// The admin API, when `--admin-token` is set.
    admin: Option<AdminState>,
    pub faults: Faults,
    /// The response validator, when `--validate-responses` is set.
    validator: Option<&'static ResponseValidator>,
}

impl ServerContext {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ServerContext {
            store,
            metrics: Metrics::default(),
            clock_offset: Arc::new(AtomicI64::new(0)),
            admin: None,
            faults: Faults::default(),
            validator: None,
        }
    }

    /// Turns the admin API on.
    pub fn enable_admin(&mut self, admin: AdminState) {
        self.admin = Some(admin);
    }

    /// Turns response validation on.
    pub fn enable_validation(&mut self, validator: &'static ResponseValidator) {
        self.validator = Some(validator);
    }

    /// The current time, moved by the clock offset, at the precision both upstreams store (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        let offset = TimeDelta::try_seconds(self.clock_offset()).unwrap_or_default();
        (Utc::now() + offset).trunc_subsecs(6)
    }

    /// A clock that follows this context's offset, for background tasks that outlive a borrow of it.
    pub fn clock(&self) -> impl Fn() -> DateTime<Utc> + Send + Sync + 'static {
        let offset = self.clock_offset.clone();
        move || {
            let offset = TimeDelta::try_seconds(offset.load(Ordering::Relaxed)).unwrap_or_default();
            (Utc::now() + offset).trunc_subsecs(6)
        }
    }

    /// Seconds added to the wall clock.
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    pub fn set_clock_offset(&self, seconds: i64) {
        self.clock_offset.store(seconds, Ordering::Relaxed);
    }

    fn authentik(&self) -> Authentik<'_> {
        Authentik::new(&*self.store, self.now())
    }

    fn netbird(&self) -> NetBird<'_> {
        NetBird::new(&*self.store, self.now())
    }

    /// Serializes core tokens, looking each owner up and converting it once per page.
    async fn tokens(&self, tokens: Vec<CoreToken>) -> Result<Vec<types::Token>, AkResponseError> {
        let mut owners: HashMap<i64, types::User> = HashMap::new();
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let owner = match owners.entry(token.user) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    let user = self.store.ak_user(token.user).await.map_err(crate::authentik::AkError::from)?;
                    entry.insert(convert::user(&user))
                }
            };
            out.push(convert::token(token, owner.clone()));
        }
        Ok(out)
    }

    async fn token(&self, token: CoreToken) -> Result<types::Token, AkResponseError> {
        let mut tokens = self.tokens(vec![token]).await?;
        Ok(tokens.remove(0))
    }

    async fn oauth_tokens(&self, tokens: Vec<OAuthToken>) -> Result<Vec<types::TokenModel>, AkResponseError> {
        let now = self.now();
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let provider = self.store.provider(token.provider).await.map_err(crate::authentik::AkError::from)?;
            let owner = self.store.ak_user(token.user).await.map_err(crate::authentik::AkError::from)?;
            let is_expired = token.is_expired(now);
            out.push(convert::oauth_token(token, &provider, &owner, is_expired));
        }
        Ok(out)
    }
}

/// The payload of the unwinding that drops a connection (see [`observed`]).
#[derive(Debug)]
pub struct InjectedDrop;

/// A success response whose JSON body can be validated.
pub trait WireBody {
    /// The JSON body, `None` when the response has none.
    fn wire_body(&self) -> Option<serde_json::Value>;
}

impl<T: schemars::JsonSchema + Serialize + Send + Sync + 'static> WireBody for HttpResponseOk<T> {
    fn wire_body(&self) -> Option<serde_json::Value> {
        Some(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
}

impl<T: schemars::JsonSchema + Serialize + Send + Sync + 'static> WireBody for HttpResponseCreated<T> {
    fn wire_body(&self) -> Option<serde_json::Value> {
        Some(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
}

impl WireBody for HttpResponseDeleted {
    fn wire_body(&self) -> Option<serde_json::Value> {
        None
    }
}

impl WireBody for HttpResponseUpdatedNoContent {
    fn wire_body(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Runs a handler with the configured faults, validates what it answers, and records status and latency by
/// operationId.
///
/// Faults come first: added latency, then a dropped connection or an injected error (the handler does not run
/// then). A dropped connection unwinds the handler task with [`InjectedDrop`] via `resume_unwind` (no panic
/// hook runs): Dropshot propagates a handler's unwinding into hyper's connection task, which ends, closing the
/// socket without a response. Dropshot offers no other way to close a connection from a handler.
async fn observed<T, E>(
    rqctx: &RequestContext<ServerContext>,
    handler: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    T: HttpCodedResponse + WireBody,
    E: HttpResponseError + Serialize + From<HttpError> + OffSpec,
{
    let ctx = rqctx.context();
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let started = Instant::now();
    let decision = ctx.faults.decide(operation_id);
    if !decision.latency.is_zero() {
        ctx.metrics.fault(operation_id, "latency");
        tokio::time::sleep(decision.latency).await;
    }
    if decision.drop {
        ctx.metrics.fault(operation_id, "drop");
        slog::info!(rqctx.log, "fault injection: dropping the connection"; "operation_id" => operation_id);
        std::panic::resume_unwind(Box::new(InjectedDrop));
    }
    let result = match decision.error_status.and_then(|status| ErrorStatusCode::from_u16(status).ok()) {
        Some(status) => {
            ctx.metrics.fault(operation_id, "error");
            let message = format!("tokenstack: injected fault ({})", status.as_u16());
            Err(E::from(HttpError {
                status_code: status,
                error_code: None,
                external_message: message.clone(),
                internal_message: message,
                headers: None,
            }))
        }
        None => handler.await,
    };
    let result = match ctx.validator {
        Some(validator) => validated(rqctx, validator, result),
        None => result,
    };
    let status = match &result {
        Ok(_) => T::STATUS_CODE.as_u16(),
        Err(error) => error.status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    ctx.metrics.observe(operation_id, status, elapsed);
    // Dropshot's own "request completed" record has no operationId; this one does (req_id comes with rqctx.log).
    slog::info!(rqctx.log, "operation answered";
        "operation_id" => operation_id, "status" => status, "latency_us" => elapsed.as_micros() as u64);
    result
}

/// Checks a handler's result against the spec; a violation is logged and becomes a 500 naming it.
fn validated<T: HttpCodedResponse + WireBody, E: HttpResponseError + Serialize + OffSpec>(
    rqctx: &RequestContext<ServerContext>,
    validator: &ResponseValidator,
    result: Result<T, E>,
) -> Result<T, E> {
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let checked = match &result {
        Ok(response) => {
            let body = response.wire_body();
            let content_type = body.as_ref().map(|_| "application/json");
            validator.check(operation_id, T::STATUS_CODE.as_u16(), content_type, body.as_ref())
        }
        Err(error) => {
            let body = serde_json::to_value(error).unwrap_or(serde_json::Value::Null);
            validator.check(operation_id, error.status_code().as_u16(), Some("application/json"), Some(&body))
        }
    };
    match checked {
        Ok(()) => result,
        Err(violation) => {
            rqctx.context().metrics.violation(operation_id);
            slog::error!(rqctx.log, "response violates the spec";
                "operation_id" => &violation.operation_id, "pointer" => &violation.pointer, "message" => &violation.message);
            Err(E::off_spec(violation.to_string()))
        }
    }
}

/// The `Authorization` header, if it is valid text.
fn authorization(rqctx: &RequestContext<ServerContext>) -> Option<&str> {
    rqctx.request.headers().get(http::header::AUTHORIZATION).and_then(|value| value.to_str().ok())
}

fn new_token(body: types::TokenRequest) -> NewToken {
    NewToken {
        identifier: Some(body.identifier),
        intent: body.intent.map(convert::intent_from_wire),
        user: body.user,
        description: body.description,
        expires: body.expires,
        expiring: body.expiring,
        managed: body.managed,
    }
}

fn patched_token(body: types::PatchedTokenRequest) -> NewToken {
    NewToken {
        identifier: body.identifier,
        intent: body.intent.map(convert::intent_from_wire),
        user: body.user,
        description: body.description,
        expires: body.expires,
        expiring: body.expiring,
        managed: body.managed,
    }
}

/// The access- and refresh-token lists have two generated query types with the same fields.
macro_rules! oauth_params {
    ($query:expr) => {{
        let query = $query;
        OAuthListParams {
            user: query.user.map(|v| v.to_string()),
            provider: query.provider.map(|v| v.to_string()),
            search: query.search,
            ordering: query.ordering,
            page: query.page,
            page_size: query.page_size,
        }
    }};
}

async fn oauth_list(
    ctx: &ServerContext,
    header: Option<&str>,
    kind: OAuthKind,
    params: OAuthListParams,
) -> Result<HttpResponseOk<types::PaginatedTokenModelList>, AkResponseError> {
    let ak = ctx.authentik();
    let caller = ak.authenticate(header).await?;
    let page = ak.list_oauth(&caller, kind, params).await?;
    let pagination = convert::pagination(&page);
    let results = ctx.oauth_tokens(page.results).await?;
    Ok(HttpResponseOk(types::PaginatedTokenModelList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination,
        results,
    }))
}

async fn oauth_retrieve(
    ctx: &ServerContext,
    header: Option<&str>,
    kind: OAuthKind,
    pk: i64,
) -> Result<HttpResponseOk<types::TokenModel>, AkResponseError> {
    let ak = ctx.authentik();
    let caller = ak.authenticate(header).await?;
    let token = ak.get_oauth(&caller, kind, pk).await?;
    let mut tokens = ctx.oauth_tokens(vec![token]).await?;
    Ok(HttpResponseOk(tokens.remove(0)))
}

async fn oauth_destroy(
    ctx: &ServerContext,
    header: Option<&str>,
    kind: OAuthKind,
    pk: i64,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = ctx.authentik();
    let caller = ak.authenticate(header).await?;
    ak.delete_oauth(&caller, kind, pk).await?;
    Ok(HttpResponseDeleted())
}

async fn oauth_used_by(
    ctx: &ServerContext,
    header: Option<&str>,
    kind: OAuthKind,
    pk: i64,
) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
    let ak = ctx.authentik();
    let caller = ak.authenticate(header).await?;
    let used_by = ak.oauth_used_by(&caller, kind, pk).await?;
    Ok(HttpResponseOk(used_by.into_iter().map(convert::used_by).collect()))
}

/// The implementation of the generated API trait; never constructed.
pub enum ServerImpl {}

impl TokenApi for ServerImpl {
    type Context = ServerContext;

    async fn core_tokens_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::CoreTokensListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedTokenList>, AkResponseError> {
        observed(&rqctx, async {
            let ctx = rqctx.context();
            let ak = ctx.authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let query = query.into_inner();
            let params = TokenListParams {
                identifier: query.identifier,
                intent: query.intent.map(|i| convert_intent_name(i).to_string()),
                user_username: query.user_username,
                description: query.description,
                expires: query.expires.map(|e| e.to_rfc3339()),
                expiring: query.expiring.map(|e| e.to_string()),
                managed: query.managed,
                search: query.search,
                ordering: query.ordering,
                page: query.page,
                page_size: query.page_size,
            };
            let page = ak.list_tokens(&caller, params).await?;
            let pagination = convert::pagination(&page);
            let results = ctx.tokens(page.results).await?;
            Ok(HttpResponseOk(types::PaginatedTokenList {
                autocomplete: types::Autocomplete(serde_json::Map::new()),
                pagination,
                results,
            }))
        })
        .await
    }

    async fn core_tokens_create(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::TokenRequest>,
    ) -> Result<HttpResponseCreated<types::Token>, AkResponseError> {
        observed(&rqctx, async {
            let ctx = rqctx.context();
            let ak = ctx.authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let token = ak.create_token(&caller, new_token(body.into_inner())).await?;
            Ok(HttpResponseCreated(ctx.token(token).await?))
        })
        .await
    }

    async fn core_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
        observed(&rqctx, async {
            let ctx = rqctx.context();
            let ak = ctx.authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let token = ak.get_token(&caller, &path.into_inner().identifier).await?;
            Ok(HttpResponseOk(ctx.token(token).await?))
        })
        .await
    }

    async fn core_tokens_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensUpdatePath>,
        body: TypedBody<types::TokenRequest>,
    ) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
        observed(&rqctx, async {
            let ctx = rqctx.context();
            let ak = ctx.authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let identifier = path.into_inner().identifier;
            let token = ak.update_token(&caller, &identifier, new_token(body.into_inner()), false).await?;
            Ok(HttpResponseOk(ctx.token(token).await?))
        })
        .await
    }

    async fn core_tokens_partial_update(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensPartialUpdatePath>,
        body: TypedBody<types::PatchedTokenRequest>,
    ) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
        observed(&rqctx, async {
            let ctx = rqctx.context();
            let ak = ctx.authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let identifier = path.into_inner().identifier;
            let token = ak.update_token(&caller, &identifier, patched_token(body.into_inner()), true).await?;
            Ok(HttpResponseOk(ctx.token(token).await?))
        })
        .await
    }

    async fn core_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, async {
            let ak = rqctx.context().authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            ak.delete_token(&caller, &path.into_inner().identifier).await?;
            Ok(HttpResponseDeleted())
        })
        .await
    }

    async fn core_tokens_set_key_create(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensSetKeyCreatePath>,
        body: TypedBody<types::TokenSetKeyRequest>,
    ) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
        observed(&rqctx, async {
            let ak = rqctx.context().authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            ak.set_key(&caller, &path.into_inner().identifier, Some(body.into_inner().key)).await?;
            Ok(HttpResponseUpdatedNoContent())
        })
        .await
    }

    async fn core_tokens_used_by_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensUsedByListPath>,
    ) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
        observed(&rqctx, async {
            let ak = rqctx.context().authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let used_by = ak.used_by(&caller, &path.into_inner().identifier).await?;
            Ok(HttpResponseOk(used_by.into_iter().map(convert::used_by).collect()))
        })
        .await
    }

    async fn core_tokens_view_key_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::CoreTokensViewKeyRetrievePath>,
    ) -> Result<HttpResponseOk<types::TokenView>, AkResponseError> {
        observed(&rqctx, async {
            let ak = rqctx.context().authentik();
            let caller = ak.authenticate(authorization(&rqctx)).await?;
            let key = ak.view_key(&caller, &path.into_inner().identifier).await?;
            Ok(HttpResponseOk(types::TokenView { key: key.expose().to_string() }))
        })
        .await
    }

    async fn oauth2_access_tokens_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::Oauth2AccessTokensListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedTokenModelList>, AkResponseError> {
        observed(&rqctx, async {
            oauth_list(rqctx.context(), authorization(&rqctx), OAuthKind::Access, oauth_params!(query.into_inner()))
                .await
        })
        .await
    }

    async fn oauth2_access_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2AccessTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::TokenModel>, AkResponseError> {
        observed(&rqctx, async {
            oauth_retrieve(rqctx.context(), authorization(&rqctx), OAuthKind::Access, path.into_inner().id).await
        })
        .await
    }

    async fn oauth2_access_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2AccessTokensDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, async {
            oauth_destroy(rqctx.context(), authorization(&rqctx), OAuthKind::Access, path.into_inner().id).await
        })
        .await
    }

    async fn oauth2_access_tokens_used_by_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2AccessTokensUsedByListPath>,
    ) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
        observed(&rqctx, async {
            oauth_used_by(rqctx.context(), authorization(&rqctx), OAuthKind::Access, path.into_inner().id).await
        })
        .await
    }

    async fn oauth2_refresh_tokens_list(
        rqctx: RequestContext<ServerContext>,
        query: Query<params::Oauth2RefreshTokensListQuery>,
    ) -> Result<HttpResponseOk<types::PaginatedTokenModelList>, AkResponseError> {
        observed(&rqctx, async {
            let params = oauth_params!(query.into_inner());
            oauth_list(rqctx.context(), authorization(&rqctx), OAuthKind::Refresh, params).await
        })
        .await
    }

    async fn oauth2_refresh_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2RefreshTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::TokenModel>, AkResponseError> {
        observed(&rqctx, async {
            oauth_retrieve(rqctx.context(), authorization(&rqctx), OAuthKind::Refresh, path.into_inner().id).await
        })
        .await
    }

    async fn oauth2_refresh_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2RefreshTokensDestroyPath>,
    ) -> Result<HttpResponseDeleted, AkResponseError> {
        observed(&rqctx, async {
            oauth_destroy(rqctx.context(), authorization(&rqctx), OAuthKind::Refresh, path.into_inner().id).await
        })
        .await
    }

    async fn oauth2_refresh_tokens_used_by_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::Oauth2RefreshTokensUsedByListPath>,
    ) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
        observed(&rqctx, async {
            oauth_used_by(rqctx.context(), authorization(&rqctx), OAuthKind::Refresh, path.into_inner().id).await
        })
        .await
    }

    async fn netbird_tokens_list(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::NetbirdTokensListPath>,
    ) -> Result<HttpResponseOk<Vec<types::PersonalAccessToken>>, NbResponseError> {
        observed(&rqctx, async {
            let nb = rqctx.context().netbird();
            let caller = nb.authenticate(authorization(&rqctx)).await?;
            let pats = nb.list_pats(&caller, &path.into_inner().user_id).await?;
            Ok(HttpResponseOk(pats.into_iter().map(convert::pat).collect()))
        })
        .await
    }

    async fn netbird_tokens_create(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::NetbirdTokensCreatePath>,
        body: TypedBody<types::PersonalAccessTokenRequest>,
    ) -> Result<HttpResponseOk<types::PersonalAccessTokenGenerated>, NbResponseError> {
        observed(&rqctx, async {
            let nb = rqctx.context().netbird();
            let caller = nb.authenticate(authorization(&rqctx)).await?;
            let body = body.into_inner();
            let (plain, pat) = nb.create_pat(&caller, &path.into_inner().user_id, &body.name, body.expires_in).await?;
            Ok(HttpResponseOk(types::PersonalAccessTokenGenerated {
                personal_access_token: convert::pat(pat),
                plain_token: plain.expose().to_string(),
            }))
        })
        .await
    }

    async fn netbird_tokens_retrieve(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::NetbirdTokensRetrievePath>,
    ) -> Result<HttpResponseOk<types::PersonalAccessToken>, NbResponseError> {
        observed(&rqctx, async {
            let nb = rqctx.context().netbird();
            let caller = nb.authenticate(authorization(&rqctx)).await?;
            let path = path.into_inner();
            let pat = nb.get_pat(&caller, &path.user_id, &path.token_id).await?;
            Ok(HttpResponseOk(convert::pat(pat)))
        })
        .await
    }

    async fn netbird_tokens_destroy(
        rqctx: RequestContext<ServerContext>,
        path: Path<params::NetbirdTokensDestroyPath>,
    ) -> Result<HttpResponseOk<serde_json::Map<String, serde_json::Value>>, NbResponseError> {
        observed(&rqctx, async {
            let nb = rqctx.context().netbird();
            let caller = nb.authenticate(authorization(&rqctx)).await?;
            let path = path.into_inner();
            nb.delete_pat(&caller, &path.user_id, &path.token_id).await?;
            Ok(HttpResponseOk(serde_json::Map::new()))
        })
        .await
    }

    async fn healthz(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::HealthStatus>, TsResponseError> {
        observed(&rqctx, async { Ok(HttpResponseOk(types::HealthStatus { status: "ok".to_string() })) }).await
    }

    async fn readyz(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::HealthStatus>, TsResponseError> {
        observed(&rqctx, async {
            // A lookup that touches the store; NotFound proves it answered.
            match rqctx.context().store.ak_user(i64::MIN).await {
                Ok(_) | Err(StoreError::NotFound) => {
                    Ok(HttpResponseOk(types::HealthStatus { status: "ready".to_string() }))
                }
                Err(_) => Err(error::tokenstack(ErrorStatusCode::SERVICE_UNAVAILABLE, "store unreachable")),
            }
        })
        .await
    }

    async fn metrics(rqctx: RequestContext<ServerContext>) -> Result<http::Response<dropshot::Body>, TsResponseError> {
        let ctx = rqctx.context();
        // Token gauges are read from the store at scrape time; a store failure leaves them as they were.
        if let Ok(counts) = ctx.store.count_tokens().await {
            ctx.metrics.set_tokens("authentik_core", counts.core);
            ctx.metrics.set_tokens("authentik_oauth2_access", counts.oauth_access);
            ctx.metrics.set_tokens("authentik_oauth2_refresh", counts.oauth_refresh);
            ctx.metrics.set_tokens("netbird_pat", counts.pats);
        }
        let text = ctx.metrics.render();
        const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
        if let Some(validator) = ctx.validator
            && let Err(violation) = validator.check("metrics", 200, Some(CONTENT_TYPE), None)
        {
            slog::error!(rqctx.log, "response violates the spec"; "operation_id" => "metrics", "pointer" => &violation.pointer);
            return Err(error::tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, &violation.to_string()));
        }
        http::Response::builder()
            .status(http::StatusCode::OK)
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(dropshot::Body::from(text))
            .map_err(|_| error::tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, "cannot build the metrics response"))
    }

    async fn admin_reset(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseUpdatedNoContent, TsResponseError> {
        observed(&rqctx, async {
            let admin = admin::authorize(&rqctx)?;
            admin.reset(rqctx.context()).await?;
            Ok(HttpResponseUpdatedNoContent())
        })
        .await
    }

    async fn admin_state_export(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::SeedDocument>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseOk(admin::export(rqctx.context()).await?))
        })
        .await
    }

    async fn admin_state_load(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::SeedDocument>,
    ) -> Result<HttpResponseUpdatedNoContent, TsResponseError> {
        observed(&rqctx, async {
            let admin = admin::authorize(&rqctx)?;
            admin.load(rqctx.context(), serde_json::Value::Object(body.into_inner().0)).await?;
            Ok(HttpResponseUpdatedNoContent())
        })
        .await
    }

    async fn admin_authentik_users_create(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::AdminAuthentikUser>,
    ) -> Result<HttpResponseCreated<types::AdminAuthentikUser>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseCreated(admin::create_ak_user(rqctx.context(), body.into_inner()).await?))
        })
        .await
    }

    async fn admin_authentik_providers_create(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::AdminAuthentikProvider>,
    ) -> Result<HttpResponseCreated<types::AdminAuthentikProvider>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseCreated(admin::create_provider(rqctx.context(), body.into_inner()).await?))
        })
        .await
    }

    async fn admin_authentik_access_tokens_create(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::AdminOAuthToken>,
    ) -> Result<HttpResponseCreated<types::AdminOAuthToken>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseCreated(admin::create_oauth(rqctx.context(), OAuthKind::Access, body.into_inner()).await?))
        })
        .await
    }

    async fn admin_authentik_refresh_tokens_create(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::AdminOAuthToken>,
    ) -> Result<HttpResponseCreated<types::AdminOAuthToken>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseCreated(admin::create_oauth(rqctx.context(), OAuthKind::Refresh, body.into_inner()).await?))
        })
        .await
    }

    async fn admin_netbird_users_create(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::AdminNetbirdUser>,
    ) -> Result<HttpResponseCreated<types::AdminNetbirdUser>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseCreated(admin::create_nb_user(rqctx.context(), body.into_inner()).await?))
        })
        .await
    }

    async fn admin_clock_retrieve(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::ClockOffset>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseOk(types::ClockOffset { offset_seconds: rqctx.context().clock_offset() }))
        })
        .await
    }

    async fn admin_clock_update(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::ClockOffset>,
    ) -> Result<HttpResponseOk<types::ClockOffset>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            let offset = body.into_inner().offset_seconds;
            // chrono's range: about ±292 million years; keep a margin.
            if TimeDelta::try_seconds(offset).is_none() || offset.unsigned_abs() > 100 * 365 * 86_400 {
                return Err(error::tokenstack(
                    ErrorStatusCode::BAD_REQUEST,
                    "offset_seconds must be within ±100 years",
                ));
            }
            rqctx.context().set_clock_offset(offset);
            Ok(HttpResponseOk(types::ClockOffset { offset_seconds: offset }))
        })
        .await
    }

    async fn admin_faults_retrieve(
        rqctx: RequestContext<ServerContext>,
    ) -> Result<HttpResponseOk<types::FaultConfig>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            Ok(HttpResponseOk(admin::faults(rqctx.context())))
        })
        .await
    }

    async fn admin_faults_update(
        rqctx: RequestContext<ServerContext>,
        body: TypedBody<types::FaultConfig>,
    ) -> Result<HttpResponseOk<types::FaultConfig>, TsResponseError> {
        observed(&rqctx, async {
            admin::authorize(&rqctx)?;
            admin::set_faults(rqctx.context(), body.into_inner())?;
            Ok(HttpResponseOk(admin::faults(rqctx.context())))
        })
        .await
    }
}

fn convert_intent_name(intent: types::IntentEnum) -> &'static str {
    convert::intent_from_wire(intent).as_str()
}
