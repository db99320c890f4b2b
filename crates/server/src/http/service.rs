//! tokenstack's own service operations: liveness, readiness and Prometheus metrics.

use dropshot::{HttpResponseOk, RequestContext};
use tokenstack_api::types;

use std::time::Duration;

use super::ServerContext;
use super::error::{OffSpec, TsError, TsResponseError};
use crate::store::StoreError;

pub(super) async fn healthz(
    _rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::HealthStatus>, TsResponseError> {
    Ok(HttpResponseOk(types::HealthStatus { status: "ok".to_string() }))
}

pub(super) async fn readyz(
    rqctx: &RequestContext<ServerContext>,
) -> Result<HttpResponseOk<types::HealthStatus>, TsResponseError> {
    match ready_within(READY_WITHIN, rqctx.context().store.ping()).await {
        Ok(()) => Ok(HttpResponseOk(types::HealthStatus { status: "ready".to_string() })),
        Err(err) => Err(TsError::Unready(err).into()),
    }
}

/// How long `/readyz` waits for the store: far less than the PostgreSQL pool's acquire timeout (10 s), so a database
/// that does not answer makes the probe fail fast with a 503 rather than time out.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// The readiness rule: the store answered `ping` within `limit`.
async fn ready_within(limit: Duration, ping: impl Future<Output = Result<(), StoreError>>) -> Result<(), StoreError> {
    tokio::time::timeout(limit, ping)
        .await
        .unwrap_or_else(|_| Err(StoreError::backend("the store did not answer the readiness check in time")))
}

pub(super) async fn metrics(
    rqctx: &RequestContext<ServerContext>,
) -> Result<http::Response<dropshot::Body>, TsResponseError> {
    let ctx = rqctx.context();
    // Token gauges are read from the store at most once per TOKEN_GAUGE_MAX_AGE; a store failure leaves them as
    // they were.
    if ctx.metrics.claim_token_refresh(std::time::Instant::now())
        && let Ok(counts) = ctx.store.count_tokens().await
    {
        ctx.metrics.set_tokens("authentik_core", counts.core);
        ctx.metrics.set_tokens("authentik_oauth2_access", counts.oauth_access);
        ctx.metrics.set_tokens("authentik_oauth2_refresh", counts.oauth_refresh);
        ctx.metrics.set_tokens("netbird_pat", counts.pats);
    }
    let text = ctx.metrics.render();
    const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
    if let Some(validator) = ctx.validator
        && let Err(violation) = validator.check("metrics", 200, Some(CONTENT_TYPE), None)
    {
        slog::error!(rqctx.log, "response violates the spec"; "operation_id" => "metrics", "pointer" => &violation.pointer);
        return Err(TsResponseError::off_spec(violation.to_string()));
    }
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(dropshot::Body::from(text))
        .map_err(|err| TsError::Internal(format!("cannot build the metrics response: {err}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_store_that_never_answers_is_unready_after_the_limit() {
        let start = tokio::time::Instant::now();
        let err = ready_within(READY_WITHIN, std::future::pending()).await.unwrap_err();
        assert_eq!(err, StoreError::backend("the store did not answer the readiness check in time"));
        assert_eq!(start.elapsed(), READY_WITHIN, "the paused clock advanced exactly to the limit");
        assert_eq!(ready_within(READY_WITHIN, async { Ok(()) }).await, Ok(()));
        let down = StoreError::backend("down");
        assert_eq!(ready_within(READY_WITHIN, async { Err(StoreError::backend("down")) }).await, Err(down));
    }
}
