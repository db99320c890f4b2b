//! Routes Dropshot cannot register as the spec writes them: a literal path segment beside a variable one
//! (authentik's `/core/users/me/` and `/core/users/service_account/` next to `/core/users/{id}/`; Dropshot's
//! router panics on the pair, dropshot#199). The server serves them through the variable route instead.
//!
//! [`merge_shadowed_routes`] rewrites a document, in OpenAPI terms, into the one the server implements: each
//! operation of the literal path moves to the variable path with the variable as a string path parameter. When
//! the variable path has no operation for that method, the moved operation keeps its operationId and the server
//! answers it only for the literal (405 otherwise, in the operation's error body); when it has one (`GET me` beside `GET {id}`), the two become that one
//! operation, whose success body is the untagged union of both, and the server dispatches on the literal. The
//! generator, the response validator and the drift check all apply this one function.

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

/// One literal-path operation and the variable-route operation that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowedOperation {
    /// The literal path's operationId (`core_users_me_retrieve`).
    pub operation_id: String,
    /// The operationId of the endpoint that answers it: its own, or the variable route's (`core_users_retrieve`).
    pub served_by: String,
    /// The path segment it answers to (`me`).
    pub literal: String,
    /// The path parameter that carries the literal (`id`).
    pub parameter: String,
}

fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn is_variable(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// The variable path that `literal_path` collides with, and the position and name of its variable.
fn shadowing_route(paths: &Map<String, Value>, literal_path: &str) -> Option<(String, String, String)> {
    let lit = segments(literal_path);
    paths.keys().find_map(|candidate| {
        let var = segments(candidate);
        if var.len() != lit.len() {
            return None;
        }
        let differing: Vec<usize> = (0..lit.len()).filter(|&i| lit[i] != var[i]).collect();
        match differing.as_slice() {
            [i] if is_variable(var[*i]) && !is_variable(lit[*i]) => Some((
                candidate.clone(),
                lit[*i].to_string(),
                var[*i].trim_start_matches('{').trim_end_matches('}').to_string(),
            )),
            _ => None,
        }
    })
}

/// The first 2xx status of an operation with its JSON body schema.
fn success_body(doc: &Value, operation: &Value) -> Option<(String, Value)> {
    let responses = operation.get("responses")?.as_object()?;
    let (status, response) = responses.iter().find(|(status, _)| status.starts_with('2'))?;
    let schema = crate::spec::resolve(doc, response).pointer("/content/application~1json/schema")?.clone();
    Some((status.clone(), schema))
}

/// The extension that marks an operation whose handler builds its whole response (`http::Response<Body>`).
pub const FREE_FORM: &str = "x-tokenstack-free-form";

/// Whether the operation is marked [`FREE_FORM`].
pub fn is_free_form(operation: &Value) -> bool {
    operation.get(FREE_FORM) == Some(&Value::Bool(true))
}

/// `value` with a `$ref` into the document resolved, owned.
fn resolved(doc: &Value, value: &Value) -> Value {
    crate::spec::resolve(doc, value).clone()
}

/// Folds `other` into the free-form operation `existing` that serves it on the same route and method: the
/// handler builds each response itself, so the merged operation keeps its own success response, gains the
/// other's error responses that have a JSON body (one error type for Dropshot's extractor errors), every query
/// parameter of both (optional, since each literal needs only its own) and one form body with the properties of
/// both (none required).
fn merge_free_form(doc: &Value, existing: &mut Value, other: &Value) {
    existing[FREE_FORM] = Value::Bool(true);
    let served_by = existing.get("operationId").and_then(Value::as_str).unwrap_or_default().to_upper_camel_case();
    for (status, response) in other.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let json_error = !status.starts_with('2')
            && !status.starts_with('3')
            && crate::spec::resolve(doc, response).pointer("/content/application~1json/schema").is_some();
        if json_error && existing["responses"].get(status).is_none() {
            existing["responses"][status] = response.clone();
        }
    }
    let mut parameters: Vec<Value> = existing.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    for parameter in other.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        let parameter = resolved(doc, parameter);
        let named = |p: &Value| p.get("name") == parameter.get("name") && p.get("in") == parameter.get("in");
        if parameter.get("in") == Some(&json!("query")) && !parameters.iter().any(|p| named(&resolved(doc, p))) {
            parameters.push(parameter);
        }
    }
    for parameter in &mut parameters {
        if parameter.get("in") == Some(&json!("query")) {
            *parameter = resolved(doc, parameter);
            parameter["required"] = Value::Bool(false);
        }
    }
    if !parameters.is_empty() {
        existing["parameters"] = Value::Array(parameters);
    }
    let Some((media_type, theirs)) = other
        .pointer("/requestBody/content")
        .and_then(Value::as_object)
        .and_then(|c| c.iter().next().map(|(media_type, media)| (media_type.clone(), resolved(doc, &media["schema"]))))
    else {
        return;
    };
    let ours = existing.pointer(&format!("/requestBody/content/{}/schema", media_type.replace('/', "~1")));
    let mut properties = ours.map(|s| resolved(doc, s)).and_then(|s| s.get("properties").cloned()).unwrap_or(json!({}));
    for (name, schema) in theirs.get("properties").and_then(Value::as_object).into_iter().flatten() {
        properties[name] = schema.clone();
    }
    let schema = json!({"title": format!("{served_by}Form"), "type": "object", "properties": properties});
    existing["requestBody"] = json!({"required": true, "content": {media_type: {"schema": schema}}});
}

/// Makes every path parameter `name` of the path item's operations a string.
fn stringify_parameter(item: &mut Value, name: &str) {
    for operation in item.as_object_mut().into_iter().flat_map(|item| item.values_mut()) {
        for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            if parameter.get("in") == Some(&json!("path")) && parameter.get("name") == Some(&json!(name)) {
                parameter["schema"] = json!({"type": "string"});
            }
        }
    }
}

/// Rewrites `doc` into the routes the server registers (see the module documentation) and lists what moved.
pub fn merge_shadowed_routes(doc: &mut Value) -> Vec<ShadowedOperation> {
    let mut moved = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object).cloned() else { return moved };
    let mut paths = paths;
    let literal_paths: Vec<String> = paths.keys().filter(|p| shadowing_route(&paths, p).is_some()).cloned().collect();
    for literal_path in literal_paths {
        let Some((variable_path, literal, parameter)) = shadowing_route(&paths, &literal_path) else { continue };
        let Some(Value::Object(operations)) = paths.remove(&literal_path) else { continue };
        let mut target = paths.remove(&variable_path).unwrap_or_else(|| json!({}));
        for (method, mut operation) in operations {
            let operation_id = operation.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
            let served_by = match target.get_mut(&method) {
                None => {
                    // On any other value of the parameter the route has no such method: 405, in the operation's
                    // own error body.
                    let error = operation.get("responses").and_then(Value::as_object).and_then(|responses| {
                        responses.iter().find(|(status, _)| status.starts_with('4')).map(|(_, r)| r.clone())
                    });
                    if let Some(error) = error {
                        operation["responses"]["405"] = error;
                    }
                    let param =
                        json!({"in": "path", "name": parameter, "required": true, "schema": {"type": "string"}});
                    match operation.get_mut("parameters").and_then(Value::as_array_mut) {
                        Some(parameters) => parameters.insert(0, param),
                        None => operation["parameters"] = json!([param]),
                    }
                    target[&method] = operation;
                    operation_id.clone()
                }
                Some(existing) if is_free_form(existing) || is_free_form(&operation) => {
                    merge_free_form(doc, existing, &operation);
                    existing.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string()
                }
                Some(existing) => {
                    let served_by = existing.get("operationId").and_then(Value::as_str).unwrap_or_default().to_string();
                    if let (Some((status, theirs)), Some((_, ours))) =
                        (success_body(doc, existing), success_body(doc, &operation))
                    {
                        let title = format!("{}Response", served_by.to_upper_camel_case());
                        existing["responses"][&status] = json!({
                            "description": "",
                            "content": {"application/json": {"schema": {"title": title, "anyOf": [theirs, ours]}}}
                        });
                    }
                    served_by
                }
            };
            moved.push(ShadowedOperation {
                operation_id,
                served_by,
                literal: literal.clone(),
                parameter: parameter.clone(),
            });
        }
        stringify_parameter(&mut target, &parameter);
        paths.insert(variable_path, target);
    }
    doc["paths"] = Value::Object(paths);
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, schema: &str) -> Value {
        json!({"operationId": id, "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}}})
    }

    #[test]
    fn literal_routes_move_into_the_variable_route() {
        let mut doc = json!({"paths": {
            "/u/{id}/": {
                "get": {"operationId": "retrieve", "parameters": [{"in": "path", "name": "id", "required": true, "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}}},
                "delete": {"operationId": "destroy", "parameters": [{"in": "path", "name": "id", "required": true, "schema": {"type": "integer"}}], "responses": {"204": {"description": ""}}}
            },
            "/u/me/": {"get": op("me", "SessionUser")},
            "/u/service_account/": {"post": op("service_account", "Created")},
            "/u/": {"get": op("list", "Page")}
        }});
        let moved = merge_shadowed_routes(&mut doc);
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.keys().collect::<Vec<_>>(), ["/u/", "/u/{id}/"]);
        let route = &paths["/u/{id}/"];
        assert_eq!(route["get"]["parameters"][0]["schema"], json!({"type": "string"}));
        assert_eq!(route["delete"]["parameters"][0]["schema"], json!({"type": "string"}));
        assert_eq!(
            route["get"]["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"],
            json!([{"$ref": "#/components/schemas/User"}, {"$ref": "#/components/schemas/SessionUser"}])
        );
        assert_eq!(route["post"]["operationId"], "service_account");
        assert_eq!(route["post"]["parameters"][0]["name"], "id");
        let served: Vec<(&str, &str, &str)> =
            moved.iter().map(|m| (m.operation_id.as_str(), m.served_by.as_str(), m.literal.as_str())).collect();
        assert!(served.contains(&("me", "retrieve", "me")), "{served:?}");
        assert!(served.contains(&("service_account", "service_account", "service_account")), "{served:?}");
    }

    #[test]
    fn documents_without_collisions_are_untouched() {
        let mut doc = json!({"paths": {"/a/{id}/": {"get": op("a", "A")}, "/b/me/": {"get": op("b", "B")}}});
        let before = doc.clone();
        assert!(merge_shadowed_routes(&mut doc).is_empty());
        assert_eq!(doc, before);
    }
}
