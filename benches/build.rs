//! Compiles every C kernel in `kernels/` three ways: natively (the `cc`
//! crate, linked in), to eBPF (`clang -target bpf`) and to Wasm
//! (`clang --target=wasm32`, linked by `wasm-ld`). The eBPF and Wasm forms
//! land in `OUT_DIR` and are embedded with `include_bytes!`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The kernels, by file stem; each defines `KERNEL(<stem>)`.
const KERNELS: &[&str] = &["fletcher32", "crc32", "fnv1a", "bubble_sort", "kv_store"];

fn run(cmd: &mut Command) {
    let status =
        cmd.status().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is clang/lld installed? `make bench-deps`)"));
    assert!(status.success(), "{cmd:?} failed with {status}");
}

/// Turns a clang BPF object into the bytes Alkyl loads. Today: the raw
/// `.text` section (the kernels use no globals, rodata or helpers, so no
/// relocation is needed). After the container work lands this is the one
/// place to switch to `alkyl pack app.o -o app.rbf`.
fn ebpf_program(object: &Path, out: &Path) {
    run(Command::new("llvm-objcopy").args(["-O", "binary", "--only-section=.text"]).arg(object).arg(out));
}

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
        // v3: 32-bit subregisters and JMP32, which clang uses for `u32` code.
        run(Command::new("clang").args(["-target", "bpf", "-mcpu=v3", "-O2", "-c"]).arg(&src).arg("-o").arg(&object));
        ebpf_program(&object, &out.join(format!("{k}.bpf")));
        run(Command::new("clang")
            .args(["--target=wasm32", "-nostdlib", "-fno-builtin", "-O2", "-Wl,--no-entry", "-Wl,--strip-all"])
            // No libc: -fno-builtin keeps clang from calling memset.
            .arg(format!("-Wl,--export={k}"))
            // 4 pages: the shadow stack sits in the first, inputs go above it.
            .arg("-Wl,--initial-memory=262144")
            .arg(&src)
            .arg("-o")
            .arg(out.join(format!("{k}.wasm"))));
    }
    native.compile("alkyl_kernels");
}
