//! Bulletin threads in the archive: read a thread's messages as
//! [`ThreadEvent`]s, let `lianxi_shared::thread::fold` decide how each
//! version stands, and write that back. The archive decides nothing here.

use lianxi_shared::thread::{self, Standing, ThreadEvent, ThreadMsg};
use lianxi_shared::{Envelope, MessageId, NodeId, Payload, ProtoError};
use rusqlite::{Connection, params};

use super::db_err;

/// A thread's versions. `+kind`: the thread's index, never the index on
/// `kind` (which SQLite, without statistics, may prefer), which would read
/// every bulletin of the archive for each one received: a catch-up of
/// 100,000 became quadratic (53,000 in 43 minutes in the bench).
const VERSIONS: &str = "SELECT id, sender, created_at, revision FROM messages WHERE thread = ?1 AND +kind = 'bulletin'";

/// Every message of `thread` the archive holds: its bulletins (original and
/// revisions) and its withdrawals.
fn events(tx: &Connection, thread: &str) -> Result<Vec<ThreadEvent>, ProtoError> {
    let mut out = Vec::new();
    let mut versions = tx.prepare_cached(VERSIONS).map_err(db_err)?;
    let rows = versions
        .query_map([thread], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, u32>(3)?,
            ))
        })
        .map_err(db_err)?;
    for row in rows {
        let (id, sender, created_at, revision) = row.map_err(db_err)?;
        let msg = if id == thread && revision == 0 {
            ThreadMsg::Original
        } else {
            ThreadMsg::Revision { revision }
        };
        out.push(ThreadEvent {
            id: id.parse()?,
            sender: NodeId::new(sender)?,
            created_at,
            msg,
            context: (),
        });
    }
    let mut withdrawals = tx
        .prepare_cached(
            "SELECT payload, env_header FROM events WHERE ref = ?1 AND kind = 'withdrawal'",
        )
        .map_err(db_err)?;
    let rows = withdrawals
        .query_map([thread], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(db_err)?;
    for row in rows {
        let (payload, header) = row.map_err(db_err)?;
        let Payload::Withdrawal(w) = Payload::decode_stored(&payload)? else {
            continue;
        };
        let h = Envelope {
            header,
            sig: [0; 64],
            body: Vec::new(),
        }
        .decode_header()?;
        out.push(ThreadEvent {
            id: h.id,
            sender: h.sender,
            created_at: h.created_at,
            msg: ThreadMsg::Withdrawal { reason: w.reason },
            context: (),
        });
    }
    Ok(out)
}

/// Whether `event`, for the thread `thread` whose bulletin `author` sent,
/// may take effect (judged on itself: see `lianxi_shared::thread::check`).
pub(crate) fn check(author: &str, event: &ThreadEvent) -> Result<(), ProtoError> {
    thread::check(&NodeId::new(author)?, event)
}

/// Fold `thread` and store how each version stands. A withdrawn version
/// shows the withdrawal's reason as its note.
pub(crate) fn settle(tx: &Connection, thread: &str) -> Result<(), ProtoError> {
    let original: MessageId = thread.parse()?;
    let (Some(folded), _) = thread::fold(original, &events(tx, thread)?) else {
        return Ok(());
    };
    let mut set = tx
        .prepare_cached("UPDATE messages SET state = ?2 WHERE id = ?1 AND state != ?2")
        .map_err(db_err)?;
    let mut withdraw = tx
        .prepare_cached("UPDATE messages SET state = 'withdrawn', note = ?2 WHERE id = ?1")
        .map_err(db_err)?;
    for v in &folded.versions {
        let id = v.id.to_string();
        match &v.standing {
            Standing::Withdrawn { reason } => withdraw.execute(params![id, reason]),
            s => set.execute(params![id, s.as_str()]),
        }
        .map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// Settling a thread reads that thread's rows, whatever else the archive
    /// holds: the plan goes through the thread's index.
    #[test]
    fn a_threads_versions_are_read_through_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let archive = super::super::Archive::open(&dir.path().join("a.db")).unwrap();
        let plan: Vec<String> = archive
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::VERSIONS))
            .unwrap()
            .query_map([""], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("messages_by_thread")),
            "{plan:?}"
        );
    }
}
