//! Load judge: what a bounded closed-loop baseline sustained, and whether it stayed error-free.
//! It reports numbers (sustained rps, p50/p95/p99, error rate) more than it grades them: a
//! baseline is something to compare future runs against.
//!
//! A rate is only "sustained" when the load lasted: a loop that hit its request cap (or the
//! run's budget or deadline) after a few milliseconds measured a burst, not a sustained rate, so
//! a run shorter than [`MIN_SUSTAINED_MS`] or than [`MIN_SHARE_OF_PLAN`] of `load.duration` is
//! "too short to judge" (a warning), never a pass.

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Unobserved};

/// `load.baseline`: a short closed-loop load stays error-free.
pub const BASELINE: CheckMeta = CheckMeta {
    id: "load.baseline",
    title: "Load baseline",
    problem: "The load baseline failed or was too short to judge",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: true,
    weight: 1.0,
    rule: "bounded closed-loop load (concurrency C, duration T, request cap) on configured \
           endpoints, from its own share of the request budget — report sustained rps, \
           p50/p95/p99, error rate; fail: errors > 1%; warn \"too short to judge\": ran < 1 s \
           or < 80% of T (request cap, budget or deadline hit first)",
    remediation: "Find what fails under concurrency (connection pool size, worker count, \
                  timeouts to dependencies, locks) and fix it before real traffic finds it; \
                  keep the baseline numbers to compare later runs against.",
    references: &["https://sre.google/sre-book/handling-overload/"],
    judge: baseline,
};

/// The shortest run whose rate counts as sustained, in milliseconds.
pub const MIN_SUSTAINED_MS: f64 = 1000.0;

/// The share of the planned duration (`load.duration`) a run must last to count as sustained.
pub const MIN_SHARE_OF_PLAN: f64 = 0.8;

/// Judges `load.baseline`.
pub fn baseline(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let l = obs.load.get()?;
    let done = l.statuses.values().sum::<u32>() + l.timeouts + l.failures;
    let errors = l.errors();
    let rate = if done == 0 {
        0.0
    } else {
        f64::from(errors) / f64::from(done)
    };
    let codes: Vec<String> = l.statuses.iter().map(|(c, n)| format!("{c}×{n}")).collect();
    let line = format!(
        "GET {} with {} workers for {:.1} s (planned {:.1} s, cap {} requests, stopped by {}): {} requests, {:.1} rps sustained, {}, errors {errors} ({:.2}%), status {}",
        l.endpoints.join(", "),
        l.concurrency,
        l.elapsed_ms / 1000.0,
        l.planned_ms as f64 / 1000.0,
        l.max_requests,
        if l.stopped_by.is_empty() {
            "duration"
        } else {
            &l.stopped_by
        },
        l.sent,
        l.rps(),
        l.latency.describe(),
        rate * 100.0,
        codes.join(" ")
    );
    let mut evidence = vec![line];
    evidence.extend(
        l.first_failure
            .iter()
            .map(|f| format!("first failure: {f}")),
    );
    if done == 0 {
        return Err(Unobserved::Failed(
            l.first_failure
                .clone()
                .unwrap_or_else(|| "no request completed".to_string()),
        ));
    }
    if rate > cfg.load_error_rate_fail {
        return Ok(Judgement::fail(format!(
            "{:.1}% of requests failed under a {}-worker load (fail above {:.1}%).",
            rate * 100.0,
            l.concurrency,
            cfg.load_error_rate_fail * 100.0
        ))
        .evidence_all(evidence));
    }
    let planned = l.planned_ms as f64;
    if l.elapsed_ms < MIN_SUSTAINED_MS || l.elapsed_ms < MIN_SHARE_OF_PLAN * planned {
        let stopped = if l.stopped_by.is_empty() {
            "it stopped early".to_string()
        } else {
            format!("it was stopped by the {}", l.stopped_by)
        };
        return Ok(Judgement::warn(format!(
            "Too short to judge: the load ran {:.2} s of the planned {:.1} s ({stopped} after {} \
             requests), so {:.0} rps is a burst, not a sustained rate.",
            l.elapsed_ms / 1000.0,
            planned / 1000.0,
            l.sent,
            l.rps()
        ))
        .evidence_all(evidence)
        .evidence(format!(
            "a sustained rate needs at least {:.0} s and {:.0}% of load.duration",
            MIN_SUSTAINED_MS / 1000.0,
            MIN_SHARE_OF_PLAN * 100.0
        ))
        .remediation(
            "Give the baseline room to last its whole duration: raise load.max_requests (or \
             run.max_requests, whose share the baseline spends) or shorten load.duration, and \
             keep load.duration at 1 s or more.",
        ));
    }
    Ok(Judgement::pass(format!(
        "Sustained {:.0} rps with {} workers, p95 {:.1} ms, {:.2}% errors.",
        l.rps(),
        l.concurrency,
        l.latency.p95_ms,
        rate * 100.0
    ))
    .evidence_all(evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::judge;
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::load::{LoadObservation, Percentiles};

    fn obs(ok: u32, errors: u32) -> Observations {
        let mut l = LoadObservation {
            endpoints: vec!["/".into()],
            concurrency: 4,
            planned_ms: 1000,
            elapsed_ms: 1000.0,
            max_requests: 2000,
            sent: ok + errors,
            latency: Percentiles::of(&[1.0, 2.0, 3.0]),
            stopped_by: "duration".into(),
            ..LoadObservation::default()
        };
        l.statuses.insert(200, ok);
        if errors > 0 {
            l.statuses.insert(503, errors);
        }
        Observations {
            load: Probed::Observed(l),
            ..Observations::default()
        }
    }

    #[test]
    fn error_free_load_passes_with_numbers() {
        let j = judge(&BASELINE, &obs(500, 0));
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.summary.contains("500 rps"), "{}", j.summary);
        assert!(j.evidence[0].contains("p95"));
    }

    #[test]
    fn more_than_one_percent_errors_fails() {
        assert_eq!(judge(&BASELINE, &obs(500, 10)).outcome, Outcome::Fail);
        assert_eq!(judge(&BASELINE, &obs(1000, 5)).outcome, Outcome::Pass);
    }

    fn obs_ran(elapsed_ms: f64, planned_ms: u64, stopped_by: &str) -> Observations {
        let mut o = obs(300, 0);
        if let Probed::Observed(l) = &mut o.load {
            l.elapsed_ms = elapsed_ms;
            l.planned_ms = planned_ms;
            l.stopped_by = stopped_by.into();
        }
        o
    }

    #[test]
    fn a_run_cut_by_its_request_cap_in_milliseconds_is_too_short_to_judge() {
        let j = judge(&BASELINE, &obs_ran(117.0, 1000, "request cap"));
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.starts_with("Too short to judge"), "{}", j.summary);
        assert!(j.summary.contains("request cap"), "{}", j.summary);
        assert!(!j.summary.contains("Sustained"), "{}", j.summary);
    }

    #[test]
    fn a_run_under_one_second_or_under_80_percent_of_its_plan_warns() {
        // Under 1 s although it lasted its whole (too short) plan.
        assert_eq!(
            judge(&BASELINE, &obs_ran(500.0, 500, "duration")).outcome,
            Outcome::Warn
        );
        // Over 1 s but under 80% of a 10 s plan (the budget ran out).
        assert_eq!(
            judge(&BASELINE, &obs_ran(7_000.0, 10_000, "budget")).outcome,
            Outcome::Warn
        );
        // 80% of the plan and over 1 s: judged.
        assert_eq!(
            judge(&BASELINE, &obs_ran(8_000.0, 10_000, "request cap")).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn errors_in_a_short_run_still_fail() {
        let mut o = obs(100, 10);
        if let Probed::Observed(l) = &mut o.load {
            l.elapsed_ms = 50.0;
        }
        assert_eq!(judge(&BASELINE, &o).outcome, Outcome::Fail);
    }

    #[test]
    fn opt_in_means_skipped() {
        let o = Observations {
            load: Probed::Skipped("the load baseline is opt-in".into()),
            ..Observations::default()
        };
        assert!(matches!(
            (BASELINE.judge)(&o, &JudgeConfig::default()),
            Err(Unobserved::Skipped(_))
        ));
    }
}
