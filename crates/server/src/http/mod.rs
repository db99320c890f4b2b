//! The HTTP layer: `impl TokenApi for ServerImpl`. Handlers extract, call the domain rules, map the result.

mod convert;
mod error;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SubsecRound, Utc};
use dropshot::ErrorStatusCode;
use dropshot::{
    HttpCodedResponse, HttpResponseCreated, HttpResponseDeleted, HttpResponseError, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query,
    RequestContext, TypedBody,
};
use tokenstack_api::{TokenApi, params, types};

use crate::authentik::{Authentik, NewToken, OAuthListParams, TokenListParams};
use crate::model::{AkUser, CoreToken, OAuthKind, OAuthToken};
use crate::netbird::NetBird;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

use self::error::{AkResponseError, NbResponseError, TsResponseError};

/// The server state every handler sees.
pub struct ServerContext {
    pub store: Arc<dyn Store>,
    pub metrics: Metrics,
}

impl ServerContext {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ServerContext { store, metrics: Metrics::default() }
    }

    /// The current time at the precision both upstreams store (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }

    fn authentik(&self) -> Authentik<'_> {
        Authentik::new(&*self.store, self.now())
    }

    fn netbird(&self) -> NetBird<'_> {
        NetBird::new(&*self.store, self.now())
    }

    /// Serializes core tokens, looking each owner up once.
    async fn tokens(&self, tokens: Vec<CoreToken>) -> Result<Vec<types::Token>, AkResponseError> {
        let mut owners: HashMap<i64, AkUser> = HashMap::new();
        let mut out = Vec::with_capacity(tokens.len());
        for token in tokens {
            let owner = match owners.entry(token.user) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => {
                    entry.insert(self.store.ak_user(token.user).await.map_err(crate::authentik::AkError::from)?)
                }
            };
            out.push(convert::token(token, owner));
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

/// Runs a handler and records its status and latency by operationId.
async fn observed<T: HttpCodedResponse, E: HttpResponseError>(
    rqctx: &RequestContext<ServerContext>,
    handler: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = handler.await;
    let status = match &result {
        Ok(_) => T::STATUS_CODE.as_u16(),
        Err(error) => error.status_code().as_u16(),
    };
    rqctx.context().metrics.observe(&rqctx.endpoint.operation_id, status, started.elapsed());
    result
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

fn oauth_params(query: params::Oauth2AccessTokensListQuery) -> OAuthListParams {
    OAuthListParams {
        user: query.user.map(|v| v.to_string()),
        provider: query.provider.map(|v| v.to_string()),
        search: query.search,
        ordering: query.ordering,
        page: query.page,
        page_size: query.page_size,
    }
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
    Ok(HttpResponseOk(types::PaginatedTokenModelList { autocomplete: types::Autocomplete(serde_json::Map::new()), pagination, results }))
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
            Ok(HttpResponseOk(types::PaginatedTokenList { autocomplete: types::Autocomplete(serde_json::Map::new()), pagination, results }))
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
            oauth_list(rqctx.context(), authorization(&rqctx), OAuthKind::Access, oauth_params(query.into_inner())).await
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
            let query = query.into_inner();
            let params = OAuthListParams {
                user: query.user.map(|v| v.to_string()),
                provider: query.provider.map(|v| v.to_string()),
                search: query.search,
                ordering: query.ordering,
                page: query.page,
                page_size: query.page_size,
            };
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
                Ok(_) | Err(StoreError::NotFound) => Ok(HttpResponseOk(types::HealthStatus { status: "ready".to_string() })),
                Err(_) => Err(error::tokenstack(ErrorStatusCode::SERVICE_UNAVAILABLE, "store unreachable")),
            }
        })
        .await
    }

    async fn metrics(rqctx: RequestContext<ServerContext>) -> Result<http::Response<dropshot::Body>, TsResponseError> {
        let text = rqctx.context().metrics.render();
        http::Response::builder()
            .status(http::StatusCode::OK)
            .header(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .body(dropshot::Body::from(text))
            .map_err(|_| error::tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, "cannot build the metrics response"))
    }
}

fn convert_intent_name(intent: types::IntentEnum) -> &'static str {
    convert::intent_from_wire(intent).as_str()
}
