//! The fast engine's interpreter: a `match` over translated [`Op`]s.
//!
//! Every guarantee of the reference interpreter holds: memory only through
//! the [`MemoryMap`] (each load and store checked, exactly as there), the
//! call depth bound, helpers checked, no panic (out-of-range slots and
//! impossible arms trap with `IllegalInstruction`). The budget is charged
//! per straight-line run rather than per instruction; see [`run_fast`].

use super::op::{Kind, Op, Reg};
use super::translate::FastProgram;
use crate::helper::Helpers;
use crate::interp::{
    alu32, alu64, atomic_op, compare32, compare64, initial_frame_pointer, sign_extend, Exit, Trap, TrapKind,
    MAX_CALL_DEPTH,
};
use crate::isa::{class, jmp, mode, op, size, source, Insn, FRAME_REG, REG_COUNT};
use crate::memory::{Access, MemoryMap};
use crate::verify::Entry;

/// The register file (`r0..=r10`), indexed by [`Reg`], which lets the
/// compiler drop bounds checks.
const FILE: usize = REG_COUNT;

#[derive(Clone, Copy, Default)]
struct Frame {
    ret: usize,
    saved: [u64; 4],
    fp: u64,
}

/// Runs a translated program from `entry`; the fast counterpart of
/// [`crate::run`], with the same arguments and results.
///
/// # Budget
/// When control arrives at a slot by a jump, a call, a return or the start
/// of the run, the whole straight-line run from there up to the next
/// control transfer is charged at once. So a run that completes executes
/// exactly the instructions the reference interpreter does and reports the
/// same [`Exit::executed`]; a run that cannot complete within `budget`
/// traps with `BudgetExhausted` at the first slot of the straight-line run
/// it cannot pay for (the reference interpreter traps at the first
/// instruction past the budget, possibly later in that run). Both engines
/// never execute more than `budget` instructions.
///
/// # Errors
/// A [`Trap`] with the slot index of the instruction that caused it.
///
/// # Panics
/// Never.
pub fn run_fast<H: Helpers + ?Sized>(
    program: &FastProgram<'_, '_>,
    entry: Entry,
    args: &[u64],
    mem: &mut MemoryMap<'_>,
    helpers: &mut H,
    budget: u64,
) -> Result<Exit, Trap> {
    if program.local_calls {
        run_with_frames(program, entry, args, mem, helpers, budget)
    } else {
        // Programs without local calls need no frame storage: their stack
        // footprint stays small (RAM per instance on a microcontroller).
        exec(program, entry, args, mem, helpers, budget, &mut [])
    }
}

#[inline(never)]
fn run_with_frames<H: Helpers + ?Sized>(
    program: &FastProgram<'_, '_>,
    entry: Entry,
    args: &[u64],
    mem: &mut MemoryMap<'_>,
    helpers: &mut H,
    budget: u64,
) -> Result<Exit, Trap> {
    let mut frames = [Frame::default(); MAX_CALL_DEPTH];
    exec(program, entry, args, mem, helpers, budget, &mut frames)
}

#[inline(never)]
fn exec<H: Helpers + ?Sized>(
    program: &FastProgram<'_, '_>,
    entry: Entry,
    args: &[u64],
    mem: &mut MemoryMap<'_>,
    helpers: &mut H,
    budget: u64,
    frames: &mut [Frame],
) -> Result<Exit, Trap> {
    let ops: &[Op] = program.ops;
    let code = program.program.code();
    let frame_size = program.program.frame_size() as u64;
    let mut r = [0u64; FILE];
    for (reg, a) in r[1..6].iter_mut().zip(args) {
        *reg = *a;
    }
    r[FRAME_REG as usize] = initial_frame_pointer(mem);
    let mut depth = 0usize;
    let mut pc = entry.pc();
    // The budget is spent from `fuel`, a 32-bit slice of it (cheap to test
    // on a 32-bit core); `reserve` holds the rest and refills it.
    let mut reserve = budget;
    let mut fuel = 0u32;

    // `r!(d)` is register `d` (a `Reg`: in range by construction).
    macro_rules! r {
        ($reg:expr) => {
            r[$reg.ix()]
        };
    }
    macro_rules! addr {
        ($base:expr, $off:expr) => {
            r!($base).wrapping_add($off as i64 as u64)
        };
    }

    // Every arm either continues with the next op (`pc` advanced, same
    // straight-line run, nothing charged) or yields the slot control moves
    // to; the shared code after the `match` charges the run starting there.
    // A trap leaves the loop with its kind (`pc` names the instruction).
    let mut next = pc;
    let kind: TrapKind = 'run: loop {
        let Some(mut op) = ops.get(next) else {
            pc = next;
            break 'run TrapKind::IllegalInstruction;
        };
        let cost = op.cost;
        pc = next;
        if fuel < cost {
            // Refill: move everything that fits in 32 bits (at least `cost`,
            // or there is not enough budget left at all).
            let total = reserve + fuel as u64;
            if total < cost as u64 {
                break 'run TrapKind::BudgetExhausted;
            }
            fuel = total.min(u32::MAX as u64) as u32;
            reserve = total - fuel as u64;
        }
        fuel -= cost;
        // The op just charged is the first to run.
        next = loop {
            // A load or store: the value, or leave with the precise fault.
            macro_rules! load {
                ($n:literal, $a:expr) => {{
                    let a = $a;
                    match mem.try_load::<$n>(a) {
                        Some(v) => v,
                        None => break 'run mem.fault(a, $n, Access::Read),
                    }
                }};
            }
            macro_rules! store {
                ($n:literal, $a:expr, $v:expr) => {{
                    let a = $a;
                    if !mem.try_store::<$n>(a, $v) {
                        break 'run mem.fault(a, $n, Access::Write);
                    }
                }};
            }
            let width = match op.kind {
                Kind::Mov64I { d, imm } => {
                    r!(d) = imm as i64 as u64;
                    1
                }
                Kind::Add64I { d, imm } => {
                    r!(d) = r!(d).wrapping_add(imm as i64 as u64);
                    1
                }
                Kind::Sub64I { d, imm } => {
                    r!(d) = r!(d).wrapping_sub(imm as i64 as u64);
                    1
                }
                Kind::Mul64I { d, imm } => {
                    r!(d) = r!(d).wrapping_mul(imm as i64 as u64);
                    1
                }
                Kind::And64I { d, imm } => {
                    r!(d) &= imm as i64 as u64;
                    1
                }
                Kind::Or64I { d, imm } => {
                    r!(d) |= imm as i64 as u64;
                    1
                }
                Kind::Xor64I { d, imm } => {
                    r!(d) ^= imm as i64 as u64;
                    1
                }
                Kind::Lsh64I { d, imm } => {
                    r!(d) = r!(d).wrapping_shl(imm as u32 & 63);
                    1
                }
                Kind::Rsh64I { d, imm } => {
                    r!(d) = r!(d).wrapping_shr(imm as u32 & 63);
                    1
                }
                Kind::Mov64R { d, s } => {
                    r!(d) = r!(s);
                    1
                }
                Kind::Add64R { d, s } => {
                    r!(d) = r!(d).wrapping_add(r!(s));
                    1
                }
                Kind::Sub64R { d, s } => {
                    r!(d) = r!(d).wrapping_sub(r!(s));
                    1
                }
                Kind::Mul64R { d, s } => {
                    r!(d) = r!(d).wrapping_mul(r!(s));
                    1
                }
                Kind::And64R { d, s } => {
                    r!(d) &= r!(s);
                    1
                }
                Kind::Or64R { d, s } => {
                    r!(d) |= r!(s);
                    1
                }
                Kind::Xor64R { d, s } => {
                    r!(d) ^= r!(s);
                    1
                }
                Kind::Lsh64R { d, s } => {
                    r!(d) = r!(d).wrapping_shl(r!(s) as u32 & 63);
                    1
                }
                Kind::Rsh64R { d, s } => {
                    r!(d) = r!(d).wrapping_shr(r!(s) as u32 & 63);
                    1
                }
                Kind::Mov32I { d, imm } => {
                    r!(d) = imm as u32 as u64;
                    1
                }
                Kind::Add32I { d, imm } => {
                    r!(d) = (r!(d) as u32).wrapping_add(imm as u32) as u64;
                    1
                }
                Kind::Sub32I { d, imm } => {
                    r!(d) = (r!(d) as u32).wrapping_sub(imm as u32) as u64;
                    1
                }
                Kind::Mul32I { d, imm } => {
                    r!(d) = (r!(d) as u32).wrapping_mul(imm as u32) as u64;
                    1
                }
                Kind::And32I { d, imm } => {
                    r!(d) = (r!(d) as u32 & imm as u32) as u64;
                    1
                }
                Kind::Or32I { d, imm } => {
                    r!(d) = (r!(d) as u32 | imm as u32) as u64;
                    1
                }
                Kind::Xor32I { d, imm } => {
                    r!(d) = (r!(d) as u32 ^ imm as u32) as u64;
                    1
                }
                Kind::Lsh32I { d, imm } => {
                    r!(d) = (r!(d) as u32).wrapping_shl(imm as u32 & 31) as u64;
                    1
                }
                Kind::Rsh32I { d, imm } => {
                    r!(d) = (r!(d) as u32).wrapping_shr(imm as u32 & 31) as u64;
                    1
                }
                Kind::Neg64 { d } => {
                    r!(d) = r!(d).wrapping_neg();
                    1
                }
                Kind::Neg32 { d } => {
                    r!(d) = (r!(d) as u32).wrapping_neg() as u64;
                    1
                }
                Kind::Arsh64I { d, imm } => {
                    r!(d) = (r!(d) as i64).wrapping_shr(imm as u32 & 63) as u64;
                    1
                }
                Kind::Arsh32I { d, imm } => {
                    r!(d) = (r!(d) as i32).wrapping_shr(imm as u32 & 31) as u32 as u64;
                    1
                }
                Kind::Div32I { d, imm } => {
                    r!(d) = (r!(d) as u32).checked_div(imm as u32).unwrap_or(0) as u64;
                    1
                }
                Kind::Mod32I { d, imm } => {
                    let a = r!(d) as u32;
                    r!(d) = a.checked_rem(imm as u32).unwrap_or(a) as u64;
                    1
                }
                Kind::Mov32R { d, s } => {
                    r!(d) = r!(s) as u32 as u64;
                    1
                }
                Kind::Add32R { d, s } => {
                    r!(d) = (r!(d) as u32).wrapping_add(r!(s) as u32) as u64;
                    1
                }
                Kind::Sub32R { d, s } => {
                    r!(d) = (r!(d) as u32).wrapping_sub(r!(s) as u32) as u64;
                    1
                }
                Kind::Mul32R { d, s } => {
                    r!(d) = (r!(d) as u32).wrapping_mul(r!(s) as u32) as u64;
                    1
                }
                Kind::And32R { d, s } => {
                    r!(d) = (r!(d) as u32 & r!(s) as u32) as u64;
                    1
                }
                Kind::Or32R { d, s } => {
                    r!(d) = (r!(d) as u32 | r!(s) as u32) as u64;
                    1
                }
                Kind::Xor32R { d, s } => {
                    r!(d) = (r!(d) as u32 ^ r!(s) as u32) as u64;
                    1
                }
                Kind::Lsh32R { d, s } => {
                    r!(d) = (r!(d) as u32).wrapping_shl(r!(s) as u32 & 31) as u64;
                    1
                }
                Kind::Rsh32R { d, s } => {
                    r!(d) = (r!(d) as u32).wrapping_shr(r!(s) as u32 & 31) as u64;
                    1
                }
                Kind::Add64Rrr { d, a, b } => {
                    r!(d) = r!(a).wrapping_add(r!(b));
                    2
                }
                Kind::Add32Rrr { d, a, b } => {
                    r!(d) = (r!(a) as u32).wrapping_add(r!(b) as u32) as u64;
                    2
                }
                Kind::Add64Rri { d, a, imm } => {
                    r!(d) = r!(a).wrapping_add(imm as i64 as u64);
                    2
                }
                Kind::Add32Rri { d, a, imm } => {
                    r!(d) = (r!(a) as u32).wrapping_add(imm as u32) as u64;
                    2
                }
                Kind::LdxBAdd32 { d, s, off, acc } => {
                    let v = load!(1, addr!(s, off));
                    r!(d) = v;
                    r!(acc) = (r!(acc) as u32).wrapping_add(v as u32) as u64;
                    2
                }
                Kind::LdxHAdd32 { d, s, off, acc } => {
                    let v = load!(2, addr!(s, off));
                    r!(d) = v;
                    r!(acc) = (r!(acc) as u32).wrapping_add(v as u32) as u64;
                    2
                }
                Kind::LdxBAdd32Inc { d, s, off, acc, inc } => {
                    let v = load!(1, addr!(s, off));
                    r!(d) = v;
                    r!(acc) = (r!(acc) as u32).wrapping_add(v as u32) as u64;
                    r!(s) = r!(s).wrapping_add(inc as i64 as u64);
                    3
                }
                Kind::LdxHAdd32Inc { d, s, off, acc, inc } => {
                    let v = load!(2, addr!(s, off));
                    r!(d) = v;
                    r!(acc) = (r!(acc) as u32).wrapping_add(v as u32) as u64;
                    r!(s) = r!(s).wrapping_add(inc as i64 as u64);
                    3
                }
                Kind::Lddw { d, lo } => {
                    let Some(Op { kind: Kind::Wide { hi }, .. }) = ops.get(pc + 1) else {
                        break 'run TrapKind::IllegalInstruction;
                    };
                    r!(d) = (lo as u32 as u64) | ((*hi as u32 as u64) << 32);
                    2
                }
                Kind::LdxB { d, s, off } => {
                    r!(d) = load!(1, addr!(s, off));
                    1
                }
                Kind::LdxH { d, s, off } => {
                    r!(d) = load!(2, addr!(s, off));
                    1
                }
                Kind::LdxW { d, s, off } => {
                    r!(d) = load!(4, addr!(s, off));
                    1
                }
                Kind::LdxDw { d, s, off } => {
                    r!(d) = load!(8, addr!(s, off));
                    1
                }
                Kind::StxB { d, s, off } => {
                    store!(1, addr!(d, off), r!(s));
                    1
                }
                Kind::StxH { d, s, off } => {
                    store!(2, addr!(d, off), r!(s));
                    1
                }
                Kind::StxW { d, s, off } => {
                    store!(4, addr!(d, off), r!(s));
                    1
                }
                Kind::StxDw { d, s, off } => {
                    store!(8, addr!(d, off), r!(s));
                    1
                }
                Kind::StB { d, off, imm } => {
                    store!(1, addr!(d, off), imm as i64 as u64);
                    1
                }
                Kind::StH { d, off, imm } => {
                    store!(2, addr!(d, off), imm as i64 as u64);
                    1
                }
                Kind::StW { d, off, imm } => {
                    store!(4, addr!(d, off), imm as i64 as u64);
                    1
                }
                Kind::StDw { d, off, imm } => {
                    store!(8, addr!(d, off), imm as i64 as u64);
                    1
                }
                // Control transfers: yield where control goes.
                Kind::Ja { t } => break t as usize,
                Kind::Jeq64I { d, imm, t } => break if r!(d) == imm as i64 as u64 { t as usize } else { pc + 1 },
                Kind::Jne64I { d, imm, t } => break if r!(d) != imm as i64 as u64 { t as usize } else { pc + 1 },
                Kind::Jlt64I { d, imm, t } => break if r!(d) < imm as i64 as u64 { t as usize } else { pc + 1 },
                Kind::Jle64I { d, imm, t } => break if r!(d) <= imm as i64 as u64 { t as usize } else { pc + 1 },
                Kind::Jgt64I { d, imm, t } => break if r!(d) > imm as i64 as u64 { t as usize } else { pc + 1 },
                Kind::Jge64I { d, imm, t } => break if r!(d) >= imm as i64 as u64 { t as usize } else { pc + 1 },
                Kind::Jeq64R { d, s, t } => break if r!(d) == r!(s) { t as usize } else { pc + 1 },
                Kind::Jne64R { d, s, t } => break if r!(d) != r!(s) { t as usize } else { pc + 1 },
                Kind::Jlt64R { a, b, t } => break if r!(a) < r!(b) { t as usize } else { pc + 1 },
                Kind::Jle64R { a, b, t } => break if r!(a) <= r!(b) { t as usize } else { pc + 1 },
                Kind::Jeq32I { d, imm, t } => break if r!(d) as u32 == imm as u32 { t as usize } else { pc + 1 },
                Kind::Jne32I { d, imm, t } => break if r!(d) as u32 != imm as u32 { t as usize } else { pc + 1 },
                Kind::Jlt32I { d, imm, t } => break if (r!(d) as u32) < imm as u32 { t as usize } else { pc + 1 },
                Kind::Jle32I { d, imm, t } => break if r!(d) as u32 <= imm as u32 { t as usize } else { pc + 1 },
                Kind::Jgt32I { d, imm, t } => break if r!(d) as u32 > imm as u32 { t as usize } else { pc + 1 },
                Kind::Jge32I { d, imm, t } => break if r!(d) as u32 >= imm as u32 { t as usize } else { pc + 1 },
                Kind::Jeq32R { d, s, t } => break if r!(d) as u32 == r!(s) as u32 { t as usize } else { pc + 1 },
                Kind::Jne32R { d, s, t } => break if r!(d) as u32 != r!(s) as u32 { t as usize } else { pc + 1 },
                Kind::Jlt32R { a, b, t } => break if (r!(a) as u32) < r!(b) as u32 { t as usize } else { pc + 1 },
                Kind::Jle32R { a, b, t } => break if r!(a) as u32 <= r!(b) as u32 { t as usize } else { pc + 1 },
                Kind::Add32IJne0 { d, imm, t } => {
                    let v = (r!(d) as u32).wrapping_add(imm as u32);
                    r!(d) = v as u64;
                    break if v != 0 { t as usize } else { pc + 2 };
                }
                Kind::Add32IMovJne0 { d, imm, x, y, t } => {
                    let v = (r!(d) as u32).wrapping_add(imm as i32 as u32);
                    r!(d) = v as u64;
                    r!(x) = r!(y) as u32 as u64;
                    break if v != 0 { t as usize } else { pc + 3 };
                }
                Kind::Mov32RJne32I { d, s, a, imm, t } => {
                    r!(d) = r!(s) as u32 as u64;
                    break if r!(a) as u32 != imm as i32 as u32 { t as usize } else { pc + 2 };
                }
                Kind::CallHelper { id } => {
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    r[0] = match helpers.call(id, args, mem) {
                        Ok(v) => v,
                        Err(error) => break 'run TrapKind::Helper { id, error },
                    };
                    1
                }
                Kind::CallX { d } => {
                    let id = r!(d);
                    let id32 = match u32::try_from(id) {
                        Ok(i) if helpers.contains(i) => i,
                        _ => break 'run TrapKind::HelperNotAllowed { id },
                    };
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    r[0] = match helpers.call(id32, args, mem) {
                        Ok(v) => v,
                        Err(error) => break 'run TrapKind::Helper { id: id32, error },
                    };
                    1
                }
                Kind::CallLocal { t } => {
                    let Some(frame) = frames.get_mut(depth) else { break 'run TrapKind::CallDepthExceeded };
                    let fp = r[FRAME_REG as usize];
                    *frame = Frame { ret: pc + 1, saved: [r[6], r[7], r[8], r[9]], fp };
                    depth += 1;
                    r[FRAME_REG as usize] = fp.wrapping_sub(frame_size);
                    break t as usize;
                }
                Kind::Exit => {
                    if depth == 0 {
                        return Ok(Exit { r0: r[0], executed: budget - reserve - fuel as u64 });
                    }
                    depth -= 1;
                    let Some(f) = frames.get(depth).copied() else { break 'run TrapKind::IllegalInstruction };
                    r[6..10].copy_from_slice(&f.saved);
                    r[FRAME_REG as usize] = f.fp;
                    break f.ret;
                }
                Kind::Generic => {
                    let Some(insn) = Insn::at(code, pc) else { break 'run TrapKind::IllegalInstruction };
                    match generic(&insn, &mut r, mem) {
                        Ok(Flow::Next) => 1,
                        Ok(Flow::Jump(rel)) => break (pc as i64 + 1 + rel) as usize,
                        Ok(Flow::Fallthrough) => break pc + 1,
                        Err(kind) => break 'run kind,
                    }
                }
                Kind::Wide { .. } | Kind::Illegal => break 'run TrapKind::IllegalInstruction,
            };
            pc += width;
            op = match ops.get(pc) {
                Some(op) => op,
                None => break 'run TrapKind::IllegalInstruction,
            };
        };
    };
    Err(Trap { pc, kind })
}

/// What a generic instruction does to control flow.
enum Flow {
    /// Continue with the next slot (same straight-line run).
    Next,
    /// A conditional jump not taken (a new run starts at the next slot).
    Fallthrough,
    /// Jump by this many slots past the next one.
    Jump(i64),
}

/// Executes one instruction that has no specialised form, with the
/// reference interpreter's semantic functions.
#[inline(never)]
fn generic(insn: &Insn, r: &mut [u64; FILE], mem: &mut MemoryMap<'_>) -> Result<Flow, TrapKind> {
    let (d, s) = (Reg::new(insn.dst).ix(), Reg::new(insn.src).ix());
    let by_reg = insn.opc & source::MASK == source::X;
    let imm64 = insn.imm as i64 as u64;
    let off = insn.off as i64 as u64;
    let illegal = TrapKind::IllegalInstruction;
    match insn.class() {
        class::ALU64 => {
            let b = if by_reg { r[s] } else { imm64 };
            r[d] = alu64(insn.opc & crate::isa::alu::MASK, insn.off, r[d], b, insn.imm).ok_or(illegal)?;
        }
        class::ALU => {
            let b = if by_reg { r[s] as u32 } else { insn.imm as u32 };
            r[d] = alu32(insn.opc & crate::isa::alu::MASK, insn.off, r[d], b, insn.imm, by_reg).ok_or(illegal)?;
        }
        class::JMP32 if insn.opc == op::JA32 => return Ok(Flow::Jump(insn.imm as i64)),
        class::JMP | class::JMP32 => {
            let cond = insn.opc & jmp::MASK;
            let taken = if insn.class() == class::JMP32 {
                compare32(cond, r[d] as u32, if by_reg { r[s] as u32 } else { insn.imm as u32 })
            } else {
                compare64(cond, r[d], if by_reg { r[s] } else { imm64 })
            };
            return match taken {
                Some(true) => Ok(Flow::Jump(insn.off as i64)),
                Some(false) => Ok(Flow::Fallthrough),
                None => Err(illegal),
            };
        }
        class::LDX if insn.opc & mode::MASK == mode::MEMSX => {
            let addr = r[s].wrapping_add(off);
            let sz = insn.opc & size::MASK;
            let v = match sz {
                size::B => mem.load::<1>(addr),
                size::H => mem.load::<2>(addr),
                _ => mem.load::<4>(addr),
            }
            .map_err(TrapKind::Memory)?;
            r[d] = sign_extend(v, sz);
        }
        class::STX if insn.opc & mode::MASK == mode::ATOMIC => {
            let addr = r[d].wrapping_add(off);
            atomic_op(insn.imm, insn.opc & size::MASK, addr, s, r, mem).map_err(TrapKind::Memory)?;
        }
        _ => return Err(illegal),
    }
    Ok(Flow::Next)
}
