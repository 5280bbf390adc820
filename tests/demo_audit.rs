//! `readyprobe audit --demo` end to end: the embedded demo target, audited over real HTTPS.

use std::collections::BTreeMap;

use crate::util::readyprobe;

fn audit_json(args: &[&str]) -> (i32, serde_json::Value) {
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "json"])
        .args(args)
        .output()
        .expect("run");
    let code = out.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

fn outcomes(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["check_id"].as_str().unwrap_or_default().to_string(),
                f["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn flawed_demo_is_no_go_with_the_named_findings() {
    let (code, report) = audit_json(&[]);
    assert_eq!(
        report["verdict"], "NO-GO",
        "{:#}",
        report["verdict_reasons"]
    );
    assert_eq!(code, 1, "NO-GO fails the gate");
    let o = outcomes(&report);
    for (id, expected) in [
        ("headers.hsts", "fail"),
        ("headers.csp", "fail"),
        ("headers.disclosure", "warn"),
        ("cookies.flags", "fail"),
        ("tls.http_redirect", "fail"),
        ("health.readiness_depth", "warn"),
        ("health.separation", "warn"),
        // Its readiness checks nothing, so it says "ready" — truthfully, as far as it knows.
        ("health.ready_now", "pass"),
        ("ops.error_format", "warn"),
        ("errors.leak", "fail"),
        ("perf.compression", "warn"),
        ("exposure.sensitive_paths", "fail"),
        ("cors.reflect_credentials", "fail"),
        ("cors.origin_bypass", "fail"),
        ("cors.vary_origin", "warn"),
        ("auth.jwks", "fail"),
        ("auth.jwt_forgery", "fail"),
        ("auth.required", "pass"),
        ("metrics.path_cardinality", "fail"),
        ("metrics.red", "warn"),
        ("ratelimit.enforced", "fail"),
        ("tracing.request_id", "warn"),
        ("perf.pagination_depth", "warn"),
    ] {
        assert_eq!(
            o.get(id).map(String::as_str),
            Some(expected),
            "{id}: {o:#?}"
        );
    }
    assert_eq!(report["categories"].as_array().map(Vec::len), Some(7));
    let hsts = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check_id"] == "headers.hsts"))
        .expect("hsts");
    let evidence = hsts["evidence"].to_string();
    assert!(evidence.contains("GET https://127.0.0.1:"), "{evidence}");
    assert!(
        evidence.contains("no Strict-Transport-Security header"),
        "{evidence}"
    );
    let forgery = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check_id"] == "auth.jwt_forgery"))
        .expect("auth.jwt_forgery");
    assert_eq!(forgery["severity"], "critical", "{forgery:#}");
    let evidence = forgery["evidence"].to_string();
    assert!(
        evidence.contains("/api/admin → 200 with alg:none token"),
        "{evidence}"
    );
    let finding = |id: &str| {
        report["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["check_id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    // The whole capped burst (60 requests for the demo) was accepted: the evidence says so.
    let evidence = finding("ratelimit.enforced")["evidence"].to_string();
    assert!(evidence.contains("60 requests sent"), "{evidence}");
    assert!(evidence.contains("POST https://127.0.0.1:"), "{evidence}");
    let evidence = finding("metrics.path_cardinality")["evidence"].to_string();
    assert!(evidence.contains("sent 2 requests"), "{evidence}");
    assert!(evidence.contains("path=\\\"/__readyprobe_"), "{evidence}");

    // A load that ran out of its request cap in a moment has not measured a sustained rate:
    // Scalability is not "100/Excellent" on that.
    let load = finding("load.baseline");
    assert_eq!(load["outcome"], "warn", "{load:#}");
    assert!(
        load["summary"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Too short to judge"),
        "{load:#}"
    );
    let scalability = report["categories"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "Scalability"))
        .expect("Scalability");
    assert!(
        scalability["score"].as_f64().unwrap_or(100.0) < 90.0,
        "{scalability:#}"
    );
    // CORS reflects any origin on every path: the target itself is probed, not only /api.
    let evidence = finding("cors.reflect_credentials")["evidence"].to_string();
    assert!(evidence.contains("/api/orders"), "{evidence}");
    // Failing findings are headed by the problem.
    assert_eq!(
        finding("cors.reflect_credentials")["problem"],
        "CORS reflects foreign origins with credentials"
    );
    // Pack evidence reads as a sentence.
    let evidence = finding("exposure.sensitive_paths")["evidence"][0].to_string();
    assert!(
        evidence.contains("/.env → 200 and the body is an env file: "),
        "{evidence}"
    );
}

#[test]
fn hardened_demo_passes_the_gate() {
    let (code, report) = audit_json(&["--demo-profile", "hardened"]);
    let verdict = report["verdict"].as_str().unwrap_or_default();
    assert!(
        verdict == "GO" || verdict == "GO WITH OBSERVATIONS",
        "hardened verdict {verdict}: {:#}",
        report["verdict_reasons"]
    );
    assert_eq!(code, 0);
    let o = outcomes(&report);
    for id in [
        "headers.hsts",
        "headers.csp",
        "cookies.flags",
        "tls.http_redirect",
        "health.endpoints",
        "health.ready_now",
        "health.readiness_depth",
        "health.info_leak",
        "ops.error_format",
        "errors.leak",
        "perf.compression",
        "cors.reflect_credentials",
        "cors.null_origin",
        "cors.origin_bypass",
        "cors.vary_origin",
        "auth.required",
        "auth.jwks",
        "auth.jwt_forgery",
        "metrics.endpoint",
        "metrics.format",
        "metrics.red",
        "metrics.red_live",
        "metrics.path_cardinality",
        "metrics.runtime",
        "tracing.request_id",
        "perf.http2",
        "perf.pagination_depth",
        "ratelimit.enforced",
        "ratelimit.headers",
        "ratelimit.retry_after",
        "ratelimit.recovery",
    ] {
        assert_eq!(o.get(id).map(String::as_str), Some("pass"), "{id}: {o:#?}");
    }
    // The demo caps its load at 100 requests over a 3 s plan: it ends long before, so the
    // baseline says so instead of claiming a sustained rate.
    assert_eq!(o.get("load.baseline").map(String::as_str), Some("warn"));
    // The 429 comes right after the demo's limit of 10 logins per window.
    let enforced = report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check_id"] == "ratelimit.enforced"))
        .expect("ratelimit.enforced");
    let evidence = enforced["evidence"].to_string();
    assert!(evidence.contains("first 429 on request 11 "), "{evidence}");
    assert!(report["overall_score"].as_f64().unwrap_or(0.0) >= 90.0);
}

#[test]
fn json_and_markdown_carry_the_same_findings() {
    let dir = tempfile::tempdir().expect("tmp");
    let md = dir.path().join("r.md");
    let json = dir.path().join("r.json");
    readyprobe()
        .args(["audit", "--demo", "--quiet", "--out"])
        .arg(&md)
        .arg("--out")
        .arg(&json)
        .assert()
        .code(1);
    let md = std::fs::read_to_string(md).expect("md");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).expect("json")).expect("parse");
    for (id, outcome) in outcomes(&report) {
        assert!(md.contains(&id), "markdown lacks {id}");
        if outcome == "fail" || outcome == "warn" {
            assert!(md.contains(&format!("`{id}`")) || md.contains(&id));
        }
    }
    assert!(md.contains(report["verdict"].as_str().unwrap_or("?")));
    // The gaps are headed by what is wrong, never by the check's goal.
    assert!(
        md.contains("🔴 **CORS reflects foreign origins with credentials**"),
        "{md}"
    );
    assert!(!md.contains("**CORS does not reflect foreign origins with credentials**"));
}

#[test]
fn terminal_output_shows_verdict_and_seven_categories() {
    let out = readyprobe()
        .args(["audit", "--demo"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NO-GO"), "{text}");
    for name in [
        "Security",
        "Health Checks",
        "Observability",
        "Performance",
        "Scalability",
        "Reliability & Recovery",
        "Operational",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(!text.contains('\u{1b}'), "NO_COLOR/non-TTY must not colour");
}
