//! Fault injection, supervised runs and log sources: `[fault]` with its `[[fault.proxy]]`
//! entries, `[supervise]` and `[logs]`.
//!
//! These sections describe things readyprobe *does* to a system it is allowed to disturb (cut a
//! dependency, start and stop the service), so validation is strict: every address must parse,
//! every command must name a program, and every window must be short enough to bound the run.
//! Nothing here is resolved or started at load time; [`crate::supervise`] does that.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::value::{parse_host_port, validate_http_url};
use super::{ConfigError, duration};

/// The longest any fault or supervision window may be: a run must stay bounded.
const MAX_WINDOW: Duration = Duration::from_secs(600);

/// `[fault]`: the proxies readyprobe runs in front of dependencies, and how long it watches.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// `[[fault.proxy]]`: one TCP proxy per dependency the service reaches through readyprobe.
    pub proxy: Vec<FaultProxyConfig>,
    /// How long readiness may stay 2xx after a cut before `health.fault.readiness_flips` fails.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub detect_window: Duration,
    /// How long readiness may take to return to 2xx after the restore.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub recover_window: Duration,
    /// Time between two polls of readiness and liveness while a fault is on.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub poll_interval: Duration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            proxy: Vec::new(),
            detect_window: Duration::from_secs(10),
            recover_window: Duration::from_secs(10),
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// One `[[fault.proxy]]`: either a proxy readyprobe runs itself (`listen` + `upstream`), or a
/// standalone `readyprobe proxy --control ADDR` deployed next to the service (`control`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultProxyConfig {
    /// What the dependency is, in evidence lines ("the database was cut").
    pub name: String,
    /// Where the proxy listens; the service's dependency address must point here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// The real dependency, `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The control endpoint of a remote `readyprobe proxy` (`http://10.0.3.7:9000`): the audit
    /// cuts and restores it there instead of running a proxy itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<String>,
    /// The environment variable holding the remote proxy's control token (its
    /// `--control-token-env` value); only with `control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

/// Where a `[[fault.proxy]]` runs, once validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProxyPlace<'a> {
    /// readyprobe runs it: listen here, forward there.
    Local {
        /// The listen address.
        listen: SocketAddr,
        /// The upstream, `host:port`.
        upstream: &'a str,
    },
    /// A remote `readyprobe proxy` driven through its control URL.
    Remote {
        /// The control URL.
        control: &'a str,
        /// The token's environment variable, if any.
        token_env: Option<&'a str>,
    },
}

impl FaultProxyConfig {
    /// Where this proxy runs; `None` only for an entry validation refuses.
    pub fn place(&self) -> Option<ProxyPlace<'_>> {
        match (&self.control, self.listen, &self.upstream) {
            (Some(control), None, None) => Some(ProxyPlace::Remote {
                control,
                token_env: self.token_env.as_deref(),
            }),
            (None, Some(listen), Some(upstream)) => Some(ProxyPlace::Local { listen, upstream }),
            _ => None,
        }
    }
}

/// `[supervise]`: readyprobe starts the service itself, audits it, then stops it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SuperviseConfig {
    /// Program and arguments (`["./orders", "--port", "8443"]`); empty: not supervised.
    pub command: Vec<String>,
    /// Extra environment for the service.
    pub env: BTreeMap<String, String>,
    /// Polled until it answers 2xx before the audit starts; also watched during shutdown.
    pub readiness_url: Option<String>,
    /// How long the service may take to exit after SIGTERM before it is killed.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub grace_period: Duration,
    /// How long the service may take to become ready after it is started.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub startup_timeout: Duration,
    /// A path on the target that takes a while to answer, requested just before SIGTERM so the
    /// requests are in flight (default: the target's root).
    pub slow_path: Option<String>,
    /// How many requests are in flight when SIGTERM is sent.
    pub in_flight: u32,
    /// Environment that makes the configuration invalid (`ops.fail_fast_config`); the service is
    /// started once more with it after the shutdown check. Empty: the check is skipped.
    pub invalid_env: BTreeMap<String, String>,
    /// How long the service may run with `invalid_env` before it counts as serving.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub fail_fast_within: Duration,
}

impl Default for SuperviseConfig {
    fn default() -> Self {
        SuperviseConfig {
            command: Vec::new(),
            env: BTreeMap::new(),
            readiness_url: None,
            grace_period: Duration::from_secs(10),
            startup_timeout: Duration::from_secs(30),
            slow_path: None,
            in_flight: 3,
            invalid_env: BTreeMap::new(),
            fail_fast_within: Duration::from_secs(5),
        }
    }
}

impl SuperviseConfig {
    /// True when a command is configured.
    pub fn is_enabled(&self) -> bool {
        !self.command.is_empty()
    }
}

/// `[logs]`: where the service's logs can be read, for the `logging.*` checks.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// `"supervised"`, `{ file = "…" }` or `{ command = [...] }`; absent: the checks are skipped.
    pub source: Option<LogSource>,
    /// How long to wait after the canary requests before reading the logs.
    #[serde(with = "duration")]
    #[schemars(with = "duration::Text")]
    pub settle: Duration,
    /// A path that accepts a JSON `POST` carrying the canary password (a mutation: only when
    /// named). Without it the canaries travel in a GET's headers and query string.
    pub post_path: Option<String>,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            source: None,
            settle: Duration::from_secs(1),
            post_path: None,
        }
    }
}

/// Where logs are read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum LogSource {
    /// The supervised process's stdout and stderr (`source = "supervised"`).
    Supervised(String),
    /// A file the service appends to (`source = { file = "/var/log/orders.log" }`).
    File {
        /// The file.
        file: PathBuf,
    },
    /// A command whose output is the recent logs (`source = { command = ["kubectl", "logs",
    /// "deploy/orders", "--since=2m"] }`).
    Command {
        /// Program and arguments.
        command: Vec<String>,
    },
}

/// Validates `[fault]`, `[supervise]` and `[logs]`, naming the field.
pub(crate) fn validate(
    fault: &FaultConfig,
    supervise: &SuperviseConfig,
    logs: &LogsConfig,
    origin: &str,
) -> Result<(), ConfigError> {
    let err = |field: String, message: String| Err(ConfigError::field(origin, field, message));
    for (field, value) in [
        ("fault.detect_window", fault.detect_window),
        ("fault.recover_window", fault.recover_window),
        ("supervise.grace_period", supervise.grace_period),
        ("supervise.startup_timeout", supervise.startup_timeout),
        ("supervise.fail_fast_within", supervise.fail_fast_within),
        ("logs.settle", logs.settle),
    ] {
        if value > MAX_WINDOW {
            return err(field.into(), "must be at most 10m".into());
        }
    }
    for (field, value) in [
        ("fault.detect_window", fault.detect_window),
        ("fault.recover_window", fault.recover_window),
        ("fault.poll_interval", fault.poll_interval),
        ("supervise.grace_period", supervise.grace_period),
        ("supervise.startup_timeout", supervise.startup_timeout),
        ("supervise.fail_fast_within", supervise.fail_fast_within),
    ] {
        if value.is_zero() {
            return err(field.into(), "must be more than 0s".into());
        }
    }
    if fault.poll_interval > fault.detect_window {
        return err(
            "fault.poll_interval".into(),
            "must not be longer than fault.detect_window".into(),
        );
    }
    for (i, proxy) in fault.proxy.iter().enumerate() {
        if proxy.name.trim().is_empty() {
            return err(
                format!("fault.proxy[{i}].name"),
                "must name the dependency".into(),
            );
        }
        if fault.proxy[..i].iter().any(|p| p.name == proxy.name) {
            return err(
                format!("fault.proxy[{i}].name"),
                format!("{:?} is used by another proxy", proxy.name),
            );
        }
        let field = |f: &str| format!("fault.proxy[{i}].{f}");
        match (&proxy.control, proxy.listen, &proxy.upstream) {
            (Some(control), None, None) => {
                if let Err(m) = validate_http_url(control) {
                    return err(field("control"), m.to_string());
                }
            }
            (Some(_), _, _) => {
                return err(
                    field("control"),
                    "a remote proxy knows its own listen and upstream: give either control, or listen and upstream".into(),
                );
            }
            (None, Some(listen), Some(upstream)) => {
                if fault.proxy[..i].iter().any(|p| p.listen == Some(listen)) {
                    return err(
                        field("listen"),
                        format!("{listen} is used by another proxy"),
                    );
                }
                if let Err(m) = parse_host_port(upstream) {
                    return err(field("upstream"), m.to_string());
                }
            }
            (None, None, _) => {
                return err(
                    field("listen"),
                    "missing: give listen and upstream (readyprobe runs the proxy), or control (a remote `readyprobe proxy --control`)".into(),
                );
            }
            (None, Some(_), None) => {
                return err(
                    field("upstream"),
                    "missing: the real dependency, host:port".into(),
                );
            }
        }
        match &proxy.token_env {
            Some(_) if proxy.control.is_none() => {
                return err(
                    field("token_env"),
                    "only a remote proxy (control = …) takes a token".into(),
                );
            }
            Some(name) if !super::is_env_name(name) => {
                return err(
                    field("token_env"),
                    format!(
                        "expected an environment variable name (letters, digits, _), got {name:?}"
                    ),
                );
            }
            _ => {}
        }
    }
    if let Some(first) = supervise.command.first()
        && first.trim().is_empty()
    {
        return err(
            "supervise.command".into(),
            "the first element must name a program".into(),
        );
    }
    if let Some(url) = &supervise.readiness_url
        && let Err(m) = validate_http_url(url)
    {
        return err("supervise.readiness_url".into(), m.to_string());
    }
    if let Some(path) = &supervise.slow_path
        && !path.starts_with('/')
    {
        return err(
            "supervise.slow_path".into(),
            format!("expected a path starting with /, got {path:?}"),
        );
    }
    if supervise.in_flight == 0 || supervise.in_flight > 32 {
        return err(
            "supervise.in_flight".into(),
            format!("expected 1 to 32, got {}", supervise.in_flight),
        );
    }
    for (name, map) in [
        ("supervise.env", &supervise.env),
        ("supervise.invalid_env", &supervise.invalid_env),
    ] {
        for key in map.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return err(
                    format!("{name}.{key}"),
                    "not a valid environment variable name".into(),
                );
            }
        }
    }
    if !supervise.invalid_env.is_empty() && !supervise.is_enabled() {
        return err(
            "supervise.invalid_env".into(),
            "needs supervise.command: readyprobe must start the service itself".into(),
        );
    }
    match &logs.source {
        Some(LogSource::Supervised(word)) if word != "supervised" => {
            return err(
                "logs.source".into(),
                format!(
                    "expected \"supervised\", {{ file = \"…\" }} or {{ command = [...] }}, got {word:?}"
                ),
            );
        }
        Some(LogSource::Supervised(_)) if !supervise.is_enabled() => {
            return err(
                "logs.source".into(),
                "\"supervised\" needs supervise.command".into(),
            );
        }
        Some(LogSource::Command { command }) if command.first().is_none_or(|p| p.is_empty()) => {
            return err(
                "logs.source.command".into(),
                "the first element must name a program".into(),
            );
        }
        _ => {}
    }
    if let Some(path) = &logs.post_path
        && !path.starts_with('/')
    {
        return err(
            "logs.post_path".into(),
            format!("expected a path starting with /, got {path:?}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::{ConfigError, from_str};

    fn field(text: &str) -> (String, String) {
        match from_str(text, "t.toml") {
            Err(ConfigError::Field { field, message, .. }) => (field, message),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn full_sections_parse() {
        let c = from_str(
            r#"
[fault]
detect_window = "3s"
[[fault.proxy]]
name = "database"
listen = "127.0.0.1:15432"
upstream = "127.0.0.1:5432"
[supervise]
command = ["./orders", "--port", "8443"]
env = { DATABASE_URL = "postgres://x@127.0.0.1:15432/db" }
readiness_url = "https://127.0.0.1:8443/readyz"
grace_period = "5s"
invalid_env = { DATABASE_URL = "nonsense" }
[logs]
source = { command = ["kubectl", "logs", "deploy/orders"] }
"#,
            "t.toml",
        )
        .expect("valid");
        assert_eq!(c.fault.proxy[0].name, "database");
        assert_eq!(c.fault.detect_window.as_secs(), 3);
        assert_eq!(c.supervise.grace_period.as_secs(), 5);
        assert!(matches!(
            c.logs.source,
            Some(super::LogSource::Command { .. })
        ));
    }

    #[test]
    fn upstream_without_port_is_named() {
        let (f, m) = field(
            "[[fault.proxy]]\nname = \"db\"\nlisten = \"127.0.0.1:1\"\nupstream = \"db.internal\"\n",
        );
        assert_eq!(f, "fault.proxy[0].upstream");
        assert!(m.contains("host:port"), "{m}");
    }

    #[test]
    fn bad_listen_address_is_named() {
        let (f, _) =
            field("[[fault.proxy]]\nname = \"db\"\nlisten = \"nowhere\"\nupstream = \"db:5432\"\n");
        assert_eq!(f, "fault.proxy[0].listen");
    }

    #[test]
    fn remote_proxy_takes_control_and_a_token_variable() {
        let c = from_str(
            "[[fault.proxy]]\nname = \"db\"\ncontrol = \"http://127.0.0.1:9000\"\ntoken_env = \"PROXY_TOKEN\"\n",
            "t.toml",
        )
        .expect("valid");
        assert_eq!(
            c.fault.proxy[0].place(),
            Some(super::ProxyPlace::Remote {
                control: "http://127.0.0.1:9000",
                token_env: Some("PROXY_TOKEN"),
            })
        );
    }

    #[test]
    fn proxy_entries_that_mix_or_miss_places_are_named() {
        let (f, m) = field(
            "[[fault.proxy]]\nname = \"db\"\ncontrol = \"http://127.0.0.1:9000\"\nlisten = \"127.0.0.1:1\"\n",
        );
        assert_eq!(f, "fault.proxy[0].control");
        assert!(m.contains("either control"), "{m}");
        let (f, m) = field("[[fault.proxy]]\nname = \"db\"\n");
        assert_eq!(f, "fault.proxy[0].listen");
        assert!(m.contains("control"), "{m}");
        let (f, _) = field("[[fault.proxy]]\nname = \"db\"\nlisten = \"127.0.0.1:1\"\n");
        assert_eq!(f, "fault.proxy[0].upstream");
        let (f, _) = field("[[fault.proxy]]\nname = \"db\"\ncontrol = \"ftp://x\"\n");
        assert_eq!(f, "fault.proxy[0].control");
        let (f, _) = field(
            "[[fault.proxy]]\nname = \"db\"\nlisten = \"127.0.0.1:1\"\nupstream = \"db:5432\"\ntoken_env = \"T\"\n",
        );
        assert_eq!(f, "fault.proxy[0].token_env");
        let (f, _) = field(
            "[[fault.proxy]]\nname = \"db\"\ncontrol = \"http://127.0.0.1:9000\"\ntoken_env = \"A-B\"\n",
        );
        assert_eq!(f, "fault.proxy[0].token_env");
    }

    #[test]
    fn supervised_logs_need_a_command() {
        let (f, m) = field("[logs]\nsource = \"supervised\"\n");
        assert_eq!(f, "logs.source");
        assert!(m.contains("supervise.command"), "{m}");
        let (f, _) = field("[logs]\nsource = \"journal\"\n");
        assert_eq!(f, "logs.source");
    }

    #[test]
    fn zero_grace_period_is_refused() {
        let (f, _) = field("[supervise]\ncommand = [\"x\"]\ngrace_period = \"0s\"\n");
        assert_eq!(f, "supervise.grace_period");
    }
}
