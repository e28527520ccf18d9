//! Archives for the search and UI scenarios, filled through the archive's own
//! write path (storage and full-text index), deterministically.

use lianxi_node::archive::{Archive, Incoming};
use lianxi_shared::envelope::{Header, Opened};
use lianxi_shared::{Audience, Bulletin, Envelope, MessageId, NodeId, Payload};

pub const PHRASES: &[&str] = &[
    "关于进一步做好中小企业纾困解难工作的通知",
    "各成员协会请及时转发",
    "专精特新企业培育",
    "跨境电商合规经营",
    "知识产权保护与维权",
    "出口退税办理",
    "数字化转型现场会",
    "会员互认试点",
    "融资服务对接日",
    "🎉 Mixed English text",
];

/// An archive of `n` bulletins of about `chars` characters each (Chinese with
/// some Latin), stored and indexed through the archive's own write path.
pub fn fill(path: &std::path::Path, n: usize, chars: usize) {
    let mut a = Archive::open(path).expect("archive");
    let sender = NodeId::new("nat").expect("id");
    let t0 = 1_790_000_000_000i64;
    let mut batch = Vec::with_capacity(1000);
    for i in 0..n {
        let title = format!("{} 第{}号", PHRASES[i % PHRASES.len()], i);
        let mut body = String::new();
        let mut k = 0;
        while body.chars().count() < chars {
            body.push_str(PHRASES[(i * 7 + k) % PHRASES.len()]);
            body.push('，');
            k += 1;
        }
        let payload = Payload::Bulletin(Bulletin {
            title,
            body,
            ..Default::default()
        });
        let header = Header {
            v: 1,
            id: MessageId::new_v7(t0 + i as i64 * 1000, [(i % 251) as u8; 16]),
            sender: sender.clone(),
            audience: Audience::All,
            created_at: t0 + i as i64 * 1000,
            not_before: None,
            body_sha256: [0; 32],
            body_len: 0,
            key: String::new(),
        };
        let opened = Opened {
            header,
            payload_bytes: payload.encode(),
            payload,
        };
        batch.push(Incoming {
            opened,
            envelope: Envelope {
                header: vec![],
                sig: [0; 64],
                body: vec![],
            },
            wrap: vec![],
            received_at: t0,
            forwarded: None,
            history: Vec::new(),
        });
        if batch.len() == 1000 {
            a.apply_incoming(&batch).expect("store");
            batch.clear();
        }
    }
    a.apply_incoming(&batch).expect("store");
}
