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

/// Encode a message as a complete frame.
pub fn encode_msg<T: serde::Serialize>(msg: &T) -> Vec<u8> {
    let body = crate::cbor::to_vec(msg);
    let mut out = Vec::with_capacity(body.len() + 5);
    encode(&body, &mut out);
    out
}

/// Incremental frame decoder.
#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max: usize,
    /// Once an error has been returned the stream is unusable.
    failed: bool,
}

impl FrameDecoder {
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            max: max_frame,
            failed: false,
        }
    }

    /// Bytes buffered but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes are needed before the next frame can be returned
    /// (at least 1 when nothing is complete), so a reader can size its reads.
    pub fn wanted(&self) -> usize {
        if self.buf.len() < LEN_BYTES {
            return LEN_BYTES - self.buf.len();
        }
        let len = self.declared_len().unwrap_or(0);
        (LEN_BYTES + len).saturating_sub(self.buf.len()).max(1)
    }

    fn declared_len(&self) -> Option<usize> {
        let b: [u8; 4] = self.buf.get(..LEN_BYTES)?.try_into().ok()?;
        Some(u32::from_be_bytes(b) as usize)
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
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
        if self.buf.len() > LEN_BYTES {
            let version = self.buf[LEN_BYTES];
            if version != FRAME_VERSION {
                self.failed = true;
                return Err(ProtoError::new(
                    ErrorCode::UnsupportedVersion,
                    format!(
                        "frame version {version} is not supported (this side speaks {FRAME_VERSION})"
                    ),
                ));
            }
        }
        if self.buf.len() < LEN_BYTES + len {
            return Ok(None);
        }
        let body = self.buf[LEN_BYTES + 1..LEN_BYTES + len].to_vec();
        self.buf.drain(..LEN_BYTES + len);
        Ok(Some(body))
    }

    /// Call at end of stream: an incomplete frame is an error.
    pub fn finish(&self) -> Result<(), ProtoError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(ProtoError::new(
                ErrorCode::TruncatedFrame,
                format!(
                    "stream ended with {} bytes of an incomplete frame",
                    self.buf.len()
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
