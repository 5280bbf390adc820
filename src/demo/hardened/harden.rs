//! The middleware that makes every response hardened: request validation before the handler;
//! problem+json bodies, gzip, conditional requests and the security headers after it.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, SERVER, VARY,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::{PROBLEM_JSON, problem, problem_body};
use crate::demo::app;

/// Headers set on every response of the hardened application.
const SECURITY_HEADERS: [(&str, &str); 8] = [
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// Bodies smaller than this are not worth compressing.
const MIN_COMPRESS_BYTES: usize = 256;
/// Upper bound when buffering a response body to compress it (our own responses are far smaller).
const MAX_BUFFERED_BODY: usize = 16 * 1024 * 1024;
/// Validation before the handler; problem bodies, compression, conditional requests and the
/// security headers after it.
pub(super) async fn harden(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let gzip_ok = accepts_gzip(req.headers());
    let if_none_match = req.headers().get(IF_NONE_MATCH).cloned();

    let response = if app::header_bytes(req.headers()) > app::MAX_HEADER_BYTES {
        problem(
            StatusCode::BAD_REQUEST,
            Some("The request headers are larger than 8 KiB."),
        )
    } else if !req.uri().query().is_none_or(app::query_is_clean) {
        problem(
            StatusCode::BAD_REQUEST,
            Some("The query string contains characters that are not allowed."),
        )
    } else {
        next.run(req).await
    };

    let mut response = problem_for_bare_error(response);
    if method == Method::GET || method == Method::HEAD {
        response = negotiate(response, gzip_ok, if_none_match.as_ref()).await;
    }
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.remove(SERVER);
    headers.remove(HeaderName::from_static("x-powered-by"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Error responses made by the framework (405, 413, 415 …) come without a body type; give them
/// a problem+json body, keeping their headers (e.g. `Allow`).
fn problem_for_bare_error(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = problem_body(status, None);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// gzip for clients that accept it, then `304 Not Modified` when `If-None-Match` matches.
async fn negotiate(
    response: Response,
    gzip_ok: bool,
    if_none_match: Option<&HeaderValue>,
) -> Response {
    let compressible = response.status() == StatusCode::OK
        && !response.headers().contains_key(CONTENT_ENCODING)
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_compressible_type);
    if !compressible {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BUFFERED_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return problem(StatusCode::INTERNAL_SERVER_ERROR, None);
        }
    };
    parts
        .headers
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));

    let mut body = bytes;
    if gzip_ok
        && body.len() >= MIN_COMPRESS_BYTES
        && let Some(compressed) = gzip(&body)
    {
        body = Bytes::from(compressed);
        parts
            .headers
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        parts.headers.remove(CONTENT_LENGTH);
        // A different representation gets a different validator.
        if let Some(tag) = parts.headers.get(ETAG).and_then(|v| v.to_str().ok()) {
            let gz_tag = format!("{}-gzip\"", tag.trim_end_matches('"'));
            if let Ok(value) = HeaderValue::from_str(&gz_tag) {
                parts.headers.insert(ETAG, value);
            }
        }
    }

    let not_modified = match (parts.headers.get(ETAG), if_none_match) {
        (Some(etag), Some(inm)) => etag_matches(inm, etag),
        _ => false,
    };
    if not_modified {
        parts.status = StatusCode::NOT_MODIFIED;
        for name in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING] {
            parts.headers.remove(name);
        }
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(body))
}

fn is_compressible_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("json")
        || essence.ends_with("xml")
        || essence == "application/javascript"
        || essence == "image/svg+xml"
}

/// Whether `Accept-Encoding` lists `gzip` (or `x-gzip`, or `*`) without `q=0`.
pub(super) fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or_default().trim();
            let named = coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*";
            let refused = params.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            named && !refused
        })
}

/// Weak comparison of `If-None-Match` (a list, or `*`) against the response's ETag.
pub(super) fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let etag = strip(etag);
    list.split(',').any(|t| t.trim() == "*" || strip(t) == etag)
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}
