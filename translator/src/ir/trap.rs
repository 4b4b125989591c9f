//! How an Alkyl IR call can end abnormally, and how a translated program
//! reports it through the eBPF VM.
//!
//! eBPF has no trap instruction, so a translation traps on purpose by
//! reading one byte at an address in segment 0, which is never mapped: the
//! VM stops with `Trap { kind: Memory(MemFault { addr, kind: Unmapped }) }`,
//! and `addr` says why ([`IrTrap::from_vm`] decodes it):
//!
//! | address | trap |
//! |---|---|
//! | `0x0000..=0xffff` | `REVERT` with that code |
//! | `0x10000` | `INVALID` |
//! | `0x10001` | linear memory access out of bounds |
//! | `0x10002` | input access out of bounds (`INLOAD` with a 64-bit offset ≥ 2^32) |
//! | `0x10003` | the key-value store refused an `SSTORE` |
//!
//! `INLOAD` offsets below 2^32 are checked by the VM's region check on the
//! input segment, which [`IrTrap::from_vm`] also maps to
//! [`IrTrap::InputOutOfBounds`].

use alkyl_vm::describe::{Describe, Hex, Sink};
use alkyl_vm::memory::FaultKind;
use alkyl_vm::{Trap, TrapKind, INPUT_VADDR};

/// Why a call did not return a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrTrap {
    /// `REVERT`: the low 16 bits of the popped value.
    Revert(u16),
    /// `INVALID`.
    Invalid,
    /// `MLOAD`/`MSTORE`/`MSTORE8` or a syscall buffer outside linear memory.
    MemoryOutOfBounds,
    /// `INLOAD` outside the call's input.
    InputOutOfBounds,
    /// `SSTORE` refused by the key-value store (full).
    StorageFull,
    /// The device's helper for a syscall trapped. The Alkyl helpers never
    /// do for a translation (its buffers are checked before the call and
    /// platform operations report failures as return codes), so neither
    /// does the reference interpreter; a host with other helpers might.
    Syscall { id: u32 },
    /// The instruction budget (fuel) ran out.
    OutOfFuel,
    /// The reference interpreter was given a module that did not pass
    /// validation (never happens for validated modules).
    Malformed,
}

impl Describe for IrTrap {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            IrTrap::Revert(e) => ("REVERT ", Hex(u64::from(*e))).describe(out),
            IrTrap::Invalid => out.text("INVALID"),
            IrTrap::MemoryOutOfBounds => out.text("memory access out of bounds"),
            IrTrap::InputOutOfBounds => out.text("input access out of bounds"),
            IrTrap::StorageFull => out.text("key-value store full"),
            IrTrap::Syscall { id } => ("syscall ", Hex(u64::from(*id)), " failed").describe(out),
            IrTrap::OutOfFuel => out.text("out of fuel"),
            IrTrap::Malformed => out.text("malformed module"),
        }
    }
}

alkyl_vm::error_by_describe!(IrTrap);

/// First address of the non-revert trap codes.
pub const TRAP_BASE: u64 = 0x1_0000;

impl IrTrap {
    /// The segment-0 address a translation reads to raise this trap, for the
    /// traps a translation raises itself.
    pub const fn fault_address(self) -> Option<u64> {
        match self {
            IrTrap::Revert(code) => Some(code as u64),
            IrTrap::Invalid => Some(TRAP_BASE),
            IrTrap::MemoryOutOfBounds => Some(TRAP_BASE + 1),
            IrTrap::InputOutOfBounds => Some(TRAP_BASE + 2),
            IrTrap::StorageFull => Some(TRAP_BASE + 3),
            _ => None,
        }
    }

    /// The IR trap a VM trap of a translated program stands for, or `None`
    /// when the VM trap has no IR meaning (a translator bug).
    pub fn from_vm(trap: &Trap) -> Option<IrTrap> {
        match trap.kind {
            TrapKind::Memory(f) if f.kind == FaultKind::Unmapped && f.addr >> 32 == 0 && f.len == 1 => match f.addr {
                a if a < TRAP_BASE => Some(IrTrap::Revert(a as u16)),
                a if a == TRAP_BASE => Some(IrTrap::Invalid),
                a if a == TRAP_BASE + 1 => Some(IrTrap::MemoryOutOfBounds),
                a if a == TRAP_BASE + 2 => Some(IrTrap::InputOutOfBounds),
                a if a == TRAP_BASE + 3 => Some(IrTrap::StorageFull),
                _ => None,
            },
            TrapKind::Memory(f) if f.addr >> 32 == INPUT_VADDR >> 32 && f.kind == FaultKind::OutOfBounds => {
                Some(IrTrap::InputOutOfBounds)
            }
            TrapKind::Helper { id, .. } => Some(IrTrap::Syscall { id }),
            TrapKind::BudgetExhausted => Some(IrTrap::OutOfFuel),
            _ => None,
        }
    }
}
