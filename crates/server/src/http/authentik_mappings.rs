//! authentik's scope mappings (`/propertymappings/provider/scope/`) and the list of every property mapping
//! (`/propertymappings/all/`, scope mappings being the only kind tokenstack stores): extract, call the rules of
//! [`crate::authentik`], convert.

use dropshot::{HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, Path, Query, RequestContext};
use tokenstack_api::{JsonBody, params, types};

use crate::authentik::ScopeMappingListParams;

use super::ServerContext;
use super::convert;
use super::error::AkResponseError;

pub(super) async fn propertymappings_provider_scope_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::PropertymappingsProviderScopeListQuery>,
) -> Result<HttpResponseOk<types::PaginatedScopeMappingList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = ScopeMappingListParams {
        managed: q.managed,
        managed_isnull: q.managed_isnull,
        name: q.name,
        scope_name: q.scope_name,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_scope_mappings(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedScopeMappingList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::scope_mapping).collect(),
    }))
}

pub(super) async fn propertymappings_all_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::PropertymappingsAllListQuery>,
) -> Result<HttpResponseOk<types::PaginatedPropertyMappingList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = ScopeMappingListParams {
        managed: q.managed,
        managed_isnull: q.managed_isnull,
        name: q.name,
        scope_name: None,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_scope_mappings(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedPropertyMappingList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::property_mapping).collect(),
    }))
}

pub(super) async fn propertymappings_provider_scope_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::ScopeMappingRequest>,
) -> Result<HttpResponseCreated<types::ScopeMapping>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let mapping = ak.create_scope_mapping(&caller, &body.into_inner().0).await?;
    warn_unevaluated(rqctx, &mapping);
    Ok(HttpResponseCreated(convert::scope_mapping(&mapping)))
}

pub(super) async fn propertymappings_provider_scope_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::PropertymappingsProviderScopeRetrievePath>,
) -> Result<HttpResponseOk<types::ScopeMapping>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let mapping = ak.get_scope_mapping(&caller, path.into_inner().pm_uuid).await?;
    Ok(HttpResponseOk(convert::scope_mapping(&mapping)))
}

pub(super) async fn propertymappings_provider_scope_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::PropertymappingsProviderScopeUpdatePath>,
    body: JsonBody<types::ScopeMappingRequest>,
) -> Result<HttpResponseOk<types::ScopeMapping>, AkResponseError> {
    update(rqctx, path.into_inner().pm_uuid, body.into_inner().0, false).await
}

pub(super) async fn propertymappings_provider_scope_partial_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::PropertymappingsProviderScopePartialUpdatePath>,
    body: JsonBody<types::PatchedScopeMappingRequest>,
) -> Result<HttpResponseOk<types::ScopeMapping>, AkResponseError> {
    update(rqctx, path.into_inner().pm_uuid, body.into_inner().0, true).await
}

async fn update(
    rqctx: &RequestContext<ServerContext>,
    pk: uuid::Uuid,
    body: serde_json::Value,
    partial: bool,
) -> Result<HttpResponseOk<types::ScopeMapping>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let mapping = ak.update_scope_mapping(&caller, pk, &body, partial).await?;
    warn_unevaluated(rqctx, &mapping);
    Ok(HttpResponseOk(convert::scope_mapping(&mapping)))
}

pub(super) async fn propertymappings_provider_scope_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::PropertymappingsProviderScopeDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_scope_mapping(&caller, path.into_inner().pm_uuid).await?;
    Ok(HttpResponseDeleted())
}

/// One warning, naming the mapping, when its expression is outside the subset tokenstack evaluates: upstream
/// accepts any Python, and here the mapping adds its scope but no claims.
fn warn_unevaluated(rqctx: &RequestContext<ServerContext>, mapping: &crate::model::AkScopeMapping) {
    if let Some(problem) = crate::authentik::expression_problem(mapping) {
        slog::warn!(rqctx.log, "scope mapping adds no claims";
            "mapping" => &mapping.name, "pk" => %mapping.pk, "reason" => problem);
    }
}
