//! The CoAP client against a scripted server on loopback: retransmission,
//! separate responses, Block1 (following a smaller size the server asks
//! for), Block2, Observe notifications.

use std::net::{SocketAddr, UdpSocket};
use std::thread::JoinHandle;
use std::time::Duration;

use alkyl_protocol::client::{block_option, Client, ClientError, CoapOption, Packet, RequestType};
use alkyl_protocol::Block;
use coap_lite::{MessageClass, MessageType, ResponseType};

/// A server socket on loopback and the thread running `script` on it.
fn server(script: impl FnOnce(UdpSocket) + Send + 'static) -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let addr = socket.local_addr().unwrap();
    (addr, std::thread::spawn(move || script(socket)))
}

fn receive(socket: &UdpSocket) -> (Packet, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).expect("a request");
    (Packet::from_bytes(&buf[..n]).unwrap(), from)
}

/// A response of `typ` to `request` with `code`, `options` and `payload`.
fn answer(
    request: &Packet,
    typ: MessageType,
    code: ResponseType,
    options: &[(CoapOption, Vec<u8>)],
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Packet::new();
    p.header.set_type(typ);
    p.header.code = MessageClass::Response(code);
    p.header.message_id = request.header.message_id;
    p.set_token(request.get_token().to_vec());
    for (o, v) in options {
        p.add_option(*o, v.clone());
    }
    p.payload = payload.to_vec();
    p.to_bytes().unwrap()
}

fn block_of(p: &Packet, o: CoapOption) -> Option<Block> {
    p.get_first_option(o).and_then(|v| Block::decode(v))
}

#[test]
fn retransmits_and_takes_a_separate_response() {
    let (addr, done) = server(|s| {
        let (first, _) = receive(&s);
        // Lost: the client sends it again, same message id.
        let (again, from) = receive(&s);
        assert_eq!(again.header.message_id, first.header.message_id);
        // An empty ACK, then the response as a CON of its own.
        let mut ack = Packet::new();
        ack.header.set_type(MessageType::Acknowledgement);
        ack.header.message_id = again.header.message_id;
        s.send_to(&ack.to_bytes().unwrap(), from).unwrap();
        let mut response =
            Packet::from_bytes(&answer(&again, MessageType::Confirmable, ResponseType::Content, &[], b"late")).unwrap();
        response.header.message_id = 0x4242;
        s.send_to(&response.to_bytes().unwrap(), from).unwrap();
        // The client acknowledges it.
        let (ack, _) = receive(&s);
        assert_eq!((ack.header.get_type(), ack.header.message_id), (MessageType::Acknowledgement, 0x4242));
    });
    let mut client = Client::connect(addr, Duration::from_millis(100)).unwrap();
    let reply = client.request(RequestType::Post, "apps/x/run", &[], b"in").unwrap();
    assert_eq!((reply.code_text(), reply.text()), ("2.05".to_string(), "late".to_string()));
    done.join().unwrap();
}

#[test]
fn gives_up_after_the_retransmissions() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut client = Client::connect(silent.local_addr().unwrap(), Duration::from_millis(5)).unwrap();
    let e = client.request(RequestType::Get, "apps", &[], b"").unwrap_err();
    assert!(matches!(e, ClientError::NoResponse { attempts: 5, .. }), "{e}");
}

#[test]
fn block1_follows_a_smaller_block_size() {
    let body: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let expected = body.clone();
    let (addr, done) = server(move |s| {
        let mut got = Vec::new();
        loop {
            let (req, from) = receive(&s);
            let b = block_of(&req, CoapOption::Block1).expect("Block1");
            if b.num == 0 {
                let size1 = req.get_first_option(CoapOption::Size1).expect("Size1 on the first block");
                assert_eq!(size1.iter().fold(0u32, |a, &b| (a << 8) | b as u32), 300);
            }
            assert_eq!(b.offset(), Some(got.len()), "{b:?}");
            got.extend_from_slice(&req.payload);
            if !b.more {
                s.send_to(&answer(&req, MessageType::Acknowledgement, ResponseType::Changed, &[], b"ok"), from)
                    .unwrap();
                break;
            }
            // Ask for 32-byte blocks: the next block number is counted in them.
            let reply = block_option(CoapOption::Block1, Block { num: b.num, more: true, szx: 1 });
            s.send_to(&answer(&req, MessageType::Acknowledgement, ResponseType::Continue, &[reply], b""), from)
                .unwrap();
        }
        assert_eq!(got, expected);
    });
    let mut client = Client::connect(addr, Duration::from_secs(2)).unwrap();
    let mut progress = Vec::new();
    let reply = client.send_blockwise(RequestType::Put, "apps/x", &body, 2, |n| progress.push(n)).unwrap();
    assert_eq!(reply.code_text(), "2.04");
    assert_eq!(progress.first(), Some(&64));
    assert_eq!(progress.last(), Some(&300));
    done.join().unwrap();
}

#[test]
fn get_follows_block2_to_the_end() {
    let doc: Vec<u8> = (0..100u8).collect();
    let served = doc.clone();
    let (addr, done) = server(move |s| {
        for num in 0..4u32 {
            let (req, from) = receive(&s);
            let asked = block_of(&req, CoapOption::Block2).unwrap_or(Block { num: 0, more: false, szx: 1 });
            assert_eq!(asked.num, num);
            let start = num as usize * 32;
            let end = (start + 32).min(served.len());
            let b = block_option(CoapOption::Block2, Block { num, more: end < served.len(), szx: 1 });
            s.send_to(
                &answer(&req, MessageType::Acknowledgement, ResponseType::Content, &[b], &served[start..end]),
                from,
            )
            .unwrap();
        }
    });
    let mut client = Client::connect(addr, Duration::from_secs(2)).unwrap();
    let reply = client.get("apps").unwrap();
    assert_eq!(reply.packet.payload, doc);
    done.join().unwrap();
}

#[test]
fn observe_notifications() {
    let (addr, done) = server(|s| {
        let (req, from) = receive(&s);
        assert!(req.get_first_option(CoapOption::Observe).is_some());
        let observe = |n: u8| (CoapOption::Observe, vec![n]);
        s.send_to(&answer(&req, MessageType::Acknowledgement, ResponseType::Content, &[observe(1)], b"0x1"), from)
            .unwrap();
        // A stray datagram with another token is ignored.
        let mut other = req.clone();
        other.set_token(vec![9, 9]);
        s.send_to(&answer(&other, MessageType::NonConfirmable, ResponseType::Content, &[], b"no"), from).unwrap();
        s.send_to(&answer(&req, MessageType::NonConfirmable, ResponseType::Content, &[observe(2)], b"0x2"), from)
            .unwrap();
        let mut con =
            Packet::from_bytes(&answer(&req, MessageType::Confirmable, ResponseType::Content, &[observe(3)], b"0x3"))
                .unwrap();
        con.header.message_id = 0x5151;
        s.send_to(&con.to_bytes().unwrap(), from).unwrap();
        let (ack, _) = receive(&s);
        assert_eq!((ack.header.get_type(), ack.header.message_id), (MessageType::Acknowledgement, 0x5151));
    });
    let mut client = Client::connect(addr, Duration::from_secs(2)).unwrap();
    let first = client.request(RequestType::Get, "apps/x/result", &[(CoapOption::Observe, vec![])], b"").unwrap();
    assert_eq!(first.text(), "0x1");
    assert_eq!(client.notification(Duration::from_secs(5)).unwrap().text(), "0x2");
    assert_eq!(client.notification(Duration::from_secs(5)).unwrap().text(), "0x3");
    done.join().unwrap();
    let e = client.notification(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(e, ClientError::NoNotification { .. }), "{e}");
}
