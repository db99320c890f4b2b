//! `cargo xtask features`: `xtask/workspace-hack/Cargo.toml`, the workspace-hack's lines for the crates xtask
//! builds, so that `cargo xtask` and `cargo test --workspace` share every dependency build.
//!
//! xtask cannot depend on `crates/workspace-hack`: that would compile tokio, hyper and rustls for `cargo xtask
//! spec`. It depends on `xtask-workspace-hack` instead, at run time and at build time (through the empty
//! `xtask/build.rs`), and that crate's dependencies are the lines of `crates/workspace-hack/Cargo.toml` for
//! exactly the crates xtask's own dependencies bring in. Its run-time and build-time sections are one
//! section there (the hack gives a crate the same features at both times, `unify-target-host`), so a crate
//! built at both times is one unit. Nothing is copied by hand: after `cargo hakari generate`, or a change of
//! xtask's dependencies, `cargo xtask check` reports the file stale and `cargo xtask features` rewrites it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, bail};

use crate::codegen::Expected;

/// The workspace-hack, kept by `cargo hakari generate`, and the markers around its generated part.
pub const HACK: &str = "crates/workspace-hack/Cargo.toml";
const HAKARI_BEGIN: &str = "### BEGIN HAKARI SECTION";
const HAKARI_END: &str = "### END HAKARI SECTION";

/// xtask's share of it, and the markers around the part `cargo xtask features` writes.
pub const XTASK_HACK: &str = "xtask/workspace-hack/Cargo.toml";
const XTASK_HACK_PACKAGE: &str = "xtask-workspace-hack";
const BEGIN: &str = "### BEGIN GENERATED SECTION";
const END: &str = "### END GENERATED SECTION";

/// What `cargo xtask features` writes after the begin marker (the section's own explanation).
const PREAMBLE: &str = "\
# Written by `cargo xtask features` from crates/workspace-hack/Cargo.toml: its lines for the crates that
# xtask's own dependencies bring in (xtask/src/unify.rs). Do not edit; `cargo xtask check` reports it stale.
";

/// Whether `cargo tree` may update `Cargo.lock` (writing) or must find it current (checking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Update,
    Locked,
}

/// `xtask/workspace-hack/Cargo.toml` as `cargo xtask features` would write it, next to the file on disk.
pub fn expected(root: &Path, lock: Lock) -> anyhow::Result<Expected> {
    let hack = std::fs::read_to_string(root.join(HACK)).with_context(|| format!("cannot read {HACK}"))?;
    let current =
        std::fs::read_to_string(root.join(XTASK_HACK)).with_context(|| format!("cannot read {XTASK_HACK}"))?;
    let target = crate::features::host_target()?;
    let args = ["--package", "xtask", "--edges", "normal,build"];
    let tree = crate::features::cargo_tree(root, &target, "{p}", &args, lock == Lock::Locked)
        .context("cargo tree for `cargo xtask`")?;
    let section = section(&hack_entries(&hack)?, &xtask_crates(&tree));
    Ok(Expected::read(root, XTASK_HACK, replace_section(&current, &section)?))
}

/// `cargo xtask features [--check]`: writes the file until it no longer changes (a feature the section
/// turns on can bring in a crate the hack also lists), or reports it stale.
pub fn run(root: &Path, check: bool) -> anyhow::Result<u8> {
    if check {
        return crate::write_or_check(&[expected(root, Lock::Locked)?], true, "cargo xtask features");
    }
    for _ in 0..4 {
        let expected = expected(root, Lock::Update)?;
        if expected.is_fresh() {
            crate::report::header("Fresh", XTASK_HACK);
            return Ok(0);
        }
        expected.write()?;
        crate::report::header("Wrote", XTASK_HACK);
    }
    bail!("{XTASK_HACK} still changes after four writes")
}

/// One dependency line of the hack: its key, the crate it names and the version requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `[dependencies]` or `[target.….dependencies]`: where the line goes (build-time sections fold in).
    pub table: String,
    pub key: String,
    pub package: String,
    pub version: String,
    /// The whole line, as written.
    pub line: String,
}

/// Every dependency line of the hack's generated section, build-time ones folded into run-time tables (a
/// line there twice must be the same line).
pub fn hack_entries(hack: &str) -> anyhow::Result<Vec<Entry>> {
    let (Some(begin), Some(end)) = (hack.find(HAKARI_BEGIN), hack.find(HAKARI_END)) else {
        bail!("{HACK} has no `{HAKARI_BEGIN}` … `{HAKARI_END}`");
    };
    let mut entries: BTreeMap<(String, String), Entry> = BTreeMap::new();
    let mut table = None;
    for line in hack[begin..end].lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            table = match header.rsplit_once('.') {
                None if matches!(header, "dependencies" | "build-dependencies") => Some("dependencies".to_string()),
                Some((target, "dependencies" | "build-dependencies")) => Some(format!("{target}.dependencies")),
                _ => None,
            };
            continue;
        }
        let (Some(table), Some((key, value))) = (&table, line.split_once('=')) else { continue };
        let key = key.trim().to_string();
        let entry = Entry {
            table: table.clone(),
            package: string_field(value, "package").unwrap_or_else(|| key.clone()),
            version: string_field(value, "version").with_context(|| format!("{HACK}: `{line}` has no version"))?,
            key: key.clone(),
            line: line.to_string(),
        };
        if let Some(known) = entries.get(&(table.clone(), key.clone()))
            && known.line != entry.line
        {
            bail!("{HACK}: `{}` and `{}` differ between build time and run time", known.line, entry.line);
        }
        entries.insert((table.clone(), key), entry);
    }
    Ok(entries.into_values().collect())
}

/// `field = "value"` inside an inline table.
fn string_field(value: &str, field: &str) -> Option<String> {
    value.match_indices(field).find_map(|(at, name)| {
        let before = value[..at].trim_end();
        if !(before.ends_with('{') || before.ends_with(',')) {
            return None;
        }
        let rest = value[at + name.len()..].trim_start().strip_prefix('=')?.trim_start().strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_string())
    })
}

/// Each crate (name, version) in `cargo tree -p xtask --format {p} --prefix depth --no-dedupe`, except what
/// only xtask-workspace-hack brings: the section must follow xtask's dependencies, never sustain itself.
pub fn xtask_crates(tree: &str) -> BTreeSet<(String, String)> {
    let mut crates = BTreeSet::new();
    let mut skip_below: Option<usize> = None;
    for line in tree.lines().map(str::trim) {
        let digits = line.find(|c: char| !c.is_ascii_digit()).unwrap_or(line.len());
        let Ok(depth) = line[..digits].parse::<usize>() else { continue };
        if skip_below.is_some_and(|skip| depth > skip) {
            continue;
        }
        skip_below = None;
        let mut words = line[digits..].split(' ');
        let (Some(name), Some(version)) = (words.next(), words.next()) else { continue };
        if name == XTASK_HACK_PACKAGE {
            skip_below = Some(depth);
            continue;
        }
        crates.insert((name.to_string(), version.trim_start_matches('v').to_string()));
    }
    crates
}

/// Whether `version` (`0.4.19`) meets the caret requirement `req` (`0.4`, `1`): equal up to and including
/// the requirement's first non-zero part, and not below it after that.
pub fn compatible(req: &str, version: &str) -> bool {
    let parse = |text: &str| text.split('.').map(|part| part.parse::<u64>().ok()).collect::<Option<Vec<u64>>>();
    let (Some(req), Some(version)) = (parse(req), parse(version.split(['-', '+']).next().unwrap_or(version))) else {
        return false;
    };
    let significant = req.iter().position(|part| *part != 0).unwrap_or(req.len().saturating_sub(1));
    req.iter().enumerate().all(|(at, part)| {
        let have = version.get(at).copied().unwrap_or(0);
        if at <= significant { have == *part } else { have >= *part }
    })
}

/// The generated section: the hack's lines for the crates xtask builds, table by table.
pub fn section(entries: &[Entry], crates: &BTreeSet<(String, String)>) -> String {
    let mut tables: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for entry in entries {
        if crates.iter().any(|(name, version)| *name == entry.package && compatible(&entry.version, version)) {
            tables.entry(entry.table.as_str()).or_default().push(entry.line.as_str());
        }
    }
    // `[dependencies]` first, then the per-target tables.
    let mut ordered: Vec<(&str, Vec<&str>)> = tables.into_iter().collect();
    ordered.sort_by_key(|(table, _)| (*table != "dependencies", *table));
    let mut text = String::from(PREAMBLE);
    for (index, (table, lines)) in ordered.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        text.push_str(&format!("[{table}]\n"));
        for line in lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// `current` with the text between its markers replaced by `section`.
pub fn replace_section(current: &str, section: &str) -> anyhow::Result<String> {
    let (Some(begin), Some(end)) = (current.find(BEGIN), current.find(END)) else {
        bail!("{XTASK_HACK} has no `{BEGIN}` … `{END}`");
    };
    let after_begin = begin + current[begin..].find('\n').map_or(BEGIN.len(), |at| at + 1);
    Ok(format!("{}{section}{}", &current[..after_begin], &current[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HACK_TEXT: &str = r#"[package]
name = "tokenstack-workspace-hack"

### BEGIN HAKARI SECTION
[dependencies]
regex-automata = { version = "0.4", default-features = false, features = ["meta", "std"] }
regex-syntax = { version = "0.8" }
syn-7b89eefb6aaa9bf3 = { package = "syn", version = "3", features = ["full"] }
syn-f595c2ba2a3f28df = { package = "syn", version = "2", features = ["full", "visit"] }
tokio = { version = "1", features = ["full"] }

[build-dependencies]
regex-syntax = { version = "0.8" }
proc-macro2 = { version = "1" }

[target.x86_64-unknown-linux-gnu.dependencies]
hyper = { version = "1", features = ["full"] }
libc = { version = "0.2" }

[target.x86_64-unknown-linux-gnu.build-dependencies]
libc = { version = "0.2" }

### END HAKARI SECTION
"#;

    const TREE: &str = "\
0xtask v0.1.0 (/w/xtask)
1regex v1.13.2
2regex-automata v0.4.19
3regex-syntax v0.8.12
2regex-syntax v0.8.12
1syn v2.0.119
2proc-macro2 v1.0.107
1xtask-workspace-hack v0.1.0 (/w/xtask/workspace-hack)
2libc v0.2.180
2syn v3.0.10
1libc-user v1.0.0
";

    #[test]
    fn the_section_is_the_hacks_lines_for_the_crates_xtask_builds() {
        let entries = hack_entries(HACK_TEXT).unwrap();
        assert_eq!(entries.len(), 8, "{entries:#?}");
        let crates = xtask_crates(TREE);
        assert!(!crates.contains(&("libc".to_string(), "0.2.180".to_string())), "only the section brings it");
        assert!(!crates.contains(&("syn".to_string(), "3.0.10".to_string())));
        let section = section(&entries, &crates);
        assert_eq!(
            section,
            format!(
                "{PREAMBLE}[dependencies]\nproc-macro2 = {{ version = \"1\" }}\n{}\n{}\n{}\n",
                r#"regex-automata = { version = "0.4", default-features = false, features = ["meta", "std"] }"#,
                r#"regex-syntax = { version = "0.8" }"#,
                r#"syn-f595c2ba2a3f28df = { package = "syn", version = "2", features = ["full", "visit"] }"#,
            )
        );
    }

    #[test]
    fn per_target_tables_follow_and_a_build_time_line_that_differs_is_an_error() {
        let entries = hack_entries(HACK_TEXT).unwrap();
        let crates = BTreeSet::from([("libc".to_string(), "0.2.180".to_string())]);
        assert_eq!(
            section(&entries, &crates),
            format!("{PREAMBLE}[target.x86_64-unknown-linux-gnu.dependencies]\nlibc = {{ version = \"0.2\" }}\n")
        );
        let differing = HACK_TEXT.replace(
            "[build-dependencies]\nregex-syntax = { version = \"0.8\" }",
            "[build-dependencies]\nregex-syntax = { version = \"0.8\", default-features = false }",
        );
        let err = hack_entries(&differing).unwrap_err().to_string();
        assert!(err.contains("differ between build time and run time"), "{err}");
    }

    #[test]
    fn caret_requirements() {
        assert!(compatible("0.4", "0.4.19"));
        assert!(!compatible("0.4", "0.5.0"));
        assert!(compatible("1", "1.13.2"));
        assert!(!compatible("1", "2.0.0"));
        assert!(compatible("0.10", "0.10.7") && !compatible("0.10", "0.11.0"));
        assert!(compatible("2", "2.0.119") && !compatible("3", "2.0.119"));
        assert!(compatible("0.0.3", "0.0.3") && !compatible("0.0.3", "0.0.4"));
        assert!(compatible("1.2", "1.3.0") && !compatible("1.2", "1.1.9"));
    }

    #[test]
    fn only_the_text_between_the_markers_is_replaced() {
        let current = format!("[package]\nname = \"x\"\n\n{BEGIN} (kept)\nold\n{END}\n# after\n");
        assert_eq!(
            replace_section(&current, "new\n").unwrap(),
            format!("[package]\nname = \"x\"\n\n{BEGIN} (kept)\nnew\n{END}\n# after\n")
        );
        assert!(replace_section("[package]\n", "new\n").is_err());
    }

    #[test]
    fn the_xtask_hack_is_fresh() {
        let expected = expected(&crate::project_root(), Lock::Locked).unwrap();
        assert!(
            expected.is_fresh(),
            "{} is stale; run `cargo xtask features`\n{}",
            expected.display,
            crate::report::unified_diff(
                &expected.display,
                expected.actual.as_deref().unwrap_or(""),
                &expected.expected
            )
        );
    }
}
