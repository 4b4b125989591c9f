//! The key-value store of scripts, with Femto-Container semantics: `u32`
//! keys to `u32` values, one namespace per app plus a global one.
//!
//! Quotas bound each namespace (new keys beyond it fail with
//! [`KvError::Full`]; overwriting an existing key always works). An app's
//! namespace lives as long as the app: it survives a replacement and goes
//! with a deletion. Changed namespaces are marked dirty; the runtime
//! persists them after the run that changed them.
//!
//! Record format (`kv.NAME`, `kv.global`), little-endian:
//! `"ALKK" | format 1 | 3 reserved zero bytes | count u32 | (key u32, value u32) × count`,
//! keys strictly ascending.

use crate::map::VecMap;
use alloc::vec::Vec;

pub use alkyl_bindings::KvError;

use crate::name::AppName;

/// Record magic.
pub const MAGIC: [u8; 4] = *b"ALKK";
/// Record format version.
pub const FORMAT: u8 = 1;
const HEADER_LEN: usize = 12;

/// A namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Namespace {
    /// Shared by all apps.
    Global,
    /// An app's own.
    App(AppName),
}

impl Namespace {
    /// Its storage key.
    pub fn storage_key(&self) -> alloc::string::String {
        match self {
            Namespace::Global => alloc::string::String::from("kv.global"),
            Namespace::App(n) => alkyl_vm::describe::text(&("kv.", n)),
        }
    }
}

alkyl_vm::error_by_texts! {
    /// Why a key-value record did not decode.
    pub enum KvRecordError {
        /// Wrong magic or format.
        Header => "key-value record: bad header",
        /// Length disagrees with the count.
        Length => "key-value record: bad length",
        /// Keys not strictly ascending.
        Order => "key-value record: keys not ascending",
    }
}

/// All namespaces, with their quotas.
#[derive(Clone, Debug)]
pub struct KvStore {
    global: VecMap<u32, u32>,
    apps: VecMap<AppName, VecMap<u32, u32>>,
    per_app: usize,
    global_max: usize,
    dirty: VecMap<Namespace, ()>,
    /// While a run is open ([`KvStore::begin`]): what each change replaced,
    /// in order, so that [`KvStore::rollback`] can undo the run.
    journal: Option<Vec<(Namespace, u32, Option<u32>)>>,
}

impl KvStore {
    /// An empty store: at most `per_app` keys per app namespace and
    /// `global_max` in the global one.
    pub fn new(per_app: usize, global_max: usize) -> KvStore {
        KvStore { global: VecMap::new(), apps: VecMap::new(), per_app, global_max, dirty: VecMap::new(), journal: None }
    }

    fn map(&self, ns: &Namespace) -> Option<&VecMap<u32, u32>> {
        match ns {
            Namespace::Global => Some(&self.global),
            Namespace::App(n) => self.apps.get(n),
        }
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// [`KvError::Full`] when `key` is new and the namespace is at its quota.
    pub fn store(&mut self, ns: &Namespace, key: u32, value: u32) -> Result<(), KvError> {
        let (map, max) = match ns {
            Namespace::Global => (&mut self.global, self.global_max),
            Namespace::App(n) => (self.apps.get_or_insert_with(n.clone(), VecMap::new), self.per_app),
        };
        if !map.contains_key(&key) && map.len() >= max {
            return Err(KvError::Full);
        }
        let old = map.insert(key, value);
        if old != Some(value) {
            self.dirty.insert(ns.clone(), ());
            if let Some(j) = &mut self.journal {
                j.push((ns.clone(), key, old));
            }
        }
        Ok(())
    }

    /// The value under `key`.
    pub fn fetch(&self, ns: &Namespace, key: u32) -> Option<u32> {
        self.map(ns)?.get(&key).copied()
    }

    /// Removes `key`; false when absent.
    pub fn delete(&mut self, ns: &Namespace, key: u32) -> bool {
        let old = match ns {
            Namespace::Global => self.global.remove(&key),
            Namespace::App(n) => self.apps.get_mut(n).and_then(|m| m.remove(&key)),
        };
        if old.is_some() {
            self.dirty.insert(ns.clone(), ());
            if let Some(j) = &mut self.journal {
                j.push((ns.clone(), key, old));
            }
        }
        old.is_some()
    }

    /// Opens a run: its changes are journaled until [`KvStore::commit`] or
    /// [`KvStore::rollback`].
    pub fn begin(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// Whether the open run changed anything.
    pub fn run_changed(&self) -> bool {
        self.journal.as_ref().is_some_and(|j| !j.is_empty())
    }

    /// Keeps the open run's changes.
    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes the open run's changes (newest first); the namespaces they
    /// touched are dirty again (their saved records may hold the changes).
    pub fn rollback(&mut self) {
        let Some(journal) = self.journal.take() else { return };
        for (ns, key, old) in journal.into_iter().rev() {
            let map = match &ns {
                Namespace::Global => &mut self.global,
                Namespace::App(n) => self.apps.get_or_insert_with(n.clone(), VecMap::new),
            };
            match old {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
            self.dirty.insert(ns, ());
        }
    }

    /// Number of keys in a namespace.
    pub fn len(&self, ns: &Namespace) -> usize {
        self.map(ns).map_or(0, VecMap::len)
    }

    /// Whether a namespace is empty.
    pub fn is_empty(&self, ns: &Namespace) -> bool {
        self.len(ns) == 0
    }

    /// Drops an app's namespace (the app was deleted). Not marked dirty:
    /// the caller removes its record.
    pub fn drop_app(&mut self, name: &AppName) {
        self.apps.remove(name);
        self.dirty.remove(&Namespace::App(name.clone()));
    }

    /// Namespaces changed since the last call, emptied.
    pub fn take_dirty(&mut self) -> Vec<Namespace> {
        core::mem::take(&mut self.dirty).into_keys().collect()
    }

    /// Marks a namespace as needing a save (e.g. after a failed save).
    pub fn mark_dirty(&mut self, ns: Namespace) {
        self.dirty.insert(ns, ());
    }

    /// The record of a namespace.
    pub fn encode(&self, ns: &Namespace) -> Vec<u8> {
        let empty = VecMap::new();
        let map = self.map(ns).unwrap_or(&empty);
        let mut out = Vec::with_capacity(HEADER_LEN + 8 * map.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&[FORMAT, 0, 0, 0]);
        out.extend_from_slice(&(map.len() as u32).to_le_bytes());
        for (k, v) in map.iter() {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Loads a namespace from its record, replacing its contents. Entries
    /// beyond the quota (after a quota was lowered) are dropped, highest
    /// keys first.
    ///
    /// # Errors
    /// [`KvRecordError`]; the namespace is then unchanged.
    pub fn decode(&mut self, ns: &Namespace, bytes: &[u8]) -> Result<(), KvRecordError> {
        if bytes.len() < HEADER_LEN || bytes[..4] != MAGIC || bytes[4..8] != [FORMAT, 0, 0, 0] {
            return Err(KvRecordError::Header);
        }
        let count = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as u64;
        let body = &bytes[HEADER_LEN..];
        if body.len() as u64 != count * 8 {
            return Err(KvRecordError::Length);
        }
        let max = match ns {
            Namespace::Global => self.global_max,
            Namespace::App(_) => self.per_app,
        };
        let mut map = VecMap::new();
        let mut last: Option<u32> = None;
        for pair in body.chunks_exact(8) {
            let k = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
            let v = u32::from_le_bytes([pair[4], pair[5], pair[6], pair[7]]);
            if last.is_some_and(|l| l >= k) {
                return Err(KvRecordError::Order);
            }
            last = Some(k);
            if map.len() < max {
                map.insert(k, v);
            }
        }
        match ns {
            Namespace::Global => self.global = map,
            Namespace::App(n) => {
                self.apps.insert(n.clone(), map);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(n: &str) -> Namespace {
        Namespace::App(AppName::new(n.as_bytes()).unwrap())
    }

    #[test]
    fn namespaces_are_separate() {
        let mut kv = KvStore::new(4, 4);
        kv.store(&app("a"), 1, 10).unwrap();
        kv.store(&app("b"), 1, 20).unwrap();
        kv.store(&Namespace::Global, 1, 30).unwrap();
        assert_eq!(kv.fetch(&app("a"), 1), Some(10));
        assert_eq!(kv.fetch(&app("b"), 1), Some(20));
        assert_eq!(kv.fetch(&Namespace::Global, 1), Some(30));
        assert_eq!(kv.fetch(&app("c"), 1), None);
        assert!(kv.delete(&app("a"), 1));
        assert!(!kv.delete(&app("a"), 1));
        assert!(!kv.delete(&app("zz"), 1));
        assert_eq!(kv.fetch(&app("b"), 1), Some(20));
    }

    #[test]
    fn quotas() {
        let mut kv = KvStore::new(2, 3);
        kv.store(&app("a"), 1, 1).unwrap();
        kv.store(&app("a"), 2, 2).unwrap();
        assert_eq!(kv.store(&app("a"), 3, 3), Err(KvError::Full));
        // Overwriting an existing key always works; other apps have their own quota.
        kv.store(&app("a"), 2, 5).unwrap();
        kv.store(&app("b"), 3, 3).unwrap();
        for k in 0..3 {
            kv.store(&Namespace::Global, k, k).unwrap();
        }
        assert_eq!(kv.store(&Namespace::Global, 99, 0), Err(KvError::Full));
        // Deleting frees a slot.
        assert!(kv.delete(&app("a"), 1));
        kv.store(&app("a"), 3, 3).unwrap();
        assert_eq!(kv.len(&app("a")), 2);
    }

    #[test]
    fn dirty_tracking() {
        let mut kv = KvStore::new(4, 4);
        kv.store(&app("a"), 1, 1).unwrap();
        kv.store(&Namespace::Global, 1, 1).unwrap();
        assert_eq!(kv.take_dirty(), [Namespace::Global, app("a")]);
        assert!(kv.take_dirty().is_empty());
        // Writing the same value changes nothing.
        kv.store(&app("a"), 1, 1).unwrap();
        assert!(kv.take_dirty().is_empty());
        kv.store(&app("a"), 1, 2).unwrap();
        kv.drop_app(&AppName::new(b"a").unwrap());
        assert!(kv.take_dirty().is_empty());
        assert_eq!(kv.fetch(&app("a"), 1), None);
    }

    #[test]
    fn records_round_trip() {
        let mut kv = KvStore::new(8, 8);
        for k in [5u32, 1, u32::MAX] {
            kv.store(&app("a"), k, k.wrapping_mul(3)).unwrap();
        }
        let rec = kv.encode(&app("a"));
        let mut back = KvStore::new(8, 8);
        back.decode(&app("x"), &rec).unwrap();
        for k in [5u32, 1, u32::MAX] {
            assert_eq!(back.fetch(&app("x"), k), Some(k.wrapping_mul(3)));
        }
        assert_eq!(back.encode(&app("x")), rec);
        // A lower quota keeps the lowest keys.
        let mut small = KvStore::new(2, 2);
        small.decode(&app("x"), &rec).unwrap();
        assert_eq!(small.len(&app("x")), 2);
        assert_eq!(small.fetch(&app("x"), u32::MAX), None);
    }

    #[test]
    fn hostile_records() {
        let mut kv = KvStore::new(8, 8);
        let good = {
            let mut k = KvStore::new(8, 8);
            k.store(&Namespace::Global, 1, 1).unwrap();
            k.store(&Namespace::Global, 2, 2).unwrap();
            k.encode(&Namespace::Global)
        };
        assert_eq!(kv.decode(&Namespace::Global, &good[..5]), Err(KvRecordError::Header));
        assert_eq!(kv.decode(&Namespace::Global, &good[..good.len() - 1]), Err(KvRecordError::Length));
        let mut swapped = good.clone();
        swapped[12..20].copy_from_slice(&good[20..28]);
        swapped[20..28].copy_from_slice(&good[12..20]);
        assert_eq!(kv.decode(&Namespace::Global, &swapped), Err(KvRecordError::Order));
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(kv.decode(&Namespace::Global, &huge), Err(KvRecordError::Length));
        assert!(kv.is_empty(&Namespace::Global));
    }
}
