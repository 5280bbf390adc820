//! Log canaries: send requests that carry made-up secrets (a password field, a bearer token, a
//! session cookie) and a request id, then read the service's logs and record what showed up.
//!
//! The canaries are random per run and worthless, so finding one in a log line proves the
//! service logs that kind of secret without exposing anything real. This probe never stores a
//! canary value in the observation: excerpts have each canary replaced by its label, so no
//! report can carry one either. It reads logs, never writes or truncates them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ProbeCx;
use super::Target;
use super::http;
use crate::config::LogSource;
use crate::observations::http::RequestSpec;
use crate::observations::http::join_path;
use crate::observations::logs::{Leak, LogObservation};
use crate::text::clip;

/// The most log lines read after the canaries.
const MAX_LINES: usize = 20_000;
/// How long a log `command` may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How many characters of a log line an excerpt keeps.
const EXCERPT_MAX: usize = 200;

/// Where the logs are read from, resolved for this run.
#[derive(Debug, Clone)]
pub enum LogReader {
    /// The supervised process's captured stdout and stderr.
    Captured(CapturedOutput),
    /// A file the service appends to.
    File(PathBuf),
    /// A command printing recent logs.
    Command(Vec<String>),
}

impl LogReader {
    /// The reader for a configured source; `captured` is the supervised output, if any.
    pub fn from_config(source: &LogSource, captured: Option<&CapturedOutput>) -> Option<LogReader> {
        match source {
            LogSource::Supervised(_) => captured.cloned().map(LogReader::Captured),
            LogSource::File { file } => Some(LogReader::File(file.clone())),
            LogSource::Command { command } => Some(LogReader::Command(command.clone())),
        }
    }

    fn describe(&self) -> String {
        match self {
            LogReader::Captured(_) => "the supervised process's stdout/stderr".to_string(),
            LogReader::File(path) => format!("file {}", path.display()),
            LogReader::Command(cmd) => format!("command `{}`", cmd.join(" ")),
        }
    }

    /// Where the log ends now, so only lines written after it are read.
    async fn mark(&self) -> u64 {
        match self {
            LogReader::Captured(out) => out.line_count() as u64,
            LogReader::File(path) => tokio::fs::metadata(path).await.map_or(0, |m| m.len()),
            LogReader::Command(_) => 0,
        }
    }

    async fn lines_since(&self, mark: u64) -> Result<Vec<String>, LogReadError> {
        match self {
            LogReader::Captured(out) => Ok(out.lines_since(mark as usize)),
            LogReader::File(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|reason| LogReadError::File {
                        path: path.clone(),
                        reason,
                    })?;
                let start = (mark as usize).min(bytes.len());
                Ok(String::from_utf8_lossy(&bytes[start..])
                    .lines()
                    .map(str::to_string)
                    .collect())
            }
            LogReader::Command(cmd) => {
                let (program, args) = cmd.split_first().ok_or(LogReadError::EmptyCommand)?;
                let run = tokio::process::Command::new(program)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .output();
                let out = tokio::time::timeout(COMMAND_TIMEOUT, run)
                    .await
                    .map_err(|_| LogReadError::CommandTimeout {
                        command: cmd.join(" "),
                        within: COMMAND_TIMEOUT,
                    })?
                    .map_err(|reason| LogReadError::CommandFailed {
                        command: cmd.join(" "),
                        reason,
                    })?;
                let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.push('\n');
                text.push_str(&String::from_utf8_lossy(&out.stderr));
                Ok(text.lines().map(str::to_string).collect())
            }
        }
    }
}

/// Why the log source could not be read: the source and the fact.
#[derive(Debug, thiserror::Error)]
pub enum LogReadError {
    /// The log file could not be read.
    #[error("cannot read log file {}: {reason}", path.display())]
    File {
        /// The configured file.
        path: PathBuf,
        /// The I/O error.
        reason: std::io::Error,
    },
    /// `logs.source.command` has no program.
    #[error("logs.source.command is empty")]
    EmptyCommand,
    /// The log command did not finish in time.
    #[error("log command `{command}` did not finish within {}", humantime::format_duration(*.within))]
    CommandTimeout {
        /// The command line.
        command: String,
        /// How long it was given.
        within: Duration,
    },
    /// The log command could not be run.
    #[error("cannot run log command `{command}`: {reason}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// The I/O error.
        reason: std::io::Error,
    },
}

/// The canary values of one run.
struct Canaries {
    password: String,
    token: String,
    cookie: String,
    request_id: String,
}

impl Canaries {
    fn new() -> Canaries {
        let mut bytes = [0u8; 24];
        let rng = rustls::crypto::ring::default_provider().secure_random;
        // A failed RNG still yields distinct, if predictable, canaries: they are not secrets.
        if rng.fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes[..16].copy_from_slice(&nanos.to_le_bytes());
        }
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Canaries {
            password: format!("rpCanaryPw{}", &hex[0..12]),
            token: format!("rpCanaryTok{}", &hex[12..24]),
            cookie: format!("rpCanaryCk{}", &hex[24..36]),
            request_id: format!("readyprobe-{}", &hex[36..48]),
        }
    }

    fn labelled(&self) -> [(&'static str, &str); 3] {
        [
            ("password field", &self.password),
            ("bearer token", &self.token),
            ("session cookie", &self.cookie),
        ]
    }

    /// The line with every canary replaced by its label, clipped.
    fn mask(&self, line: &str) -> String {
        let mut out = line.to_string();
        for (label, value) in self.labelled() {
            out = out.replace(value, &format!("«canary {label}»"));
        }
        clip(&out, EXCERPT_MAX)
    }
}

/// Sends the canary requests, waits `[logs] settle`, reads the log source and records what it
/// showed. Errors (an unreadable source) are returned as the reason for an `error` finding.
pub async fn canaries(
    cx: &ProbeCx,
    audit: &Target<'_>,
    reader: &LogReader,
) -> Result<LogObservation, LogReadError> {
    let canaries = Canaries::new();
    let mark = reader.mark().await;
    let mut url = join_path(audit.target, "/");
    url.query_pairs_mut()
        .append_pair("user", "readyprobe")
        .append_pair("password", &canaries.password);
    let headers = vec![
        (
            "Authorization".to_string(),
            format!("Bearer {}", canaries.token),
        ),
        ("Cookie".to_string(), format!("session={}", canaries.cookie)),
        ("X-Request-ID".to_string(), canaries.request_id.clone()),
    ];
    let mut specs = vec![RequestSpec {
        method: "GET".to_string(),
        url,
        headers: headers.clone(),
        body: None,
        follow_redirects: false,
        alone: false,
    }];
    if let Some(path) = &audit.config.logs.post_path {
        let mut post_headers = headers;
        post_headers.push(("Content-Type".to_string(), "application/json".to_string()));
        specs.push(RequestSpec {
            method: "POST".to_string(),
            url: join_path(audit.target, path),
            headers: post_headers,
            body: Some(
                serde_json::json!({ "username": "readyprobe", "password": canaries.password })
                    .to_string(),
            ),
            follow_redirects: false,
            alone: false,
        });
    }
    let mut requests = Vec::new();
    for spec in &specs {
        let shown = format!(
            "{} {}",
            spec.method,
            join_path(audit.target, spec.url.path())
        );
        match http::send(cx, spec).await {
            Ok(ex) => requests.push(format!("{shown} → {}", ex.status)),
            Err(err) => requests.push(format!("{shown} → no answer ({err})")),
        }
    }
    tokio::time::sleep(audit.config.logs.settle).await;
    let lines: Vec<String> = reader
        .lines_since(mark)
        .await?
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .take(MAX_LINES)
        .collect();
    Ok(analyse(&canaries, reader.describe(), requests, &lines))
}

fn analyse(
    canaries: &Canaries,
    source: String,
    requests: Vec<String>,
    lines: &[String],
) -> LogObservation {
    let mut obs = LogObservation {
        source,
        requests,
        request_id: canaries.request_id.clone(),
        lines: lines.len(),
        non_json: 0,
        non_json_example: None,
        request_id_lines: 0,
        leaks: Vec::new(),
    };
    for line in lines {
        let json =
            serde_json::from_str::<serde_json::Value>(line.trim()).is_ok_and(|v| v.is_object());
        if !json {
            obs.non_json += 1;
            if obs.non_json_example.is_none() {
                obs.non_json_example = Some(canaries.mask(line));
            }
        }
        if line.contains(&canaries.request_id) {
            obs.request_id_lines += 1;
        }
        for (label, value) in canaries.labelled() {
            if line.contains(value) && !obs.leaks.iter().any(|l| l.canary == label) {
                obs.leaks.push(Leak {
                    canary: label.to_string(),
                    excerpt: canaries.mask(line),
                });
            }
        }
    }
    obs
}

/// The most output lines kept from the supervised process (later lines are counted, not kept).
const MAX_CAPTURED_LINES: usize = 100_000;

#[derive(Debug, Default)]
struct Captured {
    lines: Vec<String>,
    dropped: u64,
}

/// The supervised process's stdout and stderr, line by line, shared with the log probe.
#[derive(Debug, Clone, Default)]
pub struct CapturedOutput(Arc<Mutex<Captured>>);

impl CapturedOutput {
    fn lock(&self) -> std::sync::MutexGuard<'_, Captured> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends one line (the supervisor's output pump calls this).
    pub fn push(&self, line: String) {
        let mut c = self.lock();
        if c.lines.len() < MAX_CAPTURED_LINES {
            c.lines.push(line);
        } else {
            c.dropped += 1;
        }
    }

    /// Lines captured so far.
    pub fn line_count(&self) -> usize {
        self.lock().lines.len()
    }

    /// Lines captured after the first `n`.
    pub fn lines_since(&self, n: usize) -> Vec<String> {
        let c = self.lock();
        c.lines.get(n..).map(<[String]>::to_vec).unwrap_or_default()
    }

    /// The last `n` non-empty lines, each clipped, joined with ` | `.
    pub fn tail(&self, n: usize) -> String {
        let c = self.lock();
        let lines: Vec<String> = c
            .lines
            .iter()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(n)
            .map(|l| clip(l.trim(), 160))
            .collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaks_are_found_and_masked_in_excerpts() {
        let c = Canaries::new();
        let lines = vec![
            format!(
                "GET /?password={} authorization=Bearer {}",
                c.password, c.token
            ),
            format!(
                "{{\"request_id\":\"{}\",\"path\":\"/\",\"query\":\"password=***\"}}",
                c.request_id
            ),
        ];
        let obs = analyse(&c, "test".into(), vec![], &lines);
        assert_eq!(obs.lines, 2);
        assert_eq!(obs.non_json, 1);
        assert_eq!(obs.request_id_lines, 1);
        assert_eq!(obs.leaks.len(), 2);
        let text = serde_json::to_string(&obs).unwrap();
        assert!(
            !text.contains(&c.password) && !text.contains(&c.token),
            "{text}"
        );
        assert!(text.contains("«canary password field»"), "{text}");
    }
}
