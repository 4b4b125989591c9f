//! The apps written in Alkyl IR (apps/ir/), run as event sequences on the
//! reference interpreter and, compiled into a container, on the VM with
//! the Alkyl helpers, in lockstep, over the simulated demo platform.

use std::path::{Path, PathBuf};

use alkyl_bindings::SimPlatform;
use alkyl_testkit::assemble;
use alkyl_testkit::oracle::{self, fletcher32};
use alkyl_translator::ir::lockstep::Pair;
use alkyl_translator::ir::IrTrap;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn app(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repo().join("apps/ir").join(name)).unwrap();
    assemble(&text).unwrap()
}

/// The app `name` on `platform`: the reference interpreter and the VM in
/// lockstep (the module's bytes live for the rest of the test run).
fn lockstep(name: &str, platform: SimPlatform) -> Pair<'static> {
    Pair::new(Vec::leak(app(name)), platform).unwrap()
}

/// Lock handle (the switch) and buzzer handle (the LED) of `SimPlatform::demo()`.
const LOCK: u32 = 4;
const BUZZER: u32 = 3;

/// Every actuator write so far: (handle, value).
fn writes(p: &SimPlatform) -> Vec<(u32, i16)> {
    p.actuator_writes().iter().map(|w| (w.device.get(), w.value.val[0])).collect()
}

/// The demo platform's Unix time (seconds) at its clock 0.
const T0: u64 = alkyl_bindings::SIM_DEMO_UNIX_S;

fn pin(keys: &[u8; 4]) -> u64 {
    u32::from_le_bytes(*keys) as u64
}

/// The smart lock on `platform`.
fn smartlock(platform: SimPlatform) -> Pair<'static> {
    lockstep("smartlock.air", platform)
}

/// `SetPin(keys, expires)`, which must succeed.
fn set_pin(lock: &mut Pair<'_>, keys: &[u8; 4], expires: u64) {
    lock.call("SetPin", &[pin(keys), expires], &[]).unwrap().unwrap();
}

fn press(lock: &mut Pair<'_>, keys: &[u8]) -> Vec<u64> {
    keys.iter().map(|&k| lock.call("KeyPressed", &[k as u64], &[]).unwrap().unwrap()).collect()
}

#[test]
fn right_pin_unlocks() {
    let mut lock = smartlock(SimPlatform::demo());
    lock.advance_ms(1_000);
    assert_eq!(lock.call("SetPin", &[pin(b"1234"), T0 + 61], &[]).unwrap(), Ok(0));
    assert_eq!(press(&mut lock, b"1234"), [0, 0, 0, 1]);
    assert_eq!(writes(&lock.device), [(LOCK, 1)]);
}

#[test]
fn wrong_pin_beeps_and_resets() {
    let mut lock = smartlock(SimPlatform::demo());
    set_pin(&mut lock, b"1234", T0 + 61);
    assert_eq!(press(&mut lock, b"1235"), [0, 0, 0, 2]);
    assert_eq!(press(&mut lock, b"9234"), [0, 0, 0, 2]);
    // The attempt after a wrong one starts afresh.
    assert_eq!(press(&mut lock, b"1234"), [0, 0, 0, 1]);
    assert_eq!(writes(&lock.device), [(BUZZER, 1), (BUZZER, 1), (LOCK, 1)]);
}

#[test]
fn expired_pin_refuses() {
    let mut lock = smartlock(SimPlatform::demo());
    lock.advance_ms(5_000);
    set_pin(&mut lock, b"4711", T0 + 6);
    assert_eq!(press(&mut lock, b"47"), [0, 0]);
    lock.advance_ms(1_000); // now T0 + 6 s: the deadline itself is too late
    assert_eq!(press(&mut lock, b"11"), [0, 2]);
    assert_eq!(press(&mut lock, b"4711"), [0, 0, 0, 2]);
    // A new pin from the gateway works again.
    set_pin(&mut lock, b"4711", T0 + 60);
    assert_eq!(press(&mut lock, b"4711"), [0, 0, 0, 1]);
    assert_eq!(writes(&lock.device), [(BUZZER, 1), (BUZZER, 1), (LOCK, 1)]);
}

#[test]
fn no_pin_set_refuses() {
    let mut lock = smartlock(SimPlatform::demo());
    assert_eq!(press(&mut lock, &[0, 0, 0, 0]), [0, 0, 0, 2]);
}

#[test]
fn set_pin_mid_attempt_restarts_it() {
    let mut lock = smartlock(SimPlatform::demo());
    set_pin(&mut lock, b"1111", T0 + 60);
    assert_eq!(press(&mut lock, b"12"), [0, 0]);
    set_pin(&mut lock, b"2222", T0 + 60);
    assert_eq!(press(&mut lock, b"2222"), [0, 0, 0, 1]);
}

#[test]
fn a_device_without_a_wall_clock_refuses_every_pin() {
    let mut platform = SimPlatform::demo();
    platform.clear_unix();
    let mut lock = smartlock(platform);
    set_pin(&mut lock, b"1234", u32::MAX as u64);
    assert_eq!(press(&mut lock, b"1234"), [0, 0, 0, 2]);
    assert_eq!(writes(&lock.device), [(BUZZER, 1)]);
}

#[test]
fn missing_actuator_reverts() {
    // A board without a switch (no lock to open): the first attempt reverts.
    let mut lock = smartlock(SimPlatform::new());
    set_pin(&mut lock, b"1234", T0 + 60);
    assert_eq!(press(&mut lock, b"123"), [0, 0, 0]);
    assert_eq!(lock.call("KeyPressed", &[b'4' as u64], &[]).unwrap(), Err(IrTrap::Revert(0xac7)));
    assert!(writes(&lock.device).is_empty());
}

#[test]
fn a_keypress_without_its_argument_traps() {
    let mut lock = smartlock(SimPlatform::demo());
    assert_eq!(lock.call("KeyPressed", &[], &[]).unwrap(), Err(IrTrap::InputOutOfBounds));
    // One byte is all a w8 parameter reads of its slot.
    assert_eq!(lock.call("KeyPressed", &[], b"1").unwrap(), Ok(0));
}

fn fletcher_ir(input: &[u8]) -> u64 {
    let mut f = lockstep("fletcher32.air", SimPlatform::demo());
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
    let Some(paper) = oracle::paper_input("the IR Fletcher-32 on the paper's input") else { return };
    let input = std::fs::read(paper).unwrap();
    assert_eq!(fletcher_ir(&input), oracle::PAPER_FLETCHER32 as u64);
}

#[test]
fn a_length_past_the_input_traps() {
    let mut f = lockstep("fletcher32.air", SimPlatform::demo());
    assert_eq!(f.call("fletcher32", &[10], &[1, 2, 3, 4]).unwrap(), Err(IrTrap::InputOutOfBounds));
}

#[test]
fn compile_is_the_upload_path() {
    use alkyl_translator::ir::{compile, CompileError};
    use alkyl_vm::container::Script;
    let bytes = app("smartlock.air");
    let container = compile(&bytes).unwrap();
    let script = Script::load(&container, &alkyl_bindings::ALL_HELPERS).unwrap();
    let names: Vec<&[u8]> = script.entries().map(|(f, _)| f.name).collect();
    assert_eq!(names, [&b"SetPin"[..], b"KeyPressed"]);
    // Exactly the helpers the translation calls: unix_time, find_type, write_value.
    assert_eq!(script.declared_helpers().unwrap().iter().collect::<Vec<_>>(), [0x21, 0x31, 0x34]);
    // The globals are .data (16 bytes with padding), the 8-byte memory (pin,
    // clock reading) .bss.
    assert_eq!((script.data().len(), script.data_size()), (16, 24));
    // The stack it declares is the frame its code uses: a multiple of 8,
    // what the verifier finds (it loads with that stack), below the
    // translator's whole frame.
    let stack = script.stack_size();
    assert_eq!(stack % 8, 0);
    assert_eq!(stack, (script.program().frame_size() as usize).max(8));
    assert!(stack < alkyl_translator::ir::translate::FRAME_BYTES, "{stack}");
    assert!(matches!(compile(&bytes[..10]), Err(CompileError::Parse(_))));
    let invalid = assemble(".public f\n ADD\n STOP\n").unwrap();
    match compile(&invalid) {
        Err(CompileError::Validate(e)) => assert_eq!((e.function, e.pos), (0, 0)),
        other => panic!("{other:?}"),
    }
}
