//! Record and replay: `audit --record FILE` stores what the probes observed plus the config the
//! run used; `readyprobe judge FILE` re-judges it offline with the current checks (and, if
//! given, another config) — no network.
//!
//! File format (JSON): `{ "format": "readyprobe-recording", "version": 1,
//! "readyprobe_version": "…", "target": "https://…", "started_at": "RFC 3339",
//! "config": { …the config snapshot… }, "observations": { … } }`. The whole text is scrubbed
//! with the run's redactor before it is written, so header values and dependency passwords never
//! reach the file.

use serde::{Deserialize, Serialize};

use crate::checks::Catalogue;
use crate::config::Config;
use crate::model::Report;
use crate::observations::Observations;
use crate::redact::Redactor;

/// The `format` marker of a recording.
pub const FORMAT: &str = "readyprobe-recording";
/// The recording format version.
pub const VERSION: u32 = 1;

/// A recorded run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The readyprobe version that recorded it.
    pub readyprobe_version: String,
    /// The audited target (redacted).
    pub target: String,
    /// RFC 3339 start of the recorded run.
    pub started_at: String,
    /// The configuration the run used (secrets masked).
    pub config: Config,
    /// What the probes observed.
    pub observations: Observations,
}

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// Not JSON of the expected shape.
    #[error("{path}: not a readyprobe recording: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl Recording {
    /// A recording of one run.
    pub fn new(report: &Report, config: &Config, observations: &Observations) -> Recording {
        Recording {
            format: FORMAT.to_string(),
            version: VERSION,
            readyprobe_version: crate::VERSION.to_string(),
            target: report.target.clone(),
            started_at: report.started_at.clone(),
            config: config.clone(),
            observations: observations.clone(),
        }
    }

    /// The recording as JSON, scrubbed of every secret the redactor knows.
    pub fn to_json(&self, redactor: &Redactor) -> Result<String, serde_json::Error> {
        let mut copy = self.clone();
        for value in copy.config.http.headers.values_mut() {
            if !value.starts_with("env:") {
                *value = crate::redact::MASK.to_string();
            }
        }
        let text = serde_json::to_string_pretty(&copy)?;
        Ok(redactor.scrub(&text) + "\n")
    }

    /// Parses a recording; `path` names it in errors.
    pub fn from_json(text: &str, path: &str) -> Result<Recording, RecordingError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RecordingError::Format {
                path: path.to_string(),
                reason: e.to_string(),
            })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(RecordingError::Format {
                path: path.to_string(),
                reason: format!(
                    "expected \"format\": \"{FORMAT}\" (write one with audit --record)"
                ),
            });
        }
        serde_json::from_value(value).map_err(|e| RecordingError::Format {
            path: path.to_string(),
            reason: e.to_string(),
        })
    }

    /// Re-judges the observations with `config` and `catalogue`: findings, waivers (as of
    /// today), scores and the verdict. Nothing is sent anywhere.
    pub fn judge(&self, config: &Config, catalogue: &Catalogue, source: &str) -> Report {
        super::conclude(
            &self.observations,
            config,
            catalogue,
            super::RunMeta {
                target: self.target.clone(),
                started_at: self.started_at.clone(),
                duration: std::time::Duration::ZERO,
                requests_sent: 0,
                scope: vec![format!(
                    "Re-judged offline from {source}, recorded at {} by readyprobe {}; no request was sent.",
                    self.started_at, self.readyprobe_version
                )],
                redactor: &Redactor::new(),
                wait_ready: None,
                judging: super::Judging::All,
            },
        )
    }
}
