//! The HTTP transport under the probes: a client that behaves like a careful browser, so real
//! servers and proxies (nginx, Envoy, HAProxy, cloud load balancers) answer readyprobe the way
//! they answer people instead of defending themselves against it.
//!
//! - One [`Net`] per run — shared by every audit of a fleet (`audit --targets`), its pool also
//!   by every scrape of `serve`: the connection pool with a per-address connection limit
//!   ([`pool`]) and one caching resolver ([`resolve`]).
//! - One [`NetCx`] per audit: its trust ([`trust`]: web roots, `--ca-file` anchors and pins;
//!   the TLS configurations themselves are the pool's, one per trust, so sessions resume),
//!   its `User-Agent`, and the origins whose certificate failed verification, which the HTTP
//!   probe then observes over an *unverified* connection (unless `--strict-tls`).
//! - Requests ([`Outgoing`]) share connections unless they are hostile ([`Checkout::alone`]).
//!   A send that fails the way a well-behaved client retries (GOAWAY, a refused stream, a reused
//!   connection closed before any response byte) says so in [`SendError::retry`]; the HTTP probe
//!   decides whether the request may be sent again (idempotent methods only) and records it.
//!
//! This module never judges and never decides policy about credentials: it moves bytes.

pub mod connect;
pub mod pool;
pub mod resolve;
pub mod slot;
pub mod trust;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rustls_pki_types::CertificateDer;
use url::{Position, Url};

pub use pool::{Checkout, Pool};
pub use resolve::RunResolver;

use self::connect::LimitedTcp;
use self::pool::{Dial, Lease, OriginKey};
use self::trust::{TlsConfigs, TlsSetupError, Trust};
use crate::config::RunConfig;
use crate::probes::error_chain;

/// Why the transport could not carry a request. Messages state the fact; the probe adds the
/// subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// The host name did not resolve.
    #[error("{0}")]
    Resolve(String),
    /// No TCP connection could be opened.
    #[error("{0}")]
    Connect(String),
    /// The TLS handshake failed (not TLS, a protocol mismatch, an alert).
    #[error("{0}")]
    Tls(String),
    /// The TLS handshake failed because the certificate was refused (expired, wrong name,
    /// unknown issuer).
    #[error("{0}")]
    CertificateRejected(String),
    /// The HTTP exchange failed.
    #[error("{0}")]
    Http(String),
}

/// Why a failed send may be sent again on a new connection (RFC 9113 §6.8, RFC 9112 §9.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryReason {
    /// The server sent GOAWAY (with this error code) before answering.
    GoAway(String),
    /// The server refused the stream (`REFUSED_STREAM`): it was not processed.
    Refused,
    /// A reused connection closed before any byte of the response arrived.
    ClosedBeforeAnswer,
    /// The connection closed while the request still waited in its queue: not a byte of it
    /// was written (hyper's "canceled"), so the server never saw it.
    NotSent,
}

impl fmt::Display for RetryReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryReason::GoAway(code) => {
                write!(f, "the server sent GOAWAY ({code}) before answering")
            }
            RetryReason::Refused => f.write_str("the server refused the stream (REFUSED_STREAM)"),
            RetryReason::ClosedBeforeAnswer => {
                f.write_str("the reused connection closed before any response byte")
            }
            RetryReason::NotSent => {
                f.write_str("the connection closed before the request was written")
            }
        }
    }
}

/// A failed send.
#[derive(Debug, Clone)]
pub struct SendError {
    /// What failed.
    pub error: NetError,
    /// Set when a well-behaved client may send the request again on a new connection.
    pub retry: Option<RetryReason>,
    /// The connection it failed on, to avoid on the retry.
    pub connection: Option<u64>,
}

impl From<NetError> for SendError {
    fn from(error: NetError) -> SendError {
        SendError {
            error,
            retry: None,
            connection: None,
        }
    }
}

/// The run's transport: connection pool and resolver (see the module doc).
#[derive(Debug, Clone)]
pub struct Net {
    /// Connections, with the per-address limit.
    pub pool: Arc<Pool>,
    /// The run's caching resolver.
    pub resolver: Arc<RunResolver>,
}

impl Net {
    /// A fresh transport for one run, as `run` configures it.
    pub fn for_run(run: &RunConfig) -> Net {
        Net::with_pool(Pool::new(run.max_connections_per_host), run)
    }

    /// A transport on an existing pool (the exporter's) with a fresh resolver for this run.
    pub fn with_pool(pool: Arc<Pool>, run: &RunConfig) -> Net {
        Net {
            pool,
            resolver: Arc::new(resolver_for(run)),
        }
    }
}

/// The resolver `run` configures: its nameservers (already validated), else the system's.
pub fn resolver_for(run: &RunConfig) -> RunResolver {
    let servers: Vec<SocketAddr> = run
        .nameservers
        .iter()
        .filter_map(|s| crate::config::parse_nameserver(s).ok())
        .collect();
    RunResolver::new(&servers, run.timeout)
}

/// A group of connections of their own (the rate-limit burst), closed when the last copy of
/// the [`NetCx`] using it is dropped.
#[derive(Debug)]
struct Group {
    pool: Arc<Pool>,
    id: u64,
}

impl Drop for Group {
    fn drop(&mut self) {
        self.pool.close_group(self.id);
    }
}

/// One audit's view of the transport (see the module doc).
#[derive(Debug, Clone)]
pub struct NetCx {
    /// The run's transport.
    pub net: Net,
    trust: u64,
    verified: Result<TlsConfigs, TlsSetupError>,
    unverified_tls: Result<TlsConfigs, TlsSetupError>,
    /// `--strict-tls`: no unverified fallback.
    pub strict_tls: bool,
    /// The `User-Agent` sent when a request sets none.
    pub user_agent: String,
    /// `user_agent` as a header value, parsed once (`None` when it is not a valid value).
    user_agent_value: Option<http::HeaderValue>,
    /// Origins (`host`, port) whose certificate failed verification, with the reason.
    fallen_back: Arc<Mutex<HashMap<(String, u16), String>>>,
    /// Requests of this audit sent again after the server went away.
    retries: Arc<std::sync::atomic::AtomicU64>,
    group: Option<Arc<Group>>,
}

impl NetCx {
    /// An audit's view: `extra_roots` are its `--ca-file` certificates (anchors and pins).
    pub fn new(
        net: Net,
        extra_roots: &[CertificateDer<'static>],
        user_agent: &str,
        strict_tls: bool,
    ) -> NetCx {
        let trust = Trust::new(extra_roots);
        // Built once per trust for the whole pool: sessions resume across audits.
        let verified = net.pool.tls.verified(&trust);
        let unverified_tls = net.pool.tls.unverified();
        NetCx {
            net,
            trust: trust.id,
            verified,
            unverified_tls,
            strict_tls,
            user_agent: user_agent.to_string(),
            user_agent_value: http::HeaderValue::from_str(user_agent).ok(),
            fallen_back: Arc::new(Mutex::new(HashMap::new())),
            retries: Arc::default(),
            group: None,
        }
    }

    /// A fresh transport for one audit (no fleet, no exporter).
    pub fn standalone(run: &RunConfig, extra_roots: &[CertificateDer<'static>]) -> NetCx {
        NetCx::new(
            Net::for_run(run),
            extra_roots,
            &run.user_agent,
            run.strict_tls,
        )
    }

    /// Why the TLS configuration of this audit cannot be built, if it cannot.
    pub fn setup_error(&self) -> Option<&TlsSetupError> {
        self.verified.as_ref().err()
    }

    /// A copy whose requests go on connections of their own, closed once every copy is gone.
    pub fn grouped(&self) -> NetCx {
        NetCx {
            group: Some(Arc::new(Group {
                pool: Arc::clone(&self.net.pool),
                id: self.net.pool.next_id(),
            })),
            ..self.clone()
        }
    }

    fn origin(url: &Url) -> (String, u16) {
        (
            url.host_str().unwrap_or_default().to_ascii_lowercase(),
            url.port_or_known_default().unwrap_or_default(),
        )
    }

    /// Counts a request sent again (for the report's scope).
    pub fn count_retry(&self) {
        self.retries
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Requests of this audit sent again after the server went away.
    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Why `url`'s origin is reached over an unverified connection, if it is.
    pub fn unverified(&self, url: &Url) -> Option<String> {
        if url.scheme() != "https" {
            return None;
        }
        self.fallen_back
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Self::origin(url))
            .cloned()
    }

    /// From now on, `url`'s origin is observed over an unverified connection.
    pub fn fall_back(&self, url: &Url, reason: &str) {
        self.fallen_back
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(Self::origin(url))
            .or_insert_with(|| reason.to_string());
    }

    /// A TCP connection to `host:port` through the run's resolver and connection limit (for
    /// the TLS probes).
    pub async fn tcp(&self, host: &str, port: u16) -> Result<LimitedTcp, NetError> {
        pool::tcp(&self.net.pool, &self.net.resolver, host, port)
            .await
            .map(|(tcp, _)| tcp)
    }

    /// Sends one request and returns the response head; the body is read with
    /// [`Answer::read`].
    pub async fn send(&self, out: &Outgoing<'_>) -> Result<Answer, SendError> {
        let https = out.url.scheme() == "https";
        let (host, port) = (
            Arc::<str>::from(out.url.host_str().unwrap_or_default()),
            out.url.port_or_known_default().unwrap_or_default(),
        );
        let configs = if !https {
            None
        } else if out.unverified {
            Some(
                self.unverified_tls
                    .as_ref()
                    .map_err(|e| NetError::Tls(e.to_string()))?,
            )
        } else {
            Some(
                self.verified
                    .as_ref()
                    .map_err(|e| NetError::Tls(e.to_string()))?,
            )
        };
        let key = OriginKey {
            https,
            host,
            port,
            tls: match (https, out.unverified) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => self.trust,
            },
            group: self.group.as_ref().map_or(0, |g| g.id),
        };
        let dial = Dial {
            resolver: &self.net.resolver,
            tls: configs.map(|c| {
                if out.checkout.alone {
                    Arc::clone(&c.http1)
                } else {
                    Arc::clone(&c.shared)
                }
            }),
        };
        let (mut lease, queued) = self.net.pool.checkout(&key, out.checkout, &dial).await?;
        let request = build_request(out, self.user_agent_value.as_ref(), lease.is_h2())?;
        let connection = Some(lease.id);
        match lease.send(request).await {
            Some(Ok(response)) => {
                let (head, body) = response.into_parts();
                Ok(Answer {
                    head,
                    body,
                    lease,
                    queued,
                })
            }
            Some(Err(err)) => {
                let retry = retry_reason(&err, lease.reused);
                if matches!(retry, Some(RetryReason::GoAway(_) | RetryReason::NotSent)) {
                    lease.retire();
                }
                Err(SendError {
                    error: NetError::Http(format!("sending the request: {}", error_chain(&err))),
                    retry,
                    connection,
                })
            }
            None => Err(SendError {
                error: NetError::Http("the connection was given back before use".to_string()),
                retry: None,
                connection,
            }),
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Method.
    pub method: &'a http::Method,
    /// Where (userinfo is never sent).
    pub url: &'a Url,
    /// Headers, in order.
    pub headers: &'a [(String, String)],
    /// Body, if any.
    pub body: Option<&'a str>,
    /// Over an unverified TLS connection.
    pub unverified: bool,
    /// Which connection it may go on.
    pub checkout: Checkout,
}

/// A response head, its body still on the connection.
#[derive(Debug)]
pub struct Answer {
    /// Status, version, headers.
    pub head: http::response::Parts,
    body: Incoming,
    lease: Lease,
    /// How long the request waited for a connection slot or a stream.
    pub queued: Duration,
}

/// A body as read: at most the cap, and whether there was more.
#[derive(Debug, Clone, Default)]
pub struct ReadBody {
    /// The bytes, at most the cap.
    pub bytes: Vec<u8>,
    /// True when the body was longer than the cap.
    pub truncated: bool,
}

impl Answer {
    /// Reads the body to its end, at most `cap` bytes; a longer body closes its connection (see
    /// [`pool`]) instead of resetting the stream.
    pub async fn read(self, cap: usize) -> Result<ReadBody, NetError> {
        let Answer {
            mut body, lease, ..
        } = self;
        // One allocation when the length is announced (bounded by the cap, so a lying
        // Content-Length cannot make us reserve more than we would keep).
        let announced = usize::try_from(hyper::body::Body::size_hint(&body).lower()).unwrap_or(0);
        let mut out: Vec<u8> = Vec::with_capacity(announced.min(cap));
        loop {
            match body.frame().await {
                None => {
                    lease.finish().await;
                    return Ok(ReadBody {
                        bytes: out,
                        truncated: false,
                    });
                }
                Some(Err(err)) => {
                    if goaway_code(&err).is_some() {
                        lease.retire();
                    }
                    return Err(NetError::Http(format!(
                        "error reading the response body from the connection: {}",
                        error_chain(&err)
                    )));
                }
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    let room = cap.saturating_sub(out.len());
                    if data.len() > room {
                        out.extend_from_slice(&data[..room]);
                        lease.overflow(body);
                        return Ok(ReadBody {
                            bytes: out,
                            truncated: true,
                        });
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
}

/// The request as hyper sends it: origin-form and `Host` for HTTP/1.1, absolute-form for
/// HTTP/2 (`:authority`), `User-Agent` and `Accept: */*` unless given, `Connection: close` on a
/// one-shot connection.
///
/// Built straight into the request's header map, each string handed over without a copy (a
/// request is built ~60–80 times per audit, thousands of times per second in a fleet).
fn build_request(
    out: &Outgoing<'_>,
    user_agent: Option<&http::HeaderValue>,
    h2: bool,
) -> Result<http::Request<pool::Body>, NetError> {
    let bad = |what: String| NetError::Http(format!("cannot build the request: {what}"));
    let path = &out.url[Position::BeforePath..Position::AfterQuery];
    let path = if path.is_empty() { "/" } else { path };
    let host = out.url.host_str().unwrap_or_default();
    let authority = match out.url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let uri = if h2 {
        http::Uri::builder()
            .scheme(out.url.scheme())
            .authority(authority.as_str())
            .path_and_query(path)
            .build()
    } else {
        http::Uri::builder().path_and_query(path).build()
    }
    .map_err(|e| bad(e.to_string()))?;
    let body = match out.body {
        Some(body) if !body.is_empty() => Bytes::copy_from_slice(body.as_bytes()),
        _ => Bytes::new(),
    };
    let mut request = http::Request::new(Full::new(body));
    *request.method_mut() = out.method.clone();
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.reserve(out.headers.len() + 4);
    if !h2 {
        let value =
            http::HeaderValue::try_from(authority).map_err(|_| bad("invalid host".to_string()))?;
        headers.insert(http::header::HOST, value);
    }
    let has = |name: &str| {
        out.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !has("user-agent") {
        let value = user_agent.ok_or_else(|| bad("invalid User-Agent".to_string()))?;
        headers.insert(http::header::USER_AGENT, value.clone());
    }
    if !has("accept") {
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("*/*"));
    }
    for (name, value) in out.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("invalid header name {name:?}")))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| bad(format!("invalid value for header {name}")))?;
        headers.append(name, value);
    }
    if out.checkout.alone && !h2 {
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    Ok(request)
}

/// The h2 error in a hyper error's chain.
fn h2_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a h2::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return Some(h2);
        }
        current = e.source();
    }
    None
}

/// The error code of a GOAWAY the server sent, if that is what ended the stream.
fn goaway_code(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let h2 = h2_error(err)?;
    (h2.is_go_away() && h2.is_remote()).then(|| {
        h2.reason()
            .map_or_else(|| "no code".to_string(), |r| format!("{r:?}"))
    })
}

/// Whether a failed send may go again on a new connection.
fn retry_reason(err: &hyper::Error, reused: bool) -> Option<RetryReason> {
    if let Some(code) = goaway_code(err) {
        return Some(RetryReason::GoAway(code));
    }
    if let Some(h2) = h2_error(err)
        && h2.is_reset()
        && h2.reason() == Some(h2::Reason::REFUSED_STREAM)
    {
        return Some(RetryReason::Refused);
    }
    // hyper cancels only requests it never started to write: a connection that closed (an
    // HTTP/2 connection draining after GOAWAY, say) with the request still in its queue, or
    // one that was not ready. Seen on nginx after `keepalive_requests` with many audits
    // sharing the connection.
    if err.is_canceled() {
        return Some(RetryReason::NotSent);
    }
    if !reused {
        return None;
    }
    let closed = err.is_incomplete_message() || err.is_closed() || {
        let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
        let mut io_closed = false;
        while let Some(e) = current {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                io_closed |= matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                );
            }
            current = e.source();
        }
        io_closed
    };
    closed.then_some(RetryReason::ClosedBeforeAnswer)
}
