//! The metrics endpoint: discovery, two scrapes and the requests between them.

use serde::{Deserialize, Serialize};

// The exposition parser is a self-contained library (it imports nothing of the crate but `text`).
use crate::exposition::Exposition;

use super::{HttpExchange, Probed};

/// Why a scrape has no exposition when the run's deadline passed before its body was parsed.
pub const PARSE_CUT: &str = "parsing the exposition was cut by the run's deadline";

/// One scrape: the exchange (body clipped) and the parsed exposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scrape {
    /// What came back (the body clipped to 1 KiB once parsed).
    pub exchange: HttpExchange,
    /// The strict parse of the whole body.
    pub exposition: Exposition,
}

/// Requests sent between the scrapes, and the second scrape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveProbe {
    /// Request lines sent between the scrapes (`GET https://…/ → 200`).
    pub requests: Vec<String>,
    /// The unique unknown path requested (`/__readyprobe_<hex>`).
    pub unique_path: String,
    /// The random token inside it, looked for among label values.
    pub token: String,
    /// How many of those requests were answered (absent in older recordings: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<u32>,
    /// The second scrape.
    pub after: Scrape,
}

impl LiveProbe {
    /// Requests between the scrapes that got an answer.
    pub fn answered(&self) -> u32 {
        self.answered
            .unwrap_or_else(|| u32::try_from(self.requests.len()).unwrap_or(u32::MAX))
    }
}

/// Everything the metrics checks read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsObservation {
    /// Each path tried and what it answered (`GET https://…/metrics → 404`).
    pub tried: Vec<String>,
    /// The path that answered 2xx, if any.
    pub path: Option<String>,
    /// The first scrape of that path.
    pub first: Option<Scrape>,
    /// The requests and second scrape (only when the first scrape found an exposition).
    pub live: Probed<LiveProbe>,
}
