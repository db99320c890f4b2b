//! `cargo xtask ci`: everything CI checks, in the order that fails fastest, compiling the workspace once.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// `CLIPPY_ARGS` as `cargo clippy -- -D warnings` hands them to clippy-driver.
const CLIPPY_ARGS: &str = "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__";

/// Checks formatting, then runs the Rust tests (which include every drift check as a `#[test]`) with clippy as the compiler of the
/// workspace's own crates, `cargo xtask check` (with the operation coverage the tests just recorded),
/// the official-client and schemathesis suite against the binary those tests built, the browser test (a relying
/// party and Debian's chromium logging in through the flow pages, `tests/browser/run.sh`), and the wheel test
/// (`cargo xtask wheel`: that binary in a wheel, a fresh virtualenv, `examples/pytest`), and the image test
/// (`cargo xtask image --dev --test`: that binary in the container image, loaded and run by podman, healthy by its
/// own healthcheck, the conformance suite against it).
///
/// One compile serves all three: clippy-driver is rustc plus lints, so running it as
/// `RUSTC_WORKSPACE_WRAPPER` (what `cargo clippy` does, in check mode) inside the test build lints every
/// workspace target that `cargo clippy --all-targets` would, while the dependencies are built once by plain
/// rustc and shared with `cargo build` and `cargo run -p xtask` (the one feature set of
/// `crates/workspace-hack`).
pub fn run(root: &Path) -> anyhow::Result<u8> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    step(root, "cargo fmt --check", Command::new(&cargo).args(["fmt", "--all", "--check"]))?;
    // The test build's environment; the wheel and documentation steps build with it too, so cargo finds that
    // build fresh.
    let build_env = build_env()?;
    step(
        root,
        "cargo test (clippy -D warnings on every workspace target)",
        Command::new(&cargo).args(["test", "--workspace", "--locked"]).envs(build_env.clone()),
    )?;
    let code = crate::check::run(root, true);
    if code != 0 {
        return Ok(code);
    }
    let python_suite = root.join("tests/python/run.sh");
    if python_suite.exists() {
        let binary = target_dir(root).join("debug/tokenstack");
        step(
            root,
            "official clients and schemathesis",
            Command::new("bash").arg(python_suite).env("TOKENSTACK_BIN", binary),
        )?;
    }
    let browser_test = root.join("tests/browser/run.sh");
    if browser_test.exists() {
        let binary = target_dir(root).join("debug/tokenstack");
        step(
            root,
            "a relying party in a real browser (openid-client, playwright-core, chromium)",
            Command::new("bash").arg(browser_test).env("TOKENSTACK_BIN", binary),
        )?;
    }
    println!("{:>12} the tokenstack wheel (dev profile) in a fresh virtualenv, examples/pytest", "Running");
    crate::wheel::ci(root, &build_env)?;
    println!("{:>12} the container image (debug binary) in podman: its healthcheck, the conformance suite", "Running");
    crate::image::ci(root, &build_env)?;
    println!("{:>12} the examples of README.md and docs/, as written", "Running");
    let code = crate::doctest::run(root, &[], &build_env)?;
    if code != 0 {
        return Ok(code);
    }
    println!("{:>12} every CI step passed", "Finished");
    Ok(0)
}

/// The environment of CI's test build: clippy-driver as the compiler of the workspace's own crates.
pub fn build_env() -> anyhow::Result<[(&'static str, std::ffi::OsString); 2]> {
    Ok([("RUSTC_WORKSPACE_WRAPPER", clippy_driver()?.into_os_string()), ("CLIPPY_ARGS", CLIPPY_ARGS.into())])
}

/// clippy-driver of the toolchain that runs this build: beside `cargo-clippy` in the rustup toolchain, or
/// on `PATH`.
fn clippy_driver() -> anyhow::Result<PathBuf> {
    if let Ok(output) = Command::new("rustup").args(["which", "clippy-driver"]).output()
        && output.status.success()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if path.is_file() {
            return Ok(path);
        }
    }
    let found = Command::new("clippy-driver").arg("--version").output();
    match found {
        Ok(output) if output.status.success() => Ok(PathBuf::from("clippy-driver")),
        _ => bail!("clippy-driver not found: install clippy (`rustup component add clippy`)"),
    }
}

/// The target directory, as cargo resolves it (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn step(root: &Path, name: &str, command: &mut Command) -> anyhow::Result<()> {
    println!("{:>12} {name}", "Running");
    let status = command.current_dir(root).status().with_context(|| format!("cannot run {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
