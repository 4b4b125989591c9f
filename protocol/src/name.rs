//! App and entry-point names (the checks allocate nothing; `AppName`,
//! the owned checked name, needs feature `alloc`).
//!
//! An `AppName` is 1 to [`MAX_NAME_LEN`] bytes of `a-z 0-9 _ -`, not
//! starting with `-` or `_`: safe as a URI path segment, a file name and a
//! JSON string without escaping. Entry names follow the C identifiers clang
//! writes into a container's function table.

use alkyl_vm::describe::{Describe, Sink};
#[cfg(feature = "alloc")]
use alloc::string::String;
#[cfg(feature = "alloc")]
use core::fmt;

/// Longest app name, in bytes.
pub const MAX_NAME_LEN: usize = 32;
/// Longest entry-point name a trigger may name, in bytes.
pub const MAX_ENTRY_LEN: usize = 32;

/// Why a name was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameError {
    /// Empty, or longer than the limit.
    Length { len: usize, max: usize },
    /// The byte at `index` is not allowed there.
    Char { index: usize },
}

impl Describe for NameError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            NameError::Length { len, max } => ("name length ", len, " is not in 1..=", max).describe(out),
            NameError::Char { index } => ("name byte ", index, " is not allowed").describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(NameError);

/// A validated app name.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppName(String);

#[cfg(feature = "alloc")]
impl AppName {
    /// Checks `bytes` and copies them.
    ///
    /// # Errors
    /// [`NameError`] with the offending position.
    pub fn new(bytes: &[u8]) -> Result<AppName, NameError> {
        check_app_name(bytes)?;
        // Only ASCII passed the check.
        Ok(AppName(bytes.iter().map(|&b| b as char).collect()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "alloc")]
impl Describe for AppName {
    fn describe(&self, out: &mut dyn Sink) {
        out.text(&self.0);
    }
}

#[cfg(feature = "alloc")]
impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks an app name without copying it.
///
/// # Errors
/// [`NameError`].
pub fn check_app_name(bytes: &[u8]) -> Result<(), NameError> {
    if bytes.is_empty() || bytes.len() > MAX_NAME_LEN {
        return Err(NameError::Length { len: bytes.len(), max: MAX_NAME_LEN });
    }
    for (index, &b) in bytes.iter().enumerate() {
        let ok = matches!(b, b'a'..=b'z' | b'0'..=b'9') || (index > 0 && matches!(b, b'_' | b'-'));
        if !ok {
            return Err(NameError::Char { index });
        }
    }
    Ok(())
}

/// Checks an entry-point name: a C identifier of at most [`MAX_ENTRY_LEN`]
/// bytes (`[A-Za-z_][A-Za-z0-9_]*`).
///
/// # Errors
/// [`NameError`].
pub fn check_entry_name(bytes: &[u8]) -> Result<(), NameError> {
    if bytes.is_empty() || bytes.len() > MAX_ENTRY_LEN {
        return Err(NameError::Length { len: bytes.len(), max: MAX_ENTRY_LEN });
    }
    for (index, &b) in bytes.iter().enumerate() {
        let ok = b.is_ascii_alphabetic() || b == b'_' || (index > 0 && b.is_ascii_digit());
        if !ok {
            return Err(NameError::Char { index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names() {
        for ok in [&b"a"[..], b"counter", b"fletcher32", b"a-b_c", &[b'x'; MAX_NAME_LEN]] {
            assert_eq!(AppName::new(ok).unwrap().as_str().as_bytes(), ok);
        }
        assert_eq!(AppName::new(b""), Err(NameError::Length { len: 0, max: MAX_NAME_LEN }));
        assert_eq!(AppName::new(&[b'a'; 33]), Err(NameError::Length { len: 33, max: MAX_NAME_LEN }));
        for (bad, index) in
            [(&b"Abc"[..], 0), (b"-ab", 0), (b"_ab", 0), (b"a/b", 1), (b"a.b", 1), (b"a b", 1), (b"ab\xff", 2)]
        {
            assert_eq!(AppName::new(bad), Err(NameError::Char { index }), "{bad:?}");
        }
    }

    #[test]
    fn entry_names() {
        for ok in [&b"main"[..], b"_start", b"coap_resp", b"F1"] {
            check_entry_name(ok).unwrap();
        }
        assert_eq!(check_entry_name(b"1f"), Err(NameError::Char { index: 0 }));
        assert_eq!(check_entry_name(b"a-b"), Err(NameError::Char { index: 1 }));
        assert!(check_entry_name(b"").is_err());
        assert!(check_entry_name(&[b'a'; 33]).is_err());
    }
}
