//! The HTML report: one self-contained file — inline CSS and SVG, no script, no network — with a
//! score gauge, category bars, findings grouped by severity with their evidence in `<details>`,
//! and a print stylesheet.
//!
//! Every string taken from the report is escaped with [`escape`] (target-supplied evidence can
//! hold anything, including `<script>`). Like every renderer it only formats: scores, bands,
//! verdicts and orderings come from the [`Report`].

use std::fmt::Write;

use crate::model::{Band, Finding, Outcome, Report, Severity, Verdict};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root{--go:#1a7f37;--obs:#4d7c0f;--cond:#b45309;--nogo:#b91c1c;--muted:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0;background:#fff}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta{color:var(--muted);font-size:13px}
.summary{display:flex;gap:28px;align-items:center;flex-wrap:wrap;margin-top:16px}
.summary>div:last-child{flex:1;min-width:320px}
.verdict{font-size:22px;font-weight:700;padding:6px 14px;border-radius:6px;color:#fff;display:inline-block}
.v-go{background:var(--go)}.v-obs{background:var(--obs)}.v-cond{background:var(--cond)}.v-nogo{background:var(--nogo)}
ul.reasons{margin:8px 0 0 18px;padding:0}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--bg)}
.sev{font-size:12px;font-weight:600;text-transform:uppercase;padding:1px 6px;border-radius:4px;color:#fff}
.s-critical{background:#7f1d1d}.s-high{background:#b91c1c}.s-medium{background:#b45309}.s-low{background:#4b5563}.s-info{background:#6b7280}
.o-pass{color:var(--go);font-weight:600}.o-warn{color:var(--cond);font-weight:600}.o-fail{color:var(--nogo);font-weight:600}.o-error{color:#7c3aed;font-weight:600}.o-skipped{color:var(--muted)}
.finding{border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:8px 0}
.finding .title{font-weight:600}
.waiver{background:#fff8c5;border-left:3px solid #d4a72c;padding:2px 8px;margin-top:6px;font-size:13px}
.waiver.expired{background:#ffebe9;border-color:var(--nogo)}
details{margin-top:6px}summary{cursor:pointer;color:var(--muted);font-size:13px}
pre{background:var(--bg);padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-word;font-size:12.5px;margin:6px 0}
.fix{font-size:14px;margin-top:4px}.refs{font-size:12px;color:var(--muted)}
.checklist li{margin:2px 0}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{
 body{font-size:11pt}main{max-width:none;padding:0}
 .finding,tr{break-inside:avoid}
 details::details-content{content-visibility:visible;display:block}
 details>summary{display:none}
 .verdict,.sev{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"#;

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Go => "v-go",
        Verdict::GoWithObservations => "v-obs",
        Verdict::ConditionalGo => "v-cond",
        Verdict::NoGo => "v-nogo",
    }
}

fn band_color(band: Option<Band>) -> &'static str {
    match band {
        Some(Band::Excellent) => "#1a7f37",
        Some(Band::Good) => "#4d7c0f",
        Some(Band::NeedsWork) => "#b45309",
        Some(Band::Poor) => "#b91c1c",
        None => "#8c959f",
    }
}

/// The score gauge: a 270° arc filled to the score.
fn gauge(score: Option<f64>, band: Option<Band>) -> String {
    let (cx, cy, r) = (90.0_f64, 90.0_f64, 70.0_f64);
    let point = |deg: f64| {
        let rad = deg.to_radians();
        (cx + r * rad.cos(), cy + r * rad.sin())
    };
    let arc = |from: f64, to: f64| {
        let (x1, y1) = point(from);
        let (x2, y2) = point(to);
        let large = if to - from > 180.0 { 1 } else { 0 };
        format!("M {x1:.2} {y1:.2} A {r} {r} 0 {large} 1 {x2:.2} {y2:.2}")
    };
    let start = 135.0;
    let track = arc(start, start + 270.0);
    let value = score.map(|s| s.clamp(0.0, 100.0)).unwrap_or(0.0);
    let fill = if value > 0.0 {
        format!(
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="16" stroke-linecap="round"/>"#,
            arc(start, start + 270.0 * value / 100.0 - 0.01),
            band_color(band)
        )
    } else {
        String::new()
    };
    let label = score.map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}"));
    let band_name = band.map_or("not assessed", Band::name);
    format!(
        r##"<svg class="gauge" width="180" height="170" viewBox="0 0 180 170" role="img" aria-label="overall score {label}">
<path d="{track}" fill="none" stroke="#e5e7eb" stroke-width="16" stroke-linecap="round"/>{fill}
<text x="90" y="96" text-anchor="middle" font-size="34" font-weight="700" fill="#1f2328">{label}</text>
<text x="90" y="122" text-anchor="middle" font-size="14" fill="#57606a">{band}</text>
<text x="90" y="160" text-anchor="middle" font-size="12" fill="#57606a">overall score / 100</text>
</svg>"##,
        band = escape(band_name)
    )
}

/// Horizontal bars, one per category.
fn category_bars(report: &Report) -> String {
    let row_h = 30;
    let height = row_h * report.categories.len() + 10;
    let mut svg = format!(
        r#"<svg class="bars" width="560" height="{height}" viewBox="0 0 560 {height}" role="img" aria-label="category scores">"#
    );
    for (i, c) in report.categories.iter().enumerate() {
        let y = 5 + i * row_h;
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="13" fill="#1f2328">{name}</text><rect x="180" y="{y}" width="300" height="18" rx="3" fill="#eef1f4"/>"##,
            ty = y + 14,
            name = escape(c.category.name())
        );
        match c.score {
            Some(score) => {
                let w = (300.0 * score.clamp(0.0, 100.0) / 100.0).round();
                let _ = write!(
                    svg,
                    r##"<rect x="180" y="{y}" width="{w}" height="18" rx="3" fill="{}"/><text x="490" y="{ty}" font-size="13" fill="#1f2328">{score:.1}{inc}</text>"##,
                    band_color(c.band),
                    ty = y + 14,
                    inc = if c.complete { "" } else { "*" }
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r##"<text x="490" y="{ty}" font-size="13" fill="#57606a">n/a</text>"##,
                    ty = y + 14
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

fn finding_block(out: &mut String, f: &Finding) {
    let _ = write!(
        out,
        r#"<div class="finding" id="{id}"><div><span class="sev s-{sev}">{sev}</span> <span class="o-{o}">{o}</span> <span class="title">{title}</span> <code>{id}</code></div><div>{summary}</div>"#,
        id = escape(&f.check_id),
        sev = f.severity.as_str(),
        o = f.outcome.as_str(),
        // A failing finding is headed by its problem, not by the check's goal.
        title = escape(f.headline()),
        summary = escape(&f.summary),
    );
    if let Some(w) = &f.waiver {
        let until = w
            .expires
            .as_deref()
            .map(|d| format!(" until {}", escape(d)))
            .unwrap_or_default();
        if w.expired {
            let _ = write!(
                out,
                r#"<div class="waiver expired">Waiver expired{} — this finding counts again. Reason was: {}</div>"#,
                w.expires
                    .as_deref()
                    .map(|d| format!(" on {}", escape(d)))
                    .unwrap_or_default(),
                escape(&w.reason)
            );
        } else {
            let _ = write!(
                out,
                r#"<div class="waiver">Waived{until}: {} — not counted in the verdict or gate.</div>"#,
                escape(&w.reason)
            );
        }
    }
    if !f.evidence.is_empty() {
        let _ = write!(
            out,
            "<details><summary>Evidence ({} line{})</summary><pre>",
            f.evidence.len(),
            if f.evidence.len() == 1 { "" } else { "s" }
        );
        for line in &f.evidence {
            out.push_str(&escape(line));
            out.push('\n');
        }
        out.push_str("</pre></details>");
    }
    if f.outcome != Outcome::Pass && !f.remediation.is_empty() {
        let _ = write!(
            out,
            r#"<div class="fix"><strong>Fix:</strong> {}</div>"#,
            escape(&f.remediation)
        );
    }
    if !f.references.is_empty() {
        let refs: Vec<String> = f.references.iter().map(|r| escape(r)).collect();
        let _ = write!(
            out,
            r#"<div class="refs">References: {}</div>"#,
            refs.join(" · ")
        );
    }
    out.push_str("</div>\n");
}

/// Renders the report as one self-contained HTML page.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>readyprobe: {target} — {verdict}</title><style>{CSS}</style></head><body><main>
<h1>Production readiness: {target}</h1>
<div class="meta">profile {profile} · started {started} · {secs:.1} s · {requests} requests · readyprobe {version}</div>
<section class="summary"><div>{gauge}</div><div><div class="verdict {vclass}">{verdict}</div><ul class="reasons">"#,
        target = escape(&report.target),
        verdict = escape(report.verdict.as_str()),
        profile = escape(&report.profile),
        started = escape(&report.started_at),
        secs = report.duration_ms as f64 / 1000.0,
        requests = report.requests_sent,
        version = escape(&report.readyprobe_version),
        gauge = gauge(report.overall_score, report.band),
        vclass = verdict_class(report.verdict),
    );
    for reason in &report.verdict_reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul>");
    if let Some(all) =
        super::text::with_waived(report.waived().len(), report.overall_score_with_waived)
    {
        let _ = write!(
            out,
            r#"<p class="waived">Overall score with waived findings left out; {}.</p>"#,
            escape(&all)
        );
    }
    out.push_str("</div></section>\n");

    out.push_str("<h2>Categories</h2>\n");
    out.push_str(&category_bars(report));
    out.push_str(
        "<table><thead><tr><th>Category</th><th>Score</th><th>Band</th><th>Pass</th><th>Warn</th><th>Fail</th><th>Error</th><th>Skipped</th></tr></thead><tbody>",
    );
    for c in &report.categories {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(c.category.name()),
            c.score.map_or_else(
                || "not assessed".to_string(),
                |s| format!(
                    "{s:.1}{}{}",
                    if c.complete { "" } else { " (incomplete)" },
                    super::text::with_waived(c.waived, c.score_with_waived)
                        .map(|w| format!(" ({})", escape(&w)))
                        .unwrap_or_default()
                )
            ),
            c.band.map_or("—", Band::name),
            c.pass,
            c.warn,
            c.fail,
            c.error,
            c.skipped
        );
    }
    out.push_str("</tbody></table>\n");

    let gaps = report.gaps();
    out.push_str("<h2>Findings by severity</h2>\n");
    if gaps.is_empty() {
        out.push_str("<p>No check failed or warned.</p>\n");
    }
    for severity in Severity::ALL {
        let in_sev: Vec<&&Finding> = gaps.iter().filter(|f| f.severity == severity).collect();
        if in_sev.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r#"<h3><span class="sev s-{s}">{s}</span> {n} finding{pl}</h3>"#,
            s = severity.as_str(),
            n = in_sev.len(),
            pl = if in_sev.len() == 1 { "" } else { "s" }
        );
        for f in in_sev {
            finding_block(&mut out, f);
        }
    }
    let errors = report.errors();
    if !errors.is_empty() {
        out.push_str("<h2>Could not measure</h2>\n");
        for f in errors {
            finding_block(&mut out, f);
        }
    }
    let passed = report.passed();
    if !passed.is_empty() {
        let _ = write!(
            out,
            "<h2>Production-ready signals ({})</h2>\n<details><summary>{} passed checks</summary>",
            passed.len(),
            passed.len()
        );
        for f in passed {
            finding_block(&mut out, f);
        }
        out.push_str("</details>\n");
    }

    out.push_str("<h2>Release checklist</h2>\n<div class=\"checklist\">");
    for (title, pred) in [
        (
            "Must do",
            &(|s: Severity| s >= Severity::High) as &dyn Fn(Severity) -> bool,
        ),
        ("Recommended", &|s: Severity| s == Severity::Medium),
        ("Nice to have", &|s: Severity| s <= Severity::Low),
    ] {
        let items: Vec<&&Finding> = gaps.iter().filter(|f| pred(f.severity)).collect();
        if items.is_empty() {
            continue;
        }
        let _ = write!(out, "<h3>{title}</h3><ul>");
        for f in items {
            let waived = if f.is_waived() { " (waived)" } else { "" };
            let _ = write!(
                out,
                "<li>☐ <code>{}</code>{waived} — {}</li>",
                escape(&f.check_id),
                escape(&f.remediation)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</div>\n");

    let skipped: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Skipped)
        .collect();
    out.push_str("<h2>Scope and method</h2>\n<ul>");
    for line in &report.scope {
        let _ = write!(out, "<li>{}</li>", escape(line));
    }
    out.push_str("</ul>\n");
    if !skipped.is_empty() {
        let _ = write!(
            out,
            "<details><summary>{} skipped check{}</summary><table><tbody>",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" }
        );
        for f in skipped {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape(&f.check_id),
                escape(&f.summary)
            );
        }
        out.push_str("</tbody></table></details>\n");
    }
    let _ = write!(
        out,
        "<footer>Every finding quotes what readyprobe observed; secrets are masked. Finished {}.</footer>\n</main></body></html>\n",
        escape(&report.finished_at)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture::{PLANTED_SECRET, sample_report};

    #[test]
    fn structure_is_self_contained() {
        let html = render(&sample_report());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert!(html.contains("<svg class=\"gauge\""));
        assert!(html.contains("<svg class=\"bars\""));
        assert!(html.contains("52.4"));
        assert!(html.contains("NO-GO"));
        assert!(html.contains("@media print"));
        assert!(html.contains("<details>"));
        // No network: no external resource of any kind.
        for needle in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
            assert!(!html.contains(needle), "{needle}");
        }
        let r = sample_report();
        let expected = r.gaps().len() + r.errors().len() + r.passed().len();
        assert_eq!(
            html.matches("<div class=\"finding\"").count(),
            expected,
            "gaps + errors + passes"
        );
    }

    #[test]
    fn everything_from_the_report_is_escaped() {
        let mut r = sample_report();
        r.target = "https://x/<script>alert(1)</script>".into();
        r.findings[1]
            .evidence
            .push("<img src=x onerror=alert(1)> & \"q\"".into());
        r.findings[1].problem = Some("<b>t</b>".into());
        let html = render(&r);
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img src=x"));
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;q&quot;"));
        assert!(html.contains("&lt;b&gt;t&lt;/b&gt;"));
        assert!(!html.contains(PLANTED_SECRET) && !html.contains("hunter2"));
    }

    #[test]
    fn failing_findings_are_headed_by_their_problem() {
        let html = render(&sample_report());
        assert!(html.contains(r#"<span class="title">The TLS certificate has expired</span>"#));
        assert!(!html.contains(r#"<span class="title">TLS certificate is valid</span>"#));
    }

    #[test]
    fn waivers_are_shown() {
        let mut r = sample_report();
        r.findings[1].waiver = Some(crate::model::Waiver {
            reason: "legacy admin, removed in v2".into(),
            expires: Some("2099-12-31".into()),
            expired: false,
        });
        r.findings[0].waiver = Some(crate::model::Waiver {
            reason: "old".into(),
            expires: Some("2020-01-01".into()),
            expired: true,
        });
        let html = render(&r);
        assert!(html.contains("Waived until 2099-12-31: legacy admin, removed in v2"));
        assert!(html.contains("Waiver expired on 2020-01-01 — this finding counts again"));
    }
}
