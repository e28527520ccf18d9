//! Mutual TLS with the hub: the node's certificate, the federation CA and
//! the newest CRL; and what a failed handshake means, from rustls's alerts.

use std::sync::Arc;
use std::time::Duration;

use lianxi_shared::{ALPN, ErrorCode, ProtoError};

use super::{TlsSetup, unreachable};
use crate::Result;

pub(super) fn client_config(tls: &TlsSetup) -> Result<quinn::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(tls.ca.clone())
        .map_err(|e| ProtoError::new(ErrorCode::BadCertificate, format!("CA certificate: {e}")))?;
    let mut verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    if let Some(crl) = &tls.crl {
        verifier = verifier.with_crls([crl.clone()]);
    }
    let verifier = verifier
        .build()
        .map_err(|e| ProtoError::new(ErrorCode::BadCertificate, format!("CA or CRL: {e}")))?;
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(vec![tls.cert.clone()], tls.key.clone_key())
        .map_err(|e| {
            ProtoError::new(ErrorCode::BadCertificate, format!("node certificate: {e}"))
        })?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(cfg)
        .map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))?;
    let mut qc = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(10)));
    transport.max_idle_timeout(Some(
        Duration::from_secs(40)
            .try_into()
            .map_err(|_| ProtoError::code(ErrorCode::Internal))?,
    ));
    qc.transport_config(Arc::new(transport));
    Ok(qc)
}

/// The TLS alert behind a failed connection, ours or the hub's: QUIC carries
/// it as a "crypto" transport error code (0x100 + the alert).
fn tls_alert(e: &quinn::ConnectionError) -> Option<rustls::AlertDescription> {
    let code = match e {
        quinn::ConnectionError::TransportError(t) => t.code,
        quinn::ConnectionError::ConnectionClosed(c) => c.error_code,
        _ => return None,
    };
    let raw = u64::from(code);
    (0x100..0x200)
        .contains(&raw)
        .then(|| rustls::AlertDescription::from((raw - 0x100) as u8))
}

pub(super) fn map_connect_error(addr: &str, e: quinn::ConnectionError) -> ProtoError {
    use rustls::AlertDescription as A;
    let text = e.to_string();
    match (tls_alert(&e), &e) {
        (Some(A::CertificateRevoked), _) => ProtoError::new(
            ErrorCode::Revoked,
            format!(
                "the hub at {addr} presents a revoked certificate (per the newest CRL this node has seen), or refuses this node's: {text}"
            ),
        ),
        (
            Some(
                A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::CertificateRequired
                | A::UnknownCA
                | A::DecryptError,
            ),
            _,
        ) => ProtoError::new(
            ErrorCode::UntrustedCertificate,
            format!("TLS with {addr} failed: {text}"),
        ),
        (_, quinn::ConnectionError::ApplicationClosed(c)) => closed_by_hub(c),
        _ => unreachable(format!("cannot connect to {addr}: {text}")),
    }
}

/// The hub closed the connection; its reason is `code` or `code: words`. A
/// transient code it names (`unavailable` while its database is down) is
/// kept, so the message stays queued with that reason; anything else is
/// `hub_unreachable`. The reason is the hub's text: bounded, no controls.
pub(super) fn closed_by_hub(c: &quinn::ApplicationClose) -> ProtoError {
    let reason: String = String::from_utf8_lossy(&c.reason)
        .chars()
        .filter(|ch| !ch.is_control())
        .take(200)
        .collect();
    let named = reason.split(':').next().map(str::trim);
    let code = ErrorCode::ALL
        .iter()
        .copied()
        .find(|k| Some(k.as_str()) == named)
        .filter(|k| crate::node::is_transient(*k))
        .unwrap_or(ErrorCode::HubUnreachable);
    ProtoError::new(code, format!("the hub closed the connection: {reason}"))
}
