//! The parser: recursive descent for items and statements, Pratt (binding
//! powers) for expressions. It stops at the first syntax error, which
//! names what was expected.

use crate::ast::*;
use crate::diag::{Diagnostic, Span};
use crate::lexer::{lex, Tok};
use crate::types::Ty;

/// Trees deeper than this (nested parentheses, blocks and statements, and
/// chains of operators, `a + b + …`, which make trees as deep as they are
/// long) are refused, so no input can exhaust the compiler's stack.
pub const MAX_NESTING: usize = 256;

type R<T> = Result<T, Diagnostic>;

struct Parser {
    toks: Vec<(Tok, Span)>,
    at: usize,
    end: Span,
    depth: usize,
}

/// Parses a whole source file.
///
/// # Errors
/// The first lexical or syntax error.
pub fn parse(src: &str) -> R<Program> {
    let toks = lex(src)?;
    let end = Span { start: src.len(), end: src.len() };
    let mut p = Parser { toks, at: 0, end, depth: 0 };
    let mut items = Vec::new();
    while p.peek().is_some() {
        items.push(p.item()?);
    }
    Ok(Program { items })
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.at + n).map(|(t, _)| t)
    }

    fn span(&self) -> Span {
        self.toks.get(self.at).map_or(self.end, |(_, s)| *s)
    }

    fn prev_span(&self) -> Span {
        self.at.checked_sub(1).and_then(|i| self.toks.get(i)).map_or(self.end, |(_, s)| *s)
    }

    fn bump(&mut self) -> Option<(Tok, Span)> {
        let t = self.toks.get(self.at).cloned();
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expected: &str) -> Diagnostic {
        let found = self.peek().map_or("the end of the file".to_string(), Tok::describe);
        Diagnostic::error(self.span(), format!("expected {expected}, found {found}"), format!("expected {expected}"))
    }

    fn expect(&mut self, t: Tok) -> R<Span> {
        if self.peek() == Some(&t) {
            Ok(self.bump().map_or(self.end, |(_, s)| s))
        } else {
            Err(self.unexpected(&t.describe()))
        }
    }

    fn ident(&mut self, what: &str) -> R<(String, Span)> {
        match self.peek() {
            Some(Tok::Ident(_)) => match self.bump() {
                Some((Tok::Ident(n), s)) => Ok((n, s)),
                _ => Err(self.unexpected(what)),
            },
            _ => Err(self.unexpected(what)),
        }
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Diagnostic::error(
                self.span(),
                "nesting too deep",
                format!("at most {MAX_NESTING} levels of nesting and chained operators"),
            ));
        }
        Ok(())
    }

    /// `f`, one nesting level deeper (see [`Self::enter`]).
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        self.enter()?;
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn at_type(&self) -> bool {
        matches!(self.peek(), Some(Tok::TypeName(_)))
    }

    /// `type` or `char*`.
    fn ty(&mut self) -> R<(Ty, Span)> {
        let (name, span) = match self.bump() {
            Some((Tok::TypeName(n), s)) => (n, s),
            _ => {
                self.at = self.at.saturating_sub(1);
                return Err(self.unexpected("a type"));
            }
        };
        let mut ty = Ty::from_name(&name).ok_or_else(|| self.unexpected("a type"))?;
        let mut span = span;
        if self.peek() == Some(&Tok::Star) {
            if name != "char" {
                return Err(Diagnostic::error(
                    self.span(),
                    format!("`{name}*` is not a type"),
                    "the only pointer type is `char*` (a byte string)",
                ));
            }
            span = span.to(self.span());
            self.at += 1;
            ty = Ty::Str;
        }
        Ok((ty, span))
    }

    fn item(&mut self) -> R<Item> {
        let start = self.span();
        let kind = match self.peek() {
            Some(Tok::Public) => FnKind::Public,
            Some(Tok::DeviceEvent) => FnKind::DeviceEvent,
            Some(Tok::On) => FnKind::On,
            _ => FnKind::Plain,
        };
        if kind != FnKind::Plain {
            self.at += 1;
        }
        let (ret, ret_span) = if kind == FnKind::On {
            (Ty::Void, start)
        } else {
            if !self.at_type() {
                return Err(self.unexpected(if kind == FnKind::Plain {
                    "a declaration (a type, `public`, `deviceevent` or `on`)"
                } else {
                    "the return type"
                }));
            }
            self.ty()?
        };
        let (name, name_span) = self.ident("a name")?;
        if kind != FnKind::Plain || self.peek() == Some(&Tok::LParen) {
            self.expect(Tok::LParen)?;
            let mut params = Vec::new();
            if self.peek() == Some(&Tok::TypeName("void".into())) && self.peek_at(1) == Some(&Tok::RParen) {
                self.at += 1;
            }
            if !self.eat(&Tok::RParen) {
                loop {
                    let (ty, ts) = self.ty()?;
                    let (pname, ps) = self.ident("a parameter name")?;
                    params.push(Param { ty, name: pname, span: ts.to(ps) });
                    if self.eat(&Tok::RParen) {
                        break;
                    }
                    if !self.eat(&Tok::Comma) {
                        return Err(self.unexpected("`,` or `)`"));
                    }
                }
            }
            let body = if self.eat(&Tok::Semi) { None } else { Some(self.block()?) };
            return Ok(Item::Function(FuncDecl {
                kind,
                ret,
                name,
                name_span,
                params,
                body,
                span: start.to(self.prev_span()),
            }));
        }
        let decl = self.var_rest(ret, ret_span, name, name_span)?;
        Ok(Item::Global(decl))
    }

    /// After `type name`: `[N]`, `= init`, `;`.
    fn var_rest(&mut self, ty: Ty, ty_span: Span, name: String, name_span: Span) -> R<VarDecl> {
        let array = if self.eat(&Tok::LBracket) {
            let s = self.span();
            let n = match self.bump() {
                Some((Tok::Int(Some(n)), _)) => n,
                _ => {
                    self.at = self.at.saturating_sub(1);
                    return Err(self.unexpected("the array length (a number)"));
                }
            };
            self.expect(Tok::RBracket)?;
            Some((n, s))
        } else {
            None
        };
        let init = if self.eat(&Tok::Assign) { Some(self.expr()?) } else { None };
        self.expect(Tok::Semi)?;
        Ok(VarDecl { ty, ty_span, name, name_span, array, init, span: ty_span.to(self.prev_span()) })
    }

    fn block(&mut self) -> R<Block> {
        let start = self.expect(Tok::LBrace)?;
        self.enter()?;
        let mut stmts = Vec::new();
        while !self.eat(&Tok::RBrace) {
            if self.peek().is_none() {
                return Err(self.unexpected("`}`"));
            }
            stmts.push(self.stmt()?);
        }
        self.depth -= 1;
        Ok(Block { stmts, span: start.to(self.prev_span()) })
    }

    fn stmt(&mut self) -> R<Stmt> {
        self.nested(Self::stmt_inner)
    }

    fn stmt_inner(&mut self) -> R<Stmt> {
        let start = self.span();
        let kind = match self.peek() {
            Some(Tok::LBrace) => StmtKind::Block(self.block()?),
            Some(Tok::Semi) => {
                self.at += 1;
                StmtKind::Empty
            }
            Some(Tok::If) => {
                self.at += 1;
                self.expect(Tok::LParen)?;
                let c = self.expr()?;
                self.expect(Tok::RParen)?;
                let then = self.stmt()?;
                let els = if self.eat(&Tok::Else) { Some(Box::new(self.stmt()?)) } else { None };
                StmtKind::If(c, Box::new(then), els)
            }
            Some(Tok::While) => {
                self.at += 1;
                self.expect(Tok::LParen)?;
                let c = self.expr()?;
                self.expect(Tok::RParen)?;
                StmtKind::While(c, Box::new(self.stmt()?))
            }
            Some(Tok::Do) => {
                self.at += 1;
                let body = self.stmt()?;
                self.expect(Tok::While)?;
                self.expect(Tok::LParen)?;
                let c = self.expr()?;
                self.expect(Tok::RParen)?;
                self.expect(Tok::Semi)?;
                StmtKind::DoWhile(Box::new(body), c)
            }
            Some(Tok::For) => {
                self.at += 1;
                if matches!(self.peek(), Some(Tok::Ident(n)) if n == "each") {
                    self.at += 1;
                    self.expect(Tok::LParen)?;
                    let (var, var_span) = self.ident("the loop variable")?;
                    match self.bump() {
                        Some((Tok::Ident(n), _)) if n == "in" => {}
                        _ => {
                            self.at = self.at.saturating_sub(1);
                            return Err(self.unexpected("`in`"));
                        }
                    }
                    let (collection, collection_span) = self.ident("`devices`")?;
                    self.expect(Tok::RParen)?;
                    let body = Box::new(self.stmt()?);
                    StmtKind::ForEach { var, var_span, collection, collection_span, body }
                } else {
                    self.expect(Tok::LParen)?;
                    let init = if self.eat(&Tok::Semi) {
                        None
                    } else if self.at_type() {
                        let (ty, ts) = self.ty()?;
                        let (name, ns) = self.ident("a variable name")?;
                        let d = self.var_rest(ty, ts, name, ns)?;
                        let span = d.span;
                        Some(Box::new(Stmt { kind: StmtKind::Decl(d), span }))
                    } else {
                        let e = self.expr()?;
                        self.expect(Tok::Semi)?;
                        let span = e.span;
                        Some(Box::new(Stmt { kind: StmtKind::Expr(e), span }))
                    };
                    let cond = if self.peek() == Some(&Tok::Semi) { None } else { Some(self.expr()?) };
                    self.expect(Tok::Semi)?;
                    let step = if self.peek() == Some(&Tok::RParen) { None } else { Some(self.expr()?) };
                    self.expect(Tok::RParen)?;
                    StmtKind::For(init, cond, step, Box::new(self.stmt()?))
                }
            }
            Some(Tok::Break) => {
                self.at += 1;
                self.expect(Tok::Semi)?;
                StmtKind::Break
            }
            Some(Tok::Continue) => {
                self.at += 1;
                self.expect(Tok::Semi)?;
                StmtKind::Continue
            }
            Some(Tok::Return) => {
                self.at += 1;
                let v = if self.peek() == Some(&Tok::Semi) { None } else { Some(self.expr()?) };
                self.expect(Tok::Semi)?;
                StmtKind::Return(v)
            }
            Some(Tok::TypeName(_)) => {
                let (ty, ts) = self.ty()?;
                let (name, ns) = self.ident("a variable name")?;
                StmtKind::Decl(self.var_rest(ty, ts, name, ns)?)
            }
            _ => {
                let e = self.expr()?;
                self.expect(Tok::Semi)?;
                StmtKind::Expr(e)
            }
        };
        Ok(Stmt { kind, span: start.to(self.prev_span()) })
    }

    pub fn expr(&mut self) -> R<Expr> {
        self.expr_bp(0)
    }

    /// Binding power of an infix operator: (left, right).
    fn infix(t: &Tok) -> Option<(u8, u8)> {
        Some(match t {
            Tok::Assign => (2, 1),
            t if Self::compound_assign(t).is_some() => (2, 1),
            Tok::Question => (4, 3),
            Tok::OrOr => (5, 6),
            Tok::AndAnd => (7, 8),
            Tok::Pipe => (9, 10),
            Tok::Caret => (11, 12),
            Tok::Amp => (13, 14),
            Tok::EqEq | Tok::Ne => (15, 16),
            Tok::Lt | Tok::Gt | Tok::Le | Tok::Ge => (17, 18),
            Tok::Shl | Tok::Shr => (19, 20),
            Tok::Plus | Tok::Minus => (21, 22),
            Tok::Star | Tok::Slash | Tok::Percent => (23, 24),
            _ => return None,
        })
    }

    /// The operation of a compound assignment (`+=`: `+`).
    fn compound_assign(t: &Tok) -> Option<BinOp> {
        Some(match t {
            Tok::AddAssign => BinOp::Add,
            Tok::SubAssign => BinOp::Sub,
            Tok::MulAssign => BinOp::Mul,
            Tok::DivAssign => BinOp::Div,
            Tok::RemAssign => BinOp::Rem,
            Tok::AndAssign => BinOp::And,
            Tok::OrAssign => BinOp::Or,
            Tok::XorAssign => BinOp::Xor,
            Tok::ShlAssign => BinOp::Shl,
            Tok::ShrAssign => BinOp::Shr,
            _ => return None,
        })
    }

    fn binop(t: &Tok) -> Option<BinOp> {
        Some(match t {
            Tok::Plus => BinOp::Add,
            Tok::Minus => BinOp::Sub,
            Tok::Star => BinOp::Mul,
            Tok::Slash => BinOp::Div,
            Tok::Percent => BinOp::Rem,
            Tok::Amp => BinOp::And,
            Tok::Pipe => BinOp::Or,
            Tok::Caret => BinOp::Xor,
            Tok::Shl => BinOp::Shl,
            Tok::Shr => BinOp::Shr,
            Tok::Lt => BinOp::Lt,
            Tok::Gt => BinOp::Gt,
            Tok::Le => BinOp::Le,
            Tok::Ge => BinOp::Ge,
            Tok::EqEq => BinOp::Eq,
            Tok::Ne => BinOp::Ne,
            _ => return None,
        })
    }

    fn expr_bp(&mut self, min: u8) -> R<Expr> {
        self.nested(|p| p.expr_bp_inner(min))
    }

    fn expr_bp_inner(&mut self, min: u8) -> R<Expr> {
        let saved = self.depth;
        let r = self.chain(min);
        self.depth = saved;
        r
    }

    /// An operand and the infix operators after it: each operator makes
    /// the tree one level deeper, and counts as nesting.
    fn chain(&mut self, min: u8) -> R<Expr> {
        let mut lhs = self.unary()?;
        while let Some(t) = self.peek().cloned() {
            let Some((l, r)) = Self::infix(&t) else { break };
            if l < min {
                break;
            }
            self.at += 1;
            self.enter()?;
            if t == Tok::Question {
                let a = self.expr_bp(0)?;
                self.expect(Tok::Colon)?;
                let b = self.expr_bp(r)?;
                let span = lhs.span.to(b.span);
                lhs = Expr { kind: ExprKind::Cond(Box::new(lhs), Box::new(a), Box::new(b)), span };
                continue;
            }
            let rhs = self.expr_bp(r)?;
            let span = lhs.span.to(rhs.span);
            let kind = match t {
                Tok::Assign => ExprKind::Assign(None, Box::new(lhs), Box::new(rhs)),
                Tok::AndAnd => ExprKind::Logical(true, Box::new(lhs), Box::new(rhs)),
                Tok::OrOr => ExprKind::Logical(false, Box::new(lhs), Box::new(rhs)),
                _ => match (Self::compound_assign(&t), Self::binop(&t)) {
                    (Some(op), _) => ExprKind::Assign(Some(op), Box::new(lhs), Box::new(rhs)),
                    (None, Some(op)) => ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    (None, None) => return Err(self.unexpected("an operator")),
                },
            };
            lhs = Expr { kind, span };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> R<Expr> {
        self.nested(Self::unary_inner)
    }

    fn unary_inner(&mut self) -> R<Expr> {
        let start = self.span();
        let un = |op| move |e: Expr| ExprKind::Unary(op, Box::new(e));
        let make: Option<Box<dyn Fn(Expr) -> ExprKind>> = match self.peek() {
            Some(Tok::Minus) => Some(Box::new(un(UnOp::Neg))),
            Some(Tok::Tilde) => Some(Box::new(un(UnOp::BitNot))),
            Some(Tok::Bang) => Some(Box::new(un(UnOp::Not))),
            Some(Tok::Plus) => Some(Box::new(|e: Expr| e.kind)),
            Some(Tok::PlusPlus) => {
                Some(Box::new(|e: Expr| ExprKind::IncDec { pre: true, inc: true, place: Box::new(e) }))
            }
            Some(Tok::MinusMinus) => {
                Some(Box::new(|e: Expr| ExprKind::IncDec { pre: true, inc: false, place: Box::new(e) }))
            }
            Some(Tok::LParen) if matches!(self.peek_at(1), Some(Tok::TypeName(_))) => {
                self.at += 1;
                let (ty, _) = self.ty()?;
                self.expect(Tok::RParen)?;
                let e = self.unary()?;
                let span = start.to(e.span);
                return Ok(Expr { kind: ExprKind::Cast(ty, Box::new(e)), span });
            }
            _ => None,
        };
        if let Some(make) = make {
            self.at += 1;
            let e = self.unary()?;
            let span = start.to(e.span);
            return Ok(Expr { kind: make(e), span });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> R<Expr> {
        let saved = self.depth;
        let r = self.postfix_chain();
        self.depth = saved;
        r
    }

    fn postfix_chain(&mut self) -> R<Expr> {
        let mut e = self.primary()?;
        loop {
            if matches!(self.peek(), Some(Tok::LBracket | Tok::PlusPlus | Tok::MinusMinus | Tok::Dot)) {
                self.enter()?;
            }
            match self.peek() {
                Some(Tok::LBracket) => {
                    self.at += 1;
                    let i = self.expr()?;
                    let end = self.expect(Tok::RBracket)?;
                    let span = e.span.to(end);
                    e = Expr { kind: ExprKind::Index(Box::new(e), Box::new(i)), span };
                }
                Some(Tok::PlusPlus) | Some(Tok::MinusMinus) => {
                    let inc = self.peek() == Some(&Tok::PlusPlus);
                    let end = self.span();
                    self.at += 1;
                    let span = e.span.to(end);
                    e = Expr { kind: ExprKind::IncDec { pre: false, inc, place: Box::new(e) }, span };
                }
                Some(Tok::Dot) => {
                    self.at += 1;
                    let (name, name_span) = self.ident("a member name")?;
                    if self.peek() == Some(&Tok::LParen) {
                        let (args, end) = self.args()?;
                        let span = e.span.to(end);
                        e = Expr { kind: ExprKind::Method { recv: Box::new(e), name, name_span, args }, span };
                    } else {
                        let span = e.span.to(name_span);
                        e = Expr { kind: ExprKind::Member(Box::new(e), name), span };
                    }
                }
                _ => break,
            }
        }
        Ok(e)
    }

    fn args(&mut self) -> R<(Vec<Expr>, Span)> {
        self.expect(Tok::LParen)?;
        let mut args = Vec::new();
        if let Some(end) = self.peek().filter(|t| **t == Tok::RParen).map(|_| self.span()) {
            self.at += 1;
            return Ok((args, end));
        }
        loop {
            args.push(self.expr_bp(3)?);
            if self.peek() == Some(&Tok::RParen) {
                let end = self.span();
                self.at += 1;
                return Ok((args, end));
            }
            if !self.eat(&Tok::Comma) {
                return Err(self.unexpected("`,` or `)`"));
            }
        }
    }

    fn primary(&mut self) -> R<Expr> {
        let start = self.span();
        let Some((t, span)) = self.bump() else {
            return Err(self.unexpected("an expression"));
        };
        let kind = match t {
            Tok::Int(Some(v)) => ExprKind::Int(v),
            Tok::Char(Some(c)) => ExprKind::Char(c),
            Tok::Str(Some(s)) => ExprKind::Str(s),
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::LParen => {
                let e = self.expr()?;
                let end = self.expect(Tok::RParen)?;
                return Ok(Expr { kind: e.kind, span: start.to(end) });
            }
            Tok::This => {
                self.expect(Tok::Dot)?;
                let (name, ns) = self.ident("a global's name")?;
                return Ok(Expr { kind: ExprKind::This(name), span: start.to(ns) });
            }
            Tok::SystemCall => {
                self.expect(Tok::LParen)?;
                let (name, name_span) = self.ident("a SystemCall name (e.g. `Unlock`)")?;
                let mut args = Vec::new();
                while self.eat(&Tok::Comma) {
                    args.push(self.expr_bp(3)?);
                }
                let end = self.expect(Tok::RParen)?;
                return Ok(Expr { kind: ExprKind::SysCall { name, name_span, args }, span: start.to(end) });
            }
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    let (args, end) = self.args()?;
                    return Ok(Expr { kind: ExprKind::Call { name, name_span: span, args }, span: start.to(end) });
                }
                ExprKind::Name(name)
            }
            _ => {
                self.at -= 1;
                return Err(self.unexpected("an expression"));
            }
        };
        Ok(Expr { kind, span })
    }
}
