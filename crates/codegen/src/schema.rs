//! Converts OpenAPI 3.0 schemas into the JSON Schema that typify reads, applying the server's wire adjustments.
//!
//! The server types differ from the spec in a few deliberate ways, all listed here with their reason.
//! The drift check normalizes exactly these differences.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// Validation keywords dropped from server types: the handlers validate these themselves, so a bad value
/// gets the upstream-shaped field error (authentik `{"identifier": [...]}`, NetBird 422) instead of a
/// generic body-parse error.
pub const STRIPPED_CONSTRAINTS: &[&str] =
    &["pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];

/// Request bodies the server takes as any JSON value and its rules parse, field by field, as the upstream does
/// (DRF serializers, Go's `json.Decoder` followed by NetBird's checks): a missing field, a null, a bad choice
/// or a wrong type is the rule's field-keyed 400 or 422, never a body-parse error before the rule runs.
pub const RULE_PARSED_BODIES: &[&str] = &[
    "TokenRequest",
    "PatchedTokenRequest",
    "TokenSetKeyRequest",
    "UserRequest",
    "PatchedUserRequest",
    "UserServiceAccountRequest",
    "PersonalAccessTokenRequest",
    "UserCreateRequest",
    "NetbirdUserRequest",
    "NetbirdGroupRequest",
    "GroupRequest",
    "PatchedGroupRequest",
    "UserAccountRequest",
    "UserPasswordSetRequest",
    "CreateSetupKeyRequest",
    "SetupKeyRequest",
    "SetupRequest",
    "PeerRequest",
    "AccountRequest",
    "OAuth2ProviderRequest",
    "PatchedOAuth2ProviderRequest",
    "ApplicationRequest",
    "PatchedApplicationRequest",
    "CertificateKeyPairRequest",
    "PatchedCertificateKeyPairRequest",
    "CertificateGenerationRequest",
    "ScopeMappingRequest",
    "PatchedScopeMappingRequest",
    // tokenstack's own: the seed loader parses documents (absent and null `expires` differ), and the export is
    // checked against the real schema by the response validator.
    "SeedDocument",
    // Likewise `PUT /_tokenstack/state`'s body: a seed document, a blueprint, or the YAML text of either.
    "StateDocument",
];

/// Response-only schemas whose `type: number` fields are served as integers, because authentik writes
/// pagination counters as `1`, not `1.0`.
pub const INTEGER_NUMBER_SCHEMAS: &[&str] = &["Pagination"];

/// OpenAPI keywords with no JSON Schema meaning for typify.
const DROPPED_KEYWORDS: &[&str] = &["example", "xml", "externalDocs", "discriminator"];

/// Schema names reachable from request bodies and parameters (these keep optional fields optional).
pub fn request_schema_names(doc: &Value) -> BTreeSet<String> {
    let mut roots = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values().filter_map(Value::as_object) {
            for operation in item.values().filter_map(Value::as_object) {
                if let Some(body) = operation.get("requestBody") {
                    roots.push(body.clone());
                }
                if let Some(params) = operation.get("parameters") {
                    roots.push(params.clone());
                }
            }
        }
    }
    let schemas = doc.pointer("/components/schemas").cloned().unwrap_or_default();
    let mut names = BTreeSet::new();
    while let Some(value) = roots.pop() {
        collect_refs(&value, &mut |name| {
            if names.insert(name.to_string())
                && let Some(schema) = schemas.get(name)
            {
                roots.push(schema.clone());
            }
        });
    }
    names
}

fn collect_refs(value: &Value, found: &mut impl FnMut(&str)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    if let Some(name) = child.as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                        found(name);
                    }
                } else {
                    collect_refs(child, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, found)),
        _ => {}
    }
}

/// Converts a named component schema for the server's type space.
pub fn server_component(name: &str, schema: &Value, request_side: bool) -> Value {
    let mut schema = schema.clone();
    openapi_wire_adjustments(name, &mut schema, request_side);
    to_json_schema(&schema)
}

/// The server's wire adjustments expressed in OpenAPI terms, for the drift check: what Dropshot's document
/// shows for component `name` once the server types are generated. Strips [`STRIPPED_CONSTRAINTS`] at every
/// level; on the response side also makes nullable properties required (DRF writes empty nullable fields as
/// `null`, and a required+nullable field is always serialized) and, for
/// [`INTEGER_NUMBER_SCHEMAS`], turns `number` into `integer`. Does not touch `nullable` itself.
pub fn openapi_wire_adjustments(name: &str, schema: &mut Value, request_side: bool) {
    if RULE_PARSED_BODIES.contains(&name) {
        let description = schema.get("description").cloned();
        *schema = json!({});
        if let Some(description) = description {
            schema["description"] = description;
        }
        return;
    }
    if !request_side {
        require_nullable_properties(schema);
        if INTEGER_NUMBER_SCHEMAS.contains(&name) {
            numbers_to_integers(schema);
        }
    }
    strip_constraints(schema);
}

fn strip_constraints(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // A constraint keyword has a scalar value; a property that happens to share its name has a schema.
            map.retain(|key, value| value.is_object() || !STRIPPED_CONSTRAINTS.contains(&key.as_str()));
            map.values_mut().for_each(strip_constraints);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_constraints),
        _ => {}
    }
}

/// A query parameter's schema on the server: every scalar is a string, which the rules parse with the upstream's
/// own messages (django-filter's `Select a valid choice.`, NetBird's 422), where a typed extractor would reject
/// the request first. Arrays keep their shape with string items.
pub fn server_query_parameter(schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => json!({"type": "array", "items": {"type": "string"}}),
        _ => json!({"type": "string"}),
    }
}

/// Converts an inline schema (a parameter or an operation body) for the server's type space.
pub fn server_inline(schema: &Value) -> Value {
    let mut schema = schema.clone();
    strip_constraints(&mut schema);
    to_json_schema(&schema)
}

/// Converts a schema for response validation: every constraint stays, so responses are checked against the
/// spec itself, not against the server's types.
pub fn validation_schema(schema: &Value) -> Value {
    to_json_schema(schema)
}

fn require_nullable_properties(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    let nullable: Vec<String> = object
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p.get("nullable") == Some(&Value::Bool(true)))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    if nullable.is_empty() {
        return;
    }
    let required = object.entry("required").or_insert_with(|| json!([]));
    if let Some(required) = required.as_array_mut() {
        for name in nullable {
            if !required.iter().any(|r| r == &Value::String(name.clone())) {
                required.push(Value::String(name));
            }
        }
    }
}

fn numbers_to_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("number")) && !map.contains_key("format") {
                map.insert("type".into(), json!("integer"));
            }
            map.values_mut().for_each(numbers_to_integers);
        }
        Value::Array(items) => items.iter_mut().for_each(numbers_to_integers),
        _ => {}
    }
}

/// OpenAPI 3.0 schema to draft-07 JSON Schema: `nullable` becomes a `null` type (or a `oneOf` with
/// `null` around a `$ref`/`allOf`) and OpenAPI-only keywords go away. `format: email` goes too: DRF's
/// EmailField allows blank values.
fn to_json_schema(value: &Value) -> Value {
    let Value::Object(map) = value else { return value.clone() };
    let mut out = Map::new();
    let mut nullable = false;
    for (key, child) in map {
        match key.as_str() {
            "nullable" => nullable = child == &Value::Bool(true),
            k if DROPPED_KEYWORDS.contains(&k) => {}
            "format" if child == "email" => {}
            "properties" => {
                let props = child
                    .as_object()
                    .map(|props| props.iter().map(|(k, v)| (k.clone(), to_json_schema(v))).collect())
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(key.clone(), to_json_schema(child));
            }
            "allOf" | "oneOf" | "anyOf" => {
                let items = child.as_array().map(|a| a.iter().map(to_json_schema).collect()).unwrap_or_default();
                out.insert(key.clone(), Value::Array(items));
            }
            _ => {
                out.insert(key.clone(), child.clone());
            }
        }
    }
    if !nullable {
        return Value::Object(out);
    }
    match out.get("type").cloned() {
        Some(Value::String(ty)) if !out.contains_key("$ref") => {
            out.insert("type".into(), json!([ty, "null"]));
            if let Some(Value::Array(values)) = out.get_mut("enum") {
                values.push(Value::Null);
            }
            Value::Object(out)
        }
        _ => {
            let description = out.remove("description");
            let mut wrapper = Map::new();
            if let Some(description) = description {
                wrapper.insert("description".into(), description);
            }
            wrapper.insert("oneOf".into(), json!([{"type": "null"}, Value::Object(out)]));
            Value::Object(wrapper)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_string_becomes_type_list() {
        let schema = json!({"type": "string", "nullable": true, "example": "x", "maxLength": 3});
        assert_eq!(server_inline(&schema), json!({"type": ["string", "null"]}));
        assert_eq!(validation_schema(&schema), json!({"type": ["string", "null"], "maxLength": 3}));
    }

    #[test]
    fn nullable_ref_becomes_one_of() {
        let converted = server_inline(&json!({"allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true}));
        assert_eq!(converted, json!({"oneOf": [{"type": "null"}, {"allOf": [{"$ref": "#/components/schemas/A"}]}]}));
    }

    #[test]
    fn response_side_requires_nullable_and_integers() {
        let schema = json!({"type": "object", "properties": {"n": {"type": "number"}, "e": {"type": "string", "nullable": true}}});
        let converted = server_component("Pagination", &schema, false);
        assert_eq!(converted["required"], json!(["e"]));
        assert_eq!(converted["properties"]["n"]["type"], json!("integer"));
        let request = server_component("Pagination", &schema, true);
        assert!(request.get("required").is_none());
        assert_eq!(request["properties"]["n"]["type"], json!("number"));
    }

    #[test]
    fn rule_parsed_bodies_take_any_json_and_query_values_are_strings() {
        let mut body = json!({"type": "object", "description": "Token Serializer", "required": ["identifier"]});
        openapi_wire_adjustments("TokenRequest", &mut body, true);
        assert_eq!(body, json!({"description": "Token Serializer"}));
        let mut other = json!({"type": "object", "required": ["a"]});
        openapi_wire_adjustments("FaultRule", &mut other, true);
        assert_eq!(other["required"], json!(["a"]));
        assert_eq!(server_query_parameter(&json!({"type": "integer"})), json!({"type": "string"}));
        assert_eq!(
            server_query_parameter(&json!({"type": "array", "items": {"type": "integer"}})),
            json!({"type": "array", "items": {"type": "string"}})
        );
    }

    #[test]
    fn request_schemas_follow_refs() {
        let doc = json!({
            "paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
            "components": {"schemas": {"A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}}, "B": {}, "C": {}}}
        });
        let names: Vec<String> = request_schema_names(&doc).into_iter().collect();
        assert_eq!(names, ["A", "B"]);
    }
}
