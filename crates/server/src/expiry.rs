//! The background expiry sweep, as authentik's cleanup task: expired `api` keys are rotated, other
//! expired core tokens deleted.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use slog::Logger;
use tokio::task::JoinHandle;

use crate::store::{ExpiryOutcome, Store, StoreError};

/// How far a rotated `api` token's expiry moves, as authentik's default token duration.
const ROTATION_EXTENSION: TimeDelta = TimeDelta::days(1);

/// Runs one sweep at `now`.
pub async fn sweep(store: &dyn Store, now: DateTime<Utc>) -> Result<ExpiryOutcome, StoreError> {
    store.expire_core_tokens(now, ROTATION_EXTENSION).await
}

/// Sweeps every `interval` until the returned task is aborted. Token identifiers are logged, never keys.
pub fn spawn(
    store: Arc<dyn Store>,
    clock: impl Fn() -> DateTime<Utc> + Send + 'static,
    interval: Duration,
    log: Logger,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            match sweep(&*store, clock()).await {
                Ok(outcome) if outcome.rotated.is_empty() && outcome.deleted.is_empty() => {}
                Ok(outcome) => {
                    slog::info!(log, "expiry sweep"; "rotated" => ?outcome.rotated, "deleted" => ?outcome.deleted);
                }
                Err(error) => slog::warn!(log, "expiry sweep failed"; "error" => %error),
            }
        }
    })
}
