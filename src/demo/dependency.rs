//! The demo's "database": a TCP listener that accepts connections and closes them. It speaks no
//! protocol; it exists so the application has a real dependency whose reachability can change
//! (stop it, or put a fault proxy in front of it) and the readiness endpoint has something to dial.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long the application waits for the dependency to accept a connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// Accepts and immediately closes connections until `shutdown` changes.
pub(crate) async fn serve(listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => drop(stream),
                Err(err) => {
                    tracing::debug!(error = %err, "demo dependency: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Why the dependency could not be reached, phrased without addresses (health bodies are public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// The connect did not complete within [`CONNECT_TIMEOUT`].
    TimedOut,
    /// The connect failed (refused, reset, no route …); the text is the OS reason.
    Failed(String),
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::TimedOut => write!(
                f,
                "connect timed out after {} ms",
                CONNECT_TIMEOUT.as_millis()
            ),
            Unreachable::Failed(reason) => write!(f, "connect failed: {reason}"),
        }
    }
}

/// Opens (and closes) a TCP connection to the dependency; returns how long the connect took.
pub(crate) async fn check(addr: SocketAddr) -> Result<Duration, Unreachable> {
    let started = Instant::now();
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            let elapsed = started.elapsed();
            drop(stream);
            Ok(elapsed)
        }
        Ok(Err(err)) => Err(Unreachable::Failed(os_reason(&err))),
        Err(_) => Err(Unreachable::TimedOut),
    }
}

/// The OS error text without the "(os error N)" suffix.
fn os_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(idx) => text[..idx].to_lowercase(),
        None => text.to_lowercase(),
    }
}
