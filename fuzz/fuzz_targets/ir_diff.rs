//! Differential fuzzing of Alkyl IR: the input drives the generator of
//! well-formed programs; each program runs on the reference interpreter
//! and, translated, on the VM, and every call must agree (result or trap,
//! memory, globals, device effects).
#![no_main]

use alkyl_testkit::{check, generate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let program = generate(data);
    if let Err(e) = check(&program) {
        panic!("{e}\n--- program ---\n{}\ncalls: {:?}", program.text, program.calls);
    }
});
