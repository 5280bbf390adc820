//! Tests of `tls`.

use super::*;
use crate::checks::fixtures::{exchange_at, https_target, judge, try_judge};
use crate::model::Outcome;

fn obs_with_http(answer: Probed<HttpExchange>) -> Observations {
    Observations {
        target: https_target(),
        http_redirect: answer,
        ..Observations::default()
    }
}

fn redirect(status: u16, headers: &[(&str, &str)]) -> Judgement {
    let ex = exchange_at("http://app.example.com/", status, headers, "");
    judge(&HTTP_REDIRECT, &obs_with_http(Probed::Observed(ex)))
}

#[test]
fn http_redirect_to_https_same_host_passes() {
    let j = redirect(301, &[("Location", "https://app.example.com/")]);
    assert_eq!(j.outcome, Outcome::Pass);
    assert_eq!(
        j.evidence,
        vec!["GET http://app.example.com/ → 301, Location: https://app.example.com/"]
    );
}

#[test]
fn http_redirect_host_comparison_ignores_case_and_trailing_dot() {
    let j = redirect(308, &[("location", "https://APP.example.com./login")]);
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
}

#[test]
fn http_serving_content_fails() {
    let j = redirect(200, &[]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("served over plain HTTP"),
        "{}",
        j.summary
    );
    assert!(j.evidence[0].contains("→ 200, no Location header"));
}

#[test]
fn http_redirect_to_other_host_warns() {
    let j = redirect(301, &[("Location", "https://www.example.com/")]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("another host (www.example.com)"),
        "{}",
        j.summary
    );
}

#[test]
fn http_redirect_to_http_warns() {
    let j = redirect(302, &[("Location", "/login")]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("redirects to http://"), "{}", j.summary);
}

#[test]
fn http_redirect_without_location_warns() {
    let j = redirect(301, &[]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("without a Location"));
}

#[test]
fn http_error_status_warns() {
    let j = redirect(403, &[]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("answers 403"));
}

#[test]
fn http_redirect_invalid_location_warns() {
    let j = redirect(301, &[("Location", "https://exa mple.com:99999/")]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("invalid Location"), "{}", j.summary);
}

#[test]
fn http_port_refused_passes_as_not_served() {
    let reason = "GET http://app.example.com/: cannot connect: connection refused";
    let j = judge(
        &HTTP_REDIRECT,
        &obs_with_http(Probed::Failed(reason.to_string())),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("not served"));
    assert_eq!(j.evidence, vec![reason]);
}

#[test]
fn http_probe_timeout_is_an_error() {
    let reason = "GET http://app.example.com/: no answer within 10s";
    assert_eq!(
        try_judge(
            &HTTP_REDIRECT,
            &obs_with_http(Probed::Failed(reason.to_string()))
        ),
        Err(Unobserved::Failed(reason.to_string()))
    );
}

#[test]
fn http_redirect_not_probed_is_skipped() {
    let why = "not probed in this run";
    assert_eq!(
        try_judge(
            &HTTP_REDIRECT,
            &obs_with_http(Probed::Skipped(why.to_string()))
        ),
        Err(Unobserved::Skipped(why.to_string()))
    );
}

fn plain_target(answer: Probed<HttpExchange>) -> Observations {
    Observations {
        target: crate::checks::fixtures::http_target(),
        root: answer.clone(),
        http_redirect: answer,
        ..Observations::default()
    }
}

#[test]
fn plain_http_target_serving_content_fails_as_no_https() {
    let ex = exchange_at("http://app.example.com/", 200, &[], "<html>shop</html>");
    let j = judge(&HTTP_REDIRECT, &plain_target(Probed::Observed(ex)));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("served over plain HTTP"),
        "{}",
        j.summary
    );
    assert!(j.summary.contains("no HTTPS was offered"), "{}", j.summary);
    assert_eq!(
        j.evidence,
        vec!["GET http://app.example.com/ → 200, no Location header"]
    );
}

#[test]
fn plain_http_target_redirecting_to_https_passes() {
    let ex = exchange_at(
        "http://app.example.com/",
        301,
        &[("Location", "https://app.example.com/")],
        "",
    );
    let j = judge(&HTTP_REDIRECT, &plain_target(Probed::Observed(ex)));
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
}

#[test]
fn plain_http_target_unreachable_is_an_error_not_a_pass() {
    let reason = "GET http://app.example.com/: cannot connect: connection refused";
    assert_eq!(
        try_judge(
            &HTTP_REDIRECT,
            &plain_target(Probed::Failed(reason.to_string()))
        ),
        Err(Unobserved::Failed(reason.to_string()))
    );
}
