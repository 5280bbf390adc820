//! The manifest's HTTP probes, requested as the kubelet would send them.
//!
//! A readiness probe whose path 404s keeps every pod of a rollout out of service; one that
//! takes longer than its `timeoutSeconds` restarts pods under load. Neither shows in the YAML.
//! This probe takes each `httpGet` probe of the serving container and requests its path on the
//! audited target (or `kubernetes.probe_url`, which can reach the container port directly): once
//! following redirects on the same host, as the kubelet does, then sequentially for its latency.
//! It sends the kubelet's `User-Agent` and `Accept`, waits up to the run's timeout (longer than
//! the probe's own, so the latency is measured rather than cut) and records statuses and times
//! only; `checks::k8s` judges. Passive: GETs of paths the manifest names.

use url::Url;

use super::ProbeCx;
use super::ProbeError;
use super::Target;
use super::http;
use crate::manifests::{LiveProbe, LiveProbes, ProbeAction, ProbeKind, ProbeRequest};
use crate::observations::http::RequestSpec;
use crate::observations::http::join_path;
use crate::observations::{Observations, Probed};

/// The `User-Agent` the kubelet sends (`kube-probe/<major>.<minor>`).
pub const KUBELET_USER_AGENT: &str = "kube-probe/1.37";

/// Requests every httpGet probe path of the serving container.
pub async fn observe(cx: &ProbeCx, audit: &Target<'_>, obs: &Observations) -> Probed<LiveProbes> {
    let manifests = match obs.kubernetes.get() {
        Ok(m) => m,
        Err(crate::observations::Unobserved::Skipped(reason)) => return Probed::Skipped(reason),
        Err(crate::observations::Unobserved::Failed(reason)) => {
            return Probed::Skipped(format!("the manifests could not be read: {reason}"));
        }
    };
    let base = match &audit.config.kubernetes.probe_url {
        Some(raw) => match Url::parse(raw) {
            Ok(url) => url,
            Err(e) => return Probed::Failed(format!("kubernetes.probe_url: {e}")),
        },
        None => audit.target.clone(),
    };
    let container = &manifests.workload.container;
    let mut probes: Vec<LiveProbe> = Vec::new();
    for kind in [
        ProbeKind::Readiness,
        ProbeKind::Liveness,
        ProbeKind::Startup,
    ] {
        let Some(probe) = container.probe(kind) else {
            continue;
        };
        let ProbeAction::HttpGet { path, .. } = &probe.action else {
            continue;
        };
        // The same path twice (liveness = readiness) is measured once.
        if let Some(same) = probes.iter().find(|p| &p.path == path) {
            probes.push(LiveProbe {
                kind,
                ..same.clone()
            });
            continue;
        }
        let url = join_path(&base, path);
        match measure(cx, &url, audit.config.kubernetes.samples).await {
            Ok((chain, samples)) => probes.push(LiveProbe {
                kind,
                path: path.clone(),
                url: crate::redact::url(&url),
                chain,
                samples,
            }),
            Err(reason) => return Probed::Failed(reason.to_string()),
        }
    }
    if probes.is_empty() {
        return Probed::Skipped(format!(
            "container {} of {} declares no httpGet probe",
            container.name,
            manifests.workload.id()
        ));
    }
    Probed::Observed(LiveProbes {
        base: crate::redact::url(&base),
        timeout_ms: cx.timeout.as_millis() as u64,
        probes,
    })
}

fn kubelet_get(url: &Url) -> RequestSpec {
    RequestSpec::get(url.clone())
        .header("user-agent", KUBELET_USER_AGENT)
        .header("accept", "*/*")
}

fn failed(err: &ProbeError, elapsed_ms: f64) -> ProbeRequest {
    ProbeRequest {
        elapsed_ms,
        status: None,
        location: None,
        error: Some(err.to_string()),
        timed_out: matches!(err, ProbeError::Timeout { .. }),
    }
}

/// The first request with its same-host redirects, then `samples - 1` more without following.
async fn measure(
    cx: &ProbeCx,
    url: &Url,
    samples: u32,
) -> Result<(Vec<ProbeRequest>, Vec<ProbeRequest>), ProbeError> {
    let mut chain = Vec::new();
    let mut times = Vec::new();
    let started = tokio::time::Instant::now();
    match http::send(cx, &kubelet_get(url)).await {
        Ok(ex) => {
            for hop in &ex.redirects {
                chain.push(ProbeRequest {
                    elapsed_ms: 0.0,
                    status: Some(hop.status),
                    location: Some(hop.location.clone()),
                    error: None,
                    timed_out: false,
                });
            }
            let location = (300..400)
                .contains(&ex.status)
                .then(|| ex.header("location").map(str::to_string))
                .flatten();
            chain.push(ProbeRequest {
                elapsed_ms: ex.elapsed_ms,
                status: Some(ex.status),
                location,
                error: None,
                timed_out: false,
            });
        }
        Err(err @ (ProbeError::Deadline { .. } | ProbeError::Budget { .. })) => {
            return Err(err);
        }
        Err(err) => chain.push(failed(&err, started.elapsed().as_secs_f64() * 1000.0)),
    }
    for _ in 0..samples {
        let started = tokio::time::Instant::now();
        match http::send(cx, &kubelet_get(url).no_follow()).await {
            Ok(ex) => times.push(ProbeRequest {
                elapsed_ms: ex.elapsed_ms,
                status: Some(ex.status),
                location: ex.header("location").map(str::to_string),
                error: None,
                timed_out: false,
            }),
            // Out of time or budget: keep what was measured.
            Err(ProbeError::Deadline { .. } | ProbeError::Budget { .. }) => break,
            Err(err) => times.push(failed(&err, started.elapsed().as_secs_f64() * 1000.0)),
        }
    }
    Ok((chain, times))
}
