//! `alkyl-bench`: runs every kernel on every contender in one process,
//! prints a table of medians and ratios to native, and writes
//! `target/bench/results.json`.
//!
//! Usage: `alkyl-bench [--quick] [--kernel NAME] [--out PATH]`, `alkyl-bench --list`,
//! `alkyl-bench --fusions` (which fused ops the fast engine's translation
//! uses in each kernel), (`--kernel`
//! runs one kernel, for quick iterations; the full run is what we report), or
//! `alkyl-bench --repeat KERNEL CONTENDER N` (N checked runs, no timing: for
//! counting instructions with callgrind).

use std::path::PathBuf;
use std::process::ExitCode;

use alkyl_benches::harness::{measure, Plan};
use alkyl_benches::{coap, contenders, kernels, sizes};
use serde_json::{json, Map, Value};

fn main() -> ExitCode {
    alkyl_benches::exit_code(bench())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cpu}, {cores} cores visible")
}

fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown date".into())
}

/// Loads `kernel` on `contender` and runs it `n` times, checking each
/// result: a fixed amount of work for `valgrind --tool=callgrind`, whose
/// instruction counts (unlike timings) do not depend on the machine's load.
fn repeat(kernel: &str, contender: &str, n: u64) -> Result<(), String> {
    if kernel == coap::NAME {
        let engine = coap::Engine::of(contender).ok_or(format!("{contender} does not run {kernel}"))?;
        let mut bench = coap::CoapBench::new(engine)?;
        for _ in 0..n {
            bench.run()?;
        }
        println!("{kernel} on {contender}: {n} runs");
        return Ok(());
    }
    let k = kernels::all().into_iter().find(|k| k.name == kernel).ok_or(format!("no kernel {kernel}"))?;
    let input = kernels::input(&k)?;
    let want = kernels::run_native(&k, &mut Vec::new(), &input);
    let mut c = contenders::load(contender, &k)?;
    for _ in 0..n {
        let got = c.run(&input)?;
        if got != want {
            return Err(format!("{contender} computes {got:#x} for {kernel}, native {want:#x}"));
        }
    }
    println!("{kernel} on {contender}: {n} runs, {want:#x}");
    Ok(())
}

/// Prints, per kernel, the fused ops (kinds covering more than one slot)
/// translation put into its program, and in how many kernels each occurs:
/// the fusions that fire on only one kernel are the ones docs/benchmarks.md
/// reports the suite without (`ALKYL_FAST_FUSIONS_OFF`).
fn fusions() -> Result<(), String> {
    use std::collections::BTreeMap;
    let mut kernels_of: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut all: Vec<(&'static str, &'static [u8])> =
        kernels::all().into_iter().map(|k| k.container().map(|c| (k.name, c))).collect::<Result<_, _>>()?;
    all.push((coap::NAME, kernels::pack_once(coap::NAME, coap::OBJECT)?));
    for (name, container) in all {
        let script =
            alkyl_vm::container::Script::load(container, &alkyl_bindings::ALL_HELPERS).map_err(|e| e.to_string())?;
        let mut ops = vec![alkyl_vm::fast::Op::EMPTY; alkyl_vm::fast::storage_len(&script.program())];
        alkyl_vm::fast::translate(&script.program(), &mut ops).map(drop).map_err(|e| e.to_string())?;
        let mut here: BTreeMap<String, usize> = BTreeMap::new();
        let mut pc = 0;
        while pc < ops.len() {
            // `Op { kind: Name { .. } }`: the kind's name.
            let text = format!("{:?}", ops[pc]);
            let kind = text.trim_start_matches("Op { kind: ").split([' ', '}']).next().unwrap_or("").to_string();
            let width = ops[pc].width();
            if width > 1 && kind != "Lddw" {
                *here.entry(kind).or_default() += 1;
            }
            pc += width;
        }
        println!("{name:<15} {}", here.iter().map(|(k, n)| format!("{k} x{n}")).collect::<Vec<_>>().join(", "));
        for k in here.keys() {
            kernels_of.entry(k.clone()).or_default().push(name);
        }
    }
    println!();
    for (k, ks) in &kernels_of {
        println!("{k:<15} {} kernel(s): {}", ks.len(), ks.join(" "));
    }
    Ok(())
}

/// The helper-heavy kernel: its own contenders (see `coap.rs`), timed like
/// the others; returns its results.json row and sizes.
fn coap_section(plan: Plan) -> Result<(Value, Value), String> {
    let mut row = Map::new();
    let mut native_ns = None;
    for name in coap::CONTENDERS {
        let engine = coap::Engine::of(name).ok_or("contender")?;
        let mut bench = coap::CoapBench::new(engine)?;
        bench.run()?;
        let t = measure(plan, || bench.run());
        let load = measure(Plan::QUICK, || coap::CoapBench::new(engine).map(drop));
        let base = *native_ns.get_or_insert(t.median_ns);
        let ratio = t.median_ns / base;
        println!(
            "{:<12} {:<10} {:>12.1} {:>9.2} {:>12.0} {:>10}",
            coap::NAME,
            name,
            t.median_ns,
            ratio,
            load.median_ns,
            "\"21.50\""
        );
        let mut entry = json!({"ns": t.median_ns, "min_ns": t.min_ns, "max_ns": t.max_ns, "samples": t.samples});
        if *name != "native" {
            entry["ratio"] = json!(ratio);
            entry["load_ns"] = json!(load.median_ns);
        }
        row.insert(name.to_string(), entry);
    }
    for (name, why) in coap::EXCLUDED {
        println!("{:<12} {:<10} excluded: {why}", coap::NAME, name);
        row.insert(name.to_string(), json!({"excluded": why}));
    }
    row.insert(
        "native_means".into(),
        json!("the script's seven helper calls with the same arguments, made from Rust over the same regions"),
    );
    println!();
    let container = kernels::pack_once(coap::NAME, coap::OBJECT)?;
    let script =
        alkyl_vm::container::Script::load(container, &alkyl_bindings::ALL_HELPERS).map_err(|e| e.to_string())?;
    let text = script.program().code();
    let size = json!({
        "ebpf_bytes": text.len(),
        "ebpf_slots": text.len() / 8,
        "ebpf_heatshrink_bytes": sizes::heatshrink(text).len(),
        "container_bytes": container.len(),
        "container_heatshrink_bytes": sizes::heatshrink(container).len(),
        "wasm_bytes": null,
        "wasm_heatshrink_bytes": null,
        "translated_bytes": text.len() / 8 * std::mem::size_of::<alkyl_vm::fast::Op>(),
    });
    Ok((Value::Object(row), size))
}

fn bench() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut plan = Plan::STANDARD;
    let mut only: Option<String> = None;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench/results.json");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => plan = Plan::QUICK,
            "--fusions" => return fusions(),
            "--list" => {
                // The kernels this binary was built with (BENCH_KERNELS), then the CoAP kernel.
                for k in kernels::all() {
                    println!("{}", k.name);
                }
                println!("{}", coap::NAME);
                return Ok(());
            }
            "--out" => out = args.next().ok_or("--out needs a path")?.into(),
            "--kernel" => only = Some(args.next().ok_or("--kernel needs a name")?),
            "--repeat" => {
                // For instruction counting under valgrind: no timing, no files.
                let kernel = args.next().ok_or("--repeat needs KERNEL CONTENDER N")?;
                let contender = args.next().ok_or("--repeat needs KERNEL CONTENDER N")?;
                let n: u64 = args.next().and_then(|n| n.parse().ok()).ok_or("--repeat needs a count")?;
                return repeat(&kernel, &contender, n);
            }
            other => {
                return Err(format!(
                    "unknown argument {other} (usage: alkyl-bench [--quick] [--kernel NAME] [--out PATH])"
                ))
            }
        }
    }
    let method = format!(
        "one process; per contender: load once, check the result equals native, warm up {} ms, then {} samples of \
         ~{} ms each; ns/op is the median over samples; ratio = contender ns / native ns of this run. Every op \
         copies the input into the contender's memory first (all contenders alike). Load = parse/verify/translate \
         or compile/instantiate, median of a quick plan.",
        plan.warm_up.as_millis(),
        plan.samples,
        plan.sample_time.as_millis()
    );
    println!("machine: {}\ndate:    {}\nmethod:  {method}\n", machine(), today());
    println!(
        "{:<12} {:<10} {:>12} {:>9} {:>12} {:>10}",
        "kernel", "contender", "median ns", "x native", "load ns", "result"
    );
    let mut kernels_json = Map::new();
    let mut sizes_json = Map::new();
    for kernel in kernels::all() {
        if only.as_ref().is_some_and(|k| k != kernel.name) {
            continue;
        }
        let input = kernels::input(&kernel)?;
        let want = kernels::run_native(&kernel, &mut Vec::new(), &input);
        let (fletcher_path, fletcher_want) = kernels::fletcher32_input();
        if kernel.name == "fletcher32" && want != fletcher_want {
            return Err(format!(
                "native fletcher32 of {} is {want:#x}, not {fletcher_want:#x}",
                fletcher_path.display()
            ));
        }
        let mut row = Map::new();
        let mut native_ns = None;
        let mut ops = Vec::new();
        for name in contenders::NAMES {
            let mut c = match contenders::load(name, &kernel) {
                Ok(c) => c,
                Err(e) if kernel.has_data && name.starts_with("rbpf") => {
                    println!("{:<12} {:<10} excluded: {e}", kernel.name, name);
                    row.insert(name.to_string(), json!({"excluded": e}));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let got = c.run(&input)?;
            if got != want {
                return Err(format!("{name} computes {got:#x} for {}, native {want:#x}", kernel.name));
            }
            let t = measure(plan, || c.run(&input));
            let load = measure(Plan::QUICK, || contenders::load_once(name, &kernel, &mut ops));
            let base = *native_ns.get_or_insert(t.median_ns);
            let ratio = t.median_ns / base;
            println!(
                "{:<12} {:<10} {:>12.1} {:>9.2} {:>12.0} {:>10}",
                kernel.name,
                name,
                t.median_ns,
                ratio,
                load.median_ns,
                format!("{got:#x}")
            );
            let mut entry = json!({"ns": t.median_ns, "min_ns": t.min_ns, "max_ns": t.max_ns, "samples": t.samples});
            if *name != "native" {
                entry["ratio"] = json!(ratio);
                entry["load_ns"] = json!(load.median_ns);
            }
            row.insert(name.to_string(), entry);
        }
        kernels_json.insert(kernel.name.to_string(), Value::Object(row));
        let container = kernel.container()?;
        sizes_json.insert(
            kernel.name.to_string(),
            json!({
                "ebpf_bytes": kernel.ebpf.len(),
                "ebpf_slots": kernel.ebpf.len() / 8,
                "ebpf_heatshrink_bytes": sizes::heatshrink(kernel.ebpf).len(),
                "container_bytes": container.len(),
                "container_heatshrink_bytes": sizes::heatshrink(container).len(),
                "wasm_bytes": kernel.wasm.len(),
                "wasm_heatshrink_bytes": sizes::heatshrink(kernel.wasm).len(),
                "translated_bytes": kernel.ebpf.len() / 8 * std::mem::size_of::<alkyl_vm::fast::Op>(),
            }),
        );
        println!();
    }
    if only.as_ref().map_or(true, |k| k == coap::NAME) {
        let (row, size) = coap_section(plan)?;
        kernels_json.insert(coap::NAME.to_string(), row);
        sizes_json.insert(coap::NAME.to_string(), size);
    }
    println!("script sizes (bytes; heatshrink window 2^{} lookahead 2^{}):", sizes::WINDOW_SZ2, sizes::LOOKAHEAD_SZ2);
    println!(
        "{:<12} {:>6} {:>8} {:>10} {:>13} {:>6} {:>8} {:>11}",
        "kernel", ".text", ".text hs", "container", "container hs", "Wasm", "Wasm hs", "translated"
    );
    for (name, s) in &sizes_json {
        let v = |k: &str| match &s[k] {
            Value::Null => "-".to_string(),
            v => v.to_string(),
        };
        println!(
            "{:<12} {:>6} {:>8} {:>10} {:>13} {:>6} {:>8} {:>11}",
            name,
            v("ebpf_bytes"),
            v("ebpf_heatshrink_bytes"),
            v("container_bytes"),
            v("container_heatshrink_bytes"),
            v("wasm_bytes"),
            v("wasm_heatshrink_bytes"),
            v("translated_bytes")
        );
    }
    let doc = json!({
        "machine": machine(),
        "date": today(),
        "method": method,
        "contenders": {
            "native": "C kernel, cc crate -O2, linked in",
            "alkyl": "alkyl_vm::fast (translated at load), on the container alkyl_pack::pack makes of the clang -target bpf -mcpu=v3 -O2 object, loaded with alkyl_vm::container::Script",
            "alkyl_ref": "alkyl_vm::run, the reference interpreter, same container",
            "rbpf": "rbpf 0.4 EbpfVmRaw interpreter, same bytecode plus `mov r2, len`",
            "rbpf_jit": "rbpf 0.4 x86-64 JIT (reference only: not an interpreter)",
            "wasmi": "wasmi 2 (default config), clang --target=wasm32 -O2",
            "wasm3": "wasm3 0.3 crate (wasm3 C interpreter), same Wasm",
        },
        "kernels": kernels_json,
        "sizes": sizes_json,
    });
    println!();
    alkyl_benches::write_json(&out, &doc)
}
