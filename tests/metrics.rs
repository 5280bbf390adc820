//! `metrics.*` against real servers: Debian's `prometheus-node-exporter` (a real exporter, parsed
//! with zero errors), local servers that answer `/metrics` with an HTML page or an exposition
//! larger than the body cap, and property tests of the exposition parser.
//!
//! The property tests run `PROPTEST_CASES` cases (default 2,000 here). A long fuzzing run:
//! `PROPTEST_CASES=1000000 cargo test --release --test tests metrics::prop -- --nocapture`.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::get;
use proptest::prelude::*;
use readyprobe::checks::Catalogue;
use readyprobe::config::Config;
use readyprobe::engine::{self, Audit};
use readyprobe::exposition::{self, Family, Format, Limits, MetricType, Sample};
use readyprobe::model::Outcome;
use readyprobe::redact::Redactor;
use url::Url;

use crate::util::{self, servers};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";

fn audit(target: &str, config: Config) -> Audit {
    Audit {
        target: Url::parse(target).expect("url"),
        config,
        extra_roots: Vec::new(),
        headers: Vec::new(),
        redactor: Redactor::new(),
        catalogue: Arc::new(Catalogue::load(&[]).expect("catalogue")),
    }
}

fn config() -> Config {
    let mut config = Config::default();
    config.run.deadline = Duration::from_secs(20);
    config.run.timeout = Duration::from_secs(5);
    config.health.latency_samples = 2;
    config.perf.samples = 2;
    config
}

/// Kills the exporter when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts node_exporter on a free loopback port; `None` (skip) when it is not installed and
/// this is not CI.
fn start_node_exporter() -> Option<(KillOnDrop, u16)> {
    if !std::path::Path::new(NODE_EXPORTER).exists() {
        if util::in_ci() {
            panic!(
                "{NODE_EXPORTER} is missing; CI=true requires it (.ci/run installs prometheus-node-exporter)"
            );
        }
        eprintln!(
            "skipping: {NODE_EXPORTER} is not installed (apt-get install prometheus-node-exporter; under CI=true this fails)"
        );
        return None;
    }
    let port = util::closed_port();
    let child = Command::new(NODE_EXPORTER)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node_exporter");
    let guard = KillOnDrop(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "node_exporter did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((guard, port))
}

#[tokio::test]
async fn real_node_exporter_parses_with_zero_errors() {
    util::crypto();
    let Some((_exporter, port)) = start_node_exporter() else {
        return;
    };
    let out = engine::run(&audit(&format!("http://127.0.0.1:{port}/"), config()))
        .await
        .expect("run");
    let metrics = out
        .observations
        .metrics
        .observed()
        .expect("metrics observed");
    let scrape = metrics
        .first
        .as_ref()
        .expect("node_exporter serves /metrics");
    let e = &scrape.exposition;
    assert_eq!(e.error_count, 0, "{:#?}", e.errors);
    assert!(e.sample_count() > 100, "{} samples", e.sample_count());
    assert!(e.family("node_cpu_seconds_total").is_some() || e.family("node_cpu_seconds").is_some());
    let format = out
        .report
        .finding("metrics.format")
        .expect("metrics.format");
    assert!(
        matches!(format.outcome, Outcome::Pass | Outcome::Warn),
        "{format:?}"
    );
    assert!(
        format.evidence.iter().any(|l| l.contains("0 errors")),
        "{format:?}"
    );
    let endpoint = out.report.finding("metrics.endpoint").expect("endpoint");
    assert_eq!(endpoint.outcome, Outcome::Pass);
    let runtime = out.report.finding("metrics.runtime").expect("runtime");
    assert_eq!(runtime.outcome, Outcome::Pass, "{runtime:?}");
    // A host exporter counts only its own scrapes (promhttp_metric_handler_requests_total{code}),
    // with no duration histogram: RED is incomplete, never a pass.
    let red = out.report.finding("metrics.red").expect("red");
    assert_eq!(red.outcome, Outcome::Warn, "{red:?}");
    assert!(
        red.summary.contains("no duration histogram"),
        "{}",
        red.summary
    );
}

#[tokio::test]
async fn html_page_on_metrics_is_reported_invalid() {
    util::crypto();
    let page =
        "<!DOCTYPE html>\n<html><head><title>App</title></head><body>Welcome</body></html>\n";
    let app = Router::new().route(
        "/metrics",
        get(move || async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page) }),
    );
    let addr = servers::http(app).await;
    let out = engine::run(&audit(&format!("http://{addr}/"), config()))
        .await
        .expect("run");
    let format = out
        .report
        .finding("metrics.format")
        .expect("metrics.format");
    assert_eq!(format.outcome, Outcome::Fail, "{format:?}");
    assert!(format.summary.contains("HTML page"), "{}", format.summary);
    let evidence = format.evidence.join("\n");
    assert!(evidence.contains("text/html"), "{evidence}");
    assert!(evidence.contains("line 1: not a sample line"), "{evidence}");
    assert!(
        evidence.contains("0 samples") || evidence.contains("errors"),
        "{evidence}"
    );
}

#[tokio::test]
async fn exposition_larger_than_the_body_cap_is_reported_truncated() {
    util::crypto();
    let body: String = (0..5000)
        .map(|i| format!("app_items{{shard=\"{i}\"}} {i}\n"))
        .collect();
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body) }
        }),
    );
    let addr = servers::http(app).await;
    let mut cfg = config();
    cfg.run.max_body_bytes = 4096;
    let out = engine::run(&audit(&format!("http://{addr}/"), cfg))
        .await
        .expect("run");
    let format = out
        .report
        .finding("metrics.format")
        .expect("metrics.format");
    assert_eq!(format.outcome, Outcome::Fail, "{format:?}");
    assert!(
        format.evidence.join(" ").contains("truncated"),
        "{format:?}"
    );
}

#[tokio::test]
async fn raw_path_labels_are_caught_and_templates_pass() {
    use std::sync::Mutex;
    util::crypto();
    // A tiny service whose middleware labels requests by raw path.
    let seen: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let render = seen.clone();
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let seen = render.clone();
                async move {
                    let paths = seen.lock().map(|s| s.clone()).unwrap_or_default();
                    let mut body = String::from("# TYPE http_requests_total counter\n");
                    let mut counts = std::collections::BTreeMap::new();
                    for p in paths {
                        *counts.entry(p).or_insert(0u32) += 1;
                    }
                    for (p, n) in counts {
                        body.push_str(&format!(
                            "http_requests_total{{path=\"{p}\",code=\"200\"}} {n}\n"
                        ));
                    }
                    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
                }
            }),
        )
        .fallback(|| async { "ok" })
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let record = record.clone();
                async move {
                    if let Ok(mut s) = record.lock() {
                        s.push(req.uri().path().to_string());
                    }
                    next.run(req).await
                }
            },
        ));
    let addr = servers::http(app).await;
    let out = engine::run(&audit(&format!("http://{addr}/"), config()))
        .await
        .expect("run");
    let finding = out
        .report
        .finding("metrics.path_cardinality")
        .expect("path_cardinality");
    assert_eq!(finding.outcome, Outcome::Fail, "{finding:?}");
    assert!(
        finding.evidence.join(" ").contains("/__readyprobe_"),
        "{finding:?}"
    );
    let live = out.report.finding("metrics.red_live").expect("red_live");
    assert_eq!(live.outcome, Outcome::Pass, "{live:?}");
}

// ---------------------------------------------------------------------------------------------
// Property tests of the parser.

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// Text that looks like an exposition often enough to reach deep parser states.
fn exposition_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z_:{}=\",# \\n\\\\+Infa-f.0-9eE\\-\t]{0,300}",
        "(# (HELP|TYPE|UNIT|EOF) [a-z_]{1,6}( (counter|gauge|histogram|summary|unknown|untyped|info|stateset|gaugehistogram|x))?\\n|[a-z_]{1,6}(_bucket|_sum|_count|_total|_created)?(\\{(le|quantile|a)=\"[0-9.+Infa,\\\\\"]{0,6}\"(,)?\\})? [-+0-9.eInfNa]{1,8}( [0-9.]{1,5})?\\n){0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn prop_parser_never_panics(body in exposition_like(), om in any::<bool>(), caps in 1usize..50) {
        let ct = if om { "application/openmetrics-text; version=1.0.0" } else { "text/plain; version=0.0.4" };
        let e = exposition::parse(&body, Some(ct), Limits { max_lines: caps * 10, max_series: caps });
        prop_assert!(e.sample_count() <= caps);
        prop_assert!(e.errors.len() <= exposition::MAX_PROBLEMS);
        let _ = exposition::parse(&body, None, Limits::default());
    }

    #[test]
    fn prop_valid_expositions_round_trip(families in families(), om in any::<bool>()) {
        let format = if om { Format::OpenMetrics } else { Format::Text };
        let families = for_format(families, format);
        let text = exposition::render(&families, format);
        let ct = if om { "application/openmetrics-text; version=1.0.0" } else { "text/plain; version=0.0.4" };
        let parsed = exposition::parse(&text, Some(ct), Limits::default());
        prop_assert!(parsed.is_valid(), "{:?}\n{}", parsed.errors, text);
        prop_assert_eq!(parsed.warning_count, 0, "{:?}\n{}", parsed.warnings, text);
        let got: Vec<Family> = parsed.families.into_iter().map(|mut f| {
            for s in &mut f.samples { s.line = 0; }
            f
        }).collect();
        prop_assert_eq!(got, families, "{}", text);
    }
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof!["\\PC{0,12}", "[a-z,\"\\\\\\n ={}]{0,8}"]
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<i32>().prop_map(f64::from),
        -1.0e9f64..1.0e9,
        Just(f64::INFINITY),
        Just(0.0),
    ]
}

#[derive(Debug, Clone)]
enum Gen {
    Scalar(MetricType, Vec<(Vec<String>, f64)>),
    Histogram(Vec<f64>, Vec<u32>, f64),
}

fn families() -> impl Strategy<Value = Vec<(String, Option<String>, Gen)>> {
    let scalar = (
        prop_oneof![
            Just(MetricType::Counter),
            Just(MetricType::Gauge),
            Just(MetricType::Untyped)
        ],
        prop::collection::vec((prop::collection::vec(label_value(), 0..3), value()), 1..4),
    )
        .prop_map(|(kind, samples)| Gen::Scalar(kind, samples));
    let histogram = (
        prop::collection::btree_set(-1000i32..1000, 1..5),
        prop::collection::vec(0u32..100, 5),
        -1.0e6f64..1.0e6,
    )
        .prop_map(|(bounds, mut counts, sum)| {
            counts.sort_unstable();
            Gen::Histogram(
                bounds.into_iter().map(|b| f64::from(b) / 10.0).collect(),
                counts,
                sum,
            )
        });
    prop::collection::vec(
        (
            "[a-z][a-z0-9_:]{0,8}",
            prop::option::of("[A-Za-z0-9][ -~]{0,20}"),
            prop_oneof![scalar, histogram],
        ),
        0..6,
    )
}

/// Builds families valid in `format` from generated parts (names made unique by index).
fn for_format(parts: Vec<(String, Option<String>, Gen)>, format: Format) -> Vec<Family> {
    let sample = |name: String, labels: Vec<(String, String)>, value: f64| Sample {
        name,
        labels,
        value,
        line: 0,
    };
    parts
        .into_iter()
        .enumerate()
        .map(|(i, (base, help, g))| {
            let name = format!("m{i}_{base}_v");
            match g {
                Gen::Scalar(kind, samples) => {
                    let sample_name = match (kind, format) {
                        (MetricType::Counter, Format::OpenMetrics) => format!("{name}_total"),
                        _ => name.clone(),
                    };
                    let samples = samples
                        .into_iter()
                        .enumerate()
                        .map(|(k, (values, v))| {
                            let mut labels = vec![("i".to_string(), k.to_string())];
                            labels.extend(
                                values
                                    .into_iter()
                                    .enumerate()
                                    .map(|(j, v)| (format!("l{j}"), v)),
                            );
                            let v = if kind == MetricType::Counter {
                                v.abs()
                            } else {
                                v
                            };
                            sample(sample_name.clone(), labels, v)
                        })
                        .collect();
                    Family {
                        name,
                        kind,
                        help,
                        unit: None,
                        samples,
                    }
                }
                Gen::Histogram(bounds, counts, sum) => {
                    let mut samples: Vec<Sample> = bounds
                        .iter()
                        .zip(counts.iter())
                        .map(|(b, c)| {
                            sample(
                                format!("{name}_bucket"),
                                vec![("le".into(), exposition::format_value(*b))],
                                f64::from(*c),
                            )
                        })
                        .collect();
                    let total = f64::from(
                        counts[..bounds.len().min(counts.len())]
                            .last()
                            .copied()
                            .unwrap_or(0),
                    );
                    samples.push(sample(
                        format!("{name}_bucket"),
                        vec![("le".into(), "+Inf".into())],
                        total,
                    ));
                    samples.push(sample(format!("{name}_sum"), Vec::new(), sum));
                    samples.push(sample(format!("{name}_count"), Vec::new(), total));
                    Family {
                        name,
                        kind: MetricType::Histogram,
                        help,
                        unit: None,
                        samples,
                    }
                }
            }
        })
        .collect()
}
