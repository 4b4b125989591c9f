//! Building a CoAP response (RFC 7252) in the packet buffer region, the way
//! RIOT's gcoap helpers do: the host maps the buffer holding the request,
//! `resp_init` turns it into a response header, options and the payload
//! marker are appended, and the script writes the payload itself.
//!
//! The builder's state lives here, on the host side; the script only holds
//! an opaque handle in its [`crate::generated::alkyl_coap_ctx_t`].
//!
//! The option codec (RFC 7252 §3.1, §3.2) is here too, writer and reader
//! side by side: [`options`] reads back what the builder wrote (the runtime
//! takes the built response's Content-Format from the packet with it), and
//! [`encode_uint`]/[`decode_uint`] are the option-value rules the runtime's
//! CoAP API uses as well.

use alkyl_vm::container::Convention;
use alkyl_vm::{HelperError, Invocation, MapError, MemoryMap};

use crate::generated::{ALKYL_EBADMSG, ALKYL_EINVAL, ALKYL_ENOSPC};

/// CoAP option number of Content-Format.
pub const OPTION_CONTENT_FORMAT: u16 = 12;
/// Byte offsets of the script-visible context, from its layout generated
/// from the header ([`alkyl_coap_ctx_t`](crate::generated::alkyl_coap_ctx_t)).
pub mod ctx {
    use crate::generated::alkyl_coap_ctx as Ctx;
    use core::mem::{offset_of, size_of};
    pub const PKT: usize = offset_of!(Ctx, pkt);
    pub const BUF: usize = offset_of!(Ctx, buf);
    pub const BUF_LEN: usize = offset_of!(Ctx, buf_len);
    pub const LEN: usize = size_of::<Ctx>();
}

/// Byte offsets of the prefix of RIOT's `coap_pkt_t` that Femto-Container
/// scripts read (their `bpf_coap_pkt_t`): 32-bit pointers into the packet
/// buffer, which the Femto-Container convention maps at address 0.
pub mod fc_pkt {
    use core::ops::Range;
    pub const HDR_P: Range<usize> = 0..4;
    pub const TOKEN_P: Range<usize> = 4..8;
    pub const PAYLOAD_P: Range<usize> = 8..12;
    pub const PAYLOAD_LEN: Range<usize> = 12..14;
    pub const OPTIONS_LEN: Range<usize> = 14..16;
    pub const LEN: usize = 16;
}

/// One CoAP exchange a run may answer: where the packet buffer is mapped
/// and how far the response has been built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoapSession {
    handle: u64,
    buf: u64,
    buf_len: usize,
    state: State,
    /// Femto-Container convention: where the `coap_pkt_t` prefix is, kept
    /// up to date (`payload_p`, `payload_len`) after every builder step.
    fc_pkt: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// The buffer holds the request.
    Request,
    /// A response header (and maybe options) is written up to `len`.
    Building { code: u8, len: usize, last_option: u16 },
    /// Options are finished; the payload starts at `payload`.
    Finished { code: u8, payload: usize },
}

/// Script-visible outcome of a builder step.
type Step = Result<i64, HelperError>;

fn code(c: i32) -> Step {
    Ok(c as i64)
}

/// What a finished response looks like, for the host to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoapResponse {
    /// Response code (class << 5 | detail).
    pub code: u8,
    /// Offset of the payload in the packet buffer (after the marker, if any).
    pub payload_offset: usize,
}

impl CoapSession {
    /// A session for the packet buffer mapped at `buf` (a segment start)
    /// with `buf_len` bytes holding the request; `handle` is what the host
    /// writes into the script's context `pkt` field.
    pub fn new(handle: u64, buf: u64, buf_len: usize) -> Self {
        CoapSession { handle, buf, buf_len, state: State::Request, fc_pkt: None }
    }

    /// A session by Femto-Container's convention: the script's context
    /// `pkt` field is `pkt`, the address of the `coap_pkt_t` prefix
    /// ([`fc_pkt`]), which the builder keeps current as RIOT's gcoap does.
    pub fn femto_container(pkt: u64, buf: u64, buf_len: usize) -> Self {
        CoapSession { fc_pkt: Some(pkt), ..CoapSession::new(pkt, buf, buf_len) }
    }

    /// The `coap_pkt_t` prefix for a request whose payload is at `payload`
    /// (an offset in the buffer) with `len` bytes and `token_len` token
    /// bytes after the 4-byte header.
    pub fn fc_pkt_bytes(&self, token_len: usize, payload: usize, len: usize) -> [u8; fc_pkt::LEN] {
        let mut b = [0u8; fc_pkt::LEN];
        b[fc_pkt::HDR_P].copy_from_slice(&(self.buf as u32).to_le_bytes());
        b[fc_pkt::TOKEN_P].copy_from_slice(&((self.buf as usize + 4) as u32).to_le_bytes());
        b[fc_pkt::PAYLOAD_P].copy_from_slice(&((self.buf as usize + payload) as u32).to_le_bytes());
        b[fc_pkt::PAYLOAD_LEN].copy_from_slice(&(len.min(u16::MAX as usize) as u16).to_le_bytes());
        b[fc_pkt::OPTIONS_LEN]
            .copy_from_slice(&(payload.saturating_sub(4 + token_len).min(u16::MAX as usize) as u16).to_le_bytes());
        b
    }

    /// After a builder step: the payload now starts at `at` (RIOT updates
    /// `pkt->payload` and `pkt->payload_len` the same way).
    fn sync_pkt(&self, mem: &mut MemoryMap<'_>, at: usize) -> Result<(), HelperError> {
        if let Some(pkt) = self.fc_pkt {
            let b = mem.write(pkt + fc_pkt::PAYLOAD_P.start as u64, 6)?;
            b[..4].copy_from_slice(&((self.buf as usize + at) as u32).to_le_bytes());
            let left = self.buf_len.saturating_sub(at).min(u16::MAX as usize) as u16;
            b[4..6].copy_from_slice(&left.to_le_bytes());
        }
        Ok(())
    }

    /// The 24-byte context to place in script memory (`alkyl_coap_ctx_t`).
    pub fn context_bytes(&self) -> [u8; ctx::LEN] {
        let mut b = [0u8; ctx::LEN];
        b[ctx::PKT..ctx::PKT + 8].copy_from_slice(&self.handle.to_le_bytes());
        b[ctx::BUF..ctx::BUF + 8].copy_from_slice(&self.buf.to_le_bytes());
        b[ctx::BUF_LEN..ctx::BUF_LEN + 8].copy_from_slice(&(self.buf_len as u64).to_le_bytes());
        b
    }

    /// The response the script built, if it called `gcoap_resp_init`.
    pub fn response(&self) -> Option<CoapResponse> {
        match self.state {
            State::Request => None,
            State::Building { code, len, .. } => Some(CoapResponse { code, payload_offset: len }),
            State::Finished { code, payload } => Some(CoapResponse { code, payload_offset: payload }),
        }
    }

    /// Checks that the script's context pointer names this session.
    fn check_ctx(&self, mem: &MemoryMap<'_>, ctx_addr: u64) -> Result<bool, HelperError> {
        let bytes = mem.read(ctx_addr, ctx::LEN as u64)?;
        let mut pkt = [0u8; 8];
        pkt.copy_from_slice(&bytes[ctx::PKT..ctx::PKT + 8]);
        Ok(u64::from_le_bytes(pkt) == self.handle)
    }

    /// `gcoap_resp_init(ctx, code)`.
    pub fn resp_init(&mut self, mem: &mut MemoryMap<'_>, ctx_addr: u64, resp_code: u64) -> Step {
        if !self.check_ctx(mem, ctx_addr)? || resp_code > 0xff {
            return code(ALKYL_EINVAL);
        }
        let Ok(head) = mem.read(self.buf, 4) else { return code(ALKYL_EBADMSG) };
        let (ver, typ, tkl) = (head[0] >> 6, (head[0] >> 4) & 3, (head[0] & 0xf) as usize);
        if ver != 1 || tkl > 8 || 4 + tkl > self.buf_len {
            return code(ALKYL_EBADMSG);
        }
        // CON is answered with a piggybacked ACK; NON with NON.
        let typ = if typ == 0 { 2 } else { 1 };
        let head = mem.write(self.buf, 2)?;
        head[0] = (1 << 6) | (typ << 4) | tkl as u8;
        head[1] = resp_code as u8;
        self.state = State::Building { code: resp_code as u8, len: 4 + tkl, last_option: 0 };
        self.sync_pkt(mem, 4 + tkl)?;
        Ok(0)
    }

    /// `coap_opt_add_format(ctx, format)`: appends Content-Format; returns
    /// the bytes written.
    pub fn add_format(&mut self, mem: &mut MemoryMap<'_>, ctx_addr: u64, format: u64) -> Step {
        if !self.check_ctx(mem, ctx_addr)? {
            return code(ALKYL_EINVAL);
        }
        let State::Building { code: c, len, last_option } = self.state else { return code(ALKYL_EINVAL) };
        let Ok(format) = u16::try_from(format) else { return code(ALKYL_EINVAL) };
        if last_option > OPTION_CONTENT_FORMAT {
            return code(ALKYL_EINVAL);
        }
        let mut opt = [0u8; 8];
        let n = encode_option(&mut opt, OPTION_CONTENT_FORMAT - last_option, format);
        if len + n > self.buf_len {
            return code(ALKYL_ENOSPC);
        }
        mem.write(self.buf + len as u64, n as u64)?.copy_from_slice(&opt[..n]);
        self.state = State::Building { code: c, len: len + n, last_option: OPTION_CONTENT_FORMAT };
        self.sync_pkt(mem, len + n)?;
        Ok(n as i64)
    }

    /// `coap_opt_finish(ctx, flags)`: ends the options, adding the payload
    /// marker when `flags` has `ALKYL_COAP_OPT_FINISH_PAYLOAD`; returns the
    /// message length so far.
    pub fn opt_finish(&mut self, mem: &mut MemoryMap<'_>, ctx_addr: u64, flags: u64) -> Step {
        if !self.check_ctx(mem, ctx_addr)? {
            return code(ALKYL_EINVAL);
        }
        let State::Building { code: c, len, .. } = self.state else { return code(ALKYL_EINVAL) };
        let marker = flags & crate::generated::ALKYL_COAP_OPT_FINISH_PAYLOAD as u64 != 0;
        let end = len + marker as usize;
        if end > self.buf_len {
            return code(ALKYL_ENOSPC);
        }
        if marker {
            mem.write(self.buf + len as u64, 1)?[0] = 0xff;
        }
        self.state = State::Finished { code: c, payload: end };
        self.sync_pkt(mem, end)?;
        Ok(end as i64)
    }

    /// `coap_get_pdu(ctx)`: the address where the payload goes.
    pub fn get_pdu(&mut self, mem: &mut MemoryMap<'_>, ctx_addr: u64) -> Step {
        if !self.check_ctx(mem, ctx_addr)? {
            return code(ALKYL_EINVAL);
        }
        let at = match self.state {
            State::Request => return code(ALKYL_EINVAL),
            State::Building { len, .. } => len,
            State::Finished { payload, .. } => payload,
        };
        Ok((self.buf + at as u64) as i64)
    }
}

/// Where a CoAP run's regions go (`docs/helpers.md`, "Run conventions").
/// Alkyl: the packet buffer at [`crate::COAP_PKT_VADDR`], the context at
/// [`crate::COAP_CTX_VADDR`] in `r3`, the payload as the input in `r1`/`r2`.
/// Femto-Container: the packet buffer at address 0 (its scripts hold
/// 32-bit pointers into it), the `coap_pkt_t` prefix read-write at
/// [`crate::COAP_PKT_VADDR`], the context at [`crate::COAP_CTX_VADDR`] in
/// `r1` (its length in `r2`).
#[derive(Debug)]
pub struct CoapRegions {
    convention: Convention,
    session: CoapSession,
    ctx: [u8; ctx::LEN],
    pkt: [u8; fc_pkt::LEN],
}

impl CoapRegions {
    /// Writes the request into `packet`: `header` (4 bytes and the token),
    /// then, by Femto-Container's convention, the payload marker and
    /// `payload` when it fits (Alkyl's passes the payload as the input).
    pub fn new(convention: Convention, packet: &mut [u8], header: &[u8], payload: &[u8]) -> Self {
        let n = header.len().min(packet.len());
        packet[..n].copy_from_slice(&header[..n]);
        let token_len = n.saturating_sub(4);
        let (session, pkt) = match convention {
            Convention::Alkyl => (CoapSession::new(1, crate::COAP_PKT_VADDR, packet.len()), [0; fc_pkt::LEN]),
            Convention::FemtoContainer => {
                let session = CoapSession::femto_container(crate::COAP_PKT_VADDR, 0, packet.len());
                let (at, len) = match packet.get_mut(n..n + 1 + payload.len()) {
                    Some(dst) if !payload.is_empty() => {
                        dst[0] = 0xff;
                        dst[1..].copy_from_slice(payload);
                        (n + 1, payload.len())
                    }
                    _ => (n, 0),
                };
                (session, session.fc_pkt_bytes(token_len, at, len))
            }
        };
        CoapRegions { convention, session, ctx: session.context_bytes(), pkt }
    }

    /// The builder state to give the helpers (`AlkylHelpers::with_coap`).
    pub fn session(&self) -> CoapSession {
        self.session
    }

    /// Maps the packet buffer, the context and (Femto-Container) the
    /// `coap_pkt_t` prefix on `run` (segments 0, 5 and 6: a table of 7
    /// slots holds them).
    ///
    /// # Errors
    /// [`MapError`] when a segment is taken already, or beyond `run`'s
    /// table.
    pub fn map<'m, const N: usize>(
        &'m mut self,
        run: &mut Invocation<'m, N>,
        packet: &'m mut [u8],
    ) -> Result<(), MapError> {
        match self.convention {
            Convention::Alkyl => {
                run.region(crate::COAP_PKT_VADDR, packet)?.context(crate::COAP_CTX_VADDR, &self.ctx)?;
            }
            Convention::FemtoContainer => {
                run.low_region(packet)?
                    .region(crate::COAP_PKT_VADDR, &mut self.pkt)?
                    .context_first(crate::COAP_CTX_VADDR, &self.ctx)?;
            }
        }
        Ok(())
    }
}

/// Encodes an option header and a minimal unsigned value; returns its length.
fn encode_option(out: &mut [u8; 8], delta: u16, value: u16) -> usize {
    let (be, vlen) = encode_uint(value as u32);
    let mut n = 1;
    let nibble = match delta {
        0..=12 => delta as u8,
        13..=268 => {
            out[1] = (delta - 13) as u8;
            n = 2;
            13
        }
        _ => {
            out[1..3].copy_from_slice(&(delta - 269).to_be_bytes());
            n = 3;
            14
        }
    };
    out[0] = (nibble << 4) | vlen as u8;
    out[n..n + vlen].copy_from_slice(&be[..vlen]);
    n + vlen
}

/// Encodes an unsigned option value in its shortest form (RFC 7252 §3.2:
/// big-endian, no leading zero bytes, zero is empty); returns the buffer and
/// the length used.
pub fn encode_uint(value: u32) -> ([u8; 4], usize) {
    let n = 4 - (value.leading_zeros() / 8) as usize;
    let mut out = [0u8; 4];
    out[..n].copy_from_slice(&value.to_be_bytes()[4 - n..]);
    (out, n)
}

/// Decodes an unsigned option value of at most 4 bytes.
pub fn decode_uint(value: &[u8]) -> Option<u32> {
    (value.len() <= 4).then(|| value.iter().fold(0u32, |a, &b| (a << 8) | b as u32))
}

/// The options encoded in `bytes` (RFC 7252 §3.1) as `(number, value)`, up
/// to a payload marker or the first malformed one.
pub fn options(bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0usize;
    let mut number = 0u16;
    core::iter::from_fn(move || {
        let head = *bytes.get(at)?;
        if head == 0xff {
            return None;
        }
        at += 1;
        let mut ext = |nibble: u8| -> Option<u16> {
            match nibble {
                13 => {
                    let v = *bytes.get(at)? as u16 + 13;
                    at += 1;
                    Some(v)
                }
                14 => {
                    let v = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]).checked_add(269)?;
                    at += 2;
                    Some(v)
                }
                15 => None,
                n => Some(n as u16),
            }
        };
        let delta = ext(head >> 4)?;
        let len = ext(head & 0xf)? as usize;
        number = number.checked_add(delta)?;
        let value = bytes.get(at..at.checked_add(len)?)?;
        at += len;
        Some((number, value))
    })
}

/// The Content-Format among the options in `bytes` (as [`options`] reads
/// them; a value longer than 2 bytes is no format).
pub fn content_format(bytes: &[u8]) -> Option<u16> {
    options(bytes)
        .find(|(n, _)| *n == OPTION_CONTENT_FORMAT)
        .and_then(|(_, v)| (v.len() <= 2).then(|| v.iter().fold(0u16, |a, &b| (a << 8) | b as u16)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn femto_container_regions_and_the_pkt_kept_current() {
        let mut packet = [0u8; 32];
        let mut regions = CoapRegions::new(Convention::FemtoContainer, &mut packet, &[0x40, 0x02, 0, 0], b"hi");
        assert_eq!(&packet[..7], &[0x40, 0x02, 0, 0, 0xff, b'h', b'i']);
        let pkt = regions.pkt;
        assert_eq!(pkt[fc_pkt::PAYLOAD_P], 5u32.to_le_bytes());
        assert_eq!(pkt[fc_pkt::PAYLOAD_LEN], 2u16.to_le_bytes());
        assert_eq!(pkt[fc_pkt::OPTIONS_LEN], 1u16.to_le_bytes(), "the payload marker");
        let mut session = regions.session();
        let mut stack = [0u8; 8];
        let mut run = Invocation::new(&mut stack, &[]).unwrap();
        regions.map(&mut run, &mut packet).unwrap();
        assert_eq!(run.args()[..2], [crate::COAP_CTX_VADDR, ctx::LEN as u64]);
        let mem = run.memory_mut();
        assert_eq!(session.resp_init(mem, crate::COAP_CTX_VADDR, 0x45), Ok(0));
        assert_eq!(session.opt_finish(mem, crate::COAP_CTX_VADDR, 1), Ok(5));
        // payload_p: after the header and the marker; payload_len: the room left.
        assert_eq!(mem.load::<4>(crate::COAP_PKT_VADDR + 8), Ok(5));
        assert_eq!(mem.load::<2>(crate::COAP_PKT_VADDR + 12), Ok(27));
        // The packet is at address 0, 32 bytes.
        assert!(mem.load::<1>(31).is_ok() && mem.load::<1>(32).is_err());
    }

    fn collect(bytes: &[u8]) -> ([(u16, [u8; 4], usize); 4], usize) {
        let mut out = [(0u16, [0u8; 4], 0usize); 4];
        let mut n = 0;
        for (number, value) in options(bytes).take(4) {
            out[n].0 = number;
            out[n].1[..value.len().min(4)].copy_from_slice(&value[..value.len().min(4)]);
            out[n].2 = value.len();
            n += 1;
        }
        (out, n)
    }

    #[test]
    fn option_walker() {
        // Content-Format 0 (empty value), then option 15 "ab", marker.
        let bytes = [0xc0, 0x32, b'a', b'b', 0xff, 1, 2];
        let (v, n) = collect(&bytes);
        assert_eq!(n, 2);
        assert_eq!((v[0].0, v[0].2), (12, 0));
        assert_eq!((v[1].0, &v[1].1[..v[1].2]), (15, &b"ab"[..]));
        // Extended delta (13 + 1 = 14... 27 = 13 + 14) with a 1-byte value.
        let (v, n) = collect(&[0xd1, 14, 0x42]);
        assert_eq!((n, v[0].0, v[0].1[0], v[0].2), (1, 27, 0x42, 1));
        // Truncated values and reserved nibbles stop the walk.
        assert_eq!(options(&[0xc2, 1]).count(), 0);
        assert_eq!(options(&[0xf0]).count(), 0);
        assert_eq!(options(&[0xe0, 0xff]).count(), 0);
        assert_eq!(options(&[]).count(), 0);
    }

    #[test]
    fn the_reader_reads_what_the_writer_writes() {
        for (last, number, value) in [(0u16, 12u16, 0u16), (0, 12, 50), (0, 12, 0x1234), (0, 300, 7), (0, 20, 255)] {
            let mut out = [0u8; 8];
            let n = encode_option(&mut out, number - last, value);
            let mut it = options(&out[..n]);
            let (got, v) = it.next().unwrap();
            assert_eq!((got, decode_uint(v)), (number, Some(value as u32)));
            assert!(it.next().is_none());
        }
        let mut out = [0u8; 8];
        let n = encode_option(&mut out, OPTION_CONTENT_FORMAT, 50);
        assert_eq!(content_format(&out[..n]), Some(50));
        assert_eq!(content_format(&[0xc3, 0, 0, 50]), None);
    }

    #[test]
    fn uint_values() {
        for v in [0u32, 1, 0xff, 0x100, 0xffff, 0x1_0000, u32::MAX] {
            let (b, n) = encode_uint(v);
            assert_eq!(n, if v == 0 { 0 } else { 4 - v.leading_zeros() as usize / 8 });
            assert_eq!(decode_uint(&b[..n]), Some(v));
        }
        assert_eq!(decode_uint(&[1, 2, 3, 4, 5]), None);
    }
}
