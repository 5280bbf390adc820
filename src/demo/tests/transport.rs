//! The demo target as a server: its certificate and TLS, HTTP/2 negotiation, robustness to
//! garbage, and its lifecycle (ports released on shutdown and on drop).

use super::*;

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
