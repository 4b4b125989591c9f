//! What the runtime needs from the device it runs on: a clock, SAUL-like
//! sensors and actuators, and a log. RIOT implements [`Device`] with
//! ztimer and SAUL; the host node with the system clock and simulated
//! devices.
//!
//! The runtime adds its own key-value store and turns a [`Device`] into the
//! [`alkyl_bindings::Platform`] the helpers use ([`RunPlatform`]), one per
//! run, bound to the running app's namespace.

use alloc::string::String;

use alkyl_bindings::{DeviceHandle, KvError, KvScope, Phydat, Platform, ReportError, SaulError};

use crate::kv::{KvStore, Namespace};
use crate::name::AppName;
use crate::reports::{ReportError as QueueError, Reports};

/// SAUL category bit of actuators (RIOT's `SAUL_CAT_ACT`).
pub const SAUL_CAT_ACT: u8 = 0x40;
/// SAUL category bit of sensors (RIOT's `SAUL_CAT_SENSE`).
pub const SAUL_CAT_SENSE: u8 = 0x80;

/// What a listing shows about a sensor or actuator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaulInfo {
    /// Its name (RIOT: the registry entry's name).
    pub name: String,
    /// Its SAUL class (`ALKYL_SAUL_*`, RIOT's numbering).
    pub class: u8,
}

impl SaulInfo {
    /// Whether it is an actuator (else a sensor).
    pub fn is_actuator(&self) -> bool {
        self.class & 0xc0 == SAUL_CAT_ACT
    }
}

/// Whether a device of class `class` answers a search for `wanted`
/// ([`Device::saul_find_type`]): the same class, or any device of the
/// category when `wanted` is `SAUL_ACT_ANY` or `SAUL_SENSE_ANY`.
pub fn class_matches(wanted: u8, class: u8) -> bool {
    class == wanted || ((wanted == SAUL_CAT_ACT || wanted == SAUL_CAT_SENSE) && class & 0xc0 == wanted)
}

/// How many dimensions a write to an actuator of class `class` carries:
/// three for an RGB LED (`SAUL_ACT_LED_RGB`), one otherwise.
pub fn write_dims(class: u8) -> u8 {
    if class == alkyl_bindings::generated::ALKYL_SAUL_ACT_LED_RGB as u8 {
        3
    } else {
        1
    }
}

/// Widens a wrapping 32-bit tick counter (RIOT's `ztimer_now`: 49.7 days
/// in milliseconds, 71.6 minutes in microseconds) to a 64-bit count since
/// the first reading.
///
/// Correct as long as it sees the counter at least once per wrap period
/// (a device's main loop reads its clocks every few seconds at most).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Widen32 {
    last: u32,
    high: u64,
}

impl Widen32 {
    /// A widener whose count starts at the first reading's value.
    pub const fn new() -> Widen32 {
        Widen32 { last: 0, high: 0 }
    }

    /// The 64-bit count for the counter reading `now`.
    pub fn widen(&mut self, now: u32) -> u64 {
        if now < self.last {
            self.high = self.high.wrapping_add(1 << 32);
        }
        self.last = now;
        self.high | now as u64
    }
}

/// The device services the runtime and its scripts use. Every method is
/// infallible or returns a recoverable error.
pub trait Device {
    /// Milliseconds since boot.
    fn now_ms(&mut self) -> u64;
    /// Microseconds since boot.
    fn now_us(&mut self) -> u64;
    /// Waits until [`Device::now_us`] reaches `deadline_us`. The runtime
    /// never asks for more than `Config::max_sleep_us` at once.
    fn sleep_until_us(&mut self, deadline_us: u64);
    /// Output of `app` (one `printf` call's bytes).
    fn log(&mut self, app: &AppName, bytes: &[u8]);
    /// The device at 0-based registry position `pos`.
    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle>;
    /// The first device of class `class` (`*_ANY` classes match a category).
    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle>;
    /// Reads a device: its value and the dimensions used (1..=3).
    ///
    /// # Errors
    /// [`SaulError`].
    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError>;
    /// Writes a device; returns the dimensions consumed.
    ///
    /// # Errors
    /// [`SaulError`].
    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError>;
    /// Name and class of a device, for listings.
    fn saul_info(&mut self, dev: DeviceHandle) -> Option<SaulInfo>;
}

/// Script output as it may safely reach a terminal or a log (hosts call
/// it on each line of [`Device::log`]): control characters (escape
/// sequences, carriage returns, bells...) escaped as `\u{1b}`, tabs kept.
pub fn printable(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The platform of one run: the device, the key-value store, and the
/// running app (whose namespace `store_local`/`fetch_local` reach).
pub(crate) struct RunPlatform<'r, D: ?Sized> {
    pub device: &'r mut D,
    pub kv: &'r mut KvStore,
    pub app: &'r AppName,
    pub max_sleep_us: u64,
    /// The wall clock at the run's start (`None`: not set).
    pub unix_ms: Option<u64>,
    /// The report queue, its bound, and whether this run queued a report.
    pub reports: &'r mut Reports,
    pub max_reports: usize,
    pub reported: bool,
    /// The run's wall-time limit, on the device's microsecond clock.
    pub deadline_us: u64,
}

impl<D: Device + ?Sized> RunPlatform<'_, D> {
    fn namespace(&self, scope: KvScope) -> Namespace {
        match scope {
            // The helpers pass the runtime's app number; this platform
            // serves exactly one app, so its name selects the namespace.
            KvScope::Local(_) => Namespace::App(self.app.clone()),
            KvScope::Global => Namespace::Global,
        }
    }
}

impl<D: Device + ?Sized> Platform for RunPlatform<'_, D> {
    fn now_ms(&mut self) -> u64 {
        self.device.now_ms()
    }

    fn now_us(&mut self) -> u64 {
        self.device.now_us()
    }

    fn sleep_until_us(&mut self, deadline_us: u64) {
        let now = self.device.now_us();
        let capped = deadline_us.min(now.saturating_add(self.max_sleep_us)).min(self.deadline_us);
        if capped > now {
            self.device.sleep_until_us(capped);
        }
    }

    fn overdue(&mut self) -> bool {
        self.device.now_us() >= self.deadline_us
    }

    fn log(&mut self, bytes: &[u8]) {
        self.device.log(self.app, bytes);
    }

    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        self.device.saul_find_nth(pos)
    }

    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        self.device.saul_find_type(class)
    }

    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        self.device.saul_read(dev)
    }

    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        self.device.saul_write(dev, value)
    }

    fn kv_store(&mut self, scope: KvScope, key: u32, value: u32) -> Result<(), KvError> {
        let ns = self.namespace(scope);
        self.kv.store(&ns, key, value)
    }

    fn kv_fetch(&mut self, scope: KvScope, key: u32) -> Option<u32> {
        self.kv.fetch(&self.namespace(scope), key)
    }

    fn kv_delete(&mut self, scope: KvScope, key: u32) -> bool {
        let ns = self.namespace(scope);
        self.kv.delete(&ns, key)
    }

    fn unix_time_ms(&mut self) -> Option<u64> {
        // The run's start plus the time it has run so far is not worth a
        // clock read per call: scripts run for microseconds.
        self.unix_ms
    }

    fn report(&mut self, payload: &[u8]) -> Result<(), ReportError> {
        match self.reports.push(self.app, self.unix_ms, payload, self.max_reports) {
            Ok(_) => {
                self.reported = true;
                Ok(())
            }
            Err(QueueError::TooLong) => Err(ReportError::TooLong),
            Err(QueueError::Full) => Err(ReportError::Full),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        // SAUL_SENSE_TEMP, SAUL_SENSE_ANY, SAUL_ACT_ANY, SAUL_ACT_LED_RGB.
        assert!(class_matches(0x82, 0x82));
        assert!(!class_matches(0x82, 0x83));
        assert!(class_matches(0x80, 0x82));
        assert!(!class_matches(0x80, 0x41));
        assert!(class_matches(0x40, 0x41));
        assert!(!class_matches(0x41, 0x44));
        assert!(!class_matches(0x40, 0x00));
        assert_eq!(write_dims(0x41), 3);
        assert_eq!(write_dims(0x44), 1);
    }

    #[test]
    fn printable_output() {
        assert_eq!(printable("\x1b[2Jok\tü\r\u{7}"), "\\u{1b}[2Jok\tü\\r\\u{7}");
    }

    #[test]
    fn widening() {
        let mut w = Widen32::new();
        assert_eq!(w.widen(5), 5);
        assert_eq!(w.widen(5), 5);
        assert_eq!(w.widen(u32::MAX), u32::MAX as u64);
        assert_eq!(w.widen(3), (1 << 32) + 3);
        assert_eq!(w.widen(u32::MAX - 1), (1 << 32) + u32::MAX as u64 - 1);
        assert_eq!(w.widen(0), 2 << 32);
    }
}
