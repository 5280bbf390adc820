//! Listeners and accept loops: TCP (optionally TLS) connections served by hyper-util's auto
//! (HTTP/1.1 + HTTP/2) connection builder in front of an axum [`Router`].
//!
//! A connection that fails — garbage instead of a TLS ClientHello, a handshake that never
//! finishes, a client that resets mid-request — only ends that connection; the accept loop keeps
//! going. Connection tasks live in a [`JoinSet`] owned by the loop, so stopping the loop (or
//! aborting its task) ends them too.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::DemoError;

/// How long a client gets to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client gets to send the request head on HTTP/1.1.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The HTTP/2 header-list limit. Larger than the application's own 8 KiB rule so that oversized
/// headers reach the application and are answered by it, the same on HTTP/1.1 and HTTP/2.
const H2_MAX_HEADER_LIST: u32 = 64 * 1024;
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds a TCP listener, turning the error into a [`DemoError::Listen`] that names the address.
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, DemoError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| DemoError::Listen {
            addr,
            reason: describe_bind_error(&source),
            source,
        })
}

/// A short human reason for a bind failure.
fn describe_bind_error(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::AddrInUse => "address in use".to_owned(),
        io::ErrorKind::AddrNotAvailable => "address not available on this host".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// The connection builder: HTTP/1.1 and HTTP/2 when `http2`, HTTP/1.1 only otherwise.
pub(crate) fn connection_builder(http2: bool) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(H2_MAX_HEADER_LIST);
    if http2 { builder } else { builder.http1_only() }
}

/// Accepts connections on `listener` until `shutdown` changes (or its sender is dropped) and
/// serves `app` on each, through TLS when `tls` is set.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Router,
    builder: auto::Builder<TokioExecutor>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::debug!(error = %err, "demo: accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let tls = tls.clone();
                let app = app.clone();
                let builder = builder.clone();
                connections.spawn(async move {
                    match tls {
                        None => serve_connection(tcp, app, &builder, peer).await,
                        Some(acceptor) => {
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                                Ok(Ok(stream)) => serve_connection(stream, app, &builder, peer).await,
                                Ok(Err(err)) => {
                                    tracing::debug!(%peer, error = %err, "demo: TLS handshake failed");
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "demo: TLS handshake timed out");
                                }
                            }
                        }
                    }
                });
            }
        }
    }
    // Dropping `connections` aborts the connections still open.
}

/// Serves HTTP on one established connection; errors end only this connection.
async fn serve_connection<I>(
    io: I,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    peer: SocketAddr,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The client's address, for per-client limits (`ConnectInfo`, as `axum::serve` provides).
    let app = app.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
    let service = TowerToHyperService::new(app);
    if let Err(err) = builder
        .serve_connection_with_upgrades(TokioIo::new(io), service)
        .await
    {
        tracing::debug!(%peer, error = %err, "demo: connection ended with an error");
    }
}
