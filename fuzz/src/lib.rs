//! Helpers shared by the fuzz targets: turning fuzzer bytes into the values readyprobe's
//! public API takes (an HTTP exchange, a header list, observations of a target).
//!
//! The targets call the same public functions as the proptest properties in `tests/fuzz.rs`.

use readyprobe::observations::TargetInfo;
use readyprobe::probes::http::HttpExchange;

/// The fuzzer's bytes as text (invalid UTF-8 replaced, as the HTTP probe decodes bodies and
/// header values).
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A raw header block (`Name: value` lines, CRLF or LF, an optional status line first) as the
/// probe records headers: names lowercased, values trimmed. Lines without a colon are skipped.
pub fn headers(block: &str) -> Vec<(String, String)> {
    block
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| !name.is_empty() && !name.contains(' '))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .collect()
}

/// A response exchange with these parts, as the HTTP probe would record it.
pub fn exchange(status: u16, headers: Vec<(String, String)>, body: String) -> HttpExchange {
    HttpExchange {
        method: "GET".to_string(),
        url: "https://app.example.test/".to_string(),
        final_url: "https://app.example.test/".to_string(),
        status,
        version: "HTTP/1.1".to_string(),
        headers,
        body_len: body.len() as u64,
        body,
        body_decoded: true,
        elapsed_ms: 1.0,
        ..HttpExchange::default()
    }
}

/// The audited target, over HTTPS or plain HTTP.
pub fn target(https: bool) -> TargetInfo {
    let scheme = if https { "https" } else { "http" };
    TargetInfo {
        url: format!("{scheme}://app.example.test/"),
        scheme: scheme.to_string(),
        host: "app.example.test".to_string(),
        port: if https { 443 } else { 80 },
    }
}

/// The status code a header block's status line gives (`HTTP/1.1 429 Too Many Requests`), else
/// `default`.
pub fn status(block: &str, default: u16) -> u16 {
    block
        .lines()
        .next()
        .filter(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
