//! k8s.probe_paths_live, k8s.liveness_not_readiness, k8s.probe_timeouts: the manifest's probes against what the service answered.

use super::*;

// ---------------------------------------------------------------------------------------------
// k8s.probe_paths_live

/// `k8s.probe_paths_live`: every httpGet probe answers as the kubelet would see it.
pub const PROBE_PATHS_LIVE: CheckMeta = CheckMeta {
    id: "k8s.probe_paths_live",
    title: "Kubernetes probe paths answer live",
    problem: "A declared probe path does not answer as the kubelet needs",
    category: Category::HealthChecks,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "each httpGet probe of the serving container, requested on the target as the kubelet \
           would (its User-Agent, same-host redirects followed) — fail: not 2xx now (404: the \
           pod would never be ready, or liveness restarts it for ever), a redirect (the probe \
           would not test the endpoint), no answer, or a named port the container does not \
           declare; pass: every one 2xx",
    remediation: "Point each probe at the endpoint the service really serves (path, port and \
                  scheme as the container exposes them, no redirect) and make readiness answer \
                  2xx when the pod can serve. Probes run against the pod IP: an ingress that \
                  rewrites paths does not apply to them (set [kubernetes] probe_url to reach the \
                  container port directly, e.g. through kubectl port-forward).",
    references: &[K8S_PROBES],
    judge: probe_paths_live,
};

/// What a probe's live answer means, as (outcome, line).
pub(super) fn path_verdict(p: &Probe, live: &LiveProbe) -> (Outcome, String) {
    let first = live.first();
    let chain: Vec<String> = live.chain.iter().map(|r| r.describe()).collect();
    let answered = format!(
        "{} {} → {}",
        p.kind.field(),
        live.url,
        chain.join(", then ")
    );
    let redirected = live.chain.len() > 1
        || first.is_some_and(|r| r.status.is_some_and(|s| (300..400).contains(&s)));
    if redirected {
        return (
            Outcome::Fail,
            format!(
                "{answered}: a redirect — the kubelet follows it on the same host or counts it as success with a warning, so the probe does not test {}",
                live.path
            ),
        );
    }
    let consequence = match p.kind {
        ProbeKind::Readiness => "the pod would never be ready",
        ProbeKind::Liveness => "the kubelet would restart the container over and over",
        ProbeKind::Startup => "the container would never count as started",
    };
    match first.and_then(|r| r.status) {
        Some(s) if (200..300).contains(&s) => (
            Outcome::Pass,
            format!("{answered} in {}", ms(first.map_or(0.0, |r| r.elapsed_ms))),
        ),
        Some(_) => (Outcome::Fail, format!("{answered}: {consequence}")),
        None => (
            Outcome::Fail,
            format!("{answered}: no answer, {consequence}"),
        ),
    }
}

/// Judges `k8s.probe_paths_live`: see [`PROBE_PATHS_LIVE`].
pub fn probe_paths_live(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let c = &m.workload.container;
    let mut evidence = vec![workload_line(m)];
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    let mut not_http = Vec::new();
    // A named port the container does not declare fails before any request.
    for p in &c.probes {
        if let ProbeAction::HttpGet {
            port: crate::manifests::PortRef::Name(name),
            resolved_port: None,
            ..
        } = &p.action
        {
            outcomes.push(Outcome::Fail);
            failed.push(format!("{} names port {name:?}", p.kind.field()));
            let declared: Vec<String> = c
                .ports
                .iter()
                .map(|cp| match &cp.name {
                    Some(n) => format!("{n}:{}", cp.port),
                    None => cp.port.to_string(),
                })
                .collect();
            evidence.push(format!(
                "{}: port {name:?} is not a port of container {} (ports: {}): the kubelet cannot run this probe",
                probe_line(p),
                c.name,
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            ));
        }
    }
    let http: Vec<&Probe> = c
        .probes
        .iter()
        .filter(|p| p.http_path().is_some())
        .collect();
    for p in c.probes.iter().filter(|p| p.http_path().is_none()) {
        not_http.push(format!(
            "{}: not an HTTP probe, not requested",
            probe_line(p)
        ));
    }
    if http.is_empty() {
        if !outcomes.is_empty() {
            return Ok(judgement(
                Outcome::Fail,
                "A probe names a port the container does not declare.".into(),
                evidence,
            ));
        }
        return Err(Unobserved::Skipped(format!(
            "container {} declares no httpGet probe ({})",
            c.name,
            if c.probes.is_empty() {
                "no probes at all".to_string()
            } else {
                not_http.join("; ")
            }
        )));
    }
    let live = obs.kube_probes.get()?;
    evidence.push(format!(
        "requested on {} (the kubelet dials the pod IP and the container port; the path is what it asks for)",
        live.base
    ));
    for p in &http {
        evidence.push(probe_line(p));
        match live.of(p.kind) {
            Some(l) => {
                let (outcome, line) = path_verdict(p, l);
                if outcome == Outcome::Fail {
                    failed.push(format!("{} {}", p.kind.field(), l.path));
                }
                outcomes.push(outcome);
                evidence.push(line);
            }
            None => evidence.push(format!("{}: not requested in this run", p.kind.field())),
        }
    }
    evidence.extend(not_http);
    let outcome = worst(&outcomes);
    let summary = if outcome == Outcome::Fail {
        format!(
            "Probe paths of {} do not answer 2xx as the kubelet would request them: {}.",
            m.workload.id(),
            failed.join(", ")
        )
    } else {
        format!(
            "Every httpGet probe of {} answers 2xx on its declared path.",
            m.workload.id()
        )
    };
    Ok(judgement(outcome, summary, evidence))
}

// ---------------------------------------------------------------------------------------------
// k8s.liveness_not_readiness

/// `k8s.liveness_not_readiness`: liveness does not go down with a dependency.
pub const LIVENESS_NOT_READINESS: CheckMeta = CheckMeta {
    id: "k8s.liveness_not_readiness",
    title: "Kubernetes liveness independent of dependencies",
    problem: "Liveness depends on a dependency or equals readiness",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "the manifest's livenessProbe path while a [[fault.proxy]] dependency was cut (the \
           fault phase's polls) — fail: it answered non-2xx (the kubelet would restart every pod \
           during a dependency outage); pass: it stayed 2xx; warn when not measured but \
           liveness and readiness are the same endpoint; skipped when not measured",
    remediation: "Keep liveness shallow: it asks \"is this process wedged?\" and must not check \
                  databases, caches or brokers (an outage would restart every pod and turn a \
                  degraded service into a down one). Put dependency checks in readiness, on a \
                  separate path.",
    references: &[
        K8S_PROBES,
        "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/",
    ],
    judge: liveness_not_readiness,
};

/// One poll of the fault phase, as this check reads it.
pub(super) struct Seen {
    ok: bool,
    shown: String,
    at_ms: u64,
}

/// The polls of `path` during each cut: (proxy, polls).
pub(super) fn polls_of(
    obs: &Observations,
    path: &str,
) -> Result<Vec<(String, Vec<Seen>)>, Unobserved> {
    let runs = obs.fault.get()?;
    let mut out = Vec::new();
    for run in runs {
        let polls = if run.liveness.as_deref().and_then(url_path).as_deref() == Some(path) {
            &run.liveness_during
        } else if url_path(&run.readiness).as_deref() == Some(path) {
            &run.readiness_during
        } else {
            continue;
        };
        let seen = polls
            .iter()
            .map(|p| Seen {
                ok: p.is_ok(),
                shown: p.describe(),
                at_ms: p.at_ms,
            })
            .collect();
        out.push((run.proxy.clone(), seen));
    }
    Ok(out)
}

/// Judges `k8s.liveness_not_readiness`: see [`LIVENESS_NOT_READINESS`].
pub fn liveness_not_readiness(
    obs: &Observations,
    _cfg: &JudgeConfig,
) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let c = &m.workload.container;
    let Some(live) = c.probe(ProbeKind::Liveness) else {
        return Err(Unobserved::Skipped(format!(
            "container {} declares no livenessProbe (k8s.probes_declared)",
            c.name
        )));
    };
    let Some(live_path) = live.http_path() else {
        return Err(Unobserved::Skipped(format!(
            "{}: not an HTTP probe; what it checks cannot be measured from outside",
            probe_line(live)
        )));
    };
    let ready = c.probe(ProbeKind::Readiness);
    let same = ready.is_some_and(|r| r.action == live.action);
    let mut evidence = vec![workload_line(m), probe_line(live)];
    if let Some(r) = ready {
        evidence.push(probe_line(r));
    }
    let measured = polls_of(obs, live_path);
    let polls = match &measured {
        Ok(polls) if !polls.is_empty() => polls,
        other => {
            let reason = match other {
                Err(Unobserved::Skipped(r) | Unobserved::Failed(r)) => r.clone(),
                _ => format!("no fault run watched {live_path}"),
            };
            if same {
                return Ok(Judgement::warn(format!(
                    "Liveness and readiness are the same endpoint {live_path}: if it checks a dependency, an outage restarts every pod. Not measured: {reason}."
                ))
                .evidence_all(evidence));
            }
            return Err(match other {
                Err(Unobserved::Failed(r)) => Unobserved::Failed(r.clone()),
                _ => Unobserved::Skipped(format!(
                    "not measured: {reason} (configure a [[fault.proxy]] in front of a dependency)"
                )),
            });
        }
    };
    let mut down = Vec::new();
    for (proxy, ps) in polls {
        let bad = ps.iter().find(|p| !p.ok);
        evidence.push(format!(
            "while the {proxy} was cut: {live_path} answered {} ({} polls)",
            summarise(ps.iter().map(|p| p.shown.as_str())),
            ps.len()
        ));
        if let Some(b) = bad {
            down.push(format!(
                "{} {} after the {proxy} was cut",
                b.shown,
                ms(b.at_ms as f64)
            ));
        }
    }
    if !down.is_empty() {
        return Ok(Judgement::fail(format!(
            "The declared livenessProbe path {live_path} went down with a dependency ({}): the kubelet would restart every pod during the outage{}.",
            down.join("; "),
            if same { ", and it is also the readiness endpoint" } else { "" }
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "The declared livenessProbe path {live_path} stayed 2xx while a dependency was cut{}.",
        if same {
            " (it is also the readiness endpoint, which therefore did not flip either)"
        } else {
            ""
        }
    ))
    .evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// k8s.probe_timeouts

/// `k8s.probe_timeouts`: timeouts above the measured latency; readiness reacts in time.
pub const PROBE_TIMEOUTS: CheckMeta = CheckMeta {
    id: "k8s.probe_timeouts",
    title: "Kubernetes probe timings fit the measured service",
    problem: "Probe timings do not fit the measured service",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "each httpGet probe's timeoutSeconds (default 1) against the p99 of its path measured \
           as the kubelet requests it — fail: p99 ≥ timeout (probes fail under load: restarts or \
           flapping readiness), warn: p99 ≥ 80% of it; readiness failureThreshold × periodSeconds \
           plus the measured time-to-detect of a cut dependency (fault proxy) — warn above \
           judge.k8s_unready_warn_secs (30 s), fail above judge.k8s_unready_fail_secs (60 s), \
           warn when readiness never flipped; skipped when neither side was measured",
    remediation: "Set each probe's timeoutSeconds well above its endpoint's p99 (or make the \
                  endpoint cheaper: probes should not do slow work), and keep readiness \
                  failureThreshold × periodSeconds short enough that a pod whose dependency is \
                  gone leaves the Service quickly (periodSeconds 5, failureThreshold 2–3).",
    references: &[K8S_PROBES],
    judge: probe_timeouts,
};

/// Judges `k8s.probe_timeouts`: see [`PROBE_TIMEOUTS`].
pub fn probe_timeouts(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let c = &m.workload.container;
    let http: Vec<&Probe> = c
        .probes
        .iter()
        .filter(|p| p.http_path().is_some())
        .collect();
    if http.is_empty() {
        return Err(Unobserved::Skipped(format!(
            "container {} declares no httpGet probe whose latency could be measured",
            c.name
        )));
    }
    let mut evidence = vec![workload_line(m)];
    let mut outcomes = Vec::new();
    let mut reasons = Vec::new();
    let mut not_measured = Vec::new();

    // Timeouts against the measured p99.
    match obs.kube_probes.get() {
        Ok(live) => {
            for p in &http {
                let Some(l) = live.of(p.kind) else { continue };
                let answered = l
                    .samples
                    .iter()
                    .filter(|s| s.status.is_some() || s.timed_out)
                    .count();
                let (Some(p99), true) = (l.percentile(99.0), answered > 0) else {
                    not_measured.push(format!("{} latency (no sample answered)", p.kind.field()));
                    continue;
                };
                let p50 = l.percentile(50.0).unwrap_or(p99);
                let timeout_ms = p.timeout() as f64 * 1000.0;
                let quote = p.timeout_seconds.quote(
                    &format!("{}.timeoutSeconds", p.kind.field()),
                    Some(&Probe::DEFAULT_TIMEOUT.to_string()),
                );
                let timeouts = l.samples.iter().filter(|s| s.timed_out).count();
                let answers: Vec<String> = l.samples.iter().map(|s| s.describe()).collect();
                evidence.push(format!(
                    "{quote} vs GET {} p99 {} (p50 {}) over {} requests ({}){}",
                    l.url,
                    ms(p99),
                    ms(p50),
                    l.samples.len(),
                    summarise(answers.iter().map(String::as_str)),
                    if timeouts > 0 {
                        format!(
                            ", {timeouts} with no answer within {}",
                            ms(live.timeout_ms as f64)
                        )
                    } else {
                        String::new()
                    }
                ));
                if p99 >= timeout_ms {
                    outcomes.push(Outcome::Fail);
                    reasons.push(format!(
                        "{} times out at {} but {} takes {} at p99",
                        p.kind.field(),
                        secs(p.timeout() as f64),
                        l.path,
                        ms(p99)
                    ));
                } else if p99 >= timeout_ms * TIMEOUT_HEADROOM {
                    outcomes.push(Outcome::Warn);
                    reasons.push(format!(
                        "{} p99 {} is within 20% of its {} timeout",
                        l.path,
                        ms(p99),
                        secs(p.timeout() as f64)
                    ));
                } else {
                    outcomes.push(Outcome::Pass);
                }
            }
        }
        Err(Unobserved::Skipped(r) | Unobserved::Failed(r)) => {
            not_measured.push(format!("probe latency ({r})"));
        }
    }

    // Readiness: how long a pod whose dependency is cut stays in rotation.
    if let Some(ready) = c.probe(ProbeKind::Readiness)
        && let Some(path) = ready.http_path()
    {
        let window = ready.failures() as f64 * ready.period() as f64;
        let quote = format!(
            "{}, {}",
            ready.failure_threshold.quote(
                "readinessProbe.failureThreshold",
                Some(&Probe::DEFAULT_FAILURE_THRESHOLD.to_string())
            ),
            ready.period_seconds.quote(
                "readinessProbe.periodSeconds",
                Some(&Probe::DEFAULT_PERIOD.to_string())
            )
        );
        let watched: Vec<_> = match obs.fault.get() {
            Ok(runs) => runs
                .iter()
                .filter(|r| url_path(&r.readiness).as_deref() == Some(path))
                .collect(),
            Err(Unobserved::Skipped(r) | Unobserved::Failed(r)) => {
                not_measured.push(format!("time-to-detect of a cut ({r})"));
                Vec::new()
            }
        };
        if watched.is_empty() && obs.fault.observed().is_some() {
            not_measured.push(format!(
                "time-to-detect of a cut (the fault phase did not watch {path}: it does not answer 2xx)"
            ));
        }
        for run in watched {
            evidence.push(quote.clone());
            match run.detected() {
                Some(flip) => {
                    let total = flip.at_ms as f64 / 1000.0 + window;
                    evidence.push(format!(
                        "readiness {path} went {} {} after the {} was cut; with failureThreshold × periodSeconds = {} the pod leaves the Service within {}",
                        flip.describe(),
                        ms(flip.at_ms as f64),
                        run.proxy,
                        secs(window),
                        secs(total)
                    ));
                    if total > cfg.k8s_unready_fail_secs {
                        outcomes.push(Outcome::Fail);
                        reasons.push(format!(
                            "a pod whose {} is cut keeps receiving traffic for up to {} (above {})",
                            run.proxy,
                            secs(total),
                            secs(cfg.k8s_unready_fail_secs)
                        ));
                    } else if total > cfg.k8s_unready_warn_secs {
                        outcomes.push(Outcome::Warn);
                        reasons.push(format!(
                            "a pod whose {} is cut keeps receiving traffic for up to {} (above {})",
                            run.proxy,
                            secs(total),
                            secs(cfg.k8s_unready_warn_secs)
                        ));
                    } else {
                        outcomes.push(Outcome::Pass);
                    }
                }
                None => {
                    outcomes.push(Outcome::Warn);
                    evidence.push(format!(
                        "readiness {path} stayed 2xx for the {} the {} was cut: no failureThreshold × periodSeconds takes this pod out (health.fault.readiness_flips)",
                        ms(run.detect_window_ms as f64),
                        run.proxy
                    ));
                    reasons.push(format!(
                        "readiness never flipped while the {} was cut",
                        run.proxy
                    ));
                }
            }
        }
    }

    if outcomes.is_empty() {
        return Err(Unobserved::Skipped(format!(
            "not measured: {}",
            not_measured.join("; ")
        )));
    }
    for n in &not_measured {
        evidence.push(format!("not measured: {n}"));
    }
    let outcome = worst(&outcomes);
    let summary = if reasons.is_empty() {
        format!(
            "The probe timings of {} fit what was measured{}.",
            m.workload.id(),
            if not_measured.is_empty() {
                ""
            } else {
                " (partly measured)"
            }
        )
    } else {
        format!(
            "Probe timings of {} against what was measured: {}.",
            m.workload.id(),
            reasons.join("; ")
        )
    };
    Ok(judgement(outcome, summary, evidence))
}
