//! Fault injection and supervised runs end to end: the real `readyprobe audit` binary starts the
//! real `readyprobe demo` as a separate process, puts its fault proxy between the demo and the
//! machine's PostgreSQL, cuts it, stops the demo with SIGTERM and reads its logs.
//!
//! What belongs here: `health.fault.*`, `ops.graceful_shutdown`, `ops.fail_fast_config` and
//! `logging.*` against real processes and a real database, plus the bad inputs of supervision
//! (unreachable upstream, a missing command, one that exits at once, one that ignores SIGTERM).
//! Every test ends by proving nothing is left behind: the ports are free and the pids gone.
//! Timings are only asserted where correctness needs them, with generous bounds.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::util::{readyprobe, require_service};

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("readyprobe")
}

/// Ports picked for one demo: HTTPS, plain HTTP and the fault proxy.
struct Ports {
    https: u16,
    http: u16,
    proxy: u16,
}

impl Ports {
    fn new() -> Ports {
        Ports {
            https: free_port(),
            http: free_port(),
            proxy: free_port(),
        }
    }

    /// Each port can be bound again: nothing is left listening.
    fn assert_free(&self) {
        for port in [self.https, self.http, self.proxy] {
            let mut ok = false;
            for _ in 0..50 {
                if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                    ok = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(ok, "port {port} is still in use after the audit");
        }
    }
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
    let (code, _, stderr) = audit(config, dir.path());
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("the service exited (status 3)"), "{stderr}");
    assert!(
        stderr.contains("FATAL: DATABASE_URL is not set"),
        "{stderr}"
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
