//! Runs the public bpf_conformance suite (`.data` files) against the VM.
//!
//! A test passes when its `-- asm` section assembles to the bytes in the
//! suite's `reference-bytecode.json` (when that file lists it), the program
//! verifies and runs, and `r0` equals `-- result` in all 64 bits (the
//! suite's own runner compares only the low 32). A test with `-- error`
//! passes when verification or execution fails. Every file under
//! `negative/` must be rejected at some stage.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use alkyl_asm::assemble;
use alkyl_vm::DEFAULT_BUDGET;
use anyhow::{bail, Context, Result};

use crate::exec::{execute_on, ConformanceHelpers, Engine};
use crate::hex;

/// The sections of one `.data` file.
#[derive(Debug, Default)]
pub struct TestFile {
    pub asm: Option<String>,
    pub raw: Option<Vec<u8>>,
    pub mem: Vec<u8>,
    pub result: Option<u64>,
    pub error: Option<String>,
}

/// Parses a `.data` file.
///
/// # Errors
/// Unknown sections, malformed hex or numbers, a file with no program.
pub fn parse(text: &str) -> Result<TestFile> {
    let mut file = TestFile::default();
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- ") {
            sections.push((name.trim().to_string(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        } else if !line.trim().is_empty() && !line.starts_with('#') {
            bail!("text before the first section: {line:?}");
        }
    }
    for (name, body) in sections {
        match name.as_str() {
            "asm" => file.asm = Some(body),
            "raw" => file.raw = Some(parse_raw(&body)?),
            "mem" => file.mem = hex::parse(&body).context("-- mem")?,
            "result" => file.result = Some(parse_number(body.trim()).context("-- result")?),
            "error" => file.error = Some(body.trim().to_string()),
            // Source the program was compiled from, and a runner option
            // about JIT register offsets: informative only.
            "c" | "no register offset" => {}
            other => bail!("unknown section -- {other}"),
        }
    }
    if file.asm.is_none() && file.raw.is_none() {
        bail!("no -- asm or -- raw section");
    }
    if file.result.is_none() && file.error.is_none() {
        bail!("no -- result or -- error section");
    }
    Ok(file)
}

/// `-- raw` holds either one little-endian 64-bit word per line (`0x…`) or
/// plain hex bytes.
fn parse_raw(body: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        match line.strip_prefix("0x") {
            Some(word) if !word.contains(' ') => {
                let w = u64::from_str_radix(word, 16).with_context(|| format!("raw word {line:?}"))?;
                out.extend_from_slice(&w.to_le_bytes());
            }
            _ => out.extend(hex::parse(line)?),
        }
    }
    Ok(out)
}

fn parse_number(s: &str) -> Result<u64> {
    Ok(match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16)?,
        None => match s.strip_prefix('-') {
            Some(d) => d.parse::<u64>()?.wrapping_neg(),
            None => s.parse()?,
        },
    })
}

/// What running one file's program produced.
enum Outcome {
    /// It verified, ran, and `r0` is this value.
    Returned(u64),
    /// Verification failed or the run trapped.
    Failed(String),
}

/// Assembles and runs one test file. `Err` is a problem with the file
/// itself: unparsable, an assembler error, bytes that differ from the
/// reference.
fn evaluate(path: &Path, reference: &HashMap<String, String>, engine: Engine) -> Result<(TestFile, Outcome)> {
    let text = fs::read_to_string(path)?;
    let test = parse(&text)?;
    let code = match (&test.asm, &test.raw) {
        (Some(asm), raw) => {
            let code = assemble(asm).map_err(|e| anyhow::anyhow!("assembler: {e}"))?;
            if raw.as_ref().is_some_and(|raw| raw != &code) {
                bail!("assembled bytes differ from -- raw");
            }
            code
        }
        (None, Some(raw)) => raw.clone(),
        (None, None) => bail!("no program"),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if let Some(expected) = reference.get(name) {
        let got = hex::format(&code);
        if &got != expected {
            bail!("assembler output differs from reference-bytecode.json:\n  got      {got}\n  expected {expected}");
        }
    }
    let mut mem = test.mem.clone();
    let outcome = match execute_on(engine, &code, &mut mem, &mut ConformanceHelpers, DEFAULT_BUDGET) {
        Ok(exit) => Outcome::Returned(exit.r0),
        Err(e) => Outcome::Failed(e.to_string()),
    };
    Ok((test, outcome))
}

/// A positive test passes when it meets its expectation exactly.
fn check(path: &Path, reference: &HashMap<String, String>, engine: Engine) -> Result<()> {
    let (test, outcome) = evaluate(path, reference, engine)?;
    match (outcome, test.result, &test.error) {
        (Outcome::Failed(_), _, Some(_)) => Ok(()),
        (Outcome::Returned(r0), _, Some(_)) => bail!("expected an error, got r0 = {r0:#x}"),
        (Outcome::Returned(r0), Some(want), None) if r0 == want => Ok(()),
        (Outcome::Returned(r0), Some(want), None) => bail!("r0 = {r0:#x}, expected {want:#x}"),
        (Outcome::Failed(e), _, None) => bail!("{e}"),
        (Outcome::Returned(_), None, None) => bail!("no expectation"),
    }
}

/// A negative file is rejected when any stage refuses it: the file, the
/// assembler, the verifier or a trap, a result that differs from the one
/// claimed, or a clean run where the file claims an error. Returns the
/// reason it was rejected, or `None` when it was accepted.
fn rejection(path: &Path, engine: Engine) -> Option<String> {
    match evaluate(path, &HashMap::new(), engine) {
        Err(e) => Some(format!("{e:#}")),
        Ok((_, Outcome::Failed(e))) => Some(e),
        Ok((test, Outcome::Returned(r0))) => match (test.result, test.error) {
            (Some(want), _) if want != r0 => Some(format!("r0 = {r0:#x}, not the claimed {want:#x}")),
            (_, Some(_)) => Some(format!("runs (r0 = {r0:#x}) although the file claims an error")),
            _ => None,
        },
    }
}

fn data_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    Ok(files)
}

/// Summary of a suite run.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub negative_rejected: usize,
    pub negative_accepted: usize,
}

/// Runs every `.data` file in `dir` and in `dir/negative`, printing one
/// line per failure and a summary.
///
/// # Errors
/// When `dir` cannot be read.
#[allow(dead_code)]
pub fn run_suite(dir: &Path, verbose: bool) -> Result<Summary> {
    run_suite_on(dir, verbose, Engine::Reference)
}

/// [`run_suite`] on the chosen engine.
///
/// # Errors
/// As [`run_suite`].
pub fn run_suite_on(dir: &Path, verbose: bool, engine: Engine) -> Result<Summary> {
    let reference: HashMap<String, String> = match fs::read_to_string(dir.join("reference-bytecode.json")) {
        Ok(text) => serde_json::from_str(&text).context("reference-bytecode.json")?,
        Err(_) => HashMap::new(),
    };
    let mut summary = Summary::default();
    for path in data_files(dir)? {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match check(&path, &reference, engine) {
            Ok(()) => {
                summary.passed += 1;
                if verbose {
                    println!("PASS {name}");
                }
            }
            Err(e) => {
                summary.failed += 1;
                println!("FAIL {name}: {e:#}");
            }
        }
    }
    let negative = dir.join("negative");
    if negative.is_dir() {
        for path in data_files(&negative)? {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            match rejection(&path, engine) {
                None => {
                    summary.negative_accepted += 1;
                    println!("FAIL negative/{name}: accepted");
                }
                Some(reason) => {
                    summary.negative_rejected += 1;
                    if verbose {
                        println!("REJECTED negative/{name}: {reason}");
                    }
                }
            }
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let t = parse("# c\n-- asm\nmov %r0, 1\nexit\n-- mem\n00 01\n-- result\n0x1\n").unwrap();
        assert_eq!(t.asm.as_deref(), Some("mov %r0, 1\nexit\n"));
        assert_eq!(t.mem, vec![0, 1]);
        assert_eq!(t.result, Some(1));
    }

    #[test]
    fn raw_words_are_little_endian() {
        let t = parse("-- raw\n0x0000000000000095\n-- result\n0x0\n").unwrap();
        assert_eq!(t.raw.unwrap(), vec![0x95, 0, 0, 0, 0, 0, 0, 0]);
        let t = parse("-- raw\n95 00 00 00 00 00 00 00\n-- error\n").unwrap();
        assert_eq!(t.raw.unwrap()[0], 0x95);
    }

    #[test]
    fn rejects_unknown_sections_and_empty_files() {
        assert!(parse("-- asm\nexit\n-- Unknown directive\n-- result\n0\n").is_err());
        assert!(parse("").is_err());
        assert!(parse("-- result\n0x0\n").is_err());
    }

    #[test]
    fn negative_results() {
        assert_eq!(parse_number("-1").unwrap(), u64::MAX);
        assert_eq!(parse_number("0xffffffffffffffff").unwrap(), u64::MAX);
    }
}
