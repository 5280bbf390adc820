//! CORS, protected routes, JWKS, forged tokens and configured mutations (CSRF, idempotency).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{HttpExchange, Probed};

/// The foreign origin every probe claims to come from.
pub const FOREIGN_ORIGIN: &str = "https://evil.example";

/// Which `Origin` a CORS probe sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginVariant {
    /// The target's own origin (shows whether an allow-list echoes with `Vary: Origin`).
    Own,
    /// `https://evil.example`.
    Foreign,
    /// `Origin: null` (sandboxed iframes, `file:` pages).
    Null,
    /// `https://<host>.evil.example`: an unanchored prefix match allows it.
    Suffix,
    /// `https://evil<host>`: an unanchored suffix match allows it.
    Prefix,
    /// `http://<host>`: the target's origin downgraded to plain HTTP.
    Scheme,
    /// A preflight `OPTIONS` from the foreign origin asking for `PUT`.
    Preflight,
}

impl OriginVariant {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            OriginVariant::Own => "own origin",
            OriginVariant::Foreign => "foreign origin",
            OriginVariant::Null => "null origin",
            OriginVariant::Suffix => "look-alike (host as subdomain of another domain)",
            OriginVariant::Prefix => "look-alike (host with a prefix)",
            OriginVariant::Scheme => "look-alike (plain-http origin)",
            OriginVariant::Preflight => "preflight for PUT from a foreign origin",
        }
    }
}

/// One CORS request and what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorsProbe {
    /// The API path.
    pub path: String,
    /// Which origin was sent.
    pub variant: OriginVariant,
    /// The `Origin` header value sent.
    pub origin: String,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}

/// A protected route requested without credentials (with the foreign `Origin`, so its CORS
/// headers are seen too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectedProbe {
    /// The configured route.
    pub path: String,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}

/// The identity provider's published keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JwksObservation {
    /// The discovery document's URL, when one was found.
    pub discovery_url: Option<String>,
    /// Where the JWKS was fetched.
    pub jwks_url: String,
    /// The JWKS document as received (parsed JSON).
    pub jwks: Value,
}

/// Which forged token was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgeryVariant {
    /// `{"alg":"none"}` with an empty signature.
    AlgNone,
    /// HS256 keyed with the JWKS's RSA public key (PEM) or certificate: key confusion.
    Hs256PublicKey,
    /// The configured valid token with its payload changed and its signature kept.
    Tampered,
    /// Claims with `exp` an hour in the past, unsigned (`alg: none`).
    Expired,
}

impl ForgeryVariant {
    /// Words for evidence lines.
    pub fn describe(self) -> &'static str {
        match self {
            ForgeryVariant::AlgNone => "alg:none token",
            ForgeryVariant::Hs256PublicKey => "HS256 token signed with the JWKS public key",
            ForgeryVariant::Tampered => "valid token with a tampered payload",
            ForgeryVariant::Expired => "expired token (exp one hour ago)",
        }
    }
}

/// One forged token and what the protected route answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForgedRequest {
    /// The variant.
    pub variant: ForgeryVariant,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}

/// The JWT forgery run against one protected route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JwtForgery {
    /// The protected route.
    pub path: String,
    /// Its status without any token (from the passive probe), if observed.
    pub baseline_status: Option<u16>,
    /// The tokens sent.
    pub sent: Vec<ForgedRequest>,
    /// Variants not sent, with the reason (no JWKS key, no valid token configured).
    pub not_sent: Vec<(ForgeryVariant, String)>,
}

/// One configured mutation sent by an active probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationProbe {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// What came back.
    pub exchange: Probed<HttpExchange>,
}
