//! metrics.red and metrics.red_live: rate, errors and duration are exposed and move with traffic.

use super::*;

// ---------------------------------------------------------------------------------------------
// metrics.red

/// What RED metrics an exposition carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Red<'a> {
    /// Request counters (`http_requests_total`…).
    pub counters: Vec<&'a Family>,
    /// Duration histograms/summaries (`http_request_duration_seconds`…).
    pub durations: Vec<&'a Family>,
}

impl<'a> Red<'a> {
    /// Finds the RED families of an exposition.
    pub fn find(e: &'a Exposition) -> Red<'a> {
        let mut red = Red::default();
        for f in &e.families {
            let name = f.name.to_ascii_lowercase();
            let about_requests = name.contains("request") && !name.contains("client");
            // The Go client's own scrape counter counts scrapes of /metrics, not traffic.
            let scrape_handler = name.starts_with("promhttp_");
            if !about_requests || scrape_handler || f.samples.is_empty() {
                continue;
            }
            match f.kind {
                MetricType::Counter => red.counters.push(f),
                MetricType::Untyped if name.ends_with("_total") => red.counters.push(f),
                MetricType::Histogram | MetricType::Summary => red.durations.push(f),
                _ => {}
            }
        }
        red
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.durations.is_empty()
    }

    /// The status label used, if any family has one.
    pub fn status_label(&self) -> Option<String> {
        self.counters
            .iter()
            .chain(self.durations.iter())
            .flat_map(|f| f.label_names())
            .find(|l| STATUS_LABELS.contains(l))
            .map(str::to_string)
    }

    /// The sum of the request count: counters' samples, else the durations' `_count`.
    pub fn request_total(&self) -> Option<(String, f64)> {
        self.traffic_total(None).map(|t| (t.name, t.total))
    }

    /// The request count like [`Red::request_total`], leaving out the series that count scrapes
    /// of `metrics_path` (a handler/path label equal to it), when one is given.
    pub fn traffic_total(&self, metrics_path: Option<&str>) -> Option<Traffic> {
        let (name, samples): (String, Vec<&crate::exposition::Sample>) =
            if let Some(c) = self.counters.first() {
                let samples = c
                    .samples
                    .iter()
                    .filter(|s| !s.name.ends_with("_created"))
                    .collect();
                (c.name.clone(), samples)
            } else {
                let d = self.durations.first()?;
                let count = format!("{}_count", d.name);
                let samples = d.samples.iter().filter(|s| s.name == count).collect();
                (count, samples)
            };
        let mut out = Traffic {
            name,
            ..Traffic::default()
        };
        for s in samples {
            match metrics_path {
                Some(path) if counts_scrapes(&s.labels, path) => {
                    out.scrape_series += 1;
                    out.scrapes += s.value;
                }
                _ => out.total += s.value,
            }
        }
        Some(out)
    }
}

/// A request count split into traffic and scrapes of the metrics endpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traffic {
    /// The family (or `_count` series) summed.
    pub name: String,
    /// Summed over the series that do not count scrapes.
    pub total: f64,
    /// Summed over the series that count scrapes of the metrics path.
    pub scrapes: f64,
    /// How many series count scrapes.
    pub scrape_series: usize,
}

/// The unit a duration family is in, from its name or `# UNIT`.
pub(super) fn duration_unit(f: &Family) -> &'static str {
    let name = f.name.to_ascii_lowercase();
    let unit = f.unit.as_deref().unwrap_or_default();
    if unit == "seconds" || name.ends_with("_seconds") {
        "seconds"
    } else if unit == "milliseconds"
        || name.ends_with("_milliseconds")
        || name.ends_with("_ms")
        || name.contains("_ms_")
    {
        "milliseconds"
    } else if name.ends_with("_microseconds") || name.ends_with("_us") {
        "microseconds"
    } else {
        "unknown"
    }
}

/// `metrics.red`: rate, errors and duration are all exported.
pub const RED: CheckMeta = CheckMeta {
    id: "metrics.red",
    title: "RED metrics (rate, errors, duration)",
    problem: "RED metrics (rate, errors, duration) are missing or incomplete",
    category: Category::Observability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "request counter with a status label, duration histogram in seconds \
           (http_requests_total, http_server_requests_seconds_*, \
           http_server_request_duration_seconds, …) — pass: rate+errors+duration; warn: summary \
           only, ms units, no status label; fail: none",
    remediation: "Instrument every HTTP handler with a request counter labelled by method, route \
                  template and status (`http_requests_total{method,route,status}`) and a \
                  duration histogram in seconds (`http_request_duration_seconds`), as the \
                  Prometheus client libraries' HTTP middleware, Micrometer or OpenTelemetry's \
                  HTTP semantic conventions do.",
    references: &[
        "https://prometheus.io/docs/practices/naming/",
        "https://prometheus.io/docs/practices/histograms/",
        "https://opentelemetry.io/docs/specs/semconv/http/http-metrics/",
        "https://grafana.com/blog/2018/08/02/the-red-method-how-to-instrument-your-services/",
    ],
    judge: red,
};

/// Judges `metrics.red`.
pub fn red(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (_, s) = scrape_of(obs)?;
    let r = Red::find(parsed(s, "first")?);
    if r.is_empty() {
        return Ok(Judgement::fail(
            "No HTTP request counter or duration metric was found in the exposition.",
        )
        .evidence(scrape_line(s))
        .evidence(format!(
            "{} families, none named like http_requests_total, http_server_requests_seconds or http_server_request_duration_seconds",
            s.exposition.families.len()
        )));
    }
    let mut evidence = vec![scrape_line(s)];
    let mut gaps = Vec::new();
    for f in r.counters.iter().take(3) {
        evidence.push(format!(
            "counter {}: labels {}",
            f.name,
            f.label_names().join(", ")
        ));
    }
    for f in r.durations.iter().take(3) {
        evidence.push(format!(
            "{} {}: unit {}, labels {}",
            f.kind.keyword(s.exposition.format),
            f.name,
            duration_unit(f),
            f.label_names()
                .into_iter()
                .filter(|l| *l != "le" && *l != "quantile")
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let rate = !r.counters.is_empty() || !r.durations.is_empty();
    if r.status_label().is_none() {
        gaps.push("no status label, so errors cannot be told from successes".to_string());
    }
    let histogram_seconds = r
        .durations
        .iter()
        .any(|f| f.kind == MetricType::Histogram && duration_unit(f) == "seconds");
    if r.durations.is_empty() {
        gaps.push("no duration histogram".to_string());
    } else if !histogram_seconds {
        if r.durations.iter().all(|f| f.kind == MetricType::Summary) {
            gaps.push(
                "durations are a summary only (quantiles cannot be aggregated across instances)"
                    .to_string(),
            );
        }
        if let Some(f) = r.durations.iter().find(|f| duration_unit(f) != "seconds") {
            gaps.push(format!(
                "{} is in {}, not the base unit seconds",
                f.name,
                duration_unit(f)
            ));
        }
    }
    if rate && gaps.is_empty() {
        return Ok(Judgement::pass(
            "Rate, errors and duration are exported: a request counter with a status label and a duration histogram in seconds.",
        )
        .evidence_all(evidence));
    }
    Ok(
        Judgement::warn(format!("RED metrics are incomplete: {}.", gaps.join("; ")))
            .evidence_all(evidence),
    )
}

// ---------------------------------------------------------------------------------------------
// metrics.red_live

/// `metrics.red_live`: the request counters move when requests are sent.
pub const RED_LIVE: CheckMeta = CheckMeta {
    id: "metrics.red_live",
    title: "RED metrics move with traffic",
    problem: "Request metrics do not move with the traffic sent",
    category: Category::Observability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "scrape, send N requests, re-scrape — fail: request counters do not move by the \
           requests sent (series that count the scrapes themselves, a handler/path label equal \
           to the metrics path, do not count); warn: counters went down (a restart between \
           scrapes)",
    remediation: "Make sure the request metrics are recorded by middleware that sees every \
                  request (not a stale registry, a different process, or a cache in front of \
                  /metrics); a /metrics proxied from another service counts that service's \
                  scrapes, not this one's traffic.",
    references: &["https://prometheus.io/docs/practices/instrumentation/"],
    judge: red_live,
};

/// Judges `metrics.red_live`: the traffic counters (scrape series left out) must move by at
/// least the number of requests that were answered between the scrapes.
pub fn red_live(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (first, live) = live_of(obs)?;
    let metrics_path = obs
        .metrics
        .observed()
        .and_then(|m| m.path.clone())
        .unwrap_or_else(|| "/metrics".to_string());
    let before = Red::find(parsed(first, "first")?);
    let after = Red::find(parsed(&live.after, "second")?);
    let (Some(a), Some(b)) = (
        before.traffic_total(Some(&metrics_path)),
        after.traffic_total(Some(&metrics_path)),
    ) else {
        return Ok(Judgement::skipped(
            "There is no request counter to watch (see metrics.red).",
        ));
    };
    let answered = live.answered();
    let sent = format!("sent between the scrapes: {}", live.requests.join("; "));
    let fmt = crate::exposition::format_value;
    let moved = if b.scrape_series > 0 || a.scrape_series > 0 {
        format!(
            "{} summed over its series, without the {} series counting scrapes of {metrics_path}: \
             {} before, {} after (the scrape series moved {} → {})",
            a.name,
            b.scrape_series.max(a.scrape_series),
            fmt(a.total),
            fmt(b.total),
            fmt(a.scrapes),
            fmt(b.scrapes)
        )
    } else {
        format!(
            "{} summed over its series: {} before, {} after",
            a.name,
            fmt(a.total),
            fmt(b.total)
        )
    };
    let delta = b.total - a.total;
    if delta >= f64::from(answered) && delta > 0.0 {
        Ok(Judgement::pass(format!(
            "The request count moved from {} to {} after {answered} answered request(s).",
            fmt(a.total),
            fmt(b.total)
        ))
        .evidence(moved)
        .evidence(sent))
    } else if delta < 0.0 {
        Ok(Judgement::warn(
            "The request count went down between the scrapes: the process restarted or the counter was reset.",
        )
        .evidence(moved)
        .evidence(sent))
    } else if b.scrapes > a.scrapes {
        Ok(Judgement::fail(format!(
            "Only the scrapes of {metrics_path} moved the request count; the {answered} \
             request(s) readyprobe sent were not counted (+{} of {answered}): these metrics do \
             not describe the audited service's traffic.",
            fmt(delta)
        ))
        .evidence(moved)
        .evidence(sent))
    } else {
        Ok(Judgement::fail(format!(
            "The request count moved by {} after {answered} answered request(s): the metrics do \
             not reflect the traffic readyprobe sent.",
            fmt(delta)
        ))
        .evidence(moved)
        .evidence(sent))
    }
}
