//! `idempotency.key_required` (active): a mutation whose API names an idempotency header should
//! refuse requests without it, or a retried request creates a duplicate.

use super::evidence::{EVIDENCE_MAX, clip};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Unobserved};

/// `idempotency.key_required`: mutations without their idempotency key should be refused.
pub const KEY_REQUIRED: CheckMeta = CheckMeta {
    id: "idempotency.key_required",
    title: "Mutations require their idempotency key",
    problem: "Mutations are accepted without their idempotency key",
    category: Category::Reliability,
    severity: Severity::Medium,
    active: true,
    weight: 1.0,
    rule: "Each configured mutation with an idempotency_header, sent without that header, should be refused (4xx); accepted (2xx) warns.",
    remediation: "Require the idempotency header on mutations (answer 400/428 without it) and store the key with the result, so client retries cannot create duplicates.",
    references: &[
        "IETF draft: The Idempotency-Key HTTP Header Field: https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/",
    ],
    judge: key_required,
};

/// Judge of [`KEY_REQUIRED`].
pub fn key_required(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = super::csrf::answered(&obs.idempotency)?;
    let line = |ex: &crate::observations::http::HttpExchange| {
        clip(
            &format!("{} without the idempotency header", ex.request_line()),
            EVIDENCE_MAX,
        )
    };
    let accepted: Vec<String> = seen
        .iter()
        .filter(|(_, ex)| ex.is_success())
        .map(|(_, ex)| line(ex))
        .collect();
    if !accepted.is_empty() {
        return Ok(Judgement::warn(format!(
            "{} mutation(s) were accepted without their idempotency key: retries can create duplicates.",
            accepted.len()
        ))
        .evidence_all(accepted));
    }
    Ok(
        Judgement::pass("Every mutation without its idempotency key was refused.")
            .evidence_all(seen.iter().map(|(_, ex)| line(ex))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{https_target, judge, mutation_answered, try_judge};
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::access::MutationProbe;

    fn obs(status: u16) -> Observations {
        Observations {
            target: https_target(),
            idempotency: mutation_answered(status),
            ..Observations::default()
        }
    }

    #[test]
    fn mutation_without_key_accepted_warns() {
        assert_eq!(judge(&KEY_REQUIRED, &obs(201)).outcome, Outcome::Warn);
    }

    #[test]
    fn mutation_without_key_refused_passes() {
        assert_eq!(judge(&KEY_REQUIRED, &obs(428)).outcome, Outcome::Pass);
    }

    #[test]
    fn failed_mutation_is_an_error() {
        let mut o = obs(200);
        o.idempotency = Probed::Observed(vec![MutationProbe {
            method: "POST".into(),
            path: "/api/orders".into(),
            exchange: Probed::Failed("timed out".into()),
        }]);
        assert_eq!(
            try_judge(&KEY_REQUIRED, &o),
            Err(Unobserved::Failed("timed out".into()))
        );
    }
}
