//! Loading programs from files, whatever form they come in: assembler text
//! (`.s`, `.asm`), clang `-target bpf` objects (ELF, packed on the fly),
//! Alkyl IR (text `.air` or a binary module, `AKIR` magic: compiled on the
//! fly into a container, as a device does with an upload), containers
//! (`rBPF` magic) and raw bytecode.

use std::path::Path;

use alkyl_pack::{pack, PackOptions};
use alkyl_vm::container::{MAGIC, MAGIC_NATIVE_C};
use alkyl_vm::isa::Insn;
use alkyl_vm::VerifyError;
use anyhow::{Context, Result};

/// A program as read from a file.
pub enum Loaded {
    /// Bare bytecode (one entry point: instruction 0).
    Code(Vec<u8>),
    /// A container (from a `.rbf` file, or packed from an ELF object).
    Container(Vec<u8>),
}

/// True for assembler source file names.
fn is_assembly(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("s" | "asm"))
}

/// Reads bytecode: assembler text (`.s`, `.asm`) is assembled, anything
/// else is taken as raw bytecode.
///
/// # Errors
/// Unreadable file, or the assembler's error with its line.
pub fn load(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if is_assembly(path) {
        let text = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
        alkyl_asm::assemble(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    } else {
        Ok(bytes)
    }
}

/// Reads any program form: assembler text and IR text by extension; ELF
/// objects, IR modules and containers by their magic bytes; anything else
/// as raw bytecode.
///
/// # Errors
/// Unreadable file, the assembler's, the packer's or the IR compiler's error.
pub fn load_any(path: &Path) -> Result<Loaded> {
    if is_assembly(path) {
        return load(path).map(Loaded::Code);
    }
    if crate::ir::is_ir(path)? {
        let module = crate::ir::load(path)?;
        return crate::ir::compile(&module).map(Loaded::Container).with_context(|| path.display().to_string());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    match bytes.get(..4) {
        Some(b"\x7fELF") => {
            let packed =
                pack(&bytes, &PackOptions::default()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(Loaded::Container(packed.to_bytes()?))
        }
        Some(m) if m == MAGIC || m == MAGIC_NATIVE_C => Ok(Loaded::Container(bytes)),
        _ => Ok(Loaded::Code(bytes)),
    }
}

/// A verifier error with the offending instruction disassembled.
pub fn describe_verify_error(code: &[u8], e: &VerifyError) -> String {
    match Insn::at(code, e.pc) {
        Some(insn) => {
            let next = Insn::at(code, e.pc + 1);
            let text = alkyl_asm::format_insn(&insn, next.as_ref());
            format!("{e} (`{text}`)")
        }
        None => e.to_string(),
    }
}

/// Loads a container the way the device does (every helper the host
/// implements), with verifier errors shown on the offending instruction.
///
/// # Errors
/// The container's broken rule, the verifier's, or a bad entry.
pub fn load_script(bytes: &[u8]) -> Result<alkyl_vm::container::Script<&[u8]>> {
    use alkyl_vm::container::{Container, LoadError, Script};
    Script::load(bytes, &alkyl_bindings::ALL_HELPERS).map_err(|e| match e {
        LoadError::Verify(v) => {
            let text = Container::new_checked(bytes).map(|c| c.parts().text).unwrap_or(&[]);
            anyhow::anyhow!("verification failed: {}", describe_verify_error(text, &v))
        }
        other => anyhow::anyhow!("{other}"),
    })
}
