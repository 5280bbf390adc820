//! Dependency probes: PostgreSQL, MySQL/MariaDB, Redis, RabbitMQ and DNS, inspected over their
//! real protocols.
//!
//! These probes are guests on someone's production data stores, so they are **read-only by
//! construction**: SQL runs inside a `READ ONLY` transaction and is only `SELECT`/`SHOW` (plus
//! the transaction's own `BEGIN`/`ROLLBACK` and the driver's session `SET NAMES`); Redis gets
//! `PING`, `INFO`, `CONFIG GET`, `ACL WHOAMI` and `ACL LIST`; RabbitMQ gets management-API `GET`s
//! and AMQP connect/close. Nothing is declared, written or deleted, and no probe may add a
//! statement outside that list.
//!
//! Every network operation runs under [`ProbeCx::op_deadline`]; a dependency that is slow,
//! closed, speaks another protocol or refuses the credentials becomes a [`ProbeError`] whose text
//! names the dependency by its URL with the password masked (`redis://:***@10.0.0.5:6379`) —
//! never the raw DSN.
//!
//! ## Hostile dependencies
//! The client libraries trust the server; these probes do not. PostgreSQL, MySQL/MariaDB and
//! Redis connections go through a [`guard::Guard`] that caps what the server may send
//! ([`guard::MAX_ANSWER_BYTES`] per connection) and refuses to answer a request for the password
//! in cleartext on an unencrypted connection; SQL result sets are read up to [`MAX_ROWS`] rows;
//! AMQP negotiates a bounded frame size; a panic inside a client library fed a malformed answer
//! is contained ([`contained`]) and reported as that dependency's protocol error.

pub mod dns;
pub mod guard;
pub mod mysql;
pub mod postgres;
pub mod rabbitmq;
pub mod redis;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::LazyLock;

use futures_util::{FutureExt, Stream, TryStreamExt};
use regex::Regex;

use super::{ProbeCx, ProbeError};
use crate::observations::Probed;
use crate::redact::{self, MASK, Redactor};
use crate::text::clip;

/// `map` for [`Probed`]: transforms an observation, keeps a failure or skip reason.
pub trait MapObserved<T> {
    /// Applies `f` to the observed value.
    fn map_observed<U>(self, f: impl FnOnce(T) -> U) -> Probed<U>;
}

impl<T> MapObserved<T> for Probed<T> {
    fn map_observed<U>(self, f: impl FnOnce(T) -> U) -> Probed<U> {
        match self {
            Probed::Observed(value) => Probed::Observed(f(value)),
            Probed::Failed(reason) => Probed::Failed(reason),
            Probed::Skipped(reason) => Probed::Skipped(reason),
        }
    }
}

/// One configured dependency as the probes name it: kind, redacted URL and its own redactor.
#[derive(Debug, Clone)]
pub struct Dependency {
    /// `postgres`, `mysql`, `redis`, `rabbitmq`, `rabbitmq management`.
    pub kind: &'static str,
    /// The URL with its password masked.
    pub shown: String,
    redactor: Redactor,
    passwords: Vec<String>,
}

impl Dependency {
    /// Describes `raw` (a DSN) for errors and evidence; its password is added to a copy of the
    /// run's redactor so no message can carry it.
    pub fn new(cx: &ProbeCx, kind: &'static str, raw: &str) -> Dependency {
        let mut redactor = cx.redactor.clone();
        let passwords = crate::config::url_password(raw);
        for p in &passwords {
            redactor.add(p);
        }
        Dependency {
            kind,
            shown: redact::url_str(raw.trim()),
            redactor,
            passwords,
        }
    }

    /// Registers one more secret (a management API password given apart from the URL).
    pub fn add_secret(&mut self, secret: &str) {
        self.redactor.add(secret);
        if !secret.is_empty() {
            self.passwords.push(secret.to_string());
        }
    }

    /// `postgres postgres://app:***@db:5432/app` — the subject of every error.
    pub fn subject(&self) -> String {
        format!("{} {}", self.kind, self.shown)
    }

    /// Free text with every secret of this dependency (and the run) masked, and any URL
    /// userinfo password masked too.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = self.redactor.scrub(text);
        // Short passwords are below the redactor's floor; mask them only inside `:pw@`.
        for p in &self.passwords {
            let needle = format!(":{p}@");
            if out.contains(&needle) {
                out = out.replace(&needle, &format!(":{MASK}@"));
            }
        }
        mask_url_passwords(&out)
    }

    /// A connection failure, classified: TLS, refused/unreachable, or anything else.
    pub fn connect_error(&self, reason: &str) -> ProbeError {
        let reason = self.scrub(reason);
        let lower = reason.to_ascii_lowercase();
        if lower.contains("tls") || lower.contains("certificate") || lower.contains("handshake") {
            ProbeError::Tls {
                subject: self.subject(),
                reason,
            }
        } else {
            ProbeError::Connect {
                subject: self.subject(),
                reason,
            }
        }
    }

    /// A protocol-level failure after connecting (a query refused, a reply that made no sense).
    pub fn protocol_error(&self, reason: &str) -> ProbeError {
        ProbeError::Protocol {
            subject: self.subject(),
            reason: self.scrub(reason),
        }
    }

    /// Runs one operation under the per-operation timeout (and the run's deadline).
    pub async fn timed<T>(
        &self,
        cx: &ProbeCx,
        fut: impl Future<Output = T>,
    ) -> Result<T, ProbeError> {
        match tokio::time::timeout_at(cx.op_deadline(), fut).await {
            Ok(value) => Ok(value),
            Err(_) => Err(cx.expired(&self.subject())),
        }
    }
}

/// The most rows read from one SQL result set. Every probe query returns a few dozen rows at most
/// (its own `LIMIT`s); a server that streams more is cut off there and the query reported as
/// failed, instead of being collected into memory.
pub const MAX_ROWS: usize = 1000;

/// Collects a result stream, failing past [`MAX_ROWS`] rows.
pub(crate) async fn collect_capped<T>(
    rows: impl Stream<Item = Result<T, sqlx::Error>>,
) -> Result<Vec<T>, sqlx::Error> {
    let mut rows = std::pin::pin!(rows);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        if out.len() >= MAX_ROWS {
            return Err(sqlx::Error::Protocol(format!(
                "the server sent more than {MAX_ROWS} rows for one probe query (which asks for a \
                 few dozen at most); readyprobe stopped reading there"
            )));
        }
        out.push(row);
    }
    Ok(out)
}

/// True for the error [`collect_capped`] returns past its cap.
pub(crate) fn is_row_cap(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Protocol(m) if m.contains("rows for one probe query"))
}

/// Runs one dependency's whole inspection, turning a panic inside its client library (sqlx and
/// redis-rs index into some server messages without checking their length) into a protocol
/// error for that dependency instead of a crash of the run.
pub async fn contained<T>(
    dep: &Dependency,
    inspection: impl Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    // Boxed: sqlx's futures are large, and the run's future lives on the main thread's stack.
    match AssertUnwindSafe(Box::pin(inspection)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(dep.protocol_error(&format!(
                "the {} client library failed on the server's answer ({}); the answer does not \
                 follow the {} protocol",
                dep.kind,
                clip(&what, 160),
                dep.kind
            )))
        }
    }
}

static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<pre>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):(?P<pw>[^@\s/]+)@")
        .unwrap_or_else(|_| unreachable!("static regex"))
});

static SECRET_ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?P<key>[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential)[a-z0-9_.-]*)(?P<sep>\s*[=:]\s*|\s+)(?P<val>'[^']*'|\x22[^\x22]*\x22|[^\s;&|]+)",
    )
    .unwrap_or_else(|_| unreachable!("static regex"))
});

static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"'(?:[^']|'')*'").unwrap_or_else(|_| unreachable!("static regex"))
});

/// Masks `user:password@` in every URL inside free text.
pub fn mask_url_passwords(text: &str) -> String {
    URL_USERINFO
        .replace_all(text, |c: &regex::Captures<'_>| {
            if &c["pw"] == MASK {
                c[0].to_string()
            } else {
                format!("{}:{MASK}@", &c["pre"])
            }
        })
        .into_owned()
}

/// A shell-like command (Postgres `archive_command`) fit for evidence: URL passwords and the
/// values of password/secret/token/key options and variables masked.
pub fn redact_command(command: &str) -> String {
    let masked = mask_url_passwords(command);
    SECRET_ASSIGN
        .replace_all(&masked, |c: &regex::Captures<'_>| {
            format!("{}{}{MASK}", &c["key"], &c["sep"])
        })
        .into_owned()
}

/// SQL text fit for evidence: string literals masked (they may hold passwords), whitespace
/// collapsed, cut to `max` characters.
pub fn redact_sql(sql: &str, max: usize) -> String {
    let masked = QUOTED.replace_all(sql, "'***'");
    let collapsed = masked.split_whitespace().collect::<Vec<_>>().join(" ");
    clip(&collapsed, max)
}

/// Milliseconds since `start`.
pub(crate) fn ms_since(start: tokio::time::Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_command_secrets_are_masked() {
        let cmd = "PGPASSWORD=hunter2 pg_receivewal -d postgres://bk:s3cr3t@backup/x && \
                   aws s3 cp %p s3://b/%f --secret-key AKIAXYZ";
        let shown = redact_command(cmd);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("AKIAXYZ"), "{shown}");
        assert!(shown.contains("aws s3 cp %p s3://b/%f"), "{shown}");
        assert_eq!(redact_command("cp %p /archive/%f"), "cp %p /archive/%f");
    }

    #[test]
    fn sql_literals_are_masked_and_clipped() {
        assert_eq!(
            redact_sql("ALTER ROLE app  PASSWORD 'it''s secret'", 200),
            "ALTER ROLE app PASSWORD '***'"
        );
        assert_eq!(clip("abcdef", 3), "abc…");
    }

    #[test]
    fn url_passwords_in_text_are_masked() {
        assert_eq!(
            mask_url_passwords("error connecting to redis://:pw@h:1 and amqp://u:***@h"),
            "error connecting to redis://:***@h:1 and amqp://u:***@h"
        );
    }
}
