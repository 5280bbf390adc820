//! health.info_leak: health and info bodies keep versions, hosts, connection strings and secrets to themselves.

use super::*;

// ---------------------------------------------------------------------------------------------
// health.info_leak

/// `health.info_leak`: health and info bodies keep versions, hosts, connection strings and
/// secrets to themselves.
pub const INFO_LEAK: CheckMeta = CheckMeta {
    id: "health.info_leak",
    title: "Health and info endpoints keep internals private",
    problem: "Health or info endpoints leak internals",
    category: Category::HealthChecks,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "health/info bodies — warn: versions, hostnames, connection strings; fail: secrets",
    remediation: "Health endpoints are public (load balancers and kubelets call them without \
                  credentials): answer a status and component names, not dependency versions, \
                  internal host names or connection strings, and never a password or token. \
                  Spring Boot: `management.endpoint.health.show-details=when-authorized` and \
                  `management.info.java/os.enabled=false`; ASP.NET: a response writer that omits \
                  `data`/`exception`. Rotate any credential that was exposed.",
    references: &[
        "https://owasp.org/API-Security/editions/2023/en/0xa8-security-misconfiguration/",
        "CWE-200: Exposure of Sensitive Information to an Unauthorized Actor",
        HEALTH_JSON,
        SPRING_HEALTH,
    ],
    judge: info_leak,
};

/// What a health or info body gives away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum LeakKind {
    /// A version of a dependency or runtime (not the service's own build).
    Version,
    /// An internal host name or private address.
    Hostname,
    /// A connection string (credentials masked, if any).
    ConnectionString,
    /// A password, token or key.
    Secret,
}

impl LeakKind {
    fn describe(self) -> &'static str {
        match self {
            LeakKind::Version => "version",
            LeakKind::Hostname => "internal host",
            LeakKind::ConnectionString => "connection string",
            LeakKind::Secret => "secret",
        }
    }
}

/// One thing a body gives away, already fit for evidence (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Leak {
    kind: LeakKind,
    /// `components.redis.details.version = "7.0.12"`.
    shown: String,
}

/// Key names (lowercase, letters and digits only) whose string values are secrets.
pub(super) const SECRET_KEY_ENDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "secretkey",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credentials",
    "credential",
];
/// Key names whose string values name a host.
pub(super) const HOST_KEY_ENDS: &[&str] = &[
    "host",
    "hostname",
    "server",
    "servername",
    "node",
    "nodename",
    "pod",
    "podname",
    "machinename",
    "instance",
];
/// Object names (JSON path segments) under which a `version` is a runtime's or a dependency's,
/// in an info body (where the service's own build version is expected).
pub(super) const RUNTIME_SEGMENTS: &[&str] = &[
    "java", "jvm", "os", "runtime", "node", "python", "go", "dotnet", "kernel", "platform", "vm",
    "database", "db", "server", "process",
];
/// Schemes of connection strings.
pub(super) const DSN_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "sqlserver",
    "oracle",
    "jdbc",
    "kafka",
    "nats",
    "memcached",
    "cassandra",
    "ldap",
    "ldaps",
    "smtp",
    "smtps",
];

pub(super) static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:([^\s@/]+)@")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
pub(super) static DSN: LazyLock<Regex> = LazyLock::new(|| {
    let schemes = DSN_SCHEMES
        .iter()
        .map(|s| regex::escape(s))
        .collect::<Vec<_>>()
        .join("|");
    Regex::new(&format!(
        r"(?i)\b(?:jdbc:[a-z0-9]+:|(?:{schemes})://)[^\s\x22'<>]+"
    ))
    .unwrap_or_else(|_| unreachable!("static regex"))
});
pub(super) static ADO_NET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:server|host|data source|address)\s*=\s*[^;]+;[^\x22']*?(?:database|initial catalog|user id|username|uid)\s*=")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
pub(super) static ADO_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:password|pwd)\s*=\s*([^;\x22']+)")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
pub(super) static TOKENS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("AWS access key id", r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        ("private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        (
            "JSON Web Token",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ),
        (
            "GitHub token",
            r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}",
        ),
        ("Slack token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
        ("Stripe secret key", r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
    ]
    .iter()
    .filter_map(|(name, p)| Regex::new(p).ok().map(|re| (*name, re)))
    .collect()
});
pub(super) static PRIVATE_IPV4: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:10\.\d{1,3}\.\d{1,3}\.\d{1,3}|172\.(?:1[6-9]|2\d|3[01])\.\d{1,3}\.\d{1,3}|192\.168\.\d{1,3}\.\d{1,3})\b")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
pub(super) static INTERNAL_HOST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.(?:internal|local|localdomain|lan|corp|intranet|svc|cluster\.local)\b")
        .unwrap_or_else(|_| unreachable!("static regex"))
});
pub(super) static VERSION_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d+\.\d+").unwrap_or_else(|_| unreachable!("static regex")));

/// A key name reduced to lowercase letters and digits (`client_secret` → `clientsecret`).
pub(super) fn key_norm(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// True for a value that is already masked or a placeholder, not a secret.
pub(super) fn masked_value(v: &str) -> bool {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    v.chars().count() < 4
        || v.chars()
            .all(|c| matches!(c, '*' | 'x' | 'X' | '•' | '#' | '-' | '.'))
        || [
            "redacted", "masked", "hidden", "******", "<secret>", "${", "{{", "null", "none",
        ]
        .iter()
        .any(|m| lower.contains(m))
}

/// The leaks in one string found by pattern, wherever it sits.
pub(super) fn text_leaks(at: &str, text: &str, out: &mut Vec<Leak>) {
    let place = if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    };
    let secret_url = URL_PASSWORD
        .captures_iter(text)
        .any(|c| c.get(1).is_some_and(|pw| !masked_value(pw.as_str())));
    let ado_secret = ADO_PASSWORD
        .captures_iter(text)
        .any(|c| c.get(1).is_some_and(|pw| !masked_value(pw.as_str())));
    let dsn = DSN.find(text).or_else(|| ADO_NET.find(text));
    if let Some(m) = dsn {
        let kind = if secret_url || ado_secret {
            LeakKind::Secret
        } else {
            LeakKind::ConnectionString
        };
        let what = if kind == LeakKind::Secret {
            "connection string with its password"
        } else {
            "connection string"
        };
        out.push(Leak {
            kind,
            shown: format!("{place}{} ({what})", clip(&mask(m.as_str()), 120)),
        });
    } else if secret_url {
        out.push(Leak {
            kind: LeakKind::Secret,
            shown: format!("{place}{} (URL with a password)", clip(&mask(text), 120)),
        });
    }
    for (name, re) in TOKENS.iter() {
        if re.is_match(text) {
            out.push(Leak {
                kind: LeakKind::Secret,
                shown: format!("{place}{} ({name})", redact::MASK),
            });
        }
    }
    // A host inside a connection string is already reported with it.
    if dsn.is_none()
        && let Some(m) = PRIVATE_IPV4.find(text).or_else(|| INTERNAL_HOST.find(text))
    {
        out.push(Leak {
            kind: LeakKind::Hostname,
            shown: format!("{place}{} (internal address)", clip(m.as_str(), 100)),
        });
    }
}

/// Walks a JSON body: secret-named keys, host-named keys, versions, and every string by pattern.
pub(super) struct Walker {
    info: bool,
    budget: usize,
    out: Vec<Leak>,
}

impl Walker {
    fn walk(&mut self, v: &serde_json::Value, path: &mut Vec<String>) {
        if self.budget == 0 || path.len() > 8 {
            return;
        }
        self.budget -= 1;
        match v {
            serde_json::Value::Object(map) => {
                for (k, child) in map {
                    path.push(clip(k, 40));
                    self.key_value(k, child, path);
                    self.walk(child, path);
                    path.pop();
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate().take(200) {
                    path.push(i.to_string());
                    self.walk(child, path);
                    path.pop();
                }
            }
            serde_json::Value::String(s) => text_leaks(&path.join("."), s, &mut self.out),
            _ => {}
        }
    }

    fn key_value(&mut self, key: &str, v: &serde_json::Value, path: &[String]) {
        let norm = key_norm(key);
        let at = path.join(".");
        let Some(s) = v.as_str() else {
            return;
        };
        if SECRET_KEY_ENDS.iter().any(|e| norm.ends_with(e)) && !masked_value(s) {
            self.out.push(Leak {
                kind: LeakKind::Secret,
                shown: format!("{at} = {} ({} characters)", redact::MASK, s.chars().count()),
            });
        } else if HOST_KEY_ENDS.iter().any(|e| norm.ends_with(e))
            && s.chars().any(|c| c.is_ascii_alphabetic())
            && (s.contains('.') || s.contains('-'))
            && !s.contains(char::is_whitespace)
            && !s.contains("://")
            && !matches!(s, "localhost" | "localhost.localdomain")
        {
            self.out.push(Leak {
                kind: LeakKind::Hostname,
                shown: format!("{at} = {:?} (host name)", clip(s, 100)),
            });
        } else if norm.ends_with("version") && VERSION_VALUE.is_match(s) {
            let parents: Vec<String> = path[..path.len().saturating_sub(1)]
                .iter()
                .map(|p| key_norm(p))
                .collect();
            // The service's own version is expected: at the top of a health+json body
            // (`version`), and anywhere in an info body outside a runtime's section.
            let own = if self.info {
                !parents
                    .iter()
                    .any(|p| RUNTIME_SEGMENTS.contains(&p.as_str()))
            } else {
                parents.is_empty()
            };
            if !own {
                self.out.push(Leak {
                    kind: LeakKind::Version,
                    shown: format!("{at} = {:?} (dependency or runtime version)", clip(s, 60)),
                });
            }
        }
    }
}

/// Everything one body gives away.
pub(super) fn body_leaks(ex: &HttpExchange, info: bool) -> Vec<Leak> {
    let body = ex.body.trim();
    if (body.starts_with('{') || body.starts_with('['))
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
    {
        let mut w = Walker {
            info,
            budget: 5000,
            out: Vec::new(),
        };
        w.walk(&v, &mut Vec::new());
        return w.out;
    }
    let mut out = Vec::new();
    text_leaks("body", body, &mut out);
    out
}

/// The bodies `health.info_leak` reads: every health endpoint that exists and the info/version
/// endpoints `ops.version_endpoint` fetched; identical bodies once.
pub(super) fn leak_sources(obs: &Observations) -> Vec<(&HttpExchange, bool)> {
    let health = obs
        .health
        .iter()
        .filter(|h| h.exists())
        .filter_map(|h| h.exchange.observed())
        .map(|ex| (ex, false));
    let info = obs
        .packs
        .get("ops.version_endpoint")
        .into_iter()
        .flatten()
        .filter_map(Probed::observed)
        .filter(|ex| ex.is_success() && !ex.is_html_document())
        .map(|ex| (ex, true));
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (ex, info) in health.chain(info) {
        if !ex.body_decoded || ex.body.trim().is_empty() || seen.contains(&ex.body.as_str()) {
            continue;
        }
        seen.push(&ex.body);
        out.push((ex, info));
    }
    out
}

/// Judges `health.info_leak`: see [`INFO_LEAK`] for the rule. Evidence quotes where each leak
/// sits with secrets masked — never the secret itself.
pub fn info_leak(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let sources = leak_sources(obs);
    if sources.is_empty() {
        answering(obs)?;
        return Ok(Judgement::skipped(
            "No health or info endpoint answered with a body, so there is nothing to read.",
        ));
    }
    let mut leaks: Vec<(LeakKind, String)> = Vec::new();
    for (ex, info) in &sources {
        for leak in body_leaks(ex, *info) {
            let line = clip(
                &format!("{}: {}", ex.request_line(), leak.shown),
                EVIDENCE_MAX,
            );
            if !leaks.iter().any(|(_, l)| *l == line) {
                leaks.push((leak.kind, line));
            }
        }
    }
    let read = format!(
        "{} health/info bod{} read ({})",
        sources.len(),
        if sources.len() == 1 { "y" } else { "ies" },
        list(
            &sources
                .iter()
                .map(|(ex, _)| ex.final_url.clone())
                .collect::<Vec<_>>()
        )
    );
    if leaks.is_empty() {
        return Ok(Judgement::pass(format!(
            "No dependency versions, internal hosts, connection strings or secrets in the \
             {read}."
        )));
    }
    leaks.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
    let count = |kind: LeakKind| leaks.iter().filter(|(k, _)| *k == kind).count();
    let tally: Vec<String> = [
        LeakKind::Secret,
        LeakKind::ConnectionString,
        LeakKind::Hostname,
        LeakKind::Version,
    ]
    .into_iter()
    .filter(|k| count(*k) > 0)
    .map(|k| {
        let n = count(k);
        format!("{n} {}{}", k.describe(), if n == 1 { "" } else { "s" })
    })
    .collect();
    let mut evidence: Vec<String> = leaks
        .iter()
        .take(LIST_MAX)
        .map(|(_, l)| l.clone())
        .collect();
    if leaks.len() > LIST_MAX {
        evidence.push(format!("… and {} more", leaks.len() - LIST_MAX));
    }
    let judgement = if count(LeakKind::Secret) > 0 {
        Judgement::fail(format!(
            "Health/info endpoints expose secrets to anyone who asks: {} (values masked here).",
            tally.join(", ")
        ))
    } else {
        Judgement::warn(format!(
            "Health/info endpoints give away internals: {}.",
            tally.join(", ")
        ))
    };
    Ok(judgement.evidence_all(evidence).evidence(read))
}
