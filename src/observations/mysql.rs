//! MySQL/MariaDB, inspected read-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Probed;

/// What one MySQL/MariaDB inspection saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MySqlObservation {
    /// The DSN, password masked.
    pub server: String,
    /// Connect (TCP, TLS, handshake, authentication) in milliseconds.
    pub connect_ms: f64,
    /// Round trip of `SELECT 1` in milliseconds.
    pub select1_ms: f64,
    /// `VERSION()`.
    pub version: String,
    /// `CURRENT_USER()` (`app@%`).
    pub current_user: String,
    /// The global variables of [`VARIABLES`] that exist on this server.
    pub variables: Probed<BTreeMap<String, String>>,
    /// This session's `Ssl_version` and `Ssl_cipher` (empty when unencrypted).
    pub session_ssl: Probed<BTreeMap<String, String>>,
    /// The global status counters of [`STATUS`].
    pub status: Probed<BTreeMap<String, String>>,
    /// `SHOW GRANTS` lines, credentials masked.
    pub grants: Probed<Vec<String>>,
}

impl MySqlObservation {
    /// True when the server calls itself MariaDB.
    pub fn is_mariadb(&self) -> bool {
        self.version.to_ascii_lowercase().contains("mariadb")
    }

    /// "MariaDB" or "MySQL", for sentences.
    pub fn product(&self) -> &'static str {
        if self.is_mariadb() {
            "MariaDB"
        } else {
            "MySQL"
        }
    }
}
