//! The DNS probe: resolves the target's names (A, AAAA) and finds the CAA record set that
//! governs them, with hickory-resolver — the system resolver, or a configured nameserver.
//!
//! CAA is looked up the way a certificate authority does (RFC 8659 §3): at the name, then at
//! each parent, and the first non-empty set is the relevant one. The walk stops before the
//! top-level domain.
//!
//! It must not wander: it only asks about the names it was given (the target's host or
//! `dependencies.dns.names`), and it never consults `/etc/hosts` when a nameserver is named, so
//! an answer is what that nameserver said.

use std::net::SocketAddr;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use crate::observations::Probed;
use crate::observations::dns::{DnsCaa, DnsName, DnsObservation};
use crate::probes::{ProbeCx, ProbeError, error_chain};

/// Resolves each name. `nameserver` `None` uses the system configuration.
pub async fn resolve(
    cx: &ProbeCx,
    nameserver: Option<SocketAddr>,
    names: &[String],
) -> Result<DnsObservation, ProbeError> {
    let shown = match nameserver {
        Some(addr) => addr.to_string(),
        None => "system resolver".to_string(),
    };
    let subject = format!("dns {shown}");
    let resolver = build(cx, nameserver).map_err(|e| ProbeError::Connect {
        subject: subject.clone(),
        reason: error_chain(&e),
    })?;
    let mut out = Vec::new();
    for name in names {
        out.push(resolve_name(cx, &resolver, &subject, name).await);
    }
    Ok(DnsObservation {
        nameserver: shown,
        names: out,
    })
}

fn build(cx: &ProbeCx, nameserver: Option<SocketAddr>) -> Result<TokioResolver, NetError> {
    let mut builder = match nameserver {
        Some(addr) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut ns.connections {
                connection.port = addr.port();
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => Resolver::builder_tokio()?,
    };
    let mut opts = ResolverOpts::default();
    opts.timeout = cx.timeout;
    opts.attempts = 1;
    opts.cache_size = 0;
    if nameserver.is_some() {
        opts.use_hosts_file = ResolveHosts::Never;
    }
    builder = builder.with_options(opts);
    builder.build()
}

/// A fully qualified form (`name.`), so search domains are never appended.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim().trim_end_matches('.'))
}

/// One lookup's records of one type: empty for NODATA/NXDOMAIN, an error otherwise.
async fn lookup(
    cx: &ProbeCx,
    resolver: &TokioResolver,
    subject: &str,
    name: &str,
    record_type: RecordType,
) -> (Probed<Vec<RData>>, bool) {
    match tokio::time::timeout_at(cx.op_deadline(), resolver.lookup(fqdn(name), record_type)).await
    {
        Ok(Ok(lookup)) => (
            Probed::Observed(
                lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == record_type)
                    .map(|r| r.data.clone())
                    .collect(),
            ),
            false,
        ),
        Ok(Err(e)) if e.is_nx_domain() => (Probed::Observed(Vec::new()), true),
        Ok(Err(e)) if e.is_no_records_found() => (Probed::Observed(Vec::new()), false),
        Ok(Err(e)) => (
            Probed::Failed(format!(
                "{subject}: {record_type} {name}: {}",
                error_chain(&e)
            )),
            false,
        ),
        Err(_) => (
            Probed::Failed(format!(
                "{subject}: {record_type} {name}: no answer within {}",
                humantime::format_duration(cx.timeout)
            )),
            false,
        ),
    }
}

async fn resolve_name(
    cx: &ProbeCx,
    resolver: &TokioResolver,
    subject: &str,
    name: &str,
) -> DnsName {
    let name = name.trim().trim_end_matches('.').to_string();
    let addresses = |set: Probed<Vec<RData>>| match set {
        Probed::Observed(list) => Probed::Observed(
            list.iter()
                .filter_map(|r| match r {
                    RData::A(a) => Some(a.to_string()),
                    RData::AAAA(a) => Some(a.to_string()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
        ),
        Probed::Failed(r) => Probed::Failed(r),
        Probed::Skipped(r) => Probed::Skipped(r),
    };
    let (mut a, nx_a) = lookup(cx, resolver, subject, &name, RecordType::A).await;
    let (mut aaaa, nx_aaaa) = lookup(cx, resolver, subject, &name, RecordType::AAAA).await;
    let nxdomain = nx_a && nx_aaaa;
    // No address and no NXDOMAIN: the resolver may have given up on a CNAME chain. Walk it to
    // say why (a loop is an error of the zone, not "no records").
    let empty = |set: &Probed<Vec<RData>>| matches!(set, Probed::Observed(l) if l.is_empty());
    if !nxdomain
        && empty(&a)
        && empty(&aaaa)
        && let Some(reason) = broken_cname_chain(cx, resolver, subject, &name).await
    {
        a = Probed::Failed(reason.clone());
        aaaa = Probed::Failed(reason);
    }

    // RFC 8659 §3: the relevant set is the first non-empty one climbing from the name.
    let mut caa = DnsCaa::default();
    let mut failed: Option<String> = None;
    if a.is_failed() && aaaa.is_failed() {
        failed = Some(format!(
            "{subject}: CAA {name}: not asked, the nameserver did not answer A/AAAA"
        ));
    } else {
        let labels: Vec<&str> = name.split('.').collect();
        for start in 0..labels.len().saturating_sub(1) {
            let at = labels[start..].join(".");
            caa.checked.push(at.clone());
            match lookup(cx, resolver, subject, &at, RecordType::CAA).await {
                (Probed::Observed(records), _) if !records.is_empty() => {
                    caa.found_at = Some(at);
                    caa.records = records.iter().map(|r| r.to_string()).collect();
                    break;
                }
                (Probed::Failed(reason), _) => {
                    failed = Some(reason);
                    break;
                }
                _ => {}
            }
        }
    }
    DnsName {
        name,
        a: addresses(a),
        aaaa: addresses(aaaa),
        nxdomain,
        caa: match failed {
            Some(reason) => Probed::Failed(reason),
            None => Probed::Observed(caa),
        },
    }
}

/// The most CNAME hops followed when explaining an empty answer (the resolver's own limit).
const MAX_CNAME_HOPS: usize = 8;

/// Follows the CNAME chain from `name` one query at a time; returns why it cannot end in an
/// address (a loop, or more than [`MAX_CNAME_HOPS`] hops), or `None` when it ends normally.
async fn broken_cname_chain(
    cx: &ProbeCx,
    resolver: &TokioResolver,
    subject: &str,
    name: &str,
) -> Option<String> {
    let mut chain = vec![name.to_ascii_lowercase()];
    for _ in 0..MAX_CNAME_HOPS {
        let current = chain.last()?.clone();
        let (records, _) = lookup(cx, resolver, subject, &current, RecordType::CNAME).await;
        let next = match records {
            Probed::Observed(list) => list.iter().find_map(|r| match r {
                RData::CNAME(target) => Some(
                    target
                        .0
                        .to_ascii()
                        .trim_end_matches('.')
                        .to_ascii_lowercase(),
                ),
                _ => None,
            })?,
            _ => return None,
        };
        let looped = chain.contains(&next);
        chain.push(next);
        if looped {
            return Some(format!(
                "{subject}: {name}: CNAME loop ({}): the name cannot resolve",
                chain.join(" → ")
            ));
        }
    }
    Some(format!(
        "{subject}: {name}: CNAME chain longer than {MAX_CNAME_HOPS} hops ({} → …)",
        chain.join(" → ")
    ))
}

/// Names that never resolve on the public DNS (RFC 6761/6762 special-use names): the target's
/// host is not looked up through the system resolver when it is one of these.
pub fn is_special_use(name: &str) -> bool {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let last = name.rsplit('.').next().unwrap_or_default();
    name == "localhost"
        || matches!(
            last,
            "localhost" | "test" | "invalid" | "example" | "local" | "internal" | "home" | "lan"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_use_names() {
        assert!(is_special_use("localhost"));
        assert!(is_special_use("app.test."));
        assert!(is_special_use("db.internal"));
        assert!(!is_special_use("app.example.com"));
        assert_eq!(fqdn("app.test"), "app.test.");
        assert_eq!(fqdn("app.test."), "app.test.");
    }
}
