//! headers.csp: a Content-Security-Policy that actually restricts script.

use super::*;

// ---------------------------------------------------------------------------------------------
// headers.csp

/// `headers.csp`: an enforced Content-Security-Policy that restricts scripts.
pub const CSP: CheckMeta = CheckMeta {
    id: "headers.csp",
    title: "Content Security Policy",
    problem: "The Content-Security-Policy is missing or lets injected scripts run",
    category: Category::Security,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "Content-Security-Policy (parsed) — fail: missing or report-only; fail: \
           'unsafe-inline' in script-src (or default-src when script-src is absent) without a \
           nonce, hash or 'strict-dynamic'; warn: unsafe-eval/wildcard/http: sources in \
           script-src; pass otherwise; bonus noted for default-src 'none', frame-ancestors, \
           object-src 'none'",
    remediation: "Send an enforced `Content-Security-Policy` that restricts scripts without \
                  'unsafe-inline' or 'unsafe-eval', e.g. `Content-Security-Policy: default-src \
                  'self'; script-src 'self' 'nonce-{random}' 'strict-dynamic'; object-src 'none'; \
                  base-uri 'none'; frame-ancestors 'none'` (start with the same value in \
                  Content-Security-Policy-Report-Only to find breakage, then enforce it).",
    references: &[
        "https://www.w3.org/TR/CSP3/",
        "https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP",
        "https://cheatsheetseries.owasp.org/cheatsheets/Content_Security_Policy_Cheat_Sheet.html",
        "https://csp.withgoogle.com/docs/strict-csp.html",
        OWASP_HEADERS,
    ],
    judge: csp,
};

/// One directive of a policy: lowercase name and lowercase source expressions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Directive {
    pub(super) name: String,
    pub(super) sources: Vec<String>,
}

/// One parsed policy (a header value may hold several, separated by commas).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Policy {
    directives: Vec<Directive>,
}

impl Policy {
    /// The directive with this (lowercase) name.
    pub(super) fn get(&self, name: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.name == name)
    }

    /// The directive that governs scripts: script-src, else default-src.
    fn script_directive(&self) -> Option<&Directive> {
        self.get("script-src").or_else(|| self.get("default-src"))
    }

    /// True when the directive is present and is exactly `'none'`.
    fn is_none(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|d| d.sources.len() == 1 && d.sources[0] == "'none'")
    }
}

/// Parses policies per CSP3 §2.2: a value is a comma-separated list of policies, a policy a
/// `;`-separated list of directives, the first occurrence of a directive name wins.
pub(super) fn parse_policies(values: &[&str]) -> Vec<Policy> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(parse_policy)
        .filter(|p| !p.directives.is_empty())
        .collect()
}

pub(super) fn parse_policy(text: &str) -> Policy {
    let mut policy = Policy::default();
    for part in text.split(';') {
        let mut tokens = part.split_ascii_whitespace();
        let Some(name) = tokens.next() else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if policy.get(&name).is_some() {
            continue;
        }
        policy.directives.push(Directive {
            name,
            sources: tokens.map(str::to_ascii_lowercase).collect(),
        });
    }
    policy
}

/// What weakens one script directive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ScriptRisk {
    unsafe_inline: bool,
    unsafe_eval: bool,
    permissive: Vec<String>,
}

/// The weaknesses of a script directive's sources: 'unsafe-inline' without a nonce, hash or
/// 'strict-dynamic' (browsers ignore it when one is present), 'unsafe-eval', and sources that allow any host or
/// plain HTTP (`*`, `http:`, `https:`, `data:`, `http://…`) unless 'strict-dynamic' with a nonce
/// or hash makes browsers ignore them.
pub(super) fn script_risk(sources: &[String]) -> ScriptRisk {
    let has = |s: &str| sources.iter().any(|x| x == s);
    let nonce_or_hash = sources.iter().any(|s| {
        ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
            .iter()
            .any(|p| s.starts_with(p))
    });
    let strict_dynamic = nonce_or_hash && has("'strict-dynamic'");
    let permissive = if strict_dynamic {
        Vec::new()
    } else {
        sources
            .iter()
            .filter(|s| {
                matches!(s.as_str(), "*" | "http:" | "https:" | "data:") || s.starts_with("http://")
            })
            .map(|s| clip(s, 60))
            .collect()
    };
    ScriptRisk {
        unsafe_inline: has("'unsafe-inline'") && !nonce_or_hash && !has("'strict-dynamic'"),
        unsafe_eval: has("'unsafe-eval'"),
        permissive,
    }
}

/// The weaknesses that hold in every script-restricting policy (a script runs only if every
/// enforced policy allows it), as words for a summary.
pub(super) fn effective_weaknesses(restricting: &[(&Policy, &Directive)]) -> Vec<String> {
    let risks: Vec<ScriptRisk> = restricting
        .iter()
        .map(|(_, d)| script_risk(&d.sources))
        .collect();
    let mut weak = Vec::new();
    if risks.iter().all(|r| r.unsafe_inline) {
        weak.push("'unsafe-inline'".to_string());
    }
    if risks.iter().all(|r| r.unsafe_eval) {
        weak.push("'unsafe-eval'".to_string());
    }
    if risks.iter().all(|r| !r.permissive.is_empty())
        && let Some(first) = risks.first()
    {
        weak.extend(first.permissive.iter().cloned());
    }
    weak
}

/// The bonus features of the policies, for the summary.
pub(super) fn csp_bonuses(policies: &[Policy]) -> Vec<&'static str> {
    let mut bonuses = Vec::new();
    if policies.iter().any(|p| p.is_none("default-src")) {
        bonuses.push("default-src 'none'");
    }
    if policies.iter().any(|p| p.get("frame-ancestors").is_some()) {
        bonuses.push("frame-ancestors");
    }
    if policies.iter().any(|p| {
        p.is_none("object-src") || (p.get("object-src").is_none() && p.is_none("default-src"))
    }) {
        bonuses.push("object-src 'none'");
    }
    bonuses
}

/// ` (the root answered application/json; …)` when the response is not HTML.
pub(super) fn non_html_note(ex: &HttpExchange) -> String {
    match ex.media_type() {
        Some(mt) if mt == "text/html" || mt == "application/xhtml+xml" => String::new(),
        Some(mt) => format!(
            " (the root answered {}, not HTML; CSP matters most on HTML pages)",
            clip(&mt, 60)
        ),
        None => " (the root sent no Content-Type; CSP matters most on HTML pages)".to_string(),
    }
}

/// Judges `headers.csp`: see [`CSP`] for the rule.
pub fn csp(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let root = obs.root_get()?;
    let policies = parse_policies(&root.headers_named("content-security-policy"));
    let note = non_html_note(root);
    let report_only = root.has_header("content-security-policy-report-only");
    let mut evidence = vec![header_line(root, "Content-Security-Policy")];
    if report_only {
        evidence.push(header_line(root, "Content-Security-Policy-Report-Only"));
    }
    if policies.is_empty() {
        let summary = if report_only {
            format!(
                "Only Content-Security-Policy-Report-Only is sent: violations are reported but \
                 nothing is blocked{note}."
            )
        } else {
            format!("No Content-Security-Policy header: nothing limits what scripts may run{note}.")
        };
        return Ok(Judgement::fail(summary).evidence_all(evidence));
    }
    let restricting: Vec<(&Policy, &Directive)> = policies
        .iter()
        .filter_map(|p| p.script_directive().map(|d| (p, d)))
        .collect();
    let bonuses = csp_bonuses(&policies);
    let bonus = if bonuses.is_empty() {
        String::new()
    } else {
        format!("; bonus: {}", bonuses.join(", "))
    };
    if restricting.is_empty() {
        return Ok(Judgement::warn(format!(
            "The Content-Security-Policy has neither script-src nor default-src, so it does not \
             restrict scripts at all{bonus}{note}."
        ))
        .score(0.25)
        .evidence_all(evidence));
    }
    let weak = effective_weaknesses(&restricting);
    let governing = if restricting.iter().any(|(_, d)| d.name == "script-src") {
        "script-src"
    } else {
        "default-src (no script-src)"
    };
    let judgement = if weak.is_empty() {
        Judgement::pass(format!(
            "An enforced Content-Security-Policy restricts scripts through {governing} without \
             unsafe sources{bonus}{note}."
        ))
    } else if weak.iter().any(|w| w == "'unsafe-inline'") {
        // Inline script is what an XSS injects: allowing it leaves the policy without teeth.
        Judgement::fail(format!(
            "The Content-Security-Policy allows {} in {governing} without a nonce, hash or \
             'strict-dynamic', so any injected inline script runs: it gives no XSS \
             protection{bonus}{note}.",
            weak.join(", ")
        ))
    } else {
        Judgement::warn(format!(
            "The Content-Security-Policy allows {} in {governing}, which defeats much of its XSS \
             protection{bonus}{note}.",
            weak.join(", ")
        ))
    };
    Ok(judgement.evidence_all(evidence))
}
