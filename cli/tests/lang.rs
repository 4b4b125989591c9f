//! `.alkyl` sources through the `alkyl` binary: `alkyl build`, the
//! commands that take a program, SystemCalls by their source names, string
//! arguments, and diagnostics.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{alkyl, scratch};

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn app(name: &str) -> String {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/alkyl").join(name);
    p.to_str().unwrap().to_string()
}

#[test]
fn build_emits_module_text_and_container() {
    let lock = app("smartlock.alkyl");
    for (emit, name, magic) in
        [("ir-binary", "lock.akir", &b"AKIR"[..]), ("ir-text", "lock.air", b".mem"), ("container", "lock.rbf", b"rBPF")]
    {
        let out = scratch(name);
        let o = alkyl(&["build", &lock, "--emit", emit, "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{:?}", text(&o));
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.starts_with(magic), "{emit}: {:?}", &bytes[..8]);
    }
    // The IR text assembles back into the module.
    let o = alkyl(&["ir", "check", scratch("lock.air").to_str().unwrap()]);
    assert_eq!(text(&o).0.trim(), "ok: SetPin, KeyPressed");
    let o = alkyl(&["verify", &lock]);
    assert!(o.status.success() && text(&o).0.contains("ok"), "{:?}", text(&o));
}

#[test]
fn ir_run_names_the_system_calls() {
    let mut args = vec!["ir", "run", "", "--call", "SetPin:\"1234\",60000"];
    let lock = app("smartlock.alkyl");
    args[2] = &lock;
    let keys: Vec<String> = "12341299".chars().map(|c| format!("KeyPressed:'{c}'")).collect();
    for k in &keys {
        args.extend_from_slice(&["--call", k]);
    }
    let o = alkyl(&args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let calls: Vec<&str> = out.lines().filter(|l| l.starts_with("SystemCall")).collect();
    assert_eq!(calls, ["SystemCall Unlock", "SystemCall IncorrectBeep"], "{out}");
    // Each SystemCall follows the call that made it.
    let lines: Vec<&str> = out.lines().collect();
    let unlock = lines.iter().position(|l| *l == "SystemCall Unlock").unwrap();
    assert_eq!(lines[unlock - 1], "KeyPressed: 0x0");
    assert_eq!(lines.iter().filter(|l| l.starts_with("KeyPressed")).count(), 8);
    // The same with the interpreter checking the VM.
    args.push("--check");
    let o = alkyl(&args);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(text(&o).0, out);
}

#[test]
fn run_takes_source_and_string_arguments() {
    let f = app("fletcher32.alkyl");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/data/sample-361.bin");
    let o = alkyl(&["run", &f, "--entry", "fletcher32", "--arg", "361", "--mem-file", data.to_str().unwrap()]);
    assert_eq!(text(&o).0.trim(), "0xd4ce696f", "{:?}", text(&o));
    let o = alkyl(&["run", &app("smartlock.alkyl"), "--entry", "SetPin", "--arg", "\"1234\"", "--arg", "60000"]);
    assert_eq!(text(&o).0.trim(), "0x0", "{:?}", text(&o));
    let o = alkyl(&["run", &app("smartlock.alkyl"), "--entry", "SetPin", "--arg", "\"123456789\""]);
    assert!(!o.status.success() && text(&o).1.contains("longer than 8 bytes"), "{:?}", text(&o));
}

#[test]
fn diagnostics_name_file_line_column() {
    let bad = scratch("bad.alkyl");
    std::fs::write(&bad, "uint8_t x;\npublic void F(uint32_t y) {\n    x = y;\n}\n").unwrap();
    for cmd in [&["build"][..], &["verify"], &["ir", "translate"]] {
        let mut args = cmd.to_vec();
        args.push(bad.to_str().unwrap());
        let o = alkyl(&args);
        let (_, err) = text(&o);
        assert!(!o.status.success());
        assert!(err.contains("bad.alkyl:3:9"), "{cmd:?}: {err}");
        assert!(err.contains("expected a uint8_t, found a uint32_t") && err.contains('^'), "{err}");
    }
}
