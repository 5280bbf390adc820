//! health.readiness_depth: does readiness look at the dependencies it needs.

use super::*;

// ---------------------------------------------------------------------------------------------
// health.readiness_depth

/// `health.readiness_depth`: the readiness body shows dependency checks.
pub const READINESS_DEPTH: CheckMeta = CheckMeta {
    id: "health.readiness_depth",
    title: "Readiness checks dependencies",
    problem: "Readiness does not show that it checks dependencies",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "readiness body: dependency components (db, redis, broker, …) vs trivial ones (ping, \
           diskSpace, readinessState) vs hidden details — pass: dependencies visible; warn: \
           shallow; skipped with reason: details hidden",
    remediation: "Include the dependencies the service cannot serve without in readiness and \
                  name them in the body (health+json `checks` such as `postgres:connection`, \
                  Spring Boot `management.endpoint.health.group.readiness.include=readinessState,db,redis`, \
                  MicroProfile `@Readiness` checks). To let readyprobe see them on Spring Boot, \
                  set `management.endpoint.health.show-components=always` (names only, no \
                  details).",
    references: &[HEALTH_JSON, SPRING_HEALTH, MICROPROFILE_HEALTH, K8S_PROBES],
    judge: readiness_depth,
};

/// What a component name suggests it checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ComponentKind {
    /// A database, cache, broker, store or upstream service.
    Dependency,
    /// The process itself (ping, disk space, the orchestrator's own state).
    Trivial,
    /// A name that says neither.
    Unclear,
}

impl ComponentKind {
    fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Dependency => "dependency",
            ComponentKind::Trivial => "trivial",
            ComponentKind::Unclear => "unclear",
        }
    }
}

/// Name fragments that mark a dependency (matched as a prefix or suffix of a word).
pub(super) const DEPENDENCY_MARKERS: &[&str] = &[
    "db",
    "database",
    "datasource",
    "jdbc",
    "r2dbc",
    "sql",
    "postgres",
    "pg",
    "mysql",
    "maria",
    "oracle",
    "mongo",
    "cassandra",
    "dynamo",
    "couch",
    "neo4j",
    "clickhouse",
    "influx",
    "redis",
    "valkey",
    "memcache",
    "cache",
    "hazelcast",
    "rabbit",
    "amqp",
    "mq",
    "kafka",
    "broker",
    "queue",
    "sqs",
    "sns",
    "pubsub",
    "nats",
    "elastic",
    "opensearch",
    "solr",
    "s3",
    "storage",
    "bucket",
    "blob",
    "minio",
    "upstream",
    "dependenc",
    "api",
    "service",
    "backend",
    "external",
    "remote",
    "grpc",
    "ldap",
    "smtp",
    "mail",
    "vault",
    "consul",
    "etcd",
    "zookeeper",
    "keycloak",
    "oidc",
    "oauth",
    "connection",
    "pool",
];

/// Words that, alone, make a component trivial.
pub(super) const TRIVIAL_WORDS: &[&str] = &[
    "ping",
    "disk",
    "space",
    "liveness",
    "readiness",
    "state",
    "refresh",
    "scope",
    "uptime",
    "memory",
    "heap",
    "cpu",
    "utilization",
    "usage",
    "threads",
    "deadlocks",
    "goroutines",
    "ssl",
    "process",
    "jvm",
    "gc",
    "version",
    "build",
    "info",
    "self",
    "app",
    "application",
    "startup",
    "alive",
    "live",
    "ready",
    "health",
    "check",
    "status",
    "os",
    "system",
    "load",
];

/// Splits a component name into lowercase words at punctuation and camelCase boundaries
/// (`diskSpace` → disk, space; `postgres:connection` → postgres, connection).
pub(super) fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Classifies a component by its name.
pub(super) fn classify(name: &str) -> ComponentKind {
    let words = words(name);
    let dependency = words.iter().any(|w| {
        DEPENDENCY_MARKERS
            .iter()
            .any(|m| w.starts_with(m) || w.ends_with(m))
    });
    if dependency {
        ComponentKind::Dependency
    } else if !words.is_empty() && words.iter().all(|w| TRIVIAL_WORDS.contains(&w.as_str())) {
        ComponentKind::Trivial
    } else {
        ComponentKind::Unclear
    }
}

/// Judges `health.readiness_depth`: see [`READINESS_DEPTH`] for the rule. Reads the readiness
/// endpoint, or the generic one when there is no readiness endpoint.
pub fn readiness_depth(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let found = answering(obs)?;
    let Some(e) = first_of(&found, HealthKind::Readiness).or(first_of(&found, HealthKind::Generic))
    else {
        return Ok(Judgement::skipped(
            "No readiness or generic health endpoint answers, so there is no body to read.",
        ));
    };
    if !e.ex.body_decoded {
        return Ok(Judgement::skipped(format!(
            "The body of {} could not be decoded, so its components cannot be read.",
            clip(e.path, 60)
        ))
        .evidence(e.line()));
    }
    let parsed = health_body::parse(e.ex);
    let names: Vec<&str> = parsed.as_ref().map(HealthBody::names).unwrap_or_default();
    let path = clip(e.path, 60);
    if names.is_empty() {
        let line = clip(
            &format!("{}, {}", e.ex.request_line(), body_quote(e.ex)),
            EVIDENCE_MAX,
        );
        // Spring Boot with show-details/show-components off: `{"status":"UP"}` and perhaps
        // `groups`, nothing else.
        if e.path.contains("/actuator/health") && parsed.as_ref().is_some_and(|b| b.status_only) {
            return Ok(Judgement::skipped(format!(
                "Details hidden: {path} answers only an overall status (Spring Boot show-details \
                 or show-components is off), so its dependencies cannot be seen."
            ))
            .evidence(line));
        }
        return Ok(Judgement::warn(format!(
            "{path} reports no components, only an overall status: nothing in the body shows it \
             checks a dependency (a shallow health check)."
        ))
        .evidence(line));
    }
    let classified: Vec<(String, ComponentKind)> =
        names.iter().map(|n| (clip(n, 60), classify(n))).collect();
    let of_kind = |kind: ComponentKind| -> Vec<&str> {
        classified
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(n, _)| n.as_str())
            .collect()
    };
    let shown: Vec<String> = classified
        .iter()
        .map(|(n, k)| format!("{n} ({})", k.as_str()))
        .collect();
    let line = clip(
        &format!("{}, components: {}", e.ex.request_line(), list(&shown)),
        EVIDENCE_MAX,
    );
    let (deps, unclear) = (
        of_kind(ComponentKind::Dependency),
        of_kind(ComponentKind::Unclear),
    );
    let judgement = if !deps.is_empty() {
        Judgement::pass(format!(
            "{path} claims to check its dependencies ({}); fault injection proves whether it \
             really fails when they do.",
            list(&deps)
        ))
    } else if !unclear.is_empty() {
        Judgement::warn(format!(
            "{path} reports components ({}) whose names do not show a dependency; name \
             dependency checks after what they check.",
            list(&unclear)
        ))
        .score(0.75)
    } else {
        Judgement::warn(format!(
            "{path} reports only trivial components ({}): nothing shows it checks a dependency.",
            list(&of_kind(ComponentKind::Trivial))
        ))
    };
    Ok(judgement.evidence(line))
}
