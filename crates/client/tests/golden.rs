//! Proves the golden copy of the generated client (`tests/output/client.rs`, written by `cargo xtask codegen`) builds and works.

#![allow(clippy::all, clippy::pedantic, unused_imports, dead_code)]

mod golden {
    include!("output/client.rs");
}

#[test]
fn golden_client_builds_and_has_every_type() {
    use golden::ClientInfo;
    let client = golden::Client::new("http://127.0.0.1:9");
    assert_eq!(client.baseurl(), "http://127.0.0.1:9");
    let request = golden::types::TokenRequest::builder().identifier("x");
    let request: golden::types::TokenRequest = request.try_into().expect("identifier is enough");
    assert_eq!(serde_json::to_value(&request).expect("serializes")["identifier"], "x");
}
