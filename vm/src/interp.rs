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

use crate::abi::{DATA_VADDR, MAX_CALL_DEPTH, RODATA_VADDR};
use crate::helper::Helpers;
use crate::isa::{alu, call, class, jmp, mode, op, size, source, Insn, FRAME_REG, REG_COUNT};
use crate::memory::MemoryMap;
use crate::semantics::{
    alu, atomic_op, atomic_writes, compare, initial_frame_pointer, load_le, pop_frame, push_frame, shared_sign_extend,
    store_le,
};
use crate::trap::{Exit, Trap, TrapKind};
use crate::verify::{Entry, Program};

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
        // Verification keeps both register fields of every instruction in
        // range; checked once here, so that no access below checks again.
        if d as usize >= REG_COUNT || s as usize >= REG_COUNT {
            return Err(illegal);
        }
        let by_reg = insn.opc & source::MASK == source::X;
        // The values of `dst` and `src`, read once for every form that
        // uses them.
        let (dv, sv) = (self.get(d), self.get(s));
        let b = if by_reg { sv } else { insn.imm as i64 as u64 };
        let addr = |base: u64| base.wrapping_add(insn.off as i64 as u64);
        let sz = insn.opc & size::MASK;
        let n = size::bytes(sz);
        let op = insn.opc & alu::MASK;
        let class = insn.class();
        match class {
            class::ALU | class::ALU64 => {
                let v = alu(op, insn.off, dv, b, insn.imm, class == class::ALU64, by_reg).ok_or(illegal)?;
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
                    let id = if by_reg { dv } else { insn.imm as u32 as u64 };
                    let id = match u32::try_from(id) {
                        Ok(i) if !by_reg || helpers.contains(i) => i,
                        _ => return Err(TrapKind::HelperNotAllowed { id }),
                    };
                    let args = [self.get(1), self.get(2), self.get(3), self.get(4), self.get(5)];
                    let r0 = helpers.call(id, args, mem).map_err(|error| TrapKind::Helper { id, error })?;
                    self.set(0, r0);
                }
                cond => {
                    if compare(cond, dv, b, class == class::JMP).ok_or(illegal)? {
                        self.pc = (self.pc as i64 + insn.off as i64) as usize;
                    }
                }
            },
            class::LDX => {
                let v = load_le(mem, addr(sv), n)?;
                self.set(d, if insn.opc & mode::MASK == mode::MEMSX { shared_sign_extend(v, sz) } else { v });
            }
            class::ST | class::STX if insn.opc & mode::MASK == mode::ATOMIC => {
                let old = atomic_op(insn.imm, sz, addr(dv), sv, self.get(0), mem)?;
                if let Some(r) = atomic_writes(insn.imm, s) {
                    self.set(r, old);
                }
            }
            class::ST | class::STX => {
                // (The source bit is part of the size field here.)
                let v = if class == class::ST { insn.imm as i64 as u64 } else { sv };
                store_le(mem, addr(dv), n, v)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::NoHelpers;
    use crate::isa::{op, Insn};
    use crate::Invocation;

    /// Runs `insns` (at most 8) as if verified: the defensive paths are
    /// reached only by code the verifier rejects.
    fn run_unverified(insns: &[Insn]) -> Result<Exit, Trap> {
        let mut code = [0u8; 64];
        for (slot, insn) in code.chunks_mut(8).zip(insns) {
            slot.copy_from_slice(&insn.encode());
        }
        let program = Program::verified(&code[..8 * insns.len()], 0);
        let mut stack = [0u8; 64];
        let mut inv = Invocation::<3>::sized(&mut stack, &[]).unwrap();
        let args = inv.args();
        run(&program, program.main(), &args, inv.memory_mut(), &mut NoHelpers, 100)
    }

    /// A register field above `r10` in any instruction, used or not, is an
    /// illegal instruction at that pc: the one check at decode, which
    /// verification makes unreachable.
    #[test]
    fn register_fields_out_of_range_trap_at_decode() {
        let mov = Insn { opc: 0xb7, dst: 0, imm: 1, ..Insn::default() }; // mov r0, 1
        let exit = Insn { opc: op::EXIT, ..Insn::default() };
        let illegal = |pc| Err(Trap { pc, kind: TrapKind::IllegalInstruction });
        assert_eq!(run_unverified(&[mov, exit]).map(|e| e.r0), Ok(1));
        for reg in [11, 15] {
            assert_eq!(run_unverified(&[mov, Insn { dst: reg, ..mov }, exit]), illegal(1));
            assert_eq!(run_unverified(&[mov, Insn { src: reg, ..mov }, exit]), illegal(1));
            assert_eq!(run_unverified(&[mov, Insn { dst: reg, ..exit }]), illegal(1));
            assert_eq!(run_unverified(&[Insn { src: reg, ..exit }]), illegal(0));
        }
    }
}
