//! Health-check judges: do liveness and readiness endpoints exist, does their HTTP status agree
//! with what their body says, are they distinct, do they look at dependencies, and do they answer
//! fast enough for an orchestrator's probes.
//!
//! These judge what the endpoints *claim*. Whether readiness really flips when a dependency dies
//! is proved later by the active `health.fault.*` checks, so wording here stays on "the body
//! claims", never "the service checks".

use std::sync::LazyLock;

use regex::Regex;

use super::evidence::{EVIDENCE_MAX, clip};
use super::health_body::{self, HealthBody, State};
use super::pack::excerpt::mask;
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Outcome, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::{HealthKind, HealthProbe, Observations, Probed, Unobserved};
use crate::redact;

const K8S_PROBES: &str = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/";
const K8S_API_HEALTH: &str = "https://kubernetes.io/docs/reference/using-api/health-checks/";
const HEALTH_JSON: &str = "draft-inadarei-api-health-check: Health Check Response Format for HTTP \
                           APIs (application/health+json)";
const SPRING_HEALTH: &str = "https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.health";
const MICROPROFILE_HEALTH: &str = "https://microprofile.io/specifications/microprofile-health/";
const DOTNET_HEALTH: &str = "https://learn.microsoft.com/aspnet/core/host-and-deploy/health-checks";

/// How many paths or component names a summary or evidence line lists before "…".
const LIST_MAX: usize = 12;

// ---------------------------------------------------------------------------------------------
// Shared: which candidates answered

/// A health candidate that exists, with what it answered.
#[derive(Debug, Clone, Copy)]
struct Endpoint<'a> {
    path: &'a str,
    kind: HealthKind,
    ex: &'a HttpExchange,
}

impl Endpoint<'_> {
    /// `GET https://host/readyz → 200 (readiness)`.
    fn line(&self) -> String {
        clip(
            &format!("{} ({})", self.ex.request_line(), self.kind.as_str()),
            EVIDENCE_MAX,
        )
    }
}

/// The health candidates that exist (HTML catch-all pages left out), or why none could be looked
/// at: no candidate was probed (skipped), or no probe got an answer (error when one failed).
fn answering(obs: &Observations) -> Result<Vec<Endpoint<'_>>, Unobserved> {
    if obs.health.iter().all(|h| h.exchange.observed().is_none()) {
        let failed = obs.health.iter().find_map(|h| match &h.exchange {
            Probed::Failed(reason) => Some(Unobserved::Failed(reason.clone())),
            _ => None,
        });
        let skipped = obs.health.iter().find_map(|h| match &h.exchange {
            Probed::Skipped(reason) => Some(Unobserved::Skipped(reason.clone())),
            _ => None,
        });
        return Err(failed.or(skipped).unwrap_or_else(|| {
            Unobserved::Skipped("no health endpoint candidates were probed".to_string())
        }));
    }
    Ok(obs
        .health
        .iter()
        .filter(|h| h.exists())
        .filter_map(|h| {
            h.exchange.observed().map(|ex| Endpoint {
                path: &h.path,
                kind: h.kind,
                ex,
            })
        })
        .collect())
}

/// The first endpoint of this kind.
fn first_of<'a>(found: &[Endpoint<'a>], kind: HealthKind) -> Option<Endpoint<'a>> {
    found.iter().find(|e| e.kind == kind).copied()
}

/// Items joined with `, `, at most [`LIST_MAX`] of them, each clipped.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    let mut shown: Vec<String> = items
        .iter()
        .take(LIST_MAX)
        .map(|s| clip(s.as_ref(), 60))
        .collect();
    if items.len() > LIST_MAX {
        shown.push(format!("… and {} more", items.len() - LIST_MAX));
    }
    shown.join(", ")
}

/// The body as a short one-line quote (`empty body` when empty), secret-looking values masked:
/// a health body that leaks a password must not leak it again through the report.
fn body_quote(ex: &HttpExchange) -> String {
    let body = ex.body.trim();
    if body.is_empty() {
        "empty body".to_string()
    } else {
        format!("body {}", clip(&mask(body), 120))
    }
}

// ---------------------------------------------------------------------------------------------
// health.endpoints

/// `health.endpoints`: a liveness and a readiness endpoint answer.
pub const ENDPOINTS: CheckMeta = CheckMeta {
    id: "health.endpoints",
    title: "Liveness and readiness endpoints",
    problem: "A liveness or readiness endpoint is missing",
    category: Category::HealthChecks,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "GET candidate paths (/healthz /livez /readyz /ready /health /-/healthy /-/ready \
           /actuator/health{,/liveness,/readiness} /q/health/{live,ready} or the configured ones) \
           — pass: a liveness and a readiness endpoint answer; warn: only one generic /health; \
           fail: none",
    remediation: "Expose two endpoints and point the orchestrator's probes at them: a liveness \
                  endpoint (`/livez`: 200 while the process can make progress, no dependency \
                  checks) and a readiness endpoint (`/readyz`: 503 while a required dependency is \
                  down or the service is draining). Spring Boot: \
                  `management.endpoint.health.probes.enabled=true` gives \
                  /actuator/health/liveness and /readiness; Quarkus: /q/health/live and \
                  /q/health/ready. Configure custom paths under [health] if yours differ.",
    references: &[
        K8S_PROBES,
        K8S_API_HEALTH,
        HEALTH_JSON,
        SPRING_HEALTH,
        MICROPROFILE_HEALTH,
    ],
    judge: endpoints,
};

/// Evidence about the candidates that did not count: HTML pages, absent paths, failed probes.
fn endpoint_side_lines(obs: &Observations) -> Vec<String> {
    let mut lines: Vec<String> = obs
        .health
        .iter()
        .filter(|h| h.is_catch_all_page())
        .filter_map(|h| h.exchange.observed())
        .map(|ex| {
            clip(
                &format!(
                    "{} (an HTML page, likely a catch-all route; not counted)",
                    ex.request_line()
                ),
                EVIDENCE_MAX,
            )
        })
        .collect();
    let absent: Vec<&str> = obs
        .health
        .iter()
        .filter(|h| {
            h.exchange
                .observed()
                .is_some_and(|ex| matches!(ex.status, 404 | 405 | 410))
        })
        .map(|h| h.path.as_str())
        .collect();
    if !absent.is_empty() {
        lines.push(format!(
            "{} of {} candidates answered 404/405/410: {}",
            absent.len(),
            obs.health.len(),
            list(&absent)
        ));
    }
    let failed: Vec<&str> = obs
        .health
        .iter()
        .filter_map(|h| match &h.exchange {
            Probed::Failed(reason) => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    if let Some(first) = failed.first() {
        lines.push(clip(
            &format!(
                "{} candidate{} could not be probed (first: {first})",
                failed.len(),
                if failed.len() == 1 { "" } else { "s" }
            ),
            EVIDENCE_MAX,
        ));
    }
    lines
}

/// Judges `health.endpoints`: see [`ENDPOINTS`] for the rule. A generic endpoint stands in for
/// liveness.
pub fn endpoints(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let found = answering(obs)?;
    let paths = |kind: HealthKind| -> Vec<&str> {
        found
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.path)
            .collect()
    };
    let (live, ready, generic) = (
        paths(HealthKind::Liveness),
        paths(HealthKind::Readiness),
        paths(HealthKind::Generic),
    );
    let judgement = match (live.is_empty(), ready.is_empty(), generic.is_empty()) {
        _ if found.is_empty() => Judgement::fail(format!(
            "No health endpoint answers: none of the {} candidates exists, so an orchestrator \
             cannot tell whether the service is alive or ready.",
            obs.health.len()
        )),
        (false, false, _) => Judgement::pass(format!(
            "Liveness ({}) and readiness ({}) endpoints answer.",
            list(&live),
            list(&ready)
        )),
        (true, false, false) => Judgement::pass(format!(
            "A generic health endpoint ({}) and a readiness endpoint ({}) answer.",
            list(&generic),
            list(&ready)
        )),
        (true, false, true) => Judgement::warn(format!(
            "A readiness endpoint answers ({}) but no liveness endpoint does.",
            list(&ready)
        )),
        (false, true, _) => Judgement::warn(format!(
            "A liveness endpoint answers ({}) but no readiness endpoint, so traffic cannot be held \
             back while dependencies are down.",
            list(&live)
        )),
        (true, true, _) => Judgement::warn(format!(
            "Only a generic health endpoint answers ({}); there is no separate readiness \
             endpoint, so an orchestrator cannot tell \"restart me\" from \"send me no traffic\".",
            list(&generic)
        )),
    };
    Ok(judgement
        .evidence_all(found.iter().map(Endpoint::line))
        .evidence_all(endpoint_side_lines(obs)))
}

// ---------------------------------------------------------------------------------------------
// health.ready_now

/// `health.ready_now`: the readiness endpoint says the service is ready, right now.
pub const READY_NOW: CheckMeta = CheckMeta {
    id: "health.ready_now",
    title: "Readiness endpoint says ready now",
    problem: "The deployment says it is not ready",
    category: Category::HealthChecks,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "the readiness endpoint (configured, else discovered, else the generic health \
           endpoint) as it answers now; bodies: health+json status/checks, Spring \
           UP/DOWN/OUT_OF_SERVICE + components, MicroProfile checks[].status, .NET \
           Healthy/Degraded/Unhealthy, /readyz?verbose [-]name failed, ok — fail critical: \
           non-2xx or a failing body (evidence names each failing component); warn: \
           degraded/warn; skipped with reason: no readiness endpoint",
    remediation: "The deployment says it is not ready: fix the failing component the evidence \
                  names (a database, cache or broker it cannot reach, a migration not run, a \
                  configuration it rejected) before sending it traffic, then audit again. If the \
                  service is fine and its readiness endpoint is wrong, make readiness check only \
                  what the service cannot serve without.",
    references: &[
        K8S_PROBES,
        K8S_API_HEALTH,
        HEALTH_JSON,
        SPRING_HEALTH,
        MICROPROFILE_HEALTH,
        DOTNET_HEALTH,
    ],
    judge: ready_now,
};

/// How the readiness endpoint judged by `health.ready_now` was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadinessSource {
    /// The user named it (`[health] readiness`).
    Configured,
    /// A built-in readiness candidate that exists.
    Discovered,
    /// No readiness endpoint: the generic health endpoint stands in.
    Generic,
}

impl ReadinessSource {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            ReadinessSource::Configured => "configured readiness endpoint",
            ReadinessSource::Discovered => "discovered readiness endpoint",
            ReadinessSource::Generic => "generic health endpoint, no readiness endpoint found",
        }
    }
}

/// True when a candidate answers like a health endpoint: it exists, and is neither a redirect
/// elsewhere nor locked behind credentials.
fn answers_like_endpoint(h: &HealthProbe) -> bool {
    h.exists()
        && h.exchange
            .observed()
            .is_some_and(|ex| !(300..400).contains(&ex.status) && !matches!(ex.status, 401 | 403))
}

/// The readiness endpoint `health.ready_now` judges, and `--wait-ready` polls: the configured
/// readiness path whatever it answered, else the first built-in readiness candidate that
/// exists, else a configured or existing generic health endpoint. When none qualifies: an
/// `error` when every candidate failed or the endpoints need credentials, else `skipped`.
pub fn readiness_endpoint(
    health: &[HealthProbe],
) -> Result<(&HealthProbe, ReadinessSource), Unobserved> {
    let first = |kind: HealthKind, configured: bool| {
        health.iter().find(|h| {
            h.kind == kind
                && if configured {
                    h.configured
                } else {
                    !h.configured && answers_like_endpoint(h)
                }
        })
    };
    if let Some(h) = first(HealthKind::Readiness, true) {
        return Ok((h, ReadinessSource::Configured));
    }
    if let Some(h) = first(HealthKind::Readiness, false) {
        return Ok((h, ReadinessSource::Discovered));
    }
    if let Some(h) = first(HealthKind::Generic, true).or_else(|| first(HealthKind::Generic, false))
    {
        return Ok((h, ReadinessSource::Generic));
    }
    if health.is_empty() {
        return Err(Unobserved::Skipped(
            "no health endpoint candidates were probed".to_string(),
        ));
    }
    if let Some(reason) = health.iter().find_map(|h| match &h.exchange {
        Probed::Failed(reason) => Some(reason),
        _ => None,
    }) && health.iter().all(|h| h.exchange.is_failed())
    {
        return Err(Unobserved::Failed(reason.clone()));
    }
    let locked: Vec<String> = health
        .iter()
        .filter(|h| h.kind != HealthKind::Liveness)
        .filter_map(|h| {
            let ex = h.exchange.observed()?;
            matches!(ex.status, 401 | 403).then(|| ex.request_line())
        })
        .collect();
    if let Some(first) = locked.first() {
        return Err(Unobserved::Failed(format!(
            "the readiness/health endpoints need credentials ({first}), so readiness cannot be \
             read; send them with [http] headers or -H"
        )));
    }
    Err(Unobserved::Skipped(format!(
        "no readiness or generic health endpoint answers among the {} paths probed \
         (health.endpoints reports the gap), so there is nothing to ask whether the service is \
         ready",
        health.len()
    )))
}

/// What one answer of a readiness endpoint means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// 2xx and the body (if it says anything) passes.
    Ready,
    /// 2xx, but the body says warn/degraded or names a failing component.
    Degraded,
    /// Non-2xx, or a body that declares a failing state.
    NotReady,
    /// 401/403: the endpoint needs credentials, so readiness cannot be read.
    Locked,
}

impl ReadyState {
    /// True for ready and degraded: the service takes traffic.
    pub fn is_ready(self) -> bool {
        matches!(self, ReadyState::Ready | ReadyState::Degraded)
    }
}

/// One readiness answer read: its state, its body, and the components that are not passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyAnswer {
    /// What the answer means.
    pub state: ReadyState,
    /// What the body says, when it says anything recognisable.
    pub body: Option<HealthBody>,
    /// Components that warn or fail, worst first.
    pub flagged: Vec<health_body::Flagged>,
}

/// Reads one answer of a readiness endpoint (pure; `--wait-ready` uses it to decide when to stop).
pub fn read_answer(ex: &HttpExchange) -> ReadyAnswer {
    let body = health_body::parse(ex);
    let flagged = body
        .as_ref()
        .map(|b| b.not_passing(LIST_MAX))
        .unwrap_or_default();
    let state = if matches!(ex.status, 401 | 403) {
        ReadyState::Locked
    } else if !ex.is_success() {
        ReadyState::NotReady
    } else {
        match body.as_ref().and_then(HealthBody::state) {
            Some(State::Fail) => ReadyState::NotReady,
            Some(State::Warn) => ReadyState::Degraded,
            _ if flagged.iter().any(|f| f.state == State::Fail) => ReadyState::Degraded,
            _ => ReadyState::Ready,
        }
    };
    ReadyAnswer {
        state,
        body,
        flagged,
    }
}

/// `database:connection (connect failed: connection refused)`, target text masked.
fn flagged_text(f: &health_body::Flagged) -> String {
    match &f.message {
        Some(m) => format!("{} ({})", clip(&f.path, 60), clip(&mask(m), 120)),
        None => format!("{} ({})", clip(&f.path, 60), clip(&f.status, 40)),
    }
}

/// The components of an answer as one list for a summary (`a (why), b (DOWN)`), at most
/// [`FLAGGED_IN_SUMMARY`] of them.
fn flagged_list(a: &ReadyAnswer) -> String {
    let mut shown: Vec<String> = a
        .flagged
        .iter()
        .take(FLAGGED_IN_SUMMARY)
        .map(flagged_text)
        .collect();
    if a.flagged.len() > FLAGGED_IN_SUMMARY {
        shown.push(format!(
            "… and {} more",
            a.flagged.len() - FLAGGED_IN_SUMMARY
        ));
    }
    shown.join(", ")
}

/// How many failing components a summary (and so the verdict line) names.
const FLAGGED_IN_SUMMARY: usize = 5;

/// Evidence lines for one readiness answer: the request, the format and overall status, then
/// one line per component that is not passing.
fn answer_evidence(ex: &HttpExchange, source: ReadinessSource, a: &ReadyAnswer) -> Vec<String> {
    let said = match &a.body {
        Some(b) => match &b.overall {
            Some(o) => format!("{} body, {}", b.format.as_str(), o.said),
            None => format!("{} body", b.format.as_str()),
        },
        None => body_quote(ex),
    };
    let mut lines = vec![clip(
        &format!("{} ({}), {said}", ex.request_line(), source.describe()),
        EVIDENCE_MAX,
    )];
    lines.extend(a.flagged.iter().map(|f| {
        clip(
            &format!(
                "component {}: {}{}",
                f.path,
                f.status,
                f.message
                    .as_deref()
                    .map(|m| format!(" — {}", mask(m)))
                    .unwrap_or_default()
            ),
            EVIDENCE_MAX,
        )
    }));
    lines
}

/// Judges one readiness answer (the core of `health.ready_now`).
fn judge_answer(
    path: &str,
    ex: &HttpExchange,
    source: ReadinessSource,
) -> Result<Judgement, Unobserved> {
    let a = read_answer(ex);
    let path = clip(path, 60);
    let evidence = answer_evidence(ex, source, &a);
    let said = a
        .body
        .as_ref()
        .and_then(|b| b.overall.as_ref())
        .map(|o| o.said.clone());
    let failing = if a.flagged.is_empty() {
        String::new()
    } else {
        format!("; failing: {}", flagged_list(&a))
    };
    let judgement = match a.state {
        ReadyState::Locked => {
            return Err(Unobserved::Failed(format!(
                "{} answers {}: the readiness endpoint needs credentials, so readiness cannot be \
                 read; send them with [http] headers or -H",
                ex.request_line(),
                ex.status
            )));
        }
        ReadyState::NotReady if ex.is_success() => Judgement::fail(format!(
            "Not ready now: {path} answers {} but its body says {}{failing}.",
            ex.status,
            said.as_deref().unwrap_or("it is failing")
        )),
        ReadyState::NotReady => {
            let why = if !failing.is_empty() {
                failing
            } else if let Some(said) = &said {
                format!(", body says {said}")
            } else if ex.body.trim().is_empty() {
                String::new()
            } else {
                format!(", {}", body_quote(ex))
            };
            Judgement::fail(format!("Not ready now: {path} answers {}{why}.", ex.status))
        }
        ReadyState::Degraded => Judgement::warn(format!(
            "Ready but degraded: {path} answers {}{}{}.",
            ex.status,
            said.as_deref()
                .map(|s| format!(", body says {s}"))
                .unwrap_or_default(),
            if a.flagged.is_empty() {
                String::new()
            } else {
                format!("; not passing: {}", flagged_list(&a))
            }
        )),
        ReadyState::Ready => {
            let components = a.body.as_ref().map_or(0, |b| b.components.len());
            Judgement::pass(format!(
                "Ready now: {path} answers {}{}{}.",
                ex.status,
                said.as_deref()
                    .map(|s| format!(", body says {s}"))
                    .unwrap_or_default(),
                match components {
                    0 => String::new(),
                    1 => " (1 component passes)".to_string(),
                    n => format!(" ({n} components pass)"),
                }
            ))
        }
    };
    Ok(judgement.evidence_all(evidence))
}

/// Judges `health.ready_now`: see [`READY_NOW`] for the rule. The endpoint is the one
/// [`readiness_endpoint`] chooses; a configured one that could not be probed is an `error`.
pub fn ready_now(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (probe, source) = readiness_endpoint(&obs.health)?;
    let ex = probe.exchange.get()?;
    judge_answer(&probe.path, ex, source)
}

/// `health.ready_now` for a target that never became ready while readyprobe waited for it
/// (`--wait-ready`, `[supervise]`): a failure saying how long it waited and what it last saw —
/// the last answer read like any readiness answer, or `reason` when there was none.
pub fn never_ready(
    waited: &str,
    path: &str,
    last: Option<&HttpExchange>,
    reason: &str,
) -> Judgement {
    let prefix = format!("Did not become ready within {waited}");
    if let Some(ex) = last
        && let Ok(j) = judge_answer(path, ex, ReadinessSource::Configured)
        && j.outcome == Outcome::Fail
    {
        let summary = j
            .summary
            .strip_prefix("Not ready now: ")
            .unwrap_or(&j.summary)
            .replacen(" answers ", " last answered ", 1);
        return Judgement::fail(format!("{prefix}: {summary}"))
            .evidence_all(j.evidence)
            .evidence(clip(reason, EVIDENCE_MAX));
    }
    Judgement::fail(format!("{prefix}: {}.", clip(reason, 300)))
}

/// The readiness answer in report form (the `readiness` object of JSON, the `readyprobe_ready`
/// gauges): the same reading as `health.ready_now`, or `None` when it could not judge.
pub fn readiness_report(obs: &Observations) -> Option<crate::model::Readiness> {
    let (probe, _) = readiness_endpoint(&obs.health).ok()?;
    let ex = probe.exchange.observed()?;
    let a = read_answer(ex);
    if a.state == ReadyState::Locked {
        return None;
    }
    let components =
        a.body
            .as_ref()
            .map(|b| {
                b.components
                    .iter()
                    .take(READINESS_COMPONENTS_MAX)
                    .map(|c| {
                        let flagged = a.flagged.iter().find(|f| {
                            f.path == c.name || f.path.starts_with(&format!("{}/", c.name))
                        });
                        let state = flagged
                            .map(|f| f.state)
                            .or(c.state)
                            .map_or("unknown", State::as_str);
                        crate::model::ReadinessComponent {
                            name: clip(&c.name, 100),
                            state: state.to_string(),
                            message: flagged
                                .and_then(|f| f.message.as_deref())
                                .map(|m| clip(&mask(m), 200)),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
    Some(crate::model::Readiness {
        url: ex.final_url.clone(),
        ready: a.state.is_ready(),
        status: Some(ex.status),
        components,
    })
}

/// The most components a report's `readiness` object lists.
const READINESS_COMPONENTS_MAX: usize = 50;

// ---------------------------------------------------------------------------------------------
// health.status_consistency

/// `health.status_consistency`: the HTTP status agrees with the status in the body.
pub const STATUS_CONSISTENCY: CheckMeta = CheckMeta {
    id: "health.status_consistency",
    title: "Health status code matches the body",
    problem: "A health status code contradicts its body",
    category: Category::HealthChecks,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "body status vs HTTP status (health+json pass/warn/fail, Spring UP/DOWN, \
           {\"status\":\"ok\"} …) — fail: a failing body with 2xx or a passing body with 5xx",
    remediation: "Make the HTTP status carry the verdict, since load balancers and kubelets read \
                  only the code: answer 200 when the body says pass/UP/ok and 503 when it says \
                  fail/DOWN/OUT_OF_SERVICE (health+json: `warn` stays 200). Spring Boot maps DOWN \
                  and OUT_OF_SERVICE to 503 by default — check \
                  `management.endpoint.health.status.http-mapping`.",
    references: &[HEALTH_JSON, SPRING_HEALTH, K8S_PROBES],
    judge: status_consistency,
};

/// What the body claims, with the words quoted for evidence (`status "DOWN"`, `"OK"`): pass and
/// warn still serve traffic, fail does not; a body that states only `UNKNOWN` claims nothing.
fn body_claim(ex: &HttpExchange) -> Option<(State, String)> {
    let overall = health_body::parse(ex)?.overall?;
    match overall.state {
        State::Unknown => None,
        State::Warn => Some((State::Pass, overall.said)),
        state => Some((state, overall.said)),
    }
}

/// Judges `health.status_consistency`: see [`STATUS_CONSISTENCY`] for the rule. Skipped when no
/// endpoint answers or none states a recognisable status.
pub fn status_consistency(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let found = answering(obs)?;
    if found.is_empty() {
        return Ok(Judgement::skipped(
            "No health endpoint answers, so there is no status to compare.",
        ));
    }
    let mut contradictions: Vec<String> = Vec::new();
    let mut agreeing = 0usize;
    let mut evidence: Vec<String> = Vec::new();
    for e in &found {
        let Some((claim, said)) = body_claim(e.ex) else {
            evidence.push(clip(
                &format!(
                    "{}, body states no recognisable status",
                    e.ex.request_line()
                ),
                EVIDENCE_MAX,
            ));
            continue;
        };
        evidence.push(clip(
            &format!("{}, body says {said}", e.ex.request_line()),
            EVIDENCE_MAX,
        ));
        let contradicts = match claim {
            State::Fail => e.ex.is_success(),
            _ => e.ex.status >= 500,
        };
        if contradicts {
            contradictions.push(format!(
                "{} answers {} while its body says {said}",
                clip(e.path, 60),
                e.ex.status
            ));
        } else {
            agreeing += 1;
        }
    }
    let judgement = if !contradictions.is_empty() {
        Judgement::fail(format!(
            "Health status codes contradict their bodies ({}); load balancers and probes read \
             only the code.",
            clip(&contradictions.join("; "), 300)
        ))
    } else if agreeing == 0 {
        Judgement::skipped(
            "No health endpoint states a recognisable status in its body (health+json, Spring, \
             {\"status\": …}, plain OK), so there is nothing to compare the code with.",
        )
    } else {
        Judgement::pass(format!(
            "The HTTP status of {agreeing} health endpoint{} agrees with the status its body \
             states.",
            if agreeing == 1 { "" } else { "s" }
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// health.separation

/// `health.separation`: liveness and readiness are different checks.
pub const SEPARATION: CheckMeta = CheckMeta {
    id: "health.separation",
    title: "Liveness and readiness are distinct",
    problem: "Liveness and readiness are the same check",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "liveness vs readiness responses — pass: distinct; warn: byte-identical bodies and codes",
    remediation: "Keep liveness shallow (the process can serve: no dependency calls) and let \
                  readiness include the dependencies the service cannot work without; if both \
                  run the same check, a database outage makes the orchestrator restart every pod \
                  instead of only taking them out of the load balancer.",
    references: &[K8S_PROBES, SPRING_HEALTH],
    judge: separation,
};

/// Judges `health.separation`: compares the first liveness endpoint (or, failing that, the
/// generic one) with the first readiness endpoint. Skipped when there is no such pair.
pub fn separation(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let found = answering(obs)?;
    let live = first_of(&found, HealthKind::Liveness).or(first_of(&found, HealthKind::Generic));
    let (Some(live), Some(ready)) = (live, first_of(&found, HealthKind::Readiness)) else {
        return Ok(Judgement::skipped(
            "There is no liveness (or generic) and readiness endpoint pair to compare.",
        ));
    };
    let evidence = [live, ready].map(|e| {
        clip(
            &format!(
                "{} ({}), {}",
                e.ex.request_line(),
                e.kind.as_str(),
                body_quote(e.ex)
            ),
            EVIDENCE_MAX,
        )
    });
    if !live.ex.body_decoded || !ready.ex.body_decoded {
        return Ok(Judgement::skipped(
            "A liveness or readiness body could not be decoded, so the two cannot be compared.",
        )
        .evidence_all(evidence));
    }
    let judgement = if live.ex.status == ready.ex.status && live.ex.body == ready.ex.body {
        Judgement::warn(format!(
            "Liveness ({}) and readiness ({}) answer byte-identically ({}, same body), so they \
             are probably the same check.",
            clip(live.path, 60),
            clip(ready.path, 60),
            live.ex.status
        ))
    } else {
        let how = if live.ex.status != ready.ex.status {
            format!("status {} vs {}", live.ex.status, ready.ex.status)
        } else {
            "different bodies".to_string()
        };
        Judgement::pass(format!(
            "Liveness ({}) and readiness ({}) answer differently ({how}).",
            clip(live.path, 60),
            clip(ready.path, 60)
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// health.readiness_depth

/// `health.readiness_depth`: the readiness body shows dependency checks.
pub const READINESS_DEPTH: CheckMeta = CheckMeta {
    id: "health.readiness_depth",
    title: "Readiness checks dependencies",
    problem: "Readiness does not show that it checks dependencies",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "readiness body: dependency components (db, redis, broker, …) vs trivial ones (ping, \
           diskSpace, readinessState) vs hidden details — pass: dependencies visible; warn: \
           shallow; skipped with reason: details hidden",
    remediation: "Include the dependencies the service cannot serve without in readiness and \
                  name them in the body (health+json `checks` such as `postgres:connection`, \
                  Spring Boot `management.endpoint.health.group.readiness.include=readinessState,db,redis`, \
                  MicroProfile `@Readiness` checks). To let readyprobe see them on Spring Boot, \
                  set `management.endpoint.health.show-components=always` (names only, no \
                  details).",
    references: &[HEALTH_JSON, SPRING_HEALTH, MICROPROFILE_HEALTH, K8S_PROBES],
    judge: readiness_depth,
};

/// What a component name suggests it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ComponentKind {
    /// A database, cache, broker, store or upstream service.
    Dependency,
    /// The process itself (ping, disk space, the orchestrator's own state).
    Trivial,
    /// A name that says neither.
    Unclear,
}

impl ComponentKind {
    fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Dependency => "dependency",
            ComponentKind::Trivial => "trivial",
            ComponentKind::Unclear => "unclear",
        }
    }
}

/// Name fragments that mark a dependency (matched as a prefix or suffix of a word).
const DEPENDENCY_MARKERS: &[&str] = &[
    "db",
    "database",
    "datasource",
    "jdbc",
    "r2dbc",
    "sql",
    "postgres",
    "pg",
    "mysql",
    "maria",
    "oracle",
    "mongo",
    "cassandra",
    "dynamo",
    "couch",
    "neo4j",
    "clickhouse",
    "influx",
    "redis",
    "valkey",
    "memcache",
    "cache",
    "hazelcast",
    "rabbit",
    "amqp",
    "mq",
    "kafka",
    "broker",
    "queue",
    "sqs",
    "sns",
    "pubsub",
    "nats",
    "elastic",
    "opensearch",
    "solr",
    "s3",
    "storage",
    "bucket",
    "blob",
    "minio",
    "upstream",
    "dependenc",
    "api",
    "service",
    "backend",
    "external",
    "remote",
    "grpc",
    "ldap",
    "smtp",
    "mail",
    "vault",
    "consul",
    "etcd",
    "zookeeper",
    "keycloak",
    "oidc",
    "oauth",
    "connection",
    "pool",
];

/// Words that, alone, make a component trivial.
const TRIVIAL_WORDS: &[&str] = &[
    "ping",
    "disk",
    "space",
    "liveness",
    "readiness",
    "state",
    "refresh",
    "scope",
    "uptime",
    "memory",
    "heap",
    "cpu",
    "utilization",
    "usage",
    "threads",
    "deadlocks",
    "goroutines",
    "ssl",
    "process",
    "jvm",
    "gc",
    "version",
    "build",
    "info",
    "self",
    "app",
    "application",
    "startup",
    "alive",
    "live",
    "ready",
    "health",
    "check",
    "status",
    "os",
    "system",
    "load",
];

/// Splits a component name into lowercase words at punctuation and camelCase boundaries
/// (`diskSpace` → disk, space; `postgres:connection` → postgres, connection).
fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Classifies a component by its name.
fn classify(name: &str) -> ComponentKind {
    let words = words(name);
    let dependency = words.iter().any(|w| {
        DEPENDENCY_MARKERS
            .iter()
            .any(|m| w.starts_with(m) || w.ends_with(m))
    });
    if dependency {
        ComponentKind::Dependency
    } else if !words.is_empty() && words.iter().all(|w| TRIVIAL_WORDS.contains(&w.as_str())) {
        ComponentKind::Trivial
    } else {
        ComponentKind::Unclear
    }
}

/// Judges `health.readiness_depth`: see [`READINESS_DEPTH`] for the rule. Reads the readiness
/// endpoint, or the generic one when there is no readiness endpoint.
pub fn readiness_depth(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let found = answering(obs)?;
    let Some(e) = first_of(&found, HealthKind::Readiness).or(first_of(&found, HealthKind::Generic))
    else {
        return Ok(Judgement::skipped(
            "No readiness or generic health endpoint answers, so there is no body to read.",
        ));
    };
    if !e.ex.body_decoded {
        return Ok(Judgement::skipped(format!(
            "The body of {} could not be decoded, so its components cannot be read.",
            clip(e.path, 60)
        ))
        .evidence(e.line()));
    }
    let parsed = health_body::parse(e.ex);
    let names: Vec<&str> = parsed.as_ref().map(HealthBody::names).unwrap_or_default();
    let path = clip(e.path, 60);
    if names.is_empty() {
        let line = clip(
            &format!("{}, {}", e.ex.request_line(), body_quote(e.ex)),
            EVIDENCE_MAX,
        );
        // Spring Boot with show-details/show-components off: `{"status":"UP"}` and perhaps
        // `groups`, nothing else.
        if e.path.contains("/actuator/health") && parsed.as_ref().is_some_and(|b| b.status_only) {
            return Ok(Judgement::skipped(format!(
                "Details hidden: {path} answers only an overall status (Spring Boot show-details \
                 or show-components is off), so its dependencies cannot be seen."
            ))
            .evidence(line));
        }
        return Ok(Judgement::warn(format!(
            "{path} reports no components, only an overall status: nothing in the body shows it \
             checks a dependency (a shallow health check)."
        ))
        .evidence(line));
    }
    let classified: Vec<(String, ComponentKind)> =
        names.iter().map(|n| (clip(n, 60), classify(n))).collect();
    let of_kind = |kind: ComponentKind| -> Vec<&str> {
        classified
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(n, _)| n.as_str())
            .collect()
    };
    let shown: Vec<String> = classified
        .iter()
        .map(|(n, k)| format!("{n} ({})", k.as_str()))
        .collect();
    let line = clip(
        &format!("{}, components: {}", e.ex.request_line(), list(&shown)),
        EVIDENCE_MAX,
    );
    let (deps, unclear) = (
        of_kind(ComponentKind::Dependency),
        of_kind(ComponentKind::Unclear),
    );
    let judgement = if !deps.is_empty() {
        Judgement::pass(format!(
            "{path} claims to check its dependencies ({}); fault injection proves whether it \
             really fails when they do.",
            list(&deps)
        ))
    } else if !unclear.is_empty() {
        Judgement::warn(format!(
            "{path} reports components ({}) whose names do not show a dependency; name \
             dependency checks after what they check.",
            list(&unclear)
        ))
        .score(0.75)
    } else {
        Judgement::warn(format!(
            "{path} reports only trivial components ({}): nothing shows it checks a dependency.",
            list(&of_kind(ComponentKind::Trivial))
        ))
    };
    Ok(judgement.evidence(line))
}

// ---------------------------------------------------------------------------------------------
// health.latency

/// `health.latency`: health endpoints answer quickly and never time out.
pub const LATENCY: CheckMeta = CheckMeta {
    id: "health.latency",
    title: "Health endpoint latency",
    problem: "Health endpoints are slow or time out",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "20 samples of the health endpoints — warn: p95 > 500 ms; fail: timeouts",
    remediation: "Keep health handlers cheap: no heavy queries, cache dependency results for a \
                  few seconds, run checks concurrently with their own short timeouts, and keep \
                  the handler off the request thread pool, so a probe answers well inside the \
                  orchestrator's timeoutSeconds.",
    references: &[K8S_PROBES, HEALTH_JSON],
    judge: latency,
};

/// The nearest-rank percentile of sorted samples (`p` in 0–100); 0 when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    // p·n/100 rather than (p/100)·n: 95·20/100 is exactly 19, 0.95·20 is not.
    let rank = (p * n as f64 / 100.0).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied().unwrap_or(0.0)
}

/// Judges `health.latency`: see [`LATENCY`] for the rule; failed requests (reset, refused) count
/// like timeouts, since an orchestrator's probe fails the same way.
pub fn latency(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let s = obs.health_latency.get()?;
    let mut ms: Vec<f64> = s
        .samples_ms
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let paths = list(&s.paths);
    let first_failure = s
        .first_failure
        .as_deref()
        .map(|f| clip(f, 200))
        .unwrap_or_else(|| "no reason recorded".to_string());
    if ms.is_empty() {
        if s.timeouts == 0 && s.failures == 0 {
            return Ok(Judgement::skipped(
                "No health endpoint latency samples were taken.",
            ));
        }
        return Ok(Judgement::fail(format!(
            "None of the {} requests to the health endpoints completed ({} timeouts, {} failures).",
            s.timeouts + s.failures,
            s.timeouts,
            s.failures
        ))
        .evidence(clip(
            &format!("0 samples of {paths}; first failure: {first_failure}"),
            EVIDENCE_MAX,
        )));
    }
    let (p50, p95) = (percentile(&ms, 50.0), percentile(&ms, 95.0));
    let max = ms.last().copied().unwrap_or(0.0);
    let mut line = format!(
        "{} samples of {paths}: p50 {p50:.1} ms, p95 {p95:.1} ms, max {max:.1} ms, {} timeouts",
        ms.len(),
        s.timeouts
    );
    if s.failures > 0 {
        line.push_str(&format!(", {} failures", s.failures));
    }
    if s.first_failure.is_some() {
        line.push_str(&format!(" (first failure: {first_failure})"));
    }
    let attempts = ms.len() as u64 + u64::from(s.timeouts) + u64::from(s.failures);
    let judgement = if s.timeouts > 0 || s.failures > 0 {
        Judgement::fail(format!(
            "{} of {attempts} health requests timed out or failed; an orchestrator counts each \
             as a failed probe.",
            u64::from(s.timeouts) + u64::from(s.failures)
        ))
    } else if p95 > cfg.health_p95_warn_ms {
        Judgement::warn(format!(
            "Health endpoints are slow: p95 {p95:.1} ms is above {:.0} ms.",
            cfg.health_p95_warn_ms
        ))
    } else {
        Judgement::pass(format!(
            "Health endpoints answer quickly: p95 {p95:.1} ms (limit {:.0} ms).",
            cfg.health_p95_warn_ms
        ))
    };
    Ok(judgement.evidence(clip(&line, EVIDENCE_MAX)))
}

// ---------------------------------------------------------------------------------------------
// health.info_leak

/// `health.info_leak`: health and info bodies keep versions, hosts, connection strings and
/// secrets to themselves.
pub const INFO_LEAK: CheckMeta = CheckMeta {
    id: "health.info_leak",
    title: "Health and info endpoints keep internals private",
    problem: "Health or info endpoints leak internals",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "health/info bodies — warn: versions, hostnames, connection strings; fail: secrets",
    remediation: "Health endpoints are public (load balancers and kubelets call them without \
                  credentials): answer a status and component names, not dependency versions, \
                  internal host names or connection strings, and never a password or token. \
                  Spring Boot: `management.endpoint.health.show-details=when-authorized` and \
                  `management.info.java/os.enabled=false`; ASP.NET: a response writer that omits \
                  `data`/`exception`. Rotate any credential that was exposed.",
    references: &[
        "https://owasp.org/API-Security/editions/2023/en/0xa8-security-misconfiguration/",
        "CWE-200: Exposure of Sensitive Information to an Unauthorized Actor",
        HEALTH_JSON,
        SPRING_HEALTH,
    ],
    judge: info_leak,
};

/// What a health or info body gives away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LeakKind {
    /// A version of a dependency or runtime (not the service's own build).
    Version,
    /// An internal host name or private address.
    Hostname,
    /// A connection string (credentials masked, if any).
    ConnectionString,
    /// A password, token or key.
    Secret,
}

impl LeakKind {
    fn describe(self) -> &'static str {
        match self {
            LeakKind::Version => "version",
            LeakKind::Hostname => "internal host",
            LeakKind::ConnectionString => "connection string",
            LeakKind::Secret => "secret",
        }
    }
}

/// One thing a body gives away, already fit for evidence (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leak {
    kind: LeakKind,
    /// `components.redis.details.version = "7.0.12"`.
    shown: String,
}

/// Key names (lowercase, letters and digits only) whose string values are secrets.
const SECRET_KEY_ENDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "secretkey",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credentials",
    "credential",
];
/// Key names whose string values name a host.
const HOST_KEY_ENDS: &[&str] = &[
    "host",
    "hostname",
    "server",
    "servername",
    "node",
    "nodename",
    "pod",
    "podname",
    "machinename",
    "instance",
];
/// Object names (JSON path segments) under which a `version` is a runtime's or a dependency's,
/// in an info body (where the service's own build version is expected).
const RUNTIME_SEGMENTS: &[&str] = &[
    "java", "jvm", "os", "runtime", "node", "python", "go", "dotnet", "kernel", "platform", "vm",
    "database", "db", "server", "process",
];
/// Schemes of connection strings.
const DSN_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "sqlserver",
    "oracle",
    "jdbc",
    "kafka",
    "nats",
    "memcached",
    "cassandra",
    "ldap",
    "ldaps",
    "smtp",
    "smtps",
];

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:([^\s@/]+)@")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
static DSN: LazyLock<Regex> = LazyLock::new(|| {
    let schemes = DSN_SCHEMES
        .iter()
        .map(|s| regex::escape(s))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&format!(
        r"(?i)\b(?:jdbc:[a-z0-9]+:|(?:{schemes})://)[^\s\x22'<>]+"
    ))
    .unwrap_or_else(|_| unreachable!("static regex"))
});
static ADO_NET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:server|host|data source|address)\s*=\s*[^;]+;[^\x22']*?(?:database|initial catalog|user id|username|uid)\s*=")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
static ADO_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:password|pwd)\s*=\s*([^;\x22']+)")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
static TOKENS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        ("private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        (
            "JSON Web Token",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ),
        (
            "GitHub token",
            r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}",
        ),
        ("Slack token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
        ("Stripe secret key", r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
    ]
    .iter()
    .filter_map(|(name, p)| Regex::new(p).ok().map(|re| (*name, re)))
    .collect()
});
static PRIVATE_IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:10\.\d{1,3}\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3})\b")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
static INTERNAL_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:internal|local|localdomain|lan|corp|intranet|svc|cluster\.local)\b")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
static VERSION_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+\.\d+").unwrap_or_else(|_| unreachable!("static regex")));

/// A key name reduced to lowercase letters and digits (`client_secret` → `clientsecret`).
fn key_norm(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// True for a value that is already masked or a placeholder, not a secret.
fn masked_value(v: &str) -> bool {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    v.chars().count() < 4
        || v.chars()
            .all(|c| matches!(c, '*' | 'x' | 'X' | '•' | '#' | '-' | '.'))
        || [
            "redacted", "masked", "hidden", "******", "<secret>", "${", "{{", "null", "none",
        ]
        .iter()
        .any(|m| lower.contains(m))
}

/// The leaks in one string found by pattern, wherever it sits.
fn text_leaks(at: &str, text: &str, out: &mut Vec<Leak>) {
    let place = if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    };
    let secret_url = URL_PASSWORD
        .captures_iter(text)
        .any(|c| c.get(1).is_some_and(|pw| !masked_value(pw.as_str())));
    let ado_secret = ADO_PASSWORD
        .captures_iter(text)
        .any(|c| c.get(1).is_some_and(|pw| !masked_value(pw.as_str())));
    let dsn = DSN.find(text).or_else(|| ADO_NET.find(text));
    if let Some(m) = dsn {
        let kind = if secret_url || ado_secret {
            LeakKind::Secret
        } else {
            LeakKind::ConnectionString
        };
        let what = if kind == LeakKind::Secret {
            "connection string with its password"
        } else {
            "connection string"
        };
        out.push(Leak {
            kind,
            shown: format!("{place}{} ({what})", clip(&mask(m.as_str()), 120)),
        });
    } else if secret_url {
        out.push(Leak {
            kind: LeakKind::Secret,
            shown: format!("{place}{} (URL with a password)", clip(&mask(text), 120)),
        });
    }
    for (name, re) in TOKENS.iter() {
        if re.is_match(text) {
            out.push(Leak {
                kind: LeakKind::Secret,
                shown: format!("{place}{} ({name})", redact::MASK),
            });
        }
    }
    // A host inside a connection string is already reported with it.
    if dsn.is_none()
        && let Some(m) = PRIVATE_IPV4.find(text).or_else(|| INTERNAL_HOST.find(text))
    {
        out.push(Leak {
            kind: LeakKind::Hostname,
            shown: format!("{place}{} (internal address)", clip(m.as_str(), 100)),
        });
    }
}

/// Walks a JSON body: secret-named keys, host-named keys, versions, and every string by pattern.
struct Walker {
    info: bool,
    budget: usize,
    out: Vec<Leak>,
}

impl Walker {
    fn walk(&mut self, v: &serde_json::Value, path: &mut Vec<String>) {
        if self.budget == 0 || path.len() > 8 {
            return;
        }
        self.budget -= 1;
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    path.push(clip(k, 40));
                    self.key_value(k, child, path);
                    self.walk(child, path);
                    path.pop();
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate().take(200) {
                    path.push(i.to_string());
                    self.walk(child, path);
                    path.pop();
                }
            }
            serde_json::Value::String(s) => text_leaks(&path.join("."), s, &mut self.out),
            _ => {}
        }
    }

    fn key_value(&mut self, key: &str, v: &serde_json::Value, path: &[String]) {
        let norm = key_norm(key);
        let at = path.join(".");
        let Some(s) = v.as_str() else {
            return;
        };
        if SECRET_KEY_ENDS.iter().any(|e| norm.ends_with(e)) && !masked_value(s) {
            self.out.push(Leak {
                kind: LeakKind::Secret,
                shown: format!("{at} = {} ({} characters)", redact::MASK, s.chars().count()),
            });
        } else if HOST_KEY_ENDS.iter().any(|e| norm.ends_with(e))
            && s.chars().any(|c| c.is_ascii_alphabetic())
            && (s.contains('.') || s.contains('-'))
            && !s.contains(char::is_whitespace)
            && !s.contains("://")
            && !matches!(s, "localhost" | "localhost.localdomain")
        {
            self.out.push(Leak {
                kind: LeakKind::Hostname,
                shown: format!("{at} = {:?} (host name)", clip(s, 100)),
            });
        } else if norm.ends_with("version") && VERSION_VALUE.is_match(s) {
            let parents: Vec<String> = path[..path.len().saturating_sub(1)]
                .iter()
                .map(|p| key_norm(p))
                .collect();
            // The service's own version is expected: at the top of a health+json body
            // (`version`), and anywhere in an info body outside a runtime's section.
            let own = if self.info {
                !parents
                    .iter()
                    .any(|p| RUNTIME_SEGMENTS.contains(&p.as_str()))
            } else {
                parents.is_empty()
            };
            if !own {
                self.out.push(Leak {
                    kind: LeakKind::Version,
                    shown: format!("{at} = {:?} (dependency or runtime version)", clip(s, 60)),
                });
            }
        }
    }
}

/// Everything one body gives away.
fn body_leaks(ex: &HttpExchange, info: bool) -> Vec<Leak> {
    let body = ex.body.trim();
    if (body.starts_with('{') || body.starts_with('['))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
    {
        let mut w = Walker {
            info,
            budget: 5000,
            out: Vec::new(),
        };
        w.walk(&v, &mut Vec::new());
        return w.out;
    }
    let mut out = Vec::new();
    text_leaks("body", body, &mut out);
    out
}

/// The bodies `health.info_leak` reads: every health endpoint that exists and the info/version
/// endpoints `ops.version_endpoint` fetched; identical bodies once.
fn leak_sources(obs: &Observations) -> Vec<(&HttpExchange, bool)> {
    let health = obs
        .health
        .iter()
        .filter(|h| h.exists())
        .filter_map(|h| h.exchange.observed())
        .map(|ex| (ex, false));
    let info = obs
        .packs
        .get("ops.version_endpoint")
        .into_iter()
        .flatten()
        .filter_map(Probed::observed)
        .filter(|ex| ex.is_success() && !ex.is_html_document())
        .map(|ex| (ex, true));
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (ex, info) in health.chain(info) {
        if !ex.body_decoded || ex.body.trim().is_empty() || seen.contains(&ex.body.as_str()) {
            continue;
        }
        seen.push(&ex.body);
        out.push((ex, info));
    }
    out
}

/// Judges `health.info_leak`: see [`INFO_LEAK`] for the rule. Evidence quotes where each leak
/// sits with secrets masked — never the secret itself.
pub fn info_leak(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let sources = leak_sources(obs);
    if sources.is_empty() {
        answering(obs)?;
        return Ok(Judgement::skipped(
            "No health or info endpoint answered with a body, so there is nothing to read.",
        ));
    }
    let mut leaks: Vec<(LeakKind, String)> = Vec::new();
    for (ex, info) in &sources {
        for leak in body_leaks(ex, *info) {
            let line = clip(
                &format!("{}: {}", ex.request_line(), leak.shown),
                EVIDENCE_MAX,
            );
            if !leaks.iter().any(|(_, l)| *l == line) {
                leaks.push((leak.kind, line));
            }
        }
    }
    let read = format!(
        "{} health/info bod{} read ({})",
        sources.len(),
        if sources.len() == 1 { "y" } else { "ies" },
        list(
            &sources
                .iter()
                .map(|(ex, _)| ex.final_url.clone())
                .collect::<Vec<_>>()
        )
    );
    if leaks.is_empty() {
        return Ok(Judgement::pass(format!(
            "No dependency versions, internal hosts, connection strings or secrets in the \
             {read}."
        )));
    }
    leaks.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
    let count = |kind: LeakKind| leaks.iter().filter(|(k, _)| *k == kind).count();
    let tally: Vec<String> = [
        LeakKind::Secret,
        LeakKind::ConnectionString,
        LeakKind::Hostname,
        LeakKind::Version,
    ]
    .into_iter()
    .filter(|k| count(*k) > 0)
    .map(|k| {
        let n = count(k);
        format!("{n} {}{}", k.describe(), if n == 1 { "" } else { "s" })
    })
    .collect();
    let mut evidence: Vec<String> = leaks
        .iter()
        .take(LIST_MAX)
        .map(|(_, l)| l.clone())
        .collect();
    if leaks.len() > LIST_MAX {
        evidence.push(format!("… and {} more", leaks.len() - LIST_MAX));
    }
    let judgement = if count(LeakKind::Secret) > 0 {
        Judgement::fail(format!(
            "Health/info endpoints expose secrets to anyone who asks: {} (values masked here).",
            tally.join(", ")
        ))
    } else {
        Judgement::warn(format!(
            "Health/info endpoints give away internals: {}.",
            tally.join(", ")
        ))
    };
    Ok(judgement.evidence_all(evidence).evidence(read))
}

#[cfg(test)]
mod tests;
