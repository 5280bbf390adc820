//! Rate-limit judges: does the configured endpoint (a login, a signup, an expensive search)
//! answer a bounded burst with `429` before it degrades, does it say so in headers clients can
//! act on, and does it let clients back in after the advertised wait.
//!
//! The active ones read the [`BurstObservation`] of the burst (see `probes::burst` for the ramp
//! and its caps); `ratelimit.headers` is passive: it reads every response the audit received
//! (the root, health endpoints, error pages, packs…) and the burst's when one ran, so a site that
//! advertises its quota on `/` passes without any `[ratelimit]` section. `ratelimit.enforced` is stricter than "warn when no limit": an endpoint is only
//! named in `[ratelimit] endpoint` because it must be limited, so accepting the whole capped
//! burst without one `429` fails; only a burst cut short (deadline, budget) before its caps is a
//! warning.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::ratelimit::{BurstObservation, BurstStop, RateLimitHeaders};
pub use crate::observations::ratelimit::{
    DEGRADED_P95_FLOOR_MS, DEGRADED_P95_RATIO, latency_degraded,
};
use crate::observations::{Observations, Unobserved};

fn statuses(b: &BurstObservation) -> String {
    let mut parts: Vec<String> = b
        .statuses
        .iter()
        .map(|(code, n)| format!("{code}×{n}"))
        .collect();
    if b.timeouts > 0 {
        parts.push(format!("timeouts×{}", b.timeouts));
    }
    if b.failures > 0 {
        parts.push(format!("failures×{}", b.failures));
    }
    if parts.is_empty() {
        "no answers".to_string()
    } else {
        parts.join(", ")
    }
}

fn burst_line(b: &BurstObservation) -> String {
    format!(
        "{}: {} requests sent, ramp {} → {} rps over {:.1} s (caps: {} requests, {} rps, {} in flight, {} s); answers: {}",
        b.request,
        b.sent,
        b.caps.start_rps,
        b.peak_rps(),
        b.elapsed_ms / 1000.0,
        b.caps.max_requests,
        b.caps.max_rps,
        b.caps.concurrency,
        b.caps.max_duration_ms / 1000,
        statuses(b)
    )
}

fn headers_line(ex: &HttpExchange) -> String {
    let names = [
        "retry-after",
        "ratelimit-policy",
        "ratelimit",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ];
    let found: Vec<String> = names
        .iter()
        .filter_map(|n| ex.header(n).map(|v| format!("{n}: {v}")))
        .collect();
    if found.is_empty() {
        format!("{}, no rate-limit headers", ex.request_line())
    } else {
        format!("{}, {}", ex.request_line(), found.join(", "))
    }
}

// ---------------------------------------------------------------------------------------------
// ratelimit.enforced

/// `ratelimit.enforced`: the configured endpoint answers a bounded burst with 429.
pub const ENFORCED: CheckMeta = CheckMeta {
    id: "ratelimit.enforced",
    title: "Rate limit enforced",
    problem: "No rate limit stops a burst",
    category: Category::Security,
    severity: Severity::High,
    active: true,
    weight: 1.0,
    rule: "bounded open-loop ramp on the configured endpoint (default caps: 300 requests, 50 \
           rps, 8 concurrent, 60 s; stop at first 429; abort when degraded: > 1% 5xx/timeouts, \
           or p95 above both 3× the first step's and an absolute 250 ms) — pass: 429 within \
           caps; fail: the whole capped burst accepted without a 429, or degraded before any \
           429; warn: cut short (deadline, budget) before the caps with no 429",
    remediation: "Rate-limit the endpoint per client (IP, account, API key) at the edge or in \
                  the application — e.g. 10 login attempts per minute — and answer excess \
                  requests with `429 Too Many Requests`, `Retry-After` and `RateLimit`/\
                  `RateLimit-Policy` headers, before the service itself degrades.",
    references: &[
        "RFC 6585 §4: 429 Too Many Requests",
        "https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/",
        "https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#login-throttling",
    ],
    judge: enforced,
};

/// Judges `ratelimit.enforced`.
pub fn enforced(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let b = obs.ratelimit.get()?;
    if let Some(first) = &b.first_429 {
        return Ok(Judgement::pass(format!(
            "The endpoint answered 429 on request {} of the burst, {:.1} s in, at {} rps.",
            first.request,
            first.after_ms / 1000.0,
            first.rps
        ))
        .evidence(burst_line(b))
        .evidence(format!(
            "first 429 on request {} ({} sent by then) after {:.2} s at {} rps: {}",
            first.request,
            first.sent_by_then,
            first.after_ms / 1000.0,
            first.rps,
            headers_line(&first.exchange)
        )));
    }
    let line = burst_line(b);
    // A recording made under an older, jitter-prone rule is re-judged by today's.
    let latency_shown = b.steps.first().is_some_and(|first| {
        b.steps
            .iter()
            .skip(1)
            .any(|s| latency_degraded(first.p95_ms, s.p95_ms))
    });
    let stop = match b.stopped_by {
        BurstStop::LatencyTripled if !latency_shown => BurstStop::Budget,
        other => other,
    };
    let judgement = match stop {
        BurstStop::LatencyTripled => Judgement::fail(format!(
            "The endpoint degraded before any rate limit applied ({}) after {} requests.",
            b.stopped_by.describe(),
            b.sent
        ))
        .evidence(line)
        .evidence(steps_line(b))
        .evidence_all(b.first_failure.clone()),
        BurstStop::Errors => Judgement::fail(format!(
            "The endpoint degraded before any rate limit applied ({}) after {} requests.",
            b.stopped_by.describe(),
            b.sent
        ))
        .evidence(line)
        .evidence_all(b.first_failure.clone()),
        BurstStop::RequestCap | BurstStop::DurationCap => Judgement::fail(format!(
            "No rate limit: all {} requests of the capped burst were accepted, up to {} rps, without a 429.",
            b.sent,
            b.peak_rps()
        ))
        .evidence(line),
        BurstStop::Deadline | BurstStop::Budget | BurstStop::RateLimited => {
            Judgement::warn(format!(
                "No rate limit was seen up to {} rps, but the burst was cut short after {} requests ({}).",
                b.peak_rps(),
                b.sent,
                b.stopped_by.describe()
            ))
            .evidence(line)
        }
    };
    Ok(judgement)
}

/// `p95 per step: 10 rps 0.8 ms, 20 rps 0.9 ms, …`.
fn steps_line(b: &BurstObservation) -> String {
    let steps: Vec<String> = b
        .steps
        .iter()
        .map(|s| format!("{} rps {:.1} ms", s.rps, s.p95_ms))
        .collect();
    format!(
        "p95 per step: {} (degraded means above {DEGRADED_P95_RATIO}× the first step and {DEGRADED_P95_FLOOR_MS} ms)",
        steps.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// ratelimit.headers

/// `ratelimit.headers`: limits are advertised in a standard header family.
pub const HEADERS: CheckMeta = CheckMeta {
    id: "ratelimit.headers",
    title: "Rate-limit headers",
    problem: "Rate-limit headers are missing or malformed",
    category: Category::Security,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "RateLimit / RateLimit-Policy (structured), RateLimit-Limit/-Remaining/-Reset, \
           combined RateLimit: limit=…, X-RateLimit-* — judged passively on every response \
           already received, and on the burst when one runs — pass: a valid family; warn: \
           malformed; info: none",
    remediation: "Advertise the quota so clients can pace themselves: `RateLimit-Policy: \
                  \"login\";q=10;w=60` and `RateLimit: \"login\";r=3;t=42` (IETF \
                  draft-ietf-httpapi-ratelimit-headers), or at least `X-RateLimit-Limit/\
                  -Remaining/-Reset`.",
    references: &["https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/"],
    judge: headers,
};

/// Every response this run received, the burst's 429 and first answer first (they are the most
/// telling), then the passive ones.
fn responses(obs: &Observations) -> Vec<&HttpExchange> {
    let mut out: Vec<&HttpExchange> = Vec::new();
    if let Some(b) = obs.ratelimit.observed() {
        out.extend(b.first_429.as_ref().map(|f| &f.exchange));
        out.extend(b.first_response.iter());
        out.extend(b.recovery.observed().map(|r| &r.exchange));
    }
    out.extend(obs.all_exchanges());
    out.extend(obs.tracing.observed().map(|t| &t.exchange));
    out
}

/// Judges `ratelimit.headers` on every response seen: the first one carrying a readable family
/// passes; a family that is present but partly unreadable warns; none anywhere is noted at info.
pub fn headers(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = responses(obs);
    if seen.is_empty() {
        // Nothing answered at all: the root's failure says why.
        obs.root_get()?;
        return Err(Unobserved::Failed(
            "no response was received to look for rate-limit headers in".to_string(),
        ));
    }
    let parsed: Vec<(&HttpExchange, RateLimitHeaders)> = seen
        .iter()
        .map(|ex| (*ex, RateLimitHeaders::parse(ex)))
        .filter(|(_, h)| h.family.is_some())
        .collect();
    let clean = parsed.iter().find(|(_, h)| h.problems.is_empty());
    if let Some((ex, h)) = clean.or_else(|| parsed.first())
        && let Some(family) = h.family
    {
        let line = headers_line(ex);
        if !h.problems.is_empty() {
            return Ok(Judgement::warn(format!(
                "{} headers are present but partly unreadable: {}.",
                family.describe(),
                h.problems.join("; ")
            ))
            .evidence(line));
        }
        return Ok(Judgement::pass(format!(
            "Limits are advertised with {} headers (limit {}, remaining {}, reset {}).",
            family.describe(),
            h.limit.map_or("?".into(), |v| v.to_string()),
            h.remaining.map_or("?".into(), |v| v.to_string()),
            h.reset_secs.map_or("?".into(), |v| format!("{v} s"))
        ))
        .evidence(line));
    }
    let shown: Vec<String> = seen.iter().take(3).map(|ex| headers_line(ex)).collect();
    let mut j = Judgement::warn(format!(
        "No rate-limit headers tell clients their quota: none of the {} responses received carried one.",
        seen.len()
    ))
    .severity(Severity::Info)
    .evidence_all(shown);
    if seen.len() > 3 {
        j = j.evidence(format!(
            "… and {} more responses without them",
            seen.len() - 3
        ));
    }
    Ok(j)
}

// ---------------------------------------------------------------------------------------------
// ratelimit.retry_after

/// `ratelimit.retry_after`: a 429 says when to retry.
pub const RETRY_AFTER: CheckMeta = CheckMeta {
    id: "ratelimit.retry_after",
    title: "429 says when to retry",
    problem: "The 429 does not say when to retry",
    category: Category::Security,
    severity: Severity::Medium,
    active: true,
    weight: 1.0,
    rule: "429 response — warn: no Retry-After or RateLimit reset; warn: absurd values (over a \
           day, or unreadable)",
    remediation: "Send `Retry-After: <seconds>` (and a RateLimit reset) with every 429 so \
                  clients back off for the right time instead of hammering or giving up.",
    references: &["RFC 9110 §10.2.3: Retry-After", "RFC 6585 §4"],
    judge: retry_after,
};

/// Judges `ratelimit.retry_after`.
pub fn retry_after(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let b = obs.ratelimit.get()?;
    let Some(first) = &b.first_429 else {
        return Ok(Judgement::skipped(
            "No 429 was seen, so there is no Retry-After to judge.",
        ));
    };
    let h = RateLimitHeaders::parse(&first.exchange);
    let line = headers_line(&first.exchange);
    match h.wait_secs() {
        None => Ok(Judgement::warn(
            "The 429 does not say when to retry (no Retry-After, no rate-limit reset).",
        )
        .evidence(line)
        .evidence_all(h.problems)),
        Some(secs) if secs > 86_400.0 => Ok(Judgement::warn(format!(
            "The 429 asks clients to wait {secs} s, more than a day."
        ))
        .evidence(line)),
        Some(secs) => {
            Ok(Judgement::pass(format!("The 429 says to retry after {secs} s.")).evidence(line))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ratelimit.recovery

/// `ratelimit.recovery`: the limit lifts after the advertised wait.
pub const RECOVERY: CheckMeta = CheckMeta {
    id: "ratelimit.recovery",
    title: "Rate limit lifts after the wait",
    problem: "The rate limit does not lift after the advertised wait",
    category: Category::Security,
    severity: Severity::Medium,
    active: true,
    weight: 1.0,
    rule: "one request after min(Retry-After, 60 s) — fail: still 429",
    remediation: "Make the advertised wait true: a client that waits `Retry-After` seconds must \
                  be let back in (check window arithmetic and clock skew between instances).",
    references: &["RFC 9110 §10.2.3: Retry-After"],
    judge: recovery,
};

/// Judges `ratelimit.recovery`.
pub fn recovery(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let b = obs.ratelimit.get()?;
    let r = b.recovery.get()?;
    let line = format!(
        "waited {:.1} s (advertised {}), then {}",
        r.waited_ms / 1000.0,
        r.advertised_secs
            .map_or("nothing".into(), |s| format!("{s} s")),
        headers_line(&r.exchange)
    );
    if r.exchange.status == 429 {
        Ok(
            Judgement::fail("The endpoint still answered 429 after the advertised wait.")
                .evidence(line),
        )
    } else {
        Ok(Judgement::pass(format!(
            "After the advertised wait the endpoint answered {} again.",
            r.exchange.status
        ))
        .evidence(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::exchange;
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::ratelimit::{BurstCaps, BurstStep, First429, Recovery};

    fn burst(
        statuses: &[(u16, u32)],
        stop: BurstStop,
        limited: Option<HttpExchange>,
    ) -> Observations {
        let mut b = BurstObservation {
            request: "POST https://app.example.com/login".into(),
            caps: BurstCaps {
                max_requests: 60,
                max_rps: 50.0,
                concurrency: 8,
                max_duration_ms: 60_000,
                start_rps: 10.0,
                step_ms: 200,
            },
            sent: statuses.iter().map(|(_, n)| n).sum(),
            steps: vec![
                BurstStep {
                    rps: 10.0,
                    sent: 2,
                    p95_ms: 1.0,
                },
                BurstStep {
                    rps: 50.0,
                    sent: 10,
                    p95_ms: 1.0,
                },
            ],
            elapsed_ms: 1300.0,
            stopped_by: stop,
            first_response: Some(exchange(401, &[], "")),
            ..BurstObservation::default()
        };
        b.statuses = statuses.iter().copied().collect();
        b.first_429 = limited.map(|ex| First429 {
            request: 11,
            sent_by_then: 12,
            after_ms: 1100.0,
            rps: 20.0,
            exchange: ex,
        });
        Observations {
            ratelimit: Probed::Observed(b),
            ..Observations::default()
        }
    }

    fn judge(meta: &CheckMeta, o: &Observations) -> Judgement {
        (meta.judge)(o, &JudgeConfig::default()).expect("judged")
    }

    fn limited() -> HttpExchange {
        exchange(
            429,
            &[
                ("Retry-After", "2"),
                ("RateLimit-Policy", "\"login\";q=10;w=2"),
                ("RateLimit", "\"login\";r=0;t=2"),
            ],
            "",
        )
    }

    #[test]
    fn a_429_within_caps_passes_with_the_request_number() {
        let o = burst(
            &[(401, 10), (429, 2)],
            BurstStop::RateLimited,
            Some(limited()),
        );
        let j = judge(&ENFORCED, &o);
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(
            j.evidence[1].contains("first 429 on request 11"),
            "{:?}",
            j.evidence
        );
    }

    #[test]
    fn whole_burst_accepted_fails_with_the_count() {
        let o = burst(&[(401, 60)], BurstStop::RequestCap, None);
        let j = judge(&ENFORCED, &o);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("all 60 requests"), "{}", j.summary);
        assert!(
            j.evidence[0].contains("60 requests sent"),
            "{:?}",
            j.evidence
        );
    }

    #[test]
    fn degradation_before_limit_fails() {
        let o = burst(&[(200, 20), (503, 1)], BurstStop::Errors, None);
        let j = judge(&ENFORCED, &o);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("degraded"));
    }

    #[test]
    fn cut_short_without_429_warns() {
        let o = burst(&[(200, 20)], BurstStop::Deadline, None);
        assert_eq!(judge(&ENFORCED, &o).outcome, Outcome::Warn);
    }

    #[test]
    fn not_configured_is_skipped() {
        let o = Observations {
            ratelimit: Probed::Skipped("no [ratelimit] endpoint configured".into()),
            ..Observations::default()
        };
        assert!(matches!(
            enforced(&o, &JudgeConfig::default()),
            Err(Unobserved::Skipped(_))
        ));
    }

    #[test]
    fn sub_millisecond_jitter_is_not_degradation() {
        // 0.2 ms → 0.9 ms is "more than tripled" but far below 250 ms.
        assert!(!latency_degraded(0.2, 0.9));
        assert!(!latency_degraded(100.0, 260.0), "above 250 ms but not 3×");
        assert!(latency_degraded(50.0, 300.0));
        assert!(!latency_degraded(0.0, 900.0), "no baseline, no ratio");
    }

    #[test]
    fn a_recorded_latency_stop_under_the_floor_is_only_cut_short() {
        let o = burst(&[(401, 20)], BurstStop::LatencyTripled, None);
        // The fixture's steps are 1.0 ms each: no degradation by today's rule.
        assert_eq!(judge(&ENFORCED, &o).outcome, Outcome::Warn);
        let mut o = burst(&[(401, 20)], BurstStop::LatencyTripled, None);
        if let Probed::Observed(b) = &mut o.ratelimit {
            b.steps[1].p95_ms = 400.0;
            b.steps[0].p95_ms = 20.0;
        }
        let j = judge(&ENFORCED, &o);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.evidence.iter().any(|e| e.contains("50 rps 400.0 ms")),
            "{:?}",
            j.evidence
        );
    }

    #[test]
    fn headers_are_judged_passively_on_the_root_without_a_burst() {
        let o = Observations {
            root: Probed::Observed(exchange(
                200,
                &[
                    ("X-RateLimit-Limit", "100"),
                    ("X-RateLimit-Remaining", "99"),
                    ("X-RateLimit-Reset", "60"),
                ],
                "",
            )),
            ratelimit: Probed::Skipped("no [ratelimit] endpoint configured".into()),
            ..Observations::default()
        };
        let j = judge(&HEADERS, &o);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert!(j.summary.contains("X-RateLimit-*"), "{}", j.summary);
        const { assert!(!HEADERS.active, "judged in passive profiles too") };
        let o = Observations {
            root: Probed::Observed(exchange(200, &[], "")),
            ..Observations::default()
        };
        let j = judge(&HEADERS, &o);
        assert_eq!(
            (j.outcome, j.severity),
            (Outcome::Warn, Some(Severity::Info))
        );
        let o = Observations {
            root: Probed::Failed("GET https://app.example.com/: cannot connect".into()),
            ..Observations::default()
        };
        assert!(matches!(
            headers(&o, &JudgeConfig::default()),
            Err(Unobserved::Failed(_))
        ));
    }

    #[test]
    fn headers_pass_on_a_family_and_note_none() {
        let o = burst(
            &[(401, 10), (429, 1)],
            BurstStop::RateLimited,
            Some(limited()),
        );
        let j = judge(&HEADERS, &o);
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("structured"), "{}", j.summary);
        let o = burst(
            &[(401, 10), (429, 1)],
            BurstStop::RateLimited,
            Some(exchange(429, &[], "")),
        );
        let j = judge(&HEADERS, &o);
        assert_eq!(j.outcome, Outcome::Warn);
        assert_eq!(j.severity, Some(Severity::Info));
    }

    #[test]
    fn retry_after_missing_or_absurd_warns() {
        let ok = burst(&[(429, 1)], BurstStop::RateLimited, Some(limited()));
        assert_eq!(judge(&RETRY_AFTER, &ok).outcome, Outcome::Pass);
        let none = burst(
            &[(429, 1)],
            BurstStop::RateLimited,
            Some(exchange(429, &[], "")),
        );
        assert_eq!(judge(&RETRY_AFTER, &none).outcome, Outcome::Warn);
        let absurd = burst(
            &[(429, 1)],
            BurstStop::RateLimited,
            Some(exchange(429, &[("Retry-After", "999999")], "")),
        );
        assert_eq!(judge(&RETRY_AFTER, &absurd).outcome, Outcome::Warn);
        let no429 = burst(&[(200, 1)], BurstStop::RequestCap, None);
        assert_eq!(judge(&RETRY_AFTER, &no429).outcome, Outcome::Skipped);
    }

    #[test]
    fn recovery_still_429_fails() {
        let mut o = burst(&[(429, 1)], BurstStop::RateLimited, Some(limited()));
        if let Probed::Observed(b) = &mut o.ratelimit {
            b.recovery = Probed::Observed(Recovery {
                advertised_secs: Some(2.0),
                waited_ms: 2100.0,
                exchange: limited(),
            });
        }
        assert_eq!(judge(&RECOVERY, &o).outcome, Outcome::Fail);
        if let Probed::Observed(b) = &mut o.ratelimit {
            b.recovery = Probed::Observed(Recovery {
                advertised_secs: Some(2.0),
                waited_ms: 2100.0,
                exchange: exchange(401, &[], ""),
            });
        }
        assert_eq!(judge(&RECOVERY, &o).outcome, Outcome::Pass);
    }
}
