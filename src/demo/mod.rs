//! The embedded demo target.
//!
//! `readyprobe audit --demo` needs something to audit that everyone has: this module starts a small
//! "orders" web service in-process, on 127.0.0.1 with random ports, behind real HTTPS (an in-memory
//! CA and a server certificate made at start) and a plain-HTTP listener. The audit then probes it
//! exactly as it would probe a remote host — same client, same TLS handshake, same checks. The
//! same service runs standalone with `readyprobe demo --listen ADDR --profile flawed|hardened`, so
//! people can point other tools at it.
//!
//! Two profiles show the two ends of the scale: [`DemoProfile::Flawed`] behaves like the services
//! hand-written production-readiness audits keep finding (version banners, stack traces, an exposed
//! `.env`, a readiness endpoint that checks nothing, content over plain HTTP), and
//! [`DemoProfile::Hardened`] does what those audits recommend (security headers, problem+json
//! errors, gzip, ETags, a readiness endpoint that really dials its dependency).
//!
//! **This must stay an honest server.** Every finding readyprobe reports against the demo has to
//! come from real behaviour observed over the network — never from a canned report, a special
//! header, or knowledge that the client is readyprobe. If the demo wants a finding to appear, it
//! has to actually behave that way (and the reverse: a hardened behaviour must really be there).
//! That keeps the demo a fair end-to-end test of the probes and checks.
//!
//! Layout: `pki` makes the CA and certificate, `serve` runs the accept loops, `flawed` and
//! `hardened` are the two applications, `app` holds what they share, and `dependency` is the tiny
//! in-process "database" the readiness endpoint dials.

mod access_log;
mod app;
mod dependency;
mod flawed;
mod hardened;
mod pki;
mod serve;
mod telemetry;
#[cfg(test)]
mod tests;
pub mod tuning;

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

/// Which behaviour the demo shows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum DemoProfile {
    /// Behaves like a typical not-yet-ready service: many findings.
    #[default]
    Flawed,
    /// Behaves like a service that followed the audit's advice: few or no findings.
    Hardened,
}

impl DemoProfile {
    /// The lowercase name used on the command line and in reports (`flawed`, `hardened`).
    pub fn as_str(self) -> &'static str {
        match self {
            DemoProfile::Flawed => "flawed",
            DemoProfile::Hardened => "hardened",
        }
    }
}

impl fmt::Display for DemoProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to start the demo: profile and listen addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    /// Which behaviour to show.
    pub profile: DemoProfile,
    /// Where the HTTPS listener binds (port 0 picks a free port).
    pub https_listen: SocketAddr,
    /// Where the plain-HTTP listener binds (port 0 picks a free port).
    pub http_listen: SocketAddr,
    /// The address the application treats as its database. `None` starts a built-in TCP listener
    /// on 127.0.0.1 with a random port; `Some` lets a caller put something in between (a fault
    /// proxy) or point at a closed port to simulate an outage.
    pub dependency: Option<SocketAddr>,
}

impl DemoOptions {
    /// 127.0.0.1:0 for both listeners and the built-in dependency.
    pub fn ephemeral(profile: DemoProfile) -> DemoOptions {
        let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        DemoOptions {
            profile,
            https_listen: loopback,
            http_listen: loopback,
            dependency: None,
        }
    }
}

/// The shortest drain: long enough for a load balancer polling readiness to see the 503.
pub const DRAIN_MIN: Duration = Duration::from_secs(1);

/// A running demo target. Dropping it aborts every task; [`DemoTarget::shutdown`] stops it in order.
#[derive(Debug)]
pub struct DemoTarget {
    /// `https://127.0.0.1:PORT/` (the loopback address when listening on an unspecified address).
    pub https_url: Url,
    /// `http://127.0.0.1:PORT2/`.
    pub http_url: Url,
    /// PEM of the CA that signed the server certificate: trust this to verify the demo.
    pub ca_pem: String,
    /// DER of the same CA certificate.
    pub ca_der: CertificateDer<'static>,
    /// Which behaviour this instance shows.
    pub profile: DemoProfile,
    /// The address the application dials as its database (the built-in listener, or the one given
    /// in [`DemoOptions::dependency`]).
    pub dependency_addr: SocketAddr,
    state: app::AppState,
    shutdown_tx: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl DemoTarget {
    /// Drains like a well-behaved service on SIGTERM: readiness answers 503 at once, requests in
    /// flight complete (new ones are still served while the load balancer catches up), then the
    /// listeners stop — after at least [`DRAIN_MIN`], as soon as nothing is in flight, and never
    /// later than `max`.
    pub async fn drain(self, max: Duration) {
        self.state.begin_drain();
        access_log::event(
            &self.state,
            "SIGTERM received: readiness is now 503, draining",
        );
        let started = tokio::time::Instant::now();
        loop {
            let elapsed = started.elapsed();
            if (elapsed >= DRAIN_MIN && self.state.in_flight() == 0) || elapsed >= max {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        access_log::event(&self.state, "drained; exiting");
        self.shutdown().await;
    }

    /// Stops the listeners (ports are released when this returns) and ends open connections.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown_tx.take() {
            let _ = tx.send(true);
        }
        for task in std::mem::take(&mut self.tasks) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for DemoTarget {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The PostgreSQL dependency is unusable (bad URL, unknown host).
    #[error("demo dependency: {0}")]
    Database(String),
    /// A listener could not bind, e.g. `cannot listen on 127.0.0.1:8443: address in use`.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address that was asked for.
        addr: SocketAddr,
        /// A short human reason (`address in use`, `permission denied`, …).
        reason: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The bound listener's local address could not be read.
    #[error("cannot read the local address of the demo listener")]
    LocalAddr(#[source] io::Error),
    /// Generating the in-memory CA or server certificate failed.
    #[error("cannot generate the demo certificates")]
    Certificate(#[from] rcgen::Error),
    /// The TLS server configuration was rejected.
    #[error("cannot configure TLS for the demo")]
    Tls(#[from] rustls::Error),
    /// The URL of a listener could not be built.
    #[error("cannot build the demo URL")]
    Url(#[from] url::ParseError),
}

/// The demo's database when it is not the built-in listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoDependency {
    /// A TCP address that must accept connections (a fault proxy, a closed port).
    Tcp(SocketAddr),
    /// A real PostgreSQL: readiness runs `SELECT 1` on it (`postgres://user@host:port/db`).
    Postgres(Url),
}

/// Why `--dependency` / `READYPROBE_DEMO_DEPENDENCY` is not a usable database address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemoDependencyError {
    /// A `postgres://` value that does not parse as a URL.
    #[error("not a valid postgres:// URL ({reason})")]
    InvalidUrl {
        /// What the URL parser said (it never quotes the value).
        reason: String,
    },
    /// A `postgres://` URL without a host.
    #[error("the postgres:// URL has no host")]
    NoHost,
    /// Neither `IP:port` nor a `postgres://` URL.
    #[error("expected an IP:port address or a postgres:// URL, got {shown:?}")]
    NotAnAddress {
        /// The value, any password masked.
        shown: String,
    },
}

impl DemoDependency {
    /// Parses `host:port` or a `postgres://` URL; the error says which forms are accepted.
    pub fn parse(raw: &str) -> Result<DemoDependency, DemoDependencyError> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            let url = Url::parse(raw).map_err(|e| DemoDependencyError::InvalidUrl {
                reason: e.to_string(),
            })?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(DemoDependencyError::NoHost);
            }
            return Ok(DemoDependency::Postgres(url));
        }
        raw.parse::<SocketAddr>()
            .map(DemoDependency::Tcp)
            .map_err(|_| DemoDependencyError::NotAnAddress {
                shown: crate::redact::url_str(raw),
            })
    }
}

/// What the standalone demo adds to [`DemoOptions`]: its database and its access log.
#[derive(Debug, Clone, Default)]
pub struct DemoExtras {
    /// The database; `None` uses [`DemoOptions::dependency`] (or the built-in listener).
    pub dependency: Option<DemoDependency>,
    /// One log line per request on stdout, in the profile's style.
    pub access_log: bool,
    /// Every health endpoint takes this long to answer, like a health check doing slow work
    /// (`readyprobe demo --health-delay`); zero by default.
    pub health_delay: Duration,
}

/// Starts the demo target described by `opts` and returns once every listener accepts connections.
pub async fn start(opts: DemoOptions) -> Result<DemoTarget, DemoError> {
    start_with(opts, DemoExtras::default()).await
}

/// [`start`] with a database and an access log.
pub async fn start_with(opts: DemoOptions, extras: DemoExtras) -> Result<DemoTarget, DemoError> {
    let pki = pki::DemoPki::generate()?;
    start_with_pki(opts, extras, &pki).await
}

/// Starts `count` demo targets of `profile` on ephemeral loopback ports, all signed by one CA (so
/// one `--ca-file` trusts every one of them) — a fleet to benchmark `audit --targets` against.
/// Each target is a full, independent demo (its own listeners and dependency); only the PKI is
/// shared.
pub async fn start_many(profile: DemoProfile, count: usize) -> Result<Vec<DemoTarget>, DemoError> {
    let pki = pki::DemoPki::generate()?;
    let mut targets = Vec::with_capacity(count);
    for _ in 0..count {
        targets.push(
            start_with_pki(DemoOptions::ephemeral(profile), DemoExtras::default(), &pki).await?,
        );
    }
    Ok(targets)
}

/// Starts the demo with its built-in database behind a fault proxy named `database` (`audit
/// --demo`), so the `health.fault.*` checks have a real dependency to cut. The caller owns the
/// proxy; the database listener stops with the target.
pub async fn start_behind_proxy(
    profile: DemoProfile,
) -> Result<(DemoTarget, crate::fault_proxy::FaultProxy), DemoError> {
    let loopback = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let listener = serve::bind(loopback).await?;
    let database = listener.local_addr().map_err(DemoError::LocalAddr)?;
    let proxy = crate::fault_proxy::FaultProxy::start("database", loopback, &database.to_string())
        .await
        .map_err(|e| DemoError::Database(e.to_string()))?;
    let mut opts = DemoOptions::ephemeral(profile);
    opts.dependency = Some(proxy.listen_addr());
    let mut target = start(opts).await?;
    if let Some(tx) = &target.shutdown_tx {
        target
            .tasks
            .push(tokio::spawn(dependency::serve(listener, tx.subscribe())));
    }
    Ok((target, proxy))
}

async fn start_with_pki(
    opts: DemoOptions,
    extras: DemoExtras,
    pki: &pki::DemoPki,
) -> Result<DemoTarget, DemoError> {
    let tls_config = pki.server_config(opts.profile)?;

    let https = serve::bind(opts.https_listen).await?;
    let http = serve::bind(opts.http_listen).await?;
    let https_addr = https.local_addr().map_err(DemoError::LocalAddr)?;
    let http_addr = http.local_addr().map_err(DemoError::LocalAddr)?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let postgres = match &extras.dependency {
        Some(DemoDependency::Postgres(url)) => Some(postgres_dependency(url).await?),
        _ => None,
    };
    let tcp = match extras.dependency {
        Some(DemoDependency::Tcp(addr)) => Some(addr),
        _ => opts.dependency,
    };
    let dependency_addr = match (&postgres, tcp) {
        (Some((_, addr)), _) => *addr,
        (None, Some(addr)) => addr,
        (None, None) => {
            let listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
            let listener = serve::bind(listen).await?;
            let addr = listener.local_addr().map_err(DemoError::LocalAddr)?;
            tasks.push(tokio::spawn(dependency::serve(
                listener,
                shutdown_rx.clone(),
            )));
            addr
        }
    };

    let dependency = match postgres {
        Some((dependency, _)) => dependency,
        None => dependency::Dependency::Tcp(dependency_addr),
    };
    let state =
        app::AppState::with(dependency, extras.access_log).with_health_delay(extras.health_delay);
    let (https_app, http_app) = match opts.profile {
        DemoProfile::Flawed => {
            let app = flawed::router(state.clone()).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                access_log::flawed,
            ));
            (app.clone(), app)
        }
        DemoProfile::Hardened => (
            hardened::router(state.clone()).layer(axum::middleware::from_fn_with_state(
                state.clone(),
                access_log::hardened,
            )),
            hardened::redirect_router(https_addr.port()),
        ),
    };
    let http2 = opts.profile == DemoProfile::Hardened;
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
    tasks.push(tokio::spawn(serve::accept_loop(
        https,
        Some(acceptor),
        https_app,
        serve::connection_builder(http2),
        shutdown_rx.clone(),
    )));
    tasks.push(tokio::spawn(serve::accept_loop(
        http,
        None,
        http_app,
        serve::connection_builder(true),
        shutdown_rx,
    )));

    tracing::debug!(
        profile = opts.profile.as_str(),
        %https_addr,
        %http_addr,
        %dependency_addr,
        "demo target started"
    );

    Ok(DemoTarget {
        https_url: Url::parse(&format!("https://{}/", reachable(https_addr)))?,
        http_url: Url::parse(&format!("http://{}/", reachable(http_addr)))?,
        ca_pem: pki.ca_pem.clone(),
        ca_der: pki.ca_der.clone(),
        profile: opts.profile,
        dependency_addr,
        state,
        shutdown_tx: Some(shutdown_tx),
        tasks,
    })
}

/// A lazily connecting pool for the PostgreSQL dependency, and its address.
async fn postgres_dependency(url: &Url) -> Result<(dependency::Dependency, SocketAddr), DemoError> {
    let host = url.host_str().unwrap_or_default().to_string();
    let port = url.port().unwrap_or(5432);
    let shown = format!("{host}:{port}");
    let host_for_lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addr = tokio::net::lookup_host((host_for_lookup.as_str(), port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| DemoError::Database(format!("cannot resolve {shown}")))?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(dependency::QUERY_TIMEOUT)
        .connect_lazy(url.as_str())
        .map_err(|e| DemoError::Database(crate::redact::url_str(&e.to_string())))?;
    Ok((dependency::Dependency::Postgres { pool, shown }, addr))
}

/// The address a local client should dial for a listener bound to `addr`: an unspecified address
/// (`0.0.0.0`, `::`) becomes the matching loopback address, which the certificate covers.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}
