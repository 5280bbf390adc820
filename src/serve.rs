//! `readyprobe serve`: a multi-target exporter that Prometheus schedules, the way
//! blackbox_exporter is used. Prometheus passes the target as a URL parameter; each scrape of
//! `/probe?target=URL&profile=NAME` answers with one audit's metrics (`report::prometheus`).
//! Spreading a large fleet is Prometheus's (or Kubernetes') job, not a home-made scheduler's.
//!
//! Endpoints: `/probe` (the audit), `/metrics` (the exporter's own metrics: probes served by
//! result, audits run, cache hits, coalesced probes, durations, in-flight audits), `/healthz`.
//!
//! - **Loaded once.** The check catalogue (packs, their regexes), the configured headers and the
//!   CA file are read when the exporter starts — a bad pack stops it there, with the message —
//!   and every scrape starts from that template.
//! - **Budget.** As in blackbox_exporter, the handler — not the engine — owns the deadline: the
//!   scrape timeout Prometheus sends in `X-Prometheus-Scrape-Timeout-Seconds`, minus
//!   `--timeout-offset`, is when the audit must end (waiting for a slot counts); the engine then
//!   judges what it observed so far, so a slow target gets a partial report in time. Three
//!   quarters of the offset later the scrape is answered whatever happens
//!   (`readyprobe_probe_success 0` if the engine has not returned).
//! - **Coalescing.** Scrapes of the same target and profile that arrive while its audit runs wait
//!   for that audit and share its answer. A scrape that must answer before the running audit
//!   ends runs an audit of its own, bounded by its own budget.
//! - **`--min-interval`.** Each target's last answer is kept that long; a scrape inside the window
//!   is answered from it, with `readyprobe_probe_cache_age_seconds` (0 for a fresh audit). The
//!   cache holds at most `--cache-entries` answers (expired ones dropped first, then the oldest).
//!
//! At most `max_concurrent` audits run at once; an audit that cannot get a slot within its budget
//! answers `503`. Only `http://` and `https://` targets are accepted (`400` otherwise). Every
//! audit's requests share one connection pool, so the per-host connection limit
//! (`run.max_connections_per_host`) holds for the exporter as a whole.

mod cache;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use clap::ValueEnum;
use rustls_pki_types::CertificateDer;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use url::Url;

use self::cache::{Answer, Cache, Flight, Key, Outcome};
use crate::config::{Config, Profile};
use crate::engine::Audit;
use crate::report::prometheus;

/// The content type of Prometheus text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `--cache-entries` by default: answers kept for `--min-interval` at most.
pub const DEFAULT_CACHE_ENTRIES: usize = 1000;

/// The cached answer's age, appended to every `/probe` exposition.
pub const CACHE_AGE_METRIC: &str = "readyprobe_probe_cache_age_seconds";

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
    /// How long a target's last answer is served again (`--min-interval`); zero: never.
    pub min_interval: Duration,
    /// The most answers kept for `min_interval` (`--cache-entries`).
    pub cache_entries: usize,
}

impl ServeOptions {
    /// The defaults of `readyprobe serve` for `base`: 4 audits at once, a 500 ms offset, no cache.
    pub fn new(base: Config, origin: impl Into<String>) -> ServeOptions {
        ServeOptions {
            base,
            origin: origin.into(),
            probes: Vec::new(),
            extra_roots: Vec::new(),
            max_concurrent: 4,
            timeout_offset: Duration::from_millis(500),
            min_interval: Duration::ZERO,
            cache_entries: DEFAULT_CACHE_ENTRIES,
        }
    }
}

/// Parses `--min-interval`: a duration like `30s`, or `0` (off).
pub fn parse_min_interval(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("expected a duration like \"30s\" or 0 (off), got {s:?}"))
}

#[derive(Debug, Default)]
struct Metrics {
    success: AtomicU64,
    failure: AtomicU64,
    rejected: AtomicU64,
    busy: AtomicU64,
    in_flight: AtomicU64,
    audits: AtomicU64,
    cache_hits: AtomicU64,
    coalesced: AtomicU64,
    overran: AtomicU64,
    duration_micros: AtomicU64,
    durations: AtomicU64,
}

impl Metrics {
    fn served(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Success => &self.success,
            Outcome::Failure => &self.failure,
            Outcome::Busy => &self.busy,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct ServeState {
    opts: ServeOptions,
    /// Catalogue, headers, redactor and trust anchors, resolved once at start; each scrape
    /// clones it and sets target, profile and deadline.
    template: Audit,
    slots: Semaphore,
    metrics: Metrics,
    started: Instant,
    /// Connections to targets, shared by every scrape: the per-host limit holds across probes.
    pool: Arc<crate::probes::net::Pool>,
    flights: Mutex<HashMap<Key, Flight>>,
    next_flight: AtomicU64,
    cache: Mutex<Cache>,
}

impl ServeState {
    fn flights(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Flight>> {
        // The maps hold no invariant a panic could break halfway: keep serving.
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The target every template audit is built for; each scrape replaces it.
const TEMPLATE_TARGET: &str = "http://127.0.0.1/";

/// The exporter's router (exposed for tests that run it in-process). Loads the check catalogue
/// and resolves the base configuration now: an error here (a bad pack, an unknown check id, a
/// missing `env:` header or CA file) is the exporter's start failing.
pub fn router(opts: ServeOptions) -> anyhow::Result<axum::Router> {
    let catalogue = crate::engine::plan::load_catalogue(&opts.probes)?;
    let mut template = crate::engine::plan::build_audit(
        TEMPLATE_TARGET,
        opts.base.clone(),
        &opts.origin,
        catalogue,
    )?;
    template
        .extra_roots
        .extend(opts.extra_roots.iter().cloned());
    let slots = Semaphore::new(opts.max_concurrent.max(1));
    let pool = crate::probes::net::Pool::new(opts.base.run.max_connections_per_host);
    let cache = Cache::new(opts.min_interval, opts.cache_entries);
    let state = Arc::new(ServeState {
        opts,
        template,
        slots,
        metrics: Metrics::default(),
        started: Instant::now(),
        pool,
        flights: Mutex::new(HashMap::new()),
        next_flight: AtomicU64::new(0),
        cache: Mutex::new(cache),
    });
    Ok(axum::Router::new()
        .route("/probe", get(probe))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/",
            get(|| async {
                "readyprobe exporter: /probe?target=https://…&profile=staging · /metrics · /healthz\n"
            }),
        )
        .with_state(state))
}

/// Builds the router (loading the catalogue: a bad pack fails here, before anything listens),
/// then serves on `listen` until `shutdown` resolves.
pub async fn serve(
    listen: SocketAddr,
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(opts)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("--listen {listen}: cannot listen"))?;
    eprintln!(
        "readyprobe serve: listening on http://{listen}/ (probe: /probe?target=https://…&profile=staging)"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .with_context(|| format!("--listen {listen}: cannot serve"))
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

/// When a scrape's audit must end, and when the scrape is answered whatever happens.
#[derive(Debug, Clone, Copy)]
struct Deadlines {
    /// The audit's deadline: probes stop and the engine judges what it has.
    audit_end: Instant,
    /// The scrape is answered by then: three quarters of the offset after `audit_end` for
    /// judging and rendering (at least 250 ms; one second without a scrape timeout), the rest
    /// of the offset for Prometheus to read the answer.
    reply_by: Instant,
}

impl Deadlines {
    fn new(received: Instant, headers: &HeaderMap, offset: Duration, fallback: Duration) -> Self {
        let budget = budget(headers, offset, fallback);
        let grace = if headers.contains_key("x-prometheus-scrape-timeout-seconds") {
            (offset * 3 / 4).max(Duration::from_millis(250))
        } else {
            Duration::from_secs(1)
        };
        Deadlines {
            audit_end: received + budget,
            reply_by: received + budget + grace,
        }
    }

    /// The latest end of a running audit this scrape may wait for: half its grace after its own
    /// audit would end, leaving the other half for the engine to judge. (Scrapes with the same
    /// timeout arriving together have audit ends milliseconds apart: they share one audit.)
    fn latest_join(&self) -> Instant {
        self.audit_end + (self.reply_by - self.audit_end) / 2
    }
}

async fn probe(
    State(st): State<Arc<ServeState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let received = Instant::now();
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
    let mut profile = st.template.config.profile;
    if let Some(name) = q.get("profile") {
        match Profile::from_str(name, true) {
            Ok(p) => profile = p,
            Err(_) => {
                return reject(format!(
                    "profile: expected staging, production or ci, got {:?}",
                    name
                ));
            }
        }
    }
    let key: Key = (url.as_str().to_string(), profile.as_str());
    let deadlines = Deadlines::new(
        received,
        &headers,
        st.opts.timeout_offset,
        st.template.config.run.deadline,
    );

    let cached = st.cache().get(&key, received);
    if let Some(answer) = cached {
        st.metrics.cache_hits.fetch_add(1, Ordering::Relaxed);
        let age = received.saturating_duration_since(answer.finished);
        return reply(&st, &answer, age);
    }

    let mut rx = join_or_start(&st, key, url, profile, deadlines);
    let waited = tokio::time::timeout_at(deadlines.reply_by, rx.wait_for(Option::is_some)).await;
    let answer = match waited {
        Ok(Ok(answer)) => answer.as_ref().map(Arc::clone),
        // The flight ended without an answer (its task panicked): nothing to share.
        Ok(Err(_)) => None,
        Err(_) => {
            // The audit this scrape joined (or started) has not returned when this scrape must
            // be answered: an engine overrunning its deadline must never hang a scrape.
            Some(Arc::new(overran(received.elapsed())))
        }
    };
    match answer {
        Some(answer) => reply(&st, &answer, Duration::ZERO),
        None => {
            st.metrics.failure.fetch_add(1, Ordering::Relaxed);
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the audit ended without an answer\n".to_string(),
            )
        }
    }
}

/// Waits on the running audit of `key` when it ends in time for this scrape, else starts one.
fn join_or_start(
    st: &Arc<ServeState>,
    key: Key,
    url: Url,
    profile: Profile,
    deadlines: Deadlines,
) -> watch::Receiver<Option<Arc<Answer>>> {
    let mut flights = st.flights();
    let running = flights.get(&key).map(|f| (f.audit_end, f.rx.clone()));
    if let Some((audit_end, rx)) = &running
        && *audit_end <= deadlines.latest_join()
    {
        st.metrics.coalesced.fetch_add(1, Ordering::Relaxed);
        return rx.clone();
    }
    let (tx, rx) = watch::channel(None);
    let id = st.next_flight.fetch_add(1, Ordering::Relaxed);
    // A scrape in more of a hurry than the running audit gets one of its own, not registered:
    // later scrapes keep joining the one that is there.
    if running.is_none() {
        flights.insert(
            key.clone(),
            Flight {
                id,
                audit_end: deadlines.audit_end,
                rx: rx.clone(),
            },
        );
    }
    drop(flights);
    let audit = scrape_audit(&st.template, url, profile);
    // Spawned: a scrape that disconnects does not cancel the audit others wait for.
    tokio::spawn(fly(Arc::clone(st), key, id, audit, deadlines, tx));
    rx
}

/// The template with this scrape's target and profile.
fn scrape_audit(template: &Audit, url: Url, profile: Profile) -> Audit {
    let mut audit = template.clone();
    if let Some(password) = url.password() {
        audit.redactor.add(password);
    }
    audit.target = url;
    audit.config.profile = profile;
    audit
}

/// Removes a flight from the map when its task ends, however it ends.
struct Landing<'a> {
    st: &'a ServeState,
    key: &'a Key,
    id: u64,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.st.flights();
        if flights.get(self.key).is_some_and(|f| f.id == self.id) {
            flights.remove(self.key);
        }
    }
}

/// Runs one audit for every scrape waiting on `tx`, caches its answer, then answers.
async fn fly(
    st: Arc<ServeState>,
    key: Key,
    id: u64,
    mut audit: Audit,
    deadlines: Deadlines,
    tx: watch::Sender<Option<Arc<Answer>>>,
) {
    let landing = Landing {
        st: &st,
        key: &key,
        id,
    };
    let answer = Arc::new(run_audit(&st, &mut audit, deadlines).await);
    if answer.cacheable() {
        st.cache()
            .insert(key.clone(), Arc::clone(&answer), answer.finished);
    }
    // Out of the map before answering: a scrape arriving now finds the cache, or starts anew.
    drop(landing);
    let _ = tx.send(Some(answer));
}

async fn run_audit(st: &ServeState, audit: &mut Audit, deadlines: Deadlines) -> Answer {
    let Ok(Ok(_slot)) = tokio::time::timeout_at(deadlines.audit_end, st.slots.acquire()).await
    else {
        return Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            exposition: false,
            body: "too many probes in flight; raise --max-concurrent or the scrape timeout\n"
                .to_string(),
            outcome: Outcome::Busy,
            finished: Instant::now(),
        };
    };
    let started = Instant::now();
    // What is left of the budget once a slot came free: the audit ends with the scrape's.
    let left = deadlines.audit_end.saturating_duration_since(started);
    audit.config.run.deadline = left;
    audit.config.run.timeout = audit.config.run.timeout.min(left);
    st.metrics.audits.fetch_add(1, Ordering::Relaxed);
    st.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    // The exporter's pool, a resolver of this audit's own (DNS answers are kept for one run).
    let net = crate::engine::Net::with_pool(Arc::clone(&st.pool), &audit.config.run);
    let result =
        tokio::time::timeout_at(deadlines.reply_by, crate::engine::run_on(audit, &net)).await;
    st.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    let finished = Instant::now();
    st.metrics.duration_micros.fetch_add(
        finished.duration_since(started).as_micros() as u64,
        Ordering::Relaxed,
    );
    st.metrics.durations.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(Ok(output)) => Answer {
            status: StatusCode::OK,
            exposition: true,
            body: prometheus::render(
                &output.report,
                prometheus::Options {
                    success: Some(output.reachable),
                    target_label: false,
                },
            ),
            outcome: if output.reachable {
                Outcome::Success
            } else {
                Outcome::Failure
            },
            finished,
        },
        Ok(Err(e)) => Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            exposition: false,
            body: format!("{e}\n"),
            outcome: Outcome::Failure,
            finished,
        },
        Err(_) => {
            st.metrics.overran.fetch_add(1, Ordering::Relaxed);
            overran(finished.duration_since(started))
        }
    }
}

/// The answer when the engine has not returned by the time the scrape must be answered.
fn overran(elapsed: Duration) -> Answer {
    Answer {
        status: StatusCode::OK,
        exposition: true,
        body: format!(
            "# HELP readyprobe_probe_success 1 when the target answered at all.\n# TYPE readyprobe_probe_success gauge\nreadyprobe_probe_success 0\n# HELP readyprobe_probe_duration_seconds Wall time of the audit in seconds.\n# TYPE readyprobe_probe_duration_seconds gauge\nreadyprobe_probe_duration_seconds {}\n",
            elapsed.as_secs_f64()
        ),
        outcome: Outcome::Failure,
        finished: Instant::now(),
    }
}

/// The reply to one scrape; an exposition gets the answer's age appended.
fn reply(st: &ServeState, answer: &Answer, age: Duration) -> Response {
    st.metrics.served(answer.outcome);
    if !answer.exposition {
        return plain(answer.status, answer.body.clone());
    }
    let mut body = String::with_capacity(answer.body.len() + 200);
    body.push_str(&answer.body);
    body.push_str(&format!(
        "# HELP {CACHE_AGE_METRIC} Seconds since the audit behind this answer ended (0: audited for this scrape; see --min-interval).\n\
         # TYPE {CACHE_AGE_METRIC} gauge\n\
         {CACHE_AGE_METRIC} {}\n",
        age.as_secs_f64()
    ));
    (answer.status, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

async fn metrics(State(st): State<Arc<ServeState>>) -> Response {
    let m = &st.metrics;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let cache_entries = st.cache().len();
    let body = format!(
        "# HELP readyprobe_exporter_probes_total Probes served, by result.\n\
         # TYPE readyprobe_exporter_probes_total counter\n\
         readyprobe_exporter_probes_total{{result=\"success\"}} {}\n\
         readyprobe_exporter_probes_total{{result=\"failure\"}} {}\n\
         readyprobe_exporter_probes_total{{result=\"rejected\"}} {}\n\
         readyprobe_exporter_probes_total{{result=\"busy\"}} {}\n\
         # HELP readyprobe_exporter_audits_total Audits run (a cache hit or a coalesced probe runs none).\n\
         # TYPE readyprobe_exporter_audits_total counter\n\
         readyprobe_exporter_audits_total {}\n\
         # HELP readyprobe_exporter_cache_hits_total Probes answered from a target's last answer (--min-interval).\n\
         # TYPE readyprobe_exporter_cache_hits_total counter\n\
         readyprobe_exporter_cache_hits_total {}\n\
         # HELP readyprobe_exporter_coalesced_probes_total Probes that waited for the audit of the same target already running.\n\
         # TYPE readyprobe_exporter_coalesced_probes_total counter\n\
         readyprobe_exporter_coalesced_probes_total {}\n\
         # HELP readyprobe_exporter_audits_overran_total Audits cut off because the engine had not returned when the scrape had to be answered.\n\
         # TYPE readyprobe_exporter_audits_overran_total counter\n\
         readyprobe_exporter_audits_overran_total {}\n\
         # HELP readyprobe_exporter_cache_entries Answers held for --min-interval.\n\
         # TYPE readyprobe_exporter_cache_entries gauge\n\
         readyprobe_exporter_cache_entries {}\n\
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
         # HELP readyprobe_exporter_min_interval_seconds How long a target's last answer is served again (0: off).\n\
         # TYPE readyprobe_exporter_min_interval_seconds gauge\n\
         readyprobe_exporter_min_interval_seconds {}\n\
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
        load(&m.audits),
        load(&m.cache_hits),
        load(&m.coalesced),
        load(&m.overran),
        cache_entries,
        load(&m.in_flight),
        load(&m.duration_micros) as f64 / 1e6,
        load(&m.durations),
        st.opts.max_concurrent,
        st.opts.min_interval.as_secs_f64(),
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

    #[test]
    fn a_scrape_is_answered_before_prometheus_gives_up_and_joins_audits_ending_in_time() {
        let t0 = Instant::now();
        let offset = Duration::from_millis(500);
        let mut h = HeaderMap::new();
        h.insert("x-prometheus-scrape-timeout-seconds", "10".parse().unwrap());
        let d = Deadlines::new(t0, &h, offset, Duration::from_secs(60));
        assert_eq!(d.audit_end - t0, Duration::from_millis(9500));
        assert_eq!(d.reply_by - t0, Duration::from_millis(9875));
        // An audit started a moment earlier by a scrape with the same timeout is joined.
        assert!(d.latest_join() > d.audit_end);
        assert!(d.latest_join() < d.reply_by);
        // Without the header: the configured deadline, and a second to answer.
        let d = Deadlines::new(t0, &HeaderMap::new(), offset, Duration::from_secs(60));
        assert_eq!(d.reply_by - d.audit_end, Duration::from_secs(1));
    }

    #[test]
    fn min_interval_accepts_zero_and_durations() {
        assert_eq!(parse_min_interval("0"), Ok(Duration::ZERO));
        assert_eq!(parse_min_interval(" 30s "), Ok(Duration::from_secs(30)));
        assert!(parse_min_interval("soon").is_err());
    }
}
