//! `csrf.foreign_origin` (active): a configured mutation sent as a cross-site browser request
//! would send it (foreign `Origin`, `Sec-Fetch-Site: cross-site`) must be refused.

use super::evidence::{EVIDENCE_MAX, clip};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::access::MutationProbe;
use crate::observations::{Observations, Probed, Unobserved};

/// `csrf.foreign_origin`: cross-site mutations must be refused.
pub const FOREIGN_ORIGIN: CheckMeta = CheckMeta {
    id: "csrf.foreign_origin",
    title: "Cross-site mutations are refused",
    problem: "Cross-site mutations are accepted",
    category: Category::Security,
    severity: Severity::High,
    active: true,
    weight: 1.0,
    rule: "Each configured mutation ([[access.mutation]]) sent with Origin: https://evil.example and Sec-Fetch-Site: cross-site must not answer 2xx.",
    remediation: "Reject state-changing requests whose Origin is not yours or whose Sec-Fetch-Site is cross-site (or require a CSRF token / SameSite=Strict session cookies).",
    references: &[
        "OWASP CSRF Prevention Cheat Sheet: https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html",
    ],
    judge: foreign_origin,
};

/// The mutations that answered, or why none did. Shared with `idempotency`.
pub(crate) fn answered(
    probes: &Probed<Vec<MutationProbe>>,
) -> Result<Vec<(&MutationProbe, &crate::observations::http::HttpExchange)>, Unobserved> {
    let probes = probes.get()?;
    let seen: Vec<_> = probes
        .iter()
        .filter_map(|p| p.exchange.observed().map(|ex| (p, ex)))
        .collect();
    if seen.is_empty() {
        let reason = probes
            .iter()
            .find_map(|p| match &p.exchange {
                Probed::Failed(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "no mutation was sent".to_string());
        return Err(Unobserved::Failed(reason));
    }
    Ok(seen)
}

/// Judge of [`FOREIGN_ORIGIN`].
pub fn foreign_origin(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = answered(&obs.csrf)?;
    let line = |ex: &crate::observations::http::HttpExchange| {
        clip(
            &format!(
                "{} (Origin: https://evil.example, Sec-Fetch-Site: cross-site)",
                ex.request_line()
            ),
            EVIDENCE_MAX,
        )
    };
    let accepted: Vec<String> = seen
        .iter()
        .filter(|(_, ex)| ex.is_success())
        .map(|(_, ex)| line(ex))
        .collect();
    if !accepted.is_empty() {
        return Ok(Judgement::fail(format!(
            "{} cross-site mutation(s) were accepted: any site can make a signed-in user's browser perform them.",
            accepted.len()
        ))
        .evidence_all(accepted));
    }
    Ok(Judgement::pass("Every cross-site mutation was refused.")
        .evidence_all(seen.iter().map(|(_, ex)| line(ex))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{https_target, judge, mutation_answered, try_judge};
    use crate::model::Outcome;

    fn obs(status: u16) -> Observations {
        Observations {
            target: https_target(),
            csrf: mutation_answered(status),
            ..Observations::default()
        }
    }

    #[test]
    fn cross_site_mutation_accepted_fails() {
        assert_eq!(judge(&FOREIGN_ORIGIN, &obs(201)).outcome, Outcome::Fail);
    }

    #[test]
    fn cross_site_mutation_refused_passes() {
        assert_eq!(judge(&FOREIGN_ORIGIN, &obs(403)).outcome, Outcome::Pass);
    }

    #[test]
    fn unconfigured_mutation_is_skipped() {
        let o = Observations::default();
        assert!(matches!(
            try_judge(&FOREIGN_ORIGIN, &o),
            Err(Unobserved::Skipped(_))
        ));
    }
}
