//! Users (`/api/users`, `users_handler.go` and `management/server/user.go`): list, create (service users only:
//! tokenstack has no identity provider), update and delete, with the `users` permission module of each role.

use uuid::Uuid;

use super::*;
use crate::model::NbUser;
use crate::pagination::PageRequest;
use crate::store::Field;
use crate::store::query::Listing;
use crate::store::resource::NbUserColumn;

/// `validateUserUpdate`'s reason for a target in another account (422, where its other reasons are 403).
pub(super) const MSG_ACCOUNT_MISMATCH: &str = "user account id mismatch";

/// Operations on the `users` permission module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UsersOp {
    Read,
    /// Create and update (`SaveUser` checks `create`).
    Write,
    Delete,
}

/// `roles/*.go` for module `users`: owner and admin everything, network_admin and auditor read, user nothing
/// (it sees itself); service users always read.
fn users_permission(user: &NbUser, op: UsersOp) -> bool {
    match user.role {
        NbRole::Owner | NbRole::Admin => true,
        NbRole::NetworkAdmin | NbRole::Auditor => op == UsersOp::Read,
        NbRole::User => user.is_service_user && op == UsersOp::Read,
    }
}

impl NetBird<'_> {
    /// `GET /api/users?service_user=`: the caller's account, or only the caller without `read`. A bad
    /// `service_user` is 422 once there is a row to filter (upstream parses it inside its loop).
    pub async fn list_users(&self, caller: &NbUser, service_user: Option<&str>) -> Result<Vec<NbUser>, NbError> {
        let users = if users_permission(caller, UsersOp::Read) {
            let account = Listing::new(None, &[], NbUserColumn::Id, PageRequest::all())
                .filter(NbUserColumn::AccountId, Some(caller.account_id.clone()));
            self.store.list::<NbUser>(&account).await?.items
        } else {
            vec![self.store.get::<NbUser>(Field::Id, &caller.id).await?]
        };
        let filter = match service_user.filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => match parse_go_bool(value) {
                Some(wanted) => Some(wanted),
                None if users.is_empty() => None,
                None => return Err(NbError::BadServiceUserFilter),
            },
        };
        Ok(users.into_iter().filter(|u| filter.is_none_or(|wanted| u.is_service_user == wanted)).collect())
    }

    /// `POST /api/users`: service users are created here; inviting a regular user needs an identity provider
    /// manager, which tokenstack does not have (412, as upstream without one).
    pub async fn create_user(&self, caller: &NbUser, body: &Value) -> Result<NbUser, NbError> {
        let mut decoder = GoStruct::new(body)?;
        let auto_groups = decoder.strings("auto_groups")?.unwrap_or_default();
        let email = decoder.string("email")?;
        let is_service_user = decoder.boolean("is_service_user")?;
        let name = decoder.string("name")?;
        let role_name = decoder.string("role")?;
        let role = NbRole::parse(&role_name).ok_or(NbError::UnknownRole(role_name))?;
        if !is_service_user {
            return Err(NbError::NoIdpManager);
        }
        if !users_permission(caller, UsersOp::Write) {
            return Err(NbError::PermissionDenied);
        }
        if role == NbRole::Owner {
            return Err(NbError::OwnerServiceUser);
        }
        if has_control([name.as_str(), email.as_str()].into_iter().chain(auto_groups.iter().map(String::as_str))) {
            return Err(NbError::ControlCharacters("user name, email and groups"));
        }
        let user = NbUser {
            is_service_user: true,
            name,
            email,
            auto_groups,
            ..NbUser::new(Uuid::new_v4().to_string(), caller.account_id.clone(), role)
        };
        self.store.insert(user.clone()).await?;
        Ok(user)
    }

    /// `PUT /api/users/{userId}`: role, blocked and auto_groups, with `validateUserUpdate`'s rules. An owner
    /// who makes another user owner becomes admin.
    pub async fn update_user(&self, caller: &NbUser, id: &str, body: &Value) -> Result<NbUser, NbError> {
        let target = self.existing_user(id).await?;
        let mut decoder = GoStruct::new(body)?;
        let auto_groups = decoder.strings("auto_groups")?.ok_or(NbError::AutoGroupsAbsent)?;
        let is_blocked = decoder.boolean("is_blocked")?;
        let role = NbRole::parse(&decoder.string("role")?).ok_or(NbError::InvalidRole)?;
        if has_control(auto_groups.iter().map(String::as_str)) {
            return Err(NbError::ControlCharacters("groups"));
        }
        if !users_permission(caller, UsersOp::Write) {
            return Err(NbError::PermissionDenied);
        }
        let refuse = |reason| Err(NbError::UpdateRefused { user: id.to_owned(), reason });
        if target.account_id != caller.account_id {
            return refuse(MSG_ACCOUNT_MISMATCH);
        }
        let myself = target.id == caller.id;
        if myself && is_blocked != target.blocked {
            return refuse("admins can't block or unblock themselves");
        }
        if myself && role != target.role {
            return refuse("admins can't change their role");
        }
        if target.role == NbRole::Owner && role != NbRole::Owner && caller.role != NbRole::Owner {
            return refuse("only owners can remove owner role from their user");
        }
        if is_blocked && target.role == NbRole::Owner {
            return refuse("unable to block owner user");
        }
        if role == NbRole::Owner && target.role != NbRole::Owner && caller.role != NbRole::Owner {
            return refuse("only owners can add owner role to other users");
        }
        if target.is_service_user && role == NbRole::Owner {
            return refuse("can't update a service user with owner role");
        }
        let transfers_ownership = role == NbRole::Owner && target.role != NbRole::Owner && !myself;
        let updated = NbUser { role, blocked: is_blocked, auto_groups, ..target };
        self.store.replace(updated.clone()).await?;
        if transfers_ownership {
            self.store.replace(NbUser { role: NbRole::Admin, ..caller.clone() }).await?;
        }
        Ok(updated)
    }

    /// `DELETE /api/users/{userId}`: the user's PATs go with them.
    pub async fn delete_user(&self, caller: &NbUser, id: &str) -> Result<(), NbError> {
        if id == caller.id {
            return Err(NbError::SelfDeletion);
        }
        if !users_permission(caller, UsersOp::Delete) {
            return Err(NbError::PermissionDenied);
        }
        let target = self.existing_user(id).await?;
        if target.account_id != caller.account_id {
            return Err(NbError::UserNotFound(id.to_owned()));
        }
        if target.role == NbRole::Owner {
            return Err(NbError::DeleteOwner);
        }
        match self.store.delete::<NbUser>(id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(NbError::UserNotFound(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /api/users/current` (`GetCurrentUserInfo`): the caller with its role's permissions; a service user is
    /// refused (403 `permission denied`). `is_restricted` is a user of role `user` under the account setting
    /// `regular_users_view_blocked`, which new accounts have on.
    pub async fn current_user(&self, caller: &NbUser) -> Result<(NbUser, bool), NbError> {
        if caller.is_service_user {
            return Err(NbError::PermissionDenied);
        }
        let restricted = caller.role == NbRole::User
            && self.account_settings(&caller.account_id).await?.regular_users_view_blocked();
        Ok((caller.clone(), restricted))
    }

    async fn existing_user(&self, id: &str) -> Result<NbUser, NbError> {
        match self.store.get::<NbUser>(Field::Id, super::pats::ids_ok(id)?).await {
            Ok(user) => Ok(user),
            Err(StoreError::NotFound) => Err(NbError::UserNotFound(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }
}

fn has_control<'a>(mut values: impl Iterator<Item = &'a str>) -> bool {
    values.any(|v| v.chars().any(char::is_control))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
