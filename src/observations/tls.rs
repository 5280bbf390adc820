//! The TLS handshake (chain, verdict, version) and the legacy-version probes.

use serde::{Deserialize, Serialize};

use super::Probed;

/// What one TLS handshake saw: serialisable and replayable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsHandshake {
    /// The name the handshake verified against (host name or IP literal).
    pub server_name: String,
    /// The port.
    pub port: u16,
    /// Negotiated protocol version (`TLS 1.3`, `TLS 1.2`).
    pub version: String,
    /// Negotiated cipher suite (`TLS13_AES_256_GCM_SHA384`).
    pub cipher_suite: String,
    /// Negotiated ALPN protocol (`h2`, `http/1.1`), if any.
    pub alpn: Option<String>,
    /// The chain as the server sent it, leaf first.
    pub chain: Vec<CertificateInfo>,
    /// What the webpki verifier (web roots plus the user's extra anchors) said of the chain.
    pub verification: Verification,
    /// Wall-clock time of the handshake, unix seconds (the judge's "now").
    pub observed_at_unix: i64,
}

/// One certificate of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// Subject distinguished name (`CN=app.example.com`).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Subject alternative names: DNS names and IP addresses.
    pub sans: Vec<String>,
    /// Start of validity, unix seconds.
    pub not_before: i64,
    /// End of validity, unix seconds.
    pub not_after: i64,
    /// Public key algorithm (`RSA`, `EC`, `Ed25519`, or the OID).
    pub key_type: String,
    /// Public key size in bits (0 when unknown).
    pub key_bits: u32,
    /// True when subject and issuer are the same name.
    pub self_signed: bool,
}

/// The certificate verifier's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// True when the chain is trusted for this name at handshake time.
    pub trusted: bool,
    /// The verifier's error when not trusted.
    pub error: Option<String>,
}

/// A legacy protocol version the probe can offer with a hand-written ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegacyVersion {
    /// TLS 1.0 (RFC 2246), wire version 0x0301.
    Tls10,
    /// TLS 1.1 (RFC 4346), wire version 0x0302.
    Tls11,
}

impl LegacyVersion {
    /// The wire version bytes.
    pub fn wire(self) -> [u8; 2] {
        match self {
            LegacyVersion::Tls10 => [0x03, 0x01],
            LegacyVersion::Tls11 => [0x03, 0x02],
        }
    }

    /// `TLS 1.0` / `TLS 1.1`.
    pub fn name(self) -> &'static str {
        match self {
            LegacyVersion::Tls10 => "TLS 1.0",
            LegacyVersion::Tls11 => "TLS 1.1",
        }
    }
}

/// What the server answered to a ClientHello pinned to a legacy version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyProbe {
    /// The version offered.
    pub version: LegacyVersion,
    /// True when the server answered with a ServerHello for exactly that version.
    pub accepted: bool,
    /// The answer in words (`ServerHello TLS 1.0, cipher 0xc014`, `alert protocol_version (70)`).
    pub answer: String,
}

/// Everything the TLS probes saw for the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsObservation {
    /// The full handshake with the modern (TLS 1.2/1.3) client. It can fail while a legacy probe
    /// succeeds: a server that only speaks TLS 1.0 is still judged by `tls.protocols`.
    pub handshake: Probed<TlsHandshake>,
    /// One probe per legacy version (TLS 1.0, TLS 1.1).
    pub legacy: Vec<(LegacyVersion, Probed<LegacyProbe>)>,
}
