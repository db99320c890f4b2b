//! Service behaviour of the real binary and server: TOML config, TLS, JSON logs without secrets, body
//! limits, graceful shutdown on SIGTERM, and the expiry sweep.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tokenstack_server::config::Config;
use tokenstack_server::model::{AkUser, CoreToken, Intent};
use tokenstack_server::secrets::{PasswordHash, Secret};
use tokenstack_server::seed::AdminBootstrap;
use tokenstack_server::store::{Field, Store, StoreError};

const KEY: &str = "service-test-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHI";
const PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";

/// Starts the binary with `args`, returns the child and its base URL from the first stdout line.
fn spawn(args: &[&str]) -> (std::process::Child, String) {
    spawn_with(args, &[])
}

/// [`spawn`] with these environment variables set too.
fn spawn_with(args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .env("TOKENSTACK_BOOTSTRAP_TOKEN", KEY)
        .env("TOKENSTACK_BOOTSTRAP_PAT", PAT)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("first line");
    let base = line.trim().rsplit(' ').next().expect("address").to_string();
    assert!(base.starts_with("http"), "unexpected first line {line:?}");
    (child, base)
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_never_secrets_and_sigterm_stops_cleanly() {
    let (mut child, base) = spawn(&["--log-format", "json", "--log-level", "info"]);
    // Read the log as it is written: Dropshot writes "request completed" after the response has gone out, so
    // SIGTERM waits until the three records are there (at most 10 s) rather than racing them.
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let client = reqwest::Client::new();
    let query = "/api/v3/core/tokens/?search=query-value-not-logged";
    let response = client.get(format!("{base}{query}")).bearer_auth(KEY).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let response = client
        .get(format!("{base}/api/users/admin/tokens"))
        .header("Authorization", format!("Token {PAT}"))
        .send()
        .await;
    assert_eq!(response.expect("request").status(), 200);
    let oversize = "x".repeat(70_000);
    let response = client
        .post(format!("{base}/api/v3/core/tokens/"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(format!(r#"{{"identifier": "{oversize}"}}"#))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("json error");
    assert!(body["detail"].as_str().unwrap_or_default().contains("exceeded maximum size"), "{body}");

    let mut lines = Vec::new();
    while lines.iter().filter(|line: &&String| line.contains(r#""msg":"request completed""#)).count() < 3 {
        match lines_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => lines.push(line),
            Err(err) => panic!("fewer than 3 request records within 10 s ({err}):\n{}", lines.join("\n")),
        }
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("child exits");
    assert!(exit.success(), "{exit:?}");
    reader.join().expect("log reader");
    lines.extend(lines_rx.try_iter());
    let stderr = lines.join("\n");
    assert!(!stderr.contains(KEY) && !stderr.contains(PAT), "a secret reached the log");
    let records: Vec<serde_json::Value> = stderr.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    // One line per request: ours (with the operationId) for the two that reached a handler, Dropshot's for the
    // oversize body its extractor refused; the same keys in both, and never a query string.
    let completed: Vec<&serde_json::Value> = records.iter().filter(|r| r["msg"] == "request completed").collect();
    assert_eq!(completed.len(), 3, "{stderr}");
    for record in &completed {
        assert!(
            record["req_id"].is_string()
                && record["latency_us"].is_number()
                && record["status"].is_number()
                && record["method"].is_string()
                && record["path"].as_str().is_some_and(|path| path.starts_with("/api/") && !path.contains('?')),
            "{record}"
        );
    }
    let operations: Vec<&str> = completed.iter().filter_map(|r| r["operation_id"].as_str()).collect();
    assert_eq!(operations, ["core_tokens_list", "netbird_tokens_list"], "{stderr}");
    assert_eq!(completed[2]["status"], 400, "{stderr}");
    assert!(!records.iter().any(|r| r["msg"] == "operation answered"), "{stderr}");
    assert!(!stderr.contains("query-value-not-logged"), "a query value reached the log");
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[test]
fn a_bad_config_file_stops_start_up_naming_key_and_file() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"bind = \"127.0.0.1:0\"\nstorr = \"memory\"\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(["--config", file.path().to_str().expect("utf-8")])
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("storr") && stderr.contains(file.path().to_str().expect("utf-8")), "{stderr}");
}

/// `tokenstack ARGS healthcheck` with `env`: its exit status and stderr.
fn healthcheck(args: &[String], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(args)
        .arg("healthcheck")
        .env_remove("TOKENSTACK_BIND")
        .envs(env.iter().copied())
        .output()
        .expect("binary runs");
    assert!(output.stdout.is_empty(), "the probe prints nothing on stdout");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn the_healthcheck_exits_0_while_the_server_is_ready_and_1_once_it_is_gone() {
    let (mut child, base) = spawn(&[]);
    let addr = base.trim_start_matches("http://").to_string();
    let port = addr.rsplit(':').next().expect("port").to_string();
    // The server's own settings, by variable or flag; an unspecified address is probed on loopback.
    assert_eq!(healthcheck(&[], &[("TOKENSTACK_BIND", &addr)]), (Some(0), String::new()));
    let anywhere = format!("0.0.0.0:{port}");
    assert_eq!(healthcheck(&["--bind".into(), anywhere.clone()], &[]), (Some(0), String::new()));
    child.kill().expect("kill");
    child.wait().expect("wait");
    let (status, stderr) = healthcheck(&[], &[("TOKENSTACK_BIND", &anywhere)]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.starts_with(&format!("tokenstack healthcheck: cannot connect to 127.0.0.1:{port}")), "{stderr}");
    // Port 0 names no server.
    let (status, stderr) = healthcheck(&["--bind".into(), "127.0.0.1:0".into()], &[]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.contains("cannot probe port 0"), "{stderr}");
}

/// Runs the binary with `args` and `env` (and RUST_BACKTRACE=1), expecting it to stop at start-up; returns its exit
/// status and stderr, which must carry no backtrace.
fn failed_start(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(args)
        .env_remove("TOKENSTACK_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::null())
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("stack backtrace") && !stderr.contains("Stack backtrace"), "{stderr}");
    (output.status.code(), stderr)
}

#[test]
fn a_busy_port_names_the_os_error_and_suggests_port_0() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let bind = taken.local_addr().expect("address").to_string();
    let (status, stderr) = failed_start(&["--bind", &bind], &[]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stderr.to_lowercase().contains("address already in use"), "{stderr}");
    assert!(stderr.contains(&bind) && stderr.contains("--bind 127.0.0.1:0"), "{stderr}");
}

#[test]
fn a_bad_device_throttle_names_its_source_and_exits_2() {
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0", "--device-throttle", "often"], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--device-throttle: \"often\" is not <requests>/<period>"), "{stderr}");
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0"], &[("TOKENSTACK_DEVICE_THROTTLE", "20/week")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("TOKENSTACK_DEVICE_THROTTLE: \"week\" is not a period (s, m, h or d)"), "{stderr}");
}

#[test]
fn a_bad_admin_token_names_its_source_and_exits_2_without_a_backtrace() {
    let short = "short";
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0"], &[("TOKENSTACK_ADMIN_TOKEN", short)]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("TOKENSTACK_ADMIN_TOKEN: must be at least 32 characters long"), "{stderr}");
    assert!(!stderr.contains("--admin-token"), "{stderr}");

    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0", "--admin-token", short], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--admin-token: must be at least 32 characters long"), "{stderr}");

    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"admin_token = \"short\"\n").expect("write");
    let path = file.path().to_str().expect("utf-8");
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0", "--config", path], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("admin_token in config file {path}: must be at least 32")), "{stderr}");

    // A bad config file is a configuration error too.
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(b"storr = \"memory\"\n").expect("write");
    let (status, stderr) = failed_start(&["--config", file.path().to_str().expect("utf-8")], &[]);
    assert_eq!(status, Some(2), "{stderr}");
}

#[test]
fn a_bad_value_from_a_variable_names_the_variable_and_exits_2() {
    let (status, stderr) = failed_start(&[], &[("TOKENSTACK_BIND", "garbage")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("invalid value 'garbage' for TOKENSTACK_BIND: invalid socket address syntax"), "{stderr}");
    assert!(!stderr.contains("--bind"), "{stderr}");
    let (status, stderr) = failed_start(&[], &[("TOKENSTACK_LOG_FORMAT", "yaml")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("invalid value 'yaml' for TOKENSTACK_LOG_FORMAT: expected one of json, text"), "{stderr}");

    // The same value as a flag stays clap's usage error, naming the flag.
    let (status, stderr) = failed_start(&["--bind=garbage"], &[("TOKENSTACK_BIND", "127.0.0.1:0")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("'--bind <BIND>'"), "{stderr}");

    // A store nobody can open is a bad setting too, named after its source.
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0"], &[("TOKENSTACK_STORE", "bogus")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains(r#"TOKENSTACK_STORE: unknown store "bogus""#), "{stderr}");
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0", "--store", "sqlite:"], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--store: sqlite: needs a file path"), "{stderr}");
}

#[test]
fn a_bad_seed_or_config_file_is_a_configuration_error_said_once() {
    let mut seed = tempfile::NamedTempFile::new().expect("temp file");
    seed.write_all(b"authentik:\n  users:\n    - {pk: 2, username: alice, emial: a@example.com}\n").expect("write");
    let (status, stderr) =
        failed_start(&["--bind", "127.0.0.1:0", "--seed", seed.path().to_str().expect("utf-8")], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert_eq!(stderr.matches("unknown field `emial`").count(), 1, "{stderr}");
    assert!(stderr.contains("at line 3 column"), "{stderr}");
    let (status, stderr) = failed_start(&["--config", "/nonexistent/tokenstack.toml"], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
}

#[test]
fn a_bad_blueprint_seed_exits_2_naming_the_entry_and_skip_unknown_loads_it() {
    let mut seed = tempfile::NamedTempFile::new().expect("temp file");
    let blueprint = "version: 1\nentries:\n- model: authentik_core.group\n  identifiers: {name: staff}\n- model: authentik_stages_dummy.dummystage\n  id: stage\n  identifiers: {name: s}\n";
    seed.write_all(blueprint.as_bytes()).expect("write");
    let path = seed.path().to_str().expect("utf-8");
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0", "--seed", path], &[]);
    assert_eq!(status, Some(2), "{stderr}");
    let message = format!(
        "seed file {path} is an invalid blueprint: blueprint entry 1 (model authentik_stages_dummy.dummystage, id stage, line 5): the model authentik_stages_dummy.dummystage is not served by tokenstack (pass --blueprint-skip-unknown to skip such entries)"
    );
    assert_eq!(stderr.matches(&message).count(), 1, "{stderr}");
    // TOKENSTACK_BLUEPRINT_SKIP_UNKNOWN: the entry is skipped with a warning naming it, and the server starts.
    let (child, _) = spawn_with(&["--seed", path], &[("TOKENSTACK_BLUEPRINT_SKIP_UNKNOWN", "true")]);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let output = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "skipped blueprint entry 1 (model authentik_stages_dummy.dummystage, id stage, line 5): model not served"
        ),
        "{stderr}"
    );
}

#[test]
fn a_secret_file_that_fails_names_its_variable_and_file_and_exits_2() {
    let mut short = tempfile::NamedTempFile::new().expect("temp file");
    short.write_all(b"short\n").expect("write");
    let path = short.path().to_str().expect("utf-8");
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0"], &[("TOKENSTACK_ADMIN_TOKEN_FILE", path)]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("TOKENSTACK_ADMIN_TOKEN_FILE ({path}): must be at least 32 characters")),
        "{stderr}"
    );
    assert!(!stderr.contains("short\n") && !stderr.contains("\"short\""), "the value stays out: {stderr}");

    let both =
        [("TOKENSTACK_ADMIN_TOKEN", "admin-token-0123456789abcdefghijklmnopq"), ("TOKENSTACK_ADMIN_TOKEN_FILE", path)];
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0"], &both);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("TOKENSTACK_ADMIN_TOKEN and TOKENSTACK_ADMIN_TOKEN_FILE are both set"), "{stderr}");

    let missing = [("TOKENSTACK_BOOTSTRAP_PAT_FILE", "/nonexistent/tokenstack/pat")];
    let (status, stderr) = failed_start(&["--bind", "127.0.0.1:0"], &missing);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("TOKENSTACK_BOOTSTRAP_PAT_FILE (/nonexistent/tokenstack/pat): cannot read it"), "{stderr}");
}

/// What a compose file written for authentik's image sets, with tokenstack's own secrets as Docker secrets.
#[tokio::test]
async fn authentiks_compose_variables_and_docker_secrets_configure_the_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin_token = "admin-token-from-a-docker-secret-0123456789";
    std::fs::write(dir.path().join("admin"), format!("{admin_token}\n")).expect("write");
    std::fs::write(dir.path().join("pat"), format!("{PAT}\n")).expect("write");
    // authentik's compose file runs its image with the command `server`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(["--bind", "127.0.0.1:0", "server"])
        .env_remove("TOKENSTACK_BOOTSTRAP_TOKEN")
        .env_remove("TOKENSTACK_BOOTSTRAP_PAT")
        .env_remove("TOKENSTACK_ADMIN_TOKEN")
        .env("AUTHENTIK_BOOTSTRAP_TOKEN", KEY)
        .env("AUTHENTIK_BOOTSTRAP_EMAIL", "ops@example.com")
        .env("AUTHENTIK_BOOTSTRAP_PASSWORD", "akadmin-password-from-compose")
        .env("TOKENSTACK_BOOTSTRAP_PAT_FILE", dir.path().join("pat"))
        .env("TOKENSTACK_ADMIN_TOKEN_FILE", dir.path().join("admin"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let lines: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .take(2)
        .map(|line| line.expect("a line"))
        .collect();
    let base = lines[0].rsplit(' ').next().expect("address").to_string();
    let client = reqwest::Client::new();
    let me = client.get(format!("{base}/api/v3/core/users/me/")).bearer_auth(KEY).send().await.expect("request");
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.expect("json");
    assert_eq!((&me["user"]["username"], &me["user"]["email"]), (&"akadmin".into(), &"ops@example.com".into()));
    let users = client.get(format!("{base}/api/users")).header("Authorization", format!("Token {PAT}")).send().await;
    assert_eq!(users.expect("request").status(), 200);
    let state = client.get(format!("{base}/_tokenstack/state")).bearer_auth(admin_token).send().await;
    let state: serde_json::Value = state.expect("request").error_for_status().expect("200").json().await.expect("json");
    // akadmin got the bootstrap password, stored as a salted hash only.
    let akadmin = &state["authentik"]["users"][0];
    assert_eq!(akadmin["username"], "akadmin");
    let hash: PasswordHash = serde_json::from_value(akadmin["password"].clone()).expect("a password hash");
    assert!(hash.verify("akadmin-password-from-compose") && !hash.verify("another"));
    assert!(!state.to_string().contains("akadmin-password-from-compose"));
    child.kill().expect("kill");
    child.wait().expect("wait");
    // Given credentials are never printed.
    let stdout = lines.join("\n");
    assert!(!stdout.contains(KEY) && !stdout.contains(PAT) && !stdout.contains(admin_token), "{stdout}");

    // Its `worker` service serves too (a replica, given a shared store).
    let (mut worker, base) = spawn(&["worker"]);
    let ready = reqwest::get(format!("{base}/readyz")).await.expect("request");
    assert_eq!(ready.status(), 200);
    worker.kill().expect("kill");
    worker.wait().expect("wait");
}

#[test]
fn a_durable_store_never_keeps_credentials_nobody_saw() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = format!("sqlite:{}", dir.path().join("new.db").display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let bind = taken.local_addr().expect("address").to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(["--bind", &bind, "--store", &store])
        .env_remove("TOKENSTACK_BOOTSTRAP_TOKEN")
        .env_remove("TOKENSTACK_BOOTSTRAP_PAT")
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("authentik bootstrap token (user akadmin): "), "{stdout}");
    assert!(stdout.contains("NetBird bootstrap PAT (user admin): nbp_"), "{stdout}");

    // The next start keeps them, and says so.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenstack"))
        .args(["--bind", "127.0.0.1:0", "--store", &store])
        .env_remove("TOKENSTACK_BOOTSTRAP_TOKEN")
        .env_remove("TOKENSTACK_BOOTSTRAP_PAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let lines: Vec<String> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .take(4)
        .map(|line| line.expect("a line"))
        .collect();
    child.kill().expect("kill");
    child.wait().expect("wait");
    let stdout = lines.join("\n");
    assert!(stdout.contains("authentik bootstrap token (user akadmin): kept from the store"), "{stdout}");
    assert!(stdout.contains("pass --bootstrap-token to replace it"), "{stdout}");
    assert!(stdout.contains("NetBird bootstrap PAT (user admin): kept from the store"), "{stdout}");
    assert!(stdout.contains("pass --bootstrap-pat to replace it"), "{stdout}");
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("self-signed cert");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).expect("write cert");
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key");

    let config = Config::load_from([
        "tokenstack",
        "--bind",
        "127.0.0.1:0",
        "--tls-cert",
        cert_path.to_str().expect("utf-8"),
        "--tls-key",
        key_path.to_str().expect("utf-8"),
        "--bootstrap-token",
        KEY,
    ])
    .expect("config");
    let running = tokenstack_server::start(&config).await.expect("server starts");
    let port = running.server.local_addr().port();
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).expect("root cert");
    let client = reqwest::Client::builder().add_root_certificate(root).build().expect("tls client");
    let response = client.get(format!("https://localhost:{port}/api/v3/core/tokens/")).bearer_auth(KEY).send().await;
    assert_eq!(response.expect("https request").status(), 200);
    // Plain HTTP is not served on a TLS port.
    assert!(reqwest::get(format!("http://localhost:{port}/healthz")).await.is_err());
    // The healthcheck speaks HTTPS when the same settings configure TLS (off the runtime: it blocks).
    let bind = format!("0.0.0.0:{port}");
    let tls = ["--tls-cert", cert_path.to_str().expect("utf-8"), "--tls-key", key_path.to_str().expect("utf-8")];
    let args: Vec<String> = ["--bind", bind.as_str()].iter().chain(&tls).map(|a| a.to_string()).collect();
    let (status, stderr) = tokio::task::spawn_blocking(move || healthcheck(&args, &[])).await.expect("probe");
    assert_eq!(status, Some(0), "{stderr}");
    running.shutdown(Duration::from_secs(5)).await.expect("clean shutdown");
}

/// The stand-in signing key pairs are made after the server listens (start-up does not wait for an RSA key); the
/// admin API and the provider's keys wait for them, and the start-up state that reset restores has them.
#[tokio::test]
async fn the_signing_key_pairs_made_after_start_up_are_in_the_state_at_once_and_after_reset() {
    let admin_token = "admin-token-for-the-key-pair-test-0123456789";
    let config =
        Config::load_from(["tokenstack", "--bind", "127.0.0.1:0", "--admin-token", admin_token, "--log-level", "warn"])
            .expect("config");
    let running = tokenstack_server::start(&config).await.expect("server starts");
    let base = format!("http://{}", running.server.local_addr());
    let client = reqwest::Client::new();
    let names = |state: serde_json::Value| -> Vec<String> {
        let pairs = state["authentik"]["key_pairs"].as_array().cloned().unwrap_or_default();
        let mut names: Vec<String> = pairs.iter().map(|p| p["name"].as_str().unwrap_or_default().to_string()).collect();
        names.sort();
        names
    };
    // Asked at once, before the keys could be made: the export waits for them.
    let state = client.get(format!("{base}/_tokenstack/state")).bearer_auth(admin_token).send().await.expect("export");
    let state: serde_json::Value = state.json().await.expect("json");
    let made = names(state);
    assert_eq!(made.len(), 2, "{made:?}");
    let reset = client.post(format!("{base}/_tokenstack/reset")).bearer_auth(admin_token).send().await.expect("reset");
    assert_eq!(reset.status(), 204);
    let state = client.get(format!("{base}/_tokenstack/state")).bearer_auth(admin_token).send().await.expect("export");
    assert_eq!(names(state.json().await.expect("json")), made);
    running.shutdown(Duration::from_secs(5)).await.expect("clean shutdown");
}

/// On tokio's paused clock: the sweep's 200 ms ticks and the 700 ms wait are virtual, so the test takes no
/// wall-clock time and cannot race a slow machine.
#[tokio::test(start_paused = true)]
async fn the_expiry_sweep_rotates_api_keys_and_deletes_other_expired_tokens() {
    let store: Arc<dyn Store> = tokenstack_server::store::open("memory").await.expect("memory store");
    let now = Utc::now();
    tokenstack_server::seed::bootstrap(&*store, now, Some(KEY.to_string()), None, "admin").await.expect("bootstrap");
    let owner = store.get::<AkUser>(Field::Username, "akadmin").await.expect("akadmin").pk;
    let token = |identifier: &str, intent: Intent, key: &str| CoreToken {
        pk: uuid::Uuid::new_v4(),
        identifier: identifier.to_string(),
        key: Secret::new(key),
        intent,
        user: owner,
        description: String::new(),
        expires: Some(now + TimeDelta::hours(1)),
        expiring: true,
        managed: None,
        key_viewers: vec![owner],
    };
    store.insert_core_token(token("api-token", Intent::Api, "api-key")).await.expect("insert");
    store.insert_core_token(token("app-password", Intent::AppPassword, "app-key")).await.expect("insert");

    // A clock two days ahead makes both tokens expired at the next tick.
    let log = slog::Logger::root(slog::Discard, slog::o!());
    let sweeper = tokenstack_server::expiry::spawn(
        store.clone(),
        move || Utc::now() + TimeDelta::days(2),
        Duration::from_millis(200),
        log,
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    sweeper.abort();

    let rotated = store.core_token("api-token").await.expect("api token kept");
    assert_ne!(rotated.key.expose(), "api-key");
    assert!(rotated.expires.expect("expires") > now + TimeDelta::days(2));
    assert!(matches!(store.core_token_by_key("api-key").await, Err(StoreError::NotFound)));
    assert!(matches!(store.core_token("app-password").await, Err(StoreError::NotFound)));
    // The non-expiring bootstrap token is untouched.
    assert_eq!(store.core_token_by_key(KEY).await.expect("bootstrap kept").identifier, "authentik-bootstrap-token");
}

/// A database that fails under the server (its `oauth_tokens` table dropped from outside): the request gets
/// authentik's 500 body, and the log has one `internal error` record with the request id, the operationId and
/// the database's own message as the cause.
#[tokio::test]
async fn a_store_failure_is_logged_with_its_cause_and_answered_in_the_upstream_shape() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("tokenstack.db");
    let store = format!("sqlite:{}", db.display());
    let (mut child, base) = spawn(&["--store", &store, "--log-format", "json", "--log-level", "info"]);
    let client = reqwest::Client::new();
    let list = format!("{base}/api/v3/oauth2/access_tokens/");
    assert_eq!(client.get(&list).bearer_auth(KEY).send().await.expect("request").status(), 200);

    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
    let pool = sqlx::SqlitePool::connect_with(options).await.expect("second connection");
    sqlx::query("DROP TABLE oauth_tokens").execute(&pool).await.expect("drop table");
    pool.close().await;

    let response = client.get(&list).bearer_auth(KEY).send().await.expect("request");
    assert_eq!(response.status(), 500);
    let body: serde_json::Value = response.json().await.expect("json error");
    assert_eq!(body, serde_json::json!({"detail": "A server error occurred."}));

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    child.wait().expect("child exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr).expect("stderr read");
    let records: Vec<serde_json::Value> = stderr.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let errors: Vec<&serde_json::Value> = records.iter().filter(|r| r["msg"] == "internal error").collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let record = errors[0];
    assert_eq!(record["operation_id"], "oauth2_access_tokens_list", "{record}");
    assert_eq!(record["status"], 500, "{record}");
    assert!(record["req_id"].is_string(), "{record}");
    let cause = record["cause"].as_str().unwrap_or_default();
    assert!(cause.starts_with("the database failed: ") && cause.contains("no such table: oauth_tokens"), "{record}");
    assert!(!stderr.contains(KEY), "a secret reached the log");
}

#[tokio::test]
async fn a_refused_grant_logs_why_and_answers_upstreams_description() {
    let mut seed = tempfile::NamedTempFile::new().expect("temp file");
    seed.write_all(
        b"authentik:\n  providers:\n    - {pk: 1, name: demo, client_id: demo-id, client_secret: demo-secret}\n",
    )
    .expect("write");
    let seed_path = seed.path().to_str().expect("utf-8");
    let (mut child, base) = spawn(&["--seed", seed_path, "--log-format", "json", "--log-level", "info"]);
    let client = reqwest::Client::new();
    let token = format!("{base}/application/o/token/");
    let refresh_value = "refresh-value-never-logged";
    let forms = [
        vec![("grant_type", "client_credentials"), ("client_id", "demo-id"), ("client_secret", "demo-secret")],
        vec![
            ("grant_type", "refresh_token"),
            ("client_id", "demo-id"),
            ("client_secret", "demo-secret"),
            ("refresh_token", refresh_value),
        ],
        vec![("grant_type", "refresh_token"), ("client_id", "demo-id"), ("client_secret", "wrong-secret")],
    ];
    for form in &forms {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = client.post(&token).header("content-type", "application/x-www-form-urlencoded").body(body);
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.expect("json error");
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    }

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    child.wait().expect("child exits");
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr).expect("stderr read");
    let records: Vec<serde_json::Value> = stderr.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let refused: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["msg"] == "grant refused")
        .map(|r| (r["error"].as_str().unwrap_or_default(), r["reason"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        refused,
        [
            ("invalid_grant", "provider demo has no application"),
            ("invalid_grant", "Refresh token does not exist"),
            ("invalid_client", "Invalid client secret (provider demo)"),
        ],
        "{stderr}"
    );
    for secret in [refresh_value, "demo-secret", "wrong-secret"] {
        assert!(!stderr.contains(secret), "{secret} reached the log");
    }
}

/// authentik's bootstrap blueprint sets `akadmin`'s email and password when it creates the user, and only then.
#[tokio::test]
async fn the_bootstrap_password_is_set_when_akadmin_is_created_only() {
    let store: Arc<dyn Store> = tokenstack_server::store::open("memory").await.expect("memory store");
    let first = AdminBootstrap { email: "ops@example.com".into(), password: Some(Secret::new("first-password")) };
    tokenstack_server::seed::bootstrap_with_admin(&*store, Utc::now(), None, None, Some("admin"), &first)
        .await
        .expect("bootstrap");
    let akadmin = store.get::<AkUser>(Field::Username, "akadmin").await.expect("akadmin");
    let hash = akadmin.password.clone().expect("a usable password");
    assert!(hash.verify("first-password") && !hash.verify("second-password"));

    let second = AdminBootstrap { email: "other@example.com".into(), password: Some(Secret::new("second-password")) };
    tokenstack_server::seed::bootstrap_with_admin(&*store, Utc::now(), None, None, Some("admin"), &second)
        .await
        .expect("bootstrap again");
    let again = store.get::<AkUser>(Field::Username, "akadmin").await.expect("akadmin");
    assert_eq!((again.email.as_str(), again.password.as_ref()), ("ops@example.com", Some(&hash)));

    // Without a bootstrap password, akadmin has no usable password, as in authentik.
    let store: Arc<dyn Store> = tokenstack_server::store::open("memory").await.expect("memory store");
    tokenstack_server::seed::bootstrap(&*store, Utc::now(), None, None, "admin").await.expect("bootstrap");
    assert_eq!(store.get::<AkUser>(Field::Username, "akadmin").await.expect("akadmin").password, None);
}
