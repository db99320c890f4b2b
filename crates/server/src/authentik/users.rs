//! Users (`/core/users/`, `authentik/core/api/users.py UserViewSet`): list with `UsersFilter`, search and
//! ordering, retrieve, create, update and destroy, with `UserSerializer`'s validation; superusers manage users,
//! everyone else sees only themselves (upstream answers them 403 without an object permission; docs/divergences.md
//! lists it).

use super::serializer::Body;
use super::validate::*;
use super::*;
use crate::model::{AkUser, AkUserType};
use crate::store::{Field, UserField, UserQuery};

const MSG_USER_NOT_FOUND: &str = "No User matches the given query.";
/// DRF `UniqueValidator` (the serializer declares `username` itself, so Django's own message does not apply).
const MSG_USERNAME_TAKEN: &str = "This field must be unique.";
const MSG_INTERNAL_SERVICE_ACCOUNT_UPDATE: &str = "Can't modify internal service account users";
const MSG_PATH_SLASHES: &str = "No leading or trailing slashes allowed.";
const MSG_PATH_SEGMENTS: &str = "No empty segments in user path allowed.";
const MSG_INTERNAL_SERVICE_ACCOUNT: &str = "Setting a user to internal service account is not allowed.";
const MSG_INTERNAL_SERVICE_ACCOUNT_CHANGE: &str = "Can't change internal service account to other user type.";
const MSG_BAD_EMAIL: &str = "Enter a valid email address.";
/// `UserViewSet.ordering`.
const DEFAULT_ORDERING: &[(UserField, bool)] = &[
    (UserField::Username, false),
    (UserField::DateJoined, false),
    (UserField::LastUpdated, false),
    (UserField::LastLogin, false),
];
/// `USERNAME_MAX_LENGTH`.
const USERNAME_MAX_CHARS: usize = 150;
/// `EmailField`'s `max_length`.
const EMAIL_MAX_CHARS: usize = 254;
const USER_TYPE_CHOICES: [&str; 4] = ["internal", "external", "service_account", "internal_service_account"];

/// Raw `GET /core/users/` query parameters (django-filter parses them; empty strings count as absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserListParams {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub is_active: Option<String>,
    pub is_superuser: Option<String>,
    pub path: Option<String>,
    pub path_startswith: Option<String>,
    pub user_type: Option<String>,
    pub uuid: Option<String>,
    pub search: Option<String>,
    pub ordering: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// The writable `UserSerializer` fields of a body; `None` means absent.
#[derive(Debug, Default)]
struct UserFields {
    username: Option<String>,
    name: Option<String>,
    email: Option<String>,
    is_active: Option<bool>,
    path: Option<String>,
    user_type: Option<AkUserType>,
    attributes: Option<serde_json::Map<String, Value>>,
    last_login: Option<DateTime<Utc>>,
    groups: Option<Vec<crate::model::AkGroup>>,
}

/// Where `service_account` puts its users (`authentik/core/api/users.py`).
const SERVICE_ACCOUNT_PATH: &str = "goauthentik.io/service-accounts";
/// A service account's token lifetime when the body gives none.
const SERVICE_ACCOUNT_VALIDITY: TimeDelta = TimeDelta::days(360);
const MSG_DETAILS_TAKEN: &str = "A user/group with these details already exists";
/// DRF's 404 when a `{id}` is not an integer (Django raises a bare `Http404`).
const MSG_NOT_FOUND: &str = "Not found.";

/// The user pk of a `/core/users/{id}/` path: anything but an integer is DRF's 404.
pub fn user_pk(id: &str) -> Result<i64, AkError> {
    id.parse().map_err(|_| AkError::not_found(MSG_NOT_FOUND))
}

/// What `core_users_service_account_create` made.
#[derive(Debug)]
pub struct ServiceAccount {
    pub user: AkUser,
    pub token: CoreToken,
    pub group_pk: Option<Uuid>,
}

impl Authentik<'_> {
    /// `core_users_me_retrieve`: any authenticated user, about themselves.
    pub fn me(&self, caller: AkUser) -> AkUser {
        caller
    }

    /// `core_users_service_account_create`: a `service_account` user on `goauthentik.io/service-accounts` and its
    /// `app_password` token `service-account-<name>-password`, both or neither.
    pub async fn create_service_account(&self, caller: &AkUser, body: &Value) -> Result<ServiceAccount, AkError> {
        require_superuser(caller)?;
        let mut parsed = Body::new(body)?;
        let name = parsed.string("name", false).map(|n| n.trim().to_owned());
        let create_group = parsed.boolean("create_group").unwrap_or(false);
        let expiring = parsed.boolean("expiring").unwrap_or(true);
        let expires = parsed.datetime("expires", false);
        let mut errors = parsed.finish();
        match name.as_deref() {
            None if !errors.contains_key("name") => add_error(&mut errors, "name", MSG_REQUIRED),
            Some("") => add_error(&mut errors, "name", MSG_BLANK),
            Some(name) if self.name_taken(name).await? => add_error(&mut errors, "name", MSG_USERNAME_TAKEN),
            _ => {}
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let name = name.unwrap_or_default();
        let mut user = AkUser::new(0, name.clone(), self.now);
        user.name = name.clone();
        user.user_type = AkUserType::ServiceAccount;
        user.path = SERVICE_ACCOUNT_PATH.to_string();
        user.attributes.insert(AK_ATTR_TOKEN_EXPIRES.to_string(), Value::Bool(expiring));
        // Upstream creates the group and the user in one transaction, and a taken name fails both.
        let group = create_group.then(|| crate::model::AkGroup::new(Uuid::new_v4(), name.clone()));
        if let Some(group) = &group {
            if self.exists(self.store.get::<crate::model::AkGroup>(Field::Name, &group.name).await)? {
                return Err(AkError::field("non_field_errors", MSG_DETAILS_TAKEN));
            }
            user.groups.push(group.clone());
        }
        let group_pk = group.as_ref().map(|g| g.pk);
        let user = match self.store.insert(user).await {
            Ok(user) => user,
            Err(StoreError::Duplicate { .. }) => return Err(AkError::field("non_field_errors", MSG_DETAILS_TAKEN)),
            Err(e) => return Err(e.into()),
        };
        if let Some(group) = group
            && let Err(err) = self.store.insert(group).await
        {
            self.store.delete::<AkUser>(user.pk).await?;
            return Err(match err {
                StoreError::Duplicate { .. } => AkError::field("non_field_errors", MSG_DETAILS_TAKEN),
                other => other.into(),
            });
        }
        let identifier = slugify(&format!("service-account-{}-password", user.username));
        let token = CoreToken {
            intent: Intent::AppPassword,
            expires: Some(expires.unwrap_or(self.now + SERVICE_ACCOUNT_VALIDITY)),
            expiring,
            ..CoreToken::new(identifier, Secret::new(generate_key()), user.pk)
        };
        match self.store.insert_core_token(token).await {
            Ok(token) => Ok(ServiceAccount { user, token, group_pk }),
            Err(err) => {
                // Upstream creates them in one transaction: take the user and its group back.
                self.store.delete::<AkUser>(user.pk).await?;
                if let Some(pk) = group_pk {
                    self.store.delete::<crate::model::AkGroup>(pk).await?;
                }
                match err {
                    StoreError::Duplicate { .. } => Err(AkError::field("non_field_errors", MSG_DETAILS_TAKEN)),
                    other => Err(other.into()),
                }
            }
        }
    }

    /// `UniqueValidator(User.objects.all())` on the service account's `name`: another user's display name.
    async fn name_taken(&self, name: &str) -> Result<bool, AkError> {
        let query = UserQuery { name: Some(name.to_owned()), ..UserQuery::default() };
        Ok(self.store.list::<AkUser>(&query.listing()).await?.total > 0)
    }

    /// `core_users_list`: a non-superuser sees only themselves.
    pub async fn list_users(&self, caller: &AkUser, params: UserListParams) -> Result<Page<AkUser>, AkError> {
        let mut errors = BTreeMap::new();
        let user_type = non_empty(params.user_type).and_then(|v| {
            if USER_TYPE_CHOICES.contains(&v.as_str()) {
                Some(v)
            } else {
                let msg = format!("Select a valid choice. {v} is not one of the available choices.");
                add_error(&mut errors, "type", msg);
                None
            }
        });
        let uuid = non_empty(params.uuid).and_then(|v| {
            Uuid::parse_str(v.trim()).ok().or_else(|| {
                add_error(&mut errors, "uuid", "Enter a valid UUID.");
                None
            })
        });
        let username = text_filter(&mut errors, "username", params.username);
        let name = text_filter(&mut errors, "name", params.name);
        let email = text_filter(&mut errors, "email", params.email);
        let path = text_filter(&mut errors, "path", params.path);
        let path_startswith = text_filter(&mut errors, "path_startswith", params.path_startswith);
        let search = search_filter(&mut errors, params.search);
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        let query = UserQuery {
            only: (!caller.is_effective_superuser()).then_some(caller.pk),
            username,
            name,
            email,
            is_active: non_empty(params.is_active).and_then(|v| parse_null_boolean(&v)),
            is_superuser: non_empty(params.is_superuser).and_then(|v| parse_null_boolean(&v)),
            path,
            path_startswith,
            user_type,
            uuid,
            search,
            ordering: parse_ordering(params.ordering.as_deref(), UserField::parse, DEFAULT_ORDERING),
            page: page_request(params.page.as_deref(), params.page_size.as_deref())?,
        };
        let slice = self.store.list::<AkUser>(&query.listing()).await?;
        Page::build(query.page, slice).map_err(|_| AkError::not_found(MSG_INVALID_PAGE))
    }

    /// `core_users_retrieve`.
    pub async fn get_user(&self, caller: &AkUser, pk: i64) -> Result<AkUser, AkError> {
        self.visible_user(caller, pk).await
    }

    /// `core_users_create`: superusers only (403 before the body is read, as DRF checks permissions first).
    pub async fn create_user(&self, caller: &AkUser, body: &Value) -> Result<AkUser, AkError> {
        require_superuser(caller)?;
        let fields = self.user_fields(body, true, None).await?;
        let mut user = AkUser::new(0, fields.username.clone().unwrap_or_default(), self.now);
        apply(&mut user, fields, self.now);
        user.last_updated = self.now;
        match self.store.insert(user).await {
            Ok(user) => Ok(user),
            Err(StoreError::Duplicate { field: Field::Username }) => {
                Err(AkError::field("username", MSG_USERNAME_TAKEN))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `core_users_update` (`partial = false`: `username` and `name` required) and `core_users_partial_update`.
    pub async fn update_user(&self, caller: &AkUser, pk: i64, body: &Value, partial: bool) -> Result<AkUser, AkError> {
        let mut user = self.visible_user(caller, pk).await?;
        require_superuser(caller)?;
        let fields = self.user_fields(body, !partial, Some(&user)).await?;
        apply(&mut user, fields, self.now);
        match self.store.replace(user.clone()).await {
            Ok(()) => Ok(user),
            Err(StoreError::Duplicate { field: Field::Username }) => {
                Err(AkError::field("username", MSG_USERNAME_TAKEN))
            }
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_USER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_users_destroy`: the user's tokens go with them.
    pub async fn delete_user(&self, caller: &AkUser, pk: i64) -> Result<(), AkError> {
        self.visible_user(caller, pk).await?;
        require_superuser(caller)?;
        match self.store.delete::<AkUser>(pk).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_USER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `core_users_set_password_create`: a non-superuser is refused (403: upstream's `ObjectFilter` finds no user
    /// it may view and raises `PermissionDenied`, and it lacks `reset_user_password`), an unknown user is 404, and
    /// `password` must be a non-blank string (DRF's `CharField`, whitespace trimmed); the password is stored as a
    /// salted hash and `password_change_date` moves to now. Django's `set_password` runs no password validators,
    /// so no other password is refused.
    pub async fn set_password(&self, caller: &AkUser, pk: i64, body: &Value) -> Result<(), AkError> {
        require_superuser(caller)?;
        let mut user = self.visible_user(caller, pk).await?;
        let mut parsed = Body::new(body)?;
        let password = parsed.string("password", false).map(|p| p.trim().to_owned());
        let mut errors = parsed.finish();
        match password.as_deref() {
            None if !errors.contains_key("password") => add_error(&mut errors, "password", MSG_REQUIRED),
            Some("") => add_error(&mut errors, "password", MSG_BLANK),
            _ => {}
        }
        let Some(password) = password.filter(|_| errors.is_empty()) else {
            return Err(AkError::Invalid(errors));
        };
        user.password = Some(crate::secrets::PasswordHash::new(&password));
        user.password_change_date = self.now;
        user.last_updated = self.now;
        match self.store.replace(user).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_USER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// The user `pk` if the caller may see it: superusers see everyone, other users only themselves (404).
    async fn visible_user(&self, caller: &AkUser, pk: i64) -> Result<AkUser, AkError> {
        if !caller.is_effective_superuser() && caller.pk != pk {
            return Err(AkError::not_found(MSG_USER_NOT_FOUND));
        }
        match self.store.get::<AkUser>(Field::Pk, pk).await {
            Ok(user) => Ok(user),
            Err(StoreError::NotFound) => Err(AkError::not_found(MSG_USER_NOT_FOUND)),
            Err(e) => Err(e.into()),
        }
    }

    /// `UserSerializer` field parsing and validation, every field's errors at once.
    async fn user_fields(&self, body: &Value, required: bool, current: Option<&AkUser>) -> Result<UserFields, AkError> {
        let mut parsed = Body::new(body)?;
        let username = parsed.string("username", false).map(|u| u.trim().to_owned());
        let name = parsed.string("name", false).map(|n| n.trim().to_owned());
        let email = parsed.string("email", false).map(|e| e.trim().to_owned());
        let is_active = parsed.boolean("is_active");
        let path = parsed.string("path", false).map(|p| p.trim().to_owned());
        let user_type = parsed.choice("type", &USER_TYPE_CHOICES).and_then(|t| AkUserType::parse(&t));
        let attributes = parsed.dict("attributes");
        let last_login = parsed.datetime("last_login", true);
        let groups = match parsed.uuid_list("groups") {
            Some(pks) => match self.groups_named(&pks).await? {
                Ok(groups) => Some(groups),
                Err(message) => {
                    parsed.reject("groups", message);
                    None
                }
            },
            None => None,
        };
        for role in parsed.uuid_list("roles").into_iter().flatten() {
            parsed.reject("roles", format!("Invalid pk \"{role}\" - object does not exist."));
        }
        let mut errors = parsed.finish();
        match username.as_deref() {
            None if required && !errors.contains_key("username") => add_error(&mut errors, "username", MSG_REQUIRED),
            None => {}
            Some("") => add_error(&mut errors, "username", MSG_BLANK),
            Some(username) => {
                if username.chars().count() > USERNAME_MAX_CHARS {
                    add_error(&mut errors, "username", max_length(USERNAME_MAX_CHARS));
                }
                let unchanged = current.is_some_and(|c| c.username == username);
                if !unchanged && self.exists(self.store.get::<AkUser>(Field::Username, username).await)? {
                    add_error(&mut errors, "username", MSG_USERNAME_TAKEN);
                }
            }
        }
        // `name` is a `TextField` without a default: required on create and PUT, blank allowed.
        if name.is_none() && required && !errors.contains_key("name") {
            add_error(&mut errors, "name", MSG_REQUIRED);
        }
        if let Some(email) = email.as_deref().filter(|e| !e.is_empty()) {
            if email.chars().count() > EMAIL_MAX_CHARS {
                add_error(&mut errors, "email", max_length(EMAIL_MAX_CHARS));
            }
            if !plausible_email(email) {
                add_error(&mut errors, "email", MSG_BAD_EMAIL);
            }
        }
        match path.as_deref() {
            Some("") => add_error(&mut errors, "path", MSG_BLANK),
            Some(path) if path.starts_with('/') || path.ends_with('/') => {
                add_error(&mut errors, "path", MSG_PATH_SLASHES)
            }
            Some(path) if path.split('/').any(str::is_empty) => add_error(&mut errors, "path", MSG_PATH_SEGMENTS),
            _ => {}
        }
        match (user_type, current.map(|c| c.user_type)) {
            (Some(AkUserType::InternalServiceAccount), None) => {
                add_error(&mut errors, "type", MSG_INTERNAL_SERVICE_ACCOUNT);
            }
            (Some(new), Some(AkUserType::InternalServiceAccount)) if new != AkUserType::InternalServiceAccount => {
                add_error(&mut errors, "type", MSG_INTERNAL_SERVICE_ACCOUNT_CHANGE);
            }
            _ => {}
        }
        if errors.is_empty() && current.is_some_and(|c| c.user_type == AkUserType::InternalServiceAccount) {
            add_error(&mut errors, "non_field_errors", MSG_INTERNAL_SERVICE_ACCOUNT_UPDATE);
        }
        if !errors.is_empty() {
            return Err(AkError::Invalid(errors));
        }
        // `groups` defaults to an empty list: a PUT without it clears them, as the M2M `set()` upstream.
        let groups = if required { Some(groups.unwrap_or_default()) } else { groups };
        Ok(UserFields { username, name, email, is_active, path, user_type, attributes, last_login, groups })
    }
}

fn require_superuser(caller: &AkUser) -> Result<(), AkError> {
    if caller.is_effective_superuser() { Ok(()) } else { Err(AkError::forbidden(MSG_NO_PERMISSION)) }
}

/// Sets the fields a body gave; `last_updated` moves to `now`.
fn apply(user: &mut AkUser, fields: UserFields, now: DateTime<Utc>) {
    let UserFields { username, name, email, is_active, path, user_type, attributes, last_login, groups } = fields;
    if let Some(groups) = groups {
        user.groups = groups;
    }
    if let Some(username) = username {
        user.username = username;
    }
    if let Some(name) = name {
        user.name = name;
    }
    if let Some(email) = email {
        user.email = email;
    }
    if let Some(is_active) = is_active {
        user.is_active = is_active;
    }
    if let Some(path) = path {
        user.path = path;
    }
    if let Some(user_type) = user_type {
        user.user_type = user_type;
    }
    if let Some(attributes) = attributes {
        user.attributes = attributes;
    }
    if last_login.is_some() {
        user.last_login = last_login;
    }
    user.last_updated = now;
}

/// Django's `slugify`: ASCII letters, digits, `_` and `-`, lower case, runs of spaces and dashes as one `-`.
fn slugify(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
        .collect::<String>()
        .to_lowercase();
    let mut slug = String::new();
    for part in cleaned.trim().split(|c: char| c == '-' || c.is_whitespace()).filter(|p| !p.is_empty()) {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(part);
    }
    slug
}

fn max_length(chars: usize) -> String {
    format!("Ensure this field has no more than {chars} characters.")
}

/// Django's `EmailValidator`, in outline: one `@`, a non-empty local part without spaces, and a domain of
/// dot-separated labels (or `localhost`).
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    let label_ok = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-');
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && !local.contains('@')
        && (domain == "localhost" || (domain.contains('.') && domain.split('.').all(label_ok)))
}
