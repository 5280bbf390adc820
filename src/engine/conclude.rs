//! Finishing a run — the one way every run ends: judge the observations, apply the waivers,
//! score, and build the [`Report`].
//!
//! Live runs ([`super::run_on`], supervised ones included), `readyprobe judge` (a recording
//! re-judged offline) and the runs that never started (`--wait-ready` ran out, a supervised
//! service never became ready) all end here, so a report means the same thing however it was
//! made. What differs between them is only what [`RunMeta`] says: when it ran, what it sent,
//! its scope lines, and whether the checks were judged or not run.

use std::time::{Duration, SystemTime};

use crate::checks::health;
use crate::checks::{Catalogue, Judgement};
use crate::config::Config;
use crate::model::{Finding, Outcome, Readiness, Report, WaitReady};
use crate::observations::Observations;
use crate::redact::Redactor;

/// How the checks are judged.
#[derive(Debug, Clone)]
pub enum Judging {
    /// Every check judges the observations (a run that happened, or a recording).
    All,
    /// Nothing was audited: `health.ready_now` gets `ready_now` (what was last seen), every
    /// other check is skipped with `reason`.
    NotRun {
        /// The judgement of `health.ready_now`.
        ready_now: Judgement,
        /// Why the other checks did not run.
        reason: String,
    },
}

/// What a report says about its run, besides the findings.
#[derive(Debug, Clone)]
pub struct RunMeta<'a> {
    /// The audited target, redacted.
    pub target: String,
    /// RFC 3339 start of the run.
    pub started_at: String,
    /// How long it ran.
    pub duration: Duration,
    /// Requests sent to the target.
    pub requests_sent: u64,
    /// "Scope and method" lines.
    pub scope: Vec<String>,
    /// Masks configured secrets in every finding and the readiness answer.
    pub redactor: &'a Redactor,
    /// The `--wait-ready` record, when the run waited.
    pub wait_ready: Option<WaitReady>,
    /// Whether the checks are judged.
    pub judging: Judging,
}

/// RFC 3339 (seconds) of a wall-clock time, as reports write times.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Judges `obs` with `catalogue` under `config`, applies the waivers (as of today), scores, and
/// builds the report. Nothing is sent anywhere.
pub fn conclude(
    obs: &Observations,
    config: &Config,
    catalogue: &Catalogue,
    meta: RunMeta<'_>,
) -> Report {
    let mut findings = match &meta.judging {
        Judging::All => super::judge(obs, config, catalogue, meta.redactor),
        Judging::NotRun { ready_now, reason } => {
            super::judge::not_run(config, catalogue, meta.redactor, ready_now, reason)
        }
    };
    crate::config::gate::apply_waivers(
        &mut findings,
        &config.waivers,
        &crate::config::gate::today(),
    );
    let scores = crate::scoring::score(&findings, &config.scoring, &crate::checks::weight);
    let readiness = readiness(&findings, obs).map(|r| scrub_readiness(r, meta.redactor));
    Report {
        readyprobe_version: crate::VERSION.to_string(),
        target: meta.target,
        profile: config.profile.as_str().to_string(),
        started_at: meta.started_at,
        finished_at: rfc3339(SystemTime::now()),
        duration_ms: meta.duration.as_millis() as u64,
        requests_sent: meta.requests_sent,
        findings,
        categories: scores.categories,
        overall_score: scores.overall,
        overall_score_with_waived: scores.overall_with_waived,
        band: scores.band,
        verdict: scores.verdict,
        verdict_reasons: scores.reasons,
        scope: meta.scope,
        readiness,
        wait_ready: meta.wait_ready,
    }
}

/// The readiness answer for the report, when `health.ready_now` judged it (not when the check is
/// disabled, skipped or could not measure).
fn readiness(findings: &[Finding], obs: &Observations) -> Option<Readiness> {
    let judged = findings.iter().any(|f| {
        f.check_id == health::READY_NOW.id
            && matches!(f.outcome, Outcome::Pass | Outcome::Warn | Outcome::Fail)
    });
    if judged {
        health::readiness_report(obs)
    } else {
        None
    }
}

/// Masks configured secrets in the readiness answer's free text.
fn scrub_readiness(mut r: Readiness, redactor: &Redactor) -> Readiness {
    for c in &mut r.components {
        c.name = redactor.scrub(&c.name);
        c.message = c.message.as_deref().map(|m| redactor.scrub(m));
    }
    r
}
