//! Loads the merged OpenAPI document and checks the rules both generators rely on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use openapiv3::{OpenAPI, Operation, ReferenceOr, Response, StatusCode};

/// Why a spec cannot be used for generation.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a valid OpenAPI 3.0 document: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("invalid spec: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("code generation failed: {0}")]
    Generation(String),
}

/// A loaded and validated merged spec.
#[derive(Debug, Clone)]
pub struct Spec {
    pub openapi: OpenAPI,
    /// The same document as plain JSON, for schema conversion.
    pub raw: serde_json::Value,
}

/// One operation of the spec, with what the generators need resolved.
#[derive(Debug, Clone)]
pub(crate) struct OperationInfo<'a> {
    pub path: &'a str,
    pub method: &'static str,
    pub operation: &'a Operation,
    pub operation_id: &'a str,
}

/// Reads `path` (JSON), parses it and validates it.
pub fn load_spec(path: &Path) -> Result<Spec, SpecError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SpecError::Read { path: path.display().to_string(), source })?;
    Spec::from_json(&text, &path.display().to_string())
}

impl Spec {
    /// Parses and validates a JSON document; `origin` names it in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Spec, SpecError> {
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|source| SpecError::Parse { path: origin.to_string(), source })?;
        let openapi: OpenAPI = serde_json::from_value(raw.clone())
            .map_err(|source| SpecError::Parse { path: origin.to_string(), source })?;
        let spec = Spec { openapi, raw };
        spec.validate()?;
        Ok(spec)
    }

    /// The document the server implements: shadowed literal routes merged into their variable routes
    /// ([`crate::merge_shadowed_routes`]), with what moved.
    pub fn server_side(&self) -> Result<(Spec, Vec<crate::ShadowedOperation>), SpecError> {
        let mut raw = self.raw.clone();
        let moved = crate::merge_shadowed_routes(&mut raw);
        if moved.is_empty() {
            return Ok((self.clone(), moved));
        }
        let spec = Spec::from_json(&raw.to_string(), "the server-side document")?;
        Ok((spec, moved))
    }

    /// Every operation, in document order.
    pub(crate) fn operations(&self) -> Vec<OperationInfo<'_>> {
        let mut out = Vec::new();
        for (path, item) in &self.openapi.paths.paths {
            let ReferenceOr::Item(item) = item else { continue };
            for (method, operation) in item.iter() {
                out.push(OperationInfo {
                    path,
                    method: method_name(method),
                    operation,
                    operation_id: operation.operation_id.as_deref().unwrap_or(""),
                });
            }
        }
        out
    }

    /// The operationIds of the spec, in document order.
    pub fn operation_ids(&self) -> Vec<String> {
        self.operations().iter().map(|op| op.operation_id.to_string()).collect()
    }

    /// Resolves a response that may be a `$ref` into `components.responses`.
    pub(crate) fn response<'a>(&'a self, response: &'a ReferenceOr<Response>) -> Option<&'a Response> {
        match response {
            ReferenceOr::Item(response) => Some(response),
            ReferenceOr::Reference { reference } => {
                let name = reference.strip_prefix("#/components/responses/")?;
                match self.openapi.components.as_ref()?.responses.get(name)? {
                    ReferenceOr::Item(response) => Some(response),
                    ReferenceOr::Reference { .. } => None,
                }
            }
        }
    }

    /// The success status and response, and the (single) error body schema of an operation.
    pub(crate) fn responses<'a>(&'a self, operation: &'a Operation) -> (Vec<(u16, &'a Response)>, BTreeSet<String>) {
        let mut success = Vec::new();
        let mut errors = BTreeSet::new();
        for (status, response) in &operation.responses.responses {
            let Some(response) = self.response(response) else { continue };
            // A redirect is the success of the operations that answer one (authorize).
            let is_success = match status {
                StatusCode::Code(code) => (200..400).contains(code),
                StatusCode::Range(range) => *range == 2 || *range == 3,
            };
            if is_success {
                let code = match status {
                    StatusCode::Code(code) => *code,
                    StatusCode::Range(_) => 200,
                };
                success.push((code, response));
            } else {
                errors.insert(json_body_schema(response).map(|s| s.to_string()).unwrap_or_default());
            }
        }
        (success, errors)
    }

    /// Whether the operation is marked `x-tokenstack-free-form` ([`crate::FREE_FORM`]).
    pub(crate) fn is_free_form(&self, operation: &Operation) -> bool {
        operation.extensions.get(crate::FREE_FORM) == Some(&serde_json::Value::Bool(true))
    }

    fn validate(&self) -> Result<(), SpecError> {
        let mut problems = Vec::new();
        if !self.openapi.openapi.starts_with("3.0.") {
            problems.push(format!("openapi version {} is not 3.0.x", self.openapi.openapi));
        }
        let mut seen = BTreeMap::new();
        for op in self.operations() {
            let at = format!("{} {}", op.method, op.path);
            if op.operation_id.is_empty() {
                problems.push(format!("{at} has no operationId"));
                continue;
            }
            if let Some(first) = seen.insert(op.operation_id, at.clone()) {
                problems.push(format!("operationId {} is used by {first} and {at}", op.operation_id));
            }
            let (success, errors) = self.responses(op.operation);
            // A free-form handler writes its own status, so it may document several (a page and its redirect).
            let free_form = self.is_free_form(op.operation);
            let allowed = if free_form { !success.is_empty() } else { success.len() == 1 };
            if !allowed {
                problems.push(format!(
                    "{} has {} success responses; exactly one is required",
                    op.operation_id,
                    success.len()
                ));
            }
            if errors.iter().filter(|e| !e.is_empty()).count() > 1 {
                problems.push(format!(
                    "{} has {} different error bodies; one error schema is required",
                    op.operation_id,
                    errors.len()
                ));
            }
            // A free-form operation may answer errors without a JSON body (userinfo's bodiless 401, a page's HTML
            // 404) beside its one JSON error schema.
            if errors.contains("") && !free_form {
                problems.push(format!("{} has an error response without an application/json schema", op.operation_id));
            }
        }
        // The server serves a literal segment beside a variable one through the variable route; whatever is left
        // after that merge Dropshot cannot route.
        let mut server_routes = self.raw.clone();
        crate::merge_shadowed_routes(&mut server_routes);
        let paths = server_routes.get("paths").and_then(serde_json::Value::as_object).cloned().unwrap_or_default();
        problems.extend(route_conflicts(paths.keys().map(String::as_str)));
        if problems.is_empty() { Ok(()) } else { Err(SpecError::Invalid(problems)) }
    }
}

/// `value` itself, or what its `$ref` (a pointer into this document) names.
pub(crate) fn resolve<'a>(doc: &'a serde_json::Value, value: &'a serde_json::Value) -> &'a serde_json::Value {
    match value.get("$ref").and_then(serde_json::Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

/// The `application/json` schema of a response, as JSON.
pub(crate) fn json_body_schema(response: &Response) -> Option<serde_json::Value> {
    let media = response.content.get("application/json")?;
    serde_json::to_value(media.schema.as_ref()?).ok()
}

fn method_name(method: &str) -> &'static str {
    match method {
        "get" => "GET",
        "put" => "PUT",
        "post" => "POST",
        "delete" => "DELETE",
        "options" => "OPTIONS",
        "head" => "HEAD",
        "patch" => "PATCH",
        _ => "TRACE",
    }
}

/// Dropshot panics when a literal and a variable segment, or two differently named variables, sit at the
/// same position under the same parent; report such pairs instead.
fn route_conflicts<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut children: BTreeMap<Vec<String>, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect();
        for depth in 0..segments.len() {
            children.entry(segments[..depth].to_vec()).or_default().insert(segments[depth].clone());
        }
    }
    let mut problems = Vec::new();
    for (parent, segs) in children {
        let variables: Vec<&String> = segs.iter().filter(|s| s.starts_with('{')).collect();
        let literals = segs.len() - variables.len();
        if variables.len() > 1 || (!variables.is_empty() && literals > 0) {
            problems.push(format!(
                "/{}/ has sibling segments {:?}, which Dropshot cannot route",
                parent.join("/"),
                segs
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_literal_and_variable_conflict() {
        let problems = route_conflicts(["/a/me/", "/a/{id}/", "/b/{x}/c"].into_iter());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("/a/"), "{problems:?}");
    }

    #[test]
    fn rejects_missing_operation_id_and_3_1() {
        let doc = r#"{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":""}}}}}}"#;
        let Err(SpecError::Invalid(problems)) = Spec::from_json(doc, "test") else { panic!("accepted") };
        assert!(problems.iter().any(|p| p.contains("3.1.0")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("no operationId")), "{problems:?}");
    }

    /// A page: its HTML, its redirect, its HTML 404 and one JSON error; only a free-form operation may have them,
    /// and the client's document keeps its JSON error alone.
    #[test]
    fn free_form_operations_may_answer_pages_redirects_and_html_errors() {
        let page = |free_form: bool| {
            format!(
                r#"{{"openapi":"3.0.3","info":{{"title":"t","version":"1"}},"paths":{{"/p/":{{"get":{{"operationId":"p",
                "x-tokenstack-free-form":{free_form},"responses":{{
                "200":{{"description":"","content":{{"text/html":{{"schema":{{"type":"string"}}}}}}}},
                "302":{{"description":""}},
                "404":{{"description":"","content":{{"text/html":{{"schema":{{"type":"string"}}}}}}}},
                "400":{{"description":"","content":{{"application/json":{{"schema":{{"type":"object"}}}}}}}}}}}}}}}}}}"#
            )
        };
        let Err(SpecError::Invalid(problems)) = Spec::from_json(&page(false), "test") else { panic!("accepted") };
        assert!(problems.iter().any(|p| p.contains("2 success responses")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("without an application/json schema")), "{problems:?}");
        let spec = Spec::from_json(&page(true), "test").expect("a free-form page is valid");
        let client = crate::client::client_document(&spec);
        let openapiv3::ReferenceOr::Item(item) = &client.paths.paths["/p/"] else { panic!("an item") };
        let statuses: Vec<String> =
            item.get.as_ref().expect("get").responses.responses.keys().map(ToString::to_string).collect();
        assert_eq!(statuses, ["200", "302", "400"], "the HTML 404 is left out of the client's document");
    }
}
