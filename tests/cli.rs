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

#[test]
fn every_shipped_config_file_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("config dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            readyprobe::config::from_file(&path)
                .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(
        seen >= 4,
        "expected the starter and three profiles, saw {seen}"
    );
}

#[test]
fn production_profile_skips_active_checks_and_gate_flags_apply() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/production.toml");
    let out = readyprobe()
        .args([
            "audit",
            "--demo",
            "--demo-profile",
            "hardened",
            "--format",
            "json",
            "--min-score",
            "100.1",
        ])
        .arg("--config")
        .arg(&dir)
        .output()
        .expect("run");
    // --min-score above 100 is a usage error naming the flag.
    assert_eq!(out.status.code(), Some(2));
    let out = readyprobe()
        .args([
            "audit",
            "--demo",
            "--demo-profile",
            "hardened",
            "--format",
            "json",
            "--min-score",
            "100",
        ])
        .arg("--config")
        .arg(&dir)
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["profile"], "production");
    let score = report["overall_score"].as_f64().unwrap_or(0.0);
    assert_eq!(out.status.code(), Some(if score < 100.0 { 1 } else { 0 }));
}

/// Starts `app` over HTTPS on a runtime of its own thread, so the binary can be pointed at it.
fn https_server_in_background(
    app: axum::Router,
    leaf: crate::util::pki::Leaf,
) -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = rt.block_on(crate::util::servers::https(app, leaf));
    (addr, rt)
}

#[test]
fn https_target_with_private_ca_is_audited_through_ca_file() {
    use axum::routing::get;
    let ca = crate::util::pki::TestCa::new("private staging CA");
    let app = axum::Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [("strict-transport-security", "max-age=31536000")],
                    "<html>ok</html>",
                )
            }),
        )
        .route("/readyz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }));
    let (addr, _rt) = https_server_in_background(app, ca.localhost());
    let dir = tempfile::tempdir().expect("tmp");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca");
    let url = format!("https://{addr}/");

    // Without the CA, and with --strict-tls, the certificate is untrusted: checks error with
    // the TLS reason.
    let out = readyprobe()
        .args([
            "audit",
            &url,
            "--format",
            "json",
            "--timeout",
            "2s",
            "--strict-tls",
        ])
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hsts = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check_id"] == "headers.hsts"))
        .expect("hsts");
    assert_eq!(hsts["outcome"], "error");
    assert!(
        hsts["summary"].as_str().unwrap_or("").contains("TLS"),
        "{hsts}"
    );

    // With it, the target is judged.
    let out = readyprobe()
        .args([
            "audit",
            &url,
            "--format",
            "json",
            "--timeout",
            "2s",
            "--ca-file",
        ])
        .arg(&ca_file)
        .output()
        .expect("run");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hsts = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check_id"] == "headers.hsts"))
        .expect("hsts");
    assert_eq!(hsts["outcome"], "pass", "{hsts}");
    assert_eq!(
        report["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["check_id"] == "health.endpoints"))
            .map(|f| f["outcome"].clone()),
        Some(serde_json::json!("pass"))
    );
}

#[test]
fn ca_file_that_is_not_pem_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate").expect("write");
    readyprobe()
        .args(["audit", "https://127.0.0.1:9/", "--ca-file"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--ca-file"));
}
