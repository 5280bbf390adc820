//! The rate-limit burst (active): a bounded, open-loop ramp on one configured endpoint, then one
//! request after the advertised wait.
//!
//! The ramp starts at `start_rps` and doubles every `step` up to `max_rps`; requests are sent on
//! schedule whatever the answers (open loop), with at most `concurrency` in flight. It stops at
//! the first `429` (it has seen enough), at any hard cap (requests, duration, the run's deadline
//! or its share of the request budget), and aborts when more than 1% of answers are 5xx or
//! timeouts or when a step's p95 latency rises above both three times the first step's and
//! 250 ms ([`crate::checks::ratelimit::latency_degraded`]) — the target is degrading, and a
//! prober must not push it over; loopback jitter on a sub-millisecond endpoint is not that. Defaults and ceilings: 300 requests, 50 rps, 8 in flight, 60 s
//! ([`crate::config::RateLimitConfig`]).
//!
//! After a 429, `ratelimit.recovery` waits `min(Retry-After or the advertised reset,
//! ratelimit.max_wait)`, never past the run's deadline, and sends one more request.
//!
//! Also here: [`RateLimitHeaders::parse`], the pure parser of the four header families
//! (structured `RateLimit`/`RateLimit-Policy`, draft `RateLimit-Limit/-Remaining/-Reset`,
//! combined `RateLimit: limit=…`, `X-RateLimit-*`), shared by the probe (to know how long to
//! wait) and the judges.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::http::{self, HttpExchange, RequestSpec};
use super::target::{Target, join_path};
use super::{ProbeCx, ProbeError};
use crate::observations::{Observations, Probed};

/// The caps the burst ran under.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BurstCaps {
    /// Requests at most.
    pub max_requests: u32,
    /// Top rate.
    pub max_rps: f64,
    /// In flight at most.
    pub concurrency: usize,
    /// Duration at most, milliseconds.
    pub max_duration_ms: u64,
    /// First rate of the ramp.
    pub start_rps: f64,
    /// Length of one step, milliseconds.
    pub step_ms: u64,
}

/// One step of the ramp.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BurstStep {
    /// The rate scheduled in this step.
    pub rps: f64,
    /// Requests sent in it.
    pub sent: u32,
    /// p95 latency of its answers, milliseconds (0 when none).
    pub p95_ms: f64,
}

/// Why the burst stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurstStop {
    /// A 429 came back.
    RateLimited,
    /// The request cap was reached without a 429.
    #[default]
    RequestCap,
    /// The duration cap was reached.
    DurationCap,
    /// The run's deadline was reached.
    Deadline,
    /// The run's request budget was spent.
    Budget,
    /// More than 1% of answers were 5xx or timeouts.
    Errors,
    /// A step's p95 latency rose above both three times the first step's and 250 ms.
    LatencyTripled,
}

impl BurstStop {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            BurstStop::RateLimited => "stopped at the first 429",
            BurstStop::RequestCap => "the request cap was reached without a 429",
            BurstStop::DurationCap => "the duration cap was reached without a 429",
            BurstStop::Deadline => "the run's deadline cut the burst short",
            BurstStop::Budget => "the run's request budget cut the burst short",
            BurstStop::Errors => "aborted: more than 1% of answers were 5xx or timeouts",
            BurstStop::LatencyTripled => {
                "aborted: p95 latency rose above 3× the first step's and 250 ms"
            }
        }
    }
}

/// The first 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct First429 {
    /// Its request number (1-based, in sending order).
    pub request: u32,
    /// Requests sent when it arrived.
    pub sent_by_then: u32,
    /// Milliseconds from the start of the burst to its arrival.
    pub after_ms: f64,
    /// The scheduled rate when it was sent.
    pub rps: f64,
    /// The 429 itself.
    pub exchange: HttpExchange,
}

/// The request after the wait.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// What the 429 advertised (seconds), if anything.
    pub advertised_secs: Option<f64>,
    /// How long readyprobe waited, milliseconds.
    pub waited_ms: f64,
    /// The answer.
    pub exchange: HttpExchange,
}

/// Everything the `ratelimit.*` checks read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BurstObservation {
    /// `POST https://…/login` (redacted).
    pub request: String,
    /// The caps.
    pub caps: BurstCaps,
    /// Requests sent.
    pub sent: u32,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u32>,
    /// Requests that timed out.
    pub timeouts: u32,
    /// Requests that failed otherwise.
    pub failures: u32,
    /// The first failure.
    pub first_failure: Option<String>,
    /// The ramp's steps.
    pub steps: Vec<BurstStep>,
    /// Milliseconds from the first request to the last answer.
    pub elapsed_ms: f64,
    /// Why it stopped.
    pub stopped_by: BurstStop,
    /// The first answer (headers before any limiting).
    pub first_response: Option<HttpExchange>,
    /// The first 429.
    pub first_429: Option<First429>,
    /// The request after the advertised wait.
    pub recovery: Probed<Recovery>,
}

impl BurstObservation {
    /// 5xx answers.
    pub fn server_errors(&self) -> u32 {
        self.statuses
            .iter()
            .filter(|(c, _)| **c >= 500)
            .map(|(_, n)| n)
            .sum()
    }

    /// Answers received.
    pub fn answered(&self) -> u32 {
        self.statuses.values().sum()
    }

    /// The highest rate reached.
    pub fn peak_rps(&self) -> f64 {
        self.steps.iter().map(|s| s.rps).fold(0.0, f64::max)
    }
}

/// The active step: burst, then recovery — on connections of their own, closed afterwards, so
/// a target that answers a burst by closing connections does not close the ordinary probes'.
pub async fn run(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    let cx = ProbeCx {
        net: cx.net.grouped(),
        ..cx.clone()
    };
    obs.ratelimit = burst(&cx, audit).await;
}

fn spec_for(audit: &Target<'_>, endpoint: &str) -> RequestSpec {
    let cfg = &audit.config.ratelimit;
    let mut spec = RequestSpec::get(join_path(audit.target, endpoint)).no_follow();
    spec.method = cfg.method.to_ascii_uppercase();
    if let Some(body) = &cfg.body {
        spec.body = Some(body.clone());
        spec = spec.header("content-type", &cfg.content_type);
    }
    spec
}

fn p95(samples: &[f64]) -> f64 {
    super::load::Percentiles::of(samples).p95_ms
}

async fn burst(cx: &ProbeCx, audit: &Target<'_>) -> Probed<BurstObservation> {
    let cfg = &audit.config.ratelimit;
    let Some(endpoint) = &cfg.endpoint else {
        return Probed::Skipped(
            "no [ratelimit] endpoint configured (name the endpoint that must be rate-limited, e.g. /login)"
                .to_string(),
        );
    };
    let spec = spec_for(audit, endpoint);
    let mut obs = BurstObservation {
        request: format!("{} {}", spec.method, crate::redact::url(&spec.url)),
        caps: BurstCaps {
            max_requests: cfg.max_requests,
            max_rps: cfg.max_rps,
            concurrency: cfg.concurrency,
            max_duration_ms: cfg.max_duration.as_millis() as u64,
            start_rps: cfg.start_rps,
            step_ms: cfg.step.as_millis() as u64,
        },
        recovery: Probed::Skipped("no 429 was seen".to_string()),
        ..BurstObservation::default()
    };
    let started = Instant::now();
    let cap_end = started + cfg.max_duration;
    let hard_end = cap_end.min(cx.deadline);
    let mut rate = cfg.start_rps.min(cfg.max_rps);
    let mut step_start = started;
    obs.steps.push(BurstStep {
        rps: rate,
        ..BurstStep::default()
    });
    let mut step_latencies: Vec<Vec<f64>> = vec![Vec::new()];
    let mut next_send = started;
    let mut stop: Option<BurstStop> = None;
    let mut inflight = FuturesUnordered::new();
    loop {
        if stop.is_none() {
            let now = Instant::now();
            if obs.sent >= cfg.max_requests {
                stop = Some(BurstStop::RequestCap);
            } else if now >= hard_end {
                stop = Some(if hard_end < cap_end {
                    BurstStop::Deadline
                } else {
                    BurstStop::DurationCap
                });
            }
        }
        if stop.is_some() && inflight.is_empty() {
            break;
        }
        let can_send = stop.is_none() && inflight.len() < cfg.concurrency;
        tokio::select! {
            _ = tokio::time::sleep_until(next_send.min(hard_end)), if can_send => {
                let now = Instant::now();
                if now >= hard_end {
                    continue;
                }
                // Ramp: a new step doubles the rate, unless the last one tripled latency.
                while now >= step_start + cfg.step {
                    step_start += cfg.step;
                    let finished = step_latencies.len() - 1;
                    if let Some(s) = obs.steps.get_mut(finished) {
                        s.p95_ms = p95(&step_latencies[finished]);
                    }
                    let base = obs.steps.first().map(|s| s.p95_ms).unwrap_or_default();
                    let last = obs.steps.get(finished).map(|s| s.p95_ms).unwrap_or_default();
                    if finished > 0
                        && step_latencies[0].len() >= 3
                        && step_latencies[finished].len() >= 3
                        && crate::checks::ratelimit::latency_degraded(base, last)
                    {
                        stop = Some(BurstStop::LatencyTripled);
                        break;
                    }
                    rate = (rate * 2.0).min(cfg.max_rps);
                    obs.steps.push(BurstStep { rps: rate, ..BurstStep::default() });
                    step_latencies.push(Vec::new());
                }
                if stop.is_some() {
                    continue;
                }
                obs.sent += 1;
                let number = obs.sent;
                let step = obs.steps.len() - 1;
                if let Some(s) = obs.steps.last_mut() {
                    s.sent += 1;
                }
                let spec = spec.clone();
                let rps = rate;
                inflight.push(async move {
                    let result = http::send(cx, &spec).await;
                    (number, step, rps, result)
                });
                next_send += Duration::from_secs_f64(1.0 / rate);
                if next_send < now {
                    next_send = now;
                }
            }
            Some((number, step, rps, result)) = inflight.next(), if !inflight.is_empty() => {
                match result {
                    Ok(ex) => {
                        if let Some(l) = step_latencies.get_mut(step) {
                            l.push(ex.elapsed_ms);
                        }
                        *obs.statuses.entry(ex.status).or_default() += 1;
                        if obs.first_response.is_none() {
                            obs.first_response = Some(ex.clone());
                        }
                        if ex.status == 429 && obs.first_429.is_none() {
                            obs.first_429 = Some(First429 {
                                request: number,
                                sent_by_then: obs.sent,
                                after_ms: started.elapsed().as_secs_f64() * 1000.0,
                                rps,
                                exchange: ex,
                            });
                            stop.get_or_insert(BurstStop::RateLimited);
                        }
                    }
                    Err(ProbeError::Timeout { .. }) => obs.timeouts += 1,
                    Err(err @ ProbeError::Budget { .. }) => {
                        obs.first_failure.get_or_insert(err.to_string());
                        stop.get_or_insert(BurstStop::Budget);
                    }
                    Err(err @ ProbeError::Deadline { .. }) => {
                        obs.first_failure.get_or_insert(err.to_string());
                        stop.get_or_insert(BurstStop::Deadline);
                    }
                    Err(err) => {
                        obs.failures += 1;
                        obs.first_failure.get_or_insert(err.to_string());
                    }
                }
                let bad = obs.server_errors() + obs.timeouts + obs.failures;
                let done = obs.answered() + obs.timeouts + obs.failures;
                if obs.first_429.is_none() && bad > 0 && bad * 100 > done {
                    stop.get_or_insert(BurstStop::Errors);
                }
            }
            else => break,
        }
    }
    obs.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    for (i, s) in obs.steps.iter_mut().enumerate() {
        if s.p95_ms == 0.0 {
            s.p95_ms = p95(&step_latencies[i]);
        }
    }
    obs.stopped_by = stop.unwrap_or_default();
    if obs.answered() == 0
        && let Some(reason) = obs.first_failure.clone()
    {
        return Probed::Failed(reason);
    }
    if let Some(first) = &obs.first_429 {
        obs.recovery = recover(cx, audit, &spec, &first.exchange).await;
    }
    Probed::Observed(obs)
}

async fn recover(
    cx: &ProbeCx,
    audit: &Target<'_>,
    spec: &RequestSpec,
    limited: &HttpExchange,
) -> Probed<Recovery> {
    let advertised = RateLimitHeaders::parse(limited).wait_secs();
    let Some(secs) = advertised else {
        return Probed::Skipped(
            "the 429 advertised no wait (no Retry-After or rate-limit reset header)".to_string(),
        );
    };
    let cap = audit.config.ratelimit.max_wait;
    // A hostile `X-RateLimit-Reset: NaN` must not panic here: NaN waits nothing.
    let wait = Duration::try_from_secs_f64(secs.clamp(0.0, 3600.0))
        .unwrap_or_default()
        .min(cap);
    let room = cx.deadline.saturating_duration_since(Instant::now());
    if wait + cx.timeout.min(Duration::from_secs(5)) > room {
        return Probed::Skipped(format!(
            "the run's deadline leaves {:.1} s, not enough to wait the advertised {:.1} s",
            room.as_secs_f64(),
            wait.as_secs_f64()
        ));
    }
    let started = Instant::now();
    // A little past the advertised moment, so a limiter that rounds down is not caught early.
    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    let waited_ms = started.elapsed().as_secs_f64() * 1000.0;
    match http::send(cx, spec).await {
        Ok(exchange) => Probed::Observed(Recovery {
            advertised_secs: Some(secs),
            waited_ms,
            exchange,
        }),
        Err(err) => Probed::Failed(err.to_string()),
    }
}

/// Which rate-limit header family a response used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderFamily {
    /// IETF structured fields: `RateLimit-Policy: "p";q=100;w=60` + `RateLimit: "p";r=5;t=30`.
    Structured,
    /// Older IETF draft: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`.
    Draft,
    /// One combined header: `RateLimit: limit=100, remaining=5, reset=30`.
    Combined,
    /// The de-facto `X-RateLimit-Limit/-Remaining/-Reset`.
    XRateLimit,
}

impl HeaderFamily {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            HeaderFamily::Structured => "structured RateLimit/RateLimit-Policy",
            HeaderFamily::Draft => "draft RateLimit-Limit/-Remaining/-Reset",
            HeaderFamily::Combined => "combined RateLimit: limit=…",
            HeaderFamily::XRateLimit => "X-RateLimit-*",
        }
    }
}

/// What a response's rate-limit headers say. Pure: relative times are computed against the
/// response's own `Date` header, never the local clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimitHeaders {
    /// The family found (the first valid one in the order above).
    pub family: Option<HeaderFamily>,
    /// The quota.
    pub limit: Option<u64>,
    /// What is left.
    pub remaining: Option<u64>,
    /// Seconds until the quota resets.
    pub reset_secs: Option<f64>,
    /// The policy window, seconds.
    pub window_secs: Option<u64>,
    /// `Retry-After`, in seconds from the response.
    pub retry_after_secs: Option<f64>,
    /// Headers present but unreadable (`X-RateLimit-Reset: soon`).
    pub problems: Vec<String>,
}

impl RateLimitHeaders {
    /// Parses every family from a response.
    pub fn parse(ex: &HttpExchange) -> RateLimitHeaders {
        let mut out = RateLimitHeaders::default();
        let now = ex.header("date").and_then(parse_http_date);
        if let Some(raw) = ex.header("retry-after") {
            match raw.trim().parse::<u64>() {
                Ok(secs) => out.retry_after_secs = Some(secs as f64),
                Err(_) => match (parse_http_date(raw), now) {
                    (Some(at), Some(now)) => out.retry_after_secs = Some((at - now).max(0.0)),
                    (Some(_), None) => out
                        .problems
                        .push("Retry-After is a date but the response has no Date header".into()),
                    (None, _) => out.problems.push(format!(
                        "Retry-After: {raw:?} is not delta-seconds or an HTTP-date"
                    )),
                },
            }
        }
        let policy = ex.header("ratelimit-policy");
        let combined = ex.header("ratelimit");
        if let Some(policy) = policy {
            if let Some((q, w)) = structured_policy(policy) {
                out.family = Some(HeaderFamily::Structured);
                out.limit = Some(q);
                out.window_secs = w;
            } else {
                out.problems.push(format!(
                    "RateLimit-Policy: {policy:?} is not a structured policy"
                ));
            }
        }
        if let Some(value) = combined {
            if let Some((r, t)) = structured_state(value) {
                out.family.get_or_insert(HeaderFamily::Structured);
                out.remaining = r;
                out.reset_secs = t;
            } else if let Some((l, r, t)) = combined_fields(value) {
                out.family.get_or_insert(HeaderFamily::Combined);
                out.limit = out.limit.or(l);
                out.remaining = r;
                out.reset_secs = t;
            } else {
                out.problems
                    .push(format!("RateLimit: {value:?} is in no known form"));
            }
        }
        if out.family.is_none() {
            let limit = ex.header("ratelimit-limit").and_then(first_number);
            let remaining = ex.header("ratelimit-remaining").and_then(first_number);
            if limit.is_some() || remaining.is_some() {
                out.family = Some(HeaderFamily::Draft);
                out.limit = limit;
                out.remaining = remaining;
                out.reset_secs = ex
                    .header("ratelimit-reset")
                    .and_then(|r| r.trim().parse::<f64>().ok().filter(|v| v.is_finite()));
                if let Some(w) = ex.header("ratelimit-limit").and_then(window_param) {
                    out.window_secs = Some(w);
                }
            }
        }
        if out.family.is_none() {
            let limit = ex.header("x-ratelimit-limit").and_then(first_number);
            let remaining = ex.header("x-ratelimit-remaining").and_then(first_number);
            if limit.is_some() || remaining.is_some() {
                out.family = Some(HeaderFamily::XRateLimit);
                out.limit = limit;
                out.remaining = remaining;
                if let Some(raw) = ex.header("x-ratelimit-reset-after") {
                    out.reset_secs = raw.trim().parse::<f64>().ok().filter(|v| v.is_finite());
                } else if let Some(raw) = ex.header("x-ratelimit-reset") {
                    match x_reset(raw, now) {
                        Ok(secs) => out.reset_secs = Some(secs),
                        Err(m) => out.problems.push(format!("X-RateLimit-Reset: {m}")),
                    }
                }
            }
        }
        // Every family parses its reset as a float; `NaN`, `inf` or a negative value is no time
        // to wait on (and would panic as a Duration).
        if let Some(t) = out.reset_secs.filter(|t| !t.is_finite() || *t < 0.0) {
            out.problems.push(format!("the reset {t} is not a time"));
            out.reset_secs = None;
        }
        out
    }

    /// How long to wait before retrying: `Retry-After`, else the reset.
    pub fn wait_secs(&self) -> Option<f64> {
        self.retry_after_secs.or(self.reset_secs)
    }
}

/// `"default";q=100;w=60` → (q, w). The first policy item wins.
fn structured_policy(value: &str) -> Option<(u64, Option<u64>)> {
    let item = value.split(',').next()?.trim();
    let params = sf_params(item)?;
    let q = params.get("q")?.parse().ok()?;
    let w = params.get("w").and_then(|w| w.parse().ok());
    Some((q, w))
}

/// `"default";r=50;t=30` → (r, t).
fn structured_state(value: &str) -> Option<(Option<u64>, Option<f64>)> {
    let item = value.split(',').next()?.trim();
    let params = sf_params(item)?;
    if !params.contains_key("r") && !params.contains_key("t") {
        return None;
    }
    Some((
        params.get("r").and_then(|r| r.parse().ok()),
        params
            .get("t")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite()),
    ))
}

/// The parameters of one structured-field item whose bare item is a string or token.
fn sf_params(item: &str) -> Option<BTreeMap<String, String>> {
    let mut parts = item.split(';');
    let name = parts.next()?.trim();
    let quoted = name.len() >= 2 && name.starts_with('"') && name.ends_with('"');
    let token = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '*')
        && !name.contains('=');
    if !(quoted || token) {
        return None;
    }
    let mut out = BTreeMap::new();
    for p in parts {
        let (k, v) = p.trim().split_once('=')?;
        out.insert(
            k.trim().to_ascii_lowercase(),
            v.trim().trim_matches('"').to_string(),
        );
    }
    Some(out)
}

/// `limit=100, remaining=50, reset=30`.
fn combined_fields(value: &str) -> Option<(Option<u64>, Option<u64>, Option<f64>)> {
    let mut l = None;
    let mut r = None;
    let mut t = None;
    for part in value.split([',', ';']) {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim().to_ascii_lowercase().as_str() {
            "limit" => l = v.trim().parse().ok(),
            "remaining" => r = v.trim().parse().ok(),
            "reset" => t = v.trim().parse().ok(),
            _ => {}
        }
    }
    (l.is_some() || r.is_some()).then_some((l, r, t))
}

/// The leading integer of `100, 100;w=60`.
fn first_number(value: &str) -> Option<u64> {
    value.split([',', ';']).next()?.trim().parse().ok()
}

/// The `w=` of `100, 100;w=60`.
fn window_param(value: &str) -> Option<u64> {
    value
        .split([',', ';'])
        .filter_map(|p| p.trim().strip_prefix("w="))
        .find_map(|w| w.trim().parse().ok())
}

/// `X-RateLimit-Reset` as seconds from the response: delta seconds, delta milliseconds, epoch
/// seconds, epoch milliseconds or an HTTP-date (epochs and dates need the `Date` header).
fn x_reset(raw: &str, now: Option<f64>) -> Result<f64, String> {
    let raw = raw.trim();
    if let Ok(v) = raw.parse::<f64>() {
        if !v.is_finite() || v < 0.0 {
            return Err(format!("{raw:?} is not a time"));
        }
        let epoch = if v >= 1e12 {
            Some(v / 1000.0)
        } else if v >= 1e9 {
            Some(v)
        } else {
            None
        };
        return match (epoch, now) {
            (Some(at), Some(now)) => Ok((at - now).max(0.0)),
            (Some(_), None) => Err(format!(
                "{raw:?} looks like an epoch time but the response has no Date header"
            )),
            // Beyond a day, a small delta is milliseconds.
            (None, _) if v > 86_400.0 => Ok(v / 1000.0),
            (None, _) => Ok(v),
        };
    }
    match (parse_http_date(raw), now) {
        (Some(at), Some(now)) => Ok((at - now).max(0.0)),
        _ => Err(format!(
            "{raw:?} is not seconds, milliseconds, an epoch time or a date"
        )),
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to Unix seconds.
pub fn parse_http_date(raw: &str) -> Option<f64> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    let [_, day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if *zone != "GMT" {
        return None;
    }
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + m * 60 + s) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(headers: &[(&str, &str)]) -> HttpExchange {
        HttpExchange {
            status: 429,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..HttpExchange::default()
        }
    }

    const DATE: (&str, &str) = ("date", "Mon, 23 Nov 2026 16:00:00 GMT");

    #[test]
    fn http_dates_parse_to_unix_seconds() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777.0)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0.0));
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn structured_family() {
        let h = RateLimitHeaders::parse(&ex(&[
            ("ratelimit-policy", "\"login\";q=10;w=10"),
            ("ratelimit", "\"login\";r=0;t=7"),
        ]));
        assert_eq!(h.family, Some(HeaderFamily::Structured));
        assert_eq!(
            (h.limit, h.remaining, h.window_secs),
            (Some(10), Some(0), Some(10))
        );
        assert_eq!(h.reset_secs, Some(7.0));
    }

    #[test]
    fn draft_family_with_window() {
        let h = RateLimitHeaders::parse(&ex(&[
            ("ratelimit-limit", "100, 100;w=60"),
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "30"),
        ]));
        assert_eq!(h.family, Some(HeaderFamily::Draft));
        assert_eq!(
            (h.limit, h.window_secs, h.reset_secs),
            (Some(100), Some(60), Some(30.0))
        );
    }

    #[test]
    fn combined_family() {
        let h = RateLimitHeaders::parse(&ex(&[("ratelimit", "limit=100, remaining=0, reset=12")]));
        assert_eq!(h.family, Some(HeaderFamily::Combined));
        assert_eq!(
            (h.limit, h.remaining, h.reset_secs),
            (Some(100), Some(0), Some(12.0))
        );
    }

    #[test]
    fn x_ratelimit_resets_in_every_unit() {
        let reset = |v: &str| {
            RateLimitHeaders::parse(&ex(&[
                DATE,
                ("x-ratelimit-limit", "60"),
                ("x-ratelimit-reset", v),
            ]))
            .reset_secs
        };
        assert_eq!(reset("30"), Some(30.0));
        assert_eq!(reset("90000"), Some(90.0), "milliseconds");
        assert_eq!(reset("1795449630"), Some(30.0), "epoch seconds");
        assert_eq!(reset("1795449630000"), Some(30.0), "epoch milliseconds");
        assert_eq!(
            reset("Mon, 23 Nov 2026 16:00:30 GMT"),
            Some(30.0),
            "HTTP-date"
        );
        let h = RateLimitHeaders::parse(&ex(&[
            ("x-ratelimit-limit", "60"),
            ("x-ratelimit-reset", "soon"),
        ]));
        assert_eq!(h.family, Some(HeaderFamily::XRateLimit));
        assert!(h.problems[0].contains("soon"), "{:?}", h.problems);
    }

    #[test]
    fn non_finite_resets_are_ignored_not_waited_on() {
        // A hostile NaN or inf reset used to reach Duration::from_secs_f64 and panic.
        for v in ["NaN", "inf", "-inf", "1e400"] {
            let h = RateLimitHeaders::parse(&ex(&[
                ("x-ratelimit-limit", "60"),
                ("x-ratelimit-reset-after", v),
            ]));
            assert_eq!(h.reset_secs, None, "{v}");
            assert_eq!(h.wait_secs(), None, "{v}");
        }
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let h = RateLimitHeaders::parse(&ex(&[("retry-after", "5")]));
        assert_eq!(h.wait_secs(), Some(5.0));
        let h = RateLimitHeaders::parse(&ex(&[
            DATE,
            ("retry-after", "Mon, 23 Nov 2026 16:00:10 GMT"),
        ]));
        assert_eq!(h.retry_after_secs, Some(10.0));
        assert_eq!(RateLimitHeaders::parse(&ex(&[])).family, None);
    }
}
