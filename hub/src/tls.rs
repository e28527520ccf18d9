//! TLS for the hub: rustls (ring provider) with mandatory client certificates
//! chained to the federation CA, checked against the CRL.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub struct TlsMaterial {
    pub ca: CertificateDer<'static>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl TlsMaterial {
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> anyhow::Result<TlsMaterial> {
        let ca = CertificateDer::from_pem_file(ca)
            .with_context(|| format!("CA certificate {}", ca.display()))?;
        let chain = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("hub certificate {}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()?;
        let key_bytes = lianxi_certs::files::read_secret(key)?;
        let key_der = PrivateKeyDer::from_pem_slice(&key_bytes)
            .with_context(|| format!("hub key {}", key.display()))?;
        let leaf = chain
            .first()
            .with_context(|| format!("hub certificate {}: no certificate", cert.display()))?;
        if !lianxi_certs::keys::key_matches_cert(key_der.secret_der(), leaf) {
            anyhow::bail!(
                "hub key {} is not the key of certificate {}",
                key.display(),
                cert.display()
            );
        }
        Ok(TlsMaterial {
            ca,
            chain,
            key: key_der,
        })
    }

    /// The hub certificate's serial and expiry, for `status` and `/metrics`.
    pub fn cert_state(&self, now: i64) -> Option<crate::state::CertState> {
        let (serial, not_after) =
            lianxi_certs::verify::serial_and_expiry(self.chain.first()?).ok()?;
        Some(crate::state::CertState {
            serial,
            not_after,
            loaded_at: now,
        })
    }
}

/// The endpoint configuration, with a stateless-reset key derived from the
/// hub's private key. A restarted hub (after a crash or SIGKILL) therefore
/// answers packets of connections it no longer knows with a valid stateless
/// reset, and clients reconnect at once instead of waiting for their idle
/// timeout. The derivation is one-way: the key reveals nothing of the TLS key.
pub fn endpoint_config(m: &TlsMaterial) -> quinn::EndpointConfig {
    let secret = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, m.key.secret_der());
    let tag = ring::hmac::sign(&secret, b"lianxi/v1/quic-stateless-reset");
    quinn::EndpointConfig::new(Arc::new(ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        tag.as_ref(),
    )))
}

/// Build the QUIC server configuration. `crl` is the current CRL in DER, if any.
pub fn server_config(
    m: &TlsMaterial,
    crl: Option<&[u8]>,
    idle_timeout_secs: u64,
) -> anyhow::Result<quinn::ServerConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(m.ca.clone())?;
    let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    if let Some(crl) = crl {
        verifier = verifier.with_crls([CertificateRevocationListDer::from(crl.to_vec())]);
    }
    let verifier = verifier.build()?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(m.chain.clone(), m.key.clone_key())?;
    tls.alpn_protocols = vec![lianxi_shared::ALPN.to_vec()];
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.max_idle_timeout(Some(
        std::time::Duration::from_secs(idle_timeout_secs).try_into()?,
    ));
    transport.max_concurrent_bidi_streams(4u32.into());
    transport.max_concurrent_uni_streams(0u32.into());
    cfg.transport_config(Arc::new(transport));
    Ok(cfg)
}
