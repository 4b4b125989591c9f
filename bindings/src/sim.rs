//! A simulated [`Platform`] for tests and `alkyl run`: a manual clock,
//! scripted sensors, recording actuators, a bounded in-memory key-value
//! store and a captured log. Fixed capacity, no allocation.
//!
//! Two platforms compare equal when nothing a script or an observer can
//! see tells them apart (clock, devices, actuator writes, key-value
//! contents, log), which is what the Alkyl IR differential tests check
//! after every call: the reference interpreter and the VM's helpers each
//! drive their own copy.

use core::fmt;
use core::num::NonZeroU32;

use crate::generated as g;
use crate::platform::{DeviceHandle, KvError, KvScope, Phydat, Platform, SaulError};

/// Devices a [`SimPlatform`] holds.
pub const SIM_DEVICES: usize = 8;
/// Values one scripted sensor plays back.
pub const SIM_SCRIPT_LEN: usize = 16;
/// Key-value entries across all namespaces.
pub const SIM_KV_CAPACITY: usize = 64;
/// Bytes of log kept (later output is counted, not kept).
pub const SIM_LOG_CAPACITY: usize = 4096;
/// Actuator writes recorded in order (later ones are counted, not kept).
pub const SIM_WRITE_LOG: usize = 64;

/// Why a device could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// All [`SIM_DEVICES`] slots are used.
    TooManyDevices,
    /// A script of no values or more than [`SIM_SCRIPT_LEN`].
    ScriptLength,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Device {
    class: u8,
    /// Sensor playback: `script[..len]`, `next` is the next index; the last
    /// value repeats.
    script: [Phydat; SIM_SCRIPT_LEN],
    len: usize,
    next: usize,
    dims: u8,
    /// Actuators accept writes and report their last state on read.
    actuator: bool,
    writes: u32,
}

/// One write to an actuator, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActuatorWrite {
    pub device: DeviceHandle,
    pub value: Phydat,
}

/// The Unix time (seconds) of [`SimPlatform::demo`]'s wall clock at its
/// clock 0 (2023-11-14 22:13:20 UTC).
pub const SIM_DEMO_UNIX_S: u64 = 1_700_000_000;

/// The simulated platform.
#[derive(Clone)]
pub struct SimPlatform {
    now_us: u64,
    devices: [Option<Device>; SIM_DEVICES],
    kv: [Option<(KvScope, u32, u32)>; SIM_KV_CAPACITY],
    kv_limit: usize,
    log: [u8; SIM_LOG_CAPACITY],
    log_len: usize,
    log_dropped: usize,
    writes: [ActuatorWrite; SIM_WRITE_LOG],
    writes_len: usize,
    writes_dropped: usize,
    echo: Option<fn(&[u8])>,
    /// Unix milliseconds at clock 0, once set.
    unix_base_ms: Option<u64>,
}

impl Default for SimPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl SimPlatform {
    /// An empty platform at time 0.
    pub const fn new() -> Self {
        SimPlatform {
            now_us: 0,
            devices: [None; SIM_DEVICES],
            kv: [None; SIM_KV_CAPACITY],
            kv_limit: SIM_KV_CAPACITY,
            log: [0; SIM_LOG_CAPACITY],
            log_len: 0,
            log_dropped: 0,
            writes: [ActuatorWrite { device: DeviceHandle(NonZeroU32::MIN), value: PHYDAT_ZERO }; SIM_WRITE_LOG],
            writes_len: 0,
            writes_dropped: 0,
            echo: None,
            unix_base_ms: None,
        }
    }

    /// The devices `alkyl run` and the Alkyl IR tests simulate, in SAUL
    /// order (handles 1 to 4): a temperature sensor (21.50 °C, then 21.75,
    /// 22.00), a humidity sensor (45.0 %), an RGB LED and a switch (the
    /// smart lock's buzzer and lock); its wall clock reads
    /// [`SIM_DEMO_UNIX_S`] at clock 0.
    pub fn demo() -> Self {
        let mut p = SimPlatform::new();
        let temp = |v| Phydat { val: [v, 0, 0], unit: g::ALKYL_UNIT_TEMP_C as i8, scale: -2 };
        let hum = Phydat { val: [450, 0, 0], unit: 0, scale: -1 };
        // Four devices always fit an empty platform, and both scripts fit.
        let _ = p.add_sensor(g::ALKYL_SAUL_SENSE_TEMP as u8, 1, &[temp(2150), temp(2175), temp(2200)]);
        let _ = p.add_sensor(g::ALKYL_SAUL_SENSE_HUM as u8, 1, &[hum]);
        let _ = p.add_actuator(g::ALKYL_SAUL_ACT_LED_RGB as u8);
        let _ = p.add_actuator(g::ALKYL_SAUL_ACT_SWITCH as u8);
        p.set_unix_ms(SIM_DEMO_UNIX_S * 1000);
        p
    }

    /// Sets the wall clock: it reads `unix_ms` now and advances with the
    /// simulated clock.
    pub fn set_unix_ms(&mut self, unix_ms: u64) {
        self.unix_base_ms = Some(unix_ms.saturating_sub(self.now_us / 1000));
    }

    /// Unsets the wall clock (`bpf_unix_time` returns `ALKYL_ENODATA`).
    pub fn clear_unix(&mut self) {
        self.unix_base_ms = None;
    }

    /// Moves the clock forward.
    pub fn advance_us(&mut self, us: u64) {
        self.now_us = self.now_us.saturating_add(us);
    }

    /// Moves the clock forward.
    pub fn advance_ms(&mut self, ms: u64) {
        self.advance_us(ms.saturating_mul(1000));
    }

    fn add(&mut self, device: Device) -> Result<DeviceHandle, SimError> {
        let slot = self.devices.iter().position(Option::is_none).ok_or(SimError::TooManyDevices)?;
        self.devices[slot] = Some(device);
        Ok(Self::handle(slot))
    }

    fn handle(slot: usize) -> DeviceHandle {
        // slot < SIM_DEVICES, so slot + 1 is a small non-zero u32.
        DeviceHandle(NonZeroU32::new(slot as u32 + 1).unwrap_or(NonZeroU32::MIN))
    }

    fn device(&mut self, h: DeviceHandle) -> Option<&mut Device> {
        self.devices.get_mut(h.get() as usize - 1)?.as_mut()
    }

    /// Adds a sensor of `class` that returns `values` in turn (then the
    /// last one forever), each with `dims` dimensions.
    ///
    /// # Errors
    /// [`SimError`].
    pub fn add_sensor(&mut self, class: u8, dims: u8, values: &[Phydat]) -> Result<DeviceHandle, SimError> {
        if values.is_empty() || values.len() > SIM_SCRIPT_LEN {
            return Err(SimError::ScriptLength);
        }
        let mut script = [Phydat::default(); SIM_SCRIPT_LEN];
        script[..values.len()].copy_from_slice(values);
        self.add(Device {
            class,
            script,
            len: values.len(),
            next: 0,
            dims: dims.clamp(1, 3),
            actuator: false,
            writes: 0,
        })
    }

    /// Adds an actuator of `class`, initially all zero.
    ///
    /// # Errors
    /// [`SimError::TooManyDevices`].
    pub fn add_actuator(&mut self, class: u8) -> Result<DeviceHandle, SimError> {
        let script = [Phydat::default(); SIM_SCRIPT_LEN];
        self.add(Device { class, script, len: 1, next: 0, dims: 1, actuator: true, writes: 0 })
    }

    /// An actuator's last written value and how many writes it received.
    pub fn actuator_state(&self, h: DeviceHandle) -> Option<(Phydat, u32)> {
        let d = self.devices.get(h.get() as usize - 1)?.as_ref().filter(|d| d.actuator)?;
        Some((d.script[0], d.writes))
    }

    /// Every actuator write so far, in order (the first [`SIM_WRITE_LOG`]).
    pub fn actuator_writes(&self) -> &[ActuatorWrite] {
        &self.writes[..self.writes_len]
    }

    /// Actuator writes beyond [`SIM_WRITE_LOG`].
    pub fn actuator_writes_dropped(&self) -> usize {
        self.writes_dropped
    }

    /// Limits the key-value store to `entries` (at most [`SIM_KV_CAPACITY`]).
    pub fn set_kv_limit(&mut self, entries: usize) {
        self.kv_limit = entries.min(SIM_KV_CAPACITY);
    }

    /// Number of stored keys across all namespaces.
    pub fn kv_len(&self) -> usize {
        self.kv.iter().flatten().count()
    }

    /// Also passes every log write to `sink` (e.g. stdout for `alkyl run`).
    pub fn set_echo(&mut self, sink: fn(&[u8])) {
        self.echo = Some(sink);
    }

    /// The captured log (the first [`SIM_LOG_CAPACITY`] bytes).
    pub fn log_bytes(&self) -> &[u8] {
        &self.log[..self.log_len]
    }

    /// Bytes logged beyond the capacity.
    pub fn log_dropped(&self) -> usize {
        self.log_dropped
    }

    /// Empties the captured log.
    pub fn clear_log(&mut self) {
        self.log_len = 0;
        self.log_dropped = 0;
    }

    fn kv_entries(&self) -> impl Iterator<Item = (KvScope, u32, u32)> + '_ {
        self.kv.iter().flatten().copied()
    }

    fn kv_slot(&self, scope: KvScope, key: u32) -> Option<usize> {
        self.kv.iter().position(|e| matches!(e, Some((s, k, _)) if *s == scope && *k == key))
    }
}

/// `Phydat::default()`, usable in a `const fn`.
const PHYDAT_ZERO: Phydat = Phydat { val: [0; 3], unit: 0, scale: 0 };

/// Equal when indistinguishable: same clock, devices, actuator writes,
/// key-value contents (in whatever slots), limit and log. The echo sink is
/// not compared.
impl PartialEq for SimPlatform {
    fn eq(&self, other: &Self) -> bool {
        self.now_us == other.now_us
            && self.unix_base_ms == other.unix_base_ms
            && self.devices == other.devices
            && self.kv_limit == other.kv_limit
            && self.kv_len() == other.kv_len()
            && self.kv_entries().all(|e| other.kv_entries().any(|o| o == e))
            && self.log_bytes() == other.log_bytes()
            && self.log_dropped == other.log_dropped
            && self.actuator_writes() == other.actuator_writes()
            && self.writes_dropped == other.writes_dropped
    }
}

impl Eq for SimPlatform {}

/// The state that matters, without the unused capacity.
impl fmt::Debug for SimPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Entries<I>(I);
        impl<I: Iterator + Clone> fmt::Debug for Entries<I>
        where
            I::Item: fmt::Debug,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.clone()).finish()
            }
        }
        f.debug_struct("SimPlatform")
            .field("now_us", &self.now_us)
            .field("devices", &Entries(self.devices.iter().flatten()))
            .field("kv", &Entries(self.kv.iter().flatten()))
            .field("kv_limit", &self.kv_limit)
            .field("actuator_writes", &self.actuator_writes())
            .field("log", &core::str::from_utf8(self.log_bytes()).unwrap_or("<not UTF-8>"))
            .finish_non_exhaustive()
    }
}

/// The simulated clock: `now_ms`, `now_us` and `sleep_until_us` over a
/// `u64` field of microseconds, written once for [`SimPlatform`] and the
/// simulated devices of the runtime's tests and the fuzz targets (their
/// `Device` trait has the same three methods). Use it inside the trait
/// impl: `alkyl_bindings::sim_clock!(now_us);`. Sleeping advances the
/// clock to the deadline at once; the clock never goes back.
#[macro_export]
macro_rules! sim_clock {
    ($now_us:ident) => {
        fn now_ms(&mut self) -> u64 {
            self.$now_us / 1000
        }

        fn now_us(&mut self) -> u64 {
            self.$now_us
        }

        fn sleep_until_us(&mut self, deadline_us: u64) {
            self.$now_us = self.$now_us.max(deadline_us);
        }
    };
}

impl Platform for SimPlatform {
    crate::sim_clock!(now_us);

    fn unix_time_ms(&mut self) -> Option<u64> {
        self.unix_base_ms.map(|b| b.saturating_add(self.now_us / 1000))
    }

    fn log(&mut self, bytes: &[u8]) {
        let room = SIM_LOG_CAPACITY - self.log_len;
        let n = bytes.len().min(room);
        self.log[self.log_len..self.log_len + n].copy_from_slice(&bytes[..n]);
        self.log_len += n;
        self.log_dropped += bytes.len() - n;
        if let Some(sink) = self.echo {
            sink(bytes);
        }
    }

    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        let slot = self.devices.iter().enumerate().filter(|(_, d)| d.is_some()).nth(pos as usize)?.0;
        Some(Self::handle(slot))
    }

    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        let any_of = |c: u8| match class {
            0x40 | 0x80 => c & 0xc0 == class, // ..._ANY: any device of the category
            _ => c == class,
        };
        let slot = self.devices.iter().position(|d| d.is_some_and(|d| any_of(d.class)))?;
        Some(Self::handle(slot))
    }

    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        let d = self.device(dev).ok_or(SaulError::NoDevice)?;
        let value = d.script[d.next.min(d.len - 1)];
        if !d.actuator && d.next + 1 < d.len {
            d.next += 1;
        }
        Ok((value, d.dims))
    }

    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        let d = self.device(dev).ok_or(SaulError::NoDevice)?;
        if !d.actuator {
            return Err(SaulError::NotSupported);
        }
        d.script[0] = *value;
        d.writes += 1;
        let dims = d.dims;
        match self.writes.get_mut(self.writes_len) {
            Some(slot) => {
                *slot = ActuatorWrite { device: dev, value: *value };
                self.writes_len += 1;
            }
            None => self.writes_dropped += 1,
        }
        Ok(dims)
    }

    fn kv_store(&mut self, scope: KvScope, key: u32, value: u32) -> Result<(), KvError> {
        if let Some(i) = self.kv_slot(scope, key) {
            self.kv[i] = Some((scope, key, value));
            return Ok(());
        }
        if self.kv_len() >= self.kv_limit {
            return Err(KvError::Full);
        }
        let free = self.kv.iter().position(Option::is_none).ok_or(KvError::Full)?;
        self.kv[free] = Some((scope, key, value));
        Ok(())
    }

    fn kv_fetch(&mut self, scope: KvScope, key: u32) -> Option<u32> {
        self.kv_slot(scope, key).and_then(|i| self.kv[i]).map(|(_, _, v)| v)
    }

    fn kv_delete(&mut self, scope: KvScope, key: u32) -> bool {
        match self.kv_slot(scope, key) {
            Some(i) => {
                self.kv[i] = None;
                true
            }
            None => false,
        }
    }
}
