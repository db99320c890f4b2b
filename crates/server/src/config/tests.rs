//! Unit tests of the configuration: flags, environment, file, secrets.

use std::ffi::OsString;
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

/// The variables of `pairs`, for [`Config::load_with_env`].
fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.into())
}

#[test]
fn every_secret_has_a_file_form_whose_line_end_is_dropped() {
    let admin = file("admin-token-from-a-docker-secret-0123456789\n");
    let key = file("bootstrap-key-from-a-file\r\n");
    let pat = file("nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM");
    let store = file("sqlite:/data/tokenstack.db\n");
    let path = |f: &tempfile::NamedTempFile| f.path().to_str().expect("utf-8 path").to_string();
    let vars = [
        ("TOKENSTACK_ADMIN_TOKEN_FILE", path(&admin)),
        ("TOKENSTACK_BOOTSTRAP_TOKEN_FILE", path(&key)),
        ("TOKENSTACK_BOOTSTRAP_PAT_FILE", path(&pat)),
        ("TOKENSTACK_STORE_FILE", path(&store)),
    ];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = Config::load_with_env(["tokenstack"], &env(&vars)).expect("loads");
    assert_eq!(config.admin_token.as_ref().map(Secret::expose), Some("admin-token-from-a-docker-secret-0123456789"));
    assert_eq!(config.bootstrap_token.as_ref().map(Secret::expose), Some("bootstrap-key-from-a-file"));
    assert_eq!(config.bootstrap_pat.as_ref().map(Secret::expose), Some("nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM"));
    assert_eq!(config.store, "sqlite:/data/tokenstack.db");
    // Messages about a value name the variable and its file.
    assert_eq!(config.origins.name("admin_token"), format!("TOKENSTACK_ADMIN_TOKEN_FILE ({})", path(&admin)));
    assert_eq!(config.origins.name("store"), format!("TOKENSTACK_STORE_FILE ({})", path(&store)));
    // The secrets stay hidden.
    let debug = format!("{config:?}");
    assert!(!debug.contains("admin-token-from") && !debug.contains("bootstrap-key-from"), "{debug}");
}

#[test]
fn a_flag_wins_over_the_file_form_which_wins_over_the_config_file() {
    let admin = file("admin-token-from-a-docker-secret-0123456789\n");
    let admin_path = admin.path().to_str().expect("utf-8 path");
    let toml = file("admin_token = \"admin-token-from-the-config-file-0123456789\"\n");
    let toml_path = toml.path().to_str().expect("utf-8 path");
    let vars = env(&[("TOKENSTACK_ADMIN_TOKEN_FILE", admin_path)]);
    let config = Config::load_with_env(["tokenstack", "--config", toml_path], &vars).expect("loads");
    assert_eq!(config.admin_token.as_ref().map(Secret::expose), Some("admin-token-from-a-docker-secret-0123456789"));
    let flag = "admin-token-from-the-command-line-0123456789";
    let config =
        Config::load_with_env(["tokenstack", "--config", toml_path, "--admin-token", flag], &vars).expect("loads");
    assert_eq!(config.admin_token.as_ref().map(Secret::expose), Some(flag));
    assert_eq!(config.origins.name("admin_token"), "--admin-token");
}

#[test]
fn an_unreadable_or_empty_secret_file_is_an_error_naming_variable_and_file() {
    let empty = file("\n");
    let path = empty.path().to_str().expect("utf-8 path");
    let error = Config::load_with_env(["tokenstack"], &env(&[("TOKENSTACK_BOOTSTRAP_PAT_FILE", path)]))
        .expect_err("empty file");
    assert_eq!(error.to_string(), format!("TOKENSTACK_BOOTSTRAP_PAT_FILE ({path}): it is empty"));
    let missing = "/nonexistent/tokenstack/admin-token";
    let error = Config::load_with_env(["tokenstack"], &env(&[("TOKENSTACK_ADMIN_TOKEN_FILE", missing)]))
        .expect_err("missing file");
    let message = error.to_string();
    assert!(message.starts_with(&format!("TOKENSTACK_ADMIN_TOKEN_FILE ({missing}): cannot read it: ")), "{message}");
    assert!(!matches!(error, ConfigError::Cli(_)), "a configuration error, exit status 2");
}

#[test]
fn authentiks_bootstrap_variables_are_aliases_below_tokenstacks_own() {
    let vars = [
        ("AUTHENTIK_BOOTSTRAP_TOKEN", "key-from-authentiks-compose-file"),
        ("AUTHENTIK_BOOTSTRAP_EMAIL", "admin@example.com"),
        ("AUTHENTIK_BOOTSTRAP_PASSWORD", "password-from-authentiks-compose-file"),
    ];
    let config = Config::load_with_env(["tokenstack"], &env(&vars)).expect("loads");
    assert_eq!(config.bootstrap_token.as_ref().map(Secret::expose), Some("key-from-authentiks-compose-file"));
    assert_eq!(config.bootstrap_email, "admin@example.com");
    assert_eq!(config.bootstrap_password.as_ref().map(Secret::expose), Some("password-from-authentiks-compose-file"));
    assert!(!format!("{config:?}").contains("password-from-authentiks"), "the password never shows");
    assert_eq!(config.origins.name("bootstrap_token"), "AUTHENTIK_BOOTSTRAP_TOKEN");

    // tokenstack's own sources win: the flag, and the `_FILE` form.
    let config =
        Config::load_with_env(["tokenstack", "--bootstrap-email", "ops@example.com"], &env(&vars)).expect("loads");
    assert_eq!(
        (config.bootstrap_email.as_str(), config.origins.name("bootstrap_email").as_str()),
        ("ops@example.com", "--bootstrap-email")
    );
    let key = file("key-from-a-docker-secret\n");
    let path = key.path().to_str().expect("utf-8 path");
    let with_file = [vars[0], ("TOKENSTACK_BOOTSTRAP_TOKEN_FILE", path)];
    let config = Config::load_with_env(["tokenstack"], &env(&with_file)).expect("loads");
    assert_eq!(config.bootstrap_token.as_ref().map(Secret::expose), Some("key-from-a-docker-secret"));
    let password = file("password-from-a-docker-secret\n");
    let path = password.path().to_str().expect("utf-8 path");
    let with_file = [vars[2], ("TOKENSTACK_BOOTSTRAP_PASSWORD_FILE", path)];
    let config = Config::load_with_env(["tokenstack"], &env(&with_file)).expect("loads");
    assert_eq!(config.bootstrap_password.as_ref().map(Secret::expose), Some("password-from-a-docker-secret"));
    let config = Config::load_with_env(["tokenstack", "--bootstrap-password", "from-the-flag"], &env(&vars));
    assert_eq!(config.expect("loads").bootstrap_password.as_ref().map(Secret::expose), Some("from-the-flag"));

    // An empty upstream variable is unset, as authentik reads it; the defaults stay.
    let vars = [("AUTHENTIK_BOOTSTRAP_TOKEN", ""), ("AUTHENTIK_BOOTSTRAP_EMAIL", "")];
    let config = Config::load_with_env(["tokenstack"], &env(&vars)).expect("loads");
    assert!(config.bootstrap_token.is_none());
    assert_eq!(config.bootstrap_email, "root@localhost");
}

#[test]
fn a_subcommand_survives_the_config_file_and_server_and_worker_serve() {
    let toml = file("bind = \"0.0.0.0:7000\"\n");
    let path = toml.path().to_str().expect("utf-8 path");
    let config = Config::load_from(["tokenstack", "--config", path, "healthcheck", "--timeout", "5"]).expect("loads");
    assert_eq!(config.command, Some(Command::Healthcheck { timeout: 5 }));
    assert_eq!(config.bind, "0.0.0.0:7000".parse().expect("address"));
    for (name, command) in [("server", Command::Server), ("worker", Command::Worker)] {
        let config = Config::load_from(["tokenstack", "--config", path, name]).expect("loads");
        assert_eq!(config.command, Some(command));
    }
    let config = Config::load_from(["tokenstack"]).expect("loads");
    assert_eq!(config.command, None);
}
