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

use alkyl_vm::describe::{Describe, Sink};

use crate::key::KeyId;
use crate::le;
use crate::name::{check_app_name, NameError};

/// The first four bytes.
pub const MAGIC: [u8; 4] = *b"ALKD";
/// The format version.
pub const FORMAT: u8 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 36;
/// Bytes of the signature.
pub use crate::key::SIGNATURE_LEN;
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

impl Describe for ReportError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            ReportError::Length => out.text("report length mismatch"),
            ReportError::Header => out.text("not an ALKD report of format 1"),
            ReportError::Name(e) => ("report app ", e).describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(ReportError);

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
        let payload_len = u16::from_le_bytes(le(bytes, 32..34)) as usize;
        if payload_len > MAX_PAYLOAD || bytes.len() != HEADER_LEN + name_len + payload_len + SIGNATURE_LEN {
            return Err(ReportError::Length);
        }
        check_app_name(&bytes[HEADER_LEN..HEADER_LEN + name_len]).map_err(ReportError::Name)?;
        Ok(Report { bytes })
    }

    /// The device's report sequence.
    pub fn sequence(&self) -> u64 {
        u64::from_le_bytes(le(self.bytes, 8..16))
    }

    /// The device's Unix time (ms) when it queued the report, if its clock was set.
    pub fn unix_ms(&self) -> Option<u64> {
        (self.bytes[5] & FLAG_TIME != 0).then(|| u64::from_le_bytes(le(self.bytes, 16..24)))
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

/// The first payload byte of a request for chain state (docs/aryl.md):
/// the gateway reads the contract and answers later with a signed call of
/// one of the app's entries, instead of relaying the report.
pub const REQUEST: u8 = b'?';

/// A request for chain state, a report payload of the form
/// `?` ‖ view function ‖ `>` ‖ entry ‖ NUL ‖ arguments: the names end at
/// the first zero byte (or the payload's end); the arguments of the view
/// function, 8 bytes each little-endian, start at the next multiple of 8
/// after that byte. The gateway calls the function (`eth_call`) and
/// invokes `entry` with its results, then the block number read at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub function: &'a str,
    pub entry: &'a str,
    /// The arguments' bytes (a multiple of 8).
    pub args: &'a [u8],
}

impl<'a> Request<'a> {
    /// The request in `payload`, if it is one and well formed.
    pub fn parse(payload: &'a [u8]) -> Option<Request<'a>> {
        let rest = payload.strip_prefix(&[REQUEST])?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        let text = core::str::from_utf8(&rest[..end]).ok()?;
        let (function, entry) = text.split_once('>')?;
        let args = payload.get((end + 2).next_multiple_of(8)..).unwrap_or(&[]);
        let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (ident(function) && ident(entry) && args.len() % 8 == 0).then_some(Request { function, entry, args })
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

    #[test]
    fn requests() {
        let r = Request::parse(b"?invalidAttempts>Attempts\0\0\0\0\0\0\0\x07\0\0\0\0\0\0\0").unwrap();
        assert_eq!((r.function, r.entry, r.args), ("invalidAttempts", "Attempts", &[7, 0, 0, 0, 0, 0, 0, 0][..]));
        let r = Request::parse(b"?rent>Rent").unwrap();
        assert_eq!((r.function, r.entry, r.args.len()), ("rent", "Rent", 0));
        for bad in [&b"invalid"[..], b"?rent", b"?>Rent", b"?rent>", b"?a b>c", b"?a>b\0\0\0\0\0\0\x01"] {
            assert_eq!(Request::parse(bad), None, "{bad:?}");
        }
    }
}

/// A host without a CoAP client (RIOT) delivering reports: one confirmable
/// `POST` at a time, framed and matched here, sent and received by the host
/// over any UDP socket (sans-IO, as smoltcp's sockets).
#[cfg(feature = "alloc")]
pub mod exchange {
    use alloc::vec::Vec;

    /// First retransmission timeout (RFC 7252 ACK_TIMEOUT).
    pub const ACK_TIMEOUT_MS: u64 = 2_000;
    /// Retransmissions before giving up (RFC 7252 MAX_RETRANSMIT).
    pub const MAX_RETRANSMIT: u32 = 4;

    /// A confirmable POST of `payload` to `path` (segments split on `/`).
    ///
    /// # Panics
    /// Never for tokens up to 8 bytes and path segments up to 268 bytes
    /// (longer ones are cut).
    pub fn coap_post(mid: u16, token: &[u8], path: &str, payload: &[u8]) -> Vec<u8> {
        let token = &token[..token.len().min(8)];
        let mut b = Vec::with_capacity(8 + token.len() + path.len() + payload.len());
        b.extend_from_slice(&[0x40 | token.len() as u8, 0x02]);
        b.extend_from_slice(&mid.to_be_bytes());
        b.extend_from_slice(token);
        let mut delta = 11; // Uri-Path
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let seg = &seg.as_bytes()[..seg.len().min(268)];
            let (d, l) = (delta as usize, seg.len());
            let nib = |v: usize| if v < 13 { v as u8 } else { 13 };
            b.push(nib(d) << 4 | nib(l));
            if d >= 13 {
                b.push((d - 13) as u8);
            }
            if l >= 13 {
                b.push((l - 13) as u8);
            }
            b.extend_from_slice(seg);
            delta = 0;
        }
        if !payload.is_empty() {
            b.push(0xff);
            b.extend_from_slice(payload);
        }
        b
    }

    /// What a datagram says about the exchange.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Answer {
        /// Not about this exchange.
        Other,
        /// An empty ACK: the response comes separately; stop retransmitting.
        Acknowledged,
        /// The response code (piggybacked or separate). A separate
        /// confirmable response must be acknowledged: send
        /// [`empty_ack`]`(its message id)`.
        Response { code: u8, confirmable_mid: Option<u16> },
        /// The peer reset the exchange.
        Reset,
    }

    /// Classifies `datagram` for the exchange with message id `mid` and `token`.
    pub fn answer(datagram: &[u8], mid: u16, token: &[u8]) -> Answer {
        let [b0, code, m0, m1, ..] = *datagram else { return Answer::Other };
        let (version, kind, tkl) = (b0 >> 6, (b0 >> 4) & 3, (b0 & 0x0f) as usize);
        let their_mid = u16::from_be_bytes([m0, m1]);
        if version != 1 || tkl > 8 || datagram.len() < 4 + tkl {
            return Answer::Other;
        }
        let same_token = &datagram[4..4 + tkl] == token;
        match kind {
            2 if their_mid == mid && code == 0 => Answer::Acknowledged,
            2 if their_mid == mid && same_token => Answer::Response { code, confirmable_mid: None },
            3 if their_mid == mid => Answer::Reset,
            0 | 1 if same_token && code >> 5 != 0 => {
                Answer::Response { code, confirmable_mid: (kind == 0).then_some(their_mid) }
            }
            _ => Answer::Other,
        }
    }

    /// An empty acknowledgement of message `mid`.
    pub fn empty_ack(mid: u16) -> [u8; 4] {
        let [a, b] = mid.to_be_bytes();
        [0x60, 0, a, b]
    }

    /// One report on its way: when to (re)send it, and whether it is done.
    #[derive(Clone, Debug)]
    pub struct Exchange {
        /// The report's sequence.
        pub sequence: u64,
        pub mid: u16,
        pub token: [u8; 4],
        /// The request datagram.
        pub datagram: Vec<u8>,
        next_send_ms: u64,
        timeout_ms: u64,
        sent: u32,
        acknowledged: bool,
    }

    /// What the host should do now.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Step {
        /// Send [`Exchange::datagram`] now.
        Send,
        /// Nothing until this time (ms), unless a datagram comes.
        Wait(u64),
        /// No answer after every retransmission: the delivery failed.
        GaveUp,
    }

    impl Exchange {
        /// An exchange for report `sequence` (its signed bytes) to `path`.
        pub fn new(sequence: u64, mid: u16, token: [u8; 4], path: &str, report: &[u8], now_ms: u64) -> Exchange {
            Exchange {
                sequence,
                mid,
                token,
                datagram: coap_post(mid, &token, path, report),
                next_send_ms: now_ms,
                timeout_ms: ACK_TIMEOUT_MS,
                sent: 0,
                acknowledged: false,
            }
        }

        /// What to do at `now_ms`.
        pub fn poll(&mut self, now_ms: u64) -> Step {
            if now_ms < self.next_send_ms {
                return Step::Wait(self.next_send_ms);
            }
            if self.acknowledged || self.sent > MAX_RETRANSMIT {
                return Step::GaveUp;
            }
            self.sent += 1;
            self.next_send_ms = now_ms + self.timeout_ms;
            self.timeout_ms *= 2;
            Step::Send
        }

        /// A datagram from the gateway: `Some(code)` when the exchange is
        /// over (a response; 0 for a reset).
        pub fn receive(&mut self, datagram: &[u8], now_ms: u64) -> (Option<u8>, Option<[u8; 4]>) {
            match answer(datagram, self.mid, &self.token) {
                Answer::Other => (None, None),
                Answer::Acknowledged => {
                    // Wait for the separate response as long as the
                    // retransmissions would have lasted.
                    self.acknowledged = true;
                    self.next_send_ms = now_ms + ACK_TIMEOUT_MS * (1 << (MAX_RETRANSMIT + 1));
                    (None, None)
                }
                Answer::Response { code, confirmable_mid } => (Some(code), confirmable_mid.map(empty_ack)),
                Answer::Reset => (Some(0), None),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn framing_and_answers() {
            let d = coap_post(0x1234, &[1, 2, 3, 4], "/gw/reports", b"xy");
            assert_eq!(
                d,
                [
                    0x44, 0x02, 0x12, 0x34, 1, 2, 3, 4, 0xb2, b'g', b'w', 0x07, b'r', b'e', b'p', b'o', b'r', b't',
                    b's', 0xff, b'x', b'y'
                ]
            );
            let long = "a".repeat(20);
            let d = coap_post(1, &[], &long, b"");
            assert_eq!(&d[4..6], &[0xbd, 7]);
            let tok = [1, 2, 3, 4];
            assert_eq!(
                answer(&[0x64, 0x44, 0x12, 0x34, 1, 2, 3, 4], 0x1234, &tok),
                Answer::Response { code: 0x44, confirmable_mid: None }
            );
            assert_eq!(answer(&[0x60, 0, 0x12, 0x34], 0x1234, &tok), Answer::Acknowledged);
            assert_eq!(answer(&[0x70, 0, 0x12, 0x34], 0x1234, &tok), Answer::Reset);
            assert_eq!(
                answer(&[0x44, 0x44, 0, 9, 1, 2, 3, 4], 0x1234, &tok),
                Answer::Response { code: 0x44, confirmable_mid: Some(9) }
            );
            assert_eq!(answer(&[0x60, 0, 0x12, 0x35], 0x1234, &tok), Answer::Other);
            assert_eq!(answer(&[0x64], 0x1234, &tok), Answer::Other);
        }

        #[test]
        fn retransmission_and_giving_up() {
            let mut e = Exchange::new(1, 7, [0; 4], "reports", b"r", 0);
            assert_eq!(e.poll(0), Step::Send);
            assert_eq!(e.poll(1), Step::Wait(2_000));
            let mut now = 2_000;
            for wait in [4_000, 8_000, 16_000, 32_000] {
                assert_eq!(e.poll(now), Step::Send);
                now += wait;
            }
            assert_eq!(e.poll(now), Step::GaveUp);
            let mut e = Exchange::new(1, 7, [9; 4], "reports", b"r", 0);
            e.poll(0);
            assert_eq!(e.receive(&[0x60, 0, 0, 7], 10), (None, None));
            assert_eq!(e.poll(3_000), Step::Wait(10 + 64_000));
            assert_eq!(e.receive(&[0x44, 0x44, 0, 3, 9, 9, 9, 9], 20), (Some(0x44), Some([0x60, 0, 0, 3])));
        }
    }
}
