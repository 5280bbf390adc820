//! The hardened profile: what following the audit's advice looks like on the wire.

use super::*;

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
