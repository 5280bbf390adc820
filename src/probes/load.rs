//! Latency and load probes: sequential latency samples on key endpoints, first page vs deep page
//! of an offset-paginated list, and the bounded closed-loop load baseline.
//!
//! Latency samples are sequential (one request at a time, after a warm-up) so they measure the
//! endpoint, not queueing in readyprobe. The load baseline is active and opt-in: `C` workers each
//! send their next request when the previous one answered, for at most `T` and at most
//! `max_requests`, and never past the run's deadline or request budget. Percentiles come from an
//! HDR histogram ([`Percentiles::of`]), which judges may call too: it is pure.

use std::time::Duration;

use tokio::time::Instant;

use super::Target;
use super::http;
use super::{ProbeCx, ProbeError};
use crate::observations::http::RequestSpec;
use crate::observations::http::join_path;
use crate::observations::load::{
    EndpointSamples, LatencyObservation, LoadObservation, PaginationObservation, Percentiles,
};
use crate::observations::{Observations, Probed};

/// Sends `warmup` then `samples` sequential GETs to `path`.
async fn sample(
    cx: &ProbeCx,
    audit: &Target<'_>,
    path: &str,
    warmup: u32,
    samples: u32,
) -> EndpointSamples {
    let mut out = EndpointSamples {
        path: path.to_string(),
        warmup,
        ..EndpointSamples::default()
    };
    let url = join_path(audit.target, path);
    for i in 0..(warmup + samples) {
        let result = http::send(cx, &RequestSpec::get(url.clone()).no_follow()).await;
        // One failure is enough to judge, and a dead or silent endpoint must not cost one
        // timeout per planned sample: sampling stops at the first error.
        match result {
            Ok(_) if i < warmup => {}
            Ok(ex) => {
                out.samples_ms.push(ex.elapsed_ms);
                *out.statuses.entry(ex.status).or_default() += 1;
            }
            Err(err) => {
                match err {
                    ProbeError::Timeout { .. } if i >= warmup => out.timeouts += 1,
                    ProbeError::Deadline { .. } | ProbeError::Budget { .. } => {}
                    _ if i >= warmup => out.failures += 1,
                    _ => {}
                }
                out.first_failure.get_or_insert(err.to_string());
                break;
            }
        }
    }
    out
}

fn probed<T>(value: T, failed: Option<String>, nothing: bool) -> Probed<T> {
    match (nothing, failed) {
        (true, Some(reason)) => Probed::Failed(reason),
        _ => Probed::Observed(value),
    }
}

/// Samples every `[perf] endpoints` path (passive, sequential).
pub async fn latency(cx: &ProbeCx, audit: &Target<'_>) -> Probed<LatencyObservation> {
    let perf = &audit.config.perf;
    if perf.endpoints.is_empty() {
        return Probed::Skipped("no [perf] endpoints configured".to_string());
    }
    let mut obs = LatencyObservation::default();
    for path in &perf.endpoints {
        obs.endpoints
            .push(sample(cx, audit, path, perf.warmup, perf.samples).await);
    }
    let nothing = obs.endpoints.iter().all(|e| e.samples_ms.is_empty());
    let failed = obs.endpoints.iter().find_map(|e| e.first_failure.clone());
    probed(obs, failed, nothing)
}

/// First page vs deep page of `[perf] list_endpoint` (passive, sequential).
pub async fn pagination(cx: &ProbeCx, audit: &Target<'_>) -> Probed<PaginationObservation> {
    let perf = &audit.config.perf;
    let Some(list) = &perf.list_endpoint else {
        return Probed::Skipped("no [perf] list_endpoint configured".to_string());
    };
    let sep = if list.contains('?') { '&' } else { '?' };
    let first_path = format!("{list}{sep}{}=1", perf.page_param);
    let deep_path = format!("{list}{sep}{}={}", perf.page_param, perf.deep_page);
    // One warm-up, then alternate first and deep page so drift hits both alike.
    let mut first = EndpointSamples {
        path: first_path.clone(),
        warmup: 1,
        ..EndpointSamples::default()
    };
    let mut deep = EndpointSamples {
        path: deep_path.clone(),
        warmup: 0,
        ..EndpointSamples::default()
    };
    // The warm-up opens the connection and lets the service load what it caches.
    let warm = sample(cx, audit, &first_path, 1, 0).await;
    if let Some(reason) = warm.first_failure {
        return Probed::Failed(reason);
    }
    for _ in 0..perf.page_samples {
        for (path, into) in [(&first_path, &mut first), (&deep_path, &mut deep)] {
            let one = sample(cx, audit, path, 0, 1).await;
            into.samples_ms.extend(one.samples_ms);
            for (code, n) in one.statuses {
                *into.statuses.entry(code).or_default() += n;
            }
            into.timeouts += one.timeouts;
            into.failures += one.failures;
            if into.first_failure.is_none() {
                into.first_failure = one.first_failure;
            }
        }
    }
    let nothing = first.samples_ms.is_empty() || deep.samples_ms.is_empty();
    let failed = first.first_failure.clone().or(deep.first_failure.clone());
    let obs = PaginationObservation {
        first_url: crate::redact::url(&join_path(audit.target, &first_path)),
        deep_url: crate::redact::url(&join_path(audit.target, &deep_path)),
        deep_page: perf.deep_page,
        first,
        deep,
    };
    probed(obs, failed, nothing)
}

/// The active step: the closed-loop load baseline, when `[load] enabled`.
pub async fn baseline(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    obs.load = run_baseline(cx, audit).await;
}

async fn run_baseline(cx: &ProbeCx, audit: &Target<'_>) -> Probed<LoadObservation> {
    let load = &audit.config.load;
    if !load.enabled {
        return Probed::Skipped(
            "the load baseline is opt-in: set [load] enabled = true".to_string(),
        );
    }
    let started = Instant::now();
    let until = (started + load.duration).min(cx.deadline);
    let sent = std::sync::atomic::AtomicU32::new(0);
    let urls: Vec<url::Url> = load
        .endpoints
        .iter()
        .map(|p| join_path(audit.target, p))
        .collect();
    let worker = |w: usize| {
        let sent = &sent;
        let urls = &urls;
        async move {
            let mut mine = LoadObservation::default();
            let mut samples = Vec::new();
            loop {
                if Instant::now() >= until {
                    mine.stopped_by = if until < started + load.duration {
                        "deadline".into()
                    } else {
                        "duration".into()
                    };
                    break;
                }
                let n = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= load.max_requests {
                    mine.stopped_by = "request cap".into();
                    break;
                }
                let url = &urls[(n as usize + w) % urls.len()];
                let spec = RequestSpec::get(url.clone()).no_follow();
                match tokio::time::timeout_at(
                    until + Duration::from_millis(1),
                    http::send(cx, &spec),
                )
                .await
                {
                    Err(_) => {
                        mine.stopped_by = "duration".into();
                        break;
                    }
                    Ok(Ok(ex)) => {
                        samples.push(ex.elapsed_ms);
                        *mine.statuses.entry(ex.status).or_default() += 1;
                    }
                    Ok(Err(ProbeError::Timeout { .. })) => mine.timeouts += 1,
                    Ok(Err(err @ (ProbeError::Deadline { .. } | ProbeError::Budget { .. }))) => {
                        mine.first_failure.get_or_insert(err.to_string());
                        mine.stopped_by = match err {
                            ProbeError::Budget { .. } => "budget".into(),
                            _ => "deadline".into(),
                        };
                        break;
                    }
                    Ok(Err(err)) => {
                        mine.failures += 1;
                        mine.first_failure.get_or_insert(err.to_string());
                    }
                }
            }
            (mine, samples)
        }
    };
    let results = futures_util::future::join_all((0..load.concurrency).map(worker)).await;
    let mut out = LoadObservation {
        endpoints: load.endpoints.clone(),
        concurrency: load.concurrency,
        planned_ms: load.duration.as_millis() as u64,
        max_requests: load.max_requests,
        ..LoadObservation::default()
    };
    let mut all = Vec::new();
    for (mine, samples) in results {
        for (code, n) in mine.statuses {
            *out.statuses.entry(code).or_default() += n;
        }
        out.timeouts += mine.timeouts;
        out.failures += mine.failures;
        if out.first_failure.is_none() {
            out.first_failure = mine.first_failure;
        }
        if out.stopped_by.is_empty() || mine.stopped_by != "duration" {
            out.stopped_by = mine.stopped_by;
        }
        all.extend(samples);
    }
    out.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    out.sent = sent
        .load(std::sync::atomic::Ordering::SeqCst)
        .min(load.max_requests);
    out.latency = Percentiles::of(&all);
    if all.is_empty()
        && let Some(reason) = out.first_failure.clone()
    {
        return Probed::Failed(reason);
    }
    Probed::Observed(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_histogram() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&samples);
        assert_eq!(p.count, 100);
        assert!((p.p50_ms - 50.0).abs() < 0.1, "{p:?}");
        assert!((p.p95_ms - 95.0).abs() < 0.1, "{p:?}");
        assert!((p.p99_ms - 99.0).abs() < 0.1, "{p:?}");
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
    }

    #[test]
    fn load_errors_count_5xx_and_failures() {
        let mut o = LoadObservation {
            timeouts: 1,
            failures: 1,
            elapsed_ms: 1000.0,
            ..LoadObservation::default()
        };
        o.statuses.insert(200, 97);
        o.statuses.insert(503, 2);
        assert_eq!(o.errors(), 4);
        assert!((o.rps() - 99.0).abs() < 1e-9);
    }
}
