//! The `last_used` marks of cached PATs that wait to be written (`sql/uses.rs` writes them): authentication marks
//! the cached PAT and records the mark here, under the cache's one lock, so reads see it before it is written.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Cache;
use crate::model::Pat;

/// The marks not yet written, by PAT id: `(user id, at)`.
pub(super) type PendingUses = HashMap<String, (String, DateTime<Utc>)>;

impl Cache {
    /// Records that the PAT `id` of `user_id` was used `at`, to be written by the next flush, when the PAT is
    /// cached; `false` when the caller must write it itself. The lease need not be fresh: the caller has just
    /// authenticated the PAT (from a fresh cache or the database), so it existed an instant ago, and a mark of a
    /// PAT deleted since changes no row when it is written.
    pub(crate) fn mark_pat_used(&self, user_id: &str, id: &str, at: DateTime<Utc>) -> bool {
        let mut t = self.lock();
        let Some(hash) = t.pat_by_id.get(id).cloned() else { return false };
        let Some(pat) = t.pats.get_mut(&*hash) else { return false };
        if pat.user_id != user_id {
            return false;
        }
        Arc::make_mut(pat).last_used = Some(at);
        t.pending_used.insert(id.to_owned(), (user_id.to_owned(), at));
        true
    }

    /// Sets `last_used` of the cached PAT `id` (written by the caller): no invalidation, since no answer of
    /// authentication depends on it, so a busy PAT stays cached.
    pub(crate) fn note_pat_used(&self, id: &str, at: DateTime<Utc>) {
        let mut t = self.lock();
        let Some(hash) = t.pat_by_id.get(id).cloned() else { return };
        if let Some(pat) = t.pats.get_mut(&*hash) {
            let pat = Arc::make_mut(pat);
            pat.last_used = pat.last_used.max(Some(at));
        }
    }

    /// `pat` with the `last_used` mark not yet written, if any is newer.
    pub(crate) fn with_pending_use(&self, mut pat: Pat) -> Pat {
        let t = self.lock();
        if let Some((user, at)) = t.pending_used.get(&pat.id)
            && *user == pat.user_id
        {
            pat.last_used = pat.last_used.max(Some(*at));
        }
        pat
    }

    /// Every `last_used` mark not yet written, `(id, user id, at)`, taken out for writing.
    pub(crate) fn take_pending_uses(&self) -> Vec<(String, String, DateTime<Utc>)> {
        let mut t = self.lock();
        t.pending_used.drain().map(|(id, (user, at))| (id, user, at)).collect()
    }

    /// Puts back marks whose write failed, unless a newer mark came in meanwhile.
    pub(crate) fn restore_pending_uses(&self, marks: Vec<(String, String, DateTime<Utc>)>) {
        let mut t = self.lock();
        for (id, user, at) in marks {
            if t.pat_by_id.contains_key(id.as_str()) {
                t.pending_used.entry(id).or_insert((user, at));
            }
        }
    }

    /// How many marks wait for the next flush.
    pub(crate) fn pending_uses(&self) -> usize {
        self.lock().pending_used.len()
    }
}
