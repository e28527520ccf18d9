//! The payload decoder: every decrypted body is validated, never trusted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lianxi_shared::Payload;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Payload::decode(data) {
        // Whatever decodes re-encodes and decodes to the same value.
        let again = Payload::decode(&p.encode()).expect("round trip");
        assert_eq!(again, p);
    }
});
