//! The history store under crashes and concurrency, through the real binary: `kill -9` of
//! `readyprobe audit --store …` at random points (anywhere in the run, just after it starts
//! writing the run, while it migrates a new store), ten cron runs at once on one store, and
//! stores written by the schema readyprobe had before versioned migrations — on SQLite and on the
//! machine's PostgreSQL (each test in a schema of its own).
//!
//! After every kill the store must open (with readyprobe's own `Store::open`, which migrates),
//! pass `PRAGMA integrity_check` (SQLite), hold every run whose process printed "recorded run N",
//! and hold only whole runs: each stored run has exactly the findings its report lists.
//!
//! The kill loop runs [`KILLS_CI`] iterations per backend in a normal `cargo test`, and
//! [`KILLS_FULL`] with `READYPROBE_FULL_SOAK=1` (SOAK.md records the last full run);
//! `READYPROBE_SOAK_SEED=N` replays a seed (each run prints its own).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sqlx::{Connection, Row};

use crate::hostile::{Behaviour, raw_server};
use crate::util;

/// Kill-loop iterations in a normal test run.
const KILLS_CI: usize = 20;
/// Kill-loop iterations with `READYPROBE_FULL_SOAK=1`.
const KILLS_FULL: usize = 200;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";

fn kill_iterations() -> usize {
    if std::env::var("READYPROBE_FULL_SOAK").is_ok_and(|v| v == "1") {
        KILLS_FULL
    } else {
        KILLS_CI
    }
}

/// xorshift64*: reproducible kill points from a printed seed.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("READYPROBE_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        eprintln!("kill loop seed: {seed} (READYPROBE_SOAK_SEED={seed} replays it)");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max`.
    fn upto(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros() as u64;
        Duration::from_micros(self.next() % (micros + 1))
    }
}

/// A quick local target (`/` answers, everything else 404).
async fn target() -> String {
    let server = raw_server("127.0.0.1", None, |path| {
        if path == "/" {
            Behaviour::Normal
        } else {
            Behaviour::NotFound
        }
    })
    .await;
    format!("http://{}/", server.addr)
}

/// `readyprobe audit <url> --store <store>`, passive only, stderr carrying the store's debug
/// lines ("migrating", "recording run") so a kill can be aimed at them.
fn audit(url: &str, store: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_readyprobe"));
    for (key, _) in std::env::vars() {
        if key.starts_with("READYPROBE_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(["audit", url, "--profile", "production", "--format", "json"])
        .args(["--deadline", "10s", "--timeout", "2s", "--store", store])
        .env("RUST_LOG", "warn,readyprobe::store=debug")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// The run ids a process reported as recorded ("readyprobe: recorded run N in …").
fn reported(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .filter_map(|l| l.split("recorded run ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter_map(|id| id.parse().ok())
        .collect()
}

/// A spawned audit whose stderr lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd.spawn().expect("spawn readyprobe");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`; false if the process ended (or 60 s
    /// passed) first.
    fn wait_for(&mut self, needle: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
        false
    }

    /// SIGKILL (if still running); returns whether it was killed, and every stderr line.
    fn kill(mut self) -> (bool, Vec<String>) {
        let killed = matches!(self.child.try_wait(), Ok(None));
        if killed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        self.seen.extend(self.lines.iter());
        (killed, self.seen)
    }

    /// Waits for the exit; returns the code and every stderr line.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let status = self.child.wait().expect("wait");
        self.seen.extend(self.lines.iter());
        (status.code(), self.seen)
    }
}

/// Where a kill is aimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aim {
    /// Anywhere between the start and the expected end of the run.
    Anywhere,
    /// After the process starts recording the run: within twice the time a write takes.
    Writing,
    /// Within 10 ms after it starts migrating a store that does not exist yet.
    Migrating,
}

/// How a kill loop went, for the summary line (and SOAK.md).
#[derive(Debug, Default)]
struct Tally {
    iterations: usize,
    killed: usize,
    finished: usize,
    by_aim: [usize; 3],
    reported: usize,
    stored: usize,
    fresh_stores: usize,
}

/// Kills audits at random points; after each, `verify(store)` must return the ids stored
/// (having checked integrity itself) and every reported run so far must be among them.
async fn kill_loop<F, Fut>(backend: &str, store: &str, fresh: impl Fn(usize) -> String, verify: F)
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = BTreeSet<i64>>,
{
    let url = target().await;
    // How long one run takes, start to exit, and its write, on this machine now.
    let started = Instant::now();
    let (code, lines, write) = {
        let cmd = audit(&url, store);
        tokio::task::spawn_blocking(move || {
            let mut run = Running::spawn(cmd);
            assert!(run.wait_for("recording run"), "no store debug line");
            let writing = Instant::now();
            assert!(run.wait_for("recorded run"), "the run was not recorded");
            let write = writing.elapsed();
            let (code, lines) = run.finish();
            (code, lines, write)
        })
        .await
        .expect("join")
    };
    let full = started.elapsed();
    // Kills aimed at the write land from just before it starts to well after it committed.
    let write_window = write * 2 + Duration::from_millis(2);
    eprintln!("one run: {full:?}, its write (as seen on stderr): {write:?}");
    assert!(
        matches!(code, Some(0 | 1)),
        "a clean run: {code:?} {lines:?}"
    );
    let mut promised: BTreeSet<i64> = reported(&lines).into_iter().collect();
    assert_eq!(promised.len(), 1, "{lines:?}");

    let mut rng = Rng::from_env();
    let mut tally = Tally::default();
    let iterations = kill_iterations();
    for i in 0..iterations {
        let aim = match rng.next() % 10 {
            0 => Aim::Migrating,
            1..=3 => Aim::Anywhere,
            _ => Aim::Writing,
        };
        let spec = if aim == Aim::Migrating {
            tally.fresh_stores += 1;
            fresh(i)
        } else {
            store.to_string()
        };
        let delay = match aim {
            Aim::Anywhere => rng.upto(full + full / 4),
            Aim::Writing => rng.upto(write_window),
            Aim::Migrating => rng.upto(Duration::from_millis(10)),
        };
        let cmd = audit(&url, &spec);
        let (killed, lines) = tokio::task::spawn_blocking(move || {
            let mut run = Running::spawn(cmd);
            match aim {
                Aim::Anywhere => std::thread::sleep(delay),
                Aim::Writing => {
                    if run.wait_for("recording run") {
                        std::thread::sleep(delay);
                    }
                }
                Aim::Migrating => {
                    if run.wait_for("migrating") {
                        std::thread::sleep(delay);
                    }
                }
            }
            run.kill()
        })
        .await
        .expect("join");
        tally.iterations += 1;
        tally.by_aim[aim as usize] += 1;
        if killed {
            tally.killed += 1;
        } else {
            tally.finished += 1;
            assert!(
                !lines
                    .iter()
                    .any(|l| l.contains("locked") || l.contains("panicked")),
                "iteration {i}: {lines:#?}"
            );
        }
        let ids = verify(spec.clone()).await;
        let now: Vec<i64> = reported(&lines);
        if spec == store {
            promised.extend(&now);
            let lost: Vec<&i64> = promised.difference(&ids).collect();
            assert!(
                lost.is_empty(),
                "iteration {i} ({aim:?}, {delay:?}): reported runs {lost:?} are not in the store"
            );
            tally.stored = ids.len();
        } else {
            for id in &now {
                assert!(ids.contains(id), "iteration {i}: run {id} lost in {spec}");
            }
        }
        tally.reported += now.len();
    }
    eprintln!(
        "kill -9 loop ({backend}): {} iterations ({} killed, {} finished first; aimed anywhere {}, \
         while writing {}, while migrating a new store {}): {} runs reported recorded, all present; \
         {} runs in the store, every one whole{}",
        tally.iterations,
        tally.killed,
        tally.finished,
        tally.by_aim[Aim::Anywhere as usize],
        tally.by_aim[Aim::Writing as usize],
        tally.by_aim[Aim::Migrating as usize],
        tally.reported + 1,
        tally.stored,
        if backend == "sqlite" {
            "; PRAGMA integrity_check ok after every kill"
        } else {
            ""
        },
    );
    assert_eq!(tally.iterations, iterations);
    assert!(
        tally.killed > 0,
        "no iteration was killed: the loop proved nothing"
    );
}

/// Opens a SQLite store the way the binary does (migrating it), checks its integrity and that
/// every run is whole; returns the run ids.
async fn verify_sqlite(spec: String) -> BTreeSet<i64> {
    let path = spec.trim_start_matches("sqlite:").to_string();
    if !std::path::Path::new(&path).exists() {
        // Killed before the file was created.
        return BTreeSet::new();
    }
    // First as left behind, before readyprobe touches it again.
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{path}"))
        .await
        .unwrap_or_else(|e| panic!("{path} does not open: {e}"));
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity_check");
    assert_eq!(integrity, "ok", "{path}: integrity_check");
    conn.close().await.expect("close");
    let store = readyprobe::store::Store::open(&spec)
        .await
        .unwrap_or_else(|e| panic!("readyprobe cannot open the store: {e}"));
    let readyprobe::store::Store::Sqlite { pool, .. } = &store else {
        panic!("not sqlite");
    };
    let rows = sqlx::query("SELECT id, report_json FROM readyprobe_runs")
        .fetch_all(pool)
        .await
        .expect("runs");
    let mut ids = BTreeSet::new();
    for row in rows {
        let id: i64 = row.get(0);
        let json: String = row.get(1);
        let findings: i64 =
            sqlx::query_scalar("SELECT count(*) FROM readyprobe_findings WHERE run_id = ?")
                .bind(id)
                .fetch_one(pool)
                .await
                .expect("count");
        assert_whole(id, &json, findings);
        ids.insert(id);
    }
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM readyprobe_findings WHERE run_id NOT IN (SELECT id FROM readyprobe_runs)",
    )
    .fetch_one(pool)
    .await
    .expect("orphans");
    assert_eq!(orphans, 0, "findings without their run");
    store.close().await;
    ids
}

/// A stored run has exactly the findings its report lists.
fn assert_whole(id: i64, json: &str, findings: i64) {
    let report: serde_json::Value = serde_json::from_str(json).expect("stored report is JSON");
    let listed = report["findings"].as_array().map_or(0, Vec::len) as i64;
    assert!(listed > 0, "run {id}: an empty report");
    assert_eq!(findings, listed, "run {id}: a half-written run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_survives_kill_9_at_random_points() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("sqlite:{}", dir.path().join("history.sqlite").display());
    let base = dir.path().to_path_buf();
    kill_loop(
        "sqlite",
        &store,
        |i| {
            format!(
                "sqlite:{}",
                base.join(format!("fresh-{i}.sqlite")).display()
            )
        },
        verify_sqlite,
    )
    .await;
}

/// Starts `n` audits on one store at the same moment; returns each one's exit code and stderr.
async fn concurrent_runs(n: usize, store: &str) -> Vec<(Option<i32>, Vec<String>)> {
    let url = target().await;
    let store = store.to_string();
    tokio::task::spawn_blocking(move || {
        let runs: Vec<Running> = (0..n)
            .map(|_| Running::spawn(audit(&url, &store)))
            .collect();
        runs.into_iter().map(Running::finish).collect()
    })
    .await
    .expect("join")
}

fn assert_all_landed(runs: &[(Option<i32>, Vec<String>)], ids: &BTreeSet<i64>) {
    let mut recorded = BTreeSet::new();
    for (code, lines) in runs {
        assert!(
            matches!(code, Some(0 | 1)),
            "a run failed ({code:?}): {lines:#?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("database is locked")),
            "{lines:#?}"
        );
        let mine = reported(lines);
        assert_eq!(mine.len(), 1, "{lines:#?}");
        recorded.extend(mine);
    }
    assert_eq!(recorded.len(), runs.len(), "distinct run ids: {recorded:?}");
    assert_eq!(&recorded, ids, "the store holds exactly the recorded runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_cron_runs_on_one_new_sqlite_store_all_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A store that does not exist yet: all ten create and migrate it at once.
    let store = format!("sqlite:{}", dir.path().join("history.sqlite").display());
    let runs = concurrent_runs(10, &store).await;
    let ids = verify_sqlite(store.clone()).await;
    assert_all_landed(&runs, &ids);
    // And ten more on the existing store.
    let more = concurrent_runs(10, &store).await;
    let all = verify_sqlite(store).await;
    let new: BTreeSet<i64> = all.difference(&ids).copied().collect();
    assert_all_landed(&more, &new);
}

/// Creates `path` with the pre-migration schema and two runs in it (real reports from an audit
/// of a local target), as the old code wrote them.
async fn old_sqlite_store(path: &std::path::Path) -> Vec<(i64, String)> {
    let reports = old_reports().await;
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true),
    )
    .await
    .expect("create the old store");
    sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
        "fixtures/store/v0-sqlite.sql"
    )))
    .execute(&mut conn)
    .await
    .expect("old schema");
    let mut out = Vec::new();
    for report in &reports {
        let v: serde_json::Value = serde_json::from_str(report).expect("json");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO readyprobe_runs (target, profile, started_at, verdict, overall_score, report_json)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(v["target"].as_str())
        .bind(v["profile"].as_str())
        .bind(v["started_at"].as_str())
        .bind(v["verdict"].as_str())
        .bind(v["overall_score"].as_f64())
        .bind(report)
        .fetch_one(&mut conn)
        .await
        .expect("old run");
        for f in v["findings"].as_array().expect("findings") {
            sqlx::query(
                "INSERT INTO readyprobe_findings (run_id, check_id, category, severity, outcome, score)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(f["check_id"].as_str())
            .bind(f["category"].as_str())
            .bind(f["severity"].as_str())
            .bind(f["outcome"].as_str())
            .bind(f["score"].as_f64())
            .execute(&mut conn)
            .await
            .expect("old finding");
        }
        out.push((id, report.clone()));
    }
    conn.close().await.expect("close");
    out
}

/// Two real JSON reports (the stored form) of a local target.
async fn old_reports() -> Vec<String> {
    let url = target().await;
    let mut out = Vec::new();
    for _ in 0..2 {
        let url = url.clone();
        let stdout = tokio::task::spawn_blocking(move || {
            util::readyprobe()
                .args(["audit", &url, "--profile", "production", "--format", "json"])
                .args(["--deadline", "10s", "--timeout", "2s"])
                .output()
                .expect("run")
                .stdout
        })
        .await
        .expect("join");
        out.push(String::from_utf8(stdout).expect("utf-8"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_from_before_migrations_is_adopted_and_upgraded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.sqlite");
    let old = old_sqlite_store(&path).await;
    let spec = format!("sqlite:{}", path.display());

    // The binary reads the old runs, then records a new one into the upgraded store.
    let out = util::readyprobe()
        .args(["history", "--store", &spec])
        .output()
        .expect("history");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(listed.contains(&format!("{}", old[0].0)), "{listed}");
    let url = target().await;
    let cmd = audit(&url, &spec);
    let (code, lines) = tokio::task::spawn_blocking(move || Running::spawn(cmd).finish())
        .await
        .expect("join");
    assert!(matches!(code, Some(0 | 1)), "{lines:#?}");
    let new = reported(&lines);
    assert_eq!(new, vec![old[1].0 + 1], "{lines:#?}");

    let store = readyprobe::store::Store::open(&spec).await.expect("open");
    for (id, json) in &old {
        let run = store.load(*id).await.expect("an old run loads");
        let original: serde_json::Value = serde_json::from_str(json).expect("json");
        assert_eq!(
            serde_json::to_value(&run.report).expect("value")["findings"],
            original["findings"],
            "run {id} is unchanged"
        );
    }
    let readyprobe::store::Store::Sqlite { pool, .. } = &store else {
        panic!("not sqlite");
    };
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM readyprobe_migrations ORDER BY version")
            .fetch_all(pool)
            .await
            .expect("migrations recorded");
    assert_eq!(versions, vec![1, 2]);
    assert_eq!(readyprobe::store::schema_version(), 2);
    let index: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'readyprobe_findings_run'",
    )
    .fetch_one(pool)
    .await
    .expect("index");
    assert_eq!(index, 1, "migration 2 added the index");
    let recorded: Vec<Option<String>> =
        sqlx::query_scalar("SELECT recorded_at FROM readyprobe_runs ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("recorded_at");
    assert_eq!(recorded.len(), 3);
    assert!(
        recorded[0].is_none() && recorded[1].is_none(),
        "old runs keep NULL"
    );
    assert!(
        recorded[2].is_some(),
        "new runs record when they were stored"
    );
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .expect("journal_mode");
    assert_eq!(journal, "wal");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_from_a_newer_readyprobe_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("newer.sqlite");
    let spec = format!("sqlite:{}", path.display());
    readyprobe::store::Store::open(&spec)
        .await
        .expect("create")
        .close()
        .await;
    let mut conn = sqlx::SqliteConnection::connect(&spec).await.expect("open");
    sqlx::query(
        "INSERT INTO readyprobe_migrations (version, description, success, checksum, execution_time)
         VALUES (99, 'from the future', 1, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .expect("a future migration");
    conn.close().await.expect("close");
    let out = util::readyprobe()
        .args(["history", "--store", &spec])
        .output()
        .expect("history");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("written by a newer readyprobe (schema version 99"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// A schema of its own on the machine's PostgreSQL, dropped at the end.
struct PgSchema {
    name: String,
    pool: sqlx::PgPool,
}

impl PgSchema {
    async fn create(tag: &str) -> PgSchema {
        util::crypto();
        let name = format!("rp_store_{tag}_{}", std::process::id());
        let pool = sqlx::PgPool::connect(PG_ADMIN)
            .await
            .expect("connect to the machine's PostgreSQL");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&pool)
        .await
        .expect("drop");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&pool)
            .await
            .expect("create schema");
        PgSchema { name, pool }
    }

    /// The store spec keeping the tables in this schema.
    fn store(&self) -> String {
        format!("{PG_ADMIN}&options=-c%20search_path%3D{}", self.name)
    }

    async fn drop_schema(self) {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.name
        )))
        .execute(&self.pool)
        .await;
        self.pool.close().await;
    }
}

/// Opens a PostgreSQL store the way the binary does and checks every run is whole.
async fn verify_postgres(spec: String) -> BTreeSet<i64> {
    let store = readyprobe::store::Store::open(&spec)
        .await
        .unwrap_or_else(|e| panic!("readyprobe cannot open the store: {e}"));
    let readyprobe::store::Store::Postgres { pool, .. } = &store else {
        panic!("not postgres");
    };
    let rows = sqlx::query(
        "SELECT r.id, r.report_json, (SELECT count(*) FROM readyprobe_findings f WHERE f.run_id = r.id)
         FROM readyprobe_runs r",
    )
    .fetch_all(pool)
    .await
    .expect("runs");
    let mut ids = BTreeSet::new();
    for row in rows {
        let id: i64 = row.get(0);
        let json: String = row.get(1);
        let findings: i64 = row.get(2);
        assert_whole(id, &json, findings);
        ids.insert(id);
    }
    store.close().await;
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_survives_kill_9_at_random_points() {
    if !util::require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let main = PgSchema::create("kill").await;
    let store = main.store();
    // "A new store" on PostgreSQL: a fresh, empty schema per migrating kill (it must exist for
    // search_path to place the tables there).
    let fresh = |i: usize| {
        format!(
            "{PG_ADMIN}&options=-c%20search_path%3Drp_store_fresh{i}_{}",
            std::process::id()
        )
    };
    for i in 0..kill_iterations() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS rp_store_fresh{i}_{pid} CASCADE; CREATE SCHEMA rp_store_fresh{i}_{pid}",
            pid = std::process::id()
        )))
        .execute(&main.pool)
        .await
        .expect("fresh schema");
    }
    kill_loop("postgres", &store, fresh, verify_postgres).await;
    for i in 0..kill_iterations() {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS rp_store_fresh{i}_{} CASCADE",
            std::process::id()
        )))
        .execute(&main.pool)
        .await;
    }
    main.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_cron_runs_on_one_new_postgres_store_all_land() {
    if !util::require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let schema = PgSchema::create("concurrent").await;
    let runs = concurrent_runs(10, &schema.store()).await;
    let ids = verify_postgres(schema.store()).await;
    assert_all_landed(&runs, &ids);
    schema.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_from_before_migrations_is_adopted_and_upgraded() {
    if !util::require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let schema = PgSchema::create("old").await;
    let reports = old_reports().await;
    let mut conn = sqlx::PgConnection::connect(&schema.store())
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(include_str!(
        "fixtures/store/v0-postgres.sql"
    )))
    .execute(&mut conn)
    .await
    .expect("old schema");
    let mut old = Vec::new();
    for report in &reports {
        let v: serde_json::Value = serde_json::from_str(report).expect("json");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO readyprobe_runs (target, profile, started_at, verdict, overall_score, report_json)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(v["target"].as_str())
        .bind(v["profile"].as_str())
        .bind(v["started_at"].as_str())
        .bind(v["verdict"].as_str())
        .bind(v["overall_score"].as_f64())
        .bind(report)
        .fetch_one(&mut conn)
        .await
        .expect("old run");
        for f in v["findings"].as_array().expect("findings") {
            sqlx::query(
                "INSERT INTO readyprobe_findings (run_id, check_id, category, severity, outcome, score)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(f["check_id"].as_str())
            .bind(f["category"].as_str())
            .bind(f["severity"].as_str())
            .bind(f["outcome"].as_str())
            .bind(f["score"].as_f64())
            .execute(&mut conn)
            .await
            .expect("old finding");
        }
        old.push(id);
    }
    conn.close().await.expect("close");

    let url = target().await;
    let cmd = audit(&url, &schema.store());
    let (code, lines) = tokio::task::spawn_blocking(move || Running::spawn(cmd).finish())
        .await
        .expect("join");
    assert!(matches!(code, Some(0 | 1)), "{lines:#?}");
    assert_eq!(reported(&lines), vec![old[1] + 1], "{lines:#?}");
    let ids = verify_postgres(schema.store()).await;
    assert_eq!(ids.len(), 3);
    let versions: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT version FROM {}.readyprobe_migrations ORDER BY version",
        schema.name
    )))
    .fetch_all(&schema.pool)
    .await
    .expect("migrations recorded in the store's schema");
    assert_eq!(versions, vec![1, 2]);
    let index: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'readyprobe_findings_run'",
    )
    .bind(&schema.name)
    .fetch_one(&schema.pool)
    .await
    .expect("index");
    assert_eq!(index, 1);
    schema.drop_schema().await;
}
