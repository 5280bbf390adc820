//! The real binary: exit codes, configuration errors naming the field, listings, `init`.

use predicates::prelude::*;

use crate::util::{closed_port, readyprobe};

#[test]
fn checks_json_lists_every_builtin_check_with_its_fields() {
    let out = readyprobe()
        .args(["checks", "--format", "json"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let list = list.as_array().expect("array");
    let hsts = list
        .iter()
        .find(|c| c["id"] == "headers.hsts")
        .expect("headers.hsts listed");
    assert_eq!(hsts["category"], "Security");
    assert_eq!(hsts["severity"], "high");
    assert_eq!(hsts["active"], false);
    assert_eq!(hsts["source"], "builtin");
    assert!(list.iter().any(|c| c["id"] == "health.readiness_depth"));
}

#[test]
fn explain_prints_rule_and_fix() {
    readyprobe()
        .args(["explain", "headers.hsts"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Rule:").and(predicate::str::contains("Fix:")));
}

#[test]
fn explain_unknown_id_exits_2_with_suggestions() {
    readyprobe()
        .args(["explain", "headers.hstz"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("unknown check id")
                .and(predicate::str::contains("headers.hsts")),
        );
}

#[test]
fn init_writes_a_config_that_loads_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("readyprobe.toml");
    readyprobe().arg("init").arg(&path).assert().success();
    let text = std::fs::read_to_string(&path).expect("written");
    readyprobe::config::from_str(&text, "starter").expect("starter config is valid");
    readyprobe()
        .arg("init")
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--force"));
}

#[test]
fn bad_config_value_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[run]\ntimeout = \"ten seconds\"\n").expect("write");
    readyprobe()
        .args(["audit", "http://127.0.0.1:9/", "--config"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("run.timeout")
                .and(predicate::str::contains("expected a duration"))
                .and(predicate::str::contains("bad.toml")),
        );
}

#[test]
fn bad_flag_value_exits_2() {
    readyprobe()
        .args(["audit", "http://127.0.0.1:9/", "--fail-on", "severe"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "critical, high, medium, low, info",
        ));
}

#[test]
fn non_http_target_exits_2_naming_target() {
    readyprobe()
        .args(["audit", "localhost:8080"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("target").and(predicate::str::contains("http://")));
}

#[test]
fn missing_target_exits_2_with_a_hint() {
    readyprobe()
        .arg("audit")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--demo"));
}

#[test]
fn unreachable_target_exits_3_and_still_writes_the_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let json = dir.path().join("report.json");
    let url = format!("http://127.0.0.1:{}/", closed_port());
    readyprobe()
        .args([
            "audit",
            &url,
            "--deadline",
            "10s",
            "--timeout",
            "1s",
            "-H",
            "Authorization: Bearer canary-tok-5150",
        ])
        .arg("--out")
        .arg(&json)
        .assert()
        .code(3)
        .stdout(predicate::str::contains("canary-tok-5150").not())
        .stderr(
            predicate::str::contains("could not be reached")
                .and(predicate::str::contains("canary-tok-5150").not()),
        );
    let text = std::fs::read_to_string(&json).expect("report written");
    assert!(!text.contains("canary-tok-5150"));
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(report["schema_version"], 1);
    let errors = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["outcome"] == "error")
        .count();
    assert!(
        errors > 5,
        "unreachable target → error findings, got {errors}"
    );
}

#[test]
fn unknown_out_extension_exits_2() {
    readyprobe()
        .args(["audit", "--demo", "--out", "report.pdf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--out report.pdf"));
}
