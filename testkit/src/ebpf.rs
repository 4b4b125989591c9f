//! eBPF-level test support shared by the VM's tests and the fuzz targets:
//! [`TestHelpers`], [`OneHelper`], the opcode tables, and [`valid_program`], which turns
//! arbitrary bytes into mostly-valid programs: each 8-byte slot is coerced
//! onto a valid opcode, valid registers, zero reserved fields and in-range
//! jump targets, so nearly every input verifies and a fuzzer explores the
//! interpreters rather than the verifier's first checks.

use alkyl_vm::isa::{alu, class, jmp, mode, op, source, Insn, INSN_SIZE};
use alkyl_vm::{HelperError, HelperSet, Helpers, MemoryMap, VerifyErrorKind};

/// Helper 1 sums `r2` bytes at `r1`; helper 2 fills `r2` bytes at `r1`
/// with `r3`; helper 3 refuses (`BadArgument`).
pub struct TestHelpers;

impl HelperSet for TestHelpers {
    fn contains(&self, id: u32) -> bool {
        (1..=3).contains(&id)
    }
}

impl Helpers for TestHelpers {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        match id {
            1 => Ok(mem.read(a[0], a[1])?.iter().map(|&b| b as u64).sum()),
            2 => {
                mem.write(a[0], a[1])?.fill(a[2] as u8);
                Ok(0)
            }
            3 => Err(HelperError::BadArgument { index: 0 }),
            _ => Err(HelperError::Unknown(id)),
        }
    }
}

/// A helper set of one helper, `id`, computed by `f` (a test's helper in
/// one line: `OneHelper(1, |a, _| Ok(a[0] + 1000))`).
pub struct OneHelper<F>(pub u32, pub F);

impl<F> HelperSet for OneHelper<F> {
    fn contains(&self, id: u32) -> bool {
        id == self.0
    }
}

impl<F: FnMut([u64; 5], &mut MemoryMap<'_>) -> Result<u64, HelperError>> Helpers for OneHelper<F> {
    fn call(&mut self, id: u32, a: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        assert_eq!(id, self.0, "a call outside the helper set");
        (self.1)(a, mem)
    }
}

/// Every single-slot opcode the verifier accepts, plus `lddw` (0x18).
pub const OPCODES: &[u8] = &[
    0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c,
    0xa4, 0xac, 0xb4, 0xbc, 0xc4, 0xcc, 0xd4, 0xdc, 0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57,
    0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7, 0x05, 0x15, 0x1d, 0x25,
    0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d, 0x65, 0x6d, 0x75, 0x7d, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5, 0xdd,
    0x85, 0x8d, 0x95, 0x06, 0x16, 0x1e, 0x26, 0x2e, 0x36, 0x3e, 0x46, 0x4e, 0x56, 0x5e, 0x66, 0x6e, 0x76, 0x7e, 0xa6,
    0xae, 0xb6, 0xbe, 0xc6, 0xce, 0xd6, 0xde, 0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91, 0x62, 0x6a, 0x72, 0x7a, 0x63,
    0x6b, 0x73, 0x7b, 0xc3, 0xdb, 0x18,
];
/// The atomic operations (`imm` of an atomic store) the verifier accepts.
pub const ATOMICS: &[i32] = &[0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];

fn pick<T: Copy>(table: &[T], v: i64) -> T {
    table[v.rem_euclid(table.len() as i64) as usize]
}

/// Coerces the slot at `pc` of a program of `slots` slots.
fn coerce(raw: &[u8; INSN_SIZE], slots: usize, pc: usize) -> Insn {
    let mut i = Insn::decode(raw);
    i.opc = pick(OPCODES, raw[0] as i64);
    i.dst %= 10;
    i.src %= 11;
    let rel = |v: i64| v.rem_euclid(slots as i64) - pc as i64 - 1;
    let by_reg = i.opc & source::MASK == source::X;
    match i.class() {
        class::ALU | class::ALU64 => {
            let o = i.opc & alu::MASK;
            if by_reg {
                i.imm = 0
            } else {
                i.src = 0
            }
            i.off = match o {
                alu::DIV | alu::MOD => i.off & 1,
                alu::MOV if by_reg && i.class() == class::ALU64 => pick(&[0, 8, 16, 32], i.off as i64),
                alu::MOV if by_reg => pick(&[0, 8, 16], i.off as i64),
                _ => 0,
            };
            if o == alu::NEG {
                i.imm = 0;
            }
            if o == alu::END {
                i.src = 0;
                i.imm = pick(&[16, 32, 64], i.imm as i64);
            }
        }
        class::JMP | class::JMP32 => match i.opc & jmp::MASK {
            jmp::JA => {
                (i.dst, i.src) = (0, 0);
                if i.class() == class::JMP32 {
                    (i.off, i.imm) = (0, rel(i.imm as i64) as i32);
                } else {
                    (i.off, i.imm) = (rel(i.off as i64) as i16, 0);
                }
            }
            jmp::CALL if by_reg => (i.src, i.off, i.imm) = (0, 0, 0),
            jmp::CALL => {
                (i.dst, i.off) = (0, 0);
                i.src %= 2;
                i.imm = if i.src == 1 { rel(i.imm as i64) as i32 } else { 1 + (i.imm & 1) };
            }
            jmp::EXIT => (i.dst, i.src, i.off, i.imm) = (0, 0, 0, 0),
            _ => {
                if by_reg {
                    i.imm = 0
                } else {
                    i.src = 0
                }
                i.off = rel(i.off as i64) as i16;
            }
        },
        class::LDX => i.imm = 0,
        class::ST => i.src = 0,
        class::STX if i.opc & mode::MASK == mode::ATOMIC => {
            i.imm = pick(ATOMICS, i.imm as i64);
            i.src %= 10;
        }
        class::STX => i.imm = 0,
        _ => (i.src, i.off) = (0, 0), // lddw
    }
    i
}

/// Overwrites some runs of slots with the instruction sequences the fast
/// engine fuses (clang's loop shapes), with registers, offsets and targets
/// taken from the fuzzer's bytes, so that the fused forms, their
/// non-fusing near misses (shared registers) and their placement right
/// before the final `exit` are explored, not left to chance.
fn plant_fusions(raw: &[u8], insns: &mut [Insn], total: usize) {
    let n = insns.len();
    let mut pc = 0;
    while pc < n {
        let b = &raw[pc * INSN_SIZE..][..INSN_SIZE];
        let (sel, r) = (b[1], |i: usize| b[2 + i] % 10);
        let (d, s, acc, x) = (r(0), r(1), r(2), r(3));
        let rel = |at: usize| (b[6] as usize % total) as i64 - at as i64 - 1;
        let off = (b[7] % 8) as i16 - 2;
        let ldx = [0x71, 0x69, 0x61, 0x69][(b[7] >> 6) as usize];
        let seq: Vec<Insn> = match sel % 32 {
            0 => vec![
                Insn::new(ldx, d, s, off, 0),
                Insn::new(0x0c, acc, d, 0, 0),
                Insn::new(0x07, s, 0, 0, (b[6] % 5) as i32 - 1),
                Insn::new(0xbc, d, acc, 0, 0),
                Insn::new(0x0c, d, x, 0, 0),
            ],
            1 => vec![Insn::new(ldx, d, s, off, 0), Insn::new(0x0c, acc, d, 0, 0), Insn::new(0x07, s, 0, 0, 2)],
            2 => vec![
                Insn::new(0x04, d, 0, 0, -1),
                Insn::new(0xbc, x, acc, 0, 0),
                Insn::new(0x56, d, 0, rel(pc + 2) as i16, 0),
            ],
            3 => vec![Insn::new(0x04, d, 0, 0, -1), Insn::new(0x56, d, 0, rel(pc + 1) as i16, 0)],
            4 => vec![Insn::new(0xbc, d, s, 0, 0), Insn::new(0x56, acc, 0, rel(pc + 1) as i16, b[6] as i32 % 4)],
            5 => vec![Insn::new(0xbf, d, s, 0, 0), Insn::new(0x0f, d, acc, 0, 0)],
            6 => vec![Insn::new(0xbc, d, s, 0, 0), Insn::new(0x04, d, 0, 0, off as i32)],
            7 => vec![Insn::new(0x79 - 8 * (b[7] % 4), d, 10, -8 * (1 + (b[6] % 8) as i16), 0)],
            8 => vec![Insn::new(0x7b - 8 * (b[7] % 4), 10, s, -8 * (1 + (b[6] % 8) as i16), 0)],
            // zero-extension (into a copy, in place), an element's address,
            // three-address shifts and masks, a stack pointer in a register
            9 => vec![Insn::new(0xbf, d, s, 0, 0), Insn::new(0x67, d, 0, 0, 32), Insn::new(0x77, d, 0, 0, 32)],
            10 => vec![Insn::new(0x67, d, 0, 0, 32), Insn::new(0x77, d, 0, 0, 32)],
            11 => vec![
                Insn::new(0xbf, d, s, 0, 0),
                Insn::new(0x07, d, 0, 0, off as i32 * 8),
                Insn::new(0x0f, d, acc, 0, 0),
            ],
            12 => {
                let alu = [0x67, 0x77, 0x64, 0x74, 0x54][b[6] as usize % 5];
                let mov = if alu & 0x07 == 0x07 { 0xbf } else { 0xbc };
                vec![Insn::new(mov, d, s, 0, 0), Insn::new(alu, d, 0, 0, (b[7] % 32) as i32)]
            }
            13 => vec![
                Insn::new(0xbf, d, 10, 0, 0),
                Insn::new(0x07, d, 0, 0, -8 * (1 + (b[6] % 66) as i32)),
                Insn::new([0x61, 0x63, 0x79, 0x7b][b[7] as usize % 4], d, x, off, 0),
            ],
            14 => {
                vec![Insn::new(0x0f, d, s, 0, 0), Insn::new([0x71, 0x69, 0x61, 0x79][b[6] as usize % 4], x, d, off, 0)]
            }
            15 => vec![
                Insn::new(0xbf, d, s, 0, 0),
                Insn::new(0x0f, d, acc, 0, 0),
                Insn::new([0x71, 0x69, 0x61, 0x79][b[6] as usize % 4], x, d, off, 0),
            ],
            // loop latches with the bound in a register: `add; jlt/jgt`, the
            // copy before one, both
            16 => vec![
                Insn::new(0x07, d, 0, 0, (b[6] % 5) as i32 - 1),
                Insn::new(if b[7] & 1 == 0 { 0xad } else { 0x2d }, d, s, rel(pc + 1) as i16, 0),
            ],
            17 => vec![
                Insn::new(0xbc, d, s, 0, 0),
                Insn::new(if b[7] & 1 == 0 { 0xad } else { 0x2d }, acc, x, rel(pc + 1) as i16, 0),
            ],
            18 => vec![
                Insn::new(0x07, d, 0, 0, (b[6] % 5) as i32 - 1),
                Insn::new(0xbc, x, acc, 0, 0),
                Insn::new(if b[7] & 1 == 0 { 0xad } else { 0x2d }, d, s, rel(pc + 2) as i16, 0),
            ],
            // a stack array's element (`mov d, r10; add d, k; add d, i` and
            // a load or store through d) and a scaled zero-extended index
            19 => vec![
                Insn::new(0xbf, d, 10, 0, 0),
                Insn::new(0x07, d, 0, 0, -8 * (b[6] % 66) as i32 + off as i32),
                Insn::new(0x0f, d, s, 0, 0),
                match b[7] % 6 {
                    n @ 0..=2 => Insn::new([0x71, 0x69, 0x61][n as usize], x, d, off, 0),
                    n => Insn::new([0x73, 0x6b, 0x63][n as usize - 3], d, x, off, 0),
                },
            ],
            20 => vec![
                Insn::new(0xbf, d, s, 0, 0),
                Insn::new(0x67, d, 0, 0, 32),
                Insn::new(0x77, d, 0, 0, 32),
                Insn::new(0x67, d, 0, 0, (b[6] % 64) as i32),
            ],
            // a 32-bit rotate (the counts adding up to 32 or, rarely, not)
            21 => {
                let n = 1 + (b[6] % 32) as i32;
                vec![
                    Insn::new(0xbc, acc, s, 0, 0),
                    Insn::new(0x74, acc, 0, 0, n.min(31)),
                    Insn::new(0xbc, d, s, 0, 0),
                    Insn::new(0x64, d, 0, 0, 32 - n),
                    Insn::new(0x4c, d, acc, 0, 0),
                ]
            }
            // a signed 16-bit load
            22 => vec![
                Insn::new(0x69, d, s, off, 0),
                Insn::new(0x64, d, 0, 0, 16),
                Insn::new(0xc4, d, 0, 0, 16 - (b[6] % 8 == 0) as i32),
            ],
            // a three-address ALU op: `mov d, s; OP d, acc` or `OP d, imm`,
            // the copy 64- or 32-bit, OP of either width, acc often d
            23 => {
                let op = [0x0f, 0x1f, 0x2f, 0x4f, 0x5f, 0x6f, 0x7f, 0xaf][b[6] as usize % 8];
                let op = op - 0x08 * (b[7] & 1) - 0x03 * (b[7] >> 1 & 1);
                let src = if op & 0x08 == 0 {
                    0
                } else if b[7] & 4 != 0 {
                    d
                } else {
                    acc
                };
                let mov = if b[7] & 8 != 0 { 0xbf } else { 0xbc };
                vec![Insn::new(mov, d, s, 0, 0), Insn::new(op, d, src, 0, off as i32 * 13)]
            }
            // round 6: a small value set before a 32-bit compare with an
            // immediate (`mov` or `mov32`, the value at and past the edges
            // of what fuses), two register copies of either width, a copy
            // before `jne32` or `ja`
            24 => vec![
                Insn::new(
                    if b[7] & 1 == 0 { 0xb7 } else { 0xb4 },
                    d,
                    0,
                    0,
                    (b[6] as i8 as i32) * (1 + (b[7] >> 7) as i32),
                ),
                Insn::new(
                    [0x16, 0x56, 0xa6, 0x26][(b[7] >> 1) as usize % 4],
                    x,
                    0,
                    rel(pc + 1) as i16,
                    off as i32 * 50,
                ),
            ],
            25 => vec![
                Insn::new(if b[7] & 1 == 0 { 0xbf } else { 0xbc }, d, s, 0, 0),
                Insn::new(if b[7] & 2 == 0 { 0xbf } else { 0xbc }, acc, if b[7] & 4 == 0 { x } else { d }, 0, 0),
            ],
            26 => vec![
                Insn::new(if b[7] & 1 == 0 { 0xbf } else { 0xbc }, d, s, 0, 0),
                match b[7] >> 1 & 1 {
                    0 => Insn::new(0x56, x, 0, rel(pc + 1) as i16, off as i32),
                    _ => Insn::new(0x05, 0, 0, rel(pc + 1) as i16, 0),
                },
            ],
            // the ALU chains of round 6a (issue 16)
            27 => alu_idiom(b[6], [d, s, acc, x], b[7], i32::from_le_bytes([b[4], b[5], b[6], b[7]])),
            // round 7b: a switch's jump chain, `jeq32 d, j; jeq32/jne32 d, k`
            // (sometimes on two registers), the constants at and past `i8`
            28 => vec![
                Insn::new(0x16, d, 0, rel(pc) as i16, (b[4] as i8 as i32) * (1 + (b[7] & 1) as i32)),
                Insn::new(
                    if b[7] & 2 == 0 { 0x16 } else { 0x56 },
                    if b[7] & 4 == 0 { d } else { x },
                    0,
                    rel(pc + 1) as i16,
                    b[5] as i8 as i32,
                ),
            ],
            // round 7b: a table's element address, `lddw d, k; add d, s` (s
            // sometimes d)
            29 => vec![
                Insn::new(0x18, d, 0, 0, i32::from_le_bytes([b[4], b[5], b[6], b[7]])),
                Insn::new(0, 0, 0, 0, (b[6] % 3) as i32 - 1),
                Insn::new(0x0f, d, if b[7] & 1 == 0 { s } else { d }, 0, 0),
            ],
            // round 7a: a stack array's element at an extended index, two
            // stores through one base register
            30 => stack_memory(b[6], [d, s, acc, x], b[7], i32::from_le_bytes([b[4], b[5], b[6], b[7]])),
            // a word reloaded from the frame into a 32-bit sum (the frame
            // offset may leave the frame: a fault at the load's slot)
            31 => vec![Insn::new(0x61, d, 10, -4 * (b[6] % 40) as i16, 0), Insn::new(0x0c, acc, d, 0, 0)],
            _ => Vec::new(),
        };
        let fits = pc + seq.len() <= n
            && insns[pc.saturating_sub(1)..pc + seq.len()].iter().all(|i| !op::is_wide(i.opc) && i.opc != 0);
        if !seq.is_empty() && fits {
            insns[pc..pc + seq.len()].copy_from_slice(&seq);
            pc += seq.len();
        } else {
            pc += 1;
        }
    }
}

/// One of the fast engine's round 7a memory shapes (issue 16; shape `sel`,
/// registers `r = [d, s, t, x]`, scale from `k`, offsets from `imm`), or a
/// near miss of one (a shift pair of 31, a scale of 8, an offset on the
/// access, `t == d` when the registers collide, a pair of different sizes
/// or through `r10`): `[mov t, s;] lsh t, 32; rsh/arsh t, 32; lsh t, sh; mov
/// d, r10; add d, k; add d, t` and a 16- or 32-bit load or store at `[d +
/// 0]`, the index sometimes set small first; and `stx [d + o1], x; stx [d +
/// o2], s` of one size. For the differential tests (`vm/tests/fast.rs`) and
/// the fuzzer.
pub fn stack_memory(sel: u8, r: [u8; 4], k: u8, imm: i32) -> Vec<Insn> {
    let [d, s, t, x] = r;
    let mut seq = Vec::new();
    if sel & 1 == 0 {
        let copy = sel & 2 != 0;
        let (t, s) = if copy { (t, s) } else { (t, t) };
        if sel & 0x80 != 0 {
            // A small index, sometimes negative.
            seq.push(Insn::new(0xb4, s, 0, 0, (imm >> 8) % 40));
        }
        if copy {
            seq.push(Insn::new(0xbf, t, s, 0, 0));
        }
        let pair = if k & 0x80 != 0 && k & 0x40 != 0 { 31 } else { 32 };
        let ext = if sel & 4 != 0 { class::ALU64 | alu::ARSH } else { class::ALU64 | alu::RSH };
        let off = if sel & 0x40 != 0 && k & 0x20 != 0 { 2 } else { 0 };
        let access = match sel >> 3 & 3 {
            0 => Insn::new(0x69, x, d, off, 0),
            1 => Insn::new(0x61, x, d, off, 0),
            2 => Insn::new(0x6b, d, x, off, 0),
            _ => Insn::new(0x63, d, x, off, 0),
        };
        seq.extend([
            Insn::new(0x67, t, 0, 0, pair),
            Insn::new(ext, t, 0, 0, 32),
            Insn::new(0x67, t, 0, 0, (k % 9) as i32),
            Insn::new(0xbf, d, 10, 0, 0),
            Insn::new(0x07, d, 0, 0, -8 * (1 + imm.rem_euclid(64))),
            Insn::new(0x0f, d, t, 0, 0),
            access,
        ]);
    } else {
        let st = [0x73, 0x6b, 0x63, 0x7b][(sel >> 1 & 3) as usize];
        let other = if sel & 0x20 != 0 { [0x73, 0x63][(sel >> 6 & 1) as usize] } else { st };
        let base = if sel & 0x08 != 0 && sel & 0x10 != 0 { 10 } else { d };
        let (o1, o2) = ((imm % 24) as i16 - 8, (imm >> 8 & 31) as i16 - 8);
        let (o1, o2) = if base == 10 { (-8 - o1.abs(), -8 - o2.abs()) } else { (o1, o2) };
        seq.extend([Insn::new(st, base, x, o1, 0), Insn::new(other, base, s, o2, 0)]);
    }
    seq
}

/// One of the fast engine's fused ALU chains (round 6 of issue 16; shape
/// `sel`, registers `r = [d, s, t, x]`, shift count from `k`, constant
/// `imm`), or a near miss of one when the registers collide (the second
/// operand equal to the destination) or the widths disagree: `sh d, k; OP
/// d, x` and `sh d, k; and d, imm`; `mov d, s; sh d, k; xor d, x` and `mov
/// d, s; rsh d, k; and d, imm`; `xor d, s; mul d, x` (64-bit) and `xor32 d,
/// s; mul32 d, imm`; `mul d, imm; add d, x` and `mul d, s; add d, x`;
/// `and32 d, 1; neg32 d; and32 d, imm` with or without `xor32 d, x`; a
/// 32-bit rotate and `xor32 x, d` or `xor32 d, x`. For the differential
/// tests (`vm/tests/fast.rs`) and the fuzzer.
pub fn alu_idiom(sel: u8, r: [u8; 4], k: u8, imm: i32) -> Vec<Insn> {
    let [d, s, t, x] = r;
    // 64- or 32-bit, and sometimes a second op of the other width.
    let wide = sel & 0x10 != 0;
    let (alu_x, alu_k) =
        if wide { (class::ALU64 | source::X, class::ALU64) } else { (class::ALU | source::X, class::ALU) };
    let other_x = match (sel & 0x60 == 0x60, wide) {
        (true, true) => class::ALU | source::X,
        (true, false) => class::ALU64 | source::X,
        _ => alu_x,
    };
    let k = (k % if wide { 64 } else { 32 }) as i32;
    let sh = if sel & 0x20 != 0 { alu::LSH } else { alu::RSH };
    let mov = if wide || sel & 0x80 != 0 { 0xbf } else { 0xbc };
    match sel % 8 {
        0 => {
            let o = [alu::OR, alu::XOR, alu::ADD, alu::AND][(sel >> 3) as usize % 4];
            vec![Insn::new(alu_k | sh, d, 0, 0, k), Insn::new(other_x | o, d, x, 0, 0)]
        }
        1 => vec![Insn::new(alu_k | sh, d, 0, 0, k), Insn::new(alu_k | alu::AND, d, 0, 0, imm)],
        2 => vec![
            Insn::new(mov, d, s, 0, 0),
            Insn::new(alu_k | sh, d, 0, 0, k),
            Insn::new(other_x | alu::XOR, d, x, 0, 0),
        ],
        3 => vec![
            Insn::new(mov, d, s, 0, 0),
            Insn::new(alu_k | alu::RSH, d, 0, 0, k),
            Insn::new(alu_k | alu::AND, d, 0, 0, imm),
        ],
        4 if wide => vec![Insn::new(alu_x | alu::XOR, d, s, 0, 0), Insn::new(other_x | alu::MUL, d, x, 0, 0)],
        4 => vec![Insn::new(alu_x | alu::XOR, d, s, 0, 0), Insn::new(alu_k | alu::MUL, d, 0, 0, imm)],
        5 if sel & 0x80 != 0 => {
            vec![Insn::new(alu_x | alu::MUL, d, s, 0, 0), Insn::new(other_x | alu::ADD, d, x, 0, 0)]
        }
        5 => vec![Insn::new(alu_k | alu::MUL, d, 0, 0, imm), Insn::new(other_x | alu::ADD, d, x, 0, 0)],
        6 => {
            let mut v = vec![
                Insn::new(class::ALU | alu::AND, d, 0, 0, if sel & 0x80 != 0 { 3 } else { 1 }),
                Insn::new(class::ALU | alu::NEG, d, 0, 0, 0),
                Insn::new(class::ALU | alu::AND, d, 0, 0, imm),
            ];
            if sel & 0x20 != 0 {
                v.push(Insn::new(class::ALU | source::X | alu::XOR, d, x, 0, 0));
            }
            v
        }
        _ => {
            let n = 1 + k % 31;
            vec![
                Insn::new(0xbc, t, s, 0, 0),
                Insn::new(class::ALU | alu::RSH, t, 0, 0, n),
                Insn::new(0xbc, d, s, 0, 0),
                Insn::new(class::ALU | alu::LSH, d, 0, 0, 32 - n),
                Insn::new(class::ALU | source::X | alu::OR, d, t, 0, 0),
                if sel & 0x20 != 0 {
                    Insn::new(class::ALU | source::X | alu::XOR, x, d, 0, 0)
                } else {
                    Insn::new(class::ALU | source::X | alu::XOR, d, x, 0, 0)
                },
            ]
        }
    }
}

/// The bytecode of a verified program (for [`TestHelpers`]) built from `raw` (at most 512 slots
/// plus a final `exit`), or `None` when no such program could be made.
pub fn valid_program(raw: &[u8]) -> Option<Vec<u8>> {
    let slots = raw.len() / INSN_SIZE;
    if slots == 0 || slots > 512 {
        return None;
    }
    let total = slots + 1; // plus the final exit
    let mut insns: Vec<Insn> = Vec::with_capacity(total);
    let mut pc = 0;
    while pc < slots {
        let chunk: &[u8; INSN_SIZE] = raw[pc * INSN_SIZE..][..INSN_SIZE].try_into().unwrap();
        let insn = coerce(chunk, total, pc);
        insns.push(insn);
        pc += 1;
        if op::is_wide(insn.opc) {
            let hi = i32::from_le_bytes(
                raw.get(pc * INSN_SIZE + 4..pc * INSN_SIZE + 8).and_then(|b| b.try_into().ok()).unwrap_or([0; 4]),
            );
            insns.push(Insn::new(0, 0, 0, 0, hi));
            pc += 1;
        }
    }
    insns.truncate(slots);
    plant_fusions(raw, &mut insns, total);
    if insns.last().is_some_and(|i| op::is_wide(i.opc)) {
        insns.pop();
        insns.push(Insn::new(0xb7, 0, 0, 0, 0));
    }
    insns.push(Insn::new(op::EXIT, 0, 0, 0, 0));
    // Repair what coercion cannot see locally (jumps into an lddw's second
    // slot): replace the offender with `mov r0, imm` and verify again.
    for _ in 0..32 {
        let code: Vec<u8> = insns.iter().flat_map(|i| i.encode()).collect();
        match alkyl_vm::verify(&code, &TestHelpers) {
            Ok(_) => return Some(code),
            Err(e) if e.kind != VerifyErrorKind::FallsOffEnd && e.pc < insns.len() => {
                let imm = insns[e.pc].imm;
                insns[e.pc] = Insn::new(0xb7, 0, 0, 0, imm);
            }
            Err(_) => return None,
        }
    }
    None
}
