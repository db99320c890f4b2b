//! Building blocks of authentik's OAuth2/OpenID provider (`authentik/providers/oauth2/`), free of HTTP and of the
//! store: [`jose`] (keys, JWTs, JWKS), [`claims`] (the issuer, `sub`, the scope claims), [`id_token`] (the id
//! token, the access token's payload, introspection's and userinfo's claims), [`discovery`] (openid-configuration,
//! the request's base URL), [`errors`] (error codes and descriptions, the authorize error redirect), [`pkce`],
//! [`redirect`] (redirect URI matching), [`client_auth`] (HTTP Basic and form credentials), [`validity`]
//! (`hours=1;minutes=2` durations), [`json`] (the crate's one `json.dumps`, in Python's layouts), and the
//! generators of client ids, client secrets, refresh tokens, authorization codes and token `uid`s.

pub(crate) mod claims;
pub(crate) mod client_auth;
pub(crate) mod discovery;
pub(crate) mod errors;
pub(crate) mod id_token;
pub(crate) mod jose;
pub(crate) mod json;
pub(crate) mod pkce;
pub(crate) mod redirect;
pub(crate) mod validity;

use rand::Rng as _;
use rand::distr::Alphanumeric;

/// `generate_id(length)` (`authentik/lib/generators.py`): `length` characters of `string.ascii_letters +
/// string.digits`, from the system's CSPRNG.
pub(crate) fn generate_id(length: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect()
}

/// An `OAuth2Provider.client_id` (`default=generate_id`): 40 alphanumeric characters.
pub(crate) fn generate_client_id() -> String {
    generate_id(40)
}

/// An `OAuth2Provider.client_secret` (`generate_client_secret`, `generate_id(128)`): 128 alphanumeric characters.
pub(crate) fn generate_client_secret() -> String {
    generate_id(128)
}

/// A `RefreshToken.token` (`default=generate_client_secret`): opaque, 128 alphanumeric characters.
pub(crate) fn generate_refresh_token() -> String {
    generate_client_secret()
}

/// An `AuthorizationCode.code` (`AuthorizationFlowInitView.create_code`: `uuid4().hex`): 32 lowercase hex digits.
pub(crate) fn generate_authorization_code() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The `uid` claim of an access token and the `jti` of an id token (`generate_id()`): 40 alphanumeric characters.
pub(crate) fn generate_token_uid() -> String {
    generate_id(40)
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
}
