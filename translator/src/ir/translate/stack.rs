//! The value stack modelled at translate time (wasmi's approach).
//!
//! Each IR stack position is an [`Operand`]: an immediate not yet
//! materialized, or a [`Loc`] holding the value. `PUSH` and `DUP` emit
//! nothing (a `DUP` shares its source's location, counted in `rc`); `SWAP`
//! exchanges two descriptors. Code is emitted only when a consumer needs a
//! value in a register, when registers run out (a spill to a slot), before
//! a helper call (values leave the caller-saved `r1..r5`), and at block
//! boundaries, where every position moves to its home by a parallel move.
//!
//! # Invariants
//! - `rc[l]` counts the operands (on the stack or held by the lowering of
//!   the current instruction) that refer to location `l`.
//! - A location is written only when it is free (`rc == 0`), or when the
//!   only operand referring to it is the one being consumed (in place).
//! - Held operands in registers are marked busy, so allocation and
//!   spilling never take them.

use alloc::vec::Vec;

use alkyl_vm::isa::alu;

use super::emit::{Class, Emitter};
use super::error::{internal, Fault};
use super::frame::{home, Loc, CALLEE_SAVED, CYCLE_SLOT, FP, GENERAL_SLOTS, LOC_COUNT, SCRATCH};
use crate::ir::width::Width;

/// Where an operand's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    Imm(u64),
    At(Loc),
}

/// A value on the translate-time stack: canonical (zero-extended) in its
/// location, of static width `width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operand {
    pub val: Val,
    pub width: Width,
}

impl Operand {
    /// The value, when it is an immediate.
    pub fn val_imm(&self) -> Option<u64> {
        match self.val {
            Val::Imm(v) => Some(v),
            Val::At(_) => None,
        }
    }
}

/// Allocation order: registers that home deep positions come last.
const ALLOC_ORDER: [u8; 9] = [5, 4, 3, 2, 1, 9, 8, 7, 6];

type R<T> = Result<T, Fault>;

/// The operand stack and the use of every location.
pub struct ValueStack {
    pub stack: Vec<Operand>,
    rc: [u16; LOC_COUNT],
    busy: u16,
}

impl ValueStack {
    pub fn new() -> ValueStack {
        let mut s = ValueStack { stack: Vec::new(), rc: [0; LOC_COUNT], busy: 0 };
        s.recount(&[]);
        s
    }

    /// Recomputes `rc` from the stack and the held operands `keep`.
    fn recount(&mut self, keep: &[&mut Operand]) {
        self.rc = [0; LOC_COUNT];
        for op in self.stack.iter().chain(keep.iter().map(|o| &**o)) {
            if let Val::At(l) = op.val {
                self.rc[l.index()] += 1;
            }
        }
    }

    pub fn height(&self) -> usize {
        self.stack.len()
    }

    pub fn push(&mut self, op: Operand) {
        if let Val::At(l) = op.val {
            self.rc[l.index()] += 1;
        }
        self.stack.push(op);
    }

    /// Pops the top; the caller holds it until [`ValueStack::release`].
    #[inline(never)]
    pub fn pop(&mut self) -> R<Operand> {
        self.stack.pop().ok_or_else(|| internal("translate-time stack underflow"))
    }

    /// Drops a held operand.
    pub fn release(&mut self, op: Operand) {
        if let Val::At(l) = op.val {
            self.rc[l.index()] = self.rc[l.index()].saturating_sub(1);
        }
    }

    /// Counts a new held operand at `l` (a value the lowering created).
    pub fn hold(&mut self, l: Loc) {
        self.rc[l.index()] += 1;
    }

    /// True when some operand refers to `l`.
    pub fn holds(&self, l: Loc) -> bool {
        self.rc[l.index()] > 0
    }

    /// Marks a held operand's register as busy for the current instruction.
    // Out of line: called from dozens of sites (`make bench-size`).
    #[inline(never)]
    pub fn pin(&mut self, op: &Operand) {
        if let Val::At(Loc::Reg(r)) = op.val {
            self.busy |= 1 << r;
        }
    }

    /// Ends the current instruction: nothing is busy any more.
    pub fn unpin_all(&mut self) {
        self.busy = 0;
    }

    /// True when `op` is the only reference to its register (it may be
    /// overwritten in place once consumed).
    pub fn owned_reg(&self, op: &Operand) -> Option<u8> {
        match op.val {
            Val::At(Loc::Reg(r)) if self.rc[Loc::Reg(r).index()] == 1 => Some(r),
            _ => None,
        }
    }

    fn is_free(&self, l: Loc) -> bool {
        let busy = matches!(l, Loc::Reg(r) if self.busy & (1 << r) != 0);
        self.rc[l.index()] == 0 && !busy && l != Loc::Reg(SCRATCH) && l != Loc::Reg(FP)
    }

    /// A free register, preferring `prefer`; spills when none is free. The
    /// register is busy until [`ValueStack::unpin_all`].
    pub fn alloc_reg(&mut self, e: &mut Emitter, prefer: Option<Loc>) -> R<u8> {
        for _ in 0..2 {
            let pick = match prefer {
                Some(Loc::Reg(r)) if self.is_free(Loc::Reg(r)) => Some(r),
                _ => ALLOC_ORDER.iter().copied().find(|&r| self.is_free(Loc::Reg(r))),
            };
            if let Some(r) = pick {
                self.busy |= 1 << r;
                return Ok(r);
            }
            self.spill(e)?;
        }
        Err(internal("no register after a spill"))
    }

    /// A free slot, preferring `prefer`.
    fn free_slot(&self, prefer: Option<Loc>, avoid: &[Loc]) -> Option<u8> {
        if let Some(Loc::Slot(s)) = prefer {
            if self.is_free(Loc::Slot(s)) && !avoid.contains(&Loc::Slot(s)) {
                return Some(s);
            }
        }
        (0..GENERAL_SLOTS).find(|&s| self.is_free(Loc::Slot(s)) && !avoid.contains(&Loc::Slot(s)))
    }

    /// Moves the register value of the deepest stack position that is in a
    /// non-busy register to a slot.
    fn spill(&mut self, e: &mut Emitter) -> R<()> {
        let victim = self.stack.iter().enumerate().find_map(|(k, op)| match op.val {
            Val::At(Loc::Reg(r)) if self.busy & (1 << r) == 0 => Some((k, r)),
            _ => None,
        });
        let (k, r) = victim.ok_or_else(|| internal("nothing to spill"))?;
        let s = self.free_slot(Some(home(k)), &[]).ok_or_else(|| internal("no free slot"))?;
        emit_move(e, Loc::Slot(s), Loc::Reg(r));
        self.retarget(Loc::Reg(r), Loc::Slot(s), &mut []);
        Ok(())
    }

    /// Every reference to `from` now refers to `to` (whose value was copied).
    fn retarget(&mut self, from: Loc, to: Loc, keep: &mut [&mut Operand]) {
        for op in self.stack.iter_mut().chain(keep.iter_mut().map(|o| &mut **o)) {
            if op.val == Val::At(from) {
                op.val = Val::At(to);
            }
        }
        self.rc[to.index()] += self.rc[from.index()];
        self.rc[from.index()] = 0;
        // A held operand that was busy in its old register stays busy.
        if let (Loc::Reg(f), Loc::Reg(t)) = (from, to) {
            if self.busy & (1 << f) != 0 {
                self.busy |= 1 << t;
            }
        }
    }

    /// The register holding `op`, loading it into a busy temporary when it
    /// is an immediate or in a slot.
    pub fn reg_of(&mut self, e: &mut Emitter, op: &Operand) -> R<u8> {
        match op.val {
            Val::At(Loc::Reg(r)) => Ok(r),
            Val::At(Loc::Slot(s)) => {
                let t = self.alloc_reg(e, None)?;
                emit_move(e, Loc::Reg(t), Loc::Slot(s));
                Ok(t)
            }
            Val::Imm(v) => {
                let t = self.alloc_reg(e, None)?;
                e.load_imm(t, v);
                Ok(t)
            }
        }
    }

    /// Moves every value out of the registers a helper call clobbers
    /// (`r1..r5`), into free callee-saved registers or slots. `keep` are the
    /// held operands, updated in place.
    pub fn evict_for_call(&mut self, e: &mut Emitter, keep: &mut [&mut Operand]) -> R<()> {
        for r in 1..=5u8 {
            if self.rc[Loc::Reg(r).index()] == 0 {
                continue;
            }
            let to = match CALLEE_SAVED.iter().copied().find(|&c| self.is_free(Loc::Reg(c))) {
                Some(c) => Loc::Reg(c),
                None => Loc::Slot(self.free_slot(None, &[]).ok_or_else(|| internal("no free slot"))?),
            };
            emit_move(e, to, Loc::Reg(r));
            self.retarget(Loc::Reg(r), to, keep);
        }
        Ok(())
    }

    /// Moves every stack position to its home (a block boundary). The held
    /// operands `keep` survive: any of them in a location the move
    /// overwrites is moved elsewhere first.
    pub fn flush(&mut self, e: &mut Emitter, keep: &mut [&mut Operand]) -> R<()> {
        // (Plain loops and pushes rather than `collect`s of iterator
        // chains: one `Vec<Loc>` growth path, less code on the device.)
        let mut dests: Vec<Loc> = Vec::new();
        for k in 0..self.stack.len() {
            if !self.is_in_place(home(k)) {
                dests.push(home(k));
            }
        }
        // Relocate held operands out of the way.
        for held in keep.iter_mut() {
            if let Val::At(l) = held.val {
                if dests.contains(&l) {
                    let to = match self.free_reg_avoiding(&dests) {
                        Some(r) => Loc::Reg(r),
                        None => Loc::Slot(self.free_slot(None, &dests).ok_or_else(|| internal("no free slot"))?),
                    };
                    emit_move(e, to, l);
                    // Only this held operand moves; others referring to `l` stay.
                    held.val = Val::At(to);
                    self.rc[l.index()] -= 1;
                    self.rc[to.index()] += 1;
                    if let Loc::Reg(r) = to {
                        self.busy |= 1 << r;
                    }
                }
            }
        }
        // The parallel move.
        let mut pending: Vec<(Loc, Loc)> = Vec::new();
        let mut imms: Vec<(Loc, u64)> = Vec::new();
        for (k, op) in self.stack.iter().enumerate() {
            match op.val {
                Val::At(l) if l == home(k) => {}
                Val::At(l) => pending.push((home(k), l)),
                Val::Imm(v) => imms.push((home(k), v)),
            }
        }
        while !pending.is_empty() {
            let ready = pending.iter().position(|&(d, _)| !pending.iter().any(|&(_, s)| s == d));
            match ready {
                Some(i) => {
                    let (d, s) = pending.remove(i);
                    emit_move(e, d, s);
                }
                None => {
                    // Only cycles remain: park one source in a temporary.
                    let s = pending[0].1;
                    // Not a source still needed, and not a destination: one
                    // already written holds its new value (its use count
                    // still describes the state before the move).
                    let mut avoid = dests.clone();
                    for &(d, s) in &pending {
                        avoid.push(d);
                        avoid.push(s);
                    }
                    let t = match self.free_reg_avoiding(&avoid) {
                        Some(r) => Loc::Reg(r),
                        None => Loc::Slot(CYCLE_SLOT),
                    };
                    emit_move(e, t, s);
                    for p in pending.iter_mut() {
                        if p.1 == s {
                            p.1 = t;
                        }
                    }
                }
            }
        }
        for (d, v) in imms {
            emit_imm(e, d, v);
        }
        for (k, op) in self.stack.iter_mut().enumerate() {
            op.val = Val::At(home(k));
        }
        self.recount(keep);
        Ok(())
    }

    fn is_in_place(&self, h: Loc) -> bool {
        (0..self.stack.len()).any(|k| home(k) == h && self.stack[k].val == Val::At(h))
    }

    fn free_reg_avoiding(&self, avoid: &[Loc]) -> Option<u8> {
        ALLOC_ORDER.iter().copied().find(|&r| self.is_free(Loc::Reg(r)) && !avoid.contains(&Loc::Reg(r)))
    }

    /// A block start: every position in its home, with these widths.
    pub fn reset_to_homes(&mut self, widths: &[Width]) {
        self.stack.clear();
        for (k, &w) in widths.iter().enumerate() {
            self.stack.push(Operand { val: Val::At(home(k)), width: w });
        }
        self.busy = 0;
        self.recount(&[]);
    }
}

/// Copies the 64-bit value at `src` to `dst` (slot to slot through `r0`).
pub fn emit_move(e: &mut Emitter, dst: Loc, src: Loc) {
    match (dst, src) {
        (Loc::Reg(d), Loc::Reg(s)) => {
            if d != s {
                e.alu(Class::B64, alu::MOV, d, s)
            }
        }
        (Loc::Reg(d), Loc::Slot(s)) => e.load(8, d, FP, Loc::slot_offset(s)),
        (Loc::Slot(d), Loc::Reg(s)) => e.store_reg(8, FP, Loc::slot_offset(d), s),
        (Loc::Slot(d), Loc::Slot(s)) => {
            if d != s {
                e.load(8, SCRATCH, FP, Loc::slot_offset(s));
                e.store_reg(8, FP, Loc::slot_offset(d), SCRATCH);
            }
        }
    }
}

/// Writes the constant `v` to `dst` (through `r0` when a slot needs more
/// than a sign-extended 32-bit immediate).
pub fn emit_imm(e: &mut Emitter, dst: Loc, v: u64) {
    match dst {
        Loc::Reg(d) => e.load_imm(d, v),
        Loc::Slot(s) if v as i64 == v as i32 as i64 => e.store_imm(8, FP, Loc::slot_offset(s), v as i32),
        Loc::Slot(s) => {
            e.load_imm(SCRATCH, v);
            e.store_reg(8, FP, Loc::slot_offset(s), SCRATCH);
        }
    }
}
