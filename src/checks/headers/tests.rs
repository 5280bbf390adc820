//! Tests of `headers`.

use super::*;
use crate::checks::fixtures::{
    evidence_text, exchange, http_target, judge, obs_with_headers, obs_with_root, try_judge,
};
use crate::model::Outcome;
use crate::observations::Probed;

fn hsts_with(values: &[&str]) -> Judgement {
    let headers: Vec<(&str, &str)> = values
        .iter()
        .map(|v| ("Strict-Transport-Security", *v))
        .collect();
    judge(&HSTS, &obs_with_headers(&headers))
}

// -- helpers

// -- headers.hsts

#[test]
fn hsts_one_year_with_subdomains_passes() {
    let j = hsts_with(&["max-age=31536000; includeSubDomains; preload"]);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(
        j.summary.contains("with includeSubDomains"),
        "{}",
        j.summary
    );
    assert!(j.summary.contains("preload requested"), "{}", j.summary);
    assert!(
        evidence_text(&j).contains(
            "GET https://app.example.com/ → 200, Strict-Transport-Security: max-age=31536000"
        ),
        "{:?}",
        j.evidence
    );
}

#[test]
fn hsts_six_months_warns() {
    let j = hsts_with(&["max-age=15552000"]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("without includeSubDomains"),
        "{}",
        j.summary
    );
}

#[test]
fn hsts_short_max_age_fails() {
    let j = hsts_with(&["max-age=300"]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("max-age=300 (5 minutes)"),
        "{}",
        j.summary
    );
}

#[test]
fn hsts_missing_fails_with_evidence() {
    let j = judge(&HSTS, &obs_with_headers(&[]));
    assert_eq!(j.outcome, Outcome::Fail);
    assert_eq!(
        j.evidence,
        vec!["GET https://app.example.com/ → 200, no Strict-Transport-Security header"]
    );
}

#[test]
fn hsts_max_age_zero_fails() {
    let j = hsts_with(&["max-age=0"]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("max-age=0"), "{}", j.summary);
}

#[test]
fn hsts_unparseable_max_age_fails_as_invalid() {
    let j = hsts_with(&["max-age=one-year"]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("invalid"), "{}", j.summary);
}

#[test]
fn hsts_duplicate_max_age_directive_fails_as_invalid() {
    let j = hsts_with(&["max-age=31536000; MAX-AGE=31536000"]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("appears twice"), "{}", j.summary);
}

#[test]
fn hsts_without_max_age_fails_as_invalid() {
    let j = hsts_with(&["includeSubDomains"]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("no max-age"), "{}", j.summary);
}

#[test]
fn hsts_judges_the_first_of_several_headers_and_mentions_duplicates() {
    let j = hsts_with(&["max-age=300", "max-age=63072000"]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("2 Strict-Transport-Security headers"),
        "{}",
        j.summary
    );
    assert!(evidence_text(&j).contains("max-age=300 | max-age=63072000"));
}

#[test]
fn hsts_accepts_quoted_mixed_case_and_huge_max_age() {
    let j = hsts_with(&["Max-Age=\"99999999999999999999999\" ; INCLUDESUBDOMAINS"]);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(
        j.summary.contains("with includeSubDomains"),
        "{}",
        j.summary
    );
}

#[test]
fn hsts_on_plain_http_target_fails_as_no_https() {
    let mut obs = obs_with_root(crate::checks::fixtures::exchange_at(
        "http://app.example.com/",
        200,
        &[],
        "",
    ));
    obs.target = http_target();
    let j = judge(&HSTS, &obs);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("no HTTPS at all"), "{}", j.summary);
}

#[test]
fn hsts_on_http_target_redirected_to_https_judges_the_header() {
    let mut obs = obs_with_root(crate::checks::fixtures::exchange_at(
        "https://app.example.com/",
        200,
        &[("strict-transport-security", "max-age=31536000")],
        "",
    ));
    obs.target = http_target();
    assert_eq!(judge(&HSTS, &obs).outcome, Outcome::Pass);
}

#[test]
fn hsts_failed_root_probe_is_unobserved() {
    let mut obs = obs_with_headers(&[]);
    obs.root = Probed::Failed("GET https://app.example.com/: cannot connect".into());
    assert_eq!(
        try_judge(&HSTS, &obs),
        Err(Unobserved::Failed(
            "GET https://app.example.com/: cannot connect".into()
        ))
    );
}

// -- headers.csp

fn csp_with(headers: &[(&str, &str)]) -> Judgement {
    judge(&CSP, &obs_with_headers(headers))
}

#[test]
fn csp_strict_policy_passes_with_bonuses() {
    let j = csp_with(&[(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; frame-ancestors 'none'",
    )]);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(
        j.summary
            .contains("bonus: default-src 'none', frame-ancestors, object-src 'none'"),
        "{}",
        j.summary
    );
}

#[test]
fn csp_missing_fails() {
    let j = csp_with(&[]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(evidence_text(&j).contains("no Content-Security-Policy header"));
}

#[test]
fn csp_report_only_fails() {
    let j = csp_with(&[("Content-Security-Policy-Report-Only", "default-src 'self'")]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("Report-Only"), "{}", j.summary);
    assert!(evidence_text(&j).contains("Content-Security-Policy-Report-Only: default-src"));
}

#[test]
fn csp_unsafe_inline_in_script_src_fails() {
    let j = csp_with(&[(
        "content-security-policy",
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    )]);
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(
        j.summary.contains("'unsafe-inline', 'unsafe-eval'"),
        "{}",
        j.summary
    );
    assert!(j.summary.contains("script-src"), "{}", j.summary);
}

#[test]
fn csp_unsafe_inline_in_default_src_without_script_src_fails() {
    let j = csp_with(&[(
        "Content-Security-Policy",
        "default-src 'self' 'unsafe-inline'; object-src 'none'",
    )]);
    assert_eq!(j.outcome, Outcome::Fail, "{}", j.summary);
    assert!(
        j.summary.contains("default-src (no script-src)"),
        "{}",
        j.summary
    );
}

#[test]
fn csp_unsafe_inline_with_hash_or_strict_dynamic_passes() {
    for policy in [
        "script-src 'self' 'unsafe-inline' 'sha256-abc='",
        "script-src 'unsafe-inline' 'strict-dynamic'",
    ] {
        let j = csp_with(&[("Content-Security-Policy", policy)]);
        assert_eq!(j.outcome, Outcome::Pass, "{policy}: {}", j.summary);
    }
}

#[test]
fn csp_unsafe_eval_alone_only_warns() {
    let j = csp_with(&[("Content-Security-Policy", "script-src 'self' 'unsafe-eval'")]);
    assert_eq!(j.outcome, Outcome::Warn, "{}", j.summary);
}

#[test]
fn csp_unsafe_inline_with_nonce_is_ignored_by_browsers_and_passes() {
    let j = csp_with(&[(
        "Content-Security-Policy",
        "script-src 'nonce-r4nd0m' 'unsafe-inline' 'strict-dynamic' https:; object-src 'none'",
    )]);
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
}

#[test]
fn csp_wildcard_in_default_src_fallback_warns() {
    let j = csp_with(&[("Content-Security-Policy", "DEFAULT-SRC * data:")]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("*, data:"), "{}", j.summary);
    assert!(
        j.summary.contains("default-src (no script-src)"),
        "{}",
        j.summary
    );
}

#[test]
fn csp_http_host_source_warns() {
    let j = csp_with(&[(
        "Content-Security-Policy",
        "script-src 'self' http://cdn.example.com",
    )]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("http://cdn.example.com"),
        "{}",
        j.summary
    );
}

#[test]
fn csp_without_script_restriction_warns_low() {
    let j = csp_with(&[("Content-Security-Policy", "frame-ancestors 'self'")]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(j.score, Some(0.25));
    assert!(j.summary.contains("neither script-src nor default-src"));
}

#[test]
fn csp_second_strict_policy_neutralises_a_weak_one() {
    let j = csp_with(&[
        ("Content-Security-Policy", "script-src * 'unsafe-inline'"),
        ("Content-Security-Policy", "script-src 'self'"),
    ]);
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
}

#[test]
fn csp_comma_joined_policies_are_all_enforced() {
    let j = csp_with(&[(
        "Content-Security-Policy",
        "script-src 'unsafe-eval' 'self', script-src 'self' 'unsafe-eval'",
    )]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("'unsafe-eval'"));
}

#[test]
fn csp_on_json_root_still_judged_and_says_so() {
    let obs = obs_with_root(exchange(
        200,
        &[
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Security-Policy", "default-src 'none'"),
        ],
        "{}",
    ));
    let j = judge(&CSP, &obs);
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(
        j.summary.contains("application/json, not HTML"),
        "{}",
        j.summary
    );
}

#[test]
fn csp_garbage_value_restricts_nothing_and_warns() {
    let j = csp_with(&[("Content-Security-Policy", " ; ;, \u{FFFD}\u{FFFD}")]);
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(j.score, Some(0.25));
}

// -- headers.content_type_options

#[test]
fn content_type_options_nosniff_passes_in_any_case() {
    let j = judge(
        &CONTENT_TYPE_OPTIONS,
        &obs_with_headers(&[("X-Content-Type-Options", "  NoSniff ")]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(evidence_text(&j).contains("X-Content-Type-Options:   NoSniff"));
}

#[test]
fn content_type_options_missing_fails() {
    let j = judge(&CONTENT_TYPE_OPTIONS, &obs_with_headers(&[]));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(evidence_text(&j).contains("no X-Content-Type-Options header"));
}

#[test]
fn content_type_options_other_value_fails() {
    let j = judge(
        &CONTENT_TYPE_OPTIONS,
        &obs_with_headers(&[("x-content-type-options", "nosniff-please")]),
    );
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("\"nosniff-please\""), "{}", j.summary);
}

#[test]
fn content_type_options_duplicate_headers_use_the_first() {
    let j = judge(
        &CONTENT_TYPE_OPTIONS,
        &obs_with_headers(&[
            ("x-content-type-options", "nosniff"),
            ("x-content-type-options", "nosniff"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
}

// -- headers.frame_options

#[test]
fn frame_options_deny_passes() {
    let j = judge(
        &FRAME_OPTIONS,
        &obs_with_headers(&[("X-Frame-Options", "deny")]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("DENY"));
}

#[test]
fn frame_options_csp_frame_ancestors_alone_passes() {
    let j = judge(
        &FRAME_OPTIONS,
        &obs_with_headers(&[("Content-Security-Policy", "Frame-Ancestors 'self'")]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(evidence_text(&j).contains("frame-ancestors 'self'"));
}

#[test]
fn frame_options_neither_fails() {
    let j = judge(&FRAME_OPTIONS, &obs_with_headers(&[]));
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(evidence_text(&j).contains("no X-Frame-Options header"));
}

#[test]
fn frame_options_allow_from_is_obsolete_and_fails() {
    let j = judge(
        &FRAME_OPTIONS,
        &obs_with_headers(&[("X-Frame-Options", "ALLOW-FROM https://partner.example")]),
    );
    assert_eq!(j.outcome, Outcome::Fail);
    assert!(j.summary.contains("ALLOW-FROM is obsolete"));
}

#[test]
fn frame_options_conflicting_duplicates_block_and_pass() {
    let j = judge(
        &FRAME_OPTIONS,
        &obs_with_headers(&[
            ("X-Frame-Options", "DENY"),
            ("X-Frame-Options", "SAMEORIGIN"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("conflicting"));
}

#[test]
fn frame_options_wildcard_frame_ancestors_overrides_deny_and_fails() {
    let j = judge(
        &FRAME_OPTIONS,
        &obs_with_headers(&[
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", "frame-ancestors *"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Fail);
}

#[test]
fn frame_options_one_restrictive_policy_among_several_passes() {
    let j = judge(
        &FRAME_OPTIONS,
        &obs_with_headers(&[
            ("Content-Security-Policy", "frame-ancestors *"),
            ("Content-Security-Policy", "frame-ancestors 'none'"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    assert!(evidence_text(&j).contains("frame-ancestors * | 'none'"));
}

// -- headers.referrer_policy

#[test]
fn referrer_policy_strict_origin_passes() {
    let j = judge(
        &REFERRER_POLICY,
        &obs_with_headers(&[("Referrer-Policy", "strict-origin-when-cross-origin")]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
}

#[test]
fn referrer_policy_missing_warns() {
    let j = judge(&REFERRER_POLICY, &obs_with_headers(&[]));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(evidence_text(&j).contains("no Referrer-Policy header"));
}

#[test]
fn referrer_policy_unsafe_url_warns() {
    let j = judge(
        &REFERRER_POLICY,
        &obs_with_headers(&[("Referrer-Policy", "Unsafe-URL")]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("unsafe-url"));
}

#[test]
fn referrer_policy_last_valid_token_counts() {
    let j = judge(
        &REFERRER_POLICY,
        &obs_with_headers(&[
            ("Referrer-Policy", "no-referrer, no-referrer-when-downgrade"),
            ("Referrer-Policy", "made-up-policy"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("no-referrer-when-downgrade"),
        "{}",
        j.summary
    );
}

#[test]
fn referrer_policy_only_invalid_tokens_warns() {
    let j = judge(
        &REFERRER_POLICY,
        &obs_with_headers(&[("Referrer-Policy", "strict")]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("no value browsers recognise"));
}

// -- headers.permissions_policy

#[test]
fn permissions_policy_present_passes() {
    let j = judge(
        &PERMISSIONS_POLICY,
        &obs_with_headers(&[("Permissions-Policy", "camera=(), geolocation=()")]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("2 features"));
}

#[test]
fn permissions_policy_missing_warns() {
    let j = judge(&PERMISSIONS_POLICY, &obs_with_headers(&[]));
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(evidence_text(&j).contains("no Permissions-Policy header"));
}

#[test]
fn permissions_policy_only_feature_policy_warns() {
    let j = judge(
        &PERMISSIONS_POLICY,
        &obs_with_headers(&[("Feature-Policy", "camera 'none'")]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("Feature-Policy"));
}

// -- headers.cross_origin

#[test]
fn cross_origin_both_set_passes() {
    let j = judge(
        &CROSS_ORIGIN,
        &obs_with_headers(&[
            (
                "Cross-Origin-Opener-Policy",
                "same-origin; report-to=\"coop\"",
            ),
            ("Cross-Origin-Resource-Policy", "Same-Site"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(j.summary.contains("Cross-Origin-Resource-Policy same-site"));
}

#[test]
fn cross_origin_one_missing_warns_at_three_quarters() {
    let j = judge(
        &CROSS_ORIGIN,
        &obs_with_headers(&[("Cross-Origin-Opener-Policy", "same-origin")]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(j.score, Some(0.75));
    assert!(j.summary.contains("no Cross-Origin-Resource-Policy"));
}

#[test]
fn cross_origin_both_missing_warns() {
    let j = judge(&CROSS_ORIGIN, &obs_with_headers(&[]));
    assert_eq!(j.outcome, Outcome::Warn);
    assert_eq!(j.score, None);
    assert_eq!(j.evidence.len(), 2);
}

#[test]
fn cross_origin_invalid_value_counts_as_missing() {
    let j = judge(
        &CROSS_ORIGIN,
        &obs_with_headers(&[
            ("Cross-Origin-Opener-Policy", "yes please"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("invalid, ignored"), "{}", j.summary);
}

// -- headers.disclosure

#[test]
fn disclosure_server_version_and_powered_by_warns() {
    let j = judge(
        &DISCLOSURE,
        &obs_with_headers(&[
            ("Server", "Apache/2.4.41 (Ubuntu)"),
            ("x-powered-by", "PHP/7.4.3"),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(j.summary.contains("Server (with a version), X-Powered-By"));
    assert!(evidence_text(&j).contains("X-Powered-By: PHP/7.4.3"));
}

#[test]
fn disclosure_bare_server_name_passes() {
    let j = judge(&DISCLOSURE, &obs_with_headers(&[("Server", "nginx")]));
    assert_eq!(j.outcome, Outcome::Pass);
    assert!(evidence_text(&j).contains("Server: nginx"));
}

#[test]
fn disclosure_dotted_version_without_slash_warns() {
    let j = judge(
        &DISCLOSURE,
        &obs_with_headers(&[("SERVER", "Jetty(9.4.z-SNAPSHOT)")]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
}

#[test]
fn disclosure_huge_header_value_is_clipped_in_evidence() {
    let huge = "x".repeat(10_000);
    let j = judge(
        &DISCLOSURE,
        &obs_with_headers(&[("X-Generator", huge.as_str())]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.evidence
            .iter()
            .all(|l| l.chars().count() <= EVIDENCE_MAX + 1)
    );
}

// -- headers.deprecated

#[test]
fn deprecated_xss_protection_enabled_warns() {
    let j = judge(
        &DEPRECATED,
        &obs_with_headers(&[("X-XSS-Protection", "1; mode=block")]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(evidence_text(&j).contains("X-XSS-Protection: 1; mode=block"));
}

#[test]
fn deprecated_xss_protection_zero_passes() {
    let j = judge(
        &DEPRECATED,
        &obs_with_headers(&[("x-xss-protection", " 0 ")]),
    );
    assert_eq!(j.outcome, Outcome::Pass);
}

#[test]
fn deprecated_expect_ct_and_pins_warn() {
    let j = judge(
        &DEPRECATED,
        &obs_with_headers(&[
            ("Expect-CT", "max-age=86400, enforce"),
            ("public-key-pins-report-only", "pin-sha256=\"x\""),
        ]),
    );
    assert_eq!(j.outcome, Outcome::Warn);
    assert!(
        j.summary.contains("Expect-CT, Public-Key-Pins-Report-Only"),
        "{}",
        j.summary
    );
}
