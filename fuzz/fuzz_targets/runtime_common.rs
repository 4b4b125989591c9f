//! A runtime for fuzzing: RAM storage, development mode (unsigned
//! envelopes accepted, so the fuzzer reaches decompression, verification,
//! installation and runs), a small budget, and a device with a manual clock.

use std::num::NonZeroU32;

use alkyl_bindings::{DeviceHandle, Phydat, SaulError};
use alkyl_protocol::AppName;
use alkyl_runtime::{Authority, Config, Device, RamStorage, Runtime, SaulInfo};

#[derive(Default)]
pub struct FuzzDevice {
    pub now_us: u64,
    pub led: Phydat,
}

impl Device for FuzzDevice {
    alkyl_bindings::sim_clock!(now_us);
    fn log(&mut self, _app: &AppName, _bytes: &[u8]) {}
    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        (pos < 2).then(|| DeviceHandle(NonZeroU32::new(pos + 1).unwrap()))
    }
    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        match class {
            0x82 | 0x80 => self.saul_find_nth(0),
            0x41 | 0x40 => self.saul_find_nth(1),
            _ => None,
        }
    }
    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        match dev.get() {
            1 => Ok((Phydat { val: [(self.now_us / 1000 % 4000) as i16, 0, 0], unit: 2, scale: -2 }, 1)),
            2 => Ok((self.led, 3)),
            _ => Err(SaulError::NoDevice),
        }
    }
    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        match dev.get() {
            2 => {
                self.led = *value;
                Ok(3)
            }
            1 => Err(SaulError::NotSupported),
            _ => Err(SaulError::NoDevice),
        }
    }
    fn saul_info(&mut self, dev: DeviceHandle) -> Option<SaulInfo> {
        match dev.get() {
            1 => Some(SaulInfo { name: "temp".into(), class: 0x82 }),
            2 => Some(SaulInfo { name: "led".into(), class: 0x41 }),
            _ => None,
        }
    }
}

pub type FuzzRuntime = Runtime<RamStorage, FuzzDevice>;

pub fn config() -> Config {
    Config { budget: 10_000, max_envelope_bytes: 4096, max_app_bytes: 4096, max_total_bytes: 16384, ..Config::DEFAULT }
}

pub fn runtime() -> FuzzRuntime {
    let (rt, _) =
        Runtime::new(config(), Authority::read_only().allow_unsigned(), RamStorage::new(), FuzzDevice::default())
            .expect("RAM storage lists");
    rt
}

/// Invariants that must hold whatever happened.
pub fn check_invariants(rt: &FuzzRuntime) {
    let c = config();
    assert!(rt.apps().count() <= c.max_apps);
    assert!(rt.store_bytes() <= c.max_total_bytes);
    assert!(rt.uploads_in_progress() <= c.max_uploads);
    for app in rt.apps() {
        assert!(app.container().len() <= c.max_app_bytes);
        assert!(app.meta().sequence >= app.meta().version);
    }
}
