//! The seed format refuses a misspelt key in every object type, naming the key and its line.

use super::{SeedError, SeedFile};

/// A seed with one of every object type, each on its own lines, so that a typo can be put into any of them.
const SEED: &str = r#"authentik:
  users:
    - pk: 2
      username: alice
      email: alice@example.com
      password: alice-password
      is_superuser: true
      groups:
        - name: admins
          is_superuser: true
  providers:
    - pk: 1
      name: demo
      client_secret: demo-secret
      redirect_uris:
        - matching_mode: strict
          url: https://app.example.com/cb
  applications:
    - slug: demo
      name: Demo
      provider: 1
  tokens:
    - identifier: alice-ci
      user: alice
  access_tokens:
    - pk: 1
      provider: 1
      user: alice
  refresh_tokens:
    - pk: 1
      provider: 1
      user: alice
  key_pairs:
    - pk: 00000000-0000-4000-8000-000000000001
      name: pair
      key_data: not-read-here
netbird:
  users:
    - id: netadmin
      role: network_admin
      pats:
        - name: netadmin-ci
          token: nbp_GFQ9OIZ8lRv83g5RLzL9bt5qJCzdm43kXuyc
  groups:
    - id: d1agents000000000000
      account_id: default
      name: agents
      peers: [d1peer00000000000000]
  setup_keys:
    - name: e2e-agents
      key: a6160f2e-5b3b-4a0c-9d1e-0123456789ab
      auto_groups: [d1agents000000000000]
      usage_limit: 5
  peers:
    - id: d1peer00000000000000
      account_id: default
      key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
      name: runner-1
      ip: 100.64.0.7
      dns_label: runner-1
      created_at: 2026-08-22T12:00:00Z
      last_login: 2026-08-22T12:00:00Z
      last_seen: 2026-08-22T12:00:00Z
      meta:
        hostname: runner-1
        os: linux
  accounts:
    - id: default
      created_at: 2026-08-22T12:00:00Z
      settings:
        peer_login_expiration: 7200
"#;

fn load(text: &str) -> Result<SeedFile, SeedError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.yaml");
    std::fs::write(&path, text).unwrap();
    SeedFile::load(&path)
}

#[test]
fn the_seed_without_typos_loads() {
    let seed = load(SEED).unwrap();
    assert!(seed.authentik.users[0].is_superuser && seed.authentik.users[0].groups[0].is_superuser);
    assert_eq!(seed.authentik.providers[0].oauth2.client_secret.expose(), "demo-secret");
    assert_eq!(seed.authentik.providers[0].oauth2.access_token_validity, "hours=1", "the model's default");
}

#[test]
fn a_seed_password_is_stored_hashed_and_an_exported_hash_loads_back() {
    let seed = load(SEED).unwrap();
    let hash = seed.authentik.users[0].password.clone().expect("alice has a password");
    assert!(hash.verify("alice-password") && !hash.verify("alice"));
    let exported = serde_yaml::to_string(&seed.authentik.users[0]).unwrap();
    assert!(!exported.contains("alice-password") && exported.contains(hash.as_str()), "{exported}");
    let again = load(&SEED.replace("alice-password", hash.as_str())).unwrap();
    assert_eq!(again.authentik.users[0].password.as_ref(), Some(&hash), "a hash is kept as it is");

    // A malformed hash stops the load, naming the user, rather than becoming the password.
    let broken = SEED.replace("password: alice-password", "password: pbkdf2_sha256$many$salt$hash");
    let message = load(&broken).expect_err("malformed").to_string();
    assert!(message.contains("authentik.users[0]: the password hash iterations must be"), "{message}");
}

/// Each object type, the key whose line gets misspelt, and the misspelling (the issue's own typos among them).
const TYPOS: &[(&str, &str, &str)] = &[
    ("the document", "authentik:", "authentk:"),
    ("the document", "netbird:\n", "netbrd:\n"),
    ("authentik", "authentik:\n  users:", "authentik:\n  user:"),
    ("a user", "      email: alice@example.com", "      emial: alice@example.com"),
    ("a user", "      password: alice-password", "      pasword: alice-password"),
    ("a user", "      is_superuser: true\n      groups:", "      is_superusr: true\n      groups:"),
    ("a group", "          is_superuser: true", "          is_superusr: true"),
    ("a provider", "      client_secret: demo-secret", "      client_secrt: demo-secret"),
    ("a redirect uri", "          url: https://app.example.com/cb", "          uri: https://app.example.com/cb"),
    ("an application", "      provider: 1\n  tokens:", "      providr: 1\n  tokens:"),
    ("a token", "    - identifier: alice-ci\n      user: alice", "    - identifier: alice-ci\n      usr: alice"),
    ("an access token", "  access_tokens:\n    - pk: 1", "  access_tokens:\n    - pkk: 1"),
    ("a refresh token", "  refresh_tokens:\n    - pk: 1", "  refresh_tokens:\n    - pkk: 1"),
    ("a key pair", "      key_data: not-read-here", "      key_dat: not-read-here"),
    ("netbird", "netbird:\n  users:", "netbird:\n  usrs:"),
    ("a NetBird user", "      role: network_admin", "      rol: network_admin"),
    ("a PAT", "          token: nbp_", "          tokn: nbp_"),
    ("a NetBird group", "      name: agents", "      nme: agents"),
    ("a setup key", "      usage_limit: 5", "      usage_limt: 5"),
    ("a peer", "      dns_label: runner-1", "      dns_labl: runner-1"),
    ("a peer's meta", "        os: linux", "        oss: linux"),
    (
        "an account",
        "      created_at: 2026-08-22T12:00:00Z\n      settings:",
        "      created: 2026-08-22T12:00:00Z\n      settings:",
    ),
];

/// Groups, setup keys (a plain key, stored as its hash and hidden form), peers and accounts go into the store, and
/// the export gives back a document that loads to the same state.
#[test]
fn netbird_groups_setup_keys_peers_and_accounts_round_trip() {
    let now = chrono::Utc::now();
    let snapshot = load(SEED).unwrap().snapshot(now).unwrap();
    let key = &snapshot.nb_setup_keys[0];
    let plain = "A6160F2E-5B3B-4A0C-9D1E-0123456789AB";
    assert_eq!(
        (key.key_hash.as_str(), key.key_secret.as_str()),
        (crate::secrets::hash_setup_key(plain).as_str(), "A6160****")
    );
    assert_eq!((key.usage_limit, key.account_id.as_str(), key.created_at), (5, "default", now));
    assert_eq!(snapshot.nb_groups[0].peers, ["d1peer00000000000000"]);
    assert_eq!(
        (snapshot.nb_peers[0].meta.os.as_str(), snapshot.nb_accounts[0].settings["peer_login_expiration"].as_i64()),
        ("linux", Some(7200))
    );
    let exported = serde_json::to_value(SeedFile::from_snapshot(snapshot.clone()).unwrap()).unwrap();
    assert!(exported["netbird"]["setup_keys"][0].get("key").is_none(), "no plain key is exported");
    let again = SeedFile::from_json(exported).unwrap().snapshot(now).unwrap();
    assert_eq!(again, snapshot);
}

#[test]
fn a_misspelt_key_stops_the_load_naming_the_key_and_its_line() {
    for (object, right, wrong) in TYPOS {
        assert_eq!(SEED.matches(right).count(), 1, "{object}: {right:?} must occur once in the seed");
        let text = SEED.replacen(right, wrong, 1);
        let typo_line = wrong.lines().find(|line| !right.lines().any(|r| r == *line)).unwrap();
        let key = typo_line.trim_start_matches([' ', '-']).split(':').next().unwrap();
        let line = text.lines().position(|l| l.starts_with(typo_line)).unwrap() + 1;
        let message = load(&text).expect_err(object).to_string();
        assert!(message.contains(&format!("unknown field `{key}`")), "{object}: {message}");
        let at = format!("line {line}");
        let located = message.contains(&format!("{at} ")) || message.ends_with(&at);
        assert!(located, "{object}: {at} expected in {message}");
    }
}
