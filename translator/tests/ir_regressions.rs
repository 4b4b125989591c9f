//! Every mismatch the differential tests and the fuzzer found between the
//! reference interpreter and the translation, minimized, with its cause.
//! Each case runs on both sides (they must agree) and pins the
//! interpreter's answer.

use alkyl_bindings::SimPlatform;
use alkyl_testkit::assemble;
use alkyl_translator::ir::lockstep::Pair;
use alkyl_translator::ir::IrTrap;

fn agree(source: &str, calls: &[(&[u64], &[u8])]) -> Vec<Result<u64, IrTrap>> {
    let bytes = assemble(source).unwrap();
    let mut pair = Pair::new(&bytes, SimPlatform::demo()).unwrap();
    calls.iter().map(|(args, input)| pair.call("f", args, input).unwrap_or_else(|e| panic!("{e}"))).collect()
}

/// Mismatch 1 (sweep of 300,000 programs): the block-boundary parallel move
/// broke a cycle through a temporary register that it had already written
/// as the new home of another stack position (its use count still described
/// the state before the move). The loop counter was clobbered and the
/// translation looped until its budget ran out; the interpreter returned 0.
/// Fix: the cycle temporary avoids every destination of the move.
#[test]
fn cycle_temporary_avoids_written_homes_loop() {
    let source = include_str!("regressions/cycle_temporary_avoids_written_homes_loop.air");
    let input = [14, 40, 172, 254, 147, 62, 145, 22, 168, 92, 168, 52, 61, 223, 178, 145];
    assert_eq!(agree(source, &[(&[128, 1, 1, 1, 2147483648], &input)]), [Ok(0)]);
}

/// Mismatch 2 (proptest, same cause as 1): the clobbered home held an
/// operand of a later `LT`, so the translation reverted with code 0 instead
/// of 1.
#[test]
fn cycle_temporary_avoids_written_homes_value() {
    let source = include_str!("regressions/cycle_temporary_avoids_written_homes_value.air");
    let input = [0u8; 16];
    assert_eq!(agree(source, &[(&[0], &input), (&[0], &input)]), [Err(IrTrap::Revert(1)), Err(IrTrap::Revert(1))]);
}

/// Found by the `ir_parse` fuzzer (after containers landed; the fault is
/// older): a function whose code starts with a `JUMPDEST` that no jump
/// targets is valid, but failed translation with "translator invariant
/// broken: JUMPDEST without types" — the validator recorded the stack
/// shape of jump and fall-through edges into a `JUMPDEST`, not of the
/// call's own entry. Fix: the entry is an edge (empty stack) into a
/// leading `JUMPDEST`.
#[test]
fn a_leading_jumpdest_is_entered_by_the_call() {
    assert_eq!(agree(".public f w8\n JUMPDEST\n ARG 0\n RETURN\n", &[(&[7], &[])]), [Ok(7)]);
    // Targeted too: a loop back to the very first instruction.
    let countdown = ".memory 1\n.public f\nloop:\n JUMPDEST\n BITS8\n PUSH0\n MLOAD\n PUSH 1\n ADD\n DUP1\n PUSH0\n MSTORE\n PUSH 3\n EQ\n ISZERO\n JUMPI loop\n STOP\n";
    assert_eq!(agree(countdown, &[(&[], &[])]), [Ok(0)]);
    // A jump back to it must bring the entry's empty stack.
    let bad = assemble(".public f\nstart:\n JUMPDEST\n PUSH 1\n JUMP start\n").unwrap();
    let err = alkyl_translator::ir::validate(alkyl_translator::ir::Module::parse(&bad).unwrap()).unwrap_err();
    assert!(matches!(err.kind, alkyl_translator::ir::ValidateErrorKind::InconsistentHeight { .. }), "{err}");
}
