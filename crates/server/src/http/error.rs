//! The one place where domain and store errors become HTTP responses with upstream-shaped bodies.

use dropshot::{ErrorStatusCode, HttpError};
use tokenstack_api::ErrorResponse;
use tokenstack_api::types::{
    AuthentikError, FlowPageError, GenericError, NetbirdError, OAuth2Error, TokenstackError, ValidationError,
};

use crate::admin::AdminError;
use crate::authentik::AkError;
use crate::authentik::flow::FlowError;
use crate::authentik::oauth2::ProviderError;
use crate::netbird::{NbError, NbErrorKind};
use crate::store::StoreError;

pub type AkResponseError = ErrorResponse<AuthentikError>;
pub type NbResponseError = ErrorResponse<NetbirdError>;
pub type TsResponseError = ErrorResponse<TokenstackError>;
pub type OAuth2ResponseError = ErrorResponse<OAuth2Error>;
pub type PageResponseError = ErrorResponse<FlowPageError>;

/// An OAuth2 `{"error", "error_description"}` error with a status.
pub fn oauth2_error(status: ErrorStatusCode, error: &str, description: impl Into<String>) -> OAuth2ResponseError {
    let body = OAuth2Error { error: error.to_string(), error_description: Some(description.into()), request_id: None };
    ErrorResponse::new(status, body)
}

/// The provider views answer their own errors; what reaches here is a store or signing failure, a 500.
impl From<ProviderError> for OAuth2ResponseError {
    fn from(error: ProviderError) -> Self {
        let status = ErrorStatusCode::INTERNAL_SERVER_ERROR;
        oauth2_error(status, "server_error", "The authorization server encountered an error").with_cause(chain(&error))
    }
}

/// What went wrong beneath the flow engine, as the executor answers it: a 500 with DRF's body.
impl From<FlowError> for AkResponseError {
    fn from(error: FlowError) -> Self {
        ak_detail(ErrorStatusCode::INTERNAL_SERVER_ERROR, "A server error occurred.").with_cause(chain(&error))
    }
}

/// What went wrong beneath the flow engine, as a page answers it: a 500.
impl From<FlowError> for PageResponseError {
    fn from(error: FlowError) -> Self {
        let body = FlowPageError { detail: "A server error occurred.".to_owned() };
        ErrorResponse::new(ErrorStatusCode::INTERNAL_SERVER_ERROR, body).with_cause(chain(&error))
    }
}

/// What went wrong beneath the authorization endpoint's flow: a 500 in the provider's shape.
impl From<FlowError> for OAuth2ResponseError {
    fn from(error: FlowError) -> Self {
        let status = ErrorStatusCode::INTERNAL_SERVER_ERROR;
        oauth2_error(status, "server_error", "The authorization server encountered an error").with_cause(chain(&error))
    }
}

/// An error of tokenstack's own operations.
pub fn tokenstack(status: ErrorStatusCode, message: &str) -> TsResponseError {
    ErrorResponse::new(status, TokenstackError { message: message.to_string() })
}

/// An authentik `{"detail": …}` error with a status.
pub fn ak_detail(status: ErrorStatusCode, detail: impl Into<String>) -> AkResponseError {
    ErrorResponse::new(status, GenericError { code: None, detail: detail.into() }.into())
}

/// DRF's 405 for a method a route does not have.
pub fn method_not_allowed(method: &str) -> AkResponseError {
    ak_detail(ErrorStatusCode::METHOD_NOT_ALLOWED, format!("Method \"{method}\" not allowed."))
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
            NbErrorKind::AlreadyExists => ErrorStatusCode::CONFLICT,
            NbErrorKind::PreconditionFailed => ErrorStatusCode::PRECONDITION_FAILED,
            NbErrorKind::BadRequest => ErrorStatusCode::BAD_REQUEST,
            NbErrorKind::MethodNotAllowed => ErrorStatusCode::METHOD_NOT_ALLOWED,
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

/// An error of tokenstack's own operations (the admin API, readiness, metrics), before it is a response.
#[derive(Debug, thiserror::Error)]
pub enum TsError {
    #[error("the admin API is disabled: start tokenstack with --admin-token (TOKENSTACK_ADMIN_TOKEN)")]
    AdminDisabled,
    #[error("admin token required: Authorization: Bearer <TOKENSTACK_ADMIN_TOKEN>")]
    AdminUnauthorized,
    /// A request that cannot be carried out; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store does not answer the readiness probe.
    #[error("store unreachable")]
    Unready(StoreError),
    /// A response tokenstack cannot build; the message is the cause.
    #[error("{0}")]
    Internal(String),
}

/// Store errors of the admin API: a missing reference or a duplicate is the caller's 400, a backend failure a
/// 500 whose cause goes to the log.
impl From<TsError> for TsResponseError {
    fn from(error: TsError) -> Self {
        let message = error.to_string();
        match error {
            TsError::AdminDisabled => tokenstack(ErrorStatusCode::NOT_FOUND, &message),
            TsError::AdminUnauthorized => tokenstack(ErrorStatusCode::UNAUTHORIZED, &message),
            TsError::Invalid(_) => tokenstack(ErrorStatusCode::BAD_REQUEST, &message),
            TsError::Store(StoreError::NotFound) => {
                tokenstack(ErrorStatusCode::BAD_REQUEST, "a referenced user or provider does not exist")
            }
            TsError::Store(StoreError::Duplicate { field }) => {
                tokenstack(ErrorStatusCode::BAD_REQUEST, &format!("duplicate value for {field}"))
            }
            TsError::Store(err @ StoreError::Backend { .. }) => {
                tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, "internal server error").with_cause(chain(&err))
            }
            TsError::Unready(err) => tokenstack(ErrorStatusCode::SERVICE_UNAVAILABLE, &message).with_cause(chain(&err)),
            TsError::Internal(cause) => {
                tokenstack(ErrorStatusCode::INTERNAL_SERVER_ERROR, "internal server error").with_cause(cause)
            }
        }
    }
}

impl From<AdminError> for TsResponseError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Invalid(message) => TsError::Invalid(message).into(),
            AdminError::Store(error) => TsError::Store(error).into(),
        }
    }
}

/// The error an injected fault answers with, in the operation's own error shape (as Dropshot's errors are
/// shaped); `None` for a status that is not an error status.
pub fn injected<E: From<HttpError>>(status: u16) -> Option<E> {
    let status = ErrorStatusCode::from_u16(status).ok()?;
    let message = format!("tokenstack: injected fault ({})", status.as_u16());
    Some(E::from(HttpError {
        status_code: status,
        error_code: None,
        external_message: message.clone(),
        internal_message: message,
        headers: None,
    }))
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

impl OffSpec for PageResponseError {
    fn off_spec(message: String) -> Self {
        let body = FlowPageError { detail: message.clone() };
        ErrorResponse::new(ErrorStatusCode::INTERNAL_SERVER_ERROR, body).with_cause(message)
    }
}

impl OffSpec for OAuth2ResponseError {
    fn off_spec(message: String) -> Self {
        oauth2_error(ErrorStatusCode::INTERNAL_SERVER_ERROR, "server_error", message.clone()).with_cause(message)
    }
}
