//! Runs on the build host:
//! - assembles the boot self-test's program (apps/asm/fletcher32.s) with the
//!   project's own assembler, so the firmware carries what the source says;
//! - compiles in the trusted public key named by `ALKYL_TRUSTED_KEY` (a
//!   `NAME.pub` from `alkyl keygen`: 64 hex digits), checked here as an
//!   Ed25519 key, so that a bad file fails the build rather than the boot.
//!   Without it the firmware refuses every change (as `alkyl-node` without
//!   `--trusted-key`);
//! - compiles in the device's own key from `ALKYL_DEVICE_KEY` (a `NAME.key`
//!   from `alkyl keygen`: the 32-byte secret seed) that signs its reports
//!   (as `alkyl-node --device-key`), and the gateway reports go to from
//!   `ALKYL_GATEWAY` (`[IPV6%ZONE]:PORT/PATH`: an IPv6 address, a numeric
//!   interface for a link-local one, the port, the path; default port 5683,
//!   path `/reports`), both checked here.

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
    println!("cargo:rerun-if-env-changed=ALKYL_DEVICE_KEY");
    let device_key = match env::var_os("ALKYL_DEVICE_KEY").filter(|p| !p.is_empty()) {
        Some(path) => {
            let path = manifest.join(path);
            println!("cargo:rerun-if-changed={}", path.display());
            let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("ALKYL_DEVICE_KEY={}: {e}", path.display()));
            let seed = parse_key(text.trim()).unwrap_or_else(|| {
                panic!("ALKYL_DEVICE_KEY={}: expected 64 hex digits (a NAME.key from `alkyl keygen`)", path.display())
            });
            format!("Some({seed:?})")
        }
        None => "None".to_string(),
    };
    println!("cargo:rerun-if-env-changed=ALKYL_GATEWAY");
    let gateway = match env::var("ALKYL_GATEWAY").ok().filter(|g| !g.is_empty()) {
        Some(g) => {
            let (addr, zone, port, path) =
                parse_gateway(&g).unwrap_or_else(|| panic!("ALKYL_GATEWAY={g}: expected [IPV6%ZONE]:PORT/PATH"));
            format!("Some(({addr:?}, {zone}, {port}, {path:?}))")
        }
        None => "None".to_string(),
    };
    let out = out_dir.join("trusted_key.rs");
    fs::write(
        &out,
        format!(
            "pub const TRUSTED_KEY: Option<[u8; 32]> = {key};\n\
             pub const DEVICE_KEY: Option<[u8; 32]> = {device_key};\n\
             /// (IPv6 address, interface (0: any), port, path).\n\
             pub const GATEWAY: Option<([u8; 16], u32, u16, &str)> = {gateway};\n"
        ),
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}

/// `[IPV6%ZONE]:PORT/PATH` (zone, port and path optional) as the address
/// bytes, the numeric zone, the port and the path.
fn parse_gateway(uri: &str) -> Option<([u8; 16], u32, u16, String)> {
    let rest = uri.strip_prefix("coap://").unwrap_or(uri).strip_prefix('[')?;
    let (host, rest) = rest.split_once(']')?;
    let (addr, zone) = match host.split_once('%') {
        Some((a, z)) => (a, z.parse().ok()?),
        None => (host, 0),
    };
    let addr: std::net::Ipv6Addr = addr.parse().ok()?;
    let (port, path) = match rest.split_once('/') {
        Some((p, path)) => (p, format!("/{path}")),
        None => (rest, "/reports".to_string()),
    };
    let port = match port.strip_prefix(':') {
        Some(p) => p.parse().ok()?,
        None if port.is_empty() => 5683,
        None => return None,
    };
    Some((addr.octets(), zone, port, path))
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
