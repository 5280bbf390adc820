//! Judging a pack check: pure, from the exchanges its requests produced to one [`Judgement`].
//!
//! Each request is judged on its own (its `all` conditions must hold, and at least one of its
//! `any` conditions), giving one evidence line that reads as a sentence: the request and what
//! came back, then what is wrong (`GET …/.env → 200 and the body is an env file:
//! "APP_NAME=storefront"`) or what made it fine (`GET …/.git/config → 404: not served`). The check then reports its
//! worst request (`pass_when = "all"`) or its best (`pass_when = "any"`). A request whose probe
//! failed is an `error` for that request; the check is `error` only when that uncertainty could
//! change the answer, and `Unobserved::Failed` when nothing at all was observed.

use super::condition::{Evaluation, Response};
use super::{PackCheck, PackRequest, PassWhen};
use crate::checks::Judgement;
use crate::model::Outcome;
use crate::observations::http::HttpExchange;
use crate::observations::{Probed, Unobserved};
use crate::text::clip;

/// Longest evidence line, in characters.
const LINE_CHARS: usize = 300;

/// How many paths a summary names before saying "and N more".
const NAMED: usize = 5;

/// Judges one pack check; `exchanges[i]` answers `check.requests[i]`.
///
/// A skipped request (or a missing one) skips the check; a failed one makes that request an
/// `error`; when every request failed the check is `Err(Unobserved::Failed(first reason))`.
pub fn judge(
    check: &PackCheck,
    exchanges: &[Probed<HttpExchange>],
) -> Result<Judgement, Unobserved> {
    let mut results: Vec<RequestResult> = Vec::with_capacity(check.requests.len());
    for (i, request) in check.requests.iter().enumerate() {
        let result = match exchanges.get(i) {
            None => return Err(Unobserved::Skipped("not probed in this run".to_string())),
            Some(Probed::Skipped(reason)) => return Err(Unobserved::Skipped(reason.clone())),
            Some(Probed::Failed(reason)) => RequestResult {
                label: request.label(),
                outcome: Outcome::Error,
                line: clip(reason, LINE_CHARS - 1),
                reason: Some(reason.clone()),
            },
            Some(Probed::Observed(exchange)) => judge_request(request, exchange),
        };
        results.push(result);
    }
    if let Some(first) = results.first()
        && results.iter().all(|r| r.outcome == Outcome::Error)
    {
        return Err(Unobserved::Failed(
            first.reason.clone().unwrap_or_else(|| first.line.clone()),
        ));
    }
    let (outcome, summary) = match check.pass_when {
        PassWhen::All => all_summary(&results),
        PassWhen::Any => any_summary(&results),
    };
    // The requests that decided the outcome come first, so a reader (and a terminal that shows
    // three lines) sees the /.env that failed, not the eleven paths that were fine.
    if outcome == Outcome::Pass {
        results.sort_by_key(|r| r.outcome != Outcome::Pass);
    } else {
        results.sort_by_key(|r| std::cmp::Reverse(r.outcome.badness()));
    }
    Ok(Judgement {
        outcome,
        score: None,
        summary,
        evidence: results.into_iter().map(|r| r.line).collect(),
        severity: None,
        remediation: None,
    })
}

/// One request's verdict and evidence line.
struct RequestResult {
    /// `/.env`, or `POST /login` for other methods.
    label: String,
    /// Pass, Warn, Fail or Error.
    outcome: Outcome,
    /// The evidence line.
    line: String,
    /// Why the probe failed, when it did.
    reason: Option<String>,
}

fn judge_request(request: &PackRequest, exchange: &HttpExchange) -> RequestResult {
    let label = request.label();
    if !exchange.body_decoded && request.conditions().any(|c| c.reads_body()) {
        let encoding = exchange.header("content-encoding").unwrap_or("unknown");
        return RequestResult {
            label,
            outcome: Outcome::Error,
            line: format!(
                "{}: the body's Content-Encoding {encoding} was not decoded, so conditions on [BODY] cannot be judged",
                exchange.request_line()
            ),
            reason: Some(format!("undecoded {encoding} body")),
        };
    }
    let response = Response::new(exchange);
    let mut outcome = Outcome::Pass;
    let all: Vec<Evaluation> = request.all.iter().map(|c| c.eval(&response)).collect();
    for (condition, e) in request.all.iter().zip(&all) {
        if !e.holds {
            outcome = worse(outcome, condition.outcome);
        }
    }
    let any: Vec<Evaluation> = request.any.iter().map(|c| c.eval(&response)).collect();
    let any_broken = !any.is_empty() && !any.iter().any(|e| e.holds);
    if any_broken {
        // The group is only as broken as its mildest member.
        let mildest = request
            .any
            .iter()
            .map(|c| c.outcome)
            .min_by_key(|o| o.badness())
            .unwrap_or(Outcome::Fail);
        outcome = worse(outcome, mildest);
    }
    let said = |e: &&Evaluation| !e.phrase.is_empty();
    let line = if outcome == Outcome::Pass {
        // What made it fine: every `all` condition, and the first `any` one that held.
        let phrases: Vec<&str> = all
            .iter()
            .chain(any.iter().find(|e| e.holds))
            .filter(said)
            .map(|e| e.phrase.as_str())
            .collect();
        if phrases.is_empty() {
            exchange.request_line()
        } else {
            format!("{}: {}", exchange.request_line(), phrases.join("; "))
        }
    } else {
        // What is wrong: the broken `all` conditions, and the whole `any` group when none held.
        let broken_any: &[Evaluation] = if any_broken { &any } else { &[] };
        let phrases: Vec<&str> = all
            .iter()
            .filter(|e| !e.holds)
            .chain(broken_any.iter())
            .filter(said)
            .map(|e| e.phrase.as_str())
            .collect();
        match phrases.split_first() {
            None => exchange.request_line(),
            Some((first, [])) => format!("{} and {first}", exchange.request_line()),
            Some((first, rest)) => format!(
                "{} and {first}; {}",
                exchange.request_line(),
                rest.join("; ")
            ),
        }
    };
    RequestResult {
        label,
        outcome,
        line: clip(&line, LINE_CHARS - 1),
        reason: None,
    }
}

fn worse(a: Outcome, b: Outcome) -> Outcome {
    if b.badness() > a.badness() { b } else { a }
}

/// `pass_when = "all"`: the worst request decides.
fn all_summary(results: &[RequestResult]) -> (Outcome, String) {
    let total = results.len();
    let outcome = results.iter().map(|r| r.outcome).fold(Outcome::Pass, worse);
    let broken = labels(results, |o| matches!(o, Outcome::Fail | Outcome::Warn));
    let errored = labels(results, |o| o == Outcome::Error);
    let summary = match (broken.is_empty(), errored.is_empty()) {
        (true, true) if total == 1 => format!("{} met its conditions", results[0].label),
        (true, true) => format!("All {total} requests met their conditions"),
        (false, _) if total == 1 => format!("{} broke its conditions", results[0].label),
        (false, true) => format!(
            "{} of {total} requests broke their conditions: {}",
            broken.len(),
            named(&broken)
        ),
        (false, false) => format!(
            "{} of {total} requests broke their conditions: {}; {} could not be measured: {}",
            broken.len(),
            named(&broken),
            errored.len(),
            named(&errored)
        ),
        (true, false) => format!(
            "{} of {total} requests could not be measured: {}; the rest met their conditions",
            errored.len(),
            named(&errored)
        ),
    };
    (outcome, summary)
}

/// `pass_when = "any"`: one request meeting its conditions is enough.
fn any_summary(results: &[RequestResult]) -> (Outcome, String) {
    let total = results.len();
    if let Some(pass) = results.iter().find(|r| r.outcome == Outcome::Pass) {
        let summary = if total == 1 {
            format!("{} met its conditions", pass.label)
        } else {
            format!(
                "{} met its conditions (one of {total} requests is enough)",
                pass.label
            )
        };
        return (Outcome::Pass, summary);
    }
    let all = labels(results, |_| true);
    let errored = labels(results, |o| o == Outcome::Error);
    if !errored.is_empty() {
        return (
            Outcome::Error,
            format!(
                "None of the {total} requests met their conditions and {} could not be measured: {}",
                errored.len(),
                named(&errored)
            ),
        );
    }
    let mildest = results
        .iter()
        .map(|r| r.outcome)
        .min_by_key(|o| o.badness())
        .unwrap_or(Outcome::Fail);
    let summary = if total == 1 {
        format!("{} broke its conditions", results[0].label)
    } else {
        format!(
            "None of the {total} requests met their conditions: {}",
            named(&all)
        )
    };
    (mildest, summary)
}

fn labels(results: &[RequestResult], keep: impl Fn(Outcome) -> bool) -> Vec<&str> {
    results
        .iter()
        .filter(|r| keep(r.outcome))
        .map(|r| r.label.as_str())
        .collect()
}

fn named(labels: &[&str]) -> String {
    if labels.len() <= NAMED {
        labels.join(", ")
    } else {
        format!(
            "{} and {} more",
            labels[..NAMED].join(", "),
            labels.len() - NAMED
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::exchange_at;
    use crate::checks::pack::parse;

    const HOST: &str = "https://app.example.com";

    fn check(toml: &str) -> PackCheck {
        parse(toml, "t.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
    }

    fn at(path: &str, status: u16, body: &str) -> Probed<HttpExchange> {
        Probed::Observed(exchange_at(&format!("{HOST}{path}"), status, &[], body))
    }

    const TWO_PATHS: &str = r#"
[[check]]
id = "t.paths"
title = "t"
category = "security"
severity = "high"
remediation = "r"

[[check.request]]
path = "/a"
all = ["[STATUS] == 404"]

[[check.request]]
path = "/b"
all = ["[STATUS] == 404", { that = "[BODY] !contains debug", outcome = "warn" }]
"#;

    #[test]
    fn all_requests_meeting_conditions_pass() {
        let j = judge(&check(TWO_PATHS), &[at("/a", 404, ""), at("/b", 404, "")]).unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        assert_eq!(j.summary, "All 2 requests met their conditions");
        assert_eq!(
            j.evidence,
            vec![
                // The status is in the request line; nothing more to say.
                "GET https://app.example.com/a → 404",
                "GET https://app.example.com/b → 404: the body does not contain `debug`",
            ]
        );
    }

    #[test]
    fn a_broken_fail_condition_fails_and_names_the_path() {
        let j = judge(&check(TWO_PATHS), &[at("/a", 200, "hi"), at("/b", 404, "")]).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.summary, "1 of 2 requests broke their conditions: /a");
        assert_eq!(
            j.evidence[0],
            "GET https://app.example.com/a → 200 and the status is not 404"
        );
    }

    #[test]
    fn a_per_condition_outcome_warns() {
        let j = judge(
            &check(TWO_PATHS),
            &[at("/a", 404, ""), at("/b", 404, "debug=1")],
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert_eq!(j.summary, "1 of 2 requests broke their conditions: /b");
        // The request that broke its conditions is listed first.
        assert_eq!(
            j.evidence[0],
            "GET https://app.example.com/b → 404 and the body contains `debug`: \"debug=1\""
        );
    }

    #[test]
    fn a_failed_request_is_an_error_unless_another_fails() {
        let failed =
            Probed::Failed("GET https://app.example.com/b: cannot connect: refused".into());
        let j = judge(&check(TWO_PATHS), &[at("/a", 404, ""), failed.clone()]).unwrap();
        assert_eq!(j.outcome, Outcome::Error);
        assert_eq!(
            j.summary,
            "1 of 2 requests could not be measured: /b; the rest met their conditions"
        );
        assert_eq!(
            j.evidence[0],
            "GET https://app.example.com/b: cannot connect: refused"
        );
        let j = judge(&check(TWO_PATHS), &[at("/a", 200, ""), failed]).unwrap();
        assert_eq!(j.outcome, Outcome::Fail, "a failure outranks an error");
    }

    #[test]
    fn every_request_failing_is_unobserved() {
        let j = judge(
            &check(TWO_PATHS),
            &[
                Probed::Failed("first".into()),
                Probed::Failed("second".into()),
            ],
        );
        assert_eq!(j, Err(Unobserved::Failed("first".into())));
    }

    #[test]
    fn a_skipped_or_missing_request_skips_the_check() {
        let j = judge(
            &check(TWO_PATHS),
            &[at("/a", 404, ""), Probed::Skipped("production".into())],
        );
        assert_eq!(j, Err(Unobserved::Skipped("production".into())));
        let j = judge(&check(TWO_PATHS), &[at("/a", 404, "")]);
        assert_eq!(j, Err(Unobserved::Skipped("not probed in this run".into())));
    }

    const ANY_DOC: &str = r#"
[[check]]
id = "t.doc"
title = "t"
category = "operational"
severity = "medium"
remediation = "r"
outcome = "warn"
pass_when = "any"

[[check.request]]
path = "/openapi.json"
all = ["[STATUS] == 200"]
any = ["[BODY].openapi exists", "[BODY] matches (?m)^openapi:"]

[[check.request]]
path = "/openapi.yaml"
all = ["[STATUS] == 200"]
any = ["[BODY].openapi exists", "[BODY] matches (?m)^openapi:"]
"#;

    #[test]
    fn any_passes_when_one_request_meets_its_conditions() {
        let j = judge(
            &check(ANY_DOC),
            &[
                at("/openapi.json", 404, "nope"),
                at("/openapi.yaml", 200, "openapi: 3.1.0\n"),
            ],
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        assert_eq!(
            j.summary,
            "/openapi.yaml met its conditions (one of 2 requests is enough)"
        );
        assert_eq!(
            j.evidence[0],
            "GET https://app.example.com/openapi.yaml → 200: the body matches `(?m)^openapi:`: \"openapi: 3.1.0\""
        );
        // Of a request that broke, each broken condition is said, the first after "and".
        assert_eq!(
            j.evidence[1],
            "GET https://app.example.com/openapi.json → 404 and the status is not 200; the body is \
             not JSON; the body does not match `(?m)^openapi:`"
        );
    }

    #[test]
    fn any_with_no_match_yields_the_check_outcome() {
        let j = judge(
            &check(ANY_DOC),
            &[
                at("/openapi.json", 404, ""),
                at("/openapi.yaml", 200, "<html>"),
            ],
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert_eq!(
            j.summary,
            "None of the 2 requests met their conditions: /openapi.json, /openapi.yaml"
        );
    }

    #[test]
    fn any_with_an_error_and_no_match_is_an_error() {
        let j = judge(
            &check(ANY_DOC),
            &[
                at("/openapi.json", 404, ""),
                Probed::Failed("timeout".into()),
            ],
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Error);
        assert_eq!(
            j.summary,
            "None of the 2 requests met their conditions and 1 could not be measured: /openapi.yaml"
        );
    }

    #[test]
    fn an_undecoded_body_cannot_be_judged() {
        let mut ex = exchange_at(
            &format!("{HOST}/openapi.json"),
            200,
            &[("content-encoding", "br")],
            "",
        );
        ex.body_decoded = false;
        let j = judge(
            &check(ANY_DOC),
            &[Probed::Observed(ex), at("/openapi.yaml", 404, "")],
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Error);
        assert!(
            j.evidence[0].contains("Content-Encoding br was not decoded"),
            "{:?}",
            j.evidence
        );
    }

    #[test]
    fn evidence_lines_are_capped() {
        let body = format!("X{}", "y".repeat(5000));
        let long = "y".repeat(90);
        let toml = TWO_PATHS.replace(
            "[STATUS] == 404\"]\n\n",
            &format!(
                "[STATUS] == 404\", \"[BODY] !contains {long}\", \"[BODY] !contains X{long}\", \"[BODY] matches zz\"]\n\n"
            ),
        );
        let j = judge(&check(&toml), &[at("/a", 404, &body), at("/b", 404, "")]).unwrap();
        assert!(
            j.evidence[0].chars().count() <= LINE_CHARS,
            "{}",
            j.evidence[0]
        );
        assert!(j.evidence[0].ends_with('…'));
    }

    #[test]
    fn summaries_name_at_most_five_paths() {
        assert_eq!(
            named(&["/a", "/b", "/c", "/d", "/e", "/f", "/g"]),
            "/a, /b, /c, /d, /e and 2 more"
        );
    }

    // ---- the built-in packs over fixture exchanges ----------------------------------------

    const SPA_INDEX: &str = "<!doctype html>\n<html><head><title>Shop</title>\n<script>window.API_URL = \"/api\"; const version = \"1.2.3\";</script>\n</head><body><div id=\"root\"></div></body></html>\n";

    fn builtin(id: &str) -> PackCheck {
        crate::checks::pack::builtin()
            .expect("builtin")
            .into_iter()
            .find(|c| c.id == id)
            .expect(id)
    }

    /// Every request of `check` answered by `answer(path)`.
    fn answered(
        check: &PackCheck,
        answer: impl Fn(&str) -> (u16, &'static str),
    ) -> Vec<Probed<HttpExchange>> {
        check
            .requests
            .iter()
            .map(|r| {
                let (status, body) = answer(&r.path);
                at(&r.path, status, body)
            })
            .collect()
    }

    #[test]
    fn sensitive_paths_pass_on_a_catch_all_spa() {
        let check = builtin("exposure.sensitive_paths");
        let j = judge(&check, &answered(&check, |_| (200, SPA_INDEX))).unwrap();
        assert_eq!(j.outcome, Outcome::Pass, "{:#?}", j.evidence);
        assert_eq!(j.summary, "All 12 requests met their conditions");
        assert_eq!(j.evidence.len(), 12);
    }

    #[test]
    fn sensitive_paths_pass_when_everything_is_404() {
        let check = builtin("exposure.sensitive_paths");
        let j = judge(&check, &answered(&check, |_| (404, "Not Found"))).unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
    }

    #[test]
    fn a_served_env_file_fails_with_masked_evidence() {
        let check = builtin("exposure.sensitive_paths");
        let env = "NODE_ENV=production\nDATABASE_URL=postgres://orders:hunter2@db:5432/orders\nJWT_SECRET=s3cr3t-signing-key\n";
        let j = judge(
            &check,
            &answered(&check, |path| {
                if path == "/.env" {
                    (200, env)
                } else {
                    (404, "")
                }
            }),
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.summary, "1 of 12 requests broke their conditions: /.env");
        // A sentence in the pack's own words, not condition algebra.
        assert_eq!(
            j.evidence[0],
            "GET https://app.example.com/.env → 200 and the body is an env file: \"NODE_ENV=production\""
        );
        assert_eq!(
            j.evidence[1],
            "GET https://app.example.com/.git/config → 404: not served"
        );
        let all = j.evidence.join("\n");
        assert!(!all.contains("hunter2") && !all.contains("s3cr3t"), "{all}");
    }

    #[test]
    fn each_signature_catches_its_file() {
        let check = builtin("exposure.sensitive_paths");
        let files: &[(&str, &str)] = &[
            ("/.env", "API_KEY=abc\n"),
            ("/.git/config", "[core]\n\trepositoryformatversion = 0\n"),
            ("/.git/HEAD", "ref: refs/heads/main\n"),
            (
                "/actuator/env",
                r#"{"activeProfiles":["prod"],"propertySources":[]}"#,
            ),
            ("/actuator/heapdump", "JAVA PROFILE 1.0.2\0\0\0\u{8}"),
            (
                "/debug/pprof/",
                "<html><body>Types of profiles available:</body></html>",
            ),
            (
                "/server-status",
                "<html><title>Apache Status</title><h1>Apache Server Status for x</h1>",
            ),
            (
                "/phpinfo.php",
                "<!DOCTYPE html><h1 class=\"p\">PHP Version 8.2.1</h1>",
            ),
            ("/.DS_Store", "\0\0\0\u{1}Bud1\0\0"),
            (
                "/backup.sql",
                "-- PostgreSQL database dump\nCREATE TABLE users (id int);\n",
            ),
            (
                "/.aws/credentials",
                "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
            ),
            (
                "/.htpasswd",
                "admin:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n",
            ),
        ];
        for (path, body) in files {
            let j = judge(
                &check,
                &answered(&check, |p| if p == *path { (200, body) } else { (404, "") }),
            )
            .unwrap();
            assert_eq!(
                j.outcome,
                Outcome::Fail,
                "{path} not caught: {:#?}",
                j.evidence
            );
            assert!(j.summary.ends_with(path), "{}", j.summary);
            let all = j.evidence.join("\n");
            for secret in ["AKIAIOSFODNN7EXAMPLE", "HqJZimcKQFAMYayBlzkrA"] {
                assert!(!all.contains(secret), "{path}: {all}");
            }
        }
    }

    #[test]
    fn openapi_document_at_one_path_passes_and_a_spa_warns() {
        let check = builtin("docs.openapi");
        let doc = r#"{"openapi":"3.1.0","info":{"title":"orders","version":"1"},"paths":{}}"#;
        let j = judge(
            &check,
            &answered(&check, |p| {
                if p == "/v3/api-docs" {
                    (200, doc)
                } else {
                    (404, "")
                }
            }),
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        assert_eq!(
            j.summary,
            "/v3/api-docs met its conditions (one of 6 requests is enough)"
        );
        let spa = judge(&check, &answered(&check, |_| (200, SPA_INDEX))).unwrap();
        assert_eq!(spa.outcome, Outcome::Warn);
        let yaml = judge(
            &check,
            &answered(&check, |p| {
                if p == "/openapi.yaml" {
                    (200, "openapi: 3.0.3\ninfo: {}\n")
                } else {
                    (404, "")
                }
            }),
        )
        .unwrap();
        assert_eq!(yaml.outcome, Outcome::Pass);
    }

    #[test]
    fn version_endpoint_passes_on_json_or_plain_version_and_warns_on_a_spa() {
        let check = builtin("ops.version_endpoint");
        let info = r#"{"build":{"version":"1.4.2","time":"2024-05-01T10:00:00Z"},"git":{"commit":{"id":"abc1234"}}}"#;
        let j = judge(
            &check,
            &answered(&check, |p| {
                if p == "/actuator/info" {
                    (200, info)
                } else {
                    (404, "")
                }
            }),
        )
        .unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        let plain = judge(
            &check,
            &answered(&check, |p| {
                if p == "/version" {
                    (200, "v2.3.1\n")
                } else {
                    (404, "")
                }
            }),
        )
        .unwrap();
        assert_eq!(plain.outcome, Outcome::Pass, "{:#?}", plain.evidence);
        let spa = judge(&check, &answered(&check, |_| (200, SPA_INDEX))).unwrap();
        assert_eq!(spa.outcome, Outcome::Warn, "{:#?}", spa.evidence);
        let empty_info = judge(&check, &answered(&check, |_| (200, "{}"))).unwrap();
        assert_eq!(empty_info.outcome, Outcome::Warn);
    }
}
