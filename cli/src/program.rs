//! Loading programs from files, whatever form they come in.

use std::path::Path;

use alkyl_vm::isa::Insn;
use alkyl_vm::VerifyError;
use anyhow::{Context, Result};

/// True for assembler source file names.
fn is_assembly(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("s" | "asm"))
}

/// Reads a program: assembler text (`.s`, `.asm`) is assembled, anything
/// else is taken as raw bytecode.
///
/// # Errors
/// Unreadable file, or the assembler's error with its line.
pub fn load(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if is_assembly(path) {
        let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
        alkyl_translator::ebpf::assemble(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    } else {
        Ok(bytes)
    }
}

/// A verifier error with the offending instruction disassembled.
pub fn describe_verify_error(code: &[u8], e: &VerifyError) -> String {
    match Insn::at(code, e.pc) {
        Some(insn) => {
            let next = Insn::at(code, e.pc + 1);
            let text = alkyl_translator::ebpf::format_insn(&insn, next.as_ref());
            format!("{e} (`{text}`)")
        }
        None => e.to_string(),
    }
}
