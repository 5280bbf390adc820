//! Probes: the only code that talks to the target.
//!
//! A probe does I/O and returns plain data (an observation) or a [`ProbeError`]; it never judges.
//! The engine owns the limits a probe runs under — the shared client, the per-target concurrency
//! limit, the per-operation timeout, the run's deadline and the request budget — and hands them
//! over in a [`ProbeCx`], the way blackbox_exporter's handler owns the scrape timeout.

pub mod access;
pub mod burst;
pub mod deps;
pub mod fault;
pub mod http;
pub mod kubelet;
pub mod load;
pub mod logs;
pub mod metrics;
pub mod net;
pub mod target;
pub mod tls;
pub mod trace_context;

pub use target::Target;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::redact::Redactor;

/// Why a probe could not observe. The message names the subject and the fact; the CLI adds the
/// remedy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// No answer within the per-operation timeout.
    #[error("{subject}: no answer within {}", humantime::format_duration(*.after))]
    Timeout {
        /// What was being probed (a redacted URL or a dependency name).
        subject: String,
        /// The timeout that expired.
        after: Duration,
    },
    /// The run's global deadline passed before this probe could finish.
    #[error("{subject}: the run's deadline was reached before it finished")]
    Deadline {
        /// What was being probed.
        subject: String,
    },
    /// The run's request budget (`--max-requests`), or this phase's share of it, is spent.
    #[error("{subject}: not sent, {}", budget_reason(*limit, share.as_ref()))]
    Budget {
        /// What was being probed.
        subject: String,
        /// The run's whole budget.
        limit: u64,
        /// The phase whose share ran out and the count it may reach, when a share (not the whole
        /// budget) stopped the request.
        share: Option<(String, u64)>,
    },
    /// Could not connect (refused, unreachable, DNS failure).
    #[error("{subject}: cannot connect: {reason}")]
    Connect {
        /// What was being probed.
        subject: String,
        /// The underlying error chain, redacted.
        reason: String,
    },
    /// Connected, but the TLS handshake failed (untrusted certificate, wrong host, not TLS).
    #[error("{subject}: TLS handshake failed: {reason}")]
    Tls {
        /// What was being probed.
        subject: String,
        /// The underlying error chain, redacted.
        reason: String,
    },
    /// The answer broke the protocol or a safety cap (redirect loop, oversized headers…).
    #[error("{subject}: {reason}")]
    Protocol {
        /// What was being probed.
        subject: String,
        /// What was wrong.
        reason: String,
    },
}

/// Why a request was not sent for lack of budget.
fn budget_reason(limit: u64, share: Option<&(String, u64)>) -> String {
    match share {
        Some((phase, ceiling)) if *ceiling < limit => format!(
            "the {phase} share of the request budget is spent ({ceiling} of {limit} requests; \
             the rest is kept for the phases after it)"
        ),
        _ => format!("the request budget of {limit} is spent"),
    }
}

impl ProbeError {
    /// True when the error means the target could not be reached at all (not a timeout on a
    /// slow endpoint, not a protocol error from a live server).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ProbeError::Connect { .. } | ProbeError::Tls { .. })
    }
}

/// Everything a probe needs from the engine: transport, limits, timeout, deadline and budget.
#[derive(Debug, Clone)]
pub struct ProbeCx {
    /// The HTTP transport every request to the target goes through ([`http::send`]): the run's
    /// connection pool and resolver, this audit's trust.
    pub net: net::NetCx,
    /// A plain client for side channels that are not the target (fault proxy control endpoints).
    pub client: reqwest::Client,
    /// Per-target concurrency limit.
    pub limit: Arc<Semaphore>,
    /// Timeout for each network operation.
    pub timeout: Duration,
    /// The run's global deadline.
    pub deadline: Instant,
    /// Requests sent so far (shared by every probe of the run).
    pub requests: Arc<AtomicU64>,
    /// The most requests the run may send.
    pub max_requests: u64,
    /// The most body bytes read from one response; the rest is not read.
    pub max_body: usize,
    /// Headers added to every request to the target (configured credentials).
    pub extra_headers: Vec<(String, String)>,
    /// Masks configured secrets in free text.
    pub redactor: Redactor,
    /// Set once anything answered at all (a response, or a TLS/protocol error from a live peer):
    /// false at the end of a run means the target could not be reached.
    pub answered: Arc<AtomicBool>,
    /// The phase this context runs (passive probes, one active step) and the request count the
    /// run may reach during it: the budget less what later phases keep (`engine::budget`).
    /// `None`: the whole budget.
    pub share: Option<Share>,
}

/// One phase's share of the request budget, as the count of requests the run may have sent by
/// the end of that phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// The phase, in words (`passive probes`, `load baseline`).
    pub phase: String,
    /// The most requests the run may have sent once this phase is done.
    pub ceiling: u64,
}

impl ProbeCx {
    /// Counts one request against the budget, or refuses it when the budget — or this phase's
    /// share of it — is spent.
    pub fn spend_request(&self, subject: &str) -> Result<(), ProbeError> {
        let ceiling = self
            .share
            .as_ref()
            .map_or(self.max_requests, |s| s.ceiling.min(self.max_requests));
        let sent = self.requests.fetch_add(1, Ordering::SeqCst);
        if sent >= ceiling {
            self.requests.fetch_sub(1, Ordering::SeqCst);
            return Err(ProbeError::Budget {
                subject: subject.to_string(),
                limit: self.max_requests,
                share: self
                    .share
                    .as_ref()
                    .map(|s| (s.phase.clone(), s.ceiling.min(self.max_requests))),
            });
        }
        Ok(())
    }

    /// The same context for one phase, limited to `ceiling` requests sent in the whole run by
    /// the end of it (counting what earlier phases sent).
    pub fn for_phase(&self, phase: &str, ceiling: u64) -> ProbeCx {
        ProbeCx {
            share: Some(Share {
                phase: phase.to_string(),
                ceiling,
            }),
            ..self.clone()
        }
    }

    /// Records that a peer answered (used for the "unreachable" exit code).
    pub fn mark_answered(&self) {
        self.answered.store(true, Ordering::SeqCst);
    }

    /// True once anything answered.
    pub fn any_answer(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }

    /// Requests sent so far.
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Waits for a concurrency slot, but not past the deadline.
    pub async fn permit(&self, subject: &str) -> Result<SemaphorePermit<'_>, ProbeError> {
        match tokio::time::timeout_at(self.deadline, self.limit.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(ProbeError::Deadline {
                subject: subject.to_string(),
            }),
        }
    }

    /// The instant a single operation started now must finish by: the timeout or the deadline,
    /// whichever comes first.
    pub fn op_deadline(&self) -> Instant {
        (Instant::now() + self.timeout).min(self.deadline)
    }

    /// The error to report when an operation's time ran out: a timeout, or the run's deadline if
    /// that is what cut it short.
    pub fn expired(&self, subject: &str) -> ProbeError {
        if Instant::now() >= self.deadline {
            ProbeError::Deadline {
                subject: subject.to_string(),
            }
        } else {
            ProbeError::Timeout {
                subject: subject.to_string(),
                after: self.timeout,
            }
        }
    }
}

/// Joins an error and its sources into one line ("a: b: c"), skipping repeats.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
