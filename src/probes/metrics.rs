//! The metrics probe: find the Prometheus endpoint, scrape it, send a few requests (one to a
//! unique unknown path), scrape again.
//!
//! Scrapes ask with the full Prometheus `Accept` header (OpenMetrics preferred, text 0.0.4
//! accepted: some servers answer 406 to an OpenMetrics-only one) and read the whole body up to
//! `run.max_body_bytes`; a body cut at that cap is recorded as truncated, never parsed as if it
//! were whole. The exposition is parsed here, strictly ([`crate::exposition`]), and the body is
//! then dropped from the recorded exchange (only its first KiB is kept for evidence) so
//! recordings stay small. The two scrapes let `metrics.red_live` see counters move and
//! `metrics.path_cardinality` see whether a raw path became a label value.
//!
//! **Parsing is bounded by the run's deadline.** Parsing a 1 MiB hostile exposition is seconds
//! of CPU in an unoptimised build, so it runs on the blocking pool
//! ([`tokio::task::spawn_blocking`]), not on the async runtime where it would stall every other
//! passive probe, and the scrape waits for it only until the run's deadline. A parse the deadline
//! cuts makes the scrape fail with [`PARSE_CUT`] (the `metrics.*` checks are then `error` with
//! that reason): half an exposition is never judged. A blocking thread cannot be killed, so the
//! parser is stopped cooperatively: it asks a flag every
//! [`STOP_CHECK_LINES`](crate::exposition::STOP_CHECK_LINES) lines
//! ([`exposition::parse_until`]), and the flag is set as soon as the scrape stops waiting — at
//! the deadline, or when the scrape itself is dropped — so the abandoned thread ends within a few
//! hundred lines instead of burning CPU (and holding up the runtime's shutdown) after the audit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use super::Target;
use super::http;
use super::{ProbeCx, ProbeError};
use crate::config::MetricsConfig;
use crate::exposition::{self, Exposition, Limits, PROMETHEUS_ACCEPT};
use crate::observations::Probed;
use crate::observations::http::join_path;
use crate::observations::http::{HttpExchange, RequestSpec};
use crate::observations::metrics::{LiveProbe, MetricsObservation, PARSE_CUT, Scrape};

/// How much of a scraped body is kept in the recorded exchange.
const KEEP_EVIDENCE: usize = 1024;

async fn scrape(cx: &ProbeCx, audit: &Target<'_>, path: &str) -> Result<Scrape, ProbeError> {
    let spec = RequestSpec::get(join_path(audit.target, path)).header("accept", PROMETHEUS_ACCEPT);
    let mut exchange = http::send_keeping(cx, &spec, cx.max_body).await?;
    let exposition = parse_exchange(&mut exchange, &audit.config.metrics, cx.deadline).await?;
    Ok(Scrape {
        exchange,
        exposition,
    })
}

/// Sets the stop flag of an abandoned parse when dropped: on every way out of
/// [`parse_exchange`], including the scrape's future being dropped mid-wait.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // Relaxed is enough: the flag carries no data, the parser only needs to see it soon.
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Bodies up to this size are parsed on the runtime's thread, larger ones on the blocking pool.
const INLINE_PARSE_BYTES: usize = 16 * 1024;

/// Parses the exchange's body by its Content-Type on the blocking pool, waiting no later than
/// `deadline` (the run's), and cuts the stored body to [`KEEP_EVIDENCE`] bytes either way.
/// Fails with [`PARSE_CUT`] when the deadline comes first.
async fn parse_exchange(
    exchange: &mut HttpExchange,
    cfg: &MetricsConfig,
    deadline: Instant,
) -> Result<Exposition, ProbeError> {
    let limits = Limits {
        max_lines: cfg.max_lines,
        max_series: cfg.max_series,
    };
    let body = std::mem::take(&mut exchange.body);
    // The stored body stays a document (its lines intact): cut on a character boundary, not
    // clipped into one evidence line.
    let mut keep = KEEP_EVIDENCE.min(body.len());
    while !body.is_char_boundary(keep) {
        keep -= 1;
    }
    exchange.body = body[..keep].to_string();
    let failed = |reason: String| ProbeError::Protocol {
        subject: exchange.request_line(),
        reason,
    };
    let cut = || {
        failed(format!(
            "{PARSE_CUT} ({} bytes received)",
            exchange.body_len
        ))
    };
    if Instant::now() >= deadline {
        return Err(cut());
    }
    let content_type = exchange.header("content-type").map(str::to_string);
    // A small body (an error page, a short exposition) is parsed here: microseconds, less than
    // handing it to a blocking thread (a fleet otherwise kept a dozen or more of them busy).
    if body.len() <= INLINE_PARSE_BYTES {
        return exposition::parse_until(&body, content_type.as_deref(), limits, &|| false)
            .map_err(|_| cut());
    }
    let stop = StopOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = Arc::clone(&stop.0);
    let parsing = tokio::task::spawn_blocking(move || {
        exposition::parse_until(&body, content_type.as_deref(), limits, &|| {
            flag.load(Ordering::Relaxed)
        })
    });
    let outcome = tokio::time::timeout_at(deadline, parsing).await;
    drop(stop);
    match outcome {
        Ok(Ok(Ok(exposition))) => Ok(exposition),
        // The flag is set only once the wait is over, so the parser cannot have seen it here.
        Ok(Ok(Err(_))) | Err(_) => Err(cut()),
        Ok(Err(join)) => Err(failed(format!("parsing the exposition failed: {join}"))),
    }
}

/// A random lowercase hex token of 16 bytes.
pub fn random_token() -> String {
    use ring::rand::SecureRandom;
    let mut buf = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        buf = nanos.to_le_bytes();
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Finds the endpoint, scrapes, sends the live requests and scrapes again.
pub async fn observe(cx: &ProbeCx, audit: &Target<'_>) -> Probed<MetricsObservation> {
    let cfg = &audit.config.metrics;
    let candidates: Vec<String> = match &cfg.path {
        Some(p) => vec![p.clone()],
        None => MetricsConfig::CANDIDATES
            .iter()
            .map(|p| p.to_string())
            .collect(),
    };
    let mut obs = MetricsObservation {
        tried: Vec::new(),
        path: None,
        first: None,
        live: Probed::Skipped("no metrics endpoint was found".to_string()),
    };
    let mut last_error = None;
    for path in &candidates {
        match scrape(cx, audit, path).await {
            Ok(s) if s.exchange.is_success() => {
                obs.tried.push(s.exchange.request_line());
                obs.path = Some(path.clone());
                obs.first = Some(s);
                break;
            }
            Ok(s) => obs.tried.push(s.exchange.request_line()),
            Err(err) => {
                obs.tried.push(format!("GET {path}: {err}"));
                last_error = Some(err.to_string());
                // A silent or unreachable target would cost one timeout per candidate.
                break;
            }
        }
    }
    let Some(first) = &obs.first else {
        if let Some(reason) = last_error {
            return Probed::Failed(reason);
        }
        return Probed::Observed(obs);
    };
    if first.exposition.sample_count() == 0 {
        obs.live = Probed::Skipped("the first scrape had no samples".to_string());
        return Probed::Observed(obs);
    }
    let path = obs.path.clone().unwrap_or_default();
    obs.live = live(cx, audit, &path).await;
    Probed::Observed(obs)
}

async fn live(cx: &ProbeCx, audit: &Target<'_>, path: &str) -> Probed<LiveProbe> {
    let token = random_token();
    let unique_path = format!("/__readyprobe_{token}");
    let mut requests = Vec::new();
    let mut answered = 0u32;
    let n = audit.config.metrics.live_requests.max(1);
    for i in 0..n {
        let target = if i + 1 == n {
            unique_path.as_str()
        } else {
            "/"
        };
        let spec = RequestSpec::get(join_path(audit.target, target)).no_follow();
        match http::send(cx, &spec).await {
            Ok(ex) => {
                answered += 1;
                requests.push(ex.request_line());
            }
            Err(err) => requests.push(format!("GET {target}: {err}")),
        }
    }
    match scrape(cx, audit, path).await {
        Ok(after) => Probed::Observed(LiveProbe {
            requests,
            unique_path,
            token,
            answered: Some(answered),
            after,
        }),
        Err(err) => Probed::Failed(format!("second scrape: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_token());
    }

    fn exposition_exchange(samples: usize) -> HttpExchange {
        let body: String = (0..samples)
            .map(|i| format!("m{{i=\"{i}\"}} 1\n"))
            .collect();
        HttpExchange {
            method: "GET".into(),
            final_url: "http://127.0.0.1:9/metrics".into(),
            status: 200,
            headers: vec![("content-type".into(), "text/plain; version=0.0.4".into())],
            body_len: body.len() as u64,
            body,
            ..HttpExchange::default()
        }
    }

    fn later() -> Instant {
        Instant::now() + std::time::Duration::from_secs(60)
    }

    #[tokio::test]
    async fn parsed_bodies_are_clipped_but_parsed_whole() {
        let mut ex = exposition_exchange(200);
        let e = parse_exchange(&mut ex, &MetricsConfig::default(), later())
            .await
            .expect("parsed before the deadline");
        assert_eq!(e.sample_count(), 200);
        assert!(ex.body.len() <= KEEP_EVIDENCE);
        assert!(ex.body.starts_with("m{i=\"0\"} 1\n"));
    }

    #[tokio::test]
    async fn a_passed_deadline_fails_the_scrape_and_says_why() {
        let mut ex = exposition_exchange(200);
        let err = parse_exchange(&mut ex, &MetricsConfig::default(), Instant::now())
            .await
            .expect_err("the deadline has passed");
        let reason = err.to_string();
        assert!(reason.contains(PARSE_CUT), "{reason}");
        assert!(
            reason.starts_with("GET http://127.0.0.1:9/metrics → 200: "),
            "{reason}"
        );
        assert!(ex.body.len() <= KEEP_EVIDENCE, "the body is clipped anyway");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_deadline_cuts_a_long_parse_short() {
        // About 1 MiB (run.max_body_bytes): long enough to parse that 20 ms cannot cover it in
        // any build, and the scrape must not wait for it.
        let mut ex = exposition_exchange(60_000);
        let started = Instant::now();
        let deadline = started + std::time::Duration::from_millis(20);
        let result = parse_exchange(&mut ex, &MetricsConfig::default(), deadline).await;
        let waited = started.elapsed();
        assert!(
            waited < std::time::Duration::from_secs(1),
            "waited {waited:?} for a parse the deadline cut"
        );
        match result {
            Err(err) => assert!(err.to_string().contains(PARSE_CUT), "{err}"),
            // A machine fast enough to parse 1 MiB in 20 ms: whole, never partial.
            Ok(e) => assert_eq!(e.sample_count(), 60_000),
        }
    }
}
