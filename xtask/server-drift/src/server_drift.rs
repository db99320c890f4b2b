//! Spec ↔ server: compares `spec/openapi.json` with the document Dropshot emits for the generated trait.
//!
//! Both sides go through [`crate::normalize`] first; then Oxide's `drift` compares them semantically
//! (operations, parameters, bodies, responses, following `$ref`s), and [`operation_checks`] adds what drift
//! does not look at (operationIds, tags). Any difference drift does not classify as trivial is reported.

use std::collections::BTreeMap;

use anyhow::Context;
use drift::ChangeClass;
use serde_json::Value;

use crate::normalize::{Normalized, normalize};

/// Builds `token_api_mod::stub_api_description()` and returns Dropshot's OpenAPI document as JSON.
pub fn server_document() -> anyhow::Result<Value> {
    let api = tokenstack_api::token_api_mod::stub_api_description()
        .map_err(|errors| anyhow::anyhow!("the generated trait does not build an api description: {errors}"))?;
    api.openapi("tokenstack", dropshot::semver::Version::new(0, 1, 0))
        .json()
        .context("dropshot's openapi document does not serialize")
}

/// One difference between spec and server, ready to print on one line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// operationIds the difference is reached from (several for a shared schema).
    pub operations: Vec<String>,
    pub class: String,
    pub message: String,
    /// JSON pointer in the spec (paths spelled as in the spec).
    pub spec_pointer: String,
    /// JSON pointer in the server document.
    pub server_pointer: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let operations = match self.operations.as_slice() {
            [] => "(no operation)".to_string(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} (+{} more)", rest.len()),
        };
        write!(
            f,
            "{operations}: {} [{}] (spec {}, server {})",
            self.message, self.class, self.spec_pointer, self.server_pointer
        )
    }
}

/// Compares the spec document with the server document; returns every non-trivial difference, sorted.
pub fn compare(spec: &Value, server: &Value) -> anyhow::Result<Vec<Difference>> {
    let (spec, server) = normalize(spec, server);
    let mut differences = operation_checks(&spec, &server);
    let changes = drift::compare(&spec.doc, &server.doc).context("drift cannot compare spec and server document")?;
    for change in changes {
        for info in change.changes.iter().filter(|info| info.class != ChangeClass::Trivial) {
            let mut operations: Vec<String> = change
                .paths
                .iter()
                .filter_map(|path| path.old.endpoint_base().or(path.new.endpoint_base()))
                .map(|base| {
                    operation_name(&spec.doc, base)
                        .or_else(|| operation_name(&server.doc, base))
                        .unwrap_or_else(|| base.to_string())
                })
                .collect();
            operations.sort();
            operations.dedup();
            let Some(first) = change.paths.first() else { continue };
            differences.push(Difference {
                operations,
                class: format!("{:?}", info.class),
                message: info.message.clone(),
                spec_pointer: pointer(&spec, first.old.base_and_subpath().0, &info.old_subpath),
                server_pointer: pointer(&server, first.new.base_and_subpath().0, &info.new_subpath),
            });
        }
    }
    differences.sort();
    differences.dedup();
    Ok(differences)
}

/// What drift does not compare: per operation (path and method), the operationId and the tags.
fn operation_checks(spec: &Normalized, server: &Normalized) -> Vec<Difference> {
    let spec_ops = operations(&spec.doc);
    let server_ops = operations(&server.doc);
    let mut differences = Vec::new();
    for ((path, method), spec_op) in &spec_ops {
        let Some(server_op) = server_ops.get(&(path.clone(), method.clone())) else { continue };
        let endpoint = format!("#/paths/{}/{method}", escape(path));
        for key in ["operationId", "tags"] {
            if spec_op.get(key) != server_op.get(key) {
                differences.push(Difference {
                    operations: vec![op_id(spec_op)],
                    class: "Mismatch".to_string(),
                    message: format!(
                        "{key} is {} in the spec but {} on the server",
                        show(spec_op.get(key)),
                        show(server_op.get(key))
                    ),
                    spec_pointer: pointer(spec, &endpoint, key),
                    server_pointer: pointer(server, &endpoint, key),
                });
            }
        }
    }
    differences
}

fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op.get("responses").is_some() {
                out.insert((path.clone(), method.clone()), op);
            }
        }
    }
    out
}

fn op_id(op: &Value) -> String {
    op.get("operationId").and_then(Value::as_str).unwrap_or("<no operationId>").to_string()
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_string(), Value::to_string)
}

/// The operationId at `#/paths/<escaped path>/<method>`.
fn operation_name(doc: &Value, endpoint: &str) -> Option<String> {
    let pointer = endpoint.strip_prefix('#')?;
    doc.pointer(pointer)?.get("operationId").and_then(Value::as_str).map(str::to_string)
}

/// `base/subpath`, with the normalized path of `#/paths/...` spelled as in the original document.
fn pointer(doc: &Normalized, base: &str, subpath: &str) -> String {
    let mut pointer = base.to_string();
    if let Some(rest) = base.strip_prefix("#/paths/") {
        let (escaped_path, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let path = unescape(escaped_path);
        if let Some(original) = doc.original_paths.get(&path) {
            pointer = format!("#/paths/{}{}{tail}", escape(original), if tail.is_empty() { "" } else { "/" });
        }
    }
    if !subpath.is_empty() {
        pointer.push('/');
        pointer.push_str(subpath);
    }
    pointer
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use serde_json::json;

    use super::*;

    /// The real spec and server document, built once.
    fn documents() -> &'static (Value, Value) {
        static DOCS: OnceLock<(Value, Value)> = OnceLock::new();
        DOCS.get_or_init(|| {
            let text = std::fs::read_to_string(crate::project_root().join("spec/openapi.json")).unwrap();
            (serde_json::from_str(&text).unwrap(), server_document().unwrap())
        })
    }

    fn differences_after(change: impl FnOnce(&mut Value, &mut Value)) -> Vec<Difference> {
        let (mut spec, mut server) = documents().clone();
        change(&mut spec, &mut server);
        compare(&spec, &server).unwrap()
    }

    fn assert_reported(
        differences: &[Difference],
        operation: &str,
        text: &str,
        spec_pointer: &str,
        server_pointer: &str,
    ) {
        let found = differences.iter().any(|d| {
            d.operations.iter().any(|o| o == operation)
                && d.message.contains(text)
                && d.spec_pointer == spec_pointer
                && d.server_pointer == server_pointer
        });
        let lines: Vec<String> = differences.iter().map(ToString::to_string).collect();
        assert!(
            found,
            "expected `{operation}: {text}` at {spec_pointer} / {server_pointer}, got:\n{}",
            lines.join("\n")
        );
    }

    #[test]
    fn changed_parameter_type_is_reported() {
        let differences = differences_after(|spec, _| {
            spec["paths"]["/api/v3/core/tokens/{identifier}/"]["get"]["parameters"][0]["schema"] =
                json!({"type": "integer"});
        });
        assert_reported(
            &differences,
            "core_tokens_retrieve",
            "schema types changed",
            "#/paths/~1api~1v3~1core~1tokens~1{identifier}~1/get/parameters/0/schema",
            "#/paths/~1api~1v3~1core~1tokens~1{identifier}/get/parameters/0/schema",
        );
    }

    #[test]
    fn server_document_missing_a_parameter_is_reported() {
        let differences = differences_after(|_, server| {
            let params = server["paths"]["/api/v3/core/tokens"]["get"]["parameters"].as_array_mut().unwrap();
            let index = params.iter().position(|p| p["name"] == "ordering").unwrap();
            params.remove(index);
        });
        let line = differences
            .iter()
            .map(ToString::to_string)
            .find(|l| l.contains("'ordering' was removed"))
            .unwrap_or_default();
        assert_eq!(
            line,
            "core_tokens_list: The parameter 'ordering' was removed [BackwardIncompatible] \
             (spec #/components/parameters/QueryPaginationOrdering, server #/paths/~1api~1v3~1core~1tokens/get)"
        );
    }

    #[test]
    fn dropped_required_property_is_reported() {
        let differences = differences_after(|_, server| {
            let schema = &mut server["components"]["schemas"]["NetbirdError"];
            schema["required"] = json!(["message"]);
            schema["properties"].as_object_mut().unwrap().remove("code");
        });
        assert!(
            differences.iter().any(|d| d.operations.contains(&"netbird_tokens_create".to_string())
                && d.spec_pointer.starts_with("#/components/schemas/NetbirdError")
                && d.server_pointer.starts_with("#/components/schemas/NetbirdError")),
            "{differences:#?}"
        );
    }

    #[test]
    fn renamed_operation_id_and_changed_tags_are_reported() {
        let differences = differences_after(|_, server| {
            server["paths"]["/api/v3/core/tokens"]["get"]["operationId"] = json!("tokens_list");
            server["paths"]["/api/v3/core/tokens"]["get"]["tags"] = json!(["tokens"]);
        });
        let pointer = "#/paths/~1api~1v3~1core~1tokens~1/get/operationId";
        assert!(
            differences.iter().any(|d| d.message
                == r#"operationId is "core_tokens_list" in the spec but "tokens_list" on the server"#
                && d.spec_pointer == pointer),
            "{differences:#?}"
        );
        assert!(differences.iter().any(|d| d.message.starts_with("tags is")), "{differences:#?}");
    }

    #[test]
    fn missing_operation_is_reported() {
        let differences = differences_after(|_, server| {
            server["paths"]["/api/v3/core/tokens/{identifier}/view_key"].as_object_mut().unwrap().remove("get");
        });
        assert_reported(
            &differences,
            "core_tokens_view_key_retrieve",
            "was removed",
            "#/paths/~1api~1v3~1core~1tokens~1{identifier}~1view_key~1/get",
            "#/paths",
        );
    }
}
