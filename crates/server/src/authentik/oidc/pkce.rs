//! PKCE (RFC 7636) as authentik checks it: the challenge method at `GET /application/o/authorize/`
//! (`AuthorizeParams.check_code_challenge`, `create_code`) and the verifier at the token endpoint
//! (`TokenParams.__post_init_code`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// `PKCE_METHOD_PLAIN`.
pub(crate) const METHOD_PLAIN: &str = "plain";
/// `PKCE_METHOD_S256`.
pub(crate) const METHOD_S256: &str = "S256";

/// `pkce_s256_challenge(verifier)`: unpadded URL-safe base64 of SHA-256 over the verifier.
/// Upstream encodes the verifier as ASCII (a non-ASCII verifier is a `UnicodeEncodeError`, a 500); here
/// the UTF-8 bytes are hashed, which can only produce a mismatch.
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The challenge an authorization request stores on its code, or the `invalid_request` error
/// `Unsupported challenge method {method}` (an `AuthorizeError`, which redirects to the client).
///
/// `method` is the query's `code_challenge_method`, `"plain"` when absent (`query_dict.get(…, "plain")`);
/// a challenge is stored only when both are non-empty.
pub(crate) fn authorize_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<(String, String)>, String> {
    let method = method.unwrap_or(METHOD_PLAIN);
    let challenge = challenge.unwrap_or_default();
    if !challenge.is_empty() && method != METHOD_PLAIN && method != METHOD_S256 {
        return Err(format!("Unsupported challenge method {method}"));
    }
    if challenge.is_empty() || method.is_empty() {
        return Ok(None);
    }
    Ok(Some((challenge.to_owned(), method.to_owned())))
}

/// Why a code exchange fails PKCE; each is `invalid_grant` at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PkceError {
    /// The code has a challenge and the request no `code_verifier` (or an empty one).
    #[error("code verifier missing")]
    VerifierMissing,
    /// The verifier does not transform into the challenge.
    #[error("code challenge not matching")]
    Mismatch,
    /// The request has a verifier and the code no challenge (the downgrade upstream refuses).
    #[error("code verifier without code challenge")]
    Downgrade,
}

/// `TokenParams.__post_init_code`'s PKCE checks. `challenge` and `method` are the code's stored values;
/// `verifier` is the form's `code_verifier`. Any method other than `S256` compares the verifier as plain.
pub(crate) fn verify(challenge: Option<&str>, method: Option<&str>, verifier: Option<&str>) -> Result<(), PkceError> {
    let challenge = challenge.unwrap_or_default();
    let verifier = verifier.unwrap_or_default();
    if !challenge.is_empty() {
        if verifier.is_empty() {
            return Err(PkceError::VerifierMissing);
        }
        let computed = if method == Some(METHOD_S256) { s256_challenge(verifier) } else { verifier.to_owned() };
        if computed != challenge {
            return Err(PkceError::Mismatch);
        }
    }
    if challenge.is_empty() && !verifier.is_empty() {
        return Err(PkceError::Downgrade);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636, appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_is_rfc_7636_appendix_b() {
        assert_eq!(s256_challenge(RFC_VERIFIER), RFC_CHALLENGE);
    }

    #[test]
    fn s256_and_plain_verifiers_pass() {
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("S256"), Some(RFC_VERIFIER)), Ok(()));
        assert_eq!(verify(Some(RFC_VERIFIER), Some("plain"), Some(RFC_VERIFIER)), Ok(()));
        // Neither side: no PKCE at all.
        assert_eq!(verify(None, None, None), Ok(()));
        assert_eq!(verify(Some(""), None, Some("")), Ok(()));
    }

    #[test]
    fn upstream_failure_cases() {
        // test_token_pkce.py: a code with a challenge and no verifier.
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("S256"), None), Err(PkceError::VerifierMissing));
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("S256"), Some("")), Err(PkceError::VerifierMissing));
        // A wrong verifier, and an S256 challenge compared as plain.
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("S256"), Some("wrong")), Err(PkceError::Mismatch));
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("plain"), Some(RFC_VERIFIER)), Err(PkceError::Mismatch));
        // The plain verifier sent for an S256 challenge.
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("S256"), Some(RFC_CHALLENGE)), Err(PkceError::Mismatch));
        // A verifier for a code without a challenge.
        assert_eq!(verify(None, None, Some(RFC_VERIFIER)), Err(PkceError::Downgrade));
        // A non-ASCII verifier only mismatches.
        assert_eq!(verify(Some(RFC_CHALLENGE), Some("S256"), Some("é")), Err(PkceError::Mismatch));
    }

    #[test]
    fn unknown_stored_methods_compare_plain() {
        assert_eq!(verify(Some("abc"), None, Some("abc")), Ok(()));
        assert_eq!(verify(Some("abc"), Some("s256"), Some("abc")), Ok(()));
    }

    #[test]
    fn authorize_defaults_to_plain_and_rejects_other_methods() {
        assert_eq!(authorize_challenge(Some("c"), None), Ok(Some(("c".into(), "plain".into()))));
        assert_eq!(authorize_challenge(Some("c"), Some("S256")), Ok(Some(("c".into(), "S256".into()))));
        assert_eq!(authorize_challenge(Some("c"), Some("s256")), Err("Unsupported challenge method s256".into()));
        assert_eq!(authorize_challenge(Some("c"), Some("")), Err("Unsupported challenge method ".into()));
        // No challenge: any method is ignored.
        assert_eq!(authorize_challenge(None, Some("bogus")), Ok(None));
        assert_eq!(authorize_challenge(Some(""), Some("S256")), Ok(None));
    }
}
