//! A strict parser for the Prometheus exposition formats: text format 0.0.4 and OpenMetrics 1.0.
//!
//! `metrics.format` and every other `metrics.*` judge need to know whether an exposition is
//! *valid*, not just what samples can be scraped out of it. That is why this parser exists
//! instead of the `prometheus-parse` crate: `prometheus-parse` never reports an error (an HTML
//! page parses as zero samples), drops metric names containing `:` (recording-rule style names),
//! cuts label values at commas, types `_sum`/`_count` as untyped and ignores the OpenMetrics
//! `# EOF` marker — a judge built on it would report false findings both ways.
//!
//! What this parser does:
//! * picks the grammar from the `Content-Type` ([`Format::from_content_type`]): OpenMetrics for
//!   `application/openmetrics-text`, text 0.0.4 for `text/plain`; anything else (an HTML page, a
//!   JSON document) is an error, and the body is still parsed as text so the error list says
//!   which line broke;
//! * reports every problem with its 1-based line number ([`Problem`]), separating errors (the
//!   exposition is invalid: Prometheus would reject the scrape or store wrong data) from warnings
//!   (recoverable: a histogram without `_sum`, families split across the exposition);
//! * validates what a scraper relies on: metric and label names (names with `:` are valid),
//!   quoted label values with `\\`, `\"`, `\n` escapes (commas inside values are just
//!   characters), duplicate series, histograms (`le` labels, a `+Inf` bucket, cumulative buckets,
//!   `_count` equal to the `+Inf` bucket, `_sum`/`_count` present), summary quantiles, and for
//!   OpenMetrics the `# EOF` terminator, `_total` counters, `# UNIT` suffixes and interleaving.
//!
//! **Caps.** The body itself is capped by `run.max_body_bytes` before it reaches the parser (a
//! truncated body is reported by the probe). Inside the parser, [`Limits`] caps the lines read
//! (default 500,000) and the series kept (default 100,000); past a cap parsing stops and
//! [`Exposition::capped`] says so, and at most [`MAX_PROBLEMS`] problems are kept. The parser
//! never panics on any input (a property test feeds it arbitrary bytes).
//!
//! **Interruption.** Parsing a 1 MiB hostile exposition is CPU work that no timer can cut, and a
//! thread running it cannot be killed. [`parse_until`] therefore takes a `stop` callback and asks
//! it every [`STOP_CHECK_LINES`] lines (and as often while validating histograms and summaries
//! afterwards); once it answers true the parse gives up with [`Interrupted`]. A callback rather
//! than a deadline keeps this module free of clocks, and lets the caller combine whatever should
//! stop it (the metrics probe sets a flag when the run's deadline passes or the scrape is
//! abandoned). [`parse`] is `parse_until` with a callback that never stops.
//!
//! This module is pure: no I/O, no clock.

mod openmetrics;
mod parser;
mod render;
mod text;
mod tokens;
mod validate;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use parser::Parser;
pub use render::{format_value, render};

/// The most problems kept per exposition (the first ones; the count keeps going).
pub const MAX_PROBLEMS: usize = 50;

/// How many lines (or samples, while validating) [`parse_until`] handles between two calls of
/// its `stop` callback: often enough that a stop is honoured within a few milliseconds of work
/// even in an unoptimised build (256 sample lines take about 3 ms there, a single line is never
/// cut, and lines are bounded by the body cap), rarely enough that the callback costs nothing.
pub const STOP_CHECK_LINES: usize = 256;

/// The `Accept` header Prometheus itself sends: OpenMetrics preferred, text 0.0.4 accepted.
/// (Some servers answer 406 to an OpenMetrics-only `Accept`.)
pub const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// Which grammar an exposition was parsed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`).
    OpenMetrics,
}

impl Format {
    /// The grammar a `Content-Type` announces, or `None` when it is not an exposition format
    /// (then the body is parsed as text and the mismatch is an error).
    pub fn from_content_type(content_type: Option<&str>) -> Option<Format> {
        let media = content_type?
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/openmetrics-text" => Some(Format::OpenMetrics),
            "text/plain" => Some(Format::Text),
            _ => None,
        }
    }

    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Text => "Prometheus text 0.0.4",
            Format::OpenMetrics => "OpenMetrics 1.0",
        }
    }
}

/// A metric family's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// A monotonically increasing count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Buckets, `_sum` and `_count`.
    Histogram,
    /// OpenMetrics gauge histogram.
    GaugeHistogram,
    /// Quantiles, `_sum` and `_count`.
    Summary,
    /// OpenMetrics info metric (`_info`).
    Info,
    /// OpenMetrics state set.
    StateSet,
    /// No `# TYPE` (text `untyped`, OpenMetrics `unknown`).
    Untyped,
}

impl MetricType {
    fn parse(word: &str, format: Format) -> Option<MetricType> {
        Some(match (word, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Untyped,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The keyword used in `# TYPE` lines of `format`.
    pub fn keyword(self, format: Format) -> &'static str {
        match (self, format) {
            (MetricType::Counter, _) => "counter",
            (MetricType::Gauge, _) => "gauge",
            (MetricType::Histogram, _) => "histogram",
            (MetricType::GaugeHistogram, _) => "gaugehistogram",
            (MetricType::Summary, _) => "summary",
            (MetricType::Info, _) => "info",
            (MetricType::StateSet, _) => "stateset",
            (MetricType::Untyped, Format::Text) => "untyped",
            (MetricType::Untyped, Format::OpenMetrics) => "unknown",
        }
    }

    /// The sample-name suffixes a family of this type may use (besides the bare name).
    fn suffixes(self, format: Format) -> &'static [&'static str] {
        match (self, format) {
            (MetricType::Histogram, Format::Text) => &["_bucket", "_sum", "_count"],
            (MetricType::Histogram, Format::OpenMetrics) => {
                &["_bucket", "_sum", "_count", "_created"]
            }
            (MetricType::GaugeHistogram, _) => &["_bucket", "_gsum", "_gcount"],
            (MetricType::Summary, Format::Text) => &["_sum", "_count"],
            (MetricType::Summary, Format::OpenMetrics) => &["_sum", "_count", "_created"],
            (MetricType::Counter, Format::OpenMetrics) => &["_total", "_created"],
            (MetricType::Info, Format::OpenMetrics) => &["_info"],
            _ => &[],
        }
    }
}

/// One problem in an exposition, with its 1-based line number (0: the exposition as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// 1-based line; 0 when the problem is not tied to one line (a missing `# EOF`).
    pub line: usize,
    /// What is wrong, naming the metric when there is one.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// The sample's name (`http_requests_total`, `x_bucket`).
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value (NaN and ±Inf allowed).
    #[serde(with = "float_text")]
    pub value: f64,
    /// The line it was on.
    pub line: usize,
}

impl Sample {
    /// The value of one label.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A metric family: its metadata and samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Family {
    /// The family name (`http_request_duration_seconds`).
    pub name: String,
    /// The declared type (`Untyped` without `# TYPE`).
    pub kind: MetricType,
    /// `# HELP` text, unescaped.
    pub help: Option<String>,
    /// OpenMetrics `# UNIT`.
    pub unit: Option<String>,
    /// Samples in order.
    pub samples: Vec<Sample>,
}

impl Family {
    /// Distinct series of the family: label sets without the histogram/summary `le`/`quantile`
    /// dimension, per sample name suffix collapsed (a histogram series counts once).
    pub fn series_count(&self) -> usize {
        let mut seen: HashSet<Vec<(&str, &str)>> = HashSet::new();
        for s in &self.samples {
            let mut key: Vec<(&str, &str)> = s
                .labels
                .iter()
                .filter(|(n, _)| n != "le" && n != "quantile")
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            key.sort_unstable();
            seen.insert(key);
        }
        seen.len()
    }

    /// Every label name used by the family's samples.
    pub fn label_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .samples
            .iter()
            .flat_map(|s| s.labels.iter().map(|(n, _)| n.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// Caps applied inside the parser (the body size is capped before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Lines read at most.
    pub max_lines: usize,
    /// Samples kept at most.
    pub max_series: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lines: 500_000,
            max_series: 100_000,
        }
    }
}

/// A parsed exposition: families, problems and what was cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exposition {
    /// The grammar used.
    pub format: Format,
    /// The `Content-Type` as received.
    pub content_type: Option<String>,
    /// Families in order of first appearance.
    pub families: Vec<Family>,
    /// Problems that make the exposition invalid (the first [`MAX_PROBLEMS`]).
    pub errors: Vec<Problem>,
    /// Recoverable problems (the first [`MAX_PROBLEMS`]).
    pub warnings: Vec<Problem>,
    /// How many errors there were in all.
    pub error_count: usize,
    /// How many warnings there were in all.
    pub warning_count: usize,
    /// Lines read.
    pub lines: usize,
    /// True when a [`Limits`] cap stopped parsing (the rest was not read).
    pub capped: bool,
}

impl Exposition {
    /// True when there is no error.
    pub fn is_valid(&self) -> bool {
        self.error_count == 0
    }

    /// Samples of every family.
    pub fn sample_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }

    /// A family by name.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// Every sample with this exact sample name.
    pub fn samples_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.families
            .iter()
            .flat_map(|f| f.samples.iter())
            .filter(move |s| s.name == name)
    }

    /// Renders the exposition back in its format (used by the round-trip property test and by
    /// the demo's exporter); `# EOF` closes OpenMetrics.
    pub fn render(&self) -> String {
        render(&self.families, self.format)
    }
}

/// Why [`parse_until`] returned no exposition: its `stop` callback asked it to give up before the
/// exposition was read and validated whole. A partial parse is never returned: without the rest
/// of the lines (or the histogram and summary validation) it would be judged wrongly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("parsing the exposition was stopped after {lines} lines")]
pub struct Interrupted {
    /// Lines read before it stopped.
    pub lines: usize,
}

/// Parses `body` with the grammar its `Content-Type` announces.
pub fn parse(body: &str, content_type: Option<&str>, limits: Limits) -> Exposition {
    let mut p = read(body, content_type, limits, None);
    let families = std::mem::take(&mut p.families);
    // Without a stop callback nothing interrupts the validation.
    p.validate(&families);
    p.into_exposition(families, content_type)
}

/// [`parse`], giving up with [`Interrupted`] as soon as `stop` returns true. `stop` is called
/// from the parsing thread every [`STOP_CHECK_LINES`] lines (first before line 1), and as often
/// while validating afterwards, so a caller that runs the parse on another thread can bound it
/// by a deadline or abandon it, and the thread stops soon after instead of burning CPU.
pub fn parse_until(
    body: &str,
    content_type: Option<&str>,
    limits: Limits,
    stop: &dyn Fn() -> bool,
) -> Result<Exposition, Interrupted> {
    let mut p = read(body, content_type, limits, Some(stop));
    let families = std::mem::take(&mut p.families);
    if p.interrupted || !p.validate(&families) {
        return Err(Interrupted { lines: p.lines });
    }
    Ok(p.into_exposition(families, content_type))
}

/// Reads every line of `body` into a parser (line-level problems found, families grouped).
fn read<'s>(
    body: &str,
    content_type: Option<&str>,
    limits: Limits,
    stop: Option<&'s dyn Fn() -> bool>,
) -> Parser<'s> {
    let announced = Format::from_content_type(content_type);
    let format = announced.unwrap_or(Format::Text);
    let mut p = Parser::new(format, limits, stop);
    if announced.is_none() {
        p.error(
            0,
            match content_type {
                Some(ct) => format!(
                    "Content-Type {ct:?} is not a Prometheus exposition format (expected text/plain; version=0.0.4 or application/openmetrics-text)"
                ),
                None => "no Content-Type header (expected text/plain; version=0.0.4 or application/openmetrics-text)".to_string(),
            },
        );
    }
    match format {
        Format::Text => text::parse(&mut p, body),
        Format::OpenMetrics => openmetrics::parse(&mut p, body),
    }
    p
}

/// Parses a body as text format 0.0.4 whatever its Content-Type (fixtures, tests).
pub fn parse_text(body: &str) -> Exposition {
    parse(body, Some("text/plain; version=0.0.4"), Limits::default())
}

/// Parses a body as OpenMetrics 1.0 whatever its Content-Type (fixtures, tests).
pub fn parse_openmetrics(body: &str) -> Exposition {
    parse(
        body,
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Limits::default(),
    )
}

/// Checks a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Checks a label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// NaN and ±Inf survive a JSON round trip as strings.
mod float_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_str(&super::format_value(*v))
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Num(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Either::deserialize(d)? {
            Either::Num(v) => Ok(v),
            Either::Text(t) => super::tokens::parse_value(&t)
                .ok_or_else(|| serde::de::Error::custom(format!("not a sample value: {t:?}"))),
        }
    }
}

#[cfg(test)]
mod tests;
