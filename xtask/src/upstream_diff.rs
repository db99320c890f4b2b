//! `cargo xtask upstream-diff OLD NEW`: what changed between two releases of an upstream spec, and which
//! overlays no longer apply to the new one.
//!
//! Both YAML files are converted to JSON and compared with Oxide's `drift`, which classifies each change as
//! backward-incompatible, forward-incompatible, incompatible, trivial or unhandled (needs a human). The
//! overlays of `spec/overlays` that extend the same upstream are applied to NEW action by action; an action
//! whose target matches nothing is an error, never skipped.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use drift::ChangeClass;
use serde_json::Value;

use crate::overlay::Overlay;
use crate::report::{FAILURE, NEEDS_UPDATE, header};

/// A classified upstream change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UpstreamChange {
    pub class: ChangeClass,
    pub message: String,
    pub old_pointer: String,
    pub new_pointer: String,
}

/// The whole report: classified changes and the overlay actions that no longer apply.
#[derive(Debug, Default)]
pub struct UpstreamReport {
    pub changes: Vec<UpstreamChange>,
    /// `overlay file: target (reason)` for each action whose target matches nothing in NEW.
    pub broken_overlays: Vec<String>,
}

impl UpstreamReport {
    /// 100 when an overlay no longer applies or a change breaks clients (backward-incompatible,
    /// incompatible or unhandled); 4 when only forward-incompatible changes need a regeneration; else 0.
    pub fn exit_code(&self) -> u8 {
        let breaking = self.changes.iter().any(|c| {
            matches!(c.class, ChangeClass::BackwardIncompatible | ChangeClass::Incompatible | ChangeClass::Unhandled)
        });
        if !self.broken_overlays.is_empty() || breaking {
            FAILURE
        } else if self.changes.iter().any(|c| c.class != ChangeClass::Trivial) {
            NEEDS_UPDATE
        } else {
            0
        }
    }
}

/// Compares two upstream documents and tries `overlays` (file name, overlay) on the new one.
pub fn compare(old: &Value, new: &Value, overlays: &[(String, Overlay)]) -> anyhow::Result<UpstreamReport> {
    let mut changes = Vec::new();
    for change in drift::compare(old, new).context("drift cannot compare the two upstream documents")? {
        let Some(path) = change.paths.first() else { continue };
        for info in &change.changes {
            changes.push(UpstreamChange {
                class: info.class,
                message: info.message.clone(),
                old_pointer: join(path.old.base_and_subpath().0, &info.old_subpath),
                new_pointer: join(path.new.base_and_subpath().0, &info.new_subpath),
            });
        }
    }
    changes.sort();
    changes.dedup();
    let mut broken_overlays = Vec::new();
    let mut patched = new.clone();
    for (file, overlay) in overlays {
        for action in overlay.unmatched_actions(&mut patched).with_context(|| format!("overlay {file} is invalid"))? {
            broken_overlays.push(format!("{file}: target {} matches nothing ({})", action.target, action.description));
        }
    }
    Ok(UpstreamReport { changes, broken_overlays })
}

/// The command: reads both files, finds the overlays extending the same upstream, prints the report.
pub fn run(root: &Path, old_path: &Path, new_path: &Path) -> anyhow::Result<u8> {
    let old = read_yaml(old_path)?;
    let new = read_yaml(new_path)?;
    let overlays = overlays_for(root, old_path, new_path)?;
    let report = compare(&old, &new, &overlays)?;
    header("Comparing", &format!("{} → {}", old_path.display(), new_path.display()));
    let mut by_class: BTreeMap<String, Vec<&UpstreamChange>> = BTreeMap::new();
    for change in &report.changes {
        by_class.entry(class_name(change.class).to_string()).or_default().push(change);
    }
    for (class, changes) in &by_class {
        header("Changed", &format!("{} {class}", changes.len()));
        for change in changes {
            println!("{:>12} {} (old {}, new {})", "", change.message, change.old_pointer, change.new_pointer);
        }
    }
    let names: Vec<&str> = overlays.iter().map(|(file, _)| file.as_str()).collect();
    if report.broken_overlays.is_empty() {
        header(
            "Fresh",
            &format!(
                "overlays apply: {}",
                if names.is_empty() { "(none extend this upstream)".to_string() } else { names.join(", ") }
            ),
        );
    } else {
        header("Failed", "overlays that no longer apply:");
        for broken in &report.broken_overlays {
            println!("{:>12} {broken}", "");
        }
    }
    let summary = format!(
        "{} changes: {}; {} broken overlay actions",
        report.changes.len(),
        by_class.iter().map(|(class, changes)| format!("{} {class}", changes.len())).collect::<Vec<_>>().join(", "),
        report.broken_overlays.len()
    );
    header("Summary", &summary);
    Ok(report.exit_code())
}

/// drift's class, spelled as in the docs.
pub fn class_name(class: ChangeClass) -> &'static str {
    match class {
        ChangeClass::BackwardIncompatible => "backward-incompatible",
        ChangeClass::ForwardIncompatible => "forward-incompatible",
        ChangeClass::Incompatible => "incompatible",
        ChangeClass::Trivial => "trivial",
        ChangeClass::Unhandled => "unhandled (review by hand)",
    }
}

fn read_yaml(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_yaml::from_str(&text).with_context(|| format!("{} is not valid YAML", path.display()))
}

/// Overlays of `spec/overlays` whose `extends` names the upstream OLD or NEW stands for: the same file
/// name, or a NEW file name that starts with the upstream's stem (`authentik-2026.2.yaml`).
fn overlays_for(root: &Path, old_path: &Path, new_path: &Path) -> anyhow::Result<Vec<(String, Overlay)>> {
    let dir = root.join("spec/overlays");
    let files = crate::overlay::overlay_files(&dir)?;
    let name_of = |path: &Path| path.file_name().unwrap_or_default().to_string_lossy().to_string();
    let (old_name, new_name) = (name_of(old_path), name_of(new_path));
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let overlay = Overlay::parse(&text).with_context(|| format!("bad overlay {}", name_of(&path)))?;
        let extends = overlay.extends.rsplit('/').next().unwrap_or_default().to_string();
        let stem = extends.trim_end_matches(".yaml").trim_end_matches(".yml");
        if extends == old_name || extends == new_name || new_name.starts_with(stem) {
            out.push((name_of(&path), overlay));
        }
    }
    Ok(out)
}

fn join(base: &str, subpath: &str) -> String {
    if subpath.is_empty() { base.to_string() } else { format!("{base}/{subpath}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(crate::project_root().join("xtask/fixtures/upstream-diff").join(name)).unwrap()
    }

    #[test]
    fn classifies_changes_and_reports_overlays_that_no_longer_apply() {
        let old: Value = serde_yaml::from_str(&fixture("old.yaml")).unwrap();
        let new: Value = serde_yaml::from_str(&fixture("new.yaml")).unwrap();
        let overlay = Overlay::parse(&fixture("overlay.yaml")).unwrap();
        let report = compare(&old, &new, &[("overlay.yaml".to_string(), overlay)]).unwrap();

        let found = |class: ChangeClass, text: &str| {
            report.changes.iter().any(|c| c.class == class && c.message.contains(text))
        };
        assert!(
            found(ChangeClass::BackwardIncompatible, "A new, required parameter 'owner' was added"),
            "{:#?}",
            report.changes
        );
        assert!(
            found(ChangeClass::BackwardIncompatible, "The operation tokens_destroy was removed"),
            "{:#?}",
            report.changes
        );
        // The description-only change of Token is trivial, if drift reports it at all.
        assert!(
            report.changes.iter().filter(|c| c.message.contains("metadata")).all(|c| c.class == ChangeClass::Trivial)
        );

        assert_eq!(
            report.broken_overlays,
            [
                "overlay.yaml: target $.paths['/tokens/{id}/'].delete matches nothing (the delete operation answers 204 only)"
            ]
        );
        assert_eq!(report.exit_code(), FAILURE);
    }

    #[test]
    fn identical_documents_need_nothing() {
        let old: Value = serde_yaml::from_str(&fixture("old.yaml")).unwrap();
        let overlay = Overlay::parse(&fixture("overlay.yaml")).unwrap();
        let report = compare(&old, &old, &[("overlay.yaml".to_string(), overlay)]).unwrap();
        assert!(report.changes.is_empty() && report.broken_overlays.is_empty(), "{report:?}");
        assert_eq!(report.exit_code(), 0);
    }

    #[test]
    fn the_real_upstreams_compare_cleanly_with_themselves() {
        let root = crate::project_root();
        for name in ["authentik.yaml", "netbird.yaml"] {
            let path = root.join("spec/upstream").join(name);
            let doc = read_yaml(&path).unwrap();
            let overlays = overlays_for(&root, &path, &path).unwrap();
            assert!(!overlays.is_empty(), "no overlay extends {name}");
            let report = compare(&doc, &doc, &overlays).unwrap();
            assert_eq!(report.exit_code(), 0, "{name}: {report:?}");
        }
    }
}
