//! Building blocks of authentik's OAuth2/OpenID provider (`authentik/providers/oauth2/`), free of HTTP and of the
//! store: [`jose`] (keys, JWTs, JWKS), [`claims`] (the issuer, `sub`, the scope claims), [`id_token`] (the id
//! token, the access token's payload, introspection's and userinfo's claims), [`discovery`] (openid-configuration,
//! the request's base URL), [`errors`] (error codes and descriptions, the authorize error redirect), [`pkce`],
//! [`redirect`] (redirect URI matching), [`client_auth`] (HTTP Basic and form credentials), [`validity`]
//! (`hours=1;minutes=2` durations), [`json`] (the crate's one `json.dumps`, in Python's layouts).
//! The generators of client ids, client secrets, refresh tokens, authorization codes and token `uid`s are in
//! `tokenstack_store::secrets`.

pub(crate) mod claims;
pub(crate) mod client_auth;
pub(crate) mod discovery;
pub(crate) mod errors;
pub(crate) mod expression;
pub(crate) mod id_token;
pub(crate) mod jose;
pub(crate) mod json;
pub(crate) mod pkce;
pub(crate) mod redirect;
pub(crate) mod validity;
pub(crate) mod x509;
