//! Runs on the build host:
//! - assembles the boot self-test's program (apps/asm/fletcher32.s) with the
//!   project's own assembler, so the firmware carries what the source says;
//! - compiles in the trusted public key named by `ALKYL_TRUSTED_KEY` (a
//!   `NAME.pub` from `alkyl keygen`: 64 hex digits), checked here as an
//!   Ed25519 key, so that a bad file fails the build rather than the boot.
//!   Without it the firmware refuses every change (as `alkyl-node` without
//!   `--trusted-key`).

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    let source = manifest.join("../../apps/asm/fletcher32.s");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = fs::read_to_string(&source).unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let code = alkyl_asm::assemble(&text).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let out = out_dir.join("fletcher32.bin");
    fs::write(&out, code).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));

    println!("cargo:rerun-if-env-changed=ALKYL_TRUSTED_KEY");
    let key = match env::var_os("ALKYL_TRUSTED_KEY").filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = manifest.join(path); // relative paths: to this directory
            println!("cargo:rerun-if-changed={}", path.display());
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("ALKYL_TRUSTED_KEY={}: {e}", path.display()));
            let key = parse_key(text.trim()).unwrap_or_else(|| {
                panic!("ALKYL_TRUSTED_KEY={}: expected 64 hex digits (a NAME.pub from `alkyl keygen`)", path.display())
            });
            alkyl_runtime::Authority::read_only()
                .trust(&key)
                .unwrap_or_else(|e| panic!("ALKYL_TRUSTED_KEY={}: {e}", path.display()));
            format!("Some({key:?})")
        }
        None => "None".to_string(),
    };
    let out = out_dir.join("trusted_key.rs");
    fs::write(&out, format!("pub const TRUSTED_KEY: Option<[u8; 32]> = {key};\n"))
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

/// 64 hex digits as 32 bytes.
fn parse_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}
