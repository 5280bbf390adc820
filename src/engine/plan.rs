//! Planning an audit: from a resolved [`Config`] and a target to the [`Audit`] the engine runs.
//!
//! The command line, fleets (`audit --targets`) and the exporter (`serve`) all plan their audits
//! here: the check catalogue is loaded, `env:` values are read, every secret is registered with
//! the redactor and `run.ca_file` becomes trust anchors. Errors name the field and the remedy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::Audit;
use crate::checks::Catalogue;
use crate::config::{self, Config};
use crate::redact::Redactor;

/// Loads the catalogue: built-in checks, embedded packs and the packs in `dirs`.
pub fn load_catalogue(dirs: &[PathBuf]) -> Result<Catalogue> {
    Ok(Catalogue::load(dirs)?)
}

/// Reads a PEM file of CA certificates into trust anchors; the error names the field.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("run.ca_file / --ca-file {}: cannot read", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            anyhow!(
                "run.ca_file / --ca-file {}: not a PEM certificate file ({e})",
                path.display()
            )
        })?;
    if certs.is_empty() {
        bail!(
            "run.ca_file / --ca-file {}: no CERTIFICATE block found; expected PEM",
            path.display()
        );
    }
    Ok(certs)
}

/// Builds the [`Audit`] for a target URL from a resolved config and catalogue, trusting
/// `run.ca_file` (read now: a missing or malformed file is an error naming the field).
///
/// The catalogue may be shared (`Arc`): audits of a fleet or an exporter use one, so its
/// regexes keep their match caches warm (a cloned `Regex` starts with empty caches, and
/// building them was 3–4 % of a fleet's CPU).
pub fn build_audit(
    target: &str,
    cfg: Config,
    origin: &str,
    catalogue: impl Into<Arc<Catalogue>>,
) -> Result<Audit> {
    let mut audit = prepare_audit(target, cfg, origin, catalogue)?;
    if let Some(path) = &audit.config.run.ca_file {
        audit.extra_roots = load_ca_file(path)?;
    }
    Ok(audit)
}

/// [`build_audit`] without reading `run.ca_file`: for a report written when nothing more will be
/// sent (a supervised service that never started may never have written its CA).
pub fn prepare_audit(
    target: &str,
    cfg: Config,
    origin: &str,
    catalogue: impl Into<Arc<Catalogue>>,
) -> Result<Audit> {
    let target =
        config::load::validate_http_url(target).map_err(|m| anyhow!("{origin}: target: {m}"))?;
    build_audit_for(target, cfg, origin, catalogue)
}

/// Builds a dependency-only [`Audit`]: no HTTP target, the configured dependencies only.
pub fn build_dependency_audit(
    cfg: Config,
    origin: &str,
    catalogue: impl Into<Arc<Catalogue>>,
) -> Result<Audit> {
    if cfg.supervise.is_enabled() {
        bail!(
            "{origin}: supervise.command: a dependency-only audit has no HTTP target to watch; give the service's URL"
        );
    }
    let target = url::Url::parse(Audit::DEPENDENCY_ONLY_TARGET)?;
    build_audit_for(target, cfg, origin, catalogue)
}

/// What an audit is of: the target URL, or `None` for the configured dependencies only.
/// `given` is the URL from the command line (or the demo's), which wins over `target` of the
/// config.
pub fn choose_target(given: Option<String>, cfg: &Config) -> Result<Option<String>> {
    match (given, &cfg.target) {
        (Some(url), _) => Ok(Some(url)),
        (None, Some(url)) => Ok(Some(url.clone())),
        // Dependency URLs only (or a config naming only dependencies): audit just those.
        (None, None) if cfg.dependencies.has_services() => Ok(None),
        (None, None) => bail!(
            "no target: give a URL (readyprobe audit https://staging.example.com), dependency URLs (postgres://…, redis://…, amqp://…), set `target` in the config, or try --demo"
        ),
    }
}

/// [`build_audit`] for a target chosen by [`choose_target`], or [`build_dependency_audit`];
/// with `read_ca` false, `run.ca_file` is not read ([`prepare_audit`]).
pub fn audit_for(
    target: Option<&str>,
    cfg: Config,
    origin: &str,
    catalogue: impl Into<Arc<Catalogue>>,
    read_ca: bool,
) -> Result<Audit> {
    match target {
        Some(url) if read_ca => build_audit(url, cfg, origin, catalogue),
        Some(url) => prepare_audit(url, cfg, origin, catalogue),
        None => build_dependency_audit(cfg, origin, catalogue),
    }
}

fn build_audit_for(
    target: url::Url,
    mut cfg: Config,
    origin: &str,
    catalogue: impl Into<Arc<Catalogue>>,
) -> Result<Audit> {
    let catalogue = catalogue.into();
    catalogue.validate_config(&cfg, origin)?;
    let mut redactor = Redactor::new();
    if let Some(password) = target.password() {
        redactor.add(password);
    }
    let mut headers = Vec::new();
    for (name, value) in &cfg.http.headers {
        let value = config::load::resolve_env(value, origin, &format!("http.headers.{name}"))?;
        redactor.add(&value);
        headers.push((name.clone(), value));
    }
    // Dependency URLs: `env:` values read now (a missing variable exits 2 naming the field),
    // every password registered so no output can carry it.
    cfg.dependencies = cfg.dependencies.resolve(origin)?;
    for secret in cfg.dependencies.secrets() {
        redactor.add(&secret);
    }
    // The valid token of `access.token_env` (the JWT forgery baseline): the token and its
    // signature, which the tampered variant keeps and an echoing server sends back.
    if let Ok(token) = std::env::var(&cfg.access.token_env) {
        redactor.add(&token);
        redactor.add(token.trim().rsplit('.').next().unwrap_or_default());
    }
    Ok(Audit {
        target,
        config: cfg,
        extra_roots: Vec::new(),
        headers,
        redactor,
        catalogue,
    })
}
