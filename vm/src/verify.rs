//! The preflight verifier: run once at load time, before any execution.
//!
//! # Guarantee
//! When [`verify`] returns a [`Program`], running it with
//! [`crate::interp::run`] cannot panic and cannot reach memory outside the
//! regions the host maps: every slot holds a known opcode with valid
//! registers and zero reserved fields, `r10` is never written, every jump
//! and local call lands on an instruction start inside the program (never on
//! the second slot of an `LDDW`), every helper `call` names an allowed
//! helper, and the last instruction is an unconditional `exit` or jump, so
//! control never falls off the end. Memory accesses, the instruction budget,
//! the call depth and `callx` targets are checked at run time.
//!
//! The rules, each with its [`VerifyErrorKind`], are listed in `docs/isa.md`.

use core::fmt;

use crate::helper::HelperSet;
use crate::isa::{self, alu, atomic, class, jmp, mode, op, size, source, Insn, FRAME_REG, INSN_SIZE};

/// Largest program accepted, in slots. Keeps every pc and jump target in
/// `u16` range for compact pre-decoded forms.
pub const MAX_SLOTS: usize = 1 << 16;

/// An instruction field, named in [`VerifyErrorKind::ReservedField`] and
/// [`VerifyErrorKind::InvalidField`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Dst,
    Src,
    Offset,
    Imm,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Dst => "dst register",
            Field::Src => "src register",
            Field::Offset => "offset",
            Field::Imm => "immediate",
        })
    }
}

/// What rule a program broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyErrorKind {
    /// The byte length is not a multiple of 8.
    LengthNotMultipleOf8 { len: usize },
    /// The program has no instruction.
    Empty,
    /// More than [`MAX_SLOTS`] slots.
    TooLong { slots: usize },
    /// The opcode is not part of the supported ISA.
    UnknownOpcode { opcode: u8 },
    /// A register number above 10.
    InvalidRegister { reg: u8 },
    /// The instruction would write the read-only frame pointer `r10`.
    FrameRegisterWrite,
    /// A field this instruction does not use is not zero.
    ReservedField(Field),
    /// A field holds a value this instruction does not define (for example
    /// an endianness width other than 16/32/64, or an unknown atomic op).
    InvalidField(Field),
    /// A jump or local call lands outside the program.
    JumpOutOfBounds { target: i64 },
    /// A jump or local call lands on the second slot of an `LDDW`.
    JumpIntoLddw { target: usize },
    /// An `LDDW` in the last slot has no second slot.
    IncompleteLddw,
    /// The second slot of an `LDDW` is not opcode 0 with zero registers and
    /// offset.
    MalformedLddw,
    /// A `call` names a helper the host does not allow.
    HelperNotAllowed { id: u32 },
    /// The last instruction is not `exit` or an unconditional jump.
    FallsOffEnd,
    /// An entry point is not an instruction start inside the program.
    BadEntry,
}

/// A verification failure at instruction (slot) index `pc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub pc: usize,
    pub kind: VerifyErrorKind,
}

impl fmt::Display for VerifyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VerifyErrorKind::LengthNotMultipleOf8 { len } => {
                write!(f, "program length {len} is not a multiple of {INSN_SIZE}")
            }
            VerifyErrorKind::Empty => f.write_str("empty program"),
            VerifyErrorKind::TooLong { slots } => write!(f, "{slots} instructions exceed the limit of {MAX_SLOTS}"),
            VerifyErrorKind::UnknownOpcode { opcode } => write!(f, "unknown opcode {opcode:#04x}"),
            VerifyErrorKind::InvalidRegister { reg } => write!(f, "invalid register r{reg}"),
            VerifyErrorKind::FrameRegisterWrite => f.write_str("write to read-only frame pointer r10"),
            VerifyErrorKind::ReservedField(field) => write!(f, "unused {field} is not zero"),
            VerifyErrorKind::InvalidField(field) => write!(f, "invalid {field}"),
            VerifyErrorKind::JumpOutOfBounds { target } => write!(f, "jump target {target} is outside the program"),
            VerifyErrorKind::JumpIntoLddw { target } => {
                write!(f, "jump target {target} is the second slot of an lddw")
            }
            VerifyErrorKind::IncompleteLddw => f.write_str("lddw is missing its second slot"),
            VerifyErrorKind::MalformedLddw => f.write_str("malformed second slot of lddw"),
            VerifyErrorKind::HelperNotAllowed { id } => write!(f, "call to helper {id:#x} which is not allowed"),
            VerifyErrorKind::FallsOffEnd => f.write_str("last instruction is not exit or an unconditional jump"),
            VerifyErrorKind::BadEntry => f.write_str("entry point is not an instruction start"),
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instruction {}: {}", self.pc, self.kind)
    }
}

impl core::error::Error for VerifyError {}

/// A program that passed [`verify`]. Cheap to copy; borrows the bytecode.
#[derive(Clone, Copy, Debug)]
pub struct Program<'a> {
    code: &'a [u8],
    frame_size: u32,
}

/// A checked entry point of a [`Program`] (an instruction index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry(pub(crate) usize);

impl Entry {
    /// The instruction index.
    pub const fn pc(self) -> usize {
        self.0
    }
}

impl<'a> Program<'a> {
    /// The verified bytecode.
    pub const fn code(&self) -> &'a [u8] {
        self.code
    }

    /// Number of 8-byte slots.
    pub const fn slots(&self) -> usize {
        self.code.len() / INSN_SIZE
    }

    /// Bytes of stack each call frame reserves: a local call moves `r10`
    /// down by this much. See `docs/isa.md`, "Local calls".
    pub const fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// The first instruction.
    pub const fn main(&self) -> Entry {
        Entry(0)
    }

    /// Checks that `pc` may start a run (for containers with several entry
    /// points).
    ///
    /// # Errors
    /// [`VerifyErrorKind::BadEntry`] when `pc` is outside the program or is
    /// the second slot of an `LDDW`.
    pub fn entry(&self, pc: usize) -> Result<Entry, VerifyError> {
        if pc >= self.slots() || lands_in_lddw(self.code, pc) {
            return Err(VerifyError { pc, kind: VerifyErrorKind::BadEntry });
        }
        Ok(Entry(pc))
    }
}

/// True when slot `target` is the second half of an `LDDW`. The verifier
/// rejects opcode 0 everywhere except directly after a wide opcode, so a
/// wide opcode in slot `target - 1` is always a first half.
fn lands_in_lddw(code: &[u8], target: usize) -> bool {
    target > 0 && matches!(Insn::at(code, target - 1), Some(i) if op::is_wide(i.opc))
}

/// Verifies `code`, allowing helper calls to the ids in `helpers`.
///
/// # Errors
/// The first rule broken, with its instruction index.
pub fn verify<'a, S: HelperSet + ?Sized>(code: &'a [u8], helpers: &S) -> Result<Program<'a>, VerifyError> {
    if code.len() % INSN_SIZE != 0 {
        return Err(VerifyError {
            pc: code.len() / INSN_SIZE,
            kind: VerifyErrorKind::LengthNotMultipleOf8 { len: code.len() },
        });
    }
    let slots = code.len() / INSN_SIZE;
    if slots == 0 {
        return Err(VerifyError { pc: 0, kind: VerifyErrorKind::Empty });
    }
    if slots > MAX_SLOTS {
        return Err(VerifyError { pc: MAX_SLOTS, kind: VerifyErrorKind::TooLong { slots } });
    }

    let mut frame = FrameTracker::new();
    let mut pc = 0;
    let mut last = Insn::default();
    while let Some(insn) = Insn::at(code, pc) {
        let err = |kind| VerifyError { pc, kind };
        check_insn(code, pc, &insn, helpers).map_err(err)?;
        frame.observe(&insn);
        last = insn;
        pc += if op::is_wide(insn.opc) { 2 } else { 1 };
    }
    let last_pc = slots - 1;
    let ends = matches!(last.opc, op::EXIT | op::JA | op::JA32);
    if !ends || op::is_wide(last.opc) {
        return Err(VerifyError { pc: last_pc, kind: VerifyErrorKind::FallsOffEnd });
    }
    Ok(Program { code, frame_size: frame.frame_size() })
}

fn reg(r: u8) -> Result<(), VerifyErrorKind> {
    if r as usize > FRAME_REG as usize {
        Err(VerifyErrorKind::InvalidRegister { reg: r })
    } else {
        Ok(())
    }
}

fn writable(r: u8) -> Result<(), VerifyErrorKind> {
    reg(r)?;
    if r == FRAME_REG {
        Err(VerifyErrorKind::FrameRegisterWrite)
    } else {
        Ok(())
    }
}

fn zero(value: i64, field: Field) -> Result<(), VerifyErrorKind> {
    if value != 0 {
        Err(VerifyErrorKind::ReservedField(field))
    } else {
        Ok(())
    }
}

fn jump_target(code: &[u8], pc: usize, rel: i64) -> Result<(), VerifyErrorKind> {
    let target = pc as i64 + 1 + rel;
    let slots = (code.len() / INSN_SIZE) as i64;
    if !(0..slots).contains(&target) {
        return Err(VerifyErrorKind::JumpOutOfBounds { target });
    }
    if lands_in_lddw(code, target as usize) {
        return Err(VerifyErrorKind::JumpIntoLddw { target: target as usize });
    }
    Ok(())
}

fn check_insn<S: HelperSet + ?Sized>(code: &[u8], pc: usize, insn: &Insn, helpers: &S) -> Result<(), VerifyErrorKind> {
    let unknown = Err(VerifyErrorKind::UnknownOpcode { opcode: insn.opc });
    let (dst, src, off, imm) = (insn.dst, insn.src, insn.off as i64, insn.imm as i64);
    reg(dst)?;
    reg(src)?;
    match insn.class() {
        class::ALU | class::ALU64 => {
            let is64 = insn.class() == class::ALU64;
            let op = insn.opc & alu::MASK;
            let by_reg = insn.opc & source::MASK == source::X;
            writable(dst)?;
            match op {
                alu::NEG => {
                    if by_reg {
                        return unknown;
                    }
                    zero(src as i64, Field::Src)?;
                    zero(off, Field::Offset)?;
                    zero(imm, Field::Imm)?;
                }
                alu::END => {
                    // ALU64 | END | X is not defined (bswap has no "to BE" form).
                    if is64 && by_reg {
                        return unknown;
                    }
                    zero(src as i64, Field::Src)?;
                    zero(off, Field::Offset)?;
                    if !matches!(imm, 16 | 32 | 64) {
                        return Err(VerifyErrorKind::InvalidField(Field::Imm));
                    }
                }
                alu::ADD
                | alu::SUB
                | alu::MUL
                | alu::DIV
                | alu::OR
                | alu::AND
                | alu::LSH
                | alu::RSH
                | alu::MOD
                | alu::XOR
                | alu::MOV
                | alu::ARSH => {
                    if by_reg {
                        zero(imm, Field::Imm)?;
                    } else {
                        zero(src as i64, Field::Src)?;
                    }
                    let off_ok = match op {
                        alu::DIV | alu::MOD => off == 0 || off == 1,
                        alu::MOV if by_reg => matches!(off, 0 | 8 | 16) || (is64 && off == 32),
                        _ => off == 0,
                    };
                    if !off_ok {
                        return Err(if matches!(op, alu::DIV | alu::MOD) || (op == alu::MOV && by_reg) {
                            VerifyErrorKind::InvalidField(Field::Offset)
                        } else {
                            VerifyErrorKind::ReservedField(Field::Offset)
                        });
                    }
                }
                _ => return unknown,
            }
        }
        class::JMP | class::JMP32 => {
            let is32 = insn.class() == class::JMP32;
            let op = insn.opc & jmp::MASK;
            let by_reg = insn.opc & source::MASK == source::X;
            match op {
                jmp::JA => {
                    if by_reg {
                        return unknown;
                    }
                    zero(dst as i64, Field::Dst)?;
                    zero(src as i64, Field::Src)?;
                    if is32 {
                        zero(off, Field::Offset)?;
                        jump_target(code, pc, imm)?;
                    } else {
                        zero(imm, Field::Imm)?;
                        jump_target(code, pc, off)?;
                    }
                }
                jmp::CALL => {
                    if is32 {
                        return unknown;
                    }
                    zero(off, Field::Offset)?;
                    if by_reg {
                        // callx: helper id in dst, checked at run time.
                        zero(src as i64, Field::Src)?;
                        zero(imm, Field::Imm)?;
                    } else {
                        zero(dst as i64, Field::Dst)?;
                        match src {
                            isa::call::HELPER => {
                                let id = insn.imm as u32;
                                if !helpers.contains(id) {
                                    return Err(VerifyErrorKind::HelperNotAllowed { id });
                                }
                            }
                            isa::call::LOCAL => jump_target(code, pc, imm)?,
                            _ => return Err(VerifyErrorKind::InvalidField(Field::Src)),
                        }
                    }
                }
                jmp::EXIT => {
                    if is32 || by_reg {
                        return unknown;
                    }
                    zero(dst as i64, Field::Dst)?;
                    zero(src as i64, Field::Src)?;
                    zero(off, Field::Offset)?;
                    zero(imm, Field::Imm)?;
                }
                jmp::JEQ
                | jmp::JGT
                | jmp::JGE
                | jmp::JSET
                | jmp::JNE
                | jmp::JSGT
                | jmp::JSGE
                | jmp::JLT
                | jmp::JLE
                | jmp::JSLT
                | jmp::JSLE => {
                    if by_reg {
                        zero(imm, Field::Imm)?;
                    } else {
                        zero(src as i64, Field::Src)?;
                    }
                    jump_target(code, pc, off)?;
                }
                _ => return unknown,
            }
        }
        class::LD => {
            if !op::is_wide(insn.opc) {
                return unknown;
            }
            writable(dst)?;
            if insn.opc == op::LDDW && src != isa::lddw::IMM64 {
                return Err(VerifyErrorKind::InvalidField(Field::Src));
            }
            zero(src as i64, Field::Src)?;
            zero(off, Field::Offset)?;
            let second = match Insn::at(code, pc + 1) {
                Some(i) => i,
                None => return Err(VerifyErrorKind::IncompleteLddw),
            };
            if second.opc != 0 || second.dst != 0 || second.src != 0 || second.off != 0 {
                return Err(VerifyErrorKind::MalformedLddw);
            }
        }
        class::LDX => {
            let m = insn.opc & mode::MASK;
            let sz = insn.opc & size::MASK;
            match m {
                mode::MEM => {}
                mode::MEMSX if sz != size::DW => {}
                _ => return unknown,
            }
            writable(dst)?;
            zero(imm, Field::Imm)?;
        }
        class::ST => {
            if insn.opc & mode::MASK != mode::MEM {
                return unknown;
            }
            zero(src as i64, Field::Src)?;
        }
        class::STX => {
            let sz = insn.opc & size::MASK;
            match insn.opc & mode::MASK {
                mode::MEM => zero(imm, Field::Imm)?,
                mode::ATOMIC if sz == size::W || sz == size::DW => {
                    let a = insn.imm;
                    let base = a & !atomic::FETCH;
                    let ok = matches!(base, atomic::ADD | atomic::OR | atomic::AND | atomic::XOR)
                        || a == atomic::XCHG
                        || a == atomic::CMPXCHG;
                    if !ok {
                        return Err(VerifyErrorKind::InvalidField(Field::Imm));
                    }
                    if a == atomic::CMPXCHG {
                        // r0 receives the old value; r0 is always writable.
                    } else if a & atomic::FETCH != 0 {
                        writable(src)?;
                    }
                }
                _ => return unknown,
            }
        }
        _ => return unknown,
    }
    Ok(())
}

/// Estimates how much stack one call frame uses: the deepest offset below
/// `r10` reached by a load or store whose address is `r10 + const`, either
/// directly (`[r10 - 8]`) or through a copy made in the same straight-line
/// code (`mov r1, r10; add r1, -16`, as compilers emit for `&local`).
///
/// The estimate only decides where a local call's frame starts; it has no
/// bearing on memory safety, which the region checks provide.
struct FrameTracker {
    /// `Some(k)` when register `i` is known to hold `r10 + k`.
    copies: [Option<i64>; isa::REG_COUNT],
    deepest: i64,
}

impl FrameTracker {
    fn new() -> Self {
        let mut copies = [None; isa::REG_COUNT];
        copies[FRAME_REG as usize] = Some(0);
        FrameTracker { copies, deepest: 0 }
    }

    fn note(&mut self, depth: i64) {
        if depth < 0 {
            self.deepest = self.deepest.max(-depth);
        }
    }

    fn observe(&mut self, insn: &Insn) {
        let (dst, src) = (insn.dst as usize, insn.src as usize);
        let (off, imm) = (insn.off as i64, insn.imm as i64);
        let base = |r: usize| self.copies.get(r).copied().flatten();
        match insn.class() {
            class::LDX => {
                if let Some(k) = base(src) {
                    self.note(k + off);
                }
                self.set(dst, None);
            }
            class::ST | class::STX => {
                if let Some(k) = base(dst) {
                    self.note(k + off);
                }
                if insn.class() == class::STX && insn.opc & mode::MASK == mode::ATOMIC {
                    if insn.imm == atomic::CMPXCHG {
                        self.set(0, None);
                    } else if insn.imm & atomic::FETCH != 0 {
                        self.set(src, None);
                    }
                }
            }
            class::ALU64 if insn.opc == class::ALU64 | alu::MOV | source::X && insn.off == 0 => {
                let v = base(src);
                self.set(dst, v);
            }
            class::ALU64 if insn.opc == class::ALU64 | alu::ADD | source::K => {
                let v = base(dst).map(|k| k + imm);
                if let Some(k) = v {
                    self.note(k);
                }
                self.set(dst, v);
            }
            class::ALU64 if insn.opc == class::ALU64 | alu::SUB | source::K => {
                let v = base(dst).map(|k| k - imm);
                if let Some(k) = v {
                    self.note(k);
                }
                self.set(dst, v);
            }
            class::ALU | class::ALU64 | class::LD => self.set(dst, None),
            class::JMP | class::JMP32 => {
                // End of straight-line code: forget all copies.
                *self = FrameTracker { deepest: self.deepest, ..FrameTracker::new() };
            }
            _ => {}
        }
    }

    fn set(&mut self, r: usize, v: Option<i64>) {
        if r < FRAME_REG as usize {
            self.copies[r] = v;
        }
    }

    fn frame_size(&self) -> u32 {
        let rounded = (self.deepest + 7) & !7;
        rounded.clamp(0, u32::MAX as i64) as u32
    }
}
