//! The global allocator: RIOT's `malloc`, for crates that use `alloc` (the
//! portable runtime will). The VM itself never allocates.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn memalign(alignment: usize, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Alignment every `malloc` result has on RIOT's targets (newlib on
/// Cortex-M: 8; glibc on native64: 16).
const MALLOC_ALIGN: usize = 8;

struct RiotMalloc;

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
        if layout.align() <= MALLOC_ALIGN {
            malloc(layout.size()).cast()
        } else {
            memalign(layout.align(), layout.size()).cast()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        free(ptr.cast())
    }
}
