//! Fixture bodies for every health format `health.ready_now` reads, taken from each project's
//! documentation (the source is cited above each one; where a project documents no body for a
//! state, the documented body is changed as little as possible and the comment says how), and a
//! test per format for pass, warn and fail.

use crate::checks::fixtures::{evidence_text, health, judge, obs_with_health};
use crate::checks::health::{READY_NOW, STATUS_CONSISTENCY};
use crate::model::Outcome;
use crate::observations::HealthKind::{Generic, Liveness, Readiness};
use crate::observations::HealthProbe;

// ---- health+json: draft-inadarei-api-health-check-06, section 5 "Example Output" -------------
// https://datatracker.ietf.org/doc/html/draft-inadarei-api-health-check-06#section-5
// (served 200 with `Content-Type: application/health+json`). The overall status is "pass" even
// though three checks warn: the publisher calls itself healthy.

const HEALTH_JSON_PASS: &str = r#"{
  "status": "pass",
  "version": "1",
  "releaseId": "1.2.2",
  "notes": [""],
  "output": "",
  "serviceId": "f03e522f-1f44-4062-9b55-9587f91c9c41",
  "description": "health of authz service",
  "checks": {
    "cassandra:responseTime": [
      { "componentId": "dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2", "componentType": "datastore",
        "observedValue": 250, "observedUnit": "ms", "status": "pass",
        "affectedEndpoints": ["/users/{userId}", "/customers/{customerId}/status", "/shopping/{anything}"],
        "time": "2018-01-17T03:36:48Z", "output": "" }
    ],
    "cassandra:connections": [
      { "componentId": "dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2", "componentType": "datastore",
        "observedValue": 75, "status": "warn", "time": "2018-01-17T03:36:48Z", "output": "",
        "links": { "self": "http://api.example.com/dbnode/dfd6cf2b/health" } }
    ],
    "uptime": [
      { "componentType": "system", "observedValue": 1209600.245, "observedUnit": "s",
        "status": "pass", "time": "2018-01-17T03:36:48Z" }
    ],
    "cpu:utilization": [
      { "componentId": "6fd416e0-8920-410f-9c7b-c479000f7227", "node": 1, "componentType": "system",
        "observedValue": 85, "observedUnit": "percent", "status": "warn",
        "time": "2018-01-17T03:36:48Z", "output": "" },
      { "componentId": "6fd416e0-8920-410f-9c7b-c479000f7227", "node": 2, "componentType": "system",
        "observedValue": 85, "observedUnit": "percent", "status": "warn",
        "time": "2018-01-17T03:36:48Z", "output": "" }
    ]
  },
  "links": { "about": "http://api.example.com/about/authz" }
}"#;

// The same example with the overall status the draft defines for "healthy, with some concerns"
// (section 3.1: "warn", still 2xx) and the top-level `output` it says to fill in then.
const HEALTH_JSON_WARN: &str = r#"{
  "status": "warn",
  "output": "cassandra connection pool at 75%",
  "checks": {
    "cassandra:connections": [
      { "componentId": "dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2", "componentType": "datastore",
        "observedValue": 75, "status": "warn", "output": "connection pool at 75%" }
    ],
    "uptime": [ { "componentType": "system", "observedValue": 1209600.245, "status": "pass" } ]
  }
}"#;

// Section 3.1: "fail" with a 4xx-5xx code; section 4.8: `output` carries the raw error of the
// failing check.
const HEALTH_JSON_FAIL: &str = r#"{
  "status": "fail",
  "output": "cassandra unreachable",
  "checks": {
    "cassandra:connections": [
      { "componentId": "dfd6cf2b-1b6e-4412-a0b8-f6f7797a60d2", "componentType": "datastore",
        "status": "fail", "output": "Connection refused: cassandra-1:9042" }
    ],
    "uptime": [ { "componentType": "system", "observedValue": 1209600.245, "status": "pass" } ]
  }
}"#;

// ---- Spring Boot Actuator ---------------------------------------------------------------------
// https://docs.spring.io/spring-boot/api/rest/actuator/health.html ("Retrieving the Health of the
// Application", the documented response, served 200).
const SPRING_PASS: &str = r#"{
  "components" : {
    "broker" : {
      "components" : {
        "us1" : { "details" : { "version" : "1.0.2" }, "status" : "UP" },
        "us2" : { "details" : { "version" : "1.0.4" }, "status" : "UP" }
      },
      "status" : "UP"
    },
    "db" : { "details" : { "database" : "H2", "validationQuery" : "isValid()" }, "status" : "UP" },
    "diskSpace" : {
      "details" : { "total" : 76887154688, "free" : 46753374208, "threshold" : 10485760,
                    "path" : "/home/runner/work/spring-boot/spring-boot/documentation/spring-boot-actuator-docs/.",
                    "exists" : true },
      "status" : "UP"
    }
  },
  "status" : "UP"
}"#;

// Spring has no degraded status; a custom StatusAggregator
// (https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.health.writing-custom-health-indicators)
// can keep the aggregate UP while one composite member is DOWN: the documented body with `us2`
// DOWN, served 200.
const SPRING_DEGRADED: &str = r#"{
  "components" : {
    "broker" : {
      "components" : {
        "us1" : { "details" : { "version" : "1.0.2" }, "status" : "UP" },
        "us2" : { "details" : { "error" : "java.net.ConnectException: Connection refused" }, "status" : "DOWN" }
      },
      "status" : "UP"
    },
    "db" : { "details" : { "database" : "H2", "validationQuery" : "isValid()" }, "status" : "UP" }
  },
  "status" : "UP"
}"#;

// The documented body with the datasource down, as `Health.down(exception)` renders it (the
// exception lands in `details.error`), served 503 — the default mapping for DOWN in
// https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.health.writing-custom-health-indicators
const SPRING_FAIL: &str = r#"{
  "components" : {
    "db" : {
      "details" : { "database" : "H2", "error" : "org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection" },
      "status" : "DOWN"
    },
    "diskSpace" : { "details" : { "total" : 76887154688, "free" : 46753374208, "threshold" : 10485760, "exists" : true }, "status" : "UP" },
    "ping" : { "status" : "UP" }
  },
  "status" : "DOWN"
}"#;

// The readiness group while the application refuses traffic (ReadinessState.REFUSING_TRAFFIC →
// OUT_OF_SERVICE, 503): https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.kubernetes-probes
const SPRING_OUT_OF_SERVICE: &str = r#"{"status":"OUT_OF_SERVICE"}"#;

// ---- MicroProfile Health ----------------------------------------------------------------------
// Specification, "Appendix B: JSON payload specification", example payloads:
// https://github.com/eclipse/microprofile-health/blob/main/spec/src/main/asciidoc/protocol-wireformat.adoc
const MICROPROFILE_PASS: &str = r#"{
  "status": "UP",
  "checks": [ { "name": "myCheck", "status": "UP", "data": { "key": "value", "foo": "bar" } } ]
}"#;

// MicroProfile has only UP and DOWN (a degraded state is an open proposal,
// https://github.com/eclipse/microprofile-health/issues). A consumer "MAY support custom
// policies" for the overall status (same appendix): the documented 503 payload with such a policy
// keeping the aggregate UP, served 200.
const MICROPROFILE_DEGRADED: &str = r#"{
  "status": "UP",
  "checks": [
    { "name": "firstCheck", "status": "DOWN", "data": { "key": "value", "foo": "bar" } },
    { "name": "secondCheck", "status": "UP" }
  ]
}"#;

// The documented "Status 500" payload (a procedure that threw; the reason in `data.rootCause`).
const MICROPROFILE_FAIL: &str = r#"{
  "status": "DOWN",
  "checks": [
    { "name": "example.health.FirstCheck", "status": "DOWN",
      "data": { "rootCause": "timed out waiting for available connection" } },
    { "name": "secondCheck", "status": "UP" }
  ]
}"#;

// ---- .NET HealthChecks ------------------------------------------------------------------------
// https://learn.microsoft.com/aspnet/core/host-and-deploy/health-checks — the default writer
// answers the plain word (HealthStatus: Healthy/Degraded/Unhealthy; ResultStatusCodes: 200, 200,
// 503), and "Customize output" writes `{"status", "results": {name: {status, description,
// data}}}`.
const DOTNET_PASS: &str = "Healthy";
const DOTNET_WARN: &str = "Degraded";
const DOTNET_FAIL_JSON: &str = r#"{
  "status": "Unhealthy",
  "results": {
    "db_context": { "status": "Unhealthy", "description": "Could not connect to the database: timeout after 15 s", "data": {} },
    "memory": { "status": "Healthy", "description": "Allocated 12 MB", "data": { "AllocatedMegaBytes": 12 } }
  }
}"#;

// ---- Kubernetes-style text --------------------------------------------------------------------
// https://kubernetes.io/docs/reference/using-api/health-checks/ — `/readyz?verbose` lists
// `[+]name ok` lines; without `verbose` a healthy endpoint answers `ok`, and a failing one is
// always verbose: `[-]name failed: reason withheld` then `readyz check failed`, status 500
// (controller-runtime pkg/healthz writeStatusesAsText).
const K8S_PASS: &str = "[+]ping ok\n[+]log ok\n[+]etcd ok\n[+]poststarthook/start-kube-apiserver-admission-initializer ok\nreadyz check passed\n";
// No degraded state exists in this format; a handler whose aggregate ignores one check (an
// `exclude`d one still listed as failed) is the nearest: 200 with one `[-]` line.
const K8S_DEGRADED: &str =
    "[+]ping ok\n[-]informer-sync failed: reason withheld\n[+]etcd ok\nreadyz check passed\n";
const K8S_FAIL: &str =
    "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n";

// ---- Plain `ok` and Node Terminus `{"status":"ok"}` --------------------------------------------
// `ok`: the Kubernetes page above (a healthy endpoint without `verbose`). Terminus:
// https://docs.nestjs.com/recipes/terminus (the health check result: `status` ok|error|
// shutting_down, `info`/`error`/`details` per indicator).
const PLAIN_PASS: &str = "ok";
const TERMINUS_PASS: &str = r#"{"status":"ok","info":{"database":{"status":"up"}},"error":{},"details":{"database":{"status":"up"}}}"#;
const TERMINUS_FAIL: &str = r#"{"status":"error","info":{"database":{"status":"up"}},"error":{"redis":{"status":"down","message":"Could not connect"}},"details":{"database":{"status":"up"},"redis":{"status":"down","message":"Could not connect"}}}"#;
const TERMINUS_SHUTTING_DOWN: &str = r#"{"status":"shutting_down","details":{}}"#;
// A warn in the plain family: the draft's "warn" word alone.
const PLAIN_WARN: &str = r#"{"status":"warn"}"#;

/// `health.ready_now` over one readiness answer: (outcome, summary + evidence).
fn ready(status: u16, body: &str) -> (Outcome, String) {
    ready_at("/readyz", status, body)
}

fn ready_at(path: &str, status: u16, body: &str) -> (Outcome, String) {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "ok"),
        health(path, Readiness, status, body),
    ]);
    let j = judge(&READY_NOW, &obs);
    (j.outcome, format!("{}\n{}", j.summary, evidence_text(&j)))
}

#[test]
fn health_json_pass_warn_fail() {
    let (o, text) = ready(200, HEALTH_JSON_PASS);
    assert_eq!(o, Outcome::Pass, "{text}");
    assert!(text.contains("body says status \"pass\""), "{text}");
    // The warning checks are shown, not hidden.
    assert!(
        text.contains("component cassandra:connections: warn"),
        "{text}"
    );
    assert!(text.contains("health+json body"), "{text}");

    let (o, text) = ready(200, HEALTH_JSON_WARN);
    assert_eq!(o, Outcome::Warn, "{text}");
    assert!(
        text.contains("degraded")
            && text.contains("cassandra:connections (connection pool at 75%)"),
        "{text}"
    );

    let (o, text) = ready(503, HEALTH_JSON_FAIL);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.starts_with(
            "Not ready now: /readyz answers 503; failing: cassandra:connections (Connection refused: cassandra-1:9042)"
        ),
        "{text}"
    );
}

#[test]
fn spring_boot_pass_warn_fail() {
    let path = "/actuator/health/readiness";
    let (o, text) = ready_at(path, 200, SPRING_PASS);
    assert_eq!(o, Outcome::Pass, "{text}");
    assert!(text.contains("(3 components pass)"), "{text}");
    assert!(text.contains("Spring Boot Actuator body"), "{text}");

    let (o, text) = ready_at(path, 200, SPRING_DEGRADED);
    assert_eq!(o, Outcome::Warn, "{text}");
    assert!(
        text.contains("broker/us2 (java.net.ConnectException: Connection refused)"),
        "{text}"
    );

    let (o, text) = ready_at(path, 503, SPRING_FAIL);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.contains("failing: db (org.springframework.jdbc.CannotGetJdbcConnectionException"),
        "{text}"
    );
    assert!(text.contains("component db: DOWN"), "{text}");

    let (o, text) = ready_at(path, 503, SPRING_OUT_OF_SERVICE);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.contains("answers 503, body says status \"OUT_OF_SERVICE\""),
        "{text}"
    );
}

#[test]
fn microprofile_pass_warn_fail() {
    let path = "/q/health/ready";
    let (o, text) = ready_at(path, 200, MICROPROFILE_PASS);
    assert_eq!(o, Outcome::Pass, "{text}");
    assert!(text.contains("MicroProfile Health body"), "{text}");

    let (o, text) = ready_at(path, 200, MICROPROFILE_DEGRADED);
    assert_eq!(o, Outcome::Warn, "{text}");
    assert!(text.contains("firstCheck (DOWN)"), "{text}");

    let (o, text) = ready_at(path, 500, MICROPROFILE_FAIL);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.contains(
            "failing: example.health.FirstCheck (timed out waiting for available connection)"
        ),
        "{text}"
    );
}

#[test]
fn dotnet_pass_warn_fail() {
    let (o, text) = ready(200, DOTNET_PASS);
    assert_eq!(o, Outcome::Pass, "{text}");
    assert!(
        text.contains(".NET HealthChecks body, \"Healthy\""),
        "{text}"
    );

    let (o, text) = ready(200, DOTNET_WARN);
    assert_eq!(o, Outcome::Warn, "{text}");
    assert!(text.contains("body says \"Degraded\""), "{text}");

    let (o, text) = ready(503, DOTNET_FAIL_JSON);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.contains(
            "failing: db_context (Could not connect to the database: timeout after 15 s)"
        ),
        "{text}"
    );
    assert!(
        !text.contains("memory ("),
        "a healthy entry is not failing: {text}"
    );
}

#[test]
fn kubernetes_text_pass_warn_fail() {
    let (o, text) = ready(200, K8S_PASS);
    assert_eq!(o, Outcome::Pass, "{text}");
    assert!(text.contains("(4 components pass)"), "{text}");

    let (o, text) = ready(200, K8S_DEGRADED);
    assert_eq!(o, Outcome::Warn, "{text}");
    assert!(text.contains("informer-sync (reason withheld)"), "{text}");

    let (o, text) = ready(500, K8S_FAIL);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.starts_with("Not ready now: /readyz answers 500; failing: etcd (reason withheld)"),
        "{text}"
    );
    assert!(
        text.contains("Kubernetes-style text body, \"readyz check failed\""),
        "{text}"
    );
}

#[test]
fn plain_and_terminus_pass_warn_fail() {
    for body in [PLAIN_PASS, TERMINUS_PASS] {
        let (o, text) = ready(200, body);
        assert_eq!(o, Outcome::Pass, "{text}");
    }
    let (o, text) = ready(200, PLAIN_WARN);
    assert_eq!(o, Outcome::Warn, "{text}");

    let (o, text) = ready(503, TERMINUS_FAIL);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(
        text.contains("failing: redis (Could not connect)"),
        "{text}"
    );
    let (o, text) = ready(503, TERMINUS_SHUTTING_DOWN);
    assert_eq!(o, Outcome::Fail, "{text}");
    assert!(text.contains("status \"shutting_down\""), "{text}");
    // A 503 with a plain word the endpoint wrote.
    let (o, text) = ready(503, "not ready");
    assert_eq!(o, Outcome::Fail, "{text}");
}

#[test]
fn a_failing_body_behind_200_is_not_ready_and_contradicts_its_status() {
    let obs = obs_with_health(vec![health("/readyz", Readiness, 200, SPRING_FAIL)]);
    let j = judge(&READY_NOW, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary
            .starts_with("Not ready now: /readyz answers 200 but its body says status \"DOWN\""),
        "{}",
        j.summary
    );
    assert_eq!(judge(&STATUS_CONSISTENCY, &obs).outcome, Outcome::Fail);
}

#[test]
fn the_same_reader_feeds_status_consistency() {
    // A Kubernetes-style body agreeing with its 500 is consistent (it used to be unreadable).
    let obs = obs_with_health(vec![health("/readyz", Readiness, 500, K8S_FAIL)]);
    let j = judge(&STATUS_CONSISTENCY, &obs);
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    assert!(evidence_text(&j).contains("readyz check failed"));
}

// ---- Which endpoint is judged -------------------------------------------------------------------

fn configured(mut h: HealthProbe) -> HealthProbe {
    h.configured = true;
    h
}

#[test]
fn a_configured_readiness_path_is_judged_whatever_it_answers() {
    let obs = obs_with_health(vec![
        configured(health("/livez", Liveness, 200, "ok")),
        configured(health("/internal/ready", Readiness, 404, "Not Found")),
    ]);
    let j = judge(&READY_NOW, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("/internal/ready answers 404"),
        "{}",
        j.summary
    );
    assert!(evidence_text(&j).contains("(configured readiness endpoint)"));
}

#[test]
fn discovered_readiness_wins_over_generic_and_missing_candidates_are_passed_over() {
    let obs = obs_with_health(vec![
        health("/readyz", Readiness, 404, "Not Found"),
        health(
            "/actuator/health/readiness",
            Readiness,
            503,
            SPRING_OUT_OF_SERVICE,
        ),
        health("/health", Generic, 200, "ok"),
    ]);
    let j = judge(&READY_NOW, &obs);
    assert_eq!(j.outcome, Outcome::Fail, "{}", j.summary);
    assert!(j.summary.contains("/actuator/health/readiness answers 503"));
    assert!(evidence_text(&j).contains("(discovered readiness endpoint)"));
}

#[test]
fn the_generic_endpoint_stands_in_when_there_is_no_readiness_endpoint() {
    let obs = obs_with_health(vec![
        health("/readyz", Readiness, 404, "Not Found"),
        health("/health", Generic, 503, "Unhealthy"),
    ]);
    let j = judge(&READY_NOW, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(evidence_text(&j).contains("generic health endpoint, no readiness endpoint found"));
}

#[test]
fn no_readiness_endpoint_is_skipped_never_passed() {
    let obs = obs_with_health(vec![
        health("/livez", Liveness, 200, "ok"),
        health("/readyz", Readiness, 404, "Not Found"),
        health("/health", Generic, 404, "Not Found"),
    ]);
    let r = crate::checks::fixtures::try_judge(&READY_NOW, &obs);
    assert!(
        matches!(&r, Err(crate::observations::Unobserved::Skipped(why)) if why.contains("no readiness or generic health endpoint answers")),
        "{r:?}"
    );
}

#[test]
fn locked_endpoints_and_failed_probes_cannot_be_judged() {
    let obs = obs_with_health(vec![health("/readyz", Readiness, 401, "")]);
    let f = crate::checks::fixtures::try_judge(&READY_NOW, &obs);
    assert!(
        matches!(&f, Err(crate::observations::Unobserved::Failed(r)) if r.contains("need credentials")),
        "{f:?}"
    );
    let obs = obs_with_health(vec![configured(crate::checks::fixtures::health_failed(
        "/readyz",
        Readiness,
        "GET /readyz: no answer within 10s",
    ))]);
    assert!(matches!(
        crate::checks::fixtures::try_judge(&READY_NOW, &obs),
        Err(crate::observations::Unobserved::Failed(_))
    ));
}

#[test]
fn secrets_in_a_failing_message_are_masked() {
    let body = r#"{"status":"fail","checks":{"db":[{"status":"fail","output":"cannot connect to postgres://app:hunter2secret@db.internal:5432/app"}]}}"#;
    let (o, text) = ready(503, body);
    assert_eq!(o, Outcome::Fail);
    assert!(!text.contains("hunter2secret"), "{text}");
    assert!(text.contains("postgres://app:***@db.internal"), "{text}");
}

#[test]
fn never_ready_says_how_long_and_what_it_last_saw() {
    use crate::checks::health::never_ready;
    use crate::observations::HttpExchange;
    let ex = HttpExchange {
        method: "GET".into(),
        url: "https://app.example.com/readyz".into(),
        final_url: "https://app.example.com/readyz".into(),
        status: 503,
        headers: vec![("content-type".into(), "application/health+json".into())],
        body: HEALTH_JSON_FAIL.into(),
        body_decoded: true,
        ..HttpExchange::default()
    };
    let j = never_ready("--wait-ready 5s", "/readyz", Some(&ex), "12 polls");
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.starts_with(
            "Did not become ready within --wait-ready 5s: /readyz last answered 503; failing: cassandra:connections"
        ),
        "{}",
        j.summary
    );
    let j = never_ready(
        "--wait-ready 5s",
        "/readyz",
        None,
        "GET https://app.example.com/readyz: cannot connect: connection refused",
    );
    assert!(
        j.summary.contains("cannot connect: connection refused"),
        "{}",
        j.summary
    );
}

#[test]
fn the_report_form_lists_components_with_their_state() {
    let obs = obs_with_health(vec![health("/readyz", Readiness, 503, SPRING_FAIL)]);
    let r = crate::checks::health::readiness_report(&obs).unwrap();
    assert!(!r.ready);
    assert_eq!(r.status, Some(503));
    assert_eq!(r.url, "https://app.example.com/readyz");
    let db = r.components.iter().find(|c| c.name == "db").unwrap();
    assert_eq!(db.state, "fail");
    assert!(
        db.message
            .as_deref()
            .unwrap()
            .contains("CannotGetJdbcConnectionException")
    );
    let ping = r.components.iter().find(|c| c.name == "ping").unwrap();
    assert_eq!(
        (ping.state.as_str(), ping.message.as_deref()),
        ("pass", None)
    );
}

// ---- health.info_leak ---------------------------------------------------------------------------

mod info_leak {
    use super::*;
    use crate::checks::fixtures::{exchange_at, try_judge};
    use crate::checks::health::INFO_LEAK;
    use crate::observations::{Observations, Probed};

    fn leak(body: &str) -> (Outcome, String) {
        let obs = obs_with_health(vec![health("/actuator/health", Generic, 200, body)]);
        let j = judge(&INFO_LEAK, &obs);
        (j.outcome, format!("{}\n{}", j.summary, evidence_text(&j)))
    }

    fn with_info(mut obs: Observations, path: &str, body: &str) -> Observations {
        let ex = exchange_at(
            &format!("https://app.example.com{path}"),
            200,
            &[("Content-Type", "application/json")],
            body,
        );
        obs.packs
            .insert("ops.version_endpoint".into(), vec![Probed::Observed(ex)]);
        obs
    }

    #[test]
    fn a_plain_status_and_the_services_own_version_pass() {
        let (o, text) = leak(HEALTH_JSON_PASS);
        assert_eq!(o, Outcome::Pass, "{text}");
        let obs = with_info(
            obs_with_health(vec![health("/readyz", Readiness, 200, "ok")]),
            "/version",
            r#"{"version":"1.4.2","commit":"9f1c2ab","built":"2025-03-01T10:00:00Z"}"#,
        );
        let j = judge(&INFO_LEAK, &obs);
        assert_eq!(j.outcome, Outcome::Pass, "{}", evidence_text(&j));
        assert!(
            j.summary.contains("2 health/info bodies read"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn dependency_versions_warn() {
        // The documented Spring Boot body lists the broker nodes' versions.
        let (o, text) = leak(SPRING_PASS);
        assert_eq!(o, Outcome::Warn, "{text}");
        assert!(
            text.contains("components.broker.components.us1.details.version = \"1.0.2\""),
            "{text}"
        );
        // An info body's runtime section (Spring `management.info.java.enabled`).
        let obs = with_info(
            obs_with_health(vec![health("/readyz", Readiness, 200, "ok")]),
            "/actuator/info",
            r#"{"build":{"version":"1.4.2"},"java":{"version":"17.0.2","vendor":{"name":"Eclipse Adoptium"}},"os":{"name":"Linux","version":"5.15.0-91-generic"}}"#,
        );
        let j = judge(&INFO_LEAK, &obs);
        assert_eq!(j.outcome, Outcome::Warn);
        let text = evidence_text(&j);
        assert!(text.contains("java.version = \"17.0.2\""), "{text}");
        assert!(text.contains("os.version"), "{text}");
        assert!(!text.contains("build.version"), "{text}");
    }

    #[test]
    fn hosts_and_connection_strings_warn() {
        let body = r#"{"status":"UP","components":{"db":{"status":"UP","details":{"url":"jdbc:postgresql://orders-db.prod.internal:5432/orders","host":"orders-db-1.eu-west-1.compute.amazonaws.com"}},"cache":{"status":"UP","details":{"address":"10.0.3.7:6379"}}}}"#;
        let (o, text) = leak(body);
        assert_eq!(o, Outcome::Warn, "{text}");
        assert!(text.contains("connection string"), "{text}");
        assert!(
            text.contains("orders-db-1.eu-west-1.compute.amazonaws.com"),
            "{text}"
        );
        assert!(text.contains("10.0.3.7 (internal address)"), "{text}");
    }

    #[test]
    fn secrets_fail_and_are_never_shown() {
        for (body, secret) in [
            (
                r#"{"status":"UP","components":{"db":{"status":"UP","details":{"username":"app","password":"s3cr3t-Pa55word"}}}}"#,
                "s3cr3t-Pa55word",
            ),
            (
                r#"{"status":"fail","checks":{"db":[{"status":"fail","output":"dial postgres://app:hunter2hunter2@10.1.2.3:5432/app: refused"}]}}"#,
                "hunter2hunter2",
            ),
            (
                r#"{"status":"Healthy","entries":{"sql":{"status":"Healthy","data":{"cs":"Server=sql01;Database=orders;User Id=app;Password=Tr0ub4dor&3;"}}}}"#,
                "Tr0ub4dor",
            ),
            (
                r#"{"status":"UP","details":{"aws":{"key":"AKIAIOSFODNN7EXAMPLE"}}}"#,
                "AKIAIOSFODNN7EXAMPLE",
            ),
        ] {
            let (o, text) = leak(body);
            assert_eq!(o, Outcome::Fail, "{text}");
            assert!(!text.contains(secret), "{secret} leaked: {text}");
            assert!(text.contains("secret"), "{text}");
        }
        // Already masked values are not secrets.
        let (o, text) = leak(
            r#"{"status":"UP","components":{"db":{"status":"UP","details":{"password":"******","token":"[REDACTED]"}}}}"#,
        );
        assert_eq!(o, Outcome::Pass, "{text}");
    }

    #[test]
    fn other_health_checks_never_quote_a_leaked_secret() {
        let body = r#"{"status":"UP","password":"s3cr3t-Pa55word"}"#;
        let obs = obs_with_health(vec![
            health("/livez", Liveness, 200, body),
            health("/readyz", Readiness, 200, body),
        ]);
        for check in crate::checks::CHECKS
            .iter()
            .filter(|c| c.id.starts_with("health."))
        {
            if let Ok(j) = try_judge(check, &obs) {
                let text = format!("{}\n{}", j.summary, evidence_text(&j));
                assert!(!text.contains("s3cr3t-Pa55word"), "{}: {text}", check.id);
            }
        }
    }

    #[test]
    fn nothing_to_read_is_skipped() {
        let obs = obs_with_health(vec![health("/readyz", Readiness, 404, "Not Found")]);
        let j = judge(&INFO_LEAK, &obs);
        assert_eq!(j.outcome, Outcome::Skipped);
    }
}
