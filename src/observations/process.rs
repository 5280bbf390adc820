//! The supervised process: how it exited, its startup, graceful shutdown and fail-fast.

use serde::{Deserialize, Serialize};

use super::fault::Poll;

/// How a supervised process ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServiceExit {
    /// It exited by itself.
    Exited {
        /// Milliseconds after the signal (or the start).
        after_ms: u64,
        /// Its exit code, when it exited normally.
        code: Option<i32>,
        /// The signal that ended it, when one did.
        signal: Option<i32>,
    },
    /// It was still running when its time was up and was killed (SIGKILL to its group).
    Killed {
        /// Milliseconds after the signal (or the start) when it was killed.
        after_ms: u64,
    },
}

impl ServiceExit {
    /// `status 0`, `signal 15 (SIGTERM)`, `killed`.
    pub fn describe(&self) -> String {
        match self {
            ServiceExit::Exited {
                code: Some(code), ..
            } => format!("status {code}"),
            ServiceExit::Exited {
                signal: Some(signal),
                ..
            } => format!("signal {signal}{}", signal_name(*signal)),
            ServiceExit::Exited { .. } => "an unknown status".to_string(),
            ServiceExit::Killed { .. } => "killed with SIGKILL".to_string(),
        }
    }
}

/// Milliseconds for evidence: `20 ms`, `3 s`, `1.25 s`, `12.5 s`.
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else if ms < 10_000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// One request that was in flight when SIGTERM was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlightRequest {
    /// `GET https://…/api/slow`.
    pub request: String,
    /// Milliseconds after SIGTERM when it finished (negative: before SIGTERM).
    pub finished_ms: i64,
    /// The status, when it completed.
    pub status: Option<u16>,
    /// Why it did not complete.
    pub error: Option<String>,
}

/// What happened when the supervised service was sent SIGTERM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShutdownObservation {
    /// The service's pid.
    pub pid: u32,
    /// The configured grace period, ms.
    pub grace_period_ms: u64,
    /// The requests started just before SIGTERM.
    pub requests: Vec<InFlightRequest>,
    /// The readiness URL watched during shutdown.
    pub readiness: Option<String>,
    /// Readiness polls after SIGTERM (`at_ms` since SIGTERM).
    pub readiness_polls: Vec<Poll>,
    /// How it ended.
    pub exit: ServiceExit,
    /// True when, afterwards, no process with its pid was left.
    pub pid_gone: bool,
}

impl ShutdownObservation {
    /// Milliseconds from SIGTERM to exit (or to the kill).
    pub fn ended_ms(&self) -> u64 {
        match self.exit {
            ServiceExit::Exited { after_ms, .. } | ServiceExit::Killed { after_ms } => after_ms,
        }
    }

    /// True when it was still running at the end of the grace period and had to be killed.
    pub fn was_killed(&self) -> bool {
        matches!(self.exit, ServiceExit::Killed { .. })
    }
}

/// How long the supervised service took to become ready after it was started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartupObservation {
    /// The readiness URL polled (redacted); absent when none is configured.
    pub readiness: Option<String>,
    /// Milliseconds from the start of the process to the first 2xx (or, without a readiness
    /// URL, to the end of the settle time).
    pub ready_ms: u64,
}

/// How the service behaved when started with `[supervise] invalid_env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailFastObservation {
    /// The variables overridden (names only: values may be secrets).
    pub variables: Vec<String>,
    /// How long it was given, ms.
    pub within_ms: u64,
    /// How it ended: exited by itself within the window, or killed after it.
    pub exit: ServiceExit,
    /// The last lines it printed (the error message, hopefully), clipped.
    pub last_output: String,
    /// When it kept running: what its readiness endpoint answered.
    pub readiness: Option<Poll>,
}

/// The conventional name of a signal number, as ` (SIGTERM)`, or nothing for others.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        15 => " (SIGTERM)",
        9 => " (SIGKILL)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        _ => "",
    }
}
