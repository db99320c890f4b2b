//! Per-token signing cost: aws-lc-rs key pairs parsed once (what the provider does) against `jsonwebtoken::encode`
//! (which parses the DER key on every call), for ES256 and RS256 over an access token's claims.
//!
//! Usage: `jose-sign <testdata dir> [iterations]`; prints microseconds per token, one line per case.

use std::time::Instant;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;

fn key(dir: &str, file: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(format!("{dir}/{file}")).expect("a private key pem")
}

fn time(name: &str, iterations: u32, f: &mut dyn FnMut()) {
    for _ in 0..iterations / 20 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    println!("{name}: {:.1} µs per token", start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations));
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: jose-sign <testdata dir> [iterations]");
    let iterations: u32 = args.next().map_or(2000, |s| s.parse().expect("iterations"));
    let claims = serde_json::json!({
        "iss": "http://localhost:9000/application/o/app/",
        "sub": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "aud": "client-id-0123456789012345678901234567890",
        "exp": 1767229200, "iat": 1767225600, "auth_time": 1767225600,
        "acr": "goauthentik.io/providers/oauth2/default",
        "jti": "0123456789012345678901234567890123456789",
        "azp": "client-id-0123456789012345678901234567890",
        "uid": "0123456789012345678901234567890123456789",
        "scope": ""
    });
    let rng = SystemRandom::new();
    let ec_der = key(&dir, "ec.key");
    let rsa_der = key(&dir, "rsa.key");
    let ec = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, ec_der.secret_der()).expect("ec");
    let rsa = RsaKeyPair::from_pkcs8(rsa_der.secret_der()).expect("rsa");
    // The whole token each time (JSON, base64, signature), as jose.rs builds it.
    let signing_input = |alg: &str| {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"k","typ":"JWT"}}"#)),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("json"))
        )
    };
    time("ES256, aws-lc-rs key pair parsed once", iterations, &mut || {
        let input = signing_input("ES256");
        let sig = ec.sign(&rng, input.as_bytes()).expect("sign");
        std::hint::black_box(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)));
    });
    time("RS256, aws-lc-rs key pair parsed once", iterations, &mut || {
        let input = signing_input("RS256");
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).expect("sign");
        std::hint::black_box(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)));
    });
    let ec_key = jsonwebtoken::EncodingKey::from_ec_der(ec_der.secret_der());
    let rsa_key = jsonwebtoken::EncodingKey::from_rsa_der(key(&dir, "rsa-pkcs1.key").secret_der());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k".into());
    time("ES256, jsonwebtoken::encode", iterations, &mut || {
        std::hint::black_box(jsonwebtoken::encode(&header, &claims, &ec_key).expect("encode"));
    });
    header.alg = jsonwebtoken::Algorithm::RS256;
    time("RS256, jsonwebtoken::encode", iterations, &mut || {
        std::hint::black_box(jsonwebtoken::encode(&header, &claims, &rsa_key).expect("encode"));
    });
}
