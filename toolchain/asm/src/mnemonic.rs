//! The mnemonic table: one row per instruction form, read by the assembler
//! (name → encoding) and by the disassembler (encoding → name), so the two
//! directions cannot drift apart.
//!
//! A row fixes the opcode and the value of every field its operands do not
//! fill; [`Shape`] says which fields the operands fill. An instruction has a
//! text form exactly when some row [`Mnemonic::matches`] it.

use alkyl_vm::isa::{alu, atomic, call, class, jmp, mode, op, size, source, Insn, REG_COUNT};

/// How the operands of an instruction map onto its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// `op %dst, %src` or `op %dst, imm`: the operand picks the source bit.
    Alu,
    /// `op %dst, %src`, register only (`movsx*`).
    AluReg,
    /// `op %dst` (`neg`, byte swaps).
    AluUnary,
    /// `lddw %dst, imm64`, two slots.
    Wide,
    /// `ldx %dst, [%src+off]`.
    Load,
    /// `st [%dst+off], imm`.
    StoreImm,
    /// `stx [%dst+off], %src`, and the atomics.
    StoreReg,
    /// `ja target`, 16-bit offset.
    Jump,
    /// `ja32 target` and `call local target`, 32-bit offset in `imm`.
    JumpWide,
    /// `jeq %dst, %src|imm, target`.
    Branch,
    /// `call imm` (helper) or `call %dst` (`callx`).
    Call,
    /// `exit`.
    Bare,
}

/// Which instruction fields the operands fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fields {
    pub dst: bool,
    pub src: bool,
    pub off: bool,
    pub imm: bool,
}

impl Shape {
    /// Number of comma-separated operands.
    pub const fn arity(self) -> usize {
        match self {
            Shape::Bare => 0,
            Shape::AluUnary | Shape::Jump | Shape::JumpWide | Shape::Call => 1,
            Shape::Branch => 3,
            _ => 2,
        }
    }

    /// True when the opcode's source bit is chosen by an operand (register
    /// or immediate) rather than fixed by the row.
    pub const fn picks_source(self) -> bool {
        matches!(self, Shape::Alu | Shape::Branch | Shape::Call)
    }

    /// The fields filled by operands, given the source bit (`reg_source`).
    pub const fn fields(self, reg_source: bool) -> Fields {
        let (dst, src, off, imm) = match self {
            Shape::Alu => (true, reg_source, false, !reg_source),
            Shape::AluReg => (true, true, false, false),
            Shape::AluUnary => (true, false, false, false),
            Shape::Wide => (true, false, false, true),
            Shape::Load | Shape::StoreReg => (true, true, true, false),
            Shape::StoreImm => (true, false, true, true),
            Shape::Jump => (false, false, true, false),
            Shape::JumpWide => (false, false, false, true),
            Shape::Branch => (true, reg_source, true, !reg_source),
            Shape::Call => (reg_source, false, false, !reg_source),
            Shape::Bare => (false, false, false, false),
        };
        Fields { dst, src, off, imm }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Mnemonic {
    /// Text form; atomics and local calls are several words (`lock fetch add`).
    pub name: &'static str,
    /// Opcode; for shapes that [pick the source](Shape::picks_source), the
    /// immediate (`K`) form.
    pub opc: u8,
    pub shape: Shape,
    /// Value of `src` when no operand fills it.
    pub src: u8,
    /// Value of `off` when no operand fills it.
    pub off: i16,
    /// Value of `imm` when no operand fills it.
    pub imm: i32,
}

impl Mnemonic {
    const fn new(name: &'static str, opc: u8, shape: Shape) -> Mnemonic {
        Mnemonic { name, opc, shape, src: 0, off: 0, imm: 0 }
    }

    const fn off(self, off: i16) -> Mnemonic {
        Mnemonic { off, ..self }
    }

    const fn imm(self, imm: i32) -> Mnemonic {
        Mnemonic { imm, ..self }
    }

    const fn src(self, src: u8) -> Mnemonic {
        Mnemonic { src, ..self }
    }

    /// The instruction with every fixed field set and operand fields zero.
    pub const fn base(&self, reg_source: bool) -> Insn {
        let opc = if reg_source && self.shape.picks_source() { self.opc | source::X } else { self.opc };
        Insn::new(opc, 0, self.src, self.off, self.imm)
    }

    /// True when `insn` (the first slot, for wide rows) is this row: the
    /// opcode and every fixed field are equal, and every register an
    /// operand fills is `r0`..`r10`.
    pub fn matches(&self, insn: &Insn) -> bool {
        let reg_source = self.shape.picks_source() && insn.opc & source::X != 0;
        if self.base(reg_source).opc != insn.opc {
            return false;
        }
        let used = self.shape.fields(reg_source);
        let reg_ok = |value: u8, used: bool, fixed: u8| {
            if used {
                usize::from(value) < REG_COUNT
            } else {
                value == fixed
            }
        };
        reg_ok(insn.dst, used.dst, 0)
            && reg_ok(insn.src, used.src, self.src)
            && (used.off || insn.off == self.off)
            && (used.imm || insn.imm == self.imm)
    }
}

/// The row named `words` (the leading words of a line), if any.
pub(super) fn by_words<'a>(words: impl Iterator<Item = &'a str> + Clone) -> Option<&'static Mnemonic> {
    MNEMONICS.iter().find(|m| m.name.split(' ').eq(words.clone()))
}

/// The canonical row of `insn`: the first that matches it. Rows that are
/// aliases come after the row they alias, so they are never chosen here.
pub(super) fn by_insn(insn: &Insn) -> Option<&'static Mnemonic> {
    MNEMONICS.iter().find(|m| m.matches(insn))
}

/// True when `next` can be the second slot of a wide (`lddw`) instruction:
/// everything but `imm` is zero.
pub(super) const fn is_wide_tail(next: &Insn) -> bool {
    next.opc == 0 && next.dst == 0 && next.src == 0 && next.off == 0
}

use Shape::*;

const ALU64: u8 = class::ALU64;
const ALU32: u8 = class::ALU;
const JMP64: u8 = class::JMP;
const JMP32: u8 = class::JMP32;
const LDX: u8 = class::LDX | mode::MEM;
const LDXS: u8 = class::LDX | mode::MEMSX;
const ST: u8 = class::ST | mode::MEM;
const STX: u8 = class::STX | mode::MEM;
const ATOMIC64: u8 = class::STX | mode::ATOMIC | size::DW;
const ATOMIC32: u8 = class::STX | mode::ATOMIC | size::W;
const MOVSX64: u8 = ALU64 | alu::MOV | source::X;
const MOVSX32: u8 = ALU32 | alu::MOV | source::X;
/// `le` is the `END` operation with the source bit clear, `be` with it set;
/// in ALU64 the clear form is the unconditional `bswap`.
const LE: u8 = ALU32 | alu::END | source::K;
const BE: u8 = ALU32 | alu::END | source::X;
const BSWAP: u8 = ALU64 | alu::END | source::K;

/// Every instruction with a text form. Canonical rows come first; aliases
/// (`swap16`, `call helper`, `lock fetch xchg`) after the row they alias.
#[rustfmt::skip]
pub(super) static MNEMONICS: &[Mnemonic] = &[
    // ALU64 and ALU (RFC 9669 §4.1).
    Mnemonic::new("add", ALU64 | alu::ADD, Alu),
    Mnemonic::new("sub", ALU64 | alu::SUB, Alu),
    Mnemonic::new("mul", ALU64 | alu::MUL, Alu),
    Mnemonic::new("div", ALU64 | alu::DIV, Alu),
    Mnemonic::new("sdiv", ALU64 | alu::DIV, Alu).off(1),
    Mnemonic::new("or", ALU64 | alu::OR, Alu),
    Mnemonic::new("and", ALU64 | alu::AND, Alu),
    Mnemonic::new("lsh", ALU64 | alu::LSH, Alu),
    Mnemonic::new("rsh", ALU64 | alu::RSH, Alu),
    Mnemonic::new("neg", ALU64 | alu::NEG, AluUnary),
    Mnemonic::new("mod", ALU64 | alu::MOD, Alu),
    Mnemonic::new("smod", ALU64 | alu::MOD, Alu).off(1),
    Mnemonic::new("xor", ALU64 | alu::XOR, Alu),
    Mnemonic::new("mov", ALU64 | alu::MOV, Alu),
    Mnemonic::new("movsx864", MOVSX64, AluReg).off(8),
    Mnemonic::new("movsx1664", MOVSX64, AluReg).off(16),
    Mnemonic::new("movsx3264", MOVSX64, AluReg).off(32),
    Mnemonic::new("arsh", ALU64 | alu::ARSH, Alu),
    Mnemonic::new("add32", ALU32 | alu::ADD, Alu),
    Mnemonic::new("sub32", ALU32 | alu::SUB, Alu),
    Mnemonic::new("mul32", ALU32 | alu::MUL, Alu),
    Mnemonic::new("div32", ALU32 | alu::DIV, Alu),
    Mnemonic::new("sdiv32", ALU32 | alu::DIV, Alu).off(1),
    Mnemonic::new("or32", ALU32 | alu::OR, Alu),
    Mnemonic::new("and32", ALU32 | alu::AND, Alu),
    Mnemonic::new("lsh32", ALU32 | alu::LSH, Alu),
    Mnemonic::new("rsh32", ALU32 | alu::RSH, Alu),
    Mnemonic::new("neg32", ALU32 | alu::NEG, AluUnary),
    Mnemonic::new("mod32", ALU32 | alu::MOD, Alu),
    Mnemonic::new("smod32", ALU32 | alu::MOD, Alu).off(1),
    Mnemonic::new("xor32", ALU32 | alu::XOR, Alu),
    Mnemonic::new("mov32", ALU32 | alu::MOV, Alu),
    Mnemonic::new("movsx832", MOVSX32, AluReg).off(8),
    Mnemonic::new("movsx1632", MOVSX32, AluReg).off(16),
    Mnemonic::new("arsh32", ALU32 | alu::ARSH, Alu),
    // Byte swaps (RFC 9669 §4.2).
    Mnemonic::new("le16", LE, AluUnary).imm(16),
    Mnemonic::new("le32", LE, AluUnary).imm(32),
    Mnemonic::new("le64", LE, AluUnary).imm(64),
    Mnemonic::new("be16", BE, AluUnary).imm(16),
    Mnemonic::new("be32", BE, AluUnary).imm(32),
    Mnemonic::new("be64", BE, AluUnary).imm(64),
    Mnemonic::new("bswap16", BSWAP, AluUnary).imm(16),
    Mnemonic::new("bswap32", BSWAP, AluUnary).imm(32),
    Mnemonic::new("bswap64", BSWAP, AluUnary).imm(64),
    // 64-bit immediate loads (RFC 9669 §5.4) and the Femto-Container
    // section-relative forms.
    Mnemonic::new("lddw", op::LDDW, Wide),
    Mnemonic::new("lddwd", op::LDDW_DATA, Wide),
    Mnemonic::new("lddwr", op::LDDW_RODATA, Wide),
    // Loads and stores (RFC 9669 §5.1, §5.2).
    Mnemonic::new("ldxb", LDX | size::B, Load),
    Mnemonic::new("ldxh", LDX | size::H, Load),
    Mnemonic::new("ldxw", LDX | size::W, Load),
    Mnemonic::new("ldxdw", LDX | size::DW, Load),
    Mnemonic::new("ldxsb", LDXS | size::B, Load),
    Mnemonic::new("ldxsh", LDXS | size::H, Load),
    Mnemonic::new("ldxsw", LDXS | size::W, Load),
    Mnemonic::new("stb", ST | size::B, StoreImm),
    Mnemonic::new("sth", ST | size::H, StoreImm),
    Mnemonic::new("stw", ST | size::W, StoreImm),
    Mnemonic::new("stdw", ST | size::DW, StoreImm),
    Mnemonic::new("stxb", STX | size::B, StoreReg),
    Mnemonic::new("stxh", STX | size::H, StoreReg),
    Mnemonic::new("stxw", STX | size::W, StoreReg),
    Mnemonic::new("stxdw", STX | size::DW, StoreReg),
    // Atomics (RFC 9669 §5.3).
    Mnemonic::new("lock add", ATOMIC64, StoreReg).imm(atomic::ADD),
    Mnemonic::new("lock or", ATOMIC64, StoreReg).imm(atomic::OR),
    Mnemonic::new("lock and", ATOMIC64, StoreReg).imm(atomic::AND),
    Mnemonic::new("lock xor", ATOMIC64, StoreReg).imm(atomic::XOR),
    Mnemonic::new("lock fetch add", ATOMIC64, StoreReg).imm(atomic::ADD | atomic::FETCH),
    Mnemonic::new("lock fetch or", ATOMIC64, StoreReg).imm(atomic::OR | atomic::FETCH),
    Mnemonic::new("lock fetch and", ATOMIC64, StoreReg).imm(atomic::AND | atomic::FETCH),
    Mnemonic::new("lock fetch xor", ATOMIC64, StoreReg).imm(atomic::XOR | atomic::FETCH),
    Mnemonic::new("lock xchg", ATOMIC64, StoreReg).imm(atomic::XCHG),
    Mnemonic::new("lock cmpxchg", ATOMIC64, StoreReg).imm(atomic::CMPXCHG),
    Mnemonic::new("lock add32", ATOMIC32, StoreReg).imm(atomic::ADD),
    Mnemonic::new("lock or32", ATOMIC32, StoreReg).imm(atomic::OR),
    Mnemonic::new("lock and32", ATOMIC32, StoreReg).imm(atomic::AND),
    Mnemonic::new("lock xor32", ATOMIC32, StoreReg).imm(atomic::XOR),
    Mnemonic::new("lock fetch add32", ATOMIC32, StoreReg).imm(atomic::ADD | atomic::FETCH),
    Mnemonic::new("lock fetch or32", ATOMIC32, StoreReg).imm(atomic::OR | atomic::FETCH),
    Mnemonic::new("lock fetch and32", ATOMIC32, StoreReg).imm(atomic::AND | atomic::FETCH),
    Mnemonic::new("lock fetch xor32", ATOMIC32, StoreReg).imm(atomic::XOR | atomic::FETCH),
    Mnemonic::new("lock xchg32", ATOMIC32, StoreReg).imm(atomic::XCHG),
    Mnemonic::new("lock cmpxchg32", ATOMIC32, StoreReg).imm(atomic::CMPXCHG),
    // Jumps (RFC 9669 §4.3).
    Mnemonic::new("ja", op::JA, Jump),
    Mnemonic::new("jeq", JMP64 | jmp::JEQ, Branch),
    Mnemonic::new("jgt", JMP64 | jmp::JGT, Branch),
    Mnemonic::new("jge", JMP64 | jmp::JGE, Branch),
    Mnemonic::new("jset", JMP64 | jmp::JSET, Branch),
    Mnemonic::new("jne", JMP64 | jmp::JNE, Branch),
    Mnemonic::new("jsgt", JMP64 | jmp::JSGT, Branch),
    Mnemonic::new("jsge", JMP64 | jmp::JSGE, Branch),
    Mnemonic::new("jlt", JMP64 | jmp::JLT, Branch),
    Mnemonic::new("jle", JMP64 | jmp::JLE, Branch),
    Mnemonic::new("jslt", JMP64 | jmp::JSLT, Branch),
    Mnemonic::new("jsle", JMP64 | jmp::JSLE, Branch),
    Mnemonic::new("ja32", op::JA32, JumpWide),
    Mnemonic::new("jeq32", JMP32 | jmp::JEQ, Branch),
    Mnemonic::new("jgt32", JMP32 | jmp::JGT, Branch),
    Mnemonic::new("jge32", JMP32 | jmp::JGE, Branch),
    Mnemonic::new("jset32", JMP32 | jmp::JSET, Branch),
    Mnemonic::new("jne32", JMP32 | jmp::JNE, Branch),
    Mnemonic::new("jsgt32", JMP32 | jmp::JSGT, Branch),
    Mnemonic::new("jsge32", JMP32 | jmp::JSGE, Branch),
    Mnemonic::new("jlt32", JMP32 | jmp::JLT, Branch),
    Mnemonic::new("jle32", JMP32 | jmp::JLE, Branch),
    Mnemonic::new("jslt32", JMP32 | jmp::JSLT, Branch),
    Mnemonic::new("jsle32", JMP32 | jmp::JSLE, Branch),
    Mnemonic::new("call", op::CALL, Call).src(call::HELPER),
    Mnemonic::new("call local", op::CALL, JumpWide).src(call::LOCAL),
    Mnemonic::new("exit", op::EXIT, Bare),
    // Aliases, accepted by the assembler and never printed.
    Mnemonic::new("swap16", BSWAP, AluUnary).imm(16),
    Mnemonic::new("swap32", BSWAP, AluUnary).imm(32),
    Mnemonic::new("swap64", BSWAP, AluUnary).imm(64),
    Mnemonic::new("call helper", op::CALL, Call).src(call::HELPER),
    Mnemonic::new("lock fetch xchg", ATOMIC64, StoreReg).imm(atomic::XCHG),
    Mnemonic::new("lock fetch cmpxchg", ATOMIC64, StoreReg).imm(atomic::CMPXCHG),
    Mnemonic::new("lock fetch xchg32", ATOMIC32, StoreReg).imm(atomic::XCHG),
    Mnemonic::new("lock fetch cmpxchg32", ATOMIC32, StoreReg).imm(atomic::CMPXCHG),
];
