//! The rate-limit burst against local servers (loopback only): a limited login that answers 429
//! with headers and recovers, an unlimited one, one that degrades before limiting, and the hard
//! caps proven by counting on the server. Waits are kept short through `[ratelimit]` config.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use readyprobe::checks::Catalogue;
use readyprobe::config::{Config, Profile};
use readyprobe::engine::{self, Audit};
use readyprobe::model::Outcome;
use readyprobe::observations::ratelimit::BurstStop;
use readyprobe::redact::Redactor;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::util::{self, servers};

fn audit(addr: std::net::SocketAddr, max_requests: u32) -> Audit {
    let mut config = Config::default();
    config.run.deadline = Duration::from_secs(20);
    config.run.timeout = Duration::from_secs(2);
    config.health.latency_samples = 1;
    config.perf.samples = 1;
    config.ratelimit.endpoint = Some("/login".to_string());
    config.ratelimit.method = "POST".to_string();
    config.ratelimit.body = Some("{\"username\":\"a\",\"password\":\"b\"}".to_string());
    config.ratelimit.max_requests = max_requests;
    config.ratelimit.start_rps = 20.0;
    config.ratelimit.step = Duration::from_millis(100);
    config.ratelimit.max_wait = Duration::from_secs(2);
    Audit {
        target: Url::parse(&format!("http://{addr}/")).expect("url"),
        config,
        extra_roots: Vec::new(),
        headers: Vec::new(),
        redactor: Redactor::new(),
        catalogue: Arc::new(Catalogue::load(&[]).expect("catalogue")),
    }
}

/// A login limited to `limit` attempts per second, with X-RateLimit headers and Retry-After.
fn limited_login(limit: u32, hits: Arc<AtomicU32>) -> Router {
    let window: Arc<Mutex<(Instant, u32)>> = Arc::new(Mutex::new((Instant::now(), 0)));
    Router::new().route(
        "/login",
        post(move || {
            let window = window.clone();
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let mut w = window.lock().await;
                if w.0.elapsed() >= Duration::from_secs(1) {
                    *w = (Instant::now(), 0);
                }
                let mut headers = HeaderMap::new();
                headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
                headers.insert("x-ratelimit-reset", HeaderValue::from_static("1"));
                if w.1 >= limit {
                    headers.insert("retry-after", HeaderValue::from_static("1"));
                    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
                    return (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response();
                }
                w.1 += 1;
                headers.insert("x-ratelimit-remaining", HeaderValue::from(limit - w.1));
                (StatusCode::UNAUTHORIZED, headers, "bad credentials").into_response()
            }
        }),
    )
}

#[tokio::test]
async fn limited_login_answers_429_after_its_limit_and_recovers() {
    util::crypto();
    let hits = Arc::new(AtomicU32::new(0));
    let addr = servers::http(limited_login(5, hits.clone())).await;
    let out = engine::run(&audit(addr, 100)).await.expect("run");
    let burst = out.observations.ratelimit.observed().expect("burst ran");
    let first = burst.first_429.as_ref().expect("a 429");
    assert!(first.request >= 6, "429 before the limit: {first:?}");
    assert_eq!(burst.stopped_by, BurstStop::RateLimited);
    assert!(
        burst.sent < 100,
        "stopped at the first 429, sent {}",
        burst.sent
    );
    let enforced = out.report.finding("ratelimit.enforced").expect("enforced");
    assert_eq!(enforced.outcome, Outcome::Pass, "{enforced:?}");
    let evidence = enforced.evidence.join("\n");
    assert!(evidence.contains("first 429 on request"), "{evidence}");
    assert!(evidence.contains("requests sent"), "{evidence}");
    for id in [
        "ratelimit.headers",
        "ratelimit.retry_after",
        "ratelimit.recovery",
    ] {
        let f = out.report.finding(id).expect(id);
        assert_eq!(f.outcome, Outcome::Pass, "{id}: {f:?}");
    }
    // Requests the server saw: the burst, plus the one recovery request.
    assert_eq!(hits.load(Ordering::SeqCst), burst.sent + 1);
}

#[tokio::test]
async fn unlimited_login_fails_with_the_request_count() {
    util::crypto();
    let app = Router::new().route("/login", post(|| async { StatusCode::UNAUTHORIZED }));
    let addr = servers::http(app).await;
    let out = engine::run(&audit(addr, 30)).await.expect("run");
    let enforced = out.report.finding("ratelimit.enforced").expect("enforced");
    assert_eq!(enforced.outcome, Outcome::Fail, "{enforced:?}");
    assert!(
        enforced.summary.contains("all 30 requests"),
        "{}",
        enforced.summary
    );
    assert!(
        enforced.evidence.join(" ").contains("30 requests sent"),
        "{enforced:?}"
    );
    assert_eq!(
        out.report
            .finding("ratelimit.retry_after")
            .map(|f| f.outcome),
        Some(Outcome::Skipped)
    );
}

#[tokio::test]
async fn degrading_endpoint_aborts_the_burst_before_its_cap() {
    util::crypto();
    let n = Arc::new(AtomicU32::new(0));
    let counter = n.clone();
    let app = Router::new().route(
        "/login",
        post(move || {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) % 4 == 3 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let addr = servers::http(app).await;
    let out = engine::run(&audit(addr, 200)).await.expect("run");
    let burst = out.observations.ratelimit.observed().expect("burst");
    assert_eq!(burst.stopped_by, BurstStop::Errors);
    assert!(burst.sent < 20, "aborted early, sent {}", burst.sent);
    let enforced = out.report.finding("ratelimit.enforced").expect("enforced");
    assert_eq!(enforced.outcome, Outcome::Fail);
    assert!(
        enforced.summary.contains("degraded"),
        "{}",
        enforced.summary
    );
}

#[tokio::test]
async fn caps_hold_on_the_server_side() {
    util::crypto();
    let in_flight = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let hits = Arc::new(AtomicU32::new(0));
    let (f, p, h) = (in_flight.clone(), peak.clone(), hits.clone());
    let app = Router::new().route(
        "/login",
        post(move || {
            let (f, p, h) = (f.clone(), p.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(60)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                StatusCode::UNAUTHORIZED
            }
        }),
    );
    let addr = servers::http(app).await;
    let mut a = audit(addr, 25);
    a.config.ratelimit.concurrency = 2;
    a.config.ratelimit.max_rps = 50.0;
    let out = engine::run(&a).await.expect("run");
    let burst = out.observations.ratelimit.observed().expect("burst");
    assert_eq!(hits.load(Ordering::SeqCst), 25);
    assert_eq!(burst.sent, 25);
    assert!(
        peak.load(Ordering::SeqCst) <= 2,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn production_profile_sends_no_burst() {
    util::crypto();
    let hits = Arc::new(AtomicU32::new(0));
    let addr = servers::http(limited_login(5, hits.clone())).await;
    let mut a = audit(addr, 50);
    a.config.profile = Profile::Production;
    let out = engine::run(&a).await.expect("run");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(
        out.report.finding("ratelimit.enforced").map(|f| f.outcome),
        Some(Outcome::Skipped)
    );
}
