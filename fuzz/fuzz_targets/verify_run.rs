//! Arbitrary bytes: the first byte picks the input length, then the input,
//! then the program. Verification must never panic; verified programs must
//! run without panic and without touching memory outside their regions.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (input, code) = rest.split_at(n);
    if let Ok(program) = alkyl_vm::verify(code, &common::TestHelpers) {
        common::run_guarded(&program, input);
    }
});
