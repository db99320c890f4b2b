//! authentik's OAuth2 provider (`/providers/oauth2/`) and application (`/core/applications/`) operations:
//! extract, call the rules of [`crate::authentik`], convert.

use dropshot::{HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, Path, Query, RequestContext};
use tokenstack_api::{JsonBody, params, types};

use crate::authentik::oidc::discovery::base_url;
use crate::authentik::{AllProvidersParams, ApplicationListParams, ProviderListParams};

use super::ServerContext;
use super::convert;
use super::error::AkResponseError;

pub(super) async fn providers_oauth2_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::ProvidersOauth2ListQuery>,
) -> Result<HttpResponseOk<types::PaginatedOAuth2ProviderList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = ProviderListParams {
        name: q.name,
        client_id: q.client_id,
        client_type: q.client_type,
        sub_mode: q.sub_mode,
        issuer_mode: q.issuer_mode,
        include_claims_in_id_token: q.include_claims_in_id_token,
        access_code_validity: q.access_code_validity,
        access_token_validity: q.access_token_validity,
        refresh_token_validity: q.refresh_token_validity,
        application: q.application,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_providers(&caller, params).await?;
    let mut results = Vec::with_capacity(page.results.len());
    for provider in &page.results {
        results.push(convert::oauth2_provider(&ak.with_application(provider.clone()).await?));
    }
    Ok(HttpResponseOk(types::PaginatedOAuth2ProviderList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results,
    }))
}

pub(super) async fn providers_all_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::ProvidersAllListQuery>,
) -> Result<HttpResponseOk<types::PaginatedProviderList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = AllProvidersParams {
        application_isnull: q.application_isnull,
        backchannel: q.backchannel,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_all_providers(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedProviderList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::provider).collect(),
    }))
}

pub(super) async fn providers_oauth2_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::OAuth2ProviderRequest>,
) -> Result<HttpResponseCreated<types::OAuth2Provider>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let provider = ak.create_provider(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseCreated(convert::oauth2_provider(&provider)))
}

pub(super) async fn providers_oauth2_retrieve(
    rqctx: &RequestContext<ServerContext>,
    pk: i64,
) -> Result<HttpResponseOk<types::OAuth2Provider>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let provider = ak.get_provider(&caller, pk).await?;
    Ok(HttpResponseOk(convert::oauth2_provider(&provider)))
}

pub(super) async fn providers_oauth2_update(
    rqctx: &RequestContext<ServerContext>,
    pk: i64,
    body: JsonBody<types::OAuth2ProviderRequest>,
) -> Result<HttpResponseOk<types::OAuth2Provider>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let provider = ak.update_provider(&caller, pk, &body.into_inner().0, false).await?;
    Ok(HttpResponseOk(convert::oauth2_provider(&provider)))
}

pub(super) async fn providers_oauth2_partial_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::ProvidersOauth2PartialUpdatePath>,
    body: JsonBody<types::PatchedOAuth2ProviderRequest>,
) -> Result<HttpResponseOk<types::OAuth2Provider>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let provider = ak.update_provider(&caller, path.into_inner().id, &body.into_inner().0, true).await?;
    Ok(HttpResponseOk(convert::oauth2_provider(&provider)))
}

/// The URLs are the request's (`request.build_absolute_uri`), as discovery's.
pub(super) async fn providers_oauth2_setup_urls_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::ProvidersOauth2SetupUrlsRetrievePath>,
) -> Result<HttpResponseOk<types::OAuth2ProviderSetupUrLs>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let headers = rqctx.request.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let server_addr = rqctx.server.local_addr.to_string();
    let base = base_url(rqctx.server.using_tls(), header("host"), header("x-forwarded-proto"), &server_addr)
        .unwrap_or_else(|_| format!("http://{server_addr}"));
    let urls = ak.setup_urls(&caller, path.into_inner().id, &base).await?;
    Ok(HttpResponseOk(types::OAuth2ProviderSetupUrLs {
        authorize: urls.authorize,
        dcr_registration: None,
        issuer: urls.issuer,
        jwks: urls.jwks,
        logout: urls.logout,
        provider_info: urls.provider_info,
        token: urls.token,
        user_info: urls.user_info,
    }))
}

pub(super) async fn providers_oauth2_destroy(
    rqctx: &RequestContext<ServerContext>,
    pk: i64,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_provider(&caller, pk).await?;
    Ok(HttpResponseDeleted())
}

pub(super) async fn core_applications_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::CoreApplicationsListQuery>,
) -> Result<HttpResponseOk<types::PaginatedApplicationList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = ApplicationListParams {
        name: q.name,
        slug: q.slug,
        group: q.group,
        meta_description: q.meta_description,
        meta_launch_url: q.meta_launch_url,
        meta_publisher: q.meta_publisher,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_applications(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedApplicationList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::application).collect(),
    }))
}

pub(super) async fn core_applications_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::ApplicationRequest>,
) -> Result<HttpResponseCreated<types::Application>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let view = ak.create_application(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseCreated(convert::application(&view)))
}

pub(super) async fn core_applications_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreApplicationsRetrievePath>,
) -> Result<HttpResponseOk<types::Application>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let view = ak.get_application(&caller, &path.into_inner().slug).await?;
    Ok(HttpResponseOk(convert::application(&view)))
}

pub(super) async fn core_applications_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreApplicationsUpdatePath>,
    body: JsonBody<types::ApplicationRequest>,
) -> Result<HttpResponseOk<types::Application>, AkResponseError> {
    update_application(rqctx, &path.into_inner().slug, body.into_inner().0, false).await
}

pub(super) async fn core_applications_partial_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreApplicationsPartialUpdatePath>,
    body: JsonBody<types::PatchedApplicationRequest>,
) -> Result<HttpResponseOk<types::Application>, AkResponseError> {
    update_application(rqctx, &path.into_inner().slug, body.into_inner().0, true).await
}

async fn update_application(
    rqctx: &RequestContext<ServerContext>,
    slug: &str,
    body: serde_json::Value,
    partial: bool,
) -> Result<HttpResponseOk<types::Application>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let view = ak.update_application(&caller, slug, &body, partial).await?;
    Ok(HttpResponseOk(convert::application(&view)))
}

pub(super) async fn core_applications_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreApplicationsDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_application(&caller, &path.into_inner().slug).await?;
    Ok(HttpResponseDeleted())
}

pub(super) async fn providers_all_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::ProvidersAllRetrievePath>,
) -> Result<HttpResponseOk<types::Provider>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let provider = ak.get_any_provider(&caller, path.into_inner().id).await?;
    Ok(HttpResponseOk(convert::provider(&provider)))
}

pub(super) async fn providers_all_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::ProvidersAllDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_any_provider(&caller, path.into_inner().id).await?;
    Ok(HttpResponseDeleted())
}
