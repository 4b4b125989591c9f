//! Why a validated module could not be translated.

/// What went wrong.
use alkyl_vm::describe::{Describe, Sink};

use crate::ir::validate::describe_at;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateErrorKind {
    /// A jump spans more than ±32767 eBPF instructions.
    BranchTooFar { distance: i64 },
    /// The program exceeds the VM's 65,536 instruction slots.
    ProgramTooLong { slots: usize },
    /// The function starts at eBPF instruction `pc`, beyond what a
    /// container's function table can locate (byte offsets are 16-bit).
    EntryTooFar { pc: u32 },
    /// The translation exceeds the caller's size limit (`max_bytes` of
    /// code: e.g. a device's app quota); it stopped there, before
    /// allocating more.
    TooLarge { max_bytes: usize },
    /// A gateway module ([`crate::ir::module::Profile::Gateway`]): the
    /// gateway runs it, a device never does.
    GatewayModule,
    /// A translator invariant did not hold (a bug, reported rather than a panic).
    Internal(&'static str),
}

impl Describe for TranslateErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            TranslateErrorKind::BranchTooFar { distance } => {
                ("a jump spans ", distance, " eBPF instructions (at most 32767)").describe(out)
            }
            TranslateErrorKind::ProgramTooLong { slots } => {
                ("the translation needs ", slots, " eBPF instructions (at most 65536)").describe(out)
            }
            TranslateErrorKind::EntryTooFar { pc } => {
                ("the function starts at eBPF instruction ", pc, "; a container locates entries up to 8191")
                    .describe(out)
            }
            TranslateErrorKind::TooLarge { max_bytes } => {
                ("the translation exceeds ", max_bytes, " bytes of code (the limit it was given)").describe(out)
            }
            TranslateErrorKind::GatewayModule => out.text("a gateway module does not run on a device"),
            TranslateErrorKind::Internal(e) => ("translator invariant broken: ", e).describe(out),
        }
    }
}

/// An error inside the lowering, boxed: a one-word `Result` that each `?`
/// passes in a register (less code on the device, `make bench-size`);
/// allocated once, when translation stops.
pub(super) type Fault = alloc::boxed::Box<TranslateErrorKind>;

/// [`TranslateErrorKind::Internal`], boxed.
#[cold]
#[inline(never)]
pub(super) fn internal(what: &'static str) -> Fault {
    alloc::boxed::Box::new(TranslateErrorKind::Internal(what))
}

/// A translation failure in function `function` at IR byte `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranslateError {
    pub function: usize,
    pub pos: u32,
    pub kind: TranslateErrorKind,
}

impl Describe for TranslateError {
    fn describe(&self, out: &mut dyn Sink) {
        describe_at(out, self.function, self.pos as usize, &self.kind);
    }
}

alkyl_vm::error_by_describe!(TranslateErrorKind, TranslateError);
