//! authentik's certificate-key pairs (`/crypto/certificatekeypairs/`): extract, call the rules of
//! [`crate::authentik`], convert. `generate/` shares the `{kp_uuid}` route (see docs/spec-and-codegen.md).

use dropshot::{HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, Path, Query, RequestContext};
use tokenstack_api::{JsonBody, params, types};

use crate::authentik::KeyPairListParams;

use super::ServerContext;
use super::authentik_users::shadowed;
use super::convert;
use super::error::{AkResponseError, method_not_allowed};

const GENERATE: &str = "crypto_certificatekeypairs_generate_create";

pub(super) async fn crypto_certificatekeypairs_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::CryptoCertificatekeypairsListQuery>,
) -> Result<HttpResponseOk<types::PaginatedCertificateKeyPairList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = KeyPairListParams {
        has_key: q.has_key,
        key_type: q.key_type,
        managed: q.managed,
        name: q.name,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_key_pairs(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedCertificateKeyPairList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::key_pair).collect(),
    }))
}

pub(super) async fn crypto_certificatekeypairs_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::CertificateKeyPairRequest>,
) -> Result<HttpResponseCreated<types::CertificateKeyPair>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let pair = ak.create_key_pair(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseCreated(convert::key_pair(&pair)))
}

pub(super) async fn crypto_certificatekeypairs_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsRetrievePath>,
) -> Result<HttpResponseOk<types::CertificateKeyPair>, AkResponseError> {
    let pk = path.into_inner().kp_uuid;
    if shadowed(GENERATE, &pk) {
        return Err(method_not_allowed("GET"));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    Ok(HttpResponseOk(convert::key_pair(&ak.get_key_pair(&caller, &pk).await?)))
}

/// `POST /crypto/certificatekeypairs/generate/`; on any other `{kp_uuid}` there is no such operation.
pub(super) async fn crypto_certificatekeypairs_generate_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsGenerateCreatePath>,
    body: JsonBody<types::CertificateGenerationRequest>,
) -> Result<HttpResponseOk<types::CertificateKeyPair>, AkResponseError> {
    if !shadowed(GENERATE, &path.into_inner().kp_uuid) {
        return Err(method_not_allowed("POST"));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let pair = ak.generate_key_pair(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::key_pair(&pair)))
}

pub(super) async fn crypto_certificatekeypairs_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let pk = path.into_inner().kp_uuid;
    if shadowed(GENERATE, &pk) {
        return Err(method_not_allowed("DELETE"));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_key_pair(&caller, &pk).await?;
    Ok(HttpResponseDeleted())
}

/// `?download` (a file response) is not served: the body is always the JSON `CertificateData`.
pub(super) async fn crypto_certificatekeypairs_view_certificate_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsViewCertificateRetrievePath>,
    _query: Query<params::CryptoCertificatekeypairsViewCertificateRetrieveQuery>,
) -> Result<HttpResponseOk<types::CertificateData>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let pair = ak.get_key_pair(&caller, &path.into_inner().kp_uuid.to_string()).await?;
    Ok(HttpResponseOk(types::CertificateData { data: pair.certificate_data }))
}

/// The private key's PEM, to whoever may view the pair (upstream logs a `secret_view` event; tokenstack logs
/// nothing of it).
pub(super) async fn crypto_certificatekeypairs_view_private_key_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsViewPrivateKeyRetrievePath>,
    _query: Query<params::CryptoCertificatekeypairsViewPrivateKeyRetrieveQuery>,
) -> Result<HttpResponseOk<types::CertificateData>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let pair = ak.get_key_pair(&caller, &path.into_inner().kp_uuid.to_string()).await?;
    Ok(HttpResponseOk(types::CertificateData { data: pair.key_data.expose().to_string() }))
}

pub(super) async fn crypto_certificatekeypairs_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsUpdatePath>,
    body: JsonBody<types::CertificateKeyPairRequest>,
) -> Result<HttpResponseOk<types::CertificateKeyPair>, AkResponseError> {
    update(rqctx, path.into_inner().kp_uuid, body.into_inner().0, false, "PUT").await
}

pub(super) async fn crypto_certificatekeypairs_partial_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsPartialUpdatePath>,
    body: JsonBody<types::PatchedCertificateKeyPairRequest>,
) -> Result<HttpResponseOk<types::CertificateKeyPair>, AkResponseError> {
    update(rqctx, path.into_inner().kp_uuid, body.into_inner().0, true, "PATCH").await
}

async fn update(
    rqctx: &RequestContext<ServerContext>,
    pk: String,
    body: serde_json::Value,
    partial: bool,
    method: &str,
) -> Result<HttpResponseOk<types::CertificateKeyPair>, AkResponseError> {
    if shadowed(GENERATE, &pk) {
        return Err(method_not_allowed(method));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let pair = ak.update_key_pair(&caller, &pk, &body, partial).await?;
    Ok(HttpResponseOk(convert::key_pair(&pair)))
}

pub(super) async fn crypto_certificatekeypairs_used_by_list(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CryptoCertificatekeypairsUsedByListPath>,
) -> Result<HttpResponseOk<Vec<types::UsedBy>>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let used = ak.key_pair_used_by(&caller, &path.into_inner().kp_uuid.to_string()).await?;
    Ok(HttpResponseOk(used.into_iter().map(convert::used_by).collect()))
}
