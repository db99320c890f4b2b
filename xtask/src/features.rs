//! One feature set for the workspace: the dependency builds of `cargo build -p tokenstack-server`,
//! `cargo xtask` and `cargo test --workspace` are the same builds, and test-only crates stay out of the product.
//!
//! Cargo compiles a crate once per distinct unit: its features, and the units of its dependencies. So a crate
//! that two invocations (or build time and run time of one) build with different features is compiled twice,
//! and with it everything above it, even crates whose own features agree. `crates/workspace-hack` (kept by
//! `cargo hakari generate`) pins the union, and `xtask/workspace-hack` copies its lines for the crates xtask
//! builds (`cargo xtask features`, [`crate::unify`]).
//!
//! This check reads `cargo tree` for each invocation, rebuilds cargo's units from it and fails on any crate
//! compiled twice, naming the crate and, when its features agree, the dependency whose builds differ, so a
//! new dependency cannot quietly bring the second compile back. `cargo tree` is asked for the host target
//! explicitly (`--target`): without it, build-time and run-time nodes with the same features are one node,
//! shown with only one of their dependency trees, and a dependency built twice below them is hidden. And it
//! is asked not to abbreviate repeated subtrees (`--no-dedupe`), so every node's dependencies are known.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
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
pub const NOT_IN_XTASK: &[&str] = &["dropshot", "tokenstack-api", "tokio", "sqlx", "hyper", "rustls"];

/// What fixes a crate compiled twice.
const FIX: &str =
    "give it one feature set in crates/workspace-hack (`cargo hakari generate`), then `cargo xtask features`";

/// One compiled unit of a crate: its features and the units it links.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unit {
    pub features: String,
    /// Each dependency (`name vX.Y.Z`) with the key of the unit of it this one is built on.
    pub deps: BTreeSet<(String, u64)>,
}

/// Each crate (`name vX.Y.Z`) and its units in one invocation, by key (a hash of the crate, the features and
/// the dependencies' keys: equal keys, one compile). Workspace members are kept with no features and no
/// dependencies, so that the forbidden lists can see them but they are never compared.
pub type Builds = BTreeMap<String, BTreeMap<u64, Unit>>;

/// Every problem found, one line each; empty when the workspace has one feature set.
pub fn problems(root: &Path) -> anyhow::Result<Vec<String>> {
    let target = host_target()?;
    let mut builds = Vec::new();
    for (name, args) in INVOCATIONS {
        let text =
            cargo_tree(root, &target, "{p}|{f}", args, true).with_context(|| format!("cargo tree for `{name}`"))?;
        builds.push((*name, parse_tree(&text)));
    }
    Ok(compare(&builds))
}

/// The comparison itself, on parsed `cargo tree` output: the last invocation is the whole workspace.
pub fn compare(builds: &[(&str, Builds)]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(((workspace_name, workspace), others)) = builds.split_last() else { return problems };
    for (name, build) in builds {
        for (package, units) in build {
            if units.len() > 1 {
                let units: Vec<&Unit> = units.values().collect();
                problems.push(format!(
                    "{package}: `{name}` compiles it {} times, {}; {FIX}",
                    units.len(),
                    describe(&units)
                ));
            }
        }
    }
    for (name, build) in others {
        for (package, units) in build {
            let Some(in_workspace) = workspace.get(package) else { continue };
            for (key, unit) in units {
                if in_workspace.contains_key(key) {
                    continue;
                }
                let theirs: Vec<&Unit> = in_workspace.values().collect();
                let what = match theirs.iter().find(|other| other.features == unit.features) {
                    Some(other) => format!(
                        "over other builds of {} than `{workspace_name}` does (same features)",
                        join(&differing_deps(unit, other))
                    ),
                    None => format!(
                        "with {}, `{workspace_name}` only {}",
                        show(&unit.features),
                        describe(&theirs).trim_start_matches("with ")
                    ),
                };
                problems.push(format!(
                    "{package}: `{name}` compiles it {what}, so one compiles it again after the other; {FIX}"
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

/// `with [a] and [b]`; for units with the same features, `with the same features, over different builds of
/// x` (or `with [a] 2 times, over different builds of x, and [b]`).
fn describe(units: &[&Unit]) -> String {
    let mut by_features: BTreeMap<&str, Vec<&Unit>> = BTreeMap::new();
    for unit in units {
        by_features.entry(unit.features.as_str()).or_default().push(unit);
    }
    let parts: Vec<String> = by_features
        .iter()
        .map(|(features, same)| {
            let Some((first, rest)) = same.split_first() else { return String::new() };
            let mut differing = BTreeSet::new();
            for other in rest {
                differing.extend(differing_deps(first, other));
            }
            match (rest.is_empty(), by_features.len()) {
                (true, _) => show(features),
                (false, 1) => format!("the same features, over different builds of {}", join(&differing)),
                (false, _) => {
                    format!("{} {} times, over different builds of {},", show(features), same.len(), join(&differing))
                }
            }
        })
        .collect();
    format!("with {}", parts.join(" and "))
}

/// The dependencies (`name vX.Y.Z`) that two units of one crate link different builds of.
fn differing_deps<'a>(a: &'a Unit, b: &'a Unit) -> BTreeSet<&'a str> {
    a.deps.symmetric_difference(&b.deps).map(|(package, _)| package.as_str()).collect()
}

fn join(packages: &BTreeSet<&str>) -> String {
    packages.iter().copied().collect::<Vec<_>>().join(", ")
}

fn show(features: &str) -> String {
    if features.is_empty() { "no features".to_string() } else { format!("[{features}]") }
}

/// The host's target triple (`cargo -vV`'s `host:` line).
pub fn host_target() -> anyhow::Result<String> {
    let output = Command::new(cargo()).arg("-vV").output().context("cannot run cargo -vV")?;
    let text = String::from_utf8_lossy(&output.stdout);
    match text.lines().find_map(|line| line.strip_prefix("host: ")) {
        Some(host) => Ok(host.trim().to_string()),
        None => bail!("cargo -vV names no host: {text}"),
    }
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// `cargo tree` for `target` with one line per node and its depth: `2name vX.Y.Z (source)|…` in `format`,
/// every subtree in full; `locked`: fail rather than update `Cargo.lock`.
pub fn cargo_tree(root: &Path, target: &str, format: &str, args: &[&str], locked: bool) -> anyhow::Result<String> {
    let output = Command::new(cargo())
        .args(["tree", "--no-dedupe", "--prefix", "depth", "--format", format, "--target", target])
        .args(locked.then_some("--locked"))
        .args(args)
        .current_dir(root)
        .output()
        .context("cannot run cargo tree")?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A node of the tree being read: its line, its depth and the keys of its dependencies so far.
struct Open {
    depth: usize,
    id: String,
    features: String,
    member: bool,
    deps: BTreeSet<(String, u64)>,
}

/// Parses `cargo tree --no-dedupe --prefix depth --format '{p}|{f}'` into units. A line without a depth is a
/// root (so a flat list is a list of crates with no dependencies). A workspace member (a path source) is
/// kept with no features.
pub fn parse_tree(text: &str) -> Builds {
    let mut builds = Builds::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut stack: Vec<Open> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let digits = line.find(|c: char| !c.is_ascii_digit()).unwrap_or(line.len());
        let depth = line[..digits].parse().unwrap_or(0);
        let node = &line[digits..];
        let (node, repeated) = node.strip_suffix(" (*)").map_or((node, false), |node| (node, true));
        let Some((package, features)) = node.split_once('|') else { continue };
        while stack.last().is_some_and(|open| open.depth >= depth) {
            close(&mut stack, &mut builds, &mut seen);
        }
        let (id, source) = package.split_once(" (").unwrap_or((package, ""));
        if repeated {
            // Only a dependency cycle (through dev-dependencies) is abbreviated: link the unit read before.
            let key = seen.get(&format!("{id}|{features}")).copied().unwrap_or_default();
            if let Some(parent) = stack.last_mut() {
                parent.deps.insert((id.to_string(), key));
            }
            continue;
        }
        let member = source.starts_with('/');
        let features = if member { String::new() } else { features.to_string() };
        stack.push(Open { depth, id: id.to_string(), features, member, deps: BTreeSet::new() });
    }
    while !stack.is_empty() {
        close(&mut stack, &mut builds, &mut seen);
    }
    builds
}

/// Finishes the innermost open node: its unit is recorded and linked from its parent.
fn close(stack: &mut Vec<Open>, builds: &mut Builds, seen: &mut BTreeMap<String, u64>) {
    let Some(open) = stack.pop() else { return };
    let unit = if open.member {
        Unit { features: String::new(), deps: BTreeSet::new() }
    } else {
        Unit { features: open.features, deps: open.deps }
    };
    let mut hasher = DefaultHasher::new();
    (&open.id, &unit).hash(&mut hasher);
    let key = hasher.finish();
    seen.insert(format!("{}|{}", open.id, unit.features), key);
    if let Some(parent) = stack.last_mut() {
        parent.deps.insert((open.id.clone(), key));
    }
    builds.entry(open.id).or_default().insert(key, unit);
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
            problems[0].starts_with("tokio v1.0.0: `cargo build -p tokenstack-server` compiles it with [macros,rt], `cargo test --workspace` only [macros,rt,test-util], so one compiles it again after the other; give it one feature set"),
            "{}",
            problems[0]
        );
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
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0], "dropshot v0.18.0: `cargo xtask` must not compile it");
        assert!(problems[1].starts_with("syn v2.0.0: `cargo test --workspace` compiles it 2 times, with [full] and [full,visit]; give it one feature set"), "{}", problems[1]);
        assert!(
            problems[2].starts_with("syn v2.0.0: `cargo xtask` compiles it 2 times, with [full] and [full,visit]"),
            "{}",
            problems[2]
        );
    }

    /// `cargo tree -p xtask -e normal,build --target x86_64-unknown-linux-gnu --no-dedupe --prefix depth`,
    /// cut down, before the fix: regex-automata is used at run time (through regex, which turns on
    /// regex-syntax's `default`) and at build time (xtask's build-dependency, without regex). Same features
    /// for regex-automata both times, yet two compiles of it, because regex-syntax differs below it.
    const XTASK_BEFORE: &str = "\
0xtask v0.1.0 (/w/xtask)|
1regex v1.13.2|default,std
2regex-automata v0.4.19|meta,std,syntax
3regex-syntax v0.8.12|default,std
2regex-syntax v0.8.12|default,std
1regex-automata v0.4.19|meta,std,syntax
2regex-syntax v0.8.12|default,std
1regex-automata v0.4.19|meta,std,syntax
2regex-syntax v0.8.12|std
";

    const WORKSPACE: &str = "\
0tokenstack-server v0.1.0 (/w/crates/server)|
1regex v1.13.2|default,std
2regex-automata v0.4.19|meta,std,syntax
3regex-syntax v0.8.12|default,std
2regex-syntax v0.8.12|default,std
1tokenstack-workspace-hack v0.1.0 (/w/crates/workspace-hack)|
2regex-automata v0.4.19|meta,std,syntax
3regex-syntax v0.8.12|default,std
2regex-syntax v0.8.12|default,std
";

    #[test]
    fn a_crate_compiled_twice_because_of_a_dependency_is_named_with_the_dependency() {
        let xtask = builds(XTASK_BEFORE);
        assert_eq!(xtask["regex-automata v0.4.19"].len(), 2);
        assert_eq!(xtask["regex-syntax v0.8.12"].len(), 2);
        assert_eq!(xtask["regex v1.13.2"].len(), 1);
        let problems = compare(&[("cargo xtask", xtask), ("cargo test --workspace", builds(WORKSPACE))]);
        let heads: Vec<&str> = problems.iter().map(|p| p.split("; ").next().unwrap()).collect();
        assert_eq!(
            heads,
            [
                "regex-automata v0.4.19: `cargo xtask` compiles it 2 times, with the same features, over different builds of regex-syntax v0.8.12",
                "regex-automata v0.4.19: `cargo xtask` compiles it over other builds of regex-syntax v0.8.12 than `cargo test --workspace` does (same features), so one compiles it again after the other",
                "regex-syntax v0.8.12: `cargo xtask` compiles it 2 times, with [default,std] and [std]",
                "regex-syntax v0.8.12: `cargo xtask` compiles it with [std], `cargo test --workspace` only [default,std], so one compiles it again after the other",
            ]
        );
    }

    #[test]
    fn units_with_the_same_features_and_others_are_told_apart() {
        let deps = |key| BTreeSet::from([("x v1.0.0".to_string(), key)]);
        let a1 = Unit { features: "a".into(), deps: deps(1) };
        let a2 = Unit { features: "a".into(), deps: deps(2) };
        let b = Unit { features: "b".into(), deps: deps(1) };
        assert_eq!(describe(&[&a1, &a2, &b]), "with [a] 2 times, over different builds of x v1.0.0, and [b]");
        assert_eq!(describe(&[&a1, &b]), "with [a] and [b]");
    }

    #[test]
    fn the_same_units_in_both_are_one_build() {
        let xtask_after = XTASK_BEFORE.replace("2regex-syntax v0.8.12|std", "2regex-syntax v0.8.12|default,std");
        let xtask = builds(&xtask_after);
        assert_eq!(xtask["regex-automata v0.4.19"].len(), 1);
        assert_eq!(
            compare(&[("cargo xtask", xtask), ("cargo test --workspace", builds(WORKSPACE))]),
            Vec::<String>::new()
        );
    }
}
