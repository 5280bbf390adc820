//! What can only be judged once the whole exposition is read: histogram buckets (an `le="+Inf"`
//! bucket, cumulative counts, `_count` equal to it, `_sum` present) and summary quantiles.

use std::collections::{BTreeMap, HashSet};

use super::parser::Parser;
use super::render::{escape_label, format_value};
use super::{Family, MetricType, Sample};

impl Parser<'_> {
    /// Validates what needs the whole exposition (histograms, summaries); false when the caller
    /// asked to stop before it was done.
    pub(super) fn validate(&mut self, families: &[Family]) -> bool {
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
