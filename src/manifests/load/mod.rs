//! Reading Kubernetes manifests: files, directories and stdin, YAML with budgets, typed objects.
//!
//! The YAML comes from wherever users keep it (`kubectl kustomize`, `helm template`, `kubectl get
//! deploy -o yaml`, a directory of files), so parsing must survive hostile input with bounded
//! memory: every source is read through a byte cap (`kubernetes.max_manifest_bytes`, all sources
//! together), and `serde-saphyr` parses under a budget of nodes, aliases, anchors, depth and
//! documents, so an alias bomb or a 50 MB file is a clear error naming the file, not an OOM.
//!
//! Each document is parsed once into a small located tree (every node with the line the parser
//! saw it on), which gives both the field-path → line map the findings quote and the JSON value
//! the typed `k8s-openapi` structs deserialise from. Deployments, StatefulSets, DaemonSets,
//! Pods, PodDisruptionBudgets and HorizontalPodAutoscalers are read (a `List` is unpacked);
//! every other kind is skipped with a note. A document of a known kind that does not match its
//! type is an error naming file, line and field, as `kubectl apply` would refuse it.

mod objects;
mod read;
mod select;
#[cfg(test)]
mod tests;
mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::{Hpa, KubeManifests, Pdb};
use objects::{Parsed, object};
use read::read_sources;
use select::select;
use tree::{Doc, Node, options};

/// The default cap on the bytes read from all manifests of one run.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Where manifests come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A YAML/JSON file, or a directory whose `*.yaml`, `*.yml` and `*.json` files are read in
    /// name order (not recursively, as `kubectl apply -f DIR`).
    Path(PathBuf),
    /// Standard input (`-`): the output of `kubectl kustomize`, `helm template`, `kubectl get`.
    Stdin,
}

impl Source {
    /// `-` is stdin, anything else a path.
    pub fn parse(raw: &Path) -> Source {
        if raw.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::Path(raw.to_path_buf())
        }
    }
}

/// How to pick the workload and container, and how much to read.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `kubernetes.workload`: `orders` or `deployment/orders`.
    pub workload: Option<String>,
    /// `kubernetes.container`: the serving container's name.
    pub container: Option<String>,
    /// The most bytes read from all sources together (0: [`DEFAULT_MAX_BYTES`]).
    pub max_bytes: u64,
}

/// Why the manifests could not be used; every message names the file (and line, when known).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManifestError {
    /// The file or directory could not be read.
    #[error("{file}: cannot read the manifest: {reason}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// More bytes than the cap.
    #[error(
        "{file}: the manifests are larger than kubernetes.max_manifest_bytes ({limit} bytes); give the rendered manifests of this one application, or raise the limit"
    )]
    TooLarge {
        /// The file that crossed the cap.
        file: String,
        /// The cap.
        limit: u64,
    },
    /// Not YAML, or over the parser's budget (an alias bomb, too deep, too many nodes).
    #[error("{file}: {message}")]
    Yaml {
        /// The file.
        file: String,
        /// What the parser said (no snippet of the content: it may hold secrets).
        message: String,
    },
    /// A document of a known kind that does not match its API type.
    #[error("{file}:{line} (document {document}, {kind}): {field}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The line of the field (or of the document).
        line: u64,
        /// The document, from 1.
        document: usize,
        /// `Deployment orders`.
        kind: String,
        /// The field path.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No workload, or none matching the configuration, or several without a choice.
    #[error("{files}: {message}")]
    Workload {
        /// The files read, comma-separated.
        files: String,
        /// What is missing and how to say which one.
        message: String,
    },
}

/// What one source contributed.
#[derive(Default)]
pub(super) struct Found {
    workloads: Vec<Parsed>,
    pdbs: Vec<Pdb>,
    hpas: Vec<Hpa>,
    skipped: Vec<String>,
    kinds: Vec<String>,
}

/// Reads, parses and selects: the observation for the checks.
pub fn load(sources: &[Source], selection: &Selection) -> Result<KubeManifests, ManifestError> {
    let max = if selection.max_bytes == 0 {
        DEFAULT_MAX_BYTES
    } else {
        selection.max_bytes
    };
    let texts = read_sources(sources, max)?;
    let names: Vec<String> = texts.iter().map(|(n, _)| n.clone()).collect();
    let mut found = Found::default();
    for (name, text) in &texts {
        parse_file(name, text, &mut found)?;
    }
    select(names, found, selection)
}

/// Parses manifests already in memory (`name` is what errors call them): what [`load`] does
/// after reading, with no I/O.
pub fn from_text(
    name: &str,
    text: &str,
    selection: &Selection,
) -> Result<KubeManifests, ManifestError> {
    let mut found = Found::default();
    parse_file(name, text, &mut found)?;
    select(vec![name.to_string()], found, selection)
}

/// Parses every document of one file into `found`.
fn parse_file(name: &str, text: &str, found: &mut Found) -> Result<(), ManifestError> {
    let docs: Vec<Spanned<Node>> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| ManifestError::Yaml {
            file: name.to_string(),
            message: yaml_message(&e),
        })?;
    for (i, root) in docs.iter().enumerate() {
        let mut lines = BTreeMap::new();
        root.value.lines("", &mut lines);
        let doc = Doc {
            file: name,
            index: i + 1,
            prefix: String::new(),
            root,
            lines: &lines,
        };
        if root.value.get("kind").and_then(|k| k.value.str()) == Some("List") {
            if let Some(Node::Seq(items)) = root.value.get("items").map(|i| &i.value) {
                for (j, item) in items.iter().enumerate() {
                    let doc = Doc {
                        prefix: format!("items[{j}]."),
                        root: item,
                        ..doc
                    };
                    object(&doc, found)?;
                }
            }
            continue;
        }
        object(&doc, found)?;
    }
    Ok(())
}

/// The parser's message, with the budget breaches said in words.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    if text.to_ascii_lowercase().contains("budget") || text.contains("alias") {
        format!(
            "refused by the YAML parser's limits ({text}); an alias bomb or an oversized document is not read"
        )
    } else {
        format!("not valid YAML: {text}")
    }
}
