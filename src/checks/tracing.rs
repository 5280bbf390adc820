//! Request-id and trace-context judge: does the service give every request a correlation id
//! that can be found again in its logs and traces?

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Unobserved};

/// Response headers that carry a request or trace id.
const ID_HEADERS: &[&str] = &[
    "x-request-id",
    "x-correlation-id",
    "request-id",
    "x-trace-id",
    "traceresponse",
    "traceparent",
    "x-amzn-trace-id",
    "x-b3-traceid",
    "x-cloud-trace-context",
    "cf-ray",
];

/// `tracing.request_id`: responses carry a request id.
pub const REQUEST_ID: CheckMeta = CheckMeta {
    id: "tracing.request_id",
    title: "Request id / trace context",
    problem: "Responses carry no request id or trace context",
    category: Category::Observability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "send X-Request-ID / traceparent — pass: echoed or a response id present; warn: none",
    remediation: "Accept an incoming `X-Request-ID` (or generate one) and return it on every \
                  response, log it with every line, and propagate W3C `traceparent` to \
                  downstream calls (OpenTelemetry instrumentation does both), so a user's \
                  failing request can be found in logs and traces.",
    references: &[
        "https://www.w3.org/TR/trace-context/",
        "https://www.w3.org/TR/trace-context-2/#traceresponse-header",
    ],
    judge: request_id,
};

/// Judges `tracing.request_id`.
pub fn request_id(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let probe = obs.tracing.get()?;
    let ex = &probe.exchange;
    let sent = format!(
        "sent X-Request-ID: {} and traceparent: {}",
        probe.request_id, probe.traceparent
    );
    let found: Vec<String> = ID_HEADERS
        .iter()
        .filter_map(|h| ex.header(h).map(|v| format!("{h}: {v}")))
        .collect();
    let line = format!(
        "{} → {}",
        ex.request_line(),
        if found.is_empty() {
            "no request-id or trace header".to_string()
        } else {
            found.join(", ")
        }
    );
    let echoed = ex.header("x-request-id") == Some(probe.request_id.as_str());
    let trace_kept = ["traceresponse", "traceparent"]
        .iter()
        .filter_map(|h| ex.header(h))
        .any(|v| v.contains(probe.trace_id()));
    if echoed || trace_kept {
        let what = match (echoed, trace_kept) {
            (true, true) => "echoes the X-Request-ID and continues the trace",
            (true, false) => "echoes the X-Request-ID it was sent",
            _ => "continues the W3C trace it was sent",
        };
        return Ok(Judgement::pass(format!("The service {what}."))
            .evidence(sent)
            .evidence(line));
    }
    if !found.is_empty() {
        return Ok(Judgement::pass(
            "The service returns its own request id (it does not reuse the one sent).",
        )
        .evidence(sent)
        .evidence(line));
    }
    Ok(Judgement::warn(
        "Responses carry no request id or trace context, so a failing request cannot be traced in logs.",
    )
    .evidence(sent)
    .evidence(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::exchange;
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::trace::TraceProbe;

    fn obs(headers: &[(&str, &str)]) -> Observations {
        Observations {
            tracing: Probed::Observed(TraceProbe {
                request_id: "readyprobe-0011".into(),
                traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                exchange: exchange(200, headers, ""),
            }),
            ..Observations::default()
        }
    }

    fn judge(o: &Observations) -> Judgement {
        request_id(o, &JudgeConfig::default()).expect("judged")
    }

    #[test]
    fn echoed_request_id_passes() {
        let j = judge(&obs(&[("X-Request-ID", "readyprobe-0011")]));
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("echoes"));
    }

    #[test]
    fn trace_response_passes() {
        let j = judge(&obs(&[(
            "traceresponse",
            "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
        )]));
        assert_eq!(j.outcome, Outcome::Pass);
    }

    #[test]
    fn generated_id_passes() {
        assert_eq!(
            judge(&obs(&[("X-Correlation-ID", "abc")])).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn no_id_warns() {
        let j = judge(&obs(&[("Server", "nginx")]));
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.evidence[1].contains("no request-id"));
    }

    #[test]
    fn failed_probe_is_error() {
        let o = Observations {
            tracing: Probed::Failed("timeout".into()),
            ..Observations::default()
        };
        assert!(matches!(
            request_id(&o, &JudgeConfig::default()),
            Err(Unobserved::Failed(_))
        ));
    }
}
