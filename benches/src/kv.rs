//! The KV helpers of the helper kernels (`store_local`, `fetch_local` in
//! `kernels/kernel.h`), supplied to every contender over one store.
//!
//! The store is the simulated platform's key-value store
//! (`alkyl_bindings::SimPlatform`, the local namespace of app 0), one per
//! thread. Alkyl runs the kernel's eBPF helper calls through the runtime's
//! own helper code (`alkyl_bindings::AlkylHelpers`: helper-id dispatch, the
//! allowed-set check, the destination checked against the `MemoryMap`) on
//! that store; the native build calls [`store`] and [`fetch`] through the C
//! functions `alkyl_store_local`/`alkyl_fetch_local`; the Wasm kernels import
//! `env.store_local`/`env.fetch_local`, host functions of wasmi and wasm3 that
//! check the destination against the linear memory; rbpf gets the same
//! functions as its helpers 16 and 18. So every contender does the same
//! store work; what differs is each one's own way of calling out of the
//! VM and checking the pointer it is given (docs/benchmarks.md, "The
//! KV-helper kernel").

use std::cell::RefCell;

use alkyl_bindings::generated as g;
use alkyl_bindings::{KvScope, Platform, SimPlatform};

thread_local! {
    static HOST: RefCell<SimPlatform> = const { RefCell::new(SimPlatform::new()) };
}

/// The scope of the helpers' keys: the local namespace of app 0.
pub const SCOPE: KvScope = KvScope::Local(0);

/// Runs `f` with the thread's store (Alkyl binds its helpers to it for a
/// whole run).
pub fn with_store<R>(f: impl FnOnce(&mut SimPlatform) -> R) -> R {
    HOST.with(|p| f(&mut p.borrow_mut()))
}

/// `store_local(key, value)`: 0, or `ALKYL_ENOSPC` when a new key does not fit.
pub fn store(key: u32, value: u32) -> i32 {
    with_store(|p| match p.kv_store(SCOPE, key, value) {
        Ok(()) => 0,
        Err(_) => g::ALKYL_ENOSPC,
    })
}

/// `fetch_local(key)`: the value, 0 when absent (what the helper writes).
pub fn fetch(key: u32) -> u32 {
    with_store(|p| p.kv_fetch(SCOPE, key).unwrap_or(0))
}

/// The native kernels' `store_local`.
#[no_mangle]
pub extern "C" fn alkyl_store_local(key: u32, value: u32) -> i32 {
    store(key, value)
}

/// The native kernels' `fetch_local`.
///
/// # Safety
/// `value` points to a writable `u32` (the kernels pass a local).
#[no_mangle]
pub unsafe extern "C" fn alkyl_fetch_local(key: u32, value: *mut u32) -> i32 {
    // SAFETY: as the caller promises.
    unsafe { value.write_unaligned(fetch(key)) };
    0
}
