//! `alkyl-bench-size`: the device runtime's footprint. Builds the
//! bare-metal size images of `benches/size` (thumbv7em-none-eabihf, the
//! nRF52840 memory map, opt-level "s" and "z" for the IR translator crate,
//! fat LTO), one per feature set, prints their flash and RAM, what Alkyl
//! adds to the "none" image and the IR translator to runtime-fast, and
//! writes `target/bench/size.json`: `{"images": {NAME: {"flash", "ram"}},
//! "breakdown": {"runtime-fast": {GROUP: bytes}}}`.
//!
//! Usage: `alkyl-bench-size [--out PATH]` (`make bench-size`).
//!
//! Method. flash = `.vector_table + .text + .rodata + .data`, ram =
//! `.data + .bss` (the heap and the stack come on top, at run time).
//! Every image holds the same frame (vectors, reset, panic handler,
//! allocator), so Alkyl's flash is an image's minus "none". The breakdown
//! sums the sizes of the image's flash symbols (`llvm-nm --print-size -C`),
//! grouped by the crate that defines them (generic code by the crate of
//! the generic: `BTreeMap<alkyl_runtime::…>::insert` counts as `alloc`),
//! `core::fmt` (the module and every `Debug`/`Display`/`Write` impl) apart
//! from the rest of `core`; what no symbol covers (string and table
//! constants, panic locations, padding) is "constants without symbols".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use alkyl_benches::elf::{flash, run, sections, static_ram};
use serde_json::{json, Map, Value};

/// Images: (name, cargo feature arguments).
const IMAGES: &[(&str, &[&str])] = &[
    ("none", &[]),
    ("runtime-compact", &["--features", "runtime"]),
    ("runtime-fast", &["--features", "fast"]),
    ("runtime-fast-ir", &["--features", "fast,ir"]),
    // The records in the flash store (alkyl-flash over NOR flash), as the
    // RIOT firmware keeps them: the store's own cost over runtime-fast.
    ("runtime-fast-flash", &["--features", "fast,flash"]),
];
/// The images whose symbols are broken down.
const BREAKDOWN: &[&str] = &["runtime-fast", "runtime-fast-ir"];
/// The goals (bytes over "none"), from issue 14.
const GOALS: &[(&str, u64)] = &[("runtime-compact", 32 * 1024), ("runtime-fast", 48 * 1024)];
/// The goals of what one image adds over another (image, over, bytes):
/// the on-device IR translator, from issue 14.
const GOALS_OVER: &[(&str, &str, u64)] = &[("runtime-fast-ir", "runtime-fast", 24 * 1024)];

fn main() -> Result<(), String> {
    report()
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds image `name`; returns a copy of its ELF (the builds share one
/// target directory, so the next build overwrites the original).
fn build(name: &str, features: &[&str]) -> Result<PathBuf, String> {
    let target = repo().join("target/size");
    run(Command::new(env!("CARGO"))
        .current_dir(repo().join("benches/size"))
        .args(["build", "--release", "--target", "thumbv7em-none-eabihf"])
        .args(features)
        .env("CARGO_TARGET_DIR", &target))?;
    let elf = target.join(format!("{name}.elf"));
    std::fs::copy(target.join("thumbv7em-none-eabihf/release/alkyl-size"), &elf)
        .map_err(|e| format!("copying the {name} image: {e}"))?;
    Ok(elf)
}

/// LLVM 14's demangler leaves the legacy escapes of `impl` paths
/// (`_$LT$impl$u20$alkyl_runtime..Runtime$GT$`): undoes the ones that
/// matter for grouping.
fn unescape(name: &str) -> String {
    let name = name.strip_prefix('_').filter(|n| n.starts_with('$')).unwrap_or(name);
    [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$u20$", " "),
        ("$RF$", "&"),
        ("$BP$", "*"),
        ("$u5b$", "["),
        ("$C$", ","),
        ("..", "::"),
    ]
    .iter()
    .fold(name.to_string(), |n, (from, to)| n.replace(from, to))
}

/// The images' functions that hold the runtime's entry points (inlined
/// into them by LTO), and what they call.
const ENTRY_POINTS: &[(&str, &str)] = &[
    ("alkyl_size::image::boot", "alkyl_runtime (Runtime::new, inlined into the image)"),
    ("alkyl_size::image::request", "alkyl_runtime (CoAP handler, inlined into the image)"),
    ("alkyl_size::image::poll", "alkyl_runtime (poll, inlined into the image)"),
];

/// The error texts, written without `core::fmt` (`alkyl_vm::describe`:
/// every `Describe`/`Sink` impl, whatever type it is for, and the digits).
const DESCRIBE: &str = "error texts (alkyl_vm::describe)";
const DESCRIBE_PATH: &str = "alkyl_vm::describe::";

/// The group a demangled symbol counts in.
fn group(name: &str) -> String {
    let name = &unescape(name);
    if name.starts_with(".Lanon.") {
        return "constants without symbols".into();
    }
    if let Some((_, g)) = ENTRY_POINTS.iter().find(|(f, _)| name.starts_with(f)) {
        return g.to_string();
    }
    // `<T as Trait>::f`: formatting impls count as core::fmt, the error
    // texts written without it (`alkyl_vm::describe`) as theirs, the rest
    // by T.
    let name = match name.strip_prefix('<') {
        Some(rest) => {
            if let Some((_, tr)) = rest.split_once(" as ") {
                if tr.starts_with("core::fmt::") {
                    return "core::fmt".into();
                }
                if tr.starts_with(DESCRIBE_PATH) {
                    return DESCRIBE.into();
                }
            }
            rest.trim_start_matches("impl ")
                .trim_start_matches(['&', '*', '[', '(', '<'])
                .trim_start_matches("mut ")
                .trim_start_matches("const ")
        }
        None => name,
    };
    if name.starts_with("core::fmt::") {
        return "core::fmt".into();
    }
    if name.starts_with(DESCRIBE_PATH) {
        return DESCRIBE.into();
    }
    match name.split_once("::") {
        Some((krate, _)) if !krate.is_empty() && krate.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            match krate {
                "alkyl_size" => "image frame (reset, vectors, allocator, stubs)".into(),
                k => k.into(),
            }
        }
        // C symbols: compiler builtins (`__aeabi_*`, `memcpy`...) and the
        // image's own (`reset`, the vector table).
        _ if name.starts_with("__") || name.starts_with("mem") => "compiler_builtins".into(),
        // Salty's field arithmetic in Cortex-M4 assembly.
        _ if name.starts_with("fe25519_") => "salty".into(),
        _ => "image frame (reset, vectors, allocator, stubs)".into(),
    }
}

/// Flash bytes per group of the image's symbols, plus what no symbol covers.
fn breakdown(elf: &Path, flash_bytes: u64) -> Result<BTreeMap<String, u64>, String> {
    let text = run(Command::new("llvm-nm").args(["--print-size", "--size-sort", "-C", "--radix=d"]).arg(elf))?;
    let mut seen = std::collections::BTreeSet::new();
    let mut groups = BTreeMap::new();
    let mut covered = 0;
    for line in text.lines() {
        let mut f = line.splitn(4, ' ');
        let (Some(addr), Some(size), Some(kind), Some(name)) = (f.next(), f.next(), f.next(), f.next()) else {
            continue;
        };
        // Flash: code, read-only data, initialized data (copied from flash).
        if !matches!(kind, "t" | "T" | "r" | "R" | "d" | "D") || !seen.insert(addr.to_string()) {
            continue;
        }
        let size: u64 = size.parse().map_err(|_| format!("bad llvm-nm line: {line}"))?;
        *groups.entry(group(name)).or_insert(0) += size;
        covered += size;
    }
    *groups.entry("constants without symbols".into()).or_insert(0) += flash_bytes.saturating_sub(covered);
    Ok(groups)
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn report() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut out = repo().join("target/bench/size.json");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().ok_or("--out needs a path")?.into(),
            other => return Err(format!("unknown argument {other} (usage: alkyl-bench-size [--out PATH])")),
        }
    }
    let mut images = Map::new();
    let mut breakdowns = Map::new();
    let mut base = (0, 0);
    let mut flashes: BTreeMap<&str, u64> = BTreeMap::new();
    println!("{:<18} {:>9} {:>7} {:>12} {:>8}", "image", "flash", "ram", "over none", "goal");
    for (name, features) in IMAGES {
        let elf = build(name, features)?;
        let s = sections(&elf)?;
        let (fl, ram) = (flash(&s), static_ram(&s));
        if *name == "none" {
            base = (fl, ram);
        }
        let goal = GOALS.iter().find(|(n, _)| n == name).map_or(String::new(), |(_, g)| format!("≤ {}", kib(*g)));
        println!("{name:<18} {fl:>9} {ram:>7} {:>12} {goal:>8}", kib(fl - base.0));
        images.insert(name.to_string(), json!({"flash": fl, "ram": ram}));
        flashes.insert(name, fl);
        for (_, over, g) in GOALS_OVER.iter().filter(|(n, _, _)| n == name) {
            if let Some(&o) = flashes.get(over) {
                println!(
                    "    +{} B over {over} ({}, goal ≤ +{})",
                    fl.saturating_sub(o),
                    kib(fl.saturating_sub(o)),
                    kib(*g)
                );
            }
        }
        if BREAKDOWN.contains(name) {
            let groups = breakdown(&elf, fl)?;
            let mut sorted: Vec<_> = groups.iter().collect();
            sorted.sort_by(|a, b| b.1.cmp(a.1));
            for (g, b) in &sorted {
                println!("    {b:>8}  {g}");
            }
            breakdowns.insert(name.to_string(), json!(groups));
        }
    }
    let doc = json!({
        "images": Value::Object(images),
        "breakdown": Value::Object(breakdowns),
        "method": "benches/size images (thumbv7em-none-eabihf, nRF52840 memory map, opt-level s (the IR \
                   translator crate z, as the RIOT firmware), fat LTO, panic without formatting); flash = .vector_table + .text + .rodata + .data, ram = .data + .bss; \
                   Alkyl's flash = image - none; breakdown = llvm-nm symbol sizes by crate",
    });
    alkyl_benches::write_json(&out, &doc)
}

#[cfg(test)]
mod tests {
    use super::group;

    #[test]
    fn symbols_count_for_the_crate_that_defines_them() {
        assert_eq!(group("alkyl_runtime::kv::KvStore::store"), "alkyl_runtime");
        assert_eq!(group("alloc::collections::btree::map::BTreeMap<K,V,A>::insert"), "alloc");
        assert_eq!(group("<alkyl_vm::trap::TrapKind as core::fmt::Display>::fmt"), "core::fmt");
        assert_eq!(group("<alkyl_vm::trap::TrapKind as alkyl_vm::describe::Describe>::describe"), super::DESCRIBE);
        assert_eq!(group("<(A,B) as alkyl_vm::describe::Describe>::describe"), super::DESCRIBE);
        assert_eq!(group("alkyl_vm::describe::digits"), super::DESCRIBE);
        assert_eq!(group("_$LT$alkyl_vm..trap..TrapKind$u20$as$u20$core..fmt..Display$GT$::fmt"), "core::fmt");
        assert_eq!(group("_$LT$impl$u20$alkyl_runtime..runtime..Runtime$GT$::invoke"), "alkyl_runtime");
        assert_eq!(
            group("<&mut serde_json::ser::Serializer<W> as serde::ser::Serializer>::serialize_str"),
            "serde_json"
        );
        assert_eq!(group("core::fmt::Formatter::pad"), "core::fmt");
        assert_eq!(group("__aeabi_memcpy"), "compiler_builtins");
        assert_eq!(group("fe25519_mul_asm"), "salty");
        assert_eq!(group(".Lanon.0123.4"), "constants without symbols");
        assert!(group("alkyl_size::image::request").starts_with("alkyl_runtime"));
        assert!(group("reset").starts_with("image frame"));
    }
}
