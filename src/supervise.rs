//! Supervised runs: readyprobe starts the service itself (`[supervise] command`), waits until it
//! is ready, audits it, and then proves what only the owner of the process can prove — that it
//! drains in-flight requests on SIGTERM (`ops.graceful_shutdown`) and that it refuses to start
//! with an invalid configuration (`ops.fail_fast_config`). It also owns the fault proxies
//! (`[[fault.proxy]]`), which must be listening before the service dials its dependencies, and
//! the post-run log canaries (`[logs]`).
//!
//! What it must not do: leave anything behind. The service runs in its own process group; every
//! exit path (success, error, panic unwinding, a dropped future) kills the group and reaps the
//! child, and every proxy is stopped when the [`Session`] is dropped. It never signals a process
//! it did not start.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use crate::config::{Config, SuperviseConfig};
use crate::engine::{self, Audit, EngineError, RunOutput, join_path};
use crate::fault_proxy::{FaultProxy, ProxyError};
use crate::observations::Probed;
use crate::observations::fault::Poll;
use crate::observations::http::RequestSpec;
use crate::probes::ProbeCx;
use crate::probes::fault;
use crate::probes::http::{self, ClientOptions};
use crate::probes::logs::{self, LogReader};
// The captured output moved beside the log probe that reads it (supervise writes it).
pub use crate::observations::process::{
    FailFastObservation, InFlightRequest, ServiceExit, ShutdownObservation, StartupObservation,
    format_ms, signal_name,
};
pub use crate::probes::logs::CapturedOutput;

/// Time between readiness polls while waiting for the service to start, and during shutdown.
const READY_POLL: Duration = Duration::from_millis(100);
/// Head start the in-flight requests get before SIGTERM, so they are on the wire.
const IN_FLIGHT_HEAD_START: Duration = Duration::from_millis(300);
/// Without a readiness URL, a service still running after this long counts as started.
const SETTLE_WITHOUT_READINESS: Duration = Duration::from_millis(500);
/// How long a killed process group is given to disappear.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the supervised run could not start.
#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    /// The command could not be started (no such program, not executable).
    #[error("supervise.command: cannot start {program:?}: {reason}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        reason: String,
    },
    /// The service exited before it became ready.
    #[error(
        "supervise.command: the service exited ({status}) {after} after it started, before it was ready{tail}"
    )]
    Exited {
        /// `status 3`, `signal 9`.
        status: String,
        /// How long it ran.
        after: String,
        /// `; last output: …` or empty.
        tail: String,
    },
    /// The service did not become ready in time.
    #[error(
        "supervise.readiness_url: {url} was not ready within {after} (last: {last}); the service was stopped"
    )]
    NotReady {
        /// The readiness URL.
        url: String,
        /// The startup timeout.
        after: String,
        /// The last answer or error.
        last: String,
    },
    /// A fault proxy could not start.
    #[error(transparent)]
    Proxy(#[from] ProxyError),
}

impl SuperviseError {
    /// True when the configuration itself is wrong (exit 2), false when the service misbehaved
    /// (exit 3: the target could not be brought up).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            SuperviseError::Spawn { .. } | SuperviseError::Proxy(_)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Captured output

async fn pump<R: AsyncRead + Unpin>(reader: R, out: CapturedOutput) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => out.push(
                String::from_utf8_lossy(&buf)
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signals (unix: the service runs in its own process group)

#[cfg(unix)]
mod sig {
    /// SIGTERM.
    pub const TERM: i32 = libc::SIGTERM;
    /// SIGKILL.
    pub const KILL: i32 = libc::SIGKILL;

    /// Sends `signal` to one process.
    pub fn process(pid: u32, signal: i32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) with a pid we spawned; no memory is shared.
        unsafe { libc::kill(pid, signal) == 0 }
    }

    /// Sends `signal` to the process group led by `pid`.
    pub fn group(pid: u32, signal: i32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: kill(2) on the group our child leads (it was started with process_group(0)).
        unsafe { libc::kill(-pid, signal) == 0 }
    }

    /// True while a process with this pid exists (zombies included).
    pub fn exists(pid: u32) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks for existence.
        unsafe { libc::kill(pid, 0) == 0 }
    }

    /// The signal that ended a process, if any.
    pub fn of(status: &std::process::ExitStatus) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
}

#[cfg(not(unix))]
mod sig {
    pub const TERM: i32 = 15;
    pub const KILL: i32 = 9;
    pub fn process(_pid: u32, _signal: i32) -> bool {
        false
    }
    pub fn group(_pid: u32, _signal: i32) -> bool {
        false
    }
    pub fn exists(_pid: u32) -> bool {
        false
    }
    pub fn of(_status: &std::process::ExitStatus) -> Option<i32> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// The service process

fn describe_status(status: &std::process::ExitStatus) -> String {
    match (status.code(), sig::of(status)) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}{}", signal_name(signal)),
        (None, None) => "unknown status".to_string(),
    }
}

/// One started service process, in its own process group. Dropping it kills the group.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pid: u32,
    started: Instant,
    output: CapturedOutput,
    pumps: Vec<JoinHandle<()>>,
    exited: Option<std::process::ExitStatus>,
}

impl Service {
    /// Starts `cfg.command` with `cfg.env`, then `overrides` on top.
    pub fn spawn(
        cfg: &SuperviseConfig,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Service, SuperviseError> {
        let (program, args) = cfg
            .command
            .split_first()
            .ok_or_else(|| SuperviseError::Spawn {
                program: String::new(),
                reason: "supervise.command is empty".to_string(),
            })?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(&cfg.env)
            .envs(overrides)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(|e| SuperviseError::Spawn {
            program: program.clone(),
            reason: e.to_string(),
        })?;
        let Some(pid) = child.id() else {
            return Err(SuperviseError::Spawn {
                program: program.clone(),
                reason: "the process ended before its pid could be read".to_string(),
            });
        };
        let output = CapturedOutput::default();
        let mut pumps = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(stdout, output.clone())));
        }
        if let Some(stderr) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(stderr, output.clone())));
        }
        tracing::info!(pid, program = %program, "supervised service started");
        Ok(Service {
            child,
            pid,
            started: Instant::now(),
            output,
            pumps,
            exited: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its captured stdout and stderr.
    pub fn output(&self) -> &CapturedOutput {
        &self.output
    }

    /// The exit status if it has exited (reaps it).
    fn try_exited(&mut self) -> Option<std::process::ExitStatus> {
        if self.exited.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exited = Some(status);
        }
        self.exited
    }

    /// Waits up to `limit` for the process to exit.
    async fn wait_for(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        if let Some(status) = self.exited {
            return Some(status);
        }
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.exited = Some(status);
                Some(status)
            }
            Ok(Err(_)) | Err(_) => None,
        }
    }

    /// Kills the whole process group and reaps the child.
    async fn kill(&mut self) {
        sig::group(self.pid, sig::KILL);
        if self.exited.is_none() {
            let _ = self.child.start_kill();
        }
        let _ = self.wait_for(REAP_TIMEOUT).await;
        self.finish_pumps().await;
    }

    async fn finish_pumps(&mut self) {
        for pump in std::mem::take(&mut self.pumps) {
            let abort = pump.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), pump)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    /// Waits until the service answers 2xx on `readiness` (or, without one, is still running
    /// after a short settle). Fails when it exits first or `timeout` passes.
    async fn wait_ready(
        &mut self,
        cfg: &Config,
        readiness: Option<&Url>,
    ) -> Result<(), SuperviseError> {
        let timeout = cfg.supervise.startup_timeout;
        let Some(url) = readiness else {
            tokio::time::sleep(SETTLE_WITHOUT_READINESS).await;
            return match self.try_exited() {
                Some(status) => {
                    self.finish_pumps().await;
                    Err(self.exited_error(&status))
                }
                None => Ok(()),
            };
        };
        loop {
            if let Some(status) = self.try_exited() {
                {
                    // Read what it printed before dying: the reason is usually there.
                    self.finish_pumps().await;
                    return Err(self.exited_error(&status));
                }
            }
            let last = match readiness_poll(cfg, url).await {
                Ok(status) if (200..300).contains(&status) => return Ok(()),
                Ok(status) => format!("status {status}"),
                Err(err) => err,
            };
            if self.started.elapsed() >= timeout {
                self.kill().await;
                return Err(SuperviseError::NotReady {
                    url: crate::redact::url(url),
                    after: humantime::format_duration(timeout).to_string(),
                    last,
                });
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    fn exited_error(&self, status: &std::process::ExitStatus) -> SuperviseError {
        let tail = self.output.tail(3);
        SuperviseError::Exited {
            status: describe_status(status),
            after: secs(self.started.elapsed()),
            tail: if tail.is_empty() {
                String::new()
            } else {
                format!("; last output: {tail}")
            },
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.exited.is_none() {
            sig::group(self.pid, sig::KILL);
        }
        // kill_on_drop kills the child and tokio reaps it in the background.
        for pump in &self.pumps {
            pump.abort();
        }
    }
}

/// `420 ms`, `3 s`, `12.5 s`.
pub fn secs(d: Duration) -> String {
    format_ms(d.as_millis() as u64)
}

/// One readiness request with a client that trusts `run.ca_file` as it is *now* (a supervised
/// service may write its CA at start). Only decides when to start; the audit verifies TLS.
async fn readiness_poll(cfg: &Config, url: &Url) -> Result<u16, String> {
    let mut roots: Vec<CertificateDer<'static>> = Vec::new();
    if let Some(path) = &cfg.run.ca_file
        && let Ok(bytes) = std::fs::read(path)
    {
        roots.extend(CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok));
    }
    let client = http::client(&ClientOptions {
        timeout: Duration::from_secs(2),
        extra_roots: roots,
        user_agent: cfg.run.user_agent.clone(),
    })?;
    match client.get(url.clone()).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(err) => Err(crate::probes::error_chain(&err)),
    }
}

// ---------------------------------------------------------------------------------------------
// Observations

// ---------------------------------------------------------------------------------------------
// The session

/// Everything a supervised audit started: the fault proxies and the service. Dropping it stops
/// them all.
#[derive(Debug)]
pub struct Session {
    proxies: Arc<Vec<Arc<FaultProxy>>>,
    service: Option<Service>,
    readiness: Option<Url>,
    /// How long the service took to become ready.
    started_in: Option<Duration>,
}

impl Session {
    /// Starts the configured fault proxies, then the supervised service, and waits until it is
    /// ready. With neither configured this starts nothing.
    pub async fn start(cfg: &Config) -> Result<Session, SuperviseError> {
        Session::start_with(cfg, Vec::new()).await
    }

    /// [`Session::start`] with proxies the caller already started (the `--demo` database's).
    pub async fn start_with(
        cfg: &Config,
        started: Vec<FaultProxy>,
    ) -> Result<Session, SuperviseError> {
        let mut proxies: Vec<Arc<FaultProxy>> = started.into_iter().map(Arc::new).collect();
        // Remote proxies (`control = …`) run elsewhere; the fault step drives them.
        for p in &cfg.fault.proxy {
            if let Some(crate::config::ProxyPlace::Local { listen, upstream }) = p.place() {
                proxies.push(Arc::new(
                    FaultProxy::start(&p.name, listen, upstream).await?,
                ));
            }
        }
        let readiness = cfg
            .supervise
            .readiness_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok());
        let mut started_in = None;
        let service = if cfg.supervise.is_enabled() {
            let mut service = Service::spawn(&cfg.supervise, &BTreeMap::new())?;
            service.wait_ready(cfg, readiness.as_ref()).await?;
            started_in = Some(service.started.elapsed());
            Some(service)
        } else {
            None
        };
        Ok(Session {
            proxies: Arc::new(proxies),
            service,
            readiness,
            started_in,
        })
    }

    /// The supervised service's pid, if one runs.
    pub fn pid(&self) -> Option<u32> {
        self.service.as_ref().map(Service::pid)
    }

    /// Runs the audit with the proxies available to the fault step, then the post-run checks
    /// (log canaries, graceful shutdown, fail-fast), and re-judges the report with them.
    pub async fn run(mut self, audit: &Audit) -> Result<RunOutput, EngineError> {
        let mut out = fault::with_proxies(Arc::clone(&self.proxies), engine::run(audit)).await?;
        let cfg = &audit.config;
        let needs_post = cfg.supervise.is_enabled() || cfg.logs.source.is_some();
        if !needs_post {
            return Ok(out);
        }
        let post_started = Instant::now();
        if let Some(took) = self.started_in {
            out.observations.startup = Probed::Observed(StartupObservation {
                readiness: self.readiness.as_ref().map(crate::redact::url),
                ready_ms: took.as_millis() as u64,
            });
        }
        let cx = post_cx(audit)?;
        let active = cfg.profile.allows_active();
        let mut scope = Vec::new();

        if let Some(source) = &cfg.logs.source {
            let captured = self.service.as_ref().map(|s| s.output().clone());
            out.observations.logs = match LogReader::from_config(source, captured.as_ref()) {
                Some(reader) => match logs::canaries(&cx, audit, &reader).await {
                    Ok(obs) => Probed::Observed(obs),
                    Err(reason) => Probed::Failed(reason),
                },
                None => Probed::Skipped("no supervised process to read logs from".to_string()),
            };
        }

        if let Some(mut service) = self.service.take() {
            let pid = service.pid();
            if active {
                out.observations.shutdown = Probed::Observed(
                    shutdown(&cx, audit, &mut service, self.readiness.as_ref()).await,
                );
                scope.push(format!(
                    "Supervised: readyprobe started `{}` (pid {pid}), audited it, then sent SIGTERM with {} request(s) in flight.",
                    cfg.supervise.command.join(" "),
                    cfg.supervise.in_flight
                ));
            } else {
                sig::process(pid, sig::TERM);
                if service.wait_for(cfg.supervise.grace_period).await.is_none() {
                    service.kill().await;
                }
                scope.push(format!(
                    "Supervised: readyprobe started `{}` (pid {pid}) and stopped it; shutdown checks are active and were not run under the {} profile.",
                    cfg.supervise.command.join(" "),
                    cfg.profile.as_str()
                ));
            }
            service.kill().await;
            drop(service);
            if active && !cfg.supervise.invalid_env.is_empty() {
                out.observations.fail_fast = match fail_fast(cfg, self.readiness.as_ref()).await {
                    Ok(obs) => Probed::Observed(obs),
                    Err(reason) => Probed::Failed(reason),
                };
            } else if cfg.supervise.invalid_env.is_empty() {
                out.observations.fail_fast = Probed::Skipped(
                    "no [supervise] invalid_env is configured to start the service with"
                        .to_string(),
                );
            }
        }

        rejudge(&mut out, audit, &cx, post_started, scope);
        Ok(out)
    }
}

/// A probe context for the checks that run after the engine's run.
fn post_cx(audit: &Audit) -> Result<ProbeCx, EngineError> {
    let run = &audit.config.run;
    let sup = &audit.config.supervise;
    let client = http::client(&ClientOptions {
        timeout: run.timeout,
        extra_roots: audit.extra_roots.clone(),
        user_agent: run.user_agent.clone(),
    })
    .map_err(EngineError::Client)?;
    let budget = sup.grace_period
        + sup.fail_fast_within
        + audit.config.logs.settle
        + run.timeout * 3
        + Duration::from_secs(10);
    Ok(ProbeCx {
        net: crate::probes::net::NetCx::standalone(run, &audit.extra_roots),
        client,
        limit: Arc::new(Semaphore::new(
            run.concurrency.max(sup.in_flight as usize + 1),
        )),
        timeout: run.timeout,
        deadline: Instant::now() + budget,
        requests: Arc::new(AtomicU64::new(0)),
        max_requests: run.max_requests,
        max_body: run.max_body_bytes,
        extra_headers: audit.headers.clone(),
        redactor: audit.redactor.clone(),
        answered: Arc::new(AtomicBool::new(false)),
        // The supervised steps run on their own counter, outside the audit's phases.
        share: None,
    })
}

/// Judges again with the post-run observations and updates the report's scores and totals.
fn rejudge(
    out: &mut RunOutput,
    audit: &Audit,
    cx: &ProbeCx,
    post_started: Instant,
    scope: Vec<String>,
) {
    let mut findings = engine::judge(
        &out.observations,
        &audit.config,
        &audit.catalogue,
        &audit.redactor,
    );
    crate::config::gate::apply_waivers(
        &mut findings,
        &audit.config.waivers,
        &crate::config::gate::today(),
    );
    let scores = crate::scoring::score(&findings, &audit.config.scoring, &crate::checks::weight);
    let report = &mut out.report;
    report.findings = findings;
    scores.apply_to(report);
    report.requests_sent += cx.requests_sent();
    report.duration_ms += post_started.elapsed().as_millis() as u64;
    report.finished_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    report.scope.extend(scope);
}

/// Sends SIGTERM with requests in flight and records what happened.
async fn shutdown(
    cx: &ProbeCx,
    audit: &Audit,
    service: &mut Service,
    readiness: Option<&Url>,
) -> ShutdownObservation {
    let sup = &audit.config.supervise;
    let url = join_path(&audit.target, sup.slow_path.as_deref().unwrap_or("/"));
    let shown = format!("GET {}", crate::redact::url(&url));
    let signal_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mut requests = Vec::new();
    for _ in 0..sup.in_flight {
        let cx = cx.clone();
        let spec = RequestSpec::get(url.clone());
        let signal_at = Arc::clone(&signal_at);
        requests.push(tokio::spawn(async move {
            let result = http::send(&cx, &spec).await;
            let finished = Instant::now();
            let at = *signal_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let finished_ms = match at {
                Some(at) if finished >= at => (finished - at).as_millis() as i64,
                Some(at) => -((at - finished).as_millis() as i64),
                None => -1,
            };
            (
                finished_ms,
                result.map(|ex| ex.status).map_err(|e| e.to_string()),
            )
        }));
    }
    tokio::time::sleep(IN_FLIGHT_HEAD_START).await;

    let sent = Instant::now();
    *signal_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sent);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = readiness.cloned().map(|url| {
        let cx = cx.clone();
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut polls = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let poll = match tokio::time::timeout(Duration::from_secs(1), http::get(&cx, &url))
                    .await
                {
                    Ok(Ok(ex)) => Poll {
                        at_ms: sent.elapsed().as_millis() as u64,
                        status: Some(ex.status),
                        error: None,
                    },
                    Ok(Err(err)) => Poll {
                        at_ms: sent.elapsed().as_millis() as u64,
                        status: None,
                        error: Some(err.to_string()),
                    },
                    Err(_) => Poll {
                        at_ms: sent.elapsed().as_millis() as u64,
                        status: None,
                        error: Some("no answer within 1 s".to_string()),
                    },
                };
                polls.push(poll);
                tokio::time::sleep(READY_POLL).await;
            }
            polls
        })
    });
    sig::process(service.pid(), sig::TERM);
    let exit = match service.wait_for(sup.grace_period).await {
        Some(status) => ServiceExit::Exited {
            after_ms: sent.elapsed().as_millis() as u64,
            code: status.code(),
            signal: sig::of(&status),
        },
        None => {
            let after_ms = sent.elapsed().as_millis() as u64;
            service.kill().await;
            ServiceExit::Killed { after_ms }
        }
    };
    stop.store(true, Ordering::SeqCst);
    // Whatever the process left behind in its group goes too.
    sig::group(service.pid(), sig::KILL);
    let mut readiness_polls = match poller {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let ended = match exit {
        ServiceExit::Exited { after_ms, .. } | ServiceExit::Killed { after_ms } => after_ms,
    };
    readiness_polls.retain(|p| p.at_ms <= ended + 1000);
    let mut in_flight = Vec::new();
    for task in requests {
        let (finished_ms, result) = task
            .await
            .unwrap_or((0, Err("the request task ended abnormally".to_string())));
        in_flight.push(match result {
            Ok(status) => InFlightRequest {
                request: shown.clone(),
                finished_ms,
                status: Some(status),
                error: None,
            },
            Err(error) => InFlightRequest {
                request: shown.clone(),
                finished_ms,
                status: None,
                error: Some(error),
            },
        });
    }
    let pid = service.pid();
    let pid_gone = wait_gone(pid).await;
    ShutdownObservation {
        pid,
        grace_period_ms: sup.grace_period.as_millis() as u64,
        requests: in_flight,
        readiness: readiness.map(crate::redact::url),
        readiness_polls,
        exit,
        pid_gone,
    }
}

/// Waits (bounded) until no process with `pid` exists.
async fn wait_gone(pid: u32) -> bool {
    let until = Instant::now() + REAP_TIMEOUT;
    while sig::exists(pid) {
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Starts the service again with `invalid_env` and records whether it refused to run.
async fn fail_fast(cfg: &Config, readiness: Option<&Url>) -> Result<FailFastObservation, String> {
    let sup = &cfg.supervise;
    let mut service = Service::spawn(sup, &sup.invalid_env).map_err(|e| e.to_string())?;
    let within = sup.fail_fast_within;
    let started = Instant::now();
    let status = service.wait_for(within).await;
    let (exit, readiness_poll) = match status {
        Some(status) => (
            ServiceExit::Exited {
                after_ms: started.elapsed().as_millis() as u64,
                code: status.code(),
                signal: sig::of(&status),
            },
            None,
        ),
        None => {
            let after_ms = started.elapsed().as_millis() as u64;
            let poll = match readiness {
                Some(url) => {
                    let at = Instant::now();
                    let result = readiness_poll(cfg, url).await;
                    Some(Poll {
                        at_ms: after_ms + at.elapsed().as_millis() as u64,
                        status: result.as_ref().ok().copied(),
                        error: result.err(),
                    })
                }
                None => None,
            };
            (ServiceExit::Killed { after_ms }, poll)
        }
    };
    service.kill().await;
    let last_output = service.output().tail(2);
    let pid = service.pid();
    drop(service);
    let _ = wait_gone(pid).await;
    Ok(FailFastObservation {
        variables: sup.invalid_env.keys().cloned().collect(),
        within_ms: within.as_millis() as u64,
        exit,
        last_output,
        readiness: readiness_poll,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_naturally() {
        assert_eq!(format_ms(10_000), "10 s");
        assert_eq!(format_ms(420), "420 ms");
        assert_eq!(format_ms(1250), "1.25 s");
        assert_eq!(format_ms(12_345), "12.3 s");
    }

    #[test]
    fn captured_output_keeps_order_and_tail() {
        let out = CapturedOutput::default();
        out.push("one".into());
        out.push("two".into());
        out.push(String::new());
        out.push("three".into());
        assert_eq!(out.line_count(), 4);
        assert_eq!(out.lines_since(1), vec!["two", "", "three"]);
        assert_eq!(out.tail(2), "two | three");
    }

    #[tokio::test]
    async fn missing_program_is_a_config_error() {
        let cfg = SuperviseConfig {
            command: vec!["/nonexistent/readyprobe-test-binary".into()],
            ..SuperviseConfig::default()
        };
        let err = Service::spawn(&cfg, &BTreeMap::new()).unwrap_err();
        assert!(err.is_config());
        assert!(
            err.to_string().starts_with(
                "supervise.command: cannot start \"/nonexistent/readyprobe-test-binary\""
            ),
            "{err}"
        );
    }
}
