//! Alkyl IR: the stack-based, EVM-like intermediate representation of the
//! AlkyVM paper, and its translation to verified eBPF.
//!
//! The specification is `docs/alkyl-ir.md`. Data flows one way:
//!
//! ```text
//! bytes ──Module::parse──▶ Module ──validate──▶ Validated ──translate──▶ TranslatedModule (eBPF)
//!   ▲                                               │
//!   └── text::assemble / text::disassemble          └──interp::Instance::call (the reference oracle)
//! ```
//!
//! Everything here is `no_std` + `alloc`, so a device can validate and
//! translate an uploaded module itself.

pub mod insn;
pub mod interp;
pub mod layout;
pub mod limits;
pub mod module;
pub mod opcode;
pub mod semantics;
pub mod syscall;
pub mod text;
pub mod trap;
pub mod validate;
pub mod varint;
pub mod width;

pub use interp::{Completion, Host, Instance, SyscallRefused};
pub use layout::DataLayout;
pub use module::{Function, FunctionKind, Global, IrError, IrErrorKind, Module};
pub use opcode::Op;
pub use trap::IrTrap;
pub use validate::{validate, Body, Step, ValidateError, ValidateErrorKind, Validated};
pub use width::Width;
pub mod translate;

pub use translate::{translate, EntryPoint, TranslateError, TranslateErrorKind, TranslatedModule};
pub mod exec;
pub mod sim;
#[cfg(feature = "std")]
pub mod testkit;
