//! One fixture [`Report`] shared by the renderers' tests.
//!
//! It holds one of everything a renderer must cope with: a NO-GO verdict, a critical fail, a
//! high fail whose evidence carries backticks (including a fence-like run) and `|`, a medium
//! warn, passes, a check that could not measure, a skipped check, a category that was not
//! assessed and one that is incomplete. Scores are written out as the scoring stage would have
//! produced them; renderers must print them, never recompute them.

use crate::model::{Band, Category, CategoryScore, Finding, Outcome, Report, Severity, Verdict};

/// A secret that a careless probe could have captured. The fixture only holds its redacted
/// form (`***`), so no renderer may ever print it.
#[cfg(test)]
pub(crate) const PLANTED_SECRET: &str = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.hunter2";

#[cfg(test)]
#[allow(clippy::too_many_arguments)]
fn finding(
    check_id: &str,
    title: &str,
    category: Category,
    severity: Severity,
    outcome: Outcome,
    summary: &str,
    evidence: &[&str],
    remediation: &str,
    references: &[&str],
) -> Finding {
    Finding {
        check_id: check_id.to_string(),
        title: title.to_string(),
        problem: None,
        category,
        severity,
        outcome,
        score: outcome.default_score(),
        summary: summary.to_string(),
        evidence: evidence.iter().map(|e| e.to_string()).collect(),
        remediation: remediation.to_string(),
        references: references.iter().map(|r| r.to_string()).collect(),
        waiver: None,
    }
}

#[cfg(test)]
fn category(
    category: Category,
    score: Option<f64>,
    band: Option<Band>,
    complete: bool,
    [pass, warn, fail, error, skipped]: [usize; 5],
) -> CategoryScore {
    CategoryScore {
        category,
        score,
        band,
        complete,
        pass,
        warn,
        fail,
        error,
        skipped,
        waived: 0,
        score_with_waived: score,
    }
}

/// The fixture report: a NO-GO audit of a staging target, covering every outcome.
#[cfg(test)]
pub(crate) fn sample_report() -> Report {
    use Category::*;
    use Outcome::*;
    use Severity::*;

    let findings = vec![
        finding(
            "tls.certificate",
            "TLS certificate is valid",
            Security,
            Critical,
            Fail,
            "The certificate for staging.example.com expired 3 days before the audit.",
            &[
                "TLS handshake staging.example.com:443 → TLSv1.3, TLS_AES_128_GCM_SHA256",
                "leaf: CN=staging.example.com, notAfter=2025-03-01T00:00:00Z (expired 3 days ago)",
            ],
            "Renew the certificate and automate renewal (ACME) with an expiry alert 14 days ahead.",
            &["RFC 5280 §4.1.2.5"],
        ),
        finding(
            "exposure.debug_endpoint",
            "No debug endpoint is exposed",
            Security,
            High,
            Fail,
            "/debug answers 200 to anyone | stack traces and settings leak.",
            &[
                "GET https://staging.example.com/debug → 200 (2.1 KiB, truncated)",
                "Authorization: ***",
                "body: `DEBUG = True` | `SECRET_KEY = ***`",
                "```python",
                "Traceback (most recent call last): File \"app.py\", line 42, in `handler`",
                "X-Powered-By: Express | Server: gunicorn/21.2",
            ],
            "Disable the debug page in production builds and return 404 for /debug.",
            &[
                "https://owasp.org/www-project-top-ten/2017/A6_2017-Security_Misconfiguration",
                "CWE-215",
            ],
        ),
        finding(
            "headers.x_content_type_options",
            "X-Content-Type-Options is nosniff",
            Security,
            Low,
            Pass,
            "X-Content-Type-Options: nosniff is set on the root document.",
            &["GET https://staging.example.com/ → 200, X-Content-Type-Options: nosniff"],
            "Send X-Content-Type-Options: nosniff on every response.",
            &["https://developer.mozilla.org/docs/Web/HTTP/Headers/X-Content-Type-Options"],
        ),
        finding(
            "health.liveness",
            "Liveness endpoint answers",
            HealthChecks,
            High,
            Pass,
            "/healthz answers 200 in 4 ms.",
            &["GET https://staging.example.com/healthz → 200 in 4 ms"],
            "Expose a cheap liveness endpoint for the orchestrator.",
            &[],
        ),
        finding(
            "health.readiness_depth",
            "Readiness checks its dependencies",
            HealthChecks,
            Medium,
            Warn,
            "/readyz stays 200 without naming any dependency it checked.",
            &[
                "GET https://staging.example.com/readyz → 200 in 3 ms",
                "body: {\"status\":\"ok\"}",
            ],
            "Make /readyz ping the database and cache, and answer 503 when one is down.",
            &[
                "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
            ],
        ),
        finding(
            "observability.metrics_endpoint",
            "Metrics are exported",
            Observability,
            Medium,
            Pass,
            "/metrics serves Prometheus text with 412 series.",
            &[
                "GET https://staging.example.com/metrics → 200, Content-Type: text/plain; version=0.0.4, 412 series",
            ],
            "Export RED metrics at /metrics.",
            &[],
        ),
        finding(
            "performance.latency_p95",
            "p95 latency is within budget",
            Performance,
            Medium,
            Error,
            "Could not measure: every sample of GET / timed out after 10 s.",
            &["GET https://staging.example.com/ → timeout after 10000 ms (3 of 3 samples)"],
            "Keep p95 latency of GET / under 500 ms.",
            &[],
        ),
        finding(
            "scalability.burst_load",
            "Handles a burst of load",
            Scalability,
            Medium,
            Skipped,
            "The production profile leaves out load probes.",
            &[],
            "Sustain 50 concurrent requests with an error rate under 1%.",
            &[],
        ),
        finding(
            "reliability.redis_persistence",
            "Redis persists its data",
            Reliability,
            High,
            Pass,
            "Redis persists with AOF, fsync every second.",
            &[
                "redis://cache.internal:6379 CONFIG GET appendonly → yes",
                "redis://cache.internal:6379 CONFIG GET appendfsync → everysec",
            ],
            "Enable AOF or RDB snapshots.",
            &["https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/"],
        ),
        finding(
            "operational.error_format",
            "Errors use a structured format",
            Operational,
            Low,
            Warn,
            "A 404 comes back as HTML, not as a structured error body.",
            &["GET https://staging.example.com/readyprobe-404 → 404, Content-Type: text/html"],
            "Return application/problem+json (RFC 9457) for API errors.",
            &["RFC 9457"],
        ),
    ];

    // The problems that head failing findings; `operational.error_format` states none, like a
    // pack without `problem`, so its summary heads it.
    let mut findings = findings;
    for f in &mut findings {
        f.problem = match f.check_id.as_str() {
            "tls.certificate" => Some("The TLS certificate has expired".to_string()),
            "exposure.debug_endpoint" => Some("A debug endpoint is exposed".to_string()),
            "health.readiness_depth" => {
                Some("Readiness does not check its dependencies".to_string())
            }
            _ => None,
        };
    }

    Report {
        readyprobe_version: "0.1.0".to_string(),
        target: "https://staging.example.com".to_string(),
        profile: "production".to_string(),
        started_at: "2025-03-04T09:15:00Z".to_string(),
        finished_at: "2025-03-04T09:15:12Z".to_string(),
        duration_ms: 12_340,
        requests_sent: 57,
        findings,
        categories: vec![
            category(Security, Some(6.3), Some(Band::Poor), true, [1, 0, 2, 0, 0]),
            category(
                HealthChecks,
                Some(81.3),
                Some(Band::Good),
                true,
                [1, 1, 0, 0, 0],
            ),
            category(
                Observability,
                Some(100.0),
                Some(Band::Excellent),
                true,
                [1, 0, 0, 0, 0],
            ),
            category(
                Performance,
                Some(0.0),
                Some(Band::Poor),
                false,
                [0, 0, 0, 1, 0],
            ),
            category(Scalability, None, None, true, [0, 0, 0, 0, 1]),
            category(
                Reliability,
                Some(100.0),
                Some(Band::Excellent),
                true,
                [1, 0, 0, 0, 0],
            ),
            category(
                Operational,
                Some(50.0),
                Some(Band::NeedsWork),
                true,
                [0, 1, 0, 0, 0],
            ),
        ],
        overall_score: Some(52.4),
        overall_score_with_waived: Some(52.4),
        band: Some(Band::NeedsWork),
        verdict: Verdict::NoGo,
        verdict_reasons: vec![
            "critical check tls.certificate failed".to_string(),
            "high check exposure.debug_endpoint failed".to_string(),
        ],
        scope: vec![
            "HTTP: https://staging.example.com (GET/HEAD/OPTIONS only)".to_string(),
            "Redis: redis://cache.internal:6379 (read-only: PING, INFO, CONFIG GET)".to_string(),
            "Load and fault-injection probes left out by the production profile".to_string(),
        ],
        readiness: Some(crate::model::Readiness {
            url: "https://staging.example.com/readyz".to_string(),
            ready: false,
            status: Some(503),
            components: vec![
                crate::model::ReadinessComponent {
                    name: "database:connection".to_string(),
                    state: "fail".to_string(),
                    message: Some("connect failed: connection refused".to_string()),
                },
                crate::model::ReadinessComponent {
                    name: "cache".to_string(),
                    state: "pass".to_string(),
                    message: None,
                },
            ],
        }),
        wait_ready: Some(crate::model::WaitReady {
            url: "https://staging.example.com/readyz".to_string(),
            budget_ms: 60_000,
            waited_ms: 3_250,
            polls: 4,
            ready: true,
        }),
    }
}
