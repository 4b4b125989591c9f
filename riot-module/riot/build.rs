//! Assembles the built-in eBPF program (apps/asm/fletcher32.s) with the
//! project's own assembler, so the firmware always carries what the source
//! says. Runs on the build host.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let source = manifest.join("../../apps/asm/fletcher32.s");
    println!("cargo:rerun-if-changed={}", source.display());

    let text = fs::read_to_string(&source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let code = alkyl_translator::ebpf::assemble(&text).unwrap_or_else(|e| panic!("{}: {e}", source.display()));

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("fletcher32.bin");
    fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
