//! What the demo measures about itself and how it protects its login: RED metrics, request ids,
//! the login rate limit and the order archive's pagination.
//!
//! Everything here is real behaviour measured on real requests:
//! * **hardened** counts every request in `http_requests_total{method,route,status}` and times it
//!   in the `http_request_duration_seconds` histogram, labelled by the *route template* (axum's
//!   `MatchedPath`; unmatched paths collapse into `route="unmatched"`), exports process metrics it
//!   can honestly compute (start time, open and maximum file descriptors, resident memory from
//!   `/proc` when readable), echoes or generates `X-Request-ID`, and limits `POST /login` to
//!   [`LOGIN_LIMIT`] attempts per [`LOGIN_WINDOW`] per client address, answering `429` with
//!   `Retry-After`, `RateLimit-Policy` and `RateLimit`;
//! * **flawed** labels its counter with the raw request path (every URL a new series), keeps
//!   durations as a summary in milliseconds, has no request id and no login limit, and pages its
//!   order archive by materialising and skipping every row before the offset — deep pages really
//!   cost more, by work done, not by a sleep.
//!
//! The exposition is rendered with readyprobe's own exposition module, so what the demo serves
//! is exactly the text format readyprobe validates.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::DemoProfile;
use crate::exposition::{Family, Format, MetricType, Sample};

/// Login attempts allowed per window and client address (hardened).
pub(crate) const LOGIN_LIMIT: u32 = 10;
/// The login rate-limit window (hardened).
pub(crate) const LOGIN_WINDOW: Duration = Duration::from_secs(2);
/// Orders per archive page.
pub(crate) const PAGE_SIZE: usize = 20;
/// Orders in the archive `GET /api/orders?page=N` pages through.
const ARCHIVE_SIZE: usize = 60_000;
/// What each skipped row costs the flawed profile's OFFSET query, as a database scanning past
/// it would: page 200 waits 20 ms more than page 1. Building the rows alone costs too little to
/// stand out from request overhead on a loaded machine; a wait does, whatever the load.
const OFFSET_ROW_COST: Duration = Duration::from_micros(5);
/// Histogram bucket bounds, seconds (the Prometheus client defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Durations kept per path for the flawed summary's quantiles.
const SUMMARY_WINDOW: usize = 512;

/// Per-instance metrics and the login limiter.
pub(crate) struct Telemetry {
    profile: DemoProfile,
    started: SystemTime,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (method, route or raw path, status) → count.
    requests: BTreeMap<(String, String, String), u64>,
    /// (method, route) → bucket counts, sum, count.
    histograms: BTreeMap<(String, String), ([u64; BUCKETS.len()], f64, u64)>,
    /// path → recent durations (ms), sum (ms), count — the flawed summary.
    summaries: BTreeMap<String, (Vec<f64>, f64, u64)>,
    /// client → (window start, attempts).
    logins: HashMap<IpAddr, (Instant, u32)>,
}

impl Telemetry {
    /// Telemetry for one demo instance of `profile`.
    pub(crate) fn new(profile: DemoProfile) -> Arc<Telemetry> {
        Arc::new(Telemetry {
            profile,
            started: SystemTime::now(),
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut inner = self.lock();
        match self.profile {
            DemoProfile::Hardened => {
                *inner
                    .requests
                    .entry((method.to_string(), route.to_string(), status.to_string()))
                    .or_default() += 1;
                let secs = elapsed.as_secs_f64();
                let h = inner
                    .histograms
                    .entry((method.to_string(), route.to_string()))
                    .or_insert(([0; BUCKETS.len()], 0.0, 0));
                for (i, bound) in BUCKETS.iter().enumerate() {
                    if secs <= *bound {
                        h.0[i] += 1;
                    }
                }
                h.1 += secs;
                h.2 += 1;
            }
            DemoProfile::Flawed => {
                *inner
                    .requests
                    .entry((method.to_string(), route.to_string(), String::new()))
                    .or_default() += 1;
                let ms = elapsed.as_secs_f64() * 1000.0;
                let s = inner
                    .summaries
                    .entry(route.to_string())
                    .or_insert((Vec::new(), 0.0, 0));
                if s.0.len() >= SUMMARY_WINDOW {
                    s.0.remove(0);
                }
                s.0.push(ms);
                s.1 += ms;
                s.2 += 1;
            }
        }
    }

    /// The exposition, text format 0.0.4.
    pub(crate) fn render(&self) -> String {
        let inner = self.lock();
        let mut families = Vec::new();
        let sample = |name: &str, labels: &[(&str, &str)], value: f64| Sample {
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            value,
            line: 0,
        };
        match self.profile {
            DemoProfile::Hardened => {
                families.push(Family {
                    name: "http_requests_total".into(),
                    kind: MetricType::Counter,
                    help: Some("HTTP requests by method, route template and status.".into()),
                    unit: None,
                    samples: inner
                        .requests
                        .iter()
                        .map(|((m, r, s), n)| {
                            sample(
                                "http_requests_total",
                                &[("method", m), ("route", r), ("status", s)],
                                *n as f64,
                            )
                        })
                        .collect(),
                });
                let mut samples = Vec::new();
                for ((m, r), (buckets, sum, count)) in &inner.histograms {
                    for (i, bound) in BUCKETS.iter().enumerate() {
                        let le = crate::exposition::format_value(*bound);
                        samples.push(sample(
                            "http_request_duration_seconds_bucket",
                            &[("method", m), ("route", r), ("le", &le)],
                            buckets[i] as f64,
                        ));
                    }
                    samples.push(sample(
                        "http_request_duration_seconds_bucket",
                        &[("method", m), ("route", r), ("le", "+Inf")],
                        *count as f64,
                    ));
                    samples.push(sample(
                        "http_request_duration_seconds_sum",
                        &[("method", m), ("route", r)],
                        *sum,
                    ));
                    samples.push(sample(
                        "http_request_duration_seconds_count",
                        &[("method", m), ("route", r)],
                        *count as f64,
                    ));
                }
                families.push(Family {
                    name: "http_request_duration_seconds".into(),
                    kind: MetricType::Histogram,
                    help: Some("HTTP request duration by method and route template.".into()),
                    unit: None,
                    samples,
                });
            }
            DemoProfile::Flawed => {
                families.push(Family {
                    name: "http_requests_total".into(),
                    kind: MetricType::Counter,
                    help: Some("Requests.".into()),
                    unit: None,
                    samples: inner
                        .requests
                        .iter()
                        .map(|((m, p, _), n)| {
                            sample(
                                "http_requests_total",
                                &[("method", m), ("path", p)],
                                *n as f64,
                            )
                        })
                        .collect(),
                });
                let mut samples = Vec::new();
                for (path, (recent, sum, count)) in &inner.summaries {
                    let mut sorted = recent.clone();
                    sorted.sort_by(f64::total_cmp);
                    for q in [0.5, 0.9, 0.99] {
                        let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
                        let v = sorted.get(at).copied().unwrap_or(0.0);
                        let qs = q.to_string();
                        samples.push(sample(
                            "http_request_duration_ms",
                            &[("path", path), ("quantile", &qs)],
                            v,
                        ));
                    }
                    samples.push(sample(
                        "http_request_duration_ms_sum",
                        &[("path", path)],
                        *sum,
                    ));
                    samples.push(sample(
                        "http_request_duration_ms_count",
                        &[("path", path)],
                        *count as f64,
                    ));
                }
                families.push(Family {
                    name: "http_request_duration_ms".into(),
                    kind: MetricType::Summary,
                    help: Some("Request duration in milliseconds.".into()),
                    unit: None,
                    samples,
                });
            }
        }
        drop(inner);
        let gauge = |name: &str, help: &str, value: f64| Family {
            name: name.to_string(),
            kind: MetricType::Gauge,
            help: Some(help.to_string()),
            unit: None,
            samples: vec![sample(name, &[], value)],
        };
        let start = self
            .started
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        families.push(gauge(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            start.floor(),
        ));
        if let Some(open) = open_fds() {
            families.push(gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                open,
            ));
        }
        if let Some(max) = max_fds() {
            families.push(gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max,
            ));
        }
        if let Some(rss) = resident_bytes() {
            families.push(gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                rss,
            ));
        }
        crate::exposition::render(&families, Format::Text)
    }

    /// Counts one login attempt of `client`; `Err(seconds to wait)` once over the limit, else
    /// `Ok((remaining, seconds to reset))`.
    fn login_attempt(&self, client: IpAddr) -> Result<(u32, u64), u64> {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.logins.len() > 10_000 {
            inner
                .logins
                .retain(|_, (start, _)| now.duration_since(*start) < LOGIN_WINDOW);
        }
        let entry = inner.logins.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= LOGIN_WINDOW {
            *entry = (now, 0);
        }
        let reset = LOGIN_WINDOW.saturating_sub(now.duration_since(entry.0));
        let reset_secs = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
        if entry.1 >= LOGIN_LIMIT {
            return Err(reset_secs.max(1));
        }
        entry.1 += 1;
        Ok((LOGIN_LIMIT - entry.1, reset_secs))
    }
}

fn open_fds() -> Option<f64> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|dir| dir.count() as f64)
}

fn max_fds() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn resident_bytes() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0)
}

/// Middleware: times the request and records it under its route template (hardened) or raw
/// path (flawed).
pub(crate) async fn measure(State(t): State<Arc<Telemetry>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let label = match t.profile {
        DemoProfile::Hardened => req
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string()),
        DemoProfile::Flawed => req.uri().path().to_string(),
    };
    let started = Instant::now();
    let response = next.run(req).await;
    t.record(
        &method,
        &label,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Middleware (hardened): echoes a well-formed `X-Request-ID`, or generates one.
pub(crate) async fn request_id(req: Request, next: Next) -> Response {
    let name = HeaderName::from_static("x-request-id");
    let incoming = req
        .headers()
        .get(&name)
        .filter(|v| {
            v.len() <= 128
                && v.as_bytes()
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
        })
        .cloned();
    let mut response = next.run(req).await;
    let id = incoming.unwrap_or_else(|| {
        HeaderValue::from_str(&crate::probes::metrics::random_token())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    });
    response.headers_mut().insert(name, id);
    response
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(t): State<Arc<Telemetry>>) -> Response {
    let mut response = Response::new(Body::from(t.render()));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn json_response(status: StatusCode, content_type: &'static str, value: &Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

/// `POST /login`: the demo has no accounts, so every attempt is refused — hardened after
/// counting it against the client's limit.
pub(crate) async fn login(
    State(t): State<Arc<Telemetry>>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
) -> Response {
    if t.profile == DemoProfile::Flawed {
        return json_response(
            StatusCode::UNAUTHORIZED,
            "application/json; charset=utf-8",
            &json!({ "error": "Invalid username or password" }),
        );
    }
    let client = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.0.0.ip());
    let window = LOGIN_WINDOW.as_secs();
    let policy = format!("\"login\";q={LOGIN_LIMIT};w={window}");
    let (mut response, state) = match t.login_attempt(client) {
        Ok((remaining, reset)) => (
            json_response(
                StatusCode::UNAUTHORIZED,
                "application/problem+json",
                &json!({ "type": "about:blank", "title": "Unauthorized", "status": 401,
                         "detail": "Invalid credentials." }),
            ),
            format!("\"login\";r={remaining};t={reset}"),
        ),
        Err(wait) => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                "application/problem+json",
                &json!({ "type": "about:blank", "title": "Too Many Requests", "status": 429,
                         "detail": format!("Too many login attempts; retry in {wait} s.") }),
            );
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            (r, format!("\"login\";r=0;t={wait}"))
        }
    };
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
    response
}

/// One archived order.
struct Archived {
    id: u64,
    customer: &'static str,
    total_cents: u64,
    status: &'static str,
}

impl Archived {
    fn to_json(&self) -> Value {
        json!({
            "id": format!("ord_{}", self.id),
            "customer": self.customer,
            "total_cents": self.total_cents,
            "currency": "EUR",
            "status": self.status,
        })
    }
}

static ARCHIVE: LazyLock<Vec<Archived>> = LazyLock::new(|| {
    const CUSTOMERS: [&str; 4] = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Edsger Dijkstra",
    ];
    const STATUSES: [&str; 4] = ["paid", "shipped", "pending", "refunded"];
    (0..ARCHIVE_SIZE as u64)
        .map(|i| Archived {
            id: 100_000 + i,
            customer: CUSTOMERS[(i % 4) as usize],
            total_cents: 1_000 + (i * 7_919) % 50_000,
            status: STATUSES[((i / 3) % 4) as usize],
        })
        .collect()
});

/// The `page` query parameter, if the query has one that is a positive number.
pub(crate) fn page_param(query: Option<&str>) -> Option<usize> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .filter(|p| *p >= 1)
}

/// `GET /api/orders?page=N` from the archive. Flawed: every row up to the offset is fetched and
/// built, then skipped (OFFSET pagination, each skipped row costing [`OFFSET_ROW_COST`]);
/// hardened: the page is sliced out directly.
pub(crate) async fn archive_page(profile: DemoProfile, page: usize) -> Response {
    let archive = &*ARCHIVE;
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    if profile == DemoProfile::Flawed {
        let skipped = offset.min(archive.len()) as u32;
        tokio::time::sleep(OFFSET_ROW_COST * skipped).await;
    }
    let orders: Vec<Value> = match profile {
        DemoProfile::Flawed => archive
            .iter()
            .map(Archived::to_json)
            .skip(offset)
            .take(PAGE_SIZE)
            .collect(),
        DemoProfile::Hardened => archive
            .get(offset.min(archive.len())..(offset.saturating_add(PAGE_SIZE)).min(archive.len()))
            .unwrap_or_default()
            .iter()
            .map(Archived::to_json)
            .collect(),
    };
    let ct = match profile {
        DemoProfile::Flawed => "application/json; charset=utf-8",
        DemoProfile::Hardened => "application/json",
    };
    json_response(
        StatusCode::OK,
        ct,
        &json!({ "page": page, "page_size": PAGE_SIZE, "total": archive.len(), "orders": orders }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardened_exposition_is_valid_and_templated() {
        let t = Telemetry::new(DemoProfile::Hardened);
        t.record("GET", "/api/orders", 200, Duration::from_millis(3));
        t.record("GET", "unmatched", 404, Duration::from_millis(1));
        let text = t.render();
        let e = crate::exposition::parse_text(&text);
        assert!(e.is_valid(), "{:?}\n{text}", e.errors);
        assert_eq!(e.warning_count, 0, "{:?}", e.warnings);
        assert!(text.contains(
            "http_requests_total{method=\"GET\",route=\"/api/orders\",status=\"200\"} 1"
        ));
        assert!(text.contains("process_start_time_seconds"));
    }

    #[test]
    fn flawed_exposition_uses_raw_paths_and_ms_summary() {
        let t = Telemetry::new(DemoProfile::Flawed);
        t.record("GET", "/__readyprobe_abc", 404, Duration::from_millis(2));
        let text = t.render();
        let e = crate::exposition::parse_text(&text);
        assert!(e.is_valid(), "{:?}", e.errors);
        assert!(text.contains("path=\"/__readyprobe_abc\""));
        assert_eq!(
            e.family("http_request_duration_ms").map(|f| f.kind),
            Some(MetricType::Summary)
        );
    }

    #[test]
    fn login_limit_counts_per_client() {
        let t = Telemetry::new(DemoProfile::Hardened);
        let a = IpAddr::from([127, 0, 0, 1]);
        for i in 0..LOGIN_LIMIT {
            assert_eq!(t.login_attempt(a).map(|r| r.0), Ok(LOGIN_LIMIT - i - 1));
        }
        assert!(t.login_attempt(a).is_err());
        assert!(t.login_attempt(IpAddr::from([127, 0, 0, 2])).is_ok());
    }

    #[test]
    fn pages_are_the_same_rows_in_both_profiles() {
        assert_eq!(page_param(Some("page=3&x=1")), Some(3));
        assert_eq!(page_param(Some("page=0")), None);
        assert_eq!(page_param(None), None);
        let body = |p| async move {
            let r = archive_page(p, 500).await;
            axum::body::to_bytes(r.into_body(), 1 << 20)
                .await
                .expect("body")
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("rt");
        assert_eq!(
            rt.block_on(body(DemoProfile::Flawed)),
            rt.block_on(body(DemoProfile::Hardened))
        );
    }
}
