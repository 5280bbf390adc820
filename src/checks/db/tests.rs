//! Tests of `db`.

use std::collections::BTreeMap;

use super::*;
use crate::model::Outcome;
use crate::observations::postgres::{
    PgArchiver, PgConnectionSsl, PgConnections, PgRole, PgSession, PgStatement, PgStatements,
    PgTableScans,
};

fn judge(f: super::super::JudgeFn, obs: &Observations) -> Result<Judgement, Unobserved> {
    f(obs, &JudgeConfig::default())
}

fn ok(f: super::super::JudgeFn, obs: &Observations) -> Judgement {
    judge(f, obs).expect("judged")
}

fn settings(pairs: &[(&str, &str, &str)]) -> BTreeMap<String, PgSetting> {
    pairs
        .iter()
        .map(|(n, v, u)| {
            (
                n.to_string(),
                PgSetting {
                    value: v.to_string(),
                    unit: u.to_string(),
                },
            )
        })
        .collect()
}

/// A healthy PostgreSQL as a least-privilege role with pg_monitor.
fn healthy_pg() -> PgObservation {
    PgObservation {
        server: "postgres://app:***@db:5432/app".into(),
        connect_ms: 3.2,
        select1_ms: 0.4,
        version: "PostgreSQL 16.2".into(),
        version_num: 160002,
        settings: Probed::Observed(settings(&[
            ("ssl", "on", ""),
            ("archive_mode", "on", ""),
            ("wal_level", "replica", ""),
            ("archive_command", "wal-g wal-push %p", ""),
            ("archive_library", "", ""),
            ("statement_timeout", "30000", "ms"),
            ("idle_in_transaction_session_timeout", "60000", "ms"),
            ("max_connections", "100", ""),
            ("superuser_reserved_connections", "3", ""),
        ])),
        role: Probed::Observed(PgRole {
            name: "app".into(),
            superuser: false,
            bypass_rls: false,
            create_role: false,
            replication: false,
            sees_all_sessions: true,
        }),
        connection_ssl: Probed::Observed(PgConnectionSsl {
            ssl: true,
            version: "TLSv1.3".into(),
            cipher: "TLS_AES_256_GCM_SHA384".into(),
        }),
        connections: Probed::Observed(PgConnections {
            client_backends: 10,
            all_backends: 16,
        }),
        sessions: Probed::Observed(Vec::new()),
        archiver: Probed::Observed(PgArchiver {
            archived_count: 420,
            last_archived_wal: "000000010000000000000042".into(),
            last_archived_secs_ago: Some(60.0),
            failed_count: 0,
            last_failed_wal: String::new(),
            last_failed_secs_ago: None,
        }),
        tables: Probed::Observed(Vec::new()),
        statements: Probed::Observed(PgStatements {
            installed: true,
            slowest: vec![PgStatement {
                query: "SELECT * FROM orders WHERE id = $1".into(),
                calls: 1000,
                mean_ms: 1.5,
            }],
        }),
    }
}

fn with_pg(pg: PgObservation) -> Observations {
    Observations {
        postgres: Probed::Observed(pg),
        ..Observations::default()
    }
}

fn set(pg: &mut PgObservation, name: &str, value: &str) {
    if let Probed::Observed(s) = &mut pg.settings {
        s.insert(
            name.to_string(),
            PgSetting {
                value: value.to_string(),
                unit: String::new(),
            },
        );
    }
}

fn session(state: &str, state_secs: f64, query_secs: f64) -> PgSession {
    PgSession {
        pid: 4242,
        user: "app".into(),
        database: "app".into(),
        application: "api".into(),
        state: state.into(),
        state_secs,
        query_secs,
        query: "UPDATE orders SET status = '***'".into(),
    }
}

const PG_CHECKS: &[&CheckMeta] = &[
    &POSTGRES_REACHABLE,
    &POSTGRES_PITR,
    &POSTGRES_SSL,
    &POSTGRES_SUPERUSER,
    &POSTGRES_TIMEOUTS,
    &POSTGRES_CONN_HEADROOM,
    &POSTGRES_IDLE_IN_TX,
    &POSTGRES_LONG_QUERIES,
    &POSTGRES_STATEMENTS,
    &POSTGRES_SEQ_SCANS,
];

const MY_CHECKS: &[&CheckMeta] = &[
    &MYSQL_REACHABLE,
    &MYSQL_SSL,
    &MYSQL_PITR,
    &MYSQL_SUPERUSER,
    &MYSQL_CONN_HEADROOM,
];

#[test]
fn healthy_postgres_passes_every_check() {
    let obs = with_pg(healthy_pg());
    for check in PG_CHECKS {
        let j = ok(check.judge, &obs);
        assert_eq!(j.outcome, Outcome::Pass, "{}: {}", check.id, j.summary);
    }
}

#[test]
fn postgres_not_configured_is_skipped_everywhere() {
    let obs = Observations {
        postgres: Probed::Skipped("no postgres configured".into()),
        ..Observations::default()
    };
    for check in PG_CHECKS {
        assert_eq!(
            judge(check.judge, &obs).unwrap_err(),
            Unobserved::Skipped("no postgres configured".into()),
            "{}",
            check.id
        );
    }
}

#[test]
fn postgres_unreachable_fails_reachable_and_errors_the_rest() {
    let reason = "postgres postgres://app:***@db:5432/app: cannot connect: Connection refused";
    let obs = Observations {
        postgres: Probed::Failed(reason.into()),
        ..Observations::default()
    };
    let j = ok(postgres_reachable, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("Connection refused"), "{}", j.summary);
    assert_eq!(j.evidence, vec![reason.to_string()]);
    for check in &PG_CHECKS[1..] {
        assert_eq!(
            judge(check.judge, &obs).unwrap_err(),
            Unobserved::Failed(reason.into()),
            "{}",
            check.id
        );
    }
}

#[test]
fn reachable_pass_quotes_latency() {
    let j = ok(postgres_reachable, &with_pg(healthy_pg()));
    assert_eq!(
        j.evidence[0],
        "postgres://app:***@db:5432/app: connected in 3.2 ms, SELECT 1 in 0.4 ms"
    );
}

#[test]
fn pitr_archive_mode_off_fails() {
    let mut pg = healthy_pg();
    set(&mut pg, "archive_mode", "off");
    let j = ok(postgres_pitr, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.evidence.contains(&"archive_mode = off".to_string()));
}

#[test]
fn pitr_failing_archiver_fails() {
    let mut pg = healthy_pg();
    pg.archiver = Probed::Observed(PgArchiver {
        archived_count: 10,
        last_archived_wal: "A".into(),
        last_archived_secs_ago: Some(7200.0),
        failed_count: 3,
        last_failed_wal: "B".into(),
        last_failed_secs_ago: Some(30.0),
    });
    let j = ok(postgres_pitr, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("failing"), "{}", j.summary);
    assert!(j.evidence.last().unwrap().contains("failed_count = 3"));
}

#[test]
fn pitr_nothing_archived_or_stale_warns() {
    let mut pg = healthy_pg();
    pg.archiver = Probed::Observed(PgArchiver {
        archived_count: 0,
        last_archived_wal: String::new(),
        last_archived_secs_ago: None,
        failed_count: 0,
        last_failed_wal: String::new(),
        last_failed_secs_ago: None,
    });
    assert_eq!(
        ok(postgres_pitr, &with_pg(pg.clone())).outcome,
        Outcome::Warn
    );
    pg.archiver = Probed::Observed(PgArchiver {
        archived_count: 5,
        last_archived_wal: "A".into(),
        last_archived_secs_ago: Some(3.0 * 86400.0),
        failed_count: 0,
        last_failed_wal: String::new(),
        last_failed_secs_ago: None,
    });
    assert_eq!(ok(postgres_pitr, &with_pg(pg)).outcome, Outcome::Warn);
}

#[test]
fn pitr_archiver_unreadable_is_an_error() {
    let mut pg = healthy_pg();
    pg.archiver = Probed::Failed("permission denied".into());
    assert_eq!(
        judge(postgres_pitr, &with_pg(pg)).unwrap_err(),
        Unobserved::Failed("permission denied".into())
    );
}

#[test]
fn ssl_off_fails_and_clear_connection_warns() {
    let mut pg = healthy_pg();
    set(&mut pg, "ssl", "off");
    assert_eq!(ok(postgres_ssl, &with_pg(pg)).outcome, Outcome::Fail);
    let mut pg = healthy_pg();
    pg.connection_ssl = Probed::Observed(PgConnectionSsl {
        ssl: false,
        version: String::new(),
        cipher: String::new(),
    });
    let j = ok(postgres_ssl, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[1].contains("pg_stat_ssl.ssl = false"));
}

#[test]
fn superuser_fails_and_bypassrls_warns() {
    let mut pg = healthy_pg();
    if let Probed::Observed(r) = &mut pg.role {
        r.name = "postgres".into();
        r.superuser = true;
    }
    let j = ok(postgres_superuser, &with_pg(pg.clone()));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("postgres is a superuser"),
        "{}",
        j.summary
    );
    if let Probed::Observed(r) = &mut pg.role {
        r.superuser = false;
        r.bypass_rls = true;
    }
    assert_eq!(ok(postgres_superuser, &with_pg(pg)).outcome, Outcome::Warn);
}

#[test]
fn zero_timeouts_warn() {
    let mut pg = healthy_pg();
    set(&mut pg, "statement_timeout", "0");
    let j = ok(postgres_timeouts, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("statement_timeout = 0"), "{}", j.summary);
    assert_eq!(j.evidence[0], "statement_timeout = 0");
}

#[test]
fn conn_headroom_thresholds() {
    for (used, outcome) in [
        (70, Outcome::Pass),
        (85, Outcome::Warn),
        (96, Outcome::Fail),
    ] {
        let mut pg = healthy_pg();
        pg.connections = Probed::Observed(PgConnections {
            client_backends: used,
            all_backends: used + 6,
        });
        let j = ok(postgres_conn_headroom, &with_pg(pg));
        assert_eq!(j.outcome, outcome, "{used}: {}", j.summary);
        assert!(j.evidence[0].contains("= 97 usable"), "{}", j.evidence[0]);
    }
}

#[test]
fn conn_headroom_honours_the_configured_thresholds() {
    let mut pg = healthy_pg();
    set(&mut pg, "superuser_reserved_connections", "0");
    pg.connections = Probed::Observed(PgConnections {
        client_backends: 85,
        all_backends: 91,
    });
    let obs = with_pg(pg);
    // 85% in use: above the default warn (80%), below a configured 90%.
    let j = ok(postgres_conn_headroom, &obs);
    assert_eq!(j.outcome, Outcome::Warn, "{}", j.summary);
    let relaxed = JudgeConfig {
        db_conn_headroom_warn: 0.9,
        ..JudgeConfig::default()
    };
    let j = postgres_conn_headroom(&obs, &relaxed).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    let strict = JudgeConfig {
        db_conn_headroom_warn: 0.5,
        db_conn_headroom_fail: 0.8,
        ..JudgeConfig::default()
    };
    let j = postgres_conn_headroom(&obs, &strict).expect("judged");
    assert_eq!(j.outcome, Outcome::Fail, "{}", j.summary);
    // MySQL shares the thresholds: 130 of 151 (86%).
    let mut my = healthy_my();
    if let Probed::Observed(s) = &mut my.status {
        s.insert("Threads_connected".into(), "130".into());
    }
    let obs = with_my(my);
    assert_eq!(ok(mysql_conn_headroom, &obs).outcome, Outcome::Warn);
    let j = mysql_conn_headroom(&obs, &relaxed).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
}

#[test]
fn postgres_time_and_size_thresholds_come_from_the_config() {
    let cfg = JudgeConfig {
        db_idle_in_tx_warn_secs: 60.0,
        db_idle_in_tx_fail_secs: 300.0,
        db_long_query_warn_secs: 60.0,
        db_archive_stale_secs: 30.0,
        db_slow_statement_ms: 1.0,
        db_large_table_rows: 1_000,
        db_seq_scan_min: 20,
        ..JudgeConfig::default()
    };
    let mut pg = healthy_pg();
    pg.sessions = Probed::Observed(vec![
        session("idle in transaction", 400.0, 500.0),
        session("active", 120.0, 120.0),
    ]);
    pg.tables = Probed::Observed(vec![PgTableScans {
        table: "public.carts".into(),
        seq_scan: 30,
        seq_tup_read: 150_000,
        idx_scan: 10,
        live_rows: 5_000,
    }]);
    let obs = with_pg(pg);
    // Defaults: an idle transaction of 6m 40s only warns; the rest passes.
    assert_eq!(ok(postgres_idle_in_tx, &obs).outcome, Outcome::Warn);
    for f in [
        postgres_long_queries as super::super::JudgeFn,
        postgres_pitr,
        postgres_statements,
        postgres_seq_scans,
    ] {
        let j = ok(f, &obs);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    }
    let with = |f: super::super::JudgeFn| f(&obs, &cfg).expect("judged");
    assert_eq!(with(postgres_idle_in_tx).outcome, Outcome::Fail);
    let j = with(postgres_long_queries);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("more than 1m"), "{}", j.summary);
    let j = with(postgres_pitr);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("older than 30s"), "{}", j.summary);
    let j = with(postgres_statements);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("more than 1 ms"), "{}", j.summary);
    let j = with(postgres_seq_scans);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[0].starts_with("public.carts: 5000 rows"));
}

#[test]
fn idle_in_transaction_thresholds() {
    let mut pg = healthy_pg();
    pg.sessions = Probed::Observed(vec![session("idle in transaction", 400.0, 500.0)]);
    let j = ok(postgres_idle_in_tx, &with_pg(pg.clone()));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[0].contains("pid 4242 app@app (api) idle in transaction for 6m 40s"));
    pg.sessions = Probed::Observed(vec![session("idle in transaction", 7200.0, 7300.0)]);
    assert_eq!(ok(postgres_idle_in_tx, &with_pg(pg)).outcome, Outcome::Fail);
}

#[test]
fn sessions_invisible_without_pg_monitor_are_skipped() {
    let mut pg = healthy_pg();
    pg.sessions = Probed::Skipped("needs pg_monitor: role app cannot see".into());
    let obs = with_pg(pg);
    for f in [
        postgres_idle_in_tx as super::super::JudgeFn,
        postgres_long_queries,
    ] {
        match judge(f, &obs) {
            Err(Unobserved::Skipped(r)) => assert!(r.contains("needs pg_monitor")),
            other => panic!("expected skipped, got {other:?}"),
        }
    }
}

#[test]
fn long_query_warns() {
    let mut pg = healthy_pg();
    pg.sessions = Probed::Observed(vec![session("active", 900.0, 900.0)]);
    let j = ok(postgres_long_queries, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.evidence[0].contains("running for 15m"),
        "{}",
        j.evidence[0]
    );
}

#[test]
fn statements_absent_unloaded_or_slow_warn() {
    let mut pg = healthy_pg();
    pg.statements = Probed::Observed(PgStatements {
        installed: false,
        slowest: Vec::new(),
    });
    assert_eq!(
        ok(postgres_statements, &with_pg(pg.clone())).outcome,
        Outcome::Warn
    );
    pg.statements =
        Probed::Failed("pg_stat_statements must be loaded via \"shared_preload_libraries\"".into());
    assert_eq!(
        ok(postgres_statements, &with_pg(pg.clone())).outcome,
        Outcome::Warn
    );
    pg.statements = Probed::Observed(PgStatements {
        installed: true,
        slowest: vec![PgStatement {
            query: "SELECT * FROM big".into(),
            calls: 10,
            mean_ms: 2500.0,
        }],
    });
    let j = ok(postgres_statements, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.evidence[0].starts_with("mean 2500.0 ms over 10 calls"));
}

#[test]
fn seq_scan_heavy_large_table_warns() {
    let mut pg = healthy_pg();
    pg.tables = Probed::Observed(vec![
        PgTableScans {
            table: "public.orders".into(),
            seq_scan: 900,
            seq_tup_read: 90_000_000,
            idx_scan: 12,
            live_rows: 100_000,
        },
        PgTableScans {
            table: "public.users".into(),
            seq_scan: 60,
            seq_tup_read: 600_000,
            idx_scan: 100_000,
            live_rows: 10_000,
        },
    ]);
    let j = ok(postgres_seq_scans, &with_pg(pg));
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(j.evidence.len(), 1);
    assert!(j.evidence[0].starts_with("public.orders: 100000 rows, seq_scan = 900"));
}

// -- MySQL

fn healthy_my() -> MySqlObservation {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    MySqlObservation {
        server: "mysql://app:***@db:3306/app".into(),
        connect_ms: 2.0,
        select1_ms: 0.3,
        version: "8.0.36".into(),
        current_user: "app@%".into(),
        variables: Probed::Observed(map(&[
            ("have_ssl", "YES"),
            ("require_secure_transport", "ON"),
            ("log_bin", "ON"),
            ("binlog_format", "ROW"),
            ("max_connections", "151"),
        ])),
        session_ssl: Probed::Observed(map(&[
            ("Ssl_cipher", "TLS_AES_256_GCM_SHA384"),
            ("Ssl_version", "TLSv1.3"),
        ])),
        status: Probed::Observed(map(&[
            ("Threads_connected", "12"),
            ("Max_used_connections", "40"),
            ("Connection_errors_max_connections", "0"),
        ])),
        grants: Probed::Observed(vec![
            "GRANT USAGE ON *.* TO `app`@`%`".into(),
            "GRANT SELECT, INSERT, UPDATE, DELETE ON `app`.* TO `app`@`%`".into(),
        ]),
    }
}

fn with_my(my: MySqlObservation) -> Observations {
    Observations {
        mysql: Probed::Observed(my),
        ..Observations::default()
    }
}

fn my_var(my: &mut MySqlObservation, name: &str, value: &str) {
    if let Probed::Observed(v) = &mut my.variables {
        v.insert(name.into(), value.into());
    }
}

#[test]
fn healthy_mysql_passes_every_check() {
    let obs = with_my(healthy_my());
    for check in MY_CHECKS {
        let j = ok(check.judge, &obs);
        assert_eq!(j.outcome, Outcome::Pass, "{}: {}", check.id, j.summary);
    }
}

#[test]
fn mysql_not_configured_skips_and_unreachable_fails() {
    let skipped = Observations {
        mysql: Probed::Skipped("no mysql configured".into()),
        ..Observations::default()
    };
    let failed = Observations {
        mysql: Probed::Failed("mysql mysql://app:***@db: cannot connect: refused".into()),
        ..Observations::default()
    };
    for check in MY_CHECKS {
        assert!(matches!(
            judge(check.judge, &skipped),
            Err(Unobserved::Skipped(_))
        ));
    }
    assert_eq!(ok(mysql_reachable, &failed).outcome, Outcome::Fail);
    for check in &MY_CHECKS[1..] {
        assert!(matches!(
            judge(check.judge, &failed),
            Err(Unobserved::Failed(_))
        ));
    }
}

#[test]
fn mysql_tls_disabled_fails_unencrypted_or_optional_warns() {
    let mut my = healthy_my();
    my_var(&mut my, "have_ssl", "DISABLED");
    my.session_ssl = Probed::Observed(BTreeMap::from([("Ssl_cipher".into(), String::new())]));
    let j = ok(mysql_ssl, &with_my(my.clone()));
    assert_eq!(j.outcome, Outcome::Fail);
    assert_eq!(j.evidence[0], "have_ssl = DISABLED");
    my_var(&mut my, "have_ssl", "YES");
    assert_eq!(ok(mysql_ssl, &with_my(my)).outcome, Outcome::Warn);
    let mut my = healthy_my();
    my_var(&mut my, "require_secure_transport", "OFF");
    assert_eq!(ok(mysql_ssl, &with_my(my)).outcome, Outcome::Warn);
}

#[test]
fn mysql_binlog_off_fails() {
    let mut my = healthy_my();
    my_var(&mut my, "log_bin", "OFF");
    let j = ok(mysql_pitr, &with_my(my));
    assert_eq!(j.outcome, Outcome::Fail);
    assert_eq!(j.evidence[0], "log_bin = OFF");
}

#[test]
fn mysql_all_privileges_fails_grant_option_warns() {
    let mut my = healthy_my();
    my.grants = Probed::Observed(vec![
        "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` IDENTIFIED BY *** WITH GRANT OPTION"
            .into(),
    ]);
    assert_eq!(
        ok(mysql_superuser, &with_my(my.clone())).outcome,
        Outcome::Fail
    );
    my.grants = Probed::Observed(vec!["GRANT SUPER, PROCESS ON *.* TO `ops`@`%`".into()]);
    assert_eq!(
        ok(mysql_superuser, &with_my(my.clone())).outcome,
        Outcome::Fail
    );
    my.grants = Probed::Observed(vec![
        "GRANT PROCESS ON *.* TO `ops`@`%` WITH GRANT OPTION".into(),
    ]);
    assert_eq!(ok(mysql_superuser, &with_my(my)).outcome, Outcome::Warn);
}

#[test]
fn mysql_headroom_thresholds_and_refusals() {
    let mut my = healthy_my();
    if let Probed::Observed(s) = &mut my.status {
        s.insert("Threads_connected".into(), "150".into());
    }
    assert_eq!(ok(mysql_conn_headroom, &with_my(my)).outcome, Outcome::Fail);
    let mut my = healthy_my();
    if let Probed::Observed(s) = &mut my.status {
        s.insert("Threads_connected".into(), "130".into());
    }
    assert_eq!(ok(mysql_conn_headroom, &with_my(my)).outcome, Outcome::Warn);
    let mut my = healthy_my();
    if let Probed::Observed(s) = &mut my.status {
        s.insert("Connection_errors_max_connections".into(), "7".into());
    }
    assert_eq!(ok(mysql_conn_headroom, &with_my(my)).outcome, Outcome::Warn);
}

#[test]
fn mysql_grants_unreadable_is_an_error() {
    let mut my = healthy_my();
    my.grants = Probed::Failed("mysql …: SHOW GRANTS: denied".into());
    assert!(matches!(
        judge(mysql_superuser, &with_my(my)),
        Err(Unobserved::Failed(_))
    ));
}
