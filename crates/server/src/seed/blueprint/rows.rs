//! The rows a blueprint builds, on top of what a fresh install holds (the flows, the managed scope mappings, the
//! self-signed key pair), and the lookups of `!Find` and of entries' identifiers over them.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::authentik::FLOWS;
use crate::model::{
    AkApplication, AkGroup, AkKeyPair, AkProvider, AkScopeMapping, AkUser, EC_KEY_PAIR, Intent, RSA_KEY_PAIR,
};
use crate::secrets::Secret;

/// The models a blueprint entry may name, as `app_label.model_name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    User,
    Group,
    Token,
    ScopeMapping,
    KeyPair,
    Provider,
    Application,
    /// `authentik_blueprints.metaapplyblueprint`.
    MetaApply,
    /// `authentik_flows.flow`: only for `!Find`, read-only.
    Flow,
}

impl Model {
    /// The model `name` names (Django's `get_model` ignores the model name's case); `None` when not served.
    pub fn parse(name: &str) -> Option<Model> {
        let (app, model) = name.split_once('.')?;
        Some(match (app, model.to_ascii_lowercase().as_str()) {
            ("authentik_core", "user") => Model::User,
            ("authentik_core", "group") => Model::Group,
            ("authentik_core", "token") => Model::Token,
            ("authentik_providers_oauth2", "scopemapping") => Model::ScopeMapping,
            // `!Find`'s base model: scope mappings are the only property mappings tokenstack holds.
            ("authentik_core", "propertymapping") => Model::ScopeMapping,
            ("authentik_crypto", "certificatekeypair") => Model::KeyPair,
            ("authentik_providers_oauth2", "oauth2provider") => Model::Provider,
            // Likewise: OAuth2 providers are the only providers.
            ("authentik_core", "provider") => Model::Provider,
            ("authentik_core", "application") => Model::Application,
            ("authentik_blueprints", "metaapplyblueprint") => Model::MetaApply,
            ("authentik_flows", "flow") => Model::Flow,
            _ => return None,
        })
    }
}

pub struct UserRow {
    pub user: AkUser,
    /// The pks of the groups the user is in, in order.
    pub groups: Vec<Uuid>,
    /// In plain text, hashed when the seed is read.
    pub password: Option<Secret>,
}

pub struct GroupRow {
    pub group: AkGroup,
    /// The pks of the group's users.
    pub users: Vec<i64>,
    pub parent: Option<Uuid>,
}

pub struct TokenRow {
    pub pk: Uuid,
    pub identifier: String,
    pub user: i64,
    pub key: Option<Secret>,
    pub intent: Intent,
    pub description: String,
    pub expires: Option<Option<DateTime<Utc>>>,
    pub expiring: bool,
}

pub struct KeyPairRow {
    pub pair: AkKeyPair,
    /// One of the stand-in pairs tokenstack makes at start-up (no key data here).
    pub builtin: bool,
}

/// Every row of the state a blueprint builds, in the order made.
pub struct Build {
    pub now: DateTime<Utc>,
    pub users: Vec<UserRow>,
    pub groups: Vec<GroupRow>,
    pub tokens: Vec<TokenRow>,
    pub mappings: Vec<AkScopeMapping>,
    pub key_pairs: Vec<KeyPairRow>,
    pub providers: Vec<AkProvider>,
    pub applications: Vec<AkApplication>,
}

impl Build {
    /// What a fresh install holds: the managed scope mappings and the self-signed key pair (the flows are fixed).
    pub fn fresh(now: DateTime<Utc>) -> Build {
        let builtin = |(pk, name): (Uuid, &str)| KeyPairRow {
            pair: AkKeyPair {
                pk,
                name: name.to_owned(),
                key_data: Secret::new(String::new()),
                certificate_data: String::new(),
            },
            builtin: true,
        };
        Build {
            now,
            users: Vec::new(),
            groups: Vec::new(),
            tokens: Vec::new(),
            mappings: crate::authentik::managed_scope_mappings(),
            key_pairs: vec![builtin(RSA_KEY_PAIR), builtin(EC_KEY_PAIR)],
            providers: Vec::new(),
            applications: Vec::new(),
        }
    }

    /// How many rows `model` has.
    pub fn len(&self, model: Model) -> usize {
        match model {
            Model::Flow => FLOWS.len(),
            Model::User => self.users.len(),
            Model::Group => self.groups.len(),
            Model::Token => self.tokens.len(),
            Model::ScopeMapping => self.mappings.len(),
            Model::KeyPair => self.key_pairs.len(),
            Model::Provider => self.providers.len(),
            Model::Application => self.applications.len(),
            Model::MetaApply => 0,
        }
    }

    /// The pk of row `i` of `model`, as `!KeyOf` and `!Find` give it.
    pub fn pk(&self, model: Model, i: usize) -> Value {
        self.field(model, i, "pk")
    }

    /// One lookup field of row `i` of `model` (`null` for a field it lacks): what `!Find` and identifiers match.
    pub fn field(&self, model: Model, i: usize, name: &str) -> Value {
        match (model, name) {
            (Model::Flow, "pk" | "flow_uuid") => json!(FLOWS[i].pk),
            (Model::Flow, "slug") => json!(FLOWS[i].slug),
            (Model::Flow, "name") => json!(FLOWS[i].name),
            (Model::Flow, "title") => json!(FLOWS[i].title),
            (Model::Flow, "designation") => json!(FLOWS[i].designation),
            (Model::User, "pk" | "id") => json!(self.users[i].user.pk),
            (Model::User, "username") => json!(self.users[i].user.username),
            (Model::User, "name") => json!(self.users[i].user.name),
            (Model::User, "email") => json!(self.users[i].user.email),
            (Model::User, "uuid") => json!(self.users[i].user.uuid),
            (Model::User, "path") => json!(self.users[i].user.path),
            (Model::User, "type") => json!(self.users[i].user.user_type.as_str()),
            (Model::User, "is_active") => json!(self.users[i].user.is_active),
            (Model::Group, "pk" | "group_uuid") => json!(self.groups[i].group.pk),
            (Model::Group, "name") => json!(self.groups[i].group.name),
            (Model::Group, "is_superuser") => json!(self.groups[i].group.is_superuser),
            (Model::Group, "num_pk") => json!(self.groups[i].group.num_pk),
            (Model::Group, "parent") => json!(self.groups[i].parent),
            (Model::Token, "pk" | "token_uuid") => json!(self.tokens[i].pk),
            (Model::Token, "identifier") => json!(self.tokens[i].identifier),
            (Model::Token, "user") => json!(self.tokens[i].user),
            (Model::Token, "intent") => json!(self.tokens[i].intent.as_str()),
            (Model::Token, "expiring") => json!(self.tokens[i].expiring),
            (Model::Token, "description") => json!(self.tokens[i].description),
            (Model::ScopeMapping, "pk" | "pm_uuid") => json!(self.mappings[i].pk),
            (Model::ScopeMapping, "name") => json!(self.mappings[i].name),
            (Model::ScopeMapping, "managed") => json!(self.mappings[i].managed),
            (Model::ScopeMapping, "scope_name") => json!(self.mappings[i].scope_name),
            (Model::KeyPair, "pk" | "kp_uuid") => json!(self.key_pairs[i].pair.pk),
            (Model::KeyPair, "name") => json!(self.key_pairs[i].pair.name),
            (Model::Provider, "pk" | "id") => json!(self.providers[i].pk),
            (Model::Provider, "name") => json!(self.providers[i].name),
            (Model::Provider, "client_id") => json!(self.providers[i].oauth2.client_id),
            (Model::Application, "pk" | "pbm_uuid") => json!(self.applications[i].pk),
            (Model::Application, "name") => json!(self.applications[i].name),
            (Model::Application, "slug") => json!(self.applications[i].slug),
            (Model::Application, "provider") => json!(self.applications[i].provider),
            _ => Value::Null,
        }
    }

    /// The index of the first row of `model` whose fields equal every `(field, value)`.
    fn first(&self, model: Model, conditions: &[(&str, &Value)]) -> Option<usize> {
        (0..self.len(model))
            .find(|i| conditions.iter().all(|(field, value)| same(&self.field(model, *i, field), value)))
    }

    /// The pk of the row of `model` whose pk is `value` (a uuid or a number, or its string).
    pub fn pk_named(&self, model: Model, value: &Value) -> Option<Value> {
        self.first(model, &[("pk", value)]).map(|i| self.pk(model, i))
    }

    /// `!Find [model, [field, value], …]`: the pk of the first row whose fields equal every value, or `null`.
    pub fn find(&self, model: &str, conditions: &[(String, Value)]) -> Result<Value, String> {
        let Some(parsed) = Model::parse(model).filter(|m| *m != Model::MetaApply) else {
            return Err(format!("the model {model} is not served by tokenstack"));
        };
        if let Some((field, _)) = conditions.iter().find(|(field, _)| !known_field(parsed, field)) {
            return Err(format!("{model} has no field {field:?} tokenstack can look up"));
        }
        let conditions: Vec<(&str, &Value)> = conditions.iter().map(|(f, v)| (f.as_str(), v)).collect();
        Ok(self.first(parsed, &conditions).map_or(Value::Null, |i| self.pk(parsed, i)))
    }

    /// The index of the row an entry's identifiers name: `pk` equal, or every other identifier equal (upstream's
    /// `Q(pk=…) | Q(other…)`).
    pub fn position(&self, model: Model, identifiers: &serde_json::Map<String, Value>) -> Option<usize> {
        let by_pk = identifiers.get("pk").and_then(|pk| self.first(model, &[("pk", pk)]));
        let others: Vec<(&str, &Value)> =
            identifiers.iter().filter(|(k, _)| k.as_str() != "pk").map(|(k, v)| (k.as_str(), v)).collect();
        by_pk.or_else(|| (!others.is_empty()).then(|| self.first(model, &others)).flatten())
    }
}

/// Whether `field` is a lookup field of `model`'s rows.
pub fn known_field(model: Model, field: &str) -> bool {
    let fields: &[&str] = match model {
        Model::Flow => &["slug", "name", "title", "designation", "flow_uuid"],
        Model::User => &["username", "name", "email", "uuid", "path", "type", "is_active", "id"],
        Model::Group => &["name", "is_superuser", "num_pk", "parent", "group_uuid"],
        Model::Token => &["identifier", "user", "intent", "expiring", "description", "token_uuid"],
        Model::ScopeMapping => &["name", "managed", "scope_name", "pm_uuid"],
        Model::KeyPair => &["name", "kp_uuid"],
        Model::Provider => &["name", "client_id", "id"],
        Model::Application => &["name", "slug", "provider", "pbm_uuid"],
        Model::MetaApply => &[],
    };
    field == "pk" || fields.contains(&field)
}

/// Django's comparison of a stored value with a looked-up one: a uuid or a number matches its string.
fn same(stored: &Value, given: &Value) -> bool {
    match (stored, given) {
        (Value::String(a), Value::String(b)) => {
            a == b || Uuid::parse_str(a).ok().is_some_and(|a| Uuid::parse_str(b).ok() == Some(a))
        }
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => a.to_string() == *b,
        (a, b) => a == b,
    }
}
