//! The command line: argument definitions, and dispatch to the command that runs.
//!
//! This is the edge of the program: it parses flags and environment (`READYPROBE_*`), resolves
//! them with the config file into a [`Config`], and hands over — audits are planned by
//! [`crate::engine::plan`], run by the engine, written by [`crate::output`]; the exit code comes
//! from [`crate::exit`]. Errors here carry the remedy for the user ("check the URL or raise
//! --timeout").

mod audit;
mod commands;
mod foreground;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config, Profile};
use crate::demo::DemoProfile;
use crate::model::Severity;
use crate::redact;
use crate::report::Format;

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
    /// Check a configuration file, or print its JSON Schema (for editors).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the demo target standalone, so other tools can be pointed at it.
    Demo(DemoArgs),
    /// Run a fault proxy standalone: forward --listen to --upstream (SIGUSR1 cuts, SIGUSR2
    /// restores, Ctrl-C stops; --control lets a remote audit cut it). `audit` runs the
    /// `[[fault.proxy]]` entries with `listen` itself.
    Proxy(ProxyArgs),
    /// List recorded runs from the history store, newest first, with the score trend.
    History(HistoryArgs),
    /// Compare two recorded runs: new failures, fixed checks, score deltas.
    Diff(DiffArgs),
    /// Re-judge a recording (`audit --record FILE`) offline with the current checks and config.
    Judge(JudgeArgs),
    /// Run the Prometheus exporter: /probe?target=URL&profile=NAME audits one target per scrape.
    Serve(ServeArgs),
}

/// `readyprobe audit` options.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Base URL of the target, e.g. https://staging.example.com, and/or dependency URLs to
    /// inspect read-only (postgres://, mysql://, redis://, rediss://, amqp://, amqps://; they
    /// replace the config's). With dependency URLs only, just those are audited.
    #[arg(value_name = "URL", env = "READYPROBE_TARGET")]
    pub url: Vec<String>,
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
    /// PEM file of extra trusted CA certificates (a private staging CA), or the staging
    /// server's own self-signed certificate (trusted as exactly that certificate).
    #[arg(long, value_name = "FILE", env = "READYPROBE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// A certificate that fails verification makes every HTTP check an error. Without it the
    /// tls.* checks fail and the other checks observe the site over an unverified connection
    /// (labelled so in the evidence; no -H header or credential is sent over it).
    #[arg(long, env = "READYPROBE_STRICT_TLS")]
    pub strict_tls: bool,
    /// Connections open at once to one server address, all audits of a --targets run together
    /// (default 6, like browsers).
    #[arg(long, value_name = "N", env = "READYPROBE_MAX_CONNECTIONS_PER_HOST")]
    pub max_connections_per_host: Option<usize>,
    /// Resolve the target with this DNS server (IP or IP:port) instead of the system's;
    /// repeatable.
    #[arg(long = "nameserver", value_name = "ADDR")]
    pub nameservers: Vec<String>,
    /// Extra request header "Name: value" (value may be env:VAR); repeatable. Values are masked
    /// in every output.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A Kubernetes manifest of the service: a YAML file, a directory of them, or - for stdin
    /// (kubectl kustomize, helm template, kubectl get deploy -o yaml); repeatable. Its probes,
    /// grace period, resources, replicas and images are checked against the live service
    /// (k8s.*). Replaces kubernetes.manifests of the config.
    #[arg(long = "kube-manifest", value_name = "PATH")]
    pub kube_manifest: Vec<PathBuf>,
    /// Add the check packs (*.toml) in DIR to the built-in ones; repeatable. See probes/README.md.
    #[arg(long, value_name = "DIR", env = "READYPROBE_PROBES")]
    pub probes: Vec<PathBuf>,
    /// No colour, even on a terminal.
    #[arg(long)]
    pub no_color: bool,
    /// Print nothing on stdout (files from --out are still written).
    #[arg(short, long)]
    pub quiet: bool,
    /// Before auditing, poll the readiness endpoint health.ready_now judges (the configured one,
    /// else the one discovered among /readyz, /ready, /actuator/health/readiness…, else the
    /// generic health endpoint) until it answers ready, e.g. 60s — for a deployment that is
    /// still starting. Never ready: exit 3 with a report saying what it last answered.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "READYPROBE_WAIT_READY")]
    pub wait_ready: Option<Duration>,
    /// Record this run in a history store: sqlite:PATH, a file path, or postgres://…
    /// (--fail-on-regression and --webhook use ./readyprobe-history.sqlite when not given).
    #[arg(long, value_name = "STORE", env = "READYPROBE_STORE")]
    pub store: Option<String>,
    /// Exit 1 when a check that passed in the previous run of this target now fails, or the
    /// overall score dropped by more than --max-score-drop.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Points the overall score may drop since the previous run before it is a regression
    /// (default 5, or gate.max_score_drop).
    #[arg(long, value_name = "N", value_parser = parse_score)]
    pub max_score_drop: Option<f64>,
    /// POST a JSON summary to URL when this run regressed or its verdict changed (needs the
    /// history store). Bounded to 10 s; a failure is reported on stderr, never fatal.
    #[arg(long, value_name = "URL", env = "READYPROBE_WEBHOOK")]
    pub webhook: Option<String>,
    /// Also write what the probes observed, with the config snapshot, to FILE (JSON); re-judge
    /// it later with `readyprobe judge FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Audit every target listed in FILE (one URL or config path per line, # comments).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "demo"])]
    pub targets: Option<PathBuf>,
    /// With --targets: audits running at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub fleet_concurrency: usize,
    /// With --targets: write each target's report (.json, .md, .html) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `readyprobe config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the JSON Schema of readyprobe.toml (draft-07), for editor completion: save it as
    /// readyprobe.schema.json and start the config with `#:schema ./readyprobe.schema.json`.
    Schema,
    /// Validate a config file as `audit` would — every field, check id and Kubernetes manifest
    /// it names — without sending a request. Exit 0 with one OK line, 2 naming file and field.
    Check {
        /// The config file.
        file: PathBuf,
        /// Also know the check packs in DIR (for ids in checks.disable / waivers); repeatable.
        #[arg(long, value_name = "DIR")]
        probes: Vec<PathBuf>,
    },
}

/// `readyprobe history` options.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The history store: sqlite:PATH, a file path, or postgres://…
    #[arg(long, value_name = "STORE", env = "READYPROBE_STORE", default_value = crate::store::DEFAULT_STORE)]
    pub store: String,
    /// Only runs of this target.
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
}

/// `readyprobe diff` options.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older run id (default: the second-newest run of the target).
    pub from: Option<i64>,
    /// The newer run id (default: the newest run of the target).
    pub to: Option<i64>,
    /// The history store: sqlite:PATH, a file path, or postgres://…
    #[arg(long, value_name = "STORE", env = "READYPROBE_STORE", default_value = crate::store::DEFAULT_STORE)]
    pub store: String,
    /// Which target's last two runs to compare (default: the newest run's target).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// `readyprobe judge` options.
#[derive(Debug, Args)]
pub struct JudgeArgs {
    /// A recording written by `audit --record FILE`.
    pub recording: PathBuf,
    /// Judge with this config instead of the recorded snapshot.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override the profile.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Format printed on stdout.
    #[arg(short, long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,
    /// Also write the report to FILE (format from the extension); repeatable.
    #[arg(short, long, value_name = "FILE")]
    pub out: Vec<PathBuf>,
    /// Also look in the check packs in DIR; repeatable.
    #[arg(long, value_name = "DIR")]
    pub probes: Vec<PathBuf>,
}

/// `readyprobe serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9797", env = "READYPROBE_LISTEN")]
    pub listen: std::net::SocketAddr,
    /// Base configuration for every probe (the target comes from the scrape).
    #[arg(short, long, value_name = "FILE", env = "READYPROBE_CONFIG")]
    pub config: Option<PathBuf>,
    /// PEM file of extra trusted CA certificates.
    #[arg(long, value_name = "FILE", env = "READYPROBE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Audits allowed at once; more scrapes wait, then get 503.
    #[arg(long, default_value_t = 4)]
    pub max_concurrent: usize,
    /// Connections open at once to one server address, all scrapes together (default: the
    /// config's run.max_connections_per_host, 6).
    #[arg(long, value_name = "N")]
    pub max_connections_per_host: Option<usize>,
    /// Subtracted from Prometheus's scrape timeout to bound each audit, e.g. 500ms.
    #[arg(long, value_parser = parse_duration, default_value = "500ms")]
    pub timeout_offset: Duration,
    /// Add the check packs in DIR; repeatable. Loaded once, at start: a bad pack stops serve.
    #[arg(long, value_name = "DIR")]
    pub probes: Vec<PathBuf>,
    /// Answer a target's scrapes from its last audit for this long (several Prometheus servers,
    /// an HA pair), with readyprobe_probe_cache_age_seconds; 0 = audit on every scrape.
    #[arg(long, value_name = "DURATION", value_parser = crate::serve::parse_min_interval, default_value = "0", env = "READYPROBE_MIN_INTERVAL")]
    pub min_interval: Duration,
    /// The most targets whose last answer is kept for --min-interval; a full cache drops
    /// expired answers, then the oldest.
    #[arg(long, value_name = "N", default_value_t = crate::serve::DEFAULT_CACHE_ENTRIES)]
    pub cache_entries: usize,
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
    /// Benchmarks only: start N demo targets on ephemeral loopback ports (--listen and
    /// --http-listen are ignored), all signed by one CA, and print their HTTPS URLs on stdout, one
    /// per line — a targets file for `audit --targets`.
    #[arg(long, value_name = "N", hide = true)]
    pub count: Option<usize>,
    /// The demo's database: IP:port of a TCP dependency (a fault proxy), or a postgres:// URL
    /// whose readiness check is `SELECT 1`. Default: a built-in TCP listener. An invalid value
    /// makes the hardened demo exit 2 at once; the flawed demo ignores it.
    #[arg(long, value_name = "ADDR|URL", env = "READYPROBE_DEMO_DEPENDENCY")]
    pub dependency: Option<String>,
    /// Log every request on stdout in the profile's style (flawed: plain text with headers and
    /// body; hardened: JSON with the request id, secrets masked).
    #[arg(long)]
    pub access_log: bool,
    /// Hardened: the longest drain after SIGTERM before the listeners stop.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "20s")]
    pub drain_timeout: Duration,
    /// Every health endpoint (flawed /health and /ready, hardened /livez and /readyz) works this
    /// long before it answers, like a health check running a slow query — to compare with a
    /// manifest's probe timeoutSeconds. Default: answer at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "READYPROBE_DEMO_HEALTH_DELAY")]
    pub health_delay: Option<Duration>,
}

/// `readyprobe proxy` options.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where to listen; point the service's dependency address here.
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// The real dependency, host:port.
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream: String,
    /// The dependency's name, for messages.
    #[arg(long, default_value = "dependency")]
    pub name: String,
    /// Serve a control endpoint here (GET /status, POST /cut?for=30s, POST /restore) so a
    /// remote audit can cut the proxy: `[[fault.proxy]] control = "http://ADDR"`.
    #[arg(long, value_name = "ADDR")]
    pub control: Option<std::net::SocketAddr>,
    /// The environment variable holding the control token; every control request must then
    /// send `Authorization: Bearer <token>`. Required when --control is not on loopback.
    #[arg(long, value_name = "VAR", requires = "control")]
    pub control_token_env: Option<String>,
    /// The longest cut a control request may ask for; every cut restores itself after its
    /// `for` (default 60s), so a dead audit never leaves the dependency cut.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub max_cut: Duration,
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
        Command::Audit(args) => audit::audit(*args).await,
        Command::Checks(args) => commands::list_checks(&args),
        Command::Explain { id, probes } => commands::explain(&id, &probes),
        Command::Init { path, force } => commands::init(&path, force),
        Command::Config(command) => commands::config_command(&command),
        Command::Demo(args) => foreground::run_demo(args).await,
        Command::Proxy(args) => foreground::run_proxy(args).await,
        Command::History(args) => commands::history(&args).await,
        Command::Diff(args) => commands::diff_runs(&args).await,
        Command::Judge(args) => commands::judge_recording(&args),
        Command::Serve(args) => commands::serve(args).await,
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
    if args.strict_tls {
        cfg.run.strict_tls = true;
    }
    if let Some(n) = args.max_connections_per_host {
        cfg.run.max_connections_per_host = n;
    }
    if !args.nameservers.is_empty() {
        cfg.run.nameservers = args.nameservers.clone();
    }
    if let Some(level) = args.fail_on {
        cfg.gate.fail_on = Some(level);
    }
    if let Some(min) = args.min_score {
        cfg.gate.min_score = Some(min);
    }
    if !args.kube_manifest.is_empty() {
        cfg.kubernetes.manifests = args.kube_manifest.clone();
    }
    // Dependency URLs on the command line replace the config's (the HTTP target is kept apart).
    for raw in &args.url {
        cfg.dependencies
            .take_url(raw)
            .map_err(|m| anyhow!("URL argument: {m}"))?;
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

/// The annotated starter configuration written by `readyprobe init`.
pub const STARTER_CONFIG: &str = include_str!("../config/readyprobe.toml");

/// True when stdout should get ANSI colour: not refused by `no_color` or `NO_COLOR`, and a
/// terminal.
fn use_color(no_color: bool) -> bool {
    !no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
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
