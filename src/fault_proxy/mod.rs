//! The fault proxy: a TCP proxy readyprobe puts between a service and one of its dependencies,
//! so an audit can cut the dependency and watch the service react.
//!
//! A cut must be one no connection pool can hide: every live connection is reset (`SO_LINGER`
//! 0, so the peers see `RST`, not a polite `FIN` a pool might ride out) and the listening socket
//! is closed, so new connects are refused by the kernel (a connect-only health check notices it
//! too). [`FaultProxy::restore`] binds the same address again and lets traffic through. The proxy never reads or changes the bytes
//! it forwards, never retries on the client's behalf, and stops (releasing its port and every
//! connection) when it is dropped.
//!
//! A standalone proxy (`readyprobe proxy`) can also be driven from another host through its
//! [`control`] endpoint; [`remote`] is the audit's client for it.

pub mod control;
pub mod remote;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long the proxy waits for the upstream to accept a connection.
pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a proxy could not start or its upstream could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The listen address could not be bound.
    #[error("fault proxy {name}: cannot listen on {addr}: {source}")]
    Listen {
        /// The proxy's name.
        name: String,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The upstream did not accept a connection.
    #[error("fault proxy {name}: upstream {upstream} unreachable: {reason}")]
    Upstream {
        /// The proxy's name.
        name: String,
        /// `host:port`.
        upstream: String,
        /// Refused, timed out, no such host…
        reason: String,
    },
}

/// State shared between the handle and the accept loop.
#[derive(Debug)]
struct Shared {
    cut: AtomicBool,
    /// Bumped on every cut; each connection watches it and resets itself when it changes.
    generation: watch::Sender<u64>,
    /// True while cut; the accept loop closes its listener on true and binds again on false.
    state: watch::Sender<bool>,
    /// True while the accept loop holds a bound listener (it follows `state` asynchronously).
    listening: watch::Sender<bool>,
    /// Connections currently forwarded.
    live: AtomicU64,
    /// Connections accepted since start.
    accepted: AtomicU64,
}

/// A running fault proxy. Dropping it stops the accept loop and resets every connection.
#[derive(Debug)]
pub struct FaultProxy {
    name: String,
    listen: SocketAddr,
    upstream: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Binds `listen` and starts forwarding to `upstream` (`host:port`). The upstream is not
    /// dialled until a client connects: a dependency that is down at start is the service's
    /// problem to report, not the proxy's.
    pub async fn start(
        name: &str,
        listen: SocketAddr,
        upstream: &str,
    ) -> Result<FaultProxy, ProxyError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ProxyError::Listen {
                name: name.to_string(),
                addr: listen,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ProxyError::Listen {
            name: name.to_string(),
            addr: listen,
            source,
        })?;
        let (generation, _) = watch::channel(0u64);
        let (state, _) = watch::channel(false);
        let (listening, _) = watch::channel(true);
        let shared = Arc::new(Shared {
            cut: AtomicBool::new(false),
            generation,
            state,
            listening,
            live: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let task = tokio::spawn(accept_loop(
            listener,
            bound,
            upstream.to_string(),
            Arc::clone(&shared),
        ));
        Ok(FaultProxy {
            name: name.to_string(),
            listen: bound,
            upstream: upstream.to_string(),
            shared,
            task,
        })
    }

    /// The proxy's name (the dependency it stands for).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address the proxy listens on (the real port when 0 was asked for).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The upstream, `host:port`.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// Connections being forwarded right now.
    pub fn live_connections(&self) -> u64 {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Connections accepted since the proxy started.
    pub fn accepted_connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// True while the proxy is cut.
    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::SeqCst)
    }

    /// Cuts the dependency: resets every live connection and every new one until
    /// [`FaultProxy::restore`]. Returns how many live connections were reset.
    pub fn cut(&self) -> u64 {
        self.shared.cut.store(true, Ordering::SeqCst);
        let live = self.live_connections();
        self.shared.generation.send_modify(|g| *g += 1);
        self.shared.state.send_replace(true);
        live
    }

    /// [`FaultProxy::cut`], then waits (at most a second) until the listener is closed, so a
    /// connect made after this returns is refused rather than queued in the old backlog.
    pub async fn cut_and_settle(&self) -> u64 {
        let reset = self.cut();
        let mut listening = self.shared.listening.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(1), listening.wait_for(|l| !*l)).await;
        reset
    }

    /// Lets connections through again (the listener is bound again within milliseconds).
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
        self.shared.state.send_replace(false);
    }

    /// Dials the upstream directly (not through the proxy) to tell "the dependency is down" from
    /// "the proxy cut it".
    pub async fn check_upstream(&self) -> Result<Duration, ProxyError> {
        let started = tokio::time::Instant::now();
        match tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(&self.upstream))
            .await
        {
            Ok(Ok(stream)) => {
                drop(stream);
                Ok(started.elapsed())
            }
            Ok(Err(err)) => Err(self.upstream_error(crate::probes::error_chain(&err))),
            Err(_) => Err(self.upstream_error(format!(
                "no connection within {}",
                humantime::format_duration(UPSTREAM_CONNECT_TIMEOUT)
            ))),
        }
    }

    fn upstream_error(&self, reason: String) -> ProxyError {
        ProxyError::Upstream {
            name: self.name.clone(),
            upstream: self.upstream.clone(),
            reason,
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Aborting the loop drops its listener and its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

/// Resets a TCP connection: `SO_LINGER` 0 then close sends `RST` instead of `FIN`.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// What woke the accept loop.
enum Event {
    Joined,
    Cut(bool),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Stopped,
}

async fn accept_on(listener: &Option<TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: String,
    shared: Arc<Shared>,
) {
    let mut listener = Some(listener);
    let mut state = shared.state.subscribe();
    let mut connections = JoinSet::new();
    loop {
        let event = tokio::select! {
            Some(_) = connections.join_next(), if !connections.is_empty() => Event::Joined,
            changed = state.changed() => match changed {
                Ok(()) => Event::Cut(*state.borrow_and_update()),
                Err(_) => Event::Stopped,
            },
            accepted = accept_on(&listener) => Event::Accepted(accepted),
        };
        match event {
            Event::Joined => {}
            Event::Stopped => break,
            // Closing the listener makes the kernel refuse new connects (and reset the backlog).
            Event::Cut(true) => {
                listener = None;
                shared.listening.send_replace(false);
            }
            Event::Cut(false) => {
                while listener.is_none() && !shared.cut.load(Ordering::SeqCst) {
                    match TcpListener::bind(addr).await {
                        Ok(bound) => {
                            listener = Some(bound);
                            shared.listening.send_replace(true);
                        }
                        Err(err) => {
                            tracing::warn!(%addr, error = %err, "fault proxy: cannot listen again; retrying");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
            Event::Accepted(Err(err)) => {
                tracing::debug!(error = %err, "fault proxy: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Event::Accepted(Ok((client, _))) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                if shared.cut.load(Ordering::SeqCst) {
                    reset(client);
                    continue;
                }
                connections.spawn(forward(client, upstream.clone(), Arc::clone(&shared)));
            }
        }
    }
}

/// Counts a live connection for as long as it exists.
struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn forward(mut client: TcpStream, upstream: String, shared: Arc<Shared>) {
    let mut cut = shared.generation.subscribe();
    shared.live.fetch_add(1, Ordering::SeqCst);
    let _live = LiveGuard(Arc::clone(&shared));
    let dialled = tokio::select! {
        _ = cut.changed() => None,
        dialled = tokio::time::timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(&upstream)) => Some(dialled),
    };
    let mut server = match dialled {
        Some(Ok(Ok(server))) => server,
        Some(Ok(Err(err))) => {
            tracing::debug!(%upstream, error = %err, "fault proxy: upstream refused");
            reset(client);
            return;
        }
        Some(Err(_)) | None => {
            reset(client);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let cut_now = tokio::select! {
        _ = cut.changed() => true,
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
    };
    if cut_now || shared.cut.load(Ordering::SeqCst) {
        reset(client);
        reset(server);
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn echo_server() -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        (addr, task)
    }

    async fn roundtrip(addr: SocketAddr) -> io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut buf))
            .await
            .map_err(|_| io::Error::other("timeout"))??;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn forwards_cuts_with_reset_and_restores() {
        let (upstream, _server) = echo_server().await;
        let proxy = FaultProxy::start(
            "echo",
            "127.0.0.1:0".parse().unwrap(),
            &upstream.to_string(),
        )
        .await
        .unwrap();
        let addr = proxy.listen_addr();
        assert_eq!(roundtrip(addr).await.unwrap(), b"ping");

        // A live connection is reset by the cut.
        let mut live = TcpStream::connect(addr).await.unwrap();
        live.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        live.read_exact(&mut one).await.unwrap();
        assert_eq!(proxy.cut_and_settle().await, 1);
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(Duration::from_secs(2), live.read(&mut buf))
            .await
            .unwrap();
        assert!(
            matches!(&read, Err(e) if e.kind() == io::ErrorKind::ConnectionReset)
                || matches!(read, Ok(0)),
            "{read:?}"
        );
        // New connections are refused while cut.
        let refused = roundtrip(addr).await.unwrap_err();
        assert_eq!(
            refused.kind(),
            io::ErrorKind::ConnectionRefused,
            "{refused}"
        );

        // The listener comes back within milliseconds of the restore.
        proxy.restore();
        let mut back = None;
        for _ in 0..100 {
            if let Ok(echo) = roundtrip(addr).await {
                back = Some(echo);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(back.as_deref(), Some(&b"ping"[..]));
        assert!(proxy.check_upstream().await.is_ok());
    }

    #[tokio::test]
    async fn unreachable_upstream_is_named_and_clients_are_reset() {
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let proxy = FaultProxy::start("db", "127.0.0.1:0".parse().unwrap(), &closed.to_string())
            .await
            .unwrap();
        let err = proxy.check_upstream().await.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("fault proxy db: upstream {closed} unreachable")),
            "{err}"
        );
        assert!(roundtrip(proxy.listen_addr()).await.is_err());
    }

    #[tokio::test]
    async fn drop_releases_the_port() {
        let proxy = FaultProxy::start("x", "127.0.0.1:0".parse().unwrap(), "127.0.0.1:9")
            .await
            .unwrap();
        let addr = proxy.listen_addr();
        drop(proxy);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(std::net::TcpListener::bind(addr).is_ok());
    }
}
