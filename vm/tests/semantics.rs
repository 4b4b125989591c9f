//! Behaviour of every instruction class, written as assembler text.

use alkyl_asm::assemble;
use alkyl_testkit::ebpf::OneHelper;
use alkyl_vm::memory::{Access, FaultKind};
use alkyl_vm::{
    run, verify, AccessPolicy, Exit, HelperError, Helpers, MemoryMap, NoHelpers, Trap, TrapKind, INPUT_VADDR,
    STACK_SIZE, STACK_VADDR,
};

/// Runs `src` with `input` mapped read-write at INPUT_VADDR (r1, length r2).
fn run_with<H: Helpers>(src: &str, input: &mut [u8], helpers: &mut H, budget: u64) -> Result<Exit, Trap> {
    let code = assemble(src).unwrap_or_else(|e| panic!("assembling {src:?}: {e}"));
    let program = verify(&code, helpers).unwrap_or_else(|e| panic!("verifying {src:?}: {e}"));
    let mut stack = [0u8; STACK_SIZE];
    let len = input.len() as u64;
    let mut mem = MemoryMap::new();
    mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
    mem.map(INPUT_VADDR, input, AccessPolicy::ReadWrite).unwrap();
    run(&program, program.main(), &[INPUT_VADDR, len], &mut mem, helpers, budget)
}

fn r0(src: &str) -> u64 {
    run_with(src, &mut [], &mut NoHelpers, 10_000).unwrap_or_else(|t| panic!("{src}: {t}")).r0
}

fn r0_mem(src: &str, mem: &mut [u8]) -> u64 {
    run_with(src, mem, &mut NoHelpers, 10_000).unwrap_or_else(|t| panic!("{src}: {t}")).r0
}

fn trap(src: &str, mem: &mut [u8]) -> Trap {
    run_with(src, mem, &mut NoHelpers, 10_000).expect_err(src)
}

#[test]
fn alu64_arithmetic() {
    assert_eq!(r0("mov %r0, 7\nadd %r0, -9\nexit"), (-2i64) as u64);
    assert_eq!(r0("mov %r0, 7\nmov %r1, 9\nsub %r0, %r1\nexit"), (-2i64) as u64);
    assert_eq!(r0("lddw %r0, 0x100000000\nmul %r0, 3\nexit"), 0x3_0000_0000);
    assert_eq!(r0("mov %r0, -7\ndiv %r0, 2\nexit"), u64::MAX / 2 - 3);
    assert_eq!(r0("mov %r0, -7\nsdiv %r0, 2\nexit"), (-3i64) as u64);
    assert_eq!(r0("mov %r0, -7\nsmod %r0, 2\nexit"), (-1i64) as u64);
    assert_eq!(r0("mov %r0, 7\nmod %r0, 4\nexit"), 3);
    assert_eq!(r0("mov %r0, 5\nneg %r0\nexit"), (-5i64) as u64);
    assert_eq!(r0("mov %r0, 0xf0\nor %r0, 0x0f\nand %r0, 0x3c\nxor %r0, 0xff\nexit"), 0xc3);
    assert_eq!(r0("mov %r0, 1\nlsh %r0, 63\nexit"), 1 << 63);
    assert_eq!(r0("mov %r0, 1\nlsh %r0, 63\nrsh %r0, 62\nexit"), 2);
    assert_eq!(r0("mov %r0, 1\nlsh %r0, 63\narsh %r0, 62\nexit"), (-2i64) as u64);
    // Shift amounts are masked to 6 bits.
    assert_eq!(r0("mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit"), 2);
}

#[test]
fn alu32_zero_extends_and_masks() {
    assert_eq!(r0("mov %r0, -1\nadd32 %r0, 1\nexit"), 0);
    assert_eq!(r0("mov %r0, -1\nmov32 %r0, %r0\nexit"), 0xffff_ffff);
    assert_eq!(r0("mov32 %r0, -7\nsdiv32 %r0, 2\nexit"), (-3i32) as u32 as u64);
    assert_eq!(r0("mov32 %r0, 1\nlsh32 %r0, 33\nexit"), 2);
    assert_eq!(r0("mov32 %r0, -8\narsh32 %r0, 1\nexit"), 0xffff_fffc);
    assert_eq!(r0("mov32 %r0, 5\nneg32 %r0\nexit"), 0xffff_fffb);
    assert_eq!(r0("lddw %r0, 0x1ffffffff\nmul32 %r0, 2\nexit"), 0xffff_fffe);
}

#[test]
fn division_by_zero_follows_rfc_9669() {
    // Quotient 0, remainder = dividend; never a trap.
    assert_eq!(r0("mov %r0, 9\nmov %r1, 0\ndiv %r0, %r1\nexit"), 0);
    assert_eq!(r0("mov %r0, 9\nmov %r1, 0\nmod %r0, %r1\nexit"), 9);
    assert_eq!(r0("mov %r0, -9\nmov %r1, 0\nsdiv %r0, %r1\nexit"), 0);
    assert_eq!(r0("mov %r0, -9\nmov %r1, 0\nsmod %r0, %r1\nexit"), (-9i64) as u64);
    assert_eq!(r0("mov %r0, -1\nmov %r1, 0\nmod32 %r0, %r1\nexit"), 0xffff_ffff);
    // INT_MIN / -1 wraps; INT_MIN % -1 is 0.
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit"), 1 << 63);
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit"), 0);
}

#[test]
fn sign_extending_moves() {
    assert_eq!(r0("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit"), (-128i64) as u64);
    assert_eq!(r0("mov %r1, 0x8000\nmovsx1664 %r0, %r1\nexit"), (-32768i64) as u64);
    assert_eq!(r0("lddw %r1, 0x80000000\nmovsx3264 %r0, %r1\nexit"), (i32::MIN as i64) as u64);
    assert_eq!(r0("mov %r1, 0x80\nmovsx832 %r0, %r1\nexit"), 0xffff_ff80);
}

#[test]
fn byte_order() {
    let v = "lddw %r0, 0x0102030405060708\n";
    assert_eq!(r0(&format!("{v}be16 %r0\nexit")), 0x0807);
    assert_eq!(r0(&format!("{v}be32 %r0\nexit")), 0x0807_0605);
    assert_eq!(r0(&format!("{v}be64 %r0\nexit")), 0x0807_0605_0403_0201);
    assert_eq!(r0(&format!("{v}le16 %r0\nexit")), 0x0708);
    assert_eq!(r0(&format!("{v}le32 %r0\nexit")), 0x0506_0708);
    assert_eq!(r0(&format!("{v}le64 %r0\nexit")), 0x0102_0304_0506_0708);
    assert_eq!(r0(&format!("{v}bswap16 %r0\nexit")), 0x0807);
    assert_eq!(r0(&format!("{v}bswap64 %r0\nexit")), 0x0807_0605_0403_0201);
}

#[test]
fn conditional_jumps() {
    // Each case: condition that must be taken with r1 = -1, r2 = 1.
    let taken = [
        "jeq %r1, -1",
        "jne %r1, %r2",
        "jgt %r1, %r2",
        "jge %r1, 1",
        "jlt %r2, %r1",
        "jle %r2, 1",
        "jsgt %r2, %r1",
        "jsge %r2, -1",
        "jslt %r1, %r2",
        "jsle %r1, -1",
        "jset %r1, 2",
        "jeq32 %r1, -1",
        "jgt32 %r1, 1",
        "jslt32 %r1, 0",
        "jset32 %r2, %r1",
        "jne32 %r1, 0",
    ];
    for cond in taken {
        let src = format!("mov %r1, -1\nmov %r2, 1\nmov %r0, 0\n{cond}, yes\nexit\nyes:\nmov %r0, 1\nexit");
        assert_eq!(r0(&src), 1, "{cond} should be taken");
    }
    let not_taken = ["jeq %r1, 1", "jgt %r2, %r1", "jsgt %r1, %r2", "jset %r2, 2", "jlt32 %r1, 5", "jsge32 %r1, 0"];
    for cond in not_taken {
        let src = format!("mov %r1, -1\nmov %r2, 1\nmov %r0, 0\n{cond}, yes\nexit\nyes:\nmov %r0, 1\nexit");
        assert_eq!(r0(&src), 0, "{cond} should not be taken");
    }
    // JMP32 compares only the low halves.
    assert_eq!(r0("lddw %r1, 0x100000005\nmov %r0, 0\njeq32 %r1, 5, y\nexit\ny:\nmov %r0, 1\nexit"), 1);
    assert_eq!(r0("lddw %r1, 0x100000005\nmov %r0, 0\njeq %r1, 5, y\nexit\ny:\nmov %r0, 1\nexit"), 0);
}

#[test]
fn unconditional_jumps() {
    assert_eq!(r0("mov %r0, 1\nja skip\nmov %r0, 2\nskip:\nexit"), 1);
    assert_eq!(r0("mov %r0, 1\nja32 skip\nmov %r0, 2\nskip:\nexit"), 1);
    assert_eq!(r0("mov %r0, 0\nja start\nback:\nexit\nstart:\nadd %r0, 3\nja back"), 3);
}

#[test]
fn loads_and_stores_of_all_widths() {
    let mut mem = [0u8; 16];
    let src = "stb [%r1+0], 0x11\nsth [%r1+2], 0x2233\nstw [%r1+4], -2\nstdw [%r1+8], -1\nmov %r0, 0\nexit";
    r0_mem(src, &mut mem);
    assert_eq!(mem, [0x11, 0, 0x33, 0x22, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let src = "lddw %r2, 0x8877665544332211\nstxdw [%r1+8], %r2\nstxw [%r1], %r2\nstxh [%r1+4], %r2\nstxb [%r1+6], %r2\nldxdw %r0, [%r1+8]\nexit";
    assert_eq!(r0_mem(src, &mut mem), 0x8877_6655_4433_2211);
    assert_eq!(&mem[..8], &[0x11, 0x22, 0x33, 0x44, 0x11, 0x22, 0x11, 0xff]);
    assert_eq!(r0_mem("ldxw %r0, [%r1]\nexit", &mut mem), 0x4433_2211);
    assert_eq!(r0_mem("ldxh %r0, [%r1+6]\nexit", &mut mem), 0xff11);
    assert_eq!(r0_mem("ldxb %r0, [%r1+7]\nexit", &mut mem), 0xff);
    assert_eq!(r0_mem("ldxsb %r0, [%r1+7]\nexit", &mut mem), u64::MAX);
    assert_eq!(r0_mem("ldxsh %r0, [%r1+6]\nexit", &mut mem), 0xffff_ffff_ffff_ff11);
    assert_eq!(r0_mem("ldxsw %r0, [%r1+12]\nexit", &mut mem), 0xffff_ffff_8877_6655);
    // Unaligned plain accesses are allowed.
    assert_eq!(r0_mem("ldxw %r0, [%r1+1]\nexit", &mut mem), 0x1144_3322);
}

#[test]
fn stack_is_512_bytes_below_r10() {
    assert_eq!(r0("stdw [%r10-512], 7\nldxdw %r0, [%r10-512]\nexit"), 7);
    let t = trap("stdw [%r10-520], 7\nexit", &mut []);
    assert_eq!(t.pc, 0);
    assert!(matches!(t.kind, TrapKind::Memory(f) if f.kind == FaultKind::Unmapped || f.kind == FaultKind::OutOfBounds));
    let t = trap("mov %r0, 0\nldxb %r0, [%r10]\nexit", &mut []);
    assert_eq!(t.pc, 1);
    assert!(matches!(t.kind, TrapKind::Memory(f) if f.kind == FaultKind::OutOfBounds && f.addr == STACK_VADDR + 512));
}

#[test]
fn atomics() {
    let cases: [(&str, u64, u64); 8] = [
        // (operation on [r10-8] holding 0b1100 with r1 = 0b1010, expected memory, expected r1)
        ("lock add [%r10-8], %r1", 22, 10),
        ("lock or [%r10-8], %r1", 14, 10),
        ("lock and [%r10-8], %r1", 8, 10),
        ("lock xor [%r10-8], %r1", 6, 10),
        ("lock fetch add [%r10-8], %r1", 22, 12),
        ("lock fetch xor [%r10-8], %r1", 6, 12),
        ("lock xchg [%r10-8], %r1", 10, 12),
        ("lock fetch and32 [%r10-8], %r1", 8, 12),
    ];
    for (op, mem, r1) in cases {
        let src = format!("stdw [%r10-8], 12\nmov %r1, 10\n{op}\nldxdw %r0, [%r10-8]\nstxdw [%r10-16], %r1\nexit");
        assert_eq!(r0(&src), mem, "{op}: memory");
        let src = format!("stdw [%r10-8], 12\nmov %r1, 10\n{op}\nmov %r0, %r1\nexit");
        assert_eq!(r0(&src), r1, "{op}: r1");
    }
    // 32-bit atomics touch only the low word and zero-extend fetched values.
    assert_eq!(
        r0("stdw [%r10-8], -1\nmov %r1, 1\nlock add32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit"),
        0xffff_ffff_0000_0000
    );
    assert_eq!(r0("stdw [%r10-8], -1\nmov %r1, 1\nlock fetch add32 [%r10-8], %r1\nmov %r0, %r1\nexit"), 0xffff_ffff);
    // cmpxchg: stores src when r0 matches, always returns the old value in r0.
    let hit = "stdw [%r10-8], 5\nmov %r0, 5\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r2, 8\nor %r0, %r2\nexit";
    assert_eq!(r0(hit), (9 << 8) | 5);
    let miss = "stdw [%r10-8], 5\nmov %r0, 4\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r2, 8\nor %r0, %r2\nexit";
    assert_eq!(r0(miss), (5 << 8) | 5);
    // Atomics must be naturally aligned.
    let t = trap("mov %r1, 1\nlock add [%r10-12], %r1\nexit", &mut []);
    assert!(matches!(t.kind, TrapKind::Memory(f) if f.kind == FaultKind::Misaligned));
}

#[test]
fn local_calls_preserve_callee_saved_and_move_the_frame() {
    let src = "
        mov %r6, 6
        stdw [%r10-8], 1
        mov %r1, 2
        call local f
        ldxdw %r1, [%r10-8]     # the caller's slot survives the callee's store
        add %r0, %r1
        add %r0, %r6
        exit
    f:
        stdw [%r10-8], 100      # the callee's own frame
        ldxdw %r0, [%r10-8]
        add %r0, %r1
        mov %r6, 0
        exit";
    assert_eq!(r0(src), 100 + 2 + 1 + 6);
}

#[test]
fn recursion_is_bounded() {
    let t = trap("f:\ncall local f\nexit", &mut []);
    assert_eq!(t.kind, TrapKind::CallDepthExceeded);
    // Eight nested calls are fine.
    let src = "mov %r0, 0\ncall local a\nexit\na:\ncall local b\nexit\nb:\ncall local c\nexit\nc:\ncall local d\nexit\nd:\ncall local e\nexit\ne:\ncall local f\nexit\nf:\ncall local g\nexit\ng:\ncall local h\nexit\nh:\nmov %r0, 8\nexit";
    assert_eq!(r0(src), 8);
}

#[test]
fn budget_ends_every_run() {
    let t = run_with("l:\nja l", &mut [], &mut NoHelpers, 1000).unwrap_err();
    assert_eq!(t.kind, TrapKind::BudgetExhausted);
    // Three instructions need a budget of exactly three.
    let src = "mov %r0, 1\nadd %r0, 1\nexit";
    assert_eq!(run_with(src, &mut [], &mut NoHelpers, 3).unwrap().executed, 3);
    let t = run_with(src, &mut [], &mut NoHelpers, 2).unwrap_err();
    assert_eq!(t, Trap { pc: 2, kind: TrapKind::BudgetExhausted });
}

#[test]
fn memory_traps_carry_pc_and_address() {
    let t = trap("mov %r1, 0\nldxb %r0, [%r1+16]\nexit", &mut []);
    assert_eq!(t.pc, 1);
    assert!(
        matches!(t.kind, TrapKind::Memory(f) if f.addr == 16 && f.kind == FaultKind::Unmapped && f.access == Access::Read)
    );
    let mut mem = [0u8; 4];
    let t = trap("stw [%r1+1], 0\nexit", &mut mem);
    assert!(
        matches!(t.kind, TrapKind::Memory(f) if f.addr == INPUT_VADDR + 1 && f.kind == FaultKind::OutOfBounds && f.access == Access::Write)
    );
}

#[test]
fn read_only_regions_reject_stores() {
    let code = assemble("stb [%r1], 1\nexit").unwrap();
    let program = verify(&code, &NoHelpers).unwrap();
    let ro = [0u8; 4];
    let mut mem = MemoryMap::new();
    mem.map_read_only(INPUT_VADDR, &ro).unwrap();
    let t = run(&program, program.main(), &[INPUT_VADDR], &mut mem, &mut NoHelpers, 100).unwrap_err();
    assert!(matches!(t.kind, TrapKind::Memory(f) if f.kind == FaultKind::PolicyDenied));
}

/// Helper 1 sums `r2` bytes at `r1`, checking the pointer with the VM's map.
fn sum(a: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
    Ok(mem.read(a[0], a[1])?.iter().map(|&b| b as u64).sum())
}

#[test]
fn helpers_see_memory_through_regions() {
    let mut mem = [1u8, 2, 3, 4];
    let exit = run_with("mov %r2, 4\ncall 1\nexit", &mut mem, &mut OneHelper(1, sum), 100).unwrap();
    assert_eq!(exit.r0, 10);
    // A length one past the region is a trap, not a host read.
    let t = run_with("mov %r2, 5\ncall 1\nexit", &mut mem, &mut OneHelper(1, sum), 100).unwrap_err();
    assert!(
        matches!(t.kind, TrapKind::Helper { id: 1, error: HelperError::Memory(f) } if f.kind == FaultKind::OutOfBounds)
    );
    // callx resolves the id at run time and checks it.
    let exit = run_with("mov %r2, 2\nmov %r3, 1\ncall %r3\nexit", &mut mem, &mut OneHelper(1, sum), 100).unwrap();
    assert_eq!(exit.r0, 3);
    let t = run_with("mov %r3, 2\ncall %r3\nexit", &mut mem, &mut OneHelper(1, sum), 100).unwrap_err();
    assert_eq!(t, Trap { pc: 1, kind: TrapKind::HelperNotAllowed { id: 2 } });
}
