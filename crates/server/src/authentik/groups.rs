//! Groups (`/core/groups/`, `authentik/core/api/groups.py GroupViewSet`): list with `GroupFilter`, search and
//! ordering, retrieve, create, update, partial_update, destroy, `add_user/` and `remove_user/`, with
//! `GroupSerializer`'s validation. Superusers only (model permissions; docs/divergences.md).
//!
//! A group is a row; membership lives in its users' rows, each of which embeds a copy of its groups
//! (`AkUser::groups`). Every write here refreshes the copies it changes, so a user's row always holds its groups
//! as they are stored: its effective superuser flag, its `groups` claim and its `groups_obj` read nothing else.

use super::serializer::{Body, python_type};
use super::validate::*;
use super::*;
use crate::model::AkGroup;

const MSG_GROUP_NOT_FOUND: &str = "No Group matches the given query.";
/// Django's `unique=True` message of `Group.name` (`%(model_name)s with this %(field_label)s already exists.`).
const MSG_NAME_TAKEN: &str = "Group with this name already exists.";
/// DRF's bare `Http404`.
const MSG_NOT_FOUND: &str = "Not found.";

/// Raw `GET /core/groups/` (and retrieve) query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupListParams {
    pub attributes: Option<String>,
    pub include_users: Option<String>,
    pub include_children: Option<String>,
    pub include_parents: Option<String>,
    pub include_inherited_roles: Option<String>,
    pub is_superuser: Option<String>,
    pub members_by_pk: Option<String>,
    pub members_by_username: Option<String>,
    pub name: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// Which of `GroupSerializer`'s optional parts a request asks for (`include_*`, read as
/// `str(value).lower() == "true"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include {
    pub users: bool,
    pub children: bool,
    pub parents: bool,
    pub inherited_roles: bool,
}

impl Include {
    pub fn parse(
        users: Option<&str>,
        children: Option<&str>,
        parents: Option<&str>,
        inherited_roles: Option<&str>,
    ) -> Self {
        let flag = |value: Option<&str>, default: bool| value.map_or(default, |v| v.eq_ignore_ascii_case("true"));
        Include {
            users: flag(users, true),
            children: flag(children, false),
            parents: flag(parents, false),
            inherited_roles: flag(inherited_roles, false),
        }
    }

    /// What a write's response shows (the serializer without a request's query).
    const WRITE: Include = Include { users: true, children: false, parents: false, inherited_roles: false };
}

/// A group as `GroupSerializer` shows it: the row, its members, parents and children.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: AkGroup,
    pub members: Vec<AkUser>,
    pub parents: Vec<AkGroup>,
    pub children: Vec<AkGroup>,
    pub include: Include,
}

/// The writable `GroupSerializer` fields of a body; `None` means absent.
struct GroupFields {
    name: Option<String>,
    is_superuser: Option<bool>,
    parents: Option<Vec<Uuid>>,
    users: Option<Vec<i64>>,
    attributes: Option<serde_json::Map<String, Value>>,
}

impl Authentik<'_> {
    /// `core_groups_list`: exact `name`, `is_superuser`, `members_by_pk`, `members_by_username` and `attributes`,
    /// search over name and superuser flag, ordering by name (the default), pk or superuser flag.
    pub async fn list_groups(&self, caller: &AkUser, params: GroupListParams) -> Result<Page<GroupView>, AkError> {
        require_group_admin(caller)?;
        let mut errors = BTreeMap::new();
        let name = text_filter(&mut errors, "name", params.name);
        let search = search_filter(&mut errors, params.search);
        let is_superuser = non_empty(params.is_superuser).and_then(|v| parse_null_boolean(&v));
        let users = self.store.all::<AkUser>().await?;
        let mut members_of: Option<Vec<Uuid>> = None;
        if let Some(value) = non_empty(params.members_by_pk) {
            match value.trim().parse::<i64>().ok().and_then(|pk| users.iter().find(|u| u.pk == pk)) {
                Some(user) => members_of = Some(user.groups.iter().map(|g| g.pk).collect()),
                None if value.trim().parse::<i64>().is_ok() => add_error(&mut errors, "members_by_pk", choice(&value)),
                None => add_error(&mut errors, "members_by_pk", format!("“{value}” is not a valid value.")),
            }
        }
        if let Some(value) = non_empty(params.members_by_username) {
            match users.iter().find(|u| u.username == value) {
                Some(user) => {
                    let pks: Vec<Uuid> = user.groups.iter().map(|g| g.pk).collect();
                    members_of = Some(match members_of {
                        Some(previous) => previous.into_iter().filter(|pk| pks.contains(pk)).collect(),
                        None => pks,
                    });
                }
                None => add_error(&mut errors, "members_by_username", choice(&value)),
            }
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let attributes = match non_empty(params.attributes) {
            Some(text) => Some(attributes_filter(&text)?),
            None => None,
        };
        let page = page_request(params.page.as_deref(), params.page_size.as_deref())?;
        let terms = crate::store::query::search_terms(search.as_deref());
        let all = self.store.all::<AkGroup>().await?;
        let mut groups: Vec<AkGroup> = all
            .iter()
            .filter(|g| {
                name.as_ref().is_none_or(|v| &g.name == v)
                    && is_superuser.is_none_or(|v| g.is_superuser == v)
                    && members_of.as_ref().is_none_or(|pks| pks.contains(&g.pk))
                    && attributes.as_ref().is_none_or(|wanted| attributes_match(&g.attributes, wanted))
                    && terms.iter().all(|term| {
                        g.name.to_lowercase().contains(term.as_str())
                            || (if g.is_superuser { "true" } else { "false" }).contains(term.as_str())
                    })
            })
            .cloned()
            .collect();
        sort_groups(&mut groups, params.ordering.as_deref());
        let page_slice = page.slice(groups);
        let include = Include::parse(
            params.include_users.as_deref(),
            params.include_children.as_deref(),
            params.include_parents.as_deref(),
            params.include_inherited_roles.as_deref(),
        );
        let views = crate::pagination::Slice {
            total: page_slice.total,
            items: page_slice.items.into_iter().map(|group| view(group, &users, &all, include)).collect(),
        };
        Page::build(page, views).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `core_groups_retrieve`.
    pub async fn get_group(&self, caller: &AkUser, pk: Uuid, include: Include) -> Result<GroupView, AkError> {
        require_group_admin(caller)?;
        let group = self.group(pk).await?;
        self.view_of(group, include).await
    }

    /// `core_groups_create`: `name` required and unique; `users` default to none.
    pub async fn create_group(&self, caller: &AkUser, body: &Value) -> Result<GroupView, AkError> {
        require_group_admin(caller)?;
        let fields = self.group_fields(body, true, None).await?;
        let mut group = AkGroup::new(Uuid::new_v4(), fields.name.clone().unwrap_or_default());
        let users = apply(&mut group, fields);
        let group = self.store.insert(group).await.map_err(taken)?;
        self.set_members(&group, users.unwrap_or_default()).await?;
        self.view_of(group, Include::WRITE).await
    }

    /// `core_groups_update` (`partial = false`: `name` required, a missing `users` clears the members) and
    /// `core_groups_partial_update`.
    pub async fn update_group(
        &self,
        caller: &AkUser,
        pk: Uuid,
        body: &Value,
        partial: bool,
    ) -> Result<GroupView, AkError> {
        require_group_admin(caller)?;
        let mut group = self.group(pk).await?;
        let fields = self.group_fields(body, !partial, Some(&group)).await?;
        let users = apply(&mut group, fields);
        match self.store.replace(group.clone()).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(AkError::not_found(MSG_GROUP_NOT_FOUND)),
            Err(e) => return Err(taken(e)),
        }
        match users {
            Some(users) => self.set_members(&group, users).await?,
            None => self.refresh_copies(&group).await?,
        }
        self.view_of(group, Include::WRITE).await
    }

    /// `core_groups_destroy`: its members leave it, and its children lose it as a parent.
    pub async fn delete_group(&self, caller: &AkUser, pk: Uuid) -> Result<(), AkError> {
        require_group_admin(caller)?;
        let group = self.group(pk).await?;
        for mut user in self.members(group.pk).await? {
            user.groups.retain(|g| g.pk != group.pk);
            self.replace_user(user).await?;
        }
        for mut child in self.store.all::<AkGroup>().await?.into_iter().filter(|g| g.parents.contains(&pk)) {
            child.parents.retain(|p| *p != pk);
            self.store.replace(child.clone()).await?;
            self.refresh_copies(&child).await?;
        }
        match self.store.delete::<AkGroup>(pk).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_groups_add_user_create` (`add = true`) and `core_groups_remove_user_create`: the group must exist
    /// (`No Group matches the given query.`), the body's `pk` must be an integer (400) naming a user (404
    /// `Not found.`); adding a member twice or removing a non-member changes nothing.
    pub async fn group_membership(&self, caller: &AkUser, pk: Uuid, body: &Value, add: bool) -> Result<(), AkError> {
        require_group_admin(caller)?;
        let group = self.group(pk).await?;
        let mut parsed = Body::new(body)?;
        let user_pk = parsed.integer("pk");
        let mut errors = parsed.finish();
        if user_pk.is_none() && !errors.contains_key("pk") {
            add_error(&mut errors, "pk", MSG_REQUIRED);
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let mut user = match self.store.get::<AkUser>(Field::Pk, user_pk.unwrap_or_default()).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Err(AkError::not_found(MSG_NOT_FOUND)),
            Err(e) => return Err(e.into()),
        };
        let member = user.groups.iter().any(|g| g.pk == group.pk);
        match (add, member) {
            (true, false) => user.groups.push(group),
            (false, true) => user.groups.retain(|g| g.pk != group.pk),
            _ => return Ok(()),
        }
        self.replace_user(user).await
    }

    /// The stored groups `pks` names, each once, or the field error of the first that does not exist.
    pub(super) async fn groups_named(&self, pks: &[Uuid]) -> Result<Result<Vec<AkGroup>, String>, AkError> {
        let mut groups: Vec<AkGroup> = Vec::with_capacity(pks.len());
        for pk in pks {
            match self.store.get::<AkGroup>(Field::Pk, *pk).await {
                Ok(group) if !groups.iter().any(|g| g.pk == group.pk) => groups.push(group),
                Ok(_) => {}
                Err(StoreError::NotFound) => return Ok(Err(format!("Invalid pk \"{pk}\" - object does not exist."))),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Ok(groups))
    }

    /// `PrimaryKeyRelatedField(many=True)` over users: each item an integer pk (or its string) naming a user, in
    /// order; the first item that is not is the field's one error, as DRF stops there.
    async fn user_pks(&self, items: &[Value]) -> Result<Result<Vec<i64>, String>, AkError> {
        let mut pks = Vec::with_capacity(items.len());
        for item in items {
            let pk = match item {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            let Some(pk) = pk else {
                return Ok(Err(match item {
                    Value::Number(_) => format!("Invalid pk \"{item}\" - object does not exist."),
                    other => format!("Incorrect type. Expected pk value, received {}.", python_type(other)),
                }));
            };
            if !self.exists(self.store.get::<AkUser>(Field::Pk, pk).await)? {
                return Ok(Err(format!("Invalid pk \"{pk}\" - object does not exist.")));
            }
            pks.push(pk);
        }
        Ok(Ok(pks))
    }

    async fn group(&self, pk: Uuid) -> Result<AkGroup, AkError> {
        match self.store.get::<AkGroup>(Field::Pk, pk).await {
            Ok(group) => Ok(group),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_GROUP_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    async fn view_of(&self, group: AkGroup, include: Include) -> Result<GroupView, AkError> {
        let users = self.store.all::<AkUser>().await?;
        let all = self.store.all::<AkGroup>().await?;
        Ok(view(group, &users, &all, include))
    }

    /// The users whose rows hold a copy of group `pk`.
    async fn members(&self, pk: Uuid) -> Result<Vec<AkUser>, AkError> {
        let users = self.store.all::<AkUser>().await?;
        Ok(users.into_iter().filter(|u| u.groups.iter().any(|g| g.pk == pk)).collect())
    }

    /// Makes `users` the group's members exactly (`users.set()`), refreshing the copies of those who stay.
    async fn set_members(&self, group: &AkGroup, users: Vec<i64>) -> Result<(), AkError> {
        for mut user in self.store.all::<AkUser>().await? {
            let position = user.groups.iter().position(|g| g.pk == group.pk);
            match (position, users.contains(&user.pk)) {
                (None, false) => continue,
                (None, true) => user.groups.push(group.clone()),
                (Some(i), true) => user.groups[i] = group.clone(),
                (Some(i), false) => {
                    user.groups.remove(i);
                }
            }
            self.replace_user(user).await?;
        }
        Ok(())
    }

    /// Refreshes the members' copies of `group` after it changed.
    async fn refresh_copies(&self, group: &AkGroup) -> Result<(), AkError> {
        for mut user in self.members(group.pk).await? {
            for copy in user.groups.iter_mut().filter(|g| g.pk == group.pk) {
                *copy = group.clone();
            }
            self.replace_user(user).await?;
        }
        Ok(())
    }

    async fn replace_user(&self, user: AkUser) -> Result<(), AkError> {
        match self.store.replace(user).await {
            // Deleted meanwhile: it is nobody's member any more.
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `GroupSerializer` field parsing and validation, every field's errors at once.
    async fn group_fields(
        &self,
        body: &Value,
        required: bool,
        current: Option<&AkGroup>,
    ) -> Result<GroupFields, AkError> {
        let mut parsed = Body::new(body)?;
        let name = parsed.string("name", false);
        let is_superuser = parsed.boolean("is_superuser");
        let parents = parsed.uuid_list("parents");
        let users = parsed.list("users").map(|items| items.to_vec());
        let attributes = parsed.dict("attributes");
        for role in parsed.uuid_list("roles").into_iter().flatten() {
            parsed.reject("roles", format!("Invalid pk \"{role}\" - object does not exist."));
        }
        if let Some(pks) = &parents
            && let Err(message) = self.groups_named(pks).await?
        {
            parsed.reject("parents", message);
        }
        let users = match users {
            Some(items) => match self.user_pks(&items).await? {
                Ok(pks) => Some(pks),
                Err(message) => {
                    parsed.reject("users", message);
                    None
                }
            },
            None => None,
        };
        let mut errors = parsed.finish();
        let renamed = name.as_deref().filter(|n| !n.is_empty() && current.is_none_or(|c| c.name != *n));
        let taken = match renamed {
            Some(name) => self.exists(self.store.get::<AkGroup>(Field::Name, name).await)?,
            None => false,
        };
        match name.as_deref() {
            None if required && !errors.contains_key("name") => add_error(&mut errors, "name", MSG_REQUIRED),
            Some("") => add_error(&mut errors, "name", MSG_BLANK),
            _ if taken => add_error(&mut errors, "name", MSG_NAME_TAKEN),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        // `users` and `parents` default to empty lists: a create or PUT without them sets none.
        let users = if required { Some(users.unwrap_or_default()) } else { users };
        let parents = if required { Some(parents.unwrap_or_default()) } else { parents };
        Ok(GroupFields { name, is_superuser, parents, users, attributes })
    }
}

/// Sets the fields a body gave; returns the members it names, if it names them.
fn apply(group: &mut AkGroup, fields: GroupFields) -> Option<Vec<i64>> {
    let GroupFields { name, is_superuser, parents, users, attributes } = fields;
    if let Some(name) = name {
        group.name = name;
    }
    if let Some(is_superuser) = is_superuser {
        group.is_superuser = is_superuser;
    }
    if let Some(parents) = parents {
        group.parents = parents;
    }
    if let Some(attributes) = attributes {
        group.attributes = attributes;
    }
    group.num_pk = AkGroup::upstream_num_pk(group.pk);
    users
}

/// The view of `group` among every user and group.
fn view(group: AkGroup, users: &[AkUser], all: &[AkGroup], include: Include) -> GroupView {
    let mut members: Vec<AkUser> =
        users.iter().filter(|u| u.groups.iter().any(|g| g.pk == group.pk)).cloned().collect();
    members.sort_by_key(|u| u.pk);
    let parents = all.iter().filter(|g| group.parents.contains(&g.pk)).cloned().collect();
    let children = all.iter().filter(|g| g.parents.contains(&group.pk)).cloned().collect();
    GroupView { group, members, parents, children, include }
}

/// `GroupViewSet.ordering` (`name`) unless `ordering` names a known field; ties by pk.
fn sort_groups(groups: &mut [AkGroup], ordering: Option<&str>) {
    let (field, descending) = ordering
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .map(|term| term.strip_prefix('-').map_or((term, false), |f| (f, true)))
        .find(|(field, _)| matches!(*field, "name" | "pk" | "group_uuid" | "is_superuser"))
        .unwrap_or(("name", false));
    groups.sort_by(|a, b| {
        let order = match field {
            "pk" | "group_uuid" => a.pk.to_string().cmp(&b.pk.to_string()),
            "is_superuser" => a.is_superuser.cmp(&b.is_superuser).then_with(|| a.name.cmp(&b.name)),
            _ => a.name.cmp(&b.name),
        };
        if descending { order.reverse() } else { order }
    });
}

/// `GroupFilter.filter_attributes`: a JSON object whose keys (`a__b` reaching into nested objects) must equal.
/// Upstream's 400 body for a bad value is a bare list; here it is under `non_field_errors` (docs/divergences.md).
fn attributes_filter(text: &str) -> Result<serde_json::Map<String, Value>, AkError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AkError::field("non_field_errors", "filter: value must be key:value mapping")),
        Err(_) => Err(AkError::field("non_field_errors", "filter: failed to parse JSON")),
    }
}

fn attributes_match(attributes: &serde_json::Map<String, Value>, wanted: &serde_json::Map<String, Value>) -> bool {
    wanted.iter().all(|(key, value)| {
        let mut at = Some(attributes);
        let parts: Vec<&str> = key.split("__").collect();
        let (last, path) = parts.split_last().unwrap_or((&"", &[]));
        for part in path {
            at = at.and_then(|map| map.get(*part)).and_then(Value::as_object);
        }
        at.and_then(|map| map.get(*last)) == Some(value)
    })
}

/// django-filter's `ModelMultipleChoiceFilter` message for a value naming no row.
fn choice(value: &str) -> String {
    format!("Select a valid choice. {} is not one of the available choices.", value.trim())
}

fn taken(error: StoreError) -> AkError {
    match error {
        StoreError::Duplicate { field: Field::Name } => AkError::field("name", MSG_NAME_TAKEN),
        e => e.into(),
    }
}

/// authentik's `view_group` and friends; only superusers hold them by default.
fn require_group_admin(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}
