//! How a run ends: an [`Exit`] with `r0`, or a [`Trap`] at an instruction.
//!
//! Both engines report the same values (the fast engine is tested against
//! the reference interpreter on them).

use crate::abi::MAX_CALL_DEPTH;
use crate::describe::{Describe, Hex, Sink};
use crate::helper::HelperError;
use crate::memory::{Access, MemFault, MemoryMap};

/// Why a run stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// A load, store or atomic outside the granted regions or policies.
    Memory(MemFault),
    /// The instruction budget ran out.
    BudgetExhausted,
    /// More than [`MAX_CALL_DEPTH`] nested local calls.
    CallDepthExceeded,
    /// `callx` named a helper that is not allowed.
    HelperNotAllowed { id: u64 },
    /// A helper refused the call.
    Helper { id: u32, error: HelperError },
    /// An instruction the verifier should have rejected (unreachable for a
    /// verified program; kept as a trap rather than a panic).
    IllegalInstruction,
    /// The run's wall-time limit passed (a host's limit, noticed by a
    /// helper that waits: `docs/helpers.md`, "Time limit").
    TimeLimit,
}

/// A trap at instruction index `pc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trap {
    pub pc: usize,
    pub kind: TrapKind,
}

impl Describe for TrapKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            TrapKind::Memory(m) => ("memory fault: ", m).describe(out),
            TrapKind::BudgetExhausted => out.text("instruction budget exhausted"),
            TrapKind::CallDepthExceeded => ("call depth exceeds ", MAX_CALL_DEPTH).describe(out),
            TrapKind::HelperNotAllowed { id } => ("callx to helper ", Hex(*id), " which is not allowed").describe(out),
            TrapKind::Helper { id, error } => ("helper ", Hex((*id).into()), ": ", error).describe(out),
            TrapKind::IllegalInstruction => out.text("illegal instruction"),
            TrapKind::TimeLimit => out.text("wall-time limit exceeded"),
        }
    }
}

impl Describe for Trap {
    fn describe(&self, out: &mut dyn Sink) {
        ("trap at instruction ", self.pc, ": ", self.kind).describe(out);
    }
}

crate::display_by_describe!(TrapKind);
crate::from_variants!(TrapKind { Memory(MemFault) });
crate::error_by_describe!(Trap);

/// A completed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The program's return value.
    pub r0: u64,
    /// Instructions executed (an `LDDW` counts once).
    pub executed: u64,
}

impl MemoryMap<'_> {
    /// Why an access of `len` bytes at `addr` in direction `access` is
    /// refused, as the trap it causes; for callers of
    /// [`MemoryMap::try_load`] and [`MemoryMap::try_store`]. Kept out of
    /// line: it is the cold path.
    #[cold]
    #[inline(never)]
    pub fn fault(&mut self, addr: u64, len: u64, access: Access) -> TrapKind {
        TrapKind::Memory(match access {
            Access::Read => self.read_fault(addr, len),
            Access::Write => self.write_fault(addr, len),
        })
    }
}
