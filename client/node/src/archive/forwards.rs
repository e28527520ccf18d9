//! Forwarding: what forwarding a bulletin passes on (its whole thread, never a
//! withdrawn one), and where a thread's later messages follow the copies this
//! node forwarded (the same audiences), so a forwarded notice never stands
//! after its author corrected or withdrew it.

use lianxi_shared::{Audience, Envelope, ErrorCode, ProtoError};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Archive, db_err};

/// The messages of thread `?1`: its revisions (their `thread`) and its first
/// bulletin (whose id it is). Written so SQLite takes the thread's index and
/// the id's; `COALESCE(thread, id) = ?1` read every message in the archive.
const IN_THREAD: &str = "(thread = ?1 OR (id = ?1 AND thread IS NULL))";

/// A message to pass on: its signed envelope and what opens it for this
/// node (the wrap as received, or a forwarded original's plain key).
pub struct Passable {
    pub id: String,
    pub envelope: Envelope,
    pub wrap: Vec<u8>,
}

fn envelope(header: Vec<u8>, sig: Vec<u8>, body: Vec<u8>) -> Result<Envelope, ProtoError> {
    let sig = <[u8; 64]>::try_from(sig.as_slice()).map_err(|_| {
        ProtoError::new(
            ErrorCode::ArchiveCorrupt,
            "stored signature has the wrong size",
        )
    })?;
    Ok(Envelope { header, sig, body })
}

impl Archive {
    /// What forwarding `id` sends: the thread's first bulletin, then each of
    /// its revisions, oldest first. A withdrawn thread is refused
    /// (`withdrawn`), and so is a bulletin this node sent itself.
    pub fn thread_to_forward(&self, id: &str) -> Result<Vec<Passable>, ProtoError> {
        let id = self.resolve_id(id)?;
        let (thread, direction): (String, String) = self
            .conn
            .query_row(
                "SELECT COALESCE(thread, id), direction FROM messages WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db_err)?;
        if direction != "in" {
            return Err(ProtoError::new(
                ErrorCode::BadRequest,
                "only received bulletins can be forwarded; send your own again instead",
            ));
        }
        let withdrawn: Option<String> = self
            .conn
            .query_row(
                &format!("SELECT COALESCE(note, '') FROM messages WHERE {IN_THREAD} AND state = 'withdrawn' LIMIT 1"),
                [&thread],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        if let Some(reason) = withdrawn {
            return Err(ProtoError::new(
                ErrorCode::Withdrawn,
                format!(
                    "its sender withdrew this bulletin ({reason}); it no longer stands and is not forwarded"
                ),
            ));
        }
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, env_header, env_sig, env_body, wrap FROM messages
                 WHERE {IN_THREAD} AND direction = 'in' AND wrap IS NOT NULL
                 ORDER BY revision, created_at"
            ))
            .map_err(db_err)?;
        let rows = st
            .query_map([&thread], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, h, s, b, wrap) = row.map_err(db_err)?;
            out.push(Passable {
                id,
                envelope: envelope(h, s, b)?,
                wrap,
            });
        }
        Ok(out)
    }

    /// A revision or withdrawal just received (`id`): the audiences this node
    /// forwarded its thread to that have not had it yet, with the message.
    pub fn to_follow(&self, id: &str) -> Result<Option<(Passable, Vec<Audience>)>, ProtoError> {
        // (thread, header, signature, body, wrap)
        type Stored = (String, Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>);
        let msg: Option<Stored> = self
            .conn
            .query_row(
                "SELECT COALESCE(thread, id), env_header, env_sig, env_body, wrap FROM messages
                   WHERE id = ?1 AND direction = 'in'
                 UNION ALL
                 SELECT ref, env_header, env_sig, env_body, wrap FROM events
                   WHERE id = ?1 AND direction = 'in' AND kind = 'withdrawal'
                 LIMIT 1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(db_err)?;
        let Some((thread, h, s, b, Some(wrap))) = msg else {
            return Ok(None);
        };
        // Forwards this node sent of any version of the thread.
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT e.env_header, e.ref FROM events e
                 WHERE e.kind = 'forward' AND e.direction = 'out'
                   AND e.ref IN (SELECT id FROM messages WHERE {IN_THREAD})"
            ))
            .map_err(db_err)?;
        let rows = st
            .query_map([&thread], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db_err)?;
        let mut sent_to = Vec::new();
        let mut already = Vec::new();
        for row in rows {
            let (header, reference) = row.map_err(db_err)?;
            let audience = envelope(header, vec![0; 64], Vec::new())?
                .decode_header()?
                .audience;
            if reference == id {
                already.push(audience);
            } else if !sent_to.contains(&audience) {
                sent_to.push(audience);
            }
        }
        sent_to.retain(|a| !already.contains(a));
        if sent_to.is_empty() {
            return Ok(None);
        }
        let m = Passable {
            id: id.to_owned(),
            envelope: envelope(h, s, b)?,
            wrap,
        };
        Ok(Some((m, sent_to)))
    }

    /// Revisions and withdrawals waiting for their forwards, oldest first.
    pub fn pending_follows(&self) -> Result<Vec<String>, ProtoError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM follow ORDER BY id")
            .map_err(db_err)?;
        let rows = st.query_map([], |r| r.get(0)).map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    /// Its forwards are queued.
    pub fn followed(&self, id: &str) -> Result<(), ProtoError> {
        self.conn
            .execute("DELETE FROM follow WHERE id = ?1", [id])
            .map_err(db_err)?;
        Ok(())
    }
}

/// In the transaction that applies an incoming revision or withdrawal of
/// `thread`: if this node forwarded the thread, the message waits in `follow`.
pub(crate) fn note_follow(tx: &Connection, thread: &str, id: &str) -> Result<(), ProtoError> {
    tx.prepare_cached(&format!(
        "INSERT OR IGNORE INTO follow(id)
         SELECT ?2 WHERE EXISTS (SELECT 1 FROM events e WHERE e.kind = 'forward' AND e.direction = 'out'
           AND e.ref IN (SELECT id FROM messages WHERE {IN_THREAD}))"
    ))
    .map_err(db_err)?
    .execute(params![thread, id])
    .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Each query of a thread reads that thread's rows through the indexes,
    /// whatever else the archive holds (a year of bulletins).
    #[test]
    fn a_threads_messages_are_found_through_the_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(&dir.path().join("a.db")).unwrap();
        let plan = |sql: &str| -> Vec<String> {
            archive
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(["t"], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let p = plan(&format!("SELECT id FROM messages WHERE {IN_THREAD}"));
        assert!(p.iter().any(|l| l.contains("messages_by_thread")), "{p:?}");
        assert!(!p.iter().any(|l| l.starts_with("SCAN messages")), "{p:?}");
        // And it finds what COALESCE did.
        for (id, thread) in [
            ("t", None),
            ("r1", Some("t")),
            ("r2", Some("t")),
            ("u", None),
            ("v", Some("u")),
        ] {
            archive
                .conn
                .execute(
                    "INSERT INTO messages(id, direction, kind, sender, audience, title, body, payload,
                       created_at, received_at, env_header, env_sig, env_body, thread)
                     VALUES (?1, 'in', 'bulletin', 's', 'all', '', '', x'', 0, 0, x'', x'', x'', ?2)",
                    rusqlite::params![id, thread],
                )
                .unwrap();
        }
        let ids = |sql: String| -> Vec<String> {
            let mut st = archive.conn.prepare(&sql).unwrap();
            st.query_map(["t"], |r| r.get(0))
                .unwrap()
                .collect::<Result<Vec<String>, _>>()
                .unwrap()
        };
        let mut new = ids(format!("SELECT id FROM messages WHERE {IN_THREAD}"));
        let mut old = ids("SELECT id FROM messages WHERE COALESCE(thread, id) = ?1".into());
        new.sort();
        old.sort();
        assert_eq!(new, ["r1", "r2", "t"]);
        assert_eq!(new, old);
    }
}
