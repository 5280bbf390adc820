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

mod app;
mod dependency;
mod flawed;
mod hardened;
mod pki;
mod serve;
#[cfg(test)]
mod tests;

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
    shutdown_tx: Option<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
}

impl DemoTarget {
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

/// Starts the demo target described by `opts` and returns once every listener accepts connections.
pub async fn start(opts: DemoOptions) -> Result<DemoTarget, DemoError> {
    let pki = pki::DemoPki::generate()?;
    let tls_config = pki.server_config(opts.profile)?;

    let https = serve::bind(opts.https_listen).await?;
    let http = serve::bind(opts.http_listen).await?;
    let https_addr = https.local_addr().map_err(DemoError::LocalAddr)?;
    let http_addr = http.local_addr().map_err(DemoError::LocalAddr)?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    let dependency_addr = match opts.dependency {
        Some(addr) => addr,
        None => {
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

    let state = app::AppState::new(dependency_addr);
    let (https_app, http_app) = match opts.profile {
        DemoProfile::Flawed => {
            let app = flawed::router(state);
            (app.clone(), app)
        }
        DemoProfile::Hardened => (
            hardened::router(state),
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
        ca_pem: pki.ca_pem,
        ca_der: pki.ca_der,
        profile: opts.profile,
        dependency_addr,
        shutdown_tx: Some(shutdown_tx),
        tasks,
    })
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
