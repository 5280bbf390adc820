//! The Redis probe: an unauthenticated `PING` first, then — with the configured credentials —
//! `PING`, `ACL WHOAMI`, `INFO`, `CONFIG GET` and `ACL LIST`.
//!
//! The unauthenticated `PING` answers the most important question on its own: `+PONG` means
//! anyone who can reach the port owns the data; `-NOAUTH` means a password is required;
//! `-DENIED` means protected mode refused a remote client of a server without a password.
//!
//! It must not write or reconfigure: those five commands are the whole list (the client's
//! `CLIENT SETINFO` handshake is switched off; `AUTH` and `SELECT` come from the URL). `NOPERM`
//! or an unknown (renamed) command on `CONFIG`/`ACL` is recorded as `skipped` with the reason —
//! a restricted audit user is good practice, not an error. `requirepass` and `masterauth` are
//! never asked for, and `ACL LIST` password hashes are masked before they are kept.
//!
//! It must not trust the server: each connection runs through a [`Guard`] that stops reading
//! after [`super::guard::MAX_ANSWER_BYTES`] (an `INFO` of hundreds of megabytes, a bulk string
//! claiming 2^62 bytes), redis-rs refuses arrays nested deeper than 100, and every command runs
//! under the operation timeout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::LazyLock;

use redis::aio::MultiplexedConnection;
use redis::io::AsyncDNSResolver;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisError,
    Value,
};
use regex::Regex;
use tokio::time::Instant;

use super::guard::{Endpoint, Guard, Listen, Policy, Upstream, Wire};
use super::{Dependency, MapObserved, clip, ms_since};
use crate::config::RedisRole;
use crate::observations::Probed;
use crate::observations::redis::{RedisObservation, RedisReply, RedisSession};
use crate::probes::{ProbeCx, ProbeError, error_chain};

/// The longest reply line or `ACL WHOAMI` kept as evidence.
const REPLY_KEEP: usize = 200;
/// The longest `INFO`/`CONFIG GET` value or `ACL LIST` line kept.
const LINE_KEEP: usize = 400;

/// `CONFIG GET` keys read (never `requirepass`/`masterauth`).
pub const CONFIG_KEYS: &[&str] = &[
    "protected-mode",
    "bind",
    "save",
    "appendonly",
    "appendfsync",
    "maxmemory",
    "maxmemory-policy",
    "maxclients",
];

/// `INFO` fields kept.
pub const INFO_KEYS: &[&str] = &[
    "redis_version",
    "redis_mode",
    "role",
    "connected_clients",
    "maxclients",
    "blocked_clients",
    "used_memory",
    "used_memory_human",
    "maxmemory",
    "maxmemory_human",
    "maxmemory_policy",
    "rdb_changes_since_last_save",
    "rdb_bgsave_in_progress",
    "rdb_last_save_time",
    "rdb_last_bgsave_status",
    "rdb_saves",
    "aof_enabled",
    "aof_last_bgrewrite_status",
    "aof_last_write_status",
    "rejected_connections",
    "evicted_keys",
    "total_connections_received",
    "uptime_in_seconds",
];

static ACL_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|\s)([#>])\S+").unwrap_or_else(|_| unreachable!("static regex"))
});

/// An `ACL LIST` line with password hashes (`#…`) and clear passwords (`>…`) masked.
pub fn mask_acl(line: &str) -> String {
    ACL_SECRET.replace_all(line, "$1$2***").into_owned()
}

/// Inspects the Redis server at `url` as a `role`. Fails only when the server cannot be reached
/// or opened with the configured credentials.
pub async fn inspect(
    cx: &ProbeCx,
    url: &str,
    role: RedisRole,
) -> Result<RedisObservation, ProbeError> {
    let dep = Dependency::new(cx, "redis", url);
    super::contained(&dep, observe(cx, &dep, url, role)).await
}

async fn observe(
    cx: &ProbeCx,
    dep: &Dependency,
    url: &str,
    role: RedisRole,
) -> Result<RedisObservation, ProbeError> {
    let dep = dep.clone();
    let info: ConnectionInfo = url
        .trim()
        .into_connection_info()
        .map_err(|e| dep.protocol_error(&format!("not a usable Redis URL: {e}")))?;
    let settings = info.redis_settings().clone();
    let has_credentials = settings.password().is_some() || settings.username().is_some();

    // 1. PING without credentials (db 0: SELECT would need them).
    let anonymous = info
        .clone()
        .set_redis_settings(redis::RedisConnectionInfo::default().set_skip_set_lib_name());
    let started = Instant::now();
    let unauthenticated: Result<RedisReply, ProbeError> = match connect(cx, &dep, anonymous).await {
        Ok((mut con, guard)) => match dep
            .timed(cx, redis::cmd("PING").query_async::<Value>(&mut con))
            .await
        {
            Ok(Ok(value)) => Ok(RedisReply {
                reply: clip(&value_text(&value), REPLY_KEEP),
                ms: ms_since(started),
            }),
            Ok(Err(e)) if e.code().is_some() => Ok(RedisReply {
                reply: clip(&dep.scrub(&server_error_line(&e)), REPLY_KEEP),
                ms: ms_since(started),
            }),
            Ok(Err(e)) => Err(classify(cx, &dep, &guard, &e)),
            Err(timeout) => Err(timeout),
        },
        Err(err) => Err(err),
    };
    let unauthenticated = match unauthenticated {
        Ok(reply) => Probed::Observed(reply),
        // Nothing usable answered and there are no credentials to try: unreachable.
        Err(err) if !has_credentials => return Err(err),
        Err(err) => Probed::Failed(err.to_string()),
    };

    // 2. The configured session.
    let configured = info
        .clone()
        .set_redis_settings(settings.set_skip_set_lib_name());
    let session = match session(cx, &dep, configured).await {
        Ok(s) => Probed::Observed(s),
        // Neither way in worked: the connection-level failure is the observation.
        Err(err) if unauthenticated.is_failed() => return Err(err),
        Err(err) => Probed::Failed(err.to_string()),
    };
    Ok(RedisObservation {
        server: dep.shown.clone(),
        role,
        has_credentials,
        unauthenticated,
        session,
    })
}

/// Opens one connection through a [`Guard`] (the server's answers capped at
/// [`super::guard::MAX_ANSWER_BYTES`]); the guard must live as long as the connection is used.
async fn connect(
    cx: &ProbeCx,
    dep: &Dependency,
    info: ConnectionInfo,
) -> Result<(MultiplexedConnection, Guard), ProbeError> {
    let (upstream, listen) = match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            (Upstream::Tcp(host.clone(), *port), Listen::Loopback)
        }
        #[cfg(unix)]
        ConnectionAddr::Unix(path) => (
            Upstream::Unix(path.clone()),
            Listen::Unix("redis.sock".to_string()),
        ),
        _ => {
            return Err(dep.protocol_error(
                "this kind of Redis address is not supported (use redis://, rediss:// or \
                 redis+unix://)",
            ));
        }
    };
    let guard = Guard::start(cx, dep, upstream, listen, Policy::new(Wire::Raw)).await?;
    let mut config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(cx.timeout))
        .set_response_timeout(Some(cx.timeout));
    let info = match guard.endpoint() {
        // The host stays as configured (TLS checks the certificate against it); the address it
        // "resolves" to is the guard's.
        Endpoint::Tcp(addr) => {
            config = config.set_dns_resolver(ToGuard(*addr));
            info
        }
        Endpoint::Unix(path) => info.set_addr(ConnectionAddr::Unix(path.clone())),
    };
    let client = Client::open(info).map_err(|e| classify(cx, dep, &guard, &e))?;
    match dep
        .timed(
            cx,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await?
    {
        Ok(con) => Ok((con, guard)),
        Err(e) => Err(classify(cx, dep, &guard, &e)),
    }
}

/// Resolves every name to the guard's loopback address.
struct ToGuard(SocketAddr);

impl AsyncDNSResolver for ToGuard {
    fn resolve<'a, 'b: 'a>(
        &'a self,
        _host: &'b str,
        _port: u16,
    ) -> redis::RedisFuture<'a, Box<dyn Iterator<Item = SocketAddr> + Send + 'a>> {
        let addr = self.0;
        Box::pin(async move {
            Ok(Box::new(std::iter::once(addr)) as Box<dyn Iterator<Item = SocketAddr> + Send>)
        })
    }
}

async fn session(
    cx: &ProbeCx,
    dep: &Dependency,
    info: ConnectionInfo,
) -> Result<RedisSession, ProbeError> {
    let started = Instant::now();
    let (mut con, guard) = connect(cx, dep, info).await?;
    let guard = &guard;
    let connect_ms = ms_since(started);
    let started = Instant::now();
    match dep
        .timed(cx, redis::cmd("PING").query_async::<Value>(&mut con))
        .await?
    {
        Ok(_) => {}
        Err(e) => return Err(classify(cx, dep, guard, &e)),
    }
    let ping_ms = ms_since(started);

    let whoami = command(
        cx,
        dep,
        guard,
        &mut con,
        redis::cmd("ACL").arg("WHOAMI"),
        "ACL WHOAMI",
    )
    .await
    .map_observed(|v| clip(&value_text(&v), REPLY_KEEP));
    let info = command(cx, dep, guard, &mut con, &redis::cmd("INFO"), "INFO")
        .await
        .map_observed(|v| parse_info(&value_text(&v)));
    let config = config_get(cx, dep, guard, &mut con).await;
    let acl = command(
        cx,
        dep,
        guard,
        &mut con,
        redis::cmd("ACL").arg("LIST"),
        "ACL LIST",
    )
    .await
    .map_observed(|v| match v {
        Value::Array(items) => items.iter().map(|i| mask_acl(&value_text(i))).collect(),
        other => vec![mask_acl(&value_text(&other))],
    });
    Ok(RedisSession {
        connect_ms,
        ping_ms,
        whoami,
        info,
        config,
        acl,
    })
}

/// `CONFIG GET` of every [`CONFIG_KEYS`] in one command (Redis ≥ 7), or one key at a time on
/// servers that take a single parameter.
async fn config_get(
    cx: &ProbeCx,
    dep: &Dependency,
    guard: &Guard,
    con: &mut MultiplexedConnection,
) -> Probed<BTreeMap<String, String>> {
    let mut all = redis::cmd("CONFIG");
    all.arg("GET");
    for key in CONFIG_KEYS {
        all.arg(*key);
    }
    match command(cx, dep, guard, con, &all, "CONFIG GET").await {
        Probed::Failed(reason) if reason.contains("wrong number of arguments") => {
            let mut out = BTreeMap::new();
            for key in CONFIG_KEYS {
                let mut one = redis::cmd("CONFIG");
                one.arg("GET").arg(*key);
                match command(cx, dep, guard, con, &one, "CONFIG GET").await {
                    Probed::Observed(v) => out.extend(config_pairs(&v)),
                    Probed::Failed(r) => return Probed::Failed(r),
                    Probed::Skipped(r) => return Probed::Skipped(r),
                }
            }
            Probed::Observed(out)
        }
        other => other.map_observed(|v| config_pairs(&v)),
    }
}

/// Runs one read-only command; a refusal (`NOPERM`, unknown/renamed command) is `Skipped` with
/// the reason, any other failure `Failed`.
async fn command(
    cx: &ProbeCx,
    dep: &Dependency,
    guard: &Guard,
    con: &mut MultiplexedConnection,
    cmd: &redis::Cmd,
    name: &str,
) -> Probed<Value> {
    match dep.timed(cx, cmd.query_async::<Value>(con)).await {
        Ok(Ok(value)) => Probed::Observed(value),
        Ok(Err(e)) => {
            let line = clip(&dep.scrub(&server_error_line(&e)), REPLY_KEEP);
            match e.code() {
                Some("NOPERM") => Probed::Skipped(format!(
                    "{name} is not permitted for this user ({line}) — restricting it is good \
                     practice"
                )),
                Some("ERR") if line.to_ascii_lowercase().contains("unknown") => Probed::Skipped(
                    format!("{name} is disabled or renamed on this server ({line})"),
                ),
                Some(_) => Probed::Failed(format!("{}: {name}: {line}", dep.subject())),
                None => Probed::Failed(classify(cx, dep, guard, &e).to_string()),
            }
        }
        Err(timeout) => Probed::Failed(timeout.to_string()),
    }
}

/// `CODE detail` as the server sent it.
fn server_error_line(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

/// A client error as a probe error naming the dependency (the guard's reason when it cut the
/// connection).
fn classify(cx: &ProbeCx, dep: &Dependency, guard: &Guard, e: &RedisError) -> ProbeError {
    if let Some(reason) = guard.cut() {
        return dep.protocol_error(&reason);
    }
    if e.is_timeout() {
        return cx.expired(&dep.subject());
    }
    if e.code().is_some() {
        return dep.protocol_error(&server_error_line(e));
    }
    let chain = error_chain(e);
    if e.is_connection_refusal() || e.is_io_error() {
        dep.connect_error(&chain)
    } else {
        dep.protocol_error(&chain)
    }
}

/// A reply as text (status, bulk string, or an array joined by spaces).
fn value_text(v: &Value) -> String {
    match v {
        Value::SimpleString(s) => s.clone(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Okay => "OK".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Nil => String::new(),
        Value::Array(items) | Value::Set(items) => {
            items.iter().map(value_text).collect::<Vec<_>>().join(" ")
        }
        other => format!("{other:?}"),
    }
}

/// `CONFIG GET` reply (flat array or RESP3 map) → key/value pairs.
fn config_pairs(v: &Value) -> BTreeMap<String, String> {
    match v {
        Value::Array(items) => items
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| {
                (
                    clip(&value_text(&c[0]), LINE_KEEP),
                    clip(&value_text(&c[1]), LINE_KEEP),
                )
            })
            .collect(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| {
                (
                    clip(&value_text(k), LINE_KEEP),
                    clip(&value_text(v), LINE_KEEP),
                )
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Keeps the [`INFO_KEYS`] fields of an `INFO` reply.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .filter(|(k, _)| INFO_KEYS.contains(k))
        .map(|(k, v)| (k.to_string(), clip(v.trim(), LINE_KEEP)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_hashes_and_passwords_are_masked() {
        assert_eq!(
            mask_acl("user app on #5e884898da28047151d0e56f8dc62927 ~app:* >clear +get"),
            "user app on #*** ~app:* >*** +get"
        );
        assert_eq!(
            mask_acl("user default on nopass ~* &* +@all"),
            "user default on nopass ~* &* +@all"
        );
    }

    #[test]
    fn info_keeps_known_fields() {
        let info = parse_info("# Server\r\nredis_version:7.0.15\r\nos:Linux\r\nmaxmemory:0\r\n");
        assert_eq!(
            info.get("redis_version").map(String::as_str),
            Some("7.0.15")
        );
        assert_eq!(info.get("maxmemory").map(String::as_str), Some("0"));
        assert!(!info.contains_key("os"));
    }

    #[test]
    fn reply_codes() {
        let r = RedisReply {
            reply: "NOAUTH Authentication required.".into(),
            ms: 1.0,
        };
        assert_eq!(r.code(), Some("NOAUTH"));
        assert!(!r.is_pong());
    }
}
