//! The text form: fixtures, round trips, and the assembler's errors.

use std::path::Path;

use alkyl_testkit::generate;
use alkyl_translator::ir::text::{assemble, disassemble, AsmErrorKind};
use alkyl_translator::ir::{insn, Module, Op};

fn round_trip(bytes: &[u8]) {
    let listing = disassemble(bytes).unwrap();
    assert_eq!(assemble(&listing).unwrap(), bytes, "{listing}");
    // And the listing is a fixed point.
    assert_eq!(disassemble(&assemble(&listing).unwrap()).unwrap(), listing);
}

#[test]
fn fixture_assembles_to_known_bytes() {
    let bytes =
        assemble(".memory 2\n.global n w8 7\n.public f w16\n  BITS8\n  GLOAD n\n  PUSH -1\n  ADD\n  RETURN\n").unwrap();
    #[rustfmt::skip]
    let expected = [
        b'A', b'K', b'I', b'R', 1,
        0x05,                   // memory 2
        0x03, 0x00, 0x0f,       // 1 global: w8, init 7
        0x03,                   // 1 function
        0x00, 0x03, b'f',       // public, name "f"
        0x03, 0x01,             // 1 parameter: w16
        0x11,                   // 8 bytes of code
        0xc0, 0xc9, 0x01, 0x60, 0xfe, 0x03, 0x01, 0xf3, // PUSH 255: fe 03
    ];
    assert_eq!(bytes, expected);
    assert_eq!(
        disassemble(&bytes).unwrap(),
        ".memory 2\n.global g0 w8 7\n\n.public f w16\n    BITS8\n    GLOAD g0\n    PUSH 255\n    ADD\n    RETURN\n"
    );
}

#[test]
fn apps_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/ir");
    for name in ["smartlock.air", "fletcher32.air"] {
        let bytes = assemble(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        Module::parse(&bytes).unwrap();
        round_trip(&bytes);
    }
}

#[test]
fn generated_programs_round_trip() {
    let mut seed = 99u64;
    for _ in 0..500 {
        let bytes: Vec<u8> = (0..300)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 33) as u8
            })
            .collect();
        round_trip(&assemble(&generate(&bytes).text).unwrap());
    }
}

#[test]
fn undecodable_bytes_round_trip_as_byte_directives() {
    // A function whose code is an unknown opcode, a PUSH with a truncated
    // immediate, and a jump to a non-instruction offset.
    let code = [0x0c, 0x56, 0x05, 0x60];
    let mut bytes = b"AKIR\x01\x01\x01\x03\x00\x03g\x01\x09".to_vec();
    bytes.extend_from_slice(&code);
    let listing = disassemble(&bytes).unwrap();
    assert!(listing.contains(".byte 0x0c"), "{listing}");
    assert!(listing.contains("JUMP 2"), "{listing}");
    round_trip(&bytes);
}

#[test]
fn jump_immediates_grow_to_their_canonical_size() {
    // The label sits past offset 127, so JUMPI needs a 2-byte immediate.
    let padding = "    PUSH 1\n    POP\n".repeat(70);
    let src = format!(".public f\n    PUSH0\n    JUMPI end\n{padding}end:\n    JUMPDEST\n    STOP\n");
    let bytes = assemble(&src).unwrap();
    let module = Module::parse(&bytes).unwrap();
    let code = module.functions[0].code;
    let jump = insn::decode(code, 1).unwrap().unwrap();
    assert_eq!(jump.op, Op::Jumpi);
    assert_eq!(jump.len, 3);
    assert_eq!(insn::decode(code, jump.imm as usize).unwrap().unwrap().op, Op::Jumpdest);
    alkyl_translator::ir::validate(module).unwrap();
}

#[test]
fn assembler_errors_name_the_line() {
    let cases: &[(&str, usize, AsmErrorKind)] = &[
        (".public f\n  FROB\n", 2, AsmErrorKind::UnknownMnemonic("FROB".into())),
        (".public f\n  JUMP nowhere\n", 2, AsmErrorKind::UndefinedLabel("nowhere".into())),
        (".public f\na:\na:\n  STOP\n", 3, AsmErrorKind::DuplicateLabel("a".into())),
        ("  STOP\n", 1, AsmErrorKind::OutsideFunction),
        (".public f w12\n", 1, AsmErrorKind::BadWidth("w12".into())),
        (".public f\n  GLOAD missing\n", 2, AsmErrorKind::UnknownGlobal("missing".into())),
        (".public f\n  SYSCALL launch\n", 2, AsmErrorKind::UnknownSyscall("launch".into())),
        (".public f\n  PUSH\n", 2, AsmErrorKind::MissingOperand),
        (".public f\n  ADD 1\n", 2, AsmErrorKind::ExtraOperand("1".into())),
        (".public f\n  BITS8\n  PUSH -129\n", 3, AsmErrorKind::OutOfRange("-129".into())),
        (".public f\n  PUSH 12x\n", 2, AsmErrorKind::BadNumber("12x".into())),
        (".global x w8 256\n", 1, AsmErrorKind::OutOfRange("256".into())),
        (".public f\n.public f\n", 2, AsmErrorKind::DuplicateFunction("f".into())),
        (".memory 70000\n", 1, AsmErrorKind::OutOfRange("70000".into())),
        (".public f w8 w8 w8 w8 w8 w8\n", 1, AsmErrorKind::TooMany("parameters")),
        (".frob\n", 1, AsmErrorKind::UnknownDirective(".frob".into())),
    ];
    for (src, line, kind) in cases {
        let e = assemble(src).unwrap_err();
        assert_eq!((e.line, &e.kind), (*line, kind), "{src}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn character_literals_and_comments() {
    let a = assemble(".public f\n  BITS8\n  PUSH ';' ; a comment\n  PUSH '#' # another\n  ADD\n  RETURN\n").unwrap();
    let b = assemble(".public f\n  BITS8\n  PUSH 59\n  PUSH 35\n  ADD\n  RETURN\n").unwrap();
    assert_eq!(a, b);
}
