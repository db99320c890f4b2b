//! Claims as authentik builds them: the issuer (`OAuth2Provider.get_issuer`), the `sub` claim per sub mode
//! (`IDToken.new`) and the scope claims of the managed scope mappings (`blueprints/system/providers-oauth2.yaml`,
//! merged by `UserInfoView.get_claims`). The id token they go into is [`super::id_token`].
//!
//! Not modelled (no sessions or login events here): `sid`, and `amr`, which upstream derives from the login
//! event of the session (`pwd`, `mfa`, …); tokens issued here carry neither, as upstream's client-credentials
//! tokens do not.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::json::Ordered;

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
/// other scope: nothing), and after each scope's managed claims those its custom mappings returned (`custom`:
/// scope name and claims, `oidc::expression`).
pub(crate) fn scope_claims(
    user: &ClaimsUser<'_>,
    provider_scopes: &[String],
    token_scopes: &[String],
    custom: &[(String, serde_json::Map<String, Value>)],
) -> Ordered {
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
        for (_, returned) in custom.iter().filter(|(scope, _)| scope == name) {
            for (key, value) in returned {
                claims.insert(key.clone(), value.clone());
            }
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

#[cfg(test)]
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::authentik::oidc::json::{Style, to_python_json};

    pub(in crate::authentik::oidc) const UID: &str = "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    pub(in crate::authentik::oidc) fn groups() -> Vec<String> {
        vec!["admins".into(), "Zoë's".into()]
    }

    pub(in crate::authentik::oidc) fn user<'a>(groups: &'a [String], upn: Option<&'a Value>) -> ClaimsUser<'a> {
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

    pub(in crate::authentik::oidc) fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
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
        let claims = scope_claims(&u, &provider, &scopes(&["profile", "openid", "email"]), &[]);
        assert_eq!(
            to_python_json(&claims, Style::Compact).unwrap(),
            r#"{"email":"alice@example.com","email_verified":false,"name":"Alice Zo\u00eb","given_name":"Alice Zo\u00eb","preferred_username":"alice","nickname":"alice","groups":["admins","Zo\u00eb's"]}"#
        );
        // A scope the token has but the provider does not map gives nothing.
        assert!(scope_claims(&u, &scopes(&["openid"]), &scopes(&["openid", "email"]), &[]).is_empty());
        // Custom mappings merge in scope order: `profile`'s managed `groups` replaces the `groups` of a `groups`
        // scope (upstream sorts mappings by scope name), while a later scope's claims replace earlier ones.
        let provider = scopes(&["openid", "profile", "groups", "zz"]);
        let custom = [
            ("groups".to_string(), serde_json::Map::from_iter([("groups".into(), Value::from("custom"))])),
            ("zz".to_string(), serde_json::Map::from_iter([("name".into(), Value::from("last"))])),
        ];
        let claims = scope_claims(&u, &provider, &scopes(&["openid", "profile", "groups", "zz"]), &custom);
        let json = to_python_json(&claims, Style::Compact).unwrap();
        assert!(json.starts_with(r#"{"groups":["admins","#) && json.contains(r#""name":"last""#), "{json}");
    }

    #[test]
    fn claims_supported_names() {
        assert_eq!(scope_claim_names("email"), ["email", "email_verified"]);
        assert_eq!(scope_claim_names("openid"), [] as [&str; 0]);
    }
}
