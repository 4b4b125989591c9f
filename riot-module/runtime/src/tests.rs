//! Runtime tests: the store's rules (signature, rollback, replay), atomic
//! replacement under every failure, quotas, the key-value store and its
//! persistence, triggers on a manual clock, crash recovery at boot, and the
//! CoAP API through real coap-lite messages.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use alkyl_protocol::client::{block_option, request_packet};
use alkyl_vm::container::{Container, ContainerRepr, TrailerRepr};
use alkyl_vm::TrapKind;
use coap_handler::Handler as _;
use coap_lite::{CoapOption, Packet, RequestType};
use coap_numbers::code;

use crate::coap::Block;
use crate::envelope::{Operation, PayloadKind, TriggerKind, TriggerRepr};
use crate::storage::{RamStorage, Storage, StorageError};
use crate::testkit::*;
use crate::*;

/// The counter of `apps/asm/counter.s`: returns 1, 2, 3... (key 1 of its namespace).
const COUNTER_ASM: &str = include_str!("../../../apps/asm/counter.s");

const FILL_ASM: &str = "
    mov %r6, 0
loop:
    mov %r1, %r6
    mov %r2, 7
    call 0x10
    jne %r0, 0, done
    add %r6, 1
    jlt %r6, 1000, loop
done:
    mov %r0, %r6
    exit
";

const LOOP_ASM: &str = "
    mov %r0, 0
loop:
    add %r0, 1
    ja loop
    exit
";

const BAD_POINTER_ASM: &str = "
    mov %r1, 1
    mov %r2, 0x1234
    call 0x13
    exit
";

const COAP_ASM: &str = "
    mov %r6, %r3
    mov %r1, %r6
    mov %r2, 0x45
    call 0x40
    mov %r1, %r6
    mov %r2, 50
    call 0x42
    mov %r1, %r6
    mov %r2, 1
    call 0x41
    mov %r7, %r0
    mov %r1, %r6
    call 0x43
    stb [%r0], 0x68
    stb [%r0+1], 0x69
    mov %r0, %r7
    add %r0, 2
    exit
";

/// Returns `val[0]` of the trigger event (or r2 when called otherwise).
const EVENT_ASM: &str = "
    ldxh %r0, [%r1+20]
    exit
";

type Rt = Runtime<FlakyStorage, TestDevice>;

fn name(s: &str) -> AppName {
    AppName::new(s.as_bytes()).unwrap()
}

fn authority() -> Authority {
    Authority::read_only().trust(&keypair().pk).unwrap()
}

fn runtime() -> Rt {
    runtime_with(Config::DEFAULT)
}

fn runtime_with(config: Config) -> Rt {
    Runtime::new(config, authority(), FlakyStorage::default(), TestDevice::new()).unwrap().0
}

/// `rt` with `simple_container()` installed as app `simple`, version 1.
fn with_simple(mut rt: Rt) -> Rt {
    install(&mut rt, "simple", 1, simple_container()).unwrap();
    rt
}

/// Reboots: a new runtime over the same records.
fn reboot(rt: Rt) -> (Rt, BootReport) {
    let config = *rt.config();
    let Runtime { storage, device, .. } = rt;
    let storage = FlakyStorage { inner: storage.inner, ..FlakyStorage::default() };
    Runtime::new(config, authority(), storage, device).unwrap()
}

fn install(rt: &mut Rt, n: &str, version: u32, container: Vec<u8>) -> Result<Applied, Rejection> {
    let bytes = signed(install_of(n, version, container, true), &keypair());
    rt.apply(&bytes, Expect { operation: Operation::Install, name: &name(n) })
}

fn run(rt: &mut Rt, n: &str, entry: Option<&str>, input: &[u8]) -> LastRun {
    let now = rt.device().now_ms();
    rt.invoke(&name(n), entry.map(str::as_bytes), input, Cause::Coap, false, now).unwrap()
}

fn r0(run: &LastRun) -> u64 {
    run.outcome.as_ref().unwrap().r0
}

fn records(rt: &mut Rt) -> Vec<(String, Vec<u8>)> {
    let s = &mut rt.storage().inner;
    let keys = s.keys().unwrap();
    keys.into_iter().map(|k| (k.clone(), s.load(&k).unwrap().unwrap())).collect()
}

#[test]
fn install_run_replace() {
    let mut rt = runtime();
    assert_eq!(
        install(&mut rt, "simple", 1, simple_container()),
        Ok(Applied::Installed { version: 1, replaced: false })
    );
    assert_eq!(r0(&run(&mut rt, "simple", None, b"")), 42);
    assert_eq!(r0(&run(&mut rt, "simple", Some("answer"), b"abc")), 3);
    assert_eq!(r0(&run(&mut rt, "simple", Some("twice"), &[21])), 42);
    assert_eq!(rt.invoke(&name("simple"), Some(b"nope"), b"", Cause::Coap, false, 0), Err(Rejection::NoEntry));
    assert!(matches!(rt.invoke(&name("other"), None, b"", Cause::Coap, false, 0), Err(Rejection::NoApp { .. })));
    let app = rt.app(&name("simple")).unwrap();
    assert_eq!(app.stats().runs, 3);
    assert_eq!(app.entry_names().collect::<Vec<_>>(), [&b"answer"[..], b"twice"]);
    // Replace with the counter.
    assert_eq!(
        install(&mut rt, "simple", 2, container(COUNTER_ASM, &[])),
        Ok(Applied::Installed { version: 2, replaced: true })
    );
    assert_eq!(r0(&run(&mut rt, "simple", None, b"")), 1);
    assert_eq!(r0(&run(&mut rt, "simple", None, b"")), 2);
    assert_eq!(rt.app(&name("simple")).unwrap().stats().runs, 2);
}

/// The runtime's stack and packet buffer are reused across runs (no
/// allocation per run), and each run finds them zeroed: a run cannot read
/// what an earlier one (of this app or another) left there.
#[test]
fn run_buffers_are_reused_and_zeroed() {
    let mut rt = runtime();
    // `dirty` leaves a word at the stack's top; `peek` returns what it
    // finds there.
    let asm = "stdw [%r10-8], 0x55\nmov %r0, 0\nexit\nldxdw %r0, [%r10-8]\nexit";
    install(&mut rt, "a", 1, container(asm, &[("dirty", 0), ("peek", 3)])).unwrap();
    install(&mut rt, "b", 1, container(asm, &[("dirty", 0), ("peek", 3)])).unwrap();
    assert_eq!(r0(&run(&mut rt, "a", Some("dirty"), b"")), 0);
    assert_eq!(r0(&run(&mut rt, "a", Some("peek"), b"")), 0);
    assert_eq!(r0(&run(&mut rt, "a", Some("dirty"), b"")), 0);
    assert_eq!(r0(&run(&mut rt, "b", Some("peek"), b"")), 0);
    let before = rt.buffers.stack_ptr();
    run(&mut rt, "a", Some("dirty"), b"");
    assert_eq!(rt.buffers.stack_ptr(), before, "the stack is allocated once");
}

#[test]
fn the_input_is_read_only() {
    let mut rt = runtime();
    install(&mut rt, "w", 1, container("stb [%r1], 1\nmov %r0, 0\nexit", &[])).unwrap();
    let run = run(&mut rt, "w", None, b"x");
    assert!(matches!(run.outcome, Err(alkyl_vm::Trap { pc: 0, kind: TrapKind::Memory(_) })));
}

#[test]
fn uncompressed_and_unsigned_uploads() {
    let mut rt =
        Runtime::new(Config::DEFAULT, Authority::read_only().allow_unsigned(), RamStorage::new(), TestDevice::new())
            .unwrap()
            .0;
    let bytes = install_envelope("a", 1).to_bytes().unwrap();
    rt.apply(&bytes, Expect { operation: Operation::Install, name: &name("a") }).unwrap();
    assert_eq!(rt.invoke(&name("a"), None, b"", Cause::Coap, false, 0).unwrap().outcome.unwrap().r0, 42);
}

#[test]
fn rollback_and_replay_are_refused() {
    let mut rt = runtime();
    install(&mut rt, "a", 5, simple_container()).unwrap();
    for v in [0, 4, 5] {
        assert_eq!(
            install(&mut rt, "a", v, container(COUNTER_ASM, &[])),
            Err(Rejection::NotNewer { version: v, current: 5 })
        );
    }
    // A trigger command moves the counter on.
    let set = signed(command(Operation::SetTriggers, "a", 6, vec![]), &keypair());
    let expect = Expect { operation: Operation::SetTriggers, name: &name("a") };
    assert_eq!(rt.apply(&set, expect), Ok(Applied::TriggersSet));
    assert_eq!(rt.apply(&set, expect), Err(Rejection::NotNewer { version: 6, current: 6 }));
    assert_eq!(rt.app(&name("a")).unwrap().meta().version, 5);
    assert_eq!(rt.sequence_of(&name("a")), 6);
    assert_eq!(install(&mut rt, "a", 6, simple_container()), Err(Rejection::NotNewer { version: 6, current: 6 }));
    // Delete at 7; the same delete replayed, and old versions, are refused.
    let del = signed(command(Operation::Delete, "a", 7, vec![]), &keypair());
    let expect = Expect { operation: Operation::Delete, name: &name("a") };
    assert_eq!(rt.apply(&del, expect), Ok(Applied::Deleted));
    assert!(rt.app(&name("a")).is_none());
    assert_eq!(rt.apply(&del, expect), Err(Rejection::NotNewer { version: 7, current: 7 }));
    assert_eq!(install(&mut rt, "a", 5, simple_container()), Err(Rejection::NotNewer { version: 5, current: 7 }));
    // Also after a reboot.
    let (mut rt, report) = reboot(rt);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(install(&mut rt, "a", 7, simple_container()), Err(Rejection::NotNewer { version: 7, current: 7 }));
    assert_eq!(install(&mut rt, "a", 8, simple_container()), Ok(Applied::Installed { version: 8, replaced: false }));
}

#[test]
fn retired_names_beyond_the_table_raise_the_floor() {
    let config = Config { max_retired_names: 2, ..Config::DEFAULT };
    let mut rt = runtime_with(config);
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        let v = 10 * (i as u32 + 1);
        install(&mut rt, n, v, simple_container()).unwrap();
        let del = signed(command(Operation::Delete, n, v + 1, vec![]), &keypair());
        rt.apply(&del, Expect { operation: Operation::Delete, name: &name(n) }).unwrap();
    }
    // "a" (sequence 11) was evicted into the floor: every unknown name must exceed 11.
    assert_eq!(rt.sequence_of(&name("a")), 11);
    assert_eq!(rt.sequence_of(&name("new")), 11);
    assert_eq!(rt.sequence_of(&name("c")), 31);
    assert!(install(&mut rt, "new", 11, simple_container()).is_err());
    install(&mut rt, "new", 12, simple_container()).unwrap();
}

#[test]
fn each_rejection_has_its_code() {
    let mut rt = runtime();
    let kp = keypair();
    let n = name("a");
    let install_expect = Expect { operation: Operation::Install, name: &n };
    let good = signed(install_of("a", 1, simple_container(), true), &kp);
    let codes = |r: Rejection| (r.code(), alloc::format!("{r}"));

    let mut tampered = good.clone();
    let i = tampered.len() - 70;
    tampered[i] ^= 1;
    let c = codes(rt.apply(&tampered, install_expect).unwrap_err());
    assert_eq!(c, (code::FORBIDDEN, "bad signature".into()));

    let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([1; 32]));
    let c = codes(rt.apply(&signed(install_envelope("a", 1), &other), install_expect).unwrap_err());
    assert_eq!(c.0, code::UNAUTHORIZED);
    assert!(c.1.starts_with("unknown key "), "{}", c.1);

    let unsigned = install_envelope("a", 1).to_bytes().unwrap();
    assert_eq!(rt.apply(&unsigned, install_expect).unwrap_err().code(), code::UNAUTHORIZED);

    let c = codes(rt.apply(&good[..good.len() - 1], install_expect).unwrap_err());
    assert_eq!(c.0, code::BAD_REQUEST);
    assert!(c.1.starts_with("malformed envelope: envelope byte"), "{}", c.1);

    let big = vec![0u8; Config::DEFAULT.max_envelope_bytes + 1];
    assert_eq!(rt.apply(&big, install_expect).unwrap_err().code(), code::REQUEST_ENTITY_TOO_LARGE);

    // Declared raw size above the limit: refused before decompressing.
    let mut bomb = install_of("a", 1, simple_container(), true);
    bomb.raw_len = 1 << 30;
    let c = codes(rt.apply(&signed(bomb, &kp), install_expect).unwrap_err());
    assert_eq!(c, (code::REQUEST_ENTITY_TOO_LARGE, "oversize: 1073741824 bytes, the limit is 16384".into()));

    // A stream that does not produce the declared size.
    let mut short = install_of("a", 1, simple_container(), true);
    short.raw_len += 5;
    let c = codes(rt.apply(&signed(short, &kp), install_expect).unwrap_err());
    assert_eq!(c.0, code::UNSUPPORTED_CONTENT_FORMAT);
    assert!(c.1.starts_with("bad compression stream"), "{}", c.1);

    // Verification failure: the pc and the rule.
    let bad = container("ja +5\nexit", &[]);
    let c = codes(install(&mut rt, "a", 1, bad).unwrap_err());
    assert_eq!(c.0, code::UNPROCESSABLE_ENTITY);
    assert!(c.1.starts_with("verification failed: instruction 0: "), "{}", c.1);
    let c = codes(install(&mut rt, "a", 1, b"rBPF-not-a-container".to_vec()).unwrap_err());
    assert_eq!(c.0, code::UNPROCESSABLE_ENTITY);

    // A container sent as Alkyl IR is not an IR module.
    let mut ir = install_of("a", 1, simple_container(), false);
    ir.kind = PayloadKind::AlkylIr;
    let c = codes(rt.apply(&signed(ir, &kp), install_expect).unwrap_err());
    assert_eq!(c.0, code::UNPROCESSABLE_ENTITY);
    assert!(c.1.starts_with("Alkyl IR rejected: malformed module"), "{}", c.1);

    // The envelope must match the request.
    let other_name = Expect { operation: Operation::Install, name: &name("b") };
    assert_eq!(rt.apply(&good, other_name).unwrap_err(), Rejection::Mismatch);
    let as_delete = Expect { operation: Operation::Delete, name: &n };
    assert_eq!(rt.apply(&good, as_delete).unwrap_err(), Rejection::Mismatch);

    // Triggers the device cannot honour.
    let mut t = install_of("a", 1, simple_container(), true);
    t.triggers = vec![TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 1, value: 0, entry: None }];
    assert_eq!(rt.apply(&signed(t.clone(), &kp), install_expect).unwrap_err().code(), code::BAD_REQUEST);
    t.triggers[0].period_ms = 100;
    t.triggers[0].entry = Some("missing".into());
    assert_eq!(
        rt.apply(&signed(t, &kp), install_expect).unwrap_err(),
        Rejection::Triggers(TriggerProblem::Entry { index: 0 })
    );

    rt.apply(&good, install_expect).unwrap();
    assert_eq!(rt.apply(&good, install_expect).unwrap_err().code(), code::CONFLICT);

    let read_only = Runtime::new(Config::DEFAULT, Authority::read_only(), RamStorage::new(), TestDevice::new());
    let mut read_only = read_only.unwrap().0;
    assert_eq!(read_only.apply(&good, install_expect).unwrap_err().code(), code::METHOD_NOT_ALLOWED);
}

#[test]
fn quotas() {
    let config = Config { max_apps: 2, max_total_bytes: 2000, max_app_bytes: 1000, ..Config::DEFAULT };
    let mut rt = runtime_with(config);
    install(&mut rt, "a", 1, simple_container()).unwrap();
    install(&mut rt, "b", 1, simple_container()).unwrap();
    let e = install(&mut rt, "c", 1, simple_container()).unwrap_err();
    assert_eq!(e, Rejection::StoreFull(crate::store::QuotaError::Count { max: 2 }));
    assert_eq!(e.code(), code::SERVICE_UNAVAILABLE);
    // Replacing does not count as a new app.
    install(&mut rt, "b", 2, container(COUNTER_ASM, &[])).unwrap();
    // Per-app bytes: a big .data (bss) exceeds 1000 bytes.
    let simple = simple_container();
    let mut big = ContainerRepr::parse(&Container::new_checked(&simple[..]).unwrap());
    big.trailer = Some(TrailerRepr { bss_len: 5000, stack_size: 0, ..TrailerRepr::default() });
    let e = install(&mut rt, "b", 3, emit(&big)).unwrap_err();
    assert_eq!(e.code(), code::REQUEST_ENTITY_TOO_LARGE);
    // A declared stack beyond the device's limit (256 on this one).
    big.trailer = Some(TrailerRepr { bss_len: 0, stack_size: 512, ..TrailerRepr::default() });
    let mut small = runtime_with(Config { max_stack: 256, ..config });
    assert_eq!(install(&mut small, "b", 4, emit(&big)).unwrap_err().code(), code::REQUEST_ENTITY_TOO_LARGE);
    // Beyond the VM's maximum (512): not a loadable container.
    big.trailer = Some(TrailerRepr { bss_len: 0, stack_size: 1 << 20, ..TrailerRepr::default() });
    assert_eq!(install(&mut rt, "b", 4, emit(&big)).unwrap_err().code(), code::UNPROCESSABLE_ENTITY);
    // Total bytes: a bss of 900 fits one app but not the store.
    let config = Config { max_total_bytes: 1500, ..config };
    let mut rt = runtime_with(config);
    big.trailer = Some(TrailerRepr { bss_len: 700, stack_size: 0, ..TrailerRepr::default() });
    install(&mut rt, "a", 1, emit(&big)).unwrap();
    let e = install(&mut rt, "b", 1, emit(&big)).unwrap_err();
    assert!(matches!(e, Rejection::StoreFull(crate::store::QuotaError::Bytes { .. })), "{e:?}");
}

/// Every kind of failed replacement leaves the old version running and the
/// records untouched.
#[test]
fn atomic_replace_under_every_failure() {
    let kp = keypair();
    let n = name("app");
    let expect = Expect { operation: Operation::Install, name: &n };
    let new = || install_of("app", 2, container(COUNTER_ASM, &[]), true);
    let mut failures: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut tampered = signed(new(), &kp);
    tampered[40] ^= 0x10;
    failures.push(("tampered", tampered));
    failures.push(("unsigned", new().to_bytes().unwrap()));
    failures.push(("old", signed(install_of("app", 1, container(COUNTER_ASM, &[]), true), &kp)));
    let good = signed(new(), &kp);
    failures.push(("truncated", good[..good.len() / 2].to_vec()));
    let mut bomb = new();
    bomb.raw_len = u32::MAX;
    failures.push(("bomb", signed(bomb, &kp)));
    let mut short = new();
    short.raw_len -= 1;
    failures.push(("compression", signed(short, &kp)));
    failures.push(("verify", signed(install_of("app", 2, container("ja +3\nexit", &[]), true), &kp)));
    let mut ir = new();
    ir.kind = PayloadKind::AlkylIr;
    failures.push(("ir", signed(ir, &kp)));
    let mut trig = new();
    trig.triggers = vec![TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 1, value: 0, entry: None }];
    failures.push(("triggers", signed(trig, &kp)));

    for (what, bytes) in failures {
        let mut rt = runtime();
        install(&mut rt, "app", 1, simple_container()).unwrap();
        let before = records(&mut rt);
        assert!(rt.apply(&bytes, expect).is_err(), "{what} accepted");
        assert_eq!(records(&mut rt), before, "{what} changed the store");
        assert_eq!(r0(&run(&mut rt, "app", None, b"")), 42, "{what}: the old version no longer runs");
        assert_eq!(rt.app(&n).unwrap().meta().version, 1);
    }

    // A storage failure at the commit leaves everything as it was too.
    let mut rt = runtime();
    install(&mut rt, "app", 1, simple_container()).unwrap();
    let before = records(&mut rt);
    rt.storage().fail_at = Some(rt.storage().writes);
    assert_eq!(rt.apply(&good, expect), Err(Rejection::Storage(StorageError::Io)));
    assert_eq!(records(&mut rt), before);
    assert_eq!(r0(&run(&mut rt, "app", None, b"")), 42);
    // And the next attempt succeeds.
    rt.apply(&good, expect).unwrap();
    assert_eq!(r0(&run(&mut rt, "app", None, b"")), 1);
}

#[test]
fn failed_delete_changes_nothing() {
    let mut rt = runtime();
    install(&mut rt, "app", 1, simple_container()).unwrap();
    let before = records(&mut rt);
    let del = signed(command(Operation::Delete, "app", 2, vec![]), &keypair());
    let expect = Expect { operation: Operation::Delete, name: &name("app") };
    rt.storage().fail_at = Some(rt.storage().writes);
    assert_eq!(rt.apply(&del, expect), Err(Rejection::Storage(StorageError::Io)));
    assert_eq!(records(&mut rt), before);
    assert!(rt.app(&name("app")).is_some());
    assert_eq!(rt.apply(&del, expect), Ok(Applied::Deleted));
    let nothing = signed(command(Operation::Delete, "zz", 2, vec![]), &keypair());
    let e = rt.apply(&nothing, Expect { operation: Operation::Delete, name: &name("zz") }).unwrap_err();
    assert_eq!(e.code(), code::NOT_FOUND);
}

#[test]
fn interrupted_delete_is_finished_at_boot() {
    let mut rt = runtime();
    install(&mut rt, "app", 1, container(COUNTER_ASM, &[])).unwrap();
    run(&mut rt, "app", None, b"");
    let del = signed(command(Operation::Delete, "app", 2, vec![]), &keypair());
    // The retired record is saved, then the app record's removal "crashes".
    rt.storage().fail_at = Some(rt.storage().writes + 1);
    rt.apply(&del, Expect { operation: Operation::Delete, name: &name("app") }).unwrap();
    assert!(records(&mut rt).iter().any(|(k, _)| k == "app.app"));
    let (mut rt, report) = reboot(rt);
    assert_eq!(report.apps, 0);
    assert_eq!(report.cleaned, ["app.app"]);
    assert!(rt.app(&name("app")).is_none());
    assert!(!records(&mut rt).iter().any(|(k, _)| k.starts_with("app.") || k == "kv.app"));
}

#[test]
fn apps_and_kv_survive_reboots() {
    let mut rt = runtime();
    install(&mut rt, "counter", 1, container(COUNTER_ASM, &[])).unwrap();
    let t = vec![TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 100, value: 0, entry: None }];
    let set = signed(command(Operation::SetTriggers, "counter", 2, t.clone()), &keypair());
    rt.apply(&set, Expect { operation: Operation::SetTriggers, name: &name("counter") }).unwrap();
    for _ in 0..3 {
        run(&mut rt, "counter", None, b"");
    }
    let (mut rt, report) = reboot(rt);
    assert_eq!(report.apps, 1);
    assert!(report.problems.is_empty());
    let app = rt.app(&name("counter")).unwrap();
    assert_eq!((app.meta().version, app.meta().sequence), (1, 2));
    assert_eq!(app.meta().triggers, t);
    assert_eq!(r0(&run(&mut rt, "counter", None, b"")), 4);
    // A corrupted record is reported and left alone; the rest still boots.
    rt.storage().inner.save("app.bad", b"ALKA garbage").unwrap();
    rt.storage().inner.save("weird", b"").unwrap();
    let (rt, report) = reboot(rt);
    assert_eq!(report.apps, 1);
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(rt.app(&name("counter")).is_some());
}

#[test]
fn kv_quotas_and_namespaces() {
    let config = Config { kv_entries_per_app: 5, kv_global_entries: 3, ..Config::DEFAULT };
    let mut rt = runtime_with(config);
    install(&mut rt, "fill", 1, container(FILL_ASM, &[])).unwrap();
    install(&mut rt, "fill2", 1, container(FILL_ASM, &[])).unwrap();
    assert_eq!(r0(&run(&mut rt, "fill", None, b"")), 5);
    assert_eq!(r0(&run(&mut rt, "fill2", None, b"")), 5);
    assert_eq!(rt.kv_fetch(Some(&name("fill")), 4), Some(7));
    assert_eq!(rt.kv_fetch(Some(&name("fill")), 5), None);
    assert_eq!(rt.kv_fetch(None, 0), None);
    // Deleting an app drops its namespace; a new app of that name starts empty.
    let del = signed(command(Operation::Delete, "fill", 2, vec![]), &keypair());
    rt.apply(&del, Expect { operation: Operation::Delete, name: &name("fill") }).unwrap();
    assert_eq!(rt.kv_fetch(Some(&name("fill")), 4), None);
    install(&mut rt, "fill", 3, container(COUNTER_ASM, &[])).unwrap();
    assert_eq!(r0(&run(&mut rt, "fill", None, b"")), 1);
    let (rt, _) = reboot(rt);
    assert_eq!(rt.kv_fetch(Some(&name("fill2")), 4), Some(7));
    assert_eq!(rt.kv_fetch(Some(&name("fill")), 1), Some(1));
}

#[test]
fn traps_are_recorded_and_the_runtime_goes_on() {
    let config = Config { budget: 10_000, ..Config::DEFAULT };
    let mut rt = runtime_with(config);
    install(&mut rt, "loop", 1, container(LOOP_ASM, &[])).unwrap();
    install(&mut rt, "bad", 1, container(BAD_POINTER_ASM, &[])).unwrap();
    install(&mut rt, "ok", 1, simple_container()).unwrap();
    let r = run(&mut rt, "loop", None, b"");
    assert_eq!(r.outcome.unwrap_err().kind, TrapKind::BudgetExhausted);
    let r = run(&mut rt, "bad", None, b"");
    assert!(matches!(r.outcome.unwrap_err().kind, TrapKind::Helper { id: 0x13, .. }));
    let app = rt.app(&name("loop")).unwrap();
    assert_eq!((app.stats().runs, app.stats().traps), (1, 1));
    assert!(app.stats().last_error.is_some());
    assert_eq!(r0(&run(&mut rt, "ok", None, b"")), 42);
}

#[test]
fn timer_and_sensor_triggers() {
    let mut rt = runtime();
    let mut env = install_of("counter", 1, container(COUNTER_ASM, &[]), true);
    env.triggers = vec![TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 100, value: 0, entry: None }];
    rt.apply(&signed(env, &keypair()), Expect { operation: Operation::Install, name: &name("counter") }).unwrap();
    let mut env = install_of("event", 1, container(EVENT_ASM, &[("on_event", 0)]), true);
    env.triggers = vec![TriggerRepr {
        kind: TriggerKind::Rising,
        sensor: 0,
        period_ms: 50,
        value: 2200,
        entry: Some("on_event".into()),
    }];
    rt.apply(&signed(env, &keypair()), Expect { operation: Operation::Install, name: &name("event") }).unwrap();
    assert_eq!(rt.poll_at(), Some(0));
    // Manual clock: 0..=1000 ms in 10 ms steps; the sensor rises at 500.
    for ms in (0..=1000u64).step_by(10) {
        rt.device().set_ms(ms);
        if ms == 500 {
            rt.device().set_temp(2250);
        }
        // One fired trigger runs per poll: poll again while some wait.
        let mut next = rt.poll(ms).unwrap();
        for _ in 0..4 {
            if next > ms {
                break;
            }
            next = rt.poll(ms).unwrap();
        }
        assert!(next > ms, "poll at {ms} asks for {next}");
    }
    let counter = rt.app(&name("counter")).unwrap();
    assert_eq!(counter.stats().runs, 10);
    assert_eq!(counter.stats().last.as_ref().unwrap().cause, Cause::Trigger { index: 0 });
    assert_eq!(rt.kv_fetch(Some(&name("counter")), 1), Some(10));
    let event = rt.app(&name("event")).unwrap();
    assert_eq!(event.stats().runs, 1);
    let last = event.stats().last.as_ref().unwrap();
    assert_eq!(last.at_ms, 500);
    assert_eq!(last.result_text(), b"0x8ca"); // 2250
                                              // Deleting the app stops its triggers.
    let del = signed(command(Operation::Delete, "counter", 2, vec![]), &keypair());
    rt.apply(&del, Expect { operation: Operation::Delete, name: &name("counter") }).unwrap();
    assert_eq!(rt.poll(2000), Some(2050));
    assert_eq!(rt.app(&name("event")).unwrap().stats().runs, 1);
}

// ---- the CoAP API, through coap-lite messages ----

fn req(method: RequestType, path: &str, payload: &[u8]) -> Packet {
    request_packet(0, &[], method, path, &[], payload)
}

fn with_block1(mut p: Packet, b: Block) -> Packet {
    let (option, value) = block_option(CoapOption::Block1, b);
    p.add_option(option, value);
    p
}

/// Sends through the `coap_handler::Handler` interface, as a server does.
fn send<S: Storage>(rt: &mut Runtime<S, TestDevice>, p: &Packet) -> Packet {
    let data = rt.extract_request_data(p).unwrap();
    let mut out = Packet::new();
    rt.build_response(&mut out, data).unwrap();
    out
}

fn code_of(p: &Packet) -> u8 {
    u8::from(p.header.code)
}

fn text(p: &Packet) -> String {
    String::from_utf8(p.payload.clone()).unwrap()
}

fn opt(p: &Packet, o: CoapOption) -> Option<Vec<u8>> {
    p.get_option(o).and_then(|l| l.front().cloned())
}

#[test]
fn coap_upload_block_wise_and_run() {
    let mut rt = runtime();
    let env = signed(install_of("coap", 1, container(COAP_ASM, &[]), true), &keypair());
    let chunks: Vec<&[u8]> = env.chunks(32).collect();
    for (i, c) in chunks.iter().enumerate() {
        let more = i + 1 < chunks.len();
        let p = with_block1(req(RequestType::Put, "/apps/coap", c), Block { num: i as u32, more, szx: 1 });
        let r = send(&mut rt, &p);
        let (v, n) = Block { num: i as u32, more, szx: 1 }.encode();
        assert_eq!(opt(&r, CoapOption::Block1), Some(v[..n].to_vec()));
        if more {
            assert_eq!(code_of(&r), code::CONTINUE);
        } else {
            assert_eq!(code_of(&r), code::CREATED, "{}", text(&r));
            assert_eq!(text(&r), "installed coap version 1\n");
        }
    }
    let r = send(&mut rt, &req(RequestType::Post, "/apps/coap/run", b""));
    assert_eq!(code_of(&r), code::CONTENT);
    assert_eq!(text(&r), "hi");
    assert_eq!(opt(&r, CoapOption::ContentFormat), Some(vec![50]));
    let r = send(&mut rt, &req(RequestType::Get, "/apps/coap/result", b""));
    assert_eq!(text(&r), "hi");
}

#[test]
fn coap_resources() {
    let mut rt = with_simple(runtime());
    let r = send(&mut rt, &req(RequestType::Post, "/apps/simple/run/answer", b"12345"));
    assert_eq!((code_of(&r), text(&r)), (code::CONTENT, "0x5\n".into()));
    assert_eq!(opt(&r, CoapOption::ContentFormat), Some(vec![]));
    let r = send(&mut rt, &req(RequestType::Get, "/apps", b""));
    let size = simple_container().len();
    assert_eq!(text(&r), alloc::format!(r#"[{{"name":"simple","version":1,"size":{size},"runs":1}}]"#));
    let r = send(&mut rt, &req(RequestType::Get, "/apps/simple", b""));
    let t = text(&r);
    assert!(t.contains(r#""entries":["answer","twice"]"#), "{t}");
    assert!(t.contains(r#""last_run":{"at_ms":0,"cause":"coap","r0":"0x5","executed":2,"result":"0x5"}"#), "{t}");
    let r = send(&mut rt, &req(RequestType::Get, "/sensors", b""));
    assert_eq!(
        text(&r),
        r#"[{"index":0,"name":"temp","class":130,"kind":"sensor","value":[2150],"scale":-2,"unit":2,"text":"21.50"},{"index":1,"name":"led","class":65,"kind":"actuator"}]"#
    );
    let r = send(&mut rt, &req(RequestType::Get, "/.well-known/core", b""));
    assert_eq!(opt(&r, CoapOption::ContentFormat), Some(vec![40]));
    assert!(text(&r).starts_with(r#"</apps>;ct=50;rt="alkyl.apps",</sensors>;ct=50"#), "{}", text(&r));
    assert!(text(&r).contains(r#"</apps/simple/result>;ct=0;obs"#));
    // The `Reporting` records (what a server's own /.well-known/core
    // lists) are the same resources, attribute for attribute.
    let mut links = Vec::new();
    for record in coap_handler::Reporting::report(&rt) {
        use coap_handler::Record as _;
        let mut l: String = record.path().map(|s| alloc::format!("/{s}")).collect();
        l = alloc::format!("<{l}>");
        for a in record.attributes() {
            l.push_str(&match a {
                coap_handler::Attribute::Observable => ";obs".into(),
                coap_handler::Attribute::ResourceType(r) => alloc::format!(";rt=\"{r}\""),
                coap_handler::Attribute::Ct(c) => alloc::format!(";ct={c}"),
                _ => panic!("an attribute the runtime does not use"),
            });
        }
        links.push(l);
    }
    assert_eq!(links.join(","), text(&r));

    for (m, path, c) in [
        (RequestType::Get, "/nothing", code::NOT_FOUND),
        (RequestType::Get, "/apps/zz", code::NOT_FOUND),
        (RequestType::Get, "/apps/BAD", code::BAD_REQUEST),
        (RequestType::Post, "/apps/simple/run/nope", code::NOT_FOUND),
        (RequestType::Post, "/apps/simple/run/9bad", code::NOT_FOUND),
        (RequestType::Post, "/apps", code::METHOD_NOT_ALLOWED),
        (RequestType::Get, "/apps/simple/run", code::METHOD_NOT_ALLOWED),
        (RequestType::Delete, "/sensors", code::METHOD_NOT_ALLOWED),
        (RequestType::Put, "/apps/simple", code::BAD_REQUEST),
    ] {
        let r = send(&mut rt, &req(m, path, b""));
        assert_eq!(code_of(&r), c, "{path}: {}", text(&r));
    }
    let r = send(&mut rt, &req(RequestType::Get, "/apps/zz", b""));
    assert_eq!(text(&r), "no such app (sequence 0)\n");
    // Accept for another format.
    let mut p = req(RequestType::Get, "/apps", b"");
    p.add_option(CoapOption::Accept, vec![60]);
    assert_eq!(code_of(&send(&mut rt, &p)), code::NOT_ACCEPTABLE);
}

#[test]
fn coap_block2_listing() {
    let config = Config { max_response_payload: 64, ..Config::DEFAULT };
    let mut rt = with_simple(runtime_with(config));
    let whole = {
        let mut rt2 = runtime();
        install(&mut rt2, "simple", 1, simple_container()).unwrap();
        text(&send(&mut rt2, &req(RequestType::Get, "/apps/simple", b"")))
    };
    let mut got = String::new();
    // Every block carries the representation's ETag (4 bytes), the same
    // while the representation does not change.
    let mut etag = None;
    for num in 0.. {
        let mut p = req(RequestType::Get, "/apps/simple", b"");
        let (v, n) = Block { num, more: false, szx: 2 }.encode();
        p.add_option(CoapOption::Block2, v[..n].to_vec());
        let r = send(&mut rt, &p);
        assert_eq!(code_of(&r), code::CONTENT);
        let tag = opt(&r, CoapOption::ETag);
        assert!(tag.as_ref().is_some_and(|t| t.len() == 4), "{tag:?}");
        assert_eq!(*etag.get_or_insert(tag.clone()), tag);
        got.push_str(&text(&r));
        let b = Block::decode(&opt(&r, CoapOption::Block2).unwrap()).unwrap();
        if !b.more {
            break;
        }
    }
    assert_eq!(got, whole);
}

#[test]
fn coap_hostile_uploads() {
    let mut rt = runtime();
    install(&mut rt, "app", 1, simple_container()).unwrap();
    let before = records(&mut rt);
    let env = signed(install_of("app", 2, container(COUNTER_ASM, &[]), false), &keypair());
    // Block 0 must hold the envelope header, naming a trusted key.
    let short = with_block1(req(RequestType::Put, "/apps/app", &env[..16]), Block { num: 0, more: true, szx: 0 });
    assert_eq!(code_of(&send(&mut rt, &short)), code::BAD_REQUEST);
    let mut stranger = env.clone();
    stranger[24..32].copy_from_slice(&[9; 8]);
    let b0 = with_block1(req(RequestType::Put, "/apps/app", &stranger[..32]), Block { num: 0, more: true, szx: 1 });
    let r = send(&mut rt, &b0);
    assert_eq!(
        (code_of(&r), text(&r)),
        (code::UNAUTHORIZED, "upload signed by unknown key 0909090909090909: no slot granted\n".into())
    );
    assert_eq!(rt.uploads_in_progress(), 0);
    // Out of order: block 1 skipped.
    let b0 = with_block1(req(RequestType::Put, "/apps/app", &env[..32]), Block { num: 0, more: true, szx: 1 });
    assert_eq!(code_of(&send(&mut rt, &b0)), code::CONTINUE);
    let b2 = with_block1(req(RequestType::Put, "/apps/app", &env[64..96]), Block { num: 2, more: true, szx: 1 });
    assert_eq!(code_of(&send(&mut rt, &b2)), code::REQUEST_ENTITY_INCOMPLETE);
    // Truncated: the last block never comes; it expires.
    assert_eq!(code_of(&send(&mut rt, &b0)), code::CONTINUE);
    assert_eq!(rt.uploads_in_progress(), 1);
    // Another peer's block 1 finds no transfer of its own.
    rt.set_peer(77);
    let b1 = with_block1(req(RequestType::Put, "/apps/app", &env[32..64]), Block { num: 1, more: true, szx: 1 });
    assert_eq!(code_of(&send(&mut rt, &b1)), code::REQUEST_ENTITY_INCOMPLETE);
    assert_eq!(rt.uploads_in_progress(), 1);
    rt.set_peer(0);
    rt.device().set_ms(Config::DEFAULT.upload_timeout_ms);
    rt.poll(Config::DEFAULT.upload_timeout_ms);
    assert_eq!(rt.uploads_in_progress(), 0);
    assert_eq!(code_of(&send(&mut rt, &b1)), code::REQUEST_ENTITY_INCOMPLETE);
    // Oversize announced by Size1.
    let mut big = with_block1(req(RequestType::Put, "/apps/app", &env[..32]), Block { num: 0, more: true, szx: 1 });
    big.add_option(CoapOption::Size1, vec![0x01, 0x00, 0x00]);
    let r = send(&mut rt, &big);
    assert_eq!(code_of(&r), code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(opt(&r, CoapOption::Size1), Some(vec![0x40, 0x00]));
    // A whole envelope that is garbage.
    assert_eq!(code_of(&send(&mut rt, &req(RequestType::Put, "/apps/app", b"garbage"))), code::BAD_REQUEST);
    assert_eq!(records(&mut rt), before);
    let r = send(&mut rt, &req(RequestType::Post, "/apps/app/run", b""));
    assert_eq!(text(&r), "0x2a\n");
    // Delete through CoAP, with the signed command as payload.
    let del = signed(command(Operation::Delete, "app", 2, vec![]), &keypair());
    let r = send(&mut rt, &req(RequestType::Delete, "/apps/app", &del));
    assert_eq!((code_of(&r), text(&r)), (code::DELETED, "deleted app\n".into()));
    let r = send(&mut rt, &req(RequestType::Get, "/apps/app", b""));
    assert_eq!(text(&r), "no such app (sequence 2)\n");
}

#[test]
fn coap_runs_take_one_message() {
    let mut rt = with_simple(runtime());
    let p =
        with_block1(req(RequestType::Post, "/apps/simple/run/answer", &[0; 16]), Block { num: 0, more: true, szx: 0 });
    assert_eq!(code_of(&send(&mut rt, &p)), code::REQUEST_ENTITY_TOO_LARGE);
    assert_eq!(rt.app(&name("simple")).unwrap().stats().runs, 0);
    let p =
        with_block1(req(RequestType::Post, "/apps/simple/run/answer", &[0; 5]), Block { num: 0, more: false, szx: 0 });
    assert_eq!(text(&send(&mut rt, &p)), "0x5\n");
}

#[test]
fn coap_refuses_changes_without_keys() {
    let mut rt = Runtime::new(Config::DEFAULT, Authority::read_only(), RamStorage::new(), TestDevice::new()).unwrap().0;
    let env = signed(install_envelope("a", 1), &keypair());
    let b0 = with_block1(req(RequestType::Put, "/apps/a", &env[..16]), Block { num: 0, more: true, szx: 0 });
    let r = send(&mut rt, &b0);
    assert_eq!((code_of(&r), text(&r)), (code::METHOD_NOT_ALLOWED, "no trusted key: changes are disabled\n".into()));
    assert_eq!(rt.uploads_in_progress(), 0);
}

#[test]
fn coap_runs_report_traps() {
    let config = Config { budget: 1000, ..Config::DEFAULT };
    let mut rt = runtime_with(config);
    install(&mut rt, "loop", 1, container(LOOP_ASM, &[])).unwrap();
    let r = send(&mut rt, &req(RequestType::Post, "/apps/loop/run", b""));
    assert_eq!(code_of(&r), code::INTERNAL_SERVER_ERROR);
    // The reference interpreter traps at the instruction it cannot pay
    // for; the fast engine at the first slot of the run it cannot pay for
    // (docs/isa.md, budget).
    let pc = if cfg!(feature = "fast") { 1 } else { 2 };
    assert_eq!(text(&r), alloc::format!("trap at instruction {pc}: instruction budget exhausted\n"));
    let r = send(&mut rt, &req(RequestType::Get, "/apps/loop/result", b""));
    assert_eq!(text(&r), alloc::format!("error: trap at instruction {pc}: instruction budget exhausted\n"));
}

#[test]
fn shared_handler_behind_a_lock() {
    use crate::coap::Shared;
    use coap_handler::Reporting as _;
    let cell = core::cell::RefCell::new(with_simple(runtime()));
    let mut handler = Shared(&cell);
    let data = handler.extract_request_data(&req(RequestType::Post, "/apps/simple/run/answer", b"abc")).unwrap();
    // The lock is free again while the response is written, and for poll().
    cell.borrow_mut().poll(0);
    let mut out = Packet::new();
    handler.build_response(&mut out, data).unwrap();
    assert_eq!(text(&out), "0x3\n");
    // apps, sensors, invoke, time, auth, reports, and the app's three.
    assert_eq!(handler.report().count(), 9);
}

/// Assembles Alkyl IR text into a binary module.
fn ir_module(source: &str) -> Vec<u8> {
    alkyl_translator::ir::text::assemble(source).expect("IR assembles")
}

#[test]
fn alkyl_ir_uploads_are_translated_verified_and_run_on_the_device() {
    let kp = keypair();
    let mut rt = runtime();
    let fletcher = ir_module(include_str!("../../../apps/ir/fletcher32.air"));
    let mut repr = install_of("f32", 1, fletcher.clone(), true);
    repr.kind = PayloadKind::AlkylIr;
    let expect = Expect { operation: Operation::Install, name: &name("f32") };
    assert_eq!(rt.apply(&signed(repr, &kp), expect), Ok(Applied::Installed { version: 1, replaced: false }));

    // What is stored and run is the translated container, and the entry
    // point is the IR function's name; its argument is the first 8-byte slot.
    let app = rt.app(&name("f32")).unwrap();
    assert_eq!(app.meta().kind, PayloadKind::AlkylIr);
    assert!(app.container().starts_with(b"rBPF"));
    let data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
    let mut input = (data.len() as u64).to_le_bytes().to_vec();
    input.extend_from_slice(&data);
    let out = run(&mut rt, "f32", Some("fletcher32"), &input);
    assert_eq!(r0(&out), alkyl_testkit::oracle::fletcher32(&data) as u64);

    // The stored container survives a reboot (it is re-verified there).
    let (mut rt, boot) = reboot(rt);
    assert!(boot.problems.is_empty() && boot.apps == 1, "{boot:?}");
    let out = run(&mut rt, "f32", Some("fletcher32"), &input);
    assert_eq!(r0(&out), alkyl_testkit::oracle::fletcher32(&data) as u64);

    // An invalid module is refused with the function, position and rule,
    // and the installed version keeps running.
    let bad = ir_module(".public f w32\n    BITS32\n    ADD\n    RETURN\n");
    let mut repr = install_of("f32", 2, bad, false);
    repr.kind = PayloadKind::AlkylIr;
    let rejection = rt.apply(&signed(repr, &kp), expect).unwrap_err();
    assert_eq!(rejection.code(), code::UNPROCESSABLE_ENTITY);
    let text = alloc::format!("{rejection}");
    assert!(text.starts_with("Alkyl IR rejected: invalid module"), "{text}");
    assert_eq!(rt.app(&name("f32")).unwrap().meta().version, 1);
    assert_eq!(r0(&run(&mut rt, "f32", Some("fletcher32"), &input)), alkyl_testkit::oracle::fletcher32(&data) as u64);
}

#[test]
fn traps_of_alkyl_ir_apps_are_reported_in_ir_terms() {
    let kp = keypair();
    let mut rt = runtime();
    let module = ir_module(".public r w32\n    BITS32\n    PUSH 0xac7\n    REVERT\n");
    let mut repr = install_of("r", 1, module, false);
    repr.kind = PayloadKind::AlkylIr;
    let expect = Expect { operation: Operation::Install, name: &name("r") };
    rt.apply(&signed(repr, &kp), expect).unwrap();
    let out = run(&mut rt, "r", Some("r"), &[]);
    assert!(out.outcome.is_err());
    let text = String::from_utf8(out.result_text()).unwrap();
    assert!(text.starts_with("error: trap at instruction ") && text.ends_with("(Alkyl IR: REVERT 0xac7)"), "{text}");
}

// ---- trusted calls: open and protected entries, signed commands, the clock, reports ----

use alkyl_protocol::command::CommandRepr;

/// Reports its input (`bpf_report(r1, r2)`), returns the helper's result.
const REPORT_ASM: &str = "
    call 0x22
    exit
";

/// `bpf_unix_time(&s)`: returns the seconds, or the (negative) error.
const UNIX_TIME_ASM: &str = "
    mov %r1, %r10
    sub %r1, 8
    call 0x21
    jne %r0, 0, done
    ldxw %r0, [%r10-8]
done:
    exit
";

fn install_open(rt: &mut Rt, n: &str, version: u32, container: Vec<u8>, open: Option<&[&str]>) {
    let mut repr = install_of(n, version, container, true);
    repr.open = open.map(|o| o.iter().map(|s| String::from(*s)).collect());
    let bytes = signed(repr, &keypair());
    rt.apply(&bytes, Expect { operation: Operation::Install, name: &name(n) }).unwrap();
}

fn signed_command(c: CommandRepr, kp: &ed25519_compact::KeyPair) -> Vec<u8> {
    c.to_signed_bytes(&kp.pk, |m| *kp.sk.sign(m, None)).unwrap()
}

fn invoke_cmd(n: &str, entry: Option<&str>, sequence: u64) -> CommandRepr {
    CommandRepr::invoke(n, entry, Vec::new(), sequence)
}

#[test]
fn open_entries_run_for_anyone_protected_ones_need_a_signature() {
    let mut rt = runtime();
    install_open(&mut rt, "s", 1, simple_container(), Some(&["answer"]));
    let r = send(&mut rt, &req(RequestType::Post, "/apps/s/run/answer", b""));
    assert_eq!(code_of(&r), code::CONTENT);
    for path in ["/apps/s/run/twice", "/apps/s/run"] {
        let r = send(&mut rt, &req(RequestType::Post, path, b"ab"));
        assert_eq!(code_of(&r), code::UNAUTHORIZED, "{path}");
    }
    // Shown in GET /apps/NAME.
    let r = send(&mut rt, &req(RequestType::Get, "/apps/s", b""));
    assert!(text(&r).contains("\"open\":[\"answer\"]"), "{}", text(&r));
    // A replacement that declares nothing protects everything; the default
    // entry is declared by the empty name.
    install_open(&mut rt, "s", 2, simple_container(), None);
    let r = send(&mut rt, &req(RequestType::Post, "/apps/s/run/answer", b""));
    assert_eq!(code_of(&r), code::UNAUTHORIZED);
    install_open(&mut rt, "s", 3, simple_container(), Some(&[""]));
    let r = send(&mut rt, &req(RequestType::Post, "/apps/s/run", b"ab"));
    assert_eq!(code_of(&r), code::CONTENT);
    // The declaration survives a reboot.
    let (mut rt, _) = reboot(rt);
    let r = send(&mut rt, &req(RequestType::Post, "/apps/s/run/answer", b""));
    assert_eq!(code_of(&r), code::UNAUTHORIZED);
    // Triggers (local events) run protected entries.
    let r = send(&mut rt, &req(RequestType::Get, "/apps/s", b""));
    assert!(text(&r).contains("\"open\":[\"\"]"));
}

#[test]
fn signed_invocations_and_every_refusal() {
    let mut rt = runtime();
    let counter = container(COUNTER_ASM, &[]);
    install_open(&mut rt, "c", 1, counter, None);
    let kp = keypair();
    let post = |rt: &mut Rt, bytes: &[u8]| send(rt, &req(RequestType::Post, "/invoke", bytes));
    let r = post(&mut rt, &signed_command(invoke_cmd("c", None, 5), &kp));
    assert_eq!((code_of(&r), text(&r)), (code::CONTENT, "0x1\n".into()));
    let before = records(&mut rt);
    let kv = rt.kv_fetch(Some(&name("c")), 1);
    let check_unchanged = |rt: &mut Rt, what: &str| {
        assert_eq!(records(rt), before, "{what} changed the store");
        assert_eq!(rt.kv_fetch(Some(&name("c")), 1), kv, "{what} ran");
        assert_eq!(rt.app(&name("c")).unwrap().stats().runs, 1, "{what} ran");
    };
    // Replayed, out of order.
    let r = post(&mut rt, &signed_command(invoke_cmd("c", None, 5), &kp));
    assert_eq!(code_of(&r), code::CONFLICT);
    check_unchanged(&mut rt, "a replay");
    let r = post(&mut rt, &signed_command(invoke_cmd("c", None, 4), &kp));
    assert_eq!(code_of(&r), code::NOT_ACCEPTABLE);
    check_unchanged(&mut rt, "an out-of-order command");
    // Forged: a flipped bit anywhere, or another key.
    let good = signed_command(invoke_cmd("c", None, 6), &kp);
    for i in [0, 8, 30, good.len() - 65, good.len() - 1] {
        let mut b = good.clone();
        b[i] ^= 1;
        let r = post(&mut rt, &b);
        assert!(matches!(code_of(&r), code::FORBIDDEN | code::UNAUTHORIZED | code::BAD_REQUEST), "flip at {i}");
    }
    let mut b = good.clone();
    let n = b.len();
    b[n - 1] ^= 1;
    assert_eq!(code_of(&post(&mut rt, &b)), code::FORBIDDEN);
    let other = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32]));
    assert_eq!(code_of(&post(&mut rt, &signed_command(invoke_cmd("c", None, 6), &other))), code::UNAUTHORIZED);
    // Expired, or with an expiry while the clock is not set.
    let mut e = invoke_cmd("c", None, 6);
    e.expires = Some(1_800_000_000);
    assert_eq!(code_of(&post(&mut rt, &signed_command(e.clone(), &kp))), code::PRECONDITION_FAILED);
    // For another device.
    let mut d = invoke_cmd("c", None, 6);
    d.device_id = Some(KeyId([3; 8]));
    assert_eq!(code_of(&post(&mut rt, &signed_command(d, &kp))), code::BAD_REQUEST);
    // Unauthenticated: a plain run of the protected default entry.
    assert_eq!(code_of(&send(&mut rt, &req(RequestType::Post, "/apps/c/run", b""))), code::UNAUTHORIZED);
    // No such app or entry: 4.04, and the sequence stays.
    assert_eq!(code_of(&post(&mut rt, &signed_command(invoke_cmd("zz", None, 6), &kp))), code::NOT_FOUND);
    assert_eq!(code_of(&post(&mut rt, &signed_command(invoke_cmd("c", Some("nope"), 6), &kp))), code::NOT_FOUND);
    check_unchanged(&mut rt, "a refused command");

    // Set the clock (signed, with its own sequence), then the expiry holds.
    let now_s = 1_800_000_000u64;
    assert_eq!(code_of(&send(&mut rt, &req(RequestType::Get, "/time", b""))), code::NOT_FOUND);
    let t = signed_command(CommandRepr::set_time(now_s * 1000, 6), &kp);
    let r = send(&mut rt, &req(RequestType::Post, "/time", &t));
    assert_eq!(code_of(&r), code::CHANGED);
    assert_eq!(code_of(&send(&mut rt, &req(RequestType::Post, "/time", &t))), code::CONFLICT);
    rt.device().set_ms(2500);
    let r = send(&mut rt, &req(RequestType::Get, "/time", b""));
    assert_eq!(text(&r), alloc::format!("{}\n", now_s * 1000 + 2500));
    e.sequence = 7;
    // The clock reads now_s + 2.5 s: an expiry at now_s + 1 is past, one
    // at now_s + 2 is not (the envelope is valid up to its second).
    e.expires = Some(now_s + 1);
    assert_eq!(code_of(&post(&mut rt, &signed_command(e.clone(), &kp))), code::PRECONDITION_FAILED);
    e.expires = Some(now_s + 2);
    let r = post(&mut rt, &signed_command(e.clone(), &kp));
    assert_eq!((code_of(&r), text(&r)), (code::CONTENT, "0x2\n".into()));

    // A restart keeps the sequences: no replay window opens.
    let (mut rt, boot) = reboot(rt);
    assert!(boot.problems.is_empty(), "{:?}", boot.problems);
    assert_eq!(code_of(&post(&mut rt, &signed_command(invoke_cmd("c", None, 7), &kp))), code::CONFLICT);
    // The clock is not kept: the expiry cannot be checked.
    e.sequence = 8;
    assert_eq!(code_of(&post(&mut rt, &signed_command(e, &kp))), code::PRECONDITION_FAILED);
    let r = post(&mut rt, &signed_command(invoke_cmd("c", None, 8), &kp));
    assert_eq!(text(&r), "0x3\n");
    let r = send(&mut rt, &req(RequestType::Get, "/auth", b""));
    assert!(text(&r).contains(&alloc::format!("\"{}\":8", KeyId::of(&kp.pk))), "{}", text(&r));
}

#[test]
fn a_failed_sequence_save_runs_nothing() {
    let mut rt = runtime();
    install_open(&mut rt, "c", 1, container(COUNTER_ASM, &[]), None);
    let next = rt.storage().writes;
    rt.storage().fail_at = Some(next);
    let r = send(&mut rt, &req(RequestType::Post, "/invoke", &signed_command(invoke_cmd("c", None, 1), &keypair())));
    assert_eq!(code_of(&r), code::INTERNAL_SERVER_ERROR);
    assert_eq!(rt.app(&name("c")).unwrap().stats().runs, 0);
    rt.storage().fail_at = None;
    let r = send(&mut rt, &req(RequestType::Post, "/invoke", &signed_command(invoke_cmd("c", None, 1), &keypair())));
    assert_eq!(text(&r), "0x1\n");
}

#[test]
fn unix_time_helper_and_reports() {
    let mut rt = runtime();
    rt.set_device_key([5; 32]);
    install_open(&mut rt, "t", 1, container(UNIX_TIME_ASM, &[]), Some(&["*"]));
    install_open(&mut rt, "r", 1, container(REPORT_ASM, &[]), Some(&["*"]));
    // Not set: ALKYL_ENODATA, not 1970.
    assert_eq!(r0(&run(&mut rt, "t", None, b"")) as i64, alkyl_bindings::generated::ALKYL_ENODATA as i64);
    let t = signed_command(CommandRepr::set_time(1_700_000_000_500, 1), &keypair());
    rt.set_time(&t, 0).unwrap();
    rt.device().set_ms(1000);
    assert_eq!(r0(&run(&mut rt, "t", None, b"")), 1_700_000_001);

    // Reports: queued, signed by the device key, bounded.
    assert_eq!(r0(&run(&mut rt, "r", None, b"3 invalid attempts")), 0);
    assert_eq!(r0(&run(&mut rt, "r", None, &[0; 65])) as i64, alkyl_bindings::generated::ALKYL_EINVAL as i64);
    assert_eq!(r0(&run(&mut rt, "r", None, b"second")), 0);
    let (seq, bytes) = rt.report_due(1000).unwrap();
    assert_eq!(seq, 1);
    let report = alkyl_protocol::report::Report::new_checked(&bytes).unwrap();
    assert_eq!((report.app(), report.payload()), (&b"r"[..], &b"3 invalid attempts"[..]));
    assert_eq!(report.unix_ms(), Some(1_700_000_001_500));
    assert_eq!(Some(report.device_id()), rt.device_id());
    let pk = ed25519_compact::PublicKey::new(rt.device_public_key().unwrap());
    pk.verify(report.signed_bytes(), &ed25519_compact::Signature::new(report.signature())).unwrap();
    // A failure backs off; a delivery moves on.
    rt.report_failed(1000);
    assert!(rt.report_due(1500).is_none());
    assert_eq!(rt.reports().next_attempt(), Some(2000));
    rt.report_delivered(1);
    assert_eq!(rt.report_due(1500).map(|r| r.0), Some(2));
    let r = send(&mut rt, &req(RequestType::Get, "/reports", b""));
    assert!(text(&r).contains("\"delivered\":1"), "{}", text(&r));
    assert!(text(&r).contains("\"text\":\"second\""), "{}", text(&r));
    // Pending reports and their sequence survive a restart.
    let (mut rt, _) = reboot(rt);
    rt.set_device_key([5; 32]);
    assert_eq!(rt.report_due(0).map(|r| r.0), Some(2));
    assert_eq!(r0(&run(&mut rt, "r", None, b"x")), 0);
    assert_eq!(rt.reports().pending().map(|r| r.sequence).collect::<Vec<_>>(), [2, 3]);
    // A full queue refuses (ALKYL_ENOSPC) and keeps what it has.
    for _ in 2..Config::DEFAULT.max_reports {
        assert_eq!(r0(&run(&mut rt, "r", None, b"x")), 0);
    }
    assert_eq!(r0(&run(&mut rt, "r", None, b"x")) as i64, alkyl_bindings::generated::ALKYL_ENOSPC as i64);
}

// ---- issue 15: time, fairness, durability, sequence numbers ----

/// Waits in `ztimer_periodic_wakeup` (10 ms a call, the cap) for ever.
const SLEEPER_ASM: &str = include_str!("../../../apps/asm/sleeper.s");

#[test]
fn waiting_counts_against_the_wall_time_limit() {
    let mut rt = runtime();
    install(&mut rt, "sleeper", 1, container(SLEEPER_ASM, &[])).unwrap();
    rt.device().set_ms(1000);
    let r = run(&mut rt, "sleeper", None, b"");
    let trap = r.outcome.unwrap_err();
    assert_eq!(trap.kind, alkyl_vm::TrapKind::TimeLimit);
    // It stopped at its limit (50 ms), not after its budget of sleeps.
    let waited = rt.device().now_ms() - 1000;
    assert!((Config::DEFAULT.max_run_ms..Config::DEFAULT.max_run_ms + 11).contains(&waited), "{waited} ms");
    assert_eq!(alloc::format!("{}", trap.kind), "wall-time limit exceeded");
}

#[test]
fn trigger_runs_are_one_per_poll_and_throttled_beyond_their_share() {
    let mut rt = runtime();
    let mut env = install_of("sleeper", 1, container(SLEEPER_ASM, &[]), true);
    env.triggers = (0..4)
        .map(|_| TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 10, value: 0, entry: None })
        .collect();
    rt.apply(&signed(env, &keypair()), Expect { operation: Operation::Install, name: &name("sleeper") }).unwrap();
    rt.poll(0);
    // Every poll runs at most one trigger (50 ms each); the app's share is
    // 100 ms a second: two runs, then its firings are dropped until 1 s.
    let mut t = 10;
    while t < 1000 {
        rt.device().set_ms(t);
        let before = rt.app(&name("sleeper")).unwrap().stats().runs;
        rt.poll(t);
        assert!(rt.app(&name("sleeper")).unwrap().stats().runs <= before + 1);
        t = rt.device().now_ms().max(t + 10);
    }
    assert_eq!(rt.app(&name("sleeper")).unwrap().stats().runs, 2);
    assert!(rt.throttled(&name("sleeper")) > 0);
    assert!(rt.device().log.iter().any(|(a, l)| a == "sleeper" && l.starts_with(b"trigger runs throttled")));
    // A delete gets through and forgets its state.
    let del = signed(command(Operation::Delete, "sleeper", 2, vec![]), &keypair());
    rt.apply(&del, Expect { operation: Operation::Delete, name: &name("sleeper") }).unwrap();
    assert_eq!(rt.throttled(&name("sleeper")), 0);
    assert_eq!(rt.poll(t), None);
}

#[test]
fn kv_writes_that_cannot_be_saved_are_undone_and_the_run_fails() {
    let mut rt = runtime();
    install(&mut rt, "counter", 1, container(COUNTER_ASM, &[])).unwrap();
    assert_eq!(r0(&run(&mut rt, "counter", None, b"")), 1);
    let writes = rt.storage().writes;
    rt.storage().fail_at = Some(writes);
    let now = rt.device().now_ms();
    let r = rt.invoke(&name("counter"), None, b"", Cause::Coap, false, now);
    assert_eq!(r, Err(Rejection::Storage(StorageError::Io)));
    assert_eq!(Rejection::Storage(StorageError::Io).code(), code::INTERNAL_SERVER_ERROR);
    assert_eq!(rt.kv_fetch(Some(&name("counter")), 1), Some(1));
    assert_eq!(rt.app(&name("counter")).unwrap().stats().runs, 1);
    // Acknowledged values survive a reboot; the refused one never counted.
    assert_eq!(r0(&run(&mut rt, "counter", None, b"")), 2);
    let (mut rt, _) = reboot(rt);
    assert_eq!(r0(&run(&mut rt, "counter", None, b"")), 3);
    // A run that changes nothing writes nothing.
    install(&mut rt, "simple", 1, simple_container()).unwrap();
    let writes = rt.storage().writes;
    run(&mut rt, "simple", None, b"");
    assert_eq!(rt.storage().writes, writes);
}

#[test]
fn the_last_sequence_number_is_for_deletes() {
    let mut rt = runtime();
    assert_eq!(install(&mut rt, "app", u32::MAX, simple_container()), Err(Rejection::LastSequence));
    install(&mut rt, "app", u32::MAX - 1, simple_container()).unwrap();
    let set = signed(command(Operation::SetTriggers, "app", u32::MAX, vec![]), &keypair());
    let r = rt.apply(&set, Expect { operation: Operation::SetTriggers, name: &name("app") });
    assert_eq!(r, Err(Rejection::LastSequence));
    assert_eq!(Rejection::LastSequence.code(), code::BAD_REQUEST);
    let del = signed(command(Operation::Delete, "app", u32::MAX, vec![]), &keypair());
    assert_eq!(rt.apply(&del, Expect { operation: Operation::Delete, name: &name("app") }), Ok(Applied::Deleted));
}

#[test]
fn posting_to_a_missing_app_says_so_whatever_the_entry() {
    let mut rt = runtime();
    for path in ["/apps/nope/run", "/apps/nope/run/.odd", "/apps/nope/run/ok"] {
        let r = send(&mut rt, &req(RequestType::Post, path, b""));
        assert_eq!((code_of(&r), text(&r)), (code::NOT_FOUND, "no such app (sequence 0)\n".into()), "{path}");
    }
}

#[test]
fn alkyl_ir_translation_stops_at_the_app_quota() {
    // 5,000 `ARG 0 / SDIV` pairs: each checks for a zero divisor and for
    // MIN / -1, a dozen eBPF instructions from three bytes of IR.
    let mut source = String::from(".memory 0\n.public big w32 w32\n    BITS32\n    PUSH 1\n");
    for _ in 0..5000 {
        source.push_str("    ARG 0\n    SDIV\n");
    }
    source.push_str("    RETURN\n");
    let module = ir_module(&source);
    let whole = alkyl_translator::ir::compile(&module).unwrap();
    assert!(whole.len() > 8 * module.len(), "{} -> {} bytes", module.len(), whole.len());
    extern crate std;
    std::eprintln!("IR module of {} bytes -> container of {} bytes", module.len(), whole.len());
    let mut repr = install_of("big", 1, module.clone(), true);
    repr.kind = PayloadKind::AlkylIr;
    let mut rt = runtime();
    let r = rt.apply(&signed(repr, &keypair()), Expect { operation: Operation::Install, name: &name("big") });
    let Err(rejection) = r else { panic!("installed") };
    assert_eq!(rejection.code(), code::REQUEST_ENTITY_TOO_LARGE);
    let text = alloc::format!("{rejection}");
    assert!(text.ends_with("the translation exceeds 16384 bytes of code (the limit it was given)"), "{text}");
    assert!(rt.app(&name("big")).is_none());
}

/// Every JSON document of the API, byte for byte (the formats of
/// docs/coap-api.md, as the tools and the gateway parse them).
#[test]
fn json_documents_byte_for_byte() {
    let config = Config { budget: 10_000, ..Config::DEFAULT };
    let mut rt = runtime_with(config);
    rt.set_device_key([5; 32]);
    let mut env = install_of("event", 3, container(EVENT_ASM, &[("on_event", 0)]), true);
    env.triggers = vec![
        TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 100, value: 0, entry: None },
        TriggerRepr {
            kind: TriggerKind::Rising,
            sensor: 1,
            period_ms: 50,
            value: -2200,
            entry: Some("on_event".into()),
        },
    ];
    env.open = Some(vec!["on_event".into(), "".into()]);
    rt.apply(&signed(env, &keypair()), Expect { operation: Operation::Install, name: &name("event") }).unwrap();
    // A helper's refusal traps at the same instruction on both engines.
    install_open(&mut rt, "bad", 1, container(BAD_POINTER_ASM, &[]), Some(&["*"]));
    install_open(&mut rt, "r", 1, container(REPORT_ASM, &[]), Some(&["*"]));
    rt.device().set_ms(1234);
    run(&mut rt, "event", None, b"");
    run(&mut rt, "bad", None, b"");
    run(&mut rt, "r", None, b"a \"quoted\"\\ line\n\t\x01");
    run(&mut rt, "r", None, &[0xff, 0]);
    let t = signed_command(CommandRepr::set_time(1_700_000_000_500, 4), &keypair());
    rt.set_time(&t, 0).unwrap();
    let mut docs = String::new();
    for path in ["/apps", "/apps/event", "/apps/bad", "/apps/r", "/auth", "/reports", "/sensors"] {
        let r = send(&mut rt, &req(RequestType::Get, path, b""));
        docs.push_str(&text(&r));
        docs.push('\n');
    }
    // GET /apps/event is cut at the first block: the whole document.
    let full = crate::coap::json::app_detail(rt.app(&name("event")).unwrap());
    docs.push_str(core::str::from_utf8(&full).unwrap());
    docs.push('\n');
    let expected = [
        r#"[{"name":"bad","version":1,"size":60,"runs":1},{"name":"event","version":3,"size":59,"runs":1},{"name":"r","version":1,"size":44,"runs":2}]"#,
        r#"{"name":"event","version":3,"sequence":3,"kind":"ebpf","size":59,"data_size":0,"stack_size":512,"sha256":"ec9c21f3fb85562c4725e2f5904c52fdbcbe9e4ed2b62d4b888fba0c1134ab14","entries":["on_event"],"open":["on_event",""],"triggers":[{"kind":"timer","period_ms":100,"entry":null,"spec":"timer:100"},{"kind":"rising","sensor":1,"period_ms":50,"value":-2200,"entry":"on_event","spec":"rising:1:-2200:50@on_event"}],"runs":1,"traps":1,"last_run":{"at_ms":1234,"cause":"coap","result":"error: trap at instruction 0: memo"#,
        r#"{"name":"bad","version":1,"sequence":1,"kind":"ebpf","size":60,"data_size":0,"stack_size":512,"sha256":"a75cdc227dd878e00c2f898f3b93ac56bb4fb0514a6171232657ecafcc50a36a","entries":[],"open":["*"],"triggers":[],"runs":1,"traps":1,"last_run":{"at_ms":1234,"cause":"coap","result":"error: trap at instruction 2: helper 0x13: bad pointer argument: write of 4 bytes at 0x1234: no region mapped","error":"trap at instruction 2: helper 0x13: bad pointer argument: write of 4 bytes at 0x1234: no region mapped"},"last_er"#,
        r#"{"name":"r","version":1,"sequence":1,"kind":"ebpf","size":44,"data_size":0,"stack_size":512,"sha256":"16558a4620005215fa133ba3564fa9c3d5be7e4729819adec6d0000318e5f0eb","entries":[],"open":["*"],"triggers":[],"runs":2,"traps":0,"last_run":{"at_ms":1234,"cause":"coap","r0":"0x0","executed":2,"result":"0x0"},"last_error":null}"#,
        r#"{"device_id":"7599776c3085e3f9","device_key":"6e7a1cdd29b0b78fd13af4c5598feff4ef2a97166e3ca6f2e4fbfccd80505bf1","trusted":["fe812c12f3ab4ce6"],"sequences":{"fe812c12f3ab4ce6":4},"unix_ms":1700000001734}"#,
        r#"{"pending":[{"sequence":1,"app":"r","unix_ms":null,"payload":"61202271756f746564225c206c696e650a0901","text":"a \"quoted\"\\ line\n\t\u0001"},{"sequence":2,"app":"r","unix_ms":null,"payload":"ff00"}],"delivered":0,"recent":[],"next_attempt_ms":0}"#,
        r#"[{"index":0,"name":"temp","class":130,"kind":"sensor","value":[2150],"scale":-2,"unit":2,"text":"21.50"},{"index":1,"name":"led","class":65,"kind":"actuator"}]"#,
        r#"{"name":"event","version":3,"sequence":3,"kind":"ebpf","size":59,"data_size":0,"stack_size":512,"sha256":"ec9c21f3fb85562c4725e2f5904c52fdbcbe9e4ed2b62d4b888fba0c1134ab14","entries":["on_event"],"open":["on_event",""],"triggers":[{"kind":"timer","period_ms":100,"entry":null,"spec":"timer:100"},{"kind":"rising","sensor":1,"period_ms":50,"value":-2200,"entry":"on_event","spec":"rising:1:-2200:50@on_event"}],"runs":1,"traps":1,"last_run":{"at_ms":1234,"cause":"coap","result":"error: trap at instruction 0: memory fault: read of 2 bytes at 0x200000014: out of region bounds","error":"trap at instruction 0: memory fault: read of 2 bytes at 0x200000014: out of region bounds"},"last_error":{"at_ms":1234,"error":"trap at instruction 0: memory fault: read of 2 bytes at 0x200000014: out of region bounds"}}"#,
    ];
    for (got, want) in docs.lines().zip(expected) {
        assert_eq!(got, want);
    }
    assert_eq!(docs.lines().count(), expected.len());
}

/// An Aryl gateway script, translated as the gateway translates it (its
/// gateway syscalls are helpers 0x100..), is refused as a container (the
/// device's helper table lacks them: the verifier refuses) and as Alkyl IR
/// (a device does not compile gateway modules); nothing is stored.
#[cfg(feature = "ir")]
#[test]
fn a_gateway_script_is_refused() {
    use alkyl_translator::ir::{text, translate, validate, Module};
    let ir = text::assemble(".gateway\n.public Count\n    BITS32\n    SYSCALL gw_device_count\n    RETURN\n").unwrap();
    let translated = translate(&validate(Module::parse(&ir).unwrap()).unwrap()).unwrap();
    assert_eq!(translated.helpers, [0x102]);
    let codes = |r: Rejection| (r.code(), alloc::format!("{r}"));
    let mut rt = runtime();
    let c = codes(install(&mut rt, "gw", 1, translated.package().unwrap()).unwrap_err());
    assert_eq!(c.0, code::UNPROCESSABLE_ENTITY);
    assert!(c.1.starts_with("verification failed: instruction "), "{}", c.1);
    assert!(c.1.contains("helper"), "{}", c.1);
    let mut as_ir = install_of("gw", 1, ir, false);
    as_ir.kind = PayloadKind::AlkylIr;
    let c = codes(
        rt.apply(&signed(as_ir, &keypair()), Expect { operation: Operation::Install, name: &name("gw") }).unwrap_err(),
    );
    assert_eq!(c.0, code::UNPROCESSABLE_ENTITY);
    assert!(c.1.contains("gateway module"), "{}", c.1);
    assert!(rt.app(&name("gw")).is_none());
}
