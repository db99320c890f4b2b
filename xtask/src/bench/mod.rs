//! `cargo xtask bench`: wrk against what ships — the release `tokenstack` binary on its defaults, on the memory
//! store, SQLite and a PostgreSQL the bench starts itself, at 1 k / 100 k / 1 M stored tokens — and three
//! baselines (bare hyper, minimal Dropshot, Prism 5), interleaved, written to the generated block of
//! `BENCHMARKS.md` with a verdict for every target.
//!
//! Servers run pinned to core 0 and wrk to core 1 (`taskset`), one wrk thread, 32 keep-alive connections.
//! Server CPU per request is `utime + stime` of `/proc/PID/stat` across a run divided by wrk's request count.
//! `harness.rs` holds the machinery (servers, wrk, Prism), `stores.rs` the real binary on each store, `report.rs` the
//! tables and verdicts; the PostgreSQL cluster is `tokenstack-pg-cluster`'s, in `target/bench/pg`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};
use tokenstack_pg_cluster::{PgCluster, Settings as PgSettings};

const START: &str = "<!-- cargo xtask bench: generated from here -->";
const END: &str = "<!-- cargo xtask bench: generated up to here -->";
const CONNECTIONS: u32 = 32;
const SERVER_CORE: &str = "0";
const LOAD_CORE: &str = "1";

mod harness;
mod login;
mod oauth2;
mod report;
mod startup;
mod stores;

use harness::*;

/// The scenarios run against every store and size, in the order they run within a repetition (reads first,
/// so that a repetition's reads see the rows its writes have not added yet).
pub(super) const RETRIEVE: &str = "core_tokens_retrieve";
pub(super) const PAT_AUTH: &str = "NetBird PAT auth + retrieve";
pub(super) const LIST: &str = "core_tokens_list ?user__username";
pub(super) const SET_KEY: &str = "core_tokens_set_key_create";
pub(super) const CREATE: &str = "core_tokens_create";
pub(super) const MIXED: &str = "mixed (6 retrieve : 2 list : 1 create : 1 set_key)";

pub fn run(root: &Path, args: &[&str]) -> Result<u8> {
    let settings = Settings::parse(args)?;
    if !settings.login_only {
        ensure_wrk()?;
    }
    eprintln!("building the benchmark servers and the tokenstack binary (release)");
    let ok = Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "-p", "tokenstack-bench", "-p", "tokenstack-server"])
        .status()?
        .success();
    if !ok {
        bail!("cargo build --release -p tokenstack-bench -p tokenstack-server failed");
    }
    let bin = |name: &str| root.join("target/release").join(name);
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("bench.lua");
    std::fs::write(&script, LUA)?;
    let tck = clock_ticks_per_second();
    let started = std::time::Instant::now();
    if settings.login_only {
        let md = login::run(root, &root.join("target/release"), &settings, tck)?;
        return write_login_rows(root, &md);
    }

    let pg = if settings.stores.iter().any(|s| s == "postgres") {
        eprintln!("starting PostgreSQL on loopback");
        // PostgreSQL's default durability (`fsync` and `synchronous_commit` on), as a deployment runs it.
        let settings = PgSettings { dir: Some(root.join("target/bench/pg")), durable: true, ..PgSettings::default() };
        let cluster = PgCluster::start_with(&settings);
        Some(cluster.map_err(|err| anyhow::anyhow!("{err} (or run with --stores memory,sqlite)"))?)
    } else {
        None
    };

    // The real binary on every store and size; memory gets a second server per size for the creates, which
    // grow it by reps × duration × rate rows (the durable stores take their creates on the same server, see
    // the notes of the table).
    let mut seeds = Vec::new();
    let mut instances: Vec<stores::Instance> = Vec::new();
    let mut create_on: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for store in &settings.stores {
        for &n in &settings.sizes {
            instances.push(stores::start(root, store, n, "read", pg.as_ref(), &mut seeds)?);
            let read = instances.len() - 1;
            let writes = if store == "memory" {
                instances.push(stores::start(root, store, n, "write", pg.as_ref(), &mut seeds)?);
                instances.len() - 1
            } else {
                read
            };
            create_on.insert((store.clone(), n), writes);
        }
    }
    for (_, path, _) in &seeds {
        let _ = std::fs::remove_file(path);
    }
    let first = &instances[0];
    let (status, token_json) = http(
        first.server.addr,
        "GET",
        &format!("/api/v3/core/tokens/{}/", first.identifier),
        &format!("Bearer {}", stores::KEY),
        None,
    )?;
    if status != 200 {
        bail!("retrieve answered {status}: {token_json}");
    }
    let body_file = dir.join("token.json");
    std::fs::write(&body_file, &token_json)?;
    let body_arg = body_file.to_string_lossy().into_owned();
    let mut baselines: Vec<Server> = Vec::new();
    baselines.push(Server::spawn("hyper", &bin("bench-hyper"), &["--body", &body_arg])?);
    baselines.push(Server::spawn("dropshot", &bin("bench-dropshot"), &["--body", &body_arg])?);
    let prism_note = match prism_command(root).map_err(anyhow::Error::msg).and_then(|(node, cli)| {
        let version = command_line(&node.to_string_lossy(), &[&cli.to_string_lossy(), "--version"]);
        let node_version = command_line(&node.to_string_lossy(), &["--version"]);
        spawn_prism(root, &node, &cli).map(|s| (s, format!("Prism {version} on Node {node_version}")))
    }) {
        Ok((server, note)) => {
            baselines.push(server);
            note
        }
        Err(err) => format!("Prism unavailable: {err:#}"),
    };
    eprintln!("{prism_note}");

    // Targets, in the order they are interleaved within each repetition; `server` indexes baselines then instances.
    let identifier = &first.identifier;
    let mut targets = vec![
        Target {
            scenario: "bare hyper".into(),
            size: 0,
            server: 0,
            method: "GET",
            path: format!("/api/v3/core/tokens/{identifier}/"),
            auth: String::new(),
            env: Vec::new(),
        },
        Target {
            scenario: "minimal Dropshot".into(),
            size: 0,
            server: 1,
            method: "GET",
            path: format!("/api/v3/core/tokens/{identifier}/"),
            auth: String::new(),
            env: Vec::new(),
        },
    ];
    if baselines.len() > 2 {
        targets.push(Target {
            scenario: "Prism 5".into(),
            size: 0,
            server: 2,
            method: "GET",
            path: format!("/core/tokens/{identifier}/"),
            auth: "Bearer prism".into(),
            env: Vec::new(),
        });
    }
    let mut store_of: Vec<String> = vec![String::new(); targets.len()];
    let bearer = format!("Bearer {}", stores::KEY);
    let base = baselines.len();
    for (idx, inst) in instances.iter().enumerate() {
        if inst.tag != "read" {
            continue;
        }
        let writes = create_on[&(inst.store.clone(), inst.size)];
        let retrieve = format!("/api/v3/core/tokens/{}/", inst.identifier);
        let list = format!("/api/v3/core/tokens/?user__username={}", inst.username);
        let set_key = format!("/api/v3/core/tokens/{}/set_key/", inst.set_key_identifier);
        let rows = [
            (RETRIEVE, idx, "GET", retrieve.clone(), bearer.clone()),
            (
                PAT_AUTH,
                idx,
                "GET",
                format!("/api/users/admin/tokens/{}", inst.pat_id),
                format!("Token {}", stores::PAT),
            ),
            (LIST, idx, "GET", list.clone(), bearer.clone()),
            (SET_KEY, idx, "SETKEY", set_key.clone(), bearer.clone()),
            (CREATE, writes, "POST", "/api/v3/core/tokens/".to_string(), bearer.clone()),
        ];
        // The set_key token is bench-<i> (bench-populate's numbering); the 63 after it are bench tokens too.
        let set_key_index = inst.set_key_identifier.trim_start_matches("bench-").trim_start_matches('0');
        let set_key_base =
            ("BENCH_SET_KEY_BASE", if set_key_index.is_empty() { "0".into() } else { set_key_index.into() });
        for (scenario, server, method, path, auth) in rows {
            let env = if method == "SETKEY" { vec![set_key_base.clone()] } else { Vec::new() };
            targets.push(Target {
                scenario: scenario.into(),
                size: inst.size,
                server: base + server,
                method,
                path,
                auth,
                env,
            });
            store_of.push(inst.store.clone());
        }
        if inst.size == *settings.sizes.last().unwrap_or(&0) {
            targets.push(Target {
                scenario: MIXED.into(),
                size: inst.size,
                server: base + idx,
                method: "MIXED",
                path: retrieve,
                auth: bearer.clone(),
                env: vec![
                    ("BENCH_LIST_PATH", list),
                    ("BENCH_SET_KEY_PATH", set_key),
                    ("BENCH_CREATE_PATH", "/api/v3/core/tokens/".into()),
                    set_key_base.clone(),
                ],
            });
            store_of.push(inst.store.clone());
        }
    }
    let server_of = |i: usize| -> &Server { if i < base { &baselines[i] } else { &instances[i - base].server } };
    // Every target answers 2xx before the load starts.
    for t in &targets {
        let body = match t.method {
            "POST" => Some(r#"{"identifier":"bench-smoke","intent":"api"}"#),
            "SETKEY" => Some(r#"{"key":"bench-smoke-key"}"#),
            _ => None,
        };
        let method = if t.method == "GET" || t.method == "MIXED" { "GET" } else { "POST" };
        let (status, text) = http(server_of(t.server).addr, method, &t.path, &t.auth, body)?;
        // A create smoke may meet its own identifier again (a durable store keeps it): that 400 is fine too.
        let ok = (200..300).contains(&status) || (t.method == "POST" && status == 400 && text.contains("bench-smoke"));
        if !ok {
            bail!("{} at {}: {} {} answered {status}: {text}", t.scenario, t.size, t.method, t.path);
        }
    }

    let setup_minutes = started.elapsed().as_secs_f64() / 60.0;
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..settings.reps {
        for (i, t) in targets.iter().enumerate() {
            let server = server_of(t.server);
            eprintln!("rep {}/{}: {} {} ({})", rep + 1, settings.reps, t.scenario, t.size, server.name);
            let sample = wrk(&script, server, t, settings.duration, rep, tck)?;
            samples.entry(i).or_default().push(sample);
        }
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let resources: Vec<report::Resources> = instances
        .iter()
        .filter(|inst| inst.tag == "read")
        .map(|inst| report::Resources {
            store: inst.store.clone(),
            size: inst.size,
            load_ms: inst.load_ms,
            startup_ms: inst.startup_ms,
            rss: inst.rss,
        })
        .collect();
    drop(instances);
    drop(baselines);
    drop(pg);

    // Memory per core token and start-up of the memory store itself, loaded in process (issue 8's figures).
    let mut in_process = Vec::new();
    for &n in &settings.sizes {
        eprintln!("in-process memory store with {n} core tokens and PATs");
        let s = Server::spawn(&format!("tokenstack-{n}"), &bin("bench-tokenstack"), &["--tokens", &n.to_string()])?;
        in_process.push(report::InProcess::from_info(n, &s.info, s.ready_after));
    }
    let large = *settings.sizes.last().unwrap_or(&1000);
    let alone = Server::spawn(
        "tokenstack-startup",
        &bin("bench-tokenstack"),
        &["--tokens", &large.to_string(), "--pats", "0"],
    )?;
    let alone = report::InProcess::from_info(large, &alone.info, alone.ready_after);

    let build = if settings.build { Some(rebuild_time(root)) } else { None };

    let context = report::Context {
        settings: &settings,
        targets: &targets,
        store_of: &store_of,
        samples: &samples,
        resources: &resources,
        in_process: &in_process,
        alone: &alone,
        build: build.as_ref(),
        token_bytes: token_json.len(),
        prism_note: &prism_note,
        tck,
        machine: format!(
            "{} × {}, Linux {}; load average before `{}`, after `{}` (other engineers' builds share these cores)",
            command_line("nproc", &[]),
            cpu_model(),
            command_line("uname", &["-r"]),
            load_before.trim(),
            load_after.trim()
        ),
        versions: format!(
            "{}; {}; tokenstack {} (`git describe --always --dirty`); dropshot 0.18.0, hyper 1; {}; {}",
            command_line("rustc", &["-V"]),
            command_line("wrk", &["-v"]),
            command_line("git", &["describe", "--always", "--dirty"]),
            prism_note,
            pg_version(),
        ),
        minutes: started.elapsed().as_secs_f64() / 60.0,
        setup_minutes,
    };
    let mut md = report::render(&context);
    // The OAuth2 provider rows (issue 15), against their own anchor, in the same run.
    let oauth2 = oauth2::run(root, &bin("tokenstack"), &script, &settings, tck)
        .unwrap_or_else(|err| format!("\n### OAuth2 provider against oauth2-mock-server\n\nnot measured: {err:#}\n"));
    md = md.replace(END, &format!("{oauth2}\n{END}"));
    // The headless logins (issue 27), against their own anchor, in the same run.
    let login = login::run(root, &root.join("target/release"), &settings, tck)
        .unwrap_or_else(|err| format!("\n{}\n\nnot measured: {err:#}\n", login::HEADING));
    md = md.replace(END, &format!("{login}\n{END}"));

    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = match (existing.find(START), existing.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{}{}", &existing[..a], md.trim_end(), &existing[b + END.len()..]),
        _ if existing.is_empty() => format!("# Benchmarks\n\n{md}"),
        _ => format!("{}\n\n{md}", existing.trim_end()),
    };
    std::fs::write(&path, updated)?;
    print!("{md}");
    eprintln!("wrote {}", path.display());
    Ok(0)
}

/// `--login-only`: the login rows replace their part of the generated block (or join its end).
fn write_login_rows(root: &Path, md: &str) -> Result<u8> {
    let path = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path)?;
    let Some(end) = existing.find(END) else { bail!("BENCHMARKS.md has no generated block") };
    let updated = match existing.find(login::HEADING) {
        Some(start) if start < end => {
            let after = &existing[start + login::HEADING.len()..end];
            let stop =
                after.find("\n### ").or_else(|| after.find("\n## ")).map_or(end, |i| start + login::HEADING.len() + i);
            format!(
                "{}{}\n{}",
                existing[..start].trim_end_matches('\n').to_owned() + "\n",
                md.trim(),
                &existing[stop..]
            )
        }
        _ => format!("{}{}\n{}", &existing[..end], md.trim_start(), &existing[end..]),
    };
    std::fs::write(&path, updated)?;
    print!("{md}");
    Ok(0)
}

fn pg_version() -> String {
    let v = command_line("pg_config", &["--version"]);
    if v == "unavailable" || v.is_empty() { "PostgreSQL (version unknown)".into() } else { v }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
