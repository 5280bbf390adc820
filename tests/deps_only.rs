//! Dependency-only audits: `readyprobe audit postgres://… redis://… amqp://…` with no HTTP
//! target, against the machine's PostgreSQL, MariaDB, Redis and RabbitMQ.
//!
//! What belongs here: the real binary given only dependency URLs (or a config naming only
//! dependencies) audits just those — the HTTP categories are "not assessed" with the reason, no
//! HTTP request is sent — with the usual exit codes: 3 only when none of the dependencies
//! answered, the gate's 0/1 otherwise, 2 for a URL it cannot use. Passwords in the URLs appear in
//! no output.

use std::collections::BTreeMap;

use crate::util::{closed_port, readyprobe, require_service};

const PG: &str = "127.0.0.1:5432";
const MARIADB: &str = "127.0.0.1:3306";
const REDIS: &str = "127.0.0.1:6379";
const AMQP: &str = "127.0.0.1:5672";

/// A password the machine's trust-auth PostgreSQL ignores, unique to this run.
fn planted() -> String {
    format!("rp-deps-only-{}-s3cret", std::process::id())
}

fn run(args: &[&str]) -> (i32, serde_json::Value, String, String) {
    let out = readyprobe()
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stdout, stderr)
}

fn findings(report: &serde_json::Value) -> BTreeMap<String, serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {report:#}"))
        .iter()
        .map(|f| {
            (
                f["check_id"].as_str().unwrap_or_default().to_string(),
                f.clone(),
            )
        })
        .collect()
}

fn category<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["categories"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no category {name}"))
}

fn is_dependency_check(id: &str) -> bool {
    ["db.", "redis.", "rabbitmq.", "dns.", "k8s."]
        .iter()
        .any(|p| id.starts_with(p))
}

#[test]
fn dependency_urls_alone_audit_just_those_services() {
    if !require_service("PostgreSQL", PG)
        || !require_service("MariaDB", MARIADB)
        || !require_service("Redis", REDIS)
        || !require_service("RabbitMQ", AMQP)
    {
        return;
    }
    let secret = planted();
    let pg = format!("postgres://postgres:{secret}@127.0.0.1:5432/test");
    let (code, report, stdout, stderr) = run(&[
        &pg,
        "mysql://root@127.0.0.1:3306/test",
        "redis://127.0.0.1:6379",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    ]);
    assert!(
        !stdout.contains(&secret) && !stderr.contains(&secret),
        "the password leaked"
    );
    let target = report["target"].as_str().unwrap_or_default();
    assert_eq!(
        target,
        "dependencies: postgres://postgres:***@127.0.0.1:5432/test, \
         mysql://root@127.0.0.1:3306/test, redis://127.0.0.1:6379, \
         amqp://guest:***@127.0.0.1:5672/%2f",
        "{stderr}"
    );
    assert_eq!(report["requests_sent"], 0, "no HTTP request is sent");
    // The machine's Redis answers without a password: a critical failure, NO-GO, exit 1 — the
    // gate as usual, not "unreachable".
    assert_eq!(
        report["verdict"], "NO-GO",
        "{:#}",
        report["verdict_reasons"]
    );
    assert_eq!(code, 1, "{stderr}");

    let f = findings(&report);
    for id in [
        "db.postgres.reachable",
        "db.mysql.reachable",
        "redis.reachable",
        "rabbitmq.reachable",
    ] {
        assert_eq!(f[id]["outcome"], "pass", "{id}: {:#}", f[id]);
    }
    assert_eq!(f["redis.auth"]["outcome"], "fail");
    for (id, finding) in &f {
        if is_dependency_check(id) {
            continue;
        }
        assert_eq!(finding["outcome"], "skipped", "{id}: {finding:#}");
        assert!(
            finding["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("dependency-only audit: no HTTP target was given"),
            "{id}: {finding:#}"
        );
    }
    for name in ["Security", "Health Checks", "Observability", "Operational"] {
        let c = category(&report, name);
        assert_eq!(c["assessed"], false, "{name}: {c}");
        assert!(c["score"].is_null(), "{name}: {c}");
    }
    for name in ["Reliability & Recovery", "Scalability"] {
        assert_eq!(category(&report, name)["assessed"], true, "{name}");
    }
}

#[test]
fn a_config_naming_only_dependencies_is_a_dependency_only_audit() {
    if !require_service("PostgreSQL", PG) || !require_service("Redis", REDIS) {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("deps.toml");
    let closed = closed_port();
    std::fs::write(
        &config,
        format!(
            "[dependencies]\npostgres = \"postgres://postgres@127.0.0.1:{closed}/test\"\n\
             redis = {{ url = \"redis://127.0.0.1:6379\", role = \"store\" }}\n"
        ),
    )
    .expect("write");
    // The URL on the command line replaces the config's (closed) PostgreSQL; the Redis role
    // from the config is kept.
    let (code, report, _, stderr) = run(&[
        "postgres://postgres@127.0.0.1:5432/test",
        "--config",
        config.to_str().expect("utf-8 path"),
    ]);
    assert!(matches!(code, 0 | 1), "exit {code}: {stderr}");
    let f = findings(&report);
    assert_eq!(f["db.postgres.reachable"]["outcome"], "pass", "{stderr}");
    assert!(
        f["redis.memory"]["evidence"]
            .to_string()
            .contains("declared role store"),
        "{:#}",
        f["redis.memory"]
    );
    assert!(
        f["db.mysql.reachable"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("no mysql configured")
    );
}

#[test]
fn nothing_answering_is_exit_3_with_a_report_and_no_password() {
    let secret = planted();
    let pg = format!("postgres://app:{secret}@127.0.0.1:{}/db", closed_port());
    let redis = format!("redis://:{secret}@127.0.0.1:{}/0", closed_port());
    let (code, report, stdout, stderr) = run(&[&pg, &redis, "--timeout", "3s"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        !stdout.contains(&secret) && !stderr.contains(&secret),
        "the password leaked"
    );
    assert!(stderr.contains("could not be reached at all"), "{stderr}");
    let f = findings(&report);
    assert_eq!(f["db.postgres.reachable"]["outcome"], "fail");
    assert_eq!(f["redis.reachable"]["outcome"], "fail");
    assert!(
        report["scope"]
            .to_string()
            .contains("None of the dependencies could be reached"),
        "{}",
        report["scope"]
    );
}

#[test]
fn one_dependency_down_among_several_fails_the_gate_not_exit_3() {
    if !require_service("PostgreSQL", PG) {
        return;
    }
    let redis = format!("redis://127.0.0.1:{}", closed_port());
    let (code, report, _, stderr) = run(&["postgres://postgres@127.0.0.1:5432/test", &redis]);
    assert_eq!(code, 1, "{stderr}");
    let f = findings(&report);
    assert_eq!(f["db.postgres.reachable"]["outcome"], "pass");
    assert_eq!(f["redis.reachable"]["outcome"], "fail");
    assert_eq!(f["redis.reachable"]["severity"], "critical");
}

#[test]
fn urls_it_cannot_use_are_usage_errors_without_the_password() {
    for (args, expected) in [
        (
            vec!["ftp://user:hunter2@files.example.com/"],
            "expected an http:// or https:// target, or a dependency URL",
        ),
        (vec!["localhost:5432"], "got \"localhost:5432\""),
        (
            vec!["https://127.0.0.1:1/", "http://127.0.0.1:2/"],
            "give one HTTP target per audit",
        ),
        (
            vec!["postgres://u:hunter2@127.0.0.1:1/db", "--wait-ready", "5s"],
            "--wait-ready: a dependency-only audit has no HTTP target",
        ),
        (vec!["redis://:hunter2@"], "dependencies.redis"),
    ] {
        let out = readyprobe().arg("audit").args(&args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
