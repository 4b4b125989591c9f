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

    /// Slots this op covers (more than one: a fused op).
    pub fn width(&self) -> usize {
        self.kind.width()
    }
}

impl Default for Op {
    fn default() -> Self {
        Op::EMPTY
    }
}

/// Generates [`Kind`], [`Kind::width`] and [`Kind::successors`] from the
/// rows of `for_each_op!` (grammar and flows: [`super::table`]).
macro_rules! define_kinds {
    ($(
        $(#[$attr:meta])* $name:ident $({ $($f:ident : $ty:ty),* })? = $w:literal,
        $flow:ident $(($t:ident $(, $u:ident)?))? => $body:block;
    )*) => {
        /// The operations. Specialised forms for what compilers emit in hot code;
        /// everything else is [`Kind::Generic`], which decodes its slot again and
        /// runs it with the reference interpreter's semantic functions. One row
        /// of [`super::table`] each.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Kind {
            $($(#[$attr])* $name $({ $($f: $ty),* })?,)*
        }

        impl Kind {
            /// Slots this op covers: execution that does not jump continues at
            /// `pc + width`. The interpreter advances by exactly this: both
            /// come from the op's row in [`super::table`].
            #[inline(always)]
            pub(crate) const fn width(self) -> usize {
                // A byte per kind, indexed by the variant's number (which
                // the `match` compiles to: no table of words).
                #[allow(dead_code)]
                enum Number {
                    $($name,)*
                }
                const WIDTH: [u8; [$(Number::$name),*].len()] = [$($w),*];
                let n = match self {
                    $(Kind::$name { .. } => Number::$name as usize,)*
                };
                WIDTH[n] as usize
            }

            /// The kind's name, as its row in [`super::table`] spells it.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Kind::$name { .. } => stringify!($name),)*
                }
            }

            /// Where control can go after this op at slot `pc`: the slot it
            /// continues at without jumping (`None` when it always leaves: `ja`,
            /// `exit`, a trap) and the slot it may jump or call to. A local call
            /// continues at `pc + width` when its callee returns. Generic ops are
            /// decoded from `code`. From the op's row in [`super::table`], as
            /// the interpreter's dispatch is. A two-way branch's second
            /// target is [`Kind::second_target`].
            pub(crate) fn successors(self, code: &[u8], pc: usize) -> (Option<usize>, Option<usize>) {
                let next = Some(pc + self.width());
                match self {
                    $(Kind::$name { $($t,)? .. } => successors!($flow $($t)?, next, code, pc),)*
                }
            }

            /// The slot a two-way branch (flow `branch2(t, u)`) at slot `pc`
            /// jumps to when its second compare is taken, `pc + u`; `None`
            /// for every other op.
            /// Its first compare's fallthrough, `pc + 1`, lies before its own
            /// fallthrough `pc + width`.
            pub(crate) fn second_target(self, pc: usize) -> Option<usize> {
                match self {
                    $($(Kind::$name { $t: _, $($u,)? .. } => None $(.or(Some((pc as i64 + $u as i64) as usize)))?,)?)*
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }

        /// Calls `each` with one op of every kind, its operands numbered by
        /// `sample` (for the table's tests).
        #[cfg(test)]
        pub(crate) fn every_kind(mut sample: impl FnMut(&str) -> i64, mut each: impl FnMut(Kind)) {
            $(each(Kind::$name $({ $($f: Sample::of(sample(stringify!($f)))),* })?);)*
        }
    };
}

/// The successors of an op by its flow (see [`super::table`]).
macro_rules! successors {
    (next, $next:ident, $code:ident, $pc:ident) => {
        ($next, None)
    };
    (branch $t:ident, $next:ident, $code:ident, $pc:ident) => {
        ($next, Some(($pc as i64 + $t as i64) as usize))
    };
    (branch2 $t:ident, $next:ident, $code:ident, $pc:ident) => {
        ($next, Some(($pc as i64 + $t as i64) as usize))
    };
    (call $t:ident, $next:ident, $code:ident, $pc:ident) => {
        ($next, Some($t as usize))
    };
    (jump $t:ident, $next:ident, $code:ident, $pc:ident) => {
        (None, Some(($pc as i64 + $t as i64) as usize))
    };
    (exit, $next:ident, $code:ident, $pc:ident) => {
        (None, None)
    };
    (trap, $next:ident, $code:ident, $pc:ident) => {
        (None, None)
    };
    (decoded, $next:ident, $code:ident, $pc:ident) => {
        match crate::isa::Insn::at($code, $pc) {
            Some(i) if i.opc == crate::isa::op::JA32 => (None, Some(($pc as i64 + 1 + i.imm as i64) as usize)),
            Some(i) if i.opc == crate::isa::op::JA => (None, Some(($pc as i64 + 1 + i.off as i64) as usize)),
            Some(i) if matches!(i.class(), crate::isa::class::JMP | crate::isa::class::JMP32) => {
                ($next, Some(($pc as i64 + 1 + i.off as i64) as usize))
            }
            Some(_) => ($next, None),
            None => (None, None),
        }
    };
}

super::table::for_each_op!(define_kinds);

/// An operand made from a test's number (see `every_kind`).
#[cfg(test)]
pub(crate) trait Sample {
    fn of(n: i64) -> Self;
}

#[cfg(test)]
impl Sample for Reg {
    fn of(n: i64) -> Self {
        Reg::new(n as u8)
    }
}

#[cfg(test)]
macro_rules! sample_ints {
    ($($t:ty)*) => {$(
        impl Sample for $t {
            fn of(n: i64) -> Self {
                n as $t
            }
        }
    )*};
}

#[cfg(test)]
sample_ints!(i8 u8 i16 i32 u16 u32);

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
