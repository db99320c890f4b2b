//! NetBird's peer and account operations (`/api/peers`, `/api/peers/{peerId}`, `/api/accounts`,
//! `/api/accounts/{accountId}`) and the admin API's setup-key join (`POST /_tokenstack/netbird/peers`): extract,
//! call the rules of [`crate::netbird`], convert (the conversions of peers and accounts are here, beside their
//! handlers, as `convert.rs` is at its size limit).

use dropshot::{ErrorStatusCode, HttpResponseCreated, HttpResponseOk, Path, Query, RequestContext, TypedBody};
use tokenstack_api::{JsonBody, params, types};

use super::ServerContext;
use super::error::{NbResponseError, TsResponseError, tokenstack};
use super::observe::authorization;
use crate::model::{NbGroup, NbPeerMeta};
use crate::netbird::{AccountView, DNS_DOMAIN, GrpcCode, LoginError, PeerLogin, PeerView};
use crate::secrets::Secret;

/// `ToGroupsInfoMap`: each group of the peer with its raw peer and resource counts, without `issued`.
fn group_minimum(group: &NbGroup) -> types::GroupMinimum {
    types::GroupMinimum {
        id: group.id.clone(),
        issued: None,
        name: group.name.clone(),
        peers_count: group.peers.len() as i64,
        resources_count: group.resources.len() as i64,
    }
}

/// `toSinglePeerResponse`: `os` is the OS and its version, `dns_label` and the extra labels are FQDNs in the
/// self-hosted domain, a setup-key peer is approved, and the location is empty (no GeoIP database).
fn peer(view: &PeerView) -> types::Peer {
    let p = &view.peer;
    let flags = Some(false);
    types::Peer {
        approval_required: false,
        city_name: types::CityName(String::new()),
        connected: p.connected,
        connection_ip: p.connection_ip.clone(),
        country_code: types::CountryCode(String::new()),
        created_at: p.created_at,
        disapproval_reason: None,
        dns_label: format!("{}.{DNS_DOMAIN}", p.dns_label),
        ephemeral: p.ephemeral,
        extra_dns_labels: p.extra_dns_labels.iter().map(|label| format!("{label}.{DNS_DOMAIN}")).collect(),
        geoname_id: 0,
        groups: view.groups.iter().map(group_minimum).collect(),
        hostname: p.meta.hostname.clone(),
        id: p.id.clone(),
        inactivity_expiration_enabled: p.inactivity_expiration_enabled,
        ip: p.ip.clone(),
        ipv6: p.ipv6.as_deref().and_then(|ip| ip.parse().ok()),
        kernel_version: p.meta.kernel_version.clone(),
        last_login: p.last_login,
        last_seen: p.last_seen,
        local_flags: Some(types::PeerLocalFlags {
            block_inbound: flags,
            block_lan_access: flags,
            disable_client_routes: flags,
            disable_dns: flags,
            disable_firewall: flags,
            disable_server_routes: flags,
            lazy_connection_enabled: flags,
            rosenpass_enabled: flags,
            rosenpass_permissive: flags,
            server_ssh_allowed: flags,
        }),
        login_expiration_enabled: p.login_expiration_enabled,
        login_expired: false,
        name: p.name.clone(),
        os: format!("{} {}", p.meta.os, p.meta.os_version),
        serial_number: p.meta.serial_number.clone(),
        ssh_enabled: p.ssh_enabled,
        ui_version: p.meta.ui_version.clone(),
        user_id: p.user_id.clone(),
        version: p.meta.version.clone(),
    }
}

/// `toPeerListItemResponse`: the peer's fields with `accessible_peers_count` 0, as upstream's list writes it.
fn peer_batch(view: &PeerView) -> types::PeerBatch {
    let p = peer(view);
    types::PeerBatch {
        accessible_peers_count: 0,
        approval_required: p.approval_required,
        city_name: p.city_name,
        connected: p.connected,
        connection_ip: p.connection_ip,
        country_code: p.country_code,
        created_at: p.created_at,
        disapproval_reason: p.disapproval_reason,
        dns_label: p.dns_label,
        ephemeral: p.ephemeral,
        extra_dns_labels: p.extra_dns_labels,
        geoname_id: p.geoname_id,
        groups: p.groups,
        hostname: p.hostname,
        id: p.id,
        inactivity_expiration_enabled: p.inactivity_expiration_enabled,
        ip: p.ip,
        ipv6: p.ipv6,
        kernel_version: p.kernel_version,
        last_login: p.last_login,
        last_seen: p.last_seen,
        local_flags: p.local_flags,
        login_expiration_enabled: p.login_expiration_enabled,
        login_expired: p.login_expired,
        name: p.name,
        os: p.os,
        serial_number: p.serial_number,
        ssh_enabled: p.ssh_enabled,
        ui_version: p.ui_version,
        user_id: p.user_id,
        version: p.version,
    }
}

/// `toAccountResponse`.
fn account(view: &AccountView) -> Result<types::Account, NbResponseError> {
    let settings = serde_json::to_value(&view.settings).and_then(serde_json::from_value).map_err(|e| {
        crate::netbird::NbError::Store(crate::store::StoreError::caused("account settings as the API shows them", e))
    })?;
    Ok(types::Account {
        created_at: view.account.created_at,
        created_by: view.account.created_by.clone(),
        domain: view.account.domain.clone(),
        domain_category: view.account.domain_category.clone(),
        id: view.account.id.clone(),
        onboarding: types::AccountOnboarding {
            onboarding_flow_pending: view.onboarding_flow_pending,
            signup_form_pending: view.signup_form_pending,
        },
        settings,
    })
}

pub(super) async fn netbird_peers_list(
    rqctx: &RequestContext<ServerContext>,
    query: Query<params::NetbirdPeersListQuery>,
) -> Result<HttpResponseOk<Vec<types::PeerBatch>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let query = query.into_inner();
    let peers = nb.list_peers(&caller, query.name.as_deref(), query.ip.as_deref()).await?;
    Ok(HttpResponseOk(peers.iter().map(peer_batch).collect()))
}

pub(super) async fn netbird_peers_retrieve(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdPeersRetrievePath>,
) -> Result<HttpResponseOk<types::Peer>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    Ok(HttpResponseOk(peer(&nb.get_peer(&caller, &path.into_inner().peer_id).await?)))
}

pub(super) async fn netbird_peers_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdPeersUpdatePath>,
    body: TypedBody<types::PeerRequest>,
) -> Result<HttpResponseOk<types::Peer>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let view = nb.update_peer(&caller, &path.into_inner().peer_id, &body.into_inner().0).await?;
    Ok(HttpResponseOk(peer(&view)))
}

pub(super) async fn netbird_peers_destroy(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdPeersDestroyPath>,
) -> Result<HttpResponseOk<serde_json::Map<String, serde_json::Value>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    nb.delete_peer(&caller, &path.into_inner().peer_id).await?;
    Ok(HttpResponseOk(serde_json::Map::new()))
}

pub(super) async fn netbird_accounts_list(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<Vec<types::Account>>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let accounts = nb.list_accounts(&caller).await?;
    Ok(HttpResponseOk(accounts.iter().map(account).collect::<Result<_, _>>()?))
}

pub(super) async fn netbird_accounts_update(
    rqctx: &RequestContext<ServerContext>,
    path: Path<params::NetbirdAccountsUpdatePath>,
    body: TypedBody<types::AccountRequest>,
) -> Result<HttpResponseOk<types::Account>, NbResponseError> {
    let nb = rqctx.context().netbird();
    let caller = nb.authenticate(authorization(rqctx)).await?;
    let view = nb.update_account(&caller, &path.into_inner().account_id, &body.into_inner().0).await?;
    Ok(HttpResponseOk(account(&view)?))
}

/// The HTTP status of a refused login's gRPC status, as `google.rpc.Code` maps them (grpc-gateway's
/// `HTTPStatusFromCode`): InvalidArgument and FailedPrecondition 400, PermissionDenied 403, NotFound 404.
fn login_refused(error: LoginError) -> TsResponseError {
    let status = match error.grpc_code() {
        Some(GrpcCode::InvalidArgument | GrpcCode::FailedPrecondition) => ErrorStatusCode::BAD_REQUEST,
        Some(GrpcCode::PermissionDenied) => ErrorStatusCode::FORBIDDEN,
        Some(GrpcCode::NotFound) => ErrorStatusCode::NOT_FOUND,
        None => match error {
            LoginError::Store(e) => return super::error::TsError::Store(e).into(),
            other => return tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, &other.to_string()),
        },
    };
    tokenstack(status, &error.to_string())
}

pub(super) async fn admin_netbird_peers_create(
    rqctx: &RequestContext<ServerContext>,
    body: JsonBody<types::AdminNetbirdPeerJoin>,
) -> Result<HttpResponseCreated<types::Peer>, TsResponseError> {
    super::admin::authorize(rqctx)?;
    let body = body.into_inner();
    let login = PeerLogin {
        setup_key: Secret::new(body.setup_key),
        wg_pub_key: body.wg_pub_key,
        meta: NbPeerMeta {
            hostname: body.hostname,
            os: body.os.unwrap_or_default(),
            os_version: body.os_version.unwrap_or_default(),
            kernel_version: body.kernel_version.unwrap_or_default(),
            version: body.version.unwrap_or_default(),
            ui_version: String::new(),
            serial_number: body.serial_number.unwrap_or_default(),
        },
        connection_ip: body.connection_ip,
        extra_dns_labels: body.extra_dns_labels,
    };
    let view = rqctx.context().netbird().join_peer(login).await.map_err(login_refused)?;
    Ok(HttpResponseCreated(peer(&view)))
}
