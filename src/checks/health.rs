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

mod depth;
pub use depth::*;
mod info_leak;
pub use info_leak::*;
mod ready;
pub use ready::*;

#[cfg(test)]
mod tests;
