//! The fast engine's view of memory: the [`MemoryMap`] plus two regions
//! lent out of it for the run, so that most loads and stores cost a segment
//! compare and a bounds check instead of a table lookup.
//!
//! The **stack window** holds the region at [`STACK_VADDR`] when it is
//! mapped read-write; the **data window** holds whichever other region was
//! touched last (a shared read-only slice, or a read-write exclusive one),
//! except that a shared region touched while the data window holds another
//! region goes to the **read-only window** (a script's `.rodata` table
//! looked up while the input is read: both stay open). An access outside
//! the windows takes the slow path: it lends the region it names (giving
//! the previous one back) or, for regions that are not lent (write-only,
//! read-only exclusive, unmapped), goes through the map.
//!
//! # Invariants
//! - A window's key is the segment of the region it holds, or 0 when it
//!   holds nothing; segment 0 is never mapped, and an empty window holds
//!   an empty slice, so an address in segment 0 that matches an empty
//!   window's key fails its bounds check and takes the slow path.
//! - Only a shared (read-only) or a read-write region is ever lent, so a
//!   hit in a window never needs a policy check beyond "stores need an
//!   exclusive slice".
//! - Every lent slice is given back before the map is seen by anyone else:
//!   before a helper call or a local call/return ([`Windows::map`]), before a
//!   fault is reported ([`Windows::fault`]), and when the windows are
//!   dropped (every way out of a run).

use crate::abi::STACK_VADDR;
use crate::memory::{le_value, le_value_n, put_le, Access, Lent, MemoryMap};
use crate::trap::TrapKind;

/// The `N` bytes at `off` in a window, little endian, if they lie in it.
#[inline(always)]
fn read_n<const N: usize>(bytes: &[u8], off: usize) -> Option<u64> {
    Some(le_value_n::<N>(bytes.get(off..off.wrapping_add(N))?))
}

/// Writes the low `N` bytes of `v` at `off` in a window if they lie in it;
/// whether they did (nothing written otherwise).
#[inline(always)]
fn write_n<const N: usize>(bytes: &mut [u8], off: usize, v: u64) -> bool {
    match bytes.get_mut(off..off.wrapping_add(N)) {
        Some(b) => {
            b.copy_from_slice(&v.to_le_bytes()[..N]);
            true
        }
        None => false,
    }
}

/// The offset into the stack window of `fp + off`, `fp` being `r10`
/// (see [`Windows::load_fp`]).
#[inline(always)]
fn fp_offset(fp: u64, off: i16) -> usize {
    (fp as u32).wrapping_add(off as i32 as u32) as usize
}

/// What the data window holds.
enum View<'a> {
    Shared(&'a [u8]),
    Exclusive(&'a mut [u8]),
}

/// The map and the two windows; see the module docs.
pub(crate) struct Windows<'m, 'a> {
    map: &'m mut MemoryMap<'a>,
    data_seg: u32,
    data: View<'a>,
    stack_seg: u32,
    stack: &'a mut [u8],
    /// The read-only window (0 and empty: none).
    ro_seg: u32,
    ro: &'a [u8],
}

const STACK_SEG: u32 = (STACK_VADDR >> 32) as u32;

impl<'m, 'a> Windows<'m, 'a> {
    /// Windows over `map`, with the stack lent when it is read-write.
    pub(crate) fn new(map: &'m mut MemoryMap<'a>) -> Self {
        let mut w =
            Windows { map, data_seg: 0, data: View::Shared(&[]), stack_seg: 0, stack: &mut [], ro_seg: 0, ro: &[] };
        w.lend_stack();
        w
    }

    /// Lends the stack region to the stack window, when it is read-write.
    pub(crate) fn lend_stack(&mut self) {
        if self.stack_seg == 0 {
            if let Some(Lent::Exclusive(s)) = self.map.lend(STACK_SEG) {
                self.stack = s;
                self.stack_seg = STACK_SEG;
            }
        }
    }

    /// Gives every lent slice back to the map.
    fn give_back_all(&mut self) {
        if let View::Exclusive(s) = core::mem::replace(&mut self.data, View::Shared(&[])) {
            self.map.give_back(self.data_seg, s);
        }
        self.data_seg = 0;
        let stack = core::mem::take(&mut self.stack);
        if self.stack_seg != 0 {
            self.map.give_back(self.stack_seg, stack);
        }
        self.stack_seg = 0;
        (self.ro_seg, self.ro) = (0, &[]);
    }

    /// The whole map, windows given back (for helpers and local calls);
    /// call [`Windows::lend_stack`] afterwards to reopen the stack window.
    pub(crate) fn map(&mut self) -> &mut MemoryMap<'a> {
        self.give_back_all();
        self.map
    }

    /// Reads `N` bytes at `addr` if they lie in the data window or the
    /// stack window (a pointer into the stack held in a register other than
    /// `r10`: clang computes array addresses on the stack that way).
    #[inline(always)]
    pub(crate) fn load<const N: usize>(&self, addr: u64) -> Option<u64> {
        let seg = (addr >> 32) as u32;
        let off = addr as u32 as usize;
        // Each window on its own path, as in `store`.
        if seg == self.data_seg {
            let bytes: &[u8] = match &self.data {
                View::Shared(s) => s,
                View::Exclusive(s) => s,
            };
            return read_n::<N>(bytes, off);
        }
        if seg == self.stack_seg {
            return read_n::<N>(self.stack, off);
        }
        if seg == self.ro_seg {
            return read_n::<N>(self.ro, off);
        }
        None
    }

    /// Writes the low `N` bytes of `v` at `addr` if they lie in the data
    /// window and it may be written, or in the stack window; false (nothing
    /// written) otherwise.
    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, addr: u64, v: u64) -> bool {
        let seg = (addr >> 32) as u32;
        let off = addr as u32 as usize;
        // Each window's bounds check and write on its own path (round 7a:
        // merged, LLVM selected the slice's fields through two extra
        // registers on every store).
        if seg == self.data_seg {
            let View::Exclusive(bytes) = &mut self.data else { return false };
            return write_n::<N>(bytes, off, v);
        }
        seg == self.stack_seg && write_n::<N>(self.stack, off, v)
    }

    /// Reads `N` bytes at `addr` if they lie in the stack window (tried
    /// first where the translation saw the address computed from `r10`; a
    /// miss goes on to [`Windows::load_slow`]).
    #[inline(always)]
    pub(crate) fn load_stack<const N: usize>(&self, addr: u64) -> Option<u64> {
        if (addr >> 32) as u32 != self.stack_seg {
            return None;
        }
        let off = addr as u32 as usize;
        read_n::<N>(self.stack, off)
    }

    /// Writes the low `N` bytes of `v` at `addr` if they lie in the stack
    /// window; false (nothing written) otherwise. See
    /// [`Windows::load_stack`].
    #[inline(always)]
    pub(crate) fn store_stack<const N: usize>(&mut self, addr: u64, v: u64) -> bool {
        if (addr >> 32) as u32 != self.stack_seg {
            return false;
        }
        let off = addr as u32 as usize;
        write_n::<N>(self.stack, off, v)
    }

    /// Reads `N` bytes at `fp + off`, `fp` being the frame pointer `r10`,
    /// if they lie in the stack window.
    ///
    /// `r10` always points into the stack's segment (it starts at the top
    /// of the stack region, and local calls only move it to frames they
    /// checked inside that region, see [`crate::abi::CALL_SAVE_BYTES`]),
    /// so the offset into the window is `fp`'s low half plus `off`, taken
    /// in 32 bits: a negative sum becomes huge (above 4 GiB minus 32 KiB, a
    /// region is smaller) and fails the bounds check like any other stray
    /// offset, and no other sum wraps. On a 64-bit host the offset plus `N`
    /// then cannot overflow, so the check is one compare (round 6 of issue
    /// 16: two host instructions of each of sha256's 6,800 frame accesses
    /// per run). Round 7a kept it: an access the translation proves inside
    /// the frame would still need the frame as a fixed-size array to drop
    /// the compare in safe code, which is a second borrow of the lent stack
    /// slice, and no constant size fits every program's frames at every
    /// depth (`docs/benchmarks.md`, "Round 7a").
    #[inline(always)]
    pub(crate) fn load_fp<const N: usize>(&self, fp: u64, off: i16) -> Option<u64> {
        let at = fp_offset(fp, off);
        read_n::<N>(self.stack, at)
    }

    /// Writes `N` bytes at `fp + off` if they lie in the stack window; see
    /// [`Windows::load_fp`].
    #[inline(always)]
    pub(crate) fn store_fp<const N: usize>(&mut self, fp: u64, off: i16, v: u64) -> bool {
        let at = fp_offset(fp, off);
        write_n::<N>(self.stack, at, v)
    }

    /// The bytes of a read-write window (the stack's, or an exclusive data
    /// window) that hold `[addr, addr + n)`, for the slow path.
    fn window_bytes(&mut self, addr: u64, n: u8) -> Option<&mut [u8]> {
        let seg = (addr >> 32) as u32;
        let off = addr as u32 as usize;
        let bytes: &mut [u8] = if seg == self.stack_seg {
            self.stack
        } else if let (true, View::Exclusive(s)) = (seg == self.data_seg, &mut self.data) {
            s
        } else {
            return None;
        };
        bytes.get_mut(off..off.wrapping_add(n as usize))
    }

    /// The segment the data window holds (0: none).
    pub(crate) fn data_segment(&self) -> u32 {
        self.data_seg
    }

    /// Moves the data window (a read-write region) or the read-only window
    /// (a shared one) to segment `seg` (when it is not already in a window
    /// and the map lends it).
    pub(crate) fn lend_data(&mut self, seg: u32) {
        if seg == self.data_seg || seg == self.stack_seg || seg == self.ro_seg {
            return;
        }
        // Shared slices are not given back (the map keeps them): one that
        // leaves the data window moves to the read-only window.
        let new = match self.map.lend(seg) {
            Some(Lent::Shared(s)) if self.data_seg != 0 => {
                (self.ro_seg, self.ro) = (seg, s);
                return;
            }
            Some(Lent::Shared(s)) => View::Shared(s),
            Some(Lent::Exclusive(s)) => View::Exclusive(s),
            None => return,
        };
        match core::mem::replace(&mut self.data, new) {
            View::Exclusive(old) => self.map.give_back(self.data_seg, old),
            View::Shared(old) if self.data_seg != 0 => (self.ro_seg, self.ro) = (self.data_seg, old),
            View::Shared(_) => {}
        }
        self.data_seg = seg;
    }

    /// A load that missed the data window: lend its region and retry, else
    /// ask the map. `None` exactly when the load faults.
    #[cold]
    #[inline(never)]
    pub(crate) fn load_slow(&mut self, addr: u64, n: u8) -> Option<u64> {
        self.lend_data((addr >> 32) as u32);
        let seg = (addr >> 32) as u32;
        // `data_seg` 0 is "no window" (segment 0 is never lent).
        if seg != 0 {
            let off = addr as u32 as usize;
            match &self.data {
                View::Shared(s) if seg == self.data_seg => {
                    return s.get(off..off.wrapping_add(n as usize)).map(le_value)
                }
                _ if seg == self.ro_seg => return self.ro.get(off..off.wrapping_add(n as usize)).map(le_value),
                _ => {}
            }
        }
        match self.window_bytes(addr, n) {
            Some(b) => Some(le_value(b)),
            None => self.map.read(addr, n as u64).ok().map(le_value),
        }
    }

    /// A store that missed the data window: lend its region and retry, else
    /// ask the map. False exactly when the store faults (nothing written).
    #[cold]
    #[inline(never)]
    pub(crate) fn store_slow(&mut self, addr: u64, n: u8, v: u64) -> bool {
        self.lend_data((addr >> 32) as u32);
        let seg = (addr >> 32) as u32;
        let shared = seg != 0 && (seg == self.ro_seg || seg == self.data_seg && matches!(self.data, View::Shared(_)));
        let target = if shared { None } else { self.window_bytes(addr, n) };
        match target {
            Some(b) => {
                put_le(b, v);
                true
            }
            None => match self.map.write(addr, n as u64) {
                Ok(b) => {
                    put_le(b, v);
                    true
                }
                Err(_) => false,
            },
        }
    }

    /// The trap a refused access of `len` bytes at `addr` causes, reported
    /// by the map with every window given back.
    #[cold]
    #[inline(never)]
    pub(crate) fn fault(&mut self, addr: u64, len: u64, access: Access) -> TrapKind {
        self.give_back_all();
        self.map.fault(addr, len, access)
    }
}

impl Drop for Windows<'_, '_> {
    fn drop(&mut self) {
        self.give_back_all();
    }
}
