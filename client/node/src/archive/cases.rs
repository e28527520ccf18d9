//! Cases in the archive: every case message is kept (with its signed envelope
//! once it has one), and each case's state is the fold of its messages
//! ([`lianxi_shared::case::fold`]), recomputed whenever one arrives, so the
//! order of arrival never matters.

use lianxi_shared::case::{CaseChange, CaseEvent, CaseMsg, CaseState, Step, fold};
use lianxi_shared::{Audience, Envelope, ErrorCode, MessageId, NodeId, Payload, ProtoError};
use rusqlite::{Connection, OptionalExtension, params};

use super::messages::Forwarded;
use super::{Archive, db_err};

/// A case's state and its timeline, as this node holds them.
#[derive(Clone, Debug)]
pub struct CaseFile {
    pub state: CaseState,
    pub steps: Vec<Step>,
}

/// Which cases to list.
#[derive(Clone, Debug, Default)]
pub struct CaseFilter {
    /// `Some(true)`: cases this node handles; `Some(false)`: shared with it.
    pub mine: Option<bool>,
    pub status: Option<lianxi_shared::case::CaseStatus>,
    pub category: Option<lianxi_shared::case::CaseCategory>,
    /// Only open cases with no update since this time (ms).
    pub stale_before: Option<i64>,
    /// Substring of the number, title, summary or jurisdiction.
    pub text: Option<String>,
}

fn corrupt(e: impl std::fmt::Display) -> ProtoError {
    ProtoError::new(ErrorCode::ArchiveCorrupt, format!("case record: {e}"))
}

/// Every message of a case held here.
fn events(tx: &Connection, case: &str) -> Result<Vec<CaseEvent>, ProtoError> {
    let mut st = tx
        .prepare_cached(
            "SELECT id, sender, created_at, payload FROM case_events WHERE case_id = ?1",
        )
        .map_err(db_err)?;
    let rows = st
        .query_map([case], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, sender, created_at, payload) = row.map_err(db_err)?;
        let Payload::Case(msg) = Payload::decode_stored(&payload)? else {
            return Err(corrupt(format!("{id} is not a case message")));
        };
        out.push(CaseEvent {
            id: id.parse()?,
            sender: NodeId::new(&sender)?,
            created_at,
            msg,
            context: (),
        });
    }
    Ok(out)
}

fn file(tx: &Connection, case: &MessageId) -> Result<Option<CaseFile>, ProtoError> {
    let evs = events(tx, &case.to_string())?;
    let (state, steps) = fold(*case, &evs);
    Ok(state.map(|state| CaseFile { state, steps }))
}

/// Fold the case again and store its state.
fn refold(tx: &Connection, case: &MessageId) -> Result<(), ProtoError> {
    let Some(f) = file(tx, case)? else {
        return Ok(()); // its intake has not arrived yet
    };
    let s = &f.state;
    let json = serde_json::to_string(s).map_err(corrupt)?;
    tx.prepare_cached(
        "INSERT INTO cases(case_id, number, title, status, category, updated_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(case_id) DO UPDATE SET number = excluded.number, title = excluded.title, status = excluded.status,
            category = excluded.category, updated_at = excluded.updated_at, state = excluded.state",
    )
    .map_err(db_err)?
    .execute(params![
        case.to_string(),
        s.facts.number,
        s.facts.title,
        s.status.as_str(),
        s.facts.category.as_str(),
        s.updated_at,
        json
    ])
    .map_err(db_err)?;
    Ok(())
}

/// A case message, sent or received: store it (or, for one this node queued
/// earlier, attach its envelope and key now that it is sent) and fold the case
/// again. A share's `history` (verified originals of the case's earlier steps)
/// is stored first, each under its own id and sender.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_case(
    tx: &Connection,
    direction: super::Direction,
    header: &lianxi_shared::Header,
    msg: &CaseMsg,
    payload: &[u8],
    envelope: &Envelope,
    key: Option<&[u8]>,
    history: &[Forwarded],
    at: i64,
) -> Result<(), ProtoError> {
    for h in history {
        let Payload::Case(m) = &h.opened.payload else {
            return Err(ProtoError::new(
                ErrorCode::BadPayload,
                "a case share carries a step that is not a case message",
            ));
        };
        if m.case != msg.case {
            return Err(ProtoError::new(
                ErrorCode::BadPayload,
                "a case share carries a step of another case",
            ));
        }
        store_event(
            tx,
            super::Direction::In,
            &h.opened.header,
            m,
            &h.opened.payload_bytes,
            &h.envelope,
            Some(h.key.as_bytes()),
            at,
        )?;
    }
    store_event(tx, direction, header, msg, payload, envelope, key, at)?;
    refold(tx, &msg.case)
}

/// Store one case message under its id, or complete the row this node queued
/// earlier. The same id with another sender or content is refused
/// (`replayed_id`): an id names one message for good.
#[allow(clippy::too_many_arguments)]
fn store_event(
    tx: &Connection,
    direction: super::Direction,
    header: &lianxi_shared::Header,
    msg: &CaseMsg,
    payload: &[u8],
    envelope: &Envelope,
    key: Option<&[u8]>,
    at: i64,
) -> Result<(), ProtoError> {
    let id = header.id.to_string();
    let known: Option<(String, Option<Vec<u8>>)> = tx
        .prepare_cached("SELECT sender, env_header FROM case_events WHERE id = ?1")
        .map_err(db_err)?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db_err)?;
    let Some((sender, signed)) = known else {
        return insert(
            tx,
            direction,
            &header.id,
            &header.sender,
            header.created_at,
            msg,
            payload,
            Some((envelope, key)),
            at,
        );
    };
    // The signed header names the body by its digest: equal headers, one message.
    if sender != header.sender.as_str() || signed.is_some_and(|h| h != envelope.header) {
        return Err(ProtoError::new(
            ErrorCode::ReplayedId,
            format!("case message {id} is already held with other content"),
        ));
    }
    tx.prepare_cached(
        "UPDATE case_events SET env_header = coalesce(env_header, ?2), env_sig = coalesce(env_sig, ?3),
            env_body = coalesce(env_body, ?4), msg_key = coalesce(msg_key, ?5) WHERE id = ?1",
    )
    .map_err(db_err)?
    .execute(params![id, envelope.header, envelope.sig.as_slice(), envelope.body, key])
    .map_err(db_err)?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn insert(
    tx: &Connection,
    direction: super::Direction,
    id: &MessageId,
    sender: &NodeId,
    created_at: i64,
    msg: &CaseMsg,
    payload: &[u8],
    sent: Option<(&Envelope, Option<&[u8]>)>,
    at: i64,
) -> Result<(), ProtoError> {
    let envelope = sent.map(|s| s.0);
    tx.prepare_cached(
        "INSERT INTO case_events(id, case_id, direction, sender, created_at, kind, payload, received_at, env_header, env_sig, env_body, msg_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .map_err(db_err)?
    .execute(params![
        id.to_string(),
        msg.case.to_string(),
        direction,
        sender.as_str(),
        created_at,
        msg.change.kind(),
        payload,
        at,
        envelope.map(|e| e.header.clone()),
        envelope.map(|e| e.sig.to_vec()),
        envelope.map(|e| e.body.clone()),
        sent.and_then(|s| s.1),
    ])
    .map_err(db_err)?;
    Ok(())
}

/// What queueing a case message did.
#[derive(Clone, Debug)]
pub struct Queued {
    pub id: MessageId,
    pub case: MessageId,
    pub number: String,
    /// Who it goes to (empty: it stays on this node's timeline only).
    pub recipients: Vec<NodeId>,
}

impl Archive {
    /// Check a case change against the case as this node holds it, then, in one
    /// transaction, put it on the local timeline and into the outbox addressed
    /// to the case's audience. Refused changes touch nothing.
    ///
    /// For an intake (`msg.case == id`), `number_prefix` allocates the case's
    /// number (`2026-BJ-0007`) in the same transaction.
    pub fn queue_case(
        &mut self,
        id: MessageId,
        mut now: i64,
        me: &NodeId,
        mut msg: CaseMsg,
        number_prefix: Option<&str>,
    ) -> Result<Queued, ProtoError> {
        let tx = self.conn.transaction().map_err(db_err)?;
        if msg.case == id {
            if let (CaseChange::Notice(n), Some(prefix)) = (&mut msg.change, number_prefix) {
                n.facts.number = next_number(&tx, now, prefix)?;
            }
        } else {
            let Some(f) = file(&tx, &msg.case)? else {
                return Err(ProtoError::new(
                    ErrorCode::NotFound,
                    format!("no case {}", msg.case),
                ));
            };
            f.state.check(me, &msg.change)?;
            // The timeline is ordered by creation time: come after every step
            // held here, even within the same millisecond.
            now = lianxi_shared::rules::next_time(now, f.steps.iter().map(|s| s.event.created_at));
        }
        msg.validate()?;
        let payload = Payload::Case(msg.clone());
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
        refold(&tx, &msg.case)?;
        let state = file(&tx, &msg.case)?
            .ok_or_else(|| ProtoError::new(ErrorCode::Internal, "the case did not fold"))?
            .state;
        let recipients = state.audience(me);
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
        Ok(Queued {
            id,
            case: msg.case,
            number: state.facts.number,
            recipients,
        })
    }

    /// A case message this node wrote: its time and payload.
    pub fn own_case_event(&self, id: &MessageId) -> Result<(i64, Payload), ProtoError> {
        let (at, bytes): (i64, Vec<u8>) = self
            .conn
            .query_row(
                "SELECT created_at, payload FROM case_events WHERE id = ?1 AND direction = 'out'",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db_err)?;
        Ok((at, Payload::decode_stored(&bytes)?))
    }

    /// Keep the signed envelope of a case message this node wrote, and its key.
    pub fn set_case_envelope(
        &self,
        id: &MessageId,
        envelope: &Envelope,
        key: &str,
    ) -> Result<(), ProtoError> {
        self.conn
            .prepare_cached(
                "UPDATE case_events SET env_header = ?2, env_sig = ?3, env_body = ?4, msg_key = ?5
                 WHERE id = ?1 AND env_header IS NULL",
            )
            .map_err(db_err)?
            .execute(params![
                id.to_string(),
                envelope.header,
                envelope.sig.as_slice(),
                envelope.body,
                key.as_bytes()
            ])
            .map_err(db_err)?;
        Ok(())
    }

    /// The steps of a case that decide who may do what (the intake, status
    /// changes, referrals and answers, recusals, grants; not notes, not later
    /// shares, which carry their own), oldest first, each as its signed
    /// envelope with what opens it (a wrap, or the message key itself).
    pub fn case_history(&self, case: &MessageId) -> Result<Vec<(Envelope, Vec<u8>)>, ProtoError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT env_header, env_sig, env_body, msg_key FROM case_events
                 WHERE case_id = ?1 AND (kind != 'notice' OR id = case_id) AND kind != 'note'
                   AND env_header IS NOT NULL AND msg_key IS NOT NULL
                 ORDER BY created_at, id LIMIT ?2",
            )
            .map_err(db_err)?;
        let rows = st
            .query_map(
                params![
                    case.to_string(),
                    lianxi_shared::case::MAX_CASE_HISTORY as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .map_err(db_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (header, sig, body, key) = row.map_err(db_err)?;
            let sig = <[u8; 64]>::try_from(sig.as_slice())
                .map_err(|_| corrupt("a stored signature has the wrong size"))?;
            out.push((Envelope { header, sig, body }, key));
        }
        Ok(out)
    }

    /// A case by its id, its number, or the id of any of its messages.
    pub fn case_file(&self, key: &str) -> Result<Option<CaseFile>, ProtoError> {
        let case: Option<String> = self
            .conn
            .query_row(
                "SELECT case_id FROM cases WHERE case_id = ?1 OR number = ?1
                 UNION SELECT case_id FROM case_events WHERE id = ?1 LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        match case {
            Some(c) => file(&self.conn, &c.parse()?),
            None => Ok(None),
        }
    }

    /// Cases matching `f`, most recently updated first. `me` decides which are mine.
    pub fn cases(&self, me: &NodeId, f: &CaseFilter) -> Result<Vec<CaseState>, ProtoError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT state FROM cases ORDER BY updated_at DESC, case_id DESC")
            .map_err(db_err)?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for r in rows {
            let s: CaseState = serde_json::from_str(&r.map_err(db_err)?).map_err(corrupt)?;
            if f.mine.is_some_and(|m| m != s.is_handler(me))
                || f.status.is_some_and(|x| x != s.status)
                || f.category.is_some_and(|x| x != s.facts.category)
                || f.stale_before
                    .is_some_and(|t| s.status.is_finished() || s.updated_at >= t)
            {
                continue;
            }
            if let Some(q) = &f.text {
                let q = q.to_lowercase();
                let hay = format!(
                    "{} {} {} {}",
                    s.facts.number, s.facts.title, s.facts.summary, s.facts.jurisdiction
                )
                .to_lowercase();
                if !hay.contains(&q) {
                    continue;
                }
            }
            out.push(s);
        }
        Ok(out)
    }
}

/// The next case number of this organisation for the year of `now`.
fn next_number(tx: &Connection, now: i64, prefix: &str) -> Result<String, ProtoError> {
    let year = crate::time_fmt::year(now);
    let n: i64 = tx
        .query_row(
            "INSERT INTO case_numbers(year, last) VALUES (?1, 1)
             ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
            [year],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    Ok(format!("{year}-{prefix}-{n:04}"))
}
