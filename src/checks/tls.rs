//! Transport-security judges: how the target is reached over TLS and what plain HTTP does.
//!
//! `tls.http_redirect` judges a `GET http://host/` made without following redirects;
//! `tls.certificate` and `tls.protocols` judge the TLS probe's handshake (chain, verifier verdict,
//! negotiated version) and its TLS 1.0/1.1 ClientHellos. Each check is one `pub const` plus its
//! judge in its own section. Days to expiry are counted from the clock reading the probe recorded,
//! so judging stays pure.

use url::Url;

use super::evidence::{EVIDENCE_MAX, clip, header_line};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::{Observations, Probed, Unobserved};

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
    problem: "Plain HTTP serves content instead of redirecting to HTTPS",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "GET http:// — pass: redirect to https on the same host; fail: serves content over \
           http — including a target given as http:// that serves content (the site offers no \
           HTTPS); pass: nothing listens for plain HTTP",
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
/// For a target given as `http://` the probe is the target itself, not followed: content there
/// means the site is served over plain HTTP, which fails.
pub fn http_redirect(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let plain_target = !obs.target.is_https();
    let ex = match &obs.http_redirect {
        Probed::Observed(ex) => ex,
        // The audited URL itself is http://: nothing answering there is unreachable, not safe.
        Probed::Failed(reason) if plain_target => return Err(Unobserved::Failed(reason.clone())),
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
        200..=299 if plain_target => {
            let reached_https = obs
                .root
                .observed()
                .is_some_and(|root| root.final_url.starts_with("https://"));
            let offers = if reached_https {
                "although HTTPS is served elsewhere on the site"
            } else {
                "and no HTTPS was offered: the whole site is plain HTTP"
            };
            Judgement::fail(format!(
                "The site is served over plain HTTP: the target {} answers {} with content {offers}.",
                clip(&ex.final_url, 120),
                ex.status
            ))
        }
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

// ---------------------------------------------------------------------------------------------
// tls.certificate

/// Days left before which an otherwise valid certificate fails (`high`).
pub const CERT_FAIL_DAYS: i64 = 14;
/// Days left before which an otherwise valid certificate warns.
pub const CERT_WARN_DAYS: i64 = 30;

/// `tls.certificate`: the chain is trusted, valid for the host and not about to expire.
pub const CERTIFICATE: CheckMeta = CheckMeta {
    id: "tls.certificate",
    title: "TLS certificate is trusted, matches the host and is not about to expire",
    problem: "The TLS certificate is untrusted, mismatched or expiring",
    category: Category::Security,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "TLS handshake: chain trust, hostname, notAfter — fail: untrusted/expired/mismatch \
           (critical); fail < 14 days; warn < 30 days",
    remediation: "Serve a certificate from a publicly trusted CA (or the private CA your clients \
                  are given, passed here with --ca-file) that lists the host in its \
                  subjectAltName, send the full chain (leaf then intermediates), and renew \
                  automatically well before notAfter (ACME clients renew at 30 days left).",
    references: &[
        "RFC 5280 §6: Certification path validation",
        "RFC 6125 §6: Verifying the service identity",
        "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html",
    ],
    judge: certificate,
};

/// A unix time as an RFC 3339 date for evidence lines.
fn unix_date(secs: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Whole days from `now` to `until` (negative once past), rounded down.
fn days_between(now: i64, until: i64) -> i64 {
    (until - now).div_euclid(86_400)
}

/// Why the verifier refused the chain, in words, from its error text.
fn distrust_reason(error: &str) -> &'static str {
    let e = error.to_ascii_lowercase();
    if e.contains("expired") {
        "has expired"
    } else if e.contains("not valid yet") {
        "is not valid yet"
    } else if e.contains("not valid for name") || e.contains("notvalidforname") {
        "does not match the host name"
    } else if e.contains("unknownissuer") || e.contains("unknown issuer") {
        "is not issued by a trusted CA"
    } else {
        "is not trusted"
    }
}

/// Judges `tls.certificate`: see [`CERTIFICATE`] for the rule. The verifier's verdict (webpki
/// roots plus `--ca-file` anchors) decides trust and hostname; days left are counted from the
/// probe's own clock reading to the earliest notAfter in the chain.
pub fn certificate(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let hs = obs.tls.get()?.handshake.get()?;
    let Some(leaf) = hs.chain.first() else {
        return Ok(Judgement::fail(format!(
            "The server at {} sent no certificate.",
            clip(&hs.server_name, 80)
        ))
        .severity(Severity::Critical));
    };
    let leaf_days = days_between(hs.observed_at_unix, leaf.not_after);
    let mut evidence = vec![
        format!("Subject: {}", clip(&leaf.subject, EVIDENCE_MAX)),
        format!("Issuer: {}", clip(&leaf.issuer, EVIDENCE_MAX)),
        format!(
            "SANs: {}",
            if leaf.sans.is_empty() {
                "none".to_string()
            } else {
                clip(&leaf.sans.join(", "), EVIDENCE_MAX)
            }
        ),
        format!(
            "notAfter: {} ({leaf_days} days left)",
            unix_date(leaf.not_after)
        ),
    ];
    // The earliest expiry anywhere in the chain (an intermediate can lapse before the leaf).
    let earliest = hs.chain.iter().min_by_key(|c| c.not_after).unwrap_or(leaf);
    let days_left = days_between(hs.observed_at_unix, earliest.not_after);
    if earliest.not_after < leaf.not_after {
        evidence.push(format!(
            "Earliest notAfter in the chain: {} ({days_left} days left) for {}",
            unix_date(earliest.not_after),
            clip(&earliest.subject, 120)
        ));
    }
    evidence.push(format!(
        "Key: {} {} bits{}",
        clip(&leaf.key_type, 40),
        leaf.key_bits,
        if leaf.self_signed {
            ", self-signed"
        } else {
            ""
        }
    ));
    evidence.push(match &hs.verification.error {
        Some(error) => format!("Verifier: {}", clip(error, EVIDENCE_MAX)),
        None if hs.verification.trusted => {
            format!("Verifier: chain trusted for {}", clip(&hs.server_name, 80))
        }
        None => "Verifier: not trusted (no reason given)".to_string(),
    });
    let host = clip(&hs.server_name, 80);

    if !hs.verification.trusted {
        let why = distrust_reason(hs.verification.error.as_deref().unwrap_or(""));
        let self_signed = if leaf.self_signed && why == "is not issued by a trusted CA" {
            " (it is self-signed)"
        } else {
            ""
        };
        return Ok(Judgement::fail(format!(
            "The certificate served for {host} {why}{self_signed}: clients will refuse the connection."
        ))
        .severity(Severity::Critical)
        .evidence_all(evidence));
    }
    if days_left < 0 {
        return Ok(Judgement::fail(format!(
            "A certificate in the chain for {host} expired {} days ago.",
            -days_left
        ))
        .severity(Severity::Critical)
        .evidence_all(evidence));
    }
    let judgement = if days_left < CERT_FAIL_DAYS {
        Judgement::fail(format!(
            "The certificate for {host} expires in {days_left} days (under {CERT_FAIL_DAYS}): \
             renew it now."
        ))
        .severity(Severity::High)
    } else if days_left < CERT_WARN_DAYS {
        Judgement::warn(format!(
            "The certificate for {host} expires in {days_left} days (under {CERT_WARN_DAYS}): \
             renewal is due."
        ))
    } else {
        Judgement::pass(format!(
            "The certificate for {host} is trusted, matches the host and has {days_left} days left."
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// tls.protocols

/// `tls.protocols`: TLS 1.0 and 1.1 are refused; TLS 1.3 is offered.
pub const PROTOCOLS: CheckMeta = CheckMeta {
    id: "tls.protocols",
    title: "Only TLS 1.2 and 1.3 are accepted",
    problem: "Legacy TLS versions are accepted, or TLS 1.3 is not",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "handshakes pinned to TLS 1.0/1.1/1.2/1.3 — fail: TLS 1.0/1.1 accepted; warn: no TLS 1.3",
    remediation: "Disable TLS 1.0 and 1.1 and enable TLS 1.3, e.g. nginx `ssl_protocols TLSv1.2 \
                  TLSv1.3;`, Apache `SSLProtocol -all +TLSv1.2 +TLSv1.3`, or a load balancer \
                  policy that starts at TLS 1.2.",
    references: &[
        "RFC 8996: Deprecating TLS 1.0 and TLS 1.1",
        "RFC 8446: TLS 1.3",
        "https://cheatsheetseries.owasp.org/cheatsheets/Transport_Layer_Security_Cheat_Sheet.html",
    ],
    judge: protocols,
};

/// Judges `tls.protocols`: see [`PROTOCOLS`] for the rule. An accepted legacy version fails even
/// when another probe failed; otherwise a failed legacy probe makes the finding an error.
pub fn protocols(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let tls = obs.tls.get()?;
    let mut evidence = Vec::new();
    let mut accepted = Vec::new();
    let mut failed = None;
    for (version, probe) in &tls.legacy {
        let name = version.name();
        match probe {
            Probed::Observed(p) if p.accepted => {
                accepted.push(name);
                evidence.push(format!("{name}: accepted ({})", clip(&p.answer, 120)));
            }
            Probed::Observed(p) => {
                evidence.push(format!("{name}: refused ({})", clip(&p.answer, 120)));
            }
            Probed::Failed(reason) => {
                failed.get_or_insert_with(|| reason.clone());
                evidence.push(format!("{name}: probe failed: {}", clip(reason, 160)));
            }
            Probed::Skipped(reason) => {
                evidence.push(format!("{name}: not probed: {}", clip(reason, 160)));
            }
        }
    }
    match &tls.handshake {
        Probed::Observed(hs) => {
            evidence.push(format!(
                "TLS 1.2/1.3 client: negotiated {}, {}{}",
                clip(&hs.version, 20),
                clip(&hs.cipher_suite, 60),
                hs.alpn
                    .as_deref()
                    .map(|a| format!(", ALPN {}", clip(a, 20)))
                    .unwrap_or_default()
            ));
        }
        Probed::Failed(reason) | Probed::Skipped(reason) => {
            evidence.push(format!(
                "TLS 1.2/1.3 client: handshake failed: {}",
                clip(reason, 160)
            ));
        }
    }
    if !accepted.is_empty() {
        return Ok(Judgement::fail(format!(
            "The server accepts {}: deprecated protocols (RFC 8996) with known weaknesses.",
            accepted.join(" and ")
        ))
        .evidence_all(evidence));
    }
    if let Some(reason) = failed {
        return Err(Unobserved::Failed(reason));
    }
    let hs = tls.handshake.get()?;
    if hs.version != "TLS 1.3" {
        return Ok(Judgement::warn(format!(
            "TLS 1.0 and 1.1 are refused, but a client offering TLS 1.3 negotiated {}.",
            clip(&hs.version, 20)
        ))
        .evidence_all(evidence));
    }
    Ok(
        Judgement::pass("TLS 1.0 and 1.1 are refused; TLS 1.3 is negotiated.")
            .evidence_all(evidence),
    )
}

#[cfg(test)]
mod cert_protocol_tests {
    use super::*;
    use crate::checks::fixtures::{https_target, judge, try_judge};
    use crate::model::Outcome;
    use crate::observations::tls::{
        CertificateInfo, LegacyProbe, LegacyVersion, TlsHandshake, TlsObservation, Verification,
    };

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn cert(subject: &str, issuer: &str, not_after: i64) -> CertificateInfo {
        CertificateInfo {
            subject: format!("CN={subject}"),
            issuer: format!("CN={issuer}"),
            sans: vec![subject.to_string()],
            not_before: NOW - 30 * DAY,
            not_after,
            key_type: "EC".to_string(),
            key_bits: 256,
            self_signed: subject == issuer,
        }
    }

    fn refused(version: LegacyVersion) -> (LegacyVersion, Probed<LegacyProbe>) {
        (
            version,
            Probed::Observed(LegacyProbe {
                version,
                accepted: false,
                answer: "fatal alert protocol_version (70)".to_string(),
            }),
        )
    }

    fn accepted(version: LegacyVersion) -> (LegacyVersion, Probed<LegacyProbe>) {
        (
            version,
            Probed::Observed(LegacyProbe {
                version,
                accepted: true,
                answer: format!("ServerHello {}, cipher 0xc014", version.name()),
            }),
        )
    }

    fn handshake(days_left: i64, error: Option<&str>) -> TlsHandshake {
        TlsHandshake {
            server_name: "app.example.com".to_string(),
            port: 443,
            version: "TLS 1.3".to_string(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".to_string(),
            alpn: Some("h2".to_string()),
            chain: vec![
                cert("app.example.com", "Example CA", NOW + days_left * DAY + 60),
                cert("Example CA", "Example CA", NOW + 900 * DAY),
            ],
            verification: Verification {
                trusted: error.is_none(),
                error: error.map(str::to_string),
            },
            observed_at_unix: NOW,
        }
    }

    fn obs(
        handshake: TlsHandshake,
        legacy: Vec<(LegacyVersion, Probed<LegacyProbe>)>,
    ) -> Observations {
        Observations {
            target: https_target(),
            tls: Probed::Observed(TlsObservation {
                handshake: Probed::Observed(handshake),
                legacy,
            }),
            ..Observations::default()
        }
    }

    fn modern(handshake: TlsHandshake) -> Observations {
        obs(
            handshake,
            vec![refused(LegacyVersion::Tls10), refused(LegacyVersion::Tls11)],
        )
    }

    #[test]
    fn certificate_trusted_with_time_left_passes() {
        let j = judge(&CERTIFICATE, &modern(handshake(200, None)));
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert_eq!(j.severity, None);
        assert!(j.summary.contains("200 days left"), "{}", j.summary);
        assert_eq!(j.evidence[0], "Subject: CN=app.example.com");
        assert_eq!(j.evidence[1], "Issuer: CN=Example CA");
        assert_eq!(j.evidence[2], "SANs: app.example.com");
        assert!(
            j.evidence[3].starts_with("notAfter: 2027-"),
            "{:?}",
            j.evidence
        );
        assert!(j.evidence[3].ends_with("(200 days left)"));
        assert!(
            j.evidence
                .contains(&"Verifier: chain trusted for app.example.com".to_string())
        );
    }

    #[test]
    fn certificate_expiring_within_30_days_warns() {
        let j = judge(&CERTIFICATE, &modern(handshake(20, None)));
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("expires in 20 days"), "{}", j.summary);
    }

    #[test]
    fn certificate_expiring_within_14_days_fails_high() {
        let j = judge(&CERTIFICATE, &modern(handshake(10, None)));
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, Some(Severity::High));
        assert!(j.summary.contains("expires in 10 days"), "{}", j.summary);
    }

    #[test]
    fn certificate_expired_fails_critical() {
        let err = "invalid peer certificate: certificate expired: verification time 1800000000 \
                   (UNIX), but certificate is not valid after 1799000000 (1000000 seconds ago)";
        let j = judge(&CERTIFICATE, &modern(handshake(-12, Some(err))));
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, Some(Severity::Critical));
        assert!(j.summary.contains("has expired"), "{}", j.summary);
        assert!(
            j.evidence.iter().any(|e| e.contains("(-12 days left)")),
            "{:?}",
            j.evidence
        );
        assert!(
            j.evidence
                .iter()
                .any(|e| e.starts_with("Verifier: invalid peer certificate: certificate expired"))
        );
    }

    #[test]
    fn certificate_past_not_after_fails_critical_even_if_trusted() {
        let j = judge(&CERTIFICATE, &modern(handshake(-1, None)));
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, Some(Severity::Critical));
        assert!(j.summary.contains("expired 1 days ago"), "{}", j.summary);
    }

    #[test]
    fn certificate_hostname_mismatch_fails_critical() {
        let err = "invalid peer certificate: certificate not valid for name \"app.example.com\"; \
                   certificate is only valid for DnsName(\"other.example.com\")";
        let j = judge(&CERTIFICATE, &modern(handshake(200, Some(err))));
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, Some(Severity::Critical));
        assert!(
            j.summary.contains("does not match the host name"),
            "{}",
            j.summary
        );
    }

    #[test]
    fn certificate_untrusted_self_signed_fails_critical() {
        let mut hs = handshake(200, Some("invalid peer certificate: UnknownIssuer"));
        hs.chain = vec![cert("app.example.com", "app.example.com", NOW + 200 * DAY)];
        let j = judge(&CERTIFICATE, &modern(hs));
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.severity, Some(Severity::Critical));
        assert!(
            j.summary
                .contains("not issued by a trusted CA (it is self-signed)"),
            "{}",
            j.summary
        );
        assert!(
            j.evidence
                .iter()
                .any(|e| e == "Key: EC 256 bits, self-signed")
        );
    }

    #[test]
    fn certificate_intermediate_expiring_first_counts() {
        let mut hs = handshake(200, None);
        hs.chain[1].not_after = NOW + 5 * DAY + 60;
        let j = judge(&CERTIFICATE, &modern(hs));
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.evidence
                .iter()
                .any(|e| e.starts_with("Earliest notAfter in the chain")
                    && e.contains("(5 days left) for CN=Example CA")),
            "{:?}",
            j.evidence
        );
    }

    #[test]
    fn certificate_probe_failure_is_an_error_and_http_is_skipped() {
        let reason = "TLS 127.0.0.1:443: TLS handshake failed: received corrupt message";
        let failed = Observations {
            target: https_target(),
            tls: Probed::Failed(reason.to_string()),
            ..Observations::default()
        };
        assert_eq!(
            try_judge(&CERTIFICATE, &failed),
            Err(Unobserved::Failed(reason.to_string()))
        );
        assert_eq!(
            try_judge(&PROTOCOLS, &failed),
            Err(Unobserved::Failed(reason.to_string()))
        );
        let why = "the target is addressed over plain http";
        let skipped = Observations {
            tls: Probed::Skipped(why.to_string()),
            ..Observations::default()
        };
        assert_eq!(
            try_judge(&CERTIFICATE, &skipped),
            Err(Unobserved::Skipped(why.to_string()))
        );
        assert_eq!(
            try_judge(&PROTOCOLS, &skipped),
            Err(Unobserved::Skipped(why.to_string()))
        );
    }

    #[test]
    fn protocols_modern_only_passes() {
        let j = judge(&PROTOCOLS, &modern(handshake(200, None)));
        assert_eq!(j.outcome, Outcome::Pass, "{}", j.summary);
        assert_eq!(
            j.evidence,
            vec![
                "TLS 1.0: refused (fatal alert protocol_version (70))",
                "TLS 1.1: refused (fatal alert protocol_version (70))",
                "TLS 1.2/1.3 client: negotiated TLS 1.3, TLS13_AES_256_GCM_SHA384, ALPN h2",
            ]
        );
    }

    #[test]
    fn protocols_tls10_accepted_fails() {
        let o = obs(
            handshake(200, None),
            vec![
                accepted(LegacyVersion::Tls10),
                refused(LegacyVersion::Tls11),
            ],
        );
        let j = judge(&PROTOCOLS, &o);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("accepts TLS 1.0:"), "{}", j.summary);
        assert_eq!(
            j.evidence[0],
            "TLS 1.0: accepted (ServerHello TLS 1.0, cipher 0xc014)"
        );
    }

    #[test]
    fn protocols_tls11_accepted_fails_even_if_another_probe_failed() {
        let o = obs(
            handshake(200, None),
            vec![
                (
                    LegacyVersion::Tls10,
                    Probed::Failed("no answer within 1s".to_string()),
                ),
                accepted(LegacyVersion::Tls11),
            ],
        );
        let j = judge(&PROTOCOLS, &o);
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("accepts TLS 1.1"), "{}", j.summary);
    }

    #[test]
    fn protocols_legacy_only_server_fails_and_certificate_is_an_error() {
        let reason =
            "TLS 127.0.0.1:443: TLS handshake failed: received fatal alert: ProtocolVersion";
        let o = Observations {
            target: https_target(),
            tls: Probed::Observed(TlsObservation {
                handshake: Probed::Failed(reason.to_string()),
                legacy: vec![
                    accepted(LegacyVersion::Tls10),
                    refused(LegacyVersion::Tls11),
                ],
            }),
            ..Observations::default()
        };
        let j = judge(&PROTOCOLS, &o);
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(
            j.evidence[2],
            format!("TLS 1.2/1.3 client: handshake failed: {reason}")
        );
        assert_eq!(
            try_judge(&CERTIFICATE, &o),
            Err(Unobserved::Failed(reason.to_string()))
        );
    }

    #[test]
    fn protocols_without_tls13_warns() {
        let mut hs = handshake(200, None);
        hs.version = "TLS 1.2".to_string();
        hs.cipher_suite = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string();
        let j = judge(&PROTOCOLS, &modern(hs));
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("negotiated TLS 1.2"), "{}", j.summary);
    }

    #[test]
    fn protocols_failed_legacy_probe_is_an_error() {
        let reason =
            "TLS app.example.com:443 (TLS 1.0 ClientHello): not a TLS record: first bytes 48 54";
        let o = obs(
            handshake(200, None),
            vec![
                (LegacyVersion::Tls10, Probed::Failed(reason.to_string())),
                refused(LegacyVersion::Tls11),
            ],
        );
        assert_eq!(
            try_judge(&PROTOCOLS, &o),
            Err(Unobserved::Failed(reason.to_string()))
        );
    }
}

#[cfg(test)]
mod tests;
