//! The fast engine's register file `r0..=r10`, laid out for the core it
//! runs on.
//!
//! On a 64-bit host a register is one `u64`. On a 32-bit core (the
//! Cortex-M4) the low and high halves live in two `u32` arrays, so that a
//! 32-bit ALU op (clang's `-mcpu=v3` output is full of them) reads one word
//! and writes its result and a zero high word with two plain stores, and
//! 64-bit work touches both halves only where it is 64-bit.
//!
//! Registers are named by [`Reg`], so no access needs a bounds check.

use super::op::Reg;
use crate::isa::REG_COUNT;

#[cfg(target_pointer_width = "64")]
pub(crate) struct Regs([u64; REG_COUNT]);

#[cfg(not(target_pointer_width = "64"))]
pub(crate) struct Regs {
    lo: [u32; REG_COUNT],
    hi: [u32; REG_COUNT],
}

#[cfg(target_pointer_width = "64")]
impl Regs {
    pub(crate) const fn new() -> Self {
        Regs([0; REG_COUNT])
    }

    #[inline(always)]
    pub(crate) fn get(&self, r: Reg) -> u64 {
        self.0[r.ix()]
    }

    #[inline(always)]
    pub(crate) fn get32(&self, r: Reg) -> u32 {
        self.0[r.ix()] as u32
    }

    #[inline(always)]
    pub(crate) fn set(&mut self, r: Reg, v: u64) {
        self.0[r.ix()] = v;
    }

    /// Sets `r` to `v` zero-extended (the result of a 32-bit op).
    #[inline(always)]
    pub(crate) fn set32(&mut self, r: Reg, v: u32) {
        self.0[r.ix()] = v as u64;
    }
}

#[cfg(not(target_pointer_width = "64"))]
impl Regs {
    pub(crate) const fn new() -> Self {
        Regs { lo: [0; REG_COUNT], hi: [0; REG_COUNT] }
    }

    #[inline(always)]
    pub(crate) fn get(&self, r: Reg) -> u64 {
        self.lo[r.ix()] as u64 | (self.hi[r.ix()] as u64) << 32
    }

    #[inline(always)]
    pub(crate) fn get32(&self, r: Reg) -> u32 {
        self.lo[r.ix()]
    }

    #[inline(always)]
    pub(crate) fn set(&mut self, r: Reg, v: u64) {
        self.lo[r.ix()] = v as u32;
        self.hi[r.ix()] = (v >> 32) as u32;
    }

    /// Sets `r` to `v` zero-extended (the result of a 32-bit op).
    #[inline(always)]
    pub(crate) fn set32(&mut self, r: Reg, v: u32) {
        self.lo[r.ix()] = v;
        self.hi[r.ix()] = 0;
    }
}
