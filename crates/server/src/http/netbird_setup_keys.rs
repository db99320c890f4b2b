//! NetBird's setup key operations (`/api/setup-keys`, `/api/setup-keys/{keyId}`): extract, call the rules of
//! [`crate::netbird`], convert.

use dropshot::{HttpResponseOk, Path, RequestContext, TypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::convert;
use super::error::NbResponseError;
use super::observe::authorization;

pub(super) async fn netbird_setup_keys_list(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<Vec<types::SetupKey>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let keys = nb.list_setup_keys(&caller).await?;
    Ok(HttpResponseOk(keys.iter().map(|key| convert::setup_key(key, nb.now)).collect()))
}

pub(super) async fn netbird_setup_keys_create(
    rqctx: &RequestContext<ServerContext>,
    body: TypedBody<types::CreateSetupKeyRequest>,
) -> Result<HttpResponseOk<types::SetupKeyClear>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let (plain, key) = nb.create_setup_key(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::setup_key_clear(&key, &plain, nb.now)))
}

pub(super) async fn netbird_setup_keys_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdSetupKeysRetrievePath>,
) -> Result<HttpResponseOk<types::SetupKey>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let key = nb.get_setup_key(&caller, &path.into_inner().key_id).await?;
    Ok(HttpResponseOk(convert::setup_key(&key, nb.now)))
}

pub(super) async fn netbird_setup_keys_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdSetupKeysUpdatePath>,
    body: TypedBody<types::SetupKeyRequest>,
) -> Result<HttpResponseOk<types::SetupKey>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let key = nb.update_setup_key(&caller, &path.into_inner().key_id, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::setup_key(&key, nb.now)))
}

pub(super) async fn netbird_setup_keys_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdSetupKeysDestroyPath>,
) -> Result<HttpResponseOk<serde_json::Map<String, serde_json::Value>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    nb.delete_setup_key(&caller, &path.into_inner().key_id).await?;
    Ok(HttpResponseOk(serde_json::Map::new()))
}
