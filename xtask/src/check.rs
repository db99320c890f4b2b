//! `cargo xtask check`: every drift check, read-only, with one summary line and the command that fixes it.
//!
//! Checks: the merged spec is fresh, each golden copy is fresh, the spec matches the document Dropshot
//! emits for the generated trait, every operation is covered by a test and listed in docs/operations.md,
//! `xtask/workspace-hack` is fresh and the workspace builds its dependencies with one feature set, every
//! Rust file opens with a `//!` line, and the layers hold (the store crate knows nothing above it, only the
//! server's `http/` names the wire types, no hand-written file passes 500 lines: `layers.rs`).

use std::path::Path;

use crate::codegen::{Expected, expected_golden};
use crate::report::{FAILURE, NEEDS_UPDATE, detail, header, unified_diff};

/// The result of one check.
#[derive(Debug)]
pub enum Outcome {
    Fresh,
    /// Only a regeneration is needed: the diff from the file on disk to the expected contents.
    Stale {
        diff: String,
        fix: &'static str,
    },
    /// A real failure: one line per problem.
    Failed {
        problems: Vec<String>,
    },
}

/// A named check and its outcome.
#[derive(Debug)]
pub struct Checked {
    pub name: String,
    pub outcome: Outcome,
}

/// Which checks to run: `cargo xtask check` runs all; the `#[test]`s one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    Spec,
    Golden,
    Server,
    Coverage,
    Features,
    Tidy,
    Layers,
}

/// Runs the selected checks. Errors inside a check become its failure; nothing is written.
pub fn run_checks(root: &Path, which: Which) -> Vec<Checked> {
    let wanted = |w: Which| which == Which::All || which == w;
    let mut checked = Vec::new();
    if wanted(Which::Spec) {
        checked.push(match spec_expected(root) {
            Ok(expected) => freshness(&expected, "cargo xtask spec"),
            Err(err) => failed("spec/openapi.json", err),
        });
    }
    if wanted(Which::Golden) {
        match expected_golden(root) {
            Ok(files) => checked.extend(files.iter().map(|expected| freshness(expected, "cargo xtask codegen"))),
            Err(err) => checked.push(failed("golden copies", err)),
        }
    }
    if wanted(Which::Server) {
        checked.push(server_check(root));
    }
    if wanted(Which::Coverage) {
        checked.push(coverage_check(root));
    }
    if wanted(Which::Features) {
        checked.push(match crate::unify::expected(root, crate::unify::Lock::Locked) {
            Ok(expected) => freshness(&expected, "cargo xtask features"),
            Err(err) => failed(crate::unify::XTASK_HACK, err),
        });
        checked.push(match crate::features::problems(root) {
            Ok(problems) if problems.is_empty() => {
                Checked { name: FEATURES_CHECK.to_string(), outcome: Outcome::Fresh }
            }
            Ok(problems) => Checked { name: FEATURES_CHECK.to_string(), outcome: Outcome::Failed { problems } },
            Err(err) => failed(FEATURES_CHECK, err),
        });
    }
    if wanted(Which::Tidy) {
        checked.push(match crate::tidy::problems(root) {
            Ok(problems) if problems.is_empty() => Checked { name: TIDY_CHECK.to_string(), outcome: Outcome::Fresh },
            Ok(problems) => Checked { name: TIDY_CHECK.to_string(), outcome: Outcome::Failed { problems } },
            Err(err) => failed(TIDY_CHECK, err),
        });
    }
    if wanted(Which::Layers) {
        checked.push(match crate::layers::problems(root) {
            Ok(problems) if problems.is_empty() => Checked { name: LAYERS_CHECK.to_string(), outcome: Outcome::Fresh },
            Ok(problems) => Checked { name: LAYERS_CHECK.to_string(), outcome: Outcome::Failed { problems } },
            Err(err) => failed(LAYERS_CHECK, err),
        });
    }
    checked
}

/// The merged spec as `cargo xtask spec` would write it, next to the file on disk.
pub fn spec_expected(root: &Path) -> anyhow::Result<Expected> {
    let merged = crate::spec::merged_spec(root)?;
    tokenstack_codegen::Spec::from_json(&merged, "merged spec")?;
    Ok(Expected::read(root, "spec/openapi.json", merged))
}

fn freshness(expected: &Expected, fix: &'static str) -> Checked {
    let outcome = if expected.is_fresh() {
        Outcome::Fresh
    } else {
        let actual = expected.actual.as_deref().unwrap_or("");
        Outcome::Stale { diff: unified_diff(&expected.display, actual, &expected.expected), fix }
    };
    Checked { name: expected.display.clone(), outcome }
}

fn failed(name: &str, err: anyhow::Error) -> Checked {
    Checked { name: name.to_string(), outcome: Outcome::Failed { problems: vec![format!("{err:#}")] } }
}

const TIDY_CHECK: &str = "every .rs file opens with a //! line";

const LAYERS_CHECK: &str = "layers (store below HTTP, wire types only in http/, files of at most 500 lines)";

const FEATURES_CHECK: &str = "one feature set (cargo build, cargo xtask, cargo test share dependency builds)";

const SERVER_CHECK: &str = "spec ↔ server document";

/// Runs `xtask-server-drift` (its own crate, so that xtask never compiles Dropshot); each line it prints is
/// a difference.
fn server_check(root: &Path) -> Checked {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--locked", "--package", "xtask-server-drift"])
        .current_dir(root)
        .output();
    let outcome = match output {
        Ok(output) if output.status.success() => Outcome::Fresh,
        Ok(output) if output.status.code() == Some(i32::from(FAILURE)) => {
            Outcome::Failed { problems: String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect() }
        }
        Ok(output) => Outcome::Failed {
            problems: vec![format!(
                "xtask-server-drift failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )],
        },
        Err(err) => Outcome::Failed { problems: vec![format!("cannot run cargo: {err}")] },
    };
    Checked { name: SERVER_CHECK.to_string(), outcome }
}

const COVERAGE_CHECK: &str = "operation coverage (integration tests, docs/operations.md)";

fn coverage_check(root: &Path) -> Checked {
    let result = (|| -> anyhow::Result<Vec<String>> {
        let spec = tokenstack_codegen::load_spec(&root.join("spec/openapi.json"))?;
        let ids = spec.operation_ids();
        let mut problems = crate::coverage::list_problems(root, &ids)?;
        problems.extend(crate::coverage::test_problems(&ids, &crate::coverage::recorded_operations(root)?));
        Ok(problems)
    })();
    match result {
        Ok(problems) if problems.is_empty() => Checked { name: COVERAGE_CHECK.to_string(), outcome: Outcome::Fresh },
        Ok(problems) => Checked { name: COVERAGE_CHECK.to_string(), outcome: Outcome::Failed { problems } },
        Err(err) => failed(COVERAGE_CHECK, err),
    }
}

/// 0 when everything is fresh, 4 when only regeneration is needed, 100 on any failure.
pub fn exit_code(checked: &[Checked]) -> u8 {
    if checked.iter().any(|c| matches!(c.outcome, Outcome::Failed { .. })) {
        FAILURE
    } else if checked.iter().any(|c| matches!(c.outcome, Outcome::Stale { .. })) {
        NEEDS_UPDATE
    } else {
        0
    }
}

/// The one summary line: `5 checked: 4 fresh, 1 stale, 0 failed`.
pub fn summary(checked: &[Checked]) -> String {
    let count = |f: fn(&Outcome) -> bool| checked.iter().filter(|c| f(&c.outcome)).count();
    format!(
        "{} checked: {} fresh, {} stale, {} failed",
        checked.len(),
        count(|o| matches!(o, Outcome::Fresh)),
        count(|o| matches!(o, Outcome::Stale { .. })),
        count(|o| matches!(o, Outcome::Failed { .. })),
    )
}

/// The exact command that regenerates every stale file, if any is stale.
pub fn fix_command(checked: &[Checked]) -> Option<String> {
    let mut fixes: Vec<&str> = Vec::new();
    for c in checked {
        if let Outcome::Stale { fix, .. } = &c.outcome
            && !fixes.contains(fix)
        {
            fixes.push(fix);
        }
    }
    (!fixes.is_empty()).then(|| fixes.join(" && "))
}

/// `cargo xtask check`: runs the checks in order, prints each outcome as soon as it is known, then the
/// summary and the fix command; returns the exit code.
///
/// `cargo xtask ci` passes `server_tested`: its `cargo test` has just run the spec ↔ server comparison
/// (`xtask-server-drift`'s test), so the check is not built and run a second time.
pub fn run(root: &Path, server_tested: bool) -> u8 {
    header(
        "Checking",
        "merged spec, golden copies, spec ↔ server document, operation coverage, feature sets, tidy, layers",
    );
    let mut checked = Vec::new();
    let all = [Which::Spec, Which::Golden, Which::Server, Which::Coverage, Which::Features, Which::Tidy, Which::Layers];
    for which in all {
        if which == Which::Server && server_tested {
            header("Tested", &format!("{SERVER_CHECK} (by cargo test: xtask-server-drift)"));
            continue;
        }
        let start = checked.len();
        checked.extend(run_checks(root, which));
        print_outcomes(&checked[start..]);
    }
    let code = exit_code(&checked);
    let status = match code {
        0 => "Success",
        NEEDS_UPDATE => "Stale",
        _ => "Failure",
    };
    header(status, &summary(&checked));
    if let Some(fix) = fix_command(&checked) {
        detail(&format!("(run `{fix}` to update, then commit the result)"));
    }
    if code == FAILURE {
        detail("(failures need a fix in the spec, an overlay, codegen or the tests; see docs/xtask.md)");
    }
    code
}

fn print_outcomes(checked: &[Checked]) {
    for c in checked {
        match &c.outcome {
            Outcome::Fresh => header("Fresh", &c.name),
            Outcome::Stale { diff, .. } => {
                header("Stale", &c.name);
                print!("{diff}");
            }
            Outcome::Failed { problems } => {
                header("Failed", &c.name);
                problems.iter().for_each(|p| detail(p));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each check as a `#[test]`, so plain `cargo test` catches drift, plus tests of the checker itself.

    use super::*;

    fn assert_fresh(which: Which) {
        let checked = run_checks(&crate::project_root(), which);
        for c in &checked {
            match &c.outcome {
                Outcome::Fresh => {}
                Outcome::Stale { diff, fix } => panic!("{} is stale; run `{fix}`\n{diff}", c.name),
                Outcome::Failed { problems } => panic!("{} failed:\n{}", c.name, problems.join("\n")),
            }
        }
    }

    #[test]
    fn merged_spec_is_fresh() {
        assert_fresh(Which::Spec);
    }

    #[test]
    fn golden_copies_are_fresh() {
        assert_fresh(Which::Golden);
    }

    /// Coverage from the integration tests needs their recording, which `cargo test` may not have made yet
    /// (it runs test binaries in turn); the list half is always checked here, the whole in `cargo xtask check`.
    #[test]
    fn operations_are_listed_and_tested_when_recorded() {
        let root = crate::project_root();
        let ids = tokenstack_codegen::load_spec(&root.join("spec/openapi.json")).unwrap().operation_ids();
        let mut problems = crate::coverage::list_problems(&root, &ids).unwrap();
        if let Some(recorded) = crate::coverage::read_recordings(&crate::coverage::recording_dir()) {
            problems.extend(crate::coverage::test_problems(&ids, &recorded));
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn stale_file_has_a_diff_and_exit_code_4() {
        let expected = Expected {
            path: "x".into(),
            display: "spec/openapi.json".into(),
            expected: "a\nb\n".into(),
            actual: Some("a\nc\n".into()),
        };
        let checked =
            vec![freshness(&expected, "cargo xtask spec"), Checked { name: "y".into(), outcome: Outcome::Fresh }];
        let Outcome::Stale { diff, .. } = &checked[0].outcome else { panic!("not stale") };
        assert!(diff.contains("-c\n+b\n") && diff.contains("+++ b/spec/openapi.json"), "{diff}");
        assert_eq!(exit_code(&checked), NEEDS_UPDATE);
        assert_eq!(summary(&checked), "2 checked: 1 fresh, 1 stale, 0 failed");
        assert_eq!(fix_command(&checked).as_deref(), Some("cargo xtask spec"));
    }

    #[test]
    fn hand_edited_golden_file_is_stale() {
        let root = crate::project_root();
        let mut files = expected_golden(&root).unwrap();
        let file = &mut files[1];
        file.actual = Some(file.expected.replacen("pub struct Client", "pub struct HandEdited", 1));
        let checked = freshness(file, "cargo xtask codegen");
        let Outcome::Stale { diff, fix } = &checked.outcome else { panic!("not stale") };
        assert!(diff.contains("-pub struct HandEdited") && diff.contains("+pub struct Client"), "{diff}");
        assert_eq!(*fix, "cargo xtask codegen");
    }

    #[test]
    fn a_failure_outranks_staleness() {
        let checked = vec![
            Checked { name: "a".into(), outcome: Outcome::Stale { diff: String::new(), fix: "cargo xtask codegen" } },
            Checked { name: "b".into(), outcome: Outcome::Failed { problems: vec!["x".into()] } },
        ];
        assert_eq!(exit_code(&checked), FAILURE);
        assert_eq!(summary(&checked), "2 checked: 0 fresh, 1 stale, 1 failed");
    }

    #[test]
    fn overlay_that_no_longer_applies_fails_the_spec_check() {
        let dir = std::env::temp_dir().join(format!("tokenstack-xtask-{}", std::process::id()));
        let root = crate::project_root();
        std::fs::create_dir_all(dir.join("spec/overlays")).unwrap();
        copy_dir(&root.join("spec/upstream"), &dir.join("spec/upstream"));
        for file in std::fs::read_dir(root.join("spec")).unwrap().filter_map(Result::ok) {
            if file.path().is_file() {
                std::fs::copy(file.path(), dir.join("spec").join(file.file_name())).unwrap();
            }
        }
        copy_dir(&root.join("spec/overlays"), &dir.join("spec/overlays"));
        let overlay = dir.join("spec/overlays/authentik.yaml");
        let text = std::fs::read_to_string(&overlay).unwrap();
        std::fs::write(&overlay, format!("{text}\n  - target: $.paths['/gone/'].get\n    description: an upstream path that was removed\n    update: {{summary: x}}\n")).unwrap();
        let checked = run_checks(&dir, Which::Spec);
        let _ = std::fs::remove_dir_all(&dir);
        let Outcome::Failed { problems } = &checked[0].outcome else { panic!("not failed: {checked:?}") };
        assert!(problems[0].contains("matches nothing"), "{problems:?}");
        assert_eq!(exit_code(&checked), FAILURE);
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for file in std::fs::read_dir(from).unwrap().filter_map(Result::ok) {
            std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
        }
    }
}
