//! Alkyl IR: the stack-based, EVM-like intermediate representation of the
//! AlkyVM paper, and its translation to verified eBPF.
//!
//! The specification is `docs/alkyl-ir.md`. Data flows one way:
//!
//! ```text
//! bytes ──Module::parse──▶ Module ──validate──▶ Validated ──translate──▶ TranslatedModule ──package──▶ container
//!   ▲                                               │                                                    (rBPF, runs
//!   └── text::assemble / text::disassemble          └──interp::Instance::call (the reference oracle)     as any script)
//! ```
//!
//! Everything is `no_std` + `alloc`, so a device can validate and
//! translate an uploaded module into a verified container itself
//! ([`compile`]). The reference interpreter, the container runner (`exec`)
//! and the [`lockstep`] runner of both serve the CLI (`alkyl ir run
//! --check`), the tests (`alkyl-testkit`) and the benchmarks; both reach
//! the device through `alkyl_bindings` (the interpreter through its
//! `Platform`, the VM through `AlkylHelpers` over the same `Platform`).

pub mod builder;
pub mod call;
pub mod compile;
pub mod exec;
pub mod insn;
pub mod interp;
pub mod layout;
pub mod limits;
pub mod lockstep;
pub mod module;
pub mod opcode;
pub mod semantics;
pub mod syscall;
pub mod text;
pub mod translate;
pub mod trap;
pub mod validate;
pub mod varint;
pub mod width;

pub use builder::{FunctionBuilder, Label, ModuleBuilder};
pub use call::call_input;
pub use compile::{
    compile, compile_script, compile_script_within, compile_validated, compile_validated_script, CompileError,
};
pub use interp::{Completion, Instance};
pub use layout::DataLayout;
pub use module::{Function, FunctionKind, Global, IrError, IrErrorKind, Module, Profile};
pub use opcode::Op;
pub use translate::{translate, EntryPoint, TranslateError, TranslateErrorKind, TranslatedModule};
pub use trap::IrTrap;
pub use validate::{validate, Body, Step, ValidateError, ValidateErrorKind, Validated};
pub use width::Width;
