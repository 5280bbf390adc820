//! `[kubernetes]`: the manifests the audited service is deployed with, and which workload and
//! container in them serve the target.
//!
//! The manifests are read once, before any request is sent (`--kube-manifest` or `manifests`
//! here), so a bad file is a usage error naming it (exit 2). Relative paths in a config file are
//! read from the config file's directory, like kustomize's; `--kube-manifest` paths from the
//! current directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::value::validate_http_url;
use crate::manifests::KubeManifests;
use crate::manifests::load::{DEFAULT_MAX_BYTES, Selection, Source};

/// The most requests per manifest probe path.
const MAX_SAMPLES: u32 = 100;

/// The `[kubernetes]` section.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesConfig {
    /// Manifest files, directories (their *.yaml, *.yml, *.json) or "-" for stdin (the output
    /// of `kubectl kustomize`, `helm template`, `kubectl get deploy -o yaml`).
    pub manifests: Vec<PathBuf>,
    /// The workload serving the target when the manifests hold several: `orders` or
    /// `deployment/orders`.
    pub workload: Option<String>,
    /// The serving container when the pod has several.
    pub container: Option<String>,
    /// A base URL that reaches the container's probe port directly (a `kubectl port-forward`,
    /// `http://127.0.0.1:8080`); default: the audited target.
    pub probe_url: Option<String>,
    /// Sequential requests of each manifest probe path, for its latency (`k8s.probe_timeouts`).
    pub samples: u32,
    /// The most bytes read from all manifests together.
    pub max_manifest_bytes: u64,
    /// The manifests as loaded for this run (not configuration: filled by the command line).
    #[serde(skip)]
    #[schemars(skip)]
    pub loaded: Option<Arc<KubeManifests>>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            manifests: Vec::new(),
            workload: None,
            container: None,
            probe_url: None,
            samples: 10,
            max_manifest_bytes: DEFAULT_MAX_BYTES,
            loaded: None,
        }
    }
}

impl KubernetesConfig {
    /// How the loader picks the workload and container.
    pub fn selection(&self) -> Selection {
        Selection {
            workload: self.workload.clone(),
            container: self.container.clone(),
            max_bytes: self.max_manifest_bytes,
        }
    }

    /// The manifest sources (`-` is stdin).
    pub fn sources(&self) -> Vec<Source> {
        self.manifests.iter().map(|p| Source::parse(p)).collect()
    }

    /// Makes relative manifest paths relative to `dir` (the config file's directory).
    pub fn relative_to(&mut self, dir: &Path) {
        for path in &mut self.manifests {
            if path.is_relative() && path.as_os_str() != "-" {
                *path = dir.join(&*path);
            }
        }
    }

    /// Reads the manifests into [`KubernetesConfig::loaded`] (nothing when none are named).
    pub fn load(&mut self) -> Result<(), crate::manifests::load::ManifestError> {
        if self.manifests.is_empty() {
            self.loaded = None;
            return Ok(());
        }
        let loaded = crate::manifests::load::load(&self.sources(), &self.selection())?;
        self.loaded = Some(Arc::new(loaded));
        Ok(())
    }
}

/// Validates `[kubernetes]`; every error names its field.
pub fn validate(cfg: &KubernetesConfig, origin: &str) -> Result<(), ConfigError> {
    let err = |field: &str, message: String| Err(ConfigError::field(origin, field, message));
    for (i, path) in cfg.manifests.iter().enumerate() {
        if path.as_os_str().is_empty() {
            return err(&format!("kubernetes.manifests[{i}]"), "is empty".into());
        }
    }
    if cfg
        .manifests
        .iter()
        .filter(|p| p.as_os_str() == "-")
        .count()
        > 1
    {
        return err(
            "kubernetes.manifests",
            "\"-\" (stdin) can be given once".into(),
        );
    }
    for (field, value) in [
        ("kubernetes.workload", &cfg.workload),
        ("kubernetes.container", &cfg.container),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return err(field, "is empty".into());
        }
    }
    if let Some(url) = &cfg.probe_url
        && let Err(m) = validate_http_url(url)
    {
        return err("kubernetes.probe_url", m.to_string());
    }
    if cfg.samples == 0 || cfg.samples > MAX_SAMPLES {
        return err(
            "kubernetes.samples",
            format!("expected 1 to {MAX_SAMPLES}, got {}", cfg.samples),
        );
    }
    if !(1024..=256 * 1024 * 1024).contains(&cfg.max_manifest_bytes) {
        return err(
            "kubernetes.max_manifest_bytes",
            format!(
                "expected 1024 to 268435456 (256 MiB), got {}",
                cfg.max_manifest_bytes
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::from_str;

    #[test]
    fn defaults_and_fields_are_named() {
        let c = from_str("", "t.toml").unwrap();
        assert_eq!(c.kubernetes.samples, 10);
        assert!(c.kubernetes.manifests.is_empty());
        for (toml, field) in [
            ("samples = 0", "kubernetes.samples"),
            ("probe_url = \"localhost:8080\"", "kubernetes.probe_url"),
            ("workload = \" \"", "kubernetes.workload"),
            ("manifests = [\"-\", \"-\"]", "kubernetes.manifests"),
            ("max_manifest_bytes = 10", "kubernetes.max_manifest_bytes"),
            ("namespace = \"x\"", "kubernetes.namespace"),
        ] {
            let e = from_str(&format!("[kubernetes]\n{toml}\n"), "t.toml").unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("t.toml: {field}")),
                "{toml}: {e}"
            );
        }
    }
}
