//! The request-id / trace-context probe: one `GET /` carrying an `X-Request-ID` and a W3C
//! `traceparent`, so `tracing.request_id` can see whether the service echoes, propagates or
//! generates a correlation id.

use serde::{Deserialize, Serialize};

use super::ProbeCx;
use super::Target;
use super::http::{self, HttpExchange, RequestSpec};
use crate::observations::Probed;

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

/// Sends the probe request to the target's root.
pub async fn observe(cx: &ProbeCx, audit: &Target<'_>) -> Probed<TraceProbe> {
    let token = super::metrics::random_token();
    let request_id = format!("readyprobe-{}", &token[..16]);
    let parent = &token[16..];
    let traceparent = format!("00-{token}-{parent}-01");
    let spec = RequestSpec::get(audit.target.clone())
        .no_follow()
        .header("x-request-id", &request_id)
        .header("traceparent", &traceparent);
    match http::send(cx, &spec).await {
        Ok(exchange) => Probed::Observed(TraceProbe {
            request_id,
            traceparent,
            exchange,
        }),
        Err(err) => Probed::Failed(err.to_string()),
    }
}
