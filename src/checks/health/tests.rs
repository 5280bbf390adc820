//! Tests of `health`.

use super::*;
use crate::checks::fixtures::{
    evidence_text, health, health_failed, judge, latency as latency_obs, obs_with_health, try_judge,
};
use crate::model::Outcome;
use crate::observations::HealthProbe;

use HealthKind::{Generic, Liveness, Readiness};

fn missing(path: &str, kind: HealthKind) -> HealthProbe {
    health(path, kind, 404, "Not Found")
}

// -- health.endpoints

#[test]
fn endpoints_liveness_and_readiness_pass() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "ok"),
        health("/readyz", Readiness, 200, "ok"),
        missing("/health", Generic),
        missing("/actuator/health", Generic),
    ]);
    let j = judge(&ENDPOINTS, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(
        j.summary
            .contains("Liveness (/livez) and readiness (/readyz)")
    );
    assert_eq!(
        j.evidence[0],
        "GET https://app.example.com/livez → 200 (liveness)"
    );
    assert_eq!(
        j.evidence[1],
        "GET https://app.example.com/readyz → 200 (readiness)"
    );
    assert_eq!(
        j.evidence[2],
        "2 of 4 candidates answered 404/405/410: /health, /actuator/health"
    );
}

#[test]
fn endpoints_generic_plus_readiness_pass() {
    let obs = obs_with_health(vec![
        health("/actuator/health", Generic, 200, r#"{"status":"UP"}"#),
        health(
            "/actuator/health/readiness",
            Readiness,
            200,
            r#"{"status":"UP"}"#,
        ),
    ]);
    assert_eq!(judge(&ENDPOINTS, &obs).outcome, Outcome::Pass);
}

#[test]
fn endpoints_only_generic_health_warns() {
    let obs = obs_with_health(vec![
        missing("/livez", Liveness),
        missing("/readyz", Readiness),
        health("/health", Generic, 200, "OK"),
    ]);
    let j = judge(&ENDPOINTS, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary
            .contains("Only a generic health endpoint answers (/health)")
    );
}

#[test]
fn endpoints_only_liveness_warns() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "ok"),
        missing("/readyz", Readiness),
    ]);
    let j = judge(&ENDPOINTS, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("no readiness endpoint"));
}

#[test]
fn endpoints_readiness_answering_503_still_exists() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "ok"),
        health("/readyz", Readiness, 503, "not ready"),
    ]);
    assert_eq!(judge(&ENDPOINTS, &obs).outcome, Outcome::Pass);
}

#[test]
fn endpoints_none_found_fails() {
    let obs = obs_with_health(vec![
        missing("/livez", Liveness),
        health("/readyz", Readiness, 405, ""),
        health("/health", Generic, 410, ""),
    ]);
    let j = judge(&ENDPOINTS, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("none of the 3 candidates"));
    assert!(evidence_text(&j).contains("3 of 3 candidates answered 404/405/410"));
}

#[test]
fn endpoints_all_probes_failed_is_unobserved_with_first_reason() {
    let obs = obs_with_health(vec![
        health_failed("/livez", Liveness, "GET /livez: no answer within 10s"),
        health_failed("/readyz", Readiness, "GET /readyz: no answer within 10s"),
    ]);
    assert_eq!(
        try_judge(&ENDPOINTS, &obs),
        Err(Unobserved::Failed(
            "GET /livez: no answer within 10s".into()
        ))
    );
}

#[test]
fn endpoints_some_failed_probes_are_listed() {
    let obs = obs_with_health(vec![
        health("/health", Generic, 200, "OK"),
        health_failed("/readyz", Readiness, "GET /readyz: cannot connect: reset"),
    ]);
    let j = judge(&ENDPOINTS, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(evidence_text(&j).contains("1 candidate could not be probed (first: GET /readyz"));
}

#[test]
fn endpoints_html_catch_all_page_is_not_a_health_endpoint() {
    let mut spa = health("/healthz", Liveness, 200, "");
    if let Probed::Observed(ex) = &mut spa.exchange {
        ex.headers = vec![("content-type".into(), "text/html; charset=utf-8".into())];
        ex.body = "<!DOCTYPE html><html><div id=app></div></html>".into();
    }
    let obs = obs_with_health(vec![spa, missing("/readyz", Readiness)]);
    let j = judge(&ENDPOINTS, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(evidence_text(&j).contains("likely a catch-all route"));
}

#[test]
fn endpoints_nothing_probed_is_skipped() {
    assert!(matches!(
        try_judge(&ENDPOINTS, &obs_with_health(Vec::new())),
        Err(Unobserved::Skipped(_))
    ));
}

// -- health.status_consistency

#[test]
fn status_consistency_agreeing_endpoints_pass() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "OK\n"),
        health(
            "/readyz",
            Readiness,
            503,
            r#"{"status":"fail","checks":{}}"#,
        ),
    ]);
    let j = judge(&STATUS_CONSISTENCY, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("2 health endpoints"));
    assert!(evidence_text(&j).contains("/readyz → 503, body says status \"fail\""));
}

#[test]
fn status_consistency_down_body_with_200_fails() {
    let obs = obs_with_health(vec![health(
        "/actuator/health",
        Generic,
        200,
        r#"{"status":"DOWN","components":{"db":{"status":"DOWN"}}}"#,
    )]);
    let j = judge(&STATUS_CONSISTENCY, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary
            .contains("/actuator/health answers 200 while its body says status \"DOWN\""),
        "{}",
        j.summary
    );
}

#[test]
fn status_consistency_passing_body_with_503_fails() {
    let obs = obs_with_health(vec![health(
        "/readyz",
        Readiness,
        503,
        r#"{"healthy":true}"#,
    )]);
    let j = judge(&STATUS_CONSISTENCY, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("healthy true"), "{}", j.summary);
}

#[test]
fn status_consistency_health_json_warn_counts_as_passing() {
    let obs = obs_with_health(vec![health(
        "/health",
        Generic,
        200,
        r#"{"Status":"warn"}"#,
    )]);
    assert_eq!(judge(&STATUS_CONSISTENCY, &obs).outcome, Outcome::Pass);
}

#[test]
fn status_consistency_out_of_service_with_200_fails() {
    let obs = obs_with_health(vec![health(
        "/actuator/health/readiness",
        Readiness,
        200,
        r#"{"status":"OUT_OF_SERVICE"}"#,
    )]);
    assert_eq!(judge(&STATUS_CONSISTENCY, &obs).outcome, Outcome::Fail);
}

#[test]
fn status_consistency_unrecognisable_bodies_are_skipped() {
    let obs = obs_with_health(vec![
        health("/health", Generic, 200, ""),
        health("/readyz", Readiness, 200, r#"{"uptime": 12, "#),
    ]);
    let j = judge(&STATUS_CONSISTENCY, &obs);
    assert_eq!(j.outcome, Outcome::Skipped);
    assert!(evidence_text(&j).contains("body states no recognisable status"));
}

#[test]
fn status_consistency_without_endpoints_is_skipped() {
    let obs = obs_with_health(vec![missing("/livez", Liveness)]);
    assert_eq!(judge(&STATUS_CONSISTENCY, &obs).outcome, Outcome::Skipped);
}

// -- health.separation

#[test]
fn separation_distinct_answers_pass() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, r#"{"status":"pass"}"#),
        health(
            "/readyz",
            Readiness,
            200,
            r#"{"status":"pass","checks":{"db":[]}}"#,
        ),
    ]);
    let j = judge(&SEPARATION, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("different bodies"));
    assert!(evidence_text(&j).contains("/livez → 200 (liveness), body {\"status\":\"pass\"}"));
}

#[test]
fn separation_identical_answers_warn() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "ok"),
        health("/readyz", Readiness, 200, "ok"),
    ]);
    let j = judge(&SEPARATION, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("byte-identically"));
}

#[test]
fn separation_uses_generic_when_no_liveness() {
    let obs = obs_with_health(vec![
        health("/health", Generic, 200, "ok"),
        health("/readyz", Readiness, 503, "ok"),
    ]);
    let j = judge(&SEPARATION, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("status 200 vs 503"));
}

#[test]
fn separation_without_pair_is_skipped() {
    let obs = obs_with_health(vec![health("/health", Generic, 200, "ok")]);
    let j = judge(&SEPARATION, &obs);
    assert_eq!(j.outcome, Outcome::Skipped);
    assert!(j.summary.contains("no liveness"));
}

// -- health.readiness_depth

#[test]
fn readiness_depth_health_json_dependencies_pass() {
    let body = r#"{"status":"pass","checks":{"postgres:connection":[{"status":"pass"}],"uptime":[{"status":"pass"}]}}"#;
    let obs = obs_with_health(vec![health("/readyz", Readiness, 200, body)]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("postgres:connection"), "{}", j.summary);
    assert!(
        evidence_text(&j).contains("uptime (trivial)"),
        "{:?}",
        j.evidence
    );
}

#[test]
fn readiness_depth_spring_components_pass() {
    let body = r#"{"status":"UP","components":{"diskSpace":{"status":"UP"},"redisHealth":{"status":"UP"},"ping":{"status":"UP"}}}"#;
    let obs = obs_with_health(vec![
        health("/actuator/health", Generic, 200, body),
        missing("/actuator/health/readiness", Readiness),
    ]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("redisHealth"));
}

#[test]
fn readiness_depth_microprofile_checks_array_passes() {
    let body =
        r#"{"status":"UP","checks":[{"name":"Database connections health check","status":"UP"}]}"#;
    let obs = obs_with_health(vec![health("/q/health/ready", Readiness, 200, body)]);
    assert_eq!(judge(&READINESS_DEPTH, &obs).outcome, Outcome::Pass);
}

#[test]
fn readiness_depth_only_trivial_components_warn() {
    let body = r#"{"status":"UP","components":{"readinessState":{"status":"UP"},"diskSpace":{"status":"UP"},"ping":{"status":"UP"}}}"#;
    let obs = obs_with_health(vec![health(
        "/actuator/health/readiness",
        Readiness,
        200,
        body,
    )]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("only trivial components"),
        "{}",
        j.summary
    );
}

#[test]
fn readiness_depth_shallow_status_ok_warns() {
    let obs = obs_with_health(vec![health(
        "/readyz",
        Readiness,
        200,
        r#"{"status":"ok"}"#,
    )]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("shallow"));
}

#[test]
fn readiness_depth_unclear_component_names_warn_mildly() {
    let body = r#"{"status":"pass","checks":{"orders-sync":[]}}"#;
    let obs = obs_with_health(vec![health("/readyz", Readiness, 200, body)]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(j.score, Some(0.75));
}

#[test]
fn readiness_depth_spring_details_hidden_is_skipped() {
    let obs = obs_with_health(vec![health(
        "/actuator/health",
        Generic,
        200,
        r#"{"status":"UP","groups":["liveness","readiness"]}"#,
    )]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert_eq!(j.outcome, Outcome::Skipped);
    assert!(j.summary.starts_with("Details hidden"), "{}", j.summary);
}

#[test]
fn readiness_depth_without_readiness_or_generic_is_skipped() {
    let obs = obs_with_health(vec![health("/livez", Liveness, 200, "ok")]);
    assert_eq!(judge(&READINESS_DEPTH, &obs).outcome, Outcome::Skipped);
}

#[test]
fn readiness_depth_hostile_body_with_many_components_is_bounded() {
    let many: Vec<String> = (0..5000).map(|i| format!("\"c{i}\":{{}}")).collect();
    let body = format!("{{\"checks\":{{{}}}}}", many.join(","));
    let obs = obs_with_health(vec![health("/readyz", Readiness, 200, &body)]);
    let j = judge(&READINESS_DEPTH, &obs);
    assert!(
        j.evidence
            .iter()
            .all(|l| l.chars().count() <= EVIDENCE_MAX + 1)
    );
    assert!(j.summary.len() < 2000);
}

#[test]
fn component_words_split_on_case_and_punctuation() {
    assert_eq!(words("diskSpace"), vec!["disk", "space"]);
    assert_eq!(words("postgres:connection"), vec!["postgres", "connection"]);
    assert_eq!(classify("mongodb"), ComponentKind::Dependency);
    assert_eq!(classify("livenessState"), ComponentKind::Trivial);
    assert_eq!(classify("feedback"), ComponentKind::Unclear);
}

// -- health.latency

#[test]
fn latency_fast_samples_pass_with_percentiles() {
    let samples: Vec<f64> = (1..=20).map(f64::from).collect();
    let j = judge(&LATENCY, &latency_obs(&samples, 0, 0));
    assert_eq!(j.outcome, Outcome::Pass);
    assert_eq!(
        j.evidence,
        vec!["20 samples of /livez, /readyz: p50 10.0 ms, p95 19.0 ms, max 20.0 ms, 0 timeouts"]
    );
}

#[test]
fn latency_slow_p95_warns() {
    let mut samples = vec![10.0; 18];
    samples.extend([900.0, 1200.0]);
    let j = judge(&LATENCY, &latency_obs(&samples, 0, 0));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("p95 900.0 ms is above 500 ms"),
        "{}",
        j.summary
    );
}

#[test]
fn latency_timeouts_fail() {
    let j = judge(&LATENCY, &latency_obs(&[5.0; 19], 1, 0));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("1 of 20"), "{}", j.summary);
    assert!(evidence_text(&j).contains("1 timeouts"));
}

#[test]
fn latency_no_samples_with_failures_fails_with_first_failure() {
    let j = judge(&LATENCY, &latency_obs(&[], 0, 20));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(evidence_text(&j).contains("cannot connect: reset"));
}

#[test]
fn latency_unsorted_and_nan_samples_are_handled() {
    let j = judge(
        &LATENCY,
        &latency_obs(&[3.0, f64::NAN, 1.0, 2.0, f64::INFINITY], 0, 0),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(
        evidence_text(&j).starts_with("3 samples"),
        "{:?}",
        j.evidence
    );
    assert!(evidence_text(&j).contains("p50 2.0 ms, p95 3.0 ms, max 3.0 ms"));
}

#[test]
fn latency_failed_probe_is_unobserved() {
    let mut obs = latency_obs(&[], 0, 0);
    obs.health_latency = Probed::Failed("GET /livez: cannot connect".into());
    assert!(matches!(
        try_judge(&LATENCY, &obs),
        Err(Unobserved::Failed(_))
    ));
}

#[test]
fn latency_threshold_comes_from_config() {
    let obs = latency_obs(&[100.0; 20], 0, 0);
    let mut cfg = crate::checks::fixtures::cfg();
    cfg.health_p95_warn_ms = 50.0;
    assert_eq!(latency(&obs, &cfg).map(|j| j.outcome), Ok(Outcome::Warn));
}
