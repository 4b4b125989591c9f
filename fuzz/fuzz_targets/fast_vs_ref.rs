//! Differential: the fast engine against the reference interpreter on
//! mostly-valid programs (`alkyl_testkit::ebpf::valid_program`), and the
//! fast engine alone inside guard bytes (nothing outside its regions may
//! change). Any difference in result, trap position or memory is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::with_valid_program(data, |program, input| {
        let mut ops = vec![alkyl_vm::fast::Op::EMPTY; alkyl_vm::fast::storage_len(program)];
        alkyl_vm::fast::translate(program, &mut ops).expect("a verified program translates");
        common::run_guarded_on(program, input, true);
        common::check_engines_agree(program, input, 10_000);
        // The exact budget a completed run needed must suffice on both
        // engines, and one less must not (the contract of per-run charging).
        if let Ok(exit) = common::run_engine(program, input, false, 10_000).result {
            common::check_engines_agree(program, input, exit.executed);
            if exit.executed > 0 {
                common::check_engines_agree(program, input, exit.executed - 1);
            }
        }
    });
});
