//! Why an envelope was rejected as malformed.

use core::fmt;

use crate::name::NameError;

/// What rule an envelope broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeErrorKind {
    /// The buffer ends before `needed` bytes.
    Truncated { needed: u64 },
    /// The first four bytes are not `ALKE`.
    BadMagic,
    /// A format version this runtime does not read.
    UnknownFormat { format: u8 },
    /// An operation code this runtime does not know.
    UnknownOperation { operation: u8 },
    /// A payload kind code this runtime does not know.
    UnknownPayloadKind { kind: u8 },
    /// Flag bits this runtime does not know.
    UnknownFlags { flags: u8 },
    /// A reserved header field is not zero.
    ReservedNotZero,
    /// The app name is not a valid name.
    Name(NameError),
    /// More triggers than the format allows.
    TooManyTriggers { count: u8 },
    /// Trigger `index` has an unknown kind code.
    TriggerKind { index: u8, kind: u8 },
    /// Trigger `index` has a non-zero reserved byte.
    TriggerReserved { index: u8 },
    /// Trigger `index` is a timer naming a sensor, or has period 0.
    TriggerPeriod { index: u8 },
    /// Trigger `index` has a value its kind does not allow (a timer's
    /// must be 0, a delta's positive).
    TriggerValue { index: u8 },
    /// A timer trigger names a sensor.
    TriggerSensor { index: u8 },
    /// The entry-point name of trigger `index` is not an identifier.
    TriggerEntry { index: u8, error: NameError },
    /// The open-entry list is malformed (too many, or a bad name), or
    /// declared on an operation other than install.
    OpenEntries,
    /// Bytes after the signature.
    TrailingBytes { len: u64 },
    /// An uncompressed payload whose raw length differs from its length.
    RawLength { raw_len: u32, payload_len: u32 },
    /// The fields do not fit the operation (e.g. a delete with a payload).
    Shape(ShapeError),
}

/// Which operation-specific rule was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeError {
    /// An install without a payload or without a payload kind.
    InstallWithoutPayload,
    /// A delete or trigger command with a payload, payload kind or
    /// compression flag.
    CommandWithPayload,
    /// A delete carrying triggers.
    DeleteWithTriggers,
}

/// A rejected envelope: the rule broken and the byte offset where it was
/// detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeError {
    pub offset: usize,
    pub kind: EnvelopeErrorKind,
}

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShapeError::InstallWithoutPayload => "an install needs a payload and a payload kind",
            ShapeError::CommandWithPayload => "a delete or trigger command carries no payload",
            ShapeError::DeleteWithTriggers => "a delete carries no triggers",
        })
    }
}

impl fmt::Display for EnvelopeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EnvelopeErrorKind::*;
        match *self {
            Truncated { needed } => write!(f, "truncated: {needed} bytes needed"),
            BadMagic => f.write_str("bad magic (expected \"ALKE\")"),
            UnknownFormat { format } => write!(f, "unknown format version {format}"),
            UnknownOperation { operation } => write!(f, "unknown operation {operation}"),
            UnknownPayloadKind { kind } => write!(f, "unknown payload kind {kind}"),
            UnknownFlags { flags } => write!(f, "unknown flags {flags:#04x}"),
            ReservedNotZero => f.write_str("reserved field is not zero"),
            Name(e) => write!(f, "app {e}"),
            TooManyTriggers { count } => write!(f, "{count} triggers exceed the limit of {}", super::MAX_TRIGGERS),
            TriggerKind { index, kind } => write!(f, "trigger {index}: unknown kind {kind}"),
            TriggerReserved { index } => write!(f, "trigger {index}: reserved byte is not zero"),
            TriggerPeriod { index } => write!(f, "trigger {index}: period is 0"),
            TriggerValue { index } => write!(f, "trigger {index}: value not allowed for its kind"),
            TriggerSensor { index } => write!(f, "trigger {index}: a timer names no sensor"),
            TriggerEntry { index, error } => write!(f, "trigger {index}: entry {error}"),
            OpenEntries => {
                write!(f, "bad open-entry list (at most {} entry names, `*` or empty; installs only)", super::MAX_OPEN)
            }
            TrailingBytes { len } => write!(f, "{len} bytes after the signature"),
            RawLength { raw_len, payload_len } => {
                write!(f, "uncompressed payload of {payload_len} bytes declares raw length {raw_len}")
            }
            Shape(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "envelope byte {}: {}", self.offset, self.kind)
    }
}

impl core::error::Error for EnvelopeError {}
