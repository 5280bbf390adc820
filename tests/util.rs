//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The real binary, with colour and environment overrides cleared.
pub fn readyprobe() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("readyprobe").expect("binary builds");
    for (key, _) in std::env::vars() {
        if key.starts_with("READYPROBE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// True when running under CI (`CI=true`): missing services are failures there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Checks that a machine service listens on `addr`. Under CI a missing service panics; elsewhere
/// it prints the reason and returns false so the test can return early.
pub fn require_service(name: &str, addr: &str) -> bool {
    let reachable = addr
        .to_socket_addrs()
        .ok()
        .into_iter()
        .flatten()
        .any(|a: SocketAddr| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if reachable {
        return true;
    }
    if in_ci() {
        panic!("{name} is not reachable on {addr}; CI=true requires it (.ci/run starts it)");
    }
    eprintln!("skipping: {name} is not reachable on {addr} (under CI=true this fails)");
    false
}

/// Installs the ring crypto provider (idempotent).
pub fn crypto() {
    readyprobe::install_crypto_provider();
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// A test certificate authority and servers signed by it, all generated at test time.
pub mod pki {
    use std::time::{Duration, SystemTime};

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa,
        KeyPair,
    };
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    /// One day.
    pub const DAY: Duration = Duration::from_secs(86_400);

    /// A CA that signs leaf certificates.
    pub struct TestCa {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    /// A leaf certificate chain and its key.
    pub struct Leaf {
        /// Leaf first, then the CA.
        pub chain: Vec<CertificateDer<'static>>,
        /// PKCS#8 key.
        pub key: PrivateKeyDer<'static>,
    }

    impl TestCa {
        /// A fresh CA named `name`.
        pub fn new(name: &str) -> TestCa {
            let mut params = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, name);
            params.distinguished_name = dn;
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let now = SystemTime::now();
            params.not_before = (now - DAY).into();
            params.not_after = (now + DAY * 365).into();
            let key = KeyPair::generate().expect("key");
            TestCa {
                issuer: CertifiedIssuer::self_signed(params, key).expect("ca"),
            }
        }

        /// The CA certificate (a trust anchor).
        pub fn der(&self) -> CertificateDer<'static> {
            self.issuer.der().clone()
        }

        /// The CA certificate as PEM.
        pub fn pem(&self) -> String {
            self.issuer.pem()
        }

        /// A leaf for `hosts`, valid from `not_before` to `not_after`.
        pub fn leaf(&self, hosts: &[&str], not_before: SystemTime, not_after: SystemTime) -> Leaf {
            let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
            let mut params = CertificateParams::new(names).expect("params");
            let mut dn = DistinguishedName::new();
            dn.push(
                DnType::CommonName,
                hosts.first().copied().unwrap_or("localhost"),
            );
            params.distinguished_name = dn;
            params.not_before = not_before.into();
            params.not_after = not_after.into();
            let key = KeyPair::generate().expect("key");
            let cert = params.signed_by(&key, &self.issuer).expect("sign");
            Leaf {
                chain: vec![cert.der().clone(), self.der()],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            }
        }

        /// A leaf for 127.0.0.1 and localhost valid for 90 days.
        pub fn localhost(&self) -> Leaf {
            let now = SystemTime::now();
            self.leaf(&["127.0.0.1", "localhost"], now - DAY, now + DAY * 90)
        }
    }
}

/// Small local servers for engine tests (loopback only).
pub mod servers {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;
    use tokio::net::TcpListener;

    use super::pki::Leaf;

    /// Serves `app` over plain HTTP on 127.0.0.1; the task lives as long as the runtime.
    pub async fn http(app: axum::Router) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    /// A TLS server configuration (ring) presenting `leaf`, offering `alpn` in that order.
    pub fn server_config(leaf: Leaf, alpn: &[&[u8]]) -> rustls::ServerConfig {
        super::crypto();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(leaf.chain, leaf.key)
            .expect("cert");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config
    }

    /// Serves `app` over HTTPS with `leaf` on 127.0.0.1.
    pub async fn https(app: axum::Router, leaf: Leaf) -> SocketAddr {
        let config = server_config(leaf, &[b"http/1.1"]);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                        .await;
                });
            }
        });
        addr
    }

    /// Accepts connections and never answers (holds them open).
    pub async fn silent() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                held.push(sock);
            }
        });
        addr
    }
}

/// A probe context like the engine's for in-process probe calls (2 s timeout, 30 s deadline),
/// trusting `roots` besides the web roots.
pub fn probe_cx(
    roots: Vec<rustls_pki_types::CertificateDer<'static>>,
) -> readyprobe::probes::ProbeCx {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64};
    crypto();
    let timeout = Duration::from_secs(2);
    readyprobe::probes::ProbeCx {
        net: readyprobe::probes::net::NetCx::standalone(
            &readyprobe::config::RunConfig::default(),
            &roots,
        ),
        client: readyprobe::probes::http::client(&readyprobe::probes::http::ClientOptions {
            timeout,
            extra_roots: roots.clone(),
            user_agent: "readyprobe-test".to_string(),
        })
        .expect("client"),
        limit: Arc::new(tokio::sync::Semaphore::new(8)),
        timeout,
        deadline: tokio::time::Instant::now() + Duration::from_secs(30),
        requests: Arc::new(AtomicU64::new(0)),
        max_requests: 1000,
        max_body: 1024 * 1024,
        extra_headers: Vec::new(),
        redactor: readyprobe::redact::Redactor::new(),
        answered: Arc::new(AtomicBool::new(false)),
        share: None,
    }
}

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The ports of one supervised demo: HTTPS, plain HTTP and the fault proxy.
pub struct DemoPorts {
    /// The demo's HTTPS listener.
    pub https: u16,
    /// The demo's plain-HTTP listener.
    pub http: u16,
    /// The fault proxy in front of the demo's database.
    pub proxy: u16,
}

impl DemoPorts {
    /// Three free loopback ports.
    pub fn new() -> DemoPorts {
        DemoPorts {
            https: free_port(),
            http: free_port(),
            proxy: free_port(),
        }
    }

    /// Each port can be bound again within 5 s: nothing is left listening after the audit.
    pub fn assert_free(&self) {
        for port in [self.https, self.http, self.proxy] {
            let free = (0..50).any(|_| {
                let ok = std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
                if !ok {
                    std::thread::sleep(Duration::from_millis(100));
                }
                ok
            });
            assert!(free, "port {port} is still in use after the audit");
        }
    }
}
