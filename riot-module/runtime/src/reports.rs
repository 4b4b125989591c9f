//! Reports: small payloads scripts send to the gateway (`bpf_report`).
//!
//! The runtime queues them (at most `Config::max_reports`; a full queue
//! refuses new ones with `ALKYL_ENOSPC`, it never drops a queued report),
//! persists the queue after every change when the storage takes it (record
//! `reports`), and hands the oldest one to the host when it is due
//! ([`Reports::due`]); the host sends it to the gateway and says how it
//! went ([`Reports::delivered`], [`Reports::failed`]). A failed attempt
//! doubles the wait before the next one, from
//! [`Reports::FIRST_BACKOFF_MS`] up to [`Reports::MAX_BACKOFF_MS`]; a
//! delivery resets it. Each report has a device-wide sequence that never
//! repeats, so the gateway counts it once however often it arrives. The
//! bytes on the wire (`alkyl_protocol::report`) are signed by the device key
//! when the report is sent.
//!
//! A report whose payload starts with `?` is a request for chain state
//! (`alkyl_protocol::report::Request`, docs/coap-api.md): queued, sent and
//! counted like any other; the gateway answers later with a signed call of
//! one of the app's entries, so the runtime needs nothing more for it.
//!
//! Record (`reports`, little-endian):
//!
//! ```text
//! 0 "ALKP" 4 | 4 format (1) 1 | 5 reserved 3 | 8 next sequence 8 | 16 delivered 8 | 24 count 4
//! then count × (sequence 8 | unix_ms 8 (0: unset) | name_len 1 | payload_len 1 | name | payload)
//! ```

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::name::AppName;
use crate::store::RecordError;

const MAGIC: [u8; 4] = *b"ALKP";
const FORMAT: u8 = 1;

/// One queued report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Device-wide, from 1, never reused.
    pub sequence: u64,
    pub app: AppName,
    /// The wall clock when it was queued, if set.
    pub unix_ms: Option<u64>,
    pub payload: Vec<u8>,
}

/// The report queue and its delivery state.
#[derive(Clone, Debug, Default)]
pub struct Reports {
    pub(crate) queue: VecDeque<Report>,
    /// The sequence the next report gets (the first is 1).
    pub(crate) next_sequence: u64,
    /// Reports delivered since the device was first started.
    pub(crate) delivered: u64,
    /// The last reports delivered (most recent last), bounded.
    pub(crate) recent: VecDeque<Report>,
    /// Attempts of the oldest report that failed in a row.
    pub(crate) failures: u32,
    /// When the oldest report may be sent again (ms since boot).
    pub(crate) next_attempt_ms: u64,
}

/// Why a report was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// The payload is longer than `alkyl_protocol::report::MAX_PAYLOAD`.
    TooLong,
    /// The queue is full.
    Full,
}

impl Reports {
    /// The first retry waits this long after a failure.
    pub const FIRST_BACKOFF_MS: u64 = 1_000;
    /// Retries are never further apart than this.
    pub const MAX_BACKOFF_MS: u64 = 60_000;
    /// Delivered reports kept for `GET /reports`.
    pub const RECENT: usize = 8;

    /// Queues a report (not yet persisted: the caller saves).
    ///
    /// # Errors
    /// [`ReportError`]; nothing is queued then.
    pub(crate) fn push(
        &mut self,
        app: &AppName,
        unix_ms: Option<u64>,
        payload: &[u8],
        max: usize,
    ) -> Result<u64, ReportError> {
        if payload.len() > alkyl_protocol::report::MAX_PAYLOAD {
            return Err(ReportError::TooLong);
        }
        if self.queue.len() >= max {
            return Err(ReportError::Full);
        }
        let sequence = self.next_sequence.max(1);
        self.next_sequence = sequence + 1;
        self.queue.push_back(Report { sequence, app: app.clone(), unix_ms, payload: payload.to_vec() });
        Ok(sequence)
    }

    /// Queued reports, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &Report> + '_ {
        self.queue.iter()
    }

    /// The last reports delivered, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &Report> + '_ {
        self.recent.iter()
    }

    /// How many reports were delivered in all.
    pub fn delivered_count(&self) -> u64 {
        self.delivered
    }

    /// The oldest report, if it may be sent at `now_ms`.
    pub fn due(&self, now_ms: u64) -> Option<&Report> {
        self.queue.front().filter(|_| now_ms >= self.next_attempt_ms)
    }

    /// When the oldest report may be sent (`None`: nothing queued).
    pub fn next_attempt(&self) -> Option<u64> {
        self.queue.front().map(|_| self.next_attempt_ms)
    }

    /// Report `sequence` reached the gateway: dequeues it. Returns whether
    /// it was queued.
    pub(crate) fn delivered(&mut self, sequence: u64) -> bool {
        let Some(at) = self.queue.iter().position(|r| r.sequence == sequence) else { return false };
        if let Some(r) = self.queue.remove(at) {
            self.recent.push_back(r);
            if self.recent.len() > Self::RECENT {
                self.recent.pop_front();
            }
        }
        self.delivered = self.delivered.saturating_add(1);
        self.failures = 0;
        self.next_attempt_ms = 0;
        true
    }

    /// An attempt at `now_ms` failed: the next one waits twice as long as
    /// the last (capped).
    pub(crate) fn failed(&mut self, now_ms: u64) {
        let wait = Self::FIRST_BACKOFF_MS.saturating_mul(1u64 << self.failures.min(16)).min(Self::MAX_BACKOFF_MS);
        self.failures = self.failures.saturating_add(1);
        self.next_attempt_ms = now_ms.saturating_add(wait);
    }

    /// Encodes the persistent part (queue, next sequence, delivered count).
    pub(crate) fn emit(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[FORMAT, 0, 0, 0]);
        out.extend_from_slice(&self.next_sequence.to_le_bytes());
        out.extend_from_slice(&self.delivered.to_le_bytes());
        out.extend_from_slice(&(self.queue.len() as u32).to_le_bytes());
        for r in &self.queue {
            out.extend_from_slice(&r.sequence.to_le_bytes());
            out.extend_from_slice(&r.unix_ms.unwrap_or(0).to_le_bytes());
            out.push(r.app.as_str().len() as u8);
            out.push(r.payload.len() as u8);
            out.extend_from_slice(r.app.as_str().as_bytes());
            out.extend_from_slice(&r.payload);
        }
        out
    }

    /// Decodes a record.
    ///
    /// # Errors
    /// [`RecordError`].
    pub(crate) fn parse(b: &[u8]) -> Result<Reports, RecordError> {
        if b.len() < 28 || b[..4] != MAGIC || b[4] != FORMAT || b[5..8] != [0; 3] {
            return Err(RecordError::Header);
        }
        let le64 = |at: usize| b.get(at..at + 8).and_then(|s| s.try_into().ok()).map(u64::from_le_bytes);
        let next_sequence = le64(8).ok_or(RecordError::Length)?;
        let delivered = le64(16).ok_or(RecordError::Length)?;
        let count = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
        let mut at = 28;
        let mut queue = VecDeque::new();
        for _ in 0..count {
            let sequence = le64(at).ok_or(RecordError::Length)?;
            let unix = le64(at + 8).ok_or(RecordError::Length)?;
            let (name_len, payload_len) = (
                *b.get(at + 16).ok_or(RecordError::Length)? as usize,
                *b.get(at + 17).ok_or(RecordError::Length)? as usize,
            );
            at += 18;
            let name = b.get(at..at + name_len).ok_or(RecordError::Length)?;
            let app = AppName::new(name).map_err(|_| RecordError::Field)?;
            let payload = b.get(at + name_len..at + name_len + payload_len).ok_or(RecordError::Length)?.to_vec();
            at += name_len + payload_len;
            if sequence == 0 || sequence >= next_sequence {
                return Err(RecordError::Field);
            }
            queue.push_back(Report { sequence, app, unix_ms: (unix != 0).then_some(unix), payload });
        }
        if at != b.len() {
            return Err(RecordError::Length);
        }
        Ok(Reports { queue, next_sequence, delivered, ..Reports::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> AppName {
        AppName::new(b"lock").unwrap()
    }

    #[test]
    fn queue_backoff_and_record() {
        let mut r = Reports::default();
        assert_eq!(r.push(&app(), Some(5), b"a", 2), Ok(1));
        assert_eq!(r.push(&app(), None, b"bb", 2), Ok(2));
        assert_eq!(r.push(&app(), None, b"c", 2), Err(ReportError::Full));
        assert_eq!(r.push(&app(), None, &[0; 65], 9), Err(ReportError::TooLong));
        assert_eq!(r.due(0).map(|r| r.sequence), Some(1));
        // Backoff: 1 s, 2 s, 4 s... capped at 60 s.
        r.failed(100);
        assert!(r.due(1099).is_none());
        assert!(r.due(1100).is_some());
        r.failed(1100);
        assert_eq!(r.next_attempt(), Some(3100));
        for _ in 0..10 {
            r.failed(0);
        }
        assert_eq!(r.next_attempt(), Some(Reports::MAX_BACKOFF_MS));
        // The record keeps the queue and the sequence.
        let back = Reports::parse(&r.emit()).unwrap();
        assert_eq!(back.queue, r.queue);
        assert_eq!(back.next_sequence, 3);
        assert!(r.delivered(1));
        assert!(!r.delivered(1));
        assert_eq!(r.due(0).map(|r| r.sequence), Some(2));
        assert_eq!((r.delivered_count(), r.recent().count()), (1, 1));
        let bytes = r.emit();
        for n in 0..bytes.len() {
            assert!(Reports::parse(&bytes[..n]).is_err());
        }
        let mut back = Reports::parse(&bytes).unwrap();
        // Sequences never repeat after a restart.
        assert_eq!(back.push(&app(), None, b"", 4), Ok(3));
    }
}
