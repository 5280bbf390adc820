//! Who may call what: CORS allowed for the service's own origin only, and the admin endpoint
//! behind a verified RS256 bearer token whose keys the identity-provider routes publish.

use axum::extract::Request;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, ORIGIN, VARY, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

use super::{JSON, json_response, problem};
use crate::demo::app;

/// CORS with an allow-list of one: the service's own HTTPS origin. Every response says it
/// varies by `Origin`, allowed or not, so no cache mixes them up.
pub(super) async fn cors_allow_list(req: Request, next: Next) -> Response {
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
pub(super) async fn admin(headers: HeaderMap) -> Response {
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

pub(super) async fn openid_configuration(headers: HeaderMap, uri: Uri) -> Response {
    json_response(
        StatusCode::OK,
        JSON,
        &app::openid_configuration(&headers, &uri),
    )
}

/// Two RSA-2048 keys with kids: the current one and the next, for rotation overlap.
pub(super) async fn jwks() -> Response {
    let keys: Vec<Value> = app::HARDENED_RSA_2048
        .iter()
        .map(|(kid, n)| json!({ "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": "AQAB" }))
        .collect();
    json_response(StatusCode::OK, JSON, &json!({ "keys": keys }))
}
