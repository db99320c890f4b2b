//! `--validate-responses`: every response checked against the merged spec (status, content type, body schema).
//!
//! The spec is `tokenstack_api::SPEC` (spec/openapi.json, embedded at build time). Its OpenAPI 3.0 schemas are
//! turned into draft-07 JSON Schema here (`nullable` becomes a `null` alternative; OpenAPI-only keywords go) and
//! compiled with the `jsonschema` crate, once per process. Unlike the server types of `tokenstack-codegen`, the
//! validation keeps every constraint (`maxLength`, `pattern`, formats), so it checks the spec, not the types.
//! The converter lives here rather than in `tokenstack-codegen` so the server does not link the generators.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

/// Why the response validator could not be built from the spec.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ValidatorError {
    #[error("spec/openapi.json does not parse: {0}")]
    Spec(String),
    #[error("schema of {operation_id} {status} does not compile: {message}")]
    Schema { operation_id: String, status: String, message: String },
}

/// A response that does not match the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub operation_id: String,
    /// JSON pointer into the response body ("" for the status or the content type).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "tokenstack: the response of {} violates spec/openapi.json at {:?}: {}",
            self.operation_id, self.pointer, self.message
        )
    }
}

/// One documented response: its media type and the compiled body schema, or no content.
struct Documented {
    media_type: Option<String>,
    schema: Option<Arc<Validator>>,
}

/// The documented responses of every operation, by operationId and status (`"200"`, `"4XX"`, `"default"`).
pub struct ResponseValidator {
    operations: HashMap<String, BTreeMap<String, Documented>>,
}

static SHARED: LazyLock<Result<ResponseValidator, ValidatorError>> =
    LazyLock::new(|| ResponseValidator::from_spec(tokenstack_api::SPEC));

impl ResponseValidator {
    /// The validator of the embedded spec, compiled once per process.
    pub fn shared() -> Result<&'static ResponseValidator, ValidatorError> {
        SHARED.as_ref().map_err(Clone::clone)
    }

    /// Compiles every response schema of an OpenAPI 3.0 document.
    pub fn from_spec(text: &str) -> Result<ResponseValidator, ValidatorError> {
        let doc: Value = serde_json::from_str(text).map_err(|err| ValidatorError::Spec(err.to_string()))?;
        let components: Map<String, Value> = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| schemas.iter().map(|(name, schema)| (name.clone(), to_json_schema(schema))).collect())
            .unwrap_or_default();
        let components = json!({ "schemas": components });
        let mut compiled: HashMap<String, Arc<Validator>> = HashMap::new();
        let mut operations = HashMap::new();
        for item in doc.get("paths").and_then(Value::as_object).into_iter().flat_map(Map::values) {
            for operation in item.as_object().into_iter().flat_map(Map::values) {
                let Some(operation_id) = operation.get("operationId").and_then(Value::as_str) else { continue };
                let mut responses = BTreeMap::new();
                for (status, response) in operation.get("responses").and_then(Value::as_object).into_iter().flatten() {
                    let response = resolve(&doc, response);
                    let content = response.get("content").and_then(Value::as_object);
                    let (media_type, schema) = match content.and_then(|c| c.iter().next()) {
                        None => (None, None),
                        Some((media_type, media)) => (Some(media_type.clone()), media.get("schema")),
                    };
                    let schema = match schema {
                        None => None,
                        Some(schema) => {
                            let key = schema.to_string();
                            let validator = match compiled.get(&key) {
                                Some(validator) => validator.clone(),
                                None => {
                                    let root = json!({ "allOf": [to_json_schema(schema)], "components": components });
                                    let validator = jsonschema::options()
                                        .with_draft(Draft::Draft7)
                                        .should_validate_formats(true)
                                        .build(&root)
                                        .map_err(|err| ValidatorError::Schema {
                                            operation_id: operation_id.to_string(),
                                            status: status.clone(),
                                            message: err.to_string(),
                                        })?;
                                    let validator = Arc::new(validator);
                                    compiled.insert(key, validator.clone());
                                    validator
                                }
                            };
                            Some(validator)
                        }
                    };
                    responses.insert(status.clone(), Documented { media_type, schema });
                }
                operations.insert(operation_id.to_string(), responses);
            }
        }
        Ok(ResponseValidator { operations })
    }

    /// Checks one response: `content_type` is the media type sent (parameters ignored), `body` the JSON body
    /// (`None` for an empty or non-JSON body).
    pub fn check(
        &self,
        operation_id: &str,
        status: u16,
        content_type: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(), Violation> {
        let violation = |pointer: &str, message: String| Violation {
            operation_id: operation_id.to_string(),
            pointer: pointer.to_string(),
            message,
        };
        let Some(responses) = self.operations.get(operation_id) else {
            return Err(violation("", "the operation is not in the spec".to_string()));
        };
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let Some(documented) =
            responses.get(&exact).or_else(|| responses.get(&range)).or_else(|| responses.get("default"))
        else {
            let known: Vec<&str> = responses.keys().map(String::as_str).collect();
            return Err(violation("", format!("status {status} is not documented (documented: {})", known.join(", "))));
        };
        let sent = content_type.map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        match (&documented.media_type, &sent) {
            (None, None) => {}
            (None, Some(sent)) => {
                return Err(violation("", format!("status {status} documents no content, but {sent} was sent")));
            }
            (Some(expected), None) => {
                return Err(violation("", format!("status {status} documents {expected}, but no content was sent")));
            }
            (Some(expected), Some(sent)) if !expected.eq_ignore_ascii_case(sent) => {
                return Err(violation("", format!("status {status} documents {expected}, but {sent} was sent")));
            }
            _ => {}
        }
        if let (Some(schema), Some(body)) = (&documented.schema, body)
            && let Some(error) = schema.iter_errors(body).next()
        {
            let pointer = error.instance_path().as_str().to_string();
            return Err(violation(&pointer, format!("status {status}: {error}")));
        }
        Ok(())
    }
}

/// OpenAPI-only keywords, meaningless (or harmful) to a JSON Schema validator.
const OPENAPI_ONLY: &[&str] = &["example", "xml", "externalDocs", "discriminator", "nullable"];

/// OpenAPI 3.0 schema to draft-07 JSON Schema: `nullable: true` admits `null` (as a type, an enum value, or a
/// `oneOf` around a `$ref`/composition); OpenAPI-only keywords and `format: email` are dropped; everything else
/// is kept.
pub fn to_json_schema(value: &Value) -> Value {
    let Value::Object(map) = value else { return value.clone() };
    let nullable = map.get("nullable") == Some(&Value::Bool(true));
    let mut out = Map::new();
    for (key, child) in map {
        match key.as_str() {
            k if OPENAPI_ONLY.contains(&k) => {}
            // DRF's EmailField allows blank values, which `format: email` would reject.
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
        _ => json!({ "oneOf": [{ "type": "null" }, Value::Object(out)] }),
    }
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(value),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> &'static ResponseValidator {
        ResponseValidator::shared().expect("the embedded spec compiles")
    }

    #[test]
    fn nullable_becomes_a_null_alternative() {
        assert_eq!(to_json_schema(&json!({"type": "string", "nullable": true})), json!({"type": ["string", "null"]}));
        assert_eq!(
            to_json_schema(&json!({"allOf": [{"$ref": "#/x"}], "nullable": true})),
            json!({"oneOf": [{"type": "null"}, {"allOf": [{"$ref": "#/x"}]}]})
        );
    }

    #[test]
    fn accepts_a_documented_response() {
        let body = json!({"status": "ok"});
        validator().check("healthz", 200, Some("application/json"), Some(&body)).expect("valid");
        validator().check("core_tokens_destroy", 204, None, None).expect("valid");
        validator().check("metrics", 200, Some("text/plain; version=0.0.4"), None).expect("valid");
    }

    #[test]
    fn reports_an_undocumented_status() {
        let body = json!({"message": "teapot"});
        let violation = validator().check("healthz", 418, Some("application/json"), Some(&body)).unwrap_err();
        assert_eq!(violation.pointer, "");
        assert!(violation.message.contains("status 418 is not documented"), "{violation}");
    }

    #[test]
    fn reports_the_pointer_of_a_bad_field() {
        let body = json!({"personal_access_token": {"id": "x"}, "plain_token": "nbp_x"});
        let violation = validator().check("netbird_tokens_create", 200, Some("application/json"), Some(&body)).unwrap_err();
        assert_eq!(violation.operation_id, "netbird_tokens_create");
        assert!(violation.pointer.starts_with("/personal_access_token") || violation.pointer.is_empty(), "{violation}");
        let body = json!({"status": 5});
        let violation = validator().check("healthz", 200, Some("application/json"), Some(&body)).unwrap_err();
        assert_eq!(violation.pointer, "/status", "{violation}");
    }

    #[test]
    fn reports_a_wrong_content_type() {
        let violation = validator().check("metrics", 200, Some("application/json"), None).unwrap_err();
        assert!(violation.message.contains("text/plain"), "{violation}");
    }
}
