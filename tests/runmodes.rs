//! Run modes: the CI gate (waivers, category minimums, JUnit, `--wait-ready`, the GitHub Actions
//! example run as written), cron with history (SQLite and the machine's PostgreSQL, `diff`,
//! `--fail-on-regression`, the webhook on a local receiver), fleets (`--targets`), record and
//! replay, the HTML report in headless Chromium, and `serve` scraped by a real Prometheus.
//!
//! Demo targets run in-process on 127.0.0.1 (a background runtime per test); the binary under
//! test is pointed at them with the demo CA in a temp file.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use readyprobe::demo::{self, DemoOptions, DemoProfile, DemoTarget};

use crate::util::{self, readyprobe};

/// A demo target in its own runtime, with its CA written to a file.
struct Demo {
    rt: tokio::runtime::Runtime,
    target: Option<DemoTarget>,
    url: String,
    ca: PathBuf,
}

impl Demo {
    fn start(profile: DemoProfile, dir: &Path, port: Option<u16>) -> Demo {
        util::crypto();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut opts = DemoOptions::ephemeral(profile);
        if let Some(port) = port {
            opts.https_listen = SocketAddr::from(([127, 0, 0, 1], port));
        }
        // A port freed a moment ago can take a few tries to bind again.
        let mut tries = 0;
        let target = loop {
            match rt.block_on(demo::start(opts)) {
                Ok(t) => break t,
                Err(e) if tries < 50 => {
                    tries += 1;
                    eprintln!("demo start retry: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("demo: {e}"),
            }
        };
        let ca = dir.join(format!(
            "ca-{}-{}.pem",
            profile.as_str(),
            target.https_url.port().unwrap()
        ));
        std::fs::write(&ca, &target.ca_pem).unwrap();
        Demo {
            url: target.https_url.to_string(),
            rt,
            target: Some(target),
            ca,
        }
    }

    fn stop(mut self) {
        if let Some(t) = self.target.take() {
            self.rt.block_on(t.shutdown());
        }
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// CI gate

#[test]
fn waivers_keep_findings_reported_but_out_of_the_gate_and_expired_ones_count_again() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("waivers.toml");
    std::fs::write(
        &cfg,
        r#"
[gate]
fail_on = "high"
[[waivers]]
check = "headers.csp"
reason = "CSP rollout tracked in JIRA-123"
expires = "2999-12-31"
[[waivers]]
check = "headers.hsts"
reason = "old exception"
expires = "2020-01-01"
"#,
    )
    .unwrap();
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "json", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let find = |id: &str| {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check_id"] == id)
            .cloned()
            .unwrap()
    };
    let csp = find("headers.csp");
    assert_eq!(csp["outcome"], "fail", "still reported as it is");
    assert_eq!(csp["waived"]["reason"], "CSP rollout tracked in JIRA-123");
    assert_eq!(csp["waived"]["expired"], false);
    assert!(
        csp["summary"]
            .as_str()
            .unwrap()
            .contains("waived until 2999-12-31")
    );
    let hsts = find("headers.hsts");
    assert_eq!(hsts["waived"]["expired"], true);
    assert!(
        hsts["summary"]
            .as_str()
            .unwrap()
            .contains("waiver expired on 2020-01-01")
    );
    let err = stderr(&out);
    assert!(
        !err.contains("headers.csp"),
        "a waived failure does not fail the gate: {err}"
    );
    assert!(
        err.contains("headers.hsts"),
        "an expired waiver counts again: {err}"
    );
    // Findings without a waiver carry no `waived` field (the contract only grows).
    assert!(find("cookies.flags").get("waived").is_none());
    // Markdown shows the waiver too.
    let md = readyprobe()
        .args(["audit", "--demo", "--format", "md", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(stdout(&md).contains("waived until 2999-12-31: CSP rollout tracked in JIRA-123"));
}

/// `--min-score` and the category minimums use the score with the waived findings left out, as
/// the README promises, and every format shows both numbers.
#[test]
fn min_score_and_category_minimums_use_the_score_without_waived_findings() {
    let dir = tempfile::tempdir().unwrap();
    let gate = "[gate]\nmin_score = 95\n[gate.categories]\nscalability = 60\n";
    let waived = dir.path().join("waived.toml");
    std::fs::write(
        &waived,
        format!(
            "{gate}[[waivers]]\ncheck = \"load.baseline\"\nreason = \"the demo caps its load on purpose\"\n"
        ),
    )
    .unwrap();
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, gate).unwrap();
    let audit = |cfg: &Path, format: &str| {
        readyprobe()
            .args([
                "audit",
                "--demo",
                "--demo-profile",
                "hardened",
                "--format",
                format,
            ])
            .arg("--config")
            .arg(cfg)
            .output()
            .unwrap()
    };

    // Without the waiver the too-short load baseline keeps the score under 95: the gate fails.
    let out = audit(&plain, "json");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--min-score 95"), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["overall_score"], json["overall_score_with_waived"]);

    // With it the deciding score leaves the waived warning out and the gate passes.
    let out = audit(&waived, "json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let counted = json["overall_score"].as_f64().expect("score");
    let all = json["overall_score_with_waived"]
        .as_f64()
        .expect("second score");
    assert!(counted >= 95.0 && all < 95.0, "{counted} / {all}");
    let scalability = json["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Scalability")
        .cloned()
        .unwrap();
    assert_eq!(scalability["waived"], 1, "{scalability:#}");
    assert!(scalability["score"].is_null(), "{scalability:#}");
    assert_eq!(scalability["score_with_waived"], 50.0, "{scalability:#}");

    // Each run measures afresh, so the other formats are checked for the wording, not the value.
    let text = stdout(&audit(&waived, "terminal"));
    let headline = text.lines().nth(2).unwrap_or_default();
    assert!(
        headline.contains(" with the waived finding counted"),
        "{text}"
    );
    assert!(
        text.contains("waived findings are left out of the scores: Scalability 50.0"),
        "{text}"
    );
    let md = stdout(&audit(&waived, "md"));
    assert!(md.contains(" with the waived finding counted)"), "{md}");
    let html = stdout(&audit(&waived, "html"));
    assert!(html.contains("with the waived finding counted"), "{html}");
}

#[test]
fn waiver_for_an_unknown_check_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[[waivers]]\ncheck = \"headers.nope\"\nreason = \"x\"\n",
    )
    .unwrap();
    let out = readyprobe()
        .args(["audit", "--demo", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("waivers[0].check"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("headers.nope"));
    std::fs::write(
        &cfg,
        "[[waivers]]\ncheck = \"headers.csp\"\nreason = \"x\"\nexpires = \"next year\"\n",
    )
    .unwrap();
    let out = readyprobe()
        .args(["audit", "--demo", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("waivers[0].expires"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn category_minimum_fails_the_gate_naming_the_category() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cat.toml");
    std::fs::write(
        &cfg,
        "[gate]\nfail_on_no_go = false\n[gate.categories]\nsecurity = 90\n",
    )
    .unwrap();
    let out = readyprobe()
        .args(["audit", "--demo", "-q", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("gate.categories.security 90: the Security score is"),
        "{err}"
    );
    std::fs::write(&cfg, "[gate.categories]\nsecurty = 99\n").unwrap();
    let out = readyprobe()
        .args(["audit", "--demo", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gate.categories.securty"));
}

const PLANTED: &str = "planted-Secret-4242-xyzzy";

#[test]
fn planted_secrets_reach_no_output_format_nor_the_recording() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("secret.toml");
    std::fs::write(
        &cfg,
        format!("[http.headers]\nX-Api-Key = \"{PLANTED}-cfg\"\n"),
    )
    .unwrap();
    let files: Vec<PathBuf> = ["r.xml", "r.html", "r.prom", "r.json", "r.md", "r.txt"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let rec = dir.path().join("rec.json");
    let mut cmd = readyprobe();
    cmd.args(["audit", "--demo", "--format", "junit", "--config"])
        .arg(&cfg)
        .args(["-H", &format!("Authorization: Bearer {PLANTED}")])
        .arg("--record")
        .arg(&rec);
    for f in &files {
        cmd.arg("--out").arg(f);
    }
    let out = cmd.output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let xml = stdout(&out);
    assert!(xml.contains("<testsuites"), "{xml}");
    assert!(xml.contains("<failure"), "the flawed demo fails checks");
    assert!(!xml.contains(PLANTED) && !stderr(&out).contains(PLANTED));
    for f in files.iter().chain([&rec]) {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(text.len() > 200, "{}", f.display());
        assert!(!text.contains(PLANTED), "{} leaks the secret", f.display());
    }
}

#[test]
fn junit_has_one_suite_per_category_and_one_case_per_check() {
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "junit"])
        .output()
        .unwrap();
    let xml = stdout(&out);
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(xml.matches("<testcase ").count(), findings.len());
    let categories: std::collections::BTreeSet<&str> = findings
        .iter()
        .map(|f| f["category"].as_str().unwrap())
        .collect();
    assert_eq!(xml.matches("<testsuite ").count(), categories.len());
    let count = |o: &str| findings.iter().filter(|f| f["outcome"] == o).count();
    assert_eq!(xml.matches("<failure").count(), count("fail"));
    assert_eq!(xml.matches("<error").count(), count("error"));
    assert_eq!(xml.matches("<skipped").count(), count("skipped"));
}

#[test]
fn wait_ready_that_never_succeeds_exits_3_with_a_report_saying_why() {
    // Nothing listens: the report says the endpoint never answered.
    let dir = tempfile::tempdir().unwrap();
    let port = util::closed_port();
    let report = dir.path().join("r.json");
    let started = Instant::now();
    let out = readyprobe()
        .args([
            "audit",
            &format!("http://127.0.0.1:{port}/"),
            "--wait-ready",
            "2s",
            "-q",
            "--out",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(started.elapsed() < Duration::from_secs(15), "bounded");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "--wait-ready 2s: waiting for http://127.0.0.1:{port}/ to become ready"
        )),
        "what it waits for: {err}"
    );
    assert!(
        err.contains("--wait-ready 2s") && err.contains("did not become ready"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report is written"))
            .unwrap();
    assert_eq!(json["verdict"], "NO-GO");
    let reasons = json["verdict_reasons"].to_string();
    assert!(
        reasons.contains("Did not become ready within --wait-ready 2s")
            && reasons.contains("cannot connect"),
        "{reasons}"
    );
    assert_eq!(json["wait_ready"]["ready"], false);
    assert_eq!(json["wait_ready"]["budget_ms"], 2000);

    // A service that answers but is not ready: the report quotes the last answer's failing
    // component, in every format asked for.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = axum::Router::new()
        .route(
            "/readyz",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    [("content-type", "application/health+json")],
                    r#"{"status":"fail","checks":{"queue:connection":[{"status":"fail","output":"AMQP connection refused"}]}}"#,
                )
            }),
        )
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found") });
    let addr = rt.block_on(util::servers::http(app));
    let md = dir.path().join("r.md");
    let out = readyprobe()
        .args([
            "audit",
            &format!("http://{addr}/"),
            "--wait-ready",
            "2s",
            "--out",
        ])
        .arg(&report)
        .arg("--out")
        .arg(&md)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .take(5)
            .any(|l| l.contains("queue:connection (AMQP connection refused)")),
        "{stdout}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains(
            "/readyz last answered 503; failing: queue:connection (AMQP connection refused)"
        ),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        json["readiness"]["components"][0]["message"],
        "AMQP connection refused"
    );
    assert!(json["wait_ready"]["polls"].as_u64().unwrap() >= 2);
}

#[test]
fn wait_ready_polls_the_readiness_endpoint_and_records_the_time_until_ready() {
    // /readyz says "fail" for its first 1.5 s, then "pass"; every request is logged.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let up_at = Instant::now() + Duration::from_millis(1500);
    let seen: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let log = Arc::clone(&log);
        async move {
            log.lock()
                .unwrap()
                .push((uri.path().to_string(), Instant::now()));
            let ready = Instant::now() >= up_at;
            match uri.path() {
                "/readyz" if ready => (axum::http::StatusCode::OK, r#"{"status":"pass"}"#),
                "/readyz" => (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    r#"{"status":"fail"}"#,
                ),
                "/" => (axum::http::StatusCode::OK, "hello"),
                _ => (axum::http::StatusCode::NOT_FOUND, "not found"),
            }
        }
    });
    let addr = rt.block_on(util::servers::http(app));
    let out = readyprobe()
        .args([
            "audit",
            &format!("http://{addr}/"),
            "--wait-ready",
            "20s",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "--wait-ready 20s: polling http://{addr}/readyz (discovered readiness endpoint)"
        )),
        "{err}"
    );
    assert!(err.contains("is ready after"), "{err}");
    assert!(Instant::now() >= up_at);
    // Until it was ready, only readiness candidates were asked — never `/`.
    let early: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| *at < up_at)
        .map(|(p, _)| p.clone())
        .collect();
    assert!(early.iter().any(|p| p == "/readyz"), "{early:?}");
    assert!(!early.iter().any(|p| p == "/"), "{early:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let wait = &json["wait_ready"];
    assert_eq!(wait["ready"], true, "{wait:#}");
    assert_eq!(wait["url"], format!("http://{addr}/readyz"));
    assert!(wait["waited_ms"].as_u64().unwrap() >= 1000, "{wait:#}");
    assert!(
        json["scope"][0].as_str().unwrap().starts_with("Waited "),
        "{:#}",
        json["scope"]
    );
    assert!(json["requests_sent"].as_u64().unwrap() > wait["polls"].as_u64().unwrap());
    let ready_now = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == "health.ready_now")
        .unwrap();
    assert_eq!(ready_now["outcome"], "pass", "{ready_now:#}");
}

/// Extracts the `run:` scripts of a GitHub Actions workflow (block scalars and one-liners).
fn workflow_steps(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut steps = Vec::new();
    let mut name = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if let Some(n) = trimmed.strip_prefix("- name: ") {
            name = n.to_string();
        }
        if let Some(rest) = trimmed.strip_prefix("run: ") {
            if rest.trim() == "|" {
                let indent = line.len() - trimmed.len();
                let mut script = String::new();
                i += 1;
                while i < lines.len() {
                    let l = lines[i];
                    let ind = l.len() - l.trim_start().len();
                    if !l.trim().is_empty() && ind <= indent {
                        break;
                    }
                    script.push_str(l.trim_start());
                    script.push('\n');
                    i += 1;
                }
                steps.push((name.clone(), script));
                continue;
            }
            steps.push((name.clone(), rest.to_string()));
        }
        i += 1;
    }
    steps
}

#[test]
fn github_actions_example_runs_as_written_against_the_demo() {
    let workflow = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-actions.yml"),
    )
    .unwrap();
    let steps = workflow_steps(&workflow);
    assert!(steps.len() >= 3, "{steps:?}");
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(DemoProfile::Hardened, dir.path(), None);
    let bin = assert_cmd::cargo::cargo_bin("readyprobe");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let summary = dir.path().join("summary.md");
    for (name, script) in &steps {
        if name.starts_with("Install") {
            continue; // cargo install: the binary under test is already built
        }
        let out = Command::new("bash")
            .args(["-eo", "pipefail", "-c", script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("READYPROBE_TARGET", &demo.url)
            .env("READYPROBE_CA_FILE", &demo.ca)
            .env("STAGING_TOKEN", PLANTED)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "step {name:?} failed ({:?}): {}",
            out.status,
            stderr(&out)
        );
    }
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains(&demo.url.trim_end_matches('/').to_string()) || md.contains("127.0.0.1"),
        "{md}"
    );
    let junit = std::fs::read_to_string(dir.path().join("readiness-junit.xml")).unwrap();
    assert!(junit.contains("<testsuites"));
    for f in [
        "readiness.md",
        "readiness.json",
        "readiness.html",
        "readiness-junit.xml",
    ] {
        let text = std::fs::read_to_string(dir.path().join(f)).unwrap();
        assert!(!text.contains(PLANTED), "{f}");
    }
    demo.stop();
}

#[test]
fn stderr_has_no_progress_ticker_when_not_a_terminal() {
    let out = readyprobe()
        .args(["audit", "--demo", "-q"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains('⠋') && !err.contains('\r'), "{err:?}");
}

/// The spinner frames the ticker draws (`src/progress.rs`, `FRAMES`).
const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// util-linux `script`, which runs a command under a pseudo-terminal. Under CI its absence is a
/// failure; elsewhere the caller skips.
fn script_bin() -> Option<PathBuf> {
    let found = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        if util::in_ci() {
            panic!("util-linux `script` is not installed; CI=true requires it");
        }
        eprintln!("skipping: util-linux `script` is not installed (under CI=true this fails)");
    }
    found
}

/// `text` quoted for `sh -c`.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[test]
fn terminal_ticker_names_the_running_probes_and_elapsed_time_and_no_tty_gets_nothing() {
    let Some(script) = script_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let bin = assert_cmd::cargo::cargo_bin("readyprobe");
    // stdout goes to a file, so the pseudo-terminal carries stderr only: the ticker's frames.
    let command = format!(
        "{} audit --demo --format json > {}",
        sh_quote(&bin.to_string_lossy()),
        sh_quote(&report.to_string_lossy())
    );
    let mut cmd = assert_cmd::Command::new(script);
    for (key, _) in std::env::vars() {
        if key.starts_with("READYPROBE_") {
            cmd.env_remove(key);
        }
    }
    // indicatif draws nothing when `TERM` is unset or `dumb` (as on some CI runners).
    let out = cmd
        .env("NO_COLOR", "1")
        .env("TERM", "xterm-256color")
        .args(["-qfec", &command, "/dev/null"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&out.stdout).to_string();
    // The flawed demo fails the gate (1); either way the run ended with a report.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}: {tty}",
        out.status
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json["findings"].is_array());

    // indicatif (`src/progress.rs`) draws a frame padded with spaces to the terminal's width and
    // redraws by erasing the line first (`\r` + `ESC[2K`): `⠋ auditing https://127.0.0.1:PORT/ ·
    // 1.2s · tls, health +3`. The pseudo-terminal of `script` has no size set (its stdin is not
    // a terminal), for which indicatif assumes 80 columns.
    const ERASE: &str = "\r\x1b[2K";
    const COLUMNS: usize = 80;
    let frame = regex::Regex::new(
        r"^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] auditing https://127\.0\.0\.1:\d+/ · (\d+\.\d)s(?: · (.+))?$",
    )
    .unwrap();
    let pieces: Vec<&str> = tty.split(ERASE).collect();
    let frames: Vec<(f64, Option<String>)> = pieces
        .iter()
        .filter_map(|piece| {
            let c = frame.captures(piece.trim_end_matches(' '))?;
            // Never wider than the terminal, so never wrapped.
            let columns = piece.chars().count();
            assert!(columns <= COLUMNS, "{columns} columns: {piece:?}");
            Some((
                c[1].parse::<f64>().unwrap(),
                c.get(2).map(|m| m.as_str().to_string()),
            ))
        })
        .collect();
    assert!(frames.len() > 3, "{tty:?}");
    let known = [
        "tls",
        "health",
        "root page",
        "error pages",
        "metrics",
        "rate-limit burst",
        "load baseline",
        "dependency fault injection",
    ];
    let named: Vec<&str> = frames.iter().filter_map(|(_, n)| n.as_deref()).collect();
    assert!(
        named.iter().any(|n| known.iter().any(|k| n.contains(k))),
        "no frame names a probe: {named:?}"
    );
    // Elapsed time moves forward: the demo audit takes seconds.
    let last = frames.last().map_or(0.0, |(t, _)| *t);
    assert!(last >= 1.0, "{frames:?}");
    assert!(frames.windows(2).all(|w| w[0].0 <= w[1].0), "{frames:?}");
    // The ticker erases its line when the audit ends: after the last erase comes no frame,
    // only what the run prints afterwards (the gate's verdict).
    assert!(pieces.len() > 1, "{tty:?}");
    let after = pieces.last().unwrap();
    assert!(
        !after.contains(SPINNER) && !after.contains(" · "),
        "left on the line: {after:?}"
    );

    // The same run without a terminal (stderr piped, no -q): not one byte of ticker.
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "json"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        !err.contains(SPINNER) && !err.contains('\r') && !err.contains('\x1b'),
        "{err:?}"
    );
    assert!(!err.contains(" · "), "{err:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["findings"].is_array());
}

// ---------------------------------------------------------------------------------------------
// Record / replay

#[test]
fn recording_rejudged_offline_gives_the_same_outcomes_and_follows_a_new_config() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.json");
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "json", "--record"])
        .arg(&rec)
        .output()
        .unwrap();
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = readyprobe()
        .args(["judge", "--format", "json"])
        .arg(&rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "NO-GO again: {}", stderr(&out));
    let replay: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = |r: &serde_json::Value| -> Vec<(String, String)> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["check_id"].to_string(), f["outcome"].to_string()))
            .collect()
    };
    assert_eq!(outcomes(&live), outcomes(&replay));
    assert_eq!(live["overall_score"], replay["overall_score"]);
    assert_eq!(replay["requests_sent"], 0);

    let cfg = dir.path().join("other.toml");
    std::fs::write(&cfg, "[checks]\ndisable = [\"headers.csp\"]\n").unwrap();
    let out = readyprobe()
        .args(["judge", "--format", "json", "--config"])
        .arg(&cfg)
        .arg(&rec)
        .output()
        .unwrap();
    let rejudged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let csp = rejudged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == "headers.csp")
        .unwrap();
    assert_eq!(csp["outcome"], "skipped");

    std::fs::write(dir.path().join("junk.json"), "{\"hello\": 1}").unwrap();
    let out = readyprobe()
        .arg("judge")
        .arg(dir.path().join("junk.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a readyprobe recording"));
}

// ---------------------------------------------------------------------------------------------
// History

/// A local webhook receiver collecting every POST body.
fn webhook_receiver(rt: &tokio::runtime::Runtime) -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                if let Ok(v) = serde_json::from_slice(&body) {
                    sink.lock().unwrap().push(v);
                }
                "ok"
            }
        }),
    );
    let addr = rt.block_on(util::servers::http(app));
    (format!("http://{addr}/hook"), got)
}

/// Cron runs of the same URL (one port), one per profile in order, each with
/// `--fail-on-regression` and the same store (and webhook). Returns each run's exit code and
/// stderr.
fn cron_runs(
    store: &str,
    dir: &Path,
    webhook: Option<&str>,
    profiles: &[DemoProfile],
) -> Vec<(Option<i32>, String)> {
    let port = util::closed_port();
    let mut runs = Vec::new();
    for &profile in profiles {
        let demo = Demo::start(profile, dir, Some(port));
        let mut cmd = readyprobe();
        cmd.args([
            "audit",
            &demo.url,
            "-q",
            "--fail-on-regression",
            "--store",
            store,
            "--ca-file",
        ])
        .arg(&demo.ca);
        if let Some(url) = webhook {
            cmd.args(["--webhook", url]);
        }
        let out = cmd.output().unwrap();
        runs.push((out.status.code(), stderr(&out)));
        demo.stop();
    }
    runs
}

/// Two cron runs of the same URL: hardened, then flawed (a bad deploy). Returns the stderr of
/// the second run and its exit code.
fn two_runs(store: &str, dir: &Path, webhook: Option<&str>) -> (String, Option<i32>) {
    let mut runs = cron_runs(
        store,
        dir,
        webhook,
        &[DemoProfile::Hardened, DemoProfile::Flawed],
    );
    assert_eq!(
        runs[0].0,
        Some(0),
        "first run: hardened passes: {}",
        runs[0].1
    );
    let (code, err) = runs.pop().unwrap();
    (err, code)
}

#[test]
fn sqlite_history_two_runs_show_the_regression_in_diff_and_trigger_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.sqlite");
    let store = format!("sqlite:{}", db.display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (hook, got) = webhook_receiver(&rt);
    let (err, code) = two_runs(&store, dir.path(), Some(&hook));
    assert_eq!(code, Some(1), "a regression fails: {err}");
    assert!(err.contains("--fail-on-regression"), "{err}");
    assert!(err.contains("New failures"), "{err}");
    assert!(err.contains("webhook notified (regression)"), "{err}");
    let bodies = got.lock().unwrap().clone();
    assert_eq!(bodies.len(), 1, "one POST, on the second run: {bodies:?}");
    assert_eq!(bodies[0]["event"], "regression");
    assert_ne!(bodies[0]["previous_verdict"], "NO-GO");
    assert_eq!(bodies[0]["verdict"], "NO-GO");
    assert!(!bodies[0]["new_failures"].as_array().unwrap().is_empty());

    let out = readyprobe()
        .args(["diff", "--store", &store])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("run 1 → run 2: verdict GO") && text.contains("→ NO-GO"),
        "{text}"
    );
    assert!(
        text.contains("New failures") && text.contains("headers.csp"),
        "{text}"
    );
    assert!(text.contains("Category scores:"), "{text}");

    let out = readyprobe()
        .args(["diff", "1", "2", "--store", &store, "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["score_delta"].as_f64().unwrap() < 0.0);

    let out = readyprobe()
        .args(["history", "--store", &store])
        .output()
        .unwrap();
    let table = stdout(&out);
    assert!(table.contains("NO-GO") && table.contains("GO"), "{table}");
    assert!(table.contains('↓'), "trend arrow: {table}");
}

#[test]
fn webhook_tells_a_verdict_change_alone_once_and_a_repeated_verdict_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("history.sqlite").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (hook, got) = webhook_receiver(&rt);
    // A fix deployed (flawed → hardened), then the same hardened service again.
    let runs = cron_runs(
        &store,
        dir.path(),
        Some(&hook),
        &[
            DemoProfile::Flawed,
            DemoProfile::Hardened,
            DemoProfile::Hardened,
        ],
    );
    let bodies = |n: usize| -> Vec<serde_json::Value> {
        let bodies = got.lock().unwrap().clone();
        assert_eq!(bodies.len(), n, "{bodies:?} {runs:?}");
        bodies
    };

    // First run: nothing to compare with, nothing sent.
    let (code, err) = &runs[0];
    assert_eq!(*code, Some(1), "the flawed demo fails the gate: {err}");
    assert!(err.contains("the first run of this target"), "{err}");
    assert!(!err.contains("webhook"), "{err}");

    // Second run: better, and the verdict changed; no regression, so not a failure.
    let (code, err) = &runs[1];
    assert_eq!(*code, Some(0), "an improvement passes: {err}");
    assert!(!err.contains("--fail-on-regression"), "{err}");
    assert!(err.contains("Fixed ("), "{err}");
    assert!(err.contains("webhook notified (verdict_change)"), "{err}");
    let body = &bodies(1)[0];
    assert_eq!(body["event"], "verdict_change", "{body}");
    assert_eq!(body["previous_verdict"], "NO-GO", "{body}");
    assert_ne!(body["verdict"], "NO-GO", "{body}");
    assert!(body["regressions"].as_array().unwrap().is_empty(), "{body}");
    assert!(!body["fixed"].as_array().unwrap().is_empty(), "{body}");
    assert!(
        body["overall_score"].as_f64().unwrap() > body["previous_score"].as_f64().unwrap(),
        "{body}"
    );
    assert_eq!(body["run_id"], 2, "{body}");
    assert_eq!(body["previous_run_id"], 1, "{body}");

    // Third run: the same verdict and no regression, nothing to tell.
    let (code, err) = &runs[2];
    assert_eq!(*code, Some(0), "{err}");
    assert!(err.contains("recorded run 3"), "{err}");
    assert!(!err.contains("webhook"), "{err}");
    bodies(1);
}

#[test]
fn unwritable_store_and_corrupt_sqlite_exit_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/h.sqlite");
    let out = readyprobe()
        .args(["audit", "--demo", "-q", "--store"])
        .arg(format!("sqlite:{}", missing.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(err.contains("writable"), "{err}");

    let corrupt = dir.path().join("corrupt.sqlite");
    std::fs::write(&corrupt, b"this is not a database, just some text that is long enough to be read by sqlite as a header page..............").unwrap();
    let out = readyprobe()
        .args(["history", "--store"])
        .arg(&corrupt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&corrupt.display().to_string()), "{err}");
    assert!(err.contains("not a readyprobe history database"), "{err}");

    let out = readyprobe()
        .args(["audit", "--demo", "-q", "--webhook", "ftp://x/", "--store"])
        .arg(dir.path().join("ok.sqlite"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--webhook"));
}

#[test]
fn webhook_failure_is_reported_but_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("h.sqlite").display());
    let hook = format!("http://127.0.0.1:{}/hook", util::closed_port());
    let (err, code) = two_runs(&store, dir.path(), Some(&hook));
    assert_eq!(code, Some(1), "still the regression's exit code: {err}");
    assert!(
        err.contains("warning: webhook") && err.contains("not fatal"),
        "{err}"
    );
}

#[test]
fn postgres_history_records_two_runs_and_diff_shows_the_change() {
    if !util::require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    util::crypto();
    let schema = format!("readyprobe_test_{}", std::process::id());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let admin = "postgres://postgres@127.0.0.1:5432/test";
    let pool = rt
        .block_on(sqlx::PgPool::connect(admin))
        .expect("connect to the machine's PostgreSQL");
    rt.block_on(sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&pool))
        .unwrap();
    struct DropSchema<'a>(&'a tokio::runtime::Runtime, &'a sqlx::PgPool, String);
    impl Drop for DropSchema<'_> {
        fn drop(&mut self) {
            let _ = self.0.block_on(
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE",
                    self.2
                )))
                .execute(self.1),
            );
        }
    }
    let _guard = DropSchema(&rt, &pool, schema.clone());
    let store = format!("{admin}?options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let (err, code) = two_runs(&store, dir.path(), None);
    assert_eq!(code, Some(1), "{err}");
    let out = readyprobe()
        .args(["diff", "--store", &store])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("→ NO-GO") && text.contains("New failures"),
        "{text} {}",
        stderr(&out)
    );
    let runs: i64 = rt
        .block_on(
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {schema}.readyprobe_runs"
            )))
            .fetch_one(&pool),
        )
        .unwrap();
    assert_eq!(runs, 2, "the tables live in the test's own schema");
}

// ---------------------------------------------------------------------------------------------
// Fleet

#[test]
fn fleet_audits_every_good_line_names_the_bad_one_and_exits_with_the_worst_code() {
    let dir = tempfile::tempdir().unwrap();
    let hardened = Demo::start(DemoProfile::Hardened, dir.path(), None);
    let flawed = Demo::start(DemoProfile::Flawed, dir.path(), None);
    let ca = dir.path().join("both.pem");
    std::fs::write(
        &ca,
        std::fs::read_to_string(&hardened.ca).unwrap()
            + &std::fs::read_to_string(&flawed.ca).unwrap(),
    )
    .unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        format!(
            "# staging fleet\n{}\nnot-a-url\n\n{}  # the flawed one\n",
            hardened.url, flawed.url
        ),
    )
    .unwrap();
    let out_dir = dir.path().join("reports");
    let out = readyprobe()
        .args(["audit", "--fleet-concurrency", "2", "--targets"])
        .arg(&targets)
        .arg("--ca-file")
        .arg(&ca)
        .arg("--out-dir")
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = stderr(&out);
    let table = stdout(&out);
    assert!(
        err.contains("targets.txt:3:") && err.contains("not-a-url"),
        "{err}"
    );
    assert!(table.contains("GO") && table.contains("NO-GO"), "{table}");
    assert_eq!(
        out.status.code(),
        Some(2),
        "worst of 0, 1 and the bad line's 2"
    );
    let files: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(files.len(), 6, "json, md and html per target");
    hardened.stop();
    flawed.stop();
}

// ---------------------------------------------------------------------------------------------
// HTML in a real browser

fn chromium() -> Option<PathBuf> {
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return Some(PathBuf::from(c));
        }
    }
    if util::in_ci() {
        panic!("chromium is not installed; CI=true requires it (.ci/run installs it)");
    }
    eprintln!("skipping: chromium is not installed (under CI=true this fails)");
    None
}

/// Decodes a PNG's pixel rows (zlib of the IDAT chunks) and counts distinct RGB triples.
fn png_colours(png: &[u8]) -> (u32, u32, usize) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let mut pos = 8;
    let (mut w, mut h, mut bpp) = (0u32, 0u32, 4usize);
    let mut idat = Vec::new();
    while pos + 8 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        if kind == b"IHDR" {
            w = u32::from_be_bytes(data[0..4].try_into().unwrap());
            h = u32::from_be_bytes(data[4..8].try_into().unwrap());
            bpp = match data[9] {
                2 => 3,
                6 => 4,
                _ => 4,
            };
        } else if kind == b"IDAT" {
            idat.extend_from_slice(data);
        }
        pos += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    // Undo the per-row filters to get real pixels.
    let stride = w as usize * bpp;
    let mut prev = vec![0u8; stride];
    let mut colours = std::collections::HashSet::new();
    for row in raw.chunks(stride + 1).take(h as usize) {
        let (filter, data) = (row[0], &row[1..]);
        let mut cur = vec![0u8; stride];
        for i in 0..stride.min(data.len()) {
            let a = if i >= bpp { cur[i - bpp] as i16 } else { 0 };
            let b = prev[i] as i16;
            let c = if i >= bpp { prev[i - bpp] as i16 } else { 0 };
            let x = data[i] as i16;
            cur[i] = match filter {
                0 => x,
                1 => x + a,
                2 => x + b,
                3 => x + (a + b) / 2,
                _ => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    x + if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
            } as u8;
        }
        for px in cur.chunks(bpp) {
            colours.insert((px[0], px[1], px[2]));
        }
        prev = cur;
    }
    (w, h, colours.len())
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = readyprobe()
        .args(["audit", "--demo", "-q", "--out"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg class=\"gauge\"") && page.contains("NO-GO"));
    let png = dir.path().join("shot.png");
    let profile = dir.path().join("chrome-profile");
    let mut child = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(
        bytes.len() > 20_000,
        "a non-trivial page: {} bytes",
        bytes.len()
    );
    let (w, h, colours) = png_colours(&bytes);
    assert_eq!((w, h), (1200, 1600));
    assert!(colours > 50, "the page is not blank: {colours} colours");
    if let Ok(keep) = std::env::var("READYPROBE_KEEP_SCREENSHOT") {
        let _ = std::fs::copy(&png, keep);
    }
}

// ---------------------------------------------------------------------------------------------
// serve + a real Prometheus

/// A child process killed on drop.
pub(crate) struct ChildGuard(pub(crate) Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn wait_port(addr: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

pub(crate) fn http_get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        match client.get(url).send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.text().await.unwrap_or_default())
            }
            Err(e) => (0, e.to_string()),
        }
    })
}

fn start_serve(ca: &Path) -> (ChildGuard, String) {
    let port = util::closed_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(assert_cmd::cargo::cargo_bin("readyprobe"))
        .args(["serve", "--listen", &addr, "--ca-file"])
        .arg(ca)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = ChildGuard(child);
    assert!(
        wait_port(&addr, Duration::from_secs(20)),
        "serve did not listen"
    );
    (guard, addr)
}

#[test]
fn serve_probes_http_targets_refuses_others_and_exports_its_own_metrics() {
    util::crypto();
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(DemoProfile::Hardened, dir.path(), None);
    let (_serve, addr) = start_serve(&demo.ca);
    let (status, body) = http_get(&format!("http://{addr}/healthz"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_get(&format!("http://{addr}/probe?target=ftp://127.0.0.1/"));
    assert_eq!(status, 400);
    assert!(body.contains("http:// or https://"), "{body}");
    let (status, _) = http_get(&format!(
        "http://{addr}/probe?target={}&profile=nope",
        demo.url
    ));
    assert_eq!(status, 400);
    let (status, body) = http_get(&format!(
        "http://{addr}/probe?target={}&profile=production",
        demo.url
    ));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("readyprobe_probe_success 1"), "{body}");
    assert!(body.contains("readyprobe_overall_score "), "{body}");
    assert!(
        body.contains("readyprobe_verdict{verdict=\"NO-GO\"} 0"),
        "{body}"
    );
    assert!(body.contains("readyprobe_info{version="), "{body}");
    assert!(body.contains("profile=\"production\""), "{body}");
    let (_, metrics) = http_get(&format!("http://{addr}/metrics"));
    assert!(
        metrics.contains("readyprobe_exporter_probes_total{result=\"success\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("readyprobe_exporter_probes_total{result=\"rejected\"} 2"),
        "{metrics}"
    );
    demo.stop();
}

pub(crate) fn prometheus_bin() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/prometheus");
    if p.exists() {
        return Some(p);
    }
    if util::in_ci() {
        panic!("prometheus is not installed; CI=true requires it (.ci/run installs it)");
    }
    eprintln!("skipping: /usr/bin/prometheus is not installed (under CI=true this fails)");
    None
}

#[test]
fn prometheus_scrapes_scores_for_two_targets_from_serve() {
    let Some(prom) = prometheus_bin() else { return };
    util::crypto();
    let dir = tempfile::tempdir().unwrap();
    let hardened = Demo::start(DemoProfile::Hardened, dir.path(), None);
    let flawed = Demo::start(DemoProfile::Flawed, dir.path(), None);
    let ca = dir.path().join("both.pem");
    std::fs::write(
        &ca,
        std::fs::read_to_string(&hardened.ca).unwrap()
            + &std::fs::read_to_string(&flawed.ca).unwrap(),
    )
    .unwrap();
    let (_serve, serve_addr) = start_serve(&ca);
    let prom_port = util::closed_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            r#"global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: readyprobe
    metrics_path: /probe
    params:
      profile: [staging]
    static_configs:
      - targets: ["{h}", "{f}"]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: "{serve_addr}"
"#,
            h = hardened.url,
            f = flawed.url
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let child = Command::new(prom)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let _prom = ChildGuard(child);
    let api = format!("http://127.0.0.1:{prom_port}/api/v1/query?query=readyprobe_overall_score");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let found = loop {
        if Instant::now() > deadline {
            break None;
        }
        let (status, body) = http_get(&api);
        if status == 200 {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if json["data"]["result"]
                .as_array()
                .is_some_and(|r| r.len() == 2)
            {
                break Some(json);
            }
        }
        last = body;
        std::thread::sleep(Duration::from_millis(500));
    };
    let Some(json) = found else {
        let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
        panic!("Prometheus never had both series: {last}\n{log}");
    };
    let mut scores = std::collections::BTreeMap::new();
    for r in json["data"]["result"].as_array().unwrap() {
        let instance = r["metric"]["instance"].as_str().unwrap().to_string();
        let value: f64 = r["value"][1].as_str().unwrap().parse().unwrap();
        scores.insert(instance, value);
    }
    let h = scores[&hardened.url];
    let f = scores[&flawed.url];
    assert!(h > f, "hardened {h} scores above flawed {f}");
    hardened.stop();
    flawed.stop();
}

#[test]
fn grafana_dashboard_and_scrape_example_use_metrics_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("examples/grafana-dashboard.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let text = dashboard.to_string();
    let out = readyprobe()
        .args(["audit", "--demo", "--format", "prometheus"])
        .output()
        .unwrap();
    let exposition = stdout(&out);
    assert!(
        exposition.contains("readyprobe_probe_success{target="),
        "{exposition}"
    );
    let exporter_metrics = [
        "readyprobe_exporter_probes_total",
        "readyprobe_exporter_probe_duration_seconds_sum",
        "readyprobe_exporter_probe_duration_seconds_count",
    ];
    let names: std::collections::BTreeSet<String> = regex::Regex::new(r"readyprobe_[a-z_]+")
        .unwrap()
        .find_iter(&text)
        .map(|m| m.as_str().to_string())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        assert!(
            exposition.contains(&format!("\n{name}")) || exporter_metrics.contains(&name.as_str()),
            "the dashboard queries {name}, which readyprobe does not export"
        );
    }
    let scrape = std::fs::read_to_string(root.join("examples/prometheus.yml")).unwrap();
    assert!(scrape.contains("metrics_path: /probe") && scrape.contains("__param_target"));
}
