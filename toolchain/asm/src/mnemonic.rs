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

/// The class of rows whose code is a whole opcode.
const WHOLE: u8 = 0;

/// Builds the table from groups of rows that differ only in some opcode
/// bits (the class, or the size of a load or store) and name suffix:
/// `[BITS => "suffix", ...] { "name" code, Shape .field(value)...; }`
/// gives, for each `BITS` in turn, every row of the group with the name
/// `name` + suffix and the opcode `BITS | code`, so the 64-bit and 32-bit
/// forms of an operation, or the four sizes of a load, are written once.
macro_rules! table {
    (@rows [$($row:expr,)*]) => { &[$($row,)*] };
    // A group with all its bits done: the next group.
    (@rows [$($row:expr,)*] [] { $($done:tt)* } $($rest:tt)*) => { table!(@rows [$($row,)*] $($rest)*) };
    // The group's rows with its first bits, then with the others.
    (@rows [$($row:expr,)*] [$class:expr => $suffix:literal $(, $classes:expr => $suffixes:literal)*] {
        $($name:literal $code:expr, $shape:ident $(.$field:ident($value:expr))*;)*
    } $($rest:tt)*) => {
        table!(@rows [
            $($row,)*
            $(Mnemonic::new(concat!($name, $suffix), $class | $code, $shape)$(.$field($value))*,)*
        ] [$($classes => $suffixes),*] { $($name $code, $shape $(.$field($value))*;)* } $($rest)*)
    };
    ($($groups:tt)*) => { table!(@rows [] $($groups)*) };
}

/// Every instruction with a text form. Canonical rows come first; aliases
/// (`swap16`, `call helper`, `lock fetch xchg`) after the row they alias.
pub(super) static MNEMONICS: &[Mnemonic] = table! {
    // ALU64 and ALU (RFC 9669 §4.1).
    [ALU64 => "", ALU32 => "32"] {
        "add" alu::ADD, Alu;
        "sub" alu::SUB, Alu;
        "mul" alu::MUL, Alu;
        "div" alu::DIV, Alu;
        "sdiv" alu::DIV, Alu.off(1);
        "or" alu::OR, Alu;
        "and" alu::AND, Alu;
        "lsh" alu::LSH, Alu;
        "rsh" alu::RSH, Alu;
        "neg" alu::NEG, AluUnary;
        "mod" alu::MOD, Alu;
        "smod" alu::MOD, Alu.off(1);
        "xor" alu::XOR, Alu;
        "mov" alu::MOV, Alu;
        "arsh" alu::ARSH, Alu;
    }
    [MOVSX64 => "64", MOVSX32 => "32"] {
        "movsx8" 0, AluReg.off(8);
        "movsx16" 0, AluReg.off(16);
    }
    [MOVSX64 => "64"] {
        "movsx32" 0, AluReg.off(32);
    }
    // Byte swaps (RFC 9669 §4.2); 64-bit immediate loads (RFC 9669 §5.4)
    // and the Femto-Container section-relative forms.
    [WHOLE => ""] {
        "le16" LE, AluUnary.imm(16);
        "le32" LE, AluUnary.imm(32);
        "le64" LE, AluUnary.imm(64);
        "be16" BE, AluUnary.imm(16);
        "be32" BE, AluUnary.imm(32);
        "be64" BE, AluUnary.imm(64);
        "bswap16" BSWAP, AluUnary.imm(16);
        "bswap32" BSWAP, AluUnary.imm(32);
        "bswap64" BSWAP, AluUnary.imm(64);
        "lddw" op::LDDW, Wide;
        "lddwd" op::LDDW_DATA, Wide;
        "lddwr" op::LDDW_RODATA, Wide;
    }
    // Loads and stores (RFC 9669 §5.1, §5.2), size by size; no 64-bit
    // sign-extending load.
    [size::B => "b", size::H => "h", size::W => "w", size::DW => "dw"] {
        "ldx" LDX, Load;
        "st" ST, StoreImm;
        "stx" STX, StoreReg;
    }
    [size::B => "b", size::H => "h", size::W => "w"] {
        "ldxs" LDXS, Load;
    }
    // Atomics (RFC 9669 §5.3).
    [ATOMIC64 => "", ATOMIC32 => "32"] {
        "lock add" 0, StoreReg.imm(atomic::ADD);
        "lock or" 0, StoreReg.imm(atomic::OR);
        "lock and" 0, StoreReg.imm(atomic::AND);
        "lock xor" 0, StoreReg.imm(atomic::XOR);
        "lock fetch add" 0, StoreReg.imm(atomic::ADD | atomic::FETCH);
        "lock fetch or" 0, StoreReg.imm(atomic::OR | atomic::FETCH);
        "lock fetch and" 0, StoreReg.imm(atomic::AND | atomic::FETCH);
        "lock fetch xor" 0, StoreReg.imm(atomic::XOR | atomic::FETCH);
        "lock xchg" 0, StoreReg.imm(atomic::XCHG);
        "lock cmpxchg" 0, StoreReg.imm(atomic::CMPXCHG);
    }
    // Jumps (RFC 9669 §4.3).
    [JMP64 => "", JMP32 => "32"] {
        "jeq" jmp::JEQ, Branch;
        "jgt" jmp::JGT, Branch;
        "jge" jmp::JGE, Branch;
        "jset" jmp::JSET, Branch;
        "jne" jmp::JNE, Branch;
        "jsgt" jmp::JSGT, Branch;
        "jsge" jmp::JSGE, Branch;
        "jlt" jmp::JLT, Branch;
        "jle" jmp::JLE, Branch;
        "jslt" jmp::JSLT, Branch;
        "jsle" jmp::JSLE, Branch;
    }
    [WHOLE => ""] {
        "ja" op::JA, Jump;
        "ja32" op::JA32, JumpWide;
        "call" op::CALL, Call.src(call::HELPER);
        "call local" op::CALL, JumpWide.src(call::LOCAL);
        "exit" op::EXIT, Bare;
    }
    // Aliases, accepted by the assembler and never printed.
    [WHOLE => ""] {
        "swap16" BSWAP, AluUnary.imm(16);
        "swap32" BSWAP, AluUnary.imm(32);
        "swap64" BSWAP, AluUnary.imm(64);
        "call helper" op::CALL, Call.src(call::HELPER);
    }
    [ATOMIC64 => "", ATOMIC32 => "32"] {
        "lock fetch xchg" 0, StoreReg.imm(atomic::XCHG);
        "lock fetch cmpxchg" 0, StoreReg.imm(atomic::CMPXCHG);
    }
};
