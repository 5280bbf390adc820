//! Waiting for a deployment to become ready, and the report for one that never does.
//!
//! `--wait-ready` polls the same readiness endpoint `health.ready_now` judges — the configured
//! one, else the one discovered among the built-in candidates, else the generic health endpoint
//! — and decides "ready" the same way (2xx and a body that does not declare a failing state).
//! While nothing answers it sends one request per poll; once the target answers it looks at the
//! candidates once, picks the endpoint, and polls only that. A target that never becomes ready
//! still gets a report ([`unready_output`]): `health.ready_now` fails with what was last seen,
//! every other check is skipped with the reason, and the verdict says why.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::{Audit, EngineError, RunOutput};
use crate::checks::Judgement;
use crate::checks::health::{self, ReadinessSource, ReadyState};
use crate::model::WaitReady;
use crate::observations::{HealthKind, HealthProbe, Observations, Probed, Unobserved};
use crate::redact;

/// Time between polls.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The longest a single poll may take.
const POLL_TIMEOUT_MAX: Duration = Duration::from_secs(10);

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEnd {
    /// The readiness endpoint said ready (or degraded, which still takes traffic).
    Ready,
    /// The target answers but has no readiness endpoint to ask (or it needs credentials):
    /// nothing more to wait for; `health.ready_now` reports why.
    Answering(String),
    /// The time ran out; the reason names the last answer or error.
    NeverReady(String),
}

/// What `--wait-ready` saw.
#[derive(Debug, Clone)]
pub struct WaitOutcome {
    /// The time allowed.
    pub budget: Duration,
    /// The time spent.
    pub waited: Duration,
    /// Requests sent.
    pub polls: u32,
    /// The URL polled last (redacted): the readiness endpoint once known.
    pub url: String,
    /// The path polled last and how it was chosen.
    pub path: String,
    /// How the endpoint was chosen, once it was.
    pub source: Option<ReadinessSource>,
    /// The last answer of the polled path.
    pub last: Option<HealthProbe>,
    /// How it ended.
    pub end: WaitEnd,
    /// True when anything answered at all.
    pub answered: bool,
}

impl WaitOutcome {
    /// True unless the time ran out.
    pub fn is_ready(&self) -> bool {
        !matches!(self.end, WaitEnd::NeverReady(_))
    }

    /// `--wait-ready 60s`.
    pub fn flag(&self) -> String {
        format!("--wait-ready {}", humantime::format_duration(self.budget))
    }

    /// The one-line message for stderr when it never became ready.
    pub fn failure_message(&self) -> String {
        match &self.end {
            WaitEnd::NeverReady(reason) => format!(
                "{}: GET {} never answered ready ({reason}); the deployment did not become \
                 ready in time",
                self.flag(),
                self.url
            ),
            _ => String::new(),
        }
    }

    /// The report's record of the wait.
    pub fn record(&self) -> WaitReady {
        WaitReady {
            url: self.url.clone(),
            budget_ms: self.budget.as_millis() as u64,
            waited_ms: self.waited.as_millis() as u64,
            polls: self.polls,
            ready: self.is_ready(),
        }
    }

    /// The "Scope and method" line.
    pub fn scope_line(&self) -> String {
        let how = self
            .source
            .map(|s| format!(" ({})", s.describe()))
            .unwrap_or_default();
        match &self.end {
            WaitEnd::Ready => format!(
                "Waited {} for {}{how} to answer ready before auditing ({}, {} poll{}).",
                crate::supervise::secs(self.waited),
                self.url,
                self.flag(),
                self.polls,
                if self.polls == 1 { "" } else { "s" }
            ),
            WaitEnd::Answering(note) => format!(
                "Waited {} for the target to answer before auditing ({}): {note}.",
                crate::supervise::secs(self.waited),
                self.flag()
            ),
            WaitEnd::NeverReady(reason) => format!(
                "Not audited: {} was not ready after {} ({}, {} polls; {reason}).",
                self.url,
                crate::supervise::secs(self.waited),
                self.flag(),
                self.polls
            ),
        }
    }
}

/// A health path and what it is meant to be.
type Candidate = (String, HealthKind);

/// The readiness paths to poll before anything answered: the configured readiness or generic
/// path, else every built-in readiness and generic candidate (liveness says nothing about
/// readiness).
fn plan(audit: &Audit) -> (Option<Candidate>, Vec<Candidate>) {
    let cfg = &audit.config.health;
    if cfg.is_configured() {
        let fixed = cfg
            .readiness
            .first()
            .map(|p| (p.clone(), HealthKind::Readiness))
            .or_else(|| {
                cfg.generic
                    .first()
                    .map(|p| (p.clone(), HealthKind::Generic))
            });
        return (fixed, Vec::new());
    }
    let candidates = super::passive::health_candidates(cfg)
        .into_iter()
        .filter(|(_, kind)| *kind != HealthKind::Liveness)
        .collect();
    (None, candidates)
}

/// Polls the target's readiness endpoint until it says ready, the target turns out to have none,
/// or `within` has passed. `say` gets the progress lines (what it waits for, what it found).
pub async fn wait_ready(
    audit: &Audit,
    within: Duration,
    say: impl Fn(&str),
) -> Result<WaitOutcome, EngineError> {
    let started = Instant::now();
    let deadline = started + within;
    let mut cx = super::probe_cx(audit, &super::Net::for_run(&audit.config.run), started)?;
    cx.timeout = audit.config.run.timeout.min(within).min(POLL_TIMEOUT_MAX);
    // The last poll may run its full timeout past the budget; the audit's own budget and
    // request count are untouched.
    cx.deadline = deadline + cx.timeout;
    cx.requests = Arc::new(AtomicU64::new(0));
    cx.max_requests = u64::MAX;

    let (fixed, candidates) = plan(audit);
    let configured = audit.config.health.is_configured();
    let mut target: Option<(String, HealthKind, ReadinessSource)> = fixed.map(|(p, k)| {
        let source = if k == HealthKind::Readiness {
            ReadinessSource::Configured
        } else {
            ReadinessSource::Generic
        };
        (p, k, source)
    });
    let shown = |path: &str| redact::url(&super::join_path(&audit.target, path));
    let flag = format!("--wait-ready {}", humantime::format_duration(within));
    match &target {
        Some((path, _, source)) => say(&format!(
            "{flag}: waiting for {} ({}) to answer ready",
            shown(path),
            source.describe()
        )),
        None if candidates.is_empty() => say(&format!(
            "{flag}: no readiness or generic health path is configured; waiting for {} to answer",
            redact::url(&audit.target)
        )),
        None => say(&format!(
            "{flag}: waiting for {} to become ready (its readiness endpoint: {})",
            redact::url(&audit.target),
            candidates
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }

    let mut out = WaitOutcome {
        budget: within,
        waited: Duration::ZERO,
        polls: 0,
        url: shown(
            target
                .as_ref()
                .map(|(p, _, _)| p.as_str())
                .or(candidates.first().map(|(p, _)| p.as_str()))
                .unwrap_or("/"),
        ),
        path: String::new(),
        source: target.as_ref().map(|(_, _, s)| *s),
        last: None,
        end: WaitEnd::NeverReady("nothing was sent".to_string()),
        answered: false,
    };
    loop {
        let probe = match &target {
            Some((path, kind, source)) => {
                let probe = super::passive::health_probe(
                    &cx,
                    audit.probe_target(),
                    path,
                    *kind,
                    *source == ReadinessSource::Configured,
                )
                .await;
                out.polls += 1;
                probe
            }
            None => {
                let (path, kind) = candidates
                    .first()
                    .cloned()
                    .unwrap_or_else(|| ("/".to_string(), HealthKind::Generic));
                let first = super::passive::health_probe(
                    &cx,
                    audit.probe_target(),
                    &path,
                    kind,
                    configured,
                )
                .await;
                out.polls += 1;
                if first.exchange.observed().is_none() {
                    first
                } else if candidates.is_empty() {
                    out.end = WaitEnd::Answering(format!(
                        "{} answers; with no readiness endpoint configured there is nothing \
                         more to wait for",
                        shown(&path)
                    ));
                    out.last = Some(first);
                    break;
                } else {
                    // The target answers: look at every candidate once and pick the endpoint as
                    // health.ready_now will.
                    let rest = candidates.iter().skip(1).map(|(p, k)| {
                        super::passive::health_probe(&cx, audit.probe_target(), p, *k, configured)
                    });
                    let mut all = vec![first];
                    all.extend(futures_util::future::join_all(rest).await);
                    out.polls += (all.len() - 1) as u32;
                    match health::readiness_endpoint(&all) {
                        Ok((h, source)) => {
                            say(&format!(
                                "{flag}: polling {} ({})",
                                shown(&h.path),
                                source.describe()
                            ));
                            target = Some((h.path.clone(), h.kind, source));
                            out.source = Some(source);
                            h.clone()
                        }
                        Err(why) => {
                            let why = match why {
                                Unobserved::Failed(r) | Unobserved::Skipped(r) => r,
                            };
                            out.end = WaitEnd::Answering(format!(
                                "{} answers but {why}",
                                redact::url(&audit.target)
                            ));
                            out.last = all.into_iter().next();
                            break;
                        }
                    }
                }
            }
        };
        out.url = shown(&probe.path);
        out.path = probe.path.clone();
        let state = probe
            .exchange
            .observed()
            .map(|ex| health::read_answer(ex).state);
        let last_seen = match &probe.exchange {
            Probed::Observed(ex) => format!("last answer {}", ex.status),
            Probed::Failed(reason) | Probed::Skipped(reason) => format!("last error: {reason}"),
        };
        out.last = Some(probe);
        match state {
            Some(s) if s.is_ready() => {
                out.end = WaitEnd::Ready;
                break;
            }
            Some(ReadyState::Locked) => {
                out.end = WaitEnd::Answering(format!(
                    "{} answers but needs credentials, so its readiness cannot be read",
                    out.url
                ));
                break;
            }
            _ => {}
        }
        let now = Instant::now();
        if now >= deadline {
            out.end = WaitEnd::NeverReady(last_seen);
            break;
        }
        tokio::time::sleep((deadline - now).min(POLL_INTERVAL)).await;
    }
    out.waited = started.elapsed();
    out.answered = cx.any_answer();
    match &out.end {
        WaitEnd::Ready => say(&format!(
            "{flag}: {} is ready after {} ({} poll{})",
            out.url,
            crate::supervise::secs(out.waited),
            out.polls,
            if out.polls == 1 { "" } else { "s" }
        )),
        WaitEnd::Answering(note) => say(&format!("{flag}: {note}; auditing")),
        WaitEnd::NeverReady(_) => {}
    }
    Ok(out)
}

/// The report of a target that never became ready while readyprobe waited for it: only
/// `health.ready_now` is judged (`ready_now`, from what was last seen), every other check is
/// skipped with `not_run`, and the verdict follows (a failing critical check: NO-GO). The
/// observations hold the last readiness answer, so `--record` and the `readiness` field carry it.
pub fn unready_output(
    audit: &Audit,
    ready_now: Judgement,
    not_run: &str,
    last: Option<HealthProbe>,
    run: UnreadyRun,
) -> RunOutput {
    let obs = Observations {
        target: super::target_info(audit),
        health: last.into_iter().collect(),
        ..Observations::default()
    };
    let report = super::conclude(
        &obs,
        &audit.config,
        &audit.catalogue,
        super::RunMeta {
            target: redact::url(&audit.target),
            started_at: super::conclude::rfc3339(run.started),
            duration: run.elapsed,
            requests_sent: run.requests,
            scope: run.scope,
            redactor: &audit.redactor,
            wait_ready: run.wait,
            judging: super::Judging::NotRun {
                ready_now,
                reason: not_run.to_string(),
            },
        },
    );
    RunOutput {
        report,
        observations: obs,
        reachable: run.answered,
    }
}

/// How the wait that ended in [`unready_output`] ran.
#[derive(Debug, Clone)]
pub struct UnreadyRun {
    /// When readyprobe started.
    pub started: SystemTime,
    /// How long it waited.
    pub elapsed: Duration,
    /// Requests sent while waiting.
    pub requests: u64,
    /// What it did, for "Scope and method".
    pub scope: Vec<String>,
    /// The `--wait-ready` record, when that is what waited.
    pub wait: Option<WaitReady>,
    /// True when anything answered at all.
    pub answered: bool,
}

/// The report for a `--wait-ready` that ran out of time.
pub fn never_ready_output(audit: &Audit, wait: &WaitOutcome, started: SystemTime) -> RunOutput {
    let reason = match &wait.end {
        WaitEnd::NeverReady(r) => r.clone(),
        _ => String::new(),
    };
    let last_ex = wait.last.as_ref().and_then(|h| h.exchange.observed());
    let detail = format!(
        "GET {} never answered ready in {} polls ({reason})",
        wait.url, wait.polls
    );
    let j = health::never_ready(&wait.flag(), &wait.path, last_ex, &detail);
    unready_output(
        audit,
        j,
        &format!(
            "not run: the target did not become ready within {}",
            wait.flag()
        ),
        wait.last.clone(),
        UnreadyRun {
            started,
            elapsed: wait.waited,
            requests: u64::from(wait.polls),
            scope: vec![wait.scope_line()],
            wait: Some(wait.record()),
            answered: wait.answered,
        },
    )
}

/// The report of a supervised service that never became ready (it exited, or its readiness URL
/// never answered 2xx in time); `reason` says which, and is scrubbed here.
pub fn supervised_never_ready(audit: &Audit, reason: &str, started: SystemTime) -> RunOutput {
    let cfg = &audit.config.supervise;
    let waited = format!(
        "supervise.startup_timeout {}",
        humantime::format_duration(cfg.startup_timeout)
    );
    let path = cfg
        .readiness_url
        .as_deref()
        .unwrap_or("the supervised service")
        .to_string();
    let reason = audit.redactor.scrub(reason);
    let judgement = health::never_ready(&waited, &path, None, &reason);
    let elapsed = started.elapsed().unwrap_or_default();
    unready_output(
        audit,
        judgement,
        "not run: the supervised service did not become ready ([supervise])",
        None,
        UnreadyRun {
            started,
            elapsed,
            requests: 0,
            scope: vec![format!(
                "Supervised: readyprobe started `{}`; it did not become ready, so nothing was audited ({reason}).",
                cfg.command.join(" ")
            )],
            wait: None,
            answered: false,
        },
    )
}
