//! Loading programs from files, whatever form they come in: assembler text
//! (`.s`, `.asm`), clang `-target bpf` objects (ELF, packed on the fly),
//! Alkyl IR (text `.air` or a binary module, `AKIR` magic: compiled on the
//! fly into a container, as a device does with an upload), containers
//! (`rBPF` magic) and raw bytecode (`.bin`, `.bpf`, `.raw`, no extension,
//! or binary content; a multiple of 8 bytes). Anything else (a text file
//! that is none of these) is refused with what was expected.

use std::path::Path;

use alkyl_pack::{pack, PackOptions};
use alkyl_vm::container::{Container, ContainerRepr, Convention, MAGIC, MAGIC_NATIVE_C};
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

/// What every loader accepts, for the refusal messages.
const EXPECTED: &str = "expected eBPF assembler (.s, .asm), a clang -target bpf object (.o), Alkyl IR \
     (.air or a binary module), a container (.rbf) or raw bytecode (.bin, a multiple of 8 bytes)";

/// True for file names raw bytecode goes by (or none).
fn is_raw_name(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(e) => matches!(e.to_ascii_lowercase().as_str(), "bin" | "bpf" | "raw" | "ebpf"),
    }
}

/// True when `bytes` look like text (UTF-8 without control characters
/// other than whitespace): not bytecode.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !c.is_control() || c.is_whitespace()))
}

/// `bytes` as raw bytecode, if the name or the content say so.
fn raw_code(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.is_empty() || bytes.len() % 8 != 0 || (!is_raw_name(path) && is_text(&bytes)) {
        let what = if is_text(&bytes) { "a text file" } else { "not a multiple of 8 bytes" };
        anyhow::bail!("{}: not a program ({what}, {} bytes): {EXPECTED}", path.display(), bytes.len());
    }
    Ok(bytes)
}

/// Assembles assembler text.
fn assemble(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{}: not assembler text (a binary file): {EXPECTED}", path.display()))?;
    alkyl_asm::assemble(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Reads bytecode: assembler text (`.s`, `.asm`) is assembled, raw
/// bytecode is taken as it is, anything else is refused.
///
/// # Errors
/// Unreadable file, the assembler's error with its line, or not a program.
pub fn load(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if is_assembly(path) {
        assemble(path, bytes)
    } else {
        raw_code(path, bytes)
    }
}

/// Reads assembler text, whatever its name (`alkyl asm`): a binary file is
/// refused, text is assembled (and fails on its first line if it is not
/// assembler).
///
/// # Errors
/// Unreadable file, a binary file, or the assembler's error with its line.
pub fn load_assembly(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    assemble(path, bytes)
}

/// Reads any program form: assembler text and IR text by extension; ELF
/// objects, IR modules and containers by their magic bytes; raw bytecode
/// by name or content; refuses anything else. With `convention`, declares
/// it in the container (an object is packed with it, a container with a
/// trailer rewritten).
///
/// # Errors
/// Unreadable file, not a program, the assembler's, the packer's or the IR
/// compiler's error; a convention for bare bytecode or for a container
/// without a trailer.
pub fn load_as(path: &Path, convention: Option<Convention>) -> Result<Loaded> {
    // Translated IR traps by reading small addresses (`docs/alkyl-ir.md`,
    // "Traps"), which Femto-Container's convention maps (the packet).
    if convention == Some(Convention::FemtoContainer) && !is_assembly(path) && crate::ir::is_ir(path)? {
        anyhow::bail!(
            "{}: Alkyl IR runs by Alkyl's convention only (its traps read addresses that \
             Femto-Container's maps to the packet)",
            path.display()
        );
    }
    let loaded = load_declared(path, convention)?;
    match (convention, loaded) {
        (None, loaded) => Ok(loaded),
        (Some(_), Loaded::Code(_)) => anyhow::bail!(
            "{}: --convention needs an object (.o), IR or a container: bare bytecode has no place to declare it",
            path.display()
        ),
        (Some(c), Loaded::Container(bytes)) => declare(path, &bytes, c).map(Loaded::Container),
    }
}

/// `bytes` with `convention` declared in the trailer.
fn declare(path: &Path, bytes: &[u8], convention: Convention) -> Result<Vec<u8>> {
    let container = Container::new_checked(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut repr = ContainerRepr::parse(&container);
    match repr.trailer.as_mut() {
        Some(t) => t.convention = convention,
        None if convention == Convention::Alkyl => return Ok(bytes.to_vec()),
        None => anyhow::bail!(
            "{}: a container without Alkyl's trailer (gen_rbf.py, `alkyl pack --compat`) cannot declare a \
             convention: pack the object with `alkyl pack --convention femto-container`",
            path.display()
        ),
    }
    let mut out = vec![0; repr.buffer_len()];
    repr.emit(&mut out)?;
    Ok(out)
}

fn load_declared(path: &Path, convention: Option<Convention>) -> Result<Loaded> {
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
            let options = PackOptions { convention: convention.unwrap_or_default(), ..PackOptions::default() };
            let packed = pack(&bytes, &options).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(Loaded::Container(packed.to_bytes()?))
        }
        Some(m) if m == MAGIC || m == MAGIC_NATIVE_C => Ok(Loaded::Container(bytes)),
        _ => raw_code(path, bytes).map(Loaded::Code),
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

/// `--convention`: how a host passes a CoAP request (`docs/helpers.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ConventionArg {
    /// Alkyl's: payload in r1/r2, the alkyl_coap_ctx_t in r3.
    Alkyl,
    /// Femto-Container's: the bpf_coap_ctx_t in r1, the coap_pkt_t and
    /// the packet mapped as regions.
    FemtoContainer,
}

impl From<ConventionArg> for Convention {
    fn from(c: ConventionArg) -> Convention {
        match c {
            ConventionArg::Alkyl => Convention::Alkyl,
            ConventionArg::FemtoContainer => Convention::FemtoContainer,
        }
    }
}

/// The assembler text of any program form `alkyl` loads (`alkyl disasm`):
/// bytecode as it is; a container, an object (packed first) or an IR
/// module (translated first) as its `.text`, with its functions as labels
/// (so `call NAME`), after a comment line with its other sections. The
/// text assembles back into the same `.text`.
///
/// # Errors
/// As [`load_as`]; bytecode that is not whole instructions.
pub fn disassemble(path: &Path) -> Result<String> {
    let listing = |code: &[u8], names: &[(usize, &str)]| {
        alkyl_asm::disassemble_named(code, names).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    match load_as(path, None)? {
        Loaded::Code(code) => listing(&code, &[]),
        Loaded::Container(bytes) => {
            let c = Container::new_checked(&bytes[..]).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let parts = c.parts();
            let names: Vec<(usize, String)> =
                c.functions().map(|f| (f.pc(), String::from_utf8_lossy(f.name).into_owned())).collect();
            let named: Vec<(usize, &str)> = names.iter().map(|(pc, n)| (*pc, n.as_str())).collect();
            let mut out = format!(
                "# container: .text {} B, .data {} B, .rodata {} B, {} function(s), convention {:?}\n",
                parts.text.len(),
                parts.data.len(),
                parts.rodata.len(),
                names.len(),
                c.convention()
            );
            out.push_str(&listing(parts.text, &named)?);
            Ok(out)
        }
    }
}
