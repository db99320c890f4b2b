//! NetBird's user operations (`/api/users`): extract, call the rules of [`crate::netbird`], convert.

use dropshot::{HttpResponseOk, Path, Query, RequestContext, TypedBody};
use tokenstack_api::{params, types};

use super::ServerContext;
use super::convert;
use super::error::NbResponseError;
use super::observe::authorization;
use crate::netbird::NbError;

pub(super) async fn netbird_users_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::NetbirdUsersListQuery>,
) -> Result<HttpResponseOk<Vec<types::NetbirdUser>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let users = nb.list_users(&caller, query.into_inner().service_user.as_deref()).await?;
    Ok(HttpResponseOk(users.iter().map(|u| convert::nb_user(u, &caller)).collect()))
}

pub(super) async fn netbird_users_create(
    rqctx: &RequestContext<ServerContext>,
    body: TypedBody<types::UserCreateRequest>,
) -> Result<HttpResponseOk<types::NetbirdUser>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let user = nb.create_user(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::nb_user(&user, &caller)))
}

pub(super) async fn netbird_users_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdUsersUpdatePath>,
    body: TypedBody<types::NetbirdUserRequest>,
) -> Result<HttpResponseOk<types::NetbirdUser>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let user = nb.update_user(&caller, &path.into_inner().user_id, &body.into_inner().0).await?;
    Ok(HttpResponseOk(convert::nb_user(&user, &caller)))
}

pub(super) async fn netbird_users_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdUsersDestroyPath>,
) -> Result<HttpResponseOk<serde_json::Map<String, serde_json::Value>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    nb.delete_user(&caller, &path.into_inner().user_id).await?;
    Ok(HttpResponseOk(serde_json::Map::new()))
}

/// `GET /api/users/current`, served on `GET /api/users/{userId}` (Dropshot cannot route the literal beside the
/// variable): any other id is a method the route does not have.
pub(super) async fn netbird_users_current(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdUsersCurrentPath>,
) -> Result<HttpResponseOk<types::NetbirdUser>, NbResponseError> {
    if path.into_inner().user_id != "current" {
        return Err(NbError::MethodNotAllowed.into());
    }
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let (user, restricted) = nb.current_user(&caller).await?;
    Ok(HttpResponseOk(convert::nb_current_user(&user, restricted)))
}
