//! Arithmetic, comparisons as values, and width conversions.
//!
//! Values of width 8, 16 and 32 are computed with 32-bit ALU instructions
//! (which zero-extend their result), 64-bit values with ALU64. After an
//! operation that can carry out of an 8/16-bit word (`ADD SUB MUL SHL`,
//! signed ones), the result is masked back to its width; the others keep
//! canonical operands canonical.

use alkyl_vm::isa::alu;

use super::emit::{cond, mirror, Class};
use super::error::internal;
use super::frame::{home, Loc};
use super::function::{condition, Lower, R};
use super::stack::{emit_move, Operand, Val};
use crate::ir::opcode::Op;
use crate::ir::semantics;
use crate::ir::width::Width;

fn class(w: Width) -> Class {
    if w == Width::W64 {
        Class::B64
    } else {
        Class::B32
    }
}

/// `v` as the immediate of an instruction of class `c`, if it fits.
fn imm(c: Class, v: u64) -> Option<i32> {
    match c {
        Class::B64 => (v as i64 == v as i32 as i64).then_some(v as i32),
        Class::B32 => u32::try_from(v).ok().map(|v| v as i32),
    }
}

fn alu_op(op: Op) -> u8 {
    match op {
        Op::Add => alu::ADD,
        Op::Mul => alu::MUL,
        Op::Sub => alu::SUB,
        Op::Div | Op::Sdiv => alu::DIV,
        Op::Mod | Op::Smod => alu::MOD,
        Op::And => alu::AND,
        Op::Or => alu::OR,
        Op::Xor => alu::XOR,
        Op::Shl => alu::LSH,
        Op::Shr => alu::RSH,
        _ => alu::ARSH,
    }
}

impl Lower<'_> {
    /// The position the next pushed value will occupy.
    fn next_home(&self) -> Loc {
        home(self.s.height())
    }

    /// A register holding a copy of `x` that may be overwritten: `x`'s own
    /// register when `x` is its only reference, else a fresh one.
    fn writable_copy(&mut self, x: &Operand) -> R<u8> {
        if let Some(r) = self.s.owned_reg(x) {
            return Ok(r);
        }
        let pref = Some(self.next_home());
        let t = self.s.alloc_reg(self.e, pref)?;
        match x.val {
            Val::Imm(v) => self.e.load_imm(t, v),
            Val::At(l) => emit_move(self.e, Loc::Reg(t), l),
        }
        Ok(t)
    }

    /// [`Self::writable_copy`] of `x`, its 8/16-bit value sign-extended in
    /// place to 32 bits when `sign_extend` is asked.
    fn writable_copy_extended(&mut self, x: &Operand, w: Width, sign_extend: bool) -> R<u8> {
        let d = self.writable_copy(x)?;
        if sign_extend && matches!(w, Width::W8 | Width::W16) {
            self.e.movsx(Class::B32, d, d, w.bits() as i16);
        }
        Ok(d)
    }

    /// A fresh register holding `r`'s 8/16-bit value sign-extended to 32 bits.
    fn sign_extended_copy(&mut self, r: u8, w: Width) -> R<u8> {
        let t = self.s.alloc_reg(self.e, None)?;
        self.e.movsx(Class::B32, t, r, w.bits() as i16);
        Ok(t)
    }

    fn push_reg(&mut self, r: u8, w: Width) {
        self.s.push(Operand { val: Val::At(Loc::Reg(r)), width: w });
    }

    fn mask(&mut self, r: u8, w: Width) {
        if matches!(w, Width::W8 | Width::W16) {
            self.e.alu_imm(Class::B32, alu::AND, r, w.mask() as i32);
        }
    }

    /// A binary operation (`a` = top, `b` = below), or a comparison whose
    /// 0/1 result is needed as a value.
    pub(super) fn binary(&mut self, op: Op, w: Width) -> R<()> {
        let a = self.s.pop()?;
        let b = self.s.pop()?;
        if let (Val::Imm(x), Val::Imm(y)) = (a.val, b.val) {
            let v = semantics::binary(op, w, x, y).ok_or_else(|| internal("not binary"))?;
            self.s.push(Operand { val: Val::Imm(v), width: w });
            return Ok(());
        }
        // x MOD 0 = 0 for every x (and x DIV 0, which eBPF agrees with).
        if matches!(op, Op::Mod | Op::Smod | Op::Div | Op::Sdiv) && b.val == Val::Imm(0) {
            self.s.release(a);
            self.s.push(Operand { val: Val::Imm(0), width: w });
            return Ok(());
        }
        self.s.pin(&a);
        self.s.pin(&b);
        let r = match op {
            Op::Lt | Op::Gt | Op::Slt | Op::Sgt | Op::Eq => self.compare_value(op, w, a, b)?,
            Op::Sdiv | Op::Smod => self.signed_div(op, w, a, b)?,
            Op::Shl | Op::Shr | Op::Sar => self.shift(op, w, a, b)?,
            _ => self.arith(op, w, a, b)?,
        };
        self.s.release(a);
        self.s.release(b);
        self.push_reg(r, w);
        Ok(())
    }

    /// `ADD MUL SUB DIV MOD AND OR XOR`: `dst = a op b`.
    fn arith(&mut self, op: Op, w: Width, a: Operand, b: Operand) -> R<u8> {
        let c = class(w);
        let commutative = matches!(op, Op::Add | Op::Mul | Op::And | Op::Or | Op::Xor);
        // Commutative: compute in `b`'s register when only it can be
        // overwritten, and keep an immediate as the source operand.
        let b_better = self.s.owned_reg(&a).is_none() && self.s.owned_reg(&b).is_some();
        let (x, y) = if commutative && (b_better || a.val_imm().is_some()) { (b, a) } else { (a, b) };
        let d = self.writable_copy(&x)?;
        let code = alu_op(op);
        let divisor = match y.val_imm().and_then(|v| imm(c, v)) {
            Some(k) => {
                self.e.alu_imm(c, code, d, k);
                None
            }
            None => {
                let ry = self.s.reg_of(self.e, &y)?;
                self.e.alu(c, code, d, ry);
                Some(ry)
            }
        };
        if op == Op::Mod {
            if let Some(ry) = divisor {
                // eBPF leaves x % 0 = x; Alkyl IR says 0.
                self.e.skip_imm(Class::B64, cond::JNE, ry, 0, 1);
                self.e.load_imm(d, 0);
            }
        }
        if matches!(op, Op::Add | Op::Sub | Op::Mul) {
            self.mask(d, w);
        }
        Ok(d)
    }

    /// `SDIV SMOD`: on 8/16-bit words, both operands sign-extended to 32 bits.
    fn signed_div(&mut self, op: Op, w: Width, a: Operand, b: Operand) -> R<u8> {
        let c = class(w);
        let narrow = matches!(w, Width::W8 | Width::W16);
        let d = self.writable_copy_extended(&a, w, true)?;
        let ry = match b.val {
            Val::Imm(v) => {
                let t = self.s.alloc_reg(self.e, None)?;
                let v = if narrow { w.sign_extend(v) as u32 as u64 } else { v };
                self.e.load_imm(t, v);
                t
            }
            _ => {
                let r = self.s.reg_of(self.e, &b)?;
                if narrow {
                    self.sign_extended_copy(r, w)?
                } else {
                    r
                }
            }
        };
        self.e.alu_signed(c, alu_op(op), d, ry);
        if op == Op::Smod {
            self.e.skip_imm(Class::B64, cond::JNE, ry, 0, 1);
            self.e.load_imm(d, 0);
        }
        self.mask(d, w);
        Ok(d)
    }

    /// `SHL SHR SAR`: `b` is the value, `a` the amount (modulo the width).
    fn shift(&mut self, op: Op, w: Width, a: Operand, b: Operand) -> R<u8> {
        let c = class(w);
        let narrow = matches!(w, Width::W8 | Width::W16);
        let d = self.writable_copy_extended(&b, w, op == Op::Sar)?;
        let code = alu_op(op);
        match a.val {
            Val::Imm(v) => self.e.alu_imm(c, code, d, (v & (w.bits() as u64 - 1)) as i32),
            _ => {
                let ra = self.s.reg_of(self.e, &a)?;
                if narrow {
                    let t = self.s.alloc_reg(self.e, None)?;
                    self.e.alu(Class::B32, alu::MOV, t, ra);
                    self.e.alu_imm(Class::B32, alu::AND, t, w.bits() as i32 - 1);
                    self.e.alu(c, code, d, t);
                } else {
                    // eBPF masks shift amounts by 31 / 63: exactly modulo w.
                    self.e.alu(c, code, d, ra);
                }
            }
        }
        if op != Op::Shr {
            self.mask(d, w);
        }
        Ok(d)
    }

    /// `t = (a cmp b) ? 1 : 0`.
    fn compare_value(&mut self, op: Op, w: Width, a: Operand, b: Operand) -> R<u8> {
        let c = class(w);
        let (cc, signed) = condition(op);
        let narrow_signed = signed && matches!(w, Width::W8 | Width::W16);
        let imm_of = |v: u64| -> Option<i32> {
            if narrow_signed {
                Some(w.sign_extend(v) as i32)
            } else {
                imm(c, v)
            }
        };
        let (x, y, cc) = match (a.val, b.val) {
            (Val::Imm(v), _) if imm_of(v).is_some() => (b, a, mirror(cc)),
            _ => (a, b, cc),
        };
        let mut rx = self.s.reg_of(self.e, &x)?;
        if narrow_signed {
            rx = self.sign_extended_copy(rx, w)?;
        }
        let y_imm = y.val_imm().and_then(imm_of);
        let ry = match y_imm {
            Some(_) => 0,
            None => {
                let r = self.s.reg_of(self.e, &y)?;
                if narrow_signed {
                    self.sign_extended_copy(r, w)?
                } else {
                    r
                }
            }
        };
        let pref = Some(self.next_home());
        let t = self.s.alloc_reg(self.e, pref)?;
        self.e.load_imm(t, 1);
        match y_imm {
            Some(k) => self.e.skip_imm(c, cc, rx, k, 1),
            None => self.e.skip(c, cc, rx, ry, 1),
        }
        self.e.load_imm(t, 0);
        Ok(t)
    }

    /// `ISZERO` as a value.
    pub(super) fn iszero(&mut self, w: Width) -> R<()> {
        let a = self.s.pop()?;
        if let Val::Imm(x) = a.val {
            self.s.push(Operand { val: Val::Imm((w.wrap(x) == 0) as u64), width: w });
            return Ok(());
        }
        self.s.pin(&a);
        let ra = self.s.reg_of(self.e, &a)?;
        let pref = Some(self.next_home());
        let t = self.s.alloc_reg(self.e, pref)?;
        self.e.load_imm(t, 1);
        self.e.skip_imm(Class::B64, cond::JEQ, ra, 0, 1);
        self.e.load_imm(t, 0);
        self.s.release(a);
        self.push_reg(t, w);
        Ok(())
    }

    /// `NOT`: flip the word's bits.
    pub(super) fn not(&mut self, w: Width) -> R<()> {
        let a = self.s.pop()?;
        if let Val::Imm(x) = a.val {
            self.s.push(Operand { val: Val::Imm(w.wrap(!x)), width: w });
            return Ok(());
        }
        self.s.pin(&a);
        let d = self.writable_copy(&a)?;
        match w {
            Width::W64 => self.e.alu_imm(Class::B64, alu::XOR, d, -1),
            _ => self.e.alu_imm(Class::B32, alu::XOR, d, w.mask() as u32 as i32),
        }
        self.s.release(a);
        self.push_reg(d, w);
        Ok(())
    }

    /// `ZEXT SEXT TRUNC` of the top into the mode's width `to`.
    pub(super) fn convert(&mut self, op: Op, to: Width) -> R<()> {
        let a = self.s.pop()?;
        let from = a.width;
        if let Val::Imm(x) = a.val {
            let v = semantics::convert(op, from, to, x).unwrap_or(0);
            self.s.push(Operand { val: Val::Imm(v), width: to });
            return Ok(());
        }
        // A canonical value is already its own zero extension, and already
        // its own sign extension or truncation into the same width.
        if op == Op::Zext || from == to {
            self.s.push(Operand { val: a.val, width: to });
            self.s.release(a);
            return Ok(());
        }
        self.s.pin(&a);
        let src = self.s.reg_of(self.e, &a)?;
        let d = match self.s.owned_reg(&a) {
            Some(r) => r,
            None => {
                let pref = Some(self.next_home());
                self.s.alloc_reg(self.e, pref)?
            }
        };
        match (op, to) {
            (Op::Sext, Width::W64) => self.e.movsx(Class::B64, d, src, from.bits() as i16),
            (Op::Sext, _) => {
                self.e.movsx(Class::B32, d, src, from.bits() as i16);
                self.mask(d, to);
            }
            (_, Width::W32) => self.e.alu(Class::B32, alu::MOV, d, src),
            _ => {
                self.e.alu(Class::B32, alu::MOV, d, src);
                self.mask(d, to);
            }
        }
        self.s.release(a);
        self.push_reg(d, to);
        Ok(())
    }
}
