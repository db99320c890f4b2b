//! Password hashes in Django's `pbkdf2_sha256` format, tuned for a test double: cheap to check, never stored plain.

use std::fmt;
use std::num::NonZeroU32;

use aws_lc_rs::pbkdf2::{self, PBKDF2_HMAC_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::generate_id;

/// Django's name for the hasher authentik uses (`PBKDF2PasswordHasher.algorithm`), the first field of a hash.
pub const PBKDF2_SHA256: &str = "pbkdf2_sha256";

/// The iterations of a hash tokenstack makes. Django (and so authentik) uses 1,000,000, which costs about half a
/// second of CPU per check; a test double checks passwords thousands of times, so tokenstack uses few enough
/// iterations that a check costs well under 0.1 ms (BENCHMARKS.md). Not for a production password store.
pub const PASSWORD_ITERATIONS: u32 = 64;

/// The most iterations a stored hash may name: authentik's own count, with room for Django's next raises. A hash
/// copied from a real authentik database verifies here (slowly); a larger count is refused rather than run.
pub const MAX_PASSWORD_ITERATIONS: u32 = 4_000_000;

/// Length of a fresh salt (`BasePasswordHasher.salt_entropy` 128 bits over 62 symbols: 22 characters).
const SALT_LENGTH: usize = 22;

/// Length of the derived key (SHA-256's output, as Django's `pbkdf2(…, dklen=0)`).
const KEY_LENGTH: usize = 32;

/// Why a string is not a usable `pbkdf2_sha256$<iterations>$<salt>$<base64 key>` hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordHashError {
    #[error("a password hash has four fields separated by '$': algorithm, iterations, salt and hash")]
    Shape,
    #[error("the password hash algorithm '{0}' is not supported: only pbkdf2_sha256 is")]
    Algorithm(String),
    #[error("the password hash iterations must be a number from 1 to {MAX_PASSWORD_ITERATIONS}")]
    Iterations,
    #[error("the password hash is not base64 of 1 to 64 bytes")]
    Key,
}

/// A salted password hash as Django writes it (`pbkdf2_sha256$64$<salt>$<base64>`). `Debug` hides it.
///
/// Serialized as its encoded form. Deserialized from that form, or, for seed files, from a plain password (any
/// string that does not start with `pbkdf2_sha256$`), which is hashed as it is read.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Hashes `plain` with a fresh salt.
    pub fn new(plain: &str) -> Self {
        Self::with_salt(plain, &generate_id(SALT_LENGTH), PASSWORD_ITERATIONS)
    }

    fn with_salt(plain: &str, salt: &str, iterations: u32) -> Self {
        let mut key = [0u8; KEY_LENGTH];
        let rounds = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
        pbkdf2::derive(PBKDF2_HMAC_SHA256, rounds, salt.as_bytes(), plain.as_bytes(), &mut key);
        PasswordHash(format!("{PBKDF2_SHA256}${iterations}${salt}${}", STANDARD.encode(key)))
    }

    /// Reads an encoded hash, checking its shape (not the password).
    pub fn parse(encoded: &str) -> Result<Self, PasswordHashError> {
        parts(encoded)?;
        Ok(PasswordHash(encoded.to_string()))
    }

    /// Whether `plain` is the password, compared in constant time.
    pub fn verify(&self, plain: &str) -> bool {
        let Ok((iterations, salt, key)) = parts(&self.0) else { return false };
        pbkdf2::verify(PBKDF2_HMAC_SHA256, iterations, salt.as_bytes(), plain.as_bytes(), &key).is_ok()
    }

    /// The encoded hash, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The iterations, salt and derived key of an encoded hash.
fn parts(encoded: &str) -> Result<(NonZeroU32, &str, Vec<u8>), PasswordHashError> {
    let mut fields = encoded.split('$');
    let (Some(algorithm), Some(iterations), Some(salt), Some(key), None) =
        (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(PasswordHashError::Shape);
    };
    if algorithm != PBKDF2_SHA256 {
        return Err(PasswordHashError::Algorithm(algorithm.to_string()));
    }
    let iterations = iterations
        .parse::<u32>()
        .ok()
        .filter(|n| *n <= MAX_PASSWORD_ITERATIONS)
        .and_then(NonZeroU32::new)
        .ok_or(PasswordHashError::Iterations)?;
    let key = STANDARD.decode(key).ok().filter(|key| (1..=64).contains(&key.len())).ok_or(PasswordHashError::Key)?;
    Ok((iterations, salt, key))
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

impl Serialize for PasswordHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PasswordHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value.starts_with(&format!("{PBKDF2_SHA256}$")) {
            PasswordHash::parse(&value).map_err(serde::de::Error::custom)
        } else {
            Ok(PasswordHash::new(&value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = PasswordHash::new("correct horse");
        assert!(hash.verify("correct horse"));
        assert!(!hash.verify("correct horsE"));
        assert!(!hash.verify(""));
        assert!(hash.as_str().starts_with("pbkdf2_sha256$64$"), "{}", hash.as_str());
        assert_ne!(PasswordHash::new("correct horse"), hash, "salts differ");
        assert_eq!(format!("{hash:?}"), "PasswordHash(***)");
    }

    #[test]
    fn djangos_own_hashes_verify() {
        // Django's `make_password("lètmein", "seasalt", "pbkdf2_sha256")` test vector at 1,000,000 iterations is
        // too slow for a unit test; this one is `hashlib.pbkdf2_hmac("sha256", b"l\xc3\xa8tmein", b"seasalt",
        // 1000)`, base64, which is what Django's hasher computes and writes.
        let hash = PasswordHash::parse("pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=")
            .expect("a django hash");
        assert!(hash.verify("lètmein"));
        assert!(!hash.verify("letmein"));
    }

    #[test]
    fn malformed_hashes_are_refused_and_never_verify() {
        for (encoded, error) in [
            ("pbkdf2_sha256$64$salt", PasswordHashError::Shape),
            ("argon2$64$salt$aGFzaA==", PasswordHashError::Algorithm("argon2".into())),
            ("pbkdf2_sha256$0$salt$aGFzaA==", PasswordHashError::Iterations),
            ("pbkdf2_sha256$4000001$salt$aGFzaA==", PasswordHashError::Iterations),
            ("pbkdf2_sha256$-1$salt$aGFzaA==", PasswordHashError::Iterations),
            ("pbkdf2_sha256$64$salt$not base64", PasswordHashError::Key),
            ("pbkdf2_sha256$64$salt$", PasswordHashError::Key),
        ] {
            assert_eq!(PasswordHash::parse(encoded), Err(error), "{encoded}");
            assert!(!PasswordHash(encoded.to_string()).verify("salt"));
        }
    }

    #[test]
    fn seeds_give_plain_passwords_and_exports_give_hashes() {
        let read: PasswordHash = serde_json::from_str("\"hunter2\"").expect("plain");
        assert!(read.verify("hunter2"));
        let written = serde_json::to_string(&read).expect("serializes");
        assert!(!written.contains("hunter2") && written.starts_with("\"pbkdf2_sha256$"), "{written}");
        let again: PasswordHash = serde_json::from_str(&written).expect("a hash");
        assert_eq!(again, read);
        let broken = serde_json::from_str::<PasswordHash>("\"pbkdf2_sha256$x$y$z\"").expect_err("malformed");
        assert!(broken.to_string().contains("iterations"), "{broken}");
    }
}
