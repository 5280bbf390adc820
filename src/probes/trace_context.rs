//! The request-id / trace-context probe: one `GET /` carrying an `X-Request-ID` and a W3C
//! `traceparent`, so `tracing.request_id` can see whether the service echoes, propagates or
//! generates a correlation id.

use super::ProbeCx;
use super::Target;
use super::http;
use crate::observations::Probed;
use crate::observations::http::RequestSpec;
use crate::observations::trace::TraceProbe;

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
