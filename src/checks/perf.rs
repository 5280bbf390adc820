//! Performance judges that read single responses: compression and caching headers.
//!
//! Both look at the root response (`GET /` with `Accept-Encoding: gzip, deflate, br`). They do not
//! time anything; latency checks read repeated samples instead.

use super::headers::{EVIDENCE_MAX, clip, header_line};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Unobserved};
use crate::probes::http::HttpExchange;

// ---------------------------------------------------------------------------------------------
// perf.compression

/// `perf.compression`: text responses are compressed when the client offers it.
pub const COMPRESSION: CheckMeta = CheckMeta {
    id: "perf.compression",
    title: "Response compression",
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
}
