//! NetBird's group operations (`/api/groups`, `/api/groups/{groupId}`): extract, call the rules of
//! [`crate::netbird`], convert.

use dropshot::{HttpResponseOk, Path, Query, RequestContext, TypedBody};
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
    let names = nb.peer_names(&caller.account_id).await?;
    Ok(HttpResponseOk(groups.iter().map(|group| convert::nb_group(group, &names)).collect()))
}

pub(super) async fn netbird_groups_create(
    rqctx: &RequestContext<ServerContext>,
    body: TypedBody<types::GroupRequest>,
) -> Result<HttpResponseOk<types::Group>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let group = nb.create_group(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::nb_group(&group, &nb.peer_names(&caller.account_id).await?)))
}

pub(super) async fn netbird_groups_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdGroupsRetrievePath>,
) -> Result<HttpResponseOk<types::Group>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let group = nb.get_group(&caller, &path.into_inner().group_id).await?;
    Ok(HttpResponseOk(convert::nb_group(&group, &nb.peer_names(&caller.account_id).await?)))
}

pub(super) async fn netbird_groups_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdGroupsUpdatePath>,
    body: TypedBody<types::GroupRequest>,
) -> Result<HttpResponseOk<types::Group>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let group = nb.update_group(&caller, &path.into_inner().group_id, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::nb_group(&group, &nb.peer_names(&caller.account_id).await?)))
}

pub(super) async fn netbird_groups_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdGroupsDestroyPath>,
) -> Result<HttpResponseOk<serde_json::Map<String, serde_json::Value>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    nb.delete_group(&caller, &path.into_inner().group_id).await?;
    Ok(HttpResponseOk(serde_json::Map::new()))
}
