//! Observations: the plain, serialisable record of what the probes saw.
//!
//! Probes fill an [`Observations`]; checks read it and nothing else. Because it is plain data it can
//! be recorded to a file and judged again offline (`--record` / `judge`). Every slot is a
//! [`Probed`], so a check can tell "the probe failed" (an `error` finding) from "the probe did not
//! apply" (a `skipped` finding) and neither is ever mistaken for a pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod access;
pub mod dns;
pub mod fault;
pub mod http;
pub mod kube;
pub mod load;
pub mod logs;
pub mod metrics;
pub mod mysql;
pub mod postgres;
pub mod process;
pub mod rabbitmq;
pub mod ratelimit;
pub mod redis;
pub mod tls;
pub mod trace;

pub use self::http::{
    ErrorProbe, ErrorProbeKind, HealthKind, HealthProbe, HttpExchange, LatencySamples, RequestSpec,
};

/// The result of one probe: what it saw, why it could not see, or why it did not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "lowercase")]
pub enum Probed<T> {
    /// The probe ran and observed this.
    Observed(T),
    /// The probe ran and failed (timeout, refused, bad TLS…); checks that need it report `error`.
    Failed(String),
    /// The probe did not apply or was not enabled; checks that need it report `skipped`.
    Skipped(String),
}

impl<T> Default for Probed<T> {
    fn default() -> Self {
        Probed::Skipped("not probed in this run".to_string())
    }
}

impl<T> Probed<T> {
    /// The observation, or the reason it is missing, in the form checks return with `?`.
    pub fn get(&self) -> Result<&T, Unobserved> {
        match self {
            Probed::Observed(value) => Ok(value),
            Probed::Failed(reason) => Err(Unobserved::Failed(reason.clone())),
            Probed::Skipped(reason) => Err(Unobserved::Skipped(reason.clone())),
        }
    }

    /// The observation if there is one.
    pub fn observed(&self) -> Option<&T> {
        match self {
            Probed::Observed(value) => Some(value),
            _ => None,
        }
    }

    /// True when the probe ran and failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, Probed::Failed(_))
    }
}

/// Why a check could not judge: the probe failed (`error`) or did not apply (`skipped`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unobserved {
    /// The probe ran and failed; the finding becomes `error` with this reason.
    Failed(String),
    /// Not applicable or not enabled; the finding becomes `skipped` with this reason.
    Skipped(String),
}

/// The audited target, as the probes addressed it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Base URL, credentials redacted.
    pub url: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Host name or IP literal.
    pub host: String,
    /// Port (explicit or the scheme's default).
    pub port: u16,
}

impl TargetInfo {
    /// The `scheme` of a dependency-only audit (`readyprobe audit postgres://… redis://…`): no
    /// HTTP target, only the named dependencies were inspected.
    pub const DEPENDENCY_ONLY: &'static str = "dependencies";

    /// True when the target is addressed over HTTPS.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// True for a dependency-only audit: there was no HTTP target to probe.
    pub fn is_dependency_only(&self) -> bool {
        self.scheme == Self::DEPENDENCY_ONLY
    }
}

/// Everything the probes observed in one run. New probe families add a field here
/// (with `#[serde(default)]` so older recordings still load).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Observations {
    /// The target as addressed.
    pub target: TargetInfo,
    /// `GET /` with `Accept-Encoding: gzip, deflate, br`, redirects followed: feeds every header,
    /// cookie, compression and caching check.
    pub root: Probed<HttpExchange>,
    /// `GET http://host/` without following redirects (for an `http://` target: the target
    /// itself, not followed).
    pub http_redirect: Probed<HttpExchange>,
    /// Each health endpoint candidate.
    pub health: Vec<HealthProbe>,
    /// Sequential samples of the health endpoints that exist.
    pub health_latency: Probed<LatencySamples>,
    /// Error-page probes.
    pub errors: Vec<ErrorProbe>,
    /// Pack checks' requests, by check id, in the order the pack declares them.
    pub packs: BTreeMap<String, Vec<Probed<HttpExchange>>>,
    /// PostgreSQL, inspected read-only (`[dependencies] postgres`).
    pub postgres: Probed<postgres::PgObservation>,
    /// MySQL/MariaDB, inspected read-only (`[dependencies] mysql`).
    pub mysql: Probed<mysql::MySqlObservation>,
    /// Redis, inspected read-only (`[dependencies] redis`).
    pub redis: Probed<self::redis::RedisObservation>,
    /// RabbitMQ over AMQP and its management API (`[dependencies] rabbitmq*`).
    pub rabbitmq: Probed<rabbitmq::RabbitObservation>,
    /// DNS records of the target's names (`[dependencies.dns]`).
    pub dns: Probed<dns::DnsObservation>,
    /// TLS handshake (chain, verdict, version) and the TLS 1.0/1.1 acceptance probes (https
    /// targets only).
    pub tls: Probed<tls::TlsObservation>,
    /// CORS requests to the API paths (`[access] api_paths`, else the target itself, the
    /// discovered API paths and the OpenAPI document's).
    pub cors: Probed<Vec<access::CorsProbe>>,
    /// Protected routes requested without credentials (`[access] protected`).
    pub protected: Probed<Vec<access::ProtectedProbe>>,
    /// The OIDC discovery document's JWKS (or `/.well-known/jwks.json`).
    pub jwks: Probed<access::JwksObservation>,
    /// Forged tokens against the first protected route (active).
    pub jwt_forgery: Probed<access::JwtForgery>,
    /// Configured mutations sent cross-site (active).
    pub csrf: Probed<Vec<access::MutationProbe>>,
    /// Configured mutations sent without their idempotency header (active).
    pub idempotency: Probed<Vec<access::MutationProbe>>,
    /// Each `[[fault.proxy]]` cut, with readiness/liveness polls and timings (active).
    pub fault: Probed<Vec<fault::FaultRun>>,
    /// SIGTERM to the supervised service with requests in flight (`[supervise]`, active).
    pub shutdown: Probed<process::ShutdownObservation>,
    /// The supervised service started with `[supervise] invalid_env`.
    pub fail_fast: Probed<process::FailFastObservation>,
    /// Canary requests and what the log source showed afterwards (`[logs]`).
    pub logs: Probed<logs::LogObservation>,
    /// The metrics endpoint: discovery, two scrapes and the requests between them.
    pub metrics: Probed<metrics::MetricsObservation>,
    /// `GET /` with an `X-Request-ID` and a `traceparent`.
    pub tracing: Probed<trace::TraceProbe>,
    /// Sequential latency samples of the key endpoints (`[perf] endpoints`).
    pub latency: Probed<load::LatencyObservation>,
    /// First page vs deep page of `[perf] list_endpoint`.
    pub pagination: Probed<load::PaginationObservation>,
    /// The rate-limit burst and recovery (active, `[ratelimit] endpoint`).
    pub ratelimit: Probed<ratelimit::BurstObservation>,
    /// The closed-loop load baseline (active, `[load] enabled`).
    pub load: Probed<load::LoadObservation>,
    /// The Kubernetes manifests given for the service (`--kube-manifest`, `[kubernetes]`).
    pub kubernetes: Probed<kube::KubeManifests>,
    /// The manifest's httpGet probes requested on the target as the kubelet would.
    pub kube_probes: Probed<kube::LiveProbes>,
    /// How long the supervised service took to answer 2xx on its readiness URL after it started.
    pub startup: Probed<process::StartupObservation>,
}

impl Observations {
    /// The root response, or why it is missing.
    pub fn root_get(&self) -> Result<&HttpExchange, Unobserved> {
        self.root.get()
    }

    /// Every HTTP exchange observed in this run (for checks over "every response seen", such as
    /// cookies).
    pub fn all_exchanges(&self) -> Vec<&HttpExchange> {
        let mut all = Vec::new();
        all.extend(self.root.observed());
        all.extend(self.http_redirect.observed());
        all.extend(self.health.iter().filter_map(|h| h.exchange.observed()));
        all.extend(self.errors.iter().filter_map(|e| e.exchange.observed()));
        all.extend(self.packs.values().flatten().filter_map(Probed::observed));
        all
    }

    /// Health candidates that exist, in probe order.
    pub fn health_found(&self) -> Vec<&HealthProbe> {
        self.health.iter().filter(|h| h.exists()).collect()
    }
}
