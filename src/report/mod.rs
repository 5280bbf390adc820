//! Renderers: one report model, many formats. Renderers never compute — scores, verdicts and
//! orderings of importance all come from [`Report`]; a renderer only formats.

#[cfg(test)]
mod fixture;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod prometheus;
pub mod terminal;
pub(crate) mod text;

use std::io::Write;
use std::path::Path;

use crate::model::Report;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable summary for a terminal (colour only on a TTY, `NO_COLOR` honoured).
    Terminal,
    /// GitHub-flavoured Markdown, fit for a CI job summary.
    #[value(alias = "markdown")]
    Md,
    /// The versioned JSON contract (see `report::json`).
    Json,
    /// One self-contained HTML page (inline CSS and SVG, no network).
    Html,
    /// JUnit XML: one suite per category, one case per check.
    Junit,
    /// Prometheus text, for node_exporter's textfile collector.
    Prometheus,
}

impl Format {
    /// The format a file name asks for by its extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Md),
            "json" => Some(Format::Json),
            "txt" | "log" => Some(Format::Terminal),
            "html" | "htm" => Some(Format::Html),
            "xml" => Some(Format::Junit),
            "prom" => Some(Format::Prometheus),
            _ => None,
        }
    }
}

/// Renders a report in one format.
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Terminal => terminal::render(report, color),
        Format::Md => markdown::render(report),
        Format::Json => json::render(report),
        Format::Html => html::render(report),
        Format::Junit => junit::render(report),
        Format::Prometheus => prometheus::render(
            report,
            prometheus::Options {
                success: None,
                target_label: true,
            },
        ),
    }
}

/// Writes a file atomically: a temporary file in the same directory, then a rename, so a reader
/// (or a crash) never sees half a report.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp = tempfile_in(dir, path)?;
    let result = (|| {
        tmp.1.write_all(contents.as_bytes())?;
        tmp.1.sync_all()?;
        std::fs::rename(&tmp.0, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp.0);
    }
    result
}

fn tempfile_in(dir: &Path, target: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let stem = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("report");
    for attempt in 0..100u32 {
        let candidate = dir.join(format!(".{stem}.{}.{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary file"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(Format::from_path(Path::new("a/b.MD")), Some(Format::Md));
        assert_eq!(Format::from_path(Path::new("r.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("r.pdf")), None);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_atomic(&path, "one").unwrap();
        write_atomic(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_write_to_missing_dir_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("nope/r.json"), "x").is_err());
    }
}
