//! A small CoAP client over a UDP socket (coap-lite messages): confirmable
//! requests with retransmission and exponential back-off (RFC 7252 §4.2),
//! piggybacked or separate responses, Block1 uploads and Block2 downloads
//! (RFC 7959).

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use alkyl_runtime::coap::Block;
use anyhow::{bail, Context, Result};
use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType};

/// Retransmissions of a request before giving up (MAX_RETRANSMIT).
const MAX_RETRANSMIT: u32 = 4;

/// A response.
#[derive(Debug)]
pub struct Reply {
    pub code: u8,
    pub packet: Packet,
}

impl Reply {
    /// `2.05`, `4.04`...
    pub fn code_text(&self) -> String {
        format!("{}.{:02}", self.code >> 5, self.code & 0x1f)
    }

    /// Whether the code is a success (2.xx).
    pub fn ok(&self) -> bool {
        self.code >> 5 == 2
    }

    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.packet.payload).into_owned()
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
    /// The device's refusal.
    pub fn success(self) -> Result<Reply> {
        if !self.ok() {
            bail!("{} {}", self.code_text(), self.text());
        }
        Ok(self)
    }
}

/// A client talking to one device.
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
/// Anything else.
pub fn parse_device(uri: &str) -> Result<SocketAddr> {
    let rest = uri.strip_prefix("coap://").with_context(|| format!("{uri}: expected coap://HOST:PORT"))?;
    let rest = rest.trim_end_matches('/');
    let bad_port = || anyhow::anyhow!("{uri}: bad port");
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').with_context(|| format!("{uri}: no closing ]"))?;
        let port = match after {
            "" => 5683,
            p => p.strip_prefix(':').and_then(|p| p.parse().ok()).ok_or_else(bad_port)?,
        };
        (host.replacen("%25", "%", 1), port)
    } else {
        match rest.rsplit_once(':') {
            Some((host, p)) => (host.to_string(), p.parse().map_err(|_| bad_port())?),
            None => (rest.to_string(), 5683),
        }
    };
    // A zone (`fe80::1%tap0`) is resolved by getaddrinfo, not by SocketAddr's parser.
    (host.as_str(), port).to_socket_addrs()?.next().with_context(|| format!("{uri}: no address"))
}

impl Client {
    /// A client for `device` (`coap://HOST:PORT`); `timeout` is the initial
    /// retransmission timeout.
    ///
    /// # Errors
    /// Bad URI or socket errors.
    pub fn new(device: &str, timeout: Duration) -> Result<Client> {
        let peer = parse_device(device)?;
        let socket = UdpSocket::bind(if peer.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
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
    ) -> Result<Reply> {
        self.mid = self.mid.wrapping_add(1);
        self.token = self.token.wrapping_add(1);
        let token = self.token.to_be_bytes().to_vec();
        let mut p = Packet::new();
        p.header.set_version(1);
        p.header.set_type(MessageType::Confirmable);
        p.header.code = MessageClass::Request(method);
        p.header.message_id = self.mid;
        p.set_token(token.clone());
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            p.add_option(CoapOption::UriPath, seg.as_bytes().to_vec());
        }
        for (o, v) in options {
            p.add_option(*o, v.clone());
        }
        p.payload = payload.to_vec();
        let bytes = p.to_bytes().context("encoding the request")?;
        let mut timeout = self.timeout;
        let mut acked = false;
        let mut buf = [0u8; 2048];
        for attempt in 0..=MAX_RETRANSMIT {
            if !acked {
                self.socket.send_to(&bytes, self.peer)?;
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
                    Err(e) => return Err(e.into()),
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
                            return Ok(Reply { code: u8::from(r.header.code), packet: r });
                        }
                    }
                    MessageType::Reset if r.header.message_id == self.mid => bail!("the device reset the request"),
                    MessageType::Confirmable | MessageType::NonConfirmable if r.get_token() == token => {
                        if r.header.get_type() == MessageType::Confirmable {
                            let [a, b] = r.header.message_id.to_be_bytes();
                            self.socket.send_to(&[0x60, 0, a, b], self.peer)?;
                        }
                        return Ok(Reply { code: u8::from(r.header.code), packet: r });
                    }
                    _ => {}
                }
            }
            if attempt < MAX_RETRANSMIT && !acked {
                timeout *= 2;
            }
        }
        bail!("no response from coap://{} after {} attempts", self.peer, MAX_RETRANSMIT + 1)
    }

    /// Waits for the next notification of the last request's observation
    /// (same token); acknowledges it when confirmable.
    ///
    /// # Errors
    /// Nothing within `timeout`, or socket errors.
    pub fn notification(&mut self, timeout: Duration) -> Result<Reply> {
        let token = self.token.to_be_bytes();
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 2048];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("no notification within {timeout:?}");
            }
            self.socket.set_read_timeout(Some(left))?;
            let n = match self.socket.recv_from(&mut buf) {
                Ok((n, from)) if from == self.peer => n,
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
                Err(e) => return Err(e.into()),
            };
            let Ok(r) = Packet::from_bytes(&buf[..n]) else { continue };
            let typ = r.header.get_type();
            if r.get_token() != token || !matches!(typ, MessageType::Confirmable | MessageType::NonConfirmable) {
                continue;
            }
            if typ == MessageType::Confirmable {
                let [a, b] = r.header.message_id.to_be_bytes();
                self.socket.send_to(&[0x60, 0, a, b], self.peer)?;
            }
            return Ok(Reply { code: u8::from(r.header.code), packet: r });
        }
    }

    /// A GET, following Block2 to the end of the representation.
    ///
    /// # Errors
    /// As [`Client::request`]; a refusal is returned as the reply.
    pub fn get(&mut self, path: &str) -> Result<Reply> {
        let mut reply = self.request(RequestType::Get, path, &[], b"")?;
        let mut body = reply.packet.payload.clone();
        while let Some(b) = reply.block(CoapOption::Block2).filter(|b| b.more && reply.ok()) {
            let next = Block { num: b.num + 1, more: false, szx: b.szx };
            let (v, n) = next.encode();
            reply = self.request(RequestType::Get, path, &[(CoapOption::Block2, v[..n].to_vec())], b"")?;
            body.extend_from_slice(&reply.packet.payload);
        }
        reply.packet.payload = body;
        Ok(reply)
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
    ) -> Result<Reply> {
        if body.len() <= 16 << szx {
            let reply = self.request(method, path, &[], body)?;
            progress(body.len());
            return Ok(reply);
        }
        let mut offset = 0usize;
        loop {
            let size = 16usize << szx;
            let num = u32::try_from(offset / size).context("body too large for Block1")?;
            let end = (offset + size).min(body.len());
            let more = end < body.len();
            let (v, n) = Block { num, more, szx }.encode();
            let mut options = vec![(CoapOption::Block1, v[..n].to_vec())];
            if offset == 0 {
                options.push((CoapOption::Size1, (body.len() as u32).to_be_bytes().to_vec()));
            }
            let reply = self.request(method, path, &options, &body[offset..end])?;
            if !more || reply.code != coap_numbers_continue() {
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

/// 2.31 Continue.
fn coap_numbers_continue() -> u8 {
    (2 << 5) | 31
}

#[cfg(test)]
mod tests {
    use super::*;

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
