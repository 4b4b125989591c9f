//! The arithmetic of Alkyl IR, exactly as the specification states it: one
//! pure function per operation kind, on canonical values of one width.
//!
//! The reference interpreter executes these; the translator folds constants
//! with them. Operand order is the EVM's: `a` is the top of the stack and
//! `b` the value below it, so `PUSH 3; PUSH 10; SUB` computes `10 - 3 = 7`.

use super::opcode::Op;
use super::width::Width;

/// `op` applied to `a` (top) and `b` (below it) in width `w`. Returns `None`
/// for an operation that is not binary.
///
/// - `ADD MUL SUB` wrap around modulo `2^w`.
/// - `DIV MOD` are unsigned; `SDIV SMOD` signed (two's complement), the
///   remainder taking the dividend's sign; `SDIV` of the most negative value
///   by −1 wraps to the most negative value. **Division by zero yields 0**
///   for all four (as in the EVM).
/// - `LT GT EQ` unsigned, `SLT SGT` signed; the result is 1 or 0 in width `w`.
/// - `SHL SHR SAR`: `a` is the shift amount, `b` the value; the amount is
///   taken modulo `w` (its low log2(w) bits).
pub fn binary(op: Op, w: Width, a: u64, b: u64) -> Option<u64> {
    let (a, b) = (w.wrap(a), w.wrap(b));
    let (sa, sb) = (w.sign_extend(a), w.sign_extend(b));
    let shift = (a & (w.bits() as u64 - 1)) as u32;
    let r = match op {
        Op::Add => a.wrapping_add(b),
        Op::Mul => a.wrapping_mul(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Div => a.checked_div(b).unwrap_or(0),
        Op::Sdiv => match b {
            0 => 0,
            _ => sa.wrapping_div(sb) as u64,
        },
        Op::Mod => a.checked_rem(b).unwrap_or(0),
        Op::Smod => match b {
            0 => 0,
            _ => sa.wrapping_rem(sb) as u64,
        },
        Op::Lt => (a < b) as u64,
        Op::Gt => (a > b) as u64,
        Op::Slt => (sa < sb) as u64,
        Op::Sgt => (sa > sb) as u64,
        Op::Eq => (a == b) as u64,
        Op::And => a & b,
        Op::Or => a | b,
        Op::Xor => a ^ b,
        Op::Shl => b << shift,
        Op::Shr => b >> shift,
        Op::Sar => (sb >> shift) as u64,
        _ => return None,
    };
    Some(w.wrap(r))
}

/// `ISZERO` and `NOT` in width `w`. `None` for other operations.
pub fn unary(op: Op, w: Width, a: u64) -> Option<u64> {
    let a = w.wrap(a);
    match op {
        Op::IsZero => Some((a == 0) as u64),
        Op::Not => Some(w.wrap(!a)),
        _ => None,
    }
}

/// `ZEXT`, `SEXT` and `TRUNC` of `v` (of width `from`) into width `to`.
/// `None` for other operations.
pub fn convert(op: Op, from: Width, to: Width, v: u64) -> Option<u64> {
    let v = from.wrap(v);
    match op {
        Op::Zext | Op::Trunc => Some(to.wrap(v)),
        Op::Sext => Some(to.wrap(from.sign_extend(v) as u64)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Width::*;

    #[test]
    fn spec_examples() {
        // PUSH 3; PUSH 10; SUB = 10 - 3.
        assert_eq!(binary(Op::Sub, W32, 10, 3), Some(7));
        assert_eq!(binary(Op::Sub, W8, 3, 10), Some(249));
        assert_eq!(binary(Op::Add, W8, 200, 100), Some(44));
        assert_eq!(binary(Op::Mul, W16, 0x100, 0x100), Some(0));
        assert_eq!(binary(Op::Div, W32, 7, 0), Some(0));
        assert_eq!(binary(Op::Mod, W32, 7, 0), Some(0));
        assert_eq!(binary(Op::Sdiv, W8, 0x80, 0xff), Some(0x80)); // -128 / -1 wraps
        assert_eq!(binary(Op::Smod, W8, 0xf9, 3), Some(0xff)); // -7 % 3 = -1
        assert_eq!(binary(Op::Sdiv, W64, 1 << 63, u64::MAX), Some(1 << 63));
        assert_eq!(binary(Op::Slt, W16, 0xffff, 0), Some(1)); // -1 < 0
        assert_eq!(binary(Op::Lt, W16, 0xffff, 0), Some(0));
        // SHL: amount on top, value below; amount modulo the width.
        assert_eq!(binary(Op::Shl, W8, 9, 1), Some(2));
        assert_eq!(binary(Op::Sar, W8, 1, 0x80), Some(0xc0));
        assert_eq!(binary(Op::Shr, W64, 64, 5), Some(5));
        assert_eq!(unary(Op::Not, W16, 0), Some(0xffff));
        assert_eq!(unary(Op::IsZero, W8, 0), Some(1));
        assert_eq!(convert(Op::Sext, W8, W32, 0x80), Some(0xffff_ff80));
        assert_eq!(convert(Op::Zext, W8, W64, 0x80), Some(0x80));
        assert_eq!(convert(Op::Trunc, W32, W8, 0x1234), Some(0x34));
    }
}
