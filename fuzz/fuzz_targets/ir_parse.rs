//! Arbitrary bytes as an Alkyl IR module: parsing, validation and
//! compilation never panic; a module that parses disassembles and
//! re-assembles to the same bytes; a valid module compiles into a
//! container that loads (the VM's container checks and verifier) unless it
//! is too large for the VM — a verifier or load error, or a translator
//! invariant, is a bug.
#![no_main]

use alkyl_translator::ir::{compile_validated, text, validate, CompileError, Module, TranslateErrorKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(module) = Module::parse(data) else { return };
    let listing = text::disassemble(data).expect("a parsed module disassembles");
    let again = text::assemble(&listing).expect("a disassembly assembles");
    assert_eq!(again, data, "round trip changed the bytes:\n{listing}");
    let Ok(valid) = validate(module) else { return };
    match compile_validated(&valid, &alkyl_bindings::ALL_HELPERS) {
        Ok(_) => {}
        Err(CompileError::Translate(e)) if !matches!(e.kind, TranslateErrorKind::Internal(_)) => {}
        Err(e) => panic!("translator bug: {e}\n{listing}"),
    }
});
