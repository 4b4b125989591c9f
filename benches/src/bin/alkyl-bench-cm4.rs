//! `alkyl-bench-cm4`: the Cortex-M4 report. Builds the bare-metal image in
//! `benches/cm4` at opt-levels "s" (the default device build), "z" and 3,
//! runs it on QEMU's mps2-an386 (Cortex-M4F) under the instruction-counting
//! plugin, measures what the VM adds to flash and RAM, prints a table and
//! writes `target/bench/cm4.json`.
//!
//! Usage: `alkyl-bench-cm4 --plugin PATH [--out PATH] [--opt s|z|3]` (the Makefile's
//! `bench-cm4` target builds the plugin and passes it).
//!
//! Method. Instructions: the image calls `alkyl_bench_start` and
//! `alkyl_bench_end` around each measured piece; the plugin counts the guest
//! instructions executed in between (exact and repeatable); an empty window
//! is subtracted. Flash: the image is also built with no engine, with the
//! reference interpreter only and with the fast engine only (each with the
//! verifier), as "size images" that hold only what a device links (verify,
//! translate, map, run; no measurement harness); a VM's flash is the
//! difference of `.vector_table + .text + .rodata + .data` to the no-engine
//! size image, so it counts everything the VM pulls in (compiler builtins
//! included). RAM per instance: the stack high-
//! water mark of one checksum (the host's per-event function: the eBPF
//! stack its container declares and a region table of the segments it maps
//! are locals, plus all the VM's frames), plus any static RAM the VM adds;
//! per suite kernel the same for one run (`ram_bytes` of each row).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use alkyl_benches::elf::{flash, run, sections, static_ram};
use alkyl_benches::kernels;
use serde_json::{json, Value};

const OPT_LEVELS: &[&str] = &["s", "z", "3"];
/// The build whose figures go to the top level of cm4.json.
const DEFAULT_OPT: &str = "s";
/// Image variants: (name, cargo feature arguments).
const VARIANTS: &[(&str, &[&str])] = &[
    ("full", &[]),
    ("none", &["--no-default-features", "--features", "size-image"]),
    ("ref", &["--no-default-features", "--features", "size-image,engine-ref"]),
    ("fast", &["--no-default-features", "--features", "size-image,engine-fast"]),
];

fn main() -> ExitCode {
    alkyl_benches::exit_code(report())
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes the suite for the image (`ALKYL_CM4_KERNELS`, see
/// `benches/cm4/build.rs`): every kernel this binary was built with
/// (`benches/kernels`, or `BENCH_KERNELS`), packed into its container as the
/// host suite packs it, with its input. Returns the directory.
fn prepare_suite() -> Result<PathBuf, String> {
    let dir = repo().join("target/cm4/kernels");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut list = String::new();
    for k in kernels::all() {
        let write = |ext: &str, bytes: &[u8]| {
            let path = dir.join(format!("{}.{ext}", k.name));
            // Unchanged files keep their time stamps (no needless rebuild).
            if std::fs::read(&path).ok().as_deref() != Some(bytes) {
                std::fs::write(&path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))?;
            }
            Ok::<_, String>(())
        };
        write("rbf", k.container()?)?;
        write("in", &kernels::input(&k)?)?;
        list += &format!("{} {}\n", k.name, k.source);
    }
    let path = dir.join("list");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(list.as_str()) {
        std::fs::write(&path, list).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(dir)
}

/// Builds variant `features` of the image at `opt`; returns the ELF path.
/// The full image (no feature arguments) runs the suite in `suite`.
fn build(opt: &str, name: &str, features: &[&str], suite: &Path) -> Result<PathBuf, String> {
    let dir = repo().join("benches/cm4");
    let target = repo().join(format!("target/cm4/opt-{opt}-{name}"));
    let mut cmd = Command::new(env!("CARGO"));
    if features.is_empty() {
        cmd.env("ALKYL_CM4_KERNELS", suite);
    } else {
        cmd.env_remove("ALKYL_CM4_KERNELS");
    }
    run(cmd
        .current_dir(&dir)
        .args(["build", "--release", "--target", "thumbv7em-none-eabihf"])
        .args(features)
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt))?;
    Ok(target.join("thumbv7em-none-eabihf/release/alkyl-cm4"))
}

fn symbol(elf: &Path, name: &str) -> Result<String, String> {
    let text = run(Command::new("llvm-nm").arg(elf))?;
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[2] == name).then(|| format!("0x{}", f[0]))
        })
        .ok_or_else(|| format!("{name} not found in {}", elf.display()))
}

/// What one QEMU run of the full image reported.
#[derive(Default, Debug)]
struct Run {
    windows: BTreeMap<String, u64>,
    /// Window names in the order the image ran them.
    order: Vec<String>,
    values: BTreeMap<String, u64>,
}

fn qemu(elf: &Path, plugin: &Path) -> Result<Run, String> {
    let start = symbol(elf, "alkyl_bench_start")?;
    let end = symbol(elf, "alkyl_bench_end")?;
    let text = run(Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none", "-serial", "none"])
        .args(["-semihosting-config", "enable=on,target=native", "-d", "plugin"])
        .arg("-plugin")
        .arg(format!("{},start={start},end={end}", plugin.display()))
        .arg("-kernel")
        .arg(elf))?;
    if text.contains("WRONG") || text.contains("panic") {
        return Err(format!("the image reported a wrong result:\n{text}"));
    }
    let mut run = Run::default();
    let mut names = Vec::new();
    let mut counts = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("window: ") {
            names.push(name.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("window ") {
            if let Some((_, n)) = rest.split_once(": ") {
                counts.push(n.trim().parse::<u64>().map_err(|e| format!("{line}: {e}"))?);
            }
        } else if let Some((key, v)) = line.split_once(": ") {
            if let Ok(v) = v.trim().parse::<u64>() {
                run.values.insert(key.to_string(), v);
            }
        }
    }
    if names.len() != counts.len() || names.is_empty() {
        return Err(format!("{} windows named but {} counted:\n{text}", names.len(), counts.len()));
    }
    let empty = names.iter().position(|n| n == "empty").map_or(0, |i| counts[i]);
    run.order = names.clone();
    for (n, c) in names.into_iter().zip(counts) {
        run.windows.insert(n, c.saturating_sub(empty));
    }
    Ok(run)
}

/// One kernel of the suite on the M4: instructions per run.
struct SuiteRow {
    name: String,
    native: u64,
    fast: u64,
    reference: u64,
    /// RAM per instance: the stack high-water mark of one run (declared
    /// stack, region table, engine frames), on each engine.
    ram_fast: u64,
    ram_ref: u64,
    /// The stack the container declares.
    stack: u64,
}

/// The suite's windows of a run, in the image's order.
fn suite_rows(run: &Run) -> Vec<SuiteRow> {
    let mut rows = Vec::new();
    for name in &run.order {
        if let Some(k) = name.strip_prefix("suite_native ") {
            let w = |p: &str| run.windows.get(&format!("{p} {k}")).copied().unwrap_or(0);
            let v = |p: &str| run.values.get(&format!("{p} {k}")).copied().unwrap_or(0);
            rows.push(SuiteRow {
                name: k.to_string(),
                native: w("suite_native").max(1),
                fast: w("suite_fast"),
                reference: w("suite_ref"),
                ram_fast: v("stack suite_fast"),
                ram_ref: v("stack suite_ref"),
                stack: v("declared suite"),
            });
        }
    }
    rows
}

/// The geometric mean of `xs` (1 for none).
fn geomean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0u32), |(s, n), x| (s + x.ln(), n + 1));
    if n == 0 {
        1.0
    } else {
        (sum / f64::from(n)).exp()
    }
}

fn report() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut plugin = None;
    let mut out = repo().join("target/bench/cm4.json");
    let mut only_opt = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--plugin" => plugin = Some(PathBuf::from(args.next().ok_or("--plugin needs a path")?)),
            "--out" => out = args.next().ok_or("--out needs a path")?.into(),
            "--opt" => {
                let o = args.next().ok_or("--opt needs s, z or 3")?;
                only_opt = Some(*OPT_LEVELS.iter().find(|l| **l == o).ok_or("--opt needs s, z or 3")?);
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (usage: alkyl-bench-cm4 --plugin PATH [--out PATH] [--opt s|z|3])"
                ))
            }
        }
    }
    let plugin = plugin.ok_or("--plugin PATH is required (make bench-cm4 builds it)")?;
    let suite = prepare_suite()?;
    let mut builds = serde_json::Map::new();
    let mut suites = Vec::new();
    println!("Fletcher32 over the rBPF paper's 361 bytes, QEMU mps2-an386 -cpu cortex-m4; instructions per checksum");
    println!(
        "{:<4} {:>8} {:>8} {:>9} {:>6} {:>9} {:>6} {:>9} {:>10} {:>9} {:>10} {:>9} {:>8}",
        "opt",
        "C -Os",
        "Rust",
        "fast",
        "x C",
        "ref",
        "x C",
        "flash fst",
        "flash ref",
        "RAM fast",
        "RAM ref",
        "verify",
        "xlate"
    );
    for opt in OPT_LEVELS.iter().filter(|o| only_opt.map_or(true, |x| x == **o)) {
        let mut sizes = BTreeMap::new();
        let mut full = None;
        for (name, features) in VARIANTS {
            let elf = build(opt, name, features, &suite)?;
            sizes.insert(*name, sections(&elf)?);
            if *name == "full" {
                full = Some(qemu(&elf, &plugin)?);
            }
        }
        let full = full.ok_or("no full image")?;
        suites.push((opt, suite_rows(&full)));
        let w = |k: &str| full.windows.get(k).copied().ok_or_else(|| format!("window {k} missing"));
        let v = |k: &str| full.values.get(k).copied().ok_or_else(|| format!("value {k} missing"));
        let (c, rust, fast, reference) = (w("native_c")?, w("native_rust")?, w("alkyl_fast")?, w("alkyl_ref")?);
        let base = &sizes["none"];
        let flash_fast = flash(&sizes["fast"]) - flash(base);
        let flash_ref = flash(&sizes["ref"]) - flash(base);
        let static_fast = static_ram(&sizes["fast"]).saturating_sub(static_ram(base));
        let static_ref = static_ram(&sizes["ref"]).saturating_sub(static_ram(base));
        let map = v("memorymap")?;
        // The stack Fletcher32's container declares (mapped exactly).
        let ebpf_stack = v("ebpf_stack")?;
        let (stack_fast, stack_ref) = (v("stack alkyl_fast")?, v("stack alkyl_ref")?);
        let ram_fast = stack_fast + static_fast;
        let ram_ref = stack_ref + static_ref;
        println!(
            "{:<4} {:>8} {:>8} {:>9} {:>6.1} {:>9} {:>6.1} {:>9} {:>10} {:>9} {:>10} {:>9} {:>8}",
            opt,
            c,
            rust,
            fast,
            fast as f64 / c as f64,
            reference,
            reference as f64 / c as f64,
            flash_fast,
            flash_ref,
            ram_fast,
            ram_ref,
            w("alkyl_verify")?,
            w("alkyl_translate")?
        );
        builds.insert(
            opt.to_string(),
            json!({
                "instructions": {
                    "native_c_gcc_Os": c, "native_rust": rust, "alkyl_fast": fast, "alkyl_ref": reference,
                    "verify": w("alkyl_verify")?, "translate": w("alkyl_translate")?,
                },
                "ratio_fast_to_c": fast as f64 / c as f64,
                "ratio_ref_to_c": reference as f64 / c as f64,
                "flash_bytes": {"fast_engine_with_verifier": flash_fast, "reference_with_verifier": flash_ref,
                                "image_without_vm": flash(base)},
                "ram_bytes": {
                    "fast": ram_fast, "reference": ram_ref,
                    "breakdown": {"ebpf_stack": ebpf_stack, "memory_map": map,
                                  "fast_engine_frames": stack_fast.saturating_sub(ebpf_stack + map),
                                  "reference_frames": stack_ref.saturating_sub(ebpf_stack + map),
                                  "static_fast": static_fast, "static_ref": static_ref},
                    "translated_program_bytes": v("ops alkyl_fast")?,
                },
            }),
        );
    }
    let mut suite_json = serde_json::Map::new();
    for (opt, rows) in &suites {
        println!(
            "\nsuite at opt-level {opt:?}: instructions per run (C gcc -Os; Alkyl on the container, writable input)"
        );
        println!(
            "{:<15} {:>9} {:>10} {:>7} {:>11} {:>7} {:>6} {:>8} {:>8}",
            "kernel", "C -Os", "fast", "x C", "ref", "x C", "stack", "RAM fast", "RAM ref"
        );
        let mut json_rows = serde_json::Map::new();
        for r in rows {
            println!(
                "{:<15} {:>9} {:>10} {:>7.1} {:>11} {:>7.1} {:>6} {:>8} {:>8}",
                r.name,
                r.native,
                r.fast,
                r.fast as f64 / r.native as f64,
                r.reference,
                r.reference as f64 / r.native as f64,
                r.stack,
                r.ram_fast,
                r.ram_ref
            );
            json_rows.insert(
                r.name.clone(),
                json!({"native_c_gcc_Os": r.native, "alkyl_fast": r.fast, "alkyl_ref": r.reference,
                       "ratio_fast_to_c": r.fast as f64 / r.native as f64,
                       "ratio_ref_to_c": r.reference as f64 / r.native as f64,
                       "ram_bytes": {"fast": r.ram_fast, "reference": r.ram_ref, "declared_stack": r.stack}}),
            );
        }
        let (gf, gr) = (
            geomean(rows.iter().map(|r| r.fast as f64 / r.native as f64)),
            geomean(rows.iter().map(|r| r.reference as f64 / r.native as f64)),
        );
        println!("{:<15} {:>9} {:>10} {:>7.1} {:>11} {:>7.1}", "geomean", "", "", gf, "", gr);
        suite_json
            .insert(opt.to_string(), json!({"kernels": json_rows, "geomean_fast_to_c": gf, "geomean_ref_to_c": gr}));
    }
    let d = &builds[only_opt.unwrap_or(DEFAULT_OPT)];
    let doc = json!({
        "fletcher32": {
            "native_instructions": d["instructions"]["native_c_gcc_Os"],
            "alkyl_instructions": d["instructions"]["alkyl_fast"],
            "ratio": d["ratio_fast_to_c"],
            "alkyl_ref_instructions": d["instructions"]["alkyl_ref"],
            "ratio_ref": d["ratio_ref_to_c"],
            "native_rust_instructions": d["instructions"]["native_rust"],
        },
        "flash_bytes": d["flash_bytes"]["fast_engine_with_verifier"],
        "ram_bytes": d["ram_bytes"]["fast"],
        "default_build": format!("alkyl-vm with its default features (`fast`: the fast engine, which `alkyl` and the top-level numbers are), opt-level \"{DEFAULT_OPT}\", lto fat, codegen-units 1, panic abort, thumbv7em-none-eabihf"),
        "compact_build": {
            "what": "alkyl-vm without default features: the reference interpreter alkyl_vm::run and the verifier only",
            "fletcher32_instructions": d["instructions"]["alkyl_ref"],
            "ratio": d["ratio_ref_to_c"],
            "flash_bytes": d["flash_bytes"]["reference_with_verifier"],
            "ram_bytes": d["ram_bytes"]["reference"],
        },
        "builds": Value::Object(builds),
        "suite": Value::Object(suite_json),
        "paper_table_1": {"rbpf": {"rom_bytes": 4364, "ram_bytes": 660}, "wasm3": {"rom_bytes": 65536, "ram_bytes": 87040}},
        "paper_fletcher32_ratio": {"rbpf": 71, "wasm3": 36, "femto_container": 22},
        "method": "QEMU 7.x mps2-an386 -cpu cortex-m4, TCG plugin counting guest instructions between marker calls \
                   (empty window subtracted); flash = section sizes of images with and without the VM; RAM = stack \
                   high-water mark of one checksum (the eBPF stack the container declares, the region table of the \
                   segments the run maps and the engine's frames included) + static RAM the VM adds",
    });
    println!("\npaper, Table I: rBPF 4,364 B ROM / 660 B RAM; WASM3 64 KiB ROM / 85 KiB RAM. Fletcher32 vs C: rBPF 71x, WASM3 36x, Femto-Container ~22x");
    alkyl_benches::write_json(&out, &doc)
}
