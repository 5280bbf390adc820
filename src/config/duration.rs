//! Durations in config: `"60s"`, `"500ms"`, `"2m"` (humantime), or a bare number of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// Serialises as humantime text (`"1m"`).
pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*value).to_string())
}

/// Accepts `"60s"`-style text or a number of seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Secs(u64),
        Float(f64),
    }
    match Raw::deserialize(d)? {
        Raw::Text(text) => parse(&text).map_err(serde::de::Error::custom),
        Raw::Secs(secs) => Ok(Duration::from_secs(secs)),
        Raw::Float(secs) if secs.is_finite() && secs >= 0.0 => Ok(Duration::from_secs_f64(secs)),
        Raw::Float(secs) => Err(serde::de::Error::custom(format!(
            "expected a duration like \"60s\" or \"500ms\", got {secs}"
        ))),
    }
}

/// Parses `"60s"`, `"500ms"`, `"2m"`, with a message that says the expected form.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("expected a duration like \"60s\" or \"500ms\", got {text:?}"))
}
