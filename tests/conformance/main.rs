//! Contract suite against any server: `cargo xtask conformance --base-url URL --authentik-token KEY --netbird-pat PAT`.
//!
//! Reads the target from `TOKENSTACK_CONFORMANCE_BASE_URL`, `_AUTHENTIK_TOKEN`, `_NETBIRD_PAT` and
//! `_NETBIRD_USER` (default `admin`). Without a base URL it starts tokenstack in-process (the example seed) and
//! checks that, so `cargo test` always runs the suite against tokenstack itself. Prints one line per check and
//! exits non-zero when any fails.

mod checks;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use tokenstack_server::config::Config;

const ADMIN_KEY: &str = "conformance-bootstrap-key-0123456789abcdefghijklmnopqrstuvwxyz";
const ADMIN_PAT: &str = "nbp_7mVGH0cRRsTILrfedNbmiNkhEX0WF71GUrpM";

fn env(name: &str) -> Option<String> {
    std::env::var(format!("TOKENSTACK_CONFORMANCE_{name}")).ok().filter(|v| !v.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    // `cargo test` passes harness flags such as `--list`; nothing to list but the suite itself.
    if std::env::args().any(|arg| arg == "--list") {
        println!("conformance: test");
        return ExitCode::SUCCESS;
    }
    let mut _running = None;
    let target = match env("BASE_URL") {
        Some(base_url) => checks::Target {
            base_url: base_url.trim_end_matches('/').to_string(),
            authentik_token: env("AUTHENTIK_TOKEN"),
            netbird_pat: env("NETBIRD_PAT"),
            netbird_user: env("NETBIRD_USER").unwrap_or_else(|| "admin".to_string()),
        },
        None => {
            let mut config = Config::parse_from([
                "tokenstack",
                "--bind",
                "127.0.0.1:0",
                "--log-level",
                "warn",
                "--validate-responses",
            ]);
            config.seed = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/seed.yaml"));
            config.bootstrap_token = Some(ADMIN_KEY.into());
            config.bootstrap_pat = Some(ADMIN_PAT.into());
            let running = tokenstack_server::start(&config).await.expect("tokenstack starts");
            let base_url = format!("http://{}", running.server.local_addr());
            _running = Some(running);
            checks::Target {
                base_url,
                authentik_token: Some(ADMIN_KEY.to_string()),
                netbird_pat: Some(ADMIN_PAT.to_string()),
                netbird_user: "admin".to_string(),
            }
        }
    };
    if target.authentik_token.is_none() && target.netbird_pat.is_none() {
        eprintln!("conformance: give an authentik token, a NetBird PAT, or both");
        return ExitCode::from(2);
    }
    println!("conformance against {}", target.base_url);
    let report = checks::run(&target).await;
    print!("{}", report.render());
    if report.failures() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
