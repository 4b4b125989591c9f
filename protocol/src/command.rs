//! Signed commands: an authenticated invocation of an app's entry point,
//! and setting the device's wall clock.
//!
//! ```text
//! 0   "ALKC"        4 | 4  format (1)    1 | 5  operation   1 | 6 name_len 1 | 7 entry_len 1
//! 8   sequence      8 | 16 expires       8 | 24 key id      8
//! 32  device id     8 | 40 input_len     4 | 44 reserved (0) 4
//! 48  app name | entry name | input | Ed25519 signature (64 B)
//! ```
//!
//! Integers are little-endian. **Invoke** (operation 1) runs `entry` of app
//! `name` (entry length 0: the program's first instruction) with `input`
//! as its read-only input (`r1`/`r2`), exactly as `POST /apps/NAME/run/ENTRY`
//! does with its payload. **Set time** (operation 2) carries no name and no
//! entry; its input is 8 bytes, the Unix time in milliseconds.
//!
//! - `sequence`: the device keeps, per trusted key, the highest sequence it
//!   accepted (persisted) and accepts only a higher one: a replayed envelope
//!   (equal) and an out-of-order one (lower) are refused and change nothing.
//!   One counter per key serves both operations.
//! - `expires`: Unix seconds after which the device refuses the envelope;
//!   0: no expiry. An envelope with an expiry is refused by a device whose
//!   clock is not set (set-time envelopes excepted: see `docs/coap-api.md`).
//! - `device id`: the [`KeyId`] of the addressed device's own key (`GET
//!   /auth`), so that an envelope for one device cannot be replayed to
//!   another that trusts the same key; zeros: any device.
//!
//! The signature covers every byte before it. [`Command::new_checked`] checks
//! the layout (never panics, never allocates); `CommandRepr` (feature
//! `alloc`) builds and signs one.

use alkyl_vm::describe::{Describe, Sink};

use crate::key::KeyId;
use crate::le;
use crate::name::{check_app_name, check_entry_name, NameError};

/// The first four bytes.
pub const MAGIC: [u8; 4] = *b"ALKC";
/// The format version this crate reads and writes.
pub const FORMAT: u8 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 48;
/// Bytes of the Ed25519 signature that ends every command.
pub use crate::key::SIGNATURE_LEN;
/// Bytes of a set-time command's input (Unix milliseconds, `u64`).
pub const TIME_INPUT_LEN: usize = 8;

/// Byte offsets of the fixed header.
pub mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const FORMAT: usize = 4;
    pub const OPERATION: usize = 5;
    pub const NAME_LEN: usize = 6;
    pub const ENTRY_LEN: usize = 7;
    pub const SEQUENCE: Range<usize> = 8..16;
    pub const EXPIRES: Range<usize> = 16..24;
    pub const KEY_ID: Range<usize> = 24..32;
    pub const DEVICE_ID: Range<usize> = 32..40;
    pub const INPUT_LEN: Range<usize> = 40..44;
    pub const RESERVED: Range<usize> = 44..48;
}

wire_codes! {
    /// What a command asks for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum CommandOp {
        /// Run an entry point of an app.
        Invoke = 1,
        /// Set the device's wall clock.
        SetTime = 2,
    }
}

/// Why a command was refused as malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// Shorter than its header or than its lengths say.
    Truncated,
    /// Longer than its lengths say.
    TrailingBytes,
    /// Not `ALKC`, or another format version.
    Header,
    /// An unknown operation code.
    Operation(u8),
    /// Reserved bytes are not zero.
    Reserved,
    /// A bad app name.
    Name(NameError),
    /// A bad entry name.
    Entry(NameError),
    /// A set-time command with a name, an entry, or an input not 8 bytes.
    Shape,
}

impl Describe for CommandError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            CommandError::Truncated => out.text("truncated command"),
            CommandError::TrailingBytes => out.text("bytes after the signature"),
            CommandError::Header => out.text("not an ALKC command of format 1"),
            CommandError::Operation(e) => ("unknown command operation ", e).describe(out),
            CommandError::Reserved => out.text("reserved field is not zero"),
            CommandError::Name(e) => ("app ", e).describe(out),
            CommandError::Entry(e) => ("entry ", e).describe(out),
            CommandError::Shape => out.text("a set-time command carries only an 8-byte time"),
        }
    }
}

alkyl_vm::error_by_describe!(CommandError);

/// A checked view of a command's bytes (borrowing them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    bytes: &'a [u8],
    operation: CommandOp,
}

impl<'a> Command<'a> {
    /// Checks every rule of the layout (not the signature).
    ///
    /// # Errors
    /// [`CommandError`].
    pub fn new_checked(bytes: &'a [u8]) -> Result<Command<'a>, CommandError> {
        if bytes.len() < HEADER_LEN + SIGNATURE_LEN {
            return Err(CommandError::Truncated);
        }
        if bytes[field::MAGIC] != MAGIC || bytes[field::FORMAT] != FORMAT {
            return Err(CommandError::Header);
        }
        let op = bytes[field::OPERATION];
        let operation = CommandOp::from_code(op).ok_or(CommandError::Operation(op))?;
        if bytes[field::RESERVED] != [0; 4] {
            return Err(CommandError::Reserved);
        }
        let name_len = bytes[field::NAME_LEN] as usize;
        let entry_len = bytes[field::ENTRY_LEN] as usize;
        let input_len = u32::from_le_bytes(le(bytes, field::INPUT_LEN)) as usize;
        let end = (HEADER_LEN + name_len + entry_len) as u64 + input_len as u64 + SIGNATURE_LEN as u64;
        if (bytes.len() as u64) < end {
            return Err(CommandError::Truncated);
        }
        if bytes.len() as u64 > end {
            return Err(CommandError::TrailingBytes);
        }
        let c = Command { bytes, operation };
        match operation {
            CommandOp::Invoke => {
                check_app_name(c.name()).map_err(CommandError::Name)?;
                if entry_len > 0 {
                    check_entry_name(c.entry().unwrap_or(&[])).map_err(CommandError::Entry)?;
                }
            }
            CommandOp::SetTime => {
                if name_len != 0 || entry_len != 0 || input_len != TIME_INPUT_LEN {
                    return Err(CommandError::Shape);
                }
            }
        }
        Ok(c)
    }

    /// The operation.
    pub fn operation(&self) -> CommandOp {
        self.operation
    }

    /// The sequence number.
    pub fn sequence(&self) -> u64 {
        u64::from_le_bytes(le(self.bytes, field::SEQUENCE))
    }

    /// Unix seconds after which it is refused (`None`: no expiry).
    pub fn expires(&self) -> Option<u64> {
        Some(u64::from_le_bytes(le(self.bytes, field::EXPIRES))).filter(|&e| e != 0)
    }

    /// The signing key's id.
    pub fn key_id(&self) -> KeyId {
        KeyId(self.bytes[field::KEY_ID].try_into().unwrap_or([0; 8]))
    }

    /// The addressed device's key id (`None`: any device).
    pub fn device_id(&self) -> Option<KeyId> {
        let id = KeyId(self.bytes[field::DEVICE_ID].try_into().unwrap_or([0; 8]));
        (id != KeyId::UNSIGNED).then_some(id)
    }

    /// The app name's bytes (empty for set-time).
    pub fn name(&self) -> &'a [u8] {
        let len = self.bytes[field::NAME_LEN] as usize;
        &self.bytes[HEADER_LEN..HEADER_LEN + len]
    }

    /// The entry name (`None`: the program's first instruction).
    pub fn entry(&self) -> Option<&'a [u8]> {
        let at = HEADER_LEN + self.bytes[field::NAME_LEN] as usize;
        let len = self.bytes[field::ENTRY_LEN] as usize;
        (len > 0).then(|| &self.bytes[at..at + len])
    }

    /// The input (invoke) or the 8-byte time (set-time).
    pub fn input(&self) -> &'a [u8] {
        let at = HEADER_LEN + self.bytes[field::NAME_LEN] as usize + self.bytes[field::ENTRY_LEN] as usize;
        &self.bytes[at..self.bytes.len() - SIGNATURE_LEN]
    }

    /// A set-time command's Unix time in milliseconds.
    pub fn unix_ms(&self) -> Option<u64> {
        (self.operation == CommandOp::SetTime).then(|| u64::from_le_bytes(le(self.input(), 0..8)))
    }

    /// The signed bytes: everything before the signature.
    pub fn signed_bytes(&self) -> &'a [u8] {
        &self.bytes[..self.bytes.len() - SIGNATURE_LEN]
    }

    /// The signature.
    pub fn signature(&self) -> [u8; SIGNATURE_LEN] {
        self.bytes[self.bytes.len() - SIGNATURE_LEN..].try_into().unwrap_or([0; SIGNATURE_LEN])
    }
}

#[cfg(feature = "alloc")]
pub use repr::CommandRepr;

#[cfg(feature = "alloc")]
mod repr {
    use alloc::string::String;
    use alloc::vec::Vec;

    use super::*;

    /// Every field of a command, owned: build one, then sign it with
    /// [`CommandRepr::to_signed_bytes`] (or emit it unsigned, for a
    /// development-mode device, with [`CommandRepr::to_bytes`]).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct CommandRepr {
        pub operation: CommandOp,
        pub sequence: u64,
        /// Unix seconds; `None`: no expiry.
        pub expires: Option<u64>,
        pub key_id: KeyId,
        /// The addressed device (`None`: any).
        pub device_id: Option<KeyId>,
        /// App name (empty for set-time).
        pub name: String,
        /// Entry name (`None`: the first instruction).
        pub entry: Option<String>,
        pub input: Vec<u8>,
    }

    impl CommandRepr {
        /// An invocation of `entry` of `name` with `input`, sequence `sequence`.
        pub fn invoke(name: &str, entry: Option<&str>, input: Vec<u8>, sequence: u64) -> CommandRepr {
            CommandRepr {
                operation: CommandOp::Invoke,
                sequence,
                expires: None,
                key_id: KeyId::UNSIGNED,
                device_id: None,
                name: name.into(),
                entry: entry.map(String::from),
                input,
            }
        }

        /// Setting the device's clock to `unix_ms`.
        pub fn set_time(unix_ms: u64, sequence: u64) -> CommandRepr {
            CommandRepr {
                operation: CommandOp::SetTime,
                sequence,
                expires: None,
                key_id: KeyId::UNSIGNED,
                device_id: None,
                name: String::new(),
                entry: None,
                input: unix_ms.to_le_bytes().to_vec(),
            }
        }

        /// Parses a checked view.
        pub fn parse(c: &Command<'_>) -> CommandRepr {
            let text = |b: &[u8]| b.iter().map(|&b| b as char).collect::<String>();
            CommandRepr {
                operation: c.operation(),
                sequence: c.sequence(),
                expires: c.expires(),
                key_id: c.key_id(),
                device_id: c.device_id(),
                name: text(c.name()),
                entry: c.entry().map(text),
                input: c.input().to_vec(),
            }
        }

        /// Bytes of the emitted command, signature included.
        pub fn buffer_len(&self) -> usize {
            HEADER_LEN + self.name.len() + self.entry.as_ref().map_or(0, String::len) + self.input.len() + SIGNATURE_LEN
        }

        /// Emits the command with a zero signature (what a development-mode
        /// device accepts when `key_id` is [`KeyId::UNSIGNED`]).
        ///
        /// # Errors
        /// The rule the fields break (a bad name, a set-time shape...).
        pub fn to_bytes(&self) -> Result<Vec<u8>, CommandError> {
            let entry = self.entry.as_deref().unwrap_or("");
            let name_len = u8::try_from(self.name.len()).map_err(|_| {
                CommandError::Name(NameError::Length { len: self.name.len(), max: crate::MAX_NAME_LEN })
            })?;
            let entry_len = u8::try_from(entry.len())
                .map_err(|_| CommandError::Entry(NameError::Length { len: entry.len(), max: crate::MAX_ENTRY_LEN }))?;
            let input_len = u32::try_from(self.input.len()).map_err(|_| CommandError::Truncated)?;
            let mut b = Vec::with_capacity(self.buffer_len());
            b.extend_from_slice(&MAGIC);
            b.extend_from_slice(&[FORMAT, self.operation as u8, name_len, entry_len]);
            b.extend_from_slice(&self.sequence.to_le_bytes());
            b.extend_from_slice(&self.expires.unwrap_or(0).to_le_bytes());
            b.extend_from_slice(&self.key_id.0);
            b.extend_from_slice(&self.device_id.unwrap_or(KeyId::UNSIGNED).0);
            b.extend_from_slice(&input_len.to_le_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(self.name.as_bytes());
            b.extend_from_slice(entry.as_bytes());
            b.extend_from_slice(&self.input);
            b.extend_from_slice(&[0; SIGNATURE_LEN]);
            Command::new_checked(&b)?;
            Ok(b)
        }
    }

    crate::key::impl_to_signed_bytes!(CommandRepr, CommandError, "command");
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    #[test]
    fn round_trips_and_rules() {
        let mut r = CommandRepr::invoke("lock", Some("SetPin"), vec![1, 2, 3], 7);
        r.expires = Some(1_900_000_000);
        r.device_id = Some(KeyId([5; 8]));
        let b = r.to_signed_bytes(&[0; 32], |_| [0xab; SIGNATURE_LEN]).unwrap();
        assert_eq!(b.len(), r.buffer_len());
        let c = Command::new_checked(&b).unwrap();
        assert_eq!(c.operation(), CommandOp::Invoke);
        assert_eq!((c.sequence(), c.expires(), c.device_id()), (7, Some(1_900_000_000), Some(KeyId([5; 8]))));
        assert_eq!((c.name(), c.entry(), c.input()), (&b"lock"[..], Some(&b"SetPin"[..]), &[1u8, 2, 3][..]));
        assert_eq!(c.key_id(), KeyId::of(&[0; 32]));
        assert_eq!(c.signature(), [0xab; SIGNATURE_LEN]);
        assert_eq!(c.signed_bytes(), &b[..b.len() - SIGNATURE_LEN]);
        let back = CommandRepr::parse(&c);
        assert_eq!(back, CommandRepr { key_id: KeyId::of(&[0; 32]), ..r });

        let t = CommandRepr::set_time(1_700_000_000_123, 8).to_bytes().unwrap();
        let c = Command::new_checked(&t).unwrap();
        assert_eq!(
            (c.operation(), c.unix_ms(), c.entry(), c.expires()),
            (CommandOp::SetTime, Some(1_700_000_000_123), None, None)
        );

        // Every rule.
        assert_eq!(Command::new_checked(&b[..b.len() - 1]), Err(CommandError::Truncated));
        assert_eq!(Command::new_checked(&[&b[..], &[0]].concat()), Err(CommandError::TrailingBytes));
        assert_eq!(Command::new_checked(&b[..HEADER_LEN]), Err(CommandError::Truncated));
        let mut bad = b.clone();
        bad[0] = b'X';
        assert_eq!(Command::new_checked(&bad), Err(CommandError::Header));
        let mut bad = b.clone();
        bad[field::OPERATION] = 9;
        assert_eq!(Command::new_checked(&bad), Err(CommandError::Operation(9)));
        let mut bad = b.clone();
        bad[field::RESERVED.start] = 1;
        assert_eq!(Command::new_checked(&bad), Err(CommandError::Reserved));
        let mut bad = b.clone();
        bad[HEADER_LEN] = b'/';
        assert!(matches!(Command::new_checked(&bad), Err(CommandError::Name(_))));
        let mut bad = b.clone();
        bad[HEADER_LEN + 4] = b'-';
        assert!(matches!(Command::new_checked(&bad), Err(CommandError::Entry(_))));
        let mut bad = t.clone();
        bad[field::OPERATION] = CommandOp::SetTime as u8;
        bad[field::INPUT_LEN.start] = 7;
        bad.remove(HEADER_LEN);
        assert_eq!(Command::new_checked(&bad), Err(CommandError::Shape));
        // A huge input length never wraps.
        let mut bad = b.clone();
        bad[field::INPUT_LEN].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Command::new_checked(&bad), Err(CommandError::Truncated));
        // No entry: the first instruction.
        let d = CommandRepr::invoke("f", None, vec![], 1).to_bytes().unwrap();
        assert_eq!(Command::new_checked(&d).unwrap().entry(), None);
    }
}
