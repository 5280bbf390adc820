//! What `serve` keeps between scrapes: the audits in flight (so concurrent scrapes of one target
//! share one audit) and, with `--min-interval`, each target's last answer (so repeated scrapes
//! inside the window — several Prometheus servers, an HA pair — do not audit again).
//!
//! Both are keyed by the target URL (as parsed, so `HTTP://Host` and `http://host/` are one
//! target) and the profile: the only things a scrape may choose.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::watch;
use tokio::time::Instant;

/// One target as a scrape names it: URL and profile name.
pub(super) type Key = (String, &'static str);

/// How a scrape ended, for the exporter's `probes_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The target answered.
    Success,
    /// The target did not answer, or the audit failed.
    Failure,
    /// No audit slot came free within the budget.
    Busy,
}

/// The answer of one audit, shared by every scrape it serves.
#[derive(Debug)]
pub(super) struct Answer {
    /// HTTP status of the reply.
    pub status: StatusCode,
    /// True for Prometheus exposition (the body gets the cache-age sample appended).
    pub exposition: bool,
    /// The reply's body.
    pub body: String,
    /// For the exporter's counters.
    pub outcome: Outcome,
    /// When the audit ended: the answer's age is measured from here.
    pub finished: Instant,
}

impl Answer {
    /// True when a later scrape inside `--min-interval` may be given this answer: a report of
    /// the target, not the exporter's own trouble (busy, an engine error, an audit cut off).
    pub fn cacheable(&self) -> bool {
        self.exposition && self.status == StatusCode::OK && self.outcome != Outcome::Busy
    }
}

/// An audit in flight: scrapes of the same target wait on `rx`.
#[derive(Debug)]
pub(super) struct Flight {
    /// Tells this flight from a later one of the same key (removal must not take the wrong one).
    pub id: u64,
    /// When the flight's audit ends: a scrape that must answer before it is over does not wait.
    pub audit_end: Instant,
    /// Gets the answer once, when the audit ends.
    pub rx: watch::Receiver<Option<Arc<Answer>>>,
}

/// Each target's last answer, for `--min-interval`. Bounded twice: an entry older than the
/// interval is never served and is dropped at the next insert (or lookup of it), and at most
/// `capacity` entries are kept — inserting into a full cache drops the oldest answer first.
#[derive(Debug)]
pub(super) struct Cache {
    entries: HashMap<Key, Arc<Answer>>,
    ttl: Duration,
    capacity: usize,
}

impl Cache {
    /// An empty cache keeping answers for `ttl` (zero: keeps nothing), at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> Cache {
        Cache {
            entries: HashMap::new(),
            ttl,
            capacity,
        }
    }

    /// True when answers are kept at all.
    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The answer for `key` if it is younger than the interval; an expired one is dropped.
    pub fn get(&mut self, key: &Key, now: Instant) -> Option<Arc<Answer>> {
        let answer = self.entries.get(key)?;
        if now.saturating_duration_since(answer.finished) < self.ttl {
            return Some(Arc::clone(answer));
        }
        self.entries.remove(key);
        None
    }

    /// Keeps `answer` as `key`'s last one: expired entries go first, then — if still full — the
    /// oldest answer.
    pub fn insert(&mut self, key: Key, answer: Arc<Answer>, now: Instant) {
        if !self.enabled() {
            return;
        }
        let ttl = self.ttl;
        self.entries
            .retain(|_, a| now.saturating_duration_since(a.finished) < ttl);
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, a)| a.finished)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(finished: Instant) -> Arc<Answer> {
        Arc::new(Answer {
            status: StatusCode::OK,
            exposition: true,
            body: "readyprobe_probe_success 1\n".to_string(),
            outcome: Outcome::Success,
            finished,
        })
    }

    fn key(n: usize) -> Key {
        (format!("http://127.0.0.1:{n}/"), "staging")
    }

    #[test]
    fn answers_expire_after_the_interval() {
        let t0 = Instant::now();
        let mut c = Cache::new(Duration::from_secs(10), 100);
        c.insert(key(1), answer(t0), t0);
        assert!(c.get(&key(1), t0 + Duration::from_secs(9)).is_some());
        assert!(c.get(&key(1), t0 + Duration::from_secs(10)).is_none());
        assert_eq!(c.len(), 0, "the expired entry was dropped");
    }

    #[test]
    fn a_full_cache_drops_expired_then_the_oldest() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut c = Cache::new(s(10), 3);
        c.insert(key(1), answer(t0), t0);
        c.insert(key(2), answer(t0 + s(1)), t0 + s(1));
        c.insert(key(3), answer(t0 + s(2)), t0 + s(2));
        c.insert(key(4), answer(t0 + s(3)), t0 + s(3));
        assert_eq!(c.len(), 3);
        assert!(c.get(&key(1), t0 + s(3)).is_none(), "the oldest went");
        assert!(c.get(&key(4), t0 + s(3)).is_some());
        // Past key 2's and 3's interval: both go at the next insert, not the newer ones.
        c.insert(key(5), answer(t0 + s(12)), t0 + s(12));
        assert_eq!(c.len(), 2);
        assert!(c.get(&key(4), t0 + s(12)).is_some());
        // Replacing an entry of a full cache drops nothing else.
        c.insert(key(6), answer(t0 + s(12)), t0 + s(12));
        c.insert(key(4), answer(t0 + s(12)), t0 + s(12));
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn a_zero_interval_keeps_nothing() {
        let t0 = Instant::now();
        let mut c = Cache::new(Duration::ZERO, 100);
        c.insert(key(1), answer(t0), t0);
        assert_eq!(c.len(), 0);
        assert!(c.get(&key(1), t0).is_none());
    }
}
