//! Why an envelope was rejected as malformed.

use alkyl_vm::describe::{Describe, HexDigits, Sink};

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

impl Describe for EnvelopeErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            EnvelopeErrorKind::Truncated { needed } => ("truncated: ", needed, " bytes needed").describe(out),
            EnvelopeErrorKind::BadMagic => out.text("bad magic (expected \"ALKE\")"),
            EnvelopeErrorKind::UnknownFormat { format } => ("unknown format version ", format).describe(out),
            EnvelopeErrorKind::UnknownOperation { operation } => ("unknown operation ", operation).describe(out),
            EnvelopeErrorKind::UnknownPayloadKind { kind } => ("unknown payload kind ", kind).describe(out),
            EnvelopeErrorKind::UnknownFlags { flags } => {
                ("unknown flags 0x", HexDigits(u64::from(*flags), 2)).describe(out)
            }
            EnvelopeErrorKind::ReservedNotZero => out.text("reserved field is not zero"),
            EnvelopeErrorKind::Name(e) => ("app ", e).describe(out),
            EnvelopeErrorKind::TooManyTriggers { count } => {
                (count, " triggers exceed the limit of ", super::MAX_TRIGGERS).describe(out)
            }
            EnvelopeErrorKind::TriggerKind { index, kind } => {
                ("trigger ", index, ": unknown kind ", kind).describe(out)
            }
            EnvelopeErrorKind::TriggerReserved { index } => {
                ("trigger ", index, ": reserved byte is not zero").describe(out)
            }
            EnvelopeErrorKind::TriggerPeriod { index } => ("trigger ", index, ": period is 0").describe(out),
            EnvelopeErrorKind::TriggerValue { index } => {
                ("trigger ", index, ": value not allowed for its kind").describe(out)
            }
            EnvelopeErrorKind::TriggerSensor { index } => {
                ("trigger ", index, ": a timer names no sensor").describe(out)
            }
            EnvelopeErrorKind::TriggerEntry { index, error } => ("trigger ", index, ": entry ", error).describe(out),
            EnvelopeErrorKind::OpenEntries => {
                ("bad open-entry list (at most ", super::MAX_OPEN, " entry names, `*` or empty; installs only)")
                    .describe(out)
            }
            EnvelopeErrorKind::TrailingBytes { len } => (len, " bytes after the signature").describe(out),
            EnvelopeErrorKind::RawLength { raw_len, payload_len } => {
                ("uncompressed payload of ", payload_len, " bytes declares raw length ", raw_len).describe(out)
            }
            EnvelopeErrorKind::Shape(e) => e.describe(out),
        }
    }
}

alkyl_vm::error_by_texts! {
    /// Which operation-specific rule was broken.
    pub enum ShapeError {
        /// An install without a payload or without a payload kind.
        InstallWithoutPayload => "an install needs a payload and a payload kind",
        /// A delete or trigger command with a payload, payload kind or
        /// compression flag.
        CommandWithPayload => "a delete or trigger command carries no payload",
        /// A delete carrying triggers.
        DeleteWithTriggers => "a delete carries no triggers",
    }
}

alkyl_vm::error_at! {
    /// A rejected envelope: the rule broken and the byte offset where it
    /// was detected.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct EnvelopeError { offset: usize, kind: EnvelopeErrorKind } => "envelope byte "
}

alkyl_vm::error_by_describe!(EnvelopeErrorKind);
