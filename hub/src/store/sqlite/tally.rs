//! What the writer keeps in memory instead of reading and rewriting rows on
//! every operation: each (sender, recipient) queue's size for the quota, and
//! the last delivery number handed out.
//!
//! Rebuilt from the tables when the writer starts, so the tables stay the
//! truth. Every change is journalled until its transaction commits: a batch
//! (or, when a batch is replayed with savepoints, one operation) that is
//! rolled back takes its changes back with it.

use std::collections::HashMap;

use lianxi_shared::NodeId;
use rusqlite::Connection;

use crate::store::StoreError;

/// One sender's queue to one recipient: delivered or held, not acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Queued {
    pub count: i64,
    pub bytes: i64,
}

type Pair = (NodeId, NodeId);

enum Undo {
    Seq(i64),
    Pair(Pair, Option<Queued>),
}

pub(super) struct Tally {
    last_seq: i64,
    /// `last_seq` as the database has it (written with each batch that moved it).
    saved_seq: i64,
    pairs: HashMap<Pair, Queued>,
    journal: Vec<Undo>,
}

impl Tally {
    /// Read the queues and the last delivery number from the tables.
    pub fn load(c: &Connection) -> Result<Tally, StoreError> {
        let last_seq: i64 = c.query_row(
            "SELECT value FROM counters WHERE name = 'last_seq'",
            [],
            |r| r.get(0),
        )?;
        let mut st = c.prepare(
            "SELECT e.sender, q.node_id, count(*),
                    sum(length(e.header) + length(e.body) + 64 + length(q.wrap))
             FROM (SELECT node_id, envelope, wrap FROM deliveries
                   UNION ALL SELECT node_id, envelope, wrap FROM held) q
             JOIN envelopes e ON e.n = q.envelope
             GROUP BY e.sender, q.node_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                Queued {
                    count: r.get(2)?,
                    bytes: r.get(3)?,
                },
            ))
        })?;
        let mut pairs = HashMap::new();
        for row in rows {
            let (sender, recipient, q) = row?;
            // Names were checked when stored; one that no longer parses
            // cannot send or collect, so it has no quota to keep.
            if let (Ok(s), Ok(r)) = (NodeId::new(sender), NodeId::new(recipient)) {
                pairs.insert((s, r), q);
            }
        }
        Ok(Tally {
            last_seq,
            saved_seq: last_seq,
            pairs,
            journal: Vec::new(),
        })
    }

    pub fn queued(&self, sender: &NodeId, recipient: &NodeId) -> Queued {
        // A lookup by borrowed pair would need an owned key; the clone is two
        // short strings, cheaper than the row read it replaces.
        self.pairs
            .get(&(sender.clone(), recipient.clone()))
            .copied()
            .unwrap_or_default()
    }

    /// Change a queue by `count` deliveries and `bytes` (negative to drain).
    pub fn add(&mut self, sender: &NodeId, recipient: &NodeId, count: i64, bytes: i64) {
        let key = (sender.clone(), recipient.clone());
        let old = self.pairs.get(&key).copied();
        let mut q = old.unwrap_or_default();
        q.count += count;
        q.bytes += bytes;
        if q.count <= 0 {
            self.pairs.remove(&key);
        } else {
            self.pairs.insert(key.clone(), q);
        }
        self.journal.push(Undo::Pair(key, old));
    }

    /// The next delivery number (never one handed out before, even if its
    /// delivery is gone: a node may still acknowledge an old number).
    pub fn next_seq(&mut self) -> i64 {
        self.take_seqs(1) + 1
    }

    /// Reserve `n` numbers; returns the one before the first.
    pub fn take_seqs(&mut self, n: i64) -> i64 {
        let before = self.last_seq;
        self.journal.push(Undo::Seq(before));
        self.last_seq += n;
        before
    }

    /// Where the journal stands: [`Tally::undo_to`] takes back what follows.
    pub fn mark(&self) -> usize {
        self.journal.len()
    }

    pub fn undo_to(&mut self, mark: usize) {
        while self.journal.len() > mark {
            match self.journal.pop() {
                Some(Undo::Seq(s)) => self.last_seq = s,
                Some(Undo::Pair(key, Some(q))) => {
                    self.pairs.insert(key, q);
                }
                Some(Undo::Pair(key, None)) => {
                    self.pairs.remove(&key);
                }
                None => break,
            }
        }
    }

    /// Write the last delivery number into the transaction, if it moved.
    pub fn save(&self, c: &Connection) -> Result<(), rusqlite::Error> {
        if self.last_seq != self.saved_seq {
            c.prepare_cached("UPDATE counters SET value = ?1 WHERE name = 'last_seq'")?
                .execute([self.last_seq])?;
        }
        Ok(())
    }

    /// The transaction committed: its changes stand.
    pub fn committed(&mut self) {
        self.saved_seq = self.last_seq;
        self.journal.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Tally {
        Tally {
            last_seq: 7,
            saved_seq: 7,
            pairs: HashMap::new(),
            journal: Vec::new(),
        }
    }

    #[test]
    fn undo_takes_back_exactly_what_followed_the_mark() {
        let (a, b) = (NodeId::new("a").unwrap(), NodeId::new("b").unwrap());
        let mut t = empty();
        t.add(&a, &b, 1, 100);
        assert_eq!(t.next_seq(), 8);
        t.committed();
        let mark = t.mark();
        t.add(&a, &b, 2, 50);
        t.add(&a, &b, -3, -150);
        assert_eq!(t.queued(&a, &b), Queued::default());
        assert_eq!(t.take_seqs(5), 8);
        t.undo_to(mark);
        assert_eq!(
            t.queued(&a, &b),
            Queued {
                count: 1,
                bytes: 100
            }
        );
        assert_eq!(t.next_seq(), 9);
    }
}
