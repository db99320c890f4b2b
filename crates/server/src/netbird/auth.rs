//! NetBird's `auth_middleware.go` for PATs: which `Authorization` headers authenticate, and as whom.

use super::*;
use crate::model::NbUser;
use crate::store::Field;

impl NetBird<'_> {
    /// `auth_middleware.go`: the header is split on single spaces and the scheme lower-cased;
    /// `Bearer nbp_…` falls back to PAT handling; `Token` needs exactly two parts. JWTs are not
    /// emulated, so any other bearer credential is `token invalid`. A usable PAT is marked
    /// used before the user's `blocked` flag is checked, as upstream's middleware does.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<NbUser, NbError> {
        let parts: Vec<&str> = header.unwrap_or_default().split(' ').collect();
        let mut scheme = parts.first().copied().unwrap_or_default().to_lowercase();
        if parts.len() >= 2 && scheme == "bearer" && parts[1].starts_with("nbp_") {
            scheme = "token".to_owned();
        }
        match scheme.as_str() {
            "token" => {}
            "bearer" => return Err(NbError::TokenInvalid),
            _ => return Err(NbError::NoAuth),
        }
        let [_, plain] = parts[..] else {
            return Err(NbError::TokenInvalid);
        };
        parse_pat(plain).map_err(|_| NbError::TokenInvalid)?;
        let pat = self.store.pat_by_hash(&hash_pat(plain)).await.map_err(auth_store_error)?;
        if pat.is_expired(self.now) {
            return Err(NbError::TokenInvalid);
        }
        self.store.mark_pat_used(&pat.user_id, &pat.id, self.now).await.map_err(auth_store_error)?;
        let user = self.store.get::<NbUser>(Field::Id, &pat.user_id).await.map_err(auth_store_error)?;
        if user.blocked {
            return Err(NbError::UserBlocked);
        }
        Ok(user)
    }
}

/// Inside authentication every lookup miss is just an invalid token.
fn auth_store_error(e: StoreError) -> NbError {
    match e {
        StoreError::NotFound => NbError::TokenInvalid,
        other => NbError::Store(other),
    }
}
