//! Host functions ("helpers") a program may call by id.
//!
//! The verifier asks a [`HelperSet`] whether each `call imm` names an allowed
//! helper; at run time the interpreter hands the call to [`Helpers::call`]
//! together with the program's [`MemoryMap`], so the helper can check every
//! pointer argument (length included) exactly as a load or store would be
//! checked. A helper never receives a host pointer.

use crate::describe::{Describe, Hex, Sink};

use crate::memory::{MemFault, MemoryMap};

/// The set of helper ids a program may call; consulted by the verifier.
pub trait HelperSet {
    fn contains(&self, id: u32) -> bool;
}

impl HelperSet for [u32] {
    fn contains(&self, id: u32) -> bool {
        self.contains(&id)
    }
}

impl<const N: usize> HelperSet for [u32; N] {
    fn contains(&self, id: u32) -> bool {
        self.as_slice().contains(&id)
    }
}

/// Allows no helper at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHelpers;

impl HelperSet for NoHelpers {
    fn contains(&self, _: u32) -> bool {
        false
    }
}

impl Helpers for NoHelpers {
    fn call(&mut self, id: u32, _: [u64; 5], _: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        Err(HelperError::Unknown(id))
    }
}

/// Why a helper refused a call. Each becomes a trap that ends the run.
///
/// Recoverable conditions (a sensor that does not exist, a full key-value
/// store) are *not* errors: helpers report them as negative return values,
/// as the Femto-Container helpers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperError {
    /// A pointer argument does not name memory the program may access.
    Memory(MemFault),
    /// Argument `index` (0-based: r1 is 0) is out of the helper's domain in a
    /// way that cannot be reported as a return value.
    BadArgument { index: u8 },
    /// The id is not implemented (only reachable through `callx`).
    Unknown(u32),
    /// The helper ended the run on purpose.
    Aborted,
}

crate::from_variants!(HelperError { Memory(MemFault) });

impl Describe for HelperError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            HelperError::Memory(m) => ("bad pointer argument: ", m).describe(out),
            HelperError::BadArgument { index } => ("bad argument r", index + 1).describe(out),
            HelperError::Unknown(id) => ("unknown helper ", Hex((*id).into())).describe(out),
            HelperError::Aborted => out.text("aborted by helper"),
        }
    }
}

crate::error_by_describe!(HelperError);

/// Implementations of helpers, called by id with `r1..=r5` as arguments.
/// The return value becomes `r0`. `r1..=r5` are caller-saved in the eBPF
/// calling convention; this VM leaves them unchanged, but programs must not
/// rely on that.
pub trait Helpers: HelperSet {
    /// Performs helper `id`.
    ///
    /// # Errors
    /// A [`HelperError`] traps the program.
    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError>;
}
