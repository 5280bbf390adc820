//! Durations in config: `"60s"`, `"500ms"`, `"2m"` (humantime), or a bare number of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

use super::value::ValueError;

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
        // `try_`: a float too large for a Duration (1e175) is an error, not a panic.
        Raw::Float(secs) => Duration::try_from_secs_f64(secs).map_err(|_| {
            serde::de::Error::custom(format!(
                "expected a duration like \"60s\" or \"500ms\", got {secs}"
            ))
        }),
    }
}

/// How a duration is written in the config, for the JSON Schema: humantime text or seconds.
pub struct Text;

impl schemars::JsonSchema for Text {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration: text like \"60s\", \"500ms\", \"2m\", \"1h 30m\", or a number of seconds.",
            "anyOf": [
                { "type": "string", "minLength": 1, "examples": ["60s", "500ms", "2m"] },
                { "type": "number", "minimum": 0 },
            ],
        })
    }
}

/// Parses `"60s"`, `"500ms"`, `"2m"`, with a message that says the expected form.
pub fn parse(text: &str) -> Result<Duration, ValueError> {
    humantime::parse_duration(text.trim()).map_err(|_| ValueError::Duration {
        raw: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, from_str};

    #[test]
    fn huge_negative_or_nan_float_seconds_are_field_errors_not_panics() {
        // Found by the config_toml fuzz target: 1.5e175 seconds panicked in from_secs_f64.
        for raw in ["1.5470653980145754e175", "-1.0", "nan", "inf"] {
            match from_str(&format!("[run]\ndeadline = {raw}\n"), "t.toml") {
                Err(ConfigError::Field { field, message, .. }) => {
                    assert_eq!(field, "run.deadline", "{raw}");
                    assert!(message.contains("expected a duration"), "{raw}: {message}");
                }
                other => panic!("{raw}: expected a field error, got {other:?}"),
            }
        }
        let ok = from_str("[run]\ndeadline = 1.5\n", "t.toml").expect("1.5 s is fine");
        assert_eq!(ok.run.deadline.as_millis(), 1500);
    }
}
