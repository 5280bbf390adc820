//! What `audit --demo` changes in the configuration so the embedded demo shows every family of
//! checks quickly. Real targets name these endpoints and windows in their own config.

use std::time::Duration;

use crate::config::Config;

/// Fills in the demo's routes (admin, login, paginated list), turns on a short load baseline and
/// shortens the fault windows. Anything the config already sets is kept.
pub fn tune(cfg: &mut Config) {
    // The demo's admin route: real targets name theirs in `[access] protected`.
    if cfg.access.protected.is_empty() {
        cfg.access.protected = vec!["/api/admin".to_string()];
    }
    // The demo's login (rate-limited in hardened) and its paginated list: real targets name
    // theirs in `[ratelimit]` and `[perf]`. The burst is kept short: the demo allows 10 logins
    // per 2 s, so 60 requests on a fast ramp are plenty to see the limit (or its absence).
    if cfg.ratelimit.endpoint.is_none() {
        cfg.ratelimit.endpoint = Some("/login".to_string());
        cfg.ratelimit.method = "POST".to_string();
        cfg.ratelimit.body =
            Some(r#"{"username":"demo","password":"not-the-password"}"#.to_string());
        cfg.ratelimit.max_requests = cfg.ratelimit.max_requests.min(60);
        cfg.ratelimit.start_rps = cfg.ratelimit.start_rps.max(10.0).min(cfg.ratelimit.max_rps);
        cfg.ratelimit.step = cfg.ratelimit.step.min(Duration::from_millis(200));
        cfg.ratelimit.max_wait = cfg.ratelimit.max_wait.min(Duration::from_secs(5));
    }
    if cfg.perf.list_endpoint.is_none() {
        cfg.perf.list_endpoint = Some("/api/orders".to_string());
    }
    // The demo's baseline is capped at 100 requests over a 3 s plan: the cap, not the
    // duration, ends it on any machine that serves more than ~40 rps, so the report shows
    // what an audit says of a load that did not last ("too short to judge") without
    // spending seconds on load.
    if !cfg.load.enabled {
        cfg.load.enabled = true;
        cfg.load.duration = Duration::from_secs(3);
        cfg.load.max_requests = cfg.load.max_requests.min(100);
    }
    // On loopback a readiness check that dials its database notices a cut within
    // milliseconds; a 3 s window keeps the demo quick while still proving a shallow one.
    let window = Duration::from_secs(3);
    cfg.fault.detect_window = cfg.fault.detect_window.min(window);
    cfg.fault.recover_window = cfg.fault.recover_window.min(window);
    cfg.fault.poll_interval = cfg.fault.poll_interval.min(cfg.fault.detect_window);
}
