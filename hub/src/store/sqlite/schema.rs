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
    // 3: for the writer's speed. Replays are recognised by `seen` (id and
    //    digest), so an envelope's row goes at its last acknowledgement
    //    instead of being rewritten, and envelopes are keyed by a number
    //    (one tree, appended to) that deliveries and held rows refer to;
    //    deliveries keyed by (node, seq) in one tree, numbered by the writer
    //    from `counters` (never reused); the per-pair quotas are counted in
    //    the writer's memory, rebuilt at start. Each envelope keeps its old
    //    rowid as its number. A number may be given again once the newest
    //    envelope is gone: nothing refers to an envelope after its last
    //    delivery or held row (its `pending` count) is gone.
    "CREATE TABLE seen(
        id BLOB PRIMARY KEY,
        digest BLOB NOT NULL,
        stored_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO seen(id, digest, stored_at) SELECT id, digest, stored_at FROM envelopes;
    CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO counters(name, value) SELECT 'last_seq', max(
        coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'), 0),
        coalesce((SELECT max(seq) FROM deliveries), 0));
    CREATE TABLE stored(
        n INTEGER PRIMARY KEY,
        sender TEXT NOT NULL,
        header BLOB NOT NULL,
        sig BLOB NOT NULL,
        body BLOB NOT NULL,
        pending INTEGER NOT NULL
    );
    INSERT INTO stored(n, sender, header, sig, body, pending)
        SELECT rowid, sender, header, sig, body, pending FROM envelopes
        WHERE pending > 0 AND header IS NOT NULL AND sig IS NOT NULL AND body IS NOT NULL;
    CREATE TABLE queue(
        node_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        envelope INTEGER NOT NULL,
        wrap BLOB NOT NULL,
        PRIMARY KEY(node_id, seq)
    ) WITHOUT ROWID;
    INSERT INTO queue(node_id, seq, envelope, wrap)
        SELECT d.node_id, d.seq, e.rowid, d.wrap
        FROM deliveries d JOIN envelopes e ON e.id = d.envelope_id;
    CREATE TABLE embargoed(
        envelope INTEGER NOT NULL,
        node_id TEXT NOT NULL,
        wrap BLOB NOT NULL,
        release_at INTEGER NOT NULL,
        PRIMARY KEY(envelope, node_id)
    ) WITHOUT ROWID;
    INSERT INTO embargoed(envelope, node_id, wrap, release_at)
        SELECT e.rowid, h.node_id, h.wrap, h.release_at
        FROM held h JOIN envelopes e ON e.id = h.envelope_id;
    DROP TABLE deliveries;
    DROP TABLE held;
    DROP TABLE envelopes;
    DROP TABLE queued;
    ALTER TABLE stored RENAME TO envelopes;
    ALTER TABLE queue RENAME TO deliveries;
    ALTER TABLE embargoed RENAME TO held;
    CREATE INDEX held_by_release ON held(release_at);",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-2 file with queued, held and acknowledged envelopes keeps
    /// every delivery, its numbers and its replay protection.
    #[test]
    fn version_three_keeps_what_version_two_stored() {
        let mut c = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..2] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 2).unwrap();
        c.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        c.execute_batch(
            "INSERT INTO envelopes VALUES (x'01', 'a', x'aa', x'00', x'00', x'0000', 1, 1, 1);
             INSERT INTO envelopes VALUES (x'02', 'a', x'bb', NULL, NULL, NULL, 1, 1, 0);
             INSERT INTO envelopes VALUES (x'03', 'b', x'cc', x'00', x'00', x'00', 1, 1, 1);
             INSERT INTO deliveries(seq, node_id, envelope_id, wrap) VALUES (5, 'b', x'01', x'ff');
             INSERT INTO deliveries(seq, node_id, envelope_id, wrap) VALUES (9, 'x', x'02', x'ff');
             DELETE FROM deliveries WHERE seq = 9;
             INSERT INTO held VALUES (x'03', 'a', x'ffff', 100);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        let seen: i64 = c
            .query_row("SELECT count(*) FROM seen", [], |r| r.get(0))
            .unwrap();
        let kept: i64 = c
            .query_row("SELECT count(*) FROM envelopes", [], |r| r.get(0))
            .unwrap();
        let last: i64 = c
            .query_row(
                "SELECT value FROM counters WHERE name = 'last_seq'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let delivery: (String, i64, Vec<u8>) = c
            .query_row(
                "SELECT d.node_id, d.seq, e.body FROM deliveries d
                 JOIN envelopes e ON e.n = d.envelope",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let held: (String, String, i64) = c
            .query_row(
                "SELECT e.sender, h.node_id, h.release_at FROM held h
                 JOIN envelopes e ON e.n = h.envelope",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((seen, kept, last), (3, 2, 9));
        assert_eq!(delivery, ("b".to_string(), 5, vec![0, 0]));
        assert_eq!(held, ("b".to_string(), "a".to_string(), 100));
        assert_eq!(
            c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            3
        );
    }
}
