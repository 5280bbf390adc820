//! DNS records of the audited names.

use serde::{Deserialize, Serialize};

use super::Probed;

/// What DNS said about the audited names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsObservation {
    /// `system resolver` or the nameserver address asked.
    pub nameserver: String,
    /// Each name resolved.
    pub names: Vec<DnsName>,
}

/// The records of one name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsName {
    /// The name as configured (no trailing dot).
    pub name: String,
    /// IPv4 addresses (empty: no A records).
    pub a: Probed<Vec<String>>,
    /// IPv6 addresses (empty: no AAAA records).
    pub aaaa: Probed<Vec<String>>,
    /// True when the nameserver said the name does not exist (NXDOMAIN).
    pub nxdomain: bool,
    /// The CAA set that governs the name.
    pub caa: Probed<DnsCaa>,
}

impl DnsName {
    /// Every address found, IPv4 first.
    pub fn addresses(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for set in [&self.a, &self.aaaa] {
            if let Probed::Observed(list) = set {
                out.extend(list.iter().map(String::as_str));
            }
        }
        out
    }
}

/// The relevant CAA record set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DnsCaa {
    /// The name the set was found at (`None`: no CAA anywhere up the tree).
    pub found_at: Option<String>,
    /// The records (`0 issue "letsencrypt.org"`).
    pub records: Vec<String>,
    /// The names asked, in order.
    pub checked: Vec<String>,
}
