//! `cargo xtask bench`: wrk against tokenstack at 1 k / 100 k / 1 M stored tokens and three baselines
//! (bare hyper, minimal Dropshot, Prism 5), interleaved, written to the generated block of `BENCHMARKS.md`.
//!
//! Servers run pinned to core 0 and wrk to core 1 (`taskset`), one wrk thread, 32 keep-alive connections.
//! Server CPU per request is `utime + stime` of `/proc/PID/stat` across a run divided by wrk's request count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

const START: &str = "<!-- cargo xtask bench: generated from here -->";
const END: &str = "<!-- cargo xtask bench: generated up to here -->";
const CONNECTIONS: u32 = 32;
const SERVER_CORE: &str = "0";
const LOAD_CORE: &str = "1";

mod harness;

use harness::*;

pub fn run(root: &Path, args: &[&str]) -> Result<u8> {
    let settings = Settings::parse(args)?;
    ensure_wrk()?;
    eprintln!("building the benchmark servers (release)");
    let ok = Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "-p", "tokenstack-bench"])
        .status()?
        .success();
    if !ok {
        bail!("cargo build --release -p tokenstack-bench failed");
    }
    let bin = |name: &str| root.join("target/release").join(name);
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("bench.lua");
    std::fs::write(&script, LUA)?;
    let tck = clock_ticks_per_second();

    // tokenstack at every size, started one after the other so start-up times do not overlap.
    let mut servers: Vec<Server> = Vec::new();
    for &n in &settings.sizes {
        eprintln!("starting tokenstack with {n} core tokens and {n} PATs");
        servers.push(Server::spawn(
            &format!("tokenstack-{n}"),
            &bin("bench-tokenstack"),
            &["--tokens", &n.to_string()],
        )?);
    }
    let first_addr = servers[0].addr;
    let key = servers[0].info["key"].as_str().context("key")?.to_owned();
    let identifier = servers[0].info["identifier"].as_str().context("identifier")?.to_owned();
    let (status, token_json) =
        http(first_addr, "GET", &format!("/api/v3/core/tokens/{identifier}/"), &format!("Bearer {key}"), None)?;
    if status != 200 {
        bail!("retrieve answered {status}: {token_json}");
    }
    let body_file = dir.join("token.json");
    std::fs::write(&body_file, &token_json)?;
    let body_arg = body_file.to_string_lossy().into_owned();
    let hyper_idx = servers.len();
    servers.push(Server::spawn("hyper", &bin("bench-hyper"), &["--body", &body_arg])?);
    let dropshot_idx = servers.len();
    servers.push(Server::spawn("dropshot", &bin("bench-dropshot"), &["--body", &body_arg])?);
    let (prism_idx, prism_note) = match prism_command(root).map_err(anyhow::Error::msg).and_then(|(node, cli)| {
        let version = command_line(&node.to_string_lossy(), &[&cli.to_string_lossy(), "--version"]);
        let node_version = command_line(&node.to_string_lossy(), &["--version"]);
        spawn_prism(root, &node, &cli).map(|s| (s, format!("Prism {version} on Node {node_version}")))
    }) {
        Ok((server, note)) => {
            servers.push(server);
            (Some(servers.len() - 1), note)
        }
        Err(err) => (None, format!("Prism unavailable: {err:#}")),
    };
    eprintln!("{prism_note}");

    // core_tokens_create grows its store, so it gets its own server per size and the others keep N rows.
    let mut create_idx = Vec::new();
    for &n in &settings.sizes {
        eprintln!("starting a second tokenstack with {n} tokens for core_tokens_create");
        servers.push(Server::spawn(
            &format!("tokenstack-{n}-create"),
            &bin("bench-tokenstack"),
            &["--tokens", &n.to_string()],
        )?);
        create_idx.push(servers.len() - 1);
    }

    // Targets, in the order they are interleaved within each repetition.
    let mut targets = vec![
        Target {
            scenario: "bare hyper".into(),
            size: 0,
            server: hyper_idx,
            method: "GET",
            path: format!("/api/v3/core/tokens/{identifier}/"),
            auth: String::new(),
        },
        Target {
            scenario: "minimal Dropshot".into(),
            size: 0,
            server: dropshot_idx,
            method: "GET",
            path: format!("/api/v3/core/tokens/{identifier}/"),
            auth: String::new(),
        },
    ];
    if let Some(idx) = prism_idx {
        targets.push(Target {
            scenario: "Prism 5".into(),
            size: 0,
            server: idx,
            method: "GET",
            path: format!("/core/tokens/{identifier}/"),
            auth: "Bearer prism".into(),
        });
    }
    for (idx, server) in servers.iter().enumerate().take(settings.sizes.len()) {
        let n = settings.sizes[idx];
        let info = &server.info;
        let bearer = format!("Bearer {}", info["key"].as_str().unwrap_or_default());
        let pat_auth = format!("Token {}", info["pat"].as_str().unwrap_or_default());
        let nb_user = info["nb_user"].as_str().unwrap_or("admin").to_owned();
        let (status, pats) = http(server.addr, "GET", &format!("/api/users/{nb_user}/tokens"), &pat_auth, None)?;
        let pats: Value = serde_json::from_str(&pats).with_context(|| format!("PAT list ({status})"))?;
        let pat_id = pats[0]["id"].as_str().context("no PAT id in the NetBird list")?.to_owned();
        let ident = info["identifier"].as_str().unwrap_or_default();
        let username = info["username"].as_str().unwrap_or_default();
        targets.push(Target {
            scenario: "core_tokens_retrieve".into(),
            size: n,
            server: idx,
            method: "GET",
            path: format!("/api/v3/core/tokens/{ident}/"),
            auth: bearer.clone(),
        });
        targets.push(Target {
            scenario: "core_tokens_list ?user__username".into(),
            size: n,
            server: idx,
            method: "GET",
            path: format!("/api/v3/core/tokens/?user__username={username}"),
            auth: bearer.clone(),
        });
        targets.push(Target {
            scenario: "core_tokens_create".into(),
            size: n,
            server: create_idx[idx],
            method: "POST",
            path: "/api/v3/core/tokens/".into(),
            auth: format!("Bearer {}", servers[create_idx[idx]].info["key"].as_str().unwrap_or_default()),
        });
        targets.push(Target {
            scenario: "NetBird PAT auth + retrieve".into(),
            size: n,
            server: idx,
            method: "GET",
            path: format!("/api/users/{nb_user}/tokens/{pat_id}"),
            auth: pat_auth,
        });
    }
    // Every target answers 2xx before the load starts.
    for t in &targets {
        let body = (t.method == "POST").then_some(r#"{"identifier":"bench-smoke","intent":"api"}"#);
        let (status, text) = http(servers[t.server].addr, t.method, &t.path, &t.auth, body)?;
        if !(200..300).contains(&status) {
            bail!("{} at {}: {} {} answered {status}: {text}", t.scenario, t.size, t.method, t.path);
        }
    }

    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut samples: BTreeMap<usize, Vec<Sample>> = BTreeMap::new();
    for rep in 0..settings.reps {
        for (i, t) in targets.iter().enumerate() {
            eprintln!("rep {}/{}: {} {} ({})", rep + 1, settings.reps, t.scenario, t.size, servers[t.server].name);
            let sample = wrk(&script, &servers[t.server], t, settings.duration, rep, tck)?;
            samples.entry(i).or_default().push(sample);
        }
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    let rss: Vec<(usize, f64, f64, f64, f64)> = servers
        .iter()
        .take(settings.sizes.len())
        .map(|s| {
            let f = |k: &str| s.info[k].as_f64().unwrap_or(0.0);
            let n = f("tokens").max(1.0);
            (
                s.info["tokens"].as_u64().unwrap_or(0) as usize,
                (f("rss_core") - f("rss_users")) / n,
                (f("rss_pats") - f("rss_core")) / n,
                f("startup_ms"),
                s.ready_after.as_secs_f64() * 1000.0,
            )
        })
        .collect();
    drop(servers);
    // Start-up and memory of core tokens alone, on an otherwise idle server core.
    let large = *settings.sizes.last().unwrap_or(&1000);
    eprintln!("start-up with {large} core tokens only");
    let alone = Server::spawn(
        "tokenstack-startup",
        &bin("bench-tokenstack"),
        &["--tokens", &large.to_string(), "--pats", "0"],
    )?;
    let alone_ready_ms = alone.ready_after.as_secs_f64() * 1000.0;
    let alone_core = (alone.info["rss_core"].as_f64().unwrap_or(0.0) - alone.info["rss_users"].as_f64().unwrap_or(0.0))
        / large.max(1) as f64;
    let alone_rss = alone.info["rss_core"].as_f64().unwrap_or(0.0);
    drop(alone);

    let build = if settings.build { Some(rebuild_time(root)) } else { None };

    let summary = |i: usize| -> Sample {
        let s = &samples[&i];
        Sample {
            rps: median(s.iter().map(|x| x.rps).collect()),
            p50_us: median(s.iter().map(|x| x.p50_us).collect()),
            p99_us: median(s.iter().map(|x| x.p99_us).collect()),
            cpu_us: median(s.iter().map(|x| x.cpu_us).collect()),
            errors: s.iter().map(|x| x.errors).sum(),
        }
    };
    let find = |scenario: &str, size: usize| {
        targets.iter().position(|t| t.scenario == scenario && t.size == size).map(summary)
    };
    let hyper = find("bare hyper", 0).context("hyper")?;
    let dropshot = find("minimal Dropshot", 0).context("dropshot")?;
    let prism = find("Prism 5", 0);

    let mut md = String::new();
    let _ = writeln!(md, "{START}\n");
    let _ = writeln!(md, "## Throughput, latency and CPU (generated by `cargo xtask bench`)\n");
    let _ = writeln!(
        md,
        "Rerun: `cargo xtask bench` (options: `--reps N`, `--duration S`, `--sizes 1000,100000,1000000`, `--no-build-time`, `--quick`).\n"
    );
    let _ = writeln!(
        md,
        "- Machine: {} × {}, Linux {}; load average before `{}`, after `{}` (other engineers' builds share these cores).",
        command_line("nproc", &[]),
        cpu_model(),
        command_line("uname", &["-r"]),
        load_before.trim(),
        load_after.trim()
    );
    let _ = writeln!(
        md,
        "- Versions: {}; {}; tokenstack {} (`git describe --always --dirty`); dropshot 0.18.0, hyper 1; {}.",
        command_line("rustc", &["-V"]),
        command_line("wrk", &["-v"]),
        command_line("git", &["describe", "--always", "--dirty"]),
        prism_note
    );
    let _ = writeln!(
        md,
        "- Load: `taskset -c {LOAD_CORE} wrk -t1 -c{CONNECTIONS} -d{}s` (keep-alive), servers `taskset -c {SERVER_CORE}` (one tokio worker); {} interleaved repetitions of every row; median (min–max) req/s, medians of p50/p99 and CPU.",
        settings.duration, settings.reps
    );
    let _ = writeln!(
        md,
        "- tokenstack: `target/release/bench-tokenstack --tokens N` (crate `tokenstack-bench`): memory store with N core tokens (100 per user) and N NetBird PATs, log level `warn`, authenticated as the superuser `akadmin`. Baselines serve the same {}-byte Token JSON.",
        token_json.len()
    );
    let _ = writeln!(
        md,
        "- Server CPU µs/request: `utime+stime` from `/proc/PID/stat` (clock tick {} ms) over the run ÷ requests. `core_tokens_create` runs against a second server per size (so the other scenarios keep exactly N rows) and grows that one by reps × duration × rate rows.\n",
        1000 / tck.max(1)
    );
    let _ = writeln!(
        md,
        "| scenario | stored tokens | req/s median (min–max) | p50 ms | p99 ms | server CPU µs/req | req/s ÷ hyper | req/s ÷ Dropshot | req/s ÷ Prism | CPU ÷ hyper | CPU ÷ Dropshot | errors |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, t) in targets.iter().enumerate() {
        let s = summary(i);
        let all = &samples[&i];
        let min = all.iter().map(|x| x.rps).fold(f64::INFINITY, f64::min);
        let max = all.iter().map(|x| x.rps).fold(0.0, f64::max);
        let size = if t.size == 0 { "—".to_owned() } else { t.size.to_string() };
        let prism_ratio = prism.map_or("—".into(), |p| format!("{:.1}×", s.rps / p.rps));
        let _ = writeln!(
            md,
            "| {} | {size} | {:.0} ({:.0}–{:.0}) | {:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {prism_ratio} | {:.2} | {:.2} | {} |",
            t.scenario,
            s.rps,
            min,
            max,
            s.p50_us / 1000.0,
            s.p99_us / 1000.0,
            s.cpu_us,
            s.rps / hyper.rps,
            s.rps / dropshot.rps,
            s.cpu_us / hyper.cpu_us,
            s.cpu_us / dropshot.cpu_us,
            s.errors
        );
    }
    let _ = writeln!(md, "\n## Memory and start-up (generated)\n");
    let _ = writeln!(
        md,
        "| stored tokens | resident bytes per core token | resident bytes per PAT | load + start (in process) ms | spawn to ready ms |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|");
    for (n, core, pat, startup, ready) in &rss {
        let _ = writeln!(md, "| {n} | {core:.0} | {pat:.0} | {startup:.0} | {ready:.0} |");
    }
    let _ = writeln!(
        md,
        "\nResident bytes per token: `VmRSS` delta across loading N rows ÷ N (includes the indexes). Core tokens are loaded with `Store::import` (as `--seed` does), PATs one `insert_pat` at a time, then `start_with_store` until listening.\n"
    );
    let _ = writeln!(
        md,
        "Start-up with {large} core tokens and no PATs (`bench-tokenstack --tokens {large} --pats 0`, spawn to `READY`): **{alone_ready_ms:.0} ms**, {alone_core:.0} resident bytes per core token, {:.0} MiB resident in all.\n",
        alone_rss / 1048576.0
    );

    let _ = writeln!(md, "## Build (generated)\n");
    let build_ok = match &build {
        Some(Ok((edit, revert))) => {
            let _ = writeln!(
                md,
                "One-line edit of `spec/overlays/authentik.yaml` (a schema description), then `cargo xtask spec` + `cargo build -p tokenstack-client -p tokenstack-server` (dev profile): **{edit:.1} s**; the same after reverting: {revert:.1} s.\n"
            );
            Some(*edit)
        }
        Some(Err(err)) => {
            let _ = writeln!(md, "Not measured: {err:#}\n");
            None
        }
        None => {
            let _ = writeln!(md, "Not measured in this run (`--no-build-time` or `--quick`).\n");
            None
        }
    };

    // Targets of issue 8.
    let _ = writeln!(md, "## Targets (generated)\n");
    let _ = writeln!(md, "| target | measured | verdict |\n|---|---|---|");
    let small = settings.sizes[0];
    let mut verdict = |name: &str, measured: String, met: Option<bool>| {
        let v = match met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let _ = writeln!(md, "| {name} | {measured} | {v} |");
    };
    if let Some(r) = find("core_tokens_retrieve", small) {
        let ratio = r.cpu_us / dropshot.cpu_us;
        verdict(
            "retrieve CPU/request ≤ 1.25× minimal Dropshot",
            format!("{:.1} µs vs {:.1} µs = {ratio:.2}×", r.cpu_us, dropshot.cpu_us),
            Some(ratio <= 1.25),
        );
        match prism {
            Some(p) => verdict(
                "retrieve req/s ≥ 20× Prism",
                format!("{:.0} vs {:.0} = {:.1}×", r.rps, p.rps, r.rps / p.rps),
                Some(r.rps / p.rps >= 20.0),
            ),
            None => verdict("retrieve req/s ≥ 20× Prism", prism_note.clone(), None),
        }
    }
    for scenario in ["core_tokens_retrieve", "NetBird PAT auth + retrieve"] {
        if let (Some(a), Some(b)) = (find(scenario, small), find(scenario, large)) {
            let ratio = b.rps / a.rps;
            verdict(
                &format!("{scenario}: req/s at {large} within 10 % of {small}"),
                format!("{:.0} vs {:.0} = {:.2}× (CPU {:.1} vs {:.1} µs)", b.rps, a.rps, ratio, b.cpu_us, a.cpu_us),
                Some(ratio >= 0.9),
            );
        }
    }
    if let Some(l) = find("core_tokens_list ?user__username", large) {
        verdict(
            &format!("filtered list first page p99 < 5 ms at {large}"),
            format!("{:.2} ms", l.p99_us / 1000.0),
            Some(l.p99_us < 5000.0),
        );
    }
    if let Some((n, core, pat, _, _)) = rss.last() {
        verdict(
            &format!("≤ 600 resident bytes per stored token at {n}"),
            format!("core token {core:.0} B (alone: {alone_core:.0} B); NetBird PAT {pat:.0} B"),
            Some(*core <= 600.0 && *pat <= 600.0),
        );
    }
    verdict(
        &format!("start-up with {large} tokens < 2 s"),
        format!("{alone_ready_ms:.0} ms (core tokens; see the table for PATs)"),
        Some(alone_ready_ms < 2000.0),
    );
    verdict(
        "incremental rebuild after an overlay edit < 30 s",
        build_ok.map_or("—".into(), |s| format!("{s:.1} s")),
        build_ok.map(|s| s < 30.0),
    );
    let _ = writeln!(md, "\n{END}");

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

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
