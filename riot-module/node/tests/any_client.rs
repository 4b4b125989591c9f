//! `docs/coap-api.md`, "Every operation from any CoAP client", run as
//! written: the envelope commands, then every row of the table with
//! libcoap's `coap-client-notls`, then again with aiocoap's
//! `aiocoap-client` (installed by `make deps` into `target/pyenv`;
//! `ALKYL_AIOCOAP_CLIENT` names another). Also: plain-text answers end with
//! a newline, block-wise `/sensors` carries an ETag, and after a trap
//! `alkyl result` fails while `alkyl info` shows the app.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use alkyl_protocol::envelope::{EnvelopeRepr, Operation, TriggerRepr};
use alkyl_protocol::AppName;
use coap_lite::{CoapOption, RequestType};
use common::*;
use ed25519_dalek::SigningKey;

/// The examples of the section: the envelope commands and the table rows
/// (operation, libcoap, aiocoap, prints).
struct Examples {
    envelopes: Vec<String>,
    rows: Vec<[String; 4]>,
}

fn examples() -> Examples {
    let doc = std::fs::read_to_string(repo().join("docs/coap-api.md")).unwrap();
    let section = doc
        .split("## Every operation from any CoAP client")
        .nth(1)
        .expect("the section")
        .split("\n## ")
        .next()
        .unwrap();
    let block = section.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let envelopes = block.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    let cell = |c: &str| c.trim().trim_matches('`').to_string();
    let rows = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| operation"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 4, "{l}");
            [cell(cells[0]), cell(cells[1]), cell(cells[2]), cell(cells[3])]
        })
        .collect();
    Examples { envelopes, rows }
}

fn aiocoap_client() -> PathBuf {
    let path = std::env::var_os("ALKYL_AIOCOAP_CLIENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/pyenv/bin/aiocoap-client"));
    assert!(path.exists(), "{} not found: `make deps` installs aiocoap into target/pyenv", path.display());
    path
}

fn sh(dir: &Path, line: &str) -> std::process::Output {
    let alkyl_dir = alkyl_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", alkyl_dir.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("sh").arg("-c").arg(line).current_dir(dir).env("PATH", path).output().expect("sh")
}

/// Makes the envelopes by the section's commands, with versions moved up
/// by `bump`. `triggers --out` and `rm --out` come with issue 11; until
/// then the same envelopes are made here.
fn make_envelopes(dir: &Path, lines: &[String], bump: u32) {
    let key = {
        let hex_key = std::fs::read_to_string(dir.join("dev.key")).unwrap();
        SigningKey::from_bytes(&hex::decode(hex_key.trim()).unwrap().try_into().unwrap())
    };
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "--version").unwrap();
        let version: u32 = words[at + 1].parse::<u32>().unwrap() + bump;
        let line = line.replace(&format!("--version {}", words[at + 1]), &format!("--version {version}"));
        let o = sh(dir, &line);
        if o.status.success() {
            continue;
        }
        assert!(text(&o).contains("--out"), "{line}: {}", text(&o));
        let out = words[words.iter().position(|w| *w == "--out").unwrap() + 1];
        let name = AppName::new(b"counter").unwrap();
        let repr = match words[1] {
            "triggers" => {
                let t: TriggerRepr = words[words.iter().position(|w| *w == "--trigger").unwrap() + 1].parse().unwrap();
                EnvelopeRepr::command(Operation::SetTriggers, name, version, vec![t])
            }
            "rm" => EnvelopeRepr::command(Operation::Delete, name, version, Vec::new()),
            other => panic!("{other}: {}", text(&o)),
        };
        std::fs::write(dir.join(out), seal(repr, Some(&key))).unwrap();
    }
}

#[test]
fn every_documented_operation_from_libcoap_and_aiocoap() {
    let ex = examples();
    assert!(ex.rows.len() >= 10, "{} rows", ex.rows.len());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    assert!(alkyl(&["keygen", "--out", dir.join("dev").to_str().unwrap()]).status.success());
    let object = compile_app("counter", dir);
    assert_eq!(object, dir.join("counter.o"));
    let node = Node::start(
        &dir.join("store"),
        &[
            "--trusted-key",
            dir.join("dev.pub").to_str().unwrap(),
            "--sensors",
            repo().join("apps/demo-sensors.toml").to_str().unwrap(),
        ],
    );
    let aiocoap = aiocoap_client();
    for (column, bump) in [(1, 0), (2, 3)] {
        make_envelopes(dir, &ex.envelopes, bump);
        for row in &ex.rows {
            let line = row[column]
                .replace("coap://127.0.0.1", &node.uri())
                .replace("coap-client-notls ", "coap-client-notls -B 10 ")
                .replace("aiocoap-client", aiocoap.to_str().unwrap());
            // A block-wise `/sensors` whose readings changed between two
            // blocks: aiocoap sees the ETag change and stops; the doc says
            // to retry.
            let mut o = sh(dir, &line);
            for _ in 0..10 {
                if !text(&o).contains("ResourceChanged") {
                    break;
                }
                o = sh(dir, &line);
            }
            let out = String::from_utf8_lossy(&o.stdout);
            // `timeout` ends an observation with 124.
            assert!(o.status.success() || o.status.code() == Some(124), "{}: {line}: {}", row[0], text(&o));
            assert!(out.contains(&row[3]), "{}: {line}: expected {:?} in {out:?} {}", row[0], row[3], text(&o));
        }
    }
}

#[test]
fn text_ends_with_a_newline_sensors_carry_an_etag_and_result_fails_after_a_trap() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, secret, public) = test_key(tmp.path(), 9);
    let node = Node::start(
        &tmp.path().join("store"),
        &[
            "--trusted-key",
            public.to_str().unwrap(),
            "--sensors",
            repo().join("apps/demo-sensors.toml").to_str().unwrap(),
        ],
    );
    let mut raw = Raw::new(node.addr);
    let r = raw.install("loop", 1, "ja -1\nexit", &key);
    assert_eq!(r.packet.payload, b"installed loop version 1\n");
    let r = raw.client.request(RequestType::Get, "apps/nothing", &[], b"").unwrap();
    assert!(r.packet.payload.ends_with(b")\n"), "{:?}", r.text());
    // /sensors in 16-byte blocks: every block has a 4-byte ETag.
    for num in 0..3u32 {
        let (v, n) = alkyl_protocol::Block { num, more: false, szx: 0 }.encode();
        let r = raw.client.request(RequestType::Get, "sensors", &[(CoapOption::Block2, v[..n].to_vec())], b"").unwrap();
        let tag = r.packet.get_first_option(CoapOption::ETag).cloned();
        assert_eq!(tag.map(|t| t.len()), Some(4), "block {num}");
    }
    // A trap: the run says so, `alkyl result` exits non-zero, `info` shows it.
    let r = raw.client.request(RequestType::Post, "apps/loop/run", &[], b"").unwrap();
    assert!(r.text().contains("instruction budget exhausted"), "{}", r.text());
    let dev = node.uri();
    let o = alkyl(&["result", "loop", "--device", &dev]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("error: trap at instruction"), "{}", text(&o));
    let o = alkyl(&["result", "loop", "--json", "--device", &dev]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["trapped"], true, "{doc}");
    let o = alkyl(&["info", "loop", "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("traps") && text(&o).contains("sha256"), "{}", text(&o));
    let o = alkyl(&["info", "loop", "--json", "--device", &dev]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["traps"], 1, "{doc}");
    // A good run: `result` succeeds and prints one line.
    let o = alkyl(&[
        "upload",
        "ok",
        "apps/asm/fletcher32.s",
        "--key",
        secret.to_str().unwrap(),
        "--open",
        "-",
        "--device",
        &dev,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let sample = std::fs::read(repo().join("apps/data/sample-361.bin")).unwrap();
    raw.client.request(RequestType::Post, "apps/ok/run", &[], &sample).unwrap();
    let o = alkyl(&["result", "ok", "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "0xd4ce696f\n");
    // `invoke --json`: the reply's code and payload as JSON.
    let sample_path = repo().join("apps/data/sample-361.bin");
    let o = alkyl(&["invoke", "ok", "--payload-file", sample_path.to_str().unwrap(), "--json", "--device", &dev]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((doc["code"].as_str(), doc["result"].as_str()), (Some("2.05"), Some("0xd4ce696f")), "{doc}");
    assert_eq!(doc["payload_hex"], "307864346365363936660a", "{doc}"); // "0xd4ce696f\n", as sent
}
