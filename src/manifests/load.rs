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

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Container as K8sContainer, LifecycleHandler, Pod, PodSpec, PodTemplateSpec, Probe as K8sProbe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::{
    Container, ContainerPort, Hpa, Image, KubeManifests, Pdb, Place, PortRef, PreStop, Probe,
    ProbeAction, ProbeKind, Resources, Setting, Workload,
};

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

// ---------------------------------------------------------------------------------------------
// Reading

/// Reads every source (directories expanded) under the byte cap; returns (name, text) pairs.
fn read_sources(
    sources: &[Source],
    max_bytes: u64,
) -> Result<Vec<(String, String)>, ManifestError> {
    let mut files: Vec<(String, Box<dyn Read>, Option<u64>)> = Vec::new();
    for source in sources {
        match source {
            Source::Stdin => files.push(("stdin".to_string(), Box::new(std::io::stdin()), None)),
            Source::Path(path) => {
                let shown = path.display().to_string();
                let meta = std::fs::metadata(path).map_err(|e| ManifestError::Read {
                    file: shown.clone(),
                    reason: e.to_string(),
                })?;
                let paths = if meta.is_dir() {
                    dir_entries(path)?
                } else {
                    vec![path.clone()]
                };
                for p in paths {
                    let shown = p.display().to_string();
                    let file = std::fs::File::open(&p).map_err(|e| ManifestError::Read {
                        file: shown.clone(),
                        reason: e.to_string(),
                    })?;
                    let len = file.metadata().ok().map(|m| m.len());
                    files.push((shown, Box::new(file), len));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut left = max_bytes;
    for (name, reader, len) in files {
        // A regular file larger than what is left fails before a byte is read.
        if len.is_some_and(|len| len > left) {
            return Err(ManifestError::TooLarge {
                file: name,
                limit: max_bytes,
            });
        }
        let mut bytes = Vec::new();
        reader
            .take(left + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| ManifestError::Read {
                file: name.clone(),
                reason: e.to_string(),
            })?;
        if bytes.len() as u64 > left {
            return Err(ManifestError::TooLarge {
                file: name,
                limit: max_bytes,
            });
        }
        left -= bytes.len() as u64;
        let text = String::from_utf8(bytes).map_err(|e| ManifestError::Yaml {
            file: name.clone(),
            message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?;
        out.push((name, text));
    }
    Ok(out)
}

/// The `*.yaml`, `*.yml` and `*.json` files of a directory, sorted by name.
fn dir_entries(dir: &Path) -> Result<Vec<PathBuf>, ManifestError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| ManifestError::Read {
        file: shown.clone(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ManifestError::Read {
            file: shown.clone(),
            reason: e.to_string(),
        })?;
        let path = entry.path();
        let is_manifest = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if is_manifest && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(ManifestError::Read {
            file: shown,
            reason: "no *.yaml, *.yml or *.json file in this directory".to_string(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parsing: a located tree per document

/// A YAML node with the lines of its children.
#[derive(Debug)]
enum Node {
    Scalar(serde_json::Value),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Key>, Spanned<Node>)>),
}

/// A mapping key, as text.
#[derive(Debug)]
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key("null".to_string()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a YAML node")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Scalar(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Scalar(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Scalar(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Scalar(
                    serde_json::Number::from_f64(v)
                        .map(serde_json::Value::Number)
                        .unwrap_or(serde_json::Value::Null),
                ))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Scalar(v.into()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
                Ok(Node::Scalar(v.into()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar(serde_json::Value::Null))
            }
            fn visit_none<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Scalar(serde_json::Value::Null))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Node, D2::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<Key>>()? {
                    let value = map.next_value::<Spanned<Node>>()?;
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(NodeVisitor)
    }
}

fn line_of<T>(s: &Spanned<T>) -> Option<u64> {
    let line = s.referenced.line();
    (line > 0).then_some(line)
}

impl Node {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Scalar(v) => v.clone(),
            Node::Seq(items) => items.iter().map(|i| i.value.to_json()).collect(),
            Node::Map(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.value.0.clone(), v.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Records the line of every field under `path`.
    fn lines(&self, path: &str, out: &mut BTreeMap<String, u64>) {
        match self {
            Node::Scalar(_) => {}
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("{path}[{i}]");
                    if let Some(line) = line_of(item) {
                        out.insert(p.clone(), line);
                    }
                    item.value.lines(&p, out);
                }
            }
            Node::Map(entries) => {
                for (k, v) in entries {
                    let p = if path.is_empty() {
                        k.value.0.clone()
                    } else {
                        format!("{path}.{}", k.value.0)
                    };
                    if let Some(line) = line_of(k).or_else(|| line_of(v)) {
                        out.insert(p.clone(), line);
                    }
                    v.value.lines(&p, out);
                }
            }
        }
    }

    fn get(&self, key: &str) -> Option<&Spanned<Node>> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value.0 == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Node::Scalar(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// The parser's limits: generous for any real application's manifests, far below what would
/// exhaust memory. An alias bomb trips the alias/anchor or node budget.
fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_nodes = 500_000;
    budget.max_events = 2_000_000;
    budget.max_depth = 64;
    budget.max_documents = 2_000;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_total_scalar_bytes = 32 * 1024 * 1024;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = 100_000;
    // Error messages must not quote the manifest: it may carry secrets (env values).
    options.with_snippet = false;
    options
}

/// One document of one file, ready to be read as a typed object.
struct Doc<'a> {
    file: &'a str,
    /// From 1.
    index: usize,
    /// `items[3].` inside a List, else empty.
    prefix: String,
    root: &'a Spanned<Node>,
    lines: &'a BTreeMap<String, u64>,
}

impl Doc<'_> {
    /// The place of `path` (relative to this object); an absent field takes the line of its
    /// nearest present parent.
    fn place(&self, path: &str) -> Place {
        if path.is_empty() {
            // The object itself: where its document (or List item) starts.
            return Place {
                file: self.file.to_string(),
                document: self.index,
                line: line_of(self.root),
                path: self.prefix.trim_end_matches('.').to_string(),
                absent: false,
            };
        }
        let full = format!("{}{path}", self.prefix);
        if let Some(line) = self.lines.get(&full) {
            return Place {
                file: self.file.to_string(),
                document: self.index,
                line: Some(*line),
                path: path.to_string(),
                absent: false,
            };
        }
        let mut parent = full.as_str();
        let line = loop {
            match parent.rfind(['.', '[']) {
                Some(cut) => {
                    parent = &parent[..cut];
                    if let Some(line) = self.lines.get(parent) {
                        break Some(*line);
                    }
                }
                None => break line_of(self.root),
            }
        };
        Place {
            file: self.file.to_string(),
            document: self.index,
            line,
            path: path.to_string(),
            absent: true,
        }
    }

    fn setting<T>(&self, value: Option<T>, path: &str) -> Setting<T> {
        Setting {
            value,
            at: self.place(path),
        }
    }

    /// Deserialises the typed object; the error names the field and its line.
    fn typed<T: DeserializeOwned>(&self, node: &Node, label: &str) -> Result<T, ManifestError> {
        let json = node.to_json();
        serde_path_to_error::deserialize::<_, T>(json).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." { String::new() } else { field };
            let place = self.place(&json_path(&field));
            ManifestError::Invalid {
                file: self.file.to_string(),
                line: place.line.unwrap_or(0),
                document: self.index,
                kind: label.to_string(),
                field: if field.is_empty() {
                    "(document)".to_string()
                } else {
                    json_path(&field)
                },
                message: e.inner().to_string(),
            }
        })
    }
}

/// serde_path_to_error's `spec.template.spec.containers[0].ports` is already our form; `?`
/// segments (unknown) are dropped.
fn json_path(path: &str) -> String {
    path.replace(".?", "")
}

// ---------------------------------------------------------------------------------------------
// Objects

/// What one source contributed.
#[derive(Default)]
struct Found {
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

fn object(doc: &Doc<'_>, found: &mut Found) -> Result<(), ManifestError> {
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
struct Parsed {
    workload: Workload,
    containers: Vec<Container>,
}

impl Parsed {
    fn id(&self) -> String {
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
fn sleep_of(command: &[String]) -> Option<f64> {
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

/// Chooses the workload the audit is about.
fn select(
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

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: orders
spec:
  ports:
    - port: 443
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
spec:
  replicas: 2
  selector:
    matchLabels:
      app: orders
  template:
    metadata:
      labels:
        app: orders
    spec:
      terminationGracePeriodSeconds: 20
      containers:
        - name: orders
          image: ghcr.io/acme/orders:1.4.2
          ports:
            - name: https
              containerPort: 8443
          readinessProbe:
            httpGet:
              path: /readyz
              port: https
              scheme: HTTPS
            timeoutSeconds: 2
          livenessProbe:
            httpGet:
              path: livez
              port: 8443
          lifecycle:
            preStop:
              exec:
                command: [\"sh\", \"-c\", \"sleep 5\"]
          resources:
            requests:
              cpu: 100m
              memory: 128Mi
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: orders
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app: orders
";

    fn load_text(text: &str, selection: &Selection) -> Result<KubeManifests, ManifestError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, text).unwrap();
        load(&[Source::Path(path)], selection)
    }

    #[test]
    fn multi_document_file_gives_workload_probes_lines_and_skips_unknown_kinds() {
        let m = load_text(DEPLOYMENT, &Selection::default()).unwrap();
        let w = &m.workload;
        assert_eq!(w.id(), "deployment/orders");
        assert_eq!(w.replicas.value, Some(2));
        assert_eq!(w.replicas.at.line, Some(14));
        assert_eq!(w.at.document, 2);
        assert_eq!(w.termination_grace.value, Some(20));
        let ready = w.container.probe(ProbeKind::Readiness).unwrap();
        assert_eq!(ready.timeout(), 2);
        assert_eq!(ready.timeout_seconds.at.line, Some(35));
        assert_eq!(
            ready.timeout_seconds.at.path,
            "spec.template.spec.containers[0].readinessProbe.timeoutSeconds"
        );
        match &ready.action {
            ProbeAction::HttpGet {
                path,
                resolved_port,
                scheme,
                ..
            } => {
                assert_eq!(path, "/readyz");
                assert_eq!(*resolved_port, Some(8443));
                assert_eq!(scheme, "HTTPS");
            }
            other => panic!("{other:?}"),
        }
        let live = w.container.probe(ProbeKind::Liveness).unwrap();
        assert_eq!(
            live.http_path(),
            Some("/livez"),
            "the kubelet adds the slash"
        );
        // Unset: defaults, placed at the probe with `absent`.
        assert_eq!(live.period(), 10);
        assert!(live.period_seconds.at.absent);
        assert_eq!(live.period_seconds.at.line, Some(36));
        assert_eq!(
            w.container
                .pre_stop
                .as_ref()
                .and_then(PreStop::delay_seconds),
            Some(5.0)
        );
        assert_eq!(
            w.container.resources.requests_cpu.value.as_deref(),
            Some("100m")
        );
        assert!(w.container.resources.limits_memory.value.is_none());
        assert_eq!(m.pdbs.len(), 1);
        assert!(m.pdbs[0].selects(&w.pod_labels));
        assert_eq!(m.skipped.len(), 1);
        assert!(
            m.skipped[0].starts_with("Service orders ("),
            "{:?}",
            m.skipped
        );
        assert!(m.skipped[0].contains("m.yaml:1"), "{:?}", m.skipped);
    }

    #[test]
    fn a_list_from_kubectl_get_is_unpacked() {
        let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: api\n    spec:\n      selector: {matchLabels: {app: api}}\n      template:\n        metadata: {labels: {app: api}}\n        spec:\n          containers:\n            - name: api\n              image: api@sha256:0123\n";
        let m = load_text(text, &Selection::default()).unwrap();
        assert_eq!(m.workload.id(), "deployment/api");
        assert_eq!(m.workload.images[0].at.line, Some(15));
        assert_eq!(
            m.workload.images[0].at.path,
            "spec.template.spec.containers[0].image"
        );
    }

    #[test]
    fn a_wrong_type_names_file_line_and_field() {
        let bad = DEPLOYMENT.replace("replicas: 2", "replicas: two");
        let err = load_text(&bad, &Selection::default()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("m.yaml:14 (document 2, Deployment orders): spec.replicas:"),
            "{text}"
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_with_the_file_named() {
        let mut bomb =
            String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
            bomb.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = name;
        }
        let err = load_text(&bomb, &Selection::default()).unwrap_err();
        match &err {
            ManifestError::Yaml { file, message } => {
                assert!(file.ends_with("m.yaml"));
                assert!(message.contains("limits"), "{message}");
            }
            other => panic!("expected a YAML error, got {other}"),
        }
    }

    #[test]
    fn too_many_bytes_is_refused_before_parsing() {
        let selection = Selection {
            max_bytes: 1024,
            ..Selection::default()
        };
        let err = load_text(&"# padding\n".repeat(200), &selection).unwrap_err();
        assert!(
            matches!(err, ManifestError::TooLarge { limit: 1024, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("kubernetes.max_manifest_bytes"));
    }

    #[test]
    fn workload_and_container_selection_errors_say_what_to_set() {
        let two = format!(
            "{DEPLOYMENT}---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  selector: {{matchLabels: {{app: db}}}}\n  template:\n    metadata: {{labels: {{app: db}}}}\n    spec:\n      containers:\n        - {{name: db, image: postgres:16}}\n        - {{name: exporter, image: exporter:1}}\n"
        );
        let err = load_text(&two, &Selection::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "2 workloads (deployment/orders, statefulset/db); set kubernetes.workload"
            ),
            "{err}"
        );
        let pick = |workload: &str, container: Option<&str>| Selection {
            workload: Some(workload.to_string()),
            container: container.map(str::to_string),
            ..Selection::default()
        };
        let m = load_text(&two, &pick("orders", None)).unwrap();
        assert_eq!(m.other_workloads, vec!["statefulset/db"]);
        let err = load_text(&two, &pick("payments", None))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no workload named \"payments\""), "{err}");
        let err = load_text(&two, &pick("statefulset/db", None))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has 2 containers (db, exporter); set kubernetes.container"),
            "{err}"
        );
        let m = load_text(&two, &pick("db", Some("exporter"))).unwrap();
        assert_eq!(m.workload.container.name, "exporter");
        assert_eq!(m.workload.other_containers, vec!["db"]);
        let err = load_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
            &Selection::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(
                "no Deployment, StatefulSet, DaemonSet or Pod found (kinds seen: ConfigMap)"
            ),
            "{err}"
        );
    }

    #[test]
    fn invalid_yaml_does_not_quote_the_content() {
        let err = load_text("password: hunter2\n  bad: [\n", &Selection::default()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("m.yaml"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn sleep_commands_are_read_and_nothing_else_is_guessed() {
        let s = |v: &[&str]| sleep_of(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&["sleep", "10"]), Some(10.0));
        assert_eq!(s(&["/bin/sh", "-c", "sleep 5"]), Some(5.0));
        assert_eq!(s(&["sh", "-c", "sleep 5 && nginx -s quit"]), None);
        assert_eq!(s(&["/app/drain"]), None);
    }
}
