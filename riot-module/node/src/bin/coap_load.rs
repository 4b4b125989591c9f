//! `alkyl-coap-load`: a closed-loop CoAP load generator (benchmark tool).
//!
//! N clients, each a thread with its own UDP socket, send one confirmable
//! request, wait for its response (matched by message id and token), and
//! send the next, for a fixed duration after a warm-up. Prints requests per
//! second and latency percentiles over all clients:
//!
//! ```text
//! alkyl-coap-load coap://127.0.0.1:5683/apps/bench/run --method post --clients 4 --seconds 5
//! requests 123456 in 5.00 s: 24691 req/s, p50 151 us, p99 389 us, timeouts 0, errors 0
//! ```
//!
//! A request without a response within `--timeout-ms` counts as a timeout
//! and is sent again with a new message id; a response with a 4.xx/5.xx
//! code counts as an error (the benchmark must not measure failures).

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alkyl_protocol::client::{parse_device, request_packet};
use anyhow::{bail, Context, Result};
use clap::Parser;
use coap_lite::{Packet, RequestType};

#[derive(Parser)]
#[command(name = "alkyl-coap-load", about = "Closed-loop CoAP load generator: req/s and latency percentiles")]
struct Args {
    /// coap://HOST:PORT/PATH
    uri: String,
    /// get or post.
    #[arg(long, default_value = "get")]
    method: String,
    /// Request payload, as text.
    #[arg(long, default_value = "")]
    payload: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up seconds (not measured).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    #[arg(long, default_value_t = 1000)]
    timeout_ms: u64,
    /// One JSON line instead of text.
    #[arg(long)]
    json: bool,
}

struct ClientResult {
    latencies_us: Vec<u32>,
    timeouts: u64,
    errors: u64,
}

/// `coap://HOST[:PORT]/PATH`: the device (as `alkyl --device` takes it) and the path.
fn parse_uri(uri: &str) -> Result<(SocketAddr, String)> {
    let rest = uri.strip_prefix("coap://").context("URI must start with coap://")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((parse_device(&format!("coap://{authority}"))?, path.to_string()))
}

fn client(
    target: SocketAddr,
    template: Packet,
    id: usize,
    timeout: Duration,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<ClientResult> {
    let socket = UdpSocket::bind(if target.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" })?;
    socket.connect(target)?;
    socket.set_read_timeout(Some(timeout))?;
    let mut out = ClientResult { latencies_us: Vec::with_capacity(1 << 20), timeouts: 0, errors: 0 };
    let mut mid = (id as u16).wrapping_mul(7919);
    let mut buf = [0u8; 2048];
    let mut packet = template;
    while !stop.load(Ordering::Relaxed) {
        mid = mid.wrapping_add(1);
        packet.header.message_id = mid;
        let token = (mid as u32 | (id as u32) << 16).to_be_bytes();
        packet.set_token(token.to_vec());
        let bytes = packet.to_bytes()?;
        let start = Instant::now();
        socket.send(&bytes)?;
        let answered = loop {
            match socket.recv(&mut buf) {
                Ok(n) => match Packet::from_bytes(&buf[..n]) {
                    Ok(r) if r.header.message_id == mid && r.get_token() == token => break Some(r),
                    _ => continue, // a late response to an earlier request
                },
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    break None
                }
                Err(e) => return Err(e.into()),
            }
        };
        let elapsed = start.elapsed();
        if !measuring.load(Ordering::Relaxed) {
            continue;
        }
        match answered {
            None => out.timeouts += 1,
            Some(r) if u8::from(r.header.code) >> 5 != 2 => out.errors += 1,
            Some(_) => out.latencies_us.push(elapsed.as_micros().min(u32::MAX as u128) as u32),
        }
    }
    Ok(out)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> Result<()> {
    let args = Args::parse();
    let (target, path) = parse_uri(&args.uri)?;
    let method = match args.method.as_str() {
        "get" => RequestType::Get,
        "post" => RequestType::Post,
        m => bail!("unsupported method {m}"),
    };
    // Message id and token are set per request.
    let template = request_packet(0, &[], method, &path, &[], args.payload.as_bytes());

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..args.clients)
        .map(|id| {
            let (t, m, s) = (template.clone(), Arc::clone(&measuring), Arc::clone(&stop));
            let timeout = Duration::from_millis(args.timeout_ms);
            std::thread::spawn(move || client(target, t, id, timeout, m, s))
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(args.warmup));
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(args.seconds));
    measuring.store(false, Ordering::Relaxed);
    let measured = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let (mut timeouts, mut errors) = (0, 0);
    for h in handles {
        let r = h.join().map_err(|_| anyhow::anyhow!("client thread panicked"))??;
        all.extend(r.latencies_us);
        timeouts += r.timeouts;
        errors += r.errors;
    }
    all.sort_unstable();
    let rps = all.len() as f64 / measured;
    let (p50, p99) = (percentile(&all, 0.50), percentile(&all, 0.99));
    if args.json {
        println!(
            "{{\"requests\":{},\"seconds\":{measured:.3},\"rps\":{rps:.0},\"p50_us\":{p50},\"p99_us\":{p99},\"timeouts\":{timeouts},\"errors\":{errors},\"clients\":{}}}",
            all.len(),
            args.clients
        );
    } else {
        println!(
            "requests {} in {measured:.2} s: {rps:.0} req/s, p50 {p50} us, p99 {p99} us, timeouts {timeouts}, errors {errors}",
            all.len()
        );
    }
    Ok(())
}
