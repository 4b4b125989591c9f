//! Why a container was rejected.

use crate::describe::{Describe, Hex, HexDigits, Sink};
use crate::verify::VerifyError;

/// A header or table field, named in [`ContainerErrorKind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Header,
    Data,
    Rodata,
    Text,
    FunctionTable,
    Trailer,
    TrailerHelpers,
}

impl Describe for Field {
    fn describe(&self, out: &mut dyn Sink) {
        out.text(match self {
            Field::Header => "header",
            Field::Data => ".data",
            Field::Rodata => ".rodata",
            Field::Text => ".text",
            Field::FunctionTable => "function table",
            Field::Trailer => "extension trailer",
            Field::TrailerHelpers => "declared helper list",
        })
    }
}

/// What rule a container broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerErrorKind {
    /// The buffer ends inside `field`; `needed` bytes were required in all.
    Truncated { field: Field, needed: u64 },
    /// The first four bytes are neither `rBPF` nor the C constant's byte order.
    BadMagic { magic: [u8; 4] },
    /// Header flag bits this loader does not know.
    UnknownFlags { flags: u32 },
    /// Femto-Container's compressed instruction encoding (flag 0x1): not supported.
    CompressedText,
    /// `text_len` is zero.
    EmptyText,
    /// `text_len` is not a multiple of 8.
    TextNotMultipleOf8 { len: u32 },
    /// More functions than [`super::MAX_FUNCTIONS`].
    TooManyFunctions { count: u32 },
    /// Function `index` has non-zero flags (no flag is defined).
    FunctionFlags { index: u16, flags: u16 },
    /// Function `index` starts outside `.text`.
    FunctionOutsideText { index: u16, location: u16 },
    /// Function `index` does not start on an 8-byte instruction boundary.
    FunctionMisaligned { index: u16, location: u16 },
    /// The name of function `index` starts outside `.rodata`.
    NameOutsideRodata { index: u16, offset: u16 },
    /// The name of function `index` has no NUL before the end of `.rodata`.
    NameUnterminated { index: u16 },
    /// The name of function `index` is empty.
    EmptyName { index: u16 },
    /// Function `index` has the same name as an earlier one.
    DuplicateName { index: u16 },
    /// The extension trailer's length field disagrees with its contents.
    TrailerLength { declared: u16, expected: u64 },
    /// An extension trailer version this loader does not know.
    TrailerVersion { version: u8 },
    /// A reserved trailer field is not zero.
    TrailerReserved,
    /// The trailer names a calling convention this loader does not know.
    UnknownConvention { value: u8 },
    /// Declared helper ids are not strictly ascending (so not a set).
    HelpersNotSorted { index: u16 },
    /// Bytes after the last table.
    TrailingBytes { len: usize },
    /// `.data` plus `.bss` does not fit a region (4 GiB).
    DataTooLarge,
    /// The declared stack is larger than [`crate::STACK_SIZE`], the
    /// default and the maximum.
    StackTooLarge { size: u32 },
}

crate::error_at! {
    /// A rejected container: the rule broken and the byte offset where it
    /// was detected.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ContainerError { offset: usize, kind: ContainerErrorKind } => "container byte "
}

impl Describe for ContainerErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        use ContainerErrorKind::*;
        match *self {
            Truncated { field, needed } => ("truncated ", field, ": ", needed, " bytes needed").describe(out),
            BadMagic { magic } => {
                // As `{magic:02x?}`: `[72, 42, 50, 46]`.
                out.text("bad magic [");
                for (i, b) in magic.iter().enumerate() {
                    ((i > 0).then_some(", "), HexDigits((*b).into(), 2)).describe(out);
                }
                out.text("] (expected \"rBPF\")");
            }
            UnknownFlags { flags } => ("unknown header flags ", Hex(flags.into())).describe(out),
            CompressedText => out.text(
                "compressed instruction encoding (flag 0x1, gen_rbf.py --compress) is not supported: \
                 make the container without --compress (or pack the object with `alkyl pack`); \
                 uploads are compressed on the wire anyway (heatshrink)",
            ),
            EmptyText => out.text("empty .text"),
            TextNotMultipleOf8 { len } => (".text length ", len, " is not a multiple of 8").describe(out),
            TooManyFunctions { count } => {
                (count, " functions exceed the limit of ", super::MAX_FUNCTIONS).describe(out)
            }
            FunctionFlags { index, flags } => ("function ", index, ": unknown flags ", Hex(flags.into())).describe(out),
            FunctionOutsideText { index, location } => {
                ("function ", index, ": location ", location, " is outside .text").describe(out)
            }
            FunctionMisaligned { index, location } => {
                ("function ", index, ": location ", location, " is not a multiple of 8").describe(out)
            }
            NameOutsideRodata { index, offset } => {
                ("function ", index, ": name offset ", offset, " is outside .rodata").describe(out)
            }
            NameUnterminated { index } => ("function ", index, ": name has no NUL inside .rodata").describe(out),
            EmptyName { index } => ("function ", index, ": empty name").describe(out),
            DuplicateName { index } => ("function ", index, ": duplicate name").describe(out),
            TrailerLength { declared, expected } => {
                ("trailer length ", declared, " does not match its contents (", expected, " bytes)").describe(out)
            }
            TrailerVersion { version } => ("unknown trailer version ", version).describe(out),
            TrailerReserved => out.text("reserved trailer field is not zero"),
            UnknownConvention { value } => ("unknown calling convention ", value).describe(out),
            HelpersNotSorted { index } => ("declared helper ", index, " is not above the previous one").describe(out),
            TrailingBytes { len } => (len, " unexpected bytes after the last table").describe(out),
            DataTooLarge => out.text(".data plus .bss exceeds 4 GiB"),
            StackTooLarge { size } => {
                ("declared stack of ", size, " bytes exceeds the maximum of ", crate::STACK_SIZE).describe(out)
            }
        }
    }
}

/// Why a container could not be loaded as a runnable script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The bytes are not a well-formed container.
    Container(ContainerError),
    /// `.text` failed verification (with the helpers the host and the
    /// container both allow).
    Verify(VerifyError),
    /// Function `index` starts on the second slot of an `lddw`.
    BadEntry { index: u16 },
}

crate::from_variants!(LoadError { Container(ContainerError), Verify(VerifyError) });

impl Describe for LoadError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            LoadError::Container(e) => ("malformed container: ", e).describe(out),
            LoadError::Verify(e) => ("verification failed: ", e).describe(out),
            LoadError::BadEntry { index } => ("function ", index, " starts inside an lddw").describe(out),
        }
    }
}

crate::display_by_describe!(Field, ContainerErrorKind);
crate::error_by_describe!(LoadError);
