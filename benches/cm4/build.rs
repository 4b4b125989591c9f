//! Builds what the image embeds: Fletcher32 in C (arm-none-eabi-gcc -Os),
//! its eBPF form (clang), the rBPF paper's input, and the linker script.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

include!("../kernels/compile.rs");

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let src = Path::new("../kernels/fletcher32.c");
    println!("cargo:rerun-if-changed=../kernels");
    println!("cargo:rerun-if-changed=link.x");
    println!("cargo:rerun-if-env-changed=ALKYL_PAPER_INPUT");

    cc::Build::new()
        .compiler("arm-none-eabi-gcc")
        .define("ALKYL_NATIVE", None)
        .opt_level_str("s")
        .flag("-mcpu=cortex-m4")
        .flag("-mthumb")
        .flag("-mfloat-abi=hard")
        .flag("-mfpu=fpv4-sp-d16")
        .file(src)
        .compile("fletcher32_c");

    let object = out.join("fletcher32.bpf.o");
    compile_ebpf(src, &object);
    ebpf_program(&object, &out.join("fletcher32.bpf"));
    let slots = std::fs::metadata(out.join("fletcher32.bpf")).map(|m| m.len() / 8).unwrap_or(0);

    // The rBPF paper's input when present, else the project's own sample
    // (every clone has it), each with the checksum it must give.
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let paper = manifest.join("../../../shared/data/fletcher32-input.bin");
    let (input_path, expected) = match env::var_os("ALKYL_PAPER_INPUT") {
        Some(p) => (PathBuf::from(p), 0x5bac_8c3du32),
        None if paper.is_file() => (paper, 0x5bac_8c3d),
        None => (manifest.join("../../apps/data/sample-361.bin"), 0xd4ce_696f),
    };
    println!("cargo:rerun-if-changed={}", input_path.display());
    let input = std::fs::read(&input_path)
        .unwrap_or_else(|e| panic!("reading the Fletcher32 input {}: {e} (set ALKYL_PAPER_INPUT)", input_path.display()));
    let mut consts = String::new();
    writeln!(consts, "pub const EBPF_SLOTS: usize = {slots};").unwrap();
    writeln!(consts, "pub const EXPECTED: u32 = {expected:#x};").unwrap();
    writeln!(consts, "pub const INPUT: [u8; {}] = {:?};", input.len(), input).unwrap();
    std::fs::write(out.join("consts.rs"), consts).unwrap();

    println!("cargo:rustc-link-search={}", env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rustc-link-arg=-Tlink.x");
}
