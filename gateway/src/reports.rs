//! Device → chain: the gateway's CoAP endpoint for device reports
//! (`POST /reports`, the ALKD envelope of docs/coap-api.md) and the
//! transactions they become.
//!
//! A report is accepted when its key id is a configured device's and its
//! Ed25519 signature checks with that device's pinned public key; a report
//! whose sequence is not above the highest seen from that device is
//! acknowledged and dropped (exactly once). An accepted report is persisted
//! (with the state) before it is acknowledged, then becomes the contract
//! call `report(bytes8 device, uint64 sequence, bytes payload)` — or, for
//! a request for chain state (`alkyl_protocol::report::Request`), a read of
//! the contract answered by a signed call of the app's entry.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use alkyl_protocol::report::Report;
use alkyl_protocol::KeyId;
use coap_lite::{CoapRequest, Packet, RequestType, ResponseType};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// A verified report for the main loop, and where to say it is persisted.
pub struct Incoming {
    pub device: String,
    pub sequence: u64,
    pub payload: Vec<u8>,
    /// The reporting app.
    pub app: String,
    pub device_id: KeyId,
    pub done: Sender<bool>,
}

/// Serves `socket` on a thread; verified reports arrive on the receiver.
pub fn serve(socket: UdpSocket, keys: HashMap<KeyId, (String, VerifyingKey)>) -> Receiver<Incoming> {
    let (to_main, from_devices) = channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        loop {
            let Ok((n, src)) = socket.recv_from(&mut buf) else { continue };
            let Ok(packet) = Packet::from_bytes(&buf[..n]) else { continue };
            let mut req: CoapRequest<std::net::SocketAddr> = CoapRequest::from_packet(packet, src);
            let status = handle(&req, &keys, &to_main);
            if let Some(resp) = req.response.as_mut() {
                resp.set_status(status.0);
                resp.message.payload = status.1.into_bytes();
                if let Ok(bytes) = resp.message.to_bytes() {
                    let _ = socket.send_to(&bytes, src);
                }
            }
        }
    });
    from_devices
}

fn handle(
    req: &CoapRequest<std::net::SocketAddr>,
    keys: &HashMap<KeyId, (String, VerifyingKey)>,
    to_main: &Sender<Incoming>,
) -> (ResponseType, String) {
    if req.get_path().trim_matches('/') != "reports" {
        return (ResponseType::NotFound, "no such resource".into());
    }
    if *req.get_method() != RequestType::Post {
        return (ResponseType::MethodNotAllowed, "POST a report".into());
    }
    let r = match Report::new_checked(&req.message.payload) {
        Ok(r) => r,
        Err(e) => return (ResponseType::BadRequest, format!("{e:?}")),
    };
    let Some((name, key)) = keys.get(&r.device_id()) else {
        return (ResponseType::Unauthorized, "unknown device key".into());
    };
    let sig = Signature::from_bytes(&r.signature());
    if key.verify(r.signed_bytes(), &sig).is_err() {
        return (ResponseType::Forbidden, "bad signature".into());
    }
    let (done, ok) = channel();
    let incoming = Incoming {
        device: name.clone(),
        sequence: r.sequence(),
        payload: r.payload().to_vec(),
        app: String::from_utf8_lossy(r.app()).into_owned(),
        device_id: r.device_id(),
        done,
    };
    if to_main.send(incoming).is_err() {
        return (ResponseType::ServiceUnavailable, "gateway stopping".into());
    }
    match ok.recv_timeout(Duration::from_secs(3)) {
        Ok(true) => (ResponseType::Changed, "recorded".into()),
        _ => (ResponseType::ServiceUnavailable, "try again".into()),
    }
}
