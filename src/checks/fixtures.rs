//! Fixture builders shared by the checks' tests: small, explicit observations, no network.
//!
//! Every builder states the whole exchange it makes (status, headers exactly as written — mixed
//! case on purpose, the checks must not care — and body), so a test reads as "this came back,
//! so this is the judgement".

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::observations::http::HttpExchange;
use crate::observations::{
    ErrorProbe, ErrorProbeKind, HealthKind, HealthProbe, LatencySamples, Observations, Probed,
    TargetInfo, Unobserved,
};

/// The host every fixture target lives on.
pub(crate) const HOST: &str = "app.example.com";

/// A `GET url` that answered `status` with these headers (names kept as written) and body.
pub(crate) fn exchange_at(
    url: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> HttpExchange {
    HttpExchange {
        method: "GET".to_string(),
        url: url.to_string(),
        final_url: url.to_string(),
        request_headers: vec![(
            "accept-encoding".to_string(),
            "gzip, deflate, br".to_string(),
        )],
        status,
        version: "HTTP/1.1".to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body_len: body.len() as u64,
        body_truncated: false,
        body: body.to_string(),
        body_decoded: true,
        elapsed_ms: 1.0,
        redirects: Vec::new(),
        ..HttpExchange::default()
    }
}

/// `GET https://app.example.com/` that answered `status` with these headers and body.
pub(crate) fn exchange(status: u16, headers: &[(&str, &str)], body: &str) -> HttpExchange {
    exchange_at(&format!("https://{HOST}/"), status, headers, body)
}

/// The fixture target addressed over HTTPS.
pub(crate) fn https_target() -> TargetInfo {
    TargetInfo {
        url: format!("https://{HOST}/"),
        scheme: "https".to_string(),
        host: HOST.to_string(),
        port: 443,
    }
}

/// The fixture target addressed over plain HTTP.
pub(crate) fn http_target() -> TargetInfo {
    TargetInfo {
        url: format!("http://{HOST}/"),
        scheme: "http".to_string(),
        host: HOST.to_string(),
        port: 80,
    }
}

/// An HTTPS target whose root answered with `root`.
pub(crate) fn obs_with_root(root: HttpExchange) -> Observations {
    Observations {
        target: https_target(),
        root: Probed::Observed(root),
        ..Observations::default()
    }
}

/// An HTTPS target whose root answered `status` with these headers and an HTML body.
pub(crate) fn obs_with_headers(headers: &[(&str, &str)]) -> Observations {
    obs_with_root(exchange(200, headers, "<!doctype html><p>hi</p>"))
}

/// A health candidate at `path` that answered `status` with `body` (JSON content type when the
/// body looks like JSON, plain text otherwise).
pub(crate) fn health(path: &str, kind: HealthKind, status: u16, body: &str) -> HealthProbe {
    let content_type = if body.trim_start().starts_with('{') {
        "application/json"
    } else {
        "text/plain"
    };
    let url = format!("https://{HOST}{path}");
    HealthProbe {
        path: path.to_string(),
        kind,
        configured: false,
        exchange: Probed::Observed(exchange_at(
            &url,
            status,
            &[("Content-Type", content_type)],
            body,
        )),
    }
}

/// A health candidate whose probe failed with `reason`.
pub(crate) fn health_failed(path: &str, kind: HealthKind, reason: &str) -> HealthProbe {
    HealthProbe {
        path: path.to_string(),
        kind,
        configured: false,
        exchange: Probed::Failed(reason.to_string()),
    }
}

/// An HTTPS target with these health candidates.
pub(crate) fn obs_with_health(probes: Vec<HealthProbe>) -> Observations {
    Observations {
        target: https_target(),
        health: probes,
        ..Observations::default()
    }
}

/// Latency samples of `/livez` and `/readyz`.
pub(crate) fn latency(samples_ms: &[f64], timeouts: u32, failures: u32) -> Observations {
    Observations {
        target: https_target(),
        health_latency: Probed::Observed(LatencySamples {
            paths: vec!["/livez".to_string(), "/readyz".to_string()],
            samples_ms: samples_ms.to_vec(),
            timeouts,
            failures,
            first_failure: (failures > 0)
                .then(|| "GET https://app.example.com/readyz: cannot connect: reset".to_string()),
        }),
        ..Observations::default()
    }
}

/// An error-page probe of `kind` that answered `status` with `body`.
pub(crate) fn error_probe(kind: ErrorProbeKind, status: u16, body: &str) -> ErrorProbe {
    ErrorProbe {
        kind,
        exchange: Probed::Observed(exchange_at(
            &format!("https://{HOST}/__readyprobe_0123456789abcdef"),
            status,
            &[("Content-Type", "text/html")],
            body,
        )),
    }
}

/// An HTTPS target with these error-page probes.
pub(crate) fn obs_with_errors(probes: Vec<ErrorProbe>) -> Observations {
    Observations {
        target: https_target(),
        errors: probes,
        ..Observations::default()
    }
}

/// The default judging thresholds.
pub(crate) fn cfg() -> JudgeConfig {
    JudgeConfig::default()
}

/// Runs a check's judge with the default thresholds.
pub(crate) fn try_judge(check: &CheckMeta, obs: &Observations) -> Result<Judgement, Unobserved> {
    (check.judge)(obs, &cfg())
}

/// Runs a check's judge and expects a judgement (not an unobserved reason).
pub(crate) fn judge(check: &CheckMeta, obs: &Observations) -> Judgement {
    match try_judge(check, obs) {
        Ok(judgement) => judgement,
        Err(why) => panic!("{} did not judge: {why:?}", check.id),
    }
}

/// All evidence lines joined, for `contains` assertions.
pub(crate) fn evidence_text(judgement: &Judgement) -> String {
    judgement.evidence.join("\n")
}

/// One configured POST mutation to `/api/orders` that answered `status` (CSRF, idempotency).
pub(crate) fn mutation_answered(
    status: u16,
) -> crate::observations::Probed<Vec<crate::observations::access::MutationProbe>> {
    crate::observations::Probed::Observed(vec![crate::observations::access::MutationProbe {
        method: "POST".into(),
        path: "/api/orders".into(),
        exchange: crate::observations::Probed::Observed(exchange_at(
            &format!("https://{HOST}/api/orders"),
            status,
            &[],
            "",
        )),
    }])
}
