//! `alkyl ir …`, driven as a user would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn alkyl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alkyl")).args(args).output().expect("run alkyl")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn app(name: &str) -> String {
    repo().join("apps/ir").join(name).to_str().unwrap().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("alkyl-ir-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn asm_disasm_round_trip() {
    let bin = scratch("lock.akir");
    let out = alkyl(&["ir", "asm", &app("smartlock.air"), "-o", bin.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = alkyl(&["ir", "disasm", bin.to_str().unwrap()]);
    assert!(listing.status.success(), "{}", stderr(&listing));
    let text = scratch("lock2.air");
    std::fs::write(&text, stdout(&listing)).unwrap();
    let bin2 = scratch("lock2.akir");
    assert!(alkyl(&["ir", "asm", text.to_str().unwrap(), "-o", bin2.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(&bin2).unwrap());
    // `check` takes the binary form as well as text.
    let out = alkyl(&["ir", "check", bin.to_str().unwrap()]);
    assert_eq!(stdout(&out).trim(), "ok: SetPin, KeyPressed");
}

#[test]
fn check_reports_function_position_and_reason() {
    let bad = scratch("bad.air");
    std::fs::write(&bad, ".public good\n STOP\n.deviceevent Broken w8\n ARG 0\n PUSH 1\n ADD\n RETURN\n").unwrap();
    let out = alkyl(&["ir", "check", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("function `Broken` at byte 4") && err.contains("expected w32"), "{err}");
    let bad = scratch("bad2.air");
    std::fs::write(&bad, ".public f\n JUMP nowhere\n").unwrap();
    let out = alkyl(&["ir", "check", bad.to_str().unwrap()]);
    assert!(stderr(&out).contains("line 2: undefined label `nowhere`"), "{}", stderr(&out));
}

#[test]
fn translate_writes_verified_ebpf() {
    let out_bin = scratch("f.bin");
    let out = alkyl(&["ir", "translate", &app("fletcher32.air"), "-o", out_bin.to_str().unwrap(), "--disasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("; public fletcher32/1 at instruction 0"), "{}", stdout(&out));
    assert!(stdout(&out).contains("jlt32"), "{}", stdout(&out));
    let verified = alkyl(&["verify", out_bin.to_str().unwrap()]);
    assert_eq!(stdout(&verified).trim(), "ok", "{}", stderr(&verified));
}

#[test]
fn run_fletcher_checked_against_the_interpreter() {
    let sample = repo().join("apps/data/sample-361.bin");
    let out = alkyl(&[
        "ir",
        "run",
        &app("fletcher32.air"),
        "--call",
        "fletcher32:361",
        "--input-file",
        sample.to_str().unwrap(),
        "--check",
        "--stats",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "fletcher32: 0xd4ce696f");
    assert!(stderr(&out).contains("eBPF instructions"));
}

#[test]
fn run_the_lock_as_a_sequence_of_events() {
    let out = alkyl(&[
        "ir",
        "run",
        &app("smartlock.air"),
        "--clock",
        "1000",
        "--call",
        "SetPin:0x34333231,60000",
        "--call",
        "KeyPressed:'1'",
        "--call",
        "KeyPressed:'2'",
        "--call",
        "KeyPressed:'3'",
        "--call",
        "KeyPressed:'4'",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "SetPin: 0x0\nKeyPressed: 0x0\nKeyPressed: 0x0\nKeyPressed: 0x0\nKeyPressed: 0x1\nactuator 1 <- 1\n"
    );
}

#[test]
fn run_reports_traps_with_a_failing_status() {
    let out = alkyl(&["ir", "run", &app("fletcher32.air"), "--call", "fletcher32:10", "--input", "0102"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("trap: input access out of bounds"), "{}", stdout(&out));
}
