//! Compiles every C kernel three ways: natively (the `cc` crate, linked
//! in), to eBPF (`clang -target bpf`: the object, which the suite packs into
//! a container, and its `.text`, which rbpf runs) and to Wasm (`clang
//! --target=wasm32`, linked by `wasm-ld`), plus the helper-heavy kernel
//! `apps/c/coap_sensor.c` (eBPF only). The kernels are the `*.c` files of
//! `kernels/`, or of the directory `BENCH_KERNELS` names (a user's own
//! kernels, docs/benchmarks.md). Everything lands in `OUT_DIR` and is
//! embedded with `include_bytes!`; `OUT_DIR/kernel_list.rs` lists them.

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

const KERNELS_FROM_MANIFEST: &str = "kernels";
include!("kernels/compile.rs");

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=BENCH_KERNELS");
    let dir = env::var_os("BENCH_KERNELS").map_or_else(|| PathBuf::from("kernels"), PathBuf::from);
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed=kernels");
    let kernels = kernel_sources(&dir);
    let mut native = cc::Build::new();
    native.define("ALKYL_NATIVE", None).opt_level(2).warnings(true).include(kernel_header_dir());
    let mut list = String::new();
    for k in &kernels {
        let name = &k.name;
        println!("cargo:rerun-if-changed={}", k.path.display());
        native.file(&k.path);
        let object = out.join(format!("{name}.bpf.o"));
        compile_ebpf(&k.path, &object);
        ebpf_program(&object, &out.join(format!("{name}.bpf")));
        run_tool(
            Command::new("clang")
                // No libc: -fno-builtin keeps clang from calling memset.
                .args(["--target=wasm32", "-nostdlib", "-fno-builtin", "-O2", "-Wl,--no-entry", "-Wl,--strip-all"])
                .arg(format!("-Wl,--export={name}"))
                // 4 pages: the shadow stack sits in the first, inputs go above it.
                .arg("-Wl,--initial-memory=262144")
                .arg("-I")
                .arg(kernel_header_dir())
                .arg(&k.path)
                .arg("-o")
                .arg(out.join(format!("{name}.wasm"))),
        );
        writeln!(
            list,
            "{{ extern \"C\" {{ fn alkyl_native_{name}(buf: *mut u8, len: u32) -> u32; }}
            Kernel {{ name: {name:?}, native: alkyl_native_{name},
              ebpf: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.bpf\")),
              ebpf_object: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.bpf.o\")),
              wasm: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.wasm\")),
              source: {:?}, input_len: {}, seed: {}, has_data: {}, helpers: {} }} }},",
            std::fs::canonicalize(&k.path).unwrap(),
            k.input_len,
            k.seed,
            has_data(&object),
            k.helpers
        )
        .unwrap();
    }
    native.compile("alkyl_kernels");
    std::fs::write(out.join("kernel_list.rs"), format!("[{list}]")).unwrap();

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
