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
    // Queues a report of `len` (at most ALKYL_REPORT_MAX) bytes for the
    // gateway; the buffer is checked for 8 bytes statically, the rest by
    // the helper (a longer report traps if it leaves memory).
    Syscall { id: g::ALKYL_HELPER_REPORT, name: "report", args: &[MemPtr { len: 8 }, Word] },
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

/// A gateway syscall: a service of the gateway (the paper's Aryl node) that
/// an Aryl script compiled from the Alkyl language calls
/// (`docs/alkyl-lang.md`, "Gateway syscalls"). Valid only in a module of
/// [`super::module::Profile::Gateway`]; unlike the device syscalls, each
/// argument and the result have their own width (a string is one 64-bit
/// word), and the mode does not matter. The gateway gives them their
/// runtime; the reference interpreter has none and traps
/// `IrTrap::Syscall { id }` on them. Translated (only in a gateway module),
/// each is the eBPF helper of the same id ([`GATEWAY_HELPERS`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatewaySyscall {
    pub id: u32,
    pub name: &'static str,
    /// Widths of the arguments, the last one on top of the stack.
    pub args: &'static [super::width::Width],
    /// Width of the result, if it pushes one.
    pub result: Option<super::width::Width>,
}

use super::width::Width::{W32, W64};

/// Every gateway syscall (ids `0x100..`, beyond the helper ABI's).
pub const GATEWAY_SYSCALLS: &[GatewaySyscall] = &[
    // Decrypt(string) -> string: the gateway's key decrypts the bytes.
    GatewaySyscall { id: 0x100, name: "gw_decrypt", args: &[W64], result: Some(W64) },
    // block.timestamp: the timestamp of the block of the event (time_t).
    GatewaySyscall { id: 0x101, name: "gw_block_timestamp", args: &[], result: Some(W32) },
    // How many devices `for each (device in devices)` visits.
    GatewaySyscall { id: 0x102, name: "gw_device_count", args: &[], result: Some(W32) },
    // Appends one 8-byte argument slot to the pending device call.
    GatewaySyscall { id: 0x103, name: "gw_arg", args: &[W64], result: None },
    // device.F(args): calls public function F (by the FNV-1a hash of its
    // name) on device number `device` with the pending slots (then cleared);
    // the function's result.
    GatewaySyscall { id: 0x104, name: "gw_call", args: &[W32, W32], result: Some(W64) },
    // Log(value): a line in the gateway's log.
    GatewaySyscall { id: 0x105, name: "gw_log", args: &[W64], result: None },
    // contract.F(args): a transaction calling the contract's function F (by
    // the FNV-1a hash of its name) with the pending slots (then cleared),
    // from the gateway's account; 0 (it is sent asynchronously).
    GatewaySyscall { id: 0x106, name: "gw_transact", args: &[W32], result: Some(W64) },
    // devices.NAME: the number of the device named NAME (by the FNV-1a hash
    // of its name), as `for each` numbers them; no such device: a trap.
    GatewaySyscall { id: 0x107, name: "gw_device", args: &[W32], result: Some(W32) },
];

/// The helper ids of the gateway syscalls: a translated gateway module calls
/// gateway syscall `id` as eBPF helper `id` (`call id`, arguments in
/// `r1..r5` first first, each in its width, the result in `r0`), which only
/// the gateway implements (`docs/helpers.md`, "Gateway helpers").
pub const GATEWAY_HELPERS: [u32; GATEWAY_SYSCALLS.len()] = {
    let mut ids = [0; GATEWAY_SYSCALLS.len()];
    let mut i = 0;
    while i < ids.len() {
        ids[i] = GATEWAY_SYSCALLS[i].id;
        i += 1;
    }
    ids
};

/// The gateway syscall with this id.
pub fn gateway_by_id(id: u64) -> Option<&'static GatewaySyscall> {
    GATEWAY_SYSCALLS.iter().find(|s| s.id as u64 == id)
}

/// The gateway syscall with this name.
pub fn gateway_by_name(name: &str) -> Option<&'static GatewaySyscall> {
    GATEWAY_SYSCALLS.iter().find(|s| s.name == name)
}

/// The 32-bit FNV-1a hash `gw_call` names a device function by.
pub const fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u32;
        h = h.wrapping_mul(0x0100_0193);
        i += 1;
    }
    h
}
