//! Around every handler: injected faults, response validation, metrics by operationId, the request log line,
//! and the log record of every 5xx with its internal cause.

use std::time::Instant;

use dropshot::{
    HttpCodedResponse, HttpError, HttpResponseCreated, HttpResponseDeleted, HttpResponseError, HttpResponseOk,
    HttpResponseUpdatedNoContent, RequestContext,
};
use serde::Serialize;

use super::ServerContext;
use super::error::{Cause, OffSpec};
use super::validate::ResponseValidator;

/// The payload of the unwinding that drops a connection (see [`observed`]).
#[derive(Debug)]
pub struct InjectedDrop;

/// A success response whose JSON body can be validated.
pub trait WireBody {
    /// The JSON body, `None` when the response has none.
    fn wire_body(&self) -> Option<serde_json::Value>;
}

impl<T: schemars::JsonSchema + Serialize + Send + Sync + 'static> WireBody for HttpResponseOk<T> {
    fn wire_body(&self) -> Option<serde_json::Value> {
        Some(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
}

impl<T: schemars::JsonSchema + Serialize + Send + Sync + 'static> WireBody for HttpResponseCreated<T> {
    fn wire_body(&self) -> Option<serde_json::Value> {
        Some(serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null))
    }
}

impl WireBody for HttpResponseDeleted {
    fn wire_body(&self) -> Option<serde_json::Value> {
        None
    }
}

impl WireBody for HttpResponseUpdatedNoContent {
    fn wire_body(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Runs a handler with the configured faults, validates what it answers, and records status and latency by
/// operationId.
///
/// Faults come first: added latency, then a dropped connection or an injected error (the handler does not run
/// then). A dropped connection unwinds the handler task with [`InjectedDrop`] via `resume_unwind` (no panic
/// hook runs): Dropshot propagates a handler's unwinding into hyper's connection task, which ends, closing the
/// socket without a response. Dropshot offers no other way to close a connection from a handler.
pub(super) async fn observed<T, E>(
    rqctx: &RequestContext<ServerContext>,
    handler: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    T: HttpCodedResponse + WireBody,
    E: HttpResponseError + Serialize + From<HttpError> + OffSpec + Cause,
{
    let ctx = rqctx.context();
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let started = Instant::now();
    let decision = ctx.faults.decide(operation_id);
    if !decision.latency.is_zero() {
        ctx.metrics.fault(operation_id, "latency");
        tokio::time::sleep(decision.latency).await;
    }
    if decision.drop {
        ctx.metrics.fault(operation_id, "drop");
        slog::info!(rqctx.log, "fault injection: dropping the connection"; "operation_id" => operation_id);
        std::panic::resume_unwind(Box::new(InjectedDrop));
    }
    let result = match decision.error_status.and_then(super::error::injected) {
        Some(error) => {
            ctx.metrics.fault(operation_id, "error");
            Err(error)
        }
        None => handler.await,
    };
    let result = match ctx.validator {
        Some(validator) => validated(rqctx, validator, result),
        None => result,
    };
    let status = match &result {
        Ok(_) => T::STATUS_CODE.as_u16(),
        Err(error) => error.status_code().as_u16(),
    };
    let elapsed = started.elapsed();
    ctx.metrics.observe(operation_id, status, elapsed);
    if let Err(error) = &result
        && error.status_code().is_server_error()
    {
        // The body says only "a server error occurred"; the cause is for the operator (never a secret: store
        // errors carry what the store was doing and the database's message, not the values it was given).
        slog::error!(rqctx.log, "internal error";
            "operation_id" => operation_id, "status" => status, "cause" => error.cause().unwrap_or("(no cause recorded)"));
    }
    // The one line of this request (the log drain drops Dropshot's own "request completed" for it): req_id,
    // method, remote and local address come with rqctx.log, the path without its query string (see logging).
    // slog hands values over last first: written in reverse so that lines read operation_id, status, latency_us.
    slog::info!(rqctx.log, "request completed";
        "latency_us" => elapsed.as_micros() as u64, "status" => status, "operation_id" => operation_id);
    result
}

/// Checks a handler's result against the spec; a violation is logged and becomes a 500 naming it.
fn validated<T: HttpCodedResponse + WireBody, E: HttpResponseError + Serialize + OffSpec>(
    rqctx: &RequestContext<ServerContext>,
    validator: &ResponseValidator,
    result: Result<T, E>,
) -> Result<T, E> {
    let operation_id = rqctx.endpoint.operation_id.as_str();
    let checked = match &result {
        Ok(response) => {
            let body = response.wire_body();
            let content_type = body.as_ref().map(|_| "application/json");
            validator.check(operation_id, T::STATUS_CODE.as_u16(), content_type, body.as_ref())
        }
        Err(error) => {
            let body = serde_json::to_value(error).unwrap_or(serde_json::Value::Null);
            validator.check(operation_id, error.status_code().as_u16(), Some("application/json"), Some(&body))
        }
    };
    match checked {
        Ok(()) => result,
        Err(violation) => {
            rqctx.context().metrics.violation(operation_id);
            slog::error!(rqctx.log, "response violates the spec";
                "operation_id" => &violation.operation_id, "pointer" => &violation.pointer, "message" => &violation.message);
            Err(E::off_spec(violation.to_string()))
        }
    }
}

/// The `Authorization` header, if it is valid text.
pub(super) fn authorization(rqctx: &RequestContext<ServerContext>) -> Option<&str> {
    rqctx.request.headers().get(http::header::AUTHORIZATION).and_then(|value| value.to_str().ok())
}
