//! The translation, operation by operation: every binary operation in every
//! width, on edge values, with the operands in registers and as
//! immediates, must give what the specification's arithmetic gives (and
//! the interpreter agrees, checked by `Pair`); plus the translation's
//! performance properties, measured as executed instructions.

use alkyl_bindings::{KvScope, Platform, SimPlatform};
use alkyl_testkit::assemble;
use alkyl_translator::ir::lockstep::Pair;
use alkyl_translator::ir::semantics;
use alkyl_translator::ir::{IrTrap, Op, Width};

const BINARY: [&str; 18] = [
    "ADD", "MUL", "SUB", "DIV", "SDIV", "MOD", "SMOD", "LT", "GT", "SLT", "SGT", "EQ", "AND", "OR", "XOR", "SHL",
    "SHR", "SAR",
];

fn edges(w: Width) -> Vec<u64> {
    let m = w.mask();
    let mut v = vec![0, 1, 2, 3, 7, w.bits() as u64, m, m - 1, m >> 1, (m >> 1) + 1, 0x5a5a_5a5a_5a5a_5a5a & m];
    v.sort();
    v.dedup();
    v
}

#[test]
fn binary_operations_match_the_specification() {
    for w in Width::ALL {
        for name in BINARY {
            let op = Op::from_mnemonic(name).unwrap();
            let bits = w.bits();
            // a = ARG 1 (top), b = ARG 0: both in registers.
            let regs = assemble(&format!(".public f w{bits} w{bits}\n BITS{bits}\n ARG 0\n ARG 1\n {name}\n RETURN\n"))
                .unwrap();
            let mut pair = Pair::new(&regs, SimPlatform::demo()).unwrap();
            for &a in &edges(w) {
                for &b in &edges(w) {
                    let want = semantics::binary(op, w, a, b).unwrap();
                    assert_eq!(pair.call("f", &[b, a], &[]).unwrap(), Ok(want), "{name} w{bits} a={a:#x} b={b:#x}");
                    // Each operand as an immediate: `a` pushed, or `b` pushed.
                    let a_imm = format!(".public f w{bits}\n BITS{bits}\n ARG 0\n PUSH {a}\n {name}\n RETURN\n");
                    let b_imm = format!(".public f w{bits}\n BITS{bits}\n PUSH {b}\n ARG 0\n {name}\n RETURN\n");
                    for (src, arg) in [(a_imm, b), (b_imm, a)] {
                        let bytes = assemble(&src).unwrap();
                        let mut p = Pair::new(&bytes, SimPlatform::demo()).unwrap();
                        assert_eq!(p.call("f", &[arg], &[]).unwrap(), Ok(want), "{src}");
                    }
                }
            }
        }
    }
}

#[test]
fn comparisons_fused_into_branches_match_the_specification() {
    for w in Width::ALL {
        for name in ["LT", "GT", "SLT", "SGT", "EQ"] {
            let op = Op::from_mnemonic(name).unwrap();
            let bits = w.bits();
            for negate in ["", " ISZERO\n"] {
                let src = format!(
                    ".public f w{bits} w{bits}\n BITS{bits}\n ARG 0\n ARG 1\n {name}\n{negate} JUMPI yes\n PUSH 10\n RETURN\nyes:\n JUMPDEST\n PUSH 20\n RETURN\n"
                );
                let bytes = assemble(&src).unwrap();
                let mut pair = Pair::new(&bytes, SimPlatform::demo()).unwrap();
                for &a in &edges(w) {
                    for &b in &edges(w) {
                        let holds = semantics::binary(op, w, a, b) == Some(1);
                        let want = if holds == negate.is_empty() { 20 } else { 10 };
                        assert_eq!(pair.call("f", &[b, a], &[]).unwrap(), Ok(want), "{src} a={a:#x} b={b:#x}");
                    }
                }
            }
        }
    }
}

#[test]
fn conversions_match_the_specification() {
    for from in Width::ALL {
        for to in Width::ALL {
            for (name, ok) in [("ZEXT", from <= to), ("SEXT", from <= to), ("TRUNC", from >= to)] {
                if !ok {
                    continue;
                }
                let op = Op::from_mnemonic(name).unwrap();
                let src = format!(".public f w{}\n BITS{}\n ARG 0\n {name}\n RETURN\n", from.bits(), to.bits());
                let bytes = assemble(&src).unwrap();
                let mut pair = Pair::new(&bytes, SimPlatform::demo()).unwrap();
                for v in edges(Width::W64) {
                    let want = semantics::convert(op, from, to, from.wrap(v)).unwrap();
                    assert_eq!(pair.call("f", &[v], &[]).unwrap(), Ok(want), "{src} {v:#x}");
                }
            }
        }
    }
}

#[test]
fn traps_keep_their_meaning_through_the_vm() {
    let cases: &[(&str, Result<u64, IrTrap>)] = &[
        (".public f\n PUSH 0x1abcd\n REVERT\n", Err(IrTrap::Revert(0xabcd))),
        (".public f w32\n ARG 0\n REVERT\n", Err(IrTrap::Revert(0x1234))),
        (".public f\n INVALID\n", Err(IrTrap::Invalid)),
        (".memory 4\n.public f w32\n ARG 0\n MLOAD\n RETURN\n", Err(IrTrap::MemoryOutOfBounds)),
        (".memory 4\n.public f\n PUSH 1\n MLOAD\n RETURN\n", Err(IrTrap::MemoryOutOfBounds)),
        (".memory 4\n.public f\n PUSH 7\n PUSH 3\n MSTORE8\n PUSH 0\n MLOAD\n RETURN\n", Ok(0x0700_0000)),
        (".public f w64\n BITS64\n ARG 0\n INLOAD\n RETURN\n", Err(IrTrap::InputOutOfBounds)),
        // The input is the one 8-byte argument slot.
        (".public f\n PUSH 4\n INLOAD\n RETURN\n", Ok(0)),
        (".public f\n PUSH 5\n INLOAD\n RETURN\n", Err(IrTrap::InputOutOfBounds)),
        (".public f w8 w8\n ARG 1\n RETURN\n", Err(IrTrap::InputOutOfBounds)),
        // Helpers report bad handles as return codes (ENODEV), not traps.
        (".public f\n PUSH 0x10000\n PUSH 1\n SYSCALL saul_reg_write_value\n RETURN\n", Ok((-19i32) as u32 as u64)),
        (".memory 4\n.public f\n PUSH 1\n PUSH 1\n SYSCALL saul_reg_read\n RETURN\n", Err(IrTrap::MemoryOutOfBounds)),
    ];
    for (src, want) in cases {
        let bytes = assemble(src).unwrap();
        let mut pair = Pair::new(&bytes, SimPlatform::demo()).unwrap();
        assert_eq!(pair.call("f", &[0x1234], &[]).unwrap(), *want, "{src}");
    }
}

#[test]
fn storage_full_traps_after_the_cells_that_fit() {
    let bytes = assemble(".public f\n BITS64\n PUSH 0x1122334455667788\n PUSH 7\n SSTORE\n STOP\n").unwrap();
    let mut platform = SimPlatform::demo();
    platform.set_kv_limit(1);
    let mut pair = Pair::new(&bytes, platform).unwrap();
    // The low cell is stored, the high one is refused.
    assert_eq!(pair.call("f", &[], &[]).unwrap(), Err(IrTrap::StorageFull));
    let local = KvScope::Local(alkyl_translator::ir::lockstep::APP);
    assert_eq!(pair.device.kv_fetch(local, 7), Some(0x5566_7788));
    assert_eq!(pair.device.kv_fetch(local, 8), None);
}

/// Fletcher-32's inner loop: one word costs 7 eBPF instructions (load
/// address, add offset, load, two adds, advance, fused compare-and-branch).
/// clang -O2 needs 6; the benchmark (`make bench-ir`) reports whole runs.
#[test]
fn fletcher_inner_loop_costs_seven_instructions_per_word() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../apps/ir/fletcher32.air")).unwrap();
    let bytes = assemble(&text).unwrap();
    let mut pair = Pair::new(&bytes, SimPlatform::demo()).unwrap();
    let input = vec![0x5au8; 600];
    pair.call("fletcher32", &[200], &input).unwrap().unwrap();
    let short = pair.last_executed;
    pair.call("fletcher32", &[600], &input).unwrap().unwrap();
    let long = pair.last_executed;
    assert_eq!((long - short) / 200, 7, "{short} vs {long}");
}

/// A function table locates entries by a 16-bit byte offset: a function
/// that would start past eBPF instruction 8191 is refused at translation,
/// never packed into a container that cannot name it.
#[test]
fn an_entry_beyond_the_function_tables_reach_is_an_error() {
    use alkyl_translator::ir::{compile, CompileError, TranslateErrorKind};
    // Each GLOAD/GSTORE pair is six eBPF slots (lddw + load, lddw + store).
    let body = " GLOAD g\n GSTORE g\n".repeat(1400);
    let source = format!(".global g w32 0\n.public big\n{body} STOP\n.public late\n STOP\n");
    match compile(&assemble(&source).unwrap()) {
        Err(CompileError::Translate(e)) => {
            assert_eq!(e.function, 1);
            assert!(matches!(e.kind, TranslateErrorKind::EntryTooFar { pc } if pc > 8191), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Half as long, it fits.
    let body = " GLOAD g\n GSTORE g\n".repeat(700);
    assert!(compile(&assemble(&format!(".global g w32 0\n.public big\n{body} STOP\n.public late\n STOP\n")).unwrap())
        .is_ok());
}
