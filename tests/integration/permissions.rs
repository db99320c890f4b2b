//! What a non-superuser without object permissions gets from the endpoints a setup script uses (issue 26):
//! 403 from every one, as upstream's `ObjectFilter` raises `PermissionDenied` when the caller may view none of
//! the objects, and its model permissions refuse every write, whether the object exists or not.

use reqwest::Method;
use serde_json::json;

use crate::support::{ALICE_KEY, BOB_KEY, TestServer};

#[tokio::test]
async fn a_user_without_permissions_gets_403_from_every_setup_endpoint() {
    let server = TestServer::start().await;
    let alice = format!("Bearer {ALICE_KEY}");
    let (_, groups) = server.raw(Method::GET, "/api/v3/core/groups/?name=authentik%20Admins", Some(&alice), None).await;
    let group = groups["results"][0]["pk"].as_str().unwrap().to_owned();
    let missing = "11112222-3333-4444-5555-666677778888";
    let pair = "7f1a0003-0000-4000-8000-000000000003";
    let mapping = "7f1a0010-0000-4000-8000-000000000001";
    let body = Some(r#"{"name": "x", "pk": 3, "password": "x"}"#);
    let mut cases: Vec<(Method, String)> = vec![
        (Method::GET, "/api/v3/core/groups/".into()),
        (Method::POST, "/api/v3/core/groups/".into()),
        (Method::POST, "/api/v3/core/users/3/set_password/".into()),
        (Method::POST, "/api/v3/core/users/2/set_password/".into()),
        (Method::GET, "/api/v3/crypto/certificatekeypairs/".into()),
        (Method::POST, "/api/v3/crypto/certificatekeypairs/".into()),
        (Method::POST, "/api/v3/crypto/certificatekeypairs/generate/".into()),
        (Method::GET, "/api/v3/propertymappings/provider/scope/".into()),
        (Method::POST, "/api/v3/propertymappings/provider/scope/".into()),
        (Method::GET, "/api/v3/propertymappings/all/".into()),
        (Method::GET, "/api/v3/providers/all/".into()),
        (Method::GET, "/api/v3/providers/all/1/".into()),
        (Method::DELETE, "/api/v3/providers/all/1/".into()),
        (Method::DELETE, "/api/v3/providers/all/999/".into()),
        (Method::PATCH, "/api/v3/providers/oauth2/1/".into()),
        (Method::GET, "/api/v3/providers/oauth2/1/setup_urls/".into()),
    ];
    for id in [group.as_str(), missing] {
        cases.push((Method::GET, format!("/api/v3/core/groups/{id}/")));
        cases.push((Method::PUT, format!("/api/v3/core/groups/{id}/")));
        cases.push((Method::PATCH, format!("/api/v3/core/groups/{id}/")));
        cases.push((Method::DELETE, format!("/api/v3/core/groups/{id}/")));
        cases.push((Method::POST, format!("/api/v3/core/groups/{id}/add_user/")));
        cases.push((Method::POST, format!("/api/v3/core/groups/{id}/remove_user/")));
    }
    for id in [pair, missing] {
        for suffix in ["", "used_by/", "view_certificate/", "view_private_key/"] {
            cases.push((Method::GET, format!("/api/v3/crypto/certificatekeypairs/{id}/{suffix}")));
        }
        cases.push((Method::PUT, format!("/api/v3/crypto/certificatekeypairs/{id}/")));
        cases.push((Method::PATCH, format!("/api/v3/crypto/certificatekeypairs/{id}/")));
        cases.push((Method::DELETE, format!("/api/v3/crypto/certificatekeypairs/{id}/")));
    }
    for id in [mapping, missing] {
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            cases.push((method, format!("/api/v3/propertymappings/provider/scope/{id}/")));
        }
    }
    let bob = format!("Bearer {BOB_KEY}");
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    for (method, path) in cases {
        let body = (method != Method::GET && method != Method::DELETE).then_some(body).flatten();
        let answer = server.raw(method.clone(), &path, Some(&bob), body).await;
        assert_eq!(answer, (403, forbidden.clone()), "{method} {path}");
    }
    // Nothing was changed on the way.
    let (status, group) = server
        .raw(
            Method::GET,
            &format!("/api/v3/core/groups/{}/", groups["results"][0]["pk"].as_str().unwrap()),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!((status, group["users"].clone()), (200, json!([2])));
}
