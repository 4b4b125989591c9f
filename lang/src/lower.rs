//! Lowering: the typed (inlined) tree → Alkyl IR through the translator's
//! module builder.
//!
//! - **Bit modes.** Every operation is emitted in the mode of its
//!   operands' type (`bool` and 8-bit types in `BITS8`, …); the emitter
//!   tracks the lexical mode and writes `BITSn` only when it changes, and
//!   conversions (`ZEXT`, `SEXT`, `TRUNC`) where the types say so.
//! - **Locals** live on the IR value stack (which the translator keeps in
//!   registers) when `DUP`/`SWAP` can reach them — the most used first —
//!   and in hidden globals otherwise (shared between entry functions).
//! - **Control flow** is structured: conditions jump directly (a
//!   comparison followed by `JUMPI`, which the translator fuses), loops are
//!   rotated (the test at the bottom), and code after a jump or a return is
//!   not emitted (the IR rejects unreachable code).

use std::collections::HashMap;

use alkyl_translator::ir::builder::{FunctionBuilder, Label, ModuleBuilder};
use alkyl_translator::ir::syscall::fnv1a32;
use alkyl_translator::ir::{FunctionKind, Op, Profile, Width};

use crate::ast::{BinOp, FnKind, UnOp};
use crate::inline::inline_function;
use crate::syscalls::{self, Lower, NO_ACTUATOR};
use crate::typed::*;
use crate::types::{Elem, Ty};

/// `REVERT` code of an index out of bounds (an array, or a `char*`'s 8 bytes).
pub const OUT_OF_BOUNDS: u16 = 0xb0;

/// At most this many locals are kept on the IR stack.
const MAX_STACK_LOCALS: usize = 12;

/// Why lowering failed (the checker accepted the program).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerError {
    pub function: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Stack(usize),
    Global(u32),
    /// Linear memory at this offset, once the 256 globals are taken.
    Memory(u32),
}

/// Lowers a checked program into module bytes.
///
/// # Errors
/// A function too large or too deep to compile.
pub fn lower(prog: &TProgram) -> Result<Vec<u8>, LowerError> {
    let mut m = ModuleBuilder::new(if prog.gateway { Profile::Gateway } else { Profile::Device });
    m.memory_size = prog.memory_size;
    let mut gmap = Vec::with_capacity(prog.globals.len());
    for g in &prog.globals {
        gmap.push(g.ty.width().map(|w| m.global(w, g.init)));
    }
    let mut pool: HashMap<(Width, usize), u32> = HashMap::new();
    // Locals beyond the globals spill to memory after the program's own
    // (entry functions never run nested, so they share the area).
    let spill_base = prog.memory_size.div_ceil(8) * 8;
    let mut spill_end = prog.memory_size;
    for (fid, f) in prog.funcs.iter().enumerate() {
        let kind = match f.kind {
            FnKind::Plain => continue,
            FnKind::Public | FnKind::On => FunctionKind::Public,
            FnKind::DeviceEvent => FunctionKind::DeviceEvent,
        };
        let err = |message: String| LowerError { function: f.name.clone(), message };
        let flat = inline_function(prog, fid).map_err(err)?;
        let order = priority(&flat);
        let mut stack_count = order.len().min(MAX_STACK_LOCALS);
        let built = loop {
            // Slots: the first `stack_count` locals by priority on the stack.
            let mut slots = vec![Slot::Global(0); flat.locals.len()];
            let mut per_width: HashMap<Width, usize> = HashMap::new();
            let mut spill = spill_base;
            for (rank, &l) in order.iter().enumerate() {
                let w = flat.locals[l].width().unwrap_or(Width::W32);
                slots[l] = if rank < stack_count {
                    Slot::Stack(rank)
                } else {
                    let k = per_width.entry(w).or_insert(0);
                    *k += 1;
                    let key = (w, *k - 1);
                    match pool.get(&key) {
                        Some(&id) => Slot::Global(id),
                        None if m.globals.len() < 256 => {
                            let id = m.global(w, 0);
                            pool.insert(key, id);
                            Slot::Global(id)
                        }
                        None => {
                            spill += 8;
                            Slot::Memory(spill - 8)
                        }
                    }
                };
            }
            if spill as u64 > 65536 {
                return Err(err("too many locals (linear memory is full)".into()));
            }
            spill_end = spill_end.max(spill);
            let params = f.params.iter().map(|t| t.width().unwrap_or(Width::W32)).collect();
            let mut g = Gen::new(prog, &gmap, FunctionBuilder::new(kind, &f.name, params), slots);
            g.local_widths = flat.locals.iter().map(|&t| width(t)).collect();
            g.function(&flat, &order[..stack_count]);
            if !g.too_deep {
                break g.f;
            }
            if stack_count == 0 {
                return Err(err("an expression needs more than 32 stack values".into()));
            }
            stack_count -= 1;
        };
        m.functions.push(built);
    }
    m.memory_size = spill_end;
    m.finish().map_err(|e| LowerError { function: String::new(), message: e.to_string() })
}

/// Locals by use, weighted by loop depth; the most used first.
fn priority(f: &TFunc) -> Vec<LocalId> {
    let mut w = vec![0u64; f.locals.len()];
    fn stmts(ss: &[TStmt], d: u32, w: &mut [u64]) {
        for s in ss {
            match s {
                TStmt::Expr(e) | TStmt::Return(Some(e)) => expr(e, d, w),
                TStmt::If(c, t, e) => {
                    expr(c, d, w);
                    stmts(t, d, w);
                    stmts(e, d, w);
                }
                TStmt::Loop { cond, body, step, .. } => {
                    if let Some(c) = cond {
                        expr(c, d + 1, w);
                    }
                    stmts(body, d + 1, w);
                    stmts(step, d + 1, w);
                }
                TStmt::ForEach { var, count, body } => {
                    bump(w, *var, d + 1);
                    bump(w, *count, d + 1);
                    stmts(body, d + 1, w);
                }
                TStmt::Block(b) => stmts(b, d, w),
                _ => {}
            }
        }
    }
    fn bump(w: &mut [u64], l: usize, d: u32) {
        if let Some(x) = w.get_mut(l) {
            *x += 1 + 8u64.saturating_pow(d.min(6));
        }
    }
    fn expr(e: &TExpr, d: u32, w: &mut [u64]) {
        match &e.kind {
            TK::Local(l) => bump(w, *l, d),
            TK::Index(TIndex { index, .. })
            | TK::Unary(_, index)
            | TK::Convert(index)
            | TK::Decrypt(index)
            | TK::Input(index) => expr(index, d, w),
            TK::StrIndex(a, b) | TK::Binary(_, a, b) | TK::Logical(_, a, b) => {
                expr(a, d, w);
                expr(b, d, w);
            }
            TK::Cond(a, b, c) => {
                expr(a, d, w);
                expr(b, d, w);
                expr(c, d, w);
            }
            TK::Assign(p, v) => {
                match &**p {
                    TPlace::Local(l) => bump(w, *l, d),
                    TPlace::Index(TIndex { index, .. }) => expr(index, d, w),
                    TPlace::Global(_) => {}
                }
                expr(v, d, w);
            }
            TK::Seq(es) | TK::Sys(_, es) | TK::Call(_, es) => es.iter().for_each(|e| expr(e, d, w)),
            TK::DeviceCall { device, args, .. } => {
                device.iter().for_each(|x| expr(x, d, w));
                args.iter().for_each(|e| expr(e, d, w));
            }
            TK::Inline { body, ret } => {
                if let Some(r) = ret {
                    bump(w, *r, d);
                }
                stmts(body, d, w);
            }
            TK::Const(_) | TK::Global(_) | TK::BlockTimestamp | TK::NamedDevice(_) => {}
        }
    }
    stmts(&f.body, 0, &mut w);
    // Parameters are read once at entry: count it.
    for x in w.iter_mut().take(f.params.len()) {
        *x += 1;
    }
    let mut order: Vec<LocalId> = (0..f.locals.len()).collect();
    order.sort_by_key(|&l| std::cmp::Reverse(w[l]));
    order
}

#[derive(Clone, Copy)]
struct L {
    label: Label,
    idx: usize,
}

struct Gen<'a> {
    prog: &'a TProgram,
    gmap: &'a [Option<u32>],
    f: FunctionBuilder,
    slots: Vec<Slot>,
    mode: Width,
    dead: bool,
    height: usize,
    /// Per label: a live jump targets it; the stack height there.
    labels: Vec<(bool, Option<usize>)>,
    loops: Vec<(L, L)>,
    inlines: Vec<(L, Option<LocalId>)>,
    too_deep: bool,
    local_widths: Vec<Width>,
    /// A `GSTORE` not written yet (see [`Gen::emit`]).
    pending_store: Option<u64>,
}

fn width(t: Ty) -> Width {
    t.width().unwrap_or(Width::W32)
}

fn signed(t: Ty) -> bool {
    matches!(t, Ty::Int(i) if i.signed)
}

impl<'a> Gen<'a> {
    fn new(prog: &'a TProgram, gmap: &'a [Option<u32>], f: FunctionBuilder, slots: Vec<Slot>) -> Gen<'a> {
        Gen {
            prog,
            gmap,
            f,
            slots,
            mode: Width::W32,
            dead: false,
            height: 0,
            labels: Vec::new(),
            loops: Vec::new(),
            inlines: Vec::new(),
            too_deep: false,
            local_widths: Vec::new(),
            pending_store: None,
        }
    }

    // ---- emission ----

    /// Writes a `GSTORE` held back by [`Gen::emit`].
    fn flush(&mut self) {
        if let Some(g) = self.pending_store.take() {
            self.f.op_imm(Op::Gstore, g);
        }
    }

    fn emit(&mut self, op: Op, imm: u64, pops: usize, pushes: usize) {
        if !self.dead {
            // `GSTORE g` then `GLOAD g` (`g++; if (g == …)`) is `DUP1 GSTORE g`:
            // the value stays on the stack instead of a reload.
            match (op, self.pending_store) {
                (Op::Gload, Some(g)) if g == imm => {
                    self.pending_store = None;
                    self.f.op(Op::Dup(1));
                    self.f.op_imm(Op::Gstore, g);
                }
                (Op::Gstore, _) => {
                    self.flush();
                    self.pending_store = Some(imm);
                }
                _ => {
                    self.flush();
                    if op.imm_kind() == alkyl_translator::ir::opcode::ImmKind::None {
                        self.f.op(op);
                    } else {
                        self.f.op_imm(op, imm);
                    }
                }
            }
        }
        self.height = self.height.saturating_sub(pops) + pushes;
        if self.height > 32 {
            self.too_deep = true;
        }
    }

    fn mode(&mut self, w: Width) {
        if !self.dead && self.mode != w {
            self.flush();
            self.f.op(Op::bits(w));
            self.mode = w;
        }
    }

    fn push(&mut self, w: Width, v: u64) {
        self.mode(w);
        if v == 0 {
            self.emit(Op::Push0, 0, 0, 1);
        } else {
            self.emit(Op::Push, w.wrap(v), 0, 1);
        }
    }

    fn op(&mut self, op: Op, pops: usize, pushes: usize) {
        self.emit(op, 0, pops, pushes);
    }

    fn dup(&mut self, n: usize) {
        if !(1..=16).contains(&n) {
            self.too_deep = true;
            return self.emit(Op::Push0, 0, 0, 1);
        }
        self.emit(Op::Dup(n as u8), 0, 0, 1);
    }

    fn swap(&mut self, n: usize) {
        if !(1..=16).contains(&n) {
            self.too_deep = true;
            return;
        }
        self.emit(Op::Swap(n as u8), 0, 0, 0);
    }

    fn label(&mut self) -> L {
        let label = self.f.new_label();
        self.labels.push((false, None));
        L { label, idx: self.labels.len() - 1 }
    }

    /// Records a jump to `l` (also from dead code, so that heights stay
    /// right through dead regions; only a live jump makes `l` live).
    fn target(&mut self, l: L) {
        let (live, h) = &mut self.labels[l.idx];
        *live |= !self.dead;
        h.get_or_insert(self.height);
    }

    fn jump(&mut self, l: L) {
        if !self.dead {
            self.flush();
            self.f.jump(Op::Jump, l.label);
        }
        self.target(l);
        self.dead = true;
    }

    fn jumpi(&mut self, l: L) {
        self.height = self.height.saturating_sub(1);
        if !self.dead {
            self.flush();
            self.f.jump(Op::Jumpi, l.label);
        }
        self.target(l);
    }

    /// Binds a label that only forward jumps target: without any, no
    /// `JUMPDEST` is needed (fewer blocks for the translator).
    fn bind(&mut self, l: L) {
        let (live, h) = self.labels[l.idx];
        if self.dead {
            if let Some(h) = h {
                self.height = h;
            }
            if !live {
                return;
            }
            self.dead = false;
        }
        if live {
            self.flush();
            self.f.bind(l.label);
        }
    }

    /// Binds a loop head, which backward jumps will target.
    fn bind_head(&mut self, l: L) {
        if !self.dead {
            self.labels[l.idx].0 = true;
            self.labels[l.idx].1 = Some(self.height);
            self.flush();
            self.f.bind(l.label);
        }
    }

    fn end_with(&mut self, op: Op, pops: usize) {
        self.emit(op, 0, pops, 0);
        self.dead = true;
    }

    fn revert(&mut self, code: u16) {
        self.push(Width::W32, code as u64);
        self.end_with(Op::Revert, 1);
    }

    // ---- locals ----

    fn read_local(&mut self, l: LocalId) {
        match self.slots.get(l).copied() {
            Some(Slot::Stack(p)) => self.dup(self.height.saturating_sub(p)),
            Some(Slot::Global(g)) => self.emit(Op::Gload, g as u64, 0, 1),
            Some(Slot::Memory(a)) => self.memory_local(l, a, Op::Mload, 1, 1),
            None => self.too_deep = true,
        }
    }

    fn local_width(&self, l: LocalId) -> Width {
        self.local_widths.get(l).copied().unwrap_or(Width::W32)
    }

    /// `op` (`MLOAD` or `MSTORE`) on local `l`, kept in memory at `address`,
    /// at the local's width.
    fn memory_local(&mut self, l: LocalId, address: u32, op: Op, pops: usize, pushes: usize) {
        self.push(Width::W32, address as u64);
        self.mode(self.local_width(l));
        self.op(op, pops, pushes);
    }

    /// Stores the top of the stack into local `l`.
    fn write_local(&mut self, l: LocalId) {
        match self.slots.get(l).copied() {
            Some(Slot::Stack(p)) => {
                let n = self.height.saturating_sub(p + 1);
                self.swap(n);
                self.op(Op::Pop, 1, 0);
            }
            Some(Slot::Global(g)) => self.emit(Op::Gstore, g as u64, 1, 0),
            Some(Slot::Memory(a)) => self.memory_local(l, a, Op::Mstore, 2, 0),
            None => self.too_deep = true,
        }
    }

    // ---- functions and statements ----

    fn function(&mut self, f: &TFunc, stack_locals: &[LocalId]) {
        // The stack locals, bottom first: parameters from their input slot, the rest 0.
        for &l in stack_locals {
            if l < f.params.len() {
                self.arg(l, f.params[l]);
            } else {
                self.push(width(f.locals[l]), 0);
            }
        }
        for (i, &t) in f.params.iter().enumerate() {
            if !stack_locals.contains(&i) {
                self.arg(i, t);
                self.write_local(i);
            }
        }
        self.stmts(&f.body);
        if !self.dead {
            if f.ret == Ty::Void {
                self.end_with(Op::Stop, 0);
            } else {
                self.push(width(f.ret), 0);
                self.end_with(Op::Return, 1);
            }
        }
    }

    fn arg(&mut self, i: usize, t: Ty) {
        self.emit(Op::Arg, i as u64, 0, 1);
        if t == Ty::Bool {
            // A bool argument is true when its byte is not 0.
            self.mode(Width::W8);
            self.op(Op::IsZero, 1, 1);
            self.op(Op::IsZero, 1, 1);
        }
    }

    fn stmts(&mut self, ss: &[TStmt]) {
        for s in ss {
            if self.too_deep {
                return;
            }
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &TStmt) {
        match s {
            TStmt::Expr(e) => self.effect(e),
            TStmt::Block(b) => self.stmts(b),
            TStmt::If(c, t, e) => {
                let (els, end) = (self.label(), self.label());
                self.cond(c, els, false);
                self.stmts(t);
                if e.is_empty() {
                    self.bind(els);
                } else {
                    self.jump(end);
                    self.bind(els);
                    self.stmts(e);
                    self.bind(end);
                }
            }
            TStmt::Loop { cond, body, step, do_while } => {
                let (top, cont, brk) = (self.label(), self.label(), self.label());
                if let (Some(c), false) = (cond, do_while) {
                    self.cond(c, brk, false);
                }
                self.bind_head(top);
                self.loops.push((brk, cont));
                self.stmts(body);
                self.loops.pop();
                self.bind(cont);
                self.stmts(step);
                match cond {
                    Some(c) => self.cond(c, top, true),
                    None => self.jump(top),
                }
                self.bind(brk);
            }
            TStmt::ForEach { var, count, body } => {
                let gw = |n| alkyl_translator::ir::syscall::gateway_by_name(n).map_or(0, |s| s.id as u64);
                self.emit(Op::Syscall, gw("gw_device_count"), 0, 1);
                self.write_local(*count);
                self.push(Width::W32, 0);
                self.write_local(*var);
                let (top, cont, brk) = (self.label(), self.label(), self.label());
                let test = |g: &mut Gen<'_>, target: L, when: bool| {
                    g.read_local(*var);
                    g.read_local(*count);
                    g.mode(Width::W32);
                    g.op(Op::Gt, 2, 1); // var < count
                    if !when {
                        g.op(Op::IsZero, 1, 1);
                    }
                    g.jumpi(target);
                };
                test(self, brk, false);
                self.bind_head(top);
                self.loops.push((brk, cont));
                self.stmts(body);
                self.loops.pop();
                self.bind(cont);
                self.read_local(*var);
                self.push(Width::W32, 1);
                self.op(Op::Add, 2, 1);
                self.write_local(*var);
                test(self, top, true);
                self.bind(brk);
            }
            TStmt::Break => {
                if let Some(&(brk, _)) = self.loops.last() {
                    self.jump(brk);
                }
            }
            TStmt::Continue => {
                if let Some(&(_, cont)) = self.loops.last() {
                    self.jump(cont);
                }
            }
            TStmt::Return(v) => {
                if let Some(&(end, ret)) = self.inlines.last() {
                    if let (Some(v), Some(r)) = (v, ret) {
                        self.value(v);
                        self.write_local(r);
                    }
                    self.jump(end);
                } else if let Some(v) = v {
                    self.value(v);
                    self.end_with(Op::Return, 1);
                } else {
                    self.end_with(Op::Stop, 0);
                }
            }
        }
    }

    // ---- expressions ----

    /// Evaluates `e` for its effects only.
    fn effect(&mut self, e: &TExpr) {
        match &e.kind {
            TK::Assign(p, v) => self.assign(p, v, false),
            TK::Seq(es) => es.iter().for_each(|e| self.effect(e)),
            _ => {
                self.value(e);
                if e.ty != Ty::Void {
                    self.op(Op::Pop, 1, 0);
                }
            }
        }
    }

    /// Converts the value on top from `from` to `to`.
    fn convert(&mut self, from: Ty, to: Ty) {
        let (wf, wt) = (width(from), width(to));
        if to == Ty::Bool && from != Ty::Bool {
            self.mode(wf);
            self.op(Op::IsZero, 1, 1);
            self.op(Op::IsZero, 1, 1);
            if wf != Width::W8 {
                self.mode(Width::W8);
                self.op(Op::Trunc, 1, 1);
            }
            return;
        }
        if wt > wf {
            self.mode(wt);
            self.op(if signed(from) { Op::Sext } else { Op::Zext }, 1, 1);
        } else if wt < wf {
            self.mode(wt);
            self.op(Op::Trunc, 1, 1);
        }
    }

    /// Checks `0 <= index < len` on the index on top (of type `t`), reverting otherwise.
    fn bounds(&mut self, t: Ty, len: u64) {
        let w = width(t);
        if len > w.mask() {
            return; // every value of the type is in bounds
        }
        let ok = self.label();
        self.mode(w);
        self.dup(1);
        self.push(w, len);
        self.op(Op::Gt, 2, 1); // len > index
        self.jumpi(ok);
        self.revert(OUT_OF_BOUNDS);
        self.bind(ok);
    }

    /// Pushes the 32-bit memory address of a global array's element.
    fn address(&mut self, arr: GlobalId, elem: Elem, len: u32, index: &TExpr) {
        let offset = self.prog.globals.get(arr).map_or(0, |g| g.offset) as u64;
        let size = width(elem.ty()).bytes() as u64;
        if let TK::Const(i) = index.kind {
            if i >= len as u64 {
                self.revert(OUT_OF_BOUNDS);
                self.height += 1;
                return;
            }
            return self.push(Width::W32, offset + i * size);
        }
        self.value(index);
        self.bounds(index.ty, len as u64);
        let w = width(index.ty);
        if w != Width::W32 {
            self.mode(Width::W32);
            self.op(if w < Width::W32 { Op::Zext } else { Op::Trunc }, 1, 1);
        }
        if size > 1 {
            self.push(Width::W32, size.trailing_zeros() as u64);
            self.op(Op::Shl, 2, 1);
        }
        if offset > 0 {
            self.push(Width::W32, offset);
            self.op(Op::Add, 2, 1);
        }
    }

    /// `x = x op e` on a stack local, `e` not writing `x`: computed in
    /// `x`'s own stack slot (the way hand-written IR updates a loop
    /// variable), so the translator keeps `x` in its register.
    fn update_in_place(&mut self, l: LocalId, v: &TExpr) -> bool {
        let Some(Slot::Stack(p)) = self.slots.get(l).copied() else { return false };
        let TK::Binary(op, a, b) = &v.kind else { return false };
        if op.is_comparison() || !matches!(a.kind, TK::Local(x) if x == l) || writes_local(b, l) {
            return false;
        }
        self.value(b); // [.. x .. e]
        let n = self.height.saturating_sub(p + 1);
        self.swap(n); // [.. e .. x]
        self.dup(n + 1); // [.. e .. x e]
        let (ir, swap) = arith_op(*op, signed(v.ty));
        if swap {
            self.swap(1);
        }
        self.mode(width(v.ty));
        self.op(ir, 2, 1); // [.. e .. x op e]
        self.swap(n);
        self.op(Op::Pop, 1, 0);
        true
    }

    fn assign(&mut self, p: &TPlace, v: &TExpr, keep: bool) {
        match p {
            TPlace::Local(l) if !keep && self.update_in_place(*l, v) => {}
            TPlace::Local(l) => {
                self.value(v);
                if keep {
                    self.dup(1);
                }
                self.write_local(*l);
            }
            TPlace::Global(g) => {
                self.value(v);
                if keep {
                    self.dup(1);
                }
                let id = self.gmap.get(*g).copied().flatten().unwrap_or(0);
                self.emit(Op::Gstore, id as u64, 1, 0);
            }
            TPlace::Index(TIndex { arr, elem, len, index }) => {
                self.address(*arr, *elem, *len, index);
                self.value(v);
                if keep {
                    self.dup(1);
                    self.swap(2);
                } else {
                    self.swap(1);
                }
                self.mode(width(elem.ty()));
                self.op(Op::Mstore, 2, 0);
            }
        }
    }

    /// Pushes the value of `e` (nothing for void).
    fn value(&mut self, e: &TExpr) {
        if self.too_deep {
            return;
        }
        match &e.kind {
            TK::Const(v) => self.push(width(e.ty), *v),
            TK::Local(l) => self.read_local(*l),
            TK::Global(g) => {
                let id = self.gmap.get(*g).copied().flatten().unwrap_or(0);
                self.emit(Op::Gload, id as u64, 0, 1);
            }
            TK::Index(TIndex { arr, elem, len, index }) => {
                self.address(*arr, *elem, *len, index);
                self.mode(width(e.ty));
                self.op(Op::Mload, 1, 1);
            }
            TK::StrIndex(s, i) => {
                self.value(s);
                if let TK::Const(k) = i.kind {
                    if k >= 8 {
                        self.op(Op::Pop, 1, 0);
                        self.revert(OUT_OF_BOUNDS);
                        self.height += 1;
                        return;
                    }
                    if k > 0 {
                        self.push(Width::W64, k * 8);
                        self.op(Op::Shr, 2, 1);
                    }
                } else {
                    self.value(i);
                    self.bounds(i.ty, 8);
                    if width(i.ty) != Width::W64 {
                        self.mode(Width::W64);
                        self.op(Op::Zext, 1, 1);
                    }
                    self.push(Width::W64, 3);
                    self.op(Op::Shl, 2, 1);
                    self.op(Op::Shr, 2, 1);
                }
                self.mode(Width::W8);
                self.op(Op::Trunc, 1, 1);
            }
            TK::Unary(op, a) => {
                self.value(a);
                self.mode(width(e.ty));
                match op {
                    UnOp::Neg => {
                        self.push(width(e.ty), 0);
                        self.op(Op::Sub, 2, 1);
                    }
                    UnOp::BitNot => self.op(Op::Not, 1, 1),
                    UnOp::Not => self.op(Op::IsZero, 1, 1),
                }
            }
            TK::Binary(op, a, b) if op.is_comparison() => {
                self.value(a);
                self.value(b);
                self.compare(*op, a.ty);
                if width(a.ty) != Width::W8 {
                    self.mode(Width::W8);
                    self.op(Op::Trunc, 1, 1);
                }
            }
            TK::Binary(op, a, b) => {
                self.value(a);
                self.value(b);
                self.mode(width(e.ty));
                let (ir, swap) = arith_op(*op, signed(e.ty));
                if swap {
                    self.swap(1);
                }
                self.op(ir, 2, 1);
            }
            TK::Logical(..) => {
                let (f, end) = (self.label(), self.label());
                self.cond(e, f, false);
                self.push(Width::W8, 1);
                self.jump(end);
                self.bind(f);
                self.push(Width::W8, 0);
                self.bind(end);
            }
            TK::Cond(c, a, b) => {
                let (els, end) = (self.label(), self.label());
                self.cond(c, els, false);
                self.value(a);
                self.jump(end);
                self.bind(els);
                self.value(b);
                self.bind(end);
            }
            TK::Convert(a) => {
                self.value(a);
                self.convert(a.ty, e.ty);
            }
            TK::Assign(p, v) => self.assign(p, v, true),
            TK::Seq(es) => {
                if let Some((last, init)) = es.split_last() {
                    init.iter().for_each(|e| self.effect(e));
                    self.value(last);
                }
            }
            TK::Call(..) => self.too_deep = true, // inlined before lowering
            TK::Inline { body, ret } => {
                let end = self.label();
                self.inlines.push((end, *ret));
                self.stmts(body);
                self.inlines.pop();
                self.bind(end);
                if let Some(r) = ret {
                    self.read_local(*r);
                }
            }
            TK::Sys(id, args) => self.syscall(*id, args),
            TK::DeviceCall { device, name, args } => {
                for a in args {
                    self.value(a);
                    if width(a.ty) != Width::W64 {
                        self.mode(Width::W64);
                        self.op(Op::Zext, 1, 1);
                    }
                    self.gateway("gw_arg");
                }
                if let Some(device) = device {
                    self.value(device);
                }
                self.push(Width::W32, fnv1a32(name.as_bytes()) as u64);
                self.gateway(if device.is_some() { "gw_call" } else { "gw_transact" });
                match e.ty {
                    Ty::Void => self.op(Op::Pop, 1, 0),
                    t => self.convert(Ty::Int(crate::types::IntTy::U64), t),
                }
            }
            TK::BlockTimestamp => self.gateway("gw_block_timestamp"),
            TK::NamedDevice(name) => {
                self.push(Width::W32, fnv1a32(name.as_bytes()) as u64);
                self.gateway("gw_device");
            }
            TK::Input(off) => {
                self.value(off);
                self.mode(width(e.ty));
                self.op(Op::Inload, 1, 1);
            }
            TK::Decrypt(a) => {
                self.value(a);
                self.gateway("gw_decrypt");
            }
        }
    }

    fn gateway(&mut self, name: &str) {
        match alkyl_translator::ir::syscall::gateway_by_name(name) {
            Some(s) => self.emit(Op::Syscall, s.id as u64, s.args.len(), s.result.is_some() as usize),
            None => self.too_deep = true,
        }
    }

    fn helper(&mut self, name: &str, nargs: usize) {
        self.mode(Width::W32);
        self.emit(Op::Syscall, syscalls::helper_id(name) as u64, nargs, 1);
    }

    fn syscall(&mut self, id: syscalls::SysId, args: &[TExpr]) {
        let Some(def) = syscalls::SYSCALLS.get(id) else { return self.too_deep = true };
        let scratch = self.prog.scratch as u64;
        match def.lower {
            Lower::Helper(name) => {
                for a in args {
                    self.value(a);
                }
                self.helper(name, args.len());
            }
            Lower::Actuate { class, value } => {
                self.push(Width::W32, value as u64);
                self.push(Width::W32, class as u64);
                self.helper("saul_reg_find_type", 1);
                let ok = self.label();
                self.dup(1);
                self.jumpi(ok);
                self.revert(NO_ACTUATOR);
                self.bind(ok);
                self.swap(1);
                self.helper("saul_reg_write_value", 2);
            }
            Lower::ActuatorWrite => {
                let [class, value] = args else { return self.too_deep = true };
                self.value(class);
                self.convert(class.ty, Ty::Int(crate::types::IntTy::U32));
                self.helper("saul_reg_find_type", 1);
                self.value(value);
                self.helper("saul_reg_write_value", 2);
            }
            Lower::SensorRead => {
                let [class] = args else { return self.too_deep = true };
                self.value(class);
                self.convert(class.ty, Ty::Int(crate::types::IntTy::U32));
                self.helper("saul_reg_find_type", 1);
                self.push(Width::W32, scratch);
                self.helper("saul_reg_read", 2);
                self.push(Width::W32, 0);
                self.op(Op::Slt, 2, 1); // 0 < dimensions
                let (ok, end) = (self.label(), self.label());
                self.jumpi(ok);
                self.push(Width::W32, 0x8000_0000);
                self.jump(end);
                self.bind(ok);
                self.push(Width::W16, scratch);
                self.op(Op::Mload, 1, 1);
                self.mode(Width::W32);
                self.op(Op::Sext, 1, 1);
                self.bind(end);
            }
            Lower::Load { shared } => {
                let [key] = args else { return self.too_deep = true };
                self.value(key);
                self.push(Width::W32, scratch);
                self.helper(if shared { "fetch_global" } else { "fetch_local" }, 2);
                self.op(Op::Pop, 1, 0);
                self.push(Width::W32, scratch);
                self.op(Op::Mload, 1, 1);
            }
            Lower::GatewayLog => {
                for a in args {
                    self.value(a);
                }
                self.gateway("gw_log");
            }
            Lower::UnixTime => {
                self.push(Width::W32, scratch);
                self.helper("unix_time", 1); // 0, or ENODATA: not set
                self.op(Op::IsZero, 1, 1);
                let (ok, end) = (self.label(), self.label());
                self.jumpi(ok);
                self.push(Width::W32, 0xffff_ffff); // not set: every deadline has passed
                self.jump(end);
                self.bind(ok);
                self.push(Width::W32, scratch);
                self.op(Op::Mload, 1, 1);
                self.bind(end);
            }
        }
    }

    /// `a op b` of type `t` on the two values on top (b on top): pushes 0/1 in `t`'s mode.
    fn compare(&mut self, op: BinOp, t: Ty) {
        let s = signed(t);
        self.mode(width(t));
        let (lt, gt) = if s { (Op::Slt, Op::Sgt) } else { (Op::Lt, Op::Gt) };
        // The IR compares the top (the right operand) with the value below.
        match op {
            BinOp::Lt => self.op(gt, 2, 1),
            BinOp::Gt => self.op(lt, 2, 1),
            BinOp::Le => {
                self.op(lt, 2, 1);
                self.op(Op::IsZero, 1, 1);
            }
            BinOp::Ge => {
                self.op(gt, 2, 1);
                self.op(Op::IsZero, 1, 1);
            }
            BinOp::Eq => self.op(Op::Eq, 2, 1),
            _ => {
                self.op(Op::Eq, 2, 1);
                self.op(Op::IsZero, 1, 1);
            }
        }
    }

    /// Jumps to `target` when the bool `e` is `when`.
    fn cond(&mut self, e: &TExpr, target: L, when: bool) {
        if self.too_deep {
            return;
        }
        match &e.kind {
            TK::Const(v) => {
                if (*v != 0) == when {
                    self.jump(target);
                }
            }
            TK::Unary(UnOp::Not, a) => self.cond(a, target, !when),
            TK::Logical(and, a, b) => {
                if *and != when {
                    // && jumping on false, || jumping on true: either operand decides.
                    self.cond(a, target, when);
                    self.cond(b, target, when);
                } else {
                    let skip = self.label();
                    self.cond(a, skip, !when);
                    self.cond(b, target, when);
                    self.bind(skip);
                }
            }
            TK::Binary(op, a, b) if op.is_comparison() => {
                self.value(a);
                self.value(b);
                self.compare(*op, a.ty);
                if !when {
                    self.op(Op::IsZero, 1, 1);
                }
                self.jumpi(target);
            }
            _ => {
                self.value(e);
                if !when {
                    self.mode(Width::W8);
                    self.op(Op::IsZero, 1, 1);
                }
                self.jumpi(target);
            }
        }
    }
}

/// Blocks of each width (8, 16, 32, 64) in a module's code: maximal runs
/// of instructions in one mode, as `BITSn` delimits them.
pub fn mode_blocks(module: &[u8]) -> [usize; 4] {
    let mut counts = [0usize; 4];
    let Ok(m) = alkyl_translator::ir::Module::parse(module) else { return counts };
    for f in &m.functions {
        let mut mode = Width::W32;
        let mut in_run = false;
        let mut pos = 0;
        while let Some(Ok(i)) = alkyl_translator::ir::insn::decode(f.code, pos) {
            pos += i.len as usize;
            if let Some(w) = i.op.bit_mode() {
                if w != mode {
                    in_run = false;
                }
                mode = w;
                continue;
            }
            if !in_run {
                counts[mode.code() as usize] += 1;
                in_run = true;
            }
        }
    }
    counts
}

/// Whether evaluating `e` may store into local `l`.
fn writes_local(e: &TExpr, l: LocalId) -> bool {
    fn stmts(ss: &[TStmt], l: LocalId) -> bool {
        ss.iter().any(|s| match s {
            TStmt::Expr(e) | TStmt::Return(Some(e)) => writes_local(e, l),
            TStmt::If(c, t, e) => writes_local(c, l) || stmts(t, l) || stmts(e, l),
            TStmt::Loop { cond, body, step, .. } => {
                cond.as_ref().is_some_and(|c| writes_local(c, l)) || stmts(body, l) || stmts(step, l)
            }
            TStmt::ForEach { var, count, body } => *var == l || *count == l || stmts(body, l),
            TStmt::Block(b) => stmts(b, l),
            _ => false,
        })
    }
    match &e.kind {
        TK::Assign(p, v) => {
            matches!(**p, TPlace::Local(x) if x == l)
                || writes_local(v, l)
                || match &**p {
                    TPlace::Index(TIndex { index, .. }) => writes_local(index, l),
                    _ => false,
                }
        }
        TK::Const(_) | TK::Local(_) | TK::Global(_) | TK::BlockTimestamp | TK::NamedDevice(_) => false,
        TK::Index(TIndex { index, .. }) => writes_local(index, l),
        TK::StrIndex(a, b) | TK::Binary(_, a, b) | TK::Logical(_, a, b) => writes_local(a, l) || writes_local(b, l),
        TK::Unary(_, a) | TK::Convert(a) | TK::Decrypt(a) | TK::Input(a) => writes_local(a, l),
        TK::Cond(a, b, c) => writes_local(a, l) || writes_local(b, l) || writes_local(c, l),
        TK::Seq(es) | TK::Sys(_, es) | TK::Call(_, es) => es.iter().any(|e| writes_local(e, l)),
        TK::DeviceCall { device, args, .. } => {
            device.as_ref().is_some_and(|d| writes_local(d, l)) || args.iter().any(|e| writes_local(e, l))
        }
        TK::Inline { body, ret } => *ret == Some(l) || stmts(body, l),
    }
}

/// The IR instruction of an arithmetic operator, and whether the operands
/// (left pushed first) must be swapped: the IR's `SUB`, `DIV`, `MOD` take
/// the top of the stack as their left operand, shifts take it as the amount.
fn arith_op(op: BinOp, signed: bool) -> (Op, bool) {
    match op {
        BinOp::Add => (Op::Add, false),
        BinOp::Mul => (Op::Mul, false),
        BinOp::And => (Op::And, false),
        BinOp::Or => (Op::Or, false),
        BinOp::Xor => (Op::Xor, false),
        BinOp::Shl => (Op::Shl, false),
        BinOp::Shr if signed => (Op::Sar, false),
        BinOp::Shr => (Op::Shr, false),
        BinOp::Sub => (Op::Sub, true),
        BinOp::Div if signed => (Op::Sdiv, true),
        BinOp::Div => (Op::Div, true),
        BinOp::Rem if signed => (Op::Smod, true),
        _ => (Op::Mod, true),
    }
}
