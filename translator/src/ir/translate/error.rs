//! Why a validated module could not be translated.

use core::fmt;

/// What went wrong.
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

/// A translation failure in function `function` at IR byte `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranslateError {
    pub function: usize,
    pub pos: u32,
    pub kind: TranslateErrorKind,
}

impl fmt::Display for TranslateErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranslateErrorKind::BranchTooFar { distance } => {
                write!(f, "a jump spans {distance} eBPF instructions (at most 32767)")
            }
            TranslateErrorKind::ProgramTooLong { slots } => {
                write!(f, "the translation needs {slots} eBPF instructions (at most 65536)")
            }
            TranslateErrorKind::EntryTooFar { pc } => {
                write!(f, "the function starts at eBPF instruction {pc}; a container locates entries up to 8191")
            }
            TranslateErrorKind::TooLarge { max_bytes } => {
                write!(f, "the translation exceeds {max_bytes} bytes of code (the limit it was given)")
            }
            TranslateErrorKind::GatewayModule => f.write_str("a gateway module does not run on a device"),
            TranslateErrorKind::Internal(what) => write!(f, "translator invariant broken: {what}"),
        }
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "function {} at byte {}: {}", self.function, self.pos, self.kind)
    }
}

impl core::error::Error for TranslateError {}
