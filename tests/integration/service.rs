//! tokenstack's own operations: liveness, readiness and Prometheus metrics.

use crate::support::{ADMIN_KEY, TestServer};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = TestServer::start().await;
    // Health checks need no credentials.
    let anonymous = tokenstack_client::Client::new(&server.base);
    assert_eq!(anonymous.healthz().send().await.expect("healthz").into_inner().status, "ok");
    assert_eq!(anonymous.readyz().send().await.expect("readyz").into_inner().status, "ready");

    server.authentik(ADMIN_KEY).core_tokens_list().send().await.expect("list");
    let missing = server.authentik(ADMIN_KEY).core_tokens_retrieve().identifier("nope").send().await;
    assert!(missing.is_err());

    let response = anonymous.metrics().send().await.expect("metrics");
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let bytes = reqwest::get(format!("{}/metrics", server.base)).await.expect("get").text().await.expect("text");
    assert!(bytes.contains(r#"tokenstack_requests_total{operation_id="core_tokens_list",status="200"} 1"#), "{bytes}");
    assert!(
        bytes.contains(r#"tokenstack_requests_total{operation_id="core_tokens_retrieve",status="404"} 1"#),
        "{bytes}"
    );
    assert!(bytes.contains(r#"tokenstack_requests_total{operation_id="readyz",status="200"} 1"#), "{bytes}");
    assert!(bytes.contains("tokenstack_request_duration_seconds_count"), "{bytes}");
    // examples/seed.yaml plus the bootstrap token and PAT.
    assert!(bytes.contains(r#"tokenstack_tokens{kind="authentik_core"} 3"#), "{bytes}");
    assert!(bytes.contains(r#"tokenstack_tokens{kind="authentik_oauth2_access"} 2"#), "{bytes}");
    assert!(bytes.contains(r#"tokenstack_tokens{kind="netbird_pat"} 6"#), "{bytes}");
}
