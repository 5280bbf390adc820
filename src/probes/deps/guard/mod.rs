//! The wire guard: a relay, inside this process, between a client library (sqlx, redis-rs) and
//! the dependency it talks to, enforcing what those libraries do not.
//!
//! The libraries trust the server: sqlx reserves whatever length a PostgreSQL message claims and
//! reads a result set to its end, redis-rs buffers a bulk string of any size, and both answer a
//! server's request for the password in cleartext. A dependency that misbehaves — or a machine
//! impersonating it — could exhaust memory or collect the audit's credentials. So every probe
//! connection goes through a guard:
//!
//! - it connects to the configured address itself (so "refused" and "timed out" are ours to
//!   report), then lets the library connect to a private local endpoint — a Unix socket in a
//!   `0700` directory, or a loopback port — and relays the bytes;
//! - it stops reading after [`MAX_ANSWER_BYTES`] from the dependency on one connection;
//! - on a PostgreSQL connection that is not encrypted it reads the message framing, refuses a
//!   message longer than [`MAX_PG_MESSAGE`] and holds back the server's request for a cleartext
//!   password, so the library never answers it (unless `allow_cleartext_password` is set);
//! - on a MySQL/MariaDB connection that is not encrypted it validates the server's handshake
//!   (a truncated one would make the client library panic), withholds the client's answer when
//!   the server asked for `mysql_clear_password`, and ends an authentication that switches
//!   plugins more than [`MAX_AUTH_SWITCHES`] times.
//!
//! Once TLS starts the guard sees ciphertext only: the byte cap still holds, the rest is TLS's
//! job (the password then travels encrypted). The guard never talks to any other address than
//! the configured one, and the local endpoint is gone when the guard is dropped.

mod cut;
mod mysql_wire;
mod pg_wire;
mod relay;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::Dependency;
use crate::probes::{ProbeCx, ProbeError};
pub use cut::{Cut, MessageKind};
use relay::{Inspector, Shared, Stream, relay};

/// The most bytes a dependency may send on one probe connection (PostgreSQL, MySQL/MariaDB,
/// Redis). A probe's own queries return kilobytes; past this the guard stops reading and cuts
/// the connection, and the probe reports why.
pub const MAX_ANSWER_BYTES: u64 = 8 * 1024 * 1024;

/// The longest PostgreSQL message accepted on an unencrypted connection (the length a message
/// claims is checked before the client library reserves memory for it).
pub const MAX_PG_MESSAGE: u32 = 1024 * 1024;

/// The most authentication-plugin switches a MySQL/MariaDB server may ask for.
pub const MAX_AUTH_SWITCHES: u32 = 4;

/// Which protocol the guard reads, beyond counting bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// PostgreSQL: message framing, cleartext-password requests.
    Postgres,
    /// MySQL/MariaDB: handshake, `mysql_clear_password`, plugin switches.
    MySql,
    /// Bytes only (Redis).
    Raw,
}

/// Where the guard connects: the dependency as configured.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// A host name or IP address and a port.
    Tcp(String, u16),
    /// A Unix socket path.
    #[cfg(unix)]
    Unix(PathBuf),
}

impl Upstream {
    fn shown(&self) -> String {
        match self {
            Upstream::Tcp(host, port) if host.contains(':') => format!("[{host}]:{port}"),
            Upstream::Tcp(host, port) => format!("{host}:{port}"),
            #[cfg(unix)]
            Upstream::Unix(path) => path.display().to_string(),
        }
    }
}

/// Where the client library connects instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A Unix socket with this file name in a fresh `0700` directory (falls back to loopback TCP
    /// where Unix sockets or a writable temporary directory do not exist; then a client that
    /// verifies the server's name against the host it connects to will refuse, which fails
    /// closed).
    Unix(String),
    /// A port on 127.0.0.1.
    Loopback,
}

/// The local endpoint a guard listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// The socket file (its directory is private to this process's user).
    Unix(PathBuf),
    /// 127.0.0.1 and a port.
    Tcp(SocketAddr),
}

/// A running guard: its local endpoint, and why it cut the connection (if it did). Dropping it
/// stops the relay and removes the socket.
#[derive(Debug)]
pub struct Guard {
    endpoint: Endpoint,
    dir: Option<PathBuf>,
    cut: Arc<Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

/// What the guard enforces on one connection.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The protocol read.
    pub wire: Wire,
    /// Answer a server's request for the password in cleartext over an unencrypted connection.
    pub allow_cleartext_password: bool,
    /// Bytes the dependency may send before the guard cuts the connection.
    pub max_bytes: u64,
}

impl Policy {
    /// The defaults for `wire`: cleartext passwords refused, [`MAX_ANSWER_BYTES`].
    pub fn new(wire: Wire) -> Policy {
        Policy {
            wire,
            allow_cleartext_password: false,
            max_bytes: MAX_ANSWER_BYTES,
        }
    }
}

impl Guard {
    /// Connects to `upstream` (under the operation timeout), then listens locally for the one
    /// connection the client library will make and relays it.
    pub async fn start(
        cx: &ProbeCx,
        dep: &Dependency,
        upstream: Upstream,
        listen: Listen,
        policy: Policy,
    ) -> Result<Guard, ProbeError> {
        let server: Box<dyn Stream> = match &upstream {
            Upstream::Tcp(host, port) => {
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let tcp = dep
                    .timed(cx, TcpStream::connect((host, *port)))
                    .await?
                    .map_err(|e| {
                        dep.connect_error(&format!(
                            "{}: {e}",
                            Upstream::Tcp(host.into(), *port).shown()
                        ))
                    })?;
                let _ = tcp.set_nodelay(true);
                Box::new(tcp)
            }
            #[cfg(unix)]
            Upstream::Unix(path) => {
                let unix = dep
                    .timed(cx, tokio::net::UnixStream::connect(path))
                    .await?
                    .map_err(|e| dep.connect_error(&format!("{}: {e}", path.display())))?;
                Box::new(unix)
            }
        };
        let cut = Arc::new(Mutex::new(None));
        let local = |e: std::io::Error| {
            dep.protocol_error(&format!("cannot open the local guard endpoint: {e}"))
        };
        let inspector = Inspector::new(policy);
        let shared = Shared {
            cut: cut.clone(),
            inspector: Mutex::new(inspector),
            max_bytes: policy.max_bytes,
            kind: dep.kind,
        };
        #[cfg(unix)]
        if let Listen::Unix(file_name) = &listen {
            // A filesystem without a writable temporary directory (a read-only root) falls back
            // to a loopback port below.
            if let Some((dir, listener)) = unix_listener(file_name) {
                let path = dir.join(file_name);
                let task = tokio::spawn(async move {
                    if let Ok((client, _)) = listener.accept().await {
                        drop(listener);
                        relay(client, server, shared).await;
                    }
                });
                return Ok(Guard {
                    endpoint: Endpoint::Unix(path),
                    dir: Some(dir),
                    cut,
                    task,
                });
            }
        }
        let _ = listen;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(local)?;
        let addr = listener.local_addr().map_err(local)?;
        let task = tokio::spawn(async move {
            if let Ok((client, _)) = listener.accept().await {
                drop(listener);
                let _ = client.set_nodelay(true);
                relay(client, server, shared).await;
            }
        });
        Ok(Guard {
            endpoint: Endpoint::Tcp(addr),
            dir: None,
            cut,
            task,
        })
    }

    /// Where the client library must connect.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Why the guard cut the connection, if it did.
    pub fn cut(&self) -> Option<String> {
        self.cut.lock().ok().and_then(|c| c.clone())
    }

    /// The guard's reason when it cut the connection, else `library` (the client library's own
    /// error text): a cut shows up in the library as a bare "connection closed".
    pub fn explain(&self, library: &str) -> String {
        match self.cut() {
            Some(reason) => reason,
            None => library.to_string(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A Unix socket named `file_name` in a fresh directory only this user can enter, in the first
/// temporary directory that works (socket paths are limited to ~100 bytes: `/tmp` first).
#[cfg(unix)]
fn unix_listener(file_name: &str) -> Option<(PathBuf, tokio::net::UnixListener)> {
    use std::os::unix::fs::DirBuilderExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let bases = [
        PathBuf::from("/tmp"),
        std::env::temp_dir(),
        PathBuf::from("/dev/shm"),
    ];
    for base in bases.iter().filter(|p| p.is_dir()) {
        let dir = base.join(format!(
            "readyprobe-guard-{}-{}-{nanos:x}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        if std::fs::DirBuilder::new().mode(0o700).create(&dir).is_err() {
            continue;
        }
        match tokio::net::UnixListener::bind(dir.join(file_name)) {
            Ok(listener) => return Some((dir, listener)),
            Err(_) => {
                let _ = std::fs::remove_dir_all(&dir);
            }
        }
    }
    None
}
