//! The joint conference in the archive: every conference message is kept
//! (with its signed envelope once it has one, and the standings of the nodes
//! it concerns as verified when it was accepted); the conference's state is
//! the fold of them ([`lianxi_shared::conference::fold`]), so neither the
//! order of arrival nor later directory changes alter it.

use lianxi_shared::conference::{
    ConfEvent, ConfMsg, Conference, Entry, Roster, Standings, fold, standings,
};
use lianxi_shared::{Audience, Envelope, ErrorCode, MessageId, NodeId, Payload, ProtoError};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Archive, db_err};

fn corrupt(e: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(ErrorCode::ArchiveCorrupt, format!("conference record: {e}"))
}

fn events(tx: &Connection) -> Result<Vec<ConfEvent>, ProtoError> {
    let mut st = tx
        .prepare_cached("SELECT id, sender, created_at, payload, standings FROM conf_events")
        .map_err(db_err)?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(db_err)?;
    // Rows stored before standings were recorded are judged against the directory.
    let mut legacy: Option<Vec<lianxi_shared::NodeInfo>> = None;
    let mut out = Vec::new();
    for row in rows {
        let (id, sender, created_at, payload, recorded) = row.map_err(db_err)?;
        let Payload::Conference(msg) = Payload::decode_stored(&payload)? else {
            return Err(corrupt(format!("{id} is not a conference message")));
        };
        let sender = NodeId::new(&sender)?;
        let standings: Standings = match recorded {
            Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
            None => {
                if legacy.is_none() {
                    legacy = Some(super::read_directory(tx)?);
                }
                standings(legacy.as_deref().unwrap_or_default(), &sender, &msg)
            }
        };
        out.push(ConfEvent {
            id: id.parse()?,
            sender,
            created_at,
            msg,
            context: standings,
        });
    }
    Ok(out)
}

/// The standings of `sender` and of the nodes `msg` names, from the verified
/// directory as it is now: recorded with the message when it is accepted.
fn standings_now(tx: &Connection, sender: &NodeId, msg: &ConfMsg) -> Result<String, ProtoError> {
    let s = standings(&super::read_directory(tx)?, sender, msg);
    serde_json::to_string(&s).map_err(|e| ProtoError::new(ErrorCode::Internal, e.to_string()))
}

#[allow(clippy::too_many_arguments)]
fn insert(
    tx: &Connection,
    direction: super::Direction,
    id: &MessageId,
    sender: &NodeId,
    created_at: i64,
    msg: &ConfMsg,
    payload: &[u8],
    envelope: Option<&Envelope>,
    at: i64,
) -> Result<(), ProtoError> {
    let standings = standings_now(tx, sender, msg)?;
    tx.prepare_cached(
        "INSERT INTO conf_events(id, direction, sender, created_at, kind, session, payload, received_at, env_header, env_sig, env_body, standings)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .map_err(db_err)?
    .execute(params![
        id.to_string(),
        direction,
        sender.as_str(),
        created_at,
        msg.kind(),
        msg.session(),
        payload,
        at,
        envelope.map(|e| e.header.clone()),
        envelope.map(|e| e.sig.to_vec()),
        envelope.map(|e| e.body.clone()),
        standings,
    ])
    .map_err(db_err)?;
    Ok(())
}

/// A conference message, sent or received: store it, or (for one this node
/// queued) attach its envelope now that it is sent. Returns whether it was new.
pub(crate) fn apply_conf(
    tx: &Connection,
    direction: super::Direction,
    header: &lianxi_shared::Header,
    msg: &ConfMsg,
    payload: &[u8],
    envelope: &Envelope,
    at: i64,
) -> Result<bool, ProtoError> {
    let id = header.id.to_string();
    let known: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM conf_events WHERE id = ?1")
        .map_err(db_err)?
        .query_row([&id], |r| r.get(0))
        .optional()
        .map_err(db_err)?;
    if known.is_some() {
        tx.prepare_cached(
            "UPDATE conf_events SET env_header = ?2, env_sig = ?3, env_body = ?4 WHERE id = ?1 AND env_header IS NULL",
        )
        .map_err(db_err)?
        .execute(params![id, envelope.header, envelope.sig.as_slice(), envelope.body])
        .map_err(db_err)?;
        return Ok(false);
    }
    insert(
        tx,
        direction,
        &header.id,
        &header.sender,
        header.created_at,
        msg,
        payload,
        Some(envelope),
        at,
    )?;
    Ok(true)
}

impl Archive {
    /// The roster from the cached verified directory.
    pub fn roster(&self) -> Result<Roster, ProtoError> {
        Ok(Roster::from_directory(&self.directory()?))
    }

    /// The conference as this node holds it, and its log.
    pub fn conference(&self) -> Result<(Conference, Vec<Entry>), ProtoError> {
        Ok(fold(self.roster()?, &events(&self.conn)?))
    }

    /// Check a conference message against the conference as this node holds it,
    /// then, in one transaction, log it and queue it to `to` (minus this node).
    /// A refused message touches nothing.
    pub fn queue_conf(
        &mut self,
        id: MessageId,
        now: i64,
        me: &NodeId,
        msg: ConfMsg,
        to: Vec<NodeId>,
    ) -> Result<Vec<NodeId>, ProtoError> {
        let roster = self.roster()?;
        let tx = self.conn.transaction().map_err(db_err)?;
        let log = events(&tx)?;
        // The fold orders by creation time: a message must come after every
        // one this node already holds, even when two are queued in the same
        // millisecond (a schedule and the convening that relies on it).
        let now = lianxi_shared::rules::next_time(now, log.iter().map(|e| e.created_at));
        let (state, _) = fold(roster, &log);
        let dir = super::read_directory(&tx)?;
        state.check(me, now, &msg, &standings(&dir, me, &msg))?;
        let payload = Payload::Conference(msg.clone());
        let bytes = payload.encode();
        insert(
            &tx,
            super::Direction::Out,
            &id,
            me,
            now,
            &msg,
            &bytes,
            None,
            now,
        )?;
        let mut recipients: Vec<NodeId> = Vec::with_capacity(to.len());
        for n in to {
            if &n != me && !recipients.contains(&n) {
                recipients.push(n);
            }
        }
        if !recipients.is_empty() {
            tx.prepare_cached(
                "INSERT INTO outbox(id, created_at, audience, payload, not_before, state) VALUES (?1, ?2, ?3, ?4, NULL, 'queued')",
            )
            .map_err(db_err)?
            .execute(params![
                id.to_string(),
                now,
                Audience::Nodes(recipients.clone()).to_string(),
                bytes
            ])
            .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(recipients)
    }
}
