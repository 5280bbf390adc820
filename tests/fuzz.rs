//! Property tests ("fuzzing") of every parser that reads target data or configuration, driven
//! through the crate's public API: CSP and the other security headers, Set-Cookie, health JSON
//! shapes, JWKS/JWT, the TOML configuration, the metrics exposition parser, the RateLimit header
//! families, legacy TLS answers, and the redaction functions; and every judge and renderer over
//! arbitrary observations. The property is always "never panics on arbitrary input"; the
//! redaction targets also check that a URL password never survives.
//!
//! Each target runs [`DEFAULT_CASES`] cases in an ordinary `cargo test`; for the long runs the
//! README documents, set `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=1000000 cargo test --release --test tests fuzz::csp -- --nocapture`.
//! Inputs mix arbitrary Unicode with token soups built from each grammar's own vocabulary, so
//! the cases reach past the first "not even close" rejection.

use std::sync::Arc;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use serde_json::Value;

use readyprobe::checks::{self, Catalogue};
use readyprobe::config::{Config, JudgeConfig};
use readyprobe::exposition::{self, Limits};
use readyprobe::model::Report;
use readyprobe::observations::access::JwksObservation;
use readyprobe::observations::http::HttpExchange;
use readyprobe::observations::metrics::{MetricsObservation, Scrape};
use readyprobe::observations::tls::LegacyVersion;
use readyprobe::observations::{
    ErrorProbe, ErrorProbeKind, HealthKind, HealthProbe, Observations, Probed, TargetInfo,
};
use readyprobe::probes::access;
use readyprobe::probes::tls::classify_legacy_answer;
use readyprobe::redact::{self, Redactor};
use readyprobe::report::{self, Format};

/// Cases per parser target in an ordinary (debug) test run; `PROPTEST_CASES` overrides it.
const DEFAULT_CASES: u32 = 2_000;
/// Cases for the targets that judge whole observations (every judge, every renderer), which
/// cost far more per case in a debug build.
const HEAVY_CASES: u32 = 300;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Failures are printed with the minimal input; no regression files in the tree.
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        max_shrink_iters: 10_000,
        ..ProptestConfig::default()
    }
}

/// Arbitrary text: printable soup, any Unicode, or control characters and NULs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,80}",
        any::<String>(),
        "[\\x00-\\x1f\\x7f;,=\"' ]{0,20}",
    ]
}

/// Words joined by separators, drawn from `vocab` and arbitrary text.
fn soup(vocab: &'static [&'static str]) -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => proptest::sample::select(vocab).prop_map(str::to_string),
        1 => text(),
    ];
    let sep = proptest::sample::select(&[" ", ";", "; ", ",", ", ", "=", "", "\t", "\"", ":"][..]);
    proptest::collection::vec((word, sep), 0..24).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    })
}

const HEADER_VOCAB: &[&str] = &[
    "default-src",
    "script-src",
    "script-src-elem",
    "style-src",
    "object-src",
    "base-uri",
    "frame-ancestors",
    "form-action",
    "upgrade-insecure-requests",
    "report-uri",
    "report-to",
    "'self'",
    "'none'",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'strict-dynamic'",
    "'nonce-abc123'",
    "'sha256-AAAA'",
    "*",
    "https:",
    "http:",
    "data:",
    "blob:",
    "https://cdn.example.com",
    "max-age",
    "max-age=0",
    "max-age=31536000",
    "max-age=-1",
    "max-age=99999999999999999999999",
    "includeSubDomains",
    "preload",
    "DENY",
    "SAMEORIGIN",
    "ALLOW-FROM",
    "nosniff",
    "no-referrer",
    "strict-origin-when-cross-origin",
    "unsafe-url",
    "geolocation=()",
    "camera=(self)",
    "same-origin",
    "require-corp",
    "nginx/1.25.3",
    "Apache/2.4",
    "PHP/8.1",
    "text/html",
    "charset=utf-8",
    "1; mode=block",
];

const COOKIE_VOCAB: &[&str] = &[
    "sid=abc",
    "session=1",
    "__Host-sid=x",
    "__Secure-token=y",
    "csrftoken=z",
    "=",
    "Secure",
    "HttpOnly",
    "SameSite=None",
    "SameSite=Lax",
    "SameSite=Strict",
    "SameSite",
    "Path=/",
    "Domain=.example.com",
    "Domain=",
    "Max-Age=0",
    "Max-Age=-5",
    "Max-Age=99999999999999999999",
    "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    "Expires=garbage",
    "Partitioned",
];

const HEADER_NAMES: &[&str] = &[
    "content-security-policy",
    "content-security-policy-report-only",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-xss-protection",
    "content-type",
    "content-encoding",
    "set-cookie",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "cache-control",
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
    "traceparent",
    "x-request-id",
];

/// A header list: known names (and some arbitrary ones) with soup values.
fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        5 => proptest::sample::select(HEADER_NAMES).prop_map(str::to_string),
        1 => "[a-z-]{1,20}",
    ];
    let value = prop_oneof![
        3 => soup(HEADER_VOCAB),
        2 => soup(COOKIE_VOCAB),
        1 => text(),
    ];
    proptest::collection::vec((name, value), 0..12)
}

fn exchange(status: u16, headers: Vec<(String, String)>, body: String) -> HttpExchange {
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

fn target(https: bool) -> TargetInfo {
    TargetInfo {
        url: format!(
            "{}://app.example.test/",
            if https { "https" } else { "http" }
        ),
        scheme: if https { "https" } else { "http" }.to_string(),
        host: "app.example.test".to_string(),
        port: if https { 443 } else { 80 },
    }
}

const JSON_KEYS: &[&str] = &[
    "status",
    "state",
    "health",
    "healthy",
    "ok",
    "components",
    "checks",
    "details",
    "db",
    "database",
    "postgres",
    "redis",
    "cache",
    "queue",
    "rabbitmq",
    "disk",
    "diskSpace",
    "ping",
    "version",
    "uptime",
    "name",
    "observedValue",
    "keys",
    "kty",
    "n",
    "e",
    "x5c",
    "alg",
    "kid",
    "use",
    "sub",
    "exp",
    "iat",
    "jwks_uri",
];

const JSON_WORDS: &[&str] = &[
    "UP",
    "DOWN",
    "ok",
    "OK",
    "pass",
    "fail",
    "warn",
    "healthy",
    "unhealthy",
    "degraded",
    "OUT_OF_SERVICE",
    "UNKNOWN",
    "RSA",
    "EC",
    "RS256",
    "HS256",
    "none",
    "AQAB",
    "wQ",
];

/// Arbitrary JSON shaped like health documents and JWKS: nested objects keyed by the words
/// those documents use.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(JSON_WORDS).prop_map(Value::from),
        text().prop_map(Value::from),
        "[A-Za-z0-9_-]{0,64}".prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        let key = prop_oneof![
            4 => proptest::sample::select(JSON_KEYS).prop_map(str::to_string),
            1 => text(),
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A body: serialized JSON (sometimes cut short), or arbitrary text.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (json(), any::<u16>()).prop_map(|(v, cut)| {
            let s = v.to_string();
            if cut % 4 == 0 {
                s.chars().take(cut as usize % (s.len() + 1)).collect()
            } else {
                s
            }
        }),
        1 => text(),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => proptest::sample::select(&[200u16, 204, 301, 302, 401, 403, 404, 429, 500, 503][..]),
        1 => 100u16..1000,
    ]
}

const HEALTH_PATHS: &[&str] = &[
    "/livez",
    "/healthz",
    "/readyz",
    "/health",
    "/actuator/health",
];

fn health_probe() -> impl Strategy<Value = HealthProbe> {
    (
        proptest::sample::select(HEALTH_PATHS),
        proptest::sample::select(
            &[
                HealthKind::Liveness,
                HealthKind::Readiness,
                HealthKind::Generic,
            ][..],
        ),
        status(),
        headers(),
        body(),
        any::<bool>(),
    )
        .prop_map(|(path, kind, status, headers, body, failed)| HealthProbe {
            path: path.to_string(),
            kind,
            // A configured path is judged whatever it answers: the stricter branch.
            configured: status % 2 == 0,
            exchange: if failed && status % 7 == 0 {
                Probed::Failed(format!("{path}: no answer within 2s"))
            } else {
                Probed::Observed(exchange(status, headers, body))
            },
        })
}

/// Observations with an arbitrary root exchange, health probes, error pages and JWKS.
fn observations() -> impl Strategy<Value = Observations> {
    (
        any::<bool>(),
        status(),
        headers(),
        body(),
        proptest::collection::vec(health_probe(), 0..5),
        (status(), headers(), body()),
        proptest::option::of(json()),
        proptest::option::of((exposition_doc(), any::<bool>())),
    )
        .prop_map(
            |(https, status, headers, body, health, (estatus, eheaders, ebody), jwks, metrics)| {
                Observations {
                    metrics: match metrics {
                        Some((text, openmetrics)) => {
                            Probed::Observed(metrics_observation(text, openmetrics))
                        }
                        None => Probed::Skipped("no metrics endpoint was found".to_string()),
                    },
                    target: target(https),
                    root: Probed::Observed(exchange(status, headers, body)),
                    health,
                    errors: vec![ErrorProbe {
                        kind: ErrorProbeKind::NotFound,
                        exchange: Probed::Observed(exchange(estatus, eheaders, ebody)),
                    }],
                    jwks: match jwks {
                        Some(jwks) => Probed::Observed(JwksObservation {
                            discovery_url: None,
                            jwks_url: "https://app.example.test/.well-known/jwks.json".to_string(),
                            jwks,
                        }),
                        None => Probed::Skipped("not configured".to_string()),
                    },
                    ..Observations::default()
                }
            },
        )
}

/// A metrics observation whose first scrape is `text`, parsed as the probe parses it.
fn metrics_observation(text: String, openmetrics: bool) -> MetricsObservation {
    let ct = if openmetrics {
        "application/openmetrics-text; version=1.0.0"
    } else {
        "text/plain; version=0.0.4"
    };
    let exposition = exposition::parse(&text, Some(ct), Limits::default());
    let exchange = exchange(
        200,
        vec![("content-type".to_string(), ct.to_string())],
        text,
    );
    MetricsObservation {
        tried: vec![exchange.request_line()],
        path: Some("/metrics".to_string()),
        first: Some(Scrape {
            exchange,
            exposition,
        }),
        live: Probed::Skipped("the first scrape had no samples".to_string()),
    }
}

fn catalogue() -> Arc<Catalogue> {
    static CATALOGUE: OnceLock<Arc<Catalogue>> = OnceLock::new();
    CATALOGUE
        .get_or_init(|| Arc::new(Catalogue::load(&[]).expect("catalogue")))
        .clone()
}

proptest! {
    #![proptest_config(cases(DEFAULT_CASES))]

    /// CSP and the other root-page header judges.
    #[test]
    fn csp(headers in headers(), status in status(), https in any::<bool>()) {
        let obs = Observations {
            target: target(https),
            root: Probed::Observed(exchange(status, headers, "<!doctype html><html></html>".into())),
            ..Observations::default()
        };
        let cfg = JudgeConfig::default();
        let _ = checks::headers::csp(&obs, &cfg);
        let _ = checks::headers::hsts(&obs, &cfg);
        let _ = checks::headers::frame_options(&obs, &cfg);
        let _ = checks::headers::referrer_policy(&obs, &cfg);
        let _ = checks::headers::permissions_policy(&obs, &cfg);
        let _ = checks::headers::cross_origin(&obs, &cfg);
        let _ = checks::headers::disclosure(&obs, &cfg);
        let _ = checks::headers::deprecated(&obs, &cfg);
        let _ = checks::headers::content_type_options(&obs, &cfg);
    }

    /// Set-Cookie parsing, on the root page and error pages.
    #[test]
    fn set_cookie(cookies in proptest::collection::vec(prop_oneof![soup(COOKIE_VOCAB), text()], 0..8), https in any::<bool>()) {
        let headers: Vec<(String, String)> =
            cookies.iter().map(|c| ("set-cookie".to_string(), c.clone())).collect();
        let obs = Observations {
            target: target(https),
            root: Probed::Observed(exchange(200, headers.clone(), String::new())),
            errors: vec![ErrorProbe {
                kind: ErrorProbeKind::NotFound,
                exchange: Probed::Observed(exchange(404, headers, String::new())),
            }],
            ..Observations::default()
        };
        let _ = checks::cookies::flags(&obs, &JudgeConfig::default());
        for c in &cookies {
            let masked = redact::set_cookie(c);
            prop_assert!(masked.contains(redact::MASK));
        }
    }

    /// JWKS documents and JWTs: the judge, the key-confusion secret, the forged tokens.
    #[test]
    fn jwks_jwt(jwks in json(), token in prop_oneof![
        text(),
        (body(), body(), text()).prop_map(|(h, c, s)| {
            use base64::Engine as _;
            let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!("{}.{}.{s}", b.encode(h), b.encode(c))
        }),
    ], now in 0u64..=4_102_444_800) {
        let obs = Observations {
            target: target(true),
            jwks: Probed::Observed(JwksObservation {
                discovery_url: Some("https://app.example.test/.well-known/openid-configuration".into()),
                jwks_url: "https://app.example.test/jwks".into(),
                jwks: jwks.clone(),
            }),
            ..Observations::default()
        };
        let _ = checks::auth::jwks(&obs, &JudgeConfig::default());
        let _ = access::confusion_secret(&jwks);
        let _ = access::claims_of(&token);
        let _ = access::forged_tokens(now, Some(&token), Some(&jwks));
    }

    /// The RateLimit header families (IETF `RateLimit`/`RateLimit-Policy`, `RateLimit-*`,
    /// `X-RateLimit-*`) and `Retry-After`/`Date`.
    #[test]
    fn ratelimit_headers(headers in headers(), limit in rate_value(), remaining in rate_value(), reset in rate_value(), date in prop_oneof![
        Just("Sun, 06 Nov 1994 08:49:37 GMT".to_string()),
        "(Mon|Sun|Xyz), [0-9]{1,3} (Jan|Nov|Foo) [0-9]{1,5} [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2} (GMT|UTC)",
        text(),
    ]) {
        let mut headers = headers;
        for (name, value) in [
            ("ratelimit", format!("limit={limit}, remaining={remaining}, reset={reset}")),
            ("ratelimit-policy", format!("{limit};w={reset}")),
            ("x-ratelimit-limit", limit.clone()),
            ("x-ratelimit-remaining", remaining.clone()),
            ("x-ratelimit-reset", reset.clone()),
            ("x-ratelimit-reset-after", reset.clone()),
            ("ratelimit-reset", reset.clone()),
            ("retry-after", reset.clone()),
            ("date", date.clone()),
        ] {
            headers.push((name.to_string(), value));
        }
        let ex = exchange(429, headers, String::new());
        let parsed = readyprobe::observations::ratelimit::RateLimitHeaders::parse(&ex);
        // The burst turns the wait into a Duration: it must be a real number of seconds.
        if let Some(wait) = parsed.wait_secs() {
            prop_assert!(wait.is_finite(), "wait {wait} from {ex:?}");
        }
        let _ = readyprobe::observations::ratelimit::parse_http_date(&date);
    }

    /// The TOML configuration loader: structured documents from the config's own keys, and junk.
    #[test]
    fn config_toml(doc in prop_oneof![3 => toml_doc(), 1 => text()]) {
        if let Ok(cfg) = readyprobe::config::load::from_str(&doc, "fuzz.toml") {
            let _ = cfg.validate("fuzz.toml");
        }
    }

    /// The metrics exposition parser: line soups in both grammars, and junk.
    #[test]
    fn metrics_exposition(body in prop_oneof![3 => exposition_doc(), 1 => text()], ct in proptest::sample::select(&[
        Some("text/plain; version=0.0.4"),
        Some("application/openmetrics-text; version=1.0.0"),
        Some("text/html"),
        None,
    ][..]), max_lines in 1usize..200, max_series in 1usize..200) {
        let e = exposition::parse(&body, ct, Limits { max_lines, max_series });
        let _ = e.sample_count();
        let _ = exposition::parse(&body, ct, Limits::default());
    }

    /// The first bytes a server answers a legacy ClientHello with.
    #[test]
    fn legacy_tls_answer(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (proptest::sample::select(&[0x15u8, 0x16, 0x17][..]), any::<[u8; 2]>(), proptest::collection::vec(any::<u8>(), 0..96))
            .prop_map(|(t, len, rest)| { let mut v = vec![t, 3, 1, len[0] & 0x01, len[1]]; v.extend(rest); v }),
    ]) {
        let _ = classify_legacy_answer(LegacyVersion::Tls10, &bytes);
        let _ = classify_legacy_answer(LegacyVersion::Tls11, &bytes);
    }

    /// Redaction: no panic on any input, and a URL's password never survives `url_str`.
    #[test]
    fn redact_functions(raw in text(), name in text(), password in "[A-Za-z0-9]{4}[A-Za-z0-9/#?@:%!$&'()*+,;=\\[\\]]{0,12}", scheme in proptest::sample::select(&["postgres", "redis", "amqp", "https", "mysql"][..]), rest in "[a-z0-9.:/\\[\\]@?#=&]{0,20}") {
        let _ = redact::url_str(&raw);
        let _ = redact::header_value(&name, &raw);
        let _ = redact::set_cookie(&raw);
        let mut r = Redactor::new();
        r.add(&name);
        let _ = r.scrub(&raw);
        let canary = format!("CANARY{password}");
        let dsn = format!("{scheme}://user:{canary}@{rest}");
        let shown = redact::url_str(&dsn);
        prop_assert!(!shown.contains(&canary), "{dsn} shown as {shown}");
    }

}

proptest! {
    #![proptest_config(cases(HEAVY_CASES))]

    /// Health endpoint JSON shapes (and non-JSON bodies) through every health judge.
    #[test]
    fn health_json(health in proptest::collection::vec(health_probe(), 0..6)) {
        let obs = Observations {
            target: target(true),
            health,
            ..Observations::default()
        };
        let cfg = JudgeConfig::default();
        let _ = checks::health::endpoints(&obs, &cfg);
        let _ = checks::health::status_consistency(&obs, &cfg);
        let _ = checks::health::separation(&obs, &cfg);
        let _ = checks::health::readiness_depth(&obs, &cfg);
        let _ = checks::health::ready_now(&obs, &cfg);
        let _ = checks::health::info_leak(&obs, &cfg);
    }


    /// Every judge over arbitrary observations, then scoring and every renderer.
    #[test]
    fn judge_and_render(obs in observations()) {
        let config = Config::default();
        let findings = readyprobe::engine::judge(&obs, &config, &catalogue(), &Redactor::new());
        let scores = readyprobe::scoring::score(&findings, &config.scoring, &readyprobe::checks::weight);
        let report = Report {
            readyprobe_version: readyprobe::VERSION.to_string(),
            target: obs.target.url.clone(),
            profile: "staging".to_string(),
            started_at: "2026-01-01T00:00:00Z".to_string(),
            finished_at: "2026-01-01T00:00:01Z".to_string(),
            duration_ms: 1000,
            requests_sent: 1,
            findings,
            categories: scores.categories,
            overall_score: scores.overall,
            overall_score_with_waived: scores.overall_with_waived,
            band: scores.band,
            verdict: scores.verdict,
            verdict_reasons: scores.reasons,
            scope: vec![],
            readiness: readyprobe::checks::health::readiness_report(&obs),
            wait_ready: None,
        };
        for format in [Format::Terminal, Format::Md, Format::Json, Format::Html, Format::Junit, Format::Prometheus] {
            let out = report::render(&report, format, false);
            if format == Format::Json {
                prop_assert!(serde_json::from_str::<Value>(&out).is_ok(), "JSON output parses");
            }
        }
    }
}

/// A value for a RateLimit header: numbers of every size and sign, dates, junk.
fn rate_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        Just("18446744073709551616".to_string()),
        Just("99999999999999999999999999".to_string()),
        Just("1e308".to_string()),
        Just("-0".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("1e400".to_string()),
        Just("Sun, 06 Nov 1994 08:49:37 GMT".to_string()),
        text(),
    ]
}

const TOML_SECTIONS: &[&str] = &[
    "",
    "[run]",
    "[http]",
    "[http.headers]",
    "[health]",
    "[errors]",
    "[gate]",
    "[gate.categories]",
    "[scoring]",
    "[scoring.weights]",
    "[scoring.categories]",
    "[checks]",
    "[checks.severity]",
    "[judge]",
    "[metrics]",
    "[access]",
    "[dependencies]",
    "[dependencies.dns]",
    "[[waivers]]",
    "[nope]",
];

const TOML_KEYS: &[&str] = &[
    "target",
    "profile",
    "deadline",
    "timeout",
    "concurrency",
    "max_requests",
    "max_body_bytes",
    "ca_file",
    "http_url",
    "user_agent",
    "Authorization",
    "liveness",
    "readiness",
    "generic",
    "latency_samples",
    "json_endpoint",
    "fail_on",
    "fail_on_no_go",
    "min_score",
    "verdict_min_score",
    "security",
    "critical",
    "high",
    "medium",
    "low",
    "info",
    "disable",
    "session_cookie_markers",
    "compression_min_bytes",
    "health_p95_warn_ms",
    "path",
    "max_lines",
    "max_series",
    "protected",
    "postgres",
    "redis",
    "mysql",
    "rabbitmq",
    "rabbitmq_management",
    "names",
    "nameserver",
    "check",
    "until",
    "reason",
    "headers.csp",
];

fn toml_value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("\"60s\"".to_string()),
        Just("\"0s\"".to_string()),
        Just("\"staging\"".to_string()),
        Just("\"production\"".to_string()),
        Just("\"high\"".to_string()),
        Just("\"env:HOME\"".to_string()),
        Just("\"env:READYPROBE_FUZZ_UNSET\"".to_string()),
        Just("\"https://staging.example.test/\"".to_string()),
        Just("\"postgres://u:p@127.0.0.1:1/db\"".to_string()),
        Just("\"redis://:pw@[::1\"".to_string()),
        Just("\"2026-13-45\"".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("1e309".to_string()),
        Just("nan".to_string()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        text().prop_map(|s| format!("{:?}", s)),
    ];
    prop_oneof![
        3 => scalar.clone(),
        1 => proptest::collection::vec(scalar, 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
    ]
}

fn toml_doc() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            proptest::sample::select(TOML_SECTIONS),
            proptest::collection::vec(
                (
                    prop_oneof![
                        5 => proptest::sample::select(TOML_KEYS).prop_map(|k| if k.contains('.') { format!("\"{k}\"") } else { k.to_string() }),
                        1 => "[a-z_]{1,12}",
                    ],
                    toml_value(),
                ),
                0..5,
            ),
        ),
        0..6,
    )
    .prop_map(|sections| {
        let mut doc = String::new();
        for (header, pairs) in sections {
            doc.push_str(header);
            doc.push('\n');
            for (k, v) in pairs {
                doc.push_str(&format!("{k} = {v}\n"));
            }
        }
        doc
    })
}

const EXPOSITION_LINES: &[&str] = &[
    "# HELP http_requests_total Requests.",
    "# TYPE http_requests_total counter",
    "# TYPE http_requests counter",
    "# TYPE req_seconds histogram",
    "# TYPE rpc summary",
    "# TYPE g gauge",
    "# TYPE g gaugehistogram",
    "# TYPE s stateset",
    "# TYPE i info",
    "# TYPE x unknown",
    "# TYPE x untyped",
    "# UNIT req_seconds seconds",
    "# HELP escaped a\\\\b\\nc",
    "# EOF",
    "",
    "http_requests_total{method=\"GET\",code=\"200\"} 1027 1395066363000",
    "http_requests_total{method=\"GET\",code=\"200\"} 3",
    "http_requests_total 1.5e3",
    "http_requests_created 1.7e9",
    "req_seconds_bucket{le=\"0.1\"} 5",
    "req_seconds_bucket{le=\"0.5\"} 3",
    "req_seconds_bucket{le=\"+Inf\"} 10",
    "req_seconds_bucket{le=\"NaN\"} 10",
    "req_seconds_sum 2.5",
    "req_seconds_count 10",
    "rpc{quantile=\"0.5\"} 1",
    "rpc{quantile=\"2\"} 1",
    "rpc_sum 1",
    "rpc_count 1",
    "g -Inf",
    "g +Inf",
    "g NaN",
    "weird:name{a=\"x,y\",b=\"\\\"\"} 1",
    "bad{a=\"unterminated} 1",
    "bad{=\"x\"} 1",
    "bad{a=\"x\",} 1",
    "bad 1 2 3",
    "bad{a=\"\\q\"} 1",
    "x_bucket{le=\"1\"} 1 # {trace_id=\"abc\"} 0.5 123",
    "s{s=\"a\"} 1",
    "i_info{v=\"1\"} 1",
    "9bad 1",
    "{} 1",
];

fn exposition_doc() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        6 => proptest::sample::select(EXPOSITION_LINES).prop_map(str::to_string),
        1 => soup(&["{", "}", "=", "\"", ",", "le", "+Inf", "# TYPE", "# HELP", "# EOF", "name", "1", "NaN", "\\", " "]),
        1 => text(),
    ];
    (
        proptest::collection::vec(line, 0..40),
        proptest::sample::select(&["\n", "\r\n"][..]),
    )
        .prop_map(|(lines, nl)| lines.join(nl))
}

/// Found by `jwks_jwt`: a configured token whose payload is a JSON array panicked when the
/// tampered variant added its marker claim.
#[test]
fn tampered_token_from_non_object_claims_does_not_panic() {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!("{}.{}.sig", b.encode("{}"), b.encode("[1,2]"));
    let (tokens, _) = access::forged_tokens(1_700_000_000, Some(&token), None);
    assert!(tokens.len() >= 2);
}

/// Found by `redact_functions`: an unparseable DSN whose password holds `#`, `/` or `?` was
/// shown whole.
#[test]
fn unparseable_dsn_with_hash_slash_or_query_in_password_is_masked() {
    for dsn in [
        "postgres://user:pa#ss@db/app",
        "redis://:pa/ss@cache:6379/0",
        "amqp://u:p?w@mq",
    ] {
        let shown = redact::url_str(dsn);
        assert!(shown.contains("***@"), "{dsn} shown as {shown}");
        assert!(
            !shown.contains("pa#ss") && !shown.contains("pa/ss") && !shown.contains("p?w"),
            "{shown}"
        );
    }
}
