//! A simulated device: the key-value stores, a clock, and a SAUL registry
//! of actuators, behind both faces a program can see — the reference
//! interpreter's [`Host`] and the VM's [`Helpers`] — with one behaviour.
//!
//! Tests, the differential fuzzer, `alkyl ir run` and the benchmarks use it
//! until the device runtime's bindings land. Helper semantics follow the
//! Femto-Container helpers the ids name:
//!
//! | id | helper | result |
//! |---|---|---|
//! | 0x10/0x11 | `store_local/global(key, value)` | 0, or −1 when the store is full |
//! | 0x12/0x13 | `fetch_local/global(key, *out)` | 0 and `*out` written, or −1 (absent, `*out` untouched) |
//! | 0x14/0x15 | `delete_local/global(key)` | 0, or −1 when absent |
//! | 0x20 | `now_ms()` | the clock |
//! | 0x30 | `saul_reg_find_nth(pos)` | handle `pos + 1`, or 0 |
//! | 0x31 | `saul_reg_find_type(type)` | handle of the first device of that type, or 0 |
//! | 0x32 | `saul_reg_read(handle, *phydat)` | 1 and the device's last value in `val[0]`, or −19 |
//! | 0x33 | `saul_reg_write(handle, *phydat)` | 1 (logs `val[0]`), or −19 |
//! | 0x34 | `saul_reg_write_value(handle, value)` | 1 (logs `value`), or −19 |
//!
//! A handle above `0xffff` is refused outright (a trap), standing in for
//! a helper that rejects its arguments.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use alkyl_vm::{HelperError, HelperSet, Helpers, MemoryMap};

use super::interp::{Host, SyscallRefused};
use super::syscall::{self, ArgKind};

/// RIOT's `SAUL_ACT_SWITCH`.
pub const SAUL_ACT_SWITCH: u8 = 0x44;
/// RIOT's `SAUL_ACT_LED_RGB`.
pub const SAUL_ACT_LED_RGB: u8 = 0x41;

/// `-ENODEV`.
const ENODEV: i32 = -19;

/// One actuator of the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actuator {
    pub saul_type: u8,
    /// The last value written (0 at start).
    pub value: i32,
}

/// The simulated device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimDevice {
    pub local: BTreeMap<u32, u32>,
    pub global: BTreeMap<u32, u32>,
    /// Cells each store holds at most.
    pub capacity: usize,
    pub clock_ms: u32,
    pub registry: Vec<Actuator>,
    /// Every actuator write: (handle, value).
    pub writes: Vec<(u32, i32)>,
}

impl Default for SimDevice {
    fn default() -> Self {
        SimDevice::new()
    }
}

impl SimDevice {
    /// A device with a lock (a switch, handle 1) and a buzzer (an LED,
    /// handle 2), empty stores of 16 cells, clock at 0.
    pub fn new() -> SimDevice {
        SimDevice {
            local: BTreeMap::new(),
            global: BTreeMap::new(),
            capacity: 16,
            clock_ms: 0,
            registry: alloc::vec![
                Actuator { saul_type: SAUL_ACT_SWITCH, value: 0 },
                Actuator { saul_type: SAUL_ACT_LED_RGB, value: 0 },
            ],
            writes: Vec::new(),
        }
    }

    fn actuator(&mut self, handle: u32) -> Result<Option<&mut Actuator>, SyscallRefused> {
        if handle > 0xffff {
            return Err(SyscallRefused);
        }
        Ok(handle.checked_sub(1).and_then(|i| self.registry.get_mut(i as usize)))
    }

    fn store(map: &mut BTreeMap<u32, u32>, capacity: usize, key: u32, value: u32) -> bool {
        if map.len() >= capacity && !map.contains_key(&key) {
            return false;
        }
        map.insert(key, value);
        true
    }

    /// Performs helper `id`. `buffer` is the memory a pointer argument
    /// names (exactly as long as the syscall table says).
    pub fn perform(&mut self, id: u32, args: &[u32], buffer: Option<&mut [u8]>) -> Result<u32, SyscallRefused> {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        let r: i32 = match id {
            0x10 | 0x11 => {
                let map = if id == 0x10 { &mut self.local } else { &mut self.global };
                if Self::store(map, self.capacity, arg(0), arg(1)) {
                    0
                } else {
                    -1
                }
            }
            0x12 | 0x13 => {
                let map = if id == 0x12 { &self.local } else { &self.global };
                match (map.get(&arg(0)), buffer) {
                    (Some(v), Some(out)) if out.len() == 4 => {
                        out.copy_from_slice(&v.to_le_bytes());
                        0
                    }
                    (Some(_), _) => return Err(SyscallRefused),
                    (None, _) => -1,
                }
            }
            0x14 | 0x15 => {
                let map = if id == 0x14 { &mut self.local } else { &mut self.global };
                if map.remove(&arg(0)).is_some() {
                    0
                } else {
                    -1
                }
            }
            0x20 => self.clock_ms as i32,
            0x30 => {
                if (arg(0) as usize) < self.registry.len() {
                    arg(0) as i32 + 1
                } else {
                    0
                }
            }
            0x31 => self.registry.iter().position(|a| a.saul_type as u32 == arg(0)).map_or(0, |i| i as i32 + 1),
            0x32 => match self.actuator(arg(0))? {
                Some(a) => {
                    let v = a.value as i16;
                    let out = buffer.ok_or(SyscallRefused)?;
                    out.fill(0);
                    out[..2].copy_from_slice(&v.to_le_bytes());
                    1
                }
                None => ENODEV,
            },
            0x33 | 0x34 => {
                let value = if id == 0x33 {
                    let b = buffer.ok_or(SyscallRefused)?;
                    i16::from_le_bytes([b[0], b[1]]) as i32
                } else {
                    arg(1) as i32
                };
                let handle = arg(0);
                match self.actuator(handle)? {
                    Some(a) => {
                        a.value = value;
                        self.writes.push((handle, value));
                        1
                    }
                    None => ENODEV,
                }
            }
            _ => return Err(SyscallRefused),
        };
        Ok(r as u32)
    }
}

impl Host for SimDevice {
    fn storage_load(&mut self, key: u32) -> Option<u32> {
        self.local.get(&key).copied()
    }

    fn storage_store(&mut self, key: u32, value: u32) -> bool {
        Self::store(&mut self.local, self.capacity, key, value)
    }

    fn syscall(&mut self, id: u32, args: &[u32], memory: &mut [u8]) -> Result<u32, SyscallRefused> {
        let sc = syscall::by_id(id as u64).ok_or(SyscallRefused)?;
        let mut buffer = None;
        for (kind, &a) in sc.args.iter().zip(args) {
            if let ArgKind::MemPtr { len } = kind {
                buffer = memory.get_mut(a as usize..a as usize + *len as usize);
            }
        }
        self.perform(id, args, buffer)
    }
}

impl HelperSet for SimDevice {
    fn contains(&self, id: u32) -> bool {
        syscall::by_id(id as u64).is_some()
    }
}

impl Helpers for SimDevice {
    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        let sc = syscall::by_id(id as u64).ok_or(HelperError::Unknown(id))?;
        let words: Vec<u32> = args.iter().take(sc.args.len()).map(|&a| a as u32).collect();
        let mut buffer = None;
        for (i, kind) in sc.args.iter().enumerate() {
            if let ArgKind::MemPtr { len } = kind {
                buffer = Some(mem.write(args[i], *len as u64)?);
            }
        }
        let r = self.perform(id, &words, buffer).map_err(|_| HelperError::BadArgument { index: 0 })?;
        // Helpers return C ints: sign-extended into r0.
        Ok(r as i32 as i64 as u64)
    }
}
