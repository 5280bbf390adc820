//! The passive phase: read-only probes, run concurrently under the per-target limit.
//!
//! Discovery runs first (root page, plain-HTTP redirect, health candidates, error pages, all at
//! once); latency sampling of the health endpoints that exist follows, sequentially, so the
//! samples are not queued behind discovery.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use std::collections::BTreeMap;

use url::Url;

use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;

use super::Audit;
use crate::checks::Catalogue;
use crate::config::HealthConfig;
use crate::observations::http::{HttpExchange, RequestSpec};
use crate::observations::{
    ErrorProbe, ErrorProbeKind, HealthKind, HealthProbe, LatencySamples, Observations, Probed,
};
use crate::probes::http;
// Moved to the observation floor (pure URL joining, used by probes and packs alike).
pub use crate::observations::http::join_path;
use crate::probes::{ProbeCx, ProbeError, Target};
use crate::progress::track;

/// The most passive probes of one list running at once. Each probe's requests also wait for the
/// per-target limit (`run.concurrency`); this bounds the probes themselves (TLS handshakes and
/// dependency connections do not take that limit).
pub const MAX_PROBES_AT_ONCE: usize = 16;

/// What a passive probe sees: its target (URL, config, trust anchors), the check catalogue (for
/// the packs) and what the probes of earlier lists observed.
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// The target.
    pub target: &'a Target<'a>,
    /// Every check this run knows.
    pub catalogue: &'a Catalogue,
    /// What earlier lists observed (discovery's results, for the follow-ups).
    pub obs: &'a Observations,
}

/// What a probe produced, written into the observations when its list is done.
pub type Store = Box<dyn FnOnce(&mut Observations) + Send>;

/// One passive probe, as the lists hold it: it observes and returns where its result goes.
/// Boxed, so the engine's future stays small however many probes a list holds.
pub type PassiveProbe =
    for<'a> fn(&'a ProbeCx, Input<'a>) -> Pin<Box<dyn Future<Output = Store> + Send + 'a>>;

/// Boxes a probe's future with the field its result goes to.
fn probe<'a, T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'a,
    store: fn(&mut Observations, T),
) -> Pin<Box<dyn Future<Output = Store> + Send + 'a>> {
    Box::pin(async move {
        let value = fut.await;
        Box::new(move |obs: &mut Observations| store(obs, value)) as Store
    })
}

/// Discovery: every probe that needs nothing but the target, run concurrently (at most
/// [`MAX_PROBES_AT_ONCE`]). A new passive probe adds one line here.
pub const DISCOVERY: &[(&str, PassiveProbe)] = &[
    ("root page", |cx, i| {
        probe(root(cx, i.target.target), |o, v| o.root = v)
    }),
    ("http redirect", |cx, i| {
        probe(http_redirect(cx, *i.target), |o, v| o.http_redirect = v)
    }),
    ("health", |cx, i| {
        probe(health(cx, *i.target), |o, v| o.health = v)
    }),
    ("error pages", |cx, i| {
        probe(error_pages(cx, *i.target), |o, v| o.errors = v)
    }),
    ("packs", |cx, i| {
        probe(packs(cx, *i.target, i.catalogue), |o, v| o.packs = v)
    }),
    ("dependencies", |cx, i| {
        probe(super::dependencies::observe(cx, *i.target), |o, v| {
            v.store(o)
        })
    }),
    ("tls", |cx, i| probe(tls(cx, *i.target), |o, v| o.tls = v)),
    ("metrics", |cx, i| {
        probe(crate::probes::metrics::observe(cx, i.target), |o, v| {
            o.metrics = v
        })
    }),
    ("tracing", |cx, i| {
        probe(
            crate::probes::trace_context::observe(cx, i.target),
            |o, v| o.tracing = v,
        )
    }),
];

/// Follow-ups, one at a time after discovery, so their latency samples are not queued behind
/// it; each sees what discovery (and the follow-ups before it) observed.
pub const FOLLOW_UPS: &[(&str, PassiveProbe)] = &[
    ("health latency", |cx, i| {
        probe(health_latency(cx, *i.target, &i.obs.health), |o, v| {
            o.health_latency = v
        })
    }),
    ("latency", |cx, i| {
        probe(crate::probes::load::latency(cx, i.target), |o, v| {
            o.latency = v
        })
    }),
    ("pagination", |cx, i| {
        probe(crate::probes::load::pagination(cx, i.target), |o, v| {
            o.pagination = v
        })
    }),
    // After the other samples, alone, so their latency is not queued behind discovery.
    ("kubernetes probes", |cx, i| {
        probe(
            crate::probes::kubelet::observe(cx, i.target, i.obs),
            |o, v| o.kube_probes = v,
        )
    }),
    // CORS probes the paths of an OpenAPI document the packs found.
    ("access", |cx, i| {
        probe(access(cx, i), |o, v: Observations| {
            o.cors = v.cors;
            o.protected = v.protected;
            o.jwks = v.jwks;
        })
    }),
];

/// Runs every passive probe and fills the observations: [`DISCOVERY`] concurrently, then
/// [`FOLLOW_UPS`] in order.
pub async fn run(cx: &ProbeCx, audit: &Audit, obs: &mut Observations) {
    let target = audit.probe_target();
    let stores = {
        let input = Input {
            target: &target,
            catalogue: &audit.catalogue,
            obs,
        };
        // Each probe is named for the terminal ticker while it runs (a no-op without one). The
        // futures are made first so the stream holds no closure (its future must stay `Send`).
        let probes: Vec<_> = DISCOVERY
            .iter()
            .map(|(name, probe)| track(name, probe(cx, input)))
            .collect();
        futures_util::stream::iter(probes)
            .buffered(MAX_PROBES_AT_ONCE)
            .collect::<Vec<Store>>()
            .await
    };
    for store in stores {
        store(obs);
    }
    for (name, probe) in FOLLOW_UPS {
        let input = Input {
            target: &target,
            catalogue: &audit.catalogue,
            obs,
        };
        let store = track(name, probe(cx, input)).await;
        store(obs);
    }
}

/// The access probes (CORS, protected routes, JWKS) on a scratch copy holding the packs'
/// OpenAPI answers, which CORS reads.
async fn access(cx: &ProbeCx, i: Input<'_>) -> Observations {
    let mut scratch = Observations::default();
    if let Some(docs) = i.obs.packs.get("docs.openapi") {
        scratch
            .packs
            .insert("docs.openapi".to_string(), docs.clone());
    }
    crate::probes::access::observe(cx, i.target, &mut scratch).await;
    scratch
}

/// What the passive phase covered, for the report's "Scope and method".
pub fn scope_lines(audit: &Audit, obs: &Observations) -> Vec<String> {
    let found: Vec<String> = obs
        .health_found()
        .iter()
        .map(|h| format!("{} ({})", h.path, h.kind.as_str()))
        .collect();
    vec![
        format!(
            "Probed {} from this host over real HTTP, {} requests at a time, {} timeout per operation, {} deadline.",
            obs.target.url,
            audit.config.run.concurrency,
            humantime::format_duration(audit.config.run.timeout),
            humantime::format_duration(audit.config.run.deadline),
        ),
        format!(
            "Health endpoints: {} candidates probed; found {}. {}",
            obs.health.len(),
            if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            },
            match crate::checks::health::readiness_endpoint(&obs.health) {
                Ok((h, source)) => format!(
                    "Readiness judged now (health.ready_now) at {} ({}).",
                    h.path,
                    source.describe()
                ),
                Err(_) => "No readiness endpoint to judge (health.ready_now).".to_string(),
            }
        ),
        "Read-only towards the target: GET/HEAD/OPTIONS, plus requests to endpoints the config names \
         (errors.json_endpoint, [ratelimit], [[access.mutation]], mutating packs)."
            .to_string(),
        dependency_scope(audit),
    ]
}

/// What the dependency probes looked at, for the scope section.
fn dependency_scope(audit: &Audit) -> String {
    let deps = &audit.config.dependencies;
    let named: Vec<&str> = [
        ("PostgreSQL", deps.postgres.is_some()),
        ("MySQL/MariaDB", deps.mysql.is_some()),
        ("Redis", deps.redis.is_some()),
        (
            "RabbitMQ",
            deps.rabbitmq.is_some() || deps.rabbitmq_management.is_some(),
        ),
        ("DNS", deps.dns.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if named.is_empty() {
        "Dependencies: none configured ([dependencies]); their checks are skipped.".to_string()
    } else {
        format!(
            "Dependencies inspected read-only ({}): SQL SELECT/SHOW inside READ ONLY transactions, \
             Redis PING/INFO/CONFIG GET/ACL, RabbitMQ management GETs and an AMQP connect/close.",
            named.join(", ")
        )
    }
}

fn observed(result: Result<HttpExchange, ProbeError>) -> Probed<HttpExchange> {
    match result {
        Ok(exchange) => Probed::Observed(exchange),
        Err(err) => Probed::Failed(err.to_string()),
    }
}

/// `GET /` as a browser would ask for it (compression offered, redirects followed).
async fn root(cx: &ProbeCx, target: &Url) -> Probed<HttpExchange> {
    let spec = RequestSpec::get(target.clone())
        .header("accept-encoding", "gzip, deflate, br")
        .header(
            "accept",
            "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
        );
    observed(http::send(cx, &spec).await)
}

/// `GET http://host/` without following. For a target given as `http://` that is the target
/// itself (what plain HTTP does there is the question); for an https target it is the same host
/// over http, or `run.http_url`.
async fn http_redirect(cx: &ProbeCx, audit: Target<'_>) -> Probed<HttpExchange> {
    if audit.target.scheme() != "https" {
        return observed(http::send(cx, &RequestSpec::get(audit.target.clone()).no_follow()).await);
    }
    let url = match &audit.config.run.http_url {
        Some(raw) => match Url::parse(raw) {
            Ok(url) => url,
            Err(e) => return Probed::Failed(format!("run.http_url: {e}")),
        },
        None => {
            let mut url = audit.target.clone();
            // Cannot fail: switching between two special schemes on a URL with a host.
            let _ = url.set_scheme("http");
            let _ = url.set_port(None);
            url
        }
    };
    observed(http::send(cx, &RequestSpec::get(url).no_follow()).await)
}

/// The TLS handshake and the TLS 1.0/1.1 acceptance probes, for https targets only. The user's
/// `--ca-file` anchors (or the demo CA) count as trusted.
async fn tls(cx: &ProbeCx, audit: Target<'_>) -> Probed<crate::observations::tls::TlsObservation> {
    use crate::observations::tls::{LegacyVersion, TlsObservation};
    use crate::probes::tls as tls_probe;
    if audit.target.scheme() != "https" {
        return Probed::Skipped("the target is addressed over plain http".to_string());
    }
    let (Some(host), Some(port)) = (
        audit.target.host_str(),
        audit.target.port_or_known_default(),
    ) else {
        return Probed::Skipped("the target URL has no host".to_string());
    };
    let legacy = |version| async move {
        let probed = match tls_probe::accepts_legacy(cx, host, port, version).await {
            Ok(probe) => Probed::Observed(probe),
            Err(err) => Probed::Failed(err.to_string()),
        };
        (version, probed)
    };
    let (handshake, tls10, tls11) = tokio::join!(
        tls_probe::handshake(cx, host, port, audit.extra_roots),
        legacy(LegacyVersion::Tls10),
        legacy(LegacyVersion::Tls11),
    );
    let legacy = vec![tls10, tls11];
    let any_accepted = legacy
        .iter()
        .any(|(_, p)| p.observed().is_some_and(|p| p.accepted));
    match handshake {
        Ok(handshake) => Probed::Observed(TlsObservation {
            handshake: Probed::Observed(handshake),
            legacy,
        }),
        // A legacy-only server: the modern handshake fails but there is something to judge.
        Err(err) if any_accepted => Probed::Observed(TlsObservation {
            handshake: Probed::Failed(err.to_string()),
            legacy,
        }),
        Err(err) => Probed::Failed(err.to_string()),
    }
}

/// The health paths to probe: the configured ones, else the built-in candidates.
pub fn health_candidates(cfg: &HealthConfig) -> Vec<(String, HealthKind)> {
    let mut out = Vec::new();
    if cfg.is_configured() {
        out.extend(
            cfg.liveness
                .iter()
                .map(|p| (p.clone(), HealthKind::Liveness)),
        );
        out.extend(
            cfg.readiness
                .iter()
                .map(|p| (p.clone(), HealthKind::Readiness)),
        );
        out.extend(cfg.generic.iter().map(|p| (p.clone(), HealthKind::Generic)));
    } else {
        let builtin = [
            (HealthConfig::LIVENESS, HealthKind::Liveness),
            (HealthConfig::READINESS, HealthKind::Readiness),
            (HealthConfig::GENERIC, HealthKind::Generic),
        ];
        for (paths, kind) in builtin {
            out.extend(paths.iter().map(|p| (p.to_string(), kind)));
        }
    }
    out
}

async fn health(cx: &ProbeCx, audit: Target<'_>) -> Vec<HealthProbe> {
    let candidates = health_candidates(&audit.config.health);
    let configured = audit.config.health.is_configured();
    let probes = candidates
        .iter()
        .map(|(path, kind)| health_probe(cx, audit, path, *kind, configured));
    futures_util::future::join_all(probes).await
}

/// One health candidate, asked for health+json first (`--wait-ready` polls with it too). No
/// `?verbose` is added to Kubernetes-style paths: such endpoints list every check on failure
/// anyway, and a passing one has nothing to name.
pub(crate) async fn health_probe(
    cx: &ProbeCx,
    audit: Target<'_>,
    path: &str,
    kind: HealthKind,
    configured: bool,
) -> HealthProbe {
    let url = join_path(audit.target, path);
    let spec = RequestSpec::get(url).header(
        "accept",
        "application/health+json, application/json;q=0.9, */*;q=0.5",
    );
    HealthProbe {
        path: path.to_string(),
        kind,
        configured,
        exchange: observed(http::send(cx, &spec).await),
    }
}

async fn health_latency(
    cx: &ProbeCx,
    audit: Target<'_>,
    health: &[HealthProbe],
) -> Probed<LatencySamples> {
    let paths: Vec<&str> = health
        .iter()
        .filter(|h| h.exists())
        .map(|h| h.path.as_str())
        .collect();
    if paths.is_empty() {
        if let Some(reason) = health.iter().find_map(|h| match &h.exchange {
            Probed::Failed(reason) => Some(reason.clone()),
            _ => None,
        }) && health.iter().all(|h| h.exchange.is_failed())
        {
            return Probed::Failed(reason);
        }
        return Probed::Skipped("no health endpoint was found to sample".to_string());
    }
    let mut samples = LatencySamples {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        ..LatencySamples::default()
    };
    for i in 0..audit.config.health.latency_samples as usize {
        let url = join_path(audit.target, paths[i % paths.len()]);
        match http::send(cx, &RequestSpec::get(url).no_follow()).await {
            Ok(exchange) => samples.samples_ms.push(exchange.elapsed_ms),
            Err(ProbeError::Timeout { .. }) => samples.timeouts += 1,
            Err(err @ (ProbeError::Deadline { .. } | ProbeError::Budget { .. })) => {
                samples.first_failure.get_or_insert(err.to_string());
                break;
            }
            Err(err) => {
                samples.failures += 1;
                samples.first_failure.get_or_insert(err.to_string());
            }
        }
    }
    Probed::Observed(samples)
}

/// Sends every request of every enabled pack check, concurrently under the target's limit.
async fn packs(
    cx: &ProbeCx,
    audit: Target<'_>,
    catalogue: &Catalogue,
) -> BTreeMap<String, Vec<Probed<HttpExchange>>> {
    let disabled = &audit.config.checks.disable;
    let checks = catalogue
        .packs()
        .iter()
        .filter(|p| !disabled.contains(&p.id))
        // Mutating packs are active checks: never sent where the profile forbids them.
        .filter(|p| !p.mutating || audit.config.profile.allows_active());
    let per_check = checks.map(|check| async move {
        let requests = check.requests.iter().map(|request| async move {
            observed(http::send(cx, &request.spec(audit.target)).await)
        });
        (
            check.id.clone(),
            futures_util::future::join_all(requests).await,
        )
    });
    futures_util::future::join_all(per_check)
        .await
        .into_iter()
        .collect()
}

/// A random hex token, so a 404 probe cannot hit a real path by luck.
fn token() -> String {
    format!(
        "{:016x}",
        RandomState::new().hash_one(std::time::SystemTime::now())
    )
}

async fn error_pages(cx: &ProbeCx, audit: Target<'_>) -> Vec<ErrorProbe> {
    let target = audit.target;
    let mut specs: Vec<(ErrorProbeKind, RequestSpec)> = vec![
        (
            ErrorProbeKind::NotFound,
            RequestSpec::get(join_path(target, &format!("/__readyprobe_{}", token()))).no_follow(),
        ),
        // Hostile requests go alone: a server that closes the connection over one (nginx answers
        // a 16 KiB header on HTTP/2 with GOAWAY) must not take the other probes down with it.
        (
            ErrorProbeKind::MalformedQuery,
            RequestSpec::get(join_path(target, "/?id=1'\"<x>{{7*7}}%&q=%ZZ"))
                .no_follow()
                .alone(),
        ),
        (
            ErrorProbeKind::OversizedHeader,
            RequestSpec::get(target.clone())
                .no_follow()
                .alone()
                .header("x-readyprobe-padding", &"a".repeat(16 * 1024)),
        ),
    ];
    if let Some(path) = &audit.config.errors.json_endpoint {
        let mut spec = RequestSpec::get(join_path(target, path))
            .no_follow()
            .alone()
            .header("content-type", "application/json");
        spec.method = "POST".to_string();
        spec.body = Some("{\"readyprobe\": [1, 2,".to_string());
        specs.push((ErrorProbeKind::MalformedJson, spec));
    }
    let probes = specs.into_iter().map(|(kind, spec)| async move {
        ErrorProbe {
            kind,
            exchange: observed(http::send(cx, &spec).await),
        }
    });
    futures_util::future::join_all(probes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_path_keeps_base_prefix_and_query() {
        let base = Url::parse("https://x.test/app/").unwrap();
        assert_eq!(
            join_path(&base, "/readyz").as_str(),
            "https://x.test/app/readyz"
        );
        let root = Url::parse("https://x.test").unwrap();
        assert_eq!(join_path(&root, "/?a=1").as_str(), "https://x.test/?a=1");
    }

    #[test]
    fn configured_health_paths_replace_candidates() {
        let cfg = HealthConfig {
            readiness: vec!["/status/ready".into()],
            ..HealthConfig::default()
        };
        assert_eq!(
            health_candidates(&cfg),
            vec![("/status/ready".to_string(), HealthKind::Readiness)]
        );
        assert!(health_candidates(&HealthConfig::default()).len() > 10);
    }
}
