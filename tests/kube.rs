//! Kubernetes manifests checked against the live service (`--kube-manifest`, `[kubernetes]`).
//!
//! What belongs here: the real binary reading manifests (files, directories, stdin, the
//! multi-document output of `kubectl kustomize`) and refusing bad ones before any request —
//! an alias bomb, a 50 MB manifest, no matching workload — with exit 2 naming the file and a
//! bounded peak memory (measured by GNU time for that one process); and the demo
//! target (flawed and hardened, supervised as a real process) audited with the manifests in
//! `examples/kubernetes/`, where every `k8s.*` finding quotes the manifest and the live evidence.

use crate::util::DemoPorts as Ports;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{closed_port, readyprobe};

/// Peak resident memory allowed for a run fed a hostile manifest.
const RSS_LIMIT_KB: i64 = 150 * 1024;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of the binary produced, with its own peak RSS.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// Peak RSS of the readyprobe process alone, KiB (None when GNU time is missing).
    max_rss_kb: Option<i64>,
}

/// GNU time measures the peak RSS of the process it starts (a fresh fork of a small process, so
/// nothing of this test binary's memory is counted, as it would be with `wait4` on our own
/// child).
const GNU_TIME: &str = "/usr/bin/time";
const RSS_MARK: &str = "readyprobe-maxrss-kb=";

/// Runs the binary with `args` under GNU time, feeding `stdin` (if any) from a thread.
fn run_measured(args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let timed = std::path::Path::new(GNU_TIME).exists();
    let mut cmd = if timed {
        let mut c = Command::new(GNU_TIME);
        c.arg("-f")
            .arg(format!("{RSS_MARK}%M"))
            .arg(env!("CARGO_BIN_EXE_readyprobe"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_readyprobe"))
    };
    for (key, _) in std::env::vars() {
        if key.starts_with("READYPROBE_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn readyprobe");
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("stdin");
        // The binary may stop reading (and close the pipe) once it has seen too much.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let out = child.wait_with_output().expect("wait");
    if let Some(w) = writer {
        let _ = w.join();
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut max_rss_kb = None;
    if let Some(at) = stderr.rfind(RSS_MARK) {
        max_rss_kb = stderr[at + RSS_MARK.len()..].trim().parse().ok();
        stderr.truncate(at);
    }
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
        elapsed: started.elapsed(),
        max_rss_kb,
    }
}

fn assert_refused(run: &Run, file: &str, expected: &str) {
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no report for a usage error: {}",
        run.stdout
    );
    assert!(
        run.stderr.contains(file),
        "the file is named: {}",
        run.stderr
    );
    assert!(run.stderr.contains(expected), "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(30),
        "took {:?}",
        run.elapsed
    );
    match run.max_rss_kb {
        Some(kb) => assert!(
            kb > 0 && kb < RSS_LIMIT_KB,
            "peak RSS {kb} KiB (limit {RSS_LIMIT_KB} KiB)"
        ),
        None if crate::util::in_ci() => {
            panic!("{GNU_TIME} is missing; CI=true requires it (.ci/run installs `time`)")
        }
        None => {
            eprintln!("not measuring peak RSS: {GNU_TIME} is missing (under CI=true this fails)")
        }
    }
}

/// A billion-laughs document: nine levels of nine aliases each (9^9 strings if expanded).
fn alias_bomb() -> String {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n");
    text.push_str(
        "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut prev = 'a';
    for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("  {name}: &{name} [{refs}]\n"));
        prev = name;
    }
    text
}

/// About `mb` megabytes of valid YAML: one ConfigMap with many keys.
fn huge_manifest(mb: usize) -> Vec<u8> {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let line = format!("  key{{}}: \"{}\"\n", "x".repeat(90));
    let mut i = 0usize;
    while text.len() < mb * 1024 * 1024 {
        text.push_str(&line.replace("{}", &i.to_string()));
        i += 1;
    }
    text.into_bytes()
}

fn audit_args<'a>(manifest: &'a str, target: &'a str) -> Vec<&'a str> {
    vec![
        "audit",
        target,
        "--kube-manifest",
        manifest,
        "--format",
        "json",
    ]
}

#[test]
fn an_alias_bomb_is_refused_naming_the_file_with_bounded_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bomb.yaml");
    std::fs::write(&path, alias_bomb()).expect("write");
    // Nothing listens on the target: the manifest is refused before any request is sent.
    let target = format!("http://127.0.0.1:{}/", closed_port());
    let run = run_measured(&audit_args(path.to_str().expect("utf-8"), &target), None);
    assert_refused(&run, "bomb.yaml", "refused by the YAML parser's limits");
}

#[test]
fn a_50_mb_manifest_is_refused_from_a_file_and_from_stdin_with_bounded_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("huge.yaml");
    let bytes = huge_manifest(50);
    std::fs::write(&path, &bytes).expect("write");
    let target = format!("http://127.0.0.1:{}/", closed_port());
    let run = run_measured(&audit_args(path.to_str().expect("utf-8"), &target), None);
    assert_refused(
        &run,
        "huge.yaml",
        "larger than kubernetes.max_manifest_bytes",
    );
    let run = run_measured(&audit_args("-", &target), Some(bytes));
    assert_refused(&run, "stdin", "larger than kubernetes.max_manifest_bytes");
}

#[test]
fn manifests_without_the_workload_are_refused_naming_the_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let target = format!("http://127.0.0.1:{}/", closed_port());
    let only_service = dir.path().join("service.yaml");
    std::fs::write(
        &only_service,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: orders\nspec:\n  ports: [{port: 443}]\n",
    )
    .expect("write");
    let run = run_measured(
        &audit_args(only_service.to_str().expect("utf-8"), &target),
        None,
    );
    assert_refused(
        &run,
        "service.yaml",
        "no Deployment, StatefulSet, DaemonSet or Pod found (kinds seen: Service)",
    );

    // A config naming a workload the manifests do not hold.
    let config = dir.path().join("readyprobe.toml");
    let manifests = repo().join("examples/kubernetes/hardened");
    std::fs::write(
        &config,
        format!(
            "[kubernetes]\nmanifests = [{:?}]\nworkload = \"payments\"\n",
            manifests.display().to_string()
        ),
    )
    .expect("write");
    let out = readyprobe()
        .args(["audit", &target, "--config"])
        .arg(&config)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("deployment.yaml"), "{stderr}");
    assert!(
        stderr.contains(
            "no workload named \"payments\" (kubernetes.workload); found: deployment/orders"
        ),
        "{stderr}"
    );
    // config check reads the same manifests and says the same.
    let out = readyprobe()
        .args(["config", "check"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no workload named \"payments\""));
}

#[test]
fn a_manifest_field_of_the_wrong_type_names_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let source =
        std::fs::read_to_string(repo().join("examples/kubernetes/hardened/deployment.yaml"))
            .expect("example");
    let line = source
        .lines()
        .position(|l| l.trim_start().starts_with("replicas:"))
        .expect("replicas line")
        + 1;
    let path = dir.path().join("deployment.yaml");
    std::fs::write(&path, source.replacen("replicas: 3", "replicas: three", 1)).expect("write");
    let target = format!("http://127.0.0.1:{}/", closed_port());
    let run = run_measured(&audit_args(path.to_str().expect("utf-8"), &target), None);
    assert_refused(
        &run,
        &format!("deployment.yaml:{line} (document 1, Deployment orders): spec.replicas:"),
        "invalid type",
    );
}

#[test]
fn unknown_kinds_are_skipped_with_a_note_and_stdin_is_read() {
    let kustomized =
        std::fs::read(repo().join("examples/kubernetes/kustomized.yaml")).expect("example");
    // The kustomize output on stdin: audit a dependency-only target so nothing HTTP is needed.
    let pg = format!("postgres://u@127.0.0.1:{}/x", closed_port());
    let run = run_measured(
        &[
            "audit",
            &pg,
            "--kube-manifest",
            "-",
            "--format",
            "json",
            "--timeout",
            "2s",
        ],
        Some(kustomized),
    );
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let scope = report["scope"].to_string();
    assert!(scope.contains("Service orders (stdin:"), "{scope}");
    assert!(scope.contains("deployment/orders"), "{scope}");
}

// ---------------------------------------------------------------------------------------------
// The demo target, supervised, audited with its manifests

/// A config supervising `readyprobe demo --profile <profile> <extra…>` with its database (the
/// machine's PostgreSQL) behind a fault proxy, and the given `[kubernetes]` lines.
fn supervised_config(
    profile: &str,
    extra: &[&str],
    ports: &Ports,
    dir: &std::path::Path,
    kubernetes: &str,
) -> String {
    let (ready, live) = if profile == "hardened" {
        ("/readyz", "/livez")
    } else {
        ("/ready", "/health")
    };
    let mut command = vec![
        env!("CARGO_BIN_EXE_readyprobe").to_string(),
        "demo".into(),
        "--profile".into(),
        profile.into(),
        "--listen".into(),
        format!("127.0.0.1:{}", ports.https),
        "--http-listen".into(),
        format!("127.0.0.1:{}", ports.http),
        "--ca-out".into(),
        dir.join("ca.pem").display().to_string(),
    ];
    command.extend(extra.iter().map(|s| s.to_string()));
    let command = format!(
        "[{}]",
        command
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    format!(
        r#"target = "https://127.0.0.1:{https}/"

[run]
ca_file = "{ca}"
deadline = "150s"

[health]
liveness = ["{live}"]
readiness = ["{ready}"]
latency_samples = 3

[supervise]
command = {command}
env = {{ READYPROBE_DEMO_DEPENDENCY = "postgres://postgres@127.0.0.1:{proxy}/test" }}
readiness_url = "https://127.0.0.1:{https}{ready}"
grace_period = "8s"
startup_timeout = "30s"
slow_path = "/api/export"
in_flight = 2

[[fault.proxy]]
name = "database"
listen = "127.0.0.1:{proxy}"
upstream = "127.0.0.1:5432"

[fault]
detect_window = "3s"
recover_window = "10s"

[kubernetes]
samples = 4
{kubernetes}
"#,
        https = ports.https,
        proxy = ports.proxy,
        ca = dir.join("ca.pem").display(),
    )
}

/// Runs `audit --config` (with `extra` arguments and `stdin`) and returns (exit, report, stderr).
fn supervised_audit(
    config: &str,
    dir: &std::path::Path,
    extra: &[&str],
    stdin: Option<Vec<u8>>,
) -> (Option<i32>, serde_json::Value, String) {
    let path = dir.join("readyprobe.toml");
    std::fs::write(&path, config).expect("write config");
    let mut args = vec![
        "audit",
        "--format",
        "json",
        "--config",
        path.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let run = run_measured(&args, stdin);
    let report = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run.code, report, run.stderr)
}

fn finding(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check_id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("{id} missing from {report:#}"))
}

fn evidence(f: &serde_json::Value) -> String {
    f["evidence"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[test]
fn flawed_demo_fails_probe_paths_timeouts_and_grace_quoting_manifest_and_live_evidence() {
    if !crate::util::require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let ports = Ports::new();
    let manifests = repo().join("examples/kubernetes/flawed");
    // The flawed health check takes 1.2 s (a slow self-check); the manifest gives liveness 1 s.
    let config = supervised_config(
        "flawed",
        &["--health-delay", "1200ms"],
        &ports,
        dir.path(),
        &format!("manifests = [{:?}]", manifests.display().to_string()),
    );
    let (code, report, stderr) = supervised_audit(&config, dir.path(), &[], None);
    assert_eq!(
        code,
        Some(1),
        "the flawed demo fails the gate; stderr: {stderr}"
    );
    let file = manifests.join("deployment.yaml").display().to_string();

    let paths = finding(&report, "k8s.probe_paths_live");
    let text = evidence(&paths);
    assert_eq!(paths["outcome"], "fail", "{paths:#}");
    assert_eq!(paths["severity"], "critical");
    assert!(
        text.contains(&format!(
            "{file}:36 spec.template.spec.containers[0].readinessProbe"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "readinessProbe https://127.0.0.1:{}/readyz → 404: the pod would never be ready",
            ports.https
        )),
        "{text}"
    );
    assert!(
        text.contains("livenessProbe") && text.contains("/health → 200"),
        "{text}"
    );

    let timeouts = finding(&report, "k8s.probe_timeouts");
    let text = evidence(&timeouts);
    assert_eq!(timeouts["outcome"], "fail", "{timeouts:#}");
    assert!(text.contains(&format!("livenessProbe.timeoutSeconds: 1 ({file}:47 spec.template.spec.containers[0].livenessProbe.timeoutSeconds) vs GET https://127.0.0.1:{}/health p99 1.", ports.https)), "{text}");
    assert!(
        timeouts["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("livenessProbe times out at 1 s but /health takes 1."),
        "{timeouts:#}"
    );

    let grace = finding(&report, "k8s.termination_grace");
    let text = evidence(&grace);
    assert_eq!(grace["outcome"], "fail", "{grace:#}");
    assert!(
        text.contains(&format!("terminationGracePeriodSeconds: 10 ({file}:23")),
        "{text}"
    );
    assert!(text.contains(&format!("no lifecycle.preStop (spec.template.spec.containers[0].lifecycle.preStop not set, {file}:25)")), "{text}");
    assert!(text.contains("measured: SIGTERM → exit in"), "{text}");
    assert!(
        text.contains("never answered non-2xx between SIGTERM and the exit"),
        "{text}"
    );
    assert!(
        grace["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("no preStop delay"),
        "{grace:#}"
    );

    // The manifest-only rules, and liveness (the flawed /health checks nothing) staying up.
    for (id, outcome) in [
        ("k8s.probes_declared", "pass"),
        ("k8s.liveness_not_readiness", "pass"),
        ("k8s.resources", "fail"),
        ("k8s.replicas_pdb", "fail"),
        ("k8s.image_pinned", "fail"),
    ] {
        let f = finding(&report, id);
        assert_eq!(f["outcome"], outcome, "{id}: {f:#}");
    }
    assert!(evidence(&finding(&report, "k8s.probes_declared")).contains("time-to-ready measured:"));
    ports.assert_free();
}

#[test]
fn hardened_demo_passes_every_k8s_check_with_its_kustomize_output_on_stdin() {
    if !crate::util::require_service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let ports = Ports::new();
    let config = supervised_config("hardened", &[], &ports, dir.path(), "workload = \"orders\"");
    let kustomized =
        std::fs::read(repo().join("examples/kubernetes/kustomized.yaml")).expect("example");
    let (code, report, stderr) = supervised_audit(
        &config,
        dir.path(),
        &["--kube-manifest", "-"],
        Some(kustomized),
    );
    assert!(matches!(code, Some(0) | Some(1)), "stderr: {stderr}");
    for id in [
        "k8s.probes_declared",
        "k8s.probe_paths_live",
        "k8s.liveness_not_readiness",
        "k8s.probe_timeouts",
        "k8s.termination_grace",
        "k8s.resources",
        "k8s.replicas_pdb",
        "k8s.image_pinned",
    ] {
        let f = finding(&report, id);
        assert_eq!(f["outcome"], "pass", "{id}: {f:#}\nstderr: {stderr}");
    }
    let grace = evidence(&finding(&report, "k8s.termination_grace"));
    assert!(
        grace.contains("lifecycle.preStop: sleep 5 s (stdin:"),
        "{grace}"
    );
    assert!(grace.contains("answered 503"), "{grace}");
    let live = evidence(&finding(&report, "k8s.liveness_not_readiness"));
    assert!(
        live.contains("while the database was cut: /livez answered 200"),
        "{live}"
    );
    let timeouts = evidence(&finding(&report, "k8s.probe_timeouts"));
    assert!(
        timeouts.contains("readiness /readyz went 503"),
        "{timeouts}"
    );
    assert!(
        timeouts.contains(
            "with failureThreshold × periodSeconds = 10 s the pod leaves the Service within"
        ),
        "{timeouts}"
    );
    ports.assert_free();
}

#[test]
fn checks_and_explain_list_the_k8s_checks() {
    let out = readyprobe()
        .args(["checks", "--format", "json"])
        .output()
        .expect("run");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .filter(|id| id.starts_with("k8s."))
        .collect();
    assert_eq!(
        ids,
        [
            "k8s.probes_declared",
            "k8s.probe_paths_live",
            "k8s.liveness_not_readiness",
            "k8s.probe_timeouts",
            "k8s.termination_grace",
            "k8s.resources",
            "k8s.replicas_pdb",
            "k8s.image_pinned",
        ]
    );
    let out = readyprobe()
        .args(["explain", "k8s.probe_timeouts"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("Reliability & Recovery"), "{text}");
    assert!(text.contains("p99 ≥ timeout"), "{text}");
}
