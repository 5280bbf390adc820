//! What a health endpoint's body says: one reader for the formats real services emit, shared by
//! every health judge (`health.ready_now`, `health.status_consistency`,
//! `health.readiness_depth`) so they never disagree about the same body.
//!
//! Formats read: the health+json draft (`status: pass|warn|fail`, a `checks` map of arrays),
//! Spring Boot Actuator (`UP/DOWN/OUT_OF_SERVICE/UNKNOWN`, nested `components`, 2.0's `details`
//! and 1.x's top-level indicators), MicroProfile Health (`checks[]` with `status`, or 1.0's
//! `outcome`/`state`), .NET HealthChecks (`Healthy/Degraded/Unhealthy`, as plain text or JSON
//! with `entries`/`results`), Kubernetes-style text (`[+]name ok`, `[-]name failed: reason`,
//! `… check failed`) and plain words (`ok`, `{"status":"ok"}`).
//!
//! Pure and bounded: text in, structure out, no more than [`COMPONENTS_MAX`] components and
//! [`DEPTH_MAX`] levels read from a hostile body.

use serde_json::{Map, Value};

use super::evidence::clip;
use crate::observations::HttpExchange;

/// The most components read from one body (hostile bodies list thousands).
pub const COMPONENTS_MAX: usize = 200;
/// How deep nested components (Spring composites) are followed.
pub const DEPTH_MAX: usize = 4;
/// The longest component message kept, in characters.
const MESSAGE_MAX: usize = 200;

/// A health state, as a body states it for itself or for a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// `pass`, `UP`, `Healthy`, `ok`…
    Pass,
    /// The state is declared but says nothing (Spring `UNKNOWN`).
    Unknown,
    /// Healthy with concerns: `warn`, `Degraded`.
    Warn,
    /// `fail`, `DOWN`, `OUT_OF_SERVICE`, `Unhealthy`, `[-] … failed`…
    Fail,
}

impl State {
    /// The lowercase name used in evidence and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Unknown => "unknown",
            State::Warn => "warn",
            State::Fail => "fail",
        }
    }

    /// True for pass and unknown: nothing to report.
    pub fn is_fine(self) -> bool {
        matches!(self, State::Pass | State::Unknown)
    }
}

/// Reads one status word: health+json `pass/warn/fail`, Spring `UP/DOWN/OUT_OF_SERVICE/UNKNOWN`,
/// .NET `Healthy/Degraded/Unhealthy`, `ok`, gRPC-style `SERVING`… Case and `-`/space are ignored.
pub fn word_state(word: &str) -> Option<State> {
    let w = word.trim().to_ascii_lowercase().replace([' ', '-'], "_");
    match w.as_str() {
        "pass" | "passed" | "passing" | "ok" | "up" | "healthy" | "serving" | "available"
        | "ready" | "alive" | "live" | "green" | "good" | "true" | "success" => Some(State::Pass),
        "warn" | "warning" | "degraded" | "yellow" => Some(State::Warn),
        "fail" | "failed" | "failing" | "failure" | "down" | "error" | "out_of_service"
        | "unhealthy" | "critical" | "not_serving" | "unavailable" | "not_ready" | "red"
        | "bad" | "false" | "shutting_down" | "draining" => Some(State::Fail),
        "unknown" => Some(State::Unknown),
        _ => None,
    }
}

/// Which format the body is in (for evidence; the reading does not depend on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// draft-inadarei-api-health-check (`application/health+json`).
    HealthJson,
    /// Spring Boot Actuator.
    SpringBoot,
    /// MicroProfile Health (Quarkus, Open Liberty, Helidon…).
    MicroProfile,
    /// ASP.NET Core HealthChecks.
    DotNet,
    /// Kubernetes-style `[+]name ok` lines.
    KubernetesText,
    /// One word of plain text.
    PlainText,
    /// Some other JSON object with a status.
    Json,
}

impl Format {
    /// A short name for evidence lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::HealthJson => "health+json",
            Format::SpringBoot => "Spring Boot Actuator",
            Format::MicroProfile => "MicroProfile Health",
            Format::DotNet => ".NET HealthChecks",
            Format::KubernetesText => "Kubernetes-style text",
            Format::PlainText => "plain text",
            Format::Json => "JSON",
        }
    }
}

/// The overall status a body declares, with the words quoted for evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overall {
    /// What it means.
    pub state: State,
    /// As said: `status "DOWN"`, `"OK"`, `healthy false`, `"readyz check failed"`.
    pub said: String,
}

/// One component (a check, an indicator, a dependency) the body lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Its name (`database:connection`, `db`, `firstCheck`).
    pub name: String,
    /// Its state, when it states one.
    pub state: Option<State>,
    /// The status word as sent (`DOWN`, `fail`, `Unhealthy`, `failed`).
    pub status: Option<String>,
    /// Why, when the body says (`output`, `error`, `description`, `data.rootCause`…), clipped.
    pub message: Option<String>,
    /// Nested components (Spring composites), read to [`DEPTH_MAX`].
    pub children: Vec<Component>,
}

/// A component that is not passing, named by its path through nested composites (`db/primary`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// `db/primary`.
    pub path: String,
    /// Warn or fail.
    pub state: State,
    /// The status word as sent.
    pub status: String,
    /// Why, when the body says.
    pub message: Option<String>,
}

/// What a health body says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthBody {
    /// The format recognised.
    pub format: Format,
    /// The overall status it declares, if it declares one.
    pub overall: Option<Overall>,
    /// Its top-level components, in body order.
    pub components: Vec<Component>,
    /// True for a JSON object holding only `status` (and Spring's `groups`): details switched off.
    pub status_only: bool,
}

impl HealthBody {
    /// The overall state: the declared one, else the worst component's, else none.
    pub fn state(&self) -> Option<State> {
        self.overall
            .as_ref()
            .map(|o| o.state)
            .or_else(|| self.worst_component())
    }

    /// The worst state any component (nested ones included) declares.
    pub fn worst_component(&self) -> Option<State> {
        fn worst(list: &[Component]) -> Option<State> {
            list.iter()
                .filter_map(|c| {
                    let own = c.state;
                    let nested = worst(&c.children);
                    own.max(nested)
                })
                .max()
        }
        worst(&self.components)
    }

    /// Top-level component names, in body order.
    pub fn names(&self) -> Vec<&str> {
        self.components.iter().map(|c| c.name.as_str()).collect()
    }

    /// Every component that warns or fails, worst first: a composite whose children say why is
    /// replaced by those children (`db/primary`), at most `max` of them.
    pub fn not_passing(&self, max: usize) -> Vec<Flagged> {
        fn walk(list: &[Component], prefix: &str, out: &mut Vec<Flagged>) {
            for c in list {
                let path = if prefix.is_empty() {
                    c.name.clone()
                } else {
                    format!("{prefix}/{}", c.name)
                };
                let before = out.len();
                walk(&c.children, &path, out);
                if out.len() > before {
                    continue;
                }
                if let Some(state) = c.state.filter(|s| !s.is_fine()) {
                    out.push(Flagged {
                        path,
                        state,
                        status: c
                            .status
                            .clone()
                            .unwrap_or_else(|| state.as_str().to_string()),
                        message: c.message.clone(),
                    });
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.components, "", &mut out);
        // Stable: fails before warns, body order inside each.
        out.sort_by_key(|f| std::cmp::Reverse(f.state));
        out.truncate(max);
        out
    }
}

/// Reads what an answer's body says about health; `None` when the body is not decoded, empty, an
/// unparseable document, or states nothing recognisable.
pub fn parse(ex: &HttpExchange) -> Option<HealthBody> {
    if !ex.body_decoded {
        return None;
    }
    parse_text(&ex.body, ex.media_type().as_deref())
}

/// [`parse`] on a body and its media type.
pub fn parse_text(body: &str, media_type: Option<&str>) -> Option<HealthBody> {
    let body = body.trim();
    if body.is_empty() {
        return None;
    }
    if body.starts_with('{') {
        let value: Value = serde_json::from_str(body).ok()?;
        return parse_json(value.as_object()?, media_type);
    }
    if body
        .lines()
        .take(1000)
        .any(|l| l.trim_start().starts_with("[+]") || l.trim_start().starts_with("[-]"))
    {
        return Some(parse_kubernetes(body));
    }
    if body.chars().count() <= 40 && !body.contains('\n') {
        let state = word_state(body)?;
        let dotnet = ["healthy", "degraded", "unhealthy"]
            .iter()
            .any(|w| body.eq_ignore_ascii_case(w));
        return Some(HealthBody {
            format: if dotnet {
                Format::DotNet
            } else {
                Format::PlainText
            },
            overall: Some(Overall {
                state,
                said: format!("{body:?}"),
            }),
            components: Vec::new(),
            status_only: false,
        });
    }
    None
}

/// JSON keys that carry the overall status, most authoritative first (`outcome` is MicroProfile
/// Health 1.0).
const STATUS_KEYS: &[&str] = &[
    "status", "outcome", "health", "state", "healthy", "ok", "up",
];
/// Keys that hold a component's own status.
const COMPONENT_STATUS_KEYS: &[&str] = &["status", "state", "outcome", "healthy"];
/// Keys whose value lists components.
const CONTAINER_KEYS: &[&str] = &[
    "checks",
    "components",
    "details",
    "dependencies",
    "entries",
    "results",
];
/// Keys that name a component inside an array item.
const NAME_KEYS: &[&str] = &["name", "key", "component", "componentId", "id", "check"];
/// Keys that say why a component is not passing, most specific first.
const MESSAGE_KEYS: &[&str] = &[
    "output",
    "error",
    "exception",
    "message",
    "reason",
    "rootCause",
    "cause",
    "description",
];
/// Keys whose object holds more about a component (and may hold the message).
const DETAIL_KEYS: &[&str] = &["details", "data"];

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<(&'a String, &'a Value)> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))
}

/// A status word or boolean read as a state.
fn value_state(v: &Value) -> Option<State> {
    match v {
        Value::String(s) => word_state(s),
        Value::Bool(true) => Some(State::Pass),
        Value::Bool(false) => Some(State::Fail),
        _ => None,
    }
}

/// The overall claim of a JSON object: a status word or boolean under one of [`STATUS_KEYS`].
fn json_overall(obj: &Map<String, Value>) -> Option<Overall> {
    STATUS_KEYS.iter().find_map(|name| {
        let (key, v) = get_ci(obj, name)?;
        let state = value_state(v)?;
        Some(Overall {
            state,
            said: format!("{} {}", clip(key, 30), clip(&v.to_string(), 40)),
        })
    })
}

/// A component's state and status word from its object.
fn object_state(obj: &Map<String, Value>) -> (Option<State>, Option<String>) {
    for name in COMPONENT_STATUS_KEYS {
        if let Some((_, v)) = get_ci(obj, name)
            && let Some(state) = value_state(v)
        {
            let word = match v {
                Value::String(s) => clip(s, 40),
                other => other.to_string(),
            };
            return (Some(state), Some(word));
        }
    }
    (None, None)
}

/// The first non-empty message of a component object, looking into `details`/`data` too.
fn object_message(obj: &Map<String, Value>) -> Option<String> {
    let direct = |o: &Map<String, Value>| {
        MESSAGE_KEYS.iter().find_map(|k| match get_ci(o, k) {
            Some((_, Value::String(s))) if !s.trim().is_empty() => {
                Some(clip(s.trim(), MESSAGE_MAX))
            }
            _ => None,
        })
    };
    direct(obj).or_else(|| {
        DETAIL_KEYS.iter().find_map(|k| match get_ci(obj, k) {
            Some((_, Value::Object(inner))) => direct(inner),
            _ => None,
        })
    })
}

/// One component from `name` and its value (an object, a health+json array, a status word).
fn component(name: &str, value: &Value, depth: usize, budget: &mut usize) -> Option<Component> {
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let name = clip(name, 100);
    let c = match value {
        Value::Object(obj) => {
            let (state, status) = object_state(obj);
            let mut children = Vec::new();
            if depth < DEPTH_MAX
                && let Some((_, Value::Object(nested))) = get_ci(obj, "components")
            {
                for (k, v) in nested {
                    children.extend(component(k, v, depth + 1, budget));
                }
            }
            Component {
                name,
                state,
                status,
                message: object_message(obj),
                children,
            }
        }
        // health+json: one object per node; the component is as bad as its worst node.
        Value::Array(items) => {
            let nodes: Vec<&Map<String, Value>> =
                items.iter().filter_map(Value::as_object).take(50).collect();
            let worst = nodes
                .iter()
                .map(|o| (object_state(o), *o))
                .max_by_key(|((s, _), _)| *s);
            match worst {
                Some(((state, status), obj)) => Component {
                    name,
                    state,
                    status,
                    message: object_message(obj),
                    children: Vec::new(),
                },
                None => Component {
                    name,
                    state: None,
                    status: None,
                    message: None,
                    children: Vec::new(),
                },
            }
        }
        other => Component {
            name,
            state: value_state(other),
            status: other.as_str().map(|s| clip(s, 40)),
            message: None,
            children: Vec::new(),
        },
    };
    Some(c)
}

/// The components a container value lists: an object's entries, or an array's named items.
fn container(key: &str, value: &Value, budget: &mut usize, out: &mut Vec<Component>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                // A single Spring indicator's `details` holds facts (`database`, `error`), not
                // components: only object values or status words count there.
                if key.eq_ignore_ascii_case("details") && !v.is_object() && value_state(v).is_none()
                {
                    continue;
                }
                out.extend(component(k, v, 1, budget));
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => {
                        out.extend(component(s, &Value::Object(Map::new()), 1, budget))
                    }
                    Value::Object(o) => {
                        let name = NAME_KEYS
                            .iter()
                            .find_map(|k| o.get(*k).and_then(Value::as_str));
                        if let Some(name) = name {
                            out.extend(component(name, item, 1, budget));
                        }
                    }
                    _ => {}
                }
                if *budget == 0 {
                    break;
                }
            }
        }
        _ => {}
    }
}

fn parse_json(obj: &Map<String, Value>, media_type: Option<&str>) -> Option<HealthBody> {
    let overall = json_overall(obj);
    let mut components = Vec::new();
    let mut budget = COMPONENTS_MAX;
    for (key, value) in obj {
        if CONTAINER_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k)) {
            container(key, value, &mut budget, &mut components);
        } else if let Value::Object(o) = value
            && o.keys().any(|k| k.eq_ignore_ascii_case("status"))
        {
            // Spring Boot 1.x: indicators sit at the top level.
            components.extend(component(key, value, 1, &mut budget));
        }
    }
    let status_only = get_ci(obj, "status").is_some()
        && obj
            .keys()
            .all(|k| k.eq_ignore_ascii_case("status") || k == "groups");
    if overall.is_none() && components.is_empty() {
        return None;
    }
    Some(HealthBody {
        format: json_format(obj, overall.as_ref(), media_type),
        overall,
        components,
        status_only,
    })
}

/// Which JSON format this is, from its shape and words.
fn json_format(
    obj: &Map<String, Value>,
    overall: Option<&Overall>,
    media_type: Option<&str>,
) -> Format {
    let word = ["status", "outcome"]
        .iter()
        .find_map(|k| get_ci(obj, k).and_then(|(_, v)| v.as_str()))
        .unwrap_or_default();
    let has = |k: &str| get_ci(obj, k).is_some();
    let checks = get_ci(obj, "checks").map(|(_, v)| v);
    if ["healthy", "degraded", "unhealthy"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
        || has("entries")
        || has("totalDuration")
    {
        Format::DotNet
    } else if media_type.is_some_and(|m| m.ends_with("health+json"))
        || checks
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().any(Value::is_array))
        || ["pass", "warn", "fail"].contains(&word)
    {
        Format::HealthJson
    } else if checks.is_some_and(Value::is_array) || has("outcome") {
        Format::MicroProfile
    } else if has("components")
        || (overall.is_some() && ["UP", "DOWN", "OUT_OF_SERVICE", "UNKNOWN"].contains(&word))
    {
        Format::SpringBoot
    } else {
        Format::Json
    }
}

/// Kubernetes-style text: `[+]ping ok`, `[-]etcd failed: reason withheld`, `readyz check failed`.
fn parse_kubernetes(body: &str) -> HealthBody {
    let mut components = Vec::new();
    let mut said: Option<(State, String)> = None;
    for line in body.lines().take(1000) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("[+]") {
            let name = rest.split_whitespace().next().unwrap_or(rest);
            if components.len() < COMPONENTS_MAX {
                components.push(Component {
                    name: clip(name, 100),
                    state: Some(State::Pass),
                    status: Some("ok".to_string()),
                    message: None,
                    children: Vec::new(),
                });
            }
        } else if let Some(rest) = line.strip_prefix("[-]") {
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            let message = tail
                .trim()
                .strip_prefix("failed:")
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(|m| clip(m, MESSAGE_MAX));
            if components.len() < COMPONENTS_MAX {
                components.push(Component {
                    name: clip(name, 100),
                    state: Some(State::Fail),
                    status: Some("failed".to_string()),
                    message,
                    children: Vec::new(),
                });
            }
        } else if line.ends_with("check passed") {
            said = Some((State::Pass, line.to_string()));
        } else if line.ends_with("check failed") {
            said = Some((State::Fail, line.to_string()));
        }
    }
    let overall = match said {
        Some((state, line)) => Some(Overall {
            state,
            said: format!("{:?}", clip(&line, 60)),
        }),
        None => components
            .iter()
            .filter_map(|c| c.state)
            .max()
            .map(|state| Overall {
                state,
                said: format!(
                    "{} of {} checks failed",
                    components
                        .iter()
                        .filter(|c| c.state == Some(State::Fail))
                        .count(),
                    components.len()
                ),
            }),
    };
    HealthBody {
        format: Format::KubernetesText,
        overall,
        components,
        status_only: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_map_to_states() {
        assert_eq!(word_state("UP"), Some(State::Pass));
        assert_eq!(word_state("Degraded"), Some(State::Warn));
        assert_eq!(word_state("OUT_OF_SERVICE"), Some(State::Fail));
        assert_eq!(word_state("out-of-service"), Some(State::Fail));
        assert_eq!(word_state("not ready"), Some(State::Fail));
        assert_eq!(word_state("UNKNOWN"), Some(State::Unknown));
        assert_eq!(word_state("banana"), None);
    }

    #[test]
    fn spring_nested_failures_are_named_by_path() {
        let body = r#"{"status":"DOWN","components":{"db":{"status":"DOWN","components":{"primary":{"status":"UP"},"replica":{"status":"DOWN","details":{"error":"java.net.ConnectException: Connection refused"}}}},"ping":{"status":"UP"}}}"#;
        let b = parse_text(body, Some("application/json")).unwrap();
        assert_eq!(b.format, Format::SpringBoot);
        assert_eq!(b.names(), vec!["db", "ping"]);
        let flagged = b.not_passing(10);
        assert_eq!(flagged.len(), 1);
        assert_eq!(flagged[0].path, "db/replica");
        assert_eq!(flagged[0].status, "DOWN");
        assert_eq!(
            flagged[0].message.as_deref(),
            Some("java.net.ConnectException: Connection refused")
        );
    }

    #[test]
    fn single_indicator_details_are_facts_not_components() {
        let body =
            r#"{"status":"UP","details":{"database":"PostgreSQL","validationQuery":"isValid()"}}"#;
        let b = parse_text(body, None).unwrap();
        assert!(b.components.is_empty(), "{:?}", b.components);
        assert_eq!(b.state(), Some(State::Pass));
    }

    #[test]
    fn hostile_bodies_are_bounded() {
        let many: Vec<String> = (0..5000).map(|i| format!("\"c{i}\":{{}}")).collect();
        let body = format!("{{\"checks\":{{{}}}}}", many.join(","));
        let b = parse_text(&body, None).unwrap();
        assert_eq!(b.components.len(), COMPONENTS_MAX);
        let mut deep = String::from("{\"status\":\"DOWN\",\"components\":");
        for _ in 0..50 {
            deep.push_str("{\"x\":{\"status\":\"DOWN\",\"components\":");
        }
        deep.push_str("{}");
        for _ in 0..50 {
            deep.push_str("}}");
        }
        deep.push('}');
        let b = parse_text(&deep, None).unwrap();
        assert!(b.not_passing(10)[0].path.matches('/').count() < DEPTH_MAX);
    }

    #[test]
    fn unrecognisable_bodies_say_nothing() {
        assert_eq!(parse_text("", None), None);
        assert_eq!(parse_text("{\"uptime\": 12, ", None), None);
        assert_eq!(parse_text("{\"uptime\": 12}", None), None);
        assert_eq!(parse_text("<html>hello</html>", None), None);
        assert_eq!(parse_text(&"word ".repeat(20), None), None);
    }
}
