//! Canary requests and what the log source showed afterwards.

use serde::{Deserialize, Serialize};

/// A canary secret kind found in a log line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leak {
    /// `password field`, `bearer token`, `session cookie`.
    pub canary: String,
    /// The line, canaries replaced by their labels, clipped.
    pub excerpt: String,
}

/// What the log source showed after the canary requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogObservation {
    /// Where the logs were read.
    pub source: String,
    /// The canary requests sent (request lines with status).
    pub requests: Vec<String>,
    /// The request id sent with every canary request.
    pub request_id: String,
    /// Non-empty lines read after the canaries were sent.
    pub lines: usize,
    /// Lines that are not a JSON object.
    pub non_json: usize,
    /// One such line, canaries masked, clipped.
    pub non_json_example: Option<String>,
    /// Lines carrying the request id.
    pub request_id_lines: usize,
    /// Canaries found.
    pub leaks: Vec<Leak>,
}
