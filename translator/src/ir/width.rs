//! Word widths: the four bit modes of Alkyl IR.
//!
//! Every value on the IR stack has a static width. A width's values are the
//! integers `0..2^bits`, held zero-extended in a `u64` (the *canonical* form
//! every part of the toolchain keeps).

use alkyl_vm::describe::{Describe, Sink};

/// The width of a word: 8, 16, 32 or 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Width {
    W8,
    W16,
    W32,
    W64,
}

impl Width {
    /// All widths, narrowest first.
    pub const ALL: [Width; 4] = [Width::W8, Width::W16, Width::W32, Width::W64];

    /// Number of bits.
    pub const fn bits(self) -> u32 {
        match self {
            Width::W8 => 8,
            Width::W16 => 16,
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }

    /// Number of bytes a word occupies in memory.
    pub const fn bytes(self) -> u32 {
        self.bits() / 8
    }

    /// All-ones mask of this width.
    pub const fn mask(self) -> u64 {
        match self {
            Width::W64 => u64::MAX,
            w => (1u64 << w.bits()) - 1,
        }
    }

    /// The canonical form of `v`: its low `bits` bits, zero-extended.
    pub const fn wrap(self, v: u64) -> u64 {
        v & self.mask()
    }

    /// Sign-extends the low `bits` bits of `v` to 64 bits.
    pub const fn sign_extend(self, v: u64) -> i64 {
        let shift = 64 - self.bits();
        ((v << shift) as i64) >> shift
    }

    /// The code of this width in the binary format (`0..=3`).
    pub const fn code(self) -> u8 {
        match self {
            Width::W8 => 0,
            Width::W16 => 1,
            Width::W32 => 2,
            Width::W64 => 3,
        }
    }

    /// The width with binary code `code`.
    pub const fn from_code(code: u8) -> Option<Width> {
        match code {
            0 => Some(Width::W8),
            1 => Some(Width::W16),
            2 => Some(Width::W32),
            3 => Some(Width::W64),
            _ => None,
        }
    }

    /// The width of `bits` bits.
    pub const fn from_bits(bits: u32) -> Option<Width> {
        match bits {
            8 => Some(Width::W8),
            16 => Some(Width::W16),
            32 => Some(Width::W32),
            64 => Some(Width::W64),
            _ => None,
        }
    }

    /// The text name (`w8`, `w16`, `w32`, `w64`).
    pub const fn name(self) -> &'static str {
        match self {
            Width::W8 => "w8",
            Width::W16 => "w16",
            Width::W32 => "w32",
            Width::W64 => "w64",
        }
    }
}

impl Describe for Width {
    fn describe(&self, out: &mut dyn Sink) {
        out.text(self.name());
    }
}

alkyl_vm::display_by_describe!(Width);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_sign_extension() {
        assert_eq!(Width::W8.mask(), 0xff);
        assert_eq!(Width::W64.mask(), u64::MAX);
        assert_eq!(Width::W16.wrap(0x1_2345), 0x2345);
        assert_eq!(Width::W8.sign_extend(0x80), -128);
        assert_eq!(Width::W32.sign_extend(0x7fff_ffff), 0x7fff_ffff);
        assert_eq!(Width::W64.sign_extend(u64::MAX), -1);
        for w in Width::ALL {
            assert_eq!(Width::from_code(w.code()), Some(w));
            assert_eq!(Width::from_bits(w.bits()), Some(w));
        }
    }
}
