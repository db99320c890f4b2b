//! The write-behind of PAT `last_used` marks: authentication marks a cached PAT in the cache (`cache::uses`), and
//! the marks are written in one transaction every [`FLUSH_INTERVAL`], when too many wait, at export and at close.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::StoreError;
use crate::sql::driver::{Driver, On};
use crate::sql::{Sql, micros};

/// How often the `last_used` marks of PATs that wait in the cache are written.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Writes the waiting `last_used` marks every [`FLUSH_INTERVAL`] for as long as the store `inner` (shared by every
/// clone of it, as `wrap` makes one) exists.
pub(crate) fn spawn_flusher<T: Send + Sync + 'static, D: Driver>(inner: &Arc<T>, wrap: fn(Arc<T>) -> D) {
    let inner: Weak<T> = Arc::downgrade(inner);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(inner) = inner.upgrade() else { return };
            // A failure keeps the marks for the next round; the database's outage shows in the requests.
            let _ = flush_pat_uses(&wrap(inner)).await;
        }
    });
}

/// How many `last_used` marks may wait before the marking request writes them itself.
pub(crate) const MAX_PENDING_USES: usize = 4096;

/// Writes the `last_used` marks of cached PATs that wait in the cache (`mark_pat_used`), in one transaction;
/// on failure they wait for the next flush. Runs every [`FLUSH_INTERVAL`], at export and at close.
pub(crate) async fn flush_pat_uses<D: Driver>(store: &D) -> Result<(), StoreError> {
    let marks = store.cache().take_pending_uses();
    if marks.is_empty() {
        return Ok(());
    }
    let statements: Vec<Sql> = marks
        .iter()
        .map(|(id, user, at)| {
            let sql = Sql::new("UPDATE pats SET last_used = $1 WHERE user_id = $2 AND id = $3");
            sql.arg(micros(*at)).arg(user.as_str()).arg(id.as_str())
        })
        .collect();
    let done = store
        .write_tx(move |conn| {
            Box::pin(async move {
                for sql in &statements {
                    On::<D::Db>::Tx(&mut *conn).execute(sql).await?;
                }
                Ok(())
            })
        })
        .await;
    if done.is_err() {
        store.cache().restore_pending_uses(marks);
    }
    done
}
