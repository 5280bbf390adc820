//! The active phase: probes that disturb the target (bursts, load, fault injection) run here,
//! after the passive phase and one at a time, so they neither skew latency measurements nor pile
//! up on the target. Each step is bounded by the run's deadline and by its share of the request
//! budget ([`super::budget`]): no step can spend what a later one reserved.

use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

use super::Audit;
use super::budget::BudgetPlan;
use crate::observations::Observations;
use crate::probes::{ProbeCx, Target};

/// One serial step of the active phase: it gets the context and writes into the observations.
pub type ActiveStep = for<'a> fn(
    &'a ProbeCx,
    &'a Target<'a>,
    &'a mut Observations,
) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub use super::budget::{BURST, CSRF, FAULT, FORGERY, IDEMPOTENCY, LOAD};

/// The active steps in the order they run. Each family of active checks adds its step here and
/// its need to `budget::needs`.
pub const STEPS: &[(&str, ActiveStep)] = &[
    (FORGERY, |cx, audit, obs| {
        Box::pin(crate::probes::access::forge(cx, audit, obs))
    }),
    (CSRF, |cx, audit, obs| {
        Box::pin(crate::probes::access::csrf(cx, audit, obs))
    }),
    (IDEMPOTENCY, |cx, audit, obs| {
        Box::pin(crate::probes::access::idempotency(cx, audit, obs))
    }),
    (BURST, |cx, audit, obs| {
        Box::pin(crate::probes::burst::run(cx, audit, obs))
    }),
    (LOAD, |cx, audit, obs| {
        Box::pin(crate::probes::load::baseline(cx, audit, obs))
    }),
    (FAULT, |cx, audit, obs| {
        Box::pin(crate::probes::fault::inject(cx, audit, obs))
    }),
];

/// Runs the active steps serially when the profile allows them, each under its share of the
/// budget; returns a scope line saying what ran and what it sent.
pub async fn run(cx: &ProbeCx, audit: &Audit, obs: &mut Observations, plan: &BudgetPlan) -> String {
    let profile = audit.config.profile;
    if !profile.allows_active() {
        return format!(
            "Active probes (bursts, load, fault injection) were not run: the {} profile is passive only.",
            profile.as_str()
        );
    }
    let ran = run_steps(STEPS, cx, audit, obs, plan).await;
    if ran.is_empty() {
        "Active probes: none configured for this target.".to_string()
    } else {
        format!("Active probes run one at a time: {}.", ran.join(", "))
    }
}

/// Runs steps in order, stopping at the deadline, each with the ceiling the plan gives it;
/// returns, for each step that sent at least one request, its name and what it sent.
pub async fn run_steps(
    steps: &[(&str, ActiveStep)],
    cx: &ProbeCx,
    audit: &Audit,
    obs: &mut Observations,
    plan: &BudgetPlan,
) -> Vec<String> {
    let mut ran = Vec::new();
    for (name, step) in steps {
        if Instant::now() >= cx.deadline {
            break;
        }
        let ceiling = plan
            .steps
            .iter()
            .position(|s| s.name == *name)
            .map_or(plan.total, |i| plan.step_ceiling(i));
        let step_cx = cx.for_phase(name, ceiling);
        let before = cx.requests_sent();
        // The step's own probes honour the deadline; this bounds anything they forget.
        // Named for the terminal ticker; a step cut by the deadline is dropped, and unlisted.
        let target = audit.probe_target();
        let step = crate::progress::track(name, step(&step_cx, &target, obs));
        let finished = tokio::time::timeout_at(cx.deadline, step).await.is_ok();
        // A step with nothing configured sends nothing: it did not run in any useful sense.
        let sent = cx.requests_sent() - before;
        if sent > 0 {
            ran.push(if finished {
                format!("{name} ({sent} requests)")
            } else {
                format!("{name} ({sent} requests, cut short by the deadline)")
            });
        }
    }
    ran
}
