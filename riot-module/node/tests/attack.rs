//! Issue 15 against a real `alkyl-node`: a peer that makes scripts wait or
//! spin, floods uploads or injects blocks into another's, a full store, the
//! last sequence number. Each finding has its test here.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alkyl_protocol::client::block_option;
use alkyl_protocol::envelope::{TriggerKind, TriggerRepr};
use alkyl_protocol::Block;
use coap_lite::{CoapOption, Packet, RequestType};
use common::*;

/// Waits in `ztimer_periodic_wakeup` (at most 10 ms a call) for ever: at
/// the default budget, ~28 minutes of waiting without a time limit.
const SLEEPER_ASM: &str = include_str!("../../../apps/asm/sleeper.s");

/// Spends its whole instruction budget.
const SPIN_ASM: &str = "mov %r0, 0\nl:\nadd %r0, 1\nja l\nexit";

fn timers(n: usize) -> Vec<TriggerRepr> {
    (0..n).map(|_| TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 10, value: 0, entry: None }).collect()
}

fn put(raw: &mut Raw, name: &str, envelope: &[u8]) {
    let r = raw.client.request(RequestType::Put, &format!("apps/{name}"), &[], envelope).unwrap();
    assert!(matches!(r.code_text().as_str(), "2.01" | "2.04"), "{name}: {} {}", r.code_text(), r.text());
}

/// One Block1 PUT sent by hand from `raw`'s own endpoint.
fn block_put(raw: &Raw, mid: u16, path: &str, block: Block, payload: &[u8]) -> Packet {
    let p = request_packet(mid, RequestType::Put, path, &[block_option(CoapOption::Block1, block)], payload);
    let reply = raw.send_bytes(&p.to_bytes().unwrap(), Duration::from_secs(5)).expect("no reply");
    Packet::from_bytes(&reply).unwrap()
}

/// Sends `body` block-wise (32-byte blocks) from `raw`'s endpoint; returns
/// the last response.
fn upload(raw: &Raw, first_mid: u16, path: &str, body: &[u8]) -> Packet {
    let chunks: Vec<&[u8]> = body.chunks(32).collect();
    let mut last = None;
    for (i, c) in chunks.iter().enumerate() {
        let block = Block { num: i as u32, more: i + 1 < chunks.len(), szx: 1 };
        let r = block_put(raw, first_mid + i as u16, path, block, c);
        if block.more {
            assert_eq!(code(&r), "2.31", "block {i}: {}", payload_text(&r));
        }
        last = Some(r);
    }
    last.unwrap()
}

#[test]
fn a_waiting_script_stops_at_its_wall_time_limit() {
    let (_tmp, trusted) = Trusted::new(21);
    let (node, key) = (trusted.start(&[]), trusted.key);
    let mut raw = Raw::new(node.addr);
    put(&mut raw, "sleeper", &install("sleeper", 1, &asm_container(SLEEPER_ASM), Some(&key)));
    let start = Instant::now();
    let r = raw.client.request(RequestType::Post, "apps/sleeper/run", &[], b"").unwrap();
    let took = start.elapsed();
    assert_eq!(r.code_text(), "5.00");
    assert!(r.text().ends_with("wall-time limit exceeded"), "{}", r.text());
    eprintln!("a sleeping run answered after {took:?} (limit 50 ms; ~28 minutes before)");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// GET latency while hostile apps' triggers fire (one waits 50 ms a run,
/// two spin through their budget, twelve 10 ms timers in all) and a hostile
/// peer keeps running the waiting app. The node binary is the test
/// profile's (debug for `make test`); the bound holds because the node
/// serves pending datagrams between any two runs and a run lasts at most
/// its wall-time limit (here 20 ms, `--max-run-ms`) or its instruction
/// budget (here 200,000): a GET waits for at most the run in progress and
/// one hostile request ahead of it: a median well under 100 ms even on a
/// loaded 2-core machine.
#[test]
fn requests_are_served_while_hostile_apps_run() {
    let (_tmp, trusted) = Trusted::new(22);
    let key = trusted.key.clone();
    let args = ["--max-run-ms", "20", "--budget", "200000"];
    let mut node = trusted.start(&args);
    let mut raw = Raw::new(node.addr);
    put(&mut raw, "sleeper", &install_with("sleeper", 1, &asm_container(SLEEPER_ASM), timers(4), Some(&key)));
    for name in ["spin1", "spin2"] {
        put(&mut raw, name, &install_with(name, 1, &asm_container(SPIN_ASM), timers(4), Some(&key)));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let hostile = {
        let stop = Arc::clone(&stop);
        let addr = node.addr;
        std::thread::spawn(move || {
            let mut peer = Raw::new(addr);
            let mut runs = 0;
            while !stop.load(Ordering::Relaxed) {
                for app in ["sleeper", "spin1"] {
                    let r = peer.client.request(RequestType::Post, &format!("apps/{app}/run"), &[], b"").unwrap();
                    assert_eq!(r.code_text(), "5.00", "{}", r.text());
                    runs += 1;
                }
            }
            runs
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let mut times = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        assert!(raw.alive(), "the node does not answer while hostile apps run");
        times.push(start.elapsed());
        std::thread::sleep(Duration::from_millis(7));
    }
    stop.store(true, Ordering::Relaxed);
    let runs = hostile.join().unwrap();
    times.sort();
    let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
    eprintln!("GET /apps during {runs} hostile runs and 12 busy 10 ms timers: median {median:?}, worst {worst:?}");
    // The bound is on the median: one sample may meet the OS scheduler of
    // a loaded machine (a CI runner compiling beside the test), which says
    // nothing about the node; a node that let hostile runs stall it would
    // move the median, and the worst sample must still stay far below a
    // stall (a hostile app waiting unbounded, or runs queued ahead of the
    // GET, would take seconds).
    assert!(median < Duration::from_millis(100), "median GET latency {median:?} (worst {worst:?})");
    assert!(worst < Duration::from_secs(1), "worst GET latency {worst:?}");
    // The triggers keep firing: the throttle's log line comes (the log
    // reader may lag behind the node on a loaded machine).
    assert!(node.wait_for_line("trigger runs throttled", Duration::from_secs(10)), "{:?}", node.log());
    // A signed delete gets through.
    let r = raw.client.request(RequestType::Delete, "apps/spin1", &[], &delete("spin1", 2, Some(&key))).unwrap();
    assert_eq!(r.code_text(), "2.02", "{}", r.text());
    // Triggers persist: after a restart the node serves requests too.
    assert!(node.stop());
    let node = trusted.start(&args);
    let mut raw = Raw::new(node.addr);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    assert!(raw.alive());
    eprintln!("after a restart: GET /apps in {:?}", start.elapsed());
    let r = raw.client.request(RequestType::Delete, "apps/sleeper", &[], &delete("sleeper", 2, Some(&key))).unwrap();
    assert_eq!(r.code_text(), "2.02", "{}", r.text());
}

#[test]
fn a_signed_upload_succeeds_while_junk_uploads_are_in_flight() {
    let (tmp, trusted) = Trusted::new(23);
    let (stranger, _, _) = test_key(tmp.path(), 24);
    let (node, key) = (trusted.start(&[]), trusted.key);
    // Junk from several endpoints: unsigned, signed by an unknown key, not an
    // envelope at all. None of them gets a slot.
    let junk = [
        install("app", 1, &asm_container(SPIN_ASM), None),
        install("app", 1, &asm_container(SPIN_ASM), Some(&stranger)),
        vec![0x5a; 64],
    ];
    for (i, body) in junk.iter().enumerate() {
        for j in 0..2u16 {
            let peer = Raw::new(node.addr);
            let r = block_put(
                &peer,
                0x100 * (i as u16 + 1) + j,
                "apps/app",
                Block { num: 0, more: true, szx: 1 },
                &body[..32],
            );
            let expected = if i == 2 { "4.00" } else { "4.01" };
            assert_eq!(code(&r), expected, "{}", payload_text(&r));
        }
    }
    // The owner's block-wise upload gets a slot and completes.
    let owner = Raw::new(node.addr);
    let envelope = install("app", 1, &asm_container(COUNTER_ASM), Some(&key));
    let r = upload(&owner, 0x2000, "apps/app", &envelope);
    assert_eq!(code(&r), "2.01", "{}", payload_text(&r));
}

#[test]
fn a_foreign_block_changes_nothing() {
    let (_tmp, trusted) = Trusted::new(25);
    let node = trusted.start(&[]);
    let Trusted { key, store, .. } = trusted;
    let owner = Raw::new(node.addr);
    let attacker = Raw::new(node.addr);
    let envelope = install("app", 1, &asm_container(COUNTER_ASM), Some(&key));
    assert!(envelope.len() > 96, "{} bytes", envelope.len());
    let chunks: Vec<&[u8]> = envelope.chunks(32).collect();
    let block = |num: usize| Block { num: num as u32, more: num + 1 < chunks.len(), szx: 1 };
    assert_eq!(code(&block_put(&owner, 0x3000, "apps/app", block(0), chunks[0])), "2.31");
    // The attacker's block 1 (another endpoint and token) finds no transfer.
    let r = block_put(&attacker, 0x3001, "apps/app", block(1), &[0xee; 32]);
    assert_eq!(code(&r), "4.08", "{}", payload_text(&r));
    // Nor does its block 0 touch the owner's transfer: it starts its own.
    let forged = install("app", 1, &asm_container(SPIN_ASM), Some(&key));
    assert_eq!(code(&block_put(&attacker, 0x3002, "apps/app", block(0), &forged[..32])), "2.31");
    let before = snapshot(&store);
    for (i, c) in chunks.iter().enumerate().skip(1) {
        let r = block_put(&owner, 0x3000 + 16 * i as u16, "apps/app", block(i), c);
        let expected = if i + 1 < chunks.len() { "2.31" } else { "2.01" };
        assert_eq!(code(&r), expected, "block {i}: {}", payload_text(&r));
    }
    assert_ne!(snapshot(&store), before);
    // What was installed is the owner's counter.
    let mut raw = Raw::new(node.addr);
    assert_eq!(raw.client.request(RequestType::Post, "apps/app/run", &[], b"").unwrap().text(), "0x1");
}

/// Sum of the record files' sizes (what the quota counts).
fn record_bytes(store: &std::path::Path) -> u64 {
    snapshot(store).iter().filter(|(k, _)| !k.starts_with('.')).map(|(_, v)| v.len() as u64).sum()
}

#[test]
fn a_full_store_loses_no_acknowledged_write() {
    let (_tmp, trusted) = Trusted::new(26);
    let (store, key) = (trusted.store.clone(), trusted.key.clone());
    let mut node = trusted.start(&[]);
    let mut raw = Raw::new(node.addr);
    put(&mut raw, "counter", &install("counter", 1, &asm_container(COUNTER_ASM), Some(&key)));
    put(&mut raw, "ballast", &install("ballast", 1, &asm_container(SPIN_ASM), Some(&key)));
    for n in 1..=3 {
        let r = raw.client.request(RequestType::Post, "apps/counter/run", &[], b"").unwrap();
        assert_eq!(r.text(), format!("{n:#x}"));
    }
    assert!(node.stop());
    // The store is now one byte short of what it holds: every save that
    // does not shrink a record fails (the reserve is for deletions).
    let quota = (record_bytes(&store) + alkyl_runtime::DELETE_RESERVE as u64 - 1).to_string();
    let args = ["--store-quota", quota.as_str()];
    let mut node = trusted.start(&args);
    let mut raw = Raw::new(node.addr);
    for _ in 0..3 {
        let r = raw.client.request(RequestType::Post, "apps/counter/run", &[], b"").unwrap();
        assert_eq!(r.code_text(), "5.00", "{}", r.text());
        assert_eq!(r.text(), "storage full; nothing changed");
    }
    // Nothing was acknowledged, nothing counted: after a crash the counter
    // goes on from 3.
    node.kill9();
    let mut node = trusted.start(&args);
    let mut raw = Raw::new(node.addr);
    assert_eq!(raw.client.request(RequestType::Post, "apps/counter/run", &[], b"").unwrap().code_text(), "5.00");
    // A signed delete works on the full store, and frees space.
    let r = raw.client.request(RequestType::Delete, "apps/ballast", &[], &delete("ballast", 2, Some(&key))).unwrap();
    assert_eq!(r.code_text(), "2.02", "{}", r.text());
    let r = raw.client.request(RequestType::Post, "apps/counter/run", &[], b"").unwrap();
    assert_eq!(r.text(), "0x4");
    node.kill9();
    let node = trusted.start(&args);
    let mut raw = Raw::new(node.addr);
    assert_eq!(raw.client.request(RequestType::Post, "apps/counter/run", &[], b"").unwrap().text(), "0x5");
}

#[test]
fn the_last_sequence_number_and_other_small_findings() {
    let (_tmp, trusted) = Trusted::new(27);
    let (node, key) = (trusted.start(&[]), trusted.key);
    let mut raw = Raw::new(node.addr);
    // u32::MAX is the delete's: an install at it would freeze the app.
    let r = raw.install("app", u32::MAX, COUNTER_ASM, &key);
    assert_eq!(
        (r.code_text(), r.text()),
        ("4.00".into(), "sequence 4294967295 is reserved for deleting the app".into())
    );
    put(&mut raw, "app", &install("app", u32::MAX - 1, &asm_container(COUNTER_ASM), Some(&key)));
    let r = raw.client.request(RequestType::Delete, "apps/app", &[], &delete("app", u32::MAX, Some(&key))).unwrap();
    assert_eq!(r.code_text(), "2.02", "{}", r.text());
    // POST to a missing app says so, whatever the entry segment.
    for path in ["apps/nope/run/.odd", "apps/nope/run/ok", "apps/nope/run"] {
        let r = raw.client.request(RequestType::Post, path, &[], b"").unwrap();
        assert_eq!((r.code_text(), r.text()), ("4.04".into(), "no such app (sequence 0)".into()), "{path}");
    }
    // A misaligned atomic is reported as such.
    put(
        &mut raw,
        "atomic",
        &install("atomic", 1, &asm_container("mov %r1, 1\nlock add32 [%r10-6], %r1\nexit"), Some(&key)),
    );
    let r = raw.client.request(RequestType::Post, "apps/atomic/run", &[], b"").unwrap();
    assert_eq!(r.code_text(), "5.00");
    let text = r.text();
    assert!(text.contains("misaligned atomic access of 4 bytes") && !text.contains("write"), "{text}");
}
