//! JUnit XML, for a CI system's test view: one `<testsuite>` per category, one `<testcase>` per
//! check.
//!
//! Mapping (as Hurl does it, `<failure>` and `<error>` stay apart): `fail` → `<failure>`,
//! `error` (could not measure) → `<error>`, `skipped` → `<skipped>`, `pass` and `warn` → success
//! (a warning is written to the case's `system-out`). A failure covered by an active waiver is
//! reported as `<skipped>` with the waiver's reason; an expired waiver is a `<failure>` again.
//! The failure message carries the summary and the description the evidence: both come from the
//! model, where secrets are already masked.

use quick_junit::{
    NonSuccessKind, Property, Report as JUnitReport, TestCase, TestCaseStatus, TestSuite,
};

use crate::model::{Category, Finding, Outcome, Report};

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut junit = JUnitReport::new(format!("readyprobe {}", report.target));
    for category in Category::ALL {
        let findings = report.in_category(category);
        if findings.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(category.name());
        suite.add_property(Property::new("target", report.target.as_str()));
        suite.add_property(Property::new("profile", report.profile.as_str()));
        if let Some(c) = report.categories.iter().find(|c| c.category == category) {
            let score = c
                .score
                .map_or_else(|| "not assessed".to_string(), |s| format!("{s:.1}"));
            suite.add_property(Property::new("score", score));
        }
        suite.add_test_cases(findings.into_iter().map(case));
        junit.add_test_suite(suite);
    }
    match junit.to_string() {
        Ok(text) => text,
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- cannot write JUnit: {} -->\n<testsuites/>\n",
            e.to_string().replace("--", "- -")
        ),
    }
}

fn evidence(f: &Finding) -> String {
    let mut text = String::new();
    for line in &f.evidence {
        text.push_str(line);
        text.push('\n');
    }
    if !f.remediation.is_empty() && f.outcome != Outcome::Pass {
        text.push_str("Fix: ");
        text.push_str(&f.remediation);
        text.push('\n');
    }
    text
}

/// `[high] <problem>: <summary> — <first evidence line>`: the problem first, as in every other
/// format (the test case's name stays the check's stable id and title).
fn message(f: &Finding) -> String {
    let first = f.evidence.first().map(String::as_str).unwrap_or_default();
    let head = if f.headline() == f.summary || f.outcome == Outcome::Error {
        f.summary.clone()
    } else {
        format!("{}: {}", f.headline(), f.summary)
    };
    if first.is_empty() {
        format!("[{}] {head}", f.severity)
    } else {
        format!("[{}] {head} — {first}", f.severity)
    }
}

fn case(f: &Finding) -> TestCase {
    let status = match f.outcome {
        Outcome::Fail if f.is_waived() => {
            let mut s = TestCaseStatus::skipped();
            let reason = f.waiver.as_ref().map(|w| w.reason.as_str()).unwrap_or("");
            s.set_message(format!("waived: {reason}"));
            s.set_description(evidence(f));
            s
        }
        Outcome::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(message(f));
            s.set_type(f.severity.as_str());
            s.set_description(evidence(f));
            s
        }
        Outcome::Error => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(message(f));
            s.set_type("could not measure");
            s.set_description(evidence(f));
            s
        }
        Outcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(f.summary.as_str());
            s
        }
        Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(format!("{} — {}", f.check_id, f.title), status);
    case.set_classname(format!("readyprobe.{}", f.category.key()));
    case.add_property(Property::new("severity", f.severity.as_str()));
    case.add_property(Property::new("outcome", f.outcome.as_str()));
    if f.outcome == Outcome::Warn {
        case.set_system_out(format!(
            "warning: {}: {}\n{}",
            f.headline(),
            f.summary,
            evidence(f)
        ));
    } else if f.outcome == Outcome::Pass {
        case.set_system_out(format!("{}\n{}", f.summary, evidence(f)));
    }
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{PLANTED_SECRET, sample_report};

    #[test]
    fn one_suite_per_assessed_category_and_one_case_per_check() {
        let report = sample_report();
        let xml = render(&report);
        let suites = xml.matches("<testsuite ").count();
        let with_findings = Category::ALL
            .iter()
            .filter(|c| !report.in_category(**c).is_empty())
            .count();
        assert_eq!(suites, with_findings, "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), report.findings.len());
        let fails = report
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .count();
        let errors = report
            .findings
            .iter()
            .filter(|f| f.outcome == Outcome::Error)
            .count();
        assert_eq!(xml.matches("<failure").count(), fails, "{xml}");
        assert_eq!(xml.matches("<error").count(), errors, "{xml}");
        assert!(xml.contains("<skipped"), "{xml}");
    }

    #[test]
    fn failure_message_carries_the_evidence_escaped() {
        let report = sample_report();
        let xml = render(&report);
        let cert = report.finding("tls.certificate").unwrap();
        assert!(xml.contains("tls.certificate"), "{xml}");
        // The first evidence line appears in the message attribute (XML-escaped).
        let first = cert.evidence[0].replace('&', "&amp;").replace('<', "&lt;");
        assert!(xml.contains(&first), "{xml}");
        assert!(!xml.contains(PLANTED_SECRET));
        assert!(!xml.contains("hunter2"));
    }

    #[test]
    fn failure_message_is_headed_by_the_problem_and_the_case_keeps_its_stable_name() {
        let xml = render(&sample_report());
        assert!(
            xml.contains("[critical] The TLS certificate has expired: The certificate for"),
            "{xml}"
        );
        assert!(
            xml.contains("tls.certificate — TLS certificate is valid"),
            "{xml}"
        );
    }

    #[test]
    fn waived_failure_is_skipped_with_its_reason() {
        let mut report = sample_report();
        let f = report
            .findings
            .iter_mut()
            .find(|f| f.outcome == Outcome::Fail)
            .unwrap();
        f.waiver = Some(crate::model::Waiver {
            reason: "accepted <until> Q4".into(),
            expires: Some("2099-01-01".into()),
            expired: false,
        });
        let xml = render(&report);
        assert!(xml.contains("waived: accepted &lt;until&gt; Q4"), "{xml}");
    }
}
