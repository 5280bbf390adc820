//! "Is it ready right now?" end to end: the real `readyprobe demo` process started with its
//! database unreachable, audited by the real binary in every output format and scraped through
//! `readyprobe serve` — the failing component must reach all of them, and the verdict must be
//! NO-GO whatever else scores well.
//!
//! What belongs here: `health.ready_now` against real processes. The PostgreSQL-behind-the-proxy
//! variant lives in `fault` (it shares that module's proxy and demo helpers); `--wait-ready` and
//! the Prometheus exporter's other behaviour live in `runmodes`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{self, readyprobe};

/// A child process killed (and reaped) when the test ends, whatever way it ends.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("readyprobe")
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not happen within {within:?}");
}

/// `readyprobe demo --profile hardened --dependency 127.0.0.1:1`: a demo whose database is a
/// closed loopback port. Returns the process, its HTTPS URL and its CA file.
fn demo_with_dead_database(dir: &Path) -> (Spawned, String, PathBuf) {
    let https = free_port();
    let ca = dir.join("ca.pem");
    let child = Command::new(bin())
        .args([
            "demo",
            "--profile",
            "hardened",
            "--dependency",
            "127.0.0.1:1",
            "--listen",
            &format!("127.0.0.1:{https}"),
            "--http-listen",
            &format!("127.0.0.1:{}", free_port()),
            "--ca-out",
        ])
        .arg(&ca)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn readyprobe demo");
    let demo = Spawned(child);
    wait_until("the demo listening", Duration::from_secs(20), || {
        ca.exists() && std::net::TcpStream::connect(("127.0.0.1", https)).is_ok()
    });
    (demo, format!("https://127.0.0.1:{https}/"), ca)
}

fn http_get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
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

#[test]
fn a_demo_whose_database_is_down_is_no_go_naming_it_in_every_format_and_in_serve() {
    util::crypto();
    let dir = tempfile::tempdir().unwrap();
    let (_demo, url, ca) = demo_with_dead_database(dir.path());
    let outs: Vec<PathBuf> = ["md", "json", "html", "xml", "prom", "txt"]
        .iter()
        .map(|ext| dir.path().join(format!("report.{ext}")))
        .collect();
    let mut cmd = readyprobe();
    cmd.args(["audit", &url, "--profile", "production", "--ca-file"])
        .arg(&ca);
    for out in &outs {
        cmd.arg("--out").arg(out);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("gate failed: the verdict is NO-GO"),
        "{stderr}"
    );

    // The terminal report: the verdict and the failing component in its first lines.
    let head: Vec<&str> = stdout.lines().take(5).collect();
    let head = head.join("\n");
    assert!(head.contains("NO-GO"), "{head}");
    assert!(
        head.contains("health.ready_now")
            && head.contains("database:connection (connect failed: connection refused)"),
        "{head}"
    );

    for path in &outs {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.contains("database:connection"),
            "{} does not name the failing component",
            path.display()
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json["verdict"], "NO-GO");
    assert_eq!(json["readiness"]["ready"], false, "{:#}", json["readiness"]);
    assert_eq!(json["readiness"]["status"], 503);
    assert_eq!(
        json["readiness"]["components"][0]["name"],
        "database:connection"
    );
    let ready_now = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check_id"] == "health.ready_now")
        .unwrap();
    assert_eq!(ready_now["outcome"], "fail");
    assert_eq!(ready_now["severity"], "critical");
    assert!(
        ready_now["evidence"].to_string().contains(&format!(
            "GET {url}readyz → 503 (discovered readiness endpoint)"
        )),
        "{ready_now:#}"
    );
    let prom = std::fs::read_to_string(dir.path().join("report.prom")).unwrap();
    assert!(
        prom.contains(&format!("readyprobe_ready{{target=\"{url}\"}} 0")),
        "{prom}"
    );
    let junit = std::fs::read_to_string(dir.path().join("report.xml")).unwrap();
    assert!(junit.contains("health.ready_now"), "{junit}");

    // `serve`: the same answer for Prometheus to alert on.
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _serve = Spawned(
        Command::new(bin())
            .args(["serve", "--listen", &addr, "--ca-file"])
            .arg(&ca)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("serve listening", Duration::from_secs(20), || {
        std::net::TcpStream::connect(&addr).is_ok()
    });
    let (status, body) = http_get(&format!(
        "http://{addr}/probe?target={url}&profile=production"
    ));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("readyprobe_ready 0"), "{body}");
    assert!(
        body.contains(
            "readyprobe_ready_component{component=\"database:connection\",state=\"fail\"} 0"
        ),
        "{body}"
    );
    assert!(
        body.contains("readyprobe_verdict{verdict=\"NO-GO\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("check=\"health.ready_now\",category=\"health_checks\",severity=\"critical\",outcome=\"fail\"} 1"),
        "{body}"
    );
}
