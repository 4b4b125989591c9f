//! Why a request was refused, and the CoAP code each reason maps to. Every
//! rejection of an upload has its own code, and a short diagnostic payload
//! (its `Display`), so that a client can tell them apart.

use core::fmt;

use coap_numbers::code;

use crate::app::AppError;
use crate::auth::AuthError;
use crate::compress::InflateError;
use crate::envelope::{EnvelopeError, Operation, PayloadKind};
use crate::name::{AppName, NameError};
use crate::storage::StorageError;
use crate::store::QuotaError;
use crate::upload::UploadError;
use alkyl_protocol::command::CommandError;

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The envelope is malformed. 4.00
    Malformed(EnvelopeError),
    /// Authentication failed. Mutations disabled: 4.05; unknown key: 4.01;
    /// bad signature: 4.03.
    Auth(AuthError),
    /// The version or sequence is not above the name's counter. 4.09
    NotNewer { version: u32, current: u32 },
    /// The envelope, its declared raw size, or the app exceeds a limit. 4.13
    TooLarge { size: usize, max: usize },
    /// The compressed stream is bad (size mismatch). 4.15
    Compression(InflateError),
    /// A payload kind this device cannot install yet. 5.01
    Unsupported(PayloadKind),
    /// The container is malformed or fails verification. 4.22
    Verification(AppError),
    /// The Alkyl IR module is malformed, invalid or cannot be translated
    /// (with the function, position and rule). 4.22
    #[cfg(feature = "ir")]
    Ir(alkyl_translator::ir::CompileError),
    /// Triggers the device cannot honour (count, period, entry). 4.00
    Triggers(TriggerProblem),
    /// The envelope is for another app or operation than the request. 4.00
    Mismatch,
    /// A bad app name in the URI. 4.00
    BadName(NameError),
    /// No such app. 4.04
    NoApp { sequence: u32 },
    /// No such entry point. 4.04
    NoEntry,
    /// The app count or byte quota is reached. 5.03
    StoreFull(QuotaError),
    /// Storage failed; nothing changed. 5.00
    Storage(StorageError),
    /// A plain run of a protected entry: it needs a signed invocation. 4.01
    Unauthenticated,
    /// A malformed signed command. 4.00
    Command(CommandError),
    /// A signed command addressed to another device. 4.00
    OtherDevice,
    /// A signed command whose sequence was already accepted (a replay). 4.09
    Replayed { sequence: u64 },
    /// A signed command older than the last one accepted from its key. 4.06
    OutOfOrder { sequence: u64, last: u64 },
    /// A signed command past its expiry, or with an expiry while the
    /// device's clock is not set. 4.12
    Expired { expires: u64, now_s: Option<u64> },
    /// An install or trigger change at sequence `u32::MAX`, which only a
    /// delete may use. 4.00
    LastSequence,
    /// A block-wise transfer problem. 4.08 (sequence), 4.13 (size), 4.00
    /// (bad block), 5.03 (busy).
    Upload(UploadError),
}

/// Why declared triggers were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TriggerProblem {
    /// More triggers than the device allows.
    #[error("{count} triggers, this device allows {max}")]
    Count { count: usize, max: usize },
    /// Trigger `index` has a period below the device's minimum.
    #[error("trigger {index}: period below {min} ms")]
    Period { index: usize, min: u32 },
    /// Trigger `index` names an entry point the app lacks.
    #[error("trigger {index}: no such entry point")]
    Entry { index: usize },
}

impl Rejection {
    /// The CoAP response code.
    pub fn code(&self) -> u8 {
        match self {
            Rejection::Malformed(_)
            | Rejection::Triggers(_)
            | Rejection::Mismatch
            | Rejection::BadName(_)
            | Rejection::Command(_)
            | Rejection::OtherDevice
            | Rejection::LastSequence => code::BAD_REQUEST,
            Rejection::Unauthenticated => code::UNAUTHORIZED,
            Rejection::Replayed { .. } => code::CONFLICT,
            Rejection::OutOfOrder { .. } => code::NOT_ACCEPTABLE,
            Rejection::Expired { .. } => code::PRECONDITION_FAILED,
            Rejection::Auth(AuthError::MutationsDisabled) => code::METHOD_NOT_ALLOWED,
            Rejection::Auth(AuthError::UnknownKey(_)) => code::UNAUTHORIZED,
            Rejection::Auth(AuthError::BadSignature) => code::FORBIDDEN,
            Rejection::NotNewer { .. } => code::CONFLICT,
            Rejection::TooLarge { .. } | Rejection::Compression(InflateError::TooLarge { .. }) => {
                code::REQUEST_ENTITY_TOO_LARGE
            }
            Rejection::Compression(_) => code::UNSUPPORTED_CONTENT_FORMAT,
            Rejection::Unsupported(_) => code::NOT_IMPLEMENTED,
            Rejection::Verification(AppError::Stack { .. } | AppError::TooLarge { .. }) => {
                code::REQUEST_ENTITY_TOO_LARGE
            }
            Rejection::Verification(_) => code::UNPROCESSABLE_ENTITY,
            #[cfg(feature = "ir")]
            Rejection::Ir(alkyl_translator::ir::CompileError::Translate(t))
                if matches!(t.kind, alkyl_translator::ir::translate::TranslateErrorKind::TooLarge { .. }) =>
            {
                code::REQUEST_ENTITY_TOO_LARGE
            }
            #[cfg(feature = "ir")]
            Rejection::Ir(_) => code::UNPROCESSABLE_ENTITY,
            Rejection::NoApp { .. } | Rejection::NoEntry => code::NOT_FOUND,
            Rejection::StoreFull(_) => code::SERVICE_UNAVAILABLE,
            Rejection::Storage(_) => code::INTERNAL_SERVER_ERROR,
            Rejection::Upload(u) => match u {
                UploadError::NoTransfer { .. } | UploadError::OutOfOrder { .. } => code::REQUEST_ENTITY_INCOMPLETE,
                UploadError::TooLarge { .. } => code::REQUEST_ENTITY_TOO_LARGE,
                UploadError::BadBlock | UploadError::Header => code::BAD_REQUEST,
                UploadError::UntrustedKey(_) => code::UNAUTHORIZED,
                UploadError::Busy => code::SERVICE_UNAVAILABLE,
            },
        }
    }

    /// The limit to report in a Size1 option (4.13 responses).
    pub fn size1(&self) -> Option<usize> {
        match self {
            Rejection::TooLarge { max, .. }
            | Rejection::Compression(InflateError::TooLarge { max, .. })
            | Rejection::Upload(UploadError::TooLarge { max }) => Some(*max),
            _ => None,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed(e) => write!(f, "malformed envelope: {e}"),
            Rejection::Auth(e) => write!(f, "{e}"),
            Rejection::NotNewer { version, current } => {
                write!(f, "version {version} is not newer than {current}")
            }
            Rejection::TooLarge { size, max } => write!(f, "oversize: {size} bytes, the limit is {max}"),
            Rejection::Compression(e) => write!(f, "bad compression stream: {e}"),
            Rejection::Unsupported(k) => write!(f, "unsupported payload kind {}", k.as_str()),
            Rejection::Verification(e @ (AppError::Stack { .. } | AppError::TooLarge { .. })) => {
                write!(f, "oversize: {e}")
            }
            Rejection::Verification(e) => write!(f, "verification failed: {e}"),
            #[cfg(feature = "ir")]
            Rejection::Ir(e) => write!(f, "Alkyl IR rejected: {e}"),
            Rejection::Triggers(t) => write!(f, "bad triggers: {t}"),
            Rejection::Mismatch => f.write_str("the envelope is for another app or operation"),
            Rejection::LastSequence => f.write_str("sequence 4294967295 is reserved for deleting the app"),
            Rejection::BadName(e) => write!(f, "bad app {e}"),
            Rejection::NoApp { sequence } => write!(f, "no such app (sequence {sequence})"),
            Rejection::NoEntry => f.write_str("no such entry point"),
            Rejection::StoreFull(q) => write!(f, "{q}"),
            Rejection::Storage(e) => write!(f, "{e}; nothing changed"),
            Rejection::Upload(u) => write!(f, "{u}"),
            Rejection::Unauthenticated => f.write_str("this entry is protected: it needs a signed invocation"),
            Rejection::Command(e) => write!(f, "malformed command: {e}"),
            Rejection::OtherDevice => f.write_str("the command is for another device"),
            Rejection::Replayed { sequence } => write!(f, "replayed: sequence {sequence} was already accepted"),
            Rejection::OutOfOrder { sequence, last } => {
                write!(f, "out of order: sequence {sequence} is below the last accepted, {last}")
            }
            Rejection::Expired { expires, now_s: Some(now) } => {
                write!(f, "expired at {expires} (Unix seconds), the device's clock reads {now}")
            }
            Rejection::Expired { expires, now_s: None } => {
                write!(f, "expires at {expires} but the device's clock is not set")
            }
        }
    }
}

impl core::error::Error for Rejection {}

/// What a request must carry to be applied: the operation its method and
/// resource imply and the app its URI names.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    pub operation: Operation,
    pub name: &'a AppName,
}
