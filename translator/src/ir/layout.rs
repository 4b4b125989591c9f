//! Where a module's state lives in the translated program's `.data`:
//! linear memory first (offset 0, so a memory offset is a `.data` offset),
//! then the globals, each naturally aligned, in declaration order.
//!
//! The reference interpreter's state serializes to the same image
//! ([`super::interp::Instance::data_image`]), so the two can be compared
//! byte for byte.

use alloc::vec::Vec;

use super::module::Module;

/// Offsets of a module's state in `.data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataLayout {
    /// Offset of each global.
    pub globals: Vec<u32>,
    /// Total size of `.data` in bytes.
    pub size: u32,
}

impl DataLayout {
    /// The layout of `module` (sizes are bounded by the module limits, so
    /// the arithmetic cannot overflow).
    pub fn of(module: &Module<'_>) -> DataLayout {
        let mut at = module.memory_size;
        let mut globals = Vec::with_capacity(module.globals.len());
        for g in &module.globals {
            let size = g.width.bytes();
            at = at.div_ceil(size) * size;
            globals.push(at);
            at += size;
        }
        DataLayout { globals, size: at }
    }

    /// The initial `.data` image: zeroed memory, then the globals' initial
    /// values, little-endian.
    pub fn initial_image(&self, module: &Module<'_>) -> Vec<u8> {
        let mut image = alloc::vec![0u8; self.size as usize];
        for (g, &off) in module.globals.iter().zip(&self.globals) {
            let n = g.width.bytes() as usize;
            image[off as usize..off as usize + n].copy_from_slice(&g.init.to_le_bytes()[..n]);
        }
        image
    }
}
