//! authentik's groups (`/core/groups/`): extract, call the rules of [`crate::authentik`], convert (the group
//! serializer's conversion is here, beside its only users, as `convert.rs` is at its size limit).

use dropshot::RequestContext;
use dropshot::{HttpResponseCreated, HttpResponseDeleted, HttpResponseOk, HttpResponseUpdatedNoContent, Path, Query};
use tokenstack_api::{JsonBody, params, types};

use crate::authentik::{GroupListParams, GroupView, Include};
use crate::model::{AkGroup, AkUser, user_uid};

use super::ServerContext;
use super::convert;
use super::error::AkResponseError;

pub(super) async fn core_groups_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::CoreGroupsListQuery>,
) -> Result<HttpResponseOk<types::PaginatedGroupList>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let params = GroupListParams {
        attributes: q.attributes,
        include_users: q.include_users,
        include_children: q.include_children,
        include_parents: q.include_parents,
        include_inherited_roles: q.include_inherited_roles,
        is_superuser: q.is_superuser,
        members_by_pk: q.members_by_pk,
        members_by_username: q.members_by_username,
        name: q.name,
        search: q.search,
        ordering: q.ordering,
        page: q.page,
        page_size: q.page_size,
    };
    let page = ak.list_groups(&caller, params).await?;
    Ok(HttpResponseOk(types::PaginatedGroupList {
        autocomplete: types::Autocomplete(serde_json::Map::new()),
        pagination: convert::pagination(&page),
        results: page.results.iter().map(group).collect(),
    }))
}

pub(super) async fn core_groups_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::GroupRequest>,
) -> Result<HttpResponseCreated<types::Group>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let view = ak.create_group(&caller, &body.into_inner().0).await?;
    Ok(HttpResponseCreated(group(&view)))
}

pub(super) async fn core_groups_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreGroupsRetrievePath>,
    query: Query<params::CoreGroupsRetrieveQuery>,
) -> Result<HttpResponseOk<types::Group>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let q = query.into_inner();
    let include = Include::parse(
        q.include_users.as_deref(),
        q.include_children.as_deref(),
        q.include_parents.as_deref(),
        q.include_inherited_roles.as_deref(),
    );
    let view = ak.get_group(&caller, path.into_inner().group_uuid, include).await?;
    Ok(HttpResponseOk(group(&view)))
}

pub(super) async fn core_groups_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreGroupsUpdatePath>,
    body: JsonBody<types::GroupRequest>,
) -> Result<HttpResponseOk<types::Group>, AkResponseError> {
    update(rqctx, path.into_inner().group_uuid, body.into_inner().0, false).await
}

pub(super) async fn core_groups_partial_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreGroupsPartialUpdatePath>,
    body: JsonBody<types::PatchedGroupRequest>,
) -> Result<HttpResponseOk<types::Group>, AkResponseError> {
    update(rqctx, path.into_inner().group_uuid, body.into_inner().0, true).await
}

async fn update(
    rqctx: &RequestContext<ServerContext>,
    pk: uuid::Uuid,
    body: serde_json::Value,
    partial: bool,
) -> Result<HttpResponseOk<types::Group>, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    let view = ak.update_group(&caller, pk, &body, partial).await?;
    Ok(HttpResponseOk(group(&view)))
}

pub(super) async fn core_groups_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreGroupsDestroyPath>,
) -> Result<HttpResponseDeleted, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.delete_group(&caller, path.into_inner().group_uuid).await?;
    Ok(HttpResponseDeleted())
}

pub(super) async fn core_groups_add_user_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreGroupsAddUserCreatePath>,
    body: JsonBody<types::UserAccountRequest>,
) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
    membership(rqctx, path.into_inner().group_uuid, body.into_inner().0, true).await
}

pub(super) async fn core_groups_remove_user_create(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::CoreGroupsRemoveUserCreatePath>,
    body: JsonBody<types::UserAccountRequest>,
) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
    membership(rqctx, path.into_inner().group_uuid, body.into_inner().0, false).await
}

async fn membership(
    rqctx: &RequestContext<ServerContext>,
    pk: uuid::Uuid,
    body: serde_json::Value,
    add: bool,
) -> Result<HttpResponseUpdatedNoContent, AkResponseError> {
    let ak = rqctx.context().authentik();
    let caller = super::flows::caller(rqctx).await?;
    ak.group_membership(&caller, pk, &body, add).await?;
    Ok(HttpResponseUpdatedNoContent())
}

/// `GroupSerializer`: members as `PartialUserSerializer`, related groups as `RelatedGroupSerializer`, no roles
/// (tokenstack has none); each `*_obj` is `null` unless its `include_*` asks for it.
fn group(view: &GroupView) -> types::Group {
    let GroupView { group, members, parents, children, include } = view;
    types::Group {
        attributes: group.attributes.clone(),
        children: children.iter().map(|g| g.pk).collect(),
        children_obj: include.children.then(|| children.iter().map(related).collect()),
        inherited_roles_obj: include.inherited_roles.then(Vec::new),
        is_superuser: Some(group.is_superuser),
        name: group.name.clone(),
        num_pk: AkGroup::upstream_num_pk(group.pk),
        parents: group.parents.clone(),
        parents_obj: include.parents.then(|| parents.iter().map(related).collect()),
        pk: group.pk,
        roles: Vec::new(),
        roles_obj: Vec::new(),
        users: members.iter().map(|u| u.pk).collect(),
        users_obj: include.users.then(|| members.iter().map(partial_user).collect()),
    }
}

fn related(group: &AkGroup) -> types::RelatedGroup {
    types::RelatedGroup {
        attributes: group.attributes.clone(),
        group_uuid: group.pk,
        is_superuser: Some(group.is_superuser),
        name: group.name.clone(),
        pk: group.pk,
    }
}

fn partial_user(user: &AkUser) -> types::PartialUser {
    types::PartialUser {
        attributes: user.attributes.clone(),
        email: Some(user.email.clone()),
        is_active: Some(user.is_active),
        last_login: user.last_login,
        name: user.name.clone(),
        pk: user.pk,
        uid: user_uid(user.pk),
        username: user.username.clone(),
    }
}
