//! The hub's PostgreSQL schema, versioned like the SQLite one: a `lianxi_hub`
//! table names the application and the schema version; a database with other
//! tables and no such mark, or a newer version, is refused untouched.

use tokio_postgres::Client;

use super::pg_err;
use crate::store::StoreError;

/// What marks a hub database.
pub const APPLICATION: &str = "lianxi-hub";

const MIGRATIONS: &[&str] = &[
    // 1: nodes; envelopes stored once; per-recipient deliveries numbered in
    //    commit order (`next_seq`, whose row lock is held to the commit);
    //    held (embargoed) rows; per sender-recipient queue counters.
    "CREATE TABLE nodes(
        node_id TEXT PRIMARY KEY,
        cert BYTEA NOT NULL,
        first_seen BIGINT NOT NULL,
        last_seen BIGINT NOT NULL
    );
    CREATE TABLE envelopes(
        id BYTEA PRIMARY KEY,
        sender TEXT NOT NULL,
        digest BYTEA NOT NULL,
        header BYTEA,
        sig BYTEA,
        body BYTEA,
        created_at BIGINT NOT NULL,
        stored_at BIGINT NOT NULL,
        pending INTEGER NOT NULL
    );
    CREATE TABLE next_seq(
        node_id TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
    );
    CREATE TABLE deliveries(
        node_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        envelope_id BYTEA NOT NULL,
        wrap BYTEA NOT NULL,
        PRIMARY KEY(node_id, seq)
    );
    CREATE TABLE held(
        envelope_id BYTEA NOT NULL,
        node_id TEXT NOT NULL,
        wrap BYTEA NOT NULL,
        release_at BIGINT NOT NULL,
        PRIMARY KEY(envelope_id, node_id)
    );
    CREATE INDEX held_by_time ON held(release_at);
    CREATE TABLE queued(
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        count BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        PRIMARY KEY(sender, recipient)
    );",
    // 2: the newest CRL any hub of the cluster has loaded, so every hub
    //    refuses a revoked node, whichever has the CRL file.
    "CREATE TABLE crl(
        id INTEGER PRIMARY KEY CHECK (id = 1),
        der BYTEA NOT NULL,
        number BIGINT NOT NULL,
        this_update BIGINT NOT NULL
    );",
    // 3: which hub serves each node's session now (the newest claim).
    "CREATE TABLE sessions(
        node TEXT PRIMARY KEY,
        instance TEXT NOT NULL,
        addr TEXT NOT NULL,
        since BIGINT NOT NULL
    );",
    // 4: an acknowledgement tidies its recipient's quota counters.
    "CREATE INDEX queued_by_recipient ON queued(recipient);",
    // 5: what recipients acknowledged, counted apart from what senders
    //    queued: a pair's queue is `queued` minus `collected`, so the hub
    //    storing a send and the hub taking an acknowledgement never wait for
    //    each other's row (they did, commit after commit, and deadlocked).
    "CREATE TABLE collected(
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        count BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        PRIMARY KEY(sender, recipient)
    );",
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Check, without changing anything, that the database is a hub's at the
/// schema this hub knows (for reading it from outside a hub).
pub async fn check_current(c: &Client) -> Result<(), StoreError> {
    let marked: bool = c
        .query_one("SELECT to_regclass('public.lianxi_hub') IS NOT NULL", &[])
        .await
        .map_err(pg_err)?
        .get(0);
    if !marked {
        return Err(StoreError::Foreign("no lianxi_hub mark".into()));
    }
    let row = c
        .query_one("SELECT application, version FROM lianxi_hub", &[])
        .await
        .map_err(pg_err)?;
    let (app, version): (String, i64) = (row.get(0), row.get(1));
    if app != APPLICATION {
        return Err(StoreError::Foreign(format!("application {app:?}")));
    }
    if version != latest() {
        return Err(StoreError::Newer {
            found: version,
            supported: latest(),
        });
    }
    Ok(())
}

/// Check the mark and bring the schema up to date, each step in its own
/// transaction. Hubs starting at once serialise on an advisory lock.
pub async fn migrate(c: &mut Client) -> Result<(), StoreError> {
    let tx = c.transaction().await.map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock(1280854082)", &[])
        .await
        .map_err(pg_err)?;
    let marked: bool = tx
        .query_one("SELECT to_regclass('public.lianxi_hub') IS NOT NULL", &[])
        .await
        .map_err(pg_err)?
        .get(0);
    let version: i64 = if marked {
        let row = tx
            .query_one("SELECT application, version FROM lianxi_hub", &[])
            .await
            .map_err(pg_err)?;
        let app: String = row.get(0);
        if app != APPLICATION {
            return Err(StoreError::Foreign(format!("application {app:?}")));
        }
        row.get(1)
    } else {
        let tables: i64 = tx
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                &[],
            )
            .await
            .map_err(pg_err)?
            .get(0);
        if tables > 0 {
            return Err(StoreError::Foreign(format!(
                "{tables} table(s) and no lianxi_hub mark"
            )));
        }
        tx.batch_execute(
            "CREATE TABLE lianxi_hub(application TEXT NOT NULL, version BIGINT NOT NULL);",
        )
        .await
        .map_err(pg_err)?;
        tx.execute(
            "INSERT INTO lianxi_hub(application, version) VALUES ($1, 0)",
            &[&APPLICATION],
        )
        .await
        .map_err(pg_err)?;
        0
    };
    if version > latest() {
        return Err(StoreError::Newer {
            found: version,
            supported: latest(),
        });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(m).await.map_err(pg_err)?;
        tx.execute("UPDATE lianxi_hub SET version = $1", &[&(i as i64 + 1)])
            .await
            .map_err(pg_err)?;
    }
    tx.commit().await.map_err(pg_err)
}
