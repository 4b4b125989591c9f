//! The binary module: header, memory size, globals and functions.
//!
//! ```text
//! magic      "AKIR"
//! version    0x01
//! memory     varint           bytes of linear memory (<= MAX_MEMORY)
//! globals    varint count, then per global:
//!              width byte (0 = w8, 1 = w16, 2 = w32, 3 = w64)
//!              varint initial value (< 2^width)
//! functions  varint count, then per function:
//!              kind byte (0 = public, 1 = deviceevent)
//!              varint name length, name bytes ([A-Za-z_][A-Za-z0-9_]*, unique)
//!              varint parameter count (<= 5), one width byte per parameter
//!              varint code length, code bytes
//! ```
//!
//! Every varint is a canonical PrefixVarint ([`super::varint`]). Nothing may
//! follow the last function. [`Module::parse`] borrows names and code from
//! the input (a zero-copy view); [`Module::emit`] writes the same bytes back.

use alloc::vec::Vec;

use alkyl_vm::describe::{Describe, Sink};

use super::limits::{MAX_CODE_LEN, MAX_FUNCTIONS, MAX_GLOBALS, MAX_MEMORY, MAX_NAME_LEN, MAX_PARAMS};
use super::varint::{self, VarintError};
use super::width::Width;

/// The first four bytes of every device module.
pub const MAGIC: [u8; 4] = *b"AKIR";
/// The first four bytes of a gateway module ([`Profile::Gateway`]): the same
/// format, whose code may also call the gateway syscalls
/// ([`super::syscall::GATEWAY_SYSCALLS`]).
pub const GATEWAY_MAGIC: [u8; 4] = *b"AKGW";
/// The format version this crate reads and writes.
pub const VERSION: u8 = 1;
/// Offset of the version byte.
pub const VERSION_OFFSET: usize = 4;
/// Offset of the memory-size varint.
pub const BODY_OFFSET: usize = 5;

/// Who calls a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FunctionKind {
    /// Called by the gateway (e.g. `SetPin(pin, expires)`).
    Public,
    /// Called by the device's runtime on an event (e.g. `KeyPressed(key)`).
    DeviceEvent,
}

impl FunctionKind {
    /// The kind byte.
    pub const fn code(self) -> u8 {
        match self {
            FunctionKind::Public => 0,
            FunctionKind::DeviceEvent => 1,
        }
    }

    /// The text keyword.
    pub const fn keyword(self) -> &'static str {
        match self {
            FunctionKind::Public => "public",
            FunctionKind::DeviceEvent => "deviceevent",
        }
    }
}

/// Who runs a module: a device (the default), or the gateway (an Aryl
/// script compiled from the Alkyl language, `docs/alkyl-lang.md`). Only a
/// gateway module may call the gateway syscalls; a device never runs one
/// (translating it is an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    #[default]
    Device,
    Gateway,
}

impl Profile {
    /// The module's magic bytes.
    pub const fn magic(self) -> [u8; 4] {
        match self {
            Profile::Device => MAGIC,
            Profile::Gateway => GATEWAY_MAGIC,
        }
    }
}

/// A global variable: a word of fixed width with an initial value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Global {
    pub width: Width,
    pub init: u64,
}

/// A function: an entry point with typed parameters and a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function<'a> {
    pub kind: FunctionKind,
    pub name: &'a str,
    pub params: Vec<Width>,
    pub code: &'a [u8],
}

/// A parsed module, borrowing names and code from its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Module<'a> {
    /// Bytes of linear memory (zero at load).
    pub memory_size: u32,
    pub globals: Vec<Global>,
    pub functions: Vec<Function<'a>>,
    /// Device or gateway module (the magic bytes).
    pub profile: Profile,
}

/// What is wrong with a module's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrErrorKind {
    /// The first four bytes are not [`MAGIC`].
    BadMagic,
    /// A version this crate does not read.
    UnsupportedVersion(u8),
    /// The bytes end inside a field.
    Truncated,
    /// A varint with a shorter encoding.
    NonCanonicalVarint,
    /// A width byte above 3.
    BadWidth(u8),
    /// A function kind byte above 1.
    BadKind(u8),
    /// A function name that is empty, too long, or not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName,
    /// Two functions share a name.
    DuplicateName,
    /// A count or size above its limit.
    LimitExceeded { what: &'static str, value: u64, max: u64 },
    /// A global's initial value does not fit its width.
    InitTooWide { global: usize },
    /// Bytes after the last function.
    TrailingBytes,
}

impl Describe for IrErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            IrErrorKind::BadMagic => out.text("not an Alkyl IR module (bad magic)"),
            IrErrorKind::UnsupportedVersion(e) => ("unsupported format version ", e).describe(out),
            IrErrorKind::Truncated => out.text("module ends inside a field"),
            IrErrorKind::NonCanonicalVarint => out.text("varint is not in its shortest form"),
            IrErrorKind::BadWidth(e) => ("width code ", e, " (expected 0..=3)").describe(out),
            IrErrorKind::BadKind(e) => ("function kind ", e, " (expected 0 or 1)").describe(out),
            IrErrorKind::BadName => out.text("function name is not an identifier of 1..=64 bytes"),
            IrErrorKind::DuplicateName => out.text("two functions share this name"),
            IrErrorKind::LimitExceeded { what, value, max } => {
                (what, " ", value, " exceeds the limit of ", max).describe(out)
            }
            IrErrorKind::InitTooWide { global } => {
                ("initial value of global ", global, " does not fit its width").describe(out)
            }
            IrErrorKind::TrailingBytes => out.text("bytes after the last function"),
        }
    }
}

alkyl_vm::error_at! {
    /// A malformed module: what, and at which byte.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct IrError { offset: usize, kind: IrErrorKind } => "byte "
}

alkyl_vm::error_by_describe!(IrErrorKind);

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(s: &str) -> bool {
    // By bytes (no `char` decoding): every byte of a non-ASCII character
    // is above 0x7f, so it fails as its character would.
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A cursor over module bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, kind: IrErrorKind) -> IrError {
        IrError { offset: self.at, kind }
    }

    fn byte(&mut self) -> Result<u8, IrError> {
        let b = *self.bytes.get(self.at).ok_or(self.err(IrErrorKind::Truncated))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], IrError> {
        let end = usize::try_from(n).ok().and_then(|n| self.at.checked_add(n));
        let s = end.and_then(|e| self.bytes.get(self.at..e)).ok_or(self.err(IrErrorKind::Truncated))?;
        self.at += s.len();
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, IrError> {
        let rest = self.bytes.get(self.at..).unwrap_or(&[]);
        let (v, n) = varint::decode(rest).map_err(|e| {
            self.err(match e {
                VarintError::Truncated => IrErrorKind::Truncated,
                VarintError::NonCanonical => IrErrorKind::NonCanonicalVarint,
            })
        })?;
        self.at += n;
        Ok(v)
    }

    fn bounded(&mut self, what: &'static str, max: u64) -> Result<u64, IrError> {
        let at = self.at;
        let v = self.varint()?;
        if v > max {
            return Err(IrError { offset: at, kind: IrErrorKind::LimitExceeded { what, value: v, max } });
        }
        Ok(v)
    }

    fn width(&mut self) -> Result<Width, IrError> {
        let at = self.at;
        let b = self.byte()?;
        Width::from_code(b).ok_or(IrError { offset: at, kind: IrErrorKind::BadWidth(b) })
    }
}

impl<'a> Module<'a> {
    /// Parses and checks the structure of a module (not its code: that is
    /// [`super::validate`]'s job).
    ///
    /// # Errors
    /// The first malformed field, with its byte offset.
    ///
    /// # Panics
    /// Never.
    pub fn parse(bytes: &'a [u8]) -> Result<Module<'a>, IrError> {
        let mut r = Reader { bytes, at: 0 };
        let profile = match r.take(4).ok() {
            Some(m) if m == MAGIC => Profile::Device,
            Some(m) if m == GATEWAY_MAGIC => Profile::Gateway,
            _ => return Err(IrError { offset: 0, kind: IrErrorKind::BadMagic }),
        };
        let version = r.byte()?;
        if version != VERSION {
            return Err(IrError { offset: VERSION_OFFSET, kind: IrErrorKind::UnsupportedVersion(version) });
        }
        let memory_size = r.bounded("memory size", MAX_MEMORY)? as u32;
        let global_count = r.bounded("global count", MAX_GLOBALS as u64)?;
        let mut globals = Vec::new();
        for i in 0..global_count as usize {
            let width = r.width()?;
            let at = r.at;
            let init = r.varint()?;
            if init > width.mask() {
                return Err(IrError { offset: at, kind: IrErrorKind::InitTooWide { global: i } });
            }
            globals.push(Global { width, init });
        }
        let function_count = r.bounded("function count", MAX_FUNCTIONS as u64)?;
        let mut functions: Vec<Function<'a>> = Vec::new();
        for _ in 0..function_count {
            let at = r.at;
            let kind = match r.byte()? {
                0 => FunctionKind::Public,
                1 => FunctionKind::DeviceEvent,
                b => return Err(IrError { offset: at, kind: IrErrorKind::BadKind(b) }),
            };
            let name_at = r.at;
            let len = r.bounded("name length", MAX_NAME_LEN)?;
            let name = core::str::from_utf8(r.take(len)?)
                .ok()
                .filter(|n| is_identifier(n))
                .ok_or(IrError { offset: name_at, kind: IrErrorKind::BadName })?;
            if functions.iter().any(|f| f.name == name) {
                return Err(IrError { offset: name_at, kind: IrErrorKind::DuplicateName });
            }
            let param_count = r.bounded("parameter count", MAX_PARAMS as u64)?;
            let mut params = Vec::new();
            for _ in 0..param_count {
                params.push(r.width()?);
            }
            let code_len = r.bounded("code length", MAX_CODE_LEN)?;
            let code = r.take(code_len)?;
            functions.push(Function { kind, name, params, code });
        }
        if r.at != bytes.len() {
            return Err(r.err(IrErrorKind::TrailingBytes));
        }
        Ok(Module { memory_size, globals, functions, profile })
    }

    /// Bytes [`Module::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let mut out = Vec::new();
        self.emit(&mut out);
        out.len()
    }

    /// Appends the binary form to `out`. For a module that came from
    /// [`Module::parse`], the bytes are the parsed ones.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.profile.magic());
        out.push(VERSION);
        varint::encode(self.memory_size as u64, out);
        varint::encode(self.globals.len() as u64, out);
        for g in &self.globals {
            out.push(g.width.code());
            varint::encode(g.init, out);
        }
        varint::encode(self.functions.len() as u64, out);
        for f in &self.functions {
            out.push(f.kind.code());
            varint::encode(f.name.len() as u64, out);
            out.extend_from_slice(f.name.as_bytes());
            varint::encode(f.params.len() as u64, out);
            out.extend(f.params.iter().map(|w| w.code()));
            varint::encode(f.code.len() as u64, out);
            out.extend_from_slice(f.code);
        }
    }

    /// The function called `name`, with its index.
    pub fn function(&self, name: &str) -> Option<(usize, &Function<'a>)> {
        self.functions.iter().enumerate().find(|(_, f)| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Vec<u8> {
        let code = [0x5f, 0xf3]; // PUSH0 RETURN
        let m = Module {
            memory_size: 16,
            globals: vec![Global { width: Width::W8, init: 7 }, Global { width: Width::W64, init: u64::MAX }],
            functions: vec![Function {
                kind: FunctionKind::DeviceEvent,
                name: "Key",
                params: vec![Width::W8],
                code: &code,
            }],
            profile: Profile::Device,
        };
        let mut out = Vec::new();
        m.emit(&mut out);
        out
    }

    #[test]
    fn parse_emit_round_trip() {
        let bytes = sample();
        let m = Module::parse(&bytes).unwrap();
        assert_eq!(m.functions[0].name, "Key");
        assert_eq!(m.globals[1].init, u64::MAX);
        let mut again = Vec::new();
        m.emit(&mut again);
        assert_eq!(again, bytes);
        assert_eq!(m.buffer_len(), bytes.len());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample();
        for n in 0..bytes.len() {
            assert!(Module::parse(&bytes[..n]).is_err(), "prefix of {n} bytes accepted");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(Module::parse(&long).unwrap_err().kind, IrErrorKind::TrailingBytes);
    }

    #[test]
    fn structural_errors_are_typed() {
        let mut b = sample();
        b[0] = b'X';
        assert_eq!(Module::parse(&b).unwrap_err().kind, IrErrorKind::BadMagic);
        let mut b = sample();
        b[4] = 9;
        assert_eq!(Module::parse(&b).unwrap_err(), IrError { offset: 4, kind: IrErrorKind::UnsupportedVersion(9) });
        let mut b = sample();
        b[7] = 7; // width byte of global 0
        assert_eq!(Module::parse(&b).unwrap_err().kind, IrErrorKind::BadWidth(7));
    }
}
