//! Request accounting for both demo applications: every request is counted as in flight while it
//! is served (the hardened profile drains on SIGTERM until none is left), and with
//! `readyprobe demo --access-log` each one is logged on stdout the way the profile would.
//!
//! The flawed log is what a debug-minded Express app writes: a plain-text line with every header
//! and the raw body, passwords and tokens included. The hardened log is one JSON object per line
//! with the request id and with secret-looking query values masked; it never logs headers or
//! bodies. Both are real behaviour: readyprobe's `logging.*` checks read these lines.

use std::time::{Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::app::AppState;

/// The most request-body bytes the flawed log buffers (larger bodies are logged as unread).
const MAX_LOGGED_BODY: usize = 64 * 1024;
/// Query keys whose values the hardened log masks (substring match, lowercase).
const SECRET_KEYS: [&str; 6] = ["pass", "token", "secret", "key", "auth", "session"];

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The flawed application's logger: plain text, every header, the raw body.
pub(crate) async fn flawed(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let _in_flight = state.track();
    if !state.access_log() {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers: Vec<String> = req
        .headers()
        .iter()
        .map(|(n, v)| format!("{n}={}", String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let (parts, body) = req.into_parts();
    let (body_text, body) = match axum::body::to_bytes(body, MAX_LOGGED_BODY).await {
        Ok(bytes) => (
            String::from_utf8_lossy(&bytes).replace('\n', " "),
            Body::from(bytes),
        ),
        Err(_) => ("<unread>".to_string(), Body::from(Bytes::new())),
    };
    let response = next.run(Request::from_parts(parts, body)).await;
    println!(
        "[{}] {method} {uri} {} - headers: {} body: {}",
        now(),
        response.status().as_u16(),
        headers.join(" "),
        if body_text.is_empty() {
            "-"
        } else {
            &body_text
        }
    );
    response
}

/// The hardened application's logger: one JSON object per request, request id included,
/// secret-looking query values masked, no headers or bodies.
pub(crate) async fn hardened(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let _in_flight = state.track();
    if !state.access_log() {
        return next.run(req).await;
    }
    let started = Instant::now();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| state.random_hex(8), str::to_owned);
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(masked_query);
    let response = next.run(req).await;
    let line = json!({
        "ts": now(),
        "level": "info",
        "msg": "request",
        "request_id": request_id,
        "method": method,
        "path": path,
        "query": query,
        "status": response.status().as_u16(),
        "duration_ms": started.elapsed().as_millis() as u64,
    });
    println!("{line}");
    response
}

/// Logs one JSON event line when the access log is on (hardened lifecycle events).
pub(crate) fn event(state: &AppState, msg: &str) {
    if state.access_log() {
        println!("{}", json!({ "ts": now(), "level": "info", "msg": msg }));
    }
}

/// The query string with the values of secret-looking keys replaced by `***`.
fn masked_query(query: &str) -> String {
    url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                format!("{k}=***")
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::masked_query;

    #[test]
    fn secret_query_values_are_masked() {
        assert_eq!(
            masked_query("user=ada&password=hunter2&api_key=k&limit=5"),
            "user=ada&password=***&api_key=***&limit=5"
        );
    }
}
