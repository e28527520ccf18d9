//! Deliveries handed to online recipients from memory: the store's writer,
//! which alone knows the order of its commits, gives each committed delivery
//! to the sessions following its recipient, so a session in step with the
//! store never reads it back.
//!
//! The promise a follower keeps: every delivery committed after it began to
//! follow either comes through the channel, in order, or is announced by a
//! [`Pushed::Lagged`] after which the follower reads the store from its
//! cursor. The writer announces it when a follower's budget of unread bytes
//! is spent and when deliveries appear that it did not push (an embargo's
//! end), and pushes nothing more to that follower until the follower clears
//! the flag, which it does before it reads the store. A delivery is pushed
//! only after its commit, so what the writer skipped while the flag was set
//! was committed before the follower cleared it and its read sees it.
//! Deliveries can come twice (pushed, and read after a lag): a follower
//! skips those at or below its cursor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use lianxi_shared::NodeId;
use tokio::sync::mpsc;

use super::DeliveryRow;

/// What a follower is given.
#[derive(Debug)]
pub enum Pushed {
    /// A delivery committed for the node, in commit order.
    Row(DeliveryRow),
    /// Deliveries were committed that did not come (or will not): read the
    /// store from the cursor before using what comes next.
    Lagged,
}

/// The state a follower and the writer share.
#[derive(Debug)]
struct Shared {
    /// Bytes pushed and not yet taken.
    unread: AtomicUsize,
    /// Set by the writer when it stops pushing; cleared by the follower.
    lagged: AtomicBool,
    budget: usize,
}

/// The writer's side: who follows which node.
#[derive(Debug, Default)]
pub struct Followers {
    next: AtomicU64,
    by_node: Mutex<HashMap<NodeId, Vec<Subscriber>>>,
}

#[derive(Debug)]
struct Subscriber {
    id: u64,
    tx: mpsc::UnboundedSender<Pushed>,
    shared: Arc<Shared>,
}

impl Followers {
    /// Follow `node`'s deliveries, with at most `budget` bytes pushed and
    /// not yet taken. Follow before the first read of the store.
    pub fn follow(self: &Arc<Self>, node: &NodeId, budget: usize) -> Follow {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            unread: AtomicUsize::new(0),
            lagged: AtomicBool::new(false),
            budget: budget.max(1),
        });
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut m) = self.by_node.lock() {
            m.entry(node.clone()).or_default().push(Subscriber {
                id,
                tx,
                shared: shared.clone(),
            });
        }
        Follow {
            rx,
            shared,
            node: node.clone(),
            id,
            followers: Arc::downgrade(self),
        }
    }

    /// Whether anyone follows `node` (to build a row only when it will be used).
    pub fn follows(&self, node: &NodeId) -> bool {
        self.by_node.lock().is_ok_and(|m| m.contains_key(node))
    }

    /// Give a committed delivery to `node`'s followers. Called by the writer
    /// after the commit, in commit order.
    pub fn push(&self, node: &NodeId, row: DeliveryRow) {
        let Ok(m) = self.by_node.lock() else { return };
        let Some(subs) = m.get(node) else { return };
        let size = row.size();
        let mut row = Some(row);
        for (i, s) in subs.iter().enumerate() {
            if s.shared.lagged.load(Ordering::SeqCst) {
                continue;
            }
            if s.shared.unread.load(Ordering::SeqCst) + size > s.shared.budget {
                s.lag();
                continue;
            }
            let r = if i + 1 == subs.len() {
                row.take()
            } else {
                row.clone()
            };
            if let Some(r) = r {
                s.shared.unread.fetch_add(size, Ordering::SeqCst);
                let _ = s.tx.send(Pushed::Row(r));
            }
        }
    }

    /// Deliveries were committed for `node` that are not pushed (an
    /// embargo ended): its followers read the store.
    pub fn lag(&self, node: &NodeId) {
        let Ok(m) = self.by_node.lock() else { return };
        for s in m.get(node).into_iter().flatten() {
            s.lag();
        }
    }

    fn remove(&self, node: &NodeId, id: u64) {
        if let Ok(mut m) = self.by_node.lock()
            && let Some(subs) = m.get_mut(node)
        {
            subs.retain(|s| s.id != id);
            if subs.is_empty() {
                m.remove(node);
            }
        }
    }
}

impl Subscriber {
    fn lag(&self) {
        if !self.shared.lagged.swap(true, Ordering::SeqCst) {
            let _ = self.tx.send(Pushed::Lagged);
        }
    }
}

/// A session's side: what the writer pushes for its node. Dropping it stops
/// the pushes.
#[derive(Debug)]
pub struct Follow {
    rx: mpsc::UnboundedReceiver<Pushed>,
    shared: Arc<Shared>,
    node: NodeId,
    id: u64,
    followers: std::sync::Weak<Followers>,
}

impl Follow {
    /// The next push; `None` when the store is gone.
    pub async fn recv(&mut self) -> Option<Pushed> {
        let p = self.rx.recv().await;
        self.taken(p.as_ref());
        p
    }

    /// The next push if one is waiting.
    pub fn try_recv(&mut self) -> Option<Pushed> {
        let p = self.rx.try_recv().ok();
        self.taken(p.as_ref());
        p
    }

    fn taken(&self, p: Option<&Pushed>) {
        match p {
            Some(Pushed::Row(r)) => {
                self.shared.unread.fetch_sub(r.size(), Ordering::SeqCst);
            }
            // Cleared before the store is read: what the writer skips from
            // now on is pushed again, what it skipped before is in the read.
            Some(Pushed::Lagged) => self.shared.lagged.store(false, Ordering::SeqCst),
            None => {}
        }
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        if let Some(f) = self.followers.upgrade() {
            f.remove(&self.node, self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(seq: u64, body: usize) -> DeliveryRow {
        DeliveryRow {
            seq,
            header: vec![0; 10],
            sig: vec![0; 64],
            body: vec![0; body],
            wrap: vec![0; 26],
        }
    }

    fn seq_of(p: Option<Pushed>) -> Option<u64> {
        match p {
            Some(Pushed::Row(r)) => Some(r.seq),
            _ => None,
        }
    }

    #[tokio::test]
    async fn pushes_in_order_to_every_follower_of_the_node() {
        let f = Arc::new(Followers::default());
        let (a, b) = (NodeId::new("a").unwrap(), NodeId::new("b").unwrap());
        let mut fa1 = f.follow(&a, 1 << 20);
        let mut fa2 = f.follow(&a, 1 << 20);
        let mut fb = f.follow(&b, 1 << 20);
        f.push(&a, row(1, 100));
        f.push(&a, row(2, 100));
        for fa in [&mut fa1, &mut fa2] {
            assert_eq!(seq_of(fa.recv().await), Some(1));
            assert_eq!(seq_of(fa.recv().await), Some(2));
        }
        assert!(fb.try_recv().is_none(), "nothing for b");
        assert!(f.follows(&a));
        drop((fa1, fa2));
        assert!(!f.follows(&a), "a dropped follower is forgotten");
    }

    #[tokio::test]
    async fn over_budget_says_lagged_once_and_resumes_when_cleared() {
        let f = Arc::new(Followers::default());
        let a = NodeId::new("a").unwrap();
        let one = 10 + 64 + 100 + 26;
        let mut fa = f.follow(&a, 2 * one);
        for seq in 1..=5 {
            f.push(&a, row(seq, 100));
        }
        assert_eq!(seq_of(fa.try_recv()), Some(1));
        assert_eq!(seq_of(fa.try_recv()), Some(2));
        assert!(matches!(fa.try_recv(), Some(Pushed::Lagged)));
        assert!(fa.try_recv().is_none(), "one Lagged, no rows after it");
        f.push(&a, row(6, 100));
        assert_eq!(seq_of(fa.try_recv()), Some(6), "pushed again once cleared");
    }

    #[tokio::test]
    async fn lag_is_said_once_until_taken() {
        let f = Arc::new(Followers::default());
        let a = NodeId::new("a").unwrap();
        let mut fa = f.follow(&a, 1 << 20);
        f.lag(&a);
        f.lag(&a);
        f.push(&a, row(1, 1));
        assert!(matches!(fa.try_recv(), Some(Pushed::Lagged)));
        assert!(fa.try_recv().is_none(), "nothing pushed while lagged");
    }
}
