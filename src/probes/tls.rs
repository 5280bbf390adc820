//! The TLS probe: one real handshake that records the certificate chain and the verifier's
//! verdict, plus two hand-written ClientHellos that ask whether the server still accepts TLS 1.0
//! or TLS 1.1.
//!
//! It observes and never judges: an untrusted, expired or mismatched certificate is *recorded*
//! (the custom [`ServerCertVerifier`] runs the real webpki verifier, keeps its verdict, then
//! lets the handshake finish so the chain can be parsed), and `tls.certificate` decides what it
//! means. The probe also records the wall clock ([`TlsHandshake::observed_at_unix`]) so the judge
//! computes days-to-expiry without reading a clock itself.
//!
//! # Legacy protocol probe: byte layout
//!
//! rustls cannot speak TLS 1.0/1.1, and acceptance needs no cryptography: the server's first
//! answer to a ClientHello says it all. [`accepts_legacy`] writes this by hand
//! (RFC 2246 §6.2 and §7.4.1.2 for TLS 1.0, RFC 4346 the same sections for TLS 1.1, extensions
//! from RFC 6066 §3 and RFC 4492 §5.1):
//!
//! ```text
//! TLSPlaintext            type 0x16 (handshake) | version 0x0301 | length u16
//!   Handshake             type 0x01 (client_hello) | length u24
//!     ClientHello         client_version 0x0301 (TLS 1.0) or 0x0302 (TLS 1.1)
//!                         random[32]
//!                         session_id        u8 length = 0
//!                         cipher_suites     u16 length | u16 suites (ECDHE/DHE/RSA CBC SHA,
//!                                           3DES, RC4, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
//!                         compression       u8 length = 1 | 0x00 (null)
//!                         extensions        u16 length |
//!                           server_name       0x0000 (only when the host is a name, RFC 6066)
//!                           supported_groups  0x000a: x25519, secp256r1, secp384r1, secp521r1
//!                           ec_point_formats  0x000b: uncompressed
//! ```
//!
//! The first record that comes back decides:
//!
//! ```text
//! 0x16 0x03 0x0X len | 0x02 (server_hello) len[3] | server_version[2] ...
//!     server_version == offered version   → accepted
//!     any other server_version            → refused (it answered with a version it prefers)
//! 0x15 0x03 0x0X 0x0002 | level | description     → refused (alert, RFC 2246 §7.2)
//! EOF or reset before any byte                    → refused (many servers just hang up)
//! anything else (not a TLS record, truncated)     → ProbeError::Protocol
//! ```
//!
//! Parsing never indexes past what was read; reads are capped and bounded by
//! [`ProbeCx::op_deadline`].

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ProbeCx, ProbeError, error_chain};
use crate::observations::tls::{
    CertificateInfo, LegacyProbe, LegacyVersion, TlsHandshake, Verification,
};

/// Why the first bytes answering a legacy ClientHello are not a TLS answer we can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyAnswerError {
    /// Fewer than a record header's five bytes arrived.
    #[error("answer cut short after {len} bytes ({first})")]
    CutShort {
        /// How many bytes arrived.
        len: usize,
        /// Those bytes in hex (at most 8).
        first: String,
    },
    /// The header is not an alert or handshake record of TLS.
    #[error("not a TLS record: first bytes {first}")]
    NotTls {
        /// The first bytes in hex (at most 8).
        first: String,
    },
    /// An alert record without its level and description.
    #[error("TLS alert cut short")]
    AlertCutShort,
    /// A handshake record too short to hold a ServerHello's start.
    #[error("handshake record cut short after {len} bytes")]
    HandshakeCutShort {
        /// How many bytes arrived.
        len: usize,
    },
    /// A handshake message other than ServerHello.
    #[error("expected a ServerHello (handshake type 2), got handshake type {kind}")]
    NotServerHello {
        /// The handshake type received.
        kind: u8,
    },
}

/// The server sent a certificate that does not parse as X.509 (the parser's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server sent a certificate that does not parse: {0}")]
pub struct UnparsableCertificate(String);

/// Runs the real verifier, keeps its verdict and the chain, then accepts the certificate so the
/// handshake can complete. Signatures are still checked by the real verifier's algorithms.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<super::net::trust::TrustVerifier>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `host` without IPv6 brackets.
fn bare_host(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

fn subject_of(host: &str, port: u16) -> String {
    if bare_host(host).contains(':') {
        format!("TLS [{}]:{port}", bare_host(host))
    } else {
        format!("TLS {host}:{port}")
    }
}

/// Handshakes with `host:port` using TLS 1.2/1.3, recording the negotiated parameters, the chain
/// and the verdict of the webpki verifier over the web roots plus `extra_roots`. An untrusted
/// certificate is observed, not an error; a peer that is not TLS, closes or stays silent is.
pub async fn handshake(
    cx: &ProbeCx,
    host: &str,
    port: u16,
    extra_roots: &[CertificateDer<'static>],
) -> Result<TlsHandshake, ProbeError> {
    let subject = subject_of(host, port);
    let name = bare_host(host).to_string();
    let server_name = ServerName::try_from(name.clone()).map_err(|e| ProbeError::Protocol {
        subject: subject.clone(),
        reason: format!("not a valid TLS server name: {e}"),
    })?;
    let tls_err = |reason: String| ProbeError::Tls {
        subject: subject.clone(),
        reason,
    };

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The HTTP probes' trust: web roots, the extra anchors, and those certificates pinned.
    let inner = super::net::trust::Trust::new(extra_roots)
        .verifier()
        .map_err(|e| tls_err(e.to_string()))?;
    let verifier = Arc::new(RecordingVerifier {
        inner,
        verdict: Mutex::new(None),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let _permit = cx.permit(&subject).await?;
    cx.spend_request(&subject)?;
    let deadline = cx.op_deadline();
    let tcp = match tokio::time::timeout_at(deadline, cx.net.tcp(&name, port)).await {
        Err(_) => return Err(cx.expired(&subject)),
        Ok(Err(e)) => {
            return Err(ProbeError::Connect {
                subject: subject.clone(),
                reason: cx.redactor.scrub(&e.to_string()),
            });
        }
        Ok(Ok(tcp)) => tcp,
    };
    let stream = match tokio::time::timeout_at(deadline, connector.connect(server_name, tcp)).await
    {
        Err(_) => return Err(cx.expired(&subject)),
        Ok(Err(e)) => return Err(tls_err(cx.redactor.scrub(&error_chain(&e)))),
        Ok(Ok(stream)) => stream,
    };
    cx.mark_answered();
    let observed_at_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (_, conn) = stream.get_ref();
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => "unknown".to_string(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_else(|| "unknown".to_string());
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let chain = conn
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|der| parse_certificate(der.as_ref()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProbeError::Protocol {
            subject: subject.clone(),
            reason: e.to_string(),
        })?;
    let verdict = verifier.verdict.lock().ok().and_then(|mut v| v.take());
    let verification = match verdict {
        Some(Ok(())) => Verification {
            trusted: true,
            error: None,
        },
        Some(Err(e)) => Verification {
            trusted: false,
            error: Some(cx.redactor.scrub(&e.to_string())),
        },
        None => Verification {
            trusted: false,
            error: Some("the server's certificate was never verified".to_string()),
        },
    };
    Ok(TlsHandshake {
        server_name: name,
        port,
        version,
        cipher_suite,
        alpn,
        chain,
        verification,
        observed_at_unix,
    })
}

/// Parses one DER certificate into what the checks need.
fn parse_certificate(der: &[u8]) -> Result<CertificateInfo, UnparsableCertificate> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::public_key::PublicKey;

    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| UnparsableCertificate(e.to_string()))?;
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(d) => sans.push((*d).to_string()),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes).ok().map(std::net::IpAddr::from),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(std::net::IpAddr::from),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let spki = cert.public_key();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(key @ PublicKey::RSA(_)) => ("RSA".to_string(), key.key_size()),
        Ok(key @ PublicKey::EC(_)) => ("EC".to_string(), key.key_size()),
        Ok(key @ PublicKey::DSA(_)) => ("DSA".to_string(), key.key_size()),
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => ("Ed25519".to_string(), 256),
            "1.3.101.113" => ("Ed448".to_string(), 456),
            oid => (oid.to_string(), 0),
        },
    };
    Ok(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        sans,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        key_type,
        key_bits: u32::try_from(key_bits).unwrap_or(0),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

/// TLS1.0-era cipher suites offered by the legacy ClientHello (ECDHE/DHE/RSA with CBC-SHA, 3DES,
/// RC4), then `TLS_EMPTY_RENEGOTIATION_INFO_SCSV`.
const LEGACY_SUITES: &[u16] = &[
    0xc014, // ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xc013, // ECDHE_RSA_WITH_AES_128_CBC_SHA
    0xc00a, // ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xc009, // ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0x0039, // DHE_RSA_WITH_AES_256_CBC_SHA
    0x0033, // DHE_RSA_WITH_AES_128_CBC_SHA
    0x0035, // RSA_WITH_AES_256_CBC_SHA
    0x002f, // RSA_WITH_AES_128_CBC_SHA
    0xc012, // ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x000a, // RSA_WITH_3DES_EDE_CBC_SHA
    0x0005, // RSA_WITH_RC4_128_SHA
    0x0004, // RSA_WITH_RC4_128_MD5
    0x00ff, // EMPTY_RENEGOTIATION_INFO_SCSV
];

/// The most bytes read of the server's first record (a record is at most 2^14 + 2048 bytes).
const MAX_RECORD: usize = 16384 + 2048;

fn push_u16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u16).to_be_bytes());
}

/// A fresh 32-byte random (unpredictability is not needed: no key is ever derived from it).
fn client_random() -> [u8; 32] {
    use std::hash::BuildHasher;
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let h = std::collections::hash_map::RandomState::new().hash_one((SystemTime::now(), i));
        chunk.copy_from_slice(&h.to_be_bytes());
    }
    out
}

/// The ClientHello record for `version`, with SNI when `host` is a name (layout in the module
/// doc).
pub fn legacy_client_hello(version: LegacyVersion, host: &str) -> Vec<u8> {
    let host = bare_host(host);
    let mut extensions = Vec::new();
    if host.parse::<std::net::IpAddr>().is_err() && !host.is_empty() && host.len() < 256 {
        let name = host.trim_end_matches('.').as_bytes();
        extensions.extend_from_slice(&[0x00, 0x00]);
        push_u16(&mut extensions, name.len() + 5);
        push_u16(&mut extensions, name.len() + 3);
        extensions.push(0x00); // host_name
        push_u16(&mut extensions, name.len());
        extensions.extend_from_slice(name);
    }
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1
    extensions.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19,
    ]);
    // ec_point_formats: uncompressed
    extensions.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);

    let mut body = Vec::new();
    body.extend_from_slice(&version.wire());
    body.extend_from_slice(&client_random());
    body.push(0); // session_id
    push_u16(&mut body, LEGACY_SUITES.len() * 2);
    for suite in LEGACY_SUITES {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[0x01, 0x00]); // compression: null
    push_u16(&mut body, extensions.len());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![0x01];
    let len = body.len() as u32;
    handshake.extend_from_slice(&len.to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);

    let mut record = vec![0x16, 0x03, 0x01];
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

/// Name of a TLS alert description (RFC 5246 §7.2, RFC 8446 §6).
fn alert_name(code: u8) -> &'static str {
    match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        120 => "no_application_protocol",
        _ => "unknown alert",
    }
}

fn version_name(wire: [u8; 2]) -> String {
    match wire {
        [0x03, 0x00] => "SSL 3.0".to_string(),
        [0x03, 0x01] => "TLS 1.0".to_string(),
        [0x03, 0x02] => "TLS 1.1".to_string(),
        [0x03, 0x03] => "TLS 1.2".to_string(),
        [a, b] => format!("0x{a:02x}{b:02x}"),
    }
}

/// Classifies the first bytes the server sent in answer to a legacy ClientHello for `version`.
/// `bytes` is everything read before the peer closed or the first record was complete; empty
/// means it closed without a word. `Err` means the answer is not TLS or is cut short.
pub fn classify_legacy_answer(
    version: LegacyVersion,
    bytes: &[u8],
) -> Result<LegacyProbe, LegacyAnswerError> {
    let refused = |answer: String| LegacyProbe {
        version,
        accepted: false,
        answer,
    };
    if bytes.is_empty() {
        return Ok(refused("connection closed without an answer".to_string()));
    }
    let hex = |b: &[u8]| {
        b.iter()
            .take(8)
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let Some(header) = bytes.get(..5) else {
        return Err(LegacyAnswerError::CutShort {
            len: bytes.len(),
            first: hex(bytes),
        });
    };
    let (content_type, major, len) = (
        header[0],
        header[1],
        u16::from_be_bytes([header[3], header[4]]) as usize,
    );
    if !matches!(content_type, 0x15 | 0x16) || major != 0x03 || len == 0 || len > MAX_RECORD {
        return Err(LegacyAnswerError::NotTls { first: hex(bytes) });
    }
    let payload = &bytes[5..];
    match content_type {
        0x15 => {
            let Some(&[level, code]) = payload.get(..2).and_then(|p| <&[u8; 2]>::try_from(p).ok())
            else {
                return Err(LegacyAnswerError::AlertCutShort);
            };
            let level = if level == 2 { "fatal" } else { "warning" };
            Ok(refused(format!(
                "{level} alert {} ({code})",
                alert_name(code)
            )))
        }
        _ => {
            let Some(hs) = payload.get(..6) else {
                return Err(LegacyAnswerError::HandshakeCutShort { len: bytes.len() });
            };
            if hs[0] != 0x02 {
                return Err(LegacyAnswerError::NotServerHello { kind: hs[0] });
            }
            let server_version = [hs[4], hs[5]];
            let suite = payload
                .get(6 + 32..)
                .and_then(|rest| {
                    let sid = *rest.first()? as usize;
                    let s = rest.get(1 + sid..3 + sid)?;
                    Some(format!(", cipher 0x{:02x}{:02x}", s[0], s[1]))
                })
                .unwrap_or_default();
            let accepted = server_version == version.wire();
            Ok(LegacyProbe {
                version,
                accepted,
                answer: format!("ServerHello {}{suite}", version_name(server_version)),
            })
        }
    }
}

/// Sends a ClientHello pinned to `version` and reports whether the server accepts it, from the
/// first record it answers (see the module doc). No handshake is completed.
pub async fn accepts_legacy(
    cx: &ProbeCx,
    host: &str,
    port: u16,
    version: LegacyVersion,
) -> Result<LegacyProbe, ProbeError> {
    let subject = format!(
        "{} ({} ClientHello)",
        subject_of(host, port),
        version.name()
    );
    let _permit = cx.permit(&subject).await?;
    cx.spend_request(&subject)?;
    let deadline = cx.op_deadline();
    let name = bare_host(host);
    let mut tcp = match tokio::time::timeout_at(deadline, cx.net.tcp(name, port)).await {
        Err(_) => return Err(cx.expired(&subject)),
        Ok(Err(e)) => {
            return Err(ProbeError::Connect {
                subject,
                reason: cx.redactor.scrub(&e.to_string()),
            });
        }
        Ok(Ok(tcp)) => tcp,
    };
    let hello = legacy_client_hello(version, host);
    let exchange = async {
        tcp.write_all(&hello).await?;
        let mut buf = vec![0u8; 5 + MAX_RECORD];
        let mut filled = 0usize;
        loop {
            // Enough once the header and the record it announces (or its first 6 + 38 bytes)
            // are in.
            if filled >= 5 {
                let len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
                if filled >= 5 + len.min(MAX_RECORD) || (buf[0] != 0x15 && buf[0] != 0x16) {
                    break;
                }
            }
            let n = match tcp.read(&mut buf[filled..]).await {
                Ok(n) => n,
                // A reset after the hello is a refusal like a close.
                Err(e) if filled == 0 && is_reset(&e) => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        Ok::<Vec<u8>, std::io::Error>(buf)
    };
    let bytes = match tokio::time::timeout_at(deadline, exchange).await {
        Err(_) => return Err(cx.expired(&subject)),
        Ok(Err(e)) if is_reset(&e) => Vec::new(),
        Ok(Err(e)) => {
            return Err(ProbeError::Protocol {
                subject,
                reason: cx.redactor.scrub(&error_chain(&e)),
            });
        }
        Ok(Ok(bytes)) => bytes,
    };
    if !bytes.is_empty() {
        cx.mark_answered();
    }
    classify_legacy_answer(version, &bytes).map_err(|e| ProbeError::Protocol {
        subject,
        reason: e.to_string(),
    })
}

fn is_reset(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_lengths_are_consistent() {
        let hello = legacy_client_hello(LegacyVersion::Tls11, "app.example.com");
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], 0x01);
        let hs_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(hs_len, hello.len() - 9);
        assert_eq!(&hello[9..11], &[0x03, 0x02]);
        assert!(
            hello.windows(15).any(|w| w == b"app.example.com"),
            "SNI is present for a name"
        );
        let ip = legacy_client_hello(LegacyVersion::Tls10, "127.0.0.1");
        assert!(
            !ip.windows(9).any(|w| w == b"127.0.0.1"),
            "no SNI for an IP"
        );
    }

    #[test]
    fn server_hello_for_offered_version_is_accepted() {
        let mut answer = vec![
            0x16, 0x03, 0x01, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x01,
        ];
        answer.extend_from_slice(&[0u8; 32]);
        answer.extend_from_slice(&[0x00, 0xc0, 0x14, 0x00]);
        let p = classify_legacy_answer(LegacyVersion::Tls10, &answer).unwrap();
        assert!(p.accepted);
        assert_eq!(p.answer, "ServerHello TLS 1.0, cipher 0xc014");
        let p = classify_legacy_answer(LegacyVersion::Tls11, &answer).unwrap();
        assert!(
            !p.accepted,
            "a ServerHello for another version is a refusal"
        );
    }

    #[test]
    fn alert_and_close_are_refusals() {
        let p =
            classify_legacy_answer(LegacyVersion::Tls10, &[0x15, 0x03, 0x01, 0, 2, 2, 70]).unwrap();
        assert!(!p.accepted);
        assert_eq!(p.answer, "fatal alert protocol_version (70)");
        let p = classify_legacy_answer(LegacyVersion::Tls10, &[]).unwrap();
        assert!(!p.accepted);
    }

    #[test]
    fn garbage_and_truncated_answers_are_errors() {
        assert!(classify_legacy_answer(LegacyVersion::Tls10, b"HTTP/1.1 400 Bad").is_err());
        assert!(classify_legacy_answer(LegacyVersion::Tls10, &[0x16, 0x03]).is_err());
        assert!(
            classify_legacy_answer(LegacyVersion::Tls10, &[0x16, 0x03, 0x01, 0, 9, 2]).is_err()
        );
        assert!(
            classify_legacy_answer(LegacyVersion::Tls10, &[0x15, 0x03, 0x01, 0, 2, 2]).is_err()
        );
    }
}
