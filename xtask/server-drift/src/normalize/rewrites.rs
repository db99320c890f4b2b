//! The rewrites that the normalizations of [`super::NORMALIZATIONS`] apply, one function each.

use serde_json::{Value, json};

use super::{for_each_schema, normalized_path, operations_mut};

pub(super) fn merge_shadowed_routes(doc: &mut Value) {
    tokenstack_codegen::merge_shadowed_routes(doc);
}

pub(super) fn drop_document_metadata(doc: &mut Value) {
    let Some(map) = doc.as_object_mut() else { return };
    for key in ["servers", "tags", "security", "externalDocs"] {
        map.remove(key);
    }
    map.retain(|key, _| !key.starts_with("x-"));
    map.insert("info".into(), json!({"title": "normalized", "version": "0"}));
    if let Some(components) = map.get_mut("components").and_then(Value::as_object_mut) {
        components.remove("securitySchemes");
        components.remove("headers");
    }
}

pub(super) fn strip_trailing_slashes(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    let old = std::mem::take(paths);
    for (path, item) in old {
        paths.insert(normalized_path(&path), item);
    }
}

pub(super) fn drop_operation_docs(doc: &mut Value) {
    for op in operations_mut(doc) {
        for key in ["summary", "description", "security", "externalDocs"] {
            op.remove(key);
        }
        for parameter in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(parameter) = parameter.as_object_mut() {
                parameter.remove("description");
                parameter.remove("example");
            }
        }
        if let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) {
            body.remove("description");
        }
    }
}

pub(super) fn inline_responses(doc: &mut Value) {
    let components = doc.pointer("/components/responses").cloned().unwrap_or_default();
    for op in operations_mut(doc) {
        for response in op.get_mut("responses").and_then(Value::as_object_mut).into_iter().flat_map(|r| r.values_mut())
        {
            let target = response
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/responses/"))
                .and_then(|name| components.get(name));
            if let Some(target) = target {
                *response = target.clone();
            }
            if let Some(response) = response.as_object_mut() {
                response.insert("description".into(), json!(""));
                response.remove("headers");
                response.remove("links");
            }
        }
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        components.remove("responses");
    }
}

pub(super) fn collapse_error_codes(doc: &mut Value) {
    for op in operations_mut(doc) {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
        for class in ['4', '5'] {
            let range = format!("{class}XX");
            let codes: Vec<String> = responses
                .keys()
                .filter(|code| code.len() == 3 && code.starts_with(class) && code.as_str() != range)
                .cloned()
                .collect();
            let Some(first) = codes.first() else { continue };
            let body = responses[first].clone();
            let same = codes.iter().all(|code| responses[code] == body)
                && responses.get(&range).is_none_or(|existing| existing == &body);
            if same {
                codes.iter().for_each(|code| {
                    responses.remove(code);
                });
                responses.insert(range, body);
            }
        }
    }
}

pub(super) fn merge_error_classes(doc: &mut Value) {
    for op in operations_mut(doc) {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
        let Some(server_error) = responses.get("5XX").cloned() else { continue };
        if responses.get("4XX").is_none_or(|client_error| client_error == &server_error) {
            responses.remove("5XX");
            responses.insert("4XX".into(), server_error);
        }
    }
}

pub(super) fn free_form_responses(spec: &mut Value, server: &mut Value) {
    let free_form = json!({"default": {"content": {"*/*": {"schema": {}}}, "description": ""}});
    let mut replaced = Vec::new();
    if let Some(paths) = server.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                if op.get("responses") == Some(&free_form) {
                    replaced.push((path.clone(), method.clone()));
                }
            }
        }
    }
    for (path, method) in replaced {
        let spec_op = spec.get("paths").and_then(|p| p.get(&path)).and_then(|i| i.get(&method)).cloned();
        let (Some(spec_op), Some(op)) =
            (spec_op, server.get_mut("paths").and_then(|p| p.get_mut(&path)).and_then(|i| i.get_mut(&method)))
        else {
            continue;
        };
        let responses = spec_op.get("responses").cloned().unwrap_or_default();
        op["responses"] = responses.clone();
        // Its form body is read by the handler (`UntypedBody`, which Dropshot documents as octet-stream).
        let body = spec_op.get("requestBody").cloned();
        if let Some(body) = &body {
            op["requestBody"] = body.clone();
        }
        copy_referenced_schemas(spec, server, &responses);
        if let Some(body) = &body {
            copy_referenced_schemas(spec, server, body);
        }
    }
}

/// Copies the component schemas `value` refers to (and theirs) from the spec into the server document where it
/// lacks them: a free-form handler's error type is named in no typed response, so Dropshot does not emit it.
fn copy_referenced_schemas(spec: &Value, server: &mut Value, value: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                let missing = server.pointer(&format!("/components/schemas/{name}")).is_none();
                if let (true, Some(schema)) = (missing, spec.pointer(&format!("/components/schemas/{name}")).cloned()) {
                    server["components"]["schemas"][name] = schema.clone();
                    copy_referenced_schemas(spec, server, &schema);
                }
            }
            map.values().for_each(|v| copy_referenced_schemas(spec, server, v));
        }
        Value::Array(items) => items.iter().for_each(|v| copy_referenced_schemas(spec, server, v)),
        _ => {}
    }
}

pub(super) fn require_request_bodies(doc: &mut Value) {
    for op in operations_mut(doc) {
        if let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut) {
            body.insert("required".into(), Value::Bool(true));
        }
    }
}

pub(super) fn any_of_to_one_of(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        if let Some(any_of) = schema.remove("anyOf") {
            schema.insert("oneOf".into(), any_of);
        }
    });
}

pub(super) fn unrequire_nullable(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        let nullable: Vec<Value> = schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, property)| property.get("nullable") == Some(&Value::Bool(true)))
            .map(|(name, _)| Value::String(name.clone()))
            .collect();
        if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|name| !nullable.contains(name));
            if required.is_empty() {
                schema.remove("required");
            }
        }
    });
}

pub(super) fn wire_adjustments(doc: &mut Value) {
    let request_side = tokenstack_codegen::request_schema_names(doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for (name, schema) in schemas.iter_mut() {
            tokenstack_codegen::openapi_wire_adjustments(name, schema, request_side.contains(name));
        }
    }
    // Inline schemas of parameters and bodies are request-side: only the constraints go, and query values are
    // strings that the rules parse.
    let adjust = |parameter: &mut Value| {
        let query = parameter.get("in").and_then(Value::as_str) == Some("query");
        if let Some(schema) = parameter.get_mut("schema") {
            if query {
                *schema = tokenstack_codegen::server_query_parameter(schema);
            }
            tokenstack_codegen::openapi_wire_adjustments("", schema, true);
        }
    };
    if let Some(parameters) = doc.pointer_mut("/components/parameters").and_then(Value::as_object_mut) {
        parameters.values_mut().for_each(adjust);
    }
    for op in operations_mut(doc) {
        op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten().for_each(adjust);
    }
}

pub(super) fn drop_untyped_keywords(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        for key in ["example", "xml", "externalDocs", "discriminator"] {
            schema.remove(key);
        }
        if schema.get("format") == Some(&json!("email")) {
            schema.remove("format");
        }
    });
}

pub(super) fn drop_schema_annotations(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        for key in ["title", "description", "readOnly", "writeOnly"] {
            // Only annotation values: a property named `title` is a schema object inside `properties`, not here.
            if schema.get(key).is_some_and(|v| !v.is_object()) {
                schema.remove(key);
            }
        }
    });
}

pub(super) fn drop_integer_formats(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        if schema.get("type") == Some(&json!("integer")) {
            schema.remove("format");
        }
    });
}

pub(super) fn drop_optional_nullable(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else { return };
        for (name, property) in properties.iter_mut() {
            if !required.contains(name)
                && let Some(property) = property.as_object_mut()
            {
                property.remove("nullable");
            }
        }
    });
}

pub(super) fn sort_required(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
            required.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    });
}

pub(super) fn merge_object_all_of(doc: &mut Value) {
    // An allOf may name a component that is an allOf itself (NetBird's PeerBatch: Peer, which is PeerMinimum plus
    // its fields): merge until nothing changes, the inner ones first.
    loop {
        let before = doc.clone();
        merge_object_all_of_once(doc);
        if *doc == before {
            return;
        }
    }
}

fn merge_object_all_of_once(doc: &mut Value) {
    let schemas = doc.pointer("/components/schemas").cloned().unwrap_or(Value::Null);
    // A member: an inline object schema or a reference to one among the components.
    let object = |member: &Value| -> Option<Value> {
        let schema = match member.get("$ref").and_then(Value::as_str) {
            Some(reference) => schemas.get(reference.strip_prefix("#/components/schemas/")?)?.clone(),
            None => member.clone(),
        };
        (schema.get("type") == Some(&json!("object")) && schema.get("properties").is_some_and(Value::is_object))
            .then_some(schema)
    };
    for_each_schema(doc, &mut |schema| {
        let Some(members) = schema.get("allOf").and_then(Value::as_array).filter(|m| m.len() > 1) else { return };
        let Some(members) = members.iter().map(object).collect::<Option<Vec<Value>>>() else { return };
        let (mut properties, mut required) = (serde_json::Map::new(), Vec::new());
        for member in &members {
            for (name, property) in member["properties"].as_object().into_iter().flatten() {
                match properties.insert(name.clone(), property.clone()) {
                    // Two members define one property alike (PeerBatch repeats Peer's `created_at`): typify keeps it
                    // once.
                    Some(before) if before == *property => {}
                    // Two members define one property differently: typify would not merge them silently; leave
                    // it visible.
                    Some(_) => return,
                    None => {}
                }
            }
            for name in member.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !required.contains(name) {
                    required.push(name.clone());
                }
            }
        }
        schema.remove("allOf");
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
    });
}

pub(super) fn unwrap_single_all_of(doc: &mut Value) {
    fn unwrap(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.values_mut().for_each(unwrap);
                let single = map.len() == 1 && map.get("allOf").and_then(Value::as_array).is_some_and(|a| a.len() == 1);
                if single && let Some(Value::Array(mut items)) = map.remove("allOf") {
                    *value = items.remove(0);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(unwrap),
            _ => {}
        }
    }
    unwrap(doc);
}

pub(super) fn empty_additional_properties(doc: &mut Value) {
    for_each_schema(doc, &mut |schema| {
        if schema.get("additionalProperties") == Some(&json!({})) {
            schema.insert("additionalProperties".into(), Value::Bool(true));
        }
    });
}
