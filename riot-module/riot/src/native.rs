//! Link support for RIOT's `native` boards (the firmware as a Linux process).
//!
//! The precompiled `core` and `compiler_builtins` for x86_64-unknown-linux-gnu
//! are built with unwinding and reference `rust_eh_personality`; RIOT builds
//! with `-Cpanic=abort`, where nothing provides it, and defining the lang item
//! needs nightly. Nothing ever unwinds (a panic stops its thread in the crate's
//! handler, console.rs), so the personality routine is never called: an empty symbol
//! satisfies the linker.

// SAFETY (no_mangle): no other object in the firmware defines this symbol (the
// link fails without it), and it is never called.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
