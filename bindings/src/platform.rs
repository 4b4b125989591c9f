//! What the helpers need from the device: a clock, sensors and actuators,
//! a key-value store and a log. The device runtime implements [`Platform`]
//! for RIOT and for the host node; [`crate::SimPlatform`] implements it for
//! tests and `alkyl run`.

use core::fmt;
use core::num::NonZeroU32;

use crate::generated;

/// A sensor or actuator value: `val[i] * 10^scale` in `unit` (RIOT's `phydat_t`).
pub type Phydat = generated::alkyl_phydat_t;

/// Size of a [`Phydat`] in script memory.
pub const PHYDAT_SIZE: usize = 8;

/// Decodes a [`Phydat`] from its little-endian script layout.
pub fn phydat_from_bytes(b: &[u8; PHYDAT_SIZE]) -> Phydat {
    Phydat {
        val: [i16::from_le_bytes([b[0], b[1]]), i16::from_le_bytes([b[2], b[3]]), i16::from_le_bytes([b[4], b[5]])],
        unit: b[6] as i8,
        scale: b[7] as i8,
    }
}

/// Encodes a [`Phydat`] in its little-endian script layout.
pub fn phydat_to_bytes(p: &Phydat) -> [u8; PHYDAT_SIZE] {
    let [a, b, c] = p.val.map(i16::to_le_bytes);
    [a[0], a[1], b[0], b[1], c[0], c[1], p.unit as u8, p.scale as u8]
}

/// An opaque sensor/actuator handle as scripts see it (never 0, never a
/// host pointer). The platform chooses the numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceHandle(pub NonZeroU32);

impl DeviceHandle {
    /// The handle a script passed, if it can be one.
    pub fn from_arg(arg: u64) -> Option<DeviceHandle> {
        u32::try_from(arg).ok().and_then(NonZeroU32::new).map(DeviceHandle)
    }

    /// The value the script receives.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

/// Why a sensor/actuator operation failed (returned to the script as a
/// negative `ALKYL_E*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaulError {
    /// No device with this handle.
    NoDevice,
    /// The device cannot do this (read a write-only actuator...).
    NotSupported,
    /// The value is out of the device's range.
    Range,
}

impl SaulError {
    /// The script-visible return code.
    pub fn code(self) -> i32 {
        match self {
            SaulError::NoDevice => generated::ALKYL_ENODEV,
            SaulError::NotSupported => generated::ALKYL_ENOTSUP,
            SaulError::Range => generated::ALKYL_ERANGE,
        }
    }
}

/// Which key-value namespace: one per app, plus a global one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KvScope {
    /// The namespace of app `app` (the runtime's numbering).
    Local(u32),
    /// Shared by all apps.
    Global,
}

/// Why a key-value store operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvError {
    /// No room for a new key (capacity or quota).
    Full,
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("key-value store full")
    }
}

/// The device services helpers use. Every method is infallible or returns
/// a recoverable error: a platform never traps a script.
pub trait Platform {
    /// Milliseconds since boot.
    fn now_ms(&mut self) -> u64;
    /// Microseconds since boot.
    fn now_us(&mut self) -> u64;
    /// Waits until [`Platform::now_us`] reaches `deadline_us` (a platform may
    /// cap the wait; a simulated clock simply advances).
    fn sleep_until_us(&mut self, deadline_us: u64);
    /// Whether the run's wall-time limit has passed. A helper that waits
    /// asks after waiting and ends the run ([`HelperError::Aborted`]) when
    /// it has; the host reports that as its time-limit trap. The default:
    /// no limit.
    ///
    /// [`HelperError::Aborted`]: alkyl_vm::HelperError::Aborted
    fn overdue(&mut self) -> bool {
        false
    }
    /// Writes script output (one `printf` call's bytes).
    fn log(&mut self, bytes: &[u8]);
    /// The device at 0-based position `pos`.
    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle>;
    /// The first device of class `class` (RIOT SAUL class ids).
    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle>;
    /// Reads a device: its value and the number of dimensions used (1..=3).
    ///
    /// # Errors
    /// [`SaulError`].
    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError>;
    /// Writes a device; returns the number of dimensions consumed.
    ///
    /// # Errors
    /// [`SaulError`].
    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError>;
    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// [`KvError::Full`] when a new key does not fit.
    fn kv_store(&mut self, scope: KvScope, key: u32, value: u32) -> Result<(), KvError>;
    /// The value under `key`.
    fn kv_fetch(&mut self, scope: KvScope, key: u32) -> Option<u32>;
    /// Removes `key`; false when it was absent.
    fn kv_delete(&mut self, scope: KvScope, key: u32) -> bool;
    /// Unix time in milliseconds, once the device's wall clock is set
    /// (`None` before: scripts get `ALKYL_ENODATA`, never 1970).
    fn unix_time_ms(&mut self) -> Option<u64> {
        None
    }
    /// Queues `payload` as a report to the gateway.
    ///
    /// # Errors
    /// [`ReportError`]; nothing is queued then.
    fn report(&mut self, payload: &[u8]) -> Result<(), ReportError> {
        let _ = payload;
        Err(ReportError::Unsupported)
    }
}

/// Why a report was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// Longer than `ALKYL_REPORT_MAX`.
    TooLong,
    /// The queue is full.
    Full,
    /// This host keeps no reports.
    Unsupported,
}

impl ReportError {
    /// The `ALKYL_E*` code scripts see.
    pub fn code(self) -> i32 {
        match self {
            ReportError::TooLong => generated::ALKYL_EINVAL,
            ReportError::Full => generated::ALKYL_ENOSPC,
            ReportError::Unsupported => generated::ALKYL_ENOTSUP,
        }
    }
}
