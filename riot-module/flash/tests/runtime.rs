//! A whole `Runtime` on the flash store, with the power cut at every flash
//! write and erase of an install, a replacement, a delete, a key-value
//! update, a trigger change and a command-sequence bump: after each cut a
//! new runtime boots from what the flash holds, and finds the state before
//! the change or after it (never a mix, nothing it cannot load), and every
//! change that was acknowledged.

use alkyl_bindings::{DeviceHandle, Phydat, SaulError};
use alkyl_flash::sim::SimFlash;
use alkyl_flash::FlashStorage;
use alkyl_protocol::command::CommandRepr;
use alkyl_protocol::envelope::{EnvelopeRepr, Operation, PayloadKind, TriggerKind, TriggerRepr};
use alkyl_runtime::{AppName, Authority, Cause, Config, Device, Expect, Runtime, SaulInfo};
use alkyl_vm::container::{ContainerRepr, Table};

/// A clock and nothing else.
#[derive(Default)]
struct Clock(u64);

impl Device for Clock {
    fn now_ms(&mut self) -> u64 {
        self.0 / 1000
    }
    fn now_us(&mut self) -> u64 {
        self.0
    }
    fn sleep_until_us(&mut self, deadline_us: u64) {
        self.0 = self.0.max(deadline_us);
    }
    fn log(&mut self, _: &AppName, _: &[u8]) {}
    fn saul_find_nth(&mut self, _: u32) -> Option<DeviceHandle> {
        None
    }
    fn saul_find_type(&mut self, _: u8) -> Option<DeviceHandle> {
        None
    }
    fn saul_read(&mut self, _: DeviceHandle) -> Result<(Phydat, u8), SaulError> {
        Err(SaulError::NoDevice)
    }
    fn saul_write(&mut self, _: DeviceHandle, _: &Phydat) -> Result<u8, SaulError> {
        Err(SaulError::NoDevice)
    }
    fn saul_info(&mut self, _: DeviceHandle) -> Option<SaulInfo> {
        None
    }
}

type Rt = Runtime<FlashStorage<SimFlash>, Clock>;

fn keypair() -> ed25519_compact::KeyPair {
    ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32]))
}

fn boot(flash: &SimFlash) -> Rt {
    let authority = Authority::read_only().trust(&keypair().pk).unwrap();
    let storage = FlashStorage::open(flash.clone()).unwrap();
    let (rt, report) = Runtime::new(Config::DEFAULT, authority, storage, Clock::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    rt
}

fn name(n: &str) -> AppName {
    AppName::new(n.as_bytes()).unwrap()
}

/// The counter of apps/asm/counter.s with `pad` bytes of read-only data:
/// an app record of several flash chunks.
fn counter(pad: usize) -> Vec<u8> {
    let text = alkyl_asm::assemble(include_str!("../../../apps/asm/counter.s")).unwrap();
    let rodata: Vec<u8> = (0..pad).map(|i| (i * 13 % 256) as u8).collect();
    ContainerRepr { text: &text, rodata: &rodata, functions: Table::Values(&[]), ..Default::default() }
        .to_bytes()
        .unwrap()
}

fn signed(r: EnvelopeRepr) -> Vec<u8> {
    let kp = keypair();
    r.to_signed_bytes(&kp.pk, |m| *kp.sk.sign(m, None)).unwrap()
}

fn install(rt: &mut Rt, n: &str, version: u32, pad: usize) -> Result<(), String> {
    let mut r = EnvelopeRepr::install(name(n), version, PayloadKind::Container, counter(pad));
    r.open = Some(vec!["*".into()]);
    let bytes = signed(r.compress().unwrap());
    rt.apply(&bytes, Expect { operation: Operation::Install, name: &name(n) }).map(drop).map_err(|e| format!("{e:?}"))
}

fn command(rt: &mut Rt, op: Operation, n: &str, version: u32, triggers: Vec<TriggerRepr>) -> Result<(), String> {
    let bytes = signed(EnvelopeRepr::command(op, name(n), version, triggers));
    rt.apply(&bytes, Expect { operation: op, name: &name(n) }).map(drop).map_err(|e| format!("{e:?}"))
}

fn run(rt: &mut Rt, n: &str) -> Result<u64, String> {
    let r = rt.invoke(&name(n), None, b"", Cause::Coap, false, 0).map_err(|e| format!("{e:?}"))?;
    Ok(r.outcome.as_ref().unwrap().r0)
}

fn timer(period_ms: u32) -> Vec<TriggerRepr> {
    vec![TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms, value: 0, entry: None }]
}

/// What a boot shows: each app (name, version, sequence, triggers), its
/// counter, the global namespace's key 1, the command sequences.
fn state(rt: &Rt) -> String {
    let mut apps: Vec<String> = rt
        .apps()
        .map(|a| {
            let n = &a.meta().name;
            format!(
                "{} v{} s{} t{:?} kv{:?}",
                n.as_str(),
                a.meta().version,
                rt.sequence_of(n),
                a.meta().triggers,
                rt.kv_fetch(Some(n), 1)
            )
        })
        .collect();
    apps.sort();
    let seqs: Vec<_> = rt.command_sequences().collect();
    format!("{apps:?} global {:?} seqs {seqs:?}", rt.kv_fetch(None, 1))
}

type Step<'a> = &'a dyn Fn(&mut Rt) -> Result<(), String>;

/// The flash images a step starts from: app `a` (several chunks) run 3
/// times and app `k` (one chunk); then the first image, after more
/// runs of `k` fill the log, from which the step erases a page (so that
/// cuts also land in the moving of live items and in erases).
fn starts(step: Step<'_>) -> Vec<Vec<u8>> {
    let flash = SimFlash::new(6);
    let mut rt = boot(&flash);
    install(&mut rt, "a", 1, 3000).unwrap();
    install(&mut rt, "k", 1, 0).unwrap();
    for _ in 0..3 {
        run(&mut rt, "a").unwrap();
    }
    let mut images = vec![flash.image()];
    let mut last = 0;
    for runs in 1..3000 {
        run(&mut rt, "k").unwrap();
        let image = flash.image();
        let trial = SimFlash::from_image(image.clone());
        let mut t = boot(&trial);
        step(&mut t).unwrap();
        if trial.erase_counts().iter().sum::<u32>() > 0 && (last == 0 || runs > last + 50) {
            images.push(image);
            last = runs;
            if images.len() == 2 {
                return images;
            }
        }
    }
    panic!("the step never erases a page");
}
fn every_cut(what: &str, step: Step<'_>) {
    every_cut_via(what, step, None);
}

/// As [`every_cut`], for a step of two changes made in an order that
/// keeps the state consistent between them: the state after `middle` is
/// also a valid outcome of a cut.
fn every_cut_via(what: &str, step: Step<'_>, middle: Option<Step<'_>>) {
    for (start, image) in starts(step).into_iter().enumerate() {
        let before = state(&boot(&SimFlash::from_image(image.clone())));
        let between = middle.map(|m| {
            let mut rt = boot(&SimFlash::from_image(image.clone()));
            m(&mut rt).unwrap();
            state(&rt)
        });
        let after = {
            let flash = SimFlash::from_image(image.clone());
            let mut rt = boot(&flash);
            step(&mut rt).unwrap();
            assert_eq!(state(&rt), state(&boot(&flash)), "{what}: a reboot shows what ran");
            state(&rt)
        };
        assert_ne!(before, after, "{what}: the step changes the state");
        let mut cut = 0;
        loop {
            let flash = SimFlash::from_image(image.clone());
            let mut rt = boot(&flash);
            flash.cut_at(cut, cut as u32 ^ 0x5a5a);
            let result = step(&mut rt);
            if !flash.is_off() {
                result.unwrap();
                break;
            }
            let flash = SimFlash::from_image(flash.image());
            let mut rt = boot(&flash);
            let now = state(&rt);
            let valid = now == before || now == after || Some(&now) == between.as_ref();
            assert!(valid, "{what}, start {start}, cut {cut}:\n{now}\nnot\n{before}\nor\n{after}");
            if result.is_ok() {
                assert_eq!(now, after, "{what}, start {start}, cut {cut}: acknowledged, then lost");
            }
            // The device goes on: its apps run and store.
            if rt.app(&name("k")).is_some() {
                run(&mut rt, "k").unwrap();
            }
            assert_eq!(flash.violations(), 0);
            cut += 1;
        }
        assert!(cut > 0, "{what}: the step writes");
    }
}

#[test]
fn power_cut_install() {
    every_cut("install", &|rt| install(rt, "b", 1, 2500));
}

#[test]
fn power_cut_replace() {
    every_cut("replace", &|rt| install(rt, "a", 2, 3100));
}

#[test]
fn power_cut_delete() {
    every_cut("delete", &|rt| command(rt, Operation::Delete, "a", 5, Vec::new()));
}

#[test]
fn power_cut_kv_update() {
    every_cut("kv update", &|rt| run(rt, "a").map(|n| assert_eq!(n, 4)));
}

#[test]
fn power_cut_trigger_change() {
    every_cut("trigger change", &|rt| command(rt, Operation::SetTriggers, "a", 2, timer(60_000)));
}

fn signed_command(c: CommandRepr) -> Vec<u8> {
    let kp = keypair();
    c.to_signed_bytes(&kp.pk, |m| *kp.sk.sign(m, None)).unwrap()
}

fn set_time(rt: &mut Rt) -> Result<(), String> {
    rt.set_time(&signed_command(CommandRepr::set_time(1_800_000_000_000, 1)), 0).map(drop).map_err(|e| format!("{e:?}"))
}

#[test]
fn power_cut_sequence_bump() {
    every_cut("sequence bump", &set_time);
}

/// A signed invoke saves its sequence before it runs (no replay after a
/// cut), then the run's key-value writes: a cut between the two leaves the
/// sequence used and the run not done, as if it had been refused.
#[test]
fn power_cut_signed_invoke() {
    every_cut_via(
        "signed invoke",
        &|rt| {
            let bytes = signed_command(CommandRepr::invoke("a", None, Vec::new(), 1));
            let (_, run) = rt.invoke_signed(&bytes, 0).map_err(|e| format!("{e:?}"))?;
            assert_eq!(run.outcome.unwrap().r0, 4);
            Ok(())
        },
        Some(&set_time),
    );
}
