//! Secret values and their generation: authentik token keys, NetBird PATs, setup keys, password hashes and xid-style
//! ids.

use std::fmt;
use std::process;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

mod password;
pub use password::{MAX_PASSWORD_ITERATIONS, PASSWORD_ITERATIONS, PasswordHash, PasswordHashError};

/// Length of an authentik token key (`tenant.default_token_length`).
pub const AK_KEY_LENGTH: usize = 60;
/// NetBird PAT prefix (`types.PATPrefix`).
pub const PAT_PREFIX: &str = "nbp_";
/// NetBird PAT secret length (`types.PATSecretLength`).
pub const PAT_SECRET_LENGTH: usize = 30;
/// NetBird PAT checksum length (`types.PATChecksumLength`).
pub const PAT_CHECKSUM_LENGTH: usize = 6;
/// NetBird PAT total length (`types.PATLength`).
pub const PAT_LENGTH: usize = 40;

/// NetBird's base62 alphabet (`netbird/base62`).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// xid's base32hex alphabet, lower case.
const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// A secret string (token key, PAT): serializes as the plain value, never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a plain secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plain value; call sites make every disclosure explicit.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A flag, environment or file value read as a secret (never fails).
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret::new(value))
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a string is not a well-formed NetBird PAT (`extractPATFromToken`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatFormatError {
    #[error("PAT has incorrect length")]
    Length,
    #[error("PAT has wrong prefix")]
    Prefix,
    #[error("PAT checksum is not valid base62")]
    ChecksumEncoding,
    #[error("PAT checksum does not match")]
    ChecksumMismatch,
}

/// `generate_id(length)` (`authentik/lib/generators.py`): `length` characters of `string.ascii_letters +
/// string.digits`, from the system's CSPRNG.
pub fn generate_id(length: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect()
}

/// An `OAuth2Provider.client_id` (`default=generate_id`): 40 alphanumeric characters.
pub fn generate_client_id() -> String {
    generate_id(40)
}

/// An `OAuth2Provider.client_secret` (`generate_client_secret`, `generate_id(128)`): 128 alphanumeric characters.
pub fn generate_client_secret() -> String {
    generate_id(128)
}

/// A `RefreshToken.token` (`default=generate_client_secret`): opaque, 128 alphanumeric characters.
pub fn generate_refresh_token() -> String {
    generate_client_secret()
}

/// An `AuthorizationCode.code` (`AuthorizationFlowInitView.create_code`: `uuid4().hex`): 32 lowercase hex digits.
pub fn generate_authorization_code() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The `uid` claim of an access token and the `jti` of an id token (`generate_id()`): 40 alphanumeric characters.
pub fn generate_token_uid() -> String {
    generate_id(40)
}

/// A fresh authentik token key: 60 characters of `[A-Za-z0-9]` (authentik `generate_id`).
pub fn generate_key() -> String {
    generate_id(AK_KEY_LENGTH)
}

/// A fresh NetBird PAT as `(plain, hashed)`; only `hashed` may be stored.
pub fn generate_pat() -> (String, String) {
    let mut rng = rand::rng();
    let secret: String =
        (0..PAT_SECRET_LENGTH).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect();
    let checksum = base62_encode(crc32fast::hash(secret.as_bytes()));
    let plain = format!("{PAT_PREFIX}{secret}{checksum:0>width$}", width = PAT_CHECKSUM_LENGTH);
    let hashed = hash_pat(&plain);
    (plain, hashed)
}

/// Checks length, prefix and checksum of a PAT, exactly in upstream's order.
pub fn parse_pat(token: &str) -> Result<(), PatFormatError> {
    let bytes = token.as_bytes();
    if bytes.len() != PAT_LENGTH {
        return Err(PatFormatError::Length);
    }
    if !bytes.starts_with(PAT_PREFIX.as_bytes()) {
        return Err(PatFormatError::Prefix);
    }
    let secret_end = PAT_PREFIX.len() + PAT_SECRET_LENGTH;
    let checksum = base62_decode(&bytes[secret_end..]).ok_or(PatFormatError::ChecksumEncoding)?;
    if crc32fast::hash(&bytes[PAT_PREFIX.len()..secret_end]) != checksum {
        return Err(PatFormatError::ChecksumMismatch);
    }
    Ok(())
}

/// The stored form of a PAT: standard base64 of its SHA-256.
pub fn hash_pat(plain: &str) -> String {
    STANDARD.encode(Sha256::digest(plain.as_bytes()))
}

/// A fresh NetBird setup key (`GenerateSetupKey`): an upper-case UUID v4, as `(plain, hashed, hidden)`; only
/// `hashed` and `hidden` (the first 5 characters and `****`, `HiddenKey(key, 4)`) may be stored.
pub fn generate_setup_key() -> (Secret, String, String) {
    let plain = Uuid::new_v4().to_string().to_uppercase();
    let hashed = hash_setup_key(&plain);
    let hidden = format!("{}****", &plain[..5]);
    (Secret::new(plain), hashed, hidden)
}

/// The stored form of a setup key: base64 of its SHA-256, as upstream stores it.
pub fn hash_setup_key(plain: &str) -> String {
    hash_pat(plain)
}

/// A 20-character xid (`ch8i54g6lnn4g9hqv7n0`): time, machine, pid and counter, base32hex.
pub fn new_xid_like_id() -> String {
    static MACHINE: OnceLock<[u8; 3]> = OnceLock::new();
    static COUNTER: OnceLock<AtomicU32> = OnceLock::new();
    let machine = MACHINE.get_or_init(|| rand::rng().random());
    let counter = COUNTER.get_or_init(|| AtomicU32::new(rand::rng().random())).fetch_add(1, Ordering::Relaxed);
    // xid stores the time as 32-bit seconds; truncation is the format.
    let secs = chrono::Utc::now().timestamp() as u32;
    let pid = (process::id() & 0xffff) as u16;

    let mut raw = [0u8; 12];
    raw[..4].copy_from_slice(&secs.to_be_bytes());
    raw[4..7].copy_from_slice(machine);
    raw[7..9].copy_from_slice(&pid.to_be_bytes());
    raw[9..].copy_from_slice(&counter.to_be_bytes()[1..]);
    base32hex_encode(&raw)
}

/// NetBird `base62.Encode`: most significant digit first, `"0"` for zero, no padding.
fn base62_encode(mut num: u32) -> String {
    if num == 0 {
        return "0".to_owned();
    }
    let mut digits = Vec::new();
    while num > 0 {
        digits.push(BASE62[(num % 62) as usize]);
        num /= 62;
    }
    digits.iter().rev().map(|&b| char::from(b)).collect()
}

/// NetBird `base62.Decode`, including its wrapping `uint32` arithmetic.
fn base62_decode(encoded: &[u8]) -> Option<u32> {
    let len = encoded.len();
    encoded.iter().enumerate().try_fold(0u32, |acc, (i, c)| {
        let index = BASE62.iter().position(|a| a == c)? as u32;
        let weight = 62u32.wrapping_pow((len - i - 1) as u32);
        Some(acc.wrapping_add(index.wrapping_mul(weight)))
    })
}

/// A 20-character xid-shaped id derived from `seed` (the same seed, the same id): for a row that every replica
/// creates under one id, such as an account's `All` group.
pub fn derived_xid_like_id(seed: &str) -> String {
    base32hex_encode(&Sha256::digest(seed.as_bytes())[..12])
}

/// Big-endian bit stream to base32hex, the last group zero-padded (xid's encoding).
fn base32hex_encode(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len() * 8 / 5 + 1);
    let mut buffer: u16 = 0;
    let mut bits = 0;
    for &byte in raw {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32HEX[usize::from((buffer >> bits) & 0x1f)]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32HEX[usize::from((buffer << (5 - bits)) & 0x1f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alnum(s: &str) -> bool {
        s.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    #[test]
    fn generators_have_upstreams_lengths_and_alphabets() {
        let id = generate_client_id();
        assert_eq!((id.len(), alnum(&id)), (40, true));
        let secret = generate_client_secret();
        assert_eq!((secret.len(), alnum(&secret)), (128, true));
        let refresh = generate_refresh_token();
        assert_eq!((refresh.len(), alnum(&refresh)), (128, true));
        let uid = generate_token_uid();
        assert_eq!((uid.len(), alnum(&uid)), (40, true));
        let code = generate_authorization_code();
        assert_eq!(code.len(), 32);
        assert!(code.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{code}");
        assert_ne!(generate_client_secret(), secret);
        assert_ne!(generate_authorization_code(), code);
    }

    #[test]
    fn key_is_60_alphanumerics_and_random() {
        let a = generate_key();
        let b = generate_key();
        assert_eq!(a.len(), 60);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn generated_pat_parses_and_hash_matches() {
        for _ in 0..200 {
            let (plain, hashed) = generate_pat();
            assert_eq!(plain.len(), PAT_LENGTH);
            assert!(plain.starts_with("nbp_"));
            assert_eq!(parse_pat(&plain), Ok(()));
            assert_eq!(hashed, hash_pat(&plain));
        }
    }

    #[test]
    fn flipped_secret_char_fails_checksum() {
        let (plain, _) = generate_pat();
        let mut bytes = plain.into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let flipped = String::from_utf8(bytes).unwrap();
        assert_eq!(parse_pat(&flipped), Err(PatFormatError::ChecksumMismatch));
    }

    #[test]
    fn format_errors_in_upstream_order() {
        assert_eq!(parse_pat("nbp_short"), Err(PatFormatError::Length));
        let wrong_prefix = format!("xbp_{}", "A".repeat(36));
        assert_eq!(parse_pat(&wrong_prefix), Err(PatFormatError::Prefix));
        let bad_checksum = format!("nbp_{}00000-", "A".repeat(30));
        assert_eq!(parse_pat(&bad_checksum), Err(PatFormatError::ChecksumEncoding));
        // Multi-byte characters are measured in bytes, as in Go, and never panic.
        let unicode = format!("nbp_{}é", "A".repeat(34));
        assert_eq!(unicode.len(), 40);
        assert_eq!(parse_pat(&unicode), Err(PatFormatError::ChecksumEncoding));
    }

    #[test]
    fn known_crc32_base62_vector() {
        // crc32("123456789") = 0xCBF43926 = 3421780262, the IEEE check value.
        // 3421780262 = 3*62^5 + 45*62^4 + 35*62^3 + 27*62^2 + 22*62 + 14 -> "3jZRME".
        assert_eq!(crc32fast::hash(b"123456789"), 3_421_780_262);
        assert_eq!(base62_encode(3_421_780_262), "3jZRME");
        assert_eq!(base62_decode(b"3jZRME"), Some(3_421_780_262));
        assert_eq!(base62_encode(u32::MAX), "4gfFC3");
        assert_eq!(base62_encode(0), "0");
        // A 5-digit checksum is padded with '0', which decodes to the same value.
        // crc32("A"*30) = 0x317F6A1B = 830433819 -> "uCPlr".
        let plain = format!("nbp_{}0uCPlr", "A".repeat(30));
        assert_eq!(parse_pat(&plain), Ok(()));
        assert_eq!(hash_pat(&plain), "7QUet5VEF5ZF9v3BE+oLQuOLVvq08MSOpUdJOa3TUBs=");
    }

    #[test]
    fn setup_keys_are_upper_case_uuids_stored_hashed_and_shown_hidden() {
        let (plain, hashed, hidden) = generate_setup_key();
        let plain = plain.expose();
        assert!(Uuid::parse_str(plain).is_ok() && plain == plain.to_uppercase(), "{plain}");
        assert_eq!((hashed, hidden), (hash_setup_key(plain), format!("{}****", &plain[..5])));
        // base64(sha256) of the example key of upstream's spec (`echo -n … | sha256sum`).
        let hash = hash_setup_key("A616097E-FCF0-48FA-9354-CA4A61142761");
        assert_eq!(hash, "AXW2UfuFQ6RMbUunH+hsP4zprMtYRF7VoOood9eUbWE=");
    }

    #[test]
    fn xid_shape() {
        let a = new_xid_like_id();
        let b = new_xid_like_id();
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|c| BASE32HEX.contains(&c)));
        assert_ne!(a, b);
        // Known xid vector: bytes 4d88e15b60f486e428412dc9 -> 9m4e2mr0ui3e8a215n4g.
        let raw = [0x4d, 0x88, 0xe1, 0x5b, 0x60, 0xf4, 0x86, 0xe4, 0x28, 0x41, 0x2d, 0xc9];
        assert_eq!(base32hex_encode(&raw), "9m4e2mr0ui3e8a215n4g");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
    }
}
