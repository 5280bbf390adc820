//! The control endpoint of a standalone fault proxy (`readyprobe proxy --control ADDR`): the
//! HTTP API a remote `readyprobe audit` uses to cut and restore a proxy deployed next to a
//! staging service.
//!
//! | Request | Effect |
//! |---|---|
//! | `GET /status` | the proxy's state, and whether its upstream accepts a connection right now |
//! | `POST /cut?for=30s` | cut (reset live connections, refuse new ones) for at most `for` |
//! | `POST /restore` | let traffic through again |
//!
//! Every cut is bounded: the proxy restores itself when `for` runs out (default
//! [`DEFAULT_HOLD`], at most the proxy's `--max-cut`), so an audit that dies mid-cut never leaves
//! a staging dependency cut. With a token (`--control-token-env`) every request needs
//! `Authorization: Bearer <token>`; a control address reachable from other hosts without one is
//! refused at start, since anyone who can reach it can take the dependency away.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::FaultProxy;

/// How long a cut lasts when the request does not say (`POST /cut` without `for`).
pub const DEFAULT_HOLD: Duration = Duration::from_secs(60);

/// What `GET /status`, `POST /cut` and `POST /restore` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyStatus {
    /// The proxy's name (the dependency it stands for).
    pub name: String,
    /// Where it listens for the service.
    pub listen: String,
    /// The real dependency, `host:port`.
    pub upstream: String,
    /// True while cut.
    pub cut: bool,
    /// Connections forwarded right now.
    pub live_connections: u64,
    /// Connections accepted since start.
    pub accepted_connections: u64,
    /// Milliseconds until a cut restores itself (only while cut).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores_in_ms: Option<u64>,
    /// Live connections the cut just reset (only in the answer to `POST /cut`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_connections: Option<u64>,
    /// Why the upstream refused a direct connection (only in `GET /status`, when it did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_error: Option<String>,
}

/// How the control endpoint is set up.
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// Where the control endpoint listens.
    pub listen: SocketAddr,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// The longest cut a request may ask for.
    pub max_hold: Duration,
}

/// Why the control endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A non-loopback address without a token.
    #[error(
        "--control {0} is reachable from other hosts: set --control-token-env to require a token, or listen on 127.0.0.1"
    )]
    Unprotected(SocketAddr),
    /// The address could not be bound.
    #[error("--control {addr}: cannot listen: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A pending automatic restore.
struct Hold {
    until: Instant,
    task: JoinHandle<()>,
}

struct ControlState {
    proxy: Arc<FaultProxy>,
    token: Option<String>,
    max_hold: Duration,
    hold: Mutex<Option<Hold>>,
}

impl ControlState {
    fn status(&self) -> ProxyStatus {
        let restores_in_ms = self.hold.lock().ok().and_then(|hold| {
            hold.as_ref().filter(|_| self.proxy.is_cut()).map(|h| {
                h.until
                    .saturating_duration_since(Instant::now())
                    .as_millis() as u64
            })
        });
        ProxyStatus {
            name: self.proxy.name().to_string(),
            listen: self.proxy.listen_addr().to_string(),
            upstream: self.proxy.upstream().to_string(),
            cut: self.proxy.is_cut(),
            live_connections: self.proxy.live_connections(),
            accepted_connections: self.proxy.accepted_connections(),
            restores_in_ms,
            reset_connections: None,
            upstream_error: None,
        }
    }

    /// Replaces any pending automatic restore (`None`: just cancel it).
    fn set_hold(&self, hold: Option<Hold>) {
        if let Ok(mut slot) = self.hold.lock() {
            if let Some(old) = slot.take() {
                old.task.abort();
            }
            *slot = hold;
        }
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        constant_time_eq(given.as_bytes(), token.as_bytes())
    }
}

/// Compares without an early exit, so response timing does not reveal a token prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i).copied().unwrap_or(!x));
    }
    diff == 0
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn unauthorised() -> Response {
    json_error(
        StatusCode::UNAUTHORIZED,
        "missing or wrong token: send Authorization: Bearer <the proxy's --control-token-env value>"
            .to_string(),
    )
}

#[derive(Debug, Deserialize)]
struct CutQuery {
    #[serde(rename = "for")]
    hold: Option<String>,
}

async fn status(State(state): State<Arc<ControlState>>, headers: HeaderMap) -> Response {
    if !state.authorised(&headers) {
        return unauthorised();
    }
    let mut status = state.status();
    if let Err(err) = state.proxy.check_upstream().await {
        status.upstream_error = Some(match err {
            super::ProxyError::Upstream { reason, .. } => reason,
            other => other.to_string(),
        });
    }
    Json(status).into_response()
}

async fn cut(
    State(state): State<Arc<ControlState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<CutQuery>,
    headers: HeaderMap,
) -> Response {
    if !state.authorised(&headers) {
        return unauthorised();
    }
    let hold = match query.hold.as_deref().map(humantime::parse_duration) {
        None => DEFAULT_HOLD,
        Some(Ok(d)) if !d.is_zero() && d <= state.max_hold => d,
        Some(Ok(d)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "for: expected more than 0s and at most {} (the proxy's --max-cut), got {}",
                    humantime::format_duration(state.max_hold),
                    humantime::format_duration(d)
                ),
            );
        }
        Some(Err(e)) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("for: expected a duration such as 30s ({e})"),
            );
        }
    };
    let reset = state.proxy.cut_and_settle().await;
    let timer = {
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            tokio::time::sleep(hold).await;
            state.proxy.restore();
            println!(
                "restored automatically after {}",
                humantime::format_duration(hold)
            );
        })
    };
    state.set_hold(Some(Hold {
        until: Instant::now() + hold,
        task: timer,
    }));
    println!(
        "cut by {peer} for at most {}: {reset} live connection(s) reset, new connections refused",
        humantime::format_duration(hold)
    );
    let mut status = state.status();
    status.reset_connections = Some(reset);
    Json(status).into_response()
}

async fn restore(
    State(state): State<Arc<ControlState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !state.authorised(&headers) {
        return unauthorised();
    }
    state.set_hold(None);
    let was_cut = state.proxy.is_cut();
    state.proxy.restore();
    if was_cut {
        println!("restored by {peer}");
    }
    Json(state.status()).into_response()
}

async fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "unknown path: GET /status, POST /cut?for=30s, POST /restore".to_string(),
    )
}

fn router(state: Arc<ControlState>) -> axum::Router {
    axum::Router::new()
        .route("/status", get(status))
        .route("/cut", post(cut))
        .route("/restore", post(restore))
        .fallback(not_found)
        .with_state(state)
}

/// A bound control endpoint, ready to [`Control::serve`].
pub struct Control {
    listener: tokio::net::TcpListener,
    state: Arc<ControlState>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("listen", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Control {
    /// Binds the control endpoint for `proxy`; refuses a non-loopback address without a token.
    pub async fn bind(
        proxy: Arc<FaultProxy>,
        opts: ControlOptions,
    ) -> Result<Control, ControlError> {
        if opts.token.is_none() && !opts.listen.ip().is_loopback() {
            return Err(ControlError::Unprotected(opts.listen));
        }
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| ControlError::Listen {
                addr: opts.listen,
                source,
            })?;
        Ok(Control {
            listener,
            state: Arc::new(ControlState {
                proxy,
                token: opts.token,
                max_hold: opts.max_hold,
                hold: Mutex::new(None),
            }),
        })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes; any pending automatic restore is cancelled then (the
    /// proxy itself is stopped by its owner).
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = Arc::clone(&self.state);
        let served = axum::serve(
            self.listener,
            router(Arc::clone(&self.state)).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        state.set_hold(None);
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret!", b"s3cret"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[tokio::test]
    async fn non_loopback_control_without_a_token_is_refused() {
        let proxy = Arc::new(
            FaultProxy::start("db", "127.0.0.1:0".parse().unwrap(), "127.0.0.1:9")
                .await
                .unwrap(),
        );
        let err = Control::bind(
            proxy,
            ControlOptions {
                listen: "0.0.0.0:0".parse().unwrap(),
                token: None,
                max_hold: Duration::from_secs(60),
            },
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("set --control-token-env"), "{err}");
    }
}
