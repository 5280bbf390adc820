//! The located YAML tree: every node with the line the parser saw it on.
//!
//! One parse gives both the field-path → line map that findings quote and the JSON value the
//! typed `k8s-openapi` structs deserialise from; [`Doc`] joins them for one document.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::ManifestError;
use crate::manifests::{Place, Setting};

/// A YAML node with the lines of its children.
#[derive(Debug)]
pub(super) enum Node {
    Scalar(serde_json::Value),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Key>, Spanned<Node>)>),
}

/// A mapping key, as text.
#[derive(Debug)]
pub(super) struct Key(String);

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
    pub(super) fn lines(&self, path: &str, out: &mut BTreeMap<String, u64>) {
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

    pub(super) fn get(&self, key: &str) -> Option<&Spanned<Node>> {
        match self {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value.0 == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub(super) fn str(&self) -> Option<&str> {
        match self {
            Node::Scalar(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// The parser's limits: generous for any real application's manifests, far below what would
/// exhaust memory. An alias bomb trips the alias/anchor or node budget.
pub(super) fn options() -> serde_saphyr::Options {
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
pub(super) struct Doc<'a> {
    pub(super) file: &'a str,
    /// From 1.
    pub(super) index: usize,
    /// `items[3].` inside a List, else empty.
    pub(super) prefix: String,
    pub(super) root: &'a Spanned<Node>,
    pub(super) lines: &'a BTreeMap<String, u64>,
}

impl Doc<'_> {
    /// The place of `path` (relative to this object); an absent field takes the line of its
    /// nearest present parent.
    pub(super) fn place(&self, path: &str) -> Place {
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

    pub(super) fn setting<T>(&self, value: Option<T>, path: &str) -> Setting<T> {
        Setting {
            value,
            at: self.place(path),
        }
    }

    /// Deserialises the typed object; the error names the field and its line.
    pub(super) fn typed<T: DeserializeOwned>(
        &self,
        node: &Node,
        label: &str,
    ) -> Result<T, ManifestError> {
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
