//! The id token as authentik builds it (`id_token.py`: the `IDToken` dataclass, `IDToken.new`, `to_dict`,
//! `to_jwt`, `to_access_token`), and the bodies made of it: the access token's payload, introspection's and
//! userinfo's claims, and `at_hash`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::claims::{ACR_DEFAULT, ClaimsProvider, ClaimsUser, issuer, scope_claims, subject};
use super::jose::{JoseError, Signer};
use super::json::Ordered;

/// The `IDToken` dataclass. Its JSON form is [`IdToken::to_dict`]: the JWT payload, and what the store keeps as
/// the token's `id_token` (read back here for userinfo's `sub` and `nonce`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct IdToken {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<Value>,
    pub(crate) aud: Option<String>,
    pub(crate) exp: Option<i64>,
    pub(crate) iat: Option<i64>,
    pub(crate) auth_time: Option<i64>,
    #[serde(default = "default_acr")]
    pub(crate) acr: Option<String>,
    #[serde(default)]
    pub(crate) amr: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) c_hash: Option<String>,
    #[serde(default)]
    pub(crate) nonce: Option<String>,
    #[serde(default)]
    pub(crate) at_hash: Option<String>,
    #[serde(default)]
    pub(crate) sid: Option<String>,
    #[serde(default)]
    pub(crate) jti: Option<String>,
    #[serde(default)]
    pub(crate) claims: Ordered,
}

fn default_acr() -> Option<String> {
    Some(ACR_DEFAULT.to_owned())
}

/// What `IDToken.new(provider, token, request)` reads from the token and the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdTokenInput<'a> {
    pub(crate) provider: ClaimsProvider<'a>,
    pub(crate) user: ClaimsUser<'a>,
    /// The token's scopes (`token.scope`).
    pub(crate) scopes: &'a [String],
    /// The token's expiry.
    pub(crate) expires: DateTime<Utc>,
    /// The token's `auth_time`: the authorization code's, or now for client credentials.
    pub(crate) auth_time: DateTime<Utc>,
    /// `timezone.now()`, with tokenstack's clock offset.
    pub(crate) now: DateTime<Utc>,
    /// `scheme://host[:port]` of the request.
    pub(crate) base_url: &'a str,
    /// `generate_id()` for `jti`.
    pub(crate) jti: &'a str,
    /// What the provider's custom scope mappings return for the user, by scope name.
    pub(crate) custom_claims: &'a [(String, serde_json::Map<String, Value>)],
}

impl IdToken {
    /// `IDToken.new`. The caller sets `nonce` (authorization code grants) and `at_hash` (the id token of a
    /// refresh token) afterwards, as upstream's token view does.
    pub(crate) fn new(input: &IdTokenInput<'_>) -> Self {
        let provider = &input.provider;
        IdToken {
            iss: issuer(input.base_url, provider.issuer_mode, provider.application_slug),
            sub: Some(subject(&input.user, provider.sub_mode)),
            aud: Some(provider.client_id.to_owned()),
            exp: Some(input.expires.timestamp()),
            iat: Some(input.now.timestamp()),
            auth_time: Some(input.auth_time.timestamp()),
            acr: default_acr(),
            amr: None,
            c_hash: None,
            nonce: None,
            at_hash: None,
            sid: None,
            jti: Some(input.jti.to_owned()),
            claims: if provider.include_claims_in_id_token {
                scope_claims(&input.user, provider.scope_names, input.scopes, input.custom_claims)
            } else {
                Ordered::new()
            },
        }
    }

    /// `IDToken.to_dict()`: the fields that are not `None`, in the dataclass's order, updated with `claims`.
    pub(crate) fn to_dict(&self) -> Ordered {
        let mut out = Ordered::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                out.insert(key, value);
            }
        };
        put("iss", self.iss.clone().map(Value::from));
        put("sub", self.sub.clone());
        put("aud", self.aud.clone().map(Value::from));
        put("exp", self.exp.map(Value::from));
        put("iat", self.iat.map(Value::from));
        put("auth_time", self.auth_time.map(Value::from));
        put("acr", self.acr.clone().map(Value::from));
        put("amr", self.amr.clone().map(Value::from));
        put("c_hash", self.c_hash.clone().map(Value::from));
        put("nonce", self.nonce.clone().map(Value::from));
        put("at_hash", self.at_hash.clone().map(Value::from));
        put("sid", self.sid.clone().map(Value::from));
        put("jti", self.jti.clone().map(Value::from));
        out.extend(self.claims.clone());
        out
    }

    /// The payload of the access token (`to_access_token`): `to_dict()` plus `azp` (the client id), a fresh `uid`
    /// (`generate_id()`) and, unless a claim already set it, `scope` (the token's scopes joined by spaces).
    pub(crate) fn to_access_token_claims(&self, client_id: &str, uid: &str, scopes: &[String]) -> Ordered {
        let mut out = self.to_dict();
        out.insert("azp", client_id);
        out.insert("uid", uid);
        out.set_default("scope", scopes.join(" "));
        out
    }

    /// `IDToken.to_jwt(provider)`: the id token of a token response.
    pub(crate) fn to_jwt(&self, signer: &Signer<'_>) -> Result<String, JoseError> {
        signer.sign(&self.to_dict())
    }

    /// `IDToken.to_access_token(provider, token)`: the access token itself.
    pub(crate) fn to_access_token(
        &self,
        signer: &Signer<'_>,
        client_id: &str,
        uid: &str,
        scopes: &[String],
    ) -> Result<String, JoseError> {
        signer.sign(&self.to_access_token_claims(client_id, uid, scopes))
    }
}

/// The body of an introspection answer for a known token of the caller's provider (`TokenIntrospectionView.post`):
/// the token's `to_dict()` (as stored with it), then `active` (not expired and not revoked: a revoked token is
/// answered with its claims and `"active": false`), `scope` (joined by spaces) and `client_id`. Anything else is
/// `{"active": false}`.
pub(crate) fn introspection_claims(id_token: Ordered, active: bool, scopes: &[String], client_id: &str) -> Ordered {
    let mut out = id_token;
    out.insert("active", active);
    out.insert("scope", scopes.join(" "));
    out.insert("client_id", client_id);
    out
}

/// The body of `GET /application/o/userinfo/` (`UserInfoView.get`): `sub` from the token's id token, the scope
/// claims (`get_claims`, whatever `include_claims_in_id_token` says), and `nonce` when the id token has one.
pub(crate) fn userinfo_claims(id_token: &IdToken, scope_claims: Ordered) -> Ordered {
    let mut out = Ordered::new();
    out.insert("sub", id_token.sub.clone().unwrap_or(Value::Null));
    out.extend(scope_claims);
    if let Some(nonce) = id_token.nonce.as_ref().filter(|n| !n.is_empty()) {
        out.insert("nonce", nonce.clone());
    }
    out
}

/// `at_hash` / `c_hash` (`AccessToken.at_hash`, `AuthorizationCode.c_hash`): the left half of the SHA-256 of the
/// value, unpadded URL-safe base64 (upstream takes the first half of the hex digest and unhexlifies it).
pub(crate) fn left_half_hash(value: &str) -> String {
    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}
#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;
    use crate::authentik::oidc::claims::tests::{groups, scopes, user};
    use crate::authentik::oidc::claims::{IssuerMode, SubMode};
    use crate::authentik::oidc::json::{Style, to_python_json};

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    /// An id token as `IDToken` fields in JSON (absent ones as the dataclass defaults them).
    fn parsed(text: &str) -> IdToken {
        serde_json::from_str(text).unwrap()
    }

    fn input<'a>(provider: ClaimsProvider<'a>, user: ClaimsUser<'a>, token_scopes: &'a [String]) -> IdTokenInput<'a> {
        IdTokenInput {
            provider,
            user,
            scopes: token_scopes,
            expires: at(1_767_229_200),
            auth_time: at(1_767_225_000),
            now: at(1_767_225_600),
            base_url: "https://auth.example.com",
            jti: "jti0000000000000000000000000000000000000",
            custom_claims: &[],
        }
    }

    #[test]
    fn access_token_claims_in_upstreams_order() {
        let g = groups();
        let provider_scopes = scopes(&["openid", "email", "profile"]);
        let provider = ClaimsProvider {
            client_id: "my-client",
            sub_mode: SubMode::UserUsername,
            issuer_mode: IssuerMode::PerProvider,
            include_claims_in_id_token: true,
            application_slug: Some("app"),
            scope_names: &provider_scopes,
        };
        let token_scopes = scopes(&["openid", "email"]);
        let token = IdToken::new(&input(provider, user(&g, None), &token_scopes));
        let claims = token.to_access_token_claims("my-client", "uid0", &token_scopes);
        assert_eq!(
            to_python_json(&claims, Style::Compact).unwrap(),
            concat!(
                r#"{"iss":"https://auth.example.com/application/o/app/","sub":"alice","aud":"my-client","#,
                r#""exp":1767229200,"iat":1767225600,"auth_time":1767225000,"#,
                r#""acr":"goauthentik.io/providers/oauth2/default","jti":"jti0000000000000000000000000000000000000","#,
                r#""email":"alice@example.com","email_verified":false,"azp":"my-client","uid":"uid0","scope":"openid email"}"#
            )
        );
    }

    #[test]
    fn without_include_claims_only_the_registered_claims() {
        let g = groups();
        let provider_scopes = scopes(&["openid", "email", "profile"]);
        let provider = ClaimsProvider {
            client_id: "c",
            sub_mode: SubMode::HashedUserId,
            issuer_mode: IssuerMode::Global,
            include_claims_in_id_token: false,
            application_slug: Some("app"),
            scope_names: &provider_scopes,
        };
        let token_scopes = scopes(&["openid", "email", "profile"]);
        let mut token = IdToken::new(&input(provider, user(&g, None), &token_scopes));
        token.nonce = Some("n-0S6_WzA2Mj".into());
        let dict = token.to_dict();
        let keys: Vec<&str> = dict.keys().collect();
        assert_eq!(keys, ["iss", "sub", "aud", "exp", "iat", "auth_time", "acr", "nonce", "jti"]);
        assert_eq!(dict.get("iss").unwrap(), "https://auth.example.com/");
    }

    #[test]
    fn a_scope_claim_may_override_a_registered_one_in_place() {
        let mut token = parsed(r#"{"iss": "i", "sub": "s"}"#);
        token.claims.insert("sub", "custom");
        let text = to_python_json(&token.to_access_token_claims("c", "u", &[]), Style::Compact).unwrap();
        assert_eq!(
            text,
            r#"{"iss":"i","sub":"custom","acr":"goauthentik.io/providers/oauth2/default","azp":"c","uid":"u","scope":""}"#
        );
        token.claims.insert("scope", "kept");
        let claims = token.to_access_token_claims("c", "u", &scopes(&["openid"]));
        assert_eq!(claims.get("scope").unwrap(), "kept");
    }

    #[test]
    fn api_id_token_is_json_dumps_indent_4() {
        let mut token = parsed(
            r#"{"iss": "http://h/application/o/a/", "sub": "x", "aud": "c", "exp": 2, "iat": 1, "auth_time": 1}"#,
        );
        token.claims.insert("name", "Zoë");
        token.claims.insert("groups", json!([]));
        assert_eq!(
            to_python_json(&token.to_dict(), Style::Indent(4)).unwrap(),
            "{\n    \"iss\": \"http://h/application/o/a/\",\n    \"sub\": \"x\",\n    \"aud\": \"c\",\n    \"exp\": 2,\n    \"iat\": 1,\n    \"auth_time\": 1,\n    \"acr\": \"goauthentik.io/providers/oauth2/default\",\n    \"name\": \"Zo\\u00eb\",\n    \"groups\": []\n}"
        );
    }

    #[test]
    fn the_stored_dict_reads_back() {
        let mut token = parsed(r#"{"iss": "i", "sub": "s", "nonce": "n"}"#);
        token.claims.insert("email", "a@b");
        token.at_hash = Some(left_half_hash("token"));
        let read: IdToken = serde_json::from_value(token.to_dict().into_value()).unwrap();
        assert_eq!((read.sub, read.nonce, read.at_hash), (token.sub, token.nonce, token.at_hash));
        // The scope claims are merged into the dict, not kept apart.
        assert!(read.claims.is_empty());
    }

    #[test]
    fn introspection_and_userinfo_bodies() {
        let mut token = parsed(r#"{"iss": "i", "sub": "s", "nonce": "n"}"#);
        let body = introspection_claims(token.to_dict(), false, &scopes(&["openid", "email"]), "cid");
        assert_eq!(
            to_python_json(&body, Style::Compact).unwrap(),
            r#"{"iss":"i","sub":"s","acr":"goauthentik.io/providers/oauth2/default","nonce":"n","active":false,"scope":"openid email","client_id":"cid"}"#
        );
        let mut claims = Ordered::new();
        claims.insert("email", "a@b");
        assert_eq!(
            to_python_json(&userinfo_claims(&token, claims), Style::Compact).unwrap(),
            r#"{"sub":"s","email":"a@b","nonce":"n"}"#
        );
        token.nonce = None;
        assert_eq!(to_python_json(&userinfo_claims(&token, Ordered::new()), Style::Compact).unwrap(), r#"{"sub":"s"}"#);
    }

    #[test]
    fn tokens_sign_their_dicts() {
        let token = parsed(r#"{"iss": "i", "sub": "s", "aud": "c"}"#);
        let signer = Signer::ClientSecret("secret");
        let id = signer.verify(&token.to_jwt(&signer).unwrap()).unwrap();
        assert_eq!(id, json!({"iss": "i", "sub": "s", "aud": "c", "acr": ACR_DEFAULT}));
        let access = signer.verify(&token.to_access_token(&signer, "c", "u", &scopes(&["openid"])).unwrap()).unwrap();
        assert_eq!(access["azp"], "c");
        assert_eq!(access["uid"], "u");
        assert_eq!(access["scope"], "openid");
    }

    #[test]
    fn hash_halves_are_upstreams() {
        // base64.urlsafe_b64encode(binascii.unhexlify(sha256(b"token").hexdigest()[:32])).rstrip(b"=")
        assert_eq!(left_half_hash("token"), "PEaenWxYddN6Q_NT1PiOYQ");
    }
}
