//! Compiles every C kernel in `kernels/` three ways: natively (the `cc`
//! crate, linked in), to eBPF (`clang -target bpf`) and to Wasm
//! (`clang --target=wasm32`, linked by `wasm-ld`). The eBPF and Wasm forms
//! land in `OUT_DIR` and are embedded with `include_bytes!`.

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
}
