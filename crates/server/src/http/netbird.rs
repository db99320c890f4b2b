//! NetBird's personal access token operations: extract, call the rules of [`crate::netbird`], convert.

use dropshot::{HttpResponseOk, Path, RequestContext, TypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::convert;
use super::error::NbResponseError;
use super::observe::authorization;

pub(super) async fn netbird_tokens_list(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdTokensListPath>,
) -> Result<HttpResponseOk<Vec<types::PersonalAccessToken>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let pats = nb.list_pats(&caller, &path.into_inner().user_id).await?;
    Ok(HttpResponseOk(pats.into_iter().map(convert::pat).collect()))
}

pub(super) async fn netbird_tokens_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdTokensCreatePath>,
    body: TypedBody<types::PersonalAccessTokenRequest>,
) -> Result<HttpResponseOk<types::PersonalAccessTokenGenerated>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let (plain, pat) = nb.create_pat(&caller, &path.into_inner().user_id, &body.into_inner().0).await?;
    Ok(HttpResponseOk(types::PersonalAccessTokenGenerated {
        personal_access_token: convert::pat(pat),
        plain_token: plain.expose().to_string(),
    }))
}

pub(super) async fn netbird_tokens_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdTokensRetrievePath>,
) -> Result<HttpResponseOk<types::PersonalAccessToken>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let path = path.into_inner();
    let pat = nb.get_pat(&caller, &path.user_id, &path.token_id).await?;
    Ok(HttpResponseOk(convert::pat(pat)))
}

pub(super) async fn netbird_tokens_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdTokensDestroyPath>,
) -> Result<HttpResponseOk<serde_json::Map<String, serde_json::Value>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let path = path.into_inner();
    nb.delete_pat(&caller, &path.user_id, &path.token_id).await?;
    Ok(HttpResponseOk(serde_json::Map::new()))
}
