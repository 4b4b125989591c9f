//! One test per verifier rule, on hand-built instructions.

use alkyl_vm::isa::{alu, class, jmp, mode, op, size, source, Insn};
use alkyl_vm::verify::{Field, MAX_SLOTS};
use alkyl_vm::{verify, NoHelpers, VerifyError, VerifyErrorKind};

fn bytes(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

fn exit() -> Insn {
    Insn::new(op::EXIT, 0, 0, 0, 0)
}

fn mov64_imm(dst: u8, imm: i32) -> Insn {
    Insn::new(class::ALU64 | alu::MOV | source::K, dst, 0, 0, imm)
}

fn lddw(dst: u8, v: u64) -> [Insn; 2] {
    [Insn::new(op::LDDW, dst, 0, 0, v as u32 as i32), Insn::new(0, 0, 0, 0, (v >> 32) as u32 as i32)]
}

fn check(insns: &[Insn]) -> Result<(), VerifyError> {
    verify(&bytes(insns), &NoHelpers).map(|_| ())
}

fn rejects(insns: &[Insn], pc: usize, kind: VerifyErrorKind) {
    assert_eq!(check(insns), Err(VerifyError { pc, kind }), "program {insns:?}");
}

#[test]
fn accepts_minimal_program() {
    check(&[mov64_imm(0, 1), exit()]).unwrap();
}

#[test]
fn rejects_length_not_multiple_of_8() {
    let mut code = bytes(&[exit()]);
    code.push(0);
    let err = verify(&code, &NoHelpers).unwrap_err();
    assert_eq!(err.kind, VerifyErrorKind::LengthNotMultipleOf8 { len: 9 });
    assert_eq!(err.pc, 1);
}

#[test]
fn rejects_empty_program() {
    rejects(&[], 0, VerifyErrorKind::Empty);
}

#[test]
fn rejects_oversized_program() {
    let code = vec![0u8; (MAX_SLOTS + 1) * 8];
    let err = verify(&code, &NoHelpers).unwrap_err();
    assert_eq!(err.kind, VerifyErrorKind::TooLong { slots: MAX_SLOTS + 1 });
}

#[test]
fn rejects_unknown_opcodes() {
    // Every opcode the ISA does not define, placed before a valid exit.
    let mut unknown = 0;
    for opc in 0..=255u8 {
        let insn = Insn::new(opc, 0, 0, 0, 0);
        if let Err(VerifyError { pc: 0, kind: VerifyErrorKind::UnknownOpcode { opcode } }) =
            check(&[insn, Insn::default(), exit()])
        {
            assert_eq!(opcode, opc);
            unknown += 1;
        }
    }
    // Legacy packet access, byte/half atomics, JMP32 call/exit... are unknown.
    for opc in [0x20u8, 0x28, 0x30, 0x40, 0xc3 - 0x08 + 0x10, 0x86, 0x96, 0x8c, 0x99, 0xdf, 0x00] {
        assert!(
            matches!(
                check(&[Insn::new(opc, 0, 0, 0, 0), exit()]),
                Err(VerifyError { kind: VerifyErrorKind::UnknownOpcode { .. }, .. })
            ),
            "{opc:#x} should be unknown"
        );
    }
    assert!(unknown > 100, "only {unknown} opcodes rejected as unknown");
}

#[test]
fn rejects_bad_registers() {
    rejects(&[mov64_imm(11, 0), exit()], 0, VerifyErrorKind::InvalidRegister { reg: 11 });
    let mov_reg = Insn::new(class::ALU64 | alu::MOV | source::X, 0, 15, 0, 0);
    rejects(&[mov_reg, exit()], 0, VerifyErrorKind::InvalidRegister { reg: 15 });
}

#[test]
fn rejects_writes_to_r10() {
    rejects(&[mov64_imm(10, 0), exit()], 0, VerifyErrorKind::FrameRegisterWrite);
    let ldx = Insn::new(class::LDX | mode::MEM | size::DW, 10, 1, 0, 0);
    rejects(&[ldx, exit()], 0, VerifyErrorKind::FrameRegisterWrite);
    let [lo, hi] = lddw(10, 1);
    rejects(&[lo, hi, exit()], 0, VerifyErrorKind::FrameRegisterWrite);
    // `lock fetch add [r1], r10` would write r10.
    let fetch = Insn::new(class::STX | mode::ATOMIC | size::DW, 1, 10, 0, 0x01);
    rejects(&[fetch, exit()], 0, VerifyErrorKind::FrameRegisterWrite);
    // Reading r10 and storing through it are fine.
    check(&[Insn::new(class::ALU64 | alu::MOV | source::X, 1, 10, 0, 0), exit()]).unwrap();
    check(&[Insn::new(class::ST | mode::MEM | size::W, 10, 0, -4, 7), exit()]).unwrap();
}

/// Each instruction, followed by `exit`, is refused at pc 0 for its field.
fn rejects_first(cases: &[(Insn, VerifyErrorKind)]) {
    for (insn, kind) in cases {
        rejects(&[*insn, exit()], 0, *kind);
    }
}

#[test]
fn rejects_nonzero_reserved_fields() {
    use VerifyErrorKind::ReservedField as R;
    rejects_first(&[
        (Insn::new(class::ALU64 | alu::ADD | source::K, 0, 0, 1, 1), R(Field::Offset)),
        (Insn::new(class::ALU64 | alu::ADD | source::K, 0, 1, 0, 1), R(Field::Src)),
        (Insn::new(class::ALU64 | alu::ADD | source::X, 0, 1, 0, 1), R(Field::Imm)),
        (Insn::new(op::EXIT, 0, 0, 0, 1), R(Field::Imm)),
        (Insn::new(op::EXIT, 1, 0, 0, 0), R(Field::Dst)),
        (Insn::new(op::JA, 0, 0, 0, 1), R(Field::Imm)),
        (Insn::new(op::CALL, 1, 0, 0, 1), R(Field::Dst)),
        (Insn::new(class::LDX | mode::MEM | size::W, 0, 1, 0, 1), R(Field::Imm)),
        (Insn::new(class::ST | mode::MEM | size::W, 1, 2, 0, 1), R(Field::Src)),
        (Insn::new(class::ALU | alu::NEG, 0, 0, 0, 1), R(Field::Imm)),
    ]);
}

#[test]
fn rejects_undefined_field_values() {
    use VerifyErrorKind::InvalidField as I;
    rejects_first(&[
        // be24
        (Insn::new(class::ALU | alu::END | source::X, 0, 0, 0, 24), I(Field::Imm)),
        // movsx with offset 7
        (Insn::new(class::ALU64 | alu::MOV | source::X, 0, 1, 7, 0), I(Field::Offset)),
        // movsx32 in ALU (32-bit) class
        (Insn::new(class::ALU | alu::MOV | source::X, 0, 1, 32, 0), I(Field::Offset)),
        // sdiv with offset 2
        (Insn::new(class::ALU64 | alu::DIV | source::X, 0, 1, 2, 0), I(Field::Offset)),
        // undefined atomic operation
        (Insn::new(class::STX | mode::ATOMIC | size::W, 1, 2, 0, 0x10), I(Field::Imm)),
        // BTF call (src 2)
        (Insn::new(op::CALL, 0, 2, 0, 1), I(Field::Src)),
    ]);
    let [mut lo, hi] = lddw(0, 1);
    lo.src = 1; // map-fd pseudo load: not supported
    rejects(&[lo, hi, exit()], 0, VerifyErrorKind::InvalidField(Field::Src));
}

#[test]
fn rejects_jumps_out_of_bounds() {
    rejects(&[Insn::new(op::JA, 0, 0, 1, 0), exit()], 0, VerifyErrorKind::JumpOutOfBounds { target: 2 });
    rejects(&[Insn::new(op::JA, 0, 0, -2, 0), exit()], 0, VerifyErrorKind::JumpOutOfBounds { target: -1 });
    let jeq = Insn::new(class::JMP | jmp::JEQ | source::K, 1, 0, i16::MAX, 0);
    rejects(&[jeq, exit()], 0, VerifyErrorKind::JumpOutOfBounds { target: 1 + i16::MAX as i64 });
    let ja32 = Insn::new(op::JA32, 0, 0, 0, i32::MIN);
    rejects(&[ja32, exit()], 0, VerifyErrorKind::JumpOutOfBounds { target: 1 + i32::MIN as i64 });
    let call = Insn::new(op::CALL, 0, 1, 0, 5);
    rejects(&[call, exit()], 0, VerifyErrorKind::JumpOutOfBounds { target: 6 });
    // A jump to itself is in bounds (it loops until the budget ends).
    check(&[Insn::new(op::JA, 0, 0, -1, 0)]).unwrap();
}

#[test]
fn rejects_jumps_into_lddw() {
    let [lo, hi] = lddw(0, 0x1_0000_0000);
    rejects(&[Insn::new(op::JA, 0, 0, 1, 0), lo, hi, exit()], 0, VerifyErrorKind::JumpIntoLddw { target: 2 });
    let call = Insn::new(op::CALL, 0, 1, 0, 1);
    rejects(&[call, lo, hi, exit()], 0, VerifyErrorKind::JumpIntoLddw { target: 2 });
    check(&[Insn::new(op::JA, 0, 0, 0, 0), lo, hi, exit()]).unwrap();
}

#[test]
fn rejects_malformed_lddw() {
    let [lo, _] = lddw(0, 1);
    rejects(&[exit(), lo], 1, VerifyErrorKind::IncompleteLddw);
    rejects(&[lo, Insn::new(0, 1, 0, 0, 0), exit()], 0, VerifyErrorKind::MalformedLddw);
    rejects(&[lo, Insn::new(0, 0, 0, 1, 0), exit()], 0, VerifyErrorKind::MalformedLddw);
    rejects(&[lo, exit(), exit()], 0, VerifyErrorKind::MalformedLddw);
    // A stray second slot is an unknown opcode 0.
    rejects(&[Insn::default(), exit()], 0, VerifyErrorKind::UnknownOpcode { opcode: 0 });
}

#[test]
fn checks_helper_ids_against_allowed_set() {
    let call = |id| Insn::new(op::CALL, 0, 0, 0, id);
    let allowed = [1u32, 0x20];
    let code = bytes(&[call(0x20), exit()]);
    verify(&code, &allowed).unwrap();
    let code = bytes(&[call(2), exit()]);
    assert_eq!(
        verify(&code, &allowed).unwrap_err(),
        VerifyError { pc: 0, kind: VerifyErrorKind::HelperNotAllowed { id: 2 } }
    );
    rejects(&[call(1), exit()], 0, VerifyErrorKind::HelperNotAllowed { id: 1 });
}

#[test]
fn requires_unconditional_end() {
    rejects(&[mov64_imm(0, 0)], 0, VerifyErrorKind::FallsOffEnd);
    let jeq = Insn::new(class::JMP | jmp::JEQ | source::K, 0, 0, -1, 0);
    rejects(&[exit(), jeq], 1, VerifyErrorKind::FallsOffEnd);
    rejects(&[exit(), Insn::new(op::CALL, 0, 1, 0, -2)], 1, VerifyErrorKind::FallsOffEnd);
    check(&[mov64_imm(0, 0), Insn::new(op::JA, 0, 0, -2, 0)]).unwrap();
    check(&[mov64_imm(0, 0), Insn::new(op::JA32, 0, 0, 0, -2)]).unwrap();
}

#[test]
fn entry_points_are_checked() {
    let [lo, hi] = lddw(0, 1);
    let code = bytes(&[lo, hi, exit()]);
    let program = verify(&code, &NoHelpers).unwrap();
    assert!(program.entry(0).is_ok());
    assert!(program.entry(2).is_ok());
    assert_eq!(program.entry(1).unwrap_err().kind, VerifyErrorKind::BadEntry);
    assert_eq!(program.entry(3).unwrap_err().kind, VerifyErrorKind::BadEntry);
}

#[test]
fn frame_size_follows_deepest_stack_use() {
    let stx = |off| Insn::new(class::STX | mode::MEM | size::DW, 10, 1, off, 0);
    let code = bytes(&[stx(-8), stx(-40), exit()]);
    assert_eq!(verify(&code, &NoHelpers).unwrap().frame_size(), 40);
    // `mov r1, r10; add r1, -100` takes the address of a 100-byte local.
    let code = bytes(&[
        Insn::new(class::ALU64 | alu::MOV | source::X, 1, 10, 0, 0),
        Insn::new(class::ALU64 | alu::ADD | source::K, 1, 0, 0, -100),
        exit(),
    ]);
    assert_eq!(verify(&code, &NoHelpers).unwrap().frame_size(), 104);
    assert_eq!(verify(&bytes(&[exit()]), &NoHelpers).unwrap().frame_size(), 0);
}

#[test]
fn never_panics_on_any_single_slot() {
    // Exhaustive over opcode and register byte, with a few offsets/imms.
    for opc in 0..=255u8 {
        for regs in 0..=255u8 {
            for (off, imm) in [(0i16, 0i32), (1, 1), (-1, -1), (i16::MAX, i32::MAX)] {
                let mut slot = Insn::new(opc, 0, 0, off, imm).encode();
                slot[1] = regs;
                let mut code = slot.to_vec();
                code.extend_from_slice(&exit().encode());
                let _ = verify(&code, &NoHelpers);
            }
        }
    }
}
