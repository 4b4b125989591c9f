//! Why a request was refused, and the CoAP code each reason maps to. Every
//! rejection of an upload has its own code, and a short diagnostic payload
//! (its `Display`), so that a client can tell them apart.

use alkyl_vm::describe::{Describe, Sink};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerProblem {
    /// More triggers than the device allows.
    Count { count: usize, max: usize },
    /// Trigger `index` has a period below the device's minimum.
    Period { index: usize, min: u32 },
    /// Trigger `index` names an entry point the app lacks.
    Entry { index: usize },
}

impl Describe for TriggerProblem {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            TriggerProblem::Count { count, max } => (count, " triggers, this device allows ", max).describe(out),
            TriggerProblem::Period { index, min } => ("trigger ", index, ": period below ", min, " ms").describe(out),
            TriggerProblem::Entry { index } => ("trigger ", index, ": no such entry point").describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(TriggerProblem);

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

impl Describe for Rejection {
    #[inline(never)]
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            Rejection::Malformed(e) => ("malformed envelope: ", e).describe(out),
            Rejection::Auth(e) => e.describe(out),
            Rejection::NotNewer { version, current } => {
                ("version ", version, " is not newer than ", current).describe(out)
            }
            Rejection::TooLarge { size, max } => ("oversize: ", size, " bytes, the limit is ", max).describe(out),
            Rejection::Compression(e) => ("bad compression stream: ", e).describe(out),
            Rejection::Unsupported(k) => ("unsupported payload kind ", k.as_str()).describe(out),
            Rejection::Verification(e @ (AppError::Stack { .. } | AppError::TooLarge { .. })) => {
                ("oversize: ", e).describe(out)
            }
            Rejection::Verification(e) => ("verification failed: ", e).describe(out),
            #[cfg(feature = "ir")]
            Rejection::Ir(e) => ("Alkyl IR rejected: ", e).describe(out),
            Rejection::Triggers(t) => ("bad triggers: ", t).describe(out),
            Rejection::Mismatch => out.text("the envelope is for another app or operation"),
            Rejection::LastSequence => out.text("sequence 4294967295 is reserved for deleting the app"),
            Rejection::BadName(e) => ("bad app ", e).describe(out),
            Rejection::NoApp { sequence } => ("no such app (sequence ", sequence, ")").describe(out),
            Rejection::NoEntry => out.text("no such entry point"),
            Rejection::StoreFull(q) => q.describe(out),
            Rejection::Storage(e) => (e, "; nothing changed").describe(out),
            Rejection::Upload(u) => u.describe(out),
            Rejection::Unauthenticated => out.text("this entry is protected: it needs a signed invocation"),
            Rejection::Command(e) => ("malformed command: ", e).describe(out),
            Rejection::OtherDevice => out.text("the command is for another device"),
            Rejection::Replayed { sequence } => {
                ("replayed: sequence ", sequence, " was already accepted").describe(out)
            }
            Rejection::OutOfOrder { sequence, last } => {
                ("out of order: sequence ", sequence, " is below the last accepted, ", last).describe(out)
            }
            Rejection::Expired { expires, now_s: Some(now) } => {
                ("expired at ", expires, " (Unix seconds), the device's clock reads ", now).describe(out)
            }
            Rejection::Expired { expires, now_s: None } => {
                ("expires at ", expires, " but the device's clock is not set").describe(out)
            }
        }
    }
}

alkyl_vm::error_by_describe!(Rejection);

/// What a request must carry to be applied: the operation its method and
/// resource imply and the app its URI names.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    pub operation: Operation,
    pub name: &'a AppName,
}
