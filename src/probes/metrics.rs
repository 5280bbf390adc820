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

use serde::{Deserialize, Serialize};

use super::ProbeCx;
use super::http::{self, HttpExchange, RequestSpec};
use crate::config::MetricsConfig;
use crate::engine::{Audit, join_path};
use crate::exposition::{self, Exposition, Limits, PROMETHEUS_ACCEPT};
use crate::observations::Probed;

/// How much of a scraped body is kept in the recorded exchange.
const KEEP_EVIDENCE: usize = 1024;

/// One scrape: the exchange (body clipped) and the parsed exposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scrape {
    /// What came back (the body clipped to 1 KiB once parsed).
    pub exchange: HttpExchange,
    /// The strict parse of the whole body.
    pub exposition: Exposition,
}

/// Requests sent between the scrapes, and the second scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveProbe {
    /// Request lines sent between the scrapes (`GET https://…/ → 200`).
    pub requests: Vec<String>,
    /// The unique unknown path requested (`/__readyprobe_<hex>`).
    pub unique_path: String,
    /// The random token inside it, looked for among label values.
    pub token: String,
    /// The second scrape.
    pub after: Scrape,
}

/// Everything the metrics checks read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsObservation {
    /// Each path tried and what it answered (`GET https://…/metrics → 404`).
    pub tried: Vec<String>,
    /// The path that answered 2xx, if any.
    pub path: Option<String>,
    /// The first scrape of that path.
    pub first: Option<Scrape>,
    /// The requests and second scrape (only when the first scrape found an exposition).
    pub live: Probed<LiveProbe>,
}

async fn scrape(cx: &ProbeCx, audit: &Audit, path: &str) -> Result<Scrape, super::ProbeError> {
    let spec = RequestSpec::get(join_path(&audit.target, path)).header("accept", PROMETHEUS_ACCEPT);
    let mut exchange = http::send_keeping(cx, &spec, cx.max_body).await?;
    Ok(parse_exchange(&mut exchange, &audit.config.metrics)).map(|exposition| Scrape {
        exchange,
        exposition,
    })
}

/// Parses the exchange's body by its Content-Type, then clips the stored body.
fn parse_exchange(exchange: &mut HttpExchange, cfg: &MetricsConfig) -> Exposition {
    let limits = Limits {
        max_lines: cfg.max_lines,
        max_series: cfg.max_series,
    };
    let exposition = exposition::parse(&exchange.body, exchange.header("content-type"), limits);
    if exchange.body.len() > KEEP_EVIDENCE {
        let mut cut = KEEP_EVIDENCE;
        while !exchange.body.is_char_boundary(cut) {
            cut -= 1;
        }
        exchange.body.truncate(cut);
    }
    exposition
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
pub async fn observe(cx: &ProbeCx, audit: &Audit) -> Probed<MetricsObservation> {
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

async fn live(cx: &ProbeCx, audit: &Audit, path: &str) -> Probed<LiveProbe> {
    let token = random_token();
    let unique_path = format!("/__readyprobe_{token}");
    let mut requests = Vec::new();
    let n = audit.config.metrics.live_requests.max(1);
    for i in 0..n {
        let target = if i + 1 == n {
            unique_path.as_str()
        } else {
            "/"
        };
        let spec = RequestSpec::get(join_path(&audit.target, target)).no_follow();
        match http::send(cx, &spec).await {
            Ok(ex) => requests.push(ex.request_line()),
            Err(err) => requests.push(format!("GET {target}: {err}")),
        }
    }
    match scrape(cx, audit, path).await {
        Ok(after) => Probed::Observed(LiveProbe {
            requests,
            unique_path,
            token,
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

    #[test]
    fn parsed_bodies_are_clipped_but_parsed_whole() {
        let body: String = (0..200).map(|i| format!("m{{i=\"{i}\"}} 1\n")).collect();
        let mut ex = HttpExchange {
            status: 200,
            headers: vec![("content-type".into(), "text/plain; version=0.0.4".into())],
            body,
            ..HttpExchange::default()
        };
        let e = parse_exchange(&mut ex, &MetricsConfig::default());
        assert_eq!(e.sample_count(), 200);
        assert!(ex.body.len() <= KEEP_EVIDENCE);
    }
}
