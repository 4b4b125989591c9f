//! A simulated NOR flash for host tests: the nRF52840's geometry (4 KiB
//! erase pages, 4-byte words), writes that can only clear bits, a bounded
//! number of writes per word between erases, erase counters per page, and
//! a power cut injectable at any write or erase.
//!
//! A handle is cheap to clone and every clone sees the same flash: a test
//! keeps one to cut the power, read the counters and take the memory image
//! while a store owns another.
//!
//! A cut at operation `n` (writes and erases counted together from 0)
//! applies a part of that operation, as a real cut would: the first words
//! of a write and some cleared bits of the next one, or the first words of
//! an erase and some set bits of the next one (how much is drawn from the
//! cut's seed). The operation and every later one then fail: the device is
//! off. [`SimFlash::image`] is what it finds when power comes back.

use alloc::rc::Rc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;

use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};

/// Erase page of the nRF52840.
pub const PAGE: usize = 4096;
/// Write word of the nRF52840.
pub const WORD: usize = 4;
/// Writes to one word between erases the nRF52840's NVMC allows (n_WRITE).
pub const MAX_WRITES_PER_WORD: u8 = 2;

/// Why an operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// Outside the flash or not word-aligned.
    Bounds,
    /// The power is cut.
    PowerCut,
}

impl NorFlashError for SimError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            SimError::Bounds => NorFlashErrorKind::OutOfBounds,
            SimError::PowerCut => NorFlashErrorKind::Other,
        }
    }
}

#[derive(Debug)]
struct State {
    mem: Vec<u8>,
    writes: Vec<u8>,
    erases: Vec<u32>,
    ops: usize,
    cut_at: Option<usize>,
    seed: u32,
    off: bool,
    violations: usize,
}

/// The simulated flash; see the module documentation.
#[derive(Clone, Debug)]
pub struct SimFlash(Rc<RefCell<State>>);

impl SimFlash {
    /// An erased flash of `pages` pages.
    pub fn new(pages: usize) -> SimFlash {
        SimFlash::from_image(vec![0xff; pages * PAGE])
    }

    /// A flash holding `image` (its length a whole number of pages), every
    /// word counted as written once (so a store must not write it again
    /// without erasing, unless it only clears bits once more).
    pub fn from_image(image: Vec<u8>) -> SimFlash {
        assert_eq!(image.len() % PAGE, 0, "a whole number of pages");
        let words = image.len() / WORD;
        let writes = image.chunks(WORD).map(|w| u8::from(w.iter().any(|&b| b != 0xff))).collect::<Vec<_>>();
        debug_assert_eq!(writes.len(), words);
        SimFlash(Rc::new(RefCell::new(State {
            erases: vec![0; image.len() / PAGE],
            mem: image,
            writes,
            ops: 0,
            cut_at: None,
            seed: 1,
            off: false,
            violations: 0,
        })))
    }

    /// Cuts the power during operation `op` (counted from now), with
    /// `seed` choosing how much of it is applied.
    pub fn cut_at(&self, op: usize, seed: u32) {
        let mut s = self.0.borrow_mut();
        s.cut_at = Some(s.ops + op);
        s.seed = seed | 1;
    }

    /// Writes and erases so far.
    pub fn ops(&self) -> usize {
        self.0.borrow().ops
    }

    /// Whether a cut happened.
    pub fn is_off(&self) -> bool {
        self.0.borrow().off
    }

    /// The memory as it is: what the device finds after the cut.
    pub fn image(&self) -> Vec<u8> {
        self.0.borrow().mem.clone()
    }

    /// Erases per page.
    pub fn erase_counts(&self) -> Vec<u32> {
        self.0.borrow().erases.clone()
    }

    /// Writes that broke the flash's rule: a word written more than
    /// [`MAX_WRITES_PER_WORD`] times between erases. The flash still did
    /// what NOR does (a write can only clear bits: it ANDs them in).
    pub fn violations(&self) -> usize {
        self.0.borrow().violations
    }
}

impl State {
    fn rand(&mut self) -> u32 {
        // xorshift32
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.seed = x;
        x
    }

    /// Counts an operation; `Some(words)` if the power goes during it,
    /// after `words` whole words (and part of the next).
    fn step(&mut self, words: usize) -> Result<Option<usize>, SimError> {
        if self.off {
            return Err(SimError::PowerCut);
        }
        let n = self.ops;
        self.ops += 1;
        if self.cut_at == Some(n) {
            self.off = true;
            return Ok(Some(self.rand() as usize % (words + 1)));
        }
        Ok(None)
    }
}

impl ErrorType for SimFlash {
    type Error = SimError;
}

impl ReadNorFlash for SimFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), SimError> {
        let s = self.0.borrow();
        if s.off {
            return Err(SimError::PowerCut);
        }
        let src = s.mem.get(offset as usize..offset as usize + bytes.len()).ok_or(SimError::Bounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.0.borrow().mem.len()
    }
}

impl NorFlash for SimFlash {
    const WRITE_SIZE: usize = WORD;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), SimError> {
        let (from, to) = (from as usize, to as usize);
        let mut s = self.0.borrow_mut();
        if !from.is_multiple_of(PAGE) || !to.is_multiple_of(PAGE) || from > to || to > s.mem.len() {
            return Err(SimError::Bounds);
        }
        let words = (to - from) / WORD;
        let cut = s.step(words)?;
        let done = cut.unwrap_or(words);
        for w in 0..done {
            let a = from + w * WORD;
            s.mem[a..a + WORD].fill(0xff);
            s.writes[a / WORD] = 0;
        }
        if cut.is_some() {
            if done < words {
                // The next word is half-erased: some bits already set.
                let a = from + done * WORD;
                let bits = s.rand().to_le_bytes();
                for (i, b) in bits.iter().enumerate() {
                    s.mem[a + i] |= b;
                }
            }
            return Err(SimError::PowerCut);
        }
        for page in from / PAGE..to / PAGE {
            s.erases[page] += 1;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), SimError> {
        let offset = offset as usize;
        let mut s = self.0.borrow_mut();
        if !offset.is_multiple_of(WORD) || !bytes.len().is_multiple_of(WORD) || offset + bytes.len() > s.mem.len() {
            return Err(SimError::Bounds);
        }
        let words = bytes.len() / WORD;
        let cut = s.step(words)?;
        let done = cut.unwrap_or(words);
        for (w, new) in bytes.chunks(WORD).enumerate().take(done) {
            let a = offset + w * WORD;
            if s.writes[a / WORD] >= MAX_WRITES_PER_WORD {
                s.violations += 1;
            }
            s.writes[a / WORD] = s.writes[a / WORD].saturating_add(1);
            for (m, n) in s.mem[a..a + WORD].iter_mut().zip(new) {
                *m &= n;
            }
        }
        if cut.is_some() {
            if done < words {
                // The next word is half-written: some of its bits cleared.
                let a = offset + done * WORD;
                let keep = s.rand().to_le_bytes();
                for i in 0..WORD {
                    s.mem[a + i] &= bytes[done * WORD + i] | keep[i];
                }
            }
            return Err(SimError::PowerCut);
        }
        Ok(())
    }
}

impl MultiwriteNorFlash for SimFlash {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nor_rules() {
        let mut f = SimFlash::new(2);
        f.write(0, &[0xf0, 0xff, 0xff, 0x0f]).unwrap();
        // Only clears bits: a second write ANDs in (its 1 bits leave bits alone).
        f.write(0, &[0xff, 0x00, 0xff, 0xff]).unwrap();
        let mut b = [0; 4];
        f.read(0, &mut b).unwrap();
        assert_eq!(b, [0xf0, 0x00, 0xff, 0x0f]);
        assert_eq!(f.violations(), 0);
        // A third write to the word breaks the limit.
        f.write(0, &[0xf0, 0x00, 0xff, 0x0f]).unwrap();
        assert_eq!(f.violations(), 1);
        f.write(4, &[0; 8]).unwrap();
        f.write(4, &[1, 0, 0, 0]).unwrap();
        assert_eq!(f.violations(), 1);
        f.write(0, &[0xff; 8]).unwrap();
        assert_eq!(f.violations(), 3);
        assert_eq!(f.write(2, &[0; 4]), Err(SimError::Bounds));
        assert_eq!(f.erase(0, 100), Err(SimError::Bounds));
        f.erase(0, PAGE as u32).unwrap();
        assert_eq!(f.erase_counts(), [1, 0]);
        f.read(0, &mut b).unwrap();
        assert_eq!(b, [0xff; 4]);
        // Writable again after the erase.
        f.write(0, &[0; 4]).unwrap();
        f.write(0, &[0; 4]).unwrap();
        assert_eq!(f.violations(), 3);
    }

    #[test]
    fn power_cut() {
        let mut f = SimFlash::new(2);
        f.cut_at(1, 5);
        f.write(0, &[0; 8]).unwrap();
        assert_eq!(f.write(8, &[0; 64]), Err(SimError::PowerCut));
        assert!(f.is_off());
        assert_eq!(f.write(100, &[0; 4]), Err(SimError::PowerCut));
        assert_eq!(f.erase(0, PAGE as u32), Err(SimError::PowerCut));
        let image = f.image();
        assert_eq!(&image[..8], &[0; 8]);
        // A part of the cut write landed, nothing after it.
        assert!(image[72..].iter().all(|&b| b == 0xff));
        // Power back: a fresh handle on the image.
        let mut g = SimFlash::from_image(image);
        g.erase(0, PAGE as u32).unwrap();
        // A cut erase leaves the page partly erased and uncounted.
        g.write(PAGE as u32, &[0; 64]).unwrap();
        g.cut_at(0, 77);
        assert_eq!(g.erase(PAGE as u32, 2 * PAGE as u32), Err(SimError::PowerCut));
        assert_eq!(g.erase_counts(), [1, 0]);
    }
}
