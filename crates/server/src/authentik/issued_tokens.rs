//! OAuth2 access and refresh tokens (`/oauth2/access_tokens/`, `/oauth2/refresh_tokens/`): list, retrieve,
//! delete, used_by.

use super::validate::*;
use super::*;
use crate::model::AkProvider;
use crate::model::AkUser;
use crate::store::Field;

impl Authentik<'_> {
    /// `oauth2_{access,refresh}_tokens_list`: owner visibility, `user`/`provider` filters,
    /// search over provider name and username, default ordering `provider,expires`.
    pub async fn list_oauth(
        &self,
        caller: &AkUser,
        kind: OAuthKind,
        params: OAuthListParams,
    ) -> Result<Page<OAuthToken>, AkError> {
        let mut errors = BTreeMap::new();
        let user = match non_empty(params.user).map(|v| v.trim().parse::<i64>()) {
            None => None,
            Some(Ok(pk)) if self.exists(self.store.get::<AkUser>(Field::Pk, pk).await)? => Some(pk),
            Some(_) => {
                add_error(&mut errors, "user", MSG_BAD_FK_CHOICE);
                None
            }
        };
        let provider = match non_empty(params.provider).map(|v| v.trim().parse::<i64>()) {
            None => None,
            Some(Ok(pk)) if self.exists(self.store.get::<AkProvider>(Field::Pk, pk).await)? => Some(pk),
            Some(_) => {
                add_error(&mut errors, "provider", MSG_BAD_FK_CHOICE);
                None
            }
        };
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let query = OAuthQuery {
            kind,
            owner: owner_filter(caller),
            user,
            provider,
            search,
            ordering: parse_ordering(
                params.ordering.as_deref(),
                OAuthField::parse,
                &[(OAuthField::Provider, false), (OAuthField::Expires, false)],
            ),
            page: page_request(params.page.as_deref(), params.page_size.as_deref())?,
        };
        let slice = self.store.list_oauth_tokens(&query).await?;
        Page::build(query.page, slice).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `oauth2_{access,refresh}_tokens_retrieve`.
    pub async fn get_oauth(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<OAuthToken, AkError> {
        self.visible_oauth(caller, kind, pk).await
    }

    /// `oauth2_{access,refresh}_tokens_destroy`.
    pub async fn delete_oauth(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<(), AkError> {
        self.visible_oauth(caller, kind, pk).await?;
        match self.store.delete_oauth_token(kind, pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(oauth_not_found(kind)),
            Err(e) => Err(e.into()),
        }
    }

    /// `oauth2_{access,refresh}_tokens_used_by_list`: always empty once visible.
    pub async fn oauth_used_by(&self, caller: &AkUser, kind: OAuthKind, pk: i64) -> Result<Vec<UsedBy>, AkError> {
        self.visible_oauth(caller, kind, pk).await?;
        Ok(Vec::new())
    }
}
