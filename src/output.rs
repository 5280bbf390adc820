//! Writing a run's outputs: the recording (`--record`), the report files (`--out`, `--out-dir`),
//! stdout, and the history store with its regression check and webhook.
//!
//! Renderers (`report::*`) only format; this module decides where each rendering goes and writes
//! files atomically. Errors name the flag whose file could not be written.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use crate::engine::record::Recording;
use crate::engine::{Audit, RunOutput};
use crate::model::Report;
use crate::report::{self, Format};
use crate::store::Store;

/// Where a single audit's outputs go.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// `--record FILE`: the observations and config snapshot.
    pub record: Option<PathBuf>,
    /// `--out FILE`, format from each extension.
    pub out: Vec<PathBuf>,
    /// The format on stdout and whether it gets colour; `None` prints nothing (`--quiet`).
    pub stdout: Option<(Format, bool)>,
    /// `--webhook URL`, called when the run regressed or its verdict changed.
    pub webhook: Option<String>,
}

/// Checks that every `--out` file names a known format, before anything runs.
pub fn check_out_paths(out: &[PathBuf]) -> Result<()> {
    for path in out {
        if Format::from_path(path).is_none() {
            anyhow::bail!(
                "--out {}: unknown extension; use .md, .json, .txt, .html, .xml (JUnit) or .prom",
                path.display()
            );
        }
    }
    Ok(())
}

/// Writes a run's outputs: the recording, the `--out` files, stdout, and the history store
/// (with the regression check and the webhook); returns the regressions.
pub async fn emit(
    outputs: &Outputs,
    audit: &Audit,
    output: &RunOutput,
    store: Option<Store>,
) -> Result<Vec<String>> {
    let report = &output.report;
    if let Some(path) = &outputs.record {
        let recording = Recording::new(report, &audit.config, &output.observations);
        let text = recording
            .to_json(&audit.redactor)
            .with_context(|| format!("--record {}: cannot serialise", path.display()))?;
        report::write_atomic(path, &text)
            .with_context(|| format!("--record {}: cannot write", path.display()))?;
    }
    write_reports(&outputs.out, report, Some(output.reachable))?;
    if let Some((format, color)) = outputs.stdout {
        print!("{}", render(report, Some(output.reachable), format, color));
    }
    let mut regressions = Vec::new();
    if let Some(store) = store {
        regressions = record_history(&store, outputs.webhook.as_deref(), audit, report).await?;
        store.close().await;
    }
    Ok(regressions)
}

/// Writes `report` to each `--out` file in the format its extension names. `reachable` feeds
/// Prometheus's `readyprobe_probe_success` (absent for a re-judged recording).
pub fn write_reports(out: &[PathBuf], report: &Report, reachable: Option<bool>) -> Result<()> {
    for path in out {
        let format = Format::from_path(path).unwrap_or(Format::Json);
        report::write_atomic(path, &render(report, reachable, format, false))
            .with_context(|| format!("--out {}: cannot write the report", path.display()))?;
    }
    Ok(())
}

/// Renders a report; Prometheus output also gets `readyprobe_probe_success` when `reachable` is
/// known.
pub fn render(report: &Report, reachable: Option<bool>, format: Format, color: bool) -> String {
    match (format, reachable) {
        (Format::Prometheus, Some(reachable)) => report::prometheus::render(
            report,
            report::prometheus::Options {
                success: Some(reachable),
                target_label: true,
            },
        ),
        (other, _) => report::render(report, other, color),
    }
}

/// Opens the history store: `spec` when given, else the default store when `needed` (regression
/// checks and webhooks need one), else none. A bad store or webhook URL is a usage error found
/// before any request is sent.
pub async fn open_history(
    spec: Option<&str>,
    needed: bool,
    webhook: Option<&str>,
) -> Result<Option<Store>> {
    let spec = match (spec, needed) {
        (Some(spec), _) => spec.to_string(),
        (None, true) => crate::store::DEFAULT_STORE.to_string(),
        (None, false) => return Ok(None),
    };
    if let Some(url) = webhook {
        crate::config::load::validate_http_url(url).map_err(|m| anyhow!("--webhook: {m}"))?;
    }
    let store = Store::open(&spec)
        .await
        .map_err(|e| anyhow!("--store: {e}"))?;
    Ok(Some(store))
}

/// Records the run, compares it with the previous run of the same target, prints what changed
/// on stderr, calls the webhook; returns the regressions.
async fn record_history(
    store: &Store,
    webhook: Option<&str>,
    audit: &Audit,
    report: &Report,
) -> Result<Vec<String>> {
    let id = store
        .record(report)
        .await
        .map_err(|e| anyhow!("--store: {e}"))?;
    let Some(previous) = store
        .previous(&report.target, id)
        .await
        .map_err(|e| anyhow!("--store: {e}"))?
    else {
        eprintln!(
            "readyprobe: recorded run {id} in {} (the first run of this target)",
            store.name()
        );
        return Ok(Vec::new());
    };
    let current = crate::report::json::JsonReport::from(report);
    let d = crate::store::diff::diff(&previous.report, &current);
    let regressions = d.regressions(audit.config.gate.max_score_drop);
    eprintln!("readyprobe: recorded run {id} in {}", store.name());
    eprint!("{}", crate::store::diff::render_text(&d, previous.id, id));
    if let Some(url) = webhook
        && let Some(payload) =
            crate::webhook::Payload::for_diff(&report.target, id, previous.id, &d, &regressions)
    {
        let client = crate::probes::http::client(&crate::probes::http::ClientOptions {
            timeout: crate::webhook::TIMEOUT,
            extra_roots: audit.extra_roots.clone(),
            user_agent: audit.config.run.user_agent.clone(),
        });
        let sent = match client {
            Ok(client) => crate::webhook::post(&client, url, &payload).await,
            Err(e) => Err(format!("webhook: cannot build the HTTP client: {e}")),
        };
        match sent {
            Ok(()) => eprintln!("readyprobe: webhook notified ({})", payload.event),
            Err(e) => eprintln!("readyprobe: warning: {e} (not fatal)"),
        }
    }
    Ok(regressions)
}
