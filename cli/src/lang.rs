//! `.alkyl` sources (the Alkyl language, `docs/alkyl-lang.md`): `alkyl
//! build`, and the one place ([`crate::ir::load`]) where every command that
//! takes a program compiles them on the way.

use std::path::{Path, PathBuf};

use alkyl_vm::{HelperError, HelperSet, Helpers, MemoryMap};
use anyhow::{anyhow, Context, Result};
use clap::{Args, ValueEnum};

/// The extension of Alkyl source files.
pub const EXTENSION: &str = "alkyl";

/// True for an Alkyl source file.
pub fn is_source(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == EXTENSION)
}

/// Compiles an `.alkyl` file into module bytes; warnings go to stderr.
///
/// # Errors
/// The diagnostics (`file:line:column`, the line, a caret), or an unreadable file.
pub fn compile(path: &Path) -> Result<Vec<u8>> {
    let src = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let c = alkyl_lang::compile_file(&name, &src).map_err(|d| {
        let d = d.trim_end();
        anyhow!("{}", d.strip_prefix("error: ").unwrap_or(d))
    })?;
    if !c.warnings.is_empty() {
        eprint!("{}", alkyl_lang::render(&name, &src, &c.warnings));
    }
    Ok(c.module)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Emit {
    /// The binary IR module (PrefixVarint), as `alkyl ir asm` writes it.
    IrBinary,
    /// IR text (`.air`).
    IrText,
    /// The translated, verified container (`.rbf`), as a device stores it.
    Container,
}

#[derive(Args)]
pub struct BuildArgs {
    /// Alkyl source.
    file: PathBuf,
    /// Output file [default: FILE with extension .akir, .air or .rbf].
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Emit::IrBinary)]
    emit: Emit,
}

/// `alkyl build`.
///
/// # Errors
/// The diagnostics, or a write error.
pub fn build(args: &BuildArgs) -> Result<()> {
    let module = compile(&args.file)?;
    let (bytes, ext) = match args.emit {
        Emit::IrBinary => (module, "akir"),
        Emit::IrText => (alkyl_translator::ir::text::disassemble(&module)?.into_bytes(), "air"),
        Emit::Container => (crate::ir::compile(&module)?, "rbf"),
    };
    let output = args.output.clone().unwrap_or_else(|| args.file.with_extension(ext));
    std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("wrote {} ({} bytes)", output.display(), bytes.len());
    Ok(())
}

/// Splits `A,B,"C,D"` at the commas outside double quotes.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A `"string"` argument: its bytes (at most 8) in a slot, first byte lowest.
pub fn string_arg(a: &str) -> Option<Result<u64>> {
    let body = a.strip_prefix('"')?.strip_suffix('"')?;
    if body.len() > 8 {
        return Some(Err(anyhow!("string argument {a} is longer than 8 bytes (a char* holds 8)")));
    }
    let mut b = [0u8; 8];
    b[..body.len()].copy_from_slice(body.as_bytes());
    Some(Ok(u64::from_le_bytes(b)))
}

/// Helpers that record every call (id and arguments) before performing it.
pub struct Traced<H> {
    inner: H,
    pub trace: Vec<(u32, [u64; 5])>,
}

impl<H> Traced<H> {
    pub fn new(inner: H) -> Self {
        Traced { inner, trace: Vec::new() }
    }
}

impl<H: HelperSet> HelperSet for Traced<H> {
    fn contains(&self, id: u32) -> bool {
        self.inner.contains(id)
    }
}

impl<H: Helpers> Helpers for Traced<H> {
    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        self.trace.push((id, args));
        self.inner.call(id, args, mem)
    }
}
