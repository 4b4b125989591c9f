//! The fast engine's internal instruction form: one [`Op`] per eBPF slot.
//!
//! `ops[i]` is always a complete translation of the code that *starts* at
//! slot `i`, so jump targets, entry points and trap positions are slot
//! indices, exactly as in the bytecode. A fused op at `i` covers slots
//! `i..i+n` and continues at `i+n`; the ops at `i+1..i+n` still translate
//! their own slots, so a jump into the middle of a fused sequence is correct.

/// A register number. As an enum of the eleven registers it indexes the
/// interpreter's register file with no bounds check and no mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[rustfmt::skip]
pub(crate) enum Reg { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 }

impl Reg {
    /// Register `n`. The verifier keeps register numbers to `0..=10`; any
    /// other value (never seen in a verified program) names `r10`, which
    /// no translated instruction writes.
    pub(crate) const fn new(n: u8) -> Reg {
        const ALL: [Reg; 11] =
            [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8, Reg::R9, Reg::R10];
        if (n as usize) < ALL.len() {
            ALL[n as usize]
        } else {
            Reg::R10
        }
    }

    /// Index into the register file.
    #[inline(always)]
    pub(crate) const fn ix(self) -> usize {
        self as usize
    }
}

/// One translated slot (8 bytes: an opcode byte and up to seven bytes of
/// decoded operands).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    pub(crate) kind: Kind,
}

impl Op {
    /// Filler for caller-supplied storage (`[Op::EMPTY; N]`).
    pub const EMPTY: Op = Op { kind: Kind::Illegal };
}

impl Default for Op {
    fn default() -> Self {
        Op::EMPTY
    }
}

/// The operations. Specialised forms for what compilers emit in hot code;
/// everything else is [`Kind::Generic`], which decodes its slot again and
/// runs it with the reference interpreter's semantic functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    // 64-bit ALU, `d op= imm` and `d op= s`.
    Mov64I {
        d: Reg,
        imm: i32,
    },
    Add64I {
        d: Reg,
        imm: i32,
    },
    Sub64I {
        d: Reg,
        imm: i32,
    },
    Mul64I {
        d: Reg,
        imm: i32,
    },
    And64I {
        d: Reg,
        imm: i32,
    },
    Or64I {
        d: Reg,
        imm: i32,
    },
    Xor64I {
        d: Reg,
        imm: i32,
    },
    Lsh64I {
        d: Reg,
        imm: i32,
    },
    Rsh64I {
        d: Reg,
        imm: i32,
    },
    Mov64R {
        d: Reg,
        s: Reg,
    },
    Add64R {
        d: Reg,
        s: Reg,
    },
    Sub64R {
        d: Reg,
        s: Reg,
    },
    Mul64R {
        d: Reg,
        s: Reg,
    },
    And64R {
        d: Reg,
        s: Reg,
    },
    Or64R {
        d: Reg,
        s: Reg,
    },
    Xor64R {
        d: Reg,
        s: Reg,
    },
    Lsh64R {
        d: Reg,
        s: Reg,
    },
    Rsh64R {
        d: Reg,
        s: Reg,
    },
    // 32-bit ALU (results zero-extended).
    Mov32I {
        d: Reg,
        imm: i32,
    },
    Add32I {
        d: Reg,
        imm: i32,
    },
    Sub32I {
        d: Reg,
        imm: i32,
    },
    Mul32I {
        d: Reg,
        imm: i32,
    },
    And32I {
        d: Reg,
        imm: i32,
    },
    Or32I {
        d: Reg,
        imm: i32,
    },
    Xor32I {
        d: Reg,
        imm: i32,
    },
    Lsh32I {
        d: Reg,
        imm: i32,
    },
    Rsh32I {
        d: Reg,
        imm: i32,
    },
    Neg64 {
        d: Reg,
    },
    Neg32 {
        d: Reg,
    },
    Arsh64I {
        d: Reg,
        imm: i32,
    },
    Arsh32I {
        d: Reg,
        imm: i32,
    },
    /// Unsigned `div32`/`mod32` by a non-zero immediate (zero divisors stay
    /// generic: they have RFC 9669's special results).
    Div32I {
        d: Reg,
        imm: i32,
    },
    Mod32I {
        d: Reg,
        imm: i32,
    },
    Mov32R {
        d: Reg,
        s: Reg,
    },
    Add32R {
        d: Reg,
        s: Reg,
    },
    Sub32R {
        d: Reg,
        s: Reg,
    },
    Mul32R {
        d: Reg,
        s: Reg,
    },
    And32R {
        d: Reg,
        s: Reg,
    },
    Or32R {
        d: Reg,
        s: Reg,
    },
    Xor32R {
        d: Reg,
        s: Reg,
    },
    Lsh32R {
        d: Reg,
        s: Reg,
    },
    Rsh32R {
        d: Reg,
        s: Reg,
    },
    /// Fused `mov d, a; add d, b` (three-address add), 2 slots.
    Add64Rrr {
        d: Reg,
        a: Reg,
        b: Reg,
    },
    Add32Rrr {
        d: Reg,
        a: Reg,
        b: Reg,
    },
    /// Fused `mov d, a; add d, imm` (`&local`, pointer + offset), 2 slots.
    Add64Rri {
        d: Reg,
        a: Reg,
        imm: i32,
    },
    Add32Rri {
        d: Reg,
        a: Reg,
        imm: i32,
    },
    /// Fused `ldxb/ldxh d, [s + off]; add32 acc, d` (load and accumulate,
    /// as checksum loops do), 2 slots.
    LdxBAdd32 {
        d: Reg,
        s: Reg,
        off: i16,
        acc: Reg,
    },
    LdxHAdd32 {
        d: Reg,
        s: Reg,
        off: i16,
        acc: Reg,
    },
    /// Fused `ldxb/ldxh d, [s + off]; add32 acc, d; add s, inc` (load,
    /// accumulate, advance the pointer: a reduction loop's body), 3 slots.
    LdxBAdd32Inc {
        d: Reg,
        s: Reg,
        off: i16,
        acc: Reg,
        inc: i8,
    },
    LdxHAdd32Inc {
        d: Reg,
        s: Reg,
        off: i16,
        acc: Reg,
        inc: i8,
    },
    /// Fused `ldxb/ldxh d, [s + off]; add32 acc, d; add s, inc; mov32 d,
    /// acc; add32 d, x`: a load-accumulate-advance step followed by the
    /// three-address add of a second running sum (`d = acc + x`), the body
    /// of two-sum checksum loops (Fletcher, Adler) as clang emits it; 5
    /// slots. `d`, `s`, `acc`, `x` are distinct.
    LdxBSum2 {
        d: Reg,
        s: Reg,
        off: i16,
        acc: Reg,
        inc: i8,
        x: Reg,
    },
    LdxHSum2 {
        d: Reg,
        s: Reg,
        off: i16,
        acc: Reg,
        inc: i8,
        x: Reg,
    },
    /// `lddw` (any of its forms, segment base added at translation); the
    /// high half of the value is the [`Kind::Wide`] in the next slot.
    Lddw {
        d: Reg,
        lo: i32,
    },
    /// Second slot of an `lddw` (never executed in a verified program).
    Wide {
        hi: i32,
    },
    // Loads `d = [s + off]` and stores `[d + off] = s` / `= imm`.
    LdxB {
        d: Reg,
        s: Reg,
        off: i16,
    },
    LdxH {
        d: Reg,
        s: Reg,
        off: i16,
    },
    LdxW {
        d: Reg,
        s: Reg,
        off: i16,
    },
    LdxDw {
        d: Reg,
        s: Reg,
        off: i16,
    },
    StxB {
        d: Reg,
        s: Reg,
        off: i16,
    },
    StxH {
        d: Reg,
        s: Reg,
        off: i16,
    },
    StxW {
        d: Reg,
        s: Reg,
        off: i16,
    },
    StxDw {
        d: Reg,
        s: Reg,
        off: i16,
    },
    StB {
        d: Reg,
        off: i16,
        imm: i32,
    },
    StH {
        d: Reg,
        off: i16,
        imm: i32,
    },
    StW {
        d: Reg,
        off: i16,
        imm: i32,
    },
    StDw {
        d: Reg,
        off: i16,
        imm: i32,
    },
    // Loads and stores relative to the frame pointer `r10`: straight to
    // the stack window (see `window.rs`).
    LdxBFp {
        d: Reg,
        off: i16,
    },
    LdxHFp {
        d: Reg,
        off: i16,
    },
    LdxWFp {
        d: Reg,
        off: i16,
    },
    LdxDwFp {
        d: Reg,
        off: i16,
    },
    StxBFp {
        s: Reg,
        off: i16,
    },
    StxHFp {
        s: Reg,
        off: i16,
    },
    StxWFp {
        s: Reg,
        off: i16,
    },
    StxDwFp {
        s: Reg,
        off: i16,
    },
    StWFp {
        off: i16,
        imm: i32,
    },
    StDwFp {
        off: i16,
        imm: i32,
    },
    // Control transfer. `t` is the target slot.
    Ja {
        t: u16,
    },
    Jeq64I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jne64I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jlt64I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jle64I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jgt64I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jge64I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jeq64R {
        d: Reg,
        s: Reg,
        t: u16,
    },
    Jne64R {
        d: Reg,
        s: Reg,
        t: u16,
    },
    /// `jlt a, b` (also `jgt b, a`).
    Jlt64R {
        a: Reg,
        b: Reg,
        t: u16,
    },
    /// `jle a, b` (also `jge b, a`).
    Jle64R {
        a: Reg,
        b: Reg,
        t: u16,
    },
    Jeq32I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jne32I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jlt32I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jle32I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jgt32I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jge32I {
        d: Reg,
        imm: i32,
        t: u16,
    },
    Jeq32R {
        d: Reg,
        s: Reg,
        t: u16,
    },
    Jne32R {
        d: Reg,
        s: Reg,
        t: u16,
    },
    Jlt32R {
        a: Reg,
        b: Reg,
        t: u16,
    },
    Jle32R {
        a: Reg,
        b: Reg,
        t: u16,
    },
    /// Fused `add32 d, imm; jne32 d, 0` (counted loop latch), 2 slots.
    Add32IJne0 {
        d: Reg,
        imm: i32,
        t: u16,
    },
    /// Fused `add32 d, imm; mov32 x, y; jne32 d, 0` (a counted loop's
    /// latch with the copy clang places before it), 3 slots; `d`, `x`, `y`
    /// are distinct.
    Add32IMovJne0 {
        d: Reg,
        imm: i16,
        x: Reg,
        y: Reg,
        t: u16,
    },
    /// Fused `mov32 d, s; jne32 a, imm` (the copy clang puts before a loop's
    /// back edge), 2 slots.
    Mov32RJne32I {
        d: Reg,
        s: Reg,
        a: Reg,
        imm: i16,
        t: u16,
    },
    CallHelper {
        id: u32,
    },
    CallX {
        d: Reg,
    },
    CallLocal {
        t: u16,
    },
    Exit,
    /// Anything else: decoded again from the bytecode when executed.
    Generic,
    /// A slot that no verified program can execute.
    Illegal,
}

impl Kind {
    /// Slots this op covers: execution that does not jump continues at
    /// `pc + width`. The interpreter advances by exactly this (one source
    /// of truth with [`Kind::successors`], which translation checks).
    #[inline(always)]
    pub(crate) const fn width(self) -> usize {
        match self {
            Kind::LdxBSum2 { .. } | Kind::LdxHSum2 { .. } => 5,
            Kind::LdxBAdd32Inc { .. } | Kind::LdxHAdd32Inc { .. } | Kind::Add32IMovJne0 { .. } => 3,
            Kind::Add64Rrr { .. }
            | Kind::Add32Rrr { .. }
            | Kind::Add64Rri { .. }
            | Kind::Add32Rri { .. }
            | Kind::LdxBAdd32 { .. }
            | Kind::LdxHAdd32 { .. }
            | Kind::Lddw { .. }
            | Kind::Add32IJne0 { .. }
            | Kind::Mov32RJne32I { .. } => 2,
            _ => 1,
        }
    }

    /// Where control can go after this op at slot `pc`: the slot it
    /// continues at without jumping (`None` when it always leaves: `ja`,
    /// `exit`, a trap) and the slot it may jump or call to. A local call
    /// continues at `pc + 1` when its callee returns. Generic ops are
    /// decoded from `code`.
    pub(crate) fn successors(self, code: &[u8], pc: usize) -> (Option<usize>, Option<usize>) {
        let next = Some(pc + self.width());
        let to = |t: u16| Some(t as usize);
        match self {
            Kind::Ja { t } => (None, to(t)),
            Kind::Exit | Kind::Wide { .. } | Kind::Illegal => (None, None),
            Kind::Jeq64I { t, .. }
            | Kind::Jne64I { t, .. }
            | Kind::Jlt64I { t, .. }
            | Kind::Jle64I { t, .. }
            | Kind::Jgt64I { t, .. }
            | Kind::Jge64I { t, .. }
            | Kind::Jeq64R { t, .. }
            | Kind::Jne64R { t, .. }
            | Kind::Jlt64R { t, .. }
            | Kind::Jle64R { t, .. }
            | Kind::Jeq32I { t, .. }
            | Kind::Jne32I { t, .. }
            | Kind::Jlt32I { t, .. }
            | Kind::Jle32I { t, .. }
            | Kind::Jgt32I { t, .. }
            | Kind::Jge32I { t, .. }
            | Kind::Jeq32R { t, .. }
            | Kind::Jne32R { t, .. }
            | Kind::Jlt32R { t, .. }
            | Kind::Jle32R { t, .. }
            | Kind::Add32IJne0 { t, .. }
            | Kind::Add32IMovJne0 { t, .. }
            | Kind::Mov32RJne32I { t, .. }
            | Kind::CallLocal { t } => (next, to(t)),
            Kind::Generic => match crate::isa::Insn::at(code, pc) {
                Some(i) if i.opc == crate::isa::op::JA32 => (None, Some((pc as i64 + 1 + i.imm as i64) as usize)),
                Some(i) if matches!(i.class(), crate::isa::class::JMP | crate::isa::class::JMP32) => {
                    (next, Some((pc as i64 + 1 + i.off as i64) as usize))
                }
                Some(_) => (next, None),
                None => (None, None),
            },
            _ => (next, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_stay_small() {
        // The translated form is caller-supplied RAM, and an 8-byte op is
        // one shifted index away on a 32-bit core: keep it at 8 bytes.
        assert_eq!(core::mem::size_of::<Op>(), 8, "Op is {} bytes", core::mem::size_of::<Op>());
    }
}
