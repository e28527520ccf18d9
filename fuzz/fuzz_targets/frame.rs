//! The frame decoder and the wire messages: any bytes, in any pieces, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lianxi_shared::frame::FrameDecoder;
use lianxi_shared::wire::{ClientMsg, HubMsg};

fuzz_target!(|data: &[u8]| {
    let split = data.first().copied().unwrap_or(1).max(1) as usize;
    let mut d = FrameDecoder::new(1 << 16);
    for chunk in data.chunks(split) {
        d.push(chunk);
        while let Ok(Some(f)) = d.next_frame() {
            let _ = ClientMsg::decode(&f);
            let _ = HubMsg::decode(&f);
        }
    }
    let _ = d.finish();
    let _ = ClientMsg::decode(data);
    let _ = HubMsg::decode(data);
});
