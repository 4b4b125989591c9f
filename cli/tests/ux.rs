//! The command line as people expect it from bpftool, cargo and
//! coap-client: files decided by content and extension, `disasm` of every
//! program form, `--json`, a missing device failing at once, a public key
//! given for a secret one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use alkyl_testkit::clang::compile_bpf;

fn alkyl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alkyl")).args(args).output().expect("run alkyl")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn path(rel: &str) -> String {
    repo().join(rel).to_str().unwrap().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alkyl-ux-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn files_that_are_not_programs_are_refused() {
    let readme = path("README.md");
    for cmd in ["run", "verify", "disasm"] {
        let o = alkyl(&[cmd, &readme]);
        assert!(!o.status.success(), "{cmd}: {}", text(&o));
        assert!(text(&o).contains("README.md: not a program (a text file"), "{cmd}: {}", text(&o));
        assert!(text(&o).contains("expected eBPF assembler (.s, .asm)"), "{cmd}: {}", text(&o));
    }
    // `asm` reads any name as assembler text: README.md fails on its first line.
    let out = scratch("readme.bin");
    let o = alkyl(&["asm", &readme, "-o", out.to_str().unwrap()]);
    assert!(!o.status.success() && !out.exists(), "{}", text(&o));
    assert!(text(&o).contains("README.md: line "), "{}", text(&o));
    // ... and refuses a binary file (bytecode, here).
    let bin = scratch("f.bin");
    assert!(alkyl(&["asm", &path("apps/asm/fletcher32.s"), "-o", bin.to_str().unwrap()]).status.success());
    let o = alkyl(&["asm", bin.to_str().unwrap(), "-o", scratch("again.bin").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not assembler text (a binary file)"), "{}", text(&o));
    // Raw bytecode by name, and by content whatever the name.
    let odd = scratch("f.code");
    std::fs::copy(&bin, &odd).unwrap();
    for file in [&bin, &odd] {
        let o = alkyl(&["verify", file.to_str().unwrap()]);
        assert_eq!(text(&o).trim(), "ok");
    }
    // A text file under a bytecode name is still not bytecode when its
    // length is no multiple of 8.
    let notes = scratch("notes.bin");
    std::fs::write(&notes, "seven b").unwrap();
    let o = alkyl(&["run", notes.to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).contains("not a program"), "{}", text(&o));
}

#[test]
fn disasm_takes_every_program_form_and_round_trips() {
    let object = scratch("counter.o");
    compile_bpf(Path::new("apps/c/counter.c"), &object, &[]).unwrap();
    let rbf = scratch("counter.rbf");
    assert!(alkyl(&["pack", object.to_str().unwrap(), "-o", rbf.to_str().unwrap()]).status.success());
    let text_of = |file: &str| {
        let o = alkyl(&["disasm", file]);
        assert!(o.status.success(), "{file}: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let from_object = text_of(object.to_str().unwrap());
    assert_eq!(from_object, text_of(rbf.to_str().unwrap()));
    assert!(from_object.starts_with("# container: .text "), "{from_object}");
    // Functions are labels.
    assert!(from_object.contains("\nincrement:\n") && from_object.contains("\nreset:\n"), "{from_object}");
    // The listing assembles back into the container's .text.
    let s = scratch("counter.s");
    std::fs::write(&s, &from_object).unwrap();
    let bin = scratch("counter.bin");
    let o = alkyl(&["asm", s.to_str().unwrap(), "-o", bin.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let container = std::fs::read(&rbf).unwrap();
    let text_len = u32::from_le_bytes(container[20..24].try_into().unwrap()) as usize;
    let text_at = 28
        + u32::from_le_bytes(container[12..16].try_into().unwrap()) as usize
        + u32::from_le_bytes(container[16..20].try_into().unwrap()) as usize;
    assert_eq!(std::fs::read(&bin).unwrap(), container[text_at..text_at + text_len]);
    // Assembler text and IR.
    assert!(text_of(&path("apps/asm/fletcher32.s")).contains("exit"));
    let ir = text_of(&path("apps/ir/smartlock.air"));
    assert!(ir.starts_with("# container") && ir.contains("\nSetPin:\n"), "{ir}");
}

#[test]
fn json_output() {
    let o = alkyl(&["run", &path("apps/asm/fletcher32.s"), "--mem-file", &path("apps/data/sample-361.bin"), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["r0"], "0xd4ce696f");
    assert!(doc["executed"].as_u64().unwrap() > 0);
    let object = scratch("json-counter.o");
    compile_bpf(Path::new("apps/c/coap_sensor.c"), &object, &[]).unwrap();
    let o = alkyl(&["run", object.to_str().unwrap(), "--context", "coap", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["coap"]["code"], "2.05", "{doc}");
    assert_eq!(doc["coap"]["payload"], "21.50", "{doc}");
    let rbf = scratch("json.rbf");
    let o = alkyl(&["pack", object.to_str().unwrap(), "-o", rbf.to_str().unwrap(), "--stats", "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["bytes"].as_u64().unwrap(), std::fs::metadata(&rbf).unwrap().len());
    assert!(doc["stats"]["heatshrink"].as_u64().unwrap() > 0, "{doc}");
    let o = alkyl(&["verify", &path("apps/asm/fletcher32.s"), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["ok"], true, "{doc}");
    assert!(doc["instructions"].as_u64().unwrap() > 10, "{doc}");
    let o = alkyl(&["keygen", "--out", scratch("json-key").to_str().unwrap(), "--json"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["key_id"].as_str().unwrap().len(), 16, "{doc}");
}

#[test]
fn a_device_that_is_not_there_fails_at_once() {
    // Nothing listens on a port we bound and closed.
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let device = format!("coap://127.0.0.1:{port}");
    let start = Instant::now();
    let o = alkyl(&["ls", "--device", &device]);
    assert!(start.elapsed() < Duration::from_secs(3), "took {:?}", start.elapsed());
    assert!(!o.status.success());
    assert!(text(&o).contains("is unreachable") && text(&o).contains("is the device running"), "{}", text(&o));
}

#[test]
fn a_public_key_given_as_the_secret_key_is_named() {
    let base = scratch("k");
    let o = alkyl(&["keygen", "--out", base.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let env = scratch("env.bin");
    let public = base.with_extension("pub");
    let o = alkyl(&[
        "upload",
        "f",
        &path("apps/asm/fletcher32.s"),
        "--key",
        public.to_str().unwrap(),
        "--version",
        "1",
        "--out",
        env.to_str().unwrap(),
    ]);
    assert!(!o.status.success() && !env.exists());
    assert!(text(&o).contains("is a public key") && text(&o).contains("NAME.key"), "{}", text(&o));
}
