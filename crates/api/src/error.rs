//! Error responses: a spec error schema paired with its HTTP status, usable as a Dropshot handler error.

use std::borrow::Cow;

use dropshot::{ErrorStatusCode, HttpError, HttpResponseError};
use schemars::JsonSchema;
use serde::Serialize;

/// An error body type of the spec that Dropshot's own errors (bad path, query or body) can be turned into.
pub trait ErrorBody: Serialize + JsonSchema + Send + Sync + 'static {
    /// The status and body for an error Dropshot raised before the handler ran.
    fn from_http_error(error: &HttpError) -> (ErrorStatusCode, Self);
    /// A one-line description, for logs.
    fn message(&self) -> String;
}

/// A handler error: one of the spec's error bodies with the status it is sent with.
///
/// It serializes as the body alone and documents itself with the body's schema, so the document Dropshot
/// emits names the spec's error schema.
#[derive(Debug, Clone)]
pub struct ErrorResponse<B> {
    pub status: ErrorStatusCode,
    pub body: B,
    /// What went wrong inside, for the server's log only (as Dropshot's `internal_message`); never sent.
    pub cause: Option<String>,
}

impl<B> ErrorResponse<B> {
    pub fn new(status: ErrorStatusCode, body: B) -> Self {
        ErrorResponse { status, body, cause: None }
    }

    /// The same response, with its internal cause for the log.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }
}

impl<B: Serialize> Serialize for ErrorResponse<B> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.body.serialize(serializer)
    }
}

impl<B: JsonSchema> JsonSchema for ErrorResponse<B> {
    fn schema_name() -> String {
        B::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        B::schema_id()
    }

    fn is_referenceable() -> bool {
        B::is_referenceable()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        B::json_schema(generator)
    }
}

impl<B: ErrorBody> std::fmt::Display for ErrorResponse<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.body.message())
    }
}

impl<B: ErrorBody> From<HttpError> for ErrorResponse<B> {
    fn from(error: HttpError) -> Self {
        let (status, body) = B::from_http_error(&error);
        ErrorResponse { status, body, cause: Some(error.internal_message) }
    }
}

impl<B: ErrorBody> HttpResponseError for ErrorResponse<B> {
    fn status_code(&self) -> ErrorStatusCode {
        self.status
    }
}

/// Dropshot's message prefix for a path parameter that does not parse.
const BAD_PATH_PREFIX: &str = "bad parameter in URL path";

impl ErrorBody for crate::types::AuthentikError {
    /// DRF shapes: a path id that is not an integer is `404 {"detail": "Not found."}` (generics.get_object);
    /// everything else keeps Dropshot's status with the message as `detail`.
    fn from_http_error(error: &HttpError) -> (ErrorStatusCode, Self) {
        let (status, detail) = if error.external_message.starts_with(BAD_PATH_PREFIX) {
            (ErrorStatusCode::NOT_FOUND, "Not found.".to_string())
        } else if error.status_code.is_server_error() {
            (error.status_code, "A server error occurred.".to_string())
        } else {
            (error.status_code, error.external_message.clone())
        };
        (status, crate::types::GenericError { code: None, detail }.into())
    }

    fn message(&self) -> String {
        match self {
            crate::types::AuthentikError::GenericError(error) => error.detail.clone(),
            crate::types::AuthentikError::ValidationError(error) => serde_json::to_string(error).unwrap_or_default(),
        }
    }
}

impl ErrorBody for crate::types::NetbirdError {
    /// NetBird shapes: any body that does not decode is `400 couldn't parse JSON request` (pat_handler.go);
    /// other errors keep their status with a lower-cased message, as util.WriteError writes them.
    fn from_http_error(error: &HttpError) -> (ErrorStatusCode, Self) {
        let status = error.status_code;
        let message = if status.is_server_error() {
            "internal server error".to_string()
        } else if status == ErrorStatusCode::BAD_REQUEST && !error.external_message.starts_with(BAD_PATH_PREFIX) {
            "couldn't parse JSON request".to_string()
        } else {
            error.external_message.to_lowercase()
        };
        (status, crate::types::NetbirdError { code: i64::from(status.as_u16()), message })
    }

    fn message(&self) -> String {
        self.message.clone()
    }
}

impl ErrorBody for crate::types::TokenstackError {
    /// tokenstack's own operations answer `{"message": …}` with Dropshot's status.
    fn from_http_error(error: &HttpError) -> (ErrorStatusCode, Self) {
        (error.status_code, crate::types::TokenstackError { message: error.external_message.to_lowercase() })
    }

    fn message(&self) -> String {
        self.message.clone()
    }
}

impl ErrorBody for crate::types::OAuth2Error {
    /// authentik's provider views read the form themselves: a body Dropshot cannot decode (not a form, a field
    /// given twice) is `400 invalid_request` (errors.py), a server error `server_error`.
    fn from_http_error(error: &HttpError) -> (ErrorStatusCode, Self) {
        let (status, code) = if error.status_code.is_server_error() {
            (error.status_code, "server_error")
        } else {
            (ErrorStatusCode::BAD_REQUEST, "invalid_request")
        };
        let body = crate::types::OAuth2Error {
            error: code.to_string(),
            error_description: Some(error.external_message.clone()),
            request_id: None,
        };
        (status, body)
    }

    fn message(&self) -> String {
        format!("{} {}", self.error, self.error_description.as_deref().unwrap_or_default())
    }
}

impl ErrorBody for crate::types::FlowPageError {
    /// The flow pages render their own answers; what Dropshot refuses before the view (a body over the size
    /// limit) is a 400 `{"detail": …}`, a server error keeps its status.
    fn from_http_error(error: &HttpError) -> (ErrorStatusCode, Self) {
        let status = if error.status_code.is_server_error() { error.status_code } else { ErrorStatusCode::BAD_REQUEST };
        (status, crate::types::FlowPageError { detail: error.external_message.clone() })
    }

    fn message(&self) -> String {
        self.detail.clone()
    }
}
