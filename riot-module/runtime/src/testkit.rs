//! Test fixtures: a device with a manual clock and settable sensors, a
//! storage that fails on demand, containers from assembler text, envelopes.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::num::NonZeroU32;

use alkyl_bindings::{DeviceHandle, Phydat, SaulError};
use alkyl_protocol::envelope::{EnvelopeRepr, Operation, PayloadKind, TriggerRepr};
use alkyl_protocol::AppName;
use alkyl_vm::container::{ContainerRepr, FunctionRepr, Table};

use crate::device::{Device, SaulInfo};
use crate::storage::{RamStorage, Storage, StorageError};

/// Seed of the test signing key.
pub const TEST_SEED: [u8; 32] = [7; 32];

/// The test key pair.
pub fn keypair() -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(TEST_SEED))
}

/// One simulated device.
#[derive(Clone, Debug)]
pub struct TestSaul {
    pub name: String,
    pub class: u8,
    pub value: Option<Phydat>,
    pub writes: Vec<Phydat>,
}

/// A device with a manual clock.
#[derive(Clone, Debug, Default)]
pub struct TestDevice {
    pub now_us: u64,
    pub devices: Vec<TestSaul>,
    pub log: Vec<(String, Vec<u8>)>,
}

impl TestDevice {
    /// A temperature sensor (21.50 °C) and an LED.
    pub fn new() -> TestDevice {
        TestDevice {
            now_us: 0,
            devices: vec![
                TestSaul {
                    name: "temp".into(),
                    class: 0x82,
                    value: Some(Phydat { val: [2150, 0, 0], unit: 2, scale: -2 }),
                    writes: Vec::new(),
                },
                TestSaul { name: "led".into(), class: 0x41, value: None, writes: Vec::new() },
            ],
            log: Vec::new(),
        }
    }

    pub fn set_ms(&mut self, ms: u64) {
        self.now_us = ms * 1000;
    }

    pub fn set_temp(&mut self, v: i16) {
        self.devices[0].value = Some(Phydat { val: [v, 0, 0], unit: 2, scale: -2 });
    }

    fn dev(&mut self, h: DeviceHandle) -> Option<&mut TestSaul> {
        self.devices.get_mut(h.get() as usize - 1)
    }
}

fn handle(i: usize) -> Option<DeviceHandle> {
    NonZeroU32::new(i as u32 + 1).map(DeviceHandle)
}

impl Device for TestDevice {
    alkyl_bindings::sim_clock!(now_us);
    fn log(&mut self, app: &AppName, bytes: &[u8]) {
        self.log.push((app.as_str().into(), bytes.into()));
    }
    fn saul_find_nth(&mut self, pos: u32) -> Option<DeviceHandle> {
        ((pos as usize) < self.devices.len()).then(|| handle(pos as usize)).flatten()
    }
    fn saul_find_type(&mut self, class: u8) -> Option<DeviceHandle> {
        self.devices.iter().position(|d| d.class == class).and_then(handle)
    }
    fn saul_read(&mut self, dev: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        let d = self.dev(dev).ok_or(SaulError::NoDevice)?;
        d.value.map(|v| (v, 1)).ok_or(SaulError::NotSupported)
    }
    fn saul_write(&mut self, dev: DeviceHandle, value: &Phydat) -> Result<u8, SaulError> {
        let d = self.dev(dev).ok_or(SaulError::NoDevice)?;
        d.writes.push(*value);
        Ok(1)
    }
    fn saul_info(&mut self, dev: DeviceHandle) -> Option<SaulInfo> {
        let d = self.dev(dev)?;
        Some(SaulInfo { name: d.name.clone(), class: d.class })
    }
}

/// RAM storage whose writes fail while `fail` is set, counting operations.
#[derive(Debug, Default)]
pub struct FlakyStorage {
    pub inner: RamStorage,
    /// Fail the save/remove with this 0-based index (counted across both).
    pub fail_at: Option<usize>,
    pub writes: usize,
}

impl FlakyStorage {
    fn step(&mut self) -> Result<(), StorageError> {
        let n = self.writes;
        self.writes += 1;
        if self.fail_at == Some(n) {
            return Err(StorageError::Io);
        }
        Ok(())
    }
}

impl Storage for FlakyStorage {
    fn keys(&mut self) -> Result<Vec<String>, StorageError> {
        self.inner.keys()
    }
    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.load(key)
    }
    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.step()?;
        self.inner.save(key, bytes)
    }
    fn remove(&mut self, key: &str) -> Result<(), StorageError> {
        self.step()?;
        self.inner.remove(key)
    }
}

/// A container from assembler text, with named functions at instruction
/// indexes.
pub fn container(asm: &str, functions: &[(&str, usize)]) -> Vec<u8> {
    let text = alkyl_asm::assemble(asm).unwrap();
    let mut rodata = Vec::new();
    let functions: Vec<_> = functions
        .iter()
        .map(|(name, pc)| FunctionRepr::append_name(&mut rodata, name.as_bytes(), pc * 8).unwrap())
        .collect();
    emit(&ContainerRepr { text: &text, rodata: &rodata, functions: Table::Values(&functions), ..Default::default() })
}

/// The bytes of `repr`.
pub fn emit(repr: &ContainerRepr<'_>) -> Vec<u8> {
    repr.to_bytes().unwrap()
}

/// `r0 = 42` at instruction 0; `answer` returns r2 (the input length);
/// `twice` doubles the first input byte.
pub const SIMPLE_ASM: &str = "
    mov %r0, 42
    exit
    mov %r0, %r2
    exit
    ldxb %r0, [%r1]
    lsh %r0, 1
    exit
";

/// The container of [`SIMPLE_ASM`], version `v` in its header.
pub fn simple_container() -> Vec<u8> {
    container(SIMPLE_ASM, &[("answer", 2), ("twice", 4)])
}

/// An unsigned install envelope of [`simple_container`].
pub fn install_envelope(name: &str, version: u32) -> EnvelopeRepr {
    install_of(name, version, simple_container(), false)
}

/// An unsigned install envelope of `container`, maybe compressed, with
/// every entry declared open (the tests of protected entries declare less).
pub fn install_of(name: &str, version: u32, container: Vec<u8>, compressed: bool) -> EnvelopeRepr {
    let mut r =
        EnvelopeRepr::install(AppName::new(name.as_bytes()).unwrap(), version, PayloadKind::Container, container);
    r.open = Some(alloc::vec!["*".into()]);
    if compressed {
        r.compress().unwrap()
    } else {
        r
    }
}

/// An unsigned command envelope.
pub fn command(op: Operation, name: &str, version: u32, triggers: Vec<TriggerRepr>) -> EnvelopeRepr {
    EnvelopeRepr::command(op, AppName::new(name.as_bytes()).unwrap(), version, triggers)
}

/// Emits `repr` signed by `kp` (its key id set accordingly).
pub fn signed(repr: EnvelopeRepr, kp: &ed25519_compact::KeyPair) -> Vec<u8> {
    repr.to_signed_bytes(&kp.pk, |m| *kp.sk.sign(m, None)).unwrap()
}
