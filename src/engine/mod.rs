//! The engine: plans the probes, runs them under the run's limits, then judges and scores.
//!
//! It owns everything probes must not decide for themselves: the HTTP transport (shared by
//! every audit of a run), the per-target concurrency limit, the per-operation timeout, the global
//! deadline and the request budget, split by phase ([`budget`]) so no phase starves a later one.
//! The passive phase runs probes concurrently; the active phase (bursts, fault injection) runs
//! afterwards, one step at a time, so it cannot skew latency measurements. A probe that fails
//! becomes data (`Probed::Failed`) and its checks `error` findings: the run always ends with a
//! report.

pub mod active;
pub mod budget;
mod conclude;
pub mod dependencies;
mod judge;
mod passive;
pub mod plan;
pub mod record;
mod supervised;
pub mod wait;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::SystemTime;

use rustls_pki_types::CertificateDer;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

pub use conclude::{Judging, RunMeta, conclude, rfc3339};
pub use judge::judge;
pub use passive::join_path;

use crate::checks::Catalogue;
use crate::config::Config;
use crate::model::Report;
use crate::observations::{Observations, Probed, TargetInfo};
use crate::probes::http::{self, ClientOptions};
pub use crate::probes::net::Net;
use crate::probes::net::NetCx;
use crate::probes::{ProbeCx, Target};
use crate::redact::{self, Redactor};
use crate::supervise::Session;

/// Everything one audit needs, resolved from config, flags and environment.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The target's base URL; [`Audit::DEPENDENCY_ONLY_TARGET`] when only dependencies are
    /// audited.
    pub target: Url,
    /// The validated configuration.
    pub config: Config,
    /// Extra trust anchors (from `run.ca_file`, or the demo's CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Headers sent with every request, `env:` values resolved (secret).
    pub headers: Vec<(String, String)>,
    /// Masks every configured secret in free text.
    pub redactor: Redactor,
    /// Every check this run knows (built-in and packs).
    pub catalogue: Arc<Catalogue>,
}

impl Audit {
    /// The [`Audit::target`] of a dependency-only audit (`readyprobe audit postgres://…`): not
    /// an HTTP URL, so no HTTP probe can run against it.
    pub const DEPENDENCY_ONLY_TARGET: &'static str = "dependencies:";

    /// True when there is no HTTP target and only the configured dependencies are audited.
    pub fn is_dependency_only(&self) -> bool {
        !matches!(self.target.scheme(), "http" | "https")
    }

    /// What the probes see of this audit: the target, the config and the trust anchors.
    pub fn probe_target(&self) -> Target<'_> {
        Target {
            target: &self.target,
            config: &self.config,
            extra_roots: &self.extra_roots,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The scored report.
    pub report: Report,
    /// The raw observations (for `--record`).
    pub observations: Observations,
    /// False when nothing at all answered: the target could not be reached.
    pub reachable: bool,
}

/// Why an audit could not start (a run that starts always ends with a report).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The HTTP client could not be built (a bad CA certificate, say).
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Runs one audit on a transport of its own: passive probes, active probes, judging, scoring.
pub async fn run(audit: &Audit) -> Result<RunOutput, EngineError> {
    run_on(audit, &Net::for_run(&audit.config.run)).await
}

/// Runs one audit on `net`, the transport (connection pool, per-host limit, resolver) of a run
/// that may hold many audits: a fleet, or the exporter.
pub async fn run_on(audit: &Audit, net: &Net) -> Result<RunOutput, EngineError> {
    Box::pin(run_with(audit, net, None)).await
}

/// Runs a supervised audit: the fault proxies and the service `session` started. The fault step
/// cuts its proxies; after the active steps, the supervised phase (log canaries, graceful
/// shutdown, fail-fast) runs under the same deadline and request budget, and the run is judged
/// once. The session's proxies and service are stopped when this returns.
pub async fn run_supervised(audit: &Audit, session: Session) -> Result<RunOutput, EngineError> {
    let net = Net::for_run(&audit.config.run);
    let proxies = session.proxies();
    crate::probes::fault::with_proxies(proxies, Box::pin(run_with(audit, &net, Some(session))))
        .await
}

async fn run_with(
    audit: &Audit,
    net: &Net,
    session: Option<Session>,
) -> Result<RunOutput, EngineError> {
    let started_wall = SystemTime::now();
    let started = Instant::now();
    let cx = probe_cx(audit, net, started)?;

    let mut obs = Observations {
        target: target_info(audit),
        ..Observations::default()
    };
    obs.kubernetes = kubernetes(audit);
    let dependency_only = audit.is_dependency_only();
    let plan = budget::plan(
        &audit.config,
        crate::probes::fault::proxy_count(&audit.probe_target()),
    );
    let passive_sent;
    let active_note = if dependency_only {
        obs.kube_probes = Probed::Skipped(judge::NO_HTTP_TARGET.to_string());
        obs.fault = Probed::Skipped(judge::NO_HTTP_TARGET.to_string());
        // Nothing is requested over HTTP: only the named dependencies are inspected.
        crate::progress::track(
            "dependencies",
            dependencies::observe(&cx, audit.probe_target()),
        )
        .await
        .store(&mut obs);
        passive_sent = cx.requests_sent();
        "Active probes: none (a dependency-only audit has no HTTP target to disturb).".to_string()
    } else {
        let passive_cx = cx.for_phase("passive probes", plan.passive_ceiling());
        passive::run(&passive_cx, audit, &mut obs).await;
        passive_sent = cx.requests_sent();
        active::run(&cx, audit, &mut obs, &plan).await
    };
    let reachable = if dependency_only {
        dependencies::answered(&obs)
    } else {
        cx.any_answer()
    };
    // Last, the phase only the owner of the process can run (a dependency-only audit has no
    // supervised service: planning refuses one).
    let supervised_scope = match session {
        Some(session) => supervised::run(&cx, audit, session, &mut obs, &plan).await,
        None => Vec::new(),
    };

    let mut scope = if dependency_only {
        dependencies::scope_lines(audit)
    } else {
        let mut lines = passive::scope_lines(audit, &obs);
        lines.push(format!(
            "{} Spent: {} by the passive probes, {} in all.",
            plan.describe(),
            passive_sent,
            cx.requests_sent()
        ));
        lines
    };
    scope.push(active_note);
    if let Some(m) = obs.kubernetes.observed() {
        scope.extend(m.scope_lines());
    }
    if let Some(live) = obs.kube_probes.observed() {
        scope.push(format!(
            "Manifest probes requested as the kubelet would (User-Agent {}) on {}: {}.",
            crate::probes::kubelet::KUBELET_USER_AGENT,
            live.base,
            live.probes
                .iter()
                .map(|p| format!("{} {} ×{}", p.kind.field(), p.path, p.samples.len() + 1))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let retries = cx.net.retries();
    if retries > 0 {
        scope.push(format!(
            "{retries} request(s) were sent again on a new connection because the server went \
             away before answering (GOAWAY, a refused stream, a reused connection it had \
             closed, or a connection that closed before the request was written); their \
             evidence says so. Only safe requests (GET, HEAD, OPTIONS) are ever \
             sent again."
        ));
    }
    if let Some(reason) = cx.net.unverified(&audit.target) {
        scope.push(format!(
            "The certificate of {} failed verification ({reason}): the tls.* checks fail, and the \
             other HTTP checks observed the site over an unverified connection, without sending \
             any configured header or credential (--strict-tls makes them errors instead).",
            audit.target.host_str().unwrap_or_default()
        ));
    }
    if !reachable {
        scope.push(if dependency_only {
            "None of the dependencies could be reached at all (see the errors).".to_string()
        } else {
            "The target could not be reached at all: every request failed (see the errors)."
                .to_string()
        });
    }
    scope.extend(supervised_scope);
    let report = conclude(
        &obs,
        &audit.config,
        &audit.catalogue,
        RunMeta {
            target: obs.target.url.clone(),
            started_at: rfc3339(started_wall),
            duration: started.elapsed(),
            requests_sent: cx.requests_sent(),
            scope,
            redactor: &audit.redactor,
            wait_ready: None,
            judging: Judging::All,
        },
    );
    Ok(RunOutput {
        report,
        observations: obs,
        reachable,
    })
}

/// Builds the probe context: transport, limits, deadline, budget.
fn probe_cx(audit: &Audit, net: &Net, started: Instant) -> Result<ProbeCx, EngineError> {
    let run = &audit.config.run;
    let client = http::client(&ClientOptions {
        timeout: run.timeout,
        extra_roots: audit.extra_roots.clone(),
        user_agent: run.user_agent.clone(),
    })
    .map_err(|e| EngineError::Client(e.to_string()))?;
    let net = NetCx::new(
        net.clone(),
        &audit.extra_roots,
        &run.user_agent,
        run.strict_tls,
    );
    if let Some(e) = net.setup_error() {
        return Err(EngineError::Client(e.to_string()));
    }
    Ok(ProbeCx {
        net,
        client,
        limit: Arc::new(Semaphore::new(run.concurrency)),
        timeout: run.timeout,
        deadline: started + run.deadline,
        requests: Arc::new(AtomicU64::new(0)),
        max_requests: run.max_requests,
        max_body: run.max_body_bytes,
        extra_headers: audit.headers.clone(),
        redactor: audit.redactor.clone(),
        answered: Arc::new(AtomicBool::new(false)),
        share: None,
    })
}

/// The manifests as the command line loaded them; loaded here when the audit was built
/// elsewhere (`serve`, fleets), where a bad file becomes an `error` finding.
fn kubernetes(audit: &Audit) -> Probed<crate::manifests::KubeManifests> {
    let k = &audit.config.kubernetes;
    if let Some(loaded) = &k.loaded {
        return Probed::Observed(loaded.as_ref().clone());
    }
    if k.manifests.is_empty() {
        return Probed::Skipped(
            "no Kubernetes manifest was given (--kube-manifest or [kubernetes] manifests)"
                .to_string(),
        );
    }
    if k.manifests.iter().any(|p| p.as_os_str() == "-") {
        return Probed::Failed(
            "kubernetes.manifests: \"-\" (stdin) is read by `readyprobe audit` only".to_string(),
        );
    }
    match crate::manifests::load::load(&k.sources(), &k.selection()) {
        Ok(m) => Probed::Observed(m),
        Err(e) => Probed::Failed(e.to_string()),
    }
}

fn target_info(audit: &Audit) -> TargetInfo {
    if audit.is_dependency_only() {
        return TargetInfo {
            url: dependencies::target_name(&audit.config.dependencies),
            scheme: TargetInfo::DEPENDENCY_ONLY.to_string(),
            host: String::new(),
            port: 0,
        };
    }
    let url = &audit.target;
    TargetInfo {
        url: redact::url(url),
        scheme: url.scheme().to_string(),
        host: url.host_str().unwrap_or_default().to_string(),
        port: url.port_or_known_default().unwrap_or_default(),
    }
}
