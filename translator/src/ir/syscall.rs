//! The syscall table: which helpers `SYSCALL id` may call, with how many
//! arguments of which kind. The ids are the helper ABI's
//! (`bindings/include/alkyl.h`, Femto-Container numbering): a translation
//! calls exactly the helpers C scripts call.
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

use alkyl_bindings::generated as g;

/// Size of RIOT's `phydat_t` (three `int16_t`, a unit and a scale byte).
pub const PHYDAT_SIZE: u32 = alkyl_bindings::PHYDAT_SIZE as u32;

use ArgKind::{MemPtr, Word};

/// Every syscall Alkyl IR knows. `printf` (0x01) and `memcpy` (0x02) are not
/// here: their buffers have no length the translator can check statically.
pub const SYSCALLS: &[Syscall] = &[
    Syscall { id: g::ALKYL_HELPER_STORE_LOCAL, name: "store_local", args: &[Word, Word] },
    Syscall { id: g::ALKYL_HELPER_STORE_GLOBAL, name: "store_global", args: &[Word, Word] },
    Syscall { id: g::ALKYL_HELPER_FETCH_LOCAL, name: "fetch_local", args: &[Word, MemPtr { len: 4 }] },
    Syscall { id: g::ALKYL_HELPER_FETCH_GLOBAL, name: "fetch_global", args: &[Word, MemPtr { len: 4 }] },
    Syscall { id: g::ALKYL_HELPER_DELETE_LOCAL, name: "delete_local", args: &[Word] },
    Syscall { id: g::ALKYL_HELPER_DELETE_GLOBAL, name: "delete_global", args: &[Word] },
    Syscall { id: g::ALKYL_HELPER_NOW_MS, name: "now_ms", args: &[] },
    Syscall { id: g::ALKYL_HELPER_UNIX_TIME, name: "unix_time", args: &[MemPtr { len: 4 }] },
    Syscall { id: g::ALKYL_HELPER_SAUL_REG_FIND_NTH, name: "saul_reg_find_nth", args: &[Word] },
    Syscall { id: g::ALKYL_HELPER_SAUL_REG_FIND_TYPE, name: "saul_reg_find_type", args: &[Word] },
    Syscall { id: g::ALKYL_HELPER_SAUL_REG_READ, name: "saul_reg_read", args: &[Word, MemPtr { len: PHYDAT_SIZE }] },
    Syscall { id: g::ALKYL_HELPER_SAUL_REG_WRITE, name: "saul_reg_write", args: &[Word, MemPtr { len: PHYDAT_SIZE }] },
    Syscall { id: g::ALKYL_HELPER_SAUL_REG_WRITE_VALUE, name: "saul_reg_write_value", args: &[Word, Word] },
];

/// Helper ids behind `SLOAD` and `SSTORE` (the per-app key-value store).
pub const STORE_LOCAL: u32 = g::ALKYL_HELPER_STORE_LOCAL;
/// See [`STORE_LOCAL`].
pub const FETCH_LOCAL: u32 = g::ALKYL_HELPER_FETCH_LOCAL;

/// The syscall with this id.
pub fn by_id(id: u64) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.id as u64 == id)
}

/// The syscall with this name.
pub fn by_name(name: &str) -> Option<&'static Syscall> {
    SYSCALLS.iter().find(|s| s.name == name)
}
