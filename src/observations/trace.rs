//! Trace-context propagation: `GET /` with an `X-Request-ID` and a `traceparent`.

use serde::{Deserialize, Serialize};

use super::HttpExchange;

/// What was sent and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceProbe {
    /// The `X-Request-ID` sent.
    pub request_id: String,
    /// The `traceparent` sent (`00-<trace id>-<parent id>-01`).
    pub traceparent: String,
    /// The answer.
    pub exchange: HttpExchange,
}

impl TraceProbe {
    /// The trace id inside the sent `traceparent`.
    pub fn trace_id(&self) -> &str {
        self.traceparent.split('-').nth(1).unwrap_or_default()
    }
}
