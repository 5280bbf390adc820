//! The lexical pieces both grammars share: the `name{labels}` head of a sample line, quoted
//! label values, HELP escapes and sample values, with typed errors saying what broke.

use super::{Format, is_label_name, is_metric_name};
use crate::text::clip;

/// A sample line's name, labels and the rest of the line.
pub(super) type SampleHead<'a> = (&'a str, Vec<(String, String)>, &'a str);

/// Why the `name{labels}` head of a sample line could not be read; the message becomes the
/// line's [`super::Problem`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum HeadError {
    /// The line does not start with a metric name.
    #[error("not a sample line: {shown:?} does not start with a metric name")]
    NoMetricName {
        /// The start of the line (40 characters at most).
        shown: String,
    },
    /// A label name is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("{metric}: invalid label name near {near:?}")]
    LabelName {
        /// The sample's metric name.
        metric: String,
        /// The text where the label name should be (20 characters at most).
        near: String,
    },
    /// A label name without `=` after it.
    #[error("{metric}: expected = after label {label}")]
    NoEquals {
        /// The sample's metric name.
        metric: String,
        /// The label.
        label: String,
    },
    /// A label value without its opening quote.
    #[error("{metric}: label {label} value is not quoted")]
    Unquoted {
        /// The sample's metric name.
        metric: String,
        /// The label.
        label: String,
    },
    /// A quoted label value that does not read.
    #[error("{metric}: label {label}: {error}")]
    Value {
        /// The sample's metric name.
        metric: String,
        /// The label.
        label: String,
        /// What is wrong inside the quotes.
        error: EscapeError,
    },
    /// Something other than `,` or `}` after a label value.
    #[error("{metric}: expected , or }} after label {label}")]
    NoSeparator {
        /// The sample's metric name.
        metric: String,
        /// The label.
        label: String,
    },
}

/// Why a quoted label value or a HELP text does not unescape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum EscapeError {
    /// A backslash before a character the format does not escape.
    #[error("invalid escape \\{0}")]
    Invalid(char),
    /// A label value without its closing quote.
    #[error("unterminated label value")]
    Unterminated,
    /// A raw newline inside a label value.
    #[error("newline inside a label value")]
    Newline,
    /// A HELP text ending in a lone backslash (OpenMetrics).
    #[error("dangling backslash")]
    Dangling,
}

/// The part of a sample line both formats share: `name{labels}` and the rest of the line.
/// Returns (name, labels, rest) or what broke.
pub(super) fn sample_head(line: &str) -> Result<SampleHead<'_>, HeadError> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        let shown: String = line.chars().take(40).collect();
        return Err(HeadError::NoMetricName { shown });
    }
    let rest = &line[name_end..];
    let Some(after_brace) = rest.strip_prefix('{') else {
        return Ok((name, Vec::new(), rest));
    };
    let mut labels = Vec::new();
    let mut s = after_brace;
    loop {
        s = s.trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix('}') {
            return Ok((name, labels, after));
        }
        let lname_end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        let lname = &s[..lname_end];
        if !is_label_name(lname) {
            return Err(HeadError::LabelName {
                metric: name.to_string(),
                near: clip(s, 20),
            });
        }
        s = s[lname_end..].trim_start_matches([' ', '\t']);
        let Some(after_eq) = s.strip_prefix('=') else {
            return Err(HeadError::NoEquals {
                metric: name.to_string(),
                label: lname.to_string(),
            });
        };
        s = after_eq.trim_start_matches([' ', '\t']);
        let Some(after_quote) = s.strip_prefix('"') else {
            return Err(HeadError::Unquoted {
                metric: name.to_string(),
                label: lname.to_string(),
            });
        };
        let (value, consumed) = unquote(after_quote).map_err(|error| HeadError::Value {
            metric: name.to_string(),
            label: lname.to_string(),
            error,
        })?;
        labels.push((lname.to_string(), value));
        s = after_quote[consumed..].trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        } else if !s.starts_with('}') {
            return Err(HeadError::NoSeparator {
                metric: name.to_string(),
                label: lname.to_string(),
            });
        }
    }
}

/// Reads a quoted label value up to its closing quote; returns the value and the bytes used
/// (closing quote included).
fn unquote(s: &str) -> Result<(String, usize), EscapeError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => return Err(EscapeError::Invalid(other)),
                None => return Err(EscapeError::Unterminated),
            },
            '\n' => return Err(EscapeError::Newline),
            _ => out.push(c),
        }
    }
    Err(EscapeError::Unterminated)
}

/// Unescapes HELP text (`\\` and `\n`; OpenMetrics also `\"`).
pub(super) fn unescape_help(s: &str, format: Format) -> Result<String, EscapeError> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match (chars.next(), format) {
            (Some('\\'), _) => out.push('\\'),
            (Some('n'), _) => out.push('\n'),
            (Some('"'), Format::OpenMetrics) => out.push('"'),
            // Text 0.0.4 keeps other backslashes literally.
            (Some(other), Format::Text) => {
                out.push('\\');
                out.push(other);
            }
            (None, Format::Text) => out.push('\\'),
            (Some(other), Format::OpenMetrics) => return Err(EscapeError::Invalid(other)),
            (None, Format::OpenMetrics) => return Err(EscapeError::Dangling),
        }
    }
    Ok(out)
}

/// Parses a sample value.
pub(super) fn parse_value(raw: &str) -> Option<f64> {
    match raw {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => {
            let ok = !raw.is_empty()
                && raw
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
            if ok { raw.parse::<f64>().ok() } else { None }
        }
    }
}
