//! The real `tokenstack` binary on each store: fill the store with `bench-populate` (through the store library,
//! or a seed file for the memory store), start `target/release/tokenstack` on its defaults against it (log
//! level `info`, log format `text`, stderr to /dev/null), and name the requests the scenarios send.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use tokenstack_pg_cluster::PgCluster;

use super::harness::{Server, http};

/// The bootstrap credentials every bench server starts with (given, so never printed).
pub(super) const KEY: &str = "bench-key-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS";
pub(super) const PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";

/// A store of one kind and size, filled and served by the real binary.
pub(super) struct Instance {
    pub(super) store: String,
    /// `read` (every scenario) or `write` (the memory store's second server, for the creates).
    pub(super) tag: String,
    pub(super) size: usize,
    pub(super) server: Server,
    /// Populate time (ms), the start-up (spawn to listening, ms) and the resident set after start-up.
    pub(super) load_ms: f64,
    pub(super) startup_ms: f64,
    pub(super) rss: u64,
    /// What the scenarios aim at.
    pub(super) identifier: String,
    pub(super) set_key_identifier: String,
    pub(super) username: String,
    pub(super) pat_id: String,
}

/// Fills `store` with `size` core tokens and PATs and starts the binary on it (`tag` names its files).
pub(super) fn start(
    root: &Path,
    store: &str,
    size: usize,
    tag: &str,
    pg: Option<&PgCluster>,
    seed_cache: &mut Vec<(usize, std::path::PathBuf, Value)>,
) -> Result<Instance> {
    let dir = root.join("target/bench");
    let release = root.join("target/release");
    // The one setting changed from the defaults: the creates add far more than the 10000 tokens per user that
    // `--max-tokens-per-user` allows by default (they would measure the quota's 400 instead).
    let mut args: Vec<String> =
        ["--bootstrap-token", KEY, "--bootstrap-pat", PAT, "--max-tokens-per-user", "0"].map(String::from).to_vec();
    let info = match store {
        "memory" => {
            // One seed file per size, shared by the servers of that size.
            if let Some((_, path, info)) = seed_cache.iter().find(|(n, _, _)| *n == size) {
                args.extend(["--seed".into(), path.display().to_string()]);
                info.clone()
            } else {
                let path = dir.join(format!("seed-{size}.json"));
                let info = populate(&release, "memory", size, Some(&path))?;
                args.extend(["--seed".into(), path.display().to_string()]);
                seed_cache.push((size, path, info.clone()));
                info
            }
        }
        "sqlite" => {
            let file = dir.join(format!("bench-{tag}-{size}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
            let url = format!("sqlite:{}", file.display());
            let info = populate(&release, &url, size, None)?;
            args.extend(["--store".into(), url]);
            info
        }
        "postgres" => {
            let pg = pg.context("PostgreSQL did not start")?;
            let url = pg.create_database(&format!("bench_{tag}_{size}"))?;
            let info = populate(&release, &url, size, None)?;
            args.extend(["--store".into(), url]);
            info
        }
        other => bail!("unknown store {other}"),
    };
    eprintln!("starting tokenstack ({store}, {size} core tokens and PATs)");
    let server = Server::spawn_tokenstack(&format!("{store}-{size}-{tag}"), &release.join("tokenstack"), &args, info)?;
    let startup_ms = server.ready_after.as_secs_f64() * 1000.0;
    let rss = server.rss_bytes();
    let text = |key: &str| server.info[key].as_str().unwrap_or_default().to_owned();
    let (status, pats) = http(server.addr, "GET", "/api/users/admin/tokens", &format!("Token {PAT}"), None)?;
    let pats: Value = serde_json::from_str(&pats).with_context(|| format!("PAT list ({status}): {pats}"))?;
    let pat_id = pats[0]["id"].as_str().context("no PAT id in the NetBird list")?.to_owned();
    Ok(Instance {
        store: store.to_owned(),
        tag: tag.to_owned(),
        size,
        load_ms: server.info["load_ms"].as_f64().unwrap_or(0.0),
        startup_ms,
        rss,
        identifier: text("identifier"),
        set_key_identifier: text("set_key_identifier"),
        username: text("username"),
        pat_id,
        server,
    })
}

/// Runs `bench-populate` and returns its `READY` document.
fn populate(release: &Path, url: &str, size: usize, seed_out: Option<&Path>) -> Result<Value> {
    eprintln!("populating {} with {size} core tokens and PATs", url.split('@').next_back().unwrap_or(url));
    let mut command = std::process::Command::new(release.join("bench-populate"));
    command.args(["--store", url, "--tokens", &size.to_string()]);
    if let Some(path) = seed_out {
        command.arg("--seed-out").arg(path);
    }
    let out = command.output().context("running bench-populate")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("READY "));
    match line {
        Some(json) if out.status.success() => Ok(serde_json::from_str(json)?),
        _ => bail!("bench-populate {url} failed: {stdout}{}", String::from_utf8_lossy(&out.stderr)),
    }
}
