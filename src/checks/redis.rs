//! Redis judges: `redis.*`, over the unauthenticated `PING` and the authenticated session's
//! `INFO`, `CONFIG GET` and `ACL LIST`.
//!
//! Memory, persistence and client limits are judged by the role the config declares
//! (`cache`, `store`, `queue`): a cache must be bounded and may evict; a store or a queue must
//! not evict and must persist. A command the audit user may not run (`NOPERM`, a renamed
//! `CONFIG`) makes only the checks that need it `skipped`, with that reason — restricting those
//! commands is good practice, not an error.

use super::db::{capped, reachable_or_fail};
use super::{CheckMeta, Judgement};
use crate::config::{JudgeConfig, RedisRole};
use crate::model::{Category, Severity};
use crate::observations::redis::{RedisObservation, RedisSession};
use crate::observations::{Observations, Probed, Unobserved};

fn redis(obs: &Observations) -> Result<&RedisObservation, Unobserved> {
    obs.redis.get()
}

fn session(obs: &Observations) -> Result<&RedisSession, Unobserved> {
    redis(obs)?.session.get()
}

fn role_line(r: &RedisObservation) -> String {
    format!("{}: declared role {}", r.server, r.role.as_str())
}

/// `redis.reachable`: `PING` with the configured credentials.
pub const REACHABLE: CheckMeta = CheckMeta {
    id: "redis.reachable",
    title: "Redis reachable",
    problem: "Redis is unreachable",
    category: Category::Reliability,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "PING + latency — fail critical: unreachable",
    remediation: "Make Redis reachable from where the application runs (network path, bind, \
                  TLS settings, credentials), and check the URL in [dependencies] redis.",
    references: &["https://redis.io/docs/latest/commands/ping/"],
    judge: reachable,
};

/// Judges `redis.reachable`: see [`REACHABLE`]. A server that answers but refuses the
/// configured credentials cannot be used either: that fails too, with the server's words.
pub fn reachable(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = match reachable_or_fail(&obs.redis, "Redis")? {
        Ok(r) => r,
        Err(failed) => return Ok(failed),
    };
    match &r.session {
        Probed::Observed(s) => Ok(Judgement::pass(format!(
            "Redis answered PING in {:.1} ms (connect {:.1} ms).",
            s.ping_ms, s.connect_ms
        ))
        .evidence(format!(
            "{}: connected in {:.1} ms, PING → PONG in {:.1} ms",
            r.server, s.connect_ms, s.ping_ms
        ))),
        Probed::Failed(reason) => {
            let mut j = Judgement::fail(format!(
                "Redis answers, but a session with the configured credentials could not be \
                 opened: {reason}"
            ))
            .evidence(reason.clone());
            if let Probed::Observed(reply) = &r.unauthenticated {
                j = j.evidence(format!(
                    "{}: PING without credentials → {}",
                    r.server, reply.reply
                ));
            }
            Ok(j)
        }
        Probed::Skipped(reason) => Err(Unobserved::Skipped(reason.clone())),
    }
}

/// `redis.auth`: does Redis answer without credentials, and does the default user have a
/// password.
pub const AUTH: CheckMeta = CheckMeta {
    id: "redis.auth",
    title: "Redis requires authentication",
    problem: "Redis answers without authentication",
    category: Category::Reliability,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "unauthenticated PING; ACL default user — fail critical: +PONG without credentials; \
           fail: `default on nopass`; warn: protected mode DENIED",
    remediation: "Require authentication: `requirepass` (Redis < 6) or ACL users with \
                  passwords and `ACL SETUSER default off` (Redis ≥ 6), bind to private \
                  interfaces only, and give the application its own ACL user limited to its \
                  keys and commands.",
    references: &[
        "https://redis.io/docs/latest/operate/oss_and_stack/management/security/",
        "https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/",
    ],
    judge: auth,
};

/// Judges `redis.auth`: see [`AUTH`].
pub fn auth(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = redis(obs)?;
    let reply = r.unauthenticated.get()?;
    let ping_line = format!(
        "{}: PING without credentials → {}",
        strip_userinfo(&r.server),
        reply.reply
    );
    let acl_lines: Vec<String> = match r.session.observed().map(|s| &s.acl) {
        Some(Probed::Observed(lines)) => lines.clone(),
        _ => Vec::new(),
    };
    let acl_note = match r.session.observed().map(|s| &s.acl) {
        Some(Probed::Skipped(reason)) => Some(format!("ACL LIST: {reason}")),
        Some(Probed::Failed(reason)) => Some(format!("ACL LIST failed: {reason}")),
        _ => None,
    };
    let nopass: Vec<&String> = acl_lines
        .iter()
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.contains(&"on") && words.contains(&"nopass")
        })
        .collect();

    if reply.is_pong() {
        return Ok(Judgement::fail(
            "Redis answers PING without authentication: anyone who can reach the port can read, \
             change or delete every key (and often run commands on the host).",
        )
        .evidence(ping_line)
        .evidence_all(nopass.iter().map(|l| format!("ACL LIST: {l}"))));
    }
    if let Some(default) = nopass.iter().find(|l| l.starts_with("user default ")) {
        return Ok(Judgement::fail(
            "The ACL default user is enabled without a password (`default on nopass`).",
        )
        .evidence(ping_line)
        .evidence(format!("ACL LIST: {default}")));
    }
    if reply.code() == Some("DENIED") {
        return Ok(Judgement::warn(
            "Redis refused the unauthenticated client only because of protected mode: no \
             password is set, and protected mode is the last line of defence.",
        )
        .evidence(ping_line));
    }
    let mut j = if !nopass.is_empty() {
        Judgement::warn(format!(
            "Unauthenticated PING is refused, but {} ACL user(s) have no password.",
            nopass.len()
        ))
        .evidence(ping_line)
        .evidence_all(nopass.iter().map(|l| format!("ACL LIST: {l}")))
    } else {
        Judgement::pass(format!(
            "Redis refuses clients without credentials ({}).",
            reply.code().unwrap_or("error")
        ))
        .evidence(ping_line)
    };
    if let Some(note) = acl_note {
        j = j.evidence(note);
    }
    Ok(j)
}

/// The server URL without credentials (the line is about an anonymous client).
fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// `redis.protected_mode`: `CONFIG GET protected-mode`.
pub const PROTECTED_MODE: CheckMeta = CheckMeta {
    id: "redis.protected_mode",
    title: "Redis protected mode",
    problem: "Redis protected mode is off",
    category: Category::Reliability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "CONFIG GET protected-mode — warn: no",
    remediation: "Leave `protected-mode yes` (the default) so a Redis without a password \
                  refuses non-loopback clients, in addition to authentication and binding to \
                  private interfaces.",
    references: &[
        "https://redis.io/docs/latest/operate/oss_and_stack/management/security/#protected-mode",
    ],
    judge: protected_mode,
};

/// Judges `redis.protected_mode`: see [`PROTECTED_MODE`].
pub fn protected_mode(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = redis(obs)?;
    let config = r.session.get()?.config.get()?;
    let value = config
        .get("protected-mode")
        .ok_or_else(|| Unobserved::Skipped("CONFIG GET returned no protected-mode".into()))?;
    let mut evidence = vec![format!("{}: CONFIG GET protected-mode → {value}", r.server)];
    if let Some(bind) = config.get("bind") {
        evidence.push(format!("bind = {bind}"));
    }
    if value.eq_ignore_ascii_case("no") {
        return Ok(Judgement::warn(
            "Protected mode is off: if authentication is ever removed, Redis accepts any client.",
        )
        .evidence_all(evidence));
    }
    Ok(Judgement::pass("Protected mode is on.").evidence_all(evidence))
}

/// `redis.persistence`: RDB/AOF configuration and the last write's status, by role.
pub const PERSISTENCE: CheckMeta = CheckMeta {
    id: "redis.persistence",
    title: "Redis persistence (by declared role)",
    problem: "Redis persistence is off or failing",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "save, appendonly, last bgsave/aof status (by declared role) — fail: last write \
           errored; warn: no persistence for a store or queue role",
    remediation: "For a store or queue: enable AOF (`appendonly yes`, `appendfsync everysec`) \
                  and/or RDB snapshots (`save 3600 1 300 100`), watch rdb_last_bgsave_status \
                  and aof_last_write_status, and keep the disk free. A cache may run without \
                  persistence.",
    references: &["https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/"],
    judge: persistence,
};

/// Judges `redis.persistence`: see [`PERSISTENCE`].
pub fn persistence(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = redis(obs)?;
    let s = r.session.get()?;
    let info = s.info.get()?;
    let get = |k: &str| info.get(k).map(String::as_str).unwrap_or("");
    let mut evidence = vec![role_line(r)];
    for k in [
        "rdb_last_bgsave_status",
        "aof_enabled",
        "aof_last_write_status",
        "aof_last_bgrewrite_status",
        "rdb_changes_since_last_save",
    ] {
        if info.contains_key(k) {
            evidence.push(format!("INFO {k}:{}", get(k)));
        }
    }
    let errored: Vec<&str> = [
        "rdb_last_bgsave_status",
        "aof_last_write_status",
        "aof_last_bgrewrite_status",
    ]
    .into_iter()
    .filter(|k| get(k) == "err")
    .collect();
    if !errored.is_empty() {
        return Ok(Judgement::fail(format!(
            "Redis's last persistence write failed ({}:err): recent writes are not on disk \
             (a full or read-only disk is the usual cause).",
            errored.join(", ")
        ))
        .evidence_all(evidence));
    }
    let aof = get("aof_enabled") == "1";
    let save = match &s.config {
        Probed::Observed(c) => c.get("save").cloned(),
        _ => None,
    };
    match &save {
        Some(v) => evidence.push(format!("CONFIG GET save → {v:?}")),
        None => evidence.push(match &s.config {
            Probed::Skipped(reason) | Probed::Failed(reason) => {
                format!("CONFIG GET save: {reason}")
            }
            Probed::Observed(_) => "CONFIG GET save: not returned".to_string(),
        }),
    }
    let rdb = save.as_deref().map(|v| !v.trim().is_empty());
    let persists = aof || rdb == Some(true);
    if persists {
        return Ok(Judgement::pass(format!(
            "Redis persists its data ({}) and the last writes succeeded.",
            match (aof, rdb == Some(true)) {
                (true, true) => "AOF and RDB snapshots",
                (true, false) => "AOF",
                _ => "RDB snapshots",
            }
        ))
        .evidence_all(evidence));
    }
    if !r.role.keeps_data() {
        return Ok(Judgement::pass(
            "No persistence, which is acceptable for a Redis declared as a cache.",
        )
        .evidence_all(evidence));
    }
    if rdb.is_none() {
        return Err(Unobserved::Skipped(format!(
            "AOF is off and the RDB `save` schedule could not be read ({}); grant CONFIG GET to \
             the audit user to judge persistence",
            evidence.last().cloned().unwrap_or_default()
        )));
    }
    Ok(Judgement::warn(format!(
        "Redis is declared as a {} but persists nothing (AOF off, no RDB schedule): a restart \
         loses every key.",
        r.role.as_str()
    ))
    .evidence_all(evidence))
}

/// `redis.memory`: maxmemory and eviction policy, by role.
pub const MEMORY: CheckMeta = CheckMeta {
    id: "redis.memory",
    title: "Redis memory limit and eviction (by declared role)",
    problem: "Redis memory limit or eviction policy does not fit its role",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "maxmemory, maxmemory-policy (by declared role: cache/store/queue), used vs max — \
           cache: warn without maxmemory or with noeviction; store/queue: warn on an evicting \
           policy or no maxmemory; warn above 90% of maxmemory (threshold in [judge])",
    remediation: "Cache: set maxmemory (below the container/host limit) and an evicting policy \
                  such as allkeys-lru. Store/queue: set maxmemory with `noeviction`, so a full \
                  Redis rejects writes loudly instead of silently dropping data, and alert on \
                  used_memory.",
    references: &["https://redis.io/docs/latest/develop/reference/eviction/"],
    judge: memory,
};

/// Judges `redis.memory`: see [`MEMORY`].
pub fn memory(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = redis(obs)?;
    let info = session(obs)?.info.get()?;
    let num = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok());
    let max = num("maxmemory").unwrap_or(0);
    let used = num("used_memory").unwrap_or(0);
    let policy = info
        .get("maxmemory_policy")
        .cloned()
        .unwrap_or_else(|| "noeviction".to_string());
    let human = |k: &str| info.get(k).cloned().unwrap_or_default();
    let evidence = vec![
        role_line(r),
        format!(
            "INFO maxmemory:{max} ({}), maxmemory_policy:{policy}, used_memory:{used} ({})",
            human("maxmemory_human"),
            human("used_memory_human")
        ),
    ];
    let evicts = policy != "noeviction";
    let j = match r.role {
        RedisRole::Cache if max == 0 => Judgement::warn(
            "Redis is declared as a cache but has no maxmemory: it grows until the host runs \
             out of memory instead of evicting.",
        ),
        RedisRole::Cache if !evicts => Judgement::warn(
            "Redis is declared as a cache but maxmemory-policy is noeviction: a full cache \
             rejects writes instead of evicting old keys.",
        ),
        RedisRole::Store | RedisRole::Queue if evicts && max > 0 => Judgement::warn(format!(
            "Redis is declared as a {} but evicts keys when full (maxmemory-policy {policy}): \
             data is silently dropped under memory pressure.",
            r.role.as_str()
        )),
        RedisRole::Store | RedisRole::Queue if max == 0 => Judgement::warn(format!(
            "Redis is declared as a {} but has no maxmemory: it grows until the host's OOM \
             killer ends it.",
            r.role.as_str()
        )),
        _ if max > 0 && used as f64 > cfg.redis_memory_warn * max as f64 => {
            Judgement::warn(format!(
                "Redis uses {:.0}% of its maxmemory.",
                used as f64 * 100.0 / max as f64
            ))
        }
        _ => Judgement::pass(format!(
            "Memory is bounded with a policy that suits a {} (maxmemory-policy {policy}).",
            r.role.as_str()
        )),
    };
    Ok(j.evidence_all(evidence))
}

/// `redis.clients`: connected clients vs maxclients, rejections, evictions.
pub const CLIENTS: CheckMeta = CheckMeta {
    id: "redis.clients",
    title: "Redis client headroom",
    problem: "Redis is running out of client connections",
    category: Category::Scalability,
    severity: Severity::Medium,
    active: false,
    weight: 1.0,
    rule: "connected_clients vs maxclients, rejected_connections, evicted_keys — warn > 80% \
           (threshold in [judge]), rejections, or evictions for a store/queue",
    remediation: "Pool connections in the application (and close them), raise maxclients with \
                  the file-descriptor limit if the load is real, and for a store/queue stop \
                  evictions (see redis.memory).",
    references: &["https://redis.io/docs/latest/develop/reference/clients/"],
    judge: clients,
};

/// Judges `redis.clients`: see [`CLIENTS`].
pub fn clients(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let r = redis(obs)?;
    let s = session(obs)?;
    let info = s.info.get()?;
    let num = |k: &str| info.get(k).and_then(|v| v.parse::<u64>().ok());
    let connected = num("connected_clients")
        .ok_or_else(|| Unobserved::Failed("INFO has no connected_clients".into()))?;
    let max = num("maxclients").or_else(|| match &s.config {
        Probed::Observed(c) => c.get("maxclients").and_then(|v| v.parse::<u64>().ok()),
        _ => None,
    });
    let rejected = num("rejected_connections").unwrap_or(0);
    let evicted = num("evicted_keys").unwrap_or(0);
    let evidence = vec![format!(
        "{}: connected_clients:{connected} of maxclients:{}, rejected_connections:{rejected}, evicted_keys:{evicted}",
        r.server,
        max.map(|m| m.to_string())
            .unwrap_or_else(|| "unknown".into())
    )];
    let mut problems = Vec::new();
    if let Some(m) = max.filter(|m| *m > 0)
        && connected as f64 > cfg.redis_clients_warn * m as f64
    {
        problems.push(format!(
            "{:.0}% of maxclients are connected",
            connected as f64 * 100.0 / m as f64
        ));
    }
    if rejected > 0 {
        problems.push(format!(
            "{rejected} connection(s) were rejected for reaching maxclients"
        ));
    }
    if evicted > 0 && r.role.keeps_data() {
        problems.push(format!(
            "{evicted} key(s) were evicted from a Redis declared as a {}",
            r.role.as_str()
        ));
    }
    if problems.is_empty() {
        return Ok(
            Judgement::pass("Redis has client headroom and has rejected no connection.")
                .evidence_all(evidence),
        );
    }
    Ok(
        Judgement::warn(format!("{}.", capitalise(&problems.join("; "))))
            .evidence_all(capped(evidence)),
    )
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::Outcome;
    use crate::observations::redis::RedisReply;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A password-protected store with AOF, noeviction and a memory limit.
    fn healthy(role: RedisRole) -> RedisObservation {
        RedisObservation {
            server: "redis://:***@cache:6379".into(),
            role,
            has_credentials: true,
            unauthenticated: Probed::Observed(RedisReply {
                reply: "NOAUTH Authentication required.".into(),
                ms: 0.8,
            }),
            session: Probed::Observed(RedisSession {
                connect_ms: 1.1,
                ping_ms: 0.2,
                whoami: Probed::Observed("default".into()),
                info: Probed::Observed(map(&[
                    ("connected_clients", "12"),
                    ("maxclients", "10000"),
                    ("used_memory", "1048576"),
                    ("used_memory_human", "1.00M"),
                    ("maxmemory", "268435456"),
                    ("maxmemory_human", "256.00M"),
                    (
                        "maxmemory_policy",
                        if role.keeps_data() {
                            "noeviction"
                        } else {
                            "allkeys-lru"
                        },
                    ),
                    ("rdb_last_bgsave_status", "ok"),
                    ("aof_enabled", "1"),
                    ("aof_last_write_status", "ok"),
                    ("rejected_connections", "0"),
                    ("evicted_keys", "0"),
                ])),
                config: Probed::Observed(map(&[
                    ("protected-mode", "yes"),
                    ("save", "3600 1 300 100"),
                    ("appendonly", "yes"),
                ])),
                acl: Probed::Observed(vec![
                    "user default on #*** ~* &* +@all".into(),
                    "user app on #*** ~app:* +@read +@write".into(),
                ]),
            }),
        }
    }

    fn obs(r: RedisObservation) -> Observations {
        Observations {
            redis: Probed::Observed(r),
            ..Observations::default()
        }
    }

    fn session_mut(r: &mut RedisObservation) -> &mut RedisSession {
        match &mut r.session {
            Probed::Observed(s) => s,
            _ => unreachable!(),
        }
    }

    fn info_set(r: &mut RedisObservation, k: &str, v: &str) {
        if let Probed::Observed(i) = &mut session_mut(r).info {
            i.insert(k.into(), v.into());
        }
    }

    fn run(f: super::super::JudgeFn, o: &Observations) -> Result<Judgement, Unobserved> {
        f(o, &JudgeConfig::default())
    }

    const ALL: &[&CheckMeta] = &[
        &REACHABLE,
        &AUTH,
        &PROTECTED_MODE,
        &PERSISTENCE,
        &MEMORY,
        &CLIENTS,
    ];

    #[test]
    fn healthy_redis_passes_every_check_in_every_role() {
        for role in [RedisRole::Cache, RedisRole::Store, RedisRole::Queue] {
            let o = obs(healthy(role));
            for check in ALL {
                let j = run(check.judge, &o).expect("judged");
                assert_eq!(
                    j.outcome,
                    Outcome::Pass,
                    "{} {role:?}: {}",
                    check.id,
                    j.summary
                );
            }
        }
    }

    #[test]
    fn not_configured_skips_and_unreachable_fails() {
        let skipped = Observations {
            redis: Probed::Skipped("no redis configured".into()),
            ..Observations::default()
        };
        for check in ALL {
            assert!(matches!(
                run(check.judge, &skipped),
                Err(Unobserved::Skipped(_))
            ));
        }
        let reason = "redis redis://:***@cache:6379: cannot connect: Connection refused";
        let failed = Observations {
            redis: Probed::Failed(reason.into()),
            ..Observations::default()
        };
        let j = run(reachable, &failed).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(j.evidence, vec![reason.to_string()]);
        for check in &ALL[1..] {
            assert_eq!(
                run(check.judge, &failed).unwrap_err(),
                Unobserved::Failed(reason.into())
            );
        }
    }

    #[test]
    fn refused_credentials_fail_reachable_and_error_session_checks() {
        let mut r = healthy(RedisRole::Cache);
        r.session = Probed::Failed(
            "redis redis://:***@cache:6379: WRONGPASS invalid username-password pair".into(),
        );
        let o = obs(r);
        let j = run(reachable, &o).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(
            j.evidence[1].ends_with("PING without credentials → NOAUTH Authentication required.")
        );
        assert!(matches!(run(memory, &o), Err(Unobserved::Failed(_))));
        // The anonymous PING still judges authentication.
        assert_eq!(run(auth, &o).unwrap().outcome, Outcome::Pass);
    }

    #[test]
    fn pong_without_credentials_fails_auth() {
        let mut r = healthy(RedisRole::Cache);
        r.unauthenticated = Probed::Observed(RedisReply {
            reply: "PONG".into(),
            ms: 0.3,
        });
        let j = run(auth, &obs(r)).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert_eq!(
            j.evidence[0],
            "redis://cache:6379: PING without credentials → PONG"
        );
    }

    #[test]
    fn default_nopass_fails_and_protected_mode_denied_warns() {
        let mut r = healthy(RedisRole::Cache);
        session_mut(&mut r).acl =
            Probed::Observed(vec!["user default on nopass ~* &* +@all".into()]);
        assert_eq!(run(auth, &obs(r)).unwrap().outcome, Outcome::Fail);
        let mut r = healthy(RedisRole::Cache);
        r.unauthenticated = Probed::Observed(RedisReply {
            reply: "DENIED Redis is running in protected mode".into(),
            ms: 0.3,
        });
        assert_eq!(run(auth, &obs(r)).unwrap().outcome, Outcome::Warn);
    }

    #[test]
    fn acl_noperm_is_evidence_not_error() {
        let mut r = healthy(RedisRole::Cache);
        session_mut(&mut r).acl =
            Probed::Skipped("ACL LIST is not permitted for this user (NOPERM …)".into());
        let j = run(auth, &obs(r)).unwrap();
        assert_eq!(j.outcome, Outcome::Pass);
        assert!(j.evidence.iter().any(|l| l.contains("NOPERM")));
    }

    #[test]
    fn protected_mode_off_warns_and_config_refused_skips() {
        let mut r = healthy(RedisRole::Cache);
        session_mut(&mut r).config = Probed::Observed(map(&[("protected-mode", "no")]));
        assert_eq!(run(protected_mode, &obs(r)).unwrap().outcome, Outcome::Warn);
        let mut r = healthy(RedisRole::Cache);
        session_mut(&mut r).config = Probed::Skipped("CONFIG GET is not permitted (NOPERM)".into());
        assert!(matches!(
            run(protected_mode, &obs(r)),
            Err(Unobserved::Skipped(_))
        ));
    }

    #[test]
    fn persistence_write_error_fails_and_store_without_persistence_warns() {
        let mut r = healthy(RedisRole::Cache);
        info_set(&mut r, "rdb_last_bgsave_status", "err");
        let j = run(persistence, &obs(r)).unwrap();
        assert_eq!(j.outcome, Outcome::Fail);
        assert!(j.summary.contains("rdb_last_bgsave_status:err"));

        let mut r = healthy(RedisRole::Store);
        info_set(&mut r, "aof_enabled", "0");
        session_mut(&mut r).config = Probed::Observed(map(&[("save", "")]));
        let j = run(persistence, &obs(r.clone())).unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("declared as a store"));
        r.role = RedisRole::Cache;
        assert_eq!(run(persistence, &obs(r)).unwrap().outcome, Outcome::Pass);
    }

    #[test]
    fn persistence_unknown_schedule_for_store_is_skipped() {
        let mut r = healthy(RedisRole::Queue);
        info_set(&mut r, "aof_enabled", "0");
        session_mut(&mut r).config = Probed::Skipped("CONFIG GET is not permitted (NOPERM)".into());
        assert!(matches!(
            run(persistence, &obs(r)),
            Err(Unobserved::Skipped(_))
        ));
    }

    #[test]
    fn memory_by_role() {
        let mut r = healthy(RedisRole::Cache);
        info_set(&mut r, "maxmemory", "0");
        let j = run(memory, &obs(r)).unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("no maxmemory"));

        let mut r = healthy(RedisRole::Store);
        info_set(&mut r, "maxmemory_policy", "allkeys-lru");
        let j = run(memory, &obs(r)).unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("evicts keys"));

        let mut r = healthy(RedisRole::Cache);
        info_set(&mut r, "used_memory", "260000000");
        assert_eq!(run(memory, &obs(r)).unwrap().outcome, Outcome::Warn);
    }

    #[test]
    fn memory_and_client_thresholds_come_from_the_config() {
        // 200 MB of 256 MB (75%) and 8500 of 10000 clients (85%).
        let mut r = healthy(RedisRole::Cache);
        info_set(&mut r, "used_memory", "200000000");
        info_set(&mut r, "connected_clients", "8500");
        let o = obs(r);
        assert_eq!(run(memory, &o).unwrap().outcome, Outcome::Pass);
        assert_eq!(run(clients, &o).unwrap().outcome, Outcome::Warn);
        let cfg = JudgeConfig {
            redis_memory_warn: 0.7,
            redis_clients_warn: 0.9,
            ..JudgeConfig::default()
        };
        let j = memory(&o, &cfg).unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("75% of its maxmemory"), "{}", j.summary);
        assert_eq!(clients(&o, &cfg).unwrap().outcome, Outcome::Pass);
    }

    #[test]
    fn clients_near_limit_rejections_and_store_evictions_warn() {
        let mut r = healthy(RedisRole::Cache);
        info_set(&mut r, "connected_clients", "9000");
        assert_eq!(run(clients, &obs(r)).unwrap().outcome, Outcome::Warn);
        let mut r = healthy(RedisRole::Cache);
        info_set(&mut r, "rejected_connections", "3");
        assert_eq!(run(clients, &obs(r)).unwrap().outcome, Outcome::Warn);
        let mut r = healthy(RedisRole::Queue);
        info_set(&mut r, "evicted_keys", "5");
        let j = run(clients, &obs(r)).unwrap();
        assert_eq!(j.outcome, Outcome::Warn);
        assert!(j.summary.contains("evicted"), "{}", j.summary);
    }
}
