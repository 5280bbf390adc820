//! HTTP exchanges, requests to send, health endpoints and error pages.

use serde::{Deserialize, Serialize};
use url::Url;

use super::Probed;

/// How much decoded body text an exchange keeps for checks and recordings.
pub const BODY_KEEP: usize = 64 * 1024;

/// The most redirects a probe follows.
pub const MAX_REDIRECTS: usize = 5;

/// One redirect that was followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    /// The redirect's status code.
    pub status: u16,
    /// The URL that answered with the redirect (redacted).
    pub url: String,
    /// Its `Location` header, as sent.
    pub location: String,
}

/// What one request saw: serialisable, redacted, replayable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpExchange {
    /// Request method.
    pub method: String,
    /// The URL first requested (redacted).
    pub url: String,
    /// The URL that produced this response, after redirects (redacted).
    pub final_url: String,
    /// Headers the probe set on the request (secret values masked).
    pub request_headers: Vec<(String, String)>,
    /// Response status code.
    pub status: u16,
    /// `HTTP/1.1`, `HTTP/2.0`…
    pub version: String,
    /// Response headers in arrival order, names lowercase, values lossily decoded; `Set-Cookie`
    /// values masked.
    pub headers: Vec<(String, String)>,
    /// Body bytes received on the wire (up to the cap).
    pub body_len: u64,
    /// True when the body was longer than the cap and the rest was not read.
    pub body_truncated: bool,
    /// The decoded body as text (lossy UTF-8), at most [`BODY_KEEP`] bytes; empty when the
    /// encoding could not be decoded (see `body_decoded`).
    pub body: String,
    /// False when the body's `Content-Encoding` is one the probe does not decode (br, zstd).
    pub body_decoded: bool,
    /// Time from sending the first request to the end of the body, in milliseconds.
    pub elapsed_ms: f64,
    /// Redirects followed before this response.
    pub redirects: Vec<Hop>,
    /// Each time the request was sent again on a new connection, and why (the server went away
    /// before answering); empty when it went once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<String>,
    /// Set when the answer came over an unverified TLS connection (the certificate failed
    /// verification for this reason); no configured header or credential was sent over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<String>,
}

impl HttpExchange {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in arrival order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// True when the header is present at least once.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The media type of the response, lowercase, without parameters (`text/html`).
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// True when the answer is an HTML document (a page, not an API or health answer).
    pub fn is_html_document(&self) -> bool {
        let head: String = self
            .body
            .trim_start()
            .chars()
            .take(256)
            .collect::<String>()
            .to_ascii_lowercase();
        self.media_type().as_deref() == Some("text/html")
            && (head.contains("<!doctype html") || head.contains("<html"))
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `GET https://host/path → 200` — the start of most evidence lines; an answer over an
    /// unverified connection or after a retry says so.
    pub fn request_line(&self) -> String {
        let mut line = format!("{} {} → {}", self.method, self.final_url, self.status);
        if self.unverified.is_some() {
            line.push_str(" [unverified connection]");
        }
        for retry in &self.retries {
            line.push_str(&format!(" [{retry}]"));
        }
        line
    }

    /// The request line followed by one header as received, or "no <Header> header".
    pub fn header_evidence(&self, name: &str) -> String {
        let values = self.headers_named(name);
        if values.is_empty() {
            format!("{}, no {} header", self.request_line(), name)
        } else {
            format!("{}, {}: {}", self.request_line(), name, values.join(" | "))
        }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Method (`GET`, `HEAD`, `OPTIONS`; others only for configured mutations).
    pub method: String,
    /// Where to send it.
    pub url: Url,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<String>,
    /// Follow same-host redirects (up to [`MAX_REDIRECTS`]).
    pub follow_redirects: bool,
    /// A hostile request (malformed, oversized, forged): sent alone on a fresh HTTP/1.1
    /// connection that carries nothing else and is closed after the answer, so a server that
    /// drops the connection over it takes no other request down.
    pub alone: bool,
}

impl RequestSpec {
    /// A `GET` that follows same-host redirects.
    pub fn get(url: Url) -> RequestSpec {
        RequestSpec {
            method: "GET".to_string(),
            url,
            headers: Vec::new(),
            body: None,
            follow_redirects: true,
            alone: false,
        }
    }

    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> RequestSpec {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Records redirects instead of following them.
    pub fn no_follow(mut self) -> RequestSpec {
        self.follow_redirects = false;
        self
    }

    /// Marks the request hostile: it goes alone on a connection of its own (see
    /// [`RequestSpec::alone`]).
    pub fn alone(mut self) -> RequestSpec {
        self.alone = true;
        self
    }
}

/// What kind of health endpoint a path is meant to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthKind {
    /// "Is the process alive?" (`/livez`, `/healthz`, `/actuator/health/liveness`).
    Liveness,
    /// "Can it serve traffic?" (`/readyz`, `/ready`, `/actuator/health/readiness`).
    Readiness,
    /// A single generic endpoint (`/health`, `/actuator/health`).
    Generic,
}

impl HealthKind {
    /// The lowercase name used in evidence lines.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthKind::Liveness => "liveness",
            HealthKind::Readiness => "readiness",
            HealthKind::Generic => "generic",
        }
    }
}

/// One health endpoint candidate and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthProbe {
    /// The path requested (`/readyz`).
    pub path: String,
    /// What the path is meant to be.
    pub kind: HealthKind,
    /// True when the user named this path (`[health]`), false for a built-in candidate: a
    /// configured readiness endpoint is judged whatever it answers, a candidate only if it exists.
    #[serde(default)]
    pub configured: bool,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}

impl HealthProbe {
    /// True when the endpoint exists: it answered with anything but 404/405/410 (a 503 from a
    /// readiness endpoint still proves the endpoint is there), and not with an HTML page (a
    /// single-page app's catch-all route answers 200 with its index everywhere).
    pub fn exists(&self) -> bool {
        match self.exchange.observed() {
            Some(ex) => {
                !matches!(ex.status, 404 | 405 | 410) && ex.status < 600 && !ex.is_html_document()
            }
            None => false,
        }
    }

    /// True when the path answered with an HTML page: a catch-all route, not a health endpoint.
    pub fn is_catch_all_page(&self) -> bool {
        self.exchange
            .observed()
            .is_some_and(|ex| !matches!(ex.status, 404 | 405 | 410) && ex.is_html_document())
    }
}

/// Repeated timings of the health endpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySamples {
    /// The paths sampled, round-robin.
    pub paths: Vec<String>,
    /// Milliseconds of each request that completed.
    pub samples_ms: Vec<f64>,
    /// Requests that timed out.
    pub timeouts: u32,
    /// Requests that failed otherwise (refused, reset…), with the first reason.
    pub failures: u32,
    /// The first failure reason seen, if any.
    pub first_failure: Option<String>,
}

/// Which malformed or unexpected request an error-page probe sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorProbeKind {
    /// A path that cannot exist.
    NotFound,
    /// A query string with quotes and brackets that naive code chokes on.
    MalformedQuery,
    /// A 16 KiB request header.
    OversizedHeader,
    /// A truncated JSON body to a configured endpoint (only when configured: it is a mutation).
    MalformedJson,
}

impl ErrorProbeKind {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorProbeKind::NotFound => "unknown path",
            ErrorProbeKind::MalformedQuery => "malformed query string",
            ErrorProbeKind::OversizedHeader => "16 KiB request header",
            ErrorProbeKind::MalformedJson => "malformed JSON body",
        }
    }
}

/// One error-page probe and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorProbe {
    /// What was sent.
    pub kind: ErrorProbeKind,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}

/// Joins a path onto the target, keeping the target's own path prefix (`/app` + `/readyz`).
pub fn join_path(target: &Url, path: &str) -> Url {
    let mut url = target.clone();
    let base = url.path().trim_end_matches('/').to_string();
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    url.set_path(&format!("{base}{path}"));
    url.set_query(query);
    url.set_fragment(None);
    url
}
