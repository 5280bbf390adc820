//! Which server certificates the HTTP layer trusts, and the TLS client configurations built on
//! that decision.
//!
//! Three verifiers, each a [`ServerCertVerifier`]:
//! - [`TrustVerifier`]: the web roots plus the user's `--ca-file` anchors (webpki), and every
//!   certificate of that file *pinned*: a server presenting exactly one of them as its end-entity
//!   certificate is trusted even when webpki refuses it (OpenSSL's default `req -x509` makes a
//!   `CA:TRUE` certificate, which webpki rejects as an end entity with `CaUsedAsEndEntity`). A
//!   pinned certificate must still be within its validity period and name the host.
//! - [`UnverifiedVerifier`]: accepts any certificate (handshake signatures are still checked),
//!   for the "unverified connection" the HTTP probes fall back to when verification fails. The
//!   HTTP layer never sends a configured header or credential over it.
//! - The TLS probe wraps a [`TrustVerifier`] to record its verdict instead of enforcing it.
//!
//! It never decides *whether* to fall back: that is the HTTP probe's policy (`--strict-tls`).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The trust decision of one audit: web roots, extra anchors and pinned certificates.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The certificates of `--ca-file` (or the demo's CA), used as anchors and pins.
    pub extra: Vec<CertificateDer<'static>>,
    /// A digest of `extra`, so connections made under one trust are never reused under another.
    pub id: u64,
}

impl Trust {
    /// The web roots plus `extra` (anchors and pins).
    pub fn new(extra: &[CertificateDer<'static>]) -> Trust {
        let mut ders: Vec<&[u8]> = extra.iter().map(|c| c.as_ref()).collect();
        ders.sort_unstable();
        ders.dedup();
        let mut hasher = DefaultHasher::new();
        ders.hash(&mut hasher);
        Trust {
            extra: extra.to_vec(),
            // 0 and 1 are the keys of plain HTTP and unverified TLS.
            id: hasher.finish().max(2),
        }
    }

    /// The verifier enforcing this trust.
    pub fn verifier(&self) -> Result<Arc<TrustVerifier>, TlsSetupError> {
        let provider = provider();
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // A certificate that cannot be an anchor (an end entity without CA:TRUE) is still pinned.
        roots.add_parsable_certificates(self.extra.iter().cloned());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
        Ok(Arc::new(TrustVerifier {
            webpki,
            pinned: self.extra.clone(),
            provider,
        }))
    }
}

/// Why a TLS client configuration could not be built: which part and the library's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsSetupError {
    /// The certificate verifier (web roots and extra anchors) could not be built.
    #[error("certificate verifier: {0}")]
    Verifier(String),
    /// The rustls configuration (protocol versions of the provider) could not be built.
    #[error("TLS configuration: {0}")]
    Config(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// webpki over the web roots and the extra anchors, plus the extra certificates pinned as end
/// entities (see the module doc).
#[derive(Debug)]
pub struct TrustVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl TrustVerifier {
    /// A pinned certificate is trusted as exactly itself: it must match byte for byte, be within
    /// its validity period and name the server.
    fn verify_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Option<Result<ServerCertVerified, rustls::Error>> {
        if !self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return None;
        }
        let (_, cert) = match x509_parser::parse_x509_certificate(end_entity.as_ref()) {
            Ok(parsed) => parsed,
            Err(_) => return Some(Err(CertificateError::BadEncoding.into())),
        };
        let now = now.as_secs() as i64;
        let validity = cert.validity();
        if now < validity.not_before.timestamp() {
            return Some(Err(CertificateError::NotValidYet.into()));
        }
        if now > validity.not_after.timestamp() {
            return Some(Err(CertificateError::Expired.into()));
        }
        let named = rustls::server::ParsedCertificate::try_from(end_entity)
            .and_then(|parsed| rustls::client::verify_server_name(&parsed, server_name));
        Some(named.map(|()| ServerCertVerified::assertion()))
    }
}

impl ServerCertVerifier for TrustVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            Err(err) => self
                .verify_pinned(end_entity, server_name, now)
                .unwrap_or(Err(err)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Accepts any certificate; still checks that the server holds the key of the certificate it
/// sent. For the unverified connections of the HTTP probes only (see the module doc).
#[derive(Debug)]
pub struct UnverifiedVerifier {
    provider: Arc<CryptoProvider>,
}

impl UnverifiedVerifier {
    /// The verifier.
    pub fn new() -> Arc<UnverifiedVerifier> {
        Arc::new(UnverifiedVerifier {
            provider: provider(),
        })
    }
}

impl ServerCertVerifier for UnverifiedVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The client configurations of one trust: HTTP/2-or-1.1 by ALPN for shared connections, and
/// HTTP/1.1 only for the one-shot connections of hostile requests.
#[derive(Debug, Clone)]
pub struct TlsConfigs {
    /// ALPN `h2`, `http/1.1`.
    pub shared: Arc<rustls::ClientConfig>,
    /// ALPN `http/1.1` only.
    pub http1: Arc<rustls::ClientConfig>,
}

impl TlsConfigs {
    /// Configurations enforcing `verifier`.
    pub fn with_verifier(
        verifier: Arc<dyn ServerCertVerifier>,
    ) -> Result<TlsConfigs, TlsSetupError> {
        let base = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let mut shared = base.clone();
        shared.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let mut http1 = base;
        http1.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfigs {
            shared: Arc::new(shared),
            http1: Arc::new(http1),
        })
    }
}

/// The TLS client configurations of a run (or of `serve`), one set per trust, built on first use
/// and shared by every audit that trusts the same certificates.
///
/// Sharing them is what lets TLS sessions resume: a `rustls::ClientConfig` holds the session
/// cache (rustls' default [`rustls::client::Resumption`], in memory, per server name), so every
/// new connection to a server some audit of the run already met — the one-shot connections of
/// hostile requests, a second listener's connections, the next target behind the same ingress —
/// resumes with a ticket instead of repeating the full handshake (no certificate chain sent,
/// parsed or verified again, no signature). A session is only ever resumed under the trust that
/// verified it. Building the configurations (the web roots into a root store, the verifier) also
/// happens once per trust instead of once per audit.
#[derive(Debug, Default)]
pub struct TlsCache {
    by_trust: Mutex<HashMap<u64, Result<TlsConfigs, TlsSetupError>>>,
    unverified: OnceLock<Result<TlsConfigs, TlsSetupError>>,
}

/// Distinct trusts kept before the cache starts over (`serve` may meet many `--ca-file`s).
const MAX_TRUSTS: usize = 64;

impl TlsCache {
    /// The configurations enforcing `trust`.
    pub fn verified(&self, trust: &Trust) -> Result<TlsConfigs, TlsSetupError> {
        let mut map = self
            .by_trust
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(found) = map.get(&trust.id) {
            return found.clone();
        }
        if map.len() >= MAX_TRUSTS {
            map.clear();
        }
        let built = trust.verifier().and_then(|v| TlsConfigs::with_verifier(v));
        map.insert(trust.id, built.clone());
        built
    }

    /// The configurations of unverified connections (any certificate).
    pub fn unverified(&self) -> Result<TlsConfigs, TlsSetupError> {
        self.unverified
            .get_or_init(|| TlsConfigs::with_verifier(UnverifiedVerifier::new()))
            .clone()
    }
}

/// True when a TLS handshake failed because the server's certificate was refused by the
/// verifier (expired, wrong name, unknown issuer…), as opposed to a peer that does not speak TLS.
pub fn is_certificate_rejection(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let rustls_err = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(rustls::Error::InvalidCertificate(_)) = rustls_err {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed_ca_true(name: &str, days: i64) -> CertificateDer<'static> {
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let now = time_now();
        params.not_before = (now - std::time::Duration::from_secs(86_400)).into();
        params.not_after = if days >= 0 {
            (now + std::time::Duration::from_secs(86_400 * days as u64)).into()
        } else {
            (now - std::time::Duration::from_secs(3_600)).into()
        };
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn time_now() -> std::time::SystemTime {
        std::time::SystemTime::now()
    }

    fn verify(
        trust: &Trust,
        cert: &CertificateDer<'static>,
        host: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        crate::install_crypto_provider();
        let verifier = trust.verifier().unwrap();
        let name = ServerName::try_from(host.to_string()).unwrap();
        verifier.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn a_pinned_self_signed_ca_certificate_is_trusted_as_itself() {
        let cert = self_signed_ca_true("localhost", 30);
        assert!(verify(&Trust::new(&[]), &cert, "localhost").is_err());
        assert!(verify(&Trust::new(std::slice::from_ref(&cert)), &cert, "localhost").is_ok());
    }

    #[test]
    fn a_pinned_certificate_must_name_the_host_and_be_current() {
        let cert = self_signed_ca_true("localhost", 30);
        let trust = Trust::new(std::slice::from_ref(&cert));
        assert!(verify(&trust, &cert, "other.example").is_err());
        let expired = self_signed_ca_true("localhost", -1);
        let err = verify(
            &Trust::new(std::slice::from_ref(&expired)),
            &expired,
            "localhost",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::Expired)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn trust_ids_depend_on_the_set_of_certificates_only() {
        let a = self_signed_ca_true("a.test", 30);
        let b = self_signed_ca_true("b.test", 30);
        assert_eq!(
            Trust::new(&[a.clone(), b.clone()]).id,
            Trust::new(&[b.clone(), a.clone()]).id
        );
        assert_ne!(Trust::new(&[a]).id, Trust::new(&[b]).id);
        assert!(Trust::new(&[]).id >= 2);
    }
}
