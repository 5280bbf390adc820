//! Checks: pure judges over observations.
//!
//! A check is a function from [`Observations`] (plus the judging part of the config) to a
//! [`Judgement`]; it does no I/O, reads no clock and draws no random numbers, so it is tested on
//! fixtures and can re-judge a recording offline. When the observation it needs is missing it
//! returns [`Unobserved`] (`?` on [`Probed::get`](crate::observations::Probed::get) does this),
//! which becomes an `error` or `skipped` finding with the reason — never a pass.
//!
//! Adding a check: write `pub const NAME: CheckMeta` and its judge in the area's file, then add
//! one line to [`CHECKS`].

pub mod auth;
pub mod cookies;
pub mod cors;
pub mod csrf;
pub mod db;
pub mod dns;
pub mod errors;
pub mod evidence;

pub mod headers;
pub mod health;
pub mod health_body;
pub mod health_fault;
pub mod idempotency;
pub mod k8s;
pub mod load;
pub mod logging;
pub mod metrics;
pub mod ops;
pub mod pack;
pub mod perf;
pub mod rabbitmq;
pub mod ratelimit;
pub mod redis;
pub mod tls;
pub mod tracing;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod health_fixtures;

use crate::config::{Config, ConfigError, JudgeConfig};
use crate::model::{Category, Outcome, Severity};
use pack::{PackCheck, PackError};

/// Why the catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// A pack file is malformed (the message names file, line and field).
    #[error(transparent)]
    Pack(#[from] PackError),
    /// Two checks share an id and the later one does not say `overrides = true`.
    #[error(
        "{file}: check id {id:?} is already defined by {other}; rename it or set overrides = true to replace it"
    )]
    Collision {
        /// The id.
        id: String,
        /// The pack file that redefines it.
        file: String,
        /// The line of its `id`.
        line: usize,
        /// Where it was defined first.
        other: String,
    },
}
pub use crate::observations::{Observations, Unobserved};

/// A judge: pure function from observations to a judgement.
pub type JudgeFn = fn(&Observations, &JudgeConfig) -> Result<Judgement, Unobserved>;

/// A check's identity and documentation: everything but the verdict.
#[derive(Debug, Clone, Copy)]
pub struct CheckMeta {
    /// Stable dotted id (`headers.hsts`); renaming one is a breaking change.
    pub id: &'static str,
    /// Short human title, phrased as the goal ("CORS does not reflect foreign origins…").
    pub title: &'static str,
    /// The problem a failing or warning finding is headed by, stated as a fact ("CORS reflects
    /// foreign origins with credentials"): reports name what is wrong, not the goal.
    pub problem: &'static str,
    /// The category it is scored in.
    pub category: Category,
    /// Default severity (config may override; a judge may escalate one finding).
    pub severity: Severity,
    /// True when it disturbs the target (bursts, forged tokens): runs only when enabled.
    pub active: bool,
    /// Weight multiplier inside its category on top of the severity weight (normally 1.0).
    pub weight: f64,
    /// The rule, as the catalogue states it (shown by `explain`).
    pub rule: &'static str,
    /// What to do when it fails.
    pub remediation: &'static str,
    /// RFCs, OWASP pages, vendor docs.
    pub references: &'static [&'static str],
    /// The judge.
    pub judge: JudgeFn,
}

/// Every built-in check, in report order. One line per check.
pub static CHECKS: &[&CheckMeta] = &[
    &health::ENDPOINTS,
    &health::READY_NOW,
    &health::STATUS_CONSISTENCY,
    &health::SEPARATION,
    &health::READINESS_DEPTH,
    &health::LATENCY,
    &health::INFO_LEAK,
    &health_fault::READINESS_FLIPS,
    &health_fault::LIVENESS_STABLE,
    &health_fault::RECOVERY,
    &tls::HTTP_REDIRECT,
    &tls::CERTIFICATE,
    &tls::PROTOCOLS,
    &headers::HSTS,
    &headers::CSP,
    &headers::CONTENT_TYPE_OPTIONS,
    &headers::FRAME_OPTIONS,
    &headers::REFERRER_POLICY,
    &headers::PERMISSIONS_POLICY,
    &headers::CROSS_ORIGIN,
    &headers::DISCLOSURE,
    &headers::DEPRECATED,
    &cookies::FLAGS,
    // Access control: CORS, CSRF, authentication, idempotency.
    &cors::REFLECT_CREDENTIALS,
    &cors::NULL_ORIGIN,
    &cors::ORIGIN_BYPASS,
    &cors::WILDCARD,
    &cors::VARY_ORIGIN,
    &csrf::FOREIGN_ORIGIN,
    &auth::REQUIRED,
    &auth::JWKS,
    &auth::JWT_FORGERY,
    &idempotency::KEY_REQUIRED,
    &errors::LEAK,
    &perf::COMPRESSION,
    &perf::CACHING,
    &perf::LATENCY,
    &perf::HTTP2,
    &perf::PAGINATION_DEPTH,
    // Observability: metrics and request ids.
    &metrics::ENDPOINT,
    &metrics::FORMAT,
    &metrics::RED,
    &metrics::RED_LIVE,
    &metrics::PATH_CARDINALITY,
    &metrics::CARDINALITY,
    &metrics::RUNTIME,
    &metrics::EXPOSURE,
    &tracing::REQUEST_ID,
    &logging::REDACTION,
    &logging::STRUCTURED,
    &logging::REQUEST_ID,
    // Active: rate limiting and load.
    &ratelimit::ENFORCED,
    &ratelimit::HEADERS,
    &ratelimit::RETRY_AFTER,
    &ratelimit::RECOVERY,
    &load::BASELINE,
    // Dependencies: PostgreSQL, MySQL/MariaDB, Redis, RabbitMQ, DNS.
    &db::POSTGRES_REACHABLE,
    &db::POSTGRES_PITR,
    &db::POSTGRES_SSL,
    &db::POSTGRES_SUPERUSER,
    &db::POSTGRES_TIMEOUTS,
    &db::POSTGRES_CONN_HEADROOM,
    &db::POSTGRES_IDLE_IN_TX,
    &db::POSTGRES_LONG_QUERIES,
    &db::POSTGRES_STATEMENTS,
    &db::POSTGRES_SEQ_SCANS,
    &db::MYSQL_REACHABLE,
    &db::MYSQL_SSL,
    &db::MYSQL_PITR,
    &db::MYSQL_SUPERUSER,
    &db::MYSQL_CONN_HEADROOM,
    &self::redis::REACHABLE,
    &self::redis::AUTH,
    &self::redis::PROTECTED_MODE,
    &self::redis::PERSISTENCE,
    &self::redis::MEMORY,
    &self::redis::CLIENTS,
    &rabbitmq::REACHABLE,
    &rabbitmq::DEFAULT_CREDENTIALS,
    &rabbitmq::DLX,
    &rabbitmq::DLX_TARGET,
    &rabbitmq::CONFIRMS,
    &rabbitmq::ALARMS,
    &rabbitmq::PREFETCH,
    &rabbitmq::BACKLOG,
    &dns::RECORDS,
    // Operational: supervised runs.
    &ops::GRACEFUL_SHUTDOWN,
    &ops::FAIL_FAST_CONFIG,
    &ops::ERROR_FORMAT,
    // Kubernetes manifests against the live service.
    &k8s::PROBES_DECLARED,
    &k8s::PROBE_PATHS_LIVE,
    &k8s::LIVENESS_NOT_READINESS,
    &k8s::PROBE_TIMEOUTS,
    &k8s::TERMINATION_GRACE,
    &k8s::RESOURCES,
    &k8s::REPLICAS_PDB,
    &k8s::IMAGE_PINNED,
];

/// Looks up a built-in check by id.
pub fn find(id: &str) -> Option<&'static CheckMeta> {
    CHECKS.iter().copied().find(|c| c.id == id)
}

/// A check's weight inside its category (1.0 for packs and unknown ids): what
/// [`crate::scoring::score`] is given so that scoring never looks checks up itself.
pub fn weight(id: &str) -> f64 {
    find(id).map(|c| c.weight).unwrap_or(1.0)
}

/// One check of the catalogue: built in (Rust) or declared in a pack (TOML).
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// A built-in check.
    Builtin(&'static CheckMeta),
    /// A check from a pack.
    Pack(&'a PackCheck),
}

impl Entry<'_> {
    /// Stable id.
    pub fn id(&self) -> &str {
        match self {
            Entry::Builtin(c) => c.id,
            Entry::Pack(p) => &p.id,
        }
    }

    /// Title.
    pub fn title(&self) -> &str {
        match self {
            Entry::Builtin(c) => c.title,
            Entry::Pack(p) => &p.title,
        }
    }

    /// The problem a failing or warning finding is headed by, when the check states one (a pack
    /// may not: its findings are then headed by their summary).
    pub fn problem(&self) -> Option<&str> {
        match self {
            Entry::Builtin(c) => Some(c.problem),
            Entry::Pack(p) => p.problem.as_deref(),
        }
    }

    /// Category.
    pub fn category(&self) -> Category {
        match self {
            Entry::Builtin(c) => c.category,
            Entry::Pack(p) => p.category,
        }
    }

    /// Default severity.
    pub fn severity(&self) -> Severity {
        match self {
            Entry::Builtin(c) => c.severity,
            Entry::Pack(p) => p.severity,
        }
    }

    /// True for checks that disturb the target.
    pub fn active(&self) -> bool {
        match self {
            Entry::Builtin(c) => c.active,
            // A pack that sends mutations disturbs the target like any active check.
            Entry::Pack(p) => p.mutating,
        }
    }

    /// The rule it enforces.
    pub fn rule(&self) -> &str {
        match self {
            Entry::Builtin(c) => c.rule,
            Entry::Pack(p) => &p.rule,
        }
    }

    /// What to do when it fails.
    pub fn remediation(&self) -> &str {
        match self {
            Entry::Builtin(c) => c.remediation,
            Entry::Pack(p) => &p.remediation,
        }
    }

    /// References.
    pub fn references(&self) -> Vec<String> {
        match self {
            Entry::Builtin(c) => c.references.iter().map(|r| r.to_string()).collect(),
            Entry::Pack(p) => p.references.clone(),
        }
    }

    /// Where it comes from: `builtin`, `builtin:probes/exposure.toml`, or a user pack's path.
    pub fn source(&self) -> &str {
        match self {
            Entry::Builtin(_) => "builtin",
            Entry::Pack(p) => &p.source,
        }
    }
}

/// Every check a run knows: the built-in ones, the embedded packs and the user's packs.
#[derive(Clone)]
pub struct Catalogue {
    packs: Vec<PackCheck>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.packs.iter().map(|p| &p.id))
            .finish()
    }
}

impl Catalogue {
    /// Built-in checks, the embedded packs, and `user` packs (already read, in `--probes`
    /// order; see `crate::packs` for the loader). A pack id that collides with another check is
    /// an error unless the pack says `overrides = true`.
    pub fn with_user_packs(user_packs: Vec<PackCheck>) -> Result<Catalogue, CatalogueError> {
        let mut packs = pack::builtin()?;
        for user in user_packs {
            if let Some(at) = packs.iter().position(|p| p.id == user.id) {
                if !user.overrides {
                    return Err(CatalogueError::Collision {
                        id: user.id.clone(),
                        file: user.source.clone(),
                        line: user.line,
                        other: packs[at].source.clone(),
                    });
                }
                packs.remove(at);
            } else if find(&user.id).is_some() && !user.overrides {
                return Err(CatalogueError::Collision {
                    id: user.id.clone(),
                    file: user.source.clone(),
                    line: user.line,
                    other: "builtin".to_string(),
                });
            }
            packs.push(user);
        }
        Ok(Catalogue { packs })
    }

    /// Every check in report order: built-ins (unless a pack overrides them), then packs.
    pub fn entries(&self) -> Vec<Entry<'_>> {
        CHECKS
            .iter()
            .filter(|c| !self.packs.iter().any(|p| p.id == c.id))
            .map(|c| Entry::Builtin(c))
            .chain(self.packs.iter().map(Entry::Pack))
            .collect()
    }

    /// The pack checks.
    pub fn packs(&self) -> &[PackCheck] {
        &self.packs
    }

    /// Looks up any check by id.
    pub fn find(&self, id: &str) -> Option<Entry<'_>> {
        self.entries().into_iter().find(|e| e.id() == id)
    }

    /// Checks that every check id the config names exists (`checks.disable`,
    /// `checks.severity`).
    pub fn validate_config(&self, config: &Config, origin: &str) -> Result<(), ConfigError> {
        for id in &config.checks.disable {
            if self.find(id).is_none() {
                return Err(ConfigError::field(
                    origin,
                    "checks.disable",
                    format!("unknown check id {id:?}; `readyprobe checks` lists them"),
                ));
            }
        }
        for (i, w) in config.waivers.iter().enumerate() {
            if self.find(&w.check).is_none() {
                return Err(ConfigError::field(
                    origin,
                    format!("waivers[{i}].check"),
                    format!(
                        "unknown check id {:?}; `readyprobe checks` lists them",
                        w.check
                    ),
                ));
            }
        }
        for id in config.checks.severity.keys() {
            if self.find(id).is_none() {
                return Err(ConfigError::field(
                    origin,
                    format!("checks.severity.{id}"),
                    "unknown check id; `readyprobe checks` lists them",
                ));
            }
        }
        Ok(())
    }
}

/// A judge's conclusion, before the engine adds the check's metadata to make a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Pass, warn or fail (error and skipped come through [`Unobserved`]; `Outcome::Skipped` is
    /// also accepted for "not applicable").
    pub outcome: Outcome,
    /// 0.0–1.0; when `None` the outcome's default (pass 1, warn 0.5, fail 0).
    pub score: Option<f64>,
    /// One sentence a person reads.
    pub summary: String,
    /// What was observed, one line each, redacted.
    pub evidence: Vec<String>,
    /// Escalates or lowers this one finding's severity (an expired certificate is critical).
    pub severity: Option<Severity>,
    /// Replaces the check's default remediation for this finding.
    pub remediation: Option<String>,
}

impl Judgement {
    fn new(outcome: Outcome, summary: impl Into<String>) -> Judgement {
        Judgement {
            outcome,
            score: None,
            summary: summary.into(),
            evidence: Vec::new(),
            severity: None,
            remediation: None,
        }
    }

    /// The rule holds.
    pub fn pass(summary: impl Into<String>) -> Judgement {
        Judgement::new(Outcome::Pass, summary)
    }

    /// The rule holds only partly.
    pub fn warn(summary: impl Into<String>) -> Judgement {
        Judgement::new(Outcome::Warn, summary)
    }

    /// The rule is broken.
    pub fn fail(summary: impl Into<String>) -> Judgement {
        Judgement::new(Outcome::Fail, summary)
    }

    /// Not applicable to this target (scored as excluded).
    pub fn skipped(summary: impl Into<String>) -> Judgement {
        Judgement::new(Outcome::Skipped, summary)
    }

    /// Adds one evidence line.
    pub fn evidence(mut self, line: impl Into<String>) -> Judgement {
        self.evidence.push(line.into());
        self
    }

    /// Adds several evidence lines.
    pub fn evidence_all<I, S>(mut self, lines: I) -> Judgement
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.extend(lines.into_iter().map(Into::into));
        self
    }

    /// Sets an explicit score (clamped to 0.0–1.0).
    pub fn score(mut self, score: f64) -> Judgement {
        self.score = Some(score.clamp(0.0, 1.0));
        self
    }

    /// Sets this finding's severity.
    pub fn severity(mut self, severity: Severity) -> Judgement {
        self.severity = Some(severity);
        self
    }

    /// Replaces the remediation for this finding.
    pub fn remediation(mut self, text: impl Into<String>) -> Judgement {
        self.remediation = Some(text.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_holds_builtins_and_embedded_packs() {
        let catalogue = Catalogue::load(&[]).expect("embedded packs load");
        assert!(catalogue.find("headers.hsts").is_some());
        assert!(catalogue.find("exposure.sensitive_paths").is_some());
    }

    #[test]
    fn unknown_check_id_in_config_is_named() {
        let catalogue = Catalogue::load(&[]).expect("load");
        let mut config = Config::default();
        config
            .checks
            .severity
            .insert("headers.hstz".into(), Severity::Low);
        let err = catalogue.validate_config(&config, "t.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.toml: checks.severity.headers.hstz: unknown check id; `readyprobe checks` lists them"
        );
    }

    #[test]
    fn check_ids_are_unique_dotted_lowercase() {
        let mut seen = HashSet::new();
        for check in CHECKS {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            assert!(check.id.contains('.'), "{} is not dotted", check.id);
            assert_eq!(check.id, check.id.to_ascii_lowercase());
            assert!(!check.title.is_empty() && !check.rule.is_empty());
            assert!(
                !check.remediation.is_empty(),
                "{} has no remediation",
                check.id
            );
        }
    }

    #[test]
    fn every_check_states_its_problem_apart_from_its_goal() {
        for check in CHECKS {
            assert!(
                !check.problem.is_empty(),
                "{} has no problem title",
                check.id
            );
            assert_ne!(check.problem, check.title, "{}", check.id);
            assert!(
                !check.problem.ends_with('.'),
                "{}: a title, not a sentence",
                check.id
            );
        }
        let catalogue = Catalogue::load(&[]).expect("load");
        for pack in catalogue.packs() {
            assert!(
                pack.problem.is_some(),
                "built-in pack {} has no problem",
                pack.id
            );
        }
    }
}
