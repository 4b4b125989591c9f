//! The text form of Alkyl IR: an assembler and a disassembler.
//!
//! ```text
//! ; Comments start with ';' or '#' and run to the end of the line.
//! .memory 8                   ; bytes of linear memory
//! .global index w8 0          ; name, width, initial value (default 0)
//! .global expires w32
//!
//! .deviceevent KeyPressed w8  ; kind (.public or .deviceevent), name, parameter widths
//!     BITS8
//!     GLOAD index
//!     ARG 0
//!     EQ
//!     JUMPI match             ; a label, or a byte offset in the function's code
//!     PUSH 'x'                ; numbers: 42, 0x2a, -1 (wrapped to the mode's width), 'c'
//!     REVERT
//! match:
//!     JUMPDEST
//!     BITS32
//!     SYSCALL now_ms          ; a syscall name or id
//!     RETURN
//! ```
//!
//! Mnemonics are the upper-case names of [`Op`](super::opcode::Op) (case is
//! ignored). A label is `name:` at the start of a line and names the next
//! instruction; labels are local to their function. `.byte 0xNN` emits one
//! raw byte (the disassembler prints it for bytes that are no instruction).
//!
//! # Guarantees
//! - Neither direction panics.
//! - `assemble(&disassemble(bytes)?)? == bytes` for every module the
//!   disassembler accepts (every module [`Module::parse`] accepts).
//! - Jump immediates are sized to their canonical PrefixVarint length
//!   (labels are resolved by relaxation: sizes only grow, so it ends).
//!
//! [`Module::parse`]: super::module::Module::parse

mod asm;
mod disasm;

pub use asm::assemble;
pub use disasm::disassemble;

use alloc::string::String;
use core::fmt;

/// Why a text could not be assembled, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pub line: usize,
    pub kind: AsmErrorKind,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsmErrorKind {
    UnknownMnemonic(String),
    UnknownDirective(String),
    /// The instruction or directive needs an operand.
    MissingOperand,
    /// More operands than the instruction or directive takes.
    ExtraOperand(String),
    BadNumber(String),
    BadWidth(String),
    /// A name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
    /// A value that does not fit where it goes.
    OutOfRange(String),
    UndefinedLabel(String),
    DuplicateLabel(String),
    UnknownGlobal(String),
    DuplicateGlobal(String),
    DuplicateFunction(String),
    UnknownSyscall(String),
    /// An instruction or label before the first function directive.
    OutsideFunction,
    /// A module limit (`what`) exceeded.
    TooMany(&'static str),
}

impl fmt::Display for AsmErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use AsmErrorKind as K;
        match self {
            K::UnknownMnemonic(s) => write!(f, "unknown mnemonic `{s}`"),
            K::UnknownDirective(s) => write!(f, "unknown directive `{s}`"),
            K::MissingOperand => f.write_str("missing operand"),
            K::ExtraOperand(s) => write!(f, "unexpected operand `{s}`"),
            K::BadNumber(s) => write!(f, "`{s}` is not a number"),
            K::BadWidth(s) => write!(f, "`{s}` is not a width (w8, w16, w32, w64)"),
            K::BadName(s) => write!(f, "`{s}` is not a valid name"),
            K::OutOfRange(s) => write!(f, "`{s}` is out of range"),
            K::UndefinedLabel(s) => write!(f, "undefined label `{s}`"),
            K::DuplicateLabel(s) => write!(f, "label `{s}` defined twice"),
            K::UnknownGlobal(s) => write!(f, "unknown global `{s}`"),
            K::DuplicateGlobal(s) => write!(f, "global `{s}` declared twice"),
            K::DuplicateFunction(s) => write!(f, "function `{s}` declared twice"),
            K::UnknownSyscall(s) => write!(f, "unknown syscall `{s}`"),
            K::OutsideFunction => f.write_str("instruction outside a function (.public or .deviceevent first)"),
            K::TooMany(what) => write!(f, "too many {what}"),
        }
    }
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl core::error::Error for AsmError {}
