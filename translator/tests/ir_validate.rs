//! The validator: one program per rule, rejected at the right byte with
//! the right reason; and what it accepts.

use alkyl_translator::ir::text::assemble;
use alkyl_translator::ir::{validate, Module, ValidateErrorKind as K, Width};

/// The (byte position, reason) at which function 0 of `src` is rejected.
fn reject(src: &str) -> (usize, K) {
    let bytes = assemble(src).unwrap();
    let e = validate(Module::parse(&bytes).unwrap()).unwrap_err();
    assert_eq!(e.function, 0);
    (e.pos, e.kind)
}

fn accept(src: &str) {
    let bytes = assemble(src).unwrap();
    validate(Module::parse(&bytes).unwrap()).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn every_rule_has_a_position_and_a_reason() {
    use Width::*;
    assert_eq!(reject(".public f\n  .byte 0x0c\n  STOP\n"), (0, K::UnknownOpcode(0x0c)));
    assert_eq!(reject(".public f\n  STOP\n  .byte 0x60\n"), (1, K::TruncatedImmediate));
    assert_eq!(
        reject(".public f\n  .byte 0x60\n  .byte 0x16\n  .byte 0x00\n  RETURN\n"),
        (0, K::NonCanonicalImmediate)
    );
    assert_eq!(
        reject(".public f\n  BITS8\n  PUSH 256\n  RETURN\n"),
        (1, K::ImmediateTooWide { value: 256, width: W8 })
    );
    assert_eq!(reject(".public f\n  PUSH 1\n  ADD\n  RETURN\n"), (2, K::StackUnderflow { needed: 2, height: 1 }));
    assert_eq!(reject(".public f\n  SWAP1\n  STOP\n"), (0, K::StackUnderflow { needed: 2, height: 0 }));
    let deep = format!(".public f\n{}  STOP\n", "  PUSH0\n".repeat(33));
    assert_eq!(reject(&deep), (32, K::StackOverflow));
    assert_eq!(
        reject(".public f w8\n  ARG 0\n  PUSH 1\n  ADD\n  RETURN\n"),
        (4, K::WidthMismatch { depth: 1, expected: W32, found: W8 })
    );
    assert_eq!(reject(".public f w64\n  ARG 0\n  ZEXT\n  RETURN\n"), (2, K::BadConversion { from: W64, to: W32 }));
    assert_eq!(reject(".public f w8\n  ARG 0\n  TRUNC\n  RETURN\n"), (2, K::BadConversion { from: W8, to: W32 }));
    assert_eq!(reject(".public f\n  JUMP 3\n  PUSH0\n  STOP\n"), (0, K::BadJumpTarget { target: 3 }));
    assert_eq!(reject(".public f\n  JUMP 2\n  STOP\n"), (0, K::BadJumpTarget { target: 2 }));
    assert_eq!(
        reject(".public f\n  PUSH0\n  JUMPI l\n  PUSH0\nl:\n  JUMPDEST\n  STOP\n"),
        (4, K::InconsistentHeight { dest: 4, expected: 0, found: 1 })
    );
    assert_eq!(
        reject(".public f\n  PUSH0\n  PUSH0\n  JUMPI l\n  POP\n  BITS8\n  PUSH0\nl:\n  JUMPDEST\n  STOP\n"),
        (7, K::InconsistentWidth { dest: 7, depth: 0, expected: W32, found: W8 })
    );
    assert_eq!(reject(".public f w8\n  ARG 1\n  RETURN\n"), (0, K::NoSuchArg { index: 1, arity: 1 }));
    assert_eq!(reject(".public f\n  GLOAD 0\n  RETURN\n"), (0, K::NoSuchGlobal { index: 0, count: 0 }));
    assert_eq!(reject(".public f\n  SYSCALL 0x01\n  RETURN\n"), (0, K::UnknownSyscall(1)));
    assert_eq!(reject(".public f\n  BITS64\n  SYSCALL now_ms\n  RETURN\n"), (1, K::SyscallOutside32BitMode));
    assert_eq!(reject(".public f\n  STOP\n  PUSH0\n  STOP\n"), (1, K::Unreachable));
    assert_eq!(reject(".public f\n  STOP\nl:\n  JUMPDEST\n  STOP\n"), (1, K::Unreachable));
    assert_eq!(reject(".public f\n  PUSH0\n"), (0, K::FallsOffEnd));
    assert_eq!(reject(".public f\n"), (0, K::FallsOffEnd));
}

#[test]
fn later_functions_are_named_in_the_error() {
    let bytes = assemble(".public ok\n  STOP\n.deviceevent bad\n  ADD\n  STOP\n").unwrap();
    let e = validate(Module::parse(&bytes).unwrap()).unwrap_err();
    assert_eq!((e.function, e.pos), (1, 0));
    assert!(e.to_string().contains("function 1 at byte 0"));
}

#[test]
fn accepted_shapes() {
    // A backward jump to a JUMPDEST that is only reached by jumps.
    accept(".public f\n  PUSH 3\n  JUMP head\nbody:\n  JUMPDEST\n  PUSH 1\n  SWAP1\n  SUB\nhead:\n  JUMPDEST\n  DUP1\n  JUMPI body\n  RETURN\n");
    // Conversions to the same width; any width as a jump condition or address.
    accept(".memory 8\n.public f w64\n  BITS8\n  ARG 0\n  JUMPI x\nx:\n  JUMPDEST\n  ARG 0\n  MLOAD\n  SEXT\n  TRUNC\n  RETURN\n");
    // SYSCALL in 32-bit mode with its arguments.
    accept(".public f\n  PUSH 1\n  PUSH 2\n  SYSCALL saul_reg_write_value\n  RETURN\n");
}
