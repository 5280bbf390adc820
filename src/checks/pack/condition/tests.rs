//! Tests of `condition`.

use super::*;
use crate::checks::fixtures::exchange;

fn eval(condition: &str, ex: &HttpExchange) -> Evaluation {
    Condition::parse(condition)
        .unwrap_or_else(|e| panic!("{condition}: {e}"))
        .eval(&Response::new(ex))
}

fn err(condition: &str) -> String {
    Condition::parse(condition).expect_err(condition)
}

#[test]
fn every_placeholder_and_operator_parses() {
    for ok in [
        "[STATUS] == 200",
        "[STATUS] != 404",
        "[STATUS] < 500",
        "[STATUS] <= 399",
        "[STATUS] > 199",
        "[STATUS] >= 200",
        "[RESPONSE_TIME] < 300",
        "[BODY_SIZE] > 1024",
        "[BODY] == OK",
        "[BODY] != \"\"",
        "[BODY] contains DATABASE_URL",
        "[BODY] !contains x",
        "[BODY] matches (?m)^[A-Z_]+=",
        "[BODY] !matches (?i)stack trace",
        "[BODY] exists",
        "[BODY] absent",
        "[BODY].status == UP",
        "[BODY].openapi exists",
        "[BODY].items[0].id absent",
        "[BODY][2] == 3",
        "[BODY].count >= 1",
        "[HEADER:content-type] contains json",
        "[HEADER:x-powered-by] absent",
        "[HEADER:x-frame-options] exists",
        "[HEADER:Content-Length] < 100",
        "[HEADER:server] !matches [0-9]",
    ] {
        let c = Condition::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(c.to_string(), ok);
    }
}

#[test]
fn bad_conditions_have_exact_messages() {
    assert_eq!(err("[STAUTS] == 200"), "unknown placeholder [STAUTS]");
    assert_eq!(err("[status] == 200"), "unknown placeholder [status]");
    assert_eq!(
        err("STATUS == 200"),
        "expected a placeholder such as [STATUS], [BODY] or [HEADER:name] at the start, got \"STATUS == 200\""
    );
    assert_eq!(
        err("  "),
        "empty condition; expected something like \"[STATUS] == 200\""
    );
    assert_eq!(err("[STATUS == 200"), "unclosed placeholder [STATUS");
    assert_eq!(
        err("[STATUS]"),
        "[STATUS] needs an operator: one of == != < <= > >= contains !contains matches !matches exists absent"
    );
    assert_eq!(
        err("[STATUS] = 200"),
        "unknown operator \"=\" after [STATUS]; expected one of == != < <= > >= contains !contains matches !matches exists absent"
    );
    assert_eq!(
        err("[STATUS] contains 2"),
        "[STATUS] cannot use contains; it takes == != < <= > >="
    );
    assert_eq!(
        err("[BODY] > 3"),
        "[BODY] cannot use >; it takes == != contains !contains matches !matches exists absent"
    );
    assert_eq!(
        err("[STATUS] == OK"),
        "[STATUS] == needs a number, got \"OK\""
    );
    assert_eq!(
        err("[BODY].n < many"),
        "[BODY].n < needs a number, got \"many\""
    );
    assert_eq!(
        err("[STATUS] =="),
        "[STATUS] == needs a value to compare with"
    );
    assert_eq!(
        err("[BODY] exists yes"),
        "exists takes no value, got \"yes\""
    );
    assert_eq!(
        err("[BODY] matches ("),
        "invalid regex \"(\": unclosed group"
    );
    assert_eq!(err("[BODY]..a exists"), "empty key in JSON path [BODY]..a");
    assert_eq!(
        err("[BODY].a[x] exists"),
        "expected an array index in JSON path [BODY].a[x], got [x]"
    );
    assert_eq!(
        err("[BODY].a[1 exists"),
        "unclosed [ in JSON path [BODY].a[1"
    );
    assert_eq!(
        err("[BODY]x exists"),
        "expected .key or [index] in JSON path [BODY]x, got \"x\""
    );
    assert_eq!(
        err("[STATUS].code == 1"),
        "unexpected \".code\" after [STATUS]; only [BODY] takes a JSON path"
    );
    assert_eq!(
        err("[HEADER:] exists"),
        "[HEADER:] needs a header name, as in [HEADER:content-type]"
    );
    assert_eq!(
        err("[HEADER:a(b] exists"),
        "\"a(b\" is not a valid header name in [HEADER:a(b]"
    );
}

#[test]
fn status_words_add_only_what_the_request_line_does_not_say() {
    let ex = exchange(200, &[], "");
    // The status is in the request line already: as expected, it says nothing.
    assert_eq!(eval("[STATUS] == 404", &ex).phrase, "the status is not 404");
    assert_eq!(eval("[STATUS] < 500", &ex).phrase, "");
    assert_eq!(
        eval("[STATUS] >= 300", &ex).phrase,
        "the status is not at least 300"
    );
    assert!(eval("[STATUS] >= 200", &ex).holds);
    assert!(!eval("[STATUS] > 200", &ex).holds);
    assert!(eval("[STATUS] <= 200", &ex).holds);
    assert!(eval("[STATUS] != 404", &ex).holds);
}

#[test]
fn response_time_and_body_size_compare_numbers() {
    let mut ex = exchange(200, &[], "hello");
    ex.elapsed_ms = 412.4;
    ex.body_len = 2048;
    assert_eq!(
        eval("[RESPONSE_TIME] < 300", &ex).phrase,
        "the response time is 412 ms, not below 300"
    );
    assert_eq!(
        eval("[BODY_SIZE] > 1024", &ex).phrase,
        "the body size is 2048 B"
    );
}

#[test]
fn body_contains_and_matches_quote_what_they_found() {
    let ex = exchange(
        200,
        &[],
        "APP=orders\nDATABASE_URL=postgres://orders:hunter2@db/orders\n",
    );
    let found = eval("[BODY] contains DATABASE_URL", &ex);
    assert!(found.holds);
    assert_eq!(
        found.phrase,
        "the body contains `DATABASE_URL`: \"DATABASE_URL=postgres://orders:***@db/orders\""
    );
    let negated = eval("[BODY] !matches (?m)^[A-Z][A-Z0-9_]{2,}\\s*=", &ex);
    assert!(!negated.holds);
    assert_eq!(
        negated.phrase,
        "the body matches `(?m)^[A-Z][A-Z0-9_]{2,}\\s*=`: \"APP=orders\""
    );
    assert!(!eval("[BODY] contains secret-word", &ex).holds);
    assert_eq!(
        eval("[BODY] !contains secret-word", &ex).phrase,
        "the body does not contain `secret-word`"
    );
}

#[test]
fn body_equality_trims_and_shows_an_excerpt() {
    let ex = exchange(200, &[], "OK\n");
    assert_eq!(eval("[BODY] == OK", &ex).phrase, "the body is \"OK\\n\"");
    assert_eq!(
        eval("[BODY] == KO", &ex).phrase,
        "the body is \"OK\\n\", not KO"
    );
    assert_eq!(
        eval("[BODY] exists", &exchange(204, &[], "")).phrase,
        "the body is empty"
    );
    assert!(eval("[BODY] exists", &ex).holds);
    assert!(eval("[BODY] absent", &exchange(204, &[], "")).holds);
}

#[test]
fn json_paths_resolve_keys_and_indexes() {
    let body = r#"{"status":"UP","checks":[{"name":"db","ok":true}],"count":3,"version":"1.4.2"}"#;
    let ex = exchange(200, &[("content-type", "application/json")], body);
    assert_eq!(
        eval("[BODY].status == UP", &ex).phrase,
        "`status` is \"UP\""
    );
    assert_eq!(
        eval("[BODY].status == DOWN", &ex).phrase,
        "`status` is \"UP\", not DOWN"
    );
    assert!(eval("[BODY].checks[0].name == db", &ex).holds);
    assert_eq!(
        eval("[BODY].checks[0].ok == true", &ex).phrase,
        "`checks[0].ok` is true"
    );
    assert_eq!(eval("[BODY].count >= 3", &ex).phrase, "`count` is 3");
    assert!(
        eval("[BODY].count == 3.0", &ex).holds,
        "numbers compare numerically"
    );
    assert!(
        !eval("[BODY].version > 1", &ex).holds,
        "1.4.2 is not a number"
    );
    assert_eq!(
        eval("[BODY].openapi exists", &ex).phrase,
        "the body has no `openapi`"
    );
    assert_eq!(
        eval("[BODY].version exists", &ex).phrase,
        "the body has `version`"
    );
    assert!(eval("[BODY].checks[5] absent", &ex).holds);
    assert!(eval("[BODY].status.deeper absent", &ex).holds);
    assert!(eval("[BODY].version matches ^1\\.", &ex).holds);
}

#[test]
fn json_path_on_a_non_json_body_says_so() {
    let ex = exchange(200, &[], "<html>");
    assert_eq!(
        eval("[BODY].status == UP", &ex).phrase,
        "the body is not JSON"
    );
    assert!(eval("[BODY].status absent", &ex).holds);
    assert!(
        eval("[BODY].status != UP", &ex).holds,
        "negations hold on missing values"
    );
}

#[test]
fn headers_are_matched_case_insensitively() {
    let ex = exchange(
        200,
        &[
            ("Content-Type", "application/json; charset=utf-8"),
            ("X-Powered-By", "Express"),
        ],
        "{}",
    );
    assert_eq!(
        eval("[HEADER:content-type] contains json", &ex).phrase,
        "`content-type` contains `json`: \"application/json; charset=utf-8\""
    );
    assert_eq!(
        eval("[HEADER:x-powered-by] absent", &ex).phrase,
        "`x-powered-by` is \"Express\""
    );
    assert_eq!(
        eval("[HEADER:x-frame-options] exists", &ex).phrase,
        "no `x-frame-options` header"
    );
    assert!(eval("[HEADER:X-POWERED-BY] == Express", &ex).holds);
}

#[test]
fn quoted_values_keep_their_spaces() {
    let ex = exchange(200, &[("server", "my server")], "");
    assert!(eval("[HEADER:server] == \"my server\"", &ex).holds);
    assert!(eval("[HEADER:server] contains \"y s\"", &ex).holds);
}

#[test]
fn the_packs_own_words_replace_the_made_up_ones() {
    let ex = exchange(200, &[], "APP_NAME=storefront\n");
    let mut c = Condition::parse("[BODY] !matches (?m)^[A-Z][A-Z0-9_]{2,}=").expect("parses");
    c.broken = Some("the body is an env file".into());
    c.ok = Some(String::new());
    let e = c.eval(&Response::new(&ex));
    assert!(!e.holds);
    assert_eq!(e.phrase, "the body is an env file: \"APP_NAME=storefront\"");
    let e = c.eval(&Response::new(&exchange(200, &[], "<html>")));
    assert_eq!(
        (e.holds, e.phrase.as_str()),
        (true, ""),
        "empty says nothing"
    );
}

#[test]
fn header_values_with_secrets_are_masked_in_evidence() {
    let ex = exchange(200, &[("x-debug", "api_key=abcdef123")], "");
    let shown = eval("[HEADER:x-debug] absent", &ex).phrase;
    assert!(!shown.contains("abcdef123"), "{shown}");
    assert!(shown.contains("api_key=***"), "{shown}");
}
