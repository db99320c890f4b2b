//! NetBird's part of the seed format: users with their PATs, groups, peers and accounts as stored, and setup
//! keys, given with their plain `key` (stored only as its hash and hidden form, as a create through the API stores
//! it) or as an export writes them (`key_hash` and `key_secret`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{SeedError, default_account};
use crate::model::{NbAccount, NbGroup, NbPeer, NbRole, NbSetupKey, SetupKeyType};
use crate::secrets::{Secret, hash_setup_key, new_xid_like_id};

/// A setup key of the seed: `key` (any case; upper-cased as upstream does before hashing) or `key_hash` and
/// `key_secret`; `id` is generated when absent, `created_at` and `updated_at` default to start-up.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SetupKeySeed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default = "default_account")]
    pub account_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_secret: Option<String>,
    #[serde(rename = "type", default = "reusable")]
    pub key_type: SetupKeyType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Absent: the key never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default)]
    pub used_times: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
    #[serde(default)]
    pub auto_groups: Vec<String>,
    #[serde(default)]
    pub usage_limit: i64,
    #[serde(default)]
    pub ephemeral: bool,
    #[serde(default)]
    pub allow_extra_dns_labels: bool,
}

fn reusable() -> SetupKeyType {
    SetupKeyType::Reusable
}

impl SetupKeySeed {
    /// The stored key: its hash and hidden form from `key`, or as given.
    pub fn into_key(self, now: DateTime<Utc>) -> Result<NbSetupKey, SeedError> {
        let (key_hash, key_secret) = match (self.key, self.key_hash, self.key_secret) {
            (Some(plain), None, None) => {
                let upper = plain.expose().to_uppercase();
                let hidden = format!("{}****", upper.chars().take(5).collect::<String>());
                (hash_setup_key(&upper), hidden)
            }
            (None, Some(hash), Some(secret)) => (hash, secret),
            _ => {
                return Err(SeedError::Invalid(format!(
                    "setup key {:?}: give either key or both key_hash and key_secret",
                    self.name
                )));
            }
        };
        Ok(NbSetupKey {
            id: self.id.unwrap_or_else(new_xid_like_id),
            account_id: self.account_id,
            key_hash,
            key_secret,
            name: self.name,
            key_type: self.key_type,
            created_at: self.created_at.unwrap_or(now),
            expires_at: self.expires_at,
            updated_at: self.updated_at.unwrap_or(now),
            revoked: self.revoked,
            used_times: self.used_times,
            last_used: self.last_used,
            auto_groups: self.auto_groups,
            usage_limit: if self.key_type == SetupKeyType::OneOff { 1 } else { self.usage_limit },
            ephemeral: self.ephemeral,
            allow_extra_dns_labels: self.allow_extra_dns_labels,
        })
    }

    /// The seed form of a stored key (its hash, never a plain key).
    pub fn of(key: &NbSetupKey) -> SetupKeySeed {
        let key = key.clone();
        SetupKeySeed {
            id: Some(key.id),
            account_id: key.account_id,
            name: key.name,
            key: None,
            key_hash: Some(key.key_hash),
            key_secret: Some(key.key_secret),
            key_type: key.key_type,
            created_at: Some(key.created_at),
            updated_at: Some(key.updated_at),
            expires_at: key.expires_at,
            revoked: key.revoked,
            used_times: key.used_times,
            last_used: key.last_used,
            auto_groups: key.auto_groups,
            usage_limit: key.usage_limit,
            ephemeral: key.ephemeral,
            allow_extra_dns_labels: key.allow_extra_dns_labels,
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetbirdSeed {
    pub users: Vec<NbUserSeed>,
    /// Groups besides each account's `All` (which every account gets anyway), as stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<NbGroup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup_keys: Vec<SetupKeySeed>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<NbPeer>,
    /// Accounts whose settings were read or changed (`GET`/`PUT /api/accounts`), as stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<NbAccount>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NbUserSeed {
    pub id: String,
    #[serde(default = "default_account")]
    pub account_id: String,
    pub role: NbRole,
    #[serde(default)]
    pub service_user: bool,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    /// Group ids assigned to the peers the user registers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_groups: Vec<String>,
    #[serde(default)]
    pub pats: Vec<PatSeed>,
}

/// A PAT given in plain text (`nbp_…`), or as the stored hash (`hashed_token`, as an export writes it);
/// only the hash is stored.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PatSeed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// `base64(sha256(pat))`, instead of `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashed_token: Option<String>,
    /// Days until expiry (default 365).
    #[serde(default = "default_expires_in")]
    pub expires_in: i64,
    /// Exact expiry, instead of `expires_in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
}

pub(super) fn default_expires_in() -> i64 {
    365
}
