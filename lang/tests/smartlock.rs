//! The paper's smart lock, compiled from apps/alkyl/smartlock.alkyl
//! (verbatim from the paper), behaves as the hand-written IR lock
//! (apps/ir/smartlock.air) on event sequences — on the reference
//! interpreter and translated on the VM, in lockstep (`Pair`).
//!
//! The verbatim listing has no expiry check and returns nothing, so it is
//! compared on its effects (actuator writes) before the pin's deadline;
//! apps/alkyl/smartlock-expiry.alkyl adds the IR lock's conventions and is
//! compared on every result and effect, expired pins included.

use alkyl_bindings::SimPlatform;
use alkyl_testkit::{assemble, oracle};
use alkyl_translator::ir::lockstep::Pair;

fn root(p: &str) -> String {
    format!("{}/../{p}", env!("CARGO_MANIFEST_DIR"))
}

fn lang(path: &str) -> Vec<u8> {
    let src = std::fs::read_to_string(root(path)).unwrap();
    alkyl_lang::compile_file(path, &src).unwrap_or_else(|e| panic!("{e}")).module
}

fn air() -> Vec<u8> {
    assemble(&std::fs::read_to_string(root("apps/ir/smartlock.air")).unwrap()).unwrap()
}

/// The demo platform's Unix time (seconds) at its clock 0.
const T0: u64 = alkyl_bindings::SIM_DEMO_UNIX_S;

fn pin(s: &[u8; 4]) -> u64 {
    u32::from_le_bytes(*s) as u64
}

/// xorshift: deterministic sequences.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn verbatim_listing_is_the_papers() {
    let Some(path) = oracle::shared_file("seeds/000_8ea770110060365b.txt", "the smart lock listing against the paper")
    else {
        return;
    };
    let paper = std::fs::read_to_string(path).unwrap();
    let listing = std::fs::read_to_string(root("apps/alkyl/smartlock.alkyl")).unwrap();
    assert!(paper.contains(&format!("```\n{listing}```")), "apps/alkyl/smartlock.alkyl is not the paper's listing");
}

#[test]
fn right_pin_unlocks_wrong_pin_beeps_next_attempt_starts_afresh() {
    let bytes = lang("apps/alkyl/smartlock.alkyl");
    let reference = air();
    let mut l = Pair::new(&bytes, SimPlatform::demo()).unwrap();
    let mut r = Pair::new(&reference, SimPlatform::demo()).unwrap();
    for p in [&mut l, &mut r] {
        p.call("SetPin", &[pin(b"1234"), T0 + 60], &[]).unwrap().unwrap();
    }
    let mut writes = Vec::new();
    for attempt in [b"1234", b"1235", b"1234", b"9234", b"0000", b"1234"] {
        for &k in attempt {
            l.call("KeyPressed", &[k as u64], &[]).unwrap().unwrap();
            r.call("KeyPressed", &[k as u64], &[]).unwrap().unwrap();
            assert_eq!(l.device.actuator_writes(), r.device.actuator_writes());
        }
        writes.push(l.device.actuator_writes().len());
    }
    // One write per attempt: unlock, beep, unlock, beep, beep, unlock.
    assert_eq!(writes, [1, 2, 3, 4, 5, 6]);
    let w = l.device.actuator_writes();
    let (unlock, beep) = (w[0].device, w[1].device);
    assert_ne!(unlock, beep);
    let seq: Vec<bool> = w.iter().map(|x| x.device == unlock).collect();
    assert_eq!(seq, [true, false, true, false, false, true]);
}

#[test]
fn random_sequences_agree_with_the_ir_lock() {
    let verbatim = lang("apps/alkyl/smartlock.alkyl");
    let expiry = lang("apps/alkyl/smartlock-expiry.alkyl");
    let reference = air();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..60 {
        let mut v = Pair::new(&verbatim, SimPlatform::demo()).unwrap();
        let mut e = Pair::new(&expiry, SimPlatform::demo()).unwrap();
        let mut r = Pair::new(&reference, SimPlatform::demo()).unwrap();
        let digits = |x: u64| -> [u8; 4] { std::array::from_fn(|i| b'0' + ((x >> (i * 4)) % 3) as u8) };
        let p = digits(rng.next());
        // Unix seconds: the sequences below last up to 4.8 s.
        let deadline = T0 + 1 + rng.next() % 4;
        let mut expired = false;
        // The verbatim lock starts with `valid` false and keeps `index` on SetPin: set the pin first.
        for s in [&mut v, &mut e, &mut r] {
            assert_eq!(s.call("SetPin", &[pin(&p), deadline], &[]).unwrap(), Ok(0));
        }
        for _ in 0..24 {
            let key = b'0' + (rng.next() % 3) as u8;
            let a = e.call("KeyPressed", &[key as u64], &[]).unwrap();
            let b = r.call("KeyPressed", &[key as u64], &[]).unwrap();
            assert_eq!(a, b, "expiry lock vs IR lock, key {key}");
            assert_eq!(e.device.actuator_writes(), r.device.actuator_writes());
            if !expired {
                v.call("KeyPressed", &[key as u64], &[]).unwrap().unwrap();
                assert_eq!(v.device.actuator_writes(), r.device.actuator_writes(), "verbatim lock vs IR lock");
            }
            let ms = rng.next() % 200;
            for s in [&mut v, &mut e, &mut r] {
                s.advance_ms(ms);
            }
            expired |= r.device_unix_s() >= deadline;
        }
    }
}

trait Now {
    fn device_unix_s(&self) -> u64;
}
impl Now for Pair<'_> {
    fn device_unix_s(&self) -> u64 {
        use alkyl_bindings::Platform;
        self.device.clone().unix_time_ms().expect("the demo platform's clock is set") / 1000
    }
}

#[test]
fn bit_modes_of_the_lock() {
    let bytes = lang("apps/alkyl/smartlock.alkyl");
    let blocks = alkyl_lang::mode_blocks(&bytes);
    // 8-bit blocks for the index and the flags, 64-bit for the pin, 32-bit for the syscalls.
    assert!(blocks[0] >= 3 && blocks[2] >= 2 && blocks[3] >= 1, "{blocks:?}");
}

#[test]
fn without_a_wall_clock_every_pin_has_expired() {
    let expiry = lang("apps/alkyl/smartlock-expiry.alkyl");
    let reference = air();
    let mut unset = SimPlatform::demo();
    unset.clear_unix();
    let mut e = Pair::new(&expiry, unset.clone()).unwrap();
    let mut r = Pair::new(&reference, unset).unwrap();
    for s in [&mut e, &mut r] {
        s.call("SetPin", &[pin(b"1234"), u32::MAX as u64], &[]).unwrap().unwrap();
    }
    for &k in b"1234" {
        let (a, b) = (e.call("KeyPressed", &[k as u64], &[]).unwrap(), r.call("KeyPressed", &[k as u64], &[]).unwrap());
        assert_eq!(a, b);
    }
    // The attempt beeps (2) in both locks.
    assert_eq!(e.call("KeyPressed", &[b'1' as u64], &[]).unwrap(), Ok(0));
    assert_eq!(e.device.actuator_writes(), r.device.actuator_writes());
    assert_eq!(e.device.actuator_writes().len(), 1);
}
