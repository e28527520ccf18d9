//! Read queries, run on blocking threads with pooled read connections.

use std::path::PathBuf;
use std::sync::Mutex;

use lianxi_shared::NodeId;
use rusqlite::{Connection, OptionalExtension, params};

use super::open_conn;
use crate::store::{DeliveryRow, NodeStatus, StoreError};

pub(crate) struct ReadPool {
    pub path: PathBuf,
    pub idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.idle.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open_conn(&self.path, false)?,
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < 8
        {
            idle.push(conn);
        }
        out
    }
}

const FETCH: &str = "SELECT d.seq, e.header, e.sig, e.body, d.wrap FROM deliveries d
     JOIN envelopes e ON e.n = d.envelope
     WHERE d.node_id = ?1 AND d.seq > ?2 ORDER BY d.seq LIMIT ?3";

pub(crate) fn fetch(
    c: &Connection,
    node: &NodeId,
    after: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<DeliveryRow>, StoreError> {
    // Planned once per connection: binding new values would otherwise
    // make SQLite plan it again each time (see `open_conn`'s QPSG).
    let mut st = c.prepare_cached(FETCH)?;
    let rows = st.query_map(params![node.as_str(), after as i64, limit as i64], |r| {
        Ok(DeliveryRow {
            seq: r.get::<_, i64>(0)? as u64,
            header: r.get(1)?,
            sig: r.get(2)?,
            body: r.get(3)?,
            wrap: r.get(4)?,
        })
    })?;
    // Rows are read lazily: stopping early leaves the remaining bodies unread.
    let mut out = Vec::new();
    let mut bytes = 0;
    for r in rows {
        let r = r?;
        bytes += r.body.len() + r.wrap.len();
        out.push(r);
        if bytes >= max_bytes {
            break;
        }
    }
    Ok(out)
}

pub(crate) fn next_release(c: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT min(release_at) FROM held", [], |r| {
        r.get::<_, Option<i64>>(0)
    })
    .optional()?
    .flatten())
}

pub(crate) fn node_certs(c: &Connection) -> Result<Vec<(NodeId, Vec<u8>)>, StoreError> {
    let mut st = c.prepare("SELECT node_id, cert FROM nodes ORDER BY node_id")?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, cert) = row?;
        if let Ok(id) = NodeId::new(id) {
            out.push((id, cert));
        }
    }
    Ok(out)
}

pub(crate) fn status(c: &Connection) -> Result<Vec<NodeStatus>, StoreError> {
    let mut st = c.prepare(
        "SELECT n.node_id, n.first_seen, n.last_seen,
            (SELECT count(*) FROM deliveries d WHERE d.node_id = n.node_id),
            (SELECT count(*) FROM held h WHERE h.node_id = n.node_id)
         FROM nodes n ORDER BY n.node_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(NodeStatus {
            node_id: r.get(0)?,
            first_seen: r.get(1)?,
            last_seen: r.get(2)?,
            queued: r.get(3)?,
            held: r.get(4)?,
            hub: None,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deliveries queued and held, over all nodes.
pub(crate) fn totals(c: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(c.query_row(
        "SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM held)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// The fetch runs for every delivery batch of every session: binding
    /// new values must not make SQLite parse and plan it again.
    #[test]
    fn fetch_is_planned_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let mut w = open_conn(&path, true).unwrap();
        super::super::schema::migrate(&mut w).unwrap();
        let r = open_conn(&path, false).unwrap();
        let node = NodeId::new("n1").unwrap();
        for after in 0..5u64 {
            fetch(&r, &node, after, 10 + after as usize, 1 << 20).unwrap();
        }
        let st = r.prepare_cached(FETCH).unwrap();
        assert_eq!(st.get_status(StatementStatus::RePrepare), 0);
    }
}
