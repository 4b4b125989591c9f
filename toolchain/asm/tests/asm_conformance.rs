//! The assembler and disassembler against the public bpf_conformance suite,
//! read in place (nothing of it is copied into this repository):
//!
//! - every `*.data` program's `-- asm` section assembles to the suite's own
//!   assembler output in `reference-bytecode.json`, byte for byte;
//! - every assembler-level file in `negative/` is rejected with the right
//!   kind of error, and the other negative files assemble (their problem is
//!   for the verifier or the runner);
//! - every reference program survives `assemble(disassemble(bytes))`.
//!
//! The suite is looked up in `$BPF_CONFORMANCE_DIR` (relative paths are
//! taken from the workspace root, as in the Makefile), else in
//! `<workspace>/../shared/conformance/bpf_conformance`. When the default
//! directory is absent the tests say so and pass; when the variable names a
//! directory that is absent they fail.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use alkyl_asm::{assemble, disassemble, format_insn, AsmErrorKind, OperandKind};
use alkyl_vm::isa::{Insn, INSN_SIZE};

struct Suite {
    dir: PathBuf,
}

impl Suite {
    /// The suite, or `None` (after saying why) when it is not installed.
    fn find(test: &str) -> Option<Suite> {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        match std::env::var_os("BPF_CONFORMANCE_DIR") {
            Some(dir) => {
                let dir = workspace.join(dir);
                assert!(dir.is_dir(), "BPF_CONFORMANCE_DIR={} is not a directory", dir.display());
                Some(Suite { dir })
            }
            None => {
                let dir = workspace.join("../shared/conformance/bpf_conformance");
                if dir.is_dir() {
                    Some(Suite { dir })
                } else {
                    eprintln!(
                        "{test}: NOT RUN: the bpf_conformance suite is not at {} \
                         (set BPF_CONFORMANCE_DIR to run it)",
                        dir.display()
                    );
                    None
                }
            }
        }
    }

    /// The `*.data` files directly in `dir`, sorted by name.
    fn data_files(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "data"))
            .map(|path| {
                let name = path.file_name().expect("a file").to_string_lossy().into_owned();
                let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                (name, text)
            })
            .collect();
        files.sort();
        files
    }

    fn programs(&self) -> Vec<(String, String)> {
        Self::data_files(&self.dir)
    }

    fn negatives(&self) -> Vec<(String, String)> {
        Self::data_files(&self.dir.join("negative"))
    }

    /// File name → program bytes, from `reference-bytecode.json`.
    fn reference(&self) -> BTreeMap<String, Vec<u8>> {
        let path = self.dir.join("reference-bytecode.json");
        let json = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The file is one flat object of string pairs without escapes.
        let strings: Vec<&str> = json.split('"').skip(1).step_by(2).collect();
        assert!(strings.len() % 2 == 0, "{}: odd number of strings", path.display());
        strings.chunks(2).map(|pair| (pair[0].to_string(), unhex(pair[1]))).collect()
    }
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

/// The `-- asm` section of a `.data` file, or `None` if it has none.
fn asm_section(data: &str) -> Option<String> {
    let mut lines = data.lines().skip_while(|line| line.trim_end() != "-- asm");
    lines.next()?;
    let body: Vec<&str> = lines.take_while(|line| !line.starts_with("-- ")).collect();
    Some(body.join("\n"))
}

/// Describes the first slot where `actual` differs from `expected`.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let slot = |code: &[u8], pc: usize| {
        Insn::at(code, pc)
            .map_or_else(|| "(none)".to_string(), |insn| format_insn(&insn, Insn::at(code, pc + 1).as_ref()))
    };
    let slots = expected.len().max(actual.len()).div_ceil(INSN_SIZE);
    let pc = (0..slots).find(|&pc| Insn::at(expected, pc) != Insn::at(actual, pc)).unwrap_or(slots);
    format!(
        "{} slots expected, {} assembled; first difference at slot {pc}: expected `{}`, assembled `{}`",
        expected.len() / INSN_SIZE,
        actual.len() / INSN_SIZE,
        slot(expected, pc),
        slot(actual, pc),
    )
}

#[test]
fn assembler_reproduces_the_reference_bytecode() {
    let Some(suite) = Suite::find("assembler_reproduces_the_reference_bytecode") else { return };
    let reference = suite.reference();
    let programs = suite.programs();
    let mut failures = Vec::new();
    for (name, data) in &programs {
        let Some(expected) = reference.get(name) else {
            failures.push(format!("{name}: no entry in reference-bytecode.json"));
            continue;
        };
        let Some(source) = asm_section(data) else {
            failures.push(format!("{name}: no `-- asm` section"));
            continue;
        };
        match assemble(&source) {
            Ok(actual) if actual == *expected => {}
            Ok(actual) => failures.push(format!("{name}: {}", first_difference(expected, &actual))),
            Err(error) => failures.push(format!("{name}: rejected: {error}")),
        }
    }
    for name in reference.keys() {
        if !programs.iter().any(|(file, _)| file == name) {
            failures.push(format!("{name}: in reference-bytecode.json but not in the suite"));
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(failures.is_empty(), "{} of {} programs differ from the reference", failures.len(), programs.len());
    assert!(!programs.is_empty(), "no .data files in {}", suite.dir.display());
    eprintln!("{} programs match the reference bytecode", programs.len());
}

/// Whether an error is of the kind a negative file must get.
type KindCheck = fn(&AsmErrorKind) -> bool;

/// The negative files whose problem is in the assembly text, and the kind
/// of error each must get.
const ASSEMBLER_NEGATIVES: &[(&str, KindCheck)] = &[
    ("invalid_imm32_dec_range.data", |k| matches!(k, AsmErrorKind::ImmediateOutOfRange { bits: 32, .. })),
    ("invalid_imm32_hex_range.data", |k| matches!(k, AsmErrorKind::ImmediateOutOfRange { bits: 32, .. })),
    ("invalid_label.data", |k| matches!(k, AsmErrorKind::UndefinedLabel(_))),
    ("invalid_lock.data", |k| matches!(k, AsmErrorKind::OperandCount { expected: 2, found: 1, .. })),
    ("invalid_lock2.data", |k| matches!(k, AsmErrorKind::MissingAtomicOperation)),
    ("invalid_mnemonic.data", |k| matches!(k, AsmErrorKind::UnknownMnemonic(_))),
    ("invalid_offset.data", |k| matches!(k, AsmErrorKind::ExpectedOperand { expected: OperandKind::Memory, .. })),
    ("invalid_offset_range.data", |k| matches!(k, AsmErrorKind::OffsetOutOfRange(_))),
    ("invalid_operand_count.data", |k| matches!(k, AsmErrorKind::OperandCount { expected: 2, found: 1, .. })),
    ("invalid_register.data", |k| matches!(k, AsmErrorKind::InvalidRegister(_))),
];

#[test]
fn assembler_rejects_the_assembler_level_negatives() {
    let Some(suite) = Suite::find("assembler_rejects_the_assembler_level_negatives") else { return };
    let negatives = suite.negatives();
    let mut failures = Vec::new();
    for (name, is_expected) in ASSEMBLER_NEGATIVES {
        let Some((_, data)) = negatives.iter().find(|(file, _)| file == name) else {
            failures.push(format!("{name}: missing from negative/"));
            continue;
        };
        let source = asm_section(data).unwrap_or_default();
        match assemble(&source) {
            Err(error) if is_expected(&error.kind) => eprintln!("{name}: rejected: {error}"),
            Err(error) => failures.push(format!("{name}: rejected for the wrong reason: {error}")),
            Ok(code) => failures.push(format!("{name}: assembled to {} slots", code.len() / INSN_SIZE)),
        }
    }
    // The other negatives are raw bytecode, empty, or valid text whose
    // problem is found by the verifier or the runner.
    for (name, data) in &negatives {
        let Some(source) = asm_section(data) else { continue };
        if ASSEMBLER_NEGATIVES.iter().all(|(negative, _)| negative != name) {
            if let Err(error) = assemble(&source) {
                failures.push(format!("{name}: valid assembly rejected: {error}"));
            }
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(failures.is_empty(), "{} negative files handled wrongly", failures.len());
}

#[test]
fn disassembly_round_trips_every_reference_program() {
    let Some(suite) = Suite::find("disassembly_round_trips_every_reference_program") else { return };
    let reference = suite.reference();
    let mut failures = Vec::new();
    for (name, code) in &reference {
        let text = match disassemble(code) {
            Ok(text) => text,
            Err(error) => {
                failures.push(format!("{name}: {error}"));
                continue;
            }
        };
        if text.contains(".raw") {
            failures.push(format!("{name}: disassembly falls back to .raw:\n{text}"));
        }
        match assemble(&text) {
            Ok(again) if again == *code => {}
            Ok(again) => failures.push(format!("{name}: {}\n{text}", first_difference(code, &again))),
            Err(error) => failures.push(format!("{name}: disassembly rejected: {error}\n{text}")),
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(failures.is_empty(), "{} of {} programs do not round-trip", failures.len(), reference.len());
    assert!(!reference.is_empty(), "reference-bytecode.json is empty");
}
