//! The HTTP client against real servers that defend themselves: Debian nginx
//! ([`crate::nginx_harness`]) with HTTP/2 and a 16 KiB-header limit, with only 64 worker
//! connections, with expired and self-signed certificates; and a DNS server on loopback that
//! counts the questions it gets.
//!
//! Every target is on 127.0.0.1; names are resolved by the responder started here (`--nameserver`).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::nginx_harness::{self, Nginx, Pki, Site};
use crate::util::readyprobe;

/// Runs `readyprobe audit ARGS --format json` and returns the report and the exit code.
fn audit_json(args: &[&str]) -> (Value, i32) {
    let out = readyprobe()
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run readyprobe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {stderr}"));
    (report, out.status.code().unwrap_or(-1))
}

fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings")
}

fn finding<'a>(report: &'a Value, id: &str) -> &'a Value {
    findings(report)
        .iter()
        .find(|f| f["check_id"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

/// `check_id: first evidence line` of every `error` finding.
fn errors(report: &Value) -> Vec<String> {
    findings(report)
        .iter()
        .filter(|f| f["outcome"] == "error")
        .map(|f| {
            format!(
                "{}: {} {}",
                f["check_id"].as_str().unwrap_or_default(),
                f["summary"].as_str().unwrap_or_default(),
                f["evidence"][0].as_str().unwrap_or_default()
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The connection pool, in process, against a server that counts its connections

/// What a counting server saw.
#[derive(Default)]
struct Seen {
    /// The most connections established at once, as the kernel saw them at each accept.
    most: std::sync::atomic::AtomicUsize,
    accepted: std::sync::atomic::AtomicUsize,
    close_asked: std::sync::atomic::AtomicUsize,
    /// `Host` of each request, in arrival order.
    hosts: Mutex<Vec<String>>,
}

/// Sockets in state ESTABLISHED (`/proc/net/tcp`) on the server's side of `port` whose client
/// is one of `clients` (the ports this server accepted from), each counted once (the kernel's
/// table is read while it changes, so a socket can be listed twice). A connection the client
/// has closed is in CLOSE_WAIT here even before the server's task has noticed, so this counts
/// what the client holds open. Counting in the server's tasks, a close not yet processed under
/// load counted; counting every socket on the port, connections of another test's server that
/// had the same port before (still open after its listener closed) counted.
fn established_on(port: u16, clients: &std::collections::HashSet<u16>) -> usize {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(addr), Some(client), Some("01")) if addr.ends_with(&local) => {
                    let client_port = u16::from_str_radix(client.rsplit(':').next()?, 16).ok()?;
                    clients.contains(&client_port).then_some(client_port)
                }
                _ => None,
            }
        })
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// An HTTP/1.1 server on 127.0.0.1 answering every request after 20 ms, counting connections
/// open at once and requests that ask for `Connection: close`.
async fn counting_server() -> (SocketAddr, Arc<Seen>) {
    use std::sync::atomic::Ordering::SeqCst;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Seen::default());
    let counts = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut clients = std::collections::HashSet::new();
        while let Ok((tcp, peer)) = listener.accept().await {
            let seen = Arc::clone(&counts);
            seen.accepted.fetch_add(1, SeqCst);
            clients.insert(peer.port());
            seen.most
                .fetch_max(established_on(addr.port(), &clients), SeqCst);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: hyper::Request<_>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        if req
                            .headers()
                            .get("connection")
                            .is_some_and(|v| v == "close")
                        {
                            seen.close_asked.fetch_add(1, SeqCst);
                        }
                        let host = req
                            .headers()
                            .get("host")
                            .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
                            .unwrap_or_default();
                        seen.hosts.lock().expect("hosts").push(host);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(
                            http_body_util::Full::new(bytes::Bytes::from_static(b"ok")),
                        ))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

/// A probe context on `net`, as the engine builds one for each audit.
fn probe_cx(net: &readyprobe::probes::net::Net) -> readyprobe::probes::ProbeCx {
    use readyprobe::probes::{ProbeCx, net::NetCx};
    use std::sync::atomic::{AtomicBool, AtomicU64};
    crate::util::crypto();
    let client = readyprobe::probes::http::client(&readyprobe::probes::http::ClientOptions {
        timeout: Duration::from_secs(5),
        extra_roots: Vec::new(),
        user_agent: "test".to_string(),
    })
    .expect("client");
    ProbeCx {
        net: NetCx::new(net.clone(), &[], "readyprobe-test", false),
        client,
        limit: Arc::new(tokio::sync::Semaphore::new(64)),
        timeout: Duration::from_secs(5),
        deadline: tokio::time::Instant::now() + Duration::from_secs(60),
        requests: Arc::new(AtomicU64::new(0)),
        max_requests: 10_000,
        max_body: 1 << 20,
        extra_headers: Vec::new(),
        redactor: readyprobe::redact::Redactor::new(),
        answered: Arc::new(AtomicBool::new(false)),
        share: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_host_limit_holds_across_audits_and_hostile_requests_go_alone() {
    use readyprobe::observations::http::RequestSpec;
    use readyprobe::probes::http;
    use std::sync::atomic::Ordering::SeqCst;
    let (addr, seen) = counting_server().await;
    let run = readyprobe::config::RunConfig {
        max_connections_per_host: 3,
        ..Default::default()
    };
    // Two audits of one run share its transport, as a fleet does.
    let net = readyprobe::probes::net::Net::for_run(&run);
    let audits = [probe_cx(&net), probe_cx(&net)];
    let url = url::Url::parse(&format!("http://{addr}/")).expect("url");
    let base = &url;
    let sends = audits.iter().flat_map(|cx| {
        (0..20).map(move |i| {
            let url = base.join(&format!("/r{i}")).expect("url");
            async move { http::send(cx, &RequestSpec::get(url)).await }
        })
    });
    for result in futures_util::future::join_all(sends).await {
        assert_eq!(result.expect("answered").status, 200);
    }
    assert!(
        seen.most.load(SeqCst) <= 3,
        "{} at once",
        seen.most.load(SeqCst)
    );
    assert!(seen.accepted.load(SeqCst) <= 4, "connections are reused");

    // A hostile request goes on a connection of its own, closed after the answer, even with
    // idle connections to reuse; the next ordinary request reuses one.
    let accepted = seen.accepted.load(SeqCst);
    let hostile = RequestSpec::get(url.clone()).alone();
    assert_eq!(
        http::send(&audits[0], &hostile)
            .await
            .expect("hostile")
            .status,
        200
    );
    assert_eq!(seen.accepted.load(SeqCst), accepted + 1);
    assert_eq!(seen.close_asked.load(SeqCst), 1);
    assert_eq!(
        http::send(&audits[1], &RequestSpec::get(url.clone()))
            .await
            .expect("ordinary")
            .status,
        200
    );
    assert_eq!(
        seen.accepted.load(SeqCst),
        accepted + 1,
        "an idle connection was reused"
    );
    assert!(seen.most.load(SeqCst) <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_behind_a_busy_address_is_not_starved() {
    use readyprobe::observations::http::RequestSpec;
    use readyprobe::probes::http;
    let (addr, seen) = counting_server().await;
    let run = readyprobe::config::RunConfig {
        max_connections_per_host: 2,
        ..Default::default()
    };
    let net = readyprobe::probes::net::Net::for_run(&run);
    // Two targets behind one address: 127.0.0.1 and localhost, same port.
    let busy = url::Url::parse(&format!("http://127.0.0.1:{}/", addr.port())).expect("url");
    let quiet = url::Url::parse(&format!("http://localhost:{}/", addr.port())).expect("url");
    let (a, b) = (probe_cx(&net), probe_cx(&net));
    // The busy target keeps both connections full, a new request as soon as one is answered.
    let worker = || async {
        for _ in 0..30 {
            let ex = http::send(&a, &RequestSpec::get(busy.clone())).await;
            assert_eq!(ex.expect("busy").status, 200);
        }
    };
    let late = async {
        while seen.hosts.lock().expect("hosts").len() < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        http::send(&b, &RequestSpec::get(quiet.clone())).await
    };
    let (_, _, answer) = tokio::join!(worker(), worker(), late);
    assert_eq!(answer.expect("the quiet target is answered").status, 200);
    let hosts = seen.hosts.lock().expect("hosts").clone();
    let position = hosts
        .iter()
        .position(|h| h.starts_with("localhost"))
        .expect("the quiet target's request arrived");
    // In line after the requests already waiting, not after the busy target's 60.
    assert!(position < 20, "served {position}th of {}", hosts.len());
    assert!(seen.most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_holds_the_per_host_limit_across_concurrent_scrapes() {
    use std::sync::atomic::Ordering::SeqCst;
    crate::util::crypto();
    let (target, seen) = counting_server().await;
    let mut base = readyprobe::config::Config::default();
    base.run.max_connections_per_host = 2;
    let router = readyprobe::serve::router(readyprobe::serve::ServeOptions::new(base, "test"))
        .expect("router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let exporter = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let client = reqwest::Client::new();
    // Four targets on one server address (a base path each): concurrent scrapes of one target
    // would share one audit.
    let scrapes = (0..4).map(|i| {
        let client = client.clone();
        let scrape =
            format!("http://{exporter}/probe?target=http://{target}/t{i}/&profile=production");
        async move { client.get(scrape).send().await?.text().await }
    });
    for body in futures_util::future::join_all(scrapes).await {
        let body = body.expect("scraped");
        assert!(body.contains("readyprobe_probe_success 1"), "{body}");
    }
    assert!(
        seen.hosts.lock().expect("hosts").len() > 100,
        "four audits ran"
    );
    assert!(
        (1..=2).contains(&seen.most.load(SeqCst)),
        "{} connections at once",
        seen.most.load(SeqCst)
    );
}

// ---------------------------------------------------------------------------------------------
// nginx with HTTP/2: a hostile request must not take its neighbours down

/// The server is as strict as the test needs: nginx answers a 16 KiB header on a shared HTTP/2
/// connection by closing the connection (GOAWAY), so every stream beside it dies — the failure
/// readyprobe used to report as `error` findings.
async fn oversized_header_on_http2_kills_the_connection(url: &str, ca: &std::path::Path) {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    crate::util::crypto();
    let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
        .expect("ca")
        .collect::<Result<_, _>>()
        .expect("pem");
    let client = readyprobe::probes::http::client(&readyprobe::probes::http::ClientOptions {
        timeout: Duration::from_secs(5),
        extra_roots: roots,
        user_agent: "test".to_string(),
    })
    .expect("client");
    let ordinary = client.get(url).send().await.expect("an ordinary GET");
    assert_eq!(ordinary.version(), reqwest::Version::HTTP_2);
    let hostile = client
        .get(url)
        .header("x-padding", "a".repeat(16 * 1024))
        .send()
        .await;
    let err = hostile.expect_err("nginx must refuse a 16 KiB header on HTTP/2");
    let chain = readyprobe::probes::error_chain(&err);
    assert!(
        chain.contains("excessive load") || chain.contains("GOAWAY") || chain.contains("closed"),
        "{chain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_http2_passive_audit_has_no_error_finding_20_times_in_a_row() {
    if !nginx_harness::available() {
        return;
    }
    let pki = Pki::new();
    let (ca, leaf) = pki.ca_signed();
    let nginx = Nginx::start(1024, &[Site::https_h2(leaf)]);
    let url = nginx.url(0);
    oversized_header_on_http2_kills_the_connection(&url, &ca).await;
    let ca = ca.display().to_string();
    for run in 1..=20 {
        let (report, code) = tokio::task::spawn_blocking({
            let (url, ca) = (url.clone(), ca.clone());
            move || {
                audit_json(&[
                    &url,
                    "--ca-file",
                    &ca,
                    "--profile",
                    "production",
                    "--timeout",
                    "5s",
                ])
            }
        })
        .await
        .expect("audit");
        assert_ne!(code, 3, "run {run}: unreachable");
        let errors = errors(&report);
        assert!(errors.is_empty(), "run {run}: error findings: {errors:#?}");
        // The 16 KiB header went on a connection of its own (HTTP/1.1) and was judged.
        let leak = finding(&report, "errors.leak");
        assert!(
            leak["evidence"]
                .as_array()
                .expect("evidence")
                .iter()
                .any(|e| e
                    .as_str()
                    .is_some_and(|e| e.contains("16 KiB") && e.contains("→ 4"))),
            "{leak}"
        );
    }
    let access = nginx.access_log();
    assert!(access.contains("HTTP/2.0"), "ordinary probes share HTTP/2");
    // Only the check of the server above sent a large header over HTTP/2; the audits never did.
    let over_h2 = nginx
        .error_log()
        .matches("too large header field while processing HTTP/2")
        .count();
    assert_eq!(over_h2, 1, "{}", nginx.error_log());
}

#[test]
fn streams_stay_below_the_servers_limit_and_long_bodies_close_their_connection() {
    if !nginx_harness::available() {
        return;
    }
    let pki = Pki::new();
    let (ca, leaf) = pki.ca_signed();
    let mut site = Site::https_h2(leaf);
    site.directives = "        http2_max_concurrent_streams 4;\n".to_string();
    let nginx = Nginx::start(1024, &[site]);
    // 2 MiB behind the liveness path: read past the 64 KiB cap by discovery and by each of the
    // six latency samples, which run one after another.
    std::fs::write(nginx.dir().join("www/big.html"), "a".repeat(2 << 20)).expect("big");
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("readyprobe.toml");
    std::fs::write(
        &config,
        "[run]\nmax_body_bytes = 65536\nconcurrency = 32\n\
         [health]\nliveness = [\"/big.html\"]\nlatency_samples = 6\n",
    )
    .expect("config");
    let (report, _) = audit_json(&[
        &nginx.url(0),
        "--config",
        &config.display().to_string(),
        "--ca-file",
        &ca.display().to_string(),
        "--profile",
        "production",
    ]);
    let errors = errors(&report);
    assert!(errors.is_empty(), "{errors:#?}");
    let health = finding(&report, "health.endpoints");
    assert_ne!(health["outcome"], "error", "{health}");
    let log = nginx.error_log();
    // nginx refuses (REFUSED_STREAM) a stream over its limit, and logs a client's RST_STREAM.
    assert!(!log.contains("concurrent streams exceeded"), "{log}");
    // A body past the cap closes its connection: nginx sees at most one unfinished stream per
    // connection (as the connection closes), never stream after stream reset on a live one.
    let mut canceled: HashMap<String, usize> = HashMap::new();
    for line in log.lines().filter(|l| l.contains("canceled stream")) {
        let connection = line
            .split_whitespace()
            .find(|w| w.starts_with('*'))
            .unwrap_or_default();
        *canceled.entry(connection.to_string()).or_default() += 1;
    }
    assert!(canceled.values().all(|n| *n <= 1), "{canceled:?}\n{log}");
    let big = nginx.access_log().matches("GET /big.html HTTP/2.0").count();
    assert_eq!(big, 7, "discovery and six samples");
}

#[test]
fn servers_that_close_connections_get_safe_requests_again_not_errors() {
    if !nginx_harness::available() {
        return;
    }
    let pki = Pki::new();
    let (ca, leaf) = pki.ca_signed();
    // Few requests per connection (nginx then sends GOAWAY on HTTP/2, `Connection: close` on
    // HTTP/1.1) and a short idle timeout: pooled connections close under the client.
    let mut h2 = Site::https_h2(leaf);
    h2.directives = "        keepalive_requests 20;\n        keepalive_timeout 50ms;\n".into();
    let mut h1 = Site::http();
    h1.directives = "        keepalive_requests 3;\n        keepalive_timeout 50ms;\n".into();
    let nginx = Nginx::start(1024, &[h1, h2]);
    let ca = ca.display().to_string();
    for site in 0..2 {
        for _ in 0..3 {
            let (report, code) = audit_json(&[
                &nginx.url(site),
                "--ca-file",
                &ca,
                "--profile",
                "production",
            ]);
            assert_ne!(code, 3);
            let errors = errors(&report);
            assert!(errors.is_empty(), "{}: {errors:#?}", nginx.url(site));
        }
    }
}

/// Many audits share HTTP/2 connections and nginx ends each after 40 requests (GOAWAY, then
/// close once its streams are done). Requests above the GOAWAY's last stream, and requests still
/// queued in the client when the connection closes (cancelled before a byte is written), are sent
/// again; the pool learns the 40 and puts no more than that on a connection. Before it learned,
/// this fleet sent 5,128 requests again and still drew 367 `error` findings (retries used up);
/// now a few hundred go again, all in the first moments.
#[test]
fn a_fleet_on_http2_connections_nginx_keeps_ending_has_no_error() {
    if !nginx_harness::available() {
        return;
    }
    let pki = Pki::new();
    let (ca, leaf) = pki.ca_signed();
    let mut h2 = Site::https_h2(leaf);
    h2.directives = "        keepalive_requests 40;\n".into();
    let nginx = Nginx::start(1024, &[h2]);
    let targets: Vec<String> = (0..60).map(|i| format!("{}t{i}/", nginx.url(0))).collect();
    let fleet = run_fleet(&targets, &ca, &["--fleet-concurrency", "30"]);
    eprintln!("requests sent again: {}", fleet.retried);
    assert_eq!(fleet.audited, 60, "every target has a report");
    assert!(
        fleet.retried > 0,
        "nginx never ended a connection under the fleet"
    );
    fleet.assert_no_error();
}

/// What a fleet run (`audit --targets … --out-dir`) left: its reports read back.
struct FleetRun {
    /// Reports written (JSON).
    audited: usize,
    /// Every `error` finding, with its report's path.
    errors: Vec<String>,
    /// Requests the reports' evidence says were sent again on a new connection.
    retried: usize,
}

impl FleetRun {
    fn assert_no_error(&self) {
        assert!(
            self.errors.is_empty(),
            "{} error findings, first: {:#?}",
            self.errors.len(),
            &self.errors[..self.errors.len().min(5)]
        );
    }
}

/// Audits `targets` as a fleet (`--profile production --timeout 10s --quiet`, plus `extra`),
/// trusting `ca`; asserts it exits 0 or 1 without a panic and reads its reports back.
fn run_fleet(targets: &[String], ca: &std::path::Path, extra: &[&str]) -> FleetRun {
    let dir = tempfile::tempdir().expect("tmp");
    let list = dir.path().join("targets.txt");
    std::fs::write(&list, targets.join("\n")).expect("targets");
    let reports = dir.path().join("reports");
    let started = Instant::now();
    let out = readyprobe()
        .arg("audit")
        .arg("--targets")
        .arg(&list)
        .arg("--ca-file")
        .arg(ca)
        .arg("--out-dir")
        .arg(&reports)
        .args(["--profile", "production", "--timeout", "10s", "--quiet"])
        .args(extra)
        .timeout(Duration::from_secs(900))
        .output()
        .expect("run the fleet");
    eprintln!(
        "fleet of {}: {:.1} s, exit {:?}",
        targets.len(),
        started.elapsed().as_secs_f64(),
        out.status.code()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    let mut run = FleetRun {
        audited: 0,
        errors: Vec::new(),
        retried: 0,
    };
    for entry in std::fs::read_dir(&reports).expect("reports") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        run.audited += 1;
        let text = std::fs::read_to_string(&path).expect("read");
        run.retried += text.matches("sent again on a new connection").count();
        let report: Value = serde_json::from_str(&text).expect("json");
        run.errors.extend(
            errors(&report)
                .into_iter()
                .map(|e| format!("{}: {e}", path.display())),
        );
    }
    run
}

// ---------------------------------------------------------------------------------------------
// nginx with 64 worker connections: a fleet stays under the per-host limit

#[test]
fn nginx_with_64_worker_connections_survives_a_fleet_of_300() {
    if !nginx_harness::available() {
        return;
    }
    let pki = Pki::new();
    let (ca, leaf) = pki.ca_signed();
    let nginx = Nginx::start(64, &[Site::http(), Site::https_h2(leaf)]);
    let targets: Vec<String> = (0..300).map(|i| nginx.url(i % 2)).collect();
    let fleet = run_fleet(&targets, &ca, &[]);
    assert_eq!(fleet.audited, 300, "every target has a report");
    fleet.assert_no_error();
    let log = nginx.error_log();
    assert!(
        !log.contains("not enough"),
        "nginx ran out of worker connections: {}",
        log.lines()
            .filter(|l| l.contains("not enough"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Certificates staging really uses

const SECRET: &str = "rp-credential-never-over-unverified";

/// Headers findings that read the root page.
const HEADER_CHECKS: &[&str] = &[
    "headers.hsts",
    "headers.csp",
    "headers.content_type_options",
];

#[test]
fn expired_and_self_signed_certificates_are_judged_unverified_without_credentials() {
    if !nginx_harness::available() {
        return;
    }
    let pki = Pki::new();
    let expired = pki.expired();
    let self_signed = pki.self_signed();
    let nginx = Nginx::start(
        256,
        &[Site::https_h2(expired), Site::https_h2(self_signed.clone())],
    );
    let auth = format!("Authorization: Bearer {SECRET}");
    for site in 0..2 {
        let url = nginx.url(site);
        let (report, code) = audit_json(&[&url, "-H", &auth, "--profile", "production"]);
        assert_ne!(code, 3, "{url}: the site answered");
        let cert = finding(&report, "tls.certificate");
        assert_eq!(cert["outcome"], "fail", "{url}: {cert}");
        for id in HEADER_CHECKS {
            let f = finding(&report, id);
            assert_ne!(f["outcome"], "error", "{url}: {id} must be judged: {f}");
            assert_ne!(f["outcome"], "skipped", "{url}: {id} must be judged: {f}");
        }
        // Every finding about what came over HTTP says the connection was unverified.
        for f in findings(&report) {
            let id = f["check_id"].as_str().unwrap_or_default();
            if f["outcome"] == "skipped" || id.starts_with("tls.") {
                continue;
            }
            assert!(
                f["evidence"].as_array().expect("evidence").iter().any(|e| e
                    .as_str()
                    .is_some_and(|e| e.contains("unverified connection"))),
                "{url}: {id} must say the connection was unverified: {f}"
            );
        }
        assert!(
            !report.to_string().contains(SECRET),
            "the report carries the credential"
        );
    }
    let access = nginx.access_log();
    assert!(
        access.lines().count() > 50,
        "the sites were probed: {access}"
    );
    assert!(
        !access.contains(SECRET) && !access.contains("Bearer"),
        "a configured Authorization header reached an unverified server"
    );

    // The self-signed certificate passed as --ca-file is trusted as exactly itself: verified,
    // the header is sent (which proves the log above would have shown it).
    let (report, _) = audit_json(&[
        &nginx.url(1),
        "-H",
        &auth,
        "--ca-file",
        &self_signed.cert.display().to_string(),
        "--profile",
        "production",
    ]);
    let cert = finding(&report, "tls.certificate");
    assert_eq!(cert["outcome"], "pass", "pinned self-signed: {cert}");
    let hsts = finding(&report, "headers.hsts");
    assert!(
        !hsts.to_string().contains("unverified"),
        "pinned: verified connection: {hsts}"
    );
    assert!(
        nginx.access_log().contains(SECRET),
        "over a verified connection the configured header is sent"
    );

    // --strict-tls keeps every HTTP check an error on the expired site.
    let (report, _) = audit_json(&[&nginx.url(0), "--strict-tls", "--profile", "production"]);
    let hsts = finding(&report, "headers.hsts");
    assert_eq!(hsts["outcome"], "error", "{hsts}");
}

// ---------------------------------------------------------------------------------------------
// DNS: one resolution per audit

/// A DNS responder on 127.0.0.1 that counts the questions per (name, type): `app.rp.test`
/// is 127.0.0.1, every other name does not exist (NXDOMAIN).
struct CountingDns {
    addr: SocketAddr,
    asked: Arc<Mutex<HashMap<(String, String), u32>>>,
}

impl CountingDns {
    fn start() -> CountingDns {
        use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
        use hickory_resolver::proto::rr::rdata::A;
        use hickory_resolver::proto::rr::{RData, Record, RecordType};

        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = socket.local_addr().expect("addr");
        let asked: Arc<Mutex<HashMap<(String, String), u32>>> = Arc::default();
        let counts = Arc::clone(&asked);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
                reply.metadata.message_type = MessageType::Response;
                reply.metadata.authoritative = true;
                reply.metadata.recursion_desired = query.metadata.recursion_desired;
                reply.metadata.recursion_available = true;
                for q in &query.queries {
                    reply.add_query(q.clone());
                    let name = q.name().to_ascii().to_ascii_lowercase();
                    *counts
                        .lock()
                        .expect("counts")
                        .entry((name.clone(), q.query_type().to_string()))
                        .or_default() += 1;
                    match (name.as_str(), q.query_type()) {
                        ("app.rp.test.", RecordType::A) => {
                            reply.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::A(A(Ipv4Addr::LOCALHOST)),
                            ));
                        }
                        ("app.rp.test.", _) => {}
                        _ => reply.metadata.response_code = ResponseCode::NXDomain,
                    }
                }
                if let Ok(bytes) = reply.to_vec() {
                    let _ = socket.send_to(&bytes, peer);
                }
            }
        });
        CountingDns { addr, asked }
    }

    /// Questions about `name` (with the trailing dot), by record type.
    fn questions(&self, name: &str) -> HashMap<String, u32> {
        self.asked
            .lock()
            .expect("counts")
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, t), c)| (t.clone(), *c))
            .collect()
    }

    fn reset(&self) {
        self.asked.lock().expect("counts").clear();
    }
}

/// One lookup: at most one question per record type (A, then AAAA when A had nothing).
fn assert_one_lookup(dns: &CountingDns, name: &str) {
    let asked = dns.questions(name);
    assert_eq!(asked.get("A"), Some(&1), "{name}: {asked:?}");
    assert!(
        asked
            .iter()
            .all(|(t, c)| *c == 1 && (t == "A" || t == "AAAA")),
        "{name}: {asked:?}"
    );
}

#[test]
fn each_name_is_resolved_once_per_audit() {
    if !nginx_harness::available() {
        return;
    }
    let dns = CountingDns::start();
    let ns = dns.addr.to_string();
    let nginx = Nginx::start(256, &[Site::http()]);
    let port = nginx.ports[0];

    // A name that does not exist: one lookup, however many probes wanted it.
    let (report, code) = audit_json(&[
        &format!("http://gone.rp.test:{port}/"),
        "--nameserver",
        &ns,
        "--timeout",
        "2s",
    ]);
    assert_eq!(code, 3, "an unresolvable target is unreachable");
    let csp = finding(&report, "headers.csp");
    assert!(
        csp["summary"]
            .as_str()
            .is_some_and(|s| s.contains("NXDOMAIN")),
        "{csp}"
    );
    assert!(report["requests_sent"].as_u64().unwrap_or(0) > 20);
    assert_one_lookup(&dns, "gone.rp.test.");

    // A name that resolves: one lookup, and the audit reaches the server behind it.
    dns.reset();
    let (report, code) = audit_json(&[
        &format!("http://app.rp.test:{port}/"),
        "--nameserver",
        &ns,
        "--profile",
        "production",
    ]);
    assert_ne!(code, 3, "app.rp.test answered");
    assert!(errors(&report).is_empty(), "{:#?}", errors(&report));
    assert_one_lookup(&dns, "app.rp.test.");

    // A fleet run shares one resolver: still one lookup for four audits of the name.
    dns.reset();
    let dir = tempfile::tempdir().expect("tmp");
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("http://gone.rp.test:{port}/\n").repeat(4)).expect("targets");
    let out = readyprobe()
        .args([
            "audit",
            "--quiet",
            "--timeout",
            "2s",
            "--nameserver",
            &ns,
            "--targets",
        ])
        .arg(&targets)
        .output()
        .expect("fleet");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_one_lookup(&dns, "gone.rp.test.");
}

// ---------------------------------------------------------------------------------------------
// A closed pipe

#[test]
fn a_closed_pipe_ends_quietly_with_sigpipe() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    for args in [
        &["checks"][..],
        &["checks", "--format", "json"][..],
        &["explain", "headers.hsts"][..],
    ] {
        // The reading end is closed before the first write, as after `| head` has exited.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let mut child = Command::new(env!("CARGO_BIN_EXE_readyprobe"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr");
        let status = child.wait().expect("wait");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert_eq!(status.signal(), Some(libc::SIGPIPE), "{args:?}: {status:?}");
    }
}
