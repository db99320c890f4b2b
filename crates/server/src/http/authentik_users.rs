//! authentik's user operations (`/core/users/`): extract, call the rules of [`crate::authentik`], convert.

use dropshot::{
    HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query, RequestContext,
};
use tokenstack_api::{JsonBody, params, types};

use crate::authentik::{UserListParams, user_pk};

use super::ServerContext;
use super::convert;
use super::error::{AkResponseError, method_not_allowed};

pub(super) async fn core_users_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::CoreUsersListQuery>,
) -> Result<HttpResponseOk<types::PaginatedUserList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = UserListParams {
        username: q.username,
        name: q.name,
        email: q.email,
        is_active: q.is_active,
        is_superuser: q.is_superuser,
        path: q.path,
        path_startswith: q.path_startswith,
        user_type: q.type_,
        uuid: q.uuid,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_users(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedUserList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(convert::user).collect(),
    }))
}

pub(super) async fn core_users_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::UserRequest>,
) -> Result<HttpResponseCreated<types::User>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let user = ak.create_user(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseCreated(convert::user(&user)))
}

/// `GET /core/users/{id}/`, which also answers `core_users_me_retrieve` (`/core/users/me/`, a literal Dropshot
/// cannot route beside `{id}`; see the generated `SHADOWED_OPERATIONS`).
pub(super) async fn core_users_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreUsersRetrievePath>,
) -> Result<HttpResponseOk<types::CoreUsersRetrieveResponse>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let id = path.into_inner().id;
    if shadowed("core_users_me_retrieve", &id) {
        return Ok(HttpResponseOk(convert::session_user(&ak.me(caller)).into()));
    }
    if literal(&id) {
        return Err(method_not_allowed("GET"));
    }
    let user = ak.get_user(&caller, user_pk(&id)?).await?;
    Ok(HttpResponseOk(convert::user(&user).into()))
}

/// `POST /core/users/service_account/`; on any other `{id}` there is no such operation.
pub(super) async fn core_users_service_account_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreUsersServiceAccountCreatePath>,
    body: JsonBody<types::UserServiceAccountRequest>,
) -> Result<HttpResponseOk<types::UserServiceAccountResponse>, AkResponseError> {
    if !shadowed("core_users_service_account_create", &path.into_inner().id) {
        return Err(method_not_allowed("POST"));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let created = ak.create_service_account(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseOk(types::UserServiceAccountResponse {
        group_pk: created.group_pk.map(|pk| pk.to_string()),
        token: created.token.key.expose().to_string(),
        user_pk: created.user.pk,
        user_uid: convert::user_uid(created.user.pk),
        username: created.user.username,
    }))
}

/// Whether the path parameter is the literal that `operation_id`'s own path has in its place.
pub(super) fn shadowed(operation_id: &str, value: &str) -> bool {
    tokenstack_api::SHADOWED_OPERATIONS.iter().any(|(id, _, literal, _)| *id == operation_id && *literal == value)
}

/// Whether the `{id}` is one of the literal routes (`me`, `service_account`), which have no other methods.
fn literal(value: &str) -> bool {
    tokenstack_api::SHADOWED_OPERATIONS.iter().any(|(_, _, literal, _)| *literal == value)
}

/// PUT and PATCH differ only in their body type and in whether `username` and `name` are required.
pub(super) async fn core_users_update(
    rqctx: &RequestContext<ServerContext>,
    pk: String,
    body: serde_json::Value,
    partial: bool,
) -> Result<HttpResponseOk<types::User>, AkResponseError> {
    if literal(&pk) {
        return Err(method_not_allowed(if partial { "PATCH" } else { "PUT" }));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let user = ak.update_user(&caller, user_pk(&pk)?, &body, partial).await?;
    Ok(HttpResponseOk(convert::user(&user)))
}

pub(super) async fn core_users_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreUsersDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let id = path.into_inner().id;
    if literal(&id) {
        return Err(method_not_allowed("DELETE"));
    }
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_user(&caller, user_pk(&id)?).await?;
    Ok(HttpResponseDeleted())
}

pub(super) async fn core_users_set_password_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreUsersSetPasswordCreatePath>,
    body: JsonBody<types::UserPasswordSetRequest>,
) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.set_password(&caller, path.into_inner().id, &body.into_inner().0).await?;
    Ok(HttpResponseUpdatedNoContent())
}
