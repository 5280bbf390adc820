//! The PostgreSQL probe: one connection, one `READ ONLY` transaction, `SELECT`s of the catalog
//! and statistics views, then `ROLLBACK` and close.
//!
//! It observes what the `db.postgres.*` checks judge: reachability and latency, `ssl` and this
//! connection's encryption, the login role's `rolsuper`/`rolbypassrls`, connection headroom,
//! idle-in-transaction and long-running sessions, PITR evidence (`archive_mode`, `wal_level`,
//! `archive_command`/`archive_library` — redacted — and `pg_stat_archiver`), timeouts,
//! `pg_stat_statements` and sequential-scan-heavy tables.
//!
//! It must not write: every statement is a static `SELECT` in this file, run inside
//! `BEGIN READ ONLY`, so even a mistake here would be refused by the server. Query text from
//! other sessions is evidence only after its string literals are masked. A role that cannot see
//! other sessions' state (not a member of `pg_read_all_stats`/`pg_monitor`) gets a `skipped`
//! session observation instead of a false "no long queries".
//!
//! It must not trust the server: the connection runs through a [`Guard`] (answers capped, no
//! cleartext password on an unencrypted connection) and result sets are read up to
//! [`super::MAX_ROWS`] rows.

use std::collections::BTreeMap;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use tokio::time::Instant;

use super::guard::{Endpoint, Guard, Listen, Policy, Upstream, Wire};
use super::{
    Dependency, MapObserved, clip, collect_capped, is_row_cap, ms_since, redact_command, redact_sql,
};
use crate::observations::Probed;
use crate::observations::postgres::{
    PgArchiver, PgConnectionSsl, PgConnections, PgObservation, PgRole, PgSession, PgSetting,
    PgStatement, PgStatements, PgTableScans,
};
use crate::probes::{ProbeCx, ProbeError, error_chain};

/// Settings read from `pg_settings` (as the login role sees them).
pub const SETTINGS: &[&str] = &[
    "ssl",
    "archive_mode",
    "wal_level",
    "archive_command",
    "archive_library",
    "archive_timeout",
    "statement_timeout",
    "idle_in_transaction_session_timeout",
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
    "shared_preload_libraries",
];

const Q_SELECT1: &str = "SELECT 1::int4";
const Q_VERSION: &str = "SELECT version(), current_setting('server_version_num')::int4";
const Q_SETTINGS: &str = "SELECT name::text, COALESCE(setting, '')::text, COALESCE(unit, '')::text \
     FROM pg_settings WHERE name = ANY($1)";
const Q_ROLE: &str = "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolreplication, \
     pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') \
     FROM pg_roles r WHERE r.rolname = current_user";
const Q_SSL: &str = "SELECT ssl, COALESCE(version, '')::text, COALESCE(cipher, '')::text \
     FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
const Q_CONNECTIONS: &str = "SELECT (count(*) FILTER (WHERE backend_type = 'client backend'))::int8, count(*)::int8 \
     FROM pg_stat_activity";
const Q_SESSIONS: &str = "SELECT pid::int4, COALESCE(usename::text, ''), COALESCE(datname::text, ''), \
     COALESCE(application_name, '')::text, COALESCE(state, '')::text, \
     COALESCE(EXTRACT(EPOCH FROM (now() - state_change)), 0)::float8, \
     COALESCE(EXTRACT(EPOCH FROM (now() - query_start)), 0)::float8, \
     left(COALESCE(query, ''), 400)::text \
     FROM pg_stat_activity \
     WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' \
       AND ((state LIKE 'idle in transaction%' AND now() - state_change > interval '60 seconds') \
         OR (state = 'active' AND now() - query_start > interval '60 seconds')) \
     ORDER BY least(state_change, query_start) ASC LIMIT 50";
const Q_ARCHIVER: &str = "SELECT archived_count::int8, COALESCE(last_archived_wal, '')::text, \
     EXTRACT(EPOCH FROM (now() - last_archived_time))::float8, failed_count::int8, \
     COALESCE(last_failed_wal, '')::text, EXTRACT(EPOCH FROM (now() - last_failed_time))::float8 \
     FROM pg_stat_archiver";
const Q_TABLES: &str = "SELECT (schemaname || '.' || relname)::text, COALESCE(seq_scan, 0)::int8, \
     COALESCE(seq_tup_read, 0)::int8, COALESCE(idx_scan, 0)::int8, COALESCE(n_live_tup, 0)::int8 \
     FROM pg_stat_user_tables WHERE n_live_tup >= 10000 \
     ORDER BY seq_tup_read DESC LIMIT 20";
const Q_STATEMENTS_INSTALLED: &str =
    "SELECT count(*)::int8 FROM pg_extension WHERE extname = 'pg_stat_statements'";
const Q_STATEMENTS_13: &str = "SELECT left(query, 400)::text, calls::int8, mean_exec_time::float8 \
     FROM pg_stat_statements ORDER BY mean_exec_time DESC LIMIT 5";
const Q_STATEMENTS_12: &str = "SELECT left(query, 400)::text, calls::int8, mean_time::float8 \
     FROM pg_stat_statements ORDER BY mean_time DESC LIMIT 5";

/// How long query texts may be in evidence.
const QUERY_MAX: usize = 120;
/// The longest version string or setting kept from the server.
const VALUE_KEEP: usize = 400;

/// Inspects the PostgreSQL server at `dsn`, read-only, refusing to send the password in
/// cleartext over an unencrypted connection. See [`inspect_with`].
pub async fn inspect(cx: &ProbeCx, dsn: &str) -> Result<PgObservation, ProbeError> {
    inspect_with(cx, dsn, false).await
}

/// Inspects the PostgreSQL server at `dsn`, read-only. A connection-level failure (refused,
/// timeout, TLS, authentication, not PostgreSQL, a cleartext-password request refused) is the
/// error; anything after that is recorded per observation.
///
/// The connection goes through a [`Guard`]: the server's answers are capped, and its request for
/// the password in cleartext on a connection that is not encrypted is not answered unless
/// `allow_cleartext_password` (`dependencies.allow_cleartext_password`) is set.
pub async fn inspect_with(
    cx: &ProbeCx,
    dsn: &str,
    allow_cleartext_password: bool,
) -> Result<PgObservation, ProbeError> {
    let dep = Dependency::new(cx, "postgres", dsn);
    super::contained(&dep, observe(cx, &dep, dsn, allow_cleartext_password)).await
}

async fn observe(
    cx: &ProbeCx,
    dep: &Dependency,
    dsn: &str,
    allow_cleartext_password: bool,
) -> Result<PgObservation, ProbeError> {
    let options = PgConnectOptions::from_str(dsn.trim())
        .map_err(|e| dep.protocol_error(&format!("not a usable PostgreSQL URL: {e}")))?
        .application_name("readyprobe")
        .statement_cache_capacity(0)
        .disable_statement_logging();

    let started = Instant::now();
    let port = options.get_port();
    let upstream = match options.get_socket() {
        #[cfg(unix)]
        Some(dir) => Upstream::Unix(dir.join(format!(".s.PGSQL.{port}"))),
        #[cfg(unix)]
        None if options.get_host().starts_with('/') => Upstream::Unix(
            std::path::Path::new(options.get_host()).join(format!(".s.PGSQL.{port}")),
        ),
        _ => Upstream::Tcp(options.get_host().to_string(), port),
    };
    let policy = Policy {
        allow_cleartext_password,
        ..Policy::new(Wire::Postgres)
    };
    let guard = Guard::start(
        cx,
        dep,
        upstream,
        Listen::Unix(format!(".s.PGSQL.{port}")),
        policy,
    )
    .await?;
    // sqlx keeps `host` for TLS (SNI, verify-full) and connects to the guard's socket.
    let options = match guard.endpoint() {
        Endpoint::Unix(path) => options.socket(path.parent().unwrap_or(path)),
        Endpoint::Tcp(addr) => options.host("127.0.0.1").port(addr.port()),
    };
    let mut conn: PgConnection =
        dep.timed(cx, options.connect())
            .await?
            .map_err(|e| match guard.cut() {
                Some(reason) => dep.protocol_error(&reason),
                None => dep.connect_error(&error_chain(&e)),
            })?;
    let connect_ms = ms_since(started);

    let (observation, clean) = session(cx, dep, &guard, &mut conn, connect_ms).await?;
    // A clean close when the session ended normally; one left mid-query is just dropped.
    if clean {
        let _ = dep.timed(cx, conn.close()).await;
    }
    drop(guard);
    Ok(observation)
}

/// Why the rest of a session cannot run: a query failed (the transaction is aborted) or timed
/// out (the connection is mid-query).
#[derive(Default)]
struct Flow {
    broken: Option<String>,
    /// The connection is mid-answer (a timeout, the row cap, the guard cut it): not reusable.
    abandoned: bool,
}

/// Everything after connecting: a read-only transaction of SELECTs. Returns the observation and
/// whether the connection is still in a state to be closed cleanly.
async fn session(
    cx: &ProbeCx,
    dep: &Dependency,
    guard: &Guard,
    conn: &mut PgConnection,
    connect_ms: f64,
) -> Result<(PgObservation, bool), ProbeError> {
    let query_err = |e: sqlx::Error| dep.protocol_error(&guard.explain(&error_chain(&e)));
    let mut tx = dep
        .timed(cx, conn.begin_with("BEGIN READ ONLY"))
        .await?
        .map_err(query_err)?;

    let started = Instant::now();
    dep.timed(
        cx,
        sqlx::query_scalar::<_, i32>(Q_SELECT1).fetch_one(&mut *tx),
    )
    .await?
    .map_err(query_err)?;
    let select1_ms = ms_since(started);
    let (version, version_num): (String, i32) = dep
        .timed(cx, sqlx::query_as(Q_VERSION).fetch_one(&mut *tx))
        .await?
        .map_err(query_err)?;

    // From here a failed query is recorded against its observation; a timeout leaves the
    // connection mid-query, so everything after it is reported as not run.
    let mut flow = Flow::default();

    let names: Vec<String> = SETTINGS.iter().map(|s| s.to_string()).collect();
    let settings = run(cx, dep, guard, &mut flow, async {
        collect_capped(
            sqlx::query_as::<_, (String, String, String)>(Q_SETTINGS)
                .bind(&names)
                .fetch(&mut *tx),
        )
        .await
    })
    .await
    .map_observed(|rows| {
        rows.into_iter()
            .map(|(name, value, unit)| {
                let value = if name == "archive_command" {
                    dep.scrub(&redact_command(&value))
                } else {
                    value
                };
                let value = clip(&value, VALUE_KEEP);
                (name, PgSetting { value, unit })
            })
            .collect::<BTreeMap<_, _>>()
    });

    let role = run(cx, dep, guard, &mut flow, async {
        sqlx::query_as::<_, (String, bool, bool, bool, bool, bool)>(Q_ROLE)
            .fetch_one(&mut *tx)
            .await
    })
    .await
    .map_observed(
        |(name, superuser, bypass_rls, create_role, replication, stats)| PgRole {
            name,
            superuser,
            bypass_rls,
            create_role,
            replication,
            sees_all_sessions: superuser || stats,
        },
    );

    let connection_ssl = run(cx, dep, guard, &mut flow, async {
        sqlx::query_as::<_, (bool, String, String)>(Q_SSL)
            .fetch_one(&mut *tx)
            .await
    })
    .await
    .map_observed(|(ssl, version, cipher)| PgConnectionSsl {
        ssl,
        version,
        cipher,
    });

    let connections = run(cx, dep, guard, &mut flow, async {
        sqlx::query_as::<_, (i64, i64)>(Q_CONNECTIONS)
            .fetch_one(&mut *tx)
            .await
    })
    .await
    .map_observed(|(client_backends, all_backends)| PgConnections {
        client_backends,
        all_backends,
    });

    let sessions = match &role {
        Probed::Observed(r) if !r.sees_all_sessions => Probed::Skipped(format!(
            "needs pg_monitor: role {} cannot see other sessions' state (grant pg_monitor or \
             pg_read_all_stats to the audit role)",
            r.name
        )),
        Probed::Observed(_) => run(cx, dep, guard, &mut flow, async {
            collect_capped(
                sqlx::query_as::<_, (i32, String, String, String, String, f64, f64, String)>(
                    Q_SESSIONS,
                )
                .fetch(&mut *tx),
            )
            .await
        })
        .await
        .map_observed(|rows| {
            rows.into_iter()
                .map(
                    |(pid, user, database, application, state, state_secs, query_secs, query)| {
                        PgSession {
                            pid,
                            user,
                            database,
                            application,
                            state,
                            state_secs,
                            query_secs,
                            query: dep.scrub(&redact_sql(&query, QUERY_MAX)),
                        }
                    },
                )
                .collect()
        }),
        Probed::Failed(reason) => Probed::Failed(format!("the login role is unknown: {reason}")),
        Probed::Skipped(reason) => Probed::Skipped(reason.clone()),
    };

    let archiver = run(cx, dep, guard, &mut flow, async {
        sqlx::query_as::<_, (i64, String, Option<f64>, i64, String, Option<f64>)>(Q_ARCHIVER)
            .fetch_one(&mut *tx)
            .await
    })
    .await
    .map_observed(
        |(
            archived_count,
            last_archived_wal,
            last_archived_secs_ago,
            failed_count,
            last_failed_wal,
            last_failed_secs_ago,
        )| {
            PgArchiver {
                archived_count,
                last_archived_wal,
                last_archived_secs_ago,
                failed_count,
                last_failed_wal,
                last_failed_secs_ago,
            }
        },
    );

    let tables = run(cx, dep, guard, &mut flow, async {
        collect_capped(sqlx::query_as::<_, (String, i64, i64, i64, i64)>(Q_TABLES).fetch(&mut *tx))
            .await
    })
    .await
    .map_observed(|rows| {
        rows.into_iter()
            .map(
                |(table, seq_scan, seq_tup_read, idx_scan, live_rows)| PgTableScans {
                    table,
                    seq_scan,
                    seq_tup_read,
                    idx_scan,
                    live_rows,
                },
            )
            .collect()
    });

    // Last, because reading the view fails (and aborts the transaction) when the extension is
    // created but not loaded through shared_preload_libraries.
    let installed = run(cx, dep, guard, &mut flow, async {
        sqlx::query_scalar::<_, i64>(Q_STATEMENTS_INSTALLED)
            .fetch_one(&mut *tx)
            .await
    })
    .await;
    let statements = match installed {
        Probed::Observed(0) => Probed::Observed(PgStatements {
            installed: false,
            slowest: Vec::new(),
        }),
        Probed::Observed(_) => {
            let q = if version_num >= 130000 {
                Q_STATEMENTS_13
            } else {
                Q_STATEMENTS_12
            };
            run(cx, dep, guard, &mut flow, async {
                collect_capped(sqlx::query_as::<_, (String, i64, f64)>(q).fetch(&mut *tx)).await
            })
            .await
            .map_observed(|rows| PgStatements {
                installed: true,
                slowest: rows
                    .into_iter()
                    .map(|(query, calls, mean_ms)| PgStatement {
                        query: dep.scrub(&redact_sql(&query, QUERY_MAX)),
                        calls,
                        mean_ms,
                    })
                    .collect(),
            })
        }
        Probed::Failed(reason) => Probed::Failed(reason),
        Probed::Skipped(reason) => Probed::Skipped(reason),
    };

    // Read-only either way; ROLLBACK is the natural end of an inspection (and the only way out
    // of an aborted transaction).
    let clean = !flow.abandoned
        && guard.cut().is_none()
        && matches!(dep.timed(cx, tx.rollback()).await, Ok(Ok(())));

    let observation = PgObservation {
        server: dep.shown.clone(),
        connect_ms,
        select1_ms,
        version: clip(&version, VALUE_KEEP),
        version_num,
        settings,
        role,
        connection_ssl,
        connections,
        sessions,
        archiver,
        tables,
        statements,
    };
    Ok((observation, clean))
}

/// Runs one query unless an earlier one failed; a failure or timeout stops the rest.
async fn run<T>(
    cx: &ProbeCx,
    dep: &Dependency,
    guard: &Guard,
    flow: &mut Flow,
    fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Probed<T> {
    if let Some(reason) = &flow.broken {
        return Probed::Failed(format!("not run: an earlier query failed ({reason})"));
    }
    match dep.timed(cx, fut).await {
        Ok(Ok(value)) => Probed::Observed(value),
        Ok(Err(e)) => {
            let reason = dep
                .protocol_error(&guard.explain(&error_chain(&e)))
                .to_string();
            // In PostgreSQL an error aborts the transaction: later queries cannot run.
            flow.broken = Some(reason.clone());
            flow.abandoned |= is_row_cap(&e) || guard.cut().is_some();
            Probed::Failed(reason)
        }
        Err(timeout) => {
            let reason = timeout.to_string();
            flow.broken = Some(reason.clone());
            flow.abandoned = true;
            Probed::Failed(reason)
        }
    }
}
