//! What the runtime needs from the device it runs on: a clock, SAUL-like
//! sensors and actuators, and a log. RIOT implements [`Device`] with
//! ztimer and SAUL; the host node with the system clock and simulated
//! devices.
//!
//! The runtime adds its own key-value store and turns a [`Device`] into the
//! [`alkyl_bindings::Platform`] the helpers use ([`RunPlatform`]), one per
//! run, bound to the running app's namespace.

use alloc::string::String;

use alkyl_bindings::{DeviceHandle, KvError, KvScope, Phydat, Platform, SaulError};

use crate::kv::{KvStore, Namespace};
use crate::name::AppName;

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

/// The platform of one run: the device, the key-value store, and the
/// running app (whose namespace `store_local`/`fetch_local` reach).
pub(crate) struct RunPlatform<'r, D: ?Sized> {
    pub device: &'r mut D,
    pub kv: &'r mut KvStore,
    pub app: &'r AppName,
    pub max_sleep_us: u64,
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
        let capped = deadline_us.min(now.saturating_add(self.max_sleep_us));
        if capped > now {
            self.device.sleep_until_us(capped);
        }
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
}
