//! Logging judges over the log canaries: are secrets kept out of the logs
//! (`logging.redaction`), are the logs structured (`logging.structured`), and can a request be
//! followed through them by its id (`logging.request_id`).
//!
//! They need a log source (`[logs] source`); without one they are skipped with that reason.
//! Evidence quotes log lines with every canary replaced by its label, so a finding can never
//! carry the value it is about.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::logs::LogObservation;
use crate::observations::{Observations, Unobserved};

const OWASP_LOGGING: &str =
    "https://cheatsheetseries.owasp.org/cheatsheets/Logging_Cheat_Sheet.html";
const CWE_532: &str = "CWE-532: Insertion of Sensitive Information into Log File";

/// The log observation, or why there is none.
fn logs(obs: &Observations) -> Result<&LogObservation, Unobserved> {
    match obs.logs.get() {
        Err(Unobserved::Skipped(reason)) if reason == "not probed in this run" => Err(
            Unobserved::Skipped("no log source is configured ([logs] source)".to_string()),
        ),
        other => other,
    }
}

fn sent_line(l: &LogObservation) -> String {
    format!(
        "canary requests: {} (request id {}); read {} new line{} from {}",
        l.requests.join("; "),
        l.request_id,
        l.lines,
        if l.lines == 1 { "" } else { "s" },
        l.source
    )
}

/// `logging.redaction`: canary secrets sent in requests do not reach the logs.
pub const REDACTION: CheckMeta = CheckMeta {
    id: "logging.redaction",
    title: "Secrets are redacted from logs",
    problem: "Secrets reach the logs",
    category: Category::Observability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "send a canary password/token/Authorization/cookie, read the configured log source — \
           fail: a canary appears in the logs; warn: logs not structured JSON; pass otherwise",
    remediation: "Never log raw request bodies, query strings or the Authorization/Cookie \
                  headers; log through a formatter that masks known secret fields (password, \
                  token, secret, authorization, cookie) and rotate any credential that already \
                  reached a log.",
    references: &[OWASP_LOGGING, CWE_532],
    judge: redaction,
};

/// Judges `logging.redaction`: see [`REDACTION`].
pub fn redaction(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let l = logs(obs)?;
    let mut evidence = vec![sent_line(l)];
    if !l.leaks.is_empty() {
        let kinds: Vec<&str> = l.leaks.iter().map(|k| k.canary.as_str()).collect();
        evidence.extend(
            l.leaks
                .iter()
                .map(|k| format!("{} in plain text: {}", k.canary, k.excerpt)),
        );
        return Ok(Judgement::fail(format!(
            "Secrets reach the logs in plain text: the canary {} appeared.",
            kinds.join(", ")
        ))
        .evidence_all(evidence));
    }
    if l.lines == 0 {
        return Err(Unobserved::Failed(format!(
            "no log lines appeared in {} after the canary requests",
            l.source
        )));
    }
    if l.non_json > 0 {
        if let Some(example) = &l.non_json_example {
            evidence.push(format!("not JSON: {example}"));
        }
        return Ok(Judgement::warn(format!(
            "No canary secret appeared, but {} of {} log lines are not structured JSON, so masking cannot be relied on field by field.",
            l.non_json, l.lines
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(
        "No canary secret (password, bearer token, session cookie) appeared in the logs.",
    )
    .evidence_all(evidence))
}

/// `logging.structured`: log lines are JSON objects.
pub const STRUCTURED: CheckMeta = CheckMeta {
    id: "logging.structured",
    title: "Structured (JSON) logs",
    problem: "Logs are not structured JSON",
    category: Category::Observability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "read the log lines written while the canary requests were served — pass: every line \
           is a JSON object; warn: some lines are not",
    remediation: "Log one JSON object per line (timestamp, level, message, request id, fields) \
                  so the log pipeline can index, filter and mask by field.",
    references: &[OWASP_LOGGING],
    judge: structured,
};

/// Judges `logging.structured`: see [`STRUCTURED`].
pub fn structured(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let l = logs(obs)?;
    if l.lines == 0 {
        return Err(Unobserved::Failed(format!(
            "no log lines appeared in {} after the canary requests",
            l.source
        )));
    }
    let mut evidence = vec![sent_line(l)];
    if l.non_json > 0 {
        if let Some(example) = &l.non_json_example {
            evidence.push(format!("not JSON: {example}"));
        }
        return Ok(Judgement::warn(format!(
            "{} of {} log lines are not JSON.",
            l.non_json, l.lines
        ))
        .evidence_all(evidence));
    }
    Ok(
        Judgement::pass(format!("All {} log lines are JSON objects.", l.lines))
            .evidence_all(evidence),
    )
}

/// `logging.request_id`: the request id sent by the client appears in the logs.
pub const REQUEST_ID: CheckMeta = CheckMeta {
    id: "logging.request_id",
    title: "Request id in the logs",
    problem: "Request ids do not reach the logs",
    category: Category::Observability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "send X-Request-ID with the canary requests, read the log source — pass: the id \
           appears; warn: it does not",
    remediation: "Take the incoming X-Request-ID (or traceparent) or generate one, put it on \
                  every log line of the request and echo it in the response, so one request can \
                  be followed across services.",
    references: &[OWASP_LOGGING, "https://www.w3.org/TR/trace-context/"],
    judge: request_id,
};

/// Judges `logging.request_id`: see [`REQUEST_ID`].
pub fn request_id(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let l = logs(obs)?;
    if l.lines == 0 {
        return Err(Unobserved::Failed(format!(
            "no log lines appeared in {} after the canary requests",
            l.source
        )));
    }
    let evidence = vec![sent_line(l)];
    if l.request_id_lines == 0 {
        return Ok(Judgement::warn(format!(
            "The request id {} sent with the canary requests appears in none of the {} log lines.",
            l.request_id, l.lines
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "The request id {} appears in {} log line{}.",
        l.request_id,
        l.request_id_lines,
        if l.request_id_lines == 1 { "" } else { "s" }
    ))
    .evidence_all(evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::logs::Leak;

    fn obs(leaks: Vec<Leak>, non_json: usize, rid: usize) -> Observations {
        Observations {
            logs: Probed::Observed(LogObservation {
                source: "the supervised process's stdout/stderr".into(),
                requests: vec!["GET https://127.0.0.1:8443/ → 200".into()],
                request_id: "readyprobe-abc".into(),
                lines: 4,
                non_json,
                non_json_example: (non_json > 0)
                    .then(|| "GET /?password=«canary password field»".into()),
                request_id_lines: rid,
                leaks,
            }),
            ..Observations::default()
        }
    }

    #[test]
    fn canary_in_logs_fails() {
        let o = obs(
            vec![Leak {
                canary: "password field".into(),
                excerpt: "GET /?password=«canary password field»".into(),
            }],
            4,
            0,
        );
        let j = redaction(&o, &JudgeConfig::default()).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("password field"), "{}", j.summary);
        assert_eq!(
            structured(&o, &JudgeConfig::default()).unwrap().outcome,
            Outcome::Warn
        );
        assert_eq!(
            request_id(&o, &JudgeConfig::default()).unwrap().outcome,
            Outcome::Warn
        );
    }

    #[test]
    fn masked_json_logs_with_request_id_pass() {
        let o = obs(vec![], 0, 2);
        for judge in [redaction, structured, request_id] {
            assert_eq!(
                judge(&o, &JudgeConfig::default()).unwrap().outcome,
                Outcome::Pass
            );
        }
    }

    #[test]
    fn plain_text_without_canaries_warns() {
        let o = obs(vec![], 2, 1);
        assert_eq!(
            redaction(&o, &JudgeConfig::default()).unwrap().outcome,
            Outcome::Warn
        );
    }

    #[test]
    fn no_source_is_skipped() {
        assert!(matches!(
            redaction(&Observations::default(), &JudgeConfig::default()),
            Err(Unobserved::Skipped(r)) if r.contains("[logs] source")
        ));
    }
}
