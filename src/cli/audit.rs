//! `readyprobe audit`: one target (or the demo, or dependencies only), or a fleet with
//! `--targets`. Flags become a config and a plan; the engine runs it; the outputs are written;
//! the exit code is decided by [`crate::exit`].

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::{AuditArgs, resolve_config, use_color};
use crate::engine::{self, plan};
use crate::exit;
use crate::output::{self, Outputs};
use crate::progress::{Activity, Ticker};
use crate::{demo, scoring};

/// The HTTP target among the URL arguments (the others are dependencies); at most one.
pub(super) fn http_target(args: &AuditArgs) -> Result<Option<String>> {
    let http: Vec<&String> = args
        .url
        .iter()
        .filter(|u| {
            let lower = u.trim().to_ascii_lowercase();
            lower.starts_with("http://") || lower.starts_with("https://")
        })
        .collect();
    match http.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.to_string())),
        [..] => bail!(
            "give one HTTP target per audit (got {}); audit several with --targets FILE",
            http.len()
        ),
    }
}

/// Where this audit's outputs go, from its flags.
fn outputs(args: &AuditArgs) -> Outputs {
    Outputs {
        record: args.record.clone(),
        out: args.out.clone(),
        stdout: (!args.quiet).then(|| (args.format, use_color(args.no_color))),
        webhook: args.webhook.clone(),
    }
}

/// `readyprobe audit`.
pub(super) async fn audit(args: AuditArgs) -> Result<u8> {
    if let Some(file) = &args.targets {
        return audit_fleet(&args, file).await;
    }
    let http_url = http_target(&args)?;
    if args.demo && http_url.is_some() {
        bail!("give either a URL or --demo, not both");
    }
    output::check_out_paths(&args.out)?;
    let outputs = outputs(&args);
    let (mut cfg, origin) = resolve_config(&args)?;
    let catalogue = plan::load_catalogue(&args.probes)?;
    // Manifests are read before anything is started or sent: a bad one is a usage error.
    cfg.kubernetes.load()?;
    if let Some(drop) = args.max_score_drop {
        cfg.gate.max_score_drop = drop;
    }
    // A bad store is a usage error found before any request is sent.
    let store = output::open_history(
        args.store.as_deref(),
        args.fail_on_regression || args.webhook.is_some(),
        args.webhook.as_deref(),
    )
    .await?;

    let mut demo_proxies = Vec::new();
    let demo = if args.demo {
        // The demo's database sits behind a fault proxy the audit cuts (`health.fault.*`).
        let (target, proxy) = demo::start_behind_proxy(args.demo_profile)
            .await
            .context("cannot start the demo target")?;
        demo_proxies.push(proxy);
        cfg.run.http_url = Some(target.http_url.to_string());
        demo::tuning::tune(&mut cfg);
        Some(target)
    } else {
        None
    };
    let given = match &demo {
        Some(d) => Some(d.https_url.to_string()),
        None => http_url,
    };
    let target_url = plan::choose_target(given, &cfg)?;
    if target_url.is_none() && args.wait_ready.is_some() {
        bail!("--wait-ready: a dependency-only audit has no HTTP target to wait for");
    }
    // Supervised runs: the fault proxies and the service start before the audit is built (the
    // service may write the CA file the audit trusts) and are all stopped when `session` drops.
    let started_wall = std::time::SystemTime::now();
    let session = match crate::supervise::Session::start_with(&cfg, demo_proxies).await {
        Ok(session) => session,
        Err(err) if err.is_config() => return Err(err.into()),
        Err(err) => {
            // The service never became ready: a report still says why (its CA file may not
            // exist yet, so the audit is built without it — nothing more is sent).
            eprintln!("readyprobe: {err}");
            let audit = plan::audit_for(target_url.as_deref(), cfg, &origin, catalogue, false)?;
            let output =
                engine::wait::supervised_never_ready(&audit, &err.to_string(), started_wall);
            output::emit(&outputs, &audit, &output, store).await?;
            return Ok(exit::UNREACHABLE);
        }
    };
    let mut audit = plan::audit_for(target_url.as_deref(), cfg, &origin, catalogue, true)?;
    if let Some(d) = &demo {
        audit.extra_roots.push(d.ca_der.clone());
    }
    let mut waited = None;
    if let Some(within) = args.wait_ready {
        let wait = engine::wait::wait_ready(&audit, within, |line| eprintln!("readyprobe: {line}"))
            .await?;
        if !wait.is_ready() {
            eprintln!("readyprobe: {}", wait.failure_message());
            let output = engine::wait::never_ready_output(&audit, &wait, started_wall);
            output::emit(&outputs, &audit, &output, store).await?;
            return Ok(exit::UNREACHABLE);
        }
        waited = Some(wait);
    }
    // The engine names the probes it runs into `activity` (a task-local), the ticker shows them.
    let activity = Activity::new();
    let ticker = Ticker::with_activity(
        format!("auditing {}", audit.target),
        !args.quiet,
        activity.clone(),
    );
    let output = activity
        .scope(engine::run_supervised(&audit, session))
        .await;
    ticker.finish().await;
    let mut output = output?;
    if let Some(d) = demo {
        d.shutdown().await;
    }
    if let Some(wait) = &waited {
        let report = &mut output.report;
        report.wait_ready = Some(wait.record());
        report.scope.insert(0, wait.scope_line());
        report.requests_sent += u64::from(wait.polls);
    }
    let regressions = output::emit(&outputs, &audit, &output, store).await?;
    let report = &output.report;

    if !output.reachable {
        eprintln!(
            "readyprobe: {} could not be reached at all: check the URL, the network path, or raise --timeout",
            report.target
        );
    }
    let mut failures = scoring::gate_failures(report, &audit.config.gate);
    if args.fail_on_regression {
        failures.extend(
            regressions
                .into_iter()
                .map(|r| format!("--fail-on-regression: {r}")),
        );
    }
    let code = exit::for_run(output.reachable, &failures);
    if code == exit::GATE_FAILED {
        for failure in failures {
            eprintln!("readyprobe: gate failed: {failure}");
        }
    }
    Ok(code)
}

/// `audit --targets FILE`.
async fn audit_fleet(args: &AuditArgs, file: &Path) -> Result<u8> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("--targets {}: cannot read", file.display()))?;
    let (cfg, origin) = resolve_config(args)?;
    if args.fleet_concurrency == 0 {
        bail!("--fleet-concurrency: expected at least 1");
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let (targets, bad) = crate::fleet::parse(&text, base);
    for b in &bad {
        eprintln!(
            "readyprobe: --targets {}:{}: {} (skipped; the other targets are still audited)",
            file.display(),
            b.line,
            b.message
        );
    }
    if targets.is_empty() && bad.is_empty() {
        bail!("--targets {}: no target in the file", file.display());
    }
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--out-dir {}: cannot create", dir.display()))?;
    }
    let ticker = Ticker::start(format!("auditing {} targets", targets.len()), !args.quiet);
    // Each report is written as soon as its audit finishes (not held until the fleet ends).
    let sink = match &args.out_dir {
        Some(dir) => crate::fleet::Sink::Write(dir.clone()),
        None => crate::fleet::Sink::Drop,
    };
    let results = crate::fleet::run_with(
        targets,
        &cfg,
        &origin,
        &args.probes,
        args.fleet_concurrency,
        sink,
    )
    .await;
    ticker.finish().await;
    if !args.quiet {
        // Row by row: a fleet of 10,000 would otherwise build its whole table in memory.
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        crate::fleet::summary::write(&results, &mut out)
            .and_then(|()| std::io::Write::flush(&mut out))
            .context("writing the fleet summary to stdout")?;
    }
    for r in &results {
        for note in &r.notes {
            eprintln!("readyprobe: {} (line {}): {note}", r.target, r.line);
        }
    }
    let bad_code = if bad.is_empty() {
        exit::PASSED
    } else {
        exit::USAGE
    };
    Ok(exit::worst(
        results.iter().map(|r| r.code).chain([bad_code]),
    ))
}
