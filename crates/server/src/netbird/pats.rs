//! NetBird personal access tokens (`/api/users/{userId}/tokens`): the role matrix and the
//! self-or-service-user rule over list, retrieve, create and delete.

use super::*;
use crate::model::NbUser;
use crate::store::Field;

impl NetBird<'_> {
    /// `GET /api/users/{userId}/tokens`. Upstream's handler checks the *caller's* id for
    /// emptiness here (not the path's); that is kept.
    pub async fn list_pats(&self, caller: &NbUser, user_id: &str) -> Result<Vec<Pat>, NbError> {
        if caller.id.is_empty() {
            return Err(NbError::InvalidUserId);
        }
        self.authorize(caller, user_id, PatOp::Read).await?;
        Ok(self.store.list_pats(user_id).await?)
    }

    /// `GET /api/users/{userId}/tokens/{tokenId}`.
    pub async fn get_pat(&self, caller: &NbUser, user_id: &str, token_id: &str) -> Result<Pat, NbError> {
        check_ids(user_id, token_id)?;
        self.authorize(caller, user_id, PatOp::Read).await?;
        match self.store.pat(user_id, token_id).await {
            Ok(pat) => Ok(pat),
            Err(StoreError::NotFound) => Err(NbError::PatNotFound(token_id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /api/users/{userId}/tokens`: the body is decoded and validated before any permission check.
    /// Returns the plain token (shown once) and the stored PAT.
    pub async fn create_pat(&self, caller: &NbUser, user_id: &str, body: &Value) -> Result<(Secret, Pat), NbError> {
        let mut decoder = GoStruct::new(body)?;
        let name = decoder.string("name")?;
        let expires_in = decoder.int("expires_in")?;
        let name = name.as_str();
        if user_id.is_empty() {
            return Err(NbError::InvalidUserId);
        }
        if name.is_empty() {
            return Err(NbError::EmptyName);
        }
        if name.chars().any(char::is_control) {
            return Err(NbError::ControlCharacters("token name"));
        }
        if name.chars().count() > self.limits.text_chars {
            return Err(NbError::NameTooLong(self.limits.text_chars));
        }
        if !(PAT_MIN_DAYS..=PAT_MAX_DAYS).contains(&expires_in) {
            return Err(NbError::BadExpiration);
        }
        self.authorize(caller, user_id, PatOp::Create).await?;
        let limit = self.limits.pats_per_user;
        if limit > 0 && self.store.list_pats(user_id).await?.len() as u64 >= limit {
            return Err(NbError::PatQuota(limit));
        }
        let days = Days::new(expires_in.unsigned_abs());
        let expiration_date =
            self.now.checked_add_days(days).ok_or_else(|| StoreError::backend("expiration date out of range"))?;
        loop {
            let (plain, hashed_token) = generate_pat();
            let pat = Pat {
                id: new_xid_like_id(),
                user_id: user_id.to_owned(),
                name: name.to_owned(),
                hashed_token,
                expiration_date,
                created_by: caller.id.clone(),
                created_at: self.now,
                last_used: None,
            };
            match self.store.insert_pat(pat.clone()).await {
                Ok(()) => return Ok((Secret::new(plain), pat)),
                // An id or secret collision: draw again.
                Err(StoreError::Duplicate { .. }) => continue,
                Err(StoreError::NotFound) => return Err(NbError::UserNotFound(user_id.to_owned())),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// `DELETE /api/users/{userId}/tokens/{tokenId}`.
    pub async fn delete_pat(&self, caller: &NbUser, user_id: &str, token_id: &str) -> Result<(), NbError> {
        check_ids(user_id, token_id)?;
        self.authorize(caller, user_id, PatOp::Delete).await?;
        match self.store.delete_pat(user_id, token_id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(NbError::PatNotFound(token_id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// The manager's checks in upstream order: the caller's role permission (re-read, so a
    /// block after authentication counts), the target's existence and account, then the
    /// self-or-service-user rule.
    async fn authorize(&self, caller: &NbUser, target_id: &str, op: PatOp) -> Result<NbUser, NbError> {
        let initiator = match self.store.get::<NbUser>(Field::Id, &caller.id).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Err(NbError::UserNotFound(caller.id.clone())),
            Err(e) => return Err(e.into()),
        };
        if initiator.blocked {
            return Err(NbError::UserBlocked);
        }
        if !pats_permission(&initiator, op) {
            return Err(NbError::PermissionDenied);
        }
        let target = match self.store.get::<NbUser>(Field::Id, ids_ok(target_id)?).await {
            Ok(user) => user,
            Err(StoreError::NotFound) => return Err(NbError::UserNotFound(target_id.to_owned())),
            Err(e) => return Err(e.into()),
        };
        if target.account_id != initiator.account_id {
            return Err(NbError::PermissionDenied);
        }
        if initiator.id != target.id && !(initiator.has_admin_power() && target.is_service_user) {
            return Err(NbError::AdminRequired);
        }
        Ok(target)
    }
}

/// A user id with a control character names no stored user: 404 without a lookup.
pub(super) fn ids_ok(id: &str) -> Result<&str, NbError> {
    if id.chars().any(char::is_control) { Err(NbError::UserNotFound(id.to_owned())) } else { Ok(id) }
}

fn check_ids(user_id: &str, token_id: &str) -> Result<(), NbError> {
    if user_id.is_empty() {
        return Err(NbError::InvalidUserId);
    }
    if token_id.is_empty() {
        return Err(NbError::InvalidTokenId);
    }
    if token_id.chars().any(char::is_control) {
        return Err(NbError::PatNotFound(token_id.to_owned()));
    }
    Ok(())
}
