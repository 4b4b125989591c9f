//! Where a module's state lives in the translated program's `.data`
//! region: the globals first, each naturally aligned, in declaration
//! order; then linear memory, at the next multiple of 8.
//!
//! The globals' initial values are the container's `.data`; linear memory
//! starts zeroed, so it is the container's `.bss` and costs no bytes in the
//! upload. The reference interpreter's state serializes to the same image
//! ([`super::interp::Instance::data_image`]), so the two can be compared
//! byte for byte.

use alloc::vec::Vec;

use super::module::Module;

/// Offsets of a module's state in the `.data` region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataLayout {
    /// Offset of each global.
    pub globals: Vec<u32>,
    /// Offset of linear memory (a multiple of 8): also the length of the
    /// initialised `.data`.
    pub memory: u32,
    /// Total size of the region in bytes (`.data` plus `.bss`).
    pub size: u32,
}

impl DataLayout {
    /// The layout of `module` (sizes are bounded by the module limits, so
    /// the arithmetic cannot overflow).
    pub fn of(module: &Module<'_>) -> DataLayout {
        let mut at = 0u32;
        let mut globals = Vec::with_capacity(module.globals.len());
        for g in &module.globals {
            let size = g.width.bytes();
            at = at.div_ceil(size) * size;
            globals.push(at);
            at += size;
        }
        let memory = at.next_multiple_of(8);
        DataLayout { globals, memory, size: memory + module.memory_size }
    }

    /// The initialised part (the container's `.data`): the globals' initial
    /// values, little-endian, padded with zeros to [`DataLayout::memory`].
    pub fn initial_data(&self, module: &Module<'_>) -> Vec<u8> {
        let mut image = alloc::vec![0u8; self.memory as usize];
        for (g, &off) in module.globals.iter().zip(&self.globals) {
            let n = g.width.bytes() as usize;
            image[off as usize..off as usize + n].copy_from_slice(&g.init.to_le_bytes()[..n]);
        }
        image
    }

    /// Zero-initialised bytes after `.data`: linear memory (the `.bss`).
    pub fn bss_len(&self) -> u32 {
        self.size - self.memory
    }
}
