//! Around every handler: injected faults, response validation, metrics by operationId, the request log line,
//! and the log record of every 5xx with its internal cause.

use std::time::Instant;

use dropshot::{
    HttpCodedResponse as _, HttpError, HttpResponseCreated, HttpResponseDeleted, HttpResponseError, HttpResponseOk,
    HttpResponseUpdatedNoContent, RequestContext,
};
use serde::Serialize;

use super::ServerContext;
use super::error::{Cause, OffSpec};
use super::validate::ResponseValidator;

/// The payload of the unwinding that drops a connection (see [`observed`]).
#[derive(Debug)]
pub struct InjectedDrop;

/// A success response whose status and JSON body can be validated.
pub trait WireBody {
    /// The status it is sent with.
    fn wire_status(&self) -> u16;
    /// The media type and JSON body, `None` when the response has none.
    fn wire_body(&self) -> Option<(&str, serde_json::Value)>;
}

macro_rules! typed_wire_body {
    ($($response:ident),*) => {$(
        impl<T: schemars::JsonSchema + Serialize + Send + Sync + 'static> WireBody for $response<T> {
            fn wire_status(&self) -> u16 {
                Self::STATUS_CODE.as_u16()
            }

            fn wire_body(&self) -> Option<(&str, serde_json::Value)> {
                Some(("application/json", serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null)))
            }
        }
    )*};
}

typed_wire_body!(HttpResponseOk, HttpResponseCreated);

macro_rules! empty_wire_body {
    ($($response:ident),*) => {$(
        impl WireBody for $response {
            fn wire_status(&self) -> u16 {
                Self::STATUS_CODE.as_u16()
            }

            fn wire_body(&self) -> Option<(&str, serde_json::Value)> {
                None
            }
        }
    )*};
}

empty_wire_body!(HttpResponseDeleted, HttpResponseUpdatedNoContent);

/// A typed success with the response headers its operation declares (NetBird's setup): validated as its body,
/// which Dropshot's `HttpResponseHeaders` does not show, then sent as one ([`delegate`] converts it).
pub struct WithHeaders<T, H>(pub T, pub H);

impl<T: WireBody, H> WireBody for WithHeaders<T, H> {
    fn wire_status(&self) -> u16 {
        self.0.wire_status()
    }

    fn wire_body(&self) -> Option<(&str, serde_json::Value)> {
        self.0.wire_body()
    }
}

impl<T, H> From<WithHeaders<T, H>> for dropshot::HttpResponseHeaders<T, H>
where
    T: dropshot::HttpCodedResponse,
    H: schemars::JsonSchema + Serialize + Send + Sync + 'static,
{
    fn from(response: WithHeaders<T, H>) -> Self {
        dropshot::HttpResponseHeaders::new(response.0, response.1)
    }
}

/// A provider view's written response: its body is JSON text, or none when it has no `Content-Type`.
impl WireBody for http::Response<String> {
    fn wire_status(&self) -> u16 {
        self.status().as_u16()
    }

    fn wire_body(&self) -> Option<(&str, serde_json::Value)> {
        let content_type = self.headers().get(http::header::CONTENT_TYPE)?.to_str().ok()?;
        Some((content_type, serde_json::from_str(self.body()).unwrap_or(serde_json::Value::Null)))
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
    T: WireBody,
    E: HttpResponseError + Serialize + From<HttpError> + OffSpec + Cause,
{
    observed_as(rqctx, rqctx.endpoint.operation_id.as_str(), handler).await
}

/// [`observed`] for an operation served through another's route (the provider's literal paths): faults,
/// validation, metrics and the log line go by `operation_id`, the operation the request asked for.
pub(super) async fn observed_as<T, E>(
    rqctx: &RequestContext<ServerContext>,
    operation_id: &str,
    handler: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    T: WireBody,
    E: HttpResponseError + Serialize + From<HttpError> + OffSpec + Cause,
{
    let ctx = rqctx.context();
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
    // Every operation but the probes sees the stand-in key pairs, made after the server listens (at once when none
    // are being made): the key-pair API, providers' signing_key checks, tokens, state exports.
    if !matches!(operation_id, "healthz" | "readyz" | "metrics") {
        ctx.keyring.ready().await;
    }
    let result = match decision.error_status.and_then(super::error::injected) {
        Some(error) => {
            ctx.metrics.fault(operation_id, "error");
            Err(error)
        }
        None => handler.await,
    };
    let result = match ctx.validator {
        Some(validator) => validated(rqctx, operation_id, validator, result),
        None => result,
    };
    let status = match &result {
        Ok(response) => response.wire_status(),
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
fn validated<T: WireBody, E: HttpResponseError + Serialize + OffSpec>(
    rqctx: &RequestContext<ServerContext>,
    operation_id: &str,
    validator: &ResponseValidator,
    result: Result<T, E>,
) -> Result<T, E> {
    let checked = match &result {
        Ok(response) => {
            let body = response.wire_body();
            let (content_type, body) = match &body {
                Some((content_type, body)) => (Some(*content_type), Some(body)),
                None => (None, None),
            };
            validator.check(operation_id, response.wire_status(), content_type, body)
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

/// Trait methods that only run their handler inside [`observed`], one line each: `handler => fn name(arg: Type,
/// …) -> Ok, Error;` becomes `async fn name(rqctx, arg: Type, …) -> Result<Ok, Error>` calling
/// `handler(&rqctx, arg, …)`; its success converts into `Ok` (a [`WithHeaders`] into Dropshot's
/// `HttpResponseHeaders`, anything else into itself).
macro_rules! delegate {
    ($($handler:path => fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ok:ty, $err:ty;)*) => {$(
        async fn $name(rqctx: RequestContext<ServerContext>, $($arg: $ty),*) -> Result<$ok, $err> {
            observed(&rqctx, $handler(&rqctx, $($arg),*)).await.map(Into::into)
        }
    )*};
}
pub(super) use delegate;
