//! The memory store's writes that keep its indexes in step: core tokens with the expiry index, OAuth2 tokens with
//! the value and user indexes, codes and PATs with their parents checked, and what a deleted declared row's
//! children that are not declared resources do.

use super::*;

impl State {
    pub(super) fn insert_core(&mut self, token: CoreToken) -> Result<(), StoreError> {
        if !self.has_user(token.user) {
            return Err(StoreError::NotFound);
        }
        let entry = expiry_key(&token).map(|at| (at, token.pk));
        self.core.insert(token).map_err(|index| StoreError::Duplicate { field: CORE_UNIQUE[index] })?;
        if let Some(entry) = entry {
            self.core_expiry.insert(entry);
        }
        Ok(())
    }

    pub(super) fn index_core(&mut self, token: &CoreToken) {
        if let Some(at) = expiry_key(token) {
            self.core_expiry.insert((at, token.pk));
        }
    }

    pub(super) fn remove_core(&mut self, identifier: &str) -> Option<CoreToken> {
        let token = self.core.remove(BY_IDENTIFIER, identifier.as_bytes())?;
        if let Some(at) = expiry_key(&token) {
            self.core_expiry.remove(&(at, token.pk));
        }
        Some(token)
    }

    pub(super) fn replace_core(&mut self, identifier: &str, mut token: CoreToken) -> Result<CoreToken, StoreError> {
        let old = self.core.by_identifier(identifier).ok_or(StoreError::NotFound)?;
        token.pk = old.pk;
        if token.identifier != identifier && self.core.by_identifier(&token.identifier).is_some() {
            return Err(StoreError::Duplicate { field: Field::Identifier });
        }
        if token.key != old.key && self.core.by_key(token.key.expose()).is_some() {
            return Err(StoreError::Duplicate { field: Field::Key });
        }
        if !self.has_user(token.user) {
            return Err(StoreError::NotFound);
        }
        let old = self.remove_core(identifier).ok_or(StoreError::NotFound)?;
        if let Err(index) = self.core.insert(token.clone()) {
            self.index_core(&old);
            self.core.insert(old).expect("the old row's keys are free again");
            return Err(StoreError::Duplicate { field: CORE_UNIQUE[index] });
        }
        self.index_core(&token);
        Ok(token)
    }

    pub(super) fn insert_oauth(&mut self, token: OAuthToken) -> Result<(), StoreError> {
        let id = (token.kind, token.pk);
        if self.oauth.contains_key(&id) {
            return Err(StoreError::Duplicate { field: Field::Pk });
        }
        if !self.has_user(token.user) || !self.has_provider(token.provider) {
            return Err(StoreError::NotFound);
        }
        self.oauth_by_user.entry(token.user).or_default().push(id);
        self.oauth_index[kind_index(token.kind)].add(&token);
        self.oauth.insert(id, token);
        Ok(())
    }

    /// Removes the token `id` from the table and the value index (not from `oauth_by_user`: the caller does).
    pub(super) fn take_oauth(&mut self, id: (OAuthKind, i64)) -> Option<OAuthToken> {
        let token = self.oauth.remove(&id)?;
        self.oauth_index[kind_index(id.0)].remove(&token);
        Some(token)
    }

    /// Removes the token `id` from every index.
    pub(super) fn remove_oauth(&mut self, id: (OAuthKind, i64)) -> Option<OAuthToken> {
        let token = self.take_oauth(id)?;
        if let Some(ids) = self.oauth_by_user.get_mut(&token.user) {
            ids.retain(|other| *other != id);
        }
        Some(token)
    }

    pub(super) fn insert_code(&mut self, code: AuthorizationCode) -> Result<(), StoreError> {
        if self.codes.contains_key(code.code.expose()) {
            return Err(StoreError::Duplicate { field: Field::Code });
        }
        if !self.has_user(code.user) || !self.has_provider(code.provider) {
            return Err(StoreError::NotFound);
        }
        self.codes.insert(code.code.expose().to_owned(), code);
        Ok(())
    }

    pub(super) fn insert_pat(&mut self, pat: Pat) -> Result<(), StoreError> {
        if !self.tables.contains(NbUser::TABLE.name, &Key::from(&pat.user_id)) {
            return Err(StoreError::NotFound);
        }
        self.pats.insert(pat).map_err(|index| StoreError::Duplicate { field: [Field::Id, Field::HashedToken][index] })
    }

    pub(super) fn user_pat_mut(&mut self, user_id: &str, id: &str) -> Result<&mut Pat, StoreError> {
        self.pats.get_mut(BY_ID, id.as_bytes()).filter(|p| p.user_id == user_id).ok_or(StoreError::NotFound)
    }

    pub(super) fn has_provider(&self, pk: i64) -> bool {
        self.tables.contains(AkProvider::TABLE.name, &Key::Int(pk))
    }

    pub(super) fn has_user(&self, pk: i64) -> bool {
        self.tables.contains(AkUser::TABLE.name, &Key::Int(pk))
    }

    /// The user with pk `pk`.
    pub(super) fn user(&self, pk: i64) -> Option<&AkUser> {
        self.tables.get(AkUser::TABLE, Field::Pk, &Key::Int(pk)).and_then(|row| row.as_any().downcast_ref())
    }

    /// The pk of the user `username`.
    pub(super) fn user_pk(&self, username: &str) -> Option<i64> {
        let row = self.tables.get(AkUser::TABLE, Field::Username, &Key::from(username))?;
        row.as_any().downcast_ref::<AkUser>().map(|user| user.pk)
    }

    /// What a deleted declared row's children that are not declared resources do: they go with it.
    pub(super) fn cascade(&mut self, child: &Child, pk: &Key) {
        match (child.table, child.column, pk) {
            ("oauth_tokens", "provider_id", Key::Int(provider)) => {
                let tokens: Vec<(OAuthKind, i64)> =
                    self.oauth.values().filter(|t| t.provider == *provider).map(|t| (t.kind, t.pk)).collect();
                for id in tokens {
                    self.remove_oauth(id);
                }
            }
            ("oauth_tokens", "user_id", Key::Int(user)) => {
                for id in self.oauth_by_user.remove(user).unwrap_or_default() {
                    self.take_oauth(id);
                }
            }
            ("authorization_codes", "provider_id", Key::Int(provider)) => {
                self.codes.retain(|_, code| code.provider != *provider);
            }
            ("authorization_codes", "user_id", Key::Int(user)) => self.codes.retain(|_, code| code.user != *user),
            ("core_tokens", "user_id", Key::Int(user)) => {
                let identifiers: Vec<String> = self.core.of_owner(user).map(|t| t.identifier.clone()).collect();
                for identifier in identifiers {
                    self.remove_core(&identifier);
                }
            }
            ("pats", "user_id", Key::Text(user)) => {
                let pats: Vec<String> = self.pats.of_owner(user.as_ref()).map(|p| p.id.clone()).collect();
                for pat in pats {
                    self.pats.remove(BY_ID, pat.as_bytes());
                }
            }
            _ => {}
        }
    }

    pub(super) fn username(&self, pk: i64) -> &str {
        self.user(pk).map_or("", |u| u.username.as_str())
    }
}
