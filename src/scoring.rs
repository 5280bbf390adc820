//! Scoring: category scores, the overall score, bands, the verdict and the CI gate.
//!
//! A category score is the weighted mean of its findings' scores (weight = severity weight × the
//! check's own weight); `error` counts as 0 and marks the category incomplete; `skipped` is left
//! out; a category with nothing applicable is "not assessed", never 100. The overall score is the
//! weighted mean of the assessed categories.

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
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn check_weight(finding: &Finding) -> f64 {
    crate::checks::find(&finding.check_id)
        .map(|c| c.weight)
        .unwrap_or(1.0)
}

/// Scores one category.
pub fn category_score(
    category: Category,
    findings: &[Finding],
    cfg: &ScoringConfig,
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
    };
    let (mut weighted, mut total, mut counted) = (0.0, 0.0, 0usize);
    for f in findings.iter().filter(|f| f.category == category) {
        match f.outcome {
            Outcome::Pass => out.pass += 1,
            Outcome::Warn => out.warn += 1,
            Outcome::Fail => out.fail += 1,
            Outcome::Error => {
                out.error += 1;
                out.complete = false;
            }
            Outcome::Skipped => {
                out.skipped += 1;
                continue;
            }
        }
        let w = cfg.weights.of(f.severity) * check_weight(f);
        let s = if f.outcome == Outcome::Error {
            0.0
        } else {
            f.score.clamp(0.0, 1.0)
        };
        weighted += w * s;
        total += w;
        counted += 1;
    }
    if counted > 0 && total > 0.0 {
        let score = round1(weighted / total * 100.0);
        out.score = Some(score);
        out.band = Some(Band::of(score));
    }
    out
}

/// Scores every category, the overall score and the verdict.
pub fn score(findings: &[Finding], cfg: &ScoringConfig) -> Scores {
    let categories: Vec<CategoryScore> = Category::ALL
        .iter()
        .map(|c| category_score(*c, findings, cfg))
        .collect();
    let (mut weighted, mut total) = (0.0, 0.0);
    for c in &categories {
        if let Some(score) = c.score {
            let w = cfg
                .categories
                .iter()
                .find(|(k, _)| Category::parse(k) == Some(c.category))
                .map(|(_, w)| *w)
                .unwrap_or(1.0);
            weighted += w * score;
            total += w;
        }
    }
    let overall = (total > 0.0).then(|| round1(weighted / total));
    let (verdict, mut reasons) = verdict(findings, &categories, overall, cfg.verdict_min_score);
    let waived: Vec<&str> = findings
        .iter()
        .filter(|f| f.is_waived() && matches!(f.outcome, Outcome::Fail | Outcome::Warn))
        .map(|f| f.check_id.as_str())
        .collect();
    if !waived.is_empty() {
        reasons.push(format!(
            "{} waived finding(s) not counted: {}",
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
    let lesser_fails = findings
        .iter()
        .filter(|f| f.failed() && f.severity < Severity::High)
        .count();
    let warns = findings
        .iter()
        .filter(|f| f.outcome == Outcome::Warn)
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
        (
            Verdict::Go,
            vec!["every applicable check passed".to_string()],
        )
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
                    "gate.categories.{key} {min}: the {} score is {score:.1}",
                    category.name()
                )),
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
        match report.overall_score {
            Some(score) if score < min => out.push(format!(
                "--min-score {min}: the overall score is {score:.1}"
            )),
            None => out.push(format!("--min-score {min}: nothing could be assessed")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, category: Category, severity: Severity, outcome: Outcome) -> Finding {
        Finding {
            check_id: id.to_string(),
            title: id.to_string(),
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
        let s = score(&findings, &ScoringConfig::default());
        assert_eq!(s.verdict, Verdict::ConditionalGo);
    }

    #[test]
    fn low_score_under_bar_is_conditional_go() {
        let findings = [
            f("x.m1", Category::Security, Severity::Medium, Outcome::Fail),
            f("x.m2", Category::Security, Severity::Medium, Outcome::Fail),
            f("x.m3", Category::Security, Severity::Medium, Outcome::Pass),
        ];
        let s = score(&findings, &ScoringConfig::default());
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
        let s = score(&findings, &ScoringConfig::default());
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
        let s = score(&findings, &ScoringConfig::default());
        assert_eq!(s.verdict, Verdict::GoWithObservations);
        assert!(s.reasons.iter().any(|r| r.contains("Performance")));
    }

    #[test]
    fn all_pass_is_go() {
        let s = score(
            &[f("x.ok", Category::Security, Severity::High, Outcome::Pass)],
            &ScoringConfig::default(),
        );
        assert_eq!(s.verdict, Verdict::Go);
        assert_eq!(s.band, Some(Band::Excellent));
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
        assert_eq!(score(&findings, &cfg).overall, Some(50.0));
        cfg.categories.insert("security".into(), 3.0);
        assert_eq!(score(&findings, &cfg).overall, Some(75.0));
    }
}
