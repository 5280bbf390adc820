//! `readyprobe serve`: a multi-target exporter that Prometheus schedules, the way
//! blackbox_exporter is used. Prometheus passes the target as a URL parameter; each scrape of
//! `/probe?target=URL&profile=NAME` runs one audit and answers with its metrics
//! (`report::prometheus`). Spreading a large fleet is Prometheus's (or Kubernetes') job, not a
//! home-made scheduler's.
//!
//! Endpoints: `/probe` (the audit), `/metrics` (the exporter's own metrics: probes served by
//! result, probe durations, in-flight probes), `/healthz`.
//!
//! As in blackbox_exporter, the handler — not the engine — owns the deadline: the scrape timeout
//! Prometheus sends in `X-Prometheus-Scrape-Timeout-Seconds`, minus an offset, caps the audit's
//! deadline and per-operation timeout. At most `max_concurrent` audits run at once; a scrape that
//! cannot get a slot within its budget gets `503`. Only `http://` and `https://` targets are
//! accepted (`400` otherwise). Every scrape's requests share one connection pool, so the
//! per-host connection limit (`run.max_connections_per_host`) holds for the exporter as a whole.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::ValueEnum;
use rustls_pki_types::CertificateDer;
use tokio::sync::Semaphore;

use crate::config::{Config, Profile};
use crate::report::prometheus;

/// The content type of Prometheus text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The base configuration every probe starts from (`--config`).
    pub base: Config,
    /// Where the base configuration came from, for messages.
    pub origin: String,
    /// Extra check-pack directories.
    pub probes: Vec<PathBuf>,
    /// Extra trust anchors (`--ca-file`).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Audits allowed at once.
    pub max_concurrent: usize,
    /// Subtracted from the scrape timeout to leave Prometheus time to read the answer.
    pub timeout_offset: Duration,
}

#[derive(Debug, Default)]
struct Metrics {
    success: AtomicU64,
    failure: AtomicU64,
    rejected: AtomicU64,
    busy: AtomicU64,
    in_flight: AtomicU64,
    duration_micros: AtomicU64,
    durations: AtomicU64,
}

#[derive(Debug)]
struct ServeState {
    opts: ServeOptions,
    slots: Semaphore,
    metrics: Metrics,
    started: Instant,
    /// Connections to targets, shared by every scrape: the per-host limit holds across probes.
    pool: Arc<crate::probes::net::Pool>,
}

/// The exporter's router (exposed for tests that run it in-process).
pub fn router(opts: ServeOptions) -> axum::Router {
    let slots = Semaphore::new(opts.max_concurrent.max(1));
    let pool = crate::probes::net::Pool::new(opts.base.run.max_connections_per_host);
    let state = Arc::new(ServeState {
        opts,
        slots,
        metrics: Metrics::default(),
        started: Instant::now(),
        pool,
    });
    axum::Router::new()
        .route("/probe", get(probe))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/",
            get(|| async {
                "readyprobe exporter: /probe?target=https://…&profile=staging · /metrics · /healthz\n"
            }),
        )
        .with_state(state)
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listen: SocketAddr,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, router(opts))
        .with_graceful_shutdown(shutdown)
        .await
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The probe's budget: the scrape timeout minus the offset, else the configured deadline.
fn budget(headers: &HeaderMap, offset: Duration, fallback: Duration) -> Duration {
    let scrape = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        // `try_`: a header of 1e300 seconds must not panic the handler.
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    match scrape {
        Some(s) => {
            let b = s.saturating_sub(offset);
            b.max(Duration::from_millis(500)).min(fallback)
        }
        None => fallback,
    }
}

async fn probe(
    State(st): State<Arc<ServeState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let reject = |msg: String| {
        st.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        plain(StatusCode::BAD_REQUEST, msg + "\n")
    };
    let Some(target) = q.get("target").filter(|t| !t.trim().is_empty()) else {
        return reject("the target parameter is missing: /probe?target=https://…".to_string());
    };
    let url = match crate::config::load::validate_http_url(target) {
        Ok(url) => url,
        Err(m) => return reject(format!("target: {m}")),
    };
    let mut cfg = st.opts.base.clone();
    if let Some(name) = q.get("profile") {
        match Profile::from_str(name, true) {
            Ok(p) => cfg.profile = p,
            Err(_) => {
                return reject(format!(
                    "profile: expected staging, production or ci, got {:?}",
                    name
                ));
            }
        }
    }
    let budget = budget(&headers, st.opts.timeout_offset, cfg.run.deadline);
    cfg.run.deadline = budget;
    cfg.run.timeout = cfg.run.timeout.min(budget);
    let catalogue = match crate::engine::plan::load_catalogue(&st.opts.probes) {
        Ok(c) => c,
        Err(e) => {
            st.metrics.failure.fetch_add(1, Ordering::Relaxed);
            return plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}\n"));
        }
    };
    let mut audit =
        match crate::engine::plan::build_audit(url.as_str(), cfg, &st.opts.origin, catalogue) {
            Ok(a) => a,
            Err(e) => return reject(format!("{e:#}")),
        };
    audit
        .extra_roots
        .extend(st.opts.extra_roots.iter().cloned());

    let started = Instant::now();
    let Ok(Ok(_slot)) = tokio::time::timeout(budget, st.slots.acquire()).await else {
        st.metrics.busy.fetch_add(1, Ordering::Relaxed);
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many probes in flight; raise --max-concurrent or the scrape timeout\n".to_string(),
        );
    };
    st.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    // The exporter's pool, a resolver of this scrape's own (DNS answers are kept for one run).
    let net = crate::engine::Net::with_pool(Arc::clone(&st.pool), &audit.config.run);
    let result = tokio::time::timeout(
        budget + Duration::from_secs(1),
        crate::engine::run_on(&audit, &net),
    )
    .await;
    st.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let elapsed = started.elapsed();
    st.metrics
        .duration_micros
        .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    st.metrics.durations.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(Ok(output)) => {
            if output.reachable {
                st.metrics.success.fetch_add(1, Ordering::Relaxed);
            } else {
                st.metrics.failure.fetch_add(1, Ordering::Relaxed);
            }
            let body = prometheus::render(
                &output.report,
                prometheus::Options {
                    success: Some(output.reachable),
                    target_label: false,
                },
            );
            ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
        }
        Ok(Err(e)) => {
            st.metrics.failure.fetch_add(1, Ordering::Relaxed);
            plain(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
        }
        Err(_) => {
            st.metrics.failure.fetch_add(1, Ordering::Relaxed);
            let body = format!(
                "# HELP readyprobe_probe_success 1 when the target answered at all.\n# TYPE readyprobe_probe_success gauge\nreadyprobe_probe_success 0\n# HELP readyprobe_probe_duration_seconds Wall time of the audit in seconds.\n# TYPE readyprobe_probe_duration_seconds gauge\nreadyprobe_probe_duration_seconds {}\n",
                elapsed.as_secs_f64()
            );
            ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
        }
    }
}

async fn metrics(State(st): State<Arc<ServeState>>) -> Response {
    let m = &st.metrics;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let body = format!(
        "# HELP readyprobe_exporter_probes_total Probes served, by result.\n\
         # TYPE readyprobe_exporter_probes_total counter\n\
         readyprobe_exporter_probes_total{{result=\"success\"}} {}\n\
         readyprobe_exporter_probes_total{{result=\"failure\"}} {}\n\
         readyprobe_exporter_probes_total{{result=\"rejected\"}} {}\n\
         readyprobe_exporter_probes_total{{result=\"busy\"}} {}\n\
         # HELP readyprobe_exporter_probes_in_flight Audits running now.\n\
         # TYPE readyprobe_exporter_probes_in_flight gauge\n\
         readyprobe_exporter_probes_in_flight {}\n\
         # HELP readyprobe_exporter_probe_duration_seconds Time spent in audits.\n\
         # TYPE readyprobe_exporter_probe_duration_seconds summary\n\
         readyprobe_exporter_probe_duration_seconds_sum {}\n\
         readyprobe_exporter_probe_duration_seconds_count {}\n\
         # HELP readyprobe_exporter_max_concurrent_probes The concurrency limit.\n\
         # TYPE readyprobe_exporter_max_concurrent_probes gauge\n\
         readyprobe_exporter_max_concurrent_probes {}\n\
         # HELP readyprobe_exporter_uptime_seconds Seconds since the exporter started.\n\
         # TYPE readyprobe_exporter_uptime_seconds gauge\n\
         readyprobe_exporter_uptime_seconds {}\n\
         # HELP readyprobe_exporter_build_info readyprobe version (always 1).\n\
         # TYPE readyprobe_exporter_build_info gauge\n\
         readyprobe_exporter_build_info{{version=\"{}\"}} 1\n",
        load(&m.success),
        load(&m.failure),
        load(&m.rejected),
        load(&m.busy),
        load(&m.in_flight),
        load(&m.duration_micros) as f64 / 1e6,
        load(&m.durations),
        st.opts.max_concurrent,
        st.started.elapsed().as_secs_f64(),
        crate::VERSION,
    );
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_scrape_timeout_minus_offset_capped_by_the_deadline() {
        let mut h = HeaderMap::new();
        let offset = Duration::from_millis(500);
        let fallback = Duration::from_secs(60);
        assert_eq!(budget(&h, offset, fallback), fallback);
        h.insert("x-prometheus-scrape-timeout-seconds", "10".parse().unwrap());
        assert_eq!(budget(&h, offset, fallback), Duration::from_millis(9500));
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "0.2".parse().unwrap(),
        );
        assert_eq!(budget(&h, offset, fallback), Duration::from_millis(500));
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "120".parse().unwrap(),
        );
        assert_eq!(budget(&h, offset, fallback), fallback);
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "nan".parse().unwrap(),
        );
        assert_eq!(budget(&h, offset, fallback), fallback);
        // Too large for a Duration: ignored, not a panic.
        h.insert(
            "x-prometheus-scrape-timeout-seconds",
            "1e300".parse().unwrap(),
        );
        assert_eq!(budget(&h, offset, fallback), fallback);
    }
}
