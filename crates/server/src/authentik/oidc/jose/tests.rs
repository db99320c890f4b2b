//! Unit tests of the JOSE building blocks against values authentik's own code computes (`testdata/vectors.py`:
//! PyJWT 2.11.0 and the `jwks.py`/`crypto/models.py` formulas over fixed keys and certificates).

use std::sync::OnceLock;

use serde_json::Value;

use super::*;
use crate::authentik::oidc::json::{Ordered, Style, to_python_json};

const RSA_KEY: &str = include_str!("../testdata/rsa.key");
const RSA_PKCS1_KEY: &str = include_str!("../testdata/rsa-pkcs1.key");
const RSA_CRT: &str = include_str!("../testdata/rsa.crt");
const EC_KEY: &str = include_str!("../testdata/ec.key");
const EC_SEC1_KEY: &str = include_str!("../testdata/ec-sec1.key");
const EC_CRT: &str = include_str!("../testdata/ec.crt");

fn vectors() -> &'static Value {
    static VECTORS: OnceLock<Value> = OnceLock::new();
    VECTORS.get_or_init(|| serde_json::from_str(include_str!("../testdata/vectors.json")).unwrap())
}

fn vector(name: &str) -> &'static str {
    vectors()[name].as_str().unwrap()
}

fn rsa() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_pem(RSA_KEY, Some(RSA_CRT), "tokenstack test rsa").unwrap())
}

fn ec() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_pem(EC_KEY, Some(EC_CRT), "tokenstack test ec").unwrap())
}

/// The payload of `vectors.py`, in its order.
fn payload() -> Ordered {
    let mut claims = Ordered::new();
    let value: Value = serde_json::from_str(vector("payload")).unwrap();
    // serde_json sorts keys: take the order from the Python text instead.
    let text = vector("payload");
    let mut keys: Vec<(usize, &str)> =
        value.as_object().unwrap().keys().map(|k| (text.find(&format!("\"{k}\":")).unwrap(), k.as_str())).collect();
    keys.sort();
    for (_, key) in keys {
        claims.insert(key, value[key].clone());
    }
    claims
}

/// The JWKS body as the view writes it.
fn jwks_json(key: Option<&SigningKey>) -> String {
    to_python_json(&Jwks::new(key), Style::Spaced).unwrap()
}

#[test]
fn kid_is_sha512_of_the_pem_text() {
    assert_eq!(rsa().kid(), vector("rsa_kid"));
    assert_eq!(ec().kid(), vector("ec_kid"));
    assert_eq!(key_id(""), "");
    assert_eq!(rsa().kid().len(), 86);
}

#[test]
fn jwks_is_upstreams_for_fixed_keys() {
    assert_eq!(jwks_json(Some(rsa())), vector("rsa_jwks"));
    assert_eq!(jwks_json(Some(ec())), vector("ec_jwks"));
}

#[test]
fn hs256_provider_has_an_empty_jwks() {
    assert_eq!(jwks_json(None), "{}");
}

#[test]
fn rs256_token_is_pyjwts_byte_for_byte() {
    let token = Signer::Key(rsa()).sign(&payload()).unwrap();
    assert_eq!(token, vector("rs256"));
}

#[test]
fn hs256_token_is_pyjwts_byte_for_byte() {
    let token = Signer::ClientSecret("s3cr3t-client-secret").sign(&payload()).unwrap();
    assert_eq!(token, vector("hs256"));
}

#[test]
fn es256_token_verifies_and_has_kid() {
    let signer = Signer::Key(ec());
    let token = signer.sign(&payload()).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.kid.as_deref(), Some(vector("ec_kid")));
    // Raw r || s, as JWS wants (not DER).
    let signature = token.rsplit('.').next().unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(signature).unwrap().len(), 64);
    let claims = signer.verify(&token).unwrap();
    assert_eq!(claims["name"], "Zoë");
    assert_eq!(claims["scope"], "openid profile");
}

#[test]
fn verify_rejects_other_keys_and_algorithms() {
    let token = Signer::Key(rsa()).sign(&payload()).unwrap();
    assert!(Signer::Key(rsa()).verify(&token).is_ok());
    assert!(Signer::Key(ec()).verify(&token).is_err(), "wrong key type");
    assert!(Signer::ClientSecret("s3cr3t-client-secret").verify(&token).is_err(), "alg confusion");
    let hs = Signer::ClientSecret("a").sign(&payload()).unwrap();
    assert!(Signer::ClientSecret("a").verify(&hs).is_ok());
    assert!(Signer::ClientSecret("b").verify(&hs).is_err(), "wrong secret");
    let mut tampered = token.clone();
    tampered.replace_range(token.find('.').unwrap() + 2..token.find('.').unwrap() + 3, "A");
    assert!(Signer::Key(rsa()).verify(&tampered).is_err(), "tampered payload");
}

#[test]
fn traditional_pem_keys_load_with_their_own_kid() {
    let rsa1 = SigningKey::from_pem(RSA_PKCS1_KEY, Some(RSA_CRT), "rsa").unwrap();
    let sec1 = SigningKey::from_pem(EC_SEC1_KEY, Some(EC_CRT), "ec").unwrap();
    assert_eq!(rsa1.algorithm(), Algorithm::Rs256);
    assert_eq!(sec1.algorithm(), Algorithm::Es256);
    // The same key in another encoding: the same public JWK, another kid (it hashes the PEM text).
    assert_eq!(rsa1.jwk().get("n"), rsa().jwk().get("n"));
    assert_eq!(sec1.jwk().get("x"), ec().jwk().get("x"));
    assert_eq!(rsa1.kid(), key_id(RSA_PKCS1_KEY));
    assert_ne!(rsa1.kid(), rsa().kid());
    let token = Signer::Key(&rsa1).sign(&payload()).unwrap();
    assert!(Signer::Key(&rsa1).verify(&token).is_ok());
    assert!(Signer::Key(rsa()).verify(&token).is_err(), "the kid names the other pem");
}

#[test]
fn bad_pem_is_an_error_without_key_material() {
    let err = SigningKey::from_pem("not a key", None, "x").unwrap_err();
    assert_eq!(err.to_string(), "no private key in the pem text");
    let err = SigningKey::from_pem(RSA_CRT, None, "x").unwrap_err();
    assert_eq!(err.to_string(), "no private key in the pem text");
    let err = SigningKey::from_pem(RSA_KEY, Some("garbage"), "x").unwrap_err();
    assert!(err.to_string().starts_with("certificate: "), "{err}");
    let p384 = include_str!("../testdata/ec-p384.key");
    let err = SigningKey::from_pem(p384, None, "x").unwrap_err();
    assert_eq!(err.to_string(), "unsupported private key: only rsa and ec p-256 keys can sign");
    assert_eq!(format!("{:?}", rsa().pem()), "***");
    assert!(!format!("{:?}", rsa()).contains("PRIVATE"));
}

#[test]
fn generated_ec_key_round_trips_through_its_pem() {
    let key = SigningKey::generate(KeyKind::Ec, "generated").unwrap();
    assert!(key.pem().expose().starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(key.pem().expose().lines().all(|l| l.len() <= 64));
    assert!(key.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let again = SigningKey::from_pem(key.pem().expose(), Some(key.certificate_pem()), "generated").unwrap();
    assert_eq!(again.kid(), key.kid());
    assert_eq!(again.jwk(), key.jwk());
    let token = Signer::Key(&key).sign(&payload()).unwrap();
    assert!(Signer::Key(&again).verify(&token).is_ok());
}

#[test]
fn generated_certificate_has_authentiks_names() {
    // A self-signed certificate for a loaded key: parse it back with the x509 fields authentik writes.
    let key = SigningKey::from_pem(EC_KEY, None, "my key").unwrap();
    let der = CertificateDer::from_pem_slice(key.certificate_pem().as_bytes()).unwrap();
    let text = String::from_utf8_lossy(der.as_ref()).into_owned();
    for name in ["my key", "authentik", "Self-signed", "authentik 2026.8.5"] {
        assert!(text.contains(name), "{name} missing from the certificate");
    }
    // x5c is the DER of that certificate.
    let jwk = key.jwk();
    assert_eq!(jwk.get("x5c").unwrap()[0].as_str().unwrap(), STANDARD.encode(der.as_ref()));
}

#[test]
fn generated_rsa_key_is_2048_bits() {
    // One RSA key generation per test binary run (slow in debug builds, so only here).
    let key = SigningKey::generate(KeyKind::Rsa, "generated rsa").unwrap();
    assert_eq!(key.algorithm(), Algorithm::Rs256);
    let n = URL_SAFE_NO_PAD.decode(key.jwk().get("n").unwrap().as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256);
    let token = Signer::Key(&key).sign(&payload()).unwrap();
    assert!(Signer::Key(&key).verify(&token).is_ok());
}

#[test]
fn claims_must_be_an_object() {
    assert!(Signer::ClientSecret("a").sign(&"string").is_err());
    assert!(Signer::ClientSecret("a").sign(&[1, 2]).is_err());
}
