//! Prometheus text exposition format (0.0.4): for node_exporter's textfile collector
//! (`--format prometheus`) and for `readyprobe serve`'s `/probe` answer.
//!
//! Metric families (each with `# HELP` and `# TYPE`):
//! - `readyprobe_check_outcome{check,category,severity,outcome}`: 1 for the check's outcome, 0 for
//!   the four others, so `readyprobe_check_outcome{outcome="fail"} == 1` alerts on failures;
//! - `readyprobe_check_score{check,category,severity}` 0–1, `readyprobe_check_waived{check}`;
//! - `readyprobe_category_score{category}` 0–100 (assessed categories only — "not assessed" is
//!   an absent series, never 100);
//! - `readyprobe_ready` 1/0: did the readiness endpoint say ready now (`health.ready_now`; absent
//!   when no readiness endpoint was judged), `readyprobe_ready_component{component,state}` 1/0 per
//!   component its body lists (0 = failing), `readyprobe_wait_ready_seconds` (with `--wait-ready`);
//! - `readyprobe_overall_score`, `readyprobe_verdict{verdict}` (1 for the verdict, 0 otherwise),
//!   `readyprobe_probe_duration_seconds`, `readyprobe_requests_sent`, `readyprobe_probe_success`,
//!   `readyprobe_info{version,profile}`.
//!
//! With a target label (the textfile collector, where several targets' files share one scrape)
//! every series also carries `target="…"`; `serve` leaves it out because Prometheus adds the
//! target as `instance` through relabelling, as with blackbox_exporter.

use std::fmt::Write;

use crate::model::{Outcome, Report, Verdict};

/// Options of the Prometheus rendering.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Whether the target answered at all (`readyprobe_probe_success`); `None` leaves it out.
    pub success: Option<bool>,
    /// Add `target="…"` to every series.
    pub target_label: bool,
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Writer<'a> {
    out: String,
    base: &'a str,
}

impl Writer<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let mut all: Vec<String> = Vec::new();
        if !self.base.is_empty() {
            all.push(self.base.to_string());
        }
        for (k, v) in labels {
            all.push(format!("{k}=\"{}\"", escape_label(v)));
        }
        let value = if value.is_finite() {
            format!("{value}")
        } else {
            "NaN".to_string()
        };
        if all.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{}}} {value}", all.join(","));
        }
    }
}

const OUTCOMES: [Outcome; 5] = [
    Outcome::Pass,
    Outcome::Warn,
    Outcome::Fail,
    Outcome::Error,
    Outcome::Skipped,
];

const VERDICTS: [Verdict; 4] = [
    Verdict::Go,
    Verdict::GoWithObservations,
    Verdict::ConditionalGo,
    Verdict::NoGo,
];

/// Renders the report as Prometheus text.
pub fn render(report: &Report, opts: Options) -> String {
    let base = if opts.target_label {
        format!("target=\"{}\"", escape_label(&report.target))
    } else {
        String::new()
    };
    let mut w = Writer {
        out: String::new(),
        base: &base,
    };
    w.family(
        "readyprobe_info",
        "gauge",
        "readyprobe version and profile of the audit (always 1).",
    );
    w.sample(
        "readyprobe_info",
        &[
            ("version", &report.readyprobe_version),
            ("profile", &report.profile),
        ],
        1.0,
    );
    if let Some(success) = opts.success {
        w.family(
            "readyprobe_probe_success",
            "gauge",
            "1 when the target answered at all, 0 when it could not be reached.",
        );
        w.sample(
            "readyprobe_probe_success",
            &[],
            if success { 1.0 } else { 0.0 },
        );
    }
    w.family(
        "readyprobe_probe_duration_seconds",
        "gauge",
        "Wall time of the audit in seconds.",
    );
    w.sample(
        "readyprobe_probe_duration_seconds",
        &[],
        report.duration_ms as f64 / 1000.0,
    );
    w.family(
        "readyprobe_requests_sent",
        "gauge",
        "Requests the audit sent to the target and its dependencies.",
    );
    w.sample("readyprobe_requests_sent", &[], report.requests_sent as f64);
    if let Some(score) = report.overall_score {
        w.family(
            "readyprobe_overall_score",
            "gauge",
            "Overall readiness score, 0-100.",
        );
        w.sample("readyprobe_overall_score", &[], score);
    }
    w.family(
        "readyprobe_verdict",
        "gauge",
        "The release verdict: 1 for the verdict reached, 0 for the others.",
    );
    for v in VERDICTS {
        w.sample(
            "readyprobe_verdict",
            &[("verdict", v.as_str())],
            if v == report.verdict { 1.0 } else { 0.0 },
        );
    }
    if let Some(r) = &report.readiness {
        w.family(
            "readyprobe_ready",
            "gauge",
            "1 when the readiness endpoint said ready now (health.ready_now pass or warn), 0 when not ready.",
        );
        w.sample("readyprobe_ready", &[], if r.ready { 1.0 } else { 0.0 });
        if !r.components.is_empty() {
            w.family(
                "readyprobe_ready_component",
                "gauge",
                "Each component the readiness body lists: 0 when it fails, 1 otherwise; state as the body states it.",
            );
            for c in &r.components {
                w.sample(
                    "readyprobe_ready_component",
                    &[("component", &c.name), ("state", &c.state)],
                    if c.state == "fail" { 0.0 } else { 1.0 },
                );
            }
        }
    }
    if let Some(wait) = &report.wait_ready {
        w.family(
            "readyprobe_wait_ready_seconds",
            "gauge",
            "Time --wait-ready waited before the audit: until the target was ready, or the whole budget when it never was.",
        );
        w.sample(
            "readyprobe_wait_ready_seconds",
            &[],
            wait.waited_ms as f64 / 1000.0,
        );
    }
    w.family(
        "readyprobe_category_score",
        "gauge",
        "Category score, 0-100; absent when the category was not assessed.",
    );
    for c in &report.categories {
        if let Some(score) = c.score {
            w.sample(
                "readyprobe_category_score",
                &[("category", c.category.key())],
                score,
            );
        }
    }
    w.family(
        "readyprobe_check_outcome",
        "gauge",
        "Outcome of each check: 1 for the outcome reached, 0 for the others.",
    );
    for f in &report.findings {
        for o in OUTCOMES {
            w.sample(
                "readyprobe_check_outcome",
                &[
                    ("check", &f.check_id),
                    ("category", f.category.key()),
                    ("severity", f.severity.as_str()),
                    ("outcome", o.as_str()),
                ],
                if o == f.outcome { 1.0 } else { 0.0 },
            );
        }
    }
    w.family(
        "readyprobe_check_score",
        "gauge",
        "Score of each check that ran, 0-1 (skipped checks are absent).",
    );
    for f in report
        .findings
        .iter()
        .filter(|f| f.outcome != Outcome::Skipped)
    {
        let score = if f.outcome == Outcome::Error {
            0.0
        } else {
            f.score
        };
        w.sample(
            "readyprobe_check_score",
            &[
                ("check", &f.check_id),
                ("category", f.category.key()),
                ("severity", f.severity.as_str()),
            ],
            score,
        );
    }
    let waived: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .collect();
    if !waived.is_empty() {
        w.family(
            "readyprobe_check_waived",
            "gauge",
            "1 when a waiver covers the check and is active, 0 when it has expired.",
        );
        for f in waived {
            w.sample(
                "readyprobe_check_waived",
                &[("check", &f.check_id)],
                if f.is_waived() { 1.0 } else { 0.0 },
            );
        }
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{PLANTED_SECRET, sample_report};

    #[test]
    fn every_family_is_typed_and_every_sample_parses() {
        let text = render(
            &sample_report(),
            Options {
                success: Some(true),
                target_label: true,
            },
        );
        assert!(
            text.contains("readyprobe_overall_score{target=\"https://staging.example.com\"} 52.4"),
            "{text}"
        );
        assert!(
            text.contains(
                "readyprobe_verdict{target=\"https://staging.example.com\",verdict=\"NO-GO\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("readyprobe_probe_success{target=\"https://staging.example.com\"} 1")
        );
        assert!(text.contains("check=\"tls.certificate\",category=\"security\",severity=\"critical\",outcome=\"fail\"} 1"), "{text}");
        assert!(
            text.contains("readyprobe_ready{target=\"https://staging.example.com\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("readyprobe_ready_component{target=\"https://staging.example.com\",component=\"database:connection\",state=\"fail\"} 0"),
            "{text}"
        );
        assert!(text.contains(
            "readyprobe_wait_ready_seconds{target=\"https://staging.example.com\"} 3.25"
        ));
        // Scalability was not assessed: no series, never 100.
        assert!(!text.contains("category=\"scalability\"} "), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(series.starts_with("readyprobe_"), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} gauge")), "{name}");
        }
        assert!(!text.contains(PLANTED_SECRET) && !text.contains("hunter2"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut r = sample_report();
        r.target = "https://x/\"quoted\"".into();
        let text = render(
            &r,
            Options {
                success: None,
                target_label: true,
            },
        );
        assert!(
            text.contains("target=\"https://x/\\\"quoted\\\"\""),
            "{text}"
        );
        assert!(!text.contains("readyprobe_probe_success"));
    }
}
