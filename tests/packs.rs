//! Check packs end to end: the real binary audits local servers with the embedded packs and with
//! user packs given by `--probes DIR` — a catch-all single-page app (no false positive), a server
//! leaking its `.env` (critical failure, secret masked), a user's ten-line pack scored in its
//! category, and malformed or colliding packs refused with exit 2 and file/line/field.

use std::path::Path;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::Value;

use crate::util::{self, closed_port, readyprobe, servers};

const SPA_INDEX: &str = "<!doctype html>\n<html><head><title>Shop</title>\n\
    <script>window.API_URL = \"/api\"; const version = \"1.2.3\";</script>\n\
    </head><body><div id=\"root\"></div></body></html>\n";

/// Answers 200 and the same index.html for every path, as SPA hosting does.
fn spa() -> Router {
    Router::new().fallback(|| async { Html(SPA_INDEX) })
}

/// Runs `readyprobe audit URL --format json ARGS…` off the runtime; returns exit code, report
/// and stderr.
async fn audit(url: String, args: Vec<String>) -> (Option<i32>, Value, String) {
    let output = tokio::task::spawn_blocking(move || {
        readyprobe()
            .args([
                "audit",
                &url,
                "--format",
                "json",
                "--deadline",
                "30s",
                "--timeout",
                "3s",
            ])
            .args(&args)
            .output()
            .expect("readyprobe runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (output.status.code(), report, stderr)
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check_id"] == id)
        .unwrap_or_else(|| panic!("no {id} finding in {report:#}"))
}

fn category<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} category"))
}

fn evidence(f: &Value) -> Vec<String> {
    f["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|l| l.as_str().expect("line").to_string())
        .collect()
}

fn write_pack(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write pack");
}

#[tokio::test(flavor = "multi_thread")]
async fn catch_all_spa_is_not_a_sensitive_path_false_positive() {
    util::crypto();
    let addr = servers::http(spa()).await;
    let (_, report, stderr) = audit(format!("http://{addr}/"), vec![]).await;
    let exposure = finding(&report, "exposure.sensitive_paths");
    assert_eq!(exposure["outcome"], "pass", "{exposure:#}\n{stderr}");
    assert_eq!(exposure["category"], "Security");
    assert_eq!(exposure["summary"], "All 12 requests met their conditions");
    let lines = evidence(exposure);
    assert_eq!(lines.len(), 12);
    // Served with 200, but the SPA's index page is not an env file: said in words.
    assert_eq!(
        lines[0],
        format!("GET http://{addr}/.env → 200: not an env file")
    );
    // The SPA is not an OpenAPI document nor a version endpoint either.
    assert_eq!(finding(&report, "docs.openapi")["outcome"], "warn");
    assert_eq!(finding(&report, "ops.version_endpoint")["outcome"], "warn");
}

const LEAKED_ENV: &str = "APP_NAME=orders\nDATABASE_URL=postgres://orders:hunter2-canary@db:5432/orders\n\
    STRIPE_SECRET_KEY=sk_live_canary42\n";

#[tokio::test(flavor = "multi_thread")]
async fn exposed_env_file_fails_critical_with_masked_evidence() {
    util::crypto();
    let app = spa().route(
        "/.env",
        get(|| async { ([(header::CONTENT_TYPE, "text/plain")], LEAKED_ENV) }),
    );
    let addr = servers::http(app).await;
    let (code, report, stderr) = audit(format!("http://{addr}/"), vec![]).await;
    let exposure = finding(&report, "exposure.sensitive_paths");
    assert_eq!(exposure["outcome"], "fail", "{exposure:#}");
    assert_eq!(exposure["severity"], "critical");
    assert_eq!(
        exposure["summary"],
        "1 of 12 requests broke their conditions: /.env"
    );
    assert_eq!(
        evidence(exposure)[0],
        format!("GET http://{addr}/.env → 200 and the body is an env file: \"APP_NAME=orders\"")
    );
    assert_eq!(
        exposure["problem"],
        "Sensitive files or debug endpoints are served"
    );
    assert_eq!(report["verdict"], "NO-GO");
    assert_eq!(code, Some(1), "a critical failure fails the gate\n{stderr}");
    let everything = format!("{report}{stderr}");
    assert!(!everything.contains("hunter2-canary") && !everything.contains("sk_live_canary42"));
}

const USER_PACK: &str = r#"[[check]]
id = "orders.health"
title = "Orders health endpoint reports UP"
category = "reliability"
severity = "high"
remediation = "Make /api/orders/health report the real state of the orders service."

[[check.request]]
path = "/api/orders/health"
all = ["[STATUS] == 200", "[BODY].status == UP"]
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_ten_line_user_pack_is_scored_in_its_category() {
    util::crypto();
    assert_eq!(USER_PACK.lines().count(), 10);
    let app = spa()
        .route(
            "/api/orders/health",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"UP"}"#,
                )
            }),
        )
        .route(
            "/api/payments/health",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"status":"DOWN","db":"timeout"}"#,
                )
                    .into_response()
            }),
        );
    let addr = servers::http(app).await;
    let dir = tempfile::tempdir().expect("tmp");
    write_pack(dir.path(), "orders.toml", USER_PACK);
    write_pack(
        dir.path(),
        "payments.toml",
        &USER_PACK
            .replace("orders", "payments")
            .replace("severity = \"high\"", "severity = \"medium\""),
    );
    let probes = dir.path().display().to_string();
    let (_, report, stderr) =
        audit(format!("http://{addr}/"), vec!["--probes".into(), probes]).await;

    let orders = finding(&report, "orders.health");
    assert_eq!(orders["outcome"], "pass", "{orders:#}\n{stderr}");
    assert_eq!(orders["category"], "Reliability & Recovery");
    assert_eq!(orders["severity"], "high");
    assert_eq!(orders["summary"], "/api/orders/health met its conditions");
    assert_eq!(
        evidence(orders),
        vec![format!(
            "GET http://{addr}/api/orders/health → 200: `status` is \"UP\""
        )]
    );

    let payments = finding(&report, "payments.health");
    assert_eq!(payments["outcome"], "fail", "{payments:#}");
    assert_eq!(payments["category"], "Reliability & Recovery");
    assert_eq!(
        evidence(payments),
        vec![format!(
            "GET http://{addr}/api/payments/health → 503 and the status is not 200; `status` is \"DOWN\", not UP"
        )]
    );
    assert_eq!(
        payments["remediation"],
        "Make /api/payments/health report the real state of the payments service."
    );

    let reliability = category(&report, "Reliability & Recovery");
    assert_eq!(reliability["assessed"], true, "{reliability:#}");
    assert!(reliability["pass"].as_u64() >= Some(1) && reliability["fail"].as_u64() >= Some(1));
    let score = reliability["score"].as_f64().expect("scored");
    assert!(score > 0.0 && score < 100.0, "one pass, one fail: {score}");
}

#[test]
fn malformed_pack_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packs/invalid-placeholder.toml");
    std::fs::copy(&fixture, dir.path().join("broken.toml")).expect("copy");
    write_pack(dir.path(), "ok.toml", USER_PACK);
    let broken = dir.path().join("broken.toml").display().to_string();
    let url = format!("http://127.0.0.1:{}/", closed_port());
    readyprobe()
        .args(["audit", &url, "--probes"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{broken}: check[0].request[0].all[1]: unknown placeholder [STAUTS] (line 12)"
        )));
}

#[test]
fn missing_probes_dir_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("my-checks");
    let url = format!("http://127.0.0.1:{}/", closed_port());
    readyprobe()
        .args(["audit", &url, "--probes"])
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}: cannot read the probes directory",
            missing.display()
        )));
}

#[test]
fn pack_reusing_a_builtin_id_needs_overrides() {
    let dir = tempfile::tempdir().expect("tmp");
    let clash = USER_PACK.replace("orders.health", "exposure.sensitive_paths");
    write_pack(dir.path(), "clash.toml", &clash);
    readyprobe()
        .args(["checks", "--probes"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("exposure.sensitive_paths"));

    write_pack(
        dir.path(),
        "clash.toml",
        &clash.replace("[[check.request]]", "overrides = true\n\n[[check.request]]"),
    );
    let out = readyprobe()
        .args(["checks", "--format", "json", "--probes"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    let entries: Vec<&Value> = list
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["id"] == "exposure.sensitive_paths")
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "the override replaces the built-in pack check"
    );
    assert_eq!(entries[0]["category"], "Reliability & Recovery");
    assert_eq!(
        entries[0]["source"],
        dir.path().join("clash.toml").display().to_string()
    );
}

#[test]
fn checks_lists_builtin_and_user_packs_with_their_source() {
    let dir = tempfile::tempdir().expect("tmp");
    write_pack(dir.path(), "orders.toml", USER_PACK);
    let out = readyprobe()
        .args(["checks", "--format", "json", "--probes"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("json");
    let source = |id: &str| {
        list.as_array()
            .expect("array")
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"))["source"]
            .clone()
    };
    assert_eq!(
        source("exposure.sensitive_paths"),
        "builtin:probes/exposure.toml"
    );
    assert_eq!(source("docs.openapi"), "builtin:probes/docs.toml");
    assert_eq!(source("ops.version_endpoint"), "builtin:probes/ops.toml");
    assert_eq!(
        source("orders.health"),
        dir.path().join("orders.toml").display().to_string()
    );
}
