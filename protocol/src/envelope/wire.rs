//! The zero-copy view of an envelope's bytes. See `docs/coap-api.md` for
//! the byte-level layout.

use super::error::{EnvelopeError, EnvelopeErrorKind as Kind, ShapeError};
use super::trigger::Trigger;
use super::{
    Operation, PayloadKind, FLAG_COMPRESSED, FLAG_OPEN, FORMAT, MAGIC, MAX_OPEN, MAX_TRIGGERS, OPEN_ALL, SIGNATURE_LEN,
};
use crate::key::KeyId;
use crate::le;
use crate::name::check_app_name;

/// Byte offsets of the fixed header (integers little-endian).
pub mod field {
    use core::ops::Range;
    /// The bytes `ALKE`.
    pub const MAGIC: Range<usize> = 0..4;
    /// `u8`: [`super::FORMAT`].
    pub const FORMAT: usize = 4;
    /// `u8`: [`super::Operation`].
    pub const OPERATION: usize = 5;
    /// `u8`: [`super::PayloadKind`].
    pub const PAYLOAD_KIND: usize = 6;
    /// `u8`: [`super::FLAG_COMPRESSED`].
    pub const FLAGS: usize = 7;
    /// `u32`: app version (install) or command sequence number.
    pub const VERSION: Range<usize> = 8..12;
    /// `u32`: payload bytes after decompression.
    pub const RAW_LEN: Range<usize> = 12..16;
    /// `u32`: payload bytes as carried.
    pub const PAYLOAD_LEN: Range<usize> = 16..20;
    /// `u8`: app name length.
    pub const NAME_LEN: usize = 20;
    /// `u8`: number of trigger records.
    pub const TRIGGER_COUNT: usize = 21;
    /// `u16`: zero.
    pub const RESERVED: Range<usize> = 22..24;
    /// 8 bytes: id of the signing key.
    pub const KEY_ID: Range<usize> = 24..32;
    /// Size of the fixed header; the app name follows.
    pub const HEADER_LEN: usize = 32;
}

/// Where the variable parts of a checked envelope lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    triggers_start: usize,
    /// Where the open-entry list starts (`None`: not declared).
    open_start: Option<usize>,
    payload_start: usize,
    payload_end: usize,
}

/// A view of an envelope in a byte buffer.
///
/// Accessors of a view made by [`Envelope::new_checked`] never panic and
/// return the checked fields; on an unchecked view they return zeros or
/// empty slices where the buffer is too short.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Envelope<T> {
    /// Wraps `buffer` without checking it.
    pub const fn new_unchecked(buffer: T) -> Envelope<T> {
        Envelope { buffer }
    }

    /// Wraps `buffer` and checks every rule: lengths, codes, names,
    /// triggers, the operation's shape, and that the signature ends the
    /// buffer exactly.
    ///
    /// # Errors
    /// [`EnvelopeError`] with the offset of the first broken rule.
    pub fn new_checked(buffer: T) -> Result<Envelope<T>, EnvelopeError> {
        let e = Envelope { buffer };
        e.check()?;
        Ok(e)
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn byte(&self, at: usize) -> u8 {
        self.bytes().get(at).copied().unwrap_or(0)
    }

    /// Checks every rule (see [`Envelope::new_checked`]).
    ///
    /// # Errors
    /// [`EnvelopeError`].
    pub fn check(&self) -> Result<(), EnvelopeError> {
        self.layout().map(|_| ())
    }

    fn layout(&self) -> Result<Layout, EnvelopeError> {
        let b = self.bytes();
        let err = |offset: usize, kind| EnvelopeError { offset, kind };
        if b.len() < field::HEADER_LEN {
            return Err(err(b.len(), Kind::Truncated { needed: field::HEADER_LEN as u64 }));
        }
        if b[field::MAGIC] != MAGIC {
            return Err(err(0, Kind::BadMagic));
        }
        if b[field::FORMAT] != FORMAT {
            return Err(err(field::FORMAT, Kind::UnknownFormat { format: b[field::FORMAT] }));
        }
        let operation = Operation::from_code(b[field::OPERATION])
            .ok_or(err(field::OPERATION, Kind::UnknownOperation { operation: b[field::OPERATION] }))?;
        let kind = PayloadKind::from_code(b[field::PAYLOAD_KIND])
            .ok_or(err(field::PAYLOAD_KIND, Kind::UnknownPayloadKind { kind: b[field::PAYLOAD_KIND] }))?;
        let flags = b[field::FLAGS];
        if flags & !(FLAG_COMPRESSED | FLAG_OPEN) != 0 {
            return Err(err(field::FLAGS, Kind::UnknownFlags { flags }));
        }
        if b[field::RESERVED] != [0, 0] {
            return Err(err(field::RESERVED.start, Kind::ReservedNotZero));
        }
        let name_len = b[field::NAME_LEN] as usize;
        let name_end = field::HEADER_LEN + name_len;
        let name =
            b.get(field::HEADER_LEN..name_end).ok_or(err(b.len(), Kind::Truncated { needed: name_end as u64 }))?;
        check_app_name(name).map_err(|e| err(field::NAME_LEN, Kind::Name(e)))?;
        let count = b[field::TRIGGER_COUNT];
        if count as usize > MAX_TRIGGERS {
            return Err(err(field::TRIGGER_COUNT, Kind::TooManyTriggers { count }));
        }
        let mut at = name_end;
        for index in 0..count {
            let (_, len) = Trigger::parse(&b[at..], at, index)?;
            at += len;
        }
        let open_start = (flags & FLAG_OPEN != 0).then_some(at);
        if open_start.is_some() {
            let bad = err(at, Kind::OpenEntries);
            if operation != Operation::Install {
                return Err(bad);
            }
            let count = *b.get(at).ok_or(err(b.len(), Kind::Truncated { needed: at as u64 + 1 }))? as usize;
            if count > MAX_OPEN {
                return Err(bad);
            }
            at += 1;
            for _ in 0..count {
                let len = *b.get(at).ok_or(err(b.len(), Kind::Truncated { needed: at as u64 + 1 }))? as usize;
                let name = b
                    .get(at + 1..at + 1 + len)
                    .ok_or(err(b.len(), Kind::Truncated { needed: (at + 1 + len) as u64 }))?;
                if !(name.is_empty() || name == OPEN_ALL.as_bytes() || crate::check_entry_name(name).is_ok()) {
                    return Err(bad);
                }
                at += 1 + len;
            }
        }
        let payload_len = u32::from_le_bytes(le(b, field::PAYLOAD_LEN));
        let raw_len = u32::from_le_bytes(le(b, field::RAW_LEN));
        let compressed = flags & FLAG_COMPRESSED != 0;
        // Shape rules of the operation.
        let shape = match operation {
            Operation::Install if kind == PayloadKind::None || payload_len == 0 => {
                Some(ShapeError::InstallWithoutPayload)
            }
            Operation::Delete | Operation::SetTriggers
                if kind != PayloadKind::None || payload_len != 0 || raw_len != 0 || compressed =>
            {
                Some(ShapeError::CommandWithPayload)
            }
            Operation::Delete if count != 0 => Some(ShapeError::DeleteWithTriggers),
            _ => None,
        };
        if let Some(s) = shape {
            return Err(err(field::OPERATION, Kind::Shape(s)));
        }
        if !compressed && raw_len != payload_len {
            return Err(err(field::RAW_LEN.start, Kind::RawLength { raw_len, payload_len }));
        }
        // 64-bit offsets: no wrap-around on 32-bit targets.
        let payload_end = at as u64 + payload_len as u64;
        let end = payload_end + SIGNATURE_LEN as u64;
        if (b.len() as u64) < end {
            return Err(err(b.len(), Kind::Truncated { needed: end }));
        }
        if b.len() as u64 > end {
            return Err(err(end as usize, Kind::TrailingBytes { len: b.len() as u64 - end }));
        }
        Ok(Layout { triggers_start: name_end, open_start, payload_start: at, payload_end: payload_end as usize })
    }

    /// Operation (`None` for an unknown code).
    pub fn operation(&self) -> Option<Operation> {
        Operation::from_code(self.byte(field::OPERATION))
    }

    /// Payload kind (`None` for an unknown code).
    pub fn payload_kind(&self) -> Option<PayloadKind> {
        PayloadKind::from_code(self.byte(field::PAYLOAD_KIND))
    }

    /// Whether the payload is heatshrink-compressed.
    pub fn compressed(&self) -> bool {
        self.byte(field::FLAGS) & FLAG_COMPRESSED != 0
    }

    /// App version (install) or command sequence number.
    pub fn version(&self) -> u32 {
        u32::from_le_bytes(le(self.bytes(), field::VERSION))
    }

    /// Declared payload size after decompression.
    pub fn raw_len(&self) -> u32 {
        u32::from_le_bytes(le(self.bytes(), field::RAW_LEN))
    }

    /// The signing key's id.
    pub fn key_id(&self) -> KeyId {
        let mut id = [0u8; 8];
        if let Some(b) = self.bytes().get(field::KEY_ID) {
            id.copy_from_slice(b);
        }
        KeyId(id)
    }

    /// The app name's bytes (checked: ASCII).
    pub fn name(&self) -> &[u8] {
        let len = self.byte(field::NAME_LEN) as usize;
        self.bytes().get(field::HEADER_LEN..field::HEADER_LEN + len).unwrap_or(&[])
    }

    /// The trigger records, parsed (borrowing the entry names). Stops at
    /// the first bad record (none in a checked view).
    pub fn triggers(&self) -> impl Iterator<Item = Trigger<'_>> + '_ {
        let count = self.byte(field::TRIGGER_COUNT);
        let mut at = field::HEADER_LEN + self.byte(field::NAME_LEN) as usize;
        (0..count).map_while(move |index| {
            let (t, len) = Trigger::parse(self.bytes().get(at..)?, at, index).ok()?;
            at += len;
            Some(t)
        })
    }

    /// The declared open entries (`None`: no declaration, so every entry is
    /// protected): entry names, [`super::OPEN_ALL`] or
    /// [`super::OPEN_DEFAULT`]. Stops early on an unchecked, malformed view.
    pub fn open_entries(&self) -> Option<impl Iterator<Item = &[u8]> + '_> {
        let start = self.layout().ok()?.open_start?;
        let b = self.bytes();
        let count = b.get(start).copied().unwrap_or(0);
        let mut at = start + 1;
        Some((0..count).map_while(move |_| {
            let len = *b.get(at)? as usize;
            let name = b.get(at + 1..at + 1 + len)?;
            at += 1 + len;
            Some(name)
        }))
    }

    /// The payload as carried (maybe compressed); empty if unchecked and
    /// malformed.
    pub fn payload(&self) -> &[u8] {
        self.layout().ok().and_then(|l| self.bytes().get(l.payload_start..l.payload_end)).unwrap_or(&[])
    }

    /// The signed bytes: everything before the signature.
    pub fn signed_bytes(&self) -> &[u8] {
        let b = self.bytes();
        &b[..b.len().saturating_sub(SIGNATURE_LEN)]
    }

    /// The signature (zeros if the buffer is shorter than one).
    pub fn signature(&self) -> [u8; SIGNATURE_LEN] {
        let b = self.bytes();
        let mut sig = [0u8; SIGNATURE_LEN];
        if let Some(s) = b.get(b.len().saturating_sub(SIGNATURE_LEN)..) {
            if s.len() == SIGNATURE_LEN {
                sig.copy_from_slice(s);
            }
        }
        sig
    }

    /// Offset of the first trigger record.
    pub fn triggers_offset(&self) -> usize {
        self.layout().map_or(0, |l| l.triggers_start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Envelope<T> {
    /// The whole buffer, writable.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Writes `signature` into the last [`SIGNATURE_LEN`] bytes.
    pub fn set_signature(&mut self, signature: &[u8; SIGNATURE_LEN]) {
        let b = self.buffer.as_mut();
        let at = b.len().saturating_sub(SIGNATURE_LEN);
        if let Some(s) = b.get_mut(at..) {
            if s.len() == SIGNATURE_LEN {
                s.copy_from_slice(signature);
            }
        }
    }
}
