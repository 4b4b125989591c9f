pub mod gen;

use alkyl_bindings::SimPlatform;
use alkyl_translator::ir::lockstep::Pair;
use alkyl_translator::ir::IrTrap;

/// Runs `count` generated programs from `seed`: each compiled, then called
/// three times (globals persist) on the evaluator and, in lockstep, on the
/// IR interpreter and the VM. Returns (programs, calls, traps).
///
/// # Panics
/// At the first disagreement or compile failure, with the program.
pub fn sweep(seed: u64, count: u64) -> (u64, u64, u64) {
    let mut calls = 0;
    let mut traps = 0;
    for i in 0..count {
        let mut r = gen::Rng(seed ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d));
        let prog = gen::generate(&mut r);
        let src = gen::print(&prog);
        let compiled = std::panic::catch_unwind(|| alkyl_lang::compile_file("gen.alkyl", &src))
            .unwrap_or_else(|_| panic!("program {i} (seed {seed:#x}): the compiler panicked on\n{src}"))
            .unwrap_or_else(|e| panic!("program {i} (seed {seed:#x}) does not compile:\n{e}\n{src}"));
        let mut pair =
            Pair::new(&compiled.module, SimPlatform::new()).unwrap_or_else(|e| panic!("program {i}: {e}\n{src}"));
        let mut state = gen::State::new(&prog);
        for _ in 0..3 {
            let nparams = prog.funcs.last().map_or(0, |f| f.params.len());
            let args: Vec<u64> = (0..nparams).map(|_| r.next() >> (r.below(4) * 16)).collect();
            let expected = gen::call(&prog, &mut state, &args);
            let got = pair
                .call("f", &args, &[])
                .unwrap_or_else(|e| panic!("program {i}: interpreter and VM disagree: {e}\n{src}"));
            let got = match got {
                Ok(v) => gen::Outcome::Value(v),
                Err(IrTrap::Revert(c)) => gen::Outcome::Revert(c),
                Err(t) => panic!("program {i}: unexpected trap {t:?}\n{src}"),
            };
            calls += 1;
            if matches!(got, gen::Outcome::Revert(_)) {
                traps += 1;
            }
            assert_eq!(got, expected, "program {i} (seed {seed:#x}), args {args:x?}:\n{src}");
        }
    }
    (count, calls, traps)
}
