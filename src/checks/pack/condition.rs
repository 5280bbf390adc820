//! Conditions: the one-line assertions a pack makes about a response, in the style of Gatus
//! (`[STATUS] == 200`, `[BODY].status == UP`, `[HEADER:content-type] contains json`).
//!
//! This is a tiny hand-written grammar rather than a crate: no crate evaluates Gatus-style
//! conditions, and the ones that come close (JSONPath engines, expression languages) would judge
//! their own response types, not our recorded [`HttpExchange`], and could not produce the evidence
//! this project promises — the value that was compared, next to the condition, with secrets
//! masked. The grammar is small enough to read in one screen:
//!
//! ```text
//! condition   = placeholder SP operator [SP value]
//! placeholder = "[STATUS]" | "[RESPONSE_TIME]" | "[BODY_SIZE]" | "[BODY]" json-path?
//!             | "[HEADER:" header-name "]"
//! json-path   = ( "." key | "[" index "]" )+
//! operator    = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "!contains"
//!             | "matches" | "!matches" | "exists" | "absent"
//! value       = the rest of the line (surrounding double quotes are removed);
//!               a regex for matches/!matches, compiled when the pack loads
//! ```
//!
//! Everything is checked when the pack loads (unknown placeholder, operator the placeholder does
//! not take, a missing number, an invalid regex), so a loaded pack cannot fail at judging time.
//! Evaluation is pure: it reads an exchange and returns whether the condition holds plus a
//! phrase in plain words for the evidence sentence — the pack's own words when the condition
//! gives them (`ok = "not served"`, `broken = "the body is an env file"`), else words made from
//! the condition (`the body has no openapi`, `content-type is "text/html", without json`), with
//! what matched quoted and secrets masked.

use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;

use regex::Regex;
use serde_json::Value;

use super::excerpt;
use crate::model::Outcome;
use crate::observations::http::HttpExchange;
use crate::text::clip;

/// Every operator, in the order error messages list them.
pub const OPERATORS: &str = "== != < <= > >= contains !contains matches !matches exists absent";

/// One parsed condition, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The condition as written in the pack (trimmed).
    pub text: String,
    /// What breaking it yields: [`Outcome::Fail`] or [`Outcome::Warn`].
    pub outcome: Outcome,
    /// The pack's words for the condition holding (`not served`); empty says nothing.
    pub ok: Option<String>,
    /// The pack's words for the condition broken (`the body is an env file`); empty says
    /// nothing.
    pub broken: Option<String>,
    /// The placeholder as written (`[BODY].status`), for evidence.
    placeholder: String,
    subject: Subject,
    op: Op,
    /// The value as written after the operator, for evidence.
    value_text: String,
    operand: Operand,
}

#[derive(Debug, Clone, PartialEq)]
enum Subject {
    Status,
    ResponseTime,
    BodySize,
    Body,
    Json(Vec<Segment>),
    Header(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    NotContains,
    Matches,
    NotMatches,
    Exists,
    Absent,
}

#[derive(Debug, Clone)]
enum Operand {
    None,
    Text { text: String, number: Option<f64> },
    Number(f64),
    Regex(Regex),
}

impl Op {
    fn parse(token: &str) -> Option<Op> {
        Some(match token {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "contains" => Op::Contains,
            "!contains" => Op::NotContains,
            "matches" => Op::Matches,
            "!matches" => Op::NotMatches,
            "exists" => Op::Exists,
            "absent" => Op::Absent,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::NotContains => "!contains",
            Op::Matches => "matches",
            Op::NotMatches => "!matches",
            Op::Exists => "exists",
            Op::Absent => "absent",
        }
    }

    fn is_order(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Subject {
    /// The operators this placeholder takes, as listed in error messages.
    fn allowed(&self) -> &'static str {
        match self {
            Subject::Status | Subject::ResponseTime | Subject::BodySize => "== != < <= > >=",
            Subject::Body => "== != contains !contains matches !matches exists absent",
            Subject::Json(_) | Subject::Header(_) => OPERATORS,
        }
    }

    fn takes(&self, op: Op) -> bool {
        match self {
            Subject::Status | Subject::ResponseTime | Subject::BodySize => {
                matches!(op, Op::Eq | Op::Ne) || op.is_order()
            }
            Subject::Body => !op.is_order(),
            Subject::Json(_) | Subject::Header(_) => true,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Subject::Status | Subject::ResponseTime | Subject::BodySize
        )
    }
}

impl Condition {
    /// Parses one condition; the error is the fact without location (the loader adds file,
    /// field and line). The outcome starts as [`Outcome::Fail`].
    pub fn parse(text: &str) -> Result<Condition, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty condition; expected something like \"[STATUS] == 200\"".into());
        }
        if !text.starts_with('[') {
            return Err(format!(
                "expected a placeholder such as [STATUS], [BODY] or [HEADER:name] at the start, got {:?}",
                clip(text, 39)
            ));
        }
        let token_end = text.find(char::is_whitespace).unwrap_or(text.len());
        let token = &text[..token_end];
        let Some(close) = token.find(']') else {
            return Err(format!("unclosed placeholder {token}"));
        };
        let (placeholder, suffix) = token.split_at(close + 1);
        let subject = match placeholder {
            "[STATUS]" => Subject::Status,
            "[RESPONSE_TIME]" => Subject::ResponseTime,
            "[BODY_SIZE]" => Subject::BodySize,
            "[BODY]" if suffix.is_empty() => Subject::Body,
            "[BODY]" => Subject::Json(json_path(suffix, token)?),
            p if p.starts_with("[HEADER:") => {
                let name = &p["[HEADER:".len()..p.len() - 1];
                if name.is_empty() {
                    return Err("[HEADER:] needs a header name, as in [HEADER:content-type]".into());
                }
                if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(format!("{name:?} is not a valid header name in {p}"));
                }
                Subject::Header(name.to_ascii_lowercase())
            }
            other => return Err(format!("unknown placeholder {other}")),
        };
        if !suffix.is_empty() && !matches!(subject, Subject::Json(_)) {
            return Err(format!(
                "unexpected {suffix:?} after {placeholder}; only [BODY] takes a JSON path"
            ));
        }
        let rest = text[token_end..].trim_start();
        if rest.is_empty() {
            return Err(format!("{token} needs an operator: one of {OPERATORS}"));
        }
        let op_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let op_token = &rest[..op_end];
        let Some(op) = Op::parse(op_token) else {
            return Err(format!(
                "unknown operator {op_token:?} after {token}; expected one of {OPERATORS}"
            ));
        };
        if !subject.takes(op) {
            return Err(format!(
                "{placeholder} cannot use {op}; it takes {}",
                subject.allowed()
            ));
        }
        let value_text = rest[op_end..].trim();
        let value = unquote(value_text);
        let operand = match op {
            Op::Exists | Op::Absent if !value_text.is_empty() => {
                return Err(format!("{op} takes no value, got {value_text:?}"));
            }
            Op::Exists | Op::Absent => Operand::None,
            _ if value_text.is_empty() => {
                return Err(format!("{token} {op} needs a value to compare with"));
            }
            Op::Matches | Op::NotMatches => Operand::Regex(compile(value)?),
            _ if op.is_order() || subject.is_numeric() => match number(value) {
                Some(n) => Operand::Number(n),
                None => return Err(format!("{token} {op} needs a number, got {value_text:?}")),
            },
            _ => Operand::Text {
                text: value.to_string(),
                number: number(value),
            },
        };
        Ok(Condition {
            text: text.to_string(),
            outcome: Outcome::Fail,
            ok: None,
            broken: None,
            placeholder: token.to_string(),
            subject,
            op,
            value_text: value_text.to_string(),
            operand,
        })
    }

    /// True when the condition reads the body (so an undecodable body cannot be judged).
    pub fn reads_body(&self) -> bool {
        matches!(self.subject, Subject::Body | Subject::Json(_))
    }

    /// Evaluates the condition against one response.
    pub(crate) fn eval(&self, response: &Response<'_>) -> Evaluation {
        let ex = response.exchange;
        let actual = match &self.subject {
            Subject::Status => Actual::Number(f64::from(ex.status), ex.status.to_string()),
            Subject::ResponseTime => {
                Actual::Number(ex.elapsed_ms, format!("{:.0} ms", ex.elapsed_ms))
            }
            Subject::BodySize => Actual::Number(ex.body_len as f64, format!("{} B", ex.body_len)),
            Subject::Body => Actual::Text(ex.body.clone(), TextKind::Body),
            Subject::Json(path) => match response.json() {
                None => Actual::Missing("not JSON"),
                Some(root) => match lookup(root, path) {
                    None => Actual::Missing("absent"),
                    Some(Value::String(s)) => Actual::Text(s.clone(), TextKind::Quoted),
                    Some(Value::Number(n)) => {
                        Actual::Number(n.as_f64().unwrap_or(f64::NAN), n.to_string())
                    }
                    Some(other) => Actual::Text(other.to_string(), TextKind::Json),
                },
            },
            Subject::Header(name) => {
                let values = ex.headers_named(name);
                if values.is_empty() {
                    Actual::Missing("absent")
                } else {
                    Actual::Text(values.join(", "), TextKind::Quoted)
                }
            }
        };
        let (holds, note) = self.apply(&actual);
        let shown_actual = match (&actual, self.op) {
            (Actual::Text(body, TextKind::Body), Op::Eq | Op::Ne) => excerpt::head(body),
            (Actual::Text(body, TextKind::Body), _) => format!("{} B", body.len()),
            (Actual::Text(text, TextKind::Quoted), _) => excerpt::head(text),
            (Actual::Text(text, TextKind::Json), _) => {
                clip(&excerpt::mask(text), excerpt::EXCERPT_CHARS - 1)
            }
            (Actual::Number(_, shown), _) => shown.clone(),
            (Actual::Missing(why), _) => (*why).to_string(),
        };
        let own = if holds { &self.ok } else { &self.broken };
        let words = match own {
            Some(words) => words.trim().to_string(),
            None => self.words(holds, &actual, &shown_actual),
        };
        let phrase = match note {
            // What matched backs the words up; said once, after them.
            Some(found) if !words.is_empty() => format!("{words}: {found}"),
            _ => words,
        };
        Evaluation { holds, phrase }
    }

    /// The subject in words: `the status`, `the body`, `` `version` ``, `` `content-type` ``.
    fn subject_words(&self) -> String {
        match &self.subject {
            Subject::Status => "the status".to_string(),
            Subject::ResponseTime => "the response time".to_string(),
            Subject::BodySize => "the body size".to_string(),
            Subject::Body => "the body".to_string(),
            Subject::Json(_) => {
                let path = self.placeholder.trim_start_matches("[BODY]");
                format!("`{}`", path.trim_start_matches('.'))
            }
            Subject::Header(name) => format!("`{name}`"),
        }
    }

    /// Words made from the condition when the pack gives none. The status is already in the
    /// request line (`GET … → 200`), so a status that is as expected says nothing.
    fn words(&self, holds: bool, actual: &Actual, shown: &str) -> String {
        let s = self.subject_words();
        let v = clip(unquote(&self.value_text), excerpt::EXCERPT_CHARS - 1);
        let status = self.subject == Subject::Status;
        // A value that is not there: say which way it is missing.
        let missing = match actual {
            Actual::Missing("not JSON") => Some("the body is not JSON".to_string()),
            Actual::Missing(_) => Some(match &self.subject {
                Subject::Header(_) => format!("no {s} header"),
                _ => format!("the body has no {s}"),
            }),
            _ => None,
        };
        let order = |op: Op| match op {
            Op::Lt => "below",
            Op::Le => "at most",
            Op::Gt => "above",
            _ => "at least",
        };
        match (self.op, holds) {
            (Op::Exists, true) if self.subject == Subject::Body => "the body is not empty".into(),
            (Op::Exists, true) => match &self.subject {
                Subject::Json(_) => format!("the body has {s}"),
                _ => format!("{s} is {shown}"),
            },
            (Op::Exists, false) if self.subject == Subject::Body => "the body is empty".into(),
            (Op::Absent, true) if self.subject == Subject::Body => "the body is empty".into(),
            (Op::Absent, false) if self.subject == Subject::Body => "the body is not empty".into(),
            (Op::Exists, false) | (Op::Absent, true) => missing.unwrap_or_default(),
            (Op::Absent, false) => format!("{s} is {shown}"),
            (_, _) if status && holds => String::new(),
            (Op::Eq, false) if status => format!("the status is not {v}"),
            (Op::Ne, false) if status => String::new(),
            (op, false) if status => format!("the status is not {} {v}", order(op)),
            (_, false) if missing.is_some() => missing.unwrap_or_default(),
            (Op::Eq, true) => format!("{s} is {shown}"),
            (Op::Eq, false) => format!("{s} is {shown}, not {v}"),
            (Op::Ne, true) => format!("{s} is not {v}"),
            (Op::Ne, false) => format!("{s} is {v}"),
            (Op::Lt | Op::Le | Op::Gt | Op::Ge, true) => format!("{s} is {shown}"),
            (op @ (Op::Lt | Op::Le | Op::Gt | Op::Ge), false) => {
                format!("{s} is {shown}, not {} {v}", order(op))
            }
            (Op::Contains, true) | (Op::NotContains, false) => format!("{s} contains `{v}`"),
            (Op::Contains, false) | (Op::NotContains, true) => {
                format!("{s} does not contain `{v}`")
            }
            (Op::Matches, true) | (Op::NotMatches, false) => format!("{s} matches `{v}`"),
            (Op::Matches, false) | (Op::NotMatches, true) => format!("{s} does not match `{v}`"),
        }
    }

    /// Whether the condition holds for this value, and a note on what was found.
    fn apply(&self, actual: &Actual) -> (bool, Option<String>) {
        let present = match actual {
            Actual::Missing(_) => false,
            Actual::Text(text, TextKind::Body) => !text.is_empty(),
            _ => true,
        };
        match self.op {
            Op::Exists => (present, None),
            Op::Absent => (!present, None),
            Op::Eq => (self.equals(actual), None),
            Op::Ne => (!self.equals(actual), None),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let (Some(left), Operand::Number(right)) = (actual.number(), &self.operand) else {
                    return (false, None);
                };
                let holds = match self.op {
                    Op::Lt => left < *right,
                    Op::Le => left <= *right,
                    Op::Gt => left > *right,
                    _ => left >= *right,
                };
                (holds, None)
            }
            Op::Contains | Op::NotContains | Op::Matches | Op::NotMatches => {
                let text = actual.text();
                let hit: Option<Range<usize>> = match (&self.operand, text) {
                    (Operand::Text { text: needle, .. }, Some(hay)) => {
                        hay.find(needle.as_str()).map(|at| at..at + needle.len())
                    }
                    (Operand::Regex(re), Some(hay)) => re.find(hay).map(|m| m.range()),
                    _ => None,
                };
                let found = hit.is_some();
                let note = match (hit, text) {
                    (Some(range), Some(hay)) => Some(excerpt::around(hay, range)),
                    _ => None,
                };
                let positive = matches!(self.op, Op::Contains | Op::Matches);
                (found == positive, note)
            }
        }
    }

    /// `==`: numerically when both sides are numbers, else as trimmed text.
    fn equals(&self, actual: &Actual) -> bool {
        match (&self.operand, actual) {
            (_, Actual::Missing(_)) => false,
            (Operand::Number(right), _)
            | (
                Operand::Text {
                    number: Some(right),
                    ..
                },
                _,
            ) if actual.number().is_some() => actual.number() == Some(*right),
            (Operand::Text { text, .. }, _) => {
                actual.text().is_some_and(|t| t.trim() == text.trim())
            }
            (Operand::Number(right), _) => actual.text().is_some_and(|t| number(t) == Some(*right)),
            _ => false,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A response being judged, with its body parsed as JSON at most once.
pub(crate) struct Response<'a> {
    /// The exchange.
    pub(crate) exchange: &'a HttpExchange,
    json: OnceCell<Option<Value>>,
}

impl<'a> Response<'a> {
    /// Wraps an exchange for evaluation.
    pub(crate) fn new(exchange: &'a HttpExchange) -> Response<'a> {
        Response {
            exchange,
            json: OnceCell::new(),
        }
    }

    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_str(&self.exchange.body).ok())
            .as_ref()
    }
}

/// Whether a condition held, and what that means in words.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evaluation {
    /// True when the condition holds.
    pub(crate) holds: bool,
    /// The outcome in plain words, with what matched quoted (`the body is an env file:
    /// "APP_NAME=storefront"`); empty when there is nothing worth saying.
    pub(crate) phrase: String,
}

/// The value a condition's placeholder resolved to.
enum Actual {
    Number(f64, String),
    Text(String, TextKind),
    Missing(&'static str),
}

/// How a text value is shown in evidence.
enum TextKind {
    /// The response body: shown by size, or by an excerpt for `==`.
    Body,
    /// A header value or JSON string: shown quoted.
    Quoted,
    /// A JSON array, object, bool or null: shown as compact JSON.
    Json,
}

impl Actual {
    fn number(&self) -> Option<f64> {
        match self {
            Actual::Number(n, _) if n.is_finite() => Some(*n),
            Actual::Text(text, _) => number(text),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Actual::Number(_, shown) => Some(shown),
            Actual::Text(text, _) => Some(text),
            Actual::Missing(_) => None,
        }
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn unquote(value: &str) -> &str {
    if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

fn compile(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let reason = match &e {
                regex::Error::Syntax(text) => text
                    .lines()
                    .find_map(|l| l.strip_prefix("error: "))
                    .map(str::to_string)
                    .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" ")),
                regex::Error::CompiledTooBig(limit) => {
                    format!("the compiled regex is larger than {limit} bytes")
                }
                other => other.to_string(),
            };
            format!("invalid regex {pattern:?}: {reason}")
        })
}

fn json_path(suffix: &str, token: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut rest = suffix;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(format!("empty key in JSON path {token}"));
            }
            segments.push(Segment::Key(after[..end].to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Err(format!("unclosed [ in JSON path {token}"));
            };
            let index = after[..end].parse::<usize>().map_err(|_| {
                format!(
                    "expected an array index in JSON path {token}, got [{}]",
                    &after[..end]
                )
            })?;
            segments.push(Segment::Index(index));
            rest = &after[end + 1..];
        } else {
            return Err(format!(
                "expected .key or [index] in JSON path {token}, got {rest:?}"
            ));
        }
    }
    Ok(segments)
}

fn lookup<'v>(root: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, segment| match segment {
        Segment::Key(key) => value.as_object()?.get(key),
        Segment::Index(index) => value.as_array()?.get(*index),
    })
}

#[cfg(test)]
mod tests;
