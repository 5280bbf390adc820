//! Typed objects → observation types: each known kind read through its `k8s-openapi` type, its
//! workload, containers, probes and pre-stop hooks placed at their lines.
//!
//! Nothing is chosen here: every workload found is kept; [`super::select`] picks the audited one.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Container as K8sContainer, LifecycleHandler, Pod, PodSpec, PodTemplateSpec, Probe as K8sProbe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::tree::Doc;
use super::{Found, ManifestError};
use crate::manifests::{
    Container, ContainerPort, Hpa, Image, Pdb, Place, PortRef, PreStop, Probe, ProbeAction,
    ProbeKind, Resources, Setting, Workload,
};

/// Reads one object (a document, or one item of a `List`) into `found`, or notes why it is
/// skipped.
pub(super) fn object(doc: &Doc<'_>, found: &mut Found) -> Result<(), ManifestError> {
    let node = &doc.root.value;
    let kind = node.get("kind").and_then(|k| k.value.str()).unwrap_or("");
    let api = node
        .get("apiVersion")
        .and_then(|k| k.value.str())
        .unwrap_or("");
    let name = node
        .get("metadata")
        .and_then(|m| m.value.get("name"))
        .and_then(|n| n.value.str())
        .unwrap_or("(unnamed)");
    let label = format!("{kind} {name}");
    let at = doc.place("");
    found.kinds.push(kind.to_string());
    match (api, kind) {
        ("apps/v1", "Deployment") => {
            let d: Deployment = doc.typed(node, &label)?;
            let spec = d.spec;
            found.workloads.push(workload(
                doc,
                "Deployment",
                &d.metadata,
                Some(spec.replicas),
                &spec.template,
            )?);
        }
        ("apps/v1", "StatefulSet") => {
            let s: StatefulSet = doc.typed(node, &label)?;
            let spec = s.spec;
            found.workloads.push(workload(
                doc,
                "StatefulSet",
                &s.metadata,
                Some(spec.replicas),
                &spec.template,
            )?);
        }
        ("apps/v1", "DaemonSet") => {
            let s: DaemonSet = doc.typed(node, &label)?;
            let spec = s.spec;
            found.workloads.push(workload(
                doc,
                "DaemonSet",
                &s.metadata,
                None,
                &spec.template,
            )?);
        }
        ("v1", "Pod") => {
            let p: Pod = doc.typed(node, &label)?;
            let template = PodTemplateSpec {
                metadata: Some(p.metadata.clone()),
                spec: p.spec,
            };
            found
                .workloads
                .push(workload(doc, "Pod", &p.metadata, None, &template)?);
        }
        ("policy/v1", "PodDisruptionBudget") => {
            let p: k8s_openapi::api::policy::v1::PodDisruptionBudget = doc.typed(node, &label)?;
            let spec = p.spec.unwrap_or_default();
            let selector = spec.selector.unwrap_or_default();
            found.pdbs.push(Pdb {
                name: p.metadata.name.clone().unwrap_or_default(),
                namespace: p.metadata.namespace.clone(),
                at,
                match_labels: selector.match_labels.unwrap_or_default(),
                has_expressions: selector.match_expressions.is_some_and(|e| !e.is_empty()),
                min_available: spec.min_available.as_ref().map(int_or_string),
                max_unavailable: spec.max_unavailable.as_ref().map(int_or_string),
            });
        }
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            let h: k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler =
                doc.typed(node, &label)?;
            let spec = h.spec;
            found.hpas.push(Hpa {
                name: h.metadata.name.clone().unwrap_or_default(),
                at,
                target_kind: spec.scale_target_ref.kind,
                target_name: spec.scale_target_ref.name,
                min_replicas: doc.setting(spec.min_replicas, "spec.minReplicas"),
                max_replicas: spec.max_replicas,
            });
        }
        ("autoscaling/v1", "HorizontalPodAutoscaler") => {
            let h: k8s_openapi::api::autoscaling::v1::HorizontalPodAutoscaler =
                doc.typed(node, &label)?;
            let spec = h.spec;
            found.hpas.push(Hpa {
                name: h.metadata.name.clone().unwrap_or_default(),
                at,
                target_kind: spec.scale_target_ref.kind,
                target_name: spec.scale_target_ref.name,
                min_replicas: doc.setting(spec.min_replicas, "spec.minReplicas"),
                max_replicas: spec.max_replicas,
            });
        }
        ("", "") => found.skipped.push(format!(
            "a document without apiVersion and kind ({}): not a Kubernetes object",
            at_line(&at)
        )),
        (api, kind) => {
            let why = if matches!(
                kind,
                "Deployment"
                    | "StatefulSet"
                    | "DaemonSet"
                    | "Pod"
                    | "PodDisruptionBudget"
                    | "HorizontalPodAutoscaler"
            ) {
                format!(
                    "apiVersion {api} is not read (served versions: apps/v1, v1, policy/v1, autoscaling/v2, autoscaling/v1)"
                )
            } else {
                "not judged".to_string()
            };
            found
                .skipped
                .push(format!("{kind} {name} ({}): {why}", at_line(&at)));
        }
    }
    Ok(())
}

fn at_line(place: &Place) -> String {
    match place.line {
        Some(line) => format!("{}:{line}", place.file),
        None => format!("{} document {}", place.file, place.document),
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// A workload before its serving container is chosen.
pub(super) struct Parsed {
    pub(super) workload: Workload,
    pub(super) containers: Vec<Container>,
}

impl Parsed {
    pub(super) fn id(&self) -> String {
        self.workload.id()
    }
}

/// Builds the workload from its pod template; `replicas` is `Some` for kinds that have it.
fn workload(
    doc: &Doc<'_>,
    kind: &str,
    meta: &ObjectMeta,
    replicas: Option<Option<i32>>,
    template: &PodTemplateSpec,
) -> Result<Parsed, ManifestError> {
    let name = meta.name.clone().unwrap_or_default();
    let pod_path = if kind == "Pod" {
        "spec"
    } else {
        "spec.template.spec"
    };
    let spec: PodSpec = template.spec.clone().unwrap_or_default();
    if spec.containers.is_empty() {
        return Err(ManifestError::Invalid {
            file: doc.file.to_string(),
            line: doc
                .place(&format!("{pod_path}.containers"))
                .line
                .unwrap_or(0),
            document: doc.index,
            kind: format!("{kind} {name}"),
            field: format!("{pod_path}.containers"),
            message: "a pod needs at least one container".to_string(),
        });
    }
    let mut images = Vec::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        images.push(Image {
            container: format!("init:{}", c.name),
            reference: c.image.clone().unwrap_or_default(),
            at: doc.place(&format!("{pod_path}.initContainers[{i}].image")),
        });
    }
    for (i, c) in spec.containers.iter().enumerate() {
        images.push(Image {
            container: c.name.clone(),
            reference: c.image.clone().unwrap_or_default(),
            at: doc.place(&format!("{pod_path}.containers[{i}].image")),
        });
    }
    let containers: Vec<Container> = (0..spec.containers.len())
        .map(|i| {
            container(
                doc,
                &spec,
                i,
                &format!("{pod_path}.containers[{i}]"),
                pod_path,
            )
        })
        .collect();
    let workload = Workload {
        kind: kind.to_string(),
        name,
        namespace: meta.namespace.clone(),
        at: doc.place(""),
        replicas: match replicas {
            Some(value) => doc.setting(value, "spec.replicas"),
            None => Setting {
                value: None,
                at: doc.place("spec.replicas"),
            },
        },
        pod_labels: template
            .metadata
            .as_ref()
            .and_then(|m| m.labels.clone())
            .unwrap_or_default(),
        termination_grace: doc.setting(
            spec.termination_grace_period_seconds,
            &format!("{pod_path}.terminationGracePeriodSeconds"),
        ),
        // Chosen in `select`, once the workload is known.
        container: containers[0].clone(),
        other_containers: Vec::new(),
        images,
    };
    Ok(Parsed {
        workload,
        containers,
    })
}

fn container(doc: &Doc<'_>, spec: &PodSpec, index: usize, path: &str, pod_path: &str) -> Container {
    let c: &K8sContainer = &spec.containers[index];
    let ports: Vec<ContainerPort> = c
        .ports
        .iter()
        .flatten()
        .map(|p| ContainerPort {
            name: p.name.clone(),
            port: p.container_port,
        })
        .collect();
    let mut probes = Vec::new();
    for (kind, probe) in [
        (ProbeKind::Liveness, &c.liveness_probe),
        (ProbeKind::Readiness, &c.readiness_probe),
        (ProbeKind::Startup, &c.startup_probe),
    ] {
        if let Some(p) = probe {
            probes.push(self::probe(
                doc,
                kind,
                p,
                &format!("{path}.{}", kind.field()),
                &ports,
            ));
        }
    }
    let requests = c.resources.as_ref().and_then(|r| r.requests.clone());
    let limits = c.resources.as_ref().and_then(|r| r.limits.clone());
    // Pod-level resources (spec.resources) stand in for a container that sets none.
    let pod_requests = spec.resources.as_ref().and_then(|r| r.requests.clone());
    let pod_limits = spec.resources.as_ref().and_then(|r| r.limits.clone());
    let quantity = |map: &Option<
        BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
                    pod: &Option<
        BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
                    section: &str,
                    resource: &str| {
        let own = map
            .as_ref()
            .and_then(|m| m.get(resource))
            .map(|q| q.0.clone());
        match own {
            Some(v) => doc.setting(Some(v), &format!("{path}.resources.{section}.{resource}")),
            None => match pod.as_ref().and_then(|m| m.get(resource)) {
                Some(q) => doc.setting(
                    Some(format!("{} (pod-level)", q.0)),
                    &format!("{pod_path}.resources.{section}.{resource}"),
                ),
                None => doc.setting(None, &format!("{path}.resources.{section}.{resource}")),
            },
        }
    };
    let resources = Resources {
        requests_cpu: quantity(&requests, &pod_requests, "requests", "cpu"),
        requests_memory: quantity(&requests, &pod_requests, "requests", "memory"),
        limits_cpu: quantity(&limits, &pod_limits, "limits", "cpu"),
        limits_memory: quantity(&limits, &pod_limits, "limits", "memory"),
    };
    let pre_stop = c
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref())
        .map(pre_stop);
    Container {
        name: c.name.clone(),
        at: doc.place(path),
        ports,
        probes,
        probes_at: doc.place(path),
        resources,
        pre_stop,
        pre_stop_at: doc.place(&format!("{path}.lifecycle.preStop")),
    }
}

fn port_ref(port: &IntOrString) -> PortRef {
    match port {
        IntOrString::Int(n) => PortRef::Number(*n),
        IntOrString::String(s) => PortRef::Name(s.clone()),
    }
}

fn probe(
    doc: &Doc<'_>,
    kind: ProbeKind,
    p: &K8sProbe,
    path: &str,
    ports: &[ContainerPort],
) -> Probe {
    let action = if let Some(h) = &p.http_get {
        let port = port_ref(&h.port);
        let resolved_port = match &port {
            PortRef::Number(n) => Some(*n),
            PortRef::Name(name) => ports
                .iter()
                .find(|cp| cp.name.as_deref() == Some(name))
                .map(|cp| cp.port),
        };
        let mut path = h.path.clone().unwrap_or_default();
        if !path.starts_with('/') {
            // The kubelet prefixes a missing slash.
            path.insert(0, '/');
        }
        ProbeAction::HttpGet {
            path,
            port,
            resolved_port,
            scheme: h.scheme.clone().unwrap_or_else(|| "HTTP".to_string()),
            host: h.host.clone().filter(|h| !h.is_empty()),
            header_names: h
                .http_headers
                .iter()
                .flatten()
                .map(|h| h.name.clone())
                .collect(),
        }
    } else if let Some(t) = &p.tcp_socket {
        ProbeAction::TcpSocket {
            port: port_ref(&t.port),
        }
    } else if let Some(e) = &p.exec {
        ProbeAction::Exec {
            command: e.command.clone().unwrap_or_default(),
        }
    } else if let Some(g) = &p.grpc {
        ProbeAction::Grpc { port: g.port }
    } else {
        ProbeAction::None
    };
    Probe {
        kind,
        at: doc.place(path),
        action,
        timeout_seconds: doc.setting(p.timeout_seconds, &format!("{path}.timeoutSeconds")),
        period_seconds: doc.setting(p.period_seconds, &format!("{path}.periodSeconds")),
        failure_threshold: doc.setting(p.failure_threshold, &format!("{path}.failureThreshold")),
        initial_delay_seconds: doc.setting(
            p.initial_delay_seconds,
            &format!("{path}.initialDelaySeconds"),
        ),
    }
}

fn pre_stop(h: &LifecycleHandler) -> PreStop {
    if let Some(s) = &h.sleep {
        return PreStop::Sleep { seconds: s.seconds };
    }
    if let Some(e) = &h.exec {
        let command = e.command.clone().unwrap_or_default();
        return PreStop::Exec {
            sleep_seconds: sleep_of(&command),
            command,
        };
    }
    if let Some(g) = &h.http_get {
        return PreStop::HttpGet {
            path: g.path.clone().unwrap_or_else(|| "/".to_string()),
        };
    }
    PreStop::TcpSocket
}

/// The seconds of `["sleep", "5"]` or `["sh", "-c", "sleep 5"]` (nothing else is guessed).
pub(super) fn sleep_of(command: &[String]) -> Option<f64> {
    let words: Vec<&str> = match command {
        [shell, flag, script] if shell.ends_with("sh") && flag == "-c" => {
            script.split_whitespace().collect()
        }
        _ => command.iter().map(String::as_str).collect(),
    };
    match words.as_slice() {
        [sleep, secs] if sleep.ends_with("sleep") => secs.trim_end_matches('s').parse().ok(),
        _ => None,
    }
}
