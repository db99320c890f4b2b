//! Accounts (`/api/accounts`, `accounts_handler.go`, `management/server/account.go`, `settings/manager.go`): the
//! caller's account with its settings and onboarding, and the settings update.
//!
//! A fresh account has the settings `newAccountWithId` gives it (peer login expiration on at 24 hours, regular
//! users' views blocked, IPv6 for the `All` group, …). The account row is stored the first time it is read or
//! changed, so its `created_at` stays put; its networks are derived from its id, as peers' addresses are.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::permissions::{Operation, allows};
use super::*;
use crate::model::NbAccount;
use crate::store::Field;

/// The settings as the API shows them (`api.AccountSettings`), with upstream's zero values for what a request
/// leaves out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub peer_login_expiration_enabled: bool,
    pub peer_login_expiration: i64,
    pub peer_inactivity_expiration_enabled: bool,
    pub peer_inactivity_expiration: i64,
    pub regular_users_view_blocked: bool,
    pub groups_propagation_enabled: bool,
    pub jwt_groups_enabled: bool,
    pub jwt_groups_claim_name: String,
    pub jwt_allow_groups: Vec<String>,
    pub routing_peer_dns_resolution_enabled: bool,
    pub dns_domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_range: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_range_v6: Option<String>,
    pub peer_expose_enabled: bool,
    pub peer_expose_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra: Option<ExtraSettings>,
    pub lazy_connection_enabled: bool,
    pub auto_update_version: String,
    pub auto_update_always: bool,
    pub metrics_push_enabled: bool,
    pub agent_network_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard_features: Option<DashboardFeatures>,
    pub embedded_idp_enabled: bool,
    pub local_auth_disabled: bool,
    pub local_mfa_enabled: bool,
    pub ipv6_enabled_groups: Vec<String>,
}

/// `api.AccountExtraSettings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtraSettings {
    pub peer_approval_enabled: bool,
    pub user_approval_required: bool,
    pub network_traffic_logs_enabled: bool,
    pub network_traffic_logs_groups: Vec<String>,
    pub network_traffic_packet_counter_enabled: bool,
}

/// `api.AccountDashboardFeatures`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DashboardFeatures {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_network: Option<bool>,
}

impl Settings {
    /// The settings of a fresh account (`newAccountWithId`).
    fn fresh(account_id: &str) -> Self {
        Settings {
            peer_login_expiration_enabled: true,
            peer_login_expiration: 24 * 3600,
            peer_inactivity_expiration: 600,
            regular_users_view_blocked: true,
            groups_propagation_enabled: true,
            routing_peer_dns_resolution_enabled: true,
            extra: Some(ExtraSettings { user_approval_required: true, ..ExtraSettings::default() }),
            lazy_connection_enabled: true,
            ipv6_enabled_groups: vec![all_group(account_id).id],
            ..Settings::default()
        }
    }

    pub fn regular_users_view_blocked(&self) -> bool {
        self.regular_users_view_blocked
    }
}

/// An account as `GET /api/accounts` shows it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub account: NbAccount,
    pub settings: Settings,
    pub signup_form_pending: bool,
    pub onboarding_flow_pending: bool,
}

/// The account's IPv6 network, a /64 of fd00::/8 derived from its id (upstream draws it when the account is made).
pub fn account_network_v6(account_id: &str) -> [u8; 8] {
    let digest = Sha256::digest(format!("tokenstack NetBird IPv6 network of account {account_id}"));
    let mut prefix = [0u8; 8];
    prefix[0] = 0xfd;
    prefix[1..].copy_from_slice(&digest[..7]);
    prefix
}

fn format_v6_prefix(prefix: [u8; 8]) -> String {
    let words: Vec<String> =
        prefix.chunks(2).map(|pair| format!("{:x}", u16::from_be_bytes([pair[0], pair[1]]))).collect();
    format!("{}::/64", words.join(":"))
}

/// `GetEffectiveNetworkRanges`: the networks the account's peers get addresses from, unless the settings name
/// their own.
fn with_effective_ranges(mut settings: Settings, account_id: &str) -> Settings {
    let v4 = format!("100.{}.0.0/16", super::peers::account_network(account_id));
    settings.network_range.get_or_insert(v4);
    settings.network_range_v6.get_or_insert_with(|| format_v6_prefix(account_network_v6(account_id)));
    settings
}

/// The onboarding flags of a stored account (a fresh one has both pending).
fn onboarding(account: &NbAccount) -> (bool, bool) {
    let flag = |name: &str| account.onboarding.get(name).and_then(Value::as_bool).unwrap_or(true);
    (flag("signup_form_pending"), flag("onboarding_flow_pending"))
}

/// `IsValidDomainNoWildcard`: dot-separated labels of letters, digits and inner hyphens, at most 255 characters.
fn valid_domain(domain: &str) -> bool {
    domain.len() <= 255
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `auto_update_version`: `latest`, `disabled`, empty or a semantic version (`go-version`'s `NewSemver`).
fn valid_auto_update_version(version: &str) -> bool {
    if matches!(version, "" | "latest" | "disabled") {
        return true;
    }
    let core = version.strip_prefix('v').unwrap_or(version);
    let core = core.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    (1..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

impl NetBird<'_> {
    /// `GET /api/accounts`: a one-element list with the caller's account. `accounts` read (403) and `settings`
    /// read (403), then the stored settings with the effective network ranges filled in.
    pub async fn list_accounts(&self, caller: &NbUser) -> Result<Vec<AccountView>, NbError> {
        if !allows(caller, "accounts", Operation::Read) || !allows(caller, "settings", Operation::Read) {
            return Err(NbError::PermissionDenied);
        }
        let account = self.account(&caller.account_id).await?;
        let settings = with_effective_ranges(self.account_settings(&caller.account_id).await?, &account.id);
        let (signup_form_pending, onboarding_flow_pending) = onboarding(&account);
        Ok(vec![AccountView { account, settings, signup_form_pending, onboarding_flow_pending }])
    }

    /// `PUT /api/accounts/{accountId}`: the handler decodes the body (400) and builds the new settings from it
    /// (what it leaves out is zero, as upstream saves the request's settings whole); `peer expose requires at
    /// least one group` and the agent network rule (422); then the `settings` update grant on that account (403,
    /// `failed to validate user permissions: user is not part of this account` for another account) and
    /// `validateSettingsUpdate` (422).
    pub async fn update_account(&self, caller: &NbUser, id: &str, body: &Value) -> Result<AccountView, NbError> {
        let mut decoder = GoStruct::new(body)?;
        let settings = match decoder.optional_struct("settings")? {
            Some(mut s) => decode_settings(&mut s)?,
            None => Settings::default(),
        };
        let onboarding = match decoder.optional_struct("onboarding")? {
            Some(mut o) => Some((o.boolean("signup_form_pending")?, o.boolean("onboarding_flow_pending")?)),
            None => None,
        };
        if settings.peer_expose_enabled && settings.peer_expose_groups.is_empty() {
            return Err(NbError::AccountSettingsInvalid("peer expose requires at least one group".to_owned()));
        }
        if !valid_auto_update_version(&settings.auto_update_version) {
            return Err(NbError::AccountSettingsInvalid("invalid autoupdateversion".to_owned()));
        }
        let agent_network = settings.dashboard_features.as_ref().and_then(|f| f.agent_network);
        if settings.agent_network_only && agent_network != Some(true) {
            return Err(NbError::AccountSettingsInvalid(
                "agent network only mode requires dashboard_features.agent_network to be enabled".to_owned(),
            ));
        }
        if caller.account_id != id {
            return Err(NbError::NotPartOfAccount);
        }
        if !allows(caller, "settings", Operation::Update) {
            return Err(NbError::PermissionDenied);
        }
        let day = 24 * 3600;
        if settings.peer_login_expiration > 180 * day {
            return Err(NbError::AccountSettingsInvalid("peer login expiration can't be larger than 180 days".into()));
        }
        if settings.peer_login_expiration < 3600 {
            return Err(NbError::AccountSettingsInvalid("peer login expiration can't be smaller than one hour".into()));
        }
        if !settings.dns_domain.is_empty() && !valid_domain(&settings.dns_domain) {
            let message = format!("invalid domain \"{}\" provided for dns domain", settings.dns_domain);
            return Err(NbError::AccountSettingsInvalid(message));
        }
        for group in &settings.ipv6_enabled_groups {
            if self.account_group(id, group).await?.is_none() {
                return Err(NbError::AccountSettingsInvalid(format!("group {group} not found")));
            }
        }
        let mut account = self.account(id).await?;
        account.settings = match serde_json::to_value(&settings) {
            Ok(Value::Object(map)) => map,
            _ => Default::default(),
        };
        if let Some((signup, flow)) = onboarding {
            account.onboarding = serde_json::Map::from_iter([
                ("signup_form_pending".to_owned(), Value::Bool(signup)),
                ("onboarding_flow_pending".to_owned(), Value::Bool(flow)),
            ]);
        }
        self.store.replace(account.clone()).await?;
        let settings = with_effective_ranges(settings, id);
        let (signup_form_pending, onboarding_flow_pending) = super::accounts::onboarding(&account);
        Ok(AccountView { account, settings, signup_form_pending, onboarding_flow_pending })
    }

    /// The account's settings: as stored, or a fresh account's.
    pub(super) async fn account_settings(&self, account_id: &str) -> Result<Settings, NbError> {
        match self.store.get::<NbAccount>(Field::Id, account_id).await {
            Ok(account) if !account.settings.is_empty() => {
                Ok(serde_json::from_value(Value::Object(account.settings))
                    .unwrap_or_else(|_| Settings::fresh(account_id)))
            }
            Ok(_) | Err(StoreError::NotFound) => Ok(Settings::fresh(account_id)),
            Err(e) => Err(e.into()),
        }
    }

    /// The stored account, stored now (with a fresh account's settings) if it was not yet.
    async fn account(&self, account_id: &str) -> Result<NbAccount, NbError> {
        match self.store.get::<NbAccount>(Field::Id, account_id).await {
            Ok(account) => return Ok(account),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let users = self.store.all::<NbUser>().await?;
        let owner = users.iter().find(|user| user.account_id == account_id && user.role == NbRole::Owner);
        let settings = match serde_json::to_value(Settings::fresh(account_id)) {
            Ok(Value::Object(map)) => map,
            _ => Default::default(),
        };
        let account = NbAccount {
            id: account_id.to_owned(),
            created_at: self.now,
            created_by: owner.map(|user| user.id.clone()).unwrap_or_default(),
            domain: String::new(),
            domain_category: String::new(),
            settings,
            onboarding: Default::default(),
        };
        match self.store.insert(account).await {
            Ok(account) => Ok(account),
            // Another request stored it first.
            Err(StoreError::Duplicate { .. }) => Ok(self.store.get::<NbAccount>(Field::Id, account_id).await?),
            Err(e) => Err(e.into()),
        }
    }
}

/// `updateAccountRequestSettings`: the request's settings, Go's zero values for what it leaves out.
fn decode_settings(s: &mut GoStruct<'_>) -> Result<Settings, NbError> {
    let extra = match s.optional_struct("extra")? {
        Some(mut e) => Some(ExtraSettings {
            peer_approval_enabled: e.boolean("peer_approval_enabled")?,
            user_approval_required: e.boolean("user_approval_required")?,
            network_traffic_logs_enabled: e.boolean("network_traffic_logs_enabled")?,
            network_traffic_logs_groups: e.strings("network_traffic_logs_groups")?.unwrap_or_default(),
            network_traffic_packet_counter_enabled: e.boolean("network_traffic_packet_counter_enabled")?,
        }),
        None => None,
    };
    let dashboard_features = match s.optional_struct("dashboard_features")? {
        Some(mut d) => Some(DashboardFeatures { agent_network: d.optional_bool("agent_network")? }),
        None => None,
    };
    let settings = Settings {
        peer_login_expiration_enabled: s.boolean("peer_login_expiration_enabled")?,
        peer_login_expiration: s.int("peer_login_expiration")?,
        peer_inactivity_expiration_enabled: s.boolean("peer_inactivity_expiration_enabled")?,
        peer_inactivity_expiration: s.int("peer_inactivity_expiration")?,
        regular_users_view_blocked: s.boolean("regular_users_view_blocked")?,
        groups_propagation_enabled: s.boolean("groups_propagation_enabled")?,
        jwt_groups_enabled: s.boolean("jwt_groups_enabled")?,
        jwt_groups_claim_name: s.string("jwt_groups_claim_name")?,
        jwt_allow_groups: s.strings("jwt_allow_groups")?.unwrap_or_default(),
        routing_peer_dns_resolution_enabled: s.boolean("routing_peer_dns_resolution_enabled")?,
        dns_domain: s.string("dns_domain")?,
        network_range: s.optional_string("network_range")?.filter(|range| !range.is_empty()),
        network_range_v6: s.optional_string("network_range_v6")?.filter(|range| !range.is_empty()),
        peer_expose_enabled: s.boolean("peer_expose_enabled")?,
        peer_expose_groups: s.strings("peer_expose_groups")?.unwrap_or_default(),
        extra,
        lazy_connection_enabled: s.boolean("lazy_connection_enabled")?,
        auto_update_version: s.string("auto_update_version")?,
        auto_update_always: s.boolean("auto_update_always")?,
        metrics_push_enabled: s.boolean("metrics_push_enabled")?,
        agent_network_only: s.boolean("agent_network_only")?,
        dashboard_features,
        embedded_idp_enabled: false,
        local_auth_disabled: false,
        local_mfa_enabled: s.boolean("local_mfa_enabled")?,
        ipv6_enabled_groups: s.strings("ipv6_enabled_groups")?.unwrap_or_default(),
    };
    let texts = [&settings.jwt_groups_claim_name, &settings.dns_domain, &settings.auto_update_version];
    let lists = [&settings.jwt_allow_groups, &settings.peer_expose_groups, &settings.ipv6_enabled_groups];
    if texts.iter().any(|t| t.chars().any(char::is_control))
        || lists.iter().flat_map(|l| l.iter()).any(|t| t.chars().any(char::is_control))
    {
        return Err(NbError::ControlCharacters("account settings"));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_domains_and_networks() {
        for ok in ["", "latest", "disabled", "0.51.2", "v1.2", "1.2.3-rc1"] {
            assert!(valid_auto_update_version(ok), "{ok}");
        }
        for bad in ["x", "1..2", "1.2.3.4"] {
            assert!(!valid_auto_update_version(bad), "{bad}");
        }
        assert!(valid_domain("my-org.example") && !valid_domain("-a.b") && !valid_domain("a..b"));
        assert!(format_v6_prefix(account_network_v6("default")).starts_with("fd"));
        let fresh = Settings::fresh("default");
        assert!(fresh.regular_users_view_blocked && fresh.peer_login_expiration == 86_400);
    }
}
