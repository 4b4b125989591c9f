//! The reference interpreter: executes a verified [`Program`] slot by slot.
//!
//! It is written for clarity first; every guarantee the VM gives is enforced
//! here: memory only through the [`MemoryMap`], a finite instruction budget,
//! a bounded call depth, and no panic on any verified program (the arms
//! verification excludes return [`TrapKind::IllegalInstruction`]).

use core::fmt;

use crate::helper::{HelperError, Helpers};
use crate::isa::{alu, atomic, class, jmp, mode, op, size, source, Insn, FRAME_REG, REG_COUNT};
use crate::memory::{MemFault, MemoryMap, DATA_VADDR, RODATA_VADDR, STACK_VADDR};
use crate::verify::{Entry, Program};

/// Instructions a run may execute when the host does not say otherwise.
pub const DEFAULT_BUDGET: u64 = 1_000_000;

/// Maximum nesting of program-local calls.
pub const MAX_CALL_DEPTH: usize = 8;

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
}

/// A trap at instruction index `pc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trap {
    pub pc: usize,
    pub kind: TrapKind,
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapKind::Memory(m) => write!(f, "memory fault: {m}"),
            TrapKind::BudgetExhausted => f.write_str("instruction budget exhausted"),
            TrapKind::CallDepthExceeded => write!(f, "call depth exceeds {MAX_CALL_DEPTH}"),
            TrapKind::HelperNotAllowed { id } => write!(f, "callx to helper {id:#x} which is not allowed"),
            TrapKind::Helper { id, error } => write!(f, "helper {id:#x}: {error}"),
            TrapKind::IllegalInstruction => f.write_str("illegal instruction"),
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trap at instruction {}: {}", self.pc, self.kind)
    }
}

impl core::error::Error for Trap {}

/// A completed run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The program's return value.
    pub r0: u64,
    /// Instructions executed (an `LDDW` counts once).
    pub executed: u64,
}

/// Bytes a local call keeps between the caller's frame and the callee's:
/// the caller's `r6..=r9`, saved there (not in the host) until `exit`.
/// See `docs/isa.md`, "Local calls".
pub const CALL_SAVE_BYTES: u64 = 32;

/// Enters a local call made with frame pointer `fp`: checks that the
/// callee's frame and the save area below the caller's frame are writable
/// (`frame_size + CALL_SAVE_BYTES` bytes ending `frame_size` bytes below
/// `fp`), stores `saved` (the caller's `r6..=r9`) in the save area, and
/// returns the callee's frame pointer (the save area's start).
///
/// # Errors
/// The fault of that check: a call whose frame does not fit in the stack
/// traps at the call.
pub(crate) fn push_frame(mem: &mut MemoryMap<'_>, fp: u64, frame_size: u64, saved: [u64; 4]) -> Result<u64, MemFault> {
    let callee = fp.wrapping_sub(frame_size).wrapping_sub(CALL_SAVE_BYTES);
    let area = mem.write(callee.wrapping_sub(frame_size), frame_size + CALL_SAVE_BYTES)?;
    let save_at = area.len().saturating_sub(CALL_SAVE_BYTES as usize);
    for (cell, v) in area[save_at..].chunks_exact_mut(8).zip(saved) {
        cell.copy_from_slice(&v.to_le_bytes());
    }
    Ok(callee)
}

/// Leaves a local call whose frame pointer is `fp`: reads the caller's
/// `r6..=r9` back from the save area and returns them with the caller's
/// frame pointer.
///
/// # Errors
/// A fault when the save area is no longer readable (a helper unmapped
/// the stack).
pub(crate) fn pop_frame(mem: &MemoryMap<'_>, fp: u64, frame_size: u64) -> Result<([u64; 4], u64), MemFault> {
    let area = mem.read(fp, CALL_SAVE_BYTES)?;
    let mut saved = [0u64; 4];
    for (v, cell) in saved.iter_mut().zip(area.chunks_exact(8)) {
        *v = crate::memory::le_value(cell);
    }
    Ok((saved, fp.wrapping_add(CALL_SAVE_BYTES).wrapping_add(frame_size)))
}

/// The initial frame pointer: the top of the region mapped at
/// [`STACK_VADDR`] (or its base when no stack is mapped, so that any stack
/// access faults).
pub fn initial_frame_pointer(mem: &MemoryMap<'_>) -> u64 {
    STACK_VADDR + mem.region_len(STACK_VADDR).unwrap_or(0) as u64
}

/// Runs `program` from `entry` with `args` in `r1..` (at most five are
/// used), `r10` at the top of the stack region, and at most `budget`
/// instructions.
///
/// # Errors
/// A [`Trap`] with the index of the instruction that caused it.
///
/// # Panics
/// Never.
pub fn run<H: Helpers + ?Sized>(
    program: &Program<'_>,
    entry: Entry,
    args: &[u64],
    mem: &mut MemoryMap<'_>,
    helpers: &mut H,
    budget: u64,
) -> Result<Exit, Trap> {
    let code = program.code();
    let frame_size = program.frame_size() as u64;
    let mut reg = [0u64; REG_COUNT];
    for (r, a) in reg[1..6].iter_mut().zip(args) {
        *r = *a;
    }
    reg[FRAME_REG as usize] = initial_frame_pointer(mem);
    // Return addresses of the active local calls (the verifier keeps pcs
    // below 2^16); the rest of a frame lives in the eBPF stack.
    let mut frames = [0u16; MAX_CALL_DEPTH];
    let mut depth = 0usize;
    let mut pc = entry.pc();
    let mut executed: u64 = 0;

    loop {
        let here = pc;
        let trap = |kind| Trap { pc: here, kind };
        let mem_trap = |f: MemFault| Trap { pc: here, kind: TrapKind::Memory(f) };
        if executed >= budget {
            return Err(trap(TrapKind::BudgetExhausted));
        }
        executed += 1;
        let Some(insn) = Insn::at(code, pc) else {
            return Err(trap(TrapKind::IllegalInstruction));
        };
        pc += 1;
        let d = insn.dst as usize & 0xf;
        let s = insn.src as usize & 0xf;
        if d >= REG_COUNT || s >= REG_COUNT {
            return Err(trap(TrapKind::IllegalInstruction));
        }
        let imm64 = insn.imm as i64 as u64;
        let off = insn.off as i64 as u64;

        match insn.class() {
            class::ALU64 => {
                let b = if insn.opc & source::MASK == source::X { reg[s] } else { imm64 };
                let op = insn.opc & alu::MASK;
                reg[d] = match alu64(op, insn.off, reg[d], b, insn.imm) {
                    Some(v) => v,
                    None => return Err(trap(TrapKind::IllegalInstruction)),
                };
            }
            class::ALU => {
                let b = if insn.opc & source::MASK == source::X { reg[s] as u32 } else { insn.imm as u32 };
                let op = insn.opc & alu::MASK;
                let by_reg = insn.opc & source::MASK == source::X;
                reg[d] = match alu32(op, insn.off, reg[d], b, insn.imm, by_reg) {
                    Some(v) => v,
                    None => return Err(trap(TrapKind::IllegalInstruction)),
                };
            }
            class::JMP | class::JMP32 => {
                let is32 = insn.class() == class::JMP32;
                let by_reg = insn.opc & source::MASK == source::X;
                match insn.opc & jmp::MASK {
                    jmp::JA => {
                        let rel = if is32 { insn.imm as i64 } else { insn.off as i64 };
                        pc = (pc as i64 + rel) as usize;
                    }
                    jmp::EXIT => {
                        if depth == 0 {
                            return Ok(Exit { r0: reg[0], executed });
                        }
                        let (saved, fp) = pop_frame(mem, reg[FRAME_REG as usize], frame_size).map_err(mem_trap)?;
                        depth -= 1;
                        reg[6..10].copy_from_slice(&saved);
                        reg[FRAME_REG as usize] = fp;
                        pc = frames[depth] as usize;
                    }
                    jmp::CALL if by_reg => {
                        let id = reg[d];
                        let id32 = match u32::try_from(id) {
                            Ok(i) if helpers.contains(i) => i,
                            _ => return Err(trap(TrapKind::HelperNotAllowed { id })),
                        };
                        reg[0] = call_helper(helpers, id32, &reg, mem).map_err(trap)?;
                    }
                    jmp::CALL if insn.src == crate::isa::call::LOCAL => {
                        if depth >= MAX_CALL_DEPTH {
                            return Err(trap(TrapKind::CallDepthExceeded));
                        }
                        let saved = [reg[6], reg[7], reg[8], reg[9]];
                        let fp = push_frame(mem, reg[FRAME_REG as usize], frame_size, saved).map_err(mem_trap)?;
                        frames[depth] = pc as u16;
                        depth += 1;
                        reg[FRAME_REG as usize] = fp;
                        pc = (pc as i64 + insn.imm as i64) as usize;
                    }
                    jmp::CALL => {
                        let id = insn.imm as u32;
                        reg[0] = call_helper(helpers, id, &reg, mem).map_err(trap)?;
                    }
                    cond => {
                        let taken = if is32 {
                            let b = if by_reg { reg[s] as u32 } else { insn.imm as u32 };
                            compare32(cond, reg[d] as u32, b)
                        } else {
                            let b = if by_reg { reg[s] } else { imm64 };
                            compare64(cond, reg[d], b)
                        };
                        match taken {
                            Some(true) => pc = (pc as i64 + insn.off as i64) as usize,
                            Some(false) => {}
                            None => return Err(trap(TrapKind::IllegalInstruction)),
                        }
                    }
                }
            }
            class::LDX => {
                let addr = reg[s].wrapping_add(off);
                let sz = insn.opc & size::MASK;
                let v = match sz {
                    size::B => mem.load::<1>(addr),
                    size::H => mem.load::<2>(addr),
                    size::W => mem.load::<4>(addr),
                    _ => mem.load::<8>(addr),
                }
                .map_err(mem_trap)?;
                reg[d] = if insn.opc & mode::MASK == mode::MEMSX { sign_extend(v, sz) } else { v };
            }
            class::ST | class::STX => {
                let addr = reg[d].wrapping_add(off);
                let sz = insn.opc & size::MASK;
                if insn.opc & mode::MASK == mode::ATOMIC {
                    atomic_op(insn.imm, sz, addr, s, &mut reg, mem).map_err(mem_trap)?;
                } else {
                    let v = if insn.class() == class::ST { imm64 } else { reg[s] };
                    match sz {
                        size::B => mem.store::<1>(addr, v),
                        size::H => mem.store::<2>(addr, v),
                        size::W => mem.store::<4>(addr, v),
                        _ => mem.store::<8>(addr, v),
                    }
                    .map_err(mem_trap)?;
                }
            }
            class::LD => {
                let Some(hi) = Insn::at(code, pc) else {
                    return Err(trap(TrapKind::IllegalInstruction));
                };
                pc += 1;
                let value = (insn.imm as u32 as u64) | ((hi.imm as u32 as u64) << 32);
                reg[d] = match insn.opc {
                    op::LDDW => value,
                    op::LDDW_DATA => DATA_VADDR.wrapping_add(value),
                    op::LDDW_RODATA => RODATA_VADDR.wrapping_add(value),
                    _ => return Err(trap(TrapKind::IllegalInstruction)),
                };
            }
            _ => return Err(trap(TrapKind::IllegalInstruction)),
        }
    }
}

fn call_helper<H: Helpers + ?Sized>(
    helpers: &mut H,
    id: u32,
    reg: &[u64; REG_COUNT],
    mem: &mut MemoryMap<'_>,
) -> Result<u64, TrapKind> {
    let args = [reg[1], reg[2], reg[3], reg[4], reg[5]];
    helpers.call(id, args, mem).map_err(|error| TrapKind::Helper { id, error })
}

/// Sign-extends the low `size` bytes of `v`.
#[inline(always)]
pub fn sign_extend(v: u64, sz: u8) -> u64 {
    match sz {
        size::B => v as u8 as i8 as i64 as u64,
        size::H => v as u16 as i16 as i64 as u64,
        size::W => v as u32 as i32 as i64 as u64,
        _ => v,
    }
}

/// 64-bit ALU semantics (RFC 9669 section 4.1). `off` selects the signed
/// division/modulo and sign-extending move variants.
#[inline(always)]
pub fn alu64(op: u8, off: i16, a: u64, b: u64, imm: i32) -> Option<u64> {
    Some(match op {
        alu::ADD => a.wrapping_add(b),
        alu::SUB => a.wrapping_sub(b),
        alu::MUL => a.wrapping_mul(b),
        alu::DIV if off == 1 => match b {
            0 => 0,
            _ => sdivmod64(a as i64, b as i64).0 as u64,
        },
        alu::DIV => match b {
            0 => 0,
            _ => udivmod64(a, b).0,
        },
        alu::OR => a | b,
        alu::AND => a & b,
        alu::LSH => a.wrapping_shl(b as u32 & 63),
        alu::RSH => a.wrapping_shr(b as u32 & 63),
        alu::NEG => a.wrapping_neg(),
        alu::MOD if off == 1 => match b {
            0 => a,
            _ => sdivmod64(a as i64, b as i64).1 as u64,
        },
        alu::MOD => match b {
            0 => a,
            _ => udivmod64(a, b).1,
        },
        alu::XOR => a ^ b,
        alu::MOV => match off {
            8 => sign_extend(b, size::B),
            16 => sign_extend(b, size::H),
            32 => sign_extend(b, size::W),
            _ => b,
        },
        alu::ARSH => ((a as i64).wrapping_shr(b as u32 & 63)) as u64,
        // ALU64 END is the unconditional byte swap.
        alu::END => byte_swap(a, imm)?,
        _ => return None,
    })
}

/// Unsigned 64-bit quotient and remainder; `b` must not be zero.
///
/// On 64-bit hosts this is the hardware division. On 32-bit cores (the
/// Cortex-M4) the compiler's 64-bit division routine costs about 1 KiB of
/// flash, so this uses the core's 32-bit divider when both operands fit and
/// a 64-step shift-and-subtract loop otherwise (64-bit division is rare in
/// scripts; flash is not).
#[inline(never)]
pub fn udivmod64(a: u64, b: u64) -> (u64, u64) {
    if cfg!(target_pointer_width = "64") || (a | b) >> 32 == 0 {
        return match (a.checked_div(b), a.checked_rem(b)) {
            (Some(q), Some(r)) => (q, r),
            _ => (0, a),
        };
    }
    soft_udivmod64(a, b)
}

/// Restoring division, one quotient bit per step; `b` must not be zero.
fn soft_udivmod64(a: u64, b: u64) -> (u64, u64) {
    let (mut q, mut r) = (0u64, 0u64);
    for i in (0..64).rev() {
        // `r < b` before the shift, so `2r + bit` may exceed 64 bits only
        // when `carry` is set, and then it certainly exceeds `b`.
        let carry = r >> 63;
        r = (r << 1) | ((a >> i) & 1);
        if carry != 0 || r >= b {
            r = r.wrapping_sub(b);
            q |= 1 << i;
        }
    }
    (q, r)
}

/// Signed 64-bit quotient and remainder (RFC 9669: `INT_MIN / -1 =
/// INT_MIN`, `INT_MIN % -1 = 0`, the remainder takes the dividend's sign);
/// `b` must not be zero.
pub fn sdivmod64(a: i64, b: i64) -> (i64, i64) {
    let (q, r) = udivmod64(a.unsigned_abs(), b.unsigned_abs());
    let q = if (a < 0) != (b < 0) { (q as i64).wrapping_neg() } else { q as i64 };
    let r = if a < 0 { (r as i64).wrapping_neg() } else { r as i64 };
    (q, r)
}

/// 32-bit ALU semantics: operate on the low halves, zero-extend the result.
#[inline(always)]
pub fn alu32(op: u8, off: i16, a64: u64, b: u32, imm: i32, by_reg: bool) -> Option<u64> {
    let a = a64 as u32;
    let r: u32 = match op {
        alu::ADD => a.wrapping_add(b),
        alu::SUB => a.wrapping_sub(b),
        alu::MUL => a.wrapping_mul(b),
        alu::DIV if off == 1 => match b {
            0 => 0,
            _ => (a as i32).wrapping_div(b as i32) as u32,
        },
        alu::DIV => a.checked_div(b).unwrap_or(0),
        alu::OR => a | b,
        alu::AND => a & b,
        alu::LSH => a.wrapping_shl(b & 31),
        alu::RSH => a.wrapping_shr(b & 31),
        alu::NEG => a.wrapping_neg(),
        alu::MOD if off == 1 => match b {
            0 => a,
            _ => (a as i32).wrapping_rem(b as i32) as u32,
        },
        alu::MOD => a.checked_rem(b).unwrap_or(a),
        alu::XOR => a ^ b,
        alu::MOV => match off {
            8 => b as u8 as i8 as i32 as u32,
            16 => b as u16 as i16 as i32 as u32,
            _ => b,
        },
        alu::ARSH => ((a as i32).wrapping_shr(b & 31)) as u32,
        // END operates on the full register: to-LE truncates, to-BE swaps.
        alu::END => {
            return if by_reg { byte_swap(a64, imm) } else { truncate(a64, imm) };
        }
        _ => return None,
    };
    Some(r as u64)
}

/// Converts to big endian (`be16/32/64`, `bswap16/32/64`): the VM is
/// little-endian on every host, so this is an unconditional swap.
#[inline(always)]
fn byte_swap(v: u64, width: i32) -> Option<u64> {
    match width {
        16 => Some((v as u16).swap_bytes() as u64),
        32 => Some((v as u32).swap_bytes() as u64),
        64 => Some(v.swap_bytes()),
        _ => None,
    }
}

/// Converts to little endian (`le16/32/64`): truncation only.
#[inline(always)]
fn truncate(v: u64, width: i32) -> Option<u64> {
    match width {
        16 => Some(v as u16 as u64),
        32 => Some(v as u32 as u64),
        64 => Some(v),
        _ => None,
    }
}

/// Conditional jump predicates on 64-bit operands.
#[inline(always)]
pub fn compare64(cond: u8, a: u64, b: u64) -> Option<bool> {
    Some(match cond {
        jmp::JEQ => a == b,
        jmp::JGT => a > b,
        jmp::JGE => a >= b,
        jmp::JSET => a & b != 0,
        jmp::JNE => a != b,
        jmp::JSGT => (a as i64) > (b as i64),
        jmp::JSGE => (a as i64) >= (b as i64),
        jmp::JLT => a < b,
        jmp::JLE => a <= b,
        jmp::JSLT => (a as i64) < (b as i64),
        jmp::JSLE => (a as i64) <= (b as i64),
        _ => return None,
    })
}

/// Conditional jump predicates on 32-bit operands.
#[inline(always)]
pub fn compare32(cond: u8, a: u32, b: u32) -> Option<bool> {
    Some(match cond {
        jmp::JEQ => a == b,
        jmp::JGT => a > b,
        jmp::JGE => a >= b,
        jmp::JSET => a & b != 0,
        jmp::JNE => a != b,
        jmp::JSGT => (a as i32) > (b as i32),
        jmp::JSGE => (a as i32) >= (b as i32),
        jmp::JLT => a < b,
        jmp::JLE => a <= b,
        jmp::JSLT => (a as i32) < (b as i32),
        jmp::JSLE => (a as i32) <= (b as i32),
        _ => return None,
    })
}

/// Performs an atomic read-modify-write (RFC 9669 section 5.3). The access
/// must be naturally aligned; see [`MemoryMap::read_write`].
pub fn atomic_op(
    code: i32,
    sz: u8,
    addr: u64,
    src: usize,
    reg: &mut [u64; REG_COUNT],
    mem: &mut MemoryMap<'_>,
) -> Result<(), MemFault> {
    let wide = sz == size::DW;
    let len = if wide { 8 } else { 4 };
    let cell = mem.read_write(addr, len)?;
    let mut buf = [0u8; 8];
    buf[..cell.len()].copy_from_slice(cell);
    let old = u64::from_le_bytes(buf);
    let mask = if wide { u64::MAX } else { u32::MAX as u64 };
    let operand = reg[src] & mask;
    let new = match code & !atomic::FETCH {
        atomic::ADD => old.wrapping_add(operand),
        atomic::OR => old | operand,
        atomic::AND => old & operand,
        atomic::XOR => old ^ operand,
        _ if code == atomic::XCHG => operand,
        _ if code == atomic::CMPXCHG => {
            if old == reg[0] & mask {
                operand
            } else {
                old
            }
        }
        _ => old,
    } & mask;
    cell.copy_from_slice(&new.to_le_bytes()[..len as usize]);
    if code == atomic::CMPXCHG {
        reg[0] = old;
    } else if code & atomic::FETCH != 0 {
        reg[src] = old;
    }
    Ok(())
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
                assert_eq!(sdivmod64(sa, sb), (sa.wrapping_div(sb), sa.wrapping_rem(sb)), "{sa} / {sb}");
            }
        }
    }
}
