//! Metrics judges: is there a Prometheus endpoint, does it parse strictly, does it carry RED
//! metrics (rate, errors, duration) that really move, and is its cardinality under control.
//!
//! They read [`MetricsObservation`]: the first scrape, a few requests (one to a unique unknown
//! path), and a second scrape. RED detection knows the common naming conventions — Prometheus
//! client libraries (`http_requests_total` + `http_request_duration_seconds`), Micrometer
//! (`http_server_requests_seconds` with `status`/`outcome`), OpenTelemetry
//! (`http_server_request_duration_seconds` with `http_response_status_code`) — and judges units
//! (seconds, not milliseconds), types (histograms aggregate across instances, summaries do not)
//! and status labels.
//!
//! Every judge that reads the exposition first asks [`parsed`]: a document `metrics.format`
//! rejected (invalid, truncated at the body cap, an HTML page) is not judged in fragments — those
//! checks are `error` with the reason, never a pass. `metrics.red_live` counts only the traffic
//! readyprobe sent: series that count the scrapes themselves (a handler/path label equal to the
//! metrics path) and scrape-handler families (`promhttp_metric_handler_*`) do not count.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::exposition::{Exposition, Family, MetricType};
use crate::model::{Category, Severity};
use crate::observations::metrics::{LiveProbe, MetricsObservation, Scrape};
use crate::observations::{Observations, Unobserved};

/// Label names that carry the HTTP status (or its class).
const STATUS_LABELS: &[&str] = &[
    "status",
    "code",
    "status_code",
    "http_status",
    "http_status_code",
    "http_response_status_code",
    "outcome",
    "response_code",
];

/// Runtime collector prefixes.
const RUNTIME_PREFIXES: &[&str] = &[
    "process_", "go_", "jvm_", "nodejs_", "python_", "dotnet_", "ruby_", "erlang_", "beam_",
];

fn scrape_of(obs: &Observations) -> Result<(&MetricsObservation, &Scrape), Unobserved> {
    let m = obs.metrics.get()?;
    match &m.first {
        Some(s) => Ok((m, s)),
        None => Err(Unobserved::Skipped(
            "no metrics endpoint was found (see metrics.endpoint)".to_string(),
        )),
    }
}

fn live_of(obs: &Observations) -> Result<(&Scrape, &LiveProbe), Unobserved> {
    let (m, first) = scrape_of(obs)?;
    Ok((first, m.live.get()?))
}

/// The exposition of a scrape, or why it cannot be judged: a body cut at the size cap, an HTML
/// page or a document with parse errors is what `metrics.format` fails, and the checks that read
/// the exposition must not judge its fragments (an `error` finding with the reason).
pub fn parsed<'a>(s: &'a Scrape, which: &str) -> Result<&'a Exposition, Unobserved> {
    let e = &s.exposition;
    let why = if s.exchange.body_truncated {
        format!("it was cut at the {}-byte body cap", s.exchange.body_len)
    } else if s.exchange.is_html_document() {
        "it is an HTML page, not a Prometheus exposition".to_string()
    } else if !e.is_valid() {
        format!(
            "it has {} parse error(s), first: {}",
            e.error_count,
            e.errors
                .first()
                .map(ToString::to_string)
                .unwrap_or_default()
        )
    } else {
        return Ok(e);
    };
    Err(Unobserved::Failed(format!(
        "the {which} scrape ({}) cannot be judged: {why} (see metrics.format)",
        s.exchange.request_line()
    )))
}

/// Label names that carry the request's route or path.
const PATH_LABELS: &[&str] = &[
    "handler",
    "path",
    "route",
    "uri",
    "url",
    "endpoint",
    "http_route",
    "http_target",
    "url_path",
    "request_path",
    "http_path",
];

/// True when a label value names the metrics path itself (`/metrics`, `metrics`, or a prefixed
/// `/app/metrics`): the series counts the scrapes, not the traffic.
fn is_metrics_path(value: &str, metrics_path: &str) -> bool {
    let norm = |v: &str| {
        v.split('?')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches('/')
            .to_ascii_lowercase()
    };
    let (v, p) = (norm(value), norm(metrics_path));
    !p.is_empty() && (v == p || v.ends_with(&format!("/{p}")))
}

/// True for a sample that counts scrapes of `metrics_path`.
fn counts_scrapes(labels: &[(String, String)], metrics_path: &str) -> bool {
    labels
        .iter()
        .any(|(n, v)| PATH_LABELS.contains(&n.as_str()) && is_metrics_path(v, metrics_path))
}

fn scrape_line(s: &Scrape) -> String {
    let ct = s
        .exchange
        .header("content-type")
        .unwrap_or("no Content-Type");
    format!(
        "{}, Content-Type: {ct}, {} bytes{}",
        s.exchange.request_line(),
        s.exchange.body_len,
        if s.exchange.body_truncated {
            " (truncated at run.max_body_bytes)"
        } else {
            ""
        }
    )
}

// ---------------------------------------------------------------------------------------------
// metrics.endpoint

/// `metrics.endpoint`: a Prometheus endpoint answers.
pub const ENDPOINT: CheckMeta = CheckMeta {
    id: "metrics.endpoint",
    title: "Metrics endpoint",
    problem: "No metrics endpoint",
    category: Category::Observability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "GET /metrics (/actuator/prometheus, /q/metrics, or configured) with the full \
           Prometheus Accept header — fail: absent",
    remediation: "Expose Prometheus metrics (a client library's handler on /metrics, Spring \
                  Boot's /actuator/prometheus, Quarkus /q/metrics), reachable from the \
                  monitoring network; name a non-standard path in `[metrics] path`.",
    references: &[
        "https://prometheus.io/docs/instrumenting/exposition_formats/",
        "https://prometheus.io/docs/instrumenting/clientlibs/",
    ],
    judge: endpoint,
};

/// Judges `metrics.endpoint`.
pub fn endpoint(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = obs.metrics.get()?;
    match (&m.first, &m.path) {
        // A catch-all route answering 200 with the app's page is not a metrics endpoint.
        (Some(s), Some(path)) if s.exchange.is_html_document() => Ok(Judgement::fail(format!(
            "{path} answers with an HTML page (a catch-all route), not with metrics."
        ))
        .evidence(scrape_line(s))
        .evidence_all(m.tried.iter().cloned())),
        (Some(s), Some(path)) => {
            Ok(Judgement::pass(format!("Metrics are served at {path}.")).evidence(scrape_line(s)))
        }
        _ => Ok(
            Judgement::fail("No metrics endpoint answered 2xx at any of the paths tried.")
                .evidence_all(m.tried.iter().cloned()),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// metrics.format

/// `metrics.format`: the exposition parses strictly.
pub const FORMAT: CheckMeta = CheckMeta {
    id: "metrics.format",
    title: "Metrics exposition format",
    problem: "The metrics exposition is invalid",
    category: Category::Observability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "strict parse chosen by Content-Type (0.0.4 or OpenMetrics 1.0) — fail: \
           invalid/truncated (no `# EOF` in OpenMetrics, no `+Inf`, non-cumulative buckets, \
           duplicate series, not an exposition at all); warn: recoverable",
    remediation: "Serve the exposition with a client library's own handler and its Content-Type \
                  (`text/plain; version=0.0.4` or `application/openmetrics-text; \
                  version=1.0.0`); do not hand-write it or route /metrics to an HTML page. Fix \
                  the lines named in the evidence: Prometheus rejects or misreads them.",
    references: &[
        "https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format",
        "https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md",
    ],
    judge: format,
};

/// Judges `metrics.format`.
pub fn format(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (_, s) = scrape_of(obs)?;
    let e = &s.exposition;
    let summary_line = format!(
        "parsed as {}: {} samples in {} families, {} errors, {} warnings, {} lines",
        e.format.describe(),
        e.sample_count(),
        e.families.len(),
        e.error_count,
        e.warning_count,
        e.lines
    );
    let problems = |list: &[crate::exposition::Problem]| -> Vec<String> {
        list.iter().take(5).map(|p| p.to_string()).collect()
    };
    let base = vec![scrape_line(s), summary_line];
    if s.exchange.body_truncated {
        return Ok(Judgement::fail(format!(
            "The exposition is larger than the {}-byte body cap and was cut, so it cannot be validated whole.",
            s.exchange.body_len
        ))
        .evidence_all(base)
        .remediation(
            "Reduce the exposition (drop unused series, high-cardinality labels) or raise \
             run.max_body_bytes if the size is intended.",
        ));
    }
    if !e.is_valid() {
        let what = if s.exchange.is_html_document() {
            "The metrics endpoint answered with an HTML page, not a Prometheus exposition."
                .to_string()
        } else {
            format!(
                "The exposition is invalid: {} error(s), first: {}.",
                e.error_count,
                e.errors
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )
        };
        return Ok(Judgement::fail(what)
            .evidence_all(base)
            .evidence_all(problems(&e.errors)));
    }
    if e.sample_count() == 0 {
        return Ok(
            Judgement::warn("The exposition is valid but has no samples.").evidence_all(base),
        );
    }
    if e.capped {
        return Ok(Judgement::warn(
            "The exposition exceeds the parser's line or series cap; only the first part was validated.",
        )
        .evidence_all(base));
    }
    if e.warning_count > 0 {
        return Ok(Judgement::warn(format!(
            "The exposition parses, with {} recoverable problem(s).",
            e.warning_count
        ))
        .evidence_all(base)
        .evidence_all(problems(&e.warnings)));
    }
    Ok(Judgement::pass(format!(
        "The exposition is valid {} ({} samples).",
        e.format.describe(),
        e.sample_count()
    ))
    .evidence_all(base))
}

// ---------------------------------------------------------------------------------------------
// metrics.path_cardinality

/// `metrics.path_cardinality`: raw request paths never become label values.
pub const PATH_CARDINALITY: CheckMeta = CheckMeta {
    id: "metrics.path_cardinality",
    title: "Raw paths as metric labels",
    problem: "Raw request paths become metric labels",
    category: Category::Observability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "request `/__readyprobe_<uuid>`, re-scrape — fail: the uuid appears as a label value",
    remediation: "Label request metrics with the route template (`/api/orders/{id}`), never the \
                  raw path; collapse unmatched paths into one value (`route=\"unmatched\"`). \
                  Every unique URL otherwise creates a new series until Prometheus runs out of \
                  memory.",
    references: &[
        "https://prometheus.io/docs/practices/naming/#labels",
        "https://prometheus.io/docs/practices/instrumentation/#do-not-overuse-labels",
    ],
    judge: path_cardinality,
};

/// Judges `metrics.path_cardinality`.
pub fn path_cardinality(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (_, live) = live_of(obs)?;
    let e = parsed(&live.after, "second")?;
    let hits: Vec<String> = e
        .families
        .iter()
        .flat_map(|f| f.samples.iter())
        .filter_map(|s| {
            s.labels
                .iter()
                .find(|(_, v)| v.contains(&live.token))
                .map(|(n, v)| format!("{}{{{n}=\"{v}\"}}", s.name))
        })
        .collect();
    let sent = format!(
        "sent {} requests between the scrapes, the last to {}: {}",
        live.requests.len(),
        live.unique_path,
        live.requests.last().cloned().unwrap_or_default()
    );
    if let Some(first) = hits.first() {
        return Ok(Judgement::fail(format!(
            "The unique path {} appeared as a label value in {} sample(s): every URL becomes a new series.",
            live.unique_path,
            hits.len()
        ))
        .evidence(sent)
        .evidence(format!("second scrape ({}): {first}", live.after.exchange.request_line())));
    }
    if Red::find(e).is_empty() {
        return Ok(Judgement::skipped(
            "There are no request metrics whose labels could carry the path (see metrics.red).",
        ));
    }
    Ok(Judgement::pass(format!(
        "The unique path {} did not appear in any label value after it was requested.",
        live.unique_path
    ))
    .evidence(sent)
    .evidence(format!(
        "second scrape: {} samples, none with a label value containing the token",
        e.sample_count()
    )))
}

// ---------------------------------------------------------------------------------------------
// metrics.cardinality

/// `metrics.cardinality`: series per family stay bounded.
pub const CARDINALITY: CheckMeta = CheckMeta {
    id: "metrics.cardinality",
    title: "Metric cardinality",
    problem: "Metric cardinality is unbounded",
    category: Category::Observability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "series per family, ID-like label values — warn > 1,000 series in a family or ID-like \
           values (UUIDs, long numbers, hex ids, e-mails); fail > 10,000",
    remediation: "Drop unbounded labels (user ids, request ids, raw paths, e-mail addresses) \
                  from metrics; keep them in logs and traces. Aggregate per route template and \
                  status class instead.",
    references: &["https://prometheus.io/docs/practices/naming/#labels"],
    judge: cardinality,
};

/// True for label values that look like identifiers.
pub fn id_like(v: &str) -> bool {
    let hex = v.chars().filter(char::is_ascii_hexdigit).count();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let uuid = v.len() == 36 && v.chars().filter(|c| *c == '-').count() == 4 && hex == 32;
    let long_hex = v.len() >= 16 && hex == v.len() && digits > 0;
    let long_number = v.len() >= 6 && digits == v.len();
    let email = v.contains('@') && v.contains('.') && !v.contains(' ');
    uuid || long_hex || long_number || email
}

/// Judges `metrics.cardinality`.
pub fn cardinality(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (_, s) = scrape_of(obs)?;
    let e = parsed(s, "first")?;
    let mut sizes: Vec<(&str, usize)> = e
        .families
        .iter()
        .map(|f| (f.name.as_str(), f.series_count()))
        .collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = sizes
        .iter()
        .take(3)
        .map(|(n, c)| format!("{n}: {c} series"))
        .collect();
    let ids: Vec<String> = e
        .families
        .iter()
        .flat_map(|f| f.samples.iter())
        .flat_map(|s| {
            s.labels
                .iter()
                .filter(|(n, v)| n != "le" && n != "quantile" && id_like(v))
                .map(move |(n, v)| format!("{}{{{n}=\"{v}\"}}", s.name))
        })
        .take(3)
        .collect();
    let largest = sizes.first().map(|x| x.1).unwrap_or(0);
    let base = format!(
        "{} families, {} samples; largest: {}",
        e.families.len(),
        e.sample_count(),
        if top.is_empty() {
            "none".to_string()
        } else {
            top.join(", ")
        }
    );
    if largest > cfg.metrics_series_fail {
        return Ok(Judgement::fail(format!(
            "A metric family has {largest} series, above {}.",
            cfg.metrics_series_fail
        ))
        .evidence(base)
        .evidence_all(ids));
    }
    if largest > cfg.metrics_series_warn || !ids.is_empty() {
        let why = if ids.is_empty() {
            format!(
                "a metric family has {largest} series, above {}",
                cfg.metrics_series_warn
            )
        } else {
            "label values look like identifiers (unbounded cardinality)".to_string()
        };
        return Ok(Judgement::warn(format!("Cardinality risk: {why}."))
            .evidence(base)
            .evidence_all(ids));
    }
    Ok(Judgement::pass(format!(
        "Series per family stay bounded (largest {largest})."
    ))
    .evidence(base))
}

// ---------------------------------------------------------------------------------------------
// metrics.runtime

/// `metrics.runtime`: runtime/process collectors are exported.
pub const RUNTIME: CheckMeta = CheckMeta {
    id: "metrics.runtime",
    title: "Runtime metrics",
    problem: "Runtime metrics are missing or show trouble",
    category: Category::Observability,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "process_* / go_* / jvm_* / nodejs_* — warn: none; warn: fd use > 80%; warn: the \
           process restarted between scrapes (process_start_time_seconds changed)",
    remediation: "Register the client library's process and runtime collectors (memory, CPU, \
                  file descriptors, GC, threads, start time) so restarts and leaks show up.",
    references: &[
        "https://prometheus.io/docs/instrumenting/writing_clientlibs/#standard-and-runtime-collectors",
    ],
    judge: runtime,
};

fn gauge(e: &Exposition, name: &str) -> Option<f64> {
    e.samples_named(name).next().map(|s| s.value)
}

/// Judges `metrics.runtime`.
pub fn runtime(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let (m, s) = scrape_of(obs)?;
    let e = parsed(s, "first")?;
    let found: Vec<&str> = RUNTIME_PREFIXES
        .iter()
        .copied()
        .filter(|p| e.families.iter().any(|f| f.name.starts_with(p)))
        .collect();
    if found.is_empty() {
        return Ok(
            Judgement::warn("No process or runtime metrics are exported.")
                .evidence(scrape_line(s))
                .evidence(format!(
                    "no family starts with {}",
                    RUNTIME_PREFIXES.join(", ")
                )),
        );
    }
    let mut evidence = vec![format!(
        "runtime families: {}",
        found
            .iter()
            .map(|p| format!("{p}*"))
            .collect::<Vec<_>>()
            .join(", ")
    )];
    if let (Some(open), Some(max)) = (gauge(e, "process_open_fds"), gauge(e, "process_max_fds"))
        && max > 0.0
    {
        evidence.push(format!("process_open_fds {open} of process_max_fds {max}"));
        if open / max > 0.8 {
            return Ok(Judgement::warn(format!(
                "The process uses {:.0}% of its file descriptors.",
                open / max * 100.0
            ))
            .evidence_all(evidence));
        }
    }
    let start_before = gauge(e, "process_start_time_seconds");
    // A second scrape that failed to parse says nothing about a restart.
    let start_after = m
        .live
        .observed()
        .and_then(|l| parsed(&l.after, "second").ok())
        .and_then(|after| gauge(after, "process_start_time_seconds"));
    if let (Some(a), Some(b)) = (start_before, start_after) {
        evidence.push(format!("process_start_time_seconds {a} then {b}"));
        if a != b {
            return Ok(Judgement::warn(
                "The process restarted between the two scrapes (process_start_time_seconds changed).",
            )
            .evidence_all(evidence));
        }
    }
    Ok(Judgement::pass(format!(
        "Runtime metrics are exported ({}).",
        found.join(", ")
    ))
    .evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// metrics.exposure

/// `metrics.exposure`: metrics are not served on the public origin.
pub const EXPOSURE: CheckMeta = CheckMeta {
    id: "metrics.exposure",
    title: "Metrics on the public origin",
    problem: "Metrics are public on the audited origin",
    category: Category::Observability,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "/metrics on the public origin without credentials — warn",
    remediation: "Serve metrics on a separate internal port or path blocked at the edge, or \
                  require credentials; metrics reveal routes, versions and traffic patterns.",
    references: &["https://prometheus.io/docs/operating/security/"],
    judge: exposure,
};

/// Judges `metrics.exposure`.
pub fn exposure(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = obs.metrics.get()?;
    let Some(s) = &m.first else {
        return Ok(
            Judgement::pass("No metrics endpoint answers on the audited origin.")
                .evidence_all(m.tried.iter().cloned()),
        );
    };
    if s.exchange.is_html_document() {
        return Ok(Judgement::skipped(
            "The metrics path answers an HTML page, not metrics (see metrics.endpoint).",
        ));
    }
    let with_credentials =
        s.exchange.request_headers.iter().any(|(n, _)| {
            n.eq_ignore_ascii_case("authorization") || n.eq_ignore_ascii_case("cookie")
        });
    if with_credentials {
        return Ok(Judgement::skipped(
            "The scrape carried configured credentials, so public exposure cannot be judged.",
        ));
    }
    Ok(
        Judgement::warn("Metrics are served on the audited origin to anyone, without credentials.")
            .evidence(scrape_line(s)),
    )
}

mod red;
pub use red::*;

#[cfg(test)]
mod tests;
