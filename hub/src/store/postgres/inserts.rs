//! A batch's envelopes stored with a handful of statements for all of them,
//! whatever their number: one look for ids already stored, one lock of every
//! quota counter the batch touches, one insert of the envelopes, one update
//! of the counters, one numbering of every recipient's queue, one insert of
//! the deliveries and one of the held rows. Rows are locked in sorted order
//! (quota pairs, then recipients), so two hubs' batches take turns rather
//! than deadlock. Each envelope's outcome is what storing the batch's
//! envelopes one after the other would give.

use std::collections::{BTreeMap, HashMap};

use lianxi_shared::NodeId;
use tokio_postgres::Transaction;

use super::writer::Stmts;
use crate::store::{Inserted, NewEnvelope, StoreError, StoreLimits};

/// Bytes a queued delivery counts against its sender's quota.
pub(super) fn queued_size(e: &NewEnvelope, wrap: &[u8]) -> i64 {
    (e.header.len() + e.body.len() + e.sig.len() + wrap.len()) as i64
}

fn judged(e: &NewEnvelope, stored_digest: &[u8]) -> Result<Inserted, StoreError> {
    if stored_digest == e.digest {
        Ok(Inserted::Duplicate)
    } else {
        Err(StoreError::Replayed(e.id))
    }
}

/// One byte column of the envelopes at `rows`.
fn column<'a>(
    envs: &[(&'a NewEnvelope, i64)],
    rows: &[usize],
    f: fn(&NewEnvelope) -> &[u8],
) -> Vec<&'a [u8]> {
    rows.iter().map(|&i| f(envs[i].0)).collect()
}

/// Store `envs` (each with the hub's time) in order: the outcome of each,
/// or the database error that undoes the batch.
pub(super) async fn insert_all(
    tx: &Transaction<'_>,
    st: &Stmts,
    envs: &[(&NewEnvelope, i64)],
    limits: &StoreLimits,
) -> Result<Vec<Result<Inserted, StoreError>>, tokio_postgres::Error> {
    let mut out: Vec<Option<Result<Inserted, StoreError>>> = envs.iter().map(|_| None).collect();

    // Ids stored before this batch: duplicates or replays.
    let ids: Vec<&[u8]> = envs
        .iter()
        .map(|(e, _)| e.id.as_bytes().as_slice())
        .collect();
    let stored: HashMap<Vec<u8>, Vec<u8>> = tx
        .query(&st.digests, &[&ids])
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // The first of the batch to carry each id; later ones are judged by it.
    let mut first: HashMap<&[u8], usize> = HashMap::new();
    let mut candidates = Vec::new();
    for (i, (e, _)) in envs.iter().enumerate() {
        let id = e.id.as_bytes().as_slice();
        if let Some(d) = stored.get(id) {
            out[i] = Some(judged(e, d));
        } else if first.contains_key(id) {
            // Settled below, once the first is.
        } else {
            first.insert(id, i);
            candidates.push(i);
        }
    }

    // Quotas: every (sender, recipient) counter locked and read at once, in
    // sorted order; then each envelope in turn against the running totals.
    let mut totals: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    for &i in &candidates {
        for (n, _) in &envs[i].0.deliveries {
            totals.insert((envs[i].0.sender.as_str(), n.as_str()), (0, 0));
        }
    }
    let quota = limits.queue_count_per_pair > 0 || limits.queue_bytes_per_pair > 0;
    if quota && !totals.is_empty() {
        let (senders, recipients): (Vec<&str>, Vec<&str>) = totals.keys().copied().unzip();
        let got: HashMap<(String, String), (i64, i64)> = tx
            .query(&st.quota_lock, &[&senders, &recipients])
            .await?
            .into_iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
            .collect();
        for ((s, n), t) in totals.iter_mut() {
            if let Some(v) = got.get(&((*s).to_owned(), (*n).to_owned())) {
                *t = *v;
            }
        }
    }
    let mut accepted = Vec::new();
    for &i in &candidates {
        let e = envs[i].0;
        let over: Vec<NodeId> = e
            .deliveries
            .iter()
            .filter(|(n, wrap)| {
                let (count, bytes) = totals
                    .get(&(e.sender.as_str(), n.as_str()))
                    .copied()
                    .unwrap_or_default();
                (limits.queue_count_per_pair > 0
                    && (count + 1) as u64 > limits.queue_count_per_pair)
                    || (limits.queue_bytes_per_pair > 0
                        && (bytes + queued_size(e, wrap)) as u64 > limits.queue_bytes_per_pair)
            })
            .map(|(n, _)| n.clone())
            .collect();
        if over.is_empty() {
            for (n, wrap) in &e.deliveries {
                if let Some(t) = totals.get_mut(&(e.sender.as_str(), n.as_str())) {
                    t.0 += 1;
                    t.1 += queued_size(e, wrap);
                }
            }
            accepted.push(i);
        } else {
            out[i] = Some(Err(StoreError::QueueFull(over)));
        }
    }

    // Claim the ids: one another hub stored since the first look is judged
    // by its digest, and this batch stores nothing of it.
    let mut stored_now = Vec::new();
    if !accepted.is_empty() {
        let pick = |f: fn(&NewEnvelope) -> &[u8]| column(envs, &accepted, f);
        let id = pick(|e| e.id.as_bytes().as_slice());
        let sender: Vec<&str> = accepted
            .iter()
            .map(|&i| envs[i].0.sender.as_str())
            .collect();
        let digest = pick(|e| e.digest.as_slice());
        let header = pick(|e| e.header.as_slice());
        let sig = pick(|e| e.sig.as_slice());
        let body = pick(|e| e.body.as_slice());
        let created: Vec<i64> = accepted.iter().map(|&i| envs[i].0.created_at).collect();
        let at: Vec<i64> = accepted.iter().map(|&i| envs[i].1).collect();
        let pending: Vec<i32> = accepted
            .iter()
            .map(|&i| envs[i].0.deliveries.len() as i32)
            .collect();
        let claimed: std::collections::HashSet<Vec<u8>> = tx
            .query(
                &st.claim,
                &[
                    &id, &sender, &digest, &header, &sig, &body, &created, &at, &pending,
                ],
            )
            .await?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        let lost: Vec<&[u8]> = id
            .iter()
            .copied()
            .filter(|x| !claimed.contains(*x))
            .collect();
        let theirs: HashMap<Vec<u8>, Vec<u8>> = if lost.is_empty() {
            HashMap::new()
        } else {
            tx.query(&st.digests, &[&lost])
                .await?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect()
        };
        for &i in &accepted {
            let e = envs[i].0;
            match theirs.get(e.id.as_bytes().as_slice()) {
                Some(d) => out[i] = Some(judged(e, d)),
                None => stored_now.push(i),
            }
        }
    }

    // Counters, queue numbers, deliveries and held rows of what was stored.
    let mut adds: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
    let mut per_recipient: BTreeMap<&str, i64> = BTreeMap::new();
    for &i in &stored_now {
        let (e, now) = envs[i];
        let held = e.not_before.is_some_and(|t| t > now);
        for (n, wrap) in &e.deliveries {
            let a = adds.entry((e.sender.as_str(), n.as_str())).or_default();
            a.0 += 1;
            a.1 += queued_size(e, wrap);
            if !held {
                *per_recipient.entry(n.as_str()).or_default() += 1;
            }
        }
    }
    if !adds.is_empty() {
        let (senders, recipients): (Vec<&str>, Vec<&str>) = adds.keys().copied().unzip();
        let counts: Vec<i64> = adds.values().map(|v| v.0).collect();
        let bytes: Vec<i64> = adds.values().map(|v| v.1).collect();
        tx.execute(&st.quota_add, &[&senders, &recipients, &counts, &bytes])
            .await?;
    }
    // Each recipient's next numbers, taken in one go: the rows stay locked
    // to the commit, so numbers follow commit order across hubs.
    let mut next: HashMap<String, i64> = HashMap::new();
    if !per_recipient.is_empty() {
        let nodes: Vec<&str> = per_recipient.keys().copied().collect();
        let counts: Vec<i64> = per_recipient.values().copied().collect();
        for r in tx.query(&st.take_seqs, &[&nodes, &counts]).await? {
            let (n, last): (String, i64) = (r.get(0), r.get(1));
            let c = per_recipient.get(n.as_str()).copied().unwrap_or(0);
            next.insert(n, last - c + 1);
        }
    }
    let (mut d_node, mut d_seq, mut d_env, mut d_wrap) = (vec![], vec![], vec![], vec![]);
    let (mut h_env, mut h_node, mut h_wrap, mut h_at) = (vec![], vec![], vec![], vec![]);
    for &i in &stored_now {
        let (e, now) = envs[i];
        let held = e.not_before.is_some_and(|t| t > now);
        for (n, wrap) in &e.deliveries {
            if held {
                h_env.push(e.id.as_bytes().as_slice());
                h_node.push(n.as_str());
                h_wrap.push(wrap.as_slice());
                h_at.push(e.not_before.unwrap_or(now));
            } else if let Some(seq) = next.get_mut(n.as_str()) {
                d_node.push(n.as_str());
                d_seq.push(*seq);
                d_env.push(e.id.as_bytes().as_slice());
                d_wrap.push(wrap.as_slice());
                *seq += 1;
            }
        }
        out[i] = Some(Ok(Inserted::Stored {
            ready: if held {
                vec![]
            } else {
                e.deliveries.iter().map(|d| d.0.clone()).collect()
            },
            held,
        }));
    }
    if !d_node.is_empty() {
        tx.execute(&st.deliver_all, &[&d_node, &d_seq, &d_env, &d_wrap])
            .await?;
    }
    if !h_env.is_empty() {
        tx.execute(&st.hold_all, &[&h_env, &h_node, &h_wrap, &h_at])
            .await?;
    }

    // Later carriers of an id the batch saw first: as if sent after it.
    for (i, (e, _)) in envs.iter().enumerate() {
        if out[i].is_none() {
            let j = first.get(e.id.as_bytes().as_slice()).copied();
            out[i] = Some(match j.and_then(|j| out[j].as_ref()) {
                Some(Ok(_)) => judged(e, &envs[j.unwrap_or(i)].0.digest),
                Some(Err(StoreError::QueueFull(n))) => Err(StoreError::QueueFull(n.clone())),
                _ => Err(StoreError::Replayed(e.id)),
            });
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.unwrap_or(Err(StoreError::Closed)))
        .collect())
}
