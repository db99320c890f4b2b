//! authentik's certificate-key pairs through the generated client: the fresh store's self-signed pair found by
//! name, creation from PEM with upstream's checks, `generate/`, the certificate and key views, deletion, and the
//! provider that signs with the pair its `signing_key` names.

use reqwest::Method;
use serde_json::{Value, json};
use tokenstack_client::types;

use crate::support::{ALICE_KEY, BOB_KEY, TestServer, error_of};

fn generation(common_name: &str, alg: types::AlgEnum, days: i64) -> types::builder::CertificateGenerationRequest {
    types::CertificateGenerationRequest::builder()
        .common_name(common_name.parse::<types::CertificateGenerationRequestCommonName>().unwrap())
        .subject_alt_name(Some("a.example.com,b.example.com".to_string()))
        .validity_days(days)
        .alg(alg)
}

#[tokio::test]
async fn a_fresh_store_holds_authentiks_self_signed_certificate() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let listed = alice.crypto_certificatekeypairs_list().name("authentik Self-signed Certificate").send().await;
    let listed = listed.unwrap().into_inner();
    assert_eq!(listed.pagination.count, 1.0);
    let pair = &listed.results[0];
    assert_eq!(pair.pk.to_string(), "7f1a0003-0000-4000-8000-000000000003");
    assert!(pair.private_key_available);
    assert_eq!(pair.key_type, Some(types::CertificateKeyPairKeyTypeEnum::Rsa));
    assert_eq!(pair.cert_subject.as_deref(), Some("OU=Self-signed,O=authentik,CN=authentik Self-signed Certificate"));
    assert_eq!(pair.fingerprint_sha256.as_deref().map(|f| f.split(':').count()), Some(32));
    assert_eq!(pair.managed, None);
    assert_eq!(
        pair.certificate_download_url,
        "/api/v3/crypto/certificatekeypairs/7f1a0003-0000-4000-8000-000000000003/view_certificate/?download"
    );
    let with_keys = alice.crypto_certificatekeypairs_list().has_key(true).send().await.unwrap().into_inner();
    let names: Vec<&str> = with_keys.results.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["authentik Self-signed Certificate", "tokenstack ES256 Certificate"]);
    let ec = alice.crypto_certificatekeypairs_list().key_type(types::KeyTypeEnum::Ec).send().await.unwrap();
    assert_eq!(
        ec.into_inner().results.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["tokenstack ES256 Certificate"]
    );
}

#[tokio::test]
async fn generated_pairs_are_viewed_copied_from_pem_and_deleted() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let generated = alice
        .crypto_certificatekeypairs_generate_create()
        .body(generation("app.example.com", types::AlgEnum::Ecdsa, 30))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(generated.name, "app.example.com");
    assert_eq!(generated.key_type, Some(types::CertificateKeyPairKeyTypeEnum::Ec));
    assert_eq!(generated.cert_subject.as_deref(), Some("OU=Self-signed,O=authentik,CN=app.example.com"));
    let days_left = (generated.cert_expiry.unwrap() - chrono::Utc::now()).num_days();
    assert!((29..=30).contains(&days_left), "{days_left}");

    let certificate = alice.crypto_certificatekeypairs_view_certificate_retrieve().kp_uuid(generated.pk).send().await;
    let certificate = certificate.unwrap().into_inner().data;
    let key = alice.crypto_certificatekeypairs_view_private_key_retrieve().kp_uuid(generated.pk).send().await;
    let key = key.unwrap().into_inner().data;
    assert!(certificate.starts_with("-----BEGIN CERTIFICATE-----") && key.contains("PRIVATE KEY-----"));

    let copy = types::CertificateKeyPairRequest::builder()
        .name("copy".parse::<types::CertificateKeyPairRequestName>().unwrap())
        .certificate_data(certificate.parse::<types::CertificateKeyPairRequestCertificateData>().unwrap())
        .key_data(Some(key));
    let copied = alice.crypto_certificatekeypairs_create().body(copy).send().await.unwrap().into_inner();
    assert_eq!(copied.fingerprint_sha256, generated.fingerprint_sha256);
    let retrieved = alice.crypto_certificatekeypairs_retrieve().kp_uuid(copied.pk.to_string()).send().await;
    assert_eq!(retrieved.unwrap().into_inner().name, "copy");

    alice.crypto_certificatekeypairs_destroy().kp_uuid(copied.pk.to_string()).send().await.unwrap();
    let (status, body) =
        error_of(alice.crypto_certificatekeypairs_retrieve().kp_uuid(copied.pk.to_string()).send().await);
    assert_eq!((status, body), (404, json!({"detail": "No CertificateKeyPair matches the given query."})));
    let auth = format!("Bearer {ALICE_KEY}");
    let path = "/api/v3/crypto/certificatekeypairs/";
    let (status, body) = server.raw(Method::DELETE, &format!("{path}nope/"), Some(&auth), None).await;
    assert_eq!((status, body), (404, json!({"detail": "Not found."})));
    let (status, body) = server.raw(Method::DELETE, &format!("{path}generate/"), Some(&auth), None).await;
    assert_eq!((status, body), (405, json!({"detail": "Method \"DELETE\" not allowed."})));
}

#[tokio::test]
async fn bad_key_pairs_get_upstreams_field_errors() {
    let server = TestServer::start().await;
    let auth = format!("Bearer {ALICE_KEY}");
    let path = "/api/v3/crypto/certificatekeypairs/";
    let cases = [
        (
            json!({"name": "x", "certificate_data": "nope"}),
            json!({"certificate_data": ["Unable to load certificate."]}),
        ),
        (
            json!({"certificate_data": ""}),
            json!({"name": ["This field is required."], "certificate_data": ["This field may not be blank."]}),
        ),
        (json!([]), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
    ];
    for (body, expected) in cases {
        let (status, got) = server.raw(Method::POST, path, Some(&auth), Some(&body.to_string())).await;
        assert_eq!((status, got), (400, expected), "{body}");
    }
    let (_, pair) = server
        .raw(Method::GET, &format!("{path}7f1a0003-0000-4000-8000-000000000003/view_certificate/"), Some(&auth), None)
        .await;
    let certificate = pair["data"].as_str().unwrap().to_owned();
    let bad_key = json!({"name": "x", "certificate_data": certificate, "key_data": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"});
    let (status, got) = server.raw(Method::POST, path, Some(&auth), Some(&bad_key.to_string())).await;
    assert_eq!((status, got), (400, json!({"key_data": ["Unable to load private key (possibly encrypted?)."]})));
    let duplicate = json!({"name": "authentik Self-signed Certificate", "certificate_data": certificate});
    let (status, got) = server.raw(Method::POST, path, Some(&auth), Some(&duplicate.to_string())).await;
    assert_eq!((status, got), (400, json!({"name": ["Certificate-Key Pair with this name already exists."]})));

    let generate = format!("{path}generate/");
    let (status, got) = server.raw(Method::POST, &generate, Some(&auth), Some(r#"{"validity_days": "x"}"#)).await;
    assert_eq!(
        (status, got),
        (400, json!({"common_name": ["This field is required."], "validity_days": ["A valid integer is required."]}))
    );
    let (status, got) = server.raw(Method::GET, &generate, Some(&auth), None).await;
    assert_eq!((status, got), (405, json!({"detail": "Method \"GET\" not allowed."})));

    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    let bob = server.authentik(BOB_KEY);
    assert_eq!(error_of(bob.crypto_certificatekeypairs_list().send().await), (403, forbidden.clone()));
    let generated =
        bob.crypto_certificatekeypairs_generate_create().body(generation("b", types::AlgEnum::Rsa, 1)).send().await;
    assert_eq!(error_of(generated), (403, forbidden));
}

#[tokio::test]
async fn a_provider_signs_with_the_pair_its_signing_key_names() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let auth = format!("Bearer {ALICE_KEY}");
    let pair = alice
        .crypto_certificatekeypairs_generate_create()
        .body(generation("signer", types::AlgEnum::Ecdsa, 365))
        .send()
        .await
        .unwrap()
        .into_inner();
    let provider = |signing_key: Value| {
        json!({
            "name": "signed", "client_id": "signed", "redirect_uris": [],
            "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
            "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
            "signing_key": signing_key,
        })
        .to_string()
    };
    let unknown = "11112222-3333-4444-5555-666677778888";
    let (status, got) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider(json!(unknown)))).await;
    assert_eq!(
        (status, got),
        (400, json!({"signing_key": [format!("Invalid pk \"{unknown}\" - object does not exist.")]}))
    );
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider(json!(pair.pk)))).await;
    assert_eq!(status, 201, "{created}");
    let app = json!({"name": "signed", "slug": "signed", "provider": created["pk"]}).to_string();
    let (status, _) = server.raw(Method::POST, "/api/v3/core/applications/", Some(&auth), Some(&app)).await;
    assert_eq!(status, 201);
    let (status, jwks) = server.raw(Method::GET, "/application/o/signed/jwks/", None, None).await;
    assert_eq!((status, jwks["keys"][0]["alg"].as_str()), (200, Some("ES256")));

    alice.crypto_certificatekeypairs_destroy().kp_uuid(pair.pk.to_string()).send().await.unwrap();
    let pk = created["pk"].as_i64().unwrap();
    let after = alice.providers_oauth2_retrieve().id(pk).send().await.unwrap().into_inner();
    assert_eq!(after.signing_key, None, "deleting the pair clears the provider's signing_key");
}

#[tokio::test]
async fn pairs_are_updated_as_created_and_show_the_providers_that_use_them() {
    let server = TestServer::start().await;
    let alice = server.authentik(ALICE_KEY);
    let auth = format!("Bearer {ALICE_KEY}");
    let generated = alice
        .crypto_certificatekeypairs_generate_create()
        .body(generation("renamed.example.com", types::AlgEnum::Ecdsa, 30))
        .send()
        .await
        .unwrap()
        .into_inner();
    let pk = generated.pk.to_string();
    let patch = types::PatchedCertificateKeyPairRequest::builder().name(Some(" signing ".parse().unwrap()));
    let patched =
        alice.crypto_certificatekeypairs_partial_update().kp_uuid(generated.pk).body(patch).send().await.unwrap();
    let patched = patched.into_inner();
    assert_eq!(
        (patched.name.as_str(), patched.fingerprint_sha256.clone()),
        ("signing", generated.fingerprint_sha256.clone())
    );
    let path = format!("/api/v3/crypto/certificatekeypairs/{pk}/");
    let (status, body) = server.raw(Method::PUT, &path, Some(&auth), Some(r#"{"name": "x"}"#)).await;
    assert_eq!((status, body), (400, json!({"certificate_data": ["This field is required."]})));
    let taken = json!({"name": "authentik Self-signed Certificate"}).to_string();
    let (status, body) = server.raw(Method::PATCH, &path, Some(&auth), Some(&taken)).await;
    assert_eq!((status, body), (400, json!({"name": ["Certificate-Key Pair with this name already exists."]})));
    let bad = json!({"certificate_data": "not a certificate", "key_data": "not a key"}).to_string();
    let (status, body) = server.raw(Method::PATCH, &path, Some(&auth), Some(&bad)).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"certificate_data": ["Unable to load certificate."],
                   "key_data": ["Unable to load private key (possibly encrypted?)."]})
        )
    );
    // The default pair's PEM, put under the generated pair's name: a PUT replaces certificate and key.
    let default = "7f1a0003-0000-4000-8000-000000000003";
    let certificate = alice.crypto_certificatekeypairs_view_certificate_retrieve().kp_uuid(default).send().await;
    let certificate = certificate.unwrap().into_inner().data;
    let put = types::CertificateKeyPairRequest::builder()
        .name("signing".parse::<types::CertificateKeyPairRequestName>().unwrap())
        .certificate_data(certificate.parse::<types::CertificateKeyPairRequestCertificateData>().unwrap());
    let replaced =
        alice.crypto_certificatekeypairs_update().kp_uuid(generated.pk).body(put).send().await.unwrap().into_inner();
    assert_eq!(replaced.key_type, Some(types::CertificateKeyPairKeyTypeEnum::Rsa));

    let unused = alice.crypto_certificatekeypairs_used_by_list().kp_uuid(generated.pk).send().await.unwrap();
    assert!(unused.into_inner().is_empty());
    let provider = json!({
        "name": "user", "client_id": "user", "redirect_uris": [], "signing_key": pk,
        "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
        "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
    });
    let (status, created) =
        server.raw(Method::POST, "/api/v3/providers/oauth2/", Some(&auth), Some(&provider.to_string())).await;
    assert_eq!(status, 201, "{created}");
    let used = alice.crypto_certificatekeypairs_used_by_list().kp_uuid(generated.pk).send().await.unwrap();
    let used = serde_json::to_value(used.into_inner()).unwrap();
    let expected = json!([{"app": "authentik_providers_oauth2", "model_name": "oauth2provider",
                           "pk": created["pk"].to_string(), "name": "user", "action": "set_null"}]);
    assert_eq!(used, expected);
    let unknown = "11112222-3333-4444-5555-666677778888";
    let (status, _) = server
        .raw(Method::GET, &format!("/api/v3/crypto/certificatekeypairs/{unknown}/used_by/"), Some(&auth), None)
        .await;
    assert_eq!(status, 404);
    let bob = server.authentik(BOB_KEY);
    let forbidden = json!({"detail": "You do not have permission to perform this action."});
    assert_eq!(
        error_of(bob.crypto_certificatekeypairs_used_by_list().kp_uuid(generated.pk).send().await),
        (403, forbidden)
    );
}
