//! The program's view of memory: a small table of host-granted regions.
//!
//! A program never sees a host pointer. Its registers hold *virtual
//! addresses*: the upper 32 bits name a **segment** (1..=[`MAX_REGIONS`]),
//! the lower 32 bits an offset inside the region mapped there. Segment 0 is
//! not mapped, so a null pointer (and any small integer) faults, unless a
//! host maps a region there on purpose with [`MemoryMap::map_low`]: the
//! Femto-Container calling convention does, for scripts that keep 32-bit
//! pointers into the CoAP packet (`docs/helpers.md`).
//!
//! ```text
//! 0x0000_0001_0000_0000  segment 1  (by convention: the stack, STACK_VADDR)
//! 0x0000_0002_0000_0000  segment 2  (by convention: the input/context)
//! ...
//! ```
//!
//! Every access is checked here: the segment must be mapped, `offset + size`
//! must lie inside the region, the region's [`AccessPolicy`] must allow the
//! access, and atomics must be naturally aligned. Plain loads and stores may
//! be unaligned (they are performed byte-wise by the host, which is safe on
//! every target, Cortex-M included).
//!
//! # Invariants
//! A successful check hands out a sub-slice of a region's backing slice;
//! nothing outside the granted slices is ever reachable.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::abi::MAX_REGIONS;
use crate::describe::{Describe, Hex, Sink};

/// What a program may do with a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessPolicy {
    ReadOnly,
    WriteOnly,
    ReadWrite,
}

impl AccessPolicy {
    const fn allows(self, access: Access) -> bool {
        matches!(
            (self, access),
            (AccessPolicy::ReadWrite, _)
                | (AccessPolicy::ReadOnly, Access::Read)
                | (AccessPolicy::WriteOnly, Access::Write)
        )
    }
}

/// The direction of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// Why an access was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// No region is mapped at this address.
    Unmapped,
    /// The access runs past the end of its region.
    OutOfBounds,
    /// The region's policy forbids this direction.
    PolicyDenied,
    /// An atomic access that is not naturally aligned.
    Misaligned,
}

/// A refused memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemFault {
    pub addr: u64,
    pub len: u64,
    pub access: Access,
    pub kind: FaultKind,
}

impl Describe for MemFault {
    fn describe(&self, out: &mut dyn Sink) {
        let what = match self.access {
            Access::Read => "read",
            Access::Write => "write",
        };
        if self.kind == FaultKind::Misaligned {
            // An atomic reads and writes: neither direction is the fault.
            return ("misaligned atomic access of ", self.len, " bytes at ", Hex(self.addr)).describe(out);
        }
        let why = match self.kind {
            FaultKind::Unmapped => "no region mapped",
            FaultKind::OutOfBounds => "out of region bounds",
            FaultKind::PolicyDenied => "region policy forbids it",
            FaultKind::Misaligned => "misaligned atomic access",
        };
        (what, " of ", self.len, " bytes at ", Hex(self.addr), ": ", why).describe(out);
    }
}

/// Why a region could not be mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The address is not the start of a segment 1..=MAX_REGIONS.
    BadAddress(u64),
    /// A region is already mapped at this address.
    Occupied(u64),
    /// The backing slice is 4 GiB or larger.
    TooLarge,
}

impl Describe for MapError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            MapError::BadAddress(a) => (Hex(*a), " is not a segment start (1..=", MAX_REGIONS, " << 32)").describe(out),
            MapError::Occupied(a) => ("a region is already mapped at ", Hex(*a)).describe(out),
            MapError::TooLarge => out.text("region larger than 4 GiB"),
        }
    }
}

crate::error_by_describe!(MemFault, MapError);

/// One slot of the map: what is mapped there and how it may be used. The
/// policy lives in the variant, so a slot is a slice and one byte (12 bytes
/// on a 32-bit core).
#[derive(Debug)]
enum Region<'a> {
    Unmapped,
    /// A shared slice: always read-only.
    Shared(&'a [u8]),
    /// An exclusive slice and what the program may do with it.
    Exclusive(&'a mut [u8], AccessPolicy),
}

impl Region<'_> {
    const fn policy(&self) -> Option<AccessPolicy> {
        match self {
            Region::Unmapped => None,
            Region::Shared(_) => Some(AccessPolicy::ReadOnly),
            Region::Exclusive(_, p) => Some(*p),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Region::Unmapped => &[],
            Region::Shared(s) => s,
            Region::Exclusive(s, _) => s,
        }
    }

    /// The bytes, when the policy allows reading them.
    #[inline(always)]
    fn readable(&self) -> Option<&[u8]> {
        match self {
            Region::Shared(s) => Some(s),
            Region::Exclusive(s, p) if *p != AccessPolicy::WriteOnly => Some(s),
            _ => None,
        }
    }

    /// The bytes, when the policy allows writing them.
    #[inline(always)]
    fn writable(&mut self) -> Option<&mut [u8]> {
        match self {
            Region::Exclusive(s, p) if *p != AccessPolicy::ReadOnly => Some(s),
            _ => None,
        }
    }
}

/// One slot of a region table: a region mapped at one segment, or none.
/// Opaque; a host sizes a table with [`MemoryMap::with_slots`].
#[derive(Debug)]
pub struct Slot<'a>(Region<'a>);

/// Slots of the full table: segments `0..=MAX_REGIONS`.
pub const SLOTS: usize = MAX_REGIONS + 1;

/// A region table a host owns: `N` slots, segments `0..N` (by default
/// every segment). See [`MemoryMap`].
pub type MemoryTable<'a, const N: usize = SLOTS> = MemoryMap<'a, [Slot<'a>; N]>;

/// The regions a program may touch during one run.
///
/// The host builds one per run from slices it owns; the map borrows them for
/// the run's duration, so the host cannot observe a half-finished run.
///
/// `MemoryMap<'a>` is the table of any size, as engines and helpers see
/// it (`&mut MemoryMap<'_>`); a host owns a sized one: [`MemoryMap::new`]
/// (every segment, [`SLOTS`] slots) or [`MemoryMap::with_slots`] (segments
/// `0..N` only: a run that maps the stack and the input needs 3 slots, 36
/// bytes on a 32-bit core instead of 108). `&mut` of a sized table
/// coerces to `&mut MemoryMap<'_>`, and it has every method by `Deref`.
pub struct MemoryMap<'a, T: ?Sized = [Slot<'a>]> {
    _regions: PhantomData<&'a ()>,
    /// Indexed by segment: slot 0 is segment 0 ([`MemoryMap::map_low`]).
    slots: T,
}

impl fmt::Debug for MemoryMap<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryMap").field("slots", &&self.slots).finish()
    }
}

impl<const N: usize> fmt::Debug for MemoryMap<'_, [Slot<'_>; N]> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<'a, const N: usize> Deref for MemoryMap<'a, [Slot<'a>; N]> {
    type Target = MemoryMap<'a>;

    #[inline(always)]
    fn deref(&self) -> &MemoryMap<'a> {
        self
    }
}

impl<'a, const N: usize> DerefMut for MemoryMap<'a, [Slot<'a>; N]> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut MemoryMap<'a> {
        self
    }
}

impl<'a, const N: usize> Default for MemoryMap<'a, [Slot<'a>; N]> {
    fn default() -> Self {
        MemoryMap::with_slots()
    }
}

impl<'a> MemoryMap<'a> {
    /// An empty map with a slot for every segment.
    pub const fn new() -> MemoryMap<'a, [Slot<'a>; SLOTS]> {
        MemoryMap::with_slots()
    }

    /// An empty map of `N` slots: segments `0..N` (at most [`SLOTS`] are
    /// used); mapping a segment beyond is [`MapError::BadAddress`].
    pub const fn with_slots<const N: usize>() -> MemoryMap<'a, [Slot<'a>; N]> {
        MemoryMap { _regions: PhantomData, slots: [const { Slot(Region::Unmapped) }; N] }
    }

    fn slot_for(vaddr: u64) -> Result<usize, MapError> {
        let seg = (vaddr >> 32) as usize;
        if vaddr as u32 != 0 || seg == 0 || seg > MAX_REGIONS {
            return Err(MapError::BadAddress(vaddr));
        }
        Ok(seg)
    }

    fn insert(&mut self, vaddr: u64, region: Region<'a>) -> Result<(), MapError> {
        let slot = Self::slot_for(vaddr)?;
        let Some(Slot(free)) = self.slots.get_mut(slot) else {
            return Err(MapError::BadAddress(vaddr));
        };
        if u32::try_from(region.bytes().len()).is_err() {
            return Err(MapError::TooLarge);
        }
        if !matches!(free, Region::Unmapped) {
            return Err(MapError::Occupied(vaddr));
        }
        *free = region;
        Ok(())
    }

    /// Maps `bytes` read-only at `vaddr`.
    ///
    /// # Errors
    /// [`MapError`] when `vaddr` is not a free segment start or the slice is
    /// 4 GiB or larger.
    pub fn map_read_only(&mut self, vaddr: u64, bytes: &'a [u8]) -> Result<(), MapError> {
        self.insert(vaddr, Region::Shared(bytes))
    }

    /// Maps `bytes` at `vaddr` with `policy`.
    ///
    /// # Errors
    /// As [`MemoryMap::map_read_only`].
    pub fn map(&mut self, vaddr: u64, bytes: &'a mut [u8], policy: AccessPolicy) -> Result<(), MapError> {
        self.insert(vaddr, Region::Exclusive(bytes, policy))
    }

    /// Maps `bytes` with `policy` in segment 0, at address 0: for hosts
    /// whose scripts hold 32-bit pointers (Femto-Container's CoAP packet
    /// fields). Address 0 is then the region's first byte, not a fault.
    ///
    /// # Errors
    /// [`MapError`] when segment 0 is mapped already or the slice is 4 GiB
    /// or larger.
    pub fn map_low(&mut self, bytes: &'a mut [u8], policy: AccessPolicy) -> Result<(), MapError> {
        if u32::try_from(bytes.len()).is_err() {
            return Err(MapError::TooLarge);
        }
        match self.slots.first_mut() {
            Some(Slot(free @ Region::Unmapped)) => *free = Region::Exclusive(bytes, policy),
            Some(_) => return Err(MapError::Occupied(0)),
            None => return Err(MapError::BadAddress(0)),
        }
        Ok(())
    }

    /// Removes the region at `vaddr`, if any.
    pub fn unmap(&mut self, vaddr: u64) {
        if let Some(Slot(region)) = Self::slot_for(vaddr).ok().and_then(|slot| self.slots.get_mut(slot)) {
            *region = Region::Unmapped;
        }
    }

    /// Length of the region mapped at segment start `vaddr`.
    pub fn region_len(&self, vaddr: u64) -> Option<usize> {
        let Slot(region) = self.slots.get(Self::slot_for(vaddr).ok()?)?;
        region.policy().map(|_| region.bytes().len())
    }

    /// Finds the region holding `[addr, addr + len)` and checks `access`.
    /// Returns the region's bytes from `addr` on (at least `len` of them).
    #[inline(always)]
    fn locate(&self, addr: u64, len: u64, access: Access) -> Result<&[u8], MemFault> {
        let fault = |kind| MemFault { addr, len, access, kind };
        let seg = (addr >> 32) as usize;
        let (bytes, allowed) = match self.slots.get(seg) {
            Some(Slot(Region::Shared(s))) => (*s, access == Access::Read),
            Some(Slot(Region::Exclusive(s, p))) => (&**s, p.allows(access)),
            _ => return Err(fault(FaultKind::Unmapped)),
        };
        // `offset + len <= size`, without overflow.
        let Some(tail) = bytes.get(addr as u32 as usize..).filter(|t| len <= t.len() as u64) else {
            return Err(fault(FaultKind::OutOfBounds));
        };
        if !allowed {
            return Err(fault(FaultKind::PolicyDenied));
        }
        Ok(tail)
    }

    /// Borrows `len` readable bytes at `addr`.
    ///
    /// # Errors
    /// A [`MemFault`] when the range is not entirely inside one readable
    /// region.
    #[inline]
    pub fn read(&self, addr: u64, len: u64) -> Result<&[u8], MemFault> {
        let tail = self.locate(addr, len, Access::Read)?;
        // `locate` checked `len <= tail.len()`; `get` keeps it total.
        tail.get(..len as usize).ok_or(MemFault { addr, len, access: Access::Read, kind: FaultKind::OutOfBounds })
    }

    /// Borrows `len` writable bytes at `addr`.
    ///
    /// # Errors
    /// A [`MemFault`] when the range is not entirely inside one writable
    /// region.
    #[inline]
    pub fn write(&mut self, addr: u64, len: u64) -> Result<&mut [u8], MemFault> {
        let fault = |kind| MemFault { addr, len, access: Access::Write, kind };
        self.locate(addr, len, Access::Write)?;
        let (seg, off) = ((addr >> 32) as usize, addr as u32 as usize);
        // `locate` allowed the write: the slot is exclusive, writable, and
        // holds `[off, off + len)`; the checks here only keep this total.
        match self.slots.get_mut(seg) {
            Some(Slot(Region::Exclusive(s, _))) => s.get_mut(off..).and_then(|t| t.get_mut(..len as usize)),
            _ => None,
        }
        .ok_or(fault(FaultKind::PolicyDenied))
    }

    /// Borrows `len` bytes at `addr` that are both readable and writable
    /// (atomics), checking natural alignment.
    ///
    /// # Errors
    /// As [`MemoryMap::write`], plus [`FaultKind::Misaligned`].
    #[inline]
    pub fn read_write(&mut self, addr: u64, len: u64) -> Result<&mut [u8], MemFault> {
        if len == 0 || addr % len != 0 {
            return Err(MemFault { addr, len, access: Access::Write, kind: FaultKind::Misaligned });
        }
        self.read(addr, len)?;
        self.write(addr, len)
    }

    /// Reads a little-endian value of `N` bytes at `addr`, zero-extended.
    ///
    /// # Errors
    /// As [`MemoryMap::read`].
    #[inline(always)]
    pub fn load<const N: usize>(&self, addr: u64) -> Result<u64, MemFault> {
        match self.try_load::<N>(addr) {
            Some(v) => Ok(v),
            None => Err(self.read_fault(addr, N as u64)),
        }
    }

    /// [`MemoryMap::load`] without the reason for a refusal: `None` exactly
    /// when `load` fails (then [`MemoryMap::fault`] tells why). The checks
    /// are those of [`MemoryMap::read`], in native-width arithmetic: mapped
    /// segment, readable policy, `offset + N` inside the region.
    #[inline(always)]
    pub fn try_load<const N: usize>(&self, addr: u64) -> Option<u64> {
        let seg = (addr >> 32) as usize;
        let bytes = self.slots.get(seg)?.0.readable()?;
        let off = addr as u32 as usize;
        Some(le_value_n::<N>(bytes.get(off..off.wrapping_add(N))?))
    }

    /// Writes the low `N` bytes of `value` little-endian at `addr`.
    ///
    /// # Errors
    /// As [`MemoryMap::write`].
    #[inline(always)]
    pub fn store<const N: usize>(&mut self, addr: u64, value: u64) -> Result<(), MemFault> {
        if self.try_store::<N>(addr, value) {
            Ok(())
        } else {
            Err(self.write_fault(addr, N as u64))
        }
    }

    /// [`MemoryMap::store`] without the reason for a refusal: `false`
    /// exactly when `store` fails (nothing is written then).
    #[inline(always)]
    pub fn try_store<const N: usize>(&mut self, addr: u64, value: u64) -> bool {
        let seg = (addr >> 32) as usize;
        let Some(bytes) = self.slots.get_mut(seg).and_then(|s| s.0.writable()) else {
            return false;
        };
        let off = addr as u32 as usize;
        match bytes.get_mut(off..off.wrapping_add(N)) {
            Some(b) => {
                put_le(b, value);
                true
            }
            None => false,
        }
    }

    /// The fault `read(addr, len)` reports.
    #[cold]
    #[inline(never)]
    pub(crate) fn read_fault(&self, addr: u64, len: u64) -> MemFault {
        match self.read(addr, len) {
            Err(f) => f,
            // Not reached after a failed fast path; keeps this total.
            Ok(_) => MemFault { addr, len, access: Access::Read, kind: FaultKind::OutOfBounds },
        }
    }

    /// The fault `write(addr, len)` reports.
    #[cold]
    #[inline(never)]
    pub(crate) fn write_fault(&mut self, addr: u64, len: u64) -> MemFault {
        match self.write(addr, len) {
            Err(f) => f,
            Ok(_) => MemFault { addr, len, access: Access::Write, kind: FaultKind::OutOfBounds },
        }
    }

    /// Reads a NUL-terminated string of at most `max` bytes (excluding the
    /// NUL) starting at `addr`, for helpers such as `printf`.
    ///
    /// # Errors
    /// A fault when no NUL is found inside the region within `max` bytes.
    pub fn read_cstr(&self, addr: u64, max: u64) -> Result<&[u8], MemFault> {
        let fault = MemFault { addr, len: max, access: Access::Read, kind: FaultKind::OutOfBounds };
        let tail = self.locate(addr, 0, Access::Read)?;
        let window = &tail[..tail.len().min(max as usize + 1)];
        match window.iter().position(|&b| b == 0) {
            Some(n) => Ok(&window[..n]),
            None => Err(fault),
        }
    }
}

/// A region lent out of a [`MemoryMap`] (see [`MemoryMap::lend`]).
#[cfg(feature = "fast")]
#[derive(Debug)]
pub(crate) enum Lent<'a> {
    /// A read-only shared slice (a copy of the map's reference).
    Shared(&'a [u8]),
    /// A read-write exclusive slice, taken out of the map until it is given
    /// back with [`MemoryMap::give_back`].
    Exclusive(&'a mut [u8]),
}

#[cfg(feature = "fast")]
impl<'a> MemoryMap<'a> {
    /// Lends the region at segment `seg` to an engine that wants to reach it
    /// without a table lookup per access: read-only shared regions as a copy
    /// of their reference, read-write exclusive ones by moving the slice out
    /// (the slot keeps its policy and an empty slice until
    /// [`MemoryMap::give_back`]). Other regions (write-only, read-only
    /// exclusive, unmapped) are not lent: their accesses go through the map.
    ///
    /// # Invariants
    /// While a slice is lent, the map behaves as if the region were empty;
    /// the borrower gives it back before anyone else (a helper, a fault
    /// report, the host) looks at the map.
    pub(crate) fn lend(&mut self, seg: u32) -> Option<Lent<'a>> {
        // Segment 0 (`map_low`) is never lent: its accesses go through
        // the map.
        let Slot(slot) = self.slots.get_mut(seg as usize).filter(|_| seg != 0)?;
        match slot {
            Region::Shared(s) => Some(Lent::Shared(s)),
            Region::Exclusive(s, AccessPolicy::ReadWrite) => Some(Lent::Exclusive(core::mem::take(s))),
            _ => None,
        }
    }

    /// Puts back a slice taken by [`MemoryMap::lend`] from segment `seg`.
    pub(crate) fn give_back(&mut self, seg: u32, bytes: &'a mut [u8]) {
        if let Some(Slot(Region::Exclusive(s, _))) = self.slots.get_mut(seg as usize) {
            *s = bytes;
        }
    }
}

/// The little-endian value of `N` (at most 8) bytes, zero-extended; `b`
/// holds exactly `N` bytes when it comes from a range of that length.
#[inline(always)]
pub(crate) fn le_value_n<const N: usize>(b: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    if let (Some(dst), Some(src)) = (buf.get_mut(..N), b.get(..N)) {
        dst.copy_from_slice(src);
    }
    u64::from_le_bytes(buf)
}

/// The little-endian value of up to 8 bytes, zero-extended. A byte loop,
/// not a copy of runtime length: that would pull an inlined `memcpy` into
/// every caller (about 1 KB of flash in the reference interpreter).
pub(crate) fn le_value(b: &[u8]) -> u64 {
    b.iter().take(8).rev().fold(0, |v, &x| (v << 8) | x as u64)
}

/// Writes the low `b.len()` (at most 8) bytes of `v` little-endian; a byte
/// loop, see [`le_value`].
pub(crate) fn put_le(b: &mut [u8], mut v: u64) {
    for x in b.iter_mut().take(8) {
        *x = v as u8;
        v >>= 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{segment_vaddr, DATA_VADDR, INPUT_VADDR, STACK_VADDR};

    #[test]
    fn load_store_inside_region() {
        let mut buf = [0u8; 16];
        let mut mem = MemoryMap::new();
        mem.map(INPUT_VADDR, &mut buf, AccessPolicy::ReadWrite).unwrap();
        mem.store::<4>(INPUT_VADDR + 12, 0xdead_beef).unwrap();
        assert_eq!(mem.load::<4>(INPUT_VADDR + 12).unwrap(), 0xdead_beef);
        assert_eq!(mem.load::<2>(INPUT_VADDR + 13).unwrap(), 0xadbe);
    }

    #[test]
    fn bounds_are_exact() {
        let mut buf = [0u8; 16];
        let mut mem = MemoryMap::new();
        mem.map(INPUT_VADDR, &mut buf, AccessPolicy::ReadWrite).unwrap();
        assert!(mem.load::<8>(INPUT_VADDR + 8).is_ok());
        let err = mem.load::<8>(INPUT_VADDR + 9).unwrap_err();
        assert_eq!(err.kind, FaultKind::OutOfBounds);
        // Offsets near 2^32 must not wrap into the region.
        let err = mem.load::<8>(INPUT_VADDR + 0xffff_fffc).unwrap_err();
        assert_eq!(err.kind, FaultKind::OutOfBounds);
    }

    #[test]
    fn unmapped_segments_fault() {
        let mem = MemoryMap::new();
        for addr in [0, 8, STACK_VADDR, u64::MAX, segment_vaddr(MAX_REGIONS as u32 + 1)] {
            assert_eq!(mem.load::<1>(addr).unwrap_err().kind, FaultKind::Unmapped);
        }
    }

    #[test]
    fn segment_zero_only_by_map_low() {
        let mut low = [0u8; 8];
        let mut mem = MemoryMap::new();
        assert_eq!(mem.load::<1>(0).unwrap_err().kind, FaultKind::Unmapped);
        mem.map_low(&mut low, AccessPolicy::ReadWrite).unwrap();
        assert!(mem.store::<4>(4, 0x0102_0304).is_ok());
        assert_eq!(mem.load::<1>(7), Ok(1));
        assert_eq!(mem.load::<1>(8).unwrap_err().kind, FaultKind::OutOfBounds);
        assert_eq!(mem.load::<2>(7).unwrap_err().kind, FaultKind::OutOfBounds);
        // Segment 1 is not segment 0's neighbour.
        assert_eq!(mem.load::<1>(STACK_VADDR).unwrap_err().kind, FaultKind::Unmapped);
        let mut again = [0u8; 1];
        assert_eq!(mem.map_low(&mut again, AccessPolicy::ReadWrite), Err(MapError::Occupied(0)));
    }

    #[test]
    fn policies_are_enforced() {
        let ro = [1u8; 4];
        let mut wo = [0u8; 4];
        let mut mem = MemoryMap::new();
        mem.map_read_only(INPUT_VADDR, &ro).unwrap();
        mem.map(DATA_VADDR, &mut wo, AccessPolicy::WriteOnly).unwrap();
        assert_eq!(mem.store::<1>(INPUT_VADDR, 0).unwrap_err().kind, FaultKind::PolicyDenied);
        assert_eq!(mem.load::<1>(DATA_VADDR).unwrap_err().kind, FaultKind::PolicyDenied);
        assert!(mem.store::<4>(DATA_VADDR, 7).is_ok());
        assert!(mem.load::<4>(INPUT_VADDR).is_ok());
    }

    #[test]
    fn atomics_need_alignment() {
        let mut buf = [0u8; 16];
        let mut mem = MemoryMap::new();
        mem.map(INPUT_VADDR, &mut buf, AccessPolicy::ReadWrite).unwrap();
        assert!(mem.read_write(INPUT_VADDR + 8, 8).is_ok());
        assert_eq!(mem.read_write(INPUT_VADDR + 4, 8).unwrap_err().kind, FaultKind::Misaligned);
    }

    #[test]
    fn mapping_rules() {
        let a = [0u8; 1];
        let mut mem = MemoryMap::new();
        assert_eq!(mem.map_read_only(0, &a), Err(MapError::BadAddress(0)));
        assert_eq!(mem.map_read_only(STACK_VADDR + 1, &a), Err(MapError::BadAddress(STACK_VADDR + 1)));
        mem.map_read_only(STACK_VADDR, &a).unwrap();
        assert_eq!(mem.map_read_only(STACK_VADDR, &a), Err(MapError::Occupied(STACK_VADDR)));
        mem.unmap(STACK_VADDR);
        assert!(mem.map_read_only(STACK_VADDR, &a).is_ok());
    }

    #[test]
    fn a_table_holds_the_segments_it_has_slots_for() {
        let (mut stack, input) = ([0u8; 8], [1u8; 4]);
        let mut mem = MemoryMap::with_slots::<3>();
        mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
        mem.map_read_only(INPUT_VADDR, &input).unwrap();
        assert_eq!(mem.map_read_only(DATA_VADDR, &input), Err(MapError::BadAddress(DATA_VADDR)));
        assert_eq!(mem.load::<1>(DATA_VADDR).unwrap_err().kind, FaultKind::Unmapped);
        assert_eq!(mem.load::<4>(INPUT_VADDR), Ok(0x0101_0101));
        assert!(mem.store::<8>(STACK_VADDR, 7).is_ok());
        mem.unmap(DATA_VADDR);
        assert_eq!(mem.region_len(DATA_VADDR), None);
        let mut none = MemoryMap::with_slots::<0>();
        assert_eq!(none.map_low(&mut [], AccessPolicy::ReadWrite), Err(MapError::BadAddress(0)));
        // A slot is a slice and a tag: a table of 3 is a third of the full one.
        assert_eq!(core::mem::size_of::<MemoryTable<'_, 3>>() * 3, core::mem::size_of::<MemoryTable<'_>>());
    }

    #[test]
    fn cstr_is_bounded() {
        let s = *b"hi\0xx";
        let mut mem = MemoryMap::new();
        mem.map_read_only(INPUT_VADDR, &s).unwrap();
        assert_eq!(mem.read_cstr(INPUT_VADDR, 64).unwrap(), b"hi");
        assert!(mem.read_cstr(INPUT_VADDR + 3, 64).is_err());
        assert!(mem.read_cstr(INPUT_VADDR, 1).is_err());
    }
}
