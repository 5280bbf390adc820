//! Fault injection (active): cut each configured dependency at its fault proxy, poll the
//! target's readiness and liveness, restore, and time how long the target took to notice and to
//! recover.
//!
//! Local proxies are started by [`crate::supervise::Session`] before the service (the service's
//! pool must connect through them from the start) and handed to this step through a
//! task-local, so the engine's signatures stay unchanged. Remote ones (`control = …`, a
//! `readyprobe proxy --control` deployed next to the service) are driven over HTTP. This probe
//! only records what it saw; `checks::health_fault` judges. A cut is always restored, even when the
//! step is cut short by the run's deadline (a drop guard restores it; a remote proxy also
//! restores itself when the cut's hold runs out).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::http;
use super::target::Target;
use super::{ProbeCx, ProbeError};
use crate::config::ProxyPlace;
use crate::fault_proxy::remote::{RemoteError, RemoteProxy};
use crate::fault_proxy::{FaultProxy, ProxyError};
use crate::manifests::ProbeKind;
use crate::observations::fault::{FaultRun, Poll};
use crate::observations::http::join_path;
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

/// Added when a proxy's upstream does not answer before the cut.
const NOTHING_TO_CUT: &str = "nothing to cut (is the dependency up, and is `upstream` right?)";

/// Why the fault step could not cut a proxy and watch the target: the proxy or config entry and
/// the fact. Recorded as the step's failure reason.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// A `[[fault.proxy]]` entry's control URL does not parse.
    #[error("fault.proxy[{index}].control: not a URL ({reason})")]
    ControlUrl {
        /// The entry's position in the config.
        index: usize,
        /// The URL parser's error.
        reason: String,
    },
    /// A `[[fault.proxy]]` entry's `token_env` names an unset variable.
    #[error("fault.proxy[{index}].token_env: the environment variable {var} is not set")]
    TokenUnset {
        /// The entry's position in the config.
        index: usize,
        /// The variable's name (never its value).
        var: String,
    },
    /// A local proxy's upstream does not answer.
    #[error("{0}; {hint}", hint = NOTHING_TO_CUT)]
    LocalUpstream(ProxyError),
    /// A remote proxy reports its upstream unreachable.
    #[error("fault proxy {name}: upstream {upstream} unreachable: {reason}; {hint}", hint = NOTHING_TO_CUT)]
    RemoteUpstream {
        /// The proxy's name.
        name: String,
        /// Where it forwards.
        upstream: String,
        /// The proxy's reason.
        reason: String,
    },
    /// A remote proxy is cut already, so a cut now would prove nothing.
    #[error(
        "fault proxy {name} at {control} is already cut (by another audit?){restores}; a cut now would prove nothing"
    )]
    AlreadyCut {
        /// The proxy's name.
        name: String,
        /// Its control URL, redacted.
        control: String,
        /// `, it restores itself in …` when the proxy said, else empty.
        restores: String,
    },
    /// A control request to a remote proxy failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The readiness endpoint could not be read before the cut.
    #[error("readiness before the cut: {0}")]
    Baseline(ProbeError),
    /// The readiness endpoint was not 2xx before the cut.
    #[error(
        "{request_line} before the {proxy} was cut: the service was not ready, so a cut proves nothing"
    )]
    NotReady {
        /// The baseline request and its answer.
        request_line: String,
        /// The proxy's name.
        proxy: String,
    },
    /// The cut could not be lifted.
    #[error(
        "{error}; the cut could not be lifted (a remote proxy restores itself within {})",
        humantime::format_duration(*.hold)
    )]
    NotLifted {
        /// Why the restore failed.
        error: RemoteError,
        /// The hold the proxy was cut for, whole seconds.
        hold: Duration,
    },
}

/// A proxy the fault step can cut: one this process runs, or a remote one.
enum Cuttable {
    Local(Arc<FaultProxy>),
    Remote(RemoteProxy),
}

/// Where a proxy listens and forwards, for the evidence.
struct Placement {
    listen: String,
    upstream: String,
    control: Option<String>,
}

impl Cuttable {
    fn name(&self) -> &str {
        match self {
            Cuttable::Local(p) => p.name(),
            Cuttable::Remote(r) => r.name(),
        }
    }

    /// Checks that there is something to cut: the upstream answers and the proxy is not cut.
    async fn prepare(&self) -> Result<Placement, FaultError> {
        match self {
            Cuttable::Local(p) => {
                p.check_upstream()
                    .await
                    .map_err(FaultError::LocalUpstream)?;
                Ok(Placement {
                    listen: p.listen_addr().to_string(),
                    upstream: p.upstream().to_string(),
                    control: None,
                })
            }
            Cuttable::Remote(r) => {
                let status = r.status().await?;
                if let Some(reason) = status.upstream_error {
                    return Err(FaultError::RemoteUpstream {
                        name: r.name().to_string(),
                        upstream: status.upstream,
                        reason,
                    });
                }
                if status.cut {
                    let restores = status.restores_in_ms.map_or(String::new(), |ms| {
                        format!(
                            ", it restores itself in {}",
                            humantime::format_duration(Duration::from_secs(ms.div_ceil(1000)))
                        )
                    });
                    return Err(FaultError::AlreadyCut {
                        name: r.name().to_string(),
                        control: r.control_shown(),
                        restores,
                    });
                }
                Ok(Placement {
                    listen: status.listen,
                    upstream: status.upstream,
                    control: Some(r.control_shown()),
                })
            }
        }
    }

    /// Cuts; a remote proxy is told to restore itself after `hold` whatever happens here.
    async fn cut(&self, hold: Duration) -> Result<u64, RemoteError> {
        match self {
            Cuttable::Local(p) => Ok(p.cut_and_settle().await),
            Cuttable::Remote(r) => r.cut(hold).await,
        }
    }

    async fn restore(&self) -> Result<(), RemoteError> {
        match self {
            Cuttable::Local(p) => {
                p.restore();
                Ok(())
            }
            Cuttable::Remote(r) => r.restore().await,
        }
    }
}

/// Restores a proxy when dropped (the step was cut short), so no exit path leaves a dependency
/// cut; the normal path calls [`RestoreOnDrop::restore`] and sees the result.
struct RestoreOnDrop<'a> {
    proxy: &'a Cuttable,
    armed: bool,
}

impl RestoreOnDrop<'_> {
    async fn restore(mut self) -> Result<(), RemoteError> {
        self.armed = false;
        self.proxy.restore().await
    }
}

impl Drop for RestoreOnDrop<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        match self.proxy {
            Cuttable::Local(p) => p.restore(),
            // Best effort: if the runtime is going away too, the proxy's own hold restores it.
            Cuttable::Remote(r) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let r = r.clone();
                    runtime.spawn(async move {
                        let _ = r.restore().await;
                    });
                }
            }
        }
    }
}

/// How many proxies the fault step will cut: the ones this process runs (the demo's, or the
/// `[[fault.proxy]]` a supervised run started) and the remote ones. The budget plan reserves
/// polls for each.
pub fn proxy_count(audit: &Target<'_>) -> usize {
    let local = PROXIES.try_with(|p| p.len()).unwrap_or_default();
    let remote = audit
        .config
        .fault
        .proxy
        .iter()
        .filter(|p| matches!(p.place(), Some(ProxyPlace::Remote { .. })))
        .count();
    local + remote
}

/// The proxies to cut: the ones this process runs, then the remote ones in config order.
fn cuttables(cx: &ProbeCx, audit: &Target<'_>) -> Result<Vec<Cuttable>, FaultError> {
    let mut out: Vec<Cuttable> = PROXIES
        .try_with(Arc::clone)
        .unwrap_or_default()
        .iter()
        .map(|p| Cuttable::Local(Arc::clone(p)))
        .collect();
    for (i, p) in audit.config.fault.proxy.iter().enumerate() {
        let Some(ProxyPlace::Remote { control, token_env }) = p.place() else {
            continue;
        };
        let control = Url::parse(control).map_err(|e| FaultError::ControlUrl {
            index: i,
            reason: e.to_string(),
        })?;
        let token = match token_env {
            Some(var) => Some(std::env::var(var).map_err(|_| FaultError::TokenUnset {
                index: i,
                var: var.to_string(),
            })?),
            None => None,
        };
        out.push(Cuttable::Remote(RemoteProxy::new(
            &p.name,
            control,
            token,
            cx.client.clone(),
        )));
    }
    Ok(out)
}

/// The active step: cuts each configured proxy in turn and records [`FaultRun`]s in
/// `obs.fault`.
pub async fn inject(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    let proxies = match cuttables(cx, audit) {
        Ok(proxies) => proxies,
        Err(reason) => {
            obs.fault = Probed::Failed(reason.to_string());
            return;
        }
    };
    if proxies.is_empty() {
        obs.fault = Probed::Skipped(if audit.config.fault.proxy.is_empty() {
            "no [[fault.proxy]] is configured".to_string()
        } else {
            "the fault proxies are not running in this process (they run under `readyprobe audit`)"
                .to_string()
        });
        return;
    }
    // The kubelet polls the manifest's probe paths: watch those when they answer 2xx now.
    let readiness = manifest_path(obs, ProbeKind::Readiness, None)
        .or_else(|| endpoint(obs, &[HealthKind::Readiness, HealthKind::Generic], None));
    let Some(readiness) = readiness else {
        obs.fault = Probed::Skipped(
            "no readiness endpoint was found to watch; name it in [health] readiness".to_string(),
        );
        return;
    };
    let liveness = match &obs.kube_probes {
        // A manifest names the liveness path: that one (none when it equals readiness).
        Probed::Observed(live) if live.of(ProbeKind::Liveness).is_some() => {
            manifest_path(obs, ProbeKind::Liveness, Some(&readiness))
        }
        _ => endpoint(
            obs,
            &[HealthKind::Liveness, HealthKind::Generic],
            Some(&readiness),
        ),
    };
    let readiness_url = join_path(audit.target, &readiness);
    let liveness_url = liveness.map(|p| join_path(audit.target, &p));
    let mut runs = Vec::new();
    for proxy in &proxies {
        match cut_one(cx, audit, proxy, &readiness_url, liveness_url.as_ref()).await {
            Ok(run) => runs.push(run),
            Err(reason) => {
                obs.fault = Probed::Failed(reason.to_string());
                return;
            }
        }
    }
    obs.fault = Probed::Observed(runs);
}

/// The manifest's probe path of `kind`, when it answered 2xx without a redirect (a path that
/// fails already would make the cut prove nothing), other than `except`.
fn manifest_path(obs: &Observations, kind: ProbeKind, except: Option<&str>) -> Option<String> {
    let live = obs.kube_probes.observed()?.of(kind)?;
    let first = live.chain.first()?;
    let ok = live.chain.len() == 1 && first.status.is_some_and(|s| (200..300).contains(&s));
    (ok && Some(live.path.as_str()) != except).then(|| live.path.clone())
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
    audit: &Target<'_>,
    proxy: &Cuttable,
    readiness: &Url,
    liveness: Option<&Url>,
) -> Result<FaultRun, FaultError> {
    let cfg = &audit.config.fault;
    let placement = proxy.prepare().await?;
    let baseline = http::get(cx, readiness)
        .await
        .map_err(FaultError::Baseline)?;
    if !(200..300).contains(&baseline.status) {
        return Err(FaultError::NotReady {
            request_line: baseline.request_line().to_string(),
            proxy: proxy.name().to_string(),
        });
    }
    let mut run = FaultRun {
        proxy: proxy.name().to_string(),
        listen: placement.listen,
        upstream: placement.upstream,
        control: placement.control,
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

    // The longest the watch below can last (a poll may take a whole timeout), plus slack: a
    // remote proxy restores itself after this even if this process dies mid-cut.
    let hold = cfg.detect_window + cx.timeout * 2 + cfg.poll_interval + Duration::from_secs(5);
    let cut_at = Instant::now();
    run.reset_connections = proxy.cut(hold).await?;
    let restore = RestoreOnDrop { proxy, armed: true };
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
    restore
        .restore()
        .await
        .map_err(|error| FaultError::NotLifted {
            error,
            hold: Duration::from_secs(hold.as_secs()),
        })?;

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
