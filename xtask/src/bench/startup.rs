//! The start-up rows of `cargo xtask bench` (issue 27): from spawn to a 200 from `/readyz`, for the release
//! binary on its defaults and for the pytest plugin's `Server.start` (what the `tokenstack_server` fixture runs
//! before a session's first test), beside the 600 s that authentik's official GitHub Action allows real authentik.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::harness::{Server, http, median};

/// Starts measured of each kind.
const RUNS: usize = 15;
/// How long authentik's GitHub Action (goauthentik/action-setup-authentik) waits for `/api/v3/root/config/`.
const ACTION_WAIT_S: u64 = 600;

/// The pytest plugin's start, timed in one Python process: `Server.start(binary)` then `stop()`, `RUNS` times.
const PYTHON: &str = r#"
import json, sys, time
from tokenstack import Server
times = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    server = Server.start(sys.argv[1])
    times.append((time.perf_counter() - started) * 1000)
    server.stop()
print(json.dumps(times))
"#;

/// The section's Markdown: a table of the two starts (fastest, median, slowest of `RUNS`).
pub(super) fn run(root: &Path, bin_dir: &Path) -> Result<String> {
    let binary = bin_dir.join("tokenstack");
    let mut spawned = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        spawned.push(binary_start(&binary)?);
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(PYTHON)
        .arg(&binary)
        .arg(RUNS.to_string())
        .env("PYTHONPATH", root.join("python"))
        .output()
        .context("python3")?;
    if !output.status.success() {
        bail!("timing Server.start failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let fixture: Vec<f64> = serde_json::from_slice(&output.stdout).context("Server.start timings")?;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "\nStart-up to ready, {RUNS} starts each on a fresh memory store: the release binary on its defaults \
         (spawn to a 200 from `/readyz`), and the pytest plugin's `Server.start` (what the `tokenstack_server` \
         fixture runs before a session's first test: fresh credentials, the binary on a free port, waiting for its \
         listening line and `/readyz`). authentik's GitHub Action waits up to {ACTION_WAIT_S} s for real authentik.\n"
    );
    let _ = writeln!(md, "| start | fastest ms | median ms | slowest ms | share of the Action's {ACTION_WAIT_S} s |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for (name, times) in [("`tokenstack` binary", spawned), ("pytest fixture (`Server.start`)", fixture)] {
        let (fastest, slowest) = times.iter().fold((f64::MAX, 0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        let median = median(times);
        let share = median / (ACTION_WAIT_S as f64 * 1000.0);
        let _ = writeln!(md, "| {name} | {fastest:.1} | {median:.1} | {slowest:.1} | 1/{:.0} |", 1.0 / share);
    }
    Ok(md)
}

/// One start of the binary: spawn to a 200 from `/readyz`, in milliseconds.
fn binary_start(binary: &Path) -> Result<f64> {
    let started = Instant::now();
    let server = Server::spawn_tokenstack("tokenstack-start-up", binary, &[], Value::Null)?;
    while started.elapsed() < Duration::from_secs(10) {
        if http(server.addr, "GET", "/readyz", "", None).is_ok_and(|(status, _)| status == 200) {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("tokenstack was not ready within 10 s")
}
