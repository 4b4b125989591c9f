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
//! [`TranslatedModule::package`] writes the result as a script container,
//! which loads and runs as any other script (`crate::ir::compile` also
//! verifies it).
//!
//! # Guarantee
//! [`translate`] either returns a module that [`TranslatedModule::package`]
//! can write, or a [`TranslateError`]. Loaded from that container and run
//! by the run convention of every script (`crate::ir::call`), an entry
//! point behaves as the reference interpreter does: same result, same trap
//! ([`crate::ir::IrTrap::from_vm`]), same effects on memory, globals,
//! storage and syscalls. The VM verifier accepts the code (a translator bug
//! otherwise, reported by `compile` as a verification error).

mod access;
mod alu;
mod emit;
mod error;
mod frame;
mod function;
mod stack;

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use alkyl_vm::container::{pad_section, ContainerRepr, EmitError, FunctionRepr, Table, TrailerRepr};
use alkyl_vm::isa::INSN_SIZE;
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
    /// Number of parameters (input slots `ARG` reads).
    pub arity: u8,
}

/// The result of a translation: what a container carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranslatedModule {
    /// eBPF bytecode, all functions.
    pub text: Vec<u8>,
    /// Initial `.data`: the globals, padded to a multiple of 8 ([`DataLayout`]).
    pub data: Vec<u8>,
    /// Zero-initialised bytes after `.data`: linear memory.
    pub bss_len: u32,
    pub functions: Vec<EntryPoint>,
    /// Helper ids the program calls, ascending: the container declares
    /// exactly these.
    pub helpers: Vec<u32>,
    /// Stack bytes the code needs (its deepest `r10`-relative access,
    /// rounded up to 8; at least 8): the container declares it. The
    /// program has no local calls, so one frame is the whole need.
    pub stack_size: u32,
}

impl TranslatedModule {
    /// The entry point called `name`.
    pub fn function(&self, name: &str) -> Option<&EntryPoint> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The container's bytes (`docs/container.md`): what a device stores
    /// and runs. `.data` holds the globals, `.rodata` the function names,
    /// `.text` the code, with one function-table entry per function under
    /// its IR name, and the Alkyl trailer declaring linear memory as
    /// `.bss`, the code's frame as the stack need, and exactly the helpers the
    /// code calls.
    ///
    /// # Errors
    /// None for a module [`translate`] returned (it checks every field
    /// limit); [`TranslateErrorKind::Internal`] otherwise.
    pub fn package(&self) -> Result<Vec<u8>, TranslateError> {
        let mut data = self.data.clone();
        let mut rodata = Vec::new();
        let mut functions = Vec::with_capacity(self.functions.len());
        for f in &self.functions {
            let location = f.pc as usize * INSN_SIZE;
            functions.push(FunctionRepr::append_name(&mut rodata, f.name.as_bytes(), location).map_err(overflow)?);
        }
        pad_section(&mut data);
        pad_section(&mut rodata);
        ContainerRepr {
            version: 0,
            data: &data,
            rodata: &rodata,
            text: &self.text,
            functions: Table::Values(&functions),
            trailer: Some(TrailerRepr {
                bss_len: self.bss_len,
                stack_size: self.stack_size,
                helpers: Table::Values(&self.helpers),
                ..TrailerRepr::default()
            }),
        }
        .to_bytes()
        .map_err(overflow)
    }
}

/// A container field that does not fit: never for a module [`translate`]
/// returned.
fn overflow(_: EmitError) -> TranslateError {
    TranslateError { function: 0, pos: 0, kind: TranslateErrorKind::Internal("container field overflow") }
}

/// Translates every function of a validated module.
///
/// # Errors
/// A [`TranslateError`] when the program would not fit the VM or the
/// container (too long, a branch too far, a function starting beyond the
/// function table's reach).
///
/// # Panics
/// Never.
pub fn translate(module: &Validated<'_>) -> Result<TranslatedModule, TranslateError> {
    translate_within(module, usize::MAX)
}

/// [`translate`], with at most `max_bytes` of code: translation stops with
/// [`TranslateErrorKind::TooLarge`] as soon as the program would exceed it,
/// so its memory is bounded by the limit rather than by the module's
/// expansion (an op may become a dozen eBPF instructions).
///
/// # Errors
/// As [`translate`], and [`TranslateErrorKind::TooLarge`].
pub fn translate_within(module: &Validated<'_>, max_bytes: usize) -> Result<TranslatedModule, TranslateError> {
    let layout = DataLayout::of(&module.module);
    let mut e = Emitter::default();
    e.limit = (max_bytes != usize::MAX).then_some(max_bytes / INSN_SIZE);
    let mut helpers = Vec::new();
    let mut functions = Vec::with_capacity(module.module.functions.len());
    for (index, f) in module.module.functions.iter().enumerate() {
        let pc = function::translate_function(&mut e, module, index, &layout, &mut helpers)?;
        functions.push(EntryPoint { name: f.name.to_string(), kind: f.kind, pc, arity: f.params.len() as u8 });
    }
    let whole = |kind| TranslateError { function: 0, pos: 0, kind };
    if e.over_limit() {
        return Err(whole(TranslateErrorKind::TooLarge { max_bytes }));
    }
    if e.code.is_empty() {
        // A module without functions: a lone `exit` keeps the program valid.
        e.exit();
    }
    e.patch().map_err(whole)?;
    if e.slots() > MAX_SLOTS {
        return Err(whole(TranslateErrorKind::ProgramTooLong { slots: e.slots() }));
    }
    for (index, f) in functions.iter().enumerate() {
        // The function table locates entries by a 16-bit byte offset.
        if f.pc as usize * INSN_SIZE > u16::MAX as usize {
            return Err(TranslateError { function: index, pos: 0, kind: TranslateErrorKind::EntryTooFar { pc: f.pc } });
        }
    }
    Ok(TranslatedModule {
        text: e.code,
        data: layout.initial_data(&module.module),
        bss_len: layout.bss_len(),
        functions,
        helpers,
        stack_size: e.deepest.max(8).next_multiple_of(8),
    })
}
