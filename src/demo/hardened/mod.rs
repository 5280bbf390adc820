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

mod access;
mod harden;
#[cfg(test)]
mod tests;

use std::sync::LazyLock;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, HOST, LOCATION, RETRY_AFTER, SET_COOKIE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::DemoProfile;
use super::app::{self, AppState};
use super::dependency;
use access::{admin, cors_allow_list, jwks, openid_configuration};
use harden::harden;

const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";
const HEALTH_JSON: &str = "application/health+json";
const PROBLEM_JSON: &str = "application/problem+json";

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
