//! The flawed profile: every weakness the audit must find is really there.

use super::*;

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
