//! Configuration: types with their defaults, TOML loading, `env:NAME` values and validation.
//!
//! Every error names the field and the expected form
//! (`staging.toml: run.deadline: expected a duration like "60s", got "sixty" (line 3)`), because a
//! CI job that fails on a typo must say where the typo is. Loading is all-or-nothing: a config
//! that does not validate is never half-applied.

mod access;
mod dependencies;
mod duration;
mod fault;
pub mod gate;
mod kubernetes;
pub mod load;
mod measure;
pub mod schema;
pub mod value;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use access::{AccessConfig, MutationConfig};
pub use dependencies::{
    DependenciesConfig, DnsDependency, RabbitManagement, RedisDependency, RedisRole,
    percent_decode, url_password,
};
pub use fault::{
    FaultConfig, FaultProxyConfig, LogSource, LogsConfig, ProxyPlace, SuperviseConfig,
};
pub use gate::WaiverConfig;
pub use kubernetes::KubernetesConfig;
pub use load::{from_file, from_str};
pub use measure::{LoadConfig, MetricsConfig, PerfConfig, RateLimitConfig};
pub(crate) use value::is_env_name;
pub use value::{ValueError, parse_host_port, parse_nameserver};

use crate::model::Severity;

/// A configuration problem, naming where it is and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read the config file: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A field has the wrong form (or the file is not TOML).
    #[error("{origin}: {field}: {message}")]
    Field {
        /// The file (or `command line`, `environment`).
        origin: String,
        /// Dotted field path (`run.deadline`).
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl ConfigError {
    /// A field error.
    pub fn field(
        origin: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Field {
            origin: origin.into(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Which kind of environment is audited; decides what may run.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// A staging deployment: everything, active probes included when configured.
    #[default]
    Staging,
    /// A production deployment: passive probes only (no bursts, load or fault injection).
    Production,
    /// A CI smoke step after a deploy: like staging, with fewer samples.
    Ci,
}

impl Profile {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Staging => "staging",
            Profile::Production => "production",
            Profile::Ci => "ci",
        }
    }

    /// True when active (disturbing) probes may run at all under this profile.
    pub fn allows_active(self) -> bool {
        !matches!(self, Profile::Production)
    }
}

/// The whole configuration file (`readyprobe.toml`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Base URL of the target (`https://staging.example.com`).
    pub target: Option<String>,
    /// The profile.
    pub profile: Profile,
    /// Limits of the run.
    pub run: RunConfig,
    /// Extra request headers.
    pub http: HttpConfig,
    /// Health endpoints.
    pub health: HealthConfig,
    /// Error-page probes.
    pub errors: ErrorsConfig,
    /// What makes the exit code 1.
    pub gate: GateConfig,
    /// Weights and the verdict's score bar.
    pub scoring: ScoringConfig,
    /// Which checks run and at what severity.
    pub checks: ChecksConfig,
    /// Databases, cache, broker and DNS names the system depends on (`[dependencies]`).
    pub dependencies: DependenciesConfig,
    /// CORS, CSRF, auth and idempotency probes (`[access]`).
    pub access: AccessConfig,
    /// Thresholds the judges use.
    pub judge: JudgeConfig,
    /// The metrics endpoint and the exposition parser's caps (`[metrics]`).
    pub metrics: MetricsConfig,
    /// The rate-limit burst: endpoint and hard caps (`[ratelimit]`, active).
    pub ratelimit: RateLimitConfig,
    /// Latency sampling and the pagination probe (`[perf]`).
    pub perf: PerfConfig,
    /// The closed-loop load baseline (`[load]`, active, opt-in).
    pub load: LoadConfig,
    /// Fault proxies in front of dependencies and the detect/recover windows (`[fault]`,
    /// `[[fault.proxy]]`, active).
    pub fault: FaultConfig,
    /// The service command readyprobe starts, audits and stops (`[supervise]`).
    pub supervise: SuperviseConfig,
    /// Where the service's logs are read for the `logging.*` checks (`[logs]`).
    pub logs: LogsConfig,
    /// The Kubernetes manifests the service is deployed with (`[kubernetes]`, `--kube-manifest`).
    pub kubernetes: KubernetesConfig,
    /// Accepted failures, each with a reason and an optional expiry date (`[[waivers]]`).
    pub waivers: Vec<WaiverConfig>,
}

/// Limits of one run.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The whole run's deadline; a report is written when it passes.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub deadline: Duration,
    /// Timeout of each network operation.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub timeout: Duration,
    /// Requests in flight to the target at once.
    pub concurrency: usize,
    /// The most requests one audit sends.
    pub max_requests: u64,
    /// The most body bytes read from one response.
    pub max_body_bytes: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// A PEM file of extra trusted CA certificates (a private staging CA).
    pub ca_file: Option<PathBuf>,
    /// Where plain HTTP is served, for `tls.http_redirect` (default: the target's host on port 80).
    pub http_url: Option<String>,
    /// The most connections open at once to one server address (IP and port), shared by every
    /// audit of a fleet run or of `serve`, like a browser's per-host limit.
    pub max_connections_per_host: usize,
    /// DNS servers (`ip` or `ip:port`) the run resolves the target with; empty: the system's.
    pub nameservers: Vec<String>,
    /// When the target's certificate fails verification, fail every HTTP check (`error`)
    /// instead of observing the site over an unverified connection.
    pub strict_tls: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            deadline: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            max_requests: 1000,
            max_body_bytes: 1024 * 1024,
            user_agent: format!("readyprobe/{}", crate::VERSION),
            ca_file: None,
            http_url: None,
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
            nameservers: Vec::new(),
            strict_tls: false,
        }
    }
}

/// `run.max_connections_per_host` when nothing is configured: six, as browsers do. The HTTP
/// connection pool ([`crate::probes::net::pool`]) takes its default from here, so config never
/// depends on the probes.
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 6;

/// Headers sent with every request to the target.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Header name → value; a value `env:NAME` is read from the environment. Values are secrets:
    /// masked in every output.
    pub headers: BTreeMap<String, String>,
}

/// Health endpoint discovery.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Liveness paths to probe (replaces the built-in candidates when any health path is set).
    pub liveness: Vec<String>,
    /// Readiness paths to probe.
    pub readiness: Vec<String>,
    /// Generic health paths to probe.
    pub generic: Vec<String>,
    /// Sequential samples for `health.latency`.
    pub latency_samples: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            liveness: Vec::new(),
            readiness: Vec::new(),
            generic: Vec::new(),
            latency_samples: 20,
        }
    }
}

impl HealthConfig {
    /// Built-in liveness candidates.
    pub const LIVENESS: &'static [&'static str] = &[
        "/livez",
        "/healthz",
        "/-/healthy",
        "/health/live",
        "/actuator/health/liveness",
        "/q/health/live",
    ];
    /// Built-in readiness candidates.
    pub const READINESS: &'static [&'static str] = &[
        "/readyz",
        "/ready",
        "/-/ready",
        "/health/ready",
        "/actuator/health/readiness",
        "/q/health/ready",
    ];
    /// Built-in generic candidates.
    pub const GENERIC: &'static [&'static str] = &["/health", "/actuator/health", "/q/health"];

    /// True when the user named their own health paths.
    pub fn is_configured(&self) -> bool {
        !(self.liveness.is_empty() && self.readiness.is_empty() && self.generic.is_empty())
    }
}

/// Error-page probes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ErrorsConfig {
    /// A JSON endpoint that may receive a malformed `POST` body (a mutation: only when named).
    pub json_endpoint: Option<String>,
}

/// What fails the gate (exit code 1).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GateConfig {
    /// Fail when any finding of at least this severity fails.
    pub fail_on: Option<Severity>,
    /// Fail when the overall score is below this.
    pub min_score: Option<f64>,
    /// Fail on a NO-GO verdict (default true).
    pub fail_on_no_go: bool,
    /// Per-category minimum scores by category key (`[gate.categories] security = 80`).
    pub categories: BTreeMap<String, f64>,
    /// `--fail-on-regression`: the most the overall score may drop since the previous run
    /// before the gate fails (points).
    pub max_score_drop: f64,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            fail_on: None,
            min_score: None,
            fail_on_no_go: true,
            categories: BTreeMap::new(),
            max_score_drop: 5.0,
        }
    }
}

/// Scoring weights and the verdict's bar.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// Weight of a finding by severity inside its category.
    pub weights: SeverityWeights,
    /// Weight of each category in the overall score, by category key (`security`); default 1.
    pub categories: BTreeMap<String, f64>,
    /// Overall score under which the verdict is at best CONDITIONAL GO.
    pub verdict_min_score: f64,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            weights: SeverityWeights::default(),
            categories: BTreeMap::new(),
            verdict_min_score: 50.0,
        }
    }
}

/// Weight of a finding by severity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityWeights {
    /// Critical findings.
    pub critical: f64,
    /// High findings.
    pub high: f64,
    /// Medium findings.
    pub medium: f64,
    /// Low findings.
    pub low: f64,
    /// Informational findings (0: they never move a score).
    pub info: f64,
}

impl Default for SeverityWeights {
    fn default() -> Self {
        SeverityWeights {
            critical: 10.0,
            high: 5.0,
            medium: 3.0,
            low: 1.0,
            info: 0.0,
        }
    }
}

impl SeverityWeights {
    /// The weight of one severity.
    pub fn of(&self, severity: Severity) -> f64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

/// Which checks run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksConfig {
    /// Check ids not to run (reported as skipped, "disabled in config").
    pub disable: Vec<String>,
    /// Severity overrides by check id.
    pub severity: BTreeMap<String, Severity>,
}

/// Thresholds the judges read. Part of the config so that `judge` can re-judge a recording
/// with different thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JudgeConfig {
    /// `health.latency` warns above this p95, in milliseconds.
    pub health_p95_warn_ms: f64,
    /// `perf.compression` looks at text responses at least this large, in bytes.
    pub compression_min_bytes: u64,
    /// Substrings that make a cookie name session-like for `cookies.flags`.
    pub session_cookie_markers: Vec<String>,
    /// `perf.latency` warns above this p95, in milliseconds.
    pub latency_p95_warn_ms: f64,
    /// `perf.latency` fails above this p95, in milliseconds.
    pub latency_p95_fail_ms: f64,
    /// `perf.pagination_depth` warns when the deep page is this many times slower.
    pub pagination_slowdown_warn: f64,
    /// `metrics.cardinality` warns above this many series in one family.
    pub metrics_series_warn: usize,
    /// `metrics.cardinality` fails above this many series in one family.
    pub metrics_series_fail: usize,
    /// `load.baseline` fails above this error rate (0.01 = 1%).
    pub load_error_rate_fail: f64,
    /// `db.*.conn_headroom` warns above this fraction of the usable connections in use
    /// (0.80 = 80%).
    pub db_conn_headroom_warn: f64,
    /// `db.*.conn_headroom` fails above this fraction of the usable connections in use.
    pub db_conn_headroom_fail: f64,
    /// `db.postgres.idle_in_tx` warns about sessions idle in a transaction for longer than this,
    /// in seconds.
    pub db_idle_in_tx_warn_secs: f64,
    /// `db.postgres.idle_in_tx` fails when the oldest such session is older than this, in
    /// seconds.
    pub db_idle_in_tx_fail_secs: f64,
    /// `db.postgres.long_queries` warns about active queries running for longer than this, in
    /// seconds.
    pub db_long_query_warn_secs: f64,
    /// `db.postgres.pitr` warns when the last successful WAL archive is older than this, in
    /// seconds.
    pub db_archive_stale_secs: f64,
    /// `db.postgres.statements` warns about statements whose mean time per call is above this,
    /// in milliseconds.
    pub db_slow_statement_ms: f64,
    /// `db.postgres.seq_scans` looks at tables with at least this many live rows.
    pub db_large_table_rows: u64,
    /// `db.postgres.seq_scans` reports a large table from this many sequential scans (when they
    /// also outnumber its index scans).
    pub db_seq_scan_min: u64,
    /// `redis.memory` warns above this fraction of `maxmemory` in use (0.90 = 90%).
    pub redis_memory_warn: f64,
    /// `redis.clients` warns above this fraction of `maxclients` connected (0.80 = 80%).
    pub redis_clients_warn: f64,
    /// `rabbitmq.prefetch` warns about a consuming channel whose prefetch is above this.
    pub rabbitmq_prefetch_warn: u64,
    /// `rabbitmq.backlog` warns about a queue with at least this many ready messages that is
    /// still growing.
    pub rabbitmq_backlog_growing_min: u64,
    /// `k8s.probe_timeouts` warns when a cut dependency would keep the pod in rotation longer
    /// than this (measured time-to-detect + failureThreshold × periodSeconds), in seconds.
    pub k8s_unready_warn_secs: f64,
    /// `k8s.probe_timeouts` fails above this, in seconds.
    pub k8s_unready_fail_secs: f64,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        JudgeConfig {
            health_p95_warn_ms: 500.0,
            compression_min_bytes: 1024,
            session_cookie_markers: ["sess", "sid", "token", "auth", "login", "jwt"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            latency_p95_warn_ms: 300.0,
            latency_p95_fail_ms: 1000.0,
            pagination_slowdown_warn: 3.0,
            metrics_series_warn: 1_000,
            metrics_series_fail: 10_000,
            load_error_rate_fail: 0.01,
            db_conn_headroom_warn: 0.80,
            db_conn_headroom_fail: 0.95,
            db_idle_in_tx_warn_secs: 5.0 * 60.0,
            db_idle_in_tx_fail_secs: 60.0 * 60.0,
            db_long_query_warn_secs: 5.0 * 60.0,
            db_archive_stale_secs: 24.0 * 60.0 * 60.0,
            db_slow_statement_ms: 1000.0,
            db_large_table_rows: 10_000,
            db_seq_scan_min: 50,
            redis_memory_warn: 0.90,
            redis_clients_warn: 0.80,
            rabbitmq_prefetch_warn: 1000,
            rabbitmq_backlog_growing_min: 1000,
            k8s_unready_warn_secs: 30.0,
            k8s_unready_fail_secs: 60.0,
        }
    }
}
