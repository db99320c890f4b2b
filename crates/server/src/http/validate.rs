//! `--validate-responses`: every response checked against the merged spec (status, content type, body schema).
//!
//! The documented responses come from `tokenstack_api::VALIDATION_DOCUMENT`, which the generator derives from
//! spec/openapi.json at build time (draft-07 schemas that keep every constraint, so they check the spec, not
//! the server's types); they are compiled with the `jsonschema` crate once per process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

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
    LazyLock::new(|| ResponseValidator::from_document(tokenstack_api::VALIDATION_DOCUMENT));

impl ResponseValidator {
    /// The validator of the embedded spec, compiled once per process.
    pub fn shared() -> Result<&'static ResponseValidator, ValidatorError> {
        SHARED.as_ref().map_err(Clone::clone)
    }

    /// Compiles every response schema of a validation document (see `tokenstack_codegen::validation_document`).
    pub fn from_document(text: &str) -> Result<ResponseValidator, ValidatorError> {
        let doc: Value = serde_json::from_str(text).map_err(|err| ValidatorError::Spec(err.to_string()))?;
        let components = doc.get("components").cloned().unwrap_or_default();
        let mut compiled: HashMap<String, Arc<Validator>> = HashMap::new();
        let mut operations = HashMap::new();
        for (operation_id, responses) in doc.get("operations").and_then(Value::as_object).into_iter().flatten() {
            let mut documented = BTreeMap::new();
            for (status, response) in responses.as_object().into_iter().flatten() {
                let media_type = response.get("media_type").and_then(Value::as_str).map(str::to_string);
                let schema = match response.get("schema").filter(|schema| !schema.is_null()) {
                    None => None,
                    Some(schema) => Some(match compiled.get(&schema.to_string()) {
                        Some(validator) => validator.clone(),
                        None => {
                            let root = json!({ "allOf": [schema], "components": components });
                            let validator = jsonschema::options()
                                .with_draft(Draft::Draft7)
                                .should_validate_formats(true)
                                .build(&root)
                                .map_err(|err| ValidatorError::Schema {
                                    operation_id: operation_id.clone(),
                                    status: status.clone(),
                                    message: err.to_string(),
                                })?;
                            let validator = Arc::new(validator);
                            compiled.insert(schema.to_string(), validator.clone());
                            validator
                        }
                    }),
                };
                documented.insert(status.clone(), Documented { media_type, schema });
            }
            operations.insert(operation_id.clone(), documented);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> &'static ResponseValidator {
        ResponseValidator::shared().expect("the embedded spec compiles")
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
        let violation =
            validator().check("netbird_tokens_create", 200, Some("application/json"), Some(&body)).unwrap_err();
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
