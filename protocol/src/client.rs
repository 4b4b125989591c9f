//! A small CoAP client over a UDP socket (coap-lite messages): confirmable
//! requests with retransmission and exponential back-off (RFC 7252 §4.2),
//! piggybacked or separate responses, Block1 uploads and Block2 downloads
//! (RFC 7959), Observe notifications (RFC 7641), IPv6 zones in device URIs
//! (RFC 6874). The client of the `alkyl` CLI, of gateways and of the
//! integration tests.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::string::{String, ToString};
use std::time::{Duration, Instant};
use std::vec;
use std::vec::Vec;

pub use coap_lite::{CoapOption, Packet, RequestType};
use coap_lite::{MessageClass, MessageType};

use crate::Block;

/// Retransmissions of a request before giving up (MAX_RETRANSMIT).
pub const MAX_RETRANSMIT: u32 = 4;
/// The default port of `coap://` URIs.
pub const DEFAULT_PORT: u16 = 5683;
/// 2.31 Continue: the device wants the next Block1 block.
const CONTINUE: u8 = (2 << 5) | 31;

/// Why a device URI was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriProblem {
    /// Not `coap://...`.
    Scheme,
    /// `[` without `]`.
    Bracket,
    /// The port is not a number, or junk follows `]`.
    Port,
    /// The host resolves to no address.
    NoAddress,
}

/// What went wrong talking to a device.
#[derive(Debug)]
pub enum ClientError {
    /// The device URI is malformed or names nothing.
    Uri { uri: String, problem: UriProblem },
    /// A socket error (including host name resolution).
    Io(std::io::Error),
    /// The request cannot be encoded (e.g. an option value too long).
    Encode,
    /// No response after all retransmissions.
    NoResponse { peer: SocketAddr, attempts: u32 },
    /// The network said no at once (an ICMP error: nothing listens on
    /// that port, or no route to the host).
    Unreachable { peer: SocketAddr, error: std::io::Error },
    /// The device answered the request with a Reset.
    Reset,
    /// No notification of the observation within the time given.
    NoNotification { timeout: Duration },
    /// A Block1 body of more blocks than the option can number.
    BodyTooLarge,
    /// The device refused the request ([`Reply::success`]).
    Refused { code: u8, text: String },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Uri { uri, problem } => match problem {
                UriProblem::Scheme => write!(f, "{uri}: expected coap://HOST:PORT"),
                UriProblem::Bracket => write!(f, "{uri}: no closing ]"),
                UriProblem::Port => write!(f, "{uri}: bad port"),
                UriProblem::NoAddress => write!(f, "{uri}: no address"),
            },
            ClientError::Io(e) => write!(f, "{e}"),
            ClientError::Encode => f.write_str("encoding the request failed"),
            ClientError::NoResponse { peer, attempts } => {
                write!(f, "no response from coap://{peer} after {attempts} attempts")
            }
            ClientError::Unreachable { peer, error } => {
                write!(
                    f,
                    "coap://{peer} is unreachable ({error}): is the device running, and is that its address and port?"
                )
            }
            ClientError::Reset => f.write_str("the device reset the request"),
            ClientError::NoNotification { timeout } => write!(f, "no notification within {timeout:?}"),
            ClientError::BodyTooLarge => f.write_str("body too large for Block1"),
            ClientError::Refused { code, text } => write!(f, "{} {text}", code_text(*code)),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(e) => Some(e),
            _ => None,
        }
    }
}

alkyl_vm::from_variants!(ClientError { Io(std::io::Error) });

/// A response code as text: `2.05`, `4.04`...
pub fn code_text(code: u8) -> String {
    std::format!("{}.{:02}", code >> 5, code & 0x1f)
}

/// A confirmable request: message id `mid`, `token`, `method`, the
/// Uri-Path segments of `path` (`apps/x/run`), then `options` and
/// `payload`.
pub fn request_packet(
    mid: u16,
    token: &[u8],
    method: RequestType,
    path: &str,
    options: &[(CoapOption, Vec<u8>)],
    payload: &[u8],
) -> Packet {
    let mut p = Packet::new();
    p.header.set_version(1);
    p.header.set_type(MessageType::Confirmable);
    p.header.code = MessageClass::Request(method);
    p.header.message_id = mid;
    p.set_token(token.to_vec());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        p.add_option(CoapOption::UriPath, seg.as_bytes().to_vec());
    }
    for (o, v) in options {
        p.add_option(*o, v.clone());
    }
    p.payload = payload.to_vec();
    p
}

/// The Block1 or Block2 option carrying `block`.
pub fn block_option(option: CoapOption, block: Block) -> (CoapOption, Vec<u8>) {
    let (v, n) = block.encode();
    (option, v[..n].to_vec())
}

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub code: u8,
    pub packet: Packet,
}

impl Reply {
    fn of(packet: Packet) -> Reply {
        Reply { code: u8::from(packet.header.code), packet }
    }

    /// `2.05`, `4.04`...
    pub fn code_text(&self) -> String {
        code_text(self.code)
    }

    /// Whether the code is a success (2.xx).
    pub fn ok(&self) -> bool {
        self.code >> 5 == 2
    }

    /// The payload as text, without the newline a device's plain-text
    /// answers end with.
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.packet.payload);
        text.strip_suffix('\n').unwrap_or(&text).to_string()
    }

    fn option(&self, o: CoapOption) -> Option<&Vec<u8>> {
        self.packet.get_first_option(o)
    }

    /// The Block1 or Block2 option.
    pub fn block(&self, o: CoapOption) -> Option<Block> {
        self.option(o).and_then(|v| Block::decode(v))
    }

    /// Fails with the code and diagnostic unless the code is 2.xx.
    ///
    /// # Errors
    /// [`ClientError::Refused`].
    pub fn success(self) -> Result<Reply, ClientError> {
        if !self.ok() {
            return Err(ClientError::Refused { code: self.code, text: self.text() });
        }
        Ok(self)
    }
}

/// A client talking to one device.
#[derive(Debug)]
pub struct Client {
    socket: UdpSocket,
    peer: SocketAddr,
    mid: u16,
    token: u32,
    /// Initial retransmission timeout (ACK_TIMEOUT).
    timeout: Duration,
}

/// Parses `coap://HOST[:PORT]` (default port 5683). HOST is a name, an IPv4
/// address or a bracketed IPv6 address; a link-local IPv6 address takes its
/// zone (interface name or index) after `%`, written `%25` in a URI
/// (RFC 6874) or plain: `coap://[fe80::1%25tap0]`, `coap://[fe80::1%tap0]:5683`.
///
/// # Errors
/// [`ClientError::Uri`] for anything else, [`ClientError::Io`] when
/// resolving the host fails.
pub fn parse_device(uri: &str) -> Result<SocketAddr, ClientError> {
    let bad = |problem| ClientError::Uri { uri: uri.to_string(), problem };
    let rest = uri.strip_prefix("coap://").ok_or_else(|| bad(UriProblem::Scheme))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| bad(UriProblem::Bracket))?;
        let port = match after {
            "" => DEFAULT_PORT,
            p => p.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or_else(|| bad(UriProblem::Port))?,
        };
        (host.replacen("%25", "%", 1), port)
    } else {
        match rest.rsplit_once(':') {
            Some((host, p)) => (host.to_string(), p.parse().map_err(|_| bad(UriProblem::Port))?),
            None => (rest.to_string(), DEFAULT_PORT),
        }
    };
    // A zone (`fe80::1%tap0`) is resolved by getaddrinfo, not by SocketAddr's parser.
    (host.as_str(), port).to_socket_addrs()?.next().ok_or_else(|| bad(UriProblem::NoAddress))
}

impl Client {
    /// A client for `device` (`coap://HOST:PORT`); `timeout` is the initial
    /// retransmission timeout.
    ///
    /// # Errors
    /// Bad URI or socket errors.
    pub fn new(device: &str, timeout: Duration) -> Result<Client, ClientError> {
        Client::connect(parse_device(device)?, timeout)
    }

    /// A client for the device at `peer`.
    ///
    /// # Errors
    /// Socket errors.
    pub fn connect(peer: SocketAddr, timeout: Duration) -> Result<Client, ClientError> {
        let socket = UdpSocket::bind(if peer.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
        // Connected, so the kernel reports the ICMP errors about `peer`
        // (port unreachable: nothing listens) to the next receive, and the
        // request fails at once instead of after every retransmission.
        socket.connect(peer)?;
        let mut seed = [0u8; 6];
        getrandom::fill(&mut seed).ok();
        Ok(Client {
            socket,
            peer,
            mid: u16::from_le_bytes([seed[0], seed[1]]),
            token: u32::from_le_bytes([seed[2], seed[3], seed[4], seed[5]]),
            timeout,
        })
    }

    /// A socket error, as [`ClientError::Unreachable`] when it is an ICMP
    /// error about the peer.
    fn io_error(&self, error: std::io::Error) -> ClientError {
        use std::io::ErrorKind as K;
        match error.kind() {
            K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable | K::ConnectionReset => {
                ClientError::Unreachable { peer: self.peer, error }
            }
            _ => ClientError::Io(error),
        }
    }

    /// One confirmable request; waits for its response (retransmitting).
    ///
    /// # Errors
    /// No response after all retransmissions, or socket errors.
    pub fn request(
        &mut self,
        method: RequestType,
        path: &str,
        options: &[(CoapOption, Vec<u8>)],
        payload: &[u8],
    ) -> Result<Reply, ClientError> {
        self.mid = self.mid.wrapping_add(1);
        self.token = self.token.wrapping_add(1);
        let token = self.token.to_be_bytes().to_vec();
        let p = request_packet(self.mid, &token, method, path, options, payload);
        let bytes = p.to_bytes().map_err(|_| ClientError::Encode)?;
        let mut timeout = self.timeout;
        let mut acked = false;
        let mut buf = [0u8; 2048];
        for attempt in 0..=MAX_RETRANSMIT {
            if !acked {
                self.socket.send(&bytes).map_err(|e| self.io_error(e))?;
            }
            let deadline = Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                self.socket.set_read_timeout(Some(left))?;
                let n = match self.socket.recv_from(&mut buf) {
                    Ok((n, from)) if from == self.peer => n,
                    Ok(_) => continue,
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) => return Err(self.io_error(e)),
                };
                let Ok(r) = Packet::from_bytes(&buf[..n]) else { continue };
                match r.header.get_type() {
                    MessageType::Acknowledgement if r.header.message_id == self.mid => {
                        if r.header.code == MessageClass::Empty {
                            // A separate response follows; stop retransmitting.
                            acked = true;
                            continue;
                        }
                        if r.get_token() == token {
                            return Ok(Reply::of(r));
                        }
                    }
                    MessageType::Reset if r.header.message_id == self.mid => return Err(ClientError::Reset),
                    MessageType::Confirmable | MessageType::NonConfirmable if r.get_token() == token => {
                        if r.header.get_type() == MessageType::Confirmable {
                            let [a, b] = r.header.message_id.to_be_bytes();
                            self.socket.send(&[0x60, 0, a, b]).map_err(|e| self.io_error(e))?;
                        }
                        return Ok(Reply::of(r));
                    }
                    _ => {}
                }
            }
            if attempt < MAX_RETRANSMIT && !acked {
                timeout *= 2;
            }
        }
        Err(ClientError::NoResponse { peer: self.peer, attempts: MAX_RETRANSMIT + 1 })
    }

    /// Waits for the next notification of the last request's observation
    /// (same token); acknowledges it when confirmable.
    ///
    /// # Errors
    /// Nothing within `timeout`, or socket errors.
    pub fn notification(&mut self, timeout: Duration) -> Result<Reply, ClientError> {
        let token = self.token.to_be_bytes();
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ClientError::NoNotification { timeout });
            }
            self.socket.set_read_timeout(Some(left))?;
            let n = match self.socket.recv_from(&mut buf) {
                Ok((n, from)) if from == self.peer => n,
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            let Ok(r) = Packet::from_bytes(&buf[..n]) else { continue };
            let typ = r.header.get_type();
            if r.get_token() != token || !matches!(typ, MessageType::Confirmable | MessageType::NonConfirmable) {
                continue;
            }
            if typ == MessageType::Confirmable {
                let [a, b] = r.header.message_id.to_be_bytes();
                self.socket.send(&[0x60, 0, a, b]).map_err(|e| self.io_error(e))?;
            }
            return Ok(Reply::of(r));
        }
    }

    /// A GET, following Block2 to the end of the representation. When
    /// the ETag changes between blocks (the representation changed, as
    /// `/sensors` readings do) it starts over, a few times.
    ///
    /// # Errors
    /// As [`Client::request`]; a refusal is returned as the reply.
    pub fn get(&mut self, path: &str) -> Result<Reply, ClientError> {
        const ATTEMPTS: usize = 4;
        let mut attempt = 0;
        'again: loop {
            attempt += 1;
            let mut reply = self.request(RequestType::Get, path, &[], b"")?;
            let etag = reply.option(CoapOption::ETag).cloned();
            let mut body = reply.packet.payload.clone();
            while let Some(b) = reply.block(CoapOption::Block2).filter(|b| b.more && reply.ok()) {
                let next = Block { num: b.num + 1, more: false, szx: b.szx };
                reply = self.request(RequestType::Get, path, &[block_option(CoapOption::Block2, next)], b"")?;
                if reply.ok() && reply.option(CoapOption::ETag).cloned() != etag && attempt < ATTEMPTS {
                    continue 'again;
                }
                body.extend_from_slice(&reply.packet.payload);
            }
            reply.packet.payload = body;
            return Ok(reply);
        }
    }

    /// Sends `body` with `method` in Block1 blocks of `16 << szx` bytes
    /// (one plain request when it fits one block); `progress` is told the
    /// bytes acknowledged so far. Follows a smaller block size the device
    /// asks for.
    ///
    /// # Errors
    /// As [`Client::request`]; a refusal is returned as the reply.
    pub fn send_blockwise(
        &mut self,
        method: RequestType,
        path: &str,
        body: &[u8],
        mut szx: u8,
        mut progress: impl FnMut(usize),
    ) -> Result<Reply, ClientError> {
        if body.len() <= 16 << szx {
            let reply = self.request(method, path, &[], body)?;
            progress(body.len());
            return Ok(reply);
        }
        let mut offset = 0usize;
        loop {
            let size = 16usize << szx;
            let num = u32::try_from(offset / size)
                .ok()
                .filter(|&n| n <= crate::block::MAX_NUM)
                .ok_or(ClientError::BodyTooLarge)?;
            let end = (offset + size).min(body.len());
            let more = end < body.len();
            let mut options = vec![block_option(CoapOption::Block1, Block { num, more, szx })];
            if offset == 0 {
                options.push((CoapOption::Size1, (body.len() as u32).to_be_bytes().to_vec()));
            }
            let reply = self.request(method, path, &options, &body[offset..end])?;
            if !more || reply.code != CONTINUE {
                progress(if reply.ok() { body.len() } else { offset });
                return Ok(reply);
            }
            progress(end);
            // The device may ask for smaller blocks (RFC 7959 §2.5).
            if let Some(b) = reply.block(CoapOption::Block1) {
                if b.szx < szx {
                    szx = b.szx;
                }
            }
            offset = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_codes() {
        let p = request_packet(7, &[1, 2], RequestType::Post, "/apps/x/run", &[], b"in");
        let back = Packet::from_bytes(&p.to_bytes().unwrap()).unwrap();
        assert_eq!((back.header.message_id, back.get_token()), (7, &[1u8, 2][..]));
        let path: Vec<&[u8]> = back.get_option(CoapOption::UriPath).unwrap().iter().map(Vec::as_slice).collect();
        assert_eq!(path, [&b"apps"[..], b"x", b"run"]);
        assert_eq!(back.payload, b"in");
        assert_eq!(code_text(0x45), "2.05");
        assert_eq!(code_text(0x84), "4.04");
        let e = Reply::of(back).success().unwrap_err();
        assert!(matches!(e, ClientError::Refused { code: 2, .. }), "{e}");
    }

    #[test]
    fn device_uris() {
        assert_eq!(parse_device("coap://127.0.0.1:5683").unwrap(), "127.0.0.1:5683".parse().unwrap());
        assert_eq!(parse_device("coap://127.0.0.1").unwrap(), "127.0.0.1:5683".parse().unwrap());
        assert_eq!(parse_device("coap://127.0.0.1:9/").unwrap(), "127.0.0.1:9".parse().unwrap());
        assert_eq!(parse_device("coap://[::1]:7").unwrap(), "[::1]:7".parse().unwrap());
        assert_eq!(parse_device("coap://[::1]").unwrap(), "[::1]:5683".parse().unwrap());
        assert!(parse_device("http://x").is_err());
        assert!(parse_device("coap://[::1").is_err());
        assert!(parse_device("coap://[::1]x").is_err());
        assert!(parse_device("coap://127.0.0.1:x").is_err());
        // Link-local addresses with a zone: numeric, or an interface name
        // (`lo` exists on every Linux host), `%` written `%25` or plain.
        let SocketAddr::V6(a) = parse_device("coap://[fe80::1%252]:9").unwrap() else { panic!("not IPv6") };
        assert_eq!((a.ip().segments()[0], a.scope_id(), a.port()), (0xfe80, 2, 9));
        let SocketAddr::V6(lo) = parse_device("coap://[fe80::1%25lo]").unwrap() else { panic!("not IPv6") };
        assert!(lo.scope_id() != 0);
        assert_eq!(lo.port(), 5683);
        assert_eq!(parse_device("coap://[fe80::1%lo]:5683").unwrap(), SocketAddr::V6(lo));
        assert!(parse_device("coap://[fe80::1%no-such-interface0]").is_err());
    }
}
