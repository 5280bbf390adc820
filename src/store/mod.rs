//! The history store: every recorded run's report, scores and per-finding outcomes, on sqlx.
//!
//! Two backends behind one type: a SQLite file (the default, `sqlite:PATH` or a bare path) and
//! PostgreSQL (`postgres://…`; pass `?options=-c search_path=SCHEMA` to keep the tables in a
//! schema of your choice). The schema is created and upgraded by versioned migrations
//! (`migrations/sqlite`, `migrations/postgres`, embedded with `sqlx::migrate!`, bookkept in
//! `readyprobe_migrations` so they never collide with an application's own `_sqlx_migrations`):
//!
//! - `readyprobe_runs(id, target, profile, started_at, verdict, overall_score, report_json,
//!   recorded_at)` — `report_json` is the JSON contract (`report::json`), so a stored run can be
//!   re-read by any later version;
//! - `readyprobe_findings(run_id, check_id, category, severity, outcome, score)`.
//!
//! Migration 1 is the schema stores had before migrations existed (`IF NOT EXISTS`), so such a
//! store is adopted and upgraded in place.
//!
//! ## Crashes and concurrency
//! Cron runs overlap and get killed. A run is recorded in one transaction (its row and all its
//! findings, or nothing); SQLite runs in WAL mode with `synchronous = FULL` (a committed run
//! survives a crash of the process or the machine) and writers take the lock up front
//! (`BEGIN IMMEDIATE`) and wait for it up to [`BUSY_TIMEOUT`] instead of failing with "database is
//! locked". Migrations run inside one such transaction on SQLite (whose migrator has no lock of
//! its own) and under sqlx's advisory lock on PostgreSQL, so concurrent first runs on a new store
//! apply them once. `tests/store.rs` kills writers with SIGKILL mid-write and runs ten at once.
//!
//! The store only reads and writes history; comparing two runs is [`diff`]'s job.

pub mod diff;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, postgres::PgRow, sqlite::SqliteRow};

use crate::model::Report;
use crate::report::json::JsonReport;

/// The default store when none is given: a SQLite file in the working directory.
pub const DEFAULT_STORE: &str = "sqlite:readyprobe-history.sqlite";

/// How long a SQLite writer waits for another process's write to finish before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The table that records applied migrations (not sqlx's default `_sqlx_migrations`, which an
/// application sharing the database may own).
pub const MIGRATIONS_TABLE: &str = "readyprobe_migrations";

/// The SQLite migrations, embedded.
fn sqlite_migrator() -> Migrator {
    let mut m = sqlx::migrate!("migrations/sqlite");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// The PostgreSQL migrations, embedded.
fn postgres_migrator() -> Migrator {
    let mut m = sqlx::migrate!("migrations/postgres");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// The newest schema version this build knows.
pub fn schema_version() -> i64 {
    sqlite_migrator()
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default()
}

/// A history-store problem, naming the store (a path or a password-free URL).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be opened or its tables created.
    #[error("store {store}: {reason}")]
    Open {
        /// The path or URL (credentials masked).
        store: String,
        /// What went wrong, with the remedy.
        reason: String,
    },
    /// A query failed.
    #[error("store {store}: {reason}")]
    Query {
        /// The path or URL.
        store: String,
        /// What went wrong.
        reason: String,
    },
    /// The run asked for does not exist.
    #[error("store {store}: no run with id {id}; `readyprobe history` lists them")]
    NoSuchRun {
        /// The path or URL.
        store: String,
        /// The id.
        id: i64,
    },
}

/// One row of `readyprobe history`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Run id.
    pub id: i64,
    /// The audited target.
    pub target: String,
    /// The profile.
    pub profile: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// The verdict spelling (`NO-GO`).
    pub verdict: String,
    /// The overall score, if anything was assessed.
    pub overall_score: Option<f64>,
}

/// Reads a `runs()` row (id, target, profile, started_at, verdict, overall_score) from either
/// backend.
fn run_summary<R>(r: &R) -> Result<RunSummary, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> f64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    Ok(RunSummary {
        id: r.try_get(0)?,
        target: r.try_get(1)?,
        profile: r.try_get(2)?,
        started_at: r.try_get(3)?,
        verdict: r.try_get(4)?,
        overall_score: r.try_get(5)?,
    })
}

/// A stored run with its full report.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// Run id.
    pub id: i64,
    /// The report as written (JSON contract).
    pub report: JsonReport,
}

/// An open history store.
#[derive(Debug, Clone)]
pub enum Store {
    /// A SQLite file.
    Sqlite {
        /// The pool.
        pool: SqlitePool,
        /// The file, for messages.
        path: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// The pool.
        pool: PgPool,
        /// The URL with the password masked, for messages.
        shown: String,
    },
}

/// A migration failure, with what to do about it.
fn migrate_reason(e: &sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError;
    match e {
        MigrateError::VersionMissing(v) => format!(
            "the store was written by a newer readyprobe (schema version {v}; this build knows up \
             to {}): upgrade readyprobe, or pass another --store",
            schema_version()
        ),
        MigrateError::VersionMismatch(v) => format!(
            "migration {v} recorded in the store differs from this build's: the store was \
             written by a modified readyprobe; pass another --store"
        ),
        MigrateError::Dirty(v) => format!(
            "migration {v} is recorded as partially applied; restore the store from a backup"
        ),
        other => format!("cannot create or upgrade the history tables: {other}"),
    }
}

fn sqlite_reason(e: &sqlx::Error, path: &Path) -> String {
    let text = e.to_string();
    if text.contains("not a database") || text.contains("malformed") {
        format!(
            "the file is not a readyprobe history database (corrupt or another format: {text}); move it away or pass another --store"
        )
    } else if text.contains("unable to open")
        || text.contains("readonly")
        || text.contains("read-only")
    {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        format!(
            "cannot open or write the SQLite file ({text}); check that {} exists and is writable, or pass another --store",
            dir.display()
        )
    } else {
        text
    }
}

impl Store {
    /// Opens (creating if needed) the store named by `spec`: `sqlite:PATH`, a bare path, or
    /// `postgres://…` / `postgresql://…`.
    pub async fn open(spec: &str) -> Result<Store, StoreError> {
        let spec = spec.trim();
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let shown = crate::redact::url_str(spec);
            let err = |reason: String| StoreError::Open {
                store: shown.clone(),
                reason,
            };
            let opts = PgConnectOptions::from_str(spec)
                .map_err(|e| err(format!("not a valid PostgreSQL URL: {e}")))?;
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(|e| err(format!("cannot connect: {e}")))?;
            // sqlx takes a PostgreSQL advisory lock around the migrations.
            tracing::debug!(target: "readyprobe::store", store = %shown, "migrating");
            postgres_migrator()
                .run(&pool)
                .await
                .map_err(|e| err(migrate_reason(&e)))?;
            return Ok(Store::Postgres { pool, shown });
        }
        let raw = spec
            .strip_prefix("sqlite://")
            .or_else(|| spec.strip_prefix("sqlite:"))
            .unwrap_or(spec);
        if raw.is_empty() {
            return Err(StoreError::Open {
                store: spec.to_string(),
                reason: "expected sqlite:PATH, a file path or postgres://…".to_string(),
            });
        }
        let path = PathBuf::from(raw);
        let err = |reason: String| StoreError::Open {
            store: path.display().to_string(),
            reason,
        };
        if path.is_dir() {
            return Err(err(
                "is a directory; give a file path such as history.sqlite".to_string(),
            ));
        }
        let opts = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(opts)
            .await
            .map_err(|e| err(sqlite_reason(&e, &path)))?;
        // SQLite's migrator takes no lock: run it inside one write transaction so concurrent
        // first runs on a new file apply each migration once (the others wait, then find it
        // applied). Its own per-migration transactions become savepoints.
        tracing::debug!(target: "readyprobe::store", store = %path.display(), "migrating");
        let migrated = async {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlite_migrator()
                .run(&mut *tx)
                .await
                .map_err(|e| sqlx::Error::Protocol(migrate_reason(&e)))?;
            tx.commit().await
        };
        migrated.await.map_err(|e| err(sqlite_reason(&e, &path)))?;
        Ok(Store::Sqlite { pool, path })
    }

    /// The store's name for messages (path or masked URL).
    pub fn name(&self) -> String {
        match self {
            Store::Sqlite { path, .. } => path.display().to_string(),
            Store::Postgres { shown, .. } => shown.clone(),
        }
    }

    fn query_err(&self, e: sqlx::Error) -> StoreError {
        let reason = match self {
            Store::Sqlite { path, .. } => sqlite_reason(&e, path),
            Store::Postgres { .. } => e.to_string(),
        };
        StoreError::Query {
            store: self.name(),
            reason,
        }
    }

    /// Records one run; returns its id.
    pub async fn record(&self, report: &Report) -> Result<i64, StoreError> {
        let json = crate::report::json::render(report);
        let verdict = report.verdict.as_str();
        let recorded_at =
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        tracing::debug!(target: "readyprobe::store", store = %self.name(), findings = report.findings.len(), "recording run");
        let id = match self {
            Store::Sqlite { pool, .. } => {
                // The write lock up front: a deferred transaction that reads first can fail with
                // "database is locked" without waiting when another process writes meanwhile.
                let mut tx = pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(|e| self.query_err(e))?;
                let row: SqliteRow = sqlx::query(
                    "INSERT INTO readyprobe_runs (target, profile, started_at, verdict, overall_score, report_json, recorded_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(&report.target)
                .bind(&report.profile)
                .bind(&report.started_at)
                .bind(verdict)
                .bind(report.overall_score)
                .bind(&json)
                .bind(&recorded_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.query_err(e))?;
                let id: i64 = row.try_get(0).map_err(|e| self.query_err(e))?;
                for f in &report.findings {
                    sqlx::query(
                        "INSERT INTO readyprobe_findings (run_id, check_id, category, severity, outcome, score)
                         VALUES (?, ?, ?, ?, ?, ?)",
                    )
                    .bind(id)
                    .bind(&f.check_id)
                    .bind(f.category.name())
                    .bind(f.severity.as_str())
                    .bind(f.outcome.as_str())
                    .bind(f.score)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.query_err(e))?;
                }
                tx.commit().await.map_err(|e| self.query_err(e))?;
                id
            }
            Store::Postgres { pool, .. } => {
                let mut tx = pool.begin().await.map_err(|e| self.query_err(e))?;
                let row: PgRow = sqlx::query(
                    "INSERT INTO readyprobe_runs (target, profile, started_at, verdict, overall_score, report_json, recorded_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&report.target)
                .bind(&report.profile)
                .bind(&report.started_at)
                .bind(verdict)
                .bind(report.overall_score)
                .bind(&json)
                .bind(&recorded_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.query_err(e))?;
                let id: i64 = row.try_get(0).map_err(|e| self.query_err(e))?;
                for f in &report.findings {
                    sqlx::query(
                        "INSERT INTO readyprobe_findings (run_id, check_id, category, severity, outcome, score)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(id)
                    .bind(&f.check_id)
                    .bind(f.category.name())
                    .bind(f.severity.as_str())
                    .bind(f.outcome.as_str())
                    .bind(f.score)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.query_err(e))?;
                }
                tx.commit().await.map_err(|e| self.query_err(e))?;
                id
            }
        };
        Ok(id)
    }

    /// The most recent runs, newest first, optionally of one target.
    pub async fn runs(
        &self,
        target: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RunSummary>, StoreError> {
        const SQLITE: &str =
            "SELECT id, target, profile, started_at, verdict, overall_score FROM readyprobe_runs
             WHERE (? IS NULL OR target = ?) ORDER BY id DESC LIMIT ?";
        const PG: &str =
            "SELECT id, target, profile, started_at, verdict, overall_score FROM readyprobe_runs
             WHERE ($1::TEXT IS NULL OR target = $1) ORDER BY id DESC LIMIT $2";
        match self {
            Store::Sqlite { pool, .. } => {
                let rows = sqlx::query(SQLITE)
                    .bind(target)
                    .bind(target)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| self.query_err(e))?;
                rows.iter()
                    .map(run_summary)
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(|e| self.query_err(e))
            }
            Store::Postgres { pool, .. } => {
                let rows = sqlx::query(PG)
                    .bind(target)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
                    .map_err(|e| self.query_err(e))?;
                rows.iter()
                    .map(run_summary)
                    .collect::<Result<_, sqlx::Error>>()
                    .map_err(|e| self.query_err(e))
            }
        }
    }

    /// Loads one run's full report.
    pub async fn load(&self, id: i64) -> Result<StoredRun, StoreError> {
        let json: Option<String> = match self {
            Store::Sqlite { pool, .. } => {
                sqlx::query_scalar("SELECT report_json FROM readyprobe_runs WHERE id = ?")
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
            Store::Postgres { pool, .. } => {
                sqlx::query_scalar("SELECT report_json FROM readyprobe_runs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await
            }
        }
        .map_err(|e| self.query_err(e))?;
        let json = json.ok_or_else(|| StoreError::NoSuchRun {
            store: self.name(),
            id,
        })?;
        let report: JsonReport = serde_json::from_str(&json).map_err(|e| StoreError::Query {
            store: self.name(),
            reason: format!("run {id}: the stored report is not valid JSON: {e}"),
        })?;
        Ok(StoredRun { id, report })
    }

    /// The run of the same target recorded just before `id`, if any.
    pub async fn previous(&self, target: &str, id: i64) -> Result<Option<StoredRun>, StoreError> {
        let prev: Option<i64> = match self {
            Store::Sqlite { pool, .. } => sqlx::query_scalar(
                "SELECT id FROM readyprobe_runs WHERE target = ? AND id < ? ORDER BY id DESC LIMIT 1",
            )
            .bind(target)
            .bind(id)
            .fetch_optional(pool)
            .await,
            Store::Postgres { pool, .. } => sqlx::query_scalar(
                "SELECT id FROM readyprobe_runs WHERE target = $1 AND id < $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(target)
            .bind(id)
            .fetch_optional(pool)
            .await,
        }
        .map_err(|e| self.query_err(e))?;
        match prev {
            Some(prev) => Ok(Some(self.load(prev).await?)),
            None => Ok(None),
        }
    }

    /// Closes the pool.
    pub async fn close(self) {
        match self {
            Store::Sqlite { pool, .. } => pool.close().await,
            Store::Postgres { pool, .. } => pool.close().await,
        }
    }
}
