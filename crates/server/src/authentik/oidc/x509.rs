//! Certificates and private keys as authentik's `CertificateKeyPair` reads them (`authentik/crypto/`): a PEM
//! certificate that `load_pem_x509_certificate` loads, a PEM private key that `load_pem_private_key` loads, and
//! the details the API shows (SHA-256 and SHA-1 fingerprints, expiry, RFC 4514 subject, key type).
//!
//! A certificate is read with a small DER walker over the fields shown (`Certificate`, `TBSCertificate`,
//! `Validity`, `Name`, `SubjectPublicKeyInfo` of RFC 5280): the product already parses PEM and keys with
//! rustls-pki-types and aws-lc-rs, and these few fields do not need an X.509 library.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use chrono::{DateTime, NaiveDateTime, Utc};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What the API shows of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateInfo {
    /// `hexlify(cert.fingerprint(SHA256()), ":")`: lowercase hex pairs joined by colons.
    pub(crate) fingerprint_sha256: String,
    pub(crate) fingerprint_sha1: String,
    pub(crate) not_after: DateTime<Utc>,
    /// `cert.subject.rfc4514_string()`.
    pub(crate) subject: String,
    /// `rsa`, `ec`, `ed25519`, `ed448` or `dsa`, from the public key's algorithm.
    pub(crate) key_type: Option<&'static str>,
}

/// The first certificate of `pem` and its details; `None` when `load_pem_x509_certificate` would fail.
pub(crate) fn certificate_info(pem: &str) -> Option<CertificateInfo> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    let der = der.as_ref();
    let mut outer = Der(der);
    let mut certificate = Der(outer.expect(SEQUENCE)?);
    if !outer.0.is_empty() {
        return None;
    }
    let mut tbs = Der(certificate.expect(SEQUENCE)?);
    certificate.expect(SEQUENCE)?;
    certificate.expect(BIT_STRING)?;
    let (mut tag, _) = tbs.next()?;
    if tag == VERSION {
        (tag, _) = tbs.next()?;
    }
    if tag != INTEGER {
        return None;
    }
    tbs.expect(SEQUENCE)?;
    tbs.expect(SEQUENCE)?;
    let mut validity = Der(tbs.expect(SEQUENCE)?);
    let (tag, not_before) = validity.next()?;
    time(tag, not_before)?;
    let (tag, not_after) = validity.next()?;
    let not_after = time(tag, not_after)?;
    let subject = rfc4514(tbs.expect(SEQUENCE)?)?;
    let mut spki = Der(tbs.expect(SEQUENCE)?);
    let algorithm = Der(spki.expect(SEQUENCE)?).expect(OID)?;
    spki.expect(BIT_STRING)?;
    Some(CertificateInfo {
        fingerprint_sha256: colon_hex(digest::digest(&digest::SHA256, der).as_ref()),
        fingerprint_sha1: colon_hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
        not_after,
        subject,
        key_type: key_type(&oid_string(algorithm)?),
    })
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const VERSION: u8 = 0xa0;

/// DER bytes being read one TLV at a time (definite lengths only, as DER requires).
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element's tag and contents.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |len, b| (len << 8) | usize::from(*b));
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.0 = after;
        Some((tag, contents))
    }

    /// The next element's contents if it has `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (found, contents) = self.next()?;
        (found == tag).then_some(contents)
    }
}

/// An OID in dotted form.
fn oid_string(bytes: &[u8]) -> Option<String> {
    let (&first, rest) = bytes.split_first()?;
    let mut arcs = vec![u64::from(first / 40).min(2), u64::from(first) - 40 * u64::from(first / 40).min(2)];
    let mut value = 0u64;
    for &b in rest {
        value = value.checked_mul(128)? | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    Some(arcs.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// `UTCTime` (two-digit years 1950 to 2049) or `GeneralizedTime`, in UTC.
fn time(tag: u8, bytes: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('Z')?;
    let full = match tag {
        0x17 if text.len() == 12 => {
            let century = if text[..2].parse::<u8>().ok()? >= 50 { "19" } else { "20" };
            format!("{century}{text}")
        }
        0x18 if text.len() == 14 => text.to_owned(),
        _ => return None,
    };
    NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok().map(|t| t.and_utc())
}

/// Whether `load_pem_private_key(…, password=None)` loads `pem` after authentik strips every line: an
/// unencrypted PKCS#8, PKCS#1 or SEC1 key of a type `cryptography` knows (RSA, EC on P-256/384/521, Ed25519).
pub(crate) fn private_key_loads(pem: &str) -> bool {
    let stripped: Vec<&str> = pem.split('\n').map(str::trim).collect();
    let Ok(der) = PrivateKeyDer::from_pem_slice(stripped.join("\n").as_bytes()) else {
        return false;
    };
    let ec = [
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
    ];
    match &der {
        PrivateKeyDer::Pkcs8(key) => {
            let der = key.secret_pkcs8_der();
            RsaKeyPair::from_pkcs8(der).is_ok()
                || Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).is_ok()
                || ec.iter().any(|alg| EcdsaKeyPair::from_pkcs8(alg, der).is_ok())
        }
        PrivateKeyDer::Pkcs1(key) => RsaKeyPair::from_der(key.secret_pkcs1_der()).is_ok(),
        PrivateKeyDer::Sec1(key) => {
            ec.iter().any(|alg| EcdsaKeyPair::from_private_key_der(alg, key.secret_sec1_der()).is_ok())
        }
        _ => false,
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// `CertificateKeyPair.key_type`'s values by the public key's algorithm OID.
fn key_type(oid: &str) -> Option<&'static str> {
    match oid {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => Some("rsa"),
        "1.2.840.10045.2.1" => Some("ec"),
        "1.3.101.112" => Some("ed25519"),
        "1.3.101.113" => Some("ed448"),
        "1.2.840.10040.4.1" => Some("dsa"),
        _ => None,
    }
}

/// `Name.rfc4514_string()` of `cryptography` over a `Name`'s contents: the RDNs last first, joined by `,`; the
/// attributes of one RDN joined by `+`; the short names of RFC 4514 (and `cryptography`'s own few), other types
/// as dotted OIDs; string values as text, others as `#` and their hex.
fn rfc4514(name: &[u8]) -> Option<String> {
    let mut rdns = Vec::new();
    let mut name = Der(name);
    while !name.0.is_empty() {
        let mut set = Der(name.expect(SET)?);
        let mut attributes = Vec::new();
        while !set.0.is_empty() {
            let mut attribute = Der(set.expect(SEQUENCE)?);
            let oid = oid_string(attribute.expect(OID)?)?;
            let (tag, value) = attribute.next()?;
            let value = match tag {
                // UTF8String, PrintableString, T61String, IA5String
                0x0c | 0x13 | 0x14 | 0x16 => escape(&String::from_utf8_lossy(value)),
                // BMPString
                0x1e => {
                    let units: Vec<u16> = value.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                    escape(&String::from_utf16_lossy(&units))
                }
                _ => format!("#{}", value.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            };
            attributes.push(format!("{}={value}", attribute_name(&oid).map_or(oid.clone(), str::to_owned)));
        }
        rdns.push(attributes.join("+"));
    }
    rdns.reverse();
    Some(rdns.join(","))
}

fn attribute_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// `_escape_dn_value`: `\` `"` `+` `,` `;` `<` `>` escaped everywhere, `#` or a space first, a space last, NUL.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '\\' | '"' | '+' | ',' | ';' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authentik::oidc::jose::{KeyKind, SigningKey};

    #[test]
    fn a_generated_pair_loads_and_shows_authentiks_details() {
        let key = SigningKey::generate(KeyKind::Ec, "demo, ltd").unwrap();
        assert!(private_key_loads(key.pem().expose()));
        let info = certificate_info(key.certificate_pem()).unwrap();
        assert_eq!(info.subject, "OU=Self-signed,O=authentik,CN=demo\\, ltd");
        assert_eq!(info.key_type, Some("ec"));
        assert_eq!(info.fingerprint_sha256.len(), 32 * 3 - 1);
        assert_eq!(info.fingerprint_sha1.split(':').count(), 20);
        assert!(info.not_after > Utc::now() + chrono::TimeDelta::days(360));
    }

    #[test]
    fn what_cryptography_cannot_load_is_refused() {
        assert!(certificate_info("not a certificate").is_none());
        assert!(certificate_info("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_none());
        assert!(!private_key_loads(""));
        assert!(!private_key_loads("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
        let key = SigningKey::generate(KeyKind::Rsa, "k").unwrap();
        let indented: String = key.pem().expose().lines().map(|l| format!("  {l}  \n")).collect();
        assert!(private_key_loads(&indented), "lines are stripped first, as upstream");
        assert!(!private_key_loads(key.certificate_pem()), "a certificate is no private key");
    }

    #[test]
    fn oids_and_times_read_as_der_writes_them() {
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]).as_deref(),
            Some("1.2.840.113549.1.1.1")
        );
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
        let utc = time(0x17, b"491231235959Z").unwrap();
        assert_eq!(utc.to_rfc3339(), "2049-12-31T23:59:59+00:00");
        assert_eq!(time(0x17, b"500101000000Z").unwrap().to_rfc3339(), "1950-01-01T00:00:00+00:00");
        assert_eq!(time(0x18, b"21060207062815Z").unwrap().to_rfc3339(), "2106-02-07T06:28:15+00:00");
        assert!(time(0x17, b"4912312359Z").is_none());
    }

    #[test]
    fn dn_values_are_escaped_as_rfc4514() {
        assert_eq!(escape("#a b "), "\\#a b\\ ");
        assert_eq!(escape("x+y<z>"), "x\\+y\\<z\\>");
    }
}
