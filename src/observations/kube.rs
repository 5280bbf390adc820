//! Kubernetes manifests as observations: the workload that serves the audited target, its
//! probes, grace period, resources and image, the budgets and autoscalers around it — and what
//! the manifest's HTTP probes answered when readyprobe requested them as the kubelet would.
//!
//! Plain, serialisable data, recorded and replayed like every other observation; the YAML is
//! read by `crate::manifests::load`. Every value keeps a [`Place`]: the file, the document, the
//! line where the YAML parser saw it and the field path.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a value is in the manifests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The file as given (`examples/kubernetes/flawed/deployment.yaml`, `stdin`).
    pub file: String,
    /// The YAML document in the file, from 1 (empty documents are not counted).
    pub document: usize,
    /// The line (from 1) of the field, or of its nearest parent present in the YAML.
    pub line: Option<u64>,
    /// The field path inside the document
    /// (`spec.template.spec.containers[0].readinessProbe.timeoutSeconds`).
    pub path: String,
    /// True when the field itself is absent and `line` is its parent's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}

impl fmt::Display for Place {
    /// `deploy.yaml:42 spec.template.spec.containers[0].readinessProbe`, or with the document
    /// index when no line is known; `(not set; would go under … at deploy.yaml:40)` for an
    /// absent field.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => format!("{} document {}", self.file, self.document),
        };
        if self.path.is_empty() {
            write!(f, "{at}")
        } else if self.absent {
            write!(f, "{} not set, {at}", self.path)
        } else {
            write!(f, "{at} {}", self.path)
        }
    }
}

/// A value the manifest may set, with where it is (or would be).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting<T> {
    /// The value, when set.
    pub value: Option<T>,
    /// Where it is; for an unset value, the place it would have (`absent` set).
    pub at: Place,
}

impl<T: fmt::Display> Setting<T> {
    /// `timeoutSeconds: 1 (deploy.yaml:41 spec.…timeoutSeconds)`, or for an unset field
    /// `timeoutSeconds: 1 by default (spec.….timeoutSeconds not set, deploy.yaml:38)`.
    pub fn quote(&self, name: &str, default: Option<&str>) -> String {
        match (&self.value, default) {
            (Some(v), _) => format!("{name}: {v} ({})", self.at),
            (None, Some(d)) => format!("{name}: {d} by default ({})", self.at),
            (None, None) => format!("no {name} ({})", self.at),
        }
    }
}

/// The three kinds of container probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// `livenessProbe`: failing restarts the container.
    Liveness,
    /// `readinessProbe`: failing takes the pod out of the Service's endpoints.
    Readiness,
    /// `startupProbe`: holds the other two until the container has started.
    Startup,
}

impl ProbeKind {
    /// The manifest field name (`readinessProbe`).
    pub fn field(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "livenessProbe",
            ProbeKind::Readiness => "readinessProbe",
            ProbeKind::Startup => "startupProbe",
        }
    }
}

/// A probe's or a hook's port: a number or the name of a container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortRef {
    /// `port: 8080`.
    Number(i32),
    /// `port: http`, resolved through the container's `ports[].name`.
    Name(String),
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortRef::Number(n) => write!(f, "{n}"),
            PortRef::Name(name) => write!(f, "{name}"),
        }
    }
}

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProbeAction {
    /// `httpGet`: the kubelet sends a GET to the pod.
    HttpGet {
        /// The path (`/` when unset, as the kubelet does).
        path: String,
        /// The port as written.
        port: PortRef,
        /// The port number, when it is a number or a name the container declares.
        resolved_port: Option<i32>,
        /// `HTTP` or `HTTPS` (the kubelet does not verify the certificate).
        scheme: String,
        /// `host`, when set (the kubelet then dials it instead of the pod IP).
        host: Option<String>,
        /// Names of `httpHeaders` (values are not kept: they may be credentials).
        header_names: Vec<String>,
    },
    /// `tcpSocket`: the kubelet opens a TCP connection.
    TcpSocket {
        /// The port.
        port: PortRef,
    },
    /// `exec`: the kubelet runs a command in the container.
    Exec {
        /// The command.
        command: Vec<String>,
    },
    /// `grpc`: the gRPC health protocol.
    Grpc {
        /// The port.
        port: i32,
    },
    /// The probe names no action (the API server would refuse it).
    None,
}

/// One declared probe with its timings (unset ones keep the kubelet's defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Which probe.
    pub kind: ProbeKind,
    /// Where it is declared.
    pub at: Place,
    /// What it does.
    pub action: ProbeAction,
    /// `timeoutSeconds` (default 1).
    pub timeout_seconds: Setting<i32>,
    /// `periodSeconds` (default 10).
    pub period_seconds: Setting<i32>,
    /// `failureThreshold` (default 3).
    pub failure_threshold: Setting<i32>,
    /// `initialDelaySeconds` (default 0).
    pub initial_delay_seconds: Setting<i32>,
}

impl Probe {
    /// The kubelet's default `timeoutSeconds`.
    pub const DEFAULT_TIMEOUT: i32 = 1;
    /// The kubelet's default `periodSeconds`.
    pub const DEFAULT_PERIOD: i32 = 10;
    /// The kubelet's default `failureThreshold`.
    pub const DEFAULT_FAILURE_THRESHOLD: i32 = 3;

    /// `timeoutSeconds`, defaulted.
    pub fn timeout(&self) -> i32 {
        self.timeout_seconds.value.unwrap_or(Self::DEFAULT_TIMEOUT)
    }

    /// `periodSeconds`, defaulted.
    pub fn period(&self) -> i32 {
        self.period_seconds.value.unwrap_or(Self::DEFAULT_PERIOD)
    }

    /// `failureThreshold`, defaulted.
    pub fn failures(&self) -> i32 {
        self.failure_threshold
            .value
            .unwrap_or(Self::DEFAULT_FAILURE_THRESHOLD)
    }

    /// `initialDelaySeconds`, defaulted.
    pub fn initial_delay(&self) -> i32 {
        self.initial_delay_seconds.value.unwrap_or(0)
    }

    /// The httpGet path, when this is an HTTP probe.
    pub fn http_path(&self) -> Option<&str> {
        match &self.action {
            ProbeAction::HttpGet { path, .. } => Some(path),
            _ => None,
        }
    }

    /// `HTTP GET :8080/readyz` / `exec [cat /tmp/ready]` — the probe as the kubelet runs it.
    pub fn describe(&self) -> String {
        match &self.action {
            ProbeAction::HttpGet {
                path,
                port,
                scheme,
                host,
                ..
            } => format!(
                "{scheme} GET {}:{port}{path}",
                host.as_deref().unwrap_or("<pod IP>")
            ),
            ProbeAction::TcpSocket { port } => format!("tcpSocket :{port}"),
            ProbeAction::Exec { command } => format!("exec {command:?}"),
            ProbeAction::Grpc { port } => format!("grpc :{port}"),
            ProbeAction::None => "no action".to_string(),
        }
    }
}

/// A container's `lifecycle.preStop` hook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PreStop {
    /// `sleep: { seconds: N }`.
    Sleep {
        /// The seconds.
        seconds: i64,
    },
    /// `exec: { command: [...] }`; `sleep_seconds` when the command is a plain `sleep N`.
    Exec {
        /// The command.
        command: Vec<String>,
        /// The delay, when the command is `sleep N` (possibly through `sh -c`).
        sleep_seconds: Option<f64>,
    },
    /// `httpGet`.
    HttpGet {
        /// The path.
        path: String,
    },
    /// `tcpSocket` (deprecated as a hook; does nothing useful).
    TcpSocket,
}

impl PreStop {
    /// The delay the hook is known to add before SIGTERM, in seconds.
    pub fn delay_seconds(&self) -> Option<f64> {
        match self {
            PreStop::Sleep { seconds } => Some(*seconds as f64),
            PreStop::Exec { sleep_seconds, .. } => *sleep_seconds,
            _ => None,
        }
    }
}

/// Requests and limits of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// `resources.requests.cpu`.
    pub requests_cpu: Setting<String>,
    /// `resources.requests.memory`.
    pub requests_memory: Setting<String>,
    /// `resources.limits.cpu`.
    pub limits_cpu: Setting<String>,
    /// `resources.limits.memory`.
    pub limits_memory: Setting<String>,
}

/// A container image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The container (`orders`, or `init:migrate` for an init container).
    pub container: String,
    /// The reference as written (`ghcr.io/acme/orders:1.4.2`); empty when unset.
    pub reference: String,
    /// Where.
    pub at: Place,
}

/// A declared container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPort {
    /// Its name, if any.
    pub name: Option<String>,
    /// `containerPort`.
    pub port: i32,
}

/// The container that serves the audited target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// Its name.
    pub name: String,
    /// Where it is declared.
    pub at: Place,
    /// Its declared ports.
    pub ports: Vec<ContainerPort>,
    /// Its probes, liveness, readiness and startup, each when declared.
    pub probes: Vec<Probe>,
    /// Where each probe would go when it is missing (the container's place).
    pub probes_at: Place,
    /// Requests and limits.
    pub resources: Resources,
    /// `lifecycle.preStop`, when declared.
    pub pre_stop: Option<PreStop>,
    /// Where the preStop hook is (or would go).
    pub pre_stop_at: Place,
}

impl Container {
    /// The probe of one kind, when declared.
    pub fn probe(&self, kind: ProbeKind) -> Option<&Probe> {
        self.probes.iter().find(|p| p.kind == kind)
    }
}

/// The workload (Deployment, StatefulSet, DaemonSet or Pod) that runs the audited service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// `Deployment`, `StatefulSet`, `DaemonSet` or `Pod`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// Where the object starts.
    pub at: Place,
    /// `spec.replicas` (Deployment, StatefulSet; default 1).
    pub replicas: Setting<i32>,
    /// The pod template's labels (what a PodDisruptionBudget selects).
    pub pod_labels: BTreeMap<String, String>,
    /// `terminationGracePeriodSeconds` (default 30).
    pub termination_grace: Setting<i64>,
    /// The serving container.
    pub container: Container,
    /// The names of the other containers in the pod.
    pub other_containers: Vec<String>,
    /// Every image of the pod, init containers included.
    pub images: Vec<Image>,
}

impl Workload {
    /// The kubelet's default `terminationGracePeriodSeconds`.
    pub const DEFAULT_GRACE: i64 = 30;

    /// `deployment/orders`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// A PodDisruptionBudget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pdb {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// Where the object starts.
    pub at: Place,
    /// `spec.selector.matchLabels`.
    pub match_labels: BTreeMap<String, String>,
    /// True when the selector also has `matchExpressions` (not evaluated).
    pub has_expressions: bool,
    /// `spec.minAvailable` (`2`, `50%`).
    pub min_available: Option<String>,
    /// `spec.maxUnavailable` (`1`, `25%`).
    pub max_unavailable: Option<String>,
}

impl Pdb {
    /// True when its `matchLabels` select the pod labels. An empty selector selects every pod
    /// of the namespace (policy/v1); `matchExpressions` are not evaluated (see
    /// [`Pdb::has_expressions`]).
    pub fn selects(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k).is_some_and(|l| l == v))
    }
}

/// A HorizontalPodAutoscaler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hpa {
    /// `metadata.name`.
    pub name: String,
    /// Where the object starts.
    pub at: Place,
    /// `spec.scaleTargetRef.kind`.
    pub target_kind: String,
    /// `spec.scaleTargetRef.name`.
    pub target_name: String,
    /// `spec.minReplicas` (default 1).
    pub min_replicas: Setting<i32>,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
}

impl Hpa {
    /// True when it scales `workload`.
    pub fn targets(&self, workload: &Workload) -> bool {
        self.target_kind.eq_ignore_ascii_case(&workload.kind) && self.target_name == workload.name
    }
}

/// What the manifests given for this run hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KubeManifests {
    /// The files read (`stdin` for `-`).
    pub sources: Vec<String>,
    /// The workload matched to the audited service.
    pub workload: Workload,
    /// How it was chosen (`the only workload`, `kubernetes.workload = "orders"`).
    pub selected_by: String,
    /// The other workloads in the manifests (`deployment/worker`).
    pub other_workloads: Vec<String>,
    /// Every PodDisruptionBudget.
    pub pdbs: Vec<Pdb>,
    /// Every HorizontalPodAutoscaler.
    pub hpas: Vec<Hpa>,
    /// Documents not judged, each with where and why (`Service orders (svc.yaml:1): not judged`).
    pub skipped: Vec<String>,
}

impl KubeManifests {
    /// What was read and judged, for the report's "Scope and method".
    pub fn scope_lines(&self) -> Vec<String> {
        let w = &self.workload;
        let mut lines = vec![format!(
            "Kubernetes manifests {}: judged {} container {} ({}){}.",
            self.sources.join(", "),
            w.id(),
            w.container.name,
            self.selected_by,
            if self.other_workloads.is_empty() {
                String::new()
            } else {
                format!("; other workloads: {}", self.other_workloads.join(", "))
            }
        )];
        if !self.skipped.is_empty() {
            lines.push(format!(
                "Manifest documents not judged: {}.",
                self.skipped.join("; ")
            ));
        }
        lines
    }
}

/// One request of a manifest probe's path, as the kubelet would send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeRequest {
    /// Milliseconds to the answer (or to the failure).
    pub elapsed_ms: f64,
    /// The status, when it answered.
    pub status: Option<u16>,
    /// `Location` of a redirect.
    pub location: Option<String>,
    /// Why it did not answer.
    pub error: Option<String>,
    /// True when it failed by timing out.
    #[serde(default)]
    pub timed_out: bool,
}

impl ProbeRequest {
    /// `200`, `404`, `301 → https://…`, `no answer (timed out)`.
    pub fn describe(&self) -> String {
        match (self.status, &self.location, &self.error) {
            (Some(s), Some(l), _) => format!("{s} → {l}"),
            (Some(s), None, _) => s.to_string(),
            (None, _, Some(e)) => format!("no answer ({e})"),
            (None, _, None) => "no answer".to_string(),
        }
    }
}

/// One httpGet probe of the manifest requested live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveProbe {
    /// Which probe.
    pub kind: ProbeKind,
    /// The path requested.
    pub path: String,
    /// The URL requested (credentials redacted).
    pub url: String,
    /// The first request and the redirects the kubelet would follow after it (same host, at
    /// most 10), in order.
    pub chain: Vec<ProbeRequest>,
    /// Sequential requests of the path after the first (redirects not followed), for its
    /// latency.
    pub samples: Vec<ProbeRequest>,
}

impl LiveProbe {
    /// The first answer.
    pub fn first(&self) -> Option<&ProbeRequest> {
        self.chain.first()
    }

    /// The nearest-rank percentile of the samples' time, ms (a timeout counts with its time).
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let mut times: Vec<f64> = self.samples.iter().map(|s| s.elapsed_ms).collect();
        if times.is_empty() {
            return None;
        }
        times.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * times.len() as f64).ceil().max(1.0) as usize;
        times.get(rank.min(times.len()) - 1).copied()
    }
}

/// The manifest's HTTP probes, requested as the kubelet would (its `User-Agent`, no certificate
/// check on HTTPS, redirects followed on the same host), on the audited target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveProbes {
    /// The base URL the paths were requested on (the target, or `kubernetes.probe_url`).
    pub base: String,
    /// The per-request timeout, ms (requests are allowed to outlast the probe's own timeout, so
    /// its latency is measured rather than cut).
    pub timeout_ms: u64,
    /// One entry per distinct httpGet probe of the serving container.
    pub probes: Vec<LiveProbe>,
}

impl LiveProbes {
    /// The live result for a probe kind.
    pub fn of(&self, kind: ProbeKind) -> Option<&LiveProbe> {
        self.probes.iter().find(|p| p.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_read_as_file_line_and_path() {
        let place = Place {
            file: "deploy.yaml".into(),
            document: 2,
            line: Some(41),
            path: "spec.template.spec.containers[0].readinessProbe.timeoutSeconds".into(),
            absent: false,
        };
        assert_eq!(
            place.to_string(),
            "deploy.yaml:41 spec.template.spec.containers[0].readinessProbe.timeoutSeconds"
        );
        let absent = Place {
            line: None,
            absent: true,
            ..place
        };
        assert_eq!(
            absent.to_string(),
            "spec.template.spec.containers[0].readinessProbe.timeoutSeconds not set, deploy.yaml document 2"
        );
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let sample = |ms| ProbeRequest {
            elapsed_ms: ms,
            status: Some(200),
            location: None,
            error: None,
            timed_out: false,
        };
        let probe = LiveProbe {
            kind: ProbeKind::Readiness,
            path: "/ready".into(),
            url: "https://x/ready".into(),
            chain: vec![sample(5.0)],
            samples: (1..=10).map(|i| sample(i as f64)).collect(),
        };
        assert_eq!(probe.percentile(99.0), Some(10.0));
        assert_eq!(probe.percentile(50.0), Some(5.0));
    }
}
