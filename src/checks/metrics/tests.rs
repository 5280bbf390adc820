//! Tests of `metrics`.

use super::*;
use crate::checks::fixtures::exchange_at;
use crate::exposition::{Limits, parse};
use crate::observations::Probed;

const HARDENED: &str = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 5\n\
# TYPE http_request_duration_seconds histogram\n\
http_request_duration_seconds_bucket{route=\"/\",le=\"0.1\"} 5\n\
http_request_duration_seconds_bucket{route=\"/\",le=\"+Inf\"} 5\n\
http_request_duration_seconds_sum{route=\"/\"} 0.02\n\
http_request_duration_seconds_count{route=\"/\"} 5\n\
# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000\n";

fn scrape(body: &str, ct: &str) -> Scrape {
    let ex = exchange_at(
        "https://app.example.com/metrics",
        200,
        &[("Content-Type", ct)],
        body,
    );
    Scrape {
        exposition: parse(body, Some(ct), Limits::default()),
        exchange: ex,
    }
}

fn obs(first: &str, after: Option<&str>, token: &str) -> Observations {
    let ct = "text/plain; version=0.0.4";
    Observations {
        metrics: Probed::Observed(MetricsObservation {
            tried: vec!["GET https://app.example.com/metrics → 200".into()],
            path: Some("/metrics".into()),
            first: Some(scrape(first, ct)),
            live: match after {
                Some(a) => Probed::Observed(LiveProbe {
                    requests: vec![
                        "GET https://app.example.com/ → 200".into(),
                        format!("GET https://app.example.com/__readyprobe_{token} → 404"),
                    ],
                    unique_path: format!("/__readyprobe_{token}"),
                    token: token.into(),
                    answered: None,
                    after: scrape(a, ct),
                }),
                None => Probed::Skipped("no".into()),
            },
        }),
        ..Observations::default()
    }
}

fn run(meta: &CheckMeta, o: &Observations) -> Judgement {
    (meta.judge)(o, &JudgeConfig::default()).expect("judged")
}

#[test]
fn endpoint_absent_fails_with_paths_tried() {
    let o = Observations {
        metrics: Probed::Observed(MetricsObservation {
            tried: vec!["GET https://x/metrics → 404".into()],
            path: None,
            first: None,
            live: Probed::Skipped("none".into()),
        }),
        ..Observations::default()
    };
    let j = run(&ENDPOINT, &o);
    assert_eq!(j.outcome, crate::model::Outcome::Fail);
    assert!(j.evidence[0].contains("→ 404"));
    assert!(matches!(
        format(&o, &JudgeConfig::default()),
        Err(Unobserved::Skipped(_))
    ));
}

#[test]
fn html_on_metrics_is_invalid_format() {
    let page = "<!DOCTYPE html>\n<html><body>hi</body></html>\n";
    let mut o = obs(page, None, "t");
    if let Probed::Observed(m) = &mut o.metrics
        && let Some(s) = &mut m.first
    {
        *s = scrape(page, "text/html; charset=utf-8");
    }
    let j = run(&FORMAT, &o);
    assert_eq!(j.outcome, crate::model::Outcome::Fail);
    assert!(j.summary.contains("HTML page"), "{}", j.summary);
    assert!(
        j.evidence.iter().any(|e| e.contains("line 1")),
        "{:?}",
        j.evidence
    );
}

#[test]
fn truncated_body_fails_format() {
    let mut o = obs(HARDENED, None, "t");
    if let Probed::Observed(m) = &mut o.metrics
        && let Some(s) = &mut m.first
    {
        s.exchange.body_truncated = true;
    }
    let j = run(&FORMAT, &o);
    assert_eq!(j.outcome, crate::model::Outcome::Fail);
    assert!(j.summary.contains("cut"), "{}", j.summary);
}

#[test]
fn valid_format_passes() {
    assert_eq!(
        run(&FORMAT, &obs(HARDENED, None, "t")).outcome,
        crate::model::Outcome::Pass
    );
}

#[test]
fn red_passes_on_counter_with_status_and_seconds_histogram() {
    let j = run(&RED, &obs(HARDENED, None, "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Pass, "{}", j.summary);
}

#[test]
fn red_warns_on_summary_in_milliseconds() {
    let body = "# TYPE http_requests_total counter\nhttp_requests_total{path=\"/\"} 3\n\
# TYPE http_request_duration_ms summary\nhttp_request_duration_ms{quantile=\"0.5\"} 3\n\
http_request_duration_ms_sum 9\nhttp_request_duration_ms_count 3\n";
    let j = run(&RED, &obs(body, None, "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Warn);
    assert!(j.summary.contains("summary only"), "{}", j.summary);
    assert!(j.summary.contains("milliseconds"), "{}", j.summary);
    assert!(j.summary.contains("no status label"), "{}", j.summary);
}

#[test]
fn red_recognises_micrometer_and_opentelemetry() {
    let micrometer = "# TYPE http_server_requests_seconds histogram\n\
http_server_requests_seconds_bucket{uri=\"/\",status=\"200\",le=\"+Inf\"} 2\n\
http_server_requests_seconds_count{uri=\"/\",status=\"200\"} 2\n\
http_server_requests_seconds_sum{uri=\"/\",status=\"200\"} 0.1\n";
    assert_eq!(
        run(&RED, &obs(micrometer, None, "t")).outcome,
        crate::model::Outcome::Pass
    );
    let otel = "# TYPE http_server_request_duration_seconds histogram\n\
http_server_request_duration_seconds_bucket{http_route=\"/\",http_response_status_code=\"200\",le=\"+Inf\"} 2\n\
http_server_request_duration_seconds_count{http_route=\"/\",http_response_status_code=\"200\"} 2\n\
http_server_request_duration_seconds_sum{http_route=\"/\",http_response_status_code=\"200\"} 0.1\n";
    assert_eq!(
        run(&RED, &obs(otel, None, "t")).outcome,
        crate::model::Outcome::Pass
    );
}

#[test]
fn red_fails_without_request_metrics() {
    let j = run(&RED, &obs("# TYPE up gauge\nup 1\n", None, "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Fail);
}

#[test]
fn red_live_needs_moving_counters() {
    let after = HARDENED.replace("status=\"200\"} 5", "status=\"200\"} 8");
    assert_eq!(
        run(&RED_LIVE, &obs(HARDENED, Some(&after), "t")).outcome,
        crate::model::Outcome::Pass
    );
    let j = run(&RED_LIVE, &obs(HARDENED, Some(HARDENED), "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Fail);
    assert!(
        j.evidence[0].contains("5 before, 5 after"),
        "{:?}",
        j.evidence
    );
    let reset = HARDENED.replace("status=\"200\"} 5", "status=\"200\"} 1");
    assert_eq!(
        run(&RED_LIVE, &obs(HARDENED, Some(&reset), "t")).outcome,
        crate::model::Outcome::Warn
    );
}

/// A Go service behind the metrics path: `promhttp_*` counts scrapes, `http_requests_total`
/// has a handler label, and only the scrape series (handler="/metrics") move.
const SCRAPES_ONLY: &str = "# TYPE http_requests_total counter\n\
http_requests_total{handler=\"/metrics\",code=\"200\"} 7\n\
http_requests_total{handler=\"/orders\",code=\"200\"} 3\n\
# TYPE promhttp_metric_handler_requests_total counter\n\
promhttp_metric_handler_requests_total{code=\"200\"} 7\n";

#[test]
fn red_live_scrapes_of_the_metrics_path_do_not_count() {
    let after = SCRAPES_ONLY
        .replace(
            "\"/metrics\",code=\"200\"} 7",
            "\"/metrics\",code=\"200\"} 8",
        )
        .replace("code=\"200\"} 7\n", "code=\"200\"} 8\n");
    let j = run(&RED_LIVE, &obs(SCRAPES_ONLY, Some(&after), "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Fail, "{}", j.summary);
    assert!(
        j.summary.contains("Only the scrapes of /metrics"),
        "{}",
        j.summary
    );
    assert!(
        j.evidence[0]
            .contains("without the 1 series counting scrapes of /metrics: 3 before, 3 after"),
        "{:?}",
        j.evidence
    );
}

#[test]
fn red_live_ignores_the_go_scrape_counter_family() {
    // Only promhttp_* exists: no traffic counter at all.
    let body = "# TYPE promhttp_metric_handler_requests_total counter\n\
promhttp_metric_handler_requests_total{code=\"200\"} 7\n";
    let after = body.replace("} 7", "} 8");
    assert_eq!(
        run(&RED_LIVE, &obs(body, Some(&after), "t")).outcome,
        crate::model::Outcome::Skipped
    );
    assert_eq!(
        run(&RED, &obs(body, None, "t")).outcome,
        crate::model::Outcome::Fail
    );
}

#[test]
fn red_live_needs_a_move_of_at_least_the_requests_answered() {
    // An unlabelled counter of another service moves by its one scrape only: 2 were sent.
    let body = "# TYPE http_requests_total counter\nhttp_requests_total 10\n";
    let j = run(&RED_LIVE, &obs(body, Some(&body.replace("10", "11")), "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Fail, "{}", j.summary);
    assert!(j.summary.contains("moved by 1 after 2"), "{}", j.summary);
    let j = run(&RED_LIVE, &obs(body, Some(&body.replace("10", "13")), "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Pass, "{}", j.summary);
}

#[test]
fn metrics_path_matching_is_by_path_not_substring() {
    assert!(is_metrics_path("/metrics", "/metrics"));
    assert!(is_metrics_path("metrics", "/metrics"));
    assert!(is_metrics_path("/app/metrics", "/metrics"));
    assert!(is_metrics_path(
        "/actuator/prometheus",
        "/actuator/prometheus"
    ));
    assert!(!is_metrics_path("/api/metrics-report", "/metrics"));
    assert!(!is_metrics_path("/", "/metrics"));
}

/// An exposition with a duplicate series: metrics.format fails it.
const INVALID: &str = "# TYPE http_requests_total counter\n\
http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 5\n\
http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 6\n\
# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000\n";

#[test]
fn checks_reading_a_rejected_exposition_are_errors_with_the_reason() {
    let o = obs(INVALID, Some(INVALID), "t");
    assert_eq!(run(&FORMAT, &o).outcome, crate::model::Outcome::Fail);
    for meta in [&RED, &RED_LIVE, &PATH_CARDINALITY, &CARDINALITY, &RUNTIME] {
        match (meta.judge)(&o, &JudgeConfig::default()) {
            Err(Unobserved::Failed(reason)) => {
                assert!(reason.contains("cannot be judged"), "{}: {reason}", meta.id);
                assert!(
                    reason.contains("see metrics.format"),
                    "{}: {reason}",
                    meta.id
                );
            }
            other => panic!("{} judged a rejected exposition: {other:?}", meta.id),
        }
    }
}

#[test]
fn a_truncated_or_html_exposition_is_not_judged_in_fragments() {
    let mut o = obs(HARDENED, Some(HARDENED), "t");
    if let Probed::Observed(m) = &mut o.metrics
        && let Some(s) = &mut m.first
    {
        s.exchange.body_truncated = true;
    }
    assert!(matches!(
        red(&o, &JudgeConfig::default()),
        Err(Unobserved::Failed(r)) if r.contains("body cap")
    ));
    let page = "<!DOCTYPE html>\n<html><body>app</body></html>\n";
    let mut o = obs(page, None, "t");
    if let Probed::Observed(m) = &mut o.metrics
        && let Some(s) = &mut m.first
    {
        *s = scrape(page, "text/html; charset=utf-8");
    }
    assert_eq!(run(&ENDPOINT, &o).outcome, crate::model::Outcome::Fail);
    assert_eq!(run(&EXPOSURE, &o).outcome, crate::model::Outcome::Skipped);
    assert!(matches!(
        cardinality(&o, &JudgeConfig::default()),
        Err(Unobserved::Failed(r)) if r.contains("HTML page")
    ));
}

#[test]
fn raw_path_label_fails_path_cardinality() {
    let token = "0123456789abcdef0123456789abcdef";
    let after = format!(
        "{HARDENED}http_requests_total{{method=\"GET\",route=\"/__readyprobe_{token}\",status=\"404\"}} 1\n"
    );
    let j = run(&PATH_CARDINALITY, &obs(HARDENED, Some(&after), token));
    assert_eq!(j.outcome, crate::model::Outcome::Fail);
    assert!(
        j.evidence.iter().any(|e| e.contains("sent 2 requests")),
        "{:?}",
        j.evidence
    );
    assert!(j.evidence.iter().any(|e| e.contains(token)));
    let j = run(&PATH_CARDINALITY, &obs(HARDENED, Some(HARDENED), token));
    assert_eq!(j.outcome, crate::model::Outcome::Pass);
}

#[test]
fn cardinality_thresholds_and_id_like_values() {
    assert_eq!(
        run(&CARDINALITY, &obs(HARDENED, None, "t")).outcome,
        crate::model::Outcome::Pass
    );
    let ids = "m{user=\"3f2504e0-4f89-11d3-9a0c-0305e82c3301\"} 1\n";
    assert_eq!(
        run(&CARDINALITY, &obs(ids, None, "t")).outcome,
        crate::model::Outcome::Warn
    );
    let many: String = (0..1500).map(|i| format!("m{{i=\"v{i}\"}} 1\n")).collect();
    assert_eq!(
        run(&CARDINALITY, &obs(&many, None, "t")).outcome,
        crate::model::Outcome::Warn
    );
    assert!(id_like("1234567") && id_like("a@b.io") && !id_like("GET") && !id_like("200"));
}

#[test]
fn runtime_collectors_and_restarts() {
    assert_eq!(
        run(&RUNTIME, &obs(HARDENED, Some(HARDENED), "t")).outcome,
        crate::model::Outcome::Pass
    );
    let restarted = HARDENED.replace("1700000000", "1700000100");
    let j = run(&RUNTIME, &obs(HARDENED, Some(&restarted), "t"));
    assert_eq!(j.outcome, crate::model::Outcome::Warn);
    assert!(j.summary.contains("restarted"));
    let fds = "process_open_fds 900\nprocess_max_fds 1000\n";
    assert_eq!(
        run(&RUNTIME, &obs(fds, None, "t")).outcome,
        crate::model::Outcome::Warn
    );
    assert_eq!(
        run(&RUNTIME, &obs("up 1\n", None, "t")).outcome,
        crate::model::Outcome::Warn
    );
}

#[test]
fn public_metrics_warn() {
    assert_eq!(
        run(&EXPOSURE, &obs(HARDENED, None, "t")).outcome,
        crate::model::Outcome::Warn
    );
}
