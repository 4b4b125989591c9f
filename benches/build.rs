//! Compiles every C kernel in `kernels/` three ways: natively (the `cc`
//! crate, linked in), to eBPF (`clang -target bpf`: the object, which the
//! suite packs into a container, and its `.text`, which rbpf runs) and to
//! Wasm (`clang --target=wasm32`, linked by `wasm-ld`), plus the helper-heavy
//! kernel `apps/c/coap_sensor.c` (eBPF only). Everything lands in `OUT_DIR`
//! and is embedded with `include_bytes!`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

include!("kernels/compile.rs");

/// The kernels, by file stem; each defines `KERNEL(<stem>)`.
const KERNELS: &[&str] = &["fletcher32", "crc32", "fnv1a", "bubble_sort", "kv_store"];

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let dir = Path::new("kernels");
    println!("cargo:rerun-if-changed=kernels");
    let mut native = cc::Build::new();
    native.define("ALKYL_NATIVE", None).opt_level(2).warnings(true);
    for k in KERNELS {
        let src = dir.join(format!("{k}.c"));
        native.file(&src);
        let object = out.join(format!("{k}.bpf.o"));
        compile_ebpf(&src, &object);
        ebpf_program(&object, &out.join(format!("{k}.bpf")));
        run_tool(
            Command::new("clang")
                // No libc: -fno-builtin keeps clang from calling memset.
                .args(["--target=wasm32", "-nostdlib", "-fno-builtin", "-O2", "-Wl,--no-entry", "-Wl,--strip-all"])
                .arg(format!("-Wl,--export={k}"))
                // 4 pages: the shadow stack sits in the first, inputs go above it.
                .arg("-Wl,--initial-memory=262144")
                .arg(&src)
                .arg("-o")
                .arg(out.join(format!("{k}.wasm"))),
        );
    }
    native.compile("alkyl_kernels");

    // The helper-heavy kernel: the example app answering a CoAP request
    // with a sensor reading, with the flags `make apps` uses.
    println!("cargo:rerun-if-changed=../apps/c/coap_sensor.c");
    println!("cargo:rerun-if-changed=../apps/bpf.flags");
    println!("cargo:rerun-if-changed=../bindings/include/alkyl.h");
    let flags = std::fs::read_to_string("../apps/bpf.flags").expect("apps/bpf.flags");
    run_tool(
        Command::new("clang")
            .current_dir("..")
            .args(flags.split_whitespace())
            .arg("-c")
            .arg("apps/c/coap_sensor.c")
            .arg("-o")
            .arg(out.join("coap_sensor.bpf.o")),
    );
}
