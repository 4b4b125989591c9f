//! Why a validated module could not be translated.

/// What went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateErrorKind {
    /// A jump spans more than ±32767 eBPF instructions.
    #[error("a jump spans {distance} eBPF instructions (at most 32767)")]
    BranchTooFar { distance: i64 },
    /// The program exceeds the VM's 65,536 instruction slots.
    #[error("the translation needs {slots} eBPF instructions (at most 65536)")]
    ProgramTooLong { slots: usize },
    /// The function starts at eBPF instruction `pc`, beyond what a
    /// container's function table can locate (byte offsets are 16-bit).
    #[error("the function starts at eBPF instruction {pc}; a container locates entries up to 8191")]
    EntryTooFar { pc: u32 },
    /// The translation exceeds the caller's size limit (`max_bytes` of
    /// code: e.g. a device's app quota); it stopped there, before
    /// allocating more.
    #[error("the translation exceeds {max_bytes} bytes of code (the limit it was given)")]
    TooLarge { max_bytes: usize },
    /// A gateway module ([`crate::ir::module::Profile::Gateway`]): the
    /// gateway runs it, a device never does.
    #[error("a gateway module does not run on a device")]
    GatewayModule,
    /// A translator invariant did not hold (a bug, reported rather than a panic).
    #[error("translator invariant broken: {0}")]
    Internal(&'static str),
}

/// A translation failure in function `function` at IR byte `pos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("function {function} at byte {pos}: {kind}")]
pub struct TranslateError {
    pub function: usize,
    pub pos: u32,
    pub kind: TranslateErrorKind,
}
