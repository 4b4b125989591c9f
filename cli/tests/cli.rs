//! The `alkyl` binary, driven as a user would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod common;
use common::{alkyl, scratch};

/// `alkyl ARGS` with `stdin` on its standard input.
fn alkyl_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alkyl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run alkyl");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
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

use alkyl_testkit::oracle::{self, fletcher32};

#[test]
fn fletcher32_sample_runs_on_the_vm() {
    let src = repo().join("apps/asm/fletcher32.s");
    let input = repo().join("apps/data/sample-361.bin");
    let expected = fletcher32(&std::fs::read(&input).unwrap());
    let out = alkyl(&["run", src.to_str().unwrap(), "--mem-file", input.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("{expected:#x}"));
}

#[test]
fn fletcher32_matches_the_paper_when_its_input_is_present() {
    let Some(paper) = oracle::paper_input("apps/asm/fletcher32.s on the paper's input") else { return };
    let src = repo().join("apps/asm/fletcher32.s");
    let out = alkyl(&["run", src.to_str().unwrap(), "--mem-file", paper.to_str().unwrap()]);
    assert_eq!(stdout(&out).trim(), format!("{:#x}", oracle::PAPER_FLETCHER32), "{}", stderr(&out));
}

#[test]
fn asm_disasm_round_trip_through_files() {
    let src = repo().join("apps/asm/fletcher32.s");
    let bin = scratch("f.bin");
    let out = alkyl(&["asm", src.to_str().unwrap(), "-o", bin.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = alkyl(&["disasm", bin.to_str().unwrap()]);
    assert!(text.status.success());
    let again = scratch("f2.s");
    std::fs::write(&again, stdout(&text)).unwrap();
    let bin2 = scratch("f2.bin");
    assert!(alkyl(&["asm", again.to_str().unwrap(), "-o", bin2.to_str().unwrap()]).status.success());
    assert_eq!(std::fs::read(&bin).unwrap(), std::fs::read(&bin2).unwrap());
}

#[test]
fn verify_reports_ok_or_the_rule_and_index() {
    let good = scratch("good.s");
    std::fs::write(&good, "mov %r0, 1\nexit\n").unwrap();
    let out = alkyl(&["verify", good.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "ok");

    let bad = scratch("bad.bin");
    // mov r0, 1 ; jeq r0, 0, +5 ; exit
    let code: Vec<u8> =
        [[0xb7, 0, 0, 0, 1, 0, 0, 0], [0x15, 0, 5, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]].concat();
    std::fs::write(&bad, code).unwrap();
    let out = alkyl(&["verify", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("instruction 1") && err.contains("jump target 7"), "{err}");
    assert_eq!(err.lines().count(), 1, "one clear line: {err}");
}

#[test]
fn run_traps_exit_nonzero_with_the_trap() {
    let lp = scratch("loop.s");
    std::fs::write(&lp, "l:\nja l\n").unwrap();
    let out = alkyl(&["run", lp.to_str().unwrap(), "--budget", "1000"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("budget exhausted"), "{}", stderr(&out));

    let oob = scratch("oob.s");
    std::fs::write(&oob, "ldxw %r0, [%r1+2]\nexit\n").unwrap();
    let out = alkyl(&["run", oob.to_str().unwrap(), "--mem", "01 02 03 04"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("out of region bounds"), "{}", stderr(&out));
    let out = alkyl(&["run", oob.to_str().unwrap(), "--mem", "010203040506"]);
    assert_eq!(stdout(&out).trim(), "0x6050403");
}

#[test]
fn conformance_plugin_protocol() {
    // Program on stdin, memory as the first argument, r0 in hex on stdout.
    // ldxb r0, [r1+2] ; exit
    let ldxb_2 = b"71  10  02  00  00  00  00  00  95  00  00  00  00  00  00  00\n";
    let out = alkyl_with_stdin(&["bpf-conformance-plugin", "05  06  07", ""], ldxb_2);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "0x7");
    // The runner's own order: memory hex before the `--plugin_options`
    // words (`--plugin_path alkyl --plugin_options "bpf-conformance-plugin
    // --engine fast"`), on both engines.
    for options in [&["bpf-conformance-plugin"][..], &["bpf-conformance-plugin", "--engine", "fast"]] {
        // ldxb r0, [r1+3] ; exit
        let ldxb_3 = b"71 10 03 00 00 00 00 00 95 00 00 00 00 00 00 00\n";
        let out = alkyl_with_stdin(&[&["05060708"][..], options].concat(), ldxb_3);
        assert!(out.status.success(), "{options:?}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "0x8", "{options:?}");
    }
    // A word before the subcommand that is not hex is not moved.
    assert!(!alkyl(&["nothex", "bpf-conformance-plugin", "--program", "9500000000000000"]).status.success());
    // Errors go to stderr with a non-zero exit.
    let out = alkyl(&["bpf-conformance-plugin", "", "--program", "0000000000000000"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unknown opcode"));
}

// `alkyl ir …`

fn app(name: &str) -> String {
    repo().join("apps/ir").join(name).to_str().unwrap().to_string()
}

#[test]
fn ir_asm_disasm_round_trip() {
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
fn translate_writes_a_container_that_runs_as_any_script() {
    let rbf = scratch("fletcher32.rbf");
    let out = alkyl(&["ir", "translate", &app("fletcher32.air"), "-o", rbf.to_str().unwrap(), "--disasm", "--stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("; public fletcher32/1 at instruction 0"), "{}", stdout(&out));
    assert!(stdout(&out).contains("jlt32"), "{}", stdout(&out));
    assert!(stdout(&out).contains("heatshrink(8,4)"), "{}", stdout(&out));
    assert_eq!(&std::fs::read(&rbf).unwrap()[..4], b"rBPF");
    let verified = alkyl(&["verify", rbf.to_str().unwrap(), "--entry", "fletcher32"]);
    assert_eq!(stdout(&verified).trim(), "ok", "{}", stderr(&verified));
    // The argument is the input's first slot; the data follow it.
    let sample = repo().join("apps/data/sample-361.bin");
    let expected = fletcher32(&std::fs::read(&sample).unwrap());
    let run = ["run", rbf.to_str().unwrap(), "--entry", "fletcher32", "--arg", "361"];
    let out = alkyl(&[&run[..], &["--mem-file", sample.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), format!("{expected:#x}"));
}

#[test]
fn run_and_verify_take_ir_text_and_modules() {
    let sample = repo().join("apps/data/sample-361.bin");
    let expected = format!("{:#x}", fletcher32(&std::fs::read(&sample).unwrap()));
    let module = scratch("fletcher32.akir");
    assert!(alkyl(&["ir", "asm", &app("fletcher32.air"), "-o", module.to_str().unwrap()]).status.success());
    // Detected by extension (.air) and by magic (a binary module named anything).
    let odd_name = scratch("fletcher32.module");
    std::fs::copy(&module, &odd_name).unwrap();
    for file in [app("fletcher32.air"), module.to_str().unwrap().into(), odd_name.to_str().unwrap().into()] {
        let out = alkyl(&["verify", &file]);
        assert_eq!(stdout(&out).trim(), "ok", "{file}: {}", stderr(&out));
        let run = ["run", &file, "--entry", "fletcher32", "--arg", "361", "--mem-file", sample.to_str().unwrap()];
        let out = alkyl(&run);
        assert_eq!(stdout(&out).trim(), expected, "{file}: {}", stderr(&out));
    }
    // The lock's SetPin as one run: r0 = 0 (state does not persist across runs).
    let out = alkyl(&["run", &app("smartlock.air"), "--entry", "SetPin", "--arg", "0x34333231", "--arg", "1700000060"]);
    assert_eq!(stdout(&out).trim(), "0x0", "{}", stderr(&out));
    // An invalid module is refused with the function and position.
    let bad = scratch("bad-run.air");
    std::fs::write(&bad, ".public f\n ADD\n STOP\n").unwrap();
    let out = alkyl(&["verify", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("function `f` at byte 0"), "{}", stderr(&out));
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
        "SetPin:0x34333231,1700000060",
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
        "SetPin: 0x0\nKeyPressed: 0x0\nKeyPressed: 0x0\nKeyPressed: 0x0\nKeyPressed: 0x1\nactuator 4 <- 1\n"
    );
}

#[test]
fn run_reports_traps_with_a_failing_status() {
    let out = alkyl(&["ir", "run", &app("fletcher32.air"), "--call", "fletcher32:10", "--input", "0102"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("trap: input access out of bounds"), "{}", stdout(&out));
}
