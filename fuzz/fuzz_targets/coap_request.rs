//! A sequence of arbitrary datagrams through the CoAP request path: each is
//! parsed with coap-lite (as alkyl-node does) and handed to the runtime's
//! `coap_handler::Handler`; the response is written back into a message and
//! encoded. Blocks of uploads (Block1) arrive in any order, sizes and
//! numbers, with the clock advancing between datagrams so that transfers
//! also expire. Nothing may panic; quotas and upload bounds hold.
//!
//! Input: repeated `[len: u8][clock step: u8][len bytes]`.
#![no_main]

use coap_handler::Handler;
use coap_lite::Packet;
use libfuzzer_sys::fuzz_target;

#[path = "runtime_common.rs"]
mod runtime_common;

/// A valid, unsigned install of `mov r0, 42; exit` for app "a", so that
/// requests to an existing app are meaningful from the start.
const SEED_APP: &[u8] = &[
    0x72, 0x42, 0x50, 0x46, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0xb7, 0, 0, 0, 42,
    0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0,
];

fuzz_target!(|data: &[u8]| {
    let mut rt = runtime_common::runtime();
    install_seed(&mut rt);
    let mut rest = data;
    while rest.len() >= 2 {
        let (len, step) = (rest[0] as usize, rest[1] as u64);
        rest = &rest[2..];
        let take = len.min(rest.len());
        let (datagram, tail) = rest.split_at(take);
        rest = tail;
        rt.device().now_us += step * 1000 * 1000;
        let now = rt.device().now_us / 1000;
        rt.poll(now);
        let Ok(request) = Packet::from_bytes(datagram) else { continue };
        let Ok(response) = rt.extract_request_data(&request);
        let mut out = Packet::new();
        rt.build_response(&mut out, response).expect("coap-lite messages take any response");
        let _ = out.to_bytes();
        runtime_common::check_invariants(&rt);
    }
});

fn install_seed(rt: &mut runtime_common::FuzzRuntime) {
    use alkyl_protocol::envelope::{EnvelopeRepr, Operation, PayloadKind};
    use alkyl_protocol::AppName;
    use alkyl_runtime::Expect;
    let name = AppName::new(b"a").unwrap();
    let repr = EnvelopeRepr::install(name.clone(), 1, PayloadKind::Container, SEED_APP.to_vec());
    rt.apply(&repr.to_bytes().unwrap(), Expect { operation: Operation::Install, name: &name })
        .expect("seed app installs");
}
