//! Messages on the wire. Each is the CBOR body of one frame.
//!
//! A connection has one bidirectional stream, opened by the client. The client
//! sends [`ClientMsg`]s, the hub sends [`HubMsg`]s; requests carry a client-chosen
//! `rid` that the matching response echoes, so requests can be pipelined.

use serde::{Deserialize, Serialize};

use crate::envelope::{Envelope, Wrap};
use crate::error::{ErrorCode, ProtoError};
use crate::ids::{MessageId, NodeId};

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientMsg {
    /// Must be the first frame.
    Hello {
        protocol: u32,
        agent: String,
    },
    /// Store and forward an envelope.
    Send {
        rid: u64,
        envelope: Envelope,
        wraps: Vec<Wrap>,
    },
    /// Start receiving deliveries (backlog first, then live).
    Subscribe,
    /// The client has durably stored these deliveries; the hub may drop them.
    Received {
        seqs: Vec<u64>,
    },
    /// Ask for the certificates of every node and the CRL.
    Directory {
        rid: u64,
    },
    Ping {
        rid: u64,
    },
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HubMsg {
    Welcome {
        protocol: u32,
        node: NodeId,
        hub: String,
        time_ms: i64,
    },
    /// The envelope is durably stored for `recipients` recipients.
    Accepted {
        rid: u64,
        id: MessageId,
        recipients: u32,
        duplicate: bool,
        missing: Vec<NodeId>,
    },
    /// A request was refused; nothing was stored.
    Refused {
        rid: u64,
        error: ProtoError,
    },
    DirectoryIs {
        rid: u64,
        #[serde(with = "cert_list")]
        certs: Vec<Vec<u8>>,
        #[serde(with = "serde_bytes")]
        crl: Option<Vec<u8>>,
    },
    /// One delivery. `seq` is this node's delivery number, acknowledged with `Received`.
    Deliver {
        seq: u64,
        envelope: Envelope,
        #[serde(with = "serde_bytes")]
        wrap: Vec<u8>,
    },
    /// Everything that was waiting for this node has been sent (embargoed messages
    /// not yet released are not counted).
    Drained {
        delivered: u64,
    },
    Pong {
        rid: u64,
        time_ms: i64,
    },
    /// A connection-level error; the hub closes the connection after it.
    Error {
        error: ProtoError,
    },
}

mod cert_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let b: Vec<&Bytes> = v.iter().map(|c| Bytes::new(c)).collect();
        b.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let v: Vec<ByteBuf> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(ByteBuf::into_vec).collect())
    }
}

impl ClientMsg {
    pub fn decode(body: &[u8]) -> Result<Self, ProtoError> {
        crate::cbor::from_slice(body, ErrorCode::BadFrame)
    }
    pub fn to_frame(&self) -> Vec<u8> {
        let size = match self {
            ClientMsg::Send {
                envelope, wraps, ..
            } => envelope.size() + wraps.iter().map(|w| w.key.len() + 48).sum::<usize>(),
            _ => 0,
        };
        crate::frame::encode_msg(self, size)
    }
}

impl HubMsg {
    pub fn decode(body: &[u8]) -> Result<Self, ProtoError> {
        crate::cbor::from_slice(body, ErrorCode::BadFrame)
    }
    pub fn to_frame(&self) -> Vec<u8> {
        let size = match self {
            HubMsg::Deliver { envelope, wrap, .. } => envelope.size() + wrap.len(),
            _ => 0,
        };
        crate::frame::encode_msg(self, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let msgs = vec![
            HubMsg::Welcome {
                protocol: 1,
                node: NodeId::new("a").unwrap(),
                hub: "h".into(),
                time_ms: 5,
            },
            HubMsg::DirectoryIs {
                rid: 1,
                certs: vec![vec![1, 2], vec![3]],
                crl: Some(vec![9]),
            },
            HubMsg::Refused {
                rid: 2,
                error: ProtoError::code(ErrorCode::BadSignature),
            },
            HubMsg::Deliver {
                seq: 7,
                envelope: Envelope {
                    header: vec![1],
                    sig: [2; 64],
                    body: vec![3; 10],
                },
                wrap: vec![4],
            },
        ];
        for m in msgs {
            let frame = m.to_frame();
            let mut d = crate::frame::FrameDecoder::new(1 << 20);
            d.push(&frame);
            let body = d.next_frame().unwrap().unwrap();
            assert_eq!(HubMsg::decode(&body).unwrap(), m);
        }
    }

    #[test]
    fn wrong_shapes_are_bad_frames() {
        let garbage = [0xff, 0x00, 0x13];
        assert_eq!(
            ClientMsg::decode(&garbage).unwrap_err().code,
            ErrorCode::BadFrame
        );
        let wrong_shape = crate::cbor::to_vec(&vec![1u32, 2, 3]);
        assert_eq!(
            ClientMsg::decode(&wrong_shape).unwrap_err().code,
            ErrorCode::BadFrame
        );
        let unknown = crate::cbor::to_vec(&std::collections::BTreeMap::from([("fetch", 1u8)]));
        assert_eq!(
            ClientMsg::decode(&unknown).unwrap_err().code,
            ErrorCode::BadFrame
        );
    }
}
