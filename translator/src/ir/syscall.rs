//! The syscall table: which helpers `SYSCALL id` may call, with how many
//! arguments of which kind. The numbering is the Femto-Container helper
//! numbering the device runtime implements.
//!
//! Every syscall is valid in 32-bit mode only (the helpers' C ABI is 32
//! bit): it pops its arguments (the last one on top), passes each as a
//! zero-extended 32-bit value, and pushes the low 32 bits of the result.
//! A [`ArgKind::MemPtr`] argument is an offset into linear memory: the
//! range `offset .. offset + len` must lie inside memory, else the call traps
//! with `MemoryOutOfBounds` before the helper runs; the helper receives the
//! address of that memory.

/// What an argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// A plain 32-bit value.
    Word,
    /// An offset into linear memory of a buffer of `len` bytes.
    MemPtr { len: u32 },
}

/// One entry of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Syscall {
    pub id: u32,
    pub name: &'static str,
    pub args: &'static [ArgKind],
}

/// Size of RIOT's `phydat_t` (three `int16_t`, a unit and a scale byte).
pub const PHYDAT_SIZE: u32 = 8;

use ArgKind::{MemPtr, Word};

/// Every syscall Alkyl IR knows. `printf` (0x01) and `memcpy` (0x02) are not
/// here: their buffers have no length the translator can check statically.
pub const SYSCALLS: &[Syscall] = &[
    Syscall { id: 0x10, name: "store_local", args: &[Word, Word] },
    Syscall { id: 0x11, name: "store_global", args: &[Word, Word] },
    Syscall { id: 0x12, name: "fetch_local", args: &[Word, MemPtr { len: 4 }] },
    Syscall { id: 0x13, name: "fetch_global", args: &[Word, MemPtr { len: 4 }] },
    Syscall { id: 0x14, name: "delete_local", args: &[Word] },
    Syscall { id: 0x15, name: "delete_global", args: &[Word] },
    Syscall { id: 0x20, name: "now_ms", args: &[] },
    Syscall { id: 0x30, name: "saul_reg_find_nth", args: &[Word] },
    Syscall { id: 0x31, name: "saul_reg_find_type", args: &[Word] },
    Syscall { id: 0x32, name: "saul_reg_read", args: &[Word, MemPtr { len: PHYDAT_SIZE }] },
    Syscall { id: 0x33, name: "saul_reg_write", args: &[Word, MemPtr { len: PHYDAT_SIZE }] },
    Syscall { id: 0x34, name: "saul_reg_write_value", args: &[Word, Word] },
];

/// Helper ids behind `SLOAD` and `SSTORE` (the per-app key-value store).
pub const STORE_LOCAL: u32 = 0x10;
/// See [`STORE_LOCAL`].
pub const FETCH_LOCAL: u32 = 0x12;

/// The syscall with this id.
pub fn by_id(id: u64) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.id as u64 == id)
}

/// The syscall with this name.
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.name == name)
}
