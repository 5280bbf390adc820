//! The fleet's summary table, written row by row.
//!
//! Same layout as comfy-table's `UTF8_FULL_CONDENSED` preset (which the single-target output
//! still uses), drawn here because a fleet can be 10,000 rows: comfy-table keeps every cell
//! and builds the whole table as one string, which at that size was the run's largest
//! allocation (a late RSS peak of ~15 MB). Here each row's cells are formatted twice (once
//! to measure the columns, once to write), never all held at once.

use std::io::{self, Write};

use unicode_width::UnicodeWidthStr;

use super::MemberResult;

/// The column headers.
const HEADER: [&str; 9] = [
    "line", "target", "verdict", "score", "fail", "error", "requests", "exit", "notes",
];

/// One row's cells.
fn cells(r: &MemberResult) -> [String; 9] {
    let (verdict, score, fails, errors, requests) = match &r.summary {
        Some(sum) => (
            sum.verdict.clone(),
            sum.score
                .map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}")),
            sum.failed.to_string(),
            sum.errors.to_string(),
            sum.requests.to_string(),
        ),
        None => Default::default(),
    };
    let dash = |s: String| {
        if r.summary.is_some() {
            s
        } else {
            "—".to_string()
        }
    };
    [
        r.line.to_string(),
        r.target.clone(),
        dash(verdict),
        dash(score),
        dash(fails),
        dash(errors),
        dash(requests),
        r.code.to_string(),
        crate::report::text::one_line(&r.notes.join("; ")),
    ]
}

/// Writes the table of `results` to `out`.
pub fn write(results: &[MemberResult], out: &mut impl Write) -> io::Result<()> {
    let mut widths = HEADER.map(UnicodeWidthStr::width);
    for r in results {
        for (w, cell) in widths.iter_mut().zip(cells(r).iter()) {
            *w = (*w).max(cell.width());
        }
    }
    rule(out, &widths, ('┌', '┬', '┐'), '─')?;
    row(out, &widths, &HEADER)?;
    rule(out, &widths, ('╞', '╪', '╡'), '═')?;
    for r in results {
        row(out, &widths, &cells(r))?;
    }
    rule(out, &widths, ('└', '┴', '┘'), '─')
}

/// The table as a string (small fleets, tests).
pub fn to_string(results: &[MemberResult]) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(results, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn rule(
    out: &mut impl Write,
    widths: &[usize],
    (left, cross, right): (char, char, char),
    line: char,
) -> io::Result<()> {
    let mut s = String::new();
    s.push(left);
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            s.push(cross);
        }
        s.extend(std::iter::repeat_n(line, w + 2));
    }
    s.push(right);
    writeln!(out, "{s}")
}

fn row<S: AsRef<str>>(out: &mut impl Write, widths: &[usize], cells: &[S]) -> io::Result<()> {
    let mut s = String::from("│");
    for (i, (w, cell)) in widths.iter().zip(cells).enumerate() {
        if i > 0 {
            s.push('┆');
        }
        let cell = cell.as_ref();
        s.push(' ');
        s.push_str(cell);
        s.extend(std::iter::repeat_n(' ', w - cell.width() + 1));
    }
    s.push('│');
    writeln!(out, "{s}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::MemberSummary;

    fn member(
        line: usize,
        target: &str,
        summary: Option<MemberSummary>,
        notes: &[&str],
    ) -> MemberResult {
        MemberResult {
            line,
            target: target.to_string(),
            report: None,
            summary,
            code: if notes.is_empty() { 0 } else { 3 },
            notes: notes.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The table is the one comfy-table drew before (same preset), so scripts that read it
    /// keep working.
    #[test]
    fn matches_comfy_tables_utf8_full_condensed() {
        let results = vec![
            member(
                1,
                "https://a.example/",
                Some(MemberSummary {
                    verdict: "GO".into(),
                    score: Some(97.25),
                    failed: 0,
                    errors: 0,
                    requests: 64,
                }),
                &[],
            ),
            member(
                3,
                "http://b.example:8080/ü",
                None,
                &["could not be reached\nat all"],
            ),
        ];
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
            .set_header(HEADER);
        for r in &results {
            table.add_row(cells(r));
        }
        assert_eq!(to_string(&results), format!("{table}\n"));
        assert!(
            to_string(&results).contains("┆ —  "),
            "{}",
            to_string(&results)
        );
    }
}
