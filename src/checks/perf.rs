//! Performance judges that read single responses: compression and caching headers.
//!
//! Both look at the root response (`GET /` with `Accept-Encoding: gzip, deflate, br`). They do not
//! time anything; latency checks read repeated samples instead.

use super::evidence::{EVIDENCE_MAX, clip, header_line};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::{Observations, Unobserved};

// ---------------------------------------------------------------------------------------------
// perf.compression

/// `perf.compression`: text responses are compressed when the client offers it.
pub const COMPRESSION: CheckMeta = CheckMeta {
    id: "perf.compression",
    title: "Response compression",
    problem: "Text responses are sent uncompressed",
    category: Category::Performance,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "Accept-Encoding gzip/br on text responses > 1 KiB — warn: uncompressed",
    remediation: "Compress text responses (HTML, CSS, JavaScript, JSON, XML, SVG) when the client \
                  offers it: answer `Accept-Encoding: gzip, br` with `Content-Encoding: br` or \
                  `gzip` and `Vary: Accept-Encoding` (nginx `gzip on; gzip_types text/css \
                  application/javascript application/json image/svg+xml;`, or the framework's \
                  compression middleware).",
    references: &[
        "RFC 9110 §8.4: Content-Encoding",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Compression",
        "https://web.dev/articles/reduce-network-payloads-using-text-compression",
    ],
    judge: compression,
};

/// Content codings that compress.
const COMPRESSING: &[&str] = &["gzip", "x-gzip", "br", "deflate", "zstd"];

/// True for media types worth compressing: text/*, JSON, JavaScript, XML, SVG.
fn is_textual(media_type: &str) -> bool {
    media_type.starts_with("text/")
        || ["json", "javascript", "ecmascript", "xml", "svg"]
            .iter()
            .any(|t| media_type.contains(t))
}

/// The compressing coding the response applied, if any (any item of Content-Encoding counts).
fn compressed_with(ex: &HttpExchange) -> Option<String> {
    ex.headers_named("content-encoding")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .find(|c| COMPRESSING.contains(&c.as_str()))
}

/// A byte count in words: `812 B`, `48.2 KiB`.
fn human_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// Judges `perf.compression`: see [`COMPRESSION`] for the rule; binary and small responses are
/// skipped.
pub fn compression(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let offered = root
        .request_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("accept-encoding"))
        .map(|(_, v)| v.as_str());
    let Some(offered) = offered else {
        return Ok(Judgement::skipped(
            "The root request did not offer Accept-Encoding, so compression cannot be judged.",
        )
        .evidence(clip(&root.request_line(), EVIDENCE_MAX)));
    };
    let media_type = root.media_type().unwrap_or_default();
    let coding = compressed_with(root);
    let encoding_part = match &coding {
        Some(c) => format!("Content-Encoding: {c}"),
        None => "no Content-Encoding header".to_string(),
    };
    // The decoded size: what was kept after decoding, or the wire size for identity bodies.
    let size = (root.body.len() as u64).max(if coding.is_none() { root.body_len } else { 0 });
    let truncated = if root.body_truncated {
        " or more (truncated)"
    } else {
        ""
    };
    let size_part = match (&coding, root.body_decoded) {
        (None, _) => format!("{}{truncated}", human_bytes(size)),
        (Some(_), true) => format!(
            "{}{truncated} decoded, {} on the wire",
            human_bytes(size),
            human_bytes(root.body_len)
        ),
        (Some(_), false) => format!("{}{truncated} on the wire", human_bytes(root.body_len)),
    };
    let evidence = clip(
        &format!(
            "{} {} (sent Accept-Encoding: {}) → {}, {}, {size_part}, {encoding_part}",
            root.method,
            root.final_url,
            offered,
            root.status,
            if media_type.is_empty() {
                "no Content-Type"
            } else {
                &media_type
            },
        ),
        EVIDENCE_MAX,
    );
    let judgement = if !is_textual(&media_type) {
        Judgement::skipped(format!(
            "The root response is not text ({}), so compression is not judged.",
            if media_type.is_empty() {
                "no Content-Type"
            } else {
                &media_type
            }
        ))
    } else if let Some(c) = coding {
        Judgement::pass(format!(
            "The root {} response is compressed with {c}.",
            clip(&media_type, 60)
        ))
    } else if size < cfg.compression_min_bytes {
        Judgement::skipped(format!(
            "The root response is only {}, below the {} worth compressing.",
            human_bytes(size),
            human_bytes(cfg.compression_min_bytes)
        ))
    } else {
        Judgement::warn(format!(
            "The root {} response ({}) is sent uncompressed although the client offered {}.",
            clip(&media_type, 60),
            human_bytes(size),
            clip(offered, 60)
        ))
    };
    Ok(judgement.evidence(evidence))
}

// ---------------------------------------------------------------------------------------------
// perf.caching

/// `perf.caching`: responses state a caching policy.
pub const CACHING: CheckMeta = CheckMeta {
    id: "perf.caching",
    title: "Caching headers",
    problem: "Responses carry no caching headers",
    category: Category::Performance,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "Cache-Control/ETag/Last-Modified on GET responses — warn: none on static-looking \
           resources",
    remediation: "Send an explicit `Cache-Control` on every response — `no-store` for \
                  personalised pages, `no-cache` plus an `ETag` for pages that change, `public, \
                  max-age=31536000, immutable` for fingerprinted static assets — so browsers and \
                  CDNs do not guess.",
    references: &[
        "RFC 9111: HTTP Caching",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Caching",
        "https://web.dev/articles/http-cache",
    ],
    judge: caching,
};

/// The headers that state a caching policy or allow revalidation.
const CACHING_HEADERS: &[&str] = &["Cache-Control", "ETag", "Last-Modified", "Expires"];

/// Judges `perf.caching` on the root response: pass when any explicit policy (including
/// `no-store`) or a validator is present, warn when caches are left to guess.
pub fn caching(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let present: Vec<&str> = CACHING_HEADERS
        .iter()
        .copied()
        .filter(|name| {
            root.headers_named(name)
                .iter()
                .any(|v| !v.trim().is_empty())
        })
        .collect();
    if present.is_empty() {
        return Ok(Judgement::warn(
            "The root response has no Cache-Control, ETag or Last-Modified, so browsers and \
             proxies apply heuristic caching.",
        )
        .evidence(clip(
            &format!(
                "{}, no Cache-Control, ETag or Last-Modified header",
                root.request_line()
            ),
            EVIDENCE_MAX,
        )));
    }
    let summary = match root.header("cache-control").map(str::trim) {
        Some(cc) if !cc.is_empty() => format!(
            "The root response states a caching policy (Cache-Control: {}).",
            clip(cc, 80)
        ),
        _ => format!(
            "The root response can be revalidated ({}), though it sends no Cache-Control.",
            present.join(", ")
        ),
    };
    Ok(Judgement::pass(summary).evidence_all(present.iter().map(|name| header_line(root, name))))
}

// ---------------------------------------------------------------------------------------------
// perf.latency

/// `perf.latency`: key endpoints answer fast.
pub const LATENCY: CheckMeta = CheckMeta {
    id: "perf.latency",
    title: "Endpoint latency",
    problem: "Key endpoints are slow",
    category: Category::Performance,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "N sequential samples per key endpoint after warm-up, percentiles from an HDR \
           histogram — warn: p95 > 300 ms; fail: p95 > 1 s or timeouts (thresholds in [judge])",
    remediation: "Profile the slow endpoint (database queries, N+1 calls, missing indexes, \
                  synchronous calls to other services) and set a latency objective; cache or \
                  precompute what does not change per request.",
    references: &[
        "https://sre.google/sre-book/service-level-objectives/",
        "https://web.dev/articles/ttfb",
    ],
    judge: latency,
};

/// Judges `perf.latency`: the worst endpoint decides.
pub fn latency(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    use crate::model::Outcome;
    use crate::observations::load::Percentiles;
    let l = obs.latency.get()?;
    let mut worst = Outcome::Pass;
    let mut evidence = Vec::new();
    let mut slowest: Option<(String, f64)> = None;
    for e in &l.endpoints {
        let p = Percentiles::of(&e.samples_ms);
        let codes: Vec<String> = e.statuses.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        evidence.push(format!(
            "GET {}: {} samples after {} warm-up, {}{}{}",
            e.path,
            p.count,
            e.warmup,
            p.describe(),
            if codes.is_empty() {
                String::new()
            } else {
                format!(", status {}", codes.join(" "))
            },
            if e.timeouts > 0 {
                format!(", {} timeouts", e.timeouts)
            } else {
                String::new()
            }
        ));
        if let Some(failure) = &e.first_failure {
            evidence.push(format!("GET {}: sampling stopped: {failure}", e.path));
        }
        let outcome = if e.timeouts > 0 || e.failures > 0 || p.p95_ms > cfg.latency_p95_fail_ms {
            Outcome::Fail
        } else if p.p95_ms > cfg.latency_p95_warn_ms {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        if slowest.as_ref().is_none_or(|(_, ms)| p.p95_ms > *ms) {
            slowest = Some((e.path.clone(), p.p95_ms));
        }
        worst = match (worst, outcome) {
            (Outcome::Fail, _) | (_, Outcome::Fail) => Outcome::Fail,
            (Outcome::Warn, _) | (_, Outcome::Warn) => Outcome::Warn,
            _ => Outcome::Pass,
        };
    }
    let (path, p95) = slowest.unwrap_or_default();
    let judgement = match worst {
        Outcome::Fail => Judgement::fail(format!(
            "{path} is too slow or timed out: p95 {p95:.1} ms (fail above {} ms).",
            cfg.latency_p95_fail_ms
        )),
        Outcome::Warn => Judgement::warn(format!(
            "{path} has p95 {p95:.1} ms, above the {} ms objective.",
            cfg.latency_p95_warn_ms
        )),
        _ => Judgement::pass(format!(
            "Key endpoints answer within the objective (slowest p95 {p95:.1} ms at {path})."
        )),
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// perf.http2

/// `perf.http2`: HTTP/2 is negotiated by ALPN.
pub const HTTP2: CheckMeta = CheckMeta {
    id: "perf.http2",
    title: "HTTP/2",
    problem: "HTTP/2 is not offered",
    category: Category::Performance,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "ALPN h2 offered (the root request offers h2 and http/1.1) — warn: HTTP/1.1 only",
    remediation: "Enable HTTP/2 on the TLS terminator (nginx `listen 443 ssl http2;` / \
                  `http2 on;`, a load balancer's HTTP/2 setting) so browsers multiplex requests \
                  over one connection.",
    references: &["RFC 9113: HTTP/2", "RFC 7301: ALPN"],
    judge: http2,
};

/// Judges `perf.http2` from the version the root response came back in.
pub fn http2(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    if !obs.target.is_https() {
        return Ok(Judgement::skipped(
            "The target is plain http: browsers negotiate HTTP/2 only over TLS (ALPN).",
        ));
    }
    let root = obs.root_get()?;
    let line = format!(
        "{} (client offered ALPN h2, http/1.1), answered over {}",
        root.request_line(),
        root.version
    );
    if root.version.contains('2') || root.version.contains('3') {
        Ok(
            Judgement::pass(format!("The server negotiated {} by ALPN.", root.version))
                .evidence(line),
        )
    } else {
        Ok(Judgement::warn("The server offers HTTP/1.1 only.").evidence(line))
    }
}

// ---------------------------------------------------------------------------------------------
// perf.pagination_depth

/// `perf.pagination_depth`: deep pages are not much slower than the first.
pub const PAGINATION_DEPTH: CheckMeta = CheckMeta {
    id: "perf.pagination_depth",
    title: "Deep pagination cost",
    problem: "Deep pages get slower (offset pagination)",
    category: Category::Performance,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "configured list endpoint: first page vs deep page median latency — warn: deep page ≥ \
           3× slower (offset pagination)",
    remediation: "Replace OFFSET pagination with keyset (cursor) pagination — `WHERE id > \
                  :last_id ORDER BY id LIMIT n` — so every page costs the same; cap the page \
                  number if offsets must stay.",
    references: &[
        "https://use-the-index-luke.com/no-offset",
        "https://use-the-index-luke.com/sql/partial-results/fetch-next-page",
    ],
    judge: pagination_depth,
};

/// Judges `perf.pagination_depth` on medians (robust to one slow sample).
pub fn pagination_depth(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    use crate::observations::load::Percentiles;
    let p = obs.pagination.get()?;
    let first = Percentiles::of(&p.first.samples_ms);
    let deep = Percentiles::of(&p.deep.samples_ms);
    let codes = |s: &crate::observations::load::EndpointSamples| {
        s.statuses
            .iter()
            .map(|(c, n)| format!("{c}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let evidence = [
        format!(
            "GET {} ({}): median {:.2} ms over {} samples",
            p.first_url,
            codes(&p.first),
            first.p50_ms,
            first.count
        ),
        format!(
            "GET {} ({}): median {:.2} ms over {} samples",
            p.deep_url,
            codes(&p.deep),
            deep.p50_ms,
            deep.count
        ),
    ];
    if !p.deep.statuses.keys().any(|c| (200..300).contains(c)) {
        return Ok(Judgement::skipped(format!(
            "Page {} did not answer 2xx, so depth cost cannot be compared.",
            p.deep_page
        ))
        .evidence_all(evidence));
    }
    let ratio = if first.p50_ms > 0.0 {
        deep.p50_ms / first.p50_ms
    } else {
        1.0
    };
    if ratio >= cfg.pagination_slowdown_warn {
        Ok(Judgement::warn(format!(
            "Page {} is {ratio:.1}× slower than page 1: the list is offset-paginated and cost grows with depth.",
            p.deep_page
        ))
        .evidence_all(evidence))
    } else {
        Ok(Judgement::pass(format!(
            "Page {} costs about the same as page 1 ({ratio:.1}×).",
            p.deep_page
        ))
        .evidence_all(evidence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{evidence_text, exchange, judge, obs_with_root, try_judge};
    use crate::model::Outcome;
    use crate::observations::Probed;

    fn big_html() -> String {
        "<p>hello</p>".repeat(200)
    }

    #[test]
    fn compressed_text_passes() {
        let mut ex = exchange(
            200,
            &[
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Encoding", "gzip"),
            ],
            &big_html(),
        );
        ex.body_len = 120;
        let j = judge(&COMPRESSION, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("compressed with gzip"));
        assert!(evidence_text(&j).contains("(sent Accept-Encoding: gzip, deflate, br)"));
        assert!(
            evidence_text(&j)
                .contains("2.3 KiB decoded, 120 B on the wire, Content-Encoding: gzip")
        );
    }

    #[test]
    fn brotli_body_that_could_not_be_decoded_still_passes() {
        let mut ex = exchange(
            200,
            &[
                ("content-type", "application/json"),
                ("content-encoding", "BR"),
            ],
            "",
        );
        ex.body_decoded = false;
        ex.body_len = 900;
        let j = judge(&COMPRESSION, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert!(evidence_text(&j).contains("900 B on the wire, Content-Encoding: br"));
    }

    #[test]
    fn uncompressed_large_text_warns() {
        let ex = exchange(200, &[("Content-Type", "text/html")], &big_html());
        let j = judge(&COMPRESSION, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("2.3 KiB"), "{}", j.summary);
        assert!(evidence_text(&j).contains("no Content-Encoding header"));
    }

    #[test]
    fn small_text_is_skipped() {
        let ex = exchange(200, &[("Content-Type", "text/plain")], "ok");
        let j = judge(&COMPRESSION, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(j.summary.contains("only 2 B"));
    }

    #[test]
    fn binary_response_is_skipped() {
        let ex = exchange(
            200,
            &[("Content-Type", "image/png")],
            &"\u{FFFD}".repeat(4000),
        );
        let j = judge(&COMPRESSION, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(j.summary.contains("not text (image/png)"));
    }

    #[test]
    fn empty_body_without_content_type_is_skipped() {
        let j = judge(&COMPRESSION, &obs_with_root(exchange(204, &[], "")));
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(j.summary.contains("no Content-Type"));
    }

    #[test]
    fn compression_not_offered_is_skipped() {
        let mut ex = exchange(200, &[("Content-Type", "text/html")], &big_html());
        ex.request_headers.clear();
        let j = judge(&COMPRESSION, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(j.summary.contains("did not offer Accept-Encoding"));
    }

    #[test]
    fn compression_failed_root_is_unobserved() {
        let mut obs = obs_with_root(exchange(200, &[], ""));
        obs.root = Probed::Failed("timeout".into());
        assert_eq!(
            try_judge(&COMPRESSION, &obs),
            Err(Unobserved::Failed("timeout".into()))
        );
    }

    #[test]
    fn cache_control_no_store_passes() {
        let ex = exchange(200, &[("cache-control", "no-store")], "");
        let j = judge(&CACHING, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("Cache-Control: no-store"));
        assert_eq!(
            j.evidence,
            vec!["GET https://app.example.com/ → 200, Cache-Control: no-store"]
        );
    }

    #[test]
    fn etag_alone_passes_and_notes_missing_cache_control() {
        let ex = exchange(200, &[("ETag", "\"abc\"")], "");
        let j = judge(&CACHING, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("no Cache-Control"));
    }

    #[test]
    fn no_caching_headers_warns() {
        let ex = exchange(200, &[("Cache-Control", "  ")], "");
        let j = judge(&CACHING, &obs_with_root(ex));
        assert_eq!(j.outcome, Outcome::Warn);
        assert_eq!(
            j.evidence,
            vec![
                "GET https://app.example.com/ → 200, no Cache-Control, ETag or Last-Modified header"
            ]
        );
    }

    #[test]
    fn caching_failed_root_is_unobserved() {
        let mut obs = obs_with_root(exchange(200, &[], ""));
        obs.root = Probed::Skipped("not probed".into());
        assert!(matches!(
            try_judge(&CACHING, &obs),
            Err(Unobserved::Skipped(_))
        ));
    }

    // perf.latency, perf.http2, perf.pagination_depth

    fn samples(path: &str, ms: &[f64]) -> crate::observations::load::EndpointSamples {
        crate::observations::load::EndpointSamples {
            path: path.into(),
            warmup: 2,
            samples_ms: ms.to_vec(),
            statuses: [(200u16, ms.len() as u32)].into_iter().collect(),
            ..Default::default()
        }
    }

    fn with_latency(ms: &[f64], timeouts: u32) -> crate::observations::Observations {
        let mut e = samples("/", ms);
        e.timeouts = timeouts;
        crate::observations::Observations {
            latency: Probed::Observed(crate::observations::load::LatencyObservation {
                endpoints: vec![e],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn latency_thresholds_on_p95() {
        assert_eq!(
            judge(&LATENCY, &with_latency(&[10.0; 10], 0)).outcome,
            Outcome::Pass
        );
        assert_eq!(
            judge(&LATENCY, &with_latency(&[400.0; 10], 0)).outcome,
            Outcome::Warn
        );
        assert_eq!(
            judge(&LATENCY, &with_latency(&[1500.0; 10], 0)).outcome,
            Outcome::Fail
        );
        let j = judge(&LATENCY, &with_latency(&[10.0; 10], 1));
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            evidence_text(&j).contains("1 timeouts"),
            "{}",
            evidence_text(&j)
        );
    }

    #[test]
    fn http2_by_alpn() {
        let mut root = exchange(200, &[], "");
        root.version = "HTTP/2.0".into();
        assert_eq!(
            judge(&HTTP2, &obs_with_root(root.clone())).outcome,
            Outcome::Pass
        );
        root.version = "HTTP/1.1".into();
        assert_eq!(judge(&HTTP2, &obs_with_root(root)).outcome, Outcome::Warn);
    }

    fn with_pages(first: &[f64], deep: &[f64]) -> crate::observations::Observations {
        crate::observations::Observations {
            pagination: Probed::Observed(crate::observations::load::PaginationObservation {
                first_url: "https://app.example.com/api/orders?page=1".into(),
                deep_url: "https://app.example.com/api/orders?page=500".into(),
                deep_page: 500,
                first: samples("/api/orders?page=1", first),
                deep: samples("/api/orders?page=500", deep),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn deep_pages_three_times_slower_warn() {
        let j = judge(
            &PAGINATION_DEPTH,
            &with_pages(&[2.0, 2.0, 2.0], &[9.0, 9.0, 9.0]),
        );
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("4.5×"), "{}", j.summary);
        assert_eq!(
            judge(
                &PAGINATION_DEPTH,
                &with_pages(&[2.0, 2.0, 2.0], &[2.5, 2.4, 2.6])
            )
            .outcome,
            Outcome::Pass
        );
    }
}
