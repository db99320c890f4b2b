//! What a test suite does with `tokenstack-testing`: start a server in one line, use the ready clients, and
//! reset, seed, export, move the clock and inject faults through the admin API.

use serde_json::json;
use tokenstack_client::types;
use tokenstack_testing::{Error, TestServer};

/// The README's five-line test, word for word: an authentik token created by the superuser.
#[tokio::test]
async fn creates_an_authentik_token() {
    let server = tokenstack_testing::TestServer::start().await;
    let body = tokenstack_client::types::TokenRequest::builder().identifier("ci-deploy");
    let token = server.superuser().core_tokens_create().body(body).send().await.unwrap();
    assert_eq!(token.identifier.as_str(), "ci-deploy");
}

#[tokio::test]
async fn the_netbird_owner_lists_its_bootstrap_pat() {
    let server = TestServer::start().await;
    let pats = server.owner().netbird_tokens_list().user_id(server.netbird_user()).send().await.unwrap();
    assert_eq!(pats.iter().map(|pat| pat.name.as_str()).collect::<Vec<_>>(), ["bootstrap"]);
    assert!(server.netbird_pat().starts_with("nbp_") && server.netbird_pat().len() == 40);
    assert!(server.base_url().starts_with("http://127.0.0.1:"), "{}", server.base_url());
}

#[tokio::test]
async fn reset_returns_to_the_seed_and_load_restores_an_export() {
    let seed = json!({"authentik": {"users": [{"pk": 7, "username": "erin"}],
                                    "tokens": [{"identifier": "erin-ci", "user": "erin", "key": "erin-key"}]}});
    let server = TestServer::builder()
        .seed_document(seed)
        .authentik_key("fixed-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyz")
        .start()
        .await;
    assert_eq!(server.authentik_key(), "fixed-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyz");
    let identifiers = || async {
        let page = server.superuser().core_tokens_list().send().await.unwrap().into_inner();
        page.results.into_iter().map(|token| token.identifier.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(identifiers().await, ["authentik-bootstrap-token", "erin-ci"]);

    let snapshot = server.export().await.unwrap();
    server.superuser().core_tokens_destroy().identifier("erin-ci").send().await.unwrap();
    assert_eq!(identifiers().await, ["authentik-bootstrap-token"]);
    server.load(snapshot).await.unwrap();
    assert_eq!(identifiers().await, ["authentik-bootstrap-token", "erin-ci"]);

    server.superuser().core_tokens_destroy().identifier("erin-ci").send().await.unwrap();
    server.reset().await.unwrap();
    assert_eq!(identifiers().await, ["authentik-bootstrap-token", "erin-ci"]);

    let not_an_object = server.load(json!([])).await.unwrap_err();
    assert_eq!(
        not_an_object.to_string(),
        "a seed document is a JSON object or the YAML text of a seed file or blueprint, not an array"
    );
    let unknown_key = server.load(json!({"authentik": {"userz": []}})).await.unwrap_err();
    assert!(matches!(unknown_key, Error::Admin { status: Some(400), .. }), "{unknown_key}");

    // An authentik blueprint, as YAML text: its tags resolve, and a bad one is the server's 400.
    let blueprint = "version: 1\nentries:\n- model: authentik_core.user\n  id: dana\n  identifiers: {username: dana}\n- model: authentik_core.token\n  identifiers: {identifier: dana-ci, user: !KeyOf dana, intent: api}\n";
    server.load(json!(blueprint)).await.unwrap();
    assert_eq!(identifiers().await, ["authentik-bootstrap-token", "dana-ci"]);
    let dangling = server.load(json!(blueprint.replace("!KeyOf dana", "!KeyOf erin"))).await.unwrap_err();
    assert!(dangling.to_string().contains("!KeyOf erin: failed to find an earlier entry"), "{dangling}");
}

#[tokio::test]
async fn clock_offset_expires_a_token_and_faults_fail_an_operation() {
    let server = TestServer::builder().clock_offset(-3600).start().await;
    let clock = server.admin().admin_clock_retrieve().send().await.unwrap();
    assert_eq!(clock.offset_seconds, -3600);
    server.set_clock_offset(0).await.unwrap();

    // A token of authentik's default lifetime no longer authenticates two days later.
    let body = types::TokenRequest::builder().identifier("short-lived").intent(types::IntentEnum::Api);
    server.superuser().core_tokens_create().body(body).send().await.unwrap();
    let key = server.superuser().core_tokens_view_key_retrieve().identifier("short-lived").send().await.unwrap();
    let short_lived = server.authentik(&key.key);
    short_lived.core_tokens_list().send().await.expect("valid now");
    server.set_clock_offset(2 * 86_400).await.unwrap();
    let expired = short_lived.core_tokens_list().send().await.unwrap_err();
    assert_eq!(expired.status().map(|status| status.as_u16()), Some(403));
    server.set_clock_offset(0).await.unwrap();

    server
        .set_faults([types::FaultRule::builder().operation_id("core_tokens_list").error_rate(1.0).error_status(500)])
        .await
        .unwrap();
    let faulted = server.superuser().core_tokens_list().send().await.unwrap_err();
    assert_eq!(faulted.status().map(|status| status.as_u16()), Some(500));
    server.set_faults(Vec::<types::FaultRule>::new()).await.unwrap();
    server.superuser().core_tokens_list().send().await.expect("faults off");
}

#[tokio::test]
async fn faults_from_the_builder_apply_from_the_first_request() {
    let rule = types::FaultRule::builder().operation_id("netbird_tokens_list").error_rate(1.0).error_status(503);
    let server = TestServer::builder().faults([rule]).start().await;
    let faulted = server.owner().netbird_tokens_list().user_id("admin").send().await.unwrap_err();
    assert_eq!(faulted.status().map(|status| status.as_u16()), Some(503));
}

#[tokio::test]
async fn a_bad_setting_is_an_error_naming_it() {
    let err = TestServer::builder().netbird_pat("nbp_short").try_start().await.err().expect("a bad PAT");
    assert!(matches!(err, Error::Start(_)), "{err}");
    assert!(err.to_string().starts_with("cannot start tokenstack: "), "{err}");
}

#[tokio::test]
async fn the_server_stops_when_dropped_or_stopped() {
    let server = TestServer::start().await;
    let healthz = format!("{}/healthz", server.base_url());
    reqwest::get(&healthz).await.expect("serving");
    drop(server);
    // Drop sends Dropshot's close signal; the accept loop ends when the runtime next polls it.
    let mut refused = false;
    for _ in 0..100 {
        if reqwest::get(&healthz).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(refused, "still serving a second after drop");

    let server = TestServer::start().await;
    let healthz = format!("{}/healthz", server.base_url());
    server.stop().await.expect("clean shutdown");
    assert!(reqwest::get(&healthz).await.is_err(), "still serving after stop");
}
