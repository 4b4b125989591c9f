//! The Alkyl language: the AlkyVM paper's C-like dialect (section III),
//! compiled to Alkyl IR. The specification is `docs/alkyl-lang.md`.
//!
//! ```text
//! source ──lexer (logos)──▶ tokens ──parser (recursive descent, Pratt)──▶ AST
//!        ──check──▶ typed tree ──inline──▶ one body per entry ──lower──▶ IR module (ir::builder)
//! ```
//!
//! [`compile`] runs it all and validates the result with the IR validator;
//! errors and warnings are [`Diagnostic`]s, rendered by [`render`].

pub mod ast;
pub mod check;
pub mod diag;
pub mod inline;
pub mod lexer;
pub mod lower;
pub mod parser;
pub mod syscalls;
pub mod typed;
pub mod types;

pub use diag::{render, Diagnostic, Severity, Span};
pub use lower::{mode_blocks, OUT_OF_BOUNDS};
pub use typed::TProgram;

/// A compiled program.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The binary IR module (validated).
    pub module: Vec<u8>,
    /// A gateway module (an Aryl script)?
    pub gateway: bool,
    pub warnings: Vec<Diagnostic>,
}

/// Parses and type-checks `src`: the typed program and its warnings.
///
/// # Errors
/// Every diagnostic, when one is an error.
pub fn front(src: &str) -> Result<(TProgram, Vec<Diagnostic>), Vec<Diagnostic>> {
    let ast = parser::parse(src).map_err(|d| vec![d])?;
    check::check(&ast)
}

/// Compiles Alkyl source into a validated IR module.
///
/// # Errors
/// Every diagnostic, when one is an error (warnings included).
///
/// # Panics
/// Never.
pub fn compile(src: &str) -> Result<Compiled, Vec<Diagnostic>> {
    let (prog, warnings) = front(src)?;
    let whole = Span { start: 0, end: 0 };
    let module = lower::lower(&prog).map_err(|e| {
        let f = if e.function.is_empty() { String::new() } else { format!("`{}`: ", e.function) };
        vec![Diagnostic::error(whole, format!("{f}{}", e.message), "cannot compile")]
    })?;
    // The IR validator is the last word: a failure here is a compiler bug.
    let parsed = alkyl_translator::ir::Module::parse(&module)
        .map_err(|e| vec![Diagnostic::error(whole, format!("compiler bug: module does not parse: {e}"), "")])?;
    alkyl_translator::ir::validate(parsed)
        .map_err(|e| vec![Diagnostic::error(whole, format!("compiler bug: invalid IR: {e}"), "")])?;
    Ok(Compiled { module, gateway: prog.gateway, warnings })
}

/// Compiles `src` read from `file`; on failure, the rendered diagnostics.
///
/// # Errors
/// The diagnostics as text (`file:line:column`, the line, a caret).
pub fn compile_file(file: &str, src: &str) -> Result<Compiled, String> {
    compile(src).map_err(|d| render(file, src, &d))
}
