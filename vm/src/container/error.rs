//! Why a container was rejected.

use core::fmt;

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

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
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

/// A rejected container: the rule broken and the byte offset where it was
/// detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContainerError {
    pub offset: usize,
    pub kind: ContainerErrorKind,
}

impl fmt::Display for ContainerErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ContainerErrorKind::*;
        match *self {
            Truncated { field, needed } => write!(f, "truncated {field}: {needed} bytes needed"),
            BadMagic { magic } => write!(f, "bad magic {magic:02x?} (expected \"rBPF\")"),
            UnknownFlags { flags } => write!(f, "unknown header flags {flags:#x}"),
            CompressedText => f.write_str(
                "compressed instruction encoding (flag 0x1, gen_rbf.py --compress) is not supported: \
                 make the container without --compress (or pack the object with `alkyl pack`); \
                 uploads are compressed on the wire anyway (heatshrink)",
            ),
            EmptyText => f.write_str("empty .text"),
            TextNotMultipleOf8 { len } => write!(f, ".text length {len} is not a multiple of 8"),
            TooManyFunctions { count } => write!(f, "{count} functions exceed the limit of {}", super::MAX_FUNCTIONS),
            FunctionFlags { index, flags } => write!(f, "function {index}: unknown flags {flags:#x}"),
            FunctionOutsideText { index, location } => {
                write!(f, "function {index}: location {location} is outside .text")
            }
            FunctionMisaligned { index, location } => {
                write!(f, "function {index}: location {location} is not a multiple of 8")
            }
            NameOutsideRodata { index, offset } => {
                write!(f, "function {index}: name offset {offset} is outside .rodata")
            }
            NameUnterminated { index } => write!(f, "function {index}: name has no NUL inside .rodata"),
            EmptyName { index } => write!(f, "function {index}: empty name"),
            DuplicateName { index } => write!(f, "function {index}: duplicate name"),
            TrailerLength { declared, expected } => {
                write!(f, "trailer length {declared} does not match its contents ({expected} bytes)")
            }
            TrailerVersion { version } => write!(f, "unknown trailer version {version}"),
            TrailerReserved => f.write_str("reserved trailer field is not zero"),
            UnknownConvention { value } => write!(f, "unknown calling convention {value}"),
            HelpersNotSorted { index } => write!(f, "declared helper {index} is not above the previous one"),
            TrailingBytes { len } => write!(f, "{len} unexpected bytes after the last table"),
            DataTooLarge => f.write_str(".data plus .bss exceeds 4 GiB"),
            StackTooLarge { size } => {
                write!(f, "declared stack of {size} bytes exceeds the maximum of {}", crate::STACK_SIZE)
            }
        }
    }
}

impl fmt::Display for ContainerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "container byte {}: {}", self.offset, self.kind)
    }
}

impl core::error::Error for ContainerError {}

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

impl From<ContainerError> for LoadError {
    fn from(e: ContainerError) -> Self {
        LoadError::Container(e)
    }
}

impl From<VerifyError> for LoadError {
    fn from(e: VerifyError) -> Self {
        LoadError::Verify(e)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Container(e) => write!(f, "malformed container: {e}"),
            LoadError::Verify(e) => write!(f, "verification failed: {e}"),
            LoadError::BadEntry { index } => write!(f, "function {index} starts inside an lddw"),
        }
    }
}

impl core::error::Error for LoadError {}
