//! What a setup script reads first: authentik's public configuration (`/root/config/`) and its flows
//! (`/flows/instances/`): extract, call the rules of [`crate::authentik`], convert.

use dropshot::{HttpResponseOk, Path, Query, RequestContext};
use tokenstack_api::{params, types};

use crate::authentik::FlowListParams;

use super::ServerContext;
use super::convert;
use super::error::AkResponseError;
use super::observe::authorization;

pub(super) async fn root_config_retrieve(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::Config>, AkResponseError> {
    let config = rqctx.context().authentik().root_config(authorization(rqctx)).await?;
    Ok(HttpResponseOk(convert::root_config(&config)))
}

pub(super) async fn flows_instances_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::FlowsInstancesListQuery>,
) -> Result<HttpResponseOk<types::PaginatedFlowList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = FlowListParams {
        denied_action: q.denied_action,
        designation: q.designation,
        flow_uuid: q.flow_uuid,
        name: q.name,
        slug: q.slug,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_flows(&caller, params)?;
    Ok(HttpResponseOk(types::PaginatedFlowList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::flow).collect(),
    }))
}

pub(super) async fn flows_instances_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::FlowsInstancesRetrievePath>,
) -> Result<HttpResponseOk<types::Flow>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let flow = ak.get_flow(&caller, &path.into_inner().slug)?;
    Ok(HttpResponseOk(convert::flow(&flow)))
}
