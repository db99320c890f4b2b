//! The documents' fenced blocks, and the steps of a document's script made from them (`cargo xtask doctest`).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};

use super::PORT;

/// What a fenced block is, with the line of its opening fence.
#[derive(Debug)]
pub(super) struct Block {
    pub(super) line: usize,
    pub(super) info: String,
    pub(super) mark: Option<String>,
    pub(super) text: String,
}

/// One thing the script does, and the output it must print.
#[derive(Debug)]
pub(super) struct Step {
    pub(super) line: usize,
    /// The first step of its block, which starts in the checkout.
    pub(super) fresh: bool,
    pub(super) script: String,
    pub(super) expected: Option<String>,
}

/// The heredoc terminator of written files; a block may not contain it.
pub(super) const EOF: &str = "DOCTEST_EOF";

/// The fenced blocks of `text`, each with the `<!-- doctest: … -->` mark on the line before its fence.
pub(super) fn blocks(text: &str) -> anyhow::Result<Vec<Block>> {
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
pub(super) fn in_sandbox(sandbox: &Path, path: &str) -> String {
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
pub(super) fn steps(root: &Path, sandbox: &Path, blocks: &[Block]) -> anyhow::Result<Vec<Step>> {
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
        if let Some(path) = mark.strip_prefix("same-as=") {
            same_as(root, path, &block.text).with_context(|| at(block))?;
            continue;
        }
        match (language, mark) {
            ("sh" | "console", "ci") => check_ci(root, &block.text).with_context(|| at(block))?,
            ("sh" | "console", "background") => {
                // Its own process group (job control), so that stopping it stops cargo and the server cargo ran.
                let readyz = format!("http://127.0.0.1:{PORT}/readyz");
                let script = format!(
                    "set -m\n{{\n{}}} > \"$DOCTEST_LOGS/{line}.log\" 2>&1 &\nDOCTEST_PID=$!\nset +m\n\
                     DOCTEST_DEADLINE=$((SECONDS + 600))\n\
                     until curl -sf -o /dev/null {readyz}; do\n\
                     kill -0 $DOCTEST_PID 2>/dev/null || \
                     {{ tail -5 \"$DOCTEST_LOGS/{line}.log\" >&2; echo 'the server exited before it was ready' >&2; exit 1; }}\n\
                     (( SECONDS < DOCTEST_DEADLINE )) || {{ echo 'the server was not ready within 600 s' >&2; exit 1; }}\n\
                     sleep 0.2\ndone\n\
                     kill -TERM -- -$DOCTEST_PID\nwait $DOCTEST_PID || true\n\
                     while curl -s -o /dev/null {readyz}; do sleep 0.1; done\n",
                    block.text,
                    line = block.line
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
pub(super) fn continues(command: &str) -> bool {
    command.ends_with('\\') || command.matches('\'').count() % 2 == 1
}

/// A transcript's commands (with their continuation lines) and the output after each.
pub(super) fn transcript(block: &Block) -> anyhow::Result<Vec<Step>> {
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

/// The example's lines are lines of the test `path` (relative to the checkout), in order: the example is that test,
/// which CI runs, shown in part.
pub(super) fn same_as(root: &Path, path: &str, text: &str) -> anyhow::Result<()> {
    let test = std::fs::read_to_string(root.join(path)).with_context(|| format!("cannot read {path}"))?;
    let mut lines = test.lines().map(str::trim);
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if !lines.any(|candidate| candidate == line) {
            bail!("{line:?} is not a line of {path} (after the lines before it)");
        }
    }
    Ok(())
}

/// `.ci/run` ends with exactly this command.
pub(super) fn check_ci(root: &Path, text: &str) -> anyhow::Result<()> {
    let run = std::fs::read_to_string(root.join(".ci/run")).context("cannot read .ci/run")?;
    let last = run.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
    if last.trim() != text.trim() {
        bail!("the block says CI runs {:?}, but .ci/run ends with {last:?}", text.trim());
    }
    Ok(())
}
