//! PostgreSQL, inspected read-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Probed;

/// What one PostgreSQL inspection saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgObservation {
    /// The DSN, password masked.
    pub server: String,
    /// Connect (TCP, TLS, startup, authentication) in milliseconds.
    pub connect_ms: f64,
    /// Round trip of `SELECT 1` in milliseconds.
    pub select1_ms: f64,
    /// `version()`.
    pub version: String,
    /// `server_version_num`.
    pub version_num: i32,
    /// Settings by name (`pg_settings.setting`, unit kept apart); a missing name was not visible.
    pub settings: Probed<BTreeMap<String, PgSetting>>,
    /// The login role.
    pub role: Probed<PgRole>,
    /// This connection's `pg_stat_ssl` row.
    pub connection_ssl: Probed<PgConnectionSsl>,
    /// Backends connected now.
    pub connections: Probed<PgConnections>,
    /// Other sessions idle in a transaction or running a query for over a minute (skipped when
    /// the role cannot see other sessions).
    pub sessions: Probed<Vec<PgSession>>,
    /// `pg_stat_archiver`.
    pub archiver: Probed<PgArchiver>,
    /// Large tables of the connected database with their scan counters.
    pub tables: Probed<Vec<PgTableScans>>,
    /// `pg_stat_statements`: installed or not, and the slowest statements by mean time.
    pub statements: Probed<PgStatements>,
}

/// One setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgSetting {
    /// `pg_settings.setting` (redacted for `archive_command`).
    pub value: String,
    /// `pg_settings.unit` (`ms`, `s`, `8kB`…) or empty.
    pub unit: String,
}

impl PgSetting {
    /// The value with its unit, as `SHOW` would phrase it (`0`, `30000ms`).
    pub fn shown(&self) -> String {
        if self.value == "0" || self.unit.is_empty() {
            self.value.clone()
        } else {
            format!("{}{}", self.value, self.unit)
        }
    }
}

/// The login role's attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgRole {
    /// `current_user`.
    pub name: String,
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolbypassrls`.
    pub bypass_rls: bool,
    /// `rolcreaterole`.
    pub create_role: bool,
    /// `rolreplication`.
    pub replication: bool,
    /// Member of `pg_read_all_stats` (directly or through `pg_monitor`), or a superuser: can see
    /// other sessions' state and query.
    pub sees_all_sessions: bool,
}

/// `pg_stat_ssl` for this connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgConnectionSsl {
    /// True when this connection is encrypted.
    pub ssl: bool,
    /// `TLSv1.3`…, empty when not encrypted.
    pub version: String,
    /// The cipher, empty when not encrypted.
    pub cipher: String,
}

/// Connection counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgConnections {
    /// Client backends (sessions) connected now, this probe's included.
    pub client_backends: i64,
    /// Every backend (background workers included).
    pub all_backends: i64,
}

/// Another session worth reporting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgSession {
    /// Backend pid.
    pub pid: i32,
    /// User name.
    pub user: String,
    /// Database.
    pub database: String,
    /// `application_name`.
    pub application: String,
    /// `state` (`active`, `idle in transaction`…).
    pub state: String,
    /// Seconds in the current state (idle-in-transaction age).
    pub state_secs: f64,
    /// Seconds since the current query started.
    pub query_secs: f64,
    /// The query text with literals masked, clipped.
    pub query: String,
}

impl PgSession {
    /// True for `idle in transaction` and `idle in transaction (aborted)`.
    pub fn is_idle_in_transaction(&self) -> bool {
        self.state.starts_with("idle in transaction")
    }
}

/// `pg_stat_archiver`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgArchiver {
    /// WAL files archived successfully since the stats reset.
    pub archived_count: i64,
    /// Last archived WAL file.
    pub last_archived_wal: String,
    /// Seconds since the last success (None: never).
    pub last_archived_secs_ago: Option<f64>,
    /// Failed archive attempts since the stats reset.
    pub failed_count: i64,
    /// Last WAL file that failed.
    pub last_failed_wal: String,
    /// Seconds since the last failure (None: never).
    pub last_failed_secs_ago: Option<f64>,
}

/// Scan counters of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgTableScans {
    /// `schema.table`.
    pub table: String,
    /// `seq_scan`.
    pub seq_scan: i64,
    /// `seq_tup_read`.
    pub seq_tup_read: i64,
    /// `idx_scan`.
    pub idx_scan: i64,
    /// `n_live_tup`.
    pub live_rows: i64,
}

/// `pg_stat_statements`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgStatements {
    /// True when the extension is created in the connected database.
    pub installed: bool,
    /// The slowest statements by mean execution time (empty when not installed).
    pub slowest: Vec<PgStatement>,
}

/// One `pg_stat_statements` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PgStatement {
    /// Normalised query text, literals masked, clipped.
    pub query: String,
    /// Calls.
    pub calls: i64,
    /// Mean execution time in milliseconds.
    pub mean_ms: f64,
}
