//! The language's types and their IR widths.

use std::fmt;

use alkyl_translator::ir::Width;

/// An integer type: width and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntTy {
    pub bits: u8,
    pub signed: bool,
}

impl IntTy {
    pub const U8: IntTy = IntTy { bits: 8, signed: false };
    pub const U16: IntTy = IntTy { bits: 16, signed: false };
    pub const U32: IntTy = IntTy { bits: 32, signed: false };
    pub const U64: IntTy = IntTy { bits: 64, signed: false };
    pub const I8: IntTy = IntTy { bits: 8, signed: true };
    pub const I16: IntTy = IntTy { bits: 16, signed: true };
    pub const I32: IntTy = IntTy { bits: 32, signed: true };
    pub const I64: IntTy = IntTy { bits: 64, signed: true };
    /// `char`: an unsigned byte.
    pub const CHAR: IntTy = IntTy::U8;
    /// `time_t`: a point in time as the device's `Now` gives it: Unix
    /// seconds of the device's wall clock (32 bits, unsigned: until 2106),
    /// set by the gateway's signed set-time command (`docs/coap-api.md`).
    pub const TIME_T: IntTy = IntTy::U32;

    pub fn width(self) -> Width {
        match self.bits {
            8 => Width::W8,
            16 => Width::W16,
            32 => Width::W32,
            _ => Width::W64,
        }
    }

    pub fn mask(self) -> u64 {
        self.width().mask()
    }

    /// Smallest and largest value.
    pub fn range(self) -> (i128, i128) {
        if self.signed {
            (-(1i128 << (self.bits - 1)), (1i128 << (self.bits - 1)) - 1)
        } else {
            (0, (1i128 << self.bits) - 1)
        }
    }

    pub fn fits(self, v: i128) -> bool {
        let (lo, hi) = self.range();
        lo <= v && v <= hi
    }

    /// The value of canonical bits `v` read in this type.
    pub fn value(self, v: u64) -> i128 {
        if self.signed {
            self.width().sign_extend(v) as i128
        } else {
            (v & self.mask()) as i128
        }
    }
}

/// An element of a fixed-size array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Elem {
    Bool,
    Int(IntTy),
}

impl Elem {
    pub fn ty(self) -> Ty {
        match self {
            Elem::Bool => Ty::Bool,
            Elem::Int(i) => Ty::Int(i),
        }
    }
}

/// A type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Void,
    /// `bool`: one byte, 0 or 1.
    Bool,
    Int(IntTy),
    /// `char*` / `string`: a byte string of at most [`STR_CAPACITY`] bytes,
    /// a value (copied by assignment), held as one 64-bit word.
    Str,
    /// A device of the gateway's `devices` (gateway scripts).
    Device,
    /// `T name[N]` (globals only).
    Array(Elem, u32),
}

/// Bytes a `char*` holds: one 8-byte argument slot.
pub const STR_CAPACITY: u32 = 8;

impl Ty {
    /// The IR width of a value of this type (`None` for void and arrays).
    pub fn width(self) -> Option<Width> {
        match self {
            Ty::Bool => Some(Width::W8),
            Ty::Int(i) => Some(i.width()),
            Ty::Str => Some(Width::W64),
            Ty::Device => Some(Width::W32),
            Ty::Void | Ty::Array(..) => None,
        }
    }

    /// The integer type of a value, `bool` read as `uint8_t`.
    pub fn int(self) -> Option<IntTy> {
        match self {
            Ty::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn is_scalar(self) -> bool {
        self.width().is_some()
    }

    /// Parses a type keyword (`char*` is the lexer's `char` then `*`).
    pub fn from_name(name: &str) -> Option<Ty> {
        Some(match name {
            "void" => Ty::Void,
            "bool" => Ty::Bool,
            "char" => Ty::Int(IntTy::CHAR),
            "int8_t" => Ty::Int(IntTy::I8),
            "int16_t" => Ty::Int(IntTy::I16),
            "int32_t" => Ty::Int(IntTy::I32),
            "int64_t" => Ty::Int(IntTy::I64),
            "uint8_t" => Ty::Int(IntTy::U8),
            "uint16_t" => Ty::Int(IntTy::U16),
            "uint32_t" => Ty::Int(IntTy::U32),
            "uint64_t" => Ty::Int(IntTy::U64),
            "time_t" => Ty::Int(IntTy::TIME_T),
            "string" => Ty::Str,
            "device_t" => Ty::Device,
            _ => return None,
        })
    }
}

impl fmt::Display for IntTy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}int{}_t", if self.signed { "" } else { "u" }, self.bits)
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Void => f.write_str("void"),
            Ty::Bool => f.write_str("bool"),
            Ty::Int(i) => write!(f, "{i}"),
            Ty::Str => f.write_str("char*"),
            Ty::Device => f.write_str("device_t"),
            Ty::Array(e, n) => write!(f, "{}[{n}]", e.ty()),
        }
    }
}
