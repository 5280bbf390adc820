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
mod text;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use crate::text::clip;
use serde::{Deserialize, Serialize};

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

fn escape_label(v: &str) -> String {
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

/// Shared parser state: the grammar modules feed it lines, it groups and validates.
struct Parser<'s> {
    format: Format,
    limits: Limits,
    /// Asked every [`STOP_CHECK_LINES`] lines whether to give up ([`parse_until`]).
    stop: Option<&'s dyn Fn() -> bool>,
    /// Set once `stop` said to give up: the grammar modules stop reading, nothing is validated.
    interrupted: bool,
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    /// The family the last metadata line or sample belonged to.
    current: Option<usize>,
    /// Families whose samples are finished (another family's samples started after them).
    closed: HashSet<usize>,
    /// (sample name, sorted labels) already seen.
    series: HashSet<(String, Vec<(String, String)>)>,
    samples: usize,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    error_count: usize,
    warning_count: usize,
    lines: usize,
    capped: bool,
}

impl<'s> Parser<'s> {
    fn new(format: Format, limits: Limits, stop: Option<&'s dyn Fn() -> bool>) -> Parser<'s> {
        Parser {
            format,
            limits,
            stop,
            interrupted: false,
            families: Vec::new(),
            by_name: HashMap::new(),
            current: None,
            closed: HashSet::new(),
            series: HashSet::new(),
            samples: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
            error_count: 0,
            warning_count: 0,
            lines: 0,
            capped: false,
        }
    }

    fn error(&mut self, line: usize, message: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_PROBLEMS {
            self.errors.push(Problem {
                line,
                message: message.into(),
            });
        }
    }

    fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_PROBLEMS {
            self.warnings.push(Problem {
                line,
                message: message.into(),
            });
        }
    }

    /// Counts a line; false once the line cap is reached or the caller asked to stop (parsing
    /// stops).
    fn next_line(&mut self) -> bool {
        if self.lines >= self.limits.max_lines {
            self.capped = true;
            return false;
        }
        if self.lines.is_multiple_of(STOP_CHECK_LINES) && self.stop_requested() {
            return false;
        }
        self.lines += 1;
        true
    }

    /// Asks the `stop` callback (if any); true, and remembered, once it says to give up.
    fn stop_requested(&mut self) -> bool {
        if !self.interrupted && self.stop.is_some_and(|stop| stop()) {
            self.interrupted = true;
        }
        self.interrupted
    }

    /// True every [`STOP_CHECK_LINES`]th item of a validation loop when the caller asked to
    /// stop.
    fn stop_at(&mut self, item: usize) -> bool {
        item.is_multiple_of(STOP_CHECK_LINES) && self.stop_requested()
    }

    /// The family declared (or implied) by a metadata line for `name`.
    fn family_for_metadata(&mut self, name: &str, line: usize) -> usize {
        if let Some(&idx) = self.by_name.get(name) {
            if self.current != Some(idx) && !self.families[idx].samples.is_empty() {
                self.error(
                    line,
                    format!("metadata for {name} after its samples (families must be contiguous)"),
                );
            }
            self.current = Some(idx);
            return idx;
        }
        self.open_family(name)
    }

    /// Closes the current family and starts a new, untyped one named `name`.
    fn open_family(&mut self, name: &str) -> usize {
        if let Some(cur) = self.current {
            self.closed.insert(cur);
        }
        let idx = self.families.len();
        self.families.push(Family {
            name: name.to_string(),
            kind: MetricType::Untyped,
            help: None,
            unit: None,
            samples: Vec::new(),
        });
        self.by_name.insert(name.to_string(), idx);
        self.current = Some(idx);
        idx
    }

    fn set_type(&mut self, name: &str, word: &str, line: usize) {
        let Some(kind) = MetricType::parse(word, self.format) else {
            self.error(line, format!("unknown metric type {word:?} for {name}"));
            return;
        };
        let idx = self.family_for_metadata(name, line);
        let fam = &mut self.families[idx];
        if fam.kind != MetricType::Untyped || !fam.samples.is_empty() {
            let msg = if fam.samples.is_empty() {
                format!("second TYPE line for {name}")
            } else {
                format!("TYPE line for {name} after its samples")
            };
            self.error(line, msg);
            return;
        }
        fam.kind = kind;
        if self.format == Format::OpenMetrics
            && kind == MetricType::Counter
            && name.ends_with("_total")
        {
            self.error(
                line,
                format!(
                    "counter family {name} must be named without the _total suffix in OpenMetrics"
                ),
            );
        }
    }

    fn set_help(&mut self, name: &str, help: String, line: usize) {
        let idx = self.family_for_metadata(name, line);
        if self.families[idx].help.is_some() {
            self.error(line, format!("second HELP line for {name}"));
            return;
        }
        self.families[idx].help = Some(help);
    }

    fn set_unit(&mut self, name: &str, unit: String, line: usize) {
        let idx = self.family_for_metadata(name, line);
        if self.families[idx].unit.is_some() {
            self.error(line, format!("second UNIT line for {name}"));
            return;
        }
        if !unit.is_empty() && !name.ends_with(&format!("_{unit}")) {
            self.error(
                line,
                format!("metric name {name} must end with its unit _{unit}"),
            );
        }
        self.families[idx].unit = Some(unit);
    }

    /// Which family a sample name belongs to, creating an untyped one when none declared.
    fn family_for_sample(&mut self, name: &str, line: usize) -> usize {
        let belongs = |fam: &Family, format: Format| {
            name == fam.name
                && !matches!(
                    (fam.kind, format),
                    (MetricType::Histogram, _)
                        | (MetricType::GaugeHistogram, _)
                        | (MetricType::Counter, Format::OpenMetrics)
                        | (MetricType::Info, Format::OpenMetrics)
                )
                || fam
                    .kind
                    .suffixes(format)
                    .iter()
                    .any(|suffix| name.strip_suffix(suffix) == Some(fam.name.as_str()))
        };
        if let Some(cur) = self.current
            && belongs(&self.families[cur], self.format)
        {
            return cur;
        }
        // A family declared earlier (interleaved), by exact name or by suffix.
        let known = self.by_name.get(name).copied().or_else(|| {
            [
                "_bucket", "_sum", "_count", "_total", "_created", "_info", "_gsum", "_gcount",
            ]
            .iter()
            .filter_map(|suffix| name.strip_suffix(suffix))
            .filter_map(|base| self.by_name.get(base).copied())
            .find(|&idx| belongs(&self.families[idx], self.format))
        });
        if let Some(idx) = known
            && belongs(&self.families[idx], self.format)
        {
            if self.closed.contains(&idx) || self.current != Some(idx) {
                let msg = format!(
                    "samples of {} are not contiguous (interleaved with another family)",
                    self.families[idx].name
                );
                match self.format {
                    Format::OpenMetrics => self.error(line, msg),
                    Format::Text => self.warn(line, msg),
                }
            }
            if let Some(cur) = self.current
                && cur != idx
            {
                self.closed.insert(cur);
            }
            self.current = Some(idx);
            return idx;
        }
        if let Some(&idx) = self.by_name.get(name) {
            // The name is taken by a family whose type does not allow a bare sample.
            self.error(
                line,
                format!(
                    "sample {name} does not fit its {} family (expected a suffix like {})",
                    self.families[idx].kind.keyword(self.format),
                    self.families[idx].kind.suffixes(self.format).join("/")
                ),
            );
            return idx;
        }
        self.open_family(name)
    }

    /// Adds a parsed sample; false once the series cap is reached.
    fn add_sample(&mut self, sample: Sample) -> bool {
        if self.samples >= self.limits.max_series {
            self.capped = true;
            return false;
        }
        let line = sample.line;
        let mut names: Vec<&str> = sample.labels.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            self.error(line, format!("{}: a label name is repeated", sample.name));
        }
        let mut key_labels = sample.labels.clone();
        key_labels.sort();
        if !self.series.insert((sample.name.clone(), key_labels)) {
            self.error(
                line,
                format!("duplicate series {}", describe_series(&sample)),
            );
        }
        let idx = self.family_for_sample(&sample.name, line);
        let kind = self.families[idx].kind;
        if self.format == Format::OpenMetrics
            && kind == MetricType::Counter
            && !(sample.name.ends_with("_total") || sample.name.ends_with("_created"))
        {
            self.error(
                line,
                format!("counter sample {} must end with _total", sample.name),
            );
        }
        if matches!(kind, MetricType::Counter) && sample.value < 0.0 {
            self.error(line, format!("counter {} is negative", sample.name));
        }
        self.families[idx].samples.push(sample);
        self.samples += 1;
        true
    }

    /// Validates what needs the whole exposition (histograms, summaries); false when the caller
    /// asked to stop before it was done.
    fn validate(&mut self, families: &[Family]) -> bool {
        for (i, fam) in families.iter().enumerate() {
            if self.interrupted || self.stop_at(i) {
                return false;
            }
            match fam.kind {
                MetricType::Histogram | MetricType::GaugeHistogram => {
                    validate_histogram(self, fam);
                }
                MetricType::Summary => validate_summary(self, fam),
                _ => {}
            }
        }
        !self.interrupted
    }

    /// The result, once read and validated.
    fn into_exposition(self, families: Vec<Family>, content_type: Option<&str>) -> Exposition {
        Exposition {
            format: self.format,
            content_type: content_type.map(str::to_string),
            families,
            errors: self.errors,
            warnings: self.warnings,
            error_count: self.error_count,
            warning_count: self.warning_count,
            lines: self.lines,
            capped: self.capped,
        }
    }
}

fn describe_series(sample: &Sample) -> String {
    if sample.labels.is_empty() {
        return sample.name.clone();
    }
    let labels: Vec<String> = sample
        .labels
        .iter()
        .map(|(n, v)| format!("{n}=\"{}\"", escape_label(v)))
        .collect();
    format!("{}{{{}}}", sample.name, labels.join(","))
}

/// The labels of a sample without one label, sorted: the key of a histogram/summary series.
fn series_key(sample: &Sample, without: &str) -> Vec<(String, String)> {
    let mut key: Vec<(String, String)> = sample
        .labels
        .iter()
        .filter(|(n, _)| n != without)
        .cloned()
        .collect();
    key.sort();
    key
}

fn parse_bound(raw: &str) -> Option<f64> {
    match raw {
        "+Inf" | "Inf" | "+inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        other => other.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

#[derive(Default)]
struct HistSeries {
    buckets: Vec<(f64, f64, usize)>,
    sum: Option<usize>,
    count: Option<(f64, usize)>,
    first_line: usize,
}

fn validate_histogram(p: &mut Parser<'_>, fam: &Family) {
    let (sum_suffix, count_suffix) = if fam.kind == MetricType::GaugeHistogram {
        ("_gsum", "_gcount")
    } else {
        ("_sum", "_count")
    };
    let bucket_name = format!("{}_bucket", fam.name);
    let sum_name = format!("{}{sum_suffix}", fam.name);
    let count_name = format!("{}{count_suffix}", fam.name);
    let mut series: BTreeMap<Vec<(String, String)>, HistSeries> = BTreeMap::new();
    for (i, s) in fam.samples.iter().enumerate() {
        if p.stop_at(i) {
            return;
        }
        let key = series_key(s, "le");
        let entry = series.entry(key).or_insert_with(|| HistSeries {
            first_line: s.line,
            ..HistSeries::default()
        });
        if s.name == bucket_name {
            match s.label("le").map(|le| (le, parse_bound(le))) {
                Some((_, Some(le))) => entry.buckets.push((le, s.value, s.line)),
                Some((raw, None)) => {
                    p.error(s.line, format!("{}: le={raw:?} is not a number", s.name))
                }
                None => p.error(s.line, format!("{}: bucket without an le label", s.name)),
            }
        } else if s.name == sum_name {
            entry.sum = Some(s.line);
        } else if s.name == count_name {
            entry.count = Some((s.value, s.line));
        } else if s.label("le").is_some() {
            p.error(s.line, format!("{}: le label outside _bucket", s.name));
        }
    }
    for (i, (key, h)) in series.into_iter().enumerate() {
        if p.stop_at(i) {
            return;
        }
        let shown = if key.is_empty() {
            fam.name.clone()
        } else {
            let labels: Vec<String> = key
                .iter()
                .map(|(n, v)| format!("{n}=\"{}\"", escape_label(v)))
                .collect();
            format!("{}{{{}}}", fam.name, labels.join(","))
        };
        if h.buckets.is_empty() {
            p.error(h.first_line, format!("histogram {shown} has no buckets"));
            continue;
        }
        let mut buckets = h.buckets.clone();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let inf = buckets.iter().find(|b| b.0 == f64::INFINITY).copied();
        if inf.is_none() {
            p.error(
                h.first_line,
                format!("histogram {shown} has no le=\"+Inf\" bucket"),
            );
        }
        for w in buckets.windows(2) {
            if w[1].1 < w[0].1 {
                p.error(
                    w[1].2,
                    format!(
                        "histogram {shown}: buckets are not cumulative (le={} has {} < {} at le={})",
                        format_value(w[1].0),
                        format_value(w[1].1),
                        format_value(w[0].1),
                        format_value(w[0].0)
                    ),
                );
                break;
            }
        }
        match (h.count, inf) {
            (Some((count, line)), Some(inf))
                if count != inf.1 && !(count.is_nan() && inf.1.is_nan()) =>
            {
                p.error(
                    line,
                    format!(
                        "histogram {shown}: {count_suffix} {} differs from the +Inf bucket {}",
                        format_value(count),
                        format_value(inf.1)
                    ),
                );
            }
            (None, _) => p.warn(
                h.first_line,
                format!("histogram {shown} has no {count_suffix}"),
            ),
            _ => {}
        }
        if h.sum.is_none() {
            p.warn(
                h.first_line,
                format!("histogram {shown} has no {sum_suffix}"),
            );
        }
    }
}

fn validate_summary(p: &mut Parser<'_>, fam: &Family) {
    let mut with_count: HashSet<Vec<(String, String)>> = HashSet::new();
    let mut keys: Vec<(Vec<(String, String)>, usize)> = Vec::new();
    for (i, s) in fam.samples.iter().enumerate() {
        if p.stop_at(i) {
            return;
        }
        if s.name == fam.name {
            match s.label("quantile").map(|q| (q, q.parse::<f64>())) {
                Some((_, Ok(q))) if (0.0..=1.0).contains(&q) => {}
                Some((raw, _)) => p.error(
                    s.line,
                    format!("{}: quantile={raw:?} is not a number from 0 to 1", s.name),
                ),
                None => p.error(
                    s.line,
                    format!("{}: summary sample without a quantile label", s.name),
                ),
            }
            keys.push((series_key(s, "quantile"), s.line));
        } else if s.name.ends_with("_count") {
            with_count.insert(series_key(s, "quantile"));
        } else {
            keys.push((series_key(s, "quantile"), s.line));
        }
    }
    let mut warned: HashSet<Vec<(String, String)>> = HashSet::new();
    for (key, line) in keys {
        if !with_count.contains(&key) && warned.insert(key) {
            p.warn(line, format!("summary {} has no _count", fam.name));
        }
    }
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

/// A sample line's name, labels and the rest of the line.
type SampleHead<'a> = (&'a str, Vec<(String, String)>, &'a str);

/// The part of a sample line both formats share: `name{labels}` and the rest of the line.
/// Returns (name, labels, rest) or an error message.
fn sample_head(line: &str) -> Result<SampleHead<'_>, String> {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if !is_metric_name(name) {
        let shown: String = line.chars().take(40).collect();
        return Err(format!(
            "not a sample line: {shown:?} does not start with a metric name"
        ));
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
            return Err(format!("{name}: invalid label name near {:?}", clip(s, 20)));
        }
        s = s[lname_end..].trim_start_matches([' ', '\t']);
        let Some(after_eq) = s.strip_prefix('=') else {
            return Err(format!("{name}: expected = after label {lname}"));
        };
        s = after_eq.trim_start_matches([' ', '\t']);
        let Some(after_quote) = s.strip_prefix('"') else {
            return Err(format!("{name}: label {lname} value is not quoted"));
        };
        let (value, consumed) =
            unquote(after_quote).map_err(|m| format!("{name}: label {lname}: {m}"))?;
        labels.push((lname.to_string(), value));
        s = after_quote[consumed..].trim_start_matches([' ', '\t']);
        if let Some(after) = s.strip_prefix(',') {
            s = after;
        } else if !s.starts_with('}') {
            return Err(format!("{name}: expected , or }} after label {lname}"));
        }
    }
}

/// Reads a quoted label value up to its closing quote; returns the value and the bytes used
/// (closing quote included).
fn unquote(s: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => return Err(format!("invalid escape \\{other}")),
                None => return Err("unterminated label value".to_string()),
            },
            '\n' => return Err("newline inside a label value".to_string()),
            _ => out.push(c),
        }
    }
    Err("unterminated label value".to_string())
}

/// Unescapes HELP text (`\\` and `\n`; OpenMetrics also `\"`).
fn unescape_help(s: &str, format: Format) -> Result<String, String> {
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
            (Some(other), Format::OpenMetrics) => return Err(format!("invalid escape \\{other}")),
            (None, Format::OpenMetrics) => return Err("dangling backslash".to_string()),
        }
    }
    Ok(out)
}

/// Parses a sample value.
fn parse_value(raw: &str) -> Option<f64> {
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
            Either::Text(t) => super::parse_value(&t)
                .ok_or_else(|| serde::de::Error::custom(format!("not a sample value: {t:?}"))),
        }
    }
}

#[cfg(test)]
mod tests;
