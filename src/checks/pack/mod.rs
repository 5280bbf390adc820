//! Check packs: HTTP checks declared as data in `probes/*.toml` instead of Rust.
//!
//! Many readiness checks are one request and a few conditions ("is `/.env` served?", "is there an
//! OpenAPI document?"). A pack declares them — id, title, category, severity, remediation,
//! references, the requests to send and the conditions each answer must meet — and this module
//! turns the file into [`PackCheck`]s: the engine sends each [`PackRequest::spec`] and hands the
//! answers to [`judge`], a pure function like every other check. The built-in packs are embedded
//! with `include_str!` ([`builtin`]); users add their own with `--probes DIR` ([`load_dir`]).
//! The format is documented in `probes/README.md`.
//!
//! Loading is all-or-nothing and strict: unknown keys, an unknown placeholder, an invalid regex, a
//! state-changing method without `mutating = true`, a path without a leading `/`, a duplicate id —
//! each is an error naming the file, the field and the line, and nothing of the file is used.
//! Conditions are parsed and regexes compiled here, so judging cannot fail on a loaded pack.

mod condition;
pub(crate) mod excerpt;
mod judge;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;
use url::Url;

pub use condition::{Condition, OPERATORS};
pub use judge::judge;

use crate::config::ConfigError;
use crate::model::{Category, Outcome, Severity};
use crate::probes::http::RequestSpec;

/// The packs shipped in the binary: (path in the repository, contents).
const BUILTIN: &[(&str, &str)] = &[
    (
        "probes/exposure.toml",
        include_str!("../../../probes/exposure.toml"),
    ),
    (
        "probes/docs.toml",
        include_str!("../../../probes/docs.toml"),
    ),
    ("probes/ops.toml", include_str!("../../../probes/ops.toml")),
];

/// Methods a pack may send without `mutating = true`.
const SAFE_METHODS: &[&str] = &["GET", "HEAD", "OPTIONS"];

/// One check declared in a pack.
#[derive(Debug, Clone)]
pub struct PackCheck {
    /// Stable dotted lowercase id (`exposure.sensitive_paths`), unique across all loaded packs.
    pub id: String,
    /// Short human title.
    pub title: String,
    /// The problem a failing or warning finding is headed by (`problem = "…"`); without one the
    /// finding is headed by its summary.
    pub problem: Option<String>,
    /// The category it is scored in.
    pub category: Category,
    /// Default severity.
    pub severity: Severity,
    /// One-line description of what it asserts (shown by `explain`): the pack's `rule`, or one
    /// generated from the requests and conditions.
    pub rule: String,
    /// What to do when it fails.
    pub remediation: String,
    /// RFCs, OWASP pages, vendor docs.
    pub references: Vec<String>,
    /// True when it may replace a check with the same id (a built-in one or an embedded pack's).
    pub overrides: bool,
    /// `builtin:probes/exposure.toml`, or the user pack's path as given.
    pub source: String,
    /// Line of the check's `id` in its source (for messages about the check as a whole).
    pub line: usize,
    /// The requests to send, in order; the engine answers `requests[i]` with `exchanges[i]`.
    pub requests: Vec<PackRequest>,
    /// What a broken condition yields unless the condition says otherwise: `Fail` or `Warn`.
    pub on_failure: Outcome,
    /// Whether every request must meet its conditions, or one is enough.
    pub pass_when: PassWhen,
    /// True when the pack declares `mutating = true`: some request uses a method other than
    /// GET/HEAD/OPTIONS, so the engine should run it only where mutations are allowed.
    pub mutating: bool,
}

/// How a check's requests combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassWhen {
    /// Every request must meet its conditions; the check reports its worst request.
    #[default]
    All,
    /// One request meeting its conditions is enough ("an OpenAPI document at one of these
    /// paths").
    Any,
}

impl PassWhen {
    /// `all` or `any`, as written in packs.
    pub fn as_str(self) -> &'static str {
        match self {
            PassWhen::All => "all",
            PassWhen::Any => "any",
        }
    }
}

/// One request of a pack check and the conditions its answer must meet.
#[derive(Debug, Clone)]
pub struct PackRequest {
    /// HTTP method, upper case (`GET` unless the pack says otherwise).
    pub method: String,
    /// Path (and optional query) joined onto the target, keeping the target's own path prefix.
    pub path: String,
    /// Extra request headers, sorted by name.
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<String>,
    /// Follow same-host redirects (default false: a redirect is judged as received).
    pub follow_redirects: bool,
    /// Conditions that must all hold.
    pub all: Vec<Condition>,
    /// Conditions of which at least one must hold (empty: no such group).
    pub any: Vec<Condition>,
}

impl PackRequest {
    /// The request to send to `target`: the path joined as `engine::join_path` does.
    pub fn spec(&self, target: &Url) -> RequestSpec {
        RequestSpec {
            method: self.method.clone(),
            url: crate::engine::join_path(target, &self.path),
            headers: self.headers.clone(),
            body: self.body.clone(),
            follow_redirects: self.follow_redirects,
            alone: false,
        }
    }

    /// How summaries name the request: the path, prefixed by the method unless it is GET.
    pub fn label(&self) -> String {
        if self.method == "GET" {
            self.path.clone()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }

    /// Every condition of the request, `all` then `any`.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.all.iter().chain(self.any.iter())
    }
}

/// Why a pack could not be loaded. Messages name the file, the field and the line:
/// `probes/x.toml: check[2].request[0].all[1]: unknown placeholder [STAUTS] (line 14)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// The `--probes` directory could not be listed.
    #[error("{path}: cannot read the probes directory: {reason}")]
    Dir {
        /// The directory, as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The directory holds no `*.toml` file.
    #[error("{path}: no *.toml check packs in this directory")]
    Empty {
        /// The directory, as given.
        path: String,
    },
    /// A pack file could not be read.
    #[error("{path}: cannot read the pack: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The pack is malformed.
    #[error("{origin}: {field}: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// Dotted field path (`check[0].request[1].path`), or `(file)`.
        field: String,
        /// What is wrong, ending with `(line N)` when the line is known.
        message: String,
    },
}

impl From<ConfigError> for PackError {
    fn from(err: ConfigError) -> PackError {
        match err {
            ConfigError::Field {
                origin,
                field,
                message,
            } => PackError::Invalid {
                origin,
                field,
                message,
            },
            ConfigError::Read { path, reason } => PackError::Read { path, reason },
        }
    }
}

/// Parses one pack; `origin` names it in errors and becomes each check's `source`. All or
/// nothing: any error rejects the whole file.
pub fn parse(text: &str, origin: &str) -> Result<Vec<PackCheck>, PackError> {
    parse_from(text, origin, origin)
}

/// The packs embedded in the binary (`probes/*.toml`), in a fixed order.
pub fn builtin() -> Result<Vec<PackCheck>, PackError> {
    let mut checks = Vec::new();
    for (path, text) in BUILTIN {
        let file = parse_from(text, path, &format!("builtin:{path}"))?;
        add_unique(&mut checks, file, path)?;
    }
    Ok(checks)
}

/// Every `*.toml` pack in `dir`, files in name order (a single `.toml` file is accepted too).
/// A missing or unreadable directory, a directory without packs, a malformed pack or an id used
/// twice is an error; nothing is half-loaded.
pub fn load_dir(dir: &Path) -> Result<Vec<PackCheck>, PackError> {
    let shown = dir.display().to_string();
    let files: Vec<PathBuf> = if dir.is_file() {
        vec![dir.to_path_buf()]
    } else {
        let entries = std::fs::read_dir(dir).map_err(|e| PackError::Dir {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| PackError::Dir {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "toml") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        files
    };
    if files.is_empty() {
        return Err(PackError::Empty { path: shown });
    }
    let mut checks = Vec::new();
    for file in files {
        let origin = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| PackError::Read {
            path: origin.clone(),
            reason: e.to_string(),
        })?;
        let parsed = parse(&text, &origin)?;
        add_unique(&mut checks, parsed, &origin)?;
    }
    Ok(checks)
}

/// Appends one file's checks, refusing an id an earlier file already defined.
fn add_unique(
    into: &mut Vec<PackCheck>,
    file: Vec<PackCheck>,
    origin: &str,
) -> Result<(), PackError> {
    for (index, check) in file.into_iter().enumerate() {
        if let Some(first) = into.iter().find(|c| c.id == check.id) {
            return Err(PackError::Invalid {
                origin: origin.to_string(),
                field: format!("check[{index}].id"),
                message: format!(
                    "duplicate id {:?}; {} already defines it (line {})",
                    check.id, first.source, check.line
                ),
            });
        }
        into.push(check);
    }
    Ok(())
}

fn parse_from(text: &str, origin: &str, source: &str) -> Result<Vec<PackCheck>, PackError> {
    let de = toml::Deserializer::parse(text)
        .map_err(|e| crate::config::load::toml_error(origin, text, "", &e))?;
    let raw: RawPack = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        crate::config::load::toml_error(origin, text, &field, e.inner())
    })?;
    Builder {
        text,
        origin,
        source,
    }
    .build(raw)
}

/// Turns the deserialized file into checks, validating what the types alone cannot.
struct Builder<'a> {
    text: &'a str,
    origin: &'a str,
    source: &'a str,
}

impl Builder<'_> {
    fn error(&self, field: String, span: std::ops::Range<usize>, message: String) -> PackError {
        PackError::Invalid {
            origin: self.origin.to_string(),
            field,
            message: format!("{message} (line {})", self.line(span)),
        }
    }

    fn line(&self, span: std::ops::Range<usize>) -> usize {
        let at = span.start.min(self.text.len());
        self.text.as_bytes()[..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn build(&self, raw: RawPack) -> Result<Vec<PackCheck>, PackError> {
        if raw.check.is_empty() {
            return Err(PackError::Invalid {
                origin: self.origin.to_string(),
                field: "(file)".to_string(),
                message: "no [[check]] tables; a pack declares at least one check".to_string(),
            });
        }
        let mut checks: Vec<PackCheck> = Vec::with_capacity(raw.check.len());
        for (i, rc) in raw.check.into_iter().enumerate() {
            let id_span = rc.id.span();
            let id = rc.id.into_inner();
            if !valid_id(&id) {
                return Err(self.error(
                    format!("check[{i}].id"),
                    id_span,
                    format!("expected a dotted lowercase id like \"myapp.health\", got {id:?}"),
                ));
            }
            if let Some(first) = checks.iter().position(|c| c.id == id) {
                return Err(self.error(
                    format!("check[{i}].id"),
                    id_span,
                    format!("duplicate id {id:?}; check[{first}] already uses it"),
                ));
            }
            if rc.request.is_empty() {
                return Err(self.error(
                    format!("check[{i}]"),
                    id_span,
                    "no [[check.request]]; a check sends at least one request".to_string(),
                ));
            }
            let on_failure = rc.outcome.map(|o| o.0).unwrap_or(Outcome::Fail);
            let mut requests = Vec::with_capacity(rc.request.len());
            for (j, rr) in rc.request.into_iter().enumerate() {
                requests.push(self.request(i, j, rr, rc.mutating, on_failure)?);
            }
            let pass_when = rc.pass_when.map(|p| p.0).unwrap_or_default();
            let rule = match rc.rule {
                Some(rule) if !rule.trim().is_empty() => rule.trim().to_string(),
                _ => describe(&requests, pass_when),
            };
            checks.push(PackCheck {
                id,
                title: rc.title,
                problem: rc.problem.filter(|p| !p.trim().is_empty()),
                category: rc.category.0,
                severity: rc.severity.0,
                rule,
                remediation: rc.remediation,
                references: rc.references,
                overrides: rc.overrides,
                source: self.source.to_string(),
                line: self.line(id_span),
                requests,
                on_failure,
                pass_when,
                mutating: rc.mutating,
            });
        }
        Ok(checks)
    }

    fn request(
        &self,
        i: usize,
        j: usize,
        rr: RawRequest,
        mutating: bool,
        on_failure: Outcome,
    ) -> Result<PackRequest, PackError> {
        let field = |name: &str| format!("check[{i}].request[{j}].{name}");
        let path_span = rr.path.span();
        let path = rr.path.into_inner();
        if !path.starts_with('/') || path.contains(char::is_whitespace) || path.contains('#') {
            return Err(self.error(
                field("path"),
                path_span.clone(),
                format!("expected a path starting with / (no spaces, no #fragment), got {path:?}"),
            ));
        }
        let method = match rr.method {
            None => "GET".to_string(),
            Some(spanned) => {
                let span = spanned.span();
                let method = spanned.into_inner().trim().to_ascii_uppercase();
                if method.is_empty() || http::Method::from_bytes(method.as_bytes()).is_err() {
                    return Err(self.error(
                        field("method"),
                        span,
                        format!("expected an HTTP method such as GET, got {method:?}"),
                    ));
                }
                if !SAFE_METHODS.contains(&method.as_str()) && !mutating {
                    return Err(self.error(
                        field("method"),
                        span,
                        format!(
                            "{method} may change state on the target; only GET, HEAD and OPTIONS \
                             are sent unless the check sets mutating = true"
                        ),
                    ));
                }
                method
            }
        };
        let mut headers = Vec::with_capacity(rr.headers.len());
        for (name, value) in rr.headers {
            let span = value.span();
            let value = value.into_inner();
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(self.error(
                    field(&format!("headers.{name}")),
                    span,
                    "not a valid header name".to_string(),
                ));
            }
            if http::HeaderValue::from_str(&value).is_err() {
                return Err(self.error(
                    field(&format!("headers.{name}")),
                    span,
                    "not a valid header value (control characters or non-ASCII)".to_string(),
                ));
            }
            headers.push((name, value));
        }
        if rr.all.is_empty() && rr.any.is_empty() {
            return Err(self.error(
                format!("check[{i}].request[{j}]"),
                path_span,
                "no conditions; give all = [\"…\"] and/or any = [\"…\"]".to_string(),
            ));
        }
        let finish = |raw: Vec<RawCondition>| -> Vec<Condition> {
            raw.into_iter()
                .map(|rc| {
                    let mut condition = rc.condition;
                    condition.outcome = rc.outcome.unwrap_or(on_failure);
                    condition
                })
                .collect()
        };
        Ok(PackRequest {
            method,
            path,
            headers,
            body: rr.body,
            follow_redirects: rr.follow_redirects,
            all: finish(rr.all),
            any: finish(rr.any),
        })
    }
}

/// Dotted lowercase: at least two segments of `a-z 0-9 _ -`, starting with a letter.
fn valid_id(id: &str) -> bool {
    let mut segments = id.split('.');
    let first_ok = segments
        .next()
        .and_then(|s| s.chars().next())
        .is_some_and(|c| c.is_ascii_lowercase());
    first_ok
        && id.contains('.')
        && id.split('.').all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
}

/// A rule line generated from the requests when the pack gives none.
fn describe(requests: &[PackRequest], pass_when: PassWhen) -> String {
    let conditions = |r: &PackRequest| {
        let mut parts: Vec<String> = r.all.iter().map(|c| c.text.clone()).collect();
        if !r.any.is_empty() {
            let any: Vec<&str> = r.any.iter().map(|c| c.text.as_str()).collect();
            parts.push(format!("any of ({})", any.join(" | ")));
        }
        parts.join(" and ")
    };
    let line = match requests {
        [one] => format!("{} {}: {}", one.method, one.path, conditions(one)),
        many => {
            let labels: Vec<String> = many.iter().map(PackRequest::label).collect();
            format!(
                "{} of {} requests meets its conditions: {}",
                match pass_when {
                    PassWhen::All => "each",
                    PassWhen::Any => "at least one",
                },
                many.len(),
                labels.join(", ")
            )
        }
    };
    excerpt::clip(line, 200)
}

// ---- the file as written -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    #[serde(default)]
    check: Vec<RawCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    problem: Option<String>,
    category: CategoryField,
    severity: SeverityField,
    #[serde(default)]
    rule: Option<String>,
    remediation: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    overrides: bool,
    #[serde(default)]
    mutating: bool,
    #[serde(default)]
    outcome: Option<FailureOutcome>,
    #[serde(default)]
    pass_when: Option<PassWhenField>,
    #[serde(default)]
    request: Vec<RawRequest>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    path: Spanned<String>,
    #[serde(default)]
    method: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    follow_redirects: bool,
    #[serde(default)]
    all: Vec<RawCondition>,
    #[serde(default)]
    any: Vec<RawCondition>,
}

/// A condition as written: `"[STATUS] == 200"` or `{ that = "…", outcome = "warn", ok = "…",
/// broken = "…" }`.
struct RawCondition {
    condition: Condition,
    outcome: Option<Outcome>,
}

/// The keys of a condition table.
const CONDITION_KEYS: &[&str] = &["that", "outcome", "ok", "broken"];

/// Validation runs inside the visitors so that toml attaches the value's own span (its line) to
/// the error.
macro_rules! str_field {
    ($name:ident, $ty:ty, $expecting:expr, |$s:ident| $parse:expr) => {
        struct $name($ty);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, $s: &str) -> Result<$name, E> {
                        let parsed: Result<$ty, String> = $parse;
                        parsed.map($name).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

str_field!(CategoryField, Category, "a category name", |s| {
    Category::parse(s).ok_or_else(|| {
        format!(
            "unknown category {s:?}; expected one of security, health_checks, observability, \
             performance, scalability, reliability, operational"
        )
    })
});

str_field!(SeverityField, Severity, "a severity", |s| {
    Severity::parse(s).ok_or_else(|| {
        format!("unknown severity {s:?}; expected one of critical, high, medium, low, info")
    })
});

str_field!(FailureOutcome, Outcome, "\"fail\" or \"warn\"", |s| {
    match s {
        "fail" => Ok(Outcome::Fail),
        "warn" => Ok(Outcome::Warn),
        other => Err(format!("expected \"fail\" or \"warn\", got {other:?}")),
    }
});

str_field!(PassWhenField, PassWhen, "\"all\" or \"any\"", |s| {
    match s {
        "all" => Ok(PassWhen::All),
        "any" => Ok(PassWhen::Any),
        other => Err(format!("expected \"all\" or \"any\", got {other:?}")),
    }
});

impl<'de> Deserialize<'de> for RawCondition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCondition;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a condition string or a table { that = \"…\", outcome = \"warn\", ok = \"…\", broken = \"…\" }",
                )
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawCondition, E> {
                Ok(RawCondition {
                    condition: Condition::parse(s).map_err(E::custom)?,
                    outcome: None,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCondition, A::Error> {
                let mut that: Option<String> = None;
                let mut outcome: Option<Outcome> = None;
                let (mut ok, mut broken): (Option<String>, Option<String>) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "that" => that = Some(map.next_value()?),
                        "outcome" => outcome = Some(map.next_value::<FailureOutcome>()?.0),
                        "ok" => ok = Some(map.next_value()?),
                        "broken" => broken = Some(map.next_value()?),
                        other => {
                            return Err(de::Error::unknown_field(other, CONDITION_KEYS));
                        }
                    }
                }
                let that = that.ok_or_else(|| de::Error::missing_field("that"))?;
                let mut condition = Condition::parse(&that).map_err(de::Error::custom)?;
                condition.ok = ok;
                condition.broken = broken;
                Ok(RawCondition { condition, outcome })
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> (String, String) {
        let path = format!("{}/tests/fixtures/packs/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        (text, format!("tests/fixtures/packs/{name}"))
    }

    fn invalid(name: &str) -> String {
        let (text, origin) = fixture(name);
        parse(&text, &origin)
            .err()
            .unwrap_or_else(|| panic!("{name} loaded"))
            .to_string()
    }

    #[test]
    fn builtin_packs_parse_with_their_ids() {
        let checks = builtin().expect("embedded packs are valid");
        let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "exposure.sensitive_paths",
                "docs.openapi",
                "ops.version_endpoint"
            ]
        );
        let exposure = &checks[0];
        assert_eq!(exposure.category, Category::Security);
        assert_eq!(exposure.severity, Severity::Critical);
        assert_eq!(exposure.source, "builtin:probes/exposure.toml");
        assert_eq!(exposure.requests.len(), 12);
        assert!(
            exposure
                .requests
                .iter()
                .all(|r| !r.follow_redirects && r.method == "GET")
        );
        let docs = &checks[1];
        assert_eq!(
            (
                docs.category,
                docs.severity,
                docs.on_failure,
                docs.pass_when
            ),
            (
                Category::Operational,
                Severity::Medium,
                Outcome::Warn,
                PassWhen::Any
            )
        );
        let ops = &checks[2];
        assert_eq!(
            (ops.category, ops.severity, ops.on_failure, ops.pass_when),
            (
                Category::Operational,
                Severity::Low,
                Outcome::Warn,
                PassWhen::Any
            )
        );
        for check in &checks {
            assert!(
                !check.rule.is_empty() && !check.remediation.is_empty(),
                "{}",
                check.id
            );
            assert!(!check.references.is_empty(), "{}", check.id);
            assert!(!check.mutating && !check.overrides, "{}", check.id);
        }
    }

    #[test]
    fn builtin_ids_do_not_collide_with_rust_checks() {
        for check in builtin().expect("valid") {
            assert!(crate::checks::find(&check.id).is_none(), "{}", check.id);
        }
    }

    #[test]
    fn valid_fixture_parses_with_defaults() {
        let (text, origin) = fixture("valid-basic.toml");
        let checks = parse(&text, &origin).expect("valid");
        assert_eq!(checks.len(), 1);
        let c = &checks[0];
        assert_eq!(c.id, "myapp.health");
        assert_eq!(c.category, Category::HealthChecks);
        assert_eq!(c.on_failure, Outcome::Fail);
        assert_eq!(c.pass_when, PassWhen::All);
        assert_eq!(c.source, "tests/fixtures/packs/valid-basic.toml");
        assert_eq!(c.line, 2);
        assert_eq!(
            c.rule,
            "GET /health: [STATUS] == 200 and [BODY].status == UP and [HEADER:content-type] contains json"
        );
        let r = &c.requests[0];
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.headers,
            vec![("accept".to_string(), "application/json".to_string())]
        );
        assert!(!r.follow_redirects);
        assert_eq!(r.all[1].outcome, Outcome::Fail);
        assert_eq!(r.all[2].outcome, Outcome::Warn, "per-condition outcome");
    }

    #[test]
    fn spec_joins_the_path_onto_the_target_prefix() {
        let (text, origin) = fixture("valid-basic.toml");
        let checks = parse(&text, &origin).expect("valid");
        let target = Url::parse("https://app.example.com/api/").expect("url");
        let spec = checks[0].requests[0].spec(&target);
        assert_eq!(spec.url.as_str(), "https://app.example.com/api/health");
        assert_eq!(spec.method, "GET");
        assert!(!spec.follow_redirects);
        assert_eq!(
            spec.headers,
            vec![("accept".to_string(), "application/json".to_string())]
        );
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        assert_eq!(
            invalid("invalid-unknown-key.toml"),
            "tests/fixtures/packs/invalid-unknown-key.toml: check[0].request[0].follow: \
             unknown field `follow`, expected one of `path`, `method`, `headers`, `body`, \
             `follow_redirects`, `all`, `any` (line 10)"
        );
    }

    #[test]
    fn bad_placeholder_is_named_with_its_line() {
        assert_eq!(
            invalid("invalid-placeholder.toml"),
            "tests/fixtures/packs/invalid-placeholder.toml: check[0].request[0].all[1]: \
             unknown placeholder [STAUTS] (line 12)"
        );
    }

    #[test]
    fn bad_regex_is_named_with_its_line() {
        assert_eq!(
            invalid("invalid-regex.toml"),
            "tests/fixtures/packs/invalid-regex.toml: check[0].request[0].any[0]: \
             invalid regex \"(?m)^[A-Z\": unclosed character class (line 10)"
        );
    }

    #[test]
    fn bad_severity_is_named_with_its_line() {
        assert_eq!(
            invalid("invalid-severity.toml"),
            "tests/fixtures/packs/invalid-severity.toml: check[0].severity: unknown severity \
             \"severe\"; expected one of critical, high, medium, low, info (line 5)"
        );
    }

    #[test]
    fn duplicate_id_is_named_with_its_line() {
        assert_eq!(
            invalid("invalid-duplicate-id.toml"),
            "tests/fixtures/packs/invalid-duplicate-id.toml: check[1].id: duplicate id \
             \"myapp.health\"; check[0] already uses it (line 13)"
        );
    }

    #[test]
    fn post_without_mutating_is_refused_with_the_reason() {
        assert_eq!(
            invalid("invalid-post-without-mutating.toml"),
            "tests/fixtures/packs/invalid-post-without-mutating.toml: check[0].request[0].method: \
             POST may change state on the target; only GET, HEAD and OPTIONS are sent unless the \
             check sets mutating = true (line 10)"
        );
    }

    #[test]
    fn path_without_slash_is_refused() {
        assert_eq!(
            invalid("invalid-path.toml"),
            "tests/fixtures/packs/invalid-path.toml: check[0].request[0].path: expected a path \
             starting with / (no spaces, no #fragment), got \"health\" (line 9)"
        );
    }

    #[test]
    fn other_mistakes_have_exact_messages() {
        let base = "[[check]]\nid = \"a.b\"\ntitle = \"t\"\ncategory = \"security\"\n\
                    severity = \"low\"\nremediation = \"r\"\n";
        let cases: &[(&str, &str)] = &[
            (
                "[[check.request]]\npath = \"/\"\n",
                "t.toml: check[0].request[0]: no conditions; give all = [\"…\"] and/or any = [\"…\"] (line 8)",
            ),
            (
                "outcome = \"error\"\n[[check.request]]\npath = \"/\"\nall = [\"[STATUS] == 200\"]\n",
                "t.toml: check[0].outcome: expected \"fail\" or \"warn\", got \"error\" (line 7)",
            ),
            (
                "pass_when = \"most\"\n[[check.request]]\npath = \"/\"\nall = [\"[STATUS] == 200\"]\n",
                "t.toml: check[0].pass_when: expected \"all\" or \"any\", got \"most\" (line 7)",
            ),
            (
                "[[check.request]]\npath = \"/\"\nall = [{ that = \"[STATUS] == 200\", outcome = \"pass\" }]\n",
                "t.toml: check[0].request[0].all[0].outcome: expected \"fail\" or \"warn\", got \"pass\" (line 9)",
            ),
            (
                "[[check.request]]\npath = \"/\"\nall = [{ when = \"[STATUS] == 200\" }]\n",
                "t.toml: check[0].request[0].all[0]: unknown field `when`, expected one of `that`, `outcome`, `ok`, `broken` (line 9)",
            ),
            (
                "[[check.request]]\npath = \"/\"\nheaders = { \"bad header\" = \"x\" }\nall = [\"[STATUS] == 200\"]\n",
                "t.toml: check[0].request[0].headers.bad header: not a valid header name (line 9)",
            ),
            (
                "[[check.request]]\npath = \"/\"\nmethod = \"GE T\"\nall = [\"[STATUS] == 200\"]\n",
                "t.toml: check[0].request[0].method: expected an HTTP method such as GET, got \"GE T\" (line 9)",
            ),
            (
                "",
                "t.toml: check[0]: no [[check.request]]; a check sends at least one request (line 2)",
            ),
        ];
        for (tail, expected) in cases {
            let err = parse(&format!("{base}{tail}"), "t.toml").expect_err(tail);
            assert_eq!(err.to_string(), *expected);
        }
        let bad_id = base.replace("\"a.b\"", "\"MyCheck\"");
        assert_eq!(
            parse(&bad_id, "t.toml").expect_err("id").to_string(),
            "t.toml: check[0].id: expected a dotted lowercase id like \"myapp.health\", got \"MyCheck\" (line 2)"
        );
        assert_eq!(
            parse("", "t.toml").expect_err("empty").to_string(),
            "t.toml: (file): no [[check]] tables; a pack declares at least one check"
        );
        let wrong_category = base.replace("\"security\"", "\"securty\"");
        assert!(
            parse(&wrong_category, "t.toml")
                .expect_err("category")
                .to_string()
                .starts_with("t.toml: check[0].category: unknown category \"securty\"; expected one of security,")
        );
    }

    #[test]
    fn category_accepts_names_and_keys() {
        let text = "[[check]]\nid = \"a.b\"\ntitle = \"t\"\ncategory = \"Health Checks\"\n\
                    severity = \"LOW\"\nremediation = \"r\"\n[[check.request]]\npath = \"/\"\n\
                    all = [\"[STATUS] == 200\"]\n";
        let check = parse(text, "t.toml").expect("valid").remove(0);
        assert_eq!(
            (check.category, check.severity),
            (Category::HealthChecks, Severity::Low)
        );
    }

    #[test]
    fn mutating_check_may_post_with_a_body() {
        let text = "[[check]]\nid = \"a.login\"\ntitle = \"t\"\ncategory = \"security\"\n\
                    severity = \"low\"\nremediation = \"r\"\nmutating = true\n[[check.request]]\n\
                    path = \"/login\"\nmethod = \"post\"\nbody = \"{}\"\nall = [\"[STATUS] == 400\"]\n";
        let check = parse(text, "t.toml").expect("valid").remove(0);
        assert!(check.mutating);
        assert_eq!(check.requests[0].method, "POST");
        assert_eq!(check.requests[0].label(), "POST /login");
        assert_eq!(check.requests[0].body.as_deref(), Some("{}"));
    }

    #[test]
    fn load_dir_reads_sorted_packs_and_refuses_ids_used_twice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (text, _) = fixture("valid-basic.toml");
        std::fs::write(
            dir.path().join("b.toml"),
            text.replace("myapp.health", "myapp.b"),
        )
        .expect("write");
        std::fs::write(dir.path().join("a.toml"), &text).expect("write");
        std::fs::write(dir.path().join("notes.md"), "ignored").expect("write");
        let ids: Vec<String> = load_dir(dir.path())
            .expect("loads")
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, vec!["myapp.health", "myapp.b"]);

        std::fs::write(dir.path().join("c.toml"), &text).expect("write");
        let err = load_dir(dir.path()).expect_err("duplicate across files");
        let a = dir.path().join("a.toml").display().to_string();
        let c = dir.path().join("c.toml").display().to_string();
        assert_eq!(
            err.to_string(),
            format!(
                "{c}: check[0].id: duplicate id \"myapp.health\"; {a} already defines it (line 2)"
            )
        );
    }

    #[test]
    fn load_dir_names_a_missing_or_empty_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = load_dir(&missing).expect_err("missing");
        assert!(
            err.to_string().starts_with(&format!(
                "{}: cannot read the probes directory: ",
                missing.display()
            )),
            "{err}"
        );
        assert_eq!(
            load_dir(dir.path()).expect_err("empty").to_string(),
            format!(
                "{}: no *.toml check packs in this directory",
                dir.path().display()
            )
        );
    }

    #[test]
    fn operators_constant_lists_every_operator() {
        assert_eq!(OPERATORS.split(' ').count(), 12);
    }
}
