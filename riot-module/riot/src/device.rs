//! The runtime's [`Device`] on RIOT: ztimer clocks, stdio, SAUL.
//!
//! SAUL handles are registry positions + 1 (`saul_reg_find_nth`); the
//! registry never shrinks, so a handle stays valid. Classes and units are
//! RIOT's numbers (the runtime's and the scripts' numbering); riot-wrappers
//! exposes them as enums, mapped back in [`class_code`] and [`unit_code`].

use alloc::string::String;
use core::num::NonZeroU32;

use alkyl_runtime::{class_matches, write_dims, AppName, Device, SaulInfo, Widen32};
use riot_wrappers::error::NumericError;
use riot_wrappers::riot_sys;
use riot_wrappers::saul::{ActuatorClass, Class, Phydat as RiotPhydat, RegistryEntry, SensorClass, Unit};
use riot_wrappers::ztimer::{Clock, LockedClock, Ticks};

use alkyl_bindings::{DeviceHandle, Phydat, SaulError};

use crate::console;

/// The device. Its clocks stay acquired for the firmware's lifetime (ztimer
/// may otherwise stop an unused clock, and `now` would stand still).
pub struct RiotDevice {
    msec: LockedClock<1000>,
    usec: LockedClock<1_000_000>,
    ms: Widen32,
    us: Widen32,
}

impl RiotDevice {
    pub fn new() -> RiotDevice {
        RiotDevice {
            msec: Clock::msec().acquire(),
            usec: Clock::usec().acquire(),
            ms: Widen32::new(),
            us: Widen32::new(),
        }
    }
}

fn handle(pos: usize) -> Option<DeviceHandle> {
    u32::try_from(pos + 1).ok().and_then(NonZeroU32::new).map(DeviceHandle)
}

fn entry(dev: DeviceHandle) -> Result<RegistryEntry, SaulError> {
    RegistryEntry::nth(dev.get() as usize - 1).ok_or(SaulError::NoDevice)
}

fn saul_error(e: NumericError) -> SaulError {
    match (-e.number()) as u32 {
        riot_sys::ENODEV => SaulError::NoDevice,
        riot_sys::ERANGE | riot_sys::EINVAL => SaulError::Range,
        _ => SaulError::NotSupported,
    }
}

impl Device for RiotDevice {
    fn now_ms(&mut self) -> u64 {
        self.ms.widen(self.msec.now().0)
    }

    fn now_us(&mut self) -> u64 {
        self.us.widen(self.usec.now().0)
    }

    fn sleep_until_us(&mut self, deadline_us: u64) {
        // The runtime caps a wait at Config::max_sleep_us (10 ms).
        let wait = deadline_us.saturating_sub(self.now_us());
        if wait > 0 {
            Clock::usec().sleep(Ticks(u32::try_from(wait).unwrap_or(u32::MAX)));
        }
    }

    fn log(&mut self, app: &AppName, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        for line in text.trim_end_matches('\n').split('\n') {
            console::line(&("[", app, "] ", alkyl_runtime::printable(line).as_str()));
        }
    }

    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        RegistryEntry::nth(pos as usize).and_then(|_| handle(pos as usize))
    }

    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        RegistryEntry::all().position(|e| class_matches(class, class_code(e.type_()))).and_then(handle)
    }

    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        let p = entry(dev)?.read().map_err(saul_error)?;
        let mut val = [0i16; 3];
        let dims = p.value().len().min(3);
        val[..dims].copy_from_slice(&p.value()[..dims]);
        Ok((Phydat { val, unit: unit_code(p.unit()), scale: p.scale() }, dims as u8))
    }

    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        let e = entry(dev)?;
        let dims = write_dims(class_code(e.type_()));
        e.write(RiotPhydat::new(&value.val[..dims as usize], unit_of(value.unit), value.scale)).map_err(saul_error)?;
        Ok(dims)
    }

    fn saul_info(&mut self, dev: DeviceHandle) -> Option<SaulInfo> {
        let e = entry(dev).ok()?;
        Some(SaulInfo { name: e.name().unwrap_or("?").into(), class: class_code(e.type_()) })
    }
}

/// RIOT's number of a SAUL class; a class riot-wrappers does not name
/// counts as its category's `*_ANY`.
fn class_code(class: Option<Class>) -> u8 {
    use ActuatorClass as A;
    use SensorClass as S;
    (match class {
        None => 0,
        Some(Class::Actuator(a)) => match a {
            Some(A::LedRgb) => riot_sys::SAUL_ACT_LED_RGB,
            Some(A::Servo) => riot_sys::SAUL_ACT_SERVO,
            Some(A::Motor) => riot_sys::SAUL_ACT_MOTOR,
            Some(A::Switch) => riot_sys::SAUL_ACT_SWITCH,
            Some(A::Dimmer) => riot_sys::SAUL_ACT_DIMMER,
            _ => riot_sys::SAUL_ACT_ANY,
        },
        Some(Class::Sensor(s)) => match s {
            Some(S::Btn) => riot_sys::SAUL_SENSE_BTN,
            Some(S::Temp) => riot_sys::SAUL_SENSE_TEMP,
            Some(S::Hum) => riot_sys::SAUL_SENSE_HUM,
            Some(S::Light) => riot_sys::SAUL_SENSE_LIGHT,
            Some(S::Accel) => riot_sys::SAUL_SENSE_ACCEL,
            Some(S::Mag) => riot_sys::SAUL_SENSE_MAG,
            Some(S::Gyro) => riot_sys::SAUL_SENSE_GYRO,
            Some(S::Color) => riot_sys::SAUL_SENSE_COLOR,
            Some(S::Press) => riot_sys::SAUL_SENSE_PRESS,
            Some(S::Analog) => riot_sys::SAUL_SENSE_ANALOG,
            Some(S::Uv) => riot_sys::SAUL_SENSE_UV,
            Some(S::Objtemp) => riot_sys::SAUL_SENSE_OBJTEMP,
            Some(S::Count) => riot_sys::SAUL_SENSE_COUNT,
            Some(S::Distance) => riot_sys::SAUL_SENSE_DISTANCE,
            Some(S::Co2) => riot_sys::SAUL_SENSE_CO2,
            Some(S::Tvoc) => riot_sys::SAUL_SENSE_TVOC,
            Some(S::Gas) => riot_sys::SAUL_SENSE_GAS,
            Some(S::Occup) => riot_sys::SAUL_SENSE_OCCUP,
            Some(S::Proximity) => riot_sys::SAUL_SENSE_PROXIMITY,
            Some(S::Rssi) => riot_sys::SAUL_SENSE_RSSI,
            Some(S::Charge) => riot_sys::SAUL_SENSE_CHARGE,
            Some(S::Current) => riot_sys::SAUL_SENSE_CURRENT,
            Some(S::Pm) => riot_sys::SAUL_SENSE_PM,
            Some(S::Capacitance) => riot_sys::SAUL_SENSE_CAPACITANCE,
            Some(S::Voltage) => riot_sys::SAUL_SENSE_VOLTAGE,
            Some(S::Ph) => riot_sys::SAUL_SENSE_PH,
            Some(S::Power) => riot_sys::SAUL_SENSE_POWER,
            Some(S::Size) => riot_sys::SAUL_SENSE_SIZE,
            _ => riot_sys::SAUL_SENSE_ANY,
        },
    }) as u8
}

/// The units, both ways (riot-wrappers keeps RIOT's numbers private).
macro_rules! units {
    ($($unit:ident = $code:ident,)*) => {
        /// RIOT's number of a unit (`UNIT_UNDEF` for none or an unnamed one).
        fn unit_code(unit: Option<Unit>) -> i8 {
            (match unit {
                $(Some(Unit::$unit) => riot_sys::$code,)*
                _ => riot_sys::UNIT_UNDEF,
            }) as u8 as i8
        }

        /// The unit RIOT numbers `code`.
        fn unit_of(code: i8) -> Option<Unit> {
            $(if code as u8 == riot_sys::$code as u8 {
                return Some(Unit::$unit);
            })*
            None
        }
    };
}

units! {
    None = UNIT_NONE, TempC = UNIT_TEMP_C, TempF = UNIT_TEMP_F, TempK = UNIT_TEMP_K, Lux = UNIT_LUX,
    M = UNIT_M, M2 = UNIT_M2, M3 = UNIT_M3, GForce = UNIT_G_FORCE, Dps = UNIT_DPS, Gram = UNIT_GRAM,
    A = UNIT_A, V = UNIT_V, W = UNIT_W, Gauss = UNIT_GAUSS, T = UNIT_T, Dbm = UNIT_DBM,
    Coulomb = UNIT_COULOMB, F = UNIT_F, Ohm = UNIT_OHM, Ph = UNIT_PH, Bar = UNIT_BAR, Pa = UNIT_PA,
    Cd = UNIT_CD, Bool = UNIT_BOOL, Cts = UNIT_CTS, Percent = UNIT_PERCENT, Permill = UNIT_PERMILL,
    Ppm = UNIT_PPM, Ppb = UNIT_PPB, Time = UNIT_TIME, Date = UNIT_DATE, Gpm3 = UNIT_GPM3, Cpm3 = UNIT_CPM3,
}
