//! A size image of the Alkyl device runtime for the nRF52840 (Cortex-M4F):
//! what a firmware links for the runtime, with the platform stubbed out.
//!
//! Every image holds the same frame: the nRF52840 vector table and reset
//! (`../cm4/src/rt.rs`), a panic handler that formats nothing, and a small
//! global allocator. Without a runtime feature that is all ("none"); with
//! one, `main` keeps the runtime's real entry points alive over inputs the
//! optimizer cannot see through (`black_box`): [`Runtime::new`] over a
//! stub [`Storage`] and [`Device`], the CoAP API through
//! `coap_handler::Handler` (`extract_request_data`, `build_response`) over
//! a minimal in-image `coap_message` implementation, and
//! [`Runtime::poll`]. `alkyl-bench-size` (`make bench-size`) builds one
//! image per feature set and subtracts "none".

#![no_std]
#![no_main]

extern crate alloc;

#[path = "../../cm4/src/rt.rs"]
mod rt;

mod heap;
#[cfg(feature = "runtime")]
mod image;

#[global_allocator]
static HEAP: heap::Bump = heap::Bump::new();

/// Called by the reset handler; the image never returns from it.
pub fn main() -> bool {
    // The allocator is in every image, used or not ("none" too), so that
    // it cancels out of the differences.
    let p = unsafe { alloc::alloc::alloc(core::hint::black_box(core::alloc::Layout::new::<u32>())) };
    core::hint::black_box(p);
    #[cfg(feature = "runtime")]
    image::serve();
    false
}
