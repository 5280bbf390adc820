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
    pub async fn status(&self) -> Result<ProxyStatus, String> {
        self.call(Method::GET, "status", None).await
    }

    /// Cuts the proxy for at most `hold` (it restores itself after that); returns how many
    /// live connections were reset.
    pub async fn cut(&self, hold: Duration) -> Result<u64, String> {
        let secs = hold.as_secs().max(1);
        let status = self
            .call(Method::POST, "cut", Some(format!("{secs}s")))
            .await?;
        if !status.cut {
            return Err(format!(
                "fault proxy {}: {} answered the cut but says it is not cut",
                self.name,
                self.control_shown()
            ));
        }
        Ok(status.reset_connections.unwrap_or(0))
    }

    /// Lets traffic through again.
    pub async fn restore(&self) -> Result<(), String> {
        self.call(Method::POST, "restore", None).await.map(|_| ())
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        hold: Option<String>,
    ) -> Result<ProxyStatus, String> {
        let shown = self.control_shown();
        let fail = |what: String| format!("fault proxy {}: control {shown}: {what}", self.name);
        let mut url = self
            .control
            .join(path)
            .map_err(|e| fail(format!("cannot form the /{path} URL: {e}")))?;
        if let Some(hold) = hold {
            url.query_pairs_mut().append_pair("for", &hold);
        }
        let mut request = self.client.request(method, url).timeout(CONTROL_TIMEOUT);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| {
            fail(format!(
                "{} (is `readyprobe proxy --control` running there?)",
                crate::probes::error_chain(&e)
            ))
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(fail(
                "401: the token was refused; set token_env to the variable holding the proxy's --control-token-env value"
                    .to_string(),
            ));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(format!("reading the answer: {e}")))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| crate::text::clip(&String::from_utf8_lossy(&body), 200));
            return Err(fail(format!("{status}: {message}")));
        }
        serde_json::from_slice(&body)
            .map_err(|e| fail(format!("not a readyprobe fault proxy answer ({e})")))
    }
}
