//! Properties of the public API over deterministic pseudo-random inputs:
//! `assemble(disassemble(code)) == code` for arbitrary bytecode (slots
//! without a text form come back through `.raw`), and neither direction
//! panics on garbage.

use alkyl_asm::{assemble, disassemble, DisasmError};

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

/// One slot, biased towards encodings that have a text form: small
/// registers and mostly-zero offset and immediate.
fn slot(rng: &mut Rng) -> [u8; 8] {
    let mut slot = rng.next().to_le_bytes();
    if rng.below(4) != 0 {
        let src = if rng.below(2) == 0 { 0 } else { rng.below(11) as u8 };
        slot[1] = src << 4 | rng.below(11) as u8;
    }
    if rng.below(4) != 0 {
        slot[2..4].fill(0);
    }
    match rng.below(4) {
        0 | 1 => slot[4..8].fill(0),
        2 => slot[4..8].copy_from_slice(&[16u32, 32, 64, 1][rng.below(4)].to_le_bytes()),
        _ => {}
    }
    slot
}

#[test]
fn arbitrary_bytecode_round_trips() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut with_text = 0usize;
    let mut total = 0usize;
    for round in 0..2000 {
        let mut code = Vec::new();
        for _ in 0..1 + rng.below(24) {
            code.extend_from_slice(&slot(&mut rng));
        }
        let text = disassemble(&code).expect("whole slots");
        total += code.len() / 8;
        with_text += text.lines().filter(|l| !l.starts_with(".raw") && !l.ends_with(':')).count();
        assert_eq!(assemble(&text), Ok(code), "round {round}:\n{text}");
    }
    // The generator must exercise the text forms, not only `.raw` (the unit
    // tests cover every table row; this covers everything else).
    assert!(with_text * 10 > total, "{with_text} of {total} slots had a text form");
}

#[test]
fn partial_slots_are_rejected() {
    for len in 1..8 {
        let code = vec![0x95; 16 + len];
        assert_eq!(disassemble(&code), Err(DisasmError::PartialSlot { offset: 16, len }));
    }
}

#[test]
fn garbage_text_never_panics_and_what_assembles_round_trips() {
    const WORDS: &[&str] = &[
        "mov",
        "mov32",
        "lddw",
        "ldxw",
        "stw",
        "stxdw",
        "lock",
        "fetch",
        "add",
        "cmpxchg32",
        "ja",
        "ja32",
        "jeq",
        "jsle32",
        "call",
        "local",
        "helper",
        "exit",
        "be16",
        "movsx832",
        ".raw",
        "%r0",
        "%r1",
        "%r10",
        "%r11",
        "%",
        "[%r1+2]",
        "[%r10-8]",
        "[%r1",
        "[]",
        "0",
        "-1",
        "+3",
        "0xffffffff",
        "0x100000000",
        "99999999999999999999",
        "L1",
        "L1:",
        "exit:",
        ":",
        ",",
        ", ",
        "#",
        "\t",
        "-",
        "+",
        "0x",
        "é",
        "\u{0}",
    ];
    let mut rng = Rng(42);
    let mut assembled = 0;
    for _ in 0..20000 {
        let mut text = String::new();
        for _ in 0..1 + rng.below(4) {
            for _ in 0..rng.below(6) {
                text.push_str(WORDS[rng.below(WORDS.len())]);
                text.push(if rng.below(3) == 0 { ',' } else { ' ' });
            }
            text.push('\n');
        }
        if let Ok(code) = assemble(&text) {
            assembled += 1;
            let listing = disassemble(&code).expect("whole slots");
            assert_eq!(assemble(&listing), Ok(code), "from:\n{text}\nlisting:\n{listing}");
        }
    }
    assert!(assembled > 0);
}

#[test]
fn the_project_example_assembles_and_round_trips() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../apps/asm/fletcher32.s");
    let Ok(source) = std::fs::read_to_string(path) else {
        eprintln!("the_project_example_assembles_and_round_trips: NOT RUN: {path} is absent");
        return;
    };
    let code = assemble(&source).unwrap_or_else(|e| panic!("{path}: {e}"));
    let listing = disassemble(&code).expect("whole slots");
    assert_eq!(assemble(&listing), Ok(code), "{listing}");
}
