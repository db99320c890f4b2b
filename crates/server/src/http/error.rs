//! The one place where domain and store errors become HTTP responses with upstream-shaped bodies.

use dropshot::ErrorStatusCode;
use tokenstack_api::ErrorResponse;
use tokenstack_api::types::{AuthentikError, GenericError, NetbirdError, TokenstackError, ValidationError};

use crate::authentik::AkError;
use crate::netbird::{NbError, NbErrorKind};
use crate::store::StoreError;

pub type AkResponseError = ErrorResponse<AuthentikError>;
pub type NbResponseError = ErrorResponse<NetbirdError>;
pub type TsResponseError = ErrorResponse<TokenstackError>;

/// An error of tokenstack's own operations.
pub fn tokenstack(status: ErrorStatusCode, message: &str) -> TsResponseError {
    ErrorResponse::new(status, TokenstackError { message: message.to_string() })
}

/// An authentik `{"detail": …}` error with a status.
pub fn ak_detail(status: ErrorStatusCode, detail: impl Into<String>) -> AkResponseError {
    ErrorResponse::new(status, GenericError { code: None, detail: detail.into() }.into())
}

impl From<AkError> for AkResponseError {
    fn from(error: AkError) -> Self {
        match error {
            AkError::Forbidden(detail) => ak_detail(ErrorStatusCode::FORBIDDEN, detail),
            AkError::NotFound(detail) => ak_detail(ErrorStatusCode::NOT_FOUND, detail),
            AkError::Invalid(fields) => {
                let extra = fields.into_iter().map(|(field, messages)| (field, serde_json::json!(messages))).collect();
                let body = ValidationError { code: None, non_field_errors: Vec::new(), extra };
                ErrorResponse::new(ErrorStatusCode::BAD_REQUEST, body.into())
            }
            AkError::Store(err) => {
                ak_detail(ErrorStatusCode::INTERNAL_SERVER_ERROR, "A server error occurred.").with_cause(chain(&err))
            }
        }
    }
}

impl From<NbError> for NbResponseError {
    fn from(error: NbError) -> Self {
        let status = match error.kind() {
            NbErrorKind::Unauthorized => ErrorStatusCode::UNAUTHORIZED,
            NbErrorKind::Forbidden => ErrorStatusCode::FORBIDDEN,
            NbErrorKind::NotFound => ErrorStatusCode::NOT_FOUND,
            NbErrorKind::InvalidArgument => ErrorStatusCode::UNPROCESSABLE_ENTITY,
            NbErrorKind::BadRequest => ErrorStatusCode::BAD_REQUEST,
            NbErrorKind::Internal => ErrorStatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = NetbirdError { code: i64::from(status.as_u16()), message: error.public_message() };
        let response = ErrorResponse::new(status, body);
        match &error {
            NbError::Store(err) => response.with_cause(chain(err)),
            _ => response,
        }
    }
}

/// Store errors of tokenstack's own operations (the admin API): a missing reference or a duplicate is the
/// caller's 400, a backend failure a 500 whose cause goes to the log.
impl From<StoreError> for TsResponseError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => {
                tokenstack(ErrorStatusCode::BAD_REQUEST, "a referenced user or provider does not exist")
            }
            StoreError::Duplicate { field } => {
                tokenstack(ErrorStatusCode::BAD_REQUEST, &format!("duplicate value for {field}"))
            }
            StoreError::Backend { .. } => {
                tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, "internal server error").with_cause(chain(&error))
            }
        }
    }
}

/// An error and its sources on one line, for the log: `context: source: source of the source`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

/// The internal cause of an error response, for the log.
pub trait Cause {
    fn cause(&self) -> Option<&str>;
}

impl<B> Cause for ErrorResponse<B> {
    fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }
}

/// Builds the 500 that replaces a response failing `--validate-responses`, in the operation's error shape.
pub trait OffSpec {
    fn off_spec(message: String) -> Self;
}

impl OffSpec for AkResponseError {
    fn off_spec(message: String) -> Self {
        ak_detail(ErrorStatusCode::INTERNAL_SERVER_ERROR, message.clone()).with_cause(message)
    }
}

impl OffSpec for NbResponseError {
    fn off_spec(message: String) -> Self {
        let status = ErrorStatusCode::INTERNAL_SERVER_ERROR;
        ErrorResponse::new(status, NetbirdError { code: i64::from(status.as_u16()), message: message.clone() })
            .with_cause(message)
    }
}

impl OffSpec for TsResponseError {
    fn off_spec(message: String) -> Self {
        tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, &message).with_cause(message)
    }
}
