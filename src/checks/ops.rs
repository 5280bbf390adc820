//! Operational judges over supervised runs: does the service drain on SIGTERM
//! (`ops.graceful_shutdown`) and does it refuse to start with an invalid configuration
//! (`ops.fail_fast_config`).
//!
//! Both need readyprobe to own the process (`[supervise]`); without it they are skipped with that
//! reason. They judge what `supervise` recorded — statuses, exit codes and times — and never
//! guess at behaviour the observation does not show.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::process::{ServiceExit, format_ms};
use crate::observations::{ErrorProbeKind, HttpExchange, Observations, Probed, Unobserved};

const K8S_TERMINATION: &str =
    "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination";
const TWELVE_FACTOR_DISPOSABILITY: &str = "https://12factor.net/disposability";
const TWELVE_FACTOR_CONFIG: &str = "https://12factor.net/config";

// ---------------------------------------------------------------------------------------------
// ops.graceful_shutdown

/// `ops.graceful_shutdown`: in-flight requests complete, readiness turns 503, exit 0 within the
/// grace period.
pub const GRACEFUL_SHUTDOWN: CheckMeta = CheckMeta {
    id: "ops.graceful_shutdown",
    title: "Graceful shutdown on SIGTERM",
    problem: "Shutdown on SIGTERM is not graceful",
    category: Category::Operational,
    severity: Severity::High,
    active: true,
    weight: 1.0,
    rule: "readyprobe starts the service command, sends requests, delivers SIGTERM — fail: \
           in-flight requests dropped or exit beyond the grace period (or not with status 0); \
           warn: readiness not 503 before exit",
    remediation: "Handle SIGTERM: flip readiness to 503 first, keep serving what is in flight \
                  (stop accepting new connections once the load balancer has noticed), then exit \
                  0 well within the orchestrator's grace period (terminationGracePeriodSeconds, \
                  default 30 s).",
    references: &[K8S_TERMINATION, TWELVE_FACTOR_DISPOSABILITY],
    judge: graceful_shutdown,
};

/// Judges `ops.graceful_shutdown`: see [`GRACEFUL_SHUTDOWN`].
pub fn graceful_shutdown(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let s = match obs.shutdown.get() {
        Err(Unobserved::Skipped(reason)) if reason == "not probed in this run" => {
            return Err(Unobserved::Skipped(
                "readyprobe did not start the service ([supervise] command is not set)".to_string(),
            ));
        }
        other => other?,
    };
    let grace = format_ms(s.grace_period_ms);
    let in_flight = s.requests.iter().filter(|r| r.finished_ms >= 0).count();
    let request = s.requests.first().map_or("", |r| r.request.as_str());
    let mut evidence = vec![format!(
        "SIGTERM sent to pid {} with {} of {} requests ({request}) still in flight",
        s.pid,
        in_flight,
        s.requests.len()
    )];
    let dropped: Vec<String> = s
        .requests
        .iter()
        .filter(|r| !r.status.is_some_and(|st| (200..400).contains(&st)))
        .map(|r| match (&r.error, r.status) {
            (Some(e), _) => format!(
                "dropped {} after SIGTERM ({})",
                format_ms(r.finished_ms.max(0) as u64),
                short_reason(e)
            ),
            (None, Some(st)) => format!("answered {st}"),
            (None, None) => "no answer".to_string(),
        })
        .collect();
    if dropped.is_empty() {
        evidence.push(format!(
            "{} of {} in-flight requests completed ({})",
            s.requests.len(),
            s.requests.len(),
            s.requests
                .iter()
                .filter_map(|r| r.status)
                .map(|st| st.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        evidence.push(format!(
            "{} of {} in-flight requests failed: {}",
            dropped.len(),
            s.requests.len(),
            dropped.join("; ")
        ));
    }
    let ended = s.ended_ms();
    let not_ready = s
        .readiness_polls
        .iter()
        .find(|p| p.status.is_some_and(|st| !(200..300).contains(&st)) && p.at_ms <= ended);
    if let Some(url) = &s.readiness {
        evidence.push(match not_ready {
            Some(p) => format!(
                "readiness {url} answered {} {} after SIGTERM, before the exit",
                p.describe(),
                format_ms(p.at_ms)
            ),
            None => format!(
                "readiness {url} never answered non-2xx before the exit ({} polls)",
                s.readiness_polls.len()
            ),
        });
    }
    let exit_line = match &s.exit {
        ServiceExit::Exited { after_ms, .. } => format!(
            "exited with {} {} after SIGTERM (grace period {grace})",
            s.exit.describe(),
            format_ms(*after_ms)
        ),
        ServiceExit::Killed { after_ms } => format!(
            "still running {} after SIGTERM (grace period {grace}): killed with SIGKILL",
            format_ms(*after_ms)
        ),
    };
    evidence.push(exit_line.clone());
    evidence.push(if s.pid_gone {
        format!("pid {} is gone; no process left behind", s.pid)
    } else {
        format!("pid {} still exists after the kill", s.pid)
    });

    let clean_exit = matches!(s.exit, ServiceExit::Exited { code: Some(0), .. });
    if !dropped.is_empty() || !clean_exit {
        let mut reasons = Vec::new();
        if !dropped.is_empty() {
            reasons.push(format!(
                "{} of {} in-flight requests were dropped",
                dropped.len(),
                s.requests.len()
            ));
        }
        if !clean_exit {
            reasons.push(exit_line);
        }
        return Ok(
            Judgement::fail(format!("Not a graceful shutdown: {}.", reasons.join("; ")))
                .evidence_all(evidence),
        );
    }
    if s.readiness.is_some() && not_ready.is_none() {
        return Ok(Judgement::warn(
            "The service drained and exited cleanly, but readiness never turned 503 before it exited: the load balancer keeps routing to it until connections fail.",
        )
        .evidence_all(evidence));
    }
    if in_flight == 0 {
        return Ok(Judgement::warn(
            "The service exited cleanly, but no request was still in flight at SIGTERM, so draining was not proven; set [supervise] slow_path to a slower endpoint.",
        )
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "Graceful shutdown: in-flight requests completed and the service exited 0 {} after SIGTERM (grace period {grace}).",
        format_ms(ended)
    ))
    .evidence_all(evidence))
}

/// The part of a client error that says what happened to the connection, without the request
/// line it repeats or the documentation links rustls appends.
fn short_reason(error: &str) -> String {
    let text = error
        .rsplit(": ")
        .find(|part| {
            let p = part.to_ascii_lowercase();
            [
                "closed",
                "reset",
                "refused",
                "eof",
                "broken",
                "timed out",
                "no answer",
            ]
            .iter()
            .any(|k| p.contains(k))
                && !p.starts_with("http")
        })
        .unwrap_or(error);
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// ops.fail_fast_config

/// `ops.fail_fast_config`: started with an invalid configuration, the service exits non-zero
/// quickly instead of serving.
pub const FAIL_FAST_CONFIG: CheckMeta = CheckMeta {
    id: "ops.fail_fast_config",
    title: "Fails fast on invalid configuration",
    problem: "The service starts despite invalid configuration",
    category: Category::Operational,
    severity: Severity::Medium,
    active: true,
    weight: 1.0,
    rule: "readyprobe starts the service command again with [supervise] invalid_env — pass: it \
           exits non-zero within fail_fast_within; fail: it keeps running (serving with a \
           broken configuration); warn: it exits 0",
    remediation: "Validate configuration at startup and exit non-zero with a message naming \
                  the setting, before opening any listener: a deploy with a bad setting then \
                  fails its rollout instead of serving errors.",
    references: &[TWELVE_FACTOR_CONFIG],
    judge: fail_fast_config,
};

/// Judges `ops.fail_fast_config`: see [`FAIL_FAST_CONFIG`].
pub fn fail_fast_config(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let f = match obs.fail_fast.get() {
        Err(Unobserved::Skipped(reason)) if reason == "not probed in this run" => {
            return Err(Unobserved::Skipped(
                "readyprobe did not start the service with an invalid environment ([supervise] command and invalid_env)"
                    .to_string(),
            ));
        }
        other => other?,
    };
    let vars = f.variables.join(", ");
    let mut evidence = vec![format!(
        "started with an invalid {vars}, given {}",
        format_ms(f.within_ms)
    )];
    if !f.last_output.is_empty() {
        evidence.push(format!("last output: {}", f.last_output));
    }
    match &f.exit {
        ServiceExit::Exited {
            after_ms,
            code: Some(0),
            ..
        } => Ok(Judgement::warn(format!(
            "Started with an invalid {vars}, the service exited with status 0 after {}: a supervisor sees success.",
            format_ms(*after_ms)
        ))
        .evidence_all(evidence)),
        ServiceExit::Exited { after_ms, .. } => {
            evidence.push(format!(
                "exited with {} {} after start",
                f.exit.describe(),
                format_ms(*after_ms)
            ));
            Ok(Judgement::pass(format!(
                "Started with an invalid {vars}, the service exited with {} after {}.",
                f.exit.describe(),
                format_ms(*after_ms)
            ))
            .evidence_all(evidence))
        }
        ServiceExit::Killed { after_ms } => {
            if let Some(p) = &f.readiness {
                evidence.push(format!("readiness answered {} while misconfigured", p.describe()));
            }
            evidence.push(format!(
                "still running {} after start: killed",
                format_ms(*after_ms)
            ));
            Ok(Judgement::fail(format!(
                "Started with an invalid {vars}, the service kept running for {} instead of exiting.",
                format_ms(*after_ms)
            ))
            .evidence_all(evidence))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ops.error_format

/// `ops.error_format`: error responses use problem details (RFC 9457).
pub const ERROR_FORMAT: CheckMeta = CheckMeta {
    id: "ops.error_format",
    title: "Errors use problem details (RFC 9457)",
    problem: "Errors are not problem details (RFC 9457)",
    category: Category::Operational,
    severity: Severity::Info,
    active: false,
    weight: 1.0,
    rule: "error bodies (unknown path, malformed query string, malformed JSON body) — pass: \
           application/problem+json; info note otherwise",
    remediation: "Answer API errors with `Content-Type: application/problem+json` and an RFC \
                  9457 body (`type`, `title`, `status`, `detail`), so clients and gateways can \
                  handle every error the same way (Spring: `spring.mvc.problemdetails.enabled`; \
                  ASP.NET Core: `AddProblemDetails()`).",
    references: &["RFC 9457: Problem Details for HTTP APIs"],
    judge: error_format,
};

/// True for an RFC 9457 media type.
fn is_problem(ex: &HttpExchange) -> bool {
    matches!(
        ex.media_type().as_deref(),
        Some("application/problem+json" | "application/problem+xml")
    )
}

/// Judges `ops.error_format`: see [`ERROR_FORMAT`]. The oversized-header probe is left out: a
/// proxy in front of the application usually answers it, not the application.
pub fn error_format(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let probes: Vec<_> = obs
        .errors
        .iter()
        .filter(|e| e.kind != ErrorProbeKind::OversizedHeader)
        .collect();
    if probes.is_empty() {
        return Err(Unobserved::Skipped(
            "no error-page probe ran in this run".to_string(),
        ));
    }
    if let Some(reason) = probes.iter().find_map(|e| match &e.exchange {
        Probed::Failed(reason) => Some(reason.clone()),
        _ => None,
    }) && probes.iter().all(|e| e.exchange.is_failed())
    {
        return Err(Unobserved::Failed(reason));
    }
    let errors: Vec<(ErrorProbeKind, &HttpExchange)> = probes
        .iter()
        .filter_map(|e| e.exchange.observed().map(|ex| (e.kind, ex)))
        .filter(|(_, ex)| ex.status >= 400)
        .collect();
    let line = |(kind, ex): &(ErrorProbeKind, &HttpExchange)| {
        format!(
            "{} ({}), Content-Type: {}{}",
            ex.request_line(),
            kind.describe(),
            ex.header("content-type").unwrap_or("none"),
            if ex.body.trim().is_empty() {
                ", empty body"
            } else {
                ""
            }
        )
    };
    let evidence: Vec<String> = errors.iter().map(line).collect();
    if errors.is_empty() {
        return Ok(Judgement::skipped(
            "No error response was observed (the error probes were not answered with 4xx/5xx), \
             so there is no error body to read.",
        ));
    }
    let with_body: Vec<&(ErrorProbeKind, &HttpExchange)> = errors
        .iter()
        .filter(|(_, ex)| !ex.body.trim().is_empty() || is_problem(ex))
        .collect();
    let problems = with_body.iter().filter(|(_, ex)| is_problem(ex)).count();
    let judgement = if with_body.is_empty() {
        Judgement::warn(format!(
            "Error responses carry no body ({} of {}), so clients get only the status code.",
            errors.len(),
            errors.len()
        ))
    } else if problems == with_body.len() {
        Judgement::pass(format!(
            "Error responses use application/problem+json (RFC 9457): {problems} of {}.",
            with_body.len()
        ))
    } else {
        let others: Vec<String> = with_body
            .iter()
            .filter(|(_, ex)| !is_problem(ex))
            .map(|(_, ex)| {
                ex.media_type()
                    .unwrap_or_else(|| "no Content-Type".to_string())
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Judgement::warn(format!(
            "{} of {} error responses use application/problem+json; the others are {}.",
            problems,
            with_body.len(),
            others.join(", ")
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::fault::Poll;
    use crate::observations::process::{FailFastObservation, InFlightRequest, ShutdownObservation};

    fn shutdown(exit: ServiceExit, ok: bool, ready_503: bool) -> Observations {
        let req = |i: i64| InFlightRequest {
            request: "GET https://127.0.0.1:8443/api/slow".into(),
            finished_ms: 1200 + i,
            status: ok.then_some(200),
            error: (!ok).then(|| "connection closed before message completed".into()),
        };
        Observations {
            shutdown: Probed::Observed(ShutdownObservation {
                pid: 4242,
                grace_period_ms: 10_000,
                requests: vec![req(0), req(1)],
                readiness: Some("https://127.0.0.1:8443/readyz".into()),
                readiness_polls: vec![Poll {
                    at_ms: 100,
                    status: Some(if ready_503 { 503 } else { 200 }),
                    error: None,
                }],
                exit,
                pid_gone: true,
            }),
            ..Observations::default()
        }
    }

    fn exited(code: Option<i32>, signal: Option<i32>) -> ServiceExit {
        ServiceExit::Exited {
            after_ms: 1500,
            code,
            signal,
        }
    }

    #[test]
    fn drained_exit_0_with_readiness_503_passes() {
        let j = graceful_shutdown(
            &shutdown(exited(Some(0), None), true, true),
            &JudgeConfig::default(),
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    }

    #[test]
    fn dropped_requests_and_signal_death_fail() {
        let j = graceful_shutdown(
            &shutdown(exited(None, Some(15)), false, false),
            &JudgeConfig::default(),
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.summary.contains("2 of 2 in-flight requests were dropped"),
            "{}",
            j.summary
        );
        assert!(j.summary.contains("signal 15 (SIGTERM)"), "{}", j.summary);
    }

    #[test]
    fn killed_after_grace_fails_and_readiness_never_503_warns() {
        let j = graceful_shutdown(
            &shutdown(ServiceExit::Killed { after_ms: 10_000 }, true, false),
            &JudgeConfig::default(),
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("killed with SIGKILL"), "{}", j.summary);
        let w = graceful_shutdown(
            &shutdown(exited(Some(0), None), true, false),
            &JudgeConfig::default(),
        )
        .unwrap();
        assert_eq!(w.outcome, Outcome::Warn);
    }

    #[test]
    fn unsupervised_is_skipped() {
        assert!(matches!(
            graceful_shutdown(&Observations::default(), &JudgeConfig::default()),
            Err(Unobserved::Skipped(r)) if r.contains("[supervise]")
        ));
        assert!(matches!(
            fail_fast_config(&Observations::default(), &JudgeConfig::default()),
            Err(Unobserved::Skipped(_))
        ));
    }

    fn fail_fast(exit: ServiceExit) -> Observations {
        Observations {
            fail_fast: Probed::Observed(FailFastObservation {
                variables: vec!["DATABASE_URL".into()],
                within_ms: 5000,
                exit,
                last_output: "invalid DATABASE_URL".into(),
                readiness: None,
            }),
            ..Observations::default()
        }
    }

    #[test]
    fn fail_fast_outcomes() {
        let cfg = JudgeConfig::default();
        assert_eq!(
            fail_fast_config(&fail_fast(exited(Some(2), None)), &cfg)
                .unwrap()
                .outcome,
            Outcome::Pass
        );
        assert_eq!(
            fail_fast_config(&fail_fast(exited(Some(0), None)), &cfg)
                .unwrap()
                .outcome,
            Outcome::Warn
        );
        assert_eq!(
            fail_fast_config(&fail_fast(ServiceExit::Killed { after_ms: 5000 }), &cfg)
                .unwrap()
                .outcome,
            Outcome::Fail
        );
    }
    // -- ops.error_format

    fn error_answer(
        kind: ErrorProbeKind,
        status: u16,
        content_type: &str,
        body: &str,
    ) -> crate::observations::ErrorProbe {
        let mut p = crate::checks::fixtures::error_probe(kind, status, body);
        if let Probed::Observed(ex) = &mut p.exchange {
            ex.headers = vec![("content-type".into(), content_type.into())];
        }
        p
    }

    #[test]
    fn error_format_problem_json_passes() {
        // RFC 9457 section 3's example shape.
        let body = r#"{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","status":403}"#;
        let obs = crate::checks::fixtures::obs_with_errors(vec![
            error_answer(
                ErrorProbeKind::NotFound,
                404,
                "application/problem+json",
                body,
            ),
            error_answer(
                ErrorProbeKind::MalformedQuery,
                400,
                "application/problem+json; charset=utf-8",
                body,
            ),
            // A proxy's answer to the oversized header does not count.
            error_answer(
                ErrorProbeKind::OversizedHeader,
                431,
                "text/html",
                "<html>too large</html>",
            ),
        ]);
        let j = crate::checks::fixtures::judge(&ERROR_FORMAT, &obs);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert!(j.summary.contains("2 of 2"), "{}", j.summary);
    }

    #[test]
    fn error_format_html_or_ad_hoc_json_is_an_info_note() {
        let obs = crate::checks::fixtures::obs_with_errors(vec![
            error_answer(
                ErrorProbeKind::NotFound,
                404,
                "text/html; charset=utf-8",
                "<h1>Not Found</h1>",
            ),
            error_answer(
                ErrorProbeKind::MalformedQuery,
                400,
                "application/json",
                r#"{"error":"bad query"}"#,
            ),
        ]);
        let j = crate::checks::fixtures::judge(&ERROR_FORMAT, &obs);
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(
            j.summary.contains("0 of 2 error responses use application/problem+json; the others are application/json, text/html"),
            "{}",
            j.summary
        );
        assert_eq!(ERROR_FORMAT.severity, Severity::Info);
        assert!(
            crate::checks::fixtures::evidence_text(&j)
                .contains("(unknown path), Content-Type: text/html")
        );
    }

    #[test]
    fn error_format_without_error_answers_is_skipped() {
        let obs = crate::checks::fixtures::obs_with_errors(vec![error_answer(
            ErrorProbeKind::NotFound,
            200,
            "text/html",
            "<html>index</html>",
        )]);
        let j = crate::checks::fixtures::judge(&ERROR_FORMAT, &obs);
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(matches!(
            crate::checks::fixtures::try_judge(&ERROR_FORMAT, &Observations::default()),
            Err(Unobserved::Skipped(_))
        ));
    }

    #[test]
    fn error_format_empty_bodies_are_noted() {
        let obs = crate::checks::fixtures::obs_with_errors(vec![error_answer(
            ErrorProbeKind::NotFound,
            404,
            "text/plain",
            "",
        )]);
        let j = crate::checks::fixtures::judge(&ERROR_FORMAT, &obs);
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("carry no body"), "{}", j.summary);
    }
}
