//! The instruction set: opcode bytes, mnemonics and immediates.
//!
//! Operations Alkyl IR shares with the EVM keep their EVM byte; Alkyl's own
//! additions live in the `0xc0..=0xcf` block, which the EVM leaves unused.
//! `JUMP` and `JUMPI` keep their EVM bytes but take the destination as an
//! immediate (as EOF's `RJUMP`/`RJUMPI` do): Alkyl IR has no dynamic jumps.

use core::fmt;

use super::width::Width;

/// What follows an opcode byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImmKind {
    /// Nothing.
    None,
    /// A PrefixVarint value (PUSH: the word; ARG: parameter index;
    /// GLOAD/GSTORE: global index; SYSCALL: helper id).
    Value,
    /// A PrefixVarint byte offset, from the start of the function's code,
    /// of a `JUMPDEST`.
    Target,
}

macro_rules! ops {
    ($( $(#[$doc:meta])* $name:ident = $byte:literal, $text:literal, $imm:ident; )*) => {
        /// An operation. `Dup(n)` and `Swap(n)` carry `n` in `1..=16`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Op {
            $( $(#[$doc])* $name, )*
            /// `DUP1`..`DUP16` (`0x80..=0x8f`): push a copy of the n-th value.
            Dup(u8),
            /// `SWAP1`..`SWAP16` (`0x90..=0x9f`): exchange the top with the
            /// value n below it.
            Swap(u8),
            /// A byte that is no opcode; the validator rejects it.
            Unknown(u8),
        }

        impl Op {
            /// Decodes an opcode byte (total: unknown bytes become
            /// [`Op::Unknown`]).
            pub const fn from_byte(b: u8) -> Op {
                match b {
                    $( $byte => Op::$name, )*
                    0x80..=0x8f => Op::Dup(b - 0x80 + 1),
                    0x90..=0x9f => Op::Swap(b - 0x90 + 1),
                    other => Op::Unknown(other),
                }
            }

            /// The opcode byte.
            pub const fn byte(self) -> u8 {
                match self {
                    $( Op::$name => $byte, )*
                    Op::Dup(n) => 0x80 + (n.wrapping_sub(1) & 0x0f),
                    Op::Swap(n) => 0x90 + (n.wrapping_sub(1) & 0x0f),
                    Op::Unknown(b) => b,
                }
            }

            /// What follows the opcode byte.
            pub const fn imm_kind(self) -> ImmKind {
                match self {
                    $( Op::$name => ImmKind::$imm, )*
                    _ => ImmKind::None,
                }
            }

            /// Looks a mnemonic up (upper case; `DUPn`/`SWAPn` included).
            pub fn from_mnemonic(text: &str) -> Option<Op> {
                $( if text == $text { return Some(Op::$name); } )*
                if let Some(n) = text.strip_prefix("DUP").and_then(|n| n.parse::<u8>().ok()) {
                    return (1..=16).contains(&n).then_some(Op::Dup(n));
                }
                if let Some(n) = text.strip_prefix("SWAP").and_then(|n| n.parse::<u8>().ok()) {
                    return (1..=16).contains(&n).then_some(Op::Swap(n));
                }
                None
            }
        }

        impl fmt::Display for Op {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $( Op::$name => f.write_str($text), )*
                    Op::Dup(n) => write!(f, "DUP{n}"),
                    Op::Swap(n) => write!(f, "SWAP{n}"),
                    Op::Unknown(b) => write!(f, ".byte {b:#04x}"),
                }
            }
        }
    };
}

ops! {
    /// Ends the call with result 0.
    Stop = 0x00, "STOP", None;
    Add = 0x01, "ADD", None;
    Mul = 0x02, "MUL", None;
    Sub = 0x03, "SUB", None;
    Div = 0x04, "DIV", None;
    Sdiv = 0x05, "SDIV", None;
    Mod = 0x06, "MOD", None;
    Smod = 0x07, "SMOD", None;
    Lt = 0x10, "LT", None;
    Gt = 0x11, "GT", None;
    Slt = 0x12, "SLT", None;
    Sgt = 0x13, "SGT", None;
    Eq = 0x14, "EQ", None;
    IsZero = 0x15, "ISZERO", None;
    And = 0x16, "AND", None;
    Or = 0x17, "OR", None;
    Xor = 0x18, "XOR", None;
    Not = 0x19, "NOT", None;
    Shl = 0x1b, "SHL", None;
    Shr = 0x1c, "SHR", None;
    Sar = 0x1d, "SAR", None;
    Pop = 0x50, "POP", None;
    Mload = 0x51, "MLOAD", None;
    Mstore = 0x52, "MSTORE", None;
    Mstore8 = 0x53, "MSTORE8", None;
    Sload = 0x54, "SLOAD", None;
    Sstore = 0x55, "SSTORE", None;
    Jump = 0x56, "JUMP", Target;
    Jumpi = 0x57, "JUMPI", Target;
    Jumpdest = 0x5b, "JUMPDEST", None;
    Push0 = 0x5f, "PUSH0", None;
    Push = 0x60, "PUSH", Value;
    Bits8 = 0xc0, "BITS8", None;
    Bits16 = 0xc1, "BITS16", None;
    Bits32 = 0xc2, "BITS32", None;
    Bits64 = 0xc3, "BITS64", None;
    Zext = 0xc4, "ZEXT", None;
    Sext = 0xc5, "SEXT", None;
    Trunc = 0xc6, "TRUNC", None;
    Arg = 0xc8, "ARG", Value;
    Gload = 0xc9, "GLOAD", Value;
    Gstore = 0xca, "GSTORE", Value;
    Inload = 0xcb, "INLOAD", None;
    Syscall = 0xcc, "SYSCALL", Value;
    Return = 0xf3, "RETURN", None;
    Revert = 0xfd, "REVERT", None;
    Invalid = 0xfe, "INVALID", None;
}

impl Op {
    /// The mode a `BITSn` instruction selects.
    pub const fn bit_mode(self) -> Option<Width> {
        match self {
            Op::Bits8 => Some(Width::W8),
            Op::Bits16 => Some(Width::W16),
            Op::Bits32 => Some(Width::W32),
            Op::Bits64 => Some(Width::W64),
            _ => None,
        }
    }

    /// The `BITSn` instruction selecting `w`.
    pub const fn bits(w: Width) -> Op {
        match w {
            Width::W8 => Op::Bits8,
            Width::W16 => Op::Bits16,
            Width::W32 => Op::Bits32,
            Width::W64 => Op::Bits64,
        }
    }

    /// True for the operations that pop `a` and `b` of the mode's width and
    /// push one result ([`super::semantics::binary`]).
    pub const fn is_binary(self) -> bool {
        matches!(
            self,
            Op::Add
                | Op::Mul
                | Op::Sub
                | Op::Div
                | Op::Sdiv
                | Op::Mod
                | Op::Smod
                | Op::Lt
                | Op::Gt
                | Op::Slt
                | Op::Sgt
                | Op::Eq
                | Op::And
                | Op::Or
                | Op::Xor
                | Op::Shl
                | Op::Shr
                | Op::Sar
        )
    }

    /// True for instructions after which control never reaches the next one.
    pub const fn is_terminator(self) -> bool {
        matches!(self, Op::Stop | Op::Jump | Op::Return | Op::Revert | Op::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_byte_decodes_and_re_encodes() {
        for b in 0..=255u8 {
            let op = Op::from_byte(b);
            assert_eq!(op.byte(), b);
            if !matches!(op, Op::Unknown(_)) {
                assert_eq!(Op::from_mnemonic(&op.to_string()), Some(op));
            }
        }
    }

    #[test]
    fn evm_numbering() {
        assert_eq!(Op::Stop.byte(), 0x00);
        assert_eq!(Op::Lt.byte(), 0x10);
        assert_eq!(Op::Shl.byte(), 0x1b);
        assert_eq!(Op::Pop.byte(), 0x50);
        assert_eq!(Op::Jumpdest.byte(), 0x5b);
        assert_eq!(Op::Dup(1).byte(), 0x80);
        assert_eq!(Op::Swap(16).byte(), 0x9f);
        assert_eq!(Op::Return.byte(), 0xf3);
        assert_eq!(Op::Revert.byte(), 0xfd);
    }
}
