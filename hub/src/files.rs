//! The files an operator replaces while the hub runs: the CRL (applied to new
//! handshakes, the directory and open connections, and shared with the other
//! hubs of a cluster) and the hub's own certificate and key (served to new
//! connections without a restart). A file that does not load keeps the
//! previous one.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use lianxi_certs::Crl;

use crate::server::Shared;
use crate::store::HubStore;
use crate::tls::{self, TlsMaterial};

/// Say so when the CRL's `next_update` has passed: revocations since may be missing.
pub(crate) fn warn_if_stale(crl: &lianxi_certs::Crl) {
    if crl.is_stale(crate::now_ms() / 1000) {
        tracing::warn!(
            next_update = crl.next_update,
            "the CRL is past its next update: publish a new one with `lianxi-ca crl`"
        );
    }
}

pub(crate) fn read_crl(path: &std::path::Path, ca: &[u8]) -> anyhow::Result<(Vec<u8>, Crl)> {
    let bytes = std::fs::read(path).with_context(|| format!("CRL {}", path.display()))?;
    let der = lianxi_certs::pem_or_der(&bytes, "X509 CRL")?;
    let crl = Crl::parse_verified(&der, ca)?;
    Ok((der, crl))
}

/// Say so when the hub's own certificate is within 30 days of its end.
pub(crate) fn warn_if_expiring(c: &crate::state::CertState) {
    if let Some(w) = c.warning(crate::now_ms() / 1000) {
        tracing::warn!(not_after = c.not_after, "{w}");
    }
}

/// Size and modification time: what tells that an operator replaced a file.
fn stamp(p: &std::path::Path) -> Option<(u64, SystemTime)> {
    std::fs::metadata(p)
        .ok()
        .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
}

/// Use a verified CRL: in the TLS configuration (new handshakes), the
/// directory, and the connections of nodes it revokes (closed).
async fn use_crl(
    shared: &Arc<Shared>,
    endpoint: &quinn::Endpoint,
    material: &TlsMaterial,
    der: Vec<u8>,
    crl: Crl,
) -> bool {
    let revoked = crl.len();
    warn_if_stale(&crl);
    match tls::server_config(material, Some(&der), shared.config.limits.idle_timeout_secs) {
        Ok(c) => endpoint.set_server_config(Some(c)),
        Err(e) => {
            tracing::error!(error = %e, "new CRL not applied");
            return false;
        }
    }
    let s = shared.clone();
    let _ = tokio::task::spawn_blocking(move || s.apply_crl(der, crl)).await;
    tracing::info!(revoked, "CRL reloaded");
    true
}

/// The version of the CRL in use (none: lower than any).
fn crl_in_use(shared: &Shared) -> (i64, i64) {
    shared
        .crl_der()
        .and_then(|der| Crl::parse_verified(&der, &shared.ca_der).ok())
        .map_or((i64::MIN, i64::MIN), |c| c.version())
}

/// Watch the CRL, the hub's certificate and its key; apply a changed CRL, and
/// serve a renewed certificate to new connections without a restart (open
/// sessions keep theirs). A file that does not load keeps the previous one.
pub(crate) async fn files_loop(
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    mut material: TlsMaterial,
) {
    let cfg = shared.config.clone();
    let mut crl_seen = cfg.crl.as_deref().and_then(stamp);
    let mut cert_seen = (stamp(&cfg.cert), stamp(&cfg.key));
    // With other hubs on the store: share the CRL this hub has, and take a
    // newer one another hub shared (verified against the CA again).
    if let Some(der) = shared.crl_der() {
        let t = crl_in_use(&shared);
        if let Err(e) = shared.store.publish_crl(der, t).await {
            tracing::warn!(error = %e, "cannot share the CRL with the other hubs");
        }
    }
    let mut bad_shared = None;
    loop {
        tokio::time::sleep(Duration::from_millis(cfg.limits.crl_poll_ms.max(50))).await;
        if let Ok(Some((der, t))) = shared.store.shared_crl().await
            && t > crl_in_use(&shared)
        {
            match Crl::parse_verified(&der, &shared.ca_der) {
                Ok(crl) if crl.version() > crl_in_use(&shared) => {
                    tracing::info!(
                        number = t.0,
                        this_update = t.1,
                        "a newer CRL from another hub"
                    );
                    use_crl(&shared, &endpoint, &material, der, crl).await;
                }
                Ok(_) => {}
                Err(e) if bad_shared != Some(t) => {
                    bad_shared = Some(t);
                    tracing::error!(error = %e, "the shared CRL does not verify; ignored");
                }
                Err(_) => {}
            }
        }
        let cert_now = (stamp(&cfg.cert), stamp(&cfg.key));
        if cert_now != cert_seen {
            cert_seen = cert_now;
            match TlsMaterial::load(&cfg.ca, &cfg.cert, &cfg.key) {
                Ok(m) => match tls::server_config(
                    &m,
                    shared.crl_der().as_deref(),
                    cfg.limits.idle_timeout_secs,
                ) {
                    Ok(server) => {
                        endpoint.set_server_config(Some(server));
                        if let Some(c) = m.cert_state(crate::now_ms() / 1000) {
                            crate::state::record(&cfg.data, &c);
                            shared.cert_not_after.store(c.not_after, Ordering::Relaxed);
                            tracing::info!(serial = %c.serial, not_after = c.not_after, "hub certificate reloaded");
                            warn_if_expiring(&c);
                        }
                        material = m;
                    }
                    Err(e) => {
                        tracing::error!(error = %format!("{e:#}"), "new hub certificate not applied")
                    }
                },
                // Often the moment between copying the certificate and its key.
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "hub certificate or key changed but does not load yet; keeping the previous one")
                }
            }
        }
        let Some(path) = cfg.crl.as_deref() else {
            continue;
        };
        let now = stamp(path);
        if now == crl_seen {
            continue;
        }
        crl_seen = now;
        match read_crl(path, &shared.ca_der) {
            Ok((der, crl)) => {
                let t = crl.version();
                if t < crl_in_use(&shared) {
                    tracing::warn!(
                        number = t.0,
                        "the CRL file is older than the CRL in use (shared by another hub); kept the newer"
                    );
                    continue;
                }
                if use_crl(&shared, &endpoint, &material, der.clone(), crl).await
                    && let Err(e) = shared.store.publish_crl(der, t).await
                {
                    tracing::warn!(error = %e, "cannot share the CRL with the other hubs");
                }
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "CRL file changed but is not valid; keeping the previous one")
            }
        }
    }
}
