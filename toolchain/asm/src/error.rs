//! Errors of the assembler and the disassembler.

use alloc::string::String;
use core::fmt;

/// Why [`assemble`](super::assemble) rejected a program, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct AsmError {
    /// 1-based line of the source text.
    pub line: usize,
    pub kind: AsmErrorKind,
}

/// What is wrong with a line. Variants carry the offending text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AsmErrorKind {
    /// No instruction or directive has this name.
    #[error("unknown mnemonic `{0}`")]
    UnknownMnemonic(String),
    /// `lock` without an operation.
    #[error("`lock` needs an operation: add, or, and, xor, xchg or cmpxchg")]
    MissingAtomicOperation,
    /// Text starting with `%` that is not `%r0`..`%r10`.
    #[error("invalid register {0}")]
    InvalidRegister(String),
    /// The instruction takes `expected` operands.
    #[error("`{mnemonic}` takes {expected} operand{}, found {found}", if *.expected == 1 { "" } else { "s" })]
    OperandCount { mnemonic: &'static str, expected: usize, found: usize },
    /// An operand of the wrong kind or form.
    #[error("expected {expected}, found `{found}`")]
    ExpectedOperand { expected: OperandKind, found: String },
    /// An operand between two commas is empty.
    #[error("empty operand")]
    EmptyOperand,
    /// An immediate that does not fit its field (`bits` wide).
    #[error("immediate {text} does not fit in {bits} bits")]
    ImmediateOutOfRange { text: String, bits: u8 },
    /// A memory or jump offset that does not fit in 16 bits.
    #[error("offset {0} does not fit in 16 bits")]
    OffsetOutOfRange(String),
    /// A label too far away for the instruction's offset field.
    #[error("label `{label}` is {distance} slots away, too far for this instruction")]
    JumpOutOfRange { label: String, distance: i64 },
    /// A jump or call to a label that is never defined.
    #[error("undefined label `{0}`")]
    UndefinedLabel(String),
    /// A label defined twice; `first_line` is the first definition.
    #[error("label `{name}` is already defined on line {first_line}")]
    DuplicateLabel { name: String, first_line: usize },
    /// A label definition whose name is not `[A-Za-z_][A-Za-z0-9_.]*`.
    #[error("invalid label name `{0}`")]
    InvalidLabel(String),
}

/// The operand an instruction expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    Register,
    Immediate,
    RegisterOrImmediate,
    /// `[%rN]`, `[%rN+off]` or `[%rN-off]`.
    Memory,
    /// A label or a signed slot offset (`+2`, `-3`).
    Target,
}

impl fmt::Display for OperandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperandKind::Register => "a register (%r0..%r10)",
            OperandKind::Immediate => "an immediate",
            OperandKind::RegisterOrImmediate => "a register or an immediate",
            OperandKind::Memory => "a memory operand [%rN+offset]",
            OperandKind::Target => "a label or a slot offset (+N, -N)",
        })
    }
}

/// Why [`disassemble`](super::disassemble) could not print a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisasmError {
    /// The code ends with `len` bytes (1..=7) at byte `offset`, less than
    /// one 8-byte slot.
    #[error("byte {offset}: {len} trailing byte(s), less than one 8-byte instruction slot")]
    PartialSlot { offset: usize, len: usize },
}
