//! NetBird's group operations (`/api/groups`): extract, call the rules of [`crate::netbird`], convert.

use dropshot::{HttpResponseOk, Query, RequestContext, TypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::convert;
use super::error::NbResponseError;
use super::observe::authorization;

pub(super) async fn netbird_groups_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::NetbirdGroupsListQuery>,
) -> Result<HttpResponseOk<Vec<types::Group>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let groups = nb.list_groups(&caller, query.into_inner().name.as_deref()).await?;
    Ok(HttpResponseOk(groups.iter().map(convert::nb_group).collect()))
}

pub(super) async fn netbird_groups_create(
    rqctx: &RequestContext<ServerContext>,
    body: TypedBody<types::GroupRequest>,
) -> Result<HttpResponseOk<types::Group>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let group = nb.create_group(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::nb_group(&group)))
}
