//! Trusted calls on a real node over loopback, with `coap-client-notls`
//! and `alkyl`: protected entries refuse unauthenticated, replayed, forged,
//! out-of-order and expired calls and change nothing (store files, KV,
//! runs); open entries run for anyone; reports reach a gateway exactly once
//! after it was down for a while; a restart keeps the command sequences
//! (no replay window) and the pending reports.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use alkyl_protocol::envelope::{EnvelopeRepr, PayloadKind};
use alkyl_protocol::report::Report;
use alkyl_protocol::{AppName, KeyId};
use coap_lite::{CoapOption, MessageClass, MessageType, Packet, ResponseType};
use common::*;
use ed25519_dalek::{Signature, SigningKey, Verifier};

/// Queues its input as a report (`bpf_report(r1, r2)`), returns the result.
const REPORT_ASM: &str = "call 0x22\nexit";

/// An install of `container` as `name`, signed, declaring `open` (None: all protected).
fn install_declaring(name: &str, version: u32, container: &[u8], open: Option<&[&str]>, key: &SigningKey) -> Vec<u8> {
    let mut repr = EnvelopeRepr::install(
        AppName::new(name.as_bytes()).unwrap(),
        version,
        PayloadKind::Container,
        container.to_vec(),
    );
    repr.open = open.map(|o| o.iter().map(|s| s.to_string()).collect());
    seal(repr, Some(key))
}

fn put(uri: &str, name: &str, envelope: &[u8], dir: &Path) {
    let f = dir.join(format!("{name}.env"));
    std::fs::write(&f, envelope).unwrap();
    let o = coap_client(&["-m", "put", "-f", f.to_str().unwrap(), &format!("{uri}/apps/{name}")]);
    assert!(text(&o).contains(&format!("installed {name}")), "{}", text(&o));
}

fn post_file(uri: &str, path: &str, file: &Path) -> String {
    text(&coap_client(&["-m", "post", "-f", file.to_str().unwrap(), &format!("{uri}/{path}")])).trim().to_string()
}

/// `alkyl invoke ... --key K --out FILE` with `extra` arguments; returns the file.
fn signed_call(dir: &Path, key: &Path, file: &str, args: &[&str]) -> std::path::PathBuf {
    let out = dir.join(file);
    let mut a = vec!["invoke"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--key", key.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let o = alkyl(&a);
    assert!(o.status.success(), "{}", text(&o));
    out
}

#[test]
fn protected_entries_refuse_every_unauthenticated_call_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (key, secret, public) = test_key(dir, 11);
    let (_, other_secret, _) = test_key(dir, 12);
    let store = dir.join("store");
    let node = Node::start(&store, &["--trusted-key", public.to_str().unwrap()]);
    let uri = node.uri();
    // `c` declares nothing: every entry protected. `f` declares its default entry open.
    put(&uri, "c", &install_declaring("c", 1, &asm_container(COUNTER_ASM), None, &key), dir);
    let fletcher = asm_container(&std::fs::read_to_string(repo().join("apps/asm/fletcher32.s")).unwrap());
    put(&uri, "f", &install_declaring("f", 1, &fletcher, Some(&[""]), &key), dir);
    let o = coap_client(&["-m", "get", &format!("{uri}/apps/c")]);
    assert!(text(&o).contains(r#""open":[]"#), "{}", text(&o));

    // Open entries run for anyone.
    let sample = repo().join("apps/data/sample-361.bin");
    assert_eq!(post_file(&uri, "apps/f/run", &sample), "0xd4ce696f");

    // A signed call, sent by any CoAP client.
    let first = signed_call(dir, &secret, "c1.bin", &["c", "--sequence", "1"]);
    assert_eq!(post_file(&uri, "invoke", &first), "0x1");
    let before = snapshot(&store);
    let runs = || {
        let o = coap_client(&["-m", "get", &format!("{uri}/apps/c")]);
        text(&o).split(r#""runs":"#).nth(1).and_then(|r| r.split(',').next()).unwrap().to_string()
    };
    assert_eq!(runs(), "1");

    // Unauthenticated: a plain POST.
    let o = coap_client(&["-m", "post", &format!("{uri}/apps/c/run")]);
    assert!(text(&o).contains("4.01"), "{}", text(&o));
    let o = alkyl(&["invoke", "c", "--device", &uri]);
    assert!(text(&o).contains("4.01 this entry is protected"), "{}", text(&o));
    // Replayed.
    assert!(post_file(&uri, "invoke", &first).starts_with("4.09"));
    // Forged: another key, and a flipped bit.
    let forged = signed_call(dir, &other_secret, "forged.bin", &["c", "--sequence", "2"]);
    assert!(post_file(&uri, "invoke", &forged).starts_with("4.01"));
    let good = signed_call(dir, &secret, "c5.bin", &["c", "--sequence", "5"]);
    let mut bytes = std::fs::read(&good).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 1;
    let flipped = dir.join("flipped.bin");
    std::fs::write(&flipped, &bytes).unwrap();
    assert!(post_file(&uri, "invoke", &flipped).starts_with("4.03"));
    // Expired (and the clock is not even set).
    let expired = signed_call(dir, &secret, "old.bin", &["c", "--sequence", "3", "--expires", "1000000000"]);
    assert!(post_file(&uri, "invoke", &expired).starts_with("4.12"));
    // Nothing changed: no run, no KV write, no sequence advance.
    assert_eq!(snapshot(&store), before, "a refused call changed the store");
    assert_eq!(runs(), "1");

    // Sequence 5 goes through; 4 is then out of order, 5 a replay.
    assert_eq!(post_file(&uri, "invoke", &good), "0x2");
    let four = signed_call(dir, &secret, "c4.bin", &["c", "--sequence", "4"]);
    assert!(post_file(&uri, "invoke", &four).starts_with("4.06"));
    assert!(post_file(&uri, "invoke", &good).starts_with("4.09"));
    // The clock, set by a signed command; then an expiry in the future passes.
    let t = dir.join("time.bin");
    let o = alkyl(&["time", "set", "--key", secret.to_str().unwrap(), "--sequence", "6", "--out", t.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let set = post_file(&uri, "time", &t);
    assert!(set.parse::<u64>().is_ok(), "{set}");
    assert!(post_file(&uri, "time", &t).starts_with("4.09"));
    let o = alkyl(&["invoke", "c", "--key", secret.to_str().unwrap(), "--ttl", "60", "--device", &uri]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0x3", "{}", text(&o));
}

/// A CoAP endpoint standing for the gateway: acknowledges POST /reports
/// with 2.04, and returns every report body it got.
struct Receiver {
    socket: UdpSocket,
    got: Vec<Vec<u8>>,
}

impl Receiver {
    fn bind(addr: &str) -> Receiver {
        let socket = UdpSocket::bind(addr).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        Receiver { socket, got: Vec::new() }
    }

    /// Serves until `n` reports came or `timeout` passed.
    fn serve(&mut self, n: usize, timeout: Duration) {
        let start = Instant::now();
        let mut buf = [0u8; 2048];
        while self.got.len() < n && start.elapsed() < timeout {
            let Ok((len, peer)) = self.socket.recv_from(&mut buf) else { continue };
            let Ok(req) = Packet::from_bytes(&buf[..len]) else { continue };
            let path: Vec<u8> = req.get_option(CoapOption::UriPath).into_iter().flatten().flatten().copied().collect();
            assert_eq!(path, b"reports");
            let mut resp = Packet::new();
            resp.header.set_type(MessageType::Acknowledgement);
            resp.header.message_id = req.header.message_id;
            resp.header.code = MessageClass::Response(ResponseType::Changed);
            resp.set_token(req.get_token().to_vec());
            self.socket.send_to(&resp.to_bytes().unwrap(), peer).unwrap();
            self.got.push(req.payload);
        }
    }
}

/// Checks reports against the device key; returns (sequence, payload) of each.
fn check_reports(got: &[Vec<u8>], device_public: &[u8; 32]) -> Vec<(u64, String)> {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(device_public).unwrap();
    got.iter()
        .map(|b| {
            let r = Report::new_checked(b).unwrap();
            assert_eq!(r.device_id(), KeyId::of(device_public));
            vk.verify(r.signed_bytes(), &Signature::from_bytes(&r.signature())).expect("signed by the device");
            (r.sequence(), String::from_utf8_lossy(r.payload()).into_owned())
        })
        .collect()
}

/// A node's keys and arguments for reporting to a gateway that is not up yet.
struct Reporting {
    key: SigningKey,
    secret: std::path::PathBuf,
    device_key: SigningKey,
    /// A free loopback port for the gateway.
    gateway: String,
    args: Vec<String>,
}

impl Reporting {
    fn new(dir: &Path, seed: u8, gateway_path: &str) -> Reporting {
        let (key, secret, public) = test_key(dir, seed);
        let (device_key, device_secret, _) = test_key(dir, seed + 1);
        let gateway = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        let args = ["--trusted-key", public.to_str().unwrap(), "--device-key", device_secret.to_str().unwrap()]
            .map(String::from)
            .into_iter()
            .chain(["--gateway".to_string(), format!("coap://{gateway}{gateway_path}")])
            .collect();
        Reporting { key, secret, device_key, gateway, args }
    }

    fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }
}

#[test]
fn reports_reach_the_gateway_once_after_it_was_down() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = Reporting::new(dir, 21, "/reports");
    let (key, device_key, gateway) = (&r.key, &r.device_key, &r.gateway);
    let node = Node::start(&dir.join("store"), &r.args());
    let uri = node.uri();
    put(&uri, "alarm", &install_declaring("alarm", 1, &asm_container(REPORT_ASM), Some(&["*"]), key), dir);
    for text in ["one", "two", "three"] {
        let o = coap_client(&["-m", "post", "-e", text, &format!("{uri}/apps/alarm/run")]);
        assert_eq!(common::text(&o).trim(), "0x0");
    }
    // The gateway is down for a while: the node retries with backoff.
    std::thread::sleep(Duration::from_millis(2500));
    let o = alkyl(&["reports", "--device", &uri]);
    assert!(text(&o).contains("pending: 3"), "{}", text(&o));
    let mut receiver = Receiver::bind(gateway);
    receiver.serve(3, Duration::from_secs(20));
    // Nothing more arrives: each report exactly once.
    receiver.serve(4, Duration::from_secs(2));
    let got = check_reports(&receiver.got, &device_key.verifying_key().to_bytes());
    assert_eq!(got, [(1, "one".into()), (2, "two".into()), (3, "three".into())]);
    let o = alkyl(&["reports", "--device", &uri]);
    assert!(text(&o).contains("pending: 0") && text(&o).contains("delivered: 3"), "{}", text(&o));
}

#[test]
fn a_restart_keeps_sequences_and_pending_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let r = Reporting::new(dir, 31, "");
    let (key, secret, device_key, gateway) = (&r.key, &r.secret, &r.device_key, &r.gateway);
    let store = dir.join("store");
    let args = r.args();
    let mut node = Node::start(&store, &args);
    let uri = node.uri();
    put(&uri, "alarm", &install_declaring("alarm", 1, &asm_container(REPORT_ASM), None, key), dir);
    let call = signed_call(dir, secret, "a1.bin", &["alarm", "--payload", "3 invalid attempts", "--sequence", "1"]);
    assert_eq!(post_file(&uri, "invoke", &call), "0x0");
    assert!(node.stop(), "{:?}", node.log());

    let node = Node::start(&store, &args);
    let uri = node.uri();
    // No replay window: the accepted sequence is remembered.
    assert!(post_file(&uri, "invoke", &call).starts_with("4.09"));
    let mut receiver = Receiver::bind(gateway);
    receiver.serve(1, Duration::from_secs(20));
    receiver.serve(2, Duration::from_secs(1));
    let got = check_reports(&receiver.got, &device_key.verifying_key().to_bytes());
    assert_eq!(got, [(1, "3 invalid attempts".into())]);
}
