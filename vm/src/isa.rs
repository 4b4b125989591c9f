//! The eBPF instruction encoding (RFC 9669, section 3–5).
//!
//! An instruction is 8 bytes, little-endian:
//!
//! ```text
//! byte 0     opcode   (class in bits 0..3, then operation/mode bits)
//! byte 1     regs     (dst in bits 0..4, src in bits 4..8)
//! bytes 2..4 offset   (i16)
//! bytes 4..8 imm      (i32)
//! ```
//!
//! `LDDW` occupies two slots; the second slot carries the upper 32 bits of
//! the immediate and must otherwise be zero.
//!
//! This module only names and splits bits. It never fails: deciding whether
//! an opcode is valid is the verifier's job (`crate::verify`).

/// Size of one instruction slot in bytes.
pub const INSN_SIZE: usize = 8;

/// Number of general purpose registers (`r0`..`r10`).
pub const REG_COUNT: usize = 11;
/// The read-only frame pointer.
pub const FRAME_REG: u8 = 10;

/// Instruction classes (the low three opcode bits).
pub mod class {
    pub const LD: u8 = 0x00;
    pub const LDX: u8 = 0x01;
    pub const ST: u8 = 0x02;
    pub const STX: u8 = 0x03;
    pub const ALU: u8 = 0x04;
    pub const JMP: u8 = 0x05;
    pub const JMP32: u8 = 0x06;
    pub const ALU64: u8 = 0x07;
    /// Mask selecting the class bits of an opcode.
    pub const MASK: u8 = 0x07;
}

/// Source bit of ALU and JMP opcodes.
pub mod source {
    /// Operand is the 32-bit immediate.
    pub const K: u8 = 0x00;
    /// Operand is the `src` register.
    pub const X: u8 = 0x08;
    pub const MASK: u8 = 0x08;
}

/// ALU operation codes (the high four opcode bits of ALU/ALU64).
pub mod alu {
    pub const ADD: u8 = 0x00;
    pub const SUB: u8 = 0x10;
    pub const MUL: u8 = 0x20;
    pub const DIV: u8 = 0x30;
    pub const OR: u8 = 0x40;
    pub const AND: u8 = 0x50;
    pub const LSH: u8 = 0x60;
    pub const RSH: u8 = 0x70;
    pub const NEG: u8 = 0x80;
    pub const MOD: u8 = 0x90;
    pub const XOR: u8 = 0xa0;
    pub const MOV: u8 = 0xb0;
    pub const ARSH: u8 = 0xc0;
    pub const END: u8 = 0xd0;
    pub const MASK: u8 = 0xf0;
}

/// Jump operation codes (the high four opcode bits of JMP/JMP32).
pub mod jmp {
    pub const JA: u8 = 0x00;
    pub const JEQ: u8 = 0x10;
    pub const JGT: u8 = 0x20;
    pub const JGE: u8 = 0x30;
    pub const JSET: u8 = 0x40;
    pub const JNE: u8 = 0x50;
    pub const JSGT: u8 = 0x60;
    pub const JSGE: u8 = 0x70;
    pub const CALL: u8 = 0x80;
    pub const EXIT: u8 = 0x90;
    pub const JLT: u8 = 0xa0;
    pub const JLE: u8 = 0xb0;
    pub const JSLT: u8 = 0xc0;
    pub const JSLE: u8 = 0xd0;
    pub const MASK: u8 = 0xf0;
}

/// Size field of load/store opcodes.
pub mod size {
    pub const W: u8 = 0x00;
    pub const H: u8 = 0x08;
    pub const B: u8 = 0x10;
    pub const DW: u8 = 0x18;
    pub const MASK: u8 = 0x18;

    /// Access width in bytes of a size field.
    pub const fn bytes(size: u8) -> u8 {
        match size & MASK {
            W => 4,
            H => 2,
            B => 1,
            _ => 8,
        }
    }
}

/// Mode field of load/store opcodes.
pub mod mode {
    pub const IMM: u8 = 0x00;
    /// Legacy packet access (not supported: rejected by the verifier).
    pub const ABS: u8 = 0x20;
    /// Legacy packet access (not supported: rejected by the verifier).
    pub const IND: u8 = 0x40;
    pub const MEM: u8 = 0x60;
    /// Sign-extending load (`ldxs*`).
    pub const MEMSX: u8 = 0x80;
    pub const ATOMIC: u8 = 0xc0;
    pub const MASK: u8 = 0xe0;
}

/// `src` values of a `CALL` instruction.
pub mod call {
    /// Call a host helper by id (`imm`).
    pub const HELPER: u8 = 0;
    /// Call a program-local function at `pc + imm + 1`.
    pub const LOCAL: u8 = 1;
}

/// `imm` operation codes of atomic instructions.
pub mod atomic {
    pub const ADD: i32 = 0x00;
    pub const OR: i32 = 0x40;
    pub const AND: i32 = 0x50;
    pub const XOR: i32 = 0xa0;
    /// Flag: return the old value in `src`.
    pub const FETCH: i32 = 0x01;
    /// Exchange (always fetches).
    pub const XCHG: i32 = 0xe0 | FETCH;
    /// Compare `r0` with memory; store `src` if equal; old value in `r0`.
    pub const CMPXCHG: i32 = 0xf0 | FETCH;
}

/// `src` values of the first `LDDW` slot.
pub mod lddw {
    /// Plain 64-bit immediate.
    pub const IMM64: u8 = 0;
}

/// Complete opcodes that are referred to by name.
pub mod op {
    use super::{class, jmp, mode, size, source};
    /// `lddw dst, imm64` (two slots).
    pub const LDDW: u8 = class::LD | mode::IMM | size::DW;
    /// Femto-Container extension: `dst = .data base + imm` (two slots).
    pub const LDDW_DATA: u8 = class::LD | 0xa0 | size::DW;
    /// Femto-Container extension: `dst = .rodata base + imm` (two slots).
    pub const LDDW_RODATA: u8 = class::LD | 0xc0 | size::DW;
    pub const JA: u8 = class::JMP | jmp::JA;
    /// `gotol`/`ja32`: unconditional jump with a 32-bit offset in `imm`.
    pub const JA32: u8 = class::JMP32 | jmp::JA;
    pub const CALL: u8 = class::JMP | jmp::CALL | source::K;
    /// `callx`: helper id taken from the `dst` register at run time.
    pub const CALLX: u8 = class::JMP | jmp::CALL | source::X;
    pub const EXIT: u8 = class::JMP | jmp::EXIT;

    /// True for every opcode that occupies two slots.
    pub const fn is_wide(opc: u8) -> bool {
        opc == LDDW || opc == LDDW_DATA || opc == LDDW_RODATA
    }
}

/// One decoded instruction slot. Decoding never fails; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Insn {
    pub opc: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Decodes one slot.
    #[inline(always)]
    pub const fn decode(b: &[u8; INSN_SIZE]) -> Insn {
        Insn {
            opc: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Decodes slot `pc` of `code`, or `None` when it is out of range.
    #[inline(always)]
    pub fn at(code: &[u8], pc: usize) -> Option<Insn> {
        let start = pc.checked_mul(INSN_SIZE)?;
        let bytes = code.get(start..start.checked_add(INSN_SIZE)?)?;
        let bytes: &[u8; INSN_SIZE] = bytes.try_into().ok()?;
        Some(Insn::decode(bytes))
    }

    /// Encodes this slot. Register numbers are truncated to four bits.
    pub const fn encode(&self) -> [u8; INSN_SIZE] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [self.opc, (self.dst & 0x0f) | (self.src << 4), off[0], off[1], imm[0], imm[1], imm[2], imm[3]]
    }

    /// The class bits of the opcode.
    #[inline(always)]
    pub const fn class(&self) -> u8 {
        self.opc & class::MASK
    }

    /// Builds a plain instruction; convenience for tests and code generators.
    pub const fn new(opc: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { opc, dst, src, off, imm }
    }
}

/// Number of slots in `code` (the caller is expected to have checked that
/// `code.len()` is a multiple of [`INSN_SIZE`]).
pub const fn slot_count(code: &[u8]) -> usize {
    code.len() / INSN_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_splits_fields() {
        let insn = Insn::decode(&[0xb7, 0x21, 0xfe, 0xff, 0x78, 0x56, 0x34, 0x12]);
        assert_eq!(insn, Insn::new(0xb7, 1, 2, -2, 0x1234_5678));
        assert_eq!(insn.class(), class::ALU64);
    }

    #[test]
    fn encode_round_trips() {
        let insn = Insn::new(op::EXIT, 10, 9, i16::MIN, i32::MIN);
        assert_eq!(Insn::decode(&insn.encode()), insn);
    }

    #[test]
    fn at_is_total() {
        let code = [0u8; 12];
        assert!(Insn::at(&code, 0).is_some());
        assert!(Insn::at(&code, 1).is_none());
        assert!(Insn::at(&code, usize::MAX).is_none());
    }

    #[test]
    fn size_bytes() {
        assert_eq!(size::bytes(size::B), 1);
        assert_eq!(size::bytes(size::H), 2);
        assert_eq!(size::bytes(size::W), 4);
        assert_eq!(size::bytes(size::DW), 8);
    }
}
