//! Reading the sources: files, directories and stdin, under one byte cap for all of them.
//!
//! Kept apart from parsing so the only filesystem and stdin access of manifest loading is here;
//! [`super::from_text`] parses without it.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{ManifestError, Source};

/// Reads every source (directories expanded) under the byte cap; returns (name, text) pairs.
pub(super) fn read_sources(
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
