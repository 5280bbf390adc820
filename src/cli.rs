//! The command line: argument definitions and the commands they run.
//!
//! This is the edge of the program: it resolves flags, environment (`READYPROBE_*`) and the
//! config file into an [`Audit`], runs it, writes the outputs and decides the exit code. Errors
//! here carry the remedy for the user ("check the URL or raise --timeout").

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use std::sync::Arc;

use crate::checks::Catalogue;
use crate::config::{self, Config, Profile};
use crate::demo::{self, DemoOptions, DemoProfile};
use crate::engine::{self, Audit};
use crate::model::Severity;
use crate::redact::{self, Redactor};
use crate::report::{self, Format};
use crate::scoring;

/// Exit codes, as DESIGN.md defines them.
pub mod exit {
    /// The gate passed.
    pub const PASSED: u8 = 0;
    /// The gate failed (verdict, score or `--fail-on`).
    pub const GATE_FAILED: u8 = 1;
    /// Usage or configuration error.
    pub const USAGE: u8 = 2;
    /// The target could not be reached at all.
    pub const UNREACHABLE: u8 = 3;
}

/// readyprobe audits a live, deployed system for production readiness and writes a scored
/// report backed by evidence: every finding quotes the request it sent and what came back.
#[derive(Debug, Parser)]
#[command(name = "readyprobe", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 gate passed · 1 gate failed · 2 usage or configuration error · 3 target unreachable.\nStart with: readyprobe audit --demo"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a deployed system (or the embedded demo) and write a scored readiness report.
    Audit(Box<AuditArgs>),
    /// List every known check.
    Checks(ChecksArgs),
    /// Explain one check: what it observes, its rule, severity and fix.
    Explain {
        /// A check id, e.g. headers.hsts (see `readyprobe checks`).
        id: String,
        /// Also look in the check packs in DIR; repeatable.
        #[arg(long, value_name = "DIR")]
        probes: Vec<PathBuf>,
    },
    /// Write an annotated starter configuration file.
    Init {
        /// Where to write it.
        #[arg(default_value = "readyprobe.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Run the demo target standalone, so other tools can be pointed at it.
    Demo(DemoArgs),
}

/// `readyprobe audit` options.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Base URL of the target, e.g. https://staging.example.com.
    #[arg(value_name = "URL", env = "READYPROBE_TARGET")]
    pub url: Option<String>,
    /// Audit the embedded demo target (started on 127.0.0.1, audited over real HTTPS).
    #[arg(long)]
    pub demo: bool,
    /// Which demo to start with --demo.
    #[arg(long, value_enum, default_value_t = DemoProfile::Flawed)]
    pub demo_profile: DemoProfile,
    /// Configuration file (TOML); see `readyprobe init`.
    #[arg(short, long, value_name = "FILE", env = "READYPROBE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Profile: staging, production (passive only) or ci.
    #[arg(long, value_enum, env = "READYPROBE_PROFILE")]
    pub profile: Option<Profile>,
    /// Format printed on stdout.
    #[arg(short, long, value_enum, default_value_t = Format::Terminal, env = "READYPROBE_FORMAT")]
    pub format: Format,
    /// Also write the report to FILE, in the format its extension names (.md, .json, .txt);
    /// repeatable. Written atomically.
    #[arg(short, long, value_name = "FILE")]
    pub out: Vec<PathBuf>,
    /// Fail the gate (exit 1) when a finding of at least this severity fails.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, env = "READYPROBE_FAIL_ON")]
    pub fail_on: Option<Severity>,
    /// Fail the gate (exit 1) when the overall score is below N (0–100).
    #[arg(long, value_name = "N", value_parser = parse_score, env = "READYPROBE_MIN_SCORE")]
    pub min_score: Option<f64>,
    /// Deadline for the whole run, e.g. 60s; a report is written when it passes.
    #[arg(long, value_parser = parse_duration, env = "READYPROBE_DEADLINE")]
    pub deadline: Option<Duration>,
    /// Timeout of each network operation, e.g. 10s.
    #[arg(long, value_parser = parse_duration, env = "READYPROBE_TIMEOUT")]
    pub timeout: Option<Duration>,
    /// Requests in flight to the target at once.
    #[arg(long, env = "READYPROBE_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// The most requests the audit may send.
    #[arg(long, env = "READYPROBE_MAX_REQUESTS")]
    pub max_requests: Option<u64>,
    /// PEM file of extra trusted CA certificates (a private staging CA).
    #[arg(long, value_name = "FILE", env = "READYPROBE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Extra request header "Name: value" (value may be env:VAR); repeatable. Values are masked
    /// in every output.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Add the check packs (*.toml) in DIR to the built-in ones; repeatable. See probes/README.md.
    #[arg(long, value_name = "DIR", env = "READYPROBE_PROBES")]
    pub probes: Vec<PathBuf>,
    /// No colour, even on a terminal.
    #[arg(long)]
    pub no_color: bool,
    /// Print nothing on stdout (files from --out are still written).
    #[arg(short, long)]
    pub quiet: bool,
}

/// `readyprobe checks` options.
#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
    /// Also list the check packs in DIR; repeatable.
    #[arg(long, value_name = "DIR")]
    pub probes: Vec<PathBuf>,
}

/// Formats for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    /// An aligned table.
    Table,
    /// JSON.
    Json,
}

/// `readyprobe demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the HTTPS listener.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: std::net::SocketAddr,
    /// Address of the plain-HTTP listener.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_listen: std::net::SocketAddr,
    /// Which behaviour to show.
    #[arg(long, value_enum, default_value_t = DemoProfile::Flawed)]
    pub profile: DemoProfile,
    /// Where to write the demo CA certificate (PEM) that clients must trust.
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
}

fn parse_severity(s: &str) -> std::result::Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("expected one of critical, high, medium, low, info; got {s:?}"))
}

fn parse_score(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if (0.0..=100.0).contains(&n) => Ok(n),
        _ => Err(format!("expected a number from 0 to 100, got {s:?}")),
    }
}

fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    match humantime::parse_duration(s.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "expected a duration like \"60s\" or \"500ms\", got {s:?}"
        )),
    }
}

/// Runs a parsed command line; returns the exit code. Errors are usage/config errors (exit 2).
pub async fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Audit(args) => audit(*args).await,
        Command::Checks(args) => list_checks(&args),
        Command::Explain { id, probes } => explain(&id, &probes),
        Command::Init { path, force } => init(&path, force),
        Command::Demo(args) => run_demo(args).await,
    }
}

/// Resolves config file, environment and flags into a validated config.
pub fn resolve_config(args: &AuditArgs) -> Result<(Config, String)> {
    let (mut cfg, origin) = match &args.config {
        Some(path) => (config::from_file(path)?, path.display().to_string()),
        None => (Config::default(), "command line".to_string()),
    };
    if let Some(profile) = args.profile {
        cfg.profile = profile;
    }
    if let Some(d) = args.deadline {
        cfg.run.deadline = d;
    }
    if let Some(t) = args.timeout {
        cfg.run.timeout = t;
    }
    if let Some(c) = args.concurrency {
        cfg.run.concurrency = c;
    }
    if let Some(m) = args.max_requests {
        cfg.run.max_requests = m;
    }
    if let Some(ca) = &args.ca_file {
        cfg.run.ca_file = Some(ca.clone());
    }
    if let Some(level) = args.fail_on {
        cfg.gate.fail_on = Some(level);
    }
    if let Some(min) = args.min_score {
        cfg.gate.min_score = Some(min);
    }
    for raw in &args.headers {
        let (name, value) = raw.split_once(':').ok_or_else(|| {
            anyhow!(
                "--header {:?}: expected \"Name: value\"",
                redact_header_arg(raw)
            )
        })?;
        cfg.http
            .headers
            .insert(name.trim().to_string(), value.trim().to_string());
    }
    let origin_for_flags = if args.config.is_some() {
        format!("{origin} (with command-line flags)")
    } else {
        origin.clone()
    };
    cfg.validate(&origin_for_flags)?;
    Ok((cfg, origin))
}

fn redact_header_arg(raw: &str) -> String {
    match raw.split_once(':') {
        Some((name, _)) => format!("{name}: {}", redact::MASK),
        None if raw.len() > 24 => format!("{}…", &raw.chars().take(12).collect::<String>()),
        None => raw.to_string(),
    }
}

/// Reads the CA file into trust anchors; the error names the field.
fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("run.ca_file / --ca-file {}: cannot read", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            anyhow!(
                "run.ca_file / --ca-file {}: not a PEM certificate file ({e})",
                path.display()
            )
        })?;
    if certs.is_empty() {
        bail!(
            "run.ca_file / --ca-file {}: no CERTIFICATE block found; expected PEM",
            path.display()
        );
    }
    Ok(certs)
}

/// Loads the catalogue: built-in checks, embedded packs and the packs in `dirs`.
pub fn load_catalogue(dirs: &[PathBuf]) -> Result<Catalogue> {
    Ok(Catalogue::load(dirs)?)
}

/// Builds the [`Audit`] for a target URL from a resolved config and catalogue.
pub fn build_audit(
    target: &str,
    mut cfg: Config,
    origin: &str,
    catalogue: Catalogue,
) -> Result<Audit> {
    catalogue.validate_config(&cfg, origin)?;
    let target =
        config::load::validate_http_url(target).map_err(|m| anyhow!("{origin}: target: {m}"))?;
    let mut redactor = Redactor::new();
    if let Some(password) = target.password() {
        redactor.add(password);
    }
    let mut headers = Vec::new();
    for (name, value) in &cfg.http.headers {
        let value = config::load::resolve_env(value, origin, &format!("http.headers.{name}"))?;
        redactor.add(&value);
        headers.push((name.clone(), value));
    }
    // Dependency URLs: `env:` values read now (a missing variable exits 2 naming the field),
    // every password registered so no output can carry it.
    cfg.dependencies = cfg.dependencies.resolve(origin)?;
    for secret in cfg.dependencies.secrets() {
        redactor.add(&secret);
    }
    let extra_roots = match &cfg.run.ca_file {
        Some(path) => load_ca_file(path)?,
        None => Vec::new(),
    };
    Ok(Audit {
        target,
        config: cfg,
        extra_roots,
        headers,
        redactor,
        catalogue: Arc::new(catalogue),
    })
}

/// True when stdout should get ANSI colour.
fn use_color(args: &AuditArgs) -> bool {
    !args.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
}

async fn audit(args: AuditArgs) -> Result<u8> {
    if args.demo && args.url.is_some() {
        bail!("give either a URL or --demo, not both");
    }
    for path in &args.out {
        if Format::from_path(path).is_none() {
            bail!(
                "--out {}: unknown extension; use .md, .json or .txt",
                path.display()
            );
        }
    }
    let (mut cfg, origin) = resolve_config(&args)?;
    let catalogue = load_catalogue(&args.probes)?;

    let demo = if args.demo {
        let target = demo::start(DemoOptions::ephemeral(args.demo_profile))
            .await
            .context("cannot start the demo target")?;
        cfg.run.http_url = Some(target.http_url.to_string());
        // The demo's admin route: real targets name theirs in `[access] protected`.
        if cfg.access.protected.is_empty() {
            cfg.access.protected = vec!["/api/admin".to_string()];
        }
        Some(target)
    } else {
        None
    };
    let target_url = match (&demo, &args.url, &cfg.target) {
        (Some(d), _, _) => d.https_url.to_string(),
        (None, Some(url), _) => url.clone(),
        (None, None, Some(url)) => url.clone(),
        (None, None, None) => bail!(
            "no target: give a URL (readyprobe audit https://staging.example.com), set `target` in the config, or try --demo"
        ),
    };
    let mut audit = build_audit(&target_url, cfg, &origin, catalogue)?;
    if let Some(d) = &demo {
        audit.extra_roots.push(d.ca_der.clone());
    }
    let output = engine::run(&audit).await?;
    if let Some(d) = demo {
        d.shutdown().await;
    }
    let report = &output.report;

    for path in &args.out {
        let format = Format::from_path(path).unwrap_or(Format::Json);
        report::write_atomic(path, &report::render(report, format, false))
            .with_context(|| format!("--out {}: cannot write the report", path.display()))?;
    }
    if !args.quiet {
        print!("{}", report::render(report, args.format, use_color(&args)));
    }

    if !output.reachable {
        eprintln!(
            "readyprobe: {} could not be reached at all: check the URL, the network path, or raise --timeout",
            report.target
        );
        return Ok(exit::UNREACHABLE);
    }
    let failures = scoring::gate_failures(report, &audit.config.gate);
    if failures.is_empty() {
        Ok(exit::PASSED)
    } else {
        for failure in failures {
            eprintln!("readyprobe: gate failed: {failure}");
        }
        Ok(exit::GATE_FAILED)
    }
}

fn list_checks(args: &ChecksArgs) -> Result<u8> {
    let catalogue = load_catalogue(&args.probes)?;
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

fn explain(id: &str, probes: &[PathBuf]) -> Result<u8> {
    let catalogue = load_catalogue(probes)?;
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

/// The annotated starter configuration written by `readyprobe init`.
pub const STARTER_CONFIG: &str = include_str!("../config/readyprobe.toml");

fn init(path: &Path, force: bool) -> Result<u8> {
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

async fn run_demo(args: DemoArgs) -> Result<u8> {
    let opts = DemoOptions {
        https_listen: args.listen,
        http_listen: args.http_listen,
        ..DemoOptions::ephemeral(args.profile)
    };
    let target = demo::start(opts)
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
    wait_for_shutdown_signal().await;
    target.shutdown().await;
    Ok(exit::PASSED)
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
