//! Writing an exposition back out: the inverse of parsing, for the round-trip property test and
//! the demo's exporter. Escaping lives here so the parser and the writer cannot disagree on it.

use std::fmt::Write as _;

use super::{Family, Format, MetricType};

/// Renders families in `format` (label values and help text escaped).
pub fn render(families: &[Family], format: Format) -> String {
    let mut out = String::new();
    for family in families {
        if let Some(help) = &family.help {
            let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(help, format));
        }
        if family.kind != MetricType::Untyped || format == Format::OpenMetrics {
            let _ = writeln!(
                out,
                "# TYPE {} {}",
                family.name,
                family.kind.keyword(format)
            );
        }
        if let Some(unit) = &family.unit
            && format == Format::OpenMetrics
        {
            let _ = writeln!(out, "# UNIT {} {}", family.name, unit);
        }
        for s in &family.samples {
            out.push_str(&s.name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (n, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{n}=\"{}\"", escape_label(v));
                }
                out.push('}');
            }
            out.push(' ');
            out.push_str(&format_value(s.value));
            out.push('\n');
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// A value as the formats write it (`+Inf`, `-Inf`, `NaN`, else the shortest exact decimal).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

pub(super) fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str, format: Format) -> String {
    let out = v.replace('\\', "\\\\").replace('\n', "\\n");
    match format {
        Format::Text => out,
        Format::OpenMetrics => out.replace('"', "\\\""),
    }
}
