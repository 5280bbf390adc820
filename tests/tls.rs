//! `tls.certificate` and `tls.protocols` against real local TLS servers.
//!
//! Certificates are generated at test time (`util::pki::TestCa`): valid under a private CA passed
//! as an extra root (as `--ca-file` does), expired, expiring in 10 days, issued for another host,
//! self-signed, and from a CA the run does not trust. Legacy protocol acceptance uses Debian's
//! real `openssl s_server` (OpenSSL 3 offers TLS 1.0/1.1 only with `-cipher ALL:@SECLEVEL=0` and
//! `-tls1` or `-min_protocol TLSv1`), started as a child process that a guard kills on drop.
//! Hostile peers (garbage, immediate close, truncated ServerHello, silence) must each give an
//! `error` finding, never a hang, panic or pass.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::routing::get;
use readyprobe::checks::Catalogue;
use readyprobe::config::Config;
use readyprobe::engine::{self, Audit};
use readyprobe::model::{Finding, Outcome, Severity};
use readyprobe::redact::Redactor;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use crate::util::pki::{DAY, Leaf, TestCa};
use crate::util::{self, servers};

fn audit(target: &str, roots: Vec<CertificateDer<'static>>) -> Audit {
    let mut config = Config::default();
    config.run.deadline = Duration::from_secs(20);
    config.run.timeout = Duration::from_millis(1500);
    config.health.latency_samples = 0;
    Audit {
        target: Url::parse(target).expect("url"),
        config,
        extra_roots: roots,
        headers: Vec::new(),
        redactor: Redactor::new(),
        catalogue: Arc::new(Catalogue::load(&[]).expect("catalogue")),
    }
}

fn app() -> Router {
    Router::new().route("/", get(|| async { "ok" }))
}

/// Serves `leaf` over HTTPS (rustls: TLS 1.2 and 1.3) and audits it, trusting `roots`.
async fn audit_https(leaf: Leaf, roots: Vec<CertificateDer<'static>>) -> (Finding, Finding) {
    util::crypto();
    let addr = servers::https(app(), leaf).await;
    findings(addr, roots).await
}

async fn findings(addr: SocketAddr, roots: Vec<CertificateDer<'static>>) -> (Finding, Finding) {
    let out = engine::run(&audit(&format!("https://{addr}/"), roots))
        .await
        .expect("run");
    let cert = out.report.finding("tls.certificate").expect("certificate");
    let protocols = out.report.finding("tls.protocols").expect("protocols");
    (cert.clone(), protocols.clone())
}

fn evidence(f: &Finding) -> String {
    f.evidence.join("\n")
}

#[tokio::test]
async fn private_ca_passed_as_extra_root_is_trusted() {
    let ca = TestCa::new("private staging CA");
    let now = SystemTime::now();
    let leaf = ca.leaf(
        &["127.0.0.1", "localhost"],
        now - DAY,
        now + DAY * 90 + Duration::from_secs(3600),
    );
    let (cert, protocols) = audit_https(leaf, vec![ca.der()]).await;
    assert_eq!(cert.outcome, Outcome::Pass, "{cert:?}");
    assert!(cert.summary.contains("90 days left"), "{}", cert.summary);
    let ev = evidence(&cert);
    assert!(ev.contains("Subject: CN=127.0.0.1"), "{ev}");
    assert!(ev.contains("Issuer: CN=private staging CA"), "{ev}");
    assert!(ev.contains("SANs: 127.0.0.1, localhost"), "{ev}");
    assert!(ev.contains("Verifier: chain trusted for 127.0.0.1"), "{ev}");
    assert!(ev.contains("Key: EC 256 bits"), "{ev}");

    assert_eq!(protocols.outcome, Outcome::Pass, "{protocols:?}");
    let ev = evidence(&protocols);
    assert!(ev.contains("TLS 1.0: refused ("), "{ev}");
    assert!(ev.contains("TLS 1.1: refused ("), "{ev}");
    assert!(ev.contains("negotiated TLS 1.3"), "{ev}");
    assert!(ev.contains("ALPN http/1.1"), "{ev}");
}

#[tokio::test]
async fn expired_certificate_fails_critical() {
    let ca = TestCa::new("CA");
    let now = SystemTime::now();
    let leaf = ca.leaf(&["127.0.0.1"], now - DAY * 60, now - DAY * 3);
    let (cert, _) = audit_https(leaf, vec![ca.der()]).await;
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    assert_eq!(cert.severity, Severity::Critical);
    assert!(cert.summary.contains("has expired"), "{}", cert.summary);
    let ev = evidence(&cert);
    assert!(ev.contains("days left)"), "{ev}");
    assert!(
        ev.contains("Verifier: invalid peer certificate: certificate expired"),
        "{ev}"
    );
}

#[tokio::test]
async fn certificate_expiring_in_ten_days_fails_high() {
    let ca = TestCa::new("CA");
    let now = SystemTime::now();
    let leaf = ca.leaf(
        &["127.0.0.1"],
        now - DAY,
        now + DAY * 10 + Duration::from_secs(3600),
    );
    let (cert, _) = audit_https(leaf, vec![ca.der()]).await;
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    assert_eq!(cert.severity, Severity::High);
    assert!(
        cert.summary.contains("expires in 10 days"),
        "{}",
        cert.summary
    );
    assert!(evidence(&cert).contains("(10 days left)"), "{cert:?}");
}

#[tokio::test]
async fn certificate_for_another_host_fails_critical() {
    let ca = TestCa::new("CA");
    let now = SystemTime::now();
    let leaf = ca.leaf(&["other.example.com"], now - DAY, now + DAY * 90);
    let (cert, _) = audit_https(leaf, vec![ca.der()]).await;
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    assert_eq!(cert.severity, Severity::Critical);
    assert!(
        cert.summary.contains("does not match the host name"),
        "{}",
        cert.summary
    );
    let ev = evidence(&cert);
    assert!(ev.contains("SANs: other.example.com"), "{ev}");
    assert!(ev.contains("not valid for name"), "{ev}");
}

#[tokio::test]
async fn certificate_from_untrusted_ca_fails_critical() {
    let ca = TestCa::new("unknown CA");
    let (cert, _) = audit_https(ca.localhost(), vec![]).await;
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    assert_eq!(cert.severity, Severity::Critical);
    assert!(
        cert.summary.contains("is not issued by a trusted CA"),
        "{}",
        cert.summary
    );
    assert!(evidence(&cert).contains("UnknownIssuer"), "{cert:?}");
}

#[tokio::test]
async fn self_signed_certificate_fails_critical() {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("self-signed");
    let leaf = Leaf {
        chain: vec![cert.der().clone()],
        key: rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    };
    let (cert, _) = audit_https(leaf, vec![]).await;
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    assert_eq!(cert.severity, Severity::Critical);
    assert!(
        cert.summary.contains("(it is self-signed)"),
        "{}",
        cert.summary
    );
    assert!(evidence(&cert).contains(", self-signed"), "{cert:?}");
}

// ---------------------------------------------------------------------------------------------
// openssl s_server

/// An `openssl s_server` child process, killed on drop.
struct SServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `openssl s_server` on a loopback port with a throwaway RSA certificate and `args`,
/// and waits until it listens.
fn s_server(args: &[&str]) -> SServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed (Debian's /usr/bin/openssl)");
    assert!(made.success(), "openssl req failed");
    let port = util::closed_port();
    let child = Command::new("openssl")
        .arg("s_server")
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .args(args)
        .args(["-www", "-quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn openssl s_server");
    let server = SServer {
        child,
        port,
        _dir: dir,
    };
    wait_listening(port);
    server
}

fn wait_listening(port: u16) {
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("openssl s_server did not listen on 127.0.0.1:{port}");
}

#[tokio::test]
async fn openssl_server_offering_tls10_fails_protocols() {
    util::crypto();
    let server = s_server(&["-min_protocol", "TLSv1", "-cipher", "ALL:@SECLEVEL=0"]);
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let (cert, protocols) = findings(addr, vec![]).await;
    assert_eq!(protocols.outcome, Outcome::Fail, "{protocols:?}");
    assert_eq!(protocols.severity, Severity::High);
    assert!(
        protocols.summary.contains("accepts TLS 1.0 and TLS 1.1"),
        "{}",
        protocols.summary
    );
    let ev = evidence(&protocols);
    assert!(
        ev.contains("TLS 1.0: accepted (ServerHello TLS 1.0, cipher 0x"),
        "{ev}"
    );
    assert!(
        ev.contains("TLS 1.1: accepted (ServerHello TLS 1.1"),
        "{ev}"
    );
    assert!(ev.contains("negotiated TLS 1.3"), "{ev}");
    // Its throwaway certificate is self-signed for "localhost", not 127.0.0.1.
    assert_eq!(cert.outcome, Outcome::Fail, "{cert:?}");
    assert_eq!(cert.severity, Severity::Critical);
}

#[tokio::test]
async fn openssl_server_speaking_only_tls10_fails_protocols() {
    util::crypto();
    let server = s_server(&["-tls1", "-cipher", "ALL:@SECLEVEL=0"]);
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let (cert, protocols) = findings(addr, vec![]).await;
    assert_eq!(protocols.outcome, Outcome::Fail, "{protocols:?}");
    let ev = evidence(&protocols);
    assert!(ev.contains("TLS 1.0: accepted"), "{ev}");
    assert!(ev.contains("TLS 1.1: refused"), "{ev}");
    assert!(ev.contains("TLS 1.2/1.3 client: handshake failed"), "{ev}");
    // No modern handshake, so no chain to judge: an error, not a pass.
    assert_eq!(cert.outcome, Outcome::Error, "{cert:?}");
}

#[tokio::test]
async fn openssl_server_with_defaults_passes_protocols() {
    util::crypto();
    let server = s_server(&[]);
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let (_, protocols) = findings(addr, vec![]).await;
    assert_eq!(protocols.outcome, Outcome::Pass, "{protocols:?}");
    let ev = evidence(&protocols);
    assert!(ev.contains("TLS 1.0: refused"), "{ev}");
    assert!(ev.contains("TLS 1.1: refused"), "{ev}");
}

// ---------------------------------------------------------------------------------------------
// Hostile peers

/// A TCP server that reads what the client sends, then answers with `answer` (maybe nothing) and
/// closes.
async fn answers(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                if answer.is_empty() {
                    return; // close at once
                }
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(answer).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

async fn assert_both_error(addr: SocketAddr, fragment: &str) {
    let (cert, protocols) = findings(addr, vec![]).await;
    for f in [&cert, &protocols] {
        assert_eq!(f.outcome, Outcome::Error, "{f:?}");
        assert!(f.summary.contains(fragment), "{}", f.summary);
    }
}

#[tokio::test]
async fn garbage_answer_to_client_hello_is_an_error() {
    util::crypto();
    let addr = answers(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    assert_both_error(addr, "TLS handshake failed").await;
}

#[tokio::test]
async fn immediate_close_is_an_error() {
    util::crypto();
    let addr = answers(b"").await;
    assert_both_error(addr, "TLS handshake failed").await;
}

#[tokio::test]
async fn close_mid_server_hello_is_an_error() {
    util::crypto();
    // A handshake record header announcing 64 bytes, then the first byte of a ServerHello.
    let addr = answers(&[0x16, 0x03, 0x03, 0x00, 0x40, 0x02]).await;
    assert_both_error(addr, "TLS handshake failed").await;
}

#[tokio::test]
async fn silent_server_is_an_error_within_the_deadline() {
    util::crypto();
    let addr = servers::silent().await;
    let mut audit = audit(&format!("https://{addr}/"), vec![]);
    audit.config.run.timeout = Duration::from_millis(500);
    audit.config.run.deadline = Duration::from_secs(3);
    let out = engine::run(&audit).await.expect("run");
    for id in ["tls.certificate", "tls.protocols"] {
        let f = out.report.finding(id).expect("finding");
        assert_eq!(f.outcome, Outcome::Error, "{f:?}");
        assert!(
            f.summary.contains("no answer within") || f.summary.contains("deadline was reached"),
            "{}",
            f.summary
        );
    }
}
