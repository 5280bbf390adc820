//! The dependency phase of the passive probes: PostgreSQL, MySQL/MariaDB, Redis, RabbitMQ and
//! DNS, each inspected concurrently, read-only, under the run's timeout and deadline.
//!
//! A dependency that is not configured is recorded as `skipped` with the reason ("no postgres
//! configured"), never probed, and never lowers a score. A dependency that cannot be opened is
//! recorded as `failed` with a reason naming it by its redacted URL. This module decides *what*
//! to probe; the probes in [`crate::probes::deps`] do the I/O and must stay read-only.

use std::net::IpAddr;

use super::Audit;
use crate::config::{DependenciesConfig, url_password};
use crate::observations::dns::DnsObservation;
use crate::observations::mysql::MySqlObservation;
use crate::observations::postgres::PgObservation;
use crate::observations::rabbitmq::RabbitObservation;
use crate::observations::redis::RedisObservation;
use crate::observations::{Observations, Probed};
use crate::probes::ProbeCx;
use crate::probes::Target;
use crate::probes::deps::dns;
use crate::probes::deps::mysql;
use crate::probes::deps::postgres;
use crate::probes::deps::rabbitmq::{self, Management};
use crate::probes::deps::redis;

/// What the dependency probes observed, to be stored in [`Observations`].
#[derive(Debug, Clone)]
pub struct DependencyObservations {
    /// PostgreSQL.
    pub postgres: Probed<PgObservation>,
    /// MySQL/MariaDB.
    pub mysql: Probed<MySqlObservation>,
    /// Redis.
    pub redis: Probed<RedisObservation>,
    /// RabbitMQ (AMQP and management API).
    pub rabbitmq: Probed<RabbitObservation>,
    /// DNS of the target's names.
    pub dns: Probed<DnsObservation>,
}

impl DependencyObservations {
    /// Stores every dependency observation in `obs`.
    pub fn store(self, obs: &mut Observations) {
        obs.postgres = self.postgres;
        obs.mysql = self.mysql;
        obs.redis = self.redis;
        obs.rabbitmq = self.rabbitmq;
        obs.dns = self.dns;
    }
}

fn not_configured<T>(what: &str, example: &str) -> Probed<T> {
    Probed::Skipped(format!(
        "no {what} configured (set dependencies.{example} in the config)"
    ))
}

/// Probes every configured dependency concurrently.
pub async fn observe(cx: &ProbeCx, audit: Target<'_>) -> DependencyObservations {
    // `plan::build_audit` resolves `env:` values; an Audit built elsewhere may still hold them.
    let deps = match audit.config.dependencies.resolve("config") {
        Ok(deps) => deps,
        Err(err) => return all_failed(&err.to_string()),
    };
    let disabled = |id: &str| audit.config.checks.disable.iter().any(|d| d == id);

    let pg = async {
        match &deps.postgres {
            Some(dsn) => {
                probed(postgres::inspect_with(cx, dsn, deps.allow_cleartext_password).await)
            }
            None => not_configured("postgres", "postgres = \"postgres://…\""),
        }
    };
    let my = async {
        match &deps.mysql {
            Some(dsn) => probed(mysql::inspect_with(cx, dsn, deps.allow_cleartext_password).await),
            None => not_configured("mysql", "mysql = \"mysql://…\""),
        }
    };
    let rd = async {
        match &deps.redis {
            Some(r) => probed(redis::inspect(cx, &r.url, r.role).await),
            None => not_configured("redis", "redis = \"redis://…\""),
        }
    };
    let rb = async { rabbit(cx, &deps).await };
    let dn = async {
        if disabled("dns.records") {
            return Probed::Skipped("disabled in config (checks.disable)".to_string());
        }
        dns_probe(cx, audit, &deps).await
    };
    let (postgres, mysql, redis, rabbitmq, dns) = tokio::join!(pg, my, rd, rb, dn);
    DependencyObservations {
        postgres,
        mysql,
        redis,
        rabbitmq,
        dns,
    }
}

fn probed<T>(result: Result<T, crate::probes::ProbeError>) -> Probed<T> {
    match result {
        Ok(value) => Probed::Observed(value),
        Err(err) => Probed::Failed(err.to_string()),
    }
}

fn all_failed(reason: &str) -> DependencyObservations {
    DependencyObservations {
        postgres: Probed::Failed(reason.to_string()),
        mysql: Probed::Failed(reason.to_string()),
        redis: Probed::Failed(reason.to_string()),
        rabbitmq: Probed::Failed(reason.to_string()),
        dns: Probed::Failed(reason.to_string()),
    }
}

async fn rabbit(cx: &ProbeCx, deps: &DependenciesConfig) -> Probed<RabbitObservation> {
    if deps.rabbitmq.is_none() && deps.rabbitmq_management.is_none() {
        return not_configured("rabbitmq", "rabbitmq = \"amqp://…\"");
    }
    let (user, password) = management_credentials(deps);
    let management = deps.rabbitmq_management.as_ref().map(|m| Management {
        url: m.url.as_str(),
        username: user.as_str(),
        password: password.as_str(),
    });
    Probed::Observed(rabbitmq::inspect(cx, deps.rabbitmq.as_deref(), management.as_ref()).await)
}

/// The management API's credentials: the configured ones, else the AMQP URL's user (RabbitMQ's
/// own default, guest:guest, when that has none either).
fn management_credentials(deps: &DependenciesConfig) -> (String, String) {
    if let Some(m) = &deps.rabbitmq_management
        && let (Some(u), Some(p)) = (&m.username, &m.password)
    {
        return (u.clone(), p.clone());
    }
    match deps
        .rabbitmq
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
    {
        Some(u) if !u.username().is_empty() => (
            crate::config::percent_decode(u.username())
                .unwrap_or_else(|_| u.username().to_string()),
            url_password(u.as_str()).last().cloned().unwrap_or_default(),
        ),
        _ => ("guest".to_string(), "guest".to_string()),
    }
}

/// The report's target for a dependency-only audit: `dependencies: postgres://…, redis://…`
/// (passwords masked).
pub fn target_name(deps: &DependenciesConfig) -> String {
    format!("dependencies: {}", deps.shown_urls().join(", "))
}

/// True when at least one configured dependency answered (a dependency-only audit's "the target
/// could be reached"): connected, or at least spoke its protocol.
pub fn answered(obs: &Observations) -> bool {
    obs.postgres.observed().is_some()
        || obs.mysql.observed().is_some()
        || obs.redis.observed().is_some()
        || obs
            .rabbitmq
            .observed()
            .is_some_and(|r| r.amqp.observed().is_some() || r.management.observed().is_some())
}

/// The scope lines of a dependency-only audit.
pub fn scope_lines(audit: &Audit) -> Vec<String> {
    vec![
        format!(
            "Dependency-only audit of {}: no HTTP target was given, so the checks that need one \
             (Security, Health Checks, Observability, Operational and the HTTP checks of \
             Performance and Scalability) were not run and their categories are not assessed.",
            audit.config.dependencies.shown_urls().join(", ")
        ),
        format!(
            "Inspected read-only, {} timeout per operation, {} deadline: SQL SELECT/SHOW inside \
             READ ONLY transactions, Redis PING/INFO/CONFIG GET/ACL, RabbitMQ management GETs and \
             an AMQP connect/close.",
            humantime::format_duration(audit.config.run.timeout),
            humantime::format_duration(audit.config.run.deadline),
        ),
    ]
}

async fn dns_probe(
    cx: &ProbeCx,
    audit: Target<'_>,
    deps: &DependenciesConfig,
) -> Probed<DnsObservation> {
    let configured = deps.dns.clone().unwrap_or_default();
    let nameserver = configured.nameserver_addr();
    if configured.names.is_empty() && audit.is_dependency_only() {
        return Probed::Skipped(
            "a dependency-only audit has no target host; set dependencies.dns.names to check DNS"
                .to_string(),
        );
    }
    let names = if configured.names.is_empty() {
        let host = audit
            .target
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.parse::<IpAddr>().is_ok() {
            return Probed::Skipped(format!(
                "the target is addressed by IP ({host}); set dependencies.dns.names to check its DNS names"
            ));
        }
        if nameserver.is_none() && dns::is_special_use(&host) {
            return Probed::Skipped(format!(
                "{host} is a special-use name that public DNS does not serve; set \
                 dependencies.dns.nameserver to ask a private resolver"
            ));
        }
        vec![host]
    } else {
        configured.names.clone()
    };
    probed(dns::resolve(cx, nameserver, &names).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RabbitManagement;

    #[test]
    fn management_credentials_fall_back_to_the_amqp_user() {
        let mut deps = DependenciesConfig {
            rabbitmq: Some("amqp://shop%2Dapp:p%40ss@mq:5672/shop".into()),
            rabbitmq_management: Some(RabbitManagement {
                url: "http://mq:15672".into(),
                username: None,
                password: None,
            }),
            ..DependenciesConfig::default()
        };
        assert_eq!(
            management_credentials(&deps),
            ("shop-app".to_string(), "p@ss".to_string())
        );
        if let Some(m) = deps.rabbitmq_management.as_mut() {
            m.username = Some("monitor".into());
            m.password = Some("mon-secret".into());
        }
        assert_eq!(
            management_credentials(&deps),
            ("monitor".to_string(), "mon-secret".to_string())
        );
        deps.rabbitmq = Some("amqp://mq:5672".into());
        if let Some(m) = deps.rabbitmq_management.as_mut() {
            m.username = None;
        }
        assert_eq!(
            management_credentials(&deps),
            ("guest".to_string(), "guest".to_string())
        );
    }
}
