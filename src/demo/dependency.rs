//! The demo's "database": a TCP listener that accepts connections and closes them. It speaks no
//! protocol; it exists so the application has a real dependency whose reachability can change
//! (stop it, or put a fault proxy in front of it) and the readiness endpoint has something to dial.
//!
//! With `--dependency postgres://…` the application's database is a real PostgreSQL instead: a
//! small sqlx pool, and the dependency check is `SELECT 1` on it, so a fault proxy cut between the
//! two (live connections reset, new ones refused) is noticed the way a real service notices it.

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

/// How long a `SELECT 1` on the PostgreSQL dependency may take, connecting included.
pub(crate) const QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// What the application depends on.
#[derive(Clone)]
pub(crate) enum Dependency {
    /// A TCP address that must accept a connection.
    Tcp(SocketAddr),
    /// A PostgreSQL database that must answer `SELECT 1`.
    Postgres {
        /// The pool (connects lazily).
        pool: sqlx::PgPool,
        /// `host:port`, for error pages.
        shown: String,
    },
}

impl std::fmt::Display for Dependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dependency::Tcp(addr) => write!(f, "{addr}"),
            Dependency::Postgres { shown, .. } => f.write_str(shown),
        }
    }
}

/// Checks the dependency: a TCP connect, or `SELECT 1` on PostgreSQL; returns how long it took.
pub(crate) async fn check(dependency: &Dependency) -> Result<Duration, Unreachable> {
    match dependency {
        Dependency::Tcp(addr) => check_tcp(*addr).await,
        Dependency::Postgres { pool, .. } => {
            let started = Instant::now();
            match tokio::time::timeout(QUERY_TIMEOUT, sqlx::query("SELECT 1").execute(pool)).await {
                Ok(Ok(_)) => Ok(started.elapsed()),
                Ok(Err(err)) => Err(Unreachable::Failed(pg_reason(&err))),
                Err(_) => Err(Unreachable::Failed(format!(
                    "SELECT 1 timed out after {} ms",
                    QUERY_TIMEOUT.as_millis()
                ))),
            }
        }
    }
}

/// A short reason for a failed query, without the connection string.
fn pg_reason(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Io(io) => os_reason(io),
        sqlx::Error::PoolTimedOut => "no database connection available".to_string(),
        sqlx::Error::Database(db) => format!("database error: {}", db.message()),
        other => other.to_string().to_lowercase(),
    }
}

/// Opens (and closes) a TCP connection to the dependency; returns how long the connect took.
async fn check_tcp(addr: SocketAddr) -> Result<Duration, Unreachable> {
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
