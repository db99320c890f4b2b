//! Groups (`/api/groups`, `groups_handler.go` and `management/server/group.go`): list (every group of the caller's
//! account, or the one with a given name), create, retrieve, update and delete, with the `groups` permission module
//! of each role.
//!
//! Every account has the group `All` from its creation (`Account.AddAllGroup`: issued `api`, holding every peer).
//! Here it is a stored row like any other, made where tokenstack's accounts come into being ([`ensure_all_group`]):
//! for each account of a seed or a loaded state's NetBird users, for the bootstrap owner's account and for the
//! account of a user the admin API adds; reset restores it with the rest of the start-up state. Its id is derived
//! from the account id ([`all_group`]), so replicas that create it at once make the same row.
//!
//! A group's `peers` are kept as given (upstream also stores unknown peer ids: its `AddPeerToGroup` checks
//! nothing); the responses list only the peers the account has, as `toGroupResponse` does, and peers that join
//! with a setup key are added to `All` and the key's groups (`peers.rs`). Peers keep no group from being deleted
//! (`validateDeleteGroup` does not look at them). Its `resources` are kept and shown as given (`types.Resource`),
//! of the four types upstream's schema names.

use super::*;
use crate::model::{GROUP_ALL, NbGroup, NbResource, NbSetupKey};
use crate::pagination::PageRequest;
use crate::secrets::derived_xid_like_id;
use crate::store::query::Listing;
use crate::store::resource::{NbGroupColumn, NbSetupKeyColumn, NbUserColumn};

/// The resource types of upstream's `ResourceType` (`peer`) and `NetworkResourceType` (`host`, `subnet`, `domain`).
const RESOURCE_TYPES: [&str; 4] = ["peer", "host", "subnet", "domain"];

/// Operations on the `groups` permission module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupsOp {
    Read,
    Create,
    Update,
    Delete,
}

/// `roles/*.go` for module `groups`: owner and admin everything (`AutoAllowNew`), network_admin everything (an
/// explicit grant), auditor read (`AutoAllowNew`), user nothing; service users always read (`permissions/manager.go`).
fn groups_permission(user: &NbUser, op: GroupsOp) -> bool {
    if user.is_service_user && op == GroupsOp::Read {
        return true;
    }
    match user.role {
        NbRole::Owner | NbRole::Admin | NbRole::NetworkAdmin => true,
        NbRole::Auditor => op == GroupsOp::Read,
        NbRole::User => false,
    }
}

/// A group request's fields as the handlers decode them (`GroupRequest`): 400 for a wrong JSON type, 422 for an
/// empty name, then tokenstack's own limits.
struct GroupFields {
    name: String,
    peers: Vec<String>,
    resources: Vec<NbResource>,
}

impl NetBird<'_> {
    fn group_fields(&self, body: &Value) -> Result<GroupFields, NbError> {
        let mut decoder = GoStruct::new(body)?;
        let name = decoder.string("name")?;
        let peers = decoder.strings("peers")?.unwrap_or_default();
        let mut resources = Vec::new();
        for mut resource in decoder.structs("resources")?.unwrap_or_default() {
            resources.push(NbResource { id: resource.string("id")?, kind: resource.string("type")? });
        }
        if name.is_empty() {
            return Err(NbError::EmptyGroupName);
        }
        let texts = std::iter::once(&name).chain(&peers).chain(resources.iter().map(|r| &r.id));
        if texts.into_iter().any(|text| text.chars().any(char::is_control)) {
            return Err(NbError::ControlCharacters("group name, peers and resources"));
        }
        if name.chars().count() > self.limits.text_chars {
            return Err(NbError::GroupNameTooLong(self.limits.text_chars));
        }
        if let Some(bad) = resources.iter().find(|r| !RESOURCE_TYPES.contains(&r.kind.as_str())) {
            return Err(NbError::UnknownResourceType(bad.kind.clone()));
        }
        // `AddPeerToGroup` inserts each (group, peer) pair once.
        let mut seen = std::collections::HashSet::with_capacity(peers.len());
        let peers = peers.into_iter().filter(|peer| seen.insert(peer.clone())).collect();
        Ok(GroupFields { name, peers, resources })
    }

    /// `GET /api/groups?name=`: every group of the caller's account, `All` first and then in creation order (upstream
    /// reads them in insertion order; here ids are xids, which start with their creation time). A non-empty `name`
    /// is `GetGroupByName`: a one-element list with the group of exactly that name (of several, the one with the
    /// most peers), or 404 `group: <name> not found`.
    pub async fn list_groups(&self, caller: &NbUser, name: Option<&str>) -> Result<Vec<NbGroup>, NbError> {
        if !groups_permission(caller, GroupsOp::Read) {
            return Err(NbError::PermissionDenied);
        }
        match name.filter(|name| !name.is_empty()) {
            // A name with a control character names no stored group (no store can keep one): 404 without a lookup.
            Some(name) if name.chars().any(char::is_control) => Err(NbError::GroupNotFound(name.to_owned())),
            Some(name) => {
                let named = self.account_groups(&caller.account_id, Some(name)).await?;
                let most_peers =
                    named.into_iter().reduce(|best, g| if g.peers.len() > best.peers.len() { g } else { best });
                most_peers.map(|group| vec![group]).ok_or_else(|| NbError::GroupNotFound(name.to_owned()))
            }
            None => {
                let mut groups = self.account_groups(&caller.account_id, None).await?;
                groups.sort_by_key(|group| group.name != GROUP_ALL);
                Ok(groups)
            }
        }
    }

    /// `POST /api/groups`: the handler decodes the body (400) and refuses an empty name (422) before the manager's
    /// permission check (403) and `validateNewGroup`'s name check (409, whatever issued the other group). The
    /// group gets a new xid.
    pub async fn create_group(&self, caller: &NbUser, body: &Value) -> Result<NbGroup, NbError> {
        let fields = self.group_fields(body)?;
        if !groups_permission(caller, GroupsOp::Create) {
            return Err(NbError::PermissionDenied);
        }
        if !self.account_groups(&caller.account_id, Some(&fields.name)).await?.is_empty() {
            return Err(NbError::GroupExists(fields.name));
        }
        loop {
            let group = NbGroup {
                peers: fields.peers.clone(),
                resources: fields.resources.clone(),
                ..NbGroup::new(new_xid_like_id(), caller.account_id.clone(), fields.name.clone())
            };
            match self.store.insert(group).await {
                Ok(group) => return Ok(group),
                // An id collision: draw again.
                Err(StoreError::Duplicate { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `GET /api/groups/{groupId}`: `GetGroup`, the `read` permission (403) and then the account's group of that id
    /// (404 `group: <id> not found`).
    pub async fn get_group(&self, caller: &NbUser, id: &str) -> Result<NbGroup, NbError> {
        if !groups_permission(caller, GroupsOp::Read) {
            return Err(NbError::PermissionDenied);
        }
        self.account_group(&caller.account_id, id).await?.ok_or_else(|| NbError::GroupNotFound(id.to_owned()))
    }

    /// `PUT /api/groups/{groupId}`: the handler looks the group up (403, 404) and refuses the account's `All` (the
    /// group `GetGroupByName` finds, 422) before it
    /// decodes the body (400, 422 for an empty name); then `UpdateGroup` checks `update` (403). The name, peers
    /// and resources are replaced and `issued` kept. Upstream checks no other group's name on update
    /// (`validateNewGroup` looks for duplicates only for a group without an id), so neither does this.
    pub async fn update_group(&self, caller: &NbUser, id: &str, body: &Value) -> Result<NbGroup, NbError> {
        let existing = self.get_group(caller, id).await?;
        // `GetGroupByName("All")`: of several groups named `All`, the one with the most peers.
        let all = self.list_groups(caller, Some(GROUP_ALL)).await?;
        if all.iter().any(|group| group.id == existing.id) {
            return Err(NbError::UpdateAllGroup);
        }
        let fields = self.group_fields(body)?;
        if !groups_permission(caller, GroupsOp::Update) {
            return Err(NbError::PermissionDenied);
        }
        let group = NbGroup { name: fields.name, peers: fields.peers, resources: fields.resources, ..existing };
        match self.store.replace(group.clone()).await {
            Ok(()) => Ok(group),
            Err(StoreError::NotFound) => Err(NbError::GroupNotFound(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /api/groups/{groupId}`: `delete` permission (403), then `validateDeleteGroup`; every refusal,
    /// whatever its kind, is 400 with its text as written (`errors.Join` in `DeleteGroups`, unwrapped by the
    /// handler into `WriteErrorResponse`): an unknown group, an integration group for anyone but an admin service
    /// user, `All`, a group with resources, a group the account's traffic logging names, then the first setup key
    /// and the first user whose auto_groups name it.
    pub async fn delete_group(&self, caller: &NbUser, id: &str) -> Result<(), NbError> {
        if !groups_permission(caller, GroupsOp::Delete) {
            return Err(NbError::PermissionDenied);
        }
        let refused = |text: String| Err(NbError::DeleteGroupRefused(text));
        let Some(group) = self.account_group(&caller.account_id, id).await? else {
            return refused(format!("group: {id} not found"));
        };
        if group.issued == "integration" && !(caller.role == NbRole::Admin && caller.is_service_user) {
            return refused("only service users with admin power can delete integration group".to_owned());
        }
        if group.name == GROUP_ALL {
            return refused("deleting group ALL is not allowed".to_owned());
        }
        if let Some(resource) = group.resources.first() {
            return refused(format!("group has been linked to network resource: {}", resource.id));
        }
        let settings = self.account_settings(&caller.account_id).await?;
        if settings.extra.is_some_and(|extra| extra.network_traffic_logs_groups.contains(&group.id)) {
            return refused("group has been linked to settings: traffic event logging".to_owned());
        }
        let keys = Listing::new(None, &[], NbSetupKeyColumn::Id, PageRequest::all())
            .filter(NbSetupKeyColumn::AccountId, Some(caller.account_id.clone()));
        let keys = self.store.list::<NbSetupKey>(&keys).await?.items;
        if let Some(key) = keys.iter().find(|key| key.auto_groups.contains(&group.id)) {
            return refused(format!("group has been linked to setup key: {}", key.name));
        }
        let users = Listing::new(None, &[], NbUserColumn::Id, PageRequest::all())
            .filter(NbUserColumn::AccountId, Some(caller.account_id.clone()));
        let users = self.store.list::<NbUser>(&users).await?.items;
        if let Some(user) = users.iter().find(|user| user.auto_groups.contains(&group.id)) {
            return refused(format!("group has been linked to user: {}", user.id));
        }
        match self.store.delete::<NbGroup>(&group.id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => refused(format!("group: {id} not found")),
            Err(e) => Err(e.into()),
        }
    }

    /// The account's group of id `id`, if any (upstream's `account_id = ? AND id = ?`).
    pub(super) async fn account_group(&self, account_id: &str, id: &str) -> Result<Option<NbGroup>, NbError> {
        if id.chars().any(char::is_control) {
            return Ok(None);
        }
        match self.store.get::<NbGroup>(crate::store::Field::Id, id).await {
            Ok(group) if group.account_id == account_id => Ok(Some(group)),
            Ok(_) | Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The groups of an account, by id; only those named exactly `name` when given (SQL `=`: case-sensitive).
    async fn account_groups(&self, account_id: &str, name: Option<&str>) -> Result<Vec<NbGroup>, NbError> {
        Ok(list_account_groups(self.store, account_id, name).await?)
    }
}

pub(super) async fn list_account_groups(
    store: &dyn Store,
    account_id: &str,
    name: Option<&str>,
) -> Result<Vec<NbGroup>, StoreError> {
    let listing = Listing::new(None, &[], NbGroupColumn::Id, PageRequest::all())
        .filter(NbGroupColumn::AccountId, Some(account_id.to_owned()))
        .filter(NbGroupColumn::Name, name.map(str::to_owned));
    Ok(store.list::<NbGroup>(&listing).await?.items)
}

/// The `All` group of an account, as `Account.AddAllGroup` makes it (issued `api`, no peers: tokenstack has none),
/// under an id derived from the account id: an xid-shaped 20 characters, the same for every replica and every
/// start.
pub fn all_group(account_id: &str) -> NbGroup {
    let id = derived_xid_like_id(&format!("tokenstack NetBird group All of account {account_id}"));
    NbGroup::new(id, account_id, GROUP_ALL)
}

/// Stores the `All` group of `account_id` unless the account already has a group of that name; idempotent, and
/// safe when replicas run it at once (the id is [`all_group`]'s).
pub async fn ensure_all_group(store: &dyn Store, account_id: &str) -> Result<(), StoreError> {
    if !list_account_groups(store, account_id, Some(GROUP_ALL)).await?.is_empty() {
        return Ok(());
    }
    match store.insert(all_group(account_id)).await {
        Ok(_) | Err(StoreError::Duplicate { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
