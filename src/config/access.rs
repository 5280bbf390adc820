//! `[access]`: which API paths, protected routes, identity-provider documents and mutations the
//! CORS, CSRF, auth and idempotency probes look at.
//!
//! Defaults must suit a real target: API paths are discovered (`/api/orders`, `/api`) when none
//! are named, protected routes and mutations are only ever the ones the user names (a mutation is
//! a write; readyprobe never guesses one).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The `[access]` section.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// API paths probed for CORS. Default: the target itself, those of
    /// [`AccessConfig::DISCOVERED`] that exist and the concrete paths of the OpenAPI document
    /// `docs.openapi` found, at most [`crate::probes::access::MAX_CORS_PATHS`] in all.
    pub api_paths: Vec<String>,
    /// Routes that must answer 401/403 without credentials.
    pub protected: Vec<String>,
    /// Path of the OIDC discovery document (`/.well-known/jwks.json` is tried as well).
    pub oidc_discovery: String,
    /// Environment variable holding a valid token for the JWT forgery baseline (optional).
    pub token_env: String,
    /// Mutations for the CSRF and idempotency probes (active, only these).
    pub mutation: Vec<MutationConfig>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        AccessConfig {
            api_paths: Vec::new(),
            protected: Vec::new(),
            oidc_discovery: "/.well-known/openid-configuration".to_string(),
            token_env: "READYPROBE_TOKEN".to_string(),
            mutation: Vec::new(),
        }
    }
}

impl AccessConfig {
    /// API path candidates probed when `api_paths` is empty; those answering non-404 are kept.
    pub const DISCOVERED: &'static [&'static str] = &["/api/orders", "/api"];

    /// The well-known JWKS path tried besides the discovery document.
    pub const JWKS_FALLBACK: &'static str = "/.well-known/jwks.json";
}

/// One configured mutation (`[[access.mutation]]`).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MutationConfig {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// The path (`/api/orders`).
    pub path: String,
    /// The request body sent.
    pub body: Option<String>,
    /// Its `Content-Type`.
    pub content_type: String,
    /// The header the API requires for idempotent retries (`Idempotency-Key`), if any.
    pub idempotency_header: Option<String>,
}

impl Default for MutationConfig {
    fn default() -> Self {
        MutationConfig {
            method: "POST".to_string(),
            path: String::new(),
            body: None,
            content_type: "application/json".to_string(),
            idempotency_header: None,
        }
    }
}

const METHODS: &[&str] = &["POST", "PUT", "PATCH", "DELETE"];

fn check_path(origin: &str, field: &str, path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') {
        return Err(ConfigError::field(
            origin,
            field,
            format!("expected a path starting with /, got {path:?}"),
        ));
    }
    Ok(())
}

/// Validates `[access]`; every error names its field.
pub fn validate(cfg: &AccessConfig, origin: &str) -> Result<(), ConfigError> {
    for (i, path) in cfg.api_paths.iter().enumerate() {
        check_path(origin, &format!("access.api_paths[{i}]"), path)?;
    }
    for (i, path) in cfg.protected.iter().enumerate() {
        check_path(origin, &format!("access.protected[{i}]"), path)?;
    }
    check_path(origin, "access.oidc_discovery", &cfg.oidc_discovery)?;
    if !super::is_env_name(&cfg.token_env) {
        return Err(ConfigError::field(
            origin,
            "access.token_env",
            format!(
                "expected an environment variable name (letters, digits, _), got {:?}",
                cfg.token_env
            ),
        ));
    }
    for (i, m) in cfg.mutation.iter().enumerate() {
        let field = |f: &str| format!("access.mutation[{i}].{f}");
        if !METHODS.contains(&m.method.as_str()) {
            return Err(ConfigError::field(
                origin,
                field("method"),
                format!(
                    "expected one of POST, PUT, PATCH, DELETE, got {:?}",
                    m.method
                ),
            ));
        }
        check_path(origin, &field("path"), &m.path)?;
        if http::HeaderValue::from_str(&m.content_type).is_err() || m.content_type.is_empty() {
            return Err(ConfigError::field(
                origin,
                field("content_type"),
                format!("not a valid header value: {:?}", m.content_type),
            ));
        }
        if let Some(name) = &m.idempotency_header
            && http::HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return Err(ConfigError::field(
                origin,
                field("idempotency_header"),
                format!("not a valid header name: {name:?}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(cfg: &AccessConfig) -> String {
        validate(cfg, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn defaults_validate() {
        assert!(validate(&AccessConfig::default(), "t.toml").is_ok());
    }

    #[test]
    fn relative_protected_path_is_named() {
        let cfg = AccessConfig {
            protected: vec!["api/admin".into()],
            ..AccessConfig::default()
        };
        assert_eq!(
            message(&cfg),
            "t.toml: access.protected[0]: expected a path starting with /, got \"api/admin\""
        );
    }

    #[test]
    fn bad_token_env_is_named() {
        let cfg = AccessConfig {
            token_env: "MY-TOKEN".into(),
            ..AccessConfig::default()
        };
        assert!(message(&cfg).starts_with("t.toml: access.token_env: expected an environment"));
    }

    #[test]
    fn mutation_method_and_header_are_checked() {
        let mut cfg = AccessConfig {
            mutation: vec![MutationConfig {
                method: "GET".into(),
                path: "/api/orders".into(),
                ..MutationConfig::default()
            }],
            ..AccessConfig::default()
        };
        assert_eq!(
            message(&cfg),
            "t.toml: access.mutation[0].method: expected one of POST, PUT, PATCH, DELETE, got \"GET\""
        );
        cfg.mutation[0].method = "POST".into();
        cfg.mutation[0].idempotency_header = Some("bad header".into());
        assert_eq!(
            message(&cfg),
            "t.toml: access.mutation[0].idempotency_header: not a valid header name: \"bad header\""
        );
    }

    #[test]
    fn config_validation_covers_the_access_section() {
        let err = crate::config::from_str(
            "[access]\n[[access.mutation]]\nmethod = \"POST\"\npath = \"orders\"\n",
            "t.toml",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.toml: access.mutation[0].path: expected a path starting with /, got \"orders\""
        );
        let err = crate::config::from_str("[access]\nprotect = [\"/a\"]\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("access"), "{err}");
    }

    #[test]
    fn access_section_parses_from_toml() {
        let cfg: AccessConfig = toml::from_str(
            "api_paths = [\"/api/orders\"]\nprotected = [\"/api/admin\"]\n\
             [[mutation]]\nmethod = \"POST\"\npath = \"/api/orders\"\nidempotency_header = \"Idempotency-Key\"\n",
        )
        .expect("parses");
        assert_eq!(cfg.protected, vec!["/api/admin"]);
        assert_eq!(cfg.mutation[0].content_type, "application/json");
        assert_eq!(cfg.token_env, "READYPROBE_TOKEN");
    }
}
