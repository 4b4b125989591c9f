//! The owned form of an envelope, for tools that write one and for tests.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::error::{EnvelopeError, EnvelopeErrorKind as Kind};
use super::trigger::{Trigger, TriggerRepr};
use super::wire::{field, Envelope};
use super::{Operation, PayloadKind, FLAG_COMPRESSED, FLAG_OPEN, FORMAT, MAGIC, SIGNATURE_LEN};
use crate::compress::{compress, CompressError};
use crate::key::KeyId;
use crate::name::AppName;

/// Every field of an envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeRepr {
    pub operation: Operation,
    pub kind: PayloadKind,
    /// The payload is heatshrink-compressed ([`crate::compress`]).
    pub compressed: bool,
    /// App version (install) or command sequence number.
    pub version: u32,
    /// Payload bytes after decompression.
    pub raw_len: u32,
    pub name: AppName,
    pub key_id: KeyId,
    pub triggers: Vec<TriggerRepr>,
    /// The declared open entries (installs only; `None`: every entry is
    /// protected): entry names, `"*"` (every entry) or `""` (the first
    /// instruction).
    pub open: Option<Vec<String>>,
    /// The payload as carried.
    pub payload: Vec<u8>,
    pub signature: [u8; SIGNATURE_LEN],
}

impl EnvelopeRepr {
    /// An unsigned, uncompressed install of `payload` (of `kind`) as app
    /// `name` version `version`, without triggers; compress it with
    /// [`EnvelopeRepr::compress`], sign it with
    /// [`EnvelopeRepr::to_signed_bytes`].
    pub fn install(name: AppName, version: u32, kind: PayloadKind, payload: Vec<u8>) -> EnvelopeRepr {
        EnvelopeRepr {
            operation: Operation::Install,
            kind,
            compressed: false,
            version,
            // Too large a payload is refused by `emit`.
            raw_len: u32::try_from(payload.len()).unwrap_or(u32::MAX),
            name,
            key_id: KeyId::UNSIGNED,
            triggers: Vec::new(),
            open: None,
            payload,
            signature: [0; SIGNATURE_LEN],
        }
    }

    /// The same envelope with its (uncompressed) payload heatshrink-compressed.
    /// A payload that is already compressed is left alone.
    ///
    /// # Errors
    /// [`CompressError`] (never in practice).
    pub fn compress(mut self) -> Result<EnvelopeRepr, CompressError> {
        if !self.compressed {
            self.payload = compress(&self.payload)?;
            self.compressed = true;
        }
        Ok(self)
    }

    /// An unsigned command (delete, set triggers) without payload, for
    /// `name` with sequence number `version`; sign it by setting `key_id`
    /// and `signature` over `signed_bytes`.
    pub fn command(operation: Operation, name: AppName, version: u32, triggers: Vec<TriggerRepr>) -> EnvelopeRepr {
        EnvelopeRepr {
            operation,
            kind: PayloadKind::None,
            compressed: false,
            version,
            raw_len: 0,
            name,
            key_id: KeyId::UNSIGNED,
            triggers,
            open: None,
            payload: Vec::new(),
            signature: [0; SIGNATURE_LEN],
        }
    }

    /// Parses a view, checking every rule first.
    ///
    /// # Errors
    /// [`EnvelopeError`].
    pub fn parse<T: AsRef<[u8]>>(envelope: &Envelope<T>) -> Result<EnvelopeRepr, EnvelopeError> {
        envelope.check()?;
        let name = AppName::new(envelope.name())
            .map_err(|e| EnvelopeError { offset: field::NAME_LEN, kind: Kind::Name(e) })?;
        Ok(EnvelopeRepr {
            // Checked: both codes are known.
            operation: envelope.operation().unwrap_or(Operation::Install),
            kind: envelope.payload_kind().unwrap_or(PayloadKind::None),
            compressed: envelope.compressed(),
            version: envelope.version(),
            raw_len: envelope.raw_len(),
            name,
            key_id: envelope.key_id(),
            triggers: envelope.triggers().map(|t: Trigger<'_>| t.to_repr()).collect(),
            open: envelope.open_entries().map(|names| names.map(|n| n.iter().map(|&b| b as char).collect()).collect()),
            payload: envelope.payload().into(),
            signature: envelope.signature(),
        })
    }

    /// Bytes of the emitted envelope, signature included.
    pub fn buffer_len(&self) -> usize {
        field::HEADER_LEN
            + self.name.as_str().len()
            + self.triggers.iter().map(TriggerRepr::buffer_len).sum::<usize>()
            + self.open.as_ref().map_or(0, |o| 1 + o.iter().map(|n| 1 + n.len()).sum::<usize>())
            + self.payload.len()
            + SIGNATURE_LEN
    }

    /// Bytes covered by the signature.
    pub fn signed_len(&self) -> usize {
        self.buffer_len() - SIGNATURE_LEN
    }

    /// Writes the envelope into `buffer` (exactly [`EnvelopeRepr::buffer_len`]
    /// bytes) and checks the result, so that whatever is emitted parses.
    ///
    /// # Errors
    /// A wrong buffer size (`Truncated`/`TrailingBytes`), or the rule the
    /// fields break (too many triggers, an install without payload...).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, envelope: &mut Envelope<T>) -> Result<(), EnvelopeError> {
        let len = self.buffer_len();
        {
            let b = envelope.buffer_mut();
            if b.len() != len {
                let kind = if b.len() < len {
                    Kind::Truncated { needed: len as u64 }
                } else {
                    Kind::TrailingBytes { len: (b.len() - len) as u64 }
                };
                return Err(EnvelopeError { offset: b.len().min(len), kind });
            }
            let count = u8::try_from(self.triggers.len()).map_err(|_| EnvelopeError {
                offset: field::TRIGGER_COUNT,
                kind: Kind::TooManyTriggers { count: 255 },
            })?;
            let payload_len = u32::try_from(self.payload.len()).map_err(|_| EnvelopeError {
                offset: field::PAYLOAD_LEN.start,
                kind: Kind::Truncated { needed: u64::MAX },
            })?;
            b[field::MAGIC].copy_from_slice(&MAGIC);
            b[field::FORMAT] = FORMAT;
            b[field::OPERATION] = self.operation as u8;
            b[field::PAYLOAD_KIND] = self.kind as u8;
            b[field::FLAGS] =
                if self.compressed { FLAG_COMPRESSED } else { 0 } | if self.open.is_some() { FLAG_OPEN } else { 0 };
            b[field::VERSION].copy_from_slice(&self.version.to_le_bytes());
            b[field::RAW_LEN].copy_from_slice(&self.raw_len.to_le_bytes());
            b[field::PAYLOAD_LEN].copy_from_slice(&payload_len.to_le_bytes());
            b[field::NAME_LEN] = self.name.as_str().len() as u8;
            b[field::TRIGGER_COUNT] = count;
            b[field::RESERVED].fill(0);
            b[field::KEY_ID].copy_from_slice(&self.key_id.0);
            let mut at = field::HEADER_LEN;
            let name = self.name.as_str().as_bytes();
            b[at..at + name.len()].copy_from_slice(name);
            at += name.len();
            for t in &self.triggers {
                let n = t.buffer_len();
                t.emit(&mut b[at..at + n]);
                at += n;
            }
            if let Some(open) = &self.open {
                b[at] = open.len().min(255) as u8;
                at += 1;
                for name in open {
                    b[at] = name.len().min(255) as u8;
                    b[at + 1..at + 1 + name.len()].copy_from_slice(name.as_bytes());
                    at += 1 + name.len();
                }
            }
            b[at..at + self.payload.len()].copy_from_slice(&self.payload);
            at += self.payload.len();
            b[at..].copy_from_slice(&self.signature);
        }
        envelope.check()
    }

    /// Emits into a new vector.
    ///
    /// # Errors
    /// As [`EnvelopeRepr::emit`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, EnvelopeError> {
        let mut env = Envelope::new_unchecked(vec![0u8; self.buffer_len()]);
        self.emit(&mut env)?;
        Ok(env.into_inner())
    }
}

crate::key::impl_to_signed_bytes!(EnvelopeRepr, EnvelopeError, "envelope");
