//! The flash region of the record store (alkyl-flash): apps, key-value
//! records, trigger settings and command sequences survive a reset.
//!
//! WRITTEN BY HAND, NOT YET BUILT OR RUN ON A BOARD (riot-wrappers 0.9 has
//! no flash or MTD wrapper: this uses riot-sys's bindings of
//! `periph/flashpage.h` and declares the four MTD functions it needs).
//!
//! - nrf52840dk (`periph_flashpage`): the last [`PAGES`] 4 KiB pages of
//!   the 1 MiB flash, 0xEC000..0x100000. The firmware's end in flash
//!   (`_etext` plus the initialized data stored after it) is checked at
//!   boot: a firmware that grew into the region gets RAM storage instead,
//!   and says so; the region is never written then.
//! - native64 (`mtd`, RIOT's file-backed `mtd_native`, file `MEMORY.bin`
//!   in the working directory): the first [`PAGES`] 4 KiB sectors of
//!   MTD 0 (`mtd0_dev` of boards/common/native/board_init.c).
//!
//! Both are NOR: a write ANDs its bits in, an erase sets a page to 0xff;
//! the nRF52840's NVMC allows two writes per word between erases, which
//! the store needs (removing an item clears its header's CRC word).

use alkyl_flash::FlashStorage;
use embedded_storage::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, NorFlashErrorKind, ReadNorFlash};

use crate::console;

/// Pages of the region (80 KiB). The store holds all pages but one, less
/// one largest item (~1 KiB) per page: 57.5 KiB, for the apps' quota
/// (`CONFIG.max_total_bytes`, 32 KiB) plus the largest app again (16 KiB:
/// a replacement holds old and new until it commits), the key-value
/// records, and the deletions' reserve (2 KiB).
pub const PAGES: usize = 20;
/// Erase page (nRF52840 flash page; native MTD sector).
const PAGE: usize = 4096;
const LEN: usize = PAGES * PAGE;

/// The region; see the module documentation.
pub struct Region(());

impl ErrorType for Region {
    type Error = NorFlashErrorKind;
}

fn check(offset: u32, len: usize, align: usize) -> Result<usize, NorFlashErrorKind> {
    let offset = offset as usize;
    if offset % align != 0 || len % align != 0 {
        return Err(NorFlashErrorKind::NotAligned);
    }
    match offset.checked_add(len) {
        Some(end) if end <= LEN => Ok(offset),
        _ => Err(NorFlashErrorKind::OutOfBounds),
    }
}

impl ReadNorFlash for Region {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        let offset = check(offset, bytes.len(), 1)?;
        hw::read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        LEN
    }
}

impl NorFlash for Region {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let len = (to as usize).checked_sub(from as usize).ok_or(NorFlashErrorKind::OutOfBounds)?;
        let from = check(from, len, PAGE)?;
        for page in from / PAGE..(from + len) / PAGE {
            hw::erase(page)?;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        let offset = check(offset, bytes.len(), 4)?;
        hw::write(offset, bytes)
    }
}

impl MultiwriteNorFlash for Region {}

/// Opens the store on the region (`None`: the region is unusable, and
/// the reason was printed).
pub fn open() -> Option<FlashStorage<Region>> {
    if let Err(why) = hw::usable() {
        console::line(&("flash store: ", why, ": keeping records in RAM (lost at reset)"));
        return None;
    }
    match FlashStorage::open(Region(())) {
        Ok(s) => Some(s),
        Err(alkyl_flash::OpenError::Corrupt) => {
            // Not a store (first boot after flashing over other data, or
            // damage): start empty rather than not at all.
            console::line(&"flash store: region holds no valid store: erasing it");
            FlashStorage::format(Region(())).ok()
        }
        Err(e) => {
            // OpenError's texts (its Display is thiserror's, core::fmt).
            let why = match e {
                alkyl_flash::OpenError::Geometry => "flash geometry unsuitable for the store",
                alkyl_flash::OpenError::Io => "flash I/O error",
                alkyl_flash::OpenError::Corrupt => "flash store corrupt",
            };
            console::line(&("flash store: ", why, ": keeping records in RAM (lost at reset)"));
            None
        }
    }
}

/// nRF52840: `periph_flashpage`, memory-mapped reads.
#[cfg(target_arch = "arm")]
mod hw {
    use super::{LEN, PAGE};
    use embedded_storage::nor_flash::NorFlashErrorKind;
    use riot_wrappers::riot_sys;

    /// Pages of the nRF52840's flash (FLASHPAGE_NUMOF; CPU_FLASH_BASE 0).
    const FLASH_PAGES: usize = 256;
    /// Address of the region: the end of flash.
    const BASE: usize = FLASH_PAGES * PAGE - LEN;

    extern "C" {
        // cortexm_base.ld: the end of code and constants; the initialized
        // data (copied to RAM at boot) is stored after it.
        static _etext: u8;
        static _srelocate: u8;
        static _erelocate: u8;
    }

    pub fn usable() -> Result<(), &'static str> {
        // SAFETY: linker symbols; only their addresses are used (newer
        // compilers need no `unsafe` for that).
        #[allow(unused_unsafe)]
        let end = unsafe {
            let text = core::ptr::addr_of!(_etext) as usize;
            let data = core::ptr::addr_of!(_erelocate) as usize - core::ptr::addr_of!(_srelocate) as usize;
            text + data
        };
        if end > BASE {
            return Err("the firmware reaches into the flash region");
        }
        Ok(())
    }

    pub fn read(offset: usize, bytes: &mut [u8]) -> Result<(), NorFlashErrorKind> {
        // SAFETY: inside the region (checked by the caller), flash is
        // memory-mapped and always readable; writes go through the NVMC
        // in calls the compiler cannot see into, so nothing is cached.
        unsafe { core::ptr::copy_nonoverlapping((BASE + offset) as *const u8, bytes.as_mut_ptr(), bytes.len()) };
        Ok(())
    }

    pub fn write(offset: usize, bytes: &[u8]) -> Result<(), NorFlashErrorKind> {
        // flashpage_write reads its source word by word: copy through an
        // aligned buffer.
        let mut words = [0u32; 64];
        for (i, chunk) in bytes.chunks(words.len() * 4).enumerate() {
            for (w, b) in words.iter_mut().zip(chunk.chunks(4)) {
                *w = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            }
            let at = BASE + offset + i * words.len() * 4;
            // SAFETY: a word-aligned range inside the region (checked by
            // the caller), which the firmware does not occupy (`usable`).
            unsafe {
                riot_sys::flashpage_write(at as *mut _, words.as_ptr() as *const _, chunk.len() as _);
            }
        }
        Ok(())
    }

    pub fn erase(page: usize) -> Result<(), NorFlashErrorKind> {
        // SAFETY: a page of the region (checked by the caller).
        unsafe { riot_sys::flashpage_erase(((BASE / PAGE) + page) as _) };
        Ok(())
    }
}

/// native64: MTD 0, RIOT's file-backed flash emulation.
#[cfg(target_os = "linux")]
mod hw {
    use super::PAGE;
    use core::ffi::{c_int, c_void};
    use embedded_storage::nor_flash::NorFlashErrorKind;

    extern "C" {
        // boards/common/native/board_init.c: an `mtd_native_dev_t` whose
        // first field is its `mtd_dev_t` (drivers/include/mtd.h).
        static mut mtd0_dev: u8;
        fn mtd_init(mtd: *mut c_void) -> c_int;
        fn mtd_read(mtd: *mut c_void, dest: *mut c_void, addr: u32, count: u32) -> c_int;
        fn mtd_write(mtd: *mut c_void, src: *const c_void, addr: u32, count: u32) -> c_int;
        fn mtd_erase(mtd: *mut c_void, addr: u32, count: u32) -> c_int;
    }

    fn dev() -> *mut c_void {
        // SAFETY: only the address is taken (newer compilers need no
        // `unsafe` for that).
        #[allow(unused_unsafe)]
        unsafe {
            core::ptr::addr_of_mut!(mtd0_dev) as *mut c_void
        }
    }

    fn ok(r: c_int) -> Result<(), NorFlashErrorKind> {
        if r < 0 {
            Err(NorFlashErrorKind::Other)
        } else {
            Ok(())
        }
    }

    pub fn usable() -> Result<(), &'static str> {
        // SAFETY: the board's MTD device; init creates MEMORY.bin if missing.
        ok(unsafe { mtd_init(dev()) }).map_err(|_| "MTD 0 (MEMORY.bin) failed to initialize")
    }

    pub fn read(offset: usize, bytes: &mut [u8]) -> Result<(), NorFlashErrorKind> {
        // SAFETY: a range of MTD 0 (checked by the caller) into `bytes`.
        ok(unsafe { mtd_read(dev(), bytes.as_mut_ptr() as _, offset as u32, bytes.len() as u32) })
    }

    pub fn write(offset: usize, bytes: &[u8]) -> Result<(), NorFlashErrorKind> {
        // SAFETY: as `read`; mtd_native ANDs the bits in, as NOR does.
        ok(unsafe { mtd_write(dev(), bytes.as_ptr() as _, offset as u32, bytes.len() as u32) })
    }

    pub fn erase(page: usize) -> Result<(), NorFlashErrorKind> {
        // SAFETY: one sector of MTD 0.
        ok(unsafe { mtd_erase(dev(), (page * PAGE) as u32, PAGE as u32) })
    }
}
