//! Observations: the plain, serialisable record of what the probes saw.
//!
//! Probes fill an [`Observations`]; checks read it and nothing else. Because it is plain data it can
//! be recorded to a file and judged again offline (`--record` / `judge`). Every slot is a
//! [`Probed`], so a check can tell "the probe failed" (an `error` finding) from "the probe did not
//! apply" (a `skipped` finding) and neither is ever mistaken for a pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What one HTTP request saw. Defined beside the HTTP probe that records it; re-exported here so
/// judges name observations only through this module.
pub use crate::probes::http::HttpExchange;

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

/// What kind of health endpoint a path is meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthKind {
    /// "Is the process alive?" (`/livez`, `/healthz`, `/actuator/health/liveness`).
    Liveness,
    /// "Can it serve traffic?" (`/readyz`, `/ready`, `/actuator/health/readiness`).
    Readiness,
    /// A single generic endpoint (`/health`, `/actuator/health`).
    Generic,
}

impl HealthKind {
    /// The lowercase name used in evidence lines.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthKind::Liveness => "liveness",
            HealthKind::Readiness => "readiness",
            HealthKind::Generic => "generic",
        }
    }
}

/// One health endpoint candidate and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthProbe {
    /// The path requested (`/readyz`).
    pub path: String,
    /// What the path is meant to be.
    pub kind: HealthKind,
    /// True when the user named this path (`[health]`), false for a built-in candidate: a
    /// configured readiness endpoint is judged whatever it answers, a candidate only if it exists.
    #[serde(default)]
    pub configured: bool,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}

impl HealthProbe {
    /// True when the endpoint exists: it answered with anything but 404/405/410 (a 503 from a
    /// readiness endpoint still proves the endpoint is there), and not with an HTML page (a
    /// single-page app's catch-all route answers 200 with its index everywhere).
    pub fn exists(&self) -> bool {
        match self.exchange.observed() {
            Some(ex) => {
                !matches!(ex.status, 404 | 405 | 410) && ex.status < 600 && !ex.is_html_document()
            }
            None => false,
        }
    }

    /// True when the path answered with an HTML page: a catch-all route, not a health endpoint.
    pub fn is_catch_all_page(&self) -> bool {
        self.exchange
            .observed()
            .is_some_and(|ex| !matches!(ex.status, 404 | 405 | 410) && ex.is_html_document())
    }
}

/// Repeated timings of the health endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySamples {
    /// The paths sampled, round-robin.
    pub paths: Vec<String>,
    /// Milliseconds of each request that completed.
    pub samples_ms: Vec<f64>,
    /// Requests that timed out.
    pub timeouts: u32,
    /// Requests that failed otherwise (refused, reset…), with the first reason.
    pub failures: u32,
    /// The first failure reason seen, if any.
    pub first_failure: Option<String>,
}

/// Which malformed or unexpected request an error-page probe sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorProbeKind {
    /// A path that cannot exist.
    NotFound,
    /// A query string with quotes and brackets that naive code chokes on.
    MalformedQuery,
    /// A 16 KiB request header.
    OversizedHeader,
    /// A truncated JSON body to a configured endpoint (only when configured: it is a mutation).
    MalformedJson,
}

impl ErrorProbeKind {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorProbeKind::NotFound => "unknown path",
            ErrorProbeKind::MalformedQuery => "malformed query string",
            ErrorProbeKind::OversizedHeader => "16 KiB request header",
            ErrorProbeKind::MalformedJson => "malformed JSON body",
        }
    }
}

/// One error-page probe and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorProbe {
    /// What was sent.
    pub kind: ErrorProbeKind,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
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
    pub postgres: Probed<crate::probes::deps::postgres::PgObservation>,
    /// MySQL/MariaDB, inspected read-only (`[dependencies] mysql`).
    pub mysql: Probed<crate::probes::deps::mysql::MySqlObservation>,
    /// Redis, inspected read-only (`[dependencies] redis`).
    pub redis: Probed<crate::probes::deps::redis::RedisObservation>,
    /// RabbitMQ over AMQP and its management API (`[dependencies] rabbitmq*`).
    pub rabbitmq: Probed<crate::probes::deps::rabbitmq::RabbitObservation>,
    /// DNS records of the target's names (`[dependencies.dns]`).
    pub dns: Probed<crate::probes::deps::dns::DnsObservation>,
    /// TLS handshake (chain, verdict, version) and the TLS 1.0/1.1 acceptance probes (https
    /// targets only).
    pub tls: Probed<crate::probes::tls::TlsObservation>,
    /// CORS requests to the API paths (`[access] api_paths`, else the target itself, the
    /// discovered API paths and the OpenAPI document's).
    pub cors: Probed<Vec<crate::probes::access::CorsProbe>>,
    /// Protected routes requested without credentials (`[access] protected`).
    pub protected: Probed<Vec<crate::probes::access::ProtectedProbe>>,
    /// The OIDC discovery document's JWKS (or `/.well-known/jwks.json`).
    pub jwks: Probed<crate::probes::access::JwksObservation>,
    /// Forged tokens against the first protected route (active).
    pub jwt_forgery: Probed<crate::probes::access::JwtForgery>,
    /// Configured mutations sent cross-site (active).
    pub csrf: Probed<Vec<crate::probes::access::MutationProbe>>,
    /// Configured mutations sent without their idempotency header (active).
    pub idempotency: Probed<Vec<crate::probes::access::MutationProbe>>,
    /// Each `[[fault.proxy]]` cut, with readiness/liveness polls and timings (active).
    pub fault: Probed<Vec<crate::probes::fault::FaultRun>>,
    /// SIGTERM to the supervised service with requests in flight (`[supervise]`, active).
    pub shutdown: Probed<crate::supervise::ShutdownObservation>,
    /// The supervised service started with `[supervise] invalid_env`.
    pub fail_fast: Probed<crate::supervise::FailFastObservation>,
    /// Canary requests and what the log source showed afterwards (`[logs]`).
    pub logs: Probed<crate::probes::logs::LogObservation>,
    /// The metrics endpoint: discovery, two scrapes and the requests between them.
    pub metrics: Probed<crate::probes::metrics::MetricsObservation>,
    /// `GET /` with an `X-Request-ID` and a `traceparent`.
    pub tracing: Probed<crate::probes::trace_context::TraceProbe>,
    /// Sequential latency samples of the key endpoints (`[perf] endpoints`).
    pub latency: Probed<crate::probes::load::LatencyObservation>,
    /// First page vs deep page of `[perf] list_endpoint`.
    pub pagination: Probed<crate::probes::load::PaginationObservation>,
    /// The rate-limit burst and recovery (active, `[ratelimit] endpoint`).
    pub ratelimit: Probed<crate::probes::burst::BurstObservation>,
    /// The closed-loop load baseline (active, `[load] enabled`).
    pub load: Probed<crate::probes::load::LoadObservation>,
    /// The Kubernetes manifests given for the service (`--kube-manifest`, `[kubernetes]`).
    pub kubernetes: Probed<crate::manifests::KubeManifests>,
    /// The manifest's httpGet probes requested on the target as the kubelet would.
    pub kube_probes: Probed<crate::manifests::LiveProbes>,
    /// How long the supervised service took to answer 2xx on its readiness URL after it started.
    pub startup: Probed<crate::supervise::StartupObservation>,
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
