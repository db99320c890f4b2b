//! Unit tests of the configuration: flags, environment, file, secrets.

use std::io::Write;

use super::*;

#[test]
fn debug_output_hides_every_secret() {
    let config = Config::load_from([
        "tokenstack",
        "--bootstrap-token",
        "config-secret-key-0123456789",
        "--bootstrap-pat",
        "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM",
        "--admin-token",
        "config-secret-admin-token-0123456789",
    ])
    .unwrap();
    let debug = format!("{config:?}");
    for secret in ["config-secret-key", "nbp_7mVGH0", "config-secret-admin"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert_eq!(config.bootstrap_token.as_ref().map(Secret::expose), Some("config-secret-key-0123456789"));
    let seed = crate::seed::SeedFile::from_json(serde_json::json!({
        "authentik": {"users": [{"pk": 1, "username": "a"}], "tokens": [{"identifier": "t", "user": "a", "key": "seed-secret-key"}]},
        "netbird": {"users": [{"id": "u", "role": "owner", "pats": [{"name": "p", "token": "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM"}]}]}
    }))
    .unwrap();
    let debug = format!("{seed:?}");
    assert!(!debug.contains("seed-secret-key") && !debug.contains("nbp_7mVGH0"), "{debug}");
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write");
    file
}

#[test]
fn flags_win_over_the_file_which_wins_over_defaults() {
    let toml = file("bind = \"127.0.0.1:7000\"\nlog_level = \"warn\"\nexpiry_interval = 5\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let config = Config::load_from(["tokenstack", "--config", path, "--bind", "127.0.0.1:7001"]).expect("loads");
    assert_eq!(config.bind, "127.0.0.1:7001".parse().expect("address"));
    assert_eq!(config.log_level, LogLevel::Warn);
    assert_eq!(config.expiry_interval, 5);
    assert_eq!(config.shutdown_timeout, 10);
}

#[test]
fn unknown_key_and_bad_value_name_the_key_and_the_file() {
    let toml = file("bnid = \"127.0.0.1:7000\"\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let message = Config::load_from(["tokenstack", "--config", path]).expect_err("unknown key").to_string();
    assert!(message.contains("bnid") && message.contains(path), "{message}");

    let toml = file("bind = \"not an address\"\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let message = Config::load_from(["tokenstack", "--config", path]).expect_err("bad value").to_string();
    assert!(message.contains("bind") && message.contains(path), "{message}");
}

#[test]
fn half_a_tls_pair_from_any_source_stops_start_up() {
    let toml = file("tls_cert = \"/etc/tokenstack/cert.pem\"\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let message = Config::load_from(["tokenstack", "--config", path]).expect_err("cert alone").to_string();
    assert_eq!(
        message,
        "tls_cert is set but tls_key is not: give both PEM files (flags, TOKENSTACK_* or the config file) or neither"
    );

    let toml = file("tls_key = \"/etc/tokenstack/key.pem\"\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let message = Config::load_from(["tokenstack", "--config", path]).expect_err("key alone").to_string();
    assert!(message.starts_with("tls_key is set but tls_cert is not"), "{message}");

    // The two halves may come from different sources.
    let toml = file("tls_key = \"/etc/tokenstack/key.pem\"\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let config = Config::load_from(["tokenstack", "--config", path, "--tls-cert", "/etc/tokenstack/cert.pem"]);
    assert!(config.is_ok_and(|c| c.tls_cert.is_some() && c.tls_key.is_some()));
}

#[test]
fn the_example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/tokenstack.toml");
    let example = example.to_str().expect("utf-8 path");
    let config = Config::load_from(["tokenstack", "--config", example]).expect("example loads");
    assert_eq!(config.log_format, LogFormat::Json);
}
