//! The commands that are not audits: listings (`checks`, `explain`, `history`, `diff`), config
//! tools (`init`, `config`), `judge` (re-judging a recording) and `serve` (the exporter).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::{
    ChecksArgs, ConfigCommand, DiffArgs, HistoryArgs, JudgeArgs, ListFormat, STARTER_CONFIG,
    ServeArgs, use_color, wait_for_shutdown_signal,
};
use crate::config::{self, Config};
use crate::engine::plan;
use crate::engine::record::Recording;
use crate::report;
use crate::store::Store;
use crate::{exit, output, scoring};

/// `readyprobe history`.
pub(super) async fn history(args: &HistoryArgs) -> Result<u8> {
    let store = Store::open(&args.store)
        .await
        .map_err(|e| anyhow!("--store: {e}"))?;
    let runs = store
        .runs(args.target.as_deref(), args.limit.max(1))
        .await
        .map_err(|e| anyhow!("--store: {e}"))?;
    store.close().await;
    if runs.is_empty() {
        println!(
            "no runs recorded yet; record one with: readyprobe audit URL --store {}",
            args.store
        );
        return Ok(exit::PASSED);
    }
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_header([
            "run", "time", "target", "profile", "verdict", "score", "trend",
        ]);
    for (i, run) in runs.iter().enumerate() {
        // The previous run of the same target is further down the list (newest first).
        let older = runs[i + 1..].iter().find(|r| r.target == run.target);
        let trend = match (run.overall_score, older.and_then(|o| o.overall_score)) {
            (Some(now), Some(before)) if now > before + 0.05 => format!("↑ {:+.1}", now - before),
            (Some(now), Some(before)) if now < before - 0.05 => format!("↓ {:+.1}", now - before),
            (Some(_), Some(_)) => "→".to_string(),
            _ => "".to_string(),
        };
        table.add_row([
            run.id.to_string(),
            run.started_at.clone(),
            run.target.clone(),
            run.profile.clone(),
            run.verdict.clone(),
            run.overall_score
                .map_or_else(|| "n/a".to_string(), |s| format!("{s:.1}")),
            trend,
        ]);
    }
    println!("{table}");
    Ok(exit::PASSED)
}

/// `readyprobe diff`.
pub(super) async fn diff_runs(args: &DiffArgs) -> Result<u8> {
    let store = Store::open(&args.store)
        .await
        .map_err(|e| anyhow!("--store: {e}"))?;
    let err = |e: crate::store::StoreError| anyhow!("--store: {e}");
    let (older, newer) = match (args.from, args.to) {
        (Some(a), Some(b)) => (
            store.load(a).await.map_err(err)?,
            store.load(b).await.map_err(err)?,
        ),
        (from, None) => {
            let newest = store
                .runs(args.target.as_deref(), 1)
                .await
                .map_err(err)?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    anyhow!(
                        "no runs recorded in {}{}",
                        store.name(),
                        args.target
                            .as_deref()
                            .map(|t| format!(" for {t}"))
                            .unwrap_or_default()
                    )
                })?;
            let newer = store.load(newest.id).await.map_err(err)?;
            let older = match from {
                Some(a) => store.load(a).await.map_err(err)?,
                None => store
                    .previous(&newest.target, newest.id)
                    .await
                    .map_err(err)?
                    .ok_or_else(|| {
                        anyhow!(
                            "only one run of {} is recorded; nothing to compare",
                            newest.target
                        )
                    })?,
            };
            (older, newer)
        }
        (None, Some(_)) => bail!("give both run ids, or the older one, or none"),
    };
    store.close().await;
    let d = crate::store::diff::diff(&older.report, &newer.report);
    match args.format {
        ListFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "from": older.id, "to": newer.id, "score_delta": d.score_delta(), "diff": d,
            }))?
        ),
        ListFormat::Table => print!(
            "{}",
            crate::store::diff::render_text(&d, older.id, newer.id)
        ),
    }
    Ok(exit::PASSED)
}

/// `readyprobe judge FILE`.
pub(super) fn judge_recording(args: &JudgeArgs) -> Result<u8> {
    let shown = args.recording.display().to_string();
    let text = std::fs::read_to_string(&args.recording)
        .with_context(|| format!("{shown}: cannot read the recording"))?;
    let recording = Recording::from_json(&text, &shown)?;
    let (mut cfg, origin) = match &args.config {
        Some(path) => (config::from_file(path)?, path.display().to_string()),
        None => (
            recording.config.clone(),
            format!("{shown} (recorded config)"),
        ),
    };
    if let Some(profile) = args.profile {
        cfg.profile = profile;
    }
    cfg.validate(&origin)?;
    let catalogue = plan::load_catalogue(&args.probes)?;
    catalogue.validate_config(&cfg, &origin)?;
    output::check_out_paths(&args.out)?;
    let report = recording.judge(&cfg, &catalogue, &shown);
    output::write_reports(&args.out, &report, None)?;
    print!("{}", report::render(&report, args.format, use_color(false)));
    let failures = scoring::gate_failures(&report, &cfg.gate);
    for failure in &failures {
        eprintln!("readyprobe: gate failed: {failure}");
    }
    // A recording is judged as recorded: reachability was decided by the run that made it.
    Ok(exit::for_run(true, &failures))
}

/// `readyprobe serve`.
pub(super) async fn serve(args: ServeArgs) -> Result<u8> {
    let (mut base, origin) = match &args.config {
        Some(path) => (config::from_file(path)?, path.display().to_string()),
        None => (Config::default(), "command line".to_string()),
    };
    if let Some(n) = args.max_connections_per_host {
        base.run.max_connections_per_host = n;
        base.validate(&format!("{origin} (with command-line flags)"))?;
    }
    // The CA must load at start, like the packs and config (loaded once, by the router).
    let extra_roots = match &args.ca_file {
        Some(path) => plan::load_ca_file(path)?,
        None => Vec::new(),
    };
    if args.max_concurrent == 0 {
        bail!("--max-concurrent: expected at least 1");
    }
    if args.cache_entries == 0 {
        bail!("--cache-entries: expected at least 1");
    }
    let opts = crate::serve::ServeOptions {
        base,
        origin,
        probes: args.probes.clone(),
        extra_roots,
        max_concurrent: args.max_concurrent,
        timeout_offset: args.timeout_offset,
        min_interval: args.min_interval,
        cache_entries: args.cache_entries,
    };
    crate::serve::serve(args.listen, opts, wait_for_shutdown_signal()).await?;
    Ok(exit::PASSED)
}

pub(super) fn list_checks(args: &ChecksArgs) -> Result<u8> {
    let catalogue = plan::load_catalogue(&args.probes)?;
    let entries = catalogue.entries();
    match args.format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = entries
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id(),
                        "title": c.title(),
                        "category": c.category().name(),
                        "severity": c.severity().as_str(),
                        "active": c.active(),
                        "source": c.source(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ListFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_header(["id", "title", "category", "severity", "active", "source"]);
            for c in &entries {
                table.add_row([
                    c.id(),
                    c.title(),
                    c.category().name(),
                    c.severity().as_str(),
                    if c.active() { "yes" } else { "no" },
                    c.source(),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(exit::PASSED)
}

pub(super) fn explain(id: &str, probes: &[PathBuf]) -> Result<u8> {
    let catalogue = plan::load_catalogue(probes)?;
    let Some(c) = catalogue.find(id) else {
        let entries = catalogue.entries();
        let close: Vec<&str> = entries
            .iter()
            .map(|c| c.id())
            .filter(|known| known.split('.').next() == id.split('.').next() || known.contains(id))
            .collect();
        if close.is_empty() {
            bail!("unknown check id {id:?}; `readyprobe checks` lists them");
        }
        bail!(
            "unknown check id {id:?}; did you mean one of: {}?",
            close.join(", ")
        );
    };
    println!("{} — {}", c.id(), c.title());
    println!(
        "category: {} · severity: {} · source: {} · {}",
        c.category(),
        c.severity(),
        c.source(),
        if c.active() {
            "active (disturbs the target; runs only when enabled)"
        } else {
            "passive"
        }
    );
    if let Some(problem) = c.problem() {
        println!("When it fails: {problem}");
    }
    println!("\nRule: {}", c.rule());
    println!("\nFix: {}", c.remediation());
    let references = c.references();
    if !references.is_empty() {
        println!("\nReferences:");
        for r in references {
            println!("  - {r}");
        }
    }
    Ok(exit::PASSED)
}

/// `readyprobe config schema` / `readyprobe config check FILE`.
pub(super) fn config_command(command: &ConfigCommand) -> Result<u8> {
    match command {
        ConfigCommand::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&config::schema::json_schema())?
            );
        }
        ConfigCommand::Check { file, probes } => {
            // The same loader and validation `audit --config` uses; `env:` values are not read
            // (a lint step need not hold the secrets).
            let mut cfg = config::from_file(file)?;
            let origin = file.display().to_string();
            plan::load_catalogue(probes)?.validate_config(&cfg, &origin)?;
            cfg.kubernetes.load()?;
            match &cfg.kubernetes.loaded {
                Some(m) => println!(
                    "{origin}: OK (Kubernetes: {} in {})",
                    m.workload.id(),
                    m.sources.join(", ")
                ),
                None => println!("{origin}: OK"),
            }
        }
    }
    Ok(exit::PASSED)
}

/// The annotated starter configuration written by `readyprobe init`.
pub(super) fn init(path: &Path, force: bool) -> Result<u8> {
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    report::write_atomic(path, STARTER_CONFIG)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!(
        "wrote {}; edit `target`, then run: readyprobe audit --config {}",
        path.display(),
        path.display()
    );
    Ok(exit::PASSED)
}
