//! The hardened application: the same orders service after following the audit's advice.
//!
//! A middleware gives every response the security headers, validates the request (header size,
//! allow-listed query characters), turns bare error statuses into `application/problem+json`,
//! gzips compressible bodies for clients that accept it and answers conditional requests with
//! 304. Liveness (`/livez`) checks only the process; readiness (`/readyz`) really dials the
//! database and fails when it cannot. The plain-HTTP listener only redirects to HTTPS.
//! CORS allows only the service's own origin, always with `Vary: Origin`; the identity provider
//! publishes two RSA-2048 keys with kids, and `/api/admin` accepts only an RS256 token signed by
//! one of them and not expired (the demo issues none, so every token is refused).

use std::io::Write;
use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, HOST,
    IF_NONE_MATCH, LOCATION, RETRY_AFTER, SERVER, SET_COOKIE, VARY,
};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::DemoProfile;
use super::app::{self, AppState};
use super::dependency;

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";
const HEALTH_JSON: &str = "application/health+json";
const PROBLEM_JSON: &str = "application/problem+json";

/// Headers set on every response of the hardened application.
const SECURITY_HEADERS: [(&str, &str); 8] = [
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         object-src 'none'",
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

/// Bodies smaller than this are not worth compressing.
const MIN_COMPRESS_BYTES: usize = 256;
/// Upper bound when buffering a response body to compress it (our own responses are far smaller).
const MAX_BUFFERED_BODY: usize = 16 * 1024 * 1024;

/// The version the demo service reports.
const VERSION: &str = "1.4.2";
const COMMIT: &str = "9c1e7f2a4b6d8e0f1a3c5b7d9e2f4a6c8b0d1e3f";
const BUILT: &str = "2025-06-02T09:14:27Z";

static DASHBOARD: LazyLock<Bytes> =
    LazyLock::new(|| Bytes::from(app::dashboard_html(DemoProfile::Hardened)));

static OPENAPI: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(openapi_document().to_string()));

static VERSION_JSON: LazyLock<Bytes> = LazyLock::new(|| {
    let info = BuildInfo {
        version: VERSION,
        commit: COMMIT,
        built: BUILT,
    };
    Bytes::from(serde_json::to_vec(&info).unwrap_or_default())
});

/// The hardened application, served on the HTTPS listener.
pub(crate) fn router(state: AppState) -> Router {
    let telemetry = super::telemetry::Telemetry::new(DemoProfile::Hardened);
    Router::new()
        .route(
            "/metrics",
            get(super::telemetry::metrics).with_state(telemetry.clone()),
        )
        .route(
            "/login",
            axum::routing::post(super::telemetry::login).with_state(telemetry.clone()),
        )
        .route("/", get(index))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/version", get(version))
        .route("/openapi.json", get(openapi))
        .route("/api/orders", get(list_orders).post(create_order))
        .route("/api/admin", get(admin))
        .route("/api/export", get(app::export))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/.well-known/jwks.json", get(jwks))
        .route("/static/app.css", get(stylesheet))
        .fallback(not_found)
        .layer(middleware::from_fn(harden))
        .layer(middleware::from_fn(cors_allow_list))
        .layer(middleware::from_fn(super::telemetry::request_id))
        .layer(middleware::from_fn_with_state(
            telemetry,
            super::telemetry::measure,
        ))
        .with_state(state)
}

/// The hardened plain-HTTP listener: every request is redirected to the same host and path on
/// the HTTPS port.
pub(crate) fn redirect_router(https_port: u16) -> Router {
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        redirect_to_https(https_port, &headers, &uri)
    })
}

fn redirect_to_https(https_port: u16, headers: &HeaderMap, uri: &Uri) -> Response {
    let authority = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .or_else(|| uri.authority().cloned());
    let Some(authority) = authority else {
        return problem(
            StatusCode::BAD_REQUEST,
            Some("The request has no valid Host header."),
        );
    };
    let host = authority.host();
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let location = format!("https://{host}{port}{path}");
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            response
        }
        Err(_) => problem(
            StatusCode::BAD_REQUEST,
            Some("The request target cannot be redirected."),
        ),
    }
}

/// CORS with an allow-list of one: the service's own HTTPS origin. Every response says it
/// varies by `Origin`, allowed or not, so no cache mixes them up.
async fn cors_allow_list(req: Request, next: Next) -> Response {
    let own = app::request_host(req.headers(), req.uri()).map(|h| format!("https://{h}"));
    let origin = req.headers().get(ORIGIN).cloned();
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if let (Some(own), Some(origin)) = (own, origin)
        && origin.as_bytes() == own.as_bytes()
    {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.append(VARY, HeaderValue::from_static("Origin"));
    response
}

/// The admin summary for a bearer token that verifies: RS256 only (the server's choice, not
/// the token's), signed by a published key, `exp` in the future.
async fn admin(headers: HeaderMap) -> Response {
    if token_is_valid(&headers) {
        return json_response(StatusCode::OK, JSON, &app::admin_summary());
    }
    let mut response = problem(
        StatusCode::UNAUTHORIZED,
        Some("A valid bearer token is required."),
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"orders\""),
    );
    response
}

fn token_is_valid(headers: &HeaderMap) -> bool {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let Some((header, claims, signing_input, signature)) = app::bearer_jwt(headers) else {
        return false;
    };
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return false;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    if claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_none_or(|exp| exp <= now)
    {
        return false;
    }
    let kid = header.get("kid").and_then(Value::as_str);
    app::HARDENED_RSA_2048
        .iter()
        .filter(|(k, _)| Some(*k) == kid)
        .filter_map(|(_, n)| URL_SAFE_NO_PAD.decode(n).ok())
        .any(|n| {
            ring::signature::RsaPublicKeyComponents {
                n: n.as_slice(),
                e: &[1u8, 0, 1][..],
            }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signing_input.as_bytes(),
                &signature,
            )
            .is_ok()
        })
}

async fn openid_configuration(headers: HeaderMap, uri: Uri) -> Response {
    json_response(
        StatusCode::OK,
        JSON,
        &app::openid_configuration(&headers, &uri),
    )
}

/// Two RSA-2048 keys with kids: the current one and the next, for rotation overlap.
async fn jwks() -> Response {
    let keys: Vec<Value> = app::HARDENED_RSA_2048
        .iter()
        .map(|(kid, n)| json!({ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": "AQAB" }))
        .collect();
    json_response(StatusCode::OK, JSON, &json!({ "keys": keys }))
}

/// Validation before the handler; problem bodies, compression, conditional requests and the
/// security headers after it.
async fn harden(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let gzip_ok = accepts_gzip(req.headers());
    let if_none_match = req.headers().get(IF_NONE_MATCH).cloned();

    let response = if app::header_bytes(req.headers()) > app::MAX_HEADER_BYTES {
        problem(
            StatusCode::BAD_REQUEST,
            Some("The request headers are larger than 8 KiB."),
        )
    } else if !req.uri().query().is_none_or(app::query_is_clean) {
        problem(
            StatusCode::BAD_REQUEST,
            Some("The query string contains characters that are not allowed."),
        )
    } else {
        next.run(req).await
    };

    let mut response = problem_for_bare_error(response);
    if method == Method::GET || method == Method::HEAD {
        response = negotiate(response, gzip_ok, if_none_match.as_ref()).await;
    }
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.remove(SERVER);
    headers.remove(HeaderName::from_static("x-powered-by"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Error responses made by the framework (405, 413, 415 …) come without a body type; give them
/// a problem+json body, keeping their headers (e.g. `Allow`).
fn problem_for_bare_error(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.headers().contains_key(CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = problem_body(status, None);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// gzip for clients that accept it, then `304 Not Modified` when `If-None-Match` matches.
async fn negotiate(
    response: Response,
    gzip_ok: bool,
    if_none_match: Option<&HeaderValue>,
) -> Response {
    let compressible = response.status() == StatusCode::OK
        && !response.headers().contains_key(CONTENT_ENCODING)
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_compressible_type);
    if !compressible {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BUFFERED_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return problem(StatusCode::INTERNAL_SERVER_ERROR, None);
        }
    };
    parts
        .headers
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));

    let mut body = bytes;
    if gzip_ok
        && body.len() >= MIN_COMPRESS_BYTES
        && let Some(compressed) = gzip(&body)
    {
        body = Bytes::from(compressed);
        parts
            .headers
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        parts.headers.remove(CONTENT_LENGTH);
        // A different representation gets a different validator.
        if let Some(tag) = parts.headers.get(ETAG).and_then(|v| v.to_str().ok()) {
            let gz_tag = format!("{}-gzip\"", tag.trim_end_matches('"'));
            if let Ok(value) = HeaderValue::from_str(&gz_tag) {
                parts.headers.insert(ETAG, value);
            }
        }
    }

    let not_modified = match (parts.headers.get(ETAG), if_none_match) {
        (Some(etag), Some(inm)) => etag_matches(inm, etag),
        _ => false,
    };
    if not_modified {
        parts.status = StatusCode::NOT_MODIFIED;
        for name in [CONTENT_TYPE, CONTENT_LENGTH, CONTENT_ENCODING] {
            parts.headers.remove(name);
        }
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(body))
}

fn is_compressible_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("json")
        || essence.ends_with("xml")
        || essence == "application/javascript"
        || essence == "image/svg+xml"
}

/// Whether `Accept-Encoding` lists `gzip` (or `x-gzip`, or `*`) without `q=0`.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or_default().trim();
            let named = coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*";
            let refused = params.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            named && !refused
        })
}

/// Weak comparison of `If-None-Match` (a list, or `*`) against the response's ETag.
fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let etag = strip(etag);
    list.split(',').any(|t| t.trim() == "*" || strip(t) == etag)
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

/// A response for static content: `Cache-Control: no-cache` (revalidate) and an ETag.
fn revalidated(content_type: &'static str, body: Bytes) -> Response {
    let etag = format!("\"{:016x}\"", app::fnv1a64(&body));
    let mut response = with_type(StatusCode::OK, content_type, body);
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    response
}

async fn index(State(state): State<AppState>) -> Response {
    let mut response = revalidated(HTML, DASHBOARD.clone());
    let cookie = format!(
        "__Host-session={}; Path=/; Secure; HttpOnly; SameSite=Lax",
        state.random_hex(32)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

async fn stylesheet() -> Response {
    revalidated(
        "text/css; charset=utf-8",
        Bytes::from_static(app::APP_CSS.as_bytes()),
    )
}

async fn version() -> Response {
    revalidated(JSON, VERSION_JSON.clone())
}

async fn openapi() -> Response {
    revalidated(JSON, OPENAPI.clone())
}

/// Liveness: the process answers; dependencies are deliberately not checked.
async fn livez(State(state): State<AppState>) -> Response {
    state.health_work().await;
    let body = Health {
        status: "pass",
        checks: None,
    };
    json_response(StatusCode::OK, HEALTH_JSON, &body)
}

/// Readiness: dials the database with a 200 ms timeout.
async fn readyz(State(state): State<AppState>) -> Response {
    state.health_work().await;
    if state.is_draining() {
        let body = Health {
            status: "fail",
            checks: None,
        };
        return json_response(StatusCode::SERVICE_UNAVAILABLE, HEALTH_JSON, &body);
    }
    let (status, check) = match dependency::check(state.dependency()).await {
        Ok(elapsed) => (
            StatusCode::OK,
            HealthCheck {
                component_type: "datastore",
                status: "pass",
                observed_value: Some(millis(elapsed)),
                observed_unit: Some("ms"),
                output: None,
            },
        ),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            HealthCheck {
                component_type: "datastore",
                status: "fail",
                observed_value: None,
                observed_unit: None,
                output: Some(err.to_string()),
            },
        ),
    };
    let body = Health {
        status: check.status,
        checks: Some(HealthChecks {
            database_connection: vec![check],
        }),
    };
    json_response(status, HEALTH_JSON, &body)
}

/// An `application/health+json` body (draft-inadarei-api-health-check).
#[derive(Serialize)]
struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks: Option<HealthChecks>,
}

#[derive(Serialize)]
struct HealthChecks {
    #[serde(rename = "database:connection")]
    database_connection: Vec<HealthCheck>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthCheck {
    component_type: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
}

/// An RFC 9457 problem details body.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// The build information served at `/version`.
#[derive(Serialize)]
struct BuildInfo {
    version: &'static str,
    commit: &'static str,
    built: &'static str,
}

/// Milliseconds with microsecond precision.
fn millis(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

async fn list_orders(
    State(state): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if dependency::check(state.dependency()).await.is_err() {
        return database_unavailable();
    }
    if let Some(page) = super::telemetry::page_param(query.as_deref()) {
        return super::telemetry::archive_page(DemoProfile::Hardened, page).await;
    }
    json_response(StatusCode::OK, JSON, &Value::Array(state.orders()))
}

async fn create_order(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            let essence = essence.trim().to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        });
    if !is_json {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("Send the order as application/json."),
        );
    }
    let fields = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("The order must be a JSON object."),
            );
        }
        Err(_) => {
            return problem(
                StatusCode::BAD_REQUEST,
                Some("The request body is not valid JSON."),
            );
        }
    };
    if dependency::check(state.dependency()).await.is_err() {
        return database_unavailable();
    }
    json_response(StatusCode::CREATED, JSON, &state.create_order(fields))
}

fn database_unavailable() -> Response {
    let mut response = problem(
        StatusCode::SERVICE_UNAVAILABLE,
        Some("The orders database is unavailable; try again shortly."),
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

async fn not_found() -> Response {
    problem(StatusCode::NOT_FOUND, None)
}

/// An RFC 9457 problem response.
fn problem(status: StatusCode, detail: Option<&str>) -> Response {
    with_type(
        status,
        PROBLEM_JSON,
        Bytes::from(problem_body(status, detail)),
    )
}

fn problem_body(status: StatusCode, detail: Option<&str>) -> String {
    let problem = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
    };
    serde_json::to_string(&problem).unwrap_or_else(|_| {
        format!(
            "{{\"type\":\"about:blank\",\"status\":{}}}",
            status.as_u16()
        )
    })
}

fn json_response(
    status: StatusCode,
    content_type: &'static str,
    value: &impl Serialize,
) -> Response {
    let Ok(body) = serde_json::to_vec(value) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, None);
    };
    let mut response = with_type(status, content_type, Bytes::from(body));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A small OpenAPI 3.0 document for the public API.
fn openapi_document() -> Value {
    let problem = json!({ "description": "Problem details (RFC 9457)",
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } });
    let health = |description: &str| {
        json!({ "description": description,
            "content": { "application/health+json": { "schema": { "$ref": "#/components/schemas/Health" } } } })
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Acme Parts orders service",
            "version": VERSION,
            "description": "Orders API of the readyprobe demo target (hardened profile)."
        },
        "paths": {
            "/api/orders": {
                "get": {
                    "operationId": "listOrders",
                    "summary": "List orders",
                    "responses": {
                        "200": { "description": "The orders",
                            "content": { "application/json": { "schema": {
                                "type": "array", "items": { "$ref": "#/components/schemas/Order" } } } } },
                        "503": problem
                    }
                },
                "post": {
                    "operationId": "createOrder",
                    "summary": "Create an order",
                    "requestBody": { "required": true, "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/NewOrder" } } } },
                    "responses": {
                        "201": { "description": "The created order",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } },
                        "400": problem, "415": problem, "422": problem, "503": problem
                    }
                }
            },
            "/livez": { "get": { "operationId": "liveness", "summary": "Liveness (process only)",
                "responses": { "200": health("The process is alive") } } },
            "/readyz": { "get": { "operationId": "readiness", "summary": "Readiness (checks the database)",
                "responses": { "200": health("Ready to serve traffic"), "503": health("Not ready: a dependency is failing") } } }
        },
        "components": { "schemas": {
            "NewOrder": { "type": "object", "properties": {
                "customer": { "type": "string" }, "items": { "type": "string" },
                "total_cents": { "type": "integer", "minimum": 0 } } },
            "Order": { "type": "object", "required": ["id", "status"], "properties": {
                "id": { "type": "string" }, "customer": { "type": "string" }, "items": { "type": "string" },
                "total_cents": { "type": "integer" }, "currency": { "type": "string" },
                "status": { "type": "string", "enum": ["pending", "paid", "shipped", "refunded"] },
                "created_at": { "type": "string", "format": "date-time" } } },
            "Health": { "type": "object", "required": ["status"], "properties": {
                "status": { "type": "string", "enum": ["pass", "warn", "fail"] },
                "checks": { "type": "object" } } },
            "Problem": { "type": "object", "properties": {
                "type": { "type": "string" }, "title": { "type": "string" },
                "status": { "type": "integer" }, "detail": { "type": "string" } } }
        }}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn gzip_acceptance() {
        assert!(accepts_gzip(&headers(&[("accept-encoding", "gzip")])));
        assert!(accepts_gzip(&headers(&[(
            "accept-encoding",
            "br;q=1.0, GZIP;q=0.5"
        )])));
        assert!(accepts_gzip(&headers(&[("accept-encoding", "*")])));
        assert!(!accepts_gzip(&headers(&[("accept-encoding", "gzip;q=0")])));
        assert!(!accepts_gzip(&headers(&[(
            "accept-encoding",
            "br, deflate"
        )])));
        assert!(!accepts_gzip(&headers(&[])));
    }

    #[test]
    fn etag_comparison_is_weak_and_handles_lists() {
        let tag = HeaderValue::from_static("\"abc\"");
        assert!(etag_matches(&HeaderValue::from_static("\"abc\""), &tag));
        assert!(etag_matches(&HeaderValue::from_static("W/\"abc\""), &tag));
        assert!(etag_matches(
            &HeaderValue::from_static("\"x\", \"abc\""),
            &tag
        ));
        assert!(etag_matches(&HeaderValue::from_static("*"), &tag));
        assert!(!etag_matches(&HeaderValue::from_static("\"abd\""), &tag));
    }

    #[test]
    fn redirect_keeps_host_and_brackets_ipv6() {
        let uri: Uri = "/a/b?c=d".parse().unwrap();
        let response = redirect_to_https(8443, &headers(&[("host", "[::1]:8080")]), &uri);
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(
            response.headers().get(LOCATION).unwrap(),
            "https://[::1]:8443/a/b?c=d"
        );
        let response = redirect_to_https(443, &headers(&[("host", "example.test")]), &uri);
        assert_eq!(
            response.headers().get(LOCATION).unwrap(),
            "https://example.test/a/b?c=d"
        );
        let response = redirect_to_https(443, &headers(&[]), &uri);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn problem_body_has_the_documented_shape() {
        assert_eq!(
            problem_body(StatusCode::NOT_FOUND, None),
            r#"{"type":"about:blank","title":"Not Found","status":404}"#
        );
        assert_eq!(
            problem_body(StatusCode::BAD_REQUEST, Some("no \"quotes\"")),
            r#"{"type":"about:blank","title":"Bad Request","status":400,"detail":"no \"quotes\""}"#
        );
    }
}
