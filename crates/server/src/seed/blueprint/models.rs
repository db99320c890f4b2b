//! One blueprint entry applied to the rows being built, as authentik's importer applies it
//! (`authentik/blueprints/v1/importer.py`): identifiers merged into attrs, the row found by its identifiers,
//! then created, updated, kept or deleted as the entry's `state` says; each field as the model's serializer
//! reads it, references checked against the rows that exist.

use serde_json::{Map, Value};
use uuid::Uuid;

pub use super::rows::{Build, GroupRow, KeyPairRow, Model, TokenRow, UserRow};
use crate::model::{AkApplication, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkUser, Intent};
use crate::secrets::Secret;

use super::values::{self, flag, items, object, optional_uuid, reference, text, typed};

/// An entry's `state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Present,
    Created,
    MustCreated,
    Absent,
}

impl State {
    pub fn parse(value: &Value) -> Result<State, String> {
        Ok(match value.as_str() {
            Some("present") => State::Present,
            Some("created") => State::Created,
            Some("must_created") => State::MustCreated,
            Some("absent") => State::Absent,
            _ => return Err(format!("state {value} is not one of present, created, must_created, absent")),
        })
    }
}

/// The keys each model takes (its serializer's writable fields tokenstack models), besides `pk`.
fn accepted(model: Model) -> &'static [&'static str] {
    match model {
        Model::User => &[
            "username",
            "name",
            "email",
            "is_active",
            "path",
            "type",
            "attributes",
            "groups",
            "password",
            "last_login",
        ],
        Model::Group => &["name", "is_superuser", "attributes", "users", "parent"],
        Model::Token => &["identifier", "intent", "user", "description", "expires", "expiring", "key"],
        Model::ScopeMapping => &["name", "scope_name", "description", "expression", "managed"],
        Model::KeyPair => &["name", "certificate_data", "key_data"],
        Model::Provider => &[
            "name",
            "authentication_flow",
            "authorization_flow",
            "invalidation_flow",
            "property_mappings",
            "client_type",
            "client_id",
            "client_secret",
            "access_code_validity",
            "access_token_validity",
            "refresh_token_validity",
            "refresh_token_threshold",
            "include_claims_in_id_token",
            "signing_key",
            "encryption_key",
            "redirect_uris",
            "logout_uri",
            "logout_method",
            "sub_mode",
            "issuer_mode",
            "grant_types",
            "jwt_federation_sources",
            "jwt_federation_providers",
        ],
        Model::Application => &[
            "name",
            "slug",
            "provider",
            "backchannel_providers",
            "open_in_new_tab",
            "meta_launch_url",
            "meta_icon",
            "meta_description",
            "meta_publisher",
            "policy_engine_mode",
            "group",
            "meta_hide",
        ],
        Model::MetaApply => &["identifiers", "required"],
        Model::Flow => &[],
    }
}

/// The key of `identifiers` or `attrs` that `model` does not take, if any.
pub fn unknown_key<'m>(model: Model, keys: impl IntoIterator<Item = &'m String>) -> Option<&'m String> {
    keys.into_iter().find(|key| key.as_str() != "pk" && !accepted(model).contains(&key.as_str()))
}

/// Applies one entry to `build` (its keys are known to be `model`'s); the pk of its row, for `!KeyOf` (`None`:
/// deleted, or absent).
pub fn apply(
    build: &mut Build,
    model: Model,
    state: State,
    identifiers: Map<String, Value>,
    attrs: Map<String, Value>,
) -> Result<Option<Value>, String> {
    if identifiers.is_empty() {
        return Err("no or invalid identifiers".into());
    }
    let mut data = attrs;
    merge_maps(&mut data, identifiers.clone());
    let existing = build.position(model, &identifiers);
    let index = match (state, existing) {
        (State::Absent, Some(i)) => {
            build.remove(model, i);
            return Ok(None);
        }
        (State::Absent, None) => return Ok(None),
        (State::Created, Some(i)) => return Ok(Some(build.pk(model, i))),
        (State::MustCreated, Some(_)) => return Err("state is must_created and the object exists already".into()),
        (_, Some(i)) => i,
        (_, None) => build.create(model, data.get("pk"))?,
    };
    for (key, value) in &data {
        if key != "pk" {
            build.set(model, index, key, value).map_err(|e| format!("{key}: {e}"))?;
        }
    }
    build.check(model, index)?;
    Ok(Some(build.pk(model, index)))
}

/// `deepmerge.always_merger.merge(into, from)`: mappings merged key by key, lists appended, anything else replaced.
fn merge_maps(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (key, value) in from {
        match into.get_mut(&key) {
            Some(slot) => merge(slot, value),
            None => {
                into.insert(key, value);
            }
        }
    }
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => merge_maps(into, from),
        (Value::Array(into), Value::Array(from)) => into.extend(from),
        (into, from) => *into = from,
    }
}

impl Build {
    fn next_pk<'a>(pks: impl Iterator<Item = &'a i64>) -> i64 {
        pks.max().copied().unwrap_or(0) + 1
    }

    /// A new row of `model` with the model's defaults (and `pk` when the identifiers give it); its index.
    fn create(&mut self, model: Model, pk: Option<&Value>) -> Result<usize, String> {
        let int_pk =
            |next: i64| pk.map_or(Ok(next), |pk| pk.as_i64().ok_or_else(|| format!("pk {pk} is not an integer")));
        let uuid_pk = || {
            pk.map_or(Ok(Uuid::new_v4()), |pk| {
                pk.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| format!("pk {pk} is not a uuid"))
            })
        };
        Ok(match model {
            Model::User => {
                let pk = int_pk(Self::next_pk(self.users.iter().map(|r| &r.user.pk)))?;
                self.users.push(UserRow { user: AkUser::new(pk, "", self.now), groups: Vec::new(), password: None });
                self.users.len() - 1
            }
            Model::Group => {
                let num_pk = Self::next_pk(self.groups.iter().map(|r| &r.group.num_pk));
                let group = AkGroup { num_pk, ..AkGroup::new(uuid_pk()?, "") };
                self.groups.push(GroupRow { group, users: Vec::new(), parent: None });
                self.groups.len() - 1
            }
            Model::Token => {
                let expires = self.now + crate::authentik::default_token_duration();
                self.tokens.push(TokenRow {
                    pk: uuid_pk()?,
                    identifier: String::new(),
                    user: 0,
                    key: None,
                    // The model's defaults: `verification`, expiring after `default_token_duration`.
                    intent: Intent::Verification,
                    description: String::new(),
                    expires: Some(Some(expires)),
                    expiring: true,
                });
                self.tokens.len() - 1
            }
            Model::ScopeMapping => {
                let mapping = AkScopeMapping {
                    pk: uuid_pk()?,
                    name: String::new(),
                    managed: None,
                    scope_name: String::new(),
                    description: String::new(),
                    expression: String::new(),
                };
                self.mappings.push(mapping);
                self.mappings.len() - 1
            }
            Model::KeyPair => {
                let pair = AkKeyPair {
                    pk: uuid_pk()?,
                    name: String::new(),
                    key_data: Secret::new(String::new()),
                    certificate_data: String::new(),
                };
                self.key_pairs.push(KeyPairRow { pair, builtin: false });
                self.key_pairs.len() - 1
            }
            Model::Provider => {
                let pk = int_pk(Self::next_pk(self.providers.iter().map(|p| &p.pk)))?;
                self.providers.push(AkProvider::new(pk, ""));
                self.providers.len() - 1
            }
            Model::Application => {
                self.applications.push(AkApplication { pk: uuid_pk()?, ..AkApplication::new("", "") });
                self.applications.len() - 1
            }
            Model::MetaApply | Model::Flow => return Err("this model has no rows".into()),
        })
    }

    fn remove(&mut self, model: Model, index: usize) {
        match model {
            Model::User => {
                let pk = self.users.remove(index).user.pk;
                self.tokens.retain(|t| t.user != pk);
                self.groups.iter_mut().for_each(|g| g.users.retain(|u| *u != pk));
            }
            Model::Group => {
                let pk = self.groups.remove(index).group.pk;
                self.users.iter_mut().for_each(|u| u.groups.retain(|g| *g != pk));
            }
            Model::Token => drop(self.tokens.remove(index)),
            Model::ScopeMapping => {
                let pk = self.mappings.remove(index).pk;
                self.providers.iter_mut().for_each(|p| p.property_mappings.retain(|m| *m != pk));
            }
            Model::KeyPair => {
                let pk = self.key_pairs.remove(index).pair.pk;
                for provider in &mut self.providers {
                    for key in [&mut provider.oauth2.signing_key, &mut provider.oauth2.encryption_key] {
                        if *key == Some(pk) {
                            *key = None;
                        }
                    }
                }
            }
            Model::Provider => {
                let pk = self.providers.remove(index).pk;
                for app in &mut self.applications {
                    app.provider = app.provider.filter(|p| *p != pk);
                    app.backchannel_providers.retain(|p| *p != pk);
                }
            }
            Model::Application => drop(self.applications.remove(index)),
            Model::MetaApply | Model::Flow => {}
        }
    }

    /// Sets one field of a row as the model's serializer reads it.
    fn set(&mut self, model: Model, i: usize, key: &str, value: &Value) -> Result<(), String> {
        match model {
            Model::User => self.set_user(i, key, value),
            Model::Group => self.set_group(i, key, value),
            Model::Token => {
                let user = (key == "user").then(|| reference(self, Model::User, value)).transpose()?;
                let token = &mut self.tokens[i];
                match key {
                    "identifier" => token.identifier = text(value)?,
                    "intent" => token.intent = typed(value)?,
                    "user" => token.user = user.and_then(|pk| pk.as_i64()).unwrap_or_default(),
                    "description" => token.description = text(value)?,
                    "expires" => token.expires = Some(typed(value)?),
                    "expiring" => token.expiring = flag(value)?,
                    _ => token.key = if value.is_null() { None } else { Some(Secret::new(text(value)?)) },
                }
                Ok(())
            }
            Model::ScopeMapping => {
                let mapping = &mut self.mappings[i];
                match key {
                    "name" => mapping.name = text(value)?,
                    "scope_name" => mapping.scope_name = text(value)?,
                    "description" => mapping.description = text(value)?,
                    "expression" => mapping.expression = text(value)?,
                    _ => mapping.managed = if value.is_null() { None } else { Some(text(value)?) },
                }
                Ok(())
            }
            Model::KeyPair => {
                let pair = &mut self.key_pairs[i].pair;
                match key {
                    "name" => pair.name = text(value)?,
                    "certificate_data" => pair.certificate_data = text(value)?,
                    _ => pair.key_data = Secret::new(if value.is_null() { String::new() } else { text(value)? }),
                }
                Ok(())
            }
            Model::Provider => super::provider::set(self, i, key, value),
            Model::Application => super::provider::set_application(self, i, key, value),
            Model::MetaApply | Model::Flow => Ok(()),
        }
    }

    fn set_user(&mut self, i: usize, key: &str, value: &Value) -> Result<(), String> {
        if key == "groups" {
            let groups = items(value)?
                .iter()
                .map(|g| optional_uuid(self, Model::Group, g)?.ok_or_else(|| values::NULL.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            self.users[i].groups = groups;
            return Ok(());
        }
        let row = &mut self.users[i];
        let user = &mut row.user;
        match key {
            "username" => user.username = text(value)?,
            "name" => user.name = text(value)?,
            "email" => user.email = text(value)?,
            "is_active" => user.is_active = flag(value)?,
            "path" => user.path = text(value)?,
            "type" => user.user_type = typed(value)?,
            "attributes" => user.attributes = object(value)?,
            "last_login" => user.last_login = typed(value)?,
            // `set_password` in a blueprint's context, when the password is not empty.
            _ if value.is_null() => {}
            _ => row.password = Some(text(value)?).filter(|p| !p.is_empty()).map(Secret::new).or(row.password.take()),
        }
        Ok(())
    }

    fn set_group(&mut self, i: usize, key: &str, value: &Value) -> Result<(), String> {
        match key {
            "users" => {
                let users = items(value)?
                    .iter()
                    .map(|u| reference(self, Model::User, u).map(|pk| pk.as_i64().unwrap_or_default()))
                    .collect::<Result<Vec<_>, _>>()?;
                self.groups[i].users = users;
            }
            "parent" => self.groups[i].parent = optional_uuid(self, Model::Group, value)?,
            "name" => self.groups[i].group.name = text(value)?,
            "is_superuser" => self.groups[i].group.is_superuser = flag(value)?,
            _ => self.groups[i].group.attributes = object(value)?,
        }
        Ok(())
    }

    /// The checks of a row once its fields are set: required fields, unique ones.
    fn check(&self, model: Model, i: usize) -> Result<(), String> {
        let required = |field: &str, missing: bool| {
            if missing { Err(format!("{field}: This field is required.")) } else { Ok(()) }
        };
        let unique = |field: &str, taken: bool| {
            if taken { Err(format!("{field}: this value is taken by another row")) } else { Ok(()) }
        };
        match model {
            Model::User => {
                let user = &self.users[i].user;
                required("username", user.username.is_empty())?;
                unique(
                    "username",
                    self.users.iter().enumerate().any(|(j, r)| j != i && r.user.username == user.username),
                )
            }
            Model::Group => {
                let group = &self.groups[i].group;
                required("name", group.name.is_empty())?;
                unique("name", self.groups.iter().enumerate().any(|(j, r)| j != i && r.group.name == group.name))
            }
            Model::Token => {
                let token = &self.tokens[i];
                required("identifier", token.identifier.is_empty())?;
                required("user", token.user == 0)?;
                unique(
                    "identifier",
                    self.tokens.iter().enumerate().any(|(j, t)| j != i && t.identifier == token.identifier),
                )
            }
            Model::ScopeMapping => {
                let mapping = &self.mappings[i];
                required("name", mapping.name.is_empty())?;
                required("scope_name", mapping.scope_name.is_empty())?;
                required("expression", mapping.expression.is_empty())?;
                unique("name", self.mappings.iter().enumerate().any(|(j, m)| j != i && m.name == mapping.name))
            }
            Model::KeyPair => {
                let pair = &self.key_pairs[i].pair;
                required("name", pair.name.is_empty())?;
                required("certificate_data", pair.certificate_data.is_empty())?;
                unique("name", self.key_pairs.iter().enumerate().any(|(j, k)| j != i && k.pair.name == pair.name))
            }
            Model::Provider => super::provider::check(self, i),
            Model::Application => {
                let app = &self.applications[i];
                required("name", app.name.is_empty())?;
                required("slug", app.slug.is_empty())?;
                unique("slug", self.applications.iter().enumerate().any(|(j, a)| j != i && a.slug == app.slug))
            }
            Model::MetaApply | Model::Flow => Ok(()),
        }
    }
}
