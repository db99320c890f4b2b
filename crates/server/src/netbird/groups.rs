//! Groups (`/api/groups`, `groups_handler.go` and `management/server/group.go`): list (every group of the caller's
//! account, or the one with a given name) and create, with the `groups` permission module of each role.
//!
//! Every account has the group `All` from its creation (`Account.AddAllGroup`: issued `api`, holding every peer).
//! Here it is a stored row like any other, made where tokenstack's accounts come into being ([`ensure_all_group`]):
//! for each account of a seed or a loaded state's NetBird users, for the bootstrap owner's account and for the
//! account of a user the admin API adds; reset restores it with the rest of the start-up state. Its id is derived
//! from the account id ([`all_group`]), so replicas that create it at once make the same row.
//!
//! tokenstack models no peers, so a group's `peers` are kept as given (upstream also stores unknown peer ids: its
//! `AddPeerToGroup` checks nothing) but the responses list none, as `toGroupResponse` drops peers the account
//! does not have.

use super::*;
use crate::model::{GROUP_ALL, NbGroup};
use crate::pagination::PageRequest;
use crate::secrets::derived_xid_like_id;
use crate::store::query::Listing;
use crate::store::resource::NbGroupColumn;

/// Operations on the `groups` permission module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupsOp {
    Read,
    Create,
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

impl NetBird<'_> {
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
    /// group gets a new xid; the `resources` are decoded as upstream decodes them and not kept (the model has
    /// none yet).
    pub async fn create_group(&self, caller: &NbUser, body: &Value) -> Result<NbGroup, NbError> {
        let mut decoder = GoStruct::new(body)?;
        let name = decoder.string("name")?;
        let peers = decoder.strings("peers")?.unwrap_or_default();
        for mut resource in decoder.structs("resources")?.unwrap_or_default() {
            resource.string("id")?;
            resource.string("type")?;
        }
        if name.is_empty() {
            return Err(NbError::EmptyGroupName);
        }
        if std::iter::once(&name).chain(&peers).any(|text| text.chars().any(char::is_control)) {
            return Err(NbError::ControlCharacters("group name and peers"));
        }
        if name.chars().count() > self.limits.text_chars {
            return Err(NbError::GroupNameTooLong(self.limits.text_chars));
        }
        if !groups_permission(caller, GroupsOp::Create) {
            return Err(NbError::PermissionDenied);
        }
        if !self.account_groups(&caller.account_id, Some(&name)).await?.is_empty() {
            return Err(NbError::GroupExists(name));
        }
        // `AddPeerToGroup` inserts each (group, peer) pair once.
        let mut seen = std::collections::HashSet::with_capacity(peers.len());
        let unique_peers: Vec<String> = peers.into_iter().filter(|peer| seen.insert(peer.clone())).collect();
        loop {
            let group = NbGroup {
                peers: unique_peers.clone(),
                ..NbGroup::new(new_xid_like_id(), caller.account_id.clone(), name.clone())
            };
            match self.store.insert(group).await {
                Ok(group) => return Ok(group),
                // An id collision: draw again.
                Err(StoreError::Duplicate { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The groups of an account, by id; only those named exactly `name` when given (SQL `=`: case-sensitive).
    async fn account_groups(&self, account_id: &str, name: Option<&str>) -> Result<Vec<NbGroup>, NbError> {
        Ok(list_account_groups(self.store, account_id, name).await?)
    }
}

async fn list_account_groups(
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
