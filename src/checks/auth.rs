//! Authentication judges: protected routes without credentials (`auth.required`), the identity
//! provider's published keys (`auth.jwks`) and forged tokens (`auth.jwt_forgery`, active).
//!
//! The JWKS is the target's data: a key may lack any member or carry odd types; nothing here
//! panics on it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::evidence::{EVIDENCE_MAX, clip};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::{Observations, Probed, Unobserved};

const OWASP_AUTHN: &str = "OWASP ASVS V2/V3 Authentication and session management: https://owasp.org/www-project-application-security-verification-standard/";
const RFC7517: &str = "RFC 7517 JSON Web Key: https://www.rfc-editor.org/rfc/rfc7517";
const RFC8725: &str = "RFC 8725 JWT Best Current Practices: https://www.rfc-editor.org/rfc/rfc8725";

// ---------------------------------------------------------------------------------------------
// auth.required

/// `auth.required`: configured protected routes must refuse anonymous requests.
pub const REQUIRED: CheckMeta = CheckMeta {
    id: "auth.required",
    title: "Protected routes require credentials",
    problem: "Protected routes answer without credentials",
    category: Category::Security,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "Each configured protected route (access.protected) requested without credentials must answer 401 or 403; 2xx fails, any other status warns.",
    remediation: "Put the route behind the authentication middleware and return 401 (no or bad credentials) or 403 (not allowed) before any handler runs.",
    references: &[OWASP_AUTHN],
    judge: required,
};

/// Judge of [`REQUIRED`].
pub fn required(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let probes = obs.protected.get()?;
    let seen: Vec<_> = probes
        .iter()
        .filter_map(|p| p.exchange.observed())
        .collect();
    if seen.is_empty() {
        let reason = probes
            .iter()
            .find_map(|p| match &p.exchange {
                Probed::Failed(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "no protected route was requested".to_string());
        return Err(Unobserved::Failed(reason));
    }
    let line = |ex: &&crate::observations::http::HttpExchange| {
        clip(
            &format!("{} without credentials", ex.request_line()),
            EVIDENCE_MAX,
        )
    };
    let open: Vec<String> = seen.iter().filter(|ex| ex.is_success()).map(line).collect();
    if !open.is_empty() {
        return Ok(Judgement::fail(format!(
            "{} protected route(s) answer 2xx without any credentials.",
            open.len()
        ))
        .evidence_all(open));
    }
    let odd: Vec<String> = seen
        .iter()
        .filter(|ex| !matches!(ex.status, 401 | 403))
        .map(line)
        .collect();
    if !odd.is_empty() {
        return Ok(Judgement::warn(
            "Some protected routes answer neither 401 nor 403 without credentials; check they are the intended routes.",
        )
        .evidence_all(odd));
    }
    Ok(
        Judgement::pass("Every protected route refuses anonymous requests (401/403).")
            .evidence_all(seen.iter().map(line)),
    )
}

// ---------------------------------------------------------------------------------------------
// auth.jwks

/// `auth.jwks`: the published keys must be public, strong, identified and rotatable.
pub const JWKS: CheckMeta = CheckMeta {
    id: "auth.jwks",
    title: "JWKS publishes strong, identified public keys",
    problem: "The JWKS publishes weak, private or unidentified keys",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "The JWKS (from OIDC discovery or /.well-known/jwks.json) must hold no private material (d, p, q, dp, dq, qi, k: fail critical), no RSA modulus under 2048 bits (fail high), a unique kid on every key and more than one key for rotation overlap (warn).",
    remediation: "Publish only public members; use RSA ≥ 2048 bits (or P-256/Ed25519); give every key a unique kid; publish the next key before switching to it so tokens signed with either verify during rotation.",
    references: &[
        RFC7517,
        RFC8725,
        "NIST SP 800-57 Part 1 (key sizes): https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final",
    ],
    judge: jwks,
};

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "k"];

/// Bits of a base64url big-endian unsigned integer (leading zero bits not counted).
fn modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')).ok()?;
    let first = bytes.iter().position(|b| *b != 0)?;
    Some((bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize)
}

/// Judge of [`JWKS`].
pub fn jwks(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let seen = obs.jwks.get()?;
    let source = match &seen.discovery_url {
        Some(d) => format!("{} (jwks_uri of {d})", seen.jwks_url),
        None => seen.jwks_url.clone(),
    };
    let Some(keys) = seen.jwks.get("keys").and_then(Value::as_array) else {
        return Ok(Judgement::fail("The JWKS has no \"keys\" array.")
            .evidence(format!("GET {source}: no keys array")));
    };
    let mut private = Vec::new();
    let mut weak = Vec::new();
    let mut no_kid = 0usize;
    let mut kids: Vec<&str> = Vec::new();
    let mut described = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let kty = key.get("kty").and_then(Value::as_str).unwrap_or("?");
        let kid = key.get("kid").and_then(Value::as_str);
        let name = match kid {
            Some(k) => format!("key {i} (kid {:?}, {kty})", clip(k, 60)),
            None => format!("key {i} (no kid, {kty})"),
        };
        let members: Vec<&str> = PRIVATE_MEMBERS
            .iter()
            .copied()
            .filter(|m| key.get(*m).is_some())
            .collect();
        if !members.is_empty() {
            private.push(format!("{name}: private members {}", members.join(", ")));
        }
        let bits = key.get("n").and_then(Value::as_str).and_then(modulus_bits);
        if kty == "RSA"
            && let Some(bits) = bits
            && bits < 2048
        {
            weak.push(format!("{name}: RSA modulus {bits} bits"));
        }
        match kid {
            Some(k) => kids.push(k),
            None => no_kid += 1,
        }
        described.push(match bits {
            Some(b) => format!("{name}: RSA {b} bits"),
            None => name,
        });
    }
    let header = format!("GET {source}: {} key(s)", keys.len());
    if !private.is_empty() {
        return Ok(Judgement::fail(
            "The JWKS publishes private key material: anyone can sign tokens the service accepts.",
        )
        .severity(Severity::Critical)
        .evidence(header)
        .evidence_all(private));
    }
    if !weak.is_empty() {
        return Ok(Judgement::fail("The JWKS holds RSA keys under 2048 bits.")
            .evidence(header)
            .evidence_all(weak));
    }
    let mut warnings = Vec::new();
    if no_kid > 0 {
        warnings.push(format!("{no_kid} key(s) without kid"));
    }
    let mut sorted = kids.clone();
    sorted.sort_unstable();
    let dup = sorted.windows(2).any(|w| w[0] == w[1]);
    if dup {
        warnings.push("duplicated kid".to_string());
    }
    if keys.len() < 2 {
        warnings.push(format!("{} key(s): no rotation overlap", keys.len()));
    }
    if !warnings.is_empty() {
        return Ok(Judgement::warn(format!(
            "The JWKS is weak on key management: {}.",
            warnings.join("; ")
        ))
        .evidence(header)
        .evidence_all(described));
    }
    Ok(Judgement::pass(
        "The JWKS holds public keys only, strong, with unique kids and a rotation overlap.",
    )
    .evidence(header)
    .evidence_all(described))
}

// ---------------------------------------------------------------------------------------------
// auth.jwt_forgery

/// `auth.jwt_forgery`: forged tokens must never open a protected route.
pub const JWT_FORGERY: CheckMeta = CheckMeta {
    id: "auth.jwt_forgery",
    title: "Forged JWTs are rejected",
    problem: "Forged JWTs are accepted",
    category: Category::Security,
    severity: Severity::Critical,
    active: true,
    weight: 1.0,
    rule: "alg:none, HS256 signed with the JWKS public key, a tampered valid token and an expired token sent to the first protected route must all be refused; any 2xx fails critical.",
    remediation: "Verify tokens with a fixed allow-list of algorithms (e.g. only RS256) chosen by the server, never the token's alg header; reject alg none; check signature, exp and nbf on every request.",
    references: &[
        RFC8725,
        "PortSwigger: JWT attacks: https://portswigger.net/web-security/jwt",
    ],
    judge: jwt_forgery,
};

/// Judge of [`JWT_FORGERY`].
pub fn jwt_forgery(obs: &Observations, _: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let run = obs.jwt_forgery.get()?;
    if let Some(status) = run.baseline_status
        && (200..300).contains(&status)
    {
        return Ok(Judgement::skipped(format!(
            "{} answers {status} without any token, so forged tokens prove nothing (see auth.required).",
            run.path
        )));
    }
    let mut lines = Vec::new();
    let mut accepted = Vec::new();
    let mut answered = 0;
    for sent in &run.sent {
        match &sent.exchange {
            Probed::Observed(ex) => {
                answered += 1;
                lines.push(clip(
                    &format!("{} with {}", ex.request_line(), sent.variant.describe()),
                    EVIDENCE_MAX,
                ));
                if ex.is_success() {
                    accepted.push(sent.variant.describe());
                }
            }
            Probed::Failed(r) | Probed::Skipped(r) => {
                lines.push(clip(
                    &format!("{}: {r}", sent.variant.describe()),
                    EVIDENCE_MAX,
                ));
            }
        }
    }
    lines.extend(
        run.not_sent
            .iter()
            .map(|(v, why)| format!("not sent: {} ({why})", v.describe())),
    );
    if !accepted.is_empty() {
        return Ok(Judgement::fail(format!(
            "{} accepted a forged token: {}.",
            run.path,
            accepted.join(", ")
        ))
        .severity(Severity::Critical)
        .evidence_all(lines));
    }
    if answered == 0 {
        let reason = run
            .sent
            .iter()
            .find_map(|s| match &s.exchange {
                Probed::Failed(r) => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "no forged token was sent".to_string());
        return Err(Unobserved::Failed(reason));
    }
    Ok(Judgement::pass(format!("{} refused every forged token.", run.path)).evidence_all(lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::{
        HOST, evidence_text, exchange_at, https_target, judge, try_judge,
    };
    use crate::model::Outcome;
    use crate::observations::access::{
        ForgedRequest, ForgeryVariant, JwksObservation, JwtForgery, ProtectedProbe,
    };
    use serde_json::json;

    fn protected(status: u16) -> Observations {
        Observations {
            target: https_target(),
            protected: Probed::Observed(vec![ProtectedProbe {
                path: "/api/admin".into(),
                exchange: Probed::Observed(exchange_at(
                    &format!("https://{HOST}/api/admin"),
                    status,
                    &[],
                    "",
                )),
            }]),
            ..Observations::default()
        }
    }

    #[test]
    fn protected_route_answering_200_fails() {
        let j = judge(&REQUIRED, &protected(200));
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(evidence_text(&j).contains("/api/admin → 200 without credentials"));
    }

    #[test]
    fn protected_route_answering_401_passes_404_warns() {
        assert_eq!(judge(&REQUIRED, &protected(401)).outcome, Outcome::Pass);
        assert_eq!(judge(&REQUIRED, &protected(404)).outcome, Outcome::Warn);
    }

    #[test]
    fn no_protected_route_is_skipped() {
        let obs = Observations {
            protected: Probed::Skipped("no protected route configured (access.protected)".into()),
            ..Observations::default()
        };
        assert!(matches!(
            try_judge(&REQUIRED, &obs),
            Err(Unobserved::Skipped(_))
        ));
    }

    fn with_jwks(keys: Value) -> Observations {
        Observations {
            target: https_target(),
            jwks: Probed::Observed(JwksObservation {
                discovery_url: None,
                jwks_url: format!("https://{HOST}/.well-known/jwks.json"),
                jwks: json!({ "keys": keys }),
            }),
            ..Observations::default()
        }
    }

    /// A base64url modulus of `bits` bits.
    fn modulus(bits: usize) -> String {
        let mut bytes = vec![0xffu8; bits / 8];
        bytes[0] = 0xc0;
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn private_member_in_jwks_fails_critical() {
        let j = judge(
            &JWKS,
            &with_jwks(
                json!([{"kty": "RSA", "kid": "a", "n": modulus(2048), "e": "AQAB", "d": "xx"}]),
            ),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, Some(Severity::Critical));
        assert!(evidence_text(&j).contains("private members d"));
    }

    #[test]
    fn rsa_1024_fails_high() {
        let j = judge(
            &JWKS,
            &with_jwks(json!([{"kty": "RSA", "n": modulus(1024), "e": "AQAB"}])),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, None);
        assert!(evidence_text(&j).contains("RSA modulus 1024 bits"));
    }

    #[test]
    fn single_key_or_duplicate_kid_warns() {
        let one = json!([{"kty": "RSA", "kid": "a", "n": modulus(2048), "e": "AQAB"}]);
        let j = judge(&JWKS, &with_jwks(one));
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("no rotation overlap"));
        let dup = json!([
            {"kty": "RSA", "kid": "a", "n": modulus(2048), "e": "AQAB"},
            {"kty": "RSA", "kid": "a", "n": modulus(2048), "e": "AQAB"}
        ]);
        assert!(
            judge(&JWKS, &with_jwks(dup))
                .summary
                .contains("duplicated kid")
        );
    }

    #[test]
    fn two_strong_keys_with_kids_pass() {
        let keys = json!([
            {"kty": "RSA", "kid": "a", "n": modulus(2048), "e": "AQAB"},
            {"kty": "RSA", "kid": "b", "n": modulus(3072), "e": "AQAB"}
        ]);
        let j = judge(&JWKS, &with_jwks(keys));
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(evidence_text(&j).contains("RSA 3072 bits"));
    }

    fn forgery(statuses: &[(ForgeryVariant, u16)]) -> Observations {
        Observations {
            target: https_target(),
            jwt_forgery: Probed::Observed(JwtForgery {
                path: "/api/admin".into(),
                baseline_status: Some(401),
                sent: statuses
                    .iter()
                    .map(|(variant, status)| ForgedRequest {
                        variant: *variant,
                        exchange: Probed::Observed(exchange_at(
                            &format!("https://{HOST}/api/admin"),
                            *status,
                            &[],
                            "",
                        )),
                    })
                    .collect(),
                not_sent: vec![(ForgeryVariant::Tampered, "no valid token configured".into())],
            }),
            ..Observations::default()
        }
    }

    #[test]
    fn accepted_alg_none_fails_critical_naming_the_variant() {
        let j = judge(
            &JWT_FORGERY,
            &forgery(&[
                (ForgeryVariant::AlgNone, 200),
                (ForgeryVariant::Expired, 401),
            ]),
        );
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("alg:none token"));
        assert!(evidence_text(&j).contains("not sent: valid token with a tampered payload"));
    }

    #[test]
    fn all_forgeries_refused_pass() {
        let j = judge(
            &JWT_FORGERY,
            &forgery(&[
                (ForgeryVariant::AlgNone, 401),
                (ForgeryVariant::Hs256PublicKey, 401),
                (ForgeryVariant::Expired, 401),
            ]),
        );
        assert_eq!(j.outcome, Outcome::Pass);
    }

    #[test]
    fn open_route_makes_forgery_skipped() {
        let mut obs = forgery(&[(ForgeryVariant::AlgNone, 200)]);
        if let Probed::Observed(run) = &mut obs.jwt_forgery {
            run.baseline_status = Some(200);
        }
        assert_eq!(judge(&JWT_FORGERY, &obs).outcome, Outcome::Skipped);
    }
}
