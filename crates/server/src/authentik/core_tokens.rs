//! Core tokens (`/core/tokens/`): list with filters, search and ordering, create, update, delete, keys, and
//! DRF's field validation of a token body.

use super::serializer;
use super::validate::*;
use super::*;
use crate::model::AkUser;
use crate::store::Field;

impl Authentik<'_> {
    /// `core_tokens_list`: owner visibility, django-filter exact filters, DRF search and
    /// ordering (default `identifier,expires`), then authentik pagination.
    pub async fn list_tokens(&self, caller: &AkUser, params: TokenListParams) -> Result<Page<CoreToken>, AkError> {
        let mut errors = BTreeMap::new();
        let intent = non_empty(params.intent).and_then(|v| {
            Intent::parse(&v).or_else(|| {
                add_error(
                    &mut errors,
                    "intent",
                    format!("Select a valid choice. {v} is not one of the available choices."),
                );
                None
            })
        });
        let expires = non_empty(params.expires).and_then(|v| {
            parse_django_datetime(&v).or_else(|| {
                add_error(&mut errors, "expires", MSG_BAD_DATETIME);
                None
            })
        });
        let identifier = text_filter(&mut errors, "identifier", params.identifier);
        let user_username = text_filter(&mut errors, "user__username", params.user_username);
        let description = text_filter(&mut errors, "description", params.description);
        let managed = text_filter(&mut errors, "managed", params.managed);
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let query = CoreTokenQuery {
            owner: owner_filter(caller),
            identifier,
            intent,
            user_username,
            description,
            expires,
            expiring: non_empty(params.expiring).and_then(|v| parse_null_boolean(&v)),
            managed,
            search,
            ordering: parse_ordering(
                params.ordering.as_deref(),
                CoreTokenField::parse,
                &[(CoreTokenField::Identifier, false), (CoreTokenField::Expires, false)],
            ),
            page: page_request(params.page.as_deref(), params.page_size.as_deref())?,
        };
        let slice = self.store.list_core_tokens(&query).await?;
        Page::build(query.page, slice).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `core_tokens_retrieve`.
    pub async fn get_token(&self, caller: &AkUser, identifier: &str) -> Result<CoreToken, AkError> {
        self.visible_token(caller, identifier).await
    }

    /// `core_tokens_create` (`TokenSerializer.validate` + `TokenViewSet.perform_create`).
    pub async fn create_token(&self, caller: &AkUser, body: &Value) -> Result<CoreToken, AkError> {
        let (body, errors) = NewToken::parse(body)?;
        let fields = self.validate_fields(&body, errors, true, None).await?;
        let identifier = fields.identifier.unwrap_or_default();
        let intent = body.intent.unwrap_or(Intent::Api);
        let expires = self.validate_expiry(intent, body.expires)?.unwrap_or(self.now + default_token_duration());

        let superuser = caller.is_effective_superuser();
        let (user, expiring, key_viewers) = if superuser {
            (body.user.unwrap_or(caller.pk), body.expiring.unwrap_or(true), vec![])
        } else {
            let expiring = caller.attributes.get(AK_ATTR_TOKEN_EXPIRES).and_then(|v| v.as_bool()).unwrap_or(true);
            (caller.pk, expiring, vec![caller.pk])
        };
        let mut token = CoreToken {
            intent,
            description: fields.description.unwrap_or_default(),
            expires: Some(expires),
            expiring,
            managed: fields.managed,
            key_viewers,
            ..CoreToken::new(identifier, Secret::new(String::new()), user)
        };
        self.check_token_quota(user).await?;
        let created = with_fresh_key(|key| {
            token.key = key;
            self.store.insert_core_token(token.clone())
        })
        .await;
        match created {
            Ok(token) => Ok(token),
            Err(StoreError::Duplicate { field: Field::Identifier }) => {
                Err(AkError::field("identifier", MSG_IDENTIFIER_TAKEN))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_update` (`partial = false`) and `core_tokens_partial_update` (`partial = true`).
    ///
    /// As in DRF, absent fields keep their value for both; PUT only requires `identifier`.
    /// An absent `intent` keeps the stored intent (upstream's `setdefault("intent", api)` would
    /// silently turn an app password into an API token). `intent=api` always renews
    /// `expires` to now + 1 day. Non-superusers cannot change `expiring`.
    pub async fn update_token(
        &self,
        caller: &AkUser,
        identifier: &str,
        body: &Value,
        partial: bool,
    ) -> Result<CoreToken, AkError> {
        let current = self.visible_token(caller, identifier).await?;
        let current_pk = current.pk;
        let (body, errors) = NewToken::parse(body)?;
        let fields = self.validate_fields(&body, errors, !partial, Some(&current)).await?;
        let intent = body.intent.unwrap_or(current.intent);
        let expires = self.validate_expiry(intent, body.expires)?.or(current.expires);
        let expiring = match body.expiring {
            Some(expiring) if caller.is_effective_superuser() => expiring,
            _ => current.expiring,
        };
        let updated = CoreToken {
            identifier: fields.identifier.unwrap_or_else(|| current.identifier.clone()),
            intent,
            description: fields.description.unwrap_or_else(|| current.description.clone()),
            expires,
            expiring,
            managed: fields.managed.or_else(|| current.managed.clone()),
            ..current
        };
        match self.store.replace_core_token(current_pk, updated).await {
            Ok(token) => Ok(token),
            Err(StoreError::Duplicate { field: Field::Identifier }) => {
                Err(AkError::field("identifier", MSG_IDENTIFIER_TAKEN))
            }
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_destroy`.
    pub async fn delete_token(&self, caller: &AkUser, identifier: &str) -> Result<(), AkError> {
        let token = self.visible_token(caller, identifier).await?;
        match self.store.delete_core_token(token.pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_view_key_retrieve`: visibility (404) first, then `view_token_key`
    /// (superuser, or granted at creation by a non-superuser), else 403.
    pub async fn view_key(&self, caller: &AkUser, identifier: &str) -> Result<Secret, AkError> {
        let token = self.visible_token(caller, identifier).await?;
        if caller.is_effective_superuser() || token.key_viewers.contains(&caller.pk) {
            Ok(token.key)
        } else {
            Err(AkError::forbidden(MSG_NO_PERMISSION))
        }
    }

    /// `core_tokens_set_key_create`: visibility (404), permission (owner or superuser, 403),
    /// then the body (`key` required, trimmed, non-blank). The old key stops working at once.
    pub async fn set_key(&self, caller: &AkUser, identifier: &str, body: &Value) -> Result<(), AkError> {
        let token = self.visible_token(caller, identifier).await?;
        if !(caller.is_effective_superuser() || token.user == caller.pk) {
            return Err(AkError::forbidden(MSG_NO_PERMISSION));
        }
        let key = serializer::set_key_body(body)?;
        let key = match key.as_deref().map(str::trim) {
            None => return Err(AkError::field("key", MSG_REQUIRED)),
            Some("") => return Err(AkError::field("key", MSG_BLANK)),
            Some(key) => Secret::new(key),
        };
        match self.store.set_core_token_key(token.pk, key).await {
            Ok(()) => Ok(()),
            Err(StoreError::Duplicate { .. }) => Err(AkError::field("key", MSG_KEY_TAKEN)),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_TOKEN_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_tokens_used_by_list`: nothing references a token, so always empty once visible.
    pub async fn used_by(&self, caller: &AkUser, identifier: &str) -> Result<Vec<UsedBy>, AkError> {
        self.visible_token(caller, identifier).await?;
        Ok(Vec::new())
    }

    /// DRF field-level validation of a token body, all fields at once:
    /// `identifier` (required, trimmed, non-blank, unique, ≤ 255, slug), `user`
    /// (must exist; on update must not change), `managed` (non-blank).
    async fn validate_fields(
        &self,
        body: &NewToken,
        mut errors: BTreeMap<String, Vec<String>>,
        identifier_required: bool,
        current: Option<&CoreToken>,
    ) -> Result<ValidFields, AkError> {
        let identifier = match body.identifier.as_deref().map(str::trim) {
            None => {
                // A null or mistyped identifier already has its error.
                if identifier_required && !errors.contains_key("identifier") {
                    add_error(&mut errors, "identifier", MSG_REQUIRED);
                }
                None
            }
            Some("") => {
                add_error(&mut errors, "identifier", MSG_BLANK);
                None
            }
            Some(identifier) => {
                let unchanged = current.is_some_and(|c| c.identifier == identifier);
                if !unchanged && self.exists(self.store.core_token(identifier).await)? {
                    add_error(&mut errors, "identifier", MSG_IDENTIFIER_TAKEN);
                }
                if identifier.chars().count() > IDENTIFIER_MAX_CHARS {
                    add_error(&mut errors, "identifier", MSG_IDENTIFIER_LENGTH);
                }
                if !identifier.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                    add_error(&mut errors, "identifier", MSG_SLUG);
                }
                Some(identifier.to_owned())
            }
        };
        if let Some(pk) = body.user {
            if !self.exists(self.store.get::<AkUser>(Field::Pk, pk).await)? {
                add_error(&mut errors, "user", format!("Invalid pk \"{pk}\" - object does not exist."));
            } else if current.is_some_and(|c| c.user != pk) {
                add_error(&mut errors, "user", MSG_USER_CHANGED);
            }
        }
        let managed = match body.managed.as_deref().map(str::trim) {
            Some("") => {
                add_error(&mut errors, "managed", MSG_BLANK);
                None
            }
            other => other.map(str::to_owned),
        };
        if body.description.as_deref().is_some_and(|d| d.trim().chars().count() > self.limits.text_chars) {
            add_error(
                &mut errors,
                "description",
                format!("Ensure this field has no more than {} characters.", self.limits.text_chars),
            );
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        Ok(ValidFields { identifier, description: body.description.as_deref().map(|d| d.trim().to_owned()), managed })
    }

    /// tokenstack's quota (`--max-tokens-per-user`): a user at the limit creates no more tokens.
    async fn check_token_quota(&self, user: i64) -> Result<(), AkError> {
        let limit = self.limits.tokens_per_user;
        if limit == 0 {
            return Ok(());
        }
        let query = CoreTokenQuery {
            owner: Some(user),
            page: PageRequest::new(None, Some(1)).unwrap_or_default(),
            ..Default::default()
        };
        if self.store.list_core_tokens(&query).await?.total >= limit {
            return Err(AkError::field("non_field_errors", format!("A user may own at most {limit} tokens.")));
        }
        Ok(())
    }

    /// `TokenSerializer.validate` for intent and expiry. Returns the `expires` to store:
    /// forced for `api`, the client's (checked) value for `app_password`.
    fn validate_expiry(
        &self,
        intent: Intent,
        expires: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, AkError> {
        match intent {
            Intent::Api => Ok(Some(self.now + default_token_duration())),
            Intent::AppPassword => {
                let max = self.now + default_token_duration();
                match expires {
                    Some(e) if e > max => Err(AkError::field(
                        "expires",
                        format!("Token expires exceeds maximum lifetime ({} UTC).", python_datetime(max)),
                    )),
                    other => Ok(other),
                }
            }
            other => Err(AkError::field("intent", format!("Invalid intent {other}"))),
        }
    }
}

struct ValidFields {
    identifier: Option<String>,
    description: Option<String>,
    managed: Option<String>,
}

/// How often a write draws another core token key when the drawn one is taken.
const KEY_DRAWS: usize = 4;

/// Runs `write` with a freshly drawn key, and again with another while the store answers that the key is taken
/// (a collision of 60 random characters is astronomically unlikely, but a key is unique): the one redraw rule of
/// core token keys, for creates and for the expiry sweep's rotations.
pub(crate) async fn with_fresh_key<T, F>(mut write: impl FnMut(Secret) -> F) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>>,
{
    for _ in 0..KEY_DRAWS {
        match write(Secret::new(generate_key())).await {
            Err(StoreError::Duplicate { field: Field::Key }) => continue,
            result => return result,
        }
    }
    Err(StoreError::backend(format!("no free token key after {KEY_DRAWS} draws")))
}
