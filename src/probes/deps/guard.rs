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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::Dependency;
use crate::probes::{ProbeCx, ProbeError};

/// The most bytes a dependency may send on one probe connection (PostgreSQL, MySQL/MariaDB,
/// Redis). A probe's own queries return kilobytes; past this the guard stops reading and cuts
/// the connection, and the probe reports why.
pub const MAX_ANSWER_BYTES: u64 = 8 * 1024 * 1024;

/// The longest PostgreSQL message accepted on an unencrypted connection (the length a message
/// claims is checked before the client library reserves memory for it).
pub const MAX_PG_MESSAGE: u32 = 1024 * 1024;

/// The most authentication-plugin switches a MySQL/MariaDB server may ask for.
pub const MAX_AUTH_SWITCHES: u32 = 4;

/// The largest MySQL packet inspected during authentication (a handshake is ~100 bytes).
const MAX_MYSQL_AUTH_PACKET: usize = 64 * 1024;

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

/// A byte stream either end of the relay can be.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// State both directions of one relay share.
struct Shared {
    cut: Arc<Mutex<Option<String>>>,
    inspector: Mutex<Inspector>,
    max_bytes: u64,
    kind: &'static str,
}

impl Shared {
    fn record_cut(&self, reason: String) {
        if let Ok(mut cut) = self.cut.lock()
            && cut.is_none()
        {
            *cut = Some(reason);
        }
    }

    fn inspect(&self, from_server: bool, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let Ok(mut inspector) = self.inspector.lock() else {
            return Err("the guard's state is poisoned".to_string());
        };
        if from_server {
            inspector.server(chunk, out)
        } else {
            inspector.client(chunk, out)
        }
    }
}

/// Relays until either side closes or the guard cuts the connection.
async fn relay<C: Stream>(client: C, server: Box<dyn Stream>, shared: Shared) {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut server_read, mut server_write) = tokio::io::split(server);
    let shared = &shared;
    let upstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut out = Vec::with_capacity(16 * 1024);
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            out.clear();
            if let Err(reason) = shared.inspect(false, &buf[..n], &mut out) {
                shared.record_cut(reason);
                break;
            }
            if server_write.write_all(&out).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async {
        let mut buf = vec![0u8; 16 * 1024];
        let mut out = Vec::with_capacity(16 * 1024);
        let mut total: u64 = 0;
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            total += n as u64;
            if total > shared.max_bytes {
                shared.record_cut(format!(
                    "the {} server sent more than {} MiB on one connection; readyprobe stopped \
                     reading there (a probe's queries return kilobytes)",
                    shared.kind,
                    shared.max_bytes / (1024 * 1024)
                ));
                break;
            }
            out.clear();
            if let Err(reason) = shared.inspect(true, &buf[..n], &mut out) {
                shared.record_cut(reason);
                break;
            }
            if client_write.write_all(&out).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    // One direction ending (or being cut) ends the relay: both sockets close.
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

/// The protocol reader of one connection.
enum Inspector {
    Raw,
    Postgres(PgWire),
    MySql(MyWire),
}

impl Inspector {
    fn new(policy: Policy) -> Inspector {
        match policy.wire {
            Wire::Raw => Inspector::Raw,
            Wire::Postgres => Inspector::Postgres(PgWire::new(policy.allow_cleartext_password)),
            Wire::MySql => Inspector::MySql(MyWire::new(policy.allow_cleartext_password)),
        }
    }

    fn client(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Inspector::Raw => {
                out.extend_from_slice(chunk);
                Ok(())
            }
            Inspector::Postgres(pg) => {
                pg.client(chunk);
                out.extend_from_slice(chunk);
                Ok(())
            }
            Inspector::MySql(my) => my.client(chunk, out),
        }
    }

    fn server(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        match self {
            Inspector::Raw => {}
            Inspector::Postgres(pg) => pg.server(chunk)?,
            Inspector::MySql(my) => return my.server(chunk, out),
        }
        out.extend_from_slice(chunk);
        Ok(())
    }
}

/// The reason given when a cleartext password was asked for and not sent.
pub fn cleartext_refused(product: &str, how: &str) -> String {
    format!(
        "the {product} server asked for the password in cleartext ({how}) over a connection that \
         is not encrypted; readyprobe did not send it. Require TLS for this connection, make the \
         server use a hashed method, or set dependencies.allow_cleartext_password = true to \
         send it anyway"
    )
}

const PG_SSL_REQUEST: u32 = 80_877_103;
const PG_GSSENC_REQUEST: u32 = 80_877_104;

/// PostgreSQL, server side: `S`/`N` after an SSLRequest, then messages (type, length, body).
#[derive(Debug, PartialEq, Eq)]
enum PgState {
    /// Reading messages (the connection is not encrypted).
    Plain,
    /// The client asked for TLS; the next server byte is the answer.
    AwaitSslAnswer,
    /// TLS (or something unreadable): only bytes are counted.
    Opaque,
}

struct PgWire {
    allow_cleartext: bool,
    /// The first bytes the client sent (an SSLRequest is 8 bytes).
    client_head: Vec<u8>,
    state: PgState,
    /// Header bytes of the message being read (type, length and, for `R`, the code).
    header: Vec<u8>,
    /// Body bytes of the current message still to pass through.
    skip: u64,
    authenticated: bool,
}

impl PgWire {
    fn new(allow_cleartext: bool) -> PgWire {
        PgWire {
            allow_cleartext,
            client_head: Vec::with_capacity(8),
            state: PgState::Plain,
            header: Vec::with_capacity(9),
            skip: 0,
            authenticated: false,
        }
    }

    fn client(&mut self, chunk: &[u8]) {
        if self.client_head.len() >= 8 {
            return;
        }
        let take = (8 - self.client_head.len()).min(chunk.len());
        self.client_head.extend_from_slice(&chunk[..take]);
        if self.client_head.len() == 8 {
            let len = u32::from_be_bytes([
                self.client_head[0],
                self.client_head[1],
                self.client_head[2],
                self.client_head[3],
            ]);
            let code = u32::from_be_bytes([
                self.client_head[4],
                self.client_head[5],
                self.client_head[6],
                self.client_head[7],
            ]);
            // The server answers an SSLRequest with one byte; it has not answered yet.
            if len == 8
                && (code == PG_SSL_REQUEST || code == PG_GSSENC_REQUEST)
                && self.header.is_empty()
                && self.skip == 0
            {
                self.state = PgState::AwaitSslAnswer;
            }
        }
    }

    fn server(&mut self, chunk: &[u8]) -> Result<(), String> {
        let mut rest = chunk;
        if self.state == PgState::AwaitSslAnswer {
            let Some((&first, tail)) = rest.split_first() else {
                return Ok(());
            };
            match first {
                // TLS (or GSSAPI encryption) follows: ciphertext from here on.
                b'S' | b'G' => {
                    self.state = PgState::Opaque;
                    return Ok(());
                }
                b'N' => {
                    self.state = PgState::Plain;
                    rest = tail;
                }
                other => {
                    return Err(format!(
                        "the postgres server answered the TLS request with 0x{other:02x} instead \
                         of S or N: not a PostgreSQL server"
                    ));
                }
            }
        }
        if self.state == PgState::Opaque {
            return Ok(());
        }
        while !rest.is_empty() {
            if self.skip > 0 {
                let take = (self.skip.min(rest.len() as u64)) as usize;
                self.skip -= take as u64;
                rest = &rest[take..];
                continue;
            }
            let need = if self.header.first() == Some(&b'R') && !self.authenticated {
                9
            } else {
                5
            };
            let take = (need - self.header.len()).min(rest.len());
            self.header.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.header.len() < 5 {
                continue;
            }
            let kind = self.header[0];
            let len = u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]);
            if len < 4 {
                return Err(format!(
                    "the postgres server sent a message ({}) with an impossible length {len}: \
                     not a PostgreSQL server",
                    printable(kind)
                ));
            }
            if len > MAX_PG_MESSAGE {
                return Err(format!(
                    "the postgres server sent a message ({}) of {len} bytes, over the {} KiB \
                     readyprobe accepts; the connection was cut before reading it",
                    printable(kind),
                    MAX_PG_MESSAGE / 1024
                ));
            }
            if kind == b'R' && !self.authenticated {
                if len < 8 {
                    return Err(
                        "the postgres server sent an authentication request without a method: \
                         not a PostgreSQL server"
                            .to_string(),
                    );
                }
                if self.header.len() < 9 {
                    continue;
                }
                let code = u32::from_be_bytes([
                    self.header[5],
                    self.header[6],
                    self.header[7],
                    self.header[8],
                ]);
                match code {
                    0 => self.authenticated = true,
                    3 if !self.allow_cleartext => {
                        return Err(cleartext_refused(
                            "postgres",
                            "AuthenticationCleartextPassword",
                        ));
                    }
                    _ => {}
                }
                self.skip = u64::from(len) - 8;
            } else {
                self.skip = u64::from(len) - 4;
            }
            self.header.clear();
        }
        Ok(())
    }
}

fn printable(kind: u8) -> String {
    if kind.is_ascii_graphic() {
        format!("'{}'", kind as char)
    } else {
        format!("0x{kind:02x}")
    }
}

/// MySQL capability bits the guard reads.
const MY_SSL: u32 = 0x800;
const MY_PLUGIN_AUTH: u32 = 1 << 19;
const MY_SECURE_CONNECTION: u32 = 1 << 15;
const MY_CLEAR_PASSWORD: &[u8] = b"mysql_clear_password";

/// MySQL/MariaDB: the authentication phase of an unencrypted connection.
struct MyWire {
    allow_cleartext: bool,
    /// TLS was requested by the client: ciphertext from here on.
    encrypted: bool,
    /// The server said OK (or the connection is past authentication).
    done: bool,
    /// Bytes of the server packet being assembled.
    server_buf: Vec<u8>,
    /// Server packets seen.
    server_packets: u32,
    /// Plugin switches asked for.
    switches: u32,
    /// The server's last authentication request is `mysql_clear_password`.
    cleartext_asked: bool,
    /// The start of a client packet, held back until it can be judged.
    client_buf: Vec<u8>,
    /// Bytes of the current client packet still to pass through.
    client_skip: usize,
    /// Client packets seen (only the first can be an SSLRequest).
    client_packets: u32,
}

impl MyWire {
    fn new(allow_cleartext: bool) -> MyWire {
        MyWire {
            allow_cleartext,
            encrypted: false,
            done: false,
            server_buf: Vec::new(),
            server_packets: 0,
            switches: 0,
            cleartext_asked: false,
            client_buf: Vec::with_capacity(8),
            client_skip: 0,
            client_packets: 0,
        }
    }

    fn inspecting(&self) -> bool {
        !self.encrypted && !self.done
    }

    fn client(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let mut rest = chunk;
        while !rest.is_empty() {
            if !self.inspecting() {
                out.append(&mut self.client_buf);
                out.extend_from_slice(rest);
                return Ok(());
            }
            if self.client_skip > 0 {
                let take = self.client_skip.min(rest.len());
                out.extend_from_slice(&rest[..take]);
                self.client_skip -= take;
                rest = &rest[take..];
                continue;
            }
            // A packet starts: hold back its header and first 4 payload bytes (an SSLRequest's
            // capabilities) until it can be judged.
            let need = if self.client_buf.len() < 4 {
                4
            } else {
                let len = packet_len(&self.client_buf);
                (4 + len).min(8)
            };
            let take = need.saturating_sub(self.client_buf.len()).min(rest.len());
            self.client_buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.client_buf.len() < 4 {
                continue;
            }
            let len = packet_len(&self.client_buf);
            if self.client_buf.len() < (4 + len).min(8) {
                continue;
            }
            let first = self.client_packets == 0;
            self.client_packets += 1;
            // An SSLRequest is a 32-byte payload with CLIENT_SSL (the shortest handshake
            // response is longer): TLS follows and the password travels inside it.
            let ssl = first
                && len == 32
                && u32::from_le_bytes([
                    self.client_buf[4],
                    self.client_buf[5],
                    self.client_buf[6],
                    self.client_buf[7],
                ]) & MY_SSL
                    != 0;
            if ssl {
                self.encrypted = true;
            } else if self.cleartext_asked && !self.allow_cleartext {
                // This packet carries the password in cleartext: it never leaves the process.
                self.client_buf.clear();
                return Err(cleartext_refused("mysql", "mysql_clear_password"));
            }
            self.client_skip = 4 + len - self.client_buf.len();
            out.append(&mut self.client_buf);
        }
        Ok(())
    }

    fn server(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        if !self.inspecting() {
            out.extend_from_slice(chunk);
            return Ok(());
        }
        self.server_buf.extend_from_slice(chunk);
        loop {
            if !self.inspecting() {
                out.append(&mut self.server_buf);
                return Ok(());
            }
            if self.server_buf.len() < 4 {
                return Ok(());
            }
            let len = usize::from(self.server_buf[0])
                | usize::from(self.server_buf[1]) << 8
                | usize::from(self.server_buf[2]) << 16;
            if len > MAX_MYSQL_AUTH_PACKET {
                return Err(format!(
                    "the mysql server sent a {len}-byte packet during authentication (a \
                     handshake is about 100 bytes): not a MySQL/MariaDB server"
                ));
            }
            if self.server_buf.len() < 4 + len {
                return Ok(());
            }
            let packet: Vec<u8> = self.server_buf.drain(..4 + len).collect();
            self.server_packet(&packet[4..])?;
            out.extend_from_slice(&packet);
        }
    }

    fn server_packet(&mut self, payload: &[u8]) -> Result<(), String> {
        let first = self.server_packets == 0;
        self.server_packets += 1;
        match payload.first() {
            None => Err("the mysql server sent an empty packet during authentication".to_string()),
            // An error packet: the client reports it.
            Some(0xff) => Ok(()),
            Some(_) if first => {
                let plugin = handshake_plugin(payload).map_err(|why| {
                    format!("the mysql server's handshake is malformed ({why}): not a MySQL/MariaDB server")
                })?;
                self.cleartext_asked = plugin.as_deref() == Some(MY_CLEAR_PASSWORD);
                Ok(())
            }
            Some(0x00) => {
                self.done = true;
                Ok(())
            }
            Some(0xfe) => {
                self.switches += 1;
                if self.switches > MAX_AUTH_SWITCHES {
                    return Err(format!(
                        "the mysql server asked to switch the authentication method {} times; \
                         readyprobe stopped after {MAX_AUTH_SWITCHES}",
                        self.switches
                    ));
                }
                let name = &payload[1..];
                let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
                self.cleartext_asked = &name[..end] == MY_CLEAR_PASSWORD;
                Ok(())
            }
            // caching_sha2_password's fast-auth result or key: the client reads a second byte.
            Some(0x01) if payload.len() < 2 => Err(
                "the mysql server sent a truncated authentication packet: not a MySQL/MariaDB \
                 server"
                    .to_string(),
            ),
            Some(_) => Ok(()),
        }
    }
}

/// The payload length of a MySQL packet whose 4-byte header starts `buf`.
fn packet_len(buf: &[u8]) -> usize {
    usize::from(buf[0]) | usize::from(buf[1]) << 8 | usize::from(buf[2]) << 16
}

/// Reads a MySQL initial handshake the way the client library does, with every length checked
/// (the library does not check them, and a truncated handshake would make it panic), and
/// returns the authentication plugin it names.
fn handshake_plugin(p: &[u8]) -> Result<Option<Vec<u8>>, &'static str> {
    struct Reader<'a>(&'a [u8]);
    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
            if self.0.len() < n {
                return Err("truncated");
            }
            let (head, tail) = self.0.split_at(n);
            self.0 = tail;
            Ok(head)
        }
        fn nul(&mut self) -> Result<&'a [u8], &'static str> {
            let end = self
                .0
                .iter()
                .position(|b| *b == 0)
                .ok_or("a string without its NUL")?;
            let s = &self.0[..end];
            self.0 = &self.0[end + 1..];
            Ok(s)
        }
    }
    let mut r = Reader(p);
    r.take(1)?; // protocol version
    r.nul()?; // server version
    r.take(4)?; // connection id
    r.take(8)?; // auth data, part 1
    r.take(1)?; // filler
    let low = r.take(2)?;
    let mut caps = u32::from(u16::from_le_bytes([low[0], low[1]]));
    r.take(1)?; // collation
    r.take(2)?; // status
    let high = r.take(2)?;
    caps |= u32::from(u16::from_le_bytes([high[0], high[1]])) << 16;
    let auth_len = r.take(1)?[0];
    let auth_len = if caps & MY_PLUGIN_AUTH != 0 {
        auth_len
    } else {
        0
    };
    r.take(6)?; // reserved
    r.take(4)?; // reserved (MySQL) or MariaDB's extended capabilities
    if caps & MY_SECURE_CONNECTION != 0 {
        let len = usize::from(auth_len.saturating_sub(9)).max(12);
        r.take(len)?;
        r.take(1)?; // NUL
    }
    if caps & MY_PLUGIN_AUTH != 0 {
        return Ok(Some(r.nul()?.to_vec()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg_msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend(((body.len() + 4) as u32).to_be_bytes());
        m.extend(body);
        m
    }

    fn auth(code: u32) -> Vec<u8> {
        pg_msg(b'R', &code.to_be_bytes())
    }

    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    const STARTUP: [u8; 8] = [0, 0, 0, 40, 0, 3, 0, 0];

    /// Feeds server bytes one at a time (the worst split) and returns the first refusal.
    fn feed_bytewise(pg: &mut PgWire, bytes: &[u8]) -> Result<(), String> {
        for b in bytes {
            pg.server(std::slice::from_ref(b))?;
        }
        Ok(())
    }

    #[test]
    fn postgres_cleartext_request_on_a_plain_connection_is_held_back() {
        let mut pg = PgWire::new(false);
        pg.client(&STARTUP);
        let mut answer = pg_msg(b'S', b"server_version\x0016\x00");
        answer.extend(auth(3));
        let err = pg.server(&answer).unwrap_err();
        assert!(err.contains("cleartext"), "{err}");
        // The same, split into single bytes.
        let mut pg = PgWire::new(false);
        pg.client(&STARTUP);
        assert!(feed_bytewise(&mut pg, &answer).is_err());
        // After SSLRequest → 'N' the connection is still plain.
        let mut pg = PgWire::new(false);
        pg.client(&SSL_REQUEST);
        let mut plain = vec![b'N'];
        plain.extend(auth(3));
        assert!(pg.server(&plain).is_err());
    }

    #[test]
    fn postgres_cleartext_is_answered_when_allowed_or_encrypted() {
        let mut pg = PgWire::new(true);
        pg.client(&STARTUP);
        assert_eq!(pg.server(&auth(3)), Ok(()));
        // TLS accepted: what follows is ciphertext, never parsed.
        let mut pg = PgWire::new(false);
        pg.client(&SSL_REQUEST);
        assert_eq!(pg.server(b"S"), Ok(()));
        assert_eq!(pg.server(&auth(3)), Ok(()));
        assert_eq!(pg.server(&[0xff; 64]), Ok(()));
    }

    #[test]
    fn postgres_scram_md5_and_ok_pass_and_later_messages_are_framed() {
        let mut pg = PgWire::new(false);
        pg.client(&STARTUP);
        let mut flow = pg_msg(
            b'R',
            &[&10u32.to_be_bytes()[..], b"SCRAM-SHA-256\x00\x00"].concat(),
        );
        flow.extend(auth(0));
        flow.extend(pg_msg(b'Z', b"I"));
        // After authentication, an 'R'-looking byte inside a body is not an auth request.
        flow.extend(pg_msg(b'D', &[0, 1, 0, 0, 0, 5, b'R', 0, 0, 0, 3]));
        assert_eq!(feed_bytewise(&mut pg, &flow), Ok(()));
        let mut md5 = PgWire::new(false);
        md5.client(&STARTUP);
        assert_eq!(md5.server(&pg_msg(b'R', &[0, 0, 0, 5, 1, 2, 3, 4])), Ok(()));
    }

    #[test]
    fn postgres_oversized_or_impossible_messages_are_refused() {
        let mut pg = PgWire::new(false);
        pg.client(&STARTUP);
        let mut huge = vec![b'D'];
        huge.extend((100 * 1024 * 1024u32).to_be_bytes());
        let err = pg.server(&huge).unwrap_err();
        assert!(err.contains("over the 1024 KiB"), "{err}");
        let mut pg = PgWire::new(false);
        pg.client(&STARTUP);
        assert!(pg.server(&[b'E', 0, 0, 0, 2]).is_err());
        let mut pg = PgWire::new(false);
        pg.client(&STARTUP);
        assert!(
            pg.server(&pg_msg(b'R', &[]))
                .unwrap_err()
                .contains("without a method")
        );
        let mut pg = PgWire::new(false);
        pg.client(&SSL_REQUEST);
        assert!(pg.server(b"\x9cgarbage").unwrap_err().contains("0x9c"));
    }

    fn my_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
        p.extend(payload);
        p
    }

    /// A MariaDB-style initial handshake naming `plugin`.
    fn handshake(plugin: &str, ssl: bool) -> Vec<u8> {
        let mut p = vec![10];
        p.extend(b"10.11.6-MariaDB\x00");
        p.extend(7u32.to_le_bytes());
        p.extend(b"abcdefgh\x00");
        let caps: u32 =
            0x200 | MY_SECURE_CONNECTION | MY_PLUGIN_AUTH | if ssl { MY_SSL } else { 0 };
        p.extend((caps as u16).to_le_bytes());
        p.push(45);
        p.extend(2u16.to_le_bytes());
        p.extend(((caps >> 16) as u16).to_le_bytes());
        p.push(21);
        p.extend([0; 10]);
        p.extend(b"ijklmnopqrst\x00");
        p.extend(plugin.as_bytes());
        p.push(0);
        my_packet(0, &p)
    }

    fn server_all(my: &mut MyWire, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        my.server(bytes, &mut out)?;
        Ok(out)
    }

    fn client_all(my: &mut MyWire, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for b in bytes {
            my.client(std::slice::from_ref(b), &mut out)?;
        }
        Ok(out)
    }

    #[test]
    fn mysql_handshake_plugin_is_read_like_the_client_reads_it() {
        let h = handshake("caching_sha2_password", false);
        assert_eq!(
            handshake_plugin(&h[4..]).unwrap().as_deref(),
            Some(&b"caching_sha2_password"[..])
        );
        for cut in [5, 10, 20, 40, h.len() - 6] {
            assert!(handshake_plugin(&h[4..cut]).is_err(), "cut at {cut}");
        }
        let mut my = MyWire::new(false);
        let err = server_all(&mut my, &my_packet(0, &h[4..30])).unwrap_err();
        assert!(err.contains("malformed"), "{err}");
    }

    #[test]
    fn mysql_clear_password_response_is_withheld_on_a_plain_connection() {
        let mut my = MyWire::new(false);
        let h = handshake("mysql_clear_password", true);
        assert_eq!(server_all(&mut my, &h).unwrap(), h);
        // The handshake response would carry the password: nothing of it is forwarded.
        let mut response = vec![0x05, 0xa2, 0x0a, 0x00];
        response.extend([0u8; 28]);
        response.extend(b"app\x00s3cret\x00mysql_clear_password\x00");
        let packet = my_packet(1, &response);
        let mut out = Vec::new();
        let err = packet
            .iter()
            .try_for_each(|b| my.client(std::slice::from_ref(b), &mut out))
            .unwrap_err();
        assert!(err.contains("mysql_clear_password"), "{err}");
        assert!(out.is_empty(), "forwarded {out:?}");
    }

    #[test]
    fn mysql_clear_password_inside_tls_or_when_allowed_passes() {
        let h = handshake("mysql_clear_password", true);
        let mut ssl_request = (MY_SSL | 0x200 | MY_PLUGIN_AUTH).to_le_bytes().to_vec();
        ssl_request.extend([0u8; 28]);
        let mut my = MyWire::new(false);
        server_all(&mut my, &h).unwrap();
        let sent = my_packet(1, &ssl_request);
        assert_eq!(client_all(&mut my, &sent).unwrap(), sent);
        assert!(my.encrypted);
        assert_eq!(
            client_all(&mut my, &[0x16, 3, 1]).unwrap(),
            vec![0x16, 3, 1]
        );
        let mut allowed = MyWire::new(true);
        server_all(&mut allowed, &h).unwrap();
        let response = my_packet(1, &[0u8; 40]);
        assert_eq!(client_all(&mut allowed, &response).unwrap(), response);
    }

    #[test]
    fn mysql_switch_to_clear_password_and_switch_loops_are_refused() {
        let mut my = MyWire::new(false);
        server_all(&mut my, &handshake("mysql_native_password", false)).unwrap();
        let response = my_packet(1, &[0u8; 40]);
        assert_eq!(client_all(&mut my, &response).unwrap(), response);
        server_all(&mut my, &my_packet(2, b"\xfemysql_clear_password\x00")).unwrap();
        assert!(client_all(&mut my, &my_packet(3, b"s3cret\x00")).is_err());

        let mut looping = MyWire::new(false);
        server_all(&mut looping, &handshake("mysql_native_password", false)).unwrap();
        let switch = my_packet(2, b"\xfemysql_native_password\x00abcdefghijabcdefghij\x00");
        let mut last = Ok(Vec::new());
        for _ in 0..=MAX_AUTH_SWITCHES {
            last = server_all(&mut looping, &switch);
        }
        assert!(last.unwrap_err().contains("switch"));
    }

    #[test]
    fn mysql_after_ok_is_passed_through() {
        let mut my = MyWire::new(false);
        server_all(&mut my, &handshake("mysql_native_password", false)).unwrap();
        client_all(&mut my, &my_packet(1, &[0u8; 40])).unwrap();
        server_all(&mut my, &my_packet(2, &[0, 0, 0, 2, 0, 0, 0])).unwrap();
        assert!(my.done);
        // A result set bigger than the auth-phase packet limit is fine now.
        let big = my_packet(1, &vec![b'x'; MAX_MYSQL_AUTH_PACKET + 10]);
        assert_eq!(server_all(&mut my, &big).unwrap().len(), big.len());
    }
}
