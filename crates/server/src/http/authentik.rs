//! authentik's core token and OAuth2 token operations: extract, call the rules of [`crate::authentik`], convert.

use std::collections::HashMap;

use dropshot::{
    HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query, RequestContext,
};
use tokenstack_api::{JsonBody, params, types};

use crate::authentik::{AkError, Authentik, OAuthListParams, TokenListParams};
use crate::model::{CoreToken, OAuthKind, OAuthToken};
use crate::store::StoreError;

use super::ServerContext;
use super::convert;
use super::error::AkResponseError;

pub(super) async fn core_tokens_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::CoreTokensListQuery>,
) -> Result<HttpResponseOk<types::PaginatedTokenList>, AkResponseError> {
    let ctx = rqctx.context();
    let ak = ctx.authentik();
    let caller = super::flows::caller(rqctx).await?;
    let query = query.into_inner();
    let params = TokenListParams {
        identifier: query.identifier,
        intent: query.intent,
        user_username: query.user_username,
        description: query.description,
        expires: query.expires,
        expiring: query.expiring,
        managed: query.managed,
        search: query.search,
        ordering: query.ordering,
        page: query.page,
        page_size: query.page_size,
    };
    let page = ak.list_tokens(&caller, params).await?;
    let pagination = convert::pagination(&page);
    let results = wire_tokens(&ak, page.results).await?;
    Ok(HttpResponseOk(types::PaginatedTokenList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination,
        results,
    }))
}

pub(super) async fn core_tokens_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::TokenRequest>,
) -> Result<HttpResponseCreated<types::Token>, AkResponseError> {
    let ctx = rqctx.context();
    let ak = ctx.authentik();
    let caller = super::flows::caller(rqctx).await?;
    let token = ak.create_token(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseCreated(wire_token(&ak, token).await?))
}

pub(super) async fn core_tokens_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensRetrievePath>,
) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
    let ctx = rqctx.context();
    let ak = ctx.authentik();
    let caller = super::flows::caller(rqctx).await?;
    let token = ak.get_token(&caller, &path.into_inner().identifier).await?;
    Ok(HttpResponseOk(wire_token(&ak, token).await?))
}

pub(super) async fn core_tokens_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensUpdatePath>,
    body: JsonBody<types::TokenRequest>,
) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
    update(rqctx, path.into_inner().identifier, body.into_inner().0, false).await
}

pub(super) async fn core_tokens_partial_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensPartialUpdatePath>,
    body: JsonBody<types::PatchedTokenRequest>,
) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
    update(rqctx, path.into_inner().identifier, body.into_inner().0, true).await
}

/// PUT and PATCH differ only in their body type and in whether absent fields are required.
async fn update(
    rqctx: &RequestContext<ServerContext>,
    identifier: String,
    body: serde_json::Value,
    partial: bool,
) -> Result<HttpResponseOk<types::Token>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let token = ak.update_token(&caller, &identifier, &body, partial).await?;
    Ok(HttpResponseOk(wire_token(&ak, token).await?))
}

pub(super) async fn core_tokens_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_token(&caller, &path.into_inner().identifier).await?;
    Ok(HttpResponseDeleted())
}

pub(super) async fn core_tokens_set_key_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensSetKeyCreatePath>,
    body: JsonBody<types::TokenSetKeyRequest>,
) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.set_key(&caller, &path.into_inner().identifier, &body.into_inner().0).await?;
    Ok(HttpResponseUpdatedNoContent())
}

pub(super) async fn core_tokens_used_by_list(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensUsedByListPath>,
) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let used_by = ak.used_by(&caller, &path.into_inner().identifier).await?;
    Ok(HttpResponseOk(used_by.into_iter().map(convert::used_by).collect()))
}

pub(super) async fn core_tokens_view_key_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreTokensViewKeyRetrievePath>,
) -> Result<HttpResponseOk<types::TokenView>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let key = ak.view_key(&caller, &path.into_inner().identifier).await?;
    Ok(HttpResponseOk(types::TokenView { key: key.expose().to_string() }))
}

pub(super) async fn oauth_list(
    rqctx: &RequestContext<ServerContext>,
    kind: OAuthKind,
    params: OAuthListParams,
) -> Result<HttpResponseOk<types::PaginatedTokenModelList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let page = ak.list_oauth(&caller, kind, params).await?;
    let pagination = convert::pagination(&page);
    let results = wire_oauth_tokens(&ak, page.results).await?;
    Ok(HttpResponseOk(types::PaginatedTokenModelList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination,
        results,
    }))
}

pub(super) async fn oauth_retrieve(
    rqctx: &RequestContext<ServerContext>,
    kind: OAuthKind,
    pk: i64,
) -> Result<HttpResponseOk<types::TokenModel>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let token = ak.get_oauth(&caller, kind, pk).await?;
    let mut tokens = wire_oauth_tokens(&ak, vec![token]).await?;
    Ok(HttpResponseOk(tokens.remove(0)))
}

pub(super) async fn oauth_destroy(
    rqctx: &RequestContext<ServerContext>,
    kind: OAuthKind,
    pk: i64,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_oauth(&caller, kind, pk).await?;
    Ok(HttpResponseDeleted())
}

pub(super) async fn oauth_used_by(
    rqctx: &RequestContext<ServerContext>,
    kind: OAuthKind,
    pk: i64,
) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let used_by = ak.oauth_used_by(&caller, kind, pk).await?;
    Ok(HttpResponseOk(used_by.into_iter().map(convert::used_by).collect()))
}

/// Core tokens in wire form: the owners come from the rules, looked up once each, and each is converted once.
async fn wire_tokens(ak: &Authentik<'_>, tokens: Vec<CoreToken>) -> Result<Vec<types::Token>, AkResponseError> {
    let owners = ak.owners(tokens.iter().map(|t| t.user).collect()).await?;
    let owners: HashMap<i64, types::User> = owners.iter().map(|(pk, user)| (*pk, convert::user(user))).collect();
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        let owner = owners.get(&token.user).cloned().ok_or(AkError::Store(StoreError::NotFound))?;
        out.push(convert::token(token, owner));
    }
    Ok(out)
}

async fn wire_token(ak: &Authentik<'_>, token: CoreToken) -> Result<types::Token, AkResponseError> {
    let mut tokens = wire_tokens(ak, vec![token]).await?;
    Ok(tokens.remove(0))
}

/// OAuth2 tokens in wire form, with their providers and owners looked up once each.
async fn wire_oauth_tokens(
    ak: &Authentik<'_>,
    tokens: Vec<OAuthToken>,
) -> Result<Vec<types::TokenModel>, AkResponseError> {
    let providers = ak.providers(tokens.iter().map(|t| t.provider).collect()).await?;
    let owners = ak.owners(tokens.iter().map(|t| t.user).collect()).await?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        let (Some(provider), Some(owner)) = (providers.get(&token.provider), owners.get(&token.user)) else {
            return Err(AkError::Store(StoreError::NotFound).into());
        };
        let is_expired = token.is_expired(ak.now);
        out.push(convert::oauth_token(token, provider, owner, is_expired));
    }
    Ok(out)
}
