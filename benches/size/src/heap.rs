//! The images' global allocator: a bump allocator over the RAM between
//! `.bss` and the stack (frees nothing). It only has to link: every image
//! holds it, so it cancels out of the sizes (RIOT brings its own malloc).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;

/// Bytes of RAM the heap may use, above `.bss`.
const HEAP_BYTES: usize = 192 * 1024;

pub struct Bump {
    next: Cell<usize>,
}

// SAFETY: the image is single-threaded and has no interrupt handlers that
// allocate.
unsafe impl Sync for Bump {}

impl Bump {
    pub const fn new() -> Bump {
        Bump { next: Cell::new(0) }
    }
}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = crate::rt::stack_bottom();
        let start = (base + self.next.get() + layout.align() - 1) & !(layout.align() - 1);
        let end = start + layout.size();
        if end > base + HEAP_BYTES {
            return core::ptr::null_mut();
        }
        self.next.set(end - base);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
