//! DNS judges: `dns.records`, over the A/AAAA and CAA records of the target's names.
//!
//! More than one address means a client has somewhere else to go when one front end is down;
//! CAA limits which certificate authorities may issue for the name. A missing CAA set is only
//! noted (info): it is a hardening step, not a readiness gap.

use super::db::capped;
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Probed, Unobserved};

/// `dns.records`: the target's names resolve to more than one address; CAA noted.
pub const RECORDS: CheckMeta = CheckMeta {
    id: "dns.records",
    title: "DNS records of the target (A/AAAA, CAA)",
    problem: "The target's DNS has a single address or no CAA record",
    category: Category::Reliability,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "resolve the target host (A/AAAA), CAA — fail: does not resolve; warn: single \
           address; no CAA is noted (info)",
    remediation: "Publish more than one address for the public name (several load-balancer \
                  front ends or an anycast address), add AAAA records, and publish CAA \
                  records naming the CAs you use (`example.com. CAA 0 issue \"letsencrypt.org\"`).",
    references: &[
        "RFC 8659: DNS Certification Authority Authorization (CAA)",
        "https://letsencrypt.org/docs/caa/",
    ],
    judge: records,
};

/// Judges `dns.records`: see [`RECORDS`]. The worst name decides the outcome; every name is
/// listed in the evidence.
pub fn records(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let dns = obs.dns.get()?;
    if dns.names.is_empty() {
        return Err(Unobserved::Skipped("no name to resolve".into()));
    }
    let mut evidence = Vec::new();
    let mut unresolved = Vec::new();
    let mut single = Vec::new();
    let mut errors = Vec::new();
    let mut resolved = 0;
    for n in &dns.names {
        for (kind, set) in [("A", &n.a), ("AAAA", &n.aaaa)] {
            if let Probed::Failed(reason) = set {
                errors.push(reason.clone());
                evidence.push(format!("{kind} {}: {reason}", n.name));
            }
        }
        let addresses = n.addresses();
        let failed = n.a.is_failed() || n.aaaa.is_failed();
        evidence.push(format!(
            "{} via {}: {}{}",
            n.name,
            dns.nameserver,
            if addresses.is_empty() {
                if n.nxdomain {
                    "NXDOMAIN".to_string()
                } else {
                    "no A/AAAA records".to_string()
                }
            } else {
                addresses.join(", ")
            },
            if failed { " (partial)" } else { "" }
        ));
        match &n.caa {
            Probed::Observed(caa) => match &caa.found_at {
                Some(at) => evidence.push(format!(
                    "CAA for {} (at {at}): {}",
                    n.name,
                    caa.records.join("; ")
                )),
                None => evidence.push(format!(
                    "info: no CAA record for {} (checked {})",
                    n.name,
                    caa.checked.join(", ")
                )),
            },
            Probed::Failed(reason) => evidence.push(format!("CAA for {}: {reason}", n.name)),
            Probed::Skipped(reason) => {
                evidence.push(format!("CAA for {}: skipped: {reason}", n.name))
            }
        }
        match addresses.len() {
            0 if failed => {}
            0 => unresolved.push(n.name.clone()),
            1 => {
                resolved += 1;
                single.push(n.name.clone());
            }
            _ => resolved += 1,
        }
    }
    let evidence = capped(evidence);
    if resolved == 0 && unresolved.is_empty() {
        return Err(Unobserved::Failed(errors.join("; ")));
    }
    if !unresolved.is_empty() {
        return Ok(Judgement::fail(format!(
            "{} does not resolve to any address.",
            unresolved.join(", ")
        ))
        .evidence_all(evidence));
    }
    if !single.is_empty() {
        return Ok(Judgement::warn(format!(
            "{} resolve{} to a single address: no redundancy at the DNS level.",
            single.join(", "),
            if single.len() == 1 { "s" } else { "" }
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(format!(
        "Every name resolves to more than one address ({} name(s)).",
        dns.names.len()
    ))
    .evidence_all(evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;
    use crate::observations::dns::{DnsCaa, DnsName, DnsObservation};

    fn name(a: &[&str], aaaa: &[&str], caa: Option<&str>) -> DnsName {
        DnsName {
            name: "app.test".into(),
            a: Probed::Observed(a.iter().map(|s| s.to_string()).collect()),
            aaaa: Probed::Observed(aaaa.iter().map(|s| s.to_string()).collect()),
            nxdomain: false,
            caa: Probed::Observed(DnsCaa {
                found_at: caa.map(|_| "app.test".to_string()),
                records: caa.map(|c| vec![c.to_string()]).unwrap_or_default(),
                checked: vec!["app.test".into()],
            }),
        }
    }

    fn obs(names: Vec<DnsName>) -> Observations {
        Observations {
            dns: Probed::Observed(DnsObservation {
                nameserver: "127.0.0.1:5353".into(),
                names,
            }),
            ..Observations::default()
        }
    }

    fn run(o: &Observations) -> Result<Judgement, Unobserved> {
        records(o, &JudgeConfig::default())
    }

    #[test]
    fn several_addresses_with_caa_pass() {
        let j = run(&obs(vec![name(
            &["10.0.0.1", "10.0.0.2"],
            &["fd00::1"],
            Some("0 issue \"letsencrypt.org\""),
        )]))
        .unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        assert_eq!(
            j.evidence[0],
            "app.test via 127.0.0.1:5353: 10.0.0.1, 10.0.0.2, fd00::1"
        );
        assert_eq!(
            j.evidence[1],
            "CAA for app.test (at app.test): 0 issue \"letsencrypt.org\""
        );
    }

    #[test]
    fn single_address_warns_and_missing_caa_is_info() {
        let j = run(&obs(vec![name(&["10.0.0.1"], &[], None)])).unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert_eq!(
            j.evidence[1],
            "info: no CAA record for app.test (checked app.test)"
        );
    }

    #[test]
    fn unresolved_name_fails() {
        let mut n = name(&[], &[], None);
        n.nxdomain = true;
        let j = run(&obs(vec![n])).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.evidence[0].ends_with("NXDOMAIN"));
    }

    #[test]
    fn resolver_failure_is_an_error_and_not_probed_is_skipped() {
        let mut n = name(&[], &[], None);
        n.a = Probed::Failed("dns 127.0.0.1:5353: A app.test: no answer within 2s".into());
        n.aaaa = Probed::Failed("dns 127.0.0.1:5353: AAAA app.test: no answer within 2s".into());
        assert!(matches!(run(&obs(vec![n])), Err(Unobserved::Failed(_))));
        let skipped = Observations {
            dns: Probed::Skipped("the target is addressed by IP".into()),
            ..Observations::default()
        };
        assert!(matches!(run(&skipped), Err(Unobserved::Skipped(_))));
    }
}
