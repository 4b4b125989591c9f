//! A generator of well-typed Alkyl programs and an independent evaluator
//! of what it generates, written from docs/alkyl-lang.md (§3–§7) with
//! explicit wrapping. It shares no code with the compiler but the names of
//! the binary operators (their meaning is the evaluator's own): the generator
//! keeps its own typed tree (the types it computes by the spec's rules),
//! prints it as source, and evaluates that tree.
//!
//! Programs cover every integer width and signedness, bool, char*,
//! literals that take their operand's type, casts, overflow, shifts by any
//! amount, division (by zero too), comparisons, `&&`/`||` short-circuit
//! with side effects, `?:`, assignment expressions, `++`/`--`, compound
//! assignment, `if`/`else`, counted `for` loops with `break`/`continue`,
//! `do … while`, early returns, helper-function calls (nested), global
//! arrays (indices in and out of bounds: `REVERT 0xb0`), and globals that
//! persist between calls.

#![allow(dead_code)]

use std::fmt::Write;

// The operators are the compiler's names (`BinOp` and its printed symbol);
// what each one computes is this evaluator's own.
use alkyl_lang::ast::BinOp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct It {
    pub bits: u32,
    pub signed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum T {
    Bool,
    I(It),
    Str,
}

impl It {
    fn mask(self) -> u64 {
        if self.bits == 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        }
    }
    fn sx(self, v: u64) -> i64 {
        let s = 64 - self.bits;
        ((v << s) as i64) >> s
    }
    fn name(self) -> String {
        format!("{}int{}_t", if self.signed { "" } else { "u" }, self.bits)
    }
}

impl T {
    fn name(self) -> String {
        match self {
            T::Bool => "bool".into(),
            T::I(i) => i.name(),
            T::Str => "char*".into(),
        }
    }
    fn width_bits(self) -> u32 {
        match self {
            T::Bool => 8,
            T::I(i) => i.bits,
            T::Str => 64,
        }
    }
}

const INTS: [It; 8] = [
    It { bits: 8, signed: false },
    It { bits: 16, signed: false },
    It { bits: 32, signed: false },
    It { bits: 64, signed: false },
    It { bits: 8, signed: true },
    It { bits: 16, signed: true },
    It { bits: 32, signed: true },
    It { bits: 64, signed: true },
];

const ARITH: [BinOp; 10] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Rem,
    BinOp::And,
    BinOp::Or,
    BinOp::Xor,
    BinOp::Shl,
    BinOp::Shr,
];
const CMP: [BinOp; 6] = [BinOp::Lt, BinOp::Gt, BinOp::Le, BinOp::Ge, BinOp::Eq, BinOp::Ne];

#[derive(Clone, Debug)]
pub enum Place {
    Local(usize),
    Global(usize),
    Arr(usize, Box<X>),
}

#[derive(Clone, Debug)]
pub enum E {
    /// Printed as a cast of a number: `(T)N`.
    Lit(u64),
    /// A bare number (or its negation) typed by the other operand.
    Bare(i128),
    Local(usize),
    Global(usize),
    Neg(Box<X>),
    BitNot(Box<X>),
    Not(Box<X>),
    /// Operands converted to the op type `.1`.
    Bin(BinOp, T, Box<X>, Box<X>),
    Logic(bool, Box<X>, Box<X>),
    Cond(Box<X>, Box<X>, Box<X>),
    Cast(Box<X>),
    Call(usize, Vec<X>),
    Assign(Place, Box<X>),
    IncDec {
        pre: bool,
        inc: bool,
        place: Place,
    },
    Arr(usize, Box<X>),
    StrIdx(Box<X>, Box<X>),
}

#[derive(Clone, Debug)]
pub struct X {
    pub e: E,
    pub t: T,
}

#[derive(Clone, Debug)]
pub enum S {
    Decl(usize, X),
    Assign(Place, X),
    Compound(Place, BinOp, X),
    IncDec(Place, bool),
    If(X, Vec<S>, Vec<S>),
    For { var: usize, n: u8, body: Vec<S> },
    DoWhile { var: usize, n: u8, body: Vec<S> },
    Break,
    Continue,
    Return(X),
    Expr(X),
}

#[derive(Clone, Debug)]
pub struct Func {
    pub params: Vec<T>,
    pub ret: T,
    pub locals: Vec<T>,
    pub body: Vec<S>,
}

#[derive(Clone, Debug)]
pub struct Program {
    pub globals: Vec<(T, u64)>,
    /// Arrays: element type and length.
    pub arrays: Vec<(It, u32)>,
    /// Helpers first, the entry (`public`) last.
    pub funcs: Vec<Func>,
}

/// Deterministic choices.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
    /// An interesting value of `t`: edges, small, random.
    fn value(&mut self, t: It) -> u64 {
        let m = t.mask();
        let v = match self.below(8) {
            0 => 0,
            1 => 1,
            2 => m,
            3 => m >> 1,
            4 => (m >> 1) + 1,
            5 => self.below(16),
            _ => self.next(),
        };
        v & m
    }
}

pub fn common(a: It, b: It) -> It {
    if a.bits != b.bits {
        if a.bits > b.bits {
            a
        } else {
            b
        }
    } else {
        It { bits: a.bits, signed: a.signed && b.signed }
    }
}

// ---------------------------------------------------------------- generation

struct Fcx {
    /// Visible locals: id, assignable.
    scope: Vec<Vec<(usize, bool)>>,
    locals: Vec<T>,
    nparams: usize,
    entry: bool,
    loop_depth: usize,
    ret: T,
}

pub struct Gen<'r> {
    r: &'r mut Rng,
    prog: Program,
    nodes: usize,
}

/// Generates one program.
pub fn generate(r: &mut Rng) -> Program {
    let mut g = Gen { r, prog: Program { globals: Vec::new(), arrays: Vec::new(), funcs: Vec::new() }, nodes: 0 };
    for _ in 0..g.r.below(4) {
        let t = g.scalar_type(true);
        let init = match t {
            T::I(i) => g.r.value(i),
            T::Bool => g.r.below(2),
            T::Str => g.r.next(),
        };
        g.prog.globals.push((t, init));
    }
    for _ in 0..g.r.below(3) {
        let e = INTS[g.r.below(8) as usize];
        let n = 1 + g.r.below(6) as u32;
        g.prog.arrays.push((e, n));
    }
    let helpers = g.r.below(3);
    for _ in 0..helpers {
        let f = g.func(false);
        g.prog.funcs.push(f);
    }
    let f = g.func(true);
    g.prog.funcs.push(f);
    g.prog
}

impl Gen<'_> {
    fn int_type(&mut self) -> It {
        INTS[self.r.below(8) as usize]
    }

    fn scalar_type(&mut self, str_ok: bool) -> T {
        match self.r.below(12) {
            0 => T::Bool,
            1 if str_ok => T::Str,
            _ => T::I(self.int_type()),
        }
    }

    fn func(&mut self, entry: bool) -> Func {
        let np = self.r.below(if entry { 6 } else { 4 }) as usize;
        let params: Vec<T> = (0..np).map(|_| self.scalar_type(true)).collect();
        let ret = T::I(self.int_type());
        let mut cx = Fcx {
            scope: vec![(0..np).map(|i| (i, !entry && params[i] != T::Str)).collect()],
            locals: params.clone(),
            nparams: np,
            entry,
            loop_depth: 0,
            ret,
        };
        self.nodes = 0;
        let n = 2 + self.r.below(5) as usize;
        let mut body = self.block(&mut cx, 3, n);
        let e = self.expr_of(&mut cx, ret, 3);
        body.push(S::Return(e));
        Func { params, ret, locals: cx.locals, body }
    }

    fn block(&mut self, cx: &mut Fcx, depth: u32, n: usize) -> Vec<S> {
        cx.scope.push(Vec::new());
        let mut out = Vec::new();
        for _ in 0..n {
            let s = self.stmt(cx, depth);
            let stop = matches!(s, S::Break | S::Continue | S::Return(_));
            out.push(s);
            if stop {
                break;
            }
        }
        cx.scope.pop();
        out
    }

    fn new_local(&mut self, cx: &mut Fcx, t: T, assignable: bool) -> usize {
        cx.locals.push(t);
        let id = cx.locals.len() - 1;
        if let Some(s) = cx.scope.last_mut() {
            s.push((id, assignable));
        }
        id
    }

    /// A place of an integer (or bool) type to assign.
    fn place(&mut self, cx: &mut Fcx, int_only: bool) -> Option<(Place, T)> {
        let mut cands: Vec<(Place, T)> = Vec::new();
        for s in &cx.scope {
            for &(id, a) in s {
                if a && (!int_only || matches!(cx.locals[id], T::I(_))) {
                    cands.push((Place::Local(id), cx.locals[id]));
                }
            }
        }
        for (i, &(t, _)) in self.prog.globals.iter().enumerate() {
            if t != T::Str && (!int_only || matches!(t, T::I(_))) {
                cands.push((Place::Global(i), t));
            }
        }
        if !self.prog.arrays.is_empty() && self.r.chance(30) {
            let a = self.r.below(self.prog.arrays.len() as u64) as usize;
            let idx = self.index(cx, self.prog.arrays[a].1);
            return Some((Place::Arr(a, Box::new(idx)), T::I(self.prog.arrays[a].0)));
        }
        if cands.is_empty() {
            return None;
        }
        let i = self.r.below(cands.len() as u64) as usize;
        Some(cands.swap_remove(i))
    }

    /// An index: mostly in range, sometimes not.
    fn index(&mut self, cx: &mut Fcx, len: u32) -> X {
        let t = It { bits: [8, 16, 32, 64][self.r.below(4) as usize], signed: self.r.chance(20) };
        if self.r.chance(50) {
            let v = if self.r.chance(5) { len as u64 + self.r.below(3) } else { self.r.below(len as u64) };
            return X { e: E::Lit(v & t.mask()), t: T::I(t) };
        }
        // (e & 7) % len: in range unless len does not divide... always in range for unsigned e.
        let e = self.expr_of(cx, T::I(t), 1);
        if self.r.chance(5) {
            return e; // anything: often out of bounds
        }
        let masked =
            X { e: E::Bin(BinOp::And, T::I(t), Box::new(e), Box::new(X { e: E::Lit(7), t: T::I(t) })), t: T::I(t) };
        let lenx = X { e: E::Lit(len as u64), t: T::I(t) };
        let rem = X { e: E::Bin(BinOp::Rem, T::I(t), Box::new(masked), Box::new(lenx)), t: T::I(t) };
        // Signed: -x % len can be negative; make it unsigned first.
        if t.signed {
            let u = It { bits: t.bits, signed: false };
            X { e: E::Cast(Box::new(rem)), t: T::I(u) }
        } else {
            rem
        }
    }

    fn stmt(&mut self, cx: &mut Fcx, depth: u32) -> S {
        self.nodes += 1;
        let big = self.nodes > 60;
        match self.r.below(if depth == 0 || big { 5 } else { 10 }) {
            0 => {
                let t = self.scalar_type(true);
                let e = self.expr_of(cx, t, 2);
                let id = self.new_local(cx, t, t != T::Str);
                S::Decl(id, e)
            }
            1 | 2 => match self.place(cx, false) {
                Some((p, t)) => {
                    let e = self.expr_assignable(cx, t, 3);
                    S::Assign(p, e)
                }
                None => S::Expr(self.expr_any(cx, 2)),
            },
            3 => match self.place(cx, true) {
                Some((p, t)) => {
                    let op = ARITH[self.r.below(10) as usize];
                    let T::I(ti) = t else { unreachable!() };
                    // The operand: any integer narrower or as wide as the place (or any, compound truncates).
                    let rt = T::I(if self.r.chance(50) { ti } else { self.int_type() });
                    let e = self.expr_of(cx, rt, 2);
                    S::Compound(p, op, e)
                }
                None => S::Expr(self.expr_any(cx, 2)),
            },
            4 => match self.place(cx, true) {
                Some((p, _)) => S::IncDec(p, self.r.chance(50)),
                None => S::Expr(self.expr_any(cx, 2)),
            },
            5 | 6 => {
                let c = self.cond(cx, 3);
                let t = {
                    let n = 1 + self.r.below(3) as usize;
                    self.block(cx, depth - 1, n)
                };
                let e = if self.r.chance(50) {
                    {
                        let n = 1 + self.r.below(2) as usize;
                        self.block(cx, depth - 1, n)
                    }
                } else {
                    vec![]
                };
                S::If(c, t, e)
            }
            7 => {
                let n = self.r.below(5) as u8;
                cx.scope.push(Vec::new());
                let var = self.new_local(cx, T::I(It { bits: 8, signed: false }), false);
                cx.loop_depth += 1;
                let body = {
                    let n = 1 + self.r.below(3) as usize;
                    self.block(cx, depth - 1, n)
                };
                cx.loop_depth -= 1;
                cx.scope.pop();
                S::For { var, n, body }
            }
            8 => {
                let n = 1 + self.r.below(3) as u8;
                let var = self.new_local(cx, T::I(It { bits: 8, signed: false }), false);
                cx.loop_depth += 1;
                // No `continue` in do-while bodies: the counter is in the condition.
                let saved = cx.loop_depth;
                cx.loop_depth = usize::MAX / 2;
                let body = {
                    let n = 1 + self.r.below(3) as usize;
                    self.block(cx, depth - 1, n)
                };
                cx.loop_depth = saved - 1;
                S::DoWhile { var, n, body }
            }
            _ => {
                if cx.loop_depth > 0 && cx.loop_depth < usize::MAX / 4 && self.r.chance(50) {
                    let c = self.cond(cx, 2);
                    let s = if self.r.chance(50) { S::Break } else { S::Continue };
                    S::If(c, vec![s], vec![])
                } else if self.r.chance(30) {
                    let c = self.cond(cx, 2);
                    let e = self.expr_of(cx, cx.ret, 2);
                    S::If(c, vec![S::Return(e)], vec![])
                } else {
                    S::Expr(self.expr_any(cx, 3))
                }
            }
        }
    }

    fn cond(&mut self, cx: &mut Fcx, depth: u32) -> X {
        if self.r.chance(70) {
            self.expr_of(cx, T::Bool, depth)
        } else {
            let t = T::I(self.int_type());
            self.expr_of(cx, t, depth)
        }
    }

    fn expr_any(&mut self, cx: &mut Fcx, depth: u32) -> X {
        let t = self.scalar_type(false);
        self.expr_of(cx, t, depth)
    }

    /// An expression implicitly assignable to `t`: of `t`, or (for an
    /// integer) of a narrower integer type or bool.
    fn expr_assignable(&mut self, cx: &mut Fcx, t: T, depth: u32) -> X {
        if let T::I(ti) = t {
            if self.r.chance(40) {
                let narrower: Vec<It> = INTS.iter().copied().filter(|i| i.bits <= ti.bits).collect();
                let s = narrower[self.r.below(narrower.len() as u64) as usize];
                let st = if self.r.chance(10) { T::Bool } else { T::I(s) };
                return self.expr_of(cx, st, depth);
            }
            if self.r.chance(20) {
                let (lo, hi) = range(ti);
                let v = lo + (self.r.next() as i128).rem_euclid(hi - lo + 1);
                return X { e: E::Bare(v), t };
            }
        }
        self.expr_of(cx, t, depth)
    }

    fn var_of(&mut self, cx: &Fcx, t: T) -> Option<X> {
        let mut c = Vec::new();
        for s in &cx.scope {
            for &(id, _) in s {
                if cx.locals[id] == t {
                    c.push(E::Local(id));
                }
            }
        }
        for (i, &(gt, _)) in self.prog.globals.iter().enumerate() {
            if gt == t {
                c.push(E::Global(i));
            }
        }
        if c.is_empty() {
            return None;
        }
        let i = self.r.below(c.len() as u64) as usize;
        Some(X { e: c.swap_remove(i), t })
    }

    /// An expression of type exactly `t`.
    fn expr_of(&mut self, cx: &mut Fcx, t: T, depth: u32) -> X {
        self.nodes += 1;
        let leaf = depth == 0 || self.nodes > 120;
        if t == T::Str {
            if let Some(v) = self.var_of(cx, t) {
                return v;
            }
            return X { e: E::Lit(self.r.next()), t };
        }
        let choice = if leaf { self.r.below(3) } else { self.r.below(16) };
        match (t, choice) {
            (_, 0) | (_, 1) => {
                if let Some(v) = self.var_of(cx, t) {
                    return v;
                }
                self.lit(t)
            }
            (_, 2) => self.lit(t),
            (T::Bool, 3..=6) => {
                let (a, b, ot) = self.operands(cx, depth);
                let op = if ot == T::Bool {
                    [BinOp::Eq, BinOp::Ne][self.r.below(2) as usize]
                } else {
                    CMP[self.r.below(6) as usize]
                };
                X { e: E::Bin(op, ot, Box::new(a), Box::new(b)), t }
            }
            (T::Bool, 7) => {
                let c = self.cond(cx, depth - 1);
                X { e: E::Not(Box::new(c)), t }
            }
            (T::Bool, 8 | 9) => {
                let a = self.cond(cx, depth - 1);
                let b = self.cond(cx, depth - 1);
                X { e: E::Logic(self.r.chance(50), Box::new(a), Box::new(b)), t }
            }
            (T::Bool, 10) => {
                let op = [BinOp::And, BinOp::Or, BinOp::Xor, BinOp::Eq, BinOp::Ne][self.r.below(5) as usize];
                let a = self.expr_of(cx, T::Bool, depth - 1);
                let b = self.expr_of(cx, T::Bool, depth - 1);
                X { e: E::Bin(op, T::Bool, Box::new(a), Box::new(b)), t }
            }
            (T::I(ti), 3..=6) => {
                let op = ARITH[self.r.below(10) as usize];
                if matches!(op, BinOp::Shl | BinOp::Shr) {
                    let a = self.expr_of(cx, t, depth - 1);
                    let at = T::I(self.int_type());
                    let b = if self.r.chance(50) {
                        X {
                            e: E::Lit(
                                self.r.below(80)
                                    & match at {
                                        T::I(i) => i.mask(),
                                        _ => 0,
                                    },
                            ),
                            t: at,
                        }
                    } else {
                        self.expr_of(cx, at, depth - 1)
                    };
                    return X { e: E::Bin(op, t, Box::new(a), Box::new(b)), t };
                }
                // Operands whose common type is `ti`.
                let (a, b) = self.operands_for(cx, ti, depth);
                X { e: E::Bin(op, t, Box::new(a), Box::new(b)), t }
            }
            (T::I(_), 7) => {
                let a = self.expr_of(cx, t, depth - 1);
                X { e: if self.r.chance(50) { E::Neg(Box::new(a)) } else { E::BitNot(Box::new(a)) }, t }
            }
            (T::I(_), 8) => {
                let src = if self.r.chance(15) { T::Bool } else { T::I(self.int_type()) };
                let a = self.expr_of(cx, src, depth - 1);
                X { e: E::Cast(Box::new(a)), t }
            }
            (T::I(ti), 9) if !self.prog.arrays.is_empty() => {
                let cands: Vec<usize> = (0..self.prog.arrays.len()).filter(|&a| self.prog.arrays[a].0 == ti).collect();
                if cands.is_empty() {
                    let a = self.r.below(self.prog.arrays.len() as u64) as usize;
                    let idx = self.index(cx, self.prog.arrays[a].1);
                    let el = X { e: E::Arr(a, Box::new(idx)), t: T::I(self.prog.arrays[a].0) };
                    return X { e: E::Cast(Box::new(el)), t };
                }
                let a = cands[self.r.below(cands.len() as u64) as usize];
                let idx = self.index(cx, self.prog.arrays[a].1);
                X { e: E::Arr(a, Box::new(idx)), t }
            }
            (T::I(It { bits: 8, signed: false }), 10) => {
                let s = self.expr_of(cx, T::Str, 0);
                let it = It { bits: 8, signed: false };
                let i = if self.r.chance(90) {
                    X { e: E::Lit(self.r.below(8)), t: T::I(it) }
                } else {
                    let e = self.expr_of(cx, T::I(it), depth - 1);
                    X {
                        e: E::Bin(
                            BinOp::And,
                            T::I(it),
                            Box::new(e),
                            Box::new(X { e: E::Lit(if self.r.chance(90) { 7 } else { 15 }), t: T::I(it) }),
                        ),
                        t: T::I(it),
                    }
                };
                X { e: E::StrIdx(Box::new(s), Box::new(i)), t }
            }
            (_, 11) => {
                let c = self.cond(cx, depth - 1);
                let a = self.expr_of(cx, t, depth - 1);
                let b = self.expr_of(cx, t, depth - 1);
                X { e: E::Cond(Box::new(c), Box::new(a), Box::new(b)), t }
            }
            (_, 12) => {
                // A call of an earlier helper returning `t` (or cast).
                let n = self.prog.funcs.len();
                if n > 0 {
                    let f = self.r.below(n as u64) as usize;
                    let params = self.prog.funcs[f].params.clone();
                    let ret = self.prog.funcs[f].ret;
                    let args: Vec<X> = params.iter().map(|&p| self.expr_assignable(cx, p, depth - 1)).collect();
                    let call = X { e: E::Call(f, args), t: ret };
                    return if ret == t { call } else { X { e: E::Cast(Box::new(call)), t } };
                }
                self.lit(t)
            }
            (T::I(_), 13) => match self.place(cx, true) {
                Some((p, pt)) => {
                    let e = X { e: E::IncDec { pre: self.r.chance(50), inc: self.r.chance(50), place: p }, t: pt };
                    if pt == t {
                        e
                    } else {
                        X { e: E::Cast(Box::new(e)), t }
                    }
                }
                None => self.lit(t),
            },
            (_, 14) => match self.place(cx, false) {
                Some((p, pt)) => {
                    let v = self.expr_assignable(cx, pt, depth - 1);
                    let e = X { e: E::Assign(p, Box::new(v)), t: pt };
                    if pt == t {
                        e
                    } else {
                        X { e: E::Cast(Box::new(e)), t }
                    }
                }
                None => self.lit(t),
            },
            _ => {
                if let Some(v) = self.var_of(cx, t) {
                    return v;
                }
                self.lit(t)
            }
        }
    }

    fn lit(&mut self, t: T) -> X {
        match t {
            T::Bool => X { e: E::Lit(self.r.below(2)), t },
            T::I(i) => X { e: E::Lit(self.r.value(i)), t },
            T::Str => X { e: E::Lit(self.r.next()), t },
        }
    }

    /// Two operands of some type, for a comparison: (a, b, op type).
    fn operands(&mut self, cx: &mut Fcx, depth: u32) -> (X, X, T) {
        if self.r.chance(10) {
            let a = self.expr_of(cx, T::Bool, depth - 1);
            let b = self.expr_of(cx, T::Bool, depth - 1);
            return (a, b, T::Bool);
        }
        let t = self.int_type();
        let (a, b) = self.operands_for(cx, t, depth);
        (a, b, T::I(t))
    }

    /// Two integer operands whose common type is `t`.
    fn operands_for(&mut self, cx: &mut Fcx, t: It, depth: u32) -> (X, X) {
        let a = self.expr_of(cx, T::I(t), depth - 1);
        let bt = match self.r.below(4) {
            0 => {
                // A bare literal: takes `t`.
                let (lo, hi) = range(t);
                let v = match self.r.below(4) {
                    0 => lo,
                    1 => hi,
                    _ => lo + (self.r.next() as i128).rem_euclid(hi - lo + 1),
                };
                return self.maybe_swap(a, X { e: E::Bare(v), t: T::I(t) });
            }
            1 => {
                // Any type whose common type with `t` is `t`.
                let c: Vec<It> = INTS.iter().copied().filter(|&o| common(t, o) == t).collect();
                c[self.r.below(c.len() as u64) as usize]
            }
            _ => t,
        };
        let b = self.expr_of(cx, T::I(bt), depth - 1);
        self.maybe_swap(a, b)
    }

    fn maybe_swap(&mut self, a: X, b: X) -> (X, X) {
        if self.r.chance(50) {
            (b, a)
        } else {
            (a, b)
        }
    }
}

fn range(t: It) -> (i128, i128) {
    if t.signed {
        (-(1i128 << (t.bits - 1)), (1i128 << (t.bits - 1)) - 1)
    } else {
        (0, (1i128 << t.bits) - 1)
    }
}

// ---------------------------------------------------------------- printing

pub fn print(p: &Program) -> String {
    let mut o = String::new();
    for (i, &(t, v)) in p.globals.iter().enumerate() {
        let init = match t {
            T::Str => str_lit(v),
            T::Bool => (if v != 0 { "true" } else { "false" }).to_string(),
            T::I(it) if it.signed => it.sx(v).to_string(),
            T::I(_) => v.to_string(),
        };
        let _ = writeln!(o, "{} g{i} = {init};", t.name());
    }
    for (i, &(t, n)) in p.arrays.iter().enumerate() {
        let _ = writeln!(o, "{} a{i}[{n}];", t.name());
    }
    let last = p.funcs.len() - 1;
    for (fi, f) in p.funcs.iter().enumerate() {
        let kw = if fi == last { "public " } else { "" };
        let name = if fi == last { "f".to_string() } else { format!("h{fi}") };
        let params: Vec<String> = f.params.iter().enumerate().map(|(i, t)| format!("{} l{i}", t.name())).collect();
        let _ = writeln!(o, "{kw}{} {name}({}) {{", f.ret.name(), params.join(", "));
        for s in &f.body {
            stmt(&mut o, p, f, s, 1);
        }
        o.push_str("}\n");
    }
    o
}

fn str_lit(v: u64) -> String {
    let mut s = String::from("\"");
    let bytes = v.to_le_bytes();
    let n = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    for &b in &bytes[..n] {
        let _ = write!(s, "\\x{b:02x}");
    }
    s.push('"');
    s
}

fn place(p: &Place, prog: &Program, f: &Func) -> String {
    match p {
        Place::Local(i) => format!("l{i}"),
        Place::Global(i) => format!("g{i}"),
        Place::Arr(a, i) => format!("a{a}[{}]", expr(i, prog, f)),
    }
}

fn stmt(o: &mut String, p: &Program, f: &Func, s: &S, ind: usize) {
    let pad = "    ".repeat(ind);
    match s {
        S::Decl(id, e) => {
            let _ = writeln!(o, "{pad}{} l{id} = {};", f.locals[*id].name(), expr(e, p, f));
        }
        S::Assign(pl, e) => {
            let _ = writeln!(o, "{pad}{} = {};", place(pl, p, f), expr(e, p, f));
        }
        S::Compound(pl, op, e) => {
            let _ = writeln!(o, "{pad}{} {}= {};", place(pl, p, f), op.symbol(), expr(e, p, f));
        }
        S::IncDec(pl, inc) => {
            let _ = writeln!(o, "{pad}{}{};", place(pl, p, f), if *inc { "++" } else { "--" });
        }
        S::If(c, t, e) => {
            let _ = writeln!(o, "{pad}if ({}) {{", expr(c, p, f));
            for s in t {
                stmt(o, p, f, s, ind + 1);
            }
            if e.is_empty() {
                let _ = writeln!(o, "{pad}}}");
            } else {
                let _ = writeln!(o, "{pad}}} else {{");
                for s in e {
                    stmt(o, p, f, s, ind + 1);
                }
                let _ = writeln!(o, "{pad}}}");
            }
        }
        S::For { var, n, body } => {
            let _ = writeln!(o, "{pad}for (uint8_t l{var} = 0; l{var} < {n}; l{var}++) {{");
            for s in body {
                stmt(o, p, f, s, ind + 1);
            }
            let _ = writeln!(o, "{pad}}}");
        }
        S::DoWhile { var, n, body } => {
            let _ = writeln!(o, "{pad}uint8_t l{var} = 0;");
            let _ = writeln!(o, "{pad}do {{");
            for s in body {
                stmt(o, p, f, s, ind + 1);
            }
            let _ = writeln!(o, "{pad}}} while (++l{var} < {n});");
        }
        S::Break => {
            let _ = writeln!(o, "{pad}break;");
        }
        S::Continue => {
            let _ = writeln!(o, "{pad}continue;");
        }
        S::Return(e) => {
            let _ = writeln!(o, "{pad}return {};", expr(e, p, f));
        }
        S::Expr(e) => {
            let _ = writeln!(o, "{pad}{};", expr(e, p, f));
        }
    }
}

fn expr(x: &X, p: &Program, f: &Func) -> String {
    match &x.e {
        E::Lit(v) => match x.t {
            T::Bool => (if *v != 0 { "true" } else { "false" }).into(),
            T::Str => str_lit(*v),
            T::I(i) => {
                if i.signed && i.sx(*v) < 0 && i.sx(*v) != i64::MIN {
                    format!("(({}){})", i.name(), i.sx(*v))
                } else {
                    format!("(({}){v:#x})", i.name())
                }
            }
        },
        E::Bare(v) => {
            if *v < 0 {
                format!("({v})")
            } else {
                v.to_string()
            }
        }
        E::Local(i) => format!("l{i}"),
        E::Global(i) => format!("g{i}"),
        E::Neg(a) => format!("(-{})", expr(a, p, f)),
        E::BitNot(a) => format!("(~{})", expr(a, p, f)),
        E::Not(a) => format!("(!{})", expr(a, p, f)),
        E::Bin(op, _, a, b) => format!("({} {} {})", expr(a, p, f), op.symbol(), expr(b, p, f)),
        E::Logic(and, a, b) => format!("({} {} {})", expr(a, p, f), if *and { "&&" } else { "||" }, expr(b, p, f)),
        E::Cond(c, a, b) => format!("({} ? {} : {})", expr(c, p, f), expr(a, p, f), expr(b, p, f)),
        E::Cast(a) => format!("(({}){})", x.t.name(), expr(a, p, f)),
        E::Call(fi, args) => {
            let a: Vec<String> = args.iter().map(|a| expr(a, p, f)).collect();
            format!("h{fi}({})", a.join(", "))
        }
        E::Assign(pl, v) => format!("({} = {})", place(pl, p, f), expr(v, p, f)),
        E::IncDec { pre, inc, place: pl } => {
            let op = if *inc { "++" } else { "--" };
            if *pre {
                format!("({op}{})", place(pl, p, f))
            } else {
                format!("({}{op})", place(pl, p, f))
            }
        }
        E::Arr(a, i) => format!("a{a}[{}]", expr(i, p, f)),
        E::StrIdx(s, i) => format!("{}[{}]", expr(s, p, f), expr(i, p, f)),
    }
}

// ---------------------------------------------------------------- evaluation

/// The state that persists between calls.
#[derive(Clone, Debug)]
pub struct State {
    pub globals: Vec<u64>,
    pub arrays: Vec<Vec<u64>>,
}

impl State {
    pub fn new(p: &Program) -> State {
        State {
            globals: p.globals.iter().map(|g| g.1).collect(),
            arrays: p.arrays.iter().map(|a| vec![0; a.1 as usize]).collect(),
        }
    }
}

/// How a call ends: a value (zero-extended bits), or `REVERT code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Value(u64),
    Revert(u16),
}

enum Flow {
    Normal,
    Break,
    Continue,
    Return(u64),
}

type Ev<T> = Result<T, u16>;

struct Frame {
    locals: Vec<u64>,
}

pub fn convert(v: u64, from: T, to: T) -> u64 {
    match (from, to) {
        (_, T::Bool) => (v != 0) as u64,
        (T::Bool, T::I(t)) => v & t.mask(),
        (T::I(f), T::I(t)) => {
            if t.bits > f.bits && f.signed {
                (f.sx(v) as u64) & t.mask()
            } else {
                v & t.mask()
            }
        }
        (_, T::Str) | (T::Str, _) => v,
    }
}

fn arith(op: BinOp, t: It, a: u64, b: u64) -> u64 {
    let (sa, sb) = (t.sx(a), t.sx(b));
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Div if b == 0 => 0,
        BinOp::Rem if b == 0 => 0,
        BinOp::Div if t.signed => sa.wrapping_div(sb) as u64,
        BinOp::Div => a / b,
        BinOp::Rem if t.signed => sa.wrapping_rem(sb) as u64,
        BinOp::Rem => a % b,
        _ => unreachable!(),
    };
    r & t.mask()
}

fn compare(op: BinOp, t: T, a: u64, b: u64) -> bool {
    let (x, y): (i128, i128) = match t {
        T::I(i) if i.signed => (i.sx(a) as i128, i.sx(b) as i128),
        _ => (a as i128, b as i128),
    };
    match op {
        BinOp::Lt => x < y,
        BinOp::Gt => x > y,
        BinOp::Le => x <= y,
        BinOp::Ge => x >= y,
        BinOp::Eq => x == y,
        _ => x != y,
    }
}

/// Calls the entry function with `args` (one u64 per parameter slot).
pub fn call(p: &Program, st: &mut State, args: &[u64]) -> Outcome {
    let f = p.funcs.len() - 1;
    let params: Vec<u64> = p.funcs[f]
        .params
        .iter()
        .zip(args)
        .map(|(&t, &a)| match t {
            T::Bool => (a & 0xff != 0) as u64,
            T::I(i) => a & i.mask(),
            T::Str => a,
        })
        .collect();
    match run(p, st, f, params) {
        Ok(v) => Outcome::Value(
            v & match p.funcs[f].ret {
                T::I(i) => i.mask(),
                _ => u64::MAX,
            },
        ),
        Err(code) => Outcome::Revert(code),
    }
}

fn run(p: &Program, st: &mut State, f: usize, params: Vec<u64>) -> Ev<u64> {
    let func = &p.funcs[f];
    let mut fr = Frame { locals: vec![0; func.locals.len()] };
    fr.locals[..params.len()].copy_from_slice(&params);
    match block(p, st, func, &mut fr, &func.body)? {
        Flow::Return(v) => Ok(v),
        _ => unreachable!("functions end with return"),
    }
}

fn block(p: &Program, st: &mut State, f: &Func, fr: &mut Frame, ss: &[S]) -> Ev<Flow> {
    for s in ss {
        match exec(p, st, f, fr, s)? {
            Flow::Normal => {}
            other => return Ok(other),
        }
    }
    Ok(Flow::Normal)
}

fn exec(p: &Program, st: &mut State, f: &Func, fr: &mut Frame, s: &S) -> Ev<Flow> {
    match s {
        S::Decl(id, e) => {
            let v = eval(p, st, f, fr, e)?;
            fr.locals[*id] = convert(v, e.t, f.locals[*id]);
        }
        S::Assign(pl, e) => {
            // Left to right: the place's index, then the value.
            let (r, t) = resolve(p, st, f, fr, pl)?;
            let v = eval(p, st, f, fr, e)?;
            store(st, fr, r, convert(v, e.t, t));
        }
        S::Compound(pl, op, e) => {
            let (r, t) = resolve(p, st, f, fr, pl)?;
            let cur = load(st, fr, r);
            let v = eval(p, st, f, fr, e)?;
            let T::I(pt) = t else { unreachable!() };
            let T::I(et) = e.t else { unreachable!() };
            let nv = if matches!(op, BinOp::Shl | BinOp::Shr) {
                shift(*op, pt, cur, v, et)
            } else {
                let c = common(pt, et);
                let r = arith(*op, c, convert(cur, t, T::I(c)), convert(v, e.t, T::I(c)));
                convert(r, T::I(c), t)
            };
            store(st, fr, r, nv);
        }
        S::IncDec(pl, inc) => {
            let (r, t) = resolve(p, st, f, fr, pl)?;
            let T::I(pt) = t else { unreachable!() };
            let cur = load(st, fr, r);
            store(st, fr, r, arith(if *inc { BinOp::Add } else { BinOp::Sub }, pt, cur, 1));
        }
        S::If(c, t, e) => {
            let v = eval(p, st, f, fr, c)?;
            return block(p, st, f, fr, if v != 0 { t } else { e });
        }
        S::For { var, n, body } => {
            fr.locals[*var] = 0;
            while fr.locals[*var] < *n as u64 {
                match block(p, st, f, fr, body)? {
                    Flow::Break => break,
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    Flow::Normal | Flow::Continue => {}
                }
                fr.locals[*var] = (fr.locals[*var] + 1) & 0xff;
            }
        }
        S::DoWhile { var, n, body } => {
            fr.locals[*var] = 0;
            loop {
                match block(p, st, f, fr, body)? {
                    Flow::Break => break,
                    Flow::Return(v) => return Ok(Flow::Return(v)),
                    Flow::Normal | Flow::Continue => {}
                }
                fr.locals[*var] = (fr.locals[*var] + 1) & 0xff;
                if fr.locals[*var] >= *n as u64 {
                    break;
                }
            }
        }
        S::Break => return Ok(Flow::Break),
        S::Continue => return Ok(Flow::Continue),
        S::Return(e) => {
            let v = eval(p, st, f, fr, e)?;
            return Ok(Flow::Return(convert(v, e.t, f.ret)));
        }
        S::Expr(e) => {
            eval(p, st, f, fr, e)?;
        }
    }
    Ok(Flow::Normal)
}

#[derive(Clone, Copy)]
enum Ref {
    Local(usize),
    Global(usize),
    Arr(usize, usize),
}

fn resolve(p: &Program, st: &mut State, f: &Func, fr: &mut Frame, pl: &Place) -> Ev<(Ref, T)> {
    Ok(match pl {
        Place::Local(i) => (Ref::Local(*i), f.locals[*i]),
        Place::Global(i) => (Ref::Global(*i), p.globals[*i].0),
        Place::Arr(a, i) => {
            let idx = eval(p, st, f, fr, i)?;
            let len = p.arrays[*a].1 as u64;
            if idx >= len {
                return Err(0xb0);
            }
            (Ref::Arr(*a, idx as usize), T::I(p.arrays[*a].0))
        }
    })
}

fn load(st: &State, fr: &Frame, r: Ref) -> u64 {
    match r {
        Ref::Local(i) => fr.locals[i],
        Ref::Global(i) => st.globals[i],
        Ref::Arr(a, i) => st.arrays[a][i],
    }
}

fn store(st: &mut State, fr: &mut Frame, r: Ref, v: u64) {
    match r {
        Ref::Local(i) => fr.locals[i] = v,
        Ref::Global(i) => st.globals[i] = v,
        Ref::Arr(a, i) => st.arrays[a][i] = v,
    }
}

fn shift(op: BinOp, t: It, a: u64, b: u64, bt: It) -> u64 {
    let amount = ((b & bt.mask()) % t.bits as u64) as u32;
    match op {
        BinOp::Shl => (a << amount) & t.mask(),
        _ if t.signed => (t.sx(a) >> amount) as u64 & t.mask(),
        _ => a >> amount,
    }
}

fn eval(p: &Program, st: &mut State, f: &Func, fr: &mut Frame, x: &X) -> Ev<u64> {
    Ok(match &x.e {
        E::Lit(v) => *v,
        E::Bare(v) => {
            (*v as u64)
                & match x.t {
                    T::I(i) => i.mask(),
                    _ => u64::MAX,
                }
        }
        E::Local(i) => fr.locals[*i],
        E::Global(i) => st.globals[*i],
        E::Neg(a) => {
            let T::I(t) = x.t else { unreachable!() };
            eval(p, st, f, fr, a)?.wrapping_neg() & t.mask()
        }
        E::BitNot(a) => {
            let T::I(t) = x.t else { unreachable!() };
            !eval(p, st, f, fr, a)? & t.mask()
        }
        E::Not(a) => (eval(p, st, f, fr, a)? == 0) as u64,
        E::Bin(op, ot, a, b) => {
            let va = eval(p, st, f, fr, a)?;
            let vb = eval(p, st, f, fr, b)?;
            if matches!(op, BinOp::Shl | BinOp::Shr) {
                let (T::I(t), T::I(bt)) = (a.t, b.t) else { unreachable!() };
                return Ok(shift(*op, t, va, vb, bt));
            }
            let (ca, cb) = (convert(va, a.t, *ot), convert(vb, b.t, *ot));
            if op.is_comparison() {
                compare(*op, *ot, ca, cb) as u64
            } else {
                match ot {
                    T::I(t) => arith(*op, *t, ca, cb),
                    _ => match op {
                        BinOp::And => ca & cb,
                        BinOp::Or => ca | cb,
                        _ => ca ^ cb,
                    },
                }
            }
        }
        E::Logic(and, a, b) => {
            let va = eval(p, st, f, fr, a)? != 0;
            if va != *and {
                va as u64
            } else {
                (eval(p, st, f, fr, b)? != 0) as u64
            }
        }
        E::Cond(c, a, b) => {
            if eval(p, st, f, fr, c)? != 0 {
                eval(p, st, f, fr, a)?
            } else {
                eval(p, st, f, fr, b)?
            }
        }
        E::Cast(a) => convert(eval(p, st, f, fr, a)?, a.t, x.t),
        E::Call(fi, args) => {
            let callee = &p.funcs[*fi];
            let mut vals = Vec::new();
            for (a, &pt) in args.iter().zip(&callee.params) {
                let v = eval(p, st, f, fr, a)?;
                vals.push(convert(v, a.t, pt));
            }
            run(p, st, *fi, vals)?
        }
        E::Assign(pl, v) => {
            let (r, t) = resolve(p, st, f, fr, pl)?;
            let val = eval(p, st, f, fr, v)?;
            let c = convert(val, v.t, t);
            store(st, fr, r, c);
            c
        }
        E::IncDec { pre, inc, place } => {
            let (r, t) = resolve(p, st, f, fr, place)?;
            let T::I(pt) = t else { unreachable!() };
            let cur = load(st, fr, r);
            let nv = arith(if *inc { BinOp::Add } else { BinOp::Sub }, pt, cur, 1);
            store(st, fr, r, nv);
            if *pre {
                nv
            } else {
                cur
            }
        }
        E::Arr(a, i) => {
            let idx = eval(p, st, f, fr, i)?;
            if idx >= p.arrays[*a].1 as u64 {
                return Err(0xb0);
            }
            st.arrays[*a][idx as usize]
        }
        E::StrIdx(s, i) => {
            let sv = eval(p, st, f, fr, s)?;
            let idx = eval(p, st, f, fr, i)?;
            if idx >= 8 {
                return Err(0xb0);
            }
            (sv >> (idx * 8)) & 0xff
        }
    })
}
