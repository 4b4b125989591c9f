//! The type checker: resolves names, types every expression by the rules
//! of `docs/alkyl-lang.md` §4–§6, makes every conversion explicit, and
//! reports what is wrong with a span and what was expected.

use std::collections::HashMap;

use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::syscalls::{self, Lower};
use crate::typed::*;
use crate::types::{Elem, IntTy, Ty, STR_CAPACITY};

/// Entry functions take at most this many parameters (the IR's limit).
pub const MAX_ENTRY_PARAMS: usize = 5;
/// Longest global array, in elements.
pub const MAX_ARRAY_LEN: u64 = 4096;
/// Linear memory available to global arrays.
pub const MAX_MEMORY: u32 = 65536 - 8;

/// A device function the gateway may call (`public` prototype).
#[derive(Clone, Debug)]
pub struct Proto {
    pub name: String,
    pub params: Vec<Ty>,
    pub ret: Ty,
}

/// An expression being typed: the tree, and for an integer literal (or
/// its negation) whose type is not settled yet, its value.
#[derive(Clone, Debug)]
struct Ex {
    e: TExpr,
    lit: Option<i128>,
    span: Span,
}

type R<T> = Result<T, ()>;

struct Checker<'p> {
    diags: Vec<Diagnostic>,
    globals: Vec<TGlobal>,
    global_names: HashMap<String, GlobalId>,
    func_names: HashMap<String, FuncId>,
    decls: Vec<&'p FuncDecl>,
    protos: HashMap<String, Proto>,
    gateway: bool,
    uses_scratch: bool,
    /// Names of the functions with a body.
    defined: std::collections::HashSet<String>,
    // Per function:
    scopes: Vec<HashMap<String, LocalId>>,
    locals: Vec<Ty>,
    nparams: usize,
    cur_kind: FnKind,
    cur_name: String,
    ret: Ty,
    loop_depth: usize,
    calls: Vec<FuncId>,
}

/// Checks a parsed program.
///
/// # Errors
/// Every diagnostic (errors and warnings) when there is an error.
/// On success, the warnings are returned with the program.
pub fn check(program: &Program) -> Result<(TProgram, Vec<Diagnostic>), Vec<Diagnostic>> {
    let gateway = program.items.iter().any(|i| matches!(i, Item::Function(f) if f.kind == FnKind::On));
    let mut c = Checker {
        diags: Vec::new(),
        globals: Vec::new(),
        global_names: HashMap::new(),
        func_names: HashMap::new(),
        decls: Vec::new(),
        protos: HashMap::new(),
        gateway,
        uses_scratch: false,
        defined: program
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Function(f) if f.body.is_some() => Some(f.name.clone()),
                _ => None,
            })
            .collect(),
        scopes: Vec::new(),
        locals: Vec::new(),
        nparams: 0,
        cur_kind: FnKind::Plain,
        cur_name: String::new(),
        ret: Ty::Void,
        loop_depth: 0,
        calls: Vec::new(),
    };
    let mut memory = 0u32;
    // Declarations first: globals and function names.
    for item in &program.items {
        match item {
            Item::Global(d) => c.global(d, &mut memory),
            Item::Function(f) => c.declare(f),
        }
    }
    let mut funcs = Vec::new();
    for f in c.decls.clone() {
        funcs.push(c.function(f));
    }
    // Recursion is refused: functions are inlined.
    for (i, f) in funcs.iter().enumerate() {
        if let Some(cycle) = find_cycle(&funcs, i) {
            if cycle.first() == Some(&i) && cycle.iter().min() == Some(&i) {
                let names: Vec<&str> = cycle.iter().map(|&j| funcs[j].name.as_str()).collect();
                c.diags.push(
                    Diagnostic::error(f.span, format!("`{}` is recursive", f.name), "a function that calls itself")
                        .note(format!("call cycle: {} -> {}", names.join(" -> "), f.name))
                        .note("functions are inlined where they are called, so recursion is refused"),
                );
            }
        }
    }
    let align = 8;
    memory = memory.div_ceil(align) * align;
    let scratch = memory;
    if c.uses_scratch {
        memory += 8;
    }
    if c.diags.iter().any(Diagnostic::is_error) {
        return Err(c.diags);
    }
    let prog = TProgram { globals: c.globals, funcs, gateway, memory_size: memory, scratch };
    Ok((prog, c.diags))
}

fn find_cycle(funcs: &[TFunc], start: usize) -> Option<Vec<usize>> {
    fn dfs(funcs: &[TFunc], at: usize, start: usize, path: &mut Vec<usize>, seen: &mut Vec<bool>) -> bool {
        for &n in &funcs[at].calls {
            if n == start {
                return true;
            }
            if n < seen.len() && !seen[n] {
                seen[n] = true;
                path.push(n);
                if dfs(funcs, n, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    let mut seen = vec![false; funcs.len()];
    dfs(funcs, start, start, &mut path, &mut seen).then_some(path)
}

fn default_int(v: i128) -> IntTy {
    if IntTy::I32.fits(v) {
        IntTy::I32
    } else if IntTy::I64.fits(v) {
        IntTy::I64
    } else {
        IntTy::U64
    }
}

/// The C-like common type of two integer types: the wider; at equal
/// widths, unsigned unless both are signed.
pub fn common(a: IntTy, b: IntTy) -> IntTy {
    if a.bits != b.bits {
        if a.bits > b.bits {
            a
        } else {
            b
        }
    } else {
        IntTy { bits: a.bits, signed: a.signed && b.signed }
    }
}

fn convert(e: TExpr, to: Ty) -> TExpr {
    if e.ty == to {
        return e;
    }
    if let TK::Const(v) = e.kind {
        // Fold conversions of constants.
        let value: i128 = match e.ty {
            Ty::Int(i) => i.value(v),
            _ => v as i128,
        };
        match to {
            Ty::Bool => return TExpr::konst((value != 0) as u64, to),
            Ty::Int(_) => return TExpr::konst(value as u64, to),
            _ => {}
        }
    }
    TExpr::new(TK::Convert(Box::new(e)), to)
}

impl<'p> Checker<'p> {
    fn err(&mut self, span: Span, msg: impl Into<String>, label: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, msg, label));
    }

    fn global(&mut self, d: &VarDecl, memory: &mut u32) {
        if self.global_names.contains_key(&d.name) || self.func_names.contains_key(&d.name) {
            self.err(d.name_span, format!("`{}` is declared twice", d.name), "a second declaration");
            return;
        }
        let mut g = TGlobal { name: d.name.clone(), ty: d.ty, init: 0, offset: 0 };
        match (d.ty, d.array) {
            (Ty::Void, _) => return self.err(d.ty_span, "a variable cannot be `void`", "expected a value type"),
            (Ty::Device, _) => {
                return self.err(d.ty_span, "a global cannot be a device", "devices exist only in `for each`")
            }
            (ty, Some((n, ns))) => {
                let elem = match ty {
                    Ty::Bool => Elem::Bool,
                    Ty::Int(i) => Elem::Int(i),
                    _ => return self.err(d.ty_span, "arrays hold integers or bools", "expected an integer type"),
                };
                if n == 0 || n > MAX_ARRAY_LEN {
                    return self.err(ns, "bad array length", format!("expected 1..={MAX_ARRAY_LEN}"));
                }
                let size = ty.width().map_or(1, |w| w.bytes());
                let offset = memory.div_ceil(size) * size;
                let end = offset as u64 + n * size as u64;
                if end > MAX_MEMORY as u64 {
                    return self.err(d.span, "global arrays exceed linear memory", "at most 65528 bytes in all");
                }
                *memory = end as u32;
                g.ty = Ty::Array(elem, n as u32);
                g.offset = offset;
                if let Some(init) = &d.init {
                    return self.err(init.span, "arrays start zeroed", "no initializer here");
                }
            }
            (ty, None) => {
                if let Some(init) = &d.init {
                    let saved = std::mem::take(&mut self.scopes);
                    let v = self.expr(init).and_then(|e| self.coerce(e, ty, "the initial value"));
                    self.scopes = saved;
                    match v {
                        Ok(TExpr { kind: TK::Const(v), .. }) => g.init = v,
                        Ok(_) => self.err(init.span, "a global's initial value must be a constant", "not a constant"),
                        Err(()) => {}
                    }
                }
            }
        }
        self.global_names.insert(d.name.clone(), self.globals.len());
        self.globals.push(g);
    }

    fn declare(&mut self, f: &'p FuncDecl) {
        if f.body.is_some() && self.func_names.contains_key(&f.name)
            || self.global_names.contains_key(&f.name)
            || self.protos.contains_key(&f.name)
        {
            return self.err(f.name_span, format!("`{}` is declared twice", f.name), "a second declaration");
        }
        if f.body.is_none() && self.defined.contains(&f.name) {
            return; // a prototype of a function defined in this file
        }
        if f.body.is_none() {
            if !self.gateway || f.kind != FnKind::Public {
                return self.err(
                    f.span,
                    format!("`{}` is declared but never defined", f.name),
                    "expected a body: only a gateway script declares device functions (`public` prototypes)",
                );
            }
            for p in &f.params {
                if !p.ty.is_scalar() || p.ty == Ty::Device {
                    self.err(p.span, "a device function takes values", "expected an integer, bool or char* type");
                }
            }
            let proto = Proto { name: f.name.clone(), params: f.params.iter().map(|p| p.ty).collect(), ret: f.ret };
            self.protos.insert(f.name.clone(), proto);
            return;
        }
        if self.gateway && matches!(f.kind, FnKind::Public | FnKind::DeviceEvent) {
            return self.err(
                f.span,
                "a gateway script defines `on` handlers and helper functions",
                "a `public` function here must be a prototype (end it with `;`)",
            );
        }
        let entry = f.kind != FnKind::Plain;
        if entry && f.params.len() > MAX_ENTRY_PARAMS {
            self.err(f.name_span, "too many parameters", format!("an entry function takes at most {MAX_ENTRY_PARAMS}"));
        }
        if entry && f.name.len() > 64 {
            self.err(f.name_span, "name too long", "an entry function's name has at most 64 bytes");
        }
        if f.kind == FnKind::On && f.ret != Ty::Void {
            self.err(f.span, "an `on` handler returns nothing", "expected no return type");
        }
        if f.ret == Ty::Device || matches!(f.ret, Ty::Array(..)) {
            self.err(f.span, "bad return type", "expected void, an integer, bool or char*");
        }
        self.func_names.insert(f.name.clone(), self.decls.len());
        self.decls.push(f);
    }

    fn function(&mut self, f: &FuncDecl) -> TFunc {
        self.scopes = vec![HashMap::new()];
        self.locals = Vec::new();
        self.cur_kind = f.kind;
        self.cur_name = f.name.clone();
        self.ret = f.ret;
        self.calls = Vec::new();
        self.loop_depth = 0;
        for p in &f.params {
            if !p.ty.is_scalar() || p.ty == Ty::Device {
                self.err(p.span, "bad parameter type", "expected an integer, bool or char*");
            }
            if self.scopes[0].contains_key(&p.name) {
                self.err(p.span, format!("two parameters are called `{}`", p.name), "a second one");
            }
            let id = self.new_local(p.ty);
            self.scopes[0].insert(p.name.clone(), id);
        }
        self.nparams = f.params.len();
        let body = f.body.as_ref().map(|b| self.block(&b.stmts)).unwrap_or_default();
        if f.ret != Ty::Void && !diverges(&body) {
            let end = f.body.as_ref().map_or(f.span, |b| Span { start: b.span.end.saturating_sub(1), end: b.span.end });
            self.err(
                end,
                format!("`{}` can end without returning a value", f.name),
                format!("expected `return` of a {}", f.ret),
            );
        }
        TFunc {
            name: f.name.clone(),
            kind: f.kind,
            params: f.params.iter().map(|p| p.ty).collect(),
            ret: f.ret,
            locals: std::mem::take(&mut self.locals),
            body,
            span: f.name_span,
            calls: std::mem::take(&mut self.calls),
        }
    }

    fn new_local(&mut self, ty: Ty) -> LocalId {
        self.locals.push(ty);
        self.locals.len() - 1
    }

    fn block(&mut self, stmts: &[Stmt]) -> Vec<TStmt> {
        self.scopes.push(HashMap::new());
        let mut out = Vec::new();
        let (mut dead, mut warned) = (false, false);
        for s in stmts {
            if dead && !warned && !matches!(s.kind, StmtKind::Empty) {
                self.diags.push(Diagnostic::warning(s.span, "unreachable code", "this statement never runs").note(
                    "it follows a `return`, `break`, `continue` or a loop that never ends; it is checked, not compiled",
                ));
                warned = true;
            }
            // Unreachable statements are checked all the same, then dropped.
            if let Some(t) = self.stmt(s) {
                if !dead {
                    dead = diverges(std::slice::from_ref(&t));
                    out.push(t);
                }
            }
        }
        self.scopes.pop();
        out
    }

    fn sub(&mut self, s: &Stmt) -> Vec<TStmt> {
        match &s.kind {
            StmtKind::Block(b) => self.block(&b.stmts),
            _ => {
                self.scopes.push(HashMap::new());
                let r = self.stmt(s).into_iter().collect();
                self.scopes.pop();
                r
            }
        }
    }

    fn stmt(&mut self, s: &Stmt) -> Option<TStmt> {
        match &s.kind {
            StmtKind::Empty => None,
            StmtKind::Block(b) => Some(TStmt::Block(self.block(&b.stmts))),
            StmtKind::Decl(d) => self.local_decl(d),
            StmtKind::Expr(e) => {
                // `x++;` as a statement is `++x;`.
                let r = match &e.kind {
                    ExprKind::IncDec { inc, place, .. } => self.incdec(true, *inc, place, e.span).map(|x| x.e),
                    _ => self.expr(e).map(|x| self.settle(x)),
                };
                r.ok().map(TStmt::Expr)
            }
            StmtKind::If(c, t, e) => {
                let c = self.cond(c);
                let t = self.sub(t);
                let e = e.as_ref().map(|e| self.sub(e)).unwrap_or_default();
                Some(TStmt::If(c.ok()?, t, e))
            }
            StmtKind::While(c, body) => {
                let c = self.cond(c);
                self.loop_depth += 1;
                let body = self.sub(body);
                self.loop_depth -= 1;
                Some(TStmt::Loop { cond: Some(c.ok()?), body, step: Vec::new(), do_while: false })
            }
            StmtKind::DoWhile(body, c) => {
                self.loop_depth += 1;
                let body = self.sub(body);
                self.loop_depth -= 1;
                let c = self.cond(c);
                Some(TStmt::Loop { cond: Some(c.ok()?), body, step: Vec::new(), do_while: true })
            }
            StmtKind::For(init, c, step, body) => {
                self.scopes.push(HashMap::new());
                let init = init.as_ref().and_then(|i| self.stmt(i));
                let c = c.as_ref().map(|c| self.cond(c)).transpose();
                let step = step.as_ref().map(|s| match &s.kind {
                    ExprKind::IncDec { inc, place, .. } => self.incdec(true, *inc, place, s.span).map(|x| x.e),
                    _ => self.expr(s).map(|x| self.settle(x)),
                });
                self.loop_depth += 1;
                let body = self.sub(body);
                self.loop_depth -= 1;
                self.scopes.pop();
                let step = match step {
                    Some(Ok(e)) => vec![TStmt::Expr(e)],
                    Some(Err(())) => return None,
                    None => Vec::new(),
                };
                let l = TStmt::Loop { cond: c.ok()?, body, step, do_while: false };
                Some(TStmt::Block(init.into_iter().chain(std::iter::once(l)).collect()))
            }
            StmtKind::ForEach { var, var_span, collection, collection_span, body } => {
                if !self.gateway {
                    self.err(s.span, "`for each` is for gateway scripts", "only in a file with `on` handlers");
                    return None;
                }
                if collection != "devices" {
                    self.err(*collection_span, format!("unknown collection `{collection}`"), "expected `devices`");
                    return None;
                }
                let _ = var_span;
                let count = self.new_local(Ty::Int(IntTy::U32));
                let v = self.new_local(Ty::Device);
                self.scopes.push(HashMap::from([(var.clone(), v)]));
                self.loop_depth += 1;
                let body = self.sub(body);
                self.loop_depth -= 1;
                self.scopes.pop();
                Some(TStmt::ForEach { var: v, count, body })
            }
            StmtKind::Break | StmtKind::Continue => {
                if self.loop_depth == 0 {
                    let what = if matches!(s.kind, StmtKind::Break) { "break" } else { "continue" };
                    self.err(s.span, format!("`{what}` outside a loop"), "expected inside `while`, `for` or `do`");
                    return None;
                }
                Some(if matches!(s.kind, StmtKind::Break) { TStmt::Break } else { TStmt::Continue })
            }
            StmtKind::Return(v) => match (v, self.ret) {
                (None, Ty::Void) => Some(TStmt::Return(None)),
                (None, ret) => {
                    self.err(s.span, "`return` without a value", format!("expected a {ret}"));
                    None
                }
                (Some(e), Ty::Void) => {
                    self.err(e.span, format!("`{}` returns nothing", self.cur_name), "expected no value");
                    None
                }
                (Some(e), ret) => {
                    // On an error, still a return (no "can end without returning" on top).
                    let v = self.expr(e).and_then(|x| self.coerce(x, ret, "the returned value"));
                    Some(TStmt::Return(Some(v.unwrap_or_else(|()| TExpr::konst(0, ret)))))
                }
            },
        }
    }

    fn local_decl(&mut self, d: &VarDecl) -> Option<TStmt> {
        if let Some((_, s)) = d.array {
            self.err(s, "arrays are globals", "declare the array outside any function");
            return None;
        }
        if d.ty == Ty::Void || d.ty == Ty::Device {
            self.err(d.ty_span, format!("a variable cannot be `{}`", d.ty), "expected a value type");
            return None;
        }
        let init = match &d.init {
            Some(e) => self.expr(e).and_then(|x| self.coerce(x, d.ty, "the initial value")).ok(),
            None => Some(TExpr::konst(0, d.ty)),
        };
        let id = self.new_local(d.ty);
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(d.name.clone(), id);
        }
        let init = init?;
        Some(TStmt::Expr(TExpr::new(TK::Assign(Box::new(TPlace::Local(id)), Box::new(init)), d.ty)))
    }

    fn lookup_local(&self, name: &str) -> Option<LocalId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// An expression that must be a condition: bool, or an integer (≠ 0).
    fn cond(&mut self, e: &Expr) -> R<TExpr> {
        let x = self.expr(e)?;
        self.as_condition(x)
    }

    fn as_condition(&mut self, x: Ex) -> R<TExpr> {
        if let Some(v) = x.lit {
            return Ok(TExpr::konst((v != 0) as u64, Ty::Bool));
        }
        match x.e.ty {
            Ty::Bool => Ok(x.e),
            Ty::Int(i) => {
                Ok(TExpr::new(TK::Binary(BinOp::Ne, Box::new(x.e), Box::new(TExpr::konst(0, Ty::Int(i)))), Ty::Bool))
            }
            t => {
                self.err(x.span, format!("a {t} is not a condition"), "expected a bool or an integer");
                Err(())
            }
        }
    }

    /// Gives a literal its default type.
    fn settle(&self, x: Ex) -> TExpr {
        match x.lit {
            Some(v) => TExpr::konst(v as u64, Ty::Int(default_int(v))),
            None => x.e,
        }
    }

    /// The implicit conversion of `x` to `to` (assignment, argument,
    /// return, initializer): widening only; a literal must fit.
    fn coerce(&mut self, x: Ex, to: Ty, what: &str) -> R<TExpr> {
        if let Some(v) = x.lit {
            return match to {
                Ty::Int(i) if i.fits(v) => Ok(TExpr::konst(v as u64, to)),
                Ty::Int(i) => {
                    let (lo, hi) = i.range();
                    self.err(x.span, format!("{v} does not fit {to}"), format!("expected {lo}..={hi}"));
                    Err(())
                }
                Ty::Bool if v == 0 || v == 1 => Ok(TExpr::konst(v as u64, Ty::Bool)),
                _ => {
                    self.err(x.span, format!("{what}: expected a {to}, found a number"), format!("expected a {to}"));
                    Err(())
                }
            };
        }
        let from = x.e.ty;
        let ok = match (from, to) {
            (a, b) if a == b => true,
            (Ty::Int(a), Ty::Int(b)) => b.bits >= a.bits,
            (Ty::Bool, Ty::Int(_)) => true,
            _ => false,
        };
        if ok {
            return Ok(convert(x.e, to));
        }
        let mut d =
            Diagnostic::error(x.span, format!("{what}: expected a {to}, found a {from}"), format!("expected a {to}"));
        if let (Ty::Int(a), Ty::Int(b)) = (from, to) {
            if b.bits < a.bits {
                d = d.note(format!("implicit narrowing is an error; write a cast: ({to})…"));
            }
        }
        if from == Ty::Int(IntTy::U8) && to == Ty::Bool || matches!((from, to), (Ty::Int(_), Ty::Bool)) {
            d = d.note("compare with 0, or cast: (bool)…");
        }
        self.diags.push(d);
        Err(())
    }

    /// An expression used as a value: anything but a whole array.
    fn expr(&mut self, e: &Expr) -> R<Ex> {
        let x = self.expr_or_array(e)?;
        if let Ty::Array(..) = x.e.ty {
            self.err(x.span, "an array is not a value", "expected an element: index it, `a[i]`");
            return Err(());
        }
        Ok(x)
    }

    fn expr_or_array(&mut self, e: &Expr) -> R<Ex> {
        let span = e.span;
        let ex = |e: TExpr| Ok(Ex { e, lit: None, span });
        match &e.kind {
            ExprKind::Int(v) => Ok(Ex { e: TExpr::konst(0, Ty::Void), lit: Some(*v as i128), span }),
            ExprKind::Char(c) => Ok(Ex { e: TExpr::konst(0, Ty::Void), lit: Some(*c as i128), span }),
            ExprKind::Bool(b) => ex(TExpr::konst(*b as u64, Ty::Bool)),
            ExprKind::Str(s) => {
                if s.len() > STR_CAPACITY as usize {
                    self.err(span, "string too long", format!("a char* holds at most {STR_CAPACITY} bytes"));
                    return Err(());
                }
                let mut b = [0u8; 8];
                b[..s.len()].copy_from_slice(s);
                ex(TExpr::konst(u64::from_le_bytes(b), Ty::Str))
            }
            ExprKind::Name(n) => {
                if let Some(l) = self.lookup_local(n) {
                    return ex(TExpr::new(TK::Local(l), self.locals[l]));
                }
                self.global_ref(n, span).and_then(ex)
            }
            ExprKind::This(n) => self.global_ref(n, span).and_then(ex),
            ExprKind::Index(base, index) => {
                let b = self.expr_or_array(base)?;
                let i = self.expr(index)?;
                let i = self.index_value(i)?;
                match b.e.ty {
                    Ty::Array(elem, len) => {
                        let TK::Global(g) = b.e.kind else { return Err(()) };
                        ex(TExpr::new(TK::Index(TIndex { arr: g, elem, len, index: Box::new(i) }), elem.ty()))
                    }
                    Ty::Str => ex(TExpr::new(TK::StrIndex(Box::new(b.e), Box::new(i)), Ty::Int(IntTy::CHAR))),
                    t => {
                        self.err(b.span, format!("a {t} cannot be indexed"), "expected an array or a char*");
                        Err(())
                    }
                }
            }
            ExprKind::Call { name, name_span, args } => self.call(name, *name_span, args, span),
            ExprKind::Method { recv, name, name_span, args } => self.device_call(recv, name, *name_span, args, span),
            ExprKind::Member(recv, name) => {
                if !self.gateway {
                    self.err(span, "`block` is for gateway scripts", "only in a file with `on` handlers");
                    return Err(());
                }
                match (&recv.kind, name.as_str()) {
                    (ExprKind::Name(b), "timestamp") if b == "block" => {
                        ex(TExpr::new(TK::BlockTimestamp, Ty::Int(IntTy::TIME_T)))
                    }
                    (ExprKind::Name(d), device) if d == "devices" => {
                        ex(TExpr::new(TK::NamedDevice(device.to_string()), Ty::Device))
                    }
                    _ => {
                        self.err(span, "unknown member", "expected `block.timestamp` or `devices.NAME`");
                        Err(())
                    }
                }
            }
            ExprKind::SysCall { name, name_span, args } => self.syscall(name, *name_span, args, span),
            ExprKind::Unary(op, a) => {
                let x = self.expr(a)?;
                match op {
                    UnOp::Not => {
                        let b = self.as_condition(x)?;
                        ex(TExpr::new(TK::Unary(UnOp::Not, Box::new(b)), Ty::Bool))
                    }
                    UnOp::Neg if x.lit.is_some() => {
                        let v = x.lit.unwrap_or(0);
                        Ok(Ex { e: x.e, lit: Some(-v), span })
                    }
                    _ => {
                        let e = self.settle(x.clone());
                        match e.ty {
                            Ty::Int(_) => ex(TExpr::new(TK::Unary(*op, Box::new(e.clone())), e.ty)),
                            t => {
                                self.err(
                                    x.span,
                                    format!("`{}` on a {t}", if *op == UnOp::Neg { "-" } else { "~" }),
                                    "expected an integer",
                                );
                                Err(())
                            }
                        }
                    }
                }
            }
            ExprKind::Binary(op, a, b) => {
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                self.binary(*op, a, b, span).and_then(ex)
            }
            ExprKind::Logical(and, a, b) => {
                let a = self.cond(a)?;
                let b = self.cond(b)?;
                ex(TExpr::new(TK::Logical(*and, Box::new(a), Box::new(b)), Ty::Bool))
            }
            ExprKind::Cond(c, a, b) => {
                let c = self.cond(c)?;
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                let (a, b, ty) = self.unify(a, b, span)?;
                ex(TExpr::new(TK::Cond(Box::new(c), Box::new(a), Box::new(b)), ty))
            }
            ExprKind::Cast(to, a) => {
                let x = self.expr(a)?;
                if let Some(v) = x.lit {
                    return match to {
                        Ty::Int(_) => ex(TExpr::konst(v as u64, *to)),
                        Ty::Bool => ex(TExpr::konst((v != 0) as u64, Ty::Bool)),
                        _ => {
                            self.err(span, format!("cannot cast a number to {to}"), "expected an integer or bool type");
                            Err(())
                        }
                    };
                }
                match (x.e.ty, *to) {
                    (a, b) if a == b => ex(x.e),
                    (Ty::Int(_) | Ty::Bool, Ty::Int(_) | Ty::Bool) => ex(convert(x.e, *to)),
                    (from, to) => {
                        self.err(span, format!("cannot cast a {from} to {to}"), "casts convert integers and bools");
                        Err(())
                    }
                }
            }
            ExprKind::Assign(op, place, value) => {
                let v = self.expr(value)?;
                self.assign(*op, place, v, span).and_then(ex)
            }
            ExprKind::IncDec { pre, inc, place } => self.incdec(*pre, *inc, place, span),
        }
    }

    fn global_ref(&mut self, n: &str, span: Span) -> R<TExpr> {
        match self.global_names.get(n) {
            Some(&g) => Ok(TExpr::new(TK::Global(g), self.globals[g].ty)),
            None => {
                let mut d = Diagnostic::error(span, format!("unknown name `{n}`"), "expected a variable");
                if self.func_names.contains_key(n) {
                    d = d.note(format!("`{n}` is a function: call it with `{n}(…)`"));
                }
                self.diags.push(d);
                Err(())
            }
        }
    }

    /// An index: any integer (a literal becomes uint32_t).
    fn index_value(&mut self, i: Ex) -> R<TExpr> {
        if let Some(v) = i.lit {
            if !(0..=u32::MAX as i128).contains(&v) {
                self.err(i.span, "index out of range", "expected 0..=4294967295");
                return Err(());
            }
            return Ok(TExpr::konst(v as u64, Ty::Int(IntTy::U32)));
        }
        match i.e.ty {
            Ty::Int(_) => Ok(i.e),
            t => {
                self.err(i.span, format!("a {t} is not an index"), "expected an integer");
                Err(())
            }
        }
    }

    /// Types two operands alike (literal adopts the other's type; else the
    /// common type). Returns both converted, and the type.
    fn unify(&mut self, a: Ex, b: Ex, span: Span) -> R<(TExpr, TExpr, Ty)> {
        let (a, b) = match (a.lit, b.lit) {
            (Some(_), Some(_)) => {
                let (ta, tb) = (self.settle(a.clone()), self.settle(b.clone()));
                (Ex { e: ta, lit: None, ..a }, Ex { e: tb, lit: None, ..b })
            }
            (Some(_), None) => {
                let t = b.e.ty;
                let ta = self.coerce(a.clone(), t, "the operand")?;
                (Ex { e: ta, lit: None, ..a }, b)
            }
            (None, Some(_)) => {
                let t = a.e.ty;
                let tb = self.coerce(b.clone(), t, "the operand")?;
                (a, Ex { e: tb, lit: None, ..b })
            }
            (None, None) => (a, b),
        };
        match (a.e.ty, b.e.ty) {
            (Ty::Int(x), Ty::Int(y)) => {
                let t = Ty::Int(common(x, y));
                Ok((convert(a.e, t), convert(b.e, t), t))
            }
            (x, y) if x == y && x.is_scalar() => Ok((a.e, b.e, x)),
            (x, y) => {
                self.err(span, format!("mismatched operands: {x} and {y}"), "expected operands of one kind");
                Err(())
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: Ex, b: Ex, span: Span) -> R<TExpr> {
        if op.is_shift() {
            let a_span = a.span;
            let a = self.settle(a);
            let Ty::Int(t) = a.ty else {
                self.err(a_span, format!("shift of a {}", a.ty), "expected an integer");
                return Err(());
            };
            let bs = b.span;
            let b = self.settle(b);
            let Ty::Int(bt) = b.ty else {
                self.err(bs, format!("shift by a {}", b.ty), "expected an integer");
                return Err(());
            };
            let amount = IntTy { bits: t.bits, signed: false };
            let b = convert(convert(b, Ty::Int(IntTy { bits: bt.bits, signed: false })), Ty::Int(amount));
            return Ok(TExpr::new(TK::Binary(op, Box::new(a), Box::new(b)), Ty::Int(t)));
        }
        let (a, b, ty) = self.unify(a, b, span)?;
        let ok = match ty {
            Ty::Int(_) => true,
            Ty::Bool => matches!(op, BinOp::Eq | BinOp::Ne | BinOp::And | BinOp::Or | BinOp::Xor),
            Ty::Str => matches!(op, BinOp::Eq | BinOp::Ne),
            _ => false,
        };
        if !ok {
            self.err(span, format!("`{}` on a {ty}", op.symbol()), "expected integer operands");
            return Err(());
        }
        let rty = if op.is_comparison() { Ty::Bool } else { ty };
        Ok(TExpr::new(TK::Binary(op, Box::new(a), Box::new(b)), rty))
    }

    /// A place to store to.
    fn place(&mut self, e: &Expr) -> R<(TPlace, Ty)> {
        match &e.kind {
            ExprKind::Name(n) => {
                if let Some(l) = self.lookup_local(n) {
                    if l < self.nparams && matches!(self.cur_kind, FnKind::Public | FnKind::DeviceEvent | FnKind::On) {
                        let kind = match self.cur_kind {
                            FnKind::Public => "public",
                            FnKind::DeviceEvent => "deviceevent",
                            _ => "on",
                        };
                        self.diags.push(
                            Diagnostic::error(
                                e.span,
                                format!("cannot assign parameter `{n}` of {kind} function `{}`", self.cur_name),
                                "a read-only parameter",
                            )
                            .note("an entry function's parameters are its call input, which is read-only")
                            .note(format!("copy it: into a local, or into a global with `this.{n} = {n};`")),
                        );
                        return Err(());
                    }
                    return Ok((TPlace::Local(l), self.locals[l]));
                }
                self.global_place(n, e.span)
            }
            ExprKind::This(n) => self.global_place(n, e.span),
            ExprKind::Index(base, index) => {
                let b = self.expr_or_array(base)?;
                let i = self.expr(index)?;
                let i = self.index_value(i)?;
                match (b.e.ty, b.e.kind) {
                    (Ty::Array(elem, len), TK::Global(g)) => {
                        Ok((TPlace::Index(TIndex { arr: g, elem, len, index: Box::new(i) }), elem.ty()))
                    }
                    (Ty::Str, _) => {
                        self.err(e.span, "the bytes of a char* are read-only", "assign the whole string instead");
                        Err(())
                    }
                    (t, _) => {
                        self.err(b.span, format!("a {t} cannot be indexed"), "expected an array");
                        Err(())
                    }
                }
            }
            _ => {
                self.err(e.span, "not assignable", "expected a variable or an array element");
                Err(())
            }
        }
    }

    fn global_place(&mut self, n: &str, span: Span) -> R<(TPlace, Ty)> {
        let g = self.global_ref(n, span)?;
        match (g.kind, g.ty) {
            (_, Ty::Array(..)) => {
                self.err(span, "an array cannot be assigned", "assign its elements");
                Err(())
            }
            (TK::Global(g), ty) => Ok((TPlace::Global(g), ty)),
            _ => Err(()),
        }
    }

    fn read(place: &TPlace, ty: Ty) -> TExpr {
        match place {
            TPlace::Local(l) => TExpr::new(TK::Local(*l), ty),
            TPlace::Global(g) => TExpr::new(TK::Global(*g), ty),
            TPlace::Index(ix) => TExpr::new(TK::Index(ix.clone()), ty),
        }
    }

    /// An indexed place whose index has side effects gets it evaluated once, into a temporary.
    fn hoist(&mut self, place: TPlace, pre: &mut Vec<TExpr>) -> TPlace {
        match place {
            TPlace::Index(TIndex { arr, elem, len, index }) if !index.is_simple() => {
                let t = self.new_local(index.ty);
                let ity = index.ty;
                pre.push(TExpr::new(TK::Assign(Box::new(TPlace::Local(t)), index), ity));
                TPlace::Index(TIndex { arr, elem, len, index: Box::new(TExpr::new(TK::Local(t), ity)) })
            }
            p => p,
        }
    }

    fn assign(&mut self, op: Option<BinOp>, place: &Expr, v: Ex, span: Span) -> R<TExpr> {
        let (p, ty) = self.place(place)?;
        let Some(op) = op else {
            let v = self.coerce(v, ty, "the assigned value")?;
            return Ok(TExpr::new(TK::Assign(Box::new(p), Box::new(v)), ty));
        };
        let mut pre = Vec::new();
        let p = self.hoist(p, &mut pre);
        let cur = Ex { e: Self::read(&p, ty), lit: None, span: place.span };
        let r = self.binary(op, cur, v, span)?;
        let r = if r.ty == ty {
            r
        } else if matches!((r.ty, ty), (Ty::Int(_), Ty::Int(_))) {
            convert(r, ty)
        } else {
            self.err(span, format!("`{}=` on a {ty}", op.symbol()), "expected an integer variable");
            return Err(());
        };
        pre.push(TExpr::new(TK::Assign(Box::new(p), Box::new(r)), ty));
        Ok(if pre.len() == 1 { pre.pop().ok_or(())? } else { TExpr::new(TK::Seq(pre), ty) })
    }

    fn incdec(&mut self, pre_op: bool, inc: bool, place: &Expr, span: Span) -> R<Ex> {
        let (p, ty) = self.place(place)?;
        let Ty::Int(_) = ty else {
            self.err(span, format!("`{}` on a {ty}", if inc { "++" } else { "--" }), "expected an integer variable");
            return Err(());
        };
        let mut seq = Vec::new();
        let p = self.hoist(p, &mut seq);
        let op = if inc { BinOp::Add } else { BinOp::Sub };
        let one = TExpr::konst(1, ty);
        if pre_op {
            let r = TExpr::new(TK::Binary(op, Box::new(Self::read(&p, ty)), Box::new(one)), ty);
            seq.push(TExpr::new(TK::Assign(Box::new(p), Box::new(r)), ty));
        } else {
            let t = self.new_local(ty);
            seq.push(TExpr::new(TK::Assign(Box::new(TPlace::Local(t)), Box::new(Self::read(&p, ty))), ty));
            let r = TExpr::new(TK::Binary(op, Box::new(TExpr::new(TK::Local(t), ty)), Box::new(one)), ty);
            seq.push(TExpr::new(TK::Assign(Box::new(p), Box::new(r)), ty));
            seq.push(TExpr::new(TK::Local(t), ty));
        }
        let e = if seq.len() == 1 { seq.pop().ok_or(())? } else { TExpr::new(TK::Seq(seq), ty) };
        Ok(Ex { e, lit: None, span })
    }

    fn args(&mut self, fname: &str, params: &[Ty], args: &[Expr], span: Span) -> R<Vec<TExpr>> {
        if args.len() != params.len() {
            self.err(
                span,
                format!("wrong number of arguments: `{fname}` takes {}, given {}", params.len(), args.len()),
                format!("expected {} argument{}", params.len(), if params.len() == 1 { "" } else { "s" }),
            );
            return Err(());
        }
        let mut out = Vec::new();
        let mut bad = false;
        for (i, (a, &p)) in args.iter().zip(params).enumerate() {
            let what = format!("argument {} of `{fname}`", i + 1);
            match self.expr(a).and_then(|x| self.coerce(x, p, &what)) {
                Ok(e) => out.push(e),
                Err(()) => bad = true,
            }
        }
        if bad {
            Err(())
        } else {
            Ok(out)
        }
    }

    fn call(&mut self, name: &str, name_span: Span, args: &[Expr], span: Span) -> R<Ex> {
        if name == "Decrypt" && !self.func_names.contains_key(name) {
            if !self.gateway {
                self.err(span, "`Decrypt` is for gateway scripts", "only in a file with `on` handlers");
                return Err(());
            }
            let a = self.args("Decrypt", &[Ty::Str], args, span)?;
            let a = a.into_iter().next().ok_or(())?;
            return Ok(Ex { e: TExpr::new(TK::Decrypt(Box::new(a)), Ty::Str), lit: None, span });
        }
        let input = match name {
            "input8" => Some(IntTy::U8),
            "input16" => Some(IntTy::U16),
            "input32" => Some(IntTy::U32),
            "input64" => Some(IntTy::U64),
            _ => None,
        };
        if let (Some(t), false) = (input, self.func_names.contains_key(name)) {
            let a = self.args(name, &[Ty::Int(IntTy::U32)], args, span)?;
            let a = a.into_iter().next().ok_or(())?;
            return Ok(Ex { e: TExpr::new(TK::Input(Box::new(a)), Ty::Int(t)), lit: None, span });
        }
        let Some(&f) = self.func_names.get(name) else {
            let mut d = Diagnostic::error(name_span, format!("unknown function `{name}`"), "expected a function");
            if self.protos.contains_key(name) {
                d = d.note(format!("`{name}` is a device function: call it on a device, `device.{name}(…)`"));
            } else if syscalls::by_name(name).is_some() {
                d = d.note(format!("a system call is written `SystemCall({name}…)`"));
            }
            self.diags.push(d);
            return Err(());
        };
        let decl = self.decls[f];
        if decl.kind == FnKind::On {
            self.err(name_span, "an `on` handler is called by the gateway", "not callable");
            return Err(());
        }
        let params: Vec<Ty> = decl.params.iter().map(|p| p.ty).collect();
        let ret = decl.ret;
        let a = self.args(name, &params, args, span)?;
        self.calls.push(f);
        Ok(Ex { e: TExpr::new(TK::Call(f, a), ret), lit: None, span })
    }

    fn device_call(&mut self, recv: &Expr, name: &str, name_span: Span, args: &[Expr], span: Span) -> R<Ex> {
        if !self.gateway {
            self.err(span, "device calls are for gateway scripts", "only in a file with `on` handlers");
            return Err(());
        }
        // `contract.F(args)`: a transaction to the contract (gw_transact).
        let contract = matches!(&recv.kind, ExprKind::Name(n) if n == "contract");
        let device = if contract { None } else { Some(self.expr(recv)?) };
        if let Some(d) = device.as_ref().filter(|d| d.e.ty != Ty::Device) {
            self.err(
                d.span,
                format!("a {} has no functions", d.e.ty),
                "expected a device (`for each (device in devices)`)",
            );
            return Err(());
        }
        let Some(p) = self.protos.get(name).cloned() else {
            self.diags.push(
                Diagnostic::error(
                    name_span,
                    format!("unknown device function `{name}`"),
                    "expected a declared device function",
                )
                .note(format!("declare it: `public void {name}(…);`")),
            );
            return Err(());
        };
        let a = self.args(name, &p.params, args, span)?;
        let device = device.map(|d| Box::new(d.e));
        let e = TExpr::new(TK::DeviceCall { device, name: name.to_string(), args: a }, p.ret);
        Ok(Ex { e, lit: None, span })
    }

    fn syscall(&mut self, name: &str, name_span: Span, args: &[Expr], span: Span) -> R<Ex> {
        let Some((id, def)) = syscalls::by_name(name) else {
            let names: Vec<&str> = syscalls::SYSCALLS.iter().map(|s| s.name).collect();
            self.diags.push(
                Diagnostic::error(name_span, format!("unknown SystemCall `{name}`"), "expected a SystemCall name")
                    .note(format!("known: {}", names.join(", "))),
            );
            return Err(());
        };
        if def.lower == Lower::GatewayLog && !self.gateway {
            self.err(name_span, "`Log` is for gateway scripts", "a device has no log syscall (docs/alkyl-lang.md §9)");
            return Err(());
        }
        if self.gateway && def.lower != Lower::GatewayLog {
            self.err(name_span, format!("`{name}` runs on a device"), "a gateway script calls devices' functions");
            return Err(());
        }
        if syscalls::needs_scratch(def) {
            self.uses_scratch = true;
        }
        let a = self.args(name, def.params, args, span)?;
        Ok(Ex { e: TExpr::new(TK::Sys(id, a), def.ret), lit: None, span })
    }
}

/// Whether control never leaves the end of these statements (a `return`,
/// `break` or `continue`, an `if` whose branches all do, a loop that never ends).
pub fn diverges(stmts: &[TStmt]) -> bool {
    stmts.iter().any(|s| match s {
        TStmt::Return(_) | TStmt::Break | TStmt::Continue => true,
        TStmt::If(_, t, e) => diverges(t) && diverges(e),
        TStmt::Block(b) => diverges(b),
        TStmt::Loop { cond, body, .. } => {
            let forever = match cond {
                None => true,
                Some(TExpr { kind: TK::Const(v), .. }) => *v != 0,
                _ => false,
            };
            forever && !breaks(body)
        }
        TStmt::ForEach { .. } | TStmt::Expr(_) => false,
    })
}

/// Whether a `break` in these statements leaves the loop they are the body of.
fn breaks(stmts: &[TStmt]) -> bool {
    stmts.iter().any(|s| match s {
        TStmt::Break => true,
        TStmt::If(_, t, e) => breaks(t) || breaks(e),
        TStmt::Block(b) => breaks(b),
        _ => false,
    })
}
