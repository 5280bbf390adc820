//! Validating `[dependencies]`: each URL's scheme and host, the management API's credentials,
//! DNS names and the nameserver, before and after `env:NAME` values are resolved.

use url::Url;

use super::DependenciesConfig;
use crate::config::ConfigError;
use crate::config::value::{ValueError, parse_nameserver};
use crate::redact;

/// True when a value is read from the environment later (`env:NAME`).
fn is_env(value: &str) -> bool {
    value.starts_with("env:")
}

/// Validates the section. Before resolution (`resolved = false`) `env:NAME` values are only
/// checked for a variable name; after it every value must have its final form.
pub fn validate(
    deps: &DependenciesConfig,
    origin: &str,
    resolved: bool,
) -> Result<(), ConfigError> {
    let check = |field: &str, value: &str, f: &dyn Fn(&str) -> Result<(), ValueError>| {
        if !resolved && is_env(value) {
            if value.len() == 4 {
                return Err(ConfigError::field(
                    origin,
                    field,
                    "expected env:NAME with a variable name",
                ));
            }
            return Ok(());
        }
        f(value).map_err(|m| ConfigError::field(origin, field, m.to_string()))
    };
    if let Some(v) = &deps.postgres {
        check("dependencies.postgres", v, &|v| {
            dsn(
                v,
                &["postgres", "postgresql"],
                "postgres:// or postgresql://",
            )
            .map(|_| ())
        })?;
    }
    if let Some(v) = &deps.mysql {
        check("dependencies.mysql", v, &|v| {
            dsn(v, &["mysql", "mariadb"], "mysql:// or mariadb://").map(|_| ())
        })?;
    }
    if let Some(r) = &deps.redis {
        check(r.url_field(), &r.url, &|v| {
            dsn(v, &["redis", "rediss"], "redis:// or rediss://").map(|_| ())
        })?;
    }
    if let Some(v) = &deps.rabbitmq {
        check("dependencies.rabbitmq", v, &|v| {
            dsn(v, &["amqp", "amqps"], "amqp:// or amqps://").map(|_| ())
        })?;
    }
    if let Some(m) = &deps.rabbitmq_management {
        check("dependencies.rabbitmq_management.url", &m.url, &|v| {
            dsn(v, &["http", "https"], "http:// or https://").map(|_| ())
        })?;
        if m.username.is_some() != m.password.is_some() {
            return Err(ConfigError::field(
                origin,
                "dependencies.rabbitmq_management",
                "set both username and password, or neither (then the rabbitmq URL's are used)",
            ));
        }
        if let Some(u) = &m.username {
            check("dependencies.rabbitmq_management.username", u, &|v| {
                if v.trim().is_empty() {
                    Err(ValueError::Empty)
                } else {
                    Ok(())
                }
            })?;
        }
        if let Some(p) = &m.password {
            check("dependencies.rabbitmq_management.password", p, &|_| Ok(()))?;
        }
        if m.username.is_none() && deps.rabbitmq.is_none() {
            return Err(ConfigError::field(
                origin,
                "dependencies.rabbitmq_management",
                "no credentials: set username and password, or dependencies.rabbitmq with a user",
            ));
        }
    }
    if let Some(dns) = &deps.dns {
        if let Some(ns) = &dns.nameserver {
            check("dependencies.dns.nameserver", ns, &|v| {
                parse_nameserver(v).map(|_| ())
            })?;
        }
        for name in &dns.names {
            check("dependencies.dns.names", name, &|v| dns_name(v))?;
        }
    }
    Ok(())
}

/// Parses a connection URL with one of `schemes` and a host; the message shows the value with
/// its password masked.
fn dsn(raw: &str, schemes: &[&str], expected: &'static str) -> Result<Url, ValueError> {
    let shown = shown(raw.trim());
    let parsed = match Url::parse(raw.trim()) {
        Ok(url) => url,
        Err(e) => {
            let hint = if raw.contains("://") {
                format!(" ({e})")
            } else {
                String::new()
            };
            return Err(ValueError::UnparsableDsn {
                expected,
                shown,
                hint,
            });
        }
    };
    if !schemes.contains(&parsed.scheme()) {
        return Err(ValueError::WrongScheme { expected, shown });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ValueError::NoHost { expected, shown });
    }
    Ok(parsed)
}

/// The value as written, unless it carries a password (then masked).
pub(super) fn shown(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(parsed) if parsed.password().is_none() => raw.to_string(),
        _ => redact::url_str(raw),
    }
}

/// Accepts a DNS name (letters, digits, hyphens, dots; a trailing dot allowed).
fn dns_name(raw: &str) -> Result<(), ValueError> {
    let name = raw.trim().trim_end_matches('.');
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(ValueError::DnsName {
            raw: raw.to_string(),
        })
    }
}
