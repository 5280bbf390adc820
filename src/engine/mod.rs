//! The engine: plans the probes, runs them under the run's limits, then judges and scores.
//!
//! It owns everything probes must not decide for themselves: the HTTP transport (shared by
//! every audit of a run), the per-target concurrency limit, the per-operation timeout, the global deadline and the request
//! budget. The passive phase runs probes concurrently; the active phase (bursts, fault injection)
//! runs afterwards, one step at a time, so it cannot skew latency measurements. A probe that fails
//! becomes data (`Probed::Failed`) and its checks `error` findings: the run always ends with a
//! report.

pub mod active;
pub mod dependencies;
mod judge;
mod passive;
pub mod record;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::SystemTime;

use rustls_pki_types::CertificateDer;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

pub use judge::judge;
pub use passive::join_path;

use crate::checks::Catalogue;
use crate::config::Config;
use crate::model::Report;
use crate::observations::{Observations, TargetInfo};
use crate::probes::ProbeCx;
use crate::probes::http::{self, ClientOptions};
pub use crate::probes::net::Net;
use crate::probes::net::NetCx;
use crate::redact::{self, Redactor};
use crate::scoring;

/// Everything one audit needs, resolved from config, flags and environment.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The target's base URL.
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
    let started_wall = SystemTime::now();
    let started = Instant::now();
    let cx = probe_cx(audit, net, started)?;

    let mut obs = Observations {
        target: target_info(&audit.target),
        ..Observations::default()
    };
    passive::run(&cx, audit, &mut obs).await;
    let active_note = active::run(&cx, audit, &mut obs).await;

    let mut findings = judge(&obs, &audit.config, &audit.catalogue, &audit.redactor);
    crate::config::gate::apply_waivers(
        &mut findings,
        &audit.config.waivers,
        &crate::config::gate::today(),
    );
    let scores = scoring::score(&findings, &audit.config.scoring);
    let reachable = cx.any_answer();
    let mut scope = passive::scope_lines(audit, &obs);
    scope.push(active_note);
    let retries = cx.net.retries();
    if retries > 0 {
        scope.push(format!(
            "{retries} request(s) were sent again on a new connection because the server went \
             away before answering (GOAWAY, a refused stream, or a reused connection it had \
             closed); their evidence says so. Only safe requests (GET, HEAD, OPTIONS) are ever \
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
        scope.push(
            "The target could not be reached at all: every request failed (see the errors)."
                .to_string(),
        );
    }
    let report = Report {
        readyprobe_version: crate::VERSION.to_string(),
        target: redact::url(&audit.target),
        profile: audit.config.profile.as_str().to_string(),
        started_at: humantime::format_rfc3339_seconds(started_wall).to_string(),
        finished_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        duration_ms: started.elapsed().as_millis() as u64,
        requests_sent: cx.requests_sent(),
        findings,
        categories: scores.categories,
        overall_score: scores.overall,
        band: scores.band,
        verdict: scores.verdict,
        verdict_reasons: scores.reasons,
        scope,
    };
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
    .map_err(EngineError::Client)?;
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
    })
}

fn target_info(url: &Url) -> TargetInfo {
    TargetInfo {
        url: redact::url(url),
        scheme: url.scheme().to_string(),
        host: url.host_str().unwrap_or_default().to_string(),
        port: url.port_or_known_default().unwrap_or_default(),
    }
}
