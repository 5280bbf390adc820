//! The rate-limit burst (active): a bounded, open-loop ramp on one configured endpoint, then one
//! request after the advertised wait.
//!
//! The ramp starts at `start_rps` and doubles every `step` up to `max_rps`; requests are sent on
//! schedule whatever the answers (open loop), with at most `concurrency` in flight. It stops at
//! the first `429` (it has seen enough), at any hard cap (requests, duration, the run's deadline
//! or its share of the request budget), and aborts when more than 1% of answers are 5xx or
//! timeouts or when a step's p95 latency rises above both three times the first step's and
//! 250 ms ([`crate::observations::ratelimit::latency_degraded`]) — the target is degrading, and a
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

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

use super::Target;
use super::http;
use super::{ProbeCx, ProbeError};
use crate::observations::http::join_path;
use crate::observations::http::{HttpExchange, RequestSpec};
use crate::observations::ratelimit::{
    BurstCaps, BurstObservation, BurstStep, BurstStop, First429, RateLimitHeaders, Recovery,
};
use crate::observations::{Observations, Probed};

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
    crate::observations::load::Percentiles::of(samples).p95_ms
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
                        && crate::observations::ratelimit::latency_degraded(base, last)
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
