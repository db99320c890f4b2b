//! tokenstack-bench: the servers `cargo xtask bench` loads with wrk (not part of the product).
//!
//! * `bench-hyper`: bare hyper 1.x answering every request with the same Token JSON bytes (the physical limit);
//! * `bench-dropshot`: one Dropshot 0.18 endpoint serializing a Token from a `HashMap` (the framework's floor);
//! * `bench-tokenstack`: tokenstack on a memory store bulk-loaded with N core tokens and N PATs.
//!
//! Every binary prints one `READY {json}` line on stdout once it serves, then runs until killed.

use std::net::SocketAddr;

/// Reads `--name value` from the command line.
pub fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

/// `--bind`, default `127.0.0.1:0`.
pub fn bind() -> anyhow::Result<SocketAddr> {
    Ok(arg("--bind").unwrap_or_else(|| "127.0.0.1:0".into()).parse()?)
}

/// The resident set size of this process in bytes (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Prints the `READY` line the driver waits for.
pub fn ready(info: &serde_json::Value) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // The driver reads this line through a pipe; a failed write means it is gone.
    let _ = writeln!(out, "READY {info}");
    let _ = out.flush();
}
