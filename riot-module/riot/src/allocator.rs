//! The global allocator: RIOT's `malloc`, for the portable runtime (apps,
//! uploads, key-value store, responses). The VM itself never allocates.
//! It counts the bytes Rust holds, for the firmware's memory report.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn memalign(alignment: usize, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Alignment every `malloc` result has on RIOT's targets (newlib on
/// Cortex-M: 8; glibc on native64: 16).
const MALLOC_ALIGN: usize = 8;

struct RiotMalloc;

/// Bytes currently allocated through Rust, and the most ever at once.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// (bytes allocated now, peak) — requested sizes, without malloc's overhead.
pub fn usage() -> (usize, usize) {
    (LIVE.load(Ordering::Relaxed), PEAK.load(Ordering::Relaxed))
}

#[global_allocator]
static ALLOCATOR: RiotMalloc = RiotMalloc;

// SAFETY: `alloc` returns either null (which GlobalAlloc allows to signal
// failure) or a fresh block of at least `layout.size()` bytes from the C heap,
// aligned to `layout.align()`: `malloc` guarantees MALLOC_ALIGN, and larger
// alignments go through `memalign`, which guarantees the requested power of
// two (Layout ensures `align` is one). `dealloc` receives only pointers this
// allocator returned (GlobalAlloc's contract on the caller), and `free`
// accepts both `malloc` and `memalign` blocks in newlib and glibc. RIOT's
// malloc is thread-safe (newlib: malloc_thread_safe; native: wrapped).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for RiotMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p: *mut u8 = if layout.align() <= MALLOC_ALIGN {
            malloc(layout.size()).cast()
        } else {
            memalign(layout.align(), layout.size()).cast()
        };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        free(ptr.cast())
    }
}
