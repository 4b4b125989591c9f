//! Limits a hostile peer or app meets on a real `alkyl-node`: an oversized
//! datagram is refused with 4.13 and never served cut; timer triggers that
//! fire back to back do not starve the socket.

mod common;

use std::time::{Duration, Instant};

use alkyl_protocol::envelope::{TriggerKind, TriggerRepr};
use coap_lite::{CoapOption, MessageType, Packet, RequestType};
use common::*;

/// What `alkyl-node` serves in one datagram (`docs/coap-api.md`, Limits).
const MAX_DATAGRAM: usize = 2048;

#[test]
fn oversized_datagrams_get_4_13_and_do_not_run() {
    let (_tmp, trusted) = Trusted::new(7);
    let (node, key) = (trusted.start(&[]), trusted.key);
    let mut raw = Raw::new(node.addr);
    let r = raw.install("app", 1, COUNTER_ASM, &key);
    assert_eq!(r.code_text(), "2.01", "{}", r.text());

    for (mid, len, confirmable) in [(0x7001u16, 3000usize, true), (0x7002, 10_000, true), (0x7003, 3000, false)] {
        let mut p = request_packet(mid, RequestType::Post, "apps/app/run", &[], b"Z");
        if !confirmable {
            p.header.set_type(MessageType::NonConfirmable);
        }
        // coap-lite will not encode a datagram this large: grow the payload by hand.
        let mut bytes = p.to_bytes().unwrap();
        bytes.resize(len, 0x5a);
        let reply = raw.send_bytes(&bytes, Duration::from_secs(5)).expect("no reply");
        let r = Packet::from_bytes(&reply).unwrap();
        assert_eq!(code(&r), "4.13", "{len} bytes: {}", payload_text(&r));
        assert_eq!(r.get_token(), p.get_token());
        if confirmable {
            assert_eq!(r.header.get_type(), MessageType::Acknowledgement);
            assert_eq!(r.header.message_id, mid);
        } else {
            assert_eq!(r.header.get_type(), MessageType::NonConfirmable);
        }
        let size1 = r.get_option(CoapOption::Size1).and_then(|v| v.front().cloned()).expect("Size1");
        assert_eq!(size1.iter().fold(0usize, |n, &b| n << 8 | usize::from(b)), MAX_DATAGRAM);
    }
    // None of them ran: the counter's first run counts 1.
    let r = raw.client.request(RequestType::Post, "apps/app/run", &[], b"").unwrap();
    assert_eq!(r.text(), "0x1");
    // A datagram of exactly the limit is served.
    let mut bytes = request_packet(0x7004, RequestType::Post, "apps/app/run", &[], b"Z").to_bytes().unwrap();
    bytes.resize(MAX_DATAGRAM, 0);
    let r = Packet::from_bytes(&raw.send_bytes(&bytes, Duration::from_secs(5)).unwrap()).unwrap();
    assert_eq!(payload_text(&r), "0x2");
}

#[test]
fn busy_timer_triggers_do_not_starve_requests() {
    let (_tmp, trusted) = Trusted::new(8);
    let (node, key) = (trusted.start(&[]), trusted.key);
    let mut raw = Raw::new(node.addr);
    // Three apps, four 10 ms timers each, every run a loop that spends the
    // whole default budget: the triggers alone would keep the node busy.
    let spin = asm_container("mov %r0, 0\nl:\nadd %r0, 1\nja l\nexit");
    let timer = || TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 10, value: 0, entry: None };
    for name in ["spin1", "spin2", "spin3"] {
        let envelope = install_with(name, 1, &spin, (0..4).map(|_| timer()).collect(), Some(&key));
        let r = raw.client.request(RequestType::Put, &format!("apps/{name}"), &[], &envelope).unwrap();
        assert_eq!(r.code_text(), "2.01", "{name}: {}", r.text());
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut worst = Duration::ZERO;
    for _ in 0..10 {
        let start = Instant::now();
        assert!(raw.alive(), "the node does not answer while its triggers fire");
        worst = worst.max(start.elapsed());
    }
    eprintln!("GET /apps while 12 busy timer triggers fire: worst of 10 {worst:?}");
    // And a signed delete gets through.
    let r = raw.client.request(RequestType::Delete, "apps/spin1", &[], &delete("spin1", 2, Some(&key))).unwrap();
    assert_eq!(r.code_text(), "2.02", "{}", r.text());
}
