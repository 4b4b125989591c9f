//! Arbitrary text through the Alkyl language's front end and compiler
//! (`alkyl_lang::compile`: lex, parse, check, inline, lower, validate):
//! nothing panics; every program it accepts is a valid IR module, and a
//! device app's module translates into a container that loads (unless it
//! is too large for the VM). A "compiler bug" diagnostic is a bug.
#![no_main]

use alkyl_translator::ir::{compile, CompileError, TranslateErrorKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    match alkyl_lang::compile(src) {
        Ok(c) => {
            if !c.gateway {
                match compile(&c.module) {
                    Ok(_) => {}
                    Err(CompileError::Translate(e)) if !matches!(e.kind, TranslateErrorKind::Internal(_)) => {}
                    Err(e) => panic!("compiled module does not translate: {e}\n{src}"),
                }
            }
        }
        Err(diags) => {
            assert!(!diags.iter().any(|d| d.message.contains("compiler bug")), "{diags:?}\n{src}");
            let _ = alkyl_lang::render("fuzz.alkyl", src, &diags);
        }
    }
});
