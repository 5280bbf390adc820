//! The JSON report: the stable contract scripts and CI jobs depend on.
//!
//! These wire structs are kept apart from `model.rs` on purpose: a rename in the model must not
//! silently change the contract. Field names and enum spellings change only with a
//! [`SCHEMA_VERSION`] bump.
//!
//! # Wire format (schema_version 1)
//! ```text
//! { "schema_version": 1, "readyprobe_version": "0.1.0", "target": "https://…", "profile": "staging",
//!   "started_at": "RFC 3339", "finished_at": "RFC 3339", "duration_ms": 412, "requests_sent": 57,
//!   "verdict": "NO-GO" | "CONDITIONAL GO" | "GO WITH OBSERVATIONS" | "GO", "verdict_reasons": ["…"],
//!   "overall_score": 63.5 | null, "band": "Excellent" | "Good" | "Needs work" | "Poor" | null,
//!   "overall_score_with_waived": 58.0 | null,
//!   "categories": [ { "name": "Security", "score": 48.0 | null, "band": "Poor" | null,
//!                     "assessed": true, "complete": true, "pass": 5, "warn": 2, "fail": 4,
//!                     "error": 0, "skipped": 1, "waived": 1, "score_with_waived": 40.0 | null } ],
//!   "findings": [ { "check_id": "headers.hsts", "title": "…", "problem": "…" /* fail|warn only */,
//!                   "category": "Security",
//!                   "severity": "critical|high|medium|low|info",
//!                   "outcome": "pass|warn|fail|error|skipped", "score": 0.0, "summary": "…",
//!                   "evidence": ["GET https://…/ → 200, no Strict-Transport-Security header"],
//!                   "remediation": "…", "references": ["RFC 6797"],
//!                   "waived": { "reason": "…", "expires": "2026-12-31" | null, "expired": false }
//!                   /* "waived" only when a [[waivers]] entry covers the check */ } ],
//!   "scope": ["…"],
//!   "readiness": { "url": "https://…/readyz", "ready": false, "status": 503 | null,
//!                  "components": [ { "name": "database:connection", "state": "pass|warn|fail|unknown",
//!                                    "message": "connect failed: connection refused" | null } ] }
//!     /* added field: the readiness endpoint as health.ready_now read it; absent when it could
//!        not judge */,
//!   "wait_ready": { "url": "https://…/readyz", "budget_ms": 60000, "waited_ms": 3120,
//!                   "polls": 4, "ready": true }
//!     /* added field: only with --wait-ready */ }
//! ```
//! Every check that ran or was skipped appears once in `findings`, in catalogue order.
//! `overall_score` and each category's `score` leave out the failed or warned findings an active
//! waiver covers — they are what the verdict, `--min-score` and `[gate.categories]` use;
//! `overall_score_with_waived` and `score_with_waived` count them (equal when nothing is waived).

use serde::{Deserialize, Serialize};

use crate::model::Report;

/// The version of the JSON contract.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON report object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonReport {
    /// Contract version.
    pub schema_version: u32,
    /// readyprobe's version.
    pub readyprobe_version: String,
    /// Audited base URL (redacted).
    pub target: String,
    /// Profile name.
    pub profile: String,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 end.
    pub finished_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Requests sent.
    pub requests_sent: u64,
    /// `NO-GO`, `CONDITIONAL GO`, `GO WITH OBSERVATIONS` or `GO`.
    pub verdict: String,
    /// Why.
    pub verdict_reasons: Vec<String>,
    /// 0–100, or null when nothing was assessed; waived findings left out (the score the
    /// verdict and the gate use).
    pub overall_score: Option<f64>,
    /// The overall score with the waived findings counted (added field; equal to
    /// `overall_score` when no waiver applies).
    #[serde(default)]
    pub overall_score_with_waived: Option<f64>,
    /// Band of the overall score.
    pub band: Option<String>,
    /// The seven categories.
    pub categories: Vec<JsonCategory>,
    /// Every check that ran or was skipped.
    pub findings: Vec<JsonFinding>,
    /// What was probed and how.
    pub scope: Vec<String>,
    /// The readiness endpoint as `health.ready_now` read it (added field; absent when it could
    /// not judge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<JsonReadiness>,
    /// What `--wait-ready` waited for (added field; absent without the flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ready: Option<JsonWaitReady>,
}

/// `readiness`: "is it ready right now?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonReadiness {
    /// The URL that answered.
    pub url: String,
    /// True when it said ready (pass or warn).
    pub ready: bool,
    /// Its HTTP status.
    pub status: Option<u16>,
    /// The components its body lists.
    pub components: Vec<JsonReadinessComponent>,
}

/// One component of `readiness`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonReadinessComponent {
    /// Its name.
    pub name: String,
    /// `pass`, `warn`, `fail` or `unknown`.
    pub state: String,
    /// Why it is not passing, or null.
    pub message: Option<String>,
}

/// `wait_ready`: what `--wait-ready` waited for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonWaitReady {
    /// The URL polled.
    pub url: String,
    /// The time allowed, ms.
    pub budget_ms: u64,
    /// The time until ready (or the budget), ms.
    pub waited_ms: u64,
    /// Requests sent while waiting.
    pub polls: u32,
    /// True when it became ready in time.
    pub ready: bool,
}

/// One category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonCategory {
    /// Display name (`Health Checks`).
    pub name: String,
    /// 0–100 or null ("not assessed").
    pub score: Option<f64>,
    /// Band or null.
    pub band: Option<String>,
    /// False when no applicable check ran.
    pub assessed: bool,
    /// False when some check errored.
    pub complete: bool,
    /// Passed findings.
    pub pass: usize,
    /// Warnings.
    pub warn: usize,
    /// Failures.
    pub fail: usize,
    /// Could not measure.
    pub error: usize,
    /// Skipped.
    pub skipped: usize,
    /// Failed or warned findings a waiver leaves out of `score` (added field).
    #[serde(default)]
    pub waived: usize,
    /// The category score with the waived findings counted (added field).
    #[serde(default)]
    pub score_with_waived: Option<f64>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonFinding {
    /// Stable check id.
    pub check_id: String,
    /// Title (the check's goal).
    pub title: String,
    /// The problem, stated as a fact, heading a failing or warning finding (added field; absent
    /// for other outcomes and for packs that state none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Category display name.
    pub category: String,
    /// `critical|high|medium|low|info`.
    pub severity: String,
    /// `pass|warn|fail|error|skipped`.
    pub outcome: String,
    /// 0.0–1.0.
    pub score: f64,
    /// One sentence.
    pub summary: String,
    /// Observed evidence, redacted.
    pub evidence: Vec<String>,
    /// What to do.
    pub remediation: String,
    /// References.
    pub references: Vec<String>,
    /// Present when a `[[waivers]]` entry covers this check (added field; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<JsonWaiver>,
}

/// A waiver applied to a finding: `{ "reason": "…", "expires": "2026-12-31" | null,
/// "expired": false }`. An expired waiver no longer keeps the finding out of the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonWaiver {
    /// Why the failure is accepted.
    pub reason: String,
    /// `YYYY-MM-DD` or null.
    pub expires: Option<String>,
    /// True when the expiry date has passed: the finding counts again.
    pub expired: bool,
}

impl From<&Report> for JsonReport {
    fn from(r: &Report) -> JsonReport {
        JsonReport {
            schema_version: SCHEMA_VERSION,
            readyprobe_version: r.readyprobe_version.clone(),
            target: r.target.clone(),
            profile: r.profile.clone(),
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            duration_ms: r.duration_ms,
            requests_sent: r.requests_sent,
            verdict: r.verdict.as_str().to_string(),
            verdict_reasons: r.verdict_reasons.clone(),
            overall_score: r.overall_score,
            overall_score_with_waived: r.overall_score_with_waived,
            band: r.band.map(|b| b.name().to_string()),
            categories: r
                .categories
                .iter()
                .map(|c| JsonCategory {
                    name: c.category.name().to_string(),
                    score: c.score,
                    band: c.band.map(|b| b.name().to_string()),
                    assessed: c.assessed(),
                    complete: c.complete,
                    pass: c.pass,
                    warn: c.warn,
                    fail: c.fail,
                    error: c.error,
                    skipped: c.skipped,
                    waived: c.waived,
                    score_with_waived: c.score_with_waived,
                })
                .collect(),
            findings: r
                .findings
                .iter()
                .map(|f| JsonFinding {
                    check_id: f.check_id.clone(),
                    title: f.title.clone(),
                    problem: f.problem.clone(),
                    category: f.category.name().to_string(),
                    severity: f.severity.as_str().to_string(),
                    outcome: f.outcome.as_str().to_string(),
                    score: f.score,
                    summary: f.summary.clone(),
                    evidence: f.evidence.clone(),
                    remediation: f.remediation.clone(),
                    references: f.references.clone(),
                    waived: f.waiver.as_ref().map(|w| JsonWaiver {
                        reason: w.reason.clone(),
                        expires: w.expires.clone(),
                        expired: w.expired,
                    }),
                })
                .collect(),
            scope: r.scope.clone(),
            readiness: r.readiness.as_ref().map(|x| JsonReadiness {
                url: x.url.clone(),
                ready: x.ready,
                status: x.status,
                components: x
                    .components
                    .iter()
                    .map(|c| JsonReadinessComponent {
                        name: c.name.clone(),
                        state: c.state.clone(),
                        message: c.message.clone(),
                    })
                    .collect(),
            }),
            wait_ready: r.wait_ready.as_ref().map(|w| JsonWaitReady {
                url: w.url.clone(),
                budget_ms: w.budget_ms,
                waited_ms: w.waited_ms,
                polls: w.polls,
                ready: w.ready,
            }),
        }
    }
}

/// Renders the report as pretty JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    // Serialising plain strings and numbers cannot fail; fall back to an error object regardless.
    match serde_json::to_string_pretty(&JsonReport::from(report)) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        Err(e) => format!(
            "{{\"schema_version\":{SCHEMA_VERSION},\"error\":{:?}}}\n",
            e.to_string()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::sample_report;

    #[test]
    fn failing_findings_carry_their_problem_and_passing_ones_do_not() {
        let json: serde_json::Value =
            serde_json::from_str(&render(&sample_report())).expect("json");
        let find = |id: &str| {
            json["findings"]
                .as_array()
                .and_then(|a| a.iter().find(|f| f["check_id"] == id))
                .cloned()
                .unwrap_or_else(|| panic!("{id}"))
        };
        assert_eq!(
            find("tls.certificate")["problem"],
            "The TLS certificate has expired"
        );
        assert_eq!(find("tls.certificate")["title"], "TLS certificate is valid");
        assert!(find("health.liveness").get("problem").is_none());
        assert_eq!(json["overall_score_with_waived"], 52.4);
    }
}
