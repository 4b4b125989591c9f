//! Fletcher32 over the rBPF paper's 361-byte input on a Cortex-M4: native C
//! (arm-none-eabi-gcc -Os), native Rust, and the Alkyl VM (fast engine and
//! reference interpreter) on the kernel's eBPF form.
//!
//! Each measured piece runs between calls of `alkyl_bench_start` and
//! `alkyl_bench_end`; the QEMU plugin in `plugin/` counts the instructions
//! executed in between. The image names each window on semihosting output
//! before it runs (`window: NAME`), checks every result, measures the stack
//! high-water mark of the VM runs, and exits with status 1 on any mismatch.
#![no_std]
#![no_main]

mod rt;

use core::hint::black_box;

#[cfg(any(feature = "engine-fast", feature = "engine-ref"))]
use alkyl_vm::{verify, Invocation, NoHelpers, Runnable};

include!(concat!(env!("OUT_DIR"), "/consts.rs"));

static EBPF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fletcher32.bpf"));
#[cfg(any(feature = "engine-fast", feature = "engine-ref"))]
const BUDGET: u64 = 1_000_000;

#[cfg(not(feature = "size-image"))]
extern "C" {
    fn alkyl_native_fletcher32(buf: *mut u8, len: u32) -> u32;
}

#[cfg(not(feature = "size-image"))]
/// Opens a measurement window.
#[no_mangle]
#[inline(never)]
pub extern "C" fn alkyl_bench_start() {
    // An empty asm statement that may touch memory: no work moves across.
    // SAFETY: no instructions.
    unsafe { core::arch::asm!("", options(nostack)) };
}

#[cfg(not(feature = "size-image"))]
/// Closes a measurement window.
#[no_mangle]
#[inline(never)]
pub extern "C" fn alkyl_bench_end() {
    // A different body from `alkyl_bench_start`, so the linker cannot fold
    // the two markers into one address.
    // SAFETY: one `nop`.
    unsafe { core::arch::asm!("nop", options(nostack)) };
}

#[cfg(not(feature = "size-image"))]
/// Runs `f` inside a named window and returns its result.
fn window<R>(name: &str, f: impl FnOnce() -> R) -> R {
    println!("window: {name}");
    alkyl_bench_start();
    let r = black_box(f());
    alkyl_bench_end();
    r
}

// Fletcher32 in Rust, the same algorithm as `kernels/fletcher32.c`: the
// test kit's oracle, one definition for both.
#[cfg(not(feature = "size-image"))]
include!("../../../testkit/src/fletcher32.rs");

#[cfg(all(not(feature = "size-image"), feature = "engine-fast", feature = "engine-ref"))]
mod suite {
    //! The suite: every kernel `alkyl-bench-cm4` prepared (build.rs), as C
    //! (gcc -Os) and as its container on both engines, each result checked
    //! against the C one. Windows `suite_native NAME`, `suite_fast NAME`,
    //! `suite_ref NAME`: one run each, what a host does per event (a fresh
    //! zeroed stack, the input mapped writable, the container's `.rodata`,
    //! run); the input is restored before every run, outside the window.

    use super::{stack_use, window, BUDGET};
    use crate::println;
    use alkyl_vm::container::Script;
    use alkyl_vm::fast::{self, FastProgram, Op};
    use alkyl_vm::{HelperError, HelperSet, Helpers, Invocation, MemoryMap, Runnable};
    use core::hint::black_box;

    /// The KV helpers of the helper kernels (`store_local`, `fetch_local`
    /// of `kernel.h`) on the image: one store (64 slots, searched in order,
    /// as the host's simulated platform keeps it), reached by the C build
    /// through `alkyl_store_local`/`alkyl_fetch_local` and by both engines
    /// as helpers 16 and 18 (the pointer checked against the map).
    struct Kv;

    static mut KV: [Option<(u32, u32)>; 64] = [None; 64];

    impl Kv {
        fn slots() -> &'static mut [Option<(u32, u32)>; 64] {
            // SAFETY: one thread, and no caller keeps the reference across
            // another call.
            unsafe { &mut *core::ptr::addr_of_mut!(KV) }
        }

        fn store(key: u32, value: u32) -> i32 {
            let slots = Kv::slots();
            let at = slots.iter().position(|s| matches!(s, Some((k, _)) if *k == key));
            match at.or_else(|| slots.iter().position(Option::is_none)) {
                Some(i) => {
                    slots[i] = Some((key, value));
                    0
                }
                None => -28,
            }
        }

        fn fetch(key: u32) -> u32 {
            Kv::slots().iter().find_map(|s| s.filter(|(k, _)| *k == key)).map_or(0, |(_, v)| v)
        }
    }

    #[no_mangle]
    extern "C" fn alkyl_store_local(key: u32, value: u32) -> i32 {
        Kv::store(key, value)
    }

    /// # Safety
    /// `value` points to a writable `u32` (the kernels pass a local).
    #[no_mangle]
    unsafe extern "C" fn alkyl_fetch_local(key: u32, value: *mut u32) -> i32 {
        // SAFETY: as the caller promises.
        unsafe { value.write_unaligned(Kv::fetch(key)) };
        0
    }

    impl HelperSet for Kv {
        fn contains(&self, id: u32) -> bool {
            id == 16 || id == 18
        }
    }

    impl Helpers for Kv {
        fn call(&mut self, id: u32, a: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
            match id {
                16 => Ok(Kv::store(a[0] as u32, a[1] as u32) as i64 as u64),
                18 => {
                    mem.store::<4>(a[1], Kv::fetch(a[0] as u32) as u64)?;
                    Ok(0)
                }
                _ => Err(HelperError::Unknown(id)),
            }
        }
    }

    /// One run of a kernel on the fast engine and on the reference
    /// interpreter (`run_vm` with the kernel's stack).
    type RunFast = for<'p, 'o> fn(&FastProgram<'p, 'o>, &Script<&'static [u8]>, &str, &mut [u8]) -> u64;
    type RunRef = fn(&Script<&'static [u8]>, &Script<&'static [u8]>, &str, &mut [u8]) -> u64;

    /// One kernel of the suite.
    pub struct SuiteKernel {
        name: &'static str,
        native: unsafe extern "C" fn(*mut u8, u32) -> u32,
        container: &'static [u8],
        input: &'static [u8],
        /// The stack the container declares: each run maps exactly this.
        stack: usize,
        run_fast: RunFast,
        run_ref: RunRef,
    }

    /// Word alignment for the embedded containers.
    #[repr(C, align(8))]
    struct Aligned<T: ?Sized>(T);

    include!(concat!(env!("OUT_DIR"), "/suite.rs"));

    /// The largest translated program (slots) of the suite.
    const MAX_SLOTS: usize = 1024;

    /// The run's input buffer, word-aligned, refilled before every run.
    struct Buf([u32; SUITE_MAX_INPUT / 4]);

    impl Buf {
        fn fill(&mut self, input: &[u8]) -> &mut [u8] {
            let bytes = bytemuck_bytes(&mut self.0);
            bytes[..input.len()].copy_from_slice(input);
            &mut bytes[..input.len()]
        }
    }

    /// The words of `w` as bytes (little-endian, any value is valid).
    fn bytemuck_bytes(w: &mut [u32]) -> &mut [u8] {
        // SAFETY: u8 has no alignment or validity requirement; the length
        // covers exactly the words' bytes, borrowed mutably from `w`.
        unsafe { core::slice::from_raw_parts_mut(w.as_mut_ptr().cast::<u8>(), w.len() * 4) }
    }

    /// One run of `engine` over `input` (writable), with the script's
    /// regions: the host's per-event work, over a stack of the `STACK`
    /// bytes it declares and a region table of the segments it maps
    /// (0..=4: stack, input, `.data`, `.rodata`).
    #[inline(never)]
    fn run_vm<const STACK: usize>(
        engine: &impl Runnable,
        script: &Script<&'static [u8]>,
        name: &str,
        input: &mut [u8],
    ) -> u64 {
        let mut stack = [0u8; STACK];
        let mut data = [0u8; 0];
        let Some(entry) = script.entry(name.as_bytes()) else {
            return u64::MAX;
        };
        let mut invocation = Invocation::<5>::sized_writable(&mut stack, input);
        let Ok(invocation) = invocation.as_mut() else {
            return u64::MAX;
        };
        if invocation.script(script, &mut data).is_err() {
            return u64::MAX;
        }
        match engine.run(entry, invocation, &mut Kv, BUDGET) {
            Ok(exit) => exit.r0 as u32 as u64,
            Err(_) => u64::MAX,
        }
    }

    pub fn run(ok: &mut bool) {
        let mut buf = Buf([0; SUITE_MAX_INPUT / 4]);
        let mut ops = [Op::EMPTY; MAX_SLOTS];
        for k in SUITE {
            println!("kernel {} over {} bytes", k.name, k.input.len());
            let input = buf.fill(k.input);
            let len = input.len() as u32;
            let ptr = input.as_mut_ptr();
            // SAFETY: the kernel reads and writes `len` bytes at `ptr` (its
            // C source), a live exclusive buffer.
            let want = window(&alloc_name("suite_native", k.name), || unsafe { (k.native)(black_box(ptr), len) });
            let Ok(script) = Script::load(k.container, &Kv) else {
                println!("result {}: load failed WRONG", k.name);
                *ok = false;
                continue;
            };
            let program = script.borrowed_program();
            let Ok(fast) = fast::translate(&program, &mut ops) else {
                println!("result {}: translation failed WRONG", k.name);
                *ok = false;
                continue;
            };
            let input = buf.fill(k.input);
            let f =
                window(&alloc_name("suite_fast", k.name), || (k.run_fast)(&fast, &script, k.name, black_box(input)));
            let input = buf.fill(k.input);
            let r =
                window(&alloc_name("suite_ref", k.name), || (k.run_ref)(&script, &script, k.name, black_box(input)));
            // RAM per instance, outside the windows: the stack high-water
            // mark of one run (declared stack, region table, engine frames).
            let input = buf.fill(k.input);
            let (f2, fast_ram) = stack_use(|| (k.run_fast)(&fast, &script, k.name, input));
            let input = buf.fill(k.input);
            let (r2, ref_ram) = stack_use(|| (k.run_ref)(&script, &script, k.name, input));
            println!("stack suite_fast {}: {fast_ram}", k.name);
            println!("stack suite_ref {}: {ref_ram}", k.name);
            println!("declared suite {}: {}", k.name, k.stack);
            let good = f == want as u64 && r == want as u64 && f2 == f && r2 == r;
            println!("result suite {}: {want:#x} fast {f:#x} ref {r:#x} {}", k.name, if good { "ok" } else { "WRONG" });
            *ok &= good;
        }
    }

    /// `PREFIX NAME` in a fixed buffer (no allocator).
    fn alloc_name(prefix: &str, name: &str) -> Name {
        let mut n = Name([0; 64], 0);
        for b in prefix.bytes().chain(core::iter::once(b' ')).chain(name.bytes()) {
            if n.1 < n.0.len() {
                n.0[n.1] = b;
                n.1 += 1;
            }
        }
        n
    }

    struct Name([u8; 64], usize);

    impl core::ops::Deref for Name {
        type Target = str;
        fn deref(&self) -> &str {
            core::str::from_utf8(&self.0[..self.1]).unwrap_or("?")
        }
    }
}

/// Word-aligned input buffer (the kernel loads 16-bit words).
#[repr(C, align(4))]
struct Input([u8; INPUT.len()]);

/// One checksum: the stack and the input mapped by the invocation
/// convention, run. What a host does per event. Inlined into each engine's
/// wrapper.
#[inline(always)]
#[cfg(any(feature = "engine-fast", feature = "engine-ref"))]
fn checksum(engine: &impl Runnable, input: &[u8]) -> u64 {
    // The stack Fletcher32's container declares, and a region table of
    // the segments the run maps (0..=2: the stack and the input).
    let mut stack = [0u8; EBPF_STACK];
    // Bound in place: moving the invocation out of the `Result` would copy
    // its region table at every checksum.
    let mut invocation = Invocation::<3>::sized(&mut stack, input);
    let Ok(invocation) = invocation.as_mut() else {
        return u64::MAX;
    };
    match engine.run(engine.program().main(), invocation, &mut NoHelpers, BUDGET) {
        Ok(exit) => exit.r0,
        Err(_) => u64::MAX,
    }
}

/// One checksum on the reference interpreter.
#[inline(never)]
#[cfg(feature = "engine-ref")]
fn run_ref(program: &alkyl_vm::Program<'_>, input: &[u8]) -> u64 {
    checksum(program, input)
}

/// One checksum on the fast engine (translated at load).
#[inline(never)]
#[cfg(feature = "engine-fast")]
fn run_fast(program: &alkyl_vm::fast::FastProgram<'_, '_>, input: &[u8]) -> u64 {
    checksum(program, input)
}

/// The VM's windows: verify (and translate), one checksum per engine, and
/// each engine's stack high-water mark.
#[cfg(all(not(feature = "size-image"), any(feature = "engine-fast", feature = "engine-ref")))]
fn alkyl(input: &[u8], ok: &mut bool) {
    let program = window("alkyl_verify", || verify(black_box(EBPF), &NoHelpers));
    let Ok(program) = program else {
        println!("verification failed");
        *ok = false;
        return;
    };
    // The declared stack holds every access the verifier sees.
    let fits = program.frame_size() as usize <= EBPF_STACK;
    println!("declared stack {EBPF_STACK}, frame {}: {}", program.frame_size(), if fits { "ok" } else { "WRONG" });
    *ok &= fits;
    println!("ebpf_stack: {EBPF_STACK}");
    #[cfg(feature = "engine-fast")]
    {
        let mut ops = [alkyl_vm::fast::Op::EMPTY; EBPF_SLOTS];
        let fast = window("alkyl_translate", || alkyl_vm::fast::translate(&program, &mut ops));
        let Ok(fast) = fast else {
            println!("translation failed");
            *ok = false;
            return;
        };
        let v = window("alkyl_fast", || run_fast(&fast, black_box(input)));
        check("alkyl_fast", v, ok);
        let (v, used) = stack_use(|| run_fast(&fast, input));
        check("alkyl_fast (stack run)", v, ok);
        println!("stack alkyl_fast: {used}");
        println!("ops alkyl_fast: {}", core::mem::size_of_val(&ops));
    }
    #[cfg(feature = "engine-ref")]
    {
        let v = window("alkyl_ref", || run_ref(&program, black_box(input)));
        check("alkyl_ref", v, ok);
        let (v, used) = stack_use(|| run_ref(&program, input));
        check("alkyl_ref (stack run)", v, ok);
        println!("stack alkyl_ref: {used}");
    }
    println!("memorymap: {}", core::mem::size_of::<alkyl_vm::MemoryTable<'_, 3>>());
}

#[cfg(all(not(feature = "size-image"), any(feature = "engine-fast", feature = "engine-ref")))]
const PAINT: u32 = 0xa5a5_a5a5;

#[cfg(all(not(feature = "size-image"), any(feature = "engine-fast", feature = "engine-ref")))]
/// Bytes of stack `f` uses below the caller's stack pointer: paint the free
/// stack, run, find the lowest word that changed.
#[inline(never)]
fn stack_use<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let bottom = rt::stack_bottom();
    let sp = rt::stack_pointer();
    // Leave a margin below sp for this function's own calls into `f`.
    let limit = sp - 64;
    let mut p = bottom;
    while p < limit {
        // SAFETY: [bottom, sp - 64) is free stack below this frame.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    let r = black_box(f());
    let mut low = bottom;
    // SAFETY: as above; reading back the painted words.
    while low < limit && unsafe { core::ptr::read_volatile(low as *const u32) } == PAINT {
        low += 4;
    }
    (r, sp - low)
}

#[cfg(not(feature = "size-image"))]
fn check(name: &str, got: u64, ok: &mut bool) {
    let good = got == EXPECTED as u64;
    println!("result {name}: {got:#x} {}", if good { "ok" } else { "WRONG" });
    *ok &= good;
}

#[cfg(not(feature = "size-image"))]
pub fn main() -> bool {
    let mut ok = true;
    let mut buf = Input(INPUT);
    let input: &[u8] = &buf.0;
    println!("fletcher32 over {} bytes; eBPF {} slots", input.len(), EBPF_SLOTS);
    window("empty", || ());
    let c = window("native_c", || {
        // SAFETY: the C kernel reads `len` bytes at `buf` (kernels/fletcher32.c).
        unsafe { alkyl_native_fletcher32(black_box(buf.0.as_mut_ptr()), buf.0.len() as u32) }
    });
    check("native_c", c as u64, &mut ok);
    let input: &[u8] = &buf.0;
    let r = window("native_rust", || fletcher32(black_box(input)));
    check("native_rust", r as u64, &mut ok);

    #[cfg(any(feature = "engine-fast", feature = "engine-ref"))]
    alkyl(input, &mut ok);
    #[cfg(all(feature = "engine-fast", feature = "engine-ref"))]
    suite::run(&mut ok);
    ok
}

/// The size image: only what a device links to run a script (verify once,
/// translate once for the fast engine, map and run per event), so that the
/// difference to the image without an engine is the VM's flash.
#[cfg(feature = "size-image")]
pub fn main() -> bool {
    let buf = Input(INPUT);
    let input: &[u8] = black_box(&buf.0);
    #[cfg(any(feature = "engine-fast", feature = "engine-ref"))]
    let Ok(program) = verify(black_box(EBPF), &NoHelpers) else {
        return false;
    };
    #[cfg(feature = "engine-fast")]
    {
        let mut ops = [alkyl_vm::fast::Op::EMPTY; EBPF_SLOTS];
        let Ok(fast) = alkyl_vm::fast::translate(&program, &mut ops) else {
            return false;
        };
        if run_fast(&fast, input) != EXPECTED as u64 {
            return false;
        }
    }
    #[cfg(feature = "engine-ref")]
    if run_ref(&program, input) != EXPECTED as u64 {
        return false;
    }
    #[cfg(not(any(feature = "engine-fast", feature = "engine-ref")))]
    {
        black_box((EBPF, EXPECTED, EBPF_SLOTS));
        run_none(input);
    }
    true
}

/// The no-VM size image's per-event function: what a host does per event
/// whatever runs the script (a fresh, zeroed 512-byte stack next to the
/// input), so that the zeroing code cancels out of the VM's flash.
#[cfg(all(feature = "size-image", not(any(feature = "engine-fast", feature = "engine-ref"))))]
#[inline(never)]
fn run_none(input: &[u8]) {
    let mut stack = [0u8; alkyl_vm::STACK_SIZE];
    black_box((&mut stack, input));
}
