//! kill -9 during uploads, repeatedly, on both stores of the node (files,
//! and the device's flash store over a file). After every restart each app
//! is the old or the new version (never a mix), loads and verifies, every
//! upload the node acknowledged survived (the record is synced before the
//! answer), and the key-value store is intact.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coap_lite::RequestType;
use common::*;
use sha2::{Digest, Sha256};

/// Two versions of an app, distinguishable by their result and hash, both
/// several blocks long.
fn variant(which: u32) -> Vec<u8> {
    let filler: String =
        (0..60u32).map(|i| format!("mov %r1, {}\n", (i + which * 1000).wrapping_mul(2_654_435_761) >> 1)).collect();
    asm_container(&format!("{filler}mov %r0, {which}\nexit"))
}

#[test]
fn kill9_during_uploads() {
    let (_tmp, trusted) = Trusted::new(9);
    kill9_story(&trusted);
    // No temporary file is left behind after a clean start.
    let node = trusted.start(&[]);
    assert!(node.wait_for_line("app(s) loaded", Duration::from_secs(5)));
    let names: Vec<String> = std::fs::read_dir(&trusted.store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn kill9_during_uploads_on_flash() {
    let (_tmp, trusted) = Trusted::new(9);
    let trusted = trusted.on_flash();
    kill9_story(&trusted);
    let node = trusted.start(&[]);
    assert!(node.wait_for_line("app(s) loaded", Duration::from_secs(5)));
    assert!(node.log().iter().any(|l| l.contains("(flash): 2 app(s) loaded")), "{:?}", node.log());
}

/// Blocks of 64 bytes in one upload of [`variant`].
fn blocks_per_upload(trusted: &Trusted) -> u32 {
    install("flip", 1, &variant(1), Some(&trusted.key)).len().div_ceil(64) as u32
}

fn kill9_story(trusted: &Trusted) {
    let per_upload = blocks_per_upload(trusted);
    let hashes: Vec<[u8; 32]> = [1, 2].map(|w| Sha256::digest(variant(w)).into()).to_vec();
    let acked = Arc::new(AtomicU32::new(0));
    let counted = Arc::new(AtomicU32::new(0));
    let mut next_version = 1u32;
    let mut rounds_with_uploads_in_flight = 0;
    for round in 0..25u64 {
        let mut node = trusted.start(&[]);
        assert!(node.wait_for_line("app(s) loaded", Duration::from_secs(5)));
        // Nothing may fail to load, ever.
        std::thread::sleep(Duration::from_millis(50));
        let log = node.log();
        assert!(!log.iter().any(|l| l.contains("not loaded")), "round {round}: {log:?}");
        let mut raw = Raw::new(node.addr);
        if round > 0 {
            // The app is one of the two versions, in full, at least as new as
            // the last acknowledged upload.
            let r = raw.client.request(RequestType::Get, "apps/flip", &[], b"").unwrap();
            if r.code_text() == "4.04" {
                // Killed before any upload completed (possible on a loaded
                // machine): then none may have been acknowledged.
                assert_eq!(acked.load(Ordering::SeqCst), 0, "round {round}: an acknowledged upload was lost");
            } else {
                assert_eq!(r.code_text(), "2.05", "round {round}: {}", r.text());
                let meta: serde_json::Value = serde_json::from_slice(&r.packet.payload).unwrap();
                let version = meta["version"].as_u64().unwrap() as u32;
                assert!(version >= acked.load(Ordering::SeqCst), "round {round}: acknowledged upload lost");
                let hash = hex::decode(meta["sha256"].as_str().unwrap()).unwrap();
                let which =
                    hashes.iter().position(|h| h[..] == hash[..]).expect("a mixed or unknown container") as u64 + 1;
                let r = raw.client.request(RequestType::Post, "apps/flip/run", &[], b"").unwrap();
                assert_eq!(r.text(), format!("{which:#x}"), "round {round}");
                // Versions alternate between the two variants: odd = 1, even = 2.
                assert_eq!(which, if version % 2 == 1 { 1 } else { 2 }, "round {round}: version {version}");
                next_version = meta["sequence"].as_u64().unwrap() as u32 + 1;
            }
            // The counter kept every acknowledged increment.
            let r = raw.client.request(RequestType::Post, "apps/count/run", &[], b"").unwrap();
            let n = u32::from_str_radix(r.text().trim_start_matches("0x"), 16).unwrap();
            assert!(n > counted.load(Ordering::SeqCst), "round {round}: counter went back to {n}");
            counted.store(n, Ordering::SeqCst);
        } else {
            let r = raw.install("count", 1, COUNTER_ASM, &trusted.key);
            assert_eq!(r.code_text(), "2.01");
        }
        // Upload new versions back to back (block-wise), increment the
        // counter, and kill -9 the node at a varying moment.
        let stop = Arc::new(AtomicBool::new(false));
        let blocks = Arc::new(AtomicU32::new(0));
        let worker = {
            let (stop, acked, counted, key) =
                (Arc::clone(&stop), Arc::clone(&acked), Arc::clone(&counted), trusted.key.clone());
            let blocks = Arc::clone(&blocks);
            let addr = node.addr;
            let first = next_version;
            std::thread::spawn(move || -> u32 {
                let raw = Raw::new(addr);
                let mut sent = 0;
                let mut mid = 0u16;
                let mut v = first;
                while !stop.load(Ordering::SeqCst) {
                    let env = install("flip", v, &variant(2 - v % 2), Some(&key));
                    let chunks: Vec<&[u8]> = env.chunks(64).collect();
                    for (i, c) in chunks.iter().enumerate() {
                        mid = mid.wrapping_add(1);
                        let more = i + 1 < chunks.len();
                        let block = alkyl_protocol::Block { num: i as u32, more, szx: 2 };
                        let option = alkyl_protocol::client::block_option(coap_lite::CoapOption::Block1, block);
                        let p = request_packet(mid, RequestType::Put, "apps/flip", &[option], c);
                        let Some(reply) = raw.send_bytes(&p.to_bytes().unwrap(), Duration::from_millis(500)) else {
                            return sent;
                        };
                        let r = coap_lite::Packet::from_bytes(&reply).unwrap();
                        if !more && (code(&r) == "2.01" || code(&r) == "2.04") {
                            acked.fetch_max(v, Ordering::SeqCst);
                        }
                        blocks.fetch_add(1, Ordering::SeqCst);
                    }
                    sent += 1;
                    v += 1;
                    mid = mid.wrapping_add(1);
                    let p = request_packet(mid, RequestType::Post, "apps/count/run", &[], b"");
                    let Some(reply) = raw.send_bytes(&p.to_bytes().unwrap(), Duration::from_millis(500)) else {
                        return sent;
                    };
                    let r = coap_lite::Packet::from_bytes(&reply).unwrap();
                    if let Ok(n) = u32::from_str_radix(payload_text(&r).trim_start_matches("0x"), 16) {
                        counted.fetch_max(n, Ordering::SeqCst);
                    }
                }
                sent
            })
        };
        // Kill once a whole upload went through and a varying number of
        // blocks of the next ones were answered (counted, not timed: a
        // loaded machine slows the uploads, not the test's reach), a few
        // milliseconds into the following block.
        let target = per_upload + 1 + (round as u32 * 7) % (2 * per_upload);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while blocks.load(Ordering::SeqCst) < target {
            assert!(std::time::Instant::now() < deadline, "round {round}: the uploads made no progress");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(round % 4));
        node.kill9();
        stop.store(true, Ordering::SeqCst);
        let sent = worker.join().unwrap();
        if sent > 0 {
            rounds_with_uploads_in_flight += 1;
        }
    }
    assert!(rounds_with_uploads_in_flight >= 20, "the kills did not land during uploads");
    assert!(acked.load(Ordering::SeqCst) > 20, "too few uploads completed: {}", acked.load(Ordering::SeqCst));
}
