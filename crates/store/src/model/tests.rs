//! The model's own rules: expiry, secrets kept out of `Debug`, wire names, seed defaults.

use chrono::TimeDelta;

use super::*;

fn token(expiring: bool, expires: Option<DateTime<Utc>>) -> CoreToken {
    CoreToken {
        pk: Uuid::new_v4(),
        identifier: "t".into(),
        key: Secret::new("supersecretkey"),
        intent: Intent::Api,
        user: 1,
        description: String::new(),
        expires,
        expiring,
        managed: None,
        key_viewers: vec![],
    }
}

#[test]
fn core_token_expiry_rule() {
    let now = Utc::now();
    let past = Some(now - TimeDelta::seconds(1));
    assert!(token(true, past).is_expired(now));
    assert!(!token(false, past).is_expired(now));
    assert!(!token(true, None).is_expired(now));
    assert!(!token(true, Some(now)).is_expired(now), "strictly after");
}

#[test]
fn debug_output_hides_secrets() {
    let t = token(true, None);
    assert!(!format!("{t:?}").contains("supersecretkey"));
    let pat = Pat {
        id: "x".into(),
        user_id: "u".into(),
        name: "n".into(),
        hashed_token: "HASHVALUE".into(),
        expiration_date: Utc::now(),
        created_by: "u".into(),
        created_at: Utc::now(),
        last_used: None,
    };
    assert!(!format!("{pat:?}").contains("HASHVALUE"));
}

#[test]
fn serde_names() {
    assert_eq!(serde_json::to_value(NbRole::NetworkAdmin).unwrap(), "network_admin");
    assert_eq!(serde_json::to_value(Intent::AppPassword).unwrap(), "app_password");
    assert_eq!(serde_json::to_value(AkUserType::InternalServiceAccount).unwrap(), "internal_service_account");
    assert_eq!(Intent::parse("app_password"), Some(Intent::AppPassword));
    assert_eq!(Intent::parse("API"), None);
}

#[test]
fn minimal_seed_user_gets_defaults() {
    let u: AkUser = serde_json::from_value(serde_json::json!({
        "pk": 7, "username": "alice", "type": "service_account"
    }))
    .unwrap();
    assert!(u.is_active);
    assert_eq!(u.user_type, AkUserType::ServiceAccount);
    assert!(!u.is_effective_superuser());
}

#[test]
fn admin_power() {
    let mut u = NbUser::new("u", "a", NbRole::Owner);
    assert!(u.has_admin_power());
    u.role = NbRole::NetworkAdmin;
    assert!(!u.has_admin_power());
}
