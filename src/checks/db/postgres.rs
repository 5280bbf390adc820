//! PostgreSQL judges (postgres.*).

use super::*;

// ---------------------------------------------------------------------------------------------
// PostgreSQL

pub(super) fn pg(obs: &Observations) -> Result<&PgObservation, Unobserved> {
    obs.postgres.get()
}

pub(super) fn setting<'a>(
    settings: &'a std::collections::BTreeMap<String, PgSetting>,
    name: &str,
) -> Option<&'a PgSetting> {
    settings.get(name)
}

pub(super) fn setting_line(
    settings: &std::collections::BTreeMap<String, PgSetting>,
    name: &str,
) -> String {
    match setting(settings, name) {
        Some(s) if s.value.is_empty() => format!("{name} = ''"),
        Some(s) => format!("{name} = {}", s.shown()),
        None => format!("{name}: not visible to this role"),
    }
}

/// `db.postgres.reachable`: connect and `SELECT 1`.
pub const POSTGRES_REACHABLE: CheckMeta = CheckMeta {
    id: "db.postgres.reachable",
    title: "PostgreSQL reachable",
    problem: "PostgreSQL is unreachable",
    category: Category::Reliability,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "connect + SELECT 1 + latency — fail critical: unreachable",
    remediation: "Make the database reachable from where the application runs (network path, \
                  listen_addresses, pg_hba.conf, credentials), and check the URL in \
                  [dependencies] postgres.",
    references: &["https://www.postgresql.org/docs/current/auth-pg-hba-conf.html"],
    judge: postgres_reachable,
};

/// Judges `db.postgres.reachable`: see [`POSTGRES_REACHABLE`].
pub fn postgres_reachable(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let pg = match reachable_or_fail(&obs.postgres, "PostgreSQL")? {
        Ok(pg) => pg,
        Err(failed) => return Ok(failed),
    };
    Ok(Judgement::pass(format!(
        "PostgreSQL answered SELECT 1 in {:.1} ms (connect {:.1} ms).",
        pg.select1_ms, pg.connect_ms
    ))
    .evidence(format!(
        "{}: connected in {:.1} ms, SELECT 1 in {:.1} ms",
        pg.server, pg.connect_ms, pg.select1_ms
    ))
    .evidence(pg.version.clone()))
}

/// `db.postgres.pitr`: WAL archiving for point-in-time recovery.
pub const POSTGRES_PITR: CheckMeta = CheckMeta {
    id: "db.postgres.pitr",
    title: "PostgreSQL point-in-time recovery (WAL archiving)",
    problem: "PostgreSQL cannot be restored to a point in time",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "archive_mode, wal_level, archive_command/library (redacted), pg_stat_archiver — pass: \
           archiving and recent success; fail: off or failing; warn: nothing archived yet or the \
           last archive older than 24 h (threshold in [judge])",
    remediation: "Archive WAL continuously so the database can be restored to any point in \
                  time: wal_level = replica, archive_mode = on and an archive_command or \
                  archive_library that ships to durable storage (pgBackRest, WAL-G, Barman), \
                  plus base backups; watch pg_stat_archiver.failed_count. A managed service \
                  (RDS, Cloud SQL) does this when its PITR/backups are enabled.",
    references: &[
        "https://www.postgresql.org/docs/current/continuous-archiving.html",
        "https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ARCHIVER-VIEW",
    ],
    judge: postgres_pitr,
};

/// Judges `db.postgres.pitr`: see [`POSTGRES_PITR`].
pub fn postgres_pitr(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let pg = pg(obs)?;
    let settings = pg.settings.get()?;
    let mut evidence: Vec<String> = [
        "archive_mode",
        "wal_level",
        "archive_command",
        "archive_library",
    ]
    .iter()
    .map(|n| setting_line(settings, n))
    .collect();
    let mode = setting(settings, "archive_mode")
        .map(|s| s.value.as_str())
        .ok_or_else(|| {
            Unobserved::Failed("archive_mode is not visible to the login role".into())
        })?;
    let wal_level = setting(settings, "wal_level")
        .map(|s| s.value.as_str())
        .unwrap_or("");
    if mode == "off" {
        return Ok(Judgement::fail(
            "WAL archiving is off (archive_mode = off): this server cannot be restored to a \
             point in time from archived WAL.",
        )
        .evidence_all(evidence));
    }
    if wal_level == "minimal" {
        return Ok(Judgement::fail(
            "wal_level = minimal does not keep enough WAL for archiving or point-in-time recovery.",
        )
        .evidence_all(evidence));
    }
    let command = setting(settings, "archive_command").map(|s| s.value.trim());
    let library = setting(settings, "archive_library").map(|s| s.value.trim());
    // archive_command invisible (a role without pg_read_all_settings) proves nothing.
    if command == Some("") && matches!(library, Some("") | None) {
        return Ok(Judgement::fail(
            "archive_mode is on but neither archive_command nor archive_library is set: WAL \
             piles up on the server instead of being archived.",
        )
        .evidence_all(evidence));
    }
    let archiver = pg.archiver.get()?;
    evidence.push(format!(
        "pg_stat_archiver: archived_count = {}, last archived {}{}; failed_count = {}{}",
        archiver.archived_count,
        match archiver.last_archived_secs_ago {
            Some(s) => format!("{} ago", secs(s)),
            None => "never".to_string(),
        },
        if archiver.last_archived_wal.is_empty() {
            String::new()
        } else {
            format!(" ({})", archiver.last_archived_wal)
        },
        archiver.failed_count,
        match archiver.last_failed_secs_ago {
            Some(s) => format!(
                ", last failure {} ago ({})",
                secs(s),
                archiver.last_failed_wal
            ),
            None => String::new(),
        }
    ));
    let failing = match (
        archiver.last_failed_secs_ago,
        archiver.last_archived_secs_ago,
    ) {
        (Some(_), None) => true,
        (Some(failed), Some(ok)) => failed < ok,
        _ => false,
    };
    if failing {
        return Ok(Judgement::fail(
            "WAL archiving is failing: the last attempt failed after the last success, so the \
             point-in-time recovery window is not growing.",
        )
        .evidence_all(evidence));
    }
    if archiver.archived_count == 0 {
        return Ok(Judgement::warn(
            "WAL archiving is configured but nothing has been archived yet (since the \
             statistics were reset): a successful archive has not been observed.",
        )
        .evidence_all(evidence));
    }
    if archiver
        .last_archived_secs_ago
        .is_some_and(|s| s > cfg.db_archive_stale_secs)
    {
        return Ok(Judgement::warn(format!(
            "The last successful WAL archive is older than {}: check archive_timeout and the \
             archiver.",
            secs(cfg.db_archive_stale_secs)
        ))
        .evidence_all(evidence));
    }
    Ok(
        Judgement::pass("WAL is archived continuously and the last archive succeeded recently.")
            .evidence_all(evidence),
    )
}

/// `db.postgres.ssl`: TLS on the server and on this connection.
pub const POSTGRES_SSL: CheckMeta = CheckMeta {
    id: "db.postgres.ssl",
    title: "PostgreSQL TLS",
    problem: "PostgreSQL connections are not encrypted",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "SHOW ssl, pg_stat_ssl for this connection — fail: ssl off; warn: this connection not \
           encrypted",
    remediation: "Enable TLS on the server (ssl = on with a certificate) and require it from \
                  clients: `hostssl` lines in pg_hba.conf and sslmode=verify-full in the \
                  application's connection string.",
    references: &["https://www.postgresql.org/docs/current/ssl-tcp.html"],
    judge: postgres_ssl,
};

/// Judges `db.postgres.ssl`: see [`POSTGRES_SSL`].
pub fn postgres_ssl(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let pg = pg(obs)?;
    let settings = pg.settings.get()?;
    let ssl = setting(settings, "ssl")
        .map(|s| s.value.as_str())
        .ok_or_else(|| Unobserved::Failed("ssl is not visible to the login role".into()))?;
    if ssl == "off" {
        return Ok(Judgement::fail(
            "TLS is off on the PostgreSQL server (ssl = off): every connection carries \
             credentials and data in clear text.",
        )
        .evidence("ssl = off"));
    }
    let conn = pg.connection_ssl.get()?;
    if !conn.ssl {
        return Ok(Judgement::warn(
            "The server offers TLS, but this connection was not encrypted: clients are not \
             required to use it.",
        )
        .evidence(format!("ssl = {ssl}"))
        .evidence(format!(
            "{}: pg_stat_ssl.ssl = false for this connection",
            pg.server
        )));
    }
    Ok(Judgement::pass(format!(
        "TLS is on and this connection is encrypted ({} {}).",
        conn.version, conn.cipher
    ))
    .evidence(format!("ssl = {ssl}"))
    .evidence(format!(
        "{}: pg_stat_ssl.ssl = true, {} {}",
        pg.server, conn.version, conn.cipher
    )))
}

/// `db.postgres.superuser`: the login role's power.
pub const POSTGRES_SUPERUSER: CheckMeta = CheckMeta {
    id: "db.postgres.superuser",
    title: "PostgreSQL login role is not a superuser",
    problem: "The PostgreSQL login role is a superuser",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "rolsuper / rolbypassrls of the login role — fail: superuser",
    remediation: "Connect the application with a least-privilege role: NOSUPERUSER, \
                  NOBYPASSRLS, owning nothing it does not need, with only the grants its \
                  queries use (and pg_monitor for this audit).",
    references: &["https://www.postgresql.org/docs/current/role-attributes.html"],
    judge: postgres_superuser,
};

/// Judges `db.postgres.superuser`: see [`POSTGRES_SUPERUSER`].
pub fn postgres_superuser(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let role = pg(obs)?.role.get()?;
    let line = format!(
        "role {}: rolsuper = {}, rolbypassrls = {}, rolcreaterole = {}, rolreplication = {}",
        role.name, role.superuser, role.bypass_rls, role.create_role, role.replication
    );
    if role.superuser {
        return Ok(Judgement::fail(format!(
            "The login role {} is a superuser: a SQL injection or a leaked password owns the \
             whole cluster (and the host, through COPY … PROGRAM).",
            role.name
        ))
        .evidence(line));
    }
    if role.bypass_rls {
        return Ok(Judgement::warn(format!(
            "The login role {} bypasses row-level security (rolbypassrls).",
            role.name
        ))
        .evidence(line));
    }
    Ok(Judgement::pass(format!(
        "The login role {} is neither a superuser nor exempt from row-level security.",
        role.name
    ))
    .evidence(line))
}

/// `db.postgres.timeouts`: statement and idle-in-transaction timeouts.
pub const POSTGRES_TIMEOUTS: CheckMeta = CheckMeta {
    id: "db.postgres.timeouts",
    title: "PostgreSQL statement and idle-in-transaction timeouts",
    problem: "PostgreSQL has no statement or idle-in-transaction timeout",
    category: Category::Reliability,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "statement_timeout, idle_in_transaction_session_timeout — warn: 0",
    remediation: "Bound runaway work for the application's role: `ALTER ROLE app SET \
                  statement_timeout = '30s'` and `SET idle_in_transaction_session_timeout = \
                  '60s'` (values to suit the workload).",
    references: &["https://www.postgresql.org/docs/current/runtime-config-client.html"],
    judge: postgres_timeouts,
};

/// Judges `db.postgres.timeouts`: see [`POSTGRES_TIMEOUTS`].
pub fn postgres_timeouts(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let settings = pg(obs)?.settings.get()?;
    let names = ["statement_timeout", "idle_in_transaction_session_timeout"];
    let evidence: Vec<String> = names.iter().map(|n| setting_line(settings, n)).collect();
    let unset: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| setting(settings, n).is_none_or(|s| s.value == "0"))
        .collect();
    if unset.is_empty() {
        return Ok(Judgement::pass(
            "Statements and idle transactions are bounded by timeouts for this role.",
        )
        .evidence_all(evidence));
    }
    Ok(Judgement::warn(format!(
        "No limit for this role: {} = 0, so a runaway query or a forgotten transaction holds \
         locks and connections indefinitely.",
        unset.join(" and ")
    ))
    .evidence_all(evidence))
}

/// `db.postgres.conn_headroom`: connections in use vs available.
pub const POSTGRES_CONN_HEADROOM: CheckMeta = CheckMeta {
    id: "db.postgres.conn_headroom",
    title: "PostgreSQL connection headroom",
    problem: "PostgreSQL is running out of connections",
    category: Category::Scalability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "connections vs max_connections − reserved — warn > 80%; fail > 95% (thresholds in \
           [judge])",
    remediation: "Put a pooler (PgBouncer, the framework's pool with a hard cap) between the \
                  application and PostgreSQL and size the pools so their sum stays well below \
                  max_connections − superuser_reserved_connections.",
    references: &[
        "https://www.postgresql.org/docs/current/runtime-config-connection.html",
        "https://www.pgbouncer.org/",
    ],
    judge: postgres_conn_headroom,
};

/// Judges `db.postgres.conn_headroom`: see [`POSTGRES_CONN_HEADROOM`].
pub fn postgres_conn_headroom(
    obs: &Observations,
    cfg: &JudgeConfig,
) -> Result<Judgement, Unobserved> {
    let pg = pg(obs)?;
    let settings = pg.settings.get()?;
    let conns = pg.connections.get()?;
    let int = |name: &str| -> i64 {
        setting(settings, name)
            .and_then(|s| s.value.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let max = int("max_connections");
    if max <= 0 {
        return Err(Unobserved::Failed(
            "max_connections is not visible to the login role".into(),
        ));
    }
    let reserved = int("superuser_reserved_connections") + int("reserved_connections");
    let usable = (max - reserved).max(1);
    judge_headroom(
        cfg,
        "PostgreSQL",
        conns.client_backends,
        usable,
        format!(
            "{} client sessions (this audit's included) of max_connections = {max} − {reserved} \
             reserved = {usable} usable",
            conns.client_backends
        ),
    )
}

pub(super) fn judge_headroom(
    cfg: &JudgeConfig,
    product: &str,
    used: i64,
    usable: i64,
    line: String,
) -> Result<Judgement, Unobserved> {
    let ratio = used as f64 / usable as f64;
    let pct = ratio * 100.0;
    let judgement = if ratio > cfg.db_conn_headroom_fail {
        Judgement::fail(format!(
            "{product} is out of connection headroom: {pct:.0}% of usable connections are in use."
        ))
    } else if ratio > cfg.db_conn_headroom_warn {
        Judgement::warn(format!(
            "{product} connection use is high: {pct:.0}% of usable connections are in use."
        ))
    } else {
        Judgement::pass(format!(
            "{product} has connection headroom: {pct:.0}% of usable connections are in use."
        ))
    };
    Ok(judgement.evidence(line))
}

pub(super) fn sessions_seen(
    obs: &Observations,
) -> Result<&[crate::observations::postgres::PgSession], Unobserved> {
    Ok(pg(obs)?.sessions.get()?.as_slice())
}

/// `db.postgres.idle_in_tx`: sessions holding a transaction open while idle.
pub const POSTGRES_IDLE_IN_TX: CheckMeta = CheckMeta {
    id: "db.postgres.idle_in_tx",
    title: "PostgreSQL idle-in-transaction sessions",
    problem: "PostgreSQL sessions sit idle in open transactions",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "idle-in-transaction sessions — warn > 5 min; fail > 1 h (thresholds in [judge])",
    remediation: "Find the code path that opens a transaction and waits (on the network, on a \
                  user) before committing; set idle_in_transaction_session_timeout so such \
                  sessions are ended instead of holding locks and blocking vacuum.",
    references: &[
        "https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ACTIVITY-VIEW",
    ],
    judge: postgres_idle_in_tx,
};

/// Judges `db.postgres.idle_in_tx`: see [`POSTGRES_IDLE_IN_TX`].
pub fn postgres_idle_in_tx(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let sessions = sessions_seen(obs)?;
    let idle: Vec<_> = sessions
        .iter()
        .filter(|s| s.is_idle_in_transaction() && s.state_secs > cfg.db_idle_in_tx_warn_secs)
        .collect();
    let lines: Vec<String> = idle
        .iter()
        .map(|s| {
            format!(
                "pid {} {}@{} ({}) {} for {}: {}",
                s.pid,
                s.user,
                s.database,
                s.application,
                s.state,
                secs(s.state_secs),
                s.query
            )
        })
        .collect();
    let oldest = idle.iter().map(|s| s.state_secs).fold(0.0_f64, f64::max);
    if oldest > cfg.db_idle_in_tx_fail_secs {
        return Ok(Judgement::fail(format!(
            "{} session(s) idle in a transaction, the oldest for {}: they hold locks and block \
             vacuum.",
            idle.len(),
            secs(oldest)
        ))
        .evidence_all(capped(lines)));
    }
    if !idle.is_empty() {
        return Ok(Judgement::warn(format!(
            "{} session(s) idle in a transaction for more than {}, the oldest for {}.",
            idle.len(),
            secs(cfg.db_idle_in_tx_warn_secs),
            secs(oldest)
        ))
        .evidence_all(capped(lines)));
    }
    Ok(Judgement::pass(format!(
        "No session has been idle in a transaction for more than {}.",
        secs(cfg.db_idle_in_tx_warn_secs)
    ))
    .evidence(format!(
        "pg_stat_activity: {} other session(s) idle in a transaction or active for over a minute",
        sessions.len()
    )))
}

/// `db.postgres.long_queries`: active queries running for minutes.
pub const POSTGRES_LONG_QUERIES: CheckMeta = CheckMeta {
    id: "db.postgres.long_queries",
    title: "PostgreSQL long-running queries",
    problem: "PostgreSQL queries run for minutes",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "active queries older than 5 min — warn (threshold in [judge])",
    remediation: "Look at the queries listed (EXPLAIN ANALYZE on a replica), add the missing \
                  index or move the work to a batch job, and set statement_timeout for the \
                  application's role.",
    references: &[
        "https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ACTIVITY-VIEW",
    ],
    judge: postgres_long_queries,
};

/// Judges `db.postgres.long_queries`: see [`POSTGRES_LONG_QUERIES`].
pub fn postgres_long_queries(
    obs: &Observations,
    cfg: &JudgeConfig,
) -> Result<Judgement, Unobserved> {
    let sessions = sessions_seen(obs)?;
    let long: Vec<String> = sessions
        .iter()
        .filter(|s| s.state == "active" && s.query_secs > cfg.db_long_query_warn_secs)
        .map(|s| {
            format!(
                "pid {} {}@{} ({}) running for {}: {}",
                s.pid,
                s.user,
                s.database,
                s.application,
                secs(s.query_secs),
                s.query
            )
        })
        .collect();
    if long.is_empty() {
        return Ok(Judgement::pass(format!(
            "No query has been running for more than {}.",
            secs(cfg.db_long_query_warn_secs)
        )));
    }
    Ok(Judgement::warn(format!(
        "{} quer{} running for more than {}.",
        long.len(),
        if long.len() == 1 {
            "y has been"
        } else {
            "ies have been"
        },
        secs(cfg.db_long_query_warn_secs)
    ))
    .evidence_all(capped(long)))
}

/// `db.postgres.statements`: pg_stat_statements and the slowest statements.
pub const POSTGRES_STATEMENTS: CheckMeta = CheckMeta {
    id: "db.postgres.statements",
    title: "PostgreSQL statement statistics (pg_stat_statements)",
    problem: "PostgreSQL statement statistics are missing or show slow statements",
    category: Category::Performance,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "pg_stat_statements present; slowest mean statements — warn: absent / statements over \
           threshold (mean > 1 s; thresholds in [judge])",
    remediation: "Load pg_stat_statements (shared_preload_libraries = 'pg_stat_statements', \
                  then CREATE EXTENSION pg_stat_statements) so slow queries can be found; \
                  tune or index the statements listed.",
    references: &["https://www.postgresql.org/docs/current/pgstatstatements.html"],
    judge: postgres_statements,
};

/// Judges `db.postgres.statements`: see [`POSTGRES_STATEMENTS`].
pub fn postgres_statements(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let pg = pg(obs)?;
    let statements = match &pg.statements {
        Probed::Failed(reason) if reason.contains("shared_preload_libraries") => {
            return Ok(Judgement::warn(
                "pg_stat_statements is created but not loaded (it is missing from \
                 shared_preload_libraries), so no statement statistics are collected.",
            )
            .evidence(reason.clone()));
        }
        other => other.get()?,
    };
    if !statements.installed {
        return Ok(Judgement::warn(
            "pg_stat_statements is not installed in this database: slow queries cannot be \
             found from statistics.",
        )
        .evidence(format!("{}: no pg_stat_statements extension", pg.server)));
    }
    let lines: Vec<String> = statements
        .slowest
        .iter()
        .map(|s| {
            format!(
                "mean {:.1} ms over {} calls: {}",
                s.mean_ms, s.calls, s.query
            )
        })
        .collect();
    let slow = statements
        .slowest
        .iter()
        .filter(|s| s.mean_ms > cfg.db_slow_statement_ms)
        .count();
    if slow > 0 {
        return Ok(Judgement::warn(format!(
            "{slow} statement(s) average more than {:.0} ms per call.",
            cfg.db_slow_statement_ms
        ))
        .evidence_all(capped(lines)));
    }
    Ok(Judgement::pass(format!(
        "pg_stat_statements is collecting; no statement averages more than {:.0} ms.",
        cfg.db_slow_statement_ms
    ))
    .evidence_all(capped(lines)))
}

/// `db.postgres.seq_scans`: large tables read mostly by sequential scans.
pub const POSTGRES_SEQ_SCANS: CheckMeta = CheckMeta {
    id: "db.postgres.seq_scans",
    title: "PostgreSQL sequential scans on large tables",
    problem: "Large PostgreSQL tables are read by sequential scans",
    category: Category::Performance,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "pg_stat_user_tables seq_scan vs idx_scan on large tables (≥ 10,000 rows) — warn per \
           table read by more sequential than index scans (at least 50; thresholds in [judge])",
    remediation: "Find the queries behind the scans (pg_stat_statements, EXPLAIN) and add the \
                  index their WHERE/JOIN clauses need.",
    references: &[
        "https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ALL-TABLES-VIEW",
    ],
    judge: postgres_seq_scans,
};

/// Judges `db.postgres.seq_scans`: see [`POSTGRES_SEQ_SCANS`].
pub fn postgres_seq_scans(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let tables = pg(obs)?.tables.get()?;
    let large_rows = i64::try_from(cfg.db_large_table_rows).unwrap_or(i64::MAX);
    let seq_scan_min = i64::try_from(cfg.db_seq_scan_min).unwrap_or(i64::MAX);
    let heavy: Vec<String> = tables
        .iter()
        .filter(|t| {
            t.live_rows >= large_rows && t.seq_scan >= seq_scan_min && t.seq_scan > t.idx_scan
        })
        .map(|t| {
            format!(
                "{}: {} rows, seq_scan = {} ({} rows read), idx_scan = {}",
                t.table, t.live_rows, t.seq_scan, t.seq_tup_read, t.idx_scan
            )
        })
        .collect();
    if heavy.is_empty() {
        return Ok(Judgement::pass(format!(
            "No large table is read mostly by sequential scans ({} table(s) with ≥ {} rows checked).",
            tables.len(),
            cfg.db_large_table_rows
        )));
    }
    Ok(Judgement::warn(format!(
        "{} large table(s) are read mostly by sequential scans.",
        heavy.len()
    ))
    .evidence_all(capped(heavy)))
}
