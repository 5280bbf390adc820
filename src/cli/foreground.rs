//! The long-running foreground commands: `demo` (the embedded demo target) and `proxy` (one
//! fault proxy); both stop on Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};

use super::{DemoArgs, ProxyArgs, wait_for_shutdown_signal};
use crate::demo::{self, DemoOptions, DemoProfile};
use crate::{config, exit, report};

pub(super) async fn run_demo(args: DemoArgs) -> Result<u8> {
    if let Some(count) = args.count {
        return run_demo_many(args.profile, count, args.ca_out).await;
    }
    let opts = DemoOptions {
        https_listen: args.listen,
        http_listen: args.http_listen,
        ..DemoOptions::ephemeral(args.profile)
    };
    let dependency = match args.dependency.as_deref().map(demo::DemoDependency::parse) {
        None => None,
        Some(Ok(dependency)) => Some(dependency),
        // The hardened service validates its configuration and refuses to start.
        Some(Err(message)) if args.profile == DemoProfile::Hardened => {
            eprintln!(
                "readyprobe demo: invalid configuration: --dependency / READYPROBE_DEMO_DEPENDENCY: {message}"
            );
            return Ok(exit::USAGE);
        }
        // The flawed one ignores what it cannot parse and serves with its default database.
        Some(Err(_)) => None,
    };
    let extras = demo::DemoExtras {
        dependency,
        access_log: args.access_log,
        health_delay: args.health_delay.unwrap_or_default(),
    };
    let target = demo::start_with(opts, extras)
        .await
        .context("cannot start the demo target")?;
    let ca_path = args
        .ca_out
        .unwrap_or_else(|| std::env::temp_dir().join("readyprobe-demo-ca.pem"));
    report::write_atomic(&ca_path, &target.ca_pem)
        .with_context(|| format!("--ca-out {}: cannot write", ca_path.display()))?;
    println!(
        "readyprobe demo ({}) serving {} (and plain HTTP on {})",
        target.profile.as_str(),
        target.https_url,
        target.http_url
    );
    println!("CA certificate: {}", ca_path.display());
    println!(
        "audit it with: readyprobe audit {} --ca-file {}",
        target.https_url,
        ca_path.display()
    );
    println!("press Ctrl-C to stop");
    match target.profile {
        // No SIGTERM handler: the default action ends the process at once, requests in flight
        // included — the behaviour `ops.graceful_shutdown` exists to catch.
        DemoProfile::Flawed => {
            let _ = tokio::signal::ctrl_c().await;
            target.shutdown().await;
        }
        DemoProfile::Hardened => {
            wait_for_shutdown_signal().await;
            target.drain(args.drain_timeout).await;
        }
    }
    Ok(exit::PASSED)
}

/// `readyprobe proxy`: one fault proxy in the foreground.
pub(super) async fn run_proxy(args: ProxyArgs) -> Result<u8> {
    config::parse_host_port(&args.upstream).map_err(|m| anyhow!("--upstream: {m}"))?;
    use crate::fault_proxy::control::{Control, ControlOptions};
    let token = match &args.control_token_env {
        Some(var) => match std::env::var(var) {
            Ok(token) if !token.is_empty() => Some(token),
            _ => bail!("--control-token-env: the environment variable {var} is not set or empty"),
        },
        None => None,
    };
    if args.max_cut.is_zero() {
        bail!("--max-cut: must be more than 0s");
    }
    let proxy = Arc::new(
        crate::fault_proxy::FaultProxy::start(&args.name, args.listen, &args.upstream)
            .await
            .context("check --listen: the address must be free and local")?,
    );
    // Bound before anything is printed, so "listening" lines are true when a script reads them.
    let control = match args.control {
        Some(listen) => Some(
            Control::bind(
                Arc::clone(&proxy),
                ControlOptions {
                    listen,
                    token,
                    max_hold: args.max_cut,
                },
            )
            .await?,
        ),
        None => None,
    };
    println!(
        "fault proxy {} listening on {}, forwarding to {}",
        proxy.name(),
        proxy.listen_addr(),
        proxy.upstream()
    );
    if let Err(err) = proxy.check_upstream().await {
        eprintln!("readyprobe: warning: {err}; clients are reset until it answers");
    }
    let (stop_control, control_stopped) = tokio::sync::oneshot::channel::<()>();
    let control_task = match control {
        Some(control) => {
            let addr = control
                .local_addr()
                .context("--control: no local address")?;
            println!(
                "control endpoint on http://{addr} (GET /status, POST /cut?for=30s, POST /restore)"
            );
            Some(tokio::spawn(control.serve(async move {
                let _ = control_stopped.await;
            })))
        }
        None => None,
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut cut = signal(SignalKind::user_defined1()).context("cannot watch SIGUSR1")?;
        let mut restore = signal(SignalKind::user_defined2()).context("cannot watch SIGUSR2")?;
        println!("SIGUSR1 cuts it, SIGUSR2 restores it, Ctrl-C or SIGTERM stops it");
        let stop = wait_for_shutdown_signal();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = cut.recv() => {
                    let reset = proxy.cut_and_settle().await;
                    println!("cut: {reset} live connection(s) reset, new connections refused");
                }
                _ = restore.recv() => {
                    proxy.restore();
                    println!("restored");
                }
            }
        }
    }
    #[cfg(not(unix))]
    wait_for_shutdown_signal().await;
    let _ = stop_control.send(());
    if let Some(task) = control_task
        && let Ok(Err(err)) = task.await
    {
        eprintln!("readyprobe: control endpoint: {err}");
    }
    drop(proxy);
    Ok(exit::PASSED)
}

/// `readyprobe demo --count N`: N demo targets sharing one CA; URLs on stdout, the rest on stderr.
async fn run_demo_many(profile: DemoProfile, count: usize, ca_out: Option<PathBuf>) -> Result<u8> {
    if count == 0 {
        bail!("--count: expected at least 1");
    }
    let targets = demo::start_many(profile, count)
        .await
        .context("cannot start the demo targets")?;
    let ca_path = ca_out.unwrap_or_else(|| std::env::temp_dir().join("readyprobe-demo-ca.pem"));
    if let Some(first) = targets.first() {
        report::write_atomic(&ca_path, &first.ca_pem)
            .with_context(|| format!("--ca-out {}: cannot write", ca_path.display()))?;
    }
    let mut urls = String::with_capacity(count * 32);
    for t in &targets {
        urls.push_str(t.https_url.as_str());
        urls.push('\n');
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(urls.as_bytes())?;
        out.flush()?;
    }
    eprintln!(
        "readyprobe demo ({}): {count} targets, CA certificate {}; press Ctrl-C to stop",
        profile.as_str(),
        ca_path.display()
    );
    wait_for_shutdown_signal().await;
    futures_util::future::join_all(targets.into_iter().map(demo::DemoTarget::shutdown)).await;
    Ok(exit::PASSED)
}
