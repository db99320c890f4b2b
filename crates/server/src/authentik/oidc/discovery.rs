//! `GET /application/o/<slug>/.well-known/openid-configuration` (`views/provider.py`, `ProviderInfoView`), and the
//! request base URL every absolute URL of the provider is built from (Django's `request.build_absolute_uri`
//! with authentik's settings: `SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")`, no
//! `USE_X_FORWARDED_HOST`, `ALLOWED_HOSTS = ["*"]`).

use serde::Serialize;

use super::claims::{ACR_DEFAULT, IssuerMode, SCOPE_OPENID, issuer, scope_claim_names};
use super::jose::Algorithm;

/// The Host header fails Django's `host_validation_re` (`DisallowedHost`: upstream answers 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid host header")]
pub(crate) struct InvalidHost;

/// `scheme://host`: `https` when `X-Forwarded-Proto`'s first value is `https`, the connection's scheme when the
/// header is absent, `http` otherwise; the `Host` header as given (`request.get_host()`), or the server's
/// address when there is none.
pub(crate) fn base_url(
    connection_is_tls: bool,
    host: Option<&str>,
    x_forwarded_proto: Option<&str>,
    server_addr: &str,
) -> Result<String, InvalidHost> {
    let secure = match x_forwarded_proto {
        Some(value) => value.split(',').next().unwrap_or_default().trim() == "https",
        None => connection_is_tls,
    };
    let host = match host {
        Some(host) => {
            if !valid_host(host) {
                return Err(InvalidHost);
            }
            host
        }
        None => server_addr,
    };
    Ok(format!("{}://{host}", if secure { "https" } else { "http" }))
}

/// `host_validation_re`: `^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(:[0-9]+)?$`, case-insensitive.
fn valid_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return false;
        };
        let inner = &rest[..end];
        let Some(colon) = inner.find(':') else {
            return false;
        };
        let ok = inner[..colon].bytes().all(|b| b.is_ascii_hexdigit())
            && inner.len() > colon + 1
            && inner[colon + 1..].bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
        if !ok {
            return false;
        }
        ("x", &rest[end + 1..])
    } else {
        match host.find(':') {
            Some(colon) => (&host[..colon], &host[colon..]),
            None => (host.as_str(), ""),
        }
    };
    let name_ok = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let port_ok =
        port.is_empty() || (port.len() > 1 && port[1..].bytes().all(|b| b.is_ascii_digit()) && port.starts_with(':'));
    name_ok && port_ok
}

/// The provider's absolute endpoint URLs (`reverse("authentik_providers_oauth2:…")`, mounted at `/application/o/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) authorization: String,
    pub(crate) token: String,
    pub(crate) userinfo: String,
    pub(crate) end_session: String,
    pub(crate) introspection: String,
    pub(crate) revocation: String,
    pub(crate) device_authorization: String,
    pub(crate) jwks: String,
}

impl Endpoints {
    pub(crate) fn new(base_url: &str, slug: &str) -> Self {
        let at = |path: &str| format!("{base_url}/application/o/{path}");
        Endpoints {
            authorization: at("authorize/"),
            token: at("token/"),
            userinfo: at("userinfo/"),
            end_session: at(&format!("{slug}/end-session/")),
            introspection: at("introspect/"),
            revocation: at("revoke/"),
            device_authorization: at("device/"),
            jwks: at(&format!("{slug}/jwks/")),
        }
    }
}

/// What the discovery document depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DiscoveryInput<'a> {
    /// [`base_url`] of the request.
    pub(crate) base_url: &'a str,
    /// The application's slug (the document is served per application).
    pub(crate) slug: &'a str,
    pub(crate) issuer_mode: IssuerMode,
    /// `provider.jwt_key`'s algorithm: the signing key's, or HS256.
    pub(crate) signing_alg: Algorithm,
    /// The `scope_name`s of the provider's scope mappings, in their order.
    pub(crate) scope_names: &'a [String],
}

/// The discovery document (`ProviderInfoView.get_info`), its keys in upstream's order. Django writes it with
/// `json_dumps_params={"indent": 2}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Document {
    issuer: Option<String>,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    end_session_endpoint: String,
    introspection_endpoint: String,
    revocation_endpoint: String,
    device_authorization_endpoint: String,
    backchannel_logout_supported: bool,
    backchannel_logout_session_supported: bool,
    frontchannel_logout_supported: bool,
    frontchannel_logout_session_supported: bool,
    response_types_supported: [&'static str; 6],
    response_modes_supported: [&'static str; 3],
    jwks_uri: String,
    grant_types_supported: [&'static str; 6],
    id_token_signing_alg_values_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    token_endpoint_auth_methods_supported: [&'static str; 2],
    acr_values_supported: [&'static str; 1],
    scopes_supported: Vec<String>,
    request_parameter_supported: bool,
    claims_supported: Vec<&'static str>,
    claims_parameter_supported: bool,
    code_challenge_methods_supported: [&'static str; 2],
}

/// The claims every token has (`ProviderInfoView.get_claims`'s `default_claims`).
const DEFAULT_CLAIMS: [&str; 9] = ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce"];

/// The document of the discovery endpoint, every key upstream emits (no encryption key: no
/// `id_token_encryption_*` keys).
pub(crate) fn openid_configuration(input: &DiscoveryInput<'_>) -> Document {
    let endpoints = Endpoints::new(input.base_url, input.slug);
    let mut scopes: Vec<String> = input.scope_names.to_vec();
    if !scopes.iter().any(|s| s == SCOPE_OPENID) {
        scopes.push(SCOPE_OPENID.to_owned());
    }
    let mut mapped: Vec<&str> = input.scope_names.iter().map(String::as_str).collect();
    mapped.sort_unstable();
    let mut claims: Vec<&str> = DEFAULT_CLAIMS.to_vec();
    for name in mapped {
        claims.extend_from_slice(scope_claim_names(name));
    }
    Document {
        issuer: issuer(input.base_url, input.issuer_mode, Some(input.slug)),
        authorization_endpoint: endpoints.authorization,
        token_endpoint: endpoints.token,
        userinfo_endpoint: endpoints.userinfo,
        end_session_endpoint: endpoints.end_session,
        introspection_endpoint: endpoints.introspection,
        revocation_endpoint: endpoints.revocation,
        device_authorization_endpoint: endpoints.device_authorization,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        frontchannel_logout_supported: true,
        frontchannel_logout_session_supported: true,
        response_types_supported: [
            "code",
            "id_token",
            "id_token token",
            "code token",
            "code id_token",
            "code id_token token",
        ],
        response_modes_supported: ["query", "fragment", "form_post"],
        jwks_uri: endpoints.jwks,
        grant_types_supported: [
            "authorization_code",
            "refresh_token",
            "implicit",
            "client_credentials",
            "password",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
        id_token_signing_alg_values_supported: [input.signing_alg.as_str()],
        subject_types_supported: ["public"],
        token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
        acr_values_supported: [ACR_DEFAULT],
        scopes_supported: scopes,
        request_parameter_supported: false,
        claims_supported: claims,
        claims_parameter_supported: false,
        code_challenge_methods_supported: ["plain", "S256"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authentik::oidc::json::{Style, to_python_json};

    /// The document as the view writes it.
    fn written(input: &DiscoveryInput<'_>) -> String {
        to_python_json(&openid_configuration(input), Style::Indent(2)).unwrap()
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// `ProviderInfoView.get_info` for provider "my-app" with the four managed scope mappings (openid, email,
    /// profile, offline_access) and an RS256 key, requested as `http://localhost:9000`: the text Django writes.
    const EXPECTED: &str = r#"{
  "issuer": "http://localhost:9000/application/o/my-app/",
  "authorization_endpoint": "http://localhost:9000/application/o/authorize/",
  "token_endpoint": "http://localhost:9000/application/o/token/",
  "userinfo_endpoint": "http://localhost:9000/application/o/userinfo/",
  "end_session_endpoint": "http://localhost:9000/application/o/my-app/end-session/",
  "introspection_endpoint": "http://localhost:9000/application/o/introspect/",
  "revocation_endpoint": "http://localhost:9000/application/o/revoke/",
  "device_authorization_endpoint": "http://localhost:9000/application/o/device/",
  "backchannel_logout_supported": true,
  "backchannel_logout_session_supported": true,
  "frontchannel_logout_supported": true,
  "frontchannel_logout_session_supported": true,
  "response_types_supported": [
    "code",
    "id_token",
    "id_token token",
    "code token",
    "code id_token",
    "code id_token token"
  ],
  "response_modes_supported": [
    "query",
    "fragment",
    "form_post"
  ],
  "jwks_uri": "http://localhost:9000/application/o/my-app/jwks/",
  "grant_types_supported": [
    "authorization_code",
    "refresh_token",
    "implicit",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code"
  ],
  "id_token_signing_alg_values_supported": [
    "RS256"
  ],
  "subject_types_supported": [
    "public"
  ],
  "token_endpoint_auth_methods_supported": [
    "client_secret_post",
    "client_secret_basic"
  ],
  "acr_values_supported": [
    "goauthentik.io/providers/oauth2/default"
  ],
  "scopes_supported": [
    "openid",
    "email",
    "profile",
    "offline_access"
  ],
  "request_parameter_supported": false,
  "claims_supported": [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "email",
    "email_verified",
    "name",
    "given_name",
    "preferred_username",
    "nickname",
    "groups"
  ],
  "claims_parameter_supported": false,
  "code_challenge_methods_supported": [
    "plain",
    "S256"
  ]
}"#;

    #[test]
    fn document_for_a_fixed_host_is_upstreams() {
        let names = scopes(&["openid", "email", "profile", "offline_access"]);
        let input = DiscoveryInput {
            base_url: "http://localhost:9000",
            slug: "my-app",
            issuer_mode: IssuerMode::PerProvider,
            signing_alg: Algorithm::Rs256,
            scope_names: &names,
        };
        assert_eq!(written(&input), EXPECTED);
    }

    #[test]
    fn openid_is_always_supported_and_global_issuer_is_the_root() {
        let names = scopes(&["profile"]);
        let input = DiscoveryInput {
            base_url: "https://auth.example.com",
            slug: "a",
            issuer_mode: IssuerMode::Global,
            signing_alg: Algorithm::Hs256,
            scope_names: &names,
        };
        let doc: serde_json::Value = serde_json::from_str(&written(&input)).unwrap();
        assert_eq!(doc["issuer"], "https://auth.example.com/");
        assert_eq!(doc["scopes_supported"], serde_json::json!(["profile", "openid"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], serde_json::json!(["HS256"]));
        assert_eq!(doc["jwks_uri"], "https://auth.example.com/application/o/a/jwks/");
    }

    #[test]
    fn base_url_from_the_request() {
        assert_eq!(base_url(false, Some("localhost:9000"), None, "127.0.0.1:9000").unwrap(), "http://localhost:9000");
        assert_eq!(base_url(true, Some("Auth.Example.com"), None, "x").unwrap(), "https://Auth.Example.com");
        assert_eq!(base_url(false, Some("h"), Some("https"), "x").unwrap(), "https://h");
        assert_eq!(base_url(false, Some("h"), Some("https, http"), "x").unwrap(), "https://h");
        assert_eq!(base_url(true, Some("h"), Some("http"), "x").unwrap(), "http://h", "the header decides over tls");
        assert_eq!(base_url(false, None, None, "127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000");
        assert_eq!(base_url(false, Some("[::1]:8080"), None, "x").unwrap(), "http://[::1]:8080");
        for bad in ["", "a b", "h:port", "h:", "evil.com/path", "[::1", "[zz:1]", "h\u{e9}"] {
            assert_eq!(base_url(false, Some(bad), None, "x"), Err(InvalidHost), "{bad:?}");
        }
    }
}
