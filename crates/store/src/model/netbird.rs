//! NetBird's account objects beyond users and PATs: groups and setup keys.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The name of the group every account has, which holds every peer (`types.GroupAllName`).
pub const GROUP_ALL: &str = "All";

/// A NetBird group (`types.Group`): unique by id; its name is unique within its account (a rule, as upstream's
/// `validateNewGroup`, not a store key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbGroup {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// Who made it: `api`, `jwt` or `integration` (`types.GroupIssuedAPI` …).
    #[serde(default = "default_issued")]
    pub issued: String,
    /// The ids of its peers.
    #[serde(default)]
    pub peers: Vec<String>,
    /// The network resources it holds (`types.Resource`), as the API gave them.
    #[serde(default)]
    pub resources: Vec<NbResource>,
}

/// A resource of a group (`types.Resource`): an id and its type (`peer`, `host`, `subnet` or `domain`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbResource {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

fn default_issued() -> String {
    "api".to_owned()
}

impl NbGroup {
    /// A group made through the API, without peers.
    pub fn new(id: impl Into<String>, account_id: impl Into<String>, name: impl Into<String>) -> Self {
        NbGroup {
            id: id.into(),
            account_id: account_id.into(),
            name: name.into(),
            issued: default_issued(),
            peers: Vec::new(),
            resources: Vec::new(),
        }
    }
}

/// A setup key's type (`types.SetupKeyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetupKeyType {
    #[serde(rename = "reusable")]
    Reusable,
    #[serde(rename = "one-off")]
    OneOff,
}

impl SetupKeyType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SetupKeyType::Reusable => "reusable",
            SetupKeyType::OneOff => "one-off",
        }
    }

    /// The type of a wire name, exactly (upstream compares the string).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "reusable" => Some(SetupKeyType::Reusable),
            "one-off" => Some(SetupKeyType::OneOff),
            _ => None,
        }
    }
}

/// A NetBird setup key (`types.SetupKey`): only the hash of the plain key is kept (`key_hash`, upstream's `Key`:
/// base64 of its SHA-256), with the hidden form the API shows (`key_secret`: its first 5 characters and `****`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbSetupKey {
    pub id: String,
    pub account_id: String,
    pub key_hash: String,
    pub key_secret: String,
    pub name: String,
    #[serde(rename = "type")]
    pub key_type: SetupKeyType,
    pub created_at: DateTime<Utc>,
    /// `None`: the key never expires.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub revoked: bool,
    #[serde(default)]
    pub used_times: i64,
    #[serde(default)]
    pub last_used: Option<DateTime<Utc>>,
    #[serde(default)]
    pub auto_groups: Vec<String>,
    /// 0 (or less): unlimited; a one-off key has 1.
    #[serde(default)]
    pub usage_limit: i64,
    #[serde(default)]
    pub ephemeral: bool,
    #[serde(default)]
    pub allow_extra_dns_labels: bool,
}

impl NbSetupKey {
    /// `IsExpired`: a key with an expiry is expired once `now` is after it.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| now > at)
    }

    /// `IsOverUsed`: a one-off key counts as limited to 1 whatever its stored limit; 0 or less is unlimited.
    pub fn is_overused(&self) -> bool {
        let limit = if self.key_type == SetupKeyType::OneOff { 1 } else { self.usage_limit };
        limit > 0 && self.used_times >= limit
    }

    /// `IsValid`: not revoked, not expired, not overused.
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && !self.is_expired(now) && !self.is_overused()
    }

    /// `ToResponseBody`'s state: expired, then revoked, then overused, else valid.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.is_expired(now) {
            "expired"
        } else if self.revoked {
            "revoked"
        } else if self.is_overused() {
            "overused"
        } else {
            "valid"
        }
    }
}

/// The hash stays out of logs.
impl fmt::Debug for NbSetupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NbSetupKey")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("key_hash", &"***")
            .field("key_secret", &self.key_secret)
            .field("name", &self.name)
            .field("key_type", &self.key_type)
            .field("expires_at", &self.expires_at)
            .field("revoked", &self.revoked)
            .field("used_times", &self.used_times)
            .field("usage_limit", &self.usage_limit)
            .finish_non_exhaustive()
    }
}

/// A NetBird peer (`nbpeer.Peer`), as a setup-key login makes it: unique by id and by WireGuard key; its name and
/// DNS label come from the hostname, and its groups are kept on the groups (`NbGroup::peers`), as upstream's
/// group-peer table keeps them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbPeer {
    pub id: String,
    pub account_id: String,
    /// The WireGuard public key (upstream's `Key`, unique).
    pub key: String,
    pub name: String,
    /// The overlay IPv4 address.
    pub ip: String,
    /// The overlay IPv6 address, for a peer in a group of the account's `ipv6_enabled_groups`.
    #[serde(default)]
    pub ipv6: Option<String>,
    pub dns_label: String,
    /// The user who enrolled it; empty for a setup-key peer.
    #[serde(default)]
    pub user_id: String,
    pub created_at: DateTime<Utc>,
    pub last_login: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    #[serde(default)]
    pub connected: bool,
    #[serde(default)]
    pub ssh_enabled: bool,
    #[serde(default)]
    pub login_expiration_enabled: bool,
    #[serde(default)]
    pub inactivity_expiration_enabled: bool,
    #[serde(default)]
    pub ephemeral: bool,
    #[serde(default)]
    pub extra_dns_labels: Vec<String>,
    #[serde(default)]
    pub allow_extra_dns_labels: bool,
    /// The agent's system meta (`PeerSystemMeta`).
    #[serde(default)]
    pub meta: NbPeerMeta,
    #[serde(default)]
    pub connection_ip: String,
    /// The setup key it joined with, if any.
    #[serde(default)]
    pub setup_key_id: Option<String>,
}

/// What an agent reports about its machine (`nbpeer.PeerSystemMeta`), the part the API shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NbPeerMeta {
    pub hostname: String,
    pub os: String,
    pub os_version: String,
    pub kernel_version: String,
    pub version: String,
    pub ui_version: String,
    pub serial_number: String,
}

/// A NetBird account (`types.Account`), the part the accounts API shows: made where tokenstack's accounts come
/// into being, with the settings a fresh account has until `PUT /api/accounts/{id}` changes them. `settings` and
/// `onboarding` are the API's documents (`api.AccountSettings`, `api.AccountOnboarding`), as last stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NbAccount {
    pub id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub domain_category: String,
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub onboarding: serde_json::Map<String, serde_json::Value>,
}
