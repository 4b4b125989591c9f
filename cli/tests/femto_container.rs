//! Femto-Container applications as their authors build them
//! (`testkit/fixtures/femto-container`: their CoAP examples and headers,
//! `clang -Os -emit-llvm | llc -march=bpf -mcpu=v2`), through `alkyl`:
//! unwind and debug sections ignored, the Femto-Container calling
//! convention, the packet a region with bounds, the compressed flag
//! refused with what to do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use alkyl_testkit::clang::{compile_femto_container, femto_container_fixtures};

fn alkyl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_alkyl")).args(args).output().expect("run alkyl")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A directory of its own for each call: the tests run in parallel and
/// compile the same examples, so no two may write the same file.
fn scratch() -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("alkyl-fc-test-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One of their examples, compiled their way.
fn fc_object(name: &str) -> PathBuf {
    let out = scratch().join(format!("{name}.o"));
    compile_femto_container(&femto_container_fixtures().join(format!("{name}.c")), &out)
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// C source compiled their way against their headers.
fn fc_source(name: &str, source: &str) -> PathBuf {
    let c = scratch().join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let out = c.with_extension("o");
    compile_femto_container(&c, &out).unwrap_or_else(|e| panic!("{e}"));
    out
}

fn has_section(object: &Path, name: &str) -> bool {
    let bytes = std::fs::read(object).unwrap();
    bytes.windows(name.len()).any(|w| w == name.as_bytes())
}

#[test]
fn their_objects_carry_eh_frame_and_pack_verify_and_run() {
    let o = fc_object("sample_gcoap");
    assert!(has_section(&o, ".eh_frame"), "the Femto-Container pipeline emits .eh_frame");
    let rbf = scratch().join("sample_gcoap.rbf");
    let p = alkyl(&["pack", o.to_str().unwrap(), "-o", rbf.to_str().unwrap()]);
    assert!(p.status.success(), "{}", text(&p));
    let v = alkyl(&["verify", o.to_str().unwrap()]);
    assert!(v.status.success() && text(&v).trim() == "ok", "{}", text(&v));
    let v = alkyl(&["verify", rbf.to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
}

#[test]
fn sample_gcoap_runs_unchanged_by_the_femto_container_convention() {
    let o = fc_object("sample_gcoap");
    let r = alkyl(&["run", o.to_str().unwrap(), "--context", "coap", "--convention", "femto-container"]);
    assert!(r.status.success(), "{}", text(&r));
    // 4-byte header, 2-byte token, payload marker, "hello": r0 = 12.
    assert_eq!(text(&r), "coap 2.05 payload \"hello\"\n0xc\n");
    // Alkyl's convention gives it the payload in r1, not a context: it traps.
    let r = alkyl(&["run", o.to_str().unwrap(), "--context", "coap"]);
    assert!(!r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("memory fault"), "{}", text(&r));
}

#[test]
fn the_convention_is_declared_in_the_container() {
    let o = fc_object("counter_fetch_gcoap");
    let rbf = scratch().join("counter_fetch_gcoap.rbf");
    let p = alkyl(&["pack", o.to_str().unwrap(), "-o", rbf.to_str().unwrap(), "--convention", "femto-container"]);
    assert!(p.status.success(), "{}", text(&p));
    // No flag needed: the container says it.
    let r = alkyl(&["run", rbf.to_str().unwrap(), "--context", "coap"]);
    assert!(r.status.success(), "{}", text(&r));
    // Content-Format option (1 byte) after the 6-byte header, marker, "0".
    assert_eq!(text(&r), "coap 2.05 payload \"0\"\n0x9\n");
    // gen_rbf-style containers have no trailer to declare it in.
    let compat = scratch().join("compat.rbf");
    let p = alkyl(&["pack", o.to_str().unwrap(), "-o", compat.to_str().unwrap(), "--compat"]);
    assert!(p.status.success(), "{}", text(&p));
    let r = alkyl(&["run", compat.to_str().unwrap(), "--context", "coap", "--convention", "femto-container"]);
    assert!(!r.status.success());
    assert!(text(&r).contains("alkyl pack --convention femto-container"), "{}", text(&r));
}

#[test]
fn alkyl_ir_keeps_alkyls_convention() {
    let ir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/ir/smartlock.air");
    let r = alkyl(&["run", ir.to_str().unwrap(), "--convention", "femto-container"]);
    assert!(!r.status.success());
    assert!(text(&r).contains("Alkyl IR runs by Alkyl's convention only"), "{}", text(&r));
}

#[test]
fn the_packet_is_a_region_with_bounds() {
    // The handler writes at every address its 32-bit pointers allow: the
    // last byte of the packet buffer is writable, the next one is not.
    let src = |at: &str| {
        format!(
            "#include \"bpf/bpfapi/helpers.h\"\n\
             int coap_resp(bpf_coap_ctx_t *gcoap) {{\n\
                 uint8_t *p = (uint8_t *)(intptr_t)(uint32_t)({at});\n\
                 *p = 1;\n\
                 return *p;\n\
             }}\n"
        )
    };
    let inside = fc_source("inside", &src("gcoap->buf_len - 1"));
    let r = alkyl(&["run", inside.to_str().unwrap(), "--context", "coap", "--convention", "femto-container"]);
    assert!(r.status.success(), "{}", text(&r));
    assert_eq!(text(&r).trim(), "0x1");
    let outside = fc_source("outside", &src("gcoap->buf_len"));
    let r = alkyl(&["run", outside.to_str().unwrap(), "--context", "coap", "--convention", "femto-container"]);
    assert!(!r.status.success(), "{}", text(&r));
    assert!(text(&r).contains("memory fault: write of 1 bytes at 0x100: out of region bounds"), "{}", text(&r));
    // The coap_pkt_t and the context: pkt's bytes are writable, the
    // context is not.
    let ctx = fc_source(
        "ctx",
        "#include \"bpf/bpfapi/helpers.h\"\nint coap_resp(bpf_coap_ctx_t *g) { g->buf_len = 1; return 0; }\n",
    );
    let r = alkyl(&["run", ctx.to_str().unwrap(), "--context", "coap", "--convention", "femto-container"]);
    assert!(!r.status.success() && text(&r).contains("memory fault"), "{}", text(&r));
}

#[test]
fn compressed_containers_are_refused_with_what_to_do() {
    let o = fc_object("sample_gcoap");
    let rbf = scratch().join("compressed.rbf");
    let p = alkyl(&["pack", o.to_str().unwrap(), "-o", rbf.to_str().unwrap(), "--compat"]);
    assert!(p.status.success(), "{}", text(&p));
    // gen_rbf.py --compress sets flag 0x1.
    let mut bytes = std::fs::read(&rbf).unwrap();
    bytes[8] |= 1;
    std::fs::write(&rbf, &bytes).unwrap();
    for cmd in ["verify", "run"] {
        let r = alkyl(&[cmd, rbf.to_str().unwrap()]);
        assert!(!r.status.success(), "{}", text(&r));
        let t = text(&r);
        assert!(t.contains("gen_rbf.py --compress") && t.contains("without --compress"), "{t}");
    }
}
