//! `[metrics]`, `[ratelimit]`, `[perf]` and `[load]`: what the behaviour-measuring probes look
//! at and the hard caps they run under.
//!
//! Defaults suit a real target: the metrics endpoint is discovered, latency is sampled on `/`,
//! and nothing that disturbs the target runs unless named — the rate-limit burst needs
//! `[ratelimit] endpoint`, the pagination probe `[perf] list_endpoint`, the load baseline
//! `[load] enabled = true`. Caps can be lowered freely; raising them above the built-in ceilings
//! is refused, because a prober must stay a prober.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, duration};

/// The `[metrics]` section.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// The metrics path (default: the first of [`MetricsConfig::CANDIDATES`] that answers 2xx).
    pub path: Option<String>,
    /// Requests sent between the two scrapes of `metrics.red_live` (one of them is the unique
    /// unknown path for `metrics.path_cardinality`).
    pub live_requests: u32,
    /// The most lines the exposition parser reads.
    pub max_lines: usize,
    /// The most samples the exposition parser keeps.
    pub max_series: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            path: None,
            live_requests: 2,
            max_lines: 500_000,
            max_series: 100_000,
        }
    }
}

impl MetricsConfig {
    /// Paths tried when `path` is not set: Prometheus clients, Spring Boot Actuator, Quarkus.
    pub const CANDIDATES: &'static [&'static str] =
        &["/metrics", "/actuator/prometheus", "/q/metrics"];
}

/// The `[ratelimit]` section: the bounded burst on one configured endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// The endpoint to burst (`/login`); nothing is sent when unset.
    pub endpoint: Option<String>,
    /// Its method (`GET`, `POST`…).
    pub method: String,
    /// The request body (for a `POST` login, deliberately wrong credentials).
    pub body: Option<String>,
    /// The body's `Content-Type`.
    pub content_type: String,
    /// Hard cap: requests in the whole burst (at most 300).
    pub max_requests: u32,
    /// Hard cap: requests per second at the top of the ramp (at most 50).
    pub max_rps: f64,
    /// Hard cap: requests in flight at once (at most 8).
    pub concurrency: usize,
    /// Hard cap: the burst's duration (at most 60 s).
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub max_duration: Duration,
    /// The ramp's first rate, doubled every step up to `max_rps`.
    pub start_rps: f64,
    /// How long each step of the ramp lasts.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub step: Duration,
    /// The longest wait for `ratelimit.recovery` (`min(Retry-After, this)`, at most 60 s).
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub max_wait: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            endpoint: None,
            method: "GET".to_string(),
            body: None,
            content_type: "application/json".to_string(),
            max_requests: RateLimitConfig::CEILING_REQUESTS,
            max_rps: RateLimitConfig::CEILING_RPS,
            concurrency: RateLimitConfig::CEILING_CONCURRENCY,
            max_duration: RateLimitConfig::CEILING_DURATION,
            start_rps: 5.0,
            step: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RateLimitConfig {
    /// The most requests a burst may send.
    pub const CEILING_REQUESTS: u32 = 300;
    /// The highest rate a burst may reach.
    pub const CEILING_RPS: f64 = 50.0;
    /// The most requests in flight.
    pub const CEILING_CONCURRENCY: usize = 8;
    /// The longest burst.
    pub const CEILING_DURATION: Duration = Duration::from_secs(60);
}

/// The `[perf]` section: latency sampling and the pagination probe.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PerfConfig {
    /// Key endpoints sampled for `perf.latency`.
    pub endpoints: Vec<String>,
    /// Sequential samples per endpoint (after the warm-up).
    pub samples: u32,
    /// Requests per endpoint before sampling starts (connection set-up, caches).
    pub warmup: u32,
    /// An offset-paginated list endpoint for `perf.pagination_depth` (`/api/orders`).
    pub list_endpoint: Option<String>,
    /// The page query parameter.
    pub page_param: String,
    /// The deep page requested.
    pub deep_page: u32,
    /// Samples of the first and of the deep page.
    pub page_samples: u32,
}

impl Default for PerfConfig {
    fn default() -> Self {
        PerfConfig {
            endpoints: vec!["/".to_string()],
            samples: 6,
            warmup: 1,
            list_endpoint: None,
            page_param: "page".to_string(),
            deep_page: 200,
            page_samples: 3,
        }
    }
}

/// The `[load]` section: the bounded closed-loop baseline (active, opt-in).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Runs `load.baseline` (it is load: never on by default).
    pub enabled: bool,
    /// Endpoints requested round-robin.
    pub endpoints: Vec<String>,
    /// Workers, each sending its next request when the previous one answered (at most 64).
    pub concurrency: usize,
    /// How long the load lasts (at most 5 min).
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub duration: Duration,
    /// Hard cap on requests.
    pub max_requests: u32,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            enabled: false,
            endpoints: vec!["/".to_string()],
            concurrency: 4,
            duration: Duration::from_secs(10),
            max_requests: 2000,
        }
    }
}

fn path(origin: &str, field: &str, p: &str) -> Result<(), ConfigError> {
    if p.starts_with('/') {
        Ok(())
    } else {
        Err(ConfigError::field(
            origin,
            field,
            format!("expected a path starting with /, got {p:?}"),
        ))
    }
}

/// Validates the four sections, naming the field in the error.
pub fn validate(
    metrics: &MetricsConfig,
    ratelimit: &RateLimitConfig,
    perf: &PerfConfig,
    load: &LoadConfig,
    origin: &str,
) -> Result<(), ConfigError> {
    let err = |field: &str, message: String| Err(ConfigError::field(origin, field, message));
    if let Some(p) = &metrics.path {
        path(origin, "metrics.path", p)?;
    }
    if metrics.live_requests == 0 || metrics.live_requests > 50 {
        return err(
            "metrics.live_requests",
            format!("expected 1 to 50, got {}", metrics.live_requests),
        );
    }
    if metrics.max_lines == 0 || metrics.max_series == 0 {
        return err("metrics.max_series", "caps must be at least 1".into());
    }
    if let Some(p) = &ratelimit.endpoint {
        path(origin, "ratelimit.endpoint", p)?;
    }
    let method = ratelimit.method.to_ascii_uppercase();
    if !["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        return err(
            "ratelimit.method",
            format!(
                "expected GET, HEAD, POST, PUT, PATCH or DELETE, got {:?}",
                ratelimit.method
            ),
        );
    }
    if ratelimit.max_requests == 0 || ratelimit.max_requests > RateLimitConfig::CEILING_REQUESTS {
        return err(
            "ratelimit.max_requests",
            format!(
                "expected 1 to {}, got {}",
                RateLimitConfig::CEILING_REQUESTS,
                ratelimit.max_requests
            ),
        );
    }
    if !(ratelimit.max_rps > 0.0 && ratelimit.max_rps <= RateLimitConfig::CEILING_RPS) {
        return err(
            "ratelimit.max_rps",
            format!(
                "expected more than 0 and at most {}, got {}",
                RateLimitConfig::CEILING_RPS,
                ratelimit.max_rps
            ),
        );
    }
    if !(ratelimit.start_rps > 0.0 && ratelimit.start_rps <= ratelimit.max_rps) {
        return err(
            "ratelimit.start_rps",
            format!(
                "expected more than 0 and at most max_rps ({}), got {}",
                ratelimit.max_rps, ratelimit.start_rps
            ),
        );
    }
    if ratelimit.concurrency == 0 || ratelimit.concurrency > RateLimitConfig::CEILING_CONCURRENCY {
        return err(
            "ratelimit.concurrency",
            format!(
                "expected 1 to {}, got {}",
                RateLimitConfig::CEILING_CONCURRENCY,
                ratelimit.concurrency
            ),
        );
    }
    if ratelimit.max_duration.is_zero()
        || ratelimit.max_duration > RateLimitConfig::CEILING_DURATION
    {
        return err(
            "ratelimit.max_duration",
            "expected more than 0s and at most 60s".into(),
        );
    }
    if ratelimit.step.is_zero() || ratelimit.step > ratelimit.max_duration {
        return err(
            "ratelimit.step",
            "expected more than 0s and at most max_duration".into(),
        );
    }
    if ratelimit.max_wait > RateLimitConfig::CEILING_DURATION {
        return err("ratelimit.max_wait", "expected at most 60s".into());
    }
    for p in &perf.endpoints {
        path(origin, "perf.endpoints", p)?;
    }
    if perf.samples == 0 || perf.samples > 1000 {
        return err(
            "perf.samples",
            format!("expected 1 to 1000, got {}", perf.samples),
        );
    }
    if let Some(p) = &perf.list_endpoint {
        path(origin, "perf.list_endpoint", p)?;
    }
    if perf.deep_page < 2 {
        return err(
            "perf.deep_page",
            format!("expected at least 2, got {}", perf.deep_page),
        );
    }
    if perf.page_samples == 0 || perf.page_samples > 50 {
        return err(
            "perf.page_samples",
            format!("expected 1 to 50, got {}", perf.page_samples),
        );
    }
    if perf.page_param.is_empty() {
        return err("perf.page_param", "must not be empty".into());
    }
    for p in &load.endpoints {
        path(origin, "load.endpoints", p)?;
    }
    if load.enabled && load.endpoints.is_empty() {
        return err(
            "load.endpoints",
            "at least one endpoint is needed when load.enabled".into(),
        );
    }
    if load.concurrency == 0 || load.concurrency > 64 {
        return err(
            "load.concurrency",
            format!("expected 1 to 64, got {}", load.concurrency),
        );
    }
    if load.duration.is_zero() || load.duration > Duration::from_secs(300) {
        return err(
            "load.duration",
            "expected more than 0s and at most 5m".into(),
        );
    }
    if load.max_requests == 0 {
        return err("load.max_requests", "must be at least 1".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::from_str;

    fn message(text: &str) -> String {
        match from_str(text, "t.toml") {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_are_valid_and_capped() {
        let c = from_str("", "t.toml").expect("defaults");
        assert_eq!(c.ratelimit.max_requests, 300);
        assert_eq!(c.ratelimit.max_rps, 50.0);
        assert_eq!(c.ratelimit.concurrency, 8);
        assert_eq!(c.ratelimit.max_duration.as_secs(), 60);
        assert!(c.ratelimit.endpoint.is_none() && !c.load.enabled);
    }

    #[test]
    fn burst_caps_cannot_be_raised() {
        assert_eq!(
            message("[ratelimit]\nmax_requests = 1000\n"),
            "t.toml: ratelimit.max_requests: expected 1 to 300, got 1000"
        );
        assert_eq!(
            message("[ratelimit]\nmax_rps = 500.0\n"),
            "t.toml: ratelimit.max_rps: expected more than 0 and at most 50, got 500"
        );
        assert_eq!(
            message("[ratelimit]\nconcurrency = 9\n"),
            "t.toml: ratelimit.concurrency: expected 1 to 8, got 9"
        );
    }

    #[test]
    fn paths_and_methods_are_named() {
        assert_eq!(
            message("[ratelimit]\nendpoint = \"login\"\n"),
            "t.toml: ratelimit.endpoint: expected a path starting with /, got \"login\""
        );
        assert_eq!(
            message("[ratelimit]\nmethod = \"BREW\"\n"),
            "t.toml: ratelimit.method: expected GET, HEAD, POST, PUT, PATCH or DELETE, got \"BREW\""
        );
        assert_eq!(
            message("[perf]\nlist_endpoint = \"orders\"\n"),
            "t.toml: perf.list_endpoint: expected a path starting with /, got \"orders\""
        );
        assert!(message("[metrics]\npaht = \"/m\"\n").contains("metrics.paht"));
    }

    #[test]
    fn a_full_section_parses() {
        let c = from_str(
            "[ratelimit]\nendpoint = \"/login\"\nmethod = \"POST\"\nbody = \"{}\"\nmax_requests = 60\nstep = \"200ms\"\nmax_wait = \"2s\"\n\
             [perf]\nlist_endpoint = \"/api/orders\"\ndeep_page = 100\n[load]\nenabled = true\nduration = \"1s\"\n",
            "t.toml",
        )
        .expect("valid");
        assert_eq!(c.ratelimit.endpoint.as_deref(), Some("/login"));
        assert_eq!(c.ratelimit.step.as_millis(), 200);
        assert_eq!(c.perf.deep_page, 100);
        assert!(c.load.enabled);
    }
}
