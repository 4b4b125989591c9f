//! Signed commands (`alkyl_protocol::command`): authenticated invocations
//! and the wall clock; and the device side of reports.
//!
//! A command is checked in this order, each refusal with its own
//! [`Rejection`] and nothing changed (no run, no key-value write, no
//! sequence advance): size and layout (4.00), signature (4.01 unknown key,
//! 4.03 bad signature), addressed device (4.00), sequence against the
//! highest accepted from the key (4.09 equal: a replay; 4.06 lower: out of
//! order), expiry against the wall clock (4.12), the app and entry (4.04).
//! Then the new sequence is saved (5.00 if the store fails, and still
//! nothing ran), and only then the entry runs: a crash after the save loses
//! one run, never opens a replay window.

use alloc::vec::Vec;

use alkyl_protocol::command::{Command, CommandOp};
use alkyl_protocol::report;
use alkyl_protocol::KeyId;

use crate::app::{Cause, LastRun};
use crate::device::Device;
use crate::error::Rejection;
use crate::name::AppName;
use crate::reports::Reports;
use crate::storage::Storage;
use crate::store::SEQUENCES_KEY;

use super::Runtime;

/// The wall clock: Unix time kept on the monotonic clock since a signed
/// command set it. It drifts as the device's oscillator does (a crystal:
/// tens of ppm, a few seconds a day); the gateway sets it again as often as
/// it needs. It is not persisted: after a restart it is unset until set
/// again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    /// Unix milliseconds at `at_ms`.
    pub unix_ms: u64,
    /// The monotonic clock (ms since boot) when it was set.
    pub at_ms: u64,
}

impl WallClock {
    /// Unix milliseconds at monotonic time `now_ms`.
    pub fn unix_ms_at(&self, now_ms: u64) -> u64 {
        self.unix_ms.saturating_add(now_ms.saturating_sub(self.at_ms))
    }
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// Gives the device its own Ed25519 key (from a 32-byte seed): it signs
    /// reports and names the device ([`Runtime::device_id`]).
    pub fn set_device_key(&mut self, seed: [u8; 32]) {
        self.device_key = Some(salty::Keypair::from(&seed));
    }

    /// The device's public key, if it has one.
    pub fn device_public_key(&self) -> Option<[u8; 32]> {
        self.device_key.as_ref().map(|k| k.public.to_bytes())
    }

    /// The id of the device's key: what signed commands address and
    /// reports carry.
    pub fn device_id(&self) -> Option<KeyId> {
        self.device_public_key().map(|pk| KeyId::of(&pk))
    }

    /// Unix milliseconds at monotonic `now_ms`, once the clock is set.
    pub fn unix_ms(&self, now_ms: u64) -> Option<u64> {
        self.clock.map(|c| c.unix_ms_at(now_ms))
    }

    /// The highest sequence accepted from each key.
    pub fn command_sequences(&self) -> impl Iterator<Item = (KeyId, u64)> + '_ {
        self.sequences.keys.iter().map(|(k, s)| (*k, *s))
    }

    /// Checks a signed command up to (not including) its effect.
    fn check_command<'a>(&self, bytes: &'a [u8], now_ms: u64) -> Result<Command<'a>, Rejection> {
        if bytes.len() > self.config.max_command_bytes {
            return Err(Rejection::TooLarge { size: bytes.len(), max: self.config.max_command_bytes });
        }
        let command = Command::new_checked(bytes).map_err(Rejection::Command)?;
        self.authority.check_command(&command).map_err(Rejection::Auth)?;
        if command.device_id().is_some_and(|id| Some(id) != self.device_id()) {
            return Err(Rejection::OtherDevice);
        }
        let (sequence, last) = (command.sequence(), self.sequences.of(command.key_id()));
        if sequence == last {
            return Err(Rejection::Replayed { sequence });
        }
        if sequence < last {
            return Err(Rejection::OutOfOrder { sequence, last });
        }
        if let Some(expires) = command.expires() {
            let now_s = self.unix_ms(now_ms).map(|ms| ms / 1000);
            // A set-time command cannot be held to a clock not yet set.
            let unset_ok = command.operation() == CommandOp::SetTime && now_s.is_none();
            if !unset_ok && now_s.map_or(true, |now| now > expires) {
                return Err(Rejection::Expired { expires, now_s });
            }
        }
        Ok(command)
    }

    /// Saves `command`'s sequence as its key's highest: after this it can
    /// never be accepted again, even across a restart.
    fn advance_sequence(&mut self, command: &Command<'_>) -> Result<(), Rejection> {
        let mut next = self.sequences.clone();
        next.keys.insert(command.key_id(), command.sequence());
        self.storage.save(SEQUENCES_KEY, &next.emit()).map_err(Rejection::Storage)?;
        self.sequences = next;
        Ok(())
    }

    /// Runs a signed invocation (`POST /invoke`) at `now_ms`: any entry,
    /// protected or open.
    ///
    /// # Errors
    /// [`Rejection`] (see the module's order); nothing changed then.
    pub fn invoke_signed(&mut self, bytes: &[u8], now_ms: u64) -> Result<(AppName, LastRun), Rejection> {
        let command = self.check_command(bytes, now_ms)?;
        if command.operation() != CommandOp::Invoke {
            return Err(Rejection::Mismatch);
        }
        // Checked by the command's layout.
        let name = AppName::new(command.name()).map_err(Rejection::BadName)?;
        let app = self.store.get(&name).ok_or(Rejection::NoApp { sequence: self.store.sequence_of(&name) })?;
        app.entry(command.entry()).ok_or(Rejection::NoEntry)?;
        self.advance_sequence(&command)?;
        let run = self.invoke(&name, command.entry(), command.input(), Cause::Coap, true, now_ms)?;
        Ok((name, run))
    }

    /// Sets the wall clock from a signed set-time command (`POST /time`) at
    /// monotonic `now_ms`; returns the Unix milliseconds set.
    ///
    /// # Errors
    /// [`Rejection`]; nothing changed then.
    pub fn set_time(&mut self, bytes: &[u8], now_ms: u64) -> Result<u64, Rejection> {
        let command = self.check_command(bytes, now_ms)?;
        let Some(unix_ms) = command.unix_ms() else { return Err(Rejection::Mismatch) };
        self.advance_sequence(&command)?;
        self.clock = Some(WallClock { unix_ms, at_ms: now_ms });
        Ok(unix_ms)
    }

    /// The report queue.
    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    /// The oldest report, if due at `now_ms`: its sequence and its bytes
    /// on the wire (`alkyl_protocol::report`), signed by the device key
    /// (unsigned, key id zero, without one). The host sends them to the
    /// gateway and calls [`Runtime::report_delivered`] or
    /// [`Runtime::report_failed`].
    pub fn report_due(&self, now_ms: u64) -> Option<(u64, Vec<u8>)> {
        let r = self.reports.due(now_ms)?;
        let id = self.device_id().unwrap_or(KeyId::UNSIGNED);
        let key = self.device_key.as_ref();
        let bytes = report::emit(r.sequence, r.unix_ms, id, r.app.as_str(), &r.payload, |m| {
            key.map_or([0; report::SIGNATURE_LEN], |k| k.sign(m).to_bytes())
        });
        Some((r.sequence, bytes))
    }

    /// Report `sequence` reached the gateway.
    pub fn report_delivered(&mut self, sequence: u64) {
        if self.reports.delivered(sequence) {
            self.persist_reports();
        }
    }

    /// Sending the oldest report at `now_ms` failed: retry later (backoff).
    pub fn report_failed(&mut self, now_ms: u64) {
        self.reports.failed(now_ms);
    }

    /// Saves the report queue (best effort: a store that cannot take it
    /// keeps the queue in RAM only).
    pub(crate) fn persist_reports(&mut self) {
        let _ = self.storage.save(crate::store::REPORTS_KEY, &self.reports.emit());
    }
}
