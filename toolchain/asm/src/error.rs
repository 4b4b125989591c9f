//! Errors of the assembler and the disassembler.

use alloc::string::String;
use core::fmt;

/// Why [`assemble`](super::assemble) rejected a program, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    /// 1-based line of the source text.
    pub line: usize,
    pub kind: AsmErrorKind,
}

/// What is wrong with a line. Variants carry the offending text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsmErrorKind {
    /// No instruction or directive has this name.
    UnknownMnemonic(String),
    /// `lock` without an operation.
    MissingAtomicOperation,
    /// Text starting with `%` that is not `%r0`..`%r10`.
    InvalidRegister(String),
    /// The instruction takes `expected` operands.
    OperandCount { mnemonic: &'static str, expected: usize, found: usize },
    /// An operand of the wrong kind or form.
    ExpectedOperand { expected: OperandKind, found: String },
    /// An operand between two commas is empty.
    EmptyOperand,
    /// An immediate that does not fit its field (`bits` wide).
    ImmediateOutOfRange { text: String, bits: u8 },
    /// A memory or jump offset that does not fit in 16 bits.
    OffsetOutOfRange(String),
    /// A label too far away for the instruction's offset field.
    JumpOutOfRange { label: String, distance: i64 },
    /// A jump or call to a label that is never defined.
    UndefinedLabel(String),
    /// A label defined twice; `first_line` is the first definition.
    DuplicateLabel { name: String, first_line: usize },
    /// A label definition whose name is not `[A-Za-z_][A-Za-z0-9_.]*`.
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

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for AsmError {}

impl fmt::Display for AsmErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsmErrorKind::UnknownMnemonic(name) => write!(f, "unknown mnemonic `{name}`"),
            AsmErrorKind::MissingAtomicOperation => {
                f.write_str("`lock` needs an operation: add, or, and, xor, xchg or cmpxchg")
            }
            AsmErrorKind::InvalidRegister(text) => write!(f, "invalid register {text}"),
            AsmErrorKind::OperandCount { mnemonic, expected, found } => {
                let plural = if *expected == 1 { "" } else { "s" };
                write!(f, "`{mnemonic}` takes {expected} operand{plural}, found {found}")
            }
            AsmErrorKind::ExpectedOperand { expected, found } => {
                write!(f, "expected {expected}, found `{found}`")
            }
            AsmErrorKind::EmptyOperand => f.write_str("empty operand"),
            AsmErrorKind::ImmediateOutOfRange { text, bits } => {
                write!(f, "immediate {text} does not fit in {bits} bits")
            }
            AsmErrorKind::OffsetOutOfRange(text) => write!(f, "offset {text} does not fit in 16 bits"),
            AsmErrorKind::JumpOutOfRange { label, distance } => {
                write!(f, "label `{label}` is {distance} slots away, too far for this instruction")
            }
            AsmErrorKind::UndefinedLabel(name) => write!(f, "undefined label `{name}`"),
            AsmErrorKind::DuplicateLabel { name, first_line } => {
                write!(f, "label `{name}` is already defined on line {first_line}")
            }
            AsmErrorKind::InvalidLabel(name) => write!(f, "invalid label name `{name}`"),
        }
    }
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisasmError {
    /// The code ends with `len` bytes (1..=7) at byte `offset`, less than
    /// one 8-byte slot.
    PartialSlot { offset: usize, len: usize },
}

impl fmt::Display for DisasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DisasmError::PartialSlot { offset, len } => {
                write!(f, "byte {offset}: {len} trailing byte(s), less than one 8-byte instruction slot")
            }
        }
    }
}

impl core::error::Error for DisasmError {}
