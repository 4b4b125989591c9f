//! A power-fail-safe [`Storage`] on NOR flash: the records of the Alkyl
//! runtime (apps, key-value namespaces, the retired-names table, command
//! sequences, reports) kept through resets.
//!
//! Built on `sequential-storage`'s map: a log of CRC-checked items over a
//! ring of erase pages, where the last item stored under a key is its value
//! and a page is erased only when the log needs it again (its live items
//! moved on first). Wear is spread over every page of the region by
//! construction, and an item interrupted by a power cut fails its CRC and
//! is ignored: one item is stored atomically.
//!
//! One item holds at most about a quarter of a page (`chunk_len`), and app
//! records are several KiB. A record is therefore stored as:
//! - **inline**: one item under the record's key, when it fits;
//! - **chunked**: its chunks first, each under `(version, index)` with a
//!   fresh version number, then one small *manifest* item under the
//!   record's key naming the version, length and chunk count. The manifest
//!   is the commit: before it, the old manifest (or none) is current and
//!   the new chunks are unreferenced garbage; after it, the old version's
//!   chunks are. Garbage is removed right after the commit, and whatever a
//!   power cut left is removed when the store is opened.
//!
//! Invariants (checked by the tests in `tests/`, with a power cut at every
//! flash write and erase): a record reads back whole, old or new, never a
//! mix; a `save` that returned `Ok` survives any later cut; a full store
//! answers [`StorageError::Full`] and holds what it held; [`DELETE_RESERVE`]
//! bytes stay free for the writes of a deletion; a hostile or corrupt
//! region opens as a typed [`OpenError`] or as records that read back as
//! [`StorageError::Corrupt`], never a panic.
//!
//! The flash is any blocking `embedded-storage` [`MultiwriteNorFlash`] whose
//! offset 0 is the start of the region given to the store (removing an
//! item clears its header's CRC word: a second write to a written word,
//! allowed by the nRF52840's NVMC, twice per word between erases).

#![no_std]

extern crate alloc;
#[cfg(any(test, feature = "sim"))]
extern crate std;

mod blocking;
#[cfg(feature = "sim")]
pub mod sim;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use alkyl_runtime::{Storage, StorageError, DELETE_RESERVE};
use embedded_storage::nor_flash::MultiwriteNorFlash;
use sequential_storage::cache::Cache;
use sequential_storage::map::{Key, MapConfig, MapStorage, SerializationError};

pub use blocking::Blocking;

/// Longest record key (`app.` + a 32-byte app name fits).
pub const MAX_KEY_LEN: usize = 40;

/// Bytes of an item header in `sequential-storage`.
const ITEM_HEADER: usize = 8;
/// Bytes of a chunk key: tag, version, index.
const CHUNK_KEY_LEN: usize = 7;
/// Manifest value: tag, version, length, chunk count.
const MANIFEST_LEN: usize = 11;
const TAG_RECORD: u8 = 0;
const TAG_CHUNK: u8 = 1;
const VALUE_INLINE: u8 = 0;
const VALUE_CHUNKED: u8 = 1;

/// The key of one item.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ItemKey {
    /// A record's inline value or manifest.
    Record { len: u8, bytes: [u8; MAX_KEY_LEN] },
    /// One chunk of a chunked record.
    Chunk { version: u32, index: u16 },
}

impl ItemKey {
    fn record(key: &str) -> Option<ItemKey> {
        let mut bytes = [0; MAX_KEY_LEN];
        bytes.get_mut(..key.len())?.copy_from_slice(key.as_bytes());
        Some(ItemKey::Record { len: key.len() as u8, bytes })
    }

    fn len(&self) -> usize {
        match self {
            ItemKey::Record { len, .. } => 2 + *len as usize,
            ItemKey::Chunk { .. } => CHUNK_KEY_LEN,
        }
    }
}

impl Key for ItemKey {
    fn serialize_into(&self, buffer: &mut [u8]) -> Result<usize, SerializationError> {
        let out = buffer.get_mut(..self.len()).ok_or(SerializationError::BufferTooSmall)?;
        match self {
            ItemKey::Record { len, bytes } => {
                out[0] = TAG_RECORD;
                out[1] = *len;
                out[2..].copy_from_slice(&bytes[..*len as usize]);
            }
            ItemKey::Chunk { version, index } => {
                out[0] = TAG_CHUNK;
                out[1..5].copy_from_slice(&version.to_le_bytes());
                out[5..7].copy_from_slice(&index.to_le_bytes());
            }
        }
        Ok(out.len())
    }

    fn deserialize_from(buffer: &[u8]) -> Result<(Self, usize), SerializationError> {
        use SerializationError::BufferTooSmall as short;
        match buffer.first() {
            Some(&TAG_RECORD) => {
                let len = *buffer.get(1).ok_or(short)?;
                let name = buffer.get(2..2 + len as usize).ok_or(short)?;
                let mut bytes = [0; MAX_KEY_LEN];
                bytes.get_mut(..name.len()).ok_or(SerializationError::InvalidData)?.copy_from_slice(name);
                Ok((ItemKey::Record { len, bytes }, 2 + name.len()))
            }
            Some(&TAG_CHUNK) => {
                let b = buffer.get(..CHUNK_KEY_LEN).ok_or(short)?;
                let version = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
                let index = u16::from_le_bytes([b[5], b[6]]);
                Ok((ItemKey::Chunk { version, index }, CHUNK_KEY_LEN))
            }
            Some(_) => Err(SerializationError::InvalidData),
            None => Err(short),
        }
    }
}

/// Where a record's bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// In the record's own item.
    Inline,
    /// In `chunks` chunk items of `version`.
    Chunked { version: u32, len: u32, chunks: u16 },
    /// The record item does not decode: reads give [`StorageError::Corrupt`].
    Corrupt,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    layout: Layout,
    /// Flash bytes of its items (header, key, value, alignment).
    footprint: usize,
}

/// Why a region could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The flash geometry does not suit the store (fewer than 4 pages,
    /// pages too small for two chunks, words above 32 bytes).
    #[error("flash geometry unsuitable for the store")]
    Geometry,
    /// The flash refused a read, write or erase.
    #[error("flash I/O error")]
    Io,
    /// The region holds no valid store (e.g. hostile or foreign content,
    /// or not formatted); [`FlashStorage::format`] erases it.
    #[error("flash store corrupt")]
    Corrupt,
}

type Map<F> = MapStorage<
    ItemKey,
    Blocking<F>,
    Cache<
        sequential_storage::cache::Uncached,
        sequential_storage::cache::Uncached,
        sequential_storage::cache::Uncached,
        ItemKey,
    >,
>;

/// Records on a NOR flash region; see the crate documentation.
pub struct FlashStorage<F: MultiwriteNorFlash> {
    map: Map<F>,
    /// The current records (a few dozen at most: a vector is smaller
    /// code than a map).
    index: Vec<(String, Entry)>,
    next_version: u32,
    /// Flash bytes of live items.
    used: usize,
    /// Live bytes the region is sure to hold (see [`FlashStorage::capacity`]).
    capacity: usize,
    reserve: usize,
    chunk_len: usize,
    buf: Vec<u8>,
}

impl<F: MultiwriteNorFlash> fmt::Debug for FlashStorage<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashStorage")
            .field("records", &self.index.len())
            .field("used", &self.used)
            .field("capacity", &self.capacity)
            .finish()
    }
}

fn map_err<E>(e: sequential_storage::Error<E>) -> StorageError {
    match e {
        sequential_storage::Error::FullStorage | sequential_storage::Error::ItemTooBig => StorageError::Full,
        sequential_storage::Error::Storage { .. } => StorageError::Io,
        _ => StorageError::Corrupt,
    }
}

fn open_err(e: StorageError) -> OpenError {
    match e {
        StorageError::Io => OpenError::Io,
        _ => OpenError::Corrupt,
    }
}

impl<F: MultiwriteNorFlash> FlashStorage<F> {
    /// Opens the store on the whole of `flash` (an erased flash is an empty
    /// store), removing what an interrupted write left behind.
    ///
    /// # Errors
    /// [`OpenError`]; the flash is not written then, except by the repairs
    /// `sequential-storage` makes to an interrupted page operation.
    pub fn open(flash: F) -> Result<FlashStorage<F>, OpenError> {
        let size = flash.capacity();
        let (page, word) = (F::ERASE_SIZE, F::WRITE_SIZE);
        let pages = size / page.max(1);
        // Two chunks and a manifest fit in a page; the chunk payload is at
        // most ~1 KiB, so that small pages of big flashes waste little.
        let usable = page.saturating_sub(2 * word);
        let chunk_len = (usable / 3).saturating_sub(ITEM_HEADER + CHUNK_KEY_LEN + word).min(1000);
        if pages < 4 || word == 0 || word > 32 || chunk_len < 64 || size > u32::MAX as usize {
            return Err(OpenError::Geometry);
        }
        let config = MapConfig::try_new(0..(pages * page) as u32).map_err(|_| OpenError::Geometry)?;
        // An item may straddle nothing: every page can lose up to one
        // largest item to fragmentation, and one page is always kept empty
        // for the log to move live items into.
        let capacity = (pages - 1) * usable.saturating_sub(Self::footprint_of(2 + MAX_KEY_LEN + 1 + chunk_len));
        let mut store = FlashStorage {
            map: MapStorage::new(Blocking(flash), config, Cache::new_uncached()),
            index: Vec::new(),
            next_version: 0,
            used: 0,
            capacity,
            reserve: DELETE_RESERVE,
            chunk_len,
            buf: vec![0; (2 + MAX_KEY_LEN + 1 + chunk_len).next_multiple_of(word) + word],
        };
        store.scan()?;
        Ok(store)
    }

    /// Erases the whole region: an empty store.
    ///
    /// # Errors
    /// [`OpenError`] as [`FlashStorage::open`].
    pub fn format(flash: F) -> Result<FlashStorage<F>, OpenError> {
        let size = (flash.capacity() / F::ERASE_SIZE.max(1) * F::ERASE_SIZE) as u32;
        let mut flash = flash;
        flash.erase(0, size).map_err(|_| OpenError::Io)?;
        FlashStorage::open(flash)
    }

    /// Holds `reserve` bytes back for [`Storage::save_reserved`] (default
    /// [`DELETE_RESERVE`]).
    pub fn with_reserve(mut self, reserve: usize) -> FlashStorage<F> {
        self.reserve = reserve;
        self
    }

    /// Flash bytes of the live items (headers and alignment included).
    pub fn used(&self) -> usize {
        self.used
    }

    /// Live bytes the region is sure to hold: all pages but one, less the
    /// worst fragmentation (one largest item per page).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The largest payload of one chunk item.
    pub fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    /// Closes the store, handing the flash back.
    pub fn into_flash(self) -> F {
        self.map.destroy().0 .0
    }

    fn footprint_of(item_data: usize) -> usize {
        (ITEM_HEADER + item_data).next_multiple_of(F::WRITE_SIZE)
    }

    /// Reads every item once: the current record of each key, the chunks
    /// of every version, the next version number; then removes garbage.
    fn scan(&mut self) -> Result<(), OpenError> {
        let mut chunks: Vec<(u32, u16, usize)> = Vec::new();
        let mut records = Vec::new();
        // `fetch_all_items` returns a page-state error (an interrupted
        // erase) without the repair the other calls make (a `?` inside its
        // retried block leaves the function): one lookup repairs first.
        self.fetch_item(&ItemKey::Chunk { version: u32::MAX, index: u16::MAX }).map_err(open_err)?;
        {
            let buf = &mut self.buf;
            let mut iter =
                blocking::run(self.map.fetch_all_items(buf)).ok_or(OpenError::Io)?.map_err(|e| open_err(map_err(e)))?;
            loop {
                let item = blocking::run(iter.next::<&[u8]>(buf)).ok_or(OpenError::Io)?;
                let Some((key, value)) = item.map_err(|e| open_err(map_err(e)))? else { break };
                let footprint = Self::footprint_of(key.len() + value.len());
                match key {
                    ItemKey::Record { len, bytes } => {
                        let Ok(name) = core::str::from_utf8(&bytes[..len as usize]) else {
                            return Err(OpenError::Corrupt);
                        };
                        let layout = match value.split_first() {
                            Some((&VALUE_INLINE, _)) => Layout::Inline,
                            Some((&VALUE_CHUNKED, m)) if m.len() == MANIFEST_LEN - 1 => Layout::Chunked {
                                version: u32::from_le_bytes([m[0], m[1], m[2], m[3]]),
                                len: u32::from_le_bytes([m[4], m[5], m[6], m[7]]),
                                chunks: u16::from_le_bytes([m[8], m[9]]),
                            },
                            _ => Layout::Corrupt,
                        };
                        set(&mut records, name, Entry { layout, footprint });
                    }
                    ItemKey::Chunk { version, index } => {
                        self.next_version = self.next_version.max(version.saturating_add(1));
                        chunks.push((version, index, footprint));
                    }
                }
            }
        }
        // Chunks of current manifests are live (counted with their
        // record); every other one is garbage.
        self.index = records;
        for (_, entry) in &mut self.index {
            if let Layout::Chunked { version, chunks: n, .. } = entry.layout {
                chunks.retain(|&(v, i, footprint)| {
                    let live = v == version && i < n;
                    if live {
                        entry.footprint += footprint;
                    }
                    !live
                });
            }
            self.used += entry.footprint;
        }
        let garbage: Vec<ItemKey> =
            chunks.into_iter().map(|(version, index, _)| ItemKey::Chunk { version, index }).collect();
        for key in garbage {
            self.remove_item(&key).map_err(open_err)?;
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Entry> {
        self.index.iter().find(|(k, _)| k == key).map(|&(_, e)| e)
    }

    fn set(&mut self, key: &str, entry: Entry) {
        set(&mut self.index, key, entry);
    }

    fn store_item(&mut self, key: &ItemKey, value: &[u8]) -> Result<(), StorageError> {
        blocking::run(self.map.store_item(&mut self.buf, key, &value)).ok_or(StorageError::Io)?.map_err(map_err)
    }

    fn remove_item(&mut self, key: &ItemKey) -> Result<(), StorageError> {
        blocking::run(self.map.remove_item(&mut self.buf, key)).ok_or(StorageError::Io)?.map_err(map_err)
    }

    fn fetch_item(&mut self, key: &ItemKey) -> Result<Option<Vec<u8>>, StorageError> {
        let item = blocking::run(self.map.fetch_item::<&[u8]>(&mut self.buf, key)).ok_or(StorageError::Io)?;
        Ok(item.map_err(map_err)?.map(Vec::from))
    }

    fn remove_chunks(&mut self, version: u32, chunks: u16) -> Result<(), StorageError> {
        for index in 0..chunks {
            self.remove_item(&ItemKey::Chunk { version, index })?;
        }
        Ok(())
    }

    fn put(&mut self, key: &str, bytes: &[u8], reserve: usize) -> Result<(), StorageError> {
        let record = ItemKey::record(key).ok_or(StorageError::Io)?;
        let old = self.get(key);
        let (layout, footprint) = if bytes.len() <= self.chunk_len {
            (Layout::Inline, Self::footprint_of(record.len() + 1 + bytes.len()))
        } else {
            let chunks = u16::try_from(bytes.len().div_ceil(self.chunk_len)).map_err(|_| StorageError::Full)?;
            let len = u32::try_from(bytes.len()).map_err(|_| StorageError::Full)?;
            let data: usize = bytes.chunks(self.chunk_len).map(|c| Self::footprint_of(CHUNK_KEY_LEN + c.len())).sum();
            let version = self.next_version;
            (Layout::Chunked { version, len, chunks }, data + Self::footprint_of(record.len() + MANIFEST_LEN))
        };
        // The old record stays until the new one is committed.
        if self.used + footprint + reserve > self.capacity {
            return Err(StorageError::Full);
        }
        let mut value = Vec::with_capacity(MANIFEST_LEN.max(bytes.len() + 1));
        match layout {
            Layout::Inline => {
                value.push(VALUE_INLINE);
                value.extend_from_slice(bytes);
            }
            Layout::Chunked { version, len, chunks } => {
                self.next_version = version.checked_add(1).ok_or(StorageError::Full)?;
                for (index, chunk) in bytes.chunks(self.chunk_len).enumerate() {
                    let key = ItemKey::Chunk { version, index: index as u16 };
                    if let Err(e) = self.store_item(&key, chunk) {
                        // Best effort: whatever stays is removed at the next open.
                        let _ = self.remove_chunks(version, index as u16 + 1);
                        return Err(e);
                    }
                }
                value.push(VALUE_CHUNKED);
                value.extend_from_slice(&version.to_le_bytes());
                value.extend_from_slice(&len.to_le_bytes());
                value.extend_from_slice(&chunks.to_le_bytes());
            }
            Layout::Corrupt => unreachable!(),
        }
        if let Err(e) = self.store_item(&record, &value) {
            if let Layout::Chunked { version, chunks, .. } = layout {
                let _ = self.remove_chunks(version, chunks);
            }
            return Err(e);
        }
        // Committed.
        self.set(key, Entry { layout, footprint });
        self.used += footprint;
        self.drop_old(old);
        Ok(())
    }

    /// After a commit: the replaced record's chunks are garbage.
    fn drop_old(&mut self, old: Option<Entry>) {
        if let Some(old) = old {
            self.used = self.used.saturating_sub(old.footprint);
            if let Layout::Chunked { version, chunks, .. } = old.layout {
                // Best effort: whatever stays is removed at the next open.
                let _ = self.remove_chunks(version, chunks);
            }
        }
    }
}

/// Sets `key`'s entry in `index`.
fn set(index: &mut Vec<(String, Entry)>, key: &str, entry: Entry) {
    match index.iter_mut().find(|(k, _)| k == key) {
        Some((_, e)) => *e = entry,
        None => index.push((key.into(), entry)),
    }
}

impl<F: MultiwriteNorFlash> Storage for FlashStorage<F> {
    fn keys(&mut self) -> Result<Vec<String>, StorageError> {
        Ok(self.index.iter().map(|(k, _)| k.clone()).collect())
    }

    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(entry) = self.get(key) else { return Ok(None) };
        let record = ItemKey::record(key).ok_or(StorageError::Io)?;
        match entry.layout {
            Layout::Corrupt => Err(StorageError::Corrupt),
            Layout::Inline => match self.fetch_item(&record)?.as_deref() {
                Some([VALUE_INLINE, rest @ ..]) => Ok(Some(rest.into())),
                _ => Err(StorageError::Corrupt),
            },
            Layout::Chunked { version, len, chunks } => {
                let mut out = Vec::new();
                for index in 0..chunks {
                    let chunk = self.fetch_item(&ItemKey::Chunk { version, index })?.ok_or(StorageError::Corrupt)?;
                    if out.len() + chunk.len() > len as usize {
                        return Err(StorageError::Corrupt);
                    }
                    out.extend_from_slice(&chunk);
                }
                if out.len() != len as usize {
                    return Err(StorageError::Corrupt);
                }
                Ok(Some(out))
            }
        }
    }

    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.put(key, bytes, self.reserve)
    }

    fn save_reserved(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.put(key, bytes, 0)
    }

    fn remove(&mut self, key: &str) -> Result<(), StorageError> {
        let Some(old) = self.get(key) else { return Ok(()) };
        let record = ItemKey::record(key).ok_or(StorageError::Io)?;
        self.remove_item(&record)?;
        self.index.retain(|(k, _)| k != key);
        self.drop_old(Some(old));
        Ok(())
    }
}
