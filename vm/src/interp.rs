//! The reference interpreter: executes a verified [`Program`] slot by slot.
//!
//! It is written for clarity and for flash: one decode, one ALU for 32- and
//! 64-bit operations (a 32-bit op is the 64-bit one on zero-extended, or for
//! signed forms sign-extended, operands, its result masked), one compare,
//! one sized load and store path through [`MemoryMap::read`] and
//! [`MemoryMap::write`]. Every guarantee the VM gives is enforced here:
//! memory only through the [`MemoryMap`], a finite instruction budget, a
//! bounded call depth, and no panic on any verified program (the arms
//! verification excludes return [`TrapKind::IllegalInstruction`]). It is the
//! oracle the fast engine is tested against, and the whole interpreter of
//! a build without the `fast` feature.

use core::fmt;

use crate::helper::{HelperError, Helpers};
use crate::isa::{alu, atomic, call, class, jmp, mode, op, size, source, Insn, FRAME_REG, REG_COUNT};
use crate::memory::{le_value, put_le, Access, FaultKind, MemFault, MemoryMap, DATA_VADDR, RODATA_VADDR, STACK_VADDR};
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
pub fn load_le(mem: &MemoryMap<'_>, addr: u64, n: u8) -> Result<u64, MemFault> {
    Ok(le_value(mem.read(addr, n as u64)?))
}

/// Writes the low `n` (at most 8) bytes of `v` at `addr`, little-endian:
/// the one store path of the reference interpreter.
///
/// # Errors
/// The fault of [`MemoryMap::write`].
#[inline(never)]
pub fn store_le(mem: &mut MemoryMap<'_>, addr: u64, n: u8, v: u64) -> Result<(), MemFault> {
    put_le(mem.write(addr, n as u64)?, v);
    Ok(())
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
    let mut vm = Machine {
        code: program.code(),
        frame_size: program.frame_size(),
        reg: [[0; 2]; REG_COUNT],
        frames: [0; MAX_CALL_DEPTH],
        depth: 0,
        pc: entry.pc(),
    };
    for (r, a) in (1..6).zip(args) {
        vm.set(r, *a);
    }
    vm.set(FRAME_REG, initial_frame_pointer(mem));
    let mut left = budget;
    loop {
        let here = vm.pc;
        if left == 0 {
            return Err(Trap { pc: here, kind: TrapKind::BudgetExhausted });
        }
        left -= 1;
        match vm.step(mem, helpers) {
            Ok(None) => {}
            Ok(Some(r0)) => return Ok(Exit { r0, executed: budget - left }),
            Err(kind) => return Err(Trap { pc: here, kind }),
        }
    }
}

/// The interpreter's state: registers, the return slots of the active
/// local calls (the rest of a frame lives in the eBPF stack), the pc.
/// A register is kept as two 32-bit halves (low first) and the frame size
/// as 32 bits: the machine is then 4-byte aligned, so zeroing it at the
/// start of a run uses the same `memclr4` builtin as the host's own code
/// instead of pulling in `memclr8` (174 bytes of flash on the Cortex-M4).
struct Machine<'c> {
    code: &'c [u8],
    frame_size: u32,
    reg: [[u32; 2]; REG_COUNT],
    frames: [u16; MAX_CALL_DEPTH],
    depth: usize,
    pc: usize,
}

impl Machine<'_> {
    /// Register `r` (an out-of-range number, which verification excludes,
    /// reads as zero and is never written).
    fn get(&self, r: u8) -> u64 {
        self.reg.get(r as usize).map_or(0, |&[lo, hi]| lo as u64 | (hi as u64) << 32)
    }

    fn set(&mut self, r: u8, v: u64) {
        if let Some(slot) = self.reg.get_mut(r as usize) {
            *slot = [v as u32, (v >> 32) as u32];
        }
    }

    /// Executes the instruction at `pc`: `Some(r0)` when the program
    /// returns from its entry.
    fn step<H: Helpers + ?Sized>(&mut self, mem: &mut MemoryMap<'_>, helpers: &mut H) -> Result<Option<u64>, TrapKind> {
        let illegal = TrapKind::IllegalInstruction;
        let insn = Insn::at(self.code, self.pc).ok_or(illegal)?;
        self.pc += 1;
        let (d, s) = (insn.dst, insn.src);
        let by_reg = insn.opc & source::MASK == source::X;
        let b = if by_reg { self.get(s) } else { insn.imm as i64 as u64 };
        let addr = |base: u64| base.wrapping_add(insn.off as i64 as u64);
        let sz = insn.opc & size::MASK;
        let n = size::bytes(sz);
        let op = insn.opc & alu::MASK;
        let class = insn.class();
        match class {
            class::ALU | class::ALU64 => {
                let v = alu(op, insn.off, self.get(d), b, insn.imm, class == class::ALU64, by_reg).ok_or(illegal)?;
                self.set(d, v);
            }
            class::JMP | class::JMP32 => match op {
                jmp::JA => {
                    let rel = if class == class::JMP32 { insn.imm as i64 } else { insn.off as i64 };
                    self.pc = (self.pc as i64 + rel) as usize;
                }
                jmp::EXIT => {
                    if self.depth == 0 {
                        return Ok(Some(self.get(0)));
                    }
                    let (fp, size) = (self.get(FRAME_REG), self.frame_size as u64);
                    let fp = pop_frame(mem, fp, size, |i, v| self.set(6 + i as u8, v))?;
                    self.set(FRAME_REG, fp);
                    self.depth -= 1;
                    self.pc = self.frames.get(self.depth).copied().ok_or(illegal)? as usize;
                }
                jmp::CALL if !by_reg && s == call::LOCAL => {
                    let slot = self.frames.get_mut(self.depth).ok_or(TrapKind::CallDepthExceeded)?;
                    // The verifier keeps pcs below 2^16 (and a call is never
                    // the last slot).
                    *slot = self.pc as u16;
                    let fp = push_frame(mem, self.get(FRAME_REG), self.frame_size as u64, |i| self.get(6 + i as u8))?;
                    self.set(FRAME_REG, fp);
                    self.depth += 1;
                    self.pc = (self.pc as i64 + insn.imm as i64) as usize;
                }
                jmp::CALL => {
                    // `call imm`, or `callx` with the id in `dst`, checked here.
                    let id = if by_reg { self.get(d) } else { insn.imm as u32 as u64 };
                    let id = match u32::try_from(id) {
                        Ok(i) if !by_reg || helpers.contains(i) => i,
                        _ => return Err(TrapKind::HelperNotAllowed { id }),
                    };
                    let args = [self.get(1), self.get(2), self.get(3), self.get(4), self.get(5)];
                    let r0 = helpers.call(id, args, mem).map_err(|error| TrapKind::Helper { id, error })?;
                    self.set(0, r0);
                }
                cond => {
                    if compare(cond, self.get(d), b, class == class::JMP).ok_or(illegal)? {
                        self.pc = (self.pc as i64 + insn.off as i64) as usize;
                    }
                }
            },
            class::LDX => {
                let v = load_le(mem, addr(self.get(s)), n)?;
                self.set(d, if insn.opc & mode::MASK == mode::MEMSX { sign_extend(v, sz) } else { v });
            }
            class::ST | class::STX if insn.opc & mode::MASK == mode::ATOMIC => {
                let old = atomic_op(insn.imm, sz, addr(self.get(d)), self.get(s), self.get(0), mem)?;
                if let Some(r) = atomic_writes(insn.imm, s) {
                    self.set(r, old);
                }
            }
            class::ST | class::STX => {
                // (The source bit is part of the size field here.)
                let v = if class == class::ST { insn.imm as i64 as u64 } else { self.get(s) };
                store_le(mem, addr(self.get(d)), n, v)?;
            }
            _ => {
                // `lddw` and its segment-relative forms: two slots.
                let hi = Insn::at(self.code, self.pc).ok_or(illegal)?;
                self.pc += 1;
                let value = (insn.imm as u32 as u64) | ((hi.imm as u32 as u64) << 32);
                let base = match insn.opc {
                    op::LDDW => 0,
                    op::LDDW_DATA => DATA_VADDR,
                    op::LDDW_RODATA => RODATA_VADDR,
                    _ => return Err(illegal),
                };
                self.set(d, base.wrapping_add(value));
            }
        }
        Ok(None)
    }
}

impl From<MemFault> for TrapKind {
    fn from(f: MemFault) -> Self {
        TrapKind::Memory(f)
    }
}

/// Sign-extends the low `size` bytes of `v`.
pub fn sign_extend(v: u64, sz: u8) -> u64 {
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
pub fn alu(op: u8, off: i16, a: u64, b: u64, imm: i32, wide: bool, by_reg: bool) -> Option<u64> {
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
        alu::DIV | alu::MOD if b == 0 => {
            if op == alu::DIV {
                0
            } else {
                a
            }
        }
        alu::DIV | alu::MOD => {
            let (q, r) = if off == 1 {
                let (q, r) = sdivmod64(signed(a), signed(b));
                (q as u64, r as u64)
            } else {
                udivmod64(a, b)
            };
            if op == alu::DIV {
                q
            } else {
                r
            }
        }
        alu::OR => a | b,
        alu::AND => a & b,
        alu::LSH => a << shift,
        alu::RSH => a >> shift,
        alu::NEG => a.wrapping_neg(),
        alu::XOR => a ^ b,
        alu::MOV => match off {
            8 => sign_extend(b, size::B),
            16 => sign_extend(b, size::H),
            32 => sign_extend(b, size::W),
            _ => b,
        },
        alu::ARSH => (signed(a) >> shift) as u64,
        _ => return None,
    };
    Some(r & mask)
}

/// 64-bit ALU semantics: [`alu`] with `wide`.
pub fn alu64(op: u8, off: i16, a: u64, b: u64, imm: i32) -> Option<u64> {
    alu(op, off, a, b, imm, true, false)
}

/// 32-bit ALU semantics: [`alu`] without `wide`.
pub fn alu32(op: u8, off: i16, a: u64, b: u32, imm: i32, by_reg: bool) -> Option<u64> {
    alu(op, off, a, b as u64, imm, false, by_reg)
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

/// Signed 64-bit quotient and remainder (RFC 9669: `INT_MIN / -1 =
/// INT_MIN`, `INT_MIN % -1 = 0`, the remainder takes the dividend's sign);
/// `b` must not be zero.
pub fn sdivmod64(a: i64, b: i64) -> (i64, i64) {
    let (q, r) = udivmod64(a.unsigned_abs(), b.unsigned_abs());
    let q = if (a < 0) != (b < 0) { (q as i64).wrapping_neg() } else { q as i64 };
    let r = if a < 0 { (r as i64).wrapping_neg() } else { r as i64 };
    (q, r)
}

/// Converts to big endian (`be16/32/64`, `bswap16/32/64`): the VM is
/// little-endian on every host, so this is an unconditional swap.
fn byte_swap(v: u64, width: i32) -> Option<u64> {
    match width {
        16 => Some((v as u16).swap_bytes() as u64),
        32 => Some((v as u32).swap_bytes() as u64),
        64 => Some(v.swap_bytes()),
        _ => None,
    }
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
pub fn compare(cond: u8, a: u64, b: u64, wide: bool) -> Option<bool> {
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
pub fn compare64(cond: u8, a: u64, b: u64) -> Option<bool> {
    compare(cond, a, b, true)
}

/// [`compare`] on 32-bit operands.
pub fn compare32(cond: u8, a: u32, b: u32) -> Option<bool> {
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
pub fn atomic_op(
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
pub fn atomic_writes(code: i32, src: u8) -> Option<u8> {
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
                assert_eq!(sdivmod64(sa, sb), (sa.wrapping_div(sb), sa.wrapping_rem(sb)), "{sa} / {sb}");
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
