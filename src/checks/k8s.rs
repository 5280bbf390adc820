//! Kubernetes manifest judges (`k8s.*`): each declaration of the deployment manifest next to
//! what the audit measured on the running service.
//!
//! A static linter can say "a readinessProbe is declared"; these say whether it works: the probe
//! path answered 404 (the pod would never be ready), its p99 is above its `timeoutSeconds`
//! (restarts under load), liveness went 503 when the database was cut (cascading restarts), the
//! measured drain does not fit `terminationGracePeriodSeconds`. Every finding quotes the
//! manifest (file, line, field path) and the live evidence. A rule that needs the live side
//! never passes on the manifest alone: when that side was not measured (no fault proxy, no
//! supervised run, a dependency-only audit) the finding says so and is skipped, or judged only
//! on the part that was measured. `k8s.resources`, `k8s.replicas_pdb` and `k8s.image_pinned` are
//! properties of the manifest itself and are judged from it.
//!
//! Pure: the manifests and the live measurements are observations; nothing here reads a file.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::manifests::{
    KubeManifests, LiveProbe, Probe, ProbeAction, ProbeKind, Setting, Workload,
};
use crate::model::{Category, Outcome, Severity};
use crate::observations::{Observations, Unobserved};

const K8S_PROBES: &str = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/";
const K8S_TERMINATION: &str =
    "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination";
const K8S_HOOKS: &str = "https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/#hook-handler-execution";
const K8S_RESOURCES: &str =
    "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/";
const K8S_PDB: &str = "https://kubernetes.io/docs/tasks/run-application/configure-pdb/";
const K8S_IMAGES: &str = "https://kubernetes.io/docs/concepts/containers/images/#image-names";

/// A p99 at or above this share of `timeoutSeconds` leaves too little headroom (warn).
const TIMEOUT_HEADROOM: f64 = 0.8;
/// A grace period this full (preStop + drain) leaves too little headroom (warn).
const GRACE_HEADROOM: f64 = 0.8;

fn manifests(obs: &Observations) -> Result<&KubeManifests, Unobserved> {
    obs.kubernetes.get()
}

/// `20 ms`, `1.2 s`.
fn ms(value: f64) -> String {
    if value < 1000.0 {
        format!("{value:.0} ms")
    } else {
        format!("{:.2} s", value / 1000.0)
    }
}

fn secs(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0} s")
    } else {
        format!("{value:.1} s")
    }
}

/// The workload line every finding starts its evidence with.
fn workload_line(m: &KubeManifests) -> String {
    let w = &m.workload;
    format!(
        "{} container {} ({}; {})",
        w.id(),
        w.container.name,
        w.container.at,
        m.selected_by
    )
}

/// `readinessProbe HTTPS GET <pod IP>:https/readyz (deploy.yaml:31 spec.…readinessProbe)`.
fn probe_line(p: &Probe) -> String {
    format!("{} {} ({})", p.kind.field(), p.describe(), p.at)
}

/// `200 ×12, 503 ×3` in order of first appearance.
fn summarise<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(k, _)| *k == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| {
            if *n == 1 {
                k.to_string()
            } else {
                format!("{k} ×{n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The worst of several outcomes (fail > warn > pass > skipped).
fn worst(outcomes: &[Outcome]) -> Outcome {
    let rank = |o: &Outcome| match o {
        Outcome::Fail => 3,
        Outcome::Warn => 2,
        Outcome::Pass => 1,
        _ => 0,
    };
    outcomes
        .iter()
        .copied()
        .max_by_key(rank)
        .unwrap_or(Outcome::Skipped)
}

fn judgement(outcome: Outcome, summary: String, evidence: Vec<String>) -> Judgement {
    let j = match outcome {
        Outcome::Fail => Judgement::fail(summary),
        Outcome::Warn => Judgement::warn(summary),
        Outcome::Pass => Judgement::pass(summary),
        _ => Judgement::skipped(summary),
    };
    j.evidence_all(evidence)
}

/// The path of a (redacted) URL, for matching a fault run's URLs with a manifest path.
fn url_path(url: &str) -> Option<String> {
    url::Url::parse(url).ok().map(|u| u.path().to_string())
}

// ---------------------------------------------------------------------------------------------
// k8s.probes_declared

/// `k8s.probes_declared`: liveness and readiness on the serving container; a startup probe when
/// the measured start is long.
pub const PROBES_DECLARED: CheckMeta = CheckMeta {
    id: "k8s.probes_declared",
    title: "Kubernetes probes declared",
    problem: "Kubernetes probes are missing",
    category: Category::HealthChecks,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "the serving container of the manifest — fail: no readinessProbe or no livenessProbe; \
           fail: the measured time-to-ready (supervised start) exceeds what liveness allows \
           before it restarts the container (initialDelaySeconds + failureThreshold × \
           periodSeconds) and no startupProbe covers it; warn: over half of it",
    remediation: "Declare a readinessProbe (the pod gets traffic only while it can serve) and a \
                  livenessProbe (a wedged process is restarted) on the serving container, both \
                  on cheap endpoints. When the service starts slowly, add a startupProbe \
                  (failureThreshold × periodSeconds above the start time) instead of a long \
                  initialDelaySeconds.",
    references: &[K8S_PROBES],
    judge: probes_declared,
};

/// Judges `k8s.probes_declared`: see [`PROBES_DECLARED`].
pub fn probes_declared(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let c = &m.workload.container;
    let mut evidence = vec![workload_line(m)];
    let mut missing = Vec::new();
    for kind in [
        ProbeKind::Liveness,
        ProbeKind::Readiness,
        ProbeKind::Startup,
    ] {
        match c.probe(kind) {
            Some(p) => evidence.push(probe_line(p)),
            None => {
                evidence.push(format!("no {} ({} has none)", kind.field(), c.probes_at));
                if kind != ProbeKind::Startup {
                    missing.push(kind.field());
                }
            }
        }
    }
    let mut outcomes = Vec::new();
    let mut reasons = Vec::new();
    if !missing.is_empty() {
        outcomes.push(Outcome::Fail);
        reasons.push(format!(
            "container {} declares no {}",
            c.name,
            missing.join(" and no ")
        ));
    } else {
        outcomes.push(Outcome::Pass);
    }
    // Start time against what the kubelet allows before it restarts the container.
    let allowance = c
        .probe(ProbeKind::Startup)
        .or(c.probe(ProbeKind::Liveness))
        .map(|p| {
            let s = p.initial_delay() as f64 + p.failures() as f64 * p.period() as f64;
            (p.kind, s)
        });
    match (obs.startup.observed(), allowance) {
        (Some(start), Some((kind, allowed))) => {
            let took = start.ready_ms as f64;
            evidence.push(format!(
                "time-to-ready measured: {} from the start of the supervised process to the first 2xx{}",
                ms(took),
                start
                    .readiness
                    .as_deref()
                    .map_or(String::new(), |u| format!(" on {u}"))
            ));
            evidence.push(format!(
                "{} allows {} before restarting (initialDelaySeconds + failureThreshold × periodSeconds)",
                kind.field(),
                secs(allowed)
            ));
            if took >= allowed * 1000.0 {
                outcomes.push(Outcome::Fail);
                reasons.push(format!(
                    "the service needs {} to become ready but {} restarts it after {}: it would crash-loop while starting",
                    ms(took),
                    kind.field(),
                    secs(allowed)
                ));
            } else if kind == ProbeKind::Liveness && took >= allowed * 500.0 {
                outcomes.push(Outcome::Warn);
                reasons.push(format!(
                    "the service needs {} to become ready, over half of the {} livenessProbe allows; add a startupProbe",
                    ms(took),
                    secs(allowed)
                ));
            }
        }
        (None, _) => evidence.push(
            "time-to-ready not measured (readyprobe did not start the service: [supervise]); the startupProbe need is not judged"
                .to_string(),
        ),
        (Some(_), None) => {}
    }
    let outcome = worst(&outcomes);
    let summary = if reasons.is_empty() {
        format!(
            "Container {} of {} declares liveness and readiness probes{}.",
            c.name,
            m.workload.id(),
            if obs.startup.observed().is_some() {
                ", and starts well within what they allow"
            } else {
                ""
            }
        )
    } else {
        format!("Probes of {}: {}.", m.workload.id(), reasons.join("; "))
    };
    Ok(judgement(outcome, summary, evidence))
}

// ---------------------------------------------------------------------------------------------
// k8s.termination_grace

/// `k8s.termination_grace`: the grace period holds preStop plus the measured drain.
pub const TERMINATION_GRACE: CheckMeta = CheckMeta {
    id: "k8s.termination_grace",
    title: "Kubernetes termination grace fits the measured shutdown",
    problem: "Termination grace does not fit the measured shutdown",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "terminationGracePeriodSeconds (default 30) against the preStop delay plus the drain \
           measured by the supervised SIGTERM (ops.graceful_shutdown) — fail: it does not fit \
           (the kubelet SIGKILLs mid-drain), warn: over 80% of it; fail: readiness did not turn \
           non-2xx between SIGTERM and exit and the manifest has no preStop delay (endpoints are \
           removed while the process stops, so requests keep arriving at a pod that is gone); \
           skipped when the shutdown was not measured",
    remediation: "Give the pod a preStop delay (lifecycle.preStop.sleep.seconds: 5–10, or exec \
                  sleep) so endpoints and load balancers drop it before SIGTERM, drain in-flight \
                  requests on SIGTERM, and set terminationGracePeriodSeconds above preStop + the \
                  longest drain.",
    references: &[K8S_TERMINATION, K8S_HOOKS],
    judge: termination_grace,
};

/// Judges `k8s.termination_grace`: see [`TERMINATION_GRACE`].
pub fn termination_grace(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let w: &Workload = &m.workload;
    let s = match obs.shutdown.get() {
        Ok(s) => s,
        Err(Unobserved::Skipped(_)) => {
            return Err(Unobserved::Skipped(
                "the shutdown was not measured: readyprobe did not start the service ([supervise] command), so the drain to compare with terminationGracePeriodSeconds is unknown"
                    .to_string(),
            ));
        }
        Err(e) => return Err(e),
    };
    let grace = w.termination_grace.value.unwrap_or(Workload::DEFAULT_GRACE) as f64;
    let mut evidence = vec![
        workload_line(m),
        quote_i64(
            &w.termination_grace,
            "terminationGracePeriodSeconds",
            Workload::DEFAULT_GRACE,
        ),
    ];
    let c = &w.container;
    let delay = match &c.pre_stop {
        Some(hook) => {
            let d = hook.delay_seconds();
            evidence.push(format!(
                "lifecycle.preStop: {} ({})",
                match hook {
                    crate::manifests::PreStop::Sleep { seconds } => format!("sleep {seconds} s"),
                    crate::manifests::PreStop::Exec { command, .. } => format!("exec {command:?}"),
                    crate::manifests::PreStop::HttpGet { path } => format!("httpGet {path}"),
                    crate::manifests::PreStop::TcpSocket => "tcpSocket".to_string(),
                },
                c.pre_stop_at
            ));
            d
        }
        None => {
            evidence.push(format!("no lifecycle.preStop ({})", c.pre_stop_at));
            None
        }
    };
    let drain = s.ended_ms() as f64;
    let in_flight = s.requests.len();
    let dropped = s
        .requests
        .iter()
        .filter(|r| !r.status.is_some_and(|st| (200..400).contains(&st)))
        .count();
    evidence.push(if s.was_killed() {
        format!(
            "measured: still running {} after SIGTERM (killed); {dropped} of {in_flight} in-flight requests failed",
            ms(drain)
        )
    } else {
        format!(
            "measured: SIGTERM → exit in {}; {dropped} of {in_flight} in-flight requests failed",
            ms(drain)
        )
    });
    let flipped = s
        .readiness_polls
        .iter()
        .find(|p| p.status.is_some_and(|st| !(200..300).contains(&st)) && p.at_ms <= s.ended_ms());
    match (&s.readiness, flipped) {
        (Some(url), Some(p)) => evidence.push(format!(
            "readiness {url} answered {} {} after SIGTERM, before the exit",
            p.describe(),
            ms(p.at_ms as f64)
        )),
        (Some(url), None) => evidence.push(format!(
            "readiness {url} never answered non-2xx between SIGTERM and the exit ({} polls: {})",
            s.readiness_polls.len(),
            s.readiness_polls
                .iter()
                .take(4)
                .map(|p| p.describe())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (None, _) => evidence.push(
            "readiness was not watched during the shutdown ([supervise] readiness_url)".to_string(),
        ),
    }

    let mut outcomes = Vec::new();
    let mut reasons = Vec::new();
    let needed = delay.unwrap_or(0.0) * 1000.0 + drain;
    let fits = format!(
        "preStop {} + drain {} = {} against a grace period of {}",
        secs(delay.unwrap_or(0.0)),
        ms(drain),
        ms(needed),
        secs(grace)
    );
    evidence.push(fits.clone());
    if needed >= grace * 1000.0 {
        outcomes.push(Outcome::Fail);
        reasons.push(format!(
            "{fits}: the kubelet would SIGKILL the container before it finishes draining"
        ));
    } else if needed >= grace * 1000.0 * GRACE_HEADROOM {
        outcomes.push(Outcome::Warn);
        reasons.push(format!("{fits}: little headroom"));
    } else {
        outcomes.push(Outcome::Pass);
    }
    let has_delay = delay.is_some_and(|d| d >= 1.0);
    match (s.readiness.is_some(), flipped.is_some(), has_delay) {
        (_, _, true) | (true, true, _) => outcomes.push(Outcome::Pass),
        (true, false, false) => {
            outcomes.push(Outcome::Fail);
            reasons.push(
                "readiness did not turn non-2xx before the process exited and there is no preStop delay: the pod is removed from the endpoints while it stops, so requests routed to it in the meantime fail"
                    .to_string(),
            );
        }
        (false, _, false) => {
            outcomes.push(Outcome::Warn);
            reasons.push(
                "no preStop delay, and whether readiness flips before the exit was not measured"
                    .to_string(),
            );
        }
    }
    if c.pre_stop.is_some() && delay.is_none() {
        evidence.push("the preStop hook's duration is not known (only sleep is read)".to_string());
    }
    let outcome = worst(&outcomes);
    let summary = if reasons.is_empty() {
        format!(
            "The grace period of {} holds the preStop delay and the measured drain ({}).",
            w.id(),
            fits
        )
    } else {
        format!("Shutdown of {}: {}.", w.id(), reasons.join("; "))
    };
    Ok(judgement(outcome, summary, evidence))
}

fn quote_i64(setting: &Setting<i64>, name: &str, default: i64) -> String {
    setting.quote(name, Some(&default.to_string()))
}

// ---------------------------------------------------------------------------------------------
// k8s.resources

/// `k8s.resources`: requests and a memory limit on the serving container.
pub const RESOURCES: CheckMeta = CheckMeta {
    id: "k8s.resources",
    title: "Kubernetes resource requests and limits",
    problem: "Resource requests or limits are missing",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "the serving container's resources — fail: no cpu or memory request (the scheduler \
           packs it blind, the HPA cannot compute utilisation, it is evicted first); warn: no \
           memory limit; pass: requests and a memory limit (a cpu limit is not required)",
    remediation: "Set resources.requests.cpu and .memory from measured usage, and \
                  resources.limits.memory (a leak then restarts one container instead of \
                  starving the node).",
    references: &[K8S_RESOURCES],
    judge: resources,
};

/// Judges `k8s.resources`: see [`RESOURCES`].
pub fn resources(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let r = &m.workload.container.resources;
    let evidence = vec![
        workload_line(m),
        r.requests_cpu.quote("requests.cpu", None),
        r.requests_memory.quote("requests.memory", None),
        r.limits_cpu.quote("limits.cpu", None),
        r.limits_memory.quote("limits.memory", None),
    ];
    let missing: Vec<&str> = [
        ("requests.cpu", &r.requests_cpu),
        ("requests.memory", &r.requests_memory),
    ]
    .into_iter()
    .filter(|(_, s)| s.value.is_none())
    .map(|(n, _)| n)
    .collect();
    let c = &m.workload.container.name;
    if !missing.is_empty() {
        return Ok(Judgement::fail(format!(
            "Container {c} sets no {}: the scheduler places it blind and it is the first evicted under pressure.",
            missing.join(" and no ")
        ))
        .evidence_all(evidence));
    }
    if r.limits_memory.value.is_none() {
        return Ok(Judgement::warn(format!(
            "Container {c} has no memory limit: a leak grows until the node runs out of memory."
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "Container {c} requests cpu and memory and has a memory limit."
    ))
    .evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// k8s.replicas_pdb

/// `k8s.replicas_pdb`: at least two replicas and a PodDisruptionBudget.
pub const REPLICAS_PDB: CheckMeta = CheckMeta {
    id: "k8s.replicas_pdb",
    title: "Kubernetes replicas and disruption budget",
    problem: "One disruption can take every replica down",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "the workload's replicas (or its HPA's minReplicas) and the PodDisruptionBudgets \
           selecting its pods — fail: fewer than 2 (every node drain or rollout is an outage) \
           or a bare Pod; warn: no PodDisruptionBudget, or one that allows no disruption (node \
           drains block); pass: ≥ 2 with a budget that allows one pod down; skipped for a \
           DaemonSet",
    remediation: "Run at least 2 replicas (or an HPA with minReplicas ≥ 2) and add a \
                  PodDisruptionBudget with maxUnavailable: 1 (or minAvailable below the replica \
                  count) selecting the pods.",
    references: &[K8S_PDB],
    judge: replicas_pdb,
};

/// True when a PDB value allows no pod to be evicted at `replicas`.
fn blocks_all(pdb: &crate::manifests::Pdb, replicas: i32) -> bool {
    let zero = |v: &str| matches!(v.trim(), "0" | "0%");
    if pdb.max_unavailable.as_deref().is_some_and(zero) {
        return true;
    }
    match pdb.min_available.as_deref().map(str::trim) {
        Some("100%") => true,
        Some(v) => v.parse::<i32>().is_ok_and(|n| n >= replicas),
        None => false,
    }
}

/// Judges `k8s.replicas_pdb`: see [`REPLICAS_PDB`].
pub fn replicas_pdb(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let w = &m.workload;
    match w.kind.as_str() {
        "DaemonSet" => {
            return Err(Unobserved::Skipped(format!(
                "{} is a DaemonSet: one pod per node, replicas follow the node pool",
                w.id()
            )));
        }
        "Pod" => {
            return Ok(Judgement::fail(format!(
                "{} is a bare Pod: nothing recreates it when its node is drained or fails.",
                w.id()
            ))
            .evidence(workload_line(m)));
        }
        _ => {}
    }
    let mut evidence = vec![
        workload_line(m),
        w.replicas.quote("spec.replicas", Some("1")),
    ];
    let hpa = m.hpas.iter().find(|h| h.targets(w));
    let replicas = match hpa {
        Some(h) => {
            evidence.push(format!(
                "HorizontalPodAutoscaler {} ({}): {}, maxReplicas {}",
                h.name,
                h.at,
                h.min_replicas.quote("minReplicas", Some("1")),
                h.max_replicas
            ));
            h.min_replicas.value.unwrap_or(1)
        }
        None => w.replicas.value.unwrap_or(1),
    };
    let pdbs: Vec<_> = m
        .pdbs
        .iter()
        .filter(|p| {
            p.selects(&w.pod_labels)
                && (p.namespace.is_none() || w.namespace.is_none() || p.namespace == w.namespace)
        })
        .collect();
    for p in &pdbs {
        evidence.push(format!(
            "PodDisruptionBudget {} ({}) selects the pods: {}{}",
            p.name,
            p.at,
            match (&p.min_available, &p.max_unavailable) {
                (Some(min), _) => format!("minAvailable {min}"),
                (None, Some(max)) => format!("maxUnavailable {max}"),
                (None, None) => "no minAvailable/maxUnavailable".to_string(),
            },
            if p.has_expressions {
                " (matchExpressions not evaluated)"
            } else {
                ""
            }
        ));
    }
    if replicas < 2 {
        return Ok(Judgement::fail(format!(
            "{} runs {replicas} replica{}: every node drain, eviction or rollout takes the service down.",
            w.id(),
            if replicas == 1 { "" } else { "s" }
        ))
        .evidence_all(evidence));
    }
    if pdbs.is_empty() {
        evidence.push(format!(
            "no PodDisruptionBudget selects {}",
            w.pod_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        return Ok(Judgement::warn(format!(
            "{} runs {replicas} replicas but no PodDisruptionBudget: a node drain may evict all of them at once.",
            w.id()
        ))
        .evidence_all(evidence));
    }
    if pdbs.iter().all(|p| blocks_all(p, replicas)) {
        return Ok(Judgement::warn(format!(
            "The PodDisruptionBudget of {} allows no pod to be evicted at {replicas} replicas: node drains block.",
            w.id()
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "{} runs at least {replicas} replicas with a PodDisruptionBudget.",
        w.id()
    ))
    .evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// k8s.image_pinned

/// `k8s.image_pinned`: every image by digest or an immutable-looking tag.
pub const IMAGE_PINNED: CheckMeta = CheckMeta {
    id: "k8s.image_pinned",
    title: "Kubernetes images pinned",
    problem: "Images are not pinned",
    category: Category::Operational,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "every image of the pod, init containers included — pass: by digest (@sha256:…) or a \
           version/commit tag (1.4.2, v2.0.0-rc1, a git sha); fail: latest or no tag (a restart \
           may run different code; rollbacks are not reproducible); warn: another tag (main, \
           stable) that is usually moved",
    remediation: "Deploy images by digest (image: registry/app@sha256:…, which kustomize and \
                  Helm can write from the build) or by an immutable release tag, never latest.",
    references: &[K8S_IMAGES],
    judge: image_pinned,
};

/// How an image reference is pinned.
fn pinning(reference: &str) -> (Outcome, &'static str) {
    if reference.contains("@sha256:") || reference.contains("@sha512:") {
        return (Outcome::Pass, "pinned by digest");
    }
    // The tag is after the last ':' of the last path segment (a registry port has a '/' after).
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let Some((_, tag)) = last.rsplit_once(':') else {
        return (Outcome::Fail, "no tag: it means latest");
    };
    if tag == "latest" {
        return (Outcome::Fail, "latest is moved by every push");
    }
    let version = tag.trim_start_matches('v');
    let looks_versioned = version.chars().next().is_some_and(|c| c.is_ascii_digit())
        && version.contains(['.', '-', '_']);
    let hex = tag.trim_start_matches("sha-").trim_start_matches("git-");
    let looks_commit = hex.len() >= 7 && hex.chars().all(|c| c.is_ascii_hexdigit());
    if looks_versioned || looks_commit {
        return (
            Outcome::Pass,
            "a version or commit tag (immutability is the registry's to enforce)",
        );
    }
    (Outcome::Warn, "a tag that is usually moved")
}

/// Judges `k8s.image_pinned`: see [`IMAGE_PINNED`].
pub fn image_pinned(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let m = manifests(obs)?;
    let mut evidence = vec![workload_line(m)];
    let mut outcomes = Vec::new();
    let mut bad = Vec::new();
    for image in &m.workload.images {
        let (outcome, why) = if image.reference.is_empty() {
            (Outcome::Fail, "no image")
        } else {
            pinning(&image.reference)
        };
        evidence.push(format!(
            "{}: {} — {why} ({})",
            image.container, image.reference, image.at
        ));
        if outcome != Outcome::Pass {
            bad.push(format!("{} ({})", image.reference, image.container));
        }
        outcomes.push(outcome);
    }
    let outcome = worst(&outcomes);
    let summary = match outcome {
        Outcome::Pass => format!(
            "Every image of {} is pinned by digest or a version tag.",
            m.workload.id()
        ),
        _ => format!(
            "Images of {} that a restart may silently replace: {}.",
            m.workload.id(),
            bad.join(", ")
        ),
    };
    Ok(judgement(outcome, summary, evidence))
}

mod probes;
pub use probes::*;

#[cfg(test)]
mod tests;
