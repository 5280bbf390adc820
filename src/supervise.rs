//! Supervised runs: readyprobe starts the service itself (`[supervise] command`) and waits until
//! it is ready; the engine audits it and, in its last phase (`engine::run_supervised`), proves
//! what only the owner of the process can prove with [`shutdown`] and [`fail_fast`] — that it
//! drains in-flight requests on SIGTERM (`ops.graceful_shutdown`) and that it refuses to start
//! with an invalid configuration (`ops.fail_fast_config`). It also owns the fault proxies
//! (`[[fault.proxy]]`), which must be listening before the service dials its dependencies.
//!
//! What it must not do: leave anything behind. The service runs in its own process group; every
//! exit path (success, error, panic unwinding, a dropped future) kills the group and reaps the
//! child, and every proxy is stopped when the [`Session`] is dropped. It never signals a process
//! it did not start.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use crate::config::{Config, SuperviseConfig};
use crate::fault_proxy::{FaultProxy, ProxyError};

mod shutdown;
use crate::probes::http::{self, ClientOptions};
use crate::probes::logs::CapturedOutput;
pub use shutdown::{fail_fast, shutdown};
// The process observations live on the observation floor; re-exported for supervise's users.
pub use crate::observations::process::{
    FailFastObservation, InFlightRequest, ServiceExit, ShutdownObservation, StartupObservation,
    format_ms, signal_name,
};

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

    /// Sends SIGTERM and waits up to `grace` for the process to exit, then kills its group.
    pub async fn stop(&mut self, grace: Duration) {
        sig::process(self.pid, sig::TERM);
        if self.wait_for(grace).await.is_none() {
            self.kill().await;
        }
    }

    /// Kills the whole process group and reaps the child.
    pub async fn kill(&mut self) {
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
                Err(err) => err.to_string(),
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

/// The most requests the graceful-shutdown check sends: the in-flight requests, and one readiness
/// poll per [`READY_POLL`] through the grace period (plus one). The budget plan reserves them.
pub fn shutdown_requests(sup: &SuperviseConfig) -> u64 {
    let polls = sup
        .grace_period
        .as_millis()
        .div_ceil(READY_POLL.as_millis()) as u64
        + 1;
    u64::from(sup.in_flight) + polls
}

/// `420 ms`, `3 s`, `12.5 s`.
pub fn secs(d: Duration) -> String {
    format_ms(d.as_millis() as u64)
}

/// Why one readiness request of the supervisor got no status.
#[derive(Debug, thiserror::Error)]
pub enum ReadinessPollError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(#[from] http::ClientError),
    /// The request failed (its error chain).
    #[error("{0}")]
    Request(String),
}

/// One readiness request with a client that trusts `run.ca_file` as it is *now* (a supervised
/// service may write its CA at start). Only decides when to start; the audit verifies TLS.
async fn readiness_poll(cfg: &Config, url: &Url) -> Result<u16, ReadinessPollError> {
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
        Err(err) => Err(ReadinessPollError::Request(crate::probes::error_chain(
            &err,
        ))),
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

    /// The fault proxies, for the fault step (`probes::fault::with_proxies`).
    pub fn proxies(&self) -> Arc<Vec<Arc<FaultProxy>>> {
        Arc::clone(&self.proxies)
    }

    /// The supervised service's readiness URL, when one is configured.
    pub fn readiness(&self) -> Option<&Url> {
        self.readiness.as_ref()
    }

    /// How long the supervised service took to become ready, when one was started.
    pub fn startup(&self) -> Option<StartupObservation> {
        self.started_in.map(|took| StartupObservation {
            readiness: self.readiness.as_ref().map(crate::redact::url),
            ready_ms: took.as_millis() as u64,
        })
    }

    /// The supervised service's captured output, for the log canaries.
    pub fn captured_output(&self) -> Option<CapturedOutput> {
        self.service.as_ref().map(|s| s.output().clone())
    }

    /// Hands the service over to be shut down (the session then no longer owns it); `None` when
    /// no service was started or it was already taken.
    pub fn take_service(&mut self) -> Option<Service> {
        self.service.take()
    }
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
