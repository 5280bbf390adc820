//! The checks only the owner of the process can run: SIGTERM with requests in flight
//! (`ops.graceful_shutdown`) and a restart with an invalid configuration
//! (`ops.fail_fast_config`). The engine's supervised phase calls them, under the run's deadline
//! and budget.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::{
    FailFastObservation, IN_FLIGHT_HEAD_START, InFlightRequest, READY_POLL, REAP_TIMEOUT, Service,
    ServiceExit, ShutdownObservation, SuperviseError, readiness_poll, sig,
};
use crate::config::{Config, SuperviseConfig};
use crate::observations::fault::Poll;
use crate::observations::http::RequestSpec;
use crate::probes::ProbeCx;
use crate::probes::http;

/// Sends SIGTERM with requests in flight and records what happened.
///
/// `url` is the slow endpoint the in-flight requests ask for (`supervise.slow_path` on the
/// target); `readiness` is watched until the process ends.
pub async fn shutdown(
    cx: &ProbeCx,
    sup: &SuperviseConfig,
    url: &Url,
    service: &mut Service,
    readiness: Option<&Url>,
) -> ShutdownObservation {
    let shown = format!("GET {}", crate::redact::url(url));
    let signal_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mut requests = Vec::new();
    for _ in 0..sup.in_flight {
        let cx = cx.clone();
        let spec = RequestSpec::get(url.clone());
        let signal_at = Arc::clone(&signal_at);
        requests.push(tokio::spawn(async move {
            let result = http::send(&cx, &spec).await;
            let finished = Instant::now();
            let at = *signal_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let finished_ms = match at {
                Some(at) if finished >= at => (finished - at).as_millis() as i64,
                Some(at) => -((at - finished).as_millis() as i64),
                None => -1,
            };
            (
                finished_ms,
                result.map(|ex| ex.status).map_err(|e| e.to_string()),
            )
        }));
    }
    tokio::time::sleep(IN_FLIGHT_HEAD_START).await;

    let sent = Instant::now();
    *signal_at
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sent);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = readiness.cloned().map(|url| {
        let cx = cx.clone();
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut polls = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let poll = match tokio::time::timeout(Duration::from_secs(1), http::get(&cx, &url))
                    .await
                {
                    Ok(Ok(ex)) => Poll {
                        at_ms: sent.elapsed().as_millis() as u64,
                        status: Some(ex.status),
                        error: None,
                    },
                    Ok(Err(err)) => Poll {
                        at_ms: sent.elapsed().as_millis() as u64,
                        status: None,
                        error: Some(err.to_string()),
                    },
                    Err(_) => Poll {
                        at_ms: sent.elapsed().as_millis() as u64,
                        status: None,
                        error: Some("no answer within 1 s".to_string()),
                    },
                };
                polls.push(poll);
                tokio::time::sleep(READY_POLL).await;
            }
            polls
        })
    });
    sig::process(service.pid(), sig::TERM);
    let exit = match service.wait_for(sup.grace_period).await {
        Some(status) => ServiceExit::Exited {
            after_ms: sent.elapsed().as_millis() as u64,
            code: status.code(),
            signal: sig::of(&status),
        },
        None => {
            let after_ms = sent.elapsed().as_millis() as u64;
            service.kill().await;
            ServiceExit::Killed { after_ms }
        }
    };
    stop.store(true, Ordering::SeqCst);
    // Whatever the process left behind in its group goes too.
    sig::group(service.pid(), sig::KILL);
    let mut readiness_polls = match poller {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    let ended = match exit {
        ServiceExit::Exited { after_ms, .. } | ServiceExit::Killed { after_ms } => after_ms,
    };
    readiness_polls.retain(|p| p.at_ms <= ended + 1000);
    let mut in_flight = Vec::new();
    for task in requests {
        let (finished_ms, result) = task
            .await
            .unwrap_or((0, Err("the request task ended abnormally".to_string())));
        in_flight.push(match result {
            Ok(status) => InFlightRequest {
                request: shown.clone(),
                finished_ms,
                status: Some(status),
                error: None,
            },
            Err(error) => InFlightRequest {
                request: shown.clone(),
                finished_ms,
                status: None,
                error: Some(error),
            },
        });
    }
    let pid = service.pid();
    let pid_gone = wait_gone(pid).await;
    ShutdownObservation {
        pid,
        grace_period_ms: sup.grace_period.as_millis() as u64,
        requests: in_flight,
        readiness: readiness.map(crate::redact::url),
        readiness_polls,
        exit,
        pid_gone,
    }
}

/// Waits (bounded) until no process with `pid` exists.
async fn wait_gone(pid: u32) -> bool {
    let until = Instant::now() + REAP_TIMEOUT;
    while sig::exists(pid) {
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Starts the service again with `invalid_env` and records whether it refused to run.
pub async fn fail_fast(
    cfg: &Config,
    readiness: Option<&Url>,
) -> Result<FailFastObservation, SuperviseError> {
    let sup = &cfg.supervise;
    let mut service = Service::spawn(sup, &sup.invalid_env)?;
    let within = sup.fail_fast_within;
    let started = Instant::now();
    let status = service.wait_for(within).await;
    let (exit, readiness_poll) = match status {
        Some(status) => (
            ServiceExit::Exited {
                after_ms: started.elapsed().as_millis() as u64,
                code: status.code(),
                signal: sig::of(&status),
            },
            None,
        ),
        None => {
            let after_ms = started.elapsed().as_millis() as u64;
            let poll = match readiness {
                Some(url) => {
                    let at = Instant::now();
                    let result = readiness_poll(cfg, url).await;
                    Some(Poll {
                        at_ms: after_ms + at.elapsed().as_millis() as u64,
                        status: result.as_ref().ok().copied(),
                        error: result.err().map(|e| e.to_string()),
                    })
                }
                None => None,
            };
            (ServiceExit::Killed { after_ms }, poll)
        }
    };
    service.kill().await;
    let last_output = service.output().tail(2);
    let pid = service.pid();
    drop(service);
    let _ = wait_gone(pid).await;
    Ok(FailFastObservation {
        variables: sup.invalid_env.keys().cloned().collect(),
        within_ms: within.as_millis() as u64,
        exit,
        last_output,
        readiness: readiness_poll,
    })
}
