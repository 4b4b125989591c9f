//! Persisted records of the app store, little-endian.
//!
//! App record (`app.NAME`): metadata and container in one record, so that
//! an atomic save replaces both together.
//!
//! ```text
//! 0   "ALKA"           4 | 4  format (1)     1 | 5  payload kind     1
//! 6   name_len         1 | 7  trigger count  1 | 8  version          4
//! 12  sequence         4 | 16 container_len  4 | 20 SHA-256(container) 32
//! 52  name | trigger records (the envelope's encoding) | open entries | container
//! ```
//!
//! Format 2 adds the open entries (`count u8`, then `count` × (`len u8`,
//! name): the upload envelope's encoding); format 1 records (no list: every
//! entry protected) still load.
//!
//! Retired-names record (`retired`): the anti-rollback memory of deleted
//! names.
//!
//! ```text
//! 0 "ALKR" 4 | 4 format (1) 1 | 5 reserved 3 | 8 floor 4 | 12 count 4 | (name_len 1, name, sequence 4) × count
//! ```
//!
//! Command sequences record (`sequences`): the highest signed-command
//! sequence accepted per key (anti-replay across restarts).
//!
//! ```text
//! 0 "ALKQ" 4 | 4 format (1) 1 | 5 reserved 3 | 8 count 4 | (key id 8, sequence 8) × count
//! ```

use alloc::vec::Vec;

use sha2::{Digest, Sha256};

use crate::app::AppMeta;
use crate::envelope::{PayloadKind, TriggerRepr, MAX_TRIGGERS};
use crate::map::VecMap;
use crate::name::AppName;
use crate::KeyId;

const APP_MAGIC: [u8; 4] = *b"ALKA";
const RETIRED_MAGIC: [u8; 4] = *b"ALKR";
const SEQUENCES_MAGIC: [u8; 4] = *b"ALKQ";
const FORMAT: u8 = 1;
/// App records are written in format 2 (with the open entries).
const APP_FORMAT: u8 = 2;
const APP_HEADER_LEN: usize = 52;

alkyl_vm::error_by_texts! {
    /// Why a stored record did not decode.
    pub enum RecordError {
        /// Wrong magic or format version.
        Header => "bad record header",
        /// Lengths disagree with the record's size.
        Length => "record length mismatch",
        /// A name, trigger or code is invalid.
        Field => "invalid record field",
        /// The container's SHA-256 does not match the stored one.
        Hash => "container hash mismatch",
    }
}

/// The contents of an app record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRecord {
    pub meta: AppMeta,
    pub container: Vec<u8>,
}

impl AppRecord {
    /// Encodes the record.
    pub fn emit(meta: &AppMeta, container: &[u8], hash: &[u8; 32]) -> Vec<u8> {
        let name = meta.name.as_str().as_bytes();
        let triggers_len: usize = meta.triggers.iter().map(TriggerRepr::buffer_len).sum();
        let open_len: usize = 1 + meta.open.iter().map(|n| 1 + n.len()).sum::<usize>();
        let mut out = Vec::with_capacity(APP_HEADER_LEN + name.len() + triggers_len + open_len + container.len());
        out.extend_from_slice(&APP_MAGIC);
        out.extend_from_slice(&[APP_FORMAT, meta.kind as u8, name.len() as u8, meta.triggers.len() as u8]);
        out.extend_from_slice(&meta.version.to_le_bytes());
        out.extend_from_slice(&meta.sequence.to_le_bytes());
        out.extend_from_slice(&(container.len() as u32).to_le_bytes());
        out.extend_from_slice(hash);
        out.extend_from_slice(name);
        for t in &meta.triggers {
            let at = out.len();
            out.resize(at + t.buffer_len(), 0);
            t.emit(&mut out[at..]);
        }
        out.push(meta.open.len() as u8);
        for n in &meta.open {
            out.push(n.len() as u8);
            out.extend_from_slice(n.as_bytes());
        }
        out.extend_from_slice(container);
        out
    }

    /// Decodes and checks a record, the container's hash included.
    ///
    /// # Errors
    /// [`RecordError`].
    pub fn parse(b: &[u8]) -> Result<AppRecord, RecordError> {
        if b.len() < APP_HEADER_LEN || b[..4] != APP_MAGIC || !(b[4] == FORMAT || b[4] == APP_FORMAT) {
            return Err(RecordError::Header);
        }
        let kind = PayloadKind::from_code(b[5]).ok_or(RecordError::Field)?;
        let name_len = b[6] as usize;
        let count = b[7] as usize;
        let le = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let (version, sequence, container_len) = (le(8), le(12), le(16) as usize);
        let mut at = APP_HEADER_LEN;
        let name = b.get(at..at + name_len).ok_or(RecordError::Length)?;
        let name = AppName::new(name).map_err(|_| RecordError::Field)?;
        at += name_len;
        if count > MAX_TRIGGERS {
            return Err(RecordError::Field);
        }
        let mut triggers = Vec::with_capacity(count);
        for i in 0..count {
            let (t, len) = TriggerRepr::parse(&b[at..], at, i as u8).map_err(|_| RecordError::Field)?;
            triggers.push(t);
            at += len;
        }
        let mut open = Vec::new();
        if b[4] == APP_FORMAT {
            let count = *b.get(at).ok_or(RecordError::Length)? as usize;
            at += 1;
            for _ in 0..count {
                let len = *b.get(at).ok_or(RecordError::Length)? as usize;
                let n = b.get(at + 1..at + 1 + len).ok_or(RecordError::Length)?;
                if !(n.is_empty() || n == b"*" || crate::name::check_entry_name(n).is_ok()) {
                    return Err(RecordError::Field);
                }
                open.push(n.iter().map(|&c| c as char).collect());
                at += 1 + len;
            }
        }
        if b.len() < at || b.len() - at != container_len {
            return Err(RecordError::Length);
        }
        let container = b[at..].to_vec();
        if Sha256::digest(&container)[..] != b[20..52] {
            return Err(RecordError::Hash);
        }
        Ok(AppRecord { meta: AppMeta { name, version, sequence, kind, triggers, open }, container })
    }
}

/// Deleted names and the sequence each reached, bounded; names evicted
/// from the table raise the floor every unknown name must exceed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retired {
    pub names: VecMap<AppName, u32>,
    pub floor: u32,
}

impl Retired {
    /// The sequence a name not installed must exceed.
    pub fn sequence_of(&self, name: &AppName) -> u32 {
        self.names.get(name).copied().unwrap_or(0).max(self.floor)
    }

    /// Remembers `name` at `sequence`, evicting the lowest entry into the
    /// floor when the table holds `max` names.
    pub fn retire(&mut self, name: AppName, sequence: u32, max: usize) {
        self.names.insert(name, sequence);
        while self.names.len() > max {
            let Some((lowest, seq)) = self.names.iter().min_by_key(|(_, s)| **s).map(|(n, s)| (n.clone(), *s)) else {
                break;
            };
            self.names.remove(&lowest);
            self.floor = self.floor.max(seq);
        }
    }

    /// Encodes the record.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&RETIRED_MAGIC);
        out.extend_from_slice(&[FORMAT, 0, 0, 0]);
        out.extend_from_slice(&self.floor.to_le_bytes());
        out.extend_from_slice(&(self.names.len() as u32).to_le_bytes());
        for (name, seq) in self.names.iter() {
            out.push(name.as_str().len() as u8);
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(&seq.to_le_bytes());
        }
        out
    }

    /// Decodes a record.
    ///
    /// # Errors
    /// [`RecordError`].
    pub fn parse(b: &[u8]) -> Result<Retired, RecordError> {
        if b.len() < 16 || b[..4] != RETIRED_MAGIC || b[4..8] != [FORMAT, 0, 0, 0] {
            return Err(RecordError::Header);
        }
        let floor = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        let count = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        let mut names = VecMap::new();
        let mut at = 16usize;
        for _ in 0..count {
            let len = *b.get(at).ok_or(RecordError::Length)? as usize;
            let name = b.get(at + 1..at + 1 + len).ok_or(RecordError::Length)?;
            let name = AppName::new(name).map_err(|_| RecordError::Field)?;
            let seq = b.get(at + 1 + len..at + 5 + len).ok_or(RecordError::Length)?;
            names.insert(name, u32::from_le_bytes([seq[0], seq[1], seq[2], seq[3]]));
            at += 5 + len;
        }
        if at != b.len() {
            return Err(RecordError::Length);
        }
        Ok(Retired { names, floor })
    }
}

/// The highest signed-command sequence accepted per key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequences {
    pub keys: VecMap<KeyId, u64>,
}

impl Sequences {
    /// The highest sequence accepted from `key` (0: none yet).
    pub fn of(&self, key: KeyId) -> u64 {
        self.keys.get(&key).copied().unwrap_or(0)
    }

    /// Encodes the record.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 16 * self.keys.len());
        out.extend_from_slice(&SEQUENCES_MAGIC);
        out.extend_from_slice(&[FORMAT, 0, 0, 0]);
        out.extend_from_slice(&(self.keys.len() as u32).to_le_bytes());
        for (k, s) in self.keys.iter() {
            out.extend_from_slice(&k.0);
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Decodes a record.
    ///
    /// # Errors
    /// [`RecordError`].
    pub fn parse(b: &[u8]) -> Result<Sequences, RecordError> {
        if b.len() < 12 || b[..4] != SEQUENCES_MAGIC || b[4] != FORMAT || b[5..8] != [0; 3] {
            return Err(RecordError::Header);
        }
        let count = u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize;
        if (b.len() - 12) % 16 != 0 || (b.len() - 12) / 16 != count {
            return Err(RecordError::Length);
        }
        let mut keys = VecMap::new();
        for c in b[12..].chunks_exact(16) {
            let (k, s) = c.split_at(8);
            keys.insert(KeyId(k.try_into().unwrap_or([0; 8])), u64::from_le_bytes(s.try_into().unwrap_or([0; 8])));
        }
        Ok(Sequences { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::TriggerKind;

    fn name(s: &str) -> AppName {
        AppName::new(s.as_bytes()).unwrap()
    }

    fn meta() -> AppMeta {
        AppMeta {
            name: name("counter"),
            version: 7,
            sequence: 9,
            kind: PayloadKind::Container,
            triggers: alloc::vec![
                TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 1000, value: 0, entry: None },
                TriggerRepr {
                    kind: TriggerKind::Rising,
                    sensor: 1,
                    period_ms: 50,
                    value: -300,
                    entry: Some("on_event".into()),
                },
            ],
            open: alloc::vec!["on_event".into(), "".into(), "*".into()],
        }
    }

    #[test]
    fn app_record_round_trip() {
        let container = b"not checked here".to_vec();
        let hash: [u8; 32] = Sha256::digest(&container).into();
        let bytes = AppRecord::emit(&meta(), &container, &hash);
        let back = AppRecord::parse(&bytes).unwrap();
        assert_eq!(back, AppRecord { meta: meta(), container: container.clone() });
        // Every truncation and every single-byte corruption of the header,
        // name or container is refused (trigger bytes may still parse as
        // another valid trigger; the hash covers the container only).
        for n in 0..bytes.len() {
            assert!(AppRecord::parse(&bytes[..n]).is_err(), "truncated to {n}");
        }
        let tail = bytes.len() - container.len();
        for i in (0..8).chain(16..APP_HEADER_LEN).chain(tail..bytes.len()) {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert!(AppRecord::parse(&b).is_err(), "corruption at {i} accepted");
        }
        let mut b = bytes.clone();
        b.push(0);
        assert_eq!(AppRecord::parse(&b), Err(RecordError::Length));
    }

    #[test]
    fn sequences_record() {
        let mut s = Sequences::default();
        assert_eq!(s.of(KeyId([1; 8])), 0);
        s.keys.insert(KeyId([1; 8]), 7);
        s.keys.insert(KeyId([2; 8]), u64::MAX);
        let bytes = s.emit();
        assert_eq!(Sequences::parse(&bytes).unwrap(), s);
        for n in 0..bytes.len() {
            assert!(Sequences::parse(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn format_1_app_records_load_with_every_entry_protected() {
        let container = b"c".to_vec();
        let hash: [u8; 32] = Sha256::digest(&container).into();
        let mut m = meta();
        m.open.clear();
        let mut bytes = AppRecord::emit(&m, &container, &hash);
        // Format 1: no open-entry list (drop its count byte).
        bytes[4] = 1;
        bytes.remove(bytes.len() - container.len() - 1);
        assert_eq!(AppRecord::parse(&bytes).unwrap().meta, m);
    }

    #[test]
    fn retired_table() {
        let mut r = Retired::default();
        assert_eq!(r.sequence_of(&name("a")), 0);
        r.retire(name("a"), 5, 2);
        r.retire(name("b"), 3, 2);
        r.retire(name("c"), 9, 2);
        // "b" (lowest) was evicted into the floor.
        assert_eq!(r.floor, 3);
        assert_eq!(r.sequence_of(&name("a")), 5);
        assert_eq!(r.sequence_of(&name("b")), 3);
        assert_eq!(r.sequence_of(&name("zz")), 3);
        let bytes = r.emit();
        assert_eq!(Retired::parse(&bytes).unwrap(), r);
        for n in 0..bytes.len() {
            assert!(Retired::parse(&bytes[..n]).is_err());
        }
        let mut extra = bytes.clone();
        extra.push(1);
        assert!(Retired::parse(&extra).is_err());
    }
}
