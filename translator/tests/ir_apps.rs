//! The apps written in Alkyl IR (apps/ir/), run as event sequences on the
//! reference interpreter and, translated, on the VM, in lockstep.

use std::path::{Path, PathBuf};

use alkyl_translator::ir::sim::SimDevice;
use alkyl_translator::ir::testkit::pair::assemble;
use alkyl_translator::ir::testkit::Pair;
use alkyl_translator::ir::IrTrap;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn app(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repo().join("apps/ir").join(name)).unwrap();
    assemble(&text).unwrap()
}

/// Lock handle (the switch) and buzzer handle of `SimDevice::new()`.
const LOCK: u32 = 1;
const BUZZER: u32 = 2;

fn pin(keys: &[u8; 4]) -> u64 {
    u32::from_le_bytes(*keys) as u64
}

fn press(lock: &mut Pair<'_>, keys: &[u8]) -> Vec<u64> {
    keys.iter().map(|&k| lock.call("KeyPressed", &[k as u64], &[]).unwrap().unwrap()).collect()
}

#[test]
fn right_pin_unlocks() {
    let bytes = app("smartlock.air");
    let mut lock = Pair::new(&bytes, SimDevice::new()).unwrap();
    lock.set_clock(1_000);
    assert_eq!(lock.call("SetPin", &[pin(b"1234"), 61_000], &[]).unwrap(), Ok(0));
    assert_eq!(press(&mut lock, b"1234"), [0, 0, 0, 1]);
    assert_eq!(lock.vm_device.writes, [(LOCK, 1)]);
}

#[test]
fn wrong_pin_beeps_and_resets() {
    let bytes = app("smartlock.air");
    let mut lock = Pair::new(&bytes, SimDevice::new()).unwrap();
    lock.call("SetPin", &[pin(b"1234"), 61_000], &[]).unwrap().unwrap();
    assert_eq!(press(&mut lock, b"1235"), [0, 0, 0, 2]);
    assert_eq!(press(&mut lock, b"9234"), [0, 0, 0, 2]);
    // The attempt after a wrong one starts afresh.
    assert_eq!(press(&mut lock, b"1234"), [0, 0, 0, 1]);
    assert_eq!(lock.vm_device.writes, [(BUZZER, 1), (BUZZER, 1), (LOCK, 1)]);
}

#[test]
fn expired_pin_refuses() {
    let bytes = app("smartlock.air");
    let mut lock = Pair::new(&bytes, SimDevice::new()).unwrap();
    lock.set_clock(5_000);
    lock.call("SetPin", &[pin(b"4711"), 6_000], &[]).unwrap().unwrap();
    assert_eq!(press(&mut lock, b"47"), [0, 0]);
    lock.set_clock(6_000); // the deadline itself is too late
    assert_eq!(press(&mut lock, b"11"), [0, 2]);
    assert_eq!(press(&mut lock, b"4711"), [0, 0, 0, 2]);
    // A new pin from the gateway works again.
    lock.call("SetPin", &[pin(b"4711"), 60_000], &[]).unwrap().unwrap();
    assert_eq!(press(&mut lock, b"4711"), [0, 0, 0, 1]);
    assert_eq!(lock.vm_device.writes, [(BUZZER, 1), (BUZZER, 1), (LOCK, 1)]);
}

#[test]
fn no_pin_set_refuses() {
    let bytes = app("smartlock.air");
    let mut lock = Pair::new(&bytes, SimDevice::new()).unwrap();
    assert_eq!(press(&mut lock, &[0, 0, 0, 0]), [0, 0, 0, 2]);
}

#[test]
fn set_pin_mid_attempt_restarts_it() {
    let bytes = app("smartlock.air");
    let mut lock = Pair::new(&bytes, SimDevice::new()).unwrap();
    lock.call("SetPin", &[pin(b"1111"), 60_000], &[]).unwrap().unwrap();
    assert_eq!(press(&mut lock, b"12"), [0, 0]);
    lock.call("SetPin", &[pin(b"2222"), 60_000], &[]).unwrap().unwrap();
    assert_eq!(press(&mut lock, b"2222"), [0, 0, 0, 1]);
}

#[test]
fn missing_actuator_reverts() {
    let bytes = app("smartlock.air");
    let mut device = SimDevice::new();
    device.registry.clear();
    let mut lock = Pair::new(&bytes, device).unwrap();
    lock.call("SetPin", &[pin(b"1234"), 60_000], &[]).unwrap().unwrap();
    assert_eq!(press(&mut lock, b"123"), [0, 0, 0]);
    assert_eq!(lock.call("KeyPressed", &[b'4' as u64], &[]).unwrap(), Err(IrTrap::Revert(0xac7)));
    assert!(lock.vm_device.writes.is_empty());
}

/// Fletcher-32 as the rBPF paper defines it, natively: the oracle.
fn fletcher32(data: &[u8]) -> u32 {
    let (mut c0, mut c1) = (0u32, 0u32);
    for block in data[..data.len() / 2 * 2].chunks(2 * 359) {
        for w in block.chunks(2) {
            c0 += u16::from_le_bytes([w[0], w[1]]) as u32;
            c1 += c0;
        }
        c0 %= 65535;
        c1 %= 65535;
    }
    (c1 << 16) | c0
}

fn fletcher_ir(input: &[u8]) -> u64 {
    let bytes = app("fletcher32.air");
    let mut f = Pair::new(&bytes, SimDevice::new()).unwrap();
    f.call("fletcher32", &[input.len() as u64], input).unwrap().unwrap()
}

#[test]
fn fletcher32_matches_the_native_oracle() {
    let sample = std::fs::read(repo().join("apps/data/sample-361.bin")).unwrap();
    assert_eq!(fletcher_ir(&sample), fletcher32(&sample) as u64);
    // Several blocks, odd lengths, the empty input, all-ones words.
    let long: Vec<u8> = (0..5000u32).map(|i| (i * 7 + i / 13) as u8).collect();
    for n in [0, 1, 2, 3, 717, 718, 719, 1436, 5000] {
        assert_eq!(fletcher_ir(&long[..n]), fletcher32(&long[..n]) as u64, "length {n}");
    }
    assert_eq!(fletcher_ir(&[0xff; 4000]), fletcher32(&[0xff; 4000]) as u64);
}

#[test]
fn fletcher32_matches_the_paper_when_its_input_is_present() {
    let paper = repo().join("../shared/data/fletcher32-input.bin");
    if !paper.exists() {
        eprintln!("NOT RUN: {} is absent", paper.display());
        return;
    }
    let input = std::fs::read(paper).unwrap();
    assert_eq!(fletcher_ir(&input), 0x5bac_8c3d);
}

#[test]
fn a_length_past_the_input_traps() {
    let bytes = app("fletcher32.air");
    let mut f = Pair::new(&bytes, SimDevice::new()).unwrap();
    assert_eq!(f.call("fletcher32", &[10], &[1, 2, 3, 4]).unwrap(), Err(IrTrap::InputOutOfBounds));
}

#[test]
fn compile_is_the_upload_path() {
    use alkyl_translator::ir::{compile, CompileError};
    let bytes = app("smartlock.air");
    let t = compile(&bytes).unwrap();
    assert_eq!(t.functions.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["SetPin", "KeyPressed"]);
    alkyl_vm::verify(&t.text, t.helpers.as_slice()).unwrap();
    assert!(matches!(compile(&bytes[..10]), Err(CompileError::Parse(_))));
    let invalid = assemble(".public f\n ADD\n STOP\n").unwrap();
    assert!(matches!(compile(&invalid), Err(CompileError::Validate(_))));
}
