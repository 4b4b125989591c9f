//! The fast engine's instruction set, described once.
//!
//! [`for_each_op!`] holds one row per [`Kind`](super::op::Kind) (or one
//! row per family of kinds): its operands, its width (the slots it covers),
//! its control flow and what it does. Everything that has to agree about an
//! op is generated from here:
//!
//! - `op.rs`: the `Kind` variants, [`Kind::width`](super::op::Kind::width)
//!   and [`Kind::successors`](super::op::Kind::successors), which
//!   translation checks (`first_escape`) before a program may run;
//! - `exec.rs`: the interpreter's dispatch, one `match` arm per row, which
//!   moves `pc` exactly as the row's width and flow say. The unchecked op
//!   fetch there relies on that agreement (see its `SAFETY` note).
//!
//! The lowering (`translate.rs`) picks the kinds; it is checked against the
//! table by `first_escape`, never trusted.
//!
//! # Rows
//! A row is `Name { field: Type, .. } = WIDTH, FLOW => { BODY };`, where
//! FLOW is one of
//!
//! | flow         | successors at `pc`           | the body                      |
//! |--------------|------------------------------|-------------------------------|
//! | `next`       | `pc + WIDTH`                 | statements                    |
//! | `branch(t)`  | `pc + WIDTH` or `pc + t`     | statements, then whether to take the jump (`bool`) |
//! | `branch2(t, u)` | `pc + t`; `pc + 1`; `pc + u` or `pc + 2` (WIDTH 2: two compares) | whether each compare jumps (`(bool, bool)`) |
//! | `jump(t)`    | `pc + t`                     | empty                         |
//! | `call(t)`    | the slot `t`; `pc + WIDTH` when the callee returns | empty   |
//! | `exit`       | none (returns, or the fallthrough of the call it returns from) | empty |
//! | `trap`       | none                         | empty                         |
//! | `decoded`    | decoded again from the bytecode (a generic op) | empty       |
//!
//! A jump's target is relative to the op's own slot (`t: i16`: the op
//! pointer moves by it, and the table's base need not live in a register
//! through the loop); translation leaves a jump generic when its target is
//! further (`rel_target` in `translate.rs`). A call's `t` is the callee's
//! slot (calls are rare, and a callee can be anywhere in the program).
//!
//! A branch's run ends at its last slot, `pc + WIDTH - 1`; a `branch2`'s
//! first compare ends a run at `pc` and its second one at `pc + 1`, each
//! charged as a branch of its own (see `flow!` in `exec.rs`). Bodies are
//! written in the interpreter's vocabulary (`r!`, `r32!`, `set!`, `set32!`,
//! `addr!`, `load!`, `load_at!`, `load_stack_at!`, `store!`, `store_at!`,
//! `store_stack_at!`, `load_fp!`, `store_fp!`, `lddw!`, `call_helper!`: see
//! `exec.rs`), so they read as the op's semantics. A body cannot move `pc`
//! (macro hygiene hides the interpreter's locals from it): only the flow
//! does, and the `_at!` accesses, which leave the run with a fault naming
//! a later slot of a fused op (the access's own), so that traps land where
//! the reference interpreter's do.
//!
//! Families spell both widths and both operand forms of an operation in one
//! row, with one expression (the operand types are `u64` or `u32`):
//! `alu I64 R64 I32 R32 => |a, b| EXPR;` (`d = EXPR` with `a = d` and `b` =
//! the immediate or `s`; `alu I64 R64 I32 R32 / R64 I64 R32 I32 => ..`
//! adds the three-address kinds: the same with `a` another register, `mov d,
//! a; OP d, b`), `jcc I64 R64 I32 R32 => OP;` and `jcc_imm I64
//! I32 => OP;` (jump to `t` when `d OP imm` / `a OP b`; `jcc signed` and
//! `jcc_imm signed` compare as signed integers, `jcc test` tests `&`),
//! `shift_op L64 R64 L32 R32 => |x, b| EXPR;` (`sh d, k; OP d, b`: `d =
//! EXPR` with `x` = `d` shifted left or right by the constant `k`; `shift_op
//! imm` with `b` an immediate, `shift_op mov` after a copy `mov d, a`, 3
//! slots), and the memory
//! families `load`, `store`, `store_imm`, `load_fp`, `store_fp`,
//! `add_load`, `mov_add_load`, `mov_add_load_into` of four sizes (1, 2, 4, 8 bytes); a family
//! of other sizes is spelled `@sized FAMILY (NAME BYTES) ..;` (the stack
//! arrays' `stack_load`, `stack_store`; `load_add32`).

/// Calls `$m! { rows }` with the whole instruction set in the row grammar
/// of the module docs, families expanded (see [`self`]).
macro_rules! for_each_op {
    ($m:ident) => {
        $crate::fast::table::expand! { $m []
            // 64- and 32-bit ALU, `d op= imm` and `d op= s` (32-bit results
            // zero-extended; shifts take the count modulo the width); after
            // the `/`, the same operation's three-address kinds: fused `mov d,
            // a; OP d, b` and `mov d, a; OP d, imm`, clang's two-address ALU
            // op after a copy, as the three-address op Wasm engines get from
            // their bytecode (`d = a + b`, `&local` as `r10 + imm`, shifts and
            // masks into a copy), both widths, 2 slots.
            alu Mov64I Mov64R Mov32I Mov32R => |_, b| b;
            alu Add64I Add64R Add32I Add32R / Add64Rrr Add64Rri Add32Rrr Add32Rri => |a, b| a.wrapping_add(b);
            alu Sub64I Sub64R Sub32I Sub32R / Sub64Rrr Sub64Rri Sub32Rrr Sub32Rri => |a, b| a.wrapping_sub(b);
            alu Mul64I Mul64R Mul32I Mul32R / Mul64Rrr Mul64Rri Mul32Rrr Mul32Rri => |a, b| a.wrapping_mul(b);
            alu And64I And64R And32I And32R / And64Rrr And64Rri And32Rrr And32Rri => |a, b| a & b;
            alu Or64I Or64R Or32I Or32R / Or64Rrr Or64Rri Or32Rrr Or32Rri => |a, b| a | b;
            alu Xor64I Xor64R Xor32I Xor32R / Xor64Rrr Xor64Rri Xor32Rrr Xor32Rri => |a, b| a ^ b;
            alu Lsh64I Lsh64R Lsh32I Lsh32R / Lsh64Rrr Lsh64Rri Lsh32Rrr Lsh32Rri => |a, b| a.wrapping_shl(b as u32);
            alu Rsh64I Rsh64R Rsh32I Rsh32R / Rsh64Rrr Rsh64Rri Rsh32Rrr Rsh32Rri => |a, b| a.wrapping_shr(b as u32);
            Neg64 { d: Reg } = 1, next => { set!(d, r!(d).wrapping_neg()) };
            Neg32 { d: Reg } = 1, next => { set32!(d, r32!(d).wrapping_neg()) };
            Arsh64I { d: Reg, imm: i32 } = 1, next => { set!(d, (r!(d) as i64).wrapping_shr(imm as u32) as u64) };
            Arsh32I { d: Reg, imm: i32 } = 1, next => { set32!(d, (r!(d) as i32).wrapping_shr(imm as u32) as u32) };
            /// Unsigned division and remainder, both widths, by an immediate
            /// (64-bit: sign-extended) or a register, with RFC 9669's results
            /// for a zero divisor (the reference interpreter's functions).
            Div64I { d: Reg, imm: i32 } = 1, next => { set!(d, udiv64(r!(d), imm as i64 as u64)) };
            Div64R { d: Reg, s: Reg } = 1, next => { set!(d, udiv64(r!(d), r!(s))) };
            Div32I { d: Reg, imm: i32 } = 1, next => { set32!(d, udiv32(r32!(d), imm as u32)) };
            Div32R { d: Reg, s: Reg } = 1, next => { set32!(d, udiv32(r32!(d), r32!(s))) };
            Mod64I { d: Reg, imm: i32 } = 1, next => { set!(d, umod64(r!(d), imm as i64 as u64)) };
            Mod64R { d: Reg, s: Reg } = 1, next => { set!(d, umod64(r!(d), r!(s))) };
            Mod32I { d: Reg, imm: i32 } = 1, next => { set32!(d, umod32(r32!(d), imm as u32)) };
            Mod32R { d: Reg, s: Reg } = 1, next => { set32!(d, umod32(r32!(d), r32!(s))) };
            /// Byte swaps: `be16/32/64` and `bswap16/32/64` (swap, the rest
            /// cleared), `le16/32` (truncation) and `le64` (nothing).
            Swap16 { d: Reg } = 1, next => { set!(d, swap16(r!(d))) };
            Swap32 { d: Reg } = 1, next => { set!(d, swap32(r!(d))) };
            Swap64 { d: Reg } = 1, next => { set!(d, swap64(r!(d))) };
            Le16 { d: Reg } = 1, next => { set!(d, r!(d) as u16 as u64) };
            Le32 { d: Reg } = 1, next => { set!(d, r32!(d) as u64) };
            Le64 = 1, next => {};
            /// Sign-extending moves (`movsx`, v4): the low 8, 16 or 32 bits of
            /// `s`, sign-extended to 64 bits, or to 32 and zero-extended.
            MovSx8To64 { d: Reg, s: Reg } = 1, next => { set!(d, sign_extend(r!(s), size::B)) };
            MovSx16To64 { d: Reg, s: Reg } = 1, next => { set!(d, sign_extend(r!(s), size::H)) };
            MovSx32To64 { d: Reg, s: Reg } = 1, next => { set!(d, sign_extend(r!(s), size::W)) };
            MovSx8To32 { d: Reg, s: Reg } = 1, next => { set32!(d, sign_extend(r!(s), size::B) as u32) };
            MovSx16To32 { d: Reg, s: Reg } = 1, next => { set32!(d, sign_extend(r!(s), size::H) as u32) };
            /// Fused `mov d, a; add d, imm; add d, b` (an element's address:
            /// base plus offset plus scaled index, `&stack_array[i]`), 3 slots.
            Add64Rrir { d: Reg, a: Reg, imm: i16, b: Reg } = 3, next => {
                set!(d, r!(a).wrapping_add(imm as i64 as u64).wrapping_add(r!(b)))
            };
            /// Fused `lsh d, 32; rsh d, 32` (zero-extension of a 32-bit index), 2
            /// slots.
            Zext64 { d: Reg } = 2, next => { set!(d, r32!(d) as u64) };
            /// Fused `mov d, s; lsh d, 32; rsh d, 32`, 3 slots.
            MovZext64 { d: Reg, s: Reg } = 3, next => { set!(d, r32!(s) as u64) };
            /// Fused `mov d, s; lsh d, 32; rsh d, 32; lsh d, imm` and `lsh d, 32;
            /// rsh d, 32; lsh d, imm` (a 32-bit index zero-extended and scaled
            /// to its element's size), 4 and 3 slots.
            MovZextLsh { d: Reg, s: Reg, imm: i32 } = 4, next => {
                set!(d, (r32!(s) as u64).wrapping_shl(imm as u32))
            };
            ZextLsh { d: Reg, imm: i32 } = 3, next => { set!(d, (r32!(d) as u64).wrapping_shl(imm as u32)) };
            // Fused `ldxb/ldxh/ldxw d, [s + off]; add32 acc, d` (load and
            // accumulate, as checksum loops do; SHA-2's `t1 += w[i]`, `t1 +=
            // k[i]`), 2 slots; from the frame, the word's `LdxWFpAdd32` (spilled
            // sums reloaded into one).
            @sized load_add32 (LdxBAdd32 1) (LdxHAdd32 2) (LdxWAdd32 4);
            LdxWFpAdd32 { d: Reg, off: i16, acc: Reg } = 2, next => {
                let v = load_fp!(4, off);
                set!(d, v);
                set32!(acc, r32!(acc).wrapping_add(v as u32));
            };
            /// Fused `ldxb/ldxh d, [s + off]; add32 acc, d; add s, inc` (load,
            /// accumulate, advance the pointer: a reduction loop's body), 3 slots.
            LdxBAdd32Inc { d: Reg, s: Reg, off: i16, acc: Reg, inc: i8 } = 3, next => {
                let v = load!(1, addr!(s, off));
                set!(d, v);
                set32!(acc, r32!(acc).wrapping_add(v as u32));
                set!(s, r!(s).wrapping_add(inc as i64 as u64));
            };
            LdxHAdd32Inc { d: Reg, s: Reg, off: i16, acc: Reg, inc: i8 } = 3, next => {
                let v = load!(2, addr!(s, off));
                set!(d, v);
                set32!(acc, r32!(acc).wrapping_add(v as u32));
                set!(s, r!(s).wrapping_add(inc as i64 as u64));
            };
            /// Fused `ldxb/ldxh d, [s + off]; add32 acc, d; add s, inc; mov32 d,
            /// acc; add32 d, x`: a load-accumulate-advance step followed by the
            /// three-address add of a second running sum (`d = acc + x`), the body
            /// of two-sum checksum loops (Fletcher, Adler) as clang emits it; 5
            /// slots. `d`, `s`, `acc`, `x` are distinct.
            LdxBSum2 { d: Reg, s: Reg, off: i16, acc: Reg, inc: i8, x: Reg } = 5, next => {
                let v = load!(1, addr!(s, off)) as u32;
                let a = r32!(acc).wrapping_add(v);
                set32!(acc, a);
                set!(s, r!(s).wrapping_add(inc as i64 as u64));
                set32!(d, a.wrapping_add(r32!(x)));
            };
            LdxHSum2 { d: Reg, s: Reg, off: i16, acc: Reg, inc: i8, x: Reg } = 5, next => {
                // `s` moves on before the load: a fault ends the run,
                // and no register is seen after a fault.
                let at = addr!(s, off);
                set!(s, r!(s).wrapping_add(inc as i64 as u64));
                let v = load!(2, at) as u32;
                let a = r32!(acc).wrapping_add(v);
                set32!(acc, a);
                set32!(d, a.wrapping_add(r32!(x)));
            };
            /// Fused `ldxh d, [s + off]; lsh32 d, 16; arsh32 d, 16`: a signed
            /// 16-bit load (`int16_t` samples, as clang emits it without the
            /// v4 sign-extending loads), 3 slots.
            LdxHSext32 { d: Reg, s: Reg, off: i16 } = 3, next => {
                set32!(d, load!(2, addr!(s, off)) as u16 as i16 as i32 as u32)
            };
            /// Fused `mov32 t, s; rsh32 t, n; mov32 d, s; lsh32 d, 32 - n; or32 d,
            /// t`: a 32-bit rotate right by `n` (1 to 31) as clang emits it for
            /// `x >> n | x << (32 - n)` (hashes, ciphers), 5 slots; `t` is
            /// neither `s` nor `d`.
            Ror32 { d: Reg, t: Reg, s: Reg, n: u8 } = 5, next => {
                let (lo, rot) = $crate::fast::table::ror32(r32!(s), n);
                set32!(t, lo);
                set32!(d, rot);
            };
            /// `lddw` (any of its forms, segment base added at translation); the
            /// high half of the value is the [`Kind::Wide`] in the next slot.
            Lddw { d: Reg, lo: i32 } = 2, next => { lddw!(d, lo) };
            /// Second slot of an `lddw` (never executed in a verified program).
            Wide { hi: i32 } = 1, trap => {};
            // Loads `d = [s + off]` and stores `[d + off] = s` / `= imm`.
            load LdxB LdxH LdxW LdxDw;
            store StxB StxH StxW StxDw;
            store_imm StB StH StW StDw;
            // Fused `add d, s; ldx x, [d + off]` (an indexed load: the address
            // computed, kept in `d`, and loaded from), 2 slots; and `mov d, a;
            // add d, b; ldx x, [d + off]`, 3 slots. A fault names the load's slot.
            add_load AddLdxB AddLdxH AddLdxW AddLdxDw;
            mov_add_load MovAddLdxB MovAddLdxH MovAddLdxW MovAddLdxDw;
            // Fused `mov d, r10; add d, k; add d, i; ldx x, [d + off]` and the
            // store `stx [d + off], x` (an element of a stack array, `&a[0]`
            // rematerialised from the frame pointer, plus an index), 4 slots:
            // `d = r10 + k + i`, the access checked against the stack window
            // first, then as any other. A fault names the access's slot. Three
            // sizes (no 8-byte element was seen through this shape).
            @sized stack_load (StkLdxB 1) (StkLdxH 2) (StkLdxW 4);
            @sized stack_store (StkStxB 1) (StkStxH 2) (StkStxW 4);
            // Loads and stores relative to the frame pointer `r10`: straight to
            // the stack window (see `window.rs`).
            load_fp LdxBFp LdxHFp LdxWFp LdxDwFp;
            store_fp StxBFp StxHFp StxWFp StxDwFp;
            StWFp { off: i16, imm: i32 } = 1, next => { store_fp!(4, off, imm as i64 as u64) };
            StDwFp { off: i16, imm: i32 } = 1, next => { store_fp!(8, off, imm as i64 as u64) };
            // Control transfer. `t` is the target's distance from the op's
            // slot (module docs). The register forms of `jgt`/`jge` swap their
            // operands into `jlt`/`jle`.
            Ja { t: i16 } = 1, jump(t) => {};
            jcc Jeq64I Jeq64R Jeq32I Jeq32R => ==;
            jcc Jne64I Jne64R Jne32I Jne32R => !=;
            jcc Jlt64I Jlt64R Jlt32I Jlt32R => <;
            jcc Jle64I Jle64R Jle32I Jle32R => <=;
            jcc_imm Jgt64I Jgt32I => >;
            jcc_imm Jge64I Jge32I => >=;
            // Signed (`jslt`... on the registers as `i64`/`i32`; `jsgt`/`jsge`
            // by register swap into `jslt`/`jsle`), and `jset` (`d & b != 0`:
            // a flag test).
            jcc signed Jslt64I Jslt64R Jslt32I Jslt32R => <;
            jcc signed Jsle64I Jsle64R Jsle32I Jsle32R => <=;
            jcc_imm signed Jsgt64I Jsgt32I => >;
            jcc_imm signed Jsge64I Jsge32I => >=;
            jcc test Jset64I Jset64R Jset32I Jset32R => &;
            /// Fused `add32 d, imm; jne32 d, 0` (counted loop latch), 2 slots.
            Add32IJne0 { d: Reg, imm: i32, t: i16 } = 2, branch(t) => {
                let v = r32!(d).wrapping_add(imm as u32);
                set!(d, v as u64);
                v != 0
            };
            /// Fused `add32 d, imm; mov32 x, y; jne32 d, 0` (a counted loop's
            /// latch with the copy clang places before it), 3 slots; `d`, `x`, `y`
            /// are distinct.
            Add32IMovJne0 { d: Reg, imm: i16, x: Reg, y: Reg, t: i16 } = 3, branch(t) => {
                let v = r32!(d).wrapping_add(imm as i32 as u32);
                set!(d, v as u64);
                set32!(x, r32!(y));
                v != 0
            };
            /// Fused `add d, imm; jlt a, b` (a loop's latch with a bound in a
            /// register: `i += 1; if i < n`; `a` or `b` is usually `d`), 2
            /// slots. The add happens before the compare, as in the bytecode.
            AddJlt64R { d: Reg, imm: i16, a: Reg, b: Reg, t: i16 } = 2, branch(t) => {
                set!(d, r!(d).wrapping_add(imm as i64 as u64));
                r!(a) < r!(b)
            };
            /// Fused `mov32 d, s; jlt a, b` (the copy clang puts before such a
            /// latch), 2 slots; the copy happens first.
            Mov32RJlt64R { d: Reg, s: Reg, a: Reg, b: Reg, t: i16 } = 2, branch(t) => {
                set32!(d, r32!(s));
                r!(a) < r!(b)
            };
            /// Fused `add d, imm; mov32 x, y; jlt d, b` (both), 3 slots, in order.
            AddMovJlt64R { d: Reg, imm: i8, x: Reg, y: Reg, b: Reg, t: i16 } = 3, branch(t) => {
                set!(d, r!(d).wrapping_add(imm as i64 as u64));
                set32!(x, r32!(y));
                r!(d) < r!(b)
            };
            /// Fused `mov32 d, s; jne32 a, imm` (the copy clang puts before a loop's
            /// back edge), 2 slots.
            Mov32RJne32I { d: Reg, s: Reg, a: Reg, imm: i16, t: i16 } = 2, branch(t) => {
                set32!(d, r32!(s));
                r32!(a) != imm as i32 as u32
            };
            CallHelper { id: u32 } = 1, next => { call_helper!(id as u64, false) };
            CallX { d: Reg } = 1, next => { call_helper!(r!(d), true) };
            CallLocal { t: u16 } = 1, call(t) => {};
            Exit = 1, exit => {};
            /// Anything else: decoded again from the bytecode when executed.
            Generic = 1, decoded => {};
            /// A slot that no verified program can execute.
            Illegal = 1, trap => {};
            // Round 6, ALU idioms (issue 16): clang's two-address ALU chains on
            // one register, as one op each (translation: `alu_idiom` in
            // `translate.rs`). A shift by a constant `k` (below the width) then
            // a register operand: `sh d, k; OP d, b` (2 slots: bytes packed,
            // `x << 8 | y`; shifted sums and masks; `b` is not `d`) ...
            shift_op LshOr64 RshOr64 LshOr32 RshOr32 => |x, b| x | b;
            shift_op LshXor64 RshXor64 LshXor32 RshXor32 => |x, b| x ^ b;
            shift_op LshAdd64 RshAdd64 LshAdd32 RshAdd32 => |x, b| x.wrapping_add(b);
            shift_op LshAnd64 RshAnd64 LshAnd32 RshAnd32 => |x, b| x & b;
            // ... or a mask: `sh d, k; and d, imm` (a bit field, `(x >> k) &
            // m`; a shifted register kept to its width, `(x << 1) & 0xfffe`) ...
            shift_op imm LshAnd64I RshAnd64I LshAnd32I RshAnd32I => |x, b| x & b;
            // ... and into a copy: `mov d, a; sh d, k; xor d, b` (xorshift and
            // hash mixing, `x ^ (x >> k)`: `b` is usually `a`; not `d`), 3 slots,
            // and `mov d, a; rsh d, k; and d, imm` (a bit field of a register
            // that stays live).
            shift_op mov MovLshXor64 MovRshXor64 MovLshXor32 MovRshXor32 => |x, b| x ^ b;
            MovRshAnd64I { d: Reg, a: Reg, k: u8, imm: i32 } = 3, next => {
                set!(d, r!(a).wrapping_shr(k as u32) & imm as i64 as u64)
            };
            MovRshAnd32I { d: Reg, a: Reg, k: u8, imm: i32 } = 3, next => {
                set32!(d, r32!(a).wrapping_shr(k as u32) & imm as u32)
            };
            /// Fused `xor d, s; mul d, m` (FNV-1a's step, `h = (h ^ c) * P`: the
            /// 64-bit prime in a register, the 32-bit one an immediate), 2 slots;
            /// `m` is not `d`.
            XorMul64R { d: Reg, s: Reg, m: Reg } = 2, next => { set!(d, (r!(d) ^ r!(s)).wrapping_mul(r!(m))) };
            XorMul32I { d: Reg, s: Reg, imm: i32 } = 2, next => {
                set32!(d, (r32!(d) ^ r32!(s)).wrapping_mul(imm as u32))
            };
            /// Fused `mul d, imm; add d, s` (a polynomial hash's step, `h = h * 31
            /// + c`) and `mul d, m; add d, s` (a multiply-accumulate: dot
            /// products, matrix products, filters), 2 slots; `s` is not `d`.
            MulAdd64I { d: Reg, imm: i32, s: Reg } = 2, next => {
                set!(d, r!(d).wrapping_mul(imm as i64 as u64).wrapping_add(r!(s)))
            };
            MulAdd32I { d: Reg, imm: i32, s: Reg } = 2, next => {
                set32!(d, r32!(d).wrapping_mul(imm as u32).wrapping_add(r32!(s)))
            };
            MulAdd64R { d: Reg, m: Reg, s: Reg } = 2, next => { set!(d, r!(d).wrapping_mul(r!(m)).wrapping_add(r!(s))) };
            MulAdd32R { d: Reg, m: Reg, s: Reg } = 2, next => {
                set32!(d, r32!(d).wrapping_mul(r32!(m)).wrapping_add(r32!(s)))
            };
            /// Fused `and32 d, 1; neg32 d; and32 d, imm` (the constant `imm` when the
            /// low bit is set, else 0: the branch-free step of a bitwise CRC or an
            /// LFSR), 3 slots, and with the `xor32 d, x` that applies it (`x` not
            /// `d`), 4 slots.
            BitMask32 { d: Reg, imm: i32 } = 3, next => { set32!(d, (r32!(d) & 1).wrapping_neg() & imm as u32) };
            BitMaskXor32 { d: Reg, imm: i32, x: Reg } = 4, next => {
                set32!(d, ((r32!(d) & 1).wrapping_neg() & imm as u32) ^ r32!(x))
            };
            /// Fused [`Kind::Ror32`] and `xor32 x, d` or `xor32 d, x` (SHA-2's Σ
            /// and σ: rotates xored together), 6 slots; `x` is neither `d` nor
            /// `t`.
            RorXor32 { d: Reg, t: Reg, s: Reg, n: u8, x: Reg } = 6, next => {
                let (lo, rot) = $crate::fast::table::ror32(r32!(s), n);
                set32!(t, lo);
                set32!(d, rot);
                set32!(x, r32!(x) ^ rot);
            };
            RorXorD32 { d: Reg, t: Reg, s: Reg, n: u8, x: Reg } = 6, next => {
                let (lo, rot) = $crate::fast::table::ror32(r32!(s), n);
                let v = r32!(x);
                set32!(t, lo);
                set32!(d, rot ^ v);
            };
            // Round 6, memory and branch idioms.
            /// Signed division and remainder (v4 `sdiv`/`smod`), both widths
            /// (`how`: see `semantics::signed_division`), by an immediate (as
            /// 64 bits, sign-extended) or a register, with RFC 9669's results
            /// for a zero divisor and for `INT_MIN / -1` (the reference
            /// interpreter's function, `semantics::divide`). Two kinds,
            /// one call each: signed division is rare, flash is not.
            SDivModI { d: Reg, imm: i32, how: u8 } = 1, next => { set!(d, signed_division(how, r!(d), imm as i64 as u64)) };
            SDivModR { d: Reg, s: Reg, how: u8 } = 1, next => { set!(d, signed_division(how, r!(d), r!(s))) };
            // Sign-extending loads (v4 `ldxsb/ldxsh/ldxsw`): to 64 bits.
            load_sx LdxSB LdxSH LdxSW;
            // Fused `mov d, v; jcc32 a, k`: a value set before a branch
            // (clang's select by branching: a state, a class, a flag; the
            // jump chains of a `switch`), 2 slots, the copy first. `v` as
            // `mov` (64-bit) writes it, or `mov32` for `0 <= v < 128`.
            // The two conditions clang emits after such a copy (`<` at 12
            // sites in 9 of the 18 kernels of `benches/kernels` and
            // `benches/extra`, `==` at 9 in 7; `!=` and signed `>` once each).
            mov_jcc MovIJeq32I => ==;
            mov_jcc MovIJlt32I => <;
            /// Fused `mov d, s; mov e, u` (the parallel copies a register
            /// allocator places on a loop's back edge), 2 slots, in order.
            MovMov { d: Reg, s: Reg, e: Reg, u: Reg } = 2, next => {
                set!(d, r!(s));
                set!(e, r!(u));
            };
            /// Fused `mov d, s; ja t` and `mov32 d, s; ja t` (the copy a
            /// register allocator places before a jump back to a loop's head
            /// or to a join: 13 sites in 11 of the 18 kernels), 2 slots.
            Mov64RJa { d: Reg, s: Reg, t: i16 } = 2, jump(t) => { set!(d, r!(s)) };
            Mov32RJa { d: Reg, s: Reg, t: i16 } = 2, jump(t) => { set32!(d, r32!(s)) };
            /// Fused `mov d, s; jne32 a, imm` (`Mov32RJne32I`'s 64-bit copy), 2 slots.
            Mov64RJne32I { d: Reg, s: Reg, a: Reg, imm: i16, t: i16 } = 2, branch(t) => {
                set!(d, r!(s));
                r32!(a) != imm as i32 as u32
            };
            // Round 7a, frames and stack arrays (issue 16).
            // Fused `[mov t, s;] lsh t, 32; rsh t, 32; lsh t, sh; mov d, r10;
            // add d, k; add d, t` and the access `ldx x, [d]` / `stx [d], x`:
            // an element of a stack array indexed by a 32-bit `int` or
            // `unsigned` (`a[i]`: clang extends the index with a shift pair,
            // `arsh` for a signed one, scales it, and rematerialises `&a[0]`
            // from `r10`), 8 slots with the copy, 7 without (`s` is then `t`).
            // `how` is the scale `sh` (0 to 7), plus 0x80 when the index is
            // sign-extended. `t`, then `d`, are written as the slots do; the
            // access, in the last slot, tries the stack window first and is
            // checked as every access is; a fault names its slot.
            @stack_index (StkIdxLdxW 4 load 7) (StkIdxStxH 2 store 7) (StkMovIdxLdxH 2 load 8);
            // Fused `stx [b + o1], x; stx [b + o2], y`: two stores of one size
            // through one base register (a swap's two halves, a structure's
            // fields written in a row; `b` is not `r10`, whose single stores
            // are cheaper), 2 slots. A fault of the second store names its slot.
            @sized store_pair (StxPairB 1) (StxPairW 4);

            // Round 7b, branches and 64-bit chains (issue 16).
            /// Fused `jeq32 d, j → t; jeq32 d, k → u` (a `switch`'s jump chain on
            /// one register: its cases compared in turn), 2 slots, each compare
            /// charged as its own branch. The chain's other pairs (`jeq32;
            /// jne32`, to the default; `jsgt32; jeq32`, a range split) cost
            /// flash and moved other kernels on the Cortex-M4 for a fifth as
            /// many executions (docs/benchmarks.md, round 7b).
            JeqJeq32I { d: Reg, j: i8, k: i8, t: i16, u: i16 } = 2, branch2(t, u) => {
                (r32!(d) == j as i32 as u32, r32!(d) == k as i32 as u32)
            };
            /// [`Kind::AddJlt64R`] comparing the counter it advances (`add d,
            /// imm; jlt d, b` or `jgt b, d`: `i += 1; if i < n`, a loop's latch),
            /// 2 slots: the sum compared as computed, one register fewer to
            /// decode and reload.
            AddJltD64R { d: Reg, imm: i16, b: Reg, t: i16 } = 2, branch(t) => {
                let v = r!(d).wrapping_add(imm as i64 as u64);
                set!(d, v);
                v < r!(b)
            };
            // `MovAddLdxB`.. loading into the address register itself (`mov d,
            // a; add d, b; ldx d, [d + off]`: `x = p[i]` with the element's
            // address dead after the load), 3 slots, the load in the third:
            // the address is never written to `d`.
            @sized mov_add_load_into (MovAddLdxIntoB 1) (MovAddLdxIntoW 4);
            /// Fused `lddw d, k; add d, s` (a constant's or a `.rodata`
            /// table's address plus an index or offset, `&table[i]`: clang loads
            /// the address with `lddw` where it is used), 3 slots, `s` not `d`;
            /// the high half is the `Wide` op in the second slot, as for `Lddw`.
            LddwAdd64R { d: Reg, s: Reg, lo: i32 } = 3, next => {
                lddw!(d, lo);
                set!(d, r!(d).wrapping_add(r!(s)))
            };
        }
    };
}

/// Expands the families of [`for_each_op!`]'s rows into plain rows, one at
/// a time, then calls `$m!` with all of them.
macro_rules! expand {
    ($m:ident [$($done:tt)*]) => {
        $m! { $($done)* }
    };
    // Round 6: `sh d, k; OP d, imm` (`imm`), `mov d, a; sh d, k; OP d, b`
    // (`mov`, 3 slots) and `sh d, k; OP d, b` (2 slots): left and right
    // shifts by `k`, 64 and 32 bits; `x` is the shifted value.
    ($m:ident [$($done:tt)*] shift_op imm $l64:ident $r64:ident $l32:ident $r32:ident
        => |$x:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] @shift { d: Reg, k: u8, imm: i32 } = 2,
            (r!(d), r32!(d), imm as i64 as u64, imm as u32) [d k]
            $l64 $r64 $l32 $r32 => |$x, $b| $e; $($rest)* }
    };
    ($m:ident [$($done:tt)*] shift_op mov $l64:ident $r64:ident $l32:ident $r32:ident
        => |$x:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] @shift { d: Reg, a: Reg, k: u8, b: Reg } = 3,
            (r!(a), r32!(a), r!(b), r32!(b)) [d k]
            $l64 $r64 $l32 $r32 => |$x, $b| $e; $($rest)* }
    };
    ($m:ident [$($done:tt)*] shift_op $l64:ident $r64:ident $l32:ident $r32:ident
        => |$x:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] @shift { d: Reg, k: u8, b: Reg } = 2,
            (r!(d), r32!(d), r!(b), r32!(b)) [d k]
            $l64 $r64 $l32 $r32 => |$x, $b| $e; $($rest)* }
    };
    ($m:ident [$($done:tt)*] @shift $fields:tt = $w:literal, ($a64:expr, $a32:expr, $b64:expr, $b32:expr)
        [$d:ident $k:ident] $l64:ident $r64:ident $l32:ident $r32:ident => |$x:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $l64 $fields = $w, next => { let $x = $a64.wrapping_shl($k as u32); let $b = $b64; set!($d, $e) };
            $r64 $fields = $w, next => { let $x = $a64.wrapping_shr($k as u32); let $b = $b64; set!($d, $e) };
            $l32 $fields = $w, next => { let $x = $a32.wrapping_shl($k as u32); let $b = $b32; set32!($d, $e) };
            $r32 $fields = $w, next => { let $x = $a32.wrapping_shr($k as u32); let $b = $b32; set32!($d, $e) };
        ] $($rest)* }
    };
    ($m:ident [$($done:tt)*]
        alu $i64:ident $r64:ident $i32:ident $r32:ident => |$a:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $i64 { d: Reg, imm: i32 } = 1, next => { let $a = r!(d); let $b = imm as i64 as u64; set!(d, $e) };
            $r64 { d: Reg, s: Reg } = 1, next => { let $a = r!(d); let $b = r!(s); set!(d, $e) };
            $i32 { d: Reg, imm: i32 } = 1, next => { let $a = r32!(d); let $b = imm as u32; set32!(d, $e) };
            $r32 { d: Reg, s: Reg } = 1, next => { let $a = r32!(d); let $b = r32!(s); set32!(d, $e) };
        ] $($rest)* }
    };
    ($m:ident [$($done:tt)*] alu $i64:ident $r64:ident $i32:ident $r32:ident
        / $r3:ident $i3:ident $r3w:ident $i3w:ident => |$a:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*]
            alu $i64 $r64 $i32 $r32 => |$a, $b| $e; alu3 $r3 $i3 $r3w $i3w => |$a, $b| $e; $($rest)* }
    };
    // `d = a OP b` / `d = a OP imm` in 2 slots (the copy `mov d, a` first).
    ($m:ident [$($done:tt)*]
        alu3 $r64:ident $i64:ident $r32:ident $i32:ident => |$a:tt, $b:tt| $e:expr; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $r64 { d: Reg, a: Reg, b: Reg } = 2, next => { let $a = r!(a); let $b = r!(b); set!(d, $e) };
            $i64 { d: Reg, a: Reg, imm: i32 } = 2, next => { let $a = r!(a); let $b = imm as i64 as u64; set!(d, $e) };
            $r32 { d: Reg, a: Reg, b: Reg } = 2, next => { let $a = r32!(a); let $b = r32!(b); set32!(d, $e) };
            $i32 { d: Reg, a: Reg, imm: i32 } = 2, next => { let $a = r32!(a); let $b = imm as u32; set32!(d, $e) };
        ] $($rest)* }
    };
    // The conditional jumps: `d OP imm` / `a OP b`, the operands read as
    // `u64`/`u32` (plain), `i64`/`i32` (`signed`), or `(x & y) != 0`
    // (`test`: `OP` is `&`).
    ($m:ident [$($done:tt)*] jcc $i64:ident $r64:ident $i32:ident $r32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] jcc (u64 u32 cmp) $i64 $r64 $i32 $r32 => $op; $($rest)* }
    };
    ($m:ident [$($done:tt)*] jcc signed $i64:ident $r64:ident $i32:ident $r32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] jcc (i64 i32 cmp) $i64 $r64 $i32 $r32 => $op; $($rest)* }
    };
    ($m:ident [$($done:tt)*] jcc test $i64:ident $r64:ident $i32:ident $r32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] jcc (u64 u32 test) $i64 $r64 $i32 $r32 => $op; $($rest)* }
    };
    ($m:ident [$($done:tt)*] jcc_imm $i64:ident $i32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] jcc_imm (u64 u32) $i64 $i32 => $op; $($rest)* }
    };
    ($m:ident [$($done:tt)*] jcc_imm signed $i64:ident $i32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] jcc_imm (i64 i32) $i64 $i32 => $op; $($rest)* }
    };
    ($m:ident [$($done:tt)*] jcc ($w:ident $n:ident $how:ident)
        $i64:ident $r64:ident $i32:ident $r32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $i64 { d: Reg, imm: i32, t: i16 } = 1, branch(t) => {
                $crate::fast::table::cond!($how, r!(d) as $w, $op, imm as i64 as $w)
            };
            $r64 { a: Reg, b: Reg, t: i16 } = 1, branch(t) => {
                $crate::fast::table::cond!($how, r!(a) as $w, $op, r!(b) as $w)
            };
            $i32 { d: Reg, imm: i32, t: i16 } = 1, branch(t) => {
                $crate::fast::table::cond!($how, r32!(d) as $n, $op, imm as $n)
            };
            $r32 { a: Reg, b: Reg, t: i16 } = 1, branch(t) => {
                $crate::fast::table::cond!($how, r32!(a) as $n, $op, r32!(b) as $n)
            };
        ] $($rest)* }
    };
    ($m:ident [$($done:tt)*] jcc_imm ($w:ident $n:ident) $i64:ident $i32:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $i64 { d: Reg, imm: i32, t: i16 } = 1, branch(t) => { (r!(d) as $w) $op (imm as i64 as $w) };
            $i32 { d: Reg, imm: i32, t: i16 } = 1, branch(t) => { (r32!(d) as $n) $op (imm as $n) };
        ] $($rest)* }
    };
    // `mov d, v; jcc32 a, k` (see the row).
    ($m:ident [$($done:tt)*] mov_jcc $name:ident => $op:tt; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $name { d: Reg, v: i8, a: Reg, k: i16, t: i16 } = 2, branch(t) => {
                set!(d, v as i64 as u64);
                r32!(a) $op k as i32 as u32
            };
        ] $($rest)* }
    };
    // The sign-extending loads, 1, 2 and 4 bytes.
    ($m:ident [$($done:tt)*] load_sx $b:ident $h:ident $w:ident; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $b { d: Reg, s: Reg, off: i16 } = 1, next => { set!(d, sign_extend(load!(1, addr!(s, off)), size::B)) };
            $h { d: Reg, s: Reg, off: i16 } = 1, next => { set!(d, sign_extend(load!(2, addr!(s, off)), size::H)) };
            $w { d: Reg, s: Reg, off: i16 } = 1, next => { set!(d, sign_extend(load!(4, addr!(s, off)), size::W)) };
        ] $($rest)* }
    };
    // The memory families: one kind per access size, 1, 2, 4 and 8 bytes.
    ($m:ident [$($done:tt)*] $family:ident $b:ident $h:ident $w:ident $dw:ident; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*]
            @sized $family ($b 1) ($h 2) ($w 4) ($dw 8); $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized load $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, s: Reg, off: i16 } = 1, next => { set!(d, load!($n, addr!(s, off))) };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized store $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, s: Reg, off: i16 } = 1, next => { store!($n, addr!(d, off), r!(s)) };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized store_imm $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, off: i16, imm: i32 } = 1, next => { store!($n, addr!(d, off), imm as i64 as u64) };
        )*] $($rest)* }
    };
    // The indexed loads: `d = a + b; x = [d + off]`, the load in the last
    // of `$w` slots (`add d, s`: `a` is `d` itself; `mov d, a; add d, b`).
    ($m:ident [$($done:tt)*] @sized add_load $($sized:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*]
            @indexed { d: Reg, s: Reg, x: Reg, off: i16 } = 2, (d = d + s; x = [off]) $($sized)* }
    };
    ($m:ident [$($done:tt)*] @sized mov_add_load $($sized:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*]
            @indexed { d: Reg, a: Reg, b: Reg, x: Reg, off: i16 } = 3, (d = a + b; x = [off]) $($sized)* }
    };
    ($m:ident [$($done:tt)*] @sized mov_add_load_into $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, a: Reg, b: Reg, off: i16 } = 3, next => {
                let at = r!(a).wrapping_add(r!(b)).wrapping_add(off as i64 as u64);
                set!(d, load_at!($n, at, 2))
            };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @indexed $fields:tt = $w:literal,
        ($d:ident = $a:ident + $b:ident; $x:ident = [$off:ident])
        $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name $fields = $w, next => {
                let at = r!($a).wrapping_add(r!($b));
                set!($d, at);
                set!($x, load_at!($n, at.wrapping_add($off as i64 as u64), $w - 1))
            };
        )*] $($rest)* }
    };
    // The stack-array accesses: `d = r10 + k + i`, then `x = [d + off]` or
    // `[d + off] = x` in the fourth slot (`x` read after `d` is written).
    ($m:ident [$($done:tt)*] @sized stack_load $($sized:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] @stack load $($sized)* }
    };
    ($m:ident [$($done:tt)*] @sized stack_store $($sized:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*] @stack store $($sized)* }
    };
    ($m:ident [$($done:tt)*] @stack $how:ident $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, k: i16, i: Reg, x: Reg, off: i16 } = 4, next => {
                let at = r!(Reg::R10).wrapping_add(k as i64 as u64).wrapping_add(r!(i));
                set!(d, at);
                $crate::fast::table::stack_access!($how $n, at.wrapping_add(off as i64 as u64), x)
            };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized load_fp $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, off: i16 } = 1, next => { set!(d, load_fp!($n, off)) };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized store_fp $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { s: Reg, off: i16 } = 1, next => { store_fp!($n, off, r!(s)) };
        )*] $($rest)* }
    };
    // Round 7a: a stack array's element at an extended, scaled 32-bit
    // index (see the rows): `s` is the copy's source (`t` itself when
    // there is none), the access in slot `$w - 1`.
    ($m:ident [$($done:tt)*] @stack_index $(($name:ident $n:literal $how:ident $w:literal))*;
        $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { x: Reg, d: Reg, t: Reg, s: Reg, k: i16, how: u8 } = $w, next => {
                let i = $crate::fast::table::extended_index(r!(s), how);
                set!(t, i);
                let at = r!(Reg::R10).wrapping_add(k as i64 as u64).wrapping_add(i);
                set!(d, at);
                $crate::fast::table::stack_access!($how $n, at, x, $w - 1)
            };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized load_add32 $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { d: Reg, s: Reg, off: i16, acc: Reg } = 2, next => {
                let v = load!($n, addr!(s, off));
                set!(d, v);
                set32!(acc, r32!(acc).wrapping_add(v as u32));
            };
        )*] $($rest)* }
    };
    ($m:ident [$($done:tt)*] @sized store_pair $(($name:ident $n:literal))*; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)* $(
            $name { b: Reg, o1: i16, x: Reg, o2: i16, y: Reg } = 2, next => {
                store!($n, addr!(b, o1), r!(x));
                store_at!($n, addr!(b, o2), r!(y), 1)
            };
        )*] $($rest)* }
    };
    // A plain row.
    ($m:ident [$($done:tt)*]
        $(#[$attr:meta])* $name:ident $({ $($f:ident : $ty:ty),* $(,)? })? = $w:literal,
        $flow:ident $(($t:ident $(, $u:ident)?))? => $body:block; $($rest:tt)*) => {
        $crate::fast::table::expand! { $m [$($done)*
            $(#[$attr])* $name $({ $($f: $ty),* })? = $w, $flow $(($t $(, $u)?))? => $body;
        ] $($rest)* }
    };
}

/// A stack-array element's access in the fourth slot: `x = [a]` or `[a] =
/// x`, the stack window first.
macro_rules! stack_access {
    ($how:ident $n:literal, $a:expr, $x:ident) => {
        $crate::fast::table::stack_access!($how $n, $a, $x, 3)
    };
    (load $n:literal, $a:expr, $x:ident, $slot:expr) => {
        set!($x, load_stack_at!($n, $a, $slot))
    };
    (store $n:literal, $a:expr, $x:ident, $slot:expr) => {
        store_stack_at!($n, $a, r!($x), $slot)
    };
}

/// A 32-bit index as clang extends and scales it (round 7a's
/// `@stack_index` rows): the low half of `v`, zero-extended (`lsh 32; rsh
/// 32`) or, with bit 7 of `how` set, sign-extended (`lsh 32; arsh 32`), then
/// shifted left by `how & 7`.
#[inline(always)]
pub(crate) const fn extended_index(v: u64, how: u8) -> u64 {
    let e = if how & 0x80 != 0 { v as i32 as i64 as u64 } else { v as u32 as u64 };
    e << (how & 7)
}

/// `x >> n` and `x` rotated right by `n` (1 to 31): what a 32-bit rotate
/// as clang emits it leaves in its temporary and its result.
#[inline(always)]
pub(crate) const fn ror32(x: u32, n: u8) -> (u32, u32) {
    let lo = x.wrapping_shr(n as u32);
    (lo, x.wrapping_shl(32 - n as u32) | lo)
}

/// A jump's condition: `x OP y`, or `(x & y) != 0` (`test`).
macro_rules! cond {
    (cmp, $x:expr, $op:tt, $y:expr) => {
        ($x) $op ($y)
    };
    (test, $x:expr, $op:tt, $y:expr) => {
        (($x) & ($y)) != 0
    };
}

pub(crate) use {cond, expand, for_each_op, stack_access};

#[cfg(test)]
mod tests {
    use super::super::op::{every_kind, Kind, Op};
    use super::super::translate::{first_escape, translate};
    use crate::isa::Insn;
    use crate::trap::Trap;
    use crate::{AccessPolicy, MemoryMap, NoHelpers, TrapKind, STACK_SIZE, STACK_VADDR};

    /// Slots of the test programs; every jump and call targets `TARGET`.
    const SLOTS: usize = 10;
    const TARGET: usize = 6;

    /// One op of every kind, operands numbered so that the registers are
    /// distinct and among `r1..=r5`.
    fn kinds() -> [Option<Kind>; 256] {
        let mut all = [None; 256];
        let mut n = 0;
        every_kind(
            |field| match field {
                "t" | "u" => TARGET as i64,
                "off" => -8,
                "d" => 1,
                "s" | "a" => 2,
                "acc" | "b" | "y" | "i" => 3,
                "x" => 4,
                _ => 1,
            },
            |kind| {
                all[n] = Some(kind);
                n += 1;
            },
        );
        all
    }

    /// The table's width and flows give successors inside the op's own
    /// reach: the fallthrough is `pc + width`, a target is the op's `t`.
    #[test]
    fn successors_follow_width_and_targets() {
        let mut count = 0;
        for kind in kinds().into_iter().flatten() {
            count += 1;
            let w = kind.width();
            // The widest: `StkMovIdxLdxH`/`W` (a stack array's element at an
            // extended index, round 7a).
            assert!((1..=8).contains(&w), "{kind:?}: width {w}");
            let (next, to) = kind.successors(&[], 10);
            assert!(next.is_none() || next == Some(10 + w), "{kind:?}: falls through to {next:?}");
            // A call names its callee's slot; a jump is relative to its op.
            let target = if matches!(kind, Kind::CallLocal { .. }) { TARGET } else { 10 + TARGET };
            assert!(to.is_none() || to == Some(target), "{kind:?}: jumps to {to:?}");
            let second = kind.second_target(10);
            assert!(second.is_none() || (second == Some(10 + TARGET) && w == 2), "{kind:?}: jumps to {second:?}");
            // Whatever is jumped to, the op says where (a generic op is
            // decoded: here, from no code at all).
            if matches!(kind, Kind::Generic | Kind::Exit | Kind::Illegal | Kind::Wide { .. }) {
                assert_eq!((next, to), (None, None), "{kind:?}");
            }
        }
        assert!(count > 90, "{count} kinds");
    }

    /// The fused indexed loads and stack-array accesses, whose access is
    /// their last slot (a store pair's: its second store).
    fn indexed_access(kind: Kind) -> bool {
        use Kind::*;
        matches!(
            kind,
            StkLdxB { .. }
                | StkLdxH { .. }
                | StkLdxW { .. }
                | StkStxB { .. }
                | StkStxH { .. }
                | StkStxW { .. }
                | AddLdxB { .. }
                | AddLdxH { .. }
                | AddLdxW { .. }
                | AddLdxDw { .. }
                | MovAddLdxB { .. }
                | MovAddLdxH { .. }
                | MovAddLdxW { .. }
                | MovAddLdxDw { .. }
                | StkIdxLdxW { .. }
                | StkIdxStxH { .. }
                | StkMovIdxLdxH { .. }
                | StxPairB { .. }
                | StxPairW { .. }
                | MovAddLdxIntoB { .. }
                | MovAddLdxIntoW { .. }
        )
    }

    /// Every kind dispatches, and the interpreter leaves it only for a
    /// successor the table names (the slots after it trap where they are),
    /// or by trapping at the op itself (a fused indexed access: at its
    /// access's slot), or by `exit`.
    #[test]
    fn every_kind_dispatches_to_its_successors() {
        // mov r0, 1 (x7); exit: what a generic op decodes.
        let mut code = [0u8; SLOTS * 8];
        for (pc, slot) in code.chunks_exact_mut(8).enumerate() {
            let insn = if pc + 1 == SLOTS { Insn::new(0x95, 0, 0, 0, 0) } else { Insn::new(0xb7, 0, 0, 0, 1) };
            slot.copy_from_slice(&insn.encode());
        }
        let program = crate::verify(&code, &NoHelpers).unwrap();
        let mut storage = [Op::EMPTY; SLOTS];
        let reached_a_successor = |kind: Kind, trap: Option<Trap>| {
            let (next, to) = kind.successors(&code, 0);
            match trap {
                None => matches!(kind, Kind::Exit),
                Some(Trap { pc: 0, kind: k }) => k != TrapKind::BudgetExhausted,
                // A fused indexed access faults at its access's slot, the last.
                Some(Trap { pc, kind: TrapKind::Memory(_) }) if indexed_access(kind) => pc + 1 == kind.width(),
                Some(Trap { pc, kind: k }) => {
                    let second = kind.second_target(0);
                    k == TrapKind::IllegalInstruction && (Some(pc) == next || Some(pc) == to || Some(pc) == second)
                }
            }
        };
        let mut moved = 0;
        for kind in kinds().into_iter().flatten() {
            let mut ops = [Op::EMPTY; SLOTS];
            ops[0] = Op { kind };
            if let Kind::Lddw { .. } | Kind::LddwAdd64R { .. } = kind {
                ops[1] = Op { kind: Kind::Wide { hi: 0 } };
            }
            assert_eq!(first_escape(&ops, &code), None, "{kind:?}");
            let mut fast = translate(&program, &mut storage).unwrap();
            fast.ops = &ops;
            fast.local_calls = true;
            let mut stack = [0u8; STACK_SIZE];
            let mut mem = MemoryMap::new();
            mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
            let args = [STACK_VADDR + 64; 5];
            let result = super::super::run_fast(&fast, program.main(), &args, &mut mem, &mut NoHelpers, 100);
            let trap = result.err();
            assert!(reached_a_successor(kind, trap), "{kind:?}: {trap:?}");
            moved += usize::from(!matches!(trap, Some(Trap { pc: 0, .. })));
        }
        // All but the helper calls and the traps get past their first slot.
        assert!(moved > 90, "{moved} kinds moved on");
    }
}
