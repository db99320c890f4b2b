//! Client authentication as authentik reads it (`utils.py`: `extract_client_auth`, `authenticate_provider`;
//! `views/token.py`), and the Python `base64.b64decode` it is built on.
//!
//! Which wins: an `Authorization` header matching `^Basic\s{1}.+$` decides alone, even when it does not decode
//! (then both values are empty); otherwise the form's `client_id` and `client_secret` (empty when absent; Django's
//! `QueryDict.get` takes the last of repeated fields). Basic credentials are percent-decoded as `urllib.parse.unquote`
//! does (RFC 6749 §2.3.1); a `+` stays a `+`.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use regex::Regex;
use std::sync::LazyLock;

/// A client's claimed identity; `secret` is never logged.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct ClientCredentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials").field("client_id", &self.client_id).field("client_secret", &"***").finish()
    }
}

impl ClientCredentials {
    /// `client_id == client_secret == ""`: `authenticate_provider` gives up before any lookup.
    pub(crate) fn is_empty(&self) -> bool {
        self.client_id.is_empty() && self.client_secret.is_empty()
    }
}

/// `^Basic\s{1}.+$` (Python `re.match`: anchored at the start; `$` also matches before a final newline).
static BASIC: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\ABasic\s.+\n?\z").unwrap_or_else(|_| unreachable!()));

/// `extract_client_auth(request)`: `authorization` is the `Authorization` header (as Django decodes it, latin-1),
/// `form_client_id` and `form_client_secret` the form fields.
pub(crate) fn extract(
    authorization: Option<&str>,
    form_client_id: Option<&str>,
    form_client_secret: Option<&str>,
) -> ClientCredentials {
    let header = authorization.unwrap_or_default();
    if BASIC.is_match(header) {
        // `auth_header.split()[1]`; a header of "Basic" and whitespace only has no second word (upstream: an
        // IndexError, a 500), read here as undecodable.
        let Some(encoded) = header.split_whitespace().nth(1) else {
            return ClientCredentials::default();
        };
        return decode_basic(encoded).unwrap_or_default();
    }
    ClientCredentials {
        client_id: form_client_id.unwrap_or_default().to_owned(),
        client_secret: form_client_secret.unwrap_or_default().to_owned(),
    }
}

/// `b64decode(b64_user_pass).decode("utf-8").partition(":")`, each half `unquote`d.
fn decode_basic(encoded: &str) -> Option<ClientCredentials> {
    let (id, secret) = b64decode_utf8_partition(encoded)?;
    Some(ClientCredentials { client_id: unquote(&id).into_owned(), client_secret: unquote(&secret).into_owned() })
}

/// `b64decode(value).decode("utf-8").partition(":")` without the percent-decoding: `(before, after)` the first
/// `:` (all of it and `""` when there is none), or `None` where Python raises `ValueError`/`binascii.Error`.
/// The client-credentials grant reads a `client_secret` of `base64(username:password)` this way.
pub(crate) fn b64decode_utf8_partition(value: &str) -> Option<(String, String)> {
    let bytes = python_b64decode(value)?;
    let text = String::from_utf8(bytes).ok()?;
    Some(match text.split_once(':') {
        Some((before, after)) => (before.to_owned(), after.to_owned()),
        None => (text, String::new()),
    })
}

/// `urllib.parse.unquote`: `%XX` sequences decoded as UTF-8 (invalid sequences replaced by U+FFFD), malformed
/// escapes kept as they are, `+` kept.
pub(crate) fn unquote(value: &str) -> Cow<'_, str> {
    if !value.contains('%') {
        return Cow::Borrowed(value);
    }
    percent_decode_str(value).decode_utf8_lossy()
}

/// Python's `base64.b64decode(s)` (`validate=False`): `None` where it raises.
///
/// A `str` with a non-ASCII character is a `ValueError`. Characters outside the standard alphabet are skipped;
/// a `=` ends the input once it completes a quantum (what follows is ignored); an input whose data characters
/// leave a partial quantum is `Incorrect padding` (or, with one character over, `Invalid base64-encoded string`).
/// Leftover bits of the last character are dropped.
pub(crate) fn python_b64decode(value: &str) -> Option<Vec<u8>> {
    if !value.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(value.len() * 3 / 4);
    let mut quad_pos = 0u8;
    let mut left = 0u32;
    let mut pads = 0u8;
    for byte in value.bytes() {
        if byte == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(sextet) = sextet(byte) else {
            continue;
        };
        pads = 0;
        match quad_pos {
            0 => {
                left = sextet;
                quad_pos = 1;
            }
            1 => {
                out.push(((left << 2) | (sextet >> 4)) as u8);
                left = sextet & 0x0f;
                quad_pos = 2;
            }
            2 => {
                out.push(((left << 4) | (sextet >> 2)) as u8);
                left = sextet & 0x03;
                quad_pos = 3;
            }
            _ => {
                out.push(((left << 6) | sextet) as u8);
                left = 0;
                quad_pos = 0;
            }
        }
    }
    (quad_pos == 0).then_some(out)
}

fn sextet(byte: u8) -> Option<u32> {
    Some(match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// `compare_digest`: constant-time equality of a presented secret with the provider's.
pub(crate) fn secret_matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    fn basic(user_pass: &str) -> String {
        format!("Basic {}", STANDARD.encode(user_pass))
    }

    fn creds(id: &str, secret: &str) -> ClientCredentials {
        ClientCredentials { client_id: id.into(), client_secret: secret.into() }
    }

    #[test]
    fn basic_header_wins_over_form_fields() {
        let header = basic("header-id:header-secret");
        assert_eq!(extract(Some(&header), Some("form-id"), Some("form-secret")), creds("header-id", "header-secret"));
        // An undecodable Basic header still wins: both values empty.
        assert_eq!(extract(Some("Basic !!!"), Some("form-id"), Some("form-secret")), creds("", ""));
        assert_eq!(extract(Some("Basic 6Q=="), Some("form-id"), Some("s")), creds("", ""), "not utf-8");
    }

    #[test]
    fn form_fields_without_a_basic_header() {
        assert_eq!(extract(None, Some("id"), Some("secret")), creds("id", "secret"));
        assert_eq!(extract(None, Some("id"), None), creds("id", ""));
        assert_eq!(extract(None, None, None), creds("", ""));
        assert!(extract(None, None, None).is_empty());
        // Not a Basic header by upstream's regex: case-sensitive, one whitespace, something after it.
        for header in ["basic aWQ6cw==", "Bearer x", "Basic", "Basic ", "BasicaWQ6cw=="] {
            assert_eq!(extract(Some(header), Some("id"), Some("s")), creds("id", "s"), "{header:?}");
        }
    }

    #[test]
    fn basic_credentials_are_percent_decoded_but_plus_stays() {
        // RFC 6749 §2.3.1: the client form-encodes id and secret before Basic.
        let header = basic("my%40client:p%3Ass%25word+x");
        assert_eq!(extract(Some(&header), None, None), creds("my@client", "p:ss%word+x"));
        // Malformed escapes stay as they are; invalid UTF-8 becomes U+FFFD, as unquote does.
        assert_eq!(extract(Some(&basic("a%zz%4:b%ff")), None, None), creds("a%zz%4", "b\u{fffd}"));
        // Form fields are not percent-decoded again (the form decoding already did).
        assert_eq!(extract(None, Some("a%40b"), None), creds("a%40b", ""));
    }

    #[test]
    fn partition_at_the_first_colon() {
        assert_eq!(extract(Some(&basic("id:sec:ret")), None, None), creds("id", "sec:ret"));
        assert_eq!(extract(Some(&basic("only-id")), None, None), creds("only-id", ""));
        assert_eq!(extract(Some(&basic(":")), None, None), creds("", ""));
    }

    #[test]
    fn header_word_splitting_is_pythons() {
        let encoded = STANDARD.encode("id:s");
        // split()[1]: runs of whitespace, and anything after the second word ignored.
        assert_eq!(extract(Some(&format!("Basic  {encoded}")), None, None), creds("id", "s"));
        assert_eq!(extract(Some(&format!("Basic\t{encoded} trailing")), None, None), creds("id", "s"));
        // "Basic" and whitespace only (upstream: IndexError).
        assert_eq!(extract(Some("Basic \t"), Some("id"), None), creds("", ""));
    }

    #[test]
    fn b64decode_is_pythons_non_strict_decoder() {
        // Values checked with CPython 3.11: base64.b64decode(s).
        assert_eq!(python_b64decode("aWQ6cw=="), Some(b"id:s".to_vec()));
        assert_eq!(python_b64decode("aWQ6cw"), None, "Incorrect padding");
        assert_eq!(python_b64decode("aWQ6c"), None, "Invalid base64-encoded string");
        assert_eq!(python_b64decode("aW!Q6\ncw=="), Some(b"id:s".to_vec()), "non-alphabet characters skipped");
        assert_eq!(python_b64decode("aWQ6cw==garbage"), Some(b"id:s".to_vec()), "data after the padding ignored");
        assert_eq!(python_b64decode("aWQ=6cw=="), Some(b"id".to_vec()), "the first padding ends it");
        assert_eq!(python_b64decode("=aWQ6cw=="), Some(b"id:s".to_vec()), "early padding skipped");
        assert_eq!(python_b64decode("aWQ6cx=="), Some(b"id:s".to_vec()), "leftover bits dropped");
        assert_eq!(python_b64decode("aWQ-cw=="), None, "url-safe characters are skipped, then padding is wrong");
        assert_eq!(python_b64decode(""), Some(Vec::new()));
        assert_eq!(python_b64decode("é"), None, "non-ascii str");
        assert_eq!(b64decode_utf8_partition("dXNlcjpwYXNz"), Some(("user".into(), "pass".into())));
        assert_eq!(b64decode_utf8_partition("/w=="), None, "not utf-8");
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(secret_matches("abc", "abc"));
        assert!(!secret_matches("abc", "abd"));
        assert!(!secret_matches("abc", "ab"));
        assert!(secret_matches("", ""));
        assert_eq!(
            format!("{:?}", creds("id", "s3cret")),
            r#"ClientCredentials { client_id: "id", client_secret: "***" }"#
        );
    }
}
