//! End-to-end tests of the demo target: real listeners on ephemeral ports, real TLS with the demo
//! CA as the only trust anchor, real HTTP/1.1 and HTTP/2.

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

// ---------------------------------------------------------------- certificate and TLS

#[tokio::test]
async fn certificate_is_signed_by_the_demo_ca_and_valid_for_loopback() {
    install_provider();
    let target = start(DemoOptions::ephemeral(DemoProfile::Hardened))
        .await
        .unwrap();
    assert!(target.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(target.https_url.host_str(), Some("127.0.0.1"));
    assert_eq!(target.https_url.scheme(), "https");
    assert_eq!(target.http_url.scheme(), "http");
    assert_ne!(target.https_url.port(), target.http_url.port());

    // Fetch the served certificate with a handshake that trusts only the demo CA.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(target.ca_der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let port = target.https_url.port().unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let server_name =
        rustls_pki_types::ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let tls = connector.connect(server_name, tcp).await.unwrap();
    let (_, session) = tls.get_ref();
    let chain = session.peer_certificates().unwrap().to_vec();
    drop(tls);

    let (_, leaf) = x509_parser::parse_x509_certificate(chain[0].as_ref()).unwrap();
    let issuer_cn = leaf
        .issuer()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(issuer_cn, "readyprobe demo CA");
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    use x509_parser::extensions::GeneralName;
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &san.value.general_names {
        match name {
            GeneralName::DNSName(d) => dns.push((*d).to_owned()),
            GeneralName::IPAddress(bytes) => ips.push(match bytes.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap()),
                16 => IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap()),
                n => panic!("bad IP SAN length {n}"),
            }),
            _ => {}
        }
    }
    assert_eq!(dns, ["localhost"]);
    assert!(ips.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{ips:?}");
    assert!(ips.contains(&IpAddr::V6(Ipv6Addr::LOCALHOST)), "{ips:?}");

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let validity = leaf.validity();
    let not_before = validity.not_before.timestamp();
    let not_after = validity.not_after.timestamp();
    assert!((now - 86_400 - 120..=now - 86_400 + 120).contains(&not_before));
    assert!((now + 90 * 86_400 - 120..=now + 90 * 86_400 + 120).contains(&not_after));

    // The hostname `localhost` verifies too.
    let client = client(&target);
    let localhost_url = format!("https://localhost:{port}/livez");
    let client_localhost = reqwest::Client::builder()
        .tls_backend_preconfigured({
            let mut roots = rustls::RootCertStore::empty();
            roots.add(target.ca_der.clone()).unwrap();
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
        })
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .build()
        .unwrap();
    let resp = client_localhost.get(&localhost_url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = client.get(url(&target, "/livez")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_negotiates_h2_and_flawed_only_http11() {
    let (hardened, client) = start_profile(DemoProfile::Hardened).await;
    let resp = client.get(hardened.https_url.clone()).send().await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_2);
    hardened.shutdown().await;

    let (flawed, client) = start_profile(DemoProfile::Flawed).await;
    let resp = client.get(flawed.https_url.clone()).send().await.unwrap();
    assert_eq!(resp.version(), Version::HTTP_11);
    flawed.shutdown().await;
}

#[tokio::test]
async fn garbage_on_the_https_port_does_not_stop_the_server() {
    for profile in [DemoProfile::Hardened, DemoProfile::Flawed] {
        let (target, client) = start_profile(profile).await;
        let port = target.https_url.port().unwrap();

        // Plain HTTP to the TLS port, then binary junk, then a connection closed at once.
        let mut garbage = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        garbage
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), garbage.read_to_end(&mut sink)).await;
        let mut junk = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        junk.write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 0x00, 0x13, 0x37])
            .await
            .unwrap();
        drop(junk);
        drop(TcpStream::connect(("127.0.0.1", port)).await.unwrap());

        let resp = client.get(target.https_url.clone()).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{profile}");
        target.shutdown().await;
    }
}

#[tokio::test]
async fn shutdown_releases_the_ports() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let https = target.https_url.port().unwrap();
    let http = target.http_url.port().unwrap();
    assert!(client.get(url(&target, "/livez")).send().await.is_ok());
    target.shutdown().await;
    assert!(TcpStream::connect(("127.0.0.1", https)).await.is_err());
    assert!(TcpStream::connect(("127.0.0.1", http)).await.is_err());
}

#[tokio::test]
async fn listening_on_a_busy_port_is_a_clear_error() {
    install_provider();
    let busy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = busy.local_addr().unwrap();
    let mut opts = DemoOptions::ephemeral(DemoProfile::Flawed);
    opts.https_listen = addr;
    let err = start(opts).await.unwrap_err();
    assert!(matches!(err, DemoError::Listen { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot listen on {addr}: address in use")
    );
}

#[test]
fn profile_names() {
    assert_eq!(DemoProfile::Flawed.as_str(), "flawed");
    assert_eq!(DemoProfile::Hardened.as_str(), "hardened");
    assert_eq!(DemoProfile::default(), DemoProfile::Flawed);
    assert_eq!(
        serde_json::to_string(&DemoProfile::Hardened).unwrap(),
        "\"hardened\""
    );
    let opts = DemoOptions::ephemeral(DemoProfile::Hardened);
    assert_eq!(opts.https_listen, SocketAddr::from(([127, 0, 0, 1], 0)));
    assert_eq!(opts.http_listen, SocketAddr::from(([127, 0, 0, 1], 0)));
    assert_eq!(opts.dependency, None);
}

// ---------------------------------------------------------------- hardened

#[tokio::test]
async fn hardened_root_has_security_headers_cookie_and_caching() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let resp = client.get(target.https_url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    for (name, value) in HARDENED_HEADERS {
        assert_eq!(header(&headers, name), Some(value), "{name}");
    }
    assert!(headers.get("server").is_none());
    assert!(headers.get("x-powered-by").is_none());
    assert!(headers.get("x-xss-protection").is_none());
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert!(
        header(&headers, "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let etag = header(&headers, "etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");

    let cookies = cookies(&headers);
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    let cookie = &cookies[0];
    assert!(cookie.starts_with("__Host-session="), "{cookie}");
    for flag in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    let body = resp.text().await.unwrap();
    assert!(body.len() > 2048, "{}", body.len());
    assert!(body.contains("Orders dashboard"));
    assert!(
        !body.contains("<script"),
        "hardened page has no inline script"
    );

    // The security headers are on every response, errors included.
    let resp = client.get(url(&target, "/nope")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    for (name, value) in HARDENED_HEADERS {
        assert_eq!(header(resp.headers(), name), Some(value), "{name} on 404");
    }
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_gzips_when_asked_and_only_then() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let plain = client.get(target.https_url.clone()).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(header(plain.headers(), "vary"), Some("Accept-Encoding"));
    let plain_etag = header(plain.headers(), "etag").unwrap().to_owned();
    let plain_body = plain.bytes().await.unwrap();

    let gz = client
        .get(target.https_url.clone())
        .header("accept-encoding", "br;q=1.0, gzip;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), StatusCode::OK);
    assert_eq!(header(gz.headers(), "content-encoding"), Some("gzip"));
    assert_eq!(header(gz.headers(), "vary"), Some("Accept-Encoding"));
    let gz_etag = header(gz.headers(), "etag").unwrap().to_owned();
    assert_ne!(
        gz_etag, plain_etag,
        "representations need distinct validators"
    );
    let compressed = gz.bytes().await.unwrap();
    assert!(compressed.len() < plain_body.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain_body);

    // gzip;q=0 is a refusal.
    let refused = client
        .get(target.https_url.clone())
        .header("accept-encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().get("content-encoding").is_none());
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_answers_304_to_a_matching_if_none_match() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let first = client.get(target.https_url.clone()).send().await.unwrap();
    let etag = header(first.headers(), "etag").unwrap().to_owned();
    let again = client
        .get(target.https_url.clone())
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(again.headers(), "etag"), Some(etag.as_str()));
    assert!(again.bytes().await.unwrap().is_empty());

    let other = client
        .get(target.https_url.clone())
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    // The gzip representation revalidates with its own tag.
    let gz = client
        .get(target.https_url.clone())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let gz_etag = header(gz.headers(), "etag").unwrap().to_owned();
    let gz_again = client
        .get(target.https_url.clone())
        .header("accept-encoding", "gzip")
        .header("if-none-match", &gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(gz_again.status(), StatusCode::NOT_MODIFIED);
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_plain_http_redirects_to_https() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let https_port = target.https_url.port().unwrap();
    let resp = client
        .get(target.http_url.join("/api/orders?limit=5").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("https://127.0.0.1:{https_port}/api/orders?limit=5").as_str())
    );
    // The Host the client used is kept.
    let resp = client
        .get(target.http_url.clone())
        .header("host", "localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        header(resp.headers(), "location"),
        Some(format!("https://localhost:{https_port}/").as_str())
    );
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_liveness_and_readiness() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let live = client.get(url(&target, "/livez")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(
        header(live.headers(), "content-type"),
        Some("application/health+json")
    );
    assert_eq!(header(live.headers(), "cache-control"), Some("no-store"));
    assert_eq!(live.text().await.unwrap(), r#"{"status":"pass"}"#);

    let ready = client.get(url(&target, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(
        header(ready.headers(), "content-type"),
        Some("application/health+json")
    );
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "pass");
    let check = &body["checks"]["database:connection"][0];
    assert_eq!(check["componentType"], "datastore");
    assert_eq!(check["status"], "pass");
    assert_eq!(check["observedUnit"], "ms");
    assert!(check["observedValue"].as_f64().unwrap() >= 0.0);

    for path in ["/health", "/ready", "/healthz", "/.env", "/actuator/health"] {
        let resp = client.get(url(&target, path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            header(resp.headers(), "content-type"),
            Some("application/problem+json"),
            "{path}"
        );
        assert_eq!(
            resp.text().await.unwrap(),
            r#"{"type":"about:blank","title":"Not Found","status":404}"#,
            "{path}"
        );
    }
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_readiness_fails_when_the_dependency_is_down() {
    install_provider();
    let dead = closed_port().await;
    let mut opts = DemoOptions::ephemeral(DemoProfile::Hardened);
    opts.dependency = Some(dead);
    let target = start(opts).await.unwrap();
    assert_eq!(target.dependency_addr, dead);
    let client = client(&target);

    let ready = client.get(url(&target, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "fail");
    let check = &body["checks"]["database:connection"][0];
    assert_eq!(check["status"], "fail");
    assert_eq!(check["componentType"], "datastore");
    let output = check["output"].as_str().unwrap();
    assert!(!output.contains(&dead.port().to_string()), "{output}");

    // Liveness does not depend on the database.
    let live = client.get(url(&target, "/livez")).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    // The API reports the outage as a problem, not a stack trace.
    let orders = client
        .get(url(&target, "/api/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(orders.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(orders.headers(), "retry-after"), Some("5"));
    assert_no_stack_trace(&orders.text().await.unwrap());
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_readiness_follows_the_builtin_dependency() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    // The built-in dependency accepts connections.
    assert!(TcpStream::connect(target.dependency_addr).await.is_ok());
    let ready = client.get(url(&target, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_errors_are_problem_json_without_internals() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let cases = [
        client.get(url(&target, "/does-not-exist")),
        client.get(url(&target, "/api/orders?q=%27%20OR%201=1--")),
        client.get(url(&target, "/?q=<script>")),
        client
            .get(target.https_url.clone())
            .header("x-padding", "a".repeat(9 * 1024)),
        client
            .post(url(&target, "/api/orders"))
            .header("content-type", "application/json")
            .body("{\"customer\":"),
        client.delete(target.https_url.clone()),
    ];
    let expected = [
        StatusCode::NOT_FOUND,
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::BAD_REQUEST,
        StatusCode::METHOD_NOT_ALLOWED,
    ];
    for (request, status) in cases.into_iter().zip(expected) {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status(), status);
        assert_eq!(
            header(resp.headers(), "content-type"),
            Some("application/problem+json"),
            "{status}"
        );
        assert_eq!(
            header(resp.headers(), "x-content-type-options"),
            Some("nosniff")
        );
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["status"], status.as_u16());
        assert_no_stack_trace(&body.to_string());
    }
    target.shutdown().await;
}

#[tokio::test]
async fn hardened_version_openapi_and_api() {
    let (target, client) = start_profile(DemoProfile::Hardened).await;
    let version: serde_json::Value = client
        .get(url(&target, "/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(version["version"], "1.4.2");
    assert!(version["commit"].as_str().unwrap().len() >= 7);
    assert!(version["built"].as_str().is_some());

    let resp = client
        .get(url(&target, "/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."));
    assert!(doc["info"]["title"].is_string());
    for path in ["/api/orders", "/livez", "/readyz"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }

    let orders = client
        .get(url(&target, "/api/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(orders.status(), StatusCode::OK);
    assert!(
        header(orders.headers(), "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let list: serde_json::Value = orders.json().await.unwrap();
    let before = list.as_array().unwrap().len();
    assert!(before >= 3);

    let created = client
        .post(url(&target, "/api/orders"))
        .json(&serde_json::json!({"customer": "Test", "items": "1 x Probe", "total_cents": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let list: serde_json::Value = client
        .get(url(&target, "/api/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), before + 1);
    target.shutdown().await;
}

// ---------------------------------------------------------------- flawed

#[tokio::test]
async fn flawed_root_leaks_versions_and_lacks_protections() {
    let (target, client) = start_profile(DemoProfile::Flawed).await;
    let resp = client
        .get(target.https_url.clone())
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert_eq!(header(&headers, "server"), Some("nginx/1.18.0"));
    assert_eq!(header(&headers, "x-powered-by"), Some("Express/4.17.1"));
    assert_eq!(header(&headers, "x-xss-protection"), Some("1; mode=block"));
    for (name, _) in HARDENED_HEADERS {
        assert!(headers.get(name).is_none(), "{name} should be missing");
    }
    for name in [
        "content-encoding",
        "cache-control",
        "etag",
        "last-modified",
        "vary",
    ] {
        assert!(headers.get(name).is_none(), "{name} should be missing");
    }
    let cookies = cookies(&headers);
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    let session = cookies
        .iter()
        .find(|c| c.starts_with("session_id="))
        .unwrap();
    let value = session
        .trim_start_matches("session_id=")
        .split(';')
        .next()
        .unwrap();
    assert!(value.len() >= 16 && value.chars().all(|c| c.is_ascii_hexdigit()));
    for flag in ["Secure", "HttpOnly", "SameSite"] {
        assert!(!session.contains(flag), "{session} has {flag}");
    }
    assert!(cookies.iter().any(|c| c == "theme=dark; Path=/"));
    let body = resp.text().await.unwrap();
    assert!(body.len() > 2048, "{}", body.len());
    assert!(body.contains("Orders dashboard"));

    // Fresh session ids each time.
    let again = client.get(target.https_url.clone()).send().await.unwrap();
    let again_cookies = self::cookies(again.headers());
    assert!(!again_cookies.contains(session));
    target.shutdown().await;
}

#[tokio::test]
async fn flawed_health_and_ready_are_identical_and_shallow() {
    install_provider();
    let mut opts = DemoOptions::ephemeral(DemoProfile::Flawed);
    opts.dependency = Some(closed_port().await);
    let target = start(opts).await.unwrap();
    let client = client(&target);

    let health = client.get(url(&target, "/health")).send().await.unwrap();
    let ready = client.get(url(&target, "/ready")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK, "readiness checks nothing");
    assert_eq!(
        health.text().await.unwrap(),
        ready.text().await.unwrap(),
        "byte-identical"
    );
    for path in ["/livez", "/readyz", "/healthz", "/actuator/health"] {
        let resp = client.get(url(&target, path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // The database really is down: the API fails, with the driver's stack trace.
    let orders = client
        .get(url(&target, "/api/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(orders.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(orders.text().await.unwrap().contains("ECONNREFUSED"));
    target.shutdown().await;
}

#[tokio::test]
async fn flawed_exposes_dotenv_and_unauthenticated_orders() {
    let (target, client) = start_profile(DemoProfile::Flawed).await;
    let env = client.get(url(&target, "/.env")).send().await.unwrap();
    assert_eq!(env.status(), StatusCode::OK);
    assert!(
        header(env.headers(), "content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let body = env.text().await.unwrap();
    assert!(body.starts_with("APP_ENV=production\nDATABASE_URL=postgres://orders:"));
    assert!(body.contains("@db.internal:5432/orders\nSECRET_KEY_BASE="));

    for path in ["/openapi.json", "/version"] {
        let resp = client.get(url(&target, path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let orders = client
        .get(url(&target, "/api/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(orders.status(), StatusCode::OK);
    let list: serde_json::Value = orders.json().await.unwrap();
    assert!(list.as_array().unwrap().len() >= 3);
    target.shutdown().await;
}

#[tokio::test]
async fn flawed_error_pages_leak_stack_traces() {
    let (target, client) = start_profile(DemoProfile::Flawed).await;

    let resp = client
        .get(url(&target, "/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        header(resp.headers(), "content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let body = resp.text().await.unwrap();
    assert!(body.contains(
        "Error: Not Found\n    at /app/node_modules/express/lib/router/index.js:284:7\n    \
         at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)"
    ));

    for query in ["q=o'brien", "q=%27", "search=%3Cscript%3E", "q=<b>"] {
        let resp = client
            .get(format!("{}api/orders?{query}", target.https_url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR, "{query}");
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("Error: SQLITE_ERROR: near \""),
            "{query}: {body}"
        );
        assert!(body.contains(": syntax error\n    at "), "{query}: {body}");
    }
    let resp = client
        .get(url(&target, "/?q=o'brien"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Error: SQLITE_ERROR: near \"'\": syntax error")
    );

    let resp = client
        .get(target.https_url.clone())
        .header("x-padding", "a".repeat(9 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.text().await.unwrap().contains("\n    at "));

    let resp = client
        .post(url(&target, "/api/orders"))
        .header("content-type", "application/json")
        .body("{\"customer\":")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(resp.text().await.unwrap().contains(
        "SyntaxError: Unexpected end of JSON input\n    at JSON.parse (<anonymous>)\n    \
         at /app/src/routes/orders.js:12:19"
    ));
    // Error responses carry the banners too.
    let resp = client.get(url(&target, "/missing")).send().await.unwrap();
    assert_eq!(
        header(resp.headers(), "x-powered-by"),
        Some("Express/4.17.1")
    );
    target.shutdown().await;
}

#[tokio::test]
async fn flawed_serves_content_over_plain_http() {
    let (target, client) = start_profile(DemoProfile::Flawed).await;
    let resp = client.get(target.http_url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("location").is_none());
    assert!(
        cookies(resp.headers())
            .iter()
            .any(|c| c.starts_with("session_id="))
    );
    assert!(resp.text().await.unwrap().contains("Orders dashboard"));
    let env = client
        .get(target.http_url.join("/.env").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(env.status(), StatusCode::OK);
    target.shutdown().await;
}

#[tokio::test]
async fn dropping_the_target_stops_it() {
    let (target, client) = start_profile(DemoProfile::Flawed).await;
    let port = target.https_url.port().unwrap();
    assert!(client.get(url(&target, "/health")).send().await.is_ok());
    drop(target);
    // Aborted tasks release their listeners once the runtime has polled the abort.
    let mut closed = false;
    for _ in 0..50 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "listener still open after drop");
}
