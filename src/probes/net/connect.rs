//! Opening connections: resolve with the run's resolver, take a slot of the per-address
//! connection limit, connect TCP, then TLS.
//!
//! The slot is a semaphore permit owned by the socket itself ([`Limited`]): it is given back when
//! the socket is closed, however that happens (the server hung up, the pool evicted it, a probe
//! was cut by its deadline), so the count of open connections to an address can never drift.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

use super::NetError;
use super::pool::{Pool, Slot};
use super::resolve::RunResolver;

/// A socket holding its slot of the per-address connection limit until it is dropped.
#[derive(Debug)]
pub struct Limited<T> {
    inner: T,
    _slot: Slot,
}

impl<T> Limited<T> {
    /// Wraps a socket with the slot it holds.
    pub fn new(inner: T, slot: Slot) -> Limited<T> {
        Limited { inner, _slot: slot }
    }

    /// The wrapped socket.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped socket, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Limited<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Limited<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A TCP connection that counts against the limit of its address.
pub type LimitedTcp = Limited<TcpStream>;

/// A connection to an HTTP server: plain, or TLS over TCP.
#[derive(Debug)]
pub enum Stream {
    /// `http://`.
    Plain(LimitedTcp),
    /// `https://`.
    Tls(Box<TlsStream<LimitedTcp>>),
}

impl Stream {
    /// The negotiated ALPN protocol was `h2`.
    pub fn is_h2(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(tls) => tls.get_ref().1.alpn_protocol() == Some(b"h2"),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// A TCP connection to `host:port` under the per-address limit, and how long it waited for a
/// slot. Each resolved address is tried in turn.
pub async fn tcp(
    pool: &Arc<Pool>,
    resolver: &RunResolver,
    host: &str,
    port: u16,
) -> Result<(LimitedTcp, Duration), NetError> {
    let ips = resolver.lookup(host).await.map_err(NetError::Resolve)?;
    let mut queued = Duration::ZERO;
    let mut last: Option<io::Error> = None;
    for ip in ips.iter() {
        let addr = SocketAddr::new(*ip, port);
        let waited = Instant::now();
        let slot = pool.slot(addr).await;
        queued += waited.elapsed();
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok((Limited::new(tcp, slot), queued));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(NetError::Connect(match last {
        Some(e) => crate::probes::error_chain(&e),
        None => format!("{host}: no address to connect to"),
    }))
}

/// The TLS handshake over `tcp`, verifying the server as `config` says.
pub async fn tls(
    tcp: LimitedTcp,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<Stream, NetError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(bare.to_string())
        .map_err(|e| NetError::Tls(format!("{bare:?} is not a valid TLS server name: {e}")))?;
    match tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
    {
        Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
        Err(e) if super::trust::is_certificate_rejection(&e) => {
            Err(NetError::CertificateRejected(tls_reason(&e)))
        }
        Err(e) => Err(NetError::Tls(tls_reason(&e))),
    }
}

/// rustls errors arrive wrapped in an `io::Error`; the message is the rustls one.
fn tls_reason(err: &io::Error) -> String {
    let chain = crate::probes::error_chain(err);
    if chain.contains("certificate") || chain.contains("handshake") || chain.contains("peer") {
        chain
    } else {
        format!("handshake: {chain}")
    }
}
