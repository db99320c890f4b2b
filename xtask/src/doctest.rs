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
//! * ` ```sh ` marked `<!-- doctest: background -->` is a server that runs until stopped: started in the
//!   background, then stopped once `http://127.0.0.1:9000/readyz` answers 200.
//! * ` ```sh ` marked `<!-- doctest: ci -->` is the command `.ci/run` ends with: checked to be that, not run again.
//!
//! A shell, Python or Rust block that none of these runs is an error, as is a JSON or YAML block that does not
//! parse. The checks run with the environment of CI's test build (`cargo xtask ci` passes it), so `cargo run` and
//! `cargo xtask` in the examples find the workspace built.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The port the documents' servers listen on; it must be free when a document starts.
const PORT: u16 = 9000;
/// The heredoc terminator of written files; a block may not contain it.
const EOF: &str = "DOCTEST_EOF";

/// What a fenced block is, with the line of its opening fence.
#[derive(Debug)]
struct Block {
    line: usize,
    info: String,
    mark: Option<String>,
    text: String,
}

/// One thing the script does, and the output it must print.
#[derive(Debug)]
struct Step {
    line: usize,
    /// The first step of its block, which starts in the checkout.
    fresh: bool,
    script: String,
    expected: Option<String>,
}

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

/// The fenced blocks of `text`, each with the `<!-- doctest: … -->` mark on the line before its fence.
fn blocks(text: &str) -> anyhow::Result<Vec<Block>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((index, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            previous = line;
            continue;
        };
        let mark = previous
            .trim()
            .strip_prefix("<!-- doctest:")
            .and_then(|rest| rest.strip_suffix("-->"))
            .map(|mark| mark.trim().to_string());
        let mut body = String::new();
        let mut closed = false;
        for (_, line) in lines.by_ref() {
            if line.trim_end() == "```" {
                closed = true;
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        if !closed {
            bail!("line {}: the fence is never closed", index + 1);
        }
        blocks.push(Block { line: index + 1, info: info.trim().to_string(), mark, text: body });
        previous = "```";
    }
    Ok(blocks)
}

/// `path`, relative to the checkout, as an absolute path in the sandbox, `..` taken lexically as a reader's shell
/// takes it: the checkout is a symlink there, whose `..` the kernel would take to the real checkout's parent.
fn in_sandbox(sandbox: &Path, path: &str) -> String {
    let mut resolved = sandbox.join("tokenstack");
    for component in Path::new(path).components() {
        match component {
            std::path::Component::ParentDir => {
                resolved.pop();
            }
            std::path::Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    format!("'{}'", resolved.display())
}

/// The script's steps for a document's blocks.
fn steps(root: &Path, sandbox: &Path, blocks: &[Block]) -> anyhow::Result<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    let at = |block: &Block| format!("line {}", block.line);
    let mut previous_ran_a_script = false;
    for block in blocks {
        let mark = block.mark.as_deref().unwrap_or_default();
        let language = block.info.as_str();
        if block.text.contains(EOF) {
            bail!("{}: a block may not contain {EOF}", at(block));
        }
        let ran_a_script = previous_ran_a_script;
        previous_ran_a_script = false;
        if let Some(path) = mark.strip_prefix("file=") {
            let path = in_sandbox(sandbox, path);
            let mut script = format!("mkdir -p \"$(dirname {path})\"\ncat > {path} <<'{EOF}'\n{}{EOF}\n", block.text);
            if path.ends_with("Cargo.toml") {
                let _ = writeln!(script, "cp -n Cargo.lock \"$(dirname {path})/Cargo.lock\"");
            }
            steps.push(Step { line: block.line, fresh: true, script, expected: None });
            continue;
        }
        match (language, mark) {
            ("sh" | "console", "ci") => check_ci(root, &block.text).with_context(|| at(block))?,
            ("sh" | "console", "background") => {
                // Its own process group (job control), so that stopping it stops cargo and the server cargo ran.
                let readyz = format!("http://127.0.0.1:{PORT}/readyz");
                let script = format!(
                    "set -m\n{{\n{}}} > \"$DOCTEST_LOGS/{}.log\" 2>&1 &\nDOCTEST_PID=$!\nset +m\n\
                     curl -sf -o /dev/null --retry 600 --retry-all-errors --retry-delay 1 {readyz}\n\
                     kill -TERM -- -$DOCTEST_PID\nwait $DOCTEST_PID || true\n\
                     while curl -s -o /dev/null {readyz}; do sleep 0.1; done\n",
                    block.text, block.line
                );
                steps.push(Step { line: block.line, fresh: true, script, expected: None });
            }
            ("sh" | "console", "") if block.text.lines().any(|line| line.starts_with("$ ")) => {
                steps.extend(transcript(block).with_context(|| at(block))?);
            }
            ("sh" | "console", "") => {
                steps.push(Step { line: block.line, fresh: true, script: block.text.clone(), expected: None });
                previous_ran_a_script = true;
            }
            ("python", mark) if mark.starts_with("python=") => {
                let interpreter = in_sandbox(sandbox, &mark["python=".len()..]);
                let script = format!("{interpreter} - <<'{EOF}'\n{}{EOF}\n", block.text);
                steps.push(Step { line: block.line, fresh: true, script, expected: None });
                previous_ran_a_script = true;
            }
            ("", "") if ran_a_script => {
                let step = steps.last_mut().expect("a script step before");
                step.expected = Some(block.text.clone());
            }
            ("json", "") => {
                serde_json::from_str::<serde_json::Value>(&block.text)
                    .with_context(|| format!("{}: JSON", at(block)))?;
            }
            ("yaml", "") => {
                serde_yaml::from_str::<serde_yaml::Value>(&block.text)
                    .with_context(|| format!("{}: YAML", at(block)))?;
            }
            ("toml" | "", "") => {}
            (language, mark) => {
                bail!(
                    "{}: a {language:?} block marked {mark:?} is not run: mark it (see cargo xtask doctest)",
                    at(block)
                )
            }
        }
    }
    Ok(steps)
}

/// Whether a command goes on to the next line: a trailing `\`, or a single quote left open.
fn continues(command: &str) -> bool {
    command.ends_with('\\') || command.matches('\'').count() % 2 == 1
}

/// A transcript's commands (with their continuation lines) and the output after each.
fn transcript(block: &Block) -> anyhow::Result<Vec<Step>> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continued = false;
    for (offset, line) in block.text.lines().enumerate() {
        if continued {
            let step = steps.last_mut().expect("a command before");
            step.script.push_str(line);
            step.script.push('\n');
            continued = continues(step.script.trim_end_matches('\n'));
        } else if let Some(command) = line.strip_prefix("$ ") {
            let (line, fresh) = (block.line + 1 + offset, steps.is_empty());
            steps.push(Step { line, fresh, script: format!("{command}\n"), expected: None });
            continued = continues(command);
        } else if let Some(step) = steps.last_mut() {
            let expected = step.expected.get_or_insert_default();
            expected.push_str(line);
            expected.push('\n');
        } else {
            bail!("output before the first command");
        }
    }
    Ok(steps)
}

/// `.ci/run` ends with exactly this command.
fn check_ci(root: &Path, text: &str) -> anyhow::Result<()> {
    let run = std::fs::read_to_string(root.join(".ci/run")).context("cannot read .ci/run")?;
    let last = run.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
    if last.trim() != text.trim() {
        bail!("the block says CI runs {:?}, but .ci/run ends with {last:?}", text.trim());
    }
    Ok(())
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
    // One target directory for the checkout and the example crates beside it, which then build only themselves.
    command
        .envs(build_env.iter().map(|(name, value)| (name, value)))
        .env("CARGO_TARGET_DIR", crate::ci::target_dir(root))
        .env("PATH", path)
        .env("CONTAINERS_CONF", sandbox.join("containers.conf"))
        .env("DOCTEST_CHECKOUT", &checkout)
        .env("DOCTEST_LOGS", &logs);
    let mut child = command.spawn().context("cannot run bash")?;
    let status = child.wait()?;
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

/// `PATH` for the examples: with podman installed, a `docker` in front that runs podman (as Debian's podman-docker
/// does; no Docker engine runs where CI does), and `CONTAINERS_CONF` (set by the caller) giving every container the
/// limits this sandbox accepts and runc.
fn containers(sandbox: &Path) -> anyhow::Result<OsString> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let has_podman = std::env::split_paths(&path).any(|dir| dir.join("podman").is_file());
    if !has_podman {
        return Ok(path);
    }
    let bin = sandbox.join("bin");
    std::fs::create_dir_all(&bin)?;
    let shim = bin.join("docker");
    std::fs::write(&shim, "#!/bin/sh\nexec podman \"$@\"\n")?;
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    std::fs::write(sandbox.join("containers.conf"), CONTAINERS_CONF)?;
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    Ok(std::env::join_paths(dirs)?)
}

/// podman's settings for the examples' containers: the limits this sandbox accepts (it refuses podman's default
/// high rlimits), and runc.
const CONTAINERS_CONF: &str =
    "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n[engine]\nruntime = \"runc\"\n";

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

/// Whether `actual` is what `expected` shows: line by line, trailing spaces aside, a line `…` standing for any
/// number of lines and `…` inside a line for any text.
fn matches(expected: &str, actual: &str) -> bool {
    let expected: Vec<&str> = expected.lines().map(str::trim_end).collect();
    let actual: Vec<&str> = actual.lines().map(str::trim_end).collect();
    lines_match(&expected, &actual)
}

fn lines_match(expected: &[&str], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((&"…", rest)) => (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..])),
        Some((line, rest)) => {
            actual.split_first().is_some_and(|(first, others)| line_matches(line, first) && lines_match(rest, others))
        }
    }
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let mut parts = expected.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = actual.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stand_for_lines_and_text() {
        assert!(matches("a\n…\nd\n", "a\nb\nc\nd\n"));
        assert!(matches("a\n…\nd\n", "a\nd\n"));
        assert!(matches("took …s\n", "took 0.13s\n"));
        assert!(matches("x … y … z\n", "x 1 y 2 z\n"));
        assert!(!matches("a\nb\n", "a\nc\n"));
        assert!(!matches("took …s\n", "took 0.13ms!\n"));
        assert!(!matches("a\n", "a\nb\n"));
    }

    #[test]
    fn transcripts_pair_commands_with_their_output() {
        let text = "text\n<!-- doctest: x -->\n```sh\n$ echo a \\\n  b\na b\n$ echo '1\n2'\n1\n2\n$ true\n```\n";
        let blocks = blocks(text).unwrap();
        assert_eq!(blocks[0].mark.as_deref(), Some("x"));
        let steps = transcript(&blocks[0]).unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].script, "echo a \\\n  b\n");
        assert_eq!(steps[0].expected.as_deref(), Some("a b\n"));
        assert_eq!(steps[1].script, "echo '1\n2'\n", "an open quote continues the command");
        assert_eq!(steps[1].expected.as_deref(), Some("1\n2\n"));
        assert_eq!(steps[2].expected, None, "no output shown, none checked");
        assert!(steps[0].fresh && !steps[1].fresh, "a transcript keeps its directory");
    }

    #[test]
    fn paths_beside_the_checkout_stay_in_the_sandbox() {
        assert_eq!(in_sandbox(Path::new("/s"), "../my-tests/Cargo.toml"), "'/s/my-tests/Cargo.toml'");
        assert_eq!(in_sandbox(Path::new("/s"), "./examples/x.py"), "'/s/tokenstack/examples/x.py'");
    }

    #[test]
    fn an_unmarked_python_block_is_refused() {
        let blocks = blocks("```python\nprint(1)\n```\n").unwrap();
        let error = steps(Path::new("."), Path::new("/sandbox"), &blocks).unwrap_err().to_string();
        assert!(error.contains("line 1") && error.contains("is not run"), "{error}");
    }
}
