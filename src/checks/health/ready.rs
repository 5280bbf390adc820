//! health.ready_now: the readiness endpoint says the service is ready, right now.

use super::*;

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
pub(super) fn answers_like_endpoint(h: &HealthProbe) -> bool {
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
pub(super) fn flagged_text(f: &health_body::Flagged) -> String {
    match &f.message {
        Some(m) => format!("{} ({})", clip(&f.path, 60), clip(&mask(m), 120)),
        None => format!("{} ({})", clip(&f.path, 60), clip(&f.status, 40)),
    }
}

/// The components of an answer as one list for a summary (`a (why), b (DOWN)`), at most
/// [`FLAGGED_IN_SUMMARY`] of them.
pub(super) fn flagged_list(a: &ReadyAnswer) -> String {
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
pub(super) const FLAGGED_IN_SUMMARY: usize = 5;

/// Evidence lines for one readiness answer: the request, the format and overall status, then
/// one line per component that is not passing.
pub(super) fn answer_evidence(
    ex: &HttpExchange,
    source: ReadinessSource,
    a: &ReadyAnswer,
) -> Vec<String> {
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
pub(super) fn judge_answer(
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
pub(super) const READINESS_COMPONENTS_MAX: usize = 50;
