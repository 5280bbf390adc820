//! Markdown renderer: the audit as GitHub-flavoured Markdown, fit for a CI job summary
//! (`$GITHUB_STEP_SUMMARY`), a pull-request comment or a file kept with the release.
//!
//! Renderers never compute: every score, band, verdict and reason printed here comes from the
//! [`Report`]; this module only orders, groups and escapes. Evidence and summaries can carry text
//! the target sent, so each is escaped for where it lands: evidence is fenced with a fence longer
//! than any backtick run in it, inline code is delimited the same way, `|` and newlines are
//! escaped in table cells, `<` is escaped in prose, and control characters are shown as `\x..`.
//! The output is deterministic: nothing in it comes from outside the report.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use super::text::{one_line, visible, with_waived};
use crate::model::{Band, Category, Finding, Outcome, Report, Severity, Verdict};

/// Renders `report` as GitHub-flavoured Markdown, in the order DESIGN.md gives for the report
/// people read: executive summary, category scores, production-ready signals, critical gaps and
/// improvements, what could not be measured, per-category details, the release checklist, and
/// scope and method.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    // `fmt::Write` for `String` never fails; the `fmt::Result` only carries `?` through.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, r: &Report) -> fmt::Result {
    summary(out, r)?;
    category_table(out, r)?;
    signals(out, r)?;
    gaps(
        out,
        "## 🔴 Critical gaps",
        &r.critical_gaps(),
        "No critical or high-severity check failed.",
    )?;
    gaps(
        out,
        "## 🟡 Improvements",
        &r.improvements(),
        "No other check failed or warned.",
    )?;
    unmeasured(out, r)?;
    details(out, r)?;
    checklist(out, r)?;
    scope(out, r)
}

/// 1. Title, verdict, overall score, the verdict's reasons and the three most important gaps.
fn summary(out: &mut String, r: &Report) -> fmt::Result {
    writeln!(out, "# Production readiness: {}", prose(&r.target))?;
    writeln!(out)?;
    let second = with_waived(r.waived().len(), r.overall_score_with_waived)
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    writeln!(
        out,
        "**Verdict: {} {}** · **Overall score: {}**{second}",
        verdict_emoji(r.verdict),
        r.verdict,
        score_text(r.overall_score, r.band),
    )?;
    writeln!(out)?;
    for reason in &r.verdict_reasons {
        writeln!(out, "- {}", prose(reason))?;
    }
    if !r.verdict_reasons.is_empty() {
        writeln!(out)?;
    }

    let top: Vec<&Finding> = r
        .critical_gaps()
        .into_iter()
        .chain(r.improvements())
        .take(3)
        .collect();
    if top.is_empty() {
        writeln!(
            out,
            "**Most important gaps:** none, no check failed or warned."
        )?;
    } else {
        writeln!(out, "**Most important gaps**")?;
        writeln!(out)?;
        for (i, f) in top.iter().enumerate() {
            let summary = if f.headline() == f.summary {
                String::new()
            } else {
                format!(": {}", prose(&f.summary))
            };
            writeln!(
                out,
                "{}. {} **{}** ({}, {}){summary}",
                i + 1,
                status_emoji(f.outcome),
                prose(f.headline()),
                inline_code(&f.check_id),
                f.severity,
            )?;
        }
    }
    writeln!(out)
}

/// 2. One row per category, in report order; `*` marks a score that is a lower bound.
fn category_table(out: &mut String, r: &Report) -> fmt::Result {
    writeln!(out, "## Category scores")?;
    writeln!(out)?;
    writeln!(
        out,
        "| Category | Score | Band | Pass | Warn | Fail | Error | Skipped |"
    )?;
    writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|")?;
    for c in &r.categories {
        let mut score = match c.score {
            Some(s) => format!("{s:.1}"),
            None => "not assessed".to_string(),
        };
        if !c.complete {
            score.push_str("\\*");
        }
        if let Some(all) = with_waived(c.waived, c.score_with_waived) {
            score.push_str(&format!(" ({all})"));
        }
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(c.category.name()),
            score,
            c.band.map_or("—", Band::name),
            c.pass,
            c.warn,
            c.fail,
            c.error,
            c.skipped,
        )?;
    }
    if r.categories.iter().any(|c| !c.complete) {
        writeln!(out)?;
        writeln!(out, "\\* incomplete: some checks could not measure")?;
    }
    writeln!(out)
}

/// 3. Passed checks, grouped by category, each with what was observed.
fn signals(out: &mut String, r: &Report) -> fmt::Result {
    writeln!(out, "## ✅ Production-ready signals")?;
    writeln!(out)?;
    let passed = r.passed();
    if passed.is_empty() {
        writeln!(out, "_No check passed._")?;
    }
    for category in Category::ALL {
        for f in passed.iter().filter(|f| f.category == category) {
            writeln!(
                out,
                "- **{}** — {}: {}",
                category,
                inline_code(&f.check_id),
                prose(&f.summary),
            )?;
            evidence_items(out, f)?;
        }
    }
    writeln!(out)
}

/// 4. Critical gaps or improvements: each finding with its evidence and its fix.
fn gaps(out: &mut String, heading: &str, findings: &[&Finding], none: &str) -> fmt::Result {
    writeln!(out, "{heading}")?;
    writeln!(out)?;
    if findings.is_empty() {
        writeln!(out, "_{none}_")?;
        return writeln!(out);
    }
    for f in findings {
        writeln!(
            out,
            "### {} ({}, {})",
            prose(f.headline()),
            inline_code(&f.check_id),
            f.severity,
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "{} · {} — {}",
            status(f.outcome),
            f.category,
            prose(&f.summary),
        )?;
        writeln!(out)?;
        if !f.evidence.is_empty() {
            fenced(out, &f.evidence)?;
            writeln!(out)?;
        }
        if !f.remediation.trim().is_empty() {
            writeln!(out, "**Fix:** {}", prose(&f.remediation))?;
            writeln!(out)?;
        }
        if !f.references.is_empty() {
            let refs: Vec<String> = f.references.iter().map(|s| prose(s)).collect();
            writeln!(out, "**References:** {}", refs.join(" · "))?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Checks that could not measure, with the reason each one gives. Left out when there are none.
fn unmeasured(out: &mut String, r: &Report) -> fmt::Result {
    let errors = r.errors();
    if errors.is_empty() {
        return Ok(());
    }
    writeln!(out, "## ⚠️ Could not measure")?;
    writeln!(out)?;
    writeln!(
        out,
        "These checks could not observe what they need; their categories are marked incomplete."
    )?;
    writeln!(out)?;
    for f in errors {
        writeln!(
            out,
            "- **{}** ({}, {}, {}): {}",
            prose(&f.title),
            inline_code(&f.check_id),
            f.category,
            f.severity,
            prose(&f.summary),
        )?;
        evidence_items(out, f)?;
    }
    writeln!(out)
}

/// 5. Every finding of each category as `Component | Status | Finding`.
fn details(out: &mut String, r: &Report) -> fmt::Result {
    writeln!(out, "## Details by category")?;
    writeln!(out)?;
    for c in &r.categories {
        let incomplete = if c.complete { "" } else { ", incomplete" };
        writeln!(
            out,
            "### {} — {}{}",
            c.category,
            score_text(c.score, c.band),
            incomplete,
        )?;
        writeln!(out)?;
        let findings = r.in_category(c.category);
        if findings.is_empty() {
            writeln!(out, "_No check ran in this category._")?;
            writeln!(out)?;
            continue;
        }
        writeln!(out, "| Component | Status | Finding |")?;
        writeln!(out, "|---|---|---|")?;
        for f in findings {
            writeln!(
                out,
                "| {} | {} | {} |",
                cell(&inline_code(&f.check_id)),
                status(f.outcome),
                cell(&f.summary),
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// 6. Failed and warned checks as to-dos, by severity: critical/high, medium, low/info.
fn checklist(out: &mut String, r: &Report) -> fmt::Result {
    writeln!(out, "## Release checklist")?;
    writeln!(out)?;
    let gaps = r.gaps();
    for (group, heading) in ["Must do", "Recommended", "Nice to have"]
        .iter()
        .enumerate()
    {
        writeln!(out, "### {heading}")?;
        writeln!(out)?;
        let items: Vec<&&Finding> = gaps
            .iter()
            .filter(|f| checklist_group(f.severity) == group)
            .collect();
        if items.is_empty() {
            writeln!(out, "_Nothing._")?;
        }
        for f in items {
            if f.remediation.trim().is_empty() {
                writeln!(out, "- [ ] {}", prose(f.headline()))?;
            } else {
                writeln!(
                    out,
                    "- [ ] {}: {}",
                    prose(f.headline()),
                    prose(&f.remediation)
                )?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Which checklist group a gap of `severity` goes in: Must do, Recommended, Nice to have.
fn checklist_group(severity: Severity) -> usize {
    match severity {
        Severity::Critical | Severity::High => 0,
        Severity::Medium => 1,
        Severity::Low | Severity::Info => 2,
    }
}

/// 7. What was probed, when, how long, how many requests, and which checks were skipped and why.
fn scope(out: &mut String, r: &Report) -> fmt::Result {
    writeln!(out, "## Scope and method")?;
    writeln!(out)?;
    writeln!(out, "- **Target:** {}", prose(&r.target))?;
    writeln!(out, "- **Profile:** {}", prose(&r.profile))?;
    writeln!(
        out,
        "- **Started:** {} (finished {})",
        prose(&r.started_at),
        prose(&r.finished_at),
    )?;
    writeln!(out, "- **Duration:** {}", duration(r.duration_ms))?;
    writeln!(out, "- **Requests sent:** {}", r.requests_sent)?;
    writeln!(
        out,
        "- **readyprobe version:** {}",
        prose(&r.readyprobe_version)
    )?;
    writeln!(out)?;

    if !r.scope.is_empty() {
        writeln!(out, "### What was probed")?;
        writeln!(out)?;
        for line in &r.scope {
            writeln!(out, "- {}", prose(line))?;
        }
        writeln!(out)?;
    }

    writeln!(out, "### Skipped checks")?;
    writeln!(out)?;
    let skipped: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Skipped)
        .collect();
    if skipped.is_empty() {
        writeln!(out, "_No check was skipped._")?;
    }
    for f in skipped {
        // The summary of a skipped finding is the reason it was skipped.
        writeln!(
            out,
            "- {} ({}, {}): {}",
            inline_code(&f.check_id),
            prose(&f.title),
            f.category,
            prose(&f.summary),
        )?;
        evidence_items(out, f)?;
    }
    Ok(())
}

/// A finding's evidence as nested list items of inline code, under a list item.
fn evidence_items(out: &mut String, f: &Finding) -> fmt::Result {
    for line in f.evidence.iter().flat_map(|e| e.lines()) {
        if !line.trim().is_empty() {
            writeln!(out, "  - {}", inline_code(line))?;
        }
    }
    Ok(())
}

/// Evidence as a fenced code block whose fence is longer than any backtick run inside it, so
/// no evidence line can close it early.
fn fenced(out: &mut String, evidence: &[String]) -> fmt::Result {
    let lines: Vec<Cow<'_, str>> = evidence
        .iter()
        .flat_map(|e| e.lines())
        .map(visible)
        .collect();
    let longest = lines.iter().map(|l| longest_backtick_run(l)).max();
    let fence = "`".repeat(longest.unwrap_or(0).max(2) + 1);
    writeln!(out, "{fence}text")?;
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    writeln!(out, "{fence}")
}

/// `s` as a code span: delimited by one more backtick than its longest run, padded with a space
/// when it starts or ends with a backtick (or with a space at both ends) so the padding that
/// CommonMark strips is ours, not the text's.
fn inline_code(s: &str) -> String {
    let s = one_line(s);
    let ticks = "`".repeat(longest_backtick_run(&s) + 1);
    let pad = if s.starts_with('`')
        || s.ends_with('`')
        || (s.starts_with(' ') && s.ends_with(' ') && !s.trim().is_empty())
    {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

/// Text for a table cell: prose, with `|` escaped and line breaks as `<br>`.
fn cell(s: &str) -> String {
    let lines: Vec<String> = s.lines().map(prose).collect();
    lines.join("<br>").replace('|', "\\|")
}

/// Text for a line of prose: on one line, control characters visible, and `<` escaped outside
/// code spans so text the target sent cannot open an HTML tag (code spans are literal already).
fn prose(s: &str) -> String {
    let chars: Vec<char> = one_line(s).chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = run_at(&chars, i);
            let end = match closing_run(&chars, i + run, run) {
                Some(close) => close + run,
                None => i + run,
            };
            out.extend(&chars[i..end]);
            i = end;
            continue;
        }
        match chars[i] {
            '<' => out.push_str("&lt;"),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Length of the backtick run starting at `i`.
fn run_at(chars: &[char], i: usize) -> usize {
    chars[i..].iter().take_while(|&&c| c == '`').count()
}

/// Where the next backtick run of exactly `len` starts, from `from` on (a code span's end).
fn closing_run(chars: &[char], from: usize, len: usize) -> Option<usize> {
    let mut j = from;
    while j < chars.len() {
        if chars[j] == '`' {
            let run = run_at(chars, j);
            if run == len {
                return Some(j);
            }
            j += run;
        } else {
            j += 1;
        }
    }
    None
}

fn longest_backtick_run(s: &str) -> usize {
    let mut longest = 0;
    let mut current = 0;
    for c in s.chars() {
        if c == '`' {
            current += 1;
            longest = longest.max(current);
        } else {
            current = 0;
        }
    }
    longest
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

fn verdict_emoji(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::NoGo => "🔴",
        Verdict::ConditionalGo => "🟠",
        Verdict::GoWithObservations => "🟡",
        Verdict::Go => "✅",
    }
}

fn status_emoji(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "✅",
        Outcome::Warn => "🟡",
        Outcome::Fail => "🔴",
        Outcome::Error => "⚠️",
        Outcome::Skipped => "⏭️",
    }
}

/// `✅ pass`, `🔴 fail`, …
fn status(outcome: Outcome) -> String {
    format!("{} {}", status_emoji(outcome), outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{PLANTED_SECRET, sample_report};

    /// The text from `heading` (a whole line) up to the next heading of the same or higher level.
    fn section<'a>(md: &'a str, heading: &str) -> &'a str {
        let level = heading.chars().take_while(|&c| c == '#').count();
        let start = md
            .find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("missing heading {heading:?} in\n{md}"))
            + 1;
        let mut offset = start + heading.len() + 1;
        for line in md[offset..].split_inclusive('\n') {
            let hashes = line.chars().take_while(|&c| c == '#').count();
            if hashes > 0 && hashes <= level && line[hashes..].starts_with(' ') {
                return &md[start..offset];
            }
            offset += line.len();
        }
        &md[start..]
    }

    #[test]
    fn sections_follow_design_order() {
        let md = render(&sample_report());
        let headings = [
            "# Production readiness: https://staging.example.com",
            "## Category scores",
            "## ✅ Production-ready signals",
            "## 🔴 Critical gaps",
            "## 🟡 Improvements",
            "## ⚠️ Could not measure",
            "## Details by category",
            "## Release checklist",
            "### Must do",
            "### Recommended",
            "### Nice to have",
            "## Scope and method",
        ];
        let mut last = 0;
        for h in headings {
            let at = md
                .lines()
                .position(|l| l == h)
                .unwrap_or_else(|| panic!("missing heading {h:?} in\n{md}"));
            assert!(at >= last, "{h:?} is out of order");
            last = at;
        }
        assert!(md.starts_with("# Production readiness: "));
    }

    #[test]
    fn summary_shows_verdict_score_reasons_and_top_three_gaps() {
        let md = render(&sample_report());
        let summary = &md[..md.find("## Category scores").unwrap()];
        assert!(summary.contains("**Verdict: 🔴 NO-GO**"));
        assert!(summary.contains("52.4/100 (Needs work)"));
        assert!(summary.contains("- critical check tls.certificate failed"));
        let first = summary
            .find("1. 🔴 **The TLS certificate has expired** (`tls.certificate`, critical): ")
            .unwrap();
        let second = summary
            .find("2. 🔴 **A debug endpoint is exposed**")
            .unwrap();
        let third = summary
            .find("3. 🟡 **Readiness does not check its dependencies**")
            .unwrap();
        assert!(first < second && second < third);
        assert!(!summary.contains("4. "), "only three gaps:\n{summary}");
    }

    #[test]
    fn category_table_has_a_row_per_category() {
        let md = render(&sample_report());
        let table: Vec<&str> = section(&md, "## Category scores")
            .lines()
            .filter(|l| l.starts_with('|'))
            .collect();
        assert_eq!(
            table[0],
            "| Category | Score | Band | Pass | Warn | Fail | Error | Skipped |"
        );
        assert_eq!(table.len(), 2 + 7, "header, separator, 7 rows:\n{md}");
        for (row, category) in table[2..].iter().zip(Category::ALL) {
            assert!(
                row.starts_with(&format!("| {} |", category.name())),
                "{row}"
            );
        }
    }

    #[test]
    fn unassessed_category_says_so_and_incomplete_one_is_starred() {
        let md = render(&sample_report());
        let table = section(&md, "## Category scores");
        assert!(table.contains("| Scalability | not assessed | — | 0 | 0 | 0 | 0 | 1 |"));
        assert!(table.contains("| Performance | 0.0\\* | Poor | 0 | 0 | 0 | 1 | 0 |"));
        assert!(table.contains("\\* incomplete: some checks could not measure"));
        assert!(md.contains("### Scalability — not assessed"));
        assert!(md.contains("### Performance — 0.0/100 (Poor), incomplete"));
    }

    #[test]
    fn pipes_and_newlines_in_cells_are_escaped() {
        let mut report = sample_report();
        report.findings[2].summary = "first line\nsecond | line".to_string();
        let md = render(&report);
        let row = md
            .lines()
            .find(|l| l.starts_with("| `exposure.debug_endpoint` |"))
            .unwrap();
        assert_eq!(
            row,
            "| `exposure.debug_endpoint` | 🔴 fail | /debug answers 200 to anyone \\| stack traces and settings leak. |"
        );
        assert!(md.contains("| first line<br>second \\| line |"));
        for row in md.lines().filter(|l| l.starts_with("| `")) {
            let unescaped = row
                .match_indices('|')
                .filter(|(i, _)| !row[..*i].ends_with('\\'));
            assert_eq!(unescaped.count(), 4, "{row}");
        }
    }

    #[test]
    fn evidence_fence_is_longer_than_any_backtick_run() {
        let md = render(&sample_report());
        let gap = section(
            &md,
            "### A debug endpoint is exposed (`exposure.debug_endpoint`, high)",
        );
        assert!(gap.contains("\n````text\n"), "{gap}");
        assert!(gap.contains("\n```python\n"));
        assert!(gap.contains("\n````\n"));
        assert!(gap.contains("**Fix:** Disable the debug page"));
        assert!(gap.contains("**References:** https://owasp.org/"));
        let plain = section(
            &md,
            "### The TLS certificate has expired (`tls.certificate`, critical)",
        );
        assert!(plain.contains("\n```text\n"), "{plain}");
    }

    #[test]
    fn every_evidence_line_appears() {
        let report = sample_report();
        let md = render(&report);
        for f in &report.findings {
            for line in &f.evidence {
                assert!(md.contains(line.as_str()), "missing evidence {line:?}");
            }
        }
    }

    #[test]
    fn checklist_puts_items_by_severity() {
        let md = render(&sample_report());
        let must = section(&md, "### Must do");
        assert!(must.contains(
            "- [ ] The TLS certificate has expired: Renew the certificate and automate renewal"
        ));
        assert!(must.contains("- [ ] A debug endpoint is exposed: Disable"));
        let recommended = section(&md, "### Recommended");
        assert!(recommended.contains("- [ ] Readiness does not check its dependencies: "));
        assert!(!recommended.contains("TLS certificate"));
        let nice = section(&md, "### Nice to have");
        // No problem title: the summary heads it.
        assert!(nice.contains("- [ ] A 404 comes back as HTML, not as a structured error body.: "));
        assert_eq!(md.matches("- [ ] ").count(), 4, "only fails and warns");
    }

    #[test]
    fn passes_errors_and_skips_are_reported_with_reasons() {
        let md = render(&sample_report());
        let signals = section(&md, "## ✅ Production-ready signals");
        assert!(signals.contains(
            "- **Security** — `headers.x_content_type_options`: X-Content-Type-Options: nosniff"
        ));
        assert!(signals.contains("- **Reliability & Recovery** — `reliability.redis_persistence`"));
        let errors = section(&md, "## ⚠️ Could not measure");
        assert!(errors.contains("every sample of GET / timed out after 10 s"));
        let scope = section(&md, "## Scope and method");
        assert!(scope.contains("- **Requests sent:** 57"));
        assert!(scope.contains("- **Duration:** 12.3 s"));
        assert!(scope.contains("- **readyprobe version:** 0.1.0"));
        assert!(
            scope.contains("- Load and fault-injection probes left out by the production profile")
        );
        assert!(scope.contains(
            "- `scalability.burst_load` (Handles a burst of load, Scalability): The production profile leaves out load probes."
        ));
    }

    #[test]
    fn planted_secret_never_appears() {
        let md = render(&sample_report());
        assert!(!md.contains(PLANTED_SECRET));
        assert!(!md.contains("hunter2"));
        assert!(md.contains("Authorization: ***"));
    }

    #[test]
    fn target_text_cannot_open_html_or_drive_a_terminal() {
        let mut report = sample_report();
        report.findings[0].summary = "Server says <script>alert(1)</script> in `<b>`".to_string();
        report.findings[0]
            .evidence
            .push("\x1b[31mred\x07".to_string());
        let md = render(&report);
        assert!(md.contains("Server says &lt;script>alert(1)&lt;/script> in `<b>`"));
        assert!(!md.contains('\x1b') && !md.contains('\x07'));
        assert!(md.contains("\\x1b[31mred\\x07"));
    }

    #[test]
    fn inline_code_outlasts_backticks() {
        assert_eq!(inline_code("plain"), "`plain`");
        assert_eq!(inline_code("a `b` c"), "``a `b` c``");
        assert_eq!(inline_code("`edge`"), "`` `edge` ``");
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(render(&sample_report()), render(&sample_report()));
    }
}
