//! `cargo xtask ci`: everything CI checks, in the order that fails fastest.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// Runs the Rust tests (which include every drift check as a `#[test]`), `cargo xtask check` (with the
/// operation coverage the tests just recorded), clippy, and the official-client and schemathesis suite.
pub fn run(root: &Path) -> anyhow::Result<u8> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    step(root, "cargo test", Command::new(&cargo).args(["test", "--workspace", "--locked"]))?;
    let code = crate::check::run(root);
    if code != 0 {
        return Ok(code);
    }
    step(
        root,
        "cargo clippy",
        Command::new(&cargo).args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]),
    )?;
    let python_suite = root.join("tests/python/run.sh");
    if python_suite.exists() {
        step(root, "official clients and schemathesis", Command::new("bash").arg(python_suite))?;
    }
    println!("{:>12} every CI step passed", "Finished");
    Ok(0)
}

fn step(root: &Path, name: &str, command: &mut Command) -> anyhow::Result<()> {
    println!("{:>12} {name}", "Running");
    let status = command.current_dir(root).status().with_context(|| format!("cannot run {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
