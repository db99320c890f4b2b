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

    /// The lookup fields of every row of `model`, with its pk: what `!Find` and identifiers match.
    pub fn rows(&self, model: Model) -> Vec<(Value, Value)> {
        let with = |pk: Value, mut fields: Value, pk_name: &str| {
            fields["pk"] = pk.clone();
            fields[pk_name] = pk.clone();
            (pk, fields)
        };
        match model {
            Model::Flow => FLOWS
                .iter()
                .map(|f| {
                    let fields =
                        json!({"slug": f.slug, "name": f.name, "title": f.title, "designation": f.designation});
                    with(json!(f.pk), fields, "flow_uuid")
                })
                .collect(),
            Model::User => self
                .users
                .iter()
                .map(|r| {
                    let u = &r.user;
                    let fields = json!({"username": u.username, "name": u.name, "email": u.email, "uuid": u.uuid,
                        "path": u.path, "type": u.user_type.as_str(), "is_active": u.is_active});
                    with(json!(u.pk), fields, "id")
                })
                .collect(),
            Model::Group => self
                .groups
                .iter()
                .map(|r| {
                    let g = &r.group;
                    let fields = json!({"name": g.name, "is_superuser": g.is_superuser, "num_pk": g.num_pk,
                        "parent": r.parent});
                    with(json!(g.pk), fields, "group_uuid")
                })
                .collect(),
            Model::Token => self
                .tokens
                .iter()
                .map(|t| {
                    let fields = json!({"identifier": t.identifier, "user": t.user, "intent": t.intent.as_str(),
                        "expiring": t.expiring, "description": t.description});
                    with(json!(t.pk), fields, "token_uuid")
                })
                .collect(),
            Model::ScopeMapping => self
                .mappings
                .iter()
                .map(|m| {
                    let fields = json!({"name": m.name, "managed": m.managed, "scope_name": m.scope_name});
                    with(json!(m.pk), fields, "pm_uuid")
                })
                .collect(),
            Model::KeyPair => {
                self.key_pairs.iter().map(|k| with(json!(k.pair.pk), json!({"name": k.pair.name}), "kp_uuid")).collect()
            }
            Model::Provider => self
                .providers
                .iter()
                .map(|p| with(json!(p.pk), json!({"name": p.name, "client_id": p.oauth2.client_id}), "id"))
                .collect(),
            Model::Application => self
                .applications
                .iter()
                .map(|a| {
                    let fields = json!({"name": a.name, "slug": a.slug, "provider": a.provider});
                    with(json!(a.pk), fields, "pbm_uuid")
                })
                .collect(),
            Model::MetaApply => Vec::new(),
        }
    }

    /// `!Find [model, [field, value], …]`: the pk of the first row whose fields equal every value, or `null`.
    pub fn find(&self, model: &str, conditions: &[(String, Value)]) -> Result<Value, String> {
        let Some(parsed) = Model::parse(model).filter(|m| *m != Model::MetaApply) else {
            return Err(format!("the model {model} is not served by tokenstack"));
        };
        let rows = self.rows(parsed);
        if let Some((field, _)) = conditions.iter().find(|(field, _)| !known_field(parsed, field)) {
            return Err(format!("{model} has no field {field:?} tokenstack can look up"));
        }
        Ok(rows
            .into_iter()
            .find(|(_, fields)| conditions.iter().all(|(field, value)| same(&fields[field.as_str()], value)))
            .map_or(Value::Null, |(pk, _)| pk))
    }

    /// The index of the row an entry's identifiers name: `pk` equal, or every other identifier equal (upstream's
    /// `Q(pk=…) | Q(other…)`).
    pub fn position(&self, model: Model, identifiers: &serde_json::Map<String, Value>) -> Option<usize> {
        let rows = self.rows(model);
        let by_pk = identifiers.get("pk").and_then(|pk| rows.iter().position(|(row_pk, _)| same(row_pk, pk)));
        let others: Vec<_> = identifiers.iter().filter(|(k, _)| k.as_str() != "pk").collect();
        by_pk.or_else(|| {
            (!others.is_empty())
                .then(|| rows.iter().position(|(_, fields)| others.iter().all(|(k, v)| same(&fields[k.as_str()], v))))
                .flatten()
        })
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
