//! JOSE for the OAuth2 provider: signing keys (RS256, ES256, HS256 with the client secret), JWTs as authentik's
//! `OAuth2Provider.encode` writes them with PyJWT, and the JWKS document of `views/jwks.py`.
//!
//! Signing uses aws-lc-rs key pairs parsed once per key (jsonwebtoken 12 re-parses the DER key on every `encode`:
//! an `EC_KEY_check_key` scalar multiplication per ES256 token); verification uses `jsonwebtoken`, an independent
//! implementation of the same format. The bytes of a token are PyJWT's: the header's keys sorted
//! (`{"alg":…,"kid":…,"typ":"JWT"}`), the payload compact and ASCII-only (`json.dumps` defaults), so an RS256 or
//! HS256 token for the same claims and key is byte-for-byte the one authentik issues.
//!
//! Keys (`authentik/crypto`): `kid` is `generate_key_id(key_data)`, the unpadded URL-safe base64 of SHA-512 over the
//! PEM text as stored (`crypto/models.py`); PEM text is kept as loaded so that the `kid` of an exported key
//! does not change. Every authentik key pair has a certificate, so keys here get a self-signed one (rcgen) when
//! none is given, with the subject and issuer names of `crypto/builder.py`.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Serialize;
use serde_json::Value;

use super::json::{Ordered, Style, to_python_json};
use crate::secrets::Secret;

/// The version authentik writes into the issuer name of its self-signed certificates (`authentik {version}`).
const AUTHENTIK_VERSION: &str = "2026.8.5";

/// A JWS algorithm authentik's provider signs with (`JWTAlgorithms`; ES384/ES512 keys are not supported here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Hs256,
    Rs256,
    Es256,
}

impl Algorithm {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Algorithm::Hs256 => "HS256",
            Algorithm::Rs256 => "RS256",
            Algorithm::Es256 => "ES256",
        }
    }

    fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::Hs256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        }
    }
}

/// What can go wrong with keys and tokens; no message carries key material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum JoseError {
    #[error("no private key in the pem text")]
    NoPrivateKey,
    #[error("unsupported private key: only rsa and ec p-256 keys can sign")]
    UnsupportedKey,
    #[error("private key rejected: {0}")]
    Rejected(String),
    #[error("key generation failed")]
    Generate,
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("signing failed")]
    Sign,
    #[error("claims cannot be encoded: {0}")]
    Claims(#[from] serde_json::Error),
    #[error("token rejected: {0}")]
    Verify(#[from] jsonwebtoken::errors::Error),
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A certificate-key pair that signs (`CertificateKeyPair` with `key_data`).
pub(crate) struct SigningKey {
    pair: Pair,
    pem: Secret,
    kid: String,
    certificate_pem: String,
    certificate_der: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("alg", &self.algorithm()).field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The key type to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA 2048 (authentik's `CertificateBuilder` makes 4096-bit keys; 2048 signs about seven times faster).
    Rsa,
    /// ECDSA P-256 (`PrivateKeyAlg.ECDSA`).
    Ec,
}

impl SigningKey {
    /// A fresh key with a self-signed certificate for `name` (the key pair's name, the certificate's CN).
    /// Its PEM is PKCS#8 (`-----BEGIN PRIVATE KEY-----`).
    pub(crate) fn generate(kind: KeyKind, name: &str) -> Result<Self, JoseError> {
        let pkcs8 = match kind {
            KeyKind::Rsa => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| JoseError::Generate)?;
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| JoseError::Generate)?;
                der.as_ref().to_vec()
            }
            KeyKind::Ec => {
                let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| JoseError::Generate)?;
                pair.to_pkcs8v1().map_err(|_| JoseError::Generate)?.as_ref().to_vec()
            }
        };
        Self::from_pem(&pem_encode("PRIVATE KEY", &pkcs8), None, name)
    }

    /// A key from PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, what
    /// authentik's own builder writes), with its certificate PEM, or a self-signed certificate for `name`.
    pub(crate) fn from_pem(key_pem: &str, certificate_pem: Option<&str>, name: &str) -> Result<Self, JoseError> {
        let der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| JoseError::NoPrivateKey)?;
        let pair = match &der {
            // A PKCS#8 key of another type (P-384, Ed25519…) fails both parsers.
            PrivateKeyDer::Pkcs8(pkcs8) => match RsaKeyPair::from_pkcs8(pkcs8.secret_pkcs8_der()) {
                Ok(rsa) => Pair::Rsa(rsa),
                Err(_) => Pair::Ec(
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.secret_pkcs8_der())
                        .map_err(|_| JoseError::UnsupportedKey)?,
                ),
            },
            PrivateKeyDer::Pkcs1(pkcs1) => Pair::Rsa(
                RsaKeyPair::from_der(pkcs1.secret_pkcs1_der()).map_err(|e| JoseError::Rejected(e.to_string()))?,
            ),
            PrivateKeyDer::Sec1(sec1) => Pair::Ec(
                EcdsaKeyPair::from_private_key_der(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, sec1.secret_sec1_der())
                    .map_err(|_| JoseError::UnsupportedKey)?,
            ),
            _ => return Err(JoseError::UnsupportedKey),
        };
        let (certificate_pem, certificate_der) = match certificate_pem {
            Some(text) => {
                let der = CertificateDer::from_pem_slice(text.as_bytes())
                    .map_err(|e| JoseError::Certificate(e.to_string()))?;
                (text.to_owned(), der.as_ref().to_vec())
            }
            None => self_signed(&pair, name)?,
        };
        Ok(SigningKey { pair, kid: key_id(key_pem), pem: Secret::new(key_pem), certificate_pem, certificate_der })
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self.pair {
            Pair::Rsa(_) => Algorithm::Rs256,
            Pair::Ec(_) => Algorithm::Es256,
        }
    }

    /// `CertificateKeyPair.kid`.
    #[cfg(test)]
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The private key's PEM text as loaded or generated, for the seed export.
    pub(crate) fn pem(&self) -> &Secret {
        &self.pem
    }

    /// The certificate's PEM text, for the seed export.
    pub(crate) fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// One JWK of `JWKSView.get_jwk_for_key(key, "sig")`, its keys in upstream's order.
    pub(crate) fn jwk(&self) -> Ordered {
        let mut jwk = Ordered::new();
        jwk.insert("alg", self.algorithm().as_str());
        jwk.insert("kid", self.kid.clone());
        match &self.pair {
            Pair::Rsa(rsa) => {
                let public = rsa.public_key();
                jwk.insert("kty", "RSA");
                jwk.insert("use", "sig");
                jwk.insert("n", URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()));
                jwk.insert("e", URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()));
            }
            Pair::Ec(ec) => {
                // The uncompressed point 04 || x || y, each coordinate 32 bytes (`min_length_map[SECP256R1]`).
                let point = ec.public_key().as_ref();
                jwk.insert("kty", "EC");
                jwk.insert("use", "sig");
                jwk.insert("x", URL_SAFE_NO_PAD.encode(&point[1..33]));
                jwk.insert("y", URL_SAFE_NO_PAD.encode(&point[33..65]));
                jwk.insert("crv", "P-256");
            }
        }
        jwk.insert("x5c", vec![Value::from(STANDARD.encode(&self.certificate_der))]);
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &self.certificate_der);
        jwk.insert("x5t", URL_SAFE_NO_PAD.encode(sha1.as_ref()));
        let sha256 = digest::digest(&digest::SHA256, &self.certificate_der);
        jwk.insert("x5t#S256", URL_SAFE_NO_PAD.encode(sha256.as_ref()));
        jwk
    }

    fn sign_input(&self, input: &[u8]) -> Result<Vec<u8>, JoseError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(rsa) => {
                let mut sig = vec![0; rsa.public_modulus_len()];
                rsa.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig).map_err(|_| JoseError::Sign)?;
                Ok(sig)
            }
            Pair::Ec(ec) => Ok(ec.sign(&rng, input).map_err(|_| JoseError::Sign)?.as_ref().to_vec()),
        }
    }

    fn decoding_key(&self) -> Result<jsonwebtoken::DecodingKey, JoseError> {
        Ok(match &self.pair {
            Pair::Rsa(rsa) => {
                let public = rsa.public_key();
                jsonwebtoken::DecodingKey::from_rsa_raw_components(
                    public.modulus().big_endian_without_leading_zero(),
                    public.exponent().big_endian_without_leading_zero(),
                )
            }
            Pair::Ec(ec) => {
                let point = ec.public_key().as_ref();
                jsonwebtoken::DecodingKey::from_ec_components(
                    &URL_SAFE_NO_PAD.encode(&point[1..33]),
                    &URL_SAFE_NO_PAD.encode(&point[33..65]),
                )?
            }
        })
    }
}

/// `generate_key_id`: unpadded URL-safe base64 of SHA-512 over the PEM text (empty text: empty kid).
pub(crate) fn key_id(key_pem: &str) -> String {
    if key_pem.is_empty() {
        return String::new();
    }
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA512, key_pem.as_bytes()).as_ref())
}

/// PEM as `cryptography` writes it: 64-character lines, a final newline.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A certificate as `CertificateBuilder.build` makes one for a key pair created without one: valid for 365 days.
fn self_signed(pair: &Pair, name: &str) -> Result<(String, Vec<u8>), JoseError> {
    certificate(pair, name, &[], 365, chrono::Utc::now())
}

/// `CertificateBuilder(common_name).build(subject_alt_names, validity_days)` and `save()`: a fresh key of `kind`
/// (its PEM PKCS#8) and its self-signed certificate PEM.
pub(crate) fn generate_pair(
    kind: KeyKind,
    common_name: &str,
    subject_alt_names: &[String],
    validity_days: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Secret, String), JoseError> {
    let key = SigningKey::generate(kind, common_name)?;
    let (certificate_pem, _) = certificate(&key.pair, common_name, subject_alt_names, validity_days, now)?;
    Ok((key.pem, certificate_pem))
}

/// A certificate as `CertificateBuilder.build` makes one: subject CN=`name`[:64], O=authentik, OU=Self-signed;
/// issuer CN=`authentik <version>`; the DNS names as its subject alternative names; valid from the day before
/// `now` for `validity_days` days; a random 128-bit serial; SHA-256.
fn certificate(
    pair: &Pair,
    name: &str,
    subject_alt_names: &[String],
    validity_days: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(String, Vec<u8>), JoseError> {
    let cert_err = |e: rcgen::Error| JoseError::Certificate(e.to_string());
    let (pkcs8, alg): (Vec<u8>, &'static rcgen::SignatureAlgorithm) = match pair {
        Pair::Rsa(rsa) => {
            let der: Pkcs8V1Der<'static> = rsa.as_der().map_err(|_| JoseError::Generate)?;
            (der.as_ref().to_vec(), &rcgen::PKCS_RSA_SHA256)
        }
        Pair::Ec(ec) => {
            (ec.to_pkcs8v1().map_err(|_| JoseError::Generate)?.as_ref().to_vec(), &rcgen::PKCS_ECDSA_P256_SHA256)
        }
    };
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(pkcs8), alg).map_err(cert_err)?;

    let today = now.date_naive();
    let ymd = |d: chrono::NaiveDate| {
        use chrono::Datelike as _;
        rcgen::date_time_ymd(d.year(), d.month() as u8, d.day() as u8)
    };
    let mut params = rcgen::CertificateParams::new(subject_alt_names.to_vec()).map_err(cert_err)?;
    let cn: String = name.chars().take(64).collect();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "authentik");
    params.distinguished_name.push(rcgen::DnType::OrganizationalUnitName, "Self-signed");
    params.not_before = ymd(today - chrono::TimeDelta::days(1));
    params.not_after = ymd(today + chrono::TimeDelta::days(validity_days));
    params.serial_number = Some(rcgen::SerialNumber::from_slice(uuid::Uuid::new_v4().as_bytes()));

    let mut issuer_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    issuer_params.distinguished_name = rcgen::DistinguishedName::new();
    issuer_params.distinguished_name.push(rcgen::DnType::CommonName, format!("authentik {AUTHENTIK_VERSION}"));
    let issuer = rcgen::Issuer::new(issuer_params, &key);
    let cert = params.signed_by(&key, &issuer).map_err(cert_err)?;
    Ok((cert.pem(), cert.der().as_ref().to_vec()))
}

/// What signs a provider's tokens (`OAuth2Provider.jwt_key`): its signing key, or HS256 with its client secret.
#[derive(Clone, Copy)]
pub(crate) enum Signer<'a> {
    Key(&'a SigningKey),
    ClientSecret(&'a str),
}

impl fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signer::Key(key) => f.debug_tuple("Key").field(key).finish(),
            Signer::ClientSecret(_) => f.write_str("ClientSecret(***)"),
        }
    }
}

impl Signer<'_> {
    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Signer::Key(key) => key.algorithm(),
            Signer::ClientSecret(_) => Algorithm::Hs256,
        }
    }

    /// `OAuth2Provider.encode(payload)`: a compact JWS with `kid` in the header when there is a signing key.
    /// `claims` must serialize to a JSON object; its key order is kept.
    pub(crate) fn sign(&self, claims: &impl Serialize) -> Result<String, JoseError> {
        let payload = to_python_json(claims, Style::Compact)?;
        if !payload.starts_with('{') {
            return Err(JoseError::Claims(serde::ser::Error::custom("claims are not a json object")));
        }
        // PyJWT: `{"typ": "JWT", "alg": …}` updated with `{"kid": …}`, dumped with `sort_keys=True`.
        let header = match self {
            Signer::Key(key) => {
                format!(
                    r#"{{"alg":"{}","kid":{},"typ":"JWT"}}"#,
                    key.algorithm().as_str(),
                    to_python_json(&key.kid, Style::Compact)?
                )
            }
            Signer::ClientSecret(_) => r#"{"alg":"HS256","typ":"JWT"}"#.to_owned(),
        };
        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 350);
        URL_SAFE_NO_PAD.encode_string(header.as_bytes(), &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), &mut token);
        let signature = match self {
            Signer::Key(key) => key.sign_input(token.as_bytes())?,
            Signer::ClientSecret(secret) => {
                let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
                hmac::sign(&key, token.as_bytes()).as_ref().to_vec()
            }
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }

    /// Checks a token's signature and algorithm (not `exp`, `aud` or `iss`: the stores decide expiry) and returns
    /// its claims. The header must name this signer's algorithm (and `kid`, when it has one). The tests' check of
    /// what [`Signer::sign`] writes, with an independent implementation (jsonwebtoken).
    #[cfg(test)]
    pub(crate) fn verify(&self, token: &str) -> Result<Value, JoseError> {
        if let Signer::Key(key) = self {
            let header = jsonwebtoken::decode_header(token)?;
            if header.kid.as_deref() != Some(key.kid()) {
                return Err(JoseError::Verify(jsonwebtoken::errors::ErrorKind::InvalidToken.into()));
            }
        }
        self.verify_signature(token)
    }

    /// PyJWT's `jwt.decode(token, key, algorithms=[alg], options={"verify_exp": False})` before its claim checks:
    /// the header names this signer's algorithm, the signature is this key's (or this client secret's); a `kid`
    /// is not compared, as PyJWT does not. Returns the claims.
    pub(crate) fn verify_signature(&self, token: &str) -> Result<Value, JoseError> {
        let alg = self.algorithm().jsonwebtoken();
        let key = match self {
            Signer::Key(key) => key.decoding_key()?,
            Signer::ClientSecret(secret) => jsonwebtoken::DecodingKey::from_secret(secret.as_bytes())?,
        };
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        Ok(jsonwebtoken::decode::<Value>(token, &key, &validation)?.claims)
    }
}

/// The body of `GET /application/o/<slug>/jwks/` (`JWKSView.get`): `{"keys": [jwk]}` for a signing key, `{}`
/// for an HS256 provider. Django's `JsonResponse` writes it with `json.dumps`' default separators.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Jwks(Option<Ordered>);

impl Jwks {
    pub(crate) fn new(key: Option<&SigningKey>) -> Self {
        Jwks(key.map(SigningKey::jwk))
    }
}

impl Serialize for Jwks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(usize::from(self.0.is_some())))?;
        if let Some(jwk) = &self.0 {
            map.serialize_entry("keys", std::slice::from_ref(jwk))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests;
