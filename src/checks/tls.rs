//! Transport-security judges: how the target is reached over TLS and what plain HTTP does.
//!
//! For now this holds `tls.http_redirect` (a `GET http://host/` without following redirects).
//! The certificate and protocol checks (`tls.certificate`, `tls.protocols`) will join here, each
//! as one `pub const` plus its judge in its own section, sharing the host helpers below.

use url::Url;

use super::headers::{EVIDENCE_MAX, clip, header_line};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Probed, Unobserved};
use crate::probes::http::HttpExchange;

/// A host name normalised for comparison: lowercase, IPv6 brackets and a trailing dot removed.
fn normalise_host(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// True when two host names name the same host.
fn same_host(a: &str, b: &str) -> bool {
    normalise_host(a) == normalise_host(b)
}

// ---------------------------------------------------------------------------------------------
// tls.http_redirect

/// `tls.http_redirect`: plain HTTP redirects to HTTPS on the same host.
pub const HTTP_REDIRECT: CheckMeta = CheckMeta {
    id: "tls.http_redirect",
    title: "Plain HTTP redirects to HTTPS",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "GET http:// — pass: redirect to https on the same host; fail: serves content over http",
    remediation: "Answer every plain-HTTP request with `301 Moved Permanently` (or 308) and \
                  `Location: https://<same host><same path>`, e.g. nginx `return 301 \
                  https://$host$request_uri;` — or do not listen on port 80 at all.",
    references: &[
        "RFC 6797 §7.2: HTTP request type (redirect plain HTTP to HTTPS)",
        "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html",
        "https://developer.mozilla.org/en-US/observatory/docs/tests_and_scoring",
    ],
    judge: http_redirect,
};

/// Judges `tls.http_redirect`: see [`HTTP_REDIRECT`] for the rule. A probe that could not
/// connect means plain HTTP is not served at all, which passes; any other failure is an error.
pub fn http_redirect(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let ex = match &obs.http_redirect {
        Probed::Observed(ex) => ex,
        Probed::Failed(reason) if reason.to_ascii_lowercase().contains("cannot connect") => {
            return Ok(Judgement::pass(
                "Plain HTTP is not served: nothing accepts connections for http:// on this host.",
            )
            .evidence(clip(reason, EVIDENCE_MAX)));
        }
        Probed::Failed(reason) => return Err(Unobserved::Failed(reason.clone())),
        Probed::Skipped(reason) => return Err(Unobserved::Skipped(reason.clone())),
    };
    let evidence = header_line(ex, "Location");
    let judgement = match ex.status {
        300..=399 => judge_location(ex, &obs.target.host),
        200..=299 => Judgement::fail(format!(
            "Content is served over plain HTTP ({} answers {}) instead of a redirect to HTTPS.",
            clip(&ex.final_url, 120),
            ex.status
        )),
        status => Judgement::warn(format!(
            "Plain HTTP answers {status} instead of redirecting to HTTPS, so visitors who type \
             the bare host name get an error."
        )),
    };
    Ok(judgement.evidence(evidence))
}

/// Judges a 3xx answer by where its Location points.
fn judge_location(ex: &HttpExchange, target_host: &str) -> Judgement {
    let Some(location) = ex
        .header("location")
        .map(str::trim)
        .filter(|l| !l.is_empty())
    else {
        return Judgement::warn(format!(
            "Plain HTTP answers {} without a Location header, so browsers are not sent to HTTPS.",
            ex.status
        ));
    };
    let next = match Url::parse(&ex.final_url).and_then(|base| base.join(location)) {
        Ok(next) => next,
        Err(_) => {
            return Judgement::warn(format!(
                "Plain HTTP redirects to an invalid Location ({:?}).",
                clip(location, 80)
            ));
        }
    };
    let host = next.host_str().unwrap_or_default();
    match (next.scheme(), same_host(host, target_host)) {
        ("https", true) => Judgement::pass(format!(
            "Plain HTTP redirects to HTTPS on the same host ({} → {}).",
            ex.status,
            clip(next.as_str(), 120)
        )),
        ("https", false) => Judgement::warn(format!(
            "Plain HTTP redirects to HTTPS on another host ({}); HSTS for {} needs the first \
             redirect to stay on the same host.",
            clip(host, 80),
            clip(target_host, 80)
        )),
        (scheme, _) => Judgement::warn(format!(
            "Plain HTTP redirects to {}:// ({}), not to HTTPS.",
            clip(scheme, 20),
            clip(next.as_str(), 120)
        )),
    }
}

#[cfg(test)]
mod tests {
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
    fn http_redirect_on_plain_http_target_is_skipped() {
        let why = "the target is addressed over plain http";
        assert_eq!(
            try_judge(
                &HTTP_REDIRECT,
                &obs_with_http(Probed::Skipped(why.to_string()))
            ),
            Err(Unobserved::Skipped(why.to_string()))
        );
    }
}
