//! Arbitrary bytes as an Alkyl IR module: parsing, validation and
//! translation never panic; a module that parses disassembles and
//! re-assembles to the same bytes; a translation always passes the VM
//! verifier (translate checks that itself and reports it as an error,
//! which this target treats as a bug).
#![no_main]

use alkyl_translator::ir::{text, translate, validate, Module, TranslateErrorKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(module) = Module::parse(data) else { return };
    let listing = text::disassemble(data).expect("a parsed module disassembles");
    let again = text::assemble(&listing).expect("a disassembly assembles");
    assert_eq!(again, data, "round trip changed the bytes:\n{listing}");
    let Ok(valid) = validate(module) else { return };
    if let Err(e) = translate(&valid) {
        assert!(
            !matches!(e.kind, TranslateErrorKind::Unverifiable(_) | TranslateErrorKind::Internal(_)),
            "translator bug: {e}\n{listing}"
        );
    }
});
