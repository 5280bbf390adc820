//! Fault injection and supervised runs end to end: the real `readyprobe audit` binary starts the
//! real `readyprobe demo` as a separate process, puts its fault proxy between the demo and the
//! machine's PostgreSQL, cuts it, stops the demo with SIGTERM and reads its logs.
//!
//! What belongs here: `health.fault.*`, `ops.graceful_shutdown`, `ops.fail_fast_config` and
//! `logging.*` against real processes and a real database, plus the bad inputs of supervision
//! (unreachable upstream, a missing command, one that exits at once, one that ignores SIGTERM).
//! Every test ends by proving nothing is left behind: the ports are free and the pids gone.
//! Timings are only asserted where correctness needs them, with generous bounds.

use crate::util::{DemoPorts as Ports, free_port};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{readyprobe, require_service};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("readyprobe")
}

/// The `readyprobe demo` command line for a profile, as a TOML array.
fn demo_command(profile: &str, ports: &Ports, dir: &Path) -> String {
    let args = [
        bin().display().to_string(),
        "demo".into(),
        "--profile".into(),
        profile.into(),
        "--listen".into(),
        format!("127.0.0.1:{}", ports.https),
        "--http-listen".into(),
        format!("127.0.0.1:{}", ports.http),
        "--ca-out".into(),
        dir.join("ca.pem").display().to_string(),
        "--access-log".into(),
    ];
    format!(
        "[{}]",
        args.iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn readiness_path(profile: &str) -> &'static str {
    if profile == "hardened" {
        "/readyz"
    } else {
        "/ready"
    }
}

/// A config: the demo supervised with its database behind the fault proxy.
fn supervised_config(
    profile: &str,
    ports: &Ports,
    dir: &Path,
    upstream: &str,
    dependency: &str,
) -> String {
    format!(
        r#"target = "https://127.0.0.1:{https}/"

[run]
ca_file = "{ca}"
deadline = "120s"

[supervise]
command = {command}
env = {{ READYPROBE_DEMO_DEPENDENCY = "{dependency}" }}
readiness_url = "https://127.0.0.1:{https}{ready}"
grace_period = "8s"
startup_timeout = "30s"
slow_path = "/api/export"
invalid_env = {{ READYPROBE_DEMO_DEPENDENCY = "not-an-address" }}
fail_fast_within = "3s"

[[fault.proxy]]
name = "database"
listen = "127.0.0.1:{proxy}"
upstream = "{upstream}"

[fault]
detect_window = "3s"
recover_window = "10s"

[logs]
source = "supervised"
"#,
        https = ports.https,
        proxy = ports.proxy,
        ca = dir.join("ca.pem").display(),
        command = demo_command(profile, ports, dir),
        ready = readiness_path(profile),
    )
}

fn audit(config: &str, dir: &Path) -> (i32, serde_json::Value, String) {
    let path = dir.join("readyprobe.toml");
    std::fs::write(&path, config).expect("write config");
    let out = readyprobe()
        .args(["audit", "--format", "json", "--config"])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
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

fn outcome(f: &BTreeMap<String, serde_json::Value>, id: &str) -> String {
    f.get(id).unwrap_or_else(|| panic!("{id} missing"))["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn text(f: &BTreeMap<String, serde_json::Value>, id: &str) -> String {
    let finding = &f[id];
    let mut all = finding["summary"].as_str().unwrap_or_default().to_string();
    for e in finding["evidence"].as_array().into_iter().flatten() {
        all.push('\n');
        all.push_str(e.as_str().unwrap_or_default());
    }
    all
}

/// True while a process with this pid runs (a zombie waiting for its reaper does not count).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn flawed_demo_fails_fault_shutdown_fail_fast_and_log_checks() {
    if !require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let dependency = format!("postgres://postgres@127.0.0.1:{}/test", ports.proxy);
    let config = supervised_config("flawed", &ports, dir.path(), "127.0.0.1:5432", &dependency);
    let (code, report, stderr) = audit(&config, dir.path());
    assert_eq!(code, 1, "gate fails; stderr: {stderr}");
    let f = findings(&report);

    assert_eq!(outcome(&f, "health.fault.readiness_flips"), "fail");
    assert_eq!(f["health.fault.readiness_flips"]["severity"], "high");
    let flips = text(&f, "health.fault.readiness_flips");
    assert!(
        flips.contains("readiness stayed 200 for 3 s after the database was cut"),
        "{flips}"
    );
    assert_eq!(outcome(&f, "health.fault.liveness_stable"), "pass");

    assert_eq!(outcome(&f, "ops.graceful_shutdown"), "fail");
    let shutdown = text(&f, "ops.graceful_shutdown");
    assert!(
        shutdown.contains("in-flight requests were dropped"),
        "{shutdown}"
    );
    assert!(shutdown.contains("no process left behind"), "{shutdown}");

    assert_eq!(outcome(&f, "ops.fail_fast_config"), "fail");
    assert!(text(&f, "ops.fail_fast_config").contains("kept running"));

    assert_eq!(outcome(&f, "logging.redaction"), "fail");
    let redaction = text(&f, "logging.redaction");
    assert!(redaction.contains("«canary password field»"), "{redaction}");
    assert!(
        !redaction.contains("rpCanaryPw"),
        "a canary value leaked into the report"
    );
    assert_eq!(outcome(&f, "logging.structured"), "warn");

    ports.assert_free();
}

#[test]
fn hardened_demo_passes_with_measured_detect_and_recover_times() {
    if !require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let dependency = format!("postgres://postgres@127.0.0.1:{}/test", ports.proxy);
    let config = supervised_config(
        "hardened",
        &ports,
        dir.path(),
        "127.0.0.1:5432",
        &dependency,
    );
    let (_, report, stderr) = audit(&config, dir.path());
    let f = findings(&report);
    for id in [
        "health.fault.readiness_flips",
        "health.fault.liveness_stable",
        "health.fault.recovery",
        "ops.graceful_shutdown",
        "ops.fail_fast_config",
        "logging.redaction",
        "logging.structured",
        "logging.request_id",
    ] {
        assert_eq!(
            outcome(&f, id),
            "pass",
            "{id}: {}\nstderr: {stderr}",
            text(&f, id)
        );
    }
    let flips = text(&f, "health.fault.readiness_flips");
    assert!(flips.contains("time to detect: database in "), "{flips}");
    assert!(flips.contains("readiness turned 503"), "{flips}");
    let recovery = text(&f, "health.fault.recovery");
    assert!(
        recovery.contains("time to recover: database in "),
        "{recovery}"
    );
    let shutdown = text(&f, "ops.graceful_shutdown");
    assert!(shutdown.contains("exited with status 0"), "{shutdown}");
    assert!(shutdown.contains("answered 503"), "{shutdown}");

    ports.assert_free();
}

#[test]
fn unreachable_proxy_upstream_is_an_error_finding_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let closed = free_port();
    // The demo keeps its built-in database; only the proxy's upstream is dead.
    let mut config = supervised_config(
        "hardened",
        &ports,
        dir.path(),
        &format!("127.0.0.1:{closed}"),
        "",
    );
    config = config.replace("env = { READYPROBE_DEMO_DEPENDENCY = \"\" }\n", "");
    config = config.replace(
        "invalid_env = { READYPROBE_DEMO_DEPENDENCY = \"not-an-address\" }\n",
        "",
    );
    let (_, report, stderr) = audit(&config, dir.path());
    let f = findings(&report);
    assert_eq!(
        outcome(&f, "health.fault.readiness_flips"),
        "error",
        "stderr: {stderr}"
    );
    let flips = text(&f, "health.fault.readiness_flips");
    assert!(
        flips.contains(&format!("upstream 127.0.0.1:{closed} unreachable")),
        "{flips}"
    );
    assert_eq!(outcome(&f, "ops.fail_fast_config"), "skipped");
    ports.assert_free();
}

#[test]
fn supervised_command_that_does_not_exist_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let proxy = free_port();
    let config = format!(
        "target = \"http://127.0.0.1:9/\"\n[supervise]\ncommand = [\"/nonexistent/readyprobe-no-such-service\"]\n\
         [[fault.proxy]]\nname = \"database\"\nlisten = \"127.0.0.1:{proxy}\"\nupstream = \"127.0.0.1:5432\"\n"
    );
    let (code, _, stderr) = audit(&config, dir.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "supervise.command: cannot start \"/nonexistent/readyprobe-no-such-service\""
        ),
        "{stderr}"
    );
    assert!(
        TcpListener::bind(("127.0.0.1", proxy)).is_ok(),
        "proxy port left open"
    );
}

#[test]
fn supervised_command_that_exits_at_once_exits_3_with_its_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = "target = \"http://127.0.0.1:9/\"\n[supervise]\n\
         command = [\"sh\", \"-c\", \"echo 'FATAL: DATABASE_URL is not set' >&2; exit 3\"]\n\
         readiness_url = \"http://127.0.0.1:9/readyz\"\n";
    let (code, report, stderr) = audit(config, dir.path());
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("the service exited (status 3)"), "{stderr}");
    assert!(
        stderr.contains("FATAL: DATABASE_URL is not set"),
        "{stderr}"
    );
    // The report says why too.
    assert_eq!(report["verdict"], "NO-GO", "{report:#}");
    let reasons = report["verdict_reasons"].to_string();
    assert!(
        reasons.contains("the service exited (status 3)")
            && reasons.contains("FATAL: DATABASE_URL is not set"),
        "{reasons}"
    );
}

#[test]
fn service_ignoring_sigterm_is_killed_after_the_grace_period_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let shell_pid = dir.path().join("shell.pid");
    let demo_pid = dir.path().join("demo.pid");
    // A wrapper that ignores SIGTERM and keeps a child (the demo) running: SIGTERM goes to the
    // wrapper only, so only the kill of the whole process group can end both.
    let script = format!(
        "trap '' TERM; echo $$ > {shell}; {demo} & echo $! > {child}; wait",
        shell = shell_pid.display(),
        child = demo_pid.display(),
        demo = demo_command("hardened", &ports, dir.path())
            .trim_start_matches('[')
            .trim_end_matches(']')
            .replace("\", \"", " ")
            .replace('"', ""),
    );
    let config = format!(
        r#"target = "https://127.0.0.1:{https}/"
[run]
ca_file = "{ca}"
[supervise]
command = ["sh", "-c", {script:?}]
readiness_url = "https://127.0.0.1:{https}/readyz"
grace_period = "2s"
slow_path = "/api/export"
"#,
        https = ports.https,
        ca = dir.path().join("ca.pem").display(),
    );
    let (_, report, stderr) = audit(&config, dir.path());
    let f = findings(&report);
    assert_eq!(
        outcome(&f, "ops.graceful_shutdown"),
        "fail",
        "stderr: {stderr}"
    );
    let shutdown = text(&f, "ops.graceful_shutdown");
    assert!(shutdown.contains("killed with SIGKILL"), "{shutdown}");
    assert!(shutdown.contains("grace period 2 s"), "{shutdown}");
    assert!(shutdown.contains("no process left behind"), "{shutdown}");

    for file in [&shell_pid, &demo_pid] {
        let pid: u32 = std::fs::read_to_string(file)
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        let mut gone = false;
        for _ in 0..50 {
            if !alive(pid) {
                gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(gone, "pid {pid} ({}) is still running", file.display());
    }
    // Only the demo's own listeners were used (no proxy configured).
    Ports {
        proxy: free_port(),
        ..ports
    }
    .assert_free();
}

// ---- A standalone `readyprobe proxy` driven through its control endpoint ----

/// A child process killed (and reaped) when the test ends, whatever way it ends.
struct Spawned(std::process::Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `readyprobe proxy` with a control endpoint and waits until it says it is listening.
fn spawn_proxy(listen: u16, upstream: &str, control: u16, token: Option<&str>) -> Spawned {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "proxy",
        "--name",
        "database",
        "--listen",
        &format!("127.0.0.1:{listen}"),
        "--upstream",
        upstream,
        "--control",
        &format!("127.0.0.1:{control}"),
    ])
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null());
    if let Some(token) = token {
        cmd.args(["--control-token-env", "RP_TEST_PROXY_TOKEN"])
            .env("RP_TEST_PROXY_TOKEN", token);
    }
    let mut child = Spawned(cmd.spawn().expect("spawn readyprobe proxy"));
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && line.starts_with("control endpoint on")
        {
            return child;
        }
    }
    panic!("readyprobe proxy did not report its control endpoint within 20 s");
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
fn control(port: u16, method: &str, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect control");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read");
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {raw:?}"));
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn connects(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn standalone_proxy_control_endpoint_cuts_restores_and_bounds_every_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The upstream: a plain listener this test owns.
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let upstream_addr = upstream.local_addr().expect("addr").to_string();
    let (listen, port) = (free_port(), free_port());
    let token = "rpCanaryProxyToken";
    let proxy = spawn_proxy(listen, &upstream_addr, port, Some(token));

    let (status, body) = control(port, "GET", "/status", None);
    assert_eq!(status, 401, "{body}");
    assert!(!body.to_string().contains(token));
    assert_eq!(control(port, "GET", "/status", Some("wrong")).0, 401);

    let (status, body) = control(port, "GET", "/status", Some(token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "database");
    assert_eq!(body["upstream"], upstream_addr.as_str());
    assert_eq!(body["cut"], false);
    assert!(body.get("upstream_error").is_none(), "{body}");
    assert!(connects(listen));

    // A cut past --max-cut (10m by default) or of no duration is refused, naming `for`.
    let (status, body) = control(port, "POST", "/cut?for=2h", Some(token));
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("for: "),
        "{body}"
    );
    assert_eq!(control(port, "POST", "/cut?for=soon", Some(token)).0, 400);
    assert_eq!(control(port, "GET", "/cut", Some(token)).0, 405);
    assert_eq!(control(port, "GET", "/nope", Some(token)).0, 404);

    // Cut, then restore by hand.
    let (status, body) = control(port, "POST", "/cut?for=30s", Some(token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cut"], true);
    assert!(
        body["restores_in_ms"]
            .as_u64()
            .is_some_and(|ms| ms <= 30_000),
        "{body}"
    );
    assert!(
        !connects(listen),
        "new connections must be refused while cut"
    );
    let (status, body) = control(port, "POST", "/restore", Some(token));
    assert_eq!(
        (status, &body["cut"]),
        (200, &serde_json::Value::Bool(false))
    );
    let back = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        connects(listen)
    });
    assert!(back, "the listener did not come back after /restore");

    // A cut nobody lifts restores itself when its `for` runs out.
    let (status, _) = control(port, "POST", "/cut?for=1s", Some(token));
    assert_eq!(status, 200);
    assert!(!connects(listen));
    let restored = (0..60).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        control(port, "GET", "/status", Some(token)).1["cut"] == false
    });
    assert!(restored, "the 1 s cut did not restore itself");
    assert!((0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        connects(listen)
    }));

    // The upstream going away shows in /status.
    drop(upstream);
    let (_, body) = control(port, "GET", "/status", Some(token));
    assert!(body["upstream_error"].is_string(), "{body}");

    // SIGTERM stops it cleanly and frees both ports.
    let mut proxy = proxy;
    let pid = proxy.0.id();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = proxy.0.try_wait().expect("wait") {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        exited.and_then(|s| s.code()),
        Some(0),
        "proxy did not exit 0 on SIGTERM"
    );
    for p in [listen, port] {
        assert!(
            TcpListener::bind(("127.0.0.1", p)).is_ok(),
            "port {p} left open"
        );
    }
    drop(dir);
}

#[test]
fn standalone_proxy_refuses_an_open_control_address_without_a_token() {
    let out = readyprobe()
        .args([
            "proxy",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--upstream",
            "127.0.0.1:5432",
            "--control",
            "0.0.0.0:0",
        ])
        .timeout(Duration::from_secs(20))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("set --control-token-env"), "{stderr}");
}

/// Starts `readyprobe demo` on its own (not supervised), its database at `dependency`.
fn spawn_demo(profile: &str, ports: &Ports, dir: &Path, dependency: &str) -> Spawned {
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "demo",
        "--profile",
        profile,
        "--listen",
        &format!("127.0.0.1:{}", ports.https),
        "--http-listen",
        &format!("127.0.0.1:{}", ports.http),
        "--ca-out",
    ])
    .arg(dir.join("ca.pem"))
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    if !dependency.is_empty() {
        cmd.args(["--dependency", dependency]);
    }
    Spawned(cmd.spawn().expect("spawn readyprobe demo"))
}

/// Audits the demo with one remote `[[fault.proxy]]`, waiting for it to be ready first.
fn audit_remote(
    ports: &Ports,
    dir: &Path,
    control_port: u16,
    token: &str,
) -> (i32, serde_json::Value, String) {
    let config = format!(
        r#"target = "https://127.0.0.1:{https}/"

[run]
ca_file = "{ca}"
deadline = "60s"

[[fault.proxy]]
name = "database"
control = "http://127.0.0.1:{control_port}"
token_env = "RP_TEST_PROXY_TOKEN"

[fault]
detect_window = "3s"
recover_window = "10s"
"#,
        https = ports.https,
        ca = dir.join("ca.pem").display(),
    );
    let path = dir.join("remote.toml");
    std::fs::write(&path, config).expect("write config");
    // The CA file appears once the demo is up; --wait-ready then waits for readiness.
    for _ in 0..100 {
        if dir.join("ca.pem").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = readyprobe()
        .args([
            "audit",
            "--format",
            "json",
            "--wait-ready",
            "30s",
            "--config",
        ])
        .arg(&path)
        .env("RP_TEST_PROXY_TOKEN", token)
        .timeout(Duration::from_secs(120))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn remote_audit_cuts_a_standalone_proxy_in_front_of_postgres() {
    if !require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let token = "rpCanaryProxyToken";
    for profile in ["flawed", "hardened"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = Ports::new();
        let control_port = free_port();
        let proxy = spawn_proxy(ports.proxy, "127.0.0.1:5432", control_port, Some(token));
        let dependency = format!("postgres://postgres@127.0.0.1:{}/test", ports.proxy);
        let demo = spawn_demo(profile, &ports, dir.path(), &dependency);
        let (_, report, stderr) = audit_remote(&ports, dir.path(), control_port, token);
        let f = findings(&report);
        let flips = text(&f, "health.fault.readiness_flips");
        assert!(
            flips.contains(&format!(
                "cut via its control endpoint http://127.0.0.1:{control_port}/"
            )),
            "{profile}: {flips}\nstderr: {stderr}"
        );
        if profile == "flawed" {
            assert_eq!(
                outcome(&f, "health.fault.readiness_flips"),
                "fail",
                "{flips}"
            );
            assert!(
                flips.contains("readiness stayed 200 for 3 s after the database was cut"),
                "{flips}"
            );
        } else {
            for id in ["health.fault.readiness_flips", "health.fault.recovery"] {
                assert_eq!(outcome(&f, id), "pass", "{id}: {}", text(&f, id));
            }
            assert!(flips.contains("time to detect: database in "), "{flips}");
        }
        // The audit restored the proxy: nothing is left cut.
        let (_, status) = control(control_port, "GET", "/status", Some(token));
        assert_eq!(status["cut"], false, "{status}");
        let everything = format!("{report}{stderr}");
        assert!(!everything.contains(token), "the control token leaked");
        drop(demo);
        drop(proxy);
        ports.assert_free();
    }
}

/// Asserts `health.fault.readiness_flips` is an error and returns its text.
fn fault_error(report: &serde_json::Value, stderr: &str) -> String {
    let f = findings(report);
    assert_eq!(
        outcome(&f, "health.fault.readiness_flips"),
        "error",
        "stderr: {stderr}"
    );
    text(&f, "health.fault.readiness_flips")
}

#[test]
fn remote_proxy_that_is_down_or_refuses_the_token_is_an_error_finding_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let demo = spawn_demo("hardened", &ports, dir.path(), "");

    // Nothing listens on the control port.
    let closed = free_port();
    let (_, report, stderr) = audit_remote(&ports, dir.path(), closed, "x");
    let flips = fault_error(&report, &stderr);
    assert!(
        flips.contains(&format!(
            "fault proxy database: control http://127.0.0.1:{closed}/"
        )),
        "{flips}"
    );
    assert!(flips.contains("readyprobe proxy --control"), "{flips}");

    // A proxy that wants another token: 401, named, and the token never shown.
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let control_port = free_port();
    let proxy = spawn_proxy(
        ports.proxy,
        &upstream.local_addr().expect("addr").to_string(),
        control_port,
        Some("rpRightToken"),
    );
    let (_, report, stderr) = audit_remote(&ports, dir.path(), control_port, "rpWrongTokenCanary");
    let flips = fault_error(&report, &stderr);
    assert!(flips.contains("401: the token was refused"), "{flips}");
    let everything = format!("{report}{stderr}");
    assert!(!everything.contains("rpWrongTokenCanary") && !everything.contains("rpRightToken"));
    drop(proxy);
    drop(demo);
    ports.assert_free();
}

// ---- health.ready_now against a real PostgreSQL cut behind the proxy ----

/// A passive audit of a standalone demo: (exit code, JSON report, stderr).
fn audit_passive(url: &str, ca: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = readyprobe()
        .args(["audit", url, "--profile", "production", "--format", "json"])
        .arg("--ca-file")
        .arg(ca)
        .args(extra)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn postgres_cut_behind_the_proxy_is_no_go_and_restored_the_verdict_returns() {
    if !require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let control_port = free_port();
    let token = "rpReadyNowProxyToken";
    let proxy = spawn_proxy(ports.proxy, "127.0.0.1:5432", control_port, Some(token));
    let dependency = format!("postgres://postgres@127.0.0.1:{}/test", ports.proxy);
    let demo = spawn_demo("hardened", &ports, dir.path(), &dependency);
    let ca = dir.path().join("ca.pem");
    for _ in 0..100 {
        if ca.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("https://127.0.0.1:{}/", ports.https);

    // Healthy: the hardened demo is ready and passes the gate.
    let (code, before, stderr) = audit_passive(&url, &ca, &["--wait-ready", "30s"]);
    let f = findings(&before);
    assert_eq!(
        outcome(&f, "health.ready_now"),
        "pass",
        "{}",
        text(&f, "health.ready_now")
    );
    assert_eq!(code, 0, "{stderr}\n{:#}", before["verdict_reasons"]);
    let verdict = before["verdict"].as_str().unwrap_or_default().to_string();
    assert!(
        verdict == "GO" || verdict == "GO WITH OBSERVATIONS",
        "{verdict}: {:#}",
        before["verdict_reasons"]
    );

    // PostgreSQL cut: readiness says so, the verdict is NO-GO and names the component.
    let (status, body) = control(control_port, "POST", "/cut?for=60s", Some(token));
    assert_eq!(status, 200, "{body}");
    let (code, cut, stderr) = audit_passive(&url, &ca, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(cut["verdict"], "NO-GO", "{:#}", cut["verdict_reasons"]);
    let reasons = cut["verdict_reasons"].to_string();
    assert!(
        reasons.contains("health.ready_now") && reasons.contains("database:connection ("),
        "{reasons}"
    );
    let f = findings(&cut);
    assert_eq!(outcome(&f, "health.ready_now"), "fail");
    assert!(
        text(&f, "health.ready_now").contains("component database:connection: fail — "),
        "{}",
        text(&f, "health.ready_now")
    );
    assert_eq!(cut["readiness"]["ready"], false);

    // Restored: once readiness answers ready again, the verdict is what it was.
    let (status, body) = control(control_port, "POST", "/restore", Some(token));
    assert_eq!(status, 200, "{body}");
    let (code, after, stderr) = audit_passive(&url, &ca, &["--wait-ready", "30s"]);
    assert_eq!(code, 0, "{stderr}\n{:#}", after["verdict_reasons"]);
    assert_eq!(
        after["verdict"], before["verdict"],
        "{:#}",
        after["verdict_reasons"]
    );
    assert_eq!(outcome(&findings(&after), "health.ready_now"), "pass");
    assert_eq!(
        after["wait_ready"]["ready"], true,
        "{:#}",
        after["wait_ready"]
    );
    assert!(
        after["wait_ready"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/readyz")),
        "{:#}",
        after["wait_ready"]
    );
    let everything = format!("{before}{cut}{after}");
    assert!(!everything.contains(token), "the control token leaked");
    drop(demo);
    drop(proxy);
    ports.assert_free();
}

#[test]
fn supervised_service_with_a_wrong_readiness_url_still_gets_a_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ports = Ports::new();
    let report = dir.path().join("report.json");
    let config = format!(
        r#"target = "https://127.0.0.1:{https}/"

[run]
ca_file = "{ca}"

[supervise]
command = {command}
readiness_url = "https://127.0.0.1:{https}/no-such-readiness"
startup_timeout = "3s"
"#,
        https = ports.https,
        ca = dir.path().join("ca.pem").display(),
        command = demo_command("hardened", &ports, dir.path()),
    );
    let path = dir.path().join("readyprobe.toml");
    std::fs::write(&path, config).expect("write config");
    let out = readyprobe()
        .args(["audit", "-q", "--config"])
        .arg(&path)
        .arg("--out")
        .arg(&report)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("supervise.readiness_url") && stderr.contains("status 404"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("a report is written"))
            .expect("JSON");
    assert_eq!(json["verdict"], "NO-GO", "{json:#}");
    let reasons = json["verdict_reasons"].to_string();
    assert!(
        reasons.contains("Did not become ready within supervise.startup_timeout 3s")
            && reasons.contains("/no-such-readiness was not ready within 3s (last: status 404)"),
        "{reasons}"
    );
    let f = findings(&json);
    assert_eq!(outcome(&f, "health.ready_now"), "fail");
    assert_eq!(outcome(&f, "headers.hsts"), "skipped");
    assert!(
        text(&f, "headers.hsts").contains("the supervised service did not become ready"),
        "{}",
        text(&f, "headers.hsts")
    );
    ports.assert_free();
}

/// `[load] enabled = true` at its defaults (10 s, up to 2,000 requests) would spend the whole
/// default budget of 1,000 before the fault injection that runs after it; the load baseline's
/// share stops it short of what fault injection reserved, so the three `health.fault.*` checks
/// are judged, not `error`.
#[test]
fn load_at_defaults_leaves_fault_injection_its_share_of_the_budget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("load.toml");
    std::fs::write(&path, "[load]\nenabled = true\n").expect("write config");
    let out = readyprobe()
        .args([
            "audit",
            "--demo",
            "--demo-profile",
            "hardened",
            "--format",
            "json",
            "--config",
        ])
        .arg(&path)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr: {stderr}"));
    let f = findings(&report);
    for id in [
        "health.fault.readiness_flips",
        "health.fault.liveness_stable",
        "health.fault.recovery",
    ] {
        assert_eq!(outcome(&f, id), "pass", "{id}: {}", text(&f, id));
    }
    let load = text(&f, "load.baseline");
    assert!(load.contains("stopped by budget"), "{load}");
    assert!(
        load.contains("load baseline share of the request budget is spent"),
        "{load}"
    );
    assert!(report["requests_sent"].as_u64().unwrap_or(u64::MAX) <= 1000);
    let scope = report["scope"].to_string();
    assert!(
        scope.contains("load baseline 200 (plus what earlier phases leave)"),
        "{scope}"
    );
    assert!(scope.contains("dependency fault injection "), "{scope}");
}
