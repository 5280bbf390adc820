//! What a probe is pointed at: the target's base URL and the configuration, and the trust
//! anchors the handshake probes use. The engine builds one from its audit; probes never see the
//! audit itself (its headers and redactor reach them through [`super::ProbeCx`]).

use rustls_pki_types::CertificateDer;
use url::Url;

use crate::config::Config;

/// The target of one audit, as the probes see it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The target's base URL (`dependencies:` for a dependency-only audit).
    pub target: &'a Url,
    /// The validated configuration; each probe reads its own section.
    pub config: &'a Config,
    /// Extra trust anchors (from `run.ca_file`, or the demo's CA).
    pub extra_roots: &'a [CertificateDer<'static>],
}

impl Target<'_> {
    /// True when there is no HTTP target and only the configured dependencies are audited.
    pub fn is_dependency_only(&self) -> bool {
        !matches!(self.target.scheme(), "http" | "https")
    }
}

/// Joins a path onto the target (on the observation floor: packs and probes use it alike).
pub use crate::observations::http::join_path;
