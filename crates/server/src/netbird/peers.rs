//! Peers (`/api/peers`, `peers_handler.go`, `management/server/peer.go`) and the setup-key login that makes them.
//!
//! An agent joins over NetBird's gRPC protocol, which tokenstack does not speak; the admin API's
//! `POST /_tokenstack/netbird/peers` runs what `Login` does for an unknown WireGuard key with a setup key
//! (`LoginPeer` → `AddPeer`): the key must be valid at the request's instant (clock offset included), its
//! `used_times` grows by one and `last_used` is set, and the new peer joins `All` and the key's `auto_groups`,
//! ephemeral when the key is. A peer's groups are kept on the groups (`NbGroup::peers`), as upstream's group-peer
//! table keeps them; deleting a peer takes it out of every group.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use rand::Rng;

use super::permissions::{Operation, allows};
use super::*;
use crate::model::{GROUP_ALL, NbGroup, NbPeer, NbPeerMeta, NbSetupKey};
use crate::pagination::PageRequest;
use crate::secrets::hash_setup_key;
use crate::store::Field;
use crate::store::query::Listing;
use crate::store::resource::NbPeerColumn;

/// The DNS domain of a self-hosted management server (`DefaultSelfHostedDomain`), which peers' FQDNs end with.
pub const DNS_DOMAIN: &str = "netbird.selfhosted";

/// What an agent sends when it logs in with a setup key (`LoginRequest`: the key, its WireGuard key, its system
/// meta and extra DNS labels) and the address it connects from.
#[derive(Debug)]
pub struct PeerLogin {
    pub setup_key: Secret,
    pub wg_pub_key: Option<String>,
    pub meta: NbPeerMeta,
    pub connection_ip: Option<String>,
    pub extra_dns_labels: Vec<String>,
}

/// The gRPC status codes a refused `Login` answers with (`mapError`, `parseRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcCode {
    InvalidArgument,
    NotFound,
    PermissionDenied,
    FailedPrecondition,
}

/// A refused setup-key login; `Display` is the management server's gRPC message.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// `parseRequest`: the WireGuard key does not parse.
    #[error("provided wgPubKey {0} is invalid")]
    BadWgKey(String),
    /// `ErrNoAuthMethodProvided` (status Unauthenticated, which `mapError` answers as PermissionDenied).
    #[error("no peer auth method provided, please use a setup key or interactive SSO login")]
    NoAuthMethod,
    /// `handleSetupKeyAddedPeer`: an unknown, revoked, expired or overused key (status NotFound).
    #[error("couldn't add peer: setup key is invalid")]
    InvalidSetupKey,
    /// The key became invalid between the check and the increment (status PreconditionFailed).
    #[error("couldn't add peer: setup key is invalid")]
    SetupKeyUsedUp,
    #[error("couldn't add peer: setup key doesn't allow extra DNS labels")]
    ExtraDnsLabels,
    /// tokenstack's checks of what upstream fails on with `Internal` (`failed handling request`): an empty
    /// hostname, which has no DNS label, and an extra label that is not a domain label.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LoginError {
    /// The gRPC status `Login` answers with; `None` for a store failure.
    pub fn grpc_code(&self) -> Option<GrpcCode> {
        match self {
            Self::BadWgKey(_) | Self::Invalid(_) => Some(GrpcCode::InvalidArgument),
            Self::NoAuthMethod => Some(GrpcCode::PermissionDenied),
            Self::InvalidSetupKey => Some(GrpcCode::NotFound),
            Self::SetupKeyUsedUp | Self::ExtraDnsLabels => Some(GrpcCode::FailedPrecondition),
            Self::Store(_) => None,
        }
    }
}

/// A peer with the account's groups, as the responses show it (`groups` holds the groups it is in).
#[derive(Debug, Clone)]
pub struct PeerView {
    pub peer: NbPeer,
    pub groups: Vec<NbGroup>,
}

/// `GetParsedDomainLabel`: the first label of the hostname, runs of characters outside `[a-zA-Z0-9-]` replaced by
/// `-`, lower-cased, cut to 59 characters when longer than 58; `None` for a hostname with no label.
pub fn parsed_domain_label(hostname: &str) -> Option<String> {
    let first = hostname.split('.').find(|label| !label.is_empty())?;
    let mut label = String::with_capacity(first.len());
    let mut in_run = false;
    for c in first.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            label.push(c.to_ascii_lowercase());
            in_run = false;
        } else if !in_run {
            label.push('-');
            in_run = true;
        }
    }
    if label.len() > 58 {
        label.truncate(59);
    }
    Some(label)
}

/// The account's IPv4 network: one of the 64 /16s of 100.64.0.0/10 (upstream draws it when the account is made;
/// here it is derived from the account id, so every replica agrees). Returns its second octet.
pub(super) fn account_network(account_id: &str) -> u8 {
    let hash = account_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    64 + (hash % 64) as u8
}

/// `AllocateRandomPeerIP`: a random host of the account's /16 (neither the network nor the broadcast address)
/// that no peer of the account has.
fn allocate_ip(account_id: &str, taken: &HashSet<&str>) -> [u8; 4] {
    let second = account_network(account_id);
    loop {
        let offset: u16 = rand::rng().random_range(1..u16::MAX);
        let ip = [100, second, (offset >> 8) as u8, (offset & 0xff) as u8];
        if !taken.contains(format_ip(ip).as_str()) {
            return ip;
        }
    }
}

/// `AllocateRandomPeerIPv6`: a random host of the account's /64.
fn allocate_ipv6(account_id: &str) -> String {
    let prefix = super::accounts::account_network_v6(account_id);
    let host: [u8; 8] = rand::rng().random();
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&prefix);
    bytes[8..].copy_from_slice(&host);
    std::net::Ipv6Addr::from(bytes).to_string()
}

fn format_ip(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

/// A random WireGuard public key, for a join that names none: base64 of 32 random bytes.
fn random_wg_key() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `wgtypes.ParseKey`: standard base64 of exactly 32 bytes.
fn parses_as_wg_key(key: &str) -> bool {
    base64::engine::general_purpose::STANDARD.decode(key).is_ok_and(|bytes| bytes.len() == 32)
}

/// `domain.ValidateDomainsList` for one label: 1 to 63 characters of letters, digits and inner hyphens.
fn valid_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !label.starts_with(['-', '.'])
        && !label.ends_with(['-', '.'])
}

impl NetBird<'_> {
    /// A setup-key login of a WireGuard key no peer has: `AddPeer` (see the module's documentation). A key that a
    /// peer already has logs that peer in again, as `LoginPeer` does, and counts no use of the setup key.
    pub async fn join_peer(&self, login: PeerLogin) -> Result<PeerView, LoginError> {
        let wg_key = match login.wg_pub_key {
            Some(key) if !parses_as_wg_key(&key) => return Err(LoginError::BadWgKey(key)),
            Some(key) => key,
            None => random_wg_key(),
        };
        match self.store.get::<NbPeer>(Field::Key, &wg_key).await {
            Ok(peer) => return Ok(self.peer_view(peer).await?),
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        if login.setup_key.expose().is_empty() {
            return Err(LoginError::NoAuthMethod);
        }
        let hashed = hash_setup_key(&login.setup_key.expose().to_uppercase());
        let key = match self.store.get::<NbSetupKey>(Field::HashedToken, &hashed).await {
            Ok(key) if key.is_valid(self.now) => key,
            Ok(_) | Err(StoreError::NotFound) => return Err(LoginError::InvalidSetupKey),
            Err(e) => return Err(e.into()),
        };
        if !key.allow_extra_dns_labels && !login.extra_dns_labels.is_empty() {
            return Err(LoginError::ExtraDnsLabels);
        }
        if let Some(bad) = login.extra_dns_labels.iter().find(|label| !valid_dns_label(label)) {
            return Err(LoginError::Invalid(format!("invalid extra DNS labels: invalid domain label: {bad}")));
        }
        let hostname = &login.meta.hostname;
        let Some(label) = parsed_domain_label(hostname).filter(|_| !hostname.chars().any(char::is_control)) else {
            return Err(LoginError::Invalid(format!("failed to get free DNS label for host name {hostname:?}")));
        };
        let account_id = key.account_id.clone();
        let peers = self.account_peers(&account_id).await?;
        let ips: HashSet<&str> = peers.iter().map(|peer| peer.ip.as_str()).collect();
        let ip = allocate_ip(&account_id, &ips);
        // The hostname's label, unless the peer is ephemeral or another peer has it: then the label with the
        // address's last two octets (`getPeerIPDNSLabel`).
        let dns_label = if key.ephemeral || peers.iter().any(|peer| peer.dns_label == label) {
            format!("{label}-{}-{}", ip[2], ip[3])
        } else {
            label
        };
        // `peerWillHaveIPv6`: the account gives IPv6 to `All` or to one of the key's groups.
        let settings = self.account_settings(&account_id).await.map_err(|e| match e {
            NbError::Store(e) => LoginError::Store(e),
            other => LoginError::Invalid(other.to_string()),
        })?;
        let all_id = all_group(&account_id).id;
        let ipv6 = settings
            .ipv6_enabled_groups
            .iter()
            .any(|group| *group == all_id || key.auto_groups.contains(group))
            .then(|| allocate_ipv6(&account_id));
        // The key is counted before the peer is stored (upstream does both in one transaction).
        let fresh = match self.store.get::<NbSetupKey>(Field::Id, &key.id).await {
            Ok(fresh) if fresh.is_valid(self.now) => fresh,
            Ok(_) | Err(StoreError::NotFound) => return Err(LoginError::SetupKeyUsedUp),
            Err(e) => return Err(e.into()),
        };
        let used = NbSetupKey { used_times: fresh.used_times + 1, last_used: Some(self.now), ..fresh };
        self.store.replace(used).await?;
        let peer = NbPeer {
            id: new_xid_like_id(),
            account_id: account_id.clone(),
            key: wg_key,
            name: hostname.clone(),
            ip: format_ip(ip),
            ipv6,
            dns_label,
            user_id: String::new(),
            created_at: self.now,
            last_login: self.now,
            last_seen: self.now,
            connected: false,
            ssh_enabled: false,
            login_expiration_enabled: false,
            inactivity_expiration_enabled: false,
            ephemeral: key.ephemeral,
            extra_dns_labels: login.extra_dns_labels,
            allow_extra_dns_labels: key.allow_extra_dns_labels,
            meta: login.meta,
            connection_ip: login.connection_ip.unwrap_or_else(|| "127.0.0.1".to_owned()),
            setup_key_id: Some(key.id.clone()),
        };
        let peer = self.store.insert(peer).await?;
        ensure_all_group(self.store, &account_id).await?;
        for group in self.account_groups_all(&account_id).await? {
            let joins = group.name == GROUP_ALL || key.auto_groups.contains(&group.id);
            if joins && !group.peers.contains(&peer.id) {
                let mut group = group;
                group.peers.push(peer.id.clone());
                self.store.replace(group).await?;
            }
        }
        Ok(self.peer_view(peer).await?)
    }

    /// `GET /api/peers?name=&ip=`: `GetPeers`. With the `peers` read grant, every peer of the account (the exact
    /// name and IP filters when given); otherwise nothing while the account blocks regular users' views
    /// (`regular_users_view_blocked`, on in a fresh account), else the caller's own peers.
    pub async fn list_peers(
        &self,
        caller: &NbUser,
        name: Option<&str>,
        ip: Option<&str>,
    ) -> Result<Vec<PeerView>, NbError> {
        let peers = if allows(caller, "peers", Operation::Read) {
            let name = name.filter(|name| !name.is_empty());
            let ip = ip.filter(|ip| !ip.is_empty());
            let mut peers = self.account_peers(&caller.account_id).await?;
            peers.retain(|peer| name.is_none_or(|name| peer.name == name) && ip.is_none_or(|ip| peer.ip == ip));
            peers
        } else if self.account_settings(&caller.account_id).await?.regular_users_view_blocked() {
            Vec::new()
        } else {
            let mut peers = self.account_peers(&caller.account_id).await?;
            peers.retain(|peer| peer.user_id == caller.id);
            peers
        };
        let groups = self.account_groups_all(&caller.account_id).await?;
        Ok(peers.into_iter().map(|peer| with_groups(peer, &groups)).collect())
    }

    /// `GET /api/peers/{peerId}`: `GetPeer`. The account's peer (404 `peer not found: <id>`) for the `peers` read
    /// grant, an admin or service user, or the user who enrolled it; anyone else gets upstream's `Internal` error.
    pub async fn get_peer(&self, caller: &NbUser, id: &str) -> Result<PeerView, NbError> {
        let peer = self.account_peer(&caller.account_id, id).await?;
        let admin_or_service = caller.is_service_user || matches!(caller.role, NbRole::Owner | NbRole::Admin);
        if !(allows(caller, "peers", Operation::Read) || admin_or_service || peer.user_id == caller.id) {
            return Err(NbError::PeerAccess {
                user: caller.id.clone(),
                peer: peer.id,
                account: caller.account_id.clone(),
            });
        }
        Ok(self.peer_view(peer).await?)
    }

    /// `PUT /api/peers/{peerId}`: the handler decodes the body (400); `UpdatePeer` checks `update` (403), finds
    /// the peer (404) and applies the name (a new DNS label: the parsed name, or with the address's octets when
    /// another peer has it), `ssh_enabled`, and the two expirations, which only a peer added with SSO may change
    /// (412). `ip`, `ipv6` and `approval_required` are accepted and left as they are.
    pub async fn update_peer(&self, caller: &NbUser, id: &str, body: &Value) -> Result<PeerView, NbError> {
        let mut decoder = GoStruct::new(body)?;
        let name = decoder.string("name")?;
        let ssh_enabled = decoder.boolean("ssh_enabled")?;
        let login_expiration_enabled = decoder.boolean("login_expiration_enabled")?;
        let inactivity_expiration_enabled = decoder.boolean("inactivity_expiration_enabled")?;
        decoder.optional_bool("approval_required")?;
        decoder.optional_string("ip")?;
        decoder.optional_string("ipv6")?;
        if name.chars().any(char::is_control) {
            return Err(NbError::ControlCharacters("peer name"));
        }
        if name.chars().count() > self.limits.text_chars {
            return Err(NbError::PeerNameTooLong(self.limits.text_chars));
        }
        if !allows(caller, "peers", Operation::Update) {
            return Err(NbError::PermissionDenied);
        }
        let mut peer = self.account_peer(&caller.account_id, id).await?;
        if peer.name != name {
            let peers = self.account_peers(&caller.account_id).await?;
            let label = parsed_domain_label(&name)
                .filter(|label| !peers.iter().any(|other| other.id != peer.id && &other.dns_label == label));
            peer.dns_label = match label {
                Some(label) => label,
                None => {
                    let octets: Vec<&str> = peer.ip.split('.').collect();
                    let base = parsed_domain_label(&name).ok_or(NbError::InvalidPeerName)?;
                    format!("{base}-{}-{}", octets.get(2).unwrap_or(&"0"), octets.get(3).unwrap_or(&"0"))
                }
            };
            peer.name = name;
        }
        peer.ssh_enabled = ssh_enabled;
        let sso = !peer.user_id.is_empty();
        if peer.login_expiration_enabled != login_expiration_enabled {
            if !sso {
                return Err(NbError::ExpirationNotSso("login"));
            }
            peer.login_expiration_enabled = login_expiration_enabled;
        }
        if peer.inactivity_expiration_enabled != inactivity_expiration_enabled {
            if !sso {
                return Err(NbError::ExpirationNotSso("inactivity"));
            }
            peer.inactivity_expiration_enabled = inactivity_expiration_enabled;
        }
        match self.store.replace(peer.clone()).await {
            Ok(()) => Ok(self.peer_view(peer).await?),
            Err(StoreError::NotFound) => Err(NbError::PeerNotFound(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// `DELETE /api/peers/{peerId}`: `delete` (403), the peer's account (404 `peer <id> account not found`, 403
    /// `peer is not part of this account`), then the peer goes, and with it its place in every group.
    pub async fn delete_peer(&self, caller: &NbUser, id: &str) -> Result<(), NbError> {
        if !allows(caller, "peers", Operation::Delete) {
            return Err(NbError::PermissionDenied);
        }
        let not_found = || NbError::PeerAccountNotFound(id.to_owned());
        if id.chars().any(char::is_control) {
            return Err(not_found());
        }
        let peer = match self.store.get::<NbPeer>(Field::Id, id).await {
            Ok(peer) => peer,
            Err(StoreError::NotFound) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        if peer.account_id != caller.account_id {
            return Err(NbError::PeerNotInAccount);
        }
        for mut group in self.account_groups_all(&caller.account_id).await? {
            if group.peers.contains(&peer.id) {
                group.peers.retain(|member| member != &peer.id);
                self.store.replace(group).await?;
            }
        }
        match self.store.delete::<NbPeer>(&peer.id).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The names of the account's peers by id, for the groups' `peers` (`toGroupResponse` shows only the peers the
    /// account has).
    pub async fn peer_names(&self, account_id: &str) -> Result<HashMap<String, String>, NbError> {
        let peers = self.account_peers(account_id).await?;
        Ok(peers.into_iter().map(|peer| (peer.id, peer.name)).collect())
    }

    /// The account's peer of id `id` (`GetPeerByID`), or 404 `peer not found: <id>`.
    async fn account_peer(&self, account_id: &str, id: &str) -> Result<NbPeer, NbError> {
        let not_found = || NbError::PeerNotFound(id.to_owned());
        if id.chars().any(char::is_control) {
            return Err(not_found());
        }
        match self.store.get::<NbPeer>(Field::Id, id).await {
            Ok(peer) if peer.account_id == account_id => Ok(peer),
            Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }

    async fn account_peers(&self, account_id: &str) -> Result<Vec<NbPeer>, StoreError> {
        let listing = Listing::new(None, &[], NbPeerColumn::Id, PageRequest::all())
            .filter(NbPeerColumn::AccountId, Some(account_id.to_owned()));
        Ok(self.store.list::<NbPeer>(&listing).await?.items)
    }

    /// The account's groups, `All` first.
    async fn account_groups_all(&self, account_id: &str) -> Result<Vec<NbGroup>, StoreError> {
        let mut groups = groups::list_account_groups(self.store, account_id, None).await?;
        groups.sort_by_key(|group| group.name != GROUP_ALL);
        Ok(groups)
    }

    async fn peer_view(&self, peer: NbPeer) -> Result<PeerView, StoreError> {
        let groups = self.account_groups_all(&peer.account_id).await?;
        Ok(with_groups(peer, &groups))
    }
}

/// The peer with the groups that hold it (`GetPeerGroups`, `ToGroupsInfoMap`).
fn with_groups(peer: NbPeer, groups: &[NbGroup]) -> PeerView {
    let groups = groups.iter().filter(|group| group.peers.contains(&peer.id)).cloned().collect();
    PeerView { peer, groups }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_as_upstream_parses_host_names() {
        assert_eq!(parsed_domain_label("CI-Runner_01.example.com").as_deref(), Some("ci-runner-01"));
        assert_eq!(parsed_domain_label("a  b").as_deref(), Some("a-b"));
        assert_eq!(parsed_domain_label("").as_deref(), None);
        assert_eq!(parsed_domain_label(&"x".repeat(70)).map(|l| l.len()), Some(59));
        assert!(valid_dns_label("stage-host") && !valid_dns_label("-bad") && !valid_dns_label(""));
        assert!(parses_as_wg_key(&random_wg_key()) && !parses_as_wg_key("short"));
        let taken = HashSet::new();
        let ip = allocate_ip("default", &taken);
        assert_eq!((ip[0], ip[1] >= 64 && ip[1] < 128), (100, true));
    }
}
