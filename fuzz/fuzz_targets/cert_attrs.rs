//! The certificate attribute parser, and whole certificates and CSRs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lianxi_certs::NodeAttributes::from_der(data);
    let _ = lianxi_certs::parse_node_cert(data);
    let _ = lianxi_certs::request::parse_request(data);
});
