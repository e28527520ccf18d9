//! The archive's schema and migrations, keyed on `PRAGMA user_version`.

use lianxi_shared::{ErrorCode, ProtoError};
use rusqlite::Connection;

use super::db_err;

/// `PRAGMA application_id` of a node archive: "LXND".
pub const APPLICATION_ID: i64 = 0x4C58_4E44;

const MIGRATIONS: &[&str] = &[
    // 1: messages with their original envelopes, the search index, the outbox,
    //    the verified directory cache and small key/value metadata.
    "CREATE TABLE messages(
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        kind TEXT NOT NULL,
        sender TEXT NOT NULL,
        audience TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        payload BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        not_before INTEGER,
        received_at INTEGER NOT NULL,
        read_at INTEGER,
        env_header BLOB NOT NULL,
        env_sig BLOB NOT NULL,
        env_body BLOB NOT NULL,
        wrap BLOB
    );
    CREATE INDEX messages_by_time ON messages(created_at DESC, rowid DESC);
    CREATE INDEX messages_by_kind ON messages(kind, created_at DESC);
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        bi, uni, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0'
    );
    CREATE TABLE outbox(
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        audience TEXT NOT NULL,
        payload BLOB NOT NULL,
        not_before INTEGER,
        sealed BLOB,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        recipients INTEGER,
        sent_at INTEGER
    );
    CREATE INDEX outbox_by_state ON outbox(state, created_at);
    CREATE TABLE directory(
        node_id TEXT PRIMARY KEY,
        cert BLOB NOT NULL,
        info TEXT NOT NULL
    );
    CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB);
    CREATE TABLE rejected(
        rowid INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        env_header BLOB NOT NULL
    );",
    // 2: bulletin metadata, threads (revisions, withdrawal), forwards, attachments
    //    stored by content hash, per-recipient receipts, and control messages.
    "ALTER TABLE messages ADD COLUMN category TEXT;
    ALTER TABLE messages ADD COLUMN issuer TEXT;
    ALTER TABLE messages ADD COLUMN doc_number TEXT;
    ALTER TABLE messages ADD COLUMN effective TEXT;
    ALTER TABLE messages ADD COLUMN region TEXT;
    ALTER TABLE messages ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE messages ADD COLUMN ack_required INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN ack_by INTEGER;
    ALTER TABLE messages ADD COLUMN acked_at INTEGER;
    ALTER TABLE messages ADD COLUMN ack_reply TEXT;
    ALTER TABLE messages ADD COLUMN thread TEXT;
    ALTER TABLE messages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN state TEXT NOT NULL DEFAULT 'current';
    ALTER TABLE messages ADD COLUMN note TEXT;
    ALTER TABLE messages ADD COLUMN via TEXT;
    ALTER TABLE messages ADD COLUMN reminded_at INTEGER;
    UPDATE messages SET thread = id WHERE thread IS NULL;
    CREATE INDEX messages_by_thread ON messages(thread, revision);
    CREATE TABLE blobs(sha256 BLOB PRIMARY KEY, data BLOB NOT NULL);
    CREATE TABLE attachments(
        message_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 BLOB NOT NULL,
        PRIMARY KEY(message_id, idx)
    );
    CREATE TABLE recipients(
        message_id TEXT NOT NULL,
        node_id TEXT NOT NULL,
        delivered_at INTEGER,
        read_at INTEGER,
        acked_at INTEGER,
        reply TEXT,
        reminded_at INTEGER,
        PRIMARY KEY(message_id, node_id)
    );
    CREATE TABLE events(
        id TEXT PRIMARY KEY,
        direction TEXT NOT NULL,
        kind TEXT NOT NULL,
        sender TEXT NOT NULL,
        ref TEXT,
        at INTEGER NOT NULL,
        payload BLOB NOT NULL,
        env_header BLOB NOT NULL,
        env_sig BLOB NOT NULL,
        env_body BLOB NOT NULL
    );
    CREATE INDEX events_by_ref ON events(ref);",
    // 3: rights-defence cases: every case message (with its envelope once sent),
    //    the folded state of each case, and the per-year case number counter.
    "CREATE TABLE case_events(
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        sender TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        env_header BLOB,
        env_sig BLOB,
        env_body BLOB
    );
    CREATE INDEX case_events_by_case ON case_events(case_id, created_at, id);
    CREATE TABLE cases(
        case_id TEXT PRIMARY KEY,
        number TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,
        category TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        state TEXT NOT NULL
    );
    CREATE INDEX cases_by_update ON cases(updated_at DESC);
    CREATE TABLE case_numbers(year INTEGER PRIMARY KEY, last INTEGER NOT NULL);",
    // 4: the joint conference: every conference message (with its envelope once
    //    sent). Its state is folded on read: a few hundred messages a year.
    "CREATE TABLE conf_events(
        id TEXT PRIMARY KEY,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        sender TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        session INTEGER,
        payload BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        env_header BLOB,
        env_sig BLOB,
        env_body BLOB
    );
    CREATE INDEX conf_events_by_time ON conf_events(created_at, id);",
    // 5: a covering index for the per-kind counts the UI shows first (total and
    //    unread): read from the index, not the 100,000-row table.
    "CREATE INDEX messages_counts ON messages(kind, state, not_before, read_at);",
    // 6: the Latin words in the index, so that a prefix query names the words
    //    it means (each an exact term FTS5 walks newest first, stopping at the
    //    limit) instead of merging every matching term's list in full. Filled
    //    from the index's own vocabulary; CJK tokens are left out.
    "CREATE TABLE search_words(word TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE VIRTUAL TABLE temp.fts_vocab USING fts5vocab(main, messages_fts, row);
    INSERT INTO search_words(word)
        SELECT term FROM temp.fts_vocab
        WHERE NOT (unicode(term) BETWEEN 12352 AND 12543   -- kana
                OR unicode(term) BETWEEN 13312 AND 19903   -- CJK extension A
                OR unicode(term) BETWEEN 19968 AND 40959   -- CJK unified ideographs
                OR unicode(term) BETWEEN 44032 AND 55215   -- hangul
                OR unicode(term) BETWEEN 63744 AND 64255   -- CJK compatibility
                OR unicode(term) BETWEEN 131072 AND 195103);
    DROP TABLE temp.fts_vocab;",
    // 7: the key that opens each case message's envelope (the wrap as received,
    //    or the message key itself for one this node sent), so that a share can
    //    carry the case's earlier steps as verifiable originals.
    "ALTER TABLE case_events ADD COLUMN msg_key BLOB;",
    // 8: revisions, withdrawals and reminders that arrived before the bulletin
    //    they refer to, verified, waiting for it (archive/parked.rs).
    "CREATE TABLE parked(
        id TEXT PRIMARY KEY,
        ref TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        env_header BLOB NOT NULL,
        env_sig BLOB NOT NULL,
        env_body BLOB NOT NULL,
        wrap BLOB NOT NULL,
        payload BLOB NOT NULL
    );
    CREATE INDEX parked_by_ref ON parked(ref);",
    // 9: each conference message keeps the standing (tier, roles) of its
    //    sender and of the nodes it names as verified when it was accepted, so
    //    later directory changes never rewrite the conference's history.
    //    Rows from before have none and are judged against the directory.
    "ALTER TABLE conf_events ADD COLUMN standings TEXT;",
    // 10: a forwarded copy never asks its receiver for a receipt (the
    //     original's sender asked its own audience, and refuses anyone else's);
    //     a withdrawal keeps the key that opens it, so a node that forwarded
    //     the thread can forward the withdrawal too.
    //     A revision or withdrawal of a thread this node forwarded waits in
    //     `follow` until its own forwards are queued (kept across a crash).
    "UPDATE messages SET ack_required = 0 WHERE via IS NOT NULL AND direction = 'in';
     ALTER TABLE events ADD COLUMN wrap BLOB;
     CREATE TABLE follow(id TEXT PRIMARY KEY);",
    // 11: drafts (archive/drafts.rs): what a person is typing, saved as they
    //     type; their attachments are kept by content in `blobs`.
    "CREATE TABLE drafts(
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        context TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        fields TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE TABLE draft_files(
        draft TEXT NOT NULL,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 BLOB NOT NULL,
        PRIMARY KEY(draft, idx)
    );",
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Refuse a file that is not a Lianxi archive or is from a newer version. Runs
/// before anything writes to the file. Returns the schema version.
pub fn check(conn: &Connection, path: &std::path::Path) -> Result<i64, ProtoError> {
    let q = |sql: &str| {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map_err(|e| corrupt(path, e))
    };
    let app = q("PRAGMA application_id")?;
    let version = q("PRAGMA user_version")?;
    let objects = q("SELECT count(*) FROM sqlite_schema")?;
    if app != APPLICATION_ID && (app != 0 || version != 0 || objects != 0) {
        return Err(ProtoError::new(
            ErrorCode::ArchiveCorrupt,
            format!(
                "{} is not a Lianxi archive (application_id {app:#x}); refusing to touch it",
                path.display()
            ),
        ));
    }
    if version > latest() {
        return Err(ProtoError::new(
            ErrorCode::ArchiveNewer,
            format!(
                "{} has schema version {version}; this Lianxi understands up to {}: upgrade Lianxi",
                path.display(),
                latest()
            ),
        ));
    }
    Ok(version)
}

pub fn migrate(conn: &mut Connection, path: &std::path::Path) -> Result<(), ProtoError> {
    let version = check(conn, path)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(db_err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

fn corrupt(path: &std::path::Path, e: rusqlite::Error) -> ProtoError {
    ProtoError::new(
        ErrorCode::ArchiveCorrupt,
        format!("{} cannot be read as an archive: {e}", path.display()),
    )
}
