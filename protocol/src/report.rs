//! Device reports: a small payload a script sends to the gateway, signed by
//! the device's own Ed25519 key.
//!
//! ```text
//! 0   "ALKD"     4 | 4  format (1)  1 | 5 flags 1 | 6 name_len 1 | 7 reserved (0) 1
//! 8   sequence   8 | 16 unix_ms     8 | 24 device key id 8
//! 32  payload_len 2 | 34 reserved (0) 2
//! 36  app name | payload | Ed25519 signature (64 B, by the device key)
//! ```
//!
//! Integers little-endian. `flags` bit 0: `unix_ms` is the device's wall
//! clock when the report was queued (else the clock was not set and
//! `unix_ms` is 0). `sequence` counts the device's reports from 1 and never
//! repeats (persisted): a gateway keeps the highest sequence seen per device
//! and drops anything not above it, so a report counts exactly once even
//! when a lost acknowledgement makes the device send it again, and a
//! recorded report cannot be replayed. The device key id says which device
//! sent it; the gateway checks the signature with the public key it pinned
//! for that id (`GET /auth` shows it; `alkyl-node --device-key`).

use core::fmt;

use crate::key::KeyId;
use crate::name::{check_app_name, NameError};

/// The first four bytes.
pub const MAGIC: [u8; 4] = *b"ALKD";
/// The format version.
pub const FORMAT: u8 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 36;
/// Bytes of the signature.
pub const SIGNATURE_LEN: usize = 64;
/// Flag: `unix_ms` is valid.
pub const FLAG_TIME: u8 = 0x01;
/// Largest payload a report carries.
pub const MAX_PAYLOAD: usize = 64;

/// Why report bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// Lengths disagree with the buffer.
    Length,
    /// Not `ALKD` format 1, unknown flags or reserved bytes not zero.
    Header,
    /// A bad app name.
    Name(NameError),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Length => f.write_str("report length mismatch"),
            ReportError::Header => f.write_str("not an ALKD report of format 1"),
            ReportError::Name(e) => write!(f, "report app {e}"),
        }
    }
}

impl core::error::Error for ReportError {}

/// A checked view of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Report<'a> {
    bytes: &'a [u8],
}

impl<'a> Report<'a> {
    /// Checks the layout (not the signature).
    ///
    /// # Errors
    /// [`ReportError`].
    pub fn new_checked(bytes: &'a [u8]) -> Result<Report<'a>, ReportError> {
        if bytes.len() < HEADER_LEN + SIGNATURE_LEN {
            return Err(ReportError::Length);
        }
        if bytes[0..4] != MAGIC || bytes[4] != FORMAT || bytes[5] & !FLAG_TIME != 0 || bytes[7] != 0 {
            return Err(ReportError::Header);
        }
        if bytes[34..36] != [0, 0] {
            return Err(ReportError::Header);
        }
        let name_len = bytes[6] as usize;
        let payload_len = u16::from_le_bytes([bytes[32], bytes[33]]) as usize;
        if payload_len > MAX_PAYLOAD || bytes.len() != HEADER_LEN + name_len + payload_len + SIGNATURE_LEN {
            return Err(ReportError::Length);
        }
        check_app_name(&bytes[HEADER_LEN..HEADER_LEN + name_len]).map_err(ReportError::Name)?;
        Ok(Report { bytes })
    }

    fn le64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.bytes[at..at + 8].try_into().unwrap_or([0; 8]))
    }

    /// The device's report sequence.
    pub fn sequence(&self) -> u64 {
        self.le64(8)
    }

    /// The device's Unix time (ms) when it queued the report, if its clock was set.
    pub fn unix_ms(&self) -> Option<u64> {
        (self.bytes[5] & FLAG_TIME != 0).then(|| self.le64(16))
    }

    /// The id of the device key that signed it.
    pub fn device_id(&self) -> KeyId {
        KeyId(self.bytes[24..32].try_into().unwrap_or([0; 8]))
    }

    /// The reporting app's name.
    pub fn app(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..HEADER_LEN + self.bytes[6] as usize]
    }

    /// The payload.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN + self.bytes[6] as usize..self.bytes.len() - SIGNATURE_LEN]
    }

    /// The signed bytes.
    pub fn signed_bytes(&self) -> &'a [u8] {
        &self.bytes[..self.bytes.len() - SIGNATURE_LEN]
    }

    /// The signature.
    pub fn signature(&self) -> [u8; SIGNATURE_LEN] {
        self.bytes[self.bytes.len() - SIGNATURE_LEN..].try_into().unwrap_or([0; SIGNATURE_LEN])
    }
}

/// Emits a report signed by `sign` (the device's Ed25519 over the bytes
/// before the signature); `device_id` is the id of the device's key.
/// `payload` longer than [`MAX_PAYLOAD`] or an app name longer than 255
/// bytes is cut (callers check the limits first).
#[cfg(feature = "alloc")]
pub fn emit(
    sequence: u64,
    unix_ms: Option<u64>,
    device_id: KeyId,
    app: &str,
    payload: &[u8],
    sign: impl FnOnce(&[u8]) -> [u8; SIGNATURE_LEN],
) -> alloc::vec::Vec<u8> {
    let app = &app.as_bytes()[..app.len().min(255)];
    let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
    let mut b = alloc::vec::Vec::with_capacity(HEADER_LEN + app.len() + payload.len() + SIGNATURE_LEN);
    b.extend_from_slice(&MAGIC);
    b.extend_from_slice(&[FORMAT, if unix_ms.is_some() { FLAG_TIME } else { 0 }, app.len() as u8, 0]);
    b.extend_from_slice(&sequence.to_le_bytes());
    b.extend_from_slice(&unix_ms.unwrap_or(0).to_le_bytes());
    b.extend_from_slice(&device_id.0);
    b.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(app);
    b.extend_from_slice(payload);
    let signature = sign(&b);
    b.extend_from_slice(&signature);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rules() {
        let b = emit(3, Some(1_700_000_000_000), KeyId([7; 8]), "lock", b"3 bad pins", |m| {
            assert_eq!(m.len(), HEADER_LEN + 4 + 10);
            [1; SIGNATURE_LEN]
        });
        let r = Report::new_checked(&b).unwrap();
        assert_eq!((r.sequence(), r.unix_ms(), r.device_id()), (3, Some(1_700_000_000_000), KeyId([7; 8])));
        assert_eq!((r.app(), r.payload(), r.signature()), (&b"lock"[..], &b"3 bad pins"[..], [1; SIGNATURE_LEN]));
        let u = emit(4, None, KeyId([7; 8]), "lock", b"", |_| [0; SIGNATURE_LEN]);
        assert_eq!(Report::new_checked(&u).unwrap().unix_ms(), None);
        assert_eq!(Report::new_checked(&b[..b.len() - 1]), Err(ReportError::Length));
        let mut bad = b.clone();
        bad[5] = 2;
        assert_eq!(Report::new_checked(&bad), Err(ReportError::Header));
        let mut bad = b.clone();
        bad[HEADER_LEN] = b'/';
        assert!(matches!(Report::new_checked(&bad), Err(ReportError::Name(_))));
    }
}
