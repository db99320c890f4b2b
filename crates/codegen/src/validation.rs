//! The response-validation document: every operation's documented responses, with draft-07 body schemas.
//!
//! `tokenstack-api`'s build script writes it next to the generated trait, so the server validates responses
//! against the spec without converting OpenAPI itself or linking the generators.

use serde_json::{Map, Value, json};

use crate::Spec;
use crate::schema::validation_schema;
use crate::spec::resolve;

/// `{"components": {"schemas": {…}}, "operations": {operationId: {status: {"media_type", "schema"}}}}`, where
/// `media_type` and `schema` are null for a response without content; `$ref`s point into `components`.
pub fn validation_document(spec: &Spec) -> String {
    // The operations as the server registers them: a merged operation's body is the union of both.
    let mut server_routes = spec.raw.clone();
    crate::merge_shadowed_routes(&mut server_routes);
    let doc = &server_routes;
    let schemas: Map<String, Value> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|schemas| schemas.iter().map(|(name, schema)| (name.clone(), validation_schema(schema))).collect())
        .unwrap_or_default();
    let mut operations = Map::new();
    // A free-form operation's handler checks each response under the operationId it answered (authorize/ or
    // userinfo/ through the same route), so those keep their own responses, as written.
    let served = doc.get("paths").and_then(Value::as_object).into_iter().flat_map(Map::values);
    let written = spec.raw.get("paths").and_then(Value::as_object).into_iter().flat_map(Map::values);
    for (item, as_written) in served.map(|item| (item, false)).chain(written.map(|item| (item, true))) {
        for operation in item.as_object().into_iter().flat_map(Map::values) {
            let Some(operation_id) = operation.get("operationId").and_then(Value::as_str) else { continue };
            if as_written && !crate::is_free_form(operation) {
                continue;
            }
            let mut responses = Map::new();
            for (status, response) in operation.get("responses").and_then(Value::as_object).into_iter().flatten() {
                let response = resolve(doc, response);
                let content = response.get("content").and_then(Value::as_object).and_then(|c| c.iter().next());
                let documented = match content {
                    None => json!({"media_type": null, "schema": null}),
                    Some((media_type, media)) => json!({
                        "media_type": media_type,
                        "schema": media.get("schema").map(validation_schema),
                    }),
                };
                responses.insert(status.clone(), documented);
            }
            operations.insert(operation_id.to_string(), Value::Object(responses));
        }
    }
    json!({"components": {"schemas": schemas}, "operations": operations}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_responses_and_keeps_constraints() {
        let doc = r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"get": {"operationId": "x", "responses": {
                "200": {"description": "", "content": {"application/json": {"schema": {"type": "string", "maxLength": 3, "nullable": true}}}},
                "404": {"$ref": "#/components/responses/E"}}}}},
            "components": {"responses": {"E": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/E"}}}}},
                "schemas": {"E": {"type": "object", "example": {}}}}}"##;
        let spec = Spec::from_json(doc, "test").expect("valid spec");
        let document: Value = serde_json::from_str(&validation_document(&spec)).expect("json");
        assert_eq!(document["operations"]["x"]["200"]["schema"], json!({"type": ["string", "null"], "maxLength": 3}));
        assert_eq!(document["operations"]["x"]["404"]["schema"], json!({"$ref": "#/components/schemas/E"}));
        assert_eq!(document["components"]["schemas"]["E"], json!({"type": "object"}));
    }
}
