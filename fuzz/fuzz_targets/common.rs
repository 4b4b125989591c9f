//! Shared harness: map a stack and a guarded input region, run with a small
//! budget and helpers that dereference their pointer arguments, then check
//! that nothing outside the granted slices changed. Each target uses a part.
#![allow(dead_code)]

pub use alkyl_testkit::ebpf::TestHelpers;
use alkyl_vm::{Executable, Invocation, Program, Runnable, STACK_SIZE};

pub const GUARD: usize = 64;
pub const CANARY: u8 = 0xa5;

/// Calls `f` with `program` on the reference (`fast == false`) or the fast
/// engine (translated first). The input is mapped read-write
/// (`Invocation::with_writable_input`): the harness checks what a program
/// may write.
fn on_engine<R>(program: &Program<'_>, fast: bool, f: impl FnOnce(Executable<'_, '_>) -> R) -> R {
    if fast {
        let mut ops = vec![alkyl_vm::fast::Op::EMPTY; alkyl_vm::fast::storage_len(program)];
        f(Executable::Fast(alkyl_vm::fast::translate(program, &mut ops).expect("storage is sized by storage_len")))
    } else {
        f(Executable::Reference(*program))
    }
}

/// Splits fuzzer bytes into an input (its length in the first byte) and a
/// mostly-valid program ([`alkyl_testkit::ebpf::valid_program`]); calls
/// `f` with the program, verified, and the input.
pub fn with_valid_program(data: &[u8], f: impl FnOnce(&Program<'_>, &[u8])) {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize).min(rest.len());
    let (input, raw) = rest.split_at(n);
    let Some(code) = alkyl_testkit::ebpf::valid_program(raw) else { return };
    if let Ok(program) = alkyl_vm::verify(&code, &TestHelpers) {
        f(&program, input);
    }
}

pub fn run_guarded(program: &Program<'_>, input: &[u8]) {
    run_guarded_on(program, input, false)
}

/// [`run_guarded`] on the reference (`fast == false`) or the fast engine.
pub fn run_guarded_on(program: &Program<'_>, input: &[u8], fast: bool) {
    let mut backing = vec![CANARY; GUARD + input.len() + GUARD];
    backing[GUARD..GUARD + input.len()].copy_from_slice(input);
    let mut stack = [0u8; STACK_SIZE + 2 * GUARD];
    stack[..GUARD].fill(CANARY);
    stack[GUARD + STACK_SIZE..].fill(CANARY);
    {
        let (_, rest) = backing.split_at_mut(GUARD);
        let (region, _) = rest.split_at_mut(input.len());
        let (_, srest) = stack.split_at_mut(GUARD);
        let (sregion, _) = srest.split_at_mut(STACK_SIZE);
        let mut run = Invocation::with_writable_input(sregion, region).unwrap();
        let _ = on_engine(program, fast, |exe| exe.run(program.main(), &mut run, &mut TestHelpers, 10_000));
    }
    assert!(backing[..GUARD].iter().all(|&b| b == CANARY), "write below the input region");
    assert!(backing[GUARD + input.len()..].iter().all(|&b| b == CANARY), "write above the input region");
    assert!(stack[..GUARD].iter().all(|&b| b == CANARY), "write below the stack");
    assert!(stack[GUARD + STACK_SIZE..].iter().all(|&b| b == CANARY), "write above the stack");
}

/// What one engine did with a program: its result and the memory after.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub result: Result<alkyl_vm::Exit, alkyl_vm::Trap>,
    pub input: Vec<u8>,
    pub stack: Vec<u8>,
}

/// Runs `program` on one engine over a copy of `input` (fast: translated
/// first), with the same regions, helpers and budget as `run_guarded`.
pub fn run_engine(program: &Program<'_>, input: &[u8], fast: bool, budget: u64) -> Outcome {
    let mut input = input.to_vec();
    let mut stack = vec![0u8; STACK_SIZE];
    let result = {
        let mut run = Invocation::with_writable_input(&mut stack, &mut input).unwrap();
        on_engine(program, fast, |exe| exe.run(program.main(), &mut run, &mut TestHelpers, budget))
    };
    Outcome { result, input, stack }
}

/// The fast engine must do exactly what the reference does: same result
/// (`r0`, executed count, or trap with its pc), same memory afterwards. The
/// one documented difference: under budget exhaustion the fast engine stops
/// at the start of the straight-line run it cannot pay for, so only the
/// trap kind is compared then.
pub fn check_engines_agree(program: &Program<'_>, input: &[u8], budget: u64) {
    let reference = run_engine(program, input, false, budget);
    let fast = run_engine(program, input, true, budget);
    match (&reference.result, &fast.result) {
        (Err(a), Err(b)) if a.kind == alkyl_vm::TrapKind::BudgetExhausted => {
            assert_eq!(b.kind, alkyl_vm::TrapKind::BudgetExhausted, "reference {a}, fast {b}");
        }
        _ => assert_eq!(reference, fast, "engines differ"),
    }
}
