//! End-to-end tests of the demo target: real listeners on ephemeral ports, real TLS with the demo
//! CA as the only trust anchor, real HTTP/1.1 and HTTP/2.

mod flawed;
mod hardened;
mod transport;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{DemoError, DemoOptions, DemoProfile, DemoTarget, start};

fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client that trusts only the demo CA, offers h2 and http/1.1, and never follows redirects.
fn client(target: &DemoTarget) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(target.ca_der.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn start_profile(profile: DemoProfile) -> (DemoTarget, reqwest::Client) {
    install_provider();
    let target = start(DemoOptions::ephemeral(profile)).await.unwrap();
    let client = client(&target);
    (target, client)
}

fn url(target: &DemoTarget, path: &str) -> reqwest::Url {
    target.https_url.join(path).unwrap()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// An address nothing listens on (bound, then released).
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

fn assert_no_stack_trace(body: &str) {
    assert!(!body.contains("    at "), "stack trace leaked: {body}");
    assert!(
        !body.contains("node_modules"),
        "framework path leaked: {body}"
    );
    assert!(!body.contains("SQLITE"), "SQL error leaked: {body}");
}

const HARDENED_HEADERS: [(&str, &str); 8] = [
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
];
