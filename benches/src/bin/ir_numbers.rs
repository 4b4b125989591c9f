//! `make bench-ir`: the numbers of docs/alkyl-ir.md, "Measurements".
//!
//! For the smart lock and Fletcher-32 written in Alkyl IR (apps/ir/):
//! module size (raw, and heatshrink-compressed with window 8, lookahead 4),
//! translated eBPF size, eBPF instructions executed by the translation
//! against clang -O2's eBPF for the same function written in C (compiled
//! here with `clang -target bpf -O2 -c`, `.text` taken with llvm-objcopy),
//! and translation time and peak heap memory on the host.
//!
//! A benchmark, not a test: it prints a report (and fails only when a tool
//! it needs is broken, or when the runs it measures disagree).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use alkyl_translator::ir::sim::SimDevice;
use alkyl_translator::ir::testkit::pair::assemble;
use alkyl_translator::ir::testkit::Pair;
use alkyl_translator::ir::{translate, validate, Module};
use alkyl_vm::{run, verify, AccessPolicy, MemoryMap, INPUT_VADDR, STACK_SIZE, STACK_VADDR};

/// Counts live heap bytes and their peak, to measure what translation
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

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn heatshrink(bytes: &[u8]) -> usize {
    let mut out = vec![0u8; bytes.len() * 2 + 64];
    let cfg = heatshrink::Config::new(8, 4).expect("heatshrink config");
    heatshrink::encode(bytes, &mut out, &cfg).expect("heatshrink").len()
}

/// Median translation time (validate + translate, from module bytes) and
/// peak heap bytes during one translation.
fn translation_cost(bytes: &[u8]) -> (f64, usize) {
    let mut times = Vec::new();
    for _ in 0..201 {
        let start = Instant::now();
        let v = validate(Module::parse(bytes).unwrap()).unwrap();
        let t = translate(&v).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(t);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let v = validate(Module::parse(bytes).unwrap()).unwrap();
    let t = translate(&v).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop((t, v));
    (times[times.len() / 2], peak)
}

/// Compiles C to eBPF with clang and returns `.text`, or why not.
fn clang(name: &str, source: &str, cpu: &str) -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(format!("alkyl-bench-ir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}-{cpu}.o"));
    let text = dir.join(format!("{name}-{cpu}.text"));
    std::fs::write(&c, source).map_err(|e| e.to_string())?;
    let status = Command::new("clang")
        .args(["-target", "bpf", "-O2", &format!("-mcpu={cpu}"), "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .map_err(|e| format!("clang: {e}"))?;
    if !status.success() {
        return Err(format!("clang failed on {name}"));
    }
    let status = Command::new("llvm-objcopy")
        .args(["-O", "binary", "--only-section=.text"])
        .arg(&o)
        .arg(&text)
        .status()
        .map_err(|e| format!("llvm-objcopy: {e}"))?;
    if !status.success() {
        return Err(String::from("llvm-objcopy failed"));
    }
    std::fs::read(&text).map_err(|e| e.to_string())
}

/// Runs clang's code with `r1` = the context region (read-write), `r2..` = args.
fn run_c(code: &[u8], context: &mut [u8], args: &[u64], device: &mut SimDevice) -> (u64, u64) {
    let program = verify(code, device as &SimDevice).unwrap_or_else(|e| panic!("clang's code fails the verifier: {e}"));
    let mut stack = [0u8; STACK_SIZE];
    let mut mem = MemoryMap::new();
    mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
    mem.map(INPUT_VADDR, context, AccessPolicy::ReadWrite).unwrap();
    let mut regs = vec![INPUT_VADDR];
    regs.extend_from_slice(args);
    let exit = run(&program, program.main(), &regs, &mut mem, device, 10_000_000).expect("clang's code traps");
    (exit.r0, exit.executed)
}

const FLETCHER_C: &str = r#"
/* No libc for the bpf target: the fixed-width types by hand. */
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t; typedef int int32_t;
/* Fletcher-32 as apps/ir/fletcher32.air computes it. */
uint32_t fletcher32(const uint8_t *data, uint32_t len)
{
    uint32_t c0 = 0, c1 = 0;
    uint32_t words = len / 2;
    const uint16_t *w = (const uint16_t *)data;
    while (words) {
        uint32_t block = words > 359 ? 359 : words;
        words -= block;
        do {
            c0 += *w++;
            c1 += c0;
        } while (--block);
        c0 %= 65535;
        c1 %= 65535;
    }
    return (c1 << 16) | c0;
}
"#;

const LOCK_C_HEADER: &str = r#"
/* No libc for the bpf target: the fixed-width types by hand. */
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t; typedef int int32_t;
/* The smart lock of apps/ir/smartlock.air; its state is the context. */
struct lock { uint8_t pin[4]; uint32_t expires; uint8_t index; uint8_t valid; uint32_t buzzer; };
static uint32_t (*now_ms)(void) = (void *)0x20;
static uint32_t (*saul_reg_find_nth)(int pos) = (void *)0x30;
static uint32_t (*saul_reg_find_type)(uint8_t type) = (void *)0x31;
static int (*saul_reg_write_value)(uint32_t handle, int32_t value) = (void *)0x34;
"#;

const SET_PIN_C: &str = r#"
int set_pin(struct lock *s, uint32_t pin, uint32_t expires)
{
    s->pin[0] = pin; s->pin[1] = pin >> 8; s->pin[2] = pin >> 16; s->pin[3] = pin >> 24;
    s->expires = expires;
    s->valid = 1;
    s->index = 0;
    return 0;
}
"#;

const KEY_PRESSED_C: &str = r#"
int key_pressed(struct lock *s, uint32_t key)
{
    if (!(now_ms() < s->expires))
        s->valid = 0;
    if (s->pin[s->index & 3] != (uint8_t)key)
        s->valid = 0;
    s->index++;
    if (s->index != 4)
        return 0;
    s->index = 0;
    uint8_t valid = s->valid;
    s->valid = 1;
    uint32_t handle = valid ? saul_reg_find_type(0x44) : saul_reg_find_nth(s->buzzer);
    if (!handle)
        return -1;
    saul_reg_write_value(handle, 1);
    return valid ? 1 : 2;
}
"#;

/// The lock's state as the C code lays it out.
fn lock_context() -> Vec<u8> {
    let mut c = vec![0u8; 20];
    c[9] = 1; // valid
    c[12..16].copy_from_slice(&1u32.to_le_bytes()); // buzzer
    c
}

struct Row {
    name: &'static str,
    ir: u64,
    clang: Vec<(String, Result<u64, String>)>,
}

fn main() {
    let fletcher_src = std::fs::read_to_string(repo().join("apps/ir/fletcher32.air")).unwrap();
    let lock_src = std::fs::read_to_string(repo().join("apps/ir/smartlock.air")).unwrap();
    let paper = repo().join("../shared/data/fletcher32-input.bin");
    let (input, input_name) = match std::fs::read(&paper) {
        Ok(b) => (b, "the paper's 361-byte input"),
        Err(_) => (std::fs::read(repo().join("apps/data/sample-361.bin")).unwrap(), "apps/data/sample-361.bin"),
    };

    println!("# Alkyl IR measurements\n");
    println!("## Sizes and translation cost\n");
    println!("| app | IR bytes | IR heatshrink(8,4) | eBPF .text bytes (insns) | .data bytes | translation time (median) | translation peak heap |");
    println!("|---|---|---|---|---|---|---|");
    for (name, src) in [("smart lock", &lock_src), ("Fletcher-32", &fletcher_src)] {
        let bytes = assemble(src).unwrap();
        let v = validate(Module::parse(&bytes).unwrap()).unwrap();
        let t = translate(&v).unwrap();
        let (time, peak) = translation_cost(&bytes);
        println!(
            "| {name} | {} | {} | {} ({}) | {} | {:.1} µs | {} B |",
            bytes.len(),
            heatshrink(&bytes),
            t.text.len(),
            t.text.len() / 8,
            t.data.len(),
            time,
            peak
        );
    }

    // Executed instructions.
    let mut rows = Vec::new();
    let fletcher = assemble(&fletcher_src).unwrap();
    let mut pair = Pair::new(&fletcher, SimDevice::new()).unwrap();
    let want = pair.call("fletcher32", &[input.len() as u64], &input).unwrap().unwrap();
    let ir_fletcher = pair.last_executed;
    let mut clang_fletcher = Vec::new();
    for cpu in ["v1", "v3"] {
        let r = clang("fletcher32", FLETCHER_C, cpu).map(|code| {
            let mut ctx = input.clone();
            let (r0, executed) = run_c(&code, &mut ctx, &[input.len() as u64], &mut SimDevice::new());
            assert_eq!(r0, want, "clang's Fletcher-32 disagrees");
            executed
        });
        clang_fletcher.push((cpu.to_string(), r));
    }
    rows.push(Row { name: "Fletcher-32", ir: ir_fletcher, clang: clang_fletcher });

    // The lock: SetPin, then an attempt with the right pin and one with a wrong pin.
    let lock = assemble(&lock_src).unwrap();
    let events: Vec<(&str, Vec<u64>)> = {
        let mut e = vec![("SetPin", vec![u32::from_le_bytes(*b"1234") as u64, 60_000])];
        e.extend(b"12341235".iter().map(|&k| ("KeyPressed", vec![k as u64])));
        e
    };
    let mut pair = Pair::new(&lock, SimDevice::new()).unwrap();
    pair.set_clock(1_000);
    let mut ir_results = Vec::new();
    let mut ir_lock = 0;
    for (name, args) in &events {
        ir_results.push(pair.call(name, args, &[]).unwrap().unwrap());
        ir_lock += pair.last_executed;
    }
    let mut clang_lock = Vec::new();
    for cpu in ["v1", "v3"] {
        let set_pin = clang("set_pin", &format!("{LOCK_C_HEADER}{SET_PIN_C}"), cpu);
        let key = clang("key_pressed", &format!("{LOCK_C_HEADER}{KEY_PRESSED_C}"), cpu);
        let r = set_pin.and_then(|s| key.map(|k| (s, k))).map(|(set_pin, key)| {
            let mut ctx = lock_context();
            let mut device = SimDevice::new();
            device.clock_ms = 1_000;
            let mut total = 0;
            for ((name, args), want) in events.iter().zip(&ir_results) {
                let code = if *name == "SetPin" { &set_pin } else { &key };
                let (r0, executed) = run_c(code, &mut ctx, args, &mut device);
                assert_eq!(r0 as u32 as u64, *want, "clang's {name} disagrees");
                total += executed;
            }
            assert_eq!(device.writes, pair.vm_device.writes, "clang's lock drives other actuators");
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
