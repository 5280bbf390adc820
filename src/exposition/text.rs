//! Prometheus text format 0.0.4: lines separated by `\n`, blanks and tabs between tokens,
//! `# HELP`/`# TYPE` metadata, other `#` lines are comments, timestamps are integer
//! milliseconds. Reference: <https://prometheus.io/docs/instrumenting/exposition_formats/>.

use super::parser::Parser;
use super::tokens::{parse_value, sample_head, unescape_help};
use super::{Format, Sample};

/// Feeds every line of `body` to the parser.
pub(super) fn parse(p: &mut Parser<'_>, body: &str) {
    let lines: Vec<&str> = body.split('\n').collect();
    let last = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let line_no = i + 1;
        // The final empty string after a trailing newline is not a line.
        if raw.is_empty() && line_no > 1 && line_no == last {
            break;
        }
        if !p.next_line() {
            return;
        }
        let line = raw.trim_start_matches([' ', '\t']);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            metadata(p, comment, line_no);
            continue;
        }
        if !sample(p, line, line_no) {
            return;
        }
    }
}

fn metadata(p: &mut Parser<'_>, comment: &str, line_no: usize) {
    let rest = comment.trim_start_matches([' ', '\t']);
    let (keyword, rest) = split_token(rest);
    if keyword != "HELP" && keyword != "TYPE" {
        return; // an ordinary comment
    }
    let (name, rest) = split_token(rest);
    if !super::is_metric_name(name) {
        p.error(
            line_no,
            format!("# {keyword}: invalid metric name {name:?}"),
        );
        return;
    }
    if keyword == "HELP" {
        let help = match unescape_help(rest, Format::Text) {
            Ok(help) => help,
            Err(m) => {
                p.error(line_no, format!("# HELP {name}: {m}"));
                return;
            }
        };
        p.set_help(name, help, line_no);
    } else {
        let (word, extra) = split_token(rest);
        if !extra.trim().is_empty() {
            p.error(
                line_no,
                format!("# TYPE {name}: unexpected text after the type"),
            );
            return;
        }
        p.set_type(name, word, line_no);
    }
}

/// The first blank-separated token and what follows it (leading blanks removed).
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches([' ', '\t']);
    match s.find([' ', '\t']) {
        Some(at) => (&s[..at], s[at..].trim_start_matches([' ', '\t'])),
        None => (s, ""),
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
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        p.error(
            line_no,
            format!("{name}: expected a blank before the value"),
        );
        return true;
    }
    let mut tokens = rest.split([' ', '\t']).filter(|t| !t.is_empty());
    let Some(raw_value) = tokens.next() else {
        p.error(line_no, format!("{name}: no value"));
        return true;
    };
    let Some(value) = parse_value(raw_value) else {
        p.error(
            line_no,
            format!("{name}: value {raw_value:?} is not a number"),
        );
        return true;
    };
    if let Some(ts) = tokens.next()
        && ts.parse::<i64>().is_err()
    {
        p.error(
            line_no,
            format!("{name}: timestamp {ts:?} is not an integer of milliseconds"),
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
    p.add_sample(Sample {
        name: name.to_string(),
        labels,
        value,
        line: line_no,
    })
}
