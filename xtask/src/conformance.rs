//! `cargo xtask conformance --base-url URL [--authentik-token KEY] [--netbird-pat PAT] [--netbird-user ID]`:
//! runs the contract suite (`tests/conformance`, through the generated client) against any server.
//!
//! The target goes to the test binary through `TOKENSTACK_CONFORMANCE_*` environment variables; the binary
//! prints each check with pass/fail and, for failures, expected and actual. Secrets are never printed here.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::report::FAILURE;

const USAGE: &str = "cargo xtask conformance --base-url URL [--authentik-token KEY] [--netbird-pat PAT] [--netbird-user ID (default admin)]";

pub fn run(root: &Path, options: &[&str]) -> anyhow::Result<u8> {
    let mut env: Vec<(&str, String)> = Vec::new();
    let mut rest = options.iter();
    while let Some(flag) = rest.next() {
        let name = match *flag {
            "--base-url" => "TOKENSTACK_CONFORMANCE_BASE_URL",
            "--authentik-token" => "TOKENSTACK_CONFORMANCE_AUTHENTIK_TOKEN",
            "--netbird-pat" => "TOKENSTACK_CONFORMANCE_NETBIRD_PAT",
            "--netbird-user" => "TOKENSTACK_CONFORMANCE_NETBIRD_USER",
            other => bail!("unknown option {other:?}\nusage: {USAGE}"),
        };
        let value = rest.next().with_context(|| format!("{flag} needs a value\nusage: {USAGE}"))?;
        env.push((name, (*value).to_string()));
    }
    if !env.iter().any(|(name, _)| *name == "TOKENSTACK_CONFORMANCE_BASE_URL") {
        bail!("--base-url is required\nusage: {USAGE}");
    }
    if !env.iter().any(|(name, _)| name.ends_with("AUTHENTIK_TOKEN") || name.ends_with("NETBIRD_PAT")) {
        bail!("give --authentik-token, --netbird-pat or both\nusage: {USAGE}");
    }
    let mut command = suite(root);
    for (name, value) in env {
        command.env(name, value);
    }
    let status = command.status().context("cannot run cargo test")?;
    Ok(if status.success() { 0 } else { FAILURE })
}

/// `cargo test` of the suite, against nothing yet.
fn suite(root: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.current_dir(root).args(["test", "--locked", "-q", "-p", "tokenstack-tests", "--test", "conformance"]);
    command
}

/// The suite against the server at `base_url`, with the authentik key and the NetBird PAT when there is one.
pub fn command(root: &Path, base_url: &str, authentik_token: &str, netbird_pat: Option<&str>) -> Command {
    let mut command = suite(root);
    command
        .env("TOKENSTACK_CONFORMANCE_BASE_URL", base_url)
        .env("TOKENSTACK_CONFORMANCE_AUTHENTIK_TOKEN", authentik_token);
    if let Some(pat) = netbird_pat {
        command.env("TOKENSTACK_CONFORMANCE_NETBIRD_PAT", pat);
    }
    command
}
