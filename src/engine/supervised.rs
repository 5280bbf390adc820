//! The supervised phase: what only the owner of the process can prove, run last, after the
//! active steps, under the run's deadline and its share of the request budget
//! ([`super::budget::SUPERVISED`]).
//!
//! In order: the startup time the session measured, the log canaries (`[logs]`), then — active
//! profiles only — SIGTERM with requests in flight (`ops.graceful_shutdown`) and a restart with
//! `[supervise] invalid_env` (`ops.fail_fast_config`). Under a passive profile the service is
//! stopped without the checks. Whatever happens (the deadline included) the session, dropped
//! here, stops the service and the proxies.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::Semaphore;

use super::Audit;
use super::budget::{self, BudgetPlan};
use crate::observations::{Observations, Probed};
use crate::probes::ProbeCx;
use crate::probes::logs::{self, LogReader};
use crate::supervise::{self, Session};

/// Runs the supervised phase into `obs`; returns its "Scope and method" lines. With neither a
/// supervised service nor a log source it does nothing.
pub(super) async fn run(
    cx: &ProbeCx,
    audit: &Audit,
    mut session: Session,
    obs: &mut Observations,
    plan: &BudgetPlan,
) -> Vec<String> {
    let cfg = &audit.config;
    if !cfg.supervise.is_enabled() && cfg.logs.source.is_none() {
        return Vec::new();
    }
    if let Some(startup) = session.startup() {
        obs.startup = Probed::Observed(startup);
    }
    let ceiling = plan
        .steps
        .iter()
        .position(|s| s.name == budget::SUPERVISED)
        .map_or(plan.total, |i| plan.step_ceiling(i));
    let mut step_cx = cx.for_phase(budget::SUPERVISED, ceiling);
    // Every in-flight request must be on the wire when SIGTERM goes out, and the readiness
    // poller beside them. Its own transport and "answered" flag: whether the target was reachable
    // was decided by the audit, not by a service being stopped.
    step_cx.limit = Arc::new(Semaphore::new(
        cfg.run
            .concurrency
            .max(cfg.supervise.in_flight as usize + 1),
    ));
    step_cx.net = crate::probes::net::NetCx::standalone(&cfg.run, &audit.extra_roots);
    step_cx.answered = Arc::new(AtomicBool::new(false));

    let mut scope = Vec::new();
    let phase = crate::progress::track(
        "supervised checks",
        steps(&step_cx, audit, &mut session, obs, &mut scope),
    );
    if tokio::time::timeout_at(cx.deadline, Box::pin(phase))
        .await
        .is_err()
    {
        scope.push(format!(
            "The supervised checks were cut short by the run's deadline (run.deadline {}); the \
             service was stopped.",
            humantime::format_duration(cfg.run.deadline)
        ));
    }
    // Dropping the session kills the service's process group (if still running) and stops the
    // proxies.
    drop(session);
    scope
}

/// The phase's steps, in order; what was not reached before the deadline keeps the reason
/// written up front.
async fn steps(
    cx: &ProbeCx,
    audit: &Audit,
    session: &mut Session,
    obs: &mut Observations,
    scope: &mut Vec<String>,
) {
    let cfg = &audit.config;
    let active = cfg.profile.allows_active();
    let cut = "not run: the run's deadline passed first (run.deadline)".to_string();
    if let Some(source) = &cfg.logs.source {
        obs.logs = Probed::Failed(cut.clone());
        let captured = session.captured_output();
        obs.logs = match LogReader::from_config(source, captured.as_ref()) {
            Some(reader) => match logs::canaries(cx, &audit.probe_target(), &reader).await {
                Ok(o) => Probed::Observed(o),
                Err(reason) => Probed::Failed(reason.to_string()),
            },
            None => Probed::Skipped("no supervised process to read logs from".to_string()),
        };
    }
    let Some(mut service) = session.take_service() else {
        return;
    };
    let pid = service.pid();
    let sup = &cfg.supervise;
    if active {
        obs.shutdown = Probed::Failed(cut.clone());
        if !sup.invalid_env.is_empty() {
            obs.fail_fast = Probed::Failed(cut.clone());
        }
        let url = super::join_path(&audit.target, sup.slow_path.as_deref().unwrap_or("/"));
        let readiness = session.readiness().cloned();
        obs.shutdown = Probed::Observed(
            supervise::shutdown(cx, sup, &url, &mut service, readiness.as_ref()).await,
        );
        scope.push(format!(
            "Supervised: readyprobe started `{}` (pid {pid}), audited it, then sent SIGTERM with {} request(s) in flight.",
            sup.command.join(" "),
            sup.in_flight
        ));
    } else {
        service.stop(sup.grace_period).await;
        scope.push(format!(
            "Supervised: readyprobe started `{}` (pid {pid}) and stopped it; shutdown checks are active and were not run under the {} profile.",
            sup.command.join(" "),
            cfg.profile.as_str()
        ));
    }
    service.kill().await;
    drop(service);
    if active && !sup.invalid_env.is_empty() {
        let readiness = session.readiness().cloned();
        obs.fail_fast = match supervise::fail_fast(cfg, readiness.as_ref()).await {
            Ok(o) => Probed::Observed(o),
            Err(reason) => Probed::Failed(reason.to_string()),
        };
    } else if sup.invalid_env.is_empty() {
        obs.fail_fast = Probed::Skipped(
            "no [supervise] invalid_env is configured to start the service with".to_string(),
        );
    }
}
