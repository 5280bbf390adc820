//! readyprobe: audits a live, deployed system for production readiness.
//!
//! The pipeline is *observe, then judge*: [`engine`] runs [`probes`] (the only I/O) into
//! [`observations`]; [`checks`] are pure judges turning observations into findings; [`scoring`]
//! computes category scores and the verdict; [`report`] renders the one [`model::Report`] in
//! every format.

#![warn(missing_docs)]

pub mod checks;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod exit;
pub mod exposition;
pub mod fault_proxy;
pub mod fleet;
pub mod manifests;
pub mod model;
pub mod observations;
pub mod output;
pub mod packs;
pub mod probes;
pub mod progress;
pub mod redact;
pub mod report;
pub mod scoring;
pub mod serve;
pub mod store;
pub mod supervise;
pub mod text;
pub mod webhook;

/// The readyprobe version, as reported in every output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Installs ring as the process-wide rustls crypto provider. Call first thing in `main` and in
/// test helpers; calling it twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
