//! Bad input on every store: control characters, invalid UTF-8, oversize and deeply nested bodies, odd pages,
//! thousands of search and ordering terms, odd `Authorization` headers. Every answer is a 2xx or a 4xx in the
//! upstream's shape, never a 5xx or a dropped connection, and a reference token is intact afterwards. Some
//! cases also have one exact answer (`exact_cases`).

use serde_json::Value;
use tokenstack_pg_cluster::PgCluster;
use tokenstack_server::config::Config;

use crate::durability::{ADMIN_KEY, ADMIN_PAT};

/// Token of the admin API in this suite.
const ADMIN_TOKEN: &str = "bad-input-admin-token-0123456789abcdef";

/// `(method, path and query, Authorization, body)`; `AK` and `NB` stand for the bootstrap credentials.
fn cases() -> Vec<(&'static str, String, String, Option<Vec<u8>>)> {
    let ak = format!("Bearer {ADMIN_KEY}");
    let nb = format!("Token {ADMIN_PAT}");
    let many_terms = (0..1_200).map(|i| format!("t{i}")).collect::<Vec<_>>().join("+");
    let many_orderings =
        (0..2_100).map(|i| if i % 2 == 0 { "pk" } else { "-identifier" }).collect::<Vec<_>>().join(",");
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut cases = vec![
        ("GET", "/api/v3/core/tokens/%00/".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/a%01b/".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/%FF%FE/".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/?identifier=%00".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/?search=%00x".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/?description=%FF".to_string(), ak.clone(), None),
        ("GET", format!("/api/v3/core/tokens/?search={many_terms}"), ak.clone(), None),
        ("GET", format!("/api/v3/core/tokens/?ordering={many_orderings}"), ak.clone(), None),
        ("GET", format!("/api/v3/oauth2/access_tokens/?search={many_terms}"), ak.clone(), None),
        ("GET", format!("/api/v3/core/users/?search={many_terms}&ordering={many_orderings}"), ak.clone(), None),
        ("GET", "/api/v3/core/users/?username=%00&path_startswith=%00".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/?page=99999999999999999999".to_string(), ak.clone(), None),
        (
            "GET",
            format!("/api/v3/core/authenticated_sessions/?search={many_terms}&ordering={many_orderings}"),
            ak.clone(),
            None,
        ),
        ("GET", "/api/v3/core/authenticated_sessions/?session__last_ip=%FF&page=-1".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/authenticated_sessions/%00/".to_string(), ak.clone(), None),
        ("DELETE", "/api/v3/core/authenticated_sessions/not-a-uuid/".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/tokens/?page=-1&page_size=-5".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/users/99999999999999999999/".to_string(), ak.clone(), None),
        ("GET", format!("/api/v3/core/groups/?search={many_terms}&ordering={many_orderings}"), ak.clone(), None),
        ("GET", "/api/v3/core/groups/?members_by_pk=99999999999999999999&name=%00".to_string(), ak.clone(), None),
        ("GET", "/api/v3/core/groups/?members_by_username=%00&attributes=%00".to_string(), ak.clone(), None),
        (
            "GET",
            "/api/v3/core/groups/?attributes=%7B%22a__b__c%22%3A1%7D&include_users=%FF".to_string(),
            ak.clone(),
            None,
        ),
        (
            "POST",
            "/api/v3/core/groups/".to_string(),
            ak.clone(),
            Some(br#"{"name": "\u0000", "users": [1e400]}"#.to_vec()),
        ),
        ("GET", "/api/v3/core/groups/not-a-uuid/".to_string(), ak.clone(), None),
        ("POST", "/api/v3/core/tokens/".to_string(), ak.clone(), Some(br#"{"identifier": "a\u0000b"}"#.to_vec())),
        ("POST", "/api/v3/core/tokens/".to_string(), ak.clone(), Some(b"{\"identifier\": \"\xff\"}".to_vec())),
        ("POST", "/api/v3/core/tokens/".to_string(), ak.clone(), Some(nested.clone().into_bytes())),
        ("POST", "/api/v3/core/tokens/".to_string(), ak.clone(), Some(vec![b' '; 2 << 20])),
        (
            "POST",
            "/api/v3/core/users/".to_string(),
            ak.clone(),
            Some(br#"{"username": "x\u0000", "name": "\u0000"}"#.to_vec()),
        ),
        (
            "POST",
            "/api/v3/core/users/service_account/".to_string(),
            ak.clone(),
            Some(br#"{"name": "a\u0000"}"#.to_vec()),
        ),
        ("GET", "/api/v3/core/tokens/".to_string(), "Bearer".to_string(), None),
        ("GET", "/api/v3/core/tokens/".to_string(), "Bearer  \t ".to_string(), None),
        ("GET", "/api/v3/core/tokens/".to_string(), format!("Bearer {}", "k".repeat(8_000)), None),
        ("GET", "/api/v3/core/tokens/".to_string(), "Basic Zm9vOmJhcg==".to_string(), None),
        ("GET", "/api/users/%00/tokens".to_string(), nb.clone(), None),
        ("GET", "/api/users/admin/tokens/%00".to_string(), nb.clone(), None),
        (
            "POST",
            "/api/users/admin/tokens".to_string(),
            nb.clone(),
            Some(br#"{"name": "a\u0000", "expires_in": 1}"#.to_vec()),
        ),
        (
            "POST",
            "/api/users".to_string(),
            nb.clone(),
            Some(br#"{"name": "\u0000", "role": "user", "is_service_user": true}"#.to_vec()),
        ),
        ("PUT", "/api/users/%00".to_string(), nb.clone(), Some(br#"{"role": "user", "auto_groups": []}"#.to_vec())),
        ("POST", "/api/users".to_string(), nb.clone(), Some(nested.into_bytes())),
        ("GET", "/api/users?service_user=%00".to_string(), nb.clone(), None),
        ("GET", "/api/groups?name=a%00b".to_string(), nb.clone(), None),
        ("GET", "/api/groups?name=%FF".to_string(), nb.clone(), None),
        ("POST", "/api/groups".to_string(), nb.clone(), Some(br#"{"name": "a\u0000", "peers": ["\u0000"]}"#.to_vec())),
        ("POST", "/api/groups".to_string(), nb.clone(), Some(br#"{"name": "x", "peers": ["p\u0000"]}"#.to_vec())),
        ("GET", "/api/groups/%00".to_string(), nb.clone(), None),
        ("PUT", "/api/groups/%FF".to_string(), nb.clone(), Some(br#"{"name": "x"}"#.to_vec())),
        ("DELETE", "/api/groups/a%00b".to_string(), nb.clone(), None),
        ("GET", "/api/setup-keys/%00".to_string(), nb.clone(), None),
        ("PUT", "/api/setup-keys/%00".to_string(), nb.clone(), Some(br#"{"auto_groups": ["\u0000"]}"#.to_vec())),
        ("DELETE", "/api/setup-keys/%00".to_string(), nb.clone(), None),
        (
            "POST",
            "/api/setup-keys".to_string(),
            nb.clone(),
            Some(br#"{"name": "\u0000", "type": "reusable"}"#.to_vec()),
        ),
        (
            "POST",
            "/api/setup-keys".to_string(),
            nb.clone(),
            Some(
                br#"{"name": "k", "type": "reusable", "auto_groups": ["\u0000"], "expires_in": 9223372036854775807}"#
                    .to_vec(),
            ),
        ),
        (
            "POST",
            "/api/setup-keys".to_string(),
            nb.clone(),
            Some(
                br#"{"name": "k", "type": "reusable", "expires_in": 9223372036, "usage_limit": -9223372036854775808}"#
                    .to_vec(),
            ),
        ),
        ("GET", "/api/peers?name=%00&ip=%FF".to_string(), nb.clone(), None),
        ("GET", "/api/peers/%00".to_string(), nb.clone(), None),
        ("PUT", "/api/peers/%00".to_string(), nb.clone(), Some(br#"{"name": "\u0000", "ssh_enabled": 1}"#.to_vec())),
        ("PUT", "/api/peers/x".to_string(), nb.clone(), Some(br#"{"name": "a\u0000"}"#.to_vec())),
        ("DELETE", "/api/peers/a%00b".to_string(), nb.clone(), None),
        (
            "PUT",
            "/api/accounts/default".to_string(),
            nb.clone(),
            Some(br#"{"settings": {"peer_login_expiration": 9223372036854775807, "dns_domain": "\u0000"}}"#.to_vec()),
        ),
        (
            "PUT",
            "/api/accounts/default".to_string(),
            nb.clone(),
            Some(br#"{"settings": {"peer_login_expiration": 3600, "ipv6_enabled_groups": ["\u0000"]}}"#.to_vec()),
        ),
        ("PUT", "/api/accounts/%00".to_string(), nb.clone(), Some(br#"{"settings": null}"#.to_vec())),
        (
            "POST",
            "/_tokenstack/netbird/peers".to_string(),
            format!("Bearer {ADMIN_TOKEN}"),
            Some(br#"{"setup_key": "\u0000", "hostname": "\u0000", "wg_pub_key": "\u0000"}"#.to_vec()),
        ),
        (
            "POST",
            "/_tokenstack/netbird/peers".to_string(),
            format!("Bearer {ADMIN_TOKEN}"),
            Some(br#"{"setup_key": "x", "hostname": "", "extra_dns_labels": ["\u0000"]}"#.to_vec()),
        ),
        ("GET", "/api/users/admin/tokens".to_string(), "Token nbp_".to_string(), None),
        ("GET", "/api/users/admin/tokens".to_string(), format!("Token {}", "n".repeat(8_000)), None),
    ];
    cases.push(("DELETE", "/api/users/%00".to_string(), nb, None));
    cases
}

/// `(method, path, Authorization, body, status, a part of the body)`: bad input with one upstream answer.
type ExactCase = (&'static str, &'static str, String, &'static [u8], u16, &'static str);

fn exact_cases() -> Vec<ExactCase> {
    let ak = format!("Bearer {ADMIN_KEY}");
    let nb = format!("Token {ADMIN_PAT}");
    let admin = format!("Bearer {ADMIN_TOKEN}");
    // Data after the JSON value: DRF's json.loads refuses it; NetBird's json.Decoder reads the first value only.
    let extra = r#"{"detail":"JSON parse error - Extra data: line 1 column 20 (char 19)"}"#;
    vec![
        ("POST", "/api/v3/core/tokens/", ak.clone(), &br#"{"identifier":"x"} xyz"#[..], 400, extra),
        (
            "PUT",
            "/api/v3/core/tokens/authentik-bootstrap-token/",
            ak.clone(),
            &br#"{"identifier":"y"} {}"#[..],
            400,
            "Extra data",
        ),
        ("PUT", "/_tokenstack/state", admin, &b"{}\n\t xyz"[..], 400, "extra data: line 2 column 3 (char 5)"),
        ("POST", "/api/v3/core/groups/", ak.clone(), &br#"{"name": "twice"}"#[..], 201, r#""name":"twice""#),
        (
            "POST",
            "/api/v3/core/groups/",
            ak.clone(),
            &br#"{"name": "twice"}"#[..],
            400,
            "Group with this name already exists.",
        ),
        (
            "POST",
            "/api/v3/core/groups/",
            ak.clone(),
            &br#"{"name": "g", "users": [99999]}"#[..],
            400,
            r#"Invalid pk \"99999\""#,
        ),
        (
            "POST",
            "/api/v3/core/groups/11112222-3333-4444-5555-666677778888/add_user/",
            ak.clone(),
            &br#"{"pk": 1}"#[..],
            404,
            "No Group matches the given query.",
        ),
        (
            "GET",
            "/api/v3/core/authenticated_sessions/?user__username=%00",
            ak.clone(),
            &b""[..],
            400,
            "Null characters are not allowed.",
        ),
        (
            "DELETE",
            "/api/v3/core/authenticated_sessions/11112222-3333-4444-5555-666677778888/",
            ak.clone(),
            &b""[..],
            404,
            "No Authenticated Session matches the given query.",
        ),
        (
            "POST",
            "/api/users/admin/tokens",
            nb,
            &br#"{"name":"x","expires_in":30} xyz"#[..],
            200,
            "personal_access_token",
        ),
    ]
}

async fn hammer(config: Config) {
    let running = tokenstack_server::start(&config).await.expect("server starts");
    let base = format!("http://{}", running.server.local_addr());
    let http = reqwest::Client::new();
    for (method, path, authorization, body) in cases() {
        let (status, body) =
            tokenstack_tests::send(&http, &base, method.parse().unwrap(), &path, Some(&authorization), body.as_deref())
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        assert!((200..500).contains(&status), "{method} {path}: {status} {body}");
        let upstream_shaped = if path.starts_with("/api/v3/") {
            body.get("detail").is_some_and(Value::is_string)
                || body.as_object().is_some_and(|m| !m.is_empty() && m.values().all(Value::is_array))
                || status < 300
        } else {
            body.get("message").is_some_and(Value::is_string) || status < 300
        };
        // Router-level answers (Dropshot's own 400 for a path that is not UTF-8) use Dropshot's body.
        let router_level = body.get("request_id").is_some();
        assert!(upstream_shaped || router_level, "{method} {path}: {status} {body}");
    }
    for (method, path, authorization, body, want_status, want_body) in exact_cases() {
        let (status, answer) =
            tokenstack_tests::send(&http, &base, method.parse().unwrap(), path, Some(&authorization), Some(body))
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let answer = answer.to_string();
        assert_eq!(status, want_status, "{method} {path}: {answer}");
        assert!(answer.contains(want_body), "{method} {path}: {answer} lacks {want_body}");
    }
    let reference = http
        .get(format!("{base}/api/v3/core/tokens/authentik-bootstrap-token/"))
        .header("authorization", format!("Bearer {ADMIN_KEY}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reference.status(), 200, "the reference token is intact");
    let pats = http
        .get(format!("{base}/api/users/admin/tokens"))
        .header("authorization", format!("Token {ADMIN_PAT}"))
        .send()
        .await
        .unwrap();
    assert_eq!(pats.status(), 200, "the reference PAT is intact");
}

fn config(store: &str) -> Config {
    let mut config = crate::durability::replica_config(store);
    config.admin_token = Some(ADMIN_TOKEN.into());
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_answers_bad_input_with_4xx() {
    hammer(config("memory")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_answers_bad_input_with_4xx() {
    let dir = tempfile::tempdir().unwrap();
    hammer(config(&format!("sqlite:{}", dir.path().join("bad.db").display()))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_answers_bad_input_with_4xx() {
    let pg = PgCluster::start().unwrap();
    let url = pg.create_database("bad_input").unwrap();
    hammer(config(&url)).await;
}
