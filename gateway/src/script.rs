//! The contract's Aryl script, run on the Alkyl VM: the gateway module is
//! translated into an eBPF container (`alkyl_translator`), verified with
//! the helpers the gateway provides and run on the fast engine — the same
//! translator, verifier and engine the devices use. Its gateway syscalls
//! are eBPF helpers `0x100..0x107` (`GATEWAY_HELPERS`), arguments in
//! `r1..r5` and the result in `r0`, each in its width, as the translator
//! lowers every syscall; [`Host`] implements them over one handler run's
//! state (the event's byte strings, its AAD, the block's timestamp, the
//! pending call slots, the calls and transactions asked). A script may also
//! call the device syscalls, which run on a simulated platform, as they did
//! on the reference interpreter.
//!
//! The reference interpreter of Alkyl IR (`Instance::call`) runs
//! the same module with the same [`Host`] ([`run_reference`]): the tests
//! compare the two.

use alkyl_bindings::{AlkylHelpers, SimPlatform, ALL_HELPERS};
use alkyl_translator::ir::exec::{run_entry, Ended};
use alkyl_translator::ir::syscall::{fnv1a32, gateway_by_id, GatewaySyscall, GATEWAY_HELPERS};
use alkyl_translator::ir::{call_input, compile_validated_script, validate, IrTrap, Module};
use alkyl_vm::fast::{FastScript, Op};
use alkyl_vm::{HelperError, HelperSet, Helpers, MemoryMap};
use serde_json::json;

use crate::requests::ViewFn;
use crate::{log, pin, Result};

/// eBPF instructions one handler may execute (the property script's
/// handlers need well under a thousand).
pub const BUDGET: u64 = 10_000_000;

/// IR instructions the reference interpreter may execute per handler.
#[cfg(test)]
pub const ORACLE_FUEL: u64 = 1_000_000;

/// The helpers the gateway provides a script: the gateway syscalls and the
/// device syscalls.
struct Provided;

impl HelperSet for Provided {
    fn contains(&self, id: u32) -> bool {
        GATEWAY_HELPERS[..].contains(&id) || ALL_HELPERS[..].contains(&id)
    }
}

/// The script, translated, verified and ready for the fast engine.
pub struct Script {
    fast: FastScript<Vec<u8>, Box<[Op]>>,
}

impl Script {
    /// Parses, validates, translates and verifies the gateway module `bytes`.
    ///
    /// # Errors
    /// The stage that refused it.
    pub fn compile(bytes: &[u8]) -> Result<Script> {
        let module = Module::parse(bytes)?;
        if module.profile != alkyl_translator::ir::Profile::Gateway {
            return Err("the script is not a gateway module".into());
        }
        let valid = validate(module)?;
        let script = compile_validated_script(&valid, &Provided)?;
        let fast = FastScript::translate_boxed(script).map_err(|e| format!("the fast engine: {e}"))?;
        Ok(Script { fast })
    }

    /// Whether the script handles event `name`.
    pub fn has(&self, name: &str) -> bool {
        self.fast.script().entry(name.as_bytes()).is_some()
    }

    /// Runs handler `name` with the call slots `args`, the syscalls answered
    /// by `host`: `Ok(None)` when the script has no such handler, else the
    /// handler's result (`.data` starts fresh for every run).
    ///
    /// # Errors
    /// The script trapped (the host's reason first).
    pub fn run(&self, name: &str, args: &[u64], host: &mut Host<'_>) -> Result<Option<(u64, u64)>> {
        let script = self.fast.script();
        let Some(entry) = script.entry(name.as_bytes()) else { return Ok(None) };
        let mut data = vec![0; script.data_size()];
        script.init_data(&mut data);
        let input = call_input(args, &[]);
        let run = run_entry(&self.fast, script, entry, &mut data, &input, host, BUDGET)?;
        match run.ended {
            Ended::Returned(v) => Ok(Some((v, run.executed))),
            Ended::Trapped(t) => {
                Err(host.failure.take().unwrap_or_else(|| format!("the script trapped: {t:?}")).into())
            }
            Ended::Unexplained(t) => {
                Err(host.failure.take().unwrap_or_else(|| format!("the script trapped: {t}")).into())
            }
        }
    }
}

/// The reference interpreter's run of handler `name` of the gateway module
/// `bytes` (the oracle of [`Script::run`]): the same result and the same
/// syscalls, or the same failure.
#[cfg(test)]
pub fn run_reference(bytes: &[u8], name: &str, args: &[u64], host: &mut Host<'_>) -> Result<Option<u64>> {
    let valid = validate(Module::parse(bytes)?)?;
    let Some((index, _)) = valid.module.function(name) else { return Ok(None) };
    let mut inst = alkyl_translator::ir::Instance::new(&valid, 0);
    let mut platform = std::mem::take(&mut host.platform);
    let input = call_input(args, &[]);
    let r = inst.call(&valid, index, &input, &mut platform, ORACLE_FUEL, &mut |sc, a| host.syscall(sc, a));
    host.platform = platform;
    match r {
        Ok(c) => Ok(Some(c.value)),
        Err(t) => Err(host.failure.take().unwrap_or_else(|| format!("the script trapped: {t:?}")).into()),
    }
}

/// A device call a handler asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub device: usize,
    pub entry: String,
    pub args: Vec<u64>,
}

/// One handler run's gateway: what its syscalls read, and what they asked.
pub struct Host<'g> {
    /// The gateway's HPKE secret key.
    pub hpke: &'g [u8; 32],
    /// The event's AAD (`pin::aad`).
    pub aad: Vec<u8>,
    /// The event's byte strings (a string argument is an index here).
    pub blobs: Vec<Vec<u8>>,
    /// The event's block's timestamp.
    pub timestamp: u64,
    /// The configured devices' names, as `for each` numbers them.
    pub devices: Vec<String>,
    /// The device code's public functions.
    pub entries: &'g [String],
    /// The contract's functions a script may send a transaction to.
    pub transactable: &'g [ViewFn],
    /// Device calls asked, in order.
    pub calls: Vec<Call>,
    /// (function, call data) of each `contract.F(args)`.
    pub txs: Vec<(String, Vec<u8>)>,
    /// Every gateway syscall: id, arguments, result (a refusal: none).
    pub trace: Vec<(u32, Vec<u64>, Option<u64>)>,
    /// Why a syscall refused (the run's error).
    pub failure: Option<String>,
    pending: Vec<u64>,
    secrets: Vec<u64>,
    /// The device syscalls' platform.
    platform: SimPlatform,
}

impl<'g> Host<'g> {
    pub fn new(hpke: &'g [u8; 32], transactable: &'g [ViewFn]) -> Host<'g> {
        Host {
            hpke,
            aad: Vec::new(),
            blobs: Vec::new(),
            timestamp: 0,
            devices: Vec::new(),
            entries: &[],
            transactable,
            calls: Vec::new(),
            txs: Vec::new(),
            trace: Vec::new(),
            failure: None,
            pending: Vec::new(),
            secrets: Vec::new(),
            platform: SimPlatform::default(),
        }
    }

    /// Gateway syscall `sc` with arguments `a` (first first): its result, or
    /// a trap (the reason in `failure` where there is one).
    pub fn syscall(&mut self, sc: &GatewaySyscall, a: &[u64]) -> std::result::Result<u64, IrTrap> {
        let r = self.answer(sc, a);
        self.trace.push((sc.id, a.to_vec(), r.ok()));
        r
    }

    fn refuse(&mut self, sc: &GatewaySyscall, why: impl Into<String>) -> std::result::Result<u64, IrTrap> {
        self.failure = Some(why.into());
        Err(IrTrap::Syscall { id: sc.id })
    }

    fn answer(&mut self, sc: &GatewaySyscall, a: &[u64]) -> std::result::Result<u64, IrTrap> {
        match sc.name {
            "gw_decrypt" => {
                let blob = self.blobs.get(a[0] as usize).ok_or(IrTrap::Syscall { id: sc.id })?;
                match pin::open(self.hpke, &self.aad, blob) {
                    Ok(p) if p.len() <= 8 => {
                        let mut v = [0u8; 8];
                        v[..p.len()].copy_from_slice(&p);
                        let v = u64::from_le_bytes(v);
                        self.secrets.push(v);
                        Ok(v)
                    }
                    Ok(_) => self.refuse(sc, "the PIN is longer than 8 bytes"),
                    Err(e) => self.refuse(sc, e.to_string()),
                }
            }
            "gw_block_timestamp" => Ok(self.timestamp),
            "gw_device" => match self.devices.iter().position(|n| fnv1a32(n.as_bytes()) == a[0] as u32) {
                Some(i) => Ok(i as u64),
                None => self.refuse(sc, "devices.NAME: no device of that name in the configuration"),
            },
            "gw_device_count" => Ok(self.devices.len() as u64),
            "gw_arg" => {
                self.pending.push(a[0]);
                Ok(0)
            }
            "gw_call" => {
                let entry = self
                    .entries
                    .iter()
                    .find(|e| fnv1a32(e.as_bytes()) == a[1] as u32)
                    .ok_or(IrTrap::Syscall { id: sc.id })?;
                let call =
                    Call { device: a[0] as usize, entry: entry.clone(), args: std::mem::take(&mut self.pending) };
                self.calls.push(call);
                Ok(0)
            }
            "gw_transact" => {
                let args = std::mem::take(&mut self.pending);
                let Some(f) = self.transactable.iter().find(|f| fnv1a32(f.name.as_bytes()) == a[0] as u32) else {
                    return self.refuse(sc, "contract.F(): no such function (not view, word arguments) in the ABI");
                };
                match f.call_data(&args) {
                    Ok(data) => {
                        self.txs.push((f.name.clone(), data));
                        Ok(0)
                    }
                    Err(e) => self.refuse(sc, e.to_string()),
                }
            }
            "gw_log" => {
                // A decrypted value is never logged.
                if self.secrets.contains(&a[0]) {
                    log::emit("script", json!({"value": "<secret>"}), "script: <secret>");
                } else {
                    log::emit("script", json!({"value": a[0]}), &format!("script: {}", a[0]));
                }
                Ok(0)
            }
            _ => Err(IrTrap::Syscall { id: sc.id }),
        }
    }
}

impl HelperSet for Host<'_> {
    fn contains(&self, id: u32) -> bool {
        Provided.contains(id)
    }
}

/// The gateway helpers: helper `id` is gateway syscall `id`, its arguments
/// `r1..` (as many as it takes); a refusal ends the run (the VM's helper
/// trap, `IrTrap::Syscall { id }` in IR terms). The device helpers run on
/// the simulated platform.
impl Helpers for Host<'_> {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut MemoryMap<'_>) -> std::result::Result<u64, HelperError> {
        match gateway_by_id(id as u64) {
            Some(sc) => self.syscall(sc, &a[..sc.args.len()]).map_err(|_| HelperError::Aborted),
            None => AlkylHelpers::new(&mut self.platform, 0).call(id, a, mem),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alkyl_translator::ir::Module;

    fn lang(name: &str, src: &str) -> Vec<u8> {
        let c = alkyl_lang::compile_file(name, src).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.gateway);
        c.module
    }

    fn property() -> Vec<u8> {
        let src = include_str!("../../apps/aryl/property.aryl.alkyl");
        lang("property.aryl.alkyl", src)
    }

    fn lock_entries() -> &'static [String] {
        static ENTRIES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        let entries = ENTRIES.get_or_init(|| {
            let air = include_str!("../../apps/aryl/lock.air");
            let bytes = alkyl_translator::ir::text::assemble(air).unwrap();
            Module::parse(&bytes).unwrap().functions.iter().map(|f| f.name.to_string()).collect()
        });
        entries
    }

    fn transactable() -> Vec<ViewFn> {
        let abi = json!([
            {"type": "function", "name": "lockoutApplied", "stateMutability": "nonpayable",
             "inputs": [{"name": "until", "type": "uint32"}], "outputs": []}
        ]);
        crate::requests::transactable(&abi).unwrap()
    }

    /// Secret and public HPKE key, transactable functions, script, sealed PIN.
    type Fixture = ([u8; 32], [u8; 32], Vec<ViewFn>, Vec<u8>, Vec<u8>);

    /// The gateway's HPKE key pair, the ABI's functions a script may
    /// transact with, the property script, and the PIN "1234" sealed with `aad`.
    fn fixture(aad: &[u8]) -> Fixture {
        let (secret, public) = pin::keygen();
        let sealed = pin::seal(&public, aad, b"1234").unwrap();
        (secret, public, transactable(), property(), sealed)
    }

    /// One event's inputs: the host's and the call's.
    struct Case {
        devices: Vec<String>,
        blobs: Vec<Vec<u8>>,
        aad: Vec<u8>,
        timestamp: u64,
        args: Vec<u64>,
    }

    type Outcome = (
        std::result::Result<Option<u64>, String>,
        Vec<Call>,
        Vec<(String, Vec<u8>)>,
        Vec<(u32, Vec<u64>, Option<u64>)>,
    );

    fn host<'g>(hpke: &'g [u8; 32], tx: &'g [ViewFn], c: &Case) -> Host<'g> {
        let mut h = Host::new(hpke, tx);
        h.devices = c.devices.clone();
        h.blobs = c.blobs.clone();
        h.aad = c.aad.clone();
        h.timestamp = c.timestamp;
        h.entries = lock_entries();
        h
    }

    /// Runs `name` on both the VM and the reference interpreter: they must
    /// agree on the result (or failure), the calls, the transactions and
    /// every syscall with its arguments and result.
    fn both(bytes: &[u8], name: &str, hpke: &[u8; 32], tx: &[ViewFn], c: &Case) -> Outcome {
        let script = Script::compile(bytes).unwrap();
        let mut vm = host(hpke, tx, c);
        let r = script.run(name, &c.args, &mut vm).map(|o| o.map(|(v, _)| v)).map_err(|e| e.to_string());
        let mut oracle = host(hpke, tx, c);
        let o = run_reference(bytes, name, &c.args, &mut oracle).map_err(|e| e.to_string());
        let vm_out = (r, vm.calls, vm.txs, vm.trace);
        let oracle_out = (o, oracle.calls, oracle.txs, oracle.trace);
        assert_eq!(vm_out, oracle_out, "{name} {:?}: VM vs interpreter", c.args);
        vm_out
    }

    fn devices(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("lock{i}")).collect()
    }

    #[test]
    fn the_property_script_on_the_vm_as_on_the_interpreter() {
        let aad = b"chain, contract, tenant, mins".to_vec();
        let (secret, _, tx, bytes, sealed) = fixture(&aad);
        let pin_word = u64::from_le_bytes(*b"1234\0\0\0\0");
        let pay = |n: usize, mins: u64, ts: u64| Case {
            devices: devices(n),
            blobs: vec![sealed.clone()],
            aad: aad.clone(),
            timestamp: ts,
            args: vec![0, mins],
        };
        // The story's payment: every lock gets the PIN until the minutes end.
        let (r, calls, txs, trace) = both(&bytes, "PaymentEvent", &secret, &tx, &pay(2, 10, 1_700_000_000));
        assert_eq!(r, Ok(Some(0)));
        assert!(txs.is_empty());
        let expires = 1_700_000_000 + 600;
        assert_eq!(
            calls,
            (0..2)
                .map(|d| Call { device: d, entry: "SetPin".into(), args: vec![pin_word, expires] })
                .collect::<Vec<_>>()
        );
        assert_eq!(trace[0], (0x100, vec![0], Some(pin_word)), "Decrypt first");
        // Edges: no device, many, minutes and timestamps at the ends of
        // their widths (the 32-bit arithmetic wraps alike), generated ones.
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(13);
        let mut next = move || rand::Rng::random::<u64>(&mut rng);
        let mut cases =
            vec![pay(0, 10, 5), pay(17, 1, 0), pay(1, u32::MAX as u64, u32::MAX as u64), pay(3, 0x0444_4445, 1 << 40)];
        for _ in 0..16 {
            let (n, mins, ts) = (next() % 6, next() & 0xffff_ffff, next() >> (next() % 64));
            cases.push(pay(n as usize, mins, ts));
        }
        for c in &cases {
            let (r, calls, ..) = both(&bytes, "PaymentEvent", &secret, &tx, c);
            assert_eq!(r, Ok(Some(0)));
            assert_eq!(calls.len(), c.devices.len());
        }
        // The lock-out: every lock, then the contract's transaction.
        let lockout = Case { devices: devices(2), blobs: vec![], aad: vec![], timestamp: 9, args: vec![1_800_000_000] };
        let (r, calls, txs, _) = both(&bytes, "LockOutEvent", &secret, &tx, &lockout);
        assert_eq!(r, Ok(Some(0)));
        assert_eq!(calls.len(), 2);
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].0, "lockoutApplied");
        // No handler: neither runs anything.
        let (r, ..) = both(&bytes, "InvalidAttempt", &secret, &tx, &lockout);
        assert_eq!(r, Ok(None));
    }

    #[test]
    fn refusals_end_the_run_alike() {
        let (secret, public, tx, bytes, sealed) = fixture(b"the aad");
        let case = |blobs: Vec<Vec<u8>>, aad: &[u8], args: Vec<u64>| Case {
            devices: devices(2),
            blobs,
            aad: aad.to_vec(),
            timestamp: 7,
            args,
        };
        // A wrong AAD: Decrypt refuses, nothing is asked.
        let (r, calls, ..) =
            both(&bytes, "PaymentEvent", &secret, &tx, &case(vec![sealed.clone()], b"other", vec![0, 1]));
        assert!(r.is_err(), "{r:?}");
        assert!(calls.is_empty());
        // A PIN longer than 8 bytes.
        let long = pin::seal(&public, b"the aad", b"123456789").unwrap();
        let (r, ..) = both(&bytes, "PaymentEvent", &secret, &tx, &case(vec![long], b"the aad", vec![0, 1]));
        assert_eq!(r, Err("the PIN is longer than 8 bytes".into()));
        // A string handle that names no string.
        let (r, ..) = both(&bytes, "PaymentEvent", &secret, &tx, &case(vec![sealed], b"the aad", vec![5, 1]));
        assert_eq!(r, Err("the script trapped: Syscall { id: 256 }".into()));
        // contract.F() that the ABI lacks: the device calls were asked first.
        let (r, calls, txs, _) = both(&bytes, "LockOutEvent", &secret, &[], &case(vec![], b"", vec![3]));
        assert!(r.unwrap_err().starts_with("contract.F(): no such function"));
        assert_eq!((calls.len(), txs.len()), (2, 0));
        // devices.NAME of a device the configuration lacks.
        let named = lang(
            "named.aryl.alkyl",
            "public void SetPin(char* pin, time_t expires);\n\
             On PaymentEvent(string encryptPin, uint32_t mins) {\n\
                 devices.lock2.SetPin(Decrypt(encryptPin), block.timestamp + (mins * 60));\n\
             }\n",
        );
        let sealed = pin::seal(&public, b"the aad", b"42").unwrap();
        let mut c = case(vec![sealed], b"the aad", vec![0, 2]);
        let (r, calls, ..) = both(&named, "PaymentEvent", &secret, &tx, &c);
        assert_eq!(r, Ok(Some(0)));
        assert_eq!(calls.iter().map(|c| c.device).collect::<Vec<_>>(), [1]);
        c.devices = vec!["lock1".into()];
        let (r, ..) = both(&named, "PaymentEvent", &secret, &tx, &c);
        assert_eq!(r, Err("devices.NAME: no device of that name in the configuration".into()));
    }

    /// 64-bit values live across the helper calls (more than the
    /// registers hold: spilled to the eBPF stack), whole 64-bit arguments
    /// and results, 32-bit results combined and widened, a 64-bit result
    /// truncated: written in IR text, run on both.
    #[test]
    fn widths_and_spills_across_gateway_helpers() {
        let (secret, public) = pin::keygen();
        let tx = transactable();
        let set_pin = alkyl_translator::ir::syscall::fnv1a32(b"SetPin");
        let lives: String = (1..=9u64).map(|i| format!("    PUSH {:#x}\n", i * 0x1111_1111_1111_1111)).collect();
        let adds = "    ADD\n".repeat(9);
        let text = format!(
            ".gateway\n.memory 0\n\n.public Stress w64 w32\n    BITS64\n{lives}\
             ARG 0\n    SYSCALL gw_decrypt\n    DUP1\n    SYSCALL gw_log\n    SYSCALL gw_arg\n\
             PUSH 0xfedcba9876543210\n    SYSCALL gw_arg\n    BITS32\n    ARG 1\n    PUSH {set_pin:#x}\n    SYSCALL gw_call\n    BITS64\n\
             PUSH 0x8000000000000001\n    SYSCALL gw_log\n{adds}\
             BITS32\n    SYSCALL gw_block_timestamp\n    SYSCALL gw_device_count\n    ADD\n\
             BITS64\n    ZEXT\n    ADD\n    BITS32\n    TRUNC\n    BITS64\n    ZEXT\n    RETURN\n"
        );
        let bytes = alkyl_translator::ir::text::assemble(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let sealed = pin::seal(&public, b"aad", b"87654321").unwrap();
        for (ts, device) in [(0u64, 0u64), (u32::MAX as u64, 1), (1_700_000_000, 0xffff_ffff)] {
            let c = Case {
                devices: devices(2),
                blobs: vec![sealed.clone()],
                aad: b"aad".to_vec(),
                timestamp: ts,
                args: vec![0, device],
            };
            let (r, calls, _, trace) = both(&bytes, "Stress", &secret, &tx, &c);
            let lives: u64 = (1..=9u64).map(|i| i * 0x1111_1111_1111_1111).fold(0, u64::wrapping_add);
            let expected = (lives as u32).wrapping_add(ts as u32).wrapping_add(2);
            assert_eq!(r, Ok(Some(expected as u64)), "{ts} {device}");
            let secret_word = u64::from_le_bytes(*b"87654321");
            assert_eq!(
                calls,
                [Call {
                    device: device as usize,
                    entry: "SetPin".into(),
                    args: vec![secret_word, 0xfedc_ba98_7654_3210]
                }]
            );
            assert_eq!(trace.len(), 8);
        }
    }

    /// Per-handler time of the property script, before (parse, validate,
    /// reference interpreter: what the gateway did per event) and now (the
    /// VM's fast engine, compiled once): `cargo test --release script::tests::timing
    /// -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing() {
        let (secret, _, tx, bytes, sealed) = fixture(b"aad");
        let pay =
            Case { devices: devices(2), blobs: vec![sealed], aad: b"aad".to_vec(), timestamp: 1, args: vec![0, 10] };
        let lockout = Case { devices: devices(2), blobs: vec![], aad: vec![], timestamp: 9, args: vec![7] };
        let n = 2000;
        let t = std::time::Instant::now();
        let script = Script::compile(&bytes).unwrap();
        println!("compile (parse, validate, translate, verify, fast): {:?}", t.elapsed());
        for (name, c) in [("PaymentEvent", &pay), ("LockOutEvent", &lockout)] {
            let t = std::time::Instant::now();
            for _ in 0..n {
                run_reference(&bytes, name, &c.args, &mut host(&secret, &tx, c)).unwrap();
            }
            let interp = t.elapsed() / n;
            let t = std::time::Instant::now();
            let mut executed = 0;
            for _ in 0..n {
                executed = script.run(name, &c.args, &mut host(&secret, &tx, c)).unwrap().unwrap().1;
            }
            let vm = t.elapsed() / n;
            println!(
                "{name}: interpreter (with parse + validate) {interp:?}, VM {vm:?} ({executed} eBPF instructions)"
            );
        }
    }

    #[test]
    fn a_device_refuses_the_translated_script() {
        // The gateway's translation loads with the gateway's helpers only:
        // a device verifies with its own table, which lacks 0x100.. .
        let bytes = property();
        let valid = validate(Module::parse(&bytes).unwrap()).unwrap();
        let container = alkyl_translator::ir::compile_validated(&valid, &Provided).unwrap();
        let device = alkyl_vm::container::Script::load(&container[..], &ALL_HELPERS);
        assert!(
            matches!(device, Err(alkyl_vm::container::LoadError::Verify(ref e)) if e.to_string().contains("helper")),
            "{device:?}"
        );
        // The device's own compile path refuses the module before translating.
        assert!(matches!(
            alkyl_translator::ir::compile(&bytes),
            Err(alkyl_translator::ir::CompileError::Translate(e))
                if e.kind == alkyl_translator::ir::TranslateErrorKind::GatewayModule
        ));
    }
}
