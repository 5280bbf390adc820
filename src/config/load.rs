//! Loading: TOML text → [`Config`], `env:NAME` resolution, then validation.

use std::path::Path;

use super::value::parse_nameserver;
pub use super::value::{resolve_env, validate_http_url};
use super::{Config, ConfigError, JudgeConfig};

/// Reads, parses and validates a config file.
pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: origin.clone(),
        reason: e.to_string(),
    })?;
    let mut config = from_str(&text, &origin)?;
    // Manifest paths in a config file are relative to the file, like kustomize's.
    if let Some(dir) = path.parent() {
        config.kubernetes.relative_to(dir);
    }
    Ok(config)
}

/// Parses and validates config text; `origin` names it in errors (a file path).
pub fn from_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(origin, text, "", &e))?;
    let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        toml_error(origin, text, &field, e.inner())
    })?;
    config.validate(origin)?;
    Ok(config)
}

pub(crate) fn toml_error(
    origin: &str,
    text: &str,
    field: &str,
    err: &toml::de::Error,
) -> ConfigError {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let message = match line {
        Some(line) => format!("{} (line {line})", err.message().trim()),
        None => err.message().trim().to_string(),
    };
    let field = if field.is_empty() || field == "." {
        "(file)".to_string()
    } else {
        field.to_string()
    };
    ConfigError::field(origin, field, message)
}

impl Config {
    /// Checks every value that the types alone cannot (URLs, ranges, known check ids, health
    /// paths), naming the field in the error.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let err = |field: &str, message: String| Err(ConfigError::field(origin, field, message));
        if let Some(target) = &self.target
            && let Err(m) = validate_http_url(target)
        {
            return err("target", m.to_string());
        }
        if let Some(http_url) = &self.run.http_url
            && let Err(m) = validate_http_url(http_url)
        {
            return err("run.http_url", m.to_string());
        }
        if self.run.deadline.is_zero() {
            return err("run.deadline", "must be more than 0s".into());
        }
        if self.run.timeout.is_zero() {
            return err("run.timeout", "must be more than 0s".into());
        }
        if self.run.concurrency == 0 || self.run.concurrency > 1024 {
            return err(
                "run.concurrency",
                format!("expected 1 to 1024, got {}", self.run.concurrency),
            );
        }
        if self.run.max_requests == 0 {
            return err("run.max_requests", "must be at least 1".into());
        }
        if self.run.max_body_bytes < 1024 {
            return err(
                "run.max_body_bytes",
                format!("expected at least 1024, got {}", self.run.max_body_bytes),
            );
        }
        if self.run.max_connections_per_host == 0 || self.run.max_connections_per_host > 1024 {
            return err(
                "run.max_connections_per_host",
                format!(
                    "expected 1 to 1024, got {}",
                    self.run.max_connections_per_host
                ),
            );
        }
        for ns in &self.run.nameservers {
            if let Err(m) = parse_nameserver(ns) {
                return err("run.nameservers", m.to_string());
            }
        }
        for (field, paths) in [
            ("health.liveness", &self.health.liveness),
            ("health.readiness", &self.health.readiness),
            ("health.generic", &self.health.generic),
        ] {
            for path in paths {
                if !path.starts_with('/') {
                    return err(
                        field,
                        format!("expected a path starting with /, got {path:?}"),
                    );
                }
            }
        }
        if let Some(path) = &self.errors.json_endpoint
            && !path.starts_with('/')
        {
            return err(
                "errors.json_endpoint",
                format!("expected a path starting with /, got {path:?}"),
            );
        }
        if let Some(score) = self.gate.min_score
            && !(0.0..=100.0).contains(&score)
        {
            return err("gate.min_score", format!("expected 0 to 100, got {score}"));
        }
        for (key, value) in &self.gate.categories {
            if crate::model::Category::parse(key).is_none() {
                return err(
                    &format!("gate.categories.{key}"),
                    "unknown category; expected one of security, health_checks, observability, \
                     performance, scalability, reliability, operational"
                        .into(),
                );
            }
            if !(0.0..=100.0).contains(value) {
                return err(
                    &format!("gate.categories.{key}"),
                    format!("expected 0 to 100, got {value}"),
                );
            }
        }
        if !self.gate.max_score_drop.is_finite() || self.gate.max_score_drop < 0.0 {
            return err(
                "gate.max_score_drop",
                format!("expected a number ≥ 0, got {}", self.gate.max_score_drop),
            );
        }
        super::gate::validate(&self.waivers, origin)?;
        if !(0.0..=100.0).contains(&self.scoring.verdict_min_score) {
            return err(
                "scoring.verdict_min_score",
                format!("expected 0 to 100, got {}", self.scoring.verdict_min_score),
            );
        }
        let w = &self.scoring.weights;
        for (name, value) in [
            ("critical", w.critical),
            ("high", w.high),
            ("medium", w.medium),
            ("low", w.low),
            ("info", w.info),
        ] {
            if !value.is_finite() || value < 0.0 {
                return err(
                    &format!("scoring.weights.{name}"),
                    format!("expected a number ≥ 0, got {value}"),
                );
            }
        }
        for (key, value) in &self.scoring.categories {
            if crate::model::Category::parse(key).is_none() {
                return err(
                    &format!("scoring.categories.{key}"),
                    "unknown category; expected one of security, health_checks, observability, \
                     performance, scalability, reliability, operational"
                        .into(),
                );
            }
            if !value.is_finite() || *value < 0.0 {
                return err(
                    &format!("scoring.categories.{key}"),
                    format!("expected a number ≥ 0, got {value}"),
                );
            }
        }
        for (name, value) in &self.http.headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return err(
                    &format!("http.headers.{name}"),
                    "not a valid header name".into(),
                );
            }
            if value.starts_with("env:") && value.len() == 4 {
                return err(
                    &format!("http.headers.{name}"),
                    "expected env:NAME with a variable name".into(),
                );
            }
        }
        validate_judge(&self.judge, origin)?;
        super::dependencies::validate(&self.dependencies, origin, false)?;
        super::access::validate(&self.access, origin)?;
        super::fault::validate(&self.fault, &self.supervise, &self.logs, origin)?;
        super::measure::validate(
            &self.metrics,
            &self.ratelimit,
            &self.perf,
            &self.load,
            origin,
        )?;
        super::kubernetes::validate(&self.kubernetes, origin)?;
        Ok(())
    }
}

/// The dependency thresholds of `[judge]`: fractions in (0, 1], durations above 0, counts at
/// least 1, and each warn threshold below its fail threshold.
fn validate_judge(judge: &JudgeConfig, origin: &str) -> Result<(), ConfigError> {
    let err = |field: &str, message: String| Err(ConfigError::field(origin, field, message));
    for (name, value) in [
        ("db_conn_headroom_warn", judge.db_conn_headroom_warn),
        ("db_conn_headroom_fail", judge.db_conn_headroom_fail),
        ("redis_memory_warn", judge.redis_memory_warn),
        ("redis_clients_warn", judge.redis_clients_warn),
    ] {
        if value.is_nan() || value <= 0.0 || value > 1.0 {
            return err(
                &format!("judge.{name}"),
                format!("expected a fraction above 0 and at most 1 (0.8 = 80%), got {value}"),
            );
        }
    }
    for (name, value) in [
        ("db_idle_in_tx_warn_secs", judge.db_idle_in_tx_warn_secs),
        ("db_idle_in_tx_fail_secs", judge.db_idle_in_tx_fail_secs),
        ("db_long_query_warn_secs", judge.db_long_query_warn_secs),
        ("db_archive_stale_secs", judge.db_archive_stale_secs),
        ("db_slow_statement_ms", judge.db_slow_statement_ms),
        ("k8s_unready_warn_secs", judge.k8s_unready_warn_secs),
        ("k8s_unready_fail_secs", judge.k8s_unready_fail_secs),
    ] {
        if !value.is_finite() || value <= 0.0 {
            return err(
                &format!("judge.{name}"),
                format!("expected a number > 0, got {value}"),
            );
        }
    }
    for (name, value) in [
        ("db_large_table_rows", judge.db_large_table_rows),
        ("db_seq_scan_min", judge.db_seq_scan_min),
        ("rabbitmq_prefetch_warn", judge.rabbitmq_prefetch_warn),
        (
            "rabbitmq_backlog_growing_min",
            judge.rabbitmq_backlog_growing_min,
        ),
    ] {
        if value == 0 {
            return err(&format!("judge.{name}"), "must be at least 1".into());
        }
    }
    for (warn, warn_value, fail, fail_value) in [
        (
            "k8s_unready_warn_secs",
            judge.k8s_unready_warn_secs,
            "k8s_unready_fail_secs",
            judge.k8s_unready_fail_secs,
        ),
        (
            "db_conn_headroom_warn",
            judge.db_conn_headroom_warn,
            "db_conn_headroom_fail",
            judge.db_conn_headroom_fail,
        ),
        (
            "db_idle_in_tx_warn_secs",
            judge.db_idle_in_tx_warn_secs,
            "db_idle_in_tx_fail_secs",
            judge.db_idle_in_tx_fail_secs,
        ),
    ] {
        if warn_value >= fail_value {
            return err(
                &format!("judge.{warn}"),
                format!("must be below judge.{fail} ({fail_value}), got {warn_value}"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ConfigError) -> (String, String) {
        match err {
            ConfigError::Field { field, message, .. } => (field, message),
            other => panic!("expected a field error, got {other}"),
        }
    }

    #[test]
    fn empty_config_is_valid_with_defaults() {
        let c = from_str("", "t.toml").unwrap();
        assert_eq!(c.run.deadline.as_secs(), 60);
        assert_eq!(c.run.concurrency, 8);
    }

    #[test]
    fn bad_duration_names_field_and_form() {
        let (field, message) =
            field_of(from_str("[run]\ndeadline = \"sixty\"\n", "t.toml").unwrap_err());
        assert_eq!(field, "run.deadline");
        assert!(
            message.contains("expected a duration like \"60s\""),
            "{message}"
        );
        assert!(message.contains("line 2"), "{message}");
    }

    #[test]
    fn unknown_field_is_named() {
        let (field, message) =
            field_of(from_str("[run]\ndedline = \"5s\"\n", "t.toml").unwrap_err());
        assert_eq!(field, "run.dedline");
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn target_must_be_http_url() {
        let (field, message) =
            field_of(from_str("target = \"localhost:8080\"", "t.toml").unwrap_err());
        assert_eq!(field, "target");
        assert!(message.contains("http:// or https://"), "{message}");
    }

    #[test]
    fn bad_severity_value_is_named() {
        let (field, message) =
            field_of(from_str("[gate]\nfail_on = \"severe\"\n", "t.toml").unwrap_err());
        assert_eq!(field, "gate.fail_on");
        assert!(message.contains("critical"), "{message}");
    }

    #[test]
    fn judge_thresholds_default_and_override() {
        let c = from_str("", "t.toml").unwrap();
        assert_eq!(c.judge, super::super::JudgeConfig::default());
        assert_eq!(c.judge.db_conn_headroom_warn, 0.80);
        let c = from_str(
            "[judge]\ndb_conn_headroom_warn = 0.9\ndb_idle_in_tx_warn_secs = 60\n\
             redis_memory_warn = 1.0\nrabbitmq_prefetch_warn = 500\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.judge.db_conn_headroom_warn, 0.9);
        assert_eq!(c.judge.db_idle_in_tx_warn_secs, 60.0);
        assert_eq!(c.judge.redis_memory_warn, 1.0);
        assert_eq!(c.judge.rabbitmq_prefetch_warn, 500);
    }

    #[test]
    fn starter_config_judge_section_shows_the_defaults() {
        let c = from_str(
            include_str!("../../config/readyprobe.toml"),
            "readyprobe.toml",
        )
        .expect("the starter config parses");
        assert_eq!(c.judge, super::super::JudgeConfig::default());
    }

    #[test]
    fn bad_judge_threshold_names_the_field() {
        for (toml, field, expected) in [
            (
                "db_conn_headroom_warn = 0",
                "judge.db_conn_headroom_warn",
                "fraction",
            ),
            (
                "db_conn_headroom_fail = 1.5",
                "judge.db_conn_headroom_fail",
                "at most 1",
            ),
            (
                "redis_memory_warn = 90",
                "judge.redis_memory_warn",
                "got 90",
            ),
            (
                "redis_clients_warn = -0.1",
                "judge.redis_clients_warn",
                "fraction",
            ),
            (
                "redis_clients_warn = nan",
                "judge.redis_clients_warn",
                "fraction",
            ),
            (
                "db_conn_headroom_warn = 0.96",
                "judge.db_conn_headroom_warn",
                "below judge.db_conn_headroom_fail (0.95)",
            ),
            (
                "db_idle_in_tx_warn_secs = 3600",
                "judge.db_idle_in_tx_warn_secs",
                "below judge.db_idle_in_tx_fail_secs",
            ),
            (
                "db_idle_in_tx_fail_secs = 0",
                "judge.db_idle_in_tx_fail_secs",
                "> 0",
            ),
            (
                "db_long_query_warn_secs = -5",
                "judge.db_long_query_warn_secs",
                "> 0",
            ),
            (
                "db_archive_stale_secs = inf",
                "judge.db_archive_stale_secs",
                "> 0",
            ),
            (
                "db_slow_statement_ms = 0.0",
                "judge.db_slow_statement_ms",
                "> 0",
            ),
            (
                "db_large_table_rows = 0",
                "judge.db_large_table_rows",
                "at least 1",
            ),
            ("db_seq_scan_min = 0", "judge.db_seq_scan_min", "at least 1"),
            (
                "rabbitmq_prefetch_warn = 0",
                "judge.rabbitmq_prefetch_warn",
                "at least 1",
            ),
            (
                "rabbitmq_backlog_growing_min = 0",
                "judge.rabbitmq_backlog_growing_min",
                "at least 1",
            ),
        ] {
            let (got, message) =
                field_of(from_str(&format!("[judge]\n{toml}\n"), "t.toml").unwrap_err());
            assert_eq!(got, field, "{toml}: {message}");
            assert!(message.contains(expected), "{toml}: {message}");
        }
        // A negative count is refused by its type, still naming the field.
        let (got, _) = field_of(from_str("[judge]\ndb_seq_scan_min = -1\n", "t.toml").unwrap_err());
        assert_eq!(got, "judge.db_seq_scan_min");
    }

    #[test]
    fn target_password_is_not_echoed() {
        let err = from_str("target = \"ftp://u:hunter2@x\"", "t.toml").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
