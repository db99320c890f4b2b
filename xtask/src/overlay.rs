//! Applies OpenAPI Overlay 1.0 and 1.1 documents (JSONPath `target` with `update`, `remove` or 1.1's `copy`) to a
//! JSON value.

use anyhow::{Context, bail};
use serde_json::Value;
use serde_json_path::JsonPath;

/// One parsed overlay document.
#[derive(Debug)]
pub struct Overlay {
    /// The upstream file it extends, relative to the overlay (`../upstream/x.yaml`).
    pub extends: String,
    pub actions: Vec<Action>,
}

/// One overlay action; `description` is its reason and is required here.
#[derive(Debug)]
pub struct Action {
    pub target: String,
    pub description: String,
    pub update: Option<Value>,
    pub remove: bool,
    /// Overlay 1.1: a JSONPath to one node of the document whose value is merged into each target, like `update`.
    pub copy: Option<String>,
}

/// The overlay files (`*.yaml`, `*.yml`) of `dir`, sorted by name.
pub fn overlay_files(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

impl Overlay {
    /// Parses an overlay document (YAML or JSON).
    pub fn parse(text: &str) -> anyhow::Result<Overlay> {
        let doc: Value = serde_yaml::from_str(text).context("overlay is not valid YAML")?;
        let version = doc.get("overlay").and_then(Value::as_str).unwrap_or_default();
        if !version.starts_with("1.") {
            bail!("`overlay: {version}` is not an Overlay 1.x document");
        }
        let extends = doc.get("extends").and_then(Value::as_str).context("overlay has no `extends`")?;
        let mut actions = Vec::new();
        for (i, action) in
            doc.get("actions").and_then(Value::as_array).context("overlay has no `actions`")?.iter().enumerate()
        {
            let field = |name: &str| action.get(name).and_then(Value::as_str).map(str::to_string);
            let target = field("target").with_context(|| format!("action {i} has no target"))?;
            let description = field("description")
                .filter(|d| !d.trim().is_empty())
                .with_context(|| format!("action {i} ({target}) has no description; every change needs a reason"))?;
            let update = action.get("update").cloned();
            let remove = action.get("remove") == Some(&Value::Bool(true));
            let copy = field("copy");
            if copy.is_some() && version.starts_with("1.0") {
                bail!("action {i} ({target}) uses `copy`, which needs `overlay: 1.1.0` or later");
            }
            if [update.is_some(), remove, copy.is_some()].iter().filter(|&&set| set).count() != 1 {
                bail!("action {i} ({target}) must have exactly one of `update`, `remove: true` and `copy`");
            }
            actions.push(Action { target, description, update, remove, copy });
        }
        Ok(Overlay { extends: extends.to_string(), actions })
    }

    /// Applies every action in order. A target that matches nothing is an error: an overlay that no longer
    /// applies to its upstream must be fixed, never skipped.
    pub fn apply(&self, doc: &mut Value) -> anyhow::Result<()> {
        for action in &self.actions {
            if !action.apply(doc)? {
                bail!("overlay target {} matches nothing ({})", action.target, action.description);
            }
        }
        Ok(())
    }

    /// Applies every action that can be applied and returns the ones whose target matches nothing, for
    /// reports that list all broken actions at once (`cargo xtask upstream-diff`).
    pub fn unmatched_actions(&self, doc: &mut Value) -> anyhow::Result<Vec<&Action>> {
        let mut unmatched = Vec::new();
        for action in &self.actions {
            if !action.apply(doc)? {
                unmatched.push(action);
            }
        }
        Ok(unmatched)
    }
}

impl Action {
    /// Applies this action; `false` when its target matches nothing (the caller decides how to fail).
    fn apply(&self, doc: &mut Value) -> anyhow::Result<bool> {
        let path = JsonPath::parse(&self.target).with_context(|| format!("bad JSONPath {}", self.target))?;
        let mut pointers: Vec<String> =
            path.query_located(doc).locations().map(|location| location.to_json_pointer()).collect();
        if pointers.is_empty() {
            return Ok(false);
        }
        // The copied value is read once, before any target changes.
        let copied = match &self.copy {
            Some(source) => {
                let source_path = JsonPath::parse(source).with_context(|| format!("bad JSONPath {source}"))?;
                let nodes = source_path.query(doc).all();
                match nodes.as_slice() {
                    [node] => Some((*node).clone()),
                    [] => return Ok(false),
                    _ => bail!("copy source {source} matches {} nodes; it must match one", nodes.len()),
                }
            }
            None => None,
        };
        // Remove array elements from the back so earlier indexes stay valid.
        pointers.reverse();
        for pointer in pointers {
            if self.remove {
                remove_at(doc, &pointer)?;
            } else if let Some(update) = self.update.as_ref().or(copied.as_ref()) {
                let node = doc.pointer_mut(&pointer).context("matched node vanished")?;
                merge(node, update);
            }
        }
        Ok(true)
    }
}

/// Overlay 1.0 update semantics: objects merge recursively, arrays append, anything else is replaced.
fn merge(node: &mut Value, update: &Value) {
    match (node, update) {
        (Value::Object(node), Value::Object(update)) => {
            for (key, value) in update {
                match node.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        node.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(node), Value::Array(update)) => node.extend(update.iter().cloned()),
        (Value::Array(node), update) => node.push(update.clone()),
        (node, update) => *node = update.clone(),
    }
}

fn remove_at(doc: &mut Value, pointer: &str) -> anyhow::Result<()> {
    let (parent, last) = pointer.rsplit_once('/').context("cannot remove the document root")?;
    let key = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            let index: usize = key.parse().context("bad array index")?;
            items.remove(index);
        }
        _ => bail!("cannot remove {pointer}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn overlay(actions: &str) -> Overlay {
        Overlay::parse(&format!(
            "overlay: 1.0.0\ninfo: {{title: t, version: '1'}}\nextends: x.yaml\nactions:\n{actions}"
        ))
        .unwrap()
    }

    #[test]
    fn update_merges_and_remove_deletes() {
        let mut doc = json!({"a": {"b": 1, "c": [1]}, "d": {"e": 1}});
        overlay("  - {target: '$.a', description: r, update: {b: 2, c: [2], n: x}}\n  - {target: '$.d.e', description: r, remove: true}")
            .apply(&mut doc)
            .unwrap();
        assert_eq!(doc, json!({"a": {"b": 2, "c": [1, 2], "n": "x"}, "d": {}}));
    }

    #[test]
    fn copy_merges_the_source_into_the_target() {
        let mut doc = json!({"s": {"A": {"type": "object", "p": [1]}}});
        let overlay = Overlay::parse(
            "overlay: 1.1.0\nextends: x.yaml\nactions:\n  - {target: '$.s', description: r, update: {B: {p: [0]}}}\n  - {target: '$.s.B', description: r, copy: '$.s.A'}\n  - {target: '$.s.A', description: r, remove: true}",
        )
        .unwrap();
        overlay.apply(&mut doc).unwrap();
        assert_eq!(doc, json!({"s": {"B": {"type": "object", "p": [0, 1]}}}));
        let mut missing = json!({"s": {}});
        let err = overlay.apply(&mut missing).unwrap_err();
        assert!(err.to_string().contains("matches nothing"), "{err}");
    }

    #[test]
    fn copy_needs_overlay_1_1() {
        let err =
            Overlay::parse("overlay: 1.0.0\nextends: x\nactions:\n  - {target: '$', description: r, copy: '$.a'}")
                .unwrap_err();
        assert!(err.to_string().contains("1.1"), "{err}");
    }

    #[test]
    fn unmatched_target_is_an_error() {
        let err = overlay("  - {target: '$.nope', description: r, update: {}}").apply(&mut json!({})).unwrap_err();
        assert!(err.to_string().contains("matches nothing"), "{err}");
    }

    #[test]
    fn action_without_reason_is_rejected() {
        let err = Overlay::parse("overlay: 1.0.0\nextends: x\nactions:\n  - {target: '$', update: {}}").unwrap_err();
        assert!(err.to_string().contains("needs a reason"), "{err}");
    }
}
