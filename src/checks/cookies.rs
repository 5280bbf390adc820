//! Cookie judges: the flags on every `Set-Cookie` seen during the run.
//!
//! Cookie values never reach a judgement: the probe masks them when it records an exchange, and
//! evidence lines here go through [`redact::set_cookie`] again so a fixture or an old recording
//! cannot leak one either. Only names and attributes are read.

use super::evidence::{EVIDENCE_MAX, clip};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Outcome, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::{Observations, Unobserved};
use crate::redact;

/// `cookies.flags`: Secure, HttpOnly and SameSite on the cookies the target sets.
pub const FLAGS: CheckMeta = CheckMeta {
    id: "cookies.flags",
    title: "Cookie flags (Secure, HttpOnly, SameSite)",
    problem: "Cookies lack Secure, HttpOnly or SameSite",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "every Set-Cookie seen — fail: session-like cookie (sess, sid, token, auth, login) \
           without Secure or HttpOnly; warn: SameSite missing/None",
    remediation: "Set session and authentication cookies with `Secure; HttpOnly; SameSite=Lax` \
                  (or `Strict`), ideally with the `__Host-` prefix and `Path=/` \
                  (`Set-Cookie: __Host-sid=…; Path=/; Secure; HttpOnly; SameSite=Lax`); give \
                  every other cookie an explicit SameSite, and use `SameSite=None` only with \
                  `Secure` on cookies that must travel cross-site.",
    references: &[
        "RFC 6265 §4.1.2.5–4.1.2.6: the Secure and HttpOnly attributes",
        "https://datatracker.ietf.org/doc/draft-ietf-httpbis-rfc6265bis/",
        "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Set-Cookie",
    ],
    judge: flags,
};

/// The SameSite attribute as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SameSite {
    Missing,
    Strict,
    Lax,
    None,
    Invalid(String),
}

/// The parts of one `Set-Cookie` the rules look at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CookieFlags {
    name: String,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    /// `Max-Age` ≤ 0: the header deletes the cookie rather than setting it.
    deletes: bool,
}

/// Parses the name and attributes of a `Set-Cookie` value (RFC 6265 §5.2: attribute names
/// case-insensitive, unknown attributes ignored, the last SameSite wins).
fn parse_set_cookie(value: &str) -> CookieFlags {
    let mut parts = value.split(';');
    let pair = parts.next().unwrap_or_default();
    let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
    let mut flags = CookieFlags {
        name: name.to_string(),
        secure: false,
        http_only: false,
        same_site: SameSite::Missing,
        deletes: false,
    };
    for attr in parts {
        let (key, arg) = match attr.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (attr.trim(), ""),
        };
        match key.to_ascii_lowercase().as_str() {
            "secure" => flags.secure = true,
            "httponly" => flags.http_only = true,
            "samesite" => {
                flags.same_site = match arg.to_ascii_lowercase().as_str() {
                    "strict" => SameSite::Strict,
                    "lax" => SameSite::Lax,
                    "none" => SameSite::None,
                    _ => SameSite::Invalid(clip(arg, 30)),
                }
            }
            "max-age" => flags.deletes = arg.parse::<i64>().is_ok_and(|secs| secs <= 0),
            _ => {}
        }
    }
    flags
}

/// True when the name marks a session-like cookie: it contains a configured marker
/// (case-insensitive) or carries the `__Host-` / `__Secure-` prefix.
fn is_session_like(name: &str, markers: &[String]) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("__host-")
        || lower.starts_with("__secure-")
        || markers
            .iter()
            .map(|m| m.trim().to_ascii_lowercase())
            .any(|m| !m.is_empty() && lower.contains(&m))
}

/// True for anti-CSRF cookies, which JavaScript must read (the double-submit pattern), so
/// HttpOnly is not required of them.
fn is_csrf_cookie(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("csrf") || lower.contains("xsrf")
}

/// One cookie judged.
#[derive(Debug, Clone)]
struct Assessed {
    name: String,
    outcome: Outcome,
    /// What is wrong, for the summary (`missing Secure, HttpOnly`).
    problems: Vec<String>,
    /// The evidence line.
    line: String,
}

/// Judges one cookie against the rules.
fn assess(ex: &HttpExchange, raw: &str, cfg: &JudgeConfig) -> Assessed {
    let c = parse_set_cookie(raw);
    let session = is_session_like(&c.name, &cfg.session_cookie_markers);
    let mut failures: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    if !c.deletes {
        let mut missing = Vec::new();
        if session && !c.secure {
            missing.push("Secure");
        }
        if session && !c.http_only && !is_csrf_cookie(&c.name) {
            missing.push("HttpOnly");
        }
        if !missing.is_empty() {
            failures.push(format!("missing {}", missing.join(", ")));
        }
        match &c.same_site {
            SameSite::None if !c.secure => {
                failures.push("SameSite=None without Secure (browsers reject it)".to_string())
            }
            SameSite::None => warnings.push("SameSite=None".to_string()),
            SameSite::Missing => warnings.push("no SameSite".to_string()),
            SameSite::Invalid(v) => warnings.push(format!("invalid SameSite={v}")),
            SameSite::Strict | SameSite::Lax => {}
        }
    }
    let outcome = if !failures.is_empty() {
        Outcome::Fail
    } else if !warnings.is_empty() {
        Outcome::Warn
    } else {
        Outcome::Pass
    };
    let problems: Vec<String> = failures.into_iter().chain(warnings).collect();
    let verdict = match (c.deletes, problems.is_empty(), session) {
        (true, _, _) => "deletes the cookie (Max-Age ≤ 0)".to_string(),
        (false, true, true) => "session cookie, flags ok".to_string(),
        (false, true, false) => "flags ok".to_string(),
        (false, false, _) => problems.join("; "),
    };
    let line = format!(
        "{}, Set-Cookie: {} — {verdict}",
        ex.request_line(),
        redact::set_cookie(raw.trim())
    );
    Assessed {
        name: clip(&c.name, 40),
        outcome,
        problems,
        line: clip(&line, EVIDENCE_MAX),
    }
}

/// Every cookie set during the run, judged, one per name (the worst kept), in first-seen order.
fn assess_all(obs: &Observations, cfg: &JudgeConfig) -> Vec<Assessed> {
    let mut cookies: Vec<Assessed> = Vec::new();
    for ex in obs.all_exchanges() {
        for raw in ex.headers_named("set-cookie") {
            // Browsers ignore a Set-Cookie with neither name nor value.
            if raw.split(';').next().unwrap_or_default().trim().is_empty() {
                continue;
            }
            let cookie = assess(ex, raw, cfg);
            match cookies.iter_mut().find(|c| c.name == cookie.name) {
                Some(seen) if cookie.outcome.badness() > seen.outcome.badness() => *seen = cookie,
                Some(_) => {}
                None => cookies.push(cookie),
            }
        }
    }
    cookies
}

/// `sid (missing Secure, HttpOnly), theme (no SameSite)` for the cookies with this outcome.
fn describe(cookies: &[Assessed], outcome: Outcome) -> (usize, String) {
    let hit: Vec<String> = cookies
        .iter()
        .filter(|c| c.outcome == outcome)
        .map(|c| format!("{} ({})", c.name, c.problems.join("; ")))
        .collect();
    (hit.len(), clip(&hit.join(", "), 300))
}

/// Judges `cookies.flags`: see [`FLAGS`] for the rule; the worst cookie decides.
pub fn flags(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let cookies = assess_all(obs, cfg);
    if cookies.is_empty() {
        // Without the root response we cannot say no cookies are set.
        obs.root_get()?;
        let responses = obs.all_exchanges().len();
        return Ok(Judgement::skipped(format!(
            "No Set-Cookie header was seen in {responses} response{}, so there is no cookie to judge.",
            if responses == 1 { "" } else { "s" }
        )));
    }
    let total = cookies.len();
    let worst = cookies
        .iter()
        .map(|c| c.outcome)
        .max_by_key(|o| o.badness())
        .unwrap_or(Outcome::Pass);
    let judgement = match worst {
        Outcome::Fail => {
            let (n, list) = describe(&cookies, Outcome::Fail);
            Judgement::fail(format!(
                "{n} of {total} cookies lack the flags that protect them: {list}."
            ))
        }
        Outcome::Warn => {
            let (n, list) = describe(&cookies, Outcome::Warn);
            Judgement::warn(format!(
                "{n} of {total} cookies rely on the browser's SameSite default or allow \
                 cross-site sending: {list}."
            ))
        }
        _ => Judgement::pass(format!(
            "All {total} cookies carry the flags they need (Secure and HttpOnly on session \
             cookies, an explicit SameSite)."
        )),
    };
    Ok(judgement.evidence_all(cookies.into_iter().map(|c| c.line)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{
        error_probe, evidence_text, exchange, judge, obs_with_headers, obs_with_root, try_judge,
    };
    use crate::observations::{ErrorProbeKind, Probed};

    fn cookies(values: &[&str]) -> Judgement {
        let headers: Vec<(&str, &str)> = values.iter().map(|v| ("Set-Cookie", *v)).collect();
        judge(&FLAGS, &obs_with_headers(&headers))
    }

    #[test]
    fn cookies_with_all_flags_pass() {
        let j = cookies(&[
            "sid=***; Path=/; Secure; HttpOnly; SameSite=Lax",
            "theme=***; SameSite=Strict",
        ]);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert!(j.summary.contains("All 2 cookies"));
        assert_eq!(
            j.evidence[0],
            "GET https://app.example.com/ → 200, Set-Cookie: sid=***; Path=/; Secure; HttpOnly; \
             SameSite=Lax — session cookie, flags ok"
        );
    }

    #[test]
    fn session_cookie_without_secure_and_httponly_fails() {
        let j = cookies(&["sid=***; Path=/"]);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.summary
                .contains("sid (missing Secure, HttpOnly; no SameSite)"),
            "{}",
            j.summary
        );
        assert!(
            evidence_text(&j).contains(
                "GET https://app.example.com/ → 200, Set-Cookie: sid=***; Path=/ — missing Secure, HttpOnly"
            ),
            "{:?}",
            j.evidence
        );
    }

    #[test]
    fn session_cookie_missing_only_httponly_fails() {
        let j = cookies(&["SESSIONID=***; Secure; SameSite=Lax"]);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.summary.contains("SESSIONID (missing HttpOnly)"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn cookie_without_samesite_warns() {
        let j = cookies(&["theme=***; Path=/"]);
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("theme (no SameSite)"), "{}", j.summary);
    }

    #[test]
    fn samesite_none_with_secure_warns() {
        let j = cookies(&["embed=***; Secure; SameSite=None"]);
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("SameSite=None"));
    }

    #[test]
    fn samesite_none_without_secure_fails_even_for_ordinary_cookies() {
        let j = cookies(&["embed=***; SameSite=None"]);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("SameSite=None without Secure"));
    }

    #[test]
    fn no_set_cookie_is_skipped() {
        let j = cookies(&[]);
        assert_eq!(j.outcome, Outcome::Skipped);
        assert!(j.summary.contains("No Set-Cookie"));
    }

    #[test]
    fn no_cookie_and_failed_root_is_unobserved() {
        let mut obs = obs_with_headers(&[]);
        obs.root = Probed::Failed("GET https://app.example.com/: TLS handshake failed".into());
        assert!(matches!(
            try_judge(&FLAGS, &obs),
            Err(Unobserved::Failed(_))
        ));
    }

    #[test]
    fn attribute_names_are_case_insensitive() {
        let j = cookies(&["auth_token=***; SECURE; httponly; samesite=STRICT"]);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    }

    #[test]
    fn host_prefix_makes_a_cookie_session_like() {
        let j = cookies(&["__Host-prefs=***; Path=/; SameSite=Lax"]);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.summary
                .contains("__Host-prefs (missing Secure, HttpOnly)"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn csrf_token_cookie_may_be_readable_by_scripts() {
        let j = cookies(&["XSRF-TOKEN=***; Path=/; Secure; SameSite=Strict"]);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
    }

    #[test]
    fn several_set_cookies_are_deduplicated_keeping_the_worst() {
        let mut obs = obs_with_root(exchange(
            200,
            &[("set-cookie", "sid=***; Secure; HttpOnly; SameSite=Lax")],
            "",
        ));
        let mut probe = error_probe(ErrorProbeKind::NotFound, 404, "");
        if let Probed::Observed(ex) = &mut probe.exchange {
            ex.headers
                .push(("Set-Cookie".into(), "sid=***; Path=/".into()));
        }
        obs.errors.push(probe);
        let j = judge(&FLAGS, &obs);
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.evidence.len(), 1, "{:?}", j.evidence);
        assert!(j.evidence[0].contains("/__readyprobe_"), "{:?}", j.evidence);
        assert!(j.summary.contains("1 of 1 cookies"));
    }

    #[test]
    fn deletion_cookie_is_not_held_to_the_flags() {
        let j = cookies(&["sid=; Max-Age=0; Path=/"]);
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert!(evidence_text(&j).contains("deletes the cookie"));
    }

    #[test]
    fn unmasked_cookie_value_never_reaches_evidence() {
        let j = cookies(&["sid=s3cr3t-value; Path=/"]);
        assert!(!evidence_text(&j).contains("s3cr3t"), "{:?}", j.evidence);
        assert!(!j.summary.contains("s3cr3t"));
        assert!(evidence_text(&j).contains("sid=***"));
    }

    #[test]
    fn invalid_samesite_and_garbage_cookie_warn_without_panicking() {
        let j = cookies(&["pref=***; SameSite=Sometimes", "\u{FFFD}\u{FFFD};;;=;", ""]);
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(
            j.summary.contains("invalid SameSite=Sometimes"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn configured_markers_decide_what_is_session_like() {
        let obs = obs_with_headers(&[("Set-Cookie", "acme_ident=***; SameSite=Lax")]);
        let mut cfg = crate::checks::fixtures::cfg();
        assert_eq!(flags(&obs, &cfg).map(|j| j.outcome), Ok(Outcome::Pass));
        cfg.session_cookie_markers = vec!["IDENT".to_string()];
        assert_eq!(flags(&obs, &cfg).map(|j| j.outcome), Ok(Outcome::Fail));
    }
}
