//! What CRL the running hub enforces, kept in its data directory
//! (`crl.json`) so `lianxi-hub status` can say when it is stale without
//! asking the hub. Only dates and a count: nothing confidential.

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

fn path(data: &Path) -> PathBuf {
    data.join("crl.json")
}

/// Record the CRL the hub now enforces (best effort: a failure is logged).
pub fn record(data: &Path, state: &CrlState) {
    let written = serde_json::to_vec_pretty(state)
        .map_err(|e| e.to_string())
        .and_then(|b| {
            lianxi_certs::files::write_atomic(&path(data), &b, false).map_err(|e| e.to_string())
        });
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot record the CRL state for `lianxi-hub status`");
    }
}

/// The CRL state the hub last recorded, if any.
pub fn read(data: &Path) -> Option<CrlState> {
    let bytes = std::fs::read(path(data)).ok()?;
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
        assert_eq!(read(dir.path()), Some(fresh.clone()));
        assert_eq!(fresh.warning(500), None);
        assert!(fresh.warning(1_001).unwrap().contains("lianxi-ca crl"));
        assert!(
            CrlState::of(None, 5)
                .warning(5)
                .unwrap()
                .contains("--no-crl")
        );
    }
}
