//! Id-token and access-token claims as authentik builds them (`id_token.py`: `IDToken.new`, `to_dict`,
//! `to_access_token`), the issuer (`OAuth2Provider.get_issuer`), the scope claims of the managed scope mappings
//! (`blueprints/system/providers-oauth2.yaml`, merged by `UserInfoView.get_claims`), and the `id_token` field of
//! the token management API (`api/tokens.py`: `json.dumps(id_token.to_dict(), indent=4)`).
//!
//! Not modelled (no sessions or login events here): `sid`, and `amr`, which upstream derives from the login
//! event of the session (`pwd`, `mfa`, …); tokens issued here carry neither, as upstream's client-credentials
//! tokens do not.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::jose::{JoseError, Signer};
use super::json::{Ordered, Style, to_python_json};

/// `ACR_AUTHENTIK_DEFAULT`.
pub(crate) const ACR_DEFAULT: &str = "goauthentik.io/providers/oauth2/default";
/// `SCOPE_OPENID`, `SCOPE_OPENID_EMAIL`, `SCOPE_OPENID_PROFILE`, `SCOPE_OFFLINE_ACCESS`.
pub(crate) const SCOPE_OPENID: &str = "openid";
pub(crate) const SCOPE_EMAIL: &str = "email";
pub(crate) const SCOPE_PROFILE: &str = "profile";
pub(crate) const SCOPE_OFFLINE_ACCESS: &str = "offline_access";

/// `SubModes`: what the `sub` claim is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SubMode {
    #[default]
    HashedUserId,
    UserId,
    UserUuid,
    UserUsername,
    UserEmail,
    UserUpn,
}

/// `IssuerMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IssuerMode {
    Global,
    #[default]
    PerProvider,
}

/// The user fields claims are made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimsUser<'a> {
    pub(crate) pk: i64,
    /// `User.uid` (a SHA-256 hex of the pk and the install id).
    pub(crate) uid: &'a str,
    pub(crate) uuid: Uuid,
    pub(crate) username: &'a str,
    pub(crate) email: &'a str,
    pub(crate) name: &'a str,
    /// `attributes["upn"]` if present, whatever its JSON type.
    pub(crate) upn: Option<&'a Value>,
    /// The names of the user's groups (`request.user.groups.all()`), in their order.
    pub(crate) groups: &'a [String],
}

/// The provider settings claims depend on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimsProvider<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) sub_mode: SubMode,
    pub(crate) issuer_mode: IssuerMode,
    pub(crate) include_claims_in_id_token: bool,
    /// The slug of the provider's application; without one, a per-provider issuer is `None` (upstream catches
    /// `RelatedObjectDoesNotExist`).
    pub(crate) application_slug: Option<&'a str>,
    /// The `scope_name`s of the provider's scope mappings (`property_mappings`).
    pub(crate) scope_names: &'a [String],
}

/// `OAuth2Provider.get_issuer(request)`: `base_url` is the request's `scheme://host[:port]` without a trailing
/// slash (`request.build_absolute_uri`); per provider `<base>/application/o/<slug>/`, global `<base>/`.
pub(crate) fn issuer(base_url: &str, issuer_mode: IssuerMode, application_slug: Option<&str>) -> Option<String> {
    match issuer_mode {
        IssuerMode::Global => Some(format!("{base_url}/")),
        IssuerMode::PerProvider => application_slug.map(|slug| format!("{base_url}/application/o/{slug}/")),
    }
}

/// The `sub` claim (`IDToken.new`).
pub(crate) fn subject(user: &ClaimsUser<'_>, mode: SubMode) -> Value {
    match mode {
        SubMode::HashedUserId => user.uid.into(),
        SubMode::UserId => user.pk.to_string().into(),
        SubMode::UserUuid => user.uuid.to_string().into(),
        SubMode::UserEmail => user.email.into(),
        SubMode::UserUsername => user.username.into(),
        SubMode::UserUpn => user.upn.cloned().unwrap_or_else(|| user.uid.into()),
    }
}

/// `UserInfoView.get_claims(provider, token)` for the managed scope mappings: the provider's mappings whose
/// scope the token has, in `scope_name` order, merged (`email`: `email`, `email_verified` false; `profile`:
/// `name`, `given_name`, `preferred_username`, `nickname`, `groups`; `openid`, `offline_access` and any
/// other scope: nothing).
pub(crate) fn scope_claims(user: &ClaimsUser<'_>, provider_scopes: &[String], token_scopes: &[String]) -> Ordered {
    let mut names: Vec<&str> =
        provider_scopes.iter().map(String::as_str).filter(|s| token_scopes.iter().any(|t| t == s)).collect();
    names.sort_unstable();
    names.dedup();
    let mut claims = Ordered::new();
    for name in names {
        match name {
            SCOPE_EMAIL => {
                claims.insert("email", user.email);
                claims.insert("email_verified", false);
            }
            SCOPE_PROFILE => {
                claims.insert("name", user.name);
                claims.insert("given_name", user.name);
                claims.insert("preferred_username", user.username);
                claims.insert("nickname", user.username);
                claims.insert("groups", user.groups.to_vec());
            }
            _ => {}
        }
    }
    claims
}

/// The claim names a scope mapping returns for an anonymous user, for discovery's `claims_supported`
/// (`ProviderInfoView.get_claims`).
pub(crate) fn scope_claim_names(scope_name: &str) -> &'static [&'static str] {
    match scope_name {
        SCOPE_EMAIL => &["email", "email_verified"],
        SCOPE_PROFILE => &["name", "given_name", "preferred_username", "nickname", "groups"],
        _ => &[],
    }
}

/// The `IDToken` dataclass. Its JSON forms: [`IdToken::to_dict`] (the JWT payload and the API's `id_token`) and
/// [`IdToken::stored_json`] (`json.dumps(asdict(token))`, what `_id_token` holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
                scope_claims(&input.user, provider.scope_names, input.scopes)
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

    /// The `id_token` field of `/api/v3/oauth2/access_tokens/` and `refresh_tokens/`:
    /// `json.dumps(to_dict(), indent=4)`.
    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    pub(crate) fn api_json(&self) -> String {
        to_python_json(&self.to_dict(), Style::Indent(4)).unwrap_or_default()
    }

    /// `json.dumps(asdict(token))`: every field, `None` as `null`, the claims nested under `claims`.
    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    pub(crate) fn stored_json(&self) -> String {
        to_python_json(self, Style::Spaced).unwrap_or_default()
    }

    /// Reads [`IdToken::stored_json`] back (`from_dict(IDToken, json.loads(_id_token))`).
    #[allow(dead_code, reason = "upstream's rule, unit-tested; no endpoint reaches it yet")]
    pub(crate) fn from_stored_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
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

    const UID: &str = "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn groups() -> Vec<String> {
        vec!["admins".into(), "Zoë's".into()]
    }

    fn user<'a>(groups: &'a [String], upn: Option<&'a Value>) -> ClaimsUser<'a> {
        ClaimsUser {
            pk: 7,
            uid: UID,
            uuid: Uuid::parse_str("6c7e1ff7-33fb-4f5f-9c42-d0a4e7a9b0b1").unwrap(),
            username: "alice",
            email: "alice@example.com",
            name: "Alice Zoë",
            upn,
            groups,
        }
    }

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).unwrap()
    }

    #[test]
    fn issuer_per_mode_with_authentiks_trailing_slash() {
        let base = "http://localhost:9000";
        assert_eq!(
            issuer(base, IssuerMode::PerProvider, Some("my-app")).unwrap(),
            "http://localhost:9000/application/o/my-app/"
        );
        assert_eq!(issuer(base, IssuerMode::Global, Some("my-app")).unwrap(), "http://localhost:9000/");
        assert_eq!(issuer(base, IssuerMode::PerProvider, None), None);
        assert_eq!(issuer(base, IssuerMode::Global, None).unwrap(), "http://localhost:9000/");
    }

    #[test]
    fn sub_per_mode() {
        let g = groups();
        let upn = json!("alice@corp.example");
        let u = user(&g, None);
        assert_eq!(subject(&u, SubMode::HashedUserId), UID);
        assert_eq!(subject(&u, SubMode::UserId), "7");
        assert_eq!(subject(&u, SubMode::UserUuid), "6c7e1ff7-33fb-4f5f-9c42-d0a4e7a9b0b1");
        assert_eq!(subject(&u, SubMode::UserUsername), "alice");
        assert_eq!(subject(&u, SubMode::UserEmail), "alice@example.com");
        // attributes.get("upn", user.uid)
        assert_eq!(subject(&u, SubMode::UserUpn), UID);
        assert_eq!(subject(&user(&g, Some(&upn)), SubMode::UserUpn), "alice@corp.example");
        let names: Vec<SubMode> = serde_json::from_value(json!([
            "hashed_user_id",
            "user_id",
            "user_uuid",
            "user_username",
            "user_email",
            "user_upn"
        ]))
        .unwrap();
        assert_eq!(names.len(), 6);
    }

    #[test]
    fn scope_claims_follow_the_managed_mappings() {
        let g = groups();
        let u = user(&g, None);
        let provider = scopes(&["openid", "profile", "email", "offline_access"]);
        let claims = scope_claims(&u, &provider, &scopes(&["profile", "openid", "email"]));
        assert_eq!(
            to_python_json(&claims, Style::Compact).unwrap(),
            r#"{"email":"alice@example.com","email_verified":false,"name":"Alice Zo\u00eb","given_name":"Alice Zo\u00eb","preferred_username":"alice","nickname":"alice","groups":["admins","Zo\u00eb's"]}"#
        );
        // A scope the token has but the provider does not map gives nothing.
        assert!(scope_claims(&u, &scopes(&["openid"]), &scopes(&["openid", "email"])).is_empty());
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
        let mut token = IdToken::from_stored_json(r#"{"iss": "i", "sub": "s"}"#).unwrap();
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
        let mut token = IdToken::from_stored_json(
            r#"{"iss": "http://h/application/o/a/", "sub": "x", "aud": "c", "exp": 2, "iat": 1, "auth_time": 1}"#,
        )
        .unwrap();
        token.claims.insert("name", "Zoë");
        token.claims.insert("groups", json!([]));
        assert_eq!(
            token.api_json(),
            "{\n    \"iss\": \"http://h/application/o/a/\",\n    \"sub\": \"x\",\n    \"aud\": \"c\",\n    \"exp\": 2,\n    \"iat\": 1,\n    \"auth_time\": 1,\n    \"acr\": \"goauthentik.io/providers/oauth2/default\",\n    \"name\": \"Zo\\u00eb\",\n    \"groups\": []\n}"
        );
    }

    #[test]
    fn stored_json_round_trips_with_nulls_and_order() {
        let mut token = IdToken::from_stored_json(r#"{"iss": "i", "claims": {"z": 1, "a": 2}}"#).unwrap();
        token.at_hash = Some(left_half_hash("token"));
        let stored = token.stored_json();
        assert!(stored.starts_with(r#"{"iss": "i", "sub": null, "aud": null, "exp": null"#), "{stored}");
        assert!(stored.ends_with(r#""jti": null, "claims": {"z": 1, "a": 2}}"#), "{stored}");
        assert_eq!(IdToken::from_stored_json(&stored).unwrap(), token);
    }

    #[test]
    fn introspection_and_userinfo_bodies() {
        let mut token = IdToken::from_stored_json(r#"{"iss": "i", "sub": "s", "nonce": "n"}"#).unwrap();
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
        let token = IdToken::from_stored_json(r#"{"iss": "i", "sub": "s", "aud": "c"}"#).unwrap();
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

    #[test]
    fn claims_supported_names() {
        assert_eq!(scope_claim_names("email"), ["email", "email_verified"]);
        assert_eq!(scope_claim_names("openid"), [] as [&str; 0]);
    }
}
