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

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;
use url::Url;

pub use condition::{Condition, OPERATORS};
pub use judge::judge;

use crate::config::ConfigError;
use crate::model::{Category, Outcome, Severity};
use crate::observations::http::RequestSpec;

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
    /// The request to send to `target`: the path joined as the probes do ([`join_path`](crate::observations::http::join_path)).
    pub fn spec(&self, target: &Url) -> RequestSpec {
        RequestSpec {
            method: self.method.clone(),
            url: crate::observations::http::join_path(target, &self.path),
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

/// Appends one file's checks, refusing an id an earlier file already defined (also used by the
/// directory loader, `crate::packs`).
pub(crate) fn add_unique(
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
    crate::checks::evidence::clip(&line, 199)
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
mod tests;
