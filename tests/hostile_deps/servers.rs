//! Hostile dependency servers: just enough of the PostgreSQL, MySQL, RESP, AMQP 0-9-1, HTTP and
//! DNS protocols to get a client to the point where each one misbehaves. Loopback only; every
//! server records what it received so a test can prove a credential never arrived.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// What a server saw: connections and every byte clients sent.
#[derive(Clone, Default)]
pub struct Seen {
    connections: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Seen {
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// True when any client sent `needle` (in any connection).
    pub fn received(&self, needle: &str) -> bool {
        let all = self.received.lock().expect("lock");
        all.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    fn record(&self, bytes: &[u8]) {
        self.received.lock().expect("lock").extend_from_slice(bytes);
    }
}

/// A TCP server on `ip`; each connection is handled by `serve` with its own copy of `seen`.
async fn tcp_server<F, Fut>(ip: &str, serve: F) -> (SocketAddr, Seen)
where
    F: Fn(TcpStream, Seen) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind((ip, 0)).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Seen::default();
    let shared = seen.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let _ = sock.set_nodelay(true);
            tokio::spawn(serve(sock, shared.clone()));
        }
    });
    (addr, seen)
}

async fn read_exact_recorded<R: AsyncRead + Unpin>(
    sock: &mut R,
    seen: &Seen,
    n: usize,
) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    sock.read_exact(&mut buf).await?;
    seen.record(&buf);
    Ok(buf)
}

/// Reads and records whatever comes, for a minute, without answering.
async fn hold(sock: &mut TcpStream, seen: &Seen) {
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(n) = sock.read(&mut buf).await {
            if n == 0 {
                break;
            }
            seen.record(&buf[..n]);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// How a PostgreSQL server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pg {
    /// Reads the startup message and never sends the authentication request.
    NoAuthRequest,
    /// Asks for GSSAPI, which the client does not support.
    UnsupportedAuth,
    /// Asks for the password in cleartext (the connection is not encrypted); answers a
    /// password with "authentication failed".
    Cleartext,
    /// Authenticates, then answers the first command with ErrorResponse after ErrorResponse.
    ErrorStorm,
    /// Authenticates, then answers the first query with 100 MB of rows.
    HugeRows,
    /// Authenticates, then answers the first query with a single 100 MB row.
    HugeRow,
    /// Authenticates, then closes in the middle of the first row.
    ClosesMidRow,
    /// Answers the SSLRequest with bytes that are neither `S` nor `N`.
    SslGarbage,
    /// Authenticates, then describes the first query's parameters with an empty
    /// ParameterDescription (the client library reads its count without checking the length).
    TruncatedParameterDescription,
}

fn pg_msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend(((body.len() + 4) as u32).to_be_bytes());
    m.extend(body);
    m
}

fn pg_ready(status: u8) -> Vec<u8> {
    pg_msg(b'Z', &[status])
}

fn pg_error(message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (code, value) in [(b'S', "ERROR"), (b'C', "XX000"), (b'M', message)] {
        body.push(code);
        body.extend(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    pg_msg(b'E', &body)
}

/// Authentication OK and the startup parameters a client expects.
fn pg_welcome() -> Vec<u8> {
    let mut out = pg_msg(b'R', &0u32.to_be_bytes());
    for (k, v) in [
        ("server_version", "16.0"),
        ("client_encoding", "UTF8"),
        ("DateStyle", "ISO, MDY"),
        ("integer_datetimes", "on"),
    ] {
        out.extend(pg_msg(b'S', format!("{k}\0{v}\0").as_bytes()));
    }
    out.extend(pg_msg(b'K', &[0, 0, 0, 7, 0, 0, 0, 9]));
    out.extend(pg_ready(b'I'));
    out
}

/// One int4 column named `x`.
fn pg_row_description() -> Vec<u8> {
    let mut body = 1u16.to_be_bytes().to_vec();
    body.extend(b"x\0");
    body.extend(0u32.to_be_bytes()); // table
    body.extend(0u16.to_be_bytes()); // attnum
    body.extend(23u32.to_be_bytes()); // int4
    body.extend(4i16.to_be_bytes());
    body.extend((-1i32).to_be_bytes());
    body.extend(0u16.to_be_bytes());
    pg_msg(b'T', &body)
}

fn pg_data_row(value: &[u8]) -> Vec<u8> {
    let mut body = 1u16.to_be_bytes().to_vec();
    body.extend((value.len() as u32).to_be_bytes());
    body.extend(value);
    pg_msg(b'D', &body)
}

/// Reads one frontend message (type, body), recording it.
async fn pg_read(sock: &mut TcpStream, seen: &Seen) -> std::io::Result<(u8, Vec<u8>)> {
    let head = read_exact_recorded(sock, seen, 5).await?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let body = read_exact_recorded(sock, seen, len.saturating_sub(4).min(1 << 20)).await?;
    Ok((head[0], body))
}

/// Reads the startup packet (answering SSLRequest with `N`, or garbage for [`Pg::SslGarbage`]).
/// Returns false when the connection should end.
async fn pg_startup(sock: &mut TcpStream, seen: &Seen, how: Pg) -> std::io::Result<bool> {
    loop {
        let head = read_exact_recorded(sock, seen, 8).await?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if code == 80_877_103 {
            if how == Pg::SslGarbage {
                sock.write_all(b"\x9c\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n")
                    .await?;
                return Ok(false);
            }
            sock.write_all(b"N").await?;
            continue;
        }
        read_exact_recorded(sock, seen, len.saturating_sub(8).min(1 << 16)).await?;
        return Ok(true);
    }
}

/// A PostgreSQL server on 127.0.0.1 that misbehaves as `how`.
pub async fn postgres(how: Pg) -> (SocketAddr, Seen) {
    tcp_server("127.0.0.1", move |mut sock, seen| async move {
        if !pg_startup(&mut sock, &seen, how).await? {
            hold(&mut sock, &seen).await;
            return Ok(());
        }
        match how {
            Pg::NoAuthRequest | Pg::SslGarbage => {
                hold(&mut sock, &seen).await;
                return Ok(());
            }
            Pg::UnsupportedAuth => {
                sock.write_all(&pg_msg(b'R', &7u32.to_be_bytes())).await?;
                hold(&mut sock, &seen).await;
                return Ok(());
            }
            Pg::Cleartext => {
                sock.write_all(&pg_msg(b'R', &3u32.to_be_bytes())).await?;
                let _ = pg_read(&mut sock, &seen).await?;
                sock.write_all(&pg_error("password authentication failed"))
                    .await?;
                return Ok(());
            }
            _ => sock.write_all(&pg_welcome()).await?,
        }
        let mut in_tx = false;
        loop {
            let (kind, body) = pg_read(&mut sock, &seen).await?;
            let mut out = Vec::new();
            match kind {
                b'Q' => {
                    if how == Pg::ErrorStorm {
                        let storm = pg_error("hostile: storm of errors").repeat(256);
                        loop {
                            sock.write_all(&storm).await?;
                        }
                    }
                    let text = String::from_utf8_lossy(&body).to_ascii_uppercase();
                    in_tx = text.starts_with("BEGIN");
                    let tag = if in_tx { "BEGIN" } else { "ROLLBACK" };
                    out.extend(pg_msg(b'C', format!("{tag}\0").as_bytes()));
                    out.extend(pg_ready(if in_tx { b'T' } else { b'I' }));
                }
                b'P' => out.extend(pg_msg(b'1', &[])),
                b'D' => {
                    if how == Pg::TruncatedParameterDescription {
                        out.extend(pg_msg(b't', &[]));
                    } else {
                        out.extend(pg_msg(b't', &0u16.to_be_bytes()));
                    }
                    out.extend(pg_row_description());
                }
                b'B' => out.extend(pg_msg(b'2', &[])),
                b'C' => out.extend(pg_msg(b'3', &[])),
                b'H' => {}
                b'S' => out.extend(pg_ready(if in_tx { b'T' } else { b'I' })),
                b'E' => match how {
                    Pg::HugeRows => {
                        let block = pg_data_row(&[b'7'; 1000]).repeat(64);
                        for _ in 0..(100 * 1024 * 1024 / block.len()) {
                            sock.write_all(&block).await?;
                        }
                        out.extend(pg_msg(b'C', b"SELECT 100000\0"));
                    }
                    Pg::HugeRow => {
                        let len = 100 * 1024 * 1024u32;
                        let mut head = pg_msg(b'D', &[]);
                        head.truncate(1);
                        head.extend((len + 4 + 2 + 4).to_be_bytes());
                        head.extend(1u16.to_be_bytes());
                        head.extend(len.to_be_bytes());
                        sock.write_all(&head).await?;
                        let block = vec![b'7'; 64 * 1024];
                        for _ in 0..(len as usize / block.len()) {
                            sock.write_all(&block).await?;
                        }
                        out.extend(pg_msg(b'C', b"SELECT 1\0"));
                    }
                    Pg::ClosesMidRow => {
                        let row = pg_data_row(&[b'7'; 1000]);
                        sock.write_all(&row[..100]).await?;
                        sock.flush().await?;
                        return Ok(());
                    }
                    _ => {
                        out.extend(pg_data_row(&1i32.to_be_bytes()));
                        out.extend(pg_msg(b'C', b"SELECT 1\0"));
                    }
                },
                b'X' => return Ok(()),
                _ => {}
            }
            sock.write_all(&out).await?;
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

/// How a MySQL/MariaDB server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum My {
    /// The handshake names an authentication plugin nobody knows.
    UnknownPlugin,
    /// Every answer of the client is met with another plugin switch.
    AuthSwitchLoop,
    /// Authenticates, then answers every SELECT/SHOW with five million rows.
    MillionsOfRows,
    /// The handshake asks for `mysql_clear_password` on an unencrypted connection.
    ClearPassword,
}

const MY_CAPS: u32 = 1 // LONG_PASSWORD (so MariaDB's 4 extended-capability bytes are reserved)
    | 4 // LONG_FLAG
    | 8 // CONNECT_WITH_DB
    | 0x200 // PROTOCOL_41
    | 0x2000 // TRANSACTIONS
    | 0x8000 // SECURE_CONNECTION
    | 1 << 16 // MULTI_STATEMENTS
    | 1 << 17 // MULTI_RESULTS
    | 1 << 19; // PLUGIN_AUTH

fn my_packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut p = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
    p.extend(payload);
    p
}

fn my_handshake(plugin: &str) -> Vec<u8> {
    let mut p = vec![10];
    p.extend(b"10.11.6-MariaDB-hostile\0");
    p.extend(42u32.to_le_bytes());
    p.extend(b"abcdefgh\0");
    p.extend((MY_CAPS as u16).to_le_bytes());
    p.push(45);
    p.extend(2u16.to_le_bytes());
    p.extend(((MY_CAPS >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend([0u8; 10]);
    p.extend(b"ijklmnopqrst\0");
    p.extend(plugin.as_bytes());
    p.push(0);
    my_packet(0, &p)
}

const MY_OK: [u8; 7] = [0, 0, 0, 2, 0, 0, 0];
const MY_EOF: [u8; 5] = [0xfe, 0, 0, 2, 0];

fn lenenc_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(s.len() as u8);
    out.extend(s);
}

fn my_column(seq: u8) -> Vec<u8> {
    let mut c = Vec::new();
    for part in [&b"def"[..], b"", b"", b"", b"x", b""] {
        lenenc_str(&mut c, part);
    }
    c.push(0x0c);
    c.extend(45u16.to_le_bytes());
    c.extend(255u32.to_le_bytes());
    c.push(0xfd); // VAR_STRING
    c.extend(0u16.to_le_bytes());
    c.push(0);
    c.extend([0, 0]);
    my_packet(seq, &c)
}

async fn my_read(sock: &mut TcpStream, seen: &Seen) -> std::io::Result<(u8, Vec<u8>)> {
    let head = read_exact_recorded(sock, seen, 4).await?;
    let len = usize::from(head[0]) | usize::from(head[1]) << 8 | usize::from(head[2]) << 16;
    let body = read_exact_recorded(sock, seen, len).await?;
    Ok((head[3], body))
}

/// A MySQL/MariaDB server on 127.0.0.1 that misbehaves as `how`.
pub async fn mysql(how: My) -> (SocketAddr, Seen) {
    tcp_server("127.0.0.1", move |mut sock, seen| async move {
        let plugin = match how {
            My::UnknownPlugin => "hostile_auth_plugin",
            My::ClearPassword => "mysql_clear_password",
            _ => "mysql_native_password",
        };
        sock.write_all(&my_handshake(plugin)).await?;
        let (mut seq, _) = my_read(&mut sock, &seen).await?;
        match how {
            My::UnknownPlugin | My::ClearPassword => {
                sock.write_all(&my_packet(seq.wrapping_add(1), b"\xff\x15\x04#28000denied"))
                    .await?;
                hold(&mut sock, &seen).await;
                return Ok(());
            }
            My::AuthSwitchLoop => loop {
                let switch = my_packet(
                    seq.wrapping_add(1),
                    b"\xfemysql_native_password\0abcdefghijabcdefghij\0",
                );
                sock.write_all(&switch).await?;
                (seq, _) = my_read(&mut sock, &seen).await?;
            },
            My::MillionsOfRows => {
                sock.write_all(&my_packet(seq.wrapping_add(1), &MY_OK))
                    .await?;
            }
        }
        loop {
            let (_, body) = my_read(&mut sock, &seen).await?;
            let query = String::from_utf8_lossy(body.get(1..).unwrap_or_default()).to_uppercase();
            if body.first() == Some(&1) {
                return Ok(()); // COM_QUIT
            }
            if query.starts_with("START TRANSACTION") {
                // OK with SERVER_STATUS_IN_TRANS: the client checks it.
                sock.write_all(&my_packet(1, &[0, 0, 0, 3, 0, 0, 0]))
                    .await?;
                continue;
            }
            if !(query.starts_with("SELECT") || query.starts_with("SHOW")) {
                sock.write_all(&my_packet(1, &MY_OK)).await?;
                continue;
            }
            let mut head = my_packet(1, &[1]);
            head.extend(my_column(2));
            head.extend(my_packet(3, &MY_EOF));
            sock.write_all(&head).await?;
            let mut seq: u8 = 4;
            let mut block = Vec::with_capacity(64 * 1024);
            for i in 0..5_000_000u32 {
                let mut row = Vec::with_capacity(12);
                lenenc_str(&mut row, i.to_string().as_bytes());
                block.extend(my_packet(seq, &row));
                seq = seq.wrapping_add(1);
                if block.len() > 60 * 1024 {
                    sock.write_all(&block).await?;
                    block.clear();
                }
            }
            block.extend(my_packet(seq, &MY_EOF));
            sock.write_all(&block).await?;
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Redis (RESP2/RESP3)

/// How a Redis server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rd {
    /// `INFO` answers 200 MB.
    HugeInfo,
    /// `INFO` answers `*1\r\n` nested without end.
    NestedArray,
    /// `INFO` answers a bulk string of 2^62 bytes (and sends bytes until cut off).
    BulkOf2Pow62,
    /// `AUTH` succeeds; every other command answers `-NOAUTH`.
    NoAuthAfterAuth,
    /// Answers `PING` without a password, and stalls after `HELLO`.
    StallAfterHello,
}

/// Reads one RESP command (an array of bulk strings), recording it.
async fn resp_command(sock: &mut TcpStream, seen: &Seen) -> std::io::Result<Vec<String>> {
    async fn line(sock: &mut TcpStream, seen: &Seen) -> std::io::Result<String> {
        let mut out = Vec::new();
        loop {
            let b = read_exact_recorded(sock, seen, 1).await?[0];
            if b == b'\n' {
                return Ok(String::from_utf8_lossy(&out).trim_end().to_string());
            }
            out.push(b);
        }
    }
    let head = line(sock, seen).await?;
    let n: usize = head.trim_start_matches('*').parse().unwrap_or(0);
    let mut parts = Vec::new();
    for _ in 0..n {
        let len: usize = line(sock, seen)
            .await?
            .trim_start_matches('$')
            .parse()
            .unwrap_or(0);
        let bytes = read_exact_recorded(sock, seen, len + 2).await?;
        parts.push(String::from_utf8_lossy(&bytes[..len]).to_string());
    }
    Ok(parts)
}

/// A Redis server on 127.0.0.1 that misbehaves as `how`.
pub async fn redis(how: Rd) -> (SocketAddr, Seen) {
    tcp_server("127.0.0.1", move |mut sock, seen| async move {
        loop {
            let cmd = resp_command(&mut sock, &seen).await?;
            let name = cmd.first().map(|s| s.to_ascii_uppercase()).unwrap_or_default();
            if how == Rd::NoAuthAfterAuth {
                let reply: &[u8] = if name == "AUTH" {
                    b"+OK\r\n"
                } else {
                    b"-NOAUTH Authentication required.\r\n"
                };
                sock.write_all(reply).await?;
                continue;
            }
            match name.as_str() {
                "HELLO" if how == Rd::StallAfterHello => {
                    hold(&mut sock, &seen).await;
                    return Ok(());
                }
                "PING" => sock.write_all(b"+PONG\r\n").await?,
                "AUTH" | "SELECT" | "CLIENT" => sock.write_all(b"+OK\r\n").await?,
                "INFO" => match how {
                    Rd::HugeInfo => {
                        let total = 200 * 1024 * 1024;
                        sock.write_all(format!("${total}\r\n# Server\r\n").as_bytes())
                            .await?;
                        let line = b"hostile_padding:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n";
                        let block = line.repeat(64 * 1024 / line.len());
                        let mut sent = 10;
                        while sent + block.len() <= total {
                            sock.write_all(&block).await?;
                            sent += block.len();
                        }
                        sock.write_all(&vec![b'x'; total - sent]).await?;
                        sock.write_all(b"\r\n").await?;
                    }
                    Rd::NestedArray => {
                        let block = b"*1\r\n".repeat(16 * 1024);
                        loop {
                            sock.write_all(&block).await?;
                        }
                    }
                    Rd::BulkOf2Pow62 => {
                        sock.write_all(format!("${}\r\n", 1u64 << 62).as_bytes())
                            .await?;
                        let block = vec![b'x'; 64 * 1024];
                        loop {
                            sock.write_all(&block).await?;
                        }
                    }
                    _ => sock.write_all(b"$23\r\n# Server\r\nredis_version:7\r\n").await?,
                },
                _ => sock.write_all(b"-ERR unknown command\r\n").await?,
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ: AMQP 0-9-1 and the management API

/// How an AMQP broker misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amqp {
    /// Sends Connection.Start, then nothing.
    StallAfterStart,
    /// Offers a frame-max of 4 GiB (0xFFFFFFFF), then behaves.
    FrameMax4GiB,
}

fn amqp_method(class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut payload = class.to_be_bytes().to_vec();
    payload.extend(method.to_be_bytes());
    payload.extend(args);
    let mut frame = vec![1, 0, 0];
    frame.extend((payload.len() as u32).to_be_bytes());
    frame.extend(payload);
    frame.push(0xce);
    frame
}

fn amqp_start() -> Vec<u8> {
    let mut args = vec![0, 9];
    // server-properties: { "product": "hostile" }
    let mut table = Vec::new();
    table.push(7);
    table.extend(b"product");
    table.push(b'S');
    table.extend(7u32.to_be_bytes());
    table.extend(b"hostile");
    args.extend((table.len() as u32).to_be_bytes());
    args.extend(table);
    for s in [&b"PLAIN AMQPLAIN"[..], b"en_US"] {
        args.extend((s.len() as u32).to_be_bytes());
        args.extend(s);
    }
    amqp_method(10, 10, &args)
}

/// Reads one frame; returns (class, method) of a method frame (0, 0 for others).
async fn amqp_frame(sock: &mut TcpStream, seen: &Seen) -> std::io::Result<(u16, u16)> {
    let head = read_exact_recorded(sock, seen, 7).await?;
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]) as usize;
    let payload = read_exact_recorded(sock, seen, size.min(1 << 20) + 1).await?;
    if head[0] == 1 && payload.len() >= 5 {
        return Ok((
            u16::from_be_bytes([payload[0], payload[1]]),
            u16::from_be_bytes([payload[2], payload[3]]),
        ));
    }
    Ok((0, 0))
}

/// An AMQP broker on 127.0.0.1 that misbehaves as `how`.
pub async fn amqp(how: Amqp) -> (SocketAddr, Seen) {
    tcp_server("127.0.0.1", move |mut sock, seen| async move {
        read_exact_recorded(&mut sock, &seen, 8).await?;
        sock.write_all(&amqp_start()).await?;
        if how == Amqp::StallAfterStart {
            hold(&mut sock, &seen).await;
            return Ok(());
        }
        loop {
            match amqp_frame(&mut sock, &seen).await? {
                // Start-Ok → Tune with a 4 GiB frame-max.
                (10, 11) => {
                    let mut args = 2047u16.to_be_bytes().to_vec();
                    args.extend(u32::MAX.to_be_bytes());
                    args.extend(0u16.to_be_bytes());
                    sock.write_all(&amqp_method(10, 30, &args)).await?;
                }
                // Open → Open-Ok.
                (10, 40) => sock.write_all(&amqp_method(10, 41, &[0])).await?,
                // Close → Close-Ok.
                (10, 50) => {
                    sock.write_all(&amqp_method(10, 51, &[])).await?;
                    return Ok(());
                }
                _ => {}
            }
        }
    })
    .await
}

/// How a management API misbehaves (`/api/overview` answers normally except for a redirect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mgmt {
    /// `/api/queues` answers 50 MB of JSON.
    HugeQueues,
    /// `/api/queues` answers JSON nested 30,000 deep (60 KB).
    JsonBomb,
    /// Every request is redirected to the other host given to [`management`].
    RedirectOffHost,
}

async fn http_head(sock: &mut TcpStream, seen: &Seen) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        seen.record(&buf[..n]);
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    Ok(text
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string())
}

async fn http_json(sock: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    sock.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    sock.write_all(body).await
}

/// A management API on `ip` that misbehaves as `how`.
pub async fn management(ip: &str, how: Mgmt, other: Option<SocketAddr>) -> (SocketAddr, Seen) {
    tcp_server(ip, move |mut sock, seen| async move {
        let path = http_head(&mut sock, &seen).await?;
        let bare = path.split('?').next().unwrap_or("/").to_string();
        if how == Mgmt::RedirectOffHost {
            let other = other.expect("the other host");
            return sock
                .write_all(
                    format!(
                        "HTTP/1.1 302 Found\r\nLocation: http://{other}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await;
        }
        match bare.as_str() {
            "/api/overview" => {
                http_json(
                    &mut sock,
                    "200 OK",
                    br#"{"rabbitmq_version":"3.12.0","cluster_name":"hostile","management_version":"3.12.0"}"#,
                )
                .await
            }
            "/api/queues" if how == Mgmt::HugeQueues => {
                const TOTAL: usize = 50 * 1024 * 1024;
                let open = br#"{"filtered_count":1000000,"page_count":1,"items":["#;
                let item = br#"{"name":"q","vhost":"/","durable":true,"arguments":{}},"#;
                let block = item.repeat(64 * 1024 / item.len());
                let count = TOTAL / block.len();
                let close = br#"{"name":"last","vhost":"/"}]}"#;
                let len = open.len() + block.len() * count + close.len();
                sock.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await?;
                sock.write_all(open).await?;
                for _ in 0..count {
                    sock.write_all(&block).await?;
                }
                sock.write_all(close).await
            }
            "/api/queues" => {
                let mut bomb = br#"{"filtered_count":1,"page_count":1,"items":"#.to_vec();
                bomb.extend(b"[".repeat(30_000));
                bomb.extend(b"]".repeat(30_000));
                bomb.push(b'}');
                http_json(&mut sock, "200 OK", &bomb).await
            }
            "/api/policies" | "/api/nodes" | "/api/vhosts" => {
                http_json(&mut sock, "200 OK", b"[]").await
            }
            "/api/channels" => {
                http_json(&mut sock, "200 OK", br#"{"page_count":1,"items":[]}"#).await
            }
            _ => http_json(&mut sock, "404 Not Found", br#"{"error":"not_found"}"#).await,
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// DNS

/// How a DNS resolver misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dns {
    /// Every UDP answer is truncated (TC set, no records); TCP accepts and never answers.
    TruncatedThenTcpStall,
    /// `a.test` is a CNAME for `b.test`, which is a CNAME for `a.test`.
    CnameLoop,
}

/// A DNS server on 127.0.0.1 (UDP, and TCP on the same port) that misbehaves as `how`.
pub async fn dns(how: Dns) -> (SocketAddr, Seen) {
    use hickory_resolver::proto::op::{Message, MessageType};
    use hickory_resolver::proto::rr::rdata::CNAME;
    use hickory_resolver::proto::rr::{Name, RData, Record};

    // The UDP port the kernel picks may be taken for TCP (another test's connection): try again.
    let mut attempts = 0;
    let (udp, tcp, addr) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().expect("addr");
        match TcpListener::bind(addr).await {
            Ok(tcp) => break (udp, tcp, addr),
            Err(e) if attempts < 50 => {
                attempts += 1;
                eprintln!("dns: {addr} is taken for TCP ({e}); another port");
            }
            Err(e) => panic!("bind tcp on the same port as udp {addr}: {e}"),
        }
    };
    let seen = Seen::default();
    let tcp_seen = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = tcp.accept().await {
            tcp_seen.connections.fetch_add(1, Ordering::SeqCst);
            let seen = tcp_seen.clone();
            tokio::spawn(async move { hold(&mut sock, &seen).await });
        }
    });
    let udp_seen = seen.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                continue;
            };
            udp_seen.record(&buf[..n]);
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
            reply.metadata.message_type = MessageType::Response;
            reply.metadata.recursion_desired = query.metadata.recursion_desired;
            reply.metadata.recursion_available = true;
            for q in &query.queries {
                reply.add_query(q.clone());
                match how {
                    Dns::TruncatedThenTcpStall => reply.metadata.truncation = true,
                    Dns::CnameLoop => {
                        let name = q.name().to_ascii().to_ascii_lowercase();
                        let target = if name.starts_with("a.") {
                            "b.test."
                        } else {
                            "a.test."
                        };
                        let cname = RData::CNAME(CNAME(Name::from_ascii(target).expect("name")));
                        reply.add_answer(Record::from_rdata(q.name().clone(), 60, cname));
                    }
                }
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = udp.send_to(&bytes, peer).await;
            }
        }
    });
    (addr, seen)
}
