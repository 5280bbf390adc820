//! `[dependencies]`: the databases, cache, broker and DNS names the audited system depends on.
//!
//! Each entry is optional; a dependency that is not configured is not probed and its checks are
//! reported as `skipped` ("no postgres configured"), so leaving one out never lowers a score.
//!
//! ```toml
//! [dependencies]
//! postgres = "env:DATABASE_URL"     # postgres://user:password@host:5432/db?sslmode=require
//! mysql = "mysql://readyprobe:secret@mysql.internal:3306/app"
//! redis = "redis://:secret@cache.internal:6379/0"                      # judged as role "cache"
//! # redis = { url = "rediss://…", role = "store" }                     # cache | store | queue
//! rabbitmq = "amqp://readyprobe:secret@mq.internal:5672/%2f"
//! rabbitmq_management = { url = "http://mq.internal:15672", username = "readyprobe", password = "env:RABBIT_PW" }
//!
//! allow_cleartext_password = false  # default: never answer a cleartext-password request on
//!                                   # an unencrypted PostgreSQL/MySQL connection
//!
//! [dependencies.dns]
//! nameserver = "10.0.0.2:53"     # default: the system resolver
//! names = ["app.example.com"]    # default: the target's host
//! ```
//!
//! Any value may be `env:NAME` (the whole value, read from the environment when the audit is
//! built). Values are secrets: they are never echoed back in error messages with their password,
//! `Debug` masks them, and [`DependenciesConfig::secrets`] hands every password to the redactor.
//! This module only parses and validates; it must not connect anywhere.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use super::ConfigError;
use super::load::resolve_env;
use crate::redact;
// Moved to the observation floor: the Redis observation records the role it was judged for.
pub use crate::observations::redis::RedisRole;

/// The `[dependencies]` section.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DependenciesConfig {
    /// PostgreSQL connection URL (`postgres://user:password@host:5432/db?sslmode=require`).
    pub postgres: Option<String>,
    /// MySQL/MariaDB connection URL (`mysql://user:password@host:3306/db`).
    pub mysql: Option<String>,
    /// Redis: a `redis://`/`rediss://` URL (judged as a cache), or a table with the role.
    pub redis: Option<RedisDependency>,
    /// RabbitMQ AMQP URL (`amqp://user:password@host:5672/vhost`).
    pub rabbitmq: Option<String>,
    /// RabbitMQ management HTTP API (queues, policies, channels, alarms).
    pub rabbitmq_management: Option<RabbitManagement>,
    /// DNS resolution of the target's names.
    pub dns: Option<DnsDependency>,
    /// Send the PostgreSQL/MySQL password when the server asks for it in cleartext
    /// (`AuthenticationCleartextPassword`, `mysql_clear_password`) over a connection that is not
    /// encrypted. Default `false`: the probe refuses, reports why, and the password never leaves
    /// the process — anyone on the path (or a machine impersonating the database) would read it.
    pub allow_cleartext_password: bool,
}

impl fmt::Debug for DependenciesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |v: &Option<String>| v.as_deref().map(redact::url_str);
        f.debug_struct("DependenciesConfig")
            .field("postgres", &shown(&self.postgres))
            .field("mysql", &shown(&self.mysql))
            .field("redis", &self.redis)
            .field("rabbitmq", &shown(&self.rabbitmq))
            .field("rabbitmq_management", &self.rabbitmq_management)
            .field("dns", &self.dns)
            .field("allow_cleartext_password", &self.allow_cleartext_password)
            .finish()
    }
}

/// `redis = "redis://…"` or `redis = { url = "redis://…", role = "store" }`.
#[derive(Clone, PartialEq, Serialize)]
pub struct RedisDependency {
    /// The `redis://` or `rediss://` URL (may be `env:NAME`).
    pub url: String,
    /// The declared role (default `cache`).
    pub role: RedisRole,
    /// True when written as a table (decides whether errors name `redis` or `redis.url`).
    #[serde(skip)]
    pub table: bool,
}

impl RedisDependency {
    /// The field path of the URL in error messages.
    pub fn url_field(&self) -> &'static str {
        if self.table {
            "dependencies.redis.url"
        } else {
            "dependencies.redis"
        }
    }
}

impl fmt::Debug for RedisDependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDependency")
            .field("url", &redact::url_str(&self.url))
            .field("role", &self.role)
            .finish()
    }
}

impl schemars::JsonSchema for RedisDependency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RedisDependency".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let role = generator.subschema_for::<RedisRole>();
        schemars::json_schema!({
            "description": "A redis:// or rediss:// URL (judged as a cache), or a table with the role.",
            "anyOf": [
                { "type": "string", "description": "redis://… or rediss://… (or env:NAME)" },
                {
                    "type": "object",
                    "properties": {
                        "url": { "type": "string", "description": "redis://… or rediss://… (or env:NAME)" },
                        "role": role,
                    },
                    "required": ["url"],
                    "additionalProperties": false,
                },
            ],
        })
    }
}

impl<'de> Deserialize<'de> for RedisDependency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            url: String,
            #[serde(default)]
            role: RedisRole,
        }
        struct RedisVisitor;
        impl<'de> Visitor<'de> for RedisVisitor {
            type Value = RedisDependency;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a redis:// URL or a table { url = \"redis://…\", role = \"cache\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RedisDependency {
                    url: v.to_string(),
                    role: RedisRole::Cache,
                    table: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RedisDependency {
                    url: t.url,
                    role: t.role,
                    table: true,
                })
            }
        }
        d.deserialize_any(RedisVisitor)
    }
}

/// `rabbitmq_management = { url = "http://host:15672", username = "…", password = "env:…" }`.
#[derive(Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RabbitManagement {
    /// Base URL of the management API (`http://host:15672`, a path prefix is kept).
    pub url: String,
    /// User for the API; default: the user of `dependencies.rabbitmq`.
    #[serde(default)]
    pub username: Option<String>,
    /// Password for the API; default: the password of `dependencies.rabbitmq`.
    #[serde(default)]
    pub password: Option<String>,
}

impl fmt::Debug for RabbitManagement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RabbitManagement")
            .field("url", &redact::url_str(&self.url))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| redact::MASK))
            .finish()
    }
}

/// `[dependencies.dns]`: where and what to resolve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DnsDependency {
    /// `ip` or `ip:port` of the nameserver to ask (default: the system resolver).
    pub nameserver: Option<String>,
    /// Names to resolve (default: the target's host).
    pub names: Vec<String>,
}

impl DnsDependency {
    /// The nameserver as a socket address (port 53 when none is given), if one is configured.
    pub fn nameserver_addr(&self) -> Option<SocketAddr> {
        self.nameserver
            .as_deref()
            .and_then(|s| parse_nameserver(s).ok())
    }
}

/// Parses `ip`, `ip:port` or `[v6]:port`.
pub fn parse_nameserver(raw: &str) -> Result<SocketAddr, String> {
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
    Err(format!(
        "expected an IP address with an optional port (\"10.0.0.2\", \"127.0.0.1:5353\"), got {raw:?}"
    ))
}

/// The schemes `readyprobe audit` accepts as dependency URLs on its command line.
pub const DEPENDENCY_SCHEMES: &str =
    "postgres://, postgresql://, mysql://, mariadb://, redis://, rediss://, amqp://, amqps://";

impl DependenciesConfig {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        *self == DependenciesConfig::default()
    }

    /// True when at least one dependency that a dependency-only audit can inspect is set
    /// (PostgreSQL, MySQL, Redis, RabbitMQ or its management API; DNS alone needs a target).
    pub fn has_services(&self) -> bool {
        self.postgres.is_some()
            || self.mysql.is_some()
            || self.redis.is_some()
            || self.rabbitmq.is_some()
            || self.rabbitmq_management.is_some()
    }

    /// Puts a dependency URL given on the command line into its slot, replacing the config's
    /// (a Redis role set in the config is kept). Returns `Ok(false)` for an `http(s)://` URL,
    /// which is the HTTP target, not a dependency; the error names the accepted schemes and
    /// never shows the URL's password.
    pub fn take_url(&mut self, raw: &str) -> Result<bool, String> {
        let scheme = raw
            .trim()
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        let url = raw.trim().to_string();
        match scheme.as_deref() {
            Some("http" | "https") => return Ok(false),
            Some("postgres" | "postgresql") => self.postgres = Some(url),
            Some("mysql" | "mariadb") => self.mysql = Some(url),
            Some("redis" | "rediss") => {
                let previous = self.redis.take();
                self.redis = Some(RedisDependency {
                    url,
                    role: previous.as_ref().map_or(RedisRole::Cache, |r| r.role),
                    table: previous.is_some_and(|r| r.table),
                });
            }
            Some("amqp" | "amqps") => self.rabbitmq = Some(url),
            _ => {
                return Err(format!(
                    "expected an http:// or https:// target, or a dependency URL ({DEPENDENCY_SCHEMES}), got {:?}",
                    shown(raw.trim())
                ));
            }
        }
        Ok(true)
    }

    /// The configured dependency URLs, passwords masked, in a stable order: what a
    /// dependency-only audit names as its target.
    pub fn shown_urls(&self) -> Vec<String> {
        [
            self.postgres.as_deref(),
            self.mysql.as_deref(),
            self.redis.as_ref().map(|r| r.url.as_str()),
            self.rabbitmq.as_deref(),
            self.rabbitmq_management.as_ref().map(|m| m.url.as_str()),
        ]
        .into_iter()
        .flatten()
        .map(redact::url_str)
        .collect()
    }

    /// A copy with every `env:NAME` value read from the environment, then validated; errors name
    /// the field (`dependencies.redis: environment variable REDIS_URL is not set …`).
    pub fn resolve(&self, origin: &str) -> Result<DependenciesConfig, ConfigError> {
        let env = |value: &str, field: &str| -> Result<String, ConfigError> {
            let resolved = resolve_env(value, origin, field)?;
            if resolved.trim().is_empty() {
                return Err(ConfigError::field(origin, field, "is empty"));
            }
            Ok(resolved)
        };
        let mut out = self.clone();
        if let Some(v) = &self.postgres {
            out.postgres = Some(env(v, "dependencies.postgres")?);
        }
        if let Some(v) = &self.mysql {
            out.mysql = Some(env(v, "dependencies.mysql")?);
        }
        if let Some(r) = &self.redis {
            out.redis = Some(RedisDependency {
                url: env(&r.url, r.url_field())?,
                ..r.clone()
            });
        }
        if let Some(v) = &self.rabbitmq {
            out.rabbitmq = Some(env(v, "dependencies.rabbitmq")?);
        }
        if let Some(m) = &self.rabbitmq_management {
            out.rabbitmq_management = Some(RabbitManagement {
                url: env(&m.url, "dependencies.rabbitmq_management.url")?,
                username: match &m.username {
                    Some(u) => Some(env(u, "dependencies.rabbitmq_management.username")?),
                    None => None,
                },
                password: match &m.password {
                    Some(p) => Some(resolve_env(
                        p,
                        origin,
                        "dependencies.rabbitmq_management.password",
                    )?),
                    None => None,
                },
            });
        }
        if let Some(dns) = &self.dns {
            out.dns = Some(DnsDependency {
                nameserver: match &dns.nameserver {
                    Some(n) => Some(env(n, "dependencies.dns.nameserver")?),
                    None => None,
                },
                names: dns
                    .names
                    .iter()
                    .map(|n| env(n, "dependencies.dns.names"))
                    .collect::<Result<_, _>>()?,
            });
        }
        validate(&out, origin, true)?;
        Ok(out)
    }

    /// Every password in the (resolved) section, raw and percent-decoded, for the redactor.
    ///
    /// RabbitMQ's shipped default password `guest` is left out: it is public, and masking that
    /// word everywhere would blank out the very finding (`rabbitmq.default_credentials`) that
    /// reports it. URLs still show it as `guest:***@`.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        let urls = [
            self.postgres.as_deref(),
            self.mysql.as_deref(),
            self.redis.as_ref().map(|r| r.url.as_str()),
            self.rabbitmq.as_deref(),
            self.rabbitmq_management.as_ref().map(|m| m.url.as_str()),
        ];
        for raw in urls.into_iter().flatten() {
            out.extend(url_password(raw));
        }
        if let Some(p) = self
            .rabbitmq_management
            .as_ref()
            .and_then(|m| m.password.as_ref())
        {
            out.push(p.clone());
        }
        out.retain(|s| !s.is_empty() && s != "guest");
        out.dedup();
        out
    }
}

/// The password of a URL as written and percent-decoded (both may appear in error text).
pub fn url_password(raw: &str) -> Vec<String> {
    let Ok(parsed) = Url::parse(raw.trim()) else {
        return Vec::new();
    };
    let Some(password) = parsed.password() else {
        return Vec::new();
    };
    let mut out = vec![password.to_string()];
    if let Ok(decoded) = percent_decode(password)
        && decoded != password
    {
        out.push(decoded);
    }
    out
}

/// Percent-decodes URL userinfo text.
pub fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

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
    let check = |field: &str, value: &str, f: &dyn Fn(&str) -> Result<(), String>| {
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
        f(value).map_err(|m| ConfigError::field(origin, field, m))
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
                    Err("is empty".to_string())
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
pub fn dsn(raw: &str, schemes: &[&str], expected: &str) -> Result<Url, String> {
    let shown = shown(raw.trim());
    let parsed = match Url::parse(raw.trim()) {
        Ok(url) => url,
        Err(e) => {
            let hint = if raw.contains("://") {
                format!(" ({e})")
            } else {
                String::new()
            };
            return Err(format!("expected {expected}, got {shown:?}{hint}"));
        }
    };
    if !schemes.contains(&parsed.scheme()) {
        return Err(format!("expected {expected}, got {shown:?}"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("expected {expected} with a host, got {shown:?}"));
    }
    Ok(parsed)
}

/// The value as written, unless it carries a password (then masked).
fn shown(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(parsed) if parsed.password().is_none() => raw.to_string(),
        _ => redact::url_str(raw),
    }
}

/// Accepts a DNS name (letters, digits, hyphens, dots; a trailing dot allowed).
fn dns_name(raw: &str) -> Result<(), String> {
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
        Err(format!(
            "expected a DNS name like \"app.example.com\", got {raw:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::from_str;
    use super::*;

    fn message(toml: &str) -> (String, String) {
        match from_str(toml, "t.toml") {
            Err(ConfigError::Field { field, message, .. }) => (field, message),
            Err(other) => panic!("expected a field error, got {other}"),
            Ok(_) => panic!("expected an error for {toml}"),
        }
    }

    #[test]
    fn redis_without_scheme_names_field_and_form() {
        let (field, msg) = message("[dependencies]\nredis = \"localhost:6379\"\n");
        assert_eq!(field, "dependencies.redis");
        assert_eq!(
            msg,
            "expected redis:// or rediss://, got \"localhost:6379\""
        );
    }

    #[test]
    fn redis_table_names_url_field_and_keeps_role() {
        let (field, msg) =
            message("[dependencies]\nredis = { url = \"http://x\", role = \"store\" }\n");
        assert_eq!(field, "dependencies.redis.url");
        assert!(msg.starts_with("expected redis:// or rediss://"), "{msg}");
        let ok = from_str(
            "[dependencies]\nredis = { url = \"redis://h:6379\", role = \"queue\" }\n",
            "t.toml",
        )
        .unwrap();
        let redis = ok.dependencies.redis.unwrap();
        assert_eq!(redis.role, RedisRole::Queue);
        assert!(redis.table);
    }

    #[test]
    fn redis_unknown_role_is_named() {
        let (field, msg) =
            message("[dependencies]\nredis = { url = \"redis://h\", role = \"db\" }\n");
        assert_eq!(field, "dependencies.redis.role");
        assert!(msg.contains("cache"), "{msg}");
    }

    #[test]
    fn postgres_with_wrong_scheme_masks_password() {
        let (field, msg) = message("[dependencies]\npostgres = \"mysql://app:hunter22@db/app\"\n");
        assert_eq!(field, "dependencies.postgres");
        assert!(
            msg.contains("expected postgres:// or postgresql://"),
            "{msg}"
        );
        assert!(msg.contains("app:***@db"), "{msg}");
        assert!(!msg.contains("hunter22"), "{msg}");
    }

    #[test]
    fn mysql_amqp_and_management_urls_are_checked() {
        let (field, _) = message("[dependencies]\nmysql = \"db:3306\"\n");
        assert_eq!(field, "dependencies.mysql");
        let (field, msg) = message("[dependencies]\nrabbitmq = \"http://mq:5672\"\n");
        assert_eq!(field, "dependencies.rabbitmq");
        assert_eq!(msg, "expected amqp:// or amqps://, got \"http://mq:5672\"");
        let (field, _) = message(
            "[dependencies]\nrabbitmq_management = { url = \"mq:15672\", username = \"u\", password = \"p\" }\n",
        );
        assert_eq!(field, "dependencies.rabbitmq_management.url");
    }

    #[test]
    fn management_needs_credentials_somewhere() {
        let (field, msg) =
            message("[dependencies]\nrabbitmq_management = { url = \"http://mq:15672\" }\n");
        assert_eq!(field, "dependencies.rabbitmq_management");
        assert!(msg.contains("no credentials"), "{msg}");
        let (_, msg) = message(
            "[dependencies]\nrabbitmq_management = { url = \"http://mq:15672\", username = \"u\" }\n",
        );
        assert!(msg.contains("both username and password"), "{msg}");
    }

    #[test]
    fn dns_nameserver_and_names_are_checked() {
        let (field, msg) = message("[dependencies.dns]\nnameserver = \"dns.local\"\n");
        assert_eq!(field, "dependencies.dns.nameserver");
        assert!(msg.contains("expected an IP address"), "{msg}");
        let (field, _) = message("[dependencies.dns]\nnames = [\"bad name\"]\n");
        assert_eq!(field, "dependencies.dns.names");
        let ok = from_str(
            "[dependencies.dns]\nnameserver = \"127.0.0.1:5353\"\nnames = [\"app.test\"]\n",
            "t.toml",
        )
        .unwrap();
        let dns = ok.dependencies.dns.unwrap();
        assert_eq!(
            dns.nameserver_addr(),
            Some("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(parse_nameserver("10.0.0.2").unwrap().port(), 53);
    }

    #[test]
    fn starter_config_example_parses_when_uncommented() {
        let starter = include_str!("../../config/readyprobe.toml");
        let start = starter.find("# [dependencies]").expect("example section");
        // The example block runs to the first blank line; later sections have their own prose.
        let example: String = starter[start..]
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter(|l| l.starts_with("# ") && !l.starts_with("#   "))
            .map(|l| format!("{}\n", &l[2..]))
            .collect();
        let cfg = from_str(&example, "readyprobe.toml").expect("the example parses");
        let deps = cfg.dependencies;
        assert_eq!(deps.redis.map(|r| r.role), Some(RedisRole::Store));
        assert!(deps.postgres.is_some() && deps.mysql.is_some() && deps.rabbitmq.is_some());
        assert_eq!(
            deps.dns.map(|d| d.names),
            Some(vec!["app.example.com".to_string()])
        );
    }

    #[test]
    fn cleartext_passwords_are_refused_unless_allowed() {
        let cfg = from_str("[dependencies]\npostgres = \"postgres://h/db\"\n", "t.toml").unwrap();
        assert!(!cfg.dependencies.allow_cleartext_password);
        let cfg = from_str(
            "[dependencies]\npostgres = \"postgres://h/db\"\nallow_cleartext_password = true\n",
            "t.toml",
        )
        .unwrap();
        assert!(cfg.dependencies.allow_cleartext_password);
        let (field, msg) = message("[dependencies]\nallow_cleartext_password = \"yes\"\n");
        assert_eq!(field, "dependencies.allow_cleartext_password");
        assert!(msg.contains("bool"), "{msg}");
    }

    #[test]
    fn unknown_key_in_section_is_named() {
        let (field, msg) = message("[dependencies]\npostgress = \"postgres://h/db\"\n");
        assert_eq!(field, "dependencies.postgress");
        assert!(msg.contains("unknown field"), "{msg}");
    }

    #[test]
    fn env_values_are_resolved_and_validated_with_the_field() {
        let cfg = from_str(
            "[dependencies]\npostgres = \"env:READYPROBE_TEST_UNSET_PG_URL\"\n",
            "t.toml",
        )
        .unwrap();
        let err = cfg.dependencies.resolve("t.toml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("dependencies.postgres"), "{text}");
        assert!(
            text.contains("READYPROBE_TEST_UNSET_PG_URL is not set"),
            "{text}"
        );
        let (field, msg) = message("[dependencies]\nredis = \"env:\"\n");
        assert_eq!(field, "dependencies.redis");
        assert!(msg.contains("variable name"), "{msg}");
    }

    #[test]
    fn secrets_include_raw_and_decoded_passwords() {
        let deps = DependenciesConfig {
            postgres: Some("postgres://app:p%40ss-word@db/app".into()),
            rabbitmq_management: Some(RabbitManagement {
                url: "http://mq:15672".into(),
                username: Some("admin".into()),
                password: Some("mgmt-secret".into()),
            }),
            rabbitmq: Some("amqp://u:amqp-secret@mq".into()),
            ..DependenciesConfig::default()
        };
        let secrets = deps.secrets();
        for s in ["p%40ss-word", "p@ss-word", "mgmt-secret", "amqp-secret"] {
            assert!(
                secrets.iter().any(|x| x == s),
                "{s} missing from {secrets:?}"
            );
        }
        let debug = format!("{deps:?}");
        assert!(
            !debug.contains("mgmt-secret") && !debug.contains("p%40ss"),
            "{debug}"
        );
        let guest = DependenciesConfig {
            rabbitmq: Some("amqp://guest:guest@mq".into()),
            ..DependenciesConfig::default()
        };
        assert!(guest.secrets().is_empty());
    }
}
