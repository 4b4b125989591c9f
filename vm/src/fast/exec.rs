//! The fast engine's interpreter: a `match` over translated [`Op`]s.
//!
//! Every guarantee of the reference interpreter holds: memory only through
//! the [`MemoryMap`] (each load and store checked, exactly as there), the
//! call depth bound, helpers checked, no panic (out-of-range slots and
//! impossible arms trap with `IllegalInstruction`). The budget is charged
//! per straight-line run rather than per instruction; see [`run_fast`].

use super::op::{Kind, Op};
use super::translate::FastProgram;
use crate::helper::Helpers;
use crate::interp::{
    alu32, alu64, atomic_op, compare32, compare64, initial_frame_pointer, sign_extend, Exit, Trap, TrapKind,
    MAX_CALL_DEPTH,
};
use crate::isa::{class, jmp, mode, op, size, source, Insn, FRAME_REG};
use crate::memory::{MemFault, MemoryMap};
use crate::verify::Entry;

/// Registers live in a 16-entry file indexed with `r & 15`, which lets the
/// compiler drop bounds checks; `r11..r15` are never touched.
const FILE: usize = 16;

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

#[inline(always)]
fn ix(r: u8) -> usize {
    (r & 15) as usize
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
    let mut left = budget;

    macro_rules! trap {
        ($kind:expr) => {
            return Err(Trap { pc, kind: $kind })
        };
    }
    // Charges the straight-line run starting at slot `$to` and moves there.
    macro_rules! goto {
        ($to:expr) => {{
            let to = $to as usize;
            let cost = match ops.get(to) {
                Some(op) => op.cost as u64,
                None => trap!(TrapKind::IllegalInstruction),
            };
            if left < cost {
                pc = to;
                trap!(TrapKind::BudgetExhausted);
            }
            left -= cost;
            pc = to;
        }};
    }
    macro_rules! mem {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(f) => trap!(TrapKind::Memory(f)),
            }
        };
    }
    macro_rules! branch {
        ($cond:expr, $t:expr, $width:expr) => {
            if $cond {
                goto!($t)
            } else {
                goto!(pc + $width)
            }
        };
    }

    goto!(pc);
    loop {
        let Some(op) = ops.get(pc) else { trap!(TrapKind::IllegalInstruction) };
        match op.kind {
            Kind::Mov64I { d, imm } => r[ix(d)] = imm as i64 as u64,
            Kind::Add64I { d, imm } => r[ix(d)] = r[ix(d)].wrapping_add(imm as i64 as u64),
            Kind::Sub64I { d, imm } => r[ix(d)] = r[ix(d)].wrapping_sub(imm as i64 as u64),
            Kind::Mul64I { d, imm } => r[ix(d)] = r[ix(d)].wrapping_mul(imm as i64 as u64),
            Kind::And64I { d, imm } => r[ix(d)] &= imm as i64 as u64,
            Kind::Or64I { d, imm } => r[ix(d)] |= imm as i64 as u64,
            Kind::Xor64I { d, imm } => r[ix(d)] ^= imm as i64 as u64,
            Kind::Lsh64I { d, imm } => r[ix(d)] = r[ix(d)].wrapping_shl(imm as u32 & 63),
            Kind::Rsh64I { d, imm } => r[ix(d)] = r[ix(d)].wrapping_shr(imm as u32 & 63),
            Kind::Mov64R { d, s } => r[ix(d)] = r[ix(s)],
            Kind::Add64R { d, s } => r[ix(d)] = r[ix(d)].wrapping_add(r[ix(s)]),
            Kind::Sub64R { d, s } => r[ix(d)] = r[ix(d)].wrapping_sub(r[ix(s)]),
            Kind::Mul64R { d, s } => r[ix(d)] = r[ix(d)].wrapping_mul(r[ix(s)]),
            Kind::And64R { d, s } => r[ix(d)] &= r[ix(s)],
            Kind::Or64R { d, s } => r[ix(d)] |= r[ix(s)],
            Kind::Xor64R { d, s } => r[ix(d)] ^= r[ix(s)],
            Kind::Lsh64R { d, s } => r[ix(d)] = r[ix(d)].wrapping_shl(r[ix(s)] as u32 & 63),
            Kind::Rsh64R { d, s } => r[ix(d)] = r[ix(d)].wrapping_shr(r[ix(s)] as u32 & 63),
            Kind::Mov32I { d, imm } => r[ix(d)] = imm as u32 as u64,
            Kind::Add32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32).wrapping_add(imm as u32) as u64,
            Kind::Sub32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32).wrapping_sub(imm as u32) as u64,
            Kind::Mul32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32).wrapping_mul(imm as u32) as u64,
            Kind::And32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32 & imm as u32) as u64,
            Kind::Or32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32 | imm as u32) as u64,
            Kind::Xor32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32 ^ imm as u32) as u64,
            Kind::Lsh32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32).wrapping_shl(imm as u32 & 31) as u64,
            Kind::Rsh32I { d, imm } => r[ix(d)] = (r[ix(d)] as u32).wrapping_shr(imm as u32 & 31) as u64,
            Kind::Mov32R { d, s } => r[ix(d)] = r[ix(s)] as u32 as u64,
            Kind::Add32R { d, s } => r[ix(d)] = (r[ix(d)] as u32).wrapping_add(r[ix(s)] as u32) as u64,
            Kind::Sub32R { d, s } => r[ix(d)] = (r[ix(d)] as u32).wrapping_sub(r[ix(s)] as u32) as u64,
            Kind::Mul32R { d, s } => r[ix(d)] = (r[ix(d)] as u32).wrapping_mul(r[ix(s)] as u32) as u64,
            Kind::And32R { d, s } => r[ix(d)] = (r[ix(d)] as u32 & r[ix(s)] as u32) as u64,
            Kind::Or32R { d, s } => r[ix(d)] = (r[ix(d)] as u32 | r[ix(s)] as u32) as u64,
            Kind::Xor32R { d, s } => r[ix(d)] = (r[ix(d)] as u32 ^ r[ix(s)] as u32) as u64,
            Kind::Lsh32R { d, s } => r[ix(d)] = (r[ix(d)] as u32).wrapping_shl(r[ix(s)] as u32 & 31) as u64,
            Kind::Rsh32R { d, s } => r[ix(d)] = (r[ix(d)] as u32).wrapping_shr(r[ix(s)] as u32 & 31) as u64,
            Kind::Add64Rrr { d, a, b } => {
                r[ix(d)] = r[ix(a)].wrapping_add(r[ix(b)]);
                pc += 1;
            }
            Kind::Add32Rrr { d, a, b } => {
                r[ix(d)] = (r[ix(a)] as u32).wrapping_add(r[ix(b)] as u32) as u64;
                pc += 1;
            }
            Kind::Add64Rri { d, a, imm } => {
                r[ix(d)] = r[ix(a)].wrapping_add(imm as i64 as u64);
                pc += 1;
            }
            Kind::Add32Rri { d, a, imm } => {
                r[ix(d)] = (r[ix(a)] as u32).wrapping_add(imm as u32) as u64;
                pc += 1;
            }
            Kind::LdxBAdd32 { d, s, off, acc } => {
                let v = mem!(mem.load::<1>(r[ix(s)].wrapping_add(off as i64 as u64)));
                r[ix(d)] = v;
                r[ix(acc)] = (r[ix(acc)] as u32).wrapping_add(v as u32) as u64;
                pc += 1;
            }
            Kind::LdxHAdd32 { d, s, off, acc } => {
                let v = mem!(mem.load::<2>(r[ix(s)].wrapping_add(off as i64 as u64)));
                r[ix(d)] = v;
                r[ix(acc)] = (r[ix(acc)] as u32).wrapping_add(v as u32) as u64;
                pc += 1;
            }
            Kind::Lddw { d, lo } => {
                let Some(Op { kind: Kind::Wide { hi }, .. }) = ops.get(pc + 1) else {
                    trap!(TrapKind::IllegalInstruction)
                };
                r[ix(d)] = (lo as u32 as u64) | ((*hi as u32 as u64) << 32);
                pc += 1;
            }
            Kind::LdxB { d, s, off } => r[ix(d)] = mem!(mem.load::<1>(r[ix(s)].wrapping_add(off as i64 as u64))),
            Kind::LdxH { d, s, off } => r[ix(d)] = mem!(mem.load::<2>(r[ix(s)].wrapping_add(off as i64 as u64))),
            Kind::LdxW { d, s, off } => r[ix(d)] = mem!(mem.load::<4>(r[ix(s)].wrapping_add(off as i64 as u64))),
            Kind::LdxDw { d, s, off } => r[ix(d)] = mem!(mem.load::<8>(r[ix(s)].wrapping_add(off as i64 as u64))),
            Kind::StxB { d, s, off } => mem!(mem.store::<1>(r[ix(d)].wrapping_add(off as i64 as u64), r[ix(s)])),
            Kind::StxH { d, s, off } => mem!(mem.store::<2>(r[ix(d)].wrapping_add(off as i64 as u64), r[ix(s)])),
            Kind::StxW { d, s, off } => mem!(mem.store::<4>(r[ix(d)].wrapping_add(off as i64 as u64), r[ix(s)])),
            Kind::StxDw { d, s, off } => mem!(mem.store::<8>(r[ix(d)].wrapping_add(off as i64 as u64), r[ix(s)])),
            Kind::StB { d, off, imm } => {
                mem!(mem.store::<1>(r[ix(d)].wrapping_add(off as i64 as u64), imm as i64 as u64))
            }
            Kind::StH { d, off, imm } => {
                mem!(mem.store::<2>(r[ix(d)].wrapping_add(off as i64 as u64), imm as i64 as u64))
            }
            Kind::StW { d, off, imm } => {
                mem!(mem.store::<4>(r[ix(d)].wrapping_add(off as i64 as u64), imm as i64 as u64))
            }
            Kind::StDw { d, off, imm } => {
                mem!(mem.store::<8>(r[ix(d)].wrapping_add(off as i64 as u64), imm as i64 as u64))
            }
            Kind::Ja { t } => {
                goto!(t);
                continue;
            }
            Kind::Jeq64I { d, imm, t } => {
                branch!(r[ix(d)] == imm as i64 as u64, t, 1);
                continue;
            }
            Kind::Jne64I { d, imm, t } => {
                branch!(r[ix(d)] != imm as i64 as u64, t, 1);
                continue;
            }
            Kind::Jlt64I { d, imm, t } => {
                branch!(r[ix(d)] < imm as i64 as u64, t, 1);
                continue;
            }
            Kind::Jle64I { d, imm, t } => {
                branch!(r[ix(d)] <= imm as i64 as u64, t, 1);
                continue;
            }
            Kind::Jgt64I { d, imm, t } => {
                branch!(r[ix(d)] > imm as i64 as u64, t, 1);
                continue;
            }
            Kind::Jge64I { d, imm, t } => {
                branch!(r[ix(d)] >= imm as i64 as u64, t, 1);
                continue;
            }
            Kind::Jeq64R { d, s, t } => {
                branch!(r[ix(d)] == r[ix(s)], t, 1);
                continue;
            }
            Kind::Jne64R { d, s, t } => {
                branch!(r[ix(d)] != r[ix(s)], t, 1);
                continue;
            }
            Kind::Jlt64R { a, b, t } => {
                branch!(r[ix(a)] < r[ix(b)], t, 1);
                continue;
            }
            Kind::Jle64R { a, b, t } => {
                branch!(r[ix(a)] <= r[ix(b)], t, 1);
                continue;
            }
            Kind::Jeq32I { d, imm, t } => {
                branch!(r[ix(d)] as u32 == imm as u32, t, 1);
                continue;
            }
            Kind::Jne32I { d, imm, t } => {
                branch!(r[ix(d)] as u32 != imm as u32, t, 1);
                continue;
            }
            Kind::Jlt32I { d, imm, t } => {
                branch!((r[ix(d)] as u32) < imm as u32, t, 1);
                continue;
            }
            Kind::Jle32I { d, imm, t } => {
                branch!(r[ix(d)] as u32 <= imm as u32, t, 1);
                continue;
            }
            Kind::Jgt32I { d, imm, t } => {
                branch!(r[ix(d)] as u32 > imm as u32, t, 1);
                continue;
            }
            Kind::Jge32I { d, imm, t } => {
                branch!(r[ix(d)] as u32 >= imm as u32, t, 1);
                continue;
            }
            Kind::Jeq32R { d, s, t } => {
                branch!(r[ix(d)] as u32 == r[ix(s)] as u32, t, 1);
                continue;
            }
            Kind::Jne32R { d, s, t } => {
                branch!(r[ix(d)] as u32 != r[ix(s)] as u32, t, 1);
                continue;
            }
            Kind::Jlt32R { a, b, t } => {
                branch!((r[ix(a)] as u32) < r[ix(b)] as u32, t, 1);
                continue;
            }
            Kind::Jle32R { a, b, t } => {
                branch!(r[ix(a)] as u32 <= r[ix(b)] as u32, t, 1);
                continue;
            }
            Kind::Add32IJne0 { d, imm, t } => {
                let v = (r[ix(d)] as u32).wrapping_add(imm as u32);
                r[ix(d)] = v as u64;
                branch!(v != 0, t, 2);
                continue;
            }
            Kind::Mov32RJne32I { d, s, a, imm, t } => {
                r[ix(d)] = r[ix(s)] as u32 as u64;
                branch!(r[ix(a)] as u32 != imm as i32 as u32, t, 2);
                continue;
            }
            Kind::CallHelper { id } => {
                let args = [r[1], r[2], r[3], r[4], r[5]];
                r[0] = match helpers.call(id, args, mem) {
                    Ok(v) => v,
                    Err(error) => trap!(TrapKind::Helper { id, error }),
                };
            }
            Kind::CallX { d } => {
                let id = r[ix(d)];
                let id32 = match u32::try_from(id) {
                    Ok(i) if helpers.contains(i) => i,
                    _ => trap!(TrapKind::HelperNotAllowed { id }),
                };
                let args = [r[1], r[2], r[3], r[4], r[5]];
                r[0] = match helpers.call(id32, args, mem) {
                    Ok(v) => v,
                    Err(error) => trap!(TrapKind::Helper { id: id32, error }),
                };
            }
            Kind::CallLocal { t } => {
                let Some(frame) = frames.get_mut(depth) else { trap!(TrapKind::CallDepthExceeded) };
                let fp = r[FRAME_REG as usize];
                *frame = Frame { ret: pc + 1, saved: [r[6], r[7], r[8], r[9]], fp };
                depth += 1;
                r[FRAME_REG as usize] = fp.wrapping_sub(frame_size);
                goto!(t);
                continue;
            }
            Kind::Exit => {
                if depth == 0 {
                    return Ok(Exit { r0: r[0], executed: budget - left });
                }
                depth -= 1;
                let Some(f) = frames.get(depth).copied() else { trap!(TrapKind::IllegalInstruction) };
                r[6..10].copy_from_slice(&f.saved);
                r[FRAME_REG as usize] = f.fp;
                goto!(f.ret);
                continue;
            }
            Kind::Generic => {
                let Some(insn) = Insn::at(code, pc) else { trap!(TrapKind::IllegalInstruction) };
                match generic(&insn, &mut r, mem) {
                    Ok(Flow::Next) => {}
                    Ok(Flow::Jump(rel)) => {
                        goto!((pc as i64 + 1 + rel) as usize);
                        continue;
                    }
                    Ok(Flow::Fallthrough) => {
                        goto!(pc + 1);
                        continue;
                    }
                    Err(kind) => trap!(kind),
                }
            }
            Kind::Wide { .. } | Kind::Illegal => trap!(TrapKind::IllegalInstruction),
        }
        pc += 1;
    }
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
    let (d, s) = (ix(insn.dst), ix(insn.src));
    let by_reg = insn.opc & source::MASK == source::X;
    let imm64 = insn.imm as i64 as u64;
    let off = insn.off as i64 as u64;
    let illegal = TrapKind::IllegalInstruction;
    match insn.class() {
        class::ALU64 => {
            let b = if by_reg { r[s] } else { imm64 };
            r[d] = alu64(insn.opc & 0xf0, insn.off, r[d], b, insn.imm).ok_or(illegal)?;
        }
        class::ALU => {
            let b = if by_reg { r[s] as u32 } else { insn.imm as u32 };
            r[d] = alu32(insn.opc & 0xf0, insn.off, r[d], b, insn.imm, by_reg).ok_or(illegal)?;
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
            let mut file = [0u64; crate::isa::REG_COUNT];
            file.copy_from_slice(&r[..crate::isa::REG_COUNT]);
            let addr = r[d].wrapping_add(off);
            atomic_op(insn.imm, insn.opc & size::MASK, addr, s, &mut file, mem)
                .map_err(|f: MemFault| TrapKind::Memory(f))?;
            r[..crate::isa::REG_COUNT].copy_from_slice(&file);
        }
        _ => return Err(illegal),
    }
    Ok(Flow::Next)
}
