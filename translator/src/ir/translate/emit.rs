//! The eBPF code buffer: instructions, labels and jump fixups.
//!
//! Labels are created, pinned to a slot, and patched at the end; every
//! patched offset is checked to fit its 16-bit field.

use alloc::vec::Vec;

use alkyl_vm::isa::{alu, class, jmp, mode, op, size, source, FRAME_REG, INSN_SIZE};

use super::error::TranslateErrorKind;

/// A jump target inside the function being translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(u32);

/// 32-bit or 64-bit class of an ALU or jump instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    B32,
    B64,
}

/// Instructions of one program, with labels.
#[derive(Default)]
pub struct Emitter {
    /// The program's bytes, encoded as they are emitted (jump offsets
    /// patched in place by [`Emitter::patch`]).
    pub code: Vec<u8>,
    labels: Vec<Option<u32>>,
    fixups: Vec<(u32, Label)>,
    /// Most instruction slots to hold (`None`: no limit beyond the VM's);
    /// instructions beyond it are not stored, and [`Emitter::over_limit`]
    /// says so.
    pub limit: Option<usize>,
    over: bool,
    /// The deepest byte below `r10` that a load, a store or a frame
    /// address ([`Emitter::frame_addr`]) reaches: the stack the code needs.
    pub deepest: u32,
}

impl Emitter {
    /// Current slot index.
    pub fn here(&self) -> u32 {
        self.slots() as u32
    }

    /// Instruction slots emitted.
    pub fn slots(&self) -> usize {
        self.code.len() / INSN_SIZE
    }

    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    /// Pins `label` to the next instruction.
    pub fn pin(&mut self, label: Label) {
        let here = self.here();
        if let Some(l) = self.labels.get_mut(label.0 as usize) {
            *l = Some(here);
        }
    }

    /// Appends one instruction: `head` packs the opcode (bits 0..8), `dst`
    /// (8..12), `src` (12..16) and `off` (16..32). One out-of-line copy:
    /// every emitting call site passes two words instead of building an
    /// `Insn` (less code on the device, `make bench-size`).
    #[inline(never)]
    fn put(&mut self, head: u32, imm: i32) {
        if self.limit.is_some_and(|l| self.slots() >= l) {
            self.over = true;
            return;
        }
        // `head` is the slot's first word as encoded (`Insn::encode`).
        self.code.extend_from_slice(&(u64::from(head) | u64::from(imm as u32) << 32).to_le_bytes());
    }

    /// [`Emitter::put`] with the fields apart.
    #[inline(always)]
    fn push(&mut self, opc: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.put(
            u32::from(opc) | u32::from(dst & 0x0f) << 8 | u32::from(src & 0x0f) << 12 | (off as u16 as u32) << 16,
            imm,
        );
    }

    /// Whether an instruction was dropped for being beyond the limit.
    pub fn over_limit(&self) -> bool {
        self.over
    }

    // Out of line: called from dozens of sites (`make bench-size`).
    #[inline(never)]
    pub fn alu(&mut self, c: Class, op: u8, dst: u8, src: u8) {
        let cl = if c == Class::B64 { class::ALU64 } else { class::ALU };
        self.push(cl | op | source::X, dst, src, 0, 0);
    }

    pub fn alu_imm(&mut self, c: Class, op: u8, dst: u8, imm: i32) {
        let cl = if c == Class::B64 { class::ALU64 } else { class::ALU };
        self.push(cl | op | source::K, dst, 0, 0, imm);
    }

    /// Signed division/modulo (`off = 1`).
    pub fn alu_signed(&mut self, c: Class, op: u8, dst: u8, src: u8) {
        let cl = if c == Class::B64 { class::ALU64 } else { class::ALU };
        self.push(cl | op | source::X, dst, src, 1, 0);
    }

    /// `dst = sign_extend(src, bits)` (`bits` = 8, 16, or 32 for B64).
    pub fn movsx(&mut self, c: Class, dst: u8, src: u8, bits: i16) {
        let cl = if c == Class::B64 { class::ALU64 } else { class::ALU };
        self.push(cl | alu::MOV | source::X, dst, src, bits, 0);
    }

    /// `dst = v` in as few instructions as possible.
    pub fn load_imm(&mut self, dst: u8, v: u64) {
        if v as i64 == v as i32 as i64 {
            self.alu_imm(Class::B64, alu::MOV, dst, v as i32);
        } else if v <= u32::MAX as u64 {
            self.alu_imm(Class::B32, alu::MOV, dst, v as u32 as i32);
        } else {
            self.lddw(op::LDDW, dst, v);
        }
    }

    /// A two-slot `lddw` of any flavour (plain, `.data`-, `.rodata`-relative).
    pub fn lddw(&mut self, opc: u8, dst: u8, v: u64) {
        self.push(opc, dst, 0, 0, v as u32 as i32);
        self.push(0, 0, 0, 0, (v >> 32) as u32 as i32);
    }

    /// Notes an access at `base + off`.
    fn frame(&mut self, base: u8, off: i16) {
        if base == FRAME_REG && off < 0 {
            self.deepest = self.deepest.max(off.unsigned_abs() as u32);
        }
    }

    /// `dst = r10 + off` (an out-parameter's address, `off < 0`).
    pub fn frame_addr(&mut self, dst: u8, off: i16) {
        self.frame(FRAME_REG, off);
        self.alu(Class::B64, alu::MOV, dst, FRAME_REG);
        self.alu_imm(Class::B64, alu::ADD, dst, off as i32);
    }

    /// Load of `bytes` (1, 2, 4, 8) zero-extended.
    pub fn load(&mut self, bytes: u32, dst: u8, base: u8, off: i16) {
        self.frame(base, off);
        self.push(class::LDX | mode::MEM | size_of(bytes), dst, base, off, 0);
    }

    pub fn store_reg(&mut self, bytes: u32, base: u8, off: i16, src: u8) {
        self.frame(base, off);
        self.push(class::STX | mode::MEM | size_of(bytes), base, src, off, 0);
    }

    pub fn store_imm(&mut self, bytes: u32, base: u8, off: i16, imm: i32) {
        self.frame(base, off);
        self.push(class::ST | mode::MEM | size_of(bytes), base, 0, off, imm);
    }

    pub fn call(&mut self, helper: u32) {
        self.push(op::CALL, 0, 0, 0, helper as i32);
    }

    pub fn exit(&mut self) {
        self.push(op::EXIT, 0, 0, 0, 0);
    }

    /// A jump to `target`, patched by [`Emitter::patch`] (one copy of the
    /// fixup bookkeeping for every kind of jump).
    #[inline(never)]
    fn jump(&mut self, opc: u8, dst: u8, src: u8, imm: i32, target: Label) {
        self.fixups.push((self.here(), target));
        self.push(opc, dst, src, 0, imm);
    }

    pub fn ja(&mut self, target: Label) {
        self.jump(op::JA, 0, 0, 0, target);
    }

    /// Conditional jump `if dst <cond> src goto target`.
    pub fn jcc(&mut self, c: Class, cond: u8, dst: u8, src: u8, target: Label) {
        let cl = if c == Class::B64 { class::JMP } else { class::JMP32 };
        self.jump(cl | cond | source::X, dst, src, 0, target);
    }

    /// Conditional jump `if dst <cond> imm goto target`.
    pub fn jcc_imm(&mut self, c: Class, cond: u8, dst: u8, imm: i32, target: Label) {
        let cl = if c == Class::B64 { class::JMP } else { class::JMP32 };
        self.jump(cl | cond | source::K, dst, 0, imm, target);
    }

    /// Conditional skip of the next `n` slots: `if dst <cond> imm goto +n`.
    pub fn skip_imm(&mut self, c: Class, cond: u8, dst: u8, imm: i32, n: i16) {
        let cl = if c == Class::B64 { class::JMP } else { class::JMP32 };
        self.push(cl | cond | source::K, dst, 0, n, imm);
    }

    /// Conditional skip on two registers.
    pub fn skip(&mut self, c: Class, cond: u8, dst: u8, src: u8, n: i16) {
        let cl = if c == Class::B64 { class::JMP } else { class::JMP32 };
        self.push(cl | cond | source::X, dst, src, n, 0);
    }

    /// Resolves every jump to its label.
    ///
    /// # Errors
    /// A label never pinned, or an offset that does not fit 16 bits.
    pub fn patch(&mut self) -> Result<(), TranslateErrorKind> {
        for &(at, label) in &self.fixups {
            let target = self
                .labels
                .get(label.0 as usize)
                .copied()
                .flatten()
                .ok_or(TranslateErrorKind::Internal("jump to a label that was never pinned"))?;
            let rel = target as i64 - (at as i64 + 1);
            let off = i16::try_from(rel).map_err(|_| TranslateErrorKind::BranchTooFar { distance: rel })?;
            // The offset field: bytes 2..4 of the slot.
            if let Some(field) = self.code.get_mut(at as usize * INSN_SIZE + 2..at as usize * INSN_SIZE + 4) {
                field.copy_from_slice(&off.to_le_bytes());
            }
        }
        Ok(())
    }
}

fn size_of(bytes: u32) -> u8 {
    match bytes {
        1 => size::B,
        2 => size::H,
        4 => size::W,
        _ => size::DW,
    }
}

/// Condition codes, re-exported for the lowering code.
pub mod cond {
    pub use alkyl_vm::isa::jmp::{JEQ, JGT, JLT, JNE, JSGT, JSLT};
}

/// The condition that holds when `cond` holds with its operands swapped
/// (`a < b` ⇔ `b > a`).
pub const fn mirror(cond: u8) -> u8 {
    match cond {
        jmp::JLT => jmp::JGT,
        jmp::JGT => jmp::JLT,
        jmp::JLE => jmp::JGE,
        jmp::JGE => jmp::JLE,
        jmp::JSLT => jmp::JSGT,
        jmp::JSGT => jmp::JSLT,
        jmp::JSLE => jmp::JSGE,
        jmp::JSGE => jmp::JSLE,
        other => other,
    }
}

/// The negation of `cond` (`a < b` ⇔ `!(a >= b)`).
pub const fn negate(cond: u8) -> u8 {
    match cond {
        jmp::JLT => jmp::JGE,
        jmp::JGE => jmp::JLT,
        jmp::JGT => jmp::JLE,
        jmp::JLE => jmp::JGT,
        jmp::JSLT => jmp::JSGE,
        jmp::JSGE => jmp::JSLT,
        jmp::JSGT => jmp::JSLE,
        jmp::JSLE => jmp::JSGT,
        jmp::JEQ => jmp::JNE,
        jmp::JNE => jmp::JEQ,
        other => other,
    }
}
