//! authentik's `TokenAuthentication`: which `Authorization` headers authenticate, and as whom.

use super::*;
use crate::model::AkUser;
use crate::store::Field;

impl Authentik<'_> {
    /// `TokenAuthentication` (`authentik/api/authentication.py validate_auth` + `bearer_auth`).
    /// Only `intent=api`, unexpired core token keys of active users authenticate; every
    /// failure is `Forbidden`. As upstream, the header is stripped first, so a header
    /// without a space (`"Bearer"`, `"Bearer   "`) counts as no credentials.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<AkUser, AkError> {
        let raw = header.map(str::trim).unwrap_or_default();
        let Some((scheme, credential)) = raw.split_once(' ') else {
            return Err(AkError::forbidden(MSG_NOT_PROVIDED));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AkError::forbidden(MSG_UNSUPPORTED));
        }
        if credential.is_empty() {
            return Err(AkError::forbidden(MSG_MALFORMED));
        }
        let token = match self.store.core_token_by_key(credential).await {
            Ok(token) => token,
            Err(StoreError::NotFound) => return Err(AkError::forbidden(MSG_TOKEN_INVALID)),
            Err(e) => return Err(e.into()),
        };
        if token.intent != Intent::Api || token.is_expired(self.now) {
            return Err(AkError::forbidden(MSG_TOKEN_INVALID));
        }
        match self.store.get::<AkUser>(Field::Pk, token.user).await {
            Ok(user) if user.is_active => Ok(user),
            Ok(_) | Err(StoreError::NotFound) => Err(AkError::forbidden(MSG_TOKEN_INVALID)),
            Err(e) => Err(e.into()),
        }
    }
}
