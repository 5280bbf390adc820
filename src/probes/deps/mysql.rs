//! The MySQL/MariaDB probe: one connection, `START TRANSACTION READ ONLY`, `SELECT`/`SHOW`
//! statements, `ROLLBACK`, close.
//!
//! It observes what the `db.mysql.*` checks judge: reachability and latency, TLS
//! (`have_ssl`, `require_secure_transport`, this session's `Ssl_cipher`), binary logging for
//! point-in-time recovery, the login user's global privileges (`SHOW GRANTS`) and connection
//! headroom (`Threads_connected` vs `max_connections`).
//!
//! It must not write: the only statements are the static ones in this file plus the driver's
//! `SET NAMES` at connect (a session setting). `SHOW GRANTS` output is masked before it is kept
//! (MariaDB prints `IDENTIFIED BY PASSWORD '*hash'`).
//!
//! It must not trust the server: the connection runs through a [`Guard`] (answers capped, the
//! handshake validated, no `mysql_clear_password` on an unencrypted connection, a bounded number
//! of plugin switches) and result sets are read up to [`super::MAX_ROWS`] rows.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlRow};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::time::Instant;

use super::guard::{Endpoint, Guard, Listen, Policy, Upstream, Wire};
use super::{Dependency, MapObserved, clip, collect_capped, is_row_cap, ms_since};
use crate::observations::Probed;
use crate::observations::mysql::MySqlObservation;
use crate::probes::{ProbeCx, ProbeError, error_chain};

/// Global variables read with `SHOW GLOBAL VARIABLES`.
pub const VARIABLES: &[&str] = &[
    "version",
    "version_comment",
    "have_ssl",
    "have_openssl",
    "tls_version",
    "require_secure_transport",
    "log_bin",
    "binlog_format",
    "expire_logs_days",
    "binlog_expire_logs_seconds",
    "gtid_mode",
    "sync_binlog",
    "max_connections",
    "max_user_connections",
];

/// Global status counters read with `SHOW GLOBAL STATUS`.
pub const STATUS: &[&str] = &[
    "Threads_connected",
    "Threads_running",
    "Max_used_connections",
    "Connection_errors_max_connections",
    "Aborted_connects",
];

static IDENTIFIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bIDENTIFIED\b.*?(\s+(?:WITH\s+GRANT|REQUIRE|WITH\s+MAX|PASSWORD\s+EXPIRE|ACCOUNT)\b|$)")
        .unwrap_or_else(|_| unreachable!("static regex"))
});

/// A `SHOW GRANTS` line with any `IDENTIFIED BY/VIA/WITH …` clause masked.
pub fn mask_grant(line: &str) -> String {
    IDENTIFIED
        .replace_all(line, |c: &regex::Captures<'_>| {
            format!("IDENTIFIED BY ***{}", &c[1])
        })
        .into_owned()
}

/// Inspects the MySQL/MariaDB server at `dsn`, read-only, refusing to send the password in
/// cleartext over an unencrypted connection. See [`inspect_with`].
pub async fn inspect(cx: &ProbeCx, dsn: &str) -> Result<MySqlObservation, ProbeError> {
    inspect_with(cx, dsn, false).await
}

/// Inspects the MySQL/MariaDB server at `dsn`, read-only. A connection-level failure is the
/// error; anything after that is recorded per observation.
///
/// The connection goes through a [`Guard`]: answers are capped, a malformed handshake is refused
/// before the client library reads it, and the password is not sent with
/// `mysql_clear_password` over an unencrypted connection unless `allow_cleartext_password`
/// (`dependencies.allow_cleartext_password`) is set.
pub async fn inspect_with(
    cx: &ProbeCx,
    dsn: &str,
    allow_cleartext_password: bool,
) -> Result<MySqlObservation, ProbeError> {
    let dep = Dependency::new(cx, "mysql", dsn);
    super::contained(&dep, observe(cx, &dep, dsn, allow_cleartext_password)).await
}

async fn observe(
    cx: &ProbeCx,
    dep: &Dependency,
    dsn: &str,
    allow_cleartext_password: bool,
) -> Result<MySqlObservation, ProbeError> {
    let url = match dsn.trim().strip_prefix("mariadb://") {
        Some(rest) => format!("mysql://{rest}"),
        None => dsn.trim().to_string(),
    };
    let options = MySqlConnectOptions::from_str(&url)
        .map_err(|e| dep.protocol_error(&format!("not a usable MySQL URL: {e}")))?
        // Only `SET NAMES` at connect: no sql_mode or time_zone changes.
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
        .enable_cleartext_plugin(allow_cleartext_password)
        .statement_cache_capacity(0)
        .disable_statement_logging();

    let started = Instant::now();
    let upstream = match options.get_socket() {
        #[cfg(unix)]
        Some(path) => Upstream::Unix(path.clone()),
        _ => Upstream::Tcp(options.get_host().to_string(), options.get_port()),
    };
    let policy = Policy {
        allow_cleartext_password,
        ..Policy::new(Wire::MySql)
    };
    let guard = Guard::start(cx, dep, upstream, Listen::Unix("mysql.sock".into()), policy).await?;
    // sqlx keeps `host` for TLS and connects to the guard's socket.
    let options = match guard.endpoint() {
        Endpoint::Unix(path) => options.socket(path),
        Endpoint::Tcp(addr) => options.host("127.0.0.1").port(addr.port()),
    };
    let mut conn: MySqlConnection =
        dep.timed(cx, options.connect())
            .await?
            .map_err(|e| match guard.cut() {
                Some(reason) => dep.protocol_error(&reason),
                None => dep.connect_error(&error_chain(&e)),
            })?;
    let connect_ms = ms_since(started);

    let (observation, clean) = session(cx, dep, &guard, &mut conn, connect_ms).await?;
    if clean {
        let _ = dep.timed(cx, conn.close()).await;
    }
    drop(guard);
    Ok(observation)
}

/// The longest value (version, variable, grant line) kept from the server.
const VALUE_KEEP: usize = 400;

const Q_SELECT1: &str = "SELECT 1";
const Q_WHO: &str = "SELECT VERSION(), CURRENT_USER()";
const Q_VARIABLES: &str = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'version_comment', \
     'have_ssl', 'have_openssl', 'tls_version', 'require_secure_transport', 'log_bin', 'binlog_format', \
     'expire_logs_days', 'binlog_expire_logs_seconds', 'gtid_mode', 'sync_binlog', 'max_connections', \
     'max_user_connections')";
const Q_SESSION_SSL: &str =
    "SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')";
const Q_STATUS: &str = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running', \
     'Max_used_connections', 'Connection_errors_max_connections', 'Aborted_connects')";
const Q_GRANTS: &str = "SHOW GRANTS";

/// Reads column `i` as text whatever its wire type (SHOW output is sometimes binary).
fn text(row: &MySqlRow, i: usize) -> String {
    if let Ok(Some(s)) = row.try_get::<Option<String>, _>(i) {
        return s;
    }
    if let Ok(Some(b)) = row.try_get::<Option<Vec<u8>>, _>(i) {
        return String::from_utf8_lossy(&b).into_owned();
    }
    if let Ok(Some(n)) = row.try_get::<Option<i64>, _>(i) {
        return n.to_string();
    }
    String::new()
}

fn pairs(rows: Vec<MySqlRow>) -> BTreeMap<String, String> {
    rows.iter()
        .map(|r| (clip(&text(r, 0), VALUE_KEEP), clip(&text(r, 1), VALUE_KEEP)))
        .collect()
}

async fn session(
    cx: &ProbeCx,
    dep: &Dependency,
    guard: &Guard,
    conn: &mut MySqlConnection,
    connect_ms: f64,
) -> Result<(MySqlObservation, bool), ProbeError> {
    let query_err = |e: sqlx::Error| dep.protocol_error(&guard.explain(&error_chain(&e)));
    let mut tx = dep
        .timed(cx, conn.begin_with("START TRANSACTION READ ONLY"))
        .await?
        .map_err(query_err)?;

    let started = Instant::now();
    dep.timed(cx, collect_capped(sqlx::raw_sql(Q_SELECT1).fetch(&mut *tx)))
        .await?
        .map_err(query_err)?;
    let select1_ms = ms_since(started);
    let who = dep
        .timed(cx, collect_capped(sqlx::raw_sql(Q_WHO).fetch(&mut *tx)))
        .await?
        .map_err(query_err)?;
    let (version, current_user) = match who.first() {
        Some(row) => (
            clip(&text(row, 0), VALUE_KEEP),
            clip(&text(row, 1), VALUE_KEEP),
        ),
        None => return Err(dep.protocol_error("SELECT VERSION() returned no row")),
    };

    // MySQL keeps a transaction usable after a failed statement; only a connection left
    // mid-reply (a timeout, the row cap, the guard cutting it) stops the rest.
    let mut abandoned = false;
    let variables = run(
        cx,
        dep,
        guard,
        &mut abandoned,
        collect_capped(sqlx::raw_sql(Q_VARIABLES).fetch(&mut *tx)),
    )
    .await
    .map_observed(pairs);
    let session_ssl = run(
        cx,
        dep,
        guard,
        &mut abandoned,
        collect_capped(sqlx::raw_sql(Q_SESSION_SSL).fetch(&mut *tx)),
    )
    .await
    .map_observed(pairs);
    let status = run(
        cx,
        dep,
        guard,
        &mut abandoned,
        collect_capped(sqlx::raw_sql(Q_STATUS).fetch(&mut *tx)),
    )
    .await
    .map_observed(pairs);
    let grants = run(
        cx,
        dep,
        guard,
        &mut abandoned,
        collect_capped(sqlx::raw_sql(Q_GRANTS).fetch(&mut *tx)),
    )
    .await
    .map_observed(|rows| {
        rows.iter()
            .map(|r| clip(&dep.scrub(&mask_grant(&text(r, 0))), VALUE_KEEP))
            .collect()
    });

    let clean = !abandoned
        && guard.cut().is_none()
        && matches!(dep.timed(cx, tx.rollback()).await, Ok(Ok(())));
    Ok((
        MySqlObservation {
            server: dep.shown.clone(),
            connect_ms,
            select1_ms,
            version,
            current_user,
            variables,
            session_ssl,
            status,
            grants,
        },
        clean,
    ))
}

/// Runs one statement unless an earlier one left the connection mid-reply.
async fn run<T>(
    cx: &ProbeCx,
    dep: &Dependency,
    guard: &Guard,
    abandoned: &mut bool,
    fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Probed<T> {
    if *abandoned {
        return Probed::Failed(format!(
            "{}: not run: an earlier statement did not finish ({})",
            dep.subject(),
            guard
                .cut()
                .unwrap_or_else(|| "timed out or cut at the row cap".to_string())
        ));
    }
    match dep.timed(cx, fut).await {
        Ok(Ok(value)) => Probed::Observed(value),
        Ok(Err(e)) => {
            *abandoned |= is_row_cap(&e) || guard.cut().is_some();
            Probed::Failed(
                dep.protocol_error(&guard.explain(&error_chain(&e)))
                    .to_string(),
            )
        }
        Err(timeout) => {
            *abandoned = true;
            Probed::Failed(timeout.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_credentials_are_masked() {
        let line = "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED BY PASSWORD \
                    '*81F5E21E35407D884A6CD4A731AEBFB6AF209E1B' WITH GRANT OPTION";
        let shown = mask_grant(line);
        assert_eq!(
            shown,
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED BY *** WITH GRANT OPTION"
        );
        let via = "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED VIA ed25519 USING 'abc' OR unix_socket";
        assert_eq!(
            mask_grant(via),
            "GRANT USAGE ON *.* TO `a`@`%` IDENTIFIED BY ***"
        );
        let plain = "GRANT SELECT ON `app`.* TO `app`@`%`";
        assert_eq!(mask_grant(plain), plain);
    }
}
