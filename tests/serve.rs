//! `readyprobe serve` as a long-running exporter: the real binary, scraped over HTTP the way
//! Prometheus scrapes it (with `X-Prometheus-Scrape-Timeout-Seconds`), against demo targets and
//! hostile servers started in-process on loopback.
//!
//! - a pack that does not load stops `serve` at start (exit 2, the message names the file);
//! - concurrent scrapes of one target run one audit; with `--min-interval` a later scrape is
//!   answered from the last audit with its age (`readyprobe_probe_cache_age_seconds`);
//! - a scrape timeout shorter than the audit gets a partial report in time;
//! - the soak (#19): N probes across 50 targets (45 demo targets, 5 hostile: silent, trickled
//!   headers, reset mid-body, an endless body, 50 MB of JSON), sampling serve's RSS and open file
//!   descriptors, with `/healthz` polled throughout; then N concurrent scrapes of one slow target
//!   must run one audit. N = 600, or 10,000 with `READYPROBE_FULL_SOAK=1` (SOAK.md has the
//!   last full run). Tolerances are in [`RSS_GROWTH_KB`] and [`FD_GROWTH`].

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use readyprobe::demo::{self, DemoExtras, DemoOptions, DemoProfile};

use crate::hostile::{Behaviour, raw_server};
use crate::util;

/// The most RSS may grow over the soak's second half, beyond the highest RSS of its first half:
/// allocator noise and the connection pool's churn, well below what a leak of one report (tens of
/// KiB) per probe would add over 300 (5,000 in the full run) probes.
const RSS_GROWTH_KB: u64 = 16 * 1024;
/// The most open file descriptors may exceed the first half's highest count during the second.
const FD_GROWTH: usize = 32;
/// The soak's scrape timeout: the hostile targets use all of it.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);
/// A scrape gets this much time over its scrape timeout before the test calls it hung: process
/// scheduling on a loaded 2-core machine, not the exporter's budget (which ends before it).
const SLACK: Duration = Duration::from_secs(1);

/// A `readyprobe serve` child process, killed on drop.
struct Serve {
    child: Child,
    addr: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let addr = format!("127.0.0.1:{}", util::closed_port());
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("readyprobe"));
        for (key, _) in std::env::vars() {
            if key.starts_with("READYPROBE_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args(["serve", "--listen", &addr])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let serve = Serve { child, addr };
        let until = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&serve.addr).is_err() {
            assert!(Instant::now() < until, "serve did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// One scrape as Prometheus sends it.
async fn scrape(
    client: &reqwest::Client,
    serve: &str,
    target: &str,
    profile: &str,
    scrape_timeout: Duration,
) -> Result<(u16, String), String> {
    let url = format!("http://{serve}/probe?target={target}&profile={profile}");
    let response = client
        .get(url)
        .header(
            "x-prometheus-scrape-timeout-seconds",
            format!("{}", scrape_timeout.as_secs_f64()),
        )
        .timeout(scrape_timeout + SLACK)
        .send()
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    Ok((status, body))
}

/// The exporter's own metrics, `name{labels}` → value.
async fn exporter_metrics(client: &reqwest::Client, serve: &str) -> HashMap<String, f64> {
    let body = client
        .get(format!("http://{serve}/metrics"))
        .send()
        .await
        .expect("/metrics")
        .text()
        .await
        .expect("/metrics body");
    samples(&body)
}

/// The samples of an exposition, `name{labels}` → value (comments skipped).
fn samples(body: &str) -> HashMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn sample(m: &HashMap<String, f64>, name: &str) -> f64 {
    *m.get(name)
        .unwrap_or_else(|| panic!("{name} is missing from {m:?}"))
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// User + system CPU time of a process (`/proc/<pid>/stat`, clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/<pid>/fd")
        .count()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client")
}

async fn demo_with_health_delay(delay: Duration) -> demo::DemoTarget {
    demo::start_with(
        DemoOptions::ephemeral(DemoProfile::Hardened),
        DemoExtras {
            health_delay: delay,
            ..DemoExtras::default()
        },
    )
    .await
    .expect("demo")
}

fn write_ca(dir: &Path, target: &demo::DemoTarget) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &target.ca_pem).expect("write CA");
    path.display().to_string()
}

#[test]
fn a_pack_that_does_not_load_stops_serve_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.toml"),
        "[[check]]\nid = \"myapp.env\"\ntitle = \"t\"\ncategory = \"security\"\nseverity = \"high\"\nremediation = \"r\"\n\n[[check.request]]\npath = \"/.env\"\nany = [\"[BODY] matches (?m)^[A-Z\"]\n",
    )
    .expect("write pack");
    let probes = dir.path().display().to_string();
    let out = util::readyprobe()
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{}", util::closed_port()))
        .args(["--probes", &probes])
        .output()
        .expect("run serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("a.toml") && stderr.contains("invalid regex"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scrapes_share_one_audit_and_min_interval_answers_from_the_last() {
    util::crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    // Slow health endpoints: the audit lasts long enough for every scrape to join it.
    let target = demo_with_health_delay(Duration::from_millis(200)).await;
    let ca = write_ca(dir.path(), &target);
    let serve = Serve::start(&["--ca-file", &ca, "--min-interval", "1h"]);
    let client = client();
    let url = target.https_url.to_string();
    let timeout = Duration::from_secs(20);
    let scrapes = (0..8).map(|_| scrape(&client, &serve.addr, &url, "production", timeout));
    for answer in futures_util::future::join_all(scrapes).await {
        let (status, body) = answer.expect("scrape");
        assert_eq!(status, 200, "{body}");
        let s = samples(&body);
        assert_eq!(sample(&s, "readyprobe_probe_success"), 1.0, "{body}");
        assert_eq!(sample(&s, "readyprobe_probe_cache_age_seconds"), 0.0);
    }
    let m = exporter_metrics(&client, &serve.addr).await;
    assert_eq!(sample(&m, "readyprobe_exporter_audits_total"), 1.0, "{m:?}");
    assert_eq!(
        sample(&m, "readyprobe_exporter_coalesced_probes_total"),
        7.0
    );
    assert_eq!(
        sample(&m, "readyprobe_exporter_probes_total{result=\"success\"}"),
        8.0
    );

    // Inside the window: the same answer, its age given, no audit.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = scrape(&client, &serve.addr, &url, "production", timeout)
        .await
        .expect("scrape");
    assert_eq!(status, 200, "{body}");
    let s = samples(&body);
    assert!(
        sample(&s, "readyprobe_probe_cache_age_seconds") >= 1.0,
        "{body}"
    );
    assert_eq!(sample(&s, "readyprobe_probe_success"), 1.0);
    assert!(body.contains("readyprobe_overall_score "), "{body}");
    let m = exporter_metrics(&client, &serve.addr).await;
    assert_eq!(sample(&m, "readyprobe_exporter_audits_total"), 1.0);
    assert_eq!(sample(&m, "readyprobe_exporter_cache_hits_total"), 1.0);
    assert_eq!(sample(&m, "readyprobe_exporter_cache_entries"), 1.0);

    // Another profile is another target.
    let (status, body) = scrape(&client, &serve.addr, &url, "ci", timeout)
        .await
        .expect("scrape");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sample(&samples(&body), "readyprobe_probe_cache_age_seconds"),
        0.0
    );
    let m = exporter_metrics(&client, &serve.addr).await;
    assert_eq!(sample(&m, "readyprobe_exporter_audits_total"), 2.0);
    assert_eq!(sample(&m, "readyprobe_exporter_cache_entries"), 2.0);
    drop(serve);
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_timeout_shorter_than_the_audit_gets_a_partial_report_in_time() {
    util::crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    // Health endpoints answer after 30 s; Prometheus gives the scrape 2 s.
    let target = demo_with_health_delay(Duration::from_secs(30)).await;
    let ca = write_ca(dir.path(), &target);
    let serve = Serve::start(&["--ca-file", &ca]);
    let client = client();
    let url = target.https_url.to_string();
    let started = Instant::now();
    let (status, body) = scrape(
        &client,
        &serve.addr,
        &url,
        "production",
        Duration::from_secs(2),
    )
    .await
    .expect("answered within the scrape timeout (+ slack), not hung");
    eprintln!("answered in {:?}", started.elapsed());
    assert_eq!(status, 200, "{body}");
    let s = samples(&body);
    assert_eq!(sample(&s, "readyprobe_probe_success"), 1.0, "{body}");
    // Judged: what answered in time (the TLS certificate, the root page's headers).
    let judged = |check: &str| {
        ["pass", "warn", "fail"].iter().any(|o| {
            s.iter().any(|(k, v)| {
                *v == 1.0
                    && k.starts_with("readyprobe_check_outcome{")
                    && k.contains(&format!("check=\"{check}\""))
                    && k.contains(&format!("outcome=\"{o}\""))
            })
        })
    };
    assert!(judged("tls.certificate"), "{body}");
    // Cut by the deadline (latency is sampled on the health endpoints): an error, not missing.
    assert_eq!(
        sample(
            &s,
            "readyprobe_check_outcome{check=\"perf.latency\",category=\"performance\",severity=\"high\",outcome=\"error\"}"
        ),
        1.0,
        "{body}"
    );
    let m = exporter_metrics(&client, &serve.addr).await;
    assert_eq!(sample(&m, "readyprobe_exporter_audits_overran_total"), 0.0);
    drop(serve);
    target.shutdown().await;
}

/// The soak's hostile targets: each misbehaves on every path.
async fn hostile_targets() -> Vec<String> {
    let behaviours: [fn(&str) -> Behaviour; 5] = [
        |_| Behaviour::Silent,
        |_| Behaviour::SlowHeaders,
        |_| Behaviour::ResetMidBody,
        |_| Behaviour::EndlessBody,
        |_| Behaviour::HugeJson,
    ];
    let mut urls = Vec::new();
    for route in behaviours {
        let server = raw_server("127.0.0.1", None, route).await;
        urls.push(format!("http://{}/", server.addr));
    }
    urls
}

/// Probes of the soak: 10,000 with `READYPROBE_FULL_SOAK=1`, else 600.
fn soak_probes() -> usize {
    if std::env::var("READYPROBE_FULL_SOAK").is_ok_and(|v| v == "1") {
        10_000
    } else {
        600
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    probes: usize,
    rss_kb: u64,
    fds: usize,
}

#[test]
fn soak_serve_holds_rss_and_fds_flat_and_healthz_answers_throughout() {
    util::crypto();
    let probes = soak_probes();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (demos, hostile) = rt.block_on(async {
        let mut demos = demo::start_many(DemoProfile::Hardened, 25)
            .await
            .expect("demos");
        demos.extend(
            demo::start_many(DemoProfile::Flawed, 20)
                .await
                .expect("demos"),
        );
        (demos, hostile_targets().await)
    });
    let ca = dir.path().join("ca.pem");
    let pem: String = demos.iter().map(|d| d.ca_pem.clone()).collect();
    std::fs::write(&ca, pem).expect("CA");
    let mut targets: Vec<String> = demos
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // Both listeners: plain HTTP, and HTTPS (h2 for the hardened demo) for one in five.
            if i % 5 == 0 {
                d.https_url.to_string()
            } else {
                d.http_url.to_string()
            }
        })
        .collect();
    targets.extend(hostile);
    assert_eq!(targets.len(), 50);

    let serve = Serve::start(&[
        "--ca-file",
        &ca.display().to_string(),
        "--max-concurrent",
        "8",
    ]);
    let pid = serve.pid();
    let addr = serve.addr.clone();
    let started = Instant::now();

    // /healthz, every 200 ms, for the whole run.
    let stop = Arc::new(AtomicBool::new(false));
    let health_checks = Arc::new(AtomicU64::new(0));
    let health = std::thread::spawn({
        let (stop, checks, addr) = (Arc::clone(&stop), Arc::clone(&health_checks), addr.clone());
        move || -> Result<(), String> {
            while !stop.load(Ordering::SeqCst) {
                let mut stream = std::net::TcpStream::connect(&addr)
                    .map_err(|e| format!("/healthz: connect: {e}"))?;
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                std::io::Write::write_all(
                    &mut stream,
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
                .map_err(|e| format!("/healthz: write: {e}"))?;
                let mut answer = String::new();
                stream
                    .read_to_string(&mut answer)
                    .map_err(|e| format!("/healthz: no answer within 5 s: {e}"))?;
                if !answer.starts_with("HTTP/1.1 200") || !answer.ends_with("ok\n") {
                    return Err(format!("/healthz answered {answer:?}"));
                }
                checks.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        }
    });

    // Scrapers: 8 at a time, each taking the next probe number; target = number mod 50, the
    // profile production (passive) except every 10th (staging: active probes too).
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let samples_every = (probes / 100).max(1);
    let client = client();
    let (series, failures) = rt.block_on(async {
        let sampler = tokio::spawn({
            let done = Arc::clone(&done);
            async move {
                let mut series = Vec::new();
                let mut last = usize::MAX;
                loop {
                    let d = done.load(Ordering::SeqCst);
                    if d != last && (d.is_multiple_of(samples_every) || d >= probes) {
                        series.push(Sample {
                            probes: d,
                            rss_kb: status_kb(pid, "VmRSS:"),
                            fds: open_fds(pid),
                        });
                        last = d;
                    }
                    if d >= probes {
                        return series;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        let workers = (0..8).map(|_| {
            let (next, done, client, targets, addr) = (
                Arc::clone(&next),
                Arc::clone(&done),
                client.clone(),
                targets.clone(),
                addr.clone(),
            );
            tokio::spawn(async move {
                let mut failures = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= probes {
                        return failures;
                    }
                    let target = &targets[n % targets.len()];
                    let profile = if n % 10 == 0 { "staging" } else { "production" };
                    match scrape(&client, &addr, target, profile, SCRAPE_TIMEOUT).await {
                        Ok((200, body)) if body.contains("readyprobe_probe_success ") => {}
                        Ok((status, body)) => failures.push(format!(
                            "probe {n} ({target}): {status} {}",
                            body.chars().take(300).collect::<String>()
                        )),
                        Err(e) => failures.push(format!("probe {n}: {e}")),
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        });
        let mut failures = Vec::new();
        for w in futures_util::future::join_all(workers).await {
            failures.extend(w.expect("worker"));
        }
        (sampler.await.expect("sampler"), failures)
    });
    stop.store(true, Ordering::SeqCst);
    let health = health.join().expect("healthz thread");
    let elapsed = started.elapsed();

    let m = rt.block_on(exporter_metrics(&client, &addr));
    let half = probes / 2;
    let warm = series
        .iter()
        .filter(|s| s.probes >= probes / 10 && s.probes <= half);
    let rss_first = warm.clone().map(|s| s.rss_kb).max().expect("samples");
    let fds_first = warm.map(|s| s.fds).max().expect("samples");
    let second: Vec<&Sample> = series.iter().filter(|s| s.probes > half).collect();
    let rss_last = second.iter().map(|s| s.rss_kb).max().expect("samples");
    let fds_last = second.iter().map(|s| s.fds).max().expect("samples");
    let at = |p: usize| {
        series
            .iter()
            .find(|s| s.probes >= p)
            .map_or(0, |s| s.rss_kb / 1024)
    };
    eprintln!(
        "soak: {probes} probes across {} targets in {:.0?}; RSS MiB at 10%/50%/100%: {}/{}/{}; \
         highest RSS first half {} KiB, second half {} KiB; highest fds {} / {}; peak RSS {} KiB; \
         /healthz answered {} times; serve CPU {:.0} s; audits {}, success {}, failure {}, busy {}, \
         overran {}; {} failed scrapes",
        targets.len(),
        elapsed,
        at(probes / 10),
        at(half),
        at(probes),
        rss_first,
        rss_last,
        fds_first,
        fds_last,
        status_kb(pid, "VmHWM:"),
        health_checks.load(Ordering::SeqCst),
        cpu_seconds(pid),
        sample(&m, "readyprobe_exporter_audits_total"),
        sample(&m, "readyprobe_exporter_probes_total{result=\"success\"}"),
        sample(&m, "readyprobe_exporter_probes_total{result=\"failure\"}"),
        sample(&m, "readyprobe_exporter_probes_total{result=\"busy\"}"),
        sample(&m, "readyprobe_exporter_audits_overran_total"),
        failures.len(),
    );
    if let Err(e) = health {
        panic!("{e}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        rss_last <= rss_first + RSS_GROWTH_KB,
        "RSS grew from {rss_first} KiB to {rss_last} KiB over the second half: {series:?}"
    );
    assert!(
        fds_last <= fds_first + FD_GROWTH,
        "open fds grew from {fds_first} to {fds_last} over the second half: {series:?}"
    );

    // Coalescing, on the same long-running process: 20 scrapes of one slow target at once.
    let slow = rt.block_on(demo_with_health_delay(Duration::from_millis(200)));
    let before = sample(&m, "readyprobe_exporter_audits_total");
    let coalesced_before = sample(&m, "readyprobe_exporter_coalesced_probes_total");
    let url = slow.http_url.to_string();
    let answers =
        rt.block_on(futures_util::future::join_all((0..20).map(|_| {
            scrape(&client, &addr, &url, "production", Duration::from_secs(20))
        })));
    for answer in answers {
        let (status, body) = answer.expect("scrape");
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("readyprobe_probe_success 1"), "{body}");
    }
    let m = rt.block_on(exporter_metrics(&client, &addr));
    assert_eq!(
        sample(&m, "readyprobe_exporter_audits_total") - before,
        1.0,
        "{m:?}"
    );
    assert_eq!(
        sample(&m, "readyprobe_exporter_coalesced_probes_total") - coalesced_before,
        19.0
    );
    drop(serve);
    rt.block_on(async move {
        slow.shutdown().await;
        for d in demos {
            d.shutdown().await;
        }
    });
}
