//! `cargo xtask wheel [--dev] [--test]`: the `tokenstack` Python wheel (maturin, `bindings = "bin"`), and its test:
//! a fresh virtualenv, `tokenstack --help` without cargo on `PATH`, and the example project `examples/pytest`.
//!
//! maturin comes from PyPI into a virtualenv of its own under the target directory; everything is shelled
//! out, so xtask gains no dependency.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::ci::target_dir;

/// The maturin that builds the wheel (`python/pyproject.toml` asks for `>=1.16,<2`).
const MATURIN: &str = "maturin==1.16.0";

/// What goes into the wheel besides the tracked files of `python/tokenstack/`: the binary and maturin's metadata.
const WHEEL_EXTRAS: &[&str] = &["tokenstack-VERSION.data/scripts/tokenstack"];

/// `cargo xtask wheel [--dev] [--test]`: a release wheel in `target/wheels/` (`--dev`: the debug build that
/// `cargo test` makes, in seconds); `--test` then installs it into a fresh virtualenv and runs `examples/pytest`.
pub fn run(root: &Path, options: &[&str]) -> anyhow::Result<u8> {
    let mut dev = false;
    let mut test = false;
    for option in options {
        match *option {
            "--dev" => dev = true,
            "--test" => test = true,
            other => bail!("unknown option {other:?} (cargo xtask wheel [--dev] [--test])"),
        }
    }
    let out = target_dir(root).join("wheels");
    let wheel = build(root, &out, dev, &[])?;
    if test {
        test_wheel(root, &wheel)?;
    }
    Ok(0)
}

/// The CI step: a dev wheel from the binary that `cargo test` just built (`build_env` is that build's
/// environment, so cargo finds every unit fresh and compiles nothing), then its test.
pub fn ci(root: &Path, build_env: &[(&str, OsString)]) -> anyhow::Result<()> {
    let out = target_dir(root).join("wheel-test/dist");
    let wheel = build(root, &out, true, build_env)?;
    test_wheel(root, &wheel)
}

/// Builds the wheel into `out` (its older tokenstack wheels removed first) and checks what it holds.
fn build(root: &Path, out: &Path, dev: bool, build_env: &[(&str, OsString)]) -> anyhow::Result<PathBuf> {
    check_clean(root)?;
    let maturin = maturin(root)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for entry in std::fs::read_dir(out)? {
        let path = entry?.path();
        if is_tokenstack_wheel(&path) {
            std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let mut command = Command::new(maturin);
    command.args(["build", "--locked", "--out"]).arg(out).current_dir(root.join("python"));
    if dev {
        command.args(["--profile", "dev"]);
    } else {
        command.args(["--release", "--strip"]);
    }
    command.envs(build_env.iter().map(|(name, value)| (name, value)));
    let profile = if dev { "dev" } else { "release" };
    timed(&format!("maturin build ({profile})"), &mut command)?;

    let wheels: Vec<PathBuf> = std::fs::read_dir(out)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| is_tokenstack_wheel(p))
        .collect();
    let [wheel] = wheels.as_slice() else {
        bail!("expected one tokenstack wheel in {}, found {wheels:?}", out.display())
    };
    check_contents(root, wheel)?;
    let size = std::fs::metadata(wheel)?.len();
    println!("{:>12} {} ({:.1} MB)", "Built", wheel.display(), size as f64 / 1e6);
    Ok(wheel.clone())
}

/// The wheel is built from tracked files only: `python/` holds nothing git does not track (no stray
/// `__pycache__`, build output or editor files that maturin would pack).
fn check_clean(root: &Path) -> anyhow::Result<()> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--ignored", "--untracked-files=all", "--", "python"])
        .current_dir(root)
        .output()
        .context("cannot run git status")?;
    if !output.status.success() {
        bail!("git status failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let untracked: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with("??") || line.starts_with("!!"))
        .map(|line| line[3..].to_string())
        .collect();
    if !untracked.is_empty() {
        bail!("python/ holds files git does not track, which the wheel would carry: {}", untracked.join(", "));
    }
    Ok(())
}

/// The wheel holds exactly the tracked files of `python/tokenstack/`, the binary and maturin's metadata.
fn check_contents(root: &Path, wheel: &Path) -> anyhow::Result<()> {
    let tracked =
        Command::new("git").args(["ls-files", "--", "tokenstack"]).current_dir(root.join("python")).output()?;
    let version = wheel_version(wheel)?;
    let mut expected: Vec<String> = String::from_utf8_lossy(&tracked.stdout).lines().map(str::to_string).collect();
    expected.extend(WHEEL_EXTRAS.iter().map(|extra| extra.replace("VERSION", &version)));
    expected.sort();
    let listing = Command::new(python())
        .args(["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))"])
        .arg(wheel)
        .output()
        .context("cannot list the wheel with python3")?;
    let dist_info = format!("tokenstack-{version}.dist-info/");
    let mut actual: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|name| !name.starts_with(&dist_info))
        .map(str::to_string)
        .collect();
    actual.sort();
    if actual != expected {
        bail!(
            "{} holds {actual:?}, expected the tracked python/tokenstack files and the binary: {expected:?}",
            wheel.display()
        );
    }
    Ok(())
}

/// Installs the wheel into a fresh virtualenv, runs `tokenstack --help` with no cargo on `PATH`, then the
/// example project with the official clients at the versions of `tests/python/requirements.txt`.
fn test_wheel(root: &Path, wheel: &Path) -> anyhow::Result<()> {
    let venv = target_dir(root).join("wheel-test/venv");
    if venv.exists() {
        std::fs::remove_dir_all(&venv).with_context(|| format!("cannot remove {}", venv.display()))?;
    }
    // An empty venv (not even pip, which costs seconds to install); maturin's pip installs into it.
    timed(
        "python3 -m venv --without-pip (fresh)",
        Command::new(python()).args(["-m", "venv", "--without-pip"]).arg(&venv),
    )?;
    let bin = venv.join("bin");
    timed(
        "pip install the wheel, examples/pytest/requirements.txt",
        Command::new(maturin_venv(root).join("bin/python"))
            .args(["-m", "pip", "--python"])
            .arg(bin.join("python"))
            // Bytecode is not compiled at install time: it saves half the install, and importing the
            // clients costs the same either way (pydantic builds authentik's models at import).
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-compile"])
            .arg(wheel)
            .arg("-r")
            .arg(root.join("examples/pytest/requirements.txt"))
            .arg("-c")
            .arg(root.join("tests/python/requirements.txt")),
    )?;

    // What a user who has only Python and the wheel sees: no cargo, no Rust environment, no TOKENSTACK_*.
    let path = path_without_cargo(&bin)?;
    let isolate = |command: &mut Command| {
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("CARGO") || name.starts_with("RUSTUP") || name.starts_with("TOKENSTACK_") {
                command.env_remove(&*name);
            }
        }
        command.env("PATH", &path).env("PYTHONDONTWRITEBYTECODE", "1");
    };
    let mut probe = Command::new("sh");
    probe.args(["-c", "command -v cargo"]);
    isolate(&mut probe);
    if probe.output().context("cannot run sh")?.status.success() {
        bail!("cargo is still on the PATH of the wheel test");
    }
    let mut help = Command::new("tokenstack");
    help.arg("--help");
    isolate(&mut help);
    let output = help.output().context("cannot run the installed tokenstack (not on the venv's PATH?)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !stdout.contains("Usage: tokenstack") {
        bail!(
            "tokenstack --help from the wheel failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    println!("{:>12} tokenstack --help from the wheel, no cargo on PATH", "Passed");

    let mut pytest = Command::new(bin.join("python"));
    pytest.args(["-m", "pytest"]).current_dir(root.join("examples/pytest"));
    isolate(&mut pytest);
    timed("examples/pytest with the installed wheel", &mut pytest)
}

/// `PATH` with the venv's `bin` first and every directory that holds a `cargo` left out.
fn path_without_cargo(venv_bin: &Path) -> anyhow::Result<OsString> {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(venv_bin.to_path_buf())
        .chain(std::env::split_paths(&current).filter(|dir| !dir.join("cargo").exists()));
    Ok(std::env::join_paths(dirs)?)
}

/// maturin in `<target>/maturin-venv` (whose pip also installs into the test venv), installed from PyPI at [`MATURIN`] when missing or another version.
fn maturin(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = maturin_venv(root);
    let maturin = venv.join("bin/maturin");
    let wanted = MATURIN.trim_start_matches("maturin==");
    let installed = Command::new(&maturin).arg("--version").output().ok().filter(|output| output.status.success());
    if installed.is_some_and(|output| String::from_utf8_lossy(&output.stdout).trim() == format!("maturin {wanted}")) {
        return Ok(maturin);
    }
    if !venv.join("bin/python").exists() {
        timed("python3 -m venv (maturin)", Command::new(python()).args(["-m", "venv"]).arg(&venv))?;
    }
    timed(
        &format!("pip install {MATURIN}"),
        Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MATURIN,
        ]),
    )?;
    Ok(maturin)
}

fn maturin_venv(root: &Path) -> PathBuf {
    target_dir(root).join("maturin-venv")
}

pub(crate) fn python() -> OsString {
    std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into())
}

fn is_tokenstack_wheel(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("tokenstack-") && name.ends_with(".whl"))
}

/// The version in a wheel's file name, `tokenstack-0.1.0-py3-none-….whl`.
fn wheel_version(wheel: &Path) -> anyhow::Result<String> {
    let name = wheel.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    name.split('-').nth(1).map(str::to_string).with_context(|| format!("no version in the wheel name {name}"))
}

/// Runs `command`, failing with `name` unless it succeeds, and prints how long it took.
pub(crate) fn timed(name: &str, command: &mut Command) -> anyhow::Result<()> {
    println!("{:>12} {name}", "Running");
    let start = Instant::now();
    let status = command.status().with_context(|| format!("cannot run {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    println!("{:>12} {name} in {:.1}s", "Finished", start.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_wheel_name() {
        let wheel = Path::new("target/wheels/tokenstack-0.1.0-py3-none-manylinux_2_34_x86_64.whl");
        assert_eq!(wheel_version(wheel).unwrap(), "0.1.0");
        assert!(is_tokenstack_wheel(wheel));
        assert!(!is_tokenstack_wheel(Path::new("target/wheels/other-0.1.0-py3-none-any.whl")));
    }

    #[test]
    fn path_without_cargo_puts_the_venv_first() {
        let path = path_without_cargo(Path::new("/tmp/venv/bin")).unwrap();
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        assert_eq!(dirs[0], Path::new("/tmp/venv/bin"));
        assert!(dirs.iter().all(|dir| !dir.join("cargo").exists()), "{dirs:?}");
    }
}
