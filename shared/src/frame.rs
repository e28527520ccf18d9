//! Frames: how messages travel on a QUIC stream.
//!
//! ```text
//! frame   = length:u32-be  version:u8  body:CBOR
//! length  = 1 + len(body)     (bytes after the length field)
//! version = 1
//! ```
//!
//! [`FrameDecoder`] is an incremental, sans-IO decoder: push whatever bytes arrived,
//! pop complete frames. It never allocates more than the configured maximum frame
//! size and never panics on any input.

use crate::error::{ErrorCode, ProtoError};

pub const FRAME_VERSION: u8 = 1;
/// Default maximum frame size (bytes after the length field): 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;
const LEN_BYTES: usize = 4;

/// Encode one frame around a CBOR body.
pub fn encode(body: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(body.len() + 1).unwrap_or(u32::MAX);
    out.reserve(LEN_BYTES + 1 + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.push(FRAME_VERSION);
    out.extend_from_slice(body);
}

/// Encode a message as a complete frame, written once into a buffer of
/// `size_hint` bytes (what its byte fields take; it grows if that is short).
pub fn encode_msg<T: serde::Serialize>(msg: &T, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(LEN_BYTES + 1 + size_hint.saturating_add(64));
    out.extend_from_slice(&[0; LEN_BYTES]);
    out.push(FRAME_VERSION);
    crate::cbor::append(msg, &mut out);
    let len = u32::try_from(out.len() - LEN_BYTES).unwrap_or(u32::MAX);
    out[..LEN_BYTES].copy_from_slice(&len.to_be_bytes());
    out
}

/// Incremental frame decoder.
#[derive(Debug)]
pub struct FrameDecoder {
    /// Received bytes; those before `start` are already returned.
    buf: Vec<u8>,
    start: usize,
    max: usize,
    /// Once an error has been returned the stream is unusable.
    failed: bool,
}

impl FrameDecoder {
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            max: max_frame,
            failed: false,
        }
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.pending().len()
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// How many more bytes are needed before the next frame can be returned
    /// (at least 1 when nothing is complete), so a reader can size its reads.
    pub fn wanted(&self) -> usize {
        let have = self.buffered();
        if have < LEN_BYTES {
            return LEN_BYTES - have;
        }
        let len = self.declared_len().unwrap_or(0);
        (LEN_BYTES + len).saturating_sub(have).max(1)
    }

    fn declared_len(&self) -> Option<usize> {
        let b: [u8; 4] = self.pending().get(..LEN_BYTES)?.try_into().ok()?;
        Some(u32::from_be_bytes(b) as usize)
    }

    /// Append received bytes. What was already returned is dropped first
    /// when it is most of the buffer: taking frames off the front one by one
    /// would move the rest each time (quadratic in the frames one read
    /// brought).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Take the next complete frame's CBOR body, if there is one.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, ProtoError> {
        if self.failed {
            return Err(ProtoError::new(
                ErrorCode::BadFrame,
                "stream already failed",
            ));
        }
        let Some(len) = self.declared_len() else {
            return Ok(None);
        };
        if len == 0 {
            self.failed = true;
            return Err(ProtoError::new(ErrorCode::BadFrame, "zero-length frame"));
        }
        if len > self.max {
            self.failed = true;
            return Err(ProtoError::new(
                ErrorCode::FrameTooLarge,
                format!("frame of {len} bytes exceeds the maximum of {}", self.max),
            ));
        }
        let pending = self.pending();
        if let Some(&version) = pending.get(LEN_BYTES)
            && version != FRAME_VERSION
        {
            self.failed = true;
            return Err(ProtoError::new(
                ErrorCode::UnsupportedVersion,
                format!(
                    "frame version {version} is not supported (this side speaks {FRAME_VERSION})"
                ),
            ));
        }
        let Some(body) = pending.get(LEN_BYTES + 1..LEN_BYTES + len) else {
            return Ok(None);
        };
        let body = body.to_vec();
        self.start += LEN_BYTES + len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(body))
    }

    /// Call at end of stream: an incomplete frame is an error.
    pub fn finish(&self) -> Result<(), ProtoError> {
        if self.pending().is_empty() {
            Ok(())
        } else {
            Err(ProtoError::new(
                ErrorCode::TruncatedFrame,
                format!(
                    "stream ended with {} bytes of an incomplete frame",
                    self.buffered()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip_in_pieces() {
        let mut wire = Vec::new();
        encode(b"hello", &mut wire);
        encode(b"", &mut wire);
        encode(&[7u8; 1000], &mut wire);
        let mut d = FrameDecoder::new(DEFAULT_MAX_FRAME);
        let mut got = Vec::new();
        for chunk in wire.chunks(3) {
            d.push(chunk);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(got, vec![b"hello".to_vec(), vec![], vec![7u8; 1000]]);
        d.finish().unwrap();
    }

    /// One read that brought many frames and the start of the next: each
    /// comes out in order, what is left is counted, and later pieces join it.
    #[test]
    fn many_frames_in_one_read_then_the_rest() {
        let mut wire = Vec::new();
        for i in 0..200u32 {
            encode(&i.to_be_bytes(), &mut wire);
        }
        let (first, rest) = wire.split_at(wire.len() - 5);
        let mut d = FrameDecoder::new(DEFAULT_MAX_FRAME);
        d.push(first);
        for i in 0..199u32 {
            assert_eq!(d.next_frame().unwrap(), Some(i.to_be_bytes().to_vec()));
        }
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.buffered(), 4);
        assert_eq!(d.wanted(), 5);
        assert!(d.finish().is_err());
        for b in rest {
            d.push(std::slice::from_ref(b));
        }
        assert_eq!(d.next_frame().unwrap(), Some(199u32.to_be_bytes().to_vec()));
        assert_eq!(d.buffered(), 0);
        d.finish().unwrap();
    }

    #[test]
    fn oversized_frame_is_refused_before_buffering() {
        let mut d = FrameDecoder::new(100);
        d.push(&(1_000_000u32).to_be_bytes());
        assert_eq!(d.next_frame().unwrap_err().code, ErrorCode::FrameTooLarge);
    }

    #[test]
    fn unknown_version_and_truncation() {
        let mut d = FrameDecoder::new(100);
        d.push(&[0, 0, 0, 3, 9, 1]);
        assert_eq!(
            d.next_frame().unwrap_err().code,
            ErrorCode::UnsupportedVersion
        );
        let mut d = FrameDecoder::new(100);
        d.push(&[0, 0, 0, 5, 1, 1]);
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.finish().unwrap_err().code, ErrorCode::TruncatedFrame);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let mut d = FrameDecoder::new(256);
            for c in &chunks {
                d.push(c);
                while let Ok(Some(f)) = d.next_frame() {
                    prop_assert!(f.len() < 256);
                }
            }
            let _ = d.finish();
        }
    }
}
