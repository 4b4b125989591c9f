//! Where a runtime keeps what must survive a restart: one record per app
//! (metadata and container together), one per key-value namespace, and the
//! retired-names table.
//!
//! A [`Storage`] maps short ASCII keys (`app.NAME`, `kv.NAME`,
//! `kv.global`, `retired`; names are [`crate::AppName`]s, so keys are safe
//! file names) to byte strings. The one promise it must keep:
//! [`Storage::save`] replaces a record **atomically** — after a crash at
//! any moment, a later [`Storage::load`] returns the old bytes or the new
//! ones, never a mix. The runtime orders its writes so that any prefix of
//! them leaves a consistent state (see `Runtime::new`).
//!
//! [`RamStorage`] keeps records in RAM (a device without a flash region);
//! the flash store (riot-module/flash, `alkyl-flash`) keeps them in NOR
//! flash through power cuts (RIOT, and the host node's `--flash`); the
//! host node also writes files (write a temporary file, fsync, rename,
//! fsync the directory).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

alkyl_vm::error_by_texts! {
    /// Why a storage operation failed. Implementations report details through
    /// their own channel (a log); the runtime only needs the kind.
    pub enum StorageError {
        /// The medium refused the operation (I/O error).
        Io => "storage I/O error",
        /// No room left on the medium.
        Full => "storage full",
        /// The medium holds a record that does not read back whole (e.g. a
        /// flash region with hostile or damaged content).
        Corrupt => "stored record corrupt",
    }
}

/// Persistent records by key.
pub trait Storage {
    /// Every key with a record, in any order.
    ///
    /// # Errors
    /// [`StorageError`].
    fn keys(&mut self) -> Result<Vec<String>, StorageError>;

    /// The record under `key`, if any.
    ///
    /// # Errors
    /// [`StorageError`].
    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;

    /// Replaces the record under `key` atomically (old or new after a crash).
    ///
    /// # Errors
    /// [`StorageError`]; the old record is then still in place.
    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError>;

    /// As [`Storage::save`], for the one write a deletion needs (the
    /// retired-names table): it may use the room a storage holds back so
    /// that deletions, which free space, work even when the medium is
    /// full ([`DELETE_RESERVE`]). Default: [`Storage::save`].
    ///
    /// # Errors
    /// [`StorageError`]; the old record is then still in place.
    fn save_reserved(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.save(key, bytes)
    }

    /// Removes the record under `key` (no error if absent).
    ///
    /// # Errors
    /// [`StorageError`].
    fn remove(&mut self, key: &str) -> Result<(), StorageError>;
}

/// One of two storages, chosen at start (e.g. files or a flash image on
/// the host node, flash or RAM on a device whose flash region is unusable).
#[derive(Debug)]
pub enum EitherStorage<A, B> {
    First(A),
    Second(B),
}

macro_rules! either {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            EitherStorage::First($s) => $e,
            EitherStorage::Second($s) => $e,
        }
    };
}

impl<A: Storage, B: Storage> Storage for EitherStorage<A, B> {
    fn keys(&mut self) -> Result<Vec<String>, StorageError> {
        either!(self, s => s.keys())
    }
    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        either!(self, s => s.load(key))
    }
    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        either!(self, s => s.save(key, bytes))
    }
    fn save_reserved(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        either!(self, s => s.save_reserved(key, bytes))
    }
    fn remove(&mut self, key: &str) -> Result<(), StorageError> {
        either!(self, s => s.remove(key))
    }
}

/// Room a bounded storage should hold back for deletions
/// ([`Storage::save_reserved`]): the retired-names table at its default
/// size (32 names) fits with room to spare.
pub const DELETE_RESERVE: usize = 2048;

/// Records in RAM, bounded by a byte capacity.
#[derive(Clone, Debug, Default)]
pub struct RamStorage {
    records: BTreeMap<String, Vec<u8>>,
    capacity: Option<usize>,
    reserve: usize,
}

impl RamStorage {
    /// Unbounded storage (the runtime's own quotas still apply).
    pub fn new() -> RamStorage {
        RamStorage::default()
    }

    /// Storage holding at most `capacity` bytes of records.
    pub fn with_capacity(capacity: usize) -> RamStorage {
        RamStorage { records: BTreeMap::new(), capacity: Some(capacity), reserve: 0 }
    }

    /// Holds `reserve` bytes of the capacity back for deletions: only
    /// [`Storage::save_reserved`] may use them.
    pub fn with_reserve(mut self, reserve: usize) -> RamStorage {
        self.reserve = reserve;
        self
    }

    fn put(&mut self, key: &str, bytes: &[u8], reserve: usize) -> Result<(), StorageError> {
        if let Some(cap) = self.capacity {
            let old = self.records.get(key).map_or(0, Vec::len);
            let used = self.used() - old;
            if used.checked_add(bytes.len()).map_or(true, |n| n > cap.saturating_sub(reserve)) {
                return Err(StorageError::Full);
            }
        }
        self.records.insert(String::from(key), bytes.into());
        Ok(())
    }

    /// Bytes used by all records.
    pub fn used(&self) -> usize {
        self.records.values().map(Vec::len).sum()
    }
}

impl Storage for RamStorage {
    fn keys(&mut self) -> Result<Vec<String>, StorageError> {
        Ok(self.records.keys().cloned().collect())
    }

    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.records.get(key).cloned())
    }

    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.put(key, bytes, self.reserve)
    }

    fn save_reserved(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.put(key, bytes, 0)
    }

    fn remove(&mut self, key: &str) -> Result<(), StorageError> {
        self.records.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_storage() {
        let mut s = RamStorage::with_capacity(10);
        assert_eq!(s.load("a").unwrap(), None);
        s.save("a", b"12345").unwrap();
        s.save("b", b"12345").unwrap();
        assert_eq!(s.save("c", b"1"), Err(StorageError::Full));
        // Replacing counts the old record as freed.
        s.save("a", b"abcde").unwrap();
        assert_eq!(s.load("a").unwrap().as_deref(), Some(&b"abcde"[..]));
        assert_eq!(s.keys().unwrap(), ["a", "b"]);
        s.remove("a").unwrap();
        s.remove("zzz").unwrap();
        assert_eq!(s.keys().unwrap(), ["b"]);
        // The reserve is for deletions only.
        let mut s = RamStorage::with_capacity(10).with_reserve(4);
        s.save("a", b"123456").unwrap();
        assert_eq!(s.save("b", b"1"), Err(StorageError::Full));
        s.save_reserved("b", b"1234").unwrap();
    }

    #[test]
    fn either_storage() {
        let mut s: EitherStorage<RamStorage, RamStorage> =
            EitherStorage::Second(RamStorage::with_capacity(10).with_reserve(4));
        s.save("a", b"123456").unwrap();
        assert_eq!(s.save("b", b"1"), Err(StorageError::Full));
        s.save_reserved("b", b"1").unwrap();
        assert_eq!(s.keys().unwrap(), ["a", "b"]);
        s.remove("a").unwrap();
        assert_eq!(s.load("b").unwrap().as_deref(), Some(&b"1"[..]));
        assert!(matches!(s, EitherStorage::Second(_)));
    }
}
