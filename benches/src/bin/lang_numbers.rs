//! `make bench-lang`: the numbers of docs/alkyl-lang.md, "Measurements".
//!
//! For the smart lock and Fletcher-32 written in Alkyl (apps/alkyl/): IR
//! module bytes (raw, heatshrink window 8 lookahead 4) against the
//! hand-written IR (apps/ir/), the bit-mode blocks the compiler chose, eBPF
//! instructions executed by the translation against the hand-written IR's
//! and against clang -O2 of the same functions in C (the C sources and the
//! harness of `make bench-ir`), and the compile time from source to IR
//! module and on to the verified container.
//!
//! A benchmark, not a test: it prints a report (and fails only when a tool
//! it needs is broken or the runs it compares disagree).

use std::time::Instant;

use alkyl_benches::ir_baseline::{clang, Device, FLETCHER_C, LOCK_C};
use alkyl_bindings::SimPlatform;
use alkyl_protocol::compress::compress;
use alkyl_testkit::assemble;
use alkyl_testkit::clang::repo;
use alkyl_translator::ir::compile;
use alkyl_translator::ir::lockstep::Pair;

fn heatshrink(bytes: &[u8]) -> usize {
    compress(bytes).expect("heatshrink").len()
}

/// Median of 201 runs of `f`, in µs.
fn median_us<T>(mut f: impl FnMut() -> T) -> f64 {
    let mut times = Vec::new();
    for _ in 0..201 {
        let start = Instant::now();
        std::hint::black_box(f());
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2]
}

fn alkyl(path: &str) -> (String, Vec<u8>) {
    let src = std::fs::read_to_string(repo().join(path)).unwrap();
    let module = alkyl_lang::compile_file(path, &src).unwrap_or_else(|e| panic!("{e}")).module;
    (src, module)
}

/// Executed instructions of a call sequence on the IR pair (checked
/// against the interpreter), with the results.
fn ir_run(module: &[u8], events: &[(&str, Vec<u64>)], rest: &[u8], advance: u64) -> (u64, Vec<u64>, SimPlatform) {
    let mut pair = Pair::new(module, SimPlatform::demo()).unwrap();
    pair.advance_ms(advance);
    let mut total = 0;
    let mut results = Vec::new();
    for (name, args) in events {
        results.push(pair.call(name, args, rest).unwrap().unwrap());
        total += pair.last_executed;
    }
    (total, results, pair.device)
}

fn clang_run(
    source: &str,
    cpu: &str,
    events: &[(&str, Vec<u64>)],
    rest: &[u8],
    advance: u64,
) -> Result<(u64, Vec<u64>), String> {
    let c = clang("bench", source, cpu)?;
    let mut platform = SimPlatform::demo();
    platform.advance_ms(advance);
    let mut device = Device::new(c, platform);
    let mut total = 0;
    let mut results = Vec::new();
    for (name, args) in events {
        let (r0, executed) = device.call(name, args, rest);
        results.push(r0 as u32 as u64);
        total += executed;
    }
    Ok((total, results))
}

fn main() {
    let (input, input_name) = alkyl_benches::kernels::fletcher32_bytes();
    let hand_lock = assemble(&std::fs::read_to_string(repo().join("apps/ir/smartlock.air")).unwrap()).unwrap();
    let hand_fletcher = assemble(&std::fs::read_to_string(repo().join("apps/ir/fletcher32.air")).unwrap()).unwrap();
    let apps = [
        ("smart lock, the paper's listing", "apps/alkyl/smartlock.alkyl", &hand_lock),
        ("smart lock, with the IR lock's conventions", "apps/alkyl/smartlock-expiry.alkyl", &hand_lock),
        ("Fletcher-32", "apps/alkyl/fletcher32.alkyl", &hand_fletcher),
    ];

    println!("# Alkyl language measurements\n");
    println!("## Sizes, bit modes and compile time\n");
    println!("| app | IR bytes (hand-written) | IR heatshrink(8,4) (hand-written) | container bytes (hand-written) | blocks of 8/16/32/64 bits | source → IR (median) | source → container (median) |");
    println!("|---|---|---|---|---|---|---|");
    for (name, path, hand) in apps {
        let (src, module) = alkyl(path);
        let container = compile(&module).unwrap();
        let hand_container = compile(hand).unwrap();
        let b = alkyl_lang::mode_blocks(&module);
        let t_ir = median_us(|| alkyl_lang::compile(&src).unwrap());
        let t_all = median_us(|| compile(&alkyl_lang::compile(&src).unwrap().module).unwrap());
        println!(
            "| {name} | {} ({}) | {} ({}) | {} ({}) | {} / {} / {} / {} | {t_ir:.1} µs | {t_all:.1} µs |",
            module.len(),
            hand.len(),
            heatshrink(&module),
            heatshrink(hand),
            container.len(),
            hand_container.len(),
            b[0],
            b[1],
            b[2],
            b[3]
        );
    }

    println!("\n## eBPF instructions executed\n");
    println!(
        "Fletcher-32 over {input_name}; the lock: SetPin, then keys 1234 (unlocks) and 1235 (beeps), 1 s after boot.\n"
    );
    println!(
        "| workload | Alkyl | hand-written IR | ratio | clang -O2 -mcpu=v1 | ratio | clang -O2 -mcpu=v3 | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let lock_events: Vec<(&str, Vec<u64>)> = {
        let mut e = vec![("SetPin", vec![u32::from_le_bytes(*b"1234") as u64, alkyl_bindings::SIM_DEMO_UNIX_S + 60])];
        e.extend(b"12341235".iter().map(|&k| ("KeyPressed", vec![k as u64])));
        e
    };
    let fletcher_events = vec![("fletcher32", vec![input.len() as u64])];
    let workloads = [
        (
            "smart lock (paper's listing)",
            "apps/alkyl/smartlock.alkyl",
            &hand_lock,
            LOCK_C,
            &lock_events,
            &[][..],
            false,
        ),
        (
            "smart lock (IR lock's conventions)",
            "apps/alkyl/smartlock-expiry.alkyl",
            &hand_lock,
            LOCK_C,
            &lock_events,
            &[][..],
            true,
        ),
        ("Fletcher-32", "apps/alkyl/fletcher32.alkyl", &hand_fletcher, FLETCHER_C, &fletcher_events, &input[..], true),
    ];
    for (name, path, hand, c_src, events, rest, same_results) in workloads {
        let (_, module) = alkyl(path);
        let (n, results, platform) = ir_run(&module, events, rest, 1_000);
        let (h, hand_results, hand_platform) = ir_run(hand, events, rest, 1_000);
        assert_eq!(platform.actuator_writes(), hand_platform.actuator_writes(), "{name}: other actuator writes");
        if same_results {
            assert_eq!(results, hand_results, "{name}: other results");
        }
        let mut line = format!("| {name} | {n} | {h} | {:.2}x |", n as f64 / h as f64);
        for cpu in ["v1", "v3"] {
            match clang_run(c_src, cpu, events, rest, 1_000) {
                Ok((c, r)) => {
                    assert_eq!(r, hand_results, "{name}: clang disagrees");
                    line += &format!(" {c} | {:.2}x |", n as f64 / c as f64);
                }
                Err(e) => line += &format!(" n/a ({e}) | |"),
            }
        }
        println!("{line}");
    }
}
