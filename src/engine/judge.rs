//! Judging: runs every check over the observations and turns judgements into findings.

use crate::checks::{Catalogue, Entry, Judgement, pack};
use crate::config::Config;
use crate::model::{Finding, Outcome};
use crate::observations::{Observations, Unobserved};
use crate::redact::Redactor;

/// Judges the observations with every check of the catalogue, in catalogue order. Disabled
/// checks and active checks the profile does not allow are reported as `skipped` with the
/// reason. Every text is scrubbed of configured secrets.
pub fn judge(
    obs: &Observations,
    config: &Config,
    catalogue: &Catalogue,
    redactor: &Redactor,
) -> Vec<Finding> {
    let unverified = unverified_reason(obs);
    catalogue
        .entries()
        .into_iter()
        .map(|check| {
            let result = if config.checks.disable.iter().any(|id| id == check.id()) {
                Err(Unobserved::Skipped(
                    "disabled in config (checks.disable)".to_string(),
                ))
            } else if obs.target.is_dependency_only() && !judges_dependencies(check.id()) {
                Err(Unobserved::Skipped(NO_HTTP_TARGET.to_string()))
            } else if check.active() && !config.profile.allows_active() {
                Err(Unobserved::Skipped(format!(
                    "active check; the {} profile runs passive checks only",
                    config.profile.as_str()
                )))
            } else {
                match check {
                    Entry::Builtin(meta) => (meta.judge)(obs, &config.judge),
                    Entry::Pack(p) => match obs.packs.get(&p.id) {
                        Some(exchanges) => pack::judge(p, exchanges),
                        None => Err(Unobserved::Skipped("not probed in this run".to_string())),
                    },
                }
            };
            let mut finding = finding(&check, result);
            if let Some(severity) = config.checks.severity.get(check.id()) {
                finding.severity = *severity;
            }
            scrub(&mut finding, redactor);
            if let Some(reason) = &unverified {
                label_unverified(&mut finding, reason);
            }
            finding
        })
        .collect()
}

/// Why an HTTP check is skipped in a dependency-only audit.
pub const NO_HTTP_TARGET: &str =
    "dependency-only audit: no HTTP target was given, so nothing was requested over HTTP";

/// True for the checks a dependency-only audit judges: the dependencies' own (`db.*`, `redis.*`,
/// `rabbitmq.*`, `dns.*` when names are configured) and the Kubernetes manifest checks, which
/// say themselves what they could not measure.
fn judges_dependencies(id: &str) -> bool {
    ["db.", "redis.", "rabbitmq.", "dns.", "k8s."]
        .iter()
        .any(|prefix| id.starts_with(prefix))
}

/// Makes a finding from a check's metadata and its judge's result.
pub fn finding(check: &Entry<'_>, result: Result<Judgement, Unobserved>) -> Finding {
    let base = Finding {
        check_id: check.id().to_string(),
        title: check.title().to_string(),
        problem: None,
        category: check.category(),
        severity: check.severity(),
        outcome: Outcome::Skipped,
        score: 0.0,
        summary: String::new(),
        evidence: Vec::new(),
        remediation: check.remediation().to_string(),
        references: check.references(),
        waiver: None,
    };
    match result {
        Ok(judgement) => Finding {
            // Only a finding that fails or warns is headed by the problem.
            problem: matches!(judgement.outcome, Outcome::Fail | Outcome::Warn)
                .then(|| check.problem().map(str::to_string))
                .flatten(),
            outcome: judgement.outcome,
            score: judgement
                .score
                .unwrap_or_else(|| judgement.outcome.default_score()),
            summary: judgement.summary,
            evidence: judgement.evidence,
            severity: judgement.severity.unwrap_or(base.severity),
            remediation: judgement.remediation.unwrap_or(base.remediation.clone()),
            ..base
        },
        Err(Unobserved::Failed(reason)) => Finding {
            outcome: Outcome::Error,
            summary: format!("Could not measure: {reason}"),
            evidence: vec![reason],
            ..base
        },
        Err(Unobserved::Skipped(reason)) => Finding {
            outcome: Outcome::Skipped,
            summary: format!("Skipped: {reason}"),
            ..base
        },
    }
}

fn scrub(finding: &mut Finding, redactor: &Redactor) {
    finding.summary = redactor.scrub(&finding.summary);
    if let Some(problem) = &mut finding.problem {
        *problem = redactor.scrub(problem);
    }
    finding.remediation = redactor.scrub(&finding.remediation);
    for line in &mut finding.evidence {
        *line = redactor.scrub(line);
    }
}

/// Why the target was observed over an unverified TLS connection, if it was: its certificate
/// failed verification and `--strict-tls` was off (the HTTP probe records it on each exchange).
fn unverified_reason(obs: &Observations) -> Option<String> {
    let root = obs.root.observed().and_then(|ex| ex.unverified.clone());
    root.or_else(|| {
        obs.health
            .iter()
            .find_map(|h| h.exchange.observed().and_then(|ex| ex.unverified.clone()))
    })
}

/// Check areas that do not read the target over HTTP (the TLS handshake itself, DNS, and the
/// dependencies): their findings are not about what came over the unverified connection.
const NOT_OVER_HTTP: &[&str] = &["tls", "dns", "db", "redis", "rabbitmq"];

/// Adds the "unverified connection" label to a judged finding about the target's HTTP answers
/// whose evidence does not already carry it (summaries such as `health.endpoints` do not quote a
/// request line).
fn label_unverified(finding: &mut Finding, reason: &str) {
    let area = finding.check_id.split('.').next().unwrap_or_default();
    if finding.outcome == Outcome::Skipped
        || NOT_OVER_HTTP.contains(&area)
        || finding
            .evidence
            .iter()
            .any(|e| e.contains("unverified connection"))
    {
        return;
    }
    finding.evidence.push(format!(
        "Observed over an unverified connection: the certificate failed verification ({reason}); \
         no configured header or credential was sent over it."
    ));
}

/// The findings of a run that audited nothing: `health.ready_now` gets `ready_now` (unless it is
/// disabled), every other check is skipped with `reason`. Severity overrides apply and every text
/// is scrubbed, as in [`judge`].
pub(super) fn not_run(
    config: &Config,
    catalogue: &Catalogue,
    redactor: &Redactor,
    ready_now: &Judgement,
    reason: &str,
) -> Vec<Finding> {
    catalogue
        .entries()
        .into_iter()
        .map(|check| {
            let result = if check.id() == crate::checks::health::READY_NOW.id
                && !config.checks.disable.iter().any(|d| d == check.id())
            {
                Ok(ready_now.clone())
            } else {
                Err(Unobserved::Skipped(reason.to_string()))
            };
            let mut finding = finding(&check, result);
            if let Some(severity) = config.checks.severity.get(check.id()) {
                finding.severity = *severity;
            }
            scrub(&mut finding, redactor);
            finding
        })
        .collect()
}
