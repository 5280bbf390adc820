//! The parser state both grammars feed: families grouped as lines arrive, series deduplicated,
//! problems counted, caps and the `stop` callback honoured.
//!
//! [`super::text`] and [`super::openmetrics`] only tokenise their grammar; everything that is the
//! same in both (what a family is, when samples are interleaved, duplicate series) is decided
//! here once.

use std::collections::{HashMap, HashSet};

use super::render::escape_label;
use super::{
    Exposition, Family, Format, Limits, MAX_PROBLEMS, MetricType, Problem, STOP_CHECK_LINES, Sample,
};

/// Shared parser state: the grammar modules feed it lines, it groups and validates.
pub(super) struct Parser<'s> {
    pub(super) format: Format,
    pub(super) limits: Limits,
    /// Asked every [`STOP_CHECK_LINES`] lines whether to give up ([`parse_until`]).
    pub(super) stop: Option<&'s dyn Fn() -> bool>,
    /// Set once `stop` said to give up: the grammar modules stop reading, nothing is validated.
    pub(super) interrupted: bool,
    pub(super) families: Vec<Family>,
    pub(super) by_name: HashMap<String, usize>,
    /// The family the last metadata line or sample belonged to.
    pub(super) current: Option<usize>,
    /// Families whose samples are finished (another family's samples started after them).
    pub(super) closed: HashSet<usize>,
    /// (sample name, sorted labels) already seen.
    pub(super) series: HashSet<(String, Vec<(String, String)>)>,
    pub(super) samples: usize,
    pub(super) errors: Vec<Problem>,
    pub(super) warnings: Vec<Problem>,
    pub(super) error_count: usize,
    pub(super) warning_count: usize,
    pub(super) lines: usize,
    pub(super) capped: bool,
}

impl<'s> Parser<'s> {
    pub(super) fn new(
        format: Format,
        limits: Limits,
        stop: Option<&'s dyn Fn() -> bool>,
    ) -> Parser<'s> {
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

    pub(super) fn error(&mut self, line: usize, message: impl Into<String>) {
        self.error_count += 1;
        if self.errors.len() < MAX_PROBLEMS {
            self.errors.push(Problem {
                line,
                message: message.into(),
            });
        }
    }

    pub(super) fn warn(&mut self, line: usize, message: impl Into<String>) {
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
    pub(super) fn next_line(&mut self) -> bool {
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
    pub(super) fn stop_requested(&mut self) -> bool {
        if !self.interrupted && self.stop.is_some_and(|stop| stop()) {
            self.interrupted = true;
        }
        self.interrupted
    }

    /// True every [`STOP_CHECK_LINES`]th item of a validation loop when the caller asked to
    /// stop.
    pub(super) fn stop_at(&mut self, item: usize) -> bool {
        item.is_multiple_of(STOP_CHECK_LINES) && self.stop_requested()
    }

    /// The family declared (or implied) by a metadata line for `name`.
    pub(super) fn family_for_metadata(&mut self, name: &str, line: usize) -> usize {
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
    pub(super) fn open_family(&mut self, name: &str) -> usize {
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

    pub(super) fn set_type(&mut self, name: &str, word: &str, line: usize) {
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

    pub(super) fn set_help(&mut self, name: &str, help: String, line: usize) {
        let idx = self.family_for_metadata(name, line);
        if self.families[idx].help.is_some() {
            self.error(line, format!("second HELP line for {name}"));
            return;
        }
        self.families[idx].help = Some(help);
    }

    pub(super) fn set_unit(&mut self, name: &str, unit: String, line: usize) {
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
    pub(super) fn family_for_sample(&mut self, name: &str, line: usize) -> usize {
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
    pub(super) fn add_sample(&mut self, sample: Sample) -> bool {
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

    /// The result, once read and validated.
    pub(super) fn into_exposition(
        self,
        families: Vec<Family>,
        content_type: Option<&str>,
    ) -> Exposition {
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
