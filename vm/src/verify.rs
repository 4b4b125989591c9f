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

use crate::describe::{Describe, Hex, HexDigits, Sink};
use crate::helper::HelperSet;
use crate::isa::{self, alu, atomic, class, jmp, mode, op, size, slot_count, source, Insn, FRAME_REG, INSN_SIZE};

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

impl Describe for Field {
    fn describe(&self, out: &mut dyn Sink) {
        out.text(match self {
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
    /// A load or store at a statically known `r10`-relative offset (or an
    /// address computed from `r10` in straight-line code) reaches `depth`
    /// bytes below `r10`, deeper than the `stack_size` bytes the script
    /// declares ([`verify_stack`]).
    BelowStack { depth: u32, stack_size: u32 },
}

/// A verification failure at instruction (slot) index `pc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyError {
    pub pc: usize,
    pub kind: VerifyErrorKind,
}

impl Describe for VerifyErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match *self {
            VerifyErrorKind::LengthNotMultipleOf8 { len } => {
                ("program length ", len, " is not a multiple of ", INSN_SIZE).describe(out)
            }
            VerifyErrorKind::Empty => out.text("empty program"),
            VerifyErrorKind::TooLong { slots } => {
                (slots, " instructions exceed the limit of ", MAX_SLOTS).describe(out)
            }
            VerifyErrorKind::UnknownOpcode { opcode } => {
                ("unknown opcode 0x", HexDigits(opcode.into(), 2)).describe(out)
            }
            VerifyErrorKind::InvalidRegister { reg } => ("invalid register r", reg).describe(out),
            VerifyErrorKind::FrameRegisterWrite => out.text("write to read-only frame pointer r10"),
            VerifyErrorKind::ReservedField(field) => ("unused ", field, " is not zero").describe(out),
            VerifyErrorKind::InvalidField(field) => ("invalid ", field).describe(out),
            VerifyErrorKind::JumpOutOfBounds { target } => {
                ("jump target ", target, " is outside the program").describe(out)
            }
            VerifyErrorKind::JumpIntoLddw { target } => {
                ("jump target ", target, " is the second slot of an lddw").describe(out)
            }
            VerifyErrorKind::IncompleteLddw => out.text("lddw is missing its second slot"),
            VerifyErrorKind::MalformedLddw => out.text("malformed second slot of lddw"),
            VerifyErrorKind::HelperNotAllowed { id } => {
                ("call to helper ", Hex(id.into()), " which is not allowed").describe(out)
            }
            VerifyErrorKind::FallsOffEnd => out.text("last instruction is not exit or an unconditional jump"),
            VerifyErrorKind::BadEntry => out.text("entry point is not an instruction start"),
            VerifyErrorKind::BelowStack { depth, stack_size } => {
                ("stack access ", depth, " bytes below r10 exceeds the declared stack of ", stack_size, " bytes")
                    .describe(out)
            }
        }
    }
}

impl Describe for VerifyError {
    // One copy for every error that holds one (LTO would inline it into each).
    #[inline(never)]
    fn describe(&self, out: &mut dyn Sink) {
        ("instruction ", self.pc, ": ", self.kind).describe(out);
    }
}

crate::display_by_describe!(Field, VerifyErrorKind);
crate::error_by_describe!(VerifyError);

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
    /// `code` with the `frame_size` [`verify`] found for it: a program that
    /// already passed (kept by a [`crate::container::Script`] as offsets).
    pub(crate) const fn verified(code: &'a [u8], frame_size: u32) -> Program<'a> {
        Program { code, frame_size }
    }

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
    verify_stack(code, helpers, u32::MAX)
}

/// [`verify`] for a program that declares its stack: also rejects
/// ([`VerifyErrorKind::BelowStack`]) a load or store whose `r10`-relative
/// offset is known statically and reaches deeper than `stack_size` bytes
/// below `r10`, so that [`Program::frame_size`] `<= stack_size`. Accesses
/// through computed addresses stay checked at run time by the stack
/// region, which a host maps with exactly `stack_size` bytes
/// (`docs/isa.md`, "Stack size").
///
/// # Errors
/// As [`verify`], plus [`VerifyErrorKind::BelowStack`] at the first such
/// access.
pub fn verify_stack<'a, S: HelperSet + ?Sized>(
    code: &'a [u8],
    helpers: &S,
    stack_size: u32,
) -> Result<Program<'a>, VerifyError> {
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

    let mut frame = FrameTracker { copies: [UNKNOWN; isa::REG_COUNT], deepest: 0 };
    frame.forget();
    let mut pc = 0;
    let mut last = Insn::default();
    while let Some(insn) = Insn::at(code, pc) {
        let err = |kind| VerifyError { pc, kind };
        check_insn(code, pc, &insn, helpers).map_err(err)?;
        frame.observe(&insn);
        if frame.deepest > stack_size {
            return Err(err(VerifyErrorKind::BelowStack { depth: frame.deepest, stack_size }));
        }
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
    if r > FRAME_REG {
        Err(VerifyErrorKind::InvalidRegister { reg: r })
    } else {
        Ok(())
    }
}

fn writable(r: u8) -> Result<(), VerifyErrorKind> {
    if r == FRAME_REG {
        Err(VerifyErrorKind::FrameRegisterWrite)
    } else {
        Ok(())
    }
}

fn invalid(field: Field) -> Result<(), VerifyErrorKind> {
    Err(VerifyErrorKind::InvalidField(field))
}

fn jump_target(code: &[u8], pc: usize, rel: i64) -> Result<(), VerifyErrorKind> {
    let target = pc as i64 + 1 + rel;
    if !(0..slot_count(code) as i64).contains(&target) {
        return Err(VerifyErrorKind::JumpOutOfBounds { target });
    }
    if lands_in_lddw(code, target as usize) {
        return Err(VerifyErrorKind::JumpIntoLddw { target: target as usize });
    }
    Ok(())
}

/// What an opcode requires of its other fields: a small table, indexed by
/// [`rule`], of flags checked in a fixed order by [`check_insn`].
mod rules {
    /// The instruction writes `dst` (which must not be `r10`).
    pub const WRITES: u16 = 1 << 0;
    /// Fields that must be zero (checked in this order).
    pub const Z_DST: u16 = 1 << 1;
    pub const Z_SRC: u16 = 1 << 2;
    pub const Z_OFF: u16 = 1 << 3;
    pub const Z_IMM: u16 = 1 << 4;
    /// `imm` when the operand is a register, else `src`, must be zero.
    pub const Z_UNUSED: u16 = 1 << 5;
    /// Defined offsets: signed division (0, 1), sign-extending moves
    /// (0, 8, 16, and 32 for ALU64).
    pub const OFF_DIV: u16 = 1 << 6;
    pub const OFF_MOVSX: u16 = 1 << 7;
    pub const OFF_MOVSX64: u16 = 1 << 8;
    /// A jump by `off`, or by `imm`.
    pub const JUMP_OFF: u16 = 1 << 9;
    pub const JUMP_IMM: u16 = 1 << 10;
    /// Rules of their own: endianness width, call kind, `lddw`, atomics.
    pub const END: u16 = 1 << 11;
    pub const CALL: u16 = 1 << 12;
    pub const LDDW: u16 = 1 << 13;
    pub const ATOMIC: u16 = 1 << 14;

    pub const UNKNOWN: u16 = 0xffff;
    const ALU: u16 = WRITES | Z_UNUSED;
    /// Indexed by [`super::rule`]. Two rows depend on the class, which
    /// [`super::check_insn`] adjusts: the sign-extending move (ALU64 also
    /// allows offset 32) and `ja` (JMP32's `ja32` jumps by `imm` and needs
    /// `off` zero instead).
    pub const TABLE: [u16; 16] = [
        UNKNOWN,
        ALU | Z_OFF,                      // 1: ALU
        ALU | OFF_DIV,                    // 2: div, mod
        ALU | OFF_MOVSX,                  // 3: mov reg (ALU64: | OFF_MOVSX64)
        WRITES | Z_SRC | Z_OFF | Z_IMM,   // 4: neg
        WRITES | Z_SRC | Z_OFF | END,     // 5: endianness
        Z_DST | Z_SRC | Z_IMM | JUMP_OFF, // 6: ja (JMP32: Z_OFF, JUMP_IMM)
        Z_SRC | Z_OFF | Z_IMM,            // 7: callx
        Z_DST | Z_OFF | CALL,             // 8: call
        Z_DST | Z_SRC | Z_OFF | Z_IMM,    // 9: exit
        Z_UNUSED | JUMP_OFF,              // 10: conditional jump
        WRITES | Z_SRC | Z_OFF | LDDW,    // 11: lddw
        WRITES | Z_IMM,                   // 12: ldx
        Z_SRC,                            // 13: st
        Z_IMM,                            // 14: stx
        ATOMIC,                           // 15: atomics
    ];
}

/// The rule of every opcode, two to a byte, computed at compile time by
/// [`rule`] (128 bytes of table are smaller than the code that decides).
const RULES: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut i = 0;
    while i < 256 {
        t[i / 2] |= (rule(i as u8) as u8) << (4 * (i % 2));
        i += 1;
    }
    t
};

/// The rule (an index into [`rules::TABLE`], 0 for unknown opcodes) of
/// opcode `opc`.
const fn rule(opc: u8) -> usize {
    let op = opc & alu::MASK;
    let x = opc & source::MASK == source::X;
    let sz = opc & size::MASK;
    let m = opc & mode::MASK;
    match opc & class::MASK {
        c @ (class::ALU | class::ALU64) => match op {
            alu::NEG if !x => 4,
            alu::END if !(x && c == class::ALU64) => 5,
            alu::NEG | alu::END | 0xe0 | 0xf0 => 0,
            alu::DIV | alu::MOD => 2,
            alu::MOV if x => 3,
            _ => 1,
        },
        c @ (class::JMP | class::JMP32) => {
            let is32 = c == class::JMP32;
            match op {
                jmp::JA if !x => 6,
                jmp::CALL if !is32 && x => 7,
                jmp::CALL if !is32 => 8,
                jmp::EXIT if !is32 && !x => 9,
                jmp::JA | jmp::CALL | jmp::EXIT | 0xe0 | 0xf0 => 0,
                _ => 10,
            }
        }
        class::LD if op::is_wide(opc) => 11,
        class::LDX if m == mode::MEM || (m == mode::MEMSX && sz != size::DW) => 12,
        class::ST if m == mode::MEM => 13,
        class::STX if m == mode::MEM => 14,
        class::STX if m == mode::ATOMIC && (sz == size::W || sz == size::DW) => 15,
        _ => 0,
    }
}

fn check_insn<S: HelperSet + ?Sized>(code: &[u8], pc: usize, insn: &Insn, helpers: &S) -> Result<(), VerifyErrorKind> {
    use rules::*;
    let (dst, src, off, imm) = (insn.dst, insn.src, insn.off, insn.imm);
    reg(dst)?;
    reg(src)?;
    let index = (RULES[insn.opc as usize / 2] >> (4 * (insn.opc % 2))) & 0xf;
    let mut flags = TABLE[index as usize];
    if flags == UNKNOWN {
        return Err(VerifyErrorKind::UnknownOpcode { opcode: insn.opc });
    }
    match (index, insn.class()) {
        (3, class::ALU64) => flags |= OFF_MOVSX64,
        (6, class::JMP32) => flags = Z_DST | Z_SRC | Z_OFF | JUMP_IMM,
        _ => {}
    }
    let has = |f: u16| flags & f != 0;
    if has(WRITES) {
        writable(dst)?;
    }
    if has(LDDW) && insn.opc == op::LDDW && src != isa::lddw::IMM64 {
        return invalid(Field::Src);
    }
    let unused = if insn.opc & source::MASK == source::X { Z_IMM } else { Z_SRC };
    let zero = flags | if has(Z_UNUSED) { unused } else { 0 };
    let reserved = |field| Err(VerifyErrorKind::ReservedField(field));
    if zero & Z_DST != 0 && dst != 0 {
        return reserved(Field::Dst);
    }
    if zero & Z_SRC != 0 && src != 0 {
        return reserved(Field::Src);
    }
    if zero & Z_OFF != 0 && off != 0 {
        return reserved(Field::Offset);
    }
    if zero & Z_IMM != 0 && imm != 0 {
        return reserved(Field::Imm);
    }
    let off_ok = match off {
        0 => true,
        1 => has(OFF_DIV),
        8 | 16 => has(OFF_MOVSX),
        32 => has(OFF_MOVSX64),
        _ => false,
    };
    if has(OFF_DIV | OFF_MOVSX) && !off_ok {
        return invalid(Field::Offset);
    }
    if has(END) && !matches!(imm, 16 | 32 | 64) {
        return invalid(Field::Imm);
    }
    if has(CALL) {
        match src {
            isa::call::HELPER if !helpers.contains(imm as u32) => {
                return Err(VerifyErrorKind::HelperNotAllowed { id: imm as u32 })
            }
            // (A local call's target is checked with the jumps' below.)
            isa::call::HELPER | isa::call::LOCAL => {}
            _ => return invalid(Field::Src),
        }
    }
    if has(LDDW) {
        match Insn::at(code, pc + 1) {
            None => return Err(VerifyErrorKind::IncompleteLddw),
            Some(i) if i.opc | i.dst | i.src != 0 || i.off != 0 => return Err(VerifyErrorKind::MalformedLddw),
            Some(_) => {}
        }
    }
    if has(ATOMIC) {
        let known = matches!(imm & !atomic::FETCH, atomic::ADD | atomic::OR | atomic::AND | atomic::XOR)
            || imm == atomic::XCHG
            || imm == atomic::CMPXCHG;
        if !known {
            return invalid(Field::Imm);
        }
        // A fetch writes `src` (cmpxchg writes `r0`, always writable).
        if imm != atomic::CMPXCHG && imm & atomic::FETCH != 0 {
            writable(src)?;
        }
    }
    let local_call = has(CALL) && src == isa::call::LOCAL;
    if has(JUMP_OFF | JUMP_IMM) || local_call {
        jump_target(code, pc, if has(JUMP_OFF) { off as i64 } else { imm as i64 })?;
    }
    Ok(())
}

/// Estimates how much stack one call frame uses: the deepest offset below
/// `r10` reached by a load or store whose address is `r10 + const`, either
/// directly (`[r10 - 8]`) or through a copy made in the same straight-line
/// code (`mov r1, r10; add r1, -16`, as compilers emit for `&local`).
///
/// The estimate decides where a local call's frame starts and, with a
/// declared stack ([`verify_stack`]), which accesses are rejected at load;
/// it has no bearing on memory safety, which the region checks provide.
struct FrameTracker {
    /// `copies[i]` is `k` when register `i` is known to hold `r10 + k`,
    /// else [`UNKNOWN`] (offsets saturate at the `i32` range: beyond it
    /// no frame fits in any stack anyway).
    copies: [i32; isa::REG_COUNT],
    /// The deepest offset below `r10` seen, in bytes.
    deepest: u32,
}

/// A register that holds no known `r10 + k`.
const UNKNOWN: i32 = i32::MIN;

impl FrameTracker {
    /// End of straight-line code: only `r10` is known.
    fn forget(&mut self) {
        for (i, k) in self.copies.iter_mut().enumerate() {
            *k = if i == FRAME_REG as usize { 0 } else { UNKNOWN };
        }
    }

    fn base(&self, r: u8) -> i32 {
        self.copies.get(r as usize).copied().unwrap_or(UNKNOWN)
    }

    /// Notes an address `r10 + k` (or nothing, for an unknown base).
    fn note(&mut self, k: i32, off: i32) {
        let at = k.saturating_add(off);
        if k != UNKNOWN && at < 0 {
            self.deepest = self.deepest.max(at.unsigned_abs());
        }
    }

    fn set(&mut self, r: u8, k: i32) {
        if r < FRAME_REG {
            self.copies[r as usize] = k;
        }
    }

    fn observe(&mut self, insn: &Insn) {
        const MOV64X: u8 = class::ALU64 | alu::MOV | source::X;
        const ADD64K: u8 = class::ALU64 | alu::ADD | source::K;
        const SUB64K: u8 = class::ALU64 | alu::SUB | source::K;
        let (opc, dst, src, off) = (insn.opc, insn.dst, insn.src, insn.off as i32);
        let class = insn.class();
        // A load's or store's address `base + off`.
        match class {
            class::LDX => self.note(self.base(src), off),
            class::ST | class::STX => self.note(self.base(dst), off),
            _ => {}
        }
        // What `dst` holds afterwards, for the instructions that write it.
        let k = self.base(dst);
        let value = match opc {
            MOV64X if off == 0 => self.base(src),
            ADD64K | SUB64K if k != UNKNOWN => {
                let imm = if opc == ADD64K { insn.imm } else { insn.imm.wrapping_neg() };
                let k = k.saturating_add(imm).max(UNKNOWN + 1);
                self.note(k, 0);
                k
            }
            _ => UNKNOWN,
        };
        match class {
            class::ALU | class::ALU64 | class::LD | class::LDX => self.set(dst, value),
            // An atomic fetch writes `src` (cmpxchg: `r0`).
            class::STX if opc & mode::MASK == mode::ATOMIC => {
                if let Some(r) = crate::semantics::atomic_writes(insn.imm, src) {
                    self.set(r, UNKNOWN);
                }
            }
            class::JMP | class::JMP32 => self.forget(),
            _ => {}
        }
    }

    fn frame_size(&self) -> u32 {
        self.deepest.saturating_add(7) & !7
    }
}
