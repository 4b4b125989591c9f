//! The whole device-side path in one call: module bytes → parse →
//! validate → translate → container → load (the VM's container checks and
//! verifier, exactly as the device will load it). This is what a runtime
//! accepting Alkyl IR uploads calls before storing the container; it needs
//! only `alloc`.

use alloc::vec::Vec;

use alkyl_vm::container::{LoadError, Script};
use alkyl_vm::describe::{Describe, Sink};
use alkyl_vm::{HelperSet, VerifyError};

use super::module::{IrError, Module};
use super::translate::{translate, translate_within, TranslateError, TranslateErrorKind};
use super::validate::{validate, ValidateError, Validated};

/// Why uploaded module bytes were refused, by stage, each with its position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// Not a well-formed module: byte offset and reason.
    Parse(IrError),
    /// A function breaks a validation rule: function index, byte offset in
    /// its code, and the rule.
    Validate(ValidateError),
    /// The module does not fit the VM or the container format.
    Translate(TranslateError),
    /// The VM verifier rejected the translation: instruction index and
    /// rule. Never expected (a translator bug), reported rather than stored.
    Verify(VerifyError),
    /// The container did not load for another reason (a malformed field, an
    /// entry inside an `lddw`): also a translator bug.
    Load(LoadError),
}

impl Describe for CompileError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            CompileError::Parse(e) => ("malformed module: ", e).describe(out),
            CompileError::Validate(e) => ("invalid module: ", e).describe(out),
            CompileError::Translate(e) => ("cannot translate: ", e).describe(out),
            CompileError::Verify(e) => ("translation rejected by the verifier: ", e).describe(out),
            CompileError::Load(e) => ("translation does not load: ", e).describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(CompileError);

/// Parses, validates and translates `bytes` into a container, and loads
/// it as the device will (a gateway module is refused:
/// [`TranslateErrorKind::GatewayModule`]), with the helpers of `alkyl_bindings`
/// (`ALL_HELPERS`): the returned bytes are a container that
/// `Script::load` accepts.
///
/// # Errors
/// The first stage that refuses the module, with its position.
///
/// # Panics
/// Never.
pub fn compile(bytes: &[u8]) -> Result<Vec<u8>, CompileError> {
    compile_script(bytes).map(Script::into_inner)
}

/// [`compile`], keeping what the load found: the container as a verified
/// [`Script`] that owns it, so a device stores and runs it without
/// verifying it again.
///
/// # Errors
/// As [`compile`].
pub fn compile_script(bytes: &[u8]) -> Result<Script<Vec<u8>>, CompileError> {
    compile_script_within(bytes, usize::MAX)
}

/// [`compile_script`] for a device with an app quota: the translation
/// stops as soon as its code exceeds `max_bytes`
/// ([`TranslateErrorKind::TooLarge`]), before allocating more; a module
/// that would expand beyond the quota is refused without ever being
/// translated whole.
///
/// # Errors
/// As [`compile`], and [`TranslateErrorKind::TooLarge`].
///
/// [`TranslateErrorKind::TooLarge`]: super::translate::TranslateErrorKind::TooLarge
pub fn compile_script_within(bytes: &[u8], max_bytes: usize) -> Result<Script<Vec<u8>>, CompileError> {
    let module = Module::parse(bytes).map_err(CompileError::Parse)?;
    if module.profile == super::module::Profile::Gateway {
        // Its gateway syscalls are helpers only a gateway has.
        return Err(CompileError::Translate(TranslateError {
            function: 0,
            pos: 0,
            kind: TranslateErrorKind::GatewayModule,
        }));
    }
    let valid = validate(module).map_err(CompileError::Validate)?;
    let container = translate_within(&valid, max_bytes).and_then(|t| t.package()).map_err(CompileError::Translate)?;
    load(container, &alkyl_bindings::ALL_HELPERS)
}

/// [`compile`] from a validated module, loading with the helpers `host`
/// implements (tools that keep the module, e.g. to run the reference
/// interpreter beside the translation). The gateway compiles its Aryl
/// script (a gateway module) this way, with its own helpers: the gateway
/// syscalls are helpers `0x100..` ([`super::syscall::GATEWAY_HELPERS`]),
/// which a device's helper table lacks, so its verifier refuses them.
///
/// # Errors
/// As [`compile`], from the translation on.
pub fn compile_validated<S: HelperSet + ?Sized>(valid: &Validated<'_>, host: &S) -> Result<Vec<u8>, CompileError> {
    compile_validated_script(valid, host).map(Script::into_inner)
}

/// [`compile_validated`], keeping the verified [`Script`].
///
/// # Errors
/// As [`compile_validated`].
pub fn compile_validated_script<S: HelperSet + ?Sized>(
    valid: &Validated<'_>,
    host: &S,
) -> Result<Script<Vec<u8>>, CompileError> {
    let container = translate(valid).and_then(|t| t.package()).map_err(CompileError::Translate)?;
    load(container, host)
}

/// Loads a translation as the device will.
fn load<S: HelperSet + ?Sized>(container: Vec<u8>, host: &S) -> Result<Script<Vec<u8>>, CompileError> {
    Script::load(container, host).map_err(|e| match e {
        LoadError::Verify(e) => CompileError::Verify(e),
        e => CompileError::Load(e),
    })
}
