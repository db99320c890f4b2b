//! The background expiry sweep, as authentik's cleanup task: expired `api` keys are rotated, other
//! expired core tokens deleted, and expired sessions deleted (Django's `clearsessions`, which authentik's
//! `clean_expired_models` runs).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use slog::Logger;
use tokio::task::JoinHandle;

use crate::authentik::with_fresh_key;
use crate::model::{AkSession, CoreToken, Intent};
use crate::store::{ExpireAction, ExpiryOutcome, Store, StoreError};

/// How far a rotated `api` token's expiry moves, as authentik's default token duration.
const ROTATION_EXTENSION: TimeDelta = TimeDelta::days(1);

/// Tokens handled per store read, so no step holds the store for long.
const BATCH: usize = 256;

/// Runs one sweep at `now`, authentik's cleanup (`expire_action`): every expired `api` token gets a new random
/// key and `expires = now + 1 day`; expired tokens of every other intent are deleted.
pub async fn sweep(store: &dyn Store, now: DateTime<Utc>) -> Result<ExpiryOutcome, StoreError> {
    let mut outcome = ExpiryOutcome::default();
    loop {
        let batch = store.expired_core_tokens(now, BATCH).await?;
        let full = batch.len() == BATCH;
        let mut progressed = false;
        for token in batch {
            let identifier = token.identifier.clone();
            if token.intent == Intent::Api {
                if rotate(store, &token, now).await? {
                    outcome.rotated.push(identifier);
                    progressed = true;
                }
            } else if store.expire_core_token(token.pk, now, ExpireAction::Delete).await? {
                outcome.deleted.push(identifier);
                progressed = true;
            }
        }
        if !full || !progressed {
            return Ok(outcome);
        }
    }
}

/// Deletes every session that has expired at `now` (an expired session never authenticates: `Session::load`
/// ignores it; this keeps the store from growing). Returns how many went.
pub async fn sweep_sessions(store: &dyn Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for session in store.all::<AkSession>().await?.into_iter().filter(|s| s.is_expired(now)) {
        match store.delete::<AkSession>(session.key_hash).await {
            Ok(()) => deleted += 1,
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

/// Rotates one `api` token (a new key, drawn again while taken).
async fn rotate(store: &dyn Store, token: &CoreToken, now: DateTime<Utc>) -> Result<bool, StoreError> {
    with_fresh_key(|key| {
        store.expire_core_token(token.pk, now, ExpireAction::Rotate { key, expires: now + ROTATION_EXTENSION })
    })
    .await
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
            match sweep_sessions(&*store, clock()).await {
                Ok(0) => {}
                Ok(sessions) => slog::info!(log, "expired sessions deleted"; "sessions" => sessions),
                Err(error) => slog::warn!(log, "session sweep failed"; "error" => %error),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use super::sweep_sessions;
    use crate::model::AkSession;
    use crate::store::{MemoryStore, Store};

    fn session(key_hash: &str, expires: chrono::DateTime<Utc>) -> AkSession {
        AkSession {
            key_hash: key_hash.to_owned(),
            user: None,
            auth_time: None,
            amr: Vec::new(),
            login_id: None,
            expires,
            last_ip: String::new(),
            last_user_agent: String::new(),
            last_used: None,
            flow: crate::model::Document::default(),
        }
    }

    #[tokio::test]
    async fn the_sweep_deletes_expired_sessions_only() {
        let store = MemoryStore::new();
        let store: &dyn Store = &store;
        let now = Utc::now();
        store.insert_with_pk(session("old", now - TimeDelta::seconds(1))).await.unwrap();
        store.insert_with_pk(session("live", now + TimeDelta::hours(1))).await.unwrap();
        assert_eq!(sweep_sessions(store, now).await.unwrap(), 1);
        let left: Vec<String> = store.all::<AkSession>().await.unwrap().into_iter().map(|s| s.key_hash).collect();
        assert_eq!(left, ["live"]);
        assert_eq!(sweep_sessions(store, now).await.unwrap(), 0);
    }
}
