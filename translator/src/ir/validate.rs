//! The validator: decides, before anything runs, that every function of a
//! module is well formed.
//!
//! # Guarantee
//! When [`validate`] succeeds, for every function: every byte belongs to a
//! known instruction with a canonical immediate; every instruction is
//! reachable from the entry; the stack height and the width of every stack
//! value are the same on every path to an instruction (so they are static);
//! no instruction pops more values than the stack holds, or pushes it past
//! [`MAX_STACK_DEPTH`]; every operand has the width its instruction requires;
//! every jump names a `JUMPDEST`; every `ARG`, `GLOAD`, `GSTORE` and `SYSCALL`
//! names something that exists (a gateway syscall only in a
//! [`Profile::Gateway`] module); and control never runs off the end of the
//! code. The reference interpreter and the translator rely on all of it.

use alloc::vec;
use alloc::vec::Vec;

use alkyl_vm::describe::{Describe, Hex, HexDigits, Sink};

use super::insn::{self, DecodeError};
use super::limits::MAX_STACK_DEPTH;
use super::module::{Module, Profile};
use super::opcode::Op;
use super::syscall;
use super::width::Width;

/// The mode every function starts in.
pub const ENTRY_MODE: Width = Width::W32;

/// A validated instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Byte offset in the function's code.
    pub pos: u32,
    pub op: Op,
    pub imm: u64,
    /// The bit mode in force (lexical: set by the last `BITSn` before it).
    pub mode: Width,
    /// For `JUMP`/`JUMPI`: the index of the target `JUMPDEST` step.
    pub target: u32,
}

/// A validated function body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    pub steps: Vec<Step>,
    /// By step index: for every `JUMPDEST` step reached, the widths of the
    /// stack on entry, bottom first (`None` for the other steps).
    pub dest_types: Vec<Option<Vec<Width>>>,
    /// The greatest stack height reached.
    pub max_depth: usize,
}

/// A module whose every function passed validation.
#[derive(Clone, Debug)]
pub struct Validated<'a> {
    pub module: Module<'a>,
    /// One body per function, in module order.
    pub bodies: Vec<Body>,
}

/// What rule an instruction breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidateErrorKind {
    /// A byte that is no opcode.
    UnknownOpcode(u8),
    /// The code ends inside an immediate.
    TruncatedImmediate,
    /// An immediate not in its shortest PrefixVarint form.
    NonCanonicalImmediate,
    /// `PUSH` of a value that does not fit the mode's width.
    ImmediateTooWide { value: u64, width: Width },
    /// Pops `needed` values from a stack of `height`.
    StackUnderflow { needed: usize, height: usize },
    /// Would push the stack past [`MAX_STACK_DEPTH`].
    StackOverflow,
    /// The value at `depth` (0 = top) has the wrong width.
    WidthMismatch { depth: usize, expected: Width, found: Width },
    /// `ZEXT`/`SEXT` from a wider value, or `TRUNC` from a narrower one.
    BadConversion { from: Width, to: Width },
    /// A jump whose target is not the offset of a `JUMPDEST`.
    BadJumpTarget { target: u64 },
    /// Paths reaching the `JUMPDEST` at `dest` bring stacks of different heights.
    InconsistentHeight { dest: u32, expected: usize, found: usize },
    /// Paths reaching the `JUMPDEST` at `dest` bring a value of another width
    /// at `depth` (0 = top).
    InconsistentWidth { dest: u32, depth: usize, expected: Width, found: Width },
    /// `ARG n` with `n >= arity`.
    NoSuchArg { index: u64, arity: usize },
    /// `GLOAD`/`GSTORE` of a global that does not exist.
    NoSuchGlobal { index: u64, count: usize },
    /// `SYSCALL` with an id outside the syscall table.
    UnknownSyscall(u64),
    /// `SYSCALL` outside 32-bit mode.
    SyscallOutside32BitMode,
    /// No path from the entry reaches this instruction.
    Unreachable,
    /// Control runs past the last instruction (or the body is empty).
    FallsOffEnd,
}

impl Describe for ValidateErrorKind {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            ValidateErrorKind::UnknownOpcode(e) => ("unknown opcode 0x", HexDigits(u64::from(*e), 2)).describe(out),
            ValidateErrorKind::TruncatedImmediate => out.text("code ends inside an immediate"),
            ValidateErrorKind::NonCanonicalImmediate => out.text("immediate is not in its shortest form"),
            ValidateErrorKind::ImmediateTooWide { value, width } => {
                ("immediate ", Hex(*value), " does not fit ", width).describe(out)
            }
            ValidateErrorKind::StackUnderflow { needed, height } => {
                ("needs ", needed, " value(s), the stack holds ", height).describe(out)
            }
            ValidateErrorKind::StackOverflow => ("stack exceeds ", MAX_STACK_DEPTH, " values").describe(out),
            ValidateErrorKind::WidthMismatch { depth, expected, found } => {
                ("value ", depth, " below the top is ", found, ", expected ", expected).describe(out)
            }
            ValidateErrorKind::BadConversion { from, to } => {
                ("cannot convert ", from, " to ", to, " this way").describe(out)
            }
            ValidateErrorKind::BadJumpTarget { target } => ("jump target ", target, " is not a JUMPDEST").describe(out),
            ValidateErrorKind::InconsistentHeight { dest, expected, found } => {
                ("JUMPDEST at ", dest, " is reached with ", expected, " and with ", found, " stack values")
                    .describe(out)
            }
            ValidateErrorKind::InconsistentWidth { dest, depth, expected, found } => {
                ("JUMPDEST at ", dest, " is reached with ", expected, " and with ", found, " at depth ", depth)
                    .describe(out)
            }
            ValidateErrorKind::NoSuchArg { index, arity } => {
                ("ARG ", index, " of a function with ", arity, " parameter(s)").describe(out)
            }
            ValidateErrorKind::NoSuchGlobal { index, count } => ("global ", index, " of ", count).describe(out),
            ValidateErrorKind::UnknownSyscall(e) => ("unknown syscall ", Hex(*e)).describe(out),
            ValidateErrorKind::SyscallOutside32BitMode => out.text("SYSCALL outside BITS32 mode"),
            ValidateErrorKind::Unreachable => out.text("unreachable instruction"),
            ValidateErrorKind::FallsOffEnd => out.text("control runs past the end of the code"),
        }
    }
}

/// A validation failure: function index, byte offset in its code, reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidateError {
    pub function: usize,
    pub pos: usize,
    pub kind: ValidateErrorKind,
}

/// "function F at byte P: KIND": the text of a validation or translation
/// error (one copy for both; the translator's errors use it too).
pub(crate) fn describe_at(out: &mut dyn Sink, function: usize, pos: usize, kind: &dyn Describe) {
    ("function ", function, " at byte ", pos, ": ", kind).describe(out);
}

impl Describe for ValidateError {
    fn describe(&self, out: &mut dyn Sink) {
        describe_at(out, self.function, self.pos, &self.kind);
    }
}

alkyl_vm::error_by_describe!(ValidateErrorKind, ValidateError);

/// Validates every function of `module`.
///
/// # Errors
/// The first broken rule, with its function and byte position.
///
/// # Panics
/// Never.
pub fn validate(module: Module<'_>) -> Result<Validated<'_>, ValidateError> {
    let mut bodies = Vec::with_capacity(module.functions.len());
    for (index, _) in module.functions.iter().enumerate() {
        let body = validate_function(&module, index).map_err(|f| {
            let (pos, kind) = *f;
            ValidateError { function: index, pos: pos as usize, kind }
        })?;
        bodies.push(body);
    }
    Ok(Validated { module, bodies })
}

/// A broken rule at a byte offset, boxed: a one-word error that every `?`
/// passes in a register (less code on the device, `make bench-size`); it
/// is allocated once, when validation stops.
type Fail = alloc::boxed::Box<(u32, ValidateErrorKind)>;

#[cold]
#[inline(never)]
fn fail(pos: u32, kind: ValidateErrorKind) -> Fail {
    alloc::boxed::Box::new((pos, kind))
}

fn decode_steps(code: &[u8]) -> Result<Vec<Step>, Fail> {
    let mut steps = Vec::new();
    let mut mode = ENTRY_MODE;
    let mut pos = 0;
    while let Some(decoded) = insn::decode(code, pos) {
        let i = decoded.map_err(|e| {
            fail(
                pos as u32,
                match e {
                    DecodeError::TruncatedImmediate => ValidateErrorKind::TruncatedImmediate,
                    DecodeError::NonCanonicalImmediate => ValidateErrorKind::NonCanonicalImmediate,
                },
            )
        })?;
        if let Op::Unknown(b) = i.op {
            return Err(fail(i.pos, ValidateErrorKind::UnknownOpcode(b)));
        }
        if let Some(w) = i.op.bit_mode() {
            mode = w;
        }
        steps.push(Step { pos: i.pos, op: i.op, imm: i.imm, mode, target: 0 });
        pos += i.len as usize;
    }
    Ok(steps)
}

/// The abstract stack: widths, bottom first.
struct Types {
    stack: Vec<Width>,
    pos: u32,
}

impl Types {
    fn fail(&self, kind: ValidateErrorKind) -> Fail {
        fail(self.pos, kind)
    }

    fn need(&self, n: usize) -> Result<(), Fail> {
        if self.stack.len() < n {
            return Err(self.fail(ValidateErrorKind::StackUnderflow { needed: n, height: self.stack.len() }));
        }
        Ok(())
    }

    fn pop_any(&mut self) -> Result<Width, Fail> {
        self.need(1)?;
        Ok(self.stack.pop().unwrap_or(Width::W8))
    }

    /// Pops `n` values that must all have width `w`.
    fn pop_n(&mut self, n: usize, w: Width) -> Result<(), Fail> {
        self.need(n)?;
        for depth in 0..n {
            let found = self.stack[self.stack.len() - 1 - depth];
            if found != w {
                return Err(self.fail(ValidateErrorKind::WidthMismatch { depth, expected: w, found }));
            }
        }
        self.stack.truncate(self.stack.len() - n);
        Ok(())
    }

    fn push(&mut self, w: Width) -> Result<(), Fail> {
        if self.stack.len() >= MAX_STACK_DEPTH {
            return Err(self.fail(ValidateErrorKind::StackOverflow));
        }
        self.stack.push(w);
        Ok(())
    }
}

fn validate_function(module: &Module<'_>, index: usize) -> Result<Body, Fail> {
    let function = &module.functions[index];
    let mut steps = decode_steps(function.code)?;
    let Some(last) = steps.last() else {
        return Err(fail(0, ValidateErrorKind::FallsOffEnd));
    };
    if !last.op.is_terminator() {
        return Err(fail(last.pos, ValidateErrorKind::FallsOffEnd));
    }
    // Resolve jump targets to step indices.
    // Steps are in code order: their positions are sorted.
    let positions: Vec<u32> = steps.iter().map(|s| s.pos).collect();
    for s in steps.iter_mut() {
        if matches!(s.op, Op::Jump | Op::Jumpi) {
            let target = u32::try_from(s.imm).ok().and_then(|t| positions.binary_search(&t).ok());
            match target {
                Some(t) => s.target = t as u32,
                None => return Err(fail(s.pos, ValidateErrorKind::BadJumpTarget { target: s.imm })),
            }
        }
    }
    for s in &steps {
        if matches!(s.op, Op::Jump | Op::Jumpi) && steps[s.target as usize].op != Op::Jumpdest {
            return Err(fail(s.pos, ValidateErrorKind::BadJumpTarget { target: s.imm }));
        }
    }

    let mut dest_types: Vec<Option<Vec<Width>>> = vec![None; steps.len()];
    if steps.first().is_some_and(|s| s.op == Op::Jumpdest) {
        // The call itself enters a leading JUMPDEST, with an empty stack.
        dest_types[0] = Some(Vec::new());
    }
    let mut visited = vec![false; steps.len()];
    // Block starts to walk: the entry, then each JUMPDEST when first
    // reached (its stack is then in `dest_types`).
    let mut work: Vec<usize> = vec![0];
    let mut max_depth = 0;

    // Records an edge into the JUMPDEST step `dest`; queues it when new.
    let edge = |from: u32,
                dest: usize,
                types: &[Width],
                dest_types: &mut Vec<Option<Vec<Width>>>,
                work: &mut Vec<usize>|
     -> Result<(), Fail> {
        match &dest_types[dest] {
            None => {
                dest_types[dest] = Some(types.to_vec());
                work.push(dest);
                Ok(())
            }
            Some(expected) => check_same(from, steps[dest].pos, expected, types),
        }
    };

    while let Some(start) = work.pop() {
        // The entry's stack is empty (also when it is a JUMPDEST).
        let entry = dest_types.get(start).cloned().flatten().unwrap_or_default();
        let mut t = Types { stack: entry, pos: 0 };
        let mut i = start;
        loop {
            let Some(&s) = steps.get(i) else {
                // Unreachable in practice: the last step is a terminator.
                return Err(fail(function.code.len() as u32, ValidateErrorKind::FallsOffEnd));
            };
            if i != start && s.op == Op::Jumpdest {
                // Fall through into a block start.
                edge(s.pos, i, &t.stack, &mut dest_types, &mut work)?;
                break;
            }
            visited[i] = true;
            t.pos = s.pos;
            let m = s.mode;
            match s.op {
                Op::Stop | Op::Invalid => break,
                op if op.is_binary() => {
                    t.pop_n(2, m)?;
                    t.push(m)?;
                }
                Op::IsZero | Op::Not | Op::Sload => {
                    t.pop_n(1, m)?;
                    t.push(m)?;
                }
                Op::Pop => {
                    t.pop_any()?;
                }
                Op::Mload | Op::Inload => {
                    t.pop_any()?;
                    t.push(m)?;
                }
                Op::Mstore | Op::Mstore8 => {
                    t.pop_any()?;
                    t.pop_n(1, m)?;
                }
                Op::Sstore => t.pop_n(2, m)?,
                Op::Jump => {
                    edge(s.pos, s.target as usize, &t.stack, &mut dest_types, &mut work)?;
                    break;
                }
                Op::Jumpi => {
                    t.pop_any()?;
                    edge(s.pos, s.target as usize, &t.stack, &mut dest_types, &mut work)?;
                }
                Op::Jumpdest | Op::Bits8 | Op::Bits16 | Op::Bits32 | Op::Bits64 => {}
                Op::Push0 => t.push(m)?,
                Op::Push => {
                    if s.imm > m.mask() {
                        return Err(t.fail(ValidateErrorKind::ImmediateTooWide { value: s.imm, width: m }));
                    }
                    t.push(m)?;
                }
                Op::Dup(n) => {
                    t.need(n as usize)?;
                    let w = t.stack[t.stack.len() - n as usize];
                    t.push(w)?;
                }
                Op::Swap(n) => {
                    t.need(n as usize + 1)?;
                    let top = t.stack.len() - 1;
                    t.stack.swap(top, top - n as usize);
                }
                Op::Zext | Op::Sext | Op::Trunc => {
                    let from = t.pop_any()?;
                    let ok = if s.op == Op::Trunc { from >= m } else { from <= m };
                    if !ok {
                        return Err(t.fail(ValidateErrorKind::BadConversion { from, to: m }));
                    }
                    t.push(m)?;
                }
                Op::Arg => {
                    let arity = function.params.len();
                    let w = usize::try_from(s.imm).ok().and_then(|a| function.params.get(a));
                    let w = *w.ok_or_else(|| t.fail(ValidateErrorKind::NoSuchArg { index: s.imm, arity }))?;
                    t.push(w)?;
                }
                Op::Gload | Op::Gstore => {
                    let count = module.globals.len();
                    let g = usize::try_from(s.imm).ok().and_then(|g| module.globals.get(g));
                    let g = g.ok_or_else(|| t.fail(ValidateErrorKind::NoSuchGlobal { index: s.imm, count }))?;
                    if s.op == Op::Gload {
                        t.push(g.width)?;
                    } else {
                        t.pop_n(1, g.width)?;
                    }
                }
                Op::Syscall if module.profile == Profile::Gateway && syscall::gateway_by_id(s.imm).is_some() => {
                    // A gateway syscall: its own argument and result widths, any mode.
                    let sc = syscall::gateway_by_id(s.imm)
                        .ok_or_else(|| t.fail(ValidateErrorKind::UnknownSyscall(s.imm)))?;
                    for &w in sc.args.iter().rev() {
                        t.pop_n(1, w)?;
                    }
                    if let Some(w) = sc.result {
                        t.push(w)?;
                    }
                }
                Op::Syscall => {
                    let sc = syscall::by_id(s.imm).ok_or_else(|| t.fail(ValidateErrorKind::UnknownSyscall(s.imm)))?;
                    if m != Width::W32 {
                        return Err(t.fail(ValidateErrorKind::SyscallOutside32BitMode));
                    }
                    t.pop_n(sc.args.len(), Width::W32)?;
                    t.push(Width::W32)?;
                }
                Op::Return | Op::Revert => {
                    t.pop_any()?;
                    break;
                }
                // Unknown opcodes (decoding already rejected them).
                other => return Err(t.fail(ValidateErrorKind::UnknownOpcode(other.byte()))),
            }
            max_depth = max_depth.max(t.stack.len());
            i += 1;
        }
    }
    if let Some(i) = visited.iter().position(|v| !v) {
        return Err(fail(steps[i].pos, ValidateErrorKind::Unreachable));
    }
    Ok(Body { steps, dest_types, max_depth })
}

fn check_same(from: u32, dest: u32, expected: &[Width], found: &[Width]) -> Result<(), Fail> {
    if expected.len() != found.len() {
        return Err(fail(
            from,
            ValidateErrorKind::InconsistentHeight { dest, expected: expected.len(), found: found.len() },
        ));
    }
    for (depth, (e, f)) in expected.iter().rev().zip(found.iter().rev()).enumerate() {
        if e != f {
            return Err(fail(from, ValidateErrorKind::InconsistentWidth { dest, depth, expected: *e, found: *f }));
        }
    }
    Ok(())
}
