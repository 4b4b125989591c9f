//! Delivering the runtime's reports to the gateway (`--gateway URI`).
//!
//! A sender thread POSTs one report at a time with `alkyl_protocol::client`
//! (confirmable, retransmitted as RFC 7252 says); the server loop hands it
//! the oldest due report ([`Runtime::report_due`]) and feeds the outcome
//! back: a 2.xx response dequeues the report ([`Runtime::report_delivered`]),
//! anything else (no answer, 4.xx, 5.xx) backs off
//! ([`Runtime::report_failed`]: 1 s, 2 s, 4 s... up to 60 s). The runtime
//! keeps the queue persisted, so reports outlive a restart of the node and
//! of the gateway.

use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::thread;
use std::time::Duration;

use alkyl_protocol::client::{parse_device, Client};
use alkyl_runtime::{Device, Runtime, Storage};
use anyhow::{anyhow, Result};
use coap_lite::RequestType;

/// Initial retransmission timeout of one delivery attempt.
const ACK_TIMEOUT: Duration = Duration::from_millis(300);
/// How often the server loop looks for the outcome while a report is in flight.
pub const IN_FLIGHT_POLL_MS: u64 = 20;

/// The report sender.
#[derive(Debug)]
pub struct Gateway {
    uri: String,
    to_sender: Sender<(u64, Vec<u8>)>,
    outcomes: Receiver<(u64, bool)>,
    in_flight: bool,
}

/// Splits `coap://HOST[:PORT]/PATH` into the device part and the path
/// (default `/reports`).
///
/// # Errors
/// A URI the client cannot parse.
pub fn split_uri(uri: &str) -> Result<(String, String)> {
    let rest = uri.strip_prefix("coap://").ok_or_else(|| anyhow!("{uri}: not a coap:// URI"))?;
    let authority_end = if rest.starts_with('[') { rest.find(']').map_or(rest.len(), |i| i + 1) } else { 0 };
    let (device, path) = match rest[authority_end..].find('/') {
        Some(i) => rest.split_at(authority_end + i),
        None => (rest, ""),
    };
    let path = if path.trim_matches('/').is_empty() { "/reports".to_string() } else { path.to_string() };
    let device = format!("coap://{device}");
    parse_device(&device)?;
    Ok((device, path))
}

impl Gateway {
    /// Starts the sender thread for `uri` (`coap://HOST:PORT/PATH`).
    ///
    /// # Errors
    /// A bad URI.
    pub fn start(uri: &str) -> Result<Gateway> {
        let (device, path) = split_uri(uri)?;
        let (to_sender, jobs) = channel::<(u64, Vec<u8>)>();
        let (done, outcomes) = channel();
        thread::Builder::new().name("alkyl-reports".into()).spawn(move || {
            for (sequence, bytes) in jobs {
                let ok = Client::new(&device, ACK_TIMEOUT)
                    .and_then(|mut c| c.request(RequestType::Post, &path, &[], &bytes))
                    .is_ok_and(|reply| reply.ok());
                if done.send((sequence, ok)).is_err() {
                    break;
                }
            }
        })?;
        Ok(Gateway { uri: uri.to_string(), to_sender, outcomes, in_flight: false })
    }

    /// The configured URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Feeds back a finished attempt and starts the next one when due.
    /// Returns when to call again at the latest (ms since boot), if anything
    /// is in flight or queued.
    pub fn step<S: Storage, D: Device>(&mut self, runtime: &mut Runtime<S, D>, now_ms: u64) -> Option<u64> {
        match self.outcomes.try_recv() {
            Ok((sequence, true)) => {
                self.in_flight = false;
                runtime.report_delivered(sequence);
            }
            Ok((_, false)) => {
                self.in_flight = false;
                runtime.report_failed(now_ms);
            }
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => return None,
        }
        if !self.in_flight {
            if let Some(job) = runtime.report_due(now_ms) {
                self.in_flight = self.to_sender.send(job).is_ok();
            }
        }
        if self.in_flight {
            Some(now_ms + IN_FLIGHT_POLL_MS)
        } else {
            runtime.reports().next_attempt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(split_uri("coap://127.0.0.1:9").unwrap(), ("coap://127.0.0.1:9".into(), "/reports".into()));
        assert_eq!(split_uri("coap://127.0.0.1:9/gw/in").unwrap(), ("coap://127.0.0.1:9".into(), "/gw/in".into()));
        assert_eq!(split_uri("coap://[::1]:9/r").unwrap(), ("coap://[::1]:9".into(), "/r".into()));
        assert!(split_uri("http://x").is_err());
    }
}
