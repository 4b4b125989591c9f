//! The instruction semantics both engines share (crate-private): ALU,
//! division, compares, atomics, the sized load/store path and the local
//! call frame. The reference interpreter ([`crate::interp`]) is written
//! around them; the fast engine ([`crate::fast`]) calls them on its cold
//! paths, so the two cannot disagree on what an instruction means.

use crate::abi::{CALL_SAVE_BYTES, STACK_VADDR};
use crate::isa::{alu, atomic, jmp, size};
use crate::memory::{le_value, put_le, Access, FaultKind, MemFault, MemoryMap};

/// Enters a local call made with frame pointer `fp`: checks that the
/// callee's frame and the save area below the caller's frame are writable
/// (`frame_size + CALL_SAVE_BYTES` bytes ending `frame_size` bytes below
/// `fp`), stores `saved(i)` (the caller's `r6..=r9`, `i` in `0..4`, 8 bytes
/// each) in the save area, and returns the callee's frame pointer (the
/// save area's start).
///
/// # Errors
/// The fault of that check: a call whose frame does not fit in the stack
/// traps at the call.
pub(crate) fn push_frame(
    mem: &mut MemoryMap<'_>,
    fp: u64,
    frame_size: u64,
    saved: impl Fn(usize) -> u64,
) -> Result<u64, MemFault> {
    let callee = fp.wrapping_sub(frame_size).wrapping_sub(CALL_SAVE_BYTES);
    mem.write(callee.wrapping_sub(frame_size), frame_size + CALL_SAVE_BYTES)?;
    for i in 0..4 {
        store_le(mem, callee.wrapping_add(8 * i as u64), 8, saved(i))?;
    }
    Ok(callee)
}

/// Leaves a local call whose frame pointer is `fp`: reads the caller's
/// `r6..=r9` back from the save area, handing each to `restore(i, value)`
/// (`i` in `0..4`), and returns the caller's frame pointer.
///
/// # Errors
/// A fault when the save area is no longer readable (a helper unmapped
/// the stack); some registers may then have been restored.
pub(crate) fn pop_frame(
    mem: &MemoryMap<'_>,
    fp: u64,
    frame_size: u64,
    mut restore: impl FnMut(usize, u64),
) -> Result<u64, MemFault> {
    for i in 0..4 {
        restore(i, load_le(mem, fp.wrapping_add(8 * i as u64), 8)?);
    }
    Ok(fp.wrapping_add(CALL_SAVE_BYTES).wrapping_add(frame_size))
}

/// Reads `n` (at most 8) bytes at `addr`, little-endian, zero-extended: the
/// one load path of the reference interpreter (loads, returns, atomics).
///
/// # Errors
/// The fault of [`MemoryMap::read`].
#[inline(never)]
pub(crate) fn load_le(mem: &MemoryMap<'_>, addr: u64, n: u8) -> Result<u64, MemFault> {
    Ok(le_value(mem.read(addr, n as u64)?))
}

/// Writes the low `n` (at most 8) bytes of `v` at `addr`, little-endian:
/// the one store path of the reference interpreter.
///
/// # Errors
/// The fault of [`MemoryMap::write`].
#[inline(never)]
pub(crate) fn store_le(mem: &mut MemoryMap<'_>, addr: u64, n: u8, v: u64) -> Result<(), MemFault> {
    put_le(mem.write(addr, n as u64)?, v);
    Ok(())
}

/// The initial frame pointer: the top of the region mapped at
/// [`STACK_VADDR`] (or its base when no stack is mapped, so that any stack
/// access faults).
pub(crate) fn initial_frame_pointer(mem: &MemoryMap<'_>) -> u64 {
    STACK_VADDR + mem.region_len(STACK_VADDR).unwrap_or(0) as u64
}

/// [`sign_extend`] out of line: the reference interpreter's one copy, for
/// `ldxs*` and `movs*` (flash; the fast engine's ops inline their own).
#[inline(never)]
pub(crate) fn shared_sign_extend(v: u64, sz: u8) -> u64 {
    sign_extend(v, sz)
}

/// Sign-extends the low `size` bytes of `v`.
pub(crate) fn sign_extend(v: u64, sz: u8) -> u64 {
    match sz {
        size::B => v as u8 as i8 as i64 as u64,
        size::H => v as u16 as i16 as i64 as u64,
        size::W => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

/// ALU semantics (RFC 9669 section 4.1) for both widths: `op` is the
/// operation code, `b` the operand (register or sign-extended immediate),
/// `off` selects the signed division/modulo and sign-extending move forms,
/// `wide` is ALU64. A 32-bit operation works on the low halves (the signed
/// forms on their sign extension) and zero-extends its result; `END`
/// works on the whole register (`by_reg`: to big endian). `None` for an
/// operation the verifier rejects.
#[inline]
pub(crate) fn alu(op: u8, off: i16, a: u64, b: u64, imm: i32, wide: bool, by_reg: bool) -> Option<u64> {
    if op == alu::END {
        return if wide || by_reg { byte_swap(a, imm) } else { truncate(a, imm) };
    }
    let mask = if wide { u64::MAX } else { u32::MAX as u64 };
    let (a, b) = (a & mask, b & mask);
    let signed = |v: u64| if wide { v as i64 } else { v as u32 as i32 as i64 };
    let shift = b as u32 & if wide { 63 } else { 31 };
    let r = match op {
        alu::ADD => a.wrapping_add(b),
        alu::SUB => a.wrapping_sub(b),
        alu::MUL => a.wrapping_mul(b),
        alu::DIV | alu::MOD => divide(a, b, wide, off == 1, op == alu::MOD),
        alu::OR => a | b,
        alu::AND => a & b,
        alu::LSH => a << shift,
        alu::RSH => a >> shift,
        alu::NEG => a.wrapping_neg(),
        alu::XOR => a ^ b,
        alu::MOV => match off {
            8 => shared_sign_extend(b, size::B),
            16 => shared_sign_extend(b, size::H),
            32 => shared_sign_extend(b, size::W),
            _ => b,
        },
        alu::ARSH => (signed(a) >> shift) as u64,
        _ => return None,
    };
    Some(r & mask)
}

/// Division (`rem` false) or remainder (RFC 9669 `div`/`mod`, with
/// `signed` `sdiv`/`smod`) of ALU width `wide`, else of the low halves
/// with the result zero-extended. Both widths and signednesses divide by
/// one 64-bit quotient and remainder ([`divmod64`]; flash): 32-bit
/// operands zero-extended, or sign-extended when signed, which wraps
/// `INT_MIN / -1` as the 32-bit division does. A zero divisor gives the
/// quotient 0 and the remainder `a`.
#[inline]
pub(crate) fn divide(a: u64, b: u64, wide: bool, signed: bool, rem: bool) -> u64 {
    let widen = |v: u64| match (wide, signed) {
        (true, _) => v,
        (false, false) => v as u32 as u64,
        (false, true) => v as i32 as u64,
    };
    let (a, b) = (widen(a), widen(b));
    let (q, r) = if b == 0 { (0, a) } else { divmod64(a, b, signed) };
    let v = if rem { r } else { q };
    if wide {
        v
    } else {
        v as u32 as u64
    }
}

/// 64-bit ALU semantics: [`alu`] with `wide`.
#[cfg_attr(not(feature = "fast"), allow(dead_code))] // the fast engine's forms
pub(crate) fn alu64(op: u8, off: i16, a: u64, b: u64, imm: i32) -> Option<u64> {
    alu(op, off, a, b, imm, true, false)
}

/// 32-bit ALU semantics: [`alu`] without `wide`.
#[cfg_attr(not(feature = "fast"), allow(dead_code))] // the fast engine's forms
pub(crate) fn alu32(op: u8, off: i16, a: u64, b: u32, imm: i32, by_reg: bool) -> Option<u64> {
    alu(op, off, a, b as u64, imm, false, by_reg)
}

/// Defines the division and remainder functions of one signedness and
/// width, with RFC 9669's results for a zero divisor written once: the
/// quotient is 0 and the remainder is the dividend. Otherwise the quotient
/// and the remainder are `$q` and `$r` of `a` and `b`.
macro_rules! division {
    ($($(#[$doc:meta])* $div:ident $rem:ident ($t:ty) => |$a:ident, $b:ident| $q:expr, $r:expr;)*) => {$(
        $(#[$doc])*
        #[inline]
        #[cfg_attr(not(feature = "fast"), allow(dead_code))] // the fast engine's division rows
        pub(crate) fn $div($a: $t, $b: $t) -> $t {
            if $b == 0 { 0 } else { $q }
        }

        $(#[$doc])*
        #[inline]
        #[cfg_attr(not(feature = "fast"), allow(dead_code))] // the fast engine's division rows
        pub(crate) fn $rem($a: $t, $b: $t) -> $t {
            if $b == 0 { $a } else { $r }
        }
    )*};
}

division! {
    /// Unsigned 64-bit division and remainder (RFC 9669), through
    /// [`udivmod64`] (no 64-bit division routine on a 32-bit core).
    udiv64 umod64 (u64) => |a, b| udivmod64(a, b).0, udivmod64(a, b).1;
    /// Unsigned 32-bit division and remainder (RFC 9669): the core's divider
    /// on a 32-bit core.
    udiv32 umod32 (u32) => |a, b| a / b, a % b;
}

/// `sdiv` (`how` 0), `smod` (1), `sdiv32` (2) or `smod32` (3) of `a` by
/// `b` (32-bit: their low halves; the result zero-extended): [`divide`],
/// as the reference interpreter's `alu` divides. The fast engine's two
/// signed division rows call this, out of line (flash: signed division is
/// rare).
#[cfg(feature = "fast")]
#[inline(never)]
pub(crate) fn signed_division(how: u8, a: u64, b: u64) -> u64 {
    divide(a, b, how < 2, true, how & 1 != 0)
}

/// Unsigned 64-bit quotient and remainder; `b` must not be zero.
///
/// On 64-bit hosts this is the hardware division. On 32-bit cores (the
/// Cortex-M4) the compiler's 64-bit division routine costs about 1 KiB of
/// flash, so this uses the core's 32-bit divider when both operands fit and
/// a 64-step shift-and-subtract loop otherwise (64-bit division is rare in
/// scripts; flash is not).
#[inline(never)]
pub(crate) fn udivmod64(a: u64, b: u64) -> (u64, u64) {
    if cfg!(target_pointer_width = "64") || (a | b) >> 32 == 0 {
        return match (a.checked_div(b), a.checked_rem(b)) {
            (Some(q), Some(r)) => (q, r),
            _ => (0, a),
        };
    }
    soft_udivmod64(a, b)
}

/// Restoring division, one quotient bit per step; `b` must not be zero.
/// The dividend is shifted out of `q` at the top while the quotient bits
/// are shifted in at the bottom: constant shifts only, which a 32-bit core
/// does in a few instructions.
fn soft_udivmod64(a: u64, b: u64) -> (u64, u64) {
    let (mut q, mut r) = (a, 0u64);
    for _ in 0..64 {
        // `r < b` before the shift, so `2r + bit` may exceed 64 bits only
        // when `carry` is set, and then it certainly exceeds `b`.
        let carry = r >> 63;
        r = (r << 1) | (q >> 63);
        q <<= 1;
        if carry != 0 || r >= b {
            r = r.wrapping_sub(b);
            q |= 1;
        }
    }
    (q, r)
}

/// Quotient and remainder of `a` by `b` (not zero), unsigned or, with
/// `signed`, as two's complement values: the quotient of the magnitudes,
/// negated when the signs differ, and the remainder taking the dividend's
/// sign (so `INT_MIN / -1` wraps to `INT_MIN` and `INT_MIN % -1` is 0).
/// Out of line: [`divide`] calls it for both signednesses and widths
/// (flash).
#[inline(never)]
pub(crate) fn divmod64(a: u64, b: u64, signed: bool) -> (u64, u64) {
    let (neg_a, neg_b) = (signed && (a as i64) < 0, signed && (b as i64) < 0);
    let negate = |v: u64, neg: bool| if neg { v.wrapping_neg() } else { v };
    let (q, r) = udivmod64(negate(a, neg_a), negate(b, neg_b));
    (negate(q, neg_a != neg_b), negate(r, neg_a))
}

/// Converts to big endian (`be16/32/64`, `bswap16/32/64`): the VM is
/// little-endian on every host, so this is an unconditional swap.
fn byte_swap(v: u64, width: i32) -> Option<u64> {
    match width {
        16 => Some(swap16(v)),
        32 => Some(swap32(v)),
        64 => Some(swap64(v)),
        _ => None,
    }
}

/// `be16`/`bswap16`: the low 16 bits swapped, the rest cleared.
#[inline]
pub(crate) fn swap16(v: u64) -> u64 {
    (v as u16).swap_bytes() as u64
}

/// `be32`/`bswap32`: the low 32 bits swapped, the rest cleared.
#[inline]
pub(crate) fn swap32(v: u64) -> u64 {
    (v as u32).swap_bytes() as u64
}

/// `be64`/`bswap64`.
#[inline]
pub(crate) fn swap64(v: u64) -> u64 {
    v.swap_bytes()
}

/// Converts to little endian (`le16/32/64`): truncation only.
fn truncate(v: u64, width: i32) -> Option<u64> {
    match width {
        16 => Some(v as u16 as u64),
        32 => Some(v as u32 as u64),
        64 => Some(v),
        _ => None,
    }
}

/// Conditional jump predicates (RFC 9669 section 4.3); `wide` is JMP
/// (64-bit operands), else JMP32 (the low halves). `None` for a condition
/// the verifier rejects.
#[inline]
pub(crate) fn compare(cond: u8, a: u64, b: u64, wide: bool) -> Option<bool> {
    // JMP32 compares the low halves: moved to the top, they order (signed
    // and unsigned), equal and intersect as the 32-bit values do.
    let (a, b) = if wide { (a, b) } else { (a << 32, b << 32) };
    // A signed order is the unsigned order with the sign bits flipped.
    let signed = matches!(cond, jmp::JSGT | jmp::JSGE | jmp::JSLT | jmp::JSLE);
    let flip = if signed { 1 << 63 } else { 0 };
    let (a, b) = (a ^ flip, b ^ flip);
    // `a < b` is `b > a`.
    let (x, y) = if matches!(cond, jmp::JLT | jmp::JLE | jmp::JSLT | jmp::JSLE) { (b, a) } else { (a, b) };
    Some(match cond {
        jmp::JEQ => a == b,
        jmp::JSET => a & b != 0,
        jmp::JNE => a != b,
        jmp::JGT | jmp::JSGT | jmp::JLT | jmp::JSLT => x > y,
        jmp::JGE | jmp::JSGE | jmp::JLE | jmp::JSLE => x >= y,
        _ => return None,
    })
}

/// [`compare`] on 64-bit operands.
#[cfg_attr(not(feature = "fast"), allow(dead_code))] // the fast engine's forms
pub(crate) fn compare64(cond: u8, a: u64, b: u64) -> Option<bool> {
    compare(cond, a, b, true)
}

/// [`compare`] on 32-bit operands.
#[cfg_attr(not(feature = "fast"), allow(dead_code))] // the fast engine's forms
pub(crate) fn compare32(cond: u8, a: u32, b: u32) -> Option<bool> {
    compare(cond, a as u64, b as u64, false)
}

/// Performs an atomic read-modify-write (RFC 9669 section 5.3) of the
/// word (`sz` W) or double word at `addr`, with `operand` (the `src`
/// register) and, for `cmpxchg`, `r0`; returns the old value, which the
/// caller writes to `r0` (`cmpxchg`) or `src` (fetch forms, see
/// [`atomic_writes`]). The access must be naturally aligned, readable and
/// writable; the checks and their faults are those of
/// [`MemoryMap::read_write`], in its order.
///
/// # Errors
/// The fault, with nothing written.
pub(crate) fn atomic_op(
    code: i32,
    sz: u8,
    addr: u64,
    operand: u64,
    r0: u64,
    mem: &mut MemoryMap<'_>,
) -> Result<u64, MemFault> {
    let wide = sz == size::DW;
    let len: u8 = if wide { 8 } else { 4 };
    if addr % len as u64 != 0 {
        return Err(MemFault { addr, len: len as u64, access: Access::Write, kind: FaultKind::Misaligned });
    }
    let old = load_le(mem, addr, len)?;
    let mask = if wide { u64::MAX } else { u32::MAX as u64 };
    let operand = operand & mask;
    let new = match code & !atomic::FETCH {
        atomic::ADD => old.wrapping_add(operand),
        atomic::OR => old | operand,
        atomic::AND => old & operand,
        atomic::XOR => old ^ operand,
        _ if code == atomic::XCHG => operand,
        _ if code == atomic::CMPXCHG && old == r0 & mask => operand,
        _ => old,
    };
    store_le(mem, addr, len, new)?;
    Ok(old)
}

/// Which register an atomic with operation `code` and source `src` writes
/// the old value to, if any: `r0` for `cmpxchg`, `src` for fetch forms.
pub(crate) fn atomic_writes(code: i32, src: u8) -> Option<u8> {
    if code == atomic::CMPXCHG {
        Some(0)
    } else if code & atomic::FETCH != 0 {
        Some(src)
    } else {
        None
    }
}

#[cfg(test)]
mod division_tests {
    use super::*;

    /// The shift-and-subtract path is what 32-bit targets run; check it on
    /// the host against the hardware for values that force it.
    #[test]
    fn soft_division_matches_hardware() {
        let values = [
            1u64,
            2,
            3,
            7,
            0xffff_ffff,
            0x1_0000_0000,
            0x8000_0000_0000_0000,
            u64::MAX,
            u64::MAX - 1,
            0x1234_5678_9abc_def0,
        ];
        for &a in &values {
            for &b in &values {
                assert_eq!(soft_udivmod64(a, b), (a / b, a % b), "{a:#x} / {b:#x}");
                assert_eq!(udivmod64(a, b), (a / b, a % b));
                let (sa, sb) = (a as i64, b as i64);
                let signed = (sa.wrapping_div(sb) as u64, sa.wrapping_rem(sb) as u64);
                assert_eq!(divmod64(a, b, true), signed, "{sa} / {sb}");
                assert_eq!(divmod64(a, b, false), (a / b, a % b));
            }
        }
    }

    /// A fixed pseudo-random sweep (xorshift) over all magnitudes.
    fn sweep() -> impl Iterator<Item = (u64, u64)> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..20_000).map(move |_| {
            let (a, b) = (next(), next());
            // Random widths, so small and equal-magnitude operands occur.
            (a >> (a % 64), b >> (b % 64))
        })
    }

    #[test]
    fn soft_division_matches_hardware_on_a_sweep() {
        for (a, b) in sweep().filter(|&(_, b)| b != 0) {
            assert_eq!(soft_udivmod64(a, b), (a / b, a % b), "{a:#x} / {b:#x}");
        }
    }

    /// `alu`'s division (both widths and signednesses through one 64-bit
    /// quotient and remainder, 32-bit operands widened) against the plain
    /// definition of each width and signedness (RFC 9669: a zero divisor
    /// gives the quotient 0 and the remainder the dividend; `INT_MIN / -1`
    /// wraps), edges and a sweep.
    #[test]
    fn alu_division_matches_each_width() {
        fn model(rem: bool, signed: bool, wide: bool, a: u64, b: u64) -> u64 {
            match (signed, wide) {
                _ if (wide && b == 0) || (!wide && b as u32 == 0) => {
                    if !rem {
                        0
                    } else if wide {
                        a
                    } else {
                        a as u32 as u64
                    }
                }
                (false, true) if rem => a % b,
                (false, true) => a / b,
                (false, false) if rem => (a as u32 % b as u32) as u64,
                (false, false) => (a as u32 / b as u32) as u64,
                (true, true) if rem => (a as i64).wrapping_rem(b as i64) as u64,
                (true, true) => (a as i64).wrapping_div(b as i64) as u64,
                (true, false) if rem => (a as i32).wrapping_rem(b as i32) as u32 as u64,
                (true, false) => (a as i32).wrapping_div(b as i32) as u32 as u64,
            }
        }
        let edges = [0u64, 1, 2, 3, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32, i64::MAX as u64, 1 << 63, u64::MAX];
        let pairs = edges.iter().flat_map(|&a| edges.iter().map(move |&b| (a, b))).chain(sweep());
        for (a, b) in pairs.chain([(7u64.wrapping_neg(), 2), (7, 2u64.wrapping_neg())]) {
            for (op, rem) in [(alu::DIV, false), (alu::MOD, true)] {
                for (off, signed) in [(0, false), (1, true)] {
                    for wide in [true, false] {
                        let expected = model(rem, signed, wide, a, b);
                        assert_eq!(
                            alu(op, off, a, b, 0, wide, false),
                            Some(expected),
                            "{op:#x} {off} {wide} {a:#x} {b:#x}"
                        );
                    }
                }
            }
        }
    }

    /// `compare` (sign flips, operands moved to the top for JMP32, `<` as
    /// a swapped `>`) against the plain definition of every condition.
    #[test]
    fn compare_matches_its_definition() {
        fn model(cond: u8, a: u64, b: u64, wide: bool) -> Option<bool> {
            let (ua, ub, sa, sb) = if wide {
                (a, b, a as i64, b as i64)
            } else {
                (a as u32 as u64, b as u32 as u64, a as i32 as i64, b as i32 as i64)
            };
            Some(match cond {
                jmp::JEQ => ua == ub,
                jmp::JNE => ua != ub,
                jmp::JSET => ua & ub != 0,
                jmp::JGT => ua > ub,
                jmp::JGE => ua >= ub,
                jmp::JLT => ua < ub,
                jmp::JLE => ua <= ub,
                jmp::JSGT => sa > sb,
                jmp::JSGE => sa >= sb,
                jmp::JSLT => sa < sb,
                jmp::JSLE => sa <= sb,
                _ => return None,
            })
        }
        let conds = [
            jmp::JEQ,
            jmp::JNE,
            jmp::JSET,
            jmp::JGT,
            jmp::JGE,
            jmp::JLT,
            jmp::JLE,
            jmp::JSGT,
            jmp::JSGE,
            jmp::JSLT,
            jmp::JSLE,
        ];
        let edges = [0u64, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32, i64::MAX as u64, 1 << 63, u64::MAX];
        let pairs = edges.iter().flat_map(|&a| edges.iter().map(move |&b| (a, b))).chain(sweep());
        for (a, b) in pairs.chain([(5, 5), (u64::MAX, u64::MAX)]) {
            for &cond in &conds {
                for wide in [true, false] {
                    assert_eq!(compare(cond, a, b, wide), model(cond, a, b, wide), "{cond:#x} {a:#x} {b:#x} {wide}");
                }
            }
        }
        assert_eq!(compare(jmp::JA, 1, 2, true), None);
    }
}
