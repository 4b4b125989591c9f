//! The host's [`Storage`]: one file per record in a directory, replaced
//! crash-safely ([`FileStorage`], `--store DIR`); or the device's flash
//! store over a file holding a NOR flash image ([`FileFlash`],
//! `--flash FILE`). [`NodeStorage`] is either.
//!
//! `save` writes `.KEY.tmp`, fsyncs it, renames it over `KEY` (atomic on
//! POSIX file systems) and fsyncs the directory, so that after a crash at
//! any moment (kill -9, power loss) the record is the old or the new one,
//! never a mix; `remove` unlinks and fsyncs the directory. Leftover
//! temporary files of an interrupted save are removed at open.
//!
//! Deletions work on a full disk: the store holds [`DELETE_RESERVE`]
//! bytes back in a `.reserve` file, which [`Storage::save_reserved`] (the
//! one write of a deletion) frees when the disk is full, and which is
//! made again once a removal freed space. With a quota
//! ([`FileStorage::with_quota`]: `alkyl-node --store-quota`), the records
//! may take at most that many bytes, less the reserve for ordinary saves:
//! a small store for a device-like host, and the tests' way to fill it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use alkyl_flash::FlashStorage;
use alkyl_runtime::{EitherStorage, Storage, StorageError, DELETE_RESERVE};
use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// The file holding the deletions' reserve.
const RESERVE_FILE: &str = ".reserve";

/// Records as files in a directory.
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    /// Most bytes the records may take.
    quota: Option<u64>,
}

/// A key is safe as a file name: `[a-z0-9._-]`, not starting with `.`.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
}

fn io(what: &str, path: &Path, e: &std::io::Error) -> StorageError {
    eprintln!("alkyl-node: storage: {what} {}: {e}", path.display());
    if e.raw_os_error() == Some(28) {
        StorageError::Full
    } else {
        StorageError::Io
    }
}

impl FileStorage {
    /// Opens (creating) the directory and removes leftover temporary files.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(dir: &Path) -> std::io::Result<FileStorage> {
        fs::create_dir_all(dir)?;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                fs::remove_file(entry.path())?;
            }
        }
        let s = FileStorage { dir: dir.to_path_buf(), quota: None };
        s.make_reserve();
        Ok(s)
    }

    /// At most `quota` bytes of records ([module docs](self)).
    pub fn with_quota(mut self, quota: u64) -> FileStorage {
        self.quota = Some(quota);
        self
    }

    /// (Re)creates the reserve file if missing; best effort (a full disk
    /// gets it back after the next removal).
    fn make_reserve(&self) {
        let path = self.dir.join(RESERVE_FILE);
        if path.metadata().is_ok_and(|m| m.len() == DELETE_RESERVE as u64) {
            return;
        }
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&path)?;
            f.write_all(&[0; DELETE_RESERVE])?;
            f.sync_all()
        };
        if write().is_err() {
            let _ = fs::remove_file(&path);
        }
    }

    /// Bytes the records take, not counting `key`'s.
    fn used_without(&self, key: &str) -> u64 {
        let Ok(entries) = fs::read_dir(&self.dir) else { return 0 };
        entries
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(|n| valid_key(n) && n != key))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }

    /// Whether `bytes` more under `key` fit the quota, less `reserve`.
    fn fits(&self, key: &str, len: usize, reserve: usize) -> Result<(), StorageError> {
        let Some(quota) = self.quota else { return Ok(()) };
        if self.used_without(key).saturating_add(len as u64) > quota.saturating_sub(reserve as u64) {
            eprintln!("alkyl-node: storage: {key}: store quota of {quota} bytes reached");
            return Err(StorageError::Full);
        }
        Ok(())
    }

    fn write_record(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path(key)?;
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(io("writing", &tmp, &e));
        }
        fs::rename(&tmp, &path).map_err(|e| io("renaming", &path, &e))?;
        self.sync_dir()
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| io("syncing", &self.dir, &e))
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        if !valid_key(key) {
            eprintln!("alkyl-node: storage: refusing key {key:?}");
            return Err(StorageError::Io);
        }
        Ok(self.dir.join(key))
    }
}

impl Storage for FileStorage {
    fn keys(&mut self) -> Result<Vec<String>, StorageError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| io("listing", &self.dir, &e))?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io("listing", &self.dir, &e))?;
            if let Some(name) = entry.file_name().to_str() {
                if valid_key(name) {
                    keys.push(name.to_owned());
                }
            }
        }
        Ok(keys)
    }

    fn load(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let path = self.path(key)?;
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("reading", &path, &e)),
        }
    }

    fn save(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.fits(key, bytes.len(), DELETE_RESERVE)?;
        self.write_record(key, bytes)
    }

    fn save_reserved(&mut self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        self.fits(key, bytes.len(), 0)?;
        match self.write_record(key, bytes) {
            Err(StorageError::Full) => {
                // The disk is full: give the reserve up for this write.
                let _ = fs::remove_file(self.dir.join(RESERVE_FILE));
                self.write_record(key, bytes)
            }
            r => r,
        }
    }

    fn remove(&mut self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match fs::remove_file(&path) {
            Ok(()) => {
                self.make_reserve();
                self.sync_dir()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("removing", &path, &e)),
        }
    }
}

/// A NOR flash in a file, with the nRF52840's geometry (4 KiB erase
/// pages, 4-byte words): a write ANDs its bits into the old ones, an erase
/// sets a page to `0xff`. Every write and erase is synced to the disk
/// before it returns, so that what the store acknowledged survives a
/// crash of the host too.
#[derive(Debug)]
pub struct FileFlash {
    file: File,
    len: usize,
}

/// A file flash's I/O error (logged where it happens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlashIo(NorFlashErrorKind);

impl NorFlashError for FlashIo {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

impl FileFlash {
    /// Erase page.
    pub const PAGE: usize = 4096;

    /// Opens `path`, creating an erased flash of `len` bytes (a whole
    /// number of pages) if it does not exist.
    ///
    /// # Errors
    /// I/O errors; an existing file of another size.
    pub fn open(path: &Path, len: usize) -> std::io::Result<FileFlash> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
        if len == 0 || !len.is_multiple_of(Self::PAGE) {
            return Err(invalid(format!("flash size {len}: not a whole number of {}-byte pages", Self::PAGE)));
        }
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        match file.metadata()?.len() {
            0 => {
                file.write_all_at(&vec![0xff; len], 0)?;
                file.sync_all()?;
            }
            n if n == len as u64 => {}
            n => return Err(invalid(format!("{}: {n} bytes, not the flash size {len}", path.display()))),
        }
        Ok(FileFlash { file, len })
    }

    fn check(&self, offset: u32, len: usize, align: usize) -> Result<usize, FlashIo> {
        let offset = offset as usize;
        if !offset.is_multiple_of(align) || !len.is_multiple_of(align) {
            return Err(FlashIo(NorFlashErrorKind::NotAligned));
        }
        if offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(FlashIo(NorFlashErrorKind::OutOfBounds));
        }
        Ok(offset)
    }

    fn put(&self, offset: usize, bytes: &[u8]) -> Result<(), FlashIo> {
        self.file.write_all_at(bytes, offset as u64).and_then(|()| self.file.sync_data()).map_err(|e| {
            eprintln!("alkyl-node: flash: writing at {offset}: {e}");
            FlashIo(NorFlashErrorKind::Other)
        })
    }
}

impl ErrorType for FileFlash {
    type Error = FlashIo;
}

impl ReadNorFlash for FileFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashIo> {
        let offset = self.check(offset, bytes.len(), 1)?;
        self.file.read_exact_at(bytes, offset as u64).map_err(|e| {
            eprintln!("alkyl-node: flash: reading at {offset}: {e}");
            FlashIo(NorFlashErrorKind::Other)
        })
    }

    fn capacity(&self) -> usize {
        self.len
    }
}

impl NorFlash for FileFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = Self::PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashIo> {
        let len = (to as usize).checked_sub(from as usize).ok_or(FlashIo(NorFlashErrorKind::OutOfBounds))?;
        let offset = self.check(from, len, Self::PAGE)?;
        self.put(offset, &vec![0xff; len])
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashIo> {
        let at = self.check(offset, bytes.len(), Self::WRITE_SIZE)?;
        let mut old = vec![0; bytes.len()];
        self.read(offset, &mut old)?;
        for (o, n) in old.iter_mut().zip(bytes) {
            *o &= n;
        }
        self.put(at, &old)
    }
}

impl MultiwriteNorFlash for FileFlash {}

/// The node's storage: files (`--store DIR`) or the flash store over a
/// file (`--flash FILE`).
pub type NodeStorage = EitherStorage<FileStorage, FlashStorage<FileFlash>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_in_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = FileStorage::open(dir.path()).unwrap();
        assert_eq!(s.load("app.a").unwrap(), None);
        s.save("app.a", b"one").unwrap();
        s.save("app.a", b"two").unwrap();
        s.save("kv.global", b"").unwrap();
        assert_eq!(s.load("app.a").unwrap().as_deref(), Some(&b"two"[..]));
        let mut keys = s.keys().unwrap();
        keys.sort();
        assert_eq!(keys, ["app.a", "kv.global"]);
        s.remove("app.a").unwrap();
        s.remove("app.a").unwrap();
        assert_eq!(s.keys().unwrap(), ["kv.global"]);
        // Keys that are not plain file names are refused.
        for bad in ["../x", "a/b", ".hidden", "", "A"] {
            assert_eq!(s.save(bad, b"x"), Err(StorageError::Io), "{bad}");
        }
    }

    #[test]
    fn a_full_store_still_takes_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let quota = DELETE_RESERVE as u64 + 100;
        let mut s = FileStorage::open(dir.path()).unwrap().with_quota(quota);
        assert!(dir.path().join(RESERVE_FILE).exists());
        s.save("app.a", &[1; 60]).unwrap();
        assert_eq!(s.save("kv.a", &[2; 41]), Err(StorageError::Full));
        // Replacing counts the old record as freed.
        s.save("app.a", &[3; 100]).unwrap();
        // The reserve is for a deletion's write.
        s.save_reserved("retired", &[4; 50]).unwrap();
        s.remove("app.a").unwrap();
        s.save("kv.a", &[2; 41]).unwrap();
        assert_eq!(s.keys().unwrap().len(), 2);
    }

    #[test]
    fn leftovers_of_interrupted_saves_are_ignored_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".app.a.tmp"), b"half").unwrap();
        std::fs::write(dir.path().join("app.a"), b"old").unwrap();
        let mut s = FileStorage::open(dir.path()).unwrap();
        assert_eq!(s.keys().unwrap(), ["app.a"]);
        assert_eq!(s.load("app.a").unwrap().as_deref(), Some(&b"old"[..]));
        assert!(!dir.path().join(".app.a.tmp").exists());
    }
}

#[cfg(test)]
mod flash_tests {
    use super::*;

    #[test]
    fn file_flash_is_nor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("flash");
        assert!(FileFlash::open(&path, 1000).is_err());
        let mut f = FileFlash::open(&path, 4 * FileFlash::PAGE).unwrap();
        let mut b = [0; 4];
        f.read(8, &mut b).unwrap();
        assert_eq!(b, [0xff; 4]);
        f.write(8, &[0xf0, 0x0f, 0xff, 0]).unwrap();
        f.write(8, &[0x3f, 0xff, 0xff, 0xff]).unwrap();
        f.read(8, &mut b).unwrap();
        assert_eq!(b, [0x30, 0x0f, 0xff, 0]);
        assert_eq!(f.write(2, &[0; 4]), Err(FlashIo(NorFlashErrorKind::NotAligned)));
        assert_eq!(f.write(4 * 4096, &[0; 4]), Err(FlashIo(NorFlashErrorKind::OutOfBounds)));
        f.erase(0, 4096).unwrap();
        f.read(8, &mut b).unwrap();
        assert_eq!(b, [0xff; 4]);
        // Another size is refused; the same size reopens the content.
        drop(f);
        assert!(FileFlash::open(&path, 8 * FileFlash::PAGE).is_err());
        let mut s = FlashStorage::open(FileFlash::open(&path, 4 * FileFlash::PAGE).unwrap()).unwrap();
        s.save("app.a", &[7; 5000]).unwrap();
        let mut s = FlashStorage::open(FileFlash::open(&path, 4 * FileFlash::PAGE).unwrap()).unwrap();
        assert_eq!(s.load("app.a").unwrap(), Some(vec![7; 5000]));
    }
}
