//! Redis, inspected read-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Probed;

/// What one Redis inspection saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisObservation {
    /// The URL, password masked.
    pub server: String,
    /// The declared role (from config), which decides how memory and persistence are judged.
    pub role: RedisRole,
    /// True when the URL carries credentials.
    pub has_credentials: bool,
    /// `PING` sent without any credentials.
    pub unauthenticated: Probed<RedisReply>,
    /// The session opened with the configured credentials.
    pub session: Probed<RedisSession>,
}

/// A reply to one command: the status or error line as the server sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisReply {
    /// `PONG`, or the error line (`NOAUTH Authentication required.`, `DENIED Redis is running…`).
    pub reply: String,
    /// Round trip in milliseconds (connect included for the unauthenticated ping).
    pub ms: f64,
}

impl RedisReply {
    /// True for `+PONG`.
    pub fn is_pong(&self) -> bool {
        self.reply.eq_ignore_ascii_case("PONG")
    }

    /// The error code (`NOAUTH`, `DENIED`, `WRONGPASS`…), if the reply is an error.
    pub fn code(&self) -> Option<&str> {
        if self.is_pong() {
            None
        } else {
            self.reply.split_whitespace().next()
        }
    }
}

/// What the authenticated session saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisSession {
    /// Connect and authenticate, in milliseconds.
    pub connect_ms: f64,
    /// `PING` round trip, in milliseconds.
    pub ping_ms: f64,
    /// `ACL WHOAMI` (skipped before Redis 6 or when refused).
    pub whoami: Probed<String>,
    /// The [`INFO_KEYS`] fields of `INFO`.
    pub info: Probed<BTreeMap<String, String>>,
    /// The [`CONFIG_KEYS`] of `CONFIG GET`.
    pub config: Probed<BTreeMap<String, String>>,
    /// `ACL LIST` lines, password hashes masked.
    pub acl: Probed<Vec<String>>,
}

/// What a Redis instance is for; decides how memory and persistence are judged.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RedisRole {
    /// Losing keys is acceptable: `maxmemory` must be set, eviction is expected.
    #[default]
    Cache,
    /// Keys are data: an evicting policy or no persistence loses data.
    Store,
    /// Keys are jobs/messages: same as a store.
    Queue,
}

impl RedisRole {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RedisRole::Cache => "cache",
            RedisRole::Store => "store",
            RedisRole::Queue => "queue",
        }
    }

    /// True for roles whose keys must not be lost (store, queue).
    pub fn keeps_data(self) -> bool {
        !matches!(self, RedisRole::Cache)
    }
}
