//! Aryl gateway scripts: the paper's script compiles to a gateway module
//! (magic AKGW), whose gateway syscalls the IR validator accepts only in a
//! gateway module; a device refuses to translate it; the reference
//! interpreter, which has no gateway runtime, traps on the first one.

use alkyl_translator::ir::interp::no_gateway;
use alkyl_translator::ir::module::GATEWAY_MAGIC;
use alkyl_translator::ir::syscall::{fnv1a32, gateway_by_name};
use alkyl_translator::ir::{
    compile, text, validate, CompileError, Instance, IrTrap, Module, Profile, TranslateErrorKind, ValidateErrorKind,
};

fn script() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../apps/alkyl/payment.aryl.alkyl");
    let src = std::fs::read_to_string(path).unwrap();
    let c = alkyl_lang::compile_file("payment.aryl.alkyl", &src).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.gateway);
    c.module
}

#[test]
fn the_papers_script_is_a_gateway_module() {
    let bytes = script();
    assert_eq!(bytes[..4], GATEWAY_MAGIC);
    let m = Module::parse(&bytes).unwrap();
    assert_eq!(m.profile, Profile::Gateway);
    assert_eq!(m.functions[0].name, "PaymentEvent");
    let listing = text::disassemble(&bytes).unwrap();
    for call in ["gw_decrypt", "gw_device_count", "gw_block_timestamp", "gw_arg", "gw_call"] {
        assert!(listing.contains(call), "{call} missing:\n{listing}");
    }
    assert!(listing.contains(&format!("{:#x}", fnv1a32(b"SetPin"))), "{listing}");
    // Text round trip, `.gateway` included.
    assert_eq!(text::assemble(&listing).unwrap(), bytes);
}

#[test]
fn gateway_syscalls_only_in_gateway_modules() {
    let mut bytes = script();
    validate(Module::parse(&bytes).unwrap()).unwrap();
    bytes[..4].copy_from_slice(b"AKIR");
    let e = validate(Module::parse(&bytes).unwrap()).unwrap_err();
    assert!(matches!(e.kind, ValidateErrorKind::UnknownSyscall(id) if id >= 0x100), "{e:?}");
}

#[test]
fn a_device_refuses_a_gateway_module() {
    match compile(&script()) {
        Err(CompileError::Translate(e)) => assert_eq!(e.kind, TranslateErrorKind::GatewayModule),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_interpreter_has_no_gateway_runtime() {
    let bytes = script();
    let valid = validate(Module::parse(&bytes).unwrap()).unwrap();
    let mut instance = Instance::new(&valid, 0);
    let input = alkyl_translator::ir::call_input(&[0x1234, 5], &[]);
    let mut platform = alkyl_bindings::SimPlatform::new();
    let r = instance.call(&valid, 0, &input, &mut platform, 1000, &mut no_gateway);
    let decrypt = gateway_by_name("gw_decrypt").unwrap().id;
    assert_eq!(r, Err(IrTrap::Syscall { id: decrypt }));
}

#[test]
fn contract_calls_are_transactions() {
    // `contract.F(args)`: the arguments' slots, then gw_transact with F's
    // FNV-1a hash (apps/aryl/property.aryl.alkyl's lock-out handler).
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../apps/aryl/property.aryl.alkyl");
    let src = std::fs::read_to_string(path).unwrap();
    let c = alkyl_lang::compile_file("property.aryl.alkyl", &src).unwrap_or_else(|e| panic!("{e}"));
    let listing = text::disassemble(&c.module).unwrap();
    assert!(listing.contains("gw_transact"), "{listing}");
    assert!(listing.contains(&format!("{:#x}", fnv1a32(b"lockoutApplied"))), "{listing}");
    let valid = validate(Module::parse(&c.module).unwrap()).unwrap();
    let (index, _) = valid.module.function("LockOutEvent").unwrap();
    let mut seen = Vec::new();
    let mut instance = Instance::new(&valid, 0);
    let mut platform = alkyl_bindings::SimPlatform::new();
    let input = alkyl_translator::ir::call_input(&[1_900_000_000], &[]);
    instance
        .call(&valid, index, &input, &mut platform, 100_000, &mut |sc, a| {
            seen.push((sc.name, a.first().copied().unwrap_or(0)));
            Ok(0) // no devices; calls are asynchronous
        })
        .unwrap();
    let transact = fnv1a32(b"lockoutApplied") as u64;
    assert_eq!(seen, [("gw_device_count", 0), ("gw_arg", 1_900_000_000), ("gw_transact", transact)]);
}

#[test]
fn named_devices() {
    // `devices.NAME.F(args)`: gw_device with NAME's FNV-1a hash gives the
    // device number gw_call takes.
    let src = "public void SetPin(char* pin, time_t expires);\n\
               On PaymentEvent(string encryptPin, uint32_t mins) {\n\
                   devices.lock2.SetPin(Decrypt(encryptPin), block.timestamp + (mins * 60));\n\
               }\n";
    let c = alkyl_lang::compile_file("named.aryl.alkyl", src).unwrap_or_else(|e| panic!("{e}"));
    let valid = validate(Module::parse(&c.module).unwrap()).unwrap();
    let mut seen = Vec::new();
    let mut instance = Instance::new(&valid, 0);
    let mut platform = alkyl_bindings::SimPlatform::new();
    let input = alkyl_translator::ir::call_input(&[0, 10], &[]);
    instance
        .call(&valid, 0, &input, &mut platform, 100_000, &mut |sc, a| {
            seen.push((sc.name, a.to_vec()));
            Ok(match sc.name {
                "gw_device" => 1,
                "gw_decrypt" => 0x3433_3231,
                "gw_block_timestamp" => 1000,
                _ => 0,
            })
        })
        .unwrap();
    let names: Vec<&str> = seen.iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"gw_device"), "{names:?}");
    let device = seen.iter().find(|(n, _)| *n == "gw_device").unwrap();
    assert_eq!(device.1, [fnv1a32(b"lock2") as u64]);
    let call = seen.iter().find(|(n, _)| *n == "gw_call").unwrap();
    assert_eq!(call.1, [1, fnv1a32(b"SetPin") as u64]);
    let e = alkyl_lang::compile_file("bad.aryl.alkyl", "On E(uint32_t x) { devices.lock2 = 1; }");
    assert!(e.is_err());
}
