//! Access-control probes: CORS on API paths, protected routes without credentials, the OIDC
//! discovery document and its JWKS (passive), and the active JWT forgery, CSRF and idempotency
//! requests.
//!
//! Everything here only sends requests and records what came back; judging lives in
//! `checks::cors` and `checks::auth`. The passive part sends GET and OPTIONS only; the active part
//! sends forged tokens to the configured protected route and the configured mutations (never a
//! guessed one), and runs only when the profile allows active probes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use url::Url;

use super::Target;
use super::http;
use super::{ProbeCx, ProbeError};
use crate::config::{AccessConfig, MutationConfig};
use crate::observations::access::{
    CorsProbe, FOREIGN_ORIGIN, ForgedRequest, ForgeryVariant, JwksObservation, JwtForgery,
    MutationProbe, OriginVariant, ProtectedProbe,
};
use crate::observations::http::join_path;
use crate::observations::http::{HttpExchange, RequestSpec};
use crate::observations::{Observations, Probed};

fn observed(result: Result<HttpExchange, ProbeError>) -> Probed<HttpExchange> {
    match result {
        Ok(exchange) => Probed::Observed(exchange),
        Err(err) => Probed::Failed(err.to_string()),
    }
}

/// The origins sent to each API path: (variant, Origin value).
pub fn origins(target: &Url) -> Vec<(OriginVariant, String)> {
    let host = target.host_str().unwrap_or_default();
    let port = target.port().map(|p| format!(":{p}")).unwrap_or_default();
    vec![
        (OriginVariant::Own, target.origin().ascii_serialization()),
        (OriginVariant::Foreign, FOREIGN_ORIGIN.to_string()),
        (OriginVariant::Null, "null".to_string()),
        (
            OriginVariant::Suffix,
            format!("https://{host}.evil.example"),
        ),
        (OriginVariant::Prefix, format!("https://evil{host}")),
        (OriginVariant::Scheme, format!("http://{host}{port}")),
        (OriginVariant::Preflight, FOREIGN_ORIGIN.to_string()),
    ]
}

fn cors_spec(url: Url, variant: OriginVariant, origin: &str) -> RequestSpec {
    let mut spec = RequestSpec::get(url)
        .no_follow()
        .header("origin", origin)
        .header("accept", "application/json");
    if variant == OriginVariant::Preflight {
        spec.method = "OPTIONS".to_string();
        spec = spec
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type");
    }
    spec
}

/// The passive access probes: CORS, protected routes, JWKS. Stores into `obs`. Runs after the
/// packs, so CORS can probe the paths of an OpenAPI document `docs.openapi` found.
pub async fn observe(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    let documented = obs
        .packs
        .get("docs.openapi")
        .map(|exchanges| documented_paths(exchanges))
        .unwrap_or_default();
    let (cors, protected, jwks) = tokio::join!(
        cors(cx, audit, &documented),
        protected(cx, audit),
        jwks(cx, audit)
    );
    obs.cors = cors;
    obs.protected = protected;
    obs.jwks = jwks;
}

/// The most paths CORS probes without configuration: the target itself, then discovered and
/// documented API paths. Each path costs one request per origin variant (seven).
pub const MAX_CORS_PATHS: usize = 6;

/// The paths of the first OpenAPI/Swagger document among the `docs.openapi` answers.
fn documented_paths(exchanges: &[Probed<HttpExchange>]) -> Vec<String> {
    exchanges
        .iter()
        .filter_map(Probed::observed)
        .filter(|ex| ex.is_success())
        .map(|ex| openapi_paths(&ex.body))
        .find(|paths| !paths.is_empty())
        .unwrap_or_default()
}

/// The concrete paths an OpenAPI 3 or Swagger 2 document (JSON or YAML) declares, prefixed
/// with its base path (`servers[0].url`'s path, or `basePath`), those with a GET operation
/// first. Templated paths (`/orders/{id}`) are left out: there is no value to put in them.
/// Pure; the YAML reader is a line scanner for the `paths:` block, enough to list its keys.
pub fn openapi_paths(body: &str) -> Vec<String> {
    let (base, entries) = match serde_json::from_str::<Value>(body) {
        Ok(doc) => {
            let base = doc
                .get("basePath")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    doc.pointer("/servers/0/url")
                        .and_then(Value::as_str)
                        .map(server_path)
                })
                .unwrap_or_default();
            let entries: Vec<(String, bool)> = doc
                .get("paths")
                .and_then(Value::as_object)
                .map(|paths| {
                    paths
                        .iter()
                        .map(|(path, item)| (path.clone(), item.get("get").is_some()))
                        .collect()
                })
                .unwrap_or_default();
            (base, entries)
        }
        Err(_) => yaml_paths(body),
    };
    let base = base.trim_end_matches('/').to_string();
    let mut concrete: Vec<(String, bool)> = entries
        .into_iter()
        .filter(|(p, _)| p.starts_with('/') && !p.contains('{') && !p.contains(char::is_whitespace))
        .map(|(p, get)| (format!("{base}{p}"), get))
        .collect();
    // Stable: GET-able first, document order otherwise.
    concrete.sort_by_key(|(_, get)| !get);
    concrete.into_iter().map(|(p, _)| p).collect()
}

/// The path part of a `servers[].url` (absolute or relative).
fn server_path(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => u.path().to_string(),
        Err(_) if url.starts_with('/') => url.to_string(),
        Err(_) => String::new(),
    }
}

/// `(basePath, [(path, has GET)])` from a YAML document's top-level `basePath:`, `servers:` and
/// `paths:` block.
fn yaml_paths(body: &str) -> (String, Vec<(String, bool)>) {
    let unquote = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
    let mut base = String::new();
    let mut entries: Vec<(String, bool)> = Vec::new();
    let mut in_paths = false;
    let mut in_servers = false;
    let mut key_indent: Option<usize> = None;
    for raw in body.lines() {
        let line = raw.trim_end();
        let content = line.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        if indent == 0 {
            in_paths = content == "paths:";
            in_servers = content == "servers:";
            key_indent = None;
            if let Some(v) = content.strip_prefix("basePath:") {
                base = unquote(v);
            }
            continue;
        }
        if in_servers && base.is_empty() {
            if let Some(v) = content
                .strip_prefix("- url:")
                .or_else(|| content.strip_prefix("url:"))
            {
                base = server_path(&unquote(v));
            }
            continue;
        }
        if !in_paths {
            continue;
        }
        let indent_of_keys = *key_indent.get_or_insert(indent);
        if indent == indent_of_keys {
            if let Some(key) = content.strip_suffix(':') {
                entries.push((unquote(key), false));
            }
        } else if indent > indent_of_keys
            && content.starts_with("get:")
            && let Some(last) = entries.last_mut()
        {
            last.1 = true;
        }
    }
    (base, entries)
}

async fn cors(cx: &ProbeCx, audit: &Target<'_>, documented: &[String]) -> Probed<Vec<CorsProbe>> {
    let cfg = &audit.config.access;
    let target = &audit.target;
    let paths: Vec<String> = if cfg.api_paths.is_empty() {
        let candidates = AccessConfig::DISCOVERED.iter().map(|path| async move {
            let spec = RequestSpec::get(join_path(target, path)).no_follow();
            (path.to_string(), http::send(cx, &spec).await)
        });
        let answers = futures_util::future::join_all(candidates).await;
        if let Some(Err(err)) = answers.iter().map(|(_, r)| r).find(|r| r.is_err())
            && answers.iter().all(|(_, r)| r.is_err())
        {
            return Probed::Failed(err.to_string());
        }
        let found = answers
            .iter()
            .filter(|(_, r)| matches!(r, Ok(ex) if !matches!(ex.status, 404 | 410)))
            .map(|(p, _)| p.clone());
        // The target itself first: a server that reflects any origin does so on every path.
        let mut paths: Vec<String> = vec!["/".to_string()];
        for path in found.chain(documented.iter().cloned()) {
            if paths.len() >= MAX_CORS_PATHS {
                break;
            }
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        paths
    } else {
        cfg.api_paths.clone()
    };
    let variants = origins(target);
    let probes = paths.iter().flat_map(|path| {
        variants.iter().map(move |(variant, origin)| async move {
            let spec = cors_spec(join_path(target, path), *variant, origin);
            CorsProbe {
                path: path.clone(),
                variant: *variant,
                origin: origin.clone(),
                exchange: observed(http::send(cx, &spec).await),
            }
        })
    });
    Probed::Observed(futures_util::future::join_all(probes).await)
}

async fn protected(cx: &ProbeCx, audit: &Target<'_>) -> Probed<Vec<ProtectedProbe>> {
    let paths = &audit.config.access.protected;
    if paths.is_empty() {
        return Probed::Skipped("no protected route configured (access.protected)".to_string());
    }
    let probes = paths.iter().map(|path| async move {
        let spec = RequestSpec::get(join_path(audit.target, path))
            .no_follow()
            .header("origin", FOREIGN_ORIGIN)
            .header("accept", "application/json");
        ProtectedProbe {
            path: path.clone(),
            exchange: observed(http::send(cx, &spec).await),
        }
    });
    Probed::Observed(futures_util::future::join_all(probes).await)
}

async fn fetch_json(cx: &ProbeCx, url: Url) -> Result<Option<(HttpExchange, Value)>, ProbeError> {
    let spec = RequestSpec::get(url)
        .no_follow()
        .header("accept", "application/json");
    let ex = http::send(cx, &spec).await?;
    if !ex.is_success() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(&ex.body) {
        Ok(value) => Ok(Some((ex, value))),
        Err(_) => Ok(None),
    }
}

async fn jwks(cx: &ProbeCx, audit: &Target<'_>) -> Probed<JwksObservation> {
    let cfg = &audit.config.access;
    let target = &audit.target;
    let discovery_url = join_path(target, &cfg.oidc_discovery);
    let discovery = fetch_json(cx, discovery_url.clone()).await;
    let mut tried = vec![discovery_url.to_string()];
    if let Ok(Some((_, doc))) = &discovery
        && let Some(raw) = doc.get("jwks_uri").and_then(Value::as_str)
    {
        match Url::parse(raw) {
            Ok(url) if url.host_str() == target.host_str() => {
                return match fetch_json(cx, url.clone()).await {
                    Ok(Some((ex, jwks))) => Probed::Observed(JwksObservation {
                        discovery_url: Some(discovery_url.to_string()),
                        jwks_url: ex.final_url,
                        jwks,
                    }),
                    Ok(None) => Probed::Failed(format!(
                        "{discovery_url} names jwks_uri {url}, which did not answer 2xx JSON"
                    )),
                    Err(e) => Probed::Failed(e.to_string()),
                };
            }
            Ok(url) => {
                return Probed::Skipped(format!(
                    "the JWKS ({url}) is on another host; readyprobe only fetches from the target"
                ));
            }
            Err(e) => {
                return Probed::Failed(format!(
                    "{discovery_url}: jwks_uri {raw:?} is not a URL: {e}"
                ));
            }
        }
    }
    let fallback = join_path(target, AccessConfig::JWKS_FALLBACK);
    tried.push(fallback.to_string());
    match fetch_json(cx, fallback).await {
        Ok(Some((ex, jwks))) => Probed::Observed(JwksObservation {
            discovery_url: None,
            jwks_url: ex.final_url,
            jwks,
        }),
        Ok(None) => Probed::Skipped(format!(
            "no OIDC discovery document or JWKS found (tried {})",
            tried.join(", ")
        )),
        Err(e) => match discovery {
            Err(_) => Probed::Failed(e.to_string()),
            Ok(_) => Probed::Skipped(format!(
                "no OIDC discovery document found ({}); {e}",
                tried[0]
            )),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// JWTs, hand-built.

/// `base64url(header).base64url(payload).base64url(signature)`.
pub fn encode_jwt(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{head}.{body}");
    let sig = URL_SAFE_NO_PAD.encode(sign(signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hs256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::new();
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der(0x02, &content)
}

/// The PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of an RSA key given as JWK `n`/`e` bytes: what
/// a confused verifier uses as its HMAC secret.
pub fn rsa_public_pem(n: &[u8], e: &[u8]) -> String {
    let rsa_key = der(0x30, &[der_uint(n), der_uint(e)].concat());
    // AlgorithmIdentifier { rsaEncryption, NULL }
    let alg = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8];
    bits.extend(rsa_key);
    let spki = der(0x30, &[alg.to_vec(), der(0x03, &bits)].concat());
    let b64 = STANDARD.encode(spki);
    let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END PUBLIC KEY-----\n");
    pem
}

/// The HMAC secret a key-confused verifier would use: the first RSA key's PEM, else the first
/// `x5c` certificate's DER bytes.
pub fn confusion_secret(jwks: &Value) -> Option<Vec<u8>> {
    let keys = jwks.get("keys")?.as_array()?;
    let b64 = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
    };
    for key in keys {
        if let (Some(n), Some(e)) = (b64(key.get("n")), b64(key.get("e"))) {
            return Some(rsa_public_pem(&n, &e).into_bytes());
        }
    }
    keys.iter().find_map(|key| {
        key.get("x5c")?
            .as_array()?
            .first()?
            .as_str()
            .and_then(|c| STANDARD.decode(c).ok())
    })
}

/// The claims of a compact JWT, if its payload is JSON.
pub fn claims_of(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Forged tokens `(variant, token)`, or variants that cannot be built with the reason.
pub type ForgeryList = Vec<(ForgeryVariant, String)>;

/// The forged tokens for one run: `(variant, token)` and the variants that cannot be built.
pub fn forged_tokens(
    now: u64,
    valid: Option<&str>,
    jwks: Option<&Value>,
) -> (ForgeryList, ForgeryList) {
    let mut claims = valid
        .and_then(claims_of)
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"sub": "readyprobe-forgery-test"}));
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 300);
    let mut tokens = Vec::new();
    let mut not_sent = Vec::new();
    let none = json!({"alg": "none", "typ": "JWT"});
    tokens.push((
        ForgeryVariant::AlgNone,
        encode_jwt(&none, &claims, |_| Vec::new()),
    ));
    match jwks.and_then(confusion_secret) {
        Some(secret) => {
            let header = json!({"alg": "HS256", "typ": "JWT"});
            tokens.push((
                ForgeryVariant::Hs256PublicKey,
                encode_jwt(&header, &claims, |data| hs256(&secret, data)),
            ));
        }
        None => not_sent.push((
            ForgeryVariant::Hs256PublicKey,
            "no RSA key or certificate in a JWKS to confuse with".to_string(),
        )),
    }
    match valid {
        Some(token) if token.split('.').count() == 3 => {
            let parts: Vec<&str> = token.split('.').collect();
            // Claims that are not an object (`[1]`, `"x"`) cannot take a field: start afresh.
            let mut tampered = claims_of(token)
                .filter(Value::is_object)
                .unwrap_or_else(|| json!({}));
            tampered["readyprobe_tampered"] = json!(true);
            let body = URL_SAFE_NO_PAD.encode(tampered.to_string());
            tokens.push((
                ForgeryVariant::Tampered,
                format!("{}.{body}.{}", parts[0], parts[2]),
            ));
        }
        Some(_) => not_sent.push((
            ForgeryVariant::Tampered,
            "the configured token is not a compact JWT".to_string(),
        )),
        None => not_sent.push((
            ForgeryVariant::Tampered,
            "no valid token configured (access.token_env)".to_string(),
        )),
    }
    let mut expired = claims.clone();
    expired["iat"] = json!(now.saturating_sub(7200));
    expired["exp"] = json!(now.saturating_sub(3600));
    tokens.push((
        ForgeryVariant::Expired,
        encode_jwt(&none, &expired, |_| Vec::new()),
    ));
    (tokens, not_sent)
}

// ---------------------------------------------------------------------------------------------
// Active steps.

/// Active step: forged tokens against the first protected route.
pub async fn forge(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    let Some(path) = audit.config.access.protected.first() else {
        obs.jwt_forgery =
            Probed::Skipped("no protected route configured (access.protected)".to_string());
        return;
    };
    let valid = std::env::var(&audit.config.access.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (tokens, not_sent) = forged_tokens(
        now,
        valid.as_deref().map(str::trim),
        obs.jwks.observed().map(|j| &j.jwks),
    );
    let baseline_status = obs.protected.observed().and_then(|all| {
        all.iter()
            .find(|p| &p.path == path)
            .and_then(|p| p.exchange.observed())
            .map(|ex| ex.status)
    });
    let mut sent = Vec::new();
    for (variant, token) in tokens {
        // A forged token is a hostile request: on a connection of its own.
        let spec = RequestSpec::get(join_path(audit.target, path))
            .no_follow()
            .alone()
            .header("accept", "application/json")
            .header("authorization", &format!("Bearer {token}"));
        sent.push(ForgedRequest {
            variant,
            exchange: observed(http::send(cx, &spec).await),
        });
    }
    obs.jwt_forgery = Probed::Observed(JwtForgery {
        path: path.clone(),
        baseline_status,
        sent,
        not_sent,
    });
}

fn mutation_spec(target: &Url, m: &MutationConfig) -> RequestSpec {
    let mut spec = RequestSpec::get(join_path(target, &m.path))
        .no_follow()
        .header("content-type", &m.content_type);
    spec.method = m.method.clone();
    spec.body = m.body.clone();
    spec
}

/// Active step: each configured mutation sent cross-site (foreign `Origin`,
/// `Sec-Fetch-Site: cross-site`), its idempotency header included so only the origin differs.
pub async fn csrf(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    let mutations = &audit.config.access.mutation;
    if mutations.is_empty() {
        obs.csrf = Probed::Skipped("no mutation configured ([[access.mutation]])".to_string());
        return;
    }
    let mut out = Vec::new();
    for (i, m) in mutations.iter().enumerate() {
        // A forged cross-site request is a hostile one: on a connection of its own.
        let mut spec = mutation_spec(audit.target, m)
            .alone()
            .header("origin", FOREIGN_ORIGIN)
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "cors");
        if let Some(name) = &m.idempotency_header {
            spec = spec.header(name, &format!("readyprobe-csrf-{i}-{}", std::process::id()));
        }
        out.push(MutationProbe {
            method: m.method.clone(),
            path: m.path.clone(),
            exchange: observed(http::send(cx, &spec).await),
        });
    }
    obs.csrf = Probed::Observed(out);
}

/// Active step: each configured mutation that names an idempotency header, sent without it.
pub async fn idempotency(cx: &ProbeCx, audit: &Target<'_>, obs: &mut Observations) {
    let mutations: Vec<&MutationConfig> = audit
        .config
        .access
        .mutation
        .iter()
        .filter(|m| m.idempotency_header.is_some())
        .collect();
    if mutations.is_empty() {
        obs.idempotency = Probed::Skipped(
            "no mutation with an idempotency_header configured ([[access.mutation]])".to_string(),
        );
        return;
    }
    let mut out = Vec::new();
    for m in mutations {
        out.push(MutationProbe {
            method: m.method.clone(),
            path: m.path.clone(),
            exchange: observed(http::send(cx, &mutation_spec(audit.target, m)).await),
        });
    }
    obs.idempotency = Probed::Observed(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_origins_derive_from_the_target_host() {
        let target = Url::parse("https://app.example.com/").unwrap();
        let all = origins(&target);
        let get = |v| all.iter().find(|(k, _)| *k == v).map(|(_, o)| o.as_str());
        assert_eq!(get(OriginVariant::Own), Some("https://app.example.com"));
        assert_eq!(
            get(OriginVariant::Suffix),
            Some("https://app.example.com.evil.example")
        );
        assert_eq!(
            get(OriginVariant::Prefix),
            Some("https://evilapp.example.com")
        );
        assert_eq!(get(OriginVariant::Scheme), Some("http://app.example.com"));
    }

    #[test]
    fn openapi_paths_from_json_keep_concrete_paths_with_the_base() {
        let doc = json!({
            "openapi": "3.0.3",
            "servers": [{"url": "https://api.example.com/v1"}],
            "paths": {
                "/orders": {"get": {}, "post": {}},
                "/orders/{id}": {"get": {}},
                "/login": {"post": {}},
                "/health": {"get": {}}
            }
        });
        assert_eq!(
            openapi_paths(&doc.to_string()),
            vec!["/v1/health", "/v1/orders", "/v1/login"]
        );
        let swagger =
            json!({"swagger": "2.0", "basePath": "/api/", "paths": {"/pets": {"get": {}}}});
        assert_eq!(openapi_paths(&swagger.to_string()), vec!["/api/pets"]);
        assert!(openapi_paths("<html>not a document</html>").is_empty());
        assert!(openapi_paths("{\"paths\": [1, 2]}").is_empty());
    }

    #[test]
    fn openapi_paths_from_yaml_read_the_paths_block() {
        let doc = r#"openapi: 3.0.0
info:
  title: shop
servers:
  - url: /api
paths:
  /orders:
    post:
      summary: create
    get:
      summary: list
  '/orders/{id}':
    get: {}
  "/login":
    post: {}
components:
  schemas: {}
"#;
        assert_eq!(openapi_paths(doc), vec!["/api/orders", "/api/login"]);
    }

    #[test]
    fn alg_none_token_has_empty_signature_and_expired_is_in_the_past() {
        let (tokens, not_sent) = forged_tokens(1_000_000, None, None);
        let none = &tokens[0].1;
        assert!(none.ends_with('.'));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(none.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "none");
        let expired = tokens
            .iter()
            .find(|(v, _)| *v == ForgeryVariant::Expired)
            .unwrap();
        assert_eq!(claims_of(&expired.1).unwrap()["exp"], 1_000_000 - 3600);
        assert_eq!(not_sent.len(), 2);
    }

    #[test]
    fn hs256_with_public_key_uses_the_pem_and_tampered_keeps_signature() {
        let jwks = json!({"keys": [{"kty": "RSA", "n": "wQ", "e": "AQAB"}]});
        let valid = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
        let (tokens, not_sent) = forged_tokens(10, Some(valid), Some(&jwks));
        assert!(not_sent.is_empty());
        let hs = &tokens
            .iter()
            .find(|(v, _)| *v == ForgeryVariant::Hs256PublicKey)
            .unwrap()
            .1;
        let pem = rsa_public_pem(&[0xc1], &[1, 0, 1]);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let input = hs.rsplit_once('.').unwrap().0;
        assert_eq!(
            hs.rsplit_once('.').unwrap().1,
            URL_SAFE_NO_PAD.encode(hs256(pem.as_bytes(), input.as_bytes()))
        );
        let tampered = &tokens
            .iter()
            .find(|(v, _)| *v == ForgeryVariant::Tampered)
            .unwrap()
            .1;
        assert!(tampered.ends_with(".c2ln"));
        assert_eq!(claims_of(tampered).unwrap()["sub"], "a");
        assert_eq!(claims_of(tampered).unwrap()["readyprobe_tampered"], true);
    }

    #[test]
    fn der_integer_gets_a_sign_byte() {
        assert_eq!(der_uint(&[0x00, 0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(
            der_uint(&[0x01, 0x00, 0x01]),
            vec![0x02, 0x03, 0x01, 0x00, 0x01]
        );
    }
}
