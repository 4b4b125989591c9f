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

/// Why a text could not be assembled, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct AsmError {
    pub line: usize,
    pub kind: AsmErrorKind,
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AsmErrorKind {
    #[error("unknown mnemonic `{0}`")]
    UnknownMnemonic(String),
    #[error("unknown directive `{0}`")]
    UnknownDirective(String),
    /// The instruction or directive needs an operand.
    #[error("missing operand")]
    MissingOperand,
    /// More operands than the instruction or directive takes.
    #[error("unexpected operand `{0}`")]
    ExtraOperand(String),
    #[error("`{0}` is not a number")]
    BadNumber(String),
    #[error("`{0}` is not a width (w8, w16, w32, w64)")]
    BadWidth(String),
    /// A name that is not `[A-Za-z_][A-Za-z0-9_]*`.
    #[error("`{0}` is not a valid name")]
    BadName(String),
    /// A value that does not fit where it goes.
    #[error("`{0}` is out of range")]
    OutOfRange(String),
    #[error("undefined label `{0}`")]
    UndefinedLabel(String),
    #[error("label `{0}` defined twice")]
    DuplicateLabel(String),
    #[error("unknown global `{0}`")]
    UnknownGlobal(String),
    #[error("global `{0}` declared twice")]
    DuplicateGlobal(String),
    #[error("function `{0}` declared twice")]
    DuplicateFunction(String),
    #[error("unknown syscall `{0}`")]
    UnknownSyscall(String),
    /// An instruction or label before the first function directive.
    #[error("instruction outside a function (.public or .deviceevent first)")]
    OutsideFunction,
    /// A module limit (`what`) exceeded.
    #[error("too many {0}")]
    TooMany(&'static str),
}
