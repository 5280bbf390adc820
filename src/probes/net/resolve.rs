//! One resolver per run, with a cache that keeps every answer — addresses, "no such name", even
//! a resolver failure — until the run ends.
//!
//! Without it each probe resolved the target again (96 queries for one unresolvable name in one
//! audit): an audit of ~100 requests must ask DNS about its host once. hickory's own cache does
//! not merge lookups that are in flight at the same moment (the passive phase starts dozens of
//! requests at once), so each name gets a [`OnceCell`] here: the first caller asks, the others
//! wait for its answer.
//!
//! `localhost` and `*.localhost` are loopback without asking anyone (RFC 6761 §6.3), and IP
//! literals are never looked up. With configured nameservers (`run.nameservers`) the hosts file
//! is not read, so an answer is what those servers said; otherwise the system's configuration
//! (`/etc/resolv.conf`, `/etc/hosts`) applies.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::OnceCell;

/// The answer kept for one name: its addresses, or why there are none.
type Answer = Result<Arc<Vec<IpAddr>>, ResolveError>;

/// Why a name has no addresses: the name (or the resolver) and the fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The system's resolver configuration (`/etc/resolv.conf`) could not be read.
    #[error("the system resolver configuration cannot be read: {0}")]
    SystemConfig(String),
    /// The resolver could not be built from its configuration.
    #[error("cannot set up the resolver: {0}")]
    Setup(String),
    /// DNS says the name does not exist.
    #[error("{name}: no such name (NXDOMAIN)")]
    NoSuchName {
        /// The name asked for, lowercased, without the trailing dot.
        name: String,
    },
    /// The name exists but has no A or AAAA records.
    #[error("{name}: no address records")]
    NoRecords {
        /// The name asked for.
        name: String,
    },
    /// The lookup failed (timeout, refused, unreachable nameserver).
    #[error("{name}: cannot resolve: {reason}")]
    Failed {
        /// The name asked for.
        name: String,
        /// The resolver's error chain.
        reason: String,
    },
}

/// The run's resolver (see the module doc).
#[derive(Debug)]
pub struct RunResolver {
    resolver: Result<TokioResolver, ResolveError>,
    answers: Mutex<HashMap<String, Arc<OnceCell<Answer>>>>,
    /// Lookups that went to DNS (one per name per run), for the report's scope and the tests.
    lookups: std::sync::atomic::AtomicU64,
}

impl RunResolver {
    /// A resolver asking `nameservers` (empty: the system configuration), each query bounded by
    /// `timeout`.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> RunResolver {
        RunResolver {
            resolver: build(nameservers, timeout),
            answers: Mutex::new(HashMap::new()),
            lookups: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The addresses of `host` (a name, an IP literal, or `[v6]`), from the cache when this run
    /// asked before.
    pub async fn lookup(&self, host: &str) -> Answer {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(Arc::new(vec![ip]));
        }
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") {
            return Ok(Arc::new(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]));
        }
        let cell = {
            let mut answers = self
                .answers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            answers.entry(name.clone()).or_default().clone()
        };
        cell.get_or_init(|| self.ask(&name)).await.clone()
    }

    /// How many names this run sent to DNS.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn ask(&self, name: &str) -> Answer {
        let resolver = self.resolver.as_ref().map_err(Clone::clone)?;
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Fully qualified: the name as written, no search domain appended to a dotted name.
        let query = if name.contains('.') {
            format!("{name}.")
        } else {
            name.to_string()
        };
        match resolver.lookup_ip(query.as_str()).await {
            Ok(found) => {
                let ips: Vec<IpAddr> = found.iter().collect();
                if ips.is_empty() {
                    Err(ResolveError::NoRecords {
                        name: name.to_string(),
                    })
                } else {
                    Ok(Arc::new(ips))
                }
            }
            Err(e) if e.is_nx_domain() => Err(ResolveError::NoSuchName {
                name: name.to_string(),
            }),
            Err(e) if e.is_no_records_found() => Err(ResolveError::NoRecords {
                name: name.to_string(),
            }),
            Err(e) => Err(ResolveError::Failed {
                name: name.to_string(),
                reason: super::super::error_chain(&e),
            }),
        }
    }
}

fn build(nameservers: &[SocketAddr], timeout: Duration) -> Result<TokioResolver, ResolveError> {
    let mut builder = if nameservers.is_empty() {
        Resolver::builder_tokio().map_err(|e| ResolveError::SystemConfig(e.to_string()))?
    } else {
        let servers = nameservers
            .iter()
            .map(|addr| {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut ns.connections {
                    connection.port = addr.port();
                }
                ns
            })
            .collect();
        Resolver::builder_with_config(
            ResolverConfig::from_name_servers(servers),
            TokioRuntimeProvider::default(),
        )
    };
    // The system's options (ndots, search domains) stay; only the time bounds change.
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.timeout = timeout.clamp(Duration::from_millis(100), Duration::from_secs(5));
    opts.attempts = 2;
    if !nameservers.is_empty() {
        opts.use_hosts_file = ResolveHosts::Never;
    }
    builder
        .build()
        .map_err(|e| ResolveError::Setup(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_and_localhost_are_never_looked_up() {
        // A nameserver nobody listens on: any query would fail.
        let dead: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let r = RunResolver::new(&[dead], Duration::from_millis(200));
        assert_eq!(
            *r.lookup("127.0.0.2").await.unwrap(),
            vec!["127.0.0.2".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            *r.lookup("[::1]").await.unwrap(),
            vec!["::1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(r.lookup("LocalHost").await.unwrap().len(), 2);
        assert_eq!(r.lookup("app.localhost.").await.unwrap().len(), 2);
        assert_eq!(r.lookups(), 0);
    }

    #[tokio::test]
    async fn a_failed_lookup_is_kept_for_the_run() {
        let dead: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let r = RunResolver::new(&[dead], Duration::from_millis(200));
        let first = r.lookup("nothing.invalid").await;
        let second = r.lookup("NOTHING.invalid.").await;
        assert!(first.is_err());
        assert_eq!(first, second);
        assert_eq!(r.lookups(), 1);
    }
}
