//! Setup keys (`/api/setup-keys`, `setupkeys_handler.go`, `management/server/setupkey.go` and
//! `types/setupkey.go`): list, create, retrieve, update and delete, with the `setup_keys` permission module of
//! each role.
//!
//! A key is an upper-case UUID, shown whole only in the create response; the store keeps its base64 SHA-256 and
//! its hidden form (first 5 characters and `****`), which every other response shows. `state` and `valid` are
//! computed at the request's instant (the clock offset included).

use chrono::TimeDelta;

use super::*;
use crate::model::{GROUP_ALL, NbGroup, NbSetupKey, SetupKeyType};
use crate::pagination::PageRequest;
use crate::secrets::generate_setup_key;
use crate::store::query::Listing;
use crate::store::resource::NbSetupKeyColumn;

/// Operations on the `setup_keys` permission module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetupKeysOp {
    Read,
    Write,
}

/// `roles/*.go` for module `setup_keys`: owner and admin everything (`AutoAllowNew`), network_admin read (an
/// explicit grant), auditor read (`AutoAllowNew`), user nothing; service users always read (`permissions/manager.go`).
fn setup_keys_permission(user: &NbUser, op: SetupKeysOp) -> bool {
    if user.is_service_user && op == SetupKeysOp::Read {
        return true;
    }
    match user.role {
        NbRole::Owner | NbRole::Admin => true,
        NbRole::NetworkAdmin | NbRole::Auditor => op == SetupKeysOp::Read,
        NbRole::User => false,
    }
}

/// Go's `time.Duration(seconds) * time.Second`: nanoseconds in an `int64`, wrapping as Go's multiplication does.
fn go_duration_nanos(seconds: i64) -> i64 {
    seconds.wrapping_mul(1_000_000_000)
}

impl NetBird<'_> {
    /// `GET /api/setup-keys`: every key of the caller's account, by id (upstream: the store's order).
    pub async fn list_setup_keys(&self, caller: &NbUser) -> Result<Vec<NbSetupKey>, NbError> {
        if !setup_keys_permission(caller, SetupKeysOp::Read) {
            return Err(NbError::PermissionDenied);
        }
        let listing = Listing::new(None, &[], NbSetupKeyColumn::Id, PageRequest::all())
            .filter(NbSetupKeyColumn::AccountId, Some(caller.account_id.clone()));
        Ok(self.store.list::<NbSetupKey>(&listing).await?.items)
    }

    /// `POST /api/setup-keys`: the handler's checks in its order (400 for a body that does not decode; 422 for an
    /// empty name, an unknown type, a one-off key with a usage limit above 1, a negative `expires_in`), then
    /// `CreateSetupKey`'s `create` permission (403) and `validateSetupKeyAutoGroups` (422). Returns the plain key
    /// with the stored row; a one-off key's usage limit is 1, and `expires_in` 0 is a key that never expires.
    pub async fn create_setup_key(&self, caller: &NbUser, body: &Value) -> Result<(Secret, NbSetupKey), NbError> {
        let mut decoder = GoStruct::new(body)?;
        let allow_extra_dns_labels = decoder.boolean("allow_extra_dns_labels")?;
        let auto_groups = decoder.strings("auto_groups")?.unwrap_or_default();
        let ephemeral = decoder.boolean("ephemeral")?;
        let expires_in = decoder.int("expires_in")?;
        let name = decoder.string("name")?;
        let type_name = decoder.string("type")?;
        let usage_limit = decoder.int("usage_limit")?;
        if name.is_empty() {
            return Err(NbError::EmptySetupKeyName);
        }
        let key_type = SetupKeyType::parse(&type_name).ok_or(NbError::UnknownSetupKeyType(type_name))?;
        if key_type == SetupKeyType::OneOff && usage_limit > 1 {
            return Err(NbError::OneOffUsageLimit(usage_limit));
        }
        let valid_for = go_duration_nanos(expires_in);
        if valid_for < 0 {
            return Err(NbError::ExpiresInPast);
        }
        if std::iter::once(&name).chain(&auto_groups).any(|text| text.chars().any(char::is_control)) {
            return Err(NbError::ControlCharacters("setup key name and groups"));
        }
        if name.chars().count() > self.limits.text_chars {
            return Err(NbError::SetupKeyNameTooLong(self.limits.text_chars));
        }
        if !setup_keys_permission(caller, SetupKeysOp::Write) {
            return Err(NbError::PermissionDenied);
        }
        self.validate_auto_groups(&caller.account_id, &auto_groups).await?;
        let expires_at = (valid_for != 0).then(|| self.now + TimeDelta::nanoseconds(valid_for));
        loop {
            let (plain, hashed, hidden) = generate_setup_key();
            let key = NbSetupKey {
                id: new_xid_like_id(),
                account_id: caller.account_id.clone(),
                key_hash: hashed,
                key_secret: hidden,
                name: name.clone(),
                key_type,
                created_at: self.now,
                expires_at,
                updated_at: self.now,
                revoked: false,
                used_times: 0,
                last_used: None,
                auto_groups: auto_groups.clone(),
                usage_limit: if key_type == SetupKeyType::OneOff { 1 } else { usage_limit },
                ephemeral,
                allow_extra_dns_labels,
            };
            match self.store.insert(key).await {
                Ok(key) => return Ok((plain, key)),
                // An id or key collision: draw both again.
                Err(StoreError::Duplicate { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `GET /api/setup-keys/{keyId}`: `read` (403), then the account's key of that id (404).
    pub async fn get_setup_key(&self, caller: &NbUser, id: &str) -> Result<NbSetupKey, NbError> {
        if !setup_keys_permission(caller, SetupKeysOp::Read) {
            return Err(NbError::PermissionDenied);
        }
        self.account_setup_key(&caller.account_id, id).await
    }

    /// `PUT /api/setup-keys/{keyId}`: the handler decodes the body (400) and refuses a null or absent
    /// `auto_groups` (422); `SaveSetupKey` checks `update` (403), the groups (422), the key (404) and refuses to
    /// un-revoke (422). Only `auto_groups` and `revoked` change, and `updated_at`.
    pub async fn update_setup_key(&self, caller: &NbUser, id: &str, body: &Value) -> Result<NbSetupKey, NbError> {
        let mut decoder = GoStruct::new(body)?;
        let auto_groups = decoder.strings("auto_groups")?.ok_or(NbError::SetupKeyAutoGroupsAbsent)?;
        let revoked = decoder.boolean("revoked")?;
        if auto_groups.iter().any(|group| group.chars().any(char::is_control)) {
            return Err(NbError::ControlCharacters("groups"));
        }
        if !setup_keys_permission(caller, SetupKeysOp::Write) {
            return Err(NbError::PermissionDenied);
        }
        self.validate_auto_groups(&caller.account_id, &auto_groups).await?;
        let old = self.account_setup_key(&caller.account_id, id).await?;
        if old.revoked && !revoked {
            return Err(NbError::UnRevoke);
        }
        let key = NbSetupKey { auto_groups, revoked, updated_at: self.now, ..old };
        match self.store.replace(key.clone()).await {
            Ok(()) => Ok(key),
            Err(StoreError::NotFound) => Err(NbError::SetupKeyNotFound(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /api/setup-keys/{keyId}`: `delete` (403), then the account's key (404).
    pub async fn delete_setup_key(&self, caller: &NbUser, id: &str) -> Result<(), NbError> {
        if !setup_keys_permission(caller, SetupKeysOp::Write) {
            return Err(NbError::PermissionDenied);
        }
        let key = self.account_setup_key(&caller.account_id, id).await?;
        match self.store.delete::<NbSetupKey>(&key.id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(NbError::SetupKeyNotFound(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// The account's key of id `id` (`account_id = ? AND id = ?`), or 404 `setup key: <id> not found`.
    async fn account_setup_key(&self, account_id: &str, id: &str) -> Result<NbSetupKey, NbError> {
        let not_found = || NbError::SetupKeyNotFound(id.to_owned());
        if id.chars().any(char::is_control) {
            return Err(not_found());
        }
        match self.store.get::<NbSetupKey>(crate::store::Field::Id, id).await {
            Ok(key) if key.account_id == account_id => Ok(key),
            Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// `validateSetupKeyAutoGroups`: each id must name a group of the account (`group not found: <id>`), and not
    /// `All` (`can't add 'All' group to the setup key`), both inside `invalid auto groups: …` (422).
    async fn validate_auto_groups(&self, account_id: &str, ids: &[String]) -> Result<(), NbError> {
        for id in ids {
            let group: Option<NbGroup> = self.account_group(account_id, id).await?;
            match group {
                None => return Err(NbError::InvalidAutoGroups(format!("group not found: {id}"))),
                Some(group) if group.name == GROUP_ALL => {
                    return Err(NbError::InvalidAutoGroups("can't add 'All' group to the setup key".to_owned()));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_wrap_as_go_multiplies() {
        assert_eq!(go_duration_nanos(86_400), 86_400_000_000_000);
        assert_eq!(go_duration_nanos(-1), -1_000_000_000);
        // 2^63 / 10^9 seconds and beyond wrap around, as `time.Duration(n) * time.Second` does.
        assert!(go_duration_nanos(9_300_000_000) < 0);
        assert_eq!(go_duration_nanos(i64::MAX), i64::MAX.wrapping_mul(1_000_000_000));
    }
}
