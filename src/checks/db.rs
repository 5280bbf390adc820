//! Database judges: `db.postgres.*` and `db.mysql.*`, over what the read-only SQL probes saw.
//!
//! Each judge reads one [`PgObservation`] or [`MySqlObservation`]. A database that is not
//! configured gives `skipped` ("no postgres configured") and never lowers a score; one that
//! could not be opened makes `*.reachable` fail (critical) with the reason and every other check
//! of that database an `error` with the same reason. A view the login role cannot read is
//! `skipped` with what to grant, never a pass.
//!
//! Thresholds come from `[judge]` ([`JudgeConfig`]: `db_conn_headroom_warn`, …); their defaults
//! are the catalogue's.

use std::time::Duration;

use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::mysql::MySqlObservation;
use crate::observations::postgres::{PgObservation, PgSetting};
use crate::observations::{Observations, Probed, Unobserved};

/// The most subject lines one finding lists.
pub const LIST_MAX: usize = 12;

/// A duration in seconds as `7m 12s`.
pub(crate) fn secs(value: f64) -> String {
    let whole = if value.is_finite() && value > 0.0 {
        value.round() as u64
    } else {
        0
    };
    humantime::format_duration(Duration::from_secs(whole)).to_string()
}

/// At most [`LIST_MAX`] lines, then `… and N more`.
pub(crate) fn capped(lines: Vec<String>) -> Vec<String> {
    let total = lines.len();
    let mut out: Vec<String> = lines.into_iter().take(LIST_MAX).collect();
    if total > LIST_MAX {
        out.push(format!("… and {} more", total - LIST_MAX));
    }
    out
}

/// The reachable judge shared by every dependency: the observation, or a fail with the reason.
pub(crate) fn reachable_or_fail<'a, T>(
    probed: &'a Probed<T>,
    product: &str,
) -> Result<Result<&'a T, Judgement>, Unobserved> {
    match probed {
        Probed::Observed(value) => Ok(Ok(value)),
        Probed::Failed(reason) => Ok(Err(Judgement::fail(format!(
            "{product} could not be opened: {reason}"
        ))
        .evidence(reason.clone()))),
        Probed::Skipped(reason) => Err(Unobserved::Skipped(reason.clone())),
    }
}

mod mysql;
pub use mysql::*;
mod postgres;
pub use postgres::*;

#[cfg(test)]
mod tests;
