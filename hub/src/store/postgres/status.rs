//! `lianxi-hub status --database URL`: the cluster's nodes and queues, read
//! from the shared database without starting a hub or changing the schema.

use tokio_postgres::NoTls;

use super::{pg_config, pg_err, schema};
use crate::store::{NodeStatus, StoreError};

/// Every node the cluster has seen, with its queue and the hub serving it.
pub async fn status(url: &str) -> Result<Vec<NodeStatus>, StoreError> {
    let (c, conn) = pg_config(url)?.connect(NoTls).await.map_err(pg_err)?;
    tokio::spawn(conn);
    schema::check_current(&c).await?;
    let rows = c
        .query(
            "SELECT n.node_id, n.first_seen, n.last_seen,
                (SELECT count(*) FROM deliveries d WHERE d.node_id = n.node_id),
                (SELECT count(*) FROM held h WHERE h.node_id = n.node_id),
                (SELECT s.addr FROM sessions s WHERE s.node = n.node_id)
             FROM nodes n ORDER BY n.node_id",
            &[],
        )
        .await
        .map_err(pg_err)?;
    Ok(rows
        .into_iter()
        .map(|r| NodeStatus {
            node_id: r.get(0),
            first_seen: r.get(1),
            last_seen: r.get(2),
            queued: r.get(3),
            held: r.get(4),
            hub: r.get(5),
        })
        .collect())
}
