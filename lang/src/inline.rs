//! Inlining: the IR's functions do not call each other, so a call of a
//! helper (or entry) function becomes its body, with its parameters and
//! locals renumbered into the caller's. Recursion was refused by the
//! checker; the expansion is bounded in depth and size.

use crate::typed::*;

/// Deepest chain of calls inlined into one another.
pub const MAX_INLINE_DEPTH: usize = 32;
/// Largest function after inlining, in tree nodes.
pub const MAX_NODES: usize = 200_000;

/// `f` with every call expanded.
///
/// # Errors
/// The expansion is too deep or too large (a message).
pub fn inline_function(prog: &TProgram, f: FuncId) -> Result<TFunc, String> {
    let mut out = prog.funcs[f].clone();
    let mut cx = Cx { prog, locals: std::mem::take(&mut out.locals), nodes: 0, depth: 0 };
    let mut body = std::mem::take(&mut out.body);
    cx.stmts(&mut body)?;
    out.body = body;
    out.locals = cx.locals;
    out.calls.clear();
    Ok(out)
}

struct Cx<'a> {
    prog: &'a TProgram,
    locals: Vec<ty_alias::Ty>,
    nodes: usize,
    depth: usize,
}

mod ty_alias {
    pub use crate::types::Ty;
}

impl Cx<'_> {
    fn tick(&mut self) -> Result<(), String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!("the function is too large once its calls are inlined (over {MAX_NODES} nodes)"));
        }
        Ok(())
    }

    fn stmts(&mut self, s: &mut [TStmt]) -> Result<(), String> {
        for s in s {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &mut TStmt) -> Result<(), String> {
        self.tick()?;
        match s {
            TStmt::Expr(e) => self.expr(e),
            TStmt::If(c, t, e) => {
                self.expr(c)?;
                self.stmts(t)?;
                self.stmts(e)
            }
            TStmt::Loop { cond, body, step, .. } => {
                if let Some(c) = cond {
                    self.expr(c)?;
                }
                self.stmts(body)?;
                self.stmts(step)
            }
            TStmt::ForEach { body, .. } => self.stmts(body),
            TStmt::Return(Some(e)) => self.expr(e),
            TStmt::Block(b) => self.stmts(b),
            TStmt::Return(None) | TStmt::Break | TStmt::Continue => Ok(()),
        }
    }

    fn place(&mut self, p: &mut TPlace) -> Result<(), String> {
        if let TPlace::Index(TIndex { index, .. }) = p {
            self.expr(index)?;
        }
        Ok(())
    }

    fn expr(&mut self, e: &mut TExpr) -> Result<(), String> {
        self.tick()?;
        match &mut e.kind {
            TK::Const(_) | TK::Local(_) | TK::Global(_) | TK::BlockTimestamp | TK::NamedDevice(_) => Ok(()),
            TK::Index(TIndex { index, .. }) => self.expr(index),
            TK::StrIndex(a, b) | TK::Binary(_, a, b) | TK::Logical(_, a, b) => {
                self.expr(a)?;
                self.expr(b)
            }
            TK::Unary(_, a) | TK::Convert(a) | TK::Decrypt(a) | TK::Input(a) => self.expr(a),
            TK::Cond(a, b, c) => {
                self.expr(a)?;
                self.expr(b)?;
                self.expr(c)
            }
            TK::Assign(p, v) => {
                self.place(p)?;
                self.expr(v)
            }
            TK::Seq(es) | TK::Sys(_, es) => es.iter_mut().try_for_each(|e| self.expr(e)),
            TK::DeviceCall { device, args, .. } => {
                device.iter_mut().try_for_each(|d| self.expr(d))?;
                args.iter_mut().try_for_each(|e| self.expr(e))
            }
            TK::Inline { body, .. } => self.stmts(body),
            TK::Call(f, args) => {
                for a in args.iter_mut() {
                    self.expr(a)?;
                }
                if self.depth >= MAX_INLINE_DEPTH {
                    return Err(format!("calls nest more than {MAX_INLINE_DEPTH} deep"));
                }
                let callee = &self.prog.funcs[*f];
                let off = self.locals.len();
                self.locals.extend(callee.locals.iter().copied());
                let ret = (callee.ret != ty_alias::Ty::Void).then(|| {
                    self.locals.push(callee.ret);
                    self.locals.len() - 1
                });
                let mut body = callee.body.clone();
                for s in body.iter_mut() {
                    shift_stmt(s, off);
                }
                self.depth += 1;
                self.stmts(&mut body)?;
                self.depth -= 1;
                let mut full: Vec<TStmt> = std::mem::take(args)
                    .into_iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let ty = a.ty;
                        TStmt::Expr(TExpr::new(TK::Assign(Box::new(TPlace::Local(off + i)), Box::new(a)), ty))
                    })
                    .collect();
                full.extend(body);
                e.kind = TK::Inline { body: full, ret };
                Ok(())
            }
        }
    }
}

fn shift_place(p: &mut TPlace, off: usize) {
    match p {
        TPlace::Local(l) => *l += off,
        TPlace::Global(_) => {}
        TPlace::Index(TIndex { index, .. }) => shift_expr(index, off),
    }
}

fn shift_stmt(s: &mut TStmt, off: usize) {
    match s {
        TStmt::Expr(e) | TStmt::Return(Some(e)) => shift_expr(e, off),
        TStmt::If(c, t, e) => {
            shift_expr(c, off);
            t.iter_mut().chain(e.iter_mut()).for_each(|s| shift_stmt(s, off));
        }
        TStmt::Loop { cond, body, step, .. } => {
            if let Some(c) = cond {
                shift_expr(c, off);
            }
            body.iter_mut().chain(step.iter_mut()).for_each(|s| shift_stmt(s, off));
        }
        TStmt::ForEach { var, count, body } => {
            *var += off;
            *count += off;
            body.iter_mut().for_each(|s| shift_stmt(s, off));
        }
        TStmt::Block(b) => b.iter_mut().for_each(|s| shift_stmt(s, off)),
        TStmt::Return(None) | TStmt::Break | TStmt::Continue => {}
    }
}

fn shift_expr(e: &mut TExpr, off: usize) {
    match &mut e.kind {
        TK::Local(l) => *l += off,
        TK::Const(_) | TK::Global(_) | TK::BlockTimestamp | TK::NamedDevice(_) => {}
        TK::Index(TIndex { index, .. }) => shift_expr(index, off),
        TK::StrIndex(a, b) | TK::Binary(_, a, b) | TK::Logical(_, a, b) => {
            shift_expr(a, off);
            shift_expr(b, off);
        }
        TK::Unary(_, a) | TK::Convert(a) | TK::Decrypt(a) | TK::Input(a) => shift_expr(a, off),
        TK::Cond(a, b, c) => {
            shift_expr(a, off);
            shift_expr(b, off);
            shift_expr(c, off);
        }
        TK::Assign(p, v) => {
            shift_place(p, off);
            shift_expr(v, off);
        }
        TK::Seq(es) | TK::Sys(_, es) | TK::Call(_, es) => es.iter_mut().for_each(|e| shift_expr(e, off)),
        TK::DeviceCall { device, args, .. } => {
            device.iter_mut().for_each(|d| shift_expr(d, off));
            args.iter_mut().for_each(|e| shift_expr(e, off));
        }
        TK::Inline { body, ret } => {
            if let Some(r) = ret {
                *r += off;
            }
            body.iter_mut().for_each(|s| shift_stmt(s, off));
        }
    }
}
