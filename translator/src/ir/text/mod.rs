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

alkyl_vm::error_at! {
    /// Why a text could not be assembled, and on which line (1-based).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct AsmError { line: usize, kind: AsmErrorKind } => "line "
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

impl Describe for AsmErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            AsmErrorKind::UnknownMnemonic(e) => ("unknown mnemonic `", e, "`").describe(out),
            AsmErrorKind::UnknownDirective(e) => ("unknown directive `", e, "`").describe(out),
            AsmErrorKind::MissingOperand => out.text("missing operand"),
            AsmErrorKind::ExtraOperand(e) => ("unexpected operand `", e, "`").describe(out),
            AsmErrorKind::BadNumber(e) => ("`", e, "` is not a number").describe(out),
            AsmErrorKind::BadWidth(e) => ("`", e, "` is not a width (w8, w16, w32, w64)").describe(out),
            AsmErrorKind::BadName(e) => ("`", e, "` is not a valid name").describe(out),
            AsmErrorKind::OutOfRange(e) => ("`", e, "` is out of range").describe(out),
            AsmErrorKind::UndefinedLabel(e) => ("undefined label `", e, "`").describe(out),
            AsmErrorKind::DuplicateLabel(e) => ("label `", e, "` defined twice").describe(out),
            AsmErrorKind::UnknownGlobal(e) => ("unknown global `", e, "`").describe(out),
            AsmErrorKind::DuplicateGlobal(e) => ("global `", e, "` declared twice").describe(out),
            AsmErrorKind::DuplicateFunction(e) => ("function `", e, "` declared twice").describe(out),
            AsmErrorKind::UnknownSyscall(e) => ("unknown syscall `", e, "`").describe(out),
            AsmErrorKind::OutsideFunction => out.text("instruction outside a function (.public or .deviceevent first)"),
            AsmErrorKind::TooMany(e) => ("too many ", e).describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(AsmErrorKind);
