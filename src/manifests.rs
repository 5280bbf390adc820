//! Kubernetes manifests as observations: the workload that serves the audited target, its
//! probes, grace period, resources and image, the budgets and autoscalers around it — and what
//! the manifest's HTTP probes answered when readyprobe requested them as the kubelet would.
//!
//! Static linters read a manifest and can only say "a readinessProbe is declared". readyprobe
//! puts each declaration next to what it measured on the running service (the probe path's
//! status and latency, the reaction to a cut dependency, the shutdown drain), so the `k8s.*`
//! checks quote both sides: the file and line of the field, and the live evidence.
//!
//! This module is plain, serialisable data (it is recorded and replayed like every other
//! observation) plus [`load`], which reads and parses the YAML (outside `checks`, which must do
//! no I/O). Every value keeps a [`Place`]: the file, the document, the line where the YAML
//! parser saw it and the field path; a field the manifest leaves out is placed at its parent
//! with the path it would have, so a finding can still say where to add it.

pub mod load;

// The types live on the observation floor (checks read them, probes and the loader write them).
pub use crate::observations::kube::*;
