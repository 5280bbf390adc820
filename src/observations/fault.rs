//! Fault injection: each cut dependency, with readiness/liveness polls and timings.

use serde::{Deserialize, Serialize};

/// One poll of an endpoint while a fault was on (or just after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    /// Milliseconds since the cut (or the restore) when the answer came.
    pub at_ms: u64,
    /// The status, when the endpoint answered.
    pub status: Option<u16>,
    /// Why it did not answer (timeout, refused…).
    pub error: Option<String>,
}

impl Poll {
    /// True for a 2xx answer.
    pub fn is_ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// `503` or `error: …`, for evidence.
    pub fn describe(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer ({error})"),
            (None, None) => "no answer".to_string(),
        }
    }
}

/// What one cut of one dependency showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRun {
    /// The proxy's name (`database`).
    pub proxy: String,
    /// Where the proxy listens.
    pub listen: String,
    /// The real dependency behind it.
    pub upstream: String,
    /// The control URL of a remote proxy (absent when readyprobe ran the proxy itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// The readiness URL polled (redacted).
    pub readiness: String,
    /// The liveness URL polled, when one exists (redacted).
    pub liveness: Option<String>,
    /// Readiness status just before the cut.
    pub baseline_status: u16,
    /// Live connections the cut reset.
    pub reset_connections: u64,
    /// How long readiness was watched for a flip, ms.
    pub detect_window_ms: u64,
    /// How long readiness was given to come back, ms.
    pub recover_window_ms: u64,
    /// Readiness polls while cut.
    pub readiness_during: Vec<Poll>,
    /// Liveness polls while cut.
    pub liveness_during: Vec<Poll>,
    /// Readiness polls after the restore.
    pub readiness_after: Vec<Poll>,
    /// Set when the run's deadline cut the measurement short.
    pub cut_short: bool,
}

impl FaultRun {
    /// The first readiness poll that was not 2xx while cut: time-to-detect.
    pub fn detected(&self) -> Option<&Poll> {
        self.readiness_during.iter().find(|p| !p.is_ok())
    }

    /// The first 2xx readiness poll after the restore: time-to-recover.
    pub fn recovered(&self) -> Option<&Poll> {
        self.readiness_after.iter().find(|p| p.is_ok())
    }
}
