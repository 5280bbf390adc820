//! The HTTP probe: one request (following same-host redirects when asked), recorded as an
//! [`HttpExchange`] with secrets masked, the body capped and timings measured.
//!
//! The bytes move through [`super::net`]; this layer decides what may be sent: a hostile request
//! goes alone, a safe request the server went away from is sent once more (and the evidence
//! says so), and over an *unverified* connection — the certificate failed verification and
//! `--strict-tls` is off — no configured header is sent and a request carrying a credential is
//! not sent at all.
//!
//! Redirects are followed here rather than by the client so that every hop lands in the evidence,
//! a loop is reported as such, and a redirect to another host is recorded instead of followed
//! (a prober must not wander off to hosts it was not pointed at).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::time::Instant;
use url::Url;

use super::net::{Answer, Checkout, NetError, Outgoing, RetryReason, SendError};
use super::{ProbeCx, ProbeError, error_chain};
use crate::observations::http::{BODY_KEEP, Hop, HttpExchange, MAX_REDIRECTS, RequestSpec};
use crate::redact;

/// How a plain client for side channels is built (webhooks, readiness polls, fault proxy
/// control endpoints); requests to the target go through [`send`].
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Connect and request timeout.
    pub timeout: Duration,
    /// Extra trust anchors (a private CA, the demo target's certificate).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The `User-Agent` sent.
    pub user_agent: String,
}

/// Why the side-channel HTTP client could not be built: the part and the library's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// An extra CA certificate cannot be a trust anchor.
    #[error("a CA certificate is not usable as a trust anchor: {0}")]
    Anchor(String),
    /// The rustls configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// reqwest refused the configuration (the error chain).
    #[error("HTTP client: {0}")]
    Build(String),
}

/// Builds a plain HTTP client for side channels: rustls on ring, webpki roots plus extra anchors,
/// HTTP/2 by ALPN, no automatic redirects, no cookie store, no transparent decompression.
pub fn client(opts: &ClientOptions) -> Result<reqwest::Client, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in &opts.extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| ClientError::Anchor(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(opts.timeout)
        .timeout(opts.timeout)
        .user_agent(opts.user_agent.clone())
        .pool_max_idle_per_host(8)
        .build()
        .map_err(|e| ClientError::Build(error_chain(&e)))
}

/// Sends one `GET` that follows same-host redirects.
pub async fn get(cx: &ProbeCx, url: &Url) -> Result<HttpExchange, ProbeError> {
    send(cx, &RequestSpec::get(url.clone())).await
}

/// Sends a request under the run's limits and records what came back.
pub async fn send(cx: &ProbeCx, spec: &RequestSpec) -> Result<HttpExchange, ProbeError> {
    send_keeping(cx, spec, BODY_KEEP).await
}

/// Like [`send`], but keeps up to `keep` bytes of decoded body text instead of [`BODY_KEEP`]
/// (still never more than the run's body cap): for probes that parse whole documents, such as
/// a metrics exposition.
pub async fn send_keeping(
    cx: &ProbeCx,
    spec: &RequestSpec,
    keep: usize,
) -> Result<HttpExchange, ProbeError> {
    let subject = format!("{} {}", spec.method, redact::url(&spec.url));
    let _permit = cx.permit(&subject).await?;
    let started = Instant::now();
    // Boxed: the exchange (connection setup, TLS, retries) is a large future, and probes hold
    // dozens of requests at once; inline, they would make every probe's future that large.
    let result = match tokio::time::timeout_at(
        cx.op_deadline(),
        Box::pin(exchange(cx, spec, &subject, started, keep)),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(cx.expired(&subject)),
    };
    if matches!(
        result,
        Ok(_) | Err(ProbeError::Tls { .. } | ProbeError::Protocol { .. })
    ) {
        cx.mark_answered();
    }
    result
}

/// What the transport did for one request, beyond the answer: for the evidence.
#[derive(Debug, Default)]
struct Notes {
    /// Each retry and why.
    retries: Vec<String>,
    /// Time spent waiting for a connection slot or a stream (not part of the latency).
    queued: Duration,
    /// Set when the answer came over an unverified connection.
    unverified: Option<String>,
    /// The headers sent on the last hop (secret values masked).
    request_headers: Vec<(String, String)>,
}

/// RFC 9110 §9.2.1 safe methods: the only ones readyprobe sends again by itself (a mutation,
/// idempotent or not, is never repeated behind the user's back).
fn is_safe(method: &reqwest::Method) -> bool {
    matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

async fn exchange(
    cx: &ProbeCx,
    spec: &RequestSpec,
    subject: &str,
    started: Instant,
    keep: usize,
) -> Result<HttpExchange, ProbeError> {
    let method =
        reqwest::Method::from_bytes(spec.method.as_bytes()).map_err(|_| ProbeError::Protocol {
            subject: subject.to_string(),
            reason: format!("invalid method {:?}", spec.method),
        })?;
    let mut url = spec.url.clone();
    let mut method_now = method.clone();
    let mut hops: Vec<Hop> = Vec::new();
    let mut visited: Vec<Url> = vec![url.clone()];
    let mut notes = Notes::default();
    loop {
        cx.spend_request(subject)?;
        // The body goes with the method: a 303 (or a 301/302 of a POST) turns it into a GET.
        let body = if method_now == method {
            spec.body.as_deref()
        } else {
            None
        };
        let answer = hop(cx, spec, &method_now, &url, body, subject, &mut notes).await?;
        let status = answer.head.status.as_u16();
        if spec.follow_redirects && (300..400).contains(&status) {
            let next = answer
                .head
                .headers
                .get(http::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .and_then(|loc| url.join(&loc).ok().map(|next| (loc, next)));
            if let Some((location, next)) = next
                && next.host_str() == spec.url.host_str()
            {
                // Read to its end so the connection can carry the next hop.
                let _ = answer.read(cx.max_body).await;
                hops.push(Hop {
                    status,
                    url: redact::url(&url),
                    location: location.clone(),
                });
                if visited.contains(&next) {
                    let chain: Vec<&str> = hops.iter().map(|h| h.url.as_str()).collect();
                    return Err(ProbeError::Protocol {
                        subject: subject.to_string(),
                        reason: format!(
                            "redirect loop: {} → {}",
                            chain.join(" → "),
                            redact::url(&next)
                        ),
                    });
                }
                if hops.len() > MAX_REDIRECTS {
                    return Err(ProbeError::Protocol {
                        subject: subject.to_string(),
                        reason: format!("more than {MAX_REDIRECTS} redirects"),
                    });
                }
                if !matches!(status, 307 | 308) {
                    method_now = reqwest::Method::GET;
                }
                visited.push(next.clone());
                url = next;
                continue;
            }
        }
        return record(
            cx,
            subject,
            answer,
            RecordParts {
                method: spec.method.clone(),
                url: redact::url(&spec.url),
                final_url: redact::url(&url),
                redirects: hops,
                started,
                keep,
                notes,
            },
        )
        .await;
    }
}

/// Sends one hop: over a verified connection, or — once this origin's certificate failed
/// verification and `--strict-tls` is off — over an unverified one without the configured
/// headers; and again on a new connection when the server went away before answering a safe
/// request (once after a reused connection closed, up to three times when the server said it did
/// not process it).
async fn hop(
    cx: &ProbeCx,
    spec: &RequestSpec,
    method: &reqwest::Method,
    url: &Url,
    body: Option<&str>,
    subject: &str,
    notes: &mut Notes,
) -> Result<Answer, ProbeError> {
    let mut checkout = Checkout {
        alone: spec.alone,
        ..Checkout::default()
    };
    // A request the server says it did not process (GOAWAY, REFUSED_STREAM) or never saw (its
    // connection closed before it was written) goes again up to this many times; one that may
    // have been processed (a reused connection closed) once.
    const UNPROCESSED_RETRIES: usize = 3;
    let mut retried_closed = false;
    loop {
        let unverified = cx.net.unverified(url);
        let headers: Vec<(String, String)> = match &unverified {
            None => cx
                .extra_headers
                .iter()
                .chain(spec.headers.iter())
                .cloned()
                .collect(),
            Some(why) => {
                if let Some(what) = credential_in(cx, spec, url, body) {
                    return Err(ProbeError::Tls {
                        subject: subject.to_string(),
                        reason: format!(
                            "not sent: the certificate failed verification ({why}) and {what} \
                             carries a credential, which is never sent over an unverified connection"
                        ),
                    });
                }
                spec.headers.clone()
            }
        };
        notes.request_headers = headers
            .iter()
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    redact::header_value(name, value).into_owned(),
                )
            })
            .collect();
        notes.unverified = unverified.clone();
        let out = Outgoing {
            method,
            url,
            headers: &headers,
            body,
            unverified: unverified.is_some(),
            checkout,
        };
        let failed = match cx.net.send(&out).await {
            Ok(answer) => {
                notes.queued += answer.queued;
                return Ok(answer);
            }
            Err(failed) => failed,
        };
        match failed {
            SendError {
                error: NetError::CertificateRejected(reason),
                ..
            } if unverified.is_none() && !cx.net.strict_tls => {
                cx.net.fall_back(url, &cx.redactor.scrub(&reason));
            }
            SendError {
                retry: Some(why),
                connection,
                ..
            } if is_safe(method)
                && match why {
                    RetryReason::ClosedBeforeAnswer => !retried_closed,
                    RetryReason::GoAway(_) | RetryReason::Refused | RetryReason::NotSent => {
                        notes.retries.len() < UNPROCESSED_RETRIES
                    }
                } =>
            {
                retried_closed |= why == RetryReason::ClosedBeforeAnswer;
                cx.net.count_retry();
                notes
                    .retries
                    .push(format!("sent again on a new connection: {why}"));
                cx.spend_request(subject)?;
                checkout.new_http1 = true;
                checkout.avoid = connection;
            }
            failed => return Err(probe_error(cx, subject, failed.error, &notes.retries)),
        }
    }
}

/// What in this request is a credential, if anything: the URL's userinfo, an `Authorization:
/// Basic` header, or any header value or body holding a configured secret (a `-H` value, the
/// access token or its signature, a dependency password). Forged tokens and canaries are not.
fn credential_in(
    cx: &ProbeCx,
    spec: &RequestSpec,
    url: &Url,
    body: Option<&str>,
) -> Option<String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Some("the URL's user information".to_string());
    }
    let holds_secret = |text: &str| cx.redactor.scrub(text) != text;
    if holds_secret(url.as_str()) {
        return Some("its URL".to_string());
    }
    for (name, value) in &spec.headers {
        let basic = (name.eq_ignore_ascii_case("authorization")
            || name.eq_ignore_ascii_case("proxy-authorization"))
            && value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("basic ");
        if basic || holds_secret(value) {
            return Some(format!("its {} header", name.to_ascii_lowercase()));
        }
    }
    if body.is_some_and(holds_secret) {
        return Some("its body".to_string());
    }
    None
}

/// A transport failure as the probe reports it, secrets masked, retries named.
fn probe_error(cx: &ProbeCx, subject: &str, error: NetError, retries: &[String]) -> ProbeError {
    let mut reason = cx.redactor.scrub(&error.to_string());
    if !retries.is_empty() {
        reason = format!(
            "{reason} (after {}: {})",
            plural_retries(retries.len()),
            retries.join("; ")
        );
    }
    let subject = subject.to_string();
    match error {
        NetError::Resolve(_) | NetError::Connect(_) => ProbeError::Connect { subject, reason },
        NetError::Tls(_) | NetError::CertificateRejected(_) => ProbeError::Tls { subject, reason },
        NetError::Http(_) => ProbeError::Protocol { subject, reason },
    }
}

fn plural_retries(n: usize) -> String {
    if n == 1 {
        "one retry".to_string()
    } else {
        format!("{n} retries")
    }
}

struct RecordParts {
    method: String,
    url: String,
    final_url: String,
    redirects: Vec<Hop>,
    started: Instant,
    keep: usize,
    notes: Notes,
}

async fn record(
    cx: &ProbeCx,
    subject: &str,
    answer: Answer,
    parts: RecordParts,
) -> Result<HttpExchange, ProbeError> {
    let status = answer.head.status.as_u16();
    let version = format!("{:?}", answer.head.version);
    let headers: Vec<(String, String)> = answer
        .head
        .headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_ascii_lowercase();
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let value = redact::header_value(&name, &value).into_owned();
            (name, value)
        })
        .collect();
    let read = answer
        .read(cx.max_body)
        .await
        .map_err(|e| probe_error(cx, subject, e, &parts.notes.retries))?;
    let elapsed = parts.started.elapsed().saturating_sub(parts.notes.queued);
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    let encoding = headers
        .iter()
        .find(|(n, _)| n == "content-encoding")
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    let (decoded, body_decoded) = decode(&read.bytes, encoding.as_deref(), cx.max_body);
    let keep = decoded.len().min(parts.keep);
    Ok(HttpExchange {
        method: parts.method,
        url: parts.url,
        final_url: parts.final_url,
        request_headers: parts.notes.request_headers,
        status,
        version,
        headers,
        body_len: read.bytes.len() as u64,
        body_truncated: read.truncated,
        body: cx
            .redactor
            .scrub(&String::from_utf8_lossy(&decoded[..keep])),
        body_decoded,
        elapsed_ms,
        redirects: parts.redirects,
        retries: parts.notes.retries,
        unverified: parts.notes.unverified,
    })
}

/// Decodes gzip/deflate bodies, never past `cap` bytes (a gzip bomb stops at the cap).
fn decode(raw: &[u8], encoding: Option<&str>, cap: usize) -> (Vec<u8>, bool) {
    let limit = cap as u64;
    let mut out = Vec::new();
    match encoding {
        None | Some("") | Some("identity") => (raw.to_vec(), true),
        Some("gzip") | Some("x-gzip") => {
            // A truncated stream still yields what decoded before the cut.
            let _ = flate2::read::GzDecoder::new(raw)
                .take(limit)
                .read_to_end(&mut out);
            (out, true)
        }
        Some("deflate") => {
            if flate2::read::ZlibDecoder::new(raw)
                .take(limit)
                .read_to_end(&mut out)
                .is_err()
            {
                out.clear();
                let _ = flate2::read::DeflateDecoder::new(raw)
                    .take(limit)
                    .read_to_end(&mut out);
            }
            (out, true)
        }
        Some(_) => (Vec::new(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange_with(headers: &[(&str, &str)]) -> HttpExchange {
        HttpExchange {
            method: "GET".into(),
            url: "https://x/".into(),
            final_url: "https://x/".into(),
            status: 200,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..HttpExchange::default()
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_keeps_duplicates() {
        let ex = exchange_with(&[("set-cookie", "a=1"), ("Set-Cookie", "b=2")]);
        assert_eq!(ex.header("SET-COOKIE"), Some("a=1"));
        assert_eq!(ex.headers_named("set-cookie"), vec!["a=1", "b=2"]);
    }

    #[test]
    fn media_type_drops_parameters() {
        let ex = exchange_with(&[("content-type", "Text/HTML; charset=utf-8")]);
        assert_eq!(ex.media_type().as_deref(), Some("text/html"));
    }

    #[test]
    fn gzip_bomb_stops_at_cap() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 4 * 1024 * 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        let (out, decoded) = decode(&bomb, Some("gzip"), 64 * 1024);
        assert!(decoded);
        assert_eq!(out.len(), 64 * 1024);
    }

    #[test]
    fn brotli_is_reported_undecoded() {
        let (out, decoded) = decode(b"\x0b\x02", Some("br"), 1024);
        assert!(!decoded && out.is_empty());
    }
}
