//! The translator: validated Alkyl IR → eBPF that passes the VM verifier.
//!
//! Each function becomes one entry point of a single eBPF program. The
//! value stack is modelled at translate time ([`stack`]): constants and
//! `DUP`s cost nothing until consumed, the top of the stack lives in
//! registers, deeper values spill to the 512-byte eBPF stack through `r10`,
//! and every block boundary moves values to fixed homes ([`frame`]).
//! Compare + `JUMPI` fuse into one conditional jump; constant operands
//! become immediates or fold away; 8/16/32-bit words use 32-bit ALU
//! instructions. Linear memory and globals live in `.data`
//! ([`DataLayout`]), addressed with the `.data`-relative `lddw`.
//!
//! # Guarantee
//! [`translate`] either returns a module whose `text` the VM verifier
//! accepts with [`TranslatedModule::helpers`] allowed — it runs the
//! verifier itself before returning — or a [`TranslateError`]. Run on the
//! VM with `data` mapped read-write at `DATA_VADDR` and the call input at
//! `INPUT_VADDR`, an entry point behaves as the reference interpreter
//! does: same result, same trap ([`crate::ir::IrTrap::from_vm`]), same
//! effects on memory, globals, storage and syscalls.

mod access;
mod alu;
mod emit;
mod error;
mod frame;
mod function;
mod stack;

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use alkyl_vm::verify::MAX_SLOTS;

pub use error::{TranslateError, TranslateErrorKind};
pub use frame::FRAME_BYTES;

use self::emit::Emitter;
use super::layout::DataLayout;
use super::module::FunctionKind;
use super::validate::Validated;

/// An entry point of the translated program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    pub name: String,
    pub kind: FunctionKind,
    /// Instruction index of the entry in `text`.
    pub pc: u32,
    /// Number of parameters (passed in `r1..`).
    pub arity: u8,
}

/// The result of a translation: what a container carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslatedModule {
    /// eBPF bytecode, all functions.
    pub text: Vec<u8>,
    /// Initial `.data`: linear memory (zero), then globals.
    pub data: Vec<u8>,
    /// Initial `.rodata` (Alkyl IR has no read-only data yet: empty).
    pub rodata: Vec<u8>,
    pub functions: Vec<EntryPoint>,
    /// Helper ids the program calls (the set to verify it with).
    pub helpers: Vec<u32>,
}

impl TranslatedModule {
    /// The entry point called `name`.
    pub fn function(&self, name: &str) -> Option<&EntryPoint> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The bytes to ship to a device. **The seam with the container format**:
    /// today the raw eBPF `.text` (the caller maps `data` itself); once the
    /// Femto-Container layout lands, this becomes the container (`.data`,
    /// `.rodata`, `.text`, function table) and nothing else changes.
    pub fn package(&self) -> Vec<u8> {
        self.text.clone()
    }
}

/// Translates every function of a validated module.
///
/// # Errors
/// A [`TranslateError`] when the program would not fit the VM (too long,
/// a branch too far), or — a translator bug, reported instead of shipped —
/// when the output does not pass the VM verifier.
///
/// # Panics
/// Never.
pub fn translate(module: &Validated<'_>) -> Result<TranslatedModule, TranslateError> {
    let layout = DataLayout::of(&module.module);
    let mut e = Emitter::default();
    let mut helpers = BTreeSet::new();
    let mut functions = Vec::with_capacity(module.module.functions.len());
    for (index, f) in module.module.functions.iter().enumerate() {
        let pc = function::translate_function(&mut e, module, index, &layout, &mut helpers)?;
        functions.push(EntryPoint { name: f.name.to_string(), kind: f.kind, pc, arity: f.params.len() as u8 });
    }
    let whole = |kind| TranslateError { function: 0, pos: 0, kind };
    if e.insns.is_empty() {
        // A module without functions: a lone `exit` keeps the program valid.
        e.exit();
    }
    e.patch().map_err(whole)?;
    if e.insns.len() > MAX_SLOTS {
        return Err(whole(TranslateErrorKind::ProgramTooLong { slots: e.insns.len() }));
    }
    let text: Vec<u8> = e.insns.iter().flat_map(|i| i.encode()).collect();
    let helpers: Vec<u32> = helpers.into_iter().collect();
    alkyl_vm::verify(&text, helpers.as_slice()).map_err(|err| whole(TranslateErrorKind::Unverifiable(err)))?;
    Ok(TranslatedModule { text, data: layout.initial_image(&module.module), rodata: Vec::new(), functions, helpers })
}
