//! Fault-injection judges (`health.fault.*`): did readiness really turn non-2xx when a
//! dependency was cut, did liveness stay up (so the orchestrator does not restart a healthy
//! process), and did readiness come back after the restore.
//!
//! These prove what `health.readiness_depth` can only read from a body. They judge the polls
//! `probes::fault` recorded, with the timings in the evidence; they never assume a cut happened
//! that the observation does not show.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::fault::{FaultRun, Poll};
use crate::observations::process::format_ms;
use crate::observations::{Observations, Unobserved};

const K8S_PROBES: &str = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/";
const PRINCIPLES: &str = "https://principlesofchaos.org/";

/// The fault runs, or why there are none.
fn runs(obs: &Observations) -> Result<&[FaultRun], Unobserved> {
    let runs = obs.fault.get()?;
    if runs.is_empty() {
        return Err(Unobserved::Skipped(
            "no [[fault.proxy]] was cut in this run".to_string(),
        ));
    }
    Ok(runs)
}

fn cut_line(run: &FaultRun) -> String {
    let via = run
        .control
        .as_ref()
        .map_or(String::new(), |c| format!(" via its control endpoint {c}"));
    format!(
        "fault proxy {} ({} → {}): cut{via} with {} live connection{} reset, new connections refused; readiness {} was {} before the cut",
        run.proxy,
        run.listen,
        run.upstream,
        run.reset_connections,
        if run.reset_connections == 1 { "" } else { "s" },
        run.readiness,
        run.baseline_status
    )
}

/// How long the readiness polls covered (the window, or less when cut short).
fn watched_ms(run: &FaultRun) -> u64 {
    if run.cut_short {
        run.readiness_during.last().map_or(0, |p| p.at_ms)
    } else {
        run.detect_window_ms
    }
}

/// The statuses seen, `200 ×15` style.
fn statuses(polls: &[Poll]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for p in polls {
        let key = p.describe();
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// health.fault.readiness_flips

/// `health.fault.readiness_flips`: readiness turns non-2xx when a dependency is cut.
pub const READINESS_FLIPS: CheckMeta = CheckMeta {
    id: "health.fault.readiness_flips",
    title: "Readiness fails when a dependency is cut",
    problem: "Readiness stays up when a dependency is cut",
    category: Category::HealthChecks,
    severity: Severity::High,
    active: true,
    weight: 1.0,
    rule: "cut the fault proxy in front of a dependency (live connections reset, new ones \
           refused), poll readiness — pass: non-2xx within the detect window; fail: stays 2xx \
           (shallow health check)",
    remediation: "Make the readiness endpoint check the dependencies the service cannot serve \
                  without (a `SELECT 1` on a pooled connection with a short timeout, a Redis \
                  PING) and answer 503 when one fails, so the load balancer stops sending \
                  traffic. Keep those checks out of liveness.",
    references: &[K8S_PROBES, PRINCIPLES],
    judge: readiness_flips,
};

/// Judges `health.fault.readiness_flips`: see [`READINESS_FLIPS`].
pub fn readiness_flips(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let runs = runs(obs)?;
    let mut evidence = Vec::new();
    let mut shallow = Vec::new();
    let mut detected = Vec::new();
    for run in runs {
        evidence.push(cut_line(run));
        match run.detected() {
            Some(flip) => {
                detected.push(format!("{} in {}", run.proxy, format_ms(flip.at_ms)));
                evidence.push(format!(
                    "readiness turned {} {} after the {} was cut (detect window {}; polls: {})",
                    flip.describe(),
                    format_ms(flip.at_ms),
                    run.proxy,
                    format_ms(run.detect_window_ms),
                    statuses(&run.readiness_during)
                ));
            }
            None => {
                let status = run
                    .readiness_during
                    .last()
                    .map_or("2xx".to_string(), Poll::describe);
                let line = format!(
                    "readiness stayed {status} for {} after the {} was cut",
                    format_ms(watched_ms(run)),
                    run.proxy
                );
                evidence.push(format!(
                    "{line} ({} polls of {}: {})",
                    run.readiness_during.len(),
                    run.readiness,
                    statuses(&run.readiness_during)
                ));
                shallow.push(line);
            }
        }
    }
    if !shallow.is_empty() {
        return Ok(
            Judgement::fail(format!("Shallow health check: {}.", shallow.join("; ")))
                .evidence_all(evidence),
        );
    }
    Ok(Judgement::pass(format!(
        "Readiness turned non-2xx when a dependency was cut (time to detect: {}).",
        detected.join(", ")
    ))
    .evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// health.fault.liveness_stable

/// `health.fault.liveness_stable`: liveness stays 2xx while a dependency is cut.
pub const LIVENESS_STABLE: CheckMeta = CheckMeta {
    id: "health.fault.liveness_stable",
    title: "Liveness stays up when a dependency is cut",
    problem: "Liveness fails when a dependency is cut",
    category: Category::HealthChecks,
    severity: Severity::High,
    active: true,
    weight: 1.0,
    rule: "same cut, poll liveness — fail: liveness goes non-2xx (cascading restarts); pass: \
           it stays 2xx",
    remediation: "Liveness must answer only \"is this process able to make progress\": no \
                  database, cache or downstream calls. Otherwise a database outage makes the \
                  orchestrator restart every replica at once, turning an outage into a crash \
                  loop.",
    references: &[K8S_PROBES],
    judge: liveness_stable,
};

/// Judges `health.fault.liveness_stable`: see [`LIVENESS_STABLE`].
pub fn liveness_stable(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let runs = runs(obs)?;
    let watched: Vec<&FaultRun> = runs.iter().filter(|r| r.liveness.is_some()).collect();
    if watched.is_empty() {
        return Err(Unobserved::Skipped(
            "no liveness endpoint separate from readiness was found to watch".to_string(),
        ));
    }
    let mut evidence = Vec::new();
    let mut failed = Vec::new();
    for run in watched {
        let url = run.liveness.as_deref().unwrap_or_default();
        match run.liveness_during.iter().find(|p| !p.is_ok()) {
            Some(bad) => {
                let line = format!(
                    "liveness {url} answered {} {} after the {} was cut",
                    bad.describe(),
                    format_ms(bad.at_ms),
                    run.proxy
                );
                evidence.push(format!(
                    "{line} (polls: {})",
                    statuses(&run.liveness_during)
                ));
                failed.push(line);
            }
            None => evidence.push(format!(
                "liveness {url} stayed 2xx through the {} cut ({} polls: {})",
                run.proxy,
                run.liveness_during.len(),
                statuses(&run.liveness_during)
            )),
        }
    }
    if !failed.is_empty() {
        return Ok(Judgement::fail(format!(
            "Liveness failed during a dependency outage: {}.",
            failed.join("; ")
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass("Liveness stayed up while a dependency was cut.").evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// health.fault.recovery

/// `health.fault.recovery`: readiness comes back after the dependency is restored.
pub const RECOVERY: CheckMeta = CheckMeta {
    id: "health.fault.recovery",
    title: "Readiness recovers after a dependency returns",
    problem: "Readiness does not recover after the dependency returns",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: true,
    weight: 1.0,
    rule: "restore the fault proxy, poll readiness — pass: back to 2xx within the recover \
           window; warn: not back to 2xx within the recover window",
    remediation: "Let the connection pool replace broken connections (test on borrow, a short \
                  validation timeout, reconnect with backoff) so the service heals without a \
                  restart once the dependency is back.",
    references: &[K8S_PROBES],
    judge: recovery,
};

/// Judges `health.fault.recovery`: see [`RECOVERY`]. Skipped when readiness never left 2xx
/// (there was nothing to recover from; `readiness_flips` reports that).
pub fn recovery(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let runs = runs(obs)?;
    let flipped: Vec<&FaultRun> = runs.iter().filter(|r| r.detected().is_some()).collect();
    if flipped.is_empty() {
        return Ok(Judgement::skipped(
            "Readiness never left 2xx during the cut, so there was nothing to recover from (see health.fault.readiness_flips).",
        ));
    }
    let mut evidence = Vec::new();
    let mut slow = Vec::new();
    let mut times = Vec::new();
    for run in flipped {
        match run.recovered() {
            Some(back) => {
                times.push(format!("{} in {}", run.proxy, format_ms(back.at_ms)));
                evidence.push(format!(
                    "readiness back to {} {} after the {} was restored (recover window {})",
                    back.describe(),
                    format_ms(back.at_ms),
                    run.proxy,
                    format_ms(run.recover_window_ms)
                ));
            }
            None => {
                let line = format!(
                    "readiness not back to 2xx {} after the {} was restored",
                    format_ms(
                        run.readiness_after
                            .last()
                            .map_or(run.recover_window_ms, |p| p.at_ms)
                    ),
                    run.proxy
                );
                evidence.push(format!(
                    "{line} (polls: {})",
                    statuses(&run.readiness_after)
                ));
                slow.push(line);
            }
        }
    }
    if !slow.is_empty() {
        return Ok(Judgement::warn(format!(
            "Readiness did not recover in time: {}.",
            slow.join("; ")
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "Readiness recovered after the restore (time to recover: {}).",
        times.join(", ")
    ))
    .evidence_all(evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use crate::observations::Probed;

    fn poll(at_ms: u64, status: u16) -> Poll {
        Poll {
            at_ms,
            status: Some(status),
            error: None,
        }
    }

    fn run(during: Vec<Poll>, live: Vec<Poll>, after: Vec<Poll>) -> FaultRun {
        FaultRun {
            proxy: "database".into(),
            listen: "127.0.0.1:15432".into(),
            upstream: "127.0.0.1:5432".into(),
            control: None,
            readiness: "https://127.0.0.1:8443/readyz".into(),
            liveness: Some("https://127.0.0.1:8443/livez".into()),
            baseline_status: 200,
            reset_connections: 2,
            detect_window_ms: 10_000,
            recover_window_ms: 10_000,
            readiness_during: during,
            liveness_during: live,
            readiness_after: after,
            cut_short: false,
        }
    }

    fn obs(r: FaultRun) -> Observations {
        Observations {
            fault: Probed::Observed(vec![r]),
            ..Observations::default()
        }
    }

    #[test]
    fn readiness_that_stays_200_fails_with_the_window() {
        let o = obs(run(
            (0..50).map(|i| poll(i * 200, 200)).collect(),
            vec![poll(100, 200)],
            vec![poll(5, 200)],
        ));
        let j = readiness_flips(&o, &JudgeConfig::default()).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.summary
                .contains("readiness stayed 200 for 10 s after the database was cut"),
            "{}",
            j.summary
        );
        assert_eq!(
            recovery(&o, &JudgeConfig::default()).unwrap().outcome,
            Outcome::Skipped
        );
    }

    #[test]
    fn readiness_that_flips_passes_with_detect_and_recover_times() {
        let o = obs(run(
            vec![poll(40, 200), poll(250, 503)],
            vec![poll(60, 200), poll(270, 200)],
            vec![poll(30, 503), poll(350, 200)],
        ));
        let j = readiness_flips(&o, &JudgeConfig::default()).unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("database in 250 ms"), "{}", j.summary);
        let r = recovery(&o, &JudgeConfig::default()).unwrap();
        assert_eq!(r.outcome, Outcome::Pass);
        assert!(r.summary.contains("350 ms"), "{}", r.summary);
        assert_eq!(
            liveness_stable(&o, &JudgeConfig::default())
                .unwrap()
                .outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn liveness_going_down_fails_and_slow_recovery_warns() {
        let o = obs(run(
            vec![poll(40, 503)],
            vec![poll(60, 503)],
            vec![poll(30, 503), poll(10_000, 503)],
        ));
        let l = liveness_stable(&o, &JudgeConfig::default()).unwrap();
        assert_eq!(l.outcome, Outcome::Fail);
        assert!(
            l.summary.contains("answered 503 60 ms after"),
            "{}",
            l.summary
        );
        assert_eq!(
            recovery(&o, &JudgeConfig::default()).unwrap().outcome,
            Outcome::Warn
        );
    }

    #[test]
    fn failed_probe_is_an_error_and_no_proxy_is_skipped() {
        let o = Observations {
            fault: Probed::Failed("fault proxy database: upstream 127.0.0.1:1 unreachable".into()),
            ..Observations::default()
        };
        assert!(matches!(
            readiness_flips(&o, &JudgeConfig::default()),
            Err(Unobserved::Failed(_))
        ));
        assert!(matches!(
            readiness_flips(&Observations::default(), &JudgeConfig::default()),
            Err(Unobserved::Skipped(_))
        ));
    }
}
