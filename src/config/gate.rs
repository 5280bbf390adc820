//! Waivers: accepted failures, with a reason and an expiry date (`[[waivers]]`).
//!
//! A waiver never hides a finding. An active waiver keeps the finding in every report, marked
//! with its reason, but takes it out of the verdict and the gate; once `expires` has passed the
//! finding counts again and its summary says the waiver expired. Applying waivers needs today's
//! date, so it is a separate step after judging (judges stay free of the clock).

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::model::{Finding, Outcome, Waiver};

/// One `[[waivers]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverConfig {
    /// The check id the waiver covers (`headers.csp`).
    pub check: String,
    /// Why the failure is accepted; shown next to the finding in every format.
    pub reason: String,
    /// `YYYY-MM-DD`: from the day after, the finding counts again.
    #[serde(default)]
    pub expires: Option<String>,
}

/// True when `s` is a `YYYY-MM-DD` calendar date (month 1–12, day 1–31).
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let month: u32 = s[5..7].parse().unwrap_or(0);
    let day: u32 = s[8..10].parse().unwrap_or(0);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// Checks the form of each waiver (the check ids are checked against the catalogue later).
pub(crate) fn validate(waivers: &[WaiverConfig], origin: &str) -> Result<(), ConfigError> {
    for (i, w) in waivers.iter().enumerate() {
        if w.check.trim().is_empty() {
            return Err(ConfigError::field(
                origin,
                format!("waivers[{i}].check"),
                "expected a check id, e.g. \"headers.csp\"",
            ));
        }
        if w.reason.trim().is_empty() {
            return Err(ConfigError::field(
                origin,
                format!("waivers[{i}].reason"),
                "a waiver needs a reason (it is printed next to the finding)",
            ));
        }
        if let Some(date) = &w.expires
            && !is_iso_date(date)
        {
            return Err(ConfigError::field(
                origin,
                format!("waivers[{i}].expires"),
                format!("expected a date like \"2026-12-31\", got {date:?}"),
            ));
        }
    }
    Ok(())
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.chars().take(10).collect()
}

/// Marks the findings the waivers cover, as of `today` (`YYYY-MM-DD`). A waived finding that does
/// not fail gets the mark too (the waiver may be stale); its summary says so only when it fails.
pub fn apply_waivers(findings: &mut [Finding], waivers: &[WaiverConfig], today: &str) {
    for finding in findings.iter_mut() {
        let Some(w) = waivers.iter().find(|w| w.check == finding.check_id) else {
            continue;
        };
        // ISO dates compare correctly as text; the waiver holds through its expiry day.
        let expired = w.expires.as_deref().is_some_and(|d| d < today);
        let bad = matches!(finding.outcome, Outcome::Fail | Outcome::Warn);
        if bad {
            let note = match (&w.expires, expired) {
                (Some(d), true) => format!(
                    " [waiver expired on {d}, so this counts again: {}]",
                    w.reason
                ),
                (Some(d), false) => format!(" [waived until {d}: {}]", w.reason),
                (None, _) => format!(" [waived: {}]", w.reason),
            };
            finding.summary.push_str(&note);
        }
        finding.waiver = Some(Waiver {
            reason: w.reason.clone(),
            expires: w.expires.clone(),
            expired,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, Severity};

    fn fail(id: &str) -> Finding {
        Finding {
            check_id: id.to_string(),
            title: id.to_string(),
            problem: None,
            category: Category::Security,
            severity: Severity::Critical,
            outcome: Outcome::Fail,
            score: 0.0,
            summary: "broken.".to_string(),
            evidence: vec![],
            remediation: String::new(),
            references: vec![],
            waiver: None,
        }
    }

    fn waiver(check: &str, expires: Option<&str>) -> WaiverConfig {
        WaiverConfig {
            check: check.to_string(),
            reason: "vendor fix due in Q4".to_string(),
            expires: expires.map(str::to_string),
        }
    }

    #[test]
    fn active_waiver_keeps_the_finding_but_not_the_failure() {
        let mut f = vec![fail("headers.csp"), fail("headers.hsts")];
        apply_waivers(
            &mut f,
            &[waiver("headers.csp", Some("2026-12-31"))],
            "2026-06-01",
        );
        assert!(f[0].is_waived() && !f[0].failed());
        assert!(f[0].summary.contains("waived until 2026-12-31: vendor fix"));
        assert!(f[1].failed() && f[1].waiver.is_none());
    }

    #[test]
    fn waiver_holds_on_its_expiry_day_and_expires_after() {
        let mut f = vec![fail("headers.csp")];
        apply_waivers(
            &mut f,
            &[waiver("headers.csp", Some("2026-12-31"))],
            "2026-12-31",
        );
        assert!(f[0].is_waived());
        let mut f = vec![fail("headers.csp")];
        apply_waivers(
            &mut f,
            &[waiver("headers.csp", Some("2026-12-31"))],
            "2027-01-01",
        );
        assert!(f[0].failed(), "an expired waiver turns the finding back on");
        assert!(f[0].summary.contains("waiver expired on 2026-12-31"));
        assert!(f[0].waiver.as_ref().unwrap().expired);
    }

    #[test]
    fn bad_dates_and_empty_reasons_are_named() {
        let bad = [WaiverConfig {
            expires: Some("31/12/2026".into()),
            ..waiver("headers.csp", None)
        }];
        let err = validate(&bad, "t.toml").unwrap_err().to_string();
        assert!(err.contains("waivers[0].expires"), "{err}");
        let bad = [WaiverConfig {
            reason: " ".into(),
            ..waiver("headers.csp", None)
        }];
        let err = validate(&bad, "t.toml").unwrap_err().to_string();
        assert!(err.contains("waivers[0].reason"), "{err}");
        assert!(is_iso_date("2026-02-28") && !is_iso_date("2026-13-01"));
    }
}
