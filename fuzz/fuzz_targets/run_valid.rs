//! Mostly-valid programs (see `valid.rs`): verified programs must run
//! without panic and without touching memory outside their regions.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
#[path = "valid.rs"]
mod valid;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (input, raw) = rest.split_at(n);
    if let Some(code) = valid::program(raw) {
        if let Ok(program) = alkyl_vm::verify(&code, &common::FuzzHelpers) {
            common::run_guarded(&program, input);
        }
    }
});
