//! Operation coverage: every operationId of the spec is called by an integration test and listed in
//! docs/operations.md.
//!
//! The integration tests build `tokenstack-client` with its `record-operations` feature, which records each
//! operationId the generated client sends into `target/operation-coverage/<test binary>.txt` (first line
//! `# exe <path>`). A recording older than its test binary is stale; a missing or stale recording is
//! refreshed by running the integration tests (outside `cargo test`, which holds the build lock).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The file that lists every operation, relative to the project root.
pub const OPERATIONS_FILE: &str = "docs/operations.md";

/// The heading of its list.
pub const OPERATIONS_HEADING: &str = "# Operations";

/// operationIds listed as `` - `id` `` bullets under [`OPERATIONS_HEADING`], up to the next heading.
pub fn listed_operations(text: &str) -> BTreeSet<String> {
    let mut in_section = false;
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with('#') {
            in_section = line.trim() == OPERATIONS_HEADING;
            continue;
        }
        if in_section
            && let Some(item) = line.trim_start().strip_prefix("- `")
            && let Some((id, _)) = item.split_once('`')
        {
            ids.insert(id.to_string());
        }
    }
    ids
}

/// Problems with the operation list of [`OPERATIONS_FILE`], one line each.
pub fn list_problems(root: &Path, spec_ids: &[String]) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(root.join(OPERATIONS_FILE))
        .with_context(|| format!("cannot read {OPERATIONS_FILE}"))?;
    let listed = listed_operations(&text);
    let mut problems: Vec<String> = spec_ids
        .iter()
        .filter(|id| !listed.contains(*id))
        .map(|id| format!("{id}: not listed in {OPERATIONS_FILE}"))
        .collect();
    problems.extend(
        listed
            .iter()
            .filter(|id| !spec_ids.contains(id))
            .map(|id| format!("{id}: listed in {OPERATIONS_FILE} but not in the spec")),
    );
    Ok(problems)
}

/// Problems with the integration tests' coverage, one line each.
pub fn test_problems(spec_ids: &[String], recorded: &BTreeSet<String>) -> Vec<String> {
    spec_ids
        .iter()
        .filter(|id| !recorded.contains(*id))
        .map(|id| format!("{id}: no integration test calls it through the generated client"))
        .collect()
}

/// Where the client records operations.
pub fn recording_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| crate::project_root().join("target"));
    target.join("operation-coverage")
}

/// The union of all fresh recordings, or `None` when there is none or one is older than its test binary.
pub fn read_recordings(dir: &Path) -> Option<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut any = false;
    for entry in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let text = std::fs::read_to_string(entry.path()).ok()?;
        let mut lines = text.lines();
        let exe = lines.next()?.strip_prefix("# exe ")?;
        let recorded_at = entry.metadata().ok()?.modified().ok()?;
        let built_at = std::fs::metadata(exe).ok()?.modified().ok()?;
        if built_at > recorded_at {
            return None;
        }
        any = true;
        ids.extend(lines.map(str::to_string));
    }
    any.then_some(ids)
}

/// Fresh recordings, running the integration tests first when needed.
pub fn recorded_operations(root: &Path) -> anyhow::Result<BTreeSet<String>> {
    let dir = recording_dir();
    if let Some(ids) = read_recordings(&dir) {
        return Ok(ids);
    }
    crate::report::header("Running", "integration tests to record the operations they call");
    let _ = std::fs::remove_dir_all(&dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["test", "-q", "-p", "tokenstack-tests", "--test", "integration"])
        .current_dir(root)
        .output()
        .context("cannot run the integration tests")?;
    if !output.status.success() {
        anyhow::bail!("the integration tests fail; run `cargo test -p tokenstack-tests` ({})", output.status);
    }
    read_recordings(&dir).context("the integration tests recorded no operations (is the `record-operations` feature of tokenstack-client enabled?)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_read_from_its_section_only() {
        let text = "- `not_here`\n# Operations\n\nText.\n- `a_list` (GET /a)\n- `b_create`\n## Next\n- `c`\n";
        let ids: Vec<String> = listed_operations(text).into_iter().collect();
        assert_eq!(ids, ["a_list", "b_create"]);
    }

    #[test]
    fn missing_and_unknown_operations_are_named() {
        let root = std::env::temp_dir().join(format!("xtask-coverage-{}", std::process::id()));
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::write(root.join(OPERATIONS_FILE), "# Operations\n\n- `a`: GET `/a`\n- `gone`: GET `/gone`\n").unwrap();
        let problems = list_problems(&root, &["a".to_string(), "b".to_string()]).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            problems,
            ["b: not listed in docs/operations.md", "gone: listed in docs/operations.md but not in the spec"]
        );
    }

    #[test]
    fn uncovered_operations_are_named() {
        let recorded: BTreeSet<String> = ["a".to_string()].into();
        assert_eq!(
            test_problems(&["a".to_string(), "b".to_string()], &recorded),
            ["b: no integration test calls it through the generated client"]
        );
    }
}
