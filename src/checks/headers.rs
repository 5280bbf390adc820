//! Security-header judges over the root response (`GET /`, redirects followed).
//!
//! Each judge reads one family of headers the way a browser does — the first HSTS header wins,
//! several CSP headers are all enforced, the last valid Referrer-Policy token counts — because a
//! header a browser ignores protects nobody. Values come from the target and may be hostile
//! (duplicated, huge, odd case, invalid): nothing here panics on them, and evidence lines are
//! clipped and kept on one line.
//!
//! This file also holds the small evidence helpers (`clip`, `header_line`) the other HTTP
//! judges share.

use super::evidence::{EVIDENCE_MAX, clip, header_line};
use super::{CheckMeta, Judgement};
use crate::config::JudgeConfig;
use crate::model::{Category, Severity};
use crate::observations::http::HttpExchange;
use crate::observations::{Observations, Unobserved};

/// Every value of a header, split on commas into trimmed, lowercase items (the "get, decode and
/// split" of the Fetch standard), empty items dropped.
fn list_items(ex: &HttpExchange, name: &str) -> Vec<String> {
    ex.headers_named(name)
        .iter()
        .flat_map(|v| v.split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect()
}

const OWASP_HEADERS: &str =
    "OWASP Secure Headers Project: https://owasp.org/www-project-secure-headers/";

// ---------------------------------------------------------------------------------------------
// headers.hsts

/// One year, the max-age a pass needs (and HSTS preload lists require).
const HSTS_PASS_SECS: u64 = 31_536_000;
/// Six months, the least max-age that only warns.
const HSTS_WARN_SECS: u64 = 15_552_000;

/// `headers.hsts`: Strict-Transport-Security on the HTTPS response.
pub const HSTS: CheckMeta = CheckMeta {
    id: "headers.hsts",
    title: "HTTP Strict Transport Security",
    problem: "HSTS is missing, too short or invalid",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "Strict-Transport-Security on the https response — pass: max-age ≥ 31536000 \
           (+includeSubDomains noted); warn: ≥ 15552000; fail: missing/shorter/invalid, or the \
           target offers no HTTPS at all (as the MDN Observatory grades it)",
    remediation: "Serve the site over HTTPS and send `Strict-Transport-Security: max-age=31536000; \
                  includeSubDomains` once on every HTTPS response (add `preload` and submit to \
                  hstspreload.org once every subdomain serves HTTPS).",
    references: &[
        "RFC 6797: HTTP Strict Transport Security",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Strict-Transport-Security",
        OWASP_HEADERS,
        "https://hstspreload.org/",
    ],
    judge: hsts,
};

/// A parsed Strict-Transport-Security value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HstsPolicy {
    max_age: u64,
    include_subdomains: bool,
    preload: bool,
}

/// Parses one Strict-Transport-Security value per RFC 6797 §6.1: `;`-separated directives,
/// names case-insensitive, each at most once, `max-age` required (digits, optionally quoted),
/// unknown directives ignored. The error says why a browser would ignore the header.
fn parse_hsts(value: &str) -> Result<HstsPolicy, String> {
    let mut seen: Vec<String> = Vec::new();
    let mut policy = HstsPolicy {
        max_age: 0,
        include_subdomains: false,
        preload: false,
    };
    let mut max_age_seen = false;
    for directive in value.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let (name, arg) = match directive.split_once('=') {
            Some((name, arg)) => (name.trim(), Some(arg.trim())),
            None => (directive, None),
        };
        let lname = name.to_ascii_lowercase();
        if seen.contains(&lname) {
            return Err(format!("the {} directive appears twice", clip(name, 40)));
        }
        seen.push(lname.clone());
        match lname.as_str() {
            "max-age" => {
                let raw = arg.unwrap_or_default();
                let raw = raw
                    .strip_prefix('"')
                    .and_then(|r| r.strip_suffix('"'))
                    .unwrap_or(raw);
                if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "max-age {:?} is not a number of seconds",
                        clip(raw, 40)
                    ));
                }
                // Digits only: the sole parse error left is overflow, which means "very long".
                policy.max_age = raw.parse().unwrap_or(u64::MAX);
                max_age_seen = true;
            }
            "includesubdomains" => policy.include_subdomains = true,
            "preload" => policy.preload = true,
            _ => {}
        }
    }
    if max_age_seen {
        Ok(policy)
    } else {
        Err("it has no max-age directive".to_string())
    }
}

/// A max-age in words: `365 days`, `5 minutes`.
fn human_secs(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s if s >= 3_600 => format!("{} hours", s / 3_600),
        s if s >= 60 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

/// Judges `headers.hsts`: see [`HSTS`] for the rule.
pub fn hsts(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let reached_https = obs.target.is_https() || root.final_url.starts_with("https://");
    if !reached_https {
        return Ok(Judgement::fail(
            "The target offers no HTTPS at all, so Strict-Transport-Security cannot protect it.",
        )
        .evidence(format!(
            "target {} is addressed over plain HTTP",
            clip(&obs.target.url, EVIDENCE_MAX)
        ))
        .evidence(clip(&root.request_line(), EVIDENCE_MAX))
        .remediation(
            "Serve the site over HTTPS (redirect http:// to https://), then send \
             `Strict-Transport-Security: max-age=31536000; includeSubDomains`.",
        ));
    }
    let values = root.headers_named("strict-transport-security");
    let evidence = header_line(root, "Strict-Transport-Security");
    let Some(first) = values.first() else {
        return Ok(Judgement::fail(
            "No Strict-Transport-Security header: browsers will still try plain HTTP first, \
             where the connection can be intercepted.",
        )
        .evidence(evidence));
    };
    let duplicates = if values.len() > 1 {
        format!(
            " ({} Strict-Transport-Security headers were sent; browsers use only the first)",
            values.len()
        )
    } else {
        String::new()
    };
    let judgement = match parse_hsts(first) {
        Err(why) => Judgement::fail(format!(
            "The Strict-Transport-Security header is invalid ({why}), so browsers ignore it{duplicates}."
        )),
        Ok(p) if p.max_age == 0 => Judgement::fail(format!(
            "Strict-Transport-Security has max-age=0, which tells browsers to forget HSTS for this \
             host{duplicates}."
        )),
        Ok(p) if p.max_age >= HSTS_PASS_SECS => Judgement::pass(format!(
            "HSTS is set for {} (max-age={}){}{duplicates}.",
            human_secs(p.max_age),
            p.max_age,
            hsts_flags(p)
        )),
        Ok(p) if p.max_age >= HSTS_WARN_SECS => Judgement::warn(format!(
            "HSTS max-age={} ({}) is below the recommended one year{}{duplicates}.",
            p.max_age,
            human_secs(p.max_age),
            hsts_flags(p)
        )),
        Ok(p) => Judgement::fail(format!(
            "HSTS max-age={} ({}) is shorter than six months, too short to protect returning \
             visitors{duplicates}.",
            p.max_age,
            human_secs(p.max_age)
        )),
    };
    Ok(judgement.evidence(evidence))
}

/// `, includeSubDomains, preload` notes for a summary.
fn hsts_flags(p: HstsPolicy) -> String {
    let mut notes = Vec::new();
    notes.push(if p.include_subdomains {
        "with includeSubDomains"
    } else {
        "without includeSubDomains"
    });
    if p.preload {
        notes.push(if p.include_subdomains {
            "preload requested"
        } else {
            "preload requested but not eligible without includeSubDomains"
        });
    }
    format!(", {}", notes.join(", "))
}

// ---------------------------------------------------------------------------------------------
// headers.content_type_options

/// `headers.content_type_options`: `X-Content-Type-Options: nosniff`.
pub const CONTENT_TYPE_OPTIONS: CheckMeta = CheckMeta {
    id: "headers.content_type_options",
    title: "X-Content-Type-Options",
    problem: "X-Content-Type-Options: nosniff is missing",
    category: Category::Security,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "X-Content-Type-Options — fail: not `nosniff`",
    remediation: "Send `X-Content-Type-Options: nosniff` on every response.",
    references: &[
        "https://fetch.spec.whatwg.org/#x-content-type-options-header",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Content-Type-Options",
        OWASP_HEADERS,
    ],
    judge: content_type_options,
};

/// Judges `headers.content_type_options`: the first item of the combined header value must be
/// `nosniff` (case-insensitive), as the Fetch standard reads it.
pub fn content_type_options(
    obs: &Observations,
    _cfg: &JudgeConfig,
) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let evidence = header_line(root, "X-Content-Type-Options");
    let values = root.headers_named("x-content-type-options");
    let first = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .next();
    let judgement = match first {
        None => Judgement::fail(
            "No X-Content-Type-Options header: browsers may sniff responses into executable types.",
        ),
        Some(v) if v.eq_ignore_ascii_case("nosniff") => {
            Judgement::pass("X-Content-Type-Options is nosniff.")
        }
        Some(v) => Judgement::fail(format!(
            "X-Content-Type-Options is {:?}, not nosniff, so browsers ignore it and still sniff.",
            clip(v, 60)
        )),
    };
    Ok(judgement.evidence(evidence))
}

// ---------------------------------------------------------------------------------------------
// headers.frame_options

/// `headers.frame_options`: framing restricted by X-Frame-Options or CSP frame-ancestors.
pub const FRAME_OPTIONS: CheckMeta = CheckMeta {
    id: "headers.frame_options",
    title: "Clickjacking protection (X-Frame-Options / frame-ancestors)",
    problem: "Any site can frame the page (clickjacking)",
    category: Category::Security,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "X-Frame-Options or CSP frame-ancestors — fail: neither",
    remediation: "Send `Content-Security-Policy: frame-ancestors 'none'` (or `'self'`), and \
                  `X-Frame-Options: DENY` (or `SAMEORIGIN`) for older browsers; ALLOW-FROM is \
                  obsolete — list allowed embedders in frame-ancestors instead.",
    references: &[
        "RFC 7034: HTTP Header Field X-Frame-Options",
        "https://www.w3.org/TR/CSP3/#directive-frame-ancestors",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-Frame-Options",
        "https://cheatsheetseries.owasp.org/cheatsheets/Clickjacking_Defense_Cheat_Sheet.html",
    ],
    judge: frame_options,
};

/// How browsers read X-Frame-Options (HTML standard, "check a navigation response's adherence
/// to X-Frame-Options"): `Ok(summary)` when framing is blocked, `Err(summary)` when it is not.
fn xfo_verdict(items: &[String]) -> Result<String, String> {
    let mut set: Vec<&str> = Vec::new();
    for item in items {
        if !set.contains(&item.as_str()) {
            set.push(item);
        }
    }
    let blocking = |s: &&str| matches!(*s, "deny" | "sameorigin" | "allowall");
    match set.as_slice() {
        [] => Err("no X-Frame-Options header".to_string()),
        ["deny"] => Ok("X-Frame-Options is DENY".to_string()),
        ["sameorigin"] => Ok("X-Frame-Options is SAMEORIGIN".to_string()),
        [one] if one.starts_with("allow-from") => {
            Err("X-Frame-Options ALLOW-FROM is obsolete and ignored by browsers".to_string())
        }
        many if many.len() > 1 && many.iter().any(blocking) => {
            Ok("X-Frame-Options has conflicting values, which browsers treat as DENY".to_string())
        }
        _ => Err("X-Frame-Options has no value browsers act on".to_string()),
    }
}

/// Judges `headers.frame_options`: see [`FRAME_OPTIONS`] for the rule. CSP frame-ancestors,
/// when present, overrides X-Frame-Options in browsers.
pub fn frame_options(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let policies = parse_policies(&root.headers_named("content-security-policy"));
    // Every enforced policy applies: framing is open only if every frame-ancestors allows it.
    let ancestors: Vec<&Directive> = policies
        .iter()
        .filter_map(|p| p.get("frame-ancestors"))
        .collect();
    let mut evidence = vec![header_line(root, "X-Frame-Options")];
    if let Some(first) = ancestors.first() {
        let shown: Vec<String> = ancestors.iter().map(|d| d.sources.join(" ")).collect();
        evidence.push(clip(
            &format!(
                "{}, Content-Security-Policy frame-ancestors {}",
                root.request_line(),
                shown.join(" | ")
            ),
            EVIDENCE_MAX,
        ));
        let open = ancestors.iter().all(|d| {
            d.sources
                .iter()
                .any(|s| matches!(s.as_str(), "*" | "https:" | "http:"))
        });
        let judgement = if open {
            Judgement::fail(format!(
                "CSP frame-ancestors {} lets any site frame the page (and overrides \
                 X-Frame-Options), so clickjacking is possible.",
                clip(&first.sources.join(" "), 80)
            ))
        } else {
            Judgement::pass(format!(
                "Framing is restricted by CSP frame-ancestors {}.",
                clip(&shown.join(" | "), 80)
            ))
        };
        return Ok(judgement.evidence_all(evidence));
    }
    let judgement = match xfo_verdict(&list_items(root, "x-frame-options")) {
        Ok(why) => Judgement::pass(format!("Framing is restricted: {why}.")),
        Err(why) => Judgement::fail(format!(
            "Any site can frame this page (clickjacking): {why} and no CSP frame-ancestors."
        )),
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// headers.referrer_policy

/// `headers.referrer_policy`: a Referrer-Policy that does not leak full URLs.
pub const REFERRER_POLICY: CheckMeta = CheckMeta {
    id: "headers.referrer_policy",
    title: "Referrer-Policy",
    problem: "Referrer-Policy is missing or leaks full URLs",
    category: Category::Security,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "Referrer-Policy — warn: missing or unsafe-url/no-referrer-when-downgrade",
    remediation: "Send `Referrer-Policy: strict-origin-when-cross-origin` (or `no-referrer` for \
                  pages whose URLs carry anything private).",
    references: &[
        "https://www.w3.org/TR/referrer-policy/",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Referrer-Policy",
        OWASP_HEADERS,
    ],
    judge: referrer_policy,
};

/// The policy tokens browsers recognise.
const REFERRER_TOKENS: &[&str] = &[
    "no-referrer",
    "no-referrer-when-downgrade",
    "same-origin",
    "origin",
    "strict-origin",
    "origin-when-cross-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
];

/// Judges `headers.referrer_policy`: the last recognised token of the combined value counts.
pub fn referrer_policy(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let evidence = header_line(root, "Referrer-Policy");
    let items = list_items(root, "referrer-policy");
    let effective = items
        .iter()
        .rev()
        .find(|t| REFERRER_TOKENS.contains(&t.as_str()));
    let judgement = match effective {
        None if items.is_empty() => Judgement::warn(
            "No Referrer-Policy header: current browsers default to \
             strict-origin-when-cross-origin, older ones send full URLs to other sites.",
        ),
        None => {
            Judgement::warn("Referrer-Policy holds no value browsers recognise, so they ignore it.")
        }
        Some(p) if p == "unsafe-url" || p == "no-referrer-when-downgrade" => {
            Judgement::warn(format!(
                "Referrer-Policy is {p}: full URLs (paths and query strings) are sent to other sites."
            ))
        }
        Some(p) => Judgement::pass(format!("Referrer-Policy is {p}.")),
    };
    Ok(judgement.evidence(evidence))
}

// ---------------------------------------------------------------------------------------------
// headers.permissions_policy

/// `headers.permissions_policy`: a Permissions-Policy is sent.
pub const PERMISSIONS_POLICY: CheckMeta = CheckMeta {
    id: "headers.permissions_policy",
    title: "Permissions-Policy",
    problem: "Permissions-Policy is missing",
    category: Category::Security,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "Permissions-Policy — warn: missing",
    remediation: "Send a Permissions-Policy that turns off the features the site does not use, \
                  e.g. `Permissions-Policy: camera=(), microphone=(), geolocation=(), payment=(), \
                  usb=()`.",
    references: &[
        "https://www.w3.org/TR/permissions-policy/",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Permissions-Policy",
        OWASP_HEADERS,
    ],
    judge: permissions_policy,
};

/// Judges `headers.permissions_policy`: see [`PERMISSIONS_POLICY`] for the rule.
pub fn permissions_policy(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let evidence = header_line(root, "Permissions-Policy");
    let features = list_items(root, "permissions-policy").len();
    let judgement = if features > 0 {
        Judgement::pass(format!(
            "Permissions-Policy is set ({features} feature{}).",
            if features == 1 { "" } else { "s" }
        ))
    } else if root.has_header("permissions-policy") {
        Judgement::warn("The Permissions-Policy header is empty, so it restricts nothing.")
    } else if root.has_header("feature-policy") {
        Judgement::warn(
            "Only the deprecated Feature-Policy header is sent; browsers now read \
             Permissions-Policy.",
        )
    } else {
        Judgement::warn(
            "No Permissions-Policy header: embedded content may ask for camera, microphone or \
             location.",
        )
    };
    Ok(judgement.evidence(evidence))
}

// ---------------------------------------------------------------------------------------------
// headers.cross_origin

/// `headers.cross_origin`: Cross-Origin-Opener-Policy and Cross-Origin-Resource-Policy.
pub const CROSS_ORIGIN: CheckMeta = CheckMeta {
    id: "headers.cross_origin",
    title: "Cross-origin isolation headers (COOP/CORP)",
    problem: "Cross-origin isolation headers (COOP/CORP) are missing",
    category: Category::Security,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "COOP/CORP — info/warn",
    remediation: "Send `Cross-Origin-Opener-Policy: same-origin` and \
                  `Cross-Origin-Resource-Policy: same-origin` (or `same-site`; `cross-origin` only \
                  for resources meant to be embedded elsewhere).",
    references: &[
        "https://html.spec.whatwg.org/multipage/browsers.html#cross-origin-opener-policies",
        "https://fetch.spec.whatwg.org/#cross-origin-resource-policy-header",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Cross-Origin-Opener-Policy",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Cross-Origin-Resource-Policy",
        OWASP_HEADERS,
    ],
    judge: cross_origin,
};

const COOP_VALUES: &[&str] = &[
    "same-origin",
    "same-origin-allow-popups",
    "noopener-allow-popups",
    "unsafe-none",
];
const CORP_VALUES: &[&str] = &["same-origin", "same-site", "cross-origin"];

/// The first header's value before any `;` parameters, lowercase, when it is a valid token.
/// `Err` holds an invalid value for the summary.
fn policy_token(ex: &HttpExchange, name: &str, valid: &[&str]) -> Result<Option<String>, String> {
    let Some(value) = ex.header(name) else {
        return Ok(None);
    };
    let token = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if valid.contains(&token.as_str()) {
        Ok(Some(token))
    } else {
        Err(clip(value, 40))
    }
}

/// Judges `headers.cross_origin`: pass when both are set to valid values, warn (0.75) when one
/// is missing or invalid, warn when both are.
pub fn cross_origin(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let evidence = [
        header_line(root, "Cross-Origin-Opener-Policy"),
        header_line(root, "Cross-Origin-Resource-Policy"),
    ];
    let coop = policy_token(root, "cross-origin-opener-policy", COOP_VALUES);
    let corp = policy_token(root, "cross-origin-resource-policy", CORP_VALUES);
    let describe = |name: &str, r: &Result<Option<String>, String>| match r {
        Ok(Some(v)) => format!("{name} {v}"),
        Ok(None) => format!("no {name}"),
        Err(v) => format!("{name} {v:?} (invalid, ignored)"),
    };
    let both = format!(
        "{}, {}",
        describe("Cross-Origin-Opener-Policy", &coop),
        describe("Cross-Origin-Resource-Policy", &corp)
    );
    let judgement = match (&coop, &corp) {
        (Ok(Some(_)), Ok(Some(_))) => {
            Judgement::pass(format!("Cross-origin isolation headers are set: {both}."))
        }
        (Ok(Some(_)), _) | (_, Ok(Some(_))) => Judgement::warn(format!(
            "Only one cross-origin isolation header is in effect: {both}."
        ))
        .score(0.75),
        _ => Judgement::warn(format!(
            "Neither cross-origin isolation header is in effect ({both}): other sites can keep a \
             handle on this window and embed its resources."
        )),
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// headers.disclosure

/// `headers.disclosure`: no software versions or frameworks in response headers.
pub const DISCLOSURE: CheckMeta = CheckMeta {
    id: "headers.disclosure",
    title: "Software disclosure in headers",
    problem: "Headers disclose the software stack",
    category: Category::Security,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "Server with a version, X-Powered-By, X-AspNet-Version, X-Generator … — warn",
    remediation: "Drop version details from `Server` (nginx: `server_tokens off;`, Apache: \
                  `ServerTokens Prod`) and remove X-Powered-By, X-AspNet-Version, \
                  X-AspNetMvc-Version, X-Generator, X-Runtime and X-Version (Express: \
                  `app.disable('x-powered-by')`; ASP.NET: `enableVersionHeader=\"false\"`).",
    references: &[
        "https://owasp.org/www-project-web-security-testing-guide/latest/4-Web_Application_Security_Testing/01-Information_Gathering/02-Fingerprint_Web_Server",
        OWASP_HEADERS,
        "CWE-200: Exposure of Sensitive Information",
    ],
    judge: disclosure,
};

/// Headers whose mere presence discloses the stack.
const DISCLOSING_HEADERS: &[&str] = &[
    "X-Powered-By",
    "X-AspNet-Version",
    "X-AspNetMvc-Version",
    "X-Generator",
    "X-Runtime",
    "X-Version",
];

/// True when a Server value carries a version: a digit right after `/` (`nginx/1.18.0`) or a
/// dotted number (`Jetty(9.4.z)`).
fn has_version(server: &str) -> bool {
    let b = server.as_bytes();
    b.windows(2).any(|w| w[0] == b'/' && w[1].is_ascii_digit())
        || b.windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
}

/// Judges `headers.disclosure`: see [`DISCLOSURE`] for the rule.
pub fn disclosure(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let mut named: Vec<&str> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    if root.headers_named("server").iter().any(|s| has_version(s)) {
        named.push("Server (with a version)");
    }
    evidence.push(header_line(root, "Server"));
    for name in DISCLOSING_HEADERS {
        if root.has_header(name) {
            named.push(name);
            evidence.push(header_line(root, name));
        }
    }
    let judgement = if named.is_empty() {
        Judgement::pass("Response headers disclose no software versions or frameworks.")
    } else {
        Judgement::warn(format!(
            "Response headers disclose the software stack: {}.",
            named.join(", ")
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

// ---------------------------------------------------------------------------------------------
// headers.deprecated

/// `headers.deprecated`: no deprecated security headers.
pub const DEPRECATED: CheckMeta = CheckMeta {
    id: "headers.deprecated",
    title: "Deprecated security headers",
    problem: "Deprecated security headers are sent",
    category: Category::Security,
    severity: Severity::Low,
    active: false,
    weight: 1.0,
    rule: "X-XSS-Protection (non-zero), Expect-CT, Public-Key-Pins, Feature-Policy — warn",
    remediation: "Remove X-XSS-Protection (or send `X-XSS-Protection: 0`; rely on \
                  Content-Security-Policy instead), Expect-CT and Public-Key-Pins(-Report-Only); \
                  replace Feature-Policy with Permissions-Policy.",
    references: &[
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/X-XSS-Protection",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Expect-CT",
        "RFC 7469: Public Key Pinning Extension for HTTP (obsolete)",
        OWASP_HEADERS,
    ],
    judge: deprecated,
};

/// Deprecated headers that warn whatever their value.
const DEPRECATED_HEADERS: &[&str] = &[
    "Expect-CT",
    "Public-Key-Pins",
    "Public-Key-Pins-Report-Only",
    "Feature-Policy",
];

/// Judges `headers.deprecated`: see [`DEPRECATED`] for the rule.
pub fn deprecated(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let mut named: Vec<&str> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    let xss_on = root
        .headers_named("x-xss-protection")
        .iter()
        .any(|v| v.split(';').next().unwrap_or_default().trim() != "0");
    if xss_on {
        named.push("X-XSS-Protection (enabled)");
        evidence.push(header_line(root, "X-XSS-Protection"));
    }
    for name in DEPRECATED_HEADERS {
        if root.has_header(name) {
            named.push(name);
            evidence.push(header_line(root, name));
        }
    }
    let judgement = if named.is_empty() {
        Judgement::pass("No deprecated security headers are sent.")
            .evidence(header_line(root, "X-XSS-Protection"))
    } else {
        Judgement::warn(format!(
            "Deprecated security headers are sent: {}; browsers ignore them or, for the XSS \
             auditor, they can open cross-site leaks.",
            named.join(", ")
        ))
    };
    Ok(judgement.evidence_all(evidence))
}

mod csp;
pub use csp::*;

#[cfg(test)]
mod tests;
