//! The demo's in-memory PKI: a CA made at start and a server certificate it signs.
//!
//! Nothing is written to disk; the CA is handed to the caller ([`super::DemoTarget::ca_pem`]) so
//! the audit verifies the server the same way it verifies any other host, with no "skip
//! verification" shortcut.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::DemoProfile;

/// Common name of the demo CA.
pub(crate) const CA_COMMON_NAME: &str = "readyprobe demo CA";

/// The names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The CA and the server certificate chain and key.
pub(crate) struct DemoPki {
    /// PEM of the CA certificate.
    pub(crate) ca_pem: String,
    /// DER of the CA certificate.
    pub(crate) ca_der: CertificateDer<'static>,
    /// The server certificate alone: the CA is the trust anchor, so it is not sent.
    server_chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER of the server key.
    server_key_pkcs8: Vec<u8>,
}

impl DemoPki {
    /// Generates a fresh CA (CN "readyprobe demo CA") and a server certificate for `localhost`,
    /// `127.0.0.1` and `::1`, valid from a day ago to 90 days from now.
    pub(crate) fn generate() -> Result<DemoPki, rcgen::Error> {
        let now = SystemTime::now();
        let not_before = now.checked_sub(DAY).unwrap_or(now);
        let not_after = now.checked_add(DAY * 90).unwrap_or(now);

        let mut ca_params = CertificateParams::default();
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, CA_COMMON_NAME);
        ca_name.push(DnType::OrganizationName, "readyprobe");
        ca_params.distinguished_name = ca_name;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params.not_before = not_before.into();
        ca_params.not_after = not_after.into();
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let names: Vec<String> = SERVER_NAMES.iter().map(|s| (*s).to_owned()).collect();
        let mut server_params = CertificateParams::new(names)?;
        let mut server_name = DistinguishedName::new();
        server_name.push(DnType::CommonName, "localhost");
        server_name.push(DnType::OrganizationName, "readyprobe demo");
        server_params.distinguished_name = server_name;
        server_params.is_ca = IsCa::ExplicitNoCa;
        server_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.use_authority_key_identifier_extension = true;
        server_params.not_before = not_before.into();
        server_params.not_after = not_after.into();
        let server_key = KeyPair::generate()?;
        let server_cert = server_params.signed_by(&server_key, &ca)?;

        Ok(DemoPki {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_chain: vec![server_cert.der().clone()],
            server_key_pkcs8: server_key.serialize_der(),
        })
    }

    /// A rustls server configuration (ring provider, safe protocol versions) for `profile`:
    /// the hardened profile offers `h2` and `http/1.1` by ALPN, the flawed one only `http/1.1`.
    pub(crate) fn server_config(
        &self,
        profile: DemoProfile,
    ) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_pkcs8.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(self.server_chain.clone(), key)?;
        config.alpn_protocols = match profile {
            DemoProfile::Hardened => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            DemoProfile::Flawed => vec![b"http/1.1".to_vec()],
        };
        Ok(Arc::new(config))
    }
}
