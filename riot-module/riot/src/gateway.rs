//! Delivering the runtime's reports to the gateway compiled in from
//! `ALKYL_GATEWAY`, over one UDP socket (riot-wrappers' embedded-nal
//! stack): one confirmable `POST` at a time, framed, retransmitted and
//! matched by `alkyl_protocol::report::exchange` (sans-IO), sent from the
//! main loop. A response (2.xx) dequeues the report; anything else, or no
//! answer after the retransmissions, backs off in the runtime (1 s, 2 s,
//! 4 s… up to 60 s), as on `alkyl-node`.

use alkyl_protocol::report::exchange::{Exchange, Step};
use alkyl_runtime::{Device, Runtime, Storage};
use alkyl_vm::describe::{Describe, Sink};
use embedded_nal::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpClientStack};

use crate::console::Ipv6;

/// The gateway's address and path, and the exchange in flight.
pub struct Gateway {
    path: &'static str,
    remote: SocketAddrV6,
    exchange: Option<Exchange>,
    /// Message ids and tokens of successive exchanges.
    next_mid: u16,
}

impl Describe for Gateway {
    /// `coap://[ADDRESS%ZONE]:PORT/PATH` (no zone when it is 0: any).
    fn describe(&self, out: &mut dyn Sink) {
        let r = &self.remote;
        ("coap://[", Ipv6(r.ip().octets())).describe(out);
        if r.scope_id() != 0 {
            ("%", r.scope_id()).describe(out);
        }
        ("]:", r.port(), self.path).describe(out);
    }
}

impl Gateway {
    /// From the compiled-in `(address, interface, port, path)`; `seed`
    /// varies the first message id between boots.
    pub fn new(gateway: ([u8; 16], u32, u16, &'static str), seed: u16) -> Gateway {
        let (addr, zone, port, path) = gateway;
        let remote = SocketAddrV6::new(Ipv6Addr::from(addr), port, 0, zone);
        Gateway { path, remote, exchange: None, next_mid: seed }
    }

    /// Connects `socket` to the gateway.
    ///
    /// # Errors
    /// The stack's.
    pub fn connect<N: UdpClientStack>(&self, stack: &mut N, socket: &mut N::UdpSocket) -> Result<(), N::Error> {
        stack.connect(socket, SocketAddr::V6(self.remote))
    }

    /// Takes the gateway's answers, starts the next report when due, and
    /// (re)sends. Returns when to call again at the latest (ms since boot).
    pub fn step<N: UdpClientStack, S: Storage, D: Device>(
        &mut self,
        stack: &mut N,
        socket: &mut N::UdpSocket,
        runtime: &mut Runtime<S, D>,
        now_ms: u64,
    ) -> Option<u64> {
        let mut buf = [0u8; 256];
        // Every datagram waiting (an error is "nothing now", WouldBlock included).
        while let Ok((n, _)) = stack.receive(socket, &mut buf) {
            let Some(ex) = self.exchange.as_mut() else { continue };
            let (done, ack) = ex.receive(&buf[..n], now_ms);
            if let Some(ack) = ack {
                let _ = stack.send(socket, &ack);
            }
            match done {
                Some(code) if code >> 5 == 2 => runtime.report_delivered(ex.sequence),
                Some(_) => runtime.report_failed(now_ms),
                None => continue,
            }
            self.exchange = None;
        }
        if self.exchange.is_none() {
            if let Some((sequence, bytes)) = runtime.report_due(now_ms) {
                let mid = self.next_mid;
                self.next_mid = mid.wrapping_add(1);
                let [a, b] = mid.to_be_bytes();
                let token = [a, b, sequence as u8, (sequence >> 8) as u8];
                self.exchange = Some(Exchange::new(sequence, mid, token, self.path, &bytes, now_ms));
            }
        }
        let ex = match self.exchange.as_mut() {
            Some(ex) => ex,
            None => return runtime.reports().next_attempt(),
        };
        match ex.poll(now_ms) {
            Step::Send => {
                // A failed send is retransmitted like a lost datagram.
                let _ = stack.send(socket, &ex.datagram);
                Some(now_ms + 1)
            }
            Step::Wait(t) => Some(t),
            Step::GaveUp => {
                self.exchange = None;
                runtime.report_failed(now_ms);
                runtime.reports().next_attempt()
            }
        }
    }
}
