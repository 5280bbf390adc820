//! Terminal renderer: the compact report `readyprobe audit` prints.
//!
//! Renderers never compute: the verdict, scores, bands and counts printed here come from the
//! [`Report`]; this module only orders, trims and colours them. ANSI colours are written only when
//! the caller asks (`color`), so a report piped into a file or a CI log stays plain text, and
//! control characters in text the target sent are shown as `\x..` so a hostile target cannot
//! drive the terminal through its evidence.

use std::fmt::{self, Write as _};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table};

use super::text::{one_line, with_waived};
use crate::model::{Band, Finding, Outcome, Report, Severity, Verdict};

/// Table width when the output is not a terminal (or its width is unknown).
const PLAIN_WIDTH: u16 = 100;

/// Evidence lines shown per gap; the rest are counted ("… N more").
const EVIDENCE_LINES: usize = 3;

/// Indentation of a gap's evidence and fix, under its first line.
const INDENT: &str = "      ";

/// Renders `report` for a terminal: header, verdict, category table, critical gaps and
/// improvements with their evidence and fix, then passes, skips and what could not be measured.
/// With `color == false` the output holds no ANSI escape sequence.
pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    // `fmt::Write` for `String` never fails; the `fmt::Result` only carries `?` through.
    let _ = write_report(&mut out, report, color);
    out
}

fn write_report(out: &mut String, r: &Report, color: bool) -> fmt::Result {
    writeln!(
        out,
        "readyprobe {} · {} · profile {} · {} · {} requests",
        one_line(&r.readyprobe_version),
        paint(&one_line(&r.target), "1", color),
        one_line(&r.profile),
        duration(r.duration_ms),
        r.requests_sent,
    )?;
    writeln!(out)?;

    let (emoji, code) = verdict_style(r.verdict);
    let second = with_waived(r.waived().len(), r.overall_score_with_waived)
        .map(|s| format!(" · {s}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{emoji} {}  {}{second}",
        paint(&format!(" {} ", r.verdict), code, color),
        paint(&score_text(r.overall_score, r.band), "1", color),
    )?;
    for reason in &r.verdict_reasons {
        writeln!(out, "   · {}", one_line(reason))?;
    }
    writeln!(out)?;

    writeln!(out, "{}", category_table(r, color))?;
    if r.categories.iter().any(|c| !c.complete) {
        writeln!(out, "* incomplete: some checks could not measure")?;
    }
    let waived: Vec<String> = r
        .categories
        .iter()
        .filter_map(|c| {
            with_waived(c.waived, c.score_with_waived).map(|s| format!("{} {s}", c.category))
        })
        .collect();
    if !waived.is_empty() {
        writeln!(
            out,
            "waived findings are left out of the scores: {}",
            waived.join("; ")
        )?;
    }
    writeln!(out)?;

    gaps(out, "🔴 Critical gaps", &r.critical_gaps(), color)?;
    gaps(out, "🟡 Improvements", &r.improvements(), color)?;
    tail(out, r, color)
}

/// The seven categories as an aligned table: score, band and counts.
fn category_table(r: &Report, color: bool) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if color {
        table.enforce_styling();
        table.style_text_only();
    } else {
        table.force_no_tty();
    }
    if table.width().is_none() {
        table.set_width(PLAIN_WIDTH);
    }
    table.set_header(vec![
        "Category", "Score", "Band", "Pass", "Warn", "Fail", "Error", "Skipped",
    ]);

    for c in &r.categories {
        let mut score = match c.score {
            Some(s) => format!("{s:.1}"),
            None => "not assessed".to_string(),
        };
        if !c.complete {
            score.push('*');
        }
        let mut score = Cell::new(score).set_alignment(CellAlignment::Right);
        let mut band = Cell::new(c.band.map_or("—", Band::name));
        if color {
            let tint = c.band.map_or(Color::DarkGrey, band_color);
            score = score.fg(tint);
            band = band.fg(tint);
        }
        let count = |n: usize, tint: Color| {
            let cell = Cell::new(n).set_alignment(CellAlignment::Right);
            if color && n > 0 { cell.fg(tint) } else { cell }
        };
        table.add_row(vec![
            Cell::new(c.category.name()),
            score,
            band,
            count(c.pass, Color::Green),
            count(c.warn, Color::Yellow),
            count(c.fail, Color::Red),
            count(c.error, Color::Magenta),
            count(c.skipped, Color::DarkGrey),
        ]);
    }
    table
}

/// Critical gaps or improvements: severity, outcome, the problem and the check id, then the
/// summary, up to three evidence lines and the fix.
fn gaps(out: &mut String, heading: &str, findings: &[&Finding], color: bool) -> fmt::Result {
    if findings.is_empty() {
        writeln!(out, "{}: none", paint(heading, "1", color))?;
        return writeln!(out);
    }
    writeln!(out, "{} ({})", paint(heading, "1", color), findings.len())?;
    for f in findings {
        writeln!(
            out,
            "  {} {}  {} ({})",
            paint(
                &format!("{:<8}", f.severity.as_str()),
                severity_code(f.severity),
                color
            ),
            f.outcome,
            paint(&one_line(f.headline()), "1", color),
            one_line(&f.check_id),
        )?;
        // A pack without a problem title is headed by its summary already.
        if f.headline() != f.summary {
            writeln!(out, "{INDENT}{}", one_line(&f.summary))?;
        }
        let lines: Vec<&str> = f.evidence.iter().flat_map(|e| e.lines()).collect();
        for line in lines.iter().take(EVIDENCE_LINES) {
            writeln!(out, "{INDENT}{}", paint(&one_line(line), "2", color))?;
        }
        if lines.len() > EVIDENCE_LINES {
            let more = format!("… {} more", lines.len() - EVIDENCE_LINES);
            writeln!(out, "{INDENT}{}", paint(&more, "2", color))?;
        }
        if !f.remediation.trim().is_empty() {
            writeln!(
                out,
                "{INDENT}{} {}",
                paint("fix:", "1;32", color),
                one_line(&f.remediation)
            )?;
        }
    }
    writeln!(out)
}

/// One line of passes and skips, then each check that could not measure, with its reason.
fn tail(out: &mut String, r: &Report, color: bool) -> fmt::Result {
    let skipped: Vec<String> = r
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Skipped)
        .map(|f| one_line(&f.check_id))
        .collect();
    let mut line = format!("✅ {} passed", r.passed().len());
    if skipped.is_empty() {
        line.push_str(" · nothing skipped");
    } else {
        let _ = write!(
            line,
            " · ⏭️ {} skipped ({})",
            skipped.len(),
            skipped.join(", ")
        );
    }
    writeln!(out, "{line}")?;

    let errors = r.errors();
    if !errors.is_empty() {
        writeln!(
            out,
            "{} ({})",
            paint("⚠️ Could not measure", "1;35", color),
            errors.len()
        )?;
        for f in errors {
            writeln!(
                out,
                "  {} — {}",
                paint(&one_line(&f.check_id), "1", color),
                one_line(&f.summary)
            )?;
        }
    }
    Ok(())
}

/// Wraps `text` in an ANSI SGR sequence when `color` is on; returns it unchanged otherwise.
fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The verdict's emoji and its badge colour: bold on red, yellow, cyan or green.
fn verdict_style(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::NoGo => ("🔴", "1;97;41"),
        Verdict::ConditionalGo => ("🟠", "1;30;43"),
        Verdict::GoWithObservations => ("🟡", "1;30;46"),
        Verdict::Go => ("✅", "1;30;42"),
    }
}

fn severity_code(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

fn band_color(band: Band) -> Color {
    match band {
        Band::Excellent => Color::Green,
        Band::Good => Color::Cyan,
        Band::NeedsWork => Color::Yellow,
        Band::Poor => Color::Red,
    }
}

/// `63.5/100 (Needs work)`, or "not assessed" when there is no score.
fn score_text(score: Option<f64>, band: Option<Band>) -> String {
    match (score, band) {
        (Some(s), Some(b)) => format!("{s:.1}/100 ({b})"),
        (Some(s), None) => format!("{s:.1}/100"),
        (None, _) => "not assessed".to_string(),
    }
}

/// `412 ms`, `12.3 s`, `2 min 5 s`.
fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1_000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Category;
    use crate::report::fixture::{PLANTED_SECRET, sample_report};

    #[test]
    fn plain_output_has_no_ansi() {
        let text = render(&sample_report(), false);
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn colored_output_has_ansi() {
        let text = render(&sample_report(), true);
        assert!(text.contains("\x1b[1;97;41m NO-GO \x1b[0m"), "{text}");
        assert!(text.contains("\x1b[1;31mcritical\x1b[0m"));
    }

    #[test]
    fn header_and_verdict_come_first() {
        let text = render(&sample_report(), false);
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "readyprobe 0.1.0 · https://staging.example.com · profile production · 12.3 s · 57 requests"
            )
        );
        assert_eq!(lines.next(), Some(""));
        assert_eq!(lines.next(), Some("🔴  NO-GO   52.4/100 (Needs work)"));
        assert_eq!(
            lines.next(),
            Some("   · critical check tls.certificate failed")
        );
    }

    #[test]
    fn category_table_has_seven_aligned_rows() {
        let text = render(&sample_report(), false);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| {
                Category::ALL
                    .iter()
                    .any(|c| l.starts_with(&format!("│ {}", c.name())))
            })
            .collect();
        assert_eq!(rows.len(), 7, "{text}");
        let width = rows[0].chars().count();
        assert!(rows.iter().all(|r| r.chars().count() == width), "{text}");
        assert!(width <= usize::from(PLAIN_WIDTH));
        let scalability = rows.iter().find(|r| r.contains("Scalability")).unwrap();
        assert!(scalability.contains("not assessed"));
        let performance = rows.iter().find(|r| r.contains("Performance")).unwrap();
        assert!(performance.contains("0.0*"));
        assert!(text.contains("* incomplete: some checks could not measure"));
    }

    #[test]
    fn gaps_show_three_evidence_lines_and_the_fix() {
        let text = render(&sample_report(), false);
        let critical = text.find("🔴 Critical gaps (2)").unwrap();
        let improvements = text.find("🟡 Improvements (2)").unwrap();
        assert!(critical < improvements);
        let block = &text[critical..improvements];
        assert!(block.contains(
            "  high     fail  A debug endpoint is exposed (exposure.debug_endpoint)\n      /debug answers 200 to anyone | stack traces and settings leak.\n"
        ));
        assert!(block.contains("      Authorization: ***\n"));
        assert!(block.contains("      body: `DEBUG = True` | `SECRET_KEY = ***`\n"));
        assert!(!block.contains("```python"), "only the first three lines");
        assert!(block.contains("      … 3 more\n"));
        assert!(block.contains(
            "      fix: Renew the certificate and automate renewal (ACME) with an expiry alert 14 days ahead.\n"
        ));
        assert!(text[improvements..].contains(
            "  medium   warn  Readiness does not check its dependencies (health.readiness_depth)\n"
        ));
        // Without a problem title the summary heads the gap, once.
        assert!(text[improvements..].contains(
            "  low      warn  A 404 comes back as HTML, not as a structured error body. (operational.error_format)\n      GET"
        ));
    }

    #[test]
    fn passes_skips_and_errors_close_the_report() {
        let text = render(&sample_report(), false);
        assert!(text.contains("✅ 4 passed · ⏭️ 1 skipped (scalability.burst_load)\n"));
        assert!(text.contains("⚠️ Could not measure (1)\n"));
        assert!(text.ends_with(
            "  performance.latency_p95 — Could not measure: every sample of GET / timed out after 10 s.\n"
        ));
    }

    #[test]
    fn planted_secret_never_appears() {
        for color in [false, true] {
            let text = render(&sample_report(), color);
            assert!(!text.contains(PLANTED_SECRET));
            assert!(!text.contains("hunter2"));
        }
    }

    #[test]
    fn target_escape_sequences_are_made_visible() {
        let mut report = sample_report();
        report.findings[0]
            .evidence
            .insert(0, "\x1b]0;pwned\x07".to_string());
        report.findings[0].summary = "expired\x1b[2J".to_string();
        let text = render(&report, false);
        assert!(!text.contains('\x1b') && !text.contains('\x07'));
        assert!(text.contains("\\x1b]0;pwned\\x07"));
        assert!(text.contains("expired\\x1b[2J"));
    }

    #[test]
    fn output_is_deterministic() {
        let report = sample_report();
        assert_eq!(render(&report, false), render(&report, false));
    }
}
