//! Opening connections: resolve with the run's resolver, take a slot of the per-address
//! connection limit, connect TCP, then TLS.
//!
//! The slot is a semaphore permit owned by the socket itself ([`Limited`]): it is given back when
//! the socket is closed — and the server has seen it close — however that happens (the server
//! hung up, the pool evicted it, a probe was cut by its deadline), so the count of open
//! connections to an address can never drift above the limit, on either side.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::NetError;
use super::slot::Slot;

/// A TCP socket holding its slot of the per-address connection limit. Dropped, it closes its
/// side (FIN) and gives the slot back only once the server has closed too (or after [`LINGER`]):
/// a server counts a connection until it has seen it close, so a slot freed any earlier would let
/// a new connection in while the server still counts the old one.
#[derive(Debug)]
pub struct Limited {
    inner: Option<TcpStream>,
    slot: Option<Slot>,
}

/// The longest a closed connection keeps its slot while waiting for the server to close its side.
pub const LINGER: Duration = Duration::from_secs(1);

impl Limited {
    /// Wraps a socket with the slot it holds.
    pub fn new(inner: TcpStream, slot: Slot) -> Limited {
        Limited {
            inner: Some(inner),
            slot: Some(slot),
        }
    }

    fn socket(&mut self) -> io::Result<&mut TcpStream> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Drop for Limited {
    fn drop(&mut self) {
        let (Some(tcp), Some(slot)) = (self.inner.take(), self.slot.take()) else {
            return;
        };
        // Outside a runtime (the process is ending) the socket just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger(tcp, slot));
        }
    }
}

/// Closes our side, then waits (bounded) for the server to close its own, discarding what it
/// still sends, before the slot goes back.
async fn linger(mut tcp: TcpStream, slot: Slot) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(LINGER, async {
        let _ = tcp.shutdown().await;
        let mut buf = [0u8; 8192];
        let mut discarded = 0usize;
        while let Ok(n @ 1..) = tcp.read(&mut buf).await {
            discarded += n;
            if discarded > 256 * 1024 {
                break;
            }
        }
    })
    .await;
    drop(tcp);
    drop(slot);
}

impl AsyncRead for Limited {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.socket() {
            Ok(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Limited {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.socket() {
            Ok(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.socket() {
            Ok(tcp) => Pin::new(tcp).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.socket() {
            Ok(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.socket() {
            Ok(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.as_ref().is_some_and(|t| t.is_write_vectored())
    }
}

/// A TCP connection that counts against the limit of its address.
pub type LimitedTcp = Limited;

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
