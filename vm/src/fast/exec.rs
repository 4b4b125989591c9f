//! The fast engine's interpreter: a `match` over translated [`Op`]s, one
//! arm per row of the instruction-set table ([`super::table`]): the row's
//! body, then the move to a successor its width and flow give.
//!
//! Every guarantee of the reference interpreter holds: memory only through
//! the [`MemoryMap`] (each load and store checked, through the windows of
//! [`super::window`], which lend regions out of the map and check exactly
//! as it does), the call depth bound, helpers checked, no panic
//! (out-of-range slots and impossible arms trap with `IllegalInstruction`).
//! The budget is checked per straight-line run rather than per
//! instruction; see [`run_fast`].

use super::op::{Kind, Op, Reg};
use super::program::FastProgram;
use super::regs::Regs;
use super::translate::run_cost;
use super::window::Windows;
use crate::abi::MAX_CALL_DEPTH;
use crate::helper::Helpers;
use crate::isa::{class, jmp, mode, op, size, source, Insn};
use crate::memory::{Access, MemoryMap};
use crate::semantics::{
    alu32, alu64, atomic_op, atomic_writes, compare32, compare64, initial_frame_pointer, pop_frame, push_frame,
    sign_extend, signed_division, swap16, swap32, swap64, udiv32, udiv64, umod32, umod64,
};
use crate::trap::{Exit, Trap, TrapKind};
use crate::verify::Entry;

/// Fuel is kept in 32 bits (cheap on a 32-bit core) and refilled from the
/// rest of the budget; it never exceeds this, so fuel minus the longest run
/// (at most 2^16), plus the one-instruction refunds of a run's `lddw`s, all
/// counted in bytes of ops (`OP_BYTES` a slot), is always a valid `i32` (see
/// `mark` in `exec`).
const FUEL_CAP: u32 = 1 << 27;

/// Bytes of one op: the step between the slots `exec`'s op pointer visits,
/// and the unit of its fuel arithmetic (`mark`).
const OP_BYTES: usize = core::mem::size_of::<Op>();

/// `log2(OP_BYTES)`: fuel counted in bytes of ops, back to slots.
const OP_SHIFT: u32 = OP_BYTES.trailing_zeros();

/// Runs a translated program from `entry`; the fast counterpart of
/// [`crate::run`], with the same arguments and results.
///
/// # Budget
/// When control arrives at a slot by a jump, a call, a return or the start
/// of the run, the engine makes sure the whole straight-line run from there
/// up to the next control transfer can be paid for, and charges it when it
/// reaches that transfer. While more fuel is left than the program's
/// longest run, that needs one compare; below it, the run's exact cost is
/// looked up. So a run that completes executes exactly the instructions the
/// reference interpreter does and reports the same [`Exit::executed`]; a
/// run that cannot complete within `budget` traps with `BudgetExhausted`
/// at the first slot of the straight-line run it cannot pay for (the
/// reference interpreter traps at the first instruction past the budget,
/// possibly later in that run). Both engines never execute more than
/// `budget` instructions.
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
    if entry.pc() >= program.ops.len() {
        // An entry of another program: `exec`'s op fetch relies on this.
        return Err(Trap { pc: entry.pc(), kind: TrapKind::IllegalInstruction });
    }
    if program.local_calls {
        run_with_frames(program, entry, args, mem, helpers, budget)
    } else {
        // Programs without local calls need no return addresses: their
        // stack footprint stays small (RAM per instance on a device).
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
    let mut frames = [0u16; MAX_CALL_DEPTH];
    exec(program, entry, args, mem, helpers, budget, &mut frames)
}

/// The budget beyond the fuel of the run in progress, and what refilling
/// the fuel needs (kept out of the interpreter loop's registers).
struct Tank<'c> {
    /// The budget not yet moved into fuel.
    reserve: u64,
    /// Instructions in the program's longest straight-line run.
    max_run: u32,
    code: &'c [u8],
    /// The op of slot 0.
    base: *const Op,
}

impl Tank<'_> {
    /// Fuel in instructions from `over`, the fuel minus `max_run` in bytes
    /// of ops (exact: a multiple of `OP_BYTES`).
    fn fuel(&self, over: u32) -> u32 {
        (((over as i32) >> OP_SHIFT) as u32).wrapping_add(self.max_run)
    }

    /// Makes sure the straight-line run at the op `at` can be paid for
    /// with the fuel `over` stands for (see [`Tank::fuel`]): refills it
    /// from the reserve and returns it in the same form, or `None` when the
    /// budget cannot pay for the run.
    #[cold]
    #[inline(never)]
    fn refuel(&mut self, over: u32, at: *const Op) -> Option<u32> {
        let total = self.reserve + self.fuel(over) as u64;
        let fuel = total.min(FUEL_CAP as u64) as u32;
        self.reserve = total - fuel as u64;
        let pc = (at as usize).wrapping_sub(self.base as usize) / OP_BYTES;
        let payable = fuel >= self.max_run || fuel >= run_cost(self.code, pc);
        payable.then(|| fuel.wrapping_sub(self.max_run).wrapping_shl(OP_SHIFT))
    }
}

#[inline(never)]
fn exec<H: Helpers + ?Sized>(
    program: &FastProgram<'_, '_>,
    entry: Entry,
    args: &[u64],
    mem: &mut MemoryMap<'_>,
    helpers: &mut H,
    budget: u64,
    frames: &mut [u16],
) -> Result<Exit, Trap> {
    let ops: &[Op] = program.ops;
    let code = program.program.code();
    let mut r = Regs::new();
    for (i, a) in args.iter().take(5).enumerate() {
        r.set(Reg::new(i as u8 + 1), *a);
    }
    r.set(Reg::R10, initial_frame_pointer(mem));
    let mut win = Windows::new(mem);
    let mut cold = Cold { code, frame_size: program.program.frame_size() as u64, helpers, frames, depth: 0, budget };
    // The op of the slot being executed: `at` points into `ops` (see the
    // fetch's SAFETY note), so that an op's operands are read through one
    // register and the next op is `at + width`; `pc!()` is its slot number,
    // computed only where one is needed (traps, calls, generic ops).
    let base: *const Op = ops.as_ptr();
    let mut at = base.wrapping_add(entry.pc());
    macro_rules! pc {
        () => {
            (at as usize).wrapping_sub(base as usize) / OP_BYTES
        };
    }
    // The low 32 bits of an op's address (differences of two such, in
    // bytes, are exact: a program is under 2^16 slots).
    macro_rules! addr32 {
        ($at:expr) => {
            $at as usize as u32
        };
    }
    // The budget is spent from `fuel` (see `FUEL_CAP`); `tank.reserve`
    // holds the rest. During a straight-line run, `mark` is the fuel left when it
    // started, minus `max_run`, counted in bytes of ops (`OP_BYTES` a
    // slot), plus the address of the op it started at: one variable for
    // all three, so that a transfer whose op is at `end` computes the fuel
    // left minus `max_run` (in bytes) as `mark - (end + OP_BYTES)` and
    // tests its sign (negative: less than a run's worth is left, check
    // exactly).
    let max_run = program.max_run;
    let mut tank = Tank { reserve: budget, max_run, code, base };
    let Some(over) = tank.refuel(0u32.wrapping_sub(max_run).wrapping_shl(OP_SHIFT), at) else {
        return Err(Trap { pc: entry.pc(), kind: TrapKind::BudgetExhausted });
    };
    let mut mark = over.wrapping_add(addr32!(at));

    // Register `d` (a `Reg`: in range by construction), whole or its low
    // half; `set32!` writes a 32-bit result zero-extended.
    macro_rules! r {
        ($reg:expr) => {
            r.get($reg)
        };
    }
    macro_rules! r32 {
        ($reg:expr) => {
            r.get32($reg)
        };
    }
    macro_rules! set {
        ($reg:expr, $v:expr) => {{
            let v = $v;
            r.set($reg, v)
        }};
    }
    macro_rules! set32 {
        ($reg:expr, $v:expr) => {{
            let v = $v;
            r.set32($reg, v)
        }};
    }
    macro_rules! addr {
        ($base:expr, $off:expr) => {
            r!($base).wrapping_add($off as i64 as u64)
        };
    }

    // Control arrives at `at` at the top of `'run`: the straight-line run
    // from there is checked against the budget, then ops execute until a
    // control transfer charges the run (`charge!`, the slots from the run's
    // start to the transfer's own) and moves `at` (`goto!`). A trap leaves
    // `'run` with its kind (`at` is the instruction's op).
    let kind: TrapKind = 'run: loop {
        // The fuel left after the run that ends with the transfer whose op
        // is at `end`, minus `max_run`, in bytes of ops.
        macro_rules! charge {
            ($end:expr) => {
                mark.wrapping_sub(addr32!($end).wrapping_add(OP_BYTES as u32))
            };
        }
        // Control moves to the op at `target` after the transfer whose op
        // is at `end`: charge the run, make sure the next one can be paid
        // for, start it.
        macro_rules! goto {
            ($end:expr, $target:expr $(, $name:ident)?) => {{
                let mut over = charge!($end);
                at = $target;
                if (over as i32) < 0 {
                    match tank.refuel(over, at) {
                        Some(o) => over = o,
                        None => break 'run TrapKind::BudgetExhausted,
                    }
                }
                mark = over.wrapping_add(addr32!(at));
                $(own_dispatch!($name);)?
                continue 'run;
            }};
        }
        // Where the next op is dispatched from. On 64-bit hosts every arm
        // ends with a dispatch of its own: `own_dispatch!` marks the arm's
        // end with an empty `asm!` that names it (no instruction), so that
        // no two arms end alike and LLVM's tail merging cannot fold their
        // last instructions and the dispatch into one shared tail reached
        // by a `jmp` (round 8 of issue 16: one host instruction per op,
        // the dispatch's one indirect branch site shared by many ops), and
        // a transfer charges the run in its own arm (`leave!`): 3.4 % of
        // the suite's x86-64 instructions (docs/benchmarks.md, round 9;
        // aarch64 builds the same, not measured). On the Cortex-M4 that
        // costs flash (the markers alone: +1.7 KB for 0.8 % fewer
        // instructions), so arms share their tails there, and transfers
        // one copy of the charge after the `match`.
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        macro_rules! own_dispatch {
            ($name:ident) => {
                // SAFETY: an empty template (a comment): no instruction,
                // no register, memory or flag touched.
                #[allow(unsafe_code)]
                unsafe {
                    core::arch::asm!(concat!("/* ", stringify!($name), " */"), options(nomem, nostack, preserves_flags))
                }
            };
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        macro_rules! own_dispatch {
            ($name:ident) => {};
        }
        // A transfer arm's way out: to `goto!` in the arm itself, or (see
        // `own_dispatch!`) as the pair the `match` evaluates to.
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        macro_rules! leave {
            ($name:ident, $end:expr, $target:expr) => {
                goto!($end, $target, $name)
            };
        }
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        macro_rules! leave {
            ($name:ident, $end:expr, $target:expr) => {
                ($end, $target)
            };
        }
        // The op of slot `t`; the op `t` slots from this one (a jump's
        // target: relative, so that `base` is needed only on cold paths);
        // the op `n` slots after this one.
        macro_rules! slot {
            ($t:expr) => {
                base.wrapping_add($t as usize)
            };
        }
        macro_rules! rel {
            ($t:expr) => {
                at.wrapping_offset($t as isize)
            };
        }
        macro_rules! ahead {
            ($n:expr) => {
                at.wrapping_add($n)
            };
        }
        loop {
            // SAFETY: `at` points at `ops[pc]` with `pc < ops.len()`: it
            // only ever becomes `base + pc` for such a `pc` (`slot!`,
            // `ahead!`). `translate` checked that every
            // successor of every op lies inside `ops` (`first_escape`), the
            // run started at a checked entry, and `pc` only ever becomes a
            // successor of the op just executed. Width and successors are
            // not written here: `Kind::width`, `Kind::successors` and the
            // dispatch below (`dispatch!`, `flow!`) are all generated from
            // the op's one row in `super::table`, so `pc` moves to
            // `pc + width` (flows `next`, `branch`, `call`, `decoded`), to a
            // jump or call target taken from the op (or, for a generic op,
            // decoded from the same bytecode `first_escape` decoded), or on
            // `exit` to a return slot pushed by `Cold::call_local`, which is
            // the call's own fallthrough successor. No op body moves `pc`
            // (`load_at!` names the faulting slot of a fused op as it leaves
            // the run with a trap; nothing is fetched after that).
            // Measured: the unchecked fetch saves 2,057 of 15,458
            // instructions per Fletcher32 checksum on the Cortex-M4 (16.6x
            // -> 14.4x native C: the bounds check and the register it holds
            // make LLVM spill around every op) and 1,867 of 12,218 on
            // x86-64; see docs/benchmarks.md. Attacked by
            // `first_escape_catches_ops_that_leave_the_program`,
            // `every_kind_dispatches_to_its_successors` (table.rs),
            // `entry_of_another_program_traps` and the differential fuzzer.
            // Fetching through a pointer (`at`) rather than `ops[pc]` saves
            // the op's address computation in every op and frees a register:
            // 2-15 % of the host instructions per kernel, up to 8 % on the
            // Cortex-M4 (docs/benchmarks.md, round 5).
            #[allow(unsafe_code)]
            let op = unsafe { &*at };
            debug_assert!(pc!() < ops.len());
            // A load or store: the value, or leave with the precise fault.
            macro_rules! load {
                ($n:literal, $a:expr) => {{
                    let a = $a;
                    match win.load::<$n>(a) {
                        Some(v) => v,
                        None => match win.load_slow(a, $n) {
                            Some(v) => v,
                            None => break 'run win.fault(a, $n, Access::Read),
                        },
                    }
                }};
            }
            // A load in slot `pc + $slot` of a fused op: a fault names that
            // slot (the instruction that faults), as the reference
            // interpreter does. `pc` is not fetched again: the run ends.
            // `load_stack_at!` tries the stack window first (an address the
            // translation saw computed from `r10`); any other address goes
            // the slow path, which checks it as every access is checked.
            macro_rules! load_at {
                ($n:literal, $a:expr, $slot:expr) => {
                    load_via!(load, $n, $a, $slot)
                };
            }
            macro_rules! load_stack_at {
                ($n:literal, $a:expr, $slot:expr) => {
                    load_via!(load_stack, $n, $a, $slot)
                };
            }
            macro_rules! load_via {
                ($window:ident, $n:literal, $a:expr, $slot:expr) => {{
                    let a = $a;
                    match win.$window::<$n>(a) {
                        Some(v) => v,
                        None => match win.load_slow(a, $n) {
                            Some(v) => v,
                            None => {
                                at = ahead!($slot);
                                break 'run win.fault(a, $n, Access::Read);
                            }
                        },
                    }
                }};
            }
            // The stores in slot `pc + $slot` of a fused op (a fault names
            // it), through the stack window first or the data window first.
            macro_rules! store_stack_at {
                ($n:literal, $a:expr, $v:expr, $slot:expr) => {
                    store_via!(store_stack, $n, $a, $v, $slot)
                };
            }
            macro_rules! store_at {
                ($n:literal, $a:expr, $v:expr, $slot:expr) => {
                    store_via!(store, $n, $a, $v, $slot)
                };
            }
            macro_rules! store_via {
                ($window:ident, $n:literal, $a:expr, $v:expr, $slot:expr) => {{
                    let (a, v) = ($a, $v);
                    if !win.$window::<$n>(a, v) && !win.store_slow(a, $n, v) {
                        at = ahead!($slot);
                        break 'run win.fault(a, $n, Access::Write);
                    }
                }};
            }
            macro_rules! store {
                ($n:literal, $a:expr, $v:expr) => {{
                    let (a, v) = ($a, $v);
                    if !win.store::<$n>(a, v) && !win.store_slow(a, $n, v) {
                        break 'run win.fault(a, $n, Access::Write);
                    }
                }};
            }
            // The same, at `r10 + off` (the stack window first).
            macro_rules! load_fp {
                ($n:literal, $off:expr) => {{
                    match win.load_fp::<$n>(r.get(Reg::R10), $off) {
                        Some(v) => v,
                        None => {
                            let a = r.get(Reg::R10).wrapping_add($off as i64 as u64);
                            match win.load_slow(a, $n) {
                                Some(v) => v,
                                None => break 'run win.fault(a, $n, Access::Read),
                            }
                        }
                    }
                }};
            }
            macro_rules! store_fp {
                ($n:literal, $off:expr, $v:expr) => {{
                    let v = $v;
                    if !win.store_fp::<$n>(r.get(Reg::R10), $off, v) {
                        let a = r.get(Reg::R10).wrapping_add($off as i64 as u64);
                        if !win.store_slow(a, $n, v) {
                            break 'run win.fault(a, $n, Access::Write);
                        }
                    }
                }};
            }
            // `lddw`: the high half is the `Wide` op in the next slot.
            macro_rules! lddw {
                ($d:expr, $lo:expr) => {{
                    // SAFETY: `Lddw`'s row is 2 slots wide, so its fallthrough
                    // `pc + 2` lies inside `ops` (`first_escape`, as for the
                    // fetch above) and so does `pc + 1`. Read through the op
                    // pointer: no slot number, no bounds check (round 7b:
                    // 22 -> 16 host instructions an `lddw`).
                    #[allow(unsafe_code)]
                    let Op { kind: Kind::Wide { hi } } = (unsafe { &*ahead!(1) }) else {
                        break 'run TrapKind::IllegalInstruction;
                    };
                    set!($d, ($lo as u32 as u64) | ((*hi as u32 as u64) << 32));
                    // Two slots, one instruction: the run's charge counts slots.
                    mark = mark.wrapping_add(OP_BYTES as u32);
                }};
            }
            macro_rules! call_helper {
                ($id:expr, $dynamic:expr) => {{
                    if let Err(kind) = cold.call_helper($id, $dynamic, &mut r, &mut win) {
                        break 'run kind;
                    }
                }};
            }
            // The arm of an op of width `$w`: its body (empty for all flows
            // but `next` and `branch`), then `pc` moves to a successor as its
            // flow says (the ones `Kind::successors` names: both come from
            // the op's row in `super::table`).
            // A transfer's arm leaves through `leave!` with the op of its
            // last slot and the op control moves to: into its own `goto!`
            // on 64-bit hosts, else as the pair the `match` evaluates to,
            // for the one `goto!` after it (one copy of the budget charge
            // for all of them: flash). See `own_dispatch!`.
            macro_rules! flow {
                (next, $name:ident, $w:literal, $body:block) => {{
                    $body;
                    at = ahead!($w);
                    own_dispatch!($name);
                    continue;
                }};
                // The run ends at the branch's last slot.
                (branch $t:ident, $name:ident, $w:literal, $body:block) => {{
                    let taken: bool = $body;
                    leave!($name, ahead!($w - 1), if taken { rel!($t) } else { ahead!($w) })
                }};
                // Two compares (width 2). The first one's run ends at `pc`;
                // not taken, the second compare is a run of its own from
                // `pc + 1`. While the fuel left after the first run is at
                // least `max_run` (the charge is not negative) that run is
                // paid for and `mark` is what `goto!` would set for it (the
                // charge plus the address of `pc + 1`), so the second compare
                // runs here and its transfer charges both; otherwise control
                // moves to the second compare's own op, through `goto!`,
                // which checks its run exactly.
                (branch2 $t:ident $u:ident, $name:ident, $w:literal, $body:block) => {{
                    let (first, second): (bool, bool) = $body;
                    if first {
                        leave!($name, at, rel!($t))
                    } else if (charge!(at) as i32) < 0 {
                        leave!($name, at, ahead!(1))
                    } else {
                        leave!($name, ahead!(1), if second { rel!($u) } else { ahead!(2) })
                    }
                }};
                (jump $t:ident, $name:ident, $w:literal, $body:block) => {{
                    $body;
                    leave!($name, ahead!($w - 1), rel!($t))
                }};
                (call $t:ident, $name:ident, $w:literal, $body:block) => {{
                    $body;
                    match cold.call_local(pc!() + $w, &mut r, &mut win) {
                        Ok(()) => (ahead!($w - 1), slot!($t)),
                        Err(kind) => break 'run kind,
                    }
                }};
                (exit, $name:ident, $w:literal, $body:block) => {{
                    $body;
                    if cold.depth == 0 {
                        let fuel = tank.fuel(charge!(at));
                        return Ok(Exit { r0: r.get(Reg::R0), executed: cold.budget - tank.reserve - fuel as u64 });
                    }
                    match cold.exit_local(&mut r, &mut win) {
                        Ok(ret) => (at, slot!(ret)),
                        Err(kind) => break 'run kind,
                    }
                }};
                (trap, $name:ident, $w:literal, $body:block) => {{
                    $body;
                    break 'run TrapKind::IllegalInstruction;
                }};
                (decoded, $name:ident, $w:literal, $body:block) => {{
                    $body;
                    match cold.generic(pc!(), &mut r, &mut win) {
                        Ok(Flow::Next) => {
                            at = ahead!($w);
                            continue;
                        }
                        Ok(Flow::Jump(rel)) => (at, slot!((pc!() as i64 + 1 + rel) as usize)),
                        Ok(Flow::Fallthrough) => (at, ahead!($w)),
                        Err(kind) => break 'run kind,
                    }
                }};
            }
            // One arm per row of the table.
            macro_rules! dispatch {
                ($(
                    $(#[$attr:meta])* $name:ident $({ $($f:ident : $ty:ty),* })? = $w:literal,
                    $flow:ident $(($t:ident $(, $u:ident)?))? => $body:block;
                )*) => {
                    match op.kind {
                        $(
                            #[allow(unused_variables)]
                            Kind::$name $({ $($f),* })? => flow!($flow $($t $($u)?)?, $name, $w, $body),
                        )*
                    }
                };
            }
            let (end, target): (*const Op, *const Op) = super::table::for_each_op!(dispatch);
            goto!(end, target)
        }
    };
    Err(Trap { pc: pc!(), kind })
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

/// What the interpreter loop needs only on its rare paths (kept out of its
/// registers): helper and local calls, returns, generic instructions.
struct Cold<'c, 'f, H: ?Sized> {
    code: &'c [u8],
    frame_size: u64,
    helpers: &'c mut H,
    /// Return slots of the active local calls.
    frames: &'f mut [u16],
    depth: usize,
    budget: u64,
}

impl<H: Helpers + ?Sized> Cold<'_, '_, H> {
    /// Calls helper `id` (`callx`: `dynamic`, checked against the allowed
    /// set here) with `r1..=r5`; the result goes to `r0`.
    #[inline(never)]
    fn call_helper(&mut self, id: u64, dynamic: bool, r: &mut Regs, win: &mut Windows<'_, '_>) -> Result<(), TrapKind> {
        let id32 = match u32::try_from(id) {
            Ok(i) if !dynamic || self.helpers.contains(i) => i,
            _ => return Err(TrapKind::HelperNotAllowed { id }),
        };
        let args = [r.get(Reg::R1), r.get(Reg::R2), r.get(Reg::R3), r.get(Reg::R4), r.get(Reg::R5)];
        // The windows are given back for the call and reopened as they
        // were: a helper loop's next access is usually to the same region
        // as its last (else it would take the slow path to lend it again).
        let data = win.data_segment();
        let result = self.helpers.call(id32, args, win.map());
        win.lend_stack();
        win.lend_data(data);
        r.set(Reg::R0, result.map_err(|error| TrapKind::Helper { id: id32, error })?);
        Ok(())
    }

    /// A local call returning to slot `ret_pc`: push the frame (see
    /// `docs/isa.md`).
    #[inline(never)]
    fn call_local(&mut self, ret_pc: usize, r: &mut Regs, win: &mut Windows<'_, '_>) -> Result<(), TrapKind> {
        let Some(ret) = self.frames.get_mut(self.depth) else { return Err(TrapKind::CallDepthExceeded) };
        let saved = [r.get(Reg::R6), r.get(Reg::R7), r.get(Reg::R8), r.get(Reg::R9)];
        let pushed = push_frame(win.map(), r.get(Reg::R10), self.frame_size, |i| saved.get(i).copied().unwrap_or(0));
        win.lend_stack();
        r.set(Reg::R10, pushed.map_err(TrapKind::Memory)?);
        // The verifier keeps every pc below 2^16, and a call is never the
        // last slot.
        *ret = ret_pc as u16;
        self.depth += 1;
        Ok(())
    }

    /// `exit` from a local call: pop the frame, return the slot to resume.
    #[inline(never)]
    fn exit_local(&mut self, r: &mut Regs, win: &mut Windows<'_, '_>) -> Result<usize, TrapKind> {
        let mut saved = [0u64; 4];
        let popped = pop_frame(win.map(), r.get(Reg::R10), self.frame_size, |i, v| {
            if let Some(s) = saved.get_mut(i) {
                *s = v;
            }
        });
        win.lend_stack();
        let fp = popped.map_err(TrapKind::Memory)?;
        for (i, v) in saved.into_iter().enumerate() {
            r.set(Reg::new(6 + i as u8), v);
        }
        r.set(Reg::R10, fp);
        self.depth = self.depth.wrapping_sub(1);
        self.frames.get(self.depth).map(|&ret| ret as usize).ok_or(TrapKind::IllegalInstruction)
    }

    /// The instruction at `pc`, which has no specialised form.
    #[inline(never)]
    fn generic(&mut self, pc: usize, r: &mut Regs, win: &mut Windows<'_, '_>) -> Result<Flow, TrapKind> {
        let insn = Insn::at(self.code, pc).ok_or(TrapKind::IllegalInstruction)?;
        generic(&insn, r, win)
    }
}

/// Executes one instruction that has no specialised form, with the
/// reference interpreter's semantic functions.
fn generic(insn: &Insn, r: &mut Regs, win: &mut Windows<'_, '_>) -> Result<Flow, TrapKind> {
    let (d, s) = (Reg::new(insn.dst), Reg::new(insn.src));
    let by_reg = insn.opc & source::MASK == source::X;
    let imm64 = insn.imm as i64 as u64;
    let off = insn.off as i64 as u64;
    let illegal = TrapKind::IllegalInstruction;
    match insn.class() {
        class::ALU64 => {
            let b = if by_reg { r.get(s) } else { imm64 };
            r.set(d, alu64(insn.opc & crate::isa::alu::MASK, insn.off, r.get(d), b, insn.imm).ok_or(illegal)?);
        }
        class::ALU => {
            let b = if by_reg { r.get32(s) } else { insn.imm as u32 };
            let v = alu32(insn.opc & crate::isa::alu::MASK, insn.off, r.get(d), b, insn.imm, by_reg).ok_or(illegal)?;
            r.set(d, v);
        }
        class::JMP32 if insn.opc == op::JA32 => return Ok(Flow::Jump(insn.imm as i64)),
        // A `ja` too far for a relative target (`translate`'s `rel_target`).
        class::JMP if insn.opc == op::JA => return Ok(Flow::Jump(insn.off as i64)),
        class::JMP | class::JMP32 => {
            let cond = insn.opc & jmp::MASK;
            let taken = if insn.class() == class::JMP32 {
                compare32(cond, r.get32(d), if by_reg { r.get32(s) } else { insn.imm as u32 })
            } else {
                compare64(cond, r.get(d), if by_reg { r.get(s) } else { imm64 })
            };
            return match taken {
                Some(true) => Ok(Flow::Jump(insn.off as i64)),
                Some(false) => Ok(Flow::Fallthrough),
                None => Err(illegal),
            };
        }
        class::LDX if insn.opc & mode::MASK == mode::MEMSX => {
            let addr = r.get(s).wrapping_add(off);
            let sz = insn.opc & size::MASK;
            let n = size::bytes(sz);
            let v = win.load_slow(addr, n).ok_or_else(|| win.fault(addr, n as u64, Access::Read))?;
            r.set(d, sign_extend(v, sz));
        }
        class::STX if insn.opc & mode::MASK == mode::ATOMIC => {
            let addr = r.get(d).wrapping_add(off);
            let (operand, r0) = (r.get(s), r.get(Reg::R0));
            let result = atomic_op(insn.imm, insn.opc & size::MASK, addr, operand, r0, win.map());
            win.lend_stack();
            let old = result.map_err(TrapKind::Memory)?;
            if let Some(w) = atomic_writes(insn.imm, insn.src) {
                r.set(Reg::new(w), old);
            }
        }
        _ => return Err(illegal),
    }
    Ok(Flow::Next)
}
