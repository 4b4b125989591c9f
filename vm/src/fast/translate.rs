//! Load-time translation of a verified [`Program`] into [`Op`]s.
//!
//! One backward pass over the slots: each slot is decoded once, given its
//! specialised form (operand kind and width decided here, not per run) and
//! fused with the next slots when they form a known pattern; the pass also
//! finds the longest straight-line run (see [`super::run_fast`], *Budget*).
//! No scratch memory beyond the caller's `ops` slice is needed, and the
//! pass is linear in the program's length.

use super::op::{Kind, Op, Reg};
use super::program::FastProgram;
use crate::abi::{DATA_VADDR, RODATA_VADDR};
use crate::describe::{Describe, Sink};
use crate::isa::{alu, class, jmp, mode, op, size, source, Insn};
use crate::verify::Program;

/// Why a program could not be translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TranslateError {
    /// The caller's storage holds fewer ops than the program has slots.
    StorageTooSmall { needed: usize, given: usize },
    /// The op at `pc` could continue outside the program. Not reachable
    /// for a [`Program`] that passed verification (it is the invariant the
    /// interpreter's op fetch relies on, checked here once per load).
    Unverified { pc: usize },
}

impl Describe for TranslateError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            TranslateError::StorageTooSmall { needed, given } => {
                ("translation needs storage for ", needed, " ops, ", given, " given").describe(out)
            }
            TranslateError::Unverified { pc } => ("op ", pc, " could continue outside the program").describe(out),
        }
    }
}

crate::error_by_describe!(TranslateError);

/// Ops of storage [`translate`] needs for `program`: one per slot.
pub const fn storage_len(program: &Program<'_>) -> usize {
    program.slots()
}

/// Translates `program` into `storage` (at least [`storage_len`] ops).
///
/// # Errors
/// [`TranslateError::StorageTooSmall`]; a verified program is otherwise
/// always translatable ([`TranslateError::Unverified`] is the check of an
/// invariant verification guarantees).
///
/// # Panics
/// Never.
pub fn translate<'p, 'o>(program: &Program<'p>, storage: &'o mut [Op]) -> Result<FastProgram<'p, 'o>, TranslateError> {
    let slots = program.slots();
    let given = storage.len();
    let Some(ops) = storage.get_mut(..slots) else {
        return Err(TranslateError::StorageTooSmall { needed: slots, given });
    };
    let (local_calls, max_run) = each_slot(program, |pc, kind| {
        if let Some(op) = ops.get_mut(pc) {
            op.kind = kind;
        }
        Ok(())
    })?;
    if let Some(pc) = first_escape(ops, program.code()) {
        return Err(TranslateError::Unverified { pc });
    }
    Ok(FastProgram { program: *program, ops, local_calls, max_run })
}

/// The translation pass: hands the op of every slot to `slot`, last slot
/// first, and returns whether the program makes local calls and the
/// length of its longest straight-line run.
fn each_slot(
    program: &Program<'_>,
    mut slot: impl FnMut(usize, Kind) -> Result<(), TranslateError>,
) -> Result<(bool, u32), TranslateError> {
    let code = program.code();
    let mut local_calls = false;
    // Cost of the straight-line run starting at the slot after `pc` (for
    // the second slot of an `lddw`: at the slot after it), and the largest.
    let (mut next_cost, mut max_run) = (0u32, 0u32);
    // Slots of the op that starts at the slot after `pc`: round 6's pairs
    // leave the start of a wider op alone (a copy before a rotate or a
    // three-address op would cost that op its fusion for none).
    let mut next_width = 1;
    for pc in (0..program.slots()).rev() {
        let Some(insn) = Insn::at(code, pc) else { continue };
        if let Some(prev) = pc.checked_sub(1).and_then(|p| Insn::at(code, p)).filter(|p| op::is_wide(p.opc)) {
            // The high half of the value as loaded (segment base included).
            slot(pc, Kind::Wide { hi: (lddw_value(&prev, code, pc - 1) >> 32) as i32 })?;
            continue;
        }
        let next = Insn::at(code, pc + 1);
        let kind = stack_memory(code, pc)
            .filter(fusion_on)
            .or_else(|| alu_idiom(code, pc).filter(fusion_on))
            .or_else(|| fuse5(code, pc).filter(fusion_on))
            .or_else(|| fuse4(code, pc).filter(fusion_on))
            .or_else(|| fuse3(&insn, next.as_ref(), Insn::at(code, pc + 2).as_ref(), pc).filter(fusion_on))
            .or_else(|| fuse(&insn, next.as_ref(), pc).filter(fusion_on))
            .or_else(|| memory_and_branch(&insn, next.as_ref().filter(|_| next_width == 1), pc).filter(fusion_on))
            .or_else(|| branch_pair(&insn, next.as_ref(), pc).filter(fusion_on))
            .or_else(|| lddw_add(&insn, code, pc).filter(fusion_on))
            .unwrap_or_else(|| single(&insn, code, pc));
        let kind = specialise(kind).filter(fusion_on).unwrap_or(kind);
        next_width = kind.width();
        local_calls |= is_local_call(&insn);
        // The run from here ends at a control transfer, else continues
        // with the instruction after this one.
        next_cost = if ends_run(&insn) { 1 } else { next_cost.saturating_add(1) };
        max_run = max_run.max(next_cost);
        slot(pc, kind)?;
    }
    Ok((local_calls, max_run))
}

/// Whether translation may use the fused `kind`: all are, unless the
/// crate was built with `ALKYL_FAST_FUSIONS_OFF` set to a comma-separated
/// list of kind names (`LdxHSum2,LdxBSum2`), which the benchmarks use to
/// report the suite without the fusions that fire on only one kernel.
/// Unset (the normal build), this is `true` and compiles away.
fn fusion_on(kind: &Kind) -> bool {
    match option_env!("ALKYL_FAST_FUSIONS_OFF") {
        Some(off) => !off.split(',').any(|n| n.trim() == kind.name()),
        None => true,
    }
}

/// The first op whose successors are not all inside `ops`, if any.
///
/// # Invariants
/// When this finds none, an interpreter that starts at a slot inside
/// `ops` and only ever moves to a successor of the op it executed (see
/// [`Kind::successors`]: the fallthrough `pc + width`, a jump or call
/// target, or, on `exit`, the fallthrough of the call it returns from)
/// never holds a slot outside `ops`: what `run_fast`'s op fetch relies on.
/// For a verified program it holds because the last slot is an `exit` or
/// an unconditional jump (nothing falls off the end, and fused ops cover
/// only slots before their last instruction's successor) and every jump
/// and call target is inside the program.
pub(crate) fn first_escape(ops: &[Op], code: &[u8]) -> Option<usize> {
    let inside = |s: Option<usize>| s.map_or(true, |s| s < ops.len());
    ops.iter().enumerate().position(|(pc, op)| {
        let (next, target) = op.kind.successors(code, pc);
        !(inside(next) && inside(target) && inside(op.kind.second_target(pc)))
    })
}

/// Instructions in the straight-line run that starts at `pc`: up to and
/// including the next control transfer (an `lddw` counts once). The
/// engine's exact budget check near the end of the budget.
pub(crate) fn run_cost(code: &[u8], mut pc: usize) -> u32 {
    let mut cost = 0u32;
    while let Some(insn) = Insn::at(code, pc) {
        cost += 1;
        if ends_run(&insn) {
            break;
        }
        pc += if op::is_wide(insn.opc) { 2 } else { 1 };
    }
    cost
}

/// Control transfers end a straight-line run: the budget is charged again
/// wherever control lands after them. Helper calls return to the next slot
/// and do not.
fn ends_run(insn: &Insn) -> bool {
    let c = insn.class();
    let helper_call = insn.opc & jmp::MASK == jmp::CALL && !is_local_call(insn);
    (c == class::JMP || c == class::JMP32) && !helper_call
}

fn is_local_call(insn: &Insn) -> bool {
    insn.opc == op::CALL && insn.src == crate::isa::call::LOCAL
}

/// The value an `lddw` (plain or segment-relative) at `pc` loads.
fn lddw_value(i: &Insn, code: &[u8], pc: usize) -> u64 {
    let hi = Insn::at(code, pc + 1).map_or(0, |h| h.imm);
    let raw = (i.imm as u32 as u64) | ((hi as u32 as u64) << 32);
    match i.opc {
        op::LDDW_DATA => DATA_VADDR.wrapping_add(raw),
        op::LDDW_RODATA => RODATA_VADDR.wrapping_add(raw),
        _ => raw,
    }
}

/// The absolute target of a local call with relative offset `rel` at `pc`,
/// as a `u16` (the verifier keeps programs within 2^16 slots and targets
/// inside). Jumps keep theirs relative: [`rel_target`].
fn target(pc: usize, rel: i64) -> u16 {
    (pc as i64 + 1 + rel) as u16
}

/// The target of the jump at slot `pc` with offset `rel`, relative to the
/// op at slot `op` that holds it (see `super::table`: jumps are relative),
/// if it is within an `i16` of it; `None` leaves the jump generic.
fn rel_target(op: usize, pc: usize, rel: i64) -> Option<i16> {
    i16::try_from(pc as i64 + 1 + rel - op as i64).ok()
}

fn reg_pair(i: &Insn) -> (Reg, Reg) {
    (Reg::new(i.dst), Reg::new(i.src))
}

// The opcodes of the fused patterns below.
const LDXB: u8 = class::LDX | mode::MEM | size::B;
const LDXH: u8 = class::LDX | mode::MEM | size::H;
const MOV64X: u8 = class::ALU64 | alu::MOV | source::X;
const MOV32X: u8 = class::ALU | alu::MOV | source::X;
const ADD64X: u8 = class::ALU64 | alu::ADD | source::X;
const ADD32X: u8 = class::ALU | alu::ADD | source::X;
const ADD64K: u8 = class::ALU64 | alu::ADD | source::K;
const ADD32K: u8 = class::ALU | alu::ADD | source::K;
const JNE32K: u8 = class::JMP32 | jmp::JNE | source::K;
const JLT64X: u8 = class::JMP | jmp::JLT | source::X;
const JGT64X: u8 = class::JMP | jmp::JGT | source::X;
const LDXW: u8 = class::LDX | mode::MEM | size::W;
const LDXDW: u8 = class::LDX | mode::MEM | size::DW;
const LSH64K: u8 = class::ALU64 | alu::LSH | source::K;
const RSH64K: u8 = class::ALU64 | alu::RSH | source::K;
const LSH32K: u8 = class::ALU | alu::LSH | source::K;
const RSH32K: u8 = class::ALU | alu::RSH | source::K;
const OR32X: u8 = class::ALU | alu::OR | source::X;
const ARSH32K: u8 = class::ALU | alu::ARSH | source::K;
const STXB: u8 = class::STX | mode::MEM | size::B;
const STXH: u8 = class::STX | mode::MEM | size::H;
const STXW: u8 = class::STX | mode::MEM | size::W;
const XOR64X: u8 = class::ALU64 | alu::XOR | source::X;
const XOR32X: u8 = class::ALU | alu::XOR | source::X;
const MUL64X: u8 = class::ALU64 | alu::MUL | source::X;
const MUL64K: u8 = class::ALU64 | alu::MUL | source::K;
const MUL32K: u8 = class::ALU | alu::MUL | source::K;
const MUL32X: u8 = class::ALU | alu::MUL | source::X;
const AND32K: u8 = class::ALU | alu::AND | source::K;
const NEG32: u8 = class::ALU | alu::NEG;
const MOV64K: u8 = class::ALU64 | alu::MOV | source::K;
const MOV32K: u8 = class::ALU | alu::MOV | source::K;
const JEQ32K: u8 = class::JMP32 | jmp::JEQ | source::K;
const JLT32K: u8 = class::JMP32 | jmp::JLT | source::K;

/// The operands `(x, y)` of a 64-bit register `jlt`/`jgt` as the jump
/// condition `x < y` (`jgt d, s` is `s < d`).
fn jlt_operands(i: &Insn) -> (Reg, Reg) {
    let (d, s) = reg_pair(i);
    if i.opc == JGT64X {
        (s, d)
    } else {
        (d, s)
    }
}

/// Five-slot patterns (the interpreter knows each one's width): the
/// two-sum checksum step and the 32-bit rotate.
fn fuse5(code: &[u8], pc: usize) -> Option<Kind> {
    let a = Insn::at(code, pc)?;
    if !matches!(a.opc, LDXB | LDXH | MOV32X) {
        return None;
    }
    let [b, c, m, e] = core::array::from_fn(|i| Insn::at(code, pc + 1 + i));
    let (b, c, m, e) = (b?, c?, m?, e?);
    if a.opc == MOV32X {
        return rotate32(&a, &b, &c, &m, &e);
    }
    if (b.opc, c.opc, m.opc, e.opc) != (ADD32X, ADD64K, MOV32X, ADD32X) {
        return None;
    }
    let (d, s) = reg_pair(&a);
    let (acc, x) = (Reg::new(b.dst), Reg::new(e.src));
    let shape = b.src == a.dst && c.dst == a.src && (m.dst, m.src, m.off) == (a.dst, b.dst, 0) && e.dst == a.dst;
    let distinct = d != s && d != acc && d != x && s != acc && s != x && acc != x;
    let inc = i8::try_from(c.imm).ok()?;
    if !shape || !distinct || d == Reg::R10 || s == Reg::R10 || acc == Reg::R10 {
        return None;
    }
    let off = a.off;
    Some(if a.opc == LDXB {
        Kind::LdxBSum2 { d, s, off, acc, inc, x }
    } else {
        Kind::LdxHSum2 { d, s, off, acc, inc, x }
    })
}

/// `mov32 t, s; rsh32 t, n; mov32 d, s; lsh32 d, 32 - n; or32 d, t` as
/// [`Kind::Ror32`]: `t` is not `s` (the second copy reads `s` unshifted)
/// and not `d` (it must survive the second copy).
fn rotate32(a: &Insn, b: &Insn, c: &Insn, m: &Insn, e: &Insn) -> Option<Kind> {
    let (t, s) = reg_pair(a);
    let d = Reg::new(c.dst);
    let shape = (b.opc, c.opc, m.opc, e.opc) == (RSH32K, MOV32X, LSH32K, OR32X)
        && [a.off, b.off, c.off, m.off, e.off] == [0; 5]
        && b.dst == a.dst
        && c.src == a.src
        && m.dst == c.dst
        && (e.dst, e.src) == (c.dst, a.dst)
        && (1..32).contains(&b.imm)
        && m.imm == 32 - b.imm;
    (shape && t != s && t != d).then_some(Kind::Ror32 { d, t, s, n: b.imm as u8 })
}

/// Four-slot patterns (the interpreter knows each one's width).
fn fuse4(code: &[u8], pc: usize) -> Option<Kind> {
    // Both shapes start with a 64-bit `mov`: decode the rest only then.
    let a = Insn::at(code, pc).filter(|a| a.opc == MOV64X)?;
    let [b, c, m] = core::array::from_fn(|i| Insn::at(code, pc + 1 + i));
    let (b, c, m) = (b?, c?, m?);
    let (d, s) = reg_pair(&a);
    let plain = a.off == 0 && b.off == 0 && c.off == 0 && b.dst == a.dst && c.dst == a.dst;
    match (a.opc, b.opc, c.opc) {
        // `mov d, r10; add d, k; add d, i` and a load from or a store to
        // `[d + off]`: `i` is not `d` (it is read after the mov).
        (MOV64X, ADD64K, ADD64X) if plain && s == Reg::R10 && c.src != a.dst => {
            let (k, i, off) = (i16::try_from(b.imm).ok()?, Reg::new(c.src), m.off);
            let (load, store) = (Reg::new(m.src) == d, Reg::new(m.dst) == d);
            Some(match m.opc {
                LDXB if load => Kind::StkLdxB { d, k, i, x: Reg::new(m.dst), off },
                LDXH if load => Kind::StkLdxH { d, k, i, x: Reg::new(m.dst), off },
                LDXW if load => Kind::StkLdxW { d, k, i, x: Reg::new(m.dst), off },
                STXB if store => Kind::StkStxB { d, k, i, x: Reg::new(m.src), off },
                STXH if store => Kind::StkStxH { d, k, i, x: Reg::new(m.src), off },
                STXW if store => Kind::StkStxW { d, k, i, x: Reg::new(m.src), off },
                _ => return None,
            })
        }
        // `mov d, s; lsh d, 32; rsh d, 32; lsh d, imm`: a 32-bit index
        // zero-extended and scaled.
        (MOV64X, LSH64K, RSH64K)
            if plain && b.imm == 32 && c.imm == 32 && m.opc == LSH64K && m.off == 0 && m.dst == a.dst =>
        {
            Some(Kind::MovZextLsh { d, s, imm: m.imm })
        }
        _ => None,
    }
}

/// Three-slot patterns (the interpreter knows each one's width).
fn fuse3(a: &Insn, b: Option<&Insn>, c: Option<&Insn>, pc: usize) -> Option<Kind> {
    let (b, c) = (b?, c?);
    let (d, s) = reg_pair(a);
    let (bd, bs) = reg_pair(b);
    let (cd, _) = reg_pair(c);
    Some(match (a.opc, b.opc, c.opc) {
        // `mov d, a; add d, b; ldx x, [d + off]`, b not d (read after the mov).
        (MOV64X, ADD64X, LDXB | LDXH | LDXW | LDXDW)
            if a.off == 0 && b.off == 0 && bd == d && bs != d && Reg::new(c.src) == d =>
        {
            let (a, b, x, off) = (s, bs, cd, c.off);
            match c.opc {
                LDXB => Kind::MovAddLdxB { d, a, b, x, off },
                LDXH => Kind::MovAddLdxH { d, a, b, x, off },
                LDXW => Kind::MovAddLdxW { d, a, b, x, off },
                _ => Kind::MovAddLdxDw { d, a, b, x, off },
            }
        }
        // `mov d, s; lsh d, 32; rsh d, 32`: zero-extension into a copy.
        (MOV64X, LSH64K, RSH64K)
            if a.off == 0 && b.off == 0 && c.off == 0 && bd == d && cd == d && b.imm == 32 && c.imm == 32 =>
        {
            Kind::MovZext64 { d, s }
        }
        // `ldxh d, [s + off]; lsh32 d, 16; arsh32 d, 16`: a signed load.
        (LDXH, LSH32K, ARSH32K) if b.off == 0 && c.off == 0 && bd == d && cd == d && b.imm == 16 && c.imm == 16 => {
            Kind::LdxHSext32 { d, s, off: a.off }
        }
        // `lsh d, 32; rsh d, 32; lsh d, imm`: zero-extension and scaling.
        (LSH64K, RSH64K, LSH64K)
            if a.off == 0 && b.off == 0 && c.off == 0 && bd == d && cd == d && a.imm == 32 && b.imm == 32 =>
        {
            Kind::ZextLsh { d, imm: c.imm }
        }
        // `mov d, a; add d, imm; add d, x`, x not d (read after the first add).
        (MOV64X, ADD64K, ADD64X)
            if a.off == 0 && b.off == 0 && c.off == 0 && bd == d && cd == d && Reg::new(c.src) != d =>
        {
            Kind::Add64Rrir { d, a: s, imm: i16::try_from(b.imm).ok()?, b: Reg::new(c.src) }
        }
        // The pointer must survive the load and the add to be advanced.
        (LDXB | LDXH, ADD32X, ADD64K) if bs == d && cd == s && s != d && s != bd => {
            let inc = i8::try_from(c.imm).ok()?;
            let (off, acc) = (a.off, bd);
            if a.opc == LDXB {
                Kind::LdxBAdd32Inc { d, s, off, acc, inc }
            } else {
                Kind::LdxHAdd32Inc { d, s, off, acc, inc }
            }
        }
        // `add d, imm; mov32 x, y; if d < b` (or `if b > d`), in order.
        (ADD64K, MOV32X, JLT64X | JGT64X) if a.off == 0 && b.off == 0 && jlt_operands(c).0 == d => {
            let imm = i8::try_from(a.imm).ok()?;
            Kind::AddMovJlt64R { d, imm, x: bd, y: bs, b: jlt_operands(c).1, t: rel_target(pc, pc + 2, c.off as i64)? }
        }
        // The copy must not touch the counter the branch tests (the
        // interpreter reads both operands before it writes).
        (ADD32K, MOV32X, JNE32K) if b.off == 0 && bd != d && bs != d && bd != bs && cd == d && c.imm == 0 => {
            let imm = i16::try_from(a.imm).ok()?;
            Kind::Add32IMovJne0 { d, imm, x: bd, y: bs, t: rel_target(pc, pc + 2, c.off as i64)? }
        }
        _ => return None,
    })
}

/// Two-slot patterns (the interpreter knows each one's width).
fn fuse(a: &Insn, b: Option<&Insn>, pc: usize) -> Option<Kind> {
    let b = b?;
    if let Some(kind) = three_address(a, b) {
        return Some(kind);
    }
    let (d, s) = reg_pair(a);
    let (bd, bs) = reg_pair(b);
    let kind = match (a.opc, b.opc) {
        (LSH64K, RSH64K) if a.off == 0 && b.off == 0 && bd == d && a.imm == 32 && b.imm == 32 => Kind::Zext64 { d },
        (ADD64X, LDXB | LDXH | LDXW | LDXDW) if a.off == 0 && bs == d => {
            let (x, off) = (bd, b.off);
            match b.opc {
                LDXB => Kind::AddLdxB { d, s, x, off },
                LDXH => Kind::AddLdxH { d, s, x, off },
                LDXW => Kind::AddLdxW { d, s, x, off },
                _ => Kind::AddLdxDw { d, s, x, off },
            }
        }
        (LDXB, ADD32X) if bs == d => Kind::LdxBAdd32 { d, s, off: a.off, acc: bd },
        (LDXH, ADD32X) if bs == d => Kind::LdxHAdd32 { d, s, off: a.off, acc: bd },
        (LDXW, ADD32X) if bs == d && s == Reg::R10 => Kind::LdxWFpAdd32 { d, off: a.off, acc: bd },
        (LDXW, ADD32X) if bs == d => Kind::LdxWAdd32 { d, s, off: a.off, acc: bd },
        (ADD32K, JNE32K) if bd == d && b.imm == 0 => {
            Kind::Add32IJne0 { d, imm: a.imm, t: rel_target(pc, pc + 1, b.off as i64)? }
        }
        (ADD64K, JLT64X | JGT64X) if a.off == 0 => {
            let (lo, hi) = jlt_operands(b);
            let imm = i16::try_from(a.imm).ok()?;
            Kind::AddJlt64R { d, imm, a: lo, b: hi, t: rel_target(pc, pc + 1, b.off as i64)? }
        }
        (MOV32X, JLT64X | JGT64X) if a.off == 0 => {
            let (lo, hi) = jlt_operands(b);
            Kind::Mov32RJlt64R { d, s, a: lo, b: hi, t: rel_target(pc, pc + 1, b.off as i64)? }
        }
        (MOV32X, JNE32K) if a.off == 0 => {
            let imm = i16::try_from(b.imm).ok()?;
            Kind::Mov32RJne32I { d, s, a: bd, imm, t: rel_target(pc, pc + 1, b.off as i64)? }
        }
        _ => return None,
    };
    Some(kind)
}

/// The member of a `shift_op` family (`super::table`) for a `left` or
/// right shift of a 64-bit (`wide`) or 32-bit register, with the fields
/// `{ .. }`.
macro_rules! by_shift {
    ($left:expr, $wide:expr, $l64:ident $r64:ident $l32:ident $r32:ident { $($f:tt)* }) => {
        match ($left, $wide) {
            (true, true) => Kind::$l64 { $($f)* },
            (false, true) => Kind::$r64 { $($f)* },
            (true, false) => Kind::$l32 { $($f)* },
            (false, false) => Kind::$r32 { $($f)* },
        }
    };
}

/// Round 6's ALU idioms (`super::table`, "Round 6"): clang's chains of
/// two-address ALU ops on one register, longest first. None of them starts
/// like another fusion (a shift, `xor`, `mul` or `and`, or a copy followed
/// by a shift and an `xor`/`and`; the rotate's own shape is `Ror32`'s and
/// extends it), so they are tried before the others.
fn alu_idiom(code: &[u8], pc: usize) -> Option<Kind> {
    let a = Insn::at(code, pc).filter(|a| a.off == 0)?;
    // What starts an idiom (the rest of the slots are decoded only then; `off`
    // 0: not `movsx` nor a signed division).
    let starts = matches!(
        a.opc,
        LSH64K | RSH64K | LSH32K | RSH32K | XOR64X | XOR32X | MUL64K | MUL32K | MUL64X | MUL32X | AND32K
    );
    if !starts && a.opc != MOV64X && a.opc != MOV32X {
        return None;
    }
    // Every idiom's second op (the rotate's too) works on the first's
    // destination, and so do the later ones but the rotate's.
    let same = |i: &Insn| i.off == 0 && i.dst == a.dst && matches!(i.class(), class::ALU | class::ALU64);
    let b = Insn::at(code, pc + 1).filter(same)?;
    let (d, s) = reg_pair(&a);
    if !starts || a.opc == AND32K {
        if let Some(kind) = rotate_xor(code, pc) {
            return Some(kind);
        }
        let c = Insn::at(code, pc + 2).filter(same)?;
        // `and32 d, 1; neg32 d; and32 d, imm` (and `xor32 d, x`).
        if a.opc == AND32K {
            if (a.imm, b.opc, c.opc) != (1, NEG32, AND32K) {
                return None;
            }
            let e =
                Insn::at(code, pc + 3).filter(|e| e.opc == XOR32X && e.off == 0 && e.dst == a.dst && e.src != a.dst);
            return Some(match e {
                Some(e) => Kind::BitMaskXor32 { d, imm: c.imm, x: Reg::new(e.src) },
                None => Kind::BitMask32 { d, imm: c.imm },
            });
        }
        // `mov d, a; sh d, k; OP d, b`: a 64-bit copy, or a 32-bit one before
        // 32-bit ops.
        let wide = b.class() == class::ALU64;
        let copy = a.opc == MOV64X || !wide;
        return (copy && c.class() == b.class()).then(|| copy_shift_op(d, s, &b, &c, wide)).flatten();
    }
    let wide = a.class() == class::ALU64;
    let by_reg = b.opc & source::MASK == source::X;
    let (bs, imm) = (Reg::new(b.src), b.imm);
    match (a.opc & alu::MASK, b.opc & alu::MASK) {
        // `sh d, k; OP d, b` / `and d, imm`.
        (alu::LSH | alu::RSH, _) if a.opc & source::MASK == source::K && b.class() == a.class() => {
            let k = shift_count(a.imm, wide)?;
            let left = a.opc & alu::MASK == alu::LSH;
            Some(match (b.opc & alu::MASK, by_reg) {
                (alu::AND, false) => by_shift!(left, wide, LshAnd64I RshAnd64I LshAnd32I RshAnd32I { d, k, imm }),
                // `b` is read after the shift: not `d`.
                (_, true) if bs == d => return None,
                (alu::OR, true) => by_shift!(left, wide, LshOr64 RshOr64 LshOr32 RshOr32 { d, k, b: bs }),
                (alu::XOR, true) => by_shift!(left, wide, LshXor64 RshXor64 LshXor32 RshXor32 { d, k, b: bs }),
                (alu::ADD, true) => by_shift!(left, wide, LshAdd64 RshAdd64 LshAdd32 RshAdd32 { d, k, b: bs }),
                (alu::AND, true) => by_shift!(left, wide, LshAnd64 RshAnd64 LshAnd32 RshAnd32 { d, k, b: bs }),
                _ => return None,
            })
        }
        // `xor d, s; mul d, m` (`m` read after the xor: not `d`).
        (alu::XOR, alu::MUL) if a.opc == XOR64X && b.opc == MUL64X && bs != d => Some(Kind::XorMul64R { d, s, m: bs }),
        (alu::XOR, alu::MUL) if a.opc == XOR32X && b.opc == MUL32K => Some(Kind::XorMul32I { d, s, imm }),
        // `mul d, imm; add d, s` and `mul d, m; add d, s` (`s` read after the
        // mul: not `d`).
        (alu::MUL, alu::ADD) if !by_reg || bs == d => None,
        (alu::MUL, alu::ADD) => match (a.opc, b.opc) {
            (MUL64K, ADD64X) => Some(Kind::MulAdd64I { d, imm: a.imm, s: bs }),
            (MUL32K, ADD32X) => Some(Kind::MulAdd32I { d, imm: a.imm, s: bs }),
            (MUL64X, ADD64X) => Some(Kind::MulAdd64R { d, m: s, s: bs }),
            (MUL32X, ADD32X) => Some(Kind::MulAdd32R { d, m: s, s: bs }),
            _ => None,
        },
        _ => None,
    }
}

/// The rotate at `pc` ([`rotate32`]) and the `xor32 x, d` or `xor32 d, x`
/// that follows it.
fn rotate_xor(code: &[u8], pc: usize) -> Option<Kind> {
    let [a, b, c, m, e, g] = core::array::from_fn(|i| Insn::at(code, pc + i));
    if a?.opc != MOV32X {
        return None;
    }
    let Kind::Ror32 { d, t, s, n } = rotate32(&a?, &b?, &c?, &m?, &e?)? else { return None };
    let g = g.filter(|g| g.opc == XOR32X && g.off == 0)?;
    let (gd, gs) = reg_pair(&g);
    match (gd, gs) {
        (x, src) if src == d && x != d && x != t => Some(Kind::RorXor32 { d, t, s, n, x }),
        (dst, x) if dst == d && x != d && x != t => Some(Kind::RorXorD32 { d, t, s, n, x }),
        _ => None,
    }
}

/// `mov d, a; sh d, k; xor d, b` (`b` not `d`) and `mov d, a; rsh d, k;
/// and d, imm` as one op, or `None`.
fn copy_shift_op(d: Reg, a: Reg, sh: &Insn, o: &Insn, wide: bool) -> Option<Kind> {
    if !matches!(sh.opc, LSH64K | RSH64K | LSH32K | RSH32K) {
        return None;
    }
    let k = shift_count(sh.imm, wide)?;
    let left = sh.opc & alu::MASK == alu::LSH;
    let b = Reg::new(o.src);
    match (o.opc & alu::MASK, o.opc & source::MASK == source::X) {
        (alu::XOR, true) if b != d => {
            Some(by_shift!(left, wide, MovLshXor64 MovRshXor64 MovLshXor32 MovRshXor32 { d, a, k, b }))
        }
        (alu::AND, false) if !left && wide => Some(Kind::MovRshAnd64I { d, a, k, imm: o.imm }),
        (alu::AND, false) if !left => Some(Kind::MovRshAnd32I { d, a, k, imm: o.imm }),
        _ => None,
    }
}

/// A shift's constant count as the op's `k`: below the width (the verifier
/// refuses others; they are not fused).
fn shift_count(imm: i32, wide: bool) -> Option<u8> {
    let width = if wide { 64 } else { 32 };
    u8::try_from(imm).ok().filter(|&k| u32::from(k) < width)
}

/// The member of a family of kinds (both widths, both operand forms) for a
/// 64-bit (`wide`) or 32-bit operation on an immediate or a register
/// (`by_reg`).
macro_rules! member {
    ($wide:expr, $by_reg:expr, $i64:ident $f1:tt, $r64:ident $f2:tt, $i32:ident $f3:tt, $r32:ident $f4:tt) => {
        match ($wide, $by_reg) {
            (true, false) => Kind::$i64 $f1,
            (true, true) => Kind::$r64 $f2,
            (false, false) => Kind::$i32 $f3,
            (false, true) => Kind::$r32 $f4,
        }
    };
}

/// Calls `$pick!` with the kinds of ALU operation `$op` as its `alu` row
/// in `super::table` names them (two-address kinds, `/`, three-address
/// kinds); `$other` for the operations without three-address kinds.
macro_rules! by_alu_op {
    ($op:expr, $pick:ident, $other:expr) => {
        match $op {
            alu::ADD => $pick!(Add64I Add64R Add32I Add32R / Add64Rrr Add64Rri Add32Rrr Add32Rri),
            alu::SUB => $pick!(Sub64I Sub64R Sub32I Sub32R / Sub64Rrr Sub64Rri Sub32Rrr Sub32Rri),
            alu::MUL => $pick!(Mul64I Mul64R Mul32I Mul32R / Mul64Rrr Mul64Rri Mul32Rrr Mul32Rri),
            alu::AND => $pick!(And64I And64R And32I And32R / And64Rrr And64Rri And32Rrr And32Rri),
            alu::OR => $pick!(Or64I Or64R Or32I Or32R / Or64Rrr Or64Rri Or32Rrr Or32Rri),
            alu::XOR => $pick!(Xor64I Xor64R Xor32I Xor32R / Xor64Rrr Xor64Rri Xor32Rrr Xor32Rri),
            alu::LSH => $pick!(Lsh64I Lsh64R Lsh32I Lsh32R / Lsh64Rrr Lsh64Rri Lsh32Rrr Lsh32Rri),
            alu::RSH => $pick!(Rsh64I Rsh64R Rsh32I Rsh32R / Rsh64Rrr Rsh64Rri Rsh32Rrr Rsh32Rri),
            _ => $other,
        }
    };
}

/// `mov d, a; OP d, b` (or `OP d, imm`) as OP's three-address form (the
/// `alu3` rows of `super::table`): a 64-bit copy and a 64- or 32-bit OP, or
/// a 32-bit copy and a 32-bit OP (a 32-bit OP reads only the copy's low
/// half). `b` may be `d` itself, read after the copy: then it is `a`.
fn three_address(m: &Insn, o: &Insn) -> Option<Kind> {
    let wide = match o.class() {
        class::ALU64 => true,
        class::ALU => false,
        _ => return None,
    };
    let copy = m.opc == MOV64X || (m.opc == MOV32X && !wide);
    if !copy || m.off != 0 || o.off != 0 || o.dst != m.dst {
        return None;
    }
    let (d, a) = reg_pair(m);
    let (imm, by_reg) = (o.imm, o.opc & source::MASK == source::X);
    let b = if o.src == o.dst { a } else { Reg::new(o.src) };
    // The member of the operation's three-address kinds for this width
    // and operand.
    macro_rules! alu3 {
        ($($two:ident)* / $r64:ident $i64:ident $r32:ident $i32:ident) => {
            Some(member!(wide, by_reg, $i64 { d, a, imm }, $r64 { d, a, b }, $i32 { d, a, imm }, $r32 { d, a, b }))
        };
    }
    by_alu_op!(o.opc & alu::MASK, alu3, None)
}

/// Round 6's memory and branch idioms: the two-slot copies before a
/// branch and between loop iterations (`b`, the next instruction, is
/// `None` when it starts a fused op of its own), and the single instructions
/// [`single`] would leave generic (signed division and remainder,
/// sign-extending loads, `ja32`).
fn memory_and_branch(a: &Insn, b: Option<&Insn>, pc: usize) -> Option<Kind> {
    let (d, s) = reg_pair(a);
    let copy = |i: &Insn| i.opc == MOV64X && i.off == 0;
    if let Some(b) = b {
        let (e, u) = reg_pair(b);
        let t = rel_target(pc, pc + 1, b.off as i64);
        if copy(a) && copy(b) {
            return Some(Kind::MovMov { d, s, e, u });
        }
        if copy(a) && b.opc == op::JA {
            return Some(Kind::Mov64RJa { d, s, t: t? });
        }
        if a.opc == MOV32X && a.off == 0 && b.opc == op::JA {
            return Some(Kind::Mov32RJa { d, s, t: t? });
        }
        if copy(a) && b.opc == JNE32K {
            return Some(Kind::Mov64RJne32I { d, s, a: e, imm: i16::try_from(b.imm).ok()?, t: t? });
        }
        // `mov d, v` writes the same 64 bits as `mov32 d, v` for `0 <= v < 128`.
        let small = match a.opc {
            MOV64K => i8::try_from(a.imm).ok(),
            MOV32K => i8::try_from(a.imm).ok().filter(|v| *v >= 0),
            _ => None,
        };
        if let (Some(v), Ok(k), 0) = (small, i16::try_from(b.imm), a.off) {
            match b.opc {
                JEQ32K => return Some(Kind::MovIJeq32I { d, v, a: e, k, t: t? }),
                JLT32K => return Some(Kind::MovIJlt32I { d, v, a: e, k, t: t? }),
                _ => {}
            }
        }
    }
    let (imm, wide, by_reg) = (a.imm, a.class() == class::ALU64, a.opc & source::MASK == source::X);
    match a.class() {
        // `how`: `semantics::signed_division`'s operation.
        class::ALU64 | class::ALU if a.off == 1 && matches!(a.opc & alu::MASK, alu::DIV | alu::MOD) => {
            let how = u8::from(a.opc & alu::MASK == alu::MOD) | u8::from(!wide) << 1;
            Some(if by_reg { Kind::SDivModR { d, s, how } } else { Kind::SDivModI { d, imm, how } })
        }
        class::LDX if a.opc & mode::MASK == mode::MEMSX => match a.opc & size::MASK {
            size::B => Some(Kind::LdxSB { d, s, off: a.off }),
            size::H => Some(Kind::LdxSH { d, s, off: a.off }),
            size::W => Some(Kind::LdxSW { d, s, off: a.off }),
            _ => None,
        },
        class::JMP32 if a.opc == op::JA32 => Some(Kind::Ja { t: rel_target(pc, pc, imm as i64)? }),
        _ => None,
    }
}

/// Round 7a's memory idioms (`super::table`, "Round 7a"): a stack array's
/// element at an extended 32-bit index ([`stack_index`]) and two stores in
/// a row through one base register other than `r10`. Neither starts like another fusion
/// (a copy or a shift followed by a shift pair, two stores), so they are
/// tried first.
fn stack_memory(code: &[u8], pc: usize) -> Option<Kind> {
    let a = Insn::at(code, pc)?;
    match a.opc {
        MOV64X | LSH64K => stack_index(code, pc, &a),
        STXB | STXW => {
            // Not through `r10`: single frame stores go straight to the
            // stack window, cheaper than a pair's two checked stores.
            let b = Insn::at(code, pc + 1).filter(|b| b.opc == a.opc && b.dst == a.dst && a.dst != 10)?;
            let (base, o1, x, o2, y) = (Reg::new(a.dst), a.off, Reg::new(a.src), b.off, Reg::new(b.src));
            Some(if a.opc == STXB {
                Kind::StxPairB { b: base, o1, x, o2, y }
            } else {
                Kind::StxPairW { b: base, o1, x, o2, y }
            })
        }
        _ => None,
    }
}

/// `[mov t, s;] lsh t, 32; rsh t, 32 (or arsh); lsh t, sh; mov d, r10; add
/// d, k; add d, t` and `ldx x, [d + 0]` or `stx [d + 0], x` (16- and 32-bit
/// elements): `a[i]` for a stack array `a` and a 32-bit index `i`, as clang
/// emits it. `t` and `d` are distinct and neither is `r10` (the op writes
/// `t` before it reads it for `d`, as the slots do); `sh` below 8.
fn stack_index(code: &[u8], pc: usize, a: &Insn) -> Option<Kind> {
    const ARSH64K: u8 = class::ALU64 | alu::ARSH | source::K;
    let copy = a.opc == MOV64X;
    let [l, r, sc, m, ak, ai, acc] = core::array::from_fn(|i| Insn::at(code, pc + usize::from(copy) + i));
    let (l, r, sc, m, ak, ai, acc) = (l?, r?, sc?, m?, ak?, ai?, acc?);
    let (t, d) = (Reg::new(l.dst), Reg::new(m.dst));
    let s = if copy { Reg::new(a.src) } else { t };
    let shape = (!copy || (a.dst == l.dst && a.off == 0))
        && (l.opc, l.imm, sc.opc, m.opc, m.src, ak.opc, ai.opc) == (LSH64K, 32, LSH64K, MOV64X, 10, ADD64K, ADD64X)
        && matches!(r.opc, RSH64K | ARSH64K)
        && r.imm == 32
        && (0..8).contains(&sc.imm)
        && [r.dst, sc.dst, ai.src] == [l.dst; 3]
        && [ak.dst, ai.dst] == [m.dst; 2]
        && [l.off, r.off, sc.off, m.off, ak.off, ai.off, acc.off] == [0; 7]
        && t != d
        && t != Reg::R10
        && d != Reg::R10;
    if !shape {
        return None;
    }
    let k = i16::try_from(ak.imm).ok()?;
    let how = sc.imm as u8 | if r.opc == ARSH64K { 0x80 } else { 0 };
    let (load, store) = (Reg::new(acc.src) == d, Reg::new(acc.dst) == d);
    Some(match (acc.opc, copy) {
        (LDXW, false) if load => Kind::StkIdxLdxW { x: Reg::new(acc.dst), d, t, s, k, how },
        (STXH, false) if store => Kind::StkIdxStxH { x: Reg::new(acc.src), d, t, s, k, how },
        (LDXH, true) if load => Kind::StkMovIdxLdxH { x: Reg::new(acc.dst), d, t, s, k, how },
        _ => return None,
    })
}

/// Round 7b: the forms of a fused op whose operands coincide the way
/// clang's loops have them, with less to decode and write: a latch
/// comparing the counter it advances ([`Kind::AddJltD64R`]), an indexed
/// load into its address register ([`Kind::MovAddLdxIntoB`]..).
fn specialise(kind: Kind) -> Option<Kind> {
    Some(match kind {
        Kind::AddJlt64R { d, imm, a, b, t } if a == d => Kind::AddJltD64R { d, imm, b, t },
        Kind::MovAddLdxB { d, a, b, x, off } if x == d => Kind::MovAddLdxIntoB { d, a, b, off },
        Kind::MovAddLdxW { d, a, b, x, off } if x == d => Kind::MovAddLdxIntoW { d, a, b, off },
        _ => return None,
    })
}

/// Round 7b: `lddw d, k; add d, s` (`s` not `d`) as [`Kind::LddwAdd64R`],
/// the address of a `.rodata` table's element.
fn lddw_add(a: &Insn, code: &[u8], pc: usize) -> Option<Kind> {
    let b = Insn::at(code, pc + 2).filter(|b| op::is_wide(a.opc) && b.opc == ADD64X && b.off == 0)?;
    let (d, s) = reg_pair(&b);
    let lo = lddw_value(a, code, pc) as u32 as i32;
    (b.dst == a.dst && s != d).then_some(Kind::LddwAdd64R { d, s, lo })
}

/// Round 7b's branches: `jeq32 d, j; jeq32 d, k` (a `switch`'s jump chain,
/// `j` and `k` signed 8-bit) as one two-way branch (`super::table`, flow
/// `branch2`).
fn branch_pair(a: &Insn, b: Option<&Insn>, pc: usize) -> Option<Kind> {
    let b = b.filter(|b| (a.opc, b.opc) == (JEQ32K, JEQ32K) && b.dst == a.dst)?;
    let (d, j, k) = (Reg::new(a.dst), i8::try_from(a.imm).ok()?, i8::try_from(b.imm).ok()?);
    let (t, u) = (rel_target(pc, pc, a.off as i64)?, rel_target(pc, pc + 1, b.off as i64)?);
    Some(Kind::JeqJeq32I { d, j, k, t, u })
}

/// The specialised form of one instruction, or [`Kind::Generic`].
fn single(i: &Insn, code: &[u8], pc: usize) -> Kind {
    let (d, s) = reg_pair(i);
    let (imm, off) = (i.imm, i.off);
    // A jump's relative target (`None`: too far, generic).
    let rel = rel_target(pc, pc, off as i64);
    let by_reg = i.opc & source::MASK == source::X;
    let wide = matches!(i.class(), class::ALU64 | class::JMP);
    // The member of a family (`super::table`) for this width and operand.
    macro_rules! alu {
        ($i64:ident $r64:ident $i32:ident $r32:ident $(/ $($three:ident)*)?) => {
            member!(wide, by_reg, $i64 { d, imm }, $r64 { d, s }, $i32 { d, imm }, $r32 { d, s })
        };
    }
    // The register forms compare `x` with `y`: `(d, s)`, or `(s, d)` for
    // `>`/`>=`, which become `<`/`<=`.
    macro_rules! jcc {
        ($t:ident: $i64:ident $i32:ident, $r64:ident $r32:ident ($x:ident, $y:ident)) => {
            member!(
                wide,
                by_reg,
                $i64 { d, imm, t: $t },
                $r64 { a: $x, b: $y, t: $t },
                $i32 { d, imm, t: $t },
                $r32 { a: $x, b: $y, t: $t }
            )
        };
    }
    let op = i.opc & alu::MASK;
    match i.class() {
        class::ALU64 | class::ALU if off == 0 => by_alu_op!(
            op,
            alu,
            match op {
                alu::MOV => alu!(Mov64I Mov64R Mov32I Mov32R),
                alu::NEG if wide => Kind::Neg64 { d },
                alu::NEG => Kind::Neg32 { d },
                alu::ARSH if !by_reg && wide => Kind::Arsh64I { d, imm },
                alu::ARSH if !by_reg => Kind::Arsh32I { d, imm },
                alu::DIV => alu!(Div64I Div64R Div32I Div32R),
                alu::MOD => alu!(Mod64I Mod64R Mod32I Mod32R),
                alu::END => match (wide || by_reg, imm) {
                    (true, 16) => Kind::Swap16 { d },
                    (true, 32) => Kind::Swap32 { d },
                    (true, 64) => Kind::Swap64 { d },
                    (false, 16) => Kind::Le16 { d },
                    (false, 32) => Kind::Le32 { d },
                    (false, 64) => Kind::Le64,
                    _ => Kind::Generic,
                },
                _ => Kind::Generic,
            }
        ),
        // `movsx d, s` (v4): the offset is the source width.
        class::ALU64 | class::ALU if op == alu::MOV && by_reg => match (wide, off) {
            (true, 8) => Kind::MovSx8To64 { d, s },
            (true, 16) => Kind::MovSx16To64 { d, s },
            (true, 32) => Kind::MovSx32To64 { d, s },
            (false, 8) => Kind::MovSx8To32 { d, s },
            (false, 16) => Kind::MovSx16To32 { d, s },
            _ => Kind::Generic,
        },
        class::JMP if i.opc == op::JA => rel.map_or(Kind::Generic, |t| Kind::Ja { t }),
        class::JMP if i.opc == op::EXIT => Kind::Exit,
        class::JMP if i.opc == op::CALL && i.src == crate::isa::call::LOCAL => {
            Kind::CallLocal { t: target(pc, imm as i64) }
        }
        class::JMP if i.opc == op::CALL => Kind::CallHelper { id: imm as u32 },
        class::JMP if i.opc == op::CALLX => Kind::CallX { d },
        class::JMP | class::JMP32 => {
            let Some(t) = rel else { return Kind::Generic };
            match op {
                jmp::JEQ => jcc!(t: Jeq64I Jeq32I, Jeq64R Jeq32R (d, s)),
                jmp::JNE => jcc!(t: Jne64I Jne32I, Jne64R Jne32R (d, s)),
                jmp::JLT => jcc!(t: Jlt64I Jlt32I, Jlt64R Jlt32R (d, s)),
                jmp::JLE => jcc!(t: Jle64I Jle32I, Jle64R Jle32R (d, s)),
                jmp::JGT => jcc!(t: Jgt64I Jgt32I, Jlt64R Jlt32R (s, d)),
                jmp::JGE => jcc!(t: Jge64I Jge32I, Jle64R Jle32R (s, d)),
                jmp::JSLT => jcc!(t: Jslt64I Jslt32I, Jslt64R Jslt32R (d, s)),
                jmp::JSLE => jcc!(t: Jsle64I Jsle32I, Jsle64R Jsle32R (d, s)),
                jmp::JSGT => jcc!(t: Jsgt64I Jsgt32I, Jslt64R Jslt32R (s, d)),
                jmp::JSGE => jcc!(t: Jsge64I Jsge32I, Jsle64R Jsle32R (s, d)),
                jmp::JSET => jcc!(t: Jset64I Jset32I, Jset64R Jset32R (d, s)),
                // ja32.
                _ => Kind::Generic,
            }
        }
        class::LDX if i.opc & mode::MASK == mode::MEM && s == Reg::R10 => match i.opc & size::MASK {
            size::B => Kind::LdxBFp { d, off },
            size::H => Kind::LdxHFp { d, off },
            size::W => Kind::LdxWFp { d, off },
            _ => Kind::LdxDwFp { d, off },
        },
        class::STX if i.opc & mode::MASK == mode::MEM && d == Reg::R10 => match i.opc & size::MASK {
            size::B => Kind::StxBFp { s, off },
            size::H => Kind::StxHFp { s, off },
            size::W => Kind::StxWFp { s, off },
            _ => Kind::StxDwFp { s, off },
        },
        class::ST if d == Reg::R10 && i.opc & size::MASK == size::W => Kind::StWFp { off, imm },
        class::ST if d == Reg::R10 && i.opc & size::MASK == size::DW => Kind::StDwFp { off, imm },
        class::LDX if i.opc & mode::MASK == mode::MEM => match i.opc & size::MASK {
            size::B => Kind::LdxB { d, s, off },
            size::H => Kind::LdxH { d, s, off },
            size::W => Kind::LdxW { d, s, off },
            _ => Kind::LdxDw { d, s, off },
        },
        class::STX if i.opc & mode::MASK == mode::MEM => match i.opc & size::MASK {
            size::B => Kind::StxB { d, s, off },
            size::H => Kind::StxH { d, s, off },
            size::W => Kind::StxW { d, s, off },
            _ => Kind::StxDw { d, s, off },
        },
        class::ST => match i.opc & size::MASK {
            size::B => Kind::StB { d, off, imm },
            size::H => Kind::StH { d, off, imm },
            size::W => Kind::StW { d, off, imm },
            _ => Kind::StDw { d, off, imm },
        },
        class::LD => Kind::Lddw { d, lo: lddw_value(i, code, pc) as u32 as i32 },
        _ => Kind::Generic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interpreter's unchecked op fetch relies on `first_escape`: it
    /// must catch every way an op could send control past the end.
    #[test]
    fn first_escape_catches_ops_that_leave_the_program() {
        let exit = Op { kind: Kind::Exit };
        let r = Reg::R1;
        let wide = Op { kind: Kind::LdxHSum2 { d: Reg::R0, s: r, off: 0, acc: Reg::R3, inc: 2, x: Reg::R4 } };
        // A five-slot op with only two slots after it.
        assert_eq!(first_escape(&[wide, exit, exit], &[]), Some(0));
        // ... and with exactly enough.
        assert_eq!(first_escape(&[wide, exit, exit, exit, exit, exit], &[]), None);
        // A plain op in the last slot falls off the end.
        assert_eq!(first_escape(&[exit, Op { kind: Kind::Mov64I { d: r, imm: 0 } }], &[]), Some(1));
        // Jump, fused latch and call targets outside.
        assert_eq!(first_escape(&[Op { kind: Kind::Ja { t: 2 } }, exit], &[]), Some(0));
        let latch = Op { kind: Kind::Add32IMovJne0 { d: r, imm: -1, x: Reg::R2, y: Reg::R3, t: 0 } };
        assert_eq!(first_escape(&[latch, exit, exit], &[]), Some(0));
        assert_eq!(first_escape(&[latch, exit, exit, exit], &[]), None);
        assert_eq!(first_escape(&[Op { kind: Kind::CallLocal { t: 9 } }, exit], &[]), Some(0));
        // A generic op is decoded from the bytecode: a conditional jump
        // whose target lies past the end.
        let jset = crate::isa::Insn::new(crate::isa::class::JMP | crate::isa::jmp::JSET, 1, 0, 5, 1).encode();
        assert_eq!(first_escape(&[Op { kind: Kind::Generic }, exit], &jset), Some(0));
        // Traps and `exit` never continue.
        assert_eq!(first_escape(&[Op::EMPTY, Op { kind: Kind::Wide { hi: 0 } }, exit], &[]), None);
    }

    /// Every verified program translates without tripping the check.
    #[test]
    fn verified_programs_never_escape() {
        let exit = [0x95u8, 0, 0, 0, 0, 0, 0, 0];
        // `ldxh; add32; add; mov32; add32` just before the final `exit`.
        let mut code = [0u8; 48];
        for (slot, insn) in code.chunks_exact_mut(8).zip([
            crate::isa::Insn::new(0x69, 0, 1, 0, 0),
            crate::isa::Insn::new(0x0c, 3, 0, 0, 0),
            crate::isa::Insn::new(0x07, 1, 0, 0, 2),
            crate::isa::Insn::new(0xbc, 0, 3, 0, 0),
            crate::isa::Insn::new(0x0c, 0, 4, 0, 0),
        ]) {
            slot.copy_from_slice(&insn.encode());
        }
        code[40..].copy_from_slice(&exit);
        let program = crate::verify(&code, &crate::NoHelpers).unwrap();
        let mut ops = [Op::EMPTY; 6];
        let fast = translate(&program, &mut ops).unwrap();
        assert!(matches!(fast.ops[0].kind, Kind::LdxHSum2 { .. }));
    }

    /// The kinds `insns` (at most 16, a verified program) translate to.
    fn kinds_of(insns: &[crate::isa::Insn]) -> [Kind; 16] {
        let mut code = [0u8; 128];
        for (slot, insn) in code.chunks_exact_mut(8).zip(insns) {
            slot.copy_from_slice(&insn.encode());
        }
        let program = crate::verify(&code[..insns.len() * 8], &crate::NoHelpers).unwrap();
        let mut storage = [Op::EMPTY; 16];
        translate(&program, &mut storage).unwrap();
        storage.map(|op| op.kind)
    }

    /// A word loaded and added to a 32-bit sum (SHA-256's round) is one
    /// op, from a pointer or from the frame; a 64-bit add of it is not.
    #[test]
    fn word_load_and_add_fuses() {
        use crate::isa::Insn;
        let (r1, r2, r3) = (Reg::R1, Reg::R2, Reg::R3);
        let kinds = kinds_of(&[
            Insn::new(0x61, 3, 2, 4, 0),
            Insn::new(0x0c, 1, 3, 0, 0),
            Insn::new(0x61, 2, 10, -104, 0),
            Insn::new(0x0c, 1, 2, 0, 0),
            Insn::new(0x61, 2, 10, -8, 0),
            Insn::new(0x0f, 1, 2, 0, 0),
            Insn::new(0x95, 0, 0, 0, 0),
        ]);
        assert_eq!(kinds[0], Kind::LdxWAdd32 { d: r3, s: r2, off: 4, acc: r1 });
        assert_eq!(kinds[2], Kind::LdxWFpAdd32 { d: r2, off: -104, acc: r1 });
        assert_eq!(kinds[4], Kind::LdxWFp { d: r2, off: -8 });
    }

    /// insertion_sort's `a[j - 1]` as clang emits it: the 32-bit index
    /// zero-extended and scaled, the array's address rematerialised from
    /// `r10`, and the load: one op since round 7a; two ops when the load
    /// has an offset (round 7a's op needs `[d + 0]`).
    #[test]
    fn stack_array_elements_and_scaled_indexes_fuse() {
        use crate::isa::Insn;
        let mut insns = [
            Insn::new(0xbf, 7, 6, 0, 0),
            Insn::new(0x67, 7, 0, 0, 32),
            Insn::new(0x77, 7, 0, 0, 32),
            Insn::new(0x67, 7, 0, 0, 1),
            Insn::new(0xbf, 9, 10, 0, 0),
            Insn::new(0x07, 9, 0, 0, -240),
            Insn::new(0x0f, 9, 7, 0, 0),
            Insn::new(0x69, 9, 9, 0, 0),
            Insn::new(0x95, 0, 0, 0, 0),
        ];
        let (r6, r7, r9) = (Reg::R6, Reg::R7, Reg::R9);
        let kinds = kinds_of(&insns);
        assert_eq!(kinds[0], Kind::StkMovIdxLdxH { x: r9, d: r9, t: r7, s: r6, k: -240, how: 1 });
        assert_eq!(kinds[1], Kind::ZextLsh { d: r7, imm: 1 });
        assert_eq!(kinds[4], Kind::StkLdxH { d: r9, k: -240, i: r7, x: r9, off: 0 });
        insns[7] = Insn::new(0x69, 9, 9, 2, 0);
        let kinds = kinds_of(&insns);
        assert_eq!(kinds[0], Kind::MovZextLsh { d: r7, s: r6, imm: 1 });
        assert_eq!(kinds[1], Kind::ZextLsh { d: r7, imm: 1 });
        assert_eq!(kinds[4], Kind::StkLdxH { d: r9, k: -240, i: r7, x: r9, off: 2 });
    }

    /// `mov d, a; OP d, b` of every operation, width and operand form is
    /// one op; `b = d` reads the copy (`a`); a 32-bit copy before a 64-bit
    /// OP (whose high half the copy cleared) is not fused.
    #[test]
    fn three_address_ops_fuse() {
        use crate::isa::Insn;
        let (r0, r1, r2) = (Reg::R0, Reg::R1, Reg::R2);
        let cases = [
            (0xbf, 0x1f, 2, Some(Kind::Sub64Rrr { d: r0, a: r1, b: r2 })),
            (0xbf, 0x2f, 0, Some(Kind::Mul64Rrr { d: r0, a: r1, b: r1 })),
            (0xbf, 0x57, 0, Some(Kind::And64Rri { d: r0, a: r1, imm: -9 })),
            (0xbf, 0xac, 2, Some(Kind::Xor32Rrr { d: r0, a: r1, b: r2 })),
            (0xbc, 0x4c, 2, Some(Kind::Or32Rrr { d: r0, a: r1, b: r2 })),
            (0xbc, 0x64, 0, Some(Kind::Lsh32Rri { d: r0, a: r1, imm: -9 })),
            (0xbc, 0x7c, 0, Some(Kind::Rsh32Rrr { d: r0, a: r1, b: r1 })),
            (0xbc, 0x07, 0, None),
            (0xbc, 0x2f, 2, None),
        ];
        for (mov, op, src, want) in cases {
            let imm = if op & 0x08 == 0 { -9 } else { 0 };
            let insns = [Insn::new(mov, 0, 1, 0, 0), Insn::new(op, 0, src, 0, imm), Insn::new(0x95, 0, 0, 0, 0)];
            let kind = kinds_of(&insns)[0];
            assert_eq!(kind.width() == 2, want.is_some(), "{mov:#x} {op:#x}: {kind:?}");
            if let Some(want) = want {
                assert_eq!(kind, want);
            }
        }
    }

    /// sha256's rotates as clang emits them: one op, and none when the
    /// counts do not add up to 32.
    #[test]
    fn rotates_fuse() {
        use crate::isa::Insn;
        for (lsh, fused) in [(25, true), (24, false)] {
            let insns = [
                Insn::new(0xbc, 1, 7, 0, 0),
                Insn::new(0x74, 1, 0, 0, 7),
                Insn::new(0xbc, 3, 7, 0, 0),
                Insn::new(0x64, 3, 0, 0, lsh),
                Insn::new(0x4c, 3, 1, 0, 0),
                Insn::new(0x95, 0, 0, 0, 0),
            ];
            let kind = kinds_of(&insns)[0];
            assert_eq!(kind == Kind::Ror32 { d: Reg::R3, t: Reg::R1, s: Reg::R7, n: 7 }, fused, "{kind:?}");
        }
    }

    /// Round 6's ALU chains (`alu_idiom`) as clang emits them are one op
    /// each, and their near misses are not.
    #[test]
    fn alu_idioms_fuse() {
        use crate::isa::Insn;
        let (r0, r1, r2, r3) = (Reg::R0, Reg::R1, Reg::R2, Reg::R3);
        let exit = Insn::new(0x95, 0, 0, 0, 0);
        // `r0 = r7` rotated right by `n` (through `r1`), then `then`.
        let rotate_then = |n: i32, then: Insn| {
            [
                Insn::new(0xbc, 1, 7, 0, 0),
                Insn::new(0x74, 1, 0, 0, n),
                Insn::new(0xbc, 0, 7, 0, 0),
                Insn::new(0x64, 0, 0, 0, 32 - n),
                Insn::new(0x4c, 0, 1, 0, 0),
                then,
            ]
        };
        let cases: [(&[Insn], Option<Kind>); 18] = [
            // crc16's `(x << 1) & 0xfffe`, sha256's `x << 16 | y`, prng64's masks
            (
                &[Insn::new(0x64, 0, 0, 0, 1), Insn::new(0x54, 0, 0, 0, 65534)],
                Some(Kind::LshAnd32I { d: r0, k: 1, imm: 65534 }),
            ),
            (&[Insn::new(0x64, 0, 0, 0, 16), Insn::new(0x4c, 0, 1, 0, 0)], Some(Kind::LshOr32 { d: r0, k: 16, b: r1 })),
            (&[Insn::new(0x77, 0, 0, 0, 2), Insn::new(0x5f, 0, 1, 0, 0)], Some(Kind::RshAnd64 { d: r0, k: 2, b: r1 })),
            (&[Insn::new(0x77, 0, 0, 0, 7), Insn::new(0x0f, 0, 1, 0, 0)], Some(Kind::RshAdd64 { d: r0, k: 7, b: r1 })),
            (&[Insn::new(0x77, 0, 0, 0, 7), Insn::new(0x0f, 0, 0, 0, 0)], None),
            (&[Insn::new(0x77, 0, 0, 0, 7), Insn::new(0x0c, 0, 1, 0, 0)], None),
            // xorshift and bit fields into a copy
            (
                &[Insn::new(0xbf, 0, 1, 0, 0), Insn::new(0x77, 0, 0, 0, 12), Insn::new(0xaf, 0, 1, 0, 0)],
                Some(Kind::MovRshXor64 { d: r0, a: r1, k: 12, b: r1 }),
            ),
            (
                &[Insn::new(0xbc, 0, 1, 0, 0), Insn::new(0x74, 0, 0, 0, 7), Insn::new(0xac, 0, 2, 0, 0)],
                Some(Kind::MovRshXor32 { d: r0, a: r1, k: 7, b: r2 }),
            ),
            (
                &[Insn::new(0xbf, 0, 1, 0, 0), Insn::new(0x77, 0, 0, 0, 4), Insn::new(0x57, 0, 0, 0, 15)],
                Some(Kind::MovRshAnd64I { d: r0, a: r1, k: 4, imm: 15 }),
            ),
            (&[Insn::new(0xbc, 0, 1, 0, 0), Insn::new(0x77, 0, 0, 0, 4), Insn::new(0xaf, 0, 1, 0, 0)], None),
            // FNV-1a and a polynomial hash
            (
                &[Insn::new(0xaf, 0, 1, 0, 0), Insn::new(0x2f, 0, 5, 0, 0)],
                Some(Kind::XorMul64R { d: r0, s: r1, m: Reg::R5 }),
            ),
            (
                &[Insn::new(0xac, 0, 1, 0, 0), Insn::new(0x24, 0, 0, 0, 16777619)],
                Some(Kind::XorMul32I { d: r0, s: r1, imm: 16777619 }),
            ),
            (
                &[Insn::new(0x24, 0, 0, 0, 31), Insn::new(0x0c, 0, 1, 0, 0)],
                Some(Kind::MulAdd32I { d: r0, imm: 31, s: r1 }),
            ),
            // matmul16's multiply-accumulate
            (
                &[Insn::new(0x2c, 0, 4, 0, 0), Insn::new(0x0c, 0, 5, 0, 0)],
                Some(Kind::MulAdd32R { d: r0, m: Reg::R4, s: Reg::R5 }),
            ),
            // crc32's select, and sha256's rotate-xor
            (
                &[Insn::new(0x54, 0, 0, 0, 1), Insn::new(0x84, 0, 0, 0, 0), Insn::new(0x54, 0, 0, 0, -306674912)],
                Some(Kind::BitMask32 { d: r0, imm: -306674912 }),
            ),
            (
                &[
                    Insn::new(0x54, 0, 0, 0, 1),
                    Insn::new(0x84, 0, 0, 0, 0),
                    Insn::new(0x54, 0, 0, 0, 4129),
                    Insn::new(0xac, 0, 3, 0, 0),
                ],
                Some(Kind::BitMaskXor32 { d: r0, imm: 4129, x: r3 }),
            ),
            (
                &rotate_then(6, Insn::new(0xac, 3, 0, 0, 0)),
                Some(Kind::RorXor32 { d: r0, t: r1, s: Reg::R7, n: 6, x: r3 }),
            ),
            (
                &rotate_then(7, Insn::new(0xac, 0, 3, 0, 0)),
                Some(Kind::RorXorD32 { d: r0, t: r1, s: Reg::R7, n: 7, x: r3 }),
            ),
        ];
        for (insns, want) in cases {
            let mut all = insns.to_vec();
            all.push(exit);
            let kind = kinds_of(&all)[0];
            match want {
                Some(want) => assert_eq!(kind, want, "{insns:?}"),
                None => assert!(kind.width() < insns.len(), "{insns:?}: {kind:?}"),
            }
        }
    }

    #[test]
    fn translation_records_local_calls_and_wide_segments() {
        use crate::isa::Insn;
        // lddw r1, DATA+8 (segment-relative: its `Wide` holds the segment),
        // a local call, mov r0, 1; exit; and the callee: mov r0, 2; exit.
        let insns = [
            Insn::new(crate::isa::op::LDDW_DATA, 1, 0, 0, 8),
            Insn::new(0, 0, 0, 0, 0),
            Insn::new(0x85, 0, crate::isa::call::LOCAL, 0, 2),
            Insn::new(0xb7, 0, 0, 0, 1),
            Insn::new(0x95, 0, 0, 0, 0),
            Insn::new(0xb7, 0, 0, 0, 2),
            Insn::new(0x95, 0, 0, 0, 0),
        ];
        let mut code = [0u8; 56];
        for (slot, insn) in code.chunks_exact_mut(8).zip(insns) {
            slot.copy_from_slice(&insn.encode());
        }
        let program = crate::verify(&code, &crate::NoHelpers).unwrap();
        let mut storage = [Op::EMPTY; 7];
        let fast = translate(&program, &mut storage).unwrap();
        assert!(fast.local_calls);
        assert!(matches!(storage[1].kind, Kind::Wide { hi } if hi as u64 == crate::DATA_VADDR >> 32));
    }
}
