//! The audit's side of a remote fault proxy: a `readyprobe proxy --control ADDR` deployed next
//! to a staging service, named in the config as `[[fault.proxy]] control = "http://…"`.
//!
//! Control requests go to the proxy, not to the target, so they do not count against the
//! audit's request budget; every error names the proxy and its control URL (never the token).

use std::time::Duration;

use reqwest::Method;
use url::Url;

use super::control::ProxyStatus;

/// How long one control request may take.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a control request to a remote fault proxy failed: the proxy (name and redacted control
/// URL, never the token) and the fact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The proxy acknowledged a cut but reports it is not cut.
    #[error("fault proxy {name}: {control} answered the cut but says it is not cut")]
    NotCut {
        /// The name the config gives the dependency.
        name: String,
        /// The control URL, redacted.
        control: String,
    },
    /// The control request itself failed.
    #[error("fault proxy {name}: control {control}: {fact}")]
    Control {
        /// The name the config gives the dependency.
        name: String,
        /// The control URL, redacted.
        control: String,
        /// What went wrong.
        fact: ControlFact,
    },
}

/// What went wrong with one control request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlFact {
    /// The endpoint's URL could not be formed from the control URL.
    #[error("cannot form the /{path} URL: {reason}")]
    BadUrl {
        /// The control endpoint (`status`, `cut`, `restore`).
        path: String,
        /// The URL parser's error.
        reason: String,
    },
    /// The request got no answer (the error chain).
    #[error("{0} (is `readyprobe proxy --control` running there?)")]
    Unreachable(String),
    /// The proxy refused the bearer token.
    #[error(
        "401: the token was refused; set token_env to the variable holding the proxy's --control-token-env value"
    )]
    TokenRefused,
    /// The answer's body could not be read.
    #[error("reading the answer: {0}")]
    Reading(String),
    /// The proxy answered with an error status and this message.
    #[error("{status}: {message}")]
    Refused {
        /// The HTTP status.
        status: reqwest::StatusCode,
        /// The proxy's `error` field, or the body clipped.
        message: String,
    },
    /// The answer is not a proxy status.
    #[error("not a readyprobe fault proxy answer ({0})")]
    NotAProxy(String),
}

/// A fault proxy driven through its control endpoint.
#[derive(Debug, Clone)]
pub struct RemoteProxy {
    name: String,
    control: Url,
    token: Option<String>,
    client: reqwest::Client,
}

impl RemoteProxy {
    /// A handle on the proxy whose control endpoint is `control`; `token` is sent as a bearer
    /// token when set.
    pub fn new(
        name: &str,
        control: Url,
        token: Option<String>,
        client: reqwest::Client,
    ) -> RemoteProxy {
        RemoteProxy {
            name: name.to_string(),
            control,
            token,
            client,
        }
    }

    /// The name the config gives the dependency.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The control URL, redacted for evidence.
    pub fn control_shown(&self) -> String {
        crate::redact::url(&self.control)
    }

    /// The proxy's state, including whether its upstream answers.
    pub async fn status(&self) -> Result<ProxyStatus, RemoteError> {
        self.call(Method::GET, "status", None).await
    }

    /// Cuts the proxy for at most `hold` (it restores itself after that); returns how many
    /// live connections were reset.
    pub async fn cut(&self, hold: Duration) -> Result<u64, RemoteError> {
        let secs = hold.as_secs().max(1);
        let status = self
            .call(Method::POST, "cut", Some(format!("{secs}s")))
            .await?;
        if !status.cut {
            return Err(RemoteError::NotCut {
                name: self.name.clone(),
                control: self.control_shown(),
            });
        }
        Ok(status.reset_connections.unwrap_or(0))
    }

    /// Lets traffic through again.
    pub async fn restore(&self) -> Result<(), RemoteError> {
        self.call(Method::POST, "restore", None).await.map(|_| ())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        hold: Option<String>,
    ) -> Result<ProxyStatus, RemoteError> {
        let shown = self.control_shown();
        let fail = |fact: ControlFact| RemoteError::Control {
            name: self.name.clone(),
            control: shown.clone(),
            fact,
        };
        let mut url = self.control.join(path).map_err(|e| {
            fail(ControlFact::BadUrl {
                path: path.to_string(),
                reason: e.to_string(),
            })
        })?;
        if let Some(hold) = hold {
            url.query_pairs_mut().append_pair("for", &hold);
        }
        let mut request = self.client.request(method, url).timeout(CONTROL_TIMEOUT);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|e| fail(ControlFact::Unreachable(crate::probes::error_chain(&e))))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(fail(ControlFact::TokenRefused));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(ControlFact::Reading(e.to_string())))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| crate::text::clip(&String::from_utf8_lossy(&body), 200));
            return Err(fail(ControlFact::Refused { status, message }));
        }
        serde_json::from_slice(&body).map_err(|e| fail(ControlFact::NotAProxy(e.to_string())))
    }
}
