//! Value forms every config section shares: http(s) URLs, `env:NAME` values, nameserver and
//! `host:port` addresses, and the error saying which form a value missed.
//!
//! A leaf of `config`: the section modules ([`super::dependencies`], [`super::fault`],
//! [`super::kubernetes`]) and [`super::load`] all use these, so they live below all of them
//! rather than in one section that the others would import (which made `load` and the
//! sections import each other). Nothing here knows a field path: the caller wraps a
//! [`ValueError`] into a [`ConfigError`] naming the field.

use std::net::{IpAddr, SocketAddr};

use super::ConfigError;
use crate::redact;

/// A value that does not have the form its field takes. The message says the expected form and
/// shows the value with any password masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not a URL at all.
    #[error("expected an http:// or https:// URL, got {shown:?} ({reason})")]
    UnparsableUrl {
        /// The value, password masked.
        shown: String,
        /// What the URL parser said.
        reason: String,
    },
    /// A URL, but not an absolute http(s) one with a host.
    #[error("expected an http:// or https:// URL, got {shown:?}")]
    NotHttpUrl {
        /// The value, password masked.
        shown: String,
    },
    /// A connection URL that does not parse (`hint` is ` (<parser message>)` or empty).
    #[error("expected {expected}, got {shown:?}{hint}")]
    UnparsableDsn {
        /// The accepted schemes, in words (`postgres:// or postgresql://`).
        expected: &'static str,
        /// The value, password masked.
        shown: String,
        /// The parser's message in parentheses when the value looks like a URL, else empty.
        hint: String,
    },
    /// A connection URL with another scheme.
    #[error("expected {expected}, got {shown:?}")]
    WrongScheme {
        /// The accepted schemes, in words.
        expected: &'static str,
        /// The value, password masked.
        shown: String,
    },
    /// A connection URL without a host.
    #[error("expected {expected} with a host, got {shown:?}")]
    NoHost {
        /// The accepted schemes, in words.
        expected: &'static str,
        /// The value, password masked.
        shown: String,
    },
    /// A command-line URL that is neither the HTTP target nor a known dependency.
    #[error(
        "expected an http:// or https:// target, or a dependency URL ({schemes}), got {shown:?}"
    )]
    UnknownUrlScheme {
        /// The accepted dependency schemes.
        schemes: &'static str,
        /// The value, password masked.
        shown: String,
    },
    /// Not `ip`, `ip:port` or `[v6]:port`.
    #[error(
        "expected an IP address with an optional port (\"10.0.0.2\", \"127.0.0.1:5353\"), got {raw:?}"
    )]
    Nameserver {
        /// The value.
        raw: String,
    },
    /// Not `host:port` with a non-zero port.
    #[error("expected host:port, got {raw:?}")]
    HostPort {
        /// The value.
        raw: String,
    },
    /// Not a DNS name.
    #[error("expected a DNS name like \"app.example.com\", got {raw:?}")]
    DnsName {
        /// The value.
        raw: String,
    },
    /// Not a duration.
    #[error("expected a duration like \"60s\" or \"500ms\", got {raw:?}")]
    Duration {
        /// The value.
        raw: String,
    },
    /// An empty value where text is required.
    #[error("is empty")]
    Empty,
}

/// Accepts only absolute http(s) URLs with a host.
pub fn validate_http_url(raw: &str) -> Result<url::Url, ValueError> {
    let shown = redact::url_str(raw);
    let parsed = url::Url::parse(raw.trim()).map_err(|e| ValueError::UnparsableUrl {
        shown: shown.clone(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ValueError::NotHttpUrl { shown });
    }
    Ok(parsed)
}

/// Resolves a value that may be `env:NAME`; `field` names it in the error.
pub fn resolve_env(value: &str, origin: &str, field: &str) -> Result<String, ConfigError> {
    match value.strip_prefix("env:") {
        Some(name) => std::env::var(name).map_err(|_| {
            ConfigError::field(
                origin,
                field,
                format!("environment variable {name} is not set (the value says env:{name})"),
            )
        }),
        None => Ok(value.to_string()),
    }
}

/// True for a usable environment variable name (letters, digits, `_`; not empty): the form
/// every `*token_env` key takes.
pub(crate) fn is_env_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `ip`, `ip:port` or `[v6]:port`.
pub fn parse_nameserver(raw: &str) -> Result<SocketAddr, ValueError> {
    let raw = raw.trim();
    if let Ok(addr) = raw.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = raw
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(ValueError::Nameserver {
        raw: raw.to_string(),
    })
}

/// Checks `host:port` (a name or an IP literal, a non-zero port).
pub fn parse_host_port(raw: &str) -> Result<(String, u16), ValueError> {
    let bad = || ValueError::HostPort {
        raw: raw.to_string(),
    };
    let (host, port) = raw.trim().rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}
