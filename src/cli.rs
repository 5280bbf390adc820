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
use crate::engine::record::Recording;
use crate::engine::{self, Audit};
use crate::model::Severity;
use crate::progress::{Activity, Ticker};
use crate::redact::{self, Redactor};
use crate::report::{self, Format};
use crate::scoring;
use crate::store::Store;

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
        Command::Audit(args) => audit(*args).await,
        Command::Checks(args) => list_checks(&args),
        Command::Explain { id, probes } => explain(&id, &probes),
        Command::Init { path, force } => init(&path, force),
        Command::Config(command) => config_command(&command),
        Command::Demo(args) => run_demo(args).await,
        Command::Proxy(args) => run_proxy(args).await,
        Command::History(args) => history(&args).await,
        Command::Diff(args) => diff_runs(&args).await,
        Command::Judge(args) => judge_recording(&args),
        Command::Serve(args) => serve(args).await,
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

/// The HTTP target among the URL arguments (the others are dependencies); at most one.
fn http_target(args: &AuditArgs) -> Result<Option<String>> {
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

/// Builds the [`Audit`] for a target URL from a resolved config and catalogue, trusting
/// `run.ca_file` (read now: a missing or malformed file is an error naming the field).
pub fn build_audit(target: &str, cfg: Config, origin: &str, catalogue: Catalogue) -> Result<Audit> {
    let mut audit = prepare_audit(target, cfg, origin, catalogue)?;
    if let Some(path) = &audit.config.run.ca_file {
        audit.extra_roots = load_ca_file(path)?;
    }
    Ok(audit)
}

/// [`build_audit`] without reading `run.ca_file`: for a report written when nothing more will be
/// sent (a supervised service that never started may never have written its CA).
fn prepare_audit(target: &str, cfg: Config, origin: &str, catalogue: Catalogue) -> Result<Audit> {
    let target =
        config::load::validate_http_url(target).map_err(|m| anyhow!("{origin}: target: {m}"))?;
    build_audit_for(target, cfg, origin, catalogue)
}

/// Builds a dependency-only [`Audit`]: no HTTP target, the configured dependencies only.
pub fn build_dependency_audit(cfg: Config, origin: &str, catalogue: Catalogue) -> Result<Audit> {
    if cfg.supervise.is_enabled() {
        bail!(
            "{origin}: supervise.command: a dependency-only audit has no HTTP target to watch; give the service's URL"
        );
    }
    let target = url::Url::parse(Audit::DEPENDENCY_ONLY_TARGET)?;
    build_audit_for(target, cfg, origin, catalogue)
}

fn build_audit_for(
    target: url::Url,
    mut cfg: Config,
    origin: &str,
    catalogue: Catalogue,
) -> Result<Audit> {
    catalogue.validate_config(&cfg, origin)?;
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
    // The valid token of `access.token_env` (the JWT forgery baseline): the token and its
    // signature, which the tampered variant keeps and an echoing server sends back.
    if let Ok(token) = std::env::var(&cfg.access.token_env) {
        redactor.add(&token);
        redactor.add(token.trim().rsplit('.').next().unwrap_or_default());
    }
    Ok(Audit {
        target,
        config: cfg,
        extra_roots: Vec::new(),
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
    if let Some(file) = &args.targets {
        return audit_fleet(&args, file).await;
    }
    let http_url = http_target(&args)?;
    if args.demo && http_url.is_some() {
        bail!("give either a URL or --demo, not both");
    }
    for path in &args.out {
        if Format::from_path(path).is_none() {
            bail!(
                "--out {}: unknown extension; use .md, .json, .txt, .html, .xml (JUnit) or .prom",
                path.display()
            );
        }
    }
    let (mut cfg, origin) = resolve_config(&args)?;
    let catalogue = load_catalogue(&args.probes)?;
    // Manifests are read before anything is started or sent: a bad one is a usage error.
    cfg.kubernetes.load()?;
    if let Some(drop) = args.max_score_drop {
        cfg.gate.max_score_drop = drop;
    }
    // A bad store is a usage error found before any request is sent.
    let store = open_history(&args).await?;

    let mut demo_proxies = Vec::new();
    let demo = if args.demo {
        // The demo's database sits behind a fault proxy the audit cuts (`health.fault.*`).
        let (target, proxy) = demo::start_behind_proxy(args.demo_profile)
            .await
            .context("cannot start the demo target")?;
        demo_proxies.push(proxy);
        cfg.run.http_url = Some(target.http_url.to_string());
        // The demo's admin route: real targets name theirs in `[access] protected`.
        if cfg.access.protected.is_empty() {
            cfg.access.protected = vec!["/api/admin".to_string()];
        }
        // The demo's login (rate-limited in hardened) and its paginated list: real targets name
        // theirs in `[ratelimit]` and `[perf]`. The burst is kept short: the demo allows 10 logins
        // per 2 s, so 60 requests on a fast ramp are plenty to see the limit (or its absence).
        if cfg.ratelimit.endpoint.is_none() {
            cfg.ratelimit.endpoint = Some("/login".to_string());
            cfg.ratelimit.method = "POST".to_string();
            cfg.ratelimit.body =
                Some(r#"{"username":"demo","password":"not-the-password"}"#.to_string());
            cfg.ratelimit.max_requests = cfg.ratelimit.max_requests.min(60);
            cfg.ratelimit.start_rps = cfg.ratelimit.start_rps.max(10.0).min(cfg.ratelimit.max_rps);
            cfg.ratelimit.step = cfg
                .ratelimit
                .step
                .min(std::time::Duration::from_millis(200));
            cfg.ratelimit.max_wait = cfg
                .ratelimit
                .max_wait
                .min(std::time::Duration::from_secs(5));
        }
        if cfg.perf.list_endpoint.is_none() {
            cfg.perf.list_endpoint = Some("/api/orders".to_string());
        }
        // The demo's baseline is capped at 100 requests over a 3 s plan: the cap, not the
        // duration, ends it on any machine that serves more than ~40 rps, so the report shows
        // what an audit says of a load that did not last ("too short to judge") without
        // spending seconds on load.
        if !cfg.load.enabled {
            cfg.load.enabled = true;
            cfg.load.duration = std::time::Duration::from_secs(3);
            cfg.load.max_requests = cfg.load.max_requests.min(100);
        }
        // On loopback a readiness check that dials its database notices a cut within
        // milliseconds; a 3 s window keeps the demo quick while still proving a shallow one.
        let window = std::time::Duration::from_secs(3);
        cfg.fault.detect_window = cfg.fault.detect_window.min(window);
        cfg.fault.recover_window = cfg.fault.recover_window.min(window);
        cfg.fault.poll_interval = cfg.fault.poll_interval.min(cfg.fault.detect_window);
        Some(target)
    } else {
        None
    };
    let target_url = match (&demo, &http_url, &cfg.target) {
        (Some(d), _, _) => Some(d.https_url.to_string()),
        (None, Some(url), _) => Some(url.clone()),
        (None, None, Some(url)) => Some(url.clone()),
        // Dependency URLs only (or a config naming only dependencies): audit just those.
        (None, None, None) if cfg.dependencies.has_services() => None,
        (None, None, None) => bail!(
            "no target: give a URL (readyprobe audit https://staging.example.com), dependency URLs (postgres://…, redis://…, amqp://…), set `target` in the config, or try --demo"
        ),
    };
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
            let audit = match &target_url {
                Some(url) => prepare_audit(url, cfg, &origin, catalogue)?,
                None => build_dependency_audit(cfg, &origin, catalogue)?,
            };
            let output = supervised_unready(&audit, &err, started_wall);
            emit(&args, &audit, &output, store).await?;
            return Ok(exit::UNREACHABLE);
        }
    };
    let mut audit = match &target_url {
        Some(url) => build_audit(url, cfg, &origin, catalogue)?,
        None => build_dependency_audit(cfg, &origin, catalogue)?,
    };
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
            emit(&args, &audit, &output, store).await?;
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
    let output = activity.scope(session.run(&audit)).await;
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
    let regressions = emit(&args, &audit, &output, store).await?;
    let report = &output.report;

    if !output.reachable {
        eprintln!(
            "readyprobe: {} could not be reached at all: check the URL, the network path, or raise --timeout",
            report.target
        );
        return Ok(exit::UNREACHABLE);
    }
    let mut failures = scoring::gate_failures(report, &audit.config.gate);
    if args.fail_on_regression {
        failures.extend(
            regressions
                .into_iter()
                .map(|r| format!("--fail-on-regression: {r}")),
        );
    }
    if failures.is_empty() {
        Ok(exit::PASSED)
    } else {
        for failure in failures {
            eprintln!("readyprobe: gate failed: {failure}");
        }
        Ok(exit::GATE_FAILED)
    }
}

/// The report of a supervised service that never became ready (it exited, or its readiness URL
/// never answered 2xx in time).
fn supervised_unready(
    audit: &Audit,
    err: &crate::supervise::SuperviseError,
    started: std::time::SystemTime,
) -> engine::RunOutput {
    let cfg = &audit.config.supervise;
    let waited = format!(
        "supervise.startup_timeout {}",
        humantime::format_duration(cfg.startup_timeout)
    );
    let path = cfg
        .readiness_url
        .as_deref()
        .unwrap_or("the supervised service")
        .to_string();
    let reason = audit.redactor.scrub(&err.to_string());
    let judgement = crate::checks::health::never_ready(&waited, &path, None, &reason);
    let elapsed = started.elapsed().unwrap_or_default();
    engine::wait::unready_output(
        audit,
        judgement,
        "not run: the supervised service did not become ready ([supervise])",
        None,
        engine::wait::UnreadyRun {
            started,
            elapsed,
            requests: 0,
            scope: vec![format!(
                "Supervised: readyprobe started `{}`; it did not become ready, so nothing was audited ({reason}).",
                cfg.command.join(" ")
            )],
            wait: None,
            answered: false,
        },
    )
}

/// Writes a run's outputs: the recording, the `--out` files, stdout, and the history store
/// (with the regression check and the webhook); returns the regressions.
async fn emit(
    args: &AuditArgs,
    audit: &Audit,
    output: &engine::RunOutput,
    store: Option<Store>,
) -> Result<Vec<String>> {
    let report = &output.report;
    if let Some(path) = &args.record {
        let recording = Recording::new(report, &audit.config, &output.observations);
        let text = recording
            .to_json(&audit.redactor)
            .with_context(|| format!("--record {}: cannot serialise", path.display()))?;
        report::write_atomic(path, &text)
            .with_context(|| format!("--record {}: cannot write", path.display()))?;
    }
    for path in &args.out {
        let format = Format::from_path(path).unwrap_or(Format::Json);
        report::write_atomic(path, &render_output(output, format, false))
            .with_context(|| format!("--out {}: cannot write the report", path.display()))?;
    }
    if !args.quiet {
        print!("{}", render_output(output, args.format, use_color(args)));
    }
    let mut regressions = Vec::new();
    if let Some(store) = store {
        regressions = record_history(&store, args, audit, report).await?;
        store.close().await;
    }
    Ok(regressions)
}

/// Renders a run's report; Prometheus output also gets `readyprobe_probe_success`.
fn render_output(output: &engine::RunOutput, format: Format, color: bool) -> String {
    match format {
        Format::Prometheus => report::prometheus::render(
            &output.report,
            report::prometheus::Options {
                success: Some(output.reachable),
                target_label: true,
            },
        ),
        other => report::render(&output.report, other, color),
    }
}

/// Opens the history store the flags ask for (none when history is not used).
async fn open_history(args: &AuditArgs) -> Result<Option<Store>> {
    let spec = match (
        &args.store,
        args.fail_on_regression || args.webhook.is_some(),
    ) {
        (Some(spec), _) => spec.clone(),
        (None, true) => crate::store::DEFAULT_STORE.to_string(),
        (None, false) => return Ok(None),
    };
    if let Some(url) = &args.webhook {
        config::load::validate_http_url(url).map_err(|m| anyhow!("--webhook: {m}"))?;
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
    args: &AuditArgs,
    audit: &Audit,
    report: &crate::model::Report,
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
    if let Some(url) = &args.webhook
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
    let results = crate::fleet::run_keeping(
        targets,
        &cfg,
        &origin,
        &args.probes,
        args.fleet_concurrency,
        args.out_dir.is_some(),
    )
    .await;
    ticker.finish().await;
    if let Some(dir) = &args.out_dir {
        for r in &results {
            let Some(rep) = &r.report else { continue };
            let stem = format!("{:03}-{}", r.line, crate::fleet::slug(&r.target));
            for (ext, format) in [
                ("json", Format::Json),
                ("md", Format::Md),
                ("html", Format::Html),
            ] {
                let path = dir.join(format!("{stem}.{ext}"));
                report::write_atomic(&path, &report::render(rep, format, false))
                    .with_context(|| format!("--out-dir {}: cannot write", path.display()))?;
            }
        }
    }
    if !args.quiet {
        print!("{}", crate::fleet::summary_table(&results));
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
    Ok(crate::fleet::worst(
        results.iter().map(|r| r.code).chain([bad_code]),
    ))
}

/// `readyprobe history`.
async fn history(args: &HistoryArgs) -> Result<u8> {
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
async fn diff_runs(args: &DiffArgs) -> Result<u8> {
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
fn judge_recording(args: &JudgeArgs) -> Result<u8> {
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
    let catalogue = load_catalogue(&args.probes)?;
    catalogue.validate_config(&cfg, &origin)?;
    for path in &args.out {
        if Format::from_path(path).is_none() {
            bail!("--out {}: unknown extension", path.display());
        }
    }
    let report = recording.judge(&cfg, &catalogue, &shown);
    for path in &args.out {
        let format = Format::from_path(path).unwrap_or(Format::Json);
        report::write_atomic(path, &report::render(&report, format, false))
            .with_context(|| format!("--out {}: cannot write the report", path.display()))?;
    }
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal();
    print!("{}", report::render(&report, args.format, color));
    let failures = scoring::gate_failures(&report, &cfg.gate);
    for failure in &failures {
        eprintln!("readyprobe: gate failed: {failure}");
    }
    Ok(if failures.is_empty() {
        exit::PASSED
    } else {
        exit::GATE_FAILED
    })
}

/// `readyprobe serve`.
async fn serve(args: ServeArgs) -> Result<u8> {
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
        Some(path) => load_ca_file(path)?,
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
fn config_command(command: &ConfigCommand) -> Result<u8> {
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
            load_catalogue(probes)?.validate_config(&cfg, &origin)?;
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
async fn run_proxy(args: ProxyArgs) -> Result<u8> {
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
