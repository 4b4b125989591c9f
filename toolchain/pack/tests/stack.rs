//! The stack the packer declares suffices: a program that runs without a
//! stack fault on the default 512-byte stack runs identically, on both
//! engines, on a stack of exactly [`stack_need`] bytes (what a host maps
//! for the container).
//!
//! Programs are generated the way compilers lay out frames: several
//! functions calling each other (a DAG of local calls, chains of up to
//! four levels), each reading and writing its locals at constant
//! `r10`-relative offsets, directly or through `&local` (`mov r1, r10; add
//! r1, -k`), with conditional jumps in between.

use alkyl_pack::stack_need;
use alkyl_vm::fast::{self, Op};
use alkyl_vm::isa::{alu, class, jmp, mode, op, size, source, Insn};
use alkyl_vm::{verify, Exit, Invocation, NoHelpers, Runnable, Trap, STACK_SIZE};
use proptest::prelude::*;

/// One generated operation of a function body.
#[derive(Clone, Debug)]
enum Step {
    /// `stxdw [r10 - 8 * slot], r_reg`.
    Store { slot: u8, reg: u8 },
    /// `ldxdw r_reg, [r10 - 8 * slot]`.
    Load { slot: u8, reg: u8 },
    /// `mov r1, r10; add r1, -8 * slot; stxw [r1 + off], r0`: a write
    /// through `&local` inside the local's 8 bytes.
    ThroughPointer { slot: u8, off: u8 },
    /// `add r0, r_reg; mul r0, 3`.
    Mix { reg: u8 },
    /// `jeq r0, imm, +1` over a `mov r0, imm`.
    Skip { imm: i32 },
    /// A local call of a later function (by offset from this one).
    Call { ahead: u8 },
}

/// A data register: never `r1` (the `&local` pointer) or `r10`, so no
/// address (which depends on the stack's size) reaches `r0`.
fn data_reg() -> impl Strategy<Value = u8> {
    prop_oneof![Just(0u8), 2u8..10]
}

fn step(slots: u8) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1..=slots, data_reg()).prop_map(|(slot, reg)| Step::Store { slot, reg }),
        3 => (1..=slots, data_reg()).prop_map(|(slot, reg)| Step::Load { slot, reg }),
        2 => (1..=slots, 0u8..5).prop_map(|(slot, off)| Step::ThroughPointer { slot, off }),
        2 => data_reg().prop_map(|reg| Step::Mix { reg }),
        1 => (0i32..4).prop_map(|imm| Step::Skip { imm }),
        2 => (1u8..4).prop_map(|ahead| Step::Call { ahead }),
    ]
}

/// Up to five functions, each with its own frame depth (1..=24 slots).
fn functions() -> impl Strategy<Value = Vec<Vec<Step>>> {
    prop::collection::vec((1u8..=24).prop_flat_map(|slots| prop::collection::vec(step(slots), 0..12)), 1..=5)
}

/// The program: functions laid out in order, each ending in `exit`; a call
/// to a function beyond the last one becomes a `mov`.
fn assemble(functions: &[Vec<Step>]) -> Vec<u8> {
    const MOV64K: u8 = class::ALU64 | alu::MOV | source::K;
    let body = |steps: &[Step], me: usize| -> Vec<Result<Insn, usize>> {
        let mut out = Vec::new();
        for s in steps {
            match *s {
                Step::Store { slot, reg } => {
                    out.push(Ok(Insn::new(class::STX | mode::MEM | size::DW, 10, reg, -8 * slot as i16, 0)))
                }
                Step::Load { slot, reg } => {
                    out.push(Ok(Insn::new(class::LDX | mode::MEM | size::DW, reg, 10, -8 * slot as i16, 0)))
                }
                Step::ThroughPointer { slot, off } => {
                    out.push(Ok(Insn::new(class::ALU64 | alu::MOV | source::X, 1, 10, 0, 0)));
                    out.push(Ok(Insn::new(class::ALU64 | alu::ADD | source::K, 1, 0, 0, -8 * slot as i32)));
                    out.push(Ok(Insn::new(class::STX | mode::MEM | size::W, 1, 0, off as i16, 0)));
                }
                Step::Mix { reg } => {
                    out.push(Ok(Insn::new(class::ALU64 | alu::ADD | source::X, 0, reg, 0, 0)));
                    out.push(Ok(Insn::new(class::ALU64 | alu::MUL | source::K, 0, 0, 0, 3)));
                }
                Step::Skip { imm } => {
                    out.push(Ok(Insn::new(class::JMP | jmp::JEQ | source::K, 0, 0, 1, imm)));
                    out.push(Ok(Insn::new(MOV64K, 0, 0, 0, imm + 1)));
                }
                Step::Call { ahead } => {
                    let target = me + ahead as usize;
                    out.push(if target < functions.len() { Err(target) } else { Ok(Insn::new(MOV64K, 0, 0, 0, 5)) });
                }
            }
        }
        out.push(Ok(Insn::new(op::EXIT, 0, 0, 0, 0)));
        out
    };
    let bodies: Vec<_> = functions.iter().enumerate().map(|(i, f)| body(f, i)).collect();
    let mut starts = Vec::new();
    let mut at = 0;
    for b in &bodies {
        starts.push(at);
        at += b.len();
    }
    let mut code = Vec::new();
    for b in &bodies {
        for i in b {
            let pc = code.len() / 8;
            let insn = match *i {
                Ok(insn) => insn,
                Err(target) => Insn::new(op::CALL, 0, 1, 0, starts[target] as i32 - pc as i32 - 1),
            };
            code.extend_from_slice(&insn.encode());
        }
    }
    code
}

/// A run with a stack of `len` bytes on either engine.
fn run(code: &[u8], len: usize, on_fast: bool) -> Result<Exit, Trap> {
    let program = verify(code, &NoHelpers).unwrap();
    let mut stack = vec![0u8; len];
    let mut invocation = Invocation::new(&mut stack, &[]).unwrap();
    if on_fast {
        let mut ops = vec![Op::EMPTY; program.slots() + 1];
        let fast = fast::translate(&program, &mut ops).unwrap();
        fast.run(program.main(), &mut invocation, &mut NoHelpers, 100_000)
    } else {
        program.run(program.main(), &mut invocation, &mut NoHelpers, 100_000)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_computed_stack_suffices(functions in functions()) {
        let code = assemble(&functions);
        let program = verify(&code, &NoHelpers).unwrap();
        let need = stack_need(&program, &[]) as usize;
        prop_assert!(need <= STACK_SIZE && need >= program.frame_size() as usize);
        for on_fast in [false, true] {
            let full = run(&code, STACK_SIZE, on_fast);
            let exact = run(&code, need, on_fast);
            match (&full, &exact) {
                // A chain too deep for even 512 bytes traps on both.
                (Err(t), Err(_)) if matches!(t.kind, alkyl_vm::TrapKind::Memory(_)) => {}
                _ => prop_assert_eq!(
                    full.map(|e| e.r0),
                    exact.map(|e| e.r0),
                    "need {} (frame {}), fast {}",
                    need,
                    program.frame_size(),
                    on_fast
                ),
            }
        }
    }
}
