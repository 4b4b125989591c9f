//! `make bench-ir`: the numbers of docs/alkyl-ir.md, "Measurements".
//!
//! For the smart lock and Fletcher-32 written in Alkyl IR (apps/ir/):
//! module size (raw, and heatshrink-compressed with window 8, lookahead 4),
//! the size of the container the device stores (raw and compressed), the
//! translated `.text`, eBPF instructions executed by the translation
//! against clang -O2's eBPF for the same functions written in C (compiled
//! here with `clang -target bpf -O2 -c` and packed into a container by
//! `alkyl pack`'s packer), and the cost of compiling a module on the host
//! (time and peak heap).
//!
//! Both forms run the same way: loaded with `Script::load`, called through
//! the run convention of every script (`ir::exec::run_entry`: arguments in
//! the input's first 8-byte slots), with the Alkyl helpers over the
//! simulated demo platform.
//!
//! A benchmark, not a test: it prints a report (and fails only when a tool
//! it needs is broken, or when the runs it measures disagree).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use alkyl_benches::ir_baseline::{clang, Device, FLETCHER_C, LOCK_C};
use alkyl_bindings::{SimPlatform, ALL_HELPERS};
use alkyl_protocol::compress::compress;
use alkyl_testkit::assemble;
use alkyl_testkit::clang::repo;
use alkyl_translator::ir::compile;
use alkyl_translator::ir::lockstep::Pair;
use alkyl_vm::container::Script;

/// Counts live heap bytes and their peak, to measure what compiling
/// allocates. Delegates every call to the system allocator unchanged.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System`'s guarantees hold; the counters are only statistics.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn heatshrink(bytes: &[u8]) -> usize {
    compress(bytes).expect("heatshrink").len()
}

/// Median time of `ir::compile` (parse, validate, translate, write the
/// container, load it with the verifier: the device's upload path) and
/// peak heap bytes during one.
fn compile_cost(bytes: &[u8]) -> (f64, usize) {
    let mut times = Vec::new();
    for _ in 0..201 {
        let start = Instant::now();
        let c = compile(bytes).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(c);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let c = compile(bytes).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(c);
    (times[times.len() / 2], peak)
}

struct Row {
    name: &'static str,
    ir: u64,
    clang: Vec<(String, Result<u64, String>)>,
}

fn main() {
    let fletcher_src = std::fs::read_to_string(repo().join("apps/ir/fletcher32.air")).unwrap();
    let lock_src = std::fs::read_to_string(repo().join("apps/ir/smartlock.air")).unwrap();
    let (input, input_name) = alkyl_benches::kernels::fletcher32_bytes();

    println!("# Alkyl IR measurements\n");
    println!("## Sizes and compile cost\n");
    println!("| app | IR bytes | IR heatshrink(8,4) | container bytes | container heatshrink(8,4) | eBPF .text bytes (insns) | .data + .bss bytes | compile time (median) | compile peak heap |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, src) in [("smart lock", &lock_src), ("Fletcher-32", &fletcher_src)] {
        let bytes = assemble(src).unwrap();
        let container = compile(&bytes).unwrap();
        let script = Script::load(&container, &ALL_HELPERS).unwrap();
        let text = script.program().code().len();
        let (time, peak) = compile_cost(&bytes);
        println!(
            "| {name} | {} | {} | {} | {} | {} ({}) | {} + {} | {:.1} µs | {} B |",
            bytes.len(),
            heatshrink(&bytes),
            container.len(),
            heatshrink(&container),
            text,
            text / 8,
            script.data().len(),
            script.data_size() - script.data().len(),
            time,
            peak
        );
    }
    println!("\nFor comparison, the C apps packed by `alkyl pack` (same flags, -mcpu=v3):\n");
    println!("| app | container bytes | container heatshrink(8,4) |");
    println!("|---|---|---|");
    for (name, src) in [("smart lock (C)", LOCK_C), ("Fletcher-32 (C)", FLETCHER_C)] {
        match clang("sizes", src, "v3") {
            Ok(c) => println!("| {name} | {} | {} |", c.len(), heatshrink(&c)),
            Err(e) => println!("| {name} | n/a ({e}) | |"),
        }
    }

    // Executed instructions: the IR checked against the interpreter (Pair),
    // the C containers on the same harness.
    let mut rows = Vec::new();
    let fletcher = assemble(&fletcher_src).unwrap();
    let mut pair = Pair::new(&fletcher, SimPlatform::demo()).unwrap();
    let want = pair.call("fletcher32", &[input.len() as u64], &input).unwrap().unwrap();
    let ir_fletcher = pair.last_executed;
    let mut clang_fletcher = Vec::new();
    for cpu in ["v1", "v3"] {
        let r = clang("fletcher32", FLETCHER_C, cpu).map(|c| {
            let (r0, executed) = Device::new(c, SimPlatform::demo()).call("fletcher32", &[input.len() as u64], &input);
            assert_eq!(r0, want, "clang's Fletcher-32 disagrees");
            executed
        });
        clang_fletcher.push((cpu.to_string(), r));
    }
    rows.push(Row { name: "Fletcher-32", ir: ir_fletcher, clang: clang_fletcher });

    // The lock: SetPin, then an attempt with the right pin and one with a wrong pin.
    let lock = assemble(&lock_src).unwrap();
    let events: Vec<(&str, Vec<u64>)> = {
        let mut e = vec![("SetPin", vec![u32::from_le_bytes(*b"1234") as u64, alkyl_bindings::SIM_DEMO_UNIX_S + 60])];
        e.extend(b"12341235".iter().map(|&k| ("KeyPressed", vec![k as u64])));
        e
    };
    let mut pair = Pair::new(&lock, SimPlatform::demo()).unwrap();
    pair.advance_ms(1_000);
    let mut ir_results = Vec::new();
    let mut ir_lock = 0;
    for (name, args) in &events {
        ir_results.push(pair.call(name, args, &[]).unwrap().unwrap());
        ir_lock += pair.last_executed;
    }
    let mut clang_lock = Vec::new();
    for cpu in ["v1", "v3"] {
        let r = clang("lock", LOCK_C, cpu).map(|c| {
            let mut platform = SimPlatform::demo();
            platform.advance_ms(1_000);
            let mut device = Device::new(c, platform);
            let mut total = 0;
            for ((name, args), want) in events.iter().zip(&ir_results) {
                let (r0, executed) = device.call(name, args, &[]);
                assert_eq!(r0 as u32 as u64, *want, "clang's {name} disagrees");
                total += executed;
            }
            assert_eq!(
                device.platform.actuator_writes(),
                pair.device.actuator_writes(),
                "clang's lock drives other actuators"
            );
            total
        });
        clang_lock.push((cpu.to_string(), r));
    }
    rows.push(Row { name: "smart lock (SetPin + 8 KeyPressed)", ir: ir_lock, clang: clang_lock });

    println!("\n## eBPF instructions executed\n");
    println!("Fletcher-32 over {input_name}; the lock: SetPin, then keys 1234 (unlocks) and 1235 (beeps).\n");
    println!("| workload | translated IR | clang -O2 (-mcpu=v1) | ratio | clang -O2 -mcpu=v3 | ratio |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        let mut line = format!("| {} | {} |", row.name, row.ir);
        for (_, r) in &row.clang {
            match r {
                Ok(n) => line += &format!(" {n} | {:.2}x |", row.ir as f64 / *n as f64),
                Err(e) => line += &format!(" n/a ({e}) | |"),
            }
        }
        println!("{line}");
    }
}
