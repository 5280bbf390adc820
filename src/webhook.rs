//! The optional webhook: one `POST` of JSON when a run regressed or its verdict changed.
//!
//! Bounded (10 s) and never fatal: a failing webhook is reported on stderr and the run's exit
//! code is unchanged — a broken chat integration must not fail a cron job.
//!
//! Payload:
//! ```text
//! { "event": "regression" | "verdict_change", "target": "https://…", "run_id": 42,
//!   "previous_run_id": 41, "verdict": "CONDITIONAL GO", "previous_verdict": "GO",
//!   "overall_score": 61.5, "previous_score": 92.0, "regressions": ["…"],
//!   "new_failures": [ { "check_id", "severity", "before", "after", "summary" } ],
//!   "fixed": [ … ], "readyprobe_version": "0.1.0" }
//! ```

use std::time::Duration;

use serde::Serialize;

use crate::store::diff::{Change, RunDiff};

/// How long the webhook may take, connect to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The JSON body sent.
#[derive(Debug, Clone, Serialize)]
pub struct Payload<'a> {
    /// `regression` or `verdict_change`.
    pub event: &'static str,
    /// The audited target.
    pub target: &'a str,
    /// The new run's id in the store.
    pub run_id: i64,
    /// The run it was compared with.
    pub previous_run_id: i64,
    /// The new verdict.
    pub verdict: &'a str,
    /// The previous verdict.
    pub previous_verdict: &'a str,
    /// The new overall score.
    pub overall_score: Option<f64>,
    /// The previous overall score.
    pub previous_score: Option<f64>,
    /// Why this is a regression (empty for a verdict change alone).
    pub regressions: &'a [String],
    /// Checks that fail now and did not before.
    pub new_failures: &'a [Change],
    /// Checks that no longer fail.
    pub fixed: &'a [Change],
    /// readyprobe's version.
    pub readyprobe_version: &'static str,
}

impl<'a> Payload<'a> {
    /// The payload for a diff, or `None` when there is nothing to tell (no regression and the
    /// same verdict).
    pub fn for_diff(
        target: &'a str,
        run_id: i64,
        previous_run_id: i64,
        diff: &'a RunDiff,
        regressions: &'a [String],
    ) -> Option<Payload<'a>> {
        let event = if !regressions.is_empty() {
            "regression"
        } else if diff.verdict_changed() {
            "verdict_change"
        } else {
            return None;
        };
        Some(Payload {
            event,
            target,
            run_id,
            previous_run_id,
            verdict: &diff.verdict_after,
            previous_verdict: &diff.verdict_before,
            overall_score: diff.score_after,
            previous_score: diff.score_before,
            regressions,
            new_failures: &diff.new_failures,
            fixed: &diff.fixed,
            readyprobe_version: crate::VERSION,
        })
    }
}

/// Posts `payload` to `url`; the error says what happened (status or transport error).
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    payload: &Payload<'_>,
) -> Result<(), String> {
    let shown = crate::redact::url_str(url);
    let response = client
        .post(url)
        .timeout(TIMEOUT)
        .json(payload)
        .send()
        .await
        .map_err(|e| format!("webhook {shown}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("webhook {shown}: answered {status}"))
    }
}
