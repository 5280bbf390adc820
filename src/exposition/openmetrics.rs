//! OpenMetrics 1.0: single spaces between tokens, no blank lines, only `# TYPE`, `# HELP`,
//! `# UNIT` and the final `# EOF` as `#` lines, timestamps in (float) seconds, optional
//! exemplars after ` # `. An exposition without `# EOF` is truncated and invalid.
//! Reference: <https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md>.

use super::parser::Parser;
use super::tokens::{parse_value, sample_head, unescape_help};
use super::{Format, Sample};

/// Feeds every line of `body` to the parser.
pub(super) fn parse(p: &mut Parser<'_>, body: &str) {
    let mut eof_line: Option<usize> = None;
    let lines: Vec<&str> = body.split('\n').collect();
    let last = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let line_no = i + 1;
        if line.is_empty() && line_no == last && line_no > 1 {
            break; // the newline that ends the last line
        }
        if !p.next_line() {
            return;
        }
        if let Some(eof) = eof_line {
            p.error(line_no, format!("content after # EOF (line {eof})"));
            return;
        }
        if line.is_empty() {
            p.error(line_no, "blank line (not allowed in OpenMetrics)");
            continue;
        }
        if line == "# EOF" {
            eof_line = Some(line_no);
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            metadata(p, comment, line_no);
            continue;
        }
        if line.starts_with('#') {
            p.error(
                line_no,
                "comment lines other than # TYPE/HELP/UNIT/EOF are not allowed",
            );
            continue;
        }
        if !sample(p, line, line_no) {
            return;
        }
    }
    if eof_line.is_none() && !p.capped {
        p.error(0, "no # EOF at the end: the exposition is truncated");
    }
}

fn metadata(p: &mut Parser<'_>, comment: &str, line_no: usize) {
    let mut parts = comment.splitn(3, ' ');
    let keyword = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let rest = parts.next();
    if !matches!(keyword, "TYPE" | "HELP" | "UNIT") {
        p.error(line_no, format!("unknown metadata # {keyword}"));
        return;
    }
    if !super::is_metric_name(name) {
        p.error(
            line_no,
            format!("# {keyword}: invalid metric name {name:?}"),
        );
        return;
    }
    let Some(rest) = rest else {
        p.error(line_no, format!("# {keyword} {name}: missing value"));
        return;
    };
    match keyword {
        "TYPE" => p.set_type(name, rest, line_no),
        "UNIT" => {
            if !rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            {
                p.error(line_no, format!("# UNIT {name}: invalid unit {rest:?}"));
                return;
            }
            p.set_unit(name, rest.to_string(), line_no);
        }
        _ => match unescape_help(rest, Format::OpenMetrics) {
            Ok(help) => p.set_help(name, help, line_no),
            Err(m) => p.error(line_no, format!("# HELP {name}: {m}")),
        },
    }
}

/// Parses one sample line; false when a cap stops parsing.
fn sample(p: &mut Parser<'_>, line: &str, line_no: usize) -> bool {
    let (name, labels, rest) = match sample_head(line) {
        Ok(head) => head,
        Err(m) => {
            p.error(line_no, m.to_string());
            return true;
        }
    };
    // An exemplar follows " # ".
    let (rest, exemplar) = match rest.find(" # ") {
        Some(at) => (&rest[..at], Some(&rest[at + 3..])),
        None => (rest, None),
    };
    let Some(rest) = rest.strip_prefix(' ') else {
        p.error(
            line_no,
            format!("{name}: expected one space before the value"),
        );
        return true;
    };
    let mut tokens = rest.split(' ');
    let raw_value = tokens.next().unwrap_or_default();
    let Some(value) = parse_value(raw_value) else {
        p.error(
            line_no,
            format!("{name}: value {raw_value:?} is not a number"),
        );
        return true;
    };
    if let Some(ts) = tokens.next()
        && parse_value(ts).is_none_or(|t| !t.is_finite())
    {
        p.error(
            line_no,
            format!("{name}: timestamp {ts:?} is not a number of seconds"),
        );
        return true;
    }
    if tokens.next().is_some() {
        p.error(
            line_no,
            format!("{name}: unexpected text after the timestamp"),
        );
        return true;
    }
    if let Some(ex) = exemplar
        && sample_head(&format!("x{ex}")).is_err()
    {
        p.error(line_no, format!("{name}: malformed exemplar"));
    }
    p.add_sample(Sample {
        name: name.to_string(),
        labels,
        value,
        line: line_no,
    })
}
