//! The UDP CoAP server (RFC 7252) around the portable runtime: message
//! layer (CON → piggybacked ACK, NON → NON, empty CON → RST, malformed CON
//! → RST, other malformed datagrams dropped), deduplication of requests by
//! (endpoint, message id) with the response cached for the exchange
//! lifetime, Observe (RFC 7641) on `/apps/{name}/result`, and the poll
//! loop for triggers: the runtime runs at most one fired trigger per poll
//! and asks to be polled again at once while more wait, and the loop
//! takes a pending datagram between two polls, so requests (a signed
//! delete included) are served between trigger runs. Each request tells
//! the runtime its sender (`Runtime::set_peer`: a hash of the endpoint). The request/response work itself is the runtime's
//! `coap_handler::Handler`.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alkyl_protocol::client::request_packet;
use alkyl_runtime::{AppName, Device, Runtime, Storage};
use coap_handler::Handler;
use coap_lite::{CoapOption, MessageClass, MessageType, Packet, RequestType};

/// How long a request's response is remembered for duplicates
/// (EXCHANGE_LIFETIME, RFC 7252 §4.8.2).
pub const EXCHANGE_LIFETIME: Duration = Duration::from_secs(247);
/// Most responses remembered at once (oldest evicted first).
pub const DEDUP_CAPACITY: usize = 4096;
/// Most observers at once.
pub const MAX_OBSERVERS: usize = 64;
/// Largest datagram served; a larger request gets 4.13 with this in Size1
/// (`docs/coap-api.md`, Limits).
pub const MAX_DATAGRAM: usize = 2048;
/// Most datagrams served between two trigger polls, when that many wait.
const MAX_BURST: usize = 16;
/// Longest the loop sleeps in `recv` (so it notices a shutdown request).
const MAX_WAIT: Duration = Duration::from_millis(200);

/// Counters, for the log and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    pub duplicates: u64,
    pub malformed: u64,
    pub notifications: u64,
}

struct Observer {
    peer: SocketAddr,
    token: Vec<u8>,
    app: AppName,
    path: Vec<String>,
    revision: Option<u64>,
    /// Message id of the last notification (an RST for it cancels).
    last_mid: u16,
}

/// The server.
pub struct Server<S, D> {
    socket: UdpSocket,
    pub runtime: Runtime<S, D>,
    responses: HashMap<(SocketAddr, u16), (Instant, Vec<u8>)>,
    order: VecDeque<(Instant, (SocketAddr, u16))>,
    observers: Vec<Observer>,
    next_mid: u16,
    observe_seq: u32,
    pub stats: Stats,
    /// Where reports go (`--gateway`), if anywhere.
    pub gateway: Option<crate::gateway::Gateway>,
}

impl<S: Storage, D: Device> Server<S, D> {
    /// A server answering on `socket`.
    pub fn new(socket: UdpSocket, runtime: Runtime<S, D>) -> Server<S, D> {
        let seed = std::process::id() as u16 ^ (Instant::now().elapsed().subsec_nanos() as u16);
        Server {
            socket,
            runtime,
            responses: HashMap::new(),
            order: VecDeque::new(),
            observers: Vec::new(),
            next_mid: seed,
            observe_seq: 1,
            stats: Stats::default(),
            gateway: None,
        }
    }

    /// The bound address.
    ///
    /// # Errors
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Serves until `stop` is set: datagrams, trigger polls, notifications.
    ///
    /// # Errors
    /// Socket errors other than timeouts.
    pub fn run(&mut self, stop: &AtomicBool) -> std::io::Result<()> {
        // One byte more than served, so an oversized datagram is seen as
        // one (recv truncates silently) instead of being served cut.
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        while !stop.load(Ordering::Relaxed) {
            let now = self.runtime.device().now_ms();
            if self.runtime.poll_at().is_some_and(|t| t <= now) {
                self.runtime.poll(now);
            }
            self.notify_observers();
            let report_at = self.gateway.as_mut().and_then(|g| g.step(&mut self.runtime, now));
            let wait = match self.runtime.poll_at().into_iter().chain(report_at).min() {
                Some(t) => Duration::from_millis(t.saturating_sub(self.runtime.device().now_ms())),
                None => MAX_WAIT,
            };
            // Triggers due at once never starve the socket: take what is
            // pending without waiting (up to MAX_BURST datagrams), then poll
            // again. (A zero timeout means "block" for std, hence
            // non-blocking mode.)
            self.socket.set_nonblocking(wait.is_zero())?;
            if !wait.is_zero() {
                self.socket.set_read_timeout(Some(wait.min(MAX_WAIT)))?;
            }
            for _ in 0..MAX_BURST {
                match self.socket.recv_from(&mut buf) {
                    Ok((n, peer)) => {
                        if let Some(reply) = self.datagram(&buf[..n], peer) {
                            // A send failure (peer gone) is the peer's problem.
                            let _ = self.socket.send_to(&reply, peer);
                        }
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        break
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => break,
                    // ICMP port unreachable from an earlier send shows up here on Linux.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                    Err(e) => return Err(e),
                }
                // More datagrams are taken only as long as they are waiting.
                self.socket.set_nonblocking(true)?;
            }
        }
        Ok(())
    }

    fn fresh_mid(&mut self) -> u16 {
        self.next_mid = self.next_mid.wrapping_add(1);
        self.next_mid
    }

    /// Handles one datagram; returns what to send back.
    pub fn datagram(&mut self, bytes: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
        if bytes.len() > MAX_DATAGRAM {
            self.stats.malformed += 1;
            return self.too_large(bytes);
        }
        let packet = match Packet::from_bytes(bytes) {
            Ok(p) if p.header.get_version() == 1 => p,
            _ => {
                self.stats.malformed += 1;
                // A malformed CON is rejected with RST (RFC 7252 §4.2);
                // anything else is silently dropped.
                return (bytes.len() >= 4 && bytes[0] >> 6 == 1 && (bytes[0] >> 4) & 3 == 0)
                    .then(|| reset(u16::from_be_bytes([bytes[2], bytes[3]])));
            }
        };
        let mid = packet.header.message_id;
        match (packet.header.get_type(), &packet.header.code) {
            (MessageType::Reset, _) => {
                // Cancels the observation a notification with this id was for.
                self.observers.retain(|o| !(o.peer == peer && o.last_mid == mid));
                return None;
            }
            (MessageType::Acknowledgement, _) => return None,
            // CoAP ping.
            (MessageType::Confirmable, MessageClass::Empty) => return Some(reset(mid)),
            (_, MessageClass::Request(_)) => {}
            // Responses and reserved codes in a CON are rejected; else dropped.
            (MessageType::Confirmable, _) => return Some(reset(mid)),
            _ => return None,
        }
        self.expire_responses();
        if let Some((_, cached)) = self.responses.get(&(peer, mid)) {
            self.stats.duplicates += 1;
            return Some(cached.clone());
        }
        self.stats.requests += 1;
        let mut response = self.respond(&packet, peer);
        let bytes = match response.to_bytes() {
            Ok(b) => b,
            Err(_) => {
                // Too large for a datagram: say so instead.
                response.payload = b"response too large".to_vec();
                response.clear_all_options();
                response.header.code = MessageClass::from(coap_numbers::code::INTERNAL_SERVER_ERROR);
                response.to_bytes().unwrap_or_default()
            }
        };
        self.remember(peer, mid, bytes.clone());
        Some(bytes)
    }

    /// 4.13 Request Entity Too Large, with the limit in Size1 (RFC 7252
    /// §5.9.2.9), for an oversized request whose header and token can be
    /// read; nothing for anything else. The request is not served, not even
    /// in part.
    fn too_large(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        let (first, code, mid) = (bytes[0], bytes[1], u16::from_be_bytes([bytes[2], bytes[3]]));
        let (version, kind, tkl) = (first >> 6, (first >> 4) & 3, usize::from(first & 0x0f));
        // Only requests (class 0, a method) with a valid token length.
        if version != 1 || kind > 1 || code >> 5 != 0 || code == 0 || tkl > 8 {
            return None;
        }
        let mut response = Packet::new();
        response.header.set_version(1);
        if kind == 0 {
            response.header.set_type(MessageType::Acknowledgement);
            response.header.message_id = mid;
        } else {
            response.header.set_type(MessageType::NonConfirmable);
            response.header.message_id = self.fresh_mid();
        }
        response.set_token(bytes[4..4 + tkl].to_vec());
        response.header.code = MessageClass::from(coap_numbers::code::REQUEST_ENTITY_TOO_LARGE);
        let size1 = (MAX_DATAGRAM as u32).to_be_bytes();
        let first = size1.iter().position(|&b| b != 0).unwrap_or(4);
        response.add_option(CoapOption::Size1, size1[first..].to_vec());
        response.payload =
            format!("request too large: at most {MAX_DATAGRAM} bytes a datagram (use Block1)").into_bytes();
        response.to_bytes().ok()
    }

    fn respond(&mut self, request: &Packet, peer: SocketAddr) -> Packet {
        let mut response = Packet::new();
        response.header.set_version(1);
        if request.header.get_type() == MessageType::Confirmable {
            response.header.set_type(MessageType::Acknowledgement);
            response.header.message_id = request.header.message_id;
        } else {
            response.header.set_type(MessageType::NonConfirmable);
            response.header.message_id = self.fresh_mid();
        }
        response.set_token(request.get_token().to_vec());
        let observe = self.observe(request, peer);
        // The handler interface does not carry the sender: say who it is,
        // so that a block-wise upload stays its sender's.
        self.runtime.set_peer(peer_id(peer));
        let Ok(data) = self.runtime.extract_request_data(request);
        if self.runtime.build_response(&mut response, data).is_err() {
            response.header.code = MessageClass::from(coap_numbers::code::INTERNAL_SERVER_ERROR);
        }
        let success = u8::from(response.header.code) >> 5 == 2;
        if let Some(seq) = observe {
            if success {
                response.set_observe_value(seq);
            } else {
                self.observers.retain(|o| !(o.peer == peer && o.token == request.get_token()));
            }
        }
        response
    }

    /// Registers or deregisters an observer (GET with Observe on an app's
    /// result); returns the sequence number to put in the response.
    fn observe(&mut self, request: &Packet, peer: SocketAddr) -> Option<u32> {
        if request.header.code != MessageClass::Request(RequestType::Get) {
            return None;
        }
        let value = request.get_observe_value()?.ok()?;
        let path: Vec<String> = request
            .get_option(CoapOption::UriPath)
            .map(|l| l.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
            .unwrap_or_default();
        let app = match path.as_slice() {
            [a, n, r] if a == "apps" && r == "result" => AppName::new(n.as_bytes()).ok()?,
            _ => return None,
        };
        let token = request.get_token().to_vec();
        self.observers.retain(|o| !(o.peer == peer && o.token == token));
        match value {
            0 if self.observers.len() < MAX_OBSERVERS => {
                let revision = self.runtime.result_revision(&app);
                self.observers.push(Observer { peer, token, app, path, revision, last_mid: 0 });
                self.observe_seq = (self.observe_seq + 1) & 0xff_ffff;
                Some(self.observe_seq)
            }
            _ => None,
        }
    }

    /// Sends a notification to each observer whose app ran since.
    fn notify_observers(&mut self) {
        let mut i = 0;
        while i < self.observers.len() {
            let revision = self.runtime.result_revision(&self.observers[i].app);
            if revision == self.observers[i].revision {
                i += 1;
                continue;
            }
            let get = request_packet(0, &[], RequestType::Get, &self.observers[i].path.join("/"), &[], b"");
            let mid = self.fresh_mid();
            let o = &mut self.observers[i];
            o.revision = revision;
            o.last_mid = mid;
            let mut n = Packet::new();
            n.header.set_version(1);
            n.header.set_type(MessageType::NonConfirmable);
            n.header.message_id = mid;
            n.set_token(o.token.clone());
            let peer = o.peer;
            let Ok(data) = self.runtime.extract_request_data(&get);
            let ok = self.runtime.build_response(&mut n, data).is_ok() && u8::from(n.header.code) >> 5 == 2;
            self.observe_seq = (self.observe_seq + 1) & 0xff_ffff;
            if ok {
                n.set_observe_value(self.observe_seq);
            }
            if let Ok(bytes) = n.to_bytes() {
                let _ = self.socket.send_to(&bytes, peer);
                self.stats.notifications += 1;
            }
            if ok {
                i += 1;
            } else {
                // The app is gone: the final (error) notification ends it.
                self.observers.remove(i);
            }
        }
    }

    fn remember(&mut self, peer: SocketAddr, mid: u16, bytes: Vec<u8>) {
        let now = Instant::now();
        if self.order.len() >= DEDUP_CAPACITY {
            if let Some((_, key)) = self.order.pop_front() {
                self.responses.remove(&key);
            }
        }
        self.responses.insert((peer, mid), (now, bytes));
        self.order.push_back((now, (peer, mid)));
    }

    fn expire_responses(&mut self) {
        while let Some((t, key)) = self.order.front().copied() {
            if t.elapsed() < EXCHANGE_LIFETIME {
                break;
            }
            self.order.pop_front();
            if self.responses.get(&key).is_some_and(|(at, _)| *at == t) {
                self.responses.remove(&key);
            }
        }
    }
}

/// The runtime's id of a peer: a hash of its address and port.
fn peer_id(peer: SocketAddr) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    peer.hash(&mut h);
    h.finish()
}

/// An RST for message `mid`.
fn reset(mid: u16) -> Vec<u8> {
    let [a, b] = mid.to_be_bytes();
    vec![0x70, 0x00, a, b]
}
