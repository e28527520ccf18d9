//! The hub's SQLite schema and its migrations, keyed on `PRAGMA user_version`.

use rusqlite::Connection;

use super::StoreError;

/// `PRAGMA application_id` of a hub database: "LXHB".
pub const APPLICATION_ID: i64 = 0x4C58_4842;

const MIGRATIONS: &[&str] = &[
    // 1: nodes, envelopes stored once, per-recipient deliveries and held (embargoed) rows.
    "CREATE TABLE nodes(
        node_id TEXT PRIMARY KEY,
        cert BLOB NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    );
    CREATE TABLE envelopes(
        id BLOB PRIMARY KEY,
        sender TEXT NOT NULL,
        digest BLOB NOT NULL,
        header BLOB,
        sig BLOB,
        body BLOB,
        created_at INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        pending INTEGER NOT NULL
    );
    CREATE TABLE deliveries(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        node_id TEXT NOT NULL,
        envelope_id BLOB NOT NULL,
        wrap BLOB NOT NULL
    );
    CREATE INDEX deliveries_by_node ON deliveries(node_id, seq);
    CREATE TABLE held(
        envelope_id BLOB NOT NULL,
        node_id TEXT NOT NULL,
        wrap BLOB NOT NULL,
        release_at INTEGER NOT NULL,
        PRIMARY KEY(envelope_id, node_id)
    );
    CREATE INDEX held_by_release ON held(release_at);",
    // 2: what each sender has queued (delivered or held, not yet acknowledged)
    //    for each recipient, for the per-pair queue quota.
    "CREATE TABLE queued(
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        count INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY(sender, recipient)
    ) WITHOUT ROWID;
    INSERT INTO queued(sender, recipient, count, bytes)
    SELECT e.sender, q.node_id, count(*),
           sum(length(e.header) + length(e.body) + 64 + length(q.wrap))
    FROM (SELECT node_id, envelope_id, wrap FROM deliveries
          UNION ALL SELECT node_id, envelope_id, wrap FROM held) q
    JOIN envelopes e ON e.id = q.envelope_id
    GROUP BY e.sender, q.node_id;",
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Refuse a file that is not a hub database or is from a newer hub. Runs before
/// anything writes to the file. Returns the schema version.
pub fn check(conn: &Connection) -> Result<i64, StoreError> {
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if app != APPLICATION_ID && (app != 0 || version != 0 || tables != 0) {
        return Err(StoreError::Foreign(format!(
            "application_id {app:#x}, user_version {version}, {tables} schema objects"
        )));
    }
    if version > latest() {
        return Err(StoreError::Newer {
            found: version,
            supported: latest(),
        });
    }
    Ok(version)
}

/// Check the file, then bring its schema up to date.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version = check(conn)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.commit()?;
    }
    Ok(())
}
