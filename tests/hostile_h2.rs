//! The HTTP/2 hostile-target suite: the real `readyprobe` binary against local HTTPS servers
//! that negotiate `h2` by ALPN and then misbehave one way, written over raw frames (a 9-byte
//! header and a payload; no HTTP/2 library on the server side, so nothing "fixes" the
//! misbehaviour): a SETTINGS flood, a header block continued by CONTINUATION frames forever, a
//! zero flow-control window that never opens, GOAWAY on every new stream, a PING flood.
//!
//! Each server answers `GET`s with a small `200` page (every path the same) unless its
//! misbehaviour prevents it; requests that the client sends alone (`http/1.1` by ALPN, see
//! `src/probes/net`) get a plain HTTP/1.1 `200`. The client only speaks HTTP/2 over TLS (no h2c:
//! an `http://` target is always HTTP/1.1), so every server here is TLS, with a certificate from
//! a CA generated at test time and given with `--ca-file`.
//!
//! Every case asserts what `tests/hostile.rs` asserts, with the same bounds ([`BOUND`]: the
//! `--deadline` of 5 s plus 3 s of slack for a loaded CI machine; each run prints its measured
//! time), and: peak RSS under [`RSS_LIMIT_KB`]; the affected checks are `error` with the reason,
//! the others judged; exit 0 or 1 (the target answered: the TLS handshake and the `http/1.1`
//! requests succeed; see README "Exit codes"); and the configured `Authorization` credential
//! appears in no output.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::hostile::{
    BOUND, RSS_LIMIT_KB, Run, assert_judged, assert_memory_bounded, assert_sane, finding,
    run_command, summary,
};
use crate::util::pki::TestCa;

/// The client connection preface (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 §6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;

// Flags.
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

// SETTINGS parameters.
const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;

/// The largest frame payload the server reads (the client's default SETTINGS_MAX_FRAME_SIZE).
const MAX_FRAME: usize = 16_384;

/// The page every answered `GET` gets.
const PAGE: &[u8] = b"<!doctype html><html><head><title>h2</title></head><body>ok</body></html>";

/// How a server misbehaves once `h2` is negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum H2 {
    /// SETTINGS frames, each changing the header table size, as fast as the client reads; no
    /// request is answered.
    SettingsFlood,
    /// Every request's answer is a HEADERS frame without END_HEADERS, then CONTINUATION frames
    /// of 4 KiB header fields, forever.
    EndlessContinuation,
    /// SETTINGS_INITIAL_WINDOW_SIZE 0 and never a WINDOW_UPDATE: a request with a body can never
    /// send it; requests without one are answered.
    ZeroWindow,
    /// GOAWAY (last stream 0, NO_ERROR) in answer to every request's HEADERS, then the
    /// connection is closed.
    GoawayEveryStream,
    /// PING frames as fast as the client reads; no request is answered.
    PingFlood,
    /// Nothing after its SETTINGS: no request is answered (the control case for the floods).
    Silent,
}

/// What a server saw.
#[derive(Debug, Default)]
struct Seen {
    /// TLS connections that negotiated `h2`.
    h2_connections: AtomicU64,
    /// TLS connections that negotiated `http/1.1` (or nothing).
    h1_connections: AtomicU64,
    /// Request HEADERS frames received over `h2`.
    streams: AtomicU64,
    /// Frames the misbehaviour sent (flood frames, CONTINUATIONs, GOAWAYs).
    hostile_frames: AtomicU64,
    /// DATA frames with a payload received (request body bytes that got through).
    data_frames: AtomicU64,
}

fn count(n: &AtomicU64) -> u64 {
    n.load(Ordering::SeqCst)
}

/// One frame: 24-bit length, type, flags, 31-bit stream id, payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn settings(params: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (id, value) in params {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &payload)
}

/// An HPACK integer with an `n`-bit prefix whose high bits are `first` (RFC 7541 §5.1).
fn hpack_int(first: u8, n: u32, mut value: usize, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A literal header field without indexing, new name (RFC 7541 §6.2.2), no Huffman.
fn hpack_literal(name: &str, value: &[u8], out: &mut Vec<u8>) {
    out.push(0x00);
    hpack_int(0, 7, name.len(), out);
    out.extend_from_slice(name.as_bytes());
    hpack_int(0, 7, value.len(), out);
    out.extend_from_slice(value);
}

/// `:status: 200` (static table index 8) and `content-type: text/html`.
fn status_200() -> Vec<u8> {
    let mut block = vec![0x88];
    hpack_literal("content-type", b"text/html", &mut block);
    block
}

/// True when a request's header block starts with `:method: GET` (static index 2, as the
/// client's encoder sends it), after any dynamic table size updates.
fn is_get(mut block: &[u8]) -> bool {
    // A size update is `001xxxxx` and a 5-bit-prefix integer.
    while let Some(&b) = block.first() {
        if b & 0xe0 != 0x20 {
            break;
        }
        block = &block[1..];
        if b & 0x1f == 0x1f {
            while let Some(&c) = block.first() {
                block = &block[1..];
                if c & 0x80 == 0 {
                    break;
                }
            }
        }
    }
    block.first() == Some(&0x82)
}

/// The header block fragment of a HEADERS payload (padding and priority removed).
fn header_block(flags: u8, payload: &[u8]) -> &[u8] {
    let mut start = 0;
    let mut end = payload.len();
    if flags & PADDED != 0 {
        let pad = payload.first().copied().unwrap_or(0) as usize;
        start += 1;
        end = end.saturating_sub(pad);
    }
    if flags & PRIORITY != 0 {
        start += 5;
    }
    payload.get(start..end.max(start)).unwrap_or_default()
}

/// Reads one frame; `None` at the end of the connection or on a frame too large to read.
async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R) -> Option<(u8, u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    rd.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    if len > MAX_FRAME {
        return None;
    }
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; len];
    rd.read_exact(&mut payload).await.ok()?;
    Some((head[3], head[4], stream, payload))
}

/// An HTTPS server on 127.0.0.1 offering `h2` (and `http/1.1` when `h1`) by ALPN; `h2`
/// connections misbehave as `how`. Without `h1`, a client offering only `http/1.1` fails the
/// handshake (`no_application_protocol`).
async fn h2_server(how: H2, ca: &TestCa, h1: bool) -> (SocketAddr, Arc<Seen>) {
    let alpn: &[&[u8]] = if h1 { &[b"h2", b"http/1.1"] } else { &[b"h2"] };
    let config = crate::util::servers::server_config(ca.localhost(), alpn);
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let counters = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = Arc::clone(&counters);
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if tls.get_ref().1.alpn_protocol() == Some(&b"h2"[..]) {
                    seen.h2_connections.fetch_add(1, Ordering::SeqCst);
                    serve_h2(tls, how, seen).await;
                } else {
                    seen.h1_connections.fetch_add(1, Ordering::SeqCst);
                    serve_h1(tls).await;
                }
            });
        }
    });
    (addr, seen)
}

/// A well-behaved HTTP/1.1 answer: `200` with [`PAGE`], then close.
async fn serve_h1<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match io.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let is_head = head.starts_with(b"HEAD ");
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        PAGE.len()
    )
    .into_bytes();
    if !is_head {
        answer.extend_from_slice(PAGE);
    }
    let _ = io.write_all(&answer).await;
    let _ = io.shutdown().await;
}

/// Serves one `h2` connection, misbehaving as `how`. Frames go out through one writer task
/// (a bounded queue, so a flood goes only as fast as the client reads).
async fn serve_h2<S: AsyncRead + AsyncWrite + Send + 'static>(io: S, how: H2, seen: Arc<Seen>) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut preface = [0u8; 24];
    if rd.read_exact(&mut preface).await.is_err() || preface != PREFACE {
        return;
    }
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    let first = match how {
        H2::ZeroWindow => settings(&[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]),
        _ => settings(&[(SETTINGS_MAX_CONCURRENT_STREAMS, 100)]),
    };
    if tx.send(first).await.is_err() {
        return;
    }
    match how {
        H2::SettingsFlood => {
            let (tx, seen) = (tx.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                for n in 0u32.. {
                    let table = 4096 - (n % 2) * 4096;
                    let f = settings(&[
                        (SETTINGS_HEADER_TABLE_SIZE, table),
                        (SETTINGS_MAX_CONCURRENT_STREAMS, 100 + n % 7),
                    ]);
                    if tx.send(f).await.is_err() {
                        return;
                    }
                    seen.hostile_frames.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        H2::PingFlood => {
            let (tx, seen) = (tx.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                for n in 0u64.. {
                    if tx.send(frame(PING, 0, 0, &n.to_be_bytes())).await.is_err() {
                        return;
                    }
                    seen.hostile_frames.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        _ => {}
    }
    // Streams whose request body is still to come: (stream, GET).
    let mut waiting: Vec<(u32, bool)> = Vec::new();
    // Only one header block may be open on a connection: the endless one blocks the rest.
    let mut continuing = false;
    while let Some((kind, flags, stream, payload)) = read_frame(&mut rd).await {
        match kind {
            // Acknowledge the client's SETTINGS and PINGs (a closed writer ends the connection).
            SETTINGS
                if flags & ACK == 0 && tx.send(frame(SETTINGS, ACK, 0, &[])).await.is_err() =>
            {
                break;
            }
            PING if flags & ACK == 0 && tx.send(frame(PING, ACK, 0, &payload)).await.is_err() => {
                break;
            }
            HEADERS => {
                seen.streams.fetch_add(1, Ordering::SeqCst);
                let get = is_get(header_block(flags, &payload));
                match how {
                    H2::GoawayEveryStream => {
                        let mut goaway = 0u32.to_be_bytes().to_vec();
                        goaway.extend_from_slice(&0u32.to_be_bytes());
                        let _ = tx.send(frame(GOAWAY, 0, 0, &goaway)).await;
                        seen.hostile_frames.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    H2::EndlessContinuation if !continuing => {
                        continuing = true;
                        let (tx, seen) = (tx.clone(), Arc::clone(&seen));
                        tokio::spawn(async move {
                            let _ = tx.send(frame(HEADERS, 0, stream, &status_200())).await;
                            let mut field = Vec::new();
                            hpack_literal("x-continued", &[b'c'; 4096], &mut field);
                            loop {
                                if tx
                                    .send(frame(CONTINUATION, 0, stream, &field))
                                    .await
                                    .is_err()
                                {
                                    return;
                                }
                                seen.hostile_frames.fetch_add(1, Ordering::SeqCst);
                            }
                        });
                    }
                    H2::EndlessContinuation | H2::SettingsFlood | H2::PingFlood | H2::Silent => {}
                    H2::ZeroWindow => {
                        if flags & END_STREAM != 0 {
                            if answer(&tx, stream, get).await.is_err() {
                                break;
                            }
                        } else {
                            waiting.push((stream, get));
                        }
                    }
                }
            }
            DATA if !payload.is_empty() => {
                seen.data_frames.fetch_add(1, Ordering::SeqCst);
            }
            DATA if flags & END_STREAM != 0 => {
                // Only an empty DATA frame can get through a zero window.
                if let Some(i) = waiting.iter().position(|(s, _)| *s == stream) {
                    let (stream, get) = waiting.swap_remove(i);
                    if answer(&tx, stream, get).await.is_err() {
                        break;
                    }
                }
            }
            GOAWAY => break,
            _ => {}
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// A `200` on `stream`: with [`PAGE`] for a `GET`, headers only otherwise.
async fn answer(tx: &mpsc::Sender<Vec<u8>>, stream: u32, get: bool) -> Result<(), ()> {
    let flags = if get {
        END_HEADERS
    } else {
        END_HEADERS | END_STREAM
    };
    tx.send(frame(HEADERS, flags, stream, &status_200()))
        .await
        .map_err(|_| ())?;
    if get {
        tx.send(frame(DATA, END_STREAM, stream, PAGE))
            .await
            .map_err(|_| ())?;
    }
    Ok(())
}

/// The credential every case configures.
fn credential() -> String {
    format!("rp-h2-{}-t0ken", std::process::id())
}

/// Audits `https://<addr>/` with the CA given by `--ca-file`, an `Authorization` header and
/// `extra` config lines; checks the bounds every case shares.
async fn audit(addr: SocketAddr, ca: &TestCa, extra: &str) -> (Run, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca");
    let config = dir.path().join("readyprobe.toml");
    std::fs::write(
        &config,
        format!(
            "[http.headers]\nAuthorization = \"Bearer {}\"\n{extra}\n",
            credential()
        ),
    )
    .expect("write config");
    let url = format!("https://{addr}/");
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_readyprobe"));
        cmd.args(["audit", &url, "--deadline", "5s", "--timeout", "2s"])
            .args(["--format", "json", "--ca-file"])
            .arg(&ca_file)
            .arg("--config")
            .arg(&config);
        let run = run_command(cmd);
        drop(dir);
        run
    })
    .await
    .expect("audit task");
    eprintln!(
        "audit finished in {:?} (bound {:?}), exit {:?}, peak RSS {} KiB (limit {} KiB)",
        run.elapsed, BOUND, run.code, run.peak_rss_kb, RSS_LIMIT_KB
    );
    let report = assert_sane(&run, false);
    assert_memory_bounded(&run);
    assert!(
        !run.stdout.contains(&credential()) && !run.stderr.contains(&credential()),
        "the credential is in the output"
    );
    (run, report)
}

/// Asserts `id` is an `error` whose summary contains one of `reasons`.
fn assert_error(report: &Value, id: &str, reasons: &[&str]) {
    let f = finding(report, id);
    assert_eq!(f["outcome"], "error", "{id} must be an error: {f}");
    let text = summary(report, id);
    assert!(
        reasons.iter().any(|r| text.contains(r)),
        "{id}: expected one of {reasons:?} in {text:?}"
    );
}

fn print_seen(seen: &Seen) {
    eprintln!(
        "server saw {} h2 and {} http/1.1 connections, {} streams; sent {} hostile frames",
        count(&seen.h2_connections),
        count(&seen.h1_connections),
        count(&seen.streams),
        count(&seen.hostile_frames)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_settings_flood() {
    let ca = TestCa::new("readyprobe h2 test CA");
    let (addr, seen) = h2_server(H2::SettingsFlood, &ca, true).await;
    let (_, report) = audit(addr, &ca, "").await;
    print_seen(&seen);
    assert!(count(&seen.h2_connections) > 0, "h2 was negotiated");
    assert!(count(&seen.hostile_frames) > 0, "the flood was sent");
    assert_flood_bounded(&seen, &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_endless_continuation_frames() {
    let ca = TestCa::new("readyprobe h2 test CA");
    let (addr, seen) = h2_server(H2::EndlessContinuation, &ca, true).await;
    let (_, report) = audit(addr, &ca, "").await;
    print_seen(&seen);
    assert!(
        count(&seen.hostile_frames) > 0,
        "CONTINUATION frames were sent"
    );
    // h2 refuses the header block after a bounded number of CONTINUATION frames.
    assert_error(
        &report,
        "headers.csp",
        &["too_many_continuations", "excessive load"],
    );
    assert_judged(&report, "tls.certificate");
    // Every request on the connection fails the same way; each retry is a new connection and
    // the number of them is bounded by the request budget.
    let requests = report["requests_sent"].as_u64().unwrap_or_default();
    assert!(count(&seen.h2_connections) <= requests.max(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_zero_flow_control_window_forever() {
    let ca = TestCa::new("readyprobe h2 test CA");
    let (addr, seen) = h2_server(H2::ZeroWindow, &ca, true).await;
    // A configured mutation has a body, but goes alone over HTTP/1.1 (src/probes/net): nothing
    // the audit sends over h2 has a body, so the zero window stops nothing there.
    let (_, report) = audit(
        addr,
        &ca,
        "[[access.mutation]]\nmethod = \"POST\"\npath = \"/api/orders\"\nbody = '{\"item\":\"readyprobe-test\"}'",
    )
    .await;
    print_seen(&seen);
    assert!(count(&seen.h2_connections) > 0, "h2 was negotiated");
    assert_judged(&report, "headers.csp");
    assert_judged(&report, "tls.certificate");
    assert_judged(&report, "csrf.foreign_origin");

    // A request with a body over a shared h2 connection (in process): the body can never be
    // sent; the request ends at its timeout, the GET beside it is answered.
    let cx = crate::util::probe_cx(vec![ca.der()]);
    let url = url::Url::parse(&format!("https://{addr}/api/orders")).expect("url");
    let get = readyprobe::probes::http::get(&cx, &url).await;
    assert_eq!(get.expect("the GET is answered").version, "HTTP/2.0");
    let mut post = readyprobe::observations::http::RequestSpec::get(url);
    post.method = "POST".to_string();
    post.body = Some("{\"item\":\"readyprobe-test\"}".to_string());
    let started = std::time::Instant::now();
    let err = readyprobe::probes::http::send(&cx, &post)
        .await
        .expect_err("the body cannot be sent through a zero window");
    eprintln!("POST through a zero window: {:?}: {err}", started.elapsed());
    assert!(err.to_string().contains("no answer within"), "{err}");
    assert!(started.elapsed() < cx.timeout + std::time::Duration::from_secs(3));
    assert_eq!(count(&seen.data_frames), 0, "no body byte got through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_goaway_on_every_new_stream() {
    let ca = TestCa::new("readyprobe h2 test CA");
    let (addr, seen) = h2_server(H2::GoawayEveryStream, &ca, true).await;
    let (_, report) = audit(addr, &ca, "").await;
    print_seen(&seen);
    assert!(count(&seen.hostile_frames) > 0, "GOAWAYs were sent");
    // Sent again (a GET the server did not process) three times, then reported with the
    // retries in the reason. The server closes right after its GOAWAY: when the close wins the
    // race on a fresh connection, the stream fails with the broken pipe instead (not retried:
    // only a reused connection's close is, RFC 9112 §9.3.1) — an error all the same.
    assert_error(
        &report,
        "headers.csp",
        &[
            "after 3 retries: sent again on a new connection: the server sent GOAWAY (NO_ERROR)",
            "stream closed because of a broken pipe",
        ],
    );
    assert_judged(&report, "tls.certificate");
    // Sent again on new connections, but a bounded number of times.
    let requests = report["requests_sent"].as_u64().unwrap_or_default();
    assert!(
        count(&seen.h2_connections) <= requests.max(1),
        "{} h2 connections for {requests} requests",
        count(&seen.h2_connections)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_ping_flood() {
    let ca = TestCa::new("readyprobe h2 test CA");
    let (addr, seen) = h2_server(H2::PingFlood, &ca, true).await;
    let (_, report) = audit(addr, &ca, "").await;
    print_seen(&seen);
    assert!(count(&seen.hostile_frames) > 0, "the flood was sent");
    assert_flood_bounded(&seen, &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_silent() {
    let ca = TestCa::new("readyprobe h2 test CA");
    let (addr, seen) = h2_server(H2::Silent, &ca, true).await;
    let (_, report) = audit(addr, &ca, "").await;
    print_seen(&seen);
    assert_flood_bounded(&seen, &report);
}

/// A server that answers no `h2` request (a flood, or silence): the requests over `h2` are
/// `error` with the time limit as the reason, on one connection (no reconnect storm), and the
/// checks whose probes waited behind them say the run's deadline was reached.
fn assert_flood_bounded(seen: &Seen, report: &Value) {
    assert!(count(&seen.h2_connections) > 0, "h2 was negotiated");
    assert!(
        count(&seen.h2_connections) <= 2,
        "{} h2 connections: the client reconnected",
        count(&seen.h2_connections)
    );
    assert_error(report, "headers.csp", &["no answer within", "deadline"]);
    assert_error(
        report,
        "health.endpoints",
        &["no answer within", "deadline"],
    );
}
