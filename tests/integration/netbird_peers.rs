//! NetBird peers and accounts through the generated client: agents join with setup keys through the admin API
//! (`join_peer`) until the key is overused, revoked and expired keys (clock offset) are refused with the
//! management server's statuses, peers are listed, read, renamed and deleted as upstream shows them with their
//! groups, and the `peers`, `accounts` and `settings` role matrices.

use serde_json::json;
use tokenstack_client::types;
use tokenstack_testing::Error;

use crate::support::{ADMIN_PAT, AUDITOR_PAT, NETADMIN_PAT, SERVICE_PAT, TestServer, USER_ROLE_PAT, error_of};

async fn group_id(server: &TestServer, name: &str) -> String {
    let body = types::GroupRequest::builder().name(name);
    server.netbird(ADMIN_PAT).netbird_groups_create().body(body).send().await.expect("group").into_inner().id
}

/// A setup key's plain form and id.
async fn setup_key(server: &TestServer, body: types::builder::CreateSetupKeyRequest) -> (String, String) {
    let key = server.netbird(ADMIN_PAT).netbird_setup_keys_create().body(body).send().await.expect("key");
    let key = key.into_inner();
    (key.key, key.id)
}

fn key(name: &str, kind: &str, expires_in: i64, usage_limit: i64) -> types::builder::CreateSetupKeyRequest {
    types::CreateSetupKeyRequest::builder()
        .name(name)
        .type_(kind)
        .expires_in(expires_in)
        .usage_limit(usage_limit)
        .auto_groups(Vec::<String>::new())
}

/// The status and message of a refused join.
fn refusal(result: Result<types::Peer, Error>) -> (u16, String) {
    match result {
        Err(Error::Admin { status: Some(status), detail, .. }) => (status, detail),
        other => panic!("expected a refused join, got {other:?}"),
    }
}

const INVALID: &str = "404 couldn't add peer: setup key is invalid";

#[tokio::test]
async fn peers_join_until_the_key_is_overused() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let agents = group_id(&server, "agents").await;
    let (plain, key_id) =
        setup_key(&server, key("e2e-agents", "reusable", 86_400, 2).auto_groups(vec![agents.clone()])).await;

    // The key is case-insensitive, as the management server upper-cases it before hashing.
    let first = server.join_peer(&plain.to_lowercase(), "runner-1.example.com").await.expect("join");
    let second = server.join_peer(&plain, "Runner 1").await.expect("join");
    for peer in [&first, &second] {
        assert_eq!(peer.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["All", "agents"]);
        assert!(!peer.ephemeral && !peer.connected && !peer.ssh_enabled && !peer.approval_required);
        assert!(peer.ip.starts_with("100.") && peer.ipv6.is_some(), "{}", peer.ip);
        assert_eq!((peer.user_id.as_str(), peer.os.as_str()), ("", " "));
    }
    assert_eq!((first.name.as_str(), first.hostname.as_str()), ("runner-1.example.com", "runner-1.example.com"));
    assert_eq!(first.dns_label, "runner-1.netbird.selfhosted");
    // The second peer's label is taken by the first: the label with the address's last two octets.
    let octets: Vec<&str> = second.ip.split('.').collect();
    assert_eq!(second.dns_label, format!("runner-1-{}-{}.netbird.selfhosted", octets[2], octets[3]));
    assert_ne!(first.ip, second.ip);

    // Counted as upstream counts: used twice, last used now, overused, and refused from then on.
    let used = owner.netbird_setup_keys_retrieve().key_id(&key_id).send().await.expect("key").into_inner();
    assert_eq!((used.used_times, used.state.as_str(), used.valid), (2, "overused", false));
    assert!(used.last_used > used.updated_at);
    assert_eq!(refusal(server.join_peer(&plain, "runner-3").await), (404, INVALID.to_owned()));
    assert_eq!(refusal(server.join_peer("not-a-key", "runner-3").await), (404, INVALID.to_owned()));
    let no_key = refusal(server.join_peer("", "runner-3").await);
    assert_eq!(no_key.0, 403, "{}", no_key.1);

    // Listed with their groups; the groups list them by name.
    let listed = owner.netbird_peers_list().send().await.expect("list").into_inner();
    assert_eq!(listed.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [first.id.as_str(), second.id.as_str()]);
    assert!(listed.iter().all(|p| p.accessible_peers_count == 0 && p.groups.len() == 2));
    let named = owner.netbird_peers_list().name("Runner 1").send().await.expect("list").into_inner();
    assert_eq!(named.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), [second.id.as_str()]);
    let by_ip = owner.netbird_peers_list().ip(&first.ip).send().await.expect("list").into_inner();
    assert_eq!(by_ip.len(), 1);
    let group = owner.netbird_groups_retrieve().group_id(&agents).send().await.expect("group").into_inner();
    assert_eq!((group.peers_count, group.peers[0].name.as_str()), (2, "runner-1.example.com"));

    // Renamed: a new DNS label; the expirations of a setup-key peer cannot change (412).
    let rename = types::PeerRequest::builder()
        .name("builder")
        .ssh_enabled(true)
        .login_expiration_enabled(false)
        .inactivity_expiration_enabled(false);
    let renamed = owner.netbird_peers_update().peer_id(&second.id).body(rename).send().await.expect("update");
    let renamed = renamed.into_inner();
    assert_eq!(
        (renamed.name.as_str(), renamed.dns_label.as_str(), renamed.ssh_enabled),
        ("builder", "builder.netbird.selfhosted", true)
    );
    let expiring = types::PeerRequest::builder()
        .name("builder")
        .ssh_enabled(true)
        .login_expiration_enabled(true)
        .inactivity_expiration_enabled(false);
    let refused = owner.netbird_peers_update().peer_id(&second.id).body(expiring).send().await;
    let message = "this peer hasn't been added with the sso login, therefore the login expiration can't be updated";
    assert_eq!(error_of(refused), (412, json!({"message": message, "code": 412})));

    // Deleted: `{}`, out of every group, then 404.
    let deleted = owner.netbird_peers_destroy().peer_id(&first.id).send().await.expect("delete").into_inner();
    assert!(deleted.is_empty());
    let group = owner.netbird_groups_retrieve().group_id(&agents).send().await.expect("group").into_inner();
    assert_eq!((group.peers_count, group.peers[0].id.as_str()), (1, second.id.as_str()));
    let gone = owner.netbird_peers_retrieve().peer_id(&first.id).send().await;
    let message = format!("peer not found: {}", first.id);
    assert_eq!(error_of(gone), (404, json!({"message": message, "code": 404})));
    let again = owner.netbird_peers_destroy().peer_id(&first.id).send().await;
    let message = format!("peer {} account not found", first.id);
    assert_eq!(error_of(again), (404, json!({"message": message, "code": 404})));
    // A group its peers are in can be deleted (upstream's validateDeleteGroup does not look at peers) once no
    // setup key names it.
    owner.netbird_setup_keys_destroy().key_id(&key_id).send().await.expect("delete key");
    owner.netbird_groups_destroy().group_id(&agents).send().await.expect("delete group");
    let left = owner.netbird_peers_retrieve().peer_id(&second.id).send().await.expect("peer").into_inner();
    assert_eq!(left.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["All"]);
}

#[tokio::test]
async fn revoked_expired_and_one_off_keys_are_refused() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let (revoked, revoked_id) = setup_key(&server, key("revoked", "reusable", 0, 0)).await;
    let body = types::SetupKeyRequest::builder().revoked(true).auto_groups(Vec::<String>::new());
    owner.netbird_setup_keys_update().key_id(&revoked_id).body(body).send().await.expect("revoke");
    assert_eq!(refusal(server.join_peer(&revoked, "a").await), (404, INVALID.to_owned()));

    // An hour-long key, two hours later by the clock offset: expired; back to the wall clock: valid.
    let (hourly, hourly_id) = setup_key(&server, key("hourly", "reusable", 3600, 0)).await;
    server.set_clock_offset(7200).await.expect("clock");
    assert_eq!(refusal(server.join_peer(&hourly, "b").await), (404, INVALID.to_owned()));
    server.set_clock_offset(0).await.expect("clock");
    server.join_peer(&hourly, "b").await.expect("valid again");
    let used = owner.netbird_setup_keys_retrieve().key_id(&hourly_id).send().await.expect("key").into_inner();
    assert_eq!(used.used_times, 1);

    // A one-off key joins once; an ephemeral key's peers are ephemeral, with the address in their label.
    let (once, _) = setup_key(&server, key("once", "one-off", 0, 0)).await;
    server.join_peer(&once, "c").await.expect("first use");
    assert_eq!(refusal(server.join_peer(&once, "c").await), (404, INVALID.to_owned()));
    let (ephemeral, _) = setup_key(&server, key("pods", "reusable", 0, 0).ephemeral(true)).await;
    let pod = server.join_peer(&ephemeral, "pod").await.expect("join");
    let octets: Vec<&str> = pod.ip.split('.').collect();
    assert!(pod.ephemeral);
    assert_eq!(pod.dns_label, format!("pod-{}-{}.netbird.selfhosted", octets[2], octets[3]));

    // Extra DNS labels need a key that allows them (FailedPrecondition: 400); a bad WireGuard key is 400.
    let labels = types::AdminNetbirdPeerJoin::builder()
        .setup_key(ephemeral.clone())
        .hostname("pod")
        .extra_dns_labels(vec!["web".to_owned()]);
    let refused = server.admin().admin_netbird_peers_create().body(labels).send().await;
    let message = "couldn't add peer: setup key doesn't allow extra DNS labels";
    assert_eq!(error_of(refused), (400, json!({"message": message})));
    let bad = types::AdminNetbirdPeerJoin::builder()
        .setup_key(ephemeral.clone())
        .hostname("pod")
        .wg_pub_key(Some("x".into()));
    let refused = server.admin().admin_netbird_peers_create().body(bad).send().await;
    assert_eq!(error_of(refused), (400, json!({"message": "provided wgPubKey x is invalid"})));
    // The same WireGuard key again is the same peer, logged in again: the key is not counted.
    let wg = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let join = || {
        types::AdminNetbirdPeerJoin::builder().setup_key(ephemeral.clone()).hostname("pod").wg_pub_key(Some(wg.into()))
    };
    let a = server.admin().admin_netbird_peers_create().body(join()).send().await.expect("join").into_inner();
    let b = server.admin().admin_netbird_peers_create().body(join()).send().await.expect("again").into_inner();
    assert_eq!(a.id, b.id);
}

#[tokio::test]
async fn role_matrix_of_the_peers_module() {
    let server = TestServer::start().await;
    let (plain, _) = setup_key(&server, key("agents", "reusable", 0, 0)).await;
    let denied = (403, json!({"message": "permission denied", "code": 403}));
    // A service user of role admin counts as an admin.
    let owner = server.netbird(ADMIN_PAT);
    let admin =
        types::UserCreateRequest::builder().role("admin").is_service_user(true).auto_groups(Vec::<String>::new());
    let admin = owner.netbird_users_create().body(admin.name(Some("ops-bot".to_string()))).send().await.expect("admin");
    let pat = types::PersonalAccessTokenRequest::builder().name("ci").expires_in(1);
    let admin_id = admin.into_inner().id;
    let admin_pat = owner.netbird_tokens_create().user_id(&admin_id).body(pat).send().await.expect("pat");
    let admin_pat = admin_pat.into_inner().plain_token;
    // (pat, read, write): owner and admin everything; network_admin, auditor and a service user (of role user)
    // read; a user sees nothing while the account blocks regular users' views.
    let cases = [
        (ADMIN_PAT, true, true),
        (admin_pat.as_str(), true, true),
        (NETADMIN_PAT, true, false),
        (AUDITOR_PAT, true, false),
        (SERVICE_PAT, true, false),
        (USER_ROLE_PAT, false, false),
    ];
    for (i, (pat, read, write)) in cases.into_iter().enumerate() {
        let peer = server.join_peer(&plain, &format!("host-{i}")).await.expect("join");
        let client = server.netbird(pat);
        let listed = client.netbird_peers_list().send().await.expect("list").into_inner();
        let got = client.netbird_peers_retrieve().peer_id(&peer.id).send().await;
        if read {
            assert!(listed.iter().any(|p| p.id == peer.id), "{pat}");
            assert_eq!(got.expect("get").into_inner().id, peer.id, "{pat}");
        } else {
            assert!(listed.is_empty(), "{pat}");
            let message = format!("user plain-user has no access to peer {} under account default", peer.id);
            assert_eq!(error_of(got), (500, json!({"message": message, "code": 500})), "{pat}");
        }
        let rename = types::PeerRequest::builder()
            .name(format!("renamed-{i}"))
            .ssh_enabled(false)
            .login_expiration_enabled(false)
            .inactivity_expiration_enabled(false);
        let updated = client.netbird_peers_update().peer_id(&peer.id).body(rename).send().await;
        let deleted = client.netbird_peers_destroy().peer_id(&peer.id).send().await;
        if write {
            assert_eq!(updated.expect("update").into_inner().name, format!("renamed-{i}"));
            deleted.expect("delete");
        } else {
            assert_eq!(error_of(updated), denied, "{pat} update");
            assert_eq!(error_of(deleted), denied, "{pat} delete");
        }
    }
}

#[tokio::test]
async fn accounts_show_a_fresh_accounts_settings_and_update_them() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let accounts = owner.netbird_accounts_list().send().await.expect("accounts").into_inner();
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    let s = &account.settings;
    assert_eq!((account.id.as_str(), account.created_by.as_str()), ("default", "admin"));
    assert!(s.peer_login_expiration_enabled && s.regular_users_view_blocked && !s.peer_inactivity_expiration_enabled);
    assert_eq!((s.peer_login_expiration, s.peer_inactivity_expiration), (86_400, 600));
    assert_eq!((s.groups_propagation_enabled, s.lazy_connection_enabled), (Some(true), Some(true)));
    assert_eq!(s.extra.as_ref().map(|e| e.user_approval_required), Some(true));
    assert!(s.network_range.as_deref().is_some_and(|r| r.starts_with("100.") && r.ends_with(".0.0/16")));
    assert!(account.onboarding.signup_form_pending && account.onboarding.onboarding_flow_pending);
    let again = owner.netbird_accounts_list().send().await.expect("accounts").into_inner();
    assert_eq!(again[0].created_at, account.created_at);

    // What the clients change: the settings, saved whole as the request gives them.
    let mut settings = s.clone();
    settings.peer_login_expiration = 7200;
    settings.regular_users_view_blocked = false;
    let body = types::AccountRequest::builder().settings(settings);
    let updated = owner.netbird_accounts_update().account_id(&account.id).body(body).send().await.expect("update");
    assert_eq!(updated.into_inner().settings.peer_login_expiration, 7200);
    let url = format!("/api/accounts/{}", account.id);
    let listed = owner.netbird_accounts_list().send().await.expect("accounts").into_inner();
    assert!(!listed[0].settings.regular_users_view_blocked);

    for (settings, message) in [
        (json!({"peer_login_expiration": 60}), "peer login expiration can't be smaller than one hour"),
        (json!({"peer_login_expiration": 86_400 * 181}), "peer login expiration can't be larger than 180 days"),
        (
            json!({"peer_login_expiration": 3600, "peer_expose_enabled": true}),
            "peer expose requires at least one group",
        ),
        (json!({"peer_login_expiration": 3600, "dns_domain": "-x"}), "invalid domain \"-x\" provided for dns domain"),
    ] {
        let body = json!({"settings": settings}).to_string();
        let refused = server.raw(reqwest::Method::PUT, &url, Some(&format!("Token {ADMIN_PAT}")), Some(&body)).await;
        assert_eq!(refused, (422, json!({"message": message, "code": 422})), "{settings}");
    }
    let body = json!({"settings": {"peer_login_expiration": 3600}}).to_string();
    let other =
        server.raw(reqwest::Method::PUT, "/api/accounts/other", Some(&format!("Token {ADMIN_PAT}")), Some(&body)).await;
    let message = "failed to validate user permissions: user is not part of this account";
    assert_eq!(other, (403, json!({"message": message, "code": 403})));
    let bad = server.raw(reqwest::Method::PUT, &url, Some(&format!("Token {ADMIN_PAT}")), Some("[1]")).await;
    assert_eq!(bad, (400, json!({"message": "couldn't parse JSON request", "code": 400})));

    // accounts and settings: read for network_admin, auditor and service users, update for none of them; nothing
    // for a user.
    let denied = (403, json!({"message": "permission denied", "code": 403}));
    for (pat, read) in [(NETADMIN_PAT, true), (AUDITOR_PAT, true), (SERVICE_PAT, true), (USER_ROLE_PAT, false)] {
        let listed = server.netbird(pat).netbird_accounts_list().send().await;
        match read {
            true => assert_eq!(listed.expect("read").into_inner().len(), 1, "{pat}"),
            false => assert_eq!(error_of(listed), denied, "{pat}"),
        }
        let refused = server.raw(reqwest::Method::PUT, &url, Some(&format!("Token {pat}")), Some(&body)).await;
        assert_eq!(refused, denied, "{pat}");
    }
}

#[tokio::test]
async fn peers_setup_keys_groups_and_accounts_survive_export_and_load() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let agents = group_id(&server, "agents").await;
    let (plain, key_id) =
        setup_key(&server, key("e2e-agents", "reusable", 0, 0).auto_groups(vec![agents.clone()])).await;
    let peer = server.join_peer(&plain, "runner-1").await.expect("join");
    owner.netbird_accounts_list().send().await.expect("accounts");
    let exported = server.export().await.expect("export");
    let keys = &exported["netbird"]["setup_keys"];
    assert_eq!((keys[0]["name"].clone(), keys[0]["used_times"].clone()), (json!("e2e-agents"), json!(1)));
    assert!(keys[0].get("key").is_none() && !exported.to_string().contains(&plain), "no plain key is exported");

    server.reset().await.expect("reset");
    assert!(owner.netbird_peers_list().send().await.expect("peers").into_inner().is_empty());
    server.load(exported).await.expect("load");
    let back = owner.netbird_peers_retrieve().peer_id(&peer.id).send().await.expect("peer").into_inner();
    assert_eq!((back.ip, back.groups.len()), (peer.ip, 2));
    let key = owner.netbird_setup_keys_retrieve().key_id(&key_id).send().await.expect("key").into_inner();
    assert_eq!(key.used_times, 1);
    // The loaded key still joins agents: its hash came back.
    server.join_peer(&plain, "runner-2").await.expect("join after load");
}

#[tokio::test]
async fn account_settings_drive_restricted_users_and_group_deletion() {
    let server = TestServer::start().await;
    let owner = server.netbird(ADMIN_PAT);
    let user = server.netbird(USER_ROLE_PAT);
    let restricted = || async {
        let me = user.netbird_users_current().send().await.expect("current").into_inner();
        me.permissions.expect("permissions").is_restricted
    };
    assert!(restricted().await, "a fresh account blocks regular users' views");
    let logged = group_id(&server, "logged").await;
    let settings = json!({"settings": {"peer_login_expiration": 3600, "regular_users_view_blocked": false,
        "extra": {"peer_approval_enabled": false, "user_approval_required": false, "network_traffic_logs_enabled": true,
                  "network_traffic_logs_groups": [logged], "network_traffic_packet_counter_enabled": false}}});
    let url = "/api/accounts/default";
    let (status, _) =
        server.raw(reqwest::Method::PUT, url, Some(&format!("Token {ADMIN_PAT}")), Some(&settings.to_string())).await;
    assert_eq!(status, 200);
    assert!(!restricted().await);
    let refused = owner.netbird_groups_destroy().group_id(&logged).send().await;
    let message = "group has been linked to settings: traffic event logging";
    assert_eq!(error_of(refused), (400, json!({"message": message, "code": 400})));
    // With the view unblocked, a user lists the peers it enrolled: none of the setup-key peers.
    let (plain, _) = setup_key(&server, key("agents", "reusable", 0, 0)).await;
    server.join_peer(&plain, "runner").await.expect("join");
    assert!(user.netbird_peers_list().send().await.expect("peers").into_inner().is_empty());
}
