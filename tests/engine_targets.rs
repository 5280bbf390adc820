//! The engine against real local servers: https with generated certificates, untrusted
//! certificates, a silent server, a redirect loop. Each run must end with a report before its
//! deadline.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

use readyprobe::checks::Catalogue;
use readyprobe::config::Config;
use readyprobe::engine::{self, Audit};
use readyprobe::model::Outcome;
use readyprobe::redact::Redactor;
use url::Url;

use crate::util::{self, pki::TestCa, servers};

fn audit(
    target: &str,
    roots: Vec<rustls_pki_types::CertificateDer<'static>>,
    deadline: Duration,
) -> Audit {
    let mut config = Config::default();
    config.run.deadline = deadline;
    config.run.timeout = Duration::from_millis(800);
    config.health.latency_samples = 4;
    Audit {
        target: Url::parse(target).expect("url"),
        config,
        extra_roots: roots,
        headers: Vec::new(),
        redactor: Redactor::new(),
        catalogue: Arc::new(Catalogue::load(&[]).expect("catalogue")),
    }
}

fn secure_app() -> Router {
    async fn home() -> impl IntoResponse {
        (
            [
                (
                    header::STRICT_TRANSPORT_SECURITY,
                    "max-age=31536000; includeSubDomains",
                ),
                (header::CONTENT_TYPE, "text/html"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            "<html><body>hello</body></html>",
        )
    }
    Router::new()
        .route("/", get(home))
        .route("/livez", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "db down") }),
        )
}

#[tokio::test]
async fn https_target_with_generated_certificate_is_judged() {
    util::crypto();
    let ca = TestCa::new("engine test CA");
    let addr = servers::https(secure_app(), ca.localhost()).await;
    let out = engine::run(&audit(
        &format!("https://{addr}/"),
        vec![ca.der()],
        Duration::from_secs(10),
    ))
    .await
    .expect("run");
    assert!(out.reachable);
    let hsts = out.report.finding("headers.hsts").expect("hsts finding");
    assert_eq!(hsts.outcome, Outcome::Pass, "{hsts:?}");
    assert!(
        hsts.evidence.iter().any(|e| e.contains("max-age=31536000")),
        "{hsts:?}"
    );
    let endpoints = out.report.finding("health.endpoints").expect("endpoints");
    assert_eq!(endpoints.outcome, Outcome::Pass, "{endpoints:?}");
    // Port 80 on loopback is closed here: plain HTTP is not served.
    assert!(out.report.requests_sent > 10);
}

#[tokio::test]
async fn untrusted_certificate_is_an_error_under_strict_tls() {
    util::crypto();
    let ca = TestCa::new("not trusted CA");
    let addr = servers::https(secure_app(), ca.localhost()).await;
    let mut audit = audit(&format!("https://{addr}/"), vec![], Duration::from_secs(10));
    audit.config.run.strict_tls = true;
    let out = engine::run(&audit).await.expect("run");
    let hsts = out.report.finding("headers.hsts").expect("hsts");
    assert_eq!(hsts.outcome, Outcome::Error, "{hsts:?}");
    assert!(
        hsts.summary.contains("TLS handshake failed"),
        "{}",
        hsts.summary
    );
    assert!(out.reachable, "a TLS failure means something answered");
}

#[tokio::test]
async fn untrusted_certificate_fails_tls_and_headers_are_judged_unverified() {
    util::crypto();
    let ca = TestCa::new("not trusted CA");
    let addr = servers::https(secure_app(), ca.localhost()).await;
    let out = engine::run(&audit(
        &format!("https://{addr}/"),
        vec![],
        Duration::from_secs(10),
    ))
    .await
    .expect("run");
    let cert = out.report.finding("tls.certificate").expect("certificate");
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    let hsts = out.report.finding("headers.hsts").expect("hsts");
    assert_eq!(hsts.outcome, Outcome::Pass, "{hsts:?}");
    assert!(
        hsts.evidence
            .iter()
            .any(|e| e.contains("[unverified connection]")),
        "{:?}",
        hsts.evidence
    );
}

#[tokio::test]
async fn silent_server_ends_within_deadline_with_errors() {
    util::crypto();
    let addr = servers::silent().await;
    let started = Instant::now();
    let out = engine::run(&audit(
        &format!("http://{addr}/"),
        vec![],
        Duration::from_secs(2),
    ))
    .await
    .expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(!out.reachable);
    let root_checks = out.report.finding("headers.csp").expect("csp");
    assert_eq!(root_checks.outcome, Outcome::Error);
    assert!(
        root_checks.summary.contains("no answer within")
            || root_checks.summary.contains("deadline"),
        "{}",
        root_checks.summary
    );
}

#[tokio::test]
async fn redirect_loop_is_reported_as_such() {
    util::crypto();
    let app = Router::new()
        .route(
            "/",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/a")]) }),
        )
        .route(
            "/a",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/")]) }),
        );
    let addr = servers::http(app).await;
    let out = engine::run(&audit(
        &format!("http://{addr}/"),
        vec![],
        Duration::from_secs(5),
    ))
    .await
    .expect("run");
    let csp = out.report.finding("headers.csp").expect("csp");
    assert_eq!(csp.outcome, Outcome::Error);
    assert!(csp.summary.contains("redirect loop"), "{}", csp.summary);
}

#[tokio::test]
async fn request_budget_is_honoured() {
    util::crypto();
    let ca = TestCa::new("budget CA");
    let addr = servers::https(secure_app(), ca.localhost()).await;
    let mut a = audit(
        &format!("https://{addr}/"),
        vec![ca.der()],
        Duration::from_secs(10),
    );
    a.config.run.max_requests = 5;
    let out = engine::run(&a).await.expect("run");
    assert_eq!(out.report.requests_sent, 5);
    let budget_errors = out
        .report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Error && f.summary.contains("request budget"))
        .count();
    assert!(
        budget_errors > 0,
        "some checks must report the spent budget"
    );
}
