//! Dependency audits against real servers: the machine's PostgreSQL, MariaDB, Redis and RabbitMQ,
//! second `redis-server`s started here, a DNS responder written here, and hostile listeners
//! (closed, silent, TLS-only, another protocol).
//!
//! Every test builds its own conditions (roles, users, a vhost with queues, ACL users) under
//! unique names and removes them in a `Drop` guard, so a failing assertion still cleans up.
//! Read-only behaviour is proven on the wire: a tap between the probe and the server records
//! every statement/command/request the probe sent, and the test asserts they are all reads.
//! No test resolves a public name: DNS goes to a responder on 127.0.0.1.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use readyprobe::checks::{self, Judgement};
use readyprobe::config::{JudgeConfig, RedisRole};
use readyprobe::model::Outcome;
use readyprobe::observations::{Observations, Probed, Unobserved};
use readyprobe::probes::ProbeCx;
use readyprobe::probes::deps::rabbitmq::Management;
use readyprobe::probes::deps::{dns, mysql, postgres, rabbitmq, redis};
use readyprobe::redact::Redactor;
use sqlx::{AssertSqlSafe, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::util;

const PG: &str = "127.0.0.1:5432";
const MARIADB: &str = "127.0.0.1:3306";
const REDIS: &str = "127.0.0.1:6379";
const AMQP: &str = "127.0.0.1:5672";
const RABBIT_API: &str = "127.0.0.1:15672";

/// The per-operation timeout of the bad-input tests.
const SHORT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// Helpers

/// A probe context like the engine's, with `timeout` per operation.
fn cx(timeout: Duration) -> ProbeCx {
    util::crypto();
    let client = readyprobe::probes::http::client(&readyprobe::probes::http::ClientOptions {
        timeout,
        extra_roots: Vec::new(),
        user_agent: "readyprobe-test".to_string(),
    })
    .expect("client");
    let mut run = readyprobe::config::RunConfig {
        timeout,
        ..Default::default()
    };
    run.user_agent = "readyprobe-test".to_string();
    ProbeCx {
        net: readyprobe::probes::net::NetCx::standalone(&run, &[]),
        client,
        limit: Arc::new(tokio::sync::Semaphore::new(8)),
        timeout,
        deadline: tokio::time::Instant::now() + Duration::from_secs(120),
        requests: Arc::new(AtomicU64::new(0)),
        max_requests: 10_000,
        max_body: 1024 * 1024,
        extra_headers: Vec::new(),
        redactor: Redactor::new(),
        answered: Arc::new(AtomicBool::new(false)),
        share: None,
    }
}

/// A name no other test (or run) uses: `prefix_<pid>_<n>`.
fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A password unique to this run, long enough for the redactor.
fn secret(tag: &str) -> String {
    format!("rp-{tag}-{}-s3cret", std::process::id())
}

/// Runs an async clean-up when dropped — on its own thread and runtime, so it works from
/// inside a test's runtime and after a failed assertion.
struct Cleanup(Option<Box<dyn FnOnce() + Send>>);

impl Cleanup {
    fn new<F, Fut>(f: F) -> Cleanup
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        Cleanup(Some(Box::new(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(f());
        })))
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            let _ = std::thread::spawn(f).join();
        }
    }
}

fn judge(check: &checks::CheckMeta, obs: &Observations) -> Result<Judgement, Unobserved> {
    (check.judge)(obs, &JudgeConfig::default())
}

fn outcome(check: &checks::CheckMeta, obs: &Observations) -> Outcome {
    match judge(check, obs) {
        Ok(j) => j.outcome,
        Err(Unobserved::Failed(_)) => Outcome::Error,
        Err(Unobserved::Skipped(_)) => Outcome::Skipped,
    }
}

fn text(j: &Judgement) -> String {
    format!("{} | {}", j.summary, j.evidence.join(" | "))
}

/// A TCP tap: listens on 127.0.0.1, forwards to `upstream`, and records every byte the client
/// sent, per connection.
struct Tap {
    addr: SocketAddr,
    sent: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Tap {
    async fn start(upstream: &str) -> Tap {
        let upstream: SocketAddr = upstream.parse().expect("upstream");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let sent: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(Vec::new()));
        let record = sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let index = {
                    let mut all = record.lock().expect("lock");
                    all.push(Vec::new());
                    all.len() - 1
                };
                let record = record.clone();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            record.lock().expect("lock")[index].extend_from_slice(&buf[..n]);
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Tap { addr, sent }
    }

    fn streams(&self) -> Vec<Vec<u8>> {
        self.sent.lock().expect("lock").clone()
    }
}

/// Asserts every statement is a read (or the transaction/session plumbing around reads).
fn assert_reads_only(what: &str, statements: &[String], allowed: &[&str]) {
    assert!(!statements.is_empty(), "{what}: no statement was captured");
    for s in statements {
        let upper = s.trim_start().to_ascii_uppercase();
        assert!(
            allowed.iter().any(|a| upper.starts_with(a)),
            "{what} sent a statement that is not a read: {s:?}\nall: {statements:#?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

async fn pg_admin(sql: &str) {
    let mut conn = sqlx::PgConnection::connect(PG_ADMIN)
        .await
        .expect("connect as postgres");
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// Creates a login role; dropped (with its grants) when the guard goes.
async fn pg_role(name: &str, password: &str, attributes: &str, extra: &[String]) -> Cleanup {
    pg_admin(&format!(
        "CREATE ROLE {name} LOGIN PASSWORD '{password}' {attributes}"
    ))
    .await;
    for sql in extra {
        pg_admin(sql).await;
    }
    let name = name.to_string();
    Cleanup::new(move || async move {
        pg_admin(&format!("DROP ROLE IF EXISTS {name}")).await;
    })
}

fn pg_obs(pg: readyprobe::observations::postgres::PgObservation) -> Observations {
    Observations {
        postgres: Probed::Observed(pg),
        ..Observations::default()
    }
}

#[tokio::test]
async fn postgres_tls_passes_through_the_wire_guard() {
    if !util::require_service("PostgreSQL", PG) {
        return;
    }
    let role = unique("rp_tls");
    let pw = secret("tls");
    let _role = pg_role(&role, &pw, "NOSUPERUSER", &[]).await;
    // sqlx keeps the configured host for TLS and connects to the guard's socket; the guard
    // relays ciphertext after `S`.
    for (mode, encrypted) in [("require", true), ("disable", false)] {
        let dsn = format!("postgres://{role}:{pw}@127.0.0.1:5432/test?sslmode={mode}");
        let pg = postgres::inspect(&cx(SHORT), &dsn)
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        let ssl = pg.connection_ssl.observed().expect("pg_stat_ssl row");
        assert_eq!(ssl.ssl, encrypted, "sslmode={mode}: {ssl:?}");
        if encrypted {
            assert!(ssl.version.starts_with("TLS"), "{ssl:?}");
        }
    }
}

#[tokio::test]
async fn postgres_superuser_and_least_privilege_roles_are_judged_live() {
    if !util::require_service("PostgreSQL", PG) {
        return;
    }
    let su = unique("rp_su");
    let app = unique("rp_app");
    let monitor = unique("rp_mon");
    let pw = secret("pg");
    let _su = pg_role(&su, &pw, "SUPERUSER", &[]).await;
    let _app = pg_role(
        &app,
        &pw,
        "NOSUPERUSER NOCREATEDB NOCREATEROLE",
        &[format!(
            "ALTER ROLE {app} SET default_transaction_read_only = on"
        )],
    )
    .await;
    let _monitor = pg_role(
        &monitor,
        &pw,
        "NOSUPERUSER",
        &[
            format!("GRANT pg_monitor TO {monitor}"),
            format!("ALTER ROLE {monitor} SET statement_timeout = '30s'"),
            format!("ALTER ROLE {monitor} SET idle_in_transaction_session_timeout = '60s'"),
        ],
    )
    .await;
    let cx = cx(Duration::from_secs(10));

    // The superuser: reachable, superuser fails, no WAL archiving on this machine.
    let dsn = format!("postgres://{su}:{pw}@127.0.0.1:5432/test");
    let pg = postgres::inspect(&cx, &dsn)
        .await
        .expect("inspect as superuser");
    assert!(
        !format!("{pg:?}").contains(&pw),
        "the password leaked into the observation"
    );
    assert_eq!(
        pg.server,
        format!("postgres://{su}:***@127.0.0.1:5432/test")
    );
    let obs = pg_obs(pg.clone());
    assert_eq!(
        outcome(&checks::db::POSTGRES_REACHABLE, &obs),
        Outcome::Pass
    );
    let j = judge(&checks::db::POSTGRES_SUPERUSER, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Fail, "{}", text(&j));
    assert!(
        j.summary.contains(&format!("{su} is a superuser")),
        "{}",
        j.summary
    );
    let settings = pg.settings.observed().expect("settings");
    let archive_mode = settings
        .get("archive_mode")
        .expect("archive_mode")
        .value
        .clone();
    let pitr = outcome(&checks::db::POSTGRES_PITR, &obs);
    if archive_mode == "off" {
        assert_eq!(pitr, Outcome::Fail);
    }
    // A superuser sees every session: the session checks judge instead of skipping.
    assert!(
        matches!(pg.sessions, Probed::Observed(_)),
        "{:?}",
        pg.sessions
    );
    // Judged, not skipped (other sessions on this machine decide pass or warn).
    assert!(matches!(
        outcome(&checks::db::POSTGRES_IDLE_IN_TX, &obs),
        Outcome::Pass | Outcome::Warn | Outcome::Fail
    ));
    let ssl = judge(&checks::db::POSTGRES_SSL, &obs).expect("ssl judged");
    assert!(
        matches!(ssl.outcome, Outcome::Pass | Outcome::Warn | Outcome::Fail),
        "{}",
        text(&ssl)
    );
    assert_ne!(
        outcome(&checks::db::POSTGRES_CONN_HEADROOM, &obs),
        Outcome::Error
    );
    assert_ne!(
        outcome(&checks::db::POSTGRES_STATEMENTS, &obs),
        Outcome::Error
    );
    assert_ne!(
        outcome(&checks::db::POSTGRES_SEQ_SCANS, &obs),
        Outcome::Error
    );

    // The least-privilege role (read-only by default): not a superuser, cannot see others.
    let dsn = format!("postgres://{app}:{pw}@127.0.0.1:5432/test");
    let pg = postgres::inspect(&cx, &dsn)
        .await
        .expect("inspect as app role");
    let obs = pg_obs(pg);
    assert_eq!(
        outcome(&checks::db::POSTGRES_SUPERUSER, &obs),
        Outcome::Pass
    );
    match judge(&checks::db::POSTGRES_IDLE_IN_TX, &obs) {
        Err(Unobserved::Skipped(reason)) => {
            assert!(reason.contains("needs pg_monitor"), "{reason}")
        }
        other => panic!("expected skipped: needs pg_monitor, got {other:?}"),
    }
    assert_eq!(
        outcome(&checks::db::POSTGRES_LONG_QUERIES, &obs),
        Outcome::Skipped
    );
    let j = judge(&checks::db::POSTGRES_TIMEOUTS, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Warn, "{}", text(&j));

    // With pg_monitor and role timeouts: sessions visible, timeouts pass.
    let dsn = format!("postgres://{monitor}:{pw}@127.0.0.1:5432/test");
    let obs = pg_obs(
        postgres::inspect(&cx, &dsn)
            .await
            .expect("inspect as monitor"),
    );
    // Judged, not skipped (other sessions on this machine decide pass or warn).
    assert!(matches!(
        outcome(&checks::db::POSTGRES_IDLE_IN_TX, &obs),
        Outcome::Pass | Outcome::Warn | Outcome::Fail
    ));
    let j = judge(&checks::db::POSTGRES_TIMEOUTS, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", text(&j));
}

/// PostgreSQL frontend messages that carry SQL: simple `Query` and extended `Parse`.
fn pg_statements(stream: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if stream.len() < 8 {
        return out;
    }
    // The startup message has no type byte: length, protocol, parameters.
    let startup = u32::from_be_bytes([stream[0], stream[1], stream[2], stream[3]]) as usize;
    let mut i = startup;
    while i + 5 <= stream.len() {
        let kind = stream[i];
        let len = u32::from_be_bytes([stream[i + 1], stream[i + 2], stream[i + 3], stream[i + 4]])
            as usize;
        let end = (i + 1 + len).min(stream.len());
        let body = &stream[i + 5..end];
        let cstr = |b: &[u8]| -> String {
            let n = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..n]).into_owned()
        };
        match kind {
            b'Q' => out.push(cstr(body)),
            b'P' => {
                let name_end = body.iter().position(|c| *c == 0).unwrap_or(0);
                out.push(cstr(&body[(name_end + 1).min(body.len())..]));
            }
            _ => {}
        }
        i = end;
    }
    out
}

#[tokio::test]
async fn postgres_probe_sends_only_reads_inside_a_read_only_transaction() {
    if !util::require_service("PostgreSQL", PG) {
        return;
    }
    let role = unique("rp_ro");
    let pw = secret("pgro");
    // default_transaction_read_only: even a write the probe sent by mistake would be refused.
    let _role = pg_role(
        &role,
        &pw,
        "NOSUPERUSER",
        &[
            format!("ALTER ROLE {role} SET default_transaction_read_only = on"),
            format!("GRANT pg_monitor TO {role}"),
        ],
    )
    .await;
    let tap = Tap::start(PG).await;
    let dsn = format!(
        "postgres://{role}:{pw}@127.0.0.1:{}/test?sslmode=disable",
        tap.addr.port()
    );
    let pg = postgres::inspect(&cx(Duration::from_secs(10)), &dsn)
        .await
        .expect("inspect through the tap");
    for (name, failed) in [
        ("settings", pg.settings.is_failed()),
        ("role", pg.role.is_failed()),
        ("connection_ssl", pg.connection_ssl.is_failed()),
        ("connections", pg.connections.is_failed()),
        ("sessions", pg.sessions.is_failed()),
        ("archiver", pg.archiver.is_failed()),
        ("tables", pg.tables.is_failed()),
        ("statements", pg.statements.is_failed()),
    ] {
        assert!(!failed, "{name} failed under a read-only role: {pg:#?}");
    }
    let statements: Vec<String> = tap
        .streams()
        .iter()
        .flat_map(|s| pg_statements(s))
        .collect();
    assert_reads_only(
        "the PostgreSQL probe",
        &statements,
        &["SELECT", "SHOW", "SET", "BEGIN READ ONLY", "ROLLBACK"],
    );
    assert!(
        statements.iter().any(|s| s == "BEGIN READ ONLY"),
        "no read-only transaction: {statements:#?}"
    );
    assert!(statements.iter().any(|s| s.contains("pg_stat_archiver")));
}

// ---------------------------------------------------------------------------------------------
// MariaDB / MySQL

const MY_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

async fn my_admin(sql: &str) {
    let mut conn = sqlx::MySqlConnection::connect(MY_ADMIN)
        .await
        .expect("connect as root");
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

async fn my_user(name: &str, password: &str) -> Cleanup {
    my_admin(&format!(
        "CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"
    ))
    .await;
    my_admin(&format!("GRANT SELECT ON test.* TO '{name}'@'%'")).await;
    let name = name.to_string();
    Cleanup::new(move || async move {
        my_admin(&format!("DROP USER IF EXISTS '{name}'@'%'")).await;
    })
}

fn my_obs(my: readyprobe::observations::mysql::MySqlObservation) -> Observations {
    Observations {
        mysql: Probed::Observed(my),
        ..Observations::default()
    }
}

/// MySQL client packets that carry SQL: `COM_QUERY` (0x03) and `COM_STMT_PREPARE` (0x16), which
/// always start a command (sequence id 0).
fn mysql_statements(stream: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= stream.len() {
        let len =
            stream[i] as usize | (stream[i + 1] as usize) << 8 | (stream[i + 2] as usize) << 16;
        let seq = stream[i + 3];
        let end = (i + 4 + len).min(stream.len());
        let body = &stream[i + 4..end];
        if seq == 0 && matches!(body.first(), Some(0x03) | Some(0x16)) {
            out.push(String::from_utf8_lossy(&body[1..]).into_owned());
        }
        i = end;
    }
    out
}

#[tokio::test]
async fn mariadb_root_and_least_privilege_user_are_judged_and_only_read() {
    if !util::require_service("MariaDB", MARIADB) {
        return;
    }
    let user = unique("rp_my");
    let pw = secret("my");
    let _user = my_user(&user, &pw).await;
    let cx = cx(Duration::from_secs(10));

    let root = mysql::inspect(&cx, MY_ADMIN)
        .await
        .expect("inspect as root");
    let obs = my_obs(root.clone());
    assert_eq!(outcome(&checks::db::MYSQL_REACHABLE, &obs), Outcome::Pass);
    let j = judge(&checks::db::MYSQL_SUPERUSER, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Fail, "{}", text(&j));
    assert!(
        !j.evidence.iter().any(|l| l.contains("PASSWORD '")),
        "a password hash leaked: {:?}",
        j.evidence
    );
    let vars = root.variables.observed().expect("variables");
    if vars.get("log_bin").map(String::as_str) == Some("OFF") {
        assert_eq!(outcome(&checks::db::MYSQL_PITR, &obs), Outcome::Fail);
    }
    if vars.get("have_ssl").map(String::as_str) == Some("DISABLED") {
        assert_eq!(outcome(&checks::db::MYSQL_SSL, &obs), Outcome::Fail);
    }
    assert_eq!(
        outcome(&checks::db::MYSQL_CONN_HEADROOM, &obs),
        Outcome::Pass
    );

    // The least-privilege user, through a tap that records every command.
    let tap = Tap::start(MARIADB).await;
    let dsn = format!("mysql://{user}:{pw}@127.0.0.1:{}/test", tap.addr.port());
    let my = mysql::inspect(&cx, &dsn).await.expect("inspect as user");
    assert_eq!(
        my.server,
        format!("mysql://{user}:***@127.0.0.1:{}/test", tap.addr.port())
    );
    let obs = my_obs(my);
    let j = judge(&checks::db::MYSQL_SUPERUSER, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", text(&j));
    let statements: Vec<String> = tap
        .streams()
        .iter()
        .flat_map(|s| mysql_statements(s))
        .collect();
    assert_reads_only(
        "the MySQL probe",
        &statements,
        &[
            "SELECT",
            "SHOW",
            "SET NAMES",
            "START TRANSACTION READ ONLY",
            "ROLLBACK",
        ],
    );
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("START TRANSACTION READ ONLY"))
    );
}

// ---------------------------------------------------------------------------------------------
// Redis

/// A `redis-server` started for one test on a free port, killed when dropped.
struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    fn start(requirepass: Option<&str>) -> RedisServer {
        let port = util::closed_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = requirepass {
            cmd.args(["--requirepass", pw]);
        }
        let child = cmd
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis_obs(r: readyprobe::observations::redis::RedisObservation) -> Observations {
    Observations {
        redis: Probed::Observed(r),
        ..Observations::default()
    }
}

/// The command names of RESP arrays a client sent (`CONFIG GET`, `ACL LIST`…).
fn resp_commands(stream: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stream);
    let mut lines = text.split("\r\n");
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let Some(count) = line.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let mut words = Vec::new();
        for _ in 0..count {
            let _len = lines.next();
            words.push(lines.next().unwrap_or_default().to_string());
        }
        let name = words
            .first()
            .cloned()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let sub = words
            .get(1)
            .cloned()
            .unwrap_or_default()
            .to_ascii_uppercase();
        out.push(match name.as_str() {
            "CONFIG" | "ACL" | "CLIENT" => format!("{name} {sub}"),
            _ => name,
        });
    }
    out
}

#[tokio::test]
async fn redis_without_and_with_requirepass_and_a_restricted_acl_user() {
    let pw = secret("redis");
    let open = RedisServer::start(None);
    let locked = RedisServer::start(Some(&pw));
    let cx = cx(Duration::from_secs(5));

    // No password: PONG without credentials is the critical finding.
    let r = redis::inspect(
        &cx,
        &format!("redis://127.0.0.1:{}", open.port),
        RedisRole::Cache,
    )
    .await
    .expect("inspect open redis");
    let obs = redis_obs(r.clone());
    let j = judge(&checks::redis::AUTH, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Fail, "{}", text(&j));
    assert_eq!(
        j.evidence[0],
        format!(
            "redis://127.0.0.1:{}: PING without credentials → PONG",
            open.port
        )
    );
    assert_eq!(outcome(&checks::redis::REACHABLE, &obs), Outcome::Pass);
    // Started without maxmemory: a cache without a limit warns.
    assert_eq!(outcome(&checks::redis::MEMORY, &obs), Outcome::Warn);
    assert_eq!(outcome(&checks::redis::PERSISTENCE, &obs), Outcome::Pass);
    assert_eq!(outcome(&checks::redis::PROTECTED_MODE, &obs), Outcome::Pass);
    assert_eq!(outcome(&checks::redis::CLIENTS, &obs), Outcome::Pass);
    let mut store = r.clone();
    store.role = RedisRole::Store;
    let j = judge(&checks::redis::PERSISTENCE, &redis_obs(store)).expect("judged");
    assert_eq!(j.outcome, Outcome::Warn, "{}", text(&j));

    // requirepass: NOAUTH without credentials; the session works with them. Through a tap.
    let tap = Tap::start(&format!("127.0.0.1:{}", locked.port)).await;
    let url = format!("redis://:{pw}@127.0.0.1:{}/0", tap.addr.port());
    let r = redis::inspect(&cx, &url, RedisRole::Store)
        .await
        .expect("inspect locked redis");
    assert!(!format!("{r:?}").contains(&pw), "password leaked: {r:?}");
    let obs = redis_obs(r.clone());
    let j = judge(&checks::redis::AUTH, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", text(&j));
    assert!(
        j.evidence[0].ends_with("→ NOAUTH Authentication required."),
        "{:?}",
        j.evidence
    );
    assert_eq!(outcome(&checks::redis::REACHABLE, &obs), Outcome::Pass);
    let acl = r
        .session
        .observed()
        .expect("session")
        .acl
        .observed()
        .expect("acl");
    assert!(acl.iter().all(|l| !l.contains(&pw)), "{acl:?}");
    let commands: BTreeSet<String> = tap
        .streams()
        .iter()
        .flat_map(|s| resp_commands(s))
        .collect();
    let allowed: BTreeSet<String> = [
        "AUTH",
        "PING",
        "INFO",
        "CONFIG GET",
        "ACL WHOAMI",
        "ACL LIST",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert!(
        commands.is_subset(&allowed),
        "the Redis probe sent more than reads: {commands:?}"
    );
    assert!(
        commands.contains("CONFIG GET") && commands.contains("INFO"),
        "{commands:?}"
    );

    // A restricted ACL user: NOPERM on CONFIG is evidence, not an error.
    let mut admin = ::redis::Client::open(format!("redis://:{pw}@127.0.0.1:{}", locked.port))
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("admin connection");
    let auditor_pw = secret("auditor");
    let _: () = ::redis::cmd("ACL")
        .arg("SETUSER")
        .arg("rpaudit")
        .arg("on")
        .arg(format!(">{auditor_pw}"))
        .arg("~*")
        .arg("+@all")
        .arg("-config")
        .arg("-acl")
        .arg("+acl|whoami")
        .query_async(&mut admin)
        .await
        .expect("ACL SETUSER");
    let url = format!("redis://rpaudit:{auditor_pw}@127.0.0.1:{}", locked.port);
    let r = redis::inspect(&cx, &url, RedisRole::Queue)
        .await
        .expect("inspect as restricted user");
    let obs = redis_obs(r);
    match judge(&checks::redis::PROTECTED_MODE, &obs) {
        Err(Unobserved::Skipped(reason)) => assert!(reason.contains("NOPERM"), "{reason}"),
        other => panic!("expected skipped with NOPERM, got {other:?}"),
    }
    let j = judge(&checks::redis::AUTH, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", text(&j));
    assert!(
        j.evidence.iter().any(|l| l.contains("NOPERM")),
        "{:?}",
        j.evidence
    );
    assert_eq!(outcome(&checks::redis::CLIENTS, &obs), Outcome::Pass);
}

#[tokio::test]
async fn machine_redis_answers_ping_without_authentication() {
    if !util::require_service("Redis", REDIS) {
        return;
    }
    let r = redis::inspect(
        &cx(Duration::from_secs(5)),
        "redis://127.0.0.1:6379",
        RedisRole::Cache,
    )
    .await
    .expect("inspect");
    let obs = redis_obs(r);
    // The machine's Redis (and .ci/run's) has no password.
    let j = judge(&checks::redis::AUTH, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Fail, "{}", text(&j));
    assert!(j.summary.contains("without authentication"));
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ

const API: &str = "http://127.0.0.1:15672";

fn api() -> reqwest::Client {
    util::crypto();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

async fn rabbit_put(path: &str, body: serde_json::Value) {
    let res = api()
        .put(format!("{API}{path}"))
        .basic_auth("guest", Some("guest"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
    assert!(res.status().is_success(), "PUT {path} → {}", res.status());
}

async fn rabbit_post(path: &str, body: serde_json::Value) {
    let res = api()
        .post(format!("{API}{path}"))
        .basic_auth("guest", Some("guest"))
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert!(res.status().is_success(), "POST {path} → {}", res.status());
}

async fn rabbit_get(path: &str) -> serde_json::Value {
    api()
        .get(format!("{API}{path}"))
        .basic_auth("guest", Some("guest"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// A vhost built by the test: `orders` without a DLX, `emails` with a DLX policy whose exchange
/// routes to `emails.dlq`, `payments` naming a DLX that does not exist. Deleted on drop.
async fn rabbit_vhost(vhost: &str) -> Cleanup {
    let v = enc(vhost);
    rabbit_put(&format!("/api/vhosts/{v}"), serde_json::json!({})).await;
    let cleanup = {
        let v = v.clone();
        Cleanup::new(move || async move {
            let _ = api()
                .delete(format!("{API}/api/vhosts/{v}"))
                .basic_auth("guest", Some("guest"))
                .send()
                .await;
        })
    };
    rabbit_put(
        &format!("/api/permissions/{v}/guest"),
        serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}),
    )
    .await;
    for (queue, args) in [
        ("orders", serde_json::json!({})),
        ("emails", serde_json::json!({})),
        ("emails.dlq", serde_json::json!({})),
        (
            "payments",
            serde_json::json!({"x-dead-letter-exchange": "nope"}),
        ),
    ] {
        rabbit_put(
            &format!("/api/queues/{v}/{}", enc(queue)),
            serde_json::json!({"durable": true, "arguments": args}),
        )
        .await;
    }
    rabbit_put(
        &format!("/api/exchanges/{v}/dlx"),
        serde_json::json!({"type": "fanout", "durable": true}),
    )
    .await;
    rabbit_post(
        &format!("/api/bindings/{v}/e/dlx/q/emails.dlq"),
        serde_json::json!({"routing_key": ""}),
    )
    .await;
    rabbit_put(
        &format!("/api/policies/{v}/dlx"),
        serde_json::json!({"pattern": "^emails$", "definition": {"dead-letter-exchange": "dlx"}, "apply-to": "queues"}),
    )
    .await;
    cleanup
}

/// The vhost's topology (no counters), to compare before and after an inspection.
async fn rabbit_topology(vhost: &str) -> String {
    let v = enc(vhost);
    let mut parts = Vec::new();
    for path in [
        format!("/api/queues/{v}?columns=name,durable,arguments"),
        format!("/api/exchanges/{v}?columns=name,type,durable"),
        format!("/api/bindings/{v}?columns=source,destination,routing_key"),
        format!("/api/policies/{v}"),
    ] {
        parts.push(rabbit_get(&path).await.to_string());
    }
    parts.join("\n")
}

/// HTTP request lines in a client stream (`GET /api/queues?… HTTP/1.1`).
fn request_lines(stream: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stream)
        .split("\r\n")
        .filter(|l| l.ends_with(" HTTP/1.1") || l.ends_with(" HTTP/1.0"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn rabbitmq_vhost_with_and_without_dead_lettering_is_judged_read_only() {
    if !util::require_service("RabbitMQ", AMQP)
        || !util::require_service("RabbitMQ management", RABBIT_API)
    {
        return;
    }
    let vhost = unique("rp_shop");
    let _vhost = rabbit_vhost(&vhost).await;
    let v = enc(&vhost);

    // The test's own clients: an unbounded consumer on `orders`, a publisher without confirms.
    let conn = lapin::Connection::connect(
        &format!("amqp://guest:guest@127.0.0.1:5672/{v}"),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("amqp connect");
    let consumer_channel = conn.create_channel().await.expect("channel");
    let _consumer = consumer_channel
        .basic_consume(
            "orders".into(),
            "rp-test".into(),
            lapin::options::BasicConsumeOptions::default(),
            lapin::types::FieldTable::default(),
        )
        .await
        .expect("consume");
    let publisher = conn.create_channel().await.expect("channel");
    for i in 0..3 {
        publisher
            .basic_publish(
                "".into(),
                "emails".into(),
                lapin::options::BasicPublishOptions::default(),
                format!("message {i}").as_bytes(),
                lapin::BasicProperties::default(),
            )
            .await
            .expect("publish");
    }
    // The broker reports channel and queue statistics every few seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let channels = rabbit_get(&format!(
            "/api/vhosts/{v}/channels?columns=consumer_count,message_stats"
        ))
        .await;
        let queues = rabbit_get(&format!(
            "/api/queues/{v}?columns=name,messages_ready,effective_policy_definition"
        ))
        .await;
        let consuming = channels
            .as_array()
            .is_some_and(|a| a.iter().any(|c| c["consumer_count"].as_u64() > Some(0)));
        let published = channels.as_array().is_some_and(|a| {
            a.iter()
                .any(|c| c["message_stats"]["publish"].as_u64() > Some(0))
        });
        let ready = queues.as_array().is_some_and(|a| {
            a.iter()
                .any(|q| q["name"] == "emails" && q["messages_ready"].as_u64() > Some(0))
        });
        if consuming && published && ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "statistics did not appear: {channels} {queues}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let before = rabbit_topology(&vhost).await;
    let tap = Tap::start(RABBIT_API).await;
    let cx = cx(Duration::from_secs(10));
    let mgmt_url = format!("http://127.0.0.1:{}", tap.addr.port());
    let amqp_url = format!("amqp://guest:guest@127.0.0.1:5672/{v}");
    let r = rabbitmq::inspect(
        &cx,
        Some(&amqp_url),
        Some(&Management {
            url: &mgmt_url,
            username: "guest",
            password: "guest",
        }),
    )
    .await;
    let after = rabbit_topology(&vhost).await;
    assert_eq!(
        before, after,
        "the inspection changed the broker's topology"
    );
    let lines: Vec<String> = tap
        .streams()
        .iter()
        .flat_map(|s| request_lines(s))
        .collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(line.starts_with("GET /api/"), "not a GET: {line}");
        assert!(!line.contains("aliveness-test"), "{line}");
    }

    let obs = Observations {
        rabbitmq: Probed::Observed(r.clone()),
        ..Observations::default()
    };
    let j = judge(&checks::rabbitmq::REACHABLE, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Pass, "{}", text(&j));

    // Loopback only: accepted, but only a warning (see the probe's module doc).
    let j = judge(&checks::rabbitmq::DEFAULT_CREDENTIALS, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Warn, "{}", text(&j));
    assert!(
        j.evidence.iter().all(|l| l.contains("over loopback")),
        "{:?}",
        j.evidence
    );

    let j = judge(&checks::rabbitmq::DLX, &obs).expect("judged");
    assert_ne!(j.outcome, Outcome::Pass, "{}", text(&j));
    let mine = |line: &str| line.contains(&format!("in vhost `{vhost}`"));
    assert!(
        j.evidence.iter().any(|l| l == &format!("queue `orders` in vhost `{vhost}` has no dead-letter exchange")),
        "{:?}",
        j.evidence
    );
    assert!(
        j.evidence
            .iter()
            .any(|l| mine(l) && l.contains("`emails`") && l.contains("policy")),
        "{:?}",
        j.evidence
    );
    assert!(
        !j.evidence
            .iter()
            .any(|l| mine(l) && l.contains("`emails.dlq`") && l.contains("has no")),
        "the dead-letter queue itself was asked for a DLX: {:?}",
        j.evidence
    );

    let j = judge(&checks::rabbitmq::DLX_TARGET, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Fail, "{}", text(&j));
    assert!(
        j.evidence.iter().any(|l| l
            == &format!(
                "queue `payments` in vhost `{vhost}` dead-letters to exchange `nope`, which does not exist"
            )),
        "{:?}",
        j.evidence
    );

    assert_eq!(outcome(&checks::rabbitmq::PREFETCH, &obs), Outcome::Warn);
    assert_eq!(outcome(&checks::rabbitmq::CONFIRMS, &obs), Outcome::Warn);
    let j = judge(&checks::rabbitmq::BACKLOG, &obs).expect("judged");
    assert_eq!(j.outcome, Outcome::Warn, "{}", text(&j));
    assert!(
        j.evidence.iter().any(|l| mine(l) && l.contains("`emails`")),
        "{:?}",
        j.evidence
    );
    assert_eq!(outcome(&checks::rabbitmq::ALARMS, &obs), Outcome::Pass);
    let _ = conn.close(200, "test done".into()).await;
}

// ---------------------------------------------------------------------------------------------
// Bad input: wrong password, closed port, another protocol, TLS only, silent

/// A TLS-only server on 127.0.0.1 (answers every connection with a TLS handshake).
async fn tls_only() -> SocketAddr {
    let ca = util::pki::TestCa::new("deps tls-only");
    util::servers::https(axum::Router::new(), ca.localhost()).await
}

/// Asserts a failure names the dependency, masks `password`, and came within the timeout.
fn assert_failed_well(case: &str, kind: &str, error: &str, password: &str, elapsed: Duration) {
    assert!(
        error.starts_with(kind),
        "{case}: error does not name {kind}: {error}"
    );
    assert!(
        !error.contains(password),
        "{case}: password in the error: {error}"
    );
    assert!(
        error.contains(":***@"),
        "{case}: the URL is not shown redacted: {error}"
    );
    assert!(
        elapsed < SHORT * 2 + Duration::from_secs(2),
        "{case}: took {elapsed:?} with a {SHORT:?} timeout"
    );
}

#[tokio::test]
async fn bad_dependencies_fail_fast_with_the_password_redacted() {
    let pw = secret("bad");
    let closed = util::closed_port();
    let silent = util::servers::silent().await;
    let tls = tls_only().await;
    let locked = RedisServer::start(Some(&pw));
    let redis_port = locked.port;
    let cx = cx(SHORT);

    // Another protocol: each client pointed at a server of another kind.
    let mut cases: Vec<(String, &str, String)> = vec![
        (
            "postgres: closed port".into(),
            "postgres",
            format!("postgres://app:{pw}@127.0.0.1:{closed}/db"),
        ),
        (
            "postgres: redis port".into(),
            "postgres",
            format!("postgres://app:{pw}@127.0.0.1:{redis_port}/db"),
        ),
        (
            "postgres: silent".into(),
            "postgres",
            format!("postgres://app:{pw}@{silent}/db"),
        ),
        (
            "postgres: tls only".into(),
            "postgres",
            format!("postgres://app:{pw}@{tls}/db"),
        ),
        (
            "mysql: closed port".into(),
            "mysql",
            format!("mysql://app:{pw}@127.0.0.1:{closed}/db"),
        ),
        (
            "mysql: redis port".into(),
            "mysql",
            format!("mysql://app:{pw}@127.0.0.1:{redis_port}/db"),
        ),
        (
            "mysql: silent".into(),
            "mysql",
            format!("mysql://app:{pw}@{silent}/db"),
        ),
        (
            "mysql: tls only".into(),
            "mysql",
            format!("mysql://app:{pw}@{tls}/db"),
        ),
        (
            "redis: closed port".into(),
            "redis",
            format!("redis://:{pw}@127.0.0.1:{closed}"),
        ),
        (
            "redis: silent".into(),
            "redis",
            format!("redis://:{pw}@{silent}"),
        ),
        (
            "redis: tls only".into(),
            "redis",
            format!("redis://:{pw}@{tls}"),
        ),
        (
            "redis: wrong password".into(),
            "redis",
            format!("redis://:wrong-{pw}@127.0.0.1:{redis_port}"),
        ),
        (
            "rabbitmq: closed port".into(),
            "rabbitmq",
            format!("amqp://app:{pw}@127.0.0.1:{closed}/%2f"),
        ),
        (
            "rabbitmq: redis port".into(),
            "rabbitmq",
            format!("amqp://app:{pw}@127.0.0.1:{redis_port}/%2f"),
        ),
        (
            "rabbitmq: silent".into(),
            "rabbitmq",
            format!("amqp://app:{pw}@{silent}/%2f"),
        ),
        (
            "rabbitmq: tls only".into(),
            "rabbitmq",
            format!("amqp://app:{pw}@{tls}/%2f"),
        ),
    ];
    if util::require_service("PostgreSQL", PG) {
        cases.push((
            "postgres: unknown role".into(),
            "postgres",
            format!(
                "postgres://rp_nobody_{}:{pw}@127.0.0.1:5432/test",
                std::process::id()
            ),
        ));
        cases.push((
            "redis: postgres port".into(),
            "redis",
            format!("redis://:{pw}@127.0.0.1:5432"),
        ));
    }
    let _my_user = if util::require_service("MariaDB", MARIADB) {
        let user = unique("rp_bad");
        let guard = my_user(&user, &secret("right")).await;
        cases.push((
            "mysql: wrong password".into(),
            "mysql",
            format!("mysql://{user}:{pw}@127.0.0.1:3306/test"),
        ));
        Some(guard)
    } else {
        None
    };
    if util::require_service("RabbitMQ", AMQP) {
        cases.push((
            "rabbitmq: wrong password".into(),
            "rabbitmq",
            format!("amqp://guest:{pw}@127.0.0.1:5672/%2f"),
        ));
    }

    for (case, kind, url) in &cases {
        let started = Instant::now();
        let (error, obs) = match *kind {
            "postgres" => match postgres::inspect(&cx, url).await {
                Ok(v) => panic!("{case}: inspected {v:?}"),
                Err(e) => (
                    e.to_string(),
                    Observations {
                        postgres: Probed::Failed(e.to_string()),
                        ..Observations::default()
                    },
                ),
            },
            "mysql" => match mysql::inspect(&cx, url).await {
                Ok(v) => panic!("{case}: inspected {v:?}"),
                Err(e) => (
                    e.to_string(),
                    Observations {
                        mysql: Probed::Failed(e.to_string()),
                        ..Observations::default()
                    },
                ),
            },
            "redis" => match redis::inspect(&cx, url, RedisRole::Cache).await {
                Ok(r) => match &r.session {
                    // The server answered the anonymous PING but refused the credentials.
                    Probed::Failed(reason) => (
                        reason.clone(),
                        Observations {
                            redis: Probed::Observed(r.clone()),
                            ..Observations::default()
                        },
                    ),
                    _ => panic!("{case}: inspected {r:?}"),
                },
                Err(e) => (
                    e.to_string(),
                    Observations {
                        redis: Probed::Failed(e.to_string()),
                        ..Observations::default()
                    },
                ),
            },
            _ => {
                let r = rabbitmq::inspect(&cx, Some(url), None).await;
                match &r.amqp {
                    Probed::Failed(reason) => (
                        reason.clone(),
                        Observations {
                            rabbitmq: Probed::Observed(r.clone()),
                            ..Observations::default()
                        },
                    ),
                    other => panic!("{case}: {other:?}"),
                }
            }
        };
        let elapsed = started.elapsed();
        assert_failed_well(case, kind, &error, &pw, elapsed);
        if case == "rabbitmq: wrong password" {
            // What the guest:guest attempt reads as "refused" (see probes::deps::rabbitmq).
            assert!(error.contains("ACCESS_REFUSED"), "{case}: {error}");
        }
        // The reachable check fails (critical) and quotes the same redacted reason.
        let reachable = match *kind {
            "postgres" => &checks::db::POSTGRES_REACHABLE,
            "mysql" => &checks::db::MYSQL_REACHABLE,
            "redis" => &checks::redis::REACHABLE,
            _ => &checks::rabbitmq::REACHABLE,
        };
        let j = judge(reachable, &obs).unwrap_or_else(|e| panic!("{case}: {e:?}"));
        assert_eq!(j.outcome, Outcome::Fail, "{case}: {}", text(&j));
        assert!(!text(&j).contains(&pw), "{case}: {}", text(&j));
    }

    // The management API: wrong password and closed port.
    if util::require_service("RabbitMQ management", RABBIT_API) {
        for (case, url, password) in [
            ("management: wrong password", API.to_string(), pw.clone()),
            (
                "management: closed port",
                format!("http://127.0.0.1:{closed}"),
                pw.clone(),
            ),
        ] {
            let started = Instant::now();
            let r = rabbitmq::inspect(
                &cx,
                None,
                Some(&Management {
                    url: &url,
                    username: "guest",
                    password: &password,
                }),
            )
            .await;
            let elapsed = started.elapsed();
            match &r.management {
                Probed::Failed(reason) => {
                    assert!(
                        reason.starts_with("rabbitmq management"),
                        "{case}: {reason}"
                    );
                    assert!(!reason.contains(&pw), "{case}: {reason}");
                    assert!(
                        elapsed < SHORT * 2 + Duration::from_secs(2),
                        "{case}: {elapsed:?}"
                    );
                }
                other => panic!("{case}: {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DNS

/// A DNS responder on 127.0.0.1 (UDP) for the `.test` zone:
/// `app.test` → 127.0.0.1, 127.0.0.2, ::1 with `CAA 0 issue "letsencrypt.org"`;
/// `single.test` → 127.0.0.3 with no CAA; anything else → NXDOMAIN.
fn dns_responder() -> SocketAddr {
    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{A, AAAA, CAA};
    use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let addr = socket.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
            reply.metadata.message_type = MessageType::Response;
            reply.metadata.authoritative = true;
            reply.metadata.recursion_desired = query.metadata.recursion_desired;
            reply.metadata.recursion_available = true;
            for q in &query.queries {
                reply.add_query(q.clone());
                let name = q.name().to_ascii().to_ascii_lowercase();
                let owner: Name = q.name().clone();
                let rdata: Vec<RData> = match (name.as_str(), q.query_type()) {
                    ("app.test.", RecordType::A) => vec![
                        RData::A(A(Ipv4Addr::new(127, 0, 0, 1))),
                        RData::A(A(Ipv4Addr::new(127, 0, 0, 2))),
                    ],
                    ("app.test.", RecordType::AAAA) => vec![RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))],
                    ("app.test.", RecordType::CAA) => vec![RData::CAA(CAA::new_issue(
                        false,
                        Some(Name::from_ascii("letsencrypt.org").expect("name")),
                        Vec::new(),
                    ))],
                    ("single.test.", RecordType::A) => {
                        vec![RData::A(A(Ipv4Addr::new(127, 0, 0, 3)))]
                    }
                    ("app.test.", _) | ("single.test.", _) | ("test.", _) => Vec::new(),
                    _ => {
                        reply.metadata.response_code = ResponseCode::NXDomain;
                        Vec::new()
                    }
                };
                for data in rdata {
                    reply.add_answer(Record::from_rdata(owner.clone(), 60, data));
                }
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, peer);
            }
        }
    });
    addr
}

#[tokio::test]
async fn dns_records_from_a_local_nameserver() {
    let ns = dns_responder();
    let names: Vec<String> = ["app.test", "single.test", "missing.test"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let d = dns::resolve(&cx(SHORT), Some(ns), &names)
        .await
        .expect("resolve");
    assert_eq!(d.nameserver, ns.to_string());
    let app = &d.names[0];
    assert_eq!(app.addresses(), vec!["127.0.0.1", "127.0.0.2", "::1"]);
    let caa = app.caa.observed().expect("caa");
    assert_eq!(caa.found_at.as_deref(), Some("app.test"));
    assert!(
        caa.records[0].contains("issue") && caa.records[0].contains("letsencrypt.org"),
        "{caa:?}"
    );
    assert!(d.names[2].nxdomain);

    let judged = |names: Vec<readyprobe::observations::dns::DnsName>| {
        let obs = Observations {
            dns: Probed::Observed(readyprobe::observations::dns::DnsObservation {
                nameserver: d.nameserver.clone(),
                names,
            }),
            ..Observations::default()
        };
        judge(&checks::dns::RECORDS, &obs).expect("judged")
    };
    let j = judged(vec![d.names[0].clone()]);
    assert_eq!(j.outcome, Outcome::Pass, "{}", text(&j));
    let j = judged(vec![d.names[1].clone()]);
    assert_eq!(j.outcome, Outcome::Warn, "{}", text(&j));
    assert!(
        j.evidence
            .iter()
            .any(|l| l.starts_with("info: no CAA record for single.test"))
    );
    let j = judged(d.names.clone());
    assert_eq!(j.outcome, Outcome::Fail, "{}", text(&j));
    assert!(j.summary.contains("missing.test does not resolve"));

    // A nameserver that does not answer: an error within the timeout, not a hang.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let started = Instant::now();
    let d = dns::resolve(
        &cx(SHORT),
        Some(silent.local_addr().expect("addr")),
        &names[..1],
    )
    .await
    .expect("resolver built");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(d.names[0].a.is_failed(), "{:?}", d.names[0]);
}

// ---------------------------------------------------------------------------------------------
// End to end: the real binary pointed at the machine's services

#[tokio::test]
async fn audit_fills_reliability_and_scalability_from_the_local_services() {
    if !util::require_service("PostgreSQL", PG)
        || !util::require_service("MariaDB", MARIADB)
        || !util::require_service("Redis", REDIS)
        || !util::require_service("RabbitMQ", AMQP)
        || !util::require_service("RabbitMQ management", RABBIT_API)
    {
        return;
    }
    let role = unique("rp_e2e");
    let pw = secret("e2e");
    let _role = pg_role(
        &role,
        &pw,
        "NOSUPERUSER",
        &[format!("GRANT pg_monitor TO {role}")],
    )
    .await;
    let vhost = unique("rp_e2e_shop");
    let _vhost = rabbit_vhost(&vhost).await;
    let ns = dns_responder();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("readyprobe.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[run]
timeout = "5s"
deadline = "90s"

[dependencies]
postgres = "postgres://{role}:{pw}@127.0.0.1:5432/test"
mysql = "mysql://root@127.0.0.1:3306/test"
redis = {{ url = "redis://127.0.0.1:6379", role = "store" }}
rabbitmq = "amqp://guest:guest@127.0.0.1:5672/{vhost}"
rabbitmq_management = {{ url = "http://127.0.0.1:15672", username = "guest", password = "env:RP_E2E_RABBIT_PW" }}

[dependencies.dns]
nameserver = "{ns}"
names = ["app.test"]
"#
        ),
    )
    .expect("write config");

    let output = tokio::task::spawn_blocking(move || {
        util::readyprobe()
            .args(["audit", "--demo", "--format", "json", "--config"])
            .arg(&config)
            .env("RP_E2E_RABBIT_PW", "guest")
            .output()
            .expect("run readyprobe")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0) | Some(1)),
        "exit {:?}\n{stderr}\n{stdout}",
        output.status.code()
    );
    assert!(
        !stdout.contains(&pw) && !stderr.contains(&pw),
        "the postgres password leaked"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");

    for name in ["Reliability & Recovery", "Scalability"] {
        let category = report["categories"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == name))
            .unwrap_or_else(|| panic!("no {name} category"));
        assert_eq!(category["assessed"], true, "{name}: {category}");
        assert!(category["score"].is_number(), "{name}: {category}");
    }
    let finding = |id: &str| -> serde_json::Value {
        report["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["check_id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no finding {id}"))
    };
    let outcome_of = |id: &str| {
        finding(id)["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    let auth = finding("redis.auth");
    assert_eq!(auth["outcome"], "fail", "{auth}");
    assert!(
        auth["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("without authentication")
    );
    for id in [
        "db.postgres.reachable",
        "db.mysql.reachable",
        "redis.reachable",
        "rabbitmq.reachable",
        "db.postgres.superuser",
        "dns.records",
    ] {
        assert_eq!(outcome_of(id), "pass", "{id}: {}", finding(id));
    }
    let dlx = finding("rabbitmq.dlx");
    assert!(
        dlx["evidence"]
            .as_array()
            .is_some_and(|e| e.iter().any(|l| l
                == &serde_json::Value::from(format!(
                    "queue `orders` in vhost `{vhost}` has no dead-letter exchange"
                )))),
        "{dlx}"
    );
    assert_eq!(outcome_of("rabbitmq.dlx_target"), "fail");
    for id in [
        "db.postgres.conn_headroom",
        "db.postgres.idle_in_tx",
        "db.mysql.conn_headroom",
        "redis.memory",
        "redis.clients",
    ] {
        let o = outcome_of(id);
        assert!(
            matches!(o.as_str(), "pass" | "warn" | "fail"),
            "{id} was not judged: {}",
            finding(id)
        );
    }
    // Judged by the declared store role (warn when the machine's Redis persists nothing).
    assert!(
        matches!(outcome_of("redis.persistence").as_str(), "pass" | "warn"),
        "{}",
        finding("redis.persistence")
    );
}

#[test]
fn unconfigured_dependencies_are_skipped_and_do_not_lower_scores() {
    let obs = Observations::default();
    for check in readyprobe::checks::CHECKS.iter().filter(|c| {
        c.id.starts_with("db.")
            || c.id.starts_with("redis.")
            || c.id.starts_with("rabbitmq.")
            || c.id == "dns.records"
    }) {
        assert_eq!(outcome(check, &obs), Outcome::Skipped, "{}", check.id);
    }
}
