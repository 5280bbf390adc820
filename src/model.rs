//! The report model: findings, categories, scores and the verdict.
//!
//! Everything a renderer prints comes from these types; renderers never compute. The JSON wire
//! format lives apart in `report::json`, so renaming a field here cannot silently change the
//! contract that scripts depend on.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How much a failed check matters. Ordered from least to most severe, so `>=` means "at least".
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: recorded, never gates.
    Info,
    /// Nice to have.
    Low,
    /// Recommended before release.
    Medium,
    /// Must be fixed before release.
    High,
    /// Blocks release outright (a failing critical check makes the verdict NO-GO).
    Critical,
}

impl Severity {
    /// All severities, most severe first (the order reports list them in).
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase spelling used in JSON, config and `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses the lowercase spelling (case-insensitive).
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The rule holds.
    Pass,
    /// The rule holds only partly; worth fixing.
    Warn,
    /// The rule is broken.
    Fail,
    /// The check could not measure what it needs (the probe failed); scored as 0.
    Error,
    /// Not applicable or not enabled; excluded from scoring.
    Skipped,
}

impl Outcome {
    /// The lowercase spelling used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "warn",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        }
    }

    /// The score a judgement gets when the check does not give one.
    pub fn default_score(self) -> f64 {
        match self {
            Outcome::Pass => 1.0,
            Outcome::Warn => 0.5,
            Outcome::Fail | Outcome::Error | Outcome::Skipped => 0.0,
        }
    }

    /// How bad an outcome is, for picking the worst of several subjects.
    pub fn badness(self) -> u8 {
        match self {
            Outcome::Skipped => 0,
            Outcome::Pass => 1,
            Outcome::Warn => 2,
            Outcome::Error => 3,
            Outcome::Fail => 4,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scored sections of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Category {
    /// Transport, headers, cookies, CORS, auth, exposure.
    Security,
    /// Liveness/readiness endpoints and how honest they are.
    #[serde(rename = "Health Checks")]
    HealthChecks,
    /// Metrics, tracing, logging.
    Observability,
    /// Latency, compression, caching, HTTP/2.
    Performance,
    /// Load, connection headroom, queues.
    Scalability,
    /// Backups, dependencies, failure handling.
    #[serde(rename = "Reliability & Recovery")]
    Reliability,
    /// Docs, versioning, shutdown, error formats.
    Operational,
}

impl Category {
    /// All categories in report order.
    pub const ALL: [Category; 7] = [
        Category::Security,
        Category::HealthChecks,
        Category::Observability,
        Category::Performance,
        Category::Scalability,
        Category::Reliability,
        Category::Operational,
    ];

    /// The display name, as used in JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            Category::Security => "Security",
            Category::HealthChecks => "Health Checks",
            Category::Observability => "Observability",
            Category::Performance => "Performance",
            Category::Scalability => "Scalability",
            Category::Reliability => "Reliability & Recovery",
            Category::Operational => "Operational",
        }
    }

    /// A short lowercase key for config tables and metric labels (`health_checks`).
    pub fn key(self) -> &'static str {
        match self {
            Category::Security => "security",
            Category::HealthChecks => "health_checks",
            Category::Observability => "observability",
            Category::Performance => "performance",
            Category::Scalability => "scalability",
            Category::Reliability => "reliability",
            Category::Operational => "operational",
        }
    }

    /// Parses a display name or key, case-insensitively.
    pub fn parse(s: &str) -> Option<Category> {
        let s = s.trim();
        Category::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s) || c.key().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One check's conclusion about the target, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable dotted id (`headers.hsts`).
    pub check_id: String,
    /// Human title of the check (its goal).
    pub title: String,
    /// The problem, stated as a fact, that heads the finding when it fails or warns (from the
    /// check; absent for packs that state none, and for passing findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The scored section this finding counts in.
    pub category: Category,
    /// Effective severity (default, or overridden by config or by the judge).
    pub severity: Severity,
    /// What the check concluded.
    pub outcome: Outcome,
    /// 0.0–1.0; ignored for `skipped`.
    pub score: f64,
    /// One sentence a person reads.
    pub summary: String,
    /// What was observed: request lines, statuses, header values, timings (redacted, truncated).
    pub evidence: Vec<String>,
    /// What to do about it.
    pub remediation: String,
    /// RFCs, OWASP pages, vendor docs.
    pub references: Vec<String>,
    /// The config waiver that matched this check, if any (`[[waivers]]`). An active waiver keeps
    /// the finding in the report but out of the verdict and the gate; an expired one does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
}

impl Finding {
    /// True when this finding breaks its rule (`fail`) and counts: an active waiver takes a
    /// failure out of the verdict and the gate (the finding is still reported).
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Fail && !self.is_waived()
    }

    /// What heads the finding in a report: the problem when it fails or warns (its summary
    /// when the check states no problem), the title otherwise.
    pub fn headline(&self) -> &str {
        match self.outcome {
            Outcome::Fail | Outcome::Warn => self.problem.as_deref().unwrap_or(&self.summary),
            _ => &self.title,
        }
    }

    /// True when an active (not expired) waiver covers this finding.
    pub fn is_waived(&self) -> bool {
        self.waiver.as_ref().is_some_and(|w| !w.expired)
    }
}

/// A waiver as applied to one finding: why the failure is accepted, until when, and whether that
/// date has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// Why the failure is accepted (from the config).
    pub reason: String,
    /// `YYYY-MM-DD` after which the waiver no longer applies, if any.
    pub expires: Option<String>,
    /// True when `expires` has passed: the finding counts again.
    pub expired: bool,
}

/// Score bands, as DESIGN.md defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Band {
    /// ≥ 90.
    Excellent,
    /// 75–89.
    Good,
    /// 50–74.
    #[serde(rename = "Needs work")]
    NeedsWork,
    /// < 50.
    Poor,
}

impl Band {
    /// The band a 0–100 score falls in.
    pub fn of(score: f64) -> Band {
        if score >= 90.0 {
            Band::Excellent
        } else if score >= 75.0 {
            Band::Good
        } else if score >= 50.0 {
            Band::NeedsWork
        } else {
            Band::Poor
        }
    }

    /// The display name.
    pub fn name(self) -> &'static str {
        match self {
            Band::Excellent => "Excellent",
            Band::Good => "Good",
            Band::NeedsWork => "Needs work",
            Band::Poor => "Poor",
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The release decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// A critical check failed.
    #[serde(rename = "NO-GO")]
    NoGo,
    /// A high check failed, or the score is under the bar.
    #[serde(rename = "CONDITIONAL GO")]
    ConditionalGo,
    /// Only medium/low problems, warnings, or checks that could not be measured.
    #[serde(rename = "GO WITH OBSERVATIONS")]
    GoWithObservations,
    /// Nothing in the way.
    #[serde(rename = "GO")]
    Go,
}

impl Verdict {
    /// The spelling used everywhere (`NO-GO`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NoGo => "NO-GO",
            Verdict::ConditionalGo => "CONDITIONAL GO",
            Verdict::GoWithObservations => "GO WITH OBSERVATIONS",
            Verdict::Go => "GO",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One category's score and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryScore {
    /// Which category.
    pub category: Category,
    /// 0–100, or `None` when no applicable check ran ("not assessed", never 100); waived
    /// findings left out.
    pub score: Option<f64>,
    /// The band of `score`, when assessed.
    pub band: Option<Band>,
    /// False when some check in the category errored (the score is a lower bound).
    pub complete: bool,
    /// Count of passed findings.
    pub pass: usize,
    /// Count of warnings.
    pub warn: usize,
    /// Count of failures.
    pub fail: usize,
    /// Count of checks that could not measure.
    pub error: usize,
    /// Count of skipped checks.
    pub skipped: usize,
    /// Count of failed or warned findings an active waiver leaves out of `score`.
    #[serde(default)]
    pub waived: usize,
    /// The score with the waived findings counted (equal to `score` when none is waived).
    #[serde(default)]
    pub score_with_waived: Option<f64>,
}

impl CategoryScore {
    /// True when at least one applicable check ran.
    pub fn assessed(&self) -> bool {
        self.score.is_some()
    }
}

/// A whole audit: what was probed, what was found, and the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The readyprobe version that wrote it.
    pub readyprobe_version: String,
    /// The audited base URL (credentials redacted).
    pub target: String,
    /// The profile the run used (`staging`, `production`, `ci`).
    pub profile: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// RFC 3339 end time.
    pub finished_at: String,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Requests sent to the target and its dependencies.
    pub requests_sent: u64,
    /// Every check that ran or was skipped, once, in catalogue order.
    pub findings: Vec<Finding>,
    /// The seven categories, in report order.
    pub categories: Vec<CategoryScore>,
    /// Weighted mean of assessed category scores (`None` if nothing was assessed), waived
    /// findings left out: the score the verdict and the gate use.
    pub overall_score: Option<f64>,
    /// The overall score with the waived findings counted (equal to `overall_score` when no
    /// waiver applies).
    #[serde(default)]
    pub overall_score_with_waived: Option<f64>,
    /// Band of the overall score.
    pub band: Option<Band>,
    /// The release decision.
    pub verdict: Verdict,
    /// Why the verdict is what it is, one reason per line.
    pub verdict_reasons: Vec<String>,
    /// What was probed and what was left out, for the "Scope and method" section.
    pub scope: Vec<String>,
    /// The readiness endpoint as `health.ready_now` read it (absent when it could not judge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Readiness>,
    /// What `--wait-ready` waited for before the audit (absent without the flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ready: Option<WaitReady>,
}

/// "Is it ready right now?" — the readiness endpoint's answer, as `health.ready_now` read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// The URL that answered (redacted).
    pub url: String,
    /// True when it said ready (`health.ready_now` pass or warn), false when not ready.
    pub ready: bool,
    /// Its HTTP status.
    pub status: Option<u16>,
    /// The components its body lists, in body order.
    pub components: Vec<ReadinessComponent>,
}

/// One component of a readiness body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessComponent {
    /// Its name (`database:connection`).
    pub name: String,
    /// `pass`, `warn`, `fail` or `unknown`.
    pub state: String,
    /// Why it is not passing, when the body says (secret-looking values masked).
    pub message: Option<String>,
}

/// What `--wait-ready` waited for before auditing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitReady {
    /// The URL polled (redacted).
    pub url: String,
    /// The time allowed, ms.
    pub budget_ms: u64,
    /// The time until it was ready (or until the budget ran out), ms.
    pub waited_ms: u64,
    /// Requests sent while waiting.
    pub polls: u32,
    /// True when it became ready in time.
    pub ready: bool,
}

impl Report {
    /// Findings that failed or warned, most severe first (fails before warns at equal severity).
    pub fn gaps(&self) -> Vec<&Finding> {
        let mut gaps: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::Warn))
            .collect();
        gaps.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| b.outcome.badness().cmp(&a.outcome.badness()))
        });
        gaps
    }

    /// Critical gaps: failed critical/high findings, most severe first.
    pub fn critical_gaps(&self) -> Vec<&Finding> {
        self.gaps()
            .into_iter()
            .filter(|f| f.outcome == Outcome::Fail && f.severity >= Severity::High)
            .collect()
    }

    /// Improvements: every other warn/fail, most severe first.
    pub fn improvements(&self) -> Vec<&Finding> {
        self.gaps()
            .into_iter()
            .filter(|f| !(f.outcome == Outcome::Fail && f.severity >= Severity::High))
            .collect()
    }

    /// Passed findings (the production-ready signals).
    pub fn passed(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.outcome == Outcome::Pass)
            .collect()
    }

    /// Failed or warned findings an active waiver leaves out of the scores and the verdict.
    pub fn waived(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.is_waived() && matches!(f.outcome, Outcome::Fail | Outcome::Warn))
            .collect()
    }

    /// Findings that could not be measured.
    pub fn errors(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.outcome == Outcome::Error)
            .collect()
    }

    /// The findings of one category, in catalogue order.
    pub fn in_category(&self, category: Category) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.category == category)
            .collect()
    }

    /// Looks up a finding by check id.
    pub fn finding(&self, check_id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check_id == check_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_design_thresholds() {
        assert_eq!(Band::of(90.0), Band::Excellent);
        assert_eq!(Band::of(89.9), Band::Good);
        assert_eq!(Band::of(75.0), Band::Good);
        assert_eq!(Band::of(74.9), Band::NeedsWork);
        assert_eq!(Band::of(50.0), Band::NeedsWork);
        assert_eq!(Band::of(49.9), Band::Poor);
    }

    #[test]
    fn severity_parses_case_insensitively_and_orders() {
        assert_eq!(Severity::parse("HIGH"), Some(Severity::High));
        assert_eq!(Severity::parse("nope"), None);
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }

    #[test]
    fn category_parses_name_or_key() {
        assert_eq!(
            Category::parse("health checks"),
            Some(Category::HealthChecks)
        );
        assert_eq!(Category::parse("reliability"), Some(Category::Reliability));
        assert_eq!(
            Category::parse("Reliability & Recovery"),
            Some(Category::Reliability)
        );
    }
}
