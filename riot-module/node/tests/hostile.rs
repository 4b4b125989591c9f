//! Hostile clients against a real `alkyl-node`: garbage datagrams,
//! truncated and out-of-order Block1 sequences, unsigned / tampered /
//! foreign-key / old / unverifiable / oversize uploads, a script that loops
//! forever, a script that passes bad pointers to helpers, duplicated and
//! non-confirmable messages. After each case the node still answers and the
//! store is byte-for-byte unchanged.

mod common;

use std::time::Duration;

use alkyl_protocol::client::{block_option, Reply};
use alkyl_protocol::Block;
use coap_lite::{CoapOption, MessageType, Packet, RequestType};
use common::*;

fn block1(num: u32, more: bool, szx: u8) -> (CoapOption, Vec<u8>) {
    block_option(CoapOption::Block1, Block { num, more, szx })
}

struct Fixture {
    _tmp: tempfile::TempDir,
    store: std::path::PathBuf,
    key: ed25519_dalek::SigningKey,
    node: Node,
    raw: Raw,
}

impl Fixture {
    fn new() -> Fixture {
        let (tmp, trusted) = Trusted::new(5);
        let node = trusted.start(&["--budget", "100000"]);
        let Trusted { key, store, .. } = trusted;
        let mut raw = Raw::new(node.addr);
        let r = raw.install("app", 1, COUNTER_ASM, &key);
        assert_eq!(r.code_text(), "2.01", "{}", r.text());
        Fixture { _tmp: tmp, store, key, node, raw }
    }

    /// Runs `case`, then checks the node answers and the store is unchanged.
    fn check(&mut self, what: &str, case: impl FnOnce(&mut Fixture)) {
        let before = snapshot(&self.store);
        case(self);
        assert!(self.node.alive(), "{what}: the node died: {:?}", self.node.log());
        assert!(self.raw.alive(), "{what}: the node does not answer");
        assert_eq!(snapshot(&self.store), before, "{what}: the store changed");
    }

    fn put(&mut self, path: &str, body: &[u8]) -> Reply {
        self.raw.client.request(RequestType::Put, path, &[], body).unwrap()
    }
}

#[test]
fn hostile_datagrams() {
    let mut f = Fixture::new();
    f.check("garbage", |f| {
        let mut rng = alkyl_testkit::rng::XorShift32(0x2545_f491);
        for len in 0..300usize {
            let bytes = rng.bytes(len % 97);
            f.raw.socket.send_to(&bytes, f.node.addr).unwrap();
        }
        // Some garbage looked like a malformed CON and got an RST: drop those.
        f.raw.drain();
        // A malformed CON (option delta 15) is answered with RST.
        let reply = f.raw.send_bytes(&[0x40, 0x01, 0xbe, 0xef, 0xf0], Duration::from_secs(2)).unwrap();
        assert_eq!(reply, [0x70, 0x00, 0xbe, 0xef]);
        // Token length 9 (reserved).
        let reply = f.raw.send_bytes(&[0x49, 0x01, 0x00, 0x07, 1, 2, 3, 4, 5, 6, 7, 8, 9], Duration::from_secs(2));
        assert_eq!(reply.unwrap(), [0x70, 0x00, 0x00, 0x07]);
        // CoAP ping.
        let reply = f.raw.send_bytes(&[0x40, 0x00, 0x12, 0x34], Duration::from_secs(2)).unwrap();
        assert_eq!(reply, [0x70, 0x00, 0x12, 0x34]);
        // A malformed NON and a version-2 message are dropped silently.
        assert_eq!(f.raw.send_bytes(&[0x50, 0x01, 0x00, 0x01, 0xf0], Duration::from_millis(300)), None);
        assert_eq!(f.raw.send_bytes(&[0x80, 0x01, 0x00, 0x01], Duration::from_millis(300)), None);
        // An unknown critical option.
        let r =
            f.raw.client.request(RequestType::Get, "apps", &[(CoapOption::Unknown(2053 + 2), vec![1])], b"").unwrap();
        assert_eq!(r.code_text(), "4.02");
    });
}

#[test]
fn hostile_block_sequences() {
    let mut f = Fixture::new();
    // Incompressible filler makes an envelope of several 64-byte blocks.
    let filler: String = (0..40u32).map(|i| format!("mov %r0, {}\n", i.wrapping_mul(2_654_435_761) >> 1)).collect();
    let env = install("app", 2, &asm_container(&format!("{filler}{COUNTER_ASM}")), Some(&f.key));
    assert!(env.len() > 4 * 64);
    f.check("truncated Block1", |f| {
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(0, true, 2)], &env[..64]).unwrap();
        assert_eq!(r.code_text(), "2.31");
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(1, true, 2)], &env[64..128]).unwrap();
        assert_eq!(r.code_text(), "2.31");
        // ...and the rest never comes.
    });
    f.check("out-of-order Block1", |f| {
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(0, true, 2)], &env[..64]).unwrap();
        assert_eq!(r.code_text(), "2.31");
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(2, true, 2)], &env[128..192]).unwrap();
        assert_eq!(r.code_text(), "4.08", "{}", r.text());
        // The transfer is abandoned: the missing block does not resume it.
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(1, true, 2)], &env[64..128]).unwrap();
        assert_eq!(r.code_text(), "4.08");
        let last = (env.len() - 1) / 64;
        let r = f
            .raw
            .client
            .request(RequestType::Put, "apps/app", &[block1(last as u32, false, 2)], &env[last * 64..])
            .unwrap();
        assert_eq!(r.code_text(), "4.08");
    });
    f.check("short middle block", |f| {
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(0, true, 2)], &env[..10]).unwrap();
        assert_eq!(r.code_text(), "4.00");
    });
    f.check("oversize", |f| {
        let size1 = (CoapOption::Size1, 1_000_000u32.to_be_bytes().to_vec());
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(0, true, 2), size1], &env[..64]).unwrap();
        assert_eq!(r.code_text(), "4.13");
        assert!(r.packet.get_first_option(CoapOption::Size1).is_some());
    });
    // A complete in-order transfer still works after all this.
    for (i, chunk) in env.chunks(64).enumerate() {
        let more = (i + 1) * 64 < env.len();
        let r = f.raw.client.request(RequestType::Put, "apps/app", &[block1(i as u32, more, 2)], chunk).unwrap();
        assert_eq!(r.code_text(), if more { "2.31" } else { "2.04" }, "{}", r.text());
    }
}

#[test]
fn hostile_uploads() {
    let mut f = Fixture::new();
    let v2 = asm_container("mov %r0, 2\nexit");
    f.check("unsigned (alkyl --unsigned)", |f| {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("two.s");
        std::fs::write(&file, "mov %r0, 2\nexit\n").unwrap();
        let o = alkyl(&[
            "upload",
            "app",
            file.to_str().unwrap(),
            "--unsigned",
            "--version",
            "2",
            "--device",
            &f.node.uri(),
        ]);
        assert!(!o.status.success());
        assert!(text(&o).contains("4.01 unknown key 0000000000000000"), "{}", text(&o));
    });
    f.check("tampered (coap-client -b 64)", |f| {
        let mut env = install("app", 2, &v2, Some(&f.key));
        let n = env.len();
        env[n - 70] ^= 0x01; // a payload byte
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.bin");
        std::fs::write(&file, &env).unwrap();
        let o = coap_client(&[
            "-m",
            "put",
            "-b",
            "64",
            "-f",
            file.to_str().unwrap(),
            &format!("{}/apps/app", f.node.uri()),
        ]);
        assert!(text(&o).contains("4.03 bad signature"), "{}", text(&o));
    });
    f.check("foreign key", |f| {
        let other = ed25519_dalek::SigningKey::from_bytes(&[77; 32]);
        let r = f.put("apps/app", &install("app", 2, &v2, Some(&other)));
        assert_eq!(r.code_text(), "4.01");
        assert!(r.text().starts_with("unknown key "));
    });
    f.check("old version", |f| {
        let r = f.put("apps/app", &install("app", 1, &v2, Some(&f.key)));
        assert_eq!((r.code_text(), r.text()), ("4.09".into(), "version 1 is not newer than 1".into()));
    });
    f.check("verification failure", |f| {
        let bad = asm_container("ja +5\nexit");
        let r = f.put("apps/app", &install("app", 2, &bad, Some(&f.key)));
        assert_eq!(r.code_text(), "4.22");
        assert!(r.text().starts_with("verification failed: instruction 0: "), "{}", r.text());
    });
    f.check("decompression bomb", |f| {
        use alkyl_protocol::envelope::{Envelope, EnvelopeRepr};
        let env = install("app", 2, &v2, None);
        let mut repr = EnvelopeRepr::parse(&Envelope::new_checked(&env[..]).unwrap()).unwrap();
        repr.raw_len = 100_000_000;
        let bomb = seal(repr, Some(&f.key));
        let r = f.put("apps/app", &bomb);
        assert_eq!(r.code_text(), "4.13", "{}", r.text());
    });
    f.check("malformed envelope", |f| {
        let r = f.put("apps/app", b"ALKE\x01\x01\x01\x00 not an envelope");
        assert_eq!(r.code_text(), "4.00");
    });
    f.check("envelope for another app", |f| {
        let r = f.put("apps/app", &install("other", 2, &v2, Some(&f.key)));
        assert_eq!(r.code_text(), "4.00");
    });
    f.check("unsigned delete", |f| {
        let r = f.raw.client.request(RequestType::Delete, "apps/app", &[], &delete("app", 9, None)).unwrap();
        assert_eq!(r.code_text(), "4.01");
    });
    // The original still runs.
    let r = f.raw.client.request(RequestType::Post, "apps/app/run", &[], b"").unwrap();
    assert_eq!(r.text(), "0x1");
}

#[test]
fn hostile_scripts() {
    let mut f = Fixture::new();
    let r =
        f.put("apps/loop", &install("loop", 1, &asm_container("mov %r0, 0\nl:\nadd %r0, 1\nja l\nexit"), Some(&f.key)));
    assert_eq!(r.code_text(), "2.01");
    let bad = "mov %r1, 1\nmov %r2, 0x1234\ncall 0x13\nmov %r1, 0\nexit";
    let r = f.put("apps/bad", &install("bad", 1, &asm_container(bad), Some(&f.key)));
    assert_eq!(r.code_text(), "2.01");
    let oob = "mov %r1, 0x10\nlsh %r1, 32\nldxdw %r0, [%r1]\nexit";
    let r = f.put("apps/oob", &install("oob", 1, &asm_container(oob), Some(&f.key)));
    assert_eq!(r.code_text(), "2.01");
    f.check("infinite loop", |f| {
        let r = f.raw.client.request(RequestType::Post, "apps/loop/run", &[], b"").unwrap();
        assert_eq!(r.code_text(), "5.00");
        // The fast engine traps at the first slot of the run it cannot pay
        // for: the loop's `add` (docs/isa.md, "Budget").
        assert_eq!(r.text(), "trap at instruction 1: instruction budget exhausted");
        let r = f.raw.client.request(RequestType::Get, "apps/loop", &[], b"").unwrap();
        assert!(r.text().contains(r#""last_error":{"at_ms":"#), "{}", r.text());
    });
    f.check("bad helper pointer", |f| {
        let r = f.raw.client.request(RequestType::Post, "apps/bad/run", &[], b"").unwrap();
        assert_eq!(r.code_text(), "5.00");
        assert!(r.text().starts_with("trap at instruction 2: helper 0x13: "), "{}", r.text());
    });
    f.check("wild load", |f| {
        let r = f.raw.client.request(RequestType::Post, "apps/oob/run", &[], b"").unwrap();
        assert_eq!(r.code_text(), "5.00");
        assert!(r.text().starts_with("trap at instruction 2: memory fault"), "{}", r.text());
    });
    // Others keep running.
    let r = f.raw.client.request(RequestType::Post, "apps/app/run", &[], b"").unwrap();
    assert_eq!(r.text(), "0x1");
}

#[test]
fn message_layer() {
    let mut f = Fixture::new();
    // A duplicate (same message id) is answered from the cache, not run twice.
    let p = request_packet(0x7777, RequestType::Post, "apps/app/run", &[], b"");
    let bytes = p.to_bytes().unwrap();
    let a = f.raw.send_bytes(&bytes, Duration::from_secs(2)).unwrap();
    let b = f.raw.send_bytes(&bytes, Duration::from_secs(2)).unwrap();
    assert_eq!(a, b);
    let r = Packet::from_bytes(&a).unwrap();
    assert_eq!((r.header.get_type(), payload_text(&r)), (MessageType::Acknowledgement, "0x1".into()));
    assert_eq!(r.get_token(), p.get_token());
    let r = f.raw.client.request(RequestType::Post, "apps/app/run", &[], b"").unwrap();
    assert_eq!(r.text(), "0x2");
    // NON gets NON, with its own message id.
    let mut non = request_packet(0x1000, RequestType::Get, "apps/app/result", &[], b"");
    non.header.set_type(MessageType::NonConfirmable);
    let reply = f.raw.send_bytes(&non.to_bytes().unwrap(), Duration::from_secs(2)).unwrap();
    let r = Packet::from_bytes(&reply).unwrap();
    assert_eq!(r.header.get_type(), MessageType::NonConfirmable);
    assert_eq!((r.get_token(), payload_text(&r).as_str()), (non.get_token(), "0x2"));
    // Uri-Host and Uri-Port are ignored.
    let opts = [(CoapOption::UriHost, b"example.org".to_vec()), (CoapOption::UriPort, vec![0x16, 0x33])];
    let r = f.raw.client.request(RequestType::Get, "apps/app/result", &opts, b"").unwrap();
    assert_eq!(r.code_text(), "2.05");
}
