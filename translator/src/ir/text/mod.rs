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

use alkyl_vm::describe::{Describe, Sink};
mod asm;
mod disasm;

pub use asm::assemble;
pub use disasm::disassemble;

use alloc::string::String;

/// Why a text could not be assembled, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmError {
    pub line: usize,
    pub kind: AsmErrorKind,
}

impl Describe for AsmError {
    fn describe(&self, out: &mut dyn Sink) {
        ("line ", self.line, ": ", &self.kind).describe(out);
    }
}

impl core::error::Error for AsmError {}

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

impl Describe for AsmErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            AsmErrorKind::UnknownMnemonic(f0) => ("unknown mnemonic `", f0, "`").describe(out),
            AsmErrorKind::UnknownDirective(f0) => ("unknown directive `", f0, "`").describe(out),
            AsmErrorKind::MissingOperand => out.text("missing operand"),
            AsmErrorKind::ExtraOperand(f0) => ("unexpected operand `", f0, "`").describe(out),
            AsmErrorKind::BadNumber(f0) => ("`", f0, "` is not a number").describe(out),
            AsmErrorKind::BadWidth(f0) => ("`", f0, "` is not a width (w8, w16, w32, w64)").describe(out),
            AsmErrorKind::BadName(f0) => ("`", f0, "` is not a valid name").describe(out),
            AsmErrorKind::OutOfRange(f0) => ("`", f0, "` is out of range").describe(out),
            AsmErrorKind::UndefinedLabel(f0) => ("undefined label `", f0, "`").describe(out),
            AsmErrorKind::DuplicateLabel(f0) => ("label `", f0, "` defined twice").describe(out),
            AsmErrorKind::UnknownGlobal(f0) => ("unknown global `", f0, "`").describe(out),
            AsmErrorKind::DuplicateGlobal(f0) => ("global `", f0, "` declared twice").describe(out),
            AsmErrorKind::DuplicateFunction(f0) => ("function `", f0, "` declared twice").describe(out),
            AsmErrorKind::UnknownSyscall(f0) => ("unknown syscall `", f0, "`").describe(out),
            AsmErrorKind::OutsideFunction => out.text("instruction outside a function (.public or .deviceevent first)"),
            AsmErrorKind::TooMany(f0) => ("too many ", f0).describe(out),
        }
    }
}

impl core::error::Error for AsmErrorKind {}

alkyl_vm::display_by_describe!(AsmError, AsmErrorKind);
