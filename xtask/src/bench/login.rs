//! The headless-login rows of `cargo xtask bench` (issue 27): whole logins as a suite scripts them, by the
//! `bench-login` driver, on the `tokenstack` binary (defaults, ES256 provider: the authorize redirect, the flow
//! executor's identification and password stages, the authorization flow, the code exchange) against
//! `oidc-provider-mock` from PyPI (its authorize form, then the code exchange), interleaved in one run. Servers
//! are pinned to core 0 and the driver to core 1; server CPU per login is `utime + stime` over the run. The
//! start-up rows ([`super::startup`]) follow.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::harness::{Server, Settings, cpu_ticks, http, median};
use super::stores::KEY;
use super::{LOAD_CORE, SERVER_CORE};

/// The pinned version of the anchor, from PyPI.
const MOCK: &str = "oidc-provider-mock==0.3.4";
const CLIENT: &str = "bench-login";
const SECRET: &str = "bench-login-secret";
const REDIRECT: &str = "http://127.0.0.1:1/callback";
const USER: &str = "akadmin";
const PASSWORD: &str = "bench-login-password";
/// Concurrent logins of the driver.
const CONNECTIONS: &str = "8";

pub(super) const HEADING: &str = "### Headless login against oidc-provider-mock, and start-up";

/// One measured run: logins per second and server CPU per login.
#[derive(Clone, Copy)]
struct Sample {
    per_second: f64,
    cpu_ms: f64,
    errors: u64,
}

/// Runs the section and returns its Markdown (a heading, the table, the verdicts).
pub(super) fn run(root: &Path, bin_dir: &Path, settings: &Settings, tck: u64) -> Result<String> {
    let python = anchor(root)?;
    let args = ["--bootstrap-token", KEY, "--bootstrap-password", PASSWORD].map(String::from);
    let tokenstack = Server::spawn_tokenstack("tokenstack-login", &bin_dir.join("tokenstack"), &args, Value::Null)?;
    provider(&tokenstack)?;
    let mock = spawn_mock(&python)?;
    let driver = bin_dir.join("bench-login");
    let flows = [("tokenstack", "authentik", &tokenstack), ("oidc-provider-mock", "oidc-provider-mock", &mock)];
    for (name, flow, server) in flows {
        let once = drive(&driver, flow, server, &["--once"])?;
        if !once.contains("id_token") {
            bail!("{name}: one login did not give an id token: {once}");
        }
    }
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); flows.len()];
    for rep in 0..settings.reps {
        for (i, (name, flow, server)) in flows.iter().enumerate() {
            eprintln!("rep {}/{}: headless login ({name})", rep + 1, settings.reps);
            let before = cpu_ticks(server.pid())?;
            let duration = settings.duration.to_string();
            let line = drive(&driver, flow, server, &["--seconds", &duration, "--connections", CONNECTIONS])?;
            let after = cpu_ticks(server.pid())?;
            let result: Value = serde_json::from_str(line.trim().strip_prefix("LOGINJSON ").context("LOGINJSON")?)?;
            let logins = result["logins"].as_f64().unwrap_or(0.0);
            let seconds = result["seconds"].as_f64().unwrap_or(f64::NAN);
            if logins == 0.0 {
                bail!("{name}: no login succeeded: {}", result["first_error"]);
            }
            let cpu_ms = (after - before) as f64 / tck as f64 * 1000.0 / logins;
            let errors = result["errors"].as_u64().unwrap_or(0);
            samples[i].push(Sample { per_second: logins / seconds, cpu_ms, errors });
        }
    }
    let version = Command::new(&python).args(["-m", "pip", "show", "oidc-provider-mock"]).output()?;
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Version: ").map(str::to_owned))
        .unwrap_or_else(|| "?".into());
    let mut md = render(&flows.map(|(name, ..)| name), &samples, &version, settings);
    drop((tokenstack, mock));
    md.push_str(&super::startup::run(root, bin_dir)?);
    Ok(md)
}

/// Installs the anchor into a virtualenv under `target/bench`: its Python.
fn anchor(root: &Path) -> Result<std::path::PathBuf> {
    let venv = root.join("target/bench/oidc-provider-mock");
    let python = venv.join("bin/python");
    if !venv.join("bin/oidc-provider-mock").exists() {
        eprintln!("installing {MOCK} into {}", venv.display());
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status()?.success();
        let installed = made && Command::new(&python).args(["-m", "pip", "install", "-q", MOCK]).status()?.success();
        if !installed {
            bail!("pip install {MOCK} failed");
        }
    }
    Ok(python)
}

/// The bench's provider on tokenstack, made as a setup script makes one: the implicit-consent flow, the
/// self-signed ES256-less default swapped for tokenstack's ES256 pair, the managed scope mappings, an application.
fn provider(server: &Server) -> Result<()> {
    let admin = format!("Bearer {KEY}");
    let get = |path: &str| -> Result<Value> {
        let (status, body) = http(server.addr, "GET", path, &admin, None)?;
        if status != 200 {
            bail!("GET {path} answered {status}: {body}");
        }
        Ok(serde_json::from_str(&body)?)
    };
    let flow = |slug: &str| -> Result<Value> { Ok(get(&format!("/api/v3/flows/instances/{slug}/"))?["pk"].clone()) };
    let pairs = get("/api/v3/crypto/certificatekeypairs/?has_key=true")?;
    let es256 = pairs["results"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["key_type"] == "ec"))
        .context("an ECDSA key pair")?["pk"]
        .clone();
    let mappings = get("/api/v3/propertymappings/provider/scope/?page_size=100")?;
    let managed: Vec<Value> = mappings["results"]
        .as_array()
        .context("mappings")?
        .iter()
        .filter(|m| {
            m["managed"].as_str().is_some_and(|id| ["openid", "email", "profile"].iter().any(|s| id.ends_with(s)))
        })
        .map(|m| m["pk"].clone())
        .collect();
    let body = json!({
        "name": CLIENT, "client_id": CLIENT, "client_secret": SECRET,
        "authorization_flow": flow("default-provider-authorization-implicit-consent")?,
        "invalidation_flow": flow("default-provider-invalidation-flow")?,
        "signing_key": es256, "property_mappings": managed, "grant_types": ["authorization_code"],
        "redirect_uris": [{"matching_mode": "strict", "url": REDIRECT}],
    });
    let (status, created) = http(server.addr, "POST", "/api/v3/providers/oauth2/", &admin, Some(&body.to_string()))?;
    if status != 201 {
        bail!("creating the provider answered {status}: {created}");
    }
    let pk = serde_json::from_str::<Value>(&created)?["pk"].clone();
    let app = json!({"name": CLIENT, "slug": CLIENT, "provider": pk}).to_string();
    let (status, body) = http(server.addr, "POST", "/api/v3/core/applications/", &admin, Some(&app))?;
    if status != 201 {
        bail!("creating the application answered {status}: {body}");
    }
    Ok(())
}

/// oidc-provider-mock on a free port, pinned to the server core, once its discovery answers.
fn spawn_mock(python: &Path) -> Result<Server> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let started = Instant::now();
    let child = Command::new("taskset")
        .args(["-c", SERVER_CORE])
        .arg(python.parent().context("bin")?.join("oidc-provider-mock"))
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let addr = format!("127.0.0.1:{port}").parse()?;
    let mut server =
        Server { name: "oidc-provider-mock".into(), child, addr, info: Value::Null, ready_after: Duration::ZERO };
    while started.elapsed() < Duration::from_secs(30) {
        if http(addr, "GET", "/.well-known/openid-configuration", "", None).is_ok_and(|(status, _)| status == 200) {
            server.ready_after = started.elapsed();
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("oidc-provider-mock did not answer within 30 s")
}

/// Runs the driver pinned to the load core: its stdout.
fn drive(driver: &Path, flow: &str, server: &Server, extra: &[&str]) -> Result<String> {
    let output = Command::new("taskset")
        .args(["-c", LOAD_CORE])
        .arg(driver)
        .args(["--flow", flow, "--base", &format!("http://{}", server.addr)])
        .args(["--client-id", CLIENT, "--client-secret", SECRET, "--redirect-uri", REDIRECT])
        .args(["--username", USER, "--password", PASSWORD])
        .args(extra)
        .output()
        .context("bench-login")?;
    if !output.status.success() {
        bail!("bench-login --flow {flow} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn render(names: &[&str], samples: &[Vec<Sample>], version: &str, settings: &Settings) -> String {
    let summary: Vec<(f64, f64, u64)> = samples
        .iter()
        .map(|s| {
            let per_second = median(s.iter().map(|x| x.per_second).collect());
            (per_second, median(s.iter().map(|x| x.cpu_ms).collect()), s.iter().map(|x| x.errors).sum())
        })
        .collect();
    let mut md = String::new();
    let _ = writeln!(md, "\n{HEADING}\n");
    let _ = writeln!(
        md,
        "Whole headless logins, each with a fresh cookie jar, {CONNECTIONS} at a time, by `bench-login` \
         (crates/bench) pinned to core {LOAD_CORE}, each server pinned to core {SERVER_CORE}. tokenstack (defaults, \
         memory store, ES256 provider with the implicit-consent flow): the authorize redirect, the executor's \
         identification and password stages, the authorization flow's redirect, the code exchange. \
         oidc-provider-mock {version} (PyPI, as shipped): its authorize form (`GET`, `POST` with `sub`), the code \
         exchange. Medians of {} interleaved runs of {} s.\n",
        settings.reps, settings.duration
    );
    let _ = writeln!(md, "| server | logins/s | server CPU ms/login | errors |\n|---|---|---|---|");
    for (name, (per_second, cpu_ms, errors)) in names.iter().zip(&summary) {
        let _ = writeln!(md, "| {name} | {per_second:.0} | {cpu_ms:.2} | {errors} |");
    }
    let (ours, theirs) = (summary[0], summary[1]);
    let ratio = ours.0 / theirs.0;
    let _ = writeln!(md, "\n| target | measured | verdict |\n|---|---|---|");
    let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
    let _ = writeln!(md, "| logins/s ≥ 10× oidc-provider-mock's | {ratio:.1}× | {} |", verdict(ratio >= 10.0));
    let _ = writeln!(md, "| server CPU per ES256 login ≤ 0.5 ms | {:.2} ms | {} |", ours.1, verdict(ours.1 <= 0.5));
    md
}
