//! Encodings per instruction class, derived by hand from RFC 9669, the
//! label rules, the error reporting, and a round trip over generated
//! instructions of every table row.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use alkyl_vm::isa::{Insn, INSN_SIZE};

use super::mnemonic::{self, Shape, MNEMONICS};
use super::*;

/// Parses whitespace-separated hex bytes.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("test hex")).collect()
}

/// Asserts that each line assembles to its bytes, alone, and that the
/// bytes disassemble back to text that assembles to them again.
fn check(cases: &[(&str, &str)]) {
    for (text, bytes) in cases {
        let expected = hex(bytes);
        assert_eq!(assemble(text).as_deref(), Ok(&expected[..]), "`{text}`");
        let listing = disassemble(&expected).expect("whole slots");
        assert_eq!(assemble(&listing).as_deref(), Ok(&expected[..]), "`{text}` printed as `{listing}`");
    }
}

fn error(text: &str) -> AsmError {
    match assemble(text) {
        Ok(bytes) => panic!("`{text}` assembled to {bytes:02x?}"),
        Err(error) => error,
    }
}

#[test]
fn alu64_and_alu32() {
    // opcode = operation | source | class; regs = src << 4 | dst.
    check(&[
        ("mov32 %r0, 1", "b4 00 00 00 01 00 00 00"),
        ("mov %r1, -1", "b7 01 00 00 ff ff ff ff"),
        ("mov %r1, 0xffffffff", "b7 01 00 00 ff ff ff ff"),
        ("mov %r1, -0x80000000", "b7 01 00 00 00 00 00 80"),
        ("add %r1, %r2", "0f 21 00 00 00 00 00 00"),
        ("add32 %r10, 2147483647", "04 0a 00 00 ff ff ff 7f"),
        ("sub %r3, 3", "17 03 00 00 03 00 00 00"),
        ("mul32 %r4, %r5", "2c 54 00 00 00 00 00 00"),
        ("div %r1, 7", "37 01 00 00 07 00 00 00"),
        ("or32 %r1, %r9", "4c 91 00 00 00 00 00 00"),
        ("and %r1, 0xff", "57 01 00 00 ff 00 00 00"),
        ("lsh %r1, 63", "67 01 00 00 3f 00 00 00"),
        ("rsh32 %r1, %r2", "7c 21 00 00 00 00 00 00"),
        ("neg %r2", "87 02 00 00 00 00 00 00"),
        ("neg32 %r0", "84 00 00 00 00 00 00 00"),
        ("mod %r1, %r2", "9f 21 00 00 00 00 00 00"),
        ("xor32 %r1, 5", "a4 01 00 00 05 00 00 00"),
        ("arsh %r1, 1", "c7 01 00 00 01 00 00 00"),
        ("arsh32 %r1, %r1", "cc 11 00 00 00 00 00 00"),
        // Signed division and modulo: offset 1.
        ("sdiv %r1, %r2", "3f 21 01 00 00 00 00 00"),
        ("sdiv32 %r1, -3", "34 01 01 00 fd ff ff ff"),
        ("smod %r1, 3", "97 01 01 00 03 00 00 00"),
        ("smod32 %r1, %r2", "9c 21 01 00 00 00 00 00"),
        // Sign-extending moves: register source, offset = source width.
        ("movsx864 %r1, %r2", "bf 21 08 00 00 00 00 00"),
        ("movsx1664 %r1, %r2", "bf 21 10 00 00 00 00 00"),
        ("movsx3264 %r1, %r2", "bf 21 20 00 00 00 00 00"),
        ("movsx832 %r1, %r2", "bc 21 08 00 00 00 00 00"),
        ("movsx1632 %r1, %r2", "bc 21 10 00 00 00 00 00"),
    ]);
}

#[test]
fn byte_swaps() {
    // END: le = ALU|K, be = ALU|X, bswap = ALU64|K; imm is the width.
    check(&[
        ("le16 %r3", "d4 03 00 00 10 00 00 00"),
        ("le32 %r3", "d4 03 00 00 20 00 00 00"),
        ("le64 %r3", "d4 03 00 00 40 00 00 00"),
        ("be16 %r0", "dc 00 00 00 10 00 00 00"),
        ("be32 %r0", "dc 00 00 00 20 00 00 00"),
        ("be64 %r0", "dc 00 00 00 40 00 00 00"),
        ("bswap16 %r1", "d7 01 00 00 10 00 00 00"),
        ("bswap32 %r1", "d7 01 00 00 20 00 00 00"),
        ("bswap64 %r1", "d7 01 00 00 40 00 00 00"),
        ("swap16 %r1", "d7 01 00 00 10 00 00 00"),
        ("swap64 %r1", "d7 01 00 00 40 00 00 00"),
    ]);
}

#[test]
fn wide_loads() {
    check(&[
        ("lddw %r0, 0x123456789abcdef0", "18 00 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12"),
        ("lddw %r9, -1", "18 09 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff"),
        ("lddw %r1, 18446744073709551615", "18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff"),
        ("lddw %r1, 2147483648", "18 01 00 00 00 00 00 80 00 00 00 00 00 00 00 00"),
        ("lddwd %r2, 16", "b8 02 00 00 10 00 00 00 00 00 00 00 00 00 00 00"),
        ("lddwr %r2, 0", "d8 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
    ]);
}

#[test]
fn loads_and_stores() {
    // LDX|MEM|size, LDX|MEMSX|size, ST|MEM|size, STX|MEM|size.
    check(&[
        ("ldxb %r0, [%r1]", "71 10 00 00 00 00 00 00"),
        ("ldxh %r0, [%r1+2]", "69 10 02 00 00 00 00 00"),
        ("ldxw %r0, [%r1+0x10]", "61 10 10 00 00 00 00 00"),
        ("ldxdw %r1, [%r10-8]", "79 a1 f8 ff 00 00 00 00"),
        ("ldxsb %r1, [%r2+3]", "91 21 03 00 00 00 00 00"),
        ("ldxsh %r1, [%r2-32768]", "89 21 00 80 00 00 00 00"),
        ("ldxsw %r1, [%r2+32767]", "81 21 ff 7f 00 00 00 00"),
        ("stb [%r1], 0x11", "72 01 00 00 11 00 00 00"),
        ("sth [%r1+2], -1", "6a 01 02 00 ff ff ff ff"),
        ("stw [%r1+2], 0x11", "62 01 02 00 11 00 00 00"),
        ("stdw [%r10-8], 0", "7a 0a f8 ff 00 00 00 00"),
        ("stxb [%r1], %r2", "73 21 00 00 00 00 00 00"),
        ("stxh [%r1+1], %r2", "6b 21 01 00 00 00 00 00"),
        ("stxw [%r1-1], %r2", "63 21 ff ff 00 00 00 00"),
        ("stxdw [%r10-8], %r0", "7b 0a f8 ff 00 00 00 00"),
    ]);
}

#[test]
fn atomics() {
    // STX|ATOMIC|W or DW; imm = operation (| FETCH).
    check(&[
        ("lock add [%r10-8], %r1", "db 1a f8 ff 00 00 00 00"),
        ("lock or32 [%r1], %r2", "c3 21 00 00 40 00 00 00"),
        ("lock and32 [%r1+4], %r3", "c3 31 04 00 50 00 00 00"),
        ("lock xor [%r1], %r2", "db 21 00 00 a0 00 00 00"),
        ("lock fetch add [%r10-8], %r1", "db 1a f8 ff 01 00 00 00"),
        ("lock fetch or [%r1], %r2", "db 21 00 00 41 00 00 00"),
        ("lock fetch and32 [%r1], %r2", "c3 21 00 00 51 00 00 00"),
        ("lock fetch xor32 [%r1], %r2", "c3 21 00 00 a1 00 00 00"),
        ("lock xchg [%r1], %r2", "db 21 00 00 e1 00 00 00"),
        ("lock xchg32 [%r1], %r2", "c3 21 00 00 e1 00 00 00"),
        ("lock fetch xchg [%r1], %r2", "db 21 00 00 e1 00 00 00"),
        ("lock cmpxchg [%r10-8], %r1", "db 1a f8 ff f1 00 00 00"),
        ("lock cmpxchg32 [%r10-8], %r1", "c3 1a f8 ff f1 00 00 00"),
    ]);
}

#[test]
fn jumps_and_calls() {
    check(&[
        ("ja +2", "05 00 02 00 00 00 00 00"),
        ("ja -1", "05 00 ff ff 00 00 00 00"),
        ("ja 0", "05 00 00 00 00 00 00 00"),
        ("ja32 -1", "06 00 00 00 ff ff ff ff"),
        ("ja32 +100000", "06 00 00 00 a0 86 01 00"),
        ("jeq %r1, 0, +3", "15 01 03 00 00 00 00 00"),
        ("jne %r1, %r0, +1", "5d 01 01 00 00 00 00 00"),
        ("jgt %r1, 0x80000000, +1", "25 01 01 00 00 00 00 80"),
        ("jge %r1, %r2, -3", "3d 21 fd ff 00 00 00 00"),
        ("jset %r1, 8, +1", "45 01 01 00 08 00 00 00"),
        ("jsgt %r1, -1, +1", "65 01 01 00 ff ff ff ff"),
        ("jsge %r1, %r2, +1", "7d 21 01 00 00 00 00 00"),
        ("jlt %r1, 5, +1", "a5 01 01 00 05 00 00 00"),
        ("jle %r1, %r2, +1", "bd 21 01 00 00 00 00 00"),
        ("jslt %r1, 5, +1", "c5 01 01 00 05 00 00 00"),
        ("jsle %r1, %r2, +1", "dd 21 01 00 00 00 00 00"),
        ("jeq32 %r1, 1, +1", "16 01 01 00 01 00 00 00"),
        ("jsle32 %r1, -3, +0", "d6 01 00 00 fd ff ff ff"),
        ("jne32 %r1, %r2, -2", "5e 21 fe ff 00 00 00 00"),
        ("call 5", "85 00 00 00 05 00 00 00"),
        ("call helper 5", "85 00 00 00 05 00 00 00"),
        ("call %r2", "8d 02 00 00 00 00 00 00"),
        ("call local -1", "85 10 00 00 ff ff ff ff"),
        ("exit", "95 00 00 00 00 00 00 00"),
    ]);
}

#[test]
fn labels_resolve_relative_to_the_next_slot() {
    let source = "
        start:
            mov %r0, 0          # slot 0
            jeq %r1, 0, end     # slot 1: end is slot 5
            lddw %r2, 1         # slots 2, 3
        back: ja start          # slot 4: -5
        end:
        also_end:
            call local func     # slot 5: func is slot 7
            ja32 back           # slot 6: -3
        func:
            exit                # slot 7
        after:
    ";
    let code = assemble(source).expect("valid");
    let slot = |pc: usize| Insn::at(&code, pc).expect("in range");
    assert_eq!(code.len(), 8 * INSN_SIZE);
    assert_eq!(slot(1).off, 3);
    assert_eq!(slot(4).off, -5);
    assert_eq!(slot(5), Insn::new(0x85, 0, 1, 0, 1));
    assert_eq!(slot(6).imm, -3);

    // A label after the last instruction is the end of the program.
    let code = assemble("ja out\nout:").expect("valid");
    assert_eq!(Insn::at(&code, 0).map(|i| i.off), Some(0));
}

#[test]
fn exit_names_the_first_exit_unless_defined() {
    // As in the suite's prime.data: `exit` is never defined as a label.
    let code = assemble("ja exit\nexit\nmov %r0, 1\nexit").expect("valid");
    assert_eq!(Insn::at(&code, 0).map(|i| i.off), Some(0));
    let code = assemble("jeq %r1, 0, exit\nmov %r0, 1\nexit\nexit").expect("valid");
    assert_eq!(Insn::at(&code, 0).map(|i| i.off), Some(1));
    // A defined label wins.
    let code = assemble("ja exit\nexit\nexit:\nexit").expect("valid");
    assert_eq!(Insn::at(&code, 0).map(|i| i.off), Some(1));
    // With no exit instruction, it is an ordinary undefined label.
    assert_eq!(error("ja exit").kind, AsmErrorKind::UndefinedLabel("exit".to_string()));
}

#[test]
fn comments_blank_lines_and_spacing() {
    let code = assemble("# header\n\n   mov   %r0 ,  1   # trailing\r\n\texit#x\n").expect("valid");
    assert_eq!(code, hex("b7 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00"));
}

#[test]
fn raw_slots() {
    check(&[(".raw 0x0000000100010007", "07 00 01 00 01 00 00 00")]);
    assert!(matches!(error(".raw").kind, AsmErrorKind::OperandCount { expected: 1, found: 0, .. }));
    assert!(matches!(error(".raw -1").kind, AsmErrorKind::ImmediateOutOfRange { bits: 64, .. }));
    assert_eq!(error(".word 1").kind, AsmErrorKind::UnknownMnemonic(".word".to_string()));
}

#[test]
fn errors_name_the_line_and_the_reason() {
    use AsmErrorKind as K;
    let cases: &[(&str, usize, AsmErrorKind)] = &[
        ("exit\nmov32 %r0, 2147483648", 2, K::ImmediateOutOfRange { text: "2147483648".to_string(), bits: 32 }),
        ("mov32 %r0, 0x100000000", 1, K::ImmediateOutOfRange { text: "0x100000000".to_string(), bits: 32 }),
        (
            "lddw %r0, 0x10000000000000000",
            1,
            K::ImmediateOutOfRange { text: "0x10000000000000000".to_string(), bits: 64 },
        ),
        ("ja +32768", 1, K::OffsetOutOfRange("+32768".to_string())),
        ("ldxb %r0, [%r1+0x10000]", 1, K::OffsetOutOfRange("+0x10000".to_string())),
        ("\n\nja NOT_A_LABEL\nexit", 3, K::UndefinedLabel("NOT_A_LABEL".to_string())),
        ("a:\nexit\na:", 3, K::DuplicateLabel { name: "a".to_string(), first_line: 1 }),
        ("1a:", 1, K::InvalidLabel("1a".to_string())),
        ("lock or [%r10-8]", 1, K::OperandCount { mnemonic: "lock or", expected: 2, found: 1 }),
        ("lock", 1, K::MissingAtomicOperation),
        ("lock nand [%r1], %r2", 1, K::UnknownMnemonic("lock nand".to_string())),
        ("ldxq %r0, %r1", 1, K::UnknownMnemonic("ldxq".to_string())),
        ("ldxb %r0, %r1", 1, K::ExpectedOperand { expected: OperandKind::Memory, found: "%r1".to_string() }),
        ("lddw %r0", 1, K::OperandCount { mnemonic: "lddw", expected: 2, found: 1 }),
        ("exit 0", 1, K::OperandCount { mnemonic: "exit", expected: 0, found: 1 }),
        ("or %r0, %r50", 1, K::InvalidRegister("%r50".to_string())),
        ("mov %r11, 1", 1, K::InvalidRegister("%r11".to_string())),
        ("mov 1, %r1", 1, K::ExpectedOperand { expected: OperandKind::Register, found: "1".to_string() }),
        ("mov %r1, x", 1, K::ExpectedOperand { expected: OperandKind::RegisterOrImmediate, found: "x".to_string() }),
        ("movsx832 %r1, 1", 1, K::ExpectedOperand { expected: OperandKind::Register, found: "1".to_string() }),
        ("stw [%r1], %r2", 1, K::ExpectedOperand { expected: OperandKind::Immediate, found: "%r2".to_string() }),
        ("jeq %r1, 0, %r2", 1, K::ExpectedOperand { expected: OperandKind::Target, found: "%r2".to_string() }),
        ("mov %r1,, 1", 1, K::EmptyOperand),
    ];
    for (text, line, kind) in cases {
        assert_eq!(error(text), AsmError { line: *line, kind: kind.clone() }, "`{text}`");
    }

    let far = {
        let mut text = String::from("ja end\n");
        for _ in 0..32768 {
            text.push_str("exit\n");
        }
        text.push_str("end:");
        text
    };
    assert_eq!(error(&far).kind, K::JumpOutOfRange { label: "end".to_string(), distance: 32768 });
    assert_eq!(error("or %r0, %r50").to_string(), "line 1: invalid register %r50");
}

#[test]
fn disassembly_reads_like_the_suite() {
    let code =
        assemble("mov %r0, 0\njne %r1, 0, skip\ncall local f\nskip:\nexit\nf:\nlddw %r0, 0x1122334455667788\nexit")
            .expect("valid");
    assert_eq!(
        disassemble(&code).as_deref(),
        Ok("mov %r0, 0\njne %r1, 0, L3\ncall local fn4\nL3:\nexit\nfn4:\nlddw %r0, 0x1122334455667788\nexit\n")
    );
    // Targets outside the program or inside an lddw stay numeric.
    let code = assemble("ja +1\nlddw %r0, 1\nja -5").expect("valid");
    assert_eq!(disassemble(&code).as_deref(), Ok("ja +1\nlddw %r0, 0x1\nja -5\n"));
}

#[test]
fn disassembly_of_slots_without_a_text_form() {
    // add64 with a non-zero offset; lddw without its second slot; r11.
    let code = hex("07 00 01 00 01 00 00 00  18 00 00 00 01 00 00 00");
    let text = disassemble(&code).expect("whole slots");
    assert_eq!(text, ".raw 0x0000000100010007\n.raw 0x0000000100000018\n");
    assert_eq!(assemble(&text), Ok(code));
    assert_eq!(format_insn(&Insn::new(0xb7, 11, 0, 0, 0), None), ".raw 0x0000000000000bb7");
    assert_eq!(disassemble(&[0; 9]), Err(DisasmError::PartialSlot { offset: 8, len: 1 }));
    assert_eq!(disassemble(&[]).as_deref(), Ok(""));
}

#[test]
fn format_insn_prints_offsets() {
    assert_eq!(format_insn(&Insn::new(0x15, 1, 0, -3, 7), None), "jeq %r1, 7, -3");
    assert_eq!(format_insn(&Insn::new(0x18, 1, 0, 0, 1), Some(&Insn::new(0, 0, 0, 0, 2))), "lddw %r1, 0x200000001");
    assert_eq!(format_insn(&Insn::new(0x8d, 3, 0, 0, 0), None), "call %r3");
}

#[test]
fn table_names_are_unique_and_aliases_never_print() {
    for (i, m) in MNEMONICS.iter().enumerate() {
        assert!(MNEMONICS[..i].iter().all(|other| other.name != m.name), "{} twice", m.name);
        let canonical = mnemonic::by_insn(&m.base(false)).expect("its own base matches");
        assert_eq!(canonical.base(false), m.base(false), "{}", m.name);
    }
}

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

/// Small values often, since they are the interesting ones.
fn value(rng: &mut Rng) -> i64 {
    match rng.below(4) {
        0 => rng.below(8) as i64 - 4,
        _ => rng.next() as i64,
    }
}

/// A random instruction of row `m`, one or two slots.
fn random_insn(rng: &mut Rng, m: &mnemonic::Mnemonic) -> Vec<Insn> {
    let reg_source = m.shape.picks_source() && rng.below(2) == 1;
    let mut insn = m.base(reg_source);
    let used = m.shape.fields(reg_source);
    if used.dst {
        insn.dst = rng.below(11) as u8;
    }
    if used.src {
        insn.src = rng.below(11) as u8;
    }
    if used.off {
        insn.off = value(rng) as i16;
    }
    if used.imm {
        insn.imm = value(rng) as i32;
    }
    let mut slots = Vec::from([insn]);
    if m.shape == Shape::Wide {
        slots.push(Insn::new(0, 0, 0, 0, value(rng) as i32));
    }
    slots
}

#[test]
fn generated_programs_round_trip() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..400 {
        let mut code = Vec::new();
        for _ in 0..1 + rng.below(40) {
            let m = &MNEMONICS[rng.below(MNEMONICS.len())];
            for insn in random_insn(&mut rng, m) {
                code.extend_from_slice(&insn.encode());
            }
        }
        let text = disassemble(&code).expect("whole slots");
        assert!(!text.contains(".raw"), "round {round}: a generated instruction has no text form:\n{text}");
        assert_eq!(assemble(&text), Ok(code), "round {round}:\n{text}");
    }
}

#[test]
fn every_row_with_random_fields_prints_its_own_encoding() {
    let mut rng = Rng(7);
    for m in MNEMONICS {
        for _ in 0..50 {
            let slots = random_insn(&mut rng, m);
            let text = format_insn(&slots[0], slots.get(1));
            let code: Vec<u8> = slots.iter().flat_map(|i| i.encode()).collect();
            assert_eq!(assemble(&text), Ok(code), "{}: `{text}`", m.name);
            let canonical = mnemonic::by_insn(&slots[0]).map_or("?", |c| c.name);
            assert!(text.starts_with(canonical), "{}: `{text}`", m.name);
        }
    }
}

#[test]
fn the_module_docs_example_assembles() {
    let docs = include_str!("lib.rs");
    let example: String = docs
        .lines()
        .skip_while(|line| *line != "//! ```text")
        .skip(1)
        .take_while(|line| *line != "//! ```")
        .map(|line| line.trim_start_matches("//!"))
        .flat_map(|line| [line, "\n"])
        .collect();
    assert!(example.contains("exit"), "example not found");
    let code = assemble(&example).unwrap_or_else(|e| panic!("{e}\n{example}"));
    assert_eq!(assemble(&disassemble(&code).expect("whole slots")), Ok(code));
}
