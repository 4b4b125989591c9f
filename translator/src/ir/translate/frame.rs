//! Where translated values live: registers and 8-byte slots of the eBPF
//! stack frame, and the *home* of every IR stack position.
//!
//! ```text
//! r0            scratch of the translator (moves, traps, helper results)
//! r1..r9        values; r6..r9 survive helper calls, r1..r5 do not
//! r10           frame pointer (read-only)
//!
//! [r10 - 8]           CYCLE_SLOT: breaks cycles of a parallel move when no register is free
//! [r10 - 16], [r10 - 24]  KV_SLOT, KV_SLOT+1: out-parameters of fetch_local
//! [r10 - 8*(s+4)]     slot s, s in 0..GENERAL_SLOTS: spilled values and homes
//! ```
//!
//! The special slots sit nearest `r10` and general slots are taken lowest
//! first, so a function's frame is only as deep as the values it spills:
//! the container declares the deepest offset the code uses (`Emitter::deepest`).
//!
//! At every block boundary (a jump, a `JUMPDEST`), IR stack position `k`
//! is in its home [`home`]`(k)`: the first [`REG_HOMES`] positions in
//! registers (r6..r9 first, as the bottom of the stack tends to hold
//! long-lived values), the rest in slots. `r5` is never a home, so after a
//! boundary move at least `r0` and `r5` are free for a conditional jump's
//! operands.
//!
//! Parameters need no slots: `ARG n` reads the call input (`crate::ir::call`).

use crate::ir::limits::MAX_STACK_DEPTH;

/// A location holding a 64-bit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Loc {
    Reg(u8),
    Slot(u8),
}

/// The translator's scratch register.
pub const SCRATCH: u8 = 0;
/// The frame pointer.
pub const FP: u8 = 10;
/// Registers a helper call does not clobber.
pub const CALLEE_SAVED: [u8; 4] = [6, 7, 8, 9];
/// Homes of the first IR stack positions.
pub const REG_HOME_LIST: [u8; 8] = [6, 7, 8, 9, 1, 2, 3, 4];
/// Number of positions homed in registers.
pub const REG_HOMES: usize = REG_HOME_LIST.len();

/// Slots for spilled values and homes. Every live value has a location,
/// and at most `MAX_STACK_DEPTH` positions plus a few operands are live.
pub const GENERAL_SLOTS: u8 = (MAX_STACK_DEPTH + 8) as u8;
/// Slot that breaks parallel-move cycles.
pub const CYCLE_SLOT: u8 = GENERAL_SLOTS;
/// Two slots for `fetch_local`'s out-parameter (low and high cell).
pub const KV_SLOT: u8 = CYCLE_SLOT + 1;
/// Number of slots in the frame.
pub const SLOT_COUNT: u8 = KV_SLOT + 2;
/// Bytes of eBPF stack a translated function may use at most (fits the
/// VM's 512); a container declares what its code uses.
pub const FRAME_BYTES: usize = SLOT_COUNT as usize * 8;
const _: () = assert!(FRAME_BYTES <= alkyl_vm::STACK_SIZE);

/// Number of distinct locations (registers r0..r9, then slots).
pub const LOC_COUNT: usize = 10 + SLOT_COUNT as usize;

impl Loc {
    /// Dense index, for per-location tables.
    pub const fn index(self) -> usize {
        match self {
            Loc::Reg(r) => r as usize,
            Loc::Slot(s) => 10 + s as usize,
        }
    }

    /// The `r10`-relative offset of a slot: the special slots first
    /// (nearest `r10`), then the general ones.
    pub const fn slot_offset(slot: u8) -> i16 {
        let special = (SLOT_COUNT - GENERAL_SLOTS) as i16;
        let position = if slot >= GENERAL_SLOTS { (slot - GENERAL_SLOTS) as i16 } else { slot as i16 + special };
        -8 * (position + 1)
    }
}

/// The home of IR stack position `k` (0 = bottom).
// Out of line: called from dozens of sites (`make bench-size`).
#[inline(never)]
pub const fn home(k: usize) -> Loc {
    if k < REG_HOMES {
        Loc::Reg(REG_HOME_LIST[k])
    } else {
        Loc::Slot((k - REG_HOMES) as u8)
    }
}
