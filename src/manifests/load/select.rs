//! Choosing the audited workload and its serving container among everything found.
//!
//! Apart from parsing because its errors are about the configuration (`kubernetes.workload`,
//! `kubernetes.container`), not about the YAML.

use super::objects::Parsed;
use super::{Found, ManifestError, Selection};
use crate::manifests::{KubeManifests, Workload};

/// Chooses the workload the audit is about.
pub(super) fn select(
    names: Vec<String>,
    found: Found,
    selection: &Selection,
) -> Result<KubeManifests, ManifestError> {
    let files = names.join(", ");
    let ids: Vec<String> = found.workloads.iter().map(Parsed::id).collect();
    let (index, selected_by) = match &selection.workload {
        Some(wanted) => {
            let matches: Vec<usize> = found
                .workloads
                .iter()
                .enumerate()
                .filter(|(_, w)| {
                    w.workload.name == *wanted || w.id() == wanted.to_ascii_lowercase()
                })
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [one] => (*one, format!("kubernetes.workload = {wanted:?}")),
                [] => {
                    return Err(ManifestError::Workload {
                        files,
                        message: format!(
                            "no workload named {wanted:?} (kubernetes.workload); found: {}",
                            if ids.is_empty() {
                                "none".to_string()
                            } else {
                                ids.join(", ")
                            }
                        ),
                    });
                }
                _ => {
                    return Err(ManifestError::Workload {
                        files,
                        message: format!(
                            "several workloads are named {wanted:?}; set kubernetes.workload to kind/name (one of {})",
                            ids.join(", ")
                        ),
                    });
                }
            }
        }
        None => match found.workloads.len() {
            0 => {
                let mut kinds = found.kinds.clone();
                kinds.retain(|k| !k.is_empty());
                kinds.sort();
                kinds.dedup();
                return Err(ManifestError::Workload {
                    files,
                    message: format!(
                        "no Deployment, StatefulSet, DaemonSet or Pod found (kinds seen: {})",
                        if kinds.is_empty() {
                            "none".to_string()
                        } else {
                            kinds.join(", ")
                        }
                    ),
                });
            }
            1 => (0, "the only workload in the manifests".to_string()),
            _ => {
                return Err(ManifestError::Workload {
                    files,
                    message: format!(
                        "{} workloads ({}); set kubernetes.workload to the one serving the target",
                        ids.len(),
                        ids.join(", ")
                    ),
                });
            }
        },
    };
    let mut workloads = found.workloads;
    let workload = pick_container(workloads.remove(index), &files, selection)?;
    Ok(KubeManifests {
        sources: names,
        workload,
        selected_by,
        other_workloads: workloads.iter().map(Parsed::id).collect(),
        pdbs: found.pdbs,
        hpas: found.hpas,
        skipped: found.skipped,
    })
}
/// The serving container: the configured one, or the only one.
fn pick_container(
    parsed: Parsed,
    files: &str,
    selection: &Selection,
) -> Result<Workload, ManifestError> {
    let Parsed {
        mut workload,
        mut containers,
    } = parsed;
    let names: Vec<String> = containers.iter().map(|c| c.name.clone()).collect();
    let index = match (&selection.container, names.len()) {
        (Some(wanted), _) => names.iter().position(|n| n == wanted).ok_or_else(|| {
            ManifestError::Workload {
                files: files.to_string(),
                message: format!(
                    "{} has no container named {wanted:?} (kubernetes.container); its containers: {}",
                    workload.id(),
                    names.join(", ")
                ),
            }
        })?,
        (None, 1) => 0,
        (None, n) => {
            return Err(ManifestError::Workload {
                files: files.to_string(),
                message: format!(
                    "{} has {n} containers ({}); set kubernetes.container to the one serving the target",
                    workload.id(),
                    names.join(", ")
                ),
            });
        }
    };
    workload.container = containers.remove(index);
    workload.other_containers = containers.into_iter().map(|c| c.name).collect();
    Ok(workload)
}
