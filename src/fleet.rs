//! Fleet audits: `audit --targets FILE` audits many targets with one configuration, a bounded
//! number at a time, and prints one combined summary.
//!
//! The file holds one target per line: an `http(s)://` URL, or the path of a config file
//! (`*.toml`, relative to the targets file) whose `target` is used with its own settings. Blank
//! lines and `#` comments are ignored. A bad line is reported with its line number and the rest
//! is still audited (as ripgrep goes on past a file it cannot read). The exit code is the worst
//! of the per-target codes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::task::{JoinError, JoinSet};

use crate::config::Config;
use crate::exit;
use crate::model::Report;
use crate::report::Format;

pub mod summary;

/// One target of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetTarget {
    /// A URL, audited with the shared configuration.
    Url {
        /// 1-based line in the targets file.
        line: usize,
        /// The URL.
        url: String,
    },
    /// A config file with its own `target`.
    Config {
        /// 1-based line.
        line: usize,
        /// The file, resolved against the targets file's directory.
        path: PathBuf,
    },
}

impl FleetTarget {
    /// The line it came from.
    pub fn line(&self) -> usize {
        match self {
            FleetTarget::Url { line, .. } | FleetTarget::Config { line, .. } => *line,
        }
    }
}

/// A line that is neither a URL nor a config path.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLine {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a targets file's text; `base` is the directory config paths are relative to.
pub fn parse(text: &str, base: &Path) -> (Vec<FleetTarget>, Vec<BadLine>) {
    let mut targets = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let entry = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
        // A `#` inside a URL fragment would be cut: fragments mean nothing to an audit.
        if entry.is_empty() {
            continue;
        }
        if entry.ends_with(".toml") && !entry.contains("://") {
            targets.push(FleetTarget::Config {
                line,
                path: base.join(entry),
            });
            continue;
        }
        match crate::config::load::validate_http_url(entry) {
            Ok(url) => targets.push(FleetTarget::Url {
                line,
                url: url.to_string(),
            }),
            Err(e) => bad.push(BadLine {
                line,
                message: e.to_string(),
            }),
        }
    }
    (targets, bad)
}

/// The result of one fleet member.
#[derive(Debug, Clone)]
pub struct MemberResult {
    /// Its line in the targets file.
    pub line: usize,
    /// The target (redacted) or the config path.
    pub target: String,
    /// The report, when the audit ran and reports are kept (see [`run_keeping`]).
    pub report: Option<Report>,
    /// Verdict, score and failed checks, when the audit ran (kept even when the report is not).
    pub summary: Option<MemberSummary>,
    /// The exit code this target alone would give.
    pub code: u8,
    /// Gate failures, unreachability or the error that stopped it.
    pub notes: Vec<String>,
}

/// What the summary table shows of one audit.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberSummary {
    /// The verdict's label.
    pub verdict: String,
    /// The overall score, when there is one.
    pub score: Option<f64>,
    /// How many checks failed.
    pub failed: usize,
    /// How many checks could not measure (`error`): probes that failed, not the target's fault
    /// necessarily — a fleet with errors is worth a look before its verdicts are trusted.
    pub errors: usize,
    /// Requests the audit sent to the target.
    pub requests: u64,
}

/// Audits every target, at most `concurrency` at once, in file order in the result, keeping
/// every report.
pub async fn run(
    targets: Vec<FleetTarget>,
    base: &Config,
    origin: &str,
    probes: &[PathBuf],
    concurrency: usize,
) -> Vec<MemberResult> {
    run_with(targets, base, origin, probes, concurrency, Sink::Keep).await
}

/// [`run`], keeping each full report only when `keep_reports`: otherwise only its
/// [`MemberSummary`] stays, so memory does not grow with the size of the fleet.
pub async fn run_keeping(
    targets: Vec<FleetTarget>,
    base: &Config,
    origin: &str,
    probes: &[PathBuf],
    concurrency: usize,
    keep_reports: bool,
) -> Vec<MemberResult> {
    let sink = if keep_reports { Sink::Keep } else { Sink::Drop };
    run_with(targets, base, origin, probes, concurrency, sink).await
}

/// What becomes of each member's full report once its audit finishes.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Kept in its [`MemberResult`] (memory grows with the fleet: ~100 KB a report).
    Keep,
    /// Dropped: only the [`MemberSummary`] row stays.
    Drop,
    /// Written at once to this directory as JSON, Markdown and HTML ([`report_stem`]), then
    /// dropped: a fleet of any size holds only the reports of the audits in flight.
    Write(PathBuf),
}

/// The file name (without extension) of a member's reports in `--out-dir`.
pub fn report_stem(line: usize, target: &str) -> String {
    format!("{line:03}-{}", slug(target))
}

/// Audits every target, at most `concurrency` at once, results in file order; each report goes
/// where `sink` says as soon as its audit finishes.
///
/// Memory stays flat with the size of the fleet: a task exists only for the audits in flight
/// (the next target is started when one finishes, not spawned up front to wait), the check
/// catalogue is loaded once and shared, and what stays per target is its small result row. One
/// HTTP transport serves the whole fleet: one connection pool whose per-host limit
/// (`run.max_connections_per_host` of the base config) holds for the fleet as a whole, one
/// resolver, one TLS session cache.
pub async fn run_with(
    targets: Vec<FleetTarget>,
    base: &Config,
    origin: &str,
    probes: &[PathBuf],
    concurrency: usize,
    sink: Sink,
) -> Vec<MemberResult> {
    let concurrency = concurrency.max(1);
    // Parsed once per fleet (TOML, regexes) and shared, never cloned: a cloned regex starts
    // with empty match caches.
    let catalogue = crate::engine::plan::load_catalogue(probes)
        .map(Arc::new)
        .map_err(|e| format!("{e:#}"));
    let net = crate::engine::Net::for_run(&base.run);
    let base = Arc::new(base.clone());
    let origin: Arc<str> = Arc::from(origin);
    let sink = Arc::new(sink);
    // Reports are rendered and written by at most this many blocking threads at once: with one
    // thread per finished audit, a 10,000-target fleet grew to ~40 threads, each with its own
    // allocator heap, and RSS rose in steps of ~10 MB long after the first thousand.
    let writers = Arc::new(tokio::sync::Semaphore::new(
        std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
    ));
    let total = targets.len();
    let mut results: Vec<Option<MemberResult>> = Vec::new();
    results.resize_with(total, || None);
    let mut in_flight = InFlight::new();
    let mut set = JoinSet::new();
    for (index, target) in targets.into_iter().enumerate() {
        while set.len() >= concurrency {
            if let Some(joined) = set.join_next_with_id().await {
                settle(joined, &mut in_flight, &mut results);
            }
        }
        let line = target.line();
        let (base, origin, catalogue, net, sink, writers) = (
            Arc::clone(&base),
            Arc::clone(&origin),
            catalogue.clone(),
            net.clone(),
            Arc::clone(&sink),
            Arc::clone(&writers),
        );
        let handle = set.spawn(async move {
            let result = one(target, (*base).clone(), &origin, catalogue, &net).await;
            (index, deliver(result, &sink, &writers).await)
        });
        in_flight.insert(handle.id(), (index, line));
    }
    while let Some(joined) = set.join_next_with_id().await {
        settle(joined, &mut in_flight, &mut results);
    }
    results.into_iter().flatten().collect()
}

/// In-flight tasks of [`run_with`]: the index and line of each, to name it should it panic.
type InFlight = HashMap<tokio::task::Id, (usize, usize)>;

/// Files a finished task's result in its place.
fn settle(
    joined: Result<(tokio::task::Id, (usize, MemberResult)), JoinError>,
    in_flight: &mut InFlight,
    results: &mut [Option<MemberResult>],
) {
    match joined {
        Ok((id, (index, result))) => {
            in_flight.remove(&id);
            results[index] = Some(result);
        }
        Err(e) => {
            if let Some((index, line)) = in_flight.remove(&e.id()) {
                results[index] = Some(MemberResult {
                    line,
                    target: "?".to_string(),
                    report: None,
                    summary: None,
                    code: exit::USAGE,
                    notes: vec![format!("the audit task failed: {e}")],
                });
            }
        }
    }
}

/// Sends a finished member's report where the sink says; what stays is its result row.
async fn deliver(
    mut result: MemberResult,
    sink: &Sink,
    writers: &tokio::sync::Semaphore,
) -> MemberResult {
    match sink {
        Sink::Keep => {}
        Sink::Drop => result.report = None,
        Sink::Write(dir) => {
            if let Some(report) = result.report.take() {
                let stem = report_stem(result.line, &result.target);
                let dir = dir.clone();
                // Rendering three formats and writing them is blocking work: off the runtime's
                // workers, so the audits in flight keep their timings. The semaphore is never
                // closed, so the permit always comes.
                let _permit = writers.acquire().await.ok();
                let written =
                    tokio::task::spawn_blocking(move || write_reports(&dir, &stem, &report))
                        .await
                        .unwrap_or_else(|e| Err(format!("writing the reports failed: {e}")));
                if let Err(e) = written {
                    result.notes.push(e);
                    result.code = result.code.max(exit::USAGE);
                }
            }
        }
    }
    result
}

/// Writes one report as `STEM.json`, `STEM.md` and `STEM.html` in `dir` (each atomically).
fn write_reports(dir: &Path, stem: &str, report: &Report) -> Result<(), String> {
    for (ext, format) in [
        ("json", Format::Json),
        ("md", Format::Md),
        ("html", Format::Html),
    ] {
        let path = dir.join(format!("{stem}.{ext}"));
        crate::report::write_atomic(&path, &crate::report::render(report, format, false))
            .map_err(|e| format!("--out-dir {}: cannot write: {e}", path.display()))?;
    }
    Ok(())
}

async fn one(
    target: FleetTarget,
    base: Config,
    origin: &str,
    catalogue: Result<Arc<crate::checks::Catalogue>, String>,
    net: &crate::engine::Net,
) -> MemberResult {
    let line = target.line();
    let (url, cfg, origin) = match &target {
        FleetTarget::Url { url, .. } => (url.clone(), base, origin.to_string()),
        FleetTarget::Config { path, .. } => match crate::config::from_file(path) {
            Ok(cfg) => match cfg.target.clone() {
                Some(url) => (url, cfg, path.display().to_string()),
                None => {
                    return failed(
                        line,
                        path.display().to_string(),
                        "no `target` in this config".into(),
                    );
                }
            },
            Err(e) => return failed(line, path.display().to_string(), e.to_string()),
        },
    };
    let shown = crate::redact::url_str(&url);
    let catalogue = match catalogue {
        Ok(c) => c,
        Err(e) => return failed(line, shown, e),
    };
    let audit = match crate::engine::plan::build_audit(&url, cfg, &origin, catalogue) {
        Ok(a) => a,
        Err(e) => return failed(line, shown, format!("{e:#}")),
    };
    let output = match crate::engine::run_on(&audit, net).await {
        Ok(o) => o,
        Err(e) => return failed(line, shown, e.to_string()),
    };
    let failures = crate::scoring::gate_failures(&output.report, &audit.config.gate);
    let code = exit::for_run(output.reachable, &failures);
    let notes = if output.reachable {
        failures
    } else {
        vec!["could not be reached at all".to_string()]
    };
    let summary = MemberSummary {
        verdict: output.report.verdict.as_str().to_string(),
        score: output.report.overall_score,
        failed: output.report.findings.iter().filter(|f| f.failed()).count(),
        errors: output
            .report
            .findings
            .iter()
            .filter(|f| f.outcome == crate::model::Outcome::Error)
            .count(),
        requests: output.report.requests_sent,
    };
    MemberResult {
        line,
        target: output.report.target.clone(),
        report: Some(output.report),
        summary: Some(summary),
        code,
        notes,
    }
}

fn failed(line: usize, target: String, note: String) -> MemberResult {
    MemberResult {
        line,
        target,
        report: None,
        summary: None,
        code: exit::USAGE,
        notes: vec![note],
    }
}

/// The worst exit code: unreachable (3) over usage (2) over gate failed (1) over passed (0).
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    exit::worst(codes)
}

/// A file-name-safe slug of a target (`https://a.example:8443/x` → `a.example_8443_x`).
pub fn slug(target: &str) -> String {
    let rest = target.split_once("://").map_or(target, |(_, r)| r);
    let mut s: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.ends_with('_') {
        s.pop();
    }
    if s.is_empty() {
        "target".to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_configs_comments_and_names_bad_lines() {
        let text = "# fleet\nhttps://a.example/\n\n  http://b.example:8080  # staging\nnot a url\nteam/c.toml\nftp://d\n";
        let (targets, bad) = parse(text, Path::new("/etc/rp"));
        assert_eq!(targets.len(), 3);
        assert_eq!(
            targets[0],
            FleetTarget::Url {
                line: 2,
                url: "https://a.example/".into()
            }
        );
        assert_eq!(targets[1].line(), 4);
        assert_eq!(
            targets[2],
            FleetTarget::Config {
                line: 6,
                path: PathBuf::from("/etc/rp/team/c.toml")
            }
        );
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![5, 7]);
        assert!(
            bad[0].message.contains("http:// or https://"),
            "{:?}",
            bad[0]
        );
    }

    #[test]
    fn worst_code_and_slugs() {
        assert_eq!(worst([0, 1, 0]), 1);
        assert_eq!(worst([1, 3, 2]), 3);
        assert_eq!(worst([]), 0);
        assert_eq!(slug("https://a.example:8443/x/"), "a.example_8443_x");
    }
}
