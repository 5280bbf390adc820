//! Scoring: category scores, the overall score, bands, the verdict and the CI gate.
//!
//! A category score is the weighted mean of its findings' scores (weight = severity weight × the
//! check's own weight); `error` counts as 0 and marks the category incomplete; `skipped` is left
//! out; a category with nothing applicable is "not assessed", never 100. The overall score is the
//! weighted mean of the assessed categories.
//!
//! Waivers: a failing or warning finding an active waiver covers is left out of the scores that
//! decide — the category scores, the overall score, the verdict, `--min-score` and the category
//! minimums — as DESIGN.md promises; the same scores with the waived findings counted are kept
//! next to them (`score_with_waived`, `overall_score_with_waived`) so every report shows both.

use crate::config::{GateConfig, ScoringConfig};
use crate::model::{Band, Category, CategoryScore, Finding, Outcome, Report, Severity, Verdict};

/// Scores and verdict for a set of findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The seven categories in report order.
    pub categories: Vec<CategoryScore>,
    /// Overall score, when anything was assessed.
    pub overall: Option<f64>,
    /// Band of the overall score.
    pub band: Option<Band>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reasons: Vec<String>,
    /// The overall score with the waived findings counted (equal to `overall` when no waiver
    /// took a finding out).
    pub overall_with_waived: Option<f64>,
}

impl Scores {
    /// Writes the scores and the verdict into a report.
    pub fn apply_to(self, report: &mut Report) {
        report.categories = self.categories;
        report.overall_score = self.overall;
        report.overall_score_with_waived = self.overall_with_waived;
        report.band = self.band;
        report.verdict = self.verdict;
        report.verdict_reasons = self.reasons;
    }
}

/// True when an active waiver takes this finding out of the scores that decide: it fails or
/// warns, and the waiver has not expired.
pub fn waived_out(f: &Finding) -> bool {
    f.is_waived() && matches!(f.outcome, Outcome::Fail | Outcome::Warn)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A check's weight inside its category, by check id, on top of the severity weight (the
/// catalogue knows it: `crate::checks::weight`). Passed in so scoring does not reach back into
/// the checks.
pub type CheckWeight<'a> = &'a dyn Fn(&str) -> f64;

/// The weighted mean of the findings of `category` that count, 0–100, or `None` when none does.
fn weighted_score(
    category: Category,
    findings: &[Finding],
    cfg: &ScoringConfig,
    weight: CheckWeight<'_>,
    count: impl Fn(&Finding) -> bool,
) -> Option<f64> {
    let (mut weighted, mut total, mut counted) = (0.0, 0.0, 0usize);
    for f in findings
        .iter()
        .filter(|f| f.category == category && f.outcome != Outcome::Skipped && count(f))
    {
        let w = cfg.weights.of(f.severity) * weight(&f.check_id);
        let s = if f.outcome == Outcome::Error {
            0.0
        } else {
            f.score.clamp(0.0, 1.0)
        };
        weighted += w * s;
        total += w;
        counted += 1;
    }
    (counted > 0 && total > 0.0).then(|| round1(weighted / total * 100.0))
}

/// Scores one category: its score leaves waived findings out; `score_with_waived` counts them.
pub fn category_score(
    category: Category,
    findings: &[Finding],
    cfg: &ScoringConfig,
    weight: CheckWeight<'_>,
) -> CategoryScore {
    let mut out = CategoryScore {
        category,
        score: None,
        band: None,
        complete: true,
        pass: 0,
        warn: 0,
        fail: 0,
        error: 0,
        skipped: 0,
        waived: 0,
        score_with_waived: None,
    };
    for f in findings.iter().filter(|f| f.category == category) {
        match f.outcome {
            Outcome::Pass => out.pass += 1,
            Outcome::Warn => out.warn += 1,
            Outcome::Fail => out.fail += 1,
            Outcome::Error => {
                out.error += 1;
                out.complete = false;
            }
            Outcome::Skipped => out.skipped += 1,
        }
        if waived_out(f) {
            out.waived += 1;
        }
    }
    out.score = weighted_score(category, findings, cfg, weight, |f| !waived_out(f));
    out.band = out.score.map(Band::of);
    out.score_with_waived = weighted_score(category, findings, cfg, weight, |_| true);
    out
}

/// The weighted mean of assessed category scores.
fn overall_of(
    scores: impl Iterator<Item = (Category, Option<f64>)>,
    cfg: &ScoringConfig,
) -> Option<f64> {
    let (mut weighted, mut total) = (0.0, 0.0);
    for (category, score) in scores {
        if let Some(score) = score {
            let w = cfg
                .categories
                .iter()
                .find(|(k, _)| Category::parse(k) == Some(category))
                .map(|(_, w)| *w)
                .unwrap_or(1.0);
            weighted += w * score;
            total += w;
        }
    }
    (total > 0.0).then(|| round1(weighted / total))
}

/// Scores every category, the overall score and the verdict.
pub fn score(findings: &[Finding], cfg: &ScoringConfig, weight: CheckWeight<'_>) -> Scores {
    let categories: Vec<CategoryScore> = Category::ALL
        .iter()
        .map(|c| category_score(*c, findings, cfg, weight))
        .collect();
    let overall = overall_of(categories.iter().map(|c| (c.category, c.score)), cfg);
    let overall_with_waived = overall_of(
        categories.iter().map(|c| (c.category, c.score_with_waived)),
        cfg,
    );
    let (verdict, mut reasons) = verdict(findings, &categories, overall, cfg.verdict_min_score);
    let waived: Vec<&str> = findings
        .iter()
        .filter(|f| waived_out(f))
        .map(|f| f.check_id.as_str())
        .collect();
    if !waived.is_empty() {
        let scores = match (overall, overall_with_waived) {
            (Some(counted), Some(all)) => {
                format!("; the score is {counted:.1} without them, {all:.1} with them")
            }
            _ => String::new(),
        };
        reasons.push(format!(
            "{} waived finding(s) not counted: {}{scores}",
            waived.len(),
            waived.join(", ")
        ));
    }
    Scores {
        categories,
        overall,
        band: overall.map(Band::of),
        verdict,
        reasons,
        overall_with_waived,
    }
}

fn failed_line(f: &Finding) -> String {
    format!(
        "{} check failed: {} — {}",
        f.severity, f.check_id, f.summary
    )
}

/// The verdict and the reasons for it, as DESIGN.md defines them.
pub fn verdict(
    findings: &[Finding],
    categories: &[CategoryScore],
    overall: Option<f64>,
    bar: f64,
) -> (Verdict, Vec<String>) {
    let critical: Vec<String> = findings
        .iter()
        .filter(|f| f.failed() && f.severity == Severity::Critical)
        .map(failed_line)
        .collect();
    if !critical.is_empty() {
        return (Verdict::NoGo, critical);
    }
    let mut reasons: Vec<String> = findings
        .iter()
        .filter(|f| f.failed() && f.severity == Severity::High)
        .map(failed_line)
        .collect();
    match overall {
        Some(score) if score < bar => reasons.push(format!(
            "overall score {score:.1} is below the bar of {bar:.0}"
        )),
        None => reasons.push("nothing could be assessed".to_string()),
        _ => {}
    }
    if !reasons.is_empty() {
        return (Verdict::ConditionalGo, reasons);
    }
    // Info findings are recorded, never gate: "no rate-limit headers" must not stop a GO.
    let lesser_fails = findings
        .iter()
        .filter(|f| f.failed() && f.severity < Severity::High && f.severity > Severity::Info)
        .count();
    let warns = findings
        .iter()
        .filter(|f| f.outcome == Outcome::Warn && f.severity > Severity::Info && !waived_out(f))
        .count();
    let errors = findings
        .iter()
        .filter(|f| f.outcome == Outcome::Error)
        .count();
    if lesser_fails > 0 {
        reasons.push(format!("{lesser_fails} medium/low check(s) failed"));
    }
    if warns > 0 {
        reasons.push(format!("{warns} check(s) warned"));
    }
    if errors > 0 {
        let incomplete: Vec<&str> = categories
            .iter()
            .filter(|c| !c.complete)
            .map(|c| c.category.name())
            .collect();
        reasons.push(format!(
            "{errors} check(s) could not measure; incomplete: {}",
            incomplete.join(", ")
        ));
    }
    if reasons.is_empty() {
        let all = if findings.iter().any(waived_out) {
            "every applicable check passed, apart from the waived ones"
        } else {
            "every applicable check passed"
        };
        (Verdict::Go, vec![all.to_string()])
    } else {
        (Verdict::GoWithObservations, reasons)
    }
}

/// Why the CI gate fails for this report (empty: it passes).
pub fn gate_failures(report: &Report, gate: &GateConfig) -> Vec<String> {
    let mut out = Vec::new();
    if gate.fail_on_no_go && report.verdict == Verdict::NoGo {
        out.push("the verdict is NO-GO".to_string());
    }
    if let Some(level) = gate.fail_on {
        let failed: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.failed() && f.severity >= level)
            .map(|f| f.check_id.as_str())
            .collect();
        if !failed.is_empty() {
            out.push(format!(
                "--fail-on {level}: {} failed ({})",
                failed.len(),
                failed.join(", ")
            ));
        }
    }
    for (key, min) in &gate.categories {
        let Some(category) = Category::parse(key) else {
            continue;
        };
        match report.categories.iter().find(|c| c.category == category) {
            Some(c) => match c.score {
                Some(score) if score < *min => out.push(format!(
                    "gate.categories.{key} {min}: the {} score is {score:.1}{}",
                    category.name(),
                    waived_note(c.waived, c.score_with_waived)
                )),
                // Every finding it had is waived: the waiver accepted them, nothing is missing.
                None if c.waived > 0 => {}
                None => out.push(format!(
                    "gate.categories.{key} {min}: {} was not assessed",
                    category.name()
                )),
                _ => {}
            },
            None => out.push(format!(
                "gate.categories.{key} {min}: {} was not assessed",
                category.name()
            )),
        }
    }
    if let Some(min) = gate.min_score {
        let waived = report.findings.iter().filter(|f| waived_out(f)).count();
        match report.overall_score {
            Some(score) if score < min => out.push(format!(
                "--min-score {min}: the overall score is {score:.1}{}",
                waived_note(waived, report.overall_score_with_waived)
            )),
            None => out.push(format!("--min-score {min}: nothing could be assessed")),
            _ => {}
        }
    }
    out
}

/// ` (2 waived finding(s) left out; 61.5 with them)`, or nothing when no waiver applied.
fn waived_note(waived: usize, with_waived: Option<f64>) -> String {
    match (waived, with_waived) {
        (0, _) => String::new(),
        (n, Some(all)) => format!(" ({n} waived finding(s) left out; {all:.1} with them)"),
        (n, None) => format!(" ({n} waived finding(s) left out)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, category: Category, severity: Severity, outcome: Outcome) -> Finding {
        Finding {
            check_id: id.to_string(),
            title: id.to_string(),
            problem: None,
            category,
            severity,
            outcome,
            score: outcome.default_score(),
            summary: format!("{id} summary"),
            evidence: vec![],
            remediation: String::new(),
            references: vec![],
            waiver: None,
        }
    }

    #[test]
    fn empty_category_is_not_assessed_never_100() {
        let scores = score(
            &[f("a.b", Category::Security, Severity::High, Outcome::Pass)],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        let ops = &scores.categories[6];
        assert_eq!(ops.category, Category::Operational);
        assert_eq!(ops.score, None);
        assert_eq!(scores.categories[0].score, Some(100.0));
    }

    #[test]
    fn skipped_only_category_is_not_assessed() {
        let c = category_score(
            Category::Security,
            &[f(
                "a.b",
                Category::Security,
                Severity::High,
                Outcome::Skipped,
            )],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!((c.score, c.skipped), (None, 1));
    }

    #[test]
    fn error_counts_as_zero_and_marks_incomplete() {
        let c = category_score(
            Category::Security,
            &[
                f("a.b", Category::Security, Severity::High, Outcome::Pass),
                f("a.c", Category::Security, Severity::High, Outcome::Error),
            ],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!(c.score, Some(50.0));
        assert!(!c.complete);
    }

    #[test]
    fn severity_weights_the_mean() {
        // critical pass (10) + low fail (1) → 10/11.
        let c = category_score(
            Category::Security,
            &[
                f("a.b", Category::Security, Severity::Critical, Outcome::Pass),
                f("a.c", Category::Security, Severity::Low, Outcome::Fail),
            ],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!(c.score, Some(90.9));
    }

    #[test]
    fn critical_fail_is_no_go_with_reason() {
        let s = score(
            &[
                f(
                    "x.crit",
                    Category::Security,
                    Severity::Critical,
                    Outcome::Fail,
                ),
                f("x.ok", Category::Security, Severity::High, Outcome::Pass),
            ],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!(s.verdict, Verdict::NoGo);
        assert!(s.reasons[0].contains("x.crit"));
    }

    #[test]
    fn high_fail_is_conditional_go() {
        let findings = [
            f("x.high", Category::Security, Severity::High, Outcome::Fail),
            f(
                "x.ok",
                Category::Security,
                Severity::Critical,
                Outcome::Pass,
            ),
        ];
        let s = score(&findings, &ScoringConfig::default(), &|_| 1.0);
        assert_eq!(s.verdict, Verdict::ConditionalGo);
    }

    #[test]
    fn low_score_under_bar_is_conditional_go() {
        let findings = [
            f("x.m1", Category::Security, Severity::Medium, Outcome::Fail),
            f("x.m2", Category::Security, Severity::Medium, Outcome::Fail),
            f("x.m3", Category::Security, Severity::Medium, Outcome::Pass),
        ];
        let s = score(&findings, &ScoringConfig::default(), &|_| 1.0);
        assert_eq!(s.verdict, Verdict::ConditionalGo);
        assert!(s.reasons.iter().any(|r| r.contains("below the bar")));
    }

    #[test]
    fn only_medium_fail_is_go_with_observations() {
        let findings = [
            f("x.m", Category::Security, Severity::Medium, Outcome::Fail),
            f(
                "x.ok",
                Category::Security,
                Severity::Critical,
                Outcome::Pass,
            ),
        ];
        let s = score(&findings, &ScoringConfig::default(), &|_| 1.0);
        assert_eq!(s.verdict, Verdict::GoWithObservations);
    }

    #[test]
    fn error_blocks_go() {
        let findings = [
            f(
                "x.ok",
                Category::Security,
                Severity::Critical,
                Outcome::Pass,
            ),
            f(
                "x.err",
                Category::Performance,
                Severity::Low,
                Outcome::Error,
            ),
        ];
        let s = score(&findings, &ScoringConfig::default(), &|_| 1.0);
        assert_eq!(s.verdict, Verdict::GoWithObservations);
        assert!(s.reasons.iter().any(|r| r.contains("Performance")));
    }

    #[test]
    fn info_findings_are_recorded_but_never_stop_a_go() {
        let s = score(
            &[
                f("x.ok", Category::Security, Severity::High, Outcome::Pass),
                f("x.note", Category::Security, Severity::Info, Outcome::Warn),
            ],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!(s.verdict, Verdict::Go, "{:?}", s.reasons);
    }

    #[test]
    fn all_pass_is_go() {
        let s = score(
            &[f("x.ok", Category::Security, Severity::High, Outcome::Pass)],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!(s.verdict, Verdict::Go);
        assert_eq!(s.band, Some(Band::Excellent));
    }

    fn report_of(findings: Vec<Finding>) -> Report {
        Report {
            readyprobe_version: "0".into(),
            target: "https://app.example.com/".into(),
            profile: "staging".into(),
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            requests_sent: 0,
            findings,
            categories: Vec::new(),
            overall_score: None,
            overall_score_with_waived: None,
            band: None,
            verdict: Verdict::Go,
            verdict_reasons: Vec::new(),
            scope: Vec::new(),
            readiness: None,
            wait_ready: None,
        }
    }

    fn waived(mut finding: Finding) -> Finding {
        finding.waiver = Some(crate::model::Waiver {
            reason: "accepted".into(),
            expires: None,
            expired: false,
        });
        finding
    }

    #[test]
    fn waived_findings_leave_the_deciding_scores_and_both_numbers_are_kept() {
        let findings = [
            f("s.ok", Category::Security, Severity::High, Outcome::Pass),
            waived(f(
                "s.bad",
                Category::Security,
                Severity::High,
                Outcome::Fail,
            )),
            f("p.ok", Category::Performance, Severity::High, Outcome::Pass),
        ];
        let s = score(&findings, &ScoringConfig::default(), &|_| 1.0);
        let security = &s.categories[0];
        assert_eq!(
            security.score,
            Some(100.0),
            "the waived failure is left out"
        );
        assert_eq!(security.score_with_waived, Some(50.0));
        assert_eq!((security.fail, security.waived), (1, 1));
        assert_eq!(s.overall, Some(100.0));
        assert_eq!(s.overall_with_waived, Some(75.0));
        assert_eq!(s.verdict, Verdict::Go);
        assert_eq!(
            s.reasons[0],
            "every applicable check passed, apart from the waived ones"
        );
        assert!(
            s.reasons
                .iter()
                .any(|r| r.contains("s.bad") && r.contains("100.0 without them, 75.0 with them")),
            "{:?}",
            s.reasons
        );
    }

    #[test]
    fn waived_findings_lift_the_score_over_the_bar_and_the_gate() {
        // Without the waivers: 1 pass of 3 → 33.3, below the bar of 50 (CONDITIONAL GO).
        let findings = vec![
            waived(f(
                "x.m1",
                Category::Security,
                Severity::Medium,
                Outcome::Fail,
            )),
            waived(f(
                "x.m2",
                Category::Security,
                Severity::Medium,
                Outcome::Fail,
            )),
            f("x.m3", Category::Security, Severity::Medium, Outcome::Pass),
        ];
        let s = score(&findings, &ScoringConfig::default(), &|_| 1.0);
        assert_eq!(s.overall, Some(100.0));
        assert_eq!(s.overall_with_waived, Some(33.3));
        assert_ne!(s.verdict, Verdict::ConditionalGo, "{:?}", s.reasons);
        let mut report = report_of(findings);
        s.apply_to(&mut report);
        let gate = GateConfig {
            min_score: Some(80.0),
            categories: [("security".to_string(), 90.0)].into_iter().collect(),
            ..GateConfig::default()
        };
        assert!(
            gate_failures(&report, &gate).is_empty(),
            "{:?}",
            gate_failures(&report, &gate)
        );
    }

    #[test]
    fn an_expired_waiver_counts_again() {
        let mut expired = waived(f(
            "x.m1",
            Category::Security,
            Severity::Medium,
            Outcome::Fail,
        ));
        if let Some(w) = &mut expired.waiver {
            w.expired = true;
        }
        let s = score(
            &[
                expired,
                f("x.ok", Category::Security, Severity::Medium, Outcome::Pass),
            ],
            &ScoringConfig::default(),
            &|_| 1.0,
        );
        assert_eq!(s.overall, Some(50.0));
        assert_eq!(s.overall_with_waived, Some(50.0));
        assert_eq!(s.categories[0].waived, 0);
    }

    #[test]
    fn category_weights_shift_overall() {
        let findings = [
            f("s.ok", Category::Security, Severity::High, Outcome::Pass),
            f(
                "p.bad",
                Category::Performance,
                Severity::High,
                Outcome::Fail,
            ),
        ];
        let mut cfg = ScoringConfig::default();
        assert_eq!(score(&findings, &cfg, &|_| 1.0).overall, Some(50.0));
        cfg.categories.insert("security".into(), 3.0);
        assert_eq!(score(&findings, &cfg, &|_| 1.0).overall, Some(75.0));
    }
}
