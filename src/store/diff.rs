//! Comparing two runs: new failures, fixed checks, score and verdict changes, and whether that
//! is a regression (`--fail-on-regression`). Pure: it reads two reports, it does no I/O.

use serde::Serialize;

use crate::report::json::JsonReport;

/// One check whose outcome changed between two runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The check id.
    pub check_id: String,
    /// Its severity in the newer run.
    pub severity: String,
    /// Outcome in the older run (`none` when the check did not exist then).
    pub before: String,
    /// Outcome in the newer run.
    pub after: String,
    /// The newer run's summary.
    pub summary: String,
}

/// A category whose score changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryDelta {
    /// Category display name.
    pub category: String,
    /// Older score (null: not assessed).
    pub before: Option<f64>,
    /// Newer score.
    pub after: Option<f64>,
}

/// What changed from an older run to a newer one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDiff {
    /// Checks that fail now and did not before.
    pub new_failures: Vec<Change>,
    /// Checks that failed before and do not now.
    pub fixed: Vec<Change>,
    /// Every other outcome change (pass→warn, warn→error, …).
    pub other_changes: Vec<Change>,
    /// Overall score before and after.
    pub score_before: Option<f64>,
    /// Overall score after.
    pub score_after: Option<f64>,
    /// Categories whose score moved.
    pub categories: Vec<CategoryDelta>,
    /// Verdict before.
    pub verdict_before: String,
    /// Verdict after.
    pub verdict_after: String,
}

impl RunDiff {
    /// `after - before`, when both runs were scored.
    pub fn score_delta(&self) -> Option<f64> {
        Some(((self.score_after? - self.score_before?) * 10.0).round() / 10.0)
    }

    /// True when the verdict changed.
    pub fn verdict_changed(&self) -> bool {
        self.verdict_before != self.verdict_after
    }

    /// Why this is a regression (empty: it is not): a check that passed (or warned) now fails,
    /// or the overall score dropped by more than `max_drop` points.
    pub fn regressions(&self, max_drop: f64) -> Vec<String> {
        let mut out: Vec<String> = self
            .new_failures
            .iter()
            .filter(|c| c.before == "pass" || c.before == "warn")
            .map(|c| {
                format!(
                    "{} ({}) was {}, now fails: {}",
                    c.check_id, c.severity, c.before, c.summary
                )
            })
            .collect();
        if let Some(delta) = self.score_delta()
            && delta < -max_drop
        {
            out.push(format!(
                "the overall score dropped by {:.1} points (more than {max_drop})",
                -delta
            ));
        }
        out
    }
}

/// Compares `before` with `after`.
pub fn diff(before: &JsonReport, after: &JsonReport) -> RunDiff {
    let mut d = RunDiff {
        new_failures: Vec::new(),
        fixed: Vec::new(),
        other_changes: Vec::new(),
        score_before: before.overall_score,
        score_after: after.overall_score,
        categories: Vec::new(),
        verdict_before: before.verdict.clone(),
        verdict_after: after.verdict.clone(),
    };
    for f in &after.findings {
        let old = before.findings.iter().find(|o| o.check_id == f.check_id);
        let was = old.map_or("none", |o| o.outcome.as_str());
        if was == f.outcome {
            continue;
        }
        let change = Change {
            check_id: f.check_id.clone(),
            severity: f.severity.clone(),
            before: was.to_string(),
            after: f.outcome.clone(),
            summary: f.summary.clone(),
        };
        if f.outcome == "fail" {
            d.new_failures.push(change);
        } else if was == "fail" {
            d.fixed.push(change);
        } else {
            d.other_changes.push(change);
        }
    }
    for c in &after.categories {
        let old = before
            .categories
            .iter()
            .find(|o| o.name == c.name)
            .and_then(|o| o.score);
        if old != c.score {
            d.categories.push(CategoryDelta {
                category: c.name.clone(),
                before: old,
                after: c.score,
            });
        }
    }
    d
}

/// The diff as readable text (for `readyprobe diff` and the audit's stderr note).
pub fn render_text(d: &RunDiff, before_id: i64, after_id: i64) -> String {
    use std::fmt::Write;
    let score = |s: Option<f64>| s.map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}"));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "run {before_id} → run {after_id}: verdict {} → {}, score {} → {}{}",
        d.verdict_before,
        d.verdict_after,
        score(d.score_before),
        score(d.score_after),
        d.score_delta()
            .map(|x| format!(" ({x:+.1})"))
            .unwrap_or_default()
    );
    let section = |out: &mut String, title: &str, list: &[Change]| {
        if list.is_empty() {
            return;
        }
        let _ = writeln!(out, "{title} ({}):", list.len());
        for c in list {
            let _ = writeln!(
                out,
                "  {} [{}] {} → {}: {}",
                c.check_id,
                c.severity,
                c.before,
                c.after,
                crate::report::text::one_line(&c.summary)
            );
        }
    };
    section(&mut out, "New failures", &d.new_failures);
    section(&mut out, "Fixed", &d.fixed);
    section(&mut out, "Other changes", &d.other_changes);
    if !d.categories.is_empty() {
        let _ = writeln!(out, "Category scores:");
        for c in &d.categories {
            let delta = match (c.before, c.after) {
                (Some(b), Some(a)) => format!(" ({:+.1})", a - b),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {}: {} → {}{delta}",
                c.category,
                score(c.before),
                score(c.after)
            );
        }
    }
    if d.new_failures.is_empty()
        && d.fixed.is_empty()
        && d.other_changes.is_empty()
        && d.categories.is_empty()
    {
        let _ = writeln!(out, "No change in any check.");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::{JsonCategory, JsonFinding};

    fn finding(id: &str, outcome: &str) -> JsonFinding {
        JsonFinding {
            check_id: id.into(),
            title: id.into(),
            problem: None,
            category: "Security".into(),
            severity: "high".into(),
            outcome: outcome.into(),
            score: 0.0,
            summary: format!("{id} is {outcome}"),
            evidence: vec![],
            remediation: String::new(),
            references: vec![],
            waived: None,
        }
    }

    fn report(score: f64, verdict: &str, findings: Vec<JsonFinding>) -> JsonReport {
        JsonReport {
            schema_version: 1,
            readyprobe_version: "0".into(),
            target: "https://t/".into(),
            profile: "staging".into(),
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            requests_sent: 0,
            verdict: verdict.into(),
            verdict_reasons: vec![],
            overall_score: Some(score),
            overall_score_with_waived: Some(score),
            band: None,
            categories: vec![JsonCategory {
                name: "Security".into(),
                score: Some(score),
                band: None,
                assessed: true,
                complete: true,
                pass: 0,
                warn: 0,
                fail: 0,
                error: 0,
                skipped: 0,
                waived: 0,
                score_with_waived: Some(score),
            }],
            findings,
            scope: vec![],
            readiness: None,
            wait_ready: None,
        }
    }

    #[test]
    fn pass_to_fail_is_a_regression_and_fail_to_pass_is_fixed() {
        let a = report(90.0, "GO", vec![finding("a", "pass"), finding("b", "fail")]);
        let b = report(
            70.0,
            "CONDITIONAL GO",
            vec![finding("a", "fail"), finding("b", "pass")],
        );
        let d = diff(&a, &b);
        assert_eq!(d.new_failures.len(), 1);
        assert_eq!(d.fixed.len(), 1);
        assert_eq!(d.score_delta(), Some(-20.0));
        assert!(d.verdict_changed());
        let r = d.regressions(5.0);
        assert_eq!(r.len(), 2, "{r:?}");
        let text = render_text(&d, 1, 2);
        assert!(
            text.contains("New failures (1)") && text.contains("Fixed (1)"),
            "{text}"
        );
        assert!(text.contains("(-20.0)"), "{text}");
    }

    #[test]
    fn small_score_drop_within_threshold_is_not_a_regression() {
        let a = report(80.0, "GO", vec![finding("a", "pass")]);
        let b = report(77.0, "GO", vec![finding("a", "pass")]);
        assert!(diff(&a, &b).regressions(5.0).is_empty());
        assert_eq!(diff(&a, &b).regressions(2.0).len(), 1);
    }
}
