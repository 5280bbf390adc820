//! The active phase: probes that disturb the target (bursts, load, fault injection) run here,
//! after the passive phase and one at a time, so they neither skew latency measurements nor pile
//! up on the target. Each step is bounded by the run's deadline.

use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

use super::Audit;
use crate::observations::Observations;
use crate::probes::ProbeCx;

/// One serial step of the active phase: it gets the context and writes into the observations.
pub type ActiveStep = for<'a> fn(
    &'a ProbeCx,
    &'a Audit,
    &'a mut Observations,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The active steps in the order they run. Each family of active checks adds its step here.
pub const STEPS: &[(&str, ActiveStep)] = &[
    ("JWT forgery", |cx, audit, obs| {
        Box::pin(crate::probes::access::forge(cx, audit, obs))
    }),
    ("CSRF mutations", |cx, audit, obs| {
        Box::pin(crate::probes::access::csrf(cx, audit, obs))
    }),
    ("idempotency mutations", |cx, audit, obs| {
        Box::pin(crate::probes::access::idempotency(cx, audit, obs))
    }),
    ("rate-limit burst", |cx, audit, obs| {
        Box::pin(crate::probes::burst::run(cx, audit, obs))
    }),
    ("load baseline", |cx, audit, obs| {
        Box::pin(crate::probes::load::baseline(cx, audit, obs))
    }),
    ("dependency fault injection", |cx, audit, obs| {
        Box::pin(crate::probes::fault::inject(cx, audit, obs))
    }),
];

/// Runs the active steps serially when the profile allows them; returns a scope line saying what
/// ran.
pub async fn run(cx: &ProbeCx, audit: &Audit, obs: &mut Observations) -> String {
    let profile = audit.config.profile;
    if !profile.allows_active() {
        return format!(
            "Active probes (bursts, load, fault injection) were not run: the {} profile is passive only.",
            profile.as_str()
        );
    }
    let ran = run_steps(STEPS, cx, audit, obs).await;
    if ran.is_empty() {
        "Active probes: none configured for this target.".to_string()
    } else {
        format!("Active probes run one at a time: {}.", ran.join(", "))
    }
}

/// Runs steps in order, stopping at the deadline; returns the names of the steps that sent at
/// least one request.
pub async fn run_steps(
    steps: &[(&str, ActiveStep)],
    cx: &ProbeCx,
    audit: &Audit,
    obs: &mut Observations,
) -> Vec<String> {
    let mut ran = Vec::new();
    for (name, step) in steps {
        if Instant::now() >= cx.deadline {
            break;
        }
        let before = cx.requests_sent();
        // The step's own probes honour the deadline; this bounds anything they forget.
        // Named for the terminal ticker; a step cut by the deadline is dropped, and unlisted.
        let step = crate::progress::track(name, step(cx, audit, obs));
        let finished = tokio::time::timeout_at(cx.deadline, step).await.is_ok();
        // A step with nothing configured sends nothing: it did not run in any useful sense.
        if cx.requests_sent() > before {
            ran.push(if finished {
                (*name).to_string()
            } else {
                format!("{name} (cut short by the deadline)")
            });
        }
    }
    ran
}
