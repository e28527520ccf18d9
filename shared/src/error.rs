//! Stable error codes. Every refusal on the wire and every failure the CLI reports
//! carries one of these codes; the strings never change once released (see
//! `docs/PROTOCOL.md`, "Error codes").

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($var:ident = $s:literal : $doc:literal / $zh:literal),+ $(,)?) => {
        /// A stable, machine-readable error code.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum ErrorCode { $(#[doc = $doc] $var),+ }
        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$var),+];
            pub fn as_str(&self) -> &'static str { match self { $(ErrorCode::$var => $s),+ } }
            pub fn describe(&self) -> &'static str { match self { $(ErrorCode::$var => $doc),+ } }
            /// [`Self::describe`] in Chinese, for people reading in Chinese.
            pub fn describe_zh(&self) -> &'static str { match self { $(ErrorCode::$var => $zh),+ } }
        }
    };
}

codes! {
    // Framing and encoding
    FrameTooLarge = "frame_too_large": "the frame is larger than the configured maximum" / "帧超过允许的最大长度",
    TruncatedFrame = "truncated_frame": "the stream ended in the middle of a frame" / "数据流在帧中途中断",
    UnsupportedVersion = "unsupported_version": "the frame or protocol version is not supported" / "不支持该帧或协议版本",
    BadFrame = "bad_frame": "the frame is not valid CBOR of the expected shape" / "帧不是预期格式的 CBOR",
    BadRequest = "bad_request": "the request is malformed or not allowed at this point" / "请求格式有误或此时不允许",
    // Envelopes
    BadHeader = "bad_header": "the envelope header cannot be decoded or is inconsistent" / "信封头无法解码或前后不一致",
    BadSignature = "bad_signature": "the envelope signature does not verify" / "信封签名验证失败",
    BodyMismatch = "body_mismatch": "the body does not match the digest in the signed header" / "正文与签名信封头中的摘要不符",
    SenderMismatch = "sender_mismatch": "the envelope sender is not the authenticated TLS identity" / "信封发送方与 TLS 认证身份不符",
    UnknownSender = "unknown_sender": "the sender is not in the verified directory" / "发送方不在已验证的名录中",
    UnknownRecipient = "unknown_recipient": "a recipient is not known to the hub" / "收件方不为枢纽所知",
    EmptyAudience = "empty_audience": "the audience resolves to no recipient" / "收件范围内没有任何收件方",
    NotInAudience = "not_in_audience": "a key wrap names a node outside the signed audience" / "密钥封装指向签名收件范围以外的节点",
    ReplayedId = "replayed_id": "the message id was already used for a different envelope" / "该消息编号已被另一信封使用",
    EmbargoTooFar = "embargo_too_far": "the embargo time is further ahead than the hub allows" / "定时发布时间超出枢纽允许的范围",
    ClockSkew = "clock_skew": "the creation time is too far from the hub's clock" / "创建时间与枢纽时钟相差过大",
    DecryptFailed = "decrypt_failed": "the envelope cannot be decrypted with this node's identity" / "本节点身份无法解密该信封",
    BadPayload = "bad_payload": "the decrypted payload is not a valid message" / "解密后的内容不是有效消息",
    Embargoed = "embargoed": "the message may not be read before its release time" / "发布时间未到，暂不可阅读",
    UnknownReference = "unknown_reference": "the message refers to a bulletin this node does not have, or one of another sender" / "所引用的通报本节点没有，或属于其他发送方",
    Withdrawn = "withdrawn": "the bulletin was withdrawn by its sender; it cannot be forwarded or acknowledged" / "该通报已被发送方撤回，不能转发或回执",
    NotEntitled = "not_entitled": "the sender is not entitled to send this (only the original sender may revise, withdraw or remind; only a referral's target may answer it)" / "发送方无权发送此项（仅原发送方可更正、撤回、催办；仅转办对象可答复转办）",
    NotHandler = "not_handler": "only a case's handlers may change it or see its confidential fields" / "只有案件承办方可以变更案件或查看保密信息",
    Recused = "recused": "the organisation is recused from this case; it may not receive it" / "该单位已回避此案件，不得接收",
    BadTransition = "bad_transition": "the case cannot take this step from its current status" / "案件当前状态不能进行此步骤",
    ConfidentialLeak = "confidential_leak": "the text still contains a confidential field of the case" / "文本仍含案件的保密信息",
    NotChair = "not_chair": "only the chair of the joint conference may convene a meeting or publish a rotation schedule" / "只有联席会议主席可以召集会议或发布轮值表",
    NotHost = "not_host": "only the host of a session (its executive vice-chair) may publish its agenda, minutes and reminders" / "只有该次会议的执行副主席可以发布议程、纪要和提醒",
    NotMember = "not_member": "the sender is not a member of the joint conference" / "发送方不是联席会议成员",
    BadSchedule = "bad_schedule": "the rotation schedule does not follow from its inputs or breaks the fairness rule" / "轮值表与其输入不符或违反公平规则",
    AgendaClosed = "agenda_closed": "the call for agenda items has closed, or the meeting is over" / "议题征集已截止，或会议已结束",
    // Identity and certificates
    BadNodeId = "bad_node_id": "the node id is not valid" / "节点编号无效",
    BadCertificate = "bad_certificate": "the certificate cannot be parsed or lacks Lianxi attributes" / "证书无法解析或缺少联席属性",
    UntrustedCertificate = "untrusted_certificate": "the certificate is not signed by the federation CA" / "证书不是联盟 CA 签发的",
    ExpiredCertificate = "expired_certificate": "the certificate is expired or not yet valid" / "证书已过期或尚未生效",
    Revoked = "revoked": "the certificate has been revoked" / "证书已被吊销",
    AlreadyIssued = "already_issued": "the node already has a live certificate; issue another only with --replace, which revokes it" / "该节点已有有效证书；只有加 --replace（同时吊销旧证书）才能另行签发",
    BadCsr = "bad_csr": "the enrollment request cannot be parsed or its signature is invalid" / "证书申请无法解析或签名无效",
    PolicyRefused = "policy_refused": "the CA's signing policy does not allow the requested tier or roles; the operator decides with --tier and --roles" / "CA 签发策略不允许所申请的层级或角色；由操作员以 --tier 和 --roles 决定",
    // Limits and the hub's state
    RateLimited = "rate_limited": "the node sends faster than the hub allows" / "发送频率超过枢纽允许的上限",
    QuotaExceeded = "quota_exceeded": "the sender's queue to a recipient is at its quota until the recipient collects; retry later" / "发给该收件方的待取队列已满，待其取走后再试",
    TooLarge = "too_large": "the message or attachment is larger than allowed" / "消息或附件超过允许的大小",
    StorageFull = "storage_full": "the hub's disk is full; nothing was stored" / "枢纽磁盘已满，未存储任何内容",
    Unavailable = "unavailable": "the service is shutting down, overloaded or cannot reach its database; try again" / "服务正在关闭、过载或无法访问其数据库，请稍后再试",
    SessionMoved = "session_moved": "the node opened a session on another hub of the cluster, which now serves it; reconnect there" / "本节点已在集群中另一台枢纽上建立会话，由其继续服务；请连接该枢纽",
    Internal = "internal": "an internal error; nothing was stored" / "内部错误，未存储任何内容",
    // Node side
    NotEnrolled = "not_enrolled": "this node has no certificate yet: run `lianxi enroll`" / "本节点尚无证书：请运行 `lianxi enroll`",
    AlreadyInitialized = "already_initialized": "this home already holds a node identity" / "此目录已有节点身份",
    HubUnreachable = "hub_unreachable": "the hub cannot be reached" / "无法连接枢纽",
    NotFound = "not_found": "no such item" / "没有该项",
    ArchiveNewer = "archive_newer": "the archive was written by a newer Lianxi; upgrade first" / "档案由更新版本的联席写入，请先升级",
    ArchiveCorrupt = "archive_corrupt": "the file is not a Lianxi archive or is damaged" / "该文件不是联席档案或已损坏",
    KeyFile = "key_file": "a key file is missing, unreadable or has unsafe permissions" / "密钥文件缺失、无法读取或权限不安全",
    PassphraseRequired = "passphrase_required": "the identity is passphrase-protected and no passphrase was given" / "身份密钥受口令保护，但未提供口令",
    BadPassphrase = "bad_passphrase": "the passphrase does not unlock the identity" / "口令无法解锁身份密钥",
    Io = "io": "a file could not be read or written" / "文件无法读取或写入",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a stable code and a human-readable message.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error, Serialize, Deserialize)]
#[error("{message} [{code}]")]
pub struct ProtoError {
    pub code: ErrorCode,
    pub message: String,
}

impl ProtoError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProtoError {
            code,
            message: message.into(),
        }
    }
    /// An error whose message is the code's standard description.
    pub fn code(code: ErrorCode) -> Self {
        ProtoError {
            code,
            message: code.describe().to_owned(),
        }
    }
}

impl From<ErrorCode> for ProtoError {
    fn from(code: ErrorCode) -> Self {
        ProtoError::code(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        for c in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("| `{c}` | {} |", c.describe())),
                "{c} is missing from docs/PROTOCOL.md, section 8"
            );
        }
    }

    #[test]
    fn codes_are_unique_and_serialize_as_their_string() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {c}");
            let mut buf = Vec::new();
            ciborium::into_writer(c, &mut buf).unwrap();
            let back: String = ciborium::from_reader(&buf[..]).unwrap();
            assert_eq!(back, c.as_str());
        }
    }
}
