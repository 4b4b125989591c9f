//! Requests as the routes see them, responses as they are written: the
//! bridge between the `coap-message` traits and the runtime.
//!
//! A request is read completely (options and payload) before anything is
//! done, and a response is an owned value: gcoap builds the response in the
//! buffer that held the request, so nothing may borrow the request then.

use alloc::string::String;
use alloc::vec::Vec;

// Option values: the bindings' codec (which writes the responses scripts build).
use alkyl_bindings::helpers::coap::{decode_uint, encode_uint};
use alkyl_vm::describe::Describe;
use coap_message::{MessageOption, MinimalWritableMessage, ReadableMessage};
use coap_numbers::{code, option};

use super::Block;

/// Most Uri-Path segments a request may have.
pub const MAX_PATH_SEGMENTS: usize = 8;
/// Longest Uri-Path segment.
pub const MAX_SEGMENT_LEN: usize = 64;

/// Content-Format numbers used by the API, by their names in IANA's
/// registry (as coap-numbers has it) rather than typed in.
pub mod format {
    use coap_numbers::content_format::from_str;

    /// The registered number of Content-Format `name` (at compile time; an
    /// unknown name does not build).
    const fn number(name: &str) -> u16 {
        match from_str(name) {
            Some(n) => n,
            None => panic!("not a registered Content-Format"),
        }
    }

    pub const TEXT: u16 = number("text/plain; charset=utf-8");
    pub const LINK_FORMAT: u16 = number("application/link-format");
    pub const OCTET_STREAM: u16 = number("application/octet-stream");
    pub const JSON: u16 = number("application/json");
}

/// A parsed request (the payload stays in the message).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub code: u8,
    pub path: Vec<String>,
    pub block1: Option<Block>,
    pub block2: Option<Block>,
    pub size1: Option<u32>,
    pub accept: Option<u16>,
    /// A hash of the Request-Tag option (RFC 9175), 0 without one: part of
    /// the key of a block-wise transfer.
    pub request_tag: u64,
}

impl Request {
    /// Reads code and options. Unknown critical options, malformed values
    /// and oversized paths become the response to send instead.
    ///
    /// # Errors
    /// The error [`Response`] (4.02 or 4.00).
    pub fn parse<M: ReadableMessage>(m: &M) -> Result<Request, Response> {
        let mut r = Request { code: m.code().into(), ..Request::default() };
        for opt in m.options() {
            let n = opt.number();
            let v = opt.value();
            let bad = || Response::text(code::BAD_OPTION, ("bad option ", n));
            match n {
                option::URI_PATH => {
                    if r.path.len() >= MAX_PATH_SEGMENTS || v.len() > MAX_SEGMENT_LEN {
                        return Err(Response::text(code::BAD_REQUEST, "path too long"));
                    }
                    let s = core::str::from_utf8(v).map_err(|_| Response::text(code::BAD_REQUEST, "path not UTF-8"))?;
                    r.path.push(s.into());
                }
                option::BLOCK1 => r.block1 = Some(Block::decode(v).ok_or_else(bad)?),
                option::BLOCK2 => r.block2 = Some(Block::decode(v).ok_or_else(bad)?),
                option::SIZE1 => r.size1 = Some(decode_uint(v).ok_or_else(bad)?),
                REQUEST_TAG => r.request_tag = fnv1a(r.request_tag, v).max(1),
                option::ACCEPT => r.accept = Some(decode_uint(v).and_then(|a| u16::try_from(a).ok()).ok_or_else(bad)?),
                // Understood and ignored: the host and port a client addressed,
                // query parameters (no resource takes any).
                option::URI_HOST | option::URI_PORT | option::URI_QUERY => {}
                // Elective options need no understanding (Observe is served
                // by hosts that implement it; the handler answers a plain GET).
                n if n & 1 == 0 => {}
                n => return Err(Response::text(code::BAD_OPTION, ("unsupported critical option ", n))),
            }
        }
        Ok(r)
    }

    /// The path as `/a/b`.
    pub fn path_string(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            s.push('/');
            s.push_str(seg);
        }
        s
    }
}

/// The Request-Tag option (RFC 9175).
const REQUEST_TAG: u16 = 292;

/// FNV-1a over `bytes`, continuing from `hash` (0: the offset basis); for
/// keys, not for security.
pub fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    let mut h = if hash == 0 { 0xcbf2_9ce4_8422_2325 } else { hash };
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A response to send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub code: u8,
    pub content_format: Option<u16>,
    pub block2: Option<Block>,
    pub block1: Option<Block>,
    pub size2: Option<u32>,
    pub size1: Option<u32>,
    /// ETag of a block-wise representation (every block carries it): a
    /// client that sees it change between blocks starts over.
    pub etag: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

/// The ETag of a representation: its FNV-1a hash (32 bits). Equal bytes,
/// equal tags; a changed `/sensors` reading changes it.
fn etag(bytes: &[u8]) -> [u8; 4] {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| (h ^ b as u32).wrapping_mul(0x0100_0193)).to_be_bytes()
}

impl Response {
    /// A response with a code only.
    pub fn empty(code: u8) -> Response {
        Response { code, ..Response::default() }
    }

    /// A `text/plain` response: what `text` describes (its `Display`
    /// text), without `core::fmt`.
    pub fn text(code: u8, text: impl Describe) -> Response {
        Response::text_of(code, &text)
    }

    fn text_of(code: u8, text: &dyn Describe) -> Response {
        let mut s = String::new();
        text.describe(&mut s);
        // One line, ending with a newline (for shells and coap-client).
        s.push('\n');
        Response { content_format: Some(format::TEXT), payload: s.into_bytes(), ..Response::empty(code) }
    }

    /// A response with this payload and format.
    pub fn with(code: u8, content_format: u16, payload: Vec<u8>) -> Response {
        Response { content_format: Some(content_format), payload, ..Response::empty(code) }
    }

    /// Serves block `block` of this response (RFC 7959 Block2), or the
    /// first block when the payload exceeds `max` and no block was asked.
    pub fn into_block(mut self, block: Option<Block>, max: usize) -> Response {
        let block = match block {
            Some(b) => Block { szx: b.szx.min(Block::szx_for(max)), ..b },
            None if self.payload.len() > max => Block { num: 0, more: false, szx: Block::szx_for(max) },
            None => return self,
        };
        let size = block.size();
        let Some(start) = block.offset().filter(|&o| o < self.payload.len() || (o == 0)) else {
            return Response::text(code::BAD_OPTION, "block beyond the end");
        };
        let end = start.saturating_add(size).min(self.payload.len());
        let total = self.payload.len();
        self.etag = Some(etag(&self.payload));
        self.payload = self.payload[start..end].to_vec();
        self.block2 = Some(Block { num: block.num, more: end < total, szx: block.szx });
        self.size2 = (block.num == 0).then_some(total as u32);
        self
    }

    /// The options in ascending order, values minimally encoded (the ETag
    /// is opaque: all 4 bytes).
    fn options(&self) -> impl Iterator<Item = (u16, ([u8; 4], usize))> + '_ {
        let block = |b: &Block| {
            let (v, n) = b.encode();
            ([v[0], v[1], v[2], 0], n)
        };
        [
            self.etag.map(|e| (option::ETAG, (e, e.len()))),
            self.content_format.map(|f| (option::CONTENT_FORMAT, encode_uint(f as u32))),
            self.block2.as_ref().map(|b| (option::BLOCK2, block(b))),
            self.block1.as_ref().map(|b| (option::BLOCK1, block(b))),
            self.size2.map(|s| (option::SIZE2, encode_uint(s))),
            self.size1.map(|s| (option::SIZE1, encode_uint(s))),
        ]
        .into_iter()
        .flatten()
    }

    /// Writes code, options and payload into `m`.
    ///
    /// # Errors
    /// Whatever `m` refuses (e.g. no room).
    pub fn write<M: MinimalWritableMessage>(&self, m: &mut M) -> Result<(), M::UnionError> {
        use coap_message::{Code, OptionNumber};
        m.set_code(M::Code::new(self.code)?);
        for (number, (value, len)) in self.options() {
            m.add_option(M::OptionNumber::new(number)?, &value[..len])?;
        }
        if !self.payload.is_empty() {
            m.set_payload(&self.payload)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alkyl_protocol::client::request_packet;
    use coap_lite::{CoapOption, Packet, RequestType};

    fn request(path: &str) -> Packet {
        request_packet(0, &[], RequestType::Get, path, &[], b"")
    }

    #[test]
    fn content_formats_are_the_registered_numbers() {
        assert_eq!((format::TEXT, format::LINK_FORMAT, format::OCTET_STREAM, format::JSON), (0, 40, 42, 50));
    }

    #[test]
    fn parse_requests() {
        let mut p = request("/apps/counter/run");
        p.add_option(CoapOption::UriHost, b"localhost".to_vec());
        p.add_option(CoapOption::UriPort, alloc::vec![0x16, 0x33]);
        p.add_option(CoapOption::Block1, alloc::vec![0x1a]); // num 1, more, szx 2
        p.add_option(CoapOption::Size1, alloc::vec![1, 0]);
        p.add_option(CoapOption::Observe, alloc::vec![]);
        let r = Request::parse(&p).unwrap();
        assert_eq!(r.code, code::GET);
        assert_eq!(r.path, ["apps", "counter", "run"]);
        assert_eq!(r.block1, Some(Block { num: 1, more: true, szx: 2 }));
        assert_eq!(r.size1, Some(256));
        assert_eq!(r.path_string(), "/apps/counter/run");
    }

    #[test]
    fn hostile_options() {
        let mut p = request("/apps");
        p.add_option(CoapOption::IfMatch, alloc::vec![1]);
        assert_eq!(Request::parse(&p).unwrap_err().code, code::BAD_OPTION);
        let mut p = request("/apps");
        p.add_option(CoapOption::Unknown(2049 + 2), alloc::vec![1]);
        assert_eq!(Request::parse(&p).unwrap_err().code, code::BAD_OPTION);
        let mut p = request("/apps");
        p.add_option(CoapOption::Block1, alloc::vec![1, 2, 3, 4]);
        assert_eq!(Request::parse(&p).unwrap_err().code, code::BAD_OPTION);
        let mut p = request("/apps");
        p.add_option(CoapOption::UriPath, alloc::vec![0xff, 0xfe]);
        assert_eq!(Request::parse(&p).unwrap_err().code, code::BAD_REQUEST);
        let p = request("/a/b/c/d/e/f/g/h/i");
        assert_eq!(Request::parse(&p).unwrap_err().code, code::BAD_REQUEST);
        let mut p = request("/x");
        p.add_option(CoapOption::UriPath, alloc::vec![b'a'; 65]);
        assert_eq!(Request::parse(&p).unwrap_err().code, code::BAD_REQUEST);
        // Elective unknown options are fine.
        let mut p = request("/apps");
        p.add_option(CoapOption::Unknown(2050), alloc::vec![1]);
        Request::parse(&p).unwrap();
    }

    #[test]
    fn write_responses() {
        let mut r = Response::with(code::CONTENT, format::JSON, b"[]".to_vec());
        r.block1 = Some(Block { num: 3, more: false, szx: 2 });
        r.size1 = Some(16384);
        let mut p = Packet::new();
        r.write(&mut p).unwrap();
        assert_eq!(u8::from(p.header.code), code::CONTENT);
        assert_eq!(p.payload, b"[]");
        let opt = |o: CoapOption| p.get_option(o).and_then(|l| l.front().cloned());
        assert_eq!(opt(CoapOption::ContentFormat), Some(alloc::vec![50]));
        assert_eq!(opt(CoapOption::Block1), Some(alloc::vec![0x32]));
        assert_eq!(opt(CoapOption::Size1), Some(alloc::vec![0x40, 0x00]));
        // Content-Format 0 is an empty value.
        let mut p = Packet::new();
        Response::text(code::CONTENT, "x").write(&mut p).unwrap();
        assert_eq!(opt_of(&p, CoapOption::ContentFormat), Some(alloc::vec![]));
    }

    fn opt_of(p: &Packet, o: CoapOption) -> Option<Vec<u8>> {
        p.get_option(o).and_then(|l| l.front().cloned())
    }

    #[test]
    fn block2_slices() {
        let body: Vec<u8> = (0..100u8).collect();
        let r = Response::with(code::CONTENT, format::JSON, body.clone());
        // Too long for 64 bytes: first block of 64.
        let b0 = r.clone().into_block(None, 64);
        assert_eq!(b0.payload, body[..64]);
        assert_eq!(b0.block2, Some(Block { num: 0, more: true, szx: 2 }));
        assert_eq!(b0.size2, Some(100));
        let b1 = r.clone().into_block(Some(Block { num: 1, more: false, szx: 2 }), 64);
        assert_eq!(b1.payload, body[64..]);
        assert_eq!(b1.block2, Some(Block { num: 1, more: false, szx: 2 }));
        // A client asking for bigger blocks than the server sends gets smaller ones.
        let b = r.clone().into_block(Some(Block { num: 0, more: false, szx: 6 }), 64);
        assert_eq!(b.payload.len(), 64);
        assert_eq!(r.clone().into_block(Some(Block { num: 9, more: false, szx: 2 }), 64).code, code::BAD_OPTION);
        // Short responses are not blocked unless asked.
        assert_eq!(r.clone().into_block(None, 512).block2, None);
        let empty = Response::empty(code::CONTENT).into_block(Some(Block { num: 0, more: false, szx: 0 }), 64);
        assert_eq!(empty.block2, Some(Block { num: 0, more: false, szx: 0 }));
    }
}
