//! What the running hub enforces, kept in its data directory so `lianxi-hub
//! status` can tell without asking the hub: the CRL (`crl.json`: is it
//! stale?) and the hub's own certificate (`certificate.json`: does it expire
//! soon?). Only dates, a serial and a count: nothing confidential.

use std::path::{Path, PathBuf};

use lianxi_certs::Crl;
use serde::{Deserialize, Serialize};

/// The hub's CRL as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrlState {
    /// `None` when the hub runs with `--no-crl`.
    pub this_update: Option<i64>,
    pub next_update: Option<i64>,
    pub revoked: usize,
    /// When the hub loaded it, seconds.
    pub loaded_at: i64,
}

impl CrlState {
    pub fn of(crl: Option<&Crl>, now: i64) -> CrlState {
        CrlState {
            this_update: crl.map(|c| c.this_update),
            next_update: crl.and_then(|c| c.next_update),
            revoked: crl.map_or(0, Crl::revoked_count),
            loaded_at: now,
        }
    }

    /// Past its next update at `now` (seconds).
    pub fn stale(&self, now: i64) -> bool {
        self.next_update.is_some_and(|t| t < now)
    }

    /// What an operator should hear about it, if anything.
    pub fn warning(&self, now: i64) -> Option<String> {
        if self.this_update.is_none() {
            return Some("the hub runs without a CRL (--no-crl): revoked nodes can connect".into());
        }
        self.stale(now).then(|| {
            "the CRL is past its next update: publish a new one with `lianxi-ca crl`; revocations since may be missing".into()
        })
    }
}

/// The hub's own certificate as `status` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertState {
    pub serial: String,
    pub not_after: i64,
    /// When the hub loaded it, seconds.
    pub loaded_at: i64,
}

impl CertState {
    /// What an operator should hear about it, if anything.
    pub fn warning(&self, now: i64) -> Option<String> {
        lianxi_certs::verify::expires_soon(self.not_after, now).map(|days| {
            if days < 0 {
                "the hub's certificate has expired: nodes refuse to connect; issue a new one \
                 with `lianxi-ca hub` and copy it over hub.crt and hub.key (reloaded without a restart)"
                    .to_string()
            } else {
                format!(
                    "the hub's certificate expires in {days} day(s): issue a new one with \
                     `lianxi-ca hub` and copy it over hub.crt and hub.key (reloaded without a restart)"
                )
            }
        })
    }
}

/// The files `status` reads.
pub trait StateFile: Serialize + serde::de::DeserializeOwned {
    const FILE: &'static str;
}

impl StateFile for CrlState {
    const FILE: &'static str = "crl.json";
}

impl StateFile for CertState {
    const FILE: &'static str = "certificate.json";
}

fn path<T: StateFile>(data: &Path) -> PathBuf {
    data.join(T::FILE)
}

/// Record what the hub now enforces (best effort: a failure is logged).
pub fn record<T: StateFile>(data: &Path, state: &T) {
    let written = serde_json::to_vec_pretty(state)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            lianxi_certs::files::write_atomic(&path::<T>(data), &b, false)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        tracing::warn!(error = %e, file = T::FILE, "cannot record the hub's state for `lianxi-hub status`");
    }
}

/// The state the hub last recorded, if any.
pub fn read<T: StateFile>(data: &Path) -> Option<T> {
    let bytes = std::fs::read(path::<T>(data)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_stale_or_missing_crl_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = CrlState {
            this_update: Some(100),
            next_update: Some(1_000),
            revoked: 2,
            loaded_at: 100,
        };
        record(dir.path(), &fresh);
        assert_eq!(read::<CrlState>(dir.path()), Some(fresh.clone()));
        assert_eq!(fresh.warning(500), None);
        assert!(fresh.warning(1_001).unwrap().contains("lianxi-ca crl"));
        assert!(
            CrlState::of(None, 5)
                .warning(5)
                .unwrap()
                .contains("--no-crl")
        );
    }

    #[test]
    fn a_certificate_near_its_end_is_reported() {
        let day = 86_400;
        let cert = CertState {
            serial: "ab".into(),
            not_after: 100 * day,
            loaded_at: 0,
        };
        assert_eq!(cert.warning(60 * day), None);
        assert!(cert.warning(71 * day).unwrap().contains("in 29 day"));
        assert!(cert.warning(71 * day + 1).unwrap().contains("in 29 day"));
        assert!(cert.warning(71 * day - 1).unwrap().contains("in 30 day"));
        assert!(cert.warning(101 * day).unwrap().contains("has expired"));
        let dir = tempfile::tempdir().unwrap();
        record(dir.path(), &cert);
        assert_eq!(read::<CertState>(dir.path()), Some(cert));
    }
}
