//! Fault injection (active): cut each configured dependency at its fault proxy, poll the
//! target's readiness and liveness, restore, and time how long the target took to notice and to
//! recover.
//!
//! The proxies themselves are started by [`crate::supervise::Session`] before the service (the
//! service's pool must connect through them from the start) and handed to this step through a
//! task-local, so the engine's signatures stay unchanged. This probe only records what it saw;
//! `checks::fault` judges. A cut is always restored, even when the step is cut short by the
//! run's deadline (a drop guard restores it).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use super::ProbeCx;
use super::http;
use crate::engine::{Audit, join_path};
use crate::fault_proxy::FaultProxy;
use crate::observations::{HealthKind, Observations, Probed};

tokio::task_local! {
    static PROXIES: Arc<Vec<Arc<FaultProxy>>>;
}

/// Runs `fut` (the engine's run) with `proxies` visible to the fault step.
pub async fn with_proxies<F: Future>(proxies: Arc<Vec<Arc<FaultProxy>>>, fut: F) -> F::Output {
    PROXIES.scope(proxies, fut).await
}

/// Once readiness has flipped, liveness is still watched at least this long (or to the end of
/// the detect window, whichever is first).
const MIN_WATCH_AFTER_FLIP: Duration = Duration::from_secs(1);

/// One poll of an endpoint while a fault was on (or just after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    /// Milliseconds since the cut (or the restore) when the answer came.
    pub at_ms: u64,
    /// The status, when the endpoint answered.
    pub status: Option<u16>,
    /// Why it did not answer (timeout, refused…).
    pub error: Option<String>,
}

impl Poll {
    /// True for a 2xx answer.
    pub fn is_ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `503` or `error: …`, for evidence.
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer ({error})"),
            (None, None) => "no answer".to_string(),
        }
    }
}

/// What one cut of one dependency showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRun {
    /// The proxy's name (`database`).
    pub proxy: String,
    /// Where the proxy listens.
    pub listen: String,
    /// The real dependency behind it.
    pub upstream: String,
    /// The readiness URL polled (redacted).
    pub readiness: String,
    /// The liveness URL polled, when one exists (redacted).
    pub liveness: Option<String>,
    /// Readiness status just before the cut.
    pub baseline_status: u16,
    /// Live connections the cut reset.
    pub reset_connections: u64,
    /// How long readiness was watched for a flip, ms.
    pub detect_window_ms: u64,
    /// How long readiness was given to come back, ms.
    pub recover_window_ms: u64,
    /// Readiness polls while cut.
    pub readiness_during: Vec<Poll>,
    /// Liveness polls while cut.
    pub liveness_during: Vec<Poll>,
    /// Readiness polls after the restore.
    pub readiness_after: Vec<Poll>,
    /// Set when the run's deadline cut the measurement short.
    pub cut_short: bool,
}

impl FaultRun {
    /// The first readiness poll that was not 2xx while cut: time-to-detect.
    pub fn detected(&self) -> Option<&Poll> {
        self.readiness_during.iter().find(|p| !p.is_ok())
    }

    /// The first 2xx readiness poll after the restore: time-to-recover.
    pub fn recovered(&self) -> Option<&Poll> {
        self.readiness_after.iter().find(|p| p.is_ok())
    }
}

/// Restores a proxy when dropped, so no exit path leaves a dependency cut.
struct RestoreOnDrop<'a>(&'a FaultProxy);

impl Drop for RestoreOnDrop<'_> {
    fn drop(&mut self) {
        self.0.restore();
    }
}

/// The active step: cuts each configured proxy in turn and records [`FaultRun`]s in
/// `obs.fault`.
pub async fn inject(cx: &ProbeCx, audit: &Audit, obs: &mut Observations) {
    let proxies = PROXIES.try_with(Arc::clone).unwrap_or_default();
    if proxies.is_empty() {
        obs.fault = Probed::Skipped(if audit.config.fault.proxy.is_empty() {
            "no [[fault.proxy]] is configured".to_string()
        } else {
            "the fault proxies are not running in this process (they run under `readyprobe audit`)"
                .to_string()
        });
        return;
    }
    let Some(readiness) = endpoint(obs, &[HealthKind::Readiness, HealthKind::Generic], None) else {
        obs.fault = Probed::Skipped(
            "no readiness endpoint was found to watch; name it in [health] readiness".to_string(),
        );
        return;
    };
    let liveness = endpoint(
        obs,
        &[HealthKind::Liveness, HealthKind::Generic],
        Some(&readiness),
    );
    let readiness_url = join_path(&audit.target, &readiness);
    let liveness_url = liveness.map(|p| join_path(&audit.target, &p));
    let mut runs = Vec::new();
    for proxy in proxies.iter() {
        match cut_one(cx, audit, proxy, &readiness_url, liveness_url.as_ref()).await {
            Ok(run) => runs.push(run),
            Err(reason) => {
                obs.fault = Probed::Failed(reason);
                return;
            }
        }
    }
    obs.fault = Probed::Observed(runs);
}

/// The first existing health endpoint of the first kind in `kinds` that has one, other than
/// `except`.
fn endpoint(obs: &Observations, kinds: &[HealthKind], except: Option<&str>) -> Option<String> {
    let found = obs.health_found();
    kinds.iter().find_map(|kind| {
        found
            .iter()
            .find(|h| h.kind == *kind && Some(h.path.as_str()) != except)
            .map(|h| h.path.clone())
    })
}

async fn poll(cx: &ProbeCx, url: &Url, since: Instant) -> Poll {
    match http::get(cx, url).await {
        Ok(ex) => Poll {
            at_ms: since.elapsed().as_millis() as u64,
            status: Some(ex.status),
            error: None,
        },
        Err(err) => Poll {
            at_ms: since.elapsed().as_millis() as u64,
            status: None,
            error: Some(err.to_string()),
        },
    }
}

async fn cut_one(
    cx: &ProbeCx,
    audit: &Audit,
    proxy: &FaultProxy,
    readiness: &Url,
    liveness: Option<&Url>,
) -> Result<FaultRun, String> {
    let cfg = &audit.config.fault;
    proxy.check_upstream().await.map_err(|e| {
        format!("{e}; nothing to cut (is the dependency up, and is `upstream` right?)")
    })?;
    let baseline = http::get(cx, readiness)
        .await
        .map_err(|e| format!("readiness before the cut: {e}"))?;
    if !(200..300).contains(&baseline.status) {
        return Err(format!(
            "{} before the {} was cut: the service was not ready, so a cut proves nothing",
            baseline.request_line(),
            proxy.name()
        ));
    }
    let mut run = FaultRun {
        proxy: proxy.name().to_string(),
        listen: proxy.listen_addr().to_string(),
        upstream: proxy.upstream().to_string(),
        readiness: crate::redact::url(readiness),
        liveness: liveness.map(crate::redact::url),
        baseline_status: baseline.status,
        reset_connections: 0,
        detect_window_ms: cfg.detect_window.as_millis() as u64,
        recover_window_ms: cfg.recover_window.as_millis() as u64,
        readiness_during: Vec::new(),
        liveness_during: Vec::new(),
        readiness_after: Vec::new(),
        cut_short: false,
    };

    let cut_at = Instant::now();
    run.reset_connections = proxy.cut();
    let restore = RestoreOnDrop(proxy);
    loop {
        if Instant::now() >= cx.deadline {
            run.cut_short = true;
            break;
        }
        let ready = poll(cx, readiness, cut_at).await;
        run.readiness_during.push(ready);
        if let Some(url) = liveness {
            let live = poll(cx, url, cut_at).await;
            run.liveness_during.push(live);
        }
        let elapsed = cut_at.elapsed();
        if elapsed >= cfg.detect_window {
            break;
        }
        if let Some(flip) = run.detected()
            && elapsed >= Duration::from_millis(flip.at_ms) + MIN_WATCH_AFTER_FLIP
        {
            break;
        }
        tokio::time::sleep(cfg.poll_interval).await;
    }
    drop(restore);

    let restored_at = Instant::now();
    while !run.readiness_after.last().is_some_and(Poll::is_ok) {
        if Instant::now() >= cx.deadline {
            run.cut_short = true;
            break;
        }
        let ready = poll(cx, readiness, restored_at).await;
        run.readiness_after.push(ready);
        if run.readiness_after.last().is_some_and(Poll::is_ok)
            || restored_at.elapsed() >= cfg.recover_window
        {
            break;
        }
        tokio::time::sleep(cfg.poll_interval).await;
    }
    Ok(run)
}
