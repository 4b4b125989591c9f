//! What `SLOAD`, `SSTORE` and `SYSCALL` do, in terms of the device's
//! [`Platform`] — written from the specification (`docs/alkyl-ir.md` §4.5
//! and §9), which gives each syscall the meaning of the C helper with its
//! id (`docs/helpers.md`). The VM side reaches the same platform through
//! `alkyl_bindings::AlkylHelpers`; the differential tests compare the two.
//!
//! Arguments are 32-bit words; results are the helper's C `int`, returned
//! as its 32-bit two's complement. Buffers were checked against linear
//! memory by the interpreter before the call.

use alkyl_bindings::generated as g;
use alkyl_bindings::{phydat_from_bytes, phydat_to_bytes, DeviceHandle, KvScope, Phydat, Platform, PHYDAT_SIZE};

use crate::ir::syscall::{ArgKind, Syscall};
use crate::ir::trap::IrTrap;

/// The cell `key` of the app's own namespace; absent cells read as 0.
pub(super) fn storage_load<P: Platform + ?Sized>(platform: &mut P, app: u32, key: u32) -> u32 {
    platform.kv_fetch(KvScope::Local(app), key).unwrap_or(0)
}

/// Stores a cell of the app's own namespace; `false` when the store is full.
pub(super) fn storage_store<P: Platform + ?Sized>(platform: &mut P, app: u32, key: u32, value: u32) -> bool {
    platform.kv_store(KvScope::Local(app), key, value).is_ok()
}

/// Performs syscall `sc` with `args` (as many as the table says). The
/// buffer argument, if any, is an offset into `memory` whose range the
/// caller has checked.
///
/// # Errors
/// [`IrTrap::Malformed`] when a buffer argument is not inside `memory`
/// (the caller broke its promise).
pub(super) fn syscall<P: Platform + ?Sized>(
    platform: &mut P,
    app: u32,
    sc: &Syscall,
    args: &[u32],
    memory: &mut [u8],
) -> Result<u32, IrTrap> {
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    let mut buffer: Option<&mut [u8]> = None;
    for (kind, &a) in sc.args.iter().zip(args) {
        if let ArgKind::MemPtr { len } = *kind {
            let range = a as usize..a as usize + len as usize;
            buffer = Some(memory.get_mut(range).ok_or(IrTrap::Malformed)?);
        }
    }
    let scope = |local: bool| if local { KvScope::Local(app) } else { KvScope::Global };
    let handle = DeviceHandle::from_arg(arg(0) as u64);
    let code: i32 = match sc.id {
        g::ALKYL_HELPER_STORE_LOCAL | g::ALKYL_HELPER_STORE_GLOBAL => {
            match platform.kv_store(scope(sc.id == g::ALKYL_HELPER_STORE_LOCAL), arg(0), arg(1)) {
                Ok(()) => 0,
                Err(_) => g::ALKYL_ENOSPC,
            }
        }
        g::ALKYL_HELPER_FETCH_LOCAL | g::ALKYL_HELPER_FETCH_GLOBAL => {
            // Femto-Container semantics: an absent key reads as 0, and succeeds.
            let v = platform.kv_fetch(scope(sc.id == g::ALKYL_HELPER_FETCH_LOCAL), arg(0)).unwrap_or(0);
            buffer.ok_or(IrTrap::Malformed)?.copy_from_slice(&v.to_le_bytes());
            0
        }
        g::ALKYL_HELPER_DELETE_LOCAL | g::ALKYL_HELPER_DELETE_GLOBAL => {
            if platform.kv_delete(scope(sc.id == g::ALKYL_HELPER_DELETE_LOCAL), arg(0)) {
                0
            } else {
                g::ALKYL_ENOENT
            }
        }
        g::ALKYL_HELPER_NOW_MS => platform.now_ms() as u32 as i32,
        g::ALKYL_HELPER_UNIX_TIME => match platform.unix_time_ms() {
            Some(ms) => {
                buffer.ok_or(IrTrap::Malformed)?.copy_from_slice(&((ms / 1000) as u32).to_le_bytes());
                0
            }
            None => g::ALKYL_ENODATA,
        },
        g::ALKYL_HELPER_REPORT => {
            let len = arg(1) as usize;
            if len > g::ALKYL_REPORT_MAX as usize {
                g::ALKYL_EINVAL
            } else {
                let at = arg(0) as usize;
                let payload = memory.get(at..at + len).ok_or(IrTrap::MemoryOutOfBounds)?;
                match platform.report(payload) {
                    Ok(()) => 0,
                    Err(e) => e.code(),
                }
            }
        }
        // `int pos`: a negative position finds nothing.
        g::ALKYL_HELPER_SAUL_REG_FIND_NTH if (arg(0) as i32) < 0 => 0,
        g::ALKYL_HELPER_SAUL_REG_FIND_NTH => platform.saul_find_nth(arg(0)).map_or(0, |d| d.get() as i32),
        // `uint8_t type`: the low byte.
        g::ALKYL_HELPER_SAUL_REG_FIND_TYPE => platform.saul_find_type(arg(0) as u8).map_or(0, |d| d.get() as i32),
        g::ALKYL_HELPER_SAUL_REG_READ => match handle.map(|h| platform.saul_read(h)) {
            None => g::ALKYL_ENODEV,
            Some(Err(e)) => e.code(),
            Some(Ok((value, dims))) => {
                buffer.ok_or(IrTrap::Malformed)?.copy_from_slice(&phydat_to_bytes(&value));
                dims as i32
            }
        },
        g::ALKYL_HELPER_SAUL_REG_WRITE => {
            let raw: &[u8; PHYDAT_SIZE] = buffer.as_deref().and_then(|b| b.try_into().ok()).ok_or(IrTrap::Malformed)?;
            write(platform, handle, &phydat_from_bytes(raw))
        }
        // `int32_t value` into a phydat's int16_t: out of range is ERANGE.
        g::ALKYL_HELPER_SAUL_REG_WRITE_VALUE => match i16::try_from(arg(1) as i32) {
            Ok(v) => write(platform, handle, &Phydat { val: [v, 0, 0], unit: 0, scale: 0 }),
            Err(_) => g::ALKYL_ERANGE,
        },
        _ => return Err(IrTrap::Malformed),
    };
    Ok(code as u32)
}

/// `saul_reg_write` to `handle` (0: no such device).
fn write<P: Platform + ?Sized>(platform: &mut P, handle: Option<DeviceHandle>, value: &Phydat) -> i32 {
    match handle.map(|h| platform.saul_write(h, value)) {
        None => g::ALKYL_ENODEV,
        Some(Ok(dims)) => dims as i32,
        Some(Err(e)) => e.code(),
    }
}
