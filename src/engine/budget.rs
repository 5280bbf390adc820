//! The request budget, split by phase, so no phase can starve a later one.
//!
//! `run.max_requests` (`--max-requests`, N) is one counter shared by every probe of a run. Spent
//! first come, first served, an elastic consumer early in the run — the load baseline, which
//! sends as many requests as its duration allows — would leave nothing for fault injection or
//! the rate-limit burst after it, and their checks would end in `error` for a reason that has
//! nothing to do with the target. So each active step *reserves* what its own caps need, and
//! every phase runs under a *ceiling*: N less what the phases after it reserve.
//!
//! | phase | reserves |
//! |---|---|
//! | passive probes | nothing; may spend N − every active reservation, and never less than [`PASSIVE_FLOOR`] of N |
//! | JWT forgery | 4 per run, when `[access] protected` names a route |
//! | CSRF mutations | one per `[[access.mutation]]` |
//! | idempotency mutations | one per mutation with an `idempotency_header` |
//! | rate-limit burst | `ratelimit.max_requests` + 1 (the recovery request), when `[ratelimit] endpoint` is set |
//! | load baseline | `load.max_requests`, at most [`LOAD_SHARE`] of N — and, being elastic, whatever earlier phases left |
//! | dependency fault injection | per fault proxy (`[[fault.proxy]]`, or the demo's): 1 + 2 × (detect_window / poll_interval + 1) + (recover_window / poll_interval + 1) |
//! | supervised checks | `supervise.in_flight` + one readiness poll per 100 ms of `supervise.grace_period` + 1, when `[supervise] command` is set; 2 more for the log canaries when `[logs] source` is set |
//!
//! When the active reservations add up to more than N − [`PASSIVE_FLOOR`] × N, each is scaled
//! down in proportion. What a phase does not spend rolls over to the phases after it (the
//! ceilings count requests sent so far, not per phase), but a phase can never spend what a later
//! phase reserved. The profile decides first: a passive-only profile reserves nothing.

use crate::config::Config;

/// The share of the budget the passive probes always keep, whatever the active steps reserve.
pub const PASSIVE_FLOOR: f64 = 0.4;

/// The most of the budget the load baseline reserves for itself (it may spend more when earlier
/// phases leave some over).
pub const LOAD_SHARE: f64 = 0.2;

/// Requests the JWT forgery sends at most (alg:none, HS256 key confusion, tampered, expired).
pub const FORGERY_REQUESTS: u64 = 4;

// The active steps' names: the keys of the plan, and how `engine::active::STEPS` names them.

/// The JWT forgery step's name.
pub const FORGERY: &str = "JWT forgery";
/// The CSRF step's name.
pub const CSRF: &str = "CSRF mutations";
/// The idempotency step's name.
pub const IDEMPOTENCY: &str = "idempotency mutations";
/// The rate-limit burst step's name.
pub const BURST: &str = "rate-limit burst";
/// The load baseline step's name.
pub const LOAD: &str = "load baseline";
/// The fault injection step's name.
pub const FAULT: &str = "dependency fault injection";

/// The supervised phase's name (log canaries, graceful shutdown, fail-fast): it runs last.
pub const SUPERVISED: &str = "supervised checks";

/// Requests the log canaries send at most (a GET, and a POST when `logs.post_path` is set).
pub const LOG_CANARY_REQUESTS: u64 = 2;

/// One active step's reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepShare {
    /// The step, as `engine::active::STEPS` names it.
    pub name: &'static str,
    /// Requests kept for it (after scaling).
    pub reserved: u64,
    /// True for the load baseline: it may also spend what earlier phases left.
    pub elastic: bool,
}

/// How one run's budget is split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetPlan {
    /// `run.max_requests`.
    pub total: u64,
    /// The active steps in the order they run, with what each reserves (empty when the profile
    /// runs passive probes only).
    pub steps: Vec<StepShare>,
}

impl BudgetPlan {
    /// The request count the run may reach during the passive phase.
    pub fn passive_ceiling(&self) -> u64 {
        self.total
            .saturating_sub(self.steps.iter().map(|s| s.reserved).sum())
    }

    /// The request count the run may reach by the end of active step `index`: the budget less
    /// what the steps after it reserve.
    pub fn step_ceiling(&self, index: usize) -> u64 {
        let later: u64 = self.steps.iter().skip(index + 1).map(|s| s.reserved).sum();
        self.total.saturating_sub(later)
    }

    /// The split in words, for the report's scope section.
    pub fn describe(&self) -> String {
        let reserved: Vec<String> = self
            .steps
            .iter()
            .filter(|s| s.reserved > 0)
            .map(|s| {
                if s.elastic {
                    format!("{} {} (plus what earlier phases leave)", s.name, s.reserved)
                } else {
                    format!("{} {}", s.name, s.reserved)
                }
            })
            .collect();
        if reserved.is_empty() {
            format!(
                "Request budget: {} (run.max_requests), all of it for the passive probes; no active step reserves a share.",
                self.total
            )
        } else {
            format!(
                "Request budget: {} (run.max_requests), split by phase so none starves a later one: passive probes up to {}; reserved for the active steps: {}.",
                self.total,
                self.passive_ceiling(),
                reserved.join(", ")
            )
        }
    }
}

/// What each active step needs under this configuration with `proxies` fault proxies to cut,
/// before scaling: `(name, need, elastic)`, in the order `engine::active::STEPS` runs them.
pub fn needs(config: &Config, proxies: usize) -> Vec<(&'static str, u64, bool)> {
    let n = config.run.max_requests;
    let access = &config.access;
    let forgery = if access.protected.is_empty() {
        0
    } else {
        FORGERY_REQUESTS
    };
    let csrf = access.mutation.len() as u64;
    let idempotency = access
        .mutation
        .iter()
        .filter(|m| m.idempotency_header.is_some())
        .count() as u64;
    let burst = if config.ratelimit.endpoint.is_some() {
        u64::from(config.ratelimit.max_requests) + 1
    } else {
        0
    };
    let load = if config.load.enabled {
        u64::from(config.load.max_requests).min((n as f64 * LOAD_SHARE) as u64)
    } else {
        0
    };
    let fault = &config.fault;
    let polls = |window: std::time::Duration| {
        let interval = fault.poll_interval.as_millis().max(1);
        (window.as_millis().div_ceil(interval) + 1) as u64
    };
    let per_proxy = 1 + 2 * polls(fault.detect_window) + polls(fault.recover_window);
    let fault_need = per_proxy * proxies as u64;
    let supervised = if config.supervise.is_enabled() {
        crate::supervise::shutdown_requests(&config.supervise)
    } else {
        0
    } + if config.logs.source.is_some() {
        LOG_CANARY_REQUESTS
    } else {
        0
    };
    vec![
        (FORGERY, forgery, false),
        (CSRF, csrf, false),
        (IDEMPOTENCY, idempotency, false),
        (BURST, burst, false),
        (LOAD, load, true),
        (FAULT, fault_need, false),
        (SUPERVISED, supervised, false),
    ]
}

/// Splits `run.max_requests` for this configuration, with `proxies` fault proxies to cut (see
/// the module documentation).
pub fn plan(config: &Config, proxies: usize) -> BudgetPlan {
    let total = config.run.max_requests;
    if !config.profile.allows_active() {
        return BudgetPlan {
            total,
            steps: Vec::new(),
        };
    }
    let needs = needs(config, proxies);
    let wanted: u64 = needs.iter().map(|(_, need, _)| need).sum();
    let room = total - (total as f64 * PASSIVE_FLOOR).ceil() as u64;
    let steps = needs
        .into_iter()
        .map(|(name, need, elastic)| StepShare {
            name,
            // Integer arithmetic on u128 so the proportion cannot overflow or round up.
            reserved: if wanted > room {
                (u128::from(need) * u128::from(room) / u128::from(wanted)) as u64
            } else {
                need
            },
            elastic,
        })
        .collect();
    BudgetPlan { total, steps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    fn config() -> Config {
        Config::default()
    }

    fn reserved(plan: &BudgetPlan, name: &str) -> u64 {
        plan.steps
            .iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.reserved)
    }

    #[test]
    fn nothing_active_configured_leaves_everything_to_the_passive_probes() {
        let plan = plan(&config(), 0);
        assert_eq!(plan.passive_ceiling(), 1000);
        assert!(plan.describe().contains("all of it for the passive probes"));
    }

    #[test]
    fn load_at_defaults_cannot_starve_fault_injection() {
        let mut c = config();
        c.load.enabled = true;
        let plan = plan(&c, 1);
        // 10 s windows polled every 200 ms: 1 + 2 × 51 + 51.
        assert_eq!(reserved(&plan, crate::engine::active::FAULT), 154);
        assert_eq!(reserved(&plan, crate::engine::active::LOAD), 200);
        let load_index = plan
            .steps
            .iter()
            .position(|s| s.name == crate::engine::active::LOAD)
            .expect("load step");
        // The load baseline may run the count up to 846, never into the fault injection's 154.
        assert_eq!(plan.step_ceiling(load_index), 1000 - 154);
        assert_eq!(plan.step_ceiling(plan.steps.len() - 1), 1000);
        assert_eq!(plan.passive_ceiling(), 1000 - 154 - 200);
    }

    #[test]
    fn the_burst_keeps_its_cap_and_the_recovery_request() {
        let mut c = config();
        c.ratelimit.endpoint = Some("/login".into());
        c.ratelimit.max_requests = 60;
        c.access.protected = vec!["/admin".into()];
        let plan = plan(&c, 0);
        assert_eq!(reserved(&plan, crate::engine::active::BURST), 61);
        assert_eq!(reserved(&plan, crate::engine::active::FORGERY), 4);
        let text = plan.describe();
        assert!(text.contains("rate-limit burst 61"), "{text}");
        assert!(text.contains("passive probes up to 935"), "{text}");
    }

    #[test]
    fn oversubscribed_reservations_shrink_to_keep_the_passive_floor() {
        let mut c = config();
        c.run.max_requests = 300;
        c.ratelimit.endpoint = Some("/login".into());
        c.ratelimit.max_requests = 300;
        let plan = plan(&c, 1);
        let active: u64 = plan.steps.iter().map(|s| s.reserved).sum();
        assert!(active <= 180, "{plan:?}");
        assert!(plan.passive_ceiling() >= 120, "{plan:?}");
        assert!(reserved(&plan, crate::engine::active::BURST) > 0);
        assert!(reserved(&plan, crate::engine::active::FAULT) > 0);
    }

    #[test]
    fn a_passive_profile_reserves_nothing() {
        let mut c = config();
        c.profile = Profile::Production;
        c.load.enabled = true;
        c.ratelimit.endpoint = Some("/login".into());
        let plan = plan(&c, 1);
        assert!(plan.steps.is_empty());
        assert_eq!(plan.passive_ceiling(), 1000);
    }
}
