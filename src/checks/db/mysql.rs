//! MySQL/MariaDB judges (mysql.*).

use super::*;

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

pub(super) fn my(obs: &Observations) -> Result<&MySqlObservation, Unobserved> {
    obs.mysql.get()
}

pub(super) fn var<'a>(
    vars: &'a std::collections::BTreeMap<String, String>,
    name: &str,
) -> Option<&'a str> {
    vars.get(name).map(String::as_str)
}

/// `db.mysql.reachable`: connect and `SELECT 1`.
pub const MYSQL_REACHABLE: CheckMeta = CheckMeta {
    id: "db.mysql.reachable",
    title: "MySQL/MariaDB reachable",
    problem: "MySQL/MariaDB is unreachable",
    category: Category::Reliability,
    severity: Severity::Critical,
    active: false,
    weight: 1.0,
    rule: "connect + SELECT 1 + latency — fail critical: unreachable",
    remediation: "Make the database reachable from where the application runs (network path, \
                  bind-address, the user's allowed hosts, credentials), and check the URL in \
                  [dependencies] mysql.",
    references: &["https://dev.mysql.com/doc/refman/8.0/en/problems-connecting.html"],
    judge: mysql_reachable,
};

/// Judges `db.mysql.reachable`: see [`MYSQL_REACHABLE`].
pub fn mysql_reachable(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let my = match reachable_or_fail(&obs.mysql, "MySQL/MariaDB")? {
        Ok(my) => my,
        Err(failed) => return Ok(failed),
    };
    Ok(Judgement::pass(format!(
        "{} answered SELECT 1 in {:.1} ms (connect {:.1} ms).",
        my.product(),
        my.select1_ms,
        my.connect_ms
    ))
    .evidence(format!(
        "{}: connected as {} in {:.1} ms, SELECT 1 in {:.1} ms",
        my.server, my.current_user, my.connect_ms, my.select1_ms
    ))
    .evidence(format!("version {}", my.version)))
}

/// `db.mysql.ssl`: TLS offered, required, and used by this session.
pub const MYSQL_SSL: CheckMeta = CheckMeta {
    id: "db.mysql.ssl",
    title: "MySQL/MariaDB TLS",
    problem: "MySQL/MariaDB connections are not encrypted",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "have_ssl, require_secure_transport, Ssl_cipher of this session — fail: TLS disabled; \
           warn: this session not encrypted or require_secure_transport = OFF",
    remediation: "Configure a certificate (ssl_cert/ssl_key), set require_secure_transport = ON, \
                  and connect with ssl-mode=VERIFY_IDENTITY.",
    references: &[
        "https://dev.mysql.com/doc/refman/8.0/en/using-encrypted-connections.html",
        "https://mariadb.com/kb/en/securing-connections-for-client-and-server/",
    ],
    judge: mysql_ssl,
};

/// Judges `db.mysql.ssl`: see [`MYSQL_SSL`].
pub fn mysql_ssl(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let my = my(obs)?;
    let vars = my.variables.get()?;
    let session = my.session_ssl.get()?;
    let cipher = var(session, "Ssl_cipher").unwrap_or("");
    let encrypted = !cipher.is_empty();
    let have_ssl = var(vars, "have_ssl").or_else(|| var(vars, "have_openssl"));
    let require = var(vars, "require_secure_transport").unwrap_or("OFF");
    let evidence = vec![
        format!("have_ssl = {}", have_ssl.unwrap_or("(not reported)")),
        format!("require_secure_transport = {require}"),
        format!(
            "{}: Ssl_cipher = {}, Ssl_version = {}",
            my.server,
            if encrypted { cipher } else { "''" },
            var(session, "Ssl_version")
                .filter(|v| !v.is_empty())
                .unwrap_or("''")
        ),
    ];
    let disabled = have_ssl.is_some_and(|v| !v.eq_ignore_ascii_case("YES"));
    if disabled && !encrypted {
        return Ok(Judgement::fail(format!(
            "TLS is disabled on the {} server (have_ssl = {}): credentials and data travel in \
             clear text.",
            my.product(),
            have_ssl.unwrap_or_default()
        ))
        .evidence_all(evidence));
    }
    if !encrypted {
        return Ok(Judgement::warn(
            "The server offers TLS, but this session was not encrypted: clients are not \
             required to use it.",
        )
        .evidence_all(evidence));
    }
    if !require.eq_ignore_ascii_case("ON") {
        return Ok(Judgement::warn(
            "This session is encrypted, but require_secure_transport = OFF still accepts \
             clear-text connections.",
        )
        .evidence_all(evidence));
    }
    Ok(Judgement::pass("TLS is required and this session is encrypted.").evidence_all(evidence))
}

/// `db.mysql.pitr`: binary logging for point-in-time recovery.
pub const MYSQL_PITR: CheckMeta = CheckMeta {
    id: "db.mysql.pitr",
    title: "MySQL/MariaDB point-in-time recovery (binary log)",
    problem: "MySQL/MariaDB cannot be restored to a point in time",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "log_bin, binlog_format, binlog expiry — pass: binary log on; fail: off",
    remediation: "Enable the binary log (log_bin, binlog_format = ROW, an expiry longer than \
                  the backup interval) and ship it off the server with the backups, so a \
                  restore can replay to any point in time.",
    references: &[
        "https://dev.mysql.com/doc/refman/8.0/en/point-in-time-recovery.html",
        "https://mariadb.com/kb/en/binary-log/",
    ],
    judge: mysql_pitr,
};

/// Judges `db.mysql.pitr`: see [`MYSQL_PITR`].
pub fn mysql_pitr(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let my = my(obs)?;
    let vars = my.variables.get()?;
    let log_bin = var(vars, "log_bin")
        .ok_or_else(|| Unobserved::Failed("log_bin is not reported by the server".into()))?;
    let mut evidence = vec![format!("log_bin = {log_bin}")];
    for name in [
        "binlog_format",
        "binlog_expire_logs_seconds",
        "expire_logs_days",
        "sync_binlog",
    ] {
        if let Some(v) = var(vars, name) {
            evidence.push(format!("{name} = {v}"));
        }
    }
    if !(log_bin.eq_ignore_ascii_case("ON") || log_bin == "1") {
        return Ok(Judgement::fail(format!(
            "The binary log is off (log_bin = {log_bin}): {} can only be restored to the last \
             backup, not to a point in time.",
            my.product()
        ))
        .evidence_all(evidence));
    }
    Ok(Judgement::pass(
        "The binary log is on, so backups can be rolled forward to a point in time.",
    )
    .evidence_all(evidence))
}

/// `db.mysql.superuser`: global privileges of the login user.
pub const MYSQL_SUPERUSER: CheckMeta = CheckMeta {
    id: "db.mysql.superuser",
    title: "MySQL/MariaDB login user is not all-powerful",
    problem: "The MySQL/MariaDB login user is all-powerful",
    category: Category::Reliability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "SHOW GRANTS of the login user — fail: ALL PRIVILEGES or SUPER on *.*; warn: GRANT \
           OPTION on *.*",
    remediation: "Connect the application with a user granted only what its queries need on \
                  its own schema (`GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO …`), not \
                  root or ALL PRIVILEGES ON *.*.",
    references: &["https://dev.mysql.com/doc/refman/8.0/en/privileges-provided.html"],
    judge: mysql_superuser,
};

/// Judges `db.mysql.superuser`: see [`MYSQL_SUPERUSER`].
pub fn mysql_superuser(obs: &Observations, _cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let my = my(obs)?;
    let grants = my.grants.get()?;
    let global: Vec<&String> = grants
        .iter()
        .filter(|g| g.to_ascii_uppercase().contains(" ON *.* "))
        .collect();
    let is_super = global.iter().any(|g| {
        let up = g.to_ascii_uppercase();
        let privileges = up.split(" ON *.* ").next().unwrap_or_default().to_string();
        privileges.contains("ALL PRIVILEGES")
            || privileges
                .trim_start_matches("GRANT ")
                .split(',')
                .any(|p| p.trim() == "SUPER")
    });
    let evidence: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
    if is_super {
        return Ok(Judgement::fail(format!(
            "The login user {} has ALL PRIVILEGES or SUPER on every database: a SQL injection \
             or a leaked password owns the server.",
            my.current_user
        ))
        .evidence_all(capped(evidence)));
    }
    if global
        .iter()
        .any(|g| g.to_ascii_uppercase().contains("WITH GRANT OPTION"))
    {
        return Ok(Judgement::warn(format!(
            "The login user {} can grant its global privileges to others (WITH GRANT OPTION on *.*).",
            my.current_user
        ))
        .evidence_all(capped(evidence)));
    }
    Ok(Judgement::pass(format!(
        "The login user {} has no SUPER or ALL PRIVILEGES on *.*.",
        my.current_user
    ))
    .evidence_all(capped(evidence)))
}

/// `db.mysql.conn_headroom`: connections in use vs max_connections.
pub const MYSQL_CONN_HEADROOM: CheckMeta = CheckMeta {
    id: "db.mysql.conn_headroom",
    title: "MySQL/MariaDB connection headroom",
    problem: "MySQL/MariaDB is running out of connections",
    category: Category::Scalability,
    severity: Severity::High,
    active: false,
    weight: 1.0,
    rule: "Threads_connected vs max_connections — warn > 80%; fail > 95% (thresholds in \
           [judge])",
    remediation: "Cap the application's connection pools (or add ProxySQL/MaxScale) so their \
                  sum stays well below max_connections.",
    references: &["https://dev.mysql.com/doc/refman/8.0/en/too-many-connections.html"],
    judge: mysql_conn_headroom,
};

/// Judges `db.mysql.conn_headroom`: see [`MYSQL_CONN_HEADROOM`].
pub fn mysql_conn_headroom(obs: &Observations, cfg: &JudgeConfig) -> Result<Judgement, Unobserved> {
    let my = my(obs)?;
    let vars = my.variables.get()?;
    let status = my.status.get()?;
    let num = |v: Option<&str>| v.and_then(|s| s.trim().parse::<i64>().ok());
    let max = num(var(vars, "max_connections"))
        .filter(|m| *m > 0)
        .ok_or_else(|| Unobserved::Failed("max_connections is not reported".into()))?;
    let used = num(var(status, "Threads_connected"))
        .ok_or_else(|| Unobserved::Failed("Threads_connected is not reported".into()))?;
    let peak = num(var(status, "Max_used_connections")).unwrap_or(used);
    let refused = num(var(status, "Connection_errors_max_connections")).unwrap_or(0);
    let judgement = judge_headroom(
        cfg,
        my.product(),
        used,
        max,
        format!(
            "Threads_connected = {used} (this audit's included) of max_connections = {max}; \
             Max_used_connections = {peak}; Connection_errors_max_connections = {refused}"
        ),
    )?;
    if refused > 0 && judgement.outcome == crate::model::Outcome::Pass {
        return Ok(Judgement::warn(format!(
            "{} has refused {refused} connection(s) for reaching max_connections since it started.",
            my.product()
        ))
        .evidence_all(judgement.evidence));
    }
    Ok(judgement)
}
