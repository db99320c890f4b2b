//! `cargo xtask doctest`: every shell, Python and Rust example of README.md and docs/ runs as written, and the
//! outputs the documents show are checked.
//!
//! Each document runs as one bash script, in its own process group, from a sandbox `$TMPDIR/tokenstack-doctest/<doc>/` that
//! holds a symlink `tokenstack` to the checkout. Every shell block starts in the checkout (through that link, so
//! `..` is the sandbox and a reader's `../my-tests` is a sibling of the checkout), shell variables carry from block to
//! block as in a reader's terminal, and whatever a document leaves running is stopped when it ends. The fences:
//!
//! * ` ```sh ` (or ` ```console `) runs as written; `docker` is podman where podman is installed. A block whose lines start with `$ ` is a transcript: the lines after each command,
//!   up to the next `$ `, are that command's expected standard output. A block without `$ ` is a script; a plain
//!   ` ``` ` block right after it is its expected standard output.
//! * In expected output, a line `…` stands for any number of lines and `…` inside a line for any text.
//! * ` ```python `, ` ```rust `, ` ```toml `, ` ```yaml `, ` ```json ` marked `<!-- doctest: file=PATH -->` are written
//!   to PATH (relative to the checkout) at that point; a `Cargo.toml` gets the checkout's `Cargo.lock` beside it, so
//!   that the example builds with the versions tokenstack is tested with.
//! * ` ```python ` marked `<!-- doctest: python=INTERPRETER -->` is run by INTERPRETER.
//! * Any fence marked `<!-- doctest: same-as=PATH -->` shows lines of the test PATH, which CI runs: each of its
//!   lines must be a line of that file, in order.
//! * ` ```sh ` marked `<!-- doctest: background -->` is a server that runs until stopped: started in the
//!   background, then stopped once `http://127.0.0.1:9000/readyz` answers 200.
//! * ` ```sh ` marked `<!-- doctest: ci -->` is the command `.ci/run` ends with: checked to be that, not run again.
//!
//! A shell, Python or Rust block that none of these runs is an error, as is a JSON or YAML block that does not
//! parse. The checks run with the environment of CI's test build (`cargo xtask ci` passes it), so `cargo run` and
//! `cargo xtask` in the examples find the workspace built.

mod blocks;
mod containers;
mod matching;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use blocks::{Step, blocks, steps};
use containers::{containers, release_tags, restore_tags};
use matching::matches;

/// The port the documents' servers listen on; it must be free when a document starts.
const PORT: u16 = 9000;

/// `cargo xtask doctest`: every document, or the ones named.
pub fn run(root: &Path, names: &[&str], build_env: &[(&str, OsString)]) -> anyhow::Result<u8> {
    let documents = documents(root, names)?;
    let mut failed = 0;
    for document in &documents {
        let name = document.strip_prefix(root).unwrap_or(document).display().to_string();
        let started = Instant::now();
        match run_document(root, document, &name, build_env) {
            Ok(steps) => {
                println!("{:>12} {name}: {steps} examples ({:.1}s)", "Passed", started.elapsed().as_secs_f64())
            }
            Err(error) => {
                failed += 1;
                println!("{:>12} {name}: {error:#}", "FAILED");
            }
        }
    }
    if failed > 0 {
        println!("{failed} of {} documents failed", documents.len());
        return Ok(crate::report::FAILURE);
    }
    Ok(0)
}

/// README.md and every `docs/*.md`, or the named ones.
fn documents(root: &Path, names: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    if !names.is_empty() {
        return Ok(names.iter().map(|name| root.join(name)).collect());
    }
    let mut documents = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    documents.extend(docs);
    Ok(documents)
}

/// The bash script of `steps`: each starts in the checkout, writes its standard output to its own file and
/// records which step runs, for the message when one fails.
fn script(steps: &[Step]) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for (index, step) in steps.iter().enumerate() {
        let _ = writeln!(script, "echo {} > \"$DOCTEST_LOGS/current\"", step.line);
        if step.fresh {
            script.push_str("cd \"$DOCTEST_CHECKOUT\"\n");
        }
        let _ = write!(script, "{{\n{}}} > \"$DOCTEST_LOGS/{index}.out\" 2>> \"$DOCTEST_LOGS/stderr\"\n", step.script);
    }
    script
}

fn run_document(root: &Path, document: &Path, name: &str, build_env: &[(&str, OsString)]) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(document).with_context(|| format!("cannot read {}", document.display()))?;
    // Outside the checkout: an example crate beside it must not fall into tokenstack's workspace.
    let sandbox = std::env::temp_dir().join("tokenstack-doctest").join(name.replace('/', "-"));
    let steps = steps(root, &sandbox, &blocks(&text)?)?;
    if steps.is_empty() {
        return Ok(0);
    }
    if sandbox.exists() {
        std::fs::remove_dir_all(&sandbox).with_context(|| format!("cannot clear {}", sandbox.display()))?;
    }
    let logs = sandbox.join("logs");
    std::fs::create_dir_all(&logs)?;
    let checkout = sandbox.join("tokenstack");
    std::os::unix::fs::symlink(root, &checkout)?;
    let path = containers(&sandbox)?;
    let script_path = sandbox.join("doc.sh");
    std::fs::write(&script_path, script(&steps))?;
    port_free(Duration::ZERO).with_context(|| format!("port {PORT} is taken before {name} starts"))?;
    let before = checkout_status(root)?;

    let mut command = Command::new("bash");
    command.arg(&script_path).current_dir(&checkout).process_group(0);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TOKENSTACK_") {
            command.env_remove(key);
        }
    }
    // One target directory for the checkout and the example crates beside it, which then build only themselves:
    // the workspace's `[profile.dev]` debug setting (Cargo.toml) given to every workspace, so that an example
    // crate's dependencies are the units the checkout's build already made (README's crate: 9 units, not 400).
    command
        .envs(build_env.iter().map(|(name, value)| (name, value)))
        .env("CARGO_TARGET_DIR", crate::ci::target_dir(root))
        .env("CARGO_PROFILE_DEV_DEBUG", "line-tables-only")
        .env("CARGO_PROFILE_DEV_BUILD_OVERRIDE_DEBUG", "line-tables-only")
        .env("PATH", path)
        .env("CONTAINERS_CONF", sandbox.join("containers.conf"))
        .env("DOCTEST_CHECKOUT", &checkout)
        .env("DOCTEST_LOGS", &logs);
    let moved = release_tags()?;
    let mut child = command.spawn().context("cannot run bash")?;
    let status = child.wait()?;
    restore_tags(&moved);
    // Whatever the document left running (its servers) stops with it.
    let group = child.id().to_string();
    let kill = |signal: &str| {
        let group = format!("-{group}");
        let _ = Command::new("kill").args([signal, "--", &group]).stderr(std::process::Stdio::null()).status();
    };
    kill("-TERM");
    let freed = port_free(Duration::from_secs(15));
    kill("-KILL");
    if !status.success() {
        let line = std::fs::read_to_string(logs.join("current")).unwrap_or_default();
        let stderr = std::fs::read_to_string(logs.join("stderr")).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        bail!(
            "line {}: the example failed ({status}); its script is {}, its stderr ends:\n{}",
            line.trim(),
            script_path.display(),
            tail.join("\n")
        );
    }
    freed.with_context(|| format!("a server of {name} still holds port {PORT}"))?;
    let after = checkout_status(root)?;
    if after != before {
        bail!("the examples changed the checkout (git status before:\n{before}after:\n{after}): write files elsewhere");
    }
    for (index, step) in steps.iter().enumerate() {
        let Some(expected) = &step.expected else { continue };
        let actual = std::fs::read_to_string(logs.join(format!("{index}.out"))).unwrap_or_default();
        if !matches(expected, &actual) {
            bail!("line {}: the output differs\n--- shown\n{expected}--- printed\n{actual}---", step.line);
        }
    }
    Ok(steps.len())
}

/// `git status` of the checkout, untracked and ignored files included but for the build's output: examples
/// leave the reader's checkout as they found it.
fn checkout_status(root: &Path) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(["status", "--porcelain", "--ignored", "--untracked-files=all", "--", ".", ":!target", ":!.venv"])
        .current_dir(root)
        .output()
        .context("cannot run git status")?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Waits up to `wait` for the port to be free.
fn port_free(wait: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + wait;
    loop {
        if TcpListener::bind(("127.0.0.1", PORT)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("127.0.0.1:{PORT} is in use");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
