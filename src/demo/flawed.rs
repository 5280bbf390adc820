//! The flawed application: an "Express on nginx" orders service with the problems
//! production-readiness audits keep finding — version banners, cookies without flags, no security
//! headers, no compression or caching, a readiness endpoint identical to liveness that checks
//! nothing, an exposed `.env`, and error pages that leak stack traces and SQL errors. Its API
//! reflects any `Origin` with credentials allowed (and no `Vary: Origin`), its identity provider
//! publishes a single RSA-1024 key without `kid`, and `/api/admin` accepts an unsigned
//! (`alg: none`) token.
//!
//! Every one of those is real behaviour of this server, served to any client alike.

use std::sync::LazyLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_REQUEST_HEADERS, CONTENT_TYPE, ORIGIN, SERVER,
    SET_COOKIE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;

use super::DemoProfile;
use super::app::{self, AppState};
use super::dependency::{self, Unreachable};

const SERVER_BANNER: &str = "nginx/1.18.0";
const POWERED_BY: &str = "Express/4.17.1";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json; charset=utf-8";

/// The exposed dotenv file (fake credentials, but shaped like real ones).
const DOTENV: &str = "APP_ENV=production\n\
DATABASE_URL=postgres://orders:Ord3rs-pr0d-2024!@db.internal:5432/orders\n\
SECRET_KEY_BASE=6f1c9e0b2a7d4e53b8c1f0a9d2e7b6c45a3f8e1d0c9b7a6f5e4d3c2b1a0f9e8d\n";

/// Frames every Express stack trace ends with.
const EXPRESS_FRAMES: &str =
    "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)
    at trim_prefix (/app/node_modules/express/lib/router/index.js:328:13)
    at /app/node_modules/express/lib/router/index.js:286:9
    at Function.process_params (/app/node_modules/express/lib/router/index.js:346:12)
    at next (/app/node_modules/express/lib/router/index.js:280:10)";

static DASHBOARD: LazyLock<Bytes> =
    LazyLock::new(|| Bytes::from(app::dashboard_html(DemoProfile::Flawed)));

/// The flawed application, served on both the HTTPS and the plain-HTTP listener.
pub(crate) fn router(state: AppState) -> Router {
    let telemetry = super::telemetry::Telemetry::new(DemoProfile::Flawed);
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
        .route("/health", get(health))
        .route("/ready", get(health))
        .route("/.env", get(dotenv))
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
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn(reflect_cors))
        .layer(middleware::from_fn(express_like))
        .layer(middleware::from_fn_with_state(
            telemetry,
            super::telemetry::measure,
        ))
        .with_state(state)
}

/// What the Express app does around every route: chokes on big headers and on quotes in the
/// query string (it builds SQL by concatenation), and advertises its stack on every response.
async fn express_like(req: Request, next: Next) -> Response {
    let mut response = if app::header_bytes(req.headers()) > app::MAX_HEADER_BYTES {
        stack_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "Error: Parse Error: Header overflow\n    \
                 at /app/src/middleware/request-log.js:27:11\n{EXPRESS_FRAMES}"
            ),
        )
    } else if let Some(c) = req.uri().query().and_then(app::sql_breaking_char) {
        stack_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!(
                "Error: SQLITE_ERROR: near \"{c}\": syntax error\n    \
                 at Database.all (/app/node_modules/sqlite3/lib/sqlite3.js:22:28)\n    \
                 at /app/src/db/search.js:41:14\n{EXPRESS_FRAMES}"
            ),
        )
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static(SERVER_BANNER));
    headers.insert(
        HeaderName::from_static("x-powered-by"),
        HeaderValue::from_static(POWERED_BY),
    );
    headers.insert(
        HeaderName::from_static("x-xss-protection"),
        HeaderValue::from_static("1; mode=block"),
    );
    response
}

/// The `cors()` middleware configured with `origin: true, credentials: true`: every `Origin`
/// sent to `/api/*` is echoed back with credentials allowed, preflights included, and nothing
/// says the answer varies by origin.
async fn reflect_cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(ORIGIN).cloned();
    let (Some(origin), true) = (origin, req.uri().path().starts_with("/api")) else {
        return next.run(req).await;
    };
    let mut response = if req.method() == Method::OPTIONS {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        r.headers_mut().insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        if let Some(asked) = req.headers().get(ACCESS_CONTROL_REQUEST_HEADERS) {
            r.headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        r
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    response
}

/// The admin summary, behind a token check that trusts the token's own `alg` header: an
/// unsigned (`alg: none`) token is taken at its word.
async fn admin(headers: HeaderMap) -> Response {
    let accepted = app::bearer_jwt(&headers).is_some_and(|(header, _, _, _)| {
        header
            .get("alg")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|alg| alg.eq_ignore_ascii_case("none"))
    });
    if accepted {
        return json_response(StatusCode::OK, &app::admin_summary());
    }
    json_response(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({ "error": "Unauthorized" }),
    )
}

async fn openid_configuration(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    json_response(StatusCode::OK, &app::openid_configuration(&headers, &uri))
}

/// One RSA-1024 key, no `kid`, no second key.
async fn jwks() -> Response {
    json_response(
        StatusCode::OK,
        &serde_json::json!({ "keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig",
            "n": app::FLAWED_RSA_1024_N, "e": "AQAB",
        }] }),
    )
}

async fn index(State(state): State<AppState>) -> Response {
    let mut response = with_type(StatusCode::OK, HTML, DASHBOARD.clone());
    let session = format!("session_id={}; Path=/", state.random_hex(16));
    if let Ok(value) = HeaderValue::from_str(&session) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
        .headers_mut()
        .append(SET_COOKIE, HeaderValue::from_static("theme=dark; Path=/"));
    response
}

/// Both `/health` and `/ready`: always ok, checks nothing.
async fn health(State(state): State<AppState>) -> Response {
    state.health_work().await;
    with_type(
        StatusCode::OK,
        JSON,
        Bytes::from_static(b"{\"status\":\"ok\"}"),
    )
}

async fn dotenv() -> Response {
    with_type(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        Bytes::from_static(DOTENV.as_bytes()),
    )
}

async fn stylesheet() -> Response {
    with_type(
        StatusCode::OK,
        "text/css; charset=utf-8",
        Bytes::from_static(app::APP_CSS.as_bytes()),
    )
}

async fn list_orders(
    State(state): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if let Err(err) = dependency::check(state.dependency()).await {
        return database_error(&state, &err);
    }
    if let Some(page) = super::telemetry::page_param(query.as_deref()) {
        return super::telemetry::archive_page(DemoProfile::Flawed, page).await;
    }
    json_response(StatusCode::OK, &serde_json::Value::Array(state.orders()))
}

async fn create_order(State(state): State<AppState>, body: Bytes) -> Response {
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(err) => {
            let message = if err.is_eof() {
                "Unexpected end of JSON input".to_owned()
            } else {
                format!(
                    "Unexpected token in JSON at line {} column {}",
                    err.line(),
                    err.column()
                )
            };
            return stack_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!(
                    "SyntaxError: {message}\n    at JSON.parse (<anonymous>)\n    \
                     at /app/src/routes/orders.js:12:19\n{EXPRESS_FRAMES}"
                ),
            );
        }
    };
    if let Err(err) = dependency::check(state.dependency()).await {
        return database_error(&state, &err);
    }
    // Whatever JSON arrives is stored as-is (no validation): an object keeps its fields.
    let fields = match value {
        serde_json::Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("payload".to_owned(), other);
            map
        }
    };
    json_response(StatusCode::CREATED, &state.create_order(fields))
}

async fn not_found() -> Response {
    stack_page(
        StatusCode::NOT_FOUND,
        &format!(
            "Error: Not Found\n    at /app/node_modules/express/lib/router/index.js:284:7\n{EXPRESS_FRAMES}"
        ),
    )
}

/// The database driver's error, stack and internal address included.
fn database_error(state: &AppState, err: &Unreachable) -> Response {
    let code = match err {
        Unreachable::TimedOut => "ETIMEDOUT",
        Unreachable::Failed(_) => "ECONNREFUSED",
    };
    stack_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!(
            "Error: connect {code} {addr}\n    \
             at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1494:16)\n    \
             at /app/src/db/pool.js:18:9\n{EXPRESS_FRAMES}",
            addr = state.dependency()
        ),
    )
}

/// An Express-style debug page: the raw stack inside `<pre>`.
fn stack_page(status: StatusCode, stack: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n\
         </head>\n<body>\n<pre>{stack}</pre>\n</body>\n</html>\n"
    );
    with_type(status, HTML, Bytes::from(body))
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    with_type(status, JSON, Bytes::from(value.to_string()))
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
