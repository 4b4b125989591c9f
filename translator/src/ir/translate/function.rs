//! Translating one function: the walk over its validated steps, control
//! flow (labels, fused compare-and-branch, block-boundary moves) and exits.

use alloc::vec::Vec;

use alkyl_vm::isa::alu;

use super::emit::{cond, mirror, negate, Class, Emitter, Label};
use super::error::{internal, Fault, TranslateError, TranslateErrorKind};
use super::frame::{home, Loc, SCRATCH};
use super::stack::{emit_move, Operand, Val, ValueStack};
use crate::ir::layout::DataLayout;
use crate::ir::opcode::Op;
use crate::ir::semantics;
use crate::ir::trap::IrTrap;
use crate::ir::validate::{Body, Step, Validated};
use crate::ir::width::Width;

pub(super) type R<T> = Result<T, Fault>;

/// The state of one function's translation.
pub(super) struct Lower<'a> {
    pub e: &'a mut Emitter,
    pub s: ValueStack,
    pub module: &'a Validated<'a>,
    pub layout: &'a DataLayout,
    /// Helper ids called, sorted (a sorted `Vec` rather than a `BTreeSet`:
    /// less code on the device, `make bench-size`).
    pub helpers: &'a mut Vec<u32>,
    body: &'a Body,
    index: usize,
    /// The label of each `JUMPDEST` step, by step index.
    dests: Vec<Option<Label>>,
    /// Trap stubs used by this function, emitted after its body, sorted by
    /// address.
    traps: Vec<(u64, Label)>,
}

/// Translates function `index`; returns its entry slot.
pub(super) fn translate_function(
    e: &mut Emitter,
    module: &Validated<'_>,
    index: usize,
    layout: &DataLayout,
    helpers: &mut Vec<u32>,
) -> Result<u32, TranslateError> {
    let body = &module.bodies[index];
    let entry = e.here();
    let dests = body.dest_types.iter().map(|t| t.as_ref().map(|_| e.new_label())).collect();
    let mut l = Lower { e, s: ValueStack::new(), module, layout, helpers, body, index, dests, traps: Vec::new() };
    let fail = |pos: u32| move |kind: Fault| TranslateError { function: index, pos, kind: *kind };
    let mut i = 0;
    let mut falls_in = true;
    while let Some(&step) = body.steps.get(i) {
        if step.op == Op::Jumpdest {
            if falls_in {
                l.s.flush(l.e, &mut []).map_err(fail(step.pos))?;
            }
            let label =
                l.dests.get(i).copied().flatten().ok_or_else(|| fail(step.pos)(internal("JUMPDEST without types")))?;
            l.e.pin(label);
            let types = body.dest_types.get(i).and_then(|t| t.as_deref()).unwrap_or(&[]);
            l.s.reset_to_homes(types);
            falls_in = true;
            i += 1;
            continue;
        }
        let consumed = l.step(i, step).map_err(fail(step.pos))?;
        if l.e.over_limit() {
            let max_bytes = l.e.limit.unwrap_or(0) * alkyl_vm::isa::INSN_SIZE;
            return Err(TranslateError {
                function: index,
                pos: step.pos,
                kind: TranslateErrorKind::TooLarge { max_bytes },
            });
        }
        l.s.unpin_all();
        falls_in = !body.steps[i + consumed - 1].op.is_terminator();
        i += consumed;
    }
    l.emit_traps();
    Ok(entry)
}

impl Lower<'_> {
    /// The label of a trap stub.
    pub fn trap(&mut self, t: IrTrap) -> Label {
        let addr = t.fault_address().unwrap_or(crate::ir::trap::TRAP_BASE);
        match self.traps.binary_search_by_key(&addr, |&(a, _)| a) {
            Ok(i) => self.traps[i].1,
            Err(i) => {
                let l = self.e.new_label();
                self.traps.insert(i, (addr, l));
                l
            }
        }
    }

    /// Reads one byte at the segment-0 address `addr`, which faults.
    fn emit_fault(&mut self, addr: u64) {
        self.e.load_imm(SCRATCH, addr);
        self.e.load(1, SCRATCH, SCRATCH, 0);
        self.e.exit();
    }

    fn emit_traps(&mut self) {
        for (addr, label) in core::mem::take(&mut self.traps) {
            self.e.pin(label);
            self.emit_fault(addr);
        }
    }

    /// The label of the `JUMPDEST` step `target`.
    fn dest(&self, target: u32) -> R<Label> {
        self.dests.get(target as usize).copied().flatten().ok_or_else(|| internal("jump to an unknown JUMPDEST"))
    }

    /// Lowers the step at `i` (and, when fused, the ones after it);
    /// returns how many steps were consumed.
    fn step(&mut self, i: usize, st: Step) -> R<usize> {
        let w = st.mode;
        match st.op {
            Op::Lt | Op::Gt | Op::Slt | Op::Sgt | Op::Eq | Op::IsZero => {
                // Fuse `cmp [ISZERO...] JUMPI` into one conditional jump.
                let mut j = i + 1;
                let mut negated = false;
                while self.body.steps.get(j).map(|s| s.op) == Some(Op::IsZero) {
                    negated = !negated;
                    j += 1;
                }
                if let Some(jumpi) = self.body.steps.get(j).filter(|s| s.op == Op::Jumpi) {
                    let target = self.dest(jumpi.target)?;
                    self.fused_jump(st.op, w, negated, target)?;
                    return Ok(j - i + 1);
                }
                if st.op == Op::IsZero {
                    self.iszero(w)?;
                } else {
                    self.binary(st.op, w)?;
                }
            }
            Op::Stop => {
                self.e.load_imm(0, 0);
                self.e.exit();
            }
            Op::Return => {
                let v = self.s.pop()?;
                self.move_to_r0(&v);
                self.s.release(v);
                self.e.exit();
            }
            Op::Revert => {
                let v = self.s.pop()?;
                match v.val {
                    Val::Imm(x) => self.emit_fault(x & 0xffff),
                    _ => {
                        self.move_to_r0(&v);
                        self.e.alu_imm(Class::B64, alu::AND, SCRATCH, 0xffff);
                        self.e.load(1, SCRATCH, SCRATCH, 0);
                        self.e.exit();
                    }
                }
                self.s.release(v);
            }
            Op::Invalid => {
                let addr = IrTrap::Invalid.fault_address().unwrap_or(crate::ir::trap::TRAP_BASE);
                self.emit_fault(addr);
            }
            Op::Jump => {
                self.s.flush(self.e, &mut [])?;
                let target = self.dest(st.target)?;
                self.e.ja(target);
            }
            Op::Jumpi => {
                let mut c = self.s.pop()?;
                self.s.flush(self.e, &mut [&mut c])?;
                let target = self.dest(st.target)?;
                match c.val {
                    Val::Imm(0) => {}
                    Val::Imm(_) => self.e.ja(target),
                    _ => {
                        let r = self.reg_after_flush(&c, &[])?;
                        self.e.jcc_imm(Class::B64, cond::JNE, r, 0, target);
                    }
                }
                self.s.release(c);
            }
            Op::Jumpdest | Op::Bits8 | Op::Bits16 | Op::Bits32 | Op::Bits64 => {}
            Op::Push0 => self.s.push(Operand { val: Val::Imm(0), width: w }),
            Op::Push => self.s.push(Operand { val: Val::Imm(st.imm), width: w }),
            Op::Pop => {
                let v = self.s.pop()?;
                self.s.release(v);
            }
            Op::Dup(n) => {
                let h = self.s.height();
                let v = *h.checked_sub(n as usize).and_then(|k| self.s.stack.get(k)).ok_or_else(underflow)?;
                self.s.push(v);
            }
            Op::Swap(n) => {
                let top = self.s.height().checked_sub(1).ok_or_else(underflow)?;
                let other = top.checked_sub(n as usize).ok_or_else(underflow)?;
                self.s.stack.swap(top, other);
            }
            Op::Arg => {
                let pw = self.module.module.functions[self.index]
                    .params
                    .get(st.imm as usize)
                    .copied()
                    .ok_or_else(|| internal("no such ARG"))?;
                self.arg(st.imm, pw)?;
            }
            op if op.is_binary() => self.binary(st.op, w)?,
            Op::Not => self.not(w)?,
            Op::Zext | Op::Sext | Op::Trunc => self.convert(st.op, w)?,
            Op::Mload => self.mload(w)?,
            Op::Mstore | Op::Mstore8 => self.mstore(st.op, w)?,
            Op::Inload => self.inload(w)?,
            Op::Gload => self.gload(st.imm as usize)?,
            Op::Gstore => self.gstore(st.imm as usize)?,
            Op::Sload => self.sload(w)?,
            Op::Sstore => self.sstore(w)?,
            Op::Syscall => self.syscall(st.imm)?,
            _ => return Err(internal("unknown opcode after validation")),
        }
        Ok(1)
    }

    /// `r0 = v`.
    fn move_to_r0(&mut self, v: &Operand) {
        match v.val {
            Val::Imm(x) => self.e.load_imm(SCRATCH, x),
            Val::At(l) => emit_move(self.e, Loc::Reg(SCRATCH), l),
        }
    }

    /// After a flush: the register holding `v`, loading it (from a slot or
    /// an immediate) into a register no stack position uses. `taken` are
    /// registers already claimed for this jump.
    fn reg_after_flush(&mut self, v: &Operand, taken: &[u8]) -> R<u8> {
        if let Val::At(Loc::Reg(r)) = v.val {
            return Ok(r);
        }
        let h = self.s.height();
        let is_home = |r: u8| (0..h).any(|k| home(k) == Loc::Reg(r));
        let r = [5u8, 4, 3, 2, 1, 9, 8, 7, 6, SCRATCH]
            .into_iter()
            .find(|&r| !is_home(r) && !taken.contains(&r) && !self.s.holds(Loc::Reg(r)))
            .ok_or_else(|| internal("no register for a branch operand"))?;
        match v.val {
            Val::At(l) => emit_move(self.e, Loc::Reg(r), l),
            Val::Imm(x) => self.e.load_imm(r, x),
        }
        Ok(r)
    }

    /// `cmp; [ISZERO]*; JUMPI target` as one conditional jump.
    fn fused_jump(&mut self, op: Op, w: Width, negated: bool, target: Label) -> R<()> {
        let mut a = self.s.pop()?;
        let mut b = if op == Op::IsZero { Operand { val: Val::Imm(0), width: w } } else { self.s.pop()? };
        let (c, signed) = condition(op);
        let c = if negated { negate(c) } else { c };
        if let (Val::Imm(x), Val::Imm(y)) = (a.val, b.val) {
            let holds = match op {
                Op::IsZero => x == 0,
                _ => semantics::binary(op, w, x, y) == Some(1),
            };
            self.s.flush(self.e, &mut [])?;
            if holds != negated {
                self.e.ja(target);
            }
            return Ok(());
        }
        let class = if w == Width::W64 { Class::B64 } else { Class::B32 };
        let narrow_signed = signed && matches!(w, Width::W8 | Width::W16);
        if narrow_signed {
            // Compare sign-extended 32-bit copies.
            self.s.pin(&a);
            self.s.pin(&b);
            a = self.sign_extended(a, w)?;
            b = self.sign_extended(b, w)?;
        }
        self.s.flush(self.e, &mut [&mut a, &mut b])?;
        // Immediates: as the jump's imm when they fit.
        let imm_of = |v: u64| -> Option<i32> {
            if narrow_signed {
                Some(w.sign_extend(v) as i32)
            } else if w == Width::W64 {
                (v as i64 == v as i32 as i64).then_some(v as i32)
            } else {
                Some(v as u32 as i32)
            }
        };
        let (x, y, c) = match (a.val, b.val) {
            (_, Val::Imm(v)) if imm_of(v).is_some() => (a, b, c),
            (Val::Imm(v), _) if imm_of(v).is_some() => (b, a, mirror(c)),
            _ => (a, b, c),
        };
        let rx = self.reg_after_flush(&x, &[])?;
        match (y.val, y.val_imm().and_then(imm_of)) {
            (Val::Imm(_), Some(imm)) => self.e.jcc_imm(class, c, rx, imm, target),
            _ => {
                let ry = self.reg_after_flush(&y, &[rx])?;
                self.e.jcc(class, c, rx, ry, target);
            }
        }
        self.s.release(a);
        self.s.release(b);
        Ok(())
    }

    /// A held operand replaced by its value sign-extended from `w` to 32
    /// bits, in a fresh register (immediates are left as they are).
    fn sign_extended(&mut self, v: Operand, w: Width) -> R<Operand> {
        let src = match v.val {
            Val::Imm(_) => return Ok(v),
            Val::At(Loc::Reg(r)) => r,
            Val::At(l @ Loc::Slot(_)) => {
                let t = self.s.alloc_reg(self.e, None)?;
                emit_move(self.e, Loc::Reg(t), l);
                t
            }
        };
        let t = self.s.alloc_reg(self.e, None)?;
        self.e.movsx(Class::B32, t, src, w.bits() as i16);
        self.s.release(v);
        self.s.hold(Loc::Reg(t));
        Ok(Operand { val: Val::At(Loc::Reg(t)), width: w })
    }
}

/// The jump condition of a comparison, and whether it is signed.
pub(super) fn condition(op: Op) -> (u8, bool) {
    match op {
        Op::Lt => (cond::JLT, false),
        Op::Gt => (cond::JGT, false),
        Op::Slt => (cond::JSLT, true),
        Op::Sgt => (cond::JSGT, true),
        _ => (cond::JEQ, false),
    }
}

pub(super) fn underflow() -> Fault {
    internal("translate-time stack underflow")
}
