//! One feature set for the workspace: the dependency builds of `cargo build -p tokenstack-server`,
//! `cargo xtask` and `cargo test --workspace` are the same builds, and test-only crates stay out of the product.
//!
//! Cargo resolves features per invocation, so a crate that two invocations build with different features
//! is compiled twice, and with it everything above it. `crates/workspace-hack` (kept by `cargo hakari
//! generate`) pins the union; this check reads `cargo tree` for each invocation and fails on any crate whose
//! feature sets differ, naming the crate, so a new dependency cannot quietly bring the second compile back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The invocations that must share dependency builds: a name for messages and `cargo tree`'s arguments.
const INVOCATIONS: &[(&str, &[&str])] = &[
    ("cargo build -p tokenstack-server", &["--package", "tokenstack-server", "--edges", "normal,build"]),
    ("cargo xtask", &["--package", "xtask", "--edges", "normal,build"]),
    ("cargo test --workspace", &["--workspace", "--edges", "normal,build,dev"]),
];

/// Crates only the tests need (the official authentik Rust client and what it brings), as `name` or
/// `name vMAJOR.`: never compiled by `cargo build -p tokenstack-server`.
const TEST_ONLY: &[&str] =
    &["authentik-client", "serde_with", "jiff", "reqwest-middleware", "schemars v0.9.", "schemars v1.", "reqwest"];

/// Crates that `cargo xtask` must never compile, so that `cargo xtask spec` and `codegen` stay light.
const NOT_IN_XTASK: &[&str] = &["dropshot", "tokenstack-api", "tokio", "sqlx", "hyper", "rustls"];

/// Each third-party crate (`name vX.Y.Z`) and the feature sets it is built with in one invocation (one per
/// unit: cargo resolves build-time and run-time features apart).
pub type Builds = BTreeMap<String, BTreeSet<String>>;

/// Every problem found, one line each; empty when the workspace has one feature set.
pub fn problems(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut builds = Vec::new();
    for (name, args) in INVOCATIONS {
        builds.push((*name, cargo_tree(root, args).with_context(|| format!("cargo tree for `{name}`"))?));
    }
    Ok(compare(&builds))
}

/// The comparison itself, on parsed `cargo tree` output: the last invocation is the whole workspace.
pub fn compare(builds: &[(&str, Builds)]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(((workspace_name, workspace), others)) = builds.split_last() else { return problems };
    for (package, features) in workspace {
        if features.len() > 1 {
            problems.push(format!(
                "{package}: `{workspace_name}` builds it twice, with {}; give build time and run time the same features in crates/workspace-hack (`cargo hakari generate`)",
                show(features)
            ));
        }
    }
    for (name, build) in others {
        for (package, features) in build {
            if let Some(in_workspace) = workspace.get(package)
                && in_workspace != features
            {
                problems.push(format!(
                    "{package}: `{name}` builds it with {} and `{workspace_name}` with {}; add the features to crates/workspace-hack (`cargo hakari generate`)",
                    show(features),
                    show(in_workspace)
                ));
            }
        }
        let forbidden: &[&str] = if name.contains("tokenstack-server") { TEST_ONLY } else { NOT_IN_XTASK };
        for package in build.keys() {
            let crate_name = package.split(' ').next().unwrap_or(package);
            if forbidden.iter().any(|f| *f == crate_name || (f.contains(' ') && package.starts_with(f))) {
                problems.push(format!("{package}: `{name}` must not compile it"));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

fn show(features: &BTreeSet<String>) -> String {
    features
        .iter()
        .map(|f| if f.is_empty() { "no features".to_string() } else { format!("[{f}]") })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// `cargo tree` with one line per unit: `name vX.Y.Z (source)|feature,feature`.
fn cargo_tree(root: &Path, args: &[&str]) -> anyhow::Result<Builds> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["tree", "--locked", "--prefix", "none", "--format", "{p}|{f}"])
        .args(args)
        .current_dir(root)
        .output()
        .context("cannot run cargo tree")?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(parse_tree(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses `cargo tree --prefix none --format '{p}|{f}'`; workspace members (a path source) are left out,
/// except that their names are kept with no features so the forbidden lists can see them.
pub fn parse_tree(text: &str) -> Builds {
    let mut builds = Builds::new();
    for line in text.lines() {
        let line = line.trim().trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else { continue };
        let (id, source) = package.split_once(" (").unwrap_or((package, ""));
        let features = if source.starts_with('/') { String::new() } else { features.to_string() };
        builds.entry(id.to_string()).or_default().insert(features);
    }
    builds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builds(lines: &str) -> Builds {
        parse_tree(lines)
    }

    #[test]
    fn the_workspace_has_one_feature_set() {
        let problems = problems(&crate::project_root()).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_crate_built_with_other_features_is_named() {
        let server = builds("tokio v1.0.0|macros,rt\nserde v1.0.0|std\n");
        let workspace = builds("tokio v1.0.0|macros,rt,test-util\nserde v1.0.0|std\nauthentik-client v1.0.0|rustls\n");
        let problems = compare(&[("cargo build -p tokenstack-server", server), ("cargo test --workspace", workspace)]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("tokio v1.0.0: `cargo build -p tokenstack-server` builds it with [macros,rt]"),
            "{}",
            problems[0]
        );
        assert!(problems[0].contains("[macros,rt,test-util]"), "{}", problems[0]);
    }

    #[test]
    fn a_test_only_crate_in_the_product_is_named() {
        let server = builds("authentik-client v2026.8.5|rustls\n");
        let problems =
            compare(&[("cargo build -p tokenstack-server", server.clone()), ("cargo test --workspace", server)]);
        assert_eq!(problems, ["authentik-client v2026.8.5: `cargo build -p tokenstack-server` must not compile it"]);
    }

    #[test]
    fn dropshot_in_xtask_is_named_and_build_and_run_time_units_are_told_apart() {
        let xtask = builds("dropshot v0.18.0 (registry)|\nsyn v2.0.0|full\nsyn v2.0.0|full,visit\n");
        assert_eq!(xtask["syn v2.0.0"].len(), 2);
        let problems = compare(&[("cargo xtask", xtask.clone()), ("cargo test --workspace", xtask)]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0], "dropshot v0.18.0: `cargo xtask` must not compile it");
        assert!(
            problems[1]
                .starts_with("syn v2.0.0: `cargo test --workspace` builds it twice, with [full] and [full,visit]"),
            "{}",
            problems[1]
        );
    }
}
