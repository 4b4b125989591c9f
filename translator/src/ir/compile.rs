//! The whole device-side path in one call: module bytes → parse →
//! validate → translate (which runs the VM verifier on its output). This
//! is what a runtime accepting Alkyl IR uploads calls before storing the
//! eBPF; it needs only `alloc`.

use core::fmt;

use super::module::{IrError, Module};
use super::translate::{translate, TranslateError, TranslatedModule};
use super::validate::{validate, ValidateError};

/// Why uploaded module bytes were refused, by stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileError {
    Parse(IrError),
    Validate(ValidateError),
    Translate(TranslateError),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Parse(e) => write!(f, "malformed module: {e}"),
            CompileError::Validate(e) => write!(f, "invalid module: {e}"),
            CompileError::Translate(e) => write!(f, "cannot translate: {e}"),
        }
    }
}

impl core::error::Error for CompileError {}

/// Parses, validates and translates `bytes`.
///
/// # Errors
/// The first stage that refuses the module, with its position.
///
/// # Panics
/// Never.
pub fn compile(bytes: &[u8]) -> Result<TranslatedModule, CompileError> {
    let module = Module::parse(bytes).map_err(CompileError::Parse)?;
    let valid = validate(module).map_err(CompileError::Validate)?;
    translate(&valid).map_err(CompileError::Translate)
}
