//! The host's [`Device`]: the monotonic system clock, simulated SAUL
//! devices ([`crate::sensors`]), and a log on standard output.

use std::io::Write;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use alkyl_bindings::{DeviceHandle, Phydat, SaulError};
use alkyl_runtime::{class_matches, printable, write_dims, AppName, Device, SaulInfo};

use crate::sensors::{SimDevice, SimKind};

/// Where script output and actuator changes go.
pub trait Log {
    fn line(&mut self, text: &str);
}

/// Lines on standard output.
#[derive(Debug, Default)]
pub struct Stdout;

impl Log for Stdout {
    fn line(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

/// The host device.
pub struct HostDevice<L> {
    start: Instant,
    devices: Vec<SimDevice>,
    log: L,
}

impl<L> std::fmt::Debug for HostDevice<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostDevice").field("devices", &self.devices.len()).finish_non_exhaustive()
    }
}

impl<L: Log> HostDevice<L> {
    /// A device whose clock starts now.
    pub fn new(devices: Vec<SimDevice>, log: L) -> HostDevice<L> {
        HostDevice { start: Instant::now(), devices, log }
    }

    fn get(&mut self, h: DeviceHandle) -> Option<&mut SimDevice> {
        self.devices.get_mut(h.get() as usize - 1)
    }

    /// The devices.
    pub fn devices(&self) -> &[SimDevice] {
        &self.devices
    }
}

fn handle(index: usize) -> Option<DeviceHandle> {
    u32::try_from(index + 1).ok().and_then(NonZeroU32::new).map(DeviceHandle)
}

fn show(p: &Phydat, dims: u8) -> String {
    let v: Vec<String> = p.val[..dims.clamp(1, 3) as usize].iter().map(i16::to_string).collect();
    format!("[{}]", v.join(", "))
}

impl<L: Log> Device for HostDevice<L> {
    fn now_ms(&mut self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn now_us(&mut self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn sleep_until_us(&mut self, deadline_us: u64) {
        let now = self.now_us();
        if deadline_us > now {
            std::thread::sleep(Duration::from_micros(deadline_us - now));
        }
    }

    fn log(&mut self, app: &AppName, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        for line in text.trim_end_matches('\n').split('\n') {
            self.log.line(&format!("[{app}] {}", printable(line)));
        }
    }

    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        ((pos as usize) < self.devices.len()).then(|| handle(pos as usize)).flatten()
    }

    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        // `*_ANY` (category bits only) matches every device of the category.
        self.devices.iter().position(|d| class_matches(class, d.class)).and_then(handle)
    }

    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        let now = self.now_ms();
        let d = self.get(dev).ok_or(SaulError::NoDevice)?;
        match &mut d.kind {
            SimKind::Sensor { source, unit, scale } => {
                let (val, dims) = source.sample(now);
                Ok((Phydat { val, unit: *unit, scale: *scale }, dims))
            }
            SimKind::Actuator { state, dims } => Ok((*state, *dims)),
        }
    }

    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        let d = self.get(dev).ok_or(SaulError::NoDevice)?;
        let name = d.name.clone();
        let SimKind::Actuator { state, dims } = &mut d.kind else { return Err(SaulError::NotSupported) };
        // RGB LEDs take three dimensions; other actuators one.
        let used = write_dims(d.class);
        let old = (*state, *dims);
        *state = *value;
        *dims = used;
        if old != (*value, used) {
            let line = format!("[actuator {name}] {} -> {}", show(&old.0, old.1), show(value, used));
            self.log.line(&line);
        }
        Ok(used)
    }

    fn saul_info(&mut self, dev: DeviceHandle) -> Option<SaulInfo> {
        let d = self.get(dev)?;
        Some(SaulInfo { name: d.name.clone(), class: d.class })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensors::default_devices;

    #[derive(Default)]
    struct Lines(Vec<String>);
    impl Log for Lines {
        fn line(&mut self, text: &str) {
            self.0.push(text.into());
        }
    }

    #[test]
    fn devices_and_log() {
        let mut d = HostDevice::new(default_devices(), Lines::default());
        let temp = d.saul_find_nth(0).unwrap();
        assert_eq!(d.saul_read(temp).unwrap().0.val[0], 2150);
        assert_eq!(d.saul_find_type(0x83), d.saul_find_nth(1));
        assert_eq!(d.saul_find_type(0x80), Some(temp));
        let led = d.saul_find_type(0x40).unwrap();
        assert_eq!(Some(led), d.saul_find_nth(2));
        assert_eq!(d.saul_find_nth(3), None);
        assert_eq!(d.saul_write(temp, &Phydat::default()), Err(SaulError::NotSupported));
        let on = Phydat { val: [255, 0, 0], unit: 0, scale: 0 };
        assert_eq!(d.saul_write(led, &on), Ok(3));
        assert_eq!(d.saul_write(led, &on), Ok(3)); // no change, no line
        assert_eq!(d.saul_read(led).unwrap(), (on, 3));
        d.log(&AppName::new(b"app").unwrap(), b"one\ntwo\n");
        assert_eq!(d.log.0, ["[actuator led] [0] -> [255, 0, 0]", "[app] one", "[app] two"]);
        // Terminal escape sequences are shown, not obeyed.
        d.log(&AppName::new(b"app").unwrap(), b"\x1b[2J\x1b]0;owned\x07\rx\ty\n");
        assert_eq!(d.log.0[3], "[app] \\u{1b}[2J\\u{1b}]0;owned\\u{7}\\rx\ty");
        let t0 = d.now_us();
        d.sleep_until_us(t0 + 2000);
        assert!(d.now_us() >= t0 + 2000);
    }
}
