//! CORS judges over the requests `probes::access` sent to the API paths: a foreign origin,
//! `Origin: null`, look-alikes of the target's own origin, the own origin, and a preflight.
//!
//! A response "allows" an origin when its `Access-Control-Allow-Origin` is exactly the origin
//! sent (compared case-insensitively, as browsers serialise origins in lowercase); credentials
//! are allowed when `Access-Control-Allow-Credentials` is `true`. Values come from the target:
//! nothing here panics on them.

use super::evidence::{EVIDENCE_MAX, clip};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::access::{CorsProbe, OriginVariant};
use crate::observations::http::HttpExchange;
use crate::observations::{Observations, Unobserved};

const OWASP_CORS: &str = "OWASP WSTG: Testing Cross Origin Resource Sharing: https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/11-Client-side_Testing/07-Testing_Cross_Origin_Resource_Sharing";
const FETCH_CORS: &str =
    "Fetch Standard, CORS protocol: https://fetch.spec.whatwg.org/#http-cors-protocol";

/// The CORS exchanges that were observed with their probe; error when every request failed.
fn answered(obs: &Observations) -> Result<Vec<(&CorsProbe, &HttpExchange)>, Unobserved> {
    let probes = obs.cors.get()?;
    let seen: Vec<_> = probes
        .iter()
        .filter_map(|p| p.exchange.observed().map(|ex| (p, ex)))
        .collect();
    if seen.is_empty() {
        let reason = probes
            .iter()
            .find_map(|p| match &p.exchange {
                crate::observations::Probed::Failed(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "no CORS request was sent".to_string());
        return Err(Unobserved::Failed(reason));
    }
    Ok(seen)
}

/// The `Access-Control-Allow-Origin` value, trimmed.
fn acao(ex: &HttpExchange) -> Option<&str> {
    ex.header("access-control-allow-origin").map(str::trim)
}

/// True when the response allows exactly `origin`.
fn allows(ex: &HttpExchange, origin: &str) -> bool {
    acao(ex).is_some_and(|v| v.eq_ignore_ascii_case(origin))
}

/// True when `Access-Control-Allow-Credentials: true`.
fn with_credentials(ex: &HttpExchange) -> bool {
    ex.header("access-control-allow-credentials")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// `GET https://host/api → 200 (Origin: x), ACAO: x, ACAC: true`, clipped.
fn line(p: &CorsProbe, ex: &HttpExchange) -> String {
    let vary = ex.headers_named("vary").join(", ");
    clip(
        &format!(
            "{} (Origin: {}, {}), Access-Control-Allow-Origin: {}, Access-Control-Allow-Credentials: {}, Vary: {}",
            ex.request_line(),
            p.origin,
            p.variant.describe(),
            acao(ex).unwrap_or("(none)"),
            ex.header("access-control-allow-credentials")
                .unwrap_or("(none)"),
            if vary.is_empty() {
                "(none)"
            } else {
                vary.as_str()
            },
        ),
        EVIDENCE_MAX,
    )
}

// ---------------------------------------------------------------------------------------------
// cors.reflect_credentials

/// `cors.reflect_credentials`: a foreign origin echoed with credentials lets any site read the
/// API as the logged-in user.
pub const REFLECT_CREDENTIALS: CheckMeta = CheckMeta {
    id: "cors.reflect_credentials",
    title: "CORS does not reflect foreign origins with credentials",
    problem: "CORS reflects foreign origins with credentials",
    category: Category::Security,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "A foreign Origin (https://evil.example, also in a preflight) sent to the API paths must not be echoed in Access-Control-Allow-Origin together with Access-Control-Allow-Credentials: true.",
    remediation: "Replace origin reflection with an explicit allow-list of your own front-end origins; never combine a reflected origin with Access-Control-Allow-Credentials: true.",
    references: &[OWASP_CORS, FETCH_CORS],
    judge: reflect_credentials,
};

/// Judge of [`REFLECT_CREDENTIALS`].
pub fn reflect_credentials(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = answered(obs)?;
    let foreign: Vec<_> = seen
        .iter()
        .filter(|(p, _)| matches!(p.variant, OriginVariant::Foreign | OriginVariant::Preflight))
        .collect();
    let bad: Vec<String> = foreign
        .iter()
        .filter(|(p, ex)| allows(ex, &p.origin) && with_credentials(ex))
        .map(|(p, ex)| line(p, ex))
        .collect();
    if !bad.is_empty() {
        return Ok(Judgement::fail(format!(
            "{} API response(s) echo a foreign origin with credentials allowed: any web site can read them as the signed-in user.",
            bad.len()
        ))
        .evidence_all(bad));
    }
    let echoed: Vec<String> = foreign
        .iter()
        .filter(|(p, ex)| allows(ex, &p.origin))
        .map(|(p, ex)| line(p, ex))
        .collect();
    let summary = if echoed.is_empty() {
        "No API response allows the foreign origin.".to_string()
    } else {
        "The foreign origin is echoed but without credentials (public data only).".to_string()
    };
    let evidence = if echoed.is_empty() {
        foreign.iter().map(|(p, ex)| line(p, ex)).collect()
    } else {
        echoed
    };
    Ok(Judgement::pass(summary).evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// cors.null_origin

/// `cors.null_origin`: `Origin: null` is sent by sandboxed iframes any attacker can create.
pub const NULL_ORIGIN: CheckMeta = CheckMeta {
    id: "cors.null_origin",
    title: "CORS does not allow the null origin",
    problem: "CORS allows the null origin",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "Origin: null must not be allowed with credentials (fail); allowed without credentials warns.",
    remediation: "Remove \"null\" from the CORS allow-list: sandboxed iframes and data: URLs of any site send it.",
    references: &[OWASP_CORS, FETCH_CORS],
    judge: null_origin,
};

/// Judge of [`NULL_ORIGIN`].
pub fn null_origin(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = answered(obs)?;
    let null: Vec<_> = seen
        .iter()
        .filter(|(p, _)| p.variant == OriginVariant::Null)
        .collect();
    let allowed: Vec<_> = null.iter().filter(|(_, ex)| allows(ex, "null")).collect();
    let lines = |v: &[&&(&CorsProbe, &HttpExchange)]| -> Vec<String> {
        v.iter().map(|(p, ex)| line(p, ex)).collect()
    };
    let with_creds: Vec<_> = allowed
        .iter()
        .copied()
        .filter(|(_, ex)| with_credentials(ex))
        .collect();
    if !with_creds.is_empty() {
        return Ok(Judgement::fail(
            "The API allows Origin: null with credentials: a sandboxed iframe on any site can read it as the user.",
        )
        .evidence_all(lines(&with_creds)));
    }
    if !allowed.is_empty() {
        return Ok(
            Judgement::warn("The API allows Origin: null (without credentials).")
                .evidence_all(lines(&allowed)),
        );
    }
    Ok(Judgement::pass("No API response allows Origin: null.")
        .evidence_all(lines(&null.iter().collect::<Vec<_>>())))
}

// ---------------------------------------------------------------------------------------------
// cors.origin_bypass

/// `cors.origin_bypass`: look-alikes of the target's own origin reveal a badly anchored
/// allow-list (`endsWith`, unanchored regex, scheme ignored).
pub const ORIGIN_BYPASS: CheckMeta = CheckMeta {
    id: "cors.origin_bypass",
    title: "CORS allow-list is not fooled by look-alike origins",
    problem: "Look-alike origins get through the CORS allow-list",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "Look-alikes of the target's origin (https://<host>.evil.example, https://evil<host>, http://<host>) must not be allowed.",
    remediation: "Compare the Origin header against the allow-list by exact string equality (scheme, host and port), not with a substring, prefix, suffix or unanchored regular expression.",
    references: &[
        OWASP_CORS,
        "PortSwigger: CORS misconfigurations: https://portswigger.net/web-security/cors",
    ],
    judge: origin_bypass,
};

/// Judge of [`ORIGIN_BYPASS`].
pub fn origin_bypass(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = answered(obs)?;
    let lookalike: Vec<_> = seen
        .iter()
        .filter(|(p, _)| {
            matches!(
                p.variant,
                OriginVariant::Suffix | OriginVariant::Prefix | OriginVariant::Scheme
            )
        })
        .collect();
    let bad: Vec<String> = lookalike
        .iter()
        .filter(|(p, ex)| allows(ex, &p.origin))
        .map(|(p, ex)| line(p, ex))
        .collect();
    if !bad.is_empty() {
        let mut j = Judgement::fail(format!(
            "{} look-alike origin request(s) were allowed: the allow-list can be bypassed.",
            bad.len()
        ))
        .evidence_all(bad);
        if lookalike
            .iter()
            .any(|(p, ex)| allows(ex, &p.origin) && with_credentials(ex))
        {
            j = j.severity(Severity::Critical);
        }
        return Ok(j);
    }
    Ok(Judgement::pass("No look-alike origin is allowed.")
        .evidence_all(lookalike.iter().map(|(p, ex)| line(p, ex))))
}

// ---------------------------------------------------------------------------------------------
// cors.wildcard

/// `cors.wildcard`: `*` is fine for public data, not on endpoints that need authentication.
pub const WILDCARD: CheckMeta = CheckMeta {
    id: "cors.wildcard",
    title: "No wildcard CORS on authenticated endpoints",
    problem: "Wildcard CORS on authenticated endpoints",
    category: Category::Security,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "Access-Control-Allow-Origin: * warns on authenticated endpoints: a configured protected route (access.protected), or an API response that sets a cookie.",
    remediation: "Serve authenticated endpoints with an explicit origin allow-list instead of *, so a policy change (adding credentials, IP-based auth) cannot expose them to every site.",
    references: &[OWASP_CORS, FETCH_CORS],
    judge: wildcard,
};

/// Judge of [`WILDCARD`].
pub fn wildcard(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let mut authenticated: Vec<(&str, &HttpExchange)> = Vec::new();
    let mut public: Vec<&HttpExchange> = Vec::new();
    let mut reason: Option<Unobserved> = None;
    match obs.protected.get() {
        Ok(probes) => authenticated.extend(
            probes
                .iter()
                .filter_map(|p| p.exchange.observed())
                .map(|ex| ("protected route", ex)),
        ),
        Err(why) => reason = Some(why),
    }
    match answered(obs) {
        Ok(seen) => {
            for (_, ex) in seen {
                if ex.has_header("set-cookie") {
                    authenticated.push(("sets a cookie", ex));
                } else {
                    public.push(ex);
                }
            }
        }
        Err(why) => reason = reason.or(Some(why)),
    }
    if authenticated.is_empty() && public.is_empty() {
        return Err(reason.unwrap_or(Unobserved::Skipped(
            "no API path or protected route was probed".to_string(),
        )));
    }
    let bad: Vec<String> = authenticated
        .iter()
        .filter(|(_, ex)| acao(ex) == Some("*"))
        .map(|(why, ex)| {
            clip(
                &format!(
                    "{} ({why}), Access-Control-Allow-Origin: *",
                    ex.request_line()
                ),
                EVIDENCE_MAX,
            )
        })
        .collect();
    if !bad.is_empty() {
        return Ok(Judgement::warn(
            "An authenticated endpoint answers with Access-Control-Allow-Origin: *.",
        )
        .evidence_all(bad));
    }
    let star = public.iter().filter(|ex| acao(ex) == Some("*")).count();
    let summary = if star > 0 {
        format!("{star} public API response(s) use *, no authenticated endpoint does.")
    } else {
        "No authenticated endpoint answers with Access-Control-Allow-Origin: *.".to_string()
    };
    Ok(
        Judgement::pass(summary).evidence_all(authenticated.iter().map(|(why, ex)| {
            format!(
                "{} ({why})",
                ex.header_evidence("Access-Control-Allow-Origin")
            )
        })),
    )
}

// ---------------------------------------------------------------------------------------------
// cors.vary_origin

/// `cors.vary_origin`: a response whose ACAO depends on the request's Origin must say so, or a
/// cache serves one origin's permission to another.
pub const VARY_ORIGIN: CheckMeta = CheckMeta {
    id: "cors.vary_origin",
    title: "Origin-dependent CORS responses send Vary: Origin",
    problem: "Origin-dependent CORS responses lack Vary: Origin",
    category: Category::Security,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "A response whose Access-Control-Allow-Origin echoes the request's Origin must carry Vary: Origin (warn).",
    remediation: "Add Vary: Origin to every response whose CORS headers depend on the Origin header (also when the origin is refused), so caches keep one copy per origin.",
    references: &[
        FETCH_CORS,
        "RFC 9110 §12.5.5 Vary: https://www.rfc-editor.org/rfc/rfc9110#name-vary",
    ],
    judge: vary_origin,
};

fn varies_on_origin(ex: &HttpExchange) -> bool {
    ex.headers_named("vary")
        .iter()
        .flat_map(|v| v.split(','))
        .any(|item| matches!(item.trim().to_ascii_lowercase().as_str(), "origin" | "*"))
}

/// Judge of [`VARY_ORIGIN`].
pub fn vary_origin(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = answered(obs)?;
    let dynamic: Vec<_> = seen
        .iter()
        .filter(|(p, ex)| acao(ex) != Some("*") && allows(ex, &p.origin))
        .collect();
    if dynamic.is_empty() {
        return Ok(Judgement::pass(
            "No API response echoed the request's Origin; nothing varies by origin.",
        ));
    }
    let bad: Vec<String> = dynamic
        .iter()
        .filter(|(_, ex)| !varies_on_origin(ex))
        .map(|(p, ex)| line(p, ex))
        .collect();
    if !bad.is_empty() {
        return Ok(Judgement::warn(format!(
            "{} response(s) echo the Origin without Vary: Origin: a shared cache can serve one origin's CORS answer to another.",
            bad.len()
        ))
        .evidence_all(bad));
    }
    Ok(
        Judgement::pass("Every origin-dependent CORS response sends Vary: Origin.")
            .evidence_all(dynamic.iter().map(|(p, ex)| line(p, ex))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{
        HOST, evidence_text, exchange_at, https_target, judge, try_judge,
    };
    use crate::model::Outcome;
    use crate::observations::Probed;
    use crate::observations::access::ProtectedProbe;

    fn probe(variant: OriginVariant, origin: &str, headers: &[(&str, &str)]) -> CorsProbe {
        CorsProbe {
            path: "/api/orders".into(),
            variant,
            origin: origin.into(),
            exchange: Probed::Observed(exchange_at(
                &format!("https://{HOST}/api/orders"),
                200,
                headers,
                "[]",
            )),
        }
    }

    fn obs(probes: Vec<CorsProbe>) -> Observations {
        Observations {
            target: https_target(),
            cors: Probed::Observed(probes),
            ..Observations::default()
        }
    }

    const EVIL: &str = "https://evil.example";

    #[test]
    fn foreign_origin_echoed_with_credentials_fails() {
        let j = judge(
            &REFLECT_CREDENTIALS,
            &obs(vec![probe(
                OriginVariant::Foreign,
                EVIL,
                &[
                    ("Access-Control-Allow-Origin", EVIL),
                    ("Access-Control-Allow-Credentials", "true"),
                ],
            )]),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(evidence_text(&j).contains("Access-Control-Allow-Origin: https://evil.example"));
    }

    #[test]
    fn foreign_origin_refused_passes() {
        let j = judge(
            &REFLECT_CREDENTIALS,
            &obs(vec![probe(
                OriginVariant::Foreign,
                EVIL,
                &[("Vary", "Origin")],
            )]),
        );
        assert_eq!(j.outcome, Outcome::Pass);
    }

    #[test]
    fn failed_cors_probes_are_an_error_and_skipped_stays_skipped() {
        let mut o = obs(vec![CorsProbe {
            path: "/api".into(),
            variant: OriginVariant::Foreign,
            origin: EVIL.into(),
            exchange: Probed::Failed("refused".into()),
        }]);
        assert_eq!(
            try_judge(&REFLECT_CREDENTIALS, &o),
            Err(Unobserved::Failed("refused".into()))
        );
        o.cors = Probed::Skipped("no API path".into());
        assert!(matches!(
            try_judge(&VARY_ORIGIN, &o),
            Err(Unobserved::Skipped(_))
        ));
    }

    #[test]
    fn null_origin_with_credentials_fails_without_warns() {
        let creds = [
            ("access-control-allow-origin", "null"),
            ("access-control-allow-credentials", "true"),
        ];
        let j = judge(
            &NULL_ORIGIN,
            &obs(vec![probe(OriginVariant::Null, "null", &creds)]),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        let j = judge(
            &NULL_ORIGIN,
            &obs(vec![probe(OriginVariant::Null, "null", &creds[..1])]),
        );
        assert_eq!(j.outcome, Outcome::Warn);
        let j = judge(
            &NULL_ORIGIN,
            &obs(vec![probe(OriginVariant::Null, "null", &[])]),
        );
        assert_eq!(j.outcome, Outcome::Pass);
    }

    #[test]
    fn lookalike_origin_allowed_fails() {
        let o = format!("https://{HOST}.evil.example");
        let j = judge(
            &ORIGIN_BYPASS,
            &obs(vec![probe(
                OriginVariant::Suffix,
                &o,
                &[("Access-Control-Allow-Origin", &o)],
            )]),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        let j = judge(
            &ORIGIN_BYPASS,
            &obs(vec![probe(
                OriginVariant::Prefix,
                "https://evilapp.example.com",
                &[],
            )]),
        );
        assert_eq!(j.outcome, Outcome::Pass);
    }

    #[test]
    fn wildcard_on_protected_route_warns_on_public_passes() {
        let mut o = obs(vec![probe(
            OriginVariant::Foreign,
            EVIL,
            &[("Access-Control-Allow-Origin", "*")],
        )]);
        assert_eq!(judge(&WILDCARD, &o).outcome, Outcome::Pass);
        o.protected = Probed::Observed(vec![ProtectedProbe {
            path: "/api/admin".into(),
            exchange: Probed::Observed(exchange_at(
                &format!("https://{HOST}/api/admin"),
                401,
                &[("Access-Control-Allow-Origin", "*")],
                "",
            )),
        }]);
        assert_eq!(judge(&WILDCARD, &o).outcome, Outcome::Warn);
    }

    #[test]
    fn echoed_origin_without_vary_warns_with_vary_passes() {
        let own = format!("https://{HOST}");
        let j = judge(
            &VARY_ORIGIN,
            &obs(vec![probe(
                OriginVariant::Own,
                &own,
                &[("Access-Control-Allow-Origin", &own)],
            )]),
        );
        assert_eq!(j.outcome, Outcome::Warn);
        let j = judge(
            &VARY_ORIGIN,
            &obs(vec![probe(
                OriginVariant::Own,
                &own,
                &[
                    ("Access-Control-Allow-Origin", &own),
                    ("Vary", "Accept-Encoding, Origin"),
                ],
            )]),
        );
        assert_eq!(j.outcome, Outcome::Pass);
    }
}
