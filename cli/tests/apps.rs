//! The example apps (apps/c/*.c) through the whole toolchain: clang's BPF
//! backend → `pack` → container checks and verification → a run on the VM
//! with the real helpers over the simulated platform, checking real results.
//! The flags come from apps/bpf.flags, which `make apps` uses too.
//!
//! The Alkyl IR apps (apps/ir/*.air) go through the same harness once
//! compiled (`ir::compile`, the device's upload path): their containers
//! load and run exactly as the packed C apps do.

use std::path::Path;
use std::process::Command;

use alkyl_bindings::{AlkylHelpers, CoapSession, Phydat, SimPlatform, ALL_HELPERS, COAP_CTX_VADDR, COAP_PKT_VADDR};
use alkyl_pack::measure;
use alkyl_pack::{pack, PackOptions};
use alkyl_testkit::clang::{compile_bpf, repo};
use alkyl_testkit::oracle;
use alkyl_translator::ir::call_input;
use alkyl_vm::container::Script;
use alkyl_vm::container::{Container, ContainerRepr};
use alkyl_vm::{run, AccessPolicy, Exit, MemoryMap, Trap, INPUT_VADDR, STACK_VADDR};

/// Compiles apps/c/NAME.c with the flags of apps/bpf.flags.
fn compile(name: &str) -> Vec<u8> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.o"));
    compile_bpf(Path::new(&format!("apps/c/{name}.c")), &out, &[]).unwrap_or_else(|e| panic!("{e}"));
    std::fs::read(out).unwrap()
}

/// Compiles and packs an app; checks the container parses back identically.
fn container(name: &str) -> Vec<u8> {
    let packed = pack(&compile(name), &PackOptions::default()).unwrap();
    let bytes = packed.to_bytes().unwrap();
    assert_eq!(ContainerRepr::parse(&Container::new_checked(&bytes[..]).unwrap()), packed.container());
    bytes
}

/// What a script reads in r1.
enum Input<'a> {
    /// r1 = address of `{u64 data address, u32 words}` over these bytes.
    Words(&'a [u8]),
    /// r1/r2 = an empty request payload, r3 = a CoAP context.
    Coap,
    /// r1/r2 = these bytes (the run convention of every script).
    Bytes(Vec<u8>),
    None,
}

struct Outcome {
    exit: Result<Exit, Trap>,
    /// (response code, the whole response message).
    coap: Option<(u8, Vec<u8>)>,
}

/// Runs `entry` of a loaded script the way a device does; `data` is the
/// host-owned .data copy (kept by the caller across runs).
fn run_entry<B: alkyl_vm::storage::Stable<u8>>(
    script: &Script<B>,
    entry: &str,
    data: &mut [u8],
    p: &mut SimPlatform,
    app: u32,
    input: Input,
) -> Outcome {
    let entry = script.entry(entry.as_bytes()).expect("entry point");
    let mut stack = vec![0u8; script.stack_size()];
    let mut input_bytes = Vec::new();
    let mut ctx = Vec::new();
    let mut packet = [0u8; 128];
    packet[..6].copy_from_slice(&[0x42, 0x01, 0x12, 0x34, 0xab, 0xcd]); // CON GET, mid 0x1234, token ab cd
    let session = CoapSession::new(7, COAP_PKT_VADDR, packet.len());
    let args = match input {
        Input::Words(bytes) => {
            input_bytes.extend_from_slice(bytes);
            ctx.extend_from_slice(&INPUT_VADDR.to_le_bytes());
            ctx.extend_from_slice(&((bytes.len() / 2) as u32).to_le_bytes());
            ctx.extend_from_slice(&[0; 4]);
            vec![COAP_CTX_VADDR, 16]
        }
        Input::Coap => {
            ctx.extend_from_slice(&session.context_bytes());
            vec![INPUT_VADDR, 0, COAP_CTX_VADDR]
        }
        Input::Bytes(bytes) => {
            input_bytes = bytes;
            vec![INPUT_VADDR, input_bytes.len() as u64]
        }
        Input::None => vec![],
    };
    let mut helpers = AlkylHelpers::new(p, app).with_coap(session);
    let exit = {
        let mut mem = MemoryMap::new();
        mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
        mem.map(INPUT_VADDR, &mut input_bytes, AccessPolicy::ReadOnly).unwrap();
        script.map(&mut mem, data).unwrap();
        if !ctx.is_empty() {
            mem.map_read_only(COAP_CTX_VADDR, &ctx).unwrap();
        }
        mem.map(COAP_PKT_VADDR, &mut packet, AccessPolicy::ReadWrite).unwrap();
        run(&script.program(), entry, &args, &mut mem, &mut script.restrict(&mut helpers), 100_000)
    };
    let coap = helpers.coap().and_then(CoapSession::response).map(|r| {
        let len = exit.as_ref().map_or(0, |e| e.r0 as usize).min(packet.len());
        (r.code, packet[..len].to_vec())
    });
    Outcome { exit, coap }
}

/// RIOT's Fletcher-32 (sys/checksum), natively: the oracle.
fn fletcher32(data: &[u8]) -> u32 {
    let words: Vec<u32> = data.chunks_exact(2).map(|w| u16::from_le_bytes([w[0], w[1]]) as u32).collect();
    let (mut s1, mut s2) = (0xffffu32, 0xffffu32);
    for block in words.chunks(359) {
        for w in block {
            s1 += w;
            s2 += s1;
        }
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    s1 = (s1 & 0xffff) + (s1 >> 16);
    s2 = (s2 & 0xffff) + (s2 >> 16);
    (s2 << 16) | s1
}

fn fletcher_over(input: &[u8]) -> u32 {
    let bytes = container("fletcher32");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    let mut data = vec![0; script.data_size()];
    let mut p = SimPlatform::new();
    let out = run_entry(&script, "fletcher32", &mut data, &mut p, 0, Input::Words(input));
    out.exit.unwrap().r0 as u32
}

#[test]
fn fletcher32_matches_the_native_oracle_on_the_projects_input() {
    let input = std::fs::read(repo().join("apps/data/sample-361.bin")).unwrap();
    assert_eq!(fletcher_over(&input), fletcher32(&input));
    // Edge inputs: empty, one word, more than one 359-word block, all ones.
    for input in [vec![], vec![1, 2], (0..2000u32).map(|i| (i * 7) as u8).collect(), vec![0xff; 1000]] {
        assert_eq!(fletcher_over(&input), fletcher32(&input), "input of {} bytes", input.len());
    }
}

#[test]
fn fletcher32_matches_the_paper_when_its_input_is_present() {
    let Some(path) = oracle::paper_input("the C Fletcher-32 on the paper's input") else { return };
    let input = std::fs::read(path).unwrap();
    assert_eq!(fletcher_over(&input), oracle::PAPER_FLETCHER32);
    assert_eq!(fletcher32(&input), oracle::PAPER_FLETCHER32);
}

#[test]
fn fletcher32_container_is_small() {
    let bytes = container("fletcher32");
    let text = Script::load(&bytes, &ALL_HELPERS).unwrap().program().code().len();
    let sizes = measure(&bytes, text).unwrap();
    // The goal of issue 3 (rBPF paper: 456 B raw).
    assert!(sizes.compressed <= 200, "{sizes:?}");
    let back = alkyl_protocol::compress::inflate(
        &alkyl_protocol::compress::compress(&bytes).unwrap(),
        bytes.len() as u32,
        4096,
    );
    assert_eq!(back.unwrap(), bytes);
}

/// A CoAP message: type, code, message id, token, options, payload.
type CoapMessage = (u8, u8, u16, Vec<u8>, Vec<(u16, Vec<u8>)>, Vec<u8>);

/// A minimal CoAP (RFC 7252) message parser, independent of the builder.
fn parse_coap(msg: &[u8]) -> CoapMessage {
    let (ver, typ, tkl) = (msg[0] >> 6, (msg[0] >> 4) & 3, (msg[0] & 0xf) as usize);
    assert_eq!(ver, 1);
    let code = msg[1];
    let mid = u16::from_be_bytes([msg[2], msg[3]]);
    let token = msg[4..4 + tkl].to_vec();
    let mut i = 4 + tkl;
    let mut options = Vec::new();
    let mut number = 0u16;
    while i < msg.len() && msg[i] != 0xff {
        let (d, l) = ((msg[i] >> 4) as u16, (msg[i] & 0xf) as usize);
        i += 1;
        assert!(d < 13 && l < 13, "extended option encodings are not expected here");
        number += d;
        options.push((number, msg[i..i + l].to_vec()));
        i += l;
    }
    let payload = if i < msg.len() { msg[i + 1..].to_vec() } else { Vec::new() };
    (typ, code, mid, token, options, payload)
}

#[test]
fn coap_sensor_answers_with_the_first_sensor_value() {
    let bytes = container("coap_sensor");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    let mut p = SimPlatform::new();
    let temp = |v| Phydat { val: [v, 0, 0], unit: 2, scale: -2 };
    p.add_sensor(0x82, 1, &[temp(2150), temp(-5)]).unwrap();
    let mut data = vec![0; script.data_size()];

    for expected in ["21.50", "-0.05", "-0.05"] {
        let out = run_entry(&script, "coap_resp", &mut data, &mut p, 0, Input::Coap);
        let exit = out.exit.unwrap();
        let (code, msg) = out.coap.expect("a response");
        assert_eq!(code, 0x45);
        assert_eq!(exit.r0 as usize, msg.len());
        let (typ, code, mid, token, options, payload) = parse_coap(&msg);
        assert_eq!((typ, code, mid), (2, 0x45, 0x1234), "ACK 2.05 with the request's message id");
        assert_eq!(token, [0xab, 0xcd]);
        assert_eq!(options, [(12, vec![])], "Content-Format: text/plain");
        assert_eq!(String::from_utf8(payload).unwrap(), expected);
    }
}

#[test]
fn coap_sensor_without_a_sensor_returns_an_error_code() {
    let bytes = container("coap_sensor");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    let mut data = vec![0; script.data_size()];
    let out = run_entry(&script, "coap_resp", &mut data, &mut SimPlatform::new(), 0, Input::Coap);
    assert_eq!(out.exit.unwrap().r0, 0xa0, "5.00 Internal Server Error");
    assert!(out.coap.is_none(), "no response was built");
}

#[test]
fn counter_increments_across_runs_and_apps() {
    let bytes = container("counter");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    assert_eq!(
        script.declared_helpers().unwrap().iter().collect::<Vec<_>>(),
        [0x10, 0x11, 0x12, 0x13, 0x14],
        "the packer declares exactly the helpers the code calls"
    );
    let mut p = SimPlatform::new();
    let mut data = vec![0; script.data_size()];
    let mut inc =
        |p: &mut SimPlatform, app| run_entry(&script, "increment", &mut data, p, app, Input::None).exit.unwrap().r0;
    assert_eq!([inc(&mut p, 1), inc(&mut p, 1), inc(&mut p, 1)], [1, 2, 3]);
    assert_eq!(inc(&mut p, 2), 1, "another app has its own local counter");
    // The global counter counted all four runs.
    assert_eq!(alkyl_bindings::Platform::kv_fetch(&mut p, alkyl_bindings::KvScope::Global, 1), Some(4));
    let mut data2 = vec![0; script.data_size()];
    let reset = run_entry(&script, "reset", &mut data2, &mut p, 1, Input::None).exit.unwrap().r0;
    assert_eq!(reset, 0);
    let again = run_entry(&script, "reset", &mut data2, &mut p, 1, Input::None).exit.unwrap().r0;
    assert_eq!(again as i64, -2, "ALKYL_ENOENT: nothing left to delete");
    let mut data3 = vec![0; script.data_size()];
    assert_eq!(run_entry(&script, "increment", &mut data3, &mut p, 1, Input::None).exit.unwrap().r0, 1);
}

#[test]
fn counter_reports_a_full_store_as_a_value_not_a_trap() {
    let bytes = container("counter");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    let mut p = SimPlatform::new();
    p.set_kv_limit(0);
    let mut data = vec![0; script.data_size()];
    let out = run_entry(&script, "increment", &mut data, &mut p, 1, Input::None);
    assert_eq!(out.exit.unwrap().r0, 0);
}

#[test]
fn hello_prints_rodata_strings_and_keeps_data_across_runs() {
    let bytes = container("hello");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    assert!(script.container().bss_len() >= 4, ".bss is declared, not stored");
    let mut p = SimPlatform::new();
    p.add_sensor(0x82, 1, &[Phydat::default()]).unwrap();
    p.add_sensor(0x84, 1, &[Phydat::default()]).unwrap();
    // The host keeps one .data copy for the app: state persists across runs.
    let mut data = vec![0; script.data_size()];
    script.init_data(&mut data);
    for run in 1..=2 {
        p.clear_log();
        let out = run_entry(&script, "hello", &mut data, &mut p, 0, Input::None);
        assert_eq!(out.exit.unwrap().r0, run);
        let log = String::from_utf8(p.log_bytes().to_vec()).unwrap();
        assert_eq!(
            log,
            format!(
                "hello from alkyl, run {run} ({})\ntemperature  present\nhumidity     absent\nlight        present\n",
                100 + run
            )
        );
    }
    p.clear_log();
    run_entry(&script, "goodbye", &mut data, &mut p, 0, Input::None).exit.unwrap();
    assert_eq!(p.log_bytes(), b"goodbye after 2 runs\n");
}

#[test]
fn every_app_declares_only_helpers_the_host_implements() {
    for app in ["fletcher32", "coap_sensor", "counter", "hello"] {
        let bytes = container(app);
        let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
        for id in script.declared_helpers().unwrap().iter() {
            assert!(ALL_HELPERS.contains(&id), "{app} declares {id:#x}");
        }
        // A host that implements nothing rejects every app that calls a helper.
        let calls_helpers = !script.declared_helpers().unwrap().is_empty();
        assert_eq!(Script::load(&bytes, &alkyl_vm::NoHelpers).is_err(), calls_helpers, "{app}");
    }
}

#[test]
fn compat_output_is_a_plain_femto_container() {
    let packed =
        pack(&compile("fletcher32"), &PackOptions { version: 3, compat: true, ..PackOptions::default() }).unwrap();
    let bytes = packed.to_bytes().unwrap();
    assert_eq!(&bytes[..4], b"rBPF");
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 3, "version");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 0, "no flags");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    assert!(script.declared_helpers().is_none());
    let input = std::fs::read(repo().join("apps/data/sample-361.bin")).unwrap();
    let mut data = vec![0; script.data_size()];
    let out = run_entry(&script, "fletcher32", &mut data, &mut SimPlatform::new(), 0, Input::Words(&input));
    assert_eq!(out.exit.unwrap().r0 as u32, fletcher32(&input));
}

/// The `alkyl` binary on the apps, as a user runs it.
fn alkyl(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_alkyl")).current_dir(repo()).args(args).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn object_file(name: &str) -> String {
    compile(name);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.o")).to_string_lossy().into_owned()
}

#[test]
fn cli_packs_verifies_and_runs_objects_and_containers() {
    let o = object_file("fletcher32");
    let rbf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-fletcher32.rbf").to_string_lossy().into_owned();
    let (ok, out, err) = alkyl(&["pack", &o, "-o", &rbf, "--stats", "--app-version", "4"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("text 328 B, container ") && out.contains("heatshrink(8,4)"), "{out}");
    assert!(err.contains("entry points: fletcher32"), "{err}");
    let sample = repo().join("apps/data/sample-361.bin");
    let expected = format!("{:#x}\n", fletcher32(&std::fs::read(&sample).unwrap()));
    for file in [&o, &rbf] {
        assert_eq!(alkyl(&["verify", file, "--entry", "fletcher32"]).1, "ok\n");
        let (ok, out, err) = alkyl(&["run", file, "--context", "words", "--mem-file", "apps/data/sample-361.bin"]);
        assert!(ok, "{err}");
        assert_eq!(out, expected);
    }
    let (ok, _, err) = alkyl(&["verify", &rbf, "--entry", "nope"]);
    assert!(!ok && err.contains("no entry point `nope`"), "{err}");
    let (ok, _, err) = alkyl(&["run", &rbf, "--entry", "main"]);
    assert!(!ok && err.contains("the container has: fletcher32"), "{err}");
}

#[test]
fn cli_runs_helpers_on_the_simulated_platform() {
    let hello = object_file("hello");
    let (ok, out, err) = alkyl(&["run", &hello, "--entry", "hello"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "hello from alkyl, run 1 (101)\ntemperature  present\nhumidity     present\nlight        absent\n0x1\n"
    );
    let coap = object_file("coap_sensor");
    let (ok, out, err) = alkyl(&["run", &coap, "--context", "coap"]);
    assert!(ok, "{err}");
    assert_eq!(out, "coap 2.05 payload \"21.50\"\n0xd\n");
    // Without a CoAP exchange the script passes a bad pointer to a helper: a trap.
    let (ok, _, err) = alkyl(&["run", &coap]);
    assert!(!ok && err.contains("helper 0x50: bad pointer argument"), "{err}");
}

#[test]
fn cli_pack_names_what_it_cannot_handle() {
    let bad = Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-bpf.o");
    std::fs::copy(env!("CARGO_BIN_EXE_alkyl"), &bad).unwrap();
    let (ok, _, err) = alkyl(&["pack", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("not a relocatable eBPF object"), "{err}");
}

// The Alkyl IR apps, compiled into containers.

/// apps/ir/NAME.air compiled as a device compiles an upload.
fn ir_container(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(repo().join("apps/ir").join(format!("{name}.air"))).unwrap();
    alkyl_translator::ir::compile(&alkyl_translator::ir::text::assemble(&text).unwrap()).unwrap()
}

fn ir_fletcher_over(input: &[u8]) -> u32 {
    let bytes = ir_container("fletcher32");
    let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
    let mut data = vec![0; script.data_size()];
    let call = Input::Bytes(call_input(&[input.len() as u64], input));
    run_entry(&script, "fletcher32", &mut data, &mut SimPlatform::new(), 0, call).exit.unwrap().r0 as u32
}

#[test]
fn ir_fletcher32_container_matches_the_native_oracle() {
    let input = std::fs::read(repo().join("apps/data/sample-361.bin")).unwrap();
    assert_eq!(ir_fletcher_over(&input), oracle::fletcher32(&input));
    for input in [vec![], vec![1, 2], (0..2000u32).map(|i| (i * 7) as u8).collect(), vec![0xff; 1000]] {
        assert_eq!(ir_fletcher_over(&input), oracle::fletcher32(&input), "input of {} bytes", input.len());
    }
    if let Some(path) = oracle::paper_input("the IR Fletcher-32 container on the paper's input") {
        assert_eq!(ir_fletcher_over(&std::fs::read(path).unwrap()), oracle::PAPER_FLETCHER32);
    }
}

/// The smart lock's container on the demo board, one app run per event,
/// `.data` kept between runs as a device keeps it.
struct Lock {
    bytes: Vec<u8>,
    data: Vec<u8>,
    platform: SimPlatform,
}

impl Lock {
    fn new() -> Lock {
        let bytes = ir_container("smartlock");
        let script = Script::load(&bytes, &ALL_HELPERS).unwrap();
        let mut data = vec![0; script.data_size()];
        script.init_data(&mut data);
        Lock { bytes, data, platform: SimPlatform::demo() }
    }

    fn call(&mut self, entry: &str, args: &[u64]) -> u64 {
        let script = Script::load(&self.bytes, &ALL_HELPERS).unwrap();
        let input = Input::Bytes(call_input(args, &[]));
        run_entry(&script, entry, &mut self.data, &mut self.platform, 3, input).exit.unwrap().r0
    }

    fn press(&mut self, keys: &[u8]) -> Vec<u64> {
        keys.iter().map(|&k| self.call("KeyPressed", &[k as u64])).collect()
    }

    /// (handle, value) of every actuator write.
    fn writes(&self) -> Vec<(u32, i16)> {
        self.platform.actuator_writes().iter().map(|w| (w.device.get(), w.value.val[0])).collect()
    }
}

/// The demo board's LED (the lock's buzzer) and switch (the lock).
const BUZZER: u32 = 3;
const SWITCH: u32 = 4;

/// The demo platform's Unix time (seconds) at its clock 0.
const T0: u64 = alkyl_bindings::SIM_DEMO_UNIX_S;

#[test]
fn ir_smartlock_container_runs_event_sequences() {
    let pin = u32::from_le_bytes(*b"1234") as u64;
    let mut lock = Lock::new();
    lock.platform.advance_ms(1_000);
    assert_eq!(lock.call("SetPin", &[pin, T0 + 61]), 0);
    // The right pin unlocks.
    assert_eq!(lock.press(b"1234"), [0, 0, 0, 1]);
    assert_eq!(lock.writes(), [(SWITCH, 1)]);
    // A wrong pin beeps, and the next attempt starts afresh.
    assert_eq!(lock.press(b"1243"), [0, 0, 0, 2]);
    assert_eq!(lock.press(b"1234"), [0, 0, 0, 1]);
    assert_eq!(lock.writes(), [(SWITCH, 1), (BUZZER, 1), (SWITCH, 1)]);
    // At the deadline the right pin is refused (a beep), until a new pin comes.
    lock.platform.advance_ms(60_000);
    assert_eq!(lock.press(b"1234"), [0, 0, 0, 2]);
    assert_eq!(lock.call("SetPin", &[pin, T0 + 120]), 0);
    assert_eq!(lock.press(b"1234"), [0, 0, 0, 1]);
    assert_eq!(lock.writes(), [(SWITCH, 1), (BUZZER, 1), (SWITCH, 1), (BUZZER, 1), (SWITCH, 1)]);
}

#[test]
fn ir_containers_declare_their_helpers_and_memory() {
    let lock = ir_container("smartlock");
    let script = Script::load(&lock, &ALL_HELPERS).unwrap();
    // unix_time, saul_reg_find_type, saul_reg_write_value.
    assert_eq!(script.declared_helpers().unwrap().iter().collect::<Vec<_>>(), [0x21, 0x31, 0x34]);
    assert_eq!(script.entries().map(|(f, _)| f.name).collect::<Vec<_>>(), [&b"SetPin"[..], b"KeyPressed"]);
    // A host without the SAUL write helper refuses it at load, as it would a C app.
    assert!(Script::load(&lock, &[0x21u32, 0x30, 0x31]).is_err());
    let fletcher = ir_container("fletcher32");
    let script = Script::load(&fletcher, &alkyl_vm::NoHelpers).unwrap();
    assert_eq!(script.declared_helpers().unwrap().iter().count(), 0);
    assert_eq!(script.data_size(), 0);
}
