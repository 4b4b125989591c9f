//! Simulated SAUL devices for RIOT's native boards, which have none (their
//! mock GPIO LEDs, `periph_gpio_mock`, do not build with riot-wrappers
//! 0.9.2). Registered through riot-wrappers' SAUL registration, so scripts
//! and `/sensors` reach them exactly as real drivers:
//!
//! - 0 `temperature (sim)`: a thermometer (°C, scale -2) that moves by
//!   0.25 °C on every read, between 21.00 and 23.00 (so that a trigger
//!   polling it crosses 22.00 °C, the `thermostat` app's threshold);
//! - 1 `heater (sim)`: a switch that keeps what is written, and prints
//!   every change.

use core::sync::atomic::{AtomicI16, AtomicU32, Ordering};

use riot_wrappers::mutex::Mutex;
use riot_wrappers::saul::registration::{Drivable, Driver, Error, Registration};
use riot_wrappers::saul::{ActuatorClass, Class, Phydat, SensorClass, Unit};

use crate::console;

pub struct Thermometer {
    reads: AtomicU32,
}

impl Drivable for &Thermometer {
    const CLASS: Class = Class::Sensor(Some(SensorClass::Temp));
    const HAS_READ: bool = true;

    fn read(self) -> Result<Phydat, Error> {
        // A triangle over 16 reads: 21.00, 21.25, ... 23.00, ... 21.25.
        let n = (self.reads.fetch_add(1, Ordering::Relaxed) % 16) as i16;
        let step = if n <= 8 { n } else { 16 - n };
        Ok(Phydat::new(&[2100 + 25 * step], Some(Unit::TempC), -2))
    }
}

pub struct Switch {
    on: AtomicI16,
}

impl Drivable for &Switch {
    const CLASS: Class = Class::Actuator(Some(ActuatorClass::Switch));
    const HAS_READ: bool = true;
    const HAS_WRITE: bool = true;

    fn read(self) -> Result<Phydat, Error> {
        Ok(Phydat::new(&[self.on.load(Ordering::Relaxed)], Some(Unit::Bool), 0))
    }

    fn write(self, data: &Phydat) -> Result<u8, Error> {
        let v = data.value()[0];
        let old = self.on.swap(v, Ordering::Relaxed);
        if old != v {
            console::line(&("[actuator heater (sim)] ", old, " -> ", v));
        }
        Ok(1)
    }
}

static THERMOMETER: Thermometer = Thermometer { reads: AtomicU32::new(0) };
static HEATER: Switch = Switch { on: AtomicI16::new(0) };
static THERMOMETER_DRIVER: Driver<Thermometer> = Driver::new();
static HEATER_DRIVER: Driver<Switch> = Driver::new();
static REGISTRATIONS: Mutex<Option<(Registration<Thermometer>, Registration<Switch>)>> = Mutex::new(None);

/// Adds the devices to SAUL (once; before anything lists them).
pub fn register() {
    let Some(slot) = REGISTRATIONS.try_leak() else { return };
    let (t, h) = slot.insert((
        Registration::new(&THERMOMETER_DRIVER, &THERMOMETER, Some(c"temperature (sim)")),
        Registration::new(&HEATER_DRIVER, &HEATER, Some(c"heater (sim)")),
    ));
    t.register_static();
    h.register_static();
}
