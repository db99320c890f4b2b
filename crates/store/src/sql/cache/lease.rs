//! `Lease`: how fresh a cache whose invalidations arrive asynchronously (PostgreSQL `LISTEN/NOTIFY`) is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The freshness of a cache whose invalidations arrive asynchronously (PostgreSQL `LISTEN/NOTIFY`).
///
/// The listener confirms it has applied every notification committed before an instant `S` by sending a ping
/// notification after `S` and receiving it back (PostgreSQL delivers notifications in commit order). The cache
/// answers only while the newest confirmed `S` is at most [`window`](Lease::window) old, and every write that
/// can invalidate waits `window` after its commit before it is acknowledged. So a read that starts after the
/// acknowledgement of a write on any replica either sees a confirmation sent after that write's commit (its
/// invalidation is applied) or goes to the database.
pub(crate) struct Lease {
    base: Instant,
    /// Nanoseconds from `base` to the send time of the newest confirmed ping, plus one; 0 for none.
    confirmed: AtomicU64,
    window: Duration,
    /// The age from which requests ask for a new confirmation.
    renew_after: Duration,
    /// Wakes the pinger: the lease is older than `renew_after`.
    pub(crate) renew: Notify,
}

impl Lease {
    pub(crate) fn new(window: Duration, renew_after: Duration) -> Self {
        Lease { base: Instant::now(), confirmed: AtomicU64::new(0), window, renew_after, renew: Notify::new() }
    }

    /// How long an invalidating write waits after its commit.
    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// The instant as the lease counts it.
    pub(crate) fn stamp(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Records that everything committed before `sent` (a [`stamp`](Lease::stamp)) has been applied.
    pub(crate) fn confirm(&self, sent: u64) {
        self.confirmed.fetch_max(sent, Ordering::AcqRel);
    }

    /// Nothing is confirmed any more (the listener lost its connection).
    pub(crate) fn revoke(&self) {
        self.confirmed.store(0, Ordering::Release);
    }

    /// Whether the newest confirmation is older than `renew_after` (the pinger should send another).
    pub(crate) fn wants_renewal(&self) -> bool {
        let confirmed = self.confirmed.load(Ordering::Acquire);
        confirmed == 0 || Duration::from_nanos(self.stamp().saturating_sub(confirmed)) > self.renew_after
    }

    /// Whether the cache may answer now; asks for a renewal once the lease is older than `renew_after`.
    pub(super) fn fresh(&self) -> bool {
        let confirmed = self.confirmed.load(Ordering::Acquire);
        if confirmed == 0 {
            self.renew.notify_one();
            return false;
        }
        let age = Duration::from_nanos(self.stamp().saturating_sub(confirmed));
        if age > self.renew_after {
            self.renew.notify_one();
        }
        age <= self.window
    }
}
