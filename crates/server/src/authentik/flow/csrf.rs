//! Django's CSRF check as DRF's `SessionAuthentication.enforce_csrf` runs it for a request authenticated by its
//! session (`django/middleware/csrf.py`): unsafe methods need the `authentik_csrf` cookie and the same secret in
//! the `X-authentik-CSRF` header (either may be masked), and an `Origin`, when sent, must be the server's.

/// `CSRF_COOKIE_NAME`.
pub const CSRF_COOKIE: &str = "authentik_csrf";
/// `CSRF_HEADER_NAME` (`HTTP_X_AUTHENTIK_CSRF`).
pub const CSRF_HEADER: &str = "x-authentik-csrf";
const CSRF_SECRET_LENGTH: usize = 32;
const CSRF_ALLOWED_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// What the check reads of a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsrfInput<'a> {
    /// GET, HEAD, OPTIONS and TRACE need no check.
    pub safe_method: bool,
    pub cookie: Option<&'a str>,
    pub header: Option<&'a str>,
    /// The `Origin` header, and the server's own `scheme://host` it must equal.
    pub origin: Option<&'a str>,
    pub own_origin: &'a str,
}

/// A new CSRF secret for the cookie (`_get_new_csrf_string`).
pub fn new_csrf_secret() -> String {
    crate::secrets::generate_id(CSRF_SECRET_LENGTH)
}

/// `_unmask_cipher_token`: a 64-character token is a mask and the secret added to it.
fn unmask(token: &str) -> Option<String> {
    let position = |c: u8| CSRF_ALLOWED_CHARS.iter().position(|a| *a == c);
    match token.len() {
        CSRF_SECRET_LENGTH => token.bytes().all(|c| position(c).is_some()).then(|| token.to_owned()),
        64 => {
            let (mask, cipher) = token.as_bytes().split_at(CSRF_SECRET_LENGTH);
            let n = CSRF_ALLOWED_CHARS.len();
            mask.iter()
                .zip(cipher)
                .map(|(m, c)| Some(CSRF_ALLOWED_CHARS[(position(*c)? + n - position(*m)?) % n] as char))
                .collect()
        }
        _ => None,
    }
}

/// `CsrfViewMiddleware.process_view`'s reasons, as DRF words its 403 (`CSRF Failed: <reason>`).
pub fn check(input: &CsrfInput<'_>) -> Result<(), String> {
    if input.safe_method {
        return Ok(());
    }
    if let Some(origin) = input.origin
        && origin != input.own_origin
    {
        return Err(format!("Origin checking failed - {origin} does not match any trusted origins."));
    }
    let Some(secret) = input.cookie.and_then(unmask) else { return Err("CSRF cookie not set.".to_owned()) };
    let Some(token) = input.header.filter(|t| !t.is_empty()) else {
        return Err("CSRF token missing.".to_owned());
    };
    if token.len() != CSRF_SECRET_LENGTH && token.len() != 64 {
        return Err("CSRF token has incorrect length.".to_owned());
    }
    match unmask(token) {
        Some(given) if given == secret => Ok(()),
        Some(_) => Err("CSRF token incorrect.".to_owned()),
        None => Err("CSRF token has invalid characters.".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(cookie: Option<&'a str>, header: Option<&'a str>) -> CsrfInput<'a> {
        CsrfInput { safe_method: false, cookie, header, origin: None, own_origin: "http://h" }
    }

    #[test]
    fn unsafe_methods_need_the_cookie_and_the_same_secret_in_the_header() {
        let secret = "a".repeat(32);
        assert_eq!(check(&CsrfInput { safe_method: true, ..input(None, None) }), Ok(()));
        assert_eq!(check(&input(None, Some(&secret))), Err("CSRF cookie not set.".into()));
        assert_eq!(check(&input(Some(&secret), None)), Err("CSRF token missing.".into()));
        assert_eq!(check(&input(Some(&secret), Some("short"))), Err("CSRF token has incorrect length.".into()));
        assert_eq!(check(&input(Some(&secret), Some(&"b".repeat(32)))), Err("CSRF token incorrect.".into()));
        assert_eq!(check(&input(Some(&secret), Some(&secret))), Ok(()));
        // Masked: a mask of "b"s adds 1 to every character ("a" + "b" = "b" shifted: cipher "b").
        let masked = format!("{}{}", "b".repeat(32), "b".repeat(32));
        assert_eq!(unmask(&masked).as_deref(), Some(secret.as_str()));
        assert_eq!(check(&input(Some(&secret), Some(&masked))), Ok(()));
        let other = CsrfInput { origin: Some("http://evil"), ..input(Some(&secret), Some(&secret)) };
        assert_eq!(
            check(&other),
            Err("Origin checking failed - http://evil does not match any trusted origins.".into())
        );
    }
}
