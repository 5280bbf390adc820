//! Error-page judges: what the target reveals when a request goes wrong.
//!
//! The error probes send an unknown path, a malformed query string, an oversized header and
//! (when configured) a malformed JSON body. A production error page says "something went wrong"
//! with a 4xx; it never shows a stack trace, a framework's debug page or database error text,
//! which map the code and its dependencies for an attacker. Detection is by plain substrings
//! chosen to be specific to each runtime, so ordinary pages do not trip it.

use super::evidence::{EVIDENCE_MAX, clip};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::{ErrorProbeKind, Observations, Probed, Unobserved};

/// `errors.leak`: error responses reveal no internals and malformed input gets a 4xx.
pub const LEAK: CheckMeta = CheckMeta {
    id: "errors.leak",
    title: "Error responses do not leak internals",
    problem: "Error responses leak internals",
    category: Category::Security,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "404 path, malformed JSON body, oversized header — fail: stack traces/framework debug \
           pages/SQL text; warn: 5xx on malformed input",
    remediation: "Turn off debug mode in production (Django `DEBUG = False`, Rails \
                  `consider_all_requests_local = false`, Laravel `APP_DEBUG=false`, Flask/Werkzeug \
                  debugger off, ASP.NET `customErrors mode=\"On\"`, Spring \
                  `server.error.include-stacktrace=never`), log exceptions server-side with a \
                  request id, and answer with a generic body (e.g. application/problem+json); \
                  validate input so malformed requests get a 400, not a 500.",
    references: &[
        "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/08-Testing_for_Error_Handling/01-Testing_For_Improper_Error_Handling",
        "https://cheatsheetseries.owasp.org/cheatsheets/Error_Handling_Cheat_Sheet.html",
        "CWE-209: Generation of Error Message Containing Sensitive Information",
        "RFC 9457: Problem Details for HTTP APIs",
    ],
    judge: leak,
};

/// The longest excerpt of leaked text an evidence line quotes, in characters.
const EXCERPT_MAX: usize = 160;

/// A leak detector: the byte offset where the leaked text starts, if the body holds it.
type Detect = fn(&str) -> Option<usize>;

/// What each detector finds, in the order they are tried.
const SIGNATURES: &[(&str, Detect)] = &[
    ("a Java stack trace", java),
    ("a Python traceback", python),
    ("a Node.js stack trace", node),
    ("a .NET exception", dotnet),
    ("a Ruby backtrace", ruby),
    ("a PHP error", php),
    ("a Go panic", go_panic),
    ("a framework debug page", debug_page),
    ("SQL error text", sql),
];

/// The first of `needles` found in `body`, by position.
fn find_any(body: &str, needles: &[&str]) -> Option<usize> {
    needles.iter().filter_map(|n| body.find(n)).min()
}

/// Each line of `body` with its byte offset.
fn lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    body.split('\n').scan(0usize, |offset, line| {
        let start = *offset;
        *offset += line.len() + 1;
        Some((start, line))
    })
}

fn java(body: &str) -> Option<usize> {
    let at = find_any(
        body,
        &[
            "at com.",
            "at org.",
            "at java.",
            "at javax.",
            "at jdk.",
            "at sun.",
            "at io.",
            "at net.",
        ],
    )?;
    body.contains(".java:").then_some(at)
}

fn python(body: &str) -> Option<usize> {
    body.find("Traceback (most recent call last)")
}

fn node(body: &str) -> Option<usize> {
    lines(body).find_map(|(offset, line)| {
        let indented = line.starts_with([' ', '\t']);
        let frame = line.trim_start().starts_with("at ")
            && [".js:", ".mjs:", ".cjs:", ".ts:"]
                .iter()
                .any(|ext| line.contains(ext));
        (indented && frame).then_some(offset)
    })
}

fn dotnet(body: &str) -> Option<usize> {
    if let Some(at) = body.find("Server Error in '") {
        return Some(at);
    }
    let at = body.find("System.")?;
    (body.contains("Exception") && body.contains(" at ")).then_some(at)
}

fn ruby(body: &str) -> Option<usize> {
    body.match_indices(".rb:").find_map(|(i, m)| {
        let rest = &body[i + m.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        // Digits are ASCII, so `digits` is a char boundary.
        (digits > 0 && rest[digits..].starts_with(":in ")).then_some(i)
    })
}

fn php(body: &str) -> Option<usize> {
    if let Some(at) = find_any(body, &["Fatal error", "Parse error", "<b>Warning</b>"])
        && body.contains(" on line ")
    {
        return Some(at);
    }
    let at = body.find("Stack trace:")?;
    body[at..].contains("#0 ").then_some(at)
}

fn go_panic(body: &str) -> Option<usize> {
    let at = body.find("panic:")?;
    body.contains("goroutine ").then_some(at)
}

fn debug_page(body: &str) -> Option<usize> {
    find_any(
        body,
        &[
            "Action Controller: Exception caught",
            "ActionController::RoutingError",
            "<code>DEBUG = True</code>",
            "Werkzeug Debugger",
            "The debugger caught an exception in your WSGI application",
            "Whoops container",
            "Whoops\\",
            "Illuminate\\",
            "Symfony\\Component\\",
            "Symfony Exception",
        ],
    )
}

fn sql(body: &str) -> Option<usize> {
    if let Some(at) = find_any(
        body,
        &[
            "SQLSTATE",
            "syntax error at or near",
            "unterminated quoted string at or near",
            "You have an error in your SQL syntax",
            "Unclosed quotation mark after the character string",
            "pg_query",
            "psql:",
            "SQLite3::SQLException",
            "sqlite3.OperationalError",
        ],
    ) {
        return Some(at);
    }
    // Oracle: ORA- followed by five digits.
    body.match_indices("ORA-").find_map(|(i, m)| {
        let rest = &body.as_bytes()[i + m.len()..];
        (rest.len() >= 5 && rest[..5].iter().all(u8::is_ascii_digit)).then_some(i)
    })
}

/// The first leak in a body: what it is and an excerpt of it.
fn find_leak(body: &str) -> Option<(&'static str, String)> {
    SIGNATURES
        .iter()
        .find_map(|(what, detect)| detect(body).map(|at| (*what, excerpt(body, at))))
}

/// Up to [`EXCERPT_MAX`] characters from the start of the matched line (or a little before the
/// match when the line is long), whitespace runs folded to one space.
fn excerpt(body: &str, at: usize) -> String {
    let at = at.min(body.len());
    let mut start = body[..at].rfind('\n').map_or(0, |i| i + 1);
    if at - start > 40 {
        start = at - 40;
        while !body.is_char_boundary(start) {
            start -= 1;
        }
    }
    let mut out = String::new();
    let mut count = 0;
    let mut last_space = true;
    for c in body[start..].chars() {
        let space = c.is_whitespace() || c.is_control();
        if space && last_space {
            continue;
        }
        if count == EXCERPT_MAX {
            out.push('…');
            break;
        }
        out.push(if space { ' ' } else { c });
        last_space = space;
        count += 1;
    }
    out.trim_end().to_string()
}

/// What one observed error probe showed.
struct Seen<'a> {
    kind: ErrorProbeKind,
    ex: &'a HttpExchange,
    leak: Option<(&'static str, String)>,
}

impl Seen<'_> {
    /// `unknown path: GET https://x/… → 500, a Java stack trace: "…"`.
    fn line(&self) -> String {
        let detail = match (&self.leak, self.ex.body_decoded) {
            (Some((what, text)), _) => format!(", {what}: \"{text}\""),
            (None, false) => ", body not decoded, not scanned".to_string(),
            (None, true) => String::new(),
        };
        clip(
            &format!(
                "{}: {}{detail}",
                self.kind.describe(),
                self.ex.request_line()
            ),
            EVIDENCE_MAX,
        )
    }
}

/// Judges `errors.leak`: see [`LEAK`] for the rule.
pub fn leak(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    if obs.errors.is_empty() {
        return Err(Unobserved::Skipped(
            "no error-page probes ran in this run".to_string(),
        ));
    }
    let mut seen: Vec<Seen> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    let mut unobserved: Option<Unobserved> = None;
    for probe in &obs.errors {
        match &probe.exchange {
            Probed::Observed(ex) => seen.push(Seen {
                kind: probe.kind,
                ex,
                leak: ex.body_decoded.then(|| find_leak(&ex.body)).flatten(),
            }),
            Probed::Failed(reason) => {
                failed.push(clip(
                    &format!("{}: probe failed: {reason}", probe.kind.describe()),
                    EVIDENCE_MAX,
                ));
                unobserved.get_or_insert(Unobserved::Failed(reason.clone()));
            }
            Probed::Skipped(reason) => {
                unobserved.get_or_insert(Unobserved::Skipped(reason.clone()));
            }
        }
    }
    if seen.is_empty() {
        return Err(unobserved.unwrap_or(Unobserved::Skipped(
            "no error-page probe was answered".to_string(),
        )));
    }
    let evidence: Vec<String> = seen.iter().map(Seen::line).chain(failed).collect();
    let leaked = seen
        .iter()
        .find_map(|s| s.leak.as_ref().map(|(what, _)| (s, *what)));
    let server_error = seen.iter().find(|s| s.ex.status >= 500);
    let judgement = if let Some((s, what)) = leaked {
        Judgement::fail(format!(
            "The answer to a request with a {} shows {what}, revealing internals to anyone who \
             sends a bad request.",
            s.kind.describe()
        ))
    } else if let Some(s) = server_error {
        Judgement::warn(format!(
            "A request with a {} gets {} (a server error) instead of a 4xx, so bad input \
             reaches code that does not handle it.",
            s.kind.describe(),
            s.ex.status
        ))
    } else if seen.iter().all(|s| !s.ex.body_decoded) {
        Judgement::skipped(
            "No error response body could be decoded, so none could be scanned for leaks.",
        )
    } else {
        Judgement::pass(format!(
            "{} error response{} show no stack traces, debug pages or SQL errors, and none is a \
             5xx.",
            seen.len(),
            if seen.len() == 1 { "" } else { "s" }
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{error_probe, evidence_text, judge, obs_with_errors, try_judge};
    use crate::model::Outcome;
    use crate::observations::ErrorProbe;

    fn leak_in(body: &str) -> Judgement {
        judge(
            &LEAK,
            &obs_with_errors(vec![
                error_probe(ErrorProbeKind::NotFound, 404, "Not found"),
                error_probe(ErrorProbeKind::MalformedQuery, 500, body),
            ]),
        )
    }

    fn assert_leak(body: &str, what: &str, quoted: &str) {
        let j = leak_in(body);
        assert_eq!(j.outcome, Outcome::Fail, "{body}");
        assert!(j.summary.contains(what), "{} / {what}", j.summary);
        assert!(
            j.summary.contains("malformed query string"),
            "{}",
            j.summary
        );
        assert!(
            evidence_text(&j).contains(quoted),
            "{:?} / {quoted}",
            j.evidence
        );
    }

    #[test]
    fn clean_4xx_error_pages_pass() {
        let j = judge(
            &LEAK,
            &obs_with_errors(vec![
                error_probe(ErrorProbeKind::NotFound, 404, "<h1>Not Found</h1>"),
                error_probe(ErrorProbeKind::MalformedQuery, 400, "Bad Request"),
                error_probe(ErrorProbeKind::OversizedHeader, 431, ""),
            ]),
        );
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert_eq!(j.evidence.len(), 3);
        assert_eq!(
            j.evidence[0],
            "unknown path: GET https://app.example.com/__readyprobe_0123456789abcdef → 404"
        );
    }

    #[test]
    fn five_hundred_on_malformed_input_warns() {
        let j = leak_in("<h1>Internal Server Error</h1>");
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(
            j.summary.contains("malformed query string gets 500"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn java_stack_trace_fails() {
        assert_leak(
            "java.lang.NullPointerException\n\tat com.acme.web.OrderController.show(OrderController.java:42)\n",
            "a Java stack trace",
            "\"at com.acme.web.OrderController.show(OrderController.java:42)\"",
        );
    }

    #[test]
    fn python_traceback_fails() {
        assert_leak(
            "Traceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\nKeyError: 'id'",
            "a Python traceback",
            "Traceback (most recent call last): File",
        );
    }

    #[test]
    fn node_stack_trace_fails() {
        assert_leak(
            "<pre>TypeError: Cannot read properties of undefined<br>    at Object.handle (/srv/app/server.js:10:5)</pre>\n    at Layer.handle (/srv/node_modules/express/lib/router/layer.js:95:5)",
            "a Node.js stack trace",
            "at Layer.handle",
        );
    }

    #[test]
    fn dotnet_exception_fails() {
        assert_leak(
            "System.InvalidOperationException: Sequence contains no elements\n   at System.Linq.Enumerable.First()",
            "a .NET exception",
            "System.InvalidOperationException",
        );
    }

    #[test]
    fn ruby_backtrace_fails() {
        assert_leak(
            "NoMethodError (undefined method)\napp/controllers/orders_controller.rb:12:in `show'",
            "a Ruby backtrace",
            "orders_controller.rb:12:in",
        );
    }

    #[test]
    fn php_fatal_error_fails() {
        assert_leak(
            "<br />\n<b>Fatal error</b>:  Uncaught Error in /var/www/index.php on line <b>7</b>",
            "a PHP error",
            "Fatal error",
        );
    }

    #[test]
    fn go_panic_fails() {
        assert_leak(
            "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.main()",
            "a Go panic",
            "panic: runtime error",
        );
    }

    #[test]
    fn django_debug_page_fails() {
        assert_leak(
            "<p>You’re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>",
            "a framework debug page",
            "DEBUG = True",
        );
    }

    #[test]
    fn werkzeug_debugger_fails() {
        assert_leak(
            "<title>KeyError // Werkzeug Debugger</title>",
            "a framework debug page",
            "Werkzeug Debugger",
        );
    }

    #[test]
    fn postgres_syntax_error_fails() {
        assert_leak(
            "ERROR: syntax error at or near \"'\" LINE 1: SELECT * FROM items WHERE id = 1'",
            "SQL error text",
            "syntax error at or near",
        );
    }

    #[test]
    fn mysql_and_oracle_errors_fail() {
        assert_leak(
            "You have an error in your SQL syntax; check the manual",
            "SQL error text",
            "You have an error in your SQL syntax",
        );
        assert_leak(
            "ORA-00933: SQL command not properly ended",
            "SQL error text",
            "ORA-00933",
        );
    }

    #[test]
    fn leak_on_a_404_also_fails() {
        let j = judge(
            &LEAK,
            &obs_with_errors(vec![error_probe(
                ErrorProbeKind::NotFound,
                404,
                "SQLSTATE[42S02]: Base table or view not found",
            )]),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("unknown path"));
    }

    #[test]
    fn ordinary_text_mentioning_words_does_not_trip_detectors() {
        let j = leak_in("Look at our org. We panic: never. Traceback? No. Stack trace: none here.");
        assert_eq!(j.outcome, Outcome::Warn, "{}", j.summary);
    }

    #[test]
    fn excerpt_is_short_single_line_and_char_safe() {
        let body = format!(
            "{}é\nTraceback (most recent call last):\n{}",
            "x".repeat(5000),
            "ü".repeat(5000)
        );
        let j = leak_in(&body);
        assert_eq!(j.outcome, Outcome::Fail);
        let line = &j.evidence[1];
        assert!(!line.contains('\n'));
        let quoted = line.split('"').nth(1).unwrap_or_default();
        assert!(quoted.chars().count() <= EXCERPT_MAX + 1, "{quoted}");
    }

    #[test]
    fn excerpt_backs_up_only_a_little_on_long_lines() {
        let body = format!("{}SQLSTATE[HY000] oops", "é".repeat(300));
        let text = excerpt(&body, body.find("SQLSTATE").unwrap_or_default());
        assert!(text.ends_with("SQLSTATE[HY000] oops"), "{text}");
        assert!(text.chars().count() <= 40);
    }

    #[test]
    fn non_utf8_replacement_chars_do_not_break_scanning() {
        let j = leak_in("\u{FFFD}\u{FFFD}\u{FFFD} goroutine 7 [running]: panic: boom \u{FFFD}");
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("a Go panic"));
    }

    #[test]
    fn undecoded_bodies_are_not_scanned_and_say_so() {
        let mut probe = error_probe(ErrorProbeKind::NotFound, 404, "");
        if let Probed::Observed(ex) = &mut probe.exchange {
            ex.body_decoded = false;
        }
        let j = judge(&LEAK, &obs_with_errors(vec![probe]));
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(evidence_text(&j).contains("not scanned"));
    }

    #[test]
    fn failed_probes_alone_are_unobserved() {
        let obs = obs_with_errors(vec![ErrorProbe {
            kind: ErrorProbeKind::OversizedHeader,
            exchange: Probed::Failed("GET https://app.example.com/: connection reset".into()),
        }]);
        assert_eq!(
            try_judge(&LEAK, &obs),
            Err(Unobserved::Failed(
                "GET https://app.example.com/: connection reset".into()
            ))
        );
    }

    #[test]
    fn a_failed_probe_beside_answered_ones_is_listed() {
        let obs = obs_with_errors(vec![
            error_probe(ErrorProbeKind::NotFound, 404, ""),
            ErrorProbe {
                kind: ErrorProbeKind::OversizedHeader,
                exchange: Probed::Failed("connection reset".into()),
            },
        ]);
        let j = judge(&LEAK, &obs);
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(
            evidence_text(&j).contains("16 KiB request header: probe failed: connection reset")
        );
    }

    #[test]
    fn no_error_probes_is_skipped() {
        assert!(matches!(
            try_judge(&LEAK, &obs_with_errors(Vec::new())),
            Err(Unobserved::Skipped(_))
        ));
    }
}
