//! Latency samples, pagination and the closed-loop load baseline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// p50/p95/p99 and friends, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples counted.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Percentiles {
    /// Percentiles of millisecond samples through an HDR histogram (microsecond resolution,
    /// 3 significant digits, up to one hour). Empty input gives zeros.
    pub fn of(samples_ms: &[f64]) -> Percentiles {
        let Ok(mut h) = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3) else {
            return Percentiles::default();
        };
        for ms in samples_ms {
            if ms.is_finite() && *ms >= 0.0 {
                let us = ((ms * 1000.0).round() as u64).clamp(1, 3_600_000_000);
                let _ = h.record(us);
            }
        }
        Percentiles::from_histogram(&h)
    }

    fn from_histogram(h: &hdrhistogram::Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    /// `p50 12.3 ms, p95 20.1 ms, p99 25.0 ms`.
    pub fn describe(&self) -> String {
        format!(
            "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            self.p50_ms, self.p95_ms, self.p99_ms
        )
    }
}

/// Sequential samples of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSamples {
    /// The path.
    pub path: String,
    /// Warm-up requests sent first (not counted).
    pub warmup: u32,
    /// Milliseconds of each sampled request that completed.
    pub samples_ms: Vec<f64>,
    /// Status codes of the sampled requests, by code.
    pub statuses: BTreeMap<u16, u32>,
    /// Requests that timed out.
    pub timeouts: u32,
    /// Requests that failed otherwise.
    pub failures: u32,
    /// The first failure, if any.
    pub first_failure: Option<String>,
}

/// `perf.latency`: samples per key endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyObservation {
    /// One entry per configured endpoint.
    pub endpoints: Vec<EndpointSamples>,
}

/// `perf.pagination_depth`: the first and a deep page of a list endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PaginationObservation {
    /// The URL of the first page (redacted).
    pub first_url: String,
    /// The URL of the deep page (redacted).
    pub deep_url: String,
    /// The deep page number.
    pub deep_page: u32,
    /// First-page samples.
    pub first: EndpointSamples,
    /// Deep-page samples.
    pub deep: EndpointSamples,
}

/// `load.baseline`: what the closed loop sustained.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadObservation {
    /// Paths requested round-robin.
    pub endpoints: Vec<String>,
    /// Workers.
    pub concurrency: usize,
    /// Planned duration, milliseconds.
    pub planned_ms: u64,
    /// Actual duration, milliseconds.
    pub elapsed_ms: f64,
    /// The request cap.
    pub max_requests: u32,
    /// Requests sent.
    pub sent: u32,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u32>,
    /// Requests that timed out.
    pub timeouts: u32,
    /// Requests that failed otherwise (refused, reset…).
    pub failures: u32,
    /// The first failure, if any.
    pub first_failure: Option<String>,
    /// Latency of answered requests.
    pub latency: Percentiles,
    /// Why the loop stopped (`duration`, `request cap`, `deadline`, `budget`).
    pub stopped_by: String,
}

impl LoadObservation {
    /// 5xx answers plus timeouts and failures.
    pub fn errors(&self) -> u32 {
        let server: u32 = self
            .statuses
            .iter()
            .filter(|(code, _)| **code >= 500)
            .map(|(_, n)| n)
            .sum();
        server + self.timeouts + self.failures
    }

    /// Answered requests per second over the actual duration.
    pub fn rps(&self) -> f64 {
        let answered: u32 = self.statuses.values().sum();
        if self.elapsed_ms <= 0.0 {
            0.0
        } else {
            f64::from(answered) / (self.elapsed_ms / 1000.0)
        }
    }
}
