//! Descriptions without `core::fmt`: how errors become text on a device.
//!
//! A device sends every refusal as text, and `core::fmt` (the formatter,
//! `Arguments`, the padding and integer machinery, every `write!`) costs
//! ~10 KB of flash on a Cortex-M4. An error type here *describes* itself
//! into a [`Sink`] with string pieces and integers ([`Describe`]); its
//! `Display` is the same description ([`display_by_describe!`]), so a text
//! is written once and hosts keep `Display` (and `to_string`) unchanged,
//! while a device that only describes links no formatter.
//!
//! A sequence of pieces is a tuple: `("bad option ", n)` describes as
//! `format_args!("bad option {n}")` displays. Integers are decimal;
//! [`Hex`] is `{:#x}`, [`HexDigits`] is `{:0Nx}`.
//!
//! ```
//! use alkyl_vm::describe::{Describe, Hex, Sink};
//! struct Refused(u32);
//! impl Describe for Refused {
//!     fn describe(&self, out: &mut dyn Sink) {
//!         ("helper ", Hex(0x2a), ": ", self.0).describe(out)
//!     }
//! }
//! alkyl_vm::display_by_describe!(Refused);
//! assert_eq!(Refused(7).to_string(), "helper 0x2a: 7");
//! ```

use core::fmt;

/// Where a description goes: text pieces, in order.
pub trait Sink {
    /// Appends `s`.
    fn text(&mut self, s: &str);
}

/// A value that writes its text into a [`Sink`], without `core::fmt`.
pub trait Describe {
    /// Writes the text (what `Display` shows).
    fn describe(&self, out: &mut dyn Sink);
}

impl Describe for str {
    fn describe(&self, out: &mut dyn Sink) {
        out.text(self);
    }
}

impl<T: Describe + ?Sized> Describe for &T {
    fn describe(&self, out: &mut dyn Sink) {
        (**self).describe(out);
    }
}

/// Writes `n` in base `radix` (10 or 16, lower case), at least `digits`
/// digits (zero-padded).
fn digits(out: &mut dyn Sink, mut n: u64, radix: u64, digits: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    while n != 0 || buf.len() - i < digits.clamp(1, 20) {
        i -= 1;
        buf[i] = b"0123456789abcdef"[(n % radix) as usize];
        n /= radix;
    }
    // The digits are ASCII.
    out.text(core::str::from_utf8(&buf[i..]).unwrap_or_default());
}

/// `n` in decimal: one call site per piece (not inlined: a piece costs
/// a call, not the loop).
#[inline(never)]
fn dec(out: &mut dyn Sink, n: u64) {
    digits(out, n, 10, 1);
}

macro_rules! unsigned {
    ($($t:ty),*) => {$(
        impl Describe for $t {
            fn describe(&self, out: &mut dyn Sink) {
                dec(out, *self as u64);
            }
        }
    )*};
}
unsigned!(u8, u16, u32, u64, usize);

macro_rules! signed {
    ($($t:ty),*) => {$(
        impl Describe for $t {
            fn describe(&self, out: &mut dyn Sink) {
                if *self < 0 {
                    out.text("-");
                }
                dec(out, (*self as i64).unsigned_abs());
            }
        }
    )*};
}
signed!(i8, i16, i32, i64);

/// `{:#x}`: `0x` and the lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex(pub u64);

impl Describe for Hex {
    fn describe(&self, out: &mut dyn Sink) {
        out.text("0x");
        digits(out, self.0, 16, 1);
    }
}

/// `{:0Nx}`: at least `N` (the second field) lower-case hex digits, no prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HexDigits(pub u64, pub usize);

impl Describe for HexDigits {
    fn describe(&self, out: &mut dyn Sink) {
        digits(out, self.0, 16, self.1);
    }
}

/// `{:02}`: at least two decimal digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dec2(pub u8);

impl Describe for Dec2 {
    fn describe(&self, out: &mut dyn Sink) {
        digits(out, self.0.into(), 10, 2);
    }
}

impl<T: Describe> Describe for Option<T> {
    /// Nothing for `None`.
    fn describe(&self, out: &mut dyn Sink) {
        if let Some(t) = self {
            t.describe(out);
        }
    }
}

macro_rules! tuple {
    ($($n:tt $t:ident),*) => {
        impl<$($t: Describe),*> Describe for ($($t,)*) {
            fn describe(&self, out: &mut dyn Sink) {
                $(self.$n.describe(out);)*
            }
        }
    };
}
tuple!(0 A, 1 B);
tuple!(0 A, 1 B, 2 C);
tuple!(0 A, 1 B, 2 C, 3 D);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
tuple!(0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

#[cfg(feature = "alloc")]
impl Describe for alloc::string::String {
    fn describe(&self, out: &mut dyn Sink) {
        out.text(self);
    }
}

#[cfg(feature = "alloc")]
impl Sink for alloc::string::String {
    fn text(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// The text of `d` (as `to_string` gives it, without `core::fmt`).
#[cfg(feature = "alloc")]
pub fn text(d: &dyn Describe) -> alloc::string::String {
    let mut s = alloc::string::String::new();
    d.describe(&mut s);
    s
}

/// A [`Sink`] into a formatter, keeping its first error.
struct FmtSink<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    result: fmt::Result,
}

impl Sink for FmtSink<'_, '_> {
    fn text(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }
}

/// `Display` by [`Describe`]: what [`display_by_describe!`] implements.
///
/// # Errors
/// The formatter's.
pub fn display(d: &dyn Describe, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut sink = FmtSink { f, result: Ok(()) };
    d.describe(&mut sink);
    sink.result
}

/// Implements `Display` for each type by its [`Describe`] (one text for
/// hosts and devices).
#[macro_export]
macro_rules! display_by_describe {
    ($($t:ty),* $(,)?) => {$(
        impl core::fmt::Display for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                $crate::describe::display(self, f)
            }
        }
    )*};
}

/// Declares an error type whose every value is one fixed text: a unit
/// struct (`struct E => "text";`) or an enum of unit variants (`enum E {
/// A => "text", .. }`), deriving `Clone, Copy, Debug, PartialEq, Eq`, with
/// [`Describe`] by the texts and [`error_by_describe!`]'s `Display` and
/// `core::error::Error`; the text stands beside what it describes.
///
/// ```
/// alkyl_vm::error_by_texts! {
///     /// Why a storage operation failed.
///     pub enum StorageError {
///         /// The medium refused the operation.
///         Io => "storage I/O error",
///         Full => "storage full",
///     }
/// }
/// assert_eq!(StorageError::Full.to_string(), "storage full");
/// ```
#[macro_export]
macro_rules! error_by_texts {
    ($(#[$meta:meta])* $vis:vis struct $t:ident => $text:literal;) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis struct $t;

        impl $crate::describe::Describe for $t {
            fn describe(&self, out: &mut dyn $crate::describe::Sink) {
                out.text($text)
            }
        }

        $crate::error_by_describe!($t);
    };
    ($(#[$meta:meta])* $vis:vis enum $t:ident {
        $($(#[$variant_meta:meta])* $variant:ident => $text:literal),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $t {
            $($(#[$variant_meta])* $variant),*
        }

        impl $crate::describe::Describe for $t {
            fn describe(&self, out: &mut dyn $crate::describe::Sink) {
                out.text(match self {
                    $(Self::$variant => $text),*
                })
            }
        }

        $crate::error_by_describe!($t);
    };
}

/// Declares an error type that says which rule was broken (`kind`) and
/// where (a byte offset, an instruction, a line: the `usize` field named
/// first): public fields, [`Describe`] as `prefix`, the position, `": "`
/// and the kind's text, and [`error_by_describe!`]'s `Display` and
/// `core::error::Error`. Derives are the caller's.
///
/// ```
/// alkyl_vm::error_by_texts! {
///     pub enum Rule {
///         Odd => "odd length",
///     }
/// }
/// alkyl_vm::error_at! {
///     /// A rejected frame.
///     #[derive(Clone, Copy, Debug, PartialEq, Eq)]
///     pub struct FrameError { offset: usize, kind: Rule } => "frame byte "
/// }
/// assert_eq!(FrameError { offset: 3, kind: Rule::Odd }.to_string(), "frame byte 3: odd length");
/// ```
#[macro_export]
macro_rules! error_at {
    ($(#[$meta:meta])* $vis:vis struct $t:ident { $at:ident: usize, kind: $kind:ty } => $prefix:literal) => {
        $(#[$meta])*
        $vis struct $t {
            pub $at: usize,
            pub kind: $kind,
        }

        impl $crate::describe::Describe for $t {
            fn describe(&self, out: &mut dyn $crate::describe::Sink) {
                $crate::describe::Describe::describe(&($prefix, self.$at, ": ", &self.kind), out);
            }
        }

        $crate::error_by_describe!($t);
    };
}

/// [`display_by_describe!`] and an empty `core::error::Error` (no source)
/// for each type: what every error type without a cause needs.
#[macro_export]
macro_rules! error_by_describe {
    ($($t:ty),* $(,)?) => {
        $crate::display_by_describe!($($t),*);
        $(impl core::error::Error for $t {})*
    };
}

/// `From` for each one-field variant of an error enum, so that `?` wraps
/// the inner error: `from_variants!(LoadError { Container(ContainerError),
/// Verify(VerifyError) })`.
#[macro_export]
macro_rules! from_variants {
    ($t:ty { $($variant:ident($inner:ty)),* $(,)? }) => {$(
        impl From<$inner> for $t {
            fn from(e: $inner) -> Self {
                Self::$variant(e)
            }
        }
    )*};
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn text(d: &dyn Describe) -> String {
        struct S(String);
        impl Sink for S {
            fn text(&mut self, s: &str) {
                self.0.push_str(s);
            }
        }
        let mut s = S(String::new());
        d.describe(&mut s);
        s.0
    }

    #[test]
    fn as_core_fmt_writes() {
        for n in [0u64, 1, 9, 10, 255, 4096, u64::MAX] {
            assert_eq!(text(&n), std::format!("{n}"));
            assert_eq!(text(&Hex(n)), std::format!("{n:#x}"));
            assert_eq!(text(&HexDigits(n, 2)), std::format!("{n:02x}"));
            assert_eq!(text(&HexDigits(n, 4)), std::format!("{n:04x}"));
        }
        for n in [0i64, -1, 7, i64::MIN, i64::MAX] {
            assert_eq!(text(&n), std::format!("{n}"));
        }
        for n in [0u8, 5, 31] {
            assert_eq!(text(&Dec2(n)), std::format!("{n:02}"));
        }
        assert_eq!(text(&("a", 1u8, Some("b"), None::<u8>, -2i32)), "a1b-2");
    }
}
