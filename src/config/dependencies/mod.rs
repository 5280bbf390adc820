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

mod passwords;
#[cfg(test)]
mod tests;
mod validate;

use std::fmt;
use std::net::SocketAddr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::ConfigError;
use super::value::{ValueError, parse_nameserver, resolve_env};
use crate::redact;
// Moved to the observation floor: the Redis observation records the role it was judged for.
pub use crate::observations::redis::RedisRole;
pub use passwords::{percent_decode, url_password};
use validate::shown;
pub use validate::validate;

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
    pub fn take_url(&mut self, raw: &str) -> Result<bool, ValueError> {
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
                return Err(ValueError::UnknownUrlScheme {
                    schemes: DEPENDENCY_SCHEMES,
                    shown: shown(raw.trim()),
                });
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
