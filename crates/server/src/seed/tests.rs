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
];

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
