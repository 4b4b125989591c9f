//! Why an envelope was rejected as malformed.

use crate::name::NameError;

/// What rule an envelope broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeErrorKind {
    /// The buffer ends before `needed` bytes.
    #[error("truncated: {needed} bytes needed")]
    Truncated { needed: u64 },
    /// The first four bytes are not `ALKE`.
    #[error("bad magic (expected \"ALKE\")")]
    BadMagic,
    /// A format version this runtime does not read.
    #[error("unknown format version {format}")]
    UnknownFormat { format: u8 },
    /// An operation code this runtime does not know.
    #[error("unknown operation {operation}")]
    UnknownOperation { operation: u8 },
    /// A payload kind code this runtime does not know.
    #[error("unknown payload kind {kind}")]
    UnknownPayloadKind { kind: u8 },
    /// Flag bits this runtime does not know.
    #[error("unknown flags {flags:#04x}")]
    UnknownFlags { flags: u8 },
    /// A reserved header field is not zero.
    #[error("reserved field is not zero")]
    ReservedNotZero,
    /// The app name is not a valid name.
    #[error("app {0}")]
    Name(NameError),
    /// More triggers than the format allows.
    #[error("{count} triggers exceed the limit of {}", super::MAX_TRIGGERS)]
    TooManyTriggers { count: u8 },
    /// Trigger `index` has an unknown kind code.
    #[error("trigger {index}: unknown kind {kind}")]
    TriggerKind { index: u8, kind: u8 },
    /// Trigger `index` has a non-zero reserved byte.
    #[error("trigger {index}: reserved byte is not zero")]
    TriggerReserved { index: u8 },
    /// Trigger `index` is a timer naming a sensor, or has period 0.
    #[error("trigger {index}: period is 0")]
    TriggerPeriod { index: u8 },
    /// Trigger `index` has a value its kind does not allow (a timer's
    /// must be 0, a delta's positive).
    #[error("trigger {index}: value not allowed for its kind")]
    TriggerValue { index: u8 },
    /// A timer trigger names a sensor.
    #[error("trigger {index}: a timer names no sensor")]
    TriggerSensor { index: u8 },
    /// The entry-point name of trigger `index` is not an identifier.
    #[error("trigger {index}: entry {error}")]
    TriggerEntry { index: u8, error: NameError },
    /// The open-entry list is malformed (too many, or a bad name), or
    /// declared on an operation other than install.
    #[error("bad open-entry list (at most {} entry names, `*` or empty; installs only)", super::MAX_OPEN)]
    OpenEntries,
    /// Bytes after the signature.
    #[error("{len} bytes after the signature")]
    TrailingBytes { len: u64 },
    /// An uncompressed payload whose raw length differs from its length.
    #[error("uncompressed payload of {payload_len} bytes declares raw length {raw_len}")]
    RawLength { raw_len: u32, payload_len: u32 },
    /// The fields do not fit the operation (e.g. a delete with a payload).
    #[error("{0}")]
    Shape(ShapeError),
}

/// Which operation-specific rule was broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// An install without a payload or without a payload kind.
    #[error("an install needs a payload and a payload kind")]
    InstallWithoutPayload,
    /// A delete or trigger command with a payload, payload kind or
    /// compression flag.
    #[error("a delete or trigger command carries no payload")]
    CommandWithPayload,
    /// A delete carrying triggers.
    #[error("a delete carries no triggers")]
    DeleteWithTriggers,
}

/// A rejected envelope: the rule broken and the byte offset where it was
/// detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("envelope byte {offset}: {kind}")]
pub struct EnvelopeError {
    pub offset: usize,
    pub kind: EnvelopeErrorKind,
}
